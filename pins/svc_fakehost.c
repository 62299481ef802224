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

static struct sfh_sock *lookup(struct sfh *h, vnat_token tok)
{
    for (int i = 0; i < SFH_MAX_SOCKS; i++)
        if (h->socks[i].used && h->socks[i].tok == tok && !h->socks[i].closed)
            return &h->socks[i];
    return NULL;
}

static struct sfh_sock *claim(struct sfh *h, vnat_token tok, enum sfh_kind kind)
{
    assert_null(lookup(h, tok)); /* a live token is never reused */
    for (size_t i = 0; i < h->nclosed; i++)
        if (h->closed_toks[i] == tok)
            fail_msg("fake host: closed token %llx names a new socket", (unsigned long long)tok);
    for (int i = 0; i < SFH_MAX_SOCKS; i++) {
        struct sfh_sock *s = &h->socks[i];
        if (s->used && !s->closed)
            continue;
        free(s->sent);
        free(s->rxq);
        free(s->tx);
        free(s->rx);
        memset(s, 0, sizeof *s);
        s->used = true;
        s->tok = tok;
        s->kind = kind;
        s->space = 1 << 20;
        h->last_tok = tok;
        return s;
    }
    fail_msg("fake host: out of sockets");
    return NULL;
}

static struct sfh_sock *live(struct sfh *h, vnat_token tok)
{
    struct sfh_sock *s = lookup(h, tok);
    if (s == NULL)
        fail_msg("fake host: operation on unknown or closed token %llx", (unsigned long long)tok);
    return s;
}

static int op_guest_send(void *ctx, const uint8_t *frame, size_t len)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_GUEST_SEND]++;
    if (h->refuse)
        return 1;
    assert_true(h->nframes < SFH_MAX_FRAMES);
    h->frames[h->nframes].data = malloc(len);
    memcpy(h->frames[h->nframes].data, frame, len);
    h->frames[h->nframes].len = len;
    h->nframes++;
    return 0;
}

static int op_tcp_connect(void *ctx, vnat_token tok, const struct vnat_sockaddr *dst)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_TCP_CONNECT]++;
    if (h->connect_rc != 0)
        return h->connect_rc;
    struct sfh_sock *s = claim(h, tok, SFH_STREAM);
    s->addr = *dst;
    return 0;
}

static int op_tcp_listen(void *ctx, vnat_token tok, const struct vnat_sockaddr *local)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_TCP_LISTEN]++;
    if (h->listen_rc != 0)
        return h->listen_rc;
    struct sfh_sock *s = claim(h, tok, SFH_LISTENER);
    s->addr = *local;
    return 0;
}

static int op_tcp_accept(void *ctx, vnat_token l, vnat_token tok, struct vnat_sockaddr *peer)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_TCP_ACCEPT]++;
    struct sfh_sock *ls = live(h, l);
    assert_int_equal(ls->kind, SFH_LISTENER);
    if (ls->npending == 0)
        return -E_AGAIN;
    *peer = ls->pending[0];
    memmove(ls->pending, ls->pending + 1, (ls->npending - 1) * sizeof ls->pending[0]);
    ls->npending--;
    struct sfh_sock *s = claim(h, tok, SFH_STREAM);
    s->addr = *peer;
    s->tx = malloc(SFH_STREAM_BUF);
    s->rx = malloc(SFH_STREAM_BUF);
    return 0;
}

static long op_send(void *ctx, vnat_token tok, const uint8_t *buf, size_t len)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_SEND]++;
    struct sfh_sock *s = live(h, tok);
    assert_int_equal(s->kind, SFH_STREAM);
    size_t n = len < (size_t)s->space ? len : (size_t)s->space;
    if (n == 0)
        return -E_AGAIN;
    if (s->tx == NULL)
        s->tx = malloc(SFH_STREAM_BUF);
    assert_true(s->tx_len + n <= SFH_STREAM_BUF);
    memcpy(s->tx + s->tx_len, buf, n);
    s->tx_len += n;
    s->space -= (long)n;
    return (long)n;
}

