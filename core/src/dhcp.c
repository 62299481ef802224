/*
 * dhcp.c — layer 3: a DHCPv4 server (RFC 2131) for the one guest. The guest's
 * address, the router (the gateway address), the DNS server (the DNS
 * address), the interface MTU (option 26) and the lease come from the
 * configuration, so the server needs no pool: it offers the guest's address
 * to the guest's MAC and to nothing else. The lease state is kept only to
 * answer RELEASE and to count leases; it never changes what is offered.
 *
 *   DISCOVER -> OFFER          REQUEST for the guest address -> ACK
 *   REQUEST for another address, or with neither requested address nor
 *   ciaddr -> NAK              REQUEST naming another server -> silence
 *   RELEASE, DECLINE -> no answer (the lease is forgotten)
 *   INFORM -> ACK with the configuration and no lease (RFC 2131 3.4)
 *
 * Every byte is hostile: the fixed part and every option are length-checked
 * through the wire layer; an option running past the end, a message type
 * that is missing, repeated or out of range, a wrong length on an option we
 * read, or a server-to-client message from the guest is dropped and
 * counted (dhcp_malformed); a client hardware address, source MAC or source
 * IP (other than 0.0.0.0 or the guest's) that is not the guest's is dropped
 * as spoofed. Options are read only from the options field: option overload
 * (52) is not honoured, so options hidden in sname/file are ignored.
 */
#include "dhcp.h"

#include "log.h"
#include "wire.h"

enum dhcp_lease_state { DHCPS_NONE = 0, DHCPS_OFFERED, DHCPS_BOUND, DHCPS_RELEASED };

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define DHCP_MIN_REPLY 300 /* BOOTP's minimum message, which old clients expect */
#define DHCP_BROADCAST_FLAG 0x8000u

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t bcast_ip[4] = {255, 255, 255, 255};
static const uint8_t zero_ip[4] = {0, 0, 0, 0};

void dhcp_init(struct vnat *nat)
{
    memset(nat->dhcp, 0, sizeof *nat->dhcp);
}

/* What the request said, after one bounded walk over its options. */
struct dhcp_req {
    uint8_t type;
    bool has_req_ip, has_server_id;
    uint8_t req_ip[4], server_id[4];
};

static bool read_options(const struct vw_dhcp *d, struct dhcp_req *r)
{
    memset(r, 0, sizeof *r);
    struct vw_dhcp_iter it;
    vw_dhcp_iter_init(&it, d);
    /* Each option takes at least 2 bytes (PAD and END are not returned),
     * so options_len bounds the walk. */
    for (size_t n = 0; n <= d->options_len; n++) {
        uint8_t code, len;
        const uint8_t *data;
        int rc = vw_dhcp_iter_next(&it, &code, &len, &data);
        if (rc == 0)
            break;
        if (rc < 0)
            return false;
        switch (code) {
        case VW_DHCP_OPT_MSG_TYPE:
            if (len != 1 || r->type != 0 || data[0] < VW_DHCP_DISCOVER || data[0] > VW_DHCP_INFORM)
                return false;
            r->type = data[0];
            break;
        case VW_DHCP_OPT_REQ_IP:
            if (len != 4)
                return false;
            r->has_req_ip = true;
            memcpy(r->req_ip, data, 4);
            break;
        case VW_DHCP_OPT_SERVER_ID:
            if (len != 4)
                return false;
            r->has_server_id = true;
            memcpy(r->server_id, data, 4);
            break;
        default:
            break;
        }
    }
    return r->type != 0;
}

