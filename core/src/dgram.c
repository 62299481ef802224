/*
 * dgram.c — layer 3: the datagram-flow machinery shared by UDP NAT, ICMP
 * echo and inbound UDP forwards (dgram.h).
 *
 * A datagram flow owns at most one connected, non-blocking host socket
 * (inbound forwards send on their listener's). Nothing is buffered: a
 * datagram the guest link refuses is lost (UDP), and reading pauses until
 * the link takes frames again. Timeouts follow conntrack: udp_timeout_ns
 * (30 s) until traffic went both ways, then udp_stream_timeout_ns (120 s);
 * ICMP flows use icmp_timeout_ns. Every datagram refreshes the timer (an
 * O(1) move to the tail of its class list).
 *
 * A host datagram is received whole into the scratch region (up to 65507
 * bytes, the most an IPv4 datagram holds). One larger than a guest frame
 * allows (mtu - 28) goes to the guest in IPv4 fragments (RFC 791), as
 * libslirp does: the datagram is built once (one UDP checksum over the
 * whole), then each fragment's Ethernet and IPv4 headers are written in
 * place just before its data, over bytes of the fragment already sent, so
 * nothing is copied but the 34 header bytes. If the link refuses a
 * fragment, the rest are not sent: the datagram is lost, as a refused
 * whole one is.
 */
#include "dgram.h"

#include "log.h"
#include "policy.h"
#include "wire.h"

void dgram_init(struct vnat *nat)
{
    const struct vnat_config *c = &nat->cfg;
    memset(nat->dgram, 0, sizeof *nat->dgram);
    timer_set_duration(nat, TCLASS_UDP, c->udp_timeout_ns);
    timer_set_duration(nat, TCLASS_UDP_STREAM, c->udp_stream_timeout_ns);
    timer_set_duration(nat, TCLASS_ICMP, c->icmp_timeout_ns);
}

int dgram_admit(struct vnat *nat, enum dgram_kind kind)
{
    if (nat->dgram->live >= nat->cfg.max_udp_flows || flow_table_full(nat))
        return VNAT_DROP_FLOW_LIMIT;
    if (kind == DG_ICMP && nat->stats.icmp_flows >= nat->cfg.max_icmp_flows)
        return VNAT_DROP_FLOW_LIMIT;
    if (kind != DG_UDP_IN && !policy_dgram_rate_take(nat))
        return VNAT_DROP_RATE_LIMIT;
    return 0;
}

bool dgram_reclaim_idle(struct vnat *nat, uint64_t min_idle_ns)
{
    static const enum timer_class lists[] = {TCLASS_UDP, TCLASS_UDP_STREAM, TCLASS_ICMP};
    uint32_t best = VNAT_NONE32;
    uint64_t best_since = 0;
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        uint64_t since;
        uint32_t slot = timer_list_oldest(nat, lists[i], &since);
        if (slot != VNAT_NONE32 && (best == VNAT_NONE32 || since < best_since)) {
            best = slot;
            best_since = since;
        }
    }
    if (best == VNAT_NONE32 || nat->now - best_since < min_idle_ns)
        return false;
    dgram_release(nat, flow_at(nat, best));
    nat->stats.flows_reclaimed++;
    return true;
}

/* ------------------------------------------------------------------ */
/* Flow life cycle                                                     */
/* ------------------------------------------------------------------ */

struct flow *dgram_open(struct vnat *nat, const struct flow_key *key, enum dgram_kind kind)
{
    VNAT_ASSERT(nat, kind != DG_NONE && (kind == DG_ICMP) == (key->proto == VNAT_PROTO_ICMP));
    struct flow *f = flow_alloc(nat, key);
    VNAT_VERIFY(nat, f != NULL); /* callers check the table first */
    dgram_of(f)->kind = (uint8_t)kind;
    nat->dgram->live++;
    VNAT_ASSERT(nat, nat->dgram->live <= nat->cfg.max_udp_flows);
    if (key->proto == VNAT_PROTO_ICMP) {
        nat->stats.icmp_flows++;
        flow_timer_set(nat, f, TCLASS_ICMP);
    } else {
        nat->stats.udp_flows++;
        flow_timer_set(nat, f, TCLASS_UDP);
    }
    return f;
}

