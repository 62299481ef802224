/*
 * forward.c — layer 3: inbound port forwarding. Each forward is a host
 * listener in a slot of nat->fwd->listeners; its token is the slot (numbered after the flow
 * slots: max_flows + i) plus the slot's generation, so a token of a removed
 * forward is stale.
 *
 * TCP: on listener-ready, connections are accepted (a bounded burst per
 * event) straight into the flow slot that the next allocation will use, so
 * the accepted socket is named by its flow's own token. The flow sends the
 * guest a SYN (tcp.c, SYN_SENT) from the peer's guest-visible address and
 * behaves like any outbound flow once the guest completes the handshake.
 * When no flow may be created (table full, TCP limit), the connection is
 * still accepted, under a token that names no flow (slot max_flows +
 * max_forwards + i), and closed with a reset at once: a refused client sees
 * a reset, and a full accept queue cannot keep the listener readable
 * forever. A connection closed at once never passes its token on: the
 * token's generation moves on, so no later socket is named by it.
 *
 * UDP: the listener is a bound datagram socket. A datagram from a host peer
 * creates (or refreshes) a DG_UDP_IN flow keyed like an outbound flow from
 * the guest port to the peer's guest-visible address and port; the guest's
 * replies match that key and leave through the listener's socket, sent to
 * the peer. Such a flow owns no socket; removing the forward strands it,
 * and it is released at its next use or timeout.
 *
 * The guest-visible address of a peer is the peer's own IPv4 address when
 * it can be shown to the guest unchanged (the real client address, which
 * users of forwarded ports ask for); host loopback, link-local, multicast,
 * addresses inside the guest's subnet and IPv6 peers appear as the gateway
 * address.
 */
#include "forward.h"

#include "dgram.h"
#include "log.h"
#include "policy.h"
#include "tcp.h"
#include "wire.h"

#define FWD_ACCEPT_BURST 16
#define FWD_RECV_BURST 64

void forward_init(struct vnat *nat, struct listener *listeners)
{
    memset(nat->fwd, 0, sizeof *nat->fwd);
    nat->fwd->listeners = listeners;
    for (uint32_t i = 0; i < nat->cfg.max_forwards; i++)
        listeners[i].gen = listeners[i].reject_gen = 1;
}

static vnat_token listener_token(const struct vnat *nat, uint32_t slot)
{
    return ((uint64_t)nat->fwd->listeners[slot].gen << 32) | (nat->cfg.max_flows + slot);
}

/* A token naming no flow and no listener, for a connection refused at once.
 * Its generation is the listener's own reject count, not the listener's
 * generation, so each refused socket gets a token of its own. */
static vnat_token reject_token(const struct vnat *nat, uint32_t slot)
{
    return ((uint64_t)nat->fwd->listeners[slot].reject_gen << 32) |
           (nat->cfg.max_flows + nat->cfg.max_forwards + slot);
}

static struct listener *listener_by_token(struct vnat *nat, vnat_token tok, uint32_t *slot)
{
    uint32_t s = (uint32_t)tok, gen = (uint32_t)(tok >> 32);
    if (s < nat->cfg.max_flows || s - nat->cfg.max_flows >= nat->cfg.max_forwards || gen == 0)
        return NULL;
    s -= nat->cfg.max_flows;
    struct listener *l = &nat->fwd->listeners[s];
    if (!l->in_use || l->gen != gen)
        return NULL;
    *slot = s;
    return l;
}

static bool same_forward(const struct vnat_forward *a, const struct vnat_forward *b)
{
    return a->proto == b->proto && a->host.port == b->host.port &&
           memcmp(&a->host.ip, &b->host.ip, sizeof a->host.ip) == 0;
}

static bool forward_valid(const struct vnat_forward *f)
{
    if (f->proto != VNAT_PROTO_TCP && f->proto != VNAT_PROTO_UDP)
        return false;
    if (f->host.ip.family != VNAT_AF_INET && f->host.ip.family != VNAT_AF_INET6)
        return false;
    if (f->host.ip.family == VNAT_AF_INET) {
        for (int i = 4; i < 16; i++)
            if (f->host.ip.addr[i] != 0)
                return false;
    }
    return f->host.port != 0 && f->guest_port != 0;
}

