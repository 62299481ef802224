/*
 * svc_fakehost.c — the scripted fake host of the guest-services pins (see
 * svc_fakehost.h). Strict on purpose: an operation on a socket the core
 * never opened, or already closed, fails the pin, and so does a new socket
 * named by a token that was closed before.
 */
#include "svc_fakehost.h"
#include "pin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define E_AGAIN 11
#define E_OPNOTSUPP 95

static struct tk_table table(struct sfh *h)
{
    return (struct tk_table){TK_TABLE(h->socks), .closed = &h->closed};
}

static void kit_fail(const char *msg)
{
    fail_msg("%s", msg);
}

static struct sfh_sock *claim(struct sfh *h, vnat_token tok, enum sfh_kind kind)
{
    struct tk_table t = table(h);
    long i = tk_claim(&t, tok);
    if (i < 0)
        fail_msg("fake host: out of sockets");
    struct sfh_sock *s = &h->socks[i];
    free(s->sent);
    free(s->rxq);
    tk_stream_free(&s->stream);
    memset(s, 0, sizeof *s);
    tk_sock_set(&s->sock, tok);
    s->kind = kind;
    s->space = 1 << 20;
    h->last_tok = tok;
    return s;
}

static struct sfh_sock *live(struct sfh *h, vnat_token tok, const char *what)
{
    struct tk_table t = table(h);
    return &h->socks[tk_live(&t, tok, what)];
}

/* A scripted result for this call of op, if any. */
static bool scripted(struct sfh *h, enum vnat_op op, vnat_token tok, long *rc)
{
    return tk_script_take(&h->script, op, tok, rc);
}

static int op_guest_send(void *ctx, const uint8_t *frame, size_t len)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_GUEST_SEND]++;
    if (h->refuse)
        return 1;
    assert_non_null(tk_capture_add(&h->out, frame, len));
    return 0;
}

/* Every operation that opens a socket: counted, then a scripted result, or
 * a new socket of this kind at addr (destination, or local address). A
 * datagram socket (dgram_kind >= 0) gets its queues. */
static int open_sock(struct sfh *h, enum vnat_op op, vnat_token tok, enum sfh_kind kind,
                     int dgram_kind, const struct vnat_sockaddr *addr)
{
    h->ops[op]++;
    long rc = 0;
    if (scripted(h, op, tok, &rc) && rc <= 0)
        return (int)rc;
    /* A scripted positive (impossible) result is answered with a socket
     * made under the token all the same: "a socket may exist" is what the
     * core must assume, and it closes it. */
    struct sfh_sock *s = claim(h, tok, kind);
    s->addr = *addr;
    if (dgram_kind >= 0) {
        s->dgram_kind = dgram_kind;
        s->sent = calloc(SFH_MAX_DGRAMS, sizeof *s->sent);
        s->rxq = calloc(SFH_MAX_DGRAMS, sizeof *s->rxq);
    }
    return rc > 0 ? (int)rc : 0;
}

static int op_tcp_connect(void *ctx, vnat_token tok, const struct vnat_sockaddr *dst)
{
    return open_sock(ctx, VNAT_OP_TCP_CONNECT, tok, SFH_STREAM, -1, dst);
}

static int op_tcp_listen(void *ctx, vnat_token tok, const struct vnat_sockaddr *local)
{
    return open_sock(ctx, VNAT_OP_TCP_LISTEN, tok, SFH_LISTENER, -1, local);
}

static int op_tcp_accept(void *ctx, vnat_token l, vnat_token tok, struct vnat_sockaddr *peer)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_TCP_ACCEPT]++;
    struct sfh_sock *ls = live(h, l, "accept");
    assert_int_equal(ls->kind, SFH_LISTENER);
    if (ls->npending == 0)
        return -E_AGAIN;
    *peer = ls->pending[0];
    memmove(ls->pending, ls->pending + 1, (ls->npending - 1) * sizeof ls->pending[0]);
    ls->npending--;
    claim(h, tok, SFH_STREAM)->addr = *peer;
    return 0;
}

