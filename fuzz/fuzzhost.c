/*
 * fuzzhost.c — the fuzz targets' host model with fault injection, the
 * contract oracles on the core's host requests and guest frames, and the
 * guest-frame builders (see fuzzhost.h for the design).
 */
#include "fuzzhost.h"

#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "testkit.h"
#include "wire.h"

/* ---- input cursors ------------------------------------------------------ */

void fz_src_init(struct fz_src *s, const uint8_t *p, size_t n)
{
    s->p = p;
    s->front = 0;
    s->back = p != NULL ? n : 0;
}

uint8_t fz_u8(struct fz_src *s)
{
    if (fz_empty(s))
        return 0;
    return s->p[s->front++];
}

uint16_t fz_u16(struct fz_src *s)
{
    uint16_t v = fz_u8(s);
    return (uint16_t)(v | (uint16_t)fz_u8(s) << 8);
}

uint32_t fz_u32(struct fz_src *s)
{
    uint32_t v = fz_u16(s);
    return v | (uint32_t)fz_u16(s) << 16;
}

uint64_t fz_u64(struct fz_src *s)
{
    uint64_t v = fz_u32(s);
    return v | (uint64_t)fz_u32(s) << 32;
}

size_t fz_bytes(struct fz_src *s, uint8_t *out, size_t n)
{
    size_t have = fz_empty(s) ? 0 : s->back - s->front;
    size_t take = have < n ? have : n;
    if (take > 0)
        memcpy(out, s->p + s->front, take);
    s->front += take;
    /* Deterministic filler, not zeros: a zero payload hides offset bugs. */
    for (size_t i = take; i < n; i++)
        out[i] = (uint8_t)(i * 7 + 1);
    return n;
}

uint8_t fz_back_u8(struct fz_src *s)
{
    if (fz_empty(s))
        return 0;
    return s->p[--s->back];
}

uint32_t fz_back_u32(struct fz_src *s)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | fz_back_u8(s);
    return v;
}

/* ---- faults -------------------------------------------------------------- */

/* Errnos a real host can give, the ones the core expects and some it must
 * treat as impossible. */
static const int errnos[] = {11,  104, 32, 110, 113, 101, 103, 107, 111, 100, 112,
                             105, 12,  4,  9,   22,  24,  13,  98,  115, 90};

static long some_errno(struct fz_src *r)
{
    uint8_t b = fz_back_u8(r);
    if (b == 255)
        return -1 - (long)(fz_back_u32(r) & 0x7ffffffe); /* any negative value, never 0 */
    return -errnos[b % (sizeof errnos / sizeof errnos[0])];
}

/* Draw whether this operation fails and, if so, a selector for how. */
static bool fault(struct fz_host *h, struct fz_sock *s, uint8_t *sel)
{
    if (h->res == NULL || fz_empty(h->res))
        return false;
    if (fz_back_u8(h->res) < h->fault_below)
        return false;
    *sel = fz_back_u8(h->res);
    h->faults++;
    if (s != NULL)
        s->faults++;
    return true;
}

/* ---- sockets ------------------------------------------------------------- */

static struct tk_table table(struct fz_host *h)
{
    return (struct tk_table){TK_TABLE(h->socks)};
}

struct fz_sock *fz_sock_by_tok(struct fz_host *h, vnat_token tok)
{
    struct tk_table t = table(h);
    long i = tk_find(&t, tok, true);
    return i < 0 ? NULL : &h->socks[i];
}

struct fz_sock *fz_sock_pick(struct fz_host *h, uint8_t kind, unsigned n)
{
    unsigned count = 0;
    for (unsigned i = 0; i < FZ_MAX_SOCKS; i++)
        if (fz_open(&h->socks[i]) && (kind == FZK_FREE || h->socks[i].kind == kind))
            count++;
    if (count == 0)
        return NULL;
    n %= count;
    for (unsigned i = 0; i < FZ_MAX_SOCKS; i++)
        if (fz_open(&h->socks[i]) && (kind == FZK_FREE || h->socks[i].kind == kind) && n-- == 0)
            return &h->socks[i];
    return NULL;
}

