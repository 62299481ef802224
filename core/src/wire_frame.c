/*
 * wire_frame.c — whole-frame builders (Ethernet + IP + transport) for the
 * core's output. The payload is already in place (the core peeks host bytes
 * straight into the frame), so these only write headers in front of it and
 * fill the checksums; nothing is copied twice.
 */
#include "wire.h"

#include <string.h>

/* The largest transport message an IPv4/IPv6 header here can describe. */
#define VW_IPV4_MAX_L4 (0xFFFFu - VW_IPV4_HLEN)
#define VW_IPV6_MAX_L4 0xFFFFu

/* Ethernet + IPv4 header in front of an l4-byte transport message: returns
 * where the transport header goes and the frame's total length, or NULL if
 * the message is too long for IPv4 or the buffer too small. */
static uint8_t *ip4_head(uint8_t *frame, size_t cap, const struct vw_l2l3 *a, uint8_t proto,
                         size_t l4, size_t *total)
{
    if (l4 > VW_IPV4_MAX_L4)
        return NULL;
    *total = VW_ETH_HLEN + VW_IPV4_HLEN + l4;
    if (cap < *total)
        return NULL;
    vw_eth_build(frame, cap, a->eth_dst, a->eth_src, VW_ETH_P_IPV4);
    vw_ipv4_build(frame + VW_ETH_HLEN, VW_IPV4_HLEN, a->ip_src, a->ip_dst, proto, a->ip_id, a->ttl,
                  l4);
    return frame + VW_ETH_HLEN + VW_IPV4_HLEN;
}

/* The same for IPv6. */
static uint8_t *ip6_head(uint8_t *frame, size_t cap, const struct vw_l2l3v6 *a, uint8_t next,
                         size_t l4, size_t *total)
{
    if (l4 > VW_IPV6_MAX_L4)
        return NULL;
    *total = VW_ETH_HLEN + VW_IPV6_HLEN + l4;
    if (cap < *total)
        return NULL;
    vw_eth_build(frame, cap, a->eth_dst, a->eth_src, VW_ETH_P_IPV6);
    vw_ipv6_build(frame + VW_ETH_HLEN, VW_IPV6_HLEN, a->ip_src, a->ip_dst, next, a->hop_limit, l4);
    return frame + VW_ETH_HLEN + VW_IPV6_HLEN;
}

/* Store a UDP checksum: a computed 0 is sent as 0xFFFF, since 0 means "no
 * checksum". */
static void udp_csum_put(uint8_t *udp, uint32_t pseudo, size_t l4)
{
    uint16_t c = vw_csum_fold(vw_csum_add(pseudo, udp, l4));
    vw_put16(udp + 6, c == 0 ? 0xFFFF : c);
}

static void icmp_header(uint8_t *icmp, uint8_t type, uint8_t code, const uint8_t rest[4])
{
    icmp[0] = type;
    icmp[1] = code;
    vw_put16(icmp + 2, 0);
    if (rest != NULL)
        memcpy(icmp + 4, rest, 4);
    else
        memset(icmp + 4, 0, 4);
}

size_t vw_tcp4_frame(uint8_t *frame, size_t cap, const struct vw_l2l3 *a,
                     const struct vw_tcp_out *t, size_t payload_len)
{
    size_t hlen = vw_tcp_hdr_len(t), total = 0;
    if (payload_len > VW_IPV4_MAX_L4)
        return 0;
    uint8_t *tcp = ip4_head(frame, cap, a, VW_IPPROTO_TCP, hlen + payload_len, &total);
    if (tcp == NULL)
        return 0;
    vw_tcp_build(tcp, hlen, t);
    size_t l4 = hlen + payload_len;
    uint32_t sum = vw_pseudo4(a->ip_src, a->ip_dst, VW_IPPROTO_TCP, (uint32_t)l4);
    vw_put16(tcp + 16, vw_csum_fold(vw_csum_add(sum, tcp, l4)));
    return total;
}

