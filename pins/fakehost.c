/*
 * fakehost.c — the scripted fake host used by core, tcp and defects pins
 * (see fakehost.h). Deliberately simple and strict: it records every
 * request, returns scripted results, and checks the core's invariants after
 * every event.
 */
#include "fakehost.h"
#include "pin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FH_EAGAIN 11

static struct fh_sock *sock_of(struct fh *h, vnat_token tok)
{
    uint32_t slot = (uint32_t)tok;
    if (slot >= FH_MAX_SOCKS)
        return NULL;
    struct fh_sock *s = &h->socks[slot];
    if (!s->used || s->tok != tok)
        return NULL;
    return s;
}

static int op_guest_send(void *ctx, const uint8_t *frame, size_t len)
{
    struct fh *h = ctx;
    h->ops_count[VNAT_OP_GUEST_SEND]++;
    if (h->refuse)
        return 1;
    assert_true(h->nframes < FH_MAX_FRAMES);
    h->frames[h->nframes].data = malloc(len);
    memcpy(h->frames[h->nframes].data, frame, len);
    h->frames[h->nframes].len = len;
    h->nframes++;
    return 0;
}

static int op_tcp_connect(void *ctx, vnat_token tok, const struct vnat_sockaddr *dst)
{
    struct fh *h = ctx;
    h->ops_count[VNAT_OP_TCP_CONNECT]++;
    h->last_tok = tok;
    uint32_t slot = (uint32_t)tok;
    assert_true(slot < FH_MAX_SOCKS);
    struct fh_sock *s = &h->socks[slot];
    if (s->used && s->tok == tok) {
        s->connects++;
        return h->connect_rc;
    }
    free(s->tx);
    free(s->rx);
    memset(s, 0, sizeof *s);
    s->used = true;
    s->tok = tok;
    s->dst = *dst;
    s->connects = 1;
    s->space = 1 << 20;
    if (h->connect_rc != 0)
        s->closed = true; /* the socket never existed */
    return h->connect_rc;
}

/* A record for a listener or a datagram socket (guest services, issue 5):
 * enough for the defects and core pins that open one; the services' own
 * pins use pins/svc_fakehost.c. */
