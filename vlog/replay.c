/*
 * replay.c — replaying a recorded boundary log against a fresh core.
 *
 * The log is read one record ahead. Input records (create, events, API
 * calls) are fed to the core; while the core handles one, every host
 * operation it requests is served from the record under the cursor (which
 * must be that same operation) and every record the core logs is compared
 * with the record under the cursor, which then advances. The first mismatch
 * stops the replay and is reported with both records rendered as text.
 */
#include "trace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct replay {
    struct vnat_trace_reader rd;
    struct vnat_log_record cur;
    int have;       /* 1: cur is valid; 0: end of log; -1: unreadable */
    uint64_t index; /* index of cur */
    bool diverged;
    int64_t diff_index;
    char why[512];
    struct vnat_trace_hash th;
    uint8_t *input; /* copy of the input record's data while it is fed */
    size_t input_cap;
};

static void rp_advance(struct replay *rp)
{
    rp->have = vnat_trace_read(&rp->rd, &rp->cur);
    rp->index++;
}

/* Record the first difference: what happened, a detail, and the record the
 * log has at this point. */
static void rp_diverge(struct replay *rp, const char *what, const char *detail)
{
    if (rp->diverged)
        return;
    rp->diverged = true;
    rp->diff_index = (int64_t)rp->index;
    char cur[256] = "(end of log)";
    if (rp->have == 1)
        vnat_trace_format(&rp->cur, cur, sizeof cur);
    else if (rp->have < 0)
        snprintf(cur, sizeof cur, "(unreadable record)");
    snprintf(rp->why, sizeof rp->why, "%s%s\n  log has: %s", what, detail, cur);
}

static void rp_log(void *ctx, const struct vnat_log_record *got)
{
    struct replay *rp = ctx;
    vnat_trace_hash_record(&rp->th, got);
    if (rp->diverged)
        return;
    if (rp->have != 1) {
        char g[256];
        vnat_trace_format(got, g, sizeof g);
        rp_diverge(rp, "the core produced a record past the end of the log: ", g);
        return;
    }
    if (vnat_trace_compare(&rp->cur, got, rp->why, sizeof rp->why) != 0) {
        rp->diverged = true;
        rp->diff_index = (int64_t)rp->index;
        return;
    }
    rp_advance(rp);
}

/* The record under the cursor, if it is the operation `op` on `tok`. */
static const struct vnat_log_record *rp_expect(struct replay *rp, enum vnat_op op, vnat_token tok,
                                               uint32_t kind)
{
    if (rp->diverged)
        return NULL;
    if (rp->have == 1 && rp->cur.kind == kind && rp->cur.op == (uint32_t)op && rp->cur.token == tok)
        return &rp->cur;
    char what[96];
    snprintf(what, sizeof what, "%s tok=%#llx", vnat_op_name(op), (unsigned long long)tok);
    rp_diverge(rp, "the core requested ", what);
    return NULL;
}

static int rp_guest_send(void *ctx, const uint8_t *frame, size_t len)
{
    (void)frame;
    (void)len;
    const struct vnat_log_record *r =
        rp_expect(ctx, VNAT_OP_GUEST_SEND, VNAT_TOKEN_NONE, VNAT_LOG_OUT_FRAME);
    return r ? (int)r->a : 0;
}

static int rp_int_op(void *ctx, enum vnat_op op, vnat_token tok)
{
    const struct vnat_log_record *r = rp_expect(ctx, op, tok, VNAT_LOG_OP);
    return r ? (int)r->b : -EIO;
}

static long rp_long_op(void *ctx, enum vnat_op op, vnat_token tok, uint8_t *out, size_t cap,
                       struct vnat_sockaddr *addr_out)
{
    const struct vnat_log_record *r = rp_expect(ctx, op, tok, VNAT_LOG_OP);
    if (r == NULL)
        return -EIO;
    if (out != NULL && r->data != NULL)
        memcpy(out, r->data, r->len < cap ? r->len : cap);
    if (addr_out != NULL && r->addr != NULL)
        *addr_out = *r->addr;
    return (long)r->b;
}

static int rp_tcp_connect(void *ctx, vnat_token tok, const struct vnat_sockaddr *dst)
{
    (void)dst;
    return rp_int_op(ctx, VNAT_OP_TCP_CONNECT, tok);
}

