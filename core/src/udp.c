/*
 * udp.c — UDP NAT and the datagram-flow machinery shared with icmp.c and
 * forward.c.
 *
 * A guest datagram to a new destination passes the egress policy (the same
 * decision as TCP: gateway -> host loopback, DNS address -> a resolver,
 * rules on both names), the UDP flow limit (max_udp_flows, UDP and ICMP
 * together) and the table, then becomes a flow with one connected,
 * non-blocking host socket (dgram_open); later datagrams of the same
 * 5-tuple use it. Host datagrams are received straight into the payload
 * area of the output frame and the headers are built around them, with the
 * flow's destination as the source, so DNS replies come from the DNS
 * address. Nothing is buffered: a datagram the guest link refuses is lost
 * (UDP), and reading pauses until the link takes frames again.
 *
 * Timeouts follow conntrack: udp_timeout_ns (30 s) until traffic went both
 * ways, then udp_stream_timeout_ns (120 s); every datagram refreshes the
 * timer (an O(1) move to the tail of its class list).
 *
 * Host results: -EAGAIN / -ENOBUFS / -ENOMEM drop the datagram (counted
 * host_error). -ECONNREFUSED (an earlier ICMP port unreachable on the host)
 * sends the guest an ICMP port unreachable; -ENETUNREACH / -EHOSTUNREACH
 * the matching ICMP unreachable; -EACCES / -EPERM (a host firewall) ICMP
 * "administratively prohibited". A policy refusal also answers with ICMP
 * "administratively prohibited" from the gateway. Anything impossible (a
 * partial datagram, an errno not listed) closes the flow's socket and
 * frees the flow (bad_host_results).
 */
#include "internal.h"

#define UDP_RECV_BURST 64 /* datagrams read per readable event and flow */
#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define DNS_PORT 53

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* The UDP/ICMP state lives in the flow's union arm: it must never make the
 * flow (and so the per-flow memory) larger than TCP's state does. */
_Static_assert(sizeof(struct dgram_flow) <= sizeof(((struct flow *)0)->u.reserved),
               "dgram_flow must fit the flow's reserved union arm");

static bool ip4_is(const uint8_t *a, const struct vnat_ip *b)
{
    return b->family == VNAT_AF_INET && memcmp(a, b->addr, 4) == 0;
}

/* ------------------------------------------------------------------ */
/* Flow life cycle                                                     */
/* ------------------------------------------------------------------ */

struct flow *svc_dgram_open(struct vnat *nat, const struct flow_key *key, enum dgram_kind kind)
{
    struct flow *f = flow_alloc(nat, key);
    VNAT_VERIFY(nat, f != NULL); /* callers check the table first */
    f->u.dg.kind = (uint8_t)kind;
    nat->svc.dgram_live++;
    if (key->proto == VNAT_PROTO_ICMP) {
        nat->stats.icmp_flows++;
        timer_list_set(nat, f, TCLASS_ICMP);
    } else {
        nat->stats.udp_flows++;
        timer_list_set(nat, f, TCLASS_UDP);
    }
    return f;
}

void svc_dgram_release(struct vnat *nat, struct flow *f)
{
    VNAT_ASSERT(nat, f->in_use && f->key.proto != VNAT_PROTO_TCP);
    if (f->flags & FF_SOCKET) {
        host_close(nat, flow_token(nat, f), 0);
        f->flags &= (uint16_t)~FF_SOCKET;
    }
    VNAT_ASSERT(nat, nat->svc.dgram_live > 0);
    nat->svc.dgram_live--;
    if (f->key.proto == VNAT_PROTO_ICMP)
        nat->stats.icmp_flows--;
    else
        nat->stats.udp_flows--;
    flow_free(nat, f);
}

static void bad_host_result(struct vnat *nat, struct flow *f)
{
    nat->stats.bad_host_results++;
    svc_dgram_release(nat, f);
}

/* Note traffic in one direction: refresh the timer, and move a UDP flow to
 * the longer stream timeout the first time both directions were seen. */
static void saw(struct vnat *nat, struct flow *f, unsigned dir)
{
    struct dgram_flow *d = &f->u.dg;
    unsigned before = d->dirs;
    d->dirs = (uint8_t)(before | dir);
    if (f->key.proto == VNAT_PROTO_UDP && d->dirs == (DGDIR_OUT | DGDIR_IN) && before != d->dirs)
        timer_list_set(nat, f, TCLASS_UDP_STREAM);
    else
        timer_list_touch(nat, f);
}

void svc_dgram_on_timer(struct vnat *nat, struct flow *f)
{
    svc_dgram_release(nat, f);
}

/* ------------------------------------------------------------------ */
/* ICMP errors to the guest                                            */
/* ------------------------------------------------------------------ */

