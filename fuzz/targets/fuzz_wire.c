/*
 * fuzz_wire.c — libFuzzer target for the wire layer. Every parser runs on
 * the input as a whole (so each sees hostile bytes at offset 0), the full
 * Ethernet -> IP -> transport stack runs as the core would, and whatever
 * parses is rebuilt with the builders and parsed again: the round trip must
 * give the same fields. RFC 1624 updates are checked against a recompute.
 * A mismatch traps, so the fuzzer reports it as a crash.
 */
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

/* Big enough for any frame the round trips rebuild (TCP header + IPv4 max). */
static uint8_t scratch[14 + 40 + 60 + 65536];

static void tcp_round_trip(const struct vw_tcp *t)
{
    struct vw_tcp_out o = {.sport = t->sport,
                           .dport = t->dport,
                           .seq = t->seq,
                           .ack = t->ack,
                           .flags = t->flags,
                           .window = t->window,
                           .opt_mss = t->has_mss,
                           .opt_wscale = t->has_wscale,
                           .opt_sack_perm = t->sack_permitted,
                           .opt_ts = t->has_ts,
                           .mss = t->mss,
                           .wscale = t->wscale,
                           .ts_val = t->ts_val,
                           .ts_ecr = t->ts_ecr};
    uint8_t b[VW_TCP_MAX_HLEN];
    size_t h = vw_tcp_build(b, sizeof b, &o);
    CHECK(h == vw_tcp_hdr_len(&o) && h >= VW_TCP_HLEN && h <= 40 && h % 4 == 0);
    struct vw_tcp r;
    CHECK(vw_tcp_parse(b, h, &r) == VW_OK);
    CHECK(r.sport == t->sport && r.dport == t->dport && r.seq == t->seq && r.ack == t->ack);
    CHECK(r.flags == t->flags && r.window == t->window && r.hdr_len == h);
    CHECK(r.has_mss == t->has_mss && (!r.has_mss || r.mss == t->mss));
    CHECK(r.has_wscale == t->has_wscale && (!r.has_wscale || r.wscale == t->wscale));
    CHECK(r.sack_permitted == t->sack_permitted && r.has_ts == t->has_ts);
    CHECK(!r.has_ts || (r.ts_val == t->ts_val && r.ts_ecr == t->ts_ecr));
    CHECK(r.sack_count == 0 && r.payload_len == 0);
    CHECK(vw_tcp_build(b, h - 1, &o) == 0);
}

static void l4_round_trip4(const struct vw_ipv4 *ip, const uint8_t *payload, size_t len)
{
    /* Rebuild a UDP frame carrying the same payload and check that the
     * checksum it writes verifies and the parser gets the bytes back. */
    struct vw_l2l3 a = {.eth_dst = (const uint8_t *)"\x02\0\0\0\0\1",
                        .eth_src = (const uint8_t *)"\x02\0\0\0\0\2",
                        .ip_src = ip->src,
                        .ip_dst = ip->dst,
                        .ip_id = ip->id,
                        .ttl = ip->ttl};
    if (len > sizeof scratch - VW_UDP4_PAYLOAD_OFF)
        return;
    memcpy(scratch + VW_UDP4_PAYLOAD_OFF, payload, len);
    size_t n = vw_udp4_frame(scratch, sizeof scratch, &a, 1, 2, len);
    if (len > 0xFFFF - 28) {
        CHECK(n == 0);
        return;
    }
    CHECK(n == VW_UDP4_PAYLOAD_OFF + len);
    struct vw_ipv4 h;
    struct vw_udp u;
    CHECK(vw_ipv4_parse(scratch + 14, n - 14, &h) == VW_OK);
    CHECK(vw_l4_csum_ok4(h.src, h.dst, h.proto, h.payload, h.payload_len));
    CHECK(vw_udp_parse(h.payload, h.payload_len, &u) == VW_OK);
    CHECK(u.payload_len == len && memcmp(u.payload, payload, len) == 0);
}