size_t vw_udp4_frame(uint8_t *frame, size_t cap, const struct vw_l2l3 *a, uint16_t sport,
                     uint16_t dport, size_t payload_len)
{
    size_t total = 0;
    if (payload_len > VW_IPV4_MAX_L4)
        return 0;
    size_t l4 = VW_UDP_HLEN + payload_len;
    uint8_t *udp = ip4_head(frame, cap, a, VW_IPPROTO_UDP, l4, &total);
    if (udp == NULL)
        return 0;
    vw_udp_build(udp, VW_UDP_HLEN, sport, dport, payload_len);
    udp_csum_put(udp, vw_pseudo4(a->ip_src, a->ip_dst, VW_IPPROTO_UDP, (uint32_t)l4), l4);
    return total;
}

size_t vw_icmp4_frame(uint8_t *frame, size_t cap, const struct vw_l2l3 *a, uint8_t type,
                      uint8_t code, const uint8_t rest[4], size_t payload_len)
{
    size_t total = 0;
    if (payload_len > VW_IPV4_MAX_L4)
        return 0;
    size_t l4 = VW_ICMP_HLEN + payload_len;
    uint8_t *icmp = ip4_head(frame, cap, a, VW_IPPROTO_ICMP, l4, &total);
    if (icmp == NULL)
        return 0;
    icmp_header(icmp, type, code, rest);
    vw_put16(icmp + 2, vw_csum_fold(vw_csum_add(0, icmp, l4)));
    return total;
}

size_t vw_tcp6_frame(uint8_t *frame, size_t cap, const struct vw_l2l3v6 *a,
                     const struct vw_tcp_out *t, size_t payload_len)
{
    size_t hlen = vw_tcp_hdr_len(t), total = 0;
    if (payload_len > VW_IPV6_MAX_L4)
        return 0;
    uint8_t *tcp = ip6_head(frame, cap, a, VW_IPPROTO_TCP, hlen + payload_len, &total);
    if (tcp == NULL)
        return 0;
    vw_tcp_build(tcp, hlen, t);
    size_t l4 = hlen + payload_len;
    uint32_t sum = vw_pseudo6(a->ip_src, a->ip_dst, VW_IPPROTO_TCP, (uint32_t)l4);
    vw_put16(tcp + 16, vw_csum_fold(vw_csum_add(sum, tcp, l4)));
    return total;
}

size_t vw_udp6_frame(uint8_t *frame, size_t cap, const struct vw_l2l3v6 *a, uint16_t sport,
                     uint16_t dport, size_t payload_len)
{
    size_t total = 0;
    if (payload_len > VW_IPV6_MAX_L4)
        return 0;
    size_t l4 = VW_UDP_HLEN + payload_len;
    uint8_t *udp = ip6_head(frame, cap, a, VW_IPPROTO_UDP, l4, &total);
    if (udp == NULL)
        return 0;
    vw_udp_build(udp, VW_UDP_HLEN, sport, dport, payload_len);
    udp_csum_put(udp, vw_pseudo6(a->ip_src, a->ip_dst, VW_IPPROTO_UDP, (uint32_t)l4), l4);
    return total;
}

size_t vw_icmp6_frame(uint8_t *frame, size_t cap, const struct vw_l2l3v6 *a, uint8_t type,
                      uint8_t code, const uint8_t rest[4], size_t payload_len)
{
    size_t total = 0;
    if (payload_len > VW_IPV6_MAX_L4)
        return 0;
    size_t l4 = VW_ICMP_HLEN + payload_len;
    uint8_t *icmp = ip6_head(frame, cap, a, VW_IPPROTO_ICMPV6, l4, &total);
    if (icmp == NULL)
        return 0;
    icmp_header(icmp, type, code, rest);
    uint32_t sum = vw_pseudo6(a->ip_src, a->ip_dst, VW_IPPROTO_ICMPV6, (uint32_t)l4);
    vw_put16(icmp + 2, vw_csum_fold(vw_csum_add(sum, icmp, l4)));
    return total;
}