void svc_send_icmp_error(struct vnat *nat, const uint8_t src[4], uint8_t type, uint8_t code,
                         const uint8_t *orig_ip, size_t orig_len)
{
    static const uint8_t rest[4] = {0, 0, 0, 0};
    uint8_t *p = nat->scratch + VW_ICMP4_PAYLOAD_OFF;
    VNAT_VERIFY(nat, orig_len <= 68 && VW_ICMP4_PAYLOAD_OFF + orig_len <= nat->scratch_len);
    memmove(p, orig_ip, orig_len);
    struct vw_l2l3 a = {
        .eth_dst = nat->cfg.guest_mac,
        .eth_src = nat->cfg.gateway_mac,
        .ip_src = src,
        .ip_dst = nat->cfg.guest_ip.addr,
        .ip_id = nat->ip_id++,
        .ttl = 64,
    };
    size_t n = vw_icmp4_frame(nat->scratch, nat->scratch_len, &a, type, code, rest, orig_len);
    VNAT_VERIFY(nat, n > 0);
    host_guest_send(nat, nat->scratch, n);
}

void svc_send_unreach_for_key(struct vnat *nat, const struct flow_key *key, uint8_t code)
{
    /* The guest's datagram is gone; quote one with the flow's addresses and
     * ports, which is all a guest stack matches an error against. */
    uint8_t orig[VW_IPV4_HLEN + VW_UDP_HLEN];
    size_t n = vw_ipv4_build(orig, sizeof orig, key->guest_ip.addr, key->dst_ip.addr,
                             VW_IPPROTO_UDP, 0, 64, VW_UDP_HLEN);
    VNAT_VERIFY(nat, n == VW_IPV4_HLEN);
    n = vw_udp_build(orig + VW_IPV4_HLEN, VW_UDP_HLEN, key->guest_port, key->dst_port, 0);
    VNAT_VERIFY(nat, n == VW_UDP_HLEN);
    svc_send_icmp_error(nat, key->dst_ip.addr, VW_ICMP_DEST_UNREACH, code, orig, sizeof orig);
}

/* The ICMP unreachable code for a host error, or -1 if none applies. */
static int unreach_code(long err)
{
    switch (err) {
    case SVC_ECONNREFUSED:
        return 3; /* port unreachable */
    case SVC_ENETUNREACH:
    case SVC_ENETDOWN:
        return 0; /* net unreachable */
    case SVC_EHOSTUNREACH:
    case SVC_EHOSTDOWN:
        return 1; /* host unreachable */
    case SVC_EACCES:
    case SVC_EPERM:
        return 13; /* communication administratively prohibited */
    default:
        return -1;
    }
}

static bool transient(long err)
{
    return err == SVC_EAGAIN || err == SVC_ENOBUFS || err == SVC_ENOMEM || err == SVC_EMSGSIZE;
}

/* ------------------------------------------------------------------ */
/* Guest -> host                                                       */
/* ------------------------------------------------------------------ */

/* Open the host side of a new UDP flow. Returns NULL (after counting and
 * answering) if the flow may not or could not be created. */
static struct flow *open_udp(struct vnat *nat, const struct flow_key *key, const uint8_t *orig,
                             size_t orig_len)
{
    struct vnat_sockaddr dst = {.ip = key->dst_ip, .port = key->dst_port}, host_dst;
    enum policy_verdict v = policy_outbound(nat, VNAT_PROTO_UDP, &dst, &host_dst);
    bool dns = ip4_is(key->dst_ip.addr, &nat->cfg.dns_ip) && key->dst_port == DNS_PORT;
    unsigned server = 0;
    if (v == POLICY_ALLOW && dns) {
        server = nat->svc.dns_next < nat->cfg.n_dns_servers ? nat->svc.dns_next : 0;
        host_dst = nat->cfg.dns_servers[server];
        if (policy_rules_deny(nat, VNAT_PROTO_UDP, &host_dst))
            v = POLICY_DENY_RULE;
    }
    if (v != POLICY_ALLOW) {
        stats_drop(nat, VNAT_DROP_POLICY);
        svc_send_icmp_error(nat, nat->cfg.gateway_ip.addr, VW_ICMP_DEST_UNREACH, 13, orig,
                            orig_len);
        return NULL;
    }
    if (nat->svc.dgram_live >= nat->cfg.max_udp_flows || flow_table_full(nat)) {
        stats_drop(nat, VNAT_DROP_FLOW_LIMIT);
        return NULL;
    }
    struct flow *f = svc_dgram_open(nat, key, dns ? DG_DNS : DG_UDP);
    f->u.dg.dns_server = (uint8_t)server;
    vnat_token tok = flow_token(nat, f);
    int r = host_dgram_open(nat, tok, VNAT_DGRAM_UDP, &host_dst);
    if (r != 0) {
        if (r > 0) {
            f->flags |= FF_SOCKET; /* impossible: close whatever it opened */
            bad_host_result(nat, f);
            return NULL;
        }
        stats_drop(nat, VNAT_DROP_HOST_ERROR);
        if (dns)
            svc_dns_server_failed(nat, server);
        int code = unreach_code(-r);
        svc_dgram_release(nat, f);
        if (code >= 0)
            svc_send_icmp_error(nat, key->dst_ip.addr, VW_ICMP_DEST_UNREACH, (uint8_t)code, orig,
                                orig_len);
        return NULL;
    }
    f->flags |= FF_SOCKET;
    f->interest = VNAT_WANT_READ;
    host_set_interest(nat, tok, VNAT_WANT_READ);
    return f;
}