vnat_err forward_add(struct vnat *nat, const struct vnat_forward *fwd)
{
    if (nat->shut_down)
        return VNAT_E_STATE;
    if (!forward_valid(fwd))
        return VNAT_E_INVAL;
    struct vnat_forward clean;
    memset(&clean, 0, sizeof clean);
    clean.proto = fwd->proto;
    clean.host.ip.family = fwd->host.ip.family;
    memcpy(clean.host.ip.addr, fwd->host.ip.addr, 16);
    clean.host.port = fwd->host.port;
    clean.guest_port = fwd->guest_port;
    uint32_t free_slot = VNAT_NONE32;
    for (uint32_t i = 0; i < nat->cfg.max_forwards; i++) {
        struct listener *l = &nat->fwd->listeners[i];
        if (l->in_use && same_forward(&l->fwd, &clean))
            return VNAT_E_EXISTS;
        if (!l->in_use && free_slot == VNAT_NONE32)
            free_slot = i;
    }
    if (free_slot == VNAT_NONE32)
        return VNAT_E_FULL;
    struct listener *l = &nat->fwd->listeners[free_slot];
    vnat_token tok = listener_token(nat, free_slot);
    int r = clean.proto == VNAT_PROTO_TCP ? host_tcp_listen(nat, tok, &clean.host)
                                          : host_dgram_bind(nat, tok, VNAT_DGRAM_UDP, &clean.host);
    if (r != 0) {
        if (r > 0) {
            /* Impossible: a socket may exist under that token; close it. */
            nat->stats.bad_host_results++;
            host_close(nat, tok, 0);
            l->gen = l->gen == UINT32_MAX ? 1 : l->gen + 1;
        }
        return VNAT_E_HOST;
    }
    l->fwd = clean;
    l->in_use = 1;
    nat->fwd->live++;
    VNAT_ASSERT(nat, nat->fwd->live <= nat->cfg.max_forwards);
    return VNAT_OK;
}

static void listener_close(struct vnat *nat, uint32_t slot)
{
    struct listener *l = &nat->fwd->listeners[slot];
    host_close(nat, listener_token(nat, slot), 0);
    l->in_use = 0;
    l->gen = l->gen == UINT32_MAX ? 1 : l->gen + 1;
    VNAT_ASSERT(nat, nat->fwd->live > 0);
    nat->fwd->live--;
}

vnat_err forward_remove(struct vnat *nat, const struct vnat_forward *fwd)
{
    if (nat->shut_down)
        return VNAT_E_STATE;
    if (!forward_valid(fwd))
        return VNAT_E_INVAL;
    VNAT_ASSERT(nat, nat->fwd->live <= nat->cfg.max_forwards);
    for (uint32_t i = 0; i < nat->cfg.max_forwards; i++) {
        struct listener *l = &nat->fwd->listeners[i];
        if (l->in_use && same_forward(&l->fwd, fwd) && l->fwd.guest_port == fwd->guest_port) {
            listener_close(nat, i);
            return VNAT_OK;
        }
    }
    return VNAT_E_NOTFOUND;
}

vnat_err forward_open_config(struct vnat *nat)
{
    VNAT_ASSERT(nat, nat->cfg.n_forwards <= nat->cfg.max_forwards && nat->fwd->live == 0);
    for (uint32_t i = 0; i < nat->cfg.n_forwards; i++) {
        vnat_err e = forward_add(nat, &nat->cfg.forwards[i]);
        if (e != VNAT_OK) {
            for (uint32_t s = 0; s < nat->cfg.max_forwards; s++)
                if (nat->fwd->listeners[s].in_use)
                    listener_close(nat, s);
            return e == VNAT_E_HOST ? VNAT_E_HOST : VNAT_E_CONFIG;
        }
    }
    return VNAT_OK;
}

static int listener_open(struct vnat *nat, uint32_t slot)
{
    const struct listener *l = &nat->fwd->listeners[slot];
    vnat_token tok = listener_token(nat, slot);
    return l->fwd.proto == VNAT_PROTO_TCP ? host_tcp_listen(nat, tok, &l->fwd.host)
                                          : host_dgram_bind(nat, tok, VNAT_DGRAM_UDP, &l->fwd.host);
}