static void stack(const uint8_t *data, size_t size)
{
    struct vw_eth e;
    if (vw_eth_parse(data, size, &e) != VW_OK)
        return;
    CHECK(e.payload + e.payload_len == data + size);
    if (!e.vlan) {
        uint8_t b[VW_ETH_HLEN];
        CHECK(vw_eth_build(b, sizeof b, e.dst, e.src, e.ethertype) == VW_ETH_HLEN);
        CHECK(memcmp(b, data, VW_ETH_HLEN) == 0);
    }
    const uint8_t *l4 = NULL;
    size_t l4len = 0;
    uint8_t proto = 0;
    if (e.ethertype == VW_ETH_P_ARP) {
        struct vw_arp a;
        if (vw_arp_parse(e.payload, e.payload_len, &a) == VW_OK) {
            uint8_t b[VW_ARP_LEN];
            CHECK(vw_arp_build(b, sizeof b, a.op, a.sha, a.spa, a.tha, a.tpa) == VW_ARP_LEN);
            CHECK(memcmp(b, e.payload, VW_ARP_LEN) == 0);
        }
        return;
    }
    if (e.ethertype == VW_ETH_P_IPV4) {
        struct vw_ipv4 ip;
        if (vw_ipv4_parse(e.payload, e.payload_len, &ip) != VW_OK)
            return;
        CHECK(ip.ihl_bytes >= 20 && ip.ihl_bytes <= 60 && ip.payload_len <= e.payload_len);
        CHECK(ip.payload + ip.payload_len <= e.payload + e.payload_len);
        l4 = ip.payload;
        l4len = ip.payload_len;
        proto = ip.proto;
        if (proto == VW_IPPROTO_TCP || proto == VW_IPPROTO_UDP)
            (void)vw_l4_csum_ok4(ip.src, ip.dst, proto, l4, l4len);
        if (proto == VW_IPPROTO_UDP)
            l4_round_trip4(&ip, l4, l4len);
    } else if (e.ethertype == VW_ETH_P_IPV6) {
        struct vw_ipv6 ip;
        if (vw_ipv6_parse(e.payload, e.payload_len, &ip) != VW_OK)
            return;
        CHECK(ip.ext_count <= VW_IPV6_MAX_EXT);
        CHECK(ip.payload >= e.payload + 40 && ip.payload + ip.payload_len <= data + size);
        l4 = ip.payload;
        l4len = ip.payload_len;
        proto = ip.upper_proto;
        (void)vw_l4_csum_ok6(ip.src, ip.dst, proto, l4, l4len);
        if (ip.is_fragment)
            return;
    } else {
        return;
    }
    if (proto == VW_IPPROTO_TCP) {
        struct vw_tcp t;
        if (vw_tcp_parse(l4, l4len, &t) == VW_OK) {
            CHECK(t.hdr_len >= 20 && t.hdr_len <= 60 && t.sack_count <= VW_TCP_MAX_SACK);
            CHECK(t.payload + t.payload_len == l4 + l4len);
            tcp_round_trip(&t);
        }
    } else if (proto == VW_IPPROTO_UDP) {
        struct vw_udp u;
        if (vw_udp_parse(l4, l4len, &u) == VW_OK) {
            CHECK(u.payload_len + 8 == u.length && u.length <= l4len);
            struct vw_dhcp d;
            if (vw_dhcp_parse(u.payload, u.payload_len, &d) == VW_OK) {
                const uint8_t *v;
                (void)vw_dhcp_find(&d, VW_DHCP_OPT_MSG_TYPE, &v);
            }
        }
    } else if (proto == VW_IPPROTO_ICMP) {
        struct vw_icmp m;
        (void)vw_icmp4_parse(l4, l4len, &m);
    } else if (proto == VW_IPPROTO_ICMPV6) {
        struct vw_icmp m;
        if (vw_icmp6_parse(l4, l4len, &m) == VW_OK && m.type >= 133 && m.type <= 137) {
            struct vw_ndp_iter it;
            uint8_t type;
            size_t len;
            const uint8_t *p;
            /* NS/NA/RA have 16 or more fixed bytes; walk from 16 for the fuzz. */
            if (l4len >= 24) {
                vw_ndp_iter_init(&it, l4 + 24, l4len - 24);
                for (unsigned i = 0; i < 65536 && vw_ndp_iter_next(&it, &type, &len, &p) == 1; i++)
                    CHECK(len >= 8 && p + len <= l4 + l4len);
            }
        }
    }
}

