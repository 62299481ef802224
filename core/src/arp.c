/*
 * arp.c — layer 3: ARP for the addresses vnat owns on the guest link. vnat answers
 * for the gateway and the DNS address (both at the gateway MAC), never for
 * the guest's own address, and — only with VNAT_F_ARP_ANSWER_ALL — for every
 * other address of the guest's subnet (the reference NAT's behaviour, which
 * lets a guest reach a "neighbour" that is really the host side). Off-subnet
 * targets are never answered: the guest routes those through the gateway.
 *
 * Probes (RFC 5227: sender address 0.0.0.0) are answered only for addresses
 * vnat owns, which is how a guest learns such an address is taken; a probe
 * for the guest's own address gets silence (the address is free).
 * Gratuitous ARP (sender == target, request or reply) and the guest's own
 * replies are accepted without an answer. Anything malformed, or whose
 * sender is not the guest (MAC, or an address other than the guest's or
 * 0.0.0.0), is dropped and counted.
 */
#include "arp.h"

#include "log.h"
#include "policy.h"
#include "wire.h"

static bool ip4_eq(const uint8_t *a, const struct vnat_ip *b)
{
    return b->family == VNAT_AF_INET && memcmp(a, b->addr, 4) == 0;
}

/* Does vnat answer ARP for target address tpa? */
static bool arp_owned(const struct vnat *nat, const uint8_t tpa[4])
{
    const struct vnat_config *c = &nat->cfg;
    VNAT_ASSERT(nat, c->prefix_len >= 1 && c->prefix_len <= 30); /* normalize() */
    if (ip4_eq(tpa, &c->guest_ip))
        return false;
    if (ip4_eq(tpa, &c->gateway_ip) || ip4_eq(tpa, &c->dns_ip))
        return true;
    if (!(c->flags & VNAT_F_ARP_ANSWER_ALL))
        return false;
    struct vnat_ip t = vnat_ip4(tpa[0], tpa[1], tpa[2], tpa[3]);
    if (!policy_ip_in(&t, &c->guest_ip, c->prefix_len))
        return false;
    /* Neither the subnet's network nor its broadcast address. */
    uint32_t host_mask = c->prefix_len >= 32 ? 0u : (0xffffffffu >> c->prefix_len);
    uint32_t host = vw_get32(tpa) & host_mask;
    return host != 0 && host != host_mask;
}

void arp_input(struct vnat *nat, const struct vw_eth *eth)
{
    struct vw_arp arp;
    if (vw_arp_parse(eth->payload, eth->payload_len, &arp) != VW_OK) {
        stats_drop(nat, VNAT_DROP_ARP_MALFORMED);
        return;
    }
    if (arp.op != VW_ARP_REQUEST && arp.op != VW_ARP_REPLY) {
        stats_drop(nat, VNAT_DROP_ARP_MALFORMED);
        return;
    }
    static const uint8_t zero4[4] = {0, 0, 0, 0};
    bool probe = memcmp(arp.spa, zero4, 4) == 0;
    /* Anti-spoofing: the sender must be the guest (or a probe from it). */
    if (memcmp(eth->src, nat->guest_mac, 6) != 0 || memcmp(arp.sha, nat->guest_mac, 6) != 0 ||
        (!probe && !ip4_eq(arp.spa, &nat->cfg.guest_ip))) {
        stats_drop(nat, VNAT_DROP_SPOOFED);
        return;
    }
    if (arp.op == VW_ARP_REPLY)
        return; /* the guest's replies and gratuitous replies need no answer */
    if (!probe && memcmp(arp.spa, arp.tpa, 4) == 0)
        return; /* gratuitous announcement of the guest's own address */
    if (!arp_owned(nat, arp.tpa))
        return; /* not ours: the documented silence (see VNAT_F_ARP_ANSWER_ALL) */
    size_t n = vw_arp_frame(nat->scratch, nat->scratch_len, arp.sha, VW_ARP_REPLY,
                            nat->cfg.gateway_mac, arp.tpa, arp.sha, arp.spa);
    VNAT_VERIFY(nat, n > 0);
    nat->stats.arp_replies++;
    host_guest_send(nat, nat->scratch, n);
}