static long op_send_space(void *ctx, vnat_token tok)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_SEND_SPACE]++;
    return live(h, tok)->space;
}

static long op_peek(void *ctx, vnat_token tok, size_t off, uint8_t *buf, size_t len)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_PEEK]++;
    struct sfh_sock *s = live(h, tok);
    size_t avail = s->rx_len - s->rx_disc;
    if (off < avail) {
        size_t n = avail - off < len ? avail - off : len;
        memcpy(buf, s->rx + s->rx_disc + off, n);
        return (long)n;
    }
    return s->rx_eof ? 0 : -E_AGAIN;
}

static int op_discard(void *ctx, vnat_token tok, size_t len)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_DISCARD]++;
    struct sfh_sock *s = live(h, tok);
    assert_true(s->rx_disc + len <= s->rx_len);
    s->rx_disc += len;
    return 0;
}

static int op_shutdown_write(void *ctx, vnat_token tok)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_SHUTDOWN_WRITE]++;
    live(h, tok)->shut_wr = true;
    return 0;
}

static void op_close(void *ctx, vnat_token tok, int reset)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_CLOSE]++;
    struct sfh_sock *s = lookup(h, tok);
    if (s == NULL) {
        /* A connection refused at once is accepted and closed in one go:
         * accept recorded it; anything else closed twice is a bug. */
        fail_msg("fake host: close of unknown token %llx", (unsigned long long)tok);
        return;
    }
    s->closed = true;
    s->close_reset = reset;
    if (h->nclosed < SFH_MAX_CLOSED)
        h->closed_toks[h->nclosed++] = tok;
}

static void op_set_interest(void *ctx, vnat_token tok, unsigned mask)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_SET_INTEREST]++;
    live(h, tok)->interest = mask;
}

static int op_dgram_open(void *ctx, vnat_token tok, enum vnat_dgram_kind k,
                         const struct vnat_sockaddr *dst)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_DGRAM_OPEN]++;
    if (h->open_rc != 0)
        return h->open_rc;
    struct sfh_sock *s = claim(h, tok, SFH_DGRAM);
    s->dgram_kind = k;
    s->addr = *dst;
    s->sent = calloc(SFH_MAX_DGRAMS, sizeof *s->sent);
    s->rxq = calloc(SFH_MAX_DGRAMS, sizeof *s->rxq);
    return 0;
}

static int op_dgram_bind(void *ctx, vnat_token tok, enum vnat_dgram_kind k,
                         const struct vnat_sockaddr *local)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_DGRAM_BIND]++;
    if (h->listen_rc != 0)
        return h->listen_rc;
    if (h->bind_rc != 0)
        return h->bind_rc;
    struct sfh_sock *s = claim(h, tok, SFH_DGRAM_BOUND);
    s->dgram_kind = k;
    s->addr = *local;
    s->sent = calloc(SFH_MAX_DGRAMS, sizeof *s->sent);
    s->rxq = calloc(SFH_MAX_DGRAMS, sizeof *s->rxq);
    return 0;
}

static long op_dgram_send(void *ctx, vnat_token tok, const uint8_t *b, size_t n,
                          const struct vnat_sockaddr *to)
{
    struct sfh *h = ctx;
    h->ops[VNAT_OP_DGRAM_SEND]++;
    struct sfh_sock *s = live(h, tok);
    assert_true(s->kind == SFH_DGRAM || s->kind == SFH_DGRAM_BOUND);
    if (s->kind == SFH_DGRAM)
        assert_null(to);
    else
        assert_non_null(to);
    if (s->send_rc != 0)
        return s->send_rc;
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
    struct sfh_sock *s = live(h, tok);
    if (s->recv_err != 0) {
        long e = s->recv_err;
        s->recv_err = 0;
        return e;
    }
    if (s->rx_head == s->rx_tail)
        return -E_AGAIN;
    struct sfh_dgram *d = &s->rxq[s->rx_head++ % SFH_MAX_DGRAMS];
    memcpy(b, d->data, d->len < cap ? d->len : cap);
    *from = d->addr;
    return (long)d->len;
}

