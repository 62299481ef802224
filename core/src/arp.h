/*
 * arp.h — layer 3 (lowest row): ARP for the addresses vnat owns on the guest
 * link. It calls no other protocol.
 */
#ifndef VNAT_ARP_H
#define VNAT_ARP_H

#include "base.h"

struct vw_eth;

/* A guest ARP frame (Ethernet checked: for us or broadcast, from the guest MAC). */
void arp_input(struct vnat *nat, const struct vw_eth *eth);

#endif