static void dhcp_round_trip(const uint8_t *data, size_t size)
{
    struct vw_dhcp d;
    if (size > 60000 || vw_dhcp_parse(data, size, &d) != VW_OK)
        return; /* the copy below must fit in b */
    /* Re-emit the fixed part and every option the iterator yields, then
     * walk the copy: the same options must come back in the same order. */
    struct vw_dhcp_out o = {.op = d.op,
                            .xid = d.xid,
                            .secs = d.secs,
                            .flags = d.flags,
                            .ciaddr = d.ciaddr,
                            .yiaddr = d.yiaddr,
                            .siaddr = d.siaddr,
                            .giaddr = d.giaddr,
                            .chaddr = d.chaddr};
    static uint8_t b[65536];
    size_t off = vw_dhcp_build(b, sizeof b, &o);
    CHECK(off == VW_DHCP_OPTS_OFF);
    struct vw_dhcp_iter it;
    uint8_t code, len;
    const uint8_t *v;
    int rc;
    unsigned count = 0;
    vw_dhcp_iter_init(&it, &d);
    while ((rc = vw_dhcp_iter_next(&it, &code, &len, &v)) == 1) {
        CHECK(v >= d.options && v + len <= d.options + d.options_len);
        off = vw_dhcp_opt_put(b, sizeof b, off, code, len, v);
        CHECK(off != 0);
        count++;
    }
    CHECK(rc == 0 || rc == VW_EOPT);
    off = vw_dhcp_opt_end(b, sizeof b, off);
    CHECK(off != 0);
    struct vw_dhcp r;
    CHECK(vw_dhcp_parse(b, off, &r) == VW_OK);
    CHECK(r.xid == d.xid && memcmp(r.yiaddr, d.yiaddr, 4) == 0);
    struct vw_dhcp_iter a, c;
    vw_dhcp_iter_init(&a, &d);
    vw_dhcp_iter_init(&c, &r);
    for (unsigned i = 0; i < count; i++) {
        uint8_t c1, l1, c2, l2;
        const uint8_t *v1, *v2;
        CHECK(vw_dhcp_iter_next(&a, &c1, &l1, &v1) == 1);
        CHECK(vw_dhcp_iter_next(&c, &c2, &l2, &v2) == 1);
        CHECK(c1 == c2 && l1 == l2 && memcmp(v1, v2, l1) == 0);
    }
    CHECK(vw_dhcp_iter_next(&c, &code, &len, &v) == 0);
}

static void csum_checks(const uint8_t *data, size_t size)
{
    if (size < 4 || size > 4096)
        return;
    /* Change the first word to the last two bytes and compare RFC 1624 with
     * a full recompute (skipping all-zero data, where +0/-0 differ). */
    static uint8_t b[4096];
    memcpy(b, data, size);
    uint16_t c = vw_csum_fold(vw_csum_add(0, b, size));
    uint16_t oldw = vw_get16(b);
    uint16_t neww = vw_get16(data + size - 2);
    vw_put16(b, neww);
    if (vw_csum_add(0, b, size) == 0)
        return;
    CHECK(vw_csum_update16(c, oldw, neww) == vw_csum_fold(vw_csum_add(0, b, size)));
    if (size >= 8) {
        uint32_t o32 = vw_get32(b + 4);
        uint32_t n32 = vw_get32(data);
        uint16_t c2 = vw_csum_fold(vw_csum_add(0, b, size));
        vw_put32(b + 4, n32);
        if (vw_csum_add(0, b, size) == 0)
            return;
        CHECK(vw_csum_update32(c2, o32, n32) == vw_csum_fold(vw_csum_add(0, b, size)));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stack(data, size);
    /* Every parser on the raw input, too. */
    struct vw_arp arp;
    struct vw_ipv4 ip4;
    struct vw_ipv6 ip6;
    struct vw_tcp tcp;
    struct vw_udp udp;
    struct vw_icmp icmp;
    (void)vw_arp_parse(data, size, &arp);
    if (vw_ipv4_parse(data, size, &ip4) == VW_OK)
        CHECK(ip4.total_len <= size && ip4.payload_len + ip4.ihl_bytes == ip4.total_len);
    if (vw_ipv6_parse(data, size, &ip6) == VW_OK)
        CHECK(ip6.payload + ip6.payload_len <= data + size);
    if (vw_tcp_parse(data, size, &tcp) == VW_OK)
        tcp_round_trip(&tcp);
    if (vw_udp_parse(data, size, &udp) == VW_OK)
        CHECK(udp.payload_len + 8 <= size);
    (void)vw_icmp4_parse(data, size, &icmp);
    (void)vw_icmp6_parse(data, size, &icmp);
    dhcp_round_trip(data, size);
    struct vw_ndp_iter it;
    uint8_t type;
    size_t len;
    const uint8_t *p;
    vw_ndp_iter_init(&it, data, size);
    for (size_t i = 0; i <= size && vw_ndp_iter_next(&it, &type, &len, &p) == 1; i++)
        CHECK(p + len <= data + size);
    csum_checks(data, size);
    return 0;
}

#ifdef VNAT_LIBFUZZER
#include "fuzzhost.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* After half the mutations, repair IPv4 lengths and checksums (fz_fix_frame)
 * so the L4 parsers and round trips see valid frames as well as broken ones. */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    size = LLVMFuzzerMutate(data, size, max_size);
    if (seed & 1)
        fz_fix_frame(data, size);
    return size;
}
#endif
