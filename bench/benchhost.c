/*
 * benchhost.c — the bench host (see benchhost.h): minimal host operations
 * (memcpy for send and peek, counters for everything else) and guest-frame
 * helpers built with the test kit (testkit/).
 */
#include "benchhost.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define BH_EAGAIN 11
#define BH_EOPNOTSUPP 95
#define BH_PATTERN 65536u  /* period of the host -> guest byte pattern */
#define BH_SINK (1u << 20) /* guest -> host sink ring */
#define BH_GUEST_ISN 1000u

static int op_guest_send(void *ctx, const uint8_t *frame, size_t len)
{
    struct bh *h = ctx;
    h->frames++;
    h->frame_bytes += len;
    if (h->capture)
        tk_capture_add(&h->out, frame, len);
    return 0;
}

static int op_tcp_connect(void *ctx, vnat_token tok, const struct vnat_sockaddr *dst)
{
    struct bh *h = ctx;
    (void)dst;
    h->connects++;
    h->last_token = tok;
    return 0; /* under way: completion comes (if ever) from the bench */
}

static int op_tcp_listen(void *ctx, vnat_token tok, const struct vnat_sockaddr *local)
{
    struct bh *h = ctx;
    (void)tok, (void)local;
    h->other_ops++;
    return -BH_EOPNOTSUPP;
}

static int op_tcp_accept(void *ctx, vnat_token l, vnat_token tok, struct vnat_sockaddr *peer)
{
    struct bh *h = ctx;
    (void)l, (void)tok, (void)peer;
    h->other_ops++;
    return -BH_EAGAIN;
}

static long op_send(void *ctx, vnat_token tok, const uint8_t *buf, size_t len)
{
    struct bh *h = ctx;
    (void)tok;
    if (len > h->sink_cap)
        len = h->sink_cap;
    if (h->sink_off + len > h->sink_cap)
        h->sink_off = 0;
    memcpy(h->sink + h->sink_off, buf, len);
    h->sink_off += len;
    h->sends++;
    h->send_bytes += len;
    return (long)len;
}

static long op_send_space(void *ctx, vnat_token tok)
{
    struct bh *h = ctx;
    (void)tok;
    h->send_space_calls++;
    return h->send_space;
}

static long op_peek(void *ctx, vnat_token tok, size_t offset, uint8_t *buf, size_t len)
{
    struct bh *h = ctx;
    (void)tok;
    h->peeks++;
    if (offset >= h->rx_avail) {
        h->peek_again++;
        return -BH_EAGAIN;
    }
    uint64_t there = h->rx_avail - offset;
    if (len > there)
        len = (size_t)there;
    if (len > BH_PATTERN)
        len = BH_PATTERN;
    memcpy(buf, h->pattern + (h->rx_consumed + offset) % BH_PATTERN, len);
    h->peek_bytes += len;
    return (long)len;
}

static int op_discard(void *ctx, vnat_token tok, size_t len)
{
    struct bh *h = ctx;
    (void)tok;
    if (len > h->rx_avail)
        return -22; /* EINVAL: the core asked to drop bytes it never saw */
    h->rx_avail -= len;
    h->rx_consumed += len;
    h->discards++;
    h->discard_bytes += len;
    return 0;
}

static int op_shutdown_write(void *ctx, vnat_token tok)
{
    struct bh *h = ctx;
    (void)tok;
    h->other_ops++;
    return 0;
}

static void op_close(void *ctx, vnat_token tok, int reset)
{
    struct bh *h = ctx;
    (void)tok, (void)reset;
    h->closes++;
}

static void op_set_interest(void *ctx, vnat_token tok, unsigned mask)
{
    struct bh *h = ctx;
    (void)tok, (void)mask;
    h->interest_changes++;
}

static int op_dgram_open(void *ctx, vnat_token tok, enum vnat_dgram_kind kind,
                         const struct vnat_sockaddr *dst)
{
    struct bh *h = ctx;
    (void)tok, (void)kind, (void)dst;
    h->other_ops++;
    return -BH_EOPNOTSUPP;
}

static int op_dgram_bind(void *ctx, vnat_token tok, enum vnat_dgram_kind kind,
                         const struct vnat_sockaddr *local)
{
    struct bh *h = ctx;
    (void)tok, (void)kind, (void)local;
    h->other_ops++;
    return -BH_EOPNOTSUPP;
}

static long op_dgram_send(void *ctx, vnat_token tok, const uint8_t *buf, size_t len,
                          const struct vnat_sockaddr *to)
{
    struct bh *h = ctx;
    (void)tok, (void)buf, (void)to;
    h->other_ops++;
    return (long)len;
}

static long op_dgram_recv(void *ctx, vnat_token tok, uint8_t *buf, size_t cap,
                          struct vnat_sockaddr *from)
{
    struct bh *h = ctx;
    (void)tok, (void)buf, (void)cap, (void)from;
    h->other_ops++;
    return -BH_EAGAIN;
}

static void op_panic(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "bench: core panic: %s\n", msg);
    abort();
}

static const struct vnat_host_ops bh_ops = {
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
    .log = NULL,
    .panic = op_panic,
};

const struct vnat_host_ops *bh_ops_table(void)
{
    return &bh_ops;
}

