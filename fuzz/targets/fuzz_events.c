/*
 * fuzz_events.c — the structured event-sequence target. The input is read
 * from both ends (fuzzhost.h): from the front, a configuration byte and then
 * up to FZ_MAX_EVENTS events; from the back, the host's results (faults).
 *
 * Event encoding (one opcode byte, opcode % 16, then its arguments):
 *   0..4  a guest TCP segment on a tracked connection: [who] [flags] [mode]
 *         [window] [len] (+ for a SYN: ISN unless a retransmission, then
 *         [mss/wscale]; else seq/ack deltas as the mode asks). Sequence and
 *         acknowledgment numbers are chosen relative to what the core last
 *         said on that connection, so most segments are in window.
 *   5     a raw frame: [len16] [fix] bytes; fix & 1 repairs lengths and
 *         checksums, fix & 2 aims it at the gateway from the guest.
 *   6     socket writable: [which] [so_error] (a freed send buffer)
 *   7     socket readable: [which] [bytes/EOF] (data arrives first)
 *   8     listener ready: [which] [count]
 *   9     guest link writable
 *   10,11 tick: [mode] [amount] — forward by ms/s/hours, to the next
 *         deadline, or backwards
 *   12    forward add/remove: [sel]
 *   13    a guest UDP datagram (DNS, DHCP, plain): fuzzgen.c
 *   14    ICMP echo or ARP: fuzzgen.c
 *   15    observation: dump, next deadline, stats
 *   0xff  end of events (the bytes after it are left to the results)
 * After every event the core's invariants are checked (trap on failure),
 * and so is the liveness of advertised zero windows (fz_check_windows);
 * at the end the instance is shut down and must hold no host socket.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzgen.h"
#include "fuzzhost.h"
#include "internal.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_EVENTS 256

static _Alignas(16) uint8_t arena[FZ_ARENA];
static uint8_t frame[VW_ETH_HLEN + 9000 + 64];
static struct fz_host host;

static uint8_t tcp_flags(uint8_t b)
{
    switch (b & 15) {
    case 0:
    case 1:
        return VW_TCP_SYN;
    case 2:
    case 3:
    case 4:
        return VW_TCP_ACK;
    case 5:
        return VW_TCP_ACK | VW_TCP_PSH;
    case 6:
    case 7:
        return VW_TCP_FIN | VW_TCP_ACK;
    case 8:
        return VW_TCP_RST;
    case 9:
        return VW_TCP_RST | VW_TCP_ACK;
    case 10:
        return VW_TCP_SYN | VW_TCP_ACK;
    case 11:
        return VW_TCP_FIN | VW_TCP_ACK | VW_TCP_PSH;
    case 12:
        return VW_TCP_ACK | VW_TCP_URG;
    case 13:
        return VW_TCP_SYN | VW_TCP_FIN;
    default:
        return b; /* anything */
    }
}

static void ev_tcp(struct fz_host *h, struct fz_src *s)
{
    uint8_t who = fz_u8(s);
    unsigned p = who & 7, d = (who >> 3) & 3;
    uint8_t flags = tcp_flags(fz_u8(s));
    uint8_t mode = fz_u8(s);
    uint8_t w = fz_u8(s);
    uint8_t l = fz_u8(s);
    struct fz_peer *peer = &h->peers[p][d];
    uint32_t expect = peer->seen && (peer->core_ack != 0 || peer->syn_from_core) ? peer->core_ack
                                                                                 : peer->guest_nxt;
    uint32_t seq, ack;
    if ((flags & VW_TCP_SYN) && !(flags & VW_TCP_ACK)) {
        /* A new connection (fresh ISN) or a retransmitted SYN; then the
         * MSS and window shift it offers (0: 1460 and 7). */
        static const uint16_t mss[8] = {1460, 536, 1, 64, 9000, 0, 65535, 1200};
        seq = (mode & 3) == 1 ? peer->guest_nxt - 1 : fz_u32(s);
        uint8_t o = fz_u8(s);
        h->syn_mss = mss[o & 7];
        h->syn_wscale = (uint8_t)(7 ^ (o >> 3));
    } else {
        switch (mode & 3) {
        case 0:
            seq = expect;
            break;
        case 1:
            seq = expect + fz_u16(s);
            break;
        case 2:
            seq = expect - fz_u16(s);
            break;
        default:
            seq = fz_u32(s);
            break;
        }
    }
    switch ((mode >> 2) & 3) {
    case 0:
        ack = peer->core_nxt;
        break;
    case 1:
        ack = peer->core_nxt - fz_u8(s);
        break;
    case 2:
        ack = peer->core_nxt + fz_u8(s);
        break;
    default:
        ack = fz_u32(s);
        break;
    }
    if ((flags & VW_TCP_SYN) && (flags & VW_TCP_ACK) && peer->syn_from_core && !(mode & 0x0c))
        ack = peer->core_isn + 1; /* our answer to an inbound SYN */
    uint16_t win = w == 0 ? 0 : w == 255 ? 65535 : (uint16_t)(w << 8 | 0xff);
    size_t len = l < 128 ? l : (size_t)(l - 128) * 16;
    size_t max = h->cfg.mtu - 40;
    if (len > max)
        len = max;
    static uint8_t payload[9000];
    for (size_t i = 0; i < len; i++)
        payload[i] = (uint8_t)(seq + i);
    fz_guest_tcp(h, p, d, flags, seq, ack, win, mode >> 4, payload, len);
}

