/*
 * udp.c — layer 3: UDP NAT (guest -> host UDP flows and their answers).
 *
 * A guest datagram to a new destination passes the egress policy (the same
 * decision as TCP: gateway -> host loopback, DNS address -> a resolver,
 * rules on both names), the UDP flow limit (max_udp_flows, UDP and ICMP
 * together) and the table, then becomes a flow with one connected,
 * non-blocking host socket (dgram_open); later datagrams of the same
 * 5-tuple use it. Host datagrams are received straight into the payload
 * area of the output frame and the headers are built around them, with the
 * flow's destination as the source, so DNS replies come from the DNS
 * address. The flow machinery (timers, delivery, pausing, ICMP errors) is
 * dgram.c's; the dispatcher (dispatch.c) has already checked the UDP header
 * and the source, and routed DHCP and cached DNS elsewhere.
 *
 * Host results: -EAGAIN / -ENOBUFS / -ENOMEM drop the datagram (counted
 * host_error). -ECONNREFUSED (an earlier ICMP port unreachable on the host)
 * sends the guest an ICMP port unreachable; -ENETUNREACH / -EHOSTUNREACH
 * the matching ICMP unreachable; -EACCES / -EPERM (a host firewall) and
 * -EMFILE / -ENFILE (no descriptor for the flow's socket) ICMP
 * "administratively prohibited". A DNS answer SERVFAIL, NOTIMP or REFUSED
 * moves new DNS flows to the next resolver (resolver_refused). A policy
 * refusal also answers with ICMP "administratively prohibited" from the
 * gateway. Anything impossible (a
 * partial datagram, an errno not listed) closes the flow's socket and
 * frees the flow (bad_host_results).
 */
#include "udp.h"

#include "dgram.h"
#include "dns.h"
#include "forward.h"
#include "log.h"
#include "policy.h"
#include "wire.h"

#define UDP_RECV_BURST 64 /* datagrams read per readable event and flow */
#define DNS_PORT 53

_Static_assert(sizeof(struct dns_pending) == DGRAM_DNS_PENDING_BYTES,
               "a DNS flow keeps its outstanding queries in its datagram bytes");

/* The queries outstanding on a DG_DNS flow. */
static struct dns_pending *pending_of(struct dgram_flow *d)
{
    return (struct dns_pending *)(void *)d->dns_pending;
}

static bool ip4_is(const uint8_t *a, const struct vnat_ip *b)
{
    return b->family == VNAT_AF_INET && memcmp(a, b->addr, 4) == 0;
}

/* Open the host side of a new UDP flow. Returns NULL (after counting and
 * answering) if the flow may not or could not be created. */
