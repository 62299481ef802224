/*
 * fuzz_frame.c — one arbitrary guest frame, fed to a core that holds a TCP
 * flow in every state. A fixed prelude (run once, with the host model and no
 * faults) drives a fresh core through handshakes so that guest ports
 * 40000..40007, all talking to 198.51.100.1:443, sit in:
 *   0 connecting   1 syn_rcvd   2 established, 3000 bytes in flight
 *   3 established, idle         4 guest_fin    5 host_fin (our FIN unacked)
 *   6 both_fin     7 established, zero window, persist timer armed
 * The core's memory block and the host are then saved; every input starts
 * from a byte-exact copy of that state (the core keeps nothing outside the
 * block, so restoring it is a snapshot in all but name).
 *
 * Input: [sel] [frame...].
 *   sel & 7     the flow a fixed-up frame is aimed at
 *   sel & 0x08  fix up: Ethernet/IPv4/TCP addresses and ports of that flow,
 *               then lengths and checksums (fz_fix_frame)
 *   sel & 0x10  with fix-up: sequence and acknowledgment numbers become
 *               signed 16-bit offsets from what the core expects / last sent
 *   sel & 0x20  host results drawn from the input's tail (faults)
 *   sel & 0x40  aftermath: host data + readable, link writable, an RTO and
 *               then every timeout, each followed by the invariant check
 * The invariants are checked after the frame; the instance is then shut
 * down and must hold no host socket.
 */
#include <stdio.h>
#include <string.h>

#include "fuzzgen.h"
#include "fuzzhost.h"
#include "internal.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FLOWS 8
#define DST 1 /* fz_dst(1): 198.51.100.1:443 */

static _Alignas(16) uint8_t arena[FZ_ARENA];
static _Alignas(16) uint8_t saved_arena[FZ_ARENA];
static size_t arena_used;
static struct fz_host host, saved_host;
static uint8_t frame[VW_ETH_HLEN + 65535];
static vnat_token toks[FLOWS];

static struct fz_peer *peer(unsigned p)
{
    return &host.peers[p][DST];
}

static void ack_now(unsigned p, uint8_t flags, uint16_t win)
{
    fz_guest_tcp(&host, p, DST, flags, peer(p)->guest_nxt, peer(p)->core_nxt, win, 0, NULL, 0);
    fz_check(&host);
}

static struct fz_sock *sock(unsigned p)
{
    struct fz_sock *s = fz_sock_by_tok(&host, toks[p]);
    FZ_TRAP(s != NULL);
    return s;
}

static void open_flow(unsigned p, unsigned opts, int upto)
{
    uint8_t before[FZ_MAX_SOCKS];
    for (unsigned i = 0; i < FZ_MAX_SOCKS; i++)
        before[i] = fz_open(&host.socks[i]);
    fz_guest_tcp(&host, p, DST, VW_TCP_SYN, 1000000u * (p + 1), 0, 65535, opts, NULL, 0);
    fz_check(&host);
    toks[p] = VNAT_TOKEN_NONE;
    for (unsigned i = 0; i < FZ_MAX_SOCKS; i++)
        if (fz_open(&host.socks[i]) && !before[i])
            toks[p] = host.socks[i].tok;
    FZ_TRAP(toks[p] != VNAT_TOKEN_NONE);
    if (upto == VNAT_TCP_CONNECTING)
        return;
    vnat_on_writable(host.nat, host.now, toks[p], 0);
    fz_check(&host);
    FZ_TRAP(peer(p)->syn_from_core);
    if (upto == VNAT_TCP_SYN_RCVD)
        return;
    ack_now(p, VW_TCP_ACK, 65535);
}

static void expect_state(int state, uint64_t n)
{
    struct vnat_stats st;
    vnat_get_stats(host.nat, &st, sizeof st);
    FZ_TRAP(st.tcp_flows_by_state[state] == n);
}

static void prelude(void)
{
    struct vnat_config cfg;
    fz_config(&cfg, 0x01); /* 16 flows, MTU 1500, no rules */
    arena_used = vnat_memory_size(&cfg);
    FZ_TRAP(arena_used > 0 && arena_used <= sizeof arena);
    fz_host_init(&host, &cfg, arena, arena_used);
    host.now = 1000000000ull;
    static const uint8_t data[100] = {1, 2, 3};

    open_flow(0, FZ_OPT_MSS, VNAT_TCP_CONNECTING);
    open_flow(1, FZ_OPT_MSS | FZ_OPT_WS, VNAT_TCP_SYN_RCVD);
    open_flow(2, FZ_OPT_MSS | FZ_OPT_WS | FZ_OPT_SACK | FZ_OPT_TS, VNAT_TCP_ESTABLISHED);
    sock(2)->rx_avail = 3000;
    vnat_on_readable(host.nat, host.now, toks[2]);
    fz_check(&host);
    open_flow(3, FZ_OPT_MSS, VNAT_TCP_ESTABLISHED);
    fz_guest_tcp(&host, 3, DST, VW_TCP_ACK | VW_TCP_PSH, peer(3)->guest_nxt, peer(3)->core_nxt,
                 65535, 0, data, sizeof data);
    fz_check(&host);
    open_flow(4, FZ_OPT_MSS, VNAT_TCP_ESTABLISHED);
    ack_now(4, VW_TCP_FIN | VW_TCP_ACK, 65535);
    open_flow(5, 0, VNAT_TCP_ESTABLISHED);
    sock(5)->rx_eof = true;
    vnat_on_readable(host.nat, host.now, toks[5]);
    fz_check(&host);
    open_flow(6, FZ_OPT_MSS | FZ_OPT_WS, VNAT_TCP_ESTABLISHED);
    ack_now(6, VW_TCP_FIN | VW_TCP_ACK, 65535);
    sock(6)->rx_eof = true;
    vnat_on_readable(host.nat, host.now, toks[6]);
    fz_check(&host);
    open_flow(7, FZ_OPT_MSS, VNAT_TCP_ESTABLISHED);
    ack_now(7, VW_TCP_ACK, 0);
    sock(7)->rx_avail = 500;
    vnat_on_readable(host.nat, host.now, toks[7]);
    fz_check(&host);

    expect_state(VNAT_TCP_CONNECTING, 1);
    expect_state(VNAT_TCP_SYN_RCVD, 1);
    expect_state(VNAT_TCP_ESTABLISHED, 3);
    expect_state(VNAT_TCP_GUEST_FIN, 1);
    expect_state(VNAT_TCP_HOST_FIN, 1);
    expect_state(VNAT_TCP_BOTH_FIN, 1);
    memcpy(saved_arena, arena, arena_used);
    saved_host = host;
}

