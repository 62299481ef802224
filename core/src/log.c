/*
 * log.c — the one boundary log (design.md, contract point 6) and the
 * wrappers through which the core calls every host operation.
 *
 * Every host operation goes through a wrapper here, so no call can escape
 * the log. With ops->log NULL the cost is one predictable branch per call.
 * Records:
 *   CREATE   data = config image (vnat.h), a = seed
 *   EV_*     now = clamped now, b = the now the embedder passed (so a replay
 *            also reproduces time_backwards), token, a = SO_ERROR for
 *            EV_WRITABLE, data = frame for EV_FRAME. Logged before the event
 *            is handled (and before due timers fire).
 *   OP       op, token, a = first integer argument (peek: offset; send,
 *            discard: len; set_interest: mask; close: reset; accept: the
 *            new token; dgram open/bind: kind; dgram send: len; dgram recv:
 *            cap), b = result, addr = the address given or returned
 *            (connect, listen, accept, dgram open/bind/send/recv), data =
 *            bytes given (send, dgram send) or returned (peek, dgram recv:
 *            the b bytes). Only bytes that can be real are logged: an
 *            impossible result is logged as a number and rejected by the
 *            caller.
 *   OUT_FRAME op = GUEST_SEND, data = frame, a = b = the sink's return.
 *   API      a = 1 shutdown, 2 forward_add, 3 forward_remove, 4 reset_flows;
 *            data = the forward for 2 and 3.
 *   RESTORE  data = the image, a = the mode, b = the now passed.
 *   SNAPSHOT an image written by vnat_snapshot: a = its length, b = its
 *            checksum (its last 8 bytes); a replay snapshots its own core
 *            there and compares.
 */
#include "log.h"

static void emit(const struct vnat *nat, uint32_t kind, uint32_t op, vnat_token tok, int64_t a,
                 int64_t b, const struct vnat_sockaddr *addr, const uint8_t *data, size_t len)
{
    struct vnat_log_record r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.op = op;
    r.now = nat->now;
    r.token = tok;
    r.a = a;
    r.b = b;
    r.addr = addr;
    r.data = data;
    r.len = data != NULL ? len : 0;
    nat->ops.log(nat->ctx, &r);
}

void log_create(struct vnat *nat, const void *image, size_t image_len)
{
    if (nat->ops.log != NULL)
        emit(nat, VNAT_LOG_CREATE, 0, 0, (int64_t)nat->cfg.seed, 0, NULL, image, image_len);
}

void log_event(struct vnat *nat, enum vnat_log_kind kind, uint64_t raw_now, vnat_token tok,
               int64_t a, const uint8_t *data, size_t len)
{
    if (nat->ops.log != NULL)
        emit(nat, kind, 0, tok, a, (int64_t)raw_now, NULL, data, len);
}

void log_api(struct vnat *nat, int64_t which, const void *data, size_t len)
{
    if (nat->ops.log != NULL)
        emit(nat, VNAT_LOG_API, 0, 0, which, 0, NULL, data, len);
}

void log_restore(struct vnat *nat, const void *image, size_t len, int mode, uint64_t raw_now)
{
    if (nat->ops.log != NULL)
        emit(nat, VNAT_LOG_RESTORE, 0, 0, mode, (int64_t)raw_now, NULL, image, len);
}

void log_snapshot(const struct vnat *nat, const uint8_t *image, size_t len)
{
    VNAT_ASSERT(nat, len >= 8);
    if (nat->ops.log == NULL)
        return;
    uint64_t sum = 0; /* the image's own checksum: its last 8 bytes, little-endian */
    for (int i = 7; i >= 0; i--)
        sum = sum << 8 | image[len - 8 + (size_t)i];
    emit(nat, VNAT_LOG_SNAPSHOT, 0, 0, (int64_t)len, (int64_t)sum, NULL, NULL, 0);
}

int host_guest_send(struct vnat *nat, const uint8_t *frame, size_t len)
{
    /* Every frame the core sends is built in its scratch region: at its
     * start, or (a fragment, dgram.c) further in. */
    VNAT_ASSERT(nat, frame >= nat->scratch && len > 0 && len <= nat->scratch_len &&
                         frame + len <= nat->scratch + nat->scratch_cap);
    int r = nat->ops.guest_send(nat->ctx, frame, len);
    if (nat->ops.log != NULL)
        emit(nat, VNAT_LOG_OUT_FRAME, VNAT_OP_GUEST_SEND, 0, r, r, NULL, frame, len);
    if (r == 0) {
        nat->stats.frames_out++;
    } else {
        nat->stats.frames_refused++;
        nat->link_full = 1;
    }
    return r;
}

int host_tcp_connect(struct vnat *nat, vnat_token tok, const struct vnat_sockaddr *dst)
{
    int r = nat->ops.tcp_connect(nat->ctx, tok, dst);
    if (nat->ops.log != NULL)
        emit(nat, VNAT_LOG_OP, VNAT_OP_TCP_CONNECT, tok, 0, r, dst, NULL, 0);
    return r;
}

long host_send(struct vnat *nat, vnat_token tok, const uint8_t *buf, size_t len)
{
    long r = nat->ops.send(nat->ctx, tok, buf, len);
    if (nat->ops.log != NULL)
        emit(nat, VNAT_LOG_OP, VNAT_OP_SEND, tok, (int64_t)len, r, NULL, buf, len);
    return r;
}

