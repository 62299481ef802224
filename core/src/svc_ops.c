/*
 * svc_ops.c — the host operations the guest services call (listen, accept,
 * datagram open/bind/send/recv), each through a wrapper that writes its
 * OP record to the boundary log exactly as log.c does for the stream
 * operations: a = the first integer argument (kind for open/bind, len for
 * send, cap for recv), b = the result, addr = the address given or
 * returned, data = the bytes sent or received. Only bytes that can be real
 * are logged: an impossible result is logged as a number and rejected by
 * the caller.
 */
#include "internal.h"

static void op_record(struct vnat *nat, enum vnat_op op, vnat_token tok, int64_t a, int64_t b,
                      const struct vnat_sockaddr *addr, const uint8_t *data, size_t len)
{
    struct vnat_log_record r;
    memset(&r, 0, sizeof r);
    r.kind = VNAT_LOG_OP;
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

int host_tcp_listen(struct vnat *nat, vnat_token tok, const struct vnat_sockaddr *local)
{
    int r = nat->ops.tcp_listen(nat->ctx, tok, local);
    if (nat->ops.log != NULL)
        op_record(nat, VNAT_OP_TCP_LISTEN, tok, 0, r, local, NULL, 0);
    return r;
}

int host_tcp_accept(struct vnat *nat, vnat_token listener, vnat_token tok,
                    struct vnat_sockaddr *peer)
{
    memset(peer, 0, sizeof *peer);
    int r = nat->ops.tcp_accept(nat->ctx, listener, tok, peer);
    if (nat->ops.log != NULL)
        op_record(nat, VNAT_OP_TCP_ACCEPT, listener, (int64_t)tok, r, r == 0 ? peer : NULL, NULL,
                  0);
    return r;
}

int host_dgram_open(struct vnat *nat, vnat_token tok, enum vnat_dgram_kind kind,
                    const struct vnat_sockaddr *dst)
{
    int r = nat->ops.dgram_open(nat->ctx, tok, kind, dst);
    if (nat->ops.log != NULL)
        op_record(nat, VNAT_OP_DGRAM_OPEN, tok, kind, r, dst, NULL, 0);
    return r;
}

int host_dgram_bind(struct vnat *nat, vnat_token tok, enum vnat_dgram_kind kind,
                    const struct vnat_sockaddr *local)
{
    int r = nat->ops.dgram_bind(nat->ctx, tok, kind, local);
    if (nat->ops.log != NULL)
        op_record(nat, VNAT_OP_DGRAM_BIND, tok, kind, r, local, NULL, 0);
    return r;
}

long host_dgram_send(struct vnat *nat, vnat_token tok, const uint8_t *buf, size_t len,
                     const struct vnat_sockaddr *to)
{
    long r = nat->ops.dgram_send(nat->ctx, tok, buf, len, to);
    if (nat->ops.log != NULL)
        op_record(nat, VNAT_OP_DGRAM_SEND, tok, (int64_t)len, r, to, buf, len);
    return r;
}

long host_dgram_recv(struct vnat *nat, vnat_token tok, uint8_t *buf, size_t cap,
                     struct vnat_sockaddr *from)
{
    memset(from, 0, sizeof *from);
    long r = nat->ops.dgram_recv(nat->ctx, tok, buf, cap, from);
    if (nat->ops.log != NULL) {
        size_t n = (r > 0 && (size_t)r <= cap) ? (size_t)r : 0;
        op_record(nat, VNAT_OP_DGRAM_RECV, tok, (int64_t)cap, r, r >= 0 ? from : NULL,
                  n ? buf : NULL, n);
    }
    return r;
}
