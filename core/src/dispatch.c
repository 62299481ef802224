/*
 * dispatch.c — layer 4: the dispatcher (dispatch.h). Every decision "which
 * protocol handles this" is made here and nowhere else:
 *
 *   guest frame   Ethernet (for us or broadcast, from the guest MAC, no
 *                 VLAN) -> ARP (arp.c), IPv6 (dropped: a later issue), IPv4
 *                 -> UDP: DHCP (dhcp.c), cached DNS (dns.c), else udp.c;
 *                 ICMP (icmp.c); TCP (tcp.c). Every byte is hostile until a
 *                 wire-layer parser has checked it. UDP and ICMP are routed
 *                 before the source address check, so DHCP from 0.0.0.0 can
 *                 be served; they check the source themselves.
 *   socket event  the token names a flow (tcp.c or the datagram protocols
 *                 by the flow's protocol) or a listener (forward.c).
 *   link writable the link-wait list (flow.c), each flow to its protocol.
 *   timers        timer_pop_due (timer.c) one at a time, a flow's timer to
 *                 its protocol, an instance timer by its id.
 */
#include "dispatch.h"

#include "arp.h"
#include "dgram.h"
#include "dhcp.h"
#include "dns.h"
#include "flow.h"
#include "forward.h"
#include "icmp.h"
#include "tcp.h"
#include "timer.h"
#include "udp.h"
#include "wire.h"

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define DNS_PORT 53

static const uint8_t broadcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t broadcast_ip[4] = {255, 255, 255, 255};

static bool ip4_is(const uint8_t *a, const struct vnat_ip *b)
{
    return b->family == VNAT_AF_INET && memcmp(a, b->addr, 4) == 0;
}

/* ------------------------------------------------------------------ */
/* Guest frames                                                        */
/* ------------------------------------------------------------------ */

/* A frame that may open a flow found the table full: free the flow that
 * lingered longest after a clean TCP close, else the datagram flow idle
 * longest (at least DGRAM_RECLAIM_IDLE_NS), so that finished or idle flows
 * of one kind never make another kind refused. One per frame, O(1). */
static void make_room(struct vnat *nat)
{
    if (flow_table_full(nat) && !tcp_reclaim_lingering(nat))
        dgram_reclaim_idle(nat, DGRAM_RECLAIM_IDLE_NS);
}

/* IPv4 UDP: DHCP, the DNS cache, or a UDP flow. */
static void on_udp4(struct vnat *nat, const struct vw_eth *eth, const struct vw_ipv4 *ip)
{
    const struct vnat_config *c = &nat->cfg;
    VNAT_ASSERT(nat, ip->proto == VW_IPPROTO_UDP && !ip->is_fragment);
    struct vw_udp u;
    if (vw_udp_parse(ip->payload, ip->payload_len, &u) != VW_OK) {
        stats_drop(nat, VNAT_DROP_L4_HEADER);
        return;
    }
    if (!vw_l4_csum_ok4(ip->src, ip->dst, VW_IPPROTO_UDP, ip->payload, u.length)) {
        stats_drop(nat, VNAT_DROP_L4_CHECKSUM);
        return;
    }
    if (u.sport == DHCP_CLIENT_PORT && u.dport == DHCP_SERVER_PORT &&
        (memcmp(ip->dst, broadcast_ip, 4) == 0 || ip4_is(ip->dst, &c->gateway_ip))) {
        if (c->flags & VNAT_F_DHCP)
            dhcp_input(nat, eth, ip, &u);
        else
            stats_drop(nat, VNAT_DROP_NOT_FOR_US);
        return;
    }
    if (memcmp(eth->dst, broadcast_mac, 6) == 0) {
        stats_drop(nat, VNAT_DROP_NOT_FOR_US); /* no other broadcast is ours */
        return;
    }
    if (!ip4_is(ip->src, &c->guest_ip) || memcmp(eth->src, nat->guest_mac, 6) != 0) {
        stats_drop(nat, VNAT_DROP_SPOOFED);
        return;
    }
    if (u.sport == 0 || u.dport == 0) {
        stats_drop(nat, VNAT_DROP_L4_HEADER);
        return;
    }
    if (u.dport == DNS_PORT && ip4_is(ip->dst, &c->dns_ip) && dns_query(nat, ip, &u))
        return;
    make_room(nat);
    udp_input(nat, ip, &u, eth->payload);
}