static struct fz_sock *sock_new(struct fz_host *h, vnat_token tok, uint8_t kind)
{
    /* The core never names a socket it already owns (the kit traps). */
    struct tk_table t = table(h);
    long i = tk_claim(&t, tok);
    /* The targets size max_flows + max_forwards below FZ_MAX_SOCKS. */
    FZ_TRAP(i >= 0);
    struct fz_sock *s = &h->socks[i];
    memset(s, 0, sizeof *s);
    tk_sock_set(&s->sock, tok);
    s->kind = kind;
    s->space = 65536;
    s->gp = s->gd = -1;
    return s;
}

static struct fz_sock *sock_use(struct fz_host *h, vnat_token tok, uint8_t kind)
{
    struct fz_sock *s = fz_sock_by_tok(h, tok);
    FZ_TRAP(s != NULL); /* an op on a token never opened or already closed */
    FZ_TRAP(kind == FZK_FREE || s->kind == kind);
    return s;
}

/* ---- the frame oracle and the guest's view -------------------------------- */

struct fz_peer *fz_peer_of(struct fz_host *h, uint16_t guest_port, const uint8_t remote_ip[4],
                           uint16_t remote_port)
{
    if (guest_port < FZ_GUEST_PORT(0) || guest_port >= FZ_GUEST_PORT(FZ_PORTS))
        return NULL;
    for (unsigned d = 0; d < FZ_DSTS; d++) {
        struct vnat_sockaddr a = fz_dst(d);
        if (a.port == remote_port && memcmp(a.ip.addr, remote_ip, 4) == 0)
            return &h->peers[guest_port - FZ_GUEST_PORT(0)][d];
    }
    return NULL;
}

static void learn_tcp(struct fz_host *h, const struct vw_ipv4 *ip, const struct vw_tcp *t)
{
    struct fz_peer *p = fz_peer_of(h, t->dport, ip->src, t->sport);
    if (p == NULL)
        return;
    if (t->flags & VW_TCP_RST) {
        memset(p, 0, sizeof *p);
        return;
    }
    uint32_t end = t->seq + (uint32_t)t->payload_len + ((t->flags & VW_TCP_SYN) ? 1u : 0u) +
                   ((t->flags & VW_TCP_FIN) ? 1u : 0u);
    if (t->flags & VW_TCP_SYN) {
        p->syn_from_core = true;
        p->core_isn = t->seq;
        p->core_nxt = end;
    } else if (!p->seen || seq_gt(end, p->core_nxt)) {
        p->core_nxt = end;
    }
    if (t->flags & VW_TCP_ACK)
        p->core_ack = t->ack;
    p->core_wnd = t->window;
    p->last_flags = t->flags;
    p->seen = true;
}

/* Every frame the core gives the guest must parse, with valid checksums,
 * within the MTU. */
static void check_out_frame(struct fz_host *h, const uint8_t *frame, size_t len)
{
    FZ_TRAP(frame != NULL);
    FZ_TRAP(len >= VW_ETH_HLEN && len <= h->cfg.mtu + VW_ETH_HLEN);
    struct vw_eth e;
    FZ_TRAP(vw_eth_parse(frame, len, &e) == VW_OK && !e.vlan);
    if (e.ethertype == VW_ETH_P_ARP) {
        struct vw_arp a;
        FZ_TRAP(vw_arp_parse(e.payload, e.payload_len, &a) == VW_OK);
        return;
    }
    if (e.ethertype == VW_ETH_P_IPV6) {
        struct vw_ipv6 ip;
        FZ_TRAP(vw_ipv6_parse(e.payload, e.payload_len, &ip) == VW_OK);
        if (ip.upper_proto == VW_IPPROTO_TCP || ip.upper_proto == VW_IPPROTO_UDP ||
            ip.upper_proto == VW_IPPROTO_ICMPV6)
            FZ_TRAP(vw_l4_csum_ok6(ip.src, ip.dst, ip.upper_proto, ip.payload, ip.payload_len));
        return;
    }
    FZ_TRAP(e.ethertype == VW_ETH_P_IPV4);
    struct vw_ipv4 ip;
    FZ_TRAP(vw_ipv4_parse(e.payload, e.payload_len, &ip) == VW_OK);
    FZ_TRAP(ip.total_len == e.payload_len || len == 60); /* only minimum-size padding */
    if (ip.is_fragment)
        return;
    switch (ip.proto) {
    case VW_IPPROTO_TCP: {
        FZ_TRAP(vw_l4_csum_ok4(ip.src, ip.dst, ip.proto, ip.payload, ip.payload_len));
        struct vw_tcp t;
        FZ_TRAP(vw_tcp_parse(ip.payload, ip.payload_len, &t) == VW_OK);
        FZ_TRAP(t.sport != 0 && t.dport != 0);
        learn_tcp(h, &ip, &t);
        break;
    }
    case VW_IPPROTO_UDP: {
        FZ_TRAP(vw_l4_csum_ok4(ip.src, ip.dst, ip.proto, ip.payload, ip.payload_len));
        struct vw_udp u;
        FZ_TRAP(vw_udp_parse(ip.payload, ip.payload_len, &u) == VW_OK);
        break;
    }
    case VW_IPPROTO_ICMP: {
        struct vw_icmp m;
        FZ_TRAP(vw_icmp4_parse(ip.payload, ip.payload_len, &m) == VW_OK);
        break;
    }
    default:
        break;
    }
}