void dgram_release(struct vnat *nat, struct flow *f)
{
    VNAT_ASSERT(nat, f->in_use && f->key.proto != VNAT_PROTO_TCP);
    if (f->flags & FF_SOCKET) {
        host_close(nat, flow_token(nat, f), 0);
        f->flags &= (uint16_t)~FF_SOCKET;
    }
    VNAT_ASSERT(nat, nat->dgram->live > 0);
    nat->dgram->live--;
    if (f->key.proto == VNAT_PROTO_ICMP)
        nat->stats.icmp_flows--;
    else
        nat->stats.udp_flows--;
    flow_free(nat, f);
}

void dgram_bad_host_result(struct vnat *nat, struct flow *f)
{
    nat->stats.bad_host_results++;
    dgram_release(nat, f);
}

void dgram_saw(struct vnat *nat, struct flow *f, unsigned dir)
{
    VNAT_ASSERT(nat, dir == DGDIR_OUT || dir == DGDIR_IN);
    struct dgram_flow *d = dgram_of(f);
    unsigned before = d->dirs;
    d->dirs = (uint8_t)(before | dir);
    if (f->key.proto == VNAT_PROTO_UDP && d->dirs == (DGDIR_OUT | DGDIR_IN) && before != d->dirs)
        flow_timer_set(nat, f, TCLASS_UDP_STREAM);
    else
        flow_timer_touch(nat, f);
}

void dgram_on_timer(struct vnat *nat, struct flow *f)
{
    VNAT_ASSERT(nat, f->in_use && f->tm.list_class == TCLASS_NONE);
    dgram_release(nat, f);
}

/* ------------------------------------------------------------------ */
/* ICMP errors to the guest                                            */
/* ------------------------------------------------------------------ */

