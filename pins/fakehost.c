/*
 * fakehost.c — the scripted fake host used by core, tcp and defects pins
 * (see fakehost.h). Deliberately simple and strict: it records every
 * request, returns scripted results, and checks the core's invariants after
 * every event. The socket table, streams, frame capture and builders are the
 * test kit's (testkit/); what is here is this fake's model of each operation.
 */
#include "fakehost.h"
#include "pin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FH_EAGAIN 11

static struct tk_table table(struct fh *h)
{
    return (struct tk_table){TK_TABLE(h->socks), .by_index = true};
}

static struct fh_sock *sock_of(struct fh *h, vnat_token tok)
{
    struct tk_table t = table(h);
    long i = tk_find(&t, tok, false);
    return i < 0 ? NULL : &h->socks[i];
}

static void kit_fail(const char *msg)
{
    fail_msg("%s", msg);
}

static int op_guest_send(void *ctx, const uint8_t *frame, size_t len)
{
    struct fh *h = ctx;
    h->ops_count[VNAT_OP_GUEST_SEND]++;
    if (h->refuse)
        return 1;
    assert_non_null(tk_capture_add(&h->out, frame, len));
    return 0;
}

/* A fresh record for tok (its slot's old buffers freed). */
static struct fh_sock *fresh(struct fh *h, long i, vnat_token tok, const struct vnat_sockaddr *a)
{
    struct fh_sock *s = &h->socks[i];
    tk_stream_free(&s->stream);
    memset(s, 0, sizeof *s);
    tk_sock_set(&s->sock, tok);
    s->addr = *a;
    return s;
}

static int op_tcp_connect(void *ctx, vnat_token tok, const struct vnat_sockaddr *dst)
{
    struct fh *h = ctx;
    h->ops_count[VNAT_OP_TCP_CONNECT]++;
    h->last_tok = tok;
    long rc = 0;
    tk_script_take(&h->script, VNAT_OP_TCP_CONNECT, tok, &rc);
    struct fh_sock *s = sock_of(h, tok);
    if (s != NULL) {
        s->connects++;
        return (int)rc;
    }
    struct tk_table t = table(h);
    long i = tk_claim(&t, tok);
    assert_true(i >= 0);
    s = fresh(h, i, tok, dst);
    s->connects = 1;
    s->space = 1 << 20;
    if (rc != 0)
        s->closed = true; /* the socket never existed */
    return (int)rc;
}

/* A record for a listener or a datagram socket (guest services, issue 5):
 * enough for the defects and core pins that open one; the services' own
 * pins use pins/svc_fakehost.c. */
static int claim_sock(struct fh *h, vnat_token tok, const struct vnat_sockaddr *addr)
{
    h->last_tok = tok;
    struct tk_table t = table(h);
    long i = tk_claim(&t, tok);
    if (i < 0)
        return -95;
    fresh(h, i, tok, addr);
    return 0;
}

static int op_tcp_listen(void *ctx, vnat_token tok, const struct vnat_sockaddr *local)
{
    struct fh *h = ctx;
    h->ops_count[VNAT_OP_TCP_LISTEN]++;
    return claim_sock(h, tok, local);
}
static int op_tcp_accept(void *ctx, vnat_token l, vnat_token tok, struct vnat_sockaddr *peer)
{
    (void)ctx, (void)l, (void)tok, (void)peer;
    return -FH_EAGAIN;
}

/* The record of an operation's token: it must exist. */
static struct fh_sock *known(struct fh *h, vnat_token tok)
{
    struct fh_sock *s = sock_of(h, tok);
    assert_non_null(s);
    return s;
}

static long op_send(void *ctx, vnat_token tok, const uint8_t *buf, size_t len)
{
    struct fh *h = ctx;
    h->ops_count[VNAT_OP_SEND]++;
    struct fh_sock *s = known(h, tok);
    assert_false(s->closed);
    assert_false(s->shut_wr);
    long rc;
    if (tk_script_take(&h->script, VNAT_OP_SEND, tok, &rc))
        return rc;
    rc = tk_stream_send(&s->stream, buf, len);
    return rc < 0 ? -FH_EAGAIN : tk_script_adjust(&h->script, VNAT_OP_SEND, tok, rc);
}

static long op_send_space(void *ctx, vnat_token tok)
{
    struct fh *h = ctx;
    h->ops_count[VNAT_OP_SEND_SPACE]++;
    struct fh_sock *s = known(h, tok);
    long rc;
    if (tk_script_take(&h->script, VNAT_OP_SEND_SPACE, tok, &rc))
        return rc;
    return tk_script_adjust(&h->script, VNAT_OP_SEND_SPACE, tok, s->space);
}