static long op_send(void *ctx, vnat_token tok, const uint8_t *buf, size_t len)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_SEND]++;
    struct sfh_sock *s = live(h, tok, "send");
    assert_int_equal(s->kind, SFH_STREAM);
    return tk_stream_send(&s->stream, buf, len);
}

static long op_send_space(void *ctx, vnat_token tok)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_SEND_SPACE]++;
    return live(h, tok, "send_space")->space;
}

static long op_peek(void *ctx, vnat_token tok, size_t off, uint8_t *buf, size_t len)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_PEEK]++;
    h->peek_asked = len;
    struct sfh_sock *s = live(h, tok, "peek");
    bool none;
    size_t n = tk_stream_peek(&s->stream, off, buf, len, &none);
    if (!none)
        return (long)n;
    return s->rx_eof ? 0 : -E_AGAIN;
}

static int op_discard(void *ctx, vnat_token tok, size_t len)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_DISCARD]++;
    tk_stream_discard(&live(h, tok, "discard")->stream, len);
    return 0;
}

static int op_shutdown_write(void *ctx, vnat_token tok)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_SHUTDOWN_WRITE]++;
    live(h, tok, "shutdown_write")->shut_wr = true;
    return 0;
}

static void op_close(void *ctx, vnat_token tok, int reset)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_CLOSE]++;
    /* A connection refused at once is accepted and closed in one go:
     * accept recorded it; anything else closed twice is a bug. */
    struct tk_table t = table(h);
    tk_close(&t, &live(h, tok, "close")->sock, reset);
}

static void op_set_interest(void *ctx, vnat_token tok, unsigned mask)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_SET_INTEREST]++;
    live(h, tok, "set_interest")->interest = mask;
}

static int op_dgram_open(void *ctx, vnat_token tok, enum vnat_dgram_kind k,
                         const struct vnat_sockaddr *dst)
{
    return open_sock(ctx, VNAT_OP_DGRAM_OPEN, tok, SFH_DGRAM, (int)k, dst);
}

static int op_dgram_bind(void *ctx, vnat_token tok, enum vnat_dgram_kind k,
                         const struct vnat_sockaddr *local)
{
    return open_sock(ctx, VNAT_OP_DGRAM_BIND, tok, SFH_DGRAM_BOUND, (int)k, local);
}

static long op_dgram_send(void *ctx, vnat_token tok, const uint8_t *b, size_t n,
                          const struct vnat_sockaddr *to)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_DGRAM_SEND]++;
    struct sfh_sock *s = live(h, tok, "dgram_send");
    assert_true(s->kind == SFH_DGRAM || s->kind == SFH_DGRAM_BOUND);
    if (s->kind == SFH_DGRAM)
        assert_null(to);
    else
        assert_non_null(to);
    long rc;
    if (scripted(h, VNAT_OP_DGRAM_SEND, tok, &rc))
        return rc;
    assert_true(n <= SFH_DGRAM_MAX);
    struct sfh_dgram *d = &s->sent[s->nsent % SFH_MAX_DGRAMS];
    memcpy(d->data, b, n);
    d->len = n;
    memset(&d->addr, 0, sizeof d->addr);
    if (to)
        d->addr = *to;
    s->nsent++;
    return (long)n;
}

static long op_dgram_recv(void *ctx, vnat_token tok, uint8_t *b, size_t cap,
                          struct vnat_sockaddr *from)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_DGRAM_RECV]++;
    h->recv_cap = cap;
    struct sfh_sock *s = live(h, tok, "dgram_recv");
    long rc;
    if (scripted(h, VNAT_OP_DGRAM_RECV, tok, &rc))
        return rc;
    if (s->rx_head == s->rx_tail)
        return -E_AGAIN;
    struct sfh_dgram *d = &s->rxq[s->rx_head++ % SFH_MAX_DGRAMS];
    memcpy(b, d->data, d->len < cap ? d->len : cap);
    *from = d->addr;
    return (long)d->len;
}

