/*
 * services_stub.c — placeholders for guest services (ARP, DHCP, DNS, UDP,
 * ICMP, IPv6; issue 5): each hook just counts a drop. The real modules
 * replace this file; the hooks' contract is in frame.c and internal.h.
 */
#include "internal.h"

void services_on_arp(struct vnat *nat, const struct vw_eth *eth)
{
    (void)eth;
    stats_drop(nat, VNAT_DROP_ETHERTYPE);
}

void services_on_ipv6(struct vnat *nat, const struct vw_eth *eth)
{
    (void)eth;
    stats_drop(nat, VNAT_DROP_IPV6);
}

void services_on_udp4(struct vnat *nat, const struct vw_eth *eth, const struct vw_ipv4 *ip)
{
    (void)eth;
    (void)ip;
    stats_drop(nat, VNAT_DROP_PROTO);
}

void services_on_icmp4(struct vnat *nat, const struct vw_eth *eth, const struct vw_ipv4 *ip)
{
    (void)eth;
    (void)ip;
    stats_drop(nat, VNAT_DROP_PROTO);
}

void services_on_flow_timer(struct vnat *nat, struct flow *f, enum timer_class c)
{
    (void)c;
    VNAT_VERIFY(nat, f->key.proto == VNAT_PROTO_TCP); /* no other flows exist yet */
}

void services_on_readable(struct vnat *nat, struct flow *f)
{
    (void)f;
    nat->stats.stale_tokens++;
}