int bh_init(struct bh *h, const struct vnat_config *cfg)
{
    memset(h, 0, sizeof *h);
    h->cfg = *cfg;
    h->mem_size = vnat_memory_size(cfg);
    if (h->mem_size == 0) {
        fprintf(stderr, "bench: invalid configuration\n");
        return -1;
    }
    h->mem = aligned_alloc(64, (h->mem_size + 63) & ~(size_t)63);
    h->sink = malloc(BH_SINK);
    h->pattern = malloc(2 * BH_PATTERN);
    if (h->mem == NULL || h->sink == NULL || h->pattern == NULL ||
        tk_capture_init(&h->out, 1, true, BH_CAPTURE_MAX) != 0) {
        fprintf(stderr, "bench: out of memory\n");
        bh_free(h);
        return -1;
    }
    h->sink_cap = BH_SINK;
    h->send_space = 4l << 20;
    for (size_t i = 0; i < 2 * BH_PATTERN; i++)
        h->pattern[i] = (uint8_t)(i * 7u + (i >> 8));
    memset(h->sink, 0, BH_SINK); /* fault the pages in before any timing */
    vnat_err e = vnat_create(cfg, &bh_ops, h, h->mem, h->mem_size, &h->nat);
    if (e != VNAT_OK) {
        fprintf(stderr, "bench: vnat_create: %s\n", vnat_strerror(e));
        bh_free(h);
        return -1;
    }
    return 0;
}

void bh_free(struct bh *h)
{
    free(h->mem);
    free(h->sink);
    free(h->pattern);
    tk_capture_free(&h->out);
    h->mem = NULL;
    h->sink = NULL;
    h->pattern = NULL;
    h->nat = NULL;
}

size_t bh_tcp(const struct bh *h, const struct tk_tcp_spec *spec, uint8_t *buf, size_t cap)
{
    struct tk_tcp_spec s = *spec;
    if (s.guest == NULL)
        s.guest = &h->cfg;
    /* The start of the pattern: a datagram is shorter than its period. */
    if (s.payload == NULL)
        s.payload = h->pattern;
    return tk_tcp(&s, buf, cap);
}

#define BH_TCP_OFF (VW_ETH_HLEN + VW_IPV4_HLEN)

void bh_set_seq(uint8_t *frame, uint32_t seq)
{
    uint8_t *tcp = frame + BH_TCP_OFF;
    uint32_t old = vw_get32(tcp + 4);
    vw_put32(tcp + 4, seq);
    vw_put16(tcp + 16, vw_csum_update32(vw_get16(tcp + 16), old, seq));
}

void bh_set_ack(uint8_t *frame, uint32_t ack)
{
    uint8_t *tcp = frame + BH_TCP_OFF;
    uint32_t old = vw_get32(tcp + 8);
    vw_put32(tcp + 8, ack);
    vw_put16(tcp + 16, vw_csum_update32(vw_get16(tcp + 16), old, ack));
}

int bh_last_tcp(const struct bh *h, uint32_t *seq, uint32_t *ack, uint8_t *flags)
{
    const struct tk_pkt *p = tk_capture_last_tcp(&h->out);
    if (p == NULL)
        return -1;
    *seq = p->tcp.seq;
    *ack = p->tcp.ack;
    *flags = p->tcp.flags;
    return 0;
}

int bh_handshake(struct bh *h, uint64_t *now, const uint8_t dst[4], uint16_t sport, uint16_t dport,
                 uint16_t mss, uint16_t win, vnat_token *tok, uint32_t *core_nxt,
                 uint32_t *guest_nxt)
{
    uint8_t f[128];
    uint64_t connects = h->connects;
    size_t n = bh_tcp(h,
                      &(struct tk_tcp_spec){.dst = dst,
                                            .sport = sport,
                                            .dport = dport,
                                            .seq = BH_GUEST_ISN,
                                            .flags = VW_TCP_SYN,
                                            .window = win,
                                            .opt_mss = mss != 0,
                                            .mss = mss,
                                            .opt_wscale = true,
                                            .wscale = 7},
                      f, sizeof f);
    if (n == 0 || vnat_on_guest_frame(h->nat, ++*now, f, n) != VNAT_OK ||
        h->connects != connects + 1) {
        fprintf(stderr, "bench: the guest SYN did not start a connect\n");
        return -1;
    }
    *tok = h->last_token;
    h->capture = 1;
    tk_capture_reset(&h->out);
    vnat_err e = vnat_on_writable(h->nat, ++*now, *tok, 0);
    h->capture = 0;
    uint32_t iss, ack;
    uint8_t flags;
    if (e != VNAT_OK || bh_last_tcp(h, &iss, &ack, &flags) != 0 ||
        flags != (VW_TCP_SYN | VW_TCP_ACK) || ack != BH_GUEST_ISN + 1) {
        fprintf(stderr, "bench: no SYN-ACK after the connect completed\n");
        return -1;
    }
    n = bh_tcp(h,
               &(struct tk_tcp_spec){.dst = dst,
                                     .sport = sport,
                                     .dport = dport,
                                     .seq = BH_GUEST_ISN + 1,
                                     .ack = iss + 1,
                                     .flags = VW_TCP_ACK,
                                     .window = win},
               f, sizeof f);
    struct vnat_stats st;
    vnat_get_stats(h->nat, &st, sizeof st);
    uint64_t est = st.tcp_flows_by_state[VNAT_TCP_ESTABLISHED];
    if (n == 0 || vnat_on_guest_frame(h->nat, ++*now, f, n) != VNAT_OK) {
        fprintf(stderr, "bench: the handshake's ACK was refused\n");
        return -1;
    }
    vnat_get_stats(h->nat, &st, sizeof st);
    if (st.tcp_flows_by_state[VNAT_TCP_ESTABLISHED] != est + 1) {
        fprintf(stderr, "bench: the flow did not reach ESTABLISHED\n");
        return -1;
    }
    *core_nxt = iss + 1;
    *guest_nxt = BH_GUEST_ISN + 1;
    return 0;
}