/* ---- host operations ------------------------------------------------------ */

static int op_guest_send(void *ctx, const uint8_t *frame, size_t len)
{
    struct fz_host *h = ctx;
    h->ops++;
    check_out_frame(h, frame, len);
    uint8_t sel;
    if (fault(h, NULL, &sel)) {
        h->frames_refused++;
        return sel == 0 ? -1 : sel; /* any nonzero value means "full" */
    }
    h->frames_out++;
    return 0;
}

static int op_tcp_connect(void *ctx, vnat_token tok, const struct vnat_sockaddr *dst)
{
    struct fz_host *h = ctx;
    h->ops++;
    FZ_TRAP(dst != NULL);
    FZ_TRAP(fz_sock_by_tok(h, tok) == NULL);
    uint8_t sel;
    int rc = 0;
    if (fault(h, NULL, &sel))
        rc = sel == 7 ? 1 : (int)some_errno(h->res); /* 1: impossible, the core must close it */
    if (rc < 0)
        return rc; /* no socket exists */
    struct fz_sock *s = sock_new(h, tok, FZK_TCP);
    s->addr = *dst;
    return rc;
}

static int op_tcp_listen(void *ctx, vnat_token tok, const struct vnat_sockaddr *local)
{
    struct fz_host *h = ctx;
    h->ops++;
    FZ_TRAP(local != NULL);
    uint8_t sel;
    if (fault(h, NULL, &sel))
        return (int)some_errno(h->res);
    struct fz_sock *s = sock_new(h, tok, FZK_LISTEN);
    s->addr = *local;
    return 0;
}

static int op_tcp_accept(void *ctx, vnat_token listener, vnat_token tok, struct vnat_sockaddr *peer)
{
    struct fz_host *h = ctx;
    h->ops++;
    struct fz_sock *l = sock_use(h, listener, FZK_LISTEN);
    FZ_TRAP(peer != NULL);
    uint8_t sel;
    struct vnat_sockaddr p = {.ip = vnat_ip4(203, 0, 113, 9), .port = 50000};
    if (fault(h, l, &sel)) {
        if (sel < 128)
            return (int)some_errno(h->res);
        /* Accepted from an odd peer: any family byte, any address. */
        p.ip.family = (uint8_t)(sel & 1 ? VNAT_AF_INET : fz_back_u8(h->res));
        uint32_t a = fz_back_u32(h->res);
        memcpy(p.ip.addr, &a, 4);
        p.port = (uint16_t)fz_back_u32(h->res);
    } else if (l->pending == 0) {
        return -11;
    } else {
        l->pending--;
        p.port = (uint16_t)(50000 + l->pending);
    }
    struct fz_sock *s = sock_new(h, tok, FZK_TCP);
    s->addr = p;
    *peer = p;
    return 0;
}

static long op_send(void *ctx, vnat_token tok, const uint8_t *buf, size_t len)
{
    struct fz_host *h = ctx;
    h->ops++;
    struct fz_sock *s = sock_use(h, tok, FZK_TCP);
    FZ_TRAP(buf != NULL || len == 0);
    FZ_TRAP(!s->shut_wr); /* no guest byte may follow the guest's FIN */
    size_t take = len < s->space ? len : s->space;
    uint8_t sel;
    if (fault(h, s, &sel)) {
        switch (sel % 8) {
        case 0:
            return -11;
        case 1:
            take = take / 2;
            break;
        case 2:
            return some_errno(h->res);
        case 3:
            return (long)len + 1 + fz_back_u8(h->res); /* impossible */
        case 4:
            return (long)(int32_t)fz_back_u32(h->res);
        case 5:
            return 0;
        case 6:
            return -32;
        default:
            break;
        }
    }
    if (take == 0)
        return -11;
    s->space -= (uint32_t)take;
    s->tx_total += take;
    return (long)take;
}

