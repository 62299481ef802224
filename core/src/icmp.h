/*
 * icmp.h — layer 3 (middle row): ICMP echo for the guest, on the datagram
 * flow machinery (dgram.h).
 */
#ifndef VNAT_ICMP_H
#define VNAT_ICMP_H

#include "base.h"
#include "flow.h"

struct vw_eth;
struct vw_ipv4;

/* A guest IPv4 ICMP message (the IPv4 header checked, the source not yet). */
void icmp_input(struct vnat *nat, const struct vw_eth *eth, const struct vw_ipv4 *ip);
/* An ICMP flow's socket is readable (the flow is not paused). */
void icmp_on_readable(struct vnat *nat, struct flow *f);

#endif