static int claim_sock(struct fh *h, vnat_token tok, const struct vnat_sockaddr *addr)
{
    h->last_tok = tok;
    uint32_t slot = (uint32_t)tok;
    if (slot >= FH_MAX_SOCKS)
        return -95;
    struct fh_sock *s = &h->socks[slot];
    free(s->tx);
    free(s->rx);
    memset(s, 0, sizeof *s);
    s->used = true;
    s->tok = tok;
    s->dst = *addr;
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

static long op_send(void *ctx, vnat_token tok, const uint8_t *buf, size_t len)
{
    struct fh *h = ctx;
    h->ops_count[VNAT_OP_SEND]++;
    struct fh_sock *s = sock_of(h, tok);
    assert_non_null(s);
    assert_false(s->closed);
    assert_false(s->shut_wr);
    if (s->send_err)
        return s->send_err;
    size_t n = len < (size_t)s->space ? len : (size_t)s->space;
    if (n == 0)
        return -FH_EAGAIN;
    assert_true(s->tx_len + n <= FH_BUF);
    if (s->tx == NULL)
        s->tx = malloc(FH_BUF);
    memcpy(s->tx + s->tx_len, buf, n);
    s->tx_len += n;
    s->space -= (long)n;
    return (long)n + s->send_extra;
}

static long op_send_space(void *ctx, vnat_token tok)
{
    struct fh *h = ctx;
    h->ops_count[VNAT_OP_SEND_SPACE]++;
    struct fh_sock *s = sock_of(h, tok);
    assert_non_null(s);
    if (s->space_err)
        return s->space_err;
    return s->space + s->space_over;
}

static long op_peek(void *ctx, vnat_token tok, size_t off, uint8_t *buf, size_t len)
{
    struct fh *h = ctx;
    h->ops_count[VNAT_OP_PEEK]++;
    struct fh_sock *s = sock_of(h, tok);
    assert_non_null(s);
    assert_false(s->closed);
    s->peeks++;
    size_t avail = s->rx_len - s->rx_disc;
    if (off < avail) {
        size_t n = avail - off < len ? avail - off : len;
        memcpy(buf, s->rx + s->rx_disc + off, n);
        return (long)n + s->peek_extra;
    }
    if (s->peek_err)
        return s->peek_err;
    if (s->rx_eof)
        return 0;
    return -FH_EAGAIN;
}

static int op_discard(void *ctx, vnat_token tok, size_t len)
{
    struct fh *h = ctx;
    h->ops_count[VNAT_OP_DISCARD]++;
    struct fh_sock *s = sock_of(h, tok);
    assert_non_null(s);
    assert_true(s->rx_disc + len <= s->rx_len);
    s->rx_disc += len;
    return 0;
}

static int op_shutdown_write(void *ctx, vnat_token tok)
{
    struct fh *h = ctx;
    h->ops_count[VNAT_OP_SHUTDOWN_WRITE]++;
    struct fh_sock *s = sock_of(h, tok);
    assert_non_null(s);
    s->shut_wr = true;
    return 0;
}

static void op_close(void *ctx, vnat_token tok, int reset)
{
    struct fh *h = ctx;
    h->ops_count[VNAT_OP_CLOSE]++;
    struct fh_sock *s = sock_of(h, tok);
    assert_non_null(s);
    assert_false(s->closed);
    s->closed = true;
    s->close_reset = reset;
}

static void op_set_interest(void *ctx, vnat_token tok, unsigned mask)
{
    struct fh *h = ctx;
    h->ops_count[VNAT_OP_SET_INTEREST]++;
    struct fh_sock *s = sock_of(h, tok);
    assert_non_null(s);
    s->interest = mask;
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
    assert_non_null(sock_of(h, tok));
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
    for (size_t i = 0; i < h->nframes; i++)
        free(h->frames[i].data);
    for (int i = 0; i < FH_MAX_SOCKS; i++) {
        free(h->socks[i].tx);
        free(h->socks[i].rx);
    }
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
    int n = 0;
    for (int i = 0; i < FH_MAX_SOCKS; i++)
        if (h->socks[i].used && !h->socks[i].closed)
            n++;
    return n;
}

void fh_host_data(struct fh_sock *s, const void *data, size_t len)
{
    assert_true(s->rx_len + len <= FH_BUF);
    if (s->rx == NULL)
        s->rx = malloc(FH_BUF);
    memcpy(s->rx + s->rx_len, data, len);
    s->rx_len += len;
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

size_t fh_build(struct fh *h, uint8_t *out, size_t cap, const uint8_t dst[4], uint16_t sport,
                uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
                unsigned opts, const void *payload, size_t len)
{
    struct vw_tcp_out t;
    memset(&t, 0, sizeof t);
    t.sport = sport;
    t.dport = dport;
    t.seq = seq;
    t.ack = ack;
    t.flags = flags;
    t.window = win;
    t.opt_mss = opts & FH_OPT_MSS;
    t.mss = h->syn_mss ? h->syn_mss : 1460;
    t.opt_wscale = (opts & FH_OPT_WS) != 0;
    t.wscale = 7;
    t.opt_sack_perm = (opts & FH_OPT_SACK) != 0;
    t.opt_ts = (opts & FH_OPT_TS) != 0;
    t.ts_val = 12345;
    size_t off = vw_tcp4_payload_off(&t);
    assert_true(off + len <= cap);
    if (len)
        memcpy(out + off, payload, len);
    struct vw_l2l3 a = {
        .eth_dst = h->cfg.gateway_mac,
        .eth_src = h->cfg.guest_mac,
        .ip_src = h->cfg.guest_ip.addr,
        .ip_dst = dst,
        .ip_id = 1,
        .ttl = 64,
    };
    size_t n = vw_tcp4_frame(out, cap, &a, &t, len);
    assert_true(n > 0);
    return n;
}

vnat_err fh_send_seg(struct fh *h, const uint8_t dst[4], uint16_t sport, uint16_t dport,
                     uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win, unsigned opts,
                     const void *payload, size_t len)
{
    static uint8_t buf[70000];
    size_t n =
        fh_build(h, buf, sizeof buf, dst, sport, dport, seq, ack, flags, win, opts, payload, len);
    return fh_frame_in(h, buf, n);
}

struct fh_seg fh_parse(const uint8_t *frame, size_t len)
{
    struct fh_seg s;
    memset(&s, 0, sizeof s);
    struct vw_eth eth;
    struct vw_ipv4 ip;
    struct vw_tcp t;
    if (vw_eth_parse(frame, len, &eth) != 0 || eth.ethertype != VW_ETH_P_IPV4)
        return s;
    if (vw_ipv4_parse(eth.payload, eth.payload_len, &ip) != 0 || ip.proto != VW_IPPROTO_TCP)
        return s;
    if (vw_tcp_parse(ip.payload, ip.payload_len, &t) != 0)
        return s;
    if (!vw_l4_csum_ok4(ip.src, ip.dst, VW_IPPROTO_TCP, ip.payload, ip.payload_len))
        return s;
    s.ok = true;
    memcpy(s.src_ip, ip.src, 4);
    memcpy(s.dst_ip, ip.dst, 4);
    s.sport = t.sport;
    s.dport = t.dport;
    s.seq = t.seq;
    s.ack = t.ack;
    s.flags = t.flags;
    s.window = t.window;
    s.has_mss = t.has_mss;
    s.mss = t.mss;
    s.has_wscale = t.has_wscale;
    s.wscale = t.wscale;
    s.sack_perm = t.sack_permitted;
    s.has_ts = t.has_ts;
    s.payload = t.payload;
    s.len = t.payload_len;
    return s;
}

size_t fh_pending(struct fh *h)
{
    return h->nframes - h->seen;
}

struct fh_seg fh_next(struct fh *h)
{
    if (h->seen >= h->nframes) {
        struct fh_seg none;
        memset(&none, 0, sizeof none);
        return none;
    }
    struct fh_frame *f = &h->frames[h->seen++];
    return fh_parse(f->data, f->len);
}

void fh_drain(struct fh *h)
{
    h->seen = h->nframes;
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