static long op_send_space(void *ctx, vnat_token tok)
{
    struct fz_host *h = ctx;
    h->ops++;
    struct fz_sock *s = sock_use(h, tok, FZK_TCP);
    uint8_t sel;
    if (fault(h, s, &sel)) {
        switch (sel % 6) {
        case 0:
            return 0;
        case 1:
            return fz_back_u8(h->res);
        case 2:
            return some_errno(h->res);
        case 3:
            return (long)1 << 40; /* more than any window */
        case 4:
            return (long)(int32_t)fz_back_u32(h->res);
        default:
            return -11;
        }
    }
    return s->space;
}

static void fill(uint8_t *buf, size_t off, size_t n, vnat_token tok)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(off + i + tok);
}

static long op_peek(void *ctx, vnat_token tok, size_t off, uint8_t *buf, size_t len)
{
    struct fz_host *h = ctx;
    h->ops++;
    struct fz_sock *s = sock_use(h, tok, FZK_TCP);
    FZ_TRAP(buf != NULL || len == 0);
    uint8_t sel;
    if (fault(h, s, &sel)) {
        size_t n;
        switch (sel % 8) {
        case 0:
            return 0;
        case 1:
            return -11;
        case 2:
            return some_errno(h->res);
        case 3:
            return (long)len + 1; /* impossible: more than asked */
        case 4:                   /* any value: a small positive one is bytes the model never had */
            s->inexact = true;
            return (long)(int32_t)fz_back_u32(h->res);
        case 5: /* bytes the model does not have (an inconsistent host) */
            n = len < 1 + (size_t)fz_back_u8(h->res) ? len : 1 + (size_t)fz_back_u8(h->res);
            fill(buf, off, n, tok);
            s->inexact = true;
            return (long)n;
        default:
            break;
        }
    }
    if (off < s->rx_avail) {
        size_t n = s->rx_avail - off;
        if (n > len)
            n = len;
        fill(buf, off, n, tok);
        return (long)n;
    }
    return s->rx_eof ? 0 : -11;
}

static int op_discard(void *ctx, vnat_token tok, size_t len)
{
    struct fz_host *h = ctx;
    h->ops++;
    struct fz_sock *s = sock_use(h, tok, FZK_TCP);
    uint8_t sel;
    if (fault(h, s, &sel))
        return sel & 1 ? (int)some_errno(h->res) : 1 + (sel >> 1); /* positive: impossible */
    /* The core discards only what the guest acknowledged, which it peeked
     * first: never more than the model holds, unless a fault fed it bytes. */
    FZ_TRAP(len <= s->rx_avail || s->inexact);
    s->rx_avail -= (uint32_t)(len < s->rx_avail ? len : s->rx_avail);
    return 0;
}

static int op_shutdown_write(void *ctx, vnat_token tok)
{
    struct fz_host *h = ctx;
    h->ops++;
    struct fz_sock *s = sock_use(h, tok, FZK_TCP);
    FZ_TRAP(!s->shut_wr); /* the guest's FIN is taken once */
    s->shut_wr = true;
    uint8_t sel;
    if (fault(h, s, &sel))
        return sel & 1 ? (int)some_errno(h->res) : 1;
    return 0;
}

static void op_close(void *ctx, vnat_token tok, int reset)
{
    struct fz_host *h = ctx;
    h->ops++;
    struct fz_sock *s = sock_use(h, tok, FZK_FREE);
    struct tk_table t = table(h);
    tk_close(&t, &s->sock, reset);
    s->kind = FZK_FREE;
}

static void op_set_interest(void *ctx, vnat_token tok, unsigned mask)
{
    struct fz_host *h = ctx;
    h->ops++;
    struct fz_sock *s = sock_use(h, tok, FZK_FREE);
    FZ_TRAP((mask & ~(VNAT_WANT_READ | VNAT_WANT_WRITE)) == 0);
    s->interest = mask;
}

/* dgram_open and dgram_bind alike: a datagram socket at addr (the
 * destination, or the bound address). */