/* IPv4 TCP: checked here (source, header, checksum, ports), then tcp.c. */
static void on_tcp4(struct vnat *nat, const struct vw_ipv4 *ip)
{
    VNAT_ASSERT(nat, ip->proto == VW_IPPROTO_TCP && !ip->is_fragment && ip->ttl > 0);
    if (memcmp(ip->src, nat->cfg.guest_ip.addr, 4) != 0) {
        stats_drop(nat, VNAT_DROP_SPOOFED);
        return;
    }
    struct vw_tcp seg;
    if (vw_tcp_parse(ip->payload, ip->payload_len, &seg) != VW_OK) {
        stats_drop(nat, VNAT_DROP_L4_HEADER);
        return;
    }
    if (!vw_l4_csum_ok4(ip->src, ip->dst, VW_IPPROTO_TCP, ip->payload, ip->payload_len)) {
        stats_drop(nat, VNAT_DROP_L4_CHECKSUM);
        return;
    }
    if (seg.sport == 0 || seg.dport == 0) {
        stats_drop(nat, VNAT_DROP_L4_HEADER);
        return;
    }
    struct vnat_ip src = vnat_ip4(ip->src[0], ip->src[1], ip->src[2], ip->src[3]);
    struct vnat_ip dst = vnat_ip4(ip->dst[0], ip->dst[1], ip->dst[2], ip->dst[3]);
    if ((seg.flags & (VW_TCP_SYN | VW_TCP_ACK)) == VW_TCP_SYN)
        make_room(nat);
    tcp_on_segment(nat, &src, &dst, &seg);
}

static void on_ipv4(struct vnat *nat, const struct vw_eth *eth)
{
    VNAT_ASSERT(nat, eth->ethertype == VW_ETH_P_IPV4 && !eth->vlan);
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
        on_udp4(nat, eth, &ip);
        return;
    case VW_IPPROTO_ICMP:
        make_room(nat);
        icmp_input(nat, eth, &ip);
        return;
    case VW_IPPROTO_TCP:
        on_tcp4(nat, &ip);
        return;
    default:
        stats_drop(nat, VNAT_DROP_PROTO);
        return;
    }
}

/* Broadcast IPv4: only DHCP (UDP) has a use for it. */
static void on_ipv4_broadcast(struct vnat *nat, const struct vw_eth *eth)
{
    VNAT_ASSERT(nat, memcmp(eth->dst, broadcast_mac, 6) == 0);
    struct vw_ipv4 ip;
    if (vw_ipv4_parse(eth->payload, eth->payload_len, &ip) == VW_OK && ip.proto == VW_IPPROTO_UDP &&
        !ip.is_fragment) {
        on_udp4(nat, eth, &ip);
        return;
    }
    stats_drop(nat, VNAT_DROP_NOT_FOR_US);
}

/* A frame from the guest's MAC, for us or broadcast: to its protocol. */
static void route_frame(struct vnat *nat, const struct vw_eth *eth, bool to_us)
{
    switch (eth->ethertype) {
    case VW_ETH_P_ARP:
        arp_input(nat, eth);
        return;
    case VW_ETH_P_IPV6:
        stats_drop(nat, VNAT_DROP_IPV6); /* IPv6 is a later issue */
        return;
    case VW_ETH_P_IPV4:
        if (to_us)
            on_ipv4(nat, eth);
        else
            on_ipv4_broadcast(nat, eth);
        return;
    default:
        stats_drop(nat, VNAT_DROP_ETHERTYPE);
        return;
    }
}

/* A source a guest NIC can have: unicast (I/G bit clear) and not all zero. */
static bool mac_usable(const uint8_t m[6])
{
    return (m[0] & 1) == 0 && (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) != 0;
}