/* Send one guest datagram on its flow. Returns false if the flow is gone. */
static bool send_to_host(struct vnat *nat, struct flow *f, const uint8_t *payload, size_t len,
                         const uint8_t *orig, size_t orig_len)
{
    struct dgram_flow *d = &f->u.dg;
    long r = d->kind == DG_UDP_IN ? svc_forward_udp_send(nat, f, payload, len)
                                  : host_dgram_send(nat, flow_token(nat, f), payload, len, NULL);
    if (r == (long)len) {
        d->to_host++;
        nat->stats.bytes_guest_to_host += len;
        saw(nat, f, DGDIR_OUT);
        return true;
    }
    if (r == SVC_FWD_STALE) {
        stats_drop(nat, VNAT_DROP_OTHER); /* its forward was removed */
        svc_dgram_release(nat, f);
        return false;
    }
    if (r >= 0) {
        bad_host_result(nat, f); /* a datagram is sent whole or not at all */
        return false;
    }
    stats_drop(nat, VNAT_DROP_HOST_ERROR);
    if (transient(-r))
        return true;
    int code = unreach_code(-r);
    if (code < 0) {
        bad_host_result(nat, f);
        return false;
    }
    if (d->kind == DG_DNS && code == 3)
        svc_dns_server_failed(nat, d->dns_server);
    svc_send_icmp_error(nat, f->key.dst_ip.addr, VW_ICMP_DEST_UNREACH, (uint8_t)code, orig,
                        orig_len);
    return true;
}

void svc_udp_input(struct vnat *nat, const struct vw_eth *eth, const struct vw_ipv4 *ip)
{
    const struct vnat_config *c = &nat->cfg;
    struct vw_udp u;
    if (vw_udp_parse(ip->payload, ip->payload_len, &u) != VW_OK) {
        stats_drop(nat, VNAT_DROP_L4_HEADER);
        return;
    }
    if (!vw_l4_csum_ok4(ip->src, ip->dst, VW_IPPROTO_UDP, ip->payload, u.length)) {
        stats_drop(nat, VNAT_DROP_L4_CHECKSUM);
        return;
    }
    static const uint8_t bcast_ip[4] = {255, 255, 255, 255};
    if (u.sport == DHCP_CLIENT_PORT && u.dport == DHCP_SERVER_PORT &&
        (memcmp(ip->dst, bcast_ip, 4) == 0 || ip4_is(ip->dst, &c->gateway_ip))) {
        if (c->flags & VNAT_F_DHCP)
            svc_dhcp_input(nat, eth, ip, &u);
        else
            stats_drop(nat, VNAT_DROP_NOT_FOR_US);
        return;
    }
    if (memcmp(eth->dst, bcast_mac, 6) == 0) {
        stats_drop(nat, VNAT_DROP_NOT_FOR_US); /* no other broadcast is ours */
        return;
    }
    if (!ip4_is(ip->src, &c->guest_ip) || memcmp(eth->src, c->guest_mac, 6) != 0) {
        stats_drop(nat, VNAT_DROP_SPOOFED);
        return;
    }
    if (u.sport == 0 || u.dport == 0) {
        stats_drop(nat, VNAT_DROP_L4_HEADER);
        return;
    }
    if (u.dport == DNS_PORT && ip4_is(ip->dst, &c->dns_ip) && svc_dns_query(nat, ip, &u))
        return;
    struct flow_key key;
    memset(&key, 0, sizeof key);
    key.guest_ip = c->guest_ip;
    key.dst_ip = vnat_ip4(ip->dst[0], ip->dst[1], ip->dst[2], ip->dst[3]);
    key.guest_port = u.sport;
    key.dst_port = u.dport;
    key.proto = VNAT_PROTO_UDP;
    const uint8_t *orig = eth->payload;
    size_t orig_len = ip->ihl_bytes + VW_UDP_HLEN;
    struct flow *f = flow_lookup(nat, &key);
    if (f == NULL) {
        f = open_udp(nat, &key, orig, orig_len);
        if (f == NULL)
            return;
    }
    send_to_host(nat, f, u.payload, u.payload_len, orig, orig_len);
}

