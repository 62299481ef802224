/* wire_frame_pins.c — the whole-frame builders: the payload placed first
 * stays put, headers and both checksums are right (the parsers and the
 * checksum checks accept them), a too-small buffer gives 0, and a built
 * frame cut at every byte offset fails the full parse stack. */
#include "pin.h"

#include <stdlib.h>
#include <string.h>

#include "wire.h"

static const uint8_t gw_mac[6] = {0x52, 0x55, 0x0A, 0x00, 0x02, 0x02};
static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t gw_ip[4] = {10, 0, 2, 2};
static const uint8_t guest_ip[4] = {10, 0, 2, 15};
static const uint8_t gw6[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
static const uint8_t guest6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x15};

/* Ethernet -> IPv4/IPv6 -> TCP/UDP/ICMP with every checksum, as the core
 * would check a guest frame. Returns the L4 protocol or a negative status. */
static int parse_stack(const uint8_t *f, size_t n)
{
    struct vw_eth e;
    int rc = vw_eth_parse(f, n, &e);
    if (rc < 0)
        return rc;
    const uint8_t *l4;
    size_t l4len;
    uint8_t proto;
    bool v6 = e.ethertype == VW_ETH_P_IPV6;
    struct vw_ipv4 h4;
    struct vw_ipv6 h6;
    if (v6) {
        if ((rc = vw_ipv6_parse(e.payload, e.payload_len, &h6)) < 0)
            return rc;
        l4 = h6.payload;
        l4len = h6.payload_len;
        proto = h6.upper_proto;
        if (!vw_l4_csum_ok6(h6.src, h6.dst, proto, l4, l4len))
            return VW_ECSUM;
    } else {
        if ((rc = vw_ipv4_parse(e.payload, e.payload_len, &h4)) < 0)
            return rc;
        l4 = h4.payload;
        l4len = h4.payload_len;
        proto = h4.proto;
        if (proto != VW_IPPROTO_ICMP && !vw_l4_csum_ok4(h4.src, h4.dst, proto, l4, l4len))
            return VW_ECSUM;
    }
    if (proto == VW_IPPROTO_TCP) {
        struct vw_tcp t;
        rc = vw_tcp_parse(l4, l4len, &t);
    } else if (proto == VW_IPPROTO_UDP) {
        struct vw_udp u;
        rc = vw_udp_parse(l4, l4len, &u);
    } else if (proto == VW_IPPROTO_ICMP) {
        struct vw_icmp m;
        rc = vw_icmp4_parse(l4, l4len, &m);
    } else {
        struct vw_icmp m;
        rc = vw_icmp6_parse(l4, l4len, &m);
    }
    return rc < 0 ? rc : proto;
}

static int parse_stack_exact(const uint8_t *f, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    assert_non_null(c);
    if (n)
        memcpy(c, f, n);
    int rc = parse_stack(c, n);
    free(c);
    return rc;
}

static void every_cut_fails(const uint8_t *f, size_t n)
{
    for (size_t k = 0; k < n; k++)
        assert_true(parse_stack_exact(f, k) < 0);
}

static const struct vw_l2l3 a4 = {.eth_dst = guest_mac,
                                  .eth_src = gw_mac,
                                  .ip_src = gw_ip,
                                  .ip_dst = guest_ip,
                                  .ip_id = 0x1234,
                                  .ttl = 64};
static const struct vw_l2l3v6 a6 = {
    .eth_dst = guest_mac, .eth_src = gw_mac, .ip_src = gw6, .ip_dst = guest6, .hop_limit = 255};