/* The guest's MAC, learned (VNAT_F_GUEST_MAC_FIXED unset) as a peer on a
 * link learns it: the source of the first frame every check accepts. The
 * frame is handled as if its source were the guest's (its ARP sender and
 * DHCP chaddr must match it, as always); if any check dropped it, the MAC
 * in force goes back to the configured one and the core goes on learning. */
static void learn_from(struct vnat *nat, const struct vw_eth *eth, bool to_us)
{
    VNAT_ASSERT(nat, !nat->guest_mac_held);
    VNAT_ASSERT(nat, memcmp(nat->guest_mac, nat->cfg.guest_mac, 6) == 0);
    uint64_t drops = nat->drop_events;
    memcpy(nat->guest_mac, eth->src, 6);
    route_frame(nat, eth, to_us);
    if (nat->drop_events != drops) {
        memcpy(nat->guest_mac, nat->cfg.guest_mac, 6);
        return;
    }
    nat->guest_mac_held = 1;
    nat->stats.guest_macs_learned++;
}

void dispatch_frame(struct vnat *nat, const uint8_t *frame, size_t len)
{
    VNAT_ASSERT(nat, !nat->shut_down);
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
     * MAC (DHCP and ARP probes included), once it is known; layer 3 is
     * checked per protocol. */
    if (!mac_usable(eth.src)) {
        stats_drop(nat, VNAT_DROP_SPOOFED);
        return;
    }
    if (!nat->guest_mac_held) {
        learn_from(nat, &eth, to_us);
        return;
    }
    if (memcmp(eth.src, nat->guest_mac, 6) != 0) {
        stats_drop(nat, VNAT_DROP_SPOOFED);
        return;
    }
    route_frame(nat, &eth, to_us);
}

/* ------------------------------------------------------------------ */
/* Host socket events                                                  */
/* ------------------------------------------------------------------ */

/* A datagram flow's socket is readable: to its protocol, unless paused. */
static void dgram_readable(struct vnat *nat, struct flow *f)
{
    VNAT_ASSERT(nat, f->in_use && f->key.proto != VNAT_PROTO_TCP);
    if (dgram_paused(f))
        return;
    if (f->key.proto == VNAT_PROTO_ICMP)
        icmp_on_readable(nat, f);
    else
        udp_on_readable(nat, f);
}

vnat_err dispatch_writable(struct vnat *nat, vnat_token tok, int so_error)
{
    VNAT_ASSERT(nat, !nat->shut_down);
    struct flow *f = flow_by_token(nat, tok);
    if (f == NULL) {
        nat->stats.stale_tokens++;
        return VNAT_E_STALE;
    }
    if (f->key.proto == VNAT_PROTO_TCP)
        tcp_on_writable(nat, f, so_error);
    return VNAT_OK;
}

vnat_err dispatch_readable(struct vnat *nat, vnat_token tok)
{
    VNAT_ASSERT(nat, !nat->shut_down);
    struct flow *f = flow_by_token(nat, tok);
    if (f == NULL && forward_on_listener_ready(nat, tok))
        return VNAT_OK; /* a UDP forward's socket */
    if (f == NULL) {
        nat->stats.stale_tokens++;
        return VNAT_E_STALE;
    }
    if (f->key.proto == VNAT_PROTO_TCP)
        tcp_on_readable(nat, f);
    else
        dgram_readable(nat, f);
    return VNAT_OK;
}

vnat_err dispatch_listener_ready(struct vnat *nat, vnat_token tok)
{
    VNAT_ASSERT(nat, !nat->shut_down);
    if (forward_on_listener_ready(nat, tok))
        return VNAT_OK;
    nat->stats.stale_tokens++;
    return VNAT_E_STALE;
}