vnat_err forward_reopen(struct vnat *nat)
{
    for (uint32_t i = 0; i < nat->cfg.max_forwards; i++) {
        if (!nat->fwd->listeners[i].in_use || listener_open(nat, i) == 0)
            continue;
        for (uint32_t s = 0; s <= i; s++)
            if (nat->fwd->listeners[s].in_use)
                host_close(nat, listener_token(nat, s), 0);
        return VNAT_E_HOST;
    }
    return VNAT_OK;
}

static void visible_peer(const struct vnat *nat, const struct vnat_sockaddr *peer,
                         struct vnat_ip *out)
{
    const struct vnat_config *c = &nat->cfg;
    VNAT_ASSERT(nat, c->gateway_ip.family == VNAT_AF_INET && c->prefix_len <= 30);
    if (peer->ip.family == VNAT_AF_INET) {
        const uint8_t *a = peer->ip.addr;
        bool hidden = a[0] == 0 || a[0] == 127 || a[0] >= 224 || (a[0] == 169 && a[1] == 254) ||
                      policy_ip_in(&peer->ip, &c->guest_ip, c->prefix_len) ||
                      memcmp(&peer->ip, &c->gateway_ip, sizeof peer->ip) == 0 ||
                      memcmp(&peer->ip, &c->dns_ip, sizeof peer->ip) == 0;
        if (!hidden) {
            *out = vnat_ip4(a[0], a[1], a[2], a[3]);
            return;
        }
    }
    *out = c->gateway_ip;
}

static void forward_key(const struct vnat *nat, const struct listener *l,
                        const struct vnat_sockaddr *peer, struct flow_key *key)
{
    VNAT_ASSERT(nat, l->in_use && l->fwd.guest_port != 0);
    memset(key, 0, sizeof *key);
    key->guest_ip = nat->cfg.guest_ip;
    visible_peer(nat, peer, &key->dst_ip);
    key->guest_port = l->fwd.guest_port;
    key->dst_port = peer->port;
    key->proto = l->fwd.proto;
}

static uint32_t next_gen(uint32_t gen)
{
    return gen == UINT32_MAX ? 1 : gen + 1;
}

/* Reset an accepted connection that gets no flow, and retire its token: the
 * next accept would otherwise name another socket with it, and an event the
 * embedder still holds for the closed one would reach that socket. A flow
 * slot's token is retired by moving the free slot to its next generation
 * (as flow_free does), a refused one's by the listener's reject count. */
static void accept_close(struct vnat *nat, struct listener *l, bool room, vnat_token tok)
{
    VNAT_ASSERT(nat, room ? (uint32_t)tok < nat->cfg.max_flows
                          : (uint32_t)tok >= nat->cfg.max_flows + nat->cfg.max_forwards);
    host_close(nat, tok, 1);
    if (room) {
        flow_burn_token(nat, tok);
    } else {
        l->reject_gen = next_gen(l->reject_gen);
    }
}

static void tcp_accept_burst(struct vnat *nat, struct listener *l, uint32_t slot)
{
    VNAT_ASSERT(nat, slot < nat->cfg.max_forwards && l->in_use && l->fwd.proto == VNAT_PROTO_TCP);
    vnat_token ltok = listener_token(nat, slot);
    for (int n = 0; n < FWD_ACCEPT_BURST; n++) {
        if (flow_table_full(nat) && !tcp_reclaim_lingering(nat))
            dgram_reclaim_idle(nat, DGRAM_RECLAIM_IDLE_NS);
        bool room = tcp_has_room(nat);
        vnat_token tok = room ? flow_next_token(nat) : reject_token(nat, slot);
        struct vnat_sockaddr peer;
        int r = host_tcp_accept(nat, ltok, tok, &peer);
        if (r == -HOST_EAGAIN)
            return;
        if (r != 0) {
            if (r > 0) {
                nat->stats.bad_host_results++;
                accept_close(nat, l, room, tok);
            } else {
                stats_drop(nat, VNAT_DROP_HOST_ERROR);
            }
            return;
        }
        struct flow_key key;
        forward_key(nat, l, &peer, &key);
        if (!room) {
            stats_drop(nat, VNAT_DROP_FLOW_LIMIT);
            accept_close(nat, l, room, tok);
            continue;
        }
        if (peer.port == 0 || (peer.ip.family != VNAT_AF_INET && peer.ip.family != VNAT_AF_INET6)) {
            nat->stats.bad_host_results++;
            accept_close(nat, l, room, tok);
            continue;
        }
        if (flow_lookup(nat, &key) != NULL) {
            /* Two peers that look the same to the guest (say 127.0.0.1 and
             * 127.0.0.2 with one port): the second cannot be told apart. */
            stats_drop(nat, VNAT_DROP_OTHER);
            accept_close(nat, l, room, tok);
            continue;
        }
        nat->stats.forwards_accepted++;
        tcp_open_inbound(nat, &key, tok);
    }
}