PIN(tcp4_frame_round_trips_with_payload_in_place)
{
    struct vw_tcp_out t = {.sport = 80,
                           .dport = 40000,
                           .seq = 1000,
                           .ack = 2000,
                           .flags = VW_TCP_ACK | VW_TCP_PSH,
                           .window = 512,
                           .opt_ts = true,
                           .ts_val = 1,
                           .ts_ecr = 2};
    uint8_t f[200];
    size_t off = vw_tcp4_payload_off(&t);
    assert_int_equal(off, 14 + 20 + 32);
    memcpy(f + off, "hello, guest", 12);
    size_t n = vw_tcp4_frame(f, sizeof f, &a4, &t, 12);
    assert_int_equal(n, off + 12);
    assert_int_equal(parse_stack(f, n), VW_IPPROTO_TCP);
    struct vw_eth e;
    struct vw_ipv4 h;
    struct vw_tcp s;
    assert_int_equal(vw_eth_parse(f, n, &e), VW_OK);
    assert_memory_equal(e.dst, guest_mac, 6);
    assert_memory_equal(e.src, gw_mac, 6);
    assert_int_equal(vw_ipv4_parse(e.payload, e.payload_len, &h), VW_OK);
    assert_int_equal(h.id, 0x1234);
    assert_memory_equal(h.src, gw_ip, 4);
    assert_int_equal(vw_tcp_parse(h.payload, h.payload_len, &s), VW_OK);
    assert_int_equal(s.seq, 1000);
    assert_true(s.has_ts);
    assert_int_equal(s.payload_len, 12);
    assert_memory_equal(s.payload, "hello, guest", 12);
    assert_int_equal(vw_tcp4_frame(f, n - 1, &a4, &t, 12), 0);
    every_cut_fails(f, n);
    /* a corrupted payload byte fails the TCP checksum */
    f[n - 1] ^= 0x20;
    assert_int_equal(parse_stack(f, n), VW_ECSUM);
}

PIN(udp4_frame_round_trips_and_never_sends_zero_checksum)
{
    uint8_t f[100];
    memcpy(f + VW_UDP4_PAYLOAD_OFF, "dns?", 4);
    size_t n = vw_udp4_frame(f, sizeof f, &a4, 53, 33333, 4);
    assert_int_equal(n, VW_UDP4_PAYLOAD_OFF + 4);
    assert_int_equal(parse_stack(f, n), VW_IPPROTO_UDP);
    assert_int_not_equal(vw_get16(f + 34 + 6), 0);
    assert_int_equal(vw_udp4_frame(f, n - 1, &a4, 53, 33333, 4), 0);
    every_cut_fails(f, n);
    /* Search payloads for one whose checksum computes to 0: it must be sent
     * as 0xFFFF (0 would mean "no checksum"). */
    bool found = false;
    for (uint32_t v = 0; v < 0x10000 && !found; v++) {
        vw_put16(f + VW_UDP4_PAYLOAD_OFF, (uint16_t)v);
        n = vw_udp4_frame(f, sizeof f, &a4, 53, 33333, 2);
        if (vw_get16(f + 34 + 6) == 0xFFFF) {
            found = true;
            assert_int_equal(parse_stack(f, n), VW_IPPROTO_UDP);
        }
        assert_int_not_equal(vw_get16(f + 34 + 6), 0);
    }
    assert_true(found);
}

PIN(icmp4_frame_round_trips)
{
    uint8_t f[100];
    const uint8_t rest[4] = {0x42, 0x42, 0, 9};
    memcpy(f + VW_ICMP4_PAYLOAD_OFF, "pingdata", 8);
    size_t n = vw_icmp4_frame(f, sizeof f, &a4, VW_ICMP_ECHO_REPLY, 0, rest, 8);
    assert_int_equal(n, VW_ICMP4_PAYLOAD_OFF + 8);
    assert_int_equal(parse_stack(f, n), VW_IPPROTO_ICMP);
    struct vw_icmp m;
    assert_int_equal(vw_icmp4_parse(f + 34, n - 34, &m), VW_OK);
    assert_int_equal(m.id, 0x4242);
    assert_int_equal(m.seq, 9);
    assert_memory_equal(m.payload, "pingdata", 8);
    assert_int_equal(vw_icmp4_frame(f, n - 1, &a4, 0, 0, rest, 8), 0);
    every_cut_fails(f, n);
}