static int rp_tcp_listen(void *ctx, vnat_token tok, const struct vnat_sockaddr *local)
{
    (void)local;
    return rp_int_op(ctx, VNAT_OP_TCP_LISTEN, tok);
}

static int rp_tcp_accept(void *ctx, vnat_token listener, vnat_token tok, struct vnat_sockaddr *peer)
{
    (void)tok;
    return (int)rp_long_op(ctx, VNAT_OP_TCP_ACCEPT, listener, NULL, 0, peer);
}

static long rp_send(void *ctx, vnat_token tok, const uint8_t *buf, size_t len)
{
    (void)buf;
    (void)len;
    return rp_long_op(ctx, VNAT_OP_SEND, tok, NULL, 0, NULL);
}

static long rp_send_space(void *ctx, vnat_token tok)
{
    return rp_long_op(ctx, VNAT_OP_SEND_SPACE, tok, NULL, 0, NULL);
}

static long rp_peek(void *ctx, vnat_token tok, size_t offset, uint8_t *buf, size_t len)
{
    (void)offset;
    return rp_long_op(ctx, VNAT_OP_PEEK, tok, buf, len, NULL);
}

static int rp_discard(void *ctx, vnat_token tok, size_t len)
{
    (void)len;
    return rp_int_op(ctx, VNAT_OP_DISCARD, tok);
}

static int rp_shutdown_write(void *ctx, vnat_token tok)
{
    return rp_int_op(ctx, VNAT_OP_SHUTDOWN_WRITE, tok);
}

static void rp_close(void *ctx, vnat_token tok, int reset)
{
    (void)reset;
    (void)rp_expect(ctx, VNAT_OP_CLOSE, tok, VNAT_LOG_OP);
}

static void rp_set_interest(void *ctx, vnat_token tok, unsigned mask)
{
    (void)mask;
    (void)rp_expect(ctx, VNAT_OP_SET_INTEREST, tok, VNAT_LOG_OP);
}

static int rp_dgram_open(void *ctx, vnat_token tok, enum vnat_dgram_kind kind,
                         const struct vnat_sockaddr *dst)
{
    (void)kind;
    (void)dst;
    return rp_int_op(ctx, VNAT_OP_DGRAM_OPEN, tok);
}

static int rp_dgram_bind(void *ctx, vnat_token tok, enum vnat_dgram_kind kind,
                         const struct vnat_sockaddr *local)
{
    (void)kind;
    (void)local;
    return rp_int_op(ctx, VNAT_OP_DGRAM_BIND, tok);
}

static long rp_dgram_send(void *ctx, vnat_token tok, const uint8_t *buf, size_t len,
                          const struct vnat_sockaddr *to)
{
    (void)buf;
    (void)len;
    (void)to;
    return rp_long_op(ctx, VNAT_OP_DGRAM_SEND, tok, NULL, 0, NULL);
}

static long rp_dgram_recv(void *ctx, vnat_token tok, uint8_t *buf, size_t cap,
                          struct vnat_sockaddr *from)
{
    return rp_long_op(ctx, VNAT_OP_DGRAM_RECV, tok, buf, cap, from);
}

static void rp_panic(void *ctx, const char *msg)
{
    struct replay *rp = ctx;
    fprintf(stderr, "vnat replay: core panic at record %llu: %s\n", (unsigned long long)rp->index,
            msg);
    abort();
}

static const struct vnat_host_ops replay_ops = {
    .struct_size = sizeof(struct vnat_host_ops),
    .guest_send = rp_guest_send,
    .tcp_connect = rp_tcp_connect,
    .tcp_listen = rp_tcp_listen,
    .tcp_accept = rp_tcp_accept,
    .send = rp_send,
    .send_space = rp_send_space,
    .peek = rp_peek,
    .discard = rp_discard,
    .shutdown_write = rp_shutdown_write,
    .close = rp_close,
    .set_interest = rp_set_interest,
    .dgram_open = rp_dgram_open,
    .dgram_bind = rp_dgram_bind,
    .dgram_send = rp_dgram_send,
    .dgram_recv = rp_dgram_recv,
    .log = rp_log,
    .panic = rp_panic,
};