static void op_log(void *ctx, const struct vnat_log_record *r)
{
    (void)ctx;
    (void)r;
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

int sfh_create_listen_rc, sfh_create_bind_rc;

vnat_err sfh_try_init(struct sfh *h, void (*tweak)(struct vnat_config *cfg))
{
    memset(h, 0, sizeof *h);
    h->listen_rc = sfh_create_listen_rc;
    h->bind_rc = sfh_create_bind_rc;
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
    h->listen_rc = h->bind_rc = 0;
    return e;
}

void sfh_init(struct sfh *h, void (*tweak)(struct vnat_config *cfg))
{
    assert_int_equal(sfh_try_init(h, tweak), VNAT_OK);
    sfh_check(h);
}

void sfh_free(struct sfh *h)
{
    for (size_t i = 0; i < h->nframes; i++)
        free(h->frames[i].data);
    for (int i = 0; i < SFH_MAX_SOCKS; i++) {
        free(h->socks[i].sent);
        free(h->socks[i].rxq);
        free(h->socks[i].tx);
        free(h->socks[i].rx);
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
    for (int i = 0; i < SFH_MAX_SOCKS; i++)
        if (h->socks[i].used && h->socks[i].tok == tok)
            return &h->socks[i];
    return NULL;
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
    if (s->rx == NULL)
        s->rx = malloc(SFH_STREAM_BUF);
    assert_true(s->rx_len + len <= SFH_STREAM_BUF);
    memcpy(s->rx + s->rx_len, data, len);
    s->rx_len += len;
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
    assert_true(VW_UDP4_PAYLOAD_OFF + len <= cap);
    if (len > 0)
        memcpy(out + VW_UDP4_PAYLOAD_OFF, payload, len);
    struct vw_l2l3 a = {
        .eth_dst = h->cfg.gateway_mac,
        .eth_src = h->cfg.guest_mac,
        .ip_src = src ? src : h->cfg.guest_ip.addr,
        .ip_dst = dst,
        .ip_id = 7,
        .ttl = 64,
    };
    size_t n = vw_udp4_frame(out, cap, &a, sport, dport, len);
    assert_true(n > 0);
    return n;
}

vnat_err sfh_send_udp(struct sfh *h, const uint8_t dst[4], uint16_t sport, uint16_t dport,
                      const void *payload, size_t len)
{
    static uint8_t buf[70000];
    size_t n = sfh_udp_frame(h, buf, sizeof buf, NULL, dst, sport, dport, payload, len);
    return sfh_frame(h, buf, n);
}

vnat_err sfh_send_ping(struct sfh *h, const uint8_t dst[4], uint16_t id, uint16_t seq,
                       const void *payload, size_t len)
{
    static uint8_t buf[70000];
    if (len > 0)
        memcpy(buf + VW_ICMP4_PAYLOAD_OFF, payload, len);
    uint8_t rest[4];
    vw_put16(rest, id);
    vw_put16(rest + 2, seq);
    struct vw_l2l3 a = {
        .eth_dst = h->cfg.gateway_mac,
        .eth_src = h->cfg.guest_mac,
        .ip_src = h->cfg.guest_ip.addr,
        .ip_dst = dst,
        .ip_id = 9,
        .ttl = 64,
    };
    size_t n = vw_icmp4_frame(buf, sizeof buf, &a, VW_ICMP_ECHO_REQUEST, 0, rest, len);
    assert_true(n > 0);
    return sfh_frame(h, buf, n);
}

vnat_err sfh_send_tcp(struct sfh *h, const uint8_t dst[4], uint16_t sport, uint16_t dport,
                      uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win, bool opts,
                      const void *payload, size_t len)
{
    static uint8_t buf[70000];
    struct vw_tcp_out t;
    memset(&t, 0, sizeof t);
    t.sport = sport;
    t.dport = dport;
    t.seq = seq;
    t.ack = ack;
    t.flags = flags;
    t.window = win;
    t.opt_mss = opts;
    t.mss = 1460;
    t.opt_wscale = opts;
    t.wscale = 7;
    size_t off = vw_tcp4_payload_off(&t);
    if (len > 0)
        memcpy(buf + off, payload, len);
    struct vw_l2l3 a = {
        .eth_dst = h->cfg.gateway_mac,
        .eth_src = h->cfg.guest_mac,
        .ip_src = h->cfg.guest_ip.addr,
        .ip_dst = dst,
        .ip_id = 3,
        .ttl = 64,
    };
    size_t n = vw_tcp4_frame(buf, sizeof buf, &a, &t, len);
    assert_true(n > 0);
    return sfh_frame(h, buf, n);
}

vnat_err sfh_send_arp(struct sfh *h, uint16_t op, const uint8_t spa[4], const uint8_t tpa[4])
{
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t zero[6] = {0};
    uint8_t buf[64];
    memset(buf, 0, sizeof buf);
    size_t n = vw_arp_frame(buf, sizeof buf, bcast, op, h->cfg.guest_mac, spa, zero, tpa);
    assert_int_equal(n, 42);
    memcpy(buf + 6, h->cfg.guest_mac, 6);
    return sfh_frame(h, buf, 60); /* padded to the Ethernet minimum */
}

size_t sfh_pending(struct sfh *h)
{
    return h->nframes - h->seen;
}

void sfh_drain(struct sfh *h)
{
    h->seen = h->nframes;
}

struct sfh_out sfh_next(struct sfh *h)
{
    struct sfh_out o;
    memset(&o, 0, sizeof o);
    if (h->seen >= h->nframes)
        return o;
    const struct sfh_frame *f = &h->frames[h->seen++];
    struct vw_eth eth;
    if (vw_eth_parse(f->data, f->len, &eth) != VW_OK)
        return o;
    o.ethertype = eth.ethertype;
    memcpy(o.eth_dst, eth.dst, 6);
    memcpy(o.eth_src, eth.src, 6);
    if (eth.ethertype == VW_ETH_P_ARP) {
        o.ok = vw_arp_parse(eth.payload, eth.payload_len, &o.arp) == VW_OK;
        return o;
    }
    struct vw_ipv4 ip;
    if (eth.ethertype != VW_ETH_P_IPV4 || vw_ipv4_parse(eth.payload, eth.payload_len, &ip) != VW_OK)
        return o;
    o.proto = ip.proto;
    memcpy(o.src, ip.src, 4);
    memcpy(o.dst, ip.dst, 4);
    switch (ip.proto) {
    case VW_IPPROTO_UDP:
        if (vw_udp_parse(ip.payload, ip.payload_len, &o.udp) != VW_OK ||
            !vw_l4_csum_ok4(ip.src, ip.dst, VW_IPPROTO_UDP, ip.payload, ip.payload_len))
            return o;
        o.payload = o.udp.payload;
        o.len = o.udp.payload_len;
        break;
    case VW_IPPROTO_ICMP:
        if (vw_icmp4_parse(ip.payload, ip.payload_len, &o.icmp) != VW_OK)
            return o;
        o.payload = o.icmp.payload;
        o.len = o.icmp.payload_len;
        break;
    case VW_IPPROTO_TCP:
        if (vw_tcp_parse(ip.payload, ip.payload_len, &o.tcp) != VW_OK ||
            !vw_l4_csum_ok4(ip.src, ip.dst, VW_IPPROTO_TCP, ip.payload, ip.payload_len))
            return o;
        o.payload = o.tcp.payload;
        o.len = o.tcp.payload_len;
        break;
    default:
        return o;
    }
    o.ok = true;
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