PIN(ipv6_frames_round_trip)
{
    uint8_t f[200];
    struct vw_tcp_out t = {.sport = 22,
                           .dport = 50000,
                           .flags = VW_TCP_SYN | VW_TCP_ACK,
                           .opt_mss = true,
                           .mss = 1440,
                           .opt_wscale = true,
                           .wscale = 7,
                           .opt_sack_perm = true};
    size_t n = vw_tcp6_frame(f, sizeof f, &a6, &t, 0);
    assert_int_equal(n, vw_tcp6_payload_off(&t));
    assert_int_equal(parse_stack(f, n), VW_IPPROTO_TCP);
    every_cut_fails(f, n);
    assert_int_equal(vw_tcp6_frame(f, n - 1, &a6, &t, 0), 0);
    memcpy(f + VW_UDP6_PAYLOAD_OFF, "v6", 2);
    n = vw_udp6_frame(f, sizeof f, &a6, 547, 546, 2);
    assert_int_equal(n, VW_UDP6_PAYLOAD_OFF + 2);
    assert_int_equal(parse_stack(f, n), VW_IPPROTO_UDP);
    every_cut_fails(f, n);
    n = vw_icmp6_frame(f, sizeof f, &a6, VW_ICMP6_ECHO_REPLY, 0, NULL, 0);
    assert_int_equal(n, VW_ICMP6_PAYLOAD_OFF);
    assert_int_equal(parse_stack(f, n), VW_IPPROTO_ICMPV6);
    f[n - 1] ^= 1; /* rest bytes are covered by the checksum */
    assert_int_equal(parse_stack(f, n), VW_ECSUM);
    assert_int_equal(vw_icmp6_frame(f, VW_ICMP6_PAYLOAD_OFF - 1, &a6, 1, 0, NULL, 0), 0);
    assert_int_equal(vw_udp6_frame(f, VW_UDP6_PAYLOAD_OFF + 1, &a6, 1, 2, 2), 0);
}

PIN(frame_builders_refuse_oversized_payloads)
{
    static uint8_t f[70000];
    struct vw_tcp_out t = {.flags = VW_TCP_ACK};
    /* IPv4 total length is 16 bits: 20 + 20 + payload must fit. */
    assert_int_equal(vw_tcp4_frame(f, sizeof f, &a4, &t, 65535 - 40 + 1), 0);
    assert_int_equal(vw_tcp4_frame(f, sizeof f, &a4, &t, 65535 - 40), 14 + 65535);
    assert_int_equal(vw_udp4_frame(f, sizeof f, &a4, 1, 2, 65535 - 28 + 1), 0);
    assert_int_equal(vw_icmp4_frame(f, sizeof f, &a4, 0, 0, NULL, 65535 - 28 + 1), 0);
    assert_int_equal(vw_udp6_frame(f, sizeof f, &a6, 1, 2, 65535 - 8 + 1), 0);
    assert_int_equal(vw_tcp6_frame(f, sizeof f, &a6, &t, 65535 - 20 + 1), 0);
    assert_int_equal(vw_icmp6_frame(f, sizeof f, &a6, 0, 0, NULL, 65535 - 8 + 1), 0);
    assert_int_equal(vw_tcp4_frame(f, sizeof f, &a4, &t, (size_t)-1), 0);
    /* The largest each family allows is taken (IPv6's payload length is
     * the 16-bit field itself, 40 header bytes outside it), into a buffer
     * of exactly its size and not one byte less (tools/mutate: the
     * builders' length bounds). */
    assert_int_equal(vw_udp4_frame(f, sizeof f, &a4, 1, 2, 65535 - 28), 14 + 65535);
    assert_int_equal(vw_icmp4_frame(f, sizeof f, &a4, 0, 0, NULL, 65535 - 28), 14 + 65535);
    assert_int_equal(vw_udp6_frame(f, sizeof f, &a6, 1, 2, 65535 - 8), 14 + 40 + 65535);
    assert_int_equal(vw_tcp6_frame(f, sizeof f, &a6, &t, 65535 - 20), 14 + 40 + 65535);
    assert_int_equal(vw_icmp6_frame(f, sizeof f, &a6, 0, 0, NULL, 65535 - 8), 14 + 40 + 65535);
    assert_int_equal(vw_udp4_frame(f, 14 + 65535, &a4, 1, 2, 65535 - 28), 14 + 65535);
    assert_int_equal(vw_udp4_frame(f, 14 + 65535 - 1, &a4, 1, 2, 65535 - 28), 0);
    assert_int_equal(vw_udp6_frame(f, 14 + 40 + 65535, &a6, 1, 2, 65535 - 8), 14 + 40 + 65535);
    assert_int_equal(vw_udp6_frame(f, 14 + 40 + 65535 - 1, &a6, 1, 2, 65535 - 8), 0);
}

PIN_MAIN(cmocka_unit_test(tcp4_frame_round_trips_with_payload_in_place),
         cmocka_unit_test(udp4_frame_round_trips_and_never_sends_zero_checksum),
         cmocka_unit_test(icmp4_frame_round_trips), cmocka_unit_test(ipv6_frames_round_trip),
         cmocka_unit_test(frame_builders_refuse_oversized_payloads))
