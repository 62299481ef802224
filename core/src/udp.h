/*
 * udp.h — layer 3 (top row): UDP NAT. Uses dgram (the flow machinery), dns
 * (the answer cache), forward (inbound flows send on their listener) and
 * policy.
 */
#ifndef VNAT_UDP_H
#define VNAT_UDP_H

#include "base.h"
#include "flow.h"

struct vw_ipv4;
struct vw_udp;

/* A guest datagram the dispatcher checked (UDP header and checksum, source
 * address and MAC, non-zero ports) and that is neither DHCP nor answered
 * from the DNS cache: to its flow, opened if new. orig_ip is the start of
 * the guest's IP header (quoted by ICMP errors). */
void udp_input(struct vnat *nat, const struct vw_ipv4 *ip, const struct vw_udp *u,
               const uint8_t *orig_ip);
/* A UDP flow's socket is readable (the flow is not paused). */
void udp_on_readable(struct vnat *nat, struct flow *f);

#endif