static int dgram_new(struct fz_host *h, vnat_token tok, enum vnat_dgram_kind kind,
                     const struct vnat_sockaddr *addr)
{
    h->ops++;
    FZ_TRAP(kind == VNAT_DGRAM_UDP || kind == VNAT_DGRAM_ICMP);
    FZ_TRAP(addr != NULL);
    FZ_TRAP(fz_sock_by_tok(h, tok) == NULL);
    uint8_t sel;
    if (fault(h, NULL, &sel))
        return (int)some_errno(h->res);
    struct fz_sock *s = sock_new(h, tok, FZK_DGRAM);
    s->icmp = kind == VNAT_DGRAM_ICMP;
    s->addr = *addr;
    return 0;
}

static int op_dgram_open(void *ctx, vnat_token tok, enum vnat_dgram_kind kind,
                         const struct vnat_sockaddr *dst)
{
    return dgram_new(ctx, tok, kind, dst);
}

static int op_dgram_bind(void *ctx, vnat_token tok, enum vnat_dgram_kind kind,
                         const struct vnat_sockaddr *local)
{
    return dgram_new(ctx, tok, kind, local);
}

static long op_dgram_send(void *ctx, vnat_token tok, const uint8_t *buf, size_t len,
                          const struct vnat_sockaddr *to)
{
    struct fz_host *h = ctx;
    h->ops++;
    struct fz_sock *s = sock_use(h, tok, FZK_DGRAM);
    FZ_TRAP(buf != NULL || len == 0);
    (void)to;
    uint8_t sel;
    if (fault(h, s, &sel)) {
        switch (sel % 6) {
        case 0:
            return -11;
        case 1:
            return -111;
        case 2:
            return some_errno(h->res);
        case 3:
            return (long)len + 3; /* impossible */
        case 4:
            return 0;
        default:
            return (long)(int32_t)fz_back_u32(h->res);
        }
    }
    return (long)len;
}

static long op_dgram_recv(void *ctx, vnat_token tok, uint8_t *buf, size_t cap,
                          struct vnat_sockaddr *from)
{
    struct fz_host *h = ctx;
    h->ops++;
    struct fz_sock *s = sock_use(h, tok, FZK_DGRAM);
    FZ_TRAP(buf != NULL && from != NULL);
    uint8_t sel;
    size_t n = 32;
    *from = s->addr;
    if (fault(h, s, &sel)) {
        switch (sel % 6) {
        case 0:
            return -11;
        case 1:
            return some_errno(h->res);
        case 2:
            n = cap + 1 + fz_back_u8(h->res);
            break; /* truncated: full length returned */
        case 3:    /* from an odd source */
            from->ip.family = fz_back_u8(h->res);
            from->port = (uint16_t)fz_back_u32(h->res);
            break;
        case 4:
            n = fz_back_u32(h->res) & 0xffff;
            break;
        default:
            return (long)(int32_t)fz_back_u32(h->res);
        }
    } else if (s->dgrams == 0) {
        return -11;
    } else {
        s->dgrams--;
        if (h->res != NULL && !fz_empty(h->res))
            n = fz_back_u8(h->res) * 4u;
    }
    size_t w = n < cap ? n : cap;
    fill(buf, 0, w, tok);
    if (s->icmp && w >= 8) {
        /* An echo reply with a valid checksum; the core may rewrite the id. */
        buf[0] = 0;
        buf[1] = 0;
        buf[2] = buf[3] = 0;
        vw_put16(buf + 2, vw_csum_fold(vw_csum_add(0, buf, w)));
    }
    return (long)n;
}

static void op_log(void *ctx, const struct vnat_log_record *rec)
{
    (void)ctx;
    FZ_TRAP(rec != NULL && rec->kind < VNAT_LOG__COUNT);
    FZ_TRAP(rec->kind != VNAT_LOG_OP || rec->op < VNAT_OP__COUNT);
    FZ_TRAP(rec->data != NULL || rec->len == 0);
}

static void op_panic(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "vnat panic: %s\n", msg != NULL ? msg : "(null)");
    __builtin_trap();
}