static void ev_raw(struct fz_host *h, struct fz_src *s)
{
    size_t len = fz_u16(s) % 1600;
    uint8_t fix = fz_u8(s);
    fz_bytes(s, frame, len);
    if ((fix & 2) && len >= 34) {
        memcpy(frame, h->cfg.gateway_mac, 6);
        memcpy(frame + 6, h->cfg.guest_mac, 6);
        vw_put16(frame + 12, VW_ETH_P_IPV4);
        memcpy(frame + 26, h->cfg.guest_ip.addr, 4);
    }
    if (fix & 1)
        fz_fix_frame(frame, len);
    vnat_on_guest_frame(h->nat, h->now, len ? frame : NULL, len);
}

static vnat_token pick_token(struct fz_host *h, struct fz_src *s, uint8_t kind,
                             struct fz_sock **out)
{
    uint8_t b = fz_u8(s);
    *out = NULL;
    if (b == 255)
        return fz_u64(s); /* any token: stale, never issued, 0 */
    struct fz_sock *k = fz_sock_pick(h, kind, b);
    if (k == NULL)
        k = fz_sock_pick(h, FZK_FREE, b);
    if (k == NULL)
        return (vnat_token)b + 1; /* nothing open: a token that names nothing */
    *out = k;
    return k->tok;
}

static void ev_writable(struct fz_host *h, struct fz_src *s)
{
    struct fz_sock *k;
    vnat_token tok = pick_token(h, s, FZK_TCP, &k);
    uint8_t e = fz_u8(s);
    int so_error = 0;
    if (e >= 200) {
        static const int errs[] = {111, 113, 101, 110, 104, 32, 103, 100, 112, 22, 13};
        so_error = e == 255 ? (int)fz_u32(s) : errs[e % (sizeof errs / sizeof errs[0])];
    }
    if (k != NULL && so_error == 0)
        k->space = 65536; /* the send buffer drained */
    vnat_on_writable(h->nat, h->now, tok, so_error);
}

static void ev_readable(struct fz_host *h, struct fz_src *s)
{
    struct fz_sock *k;
    vnat_token tok = pick_token(h, s, FZK_TCP, &k);
    uint8_t b = fz_u8(s);
    if (k != NULL && k->kind == FZK_TCP) {
        if (b == 255)
            k->rx_eof = true;
        else if (k->rx_avail + (uint32_t)b * 64 <= FZ_PEEK_MAX)
            k->rx_avail += (uint32_t)b * 64;
    } else if (k != NULL && k->kind == FZK_DGRAM) {
        k->dgrams += 1 + (b & 3);
    }
    vnat_on_readable(h->nat, h->now, tok);
}

static void ev_listener(struct fz_host *h, struct fz_src *s)
{
    struct fz_sock *k;
    vnat_token tok = pick_token(h, s, FZK_LISTEN, &k);
    uint8_t b = fz_u8(s);
    if (k != NULL && k->kind == FZK_LISTEN)
        k->pending += 1 + (b & 3);
    vnat_on_listener_ready(h->nat, h->now, tok);
}

static void ev_tick(struct fz_host *h, struct fz_src *s)
{
    uint8_t mode = fz_u8(s);
    uint64_t amount = fz_u8(s);
    uint64_t dl;
    switch (mode & 7) {
    case 0:
    case 1:
        h->now += amount * 1000000ull;
        break; /* ms */
    case 2:
        h->now += amount * 100000000ull;
        break; /* 0.1 s: RTOs */
    case 3:
        h->now += amount * 60000000000ull;
        break; /* minutes: timeouts */
    case 4:
        dl = vnat_next_deadline(h->nat);
        if (dl != UINT64_MAX && dl > h->now && dl - h->now < (1ull << 50))
            h->now = dl + amount;
        break;
    case 5:
        h->now += amount * 3600000000000ull;
        break; /* hours: idle timeout */
    case 6:
        h->now -= amount * 1000000000ull;
        break; /* backwards */
    default:
        h->now -= amount;
        break; /* slightly backwards */
    }
    vnat_on_tick(h->nat, h->now);
}