/* The log's contract (log.c), checked on every record of every pin: a
 * peek's or a datagram receive's record carries every byte a real result
 * returned, up to all that was asked for (a replay feeds them back). */
static void op_log(void *ctx, const struct vnat_log_record *r)
{
    struct sfh *h = ctx;
    if (r->kind != VNAT_LOG_OP || r->b <= 0)
        return;
    size_t asked = r->op == VNAT_OP_PEEK         ? h->peek_asked
                   : r->op == VNAT_OP_DGRAM_RECV ? h->recv_cap
                                                 : 0;
    if (asked != 0 && (size_t)r->b <= asked && r->len != (size_t)r->b)
        fail_msg("the log record of %s that returned %lld of %zu bytes carries %zu",
                 r->op == VNAT_OP_PEEK ? "a peek" : "a datagram receive", (long long)r->b, asked,
                 r->len);
}

static void op_panic(void *ctx, const char *msg)
{
    (void)ctx;
    fail_msg("vnat panic: %s", msg);
}

static const struct vnat_host_ops sfh_ops = {
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

const struct vnat_host_ops *sfh_ops_table(void)
{
    return &sfh_ops;
}

int sfh_create_listen_rc, sfh_create_bind_rc;

vnat_err sfh_try_init(struct sfh *h, void (*tweak)(struct vnat_config *cfg))
{
    memset(h, 0, sizeof *h);
    tk_fail_hook = kit_fail;
    assert_int_equal(tk_capture_init(&h->out, SFH_MAX_FRAMES, false, 0), 0);
    if (sfh_create_listen_rc != 0) {
        tk_script_always(&h->script, VNAT_OP_TCP_LISTEN, VNAT_TOKEN_NONE, sfh_create_listen_rc);
        tk_script_always(&h->script, VNAT_OP_DGRAM_BIND, VNAT_TOKEN_NONE, sfh_create_listen_rc);
    }
    if (sfh_create_bind_rc != 0)
        tk_script_always(&h->script, VNAT_OP_DGRAM_BIND, VNAT_TOKEN_NONE, sfh_create_bind_rc);
    vnat_config_init(&h->cfg);
    h->cfg.max_flows = 64;
    h->cfg.seed = 1;
    h->cfg.n_dns_servers = 1;
    h->cfg.dns_servers[0] = sfh_addr4(127, 0, 0, 53, 53);
    if (tweak)
        tweak(&h->cfg);
    h->mem_size = vnat_memory_size(&h->cfg);
    if (h->mem_size == 0)
        return VNAT_E_CONFIG;
    h->mem = aligned_alloc(16, (h->mem_size + 15) & ~(size_t)15);
    assert_non_null(h->mem);
    h->now = 1000 * 1000000000ull;
    vnat_err e = vnat_create(&h->cfg, &sfh_ops, h, h->mem, h->mem_size, &h->nat);
    tk_script_clear(&h->script, VNAT_OP_TCP_LISTEN, VNAT_TOKEN_NONE);
    tk_script_clear(&h->script, VNAT_OP_DGRAM_BIND, VNAT_TOKEN_NONE);
    return e;
}

void sfh_init(struct sfh *h, void (*tweak)(struct vnat_config *cfg))
{
    assert_int_equal(sfh_try_init(h, tweak), VNAT_OK);
    sfh_check(h);
}

void sfh_free(struct sfh *h)
{
    tk_capture_free(&h->out);
    for (int i = 0; i < SFH_MAX_SOCKS; i++) {
        free(h->socks[i].sent);
        free(h->socks[i].rxq);
        tk_stream_free(&h->socks[i].stream);
    }
    free(h->mem);
    memset(h, 0, sizeof *h);
}

void sfh_check(struct sfh *h)
{
    char why[256];
    if (vnat_check_invariants(h->nat, why, sizeof why) != 0)
        fail_msg("invariant broken: %s", why);
}

struct sfh_sock *sfh_sock(struct sfh *h, vnat_token tok)
{
    struct tk_table t = table(h);
    long i = tk_find(&t, tok, false);
    return i < 0 ? NULL : &h->socks[i];
}

struct sfh_sock *sfh_last(struct sfh *h)
{
    return sfh_sock(h, h->last_tok);
}

struct sfh_sock *sfh_find(struct sfh *h, enum sfh_kind kind, int nth)
{
    for (int i = 0; i < SFH_MAX_SOCKS; i++)
        if (h->socks[i].used && h->socks[i].kind == kind && nth-- == 0)
            return &h->socks[i];
    return NULL;
}

int sfh_count(struct sfh *h, enum sfh_kind kind, bool open_only)
{
    int n = 0;
    for (int i = 0; i < SFH_MAX_SOCKS; i++)
        if (h->socks[i].used && h->socks[i].kind == kind && (!open_only || !h->socks[i].closed))
            n++;
    return n;
}

void sfh_incoming(struct sfh_sock *s, const struct vnat_sockaddr *from, const void *data,
                  size_t len)
{
    assert_true(s->rx_tail - s->rx_head < SFH_MAX_DGRAMS && len <= SFH_DGRAM_MAX);
    struct sfh_dgram *d = &s->rxq[s->rx_tail++ % SFH_MAX_DGRAMS];
    d->addr = *from;
    memcpy(d->data, data, len);
    d->len = len;
}

void sfh_pending_conn(struct sfh_sock *l, const struct vnat_sockaddr *peer)
{
    assert_true(l->npending < 16);
    l->pending[l->npending++] = *peer;
}

void sfh_stream_data(struct sfh_sock *s, const void *data, size_t len)
{
    tk_stream_feed(&s->stream, data, len);
}

vnat_err sfh_frame(struct sfh *h, const uint8_t *frame, size_t len)
{
    vnat_err e = vnat_on_guest_frame(h->nat, h->now, frame, len);
    sfh_check(h);
    return e;
}

vnat_err sfh_readable(struct sfh *h, vnat_token tok)
{
    vnat_err e = vnat_on_readable(h->nat, h->now, tok);
    sfh_check(h);
    return e;
}

vnat_err sfh_listener(struct sfh *h, vnat_token tok)
{
    vnat_err e = vnat_on_listener_ready(h->nat, h->now, tok);
    sfh_check(h);
    return e;
}

vnat_err sfh_link(struct sfh *h)
{
    vnat_err e = vnat_on_link_writable(h->nat, h->now);
    sfh_check(h);
    return e;
}

void sfh_advance(struct sfh *h, uint64_t ns)
{
    h->now += ns;
    assert_int_equal(vnat_on_tick(h->nat, h->now), VNAT_OK);
    sfh_check(h);
}

size_t sfh_udp_frame(struct sfh *h, uint8_t *out, size_t cap, const uint8_t *src,
                     const uint8_t dst[4], uint16_t sport, uint16_t dport, const void *payload,
                     size_t len)
{
    size_t n = tk_udp(&(struct tk_udp_spec){.guest = &h->cfg,
                                            .src = src,
                                            .dst = dst,
                                            .ip_id = 7,
                                            .sport = sport,
                                            .dport = dport,
                                            .payload = payload,
                                            .len = len},
                      out, cap);
    assert_true(n > 0);
    return n;
}

static uint8_t frame_buf[70000];

vnat_err sfh_send_udp(struct sfh *h, const uint8_t dst[4], uint16_t sport, uint16_t dport,
                      const void *payload, size_t len)
{
    size_t n = sfh_udp_frame(h, frame_buf, sizeof frame_buf, NULL, dst, sport, dport, payload, len);
    return sfh_frame(h, frame_buf, n);
}

vnat_err sfh_send_ping(struct sfh *h, const uint8_t dst[4], uint16_t id, uint16_t seq,
                       const void *payload, size_t len)
{
    size_t n = tk_icmp(&(struct tk_icmp_spec){.guest = &h->cfg,
                                              .dst = dst,
                                              .ip_id = 9,
                                              .type = VW_ICMP_ECHO_REQUEST,
                                              .id = id,
                                              .seq = seq,
                                              .payload = payload,
                                              .len = len},
                       frame_buf, sizeof frame_buf);
    assert_true(n > 0);
    return sfh_frame(h, frame_buf, n);
}

vnat_err sfh_send_tcp(struct sfh *h, const uint8_t dst[4], uint16_t sport, uint16_t dport,
                      uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win, bool opts,
                      const void *payload, size_t len)
{
    size_t n = tk_tcp(&(struct tk_tcp_spec){.guest = &h->cfg,
                                            .dst = dst,
                                            .ip_id = 3,
                                            .sport = sport,
                                            .dport = dport,
                                            .seq = seq,
                                            .ack = ack,
                                            .flags = flags,
                                            .window = win,
                                            .opt_mss = opts,
                                            .mss = 1460,
                                            .opt_wscale = opts,
                                            .wscale = 7,
                                            .payload = payload,
                                            .len = len},
                      frame_buf, sizeof frame_buf);
    assert_true(n > 0);
    return sfh_frame(h, frame_buf, n);
}

vnat_err sfh_send_arp(struct sfh *h, uint16_t op, const uint8_t spa[4], const uint8_t tpa[4])
{
    uint8_t buf[64];
    size_t n = tk_arp(
        &(struct tk_arp_spec){.guest = &h->cfg, .op = op, .spa = spa, .tpa = tpa, .pad = true}, buf,
        sizeof buf);
    assert_int_equal(n, 60); /* padded to the Ethernet minimum */
    return sfh_frame(h, buf, n);
}

size_t sfh_pending(struct sfh *h)
{
    return tk_capture_pending(&h->out);
}

void sfh_drain(struct sfh *h)
{
    tk_capture_drain(&h->out);
}

struct tk_pkt sfh_next(struct sfh *h)
{
    const struct tk_frame *f = tk_capture_next(&h->out);
    struct tk_pkt o;
    if (f == NULL) {
        memset(&o, 0, sizeof o);
        return o;
    }
    o = f->pkt;
    o.ok = o.ok && (o.ethertype == VW_ETH_P_ARP || o.l4);
    return o;
}

uint64_t sfh_stat(struct sfh *h, size_t offset)
{
    struct vnat_stats st;
    vnat_get_stats(h->nat, &st, sizeof st);
    uint64_t v;
    memcpy(&v, (const uint8_t *)&st + offset, sizeof v);
    return v;
}

/* Take the frames pending at h as the fragments of one IPv4 datagram, in
 * order, checking each: within the guest MTU, a valid header (checksum),
 * one ID for all, DF clear, offsets contiguous and 8-aligned, MF on every
 * one but the last, the same addresses and protocol. The reassembled IP
 * payload goes to out and its length to *len; returns the fragment count. */
size_t sfh_reassemble(struct sfh *h, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = 0, at = 0;
    uint16_t id = 0;
    bool more = true;
    while (more) {
        const struct tk_frame *f = tk_capture_next(&h->out);
        assert_non_null(f);
        assert_true(f->len <= h->cfg.mtu + VW_ETH_HLEN);
        struct vw_eth eth;
        struct vw_ipv4 ip;
        assert_int_equal(vw_eth_parse(f->data, f->len, &eth), VW_OK);
        assert_int_equal(eth.ethertype, VW_ETH_P_IPV4);
        assert_int_equal(vw_ipv4_parse(eth.payload, eth.payload_len, &ip), VW_OK);
        assert_int_equal(ip.proto, VW_IPPROTO_UDP);
        assert_memory_equal(ip.dst, h->cfg.guest_ip.addr, 4);
        assert_false(ip.df);
        if (n == 0)
            id = ip.id;
        assert_int_equal(ip.id, id);
        assert_int_equal(ip.frag_offset, at);
        more = ip.mf;
        if (more)
            assert_int_equal(ip.payload_len % 8, 0);
        assert_true(at + ip.payload_len <= cap);
        memcpy(out + at, ip.payload, ip.payload_len);
        at += ip.payload_len;
        n++;
    }
    *len = at;
    return n;
}