static bool is_input(uint32_t kind)
{
    switch (kind) {
    case VNAT_LOG_CREATE:
    case VNAT_LOG_EV_FRAME:
    case VNAT_LOG_EV_WRITABLE:
    case VNAT_LOG_EV_READABLE:
    case VNAT_LOG_EV_LISTENER:
    case VNAT_LOG_EV_LINK:
    case VNAT_LOG_EV_TICK:
    case VNAT_LOG_API:
    case VNAT_LOG_RESTORE:
    case VNAT_LOG_SNAPSHOT: /* the embedder took one: take one here and compare */
        return true;
    default:
        return false;
    }
}

/* Rebuild the core from a RESTORE record (data = the image, a = the mode,
 * b = the now): the core it replaces (if any) is dropped without a
 * shutdown, as the embedder dropped it. */
static int rp_restore(struct replay *rp, const struct vnat_log_record *in, vnat **nat, void **mem)
{
    size_t size = 0;
    vnat_err e = vnat_restore_memory_size(in->data, in->len, &size);
    if (e != VNAT_OK) {
        rp_diverge(rp, "the RESTORE record's image does not open: ", vnat_strerror(e));
        return -1;
    }
    free(*mem);
    *nat = NULL;
    *mem = aligned_alloc(16, (size + 15) & ~(size_t)15);
    if (*mem == NULL)
        return -1;
    e = vnat_restore(*mem, size, &replay_ops, rp, in->data, in->len, (int)in->a, (uint64_t)in->b,
                     nat);
    if (e != VNAT_OK) {
        rp_diverge(rp, "vnat_restore failed on the recorded image: ", vnat_strerror(e));
        return -1;
    }
    return 0;
}

/* Build the core from a CREATE record's config image. */
static int rp_create(struct replay *rp, const uint8_t *img, size_t len, vnat **nat, void **mem)
{
    struct vnat_config cfg;
    if (len < sizeof cfg) {
        rp_diverge(rp, "the CREATE record's config image is too short", "");
        return -1;
    }
    memcpy(&cfg, img, sizeof cfg);
    size_t need = sizeof cfg + (size_t)cfg.n_rules * sizeof(struct vnat_rule) +
                  (size_t)cfg.n_forwards * sizeof(struct vnat_forward);
    if (cfg.n_rules > 65536 || cfg.n_forwards > 65536 || len != need) {
        rp_diverge(rp, "the CREATE record's config image has the wrong length", "");
        return -1;
    }
    cfg.rules = cfg.n_rules ? (const struct vnat_rule *)(img + sizeof cfg) : NULL;
    cfg.forwards = cfg.n_forwards
                       ? (const struct vnat_forward *)(img + sizeof cfg +
                                                       cfg.n_rules * sizeof(struct vnat_rule))
                       : NULL;
    /* A recorded seed is the one that ran, whatever it is: a recording made
     * before seed 0 needed VNAT_F_DETERMINISTIC_SEED replays too. */
    if (cfg.seed == 0)
        cfg.flags |= VNAT_F_DETERMINISTIC_SEED;
    size_t size = vnat_memory_size(&cfg);
    if (size == 0) {
        rp_diverge(rp, "the recorded configuration is invalid", "");
        return -1;
    }
    *mem = aligned_alloc(16, (size + 15) & ~(size_t)15);
    if (*mem == NULL)
        return -1;
    vnat_err e = vnat_create(&cfg, &replay_ops, rp, *mem, size, nat);
    if (e != VNAT_OK) {
        rp_diverge(rp, "vnat_create failed on the recorded configuration: ", vnat_strerror(e));
        return -1;
    }
    return 0;
}

