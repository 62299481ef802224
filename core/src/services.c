/*
 * services.c — the seam between the frame dispatcher (frame.c) and the
 * guest services: each services_on_* hook of internal.h hands its parsed
 * frame or host event to the module that owns it (arp.c, udp.c with
 * dhcp.c and dns.c, icmp.c). IPv6 is a later issue: its frames are dropped
 * and counted here.
 */
#include "internal.h"

void services_on_arp(struct vnat *nat, const struct vw_eth *eth)
{
    svc_arp_input(nat, eth);
}

void services_on_ipv6(struct vnat *nat, const struct vw_eth *eth)
{
    (void)eth;
    stats_drop(nat, VNAT_DROP_IPV6);
}

void services_on_udp4(struct vnat *nat, const struct vw_eth *eth, const struct vw_ipv4 *ip)
{
    svc_udp_input(nat, eth, ip);
}

void services_on_icmp4(struct vnat *nat, const struct vw_eth *eth, const struct vw_ipv4 *ip)
{
    svc_icmp_input(nat, eth, ip);
}

void services_on_flow_timer(struct vnat *nat, struct flow *f, enum timer_class c)
{
    VNAT_VERIFY(nat, f->key.proto != VNAT_PROTO_TCP);
    VNAT_ASSERT(nat, c == TCLASS_UDP || c == TCLASS_UDP_STREAM || c == TCLASS_ICMP);
    (void)c;
    svc_dgram_on_timer(nat, f);
}

void services_on_readable(struct vnat *nat, struct flow *f)
{
    svc_dgram_on_readable(nat, f);
}