static long op_peek(void *ctx, vnat_token tok, size_t off, uint8_t *buf, size_t len)
{
    struct fh *h = ctx;
    h->ops_count[VNAT_OP_PEEK]++;
    h->peek_asked = len;
    struct fh_sock *s = known(h, tok);
    assert_false(s->closed);
    s->peeks++;
    bool none;
    size_t n = tk_stream_peek(&s->stream, off, buf, len, &none);
    if (!none)
        return tk_script_adjust(&h->script, VNAT_OP_PEEK, tok, (long)n);
    long rc;
    if (tk_script_take(&h->script, VNAT_OP_PEEK, tok, &rc))
        return rc;
    return s->rx_eof ? 0 : -FH_EAGAIN;
}

static int op_discard(void *ctx, vnat_token tok, size_t len)
{
    struct fh *h = ctx;
    h->ops_count[VNAT_OP_DISCARD]++;
    long rc;
    if (tk_script_take(&h->script, VNAT_OP_DISCARD, tok, &rc))
        return (int)rc;
    tk_stream_discard(&known(h, tok)->stream, len);
    return 0;
}

static int op_shutdown_write(void *ctx, vnat_token tok)
{
    struct fh *h = ctx;
    h->ops_count[VNAT_OP_SHUTDOWN_WRITE]++;
    long rc;
    if (tk_script_take(&h->script, VNAT_OP_SHUTDOWN_WRITE, tok, &rc))
        return (int)rc;
    known(h, tok)->shut_wr = true;
    return 0;
}

static void op_close(void *ctx, vnat_token tok, int reset)
{
    struct fh *h = ctx;
    h->ops_count[VNAT_OP_CLOSE]++;
    struct tk_table t = table(h);
    tk_close(&t, &known(h, tok)->sock, reset);
}

static void op_set_interest(void *ctx, vnat_token tok, unsigned mask)
{
    struct fh *h = ctx;
    h->ops_count[VNAT_OP_SET_INTEREST]++;
    known(h, tok)->interest = mask;
}

static int op_dgram_open(void *ctx, vnat_token tok, enum vnat_dgram_kind k,
                         const struct vnat_sockaddr *dst)
{
    struct fh *h = ctx;
    (void)k;
    h->ops_count[VNAT_OP_DGRAM_OPEN]++;
    return claim_sock(h, tok, dst);
}
static int op_dgram_bind(void *ctx, vnat_token tok, enum vnat_dgram_kind k,
                         const struct vnat_sockaddr *l)
{
    (void)ctx, (void)tok, (void)k, (void)l;
    return -95;
}
static long op_dgram_send(void *ctx, vnat_token tok, const uint8_t *b, size_t n,
                          const struct vnat_sockaddr *to)
{
    struct fh *h = ctx;
    (void)b, (void)to;
    h->ops_count[VNAT_OP_DGRAM_SEND]++;
    known(h, tok);
    return (long)n;
}

static long op_dgram_recv(void *ctx, vnat_token tok, uint8_t *b, size_t cap,
                          struct vnat_sockaddr *from)
{
    (void)ctx, (void)tok, (void)b, (void)cap, (void)from;
    return -FH_EAGAIN;
}
static void op_log(void *ctx, const struct vnat_log_record *r)
{
    struct fh *h = ctx;
    h->log_records++;
    /* The log's contract (log.c): a peek's record carries every byte a
     * real result returned, up to all that was asked for. */
    if (r->kind == VNAT_LOG_OP && r->op == VNAT_OP_PEEK && r->b > 0 &&
        (size_t)r->b <= h->peek_asked && r->len != (size_t)r->b)
        fail_msg("the log record of a peek that returned %lld of %zu bytes carries %zu",
                 (long long)r->b, h->peek_asked, r->len);
    if (h->log_fn)
        h->log_fn(h->log_ctx, r);
}
static void op_panic(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "vnat panic: %s\n", msg);
    fail_msg("vnat panic: %s", msg);
}

static const struct vnat_host_ops fh_ops = {
    .struct_size = sizeof(struct vnat_host_ops),
    .guest_send = op_guest_send,
    .tcp_connect = op_tcp_connect,
    .tcp_listen = op_tcp_listen,
    .tcp_accept = op_tcp_accept,
    .send = op_send,
    .send_space = op_send_space,
    .peek = op_peek,
    .discard = op_discard,
    .shutdown_write = op_shutdown_write,
    .close = op_close,
    .set_interest = op_set_interest,
    .dgram_open = op_dgram_open,
    .dgram_bind = op_dgram_bind,
    .dgram_send = op_dgram_send,
    .dgram_recv = op_dgram_recv,
    .log = op_log,
    .panic = op_panic,
};