void dispatch_link_writable(struct vnat *nat)
{
    VNAT_ASSERT(nat, !nat->shut_down);
    nat->link_full = 0;
    /* Resume the flows that lost a frame, oldest first, until the link
     * refuses again (the rest stay queued). */
    for (uint32_t n = 0; n < nat->cfg.max_flows && !nat->link_full; n++) {
        struct flow *f = link_wait_pop(nat);
        if (f == NULL)
            return;
        if (f->key.proto == VNAT_PROTO_TCP)
            tcp_on_link_writable(nat, f);
        else if (dgram_resume(nat, f))
            dgram_readable(nat, f);
    }
}

/* ------------------------------------------------------------------ */
/* Timers                                                              */
/* ------------------------------------------------------------------ */

/* Instance timers by id; nothing arms one yet (ITIMER_ROUTER_ADV waits for
 * IPv6), so no handler is set. */
static void (*const instance_timer_handler[ITIMER_COUNT])(struct vnat *nat) = {
    [ITIMER_ROUTER_ADV] = NULL,
};

static void fire(struct vnat *nat, const struct timer_due *d)
{
    if (d->what == TDUE_INSTANCE) {
        VNAT_ASSERT(nat, (unsigned)d->timer < ITIMER_COUNT);
        if (instance_timer_handler[d->timer] != NULL)
            instance_timer_handler[d->timer](nat);
        return;
    }
    VNAT_ASSERT(nat, d->slot < nat->cfg.max_flows);
    struct flow *f = flow_at(nat, d->slot);
    VNAT_ASSERT(nat, f->in_use);
    if (d->what == TDUE_HEAP) {
        if (f->key.proto == VNAT_PROTO_TCP)
            tcp_on_heap_timer(nat, f, d->kind);
    } else if (f->key.proto == VNAT_PROTO_TCP) {
        tcp_on_list_timer(nat, f, d->cls);
    } else {
        VNAT_ASSERT(nat,
                    d->cls == TCLASS_UDP || d->cls == TCLASS_UDP_STREAM || d->cls == TCLASS_ICMP);
        dgram_on_timer(nat, f);
    }
}

void dispatch_timers(struct vnat *nat)
{
    /* Each handler frees its flow or re-arms strictly in the future. */
    VNAT_ASSERT(nat, !nat->shut_down);
    uint64_t bound = 4ull * nat->cfg.max_flows + 16;
    for (uint64_t n = 0; n < bound; n++) {
        struct timer_due d;
        if (!timer_pop_due(nat, &d))
            return;
        fire(nat, &d);
    }
}

/* ------------------------------------------------------------------ */
/* Shutdown, invariants, dump                                          */
/* ------------------------------------------------------------------ */

void dispatch_reset_flows(struct vnat *nat)
{
    VNAT_ASSERT(nat, !nat->shut_down);
    for (uint32_t i = 0; i < nat->cfg.max_flows; i++) {
        struct flow *f = flow_at(nat, i);
        if (f->in_use && f->key.proto == VNAT_PROTO_TCP)
            tcp_shutdown_flow(nat, f);
    }
    for (uint32_t i = 0; i < nat->cfg.max_flows; i++) {
        struct flow *f = flow_at(nat, i);
        if (f->in_use && f->key.proto != VNAT_PROTO_TCP)
            dgram_release(nat, f);
    }
}

void dispatch_shutdown(struct vnat *nat)
{
    dispatch_reset_flows(nat);
    forward_shutdown(nat);
}

/* Flows counted per protocol, to compare with the counters. */
struct census {
    uint64_t tcp, udp, icmp;
    uint64_t by_state[VNAT_TCP__STATE_COUNT];
};

static int check_flow(const struct vnat *nat, const struct flow *f, struct census *n, char *why,
                      size_t why_len)
{
    const char *w = NULL;
    VNAT_ASSERT(nat, f->in_use && flow_index(nat, f) < nat->cfg.max_flows);
    if (f->key.proto == VNAT_PROTO_TCP) {
        if (!(f->flags & FF_LINGER))
            n->tcp++;
        if (tcp_check_flow(nat, f, &w) != 0)
            return fmt_fail_flow(why, why_len, w, flow_index(nat, f));
        n->by_state[tcp_flow_const(f)->state]++;
        return 0;
    }
    if (f->key.proto == VNAT_PROTO_UDP)
        n->udp++;
    else
        n->icmp++;
    if (dgram_check(nat, f, &w) != 0)
        return fmt_fail_flow(why, why_len, w, flow_index(nat, f));
    return 0;
}