long host_send_space(struct vnat *nat, vnat_token tok)
{
    long r = nat->ops.send_space(nat->ctx, tok);
    if (nat->ops.log != NULL)
        emit(nat, VNAT_LOG_OP, VNAT_OP_SEND_SPACE, tok, 0, r, NULL, NULL, 0);
    return r;
}

long host_peek(struct vnat *nat, vnat_token tok, size_t off, uint8_t *buf, size_t len)
{
    VNAT_ASSERT(nat, buf >= nat->scratch && buf + len <= nat->scratch + nat->scratch_len);
    long r = nat->ops.peek(nat->ctx, tok, off, buf, len);
    if (nat->ops.log != NULL) {
        /* Log only bytes that can be real: an impossible result is logged
         * as a number and rejected by the caller. */
        size_t n = (r > 0 && (size_t)r <= len) ? (size_t)r : 0;
        emit(nat, VNAT_LOG_OP, VNAT_OP_PEEK, tok, (int64_t)off, r, NULL, n ? buf : NULL, n);
    }
    return r;
}

int host_discard(struct vnat *nat, vnat_token tok, size_t len)
{
    int r = nat->ops.discard(nat->ctx, tok, len);
    if (nat->ops.log != NULL)
        emit(nat, VNAT_LOG_OP, VNAT_OP_DISCARD, tok, (int64_t)len, r, NULL, NULL, 0);
    return r;
}

int host_shutdown_write(struct vnat *nat, vnat_token tok)
{
    int r = nat->ops.shutdown_write(nat->ctx, tok);
    if (nat->ops.log != NULL)
        emit(nat, VNAT_LOG_OP, VNAT_OP_SHUTDOWN_WRITE, tok, 0, r, NULL, NULL, 0);
    return r;
}

void host_close(struct vnat *nat, vnat_token tok, int reset)
{
    nat->ops.close(nat->ctx, tok, reset);
    if (nat->ops.log != NULL)
        emit(nat, VNAT_LOG_OP, VNAT_OP_CLOSE, tok, reset, 0, NULL, NULL, 0);
}

void host_set_interest(struct vnat *nat, vnat_token tok, unsigned mask)
{
    nat->ops.set_interest(nat->ctx, tok, mask);
    if (nat->ops.log != NULL)
        emit(nat, VNAT_LOG_OP, VNAT_OP_SET_INTEREST, tok, (int64_t)mask, 0, NULL, NULL, 0);
}

int host_tcp_listen(struct vnat *nat, vnat_token tok, const struct vnat_sockaddr *local)
{
    int r = nat->ops.tcp_listen(nat->ctx, tok, local);
    if (nat->ops.log != NULL)
        emit(nat, VNAT_LOG_OP, VNAT_OP_TCP_LISTEN, tok, 0, r, local, NULL, 0);
    return r;
}

int host_tcp_accept(struct vnat *nat, vnat_token listener, vnat_token tok,
                    struct vnat_sockaddr *peer)
{
    VNAT_ASSERT(nat, listener != tok);
    memset(peer, 0, sizeof *peer);
    int r = nat->ops.tcp_accept(nat->ctx, listener, tok, peer);
    if (nat->ops.log != NULL)
        emit(nat, VNAT_LOG_OP, VNAT_OP_TCP_ACCEPT, listener, (int64_t)tok, r, r == 0 ? peer : NULL,
             NULL, 0);
    return r;
}

int host_dgram_open(struct vnat *nat, vnat_token tok, enum vnat_dgram_kind kind,
                    const struct vnat_sockaddr *dst)
{
    int r = nat->ops.dgram_open(nat->ctx, tok, kind, dst);
    if (nat->ops.log != NULL)
        emit(nat, VNAT_LOG_OP, VNAT_OP_DGRAM_OPEN, tok, kind, r, dst, NULL, 0);
    return r;
}

int host_dgram_bind(struct vnat *nat, vnat_token tok, enum vnat_dgram_kind kind,
                    const struct vnat_sockaddr *local)
{
    int r = nat->ops.dgram_bind(nat->ctx, tok, kind, local);
    if (nat->ops.log != NULL)
        emit(nat, VNAT_LOG_OP, VNAT_OP_DGRAM_BIND, tok, kind, r, local, NULL, 0);
    return r;
}

long host_dgram_send(struct vnat *nat, vnat_token tok, const uint8_t *buf, size_t len,
                     const struct vnat_sockaddr *to)
{
    long r = nat->ops.dgram_send(nat->ctx, tok, buf, len, to);
    if (nat->ops.log != NULL)
        emit(nat, VNAT_LOG_OP, VNAT_OP_DGRAM_SEND, tok, (int64_t)len, r, to, buf, len);
    return r;
}

long host_dgram_recv(struct vnat *nat, vnat_token tok, uint8_t *buf, size_t cap,
                     struct vnat_sockaddr *from)
{
    VNAT_ASSERT(nat, buf >= nat->scratch && buf + cap <= nat->scratch + nat->scratch_cap);
    memset(from, 0, sizeof *from);
    long r = nat->ops.dgram_recv(nat->ctx, tok, buf, cap, from);
    if (nat->ops.log != NULL) {
        size_t n = (r > 0 && (size_t)r <= cap) ? (size_t)r : 0;
        emit(nat, VNAT_LOG_OP, VNAT_OP_DGRAM_RECV, tok, (int64_t)cap, r, r >= 0 ? from : NULL,
             n ? buf : NULL, n);
    }
    return r;
}