const struct vnat_host_ops *fh_ops_table(void)
{
    return &fh_ops;
}

void fh_init(struct fh *h, void (*tweak)(struct vnat_config *cfg))
{
    fh_init_log(h, tweak, NULL, NULL);
}

void fh_init_log(struct fh *h, void (*tweak)(struct vnat_config *cfg),
                 void (*log_fn)(void *ctx, const struct vnat_log_record *rec), void *log_ctx)
{
    memset(h, 0, sizeof *h);
    tk_fail_hook = kit_fail;
    assert_int_equal(tk_capture_init(&h->out, FH_MAX_FRAMES, false, 0), 0);
    h->log_fn = log_fn;
    h->log_ctx = log_ctx;
    vnat_config_init(&h->cfg);
    h->cfg.max_flows = 32;
    h->cfg.seed = 42;
    if (tweak)
        tweak(&h->cfg);
    size_t need = vnat_memory_size(&h->cfg);
    assert_true(need > 0);
    h->mem = aligned_alloc(16, (need + 15) & ~(size_t)15);
    assert_non_null(h->mem);
    h->now = 1000 * VNAT_NS_PER_S;
    assert_int_equal(vnat_create(&h->cfg, &fh_ops, h, h->mem, need, &h->nat), VNAT_OK);
    fh_check(h);
}

void fh_free(struct fh *h)
{
    tk_capture_free(&h->out);
    for (int i = 0; i < FH_MAX_SOCKS; i++)
        tk_stream_free(&h->socks[i].stream);
    free(h->mem);
    memset(h, 0, sizeof *h);
}

void fh_check(struct fh *h)
{
    char why[256];
    int rc = vnat_check_invariants(h->nat, why, sizeof why);
    if (rc != 0)
        fail_msg("invariant broken: %s", why);
}

struct fh_sock *fh_sock(struct fh *h, vnat_token tok)
{
    return sock_of(h, tok);
}

struct fh_sock *fh_last_sock(struct fh *h)
{
    vnat_token t = fh_last_token(h);
    return t ? sock_of(h, t) : NULL;
}

vnat_token fh_last_token(struct fh *h)
{
    return h->last_tok;
}

int fh_open_socks(struct fh *h)
{
    struct tk_table t = table(h);
    return (int)tk_count(&t, true);
}

void fh_host_data(struct fh_sock *s, const void *data, size_t len)
{
    tk_stream_feed(&s->stream, data, len);
}

vnat_err fh_frame_in(struct fh *h, const uint8_t *frame, size_t len)
{
    vnat_err e = vnat_on_guest_frame(h->nat, h->now, frame, len);
    fh_check(h);
    return e;
}
vnat_err fh_writable(struct fh *h, vnat_token tok, int so_error)
{
    vnat_err e = vnat_on_writable(h->nat, h->now, tok, so_error);
    fh_check(h);
    return e;
}
vnat_err fh_readable(struct fh *h, vnat_token tok)
{
    vnat_err e = vnat_on_readable(h->nat, h->now, tok);
    fh_check(h);
    return e;
}
vnat_err fh_tick(struct fh *h)
{
    vnat_err e = vnat_on_tick(h->nat, h->now);
    fh_check(h);
    return e;
}
void fh_advance(struct fh *h, uint64_t ns)
{
    h->now += ns;
    fh_tick(h);
}

vnat_err fh_send(struct fh *h, const struct tk_tcp_spec *spec)
{
    static uint8_t buf[70000];
    struct tk_tcp_spec s = *spec;
    if (s.guest == NULL)
        s.guest = &h->cfg;
    size_t n = tk_tcp(&s, buf, sizeof buf);
    assert_true(n > 0);
    return fh_frame_in(h, buf, n);
}

/* The positional shorthand's spec: IP id 1, the fake's SYN MSS, window
 * shift 7, timestamp value 12345. */
static struct tk_tcp_spec short_spec(struct fh *h, const uint8_t dst[4], uint16_t sport,
                                     uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                                     uint16_t win, unsigned opts, const void *payload, size_t len)
{
    return (struct tk_tcp_spec){.guest = &h->cfg,
                                .dst = dst,
                                .ip_id = 1,
                                .sport = sport,
                                .dport = dport,
                                .seq = seq,
                                .ack = ack,
                                .flags = flags,
                                .window = win,
                                .opt_mss = opts & FH_OPT_MSS,
                                .mss = h->syn_mss ? h->syn_mss : 1460,
                                .opt_wscale = (opts & FH_OPT_WS) != 0,
                                .wscale = 7,
                                .opt_sack_perm = (opts & FH_OPT_SACK) != 0,
                                .opt_ts = (opts & FH_OPT_TS) != 0,
                                .ts_val = 12345,
                                .payload = payload,
                                .len = len};
}

