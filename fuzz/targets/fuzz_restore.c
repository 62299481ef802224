/*
 * fuzz_restore.c — libFuzzer target for vnat_restore (issue 12 item 6): a
 * snapshot is untrusted input, exactly like a guest frame.
 *
 * Four base images are built once, deterministically, by driving a core
 * through the fuzz host (flows connecting, in a handshake, established with
 * data in flight, UDP, DNS, DHCP and ICMP datagrams, under four
 * configurations). The input's first byte chooses a base, a mode and what
 * to do with the rest:
 *   bits 0-1  the base image
 *   bit  2    sockets kept (only for an unchanged base: a kept restore
 *             trusts the embedder that its tokens are live) or lost
 *   bit  3    VNAT_RESTORE_SAME_CLOCK
 *   bits 4-5  0: the rest of the input is the image, as it is;
 *             1-3: edits of the base image (structure-aware: up to 24 of
 *             [u16 offset] [u8 op] [u32 value]: xor a byte, set a byte, set
 *             a little-endian u32, or cut the image there), then, unless
 *             bits 4-5 are 3 and bit 6 is set, the checksum repaired so the
 *             edits reach the parser
 *   bit  7    the restore's now is earlier than the snapshot's (else later)
 * Oracles: no crash, no sanitizer report; an accepted restore passes
 * vnat_check_invariants and then runs a short event sequence clean (ticks
 * across every timeout, link-writable, a new guest SYN), and shuts down
 * holding no host socket; a refused one leaves no instance. The unchanged
 * base restored with sockets kept and the same clock gives back its own
 * bytes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzgen.h"
#include "fuzzhost.h"
#include "siphash.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASES 4
#define IMG_MAX (1u << 17)

static _Alignas(16) uint8_t build_mem[FZ_ARENA];
static _Alignas(16) uint8_t mem[FZ_ARENA];
static uint8_t base_img[BASES][IMG_MAX];
static size_t base_len[BASES];
static struct fz_host base_host[BASES]; /* the model as the snapshot left it */
static uint8_t work[IMG_MAX];
static uint8_t again[IMG_MAX];
static struct fz_host host;

static const uint64_t sum_key[2] = {0x70616e7374616e76ull, 0x6d75736b63656863ull};

static void resum(uint8_t *img, size_t len)
{
    if (len < 32)
        return;
    uint64_t v = vnat_siphash24(sum_key, img, len - 8);
    for (int i = 0; i < 8; i++)
        img[len - 8 + (size_t)i] = (uint8_t)(v >> (8 * i));
}

/* Drive a core into a state with flows of every kind, then snapshot it. */
static void build_base(unsigned b)
{
    static const uint8_t cfg_bytes[BASES] = {0x00, 0x41, 0x62, 0xc3};
    struct vnat_config cfg;
    fz_config(&cfg, cfg_bytes[b]);
    size_t need = vnat_memory_size(&cfg);
    FZ_TRAP(need > 0 && need <= sizeof build_mem);
    struct fz_host *h = &base_host[b];
    fz_host_init(h, &cfg, build_mem, need);
    h->res = NULL; /* the model only: no faults */
    h->now = 1000000000ull;
    /* TCP: one connecting, one through the handshake with host data in
     * flight toward the guest, one with guest data the host took. */
    fz_guest_tcp(h, 0, 0, VW_TCP_SYN, 1000, 0, 65535, FZ_OPT_MSS | FZ_OPT_WS, NULL, 0);
    for (unsigned p = 1; p <= 2; p++) {
        fz_guest_tcp(h, p, p, VW_TCP_SYN, 5000 * p, 0, 65535, FZ_OPT_MSS | FZ_OPT_WS, NULL, 0);
        struct fz_sock *k = fz_sock_pick(h, FZK_TCP, p);
        if (k == NULL)
            continue;
        k->space = 65536;
        vnat_on_writable(h->nat, h->now, k->sock.tok, 0);
        struct fz_peer *pe = &h->peers[p][p];
        fz_guest_tcp(h, p, p, VW_TCP_ACK, pe->guest_nxt, pe->core_nxt, 65535, 0, NULL, 0);
        static const uint8_t msg[64] = "guest data";
        fz_guest_tcp(h, p, p, VW_TCP_ACK | VW_TCP_PSH, pe->guest_nxt, pe->core_nxt, 65535, 0, msg,
                     p * 20);
        k->rx_avail += 3000; /* host data: sent, not acknowledged */
        vnat_on_readable(h->nat, h->now, k->sock.tok);
    }
    /* Datagrams: whatever the generators make of a few fixed scripts (DNS,
     * DHCP, plain UDP, ICMP echo, ARP). */
    uint8_t frame[2048];
    for (unsigned i = 0; i < 12; i++) {
        uint8_t script[16];
        for (unsigned j = 0; j < sizeof script; j++)
            script[j] = (uint8_t)(i * 37 + j * 11 + b);
        struct fz_src s;
        fz_src_init(&s, script, sizeof script);
        size_t n = (i & 1) ? fz_gen_icmp_arp(h, &s, frame, sizeof frame)
                           : fz_gen_udp(h, &s, frame, sizeof frame);
        if (n > 0)
            vnat_on_guest_frame(h->nat, h->now, frame, n);
    }
    h->now += 10000000ull;
    vnat_on_tick(h->nat, h->now);
    fz_check(h);
    size_t n = 0;
    FZ_TRAP(vnat_snapshot(h->nat, base_img[b], IMG_MAX, &n) == VNAT_OK);
    base_len[b] = n;
}