/* Aim the frame at flow p: addresses, ports, optionally relative seq/ack;
 * then repair lengths and checksums. */
static void aim(uint8_t *f, size_t len, unsigned p, int rebase)
{
    if (len < VW_ETH_HLEN)
        return;
    memcpy(f, host.cfg.gateway_mac, 6);
    memcpy(f + 6, host.cfg.guest_mac, 6);
    vw_put16(f + 12, VW_ETH_P_IPV4);
    if (len < VW_ETH_HLEN + VW_IPV4_HLEN)
        return;
    uint8_t *ip = f + VW_ETH_HLEN;
    unsigned ihl = ip[0] & 15;
    ip[0] = (uint8_t)(0x40 | (ihl < 5 ? 5 : ihl));
    size_t ihl_bytes = (size_t)(ip[0] & 15) * 4;
    if (VW_ETH_HLEN + ihl_bytes > len) {
        ip[0] = 0x45;
        ihl_bytes = VW_IPV4_HLEN;
    }
    if (ip[8] == 0)
        ip[8] = 64;
    ip[9] = VW_IPPROTO_TCP;
    struct vnat_sockaddr d = fz_dst(DST);
    memcpy(ip + 12, host.cfg.guest_ip.addr, 4);
    memcpy(ip + 16, d.ip.addr, 4);
    uint8_t *tcp = ip + ihl_bytes;
    if (VW_ETH_HLEN + ihl_bytes + VW_TCP_HLEN <= len) {
        vw_put16(tcp, FZ_GUEST_PORT(p));
        vw_put16(tcp + 2, d.port);
        if (rebase) {
            const struct fz_peer *pr = peer(p);
            uint32_t base = pr->core_ack != 0 ? pr->core_ack : pr->guest_nxt;
            vw_put32(tcp + 4, base + (uint32_t)(int32_t)(int16_t)vw_get16(tcp + 6));
            vw_put32(tcp + 8, pr->core_nxt + (uint32_t)(int32_t)(int16_t)vw_get16(tcp + 10));
        }
    }
    fz_fix_frame(f, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        prelude();
        ready = 1;
    }
    memcpy(arena, saved_arena, arena_used);
    host = saved_host;
    if (size == 0)
        return 0;
    uint8_t sel = data[0];
    size_t len = size - 1;
    if (len > sizeof frame)
        len = sizeof frame;
    memcpy(frame, data + 1, len);
    unsigned p = sel & 7;
    if (sel & 0x08)
        aim(frame, len, p, sel & 0x10);
    struct fz_src res;
    fz_src_init(&res, data + 1, size - 1);
    host.res = (sel & 0x20) ? &res : NULL;
    host.now += 1000000ull;
    vnat_on_guest_frame(host.nat, host.now, frame, len);
    fz_check(&host);
    if (sel & 0x40) {
        struct fz_sock *s = fz_sock_by_tok(&host, toks[p]);
        if (s != NULL) {
            s->rx_avail += 2000;
            vnat_on_readable(host.nat, host.now, s->tok);
            fz_check(&host);
        }
        vnat_on_link_writable(host.nat, host.now);
        fz_check(&host);
        host.now += 1500000000ull;
        vnat_on_tick(host.nat, host.now);
        fz_check(&host);
        host.now += 3ull * 3600 * 1000000000ull;
        vnat_on_tick(host.nat, host.now);
        fz_check(&host);
    }
    host.res = NULL;
    fz_host_finish(&host);
    return 0;
}

#ifdef VNAT_LIBFUZZER
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* Raw-mode inputs (no fix-up bit) get their lengths and checksums repaired
 * after half the mutations, so the fuzzer explores both valid frames and
 * the checks that reject invalid ones. */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    size = LLVMFuzzerMutate(data, size, max_size);
    if (size > 1 && (seed & 1) && !(data[0] & 0x08))
        fz_fix_frame(data + 1, size - 1);
    return size;
}
#endif