size_t fh_build(struct fh *h, uint8_t *out, size_t cap, const uint8_t dst[4], uint16_t sport,
                uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
                unsigned opts, const void *payload, size_t len)
{
    struct tk_tcp_spec s =
        short_spec(h, dst, sport, dport, seq, ack, flags, win, opts, payload, len);
    size_t n = tk_tcp(&s, out, cap);
    assert_true(n > 0);
    return n;
}

vnat_err fh_send_seg(struct fh *h, const uint8_t dst[4], uint16_t sport, uint16_t dport,
                     uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win, unsigned opts,
                     const void *payload, size_t len)
{
    struct tk_tcp_spec s =
        short_spec(h, dst, sport, dport, seq, ack, flags, win, opts, payload, len);
    return fh_send(h, &s);
}

struct fh_seg fh_seg_of(const struct tk_pkt *p)
{
    struct fh_seg s;
    memset(&s, 0, sizeof s);
    if (!tk_is_tcp(p))
        return s;
    s.ok = true;
    memcpy(s.src_ip, p->src, 4);
    memcpy(s.dst_ip, p->dst, 4);
    s.sport = p->tcp.sport;
    s.dport = p->tcp.dport;
    s.seq = p->tcp.seq;
    s.ack = p->tcp.ack;
    s.flags = p->tcp.flags;
    s.window = p->tcp.window;
    s.has_mss = p->tcp.has_mss;
    s.mss = p->tcp.mss;
    s.has_wscale = p->tcp.has_wscale;
    s.wscale = p->tcp.wscale;
    s.sack_perm = p->tcp.sack_permitted;
    s.has_ts = p->tcp.has_ts;
    s.payload = p->payload;
    s.len = p->len;
    return s;
}

struct fh_seg fh_parse(const uint8_t *frame, size_t len)
{
    struct tk_pkt p = tk_parse(frame, len);
    return fh_seg_of(&p);
}

size_t fh_pending(struct fh *h)
{
    return tk_capture_pending(&h->out);
}

struct fh_seg fh_next(struct fh *h)
{
    const struct tk_frame *f = tk_capture_next(&h->out);
    if (f == NULL) {
        struct fh_seg none;
        memset(&none, 0, sizeof none);
        return none;
    }
    return fh_seg_of(&f->pkt);
}

void fh_drain(struct fh *h)
{
    tk_capture_drain(&h->out);
}

void fh_connect(struct fh *h, struct fh_conn *c, const uint8_t dst[4], uint16_t sport,
                uint16_t dport, uint32_t gisn, uint16_t win, unsigned opts)
{
    memset(c, 0, sizeof *c);
    c->dst = dst;
    c->sport = sport;
    c->dport = dport;
    c->win = win;
    fh_drain(h);
    assert_int_equal(fh_send_seg(h, dst, sport, dport, gisn, 0, VW_TCP_SYN, win, opts, NULL, 0),
                     VNAT_OK);
    c->tok = fh_last_token(h);
    c->sock = fh_sock(h, c->tok);
    assert_non_null(c->sock);
    assert_int_equal(fh_pending(h), 0);
    assert_int_equal(fh_writable(h, c->tok, 0), VNAT_OK);
    struct fh_seg s = fh_next(h);
    assert_true(s.ok);
    assert_int_equal(s.flags, VW_TCP_SYN | VW_TCP_ACK);
    assert_int_equal(s.ack, gisn + 1);
    c->gseq = gisn + 1;
    c->gack = s.seq + 1;
    assert_int_equal(
        fh_send_seg(h, dst, sport, dport, c->gseq, c->gack, VW_TCP_ACK, win, 0, NULL, 0), VNAT_OK);
}

vnat_err fh_guest_data(struct fh *h, struct fh_conn *c, const void *data, size_t len)
{
    vnat_err e = fh_send_seg(h, c->dst, c->sport, c->dport, c->gseq, c->gack,
                             VW_TCP_ACK | VW_TCP_PSH, c->win, 0, data, len);
    c->gseq += (uint32_t)len;
    return e;
}

vnat_err fh_guest_ack(struct fh *h, struct fh_conn *c)
{
    return fh_send_seg(h, c->dst, c->sport, c->dport, c->gseq, c->gack, VW_TCP_ACK, c->win, 0, NULL,
                       0);
}

uint64_t fh_stat(struct fh *h, size_t offset)
{
    struct vnat_stats st;
    vnat_get_stats(h->nat, &st, sizeof st);
    uint64_t v;
    memcpy(&v, (const uint8_t *)&st + offset, sizeof v);
    return v;
}
