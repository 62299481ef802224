/*
 * icmp.c — layer 3: ICMP echo ("ping") for the guest. An echo request to a new
 * (destination, identifier) pair passes the same egress policy as TCP and
 * UDP (so the gateway maps to host loopback and deny rules apply: the
 * reference NAT's ICMP bypassed both) and becomes a flow with one
 * unprivileged ICMP datagram socket on the host (dgram_open, kind ICMP).
 * The whole echo message is sent as the guest wrote it; the host may
 * rewrite the identifier (a ping socket owns its own), so replies are
 * matched by the flow and given back the guest's identifier. Replies are
 * received straight into the ICMP header position of the output frame.
 *
 * Echo requests to the DNS address, and to the gateway when it does not
 * map to host loopback, are answered by vnat itself: those addresses are
 * vnat's own and nothing is sent to the host. Other ICMP from the guest
 * (errors, echo replies, timestamps) is dropped and counted
 * (icmp_unsupported).
 */
#include "icmp.h"

#include "dgram.h"
#include "log.h"
#include "policy.h"
#include "wire.h"

#define ICMP_RECV_BURST 64

static bool ip4_is(const uint8_t *a, const struct vnat_ip *b)
{
    return b->family == VNAT_AF_INET && memcmp(a, b->addr, 4) == 0;
}

/* Answer an echo request to one of vnat's own addresses. */
static void echo_locally(struct vnat *nat, const struct vw_ipv4 *ip, const struct vw_icmp *m)
{
    if (VW_ICMP4_PAYLOAD_OFF + m->payload_len > nat->scratch_len) {
        stats_drop(nat, VNAT_DROP_L4_HEADER); /* larger than our MTU */
        return;
    }
    memcpy(nat->scratch + VW_ICMP4_PAYLOAD_OFF, m->payload, m->payload_len);
    struct vw_l2l3 a = {
        .eth_dst = nat->guest_mac,
        .eth_src = nat->cfg.gateway_mac,
        .ip_src = ip->dst,
        .ip_dst = ip->src,
        .ip_id = nat->ip_id++,
        .ttl = 64,
    };
    size_t n = vw_icmp4_frame(nat->scratch, nat->scratch_len, &a, VW_ICMP_ECHO_REPLY, 0, m->rest,
                              m->payload_len);
    VNAT_VERIFY(nat, n > 0);
    host_guest_send(nat, nat->scratch, n);
}

static struct flow *open_icmp(struct vnat *nat, const struct flow_key *key, const uint8_t *orig,
                              size_t orig_len)
{
    VNAT_ASSERT(nat, key->proto == VNAT_PROTO_ICMP && key->dst_port == 0);
    struct vnat_sockaddr dst = {.ip = key->dst_ip, .port = 0}, host_dst;
    if (policy_outbound(nat, VNAT_PROTO_ICMP, &dst, &host_dst) != POLICY_ALLOW) {
        stats_drop(nat, VNAT_DROP_POLICY);
        dgram_send_icmp_error(nat, nat->cfg.gateway_ip.addr, VW_ICMP_DEST_UNREACH, 13, orig,
                              orig_len);
        return NULL;
    }
    int why = dgram_admit(nat, DG_ICMP);
    if (why != 0) {
        stats_drop(nat, (enum vnat_drop_reason)why);
        return NULL;
    }
    host_dst.port = 0;
    struct flow *f = dgram_open(nat, key, DG_ICMP);
    vnat_token tok = flow_token(nat, f);
    int r = host_dgram_open(nat, tok, VNAT_DGRAM_ICMP, &host_dst);
    if (r != 0) {
        if (r > 0) {
            f->flags |= FF_SOCKET;
            dgram_bad_host_result(nat, f);
            return NULL;
        }
        /* Ping sockets may be forbidden on the host (net.ipv4.ping_group_range). */
        stats_drop(nat, VNAT_DROP_HOST_ERROR);
        dgram_release(nat, f);
        return NULL;
    }
    f->flags |= FF_SOCKET;
    f->interest = VNAT_WANT_READ;
    host_set_interest(nat, tok, VNAT_WANT_READ);
    return f;
}

