/*
 * dhcp.h — layer 3 (lowest row): the DHCPv4 server for the one guest. It
 * calls no other protocol.
 */
#ifndef VNAT_DHCP_H
#define VNAT_DHCP_H

#include "base.h"

struct vw_eth;
struct vw_ipv4;
struct vw_udp;

/* DHCP's part of the instance (nat->dhcp). */
struct dhcp_state {
    uint8_t state; /* enum dhcp_lease_state (dhcp.c) */
    uint8_t pad_[7];
    uint64_t expires; /* ns; lease end, 0 if none */
};

void dhcp_init(struct vnat *nat);
/* A guest datagram from port 68 to port 67 of the gateway or the broadcast
 * address (UDP header and checksum checked; the source not yet). */
void dhcp_input(struct vnat *nat, const struct vw_eth *eth, const struct vw_ipv4 *ip,
                const struct vw_udp *udp);

#endif