static const struct vnat_host_ops ops = {
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

const struct vnat_host_ops *fz_ops(void)
{
    return &ops;
}

static void kit_fail(const char *msg)
{
    fprintf(stderr, "fuzz host: %s\n", msg);
    __builtin_trap();
}

void fz_host_init(struct fz_host *h, const struct vnat_config *cfg, void *mem, size_t mem_size)
{
    memset(h, 0, sizeof *h);
    tk_fail_hook = kit_fail;
    h->fault_below = 224;
    h->syn_mss = 1460;
    h->syn_wscale = 7;
    vnat *nat = NULL;
    FZ_TRAP(vnat_create(cfg, &ops, h, mem, mem_size, &nat) == VNAT_OK);
    h->nat = nat;
    /* The config as the core normalised it (defaults applied). */
    h->cfg = *cfg;
    if (h->cfg.mtu == 0)
        h->cfg.mtu = 1500;
}

void fz_check(struct fz_host *h)
{
    char why[256];
    if (vnat_check_invariants(h->nat, why, sizeof why) != 0) {
        fprintf(stderr, "vnat invariant broken: %s\n", why);
        __builtin_trap();
    }
    struct vnat_stats st;
    vnat_get_stats(h->nat, &st, sizeof st);
    FZ_TRAP(st.flows_live <= h->cfg.max_flows);
}

void fz_check_windows(struct fz_host *h)
{
    for (unsigned i = 0; i < FZ_MAX_SOCKS; i++) {
        const struct fz_sock *s = &h->socks[i];
        if (!fz_open(s) || s->kind != FZK_TCP || s->gp < 0)
            continue;
        const struct fz_peer *p = &h->peers[s->gp][s->gd];
        if (!p->seen || p->core_wnd != 0 ||
            (p->last_flags & (VW_TCP_SYN | VW_TCP_RST | VW_TCP_FIN)))
            continue;
        const struct flow *f = flow_by_token(h->nat, s->tok);
        if (f == NULL || f->key.proto != VNAT_PROTO_TCP)
            continue;
        int st = tcp_flow_const(f)->state;
        if (st != VNAT_TCP_ESTABLISHED && st != VNAT_TCP_HOST_FIN)
            continue;
        if (!(s->interest & VNAT_WANT_WRITE)) {
            fprintf(stderr,
                    "zero window advertised to the guest with no write interest: "
                    "nothing will reopen it (guest port %u)\n",
                    FZ_GUEST_PORT(s->gp));
            __builtin_trap();
        }
    }
}

void fz_host_finish(struct fz_host *h)
{
    vnat_shutdown(h->nat, h->now);
    /* "The instance holds no host resources afterwards" (vnat.h). */
    for (unsigned i = 0; i < FZ_MAX_SOCKS; i++)
        FZ_TRAP(!fz_open(&h->socks[i]));
    FZ_TRAP(vnat_on_tick(h->nat, h->now) == VNAT_E_STATE);
}

/* ---- the guest --------------------------------------------------------------- */

struct vnat_sockaddr fz_dst(unsigned d)
{
    struct vnat_sockaddr a;
    memset(&a, 0, sizeof a);
    switch (d % FZ_DSTS) {
    case 0:
        a.ip = vnat_ip4(10, 0, 2, 2);
        a.port = 80;
        break;
    case 1:
        a.ip = vnat_ip4(198, 51, 100, 1);
        a.port = 443;
        break;
    case 2:
        a.ip = vnat_ip4(198, 51, 100, 2);
        a.port = 80;
        break;
    default:
        a.ip = vnat_ip4(203, 0, 113, 7);
        a.port = 8080;
        break;
    }
    return a;
}

vnat_err fz_guest_tcp(struct fz_host *h, unsigned p, unsigned d, uint8_t flags, uint32_t seq,
                      uint32_t ack, uint16_t win, unsigned opts, const uint8_t *payload, size_t len)
{
    static uint8_t frame[VW_ETH_HLEN + 65535];
    struct vnat_sockaddr dst = fz_dst(d);
    size_t n = tk_tcp(&(struct tk_tcp_spec){.guest = &h->cfg,
                                            .dst = dst.ip.addr,
                                            .ip_id = (uint16_t)seq,
                                            .sport = FZ_GUEST_PORT(p % FZ_PORTS),
                                            .dport = dst.port,
                                            .seq = seq,
                                            .ack = ack,
                                            .flags = flags,
                                            .window = win,
                                            .opt_mss = (opts & FZ_OPT_MSS) != 0,
                                            .mss = h->syn_mss,
                                            .opt_wscale = (opts & FZ_OPT_WS) != 0,
                                            .wscale = h->syn_wscale,
                                            .opt_sack_perm = (opts & FZ_OPT_SACK) != 0,
                                            .opt_ts = (opts & FZ_OPT_TS) != 0,
                                            .ts_val = seq ^ 0x5a5a,
                                            .ts_ecr = ack,
                                            .payload = payload,
                                            .len = len},
                      frame, sizeof frame);
    FZ_TRAP(n > 0);
    h->peers[p % FZ_PORTS][d % FZ_DSTS].guest_nxt =
        seq + (uint32_t)len + ((flags & VW_TCP_SYN) ? 1u : 0u) + ((flags & VW_TCP_FIN) ? 1u : 0u);
    bool syn = (flags & (VW_TCP_SYN | VW_TCP_ACK)) == VW_TCP_SYN;
    bool before[FZ_MAX_SOCKS];
    if (syn)
        for (unsigned i = 0; i < FZ_MAX_SOCKS; i++)
            before[i] = fz_open(&h->socks[i]);
    vnat_err e = vnat_on_guest_frame(h->nat, h->now, frame, n);
    if (syn) /* the socket this SYN opened serves connection (p, d) */
        for (unsigned i = 0; i < FZ_MAX_SOCKS; i++)
            if (fz_open(&h->socks[i]) && !before[i] && h->socks[i].kind == FZK_TCP) {
                h->socks[i].gp = (int8_t)(p % FZ_PORTS);
                h->socks[i].gd = (int8_t)(d % FZ_DSTS);
                memset(&h->peers[p % FZ_PORTS][d % FZ_DSTS], 0, sizeof(struct fz_peer));
                h->peers[p % FZ_PORTS][d % FZ_DSTS].guest_nxt = seq + 1;
            }
    return e;
}

void fz_fix_frame(uint8_t *frame, size_t len)
{
    if (len < VW_ETH_HLEN + VW_IPV4_HLEN || vw_get16(frame + 12) != VW_ETH_P_IPV4)
        return;
    uint8_t *ip = frame + VW_ETH_HLEN;
    if ((ip[0] >> 4) != 4)
        return;
    size_t ihl = (size_t)(ip[0] & 15) * 4;
    if (ihl < VW_IPV4_HLEN || VW_ETH_HLEN + ihl > len)
        return;
    size_t total = len - VW_ETH_HLEN;
    if (total > 65535)
        total = 65535;
    vw_put16(ip + 2, (uint16_t)total);
    vw_put16(ip + 10, 0);
    vw_put16(ip + 10, vw_csum_fold(vw_csum_add(0, ip, ihl)));
    if ((vw_get16(ip + 6) & 0x3fff) != 0)
        return; /* a fragment: no transport header to fix */
    uint8_t *l4 = ip + ihl;
    size_t l4len = total - ihl;
    switch (ip[9]) {
    case VW_IPPROTO_TCP: {
        if (l4len < VW_TCP_HLEN)
            return;
        size_t doff = (size_t)(l4[12] >> 4) * 4;
        if (doff < VW_TCP_HLEN || doff > l4len)
            l4[12] = (uint8_t)(0x50 | (l4[12] & 0x0f));
        vw_put16(l4 + 16, 0);
        uint32_t s = vw_pseudo4(ip + 12, ip + 16, VW_IPPROTO_TCP, (uint32_t)l4len);
        vw_put16(l4 + 16, vw_csum_fold(vw_csum_add(s, l4, l4len)));
        return;
    }
    case VW_IPPROTO_UDP: {
        if (l4len < VW_UDP_HLEN)
            return;
        vw_put16(l4 + 4, (uint16_t)l4len);
        vw_put16(l4 + 6, 0);
        uint32_t s = vw_pseudo4(ip + 12, ip + 16, VW_IPPROTO_UDP, (uint32_t)l4len);
        uint16_t c = vw_csum_fold(vw_csum_add(s, l4, l4len));
        vw_put16(l4 + 6, c == 0 ? 0xffff : c);
        return;
    }
    case VW_IPPROTO_ICMP:
        if (l4len < VW_ICMP_HLEN)
            return;
        vw_put16(l4 + 2, 0);
        vw_put16(l4 + 2, vw_csum_fold(vw_csum_add(0, l4, l4len)));
        return;
    default:
        return;
    }
}