static void ev_forward(struct fz_host *h, struct fz_src *s)
{
    uint8_t b = fz_u8(s);
    struct vnat_forward f;
    memset(&f, 0, sizeof f);
    f.proto = (b & 1) ? VNAT_PROTO_UDP : (b & 0x40) ? fz_u8(s) : VNAT_PROTO_TCP;
    f.host.ip = (b & 2) ? vnat_ip4(0, 0, 0, 0) : vnat_ip4(127, 0, 0, 1);
    f.host.port = (uint16_t)(8000 + ((b >> 2) & 3));
    f.guest_port = (b & 0x10) ? fz_u16(s) : 22;
    if (b & 0x80)
        vnat_forward_remove(h->nat, h->now, &f);
    else
        vnat_forward_add(h->nat, h->now, &f);
}

static void ev_observe(struct fz_host *h, struct fz_src *s)
{
    static char buf[1 << 15];
    size_t cap = fz_u8(s) == 0 ? 7 : sizeof buf;
    size_t need = vnat_dump_flows(h->nat, buf, cap);
    FZ_TRAP(strlen(buf) == (need < cap ? need : cap - 1));
    uint64_t dl = vnat_next_deadline(h->nat);
    (void)dl;
    struct vnat_stats st;
    vnat_get_stats(h->nat, &st, sizeof st);
    FZ_TRAP(st.frames_in <= FZ_MAX_EVENTS + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_src in;
    fz_src_init(&in, data, size);
    struct vnat_config cfg;
    fz_config(&cfg, fz_u8(&in));
    size_t need = vnat_memory_size(&cfg);
    FZ_TRAP(need > 0 && need <= sizeof arena);
    fz_host_init(&host, &cfg, arena, need);
    /* One buffer, two cursors: results are read from the same object so the
     * two streams always meet in the middle. */
    host.res = &in;
    host.now = 1000000000ull;
    fz_check(&host);
    /* VNAT_FUZZ_VERBOSE=1 prints the flow table after every event (for
     * reading a crash or a seed; docs/fuzzing.md). */
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("VNAT_FUZZ_VERBOSE") != NULL;
    /* VNAT_FUZZ_SKIP_WINDOWS=1 turns the zero-window liveness oracle off, to
     * look past a known open bug of that kind (fuzz/findings/README). */
    static int skip_windows = -1;
    if (skip_windows < 0)
        skip_windows = getenv("VNAT_FUZZ_SKIP_WINDOWS") != NULL;
    for (unsigned n = 0; n < FZ_MAX_EVENTS && !fz_empty(&in); n++) {
        uint8_t op = fz_u8(&in);
        if (op == 0xff)
            break; /* end of events: the rest is the results tail */
        size_t len;
        switch (op & 15) {
        case 0:
        case 1:
        case 2:
        case 3:
        case 4:
            ev_tcp(&host, &in);
            break;
        case 5:
            ev_raw(&host, &in);
            break;
        case 6:
            ev_writable(&host, &in);
            break;
        case 7:
            ev_readable(&host, &in);
            break;
        case 8:
            ev_listener(&host, &in);
            break;
        case 9:
            vnat_on_link_writable(host.nat, host.now);
            break;
        case 10:
        case 11:
            ev_tick(&host, &in);
            break;
        case 12:
            ev_forward(&host, &in);
            break;
        case 13:
            len = fz_gen_udp(&host, &in, frame, sizeof frame);
            if (len > 0)
                vnat_on_guest_frame(host.nat, host.now, frame, len);
            break;
        case 14:
            len = fz_gen_icmp_arp(&host, &in, frame, sizeof frame);
            if (len > 0)
                vnat_on_guest_frame(host.nat, host.now, frame, len);
            break;
        default:
            ev_observe(&host, &in);
            break;
        }
        fz_check(&host);
        if (!skip_windows)
            fz_check_windows(&host);
        if (verbose) {
            static char dump[1 << 14];
            vnat_dump_flows(host.nat, dump, sizeof dump);
            fprintf(stderr, "event %u (op %u) now=%llu faults=%u\n%s", n, op & 15u,
                    (unsigned long long)host.now, host.faults, dump);
        }
    }
    /* Let every timer fire, then tear down: nothing may stay open. */
    host.res = NULL;
    host.now += 3ull * 3600 * 1000000000ull;
    vnat_on_tick(host.nat, host.now);
    fz_check(&host);
    fz_host_finish(&host);
    return 0;
}