static uint32_t prefix_mask(unsigned prefix)
{
    return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

/* Build and send one reply of `type` to the request d. `lease` is false
 * for NAK and for the answer to INFORM (no address, no lease time). */
static void reply(struct vnat *nat, const struct vw_dhcp *d, uint8_t type, bool lease)
{
    const struct vnat_config *c = &nat->cfg;
    uint8_t *buf = nat->scratch + VW_UDP4_PAYLOAD_OFF;
    size_t cap = nat->scratch_len - VW_UDP4_PAYLOAD_OFF;
    const uint8_t *server = c->gateway_ip.addr;
    struct vw_dhcp_out o;
    memset(&o, 0, sizeof o);
    o.op = VW_BOOTREPLY;
    o.xid = d->xid;
    o.flags = d->flags;
    o.chaddr = nat->guest_mac;
    if (type != VW_DHCP_NAK) {
        o.ciaddr = d->ciaddr;
        if (lease)
            o.yiaddr = c->guest_ip.addr;
    }
    size_t off = vw_dhcp_build(buf, cap, &o);
    off = off ? vw_dhcp_opt_put8(buf, cap, off, VW_DHCP_OPT_MSG_TYPE, type) : 0;
    off = off ? vw_dhcp_opt_put(buf, cap, off, VW_DHCP_OPT_SERVER_ID, 4, server) : 0;
    if (type != VW_DHCP_NAK) {
        if (lease) {
            uint32_t t = c->dhcp_lease_s;
            off = off ? vw_dhcp_opt_put32(buf, cap, off, VW_DHCP_OPT_LEASE, t) : 0;
            off = off ? vw_dhcp_opt_put32(buf, cap, off, VW_DHCP_OPT_RENEWAL, t / 2) : 0;
            off = off ? vw_dhcp_opt_put32(buf, cap, off, VW_DHCP_OPT_REBINDING,
                                          (uint32_t)((uint64_t)t * 7 / 8))
                      : 0;
        }
        uint32_t mask = prefix_mask(c->prefix_len);
        uint32_t bcast = (vw_get32(c->guest_ip.addr) & mask) | ~mask;
        uint8_t mtu[2];
        vw_put16(mtu, (uint16_t)c->mtu);
        off = off ? vw_dhcp_opt_put32(buf, cap, off, VW_DHCP_OPT_SUBNET_MASK, mask) : 0;
        off = off ? vw_dhcp_opt_put(buf, cap, off, VW_DHCP_OPT_ROUTER, 4, c->gateway_ip.addr) : 0;
        off = off ? vw_dhcp_opt_put(buf, cap, off, VW_DHCP_OPT_DNS, 4, c->dns_ip.addr) : 0;
        off = off ? vw_dhcp_opt_put(buf, cap, off, VW_DHCP_OPT_MTU, 2, mtu) : 0;
        off = off ? vw_dhcp_opt_put32(buf, cap, off, VW_DHCP_OPT_BROADCAST, bcast) : 0;
    }
    off = off ? vw_dhcp_opt_end(buf, cap, off) : 0;
    VNAT_VERIFY(nat, off > 0 && off <= cap); /* a few hundred bytes; mtu >= 576 */
    if (off < DHCP_MIN_REPLY) {
        memset(buf + off, 0, DHCP_MIN_REPLY - off);
        off = DHCP_MIN_REPLY;
    }
    /* RFC 2131 4.1: NAK is broadcast; a client with an address gets
     * unicast; otherwise broadcast if it asked, else unicast to its MAC. */
    bool broadcast =
        type == VW_DHCP_NAK || (vw_get32(d->ciaddr) == 0 && (d->flags & DHCP_BROADCAST_FLAG));
    const uint8_t *ip_dst = broadcast                  ? bcast_ip
                            : vw_get32(d->ciaddr) != 0 ? d->ciaddr
                                                       : c->guest_ip.addr;
    struct vw_l2l3 a = {
        .eth_dst = broadcast ? bcast_mac : nat->guest_mac,
        .eth_src = c->gateway_mac,
        .ip_src = server,
        .ip_dst = ip_dst,
        .ip_id = nat->ip_id++,
        .ttl = 64,
    };
    size_t n =
        vw_udp4_frame(nat->scratch, nat->scratch_len, &a, DHCP_SERVER_PORT, DHCP_CLIENT_PORT, off);
    VNAT_VERIFY(nat, n > 0);
    host_guest_send(nat, nat->scratch, n);
}

void dhcp_input(struct vnat *nat, const struct vw_eth *eth, const struct vw_ipv4 *ip,
                const struct vw_udp *udp)
{
    const struct vnat_config *c = &nat->cfg;
    VNAT_ASSERT(nat, nat->dhcp->state <= DHCPS_RELEASED && udp->sport == DHCP_CLIENT_PORT);
    struct vw_dhcp d;
    struct dhcp_req r;
    if (vw_dhcp_parse(udp->payload, udp->payload_len, &d) != VW_OK || d.op != VW_BOOTREQUEST ||
        d.htype != 1 || d.hlen != 6 || !read_options(&d, &r) || r.type == VW_DHCP_OFFER ||
        r.type == VW_DHCP_ACK || r.type == VW_DHCP_NAK) {
        stats_drop(nat, VNAT_DROP_DHCP_MALFORMED);
        return;
    }
    /* Exempt from the source-address check: 0.0.0.0 (a client without an
     * address); everything else must be the guest. */
    if (memcmp(d.chaddr, nat->guest_mac, 6) != 0 || memcmp(eth->src, nat->guest_mac, 6) != 0 ||
        (memcmp(ip->src, zero_ip, 4) != 0 && memcmp(ip->src, c->guest_ip.addr, 4) != 0)) {
        stats_drop(nat, VNAT_DROP_SPOOFED);
        return;
    }
    const uint8_t *me = c->gateway_ip.addr;
    switch (r.type) {
    case VW_DHCP_DISCOVER:
        nat->dhcp->state = DHCPS_OFFERED;
        reply(nat, &d, VW_DHCP_OFFER, true);
        return;
    case VW_DHCP_REQUEST: {
        if (r.has_server_id && memcmp(r.server_id, me, 4) != 0)
            return; /* the client chose another server */
        const uint8_t *want = r.has_req_ip ? r.req_ip : vw_get32(d.ciaddr) != 0 ? d.ciaddr : NULL;
        if (want == NULL || memcmp(want, c->guest_ip.addr, 4) != 0) {
            reply(nat, &d, VW_DHCP_NAK, false);
            return;
        }
        nat->dhcp->state = DHCPS_BOUND;
        nat->dhcp->expires = nat->now + (uint64_t)c->dhcp_lease_s * VNAT_NS_PER_S;
        nat->stats.dhcp_leases++;
        reply(nat, &d, VW_DHCP_ACK, true);
        return;
    }
    case VW_DHCP_DECLINE:
    case VW_DHCP_RELEASE:
        if (r.type == VW_DHCP_DECLINE || memcmp(d.ciaddr, c->guest_ip.addr, 4) == 0) {
            nat->dhcp->state = r.type == VW_DHCP_RELEASE ? DHCPS_RELEASED : DHCPS_NONE;
            nat->dhcp->expires = 0;
        }
        return;
    case VW_DHCP_INFORM:
        reply(nat, &d, VW_DHCP_ACK, false);
        return;
    default:
        stats_drop(nat, VNAT_DROP_DHCP_MALFORMED);
        return;
    }
}