/* ------------------------------------------------------------------ */
/* Host -> guest                                                       */
/* ------------------------------------------------------------------ */

int svc_dgram_deliver(struct vnat *nat, struct flow *f, size_t len)
{
    struct vw_l2l3 a = {
        .eth_dst = nat->cfg.guest_mac,
        .eth_src = nat->cfg.gateway_mac,
        .ip_src = f->key.dst_ip.addr,
        .ip_dst = f->key.guest_ip.addr,
        .ip_id = nat->ip_id++,
        .ttl = 64,
    };
    size_t n =
        vw_udp4_frame(nat->scratch, nat->scratch_len, &a, f->key.dst_port, f->key.guest_port, len);
    VNAT_VERIFY(nat, n > 0);
    f->u.dg.to_guest++;
    nat->stats.bytes_host_to_guest += len;
    saw(nat, f, DGDIR_IN);
    return host_guest_send(nat, nat->scratch, n);
}

static void udp_on_readable(struct vnat *nat, struct flow *f)
{
    vnat_token tok = flow_token(nat, f);
    uint8_t *buf = nat->scratch + VW_UDP4_PAYLOAD_OFF;
    size_t cap = nat->scratch_len - VW_UDP4_PAYLOAD_OFF;
    for (int n = 0; n < UDP_RECV_BURST; n++) {
        struct vnat_sockaddr from;
        long r = host_dgram_recv(nat, tok, buf, cap, &from);
        if (r == -SVC_EAGAIN)
            return;
        if (r < 0) {
            int code = unreach_code(-r);
            if (code < 0 && !transient(-r)) {
                bad_host_result(nat, f);
                return;
            }
            stats_drop(nat, VNAT_DROP_HOST_ERROR);
            if (code >= 0) {
                if (f->u.dg.kind == DG_DNS && code == 3)
                    svc_dns_server_failed(nat, f->u.dg.dns_server);
                svc_send_unreach_for_key(nat, &f->key, (uint8_t)code);
            }
            continue;
        }
        if ((size_t)r > cap) {
            stats_drop(nat, VNAT_DROP_OTHER); /* larger than the guest MTU: no fragments */
            continue;
        }
        if (f->u.dg.kind == DG_DNS)
            svc_dns_on_answer(nat, buf, (size_t)r);
        if (svc_dgram_deliver(nat, f, (size_t)r) != 0) {
            /* The link is full: keep the rest in the socket until it drains. */
            f->u.dg.paused = 1;
            link_wait_add(nat, f);
            f->interest = 0;
            host_set_interest(nat, tok, 0);
            return;
        }
    }
}

void svc_dgram_on_readable(struct vnat *nat, struct flow *f)
{
    if (f->u.dg.paused)
        return;
    if (f->key.proto == VNAT_PROTO_ICMP)
        svc_icmp_on_readable(nat, f);
    else
        udp_on_readable(nat, f);
}

void svc_dgram_on_link_writable(struct vnat *nat, struct flow *f)
{
    if (!f->u.dg.paused)
        return;
    f->u.dg.paused = 0;
    if (f->flags & FF_SOCKET) {
        f->interest = VNAT_WANT_READ;
        host_set_interest(nat, flow_token(nat, f), VNAT_WANT_READ);
        svc_dgram_on_readable(nat, f);
    }
}

int svc_dgram_check(const struct vnat *nat, const struct flow *f, const char **why)
{
    (void)nat;
    const struct dgram_flow *d = &f->u.dg;
    bool icmp = f->key.proto == VNAT_PROTO_ICMP;
    if (icmp ? d->kind != DG_ICMP
             : (d->kind != DG_UDP && d->kind != DG_DNS && d->kind != DG_UDP_IN)) {
        *why = "datagram flow of the wrong kind for its protocol";
        return 1;
    }
    if ((d->kind == DG_UDP_IN) == ((f->flags & FF_SOCKET) != 0)) {
        *why = "datagram flow socket ownership wrong for its kind";
        return 1;
    }
    uint8_t want = icmp                                ? TCLASS_ICMP
                   : d->dirs == (DGDIR_OUT | DGDIR_IN) ? TCLASS_UDP_STREAM
                                                       : TCLASS_UDP;
    if (f->list_class != want) {
        *why = "datagram flow on the wrong timer list";
        return 1;
    }
    if (f->heap_pos != VNAT_NONE32) {
        *why = "datagram flow holds a heap timer";
        return 1;
    }
    if (d->paused != ((f->flags & FF_LINK_WAIT) != 0)) {
        *why = "datagram flow paused without waiting for the link (or the reverse)";
        return 1;
    }
    return 0;
}