static void udp_listener_burst(struct vnat *nat, struct listener *l, uint32_t slot)
{
    VNAT_ASSERT(nat, slot < nat->cfg.max_forwards && l->in_use && l->fwd.proto == VNAT_PROTO_UDP);
    vnat_token ltok = listener_token(nat, slot);
    uint8_t *buf = nat->scratch + VW_UDP4_PAYLOAD_OFF;
    size_t cap = dgram_recv_cap(nat);
    for (int n = 0; n < FWD_RECV_BURST; n++) {
        struct vnat_sockaddr from;
        long r = host_dgram_recv(nat, ltok, buf, cap, &from);
        if (r == -HOST_EAGAIN)
            return;
        if (r < 0) {
            long e = -r;
            if (e == HOST_ECONNREFUSED || e == HOST_ENETUNREACH || e == HOST_EHOSTUNREACH ||
                e == HOST_ENOMEM || e == HOST_ENOBUFS) {
                stats_drop(nat, VNAT_DROP_HOST_ERROR);
                continue;
            }
            nat->stats.bad_host_results++;
            return;
        }
        if ((size_t)r > cap) {
            stats_drop(nat, VNAT_DROP_OTHER); /* larger than any IPv4 datagram */
            continue;
        }
        if (from.port == 0 || (from.ip.family != VNAT_AF_INET && from.ip.family != VNAT_AF_INET6)) {
            nat->stats.bad_host_results++;
            continue;
        }
        struct flow_key key;
        forward_key(nat, l, &from, &key);
        struct flow *f = flow_lookup(nat, &key);
        if (f == NULL) {
            int why = dgram_admit(nat, DG_UDP_IN);
            if (why != 0) {
                stats_drop(nat, (enum vnat_drop_reason)why);
                continue;
            }
            f = dgram_open(nat, &key, DG_UDP_IN);
            dgram_of(f)->listener = slot;
            dgram_of(f)->listener_gen = l->gen;
            dgram_of(f)->peer = from;
        } else if (dgram_of(f)->kind == DG_UDP_IN) {
            dgram_of(f)->listener = slot;
            dgram_of(f)->listener_gen = l->gen;
            dgram_of(f)->peer = from;
        }
        dgram_deliver(nat, f, (size_t)r);
        if (nat->link_full)
            return; /* the rest stays queued in the socket */
    }
}

bool forward_on_listener_ready(struct vnat *nat, vnat_token tok)
{
    uint32_t slot;
    struct listener *l = listener_by_token(nat, tok, &slot);
    if (l == NULL)
        return false;
    VNAT_ASSERT(nat, slot < nat->cfg.max_forwards && l->gen == (uint32_t)(tok >> 32));
    if (l->fwd.proto == VNAT_PROTO_TCP)
        tcp_accept_burst(nat, l, slot);
    else
        udp_listener_burst(nat, l, slot);
    return true;
}

long forward_udp_send(struct vnat *nat, struct flow *f, const uint8_t *buf, size_t len)
{
    const struct dgram_flow *d = dgram_const(f);
    VNAT_ASSERT(nat, d->kind == DG_UDP_IN && !(f->flags & FF_SOCKET));
    if (d->listener >= nat->cfg.max_forwards)
        return FWD_STALE;
    const struct listener *l = &nat->fwd->listeners[d->listener];
    if (!l->in_use || l->gen != d->listener_gen)
        return FWD_STALE;
    return host_dgram_send(nat, listener_token(nat, d->listener), buf, len, &d->peer);
}

void forward_shutdown(struct vnat *nat)
{
    for (uint32_t s = 0; s < nat->cfg.max_forwards; s++)
        if (nat->fwd->listeners[s].in_use)
            listener_close(nat, s);
}