static void init_bases(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    for (unsigned b = 0; b < BASES; b++)
        build_base(b);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Apply the input's edits to a copy of a base image; returns its length. */
static size_t edit(const uint8_t *img, size_t len, const uint8_t *in, size_t n)
{
    memcpy(work, img, len);
    for (unsigned e = 0; e < 24 && n >= 7; e++, in += 7, n -= 7) {
        size_t off = ((size_t)in[0] | (size_t)in[1] << 8) % len;
        uint32_t v = rd32(in + 3);
        switch (in[2] & 3) {
        case 0:
            work[off] ^= (uint8_t)(v | 1);
            break;
        case 1:
            work[off] = (uint8_t)v;
            break;
        case 2:
            for (size_t i = 0; i < 4 && off + i < len; i++)
                work[off + i] = (uint8_t)(v >> (8 * i));
            break;
        default:
            len = off; /* cut here */
            break;
        }
        if (len == 0)
            break;
    }
    return len;
}

static void run_restored(void)
{
    fz_check(&host);
    static const uint64_t steps[] = {1000000ull, 5000000000ull, 200000000000ull, 4000000000000ull};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        host.now += steps[i];
        vnat_on_tick(host.nat, host.now);
        fz_check(&host);
        vnat_on_link_writable(host.nat, host.now);
        fz_check(&host);
        if (i == 1) {
            fz_guest_tcp(&host, 3, 0, VW_TCP_SYN, 777, 0, 65535, FZ_OPT_MSS, NULL, 0);
            fz_check(&host);
        }
    }
    fz_host_finish(&host);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_bases();
    if (size == 0)
        return 0;
    uint8_t sel = data[0];
    unsigned b = sel & 3, how = (sel >> 4) & 3;
    const uint8_t *img;
    size_t len;
    bool unchanged = false;
    if (how == 0) {
        img = data + 1;
        len = size - 1;
        unchanged = len == base_len[b] && memcmp(img, base_img[b], len) == 0;
    } else {
        len = edit(base_img[b], base_len[b], data + 1, size - 1);
        if (!(how == 3 && (sel & 0x40)))
            resum(work, len);
        img = work;
        unchanged = len == base_len[b] && memcmp(work, base_img[b], len) == 0;
    }
    bool kept = (sel & 4) && unchanged;
    int mode = (kept ? VNAT_RESTORE_SOCKETS_KEPT : VNAT_RESTORE_SOCKETS_LOST) |
               ((sel & 8) ? VNAT_RESTORE_SAME_CLOCK : 0);
    /* The model: as the snapshot left it (kept), or a fresh host (lost). */
    if (kept) {
        host = base_host[b];
    } else {
        memset(&host, 0, sizeof host);
        host = base_host[b];
        memset(host.socks, 0, sizeof host.socks);
        memset(host.peers, 0, sizeof host.peers);
    }
    host.res = NULL;
    uint64_t snap_now = base_host[b].now;
    host.now = (sel & 0x80) ? snap_now - 500000000ull : snap_now + 7000000000ull;
    size_t need = 0;
    vnat_err e = vnat_restore_memory_size(img, len, &need);
    if (e != VNAT_OK || need > sizeof mem) {
        FZ_TRAP(e != VNAT_OK || !unchanged);
        return 0;
    }
    vnat *nat = NULL;
    e = vnat_restore(mem, need, fz_ops(), &host, img, len, mode, host.now, &nat);
    if (e != VNAT_OK) {
        FZ_TRAP(nat == NULL && !unchanged);
        return 0;
    }
    FZ_TRAP(nat != NULL);
    host.nat = nat;
    if (kept && (sel & 8)) {
        /* The same image back (vnat.h). */
        size_t n = 0;
        FZ_TRAP(vnat_snapshot(nat, again, sizeof again, &n) == VNAT_OK);
        FZ_TRAP(n == len && memcmp(again, img, len) == 0);
        host.now = snap_now;
    }
    /* VNAT_FUZZ_VERBOSE=1: say what each input came to (docs/fuzzing.md). */
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("VNAT_FUZZ_VERBOSE") != NULL;
    if (verbose)
        fprintf(stderr, "restored base %u (%s%s, %zu bytes)\n", b, kept ? "kept" : "lost",
                (sel & 8) ? ", same clock" : "", len);
    run_restored();
    return 0;
}