void dgram_send_icmp_error(struct vnat *nat, const uint8_t src[4], uint8_t type, uint8_t code,
                           const uint8_t *orig_ip, size_t orig_len)
{
    static const uint8_t rest[4] = {0, 0, 0, 0};
    uint8_t *p = nat->scratch + VW_ICMP4_PAYLOAD_OFF;
    VNAT_VERIFY(nat, orig_len <= 68 && VW_ICMP4_PAYLOAD_OFF + orig_len <= nat->scratch_len);
    memmove(p, orig_ip, orig_len);
    struct vw_l2l3 a = {
        .eth_dst = nat->guest_mac,
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

void dgram_send_unreach_for_key(struct vnat *nat, const struct flow_key *key, uint8_t code)
{
    /* The guest's datagram is gone; quote one with the flow's addresses and
     * ports, which is all a guest stack matches an error against. */
    uint8_t orig[VW_IPV4_HLEN + VW_UDP_HLEN];
    VNAT_ASSERT(nat, key->proto == VNAT_PROTO_UDP && code <= 15);
    size_t n = vw_ipv4_build(orig, sizeof orig, key->guest_ip.addr, key->dst_ip.addr,
                             VW_IPPROTO_UDP, 0, 64, VW_UDP_HLEN);
    VNAT_VERIFY(nat, n == VW_IPV4_HLEN);
    n = vw_udp_build(orig + VW_IPV4_HLEN, VW_UDP_HLEN, key->guest_port, key->dst_port, 0);
    VNAT_VERIFY(nat, n == VW_UDP_HLEN);
    dgram_send_icmp_error(nat, key->dst_ip.addr, VW_ICMP_DEST_UNREACH, code, orig, sizeof orig);
}

int dgram_unreach_code(long err)
{
    switch (err) {
    case HOST_ECONNREFUSED:
        return 3; /* port unreachable */
    case HOST_ENETUNREACH:
    case HOST_ENETDOWN:
        return 0; /* net unreachable */
    case HOST_EHOSTUNREACH:
    case HOST_EHOSTDOWN:
        return 1; /* host unreachable */
    case HOST_EACCES:
    case HOST_EPERM:
    case HOST_EMFILE:
    case HOST_ENFILE:
        /* communication administratively prohibited. For EMFILE/ENFILE
         * (vnat out of descriptors) too: a Linux guest reports only the
         * "hard" codes (3, 13, ...) to a UDP socket without IP_RECVERR;
         * host unreachable (1) would leave it waiting for its timeout. */
        return 13;
    default:
        return -1;
    }
}

bool dgram_transient(long err)
{
    return err == HOST_EAGAIN || err == HOST_ENOBUFS || err == HOST_ENOMEM || err == HOST_EMSGSIZE;
}

/* ------------------------------------------------------------------ */
/* Host -> guest                                                       */
/* ------------------------------------------------------------------ */

size_t dgram_recv_cap(const struct vnat *nat)
{
    return nat->scratch_cap - VW_UDP4_PAYLOAD_OFF;
}

/* Send the n-byte frame at nat->scratch (an IPv4 datagram larger than one
 * guest frame) as fragments of at most mtu bytes of IP. */
static int send_fragments(struct vnat *nat, size_t n)
{
    enum { HDR = VW_ETH_HLEN + VW_IPV4_HLEN };
    size_t payload = n - HDR;
    size_t step = (nat->cfg.mtu - VW_IPV4_HLEN) & ~(size_t)7; /* >= 552 > HDR */
    uint8_t hdr[HDR];
    memcpy(hdr, nat->scratch, HDR);
    nat->stats.udp_fragmented++;
    for (size_t off = 0; off < payload; off += step) {
        size_t chunk = payload - off < step ? payload - off : step;
        uint8_t *frame = nat->scratch + off; /* its data follows at + HDR */
        memcpy(frame, hdr, HDR);
        vw_ipv4_set_fragment(frame + VW_ETH_HLEN, off, chunk, off + chunk < payload);
        int r = host_guest_send(nat, frame, HDR + chunk);
        if (r != 0)
            return r; /* the rest of the datagram is lost with it */
    }
    return 0;
}

int dgram_deliver(struct vnat *nat, struct flow *f, size_t len)
{
    VNAT_ASSERT(nat, f->in_use && f->key.proto == VNAT_PROTO_UDP && len <= dgram_recv_cap(nat));
    struct vw_l2l3 a = {
        .eth_dst = nat->guest_mac,
        .eth_src = nat->cfg.gateway_mac,
        .ip_src = f->key.dst_ip.addr,
        .ip_dst = f->key.guest_ip.addr,
        .ip_id = nat->ip_id++,
        .ttl = 64,
    };
    size_t n =
        vw_udp4_frame(nat->scratch, nat->scratch_cap, &a, f->key.dst_port, f->key.guest_port, len);
    VNAT_VERIFY(nat, n > 0);
    dgram_of(f)->to_guest++;
    nat->stats.bytes_host_to_guest += len;
    dgram_saw(nat, f, DGDIR_IN);
    if (n > nat->scratch_len)
        return send_fragments(nat, n);
    return host_guest_send(nat, nat->scratch, n);
}

void dgram_pause(struct vnat *nat, struct flow *f)
{
    VNAT_ASSERT(nat, f->in_use && !dgram_of(f)->paused && (f->flags & FF_SOCKET));
    dgram_of(f)->paused = 1;
    link_wait_add(nat, f);
    f->interest = 0;
    host_set_interest(nat, flow_token(nat, f), 0);
}

bool dgram_paused(const struct flow *f)
{
    return dgram_const(f)->paused != 0;
}

bool dgram_resume(struct vnat *nat, struct flow *f)
{
    struct dgram_flow *d = dgram_of(f);
    if (!d->paused)
        return false;
    VNAT_ASSERT(nat, !(f->flags & FF_LINK_WAIT)); /* taken off the list first */
    d->paused = 0;
    if (!(f->flags & FF_SOCKET))
        return false;
    f->interest = VNAT_WANT_READ;
    host_set_interest(nat, flow_token(nat, f), VNAT_WANT_READ);
    return true;
}

int dgram_check(const struct vnat *nat, const struct flow *f, const char **why)
{
    (void)nat;
    const struct dgram_flow *d = dgram_const(f);
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
    if (f->tm.list_class != want) {
        *why = "datagram flow on the wrong timer list";
        return 1;
    }
    if (f->tm.heap_pos != VNAT_NONE32) {
        *why = "datagram flow holds a heap timer";
        return 1;
    }
    if (d->paused != ((f->flags & FF_LINK_WAIT) != 0)) {
        *why = "datagram flow paused without waiting for the link (or the reverse)";
        return 1;
    }
    return 0;
}