int dispatch_check(const struct vnat *nat, char *why, size_t why_len)
{
    struct census n;
    memset(&n, 0, sizeof n);
    for (uint32_t i = 0; i < nat->cfg.max_flows; i++) {
        const struct flow *f = flow_at(nat, i);
        if (f->in_use && check_flow(nat, f, &n, why, why_len) != 0)
            return 1;
    }
    if (n.tcp != nat->tcp->live || n.tcp > nat->cfg.max_tcp_flows)
        return fmt_fail(why, why_len, "tcp flow count wrong or above its limit");
    VNAT_ASSERT(nat, n.tcp + n.udp + n.icmp <= nat->cfg.max_flows);
    for (int s = 0; s < VNAT_TCP__STATE_COUNT; s++)
        if (n.by_state[s] != nat->stats.tcp_flows_by_state[s])
            return fmt_fail(why, why_len, "tcp_flows_by_state disagrees with the table");
    if (n.udp != nat->stats.udp_flows || n.icmp != nat->stats.icmp_flows ||
        n.udp + n.icmp != nat->dgram->live || n.udp + n.icmp > nat->cfg.max_udp_flows)
        return fmt_fail(why, why_len, "udp/icmp flow counts wrong or above their limit");
    return 0;
}

static void dump_tcp(const struct tcp_flow *t, struct fmt_buf *b)
{
    fmt_str(b, " state=");
    fmt_str(b, vnat_tcp_state_name(t->state));
    fmt_str(b, " iss=");
    fmt_u64(b, t->iss);
    fmt_str(b, " snd_una=");
    fmt_u64(b, t->snd_una);
    fmt_str(b, " snd_nxt=");
    fmt_u64(b, t->snd_nxt);
    fmt_str(b, " snd_wnd=");
    fmt_u64(b, t->snd_wnd);
    fmt_str(b, " irs=");
    fmt_u64(b, t->irs);
    fmt_str(b, " rcv_nxt=");
    fmt_u64(b, t->rcv_nxt);
    fmt_str(b, " space=");
    fmt_u64(b, t->host_space);
    fmt_str(b, " mss=");
    fmt_u64(b, t->mss);
    fmt_str(b, " rto_ms=");
    fmt_u64(b, t->rto_us / 1000);
}

void dispatch_dump_flow(const struct vnat *nat, const struct flow *f, struct fmt_buf *b)
{
    VNAT_ASSERT(nat, f->in_use);
    uint8_t p = f->key.proto;
    fmt_str(b, "#");
    fmt_u64(b, flow_index(nat, f));
    fmt_str(b, p == VNAT_PROTO_TCP    ? " tcp "
               : p == VNAT_PROTO_UDP  ? " udp "
               : p == VNAT_PROTO_ICMP ? " icmp "
                                      : " proto ");
    if (p != VNAT_PROTO_TCP && p != VNAT_PROTO_UDP && p != VNAT_PROTO_ICMP) {
        fmt_u64(b, p);
        fmt_str(b, " ");
    }
    fmt_ip(b, &f->key.guest_ip);
    fmt_str(b, ":");
    fmt_u64(b, f->key.guest_port);
    fmt_str(b, " -> ");
    fmt_ip(b, &f->key.dst_ip);
    fmt_str(b, ":");
    fmt_u64(b, f->key.dst_port);
    fmt_str(b, " tok=");
    fmt_hex(b, flow_token(nat, f));
    if (p == VNAT_PROTO_TCP)
        dump_tcp(tcp_flow_const(f), b);
    fmt_str(b, " flags=");
    fmt_hex(b, f->flags);
    fmt_str(b, " interest=");
    fmt_u64(b, f->interest);
    fmt_str(b, "\n");
}