void icmp_input(struct vnat *nat, const struct vw_eth *eth, const struct vw_ipv4 *ip)
{
    const struct vnat_config *c = &nat->cfg;
    VNAT_ASSERT(nat, ip->proto == VW_IPPROTO_ICMP && !ip->is_fragment && ip->ttl > 0);
    if (!ip4_is(ip->src, &c->guest_ip) || memcmp(eth->src, nat->guest_mac, 6) != 0) {
        stats_drop(nat, VNAT_DROP_SPOOFED);
        return;
    }
    struct vw_icmp m;
    int rc = vw_icmp4_parse(ip->payload, ip->payload_len, &m);
    if (rc != VW_OK) {
        stats_drop(nat, rc == VW_ECSUM ? VNAT_DROP_L4_CHECKSUM : VNAT_DROP_L4_HEADER);
        return;
    }
    if (m.type != VW_ICMP_ECHO_REQUEST || m.code != 0) {
        stats_drop(nat, VNAT_DROP_ICMP_UNSUPPORTED);
        return;
    }
    if (ip4_is(ip->dst, &c->dns_ip) ||
        (ip4_is(ip->dst, &c->gateway_ip) && !(c->flags & VNAT_F_GATEWAY_IS_LOOPBACK))) {
        echo_locally(nat, ip, &m);
        return;
    }
    struct flow_key key;
    memset(&key, 0, sizeof key);
    key.guest_ip = c->guest_ip;
    key.dst_ip = vnat_ip4(ip->dst[0], ip->dst[1], ip->dst[2], ip->dst[3]);
    key.guest_port = m.id;
    key.dst_port = 0;
    key.proto = VNAT_PROTO_ICMP;
    const uint8_t *orig = eth->payload;
    size_t orig_len = ip->ihl_bytes + VW_ICMP_HLEN;
    struct flow *f = flow_lookup(nat, &key);
    if (f == NULL && (f = open_icmp(nat, &key, orig, orig_len)) == NULL)
        return;
    long r = host_dgram_send(nat, flow_token(nat, f), ip->payload, ip->payload_len, NULL);
    if (r == (long)ip->payload_len) {
        dgram_of(f)->to_host++;
        dgram_of(f)->dirs |= DGDIR_OUT;
        flow_timer_touch(nat, f);
        return;
    }
    if (r >= 0) {
        dgram_bad_host_result(nat, f);
        return;
    }
    long e = -r;
    if (e == HOST_EAGAIN || e == HOST_ENOBUFS || e == HOST_ENOMEM || e == HOST_ENETUNREACH ||
        e == HOST_EHOSTUNREACH || e == HOST_ENETDOWN || e == HOST_EHOSTDOWN || e == HOST_EACCES ||
        e == HOST_EPERM || e == HOST_EMSGSIZE || e == HOST_ECONNREFUSED) {
        stats_drop(nat, VNAT_DROP_HOST_ERROR);
        return;
    }
    dgram_bad_host_result(nat, f);
}

void icmp_on_readable(struct vnat *nat, struct flow *f)
{
    VNAT_ASSERT(nat, f->key.proto == VNAT_PROTO_ICMP && !dgram_paused(f) && (f->flags & FF_SOCKET));
    vnat_token tok = flow_token(nat, f);
    const size_t at = VW_ETH_HLEN + VW_IPV4_HLEN; /* where the ICMP header goes */
    uint8_t *buf = nat->scratch + at;
    size_t cap = nat->scratch_len - at;
    for (int n = 0; n < ICMP_RECV_BURST; n++) {
        struct vnat_sockaddr from;
        long r = host_dgram_recv(nat, tok, buf, cap, &from);
        if (r == -HOST_EAGAIN)
            return;
        if (r < 0) {
            long e = -r;
            if (e == HOST_ENOBUFS || e == HOST_ENOMEM || e == HOST_ENETUNREACH ||
                e == HOST_EHOSTUNREACH || e == HOST_ECONNREFUSED || e == HOST_EHOSTDOWN ||
                e == HOST_ENETDOWN) {
                stats_drop(nat, VNAT_DROP_HOST_ERROR);
                continue;
            }
            dgram_bad_host_result(nat, f);
            return;
        }
        if ((size_t)r > cap) {
            stats_drop(nat, VNAT_DROP_OTHER);
            continue;
        }
        if (r < VW_ICMP_HLEN) {
            dgram_bad_host_result(nat, f); /* a ping socket returns whole ICMP messages */
            return;
        }
        if (buf[0] != VW_ICMP_ECHO_REPLY || buf[1] != 0) {
            stats_drop(nat, VNAT_DROP_ICMP_UNSUPPORTED);
            continue;
        }
        uint8_t rest[4];
        vw_put16(rest, f->key.guest_port); /* the guest's identifier back */
        memcpy(rest + 2, buf + 6, 2);      /* the sequence number as received */
        struct vw_l2l3 a = {
            .eth_dst = nat->guest_mac,
            .eth_src = nat->cfg.gateway_mac,
            .ip_src = f->key.dst_ip.addr,
            .ip_dst = f->key.guest_ip.addr,
            .ip_id = nat->ip_id++,
            .ttl = 64,
        };
        size_t len = vw_icmp4_frame(nat->scratch, nat->scratch_len, &a, VW_ICMP_ECHO_REPLY, 0, rest,
                                    (size_t)r - VW_ICMP_HLEN);
        VNAT_VERIFY(nat, len > 0);
        dgram_of(f)->to_guest++;
        dgram_of(f)->dirs |= DGDIR_IN;
        flow_timer_touch(nat, f);
        if (host_guest_send(nat, nat->scratch, len) != 0) {
            dgram_pause(nat, f);
            return;
        }
    }
}