static struct flow *open_udp(struct vnat *nat, const struct flow_key *key, const uint8_t *orig,
                             size_t orig_len)
{
    VNAT_ASSERT(nat, key->proto == VNAT_PROTO_UDP && key->guest_port != 0 && key->dst_port != 0);
    struct vnat_sockaddr dst = {.ip = key->dst_ip, .port = key->dst_port}, host_dst;
    enum policy_verdict v = policy_outbound(nat, VNAT_PROTO_UDP, &dst, &host_dst);
    bool dns = ip4_is(key->dst_ip.addr, &nat->cfg.dns_ip) && key->dst_port == DNS_PORT;
    unsigned server = 0;
    if (v == POLICY_ALLOW && dns) {
        server = policy_resolver(nat);
        host_dst = nat->cfg.dns_servers[server];
        if (policy_rules_deny(nat, VNAT_PROTO_UDP, &host_dst))
            v = POLICY_DENY_RULE;
    }
    if (v != POLICY_ALLOW) {
        stats_drop(nat, VNAT_DROP_POLICY);
        dgram_send_icmp_error(nat, nat->cfg.gateway_ip.addr, VW_ICMP_DEST_UNREACH, 13, orig,
                              orig_len);
        return NULL;
    }
    int why = dgram_admit(nat, dns ? DG_DNS : DG_UDP);
    if (why != 0) {
        stats_drop(nat, (enum vnat_drop_reason)why);
        return NULL;
    }
    struct flow *f = dgram_open(nat, key, dns ? DG_DNS : DG_UDP);
    dgram_of(f)->dns_server = (uint8_t)server;
    vnat_token tok = flow_token(nat, f);
    int r = host_dgram_open(nat, tok, VNAT_DGRAM_UDP, &host_dst);
    if (r != 0) {
        if (r > 0) {
            f->flags |= FF_SOCKET; /* impossible: close whatever it opened */
            dgram_bad_host_result(nat, f);
            return NULL;
        }
        stats_drop(nat, VNAT_DROP_HOST_ERROR);
        if (dns)
            policy_resolver_failed(nat, server);
        int code = dgram_unreach_code(-r);
        dgram_release(nat, f);
        if (code >= 0)
            dgram_send_icmp_error(nat, key->dst_ip.addr, VW_ICMP_DEST_UNREACH, (uint8_t)code, orig,
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
    struct dgram_flow *d = dgram_of(f);
    VNAT_ASSERT(nat, f->in_use && f->key.proto == VNAT_PROTO_UDP && d->kind != DG_ICMP);
    long r = d->kind == DG_UDP_IN ? forward_udp_send(nat, f, payload, len)
                                  : host_dgram_send(nat, flow_token(nat, f), payload, len, NULL);
    if (r == (long)len) {
        if (d->kind == DG_DNS)
            dns_note_query(nat, pending_of(d), payload, len);
        d->to_host++;
        nat->stats.bytes_guest_to_host += len;
        dgram_saw(nat, f, DGDIR_OUT);
        return true;
    }
    if (r == FWD_STALE) {
        stats_drop(nat, VNAT_DROP_OTHER); /* its forward was removed */
        dgram_release(nat, f);
        return false;
    }
    if (r >= 0) {
        dgram_bad_host_result(nat, f); /* a datagram is sent whole or not at all */
        return false;
    }
    stats_drop(nat, VNAT_DROP_HOST_ERROR);
    if (dgram_transient(-r))
        return true;
    int code = dgram_unreach_code(-r);
    if (code < 0) {
        dgram_bad_host_result(nat, f);
        return false;
    }
    if (d->kind == DG_DNS && code == 3)
        policy_resolver_failed(nat, d->dns_server);
    dgram_send_icmp_error(nat, f->key.dst_ip.addr, VW_ICMP_DEST_UNREACH, (uint8_t)code, orig,
                          orig_len);
    return true;
}

void udp_input(struct vnat *nat, const struct vw_ipv4 *ip, const struct vw_udp *u,
               const uint8_t *orig_ip)
{
    const struct vnat_config *c = &nat->cfg;
    VNAT_ASSERT(nat, u->sport != 0 && u->dport != 0 && ip4_is(ip->src, &c->guest_ip));
    struct flow_key key;
    memset(&key, 0, sizeof key);
    key.guest_ip = c->guest_ip;
    key.dst_ip = vnat_ip4(ip->dst[0], ip->dst[1], ip->dst[2], ip->dst[3]);
    key.guest_port = u->sport;
    key.dst_port = u->dport;
    key.proto = VNAT_PROTO_UDP;
    size_t orig_len = ip->ihl_bytes + VW_UDP_HLEN;
    struct flow *f = flow_lookup(nat, &key);
    if (f == NULL) {
        f = open_udp(nat, &key, orig_ip, orig_len);
        if (f == NULL)
            return;
    }
    send_to_host(nat, f, u->payload, u->payload_len, orig_ip, orig_len);
}

/* ------------------------------------------------------------------ */
/* Host -> guest                                                       */
/* ------------------------------------------------------------------ */

/* A resolver's answer that says it will not serve (SERVFAIL 2, NOTIMP 4,
 * REFUSED 5; glibc moves to its next server on these too): new DNS flows
 * go to the next configured resolver, as after an ICMP unreachable. Only
 * the header's response bit and RCODE are read; the answer itself goes to
 * the guest unchanged. (Kept apart from dns.c's answer parsing on
 * purpose: issue 14 item 6; once dns.c matches answers to queries, this
 * belongs behind that match.) */
static bool resolver_refused(const uint8_t *msg, size_t len)
{
    if (len < 4 || !(msg[2] & 0x80))
        return false;
    unsigned rcode = msg[3] & 0x0fu;
    return rcode == 2 || rcode == 4 || rcode == 5;
}

void udp_on_readable(struct vnat *nat, struct flow *f)
{
    VNAT_ASSERT(nat, f->key.proto == VNAT_PROTO_UDP && !dgram_paused(f) && (f->flags & FF_SOCKET));
    vnat_token tok = flow_token(nat, f);
    uint8_t *buf = nat->scratch + VW_UDP4_PAYLOAD_OFF;
    size_t cap = dgram_recv_cap(nat);
    for (int n = 0; n < UDP_RECV_BURST; n++) {
        struct vnat_sockaddr from;
        long r = host_dgram_recv(nat, tok, buf, cap, &from);
        if (r == -HOST_EAGAIN)
            return;
        if (r < 0) {
            int code = dgram_unreach_code(-r);
            if (code < 0 && !dgram_transient(-r)) {
                dgram_bad_host_result(nat, f);
                return;
            }
            stats_drop(nat, VNAT_DROP_HOST_ERROR);
            if (code >= 0) {
                if (dgram_of(f)->kind == DG_DNS && code == 3)
                    policy_resolver_failed(nat, dgram_of(f)->dns_server);
                dgram_send_unreach_for_key(nat, &f->key, (uint8_t)code);
            }
            continue;
        }
        if ((size_t)r > cap) {
            stats_drop(nat, VNAT_DROP_OTHER); /* larger than any IPv4 datagram */
            continue;
        }
        if (dgram_of(f)->kind == DG_DNS) {
            if (dns_on_host_answer(nat, pending_of(dgram_of(f)), buf, (size_t)r) != DNS_MATCHED)
                continue; /* counted: it answers no query this flow carried */
            /* Only a matched answer may move new flows to the next resolver:
             * a spoofed REFUSED cannot. */
            if (resolver_refused(buf, (size_t)r))
                policy_resolver_failed(nat, dgram_of(f)->dns_server);
            /* Too large for one frame: the guest gets it truncated (TC)
             * and asks again over TCP; DNS answers are not fragmented. */
            if ((size_t)r > nat->scratch_len - VW_UDP4_PAYLOAD_OFF)
                r = (long)dns_truncate(nat, buf, (size_t)r);
        }
        if (dgram_deliver(nat, f, (size_t)r) != 0) {
            /* The link is full: keep the rest in the socket until it drains. */
            dgram_pause(nat, f);
            return;
        }
        if (dgram_of(f)->kind == DG_DNS && !dns_pending_waits(pending_of(dgram_of(f)))) {
            /* Every query the flow carried is answered: it holds no slot or
             * socket for the UDP stream timeout. A later query from the same
             * port opens a new flow. */
            dgram_release(nat, f);
            return;
        }
    }
}
