/*
 * frame.c — the guest-frame dispatcher: the one place a guest frame enters
 * the core. Every byte is hostile until a wire-layer parser has checked it.
 *
 * THE SEAM FOR GUEST SERVICES. Ethernet -> IPv4 -> TCP is handled here and
 * in tcp.c. Everything else is handed, already parsed, to the services_on_*
 * functions declared in internal.h:
 *   ARP                    services_on_arp(nat, eth)
 *   IPv6                   services_on_ipv6(nat, eth)
 *   IPv4 UDP (DHCP, DNS)   services_on_udp4(nat, eth, ip)   before the source
 *   IPv4 ICMP              services_on_icmp4(nat, eth, ip)  address check, so
 *                          DHCP from 0.0.0.0 can be served; they must check
 *                          the source themselves.
 * services.c hands them to the guest-service modules (arp.c, udp.c with
 * dhcp.c and dns.c, icmp.c; docs/services.md).
 * Non-TCP flows share the flow table and the timer lists (see
 * services_on_flow_timer / services_on_readable).
 */
#include "internal.h"

static const uint8_t broadcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static void on_ipv4(struct vnat *nat, const struct vw_eth *eth)
{
    struct vw_ipv4 ip;
    int rc = vw_ipv4_parse(eth->payload, eth->payload_len, &ip);
    if (rc != VW_OK) {
        stats_drop(nat, rc == VW_ECSUM    ? VNAT_DROP_IP_CHECKSUM
                        : rc == VW_ETRUNC ? VNAT_DROP_TRUNCATED
                                          : VNAT_DROP_IP_HEADER);
        return;
    }
    if (ip.is_fragment) {
        stats_drop(nat, VNAT_DROP_IP_FRAGMENT);
        return;
    }
    if (ip.ttl == 0) {
        stats_drop(nat, VNAT_DROP_IP_TTL);
        return;
    }
    switch (ip.proto) {
    case VW_IPPROTO_UDP:
        services_on_udp4(nat, eth, &ip);
        return;
    case VW_IPPROTO_ICMP:
        services_on_icmp4(nat, eth, &ip);
        return;
    case VW_IPPROTO_TCP:
        break;
    default:
        stats_drop(nat, VNAT_DROP_PROTO);
        return;
    }
    if (memcmp(ip.src, nat->cfg.guest_ip.addr, 4) != 0) {
        stats_drop(nat, VNAT_DROP_SPOOFED);
        return;
    }
    struct vw_tcp seg;
    if (vw_tcp_parse(ip.payload, ip.payload_len, &seg) != VW_OK) {
        stats_drop(nat, VNAT_DROP_L4_HEADER);
        return;
    }
    if (!vw_l4_csum_ok4(ip.src, ip.dst, VW_IPPROTO_TCP, ip.payload, ip.payload_len)) {
        stats_drop(nat, VNAT_DROP_L4_CHECKSUM);
        return;
    }
    if (seg.sport == 0 || seg.dport == 0) {
        stats_drop(nat, VNAT_DROP_L4_HEADER);
        return;
    }
    struct vnat_ip src = vnat_ip4(ip.src[0], ip.src[1], ip.src[2], ip.src[3]);
    struct vnat_ip dst = vnat_ip4(ip.dst[0], ip.dst[1], ip.dst[2], ip.dst[3]);
    tcp_on_segment(nat, &src, &dst, &seg);
}

void frame_dispatch(struct vnat *nat, const uint8_t *frame, size_t len)
{
    struct vw_eth eth;
    int rc = vw_eth_parse(frame, len, &eth);
    if (rc != VW_OK) {
        stats_drop(nat, rc == VW_EUNSUP ? VNAT_DROP_ETHERTYPE : VNAT_DROP_TRUNCATED);
        return;
    }
    if (eth.vlan) {
        stats_drop(nat, VNAT_DROP_VLAN);
        return;
    }
    bool to_us = memcmp(eth.dst, nat->cfg.gateway_mac, 6) == 0;
    bool bcast = memcmp(eth.dst, broadcast_mac, 6) == 0;
    if (!to_us && !bcast) {
        stats_drop(nat, VNAT_DROP_NOT_FOR_US);
        return;
    }
    /* Anti-spoofing, layer 2: every frame the guest may send carries its own
     * MAC (DHCP and ARP probes included); layer 3 is checked per protocol. */
    if (memcmp(eth.src, nat->cfg.guest_mac, 6) != 0) {
        stats_drop(nat, VNAT_DROP_SPOOFED);
        return;
    }
    switch (eth.ethertype) {
    case VW_ETH_P_ARP:
        services_on_arp(nat, &eth);
        return;
    case VW_ETH_P_IPV6:
        services_on_ipv6(nat, &eth);
        return;
    case VW_ETH_P_IPV4:
        break;
    default:
        stats_drop(nat, VNAT_DROP_ETHERTYPE);
        return;
    }
    if (!to_us) {
        /* Broadcast IPv4: only DHCP (UDP) has a use for it. */
        struct vw_ipv4 ip;
        if (vw_ipv4_parse(eth.payload, eth.payload_len, &ip) == VW_OK &&
            ip.proto == VW_IPPROTO_UDP && !ip.is_fragment) {
            services_on_udp4(nat, &eth, &ip);
            return;
        }
        stats_drop(nat, VNAT_DROP_NOT_FOR_US);
        return;
    }
    on_ipv4(nat, &eth);
}