/* Feed one input record (a copy: the cursor moves while the core runs). */
static void rp_feed(struct replay *rp, vnat **nat, void **mem)
{
    struct vnat_log_record in = rp->cur;
    if (in.len > rp->input_cap) {
        uint8_t *n = realloc(rp->input, in.len);
        if (n == NULL) {
            rp_diverge(rp, "out of memory", "");
            return;
        }
        rp->input = n;
        rp->input_cap = in.len;
    }
    if (in.len)
        memcpy(rp->input, in.data, in.len);
    in.data = rp->input;
    uint64_t before = rp->index;
    if (in.kind != VNAT_LOG_CREATE && in.kind != VNAT_LOG_RESTORE && *nat == NULL) {
        rp_diverge(rp, "the log does not start with a CREATE or RESTORE record", "");
        return;
    }
    switch (in.kind) {
    case VNAT_LOG_CREATE:
        if (*nat != NULL) {
            rp_diverge(rp, "a second CREATE record", "");
            return;
        }
        if (rp_create(rp, in.data, in.len, nat, mem) != 0)
            return;
        break;
    case VNAT_LOG_RESTORE:
        if (rp_restore(rp, &in, nat, mem) != 0)
            return;
        break;
    case VNAT_LOG_EV_FRAME:
        /* Events carry the now the embedder passed in b (now is clamped). */
        (void)vnat_on_guest_frame(*nat, (uint64_t)in.b, in.data, in.len);
        break;
    case VNAT_LOG_EV_WRITABLE:
        (void)vnat_on_writable(*nat, (uint64_t)in.b, in.token, (int)in.a);
        break;
    case VNAT_LOG_EV_READABLE:
        (void)vnat_on_readable(*nat, (uint64_t)in.b, in.token);
        break;
    case VNAT_LOG_EV_LISTENER:
        (void)vnat_on_listener_ready(*nat, (uint64_t)in.b, in.token);
        break;
    case VNAT_LOG_EV_LINK:
        (void)vnat_on_link_writable(*nat, (uint64_t)in.b);
        break;
    case VNAT_LOG_EV_TICK:
        (void)vnat_on_tick(*nat, (uint64_t)in.b);
        break;
    case VNAT_LOG_SNAPSHOT: {
        /* The core logs the image it writes; the generic comparison then
         * holds its length and checksum against the record's. */
        size_t need = vnat_snapshot_size(*nat);
        uint8_t *img = need ? malloc(need) : NULL;
        if (img == NULL) {
            rp_diverge(rp, "no snapshot of the replayed core", "");
            return;
        }
        (void)vnat_snapshot(*nat, img, need, NULL);
        free(img);
        break;
    }
    case VNAT_LOG_API:
        /* API records: a = 1 shutdown, 2 forward_add, 3 forward_remove,
         * 4 reset_flows;
         * data = the struct vnat_forward for 2 and 3 (docs/trace.md). */
        if (in.a == 1) {
            vnat_shutdown(*nat, in.now);
        } else if (in.a == 4) {
            (void)vnat_reset_flows(*nat, in.now);
        } else if ((in.a == 2 || in.a == 3) && in.len == sizeof(struct vnat_forward)) {
            struct vnat_forward fwd;
            memcpy(&fwd, in.data, sizeof fwd);
            if (in.a == 2)
                (void)vnat_forward_add(*nat, in.now, &fwd);
            else
                (void)vnat_forward_remove(*nat, in.now, &fwd);
        } else {
            rp_diverge(rp, "an API record the replayer does not know", "");
            return;
        }
        break;
    default:
        break;
    }
    if (!rp->diverged && rp->index == before)
        rp_diverge(rp, "the core did not log the input it was given", "");
}

int vnat_replay_file(FILE *f, struct vnat_replay_result *res)
{
    struct replay rp;
    memset(&rp, 0, sizeof rp);
    memset(res, 0, sizeof *res);
    res->index = -1;
    vnat_trace_reader_init(&rp.rd, f);
    vnat_trace_hash_init(&rp.th);
    rp.diff_index = -1;
    rp.have = vnat_trace_read(&rp.rd, &rp.cur);
    vnat *nat = NULL;
    void *mem = NULL;
    int rc = 0;
    if (rp.have < 0) {
        snprintf(res->why, sizeof res->why, "not a vnat trace (unreadable first record)");
        rc = -1;
    }
    for (uint64_t guard = 0; rc == 0 && rp.have == 1 && !rp.diverged; guard++) {
        if (!is_input(rp.cur.kind)) {
            rp_diverge(&rp, "the log has an output the core did not produce", "");
            break;
        }
        rp_feed(&rp, &nat, &mem);
        if (nat == NULL && !rp.diverged)
            rp_diverge(&rp, "no core", "");
    }
    if (rc == 0 && rp.have < 0 && !rp.diverged) {
        snprintf(res->why, sizeof res->why, "unreadable record at index %llu",
                 (unsigned long long)rp.index);
        rc = -1;
    }
    res->records = rp.index;
    res->hash = vnat_trace_hash_final(&rp.th);
    if (rp.diverged) {
        res->index = rp.diff_index;
        memcpy(res->why, rp.why, sizeof res->why);
        rc = 1;
    }
    free(mem);
    free(rp.input);
    vnat_trace_reader_free(&rp.rd);
    return rc;
}
