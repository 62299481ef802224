/*
 * snap.c — layer 4: the snapshot image (docs/snapshot.md has the layout
 * and the versioning rule). An image is a 24-byte header (magic, major,
 * minor, total length), tagged sections in ascending tag order, and a
 * SipHash-2-4 of everything before it under a fixed, public key (a
 * checksum against damage, not a signature: a snapshot is trusted no more
 * than a guest frame, so every field is validated on the way in anyway).
 *
 * The image names no pointer and no struct layout: every field is written
 * byte by byte (sbuf.h). Slots are kept (a token is a slot and its
 * generation, and tokens stay the names of host sockets across a restore);
 * everything derived is rebuilt: the flow index and keyed hashes, the heap
 * (its order is total: deadline, then slot), the counts of live flows. The
 * order-carrying lists are written in their order: flows in the order of
 * the timer lists (one list after the other, then the flows on none), the
 * free list and the link-wait list as sequences of slots.
 */
#include "snap.h"

#include "dgram.h"
#include "dhcp.h"
#include "dns.h"
#include "flow.h"
#include "forward.h"
#include "policy.h"
#include "siphash.h"
#include "tcp.h"
#include "timer.h"

#define SNAP_HDR 24
#define SNAP_SUM 8
static const uint8_t snap_magic[8] = {'V', 'N', 'A', 'T', 'S', 'N', 'A', 'P'};
/* The checksum's key: "vnatsnap" and "checksum" as little-endian words. */
static const uint64_t snap_key[2] = {0x70616e7374616e76ull, 0x6d75736b63656863ull};

enum snap_tag {
    SEC_CONFIG = 1,
    SEC_STATS,
    SEC_CORE,
    SEC_KEYS,
    SEC_POLICY,
    SEC_TIMERS,
    SEC_DHCP,
    SEC_LISTENERS,
    SEC_SLOTS,
    SEC_FLOWS,
    SEC_FREE,
    SEC_LINKWAIT,
    SEC_DNS,
    SEC_LAST = SEC_DNS
};

#define RULE_BYTES 24    /* action, proto, prefix, net (17), port_lo, port_hi */
#define FORWARD_BYTES 22 /* proto, host (19), guest_port */
#define SNAP_MAX_LIST 65536u
#define SLOT_UNLISTED (VNAT_NONE32 - 1) /* restore: a free slot not yet on the free list */

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

static size_t sec_begin(struct sbuf_w *w, enum snap_tag tag)
{
    sw_u16(w, (uint16_t)tag);
    sw_u16(w, 0);
    size_t at = w->len;
    sw_u32(w, 0);
    return at;
}

static void sec_end(struct sbuf_w *w, size_t at)
{
    sw_patch_u32(w, at, (uint32_t)(w->len - at - 4));
}

static void put_forward(struct sbuf_w *w, const struct vnat_forward *f)
{
    sw_u8(w, f->proto);
    sw_sockaddr(w, &f->host);
    sw_u16(w, f->guest_port);
}

static void put_config_scalars(struct sbuf_w *w, const struct vnat_config *c)
{
    sw_u32(w, c->flags);
    sw_bytes(w, c->guest_mac, 6);
    sw_bytes(w, c->gateway_mac, 6);
    sw_ip(w, &c->guest_ip);
    sw_ip(w, &c->gateway_ip);
    sw_ip(w, &c->dns_ip);
    sw_u8(w, c->prefix_len);
    sw_u32(w, c->mtu);
    sw_u32(w, c->max_flows);
    sw_u32(w, c->max_tcp_flows);
    sw_u32(w, c->max_udp_flows);
    sw_u32(w, c->syn_rate_per_sec);
    sw_u64(w, c->connect_timeout_ns);
    sw_u64(w, c->tcp_idle_timeout_ns);
    sw_u64(w, c->tcp_closing_timeout_ns);
    sw_u64(w, c->udp_timeout_ns);
    sw_u64(w, c->udp_stream_timeout_ns);
    sw_u64(w, c->icmp_timeout_ns);
    sw_u32(w, c->dhcp_lease_s);
    sw_u64(w, c->seed);
    sw_u32(w, c->max_forwards);
    sw_u32(w, c->n_dns_servers);
    for (int i = 0; i < VNAT_MAX_DNS_SERVERS; i++)
        sw_sockaddr(w, &c->dns_servers[i]);
}

static void put_config(struct sbuf_w *w, const struct vnat_config *c)
{
    size_t at = sec_begin(w, SEC_CONFIG);
    put_config_scalars(w, c);
    sw_u32(w, c->n_rules);
    for (uint32_t i = 0; i < c->n_rules; i++) {
        const struct vnat_rule *r = &c->rules[i];
        sw_u8(w, r->action);
        sw_u8(w, r->proto);
        sw_u8(w, r->prefix);
        sw_ip(w, &r->net);
        sw_u16(w, r->port_lo);
        sw_u16(w, r->port_hi);
    }
    sw_u32(w, c->n_forwards);
    for (uint32_t i = 0; i < c->n_forwards; i++)
        put_forward(w, &c->forwards[i]);
    sw_u32(w, c->max_icmp_flows); /* 1.1 */
    sec_end(w, at);
}

static void put_scalars(struct sbuf_w *w, const struct vnat *nat)
{
    size_t at = sec_begin(w, SEC_STATS);
    uint32_t n = sizeof nat->stats / sizeof(uint64_t);
    sw_u32(w, n);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t v;
        memcpy(&v, (const uint8_t *)&nat->stats + 8 * (size_t)i, 8);
        sw_u64(w, v);
    }
    sec_end(w, at);
    at = sec_begin(w, SEC_CORE);
    sw_u64(w, nat->now);
    sw_u16(w, nat->ip_id);
    sw_u8(w, nat->link_full);
    sw_u8(w, nat->guest_mac_held); /* 1.2 */
    sw_bytes(w, nat->guest_mac, 6);
    sec_end(w, at);
    at = sec_begin(w, SEC_KEYS);
    const uint64_t *keys[3] = {nat->ft->sip, nat->tcp->sip_isn, nat->dns->sip};
    for (int k = 0; k < 3; k++) {
        sw_u64(w, keys[k][0]);
        sw_u64(w, keys[k][1]);
    }
    sw_u32(w, nat->tcp->isn_forced);
    sw_u32(w, nat->tcp->isn_force_value);
    sec_end(w, at);
}

static void put_services(struct sbuf_w *w, const struct vnat *nat)
{
    size_t at = sec_begin(w, SEC_POLICY);
    sw_u64(w, nat->policy->syn_bucket);
    sw_u64(w, nat->policy->syn_bucket_last);
    sw_u8(w, nat->policy->resolver);
    sw_u64(w, nat->policy->dgram_bucket); /* 1.1 */
    sw_u64(w, nat->policy->dgram_bucket_last);
    sec_end(w, at);
    at = sec_begin(w, SEC_TIMERS);
    sw_u32(w, ITIMER_COUNT);
    for (int i = 0; i < ITIMER_COUNT; i++)
        sw_u64(w, nat->timers->inst[i]);
    sec_end(w, at);
    at = sec_begin(w, SEC_DHCP);
    sw_u8(w, nat->dhcp->state);
    sw_u64(w, nat->dhcp->expires);
    sec_end(w, at);
    at = sec_begin(w, SEC_LISTENERS);
    sw_u32(w, nat->cfg.max_forwards);
    for (uint32_t i = 0; i < nat->cfg.max_forwards; i++) {
        const struct listener *l = &nat->fwd->listeners[i];
        sw_u32(w, l->gen);
        sw_u32(w, l->reject_gen);
        sw_u8(w, l->in_use);
        if (l->in_use)
            put_forward(w, &l->fwd);
    }
    sec_end(w, at);
}

static void put_tcp(struct sbuf_w *w, const struct tcp_flow *t)
{
    sw_u8(w, t->state);
    sw_u8(w, t->snd_wscale);
    sw_u8(w, t->rcv_wscale);
    sw_u8(w, t->retries);
    sw_u8(w, t->dupacks);
    sw_u8(w, t->persist_shift);
    sw_u16(w, t->mss);
    const uint32_t v[] = {t->iss,
                          t->snd_una,
                          t->snd_nxt,
                          t->snd_max,
                          t->snd_wnd,
                          t->snd_wl1,
                          t->snd_wl2,
                          t->irs,
                          t->rcv_nxt,
                          t->host_space,
                          t->host_space_measured,
                          t->rto_us,
                          t->srtt_us,
                          t->rttvar_us,
                          t->rtt_seq,
                          t->recover,
                          t->rcv_adv,
                          t->rcv_hole,
                          t->rcv_hole_edge};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        sw_u32(w, v[i]);
    sw_u64(w, t->rtt_start);
}

/* The queries a DNS flow waits for (format 1.1): appended to its record. */
static void put_pending(struct sbuf_w *w, const struct dns_pending *p)
{
    sw_u8(w, p->next);
    for (unsigned i = 0; i < DNS_PENDING_SLOTS; i++) {
        sw_u32(w, p->slot[i].qhash);
        sw_u16(w, p->slot[i].id);
        sw_u8(w, p->slot[i].state);
    }
}

static void put_dgram(struct sbuf_w *w, const struct dgram_flow *d)
{
    /* A DNS flow's listener fields hold its queries: written as zeros, the
     * queries after the fixed part. */
    bool dns = d->kind == DG_DNS;
    static const struct vnat_sockaddr none;
    sw_u8(w, d->kind);
    sw_u8(w, d->dirs);
    sw_u8(w, d->dns_server);
    sw_u8(w, d->paused);
    sw_u32(w, dns ? 0 : d->listener);
    sw_u32(w, dns ? 0 : d->listener_gen);
    sw_sockaddr(w, dns ? &none : &d->peer);
    sw_u64(w, d->to_host);
    sw_u64(w, d->to_guest);
    if (dns)
        put_pending(w, (const struct dns_pending *)(const void *)d->dns_pending);
}

static void put_flow(struct sbuf_w *w, const struct vnat *nat, const struct flow *f)
{
    sw_u16(w, 0);
    size_t start = w->len;
    sw_u32(w, flow_index(nat, f));
    sw_ip(w, &f->key.guest_ip);
    sw_ip(w, &f->key.dst_ip);
    sw_u16(w, f->key.guest_port);
    sw_u16(w, f->key.dst_port);
    sw_u8(w, f->key.proto);
    sw_u16(w, f->flags);
    sw_u8(w, f->interest);
    /* A deadline is written only while armed (a disarmed one is stale). */
    sw_u8(w, f->tm.list_class);
    sw_u64(w, f->tm.list_class != TCLASS_NONE ? f->tm.list_deadline : 0);
    sw_u8(w, f->tm.heap_kind);
    sw_u64(w, f->tm.heap_kind != HKIND_NONE ? f->tm.heap_deadline : 0);
    if (f->key.proto == VNAT_PROTO_TCP)
        put_tcp(w, tcp_flow_const(f));
    else
        put_dgram(w, dgram_const(f));
    /* The record's length, in the u16 before it. */
    size_t n = w->len - start;
    if (w->buf != NULL && w->len <= w->cap) {
        w->buf[start - 2] = (uint8_t)n;
        w->buf[start - 1] = (uint8_t)(n >> 8);
    }
}

/* Flows in the order of the timer lists, then those on no list by slot. */
static void put_flows(struct sbuf_w *w, const struct vnat *nat)
{
    const struct timer_state *ts = nat->timers;
    sw_u32(w, (uint32_t)nat->stats.flows_live);
    for (int c = TCLASS_NONE + 1; c < TCLASS_COUNT; c++) {
        uint32_t i = ts->lists[c].head;
        for (uint32_t k = 0; k < ts->lists[c].count && i != VNAT_NONE32; k++) {
            const struct flow *f = flow_at(nat, i);
            put_flow(w, nat, f);
            i = f->tm.list_next;
        }
    }
    for (uint32_t i = 0; i < nat->cfg.max_flows; i++) {
        const struct flow *f = flow_at(nat, i);
        if (f->in_use && f->tm.list_class == TCLASS_NONE)
            put_flow(w, nat, f);
    }
}

static void put_table(struct sbuf_w *w, const struct vnat *nat)
{
    const struct flow_table *t = nat->ft;
    size_t at = sec_begin(w, SEC_SLOTS);
    sw_u32(w, nat->cfg.max_flows);
    for (uint32_t i = 0; i < nat->cfg.max_flows; i++)
        sw_u32(w, t->slots[i].gen);
    sec_end(w, at);
    at = sec_begin(w, SEC_FLOWS);
    put_flows(w, nat);
    sec_end(w, at);
    at = sec_begin(w, SEC_FREE);
    uint32_t nfree = nat->cfg.max_flows - (uint32_t)nat->stats.flows_live;
    sw_u32(w, nfree);
    for (uint32_t i = t->free_head, k = 0; i != VNAT_NONE32 && k < nfree;
         i = t->slots[i].hash_next, k++)
        sw_u32(w, i);
    sec_end(w, at);
    at = sec_begin(w, SEC_LINKWAIT);
    size_t count_at = w->len;
    uint32_t n = 0;
    sw_u32(w, 0);
    for (uint32_t i = t->link_head; i != VNAT_NONE32 && n < nat->cfg.max_flows;
         i = t->slots[i].link_next, n++)
        sw_u32(w, i);
    sw_patch_u32(w, count_at, n);
    sec_end(w, at);
}

size_t snap_write(const struct vnat *nat, uint8_t *buf, size_t cap)
{
    struct sbuf_w w = {buf, buf != NULL ? cap : 0, 0};
    sw_bytes(&w, snap_magic, sizeof snap_magic);
    sw_u16(&w, VNAT_SNAPSHOT_MAJOR);
    sw_u16(&w, VNAT_SNAPSHOT_MINOR);
    sw_u32(&w, 0);
    sw_u64(&w, 0); /* total length, patched below */
    put_config(&w, &nat->cfg);
    put_scalars(&w, nat);
    put_services(&w, nat);
    put_table(&w, nat);
    size_t at = sec_begin(&w, SEC_DNS);
    dns_snap_save(nat, &w);
    sec_end(&w, at);
    size_t total = w.len + SNAP_SUM;
    if (buf == NULL || total > cap)
        return total;
    sw_patch_u32(&w, 16, (uint32_t)total);
    sw_patch_u32(&w, 20, (uint32_t)((uint64_t)total >> 32));
    sw_u64(&w, vnat_siphash24(snap_key, buf, w.len));
    VNAT_ASSERT(nat, w.len == total);
    return total;
}

/* ------------------------------------------------------------------ */
/* Reading: the frame                                                  */
/* ------------------------------------------------------------------ */

static uint64_t le_at(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

vnat_err snap_open(const void *snap, size_t len, struct snap_in *in)
{
    const uint8_t *p = snap;
    memset(in, 0, sizeof *in);
    if (len < sizeof snap_magic)
        return VNAT_E_SNAP_TRUNCATED;
    if (memcmp(p, snap_magic, sizeof snap_magic) != 0)
        return VNAT_E_SNAP_MAGIC;
    if (len < SNAP_HDR)
        return VNAT_E_SNAP_TRUNCATED;
    /* Every minor of this major is read (later additions are skipped). */
    if (le_at(p + 8, 2) != VNAT_SNAPSHOT_MAJOR)
        return VNAT_E_VERSION;
    uint64_t total = le_at(p + 16, 8);
    if (total > len)
        return VNAT_E_SNAP_TRUNCATED;
    if (total < len)
        return VNAT_E_SNAP_LENGTH;
    if (total < SNAP_HDR + SNAP_SUM)
        return VNAT_E_SNAP_TRUNCATED;
    if (vnat_siphash24(snap_key, p, len - SNAP_SUM) != le_at(p + len - SNAP_SUM, 8))
        return VNAT_E_SNAP_CHECKSUM;
    in->r.p = p + SNAP_HDR;
    in->r.len = len - SNAP_HDR - SNAP_SUM;
    in->next = SEC_CONFIG;
    return VNAT_OK;
}

/* The body of section `tag`: known sections come once each, in order;
 * sections of tags this version does not know (a later minor's) are
 * skipped. A missing, repeated or misplaced one fails in->r. */
static struct sbuf_r section(struct snap_in *in, enum snap_tag tag)
{
    struct sbuf_r none = {NULL, 0, 0, 0, in->r.shift};
    while (in->r.err == 0) {
        if (sr_left(&in->r) == 0 || tag < in->next)
            break;
        uint16_t t = sr_u16(&in->r);
        (void)sr_u16(&in->r);
        uint32_t n = sr_u32(&in->r);
        struct sbuf_r body = sr_sub(&in->r, n);
        if (in->r.err != 0)
            break;
        if (t > SEC_LAST)
            continue;
        if (t != tag)
            break;
        in->next = (uint16_t)(tag + 1);
        return body;
    }
    sr_fail(&in->r, VNAT_E_SNAP_FORMAT);
    none.err = in->r.err;
    return none;
}

static void get_forward(struct sbuf_r *r, struct vnat_forward *f)
{
    memset(f, 0, sizeof *f);
    f->proto = sr_u8(r);
    sr_sockaddr(r, &f->host);
    f->guest_port = sr_u16(r);
}

static void get_config_scalars(struct sbuf_r *r, struct vnat_config *c)
{
    c->flags = sr_u32(r);
    sr_bytes(r, c->guest_mac, 6);
    sr_bytes(r, c->gateway_mac, 6);
    sr_ip(r, &c->guest_ip);
    sr_ip(r, &c->gateway_ip);
    sr_ip(r, &c->dns_ip);
    c->prefix_len = sr_u8(r);
    c->mtu = sr_u32(r);
    c->max_flows = sr_u32(r);
    c->max_tcp_flows = sr_u32(r);
    c->max_udp_flows = sr_u32(r);
    c->syn_rate_per_sec = sr_u32(r);
    c->connect_timeout_ns = sr_u64(r);
    c->tcp_idle_timeout_ns = sr_u64(r);
    c->tcp_closing_timeout_ns = sr_u64(r);
    c->udp_timeout_ns = sr_u64(r);
    c->udp_stream_timeout_ns = sr_u64(r);
    c->icmp_timeout_ns = sr_u64(r);
    c->dhcp_lease_s = sr_u32(r);
    c->seed = sr_u64(r);
    c->max_forwards = sr_u32(r);
    c->n_dns_servers = sr_u32(r);
    for (int i = 0; i < VNAT_MAX_DNS_SERVERS; i++)
        sr_sockaddr(r, &c->dns_servers[i]);
}

vnat_err snap_read_config(struct snap_in *in, struct vnat_config *c, struct sbuf_r *rules,
                          struct sbuf_r *fwds)
{
    memset(c, 0, sizeof *c);
    c->struct_size = sizeof *c;
    struct sbuf_r b = section(in, SEC_CONFIG);
    get_config_scalars(&b, c);
    c->n_rules = sr_u32(&b);
    if (b.err == 0 && c->n_rules > SNAP_MAX_LIST)
        return VNAT_E_SNAP_RANGE;
    *rules = sr_sub(&b, (size_t)c->n_rules * RULE_BYTES);
    c->n_forwards = sr_u32(&b);
    if (b.err == 0 && c->n_forwards > SNAP_MAX_LIST)
        return VNAT_E_SNAP_RANGE;
    *fwds = sr_sub(&b, (size_t)c->n_forwards * FORWARD_BYTES);
    /* 1.1; a 1.0 image has none: 0, derived from max_flows at restore. */
    c->max_icmp_flows = sr_left(&b) >= 4 ? sr_u32(&b) : 0;
    return (vnat_err)(in->r.err != 0 ? in->r.err : b.err);
}

void snap_read_rules(struct sbuf_r *r, struct vnat_rule *out, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        struct vnat_rule *x = &out[i];
        memset(x, 0, sizeof *x);
        x->action = sr_u8(r);
        x->proto = sr_u8(r);
        x->prefix = sr_u8(r);
        sr_ip(r, &x->net);
        x->port_lo = sr_u16(r);
        x->port_hi = sr_u16(r);
    }
}

void snap_read_forwards(struct sbuf_r *r, struct vnat_forward *out, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        get_forward(r, &out[i]);
}

/* ------------------------------------------------------------------ */
/* Reading: the state                                                  */
/* ------------------------------------------------------------------ */

static int get_stats(struct vnat *nat, struct sbuf_r *b)
{
    uint32_t n = sr_u32(b), ours = sizeof nat->stats / sizeof(uint64_t);
    for (uint32_t i = 0; i < n && i < ours && b->err == 0; i++) {
        uint64_t v = sr_u64(b);
        memcpy((uint8_t *)&nat->stats + 8 * (size_t)i, &v, 8);
    }
    return b->err;
}

/* The guest's MAC (1.2): held or learning, and the one in force. A 1.0 or
 * 1.1 image has none: those releases held the configured MAC from the
 * start, so it is held (a vnat_reset_flows() later forgets it). */
static int get_guest_mac(struct vnat *nat, struct sbuf_r *b)
{
    const struct vnat_config *c = &nat->cfg;
    if (sr_left(b) == 0) {
        memcpy(nat->guest_mac, c->guest_mac, 6);
        nat->guest_mac_held = 1;
        return 0;
    }
    uint8_t held = sr_u8(b), m[6];
    sr_bytes(b, m, 6);
    if (b->err != 0)
        return b->err;
    bool same = memcmp(m, c->guest_mac, 6) == 0;
    bool usable = (m[0] & 1) == 0 && (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) != 0;
    if (held > 1 || (!held && !same) || (held && !same && !usable) ||
        ((c->flags & VNAT_F_GUEST_MAC_FIXED) && (!held || !same)))
        return VNAT_E_SNAP_RANGE;
    memcpy(nat->guest_mac, m, 6);
    nat->guest_mac_held = held;
    return 0;
}

/* The clock: every time read later moves by now - the snapshot's now, or
 * (same_clock) stays. */
static int get_core(struct vnat *nat, struct snap_in *in, struct sbuf_r *b, uint64_t now,
                    bool same_clock)
{
    uint64_t then = sr_u64(b);
    nat->ip_id = sr_u16(b);
    uint8_t full = sr_u8(b);
    if (b->err != 0)
        return b->err;
    if (full > 1 || then == UINT64_MAX)
        return VNAT_E_SNAP_RANGE;
    if (same_clock)
        now = then; /* the next event's now advances it, as always */
    uint64_t d = now >= then ? now - then : then - now;
    if (d > (uint64_t)INT64_MAX)
        return VNAT_E_SNAP_RANGE;
    in->r.shift = now >= then ? (int64_t)d : -(int64_t)d;
    nat->link_full = full;
    nat->now = now;
    return get_guest_mac(nat, b);
}

static int get_keys(struct vnat *nat, struct sbuf_r *b)
{
    uint64_t *keys[3] = {nat->ft->sip, nat->tcp->sip_isn, nat->dns->sip};
    for (int k = 0; k < 3; k++) {
        keys[k][0] = sr_u64(b);
        keys[k][1] = sr_u64(b);
    }
    nat->tcp->isn_forced = sr_u32(b);
    nat->tcp->isn_force_value = sr_u32(b);
    if (b->err == 0 && nat->tcp->isn_forced > 1)
        return VNAT_E_SNAP_RANGE;
    return b->err;
}

static int get_services(struct vnat *nat, struct sbuf_r *pol, struct sbuf_r *tim, struct sbuf_r *dh)
{
    nat->policy->syn_bucket = sr_u64(pol);
    nat->policy->syn_bucket_last = sr_time(pol, UINT64_MAX);
    nat->policy->resolver = sr_u8(pol);
    uint64_t cap = (uint64_t)nat->cfg.syn_rate_per_sec * VNAT_NS_PER_S;
    if (sr_left(pol) == 0) { /* 1.0: a full bucket */
        nat->policy->dgram_bucket = cap;
        nat->policy->dgram_bucket_last = nat->now;
    } else {
        nat->policy->dgram_bucket = sr_u64(pol);
        nat->policy->dgram_bucket_last = sr_time(pol, UINT64_MAX);
    }
    uint32_t n = sr_u32(tim);
    for (uint32_t i = 0; i < n && i < ITIMER_COUNT; i++)
        nat->timers->inst[i] = sr_time(tim, UINT64_MAX);
    nat->dhcp->state = sr_u8(dh);
    nat->dhcp->expires = sr_time(dh, 0);
    int e = pol->err != 0 ? pol->err : tim->err != 0 ? tim->err : dh->err;
    if (e != 0)
        return e;
    if (nat->policy->syn_bucket > cap || nat->policy->dgram_bucket > cap ||
        nat->policy->resolver >= VNAT_MAX_DNS_SERVERS || nat->dhcp->state > 3 ||
        (nat->policy->resolver > 0 && nat->policy->resolver >= nat->cfg.n_dns_servers))
        return VNAT_E_SNAP_RANGE;
    return 0;
}

static bool forward_valid(const struct vnat_forward *f)
{
    return (f->proto == VNAT_PROTO_TCP || f->proto == VNAT_PROTO_UDP) && f->host.port != 0 &&
           (f->host.ip.family == VNAT_AF_INET || f->host.ip.family == VNAT_AF_INET6) &&
           f->guest_port != 0;
}

static int get_listeners(struct vnat *nat, struct sbuf_r *b)
{
    uint32_t n = sr_u32(b);
    if (b->err == 0 && n != nat->cfg.max_forwards)
        return n > nat->cfg.max_forwards ? VNAT_E_SNAP_CAPACITY : VNAT_E_SNAP_RANGE;
    for (uint32_t i = 0; i < n && b->err == 0; i++) {
        struct listener *l = &nat->fwd->listeners[i];
        l->gen = sr_u32(b);
        l->reject_gen = sr_u32(b);
        uint8_t used = sr_u8(b);
        if (b->err != 0)
            break;
        if (l->gen == 0 || l->reject_gen == 0)
            return VNAT_E_SNAP_TOKEN;
        if (used > 1)
            return VNAT_E_SNAP_RANGE;
        if (!used)
            continue;
        get_forward(b, &l->fwd);
        if (b->err == 0 && !forward_valid(&l->fwd))
            return VNAT_E_SNAP_RANGE;
        l->in_use = 1;
        nat->fwd->live++;
    }
    return b->err;
}

static int get_slots(struct vnat *nat, struct sbuf_r *b)
{
    uint32_t n = sr_u32(b);
    if (b->err == 0 && n != nat->cfg.max_flows)
        return n > nat->cfg.max_flows ? VNAT_E_SNAP_CAPACITY : VNAT_E_SNAP_RANGE;
    for (uint32_t i = 0; i < n && b->err == 0; i++) {
        struct flow *f = flow_at(nat, i);
        f->gen = sr_u32(b);
        f->hash_next = SLOT_UNLISTED;
        if (b->err == 0 && f->gen == 0)
            return VNAT_E_SNAP_TOKEN;
    }
    nat->ft->free_head = VNAT_NONE32;
    return b->err;
}

static void get_tcp(struct sbuf_r *r, struct tcp_flow *t)
{
    t->state = sr_u8(r);
    t->snd_wscale = sr_u8(r);
    t->rcv_wscale = sr_u8(r);
    t->retries = sr_u8(r);
    t->dupacks = sr_u8(r);
    t->persist_shift = sr_u8(r);
    t->mss = sr_u16(r);
    uint32_t *v[] = {&t->iss,
                     &t->snd_una,
                     &t->snd_nxt,
                     &t->snd_max,
                     &t->snd_wnd,
                     &t->snd_wl1,
                     &t->snd_wl2,
                     &t->irs,
                     &t->rcv_nxt,
                     &t->host_space,
                     &t->host_space_measured,
                     &t->rto_us,
                     &t->srtt_us,
                     &t->rttvar_us,
                     &t->rtt_seq,
                     &t->recover,
                     &t->rcv_adv,
                     &t->rcv_hole,
                     &t->rcv_hole_edge};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        *v[i] = sr_u32(r);
    t->rtt_start = sr_time(r, 0);
}

/* The TCP fields whose range is known: the state, the window shifts (RFC
 * 7323: at most 14), the send sequence order, the data in flight and the
 * hole within a window (2^30, the largest a scaled window can be). */
static bool tcp_valid(const struct vnat *nat, const struct tcp_flow *t, uint16_t flags)
{
    const uint32_t wmax = 1u << 30;
    if (t->state >= VNAT_TCP__STATE_COUNT || t->snd_wscale > 14 || t->rcv_wscale > 14)
        return false;
    /* The RTT estimator and the backoff (tcp.c keeps them in these bounds). */
    if (t->retries > TCP_RETRY_LIMIT || t->persist_shift > 31 || t->srtt_us > TCP_RTO_MAX_US ||
        t->rttvar_us > TCP_RTO_MAX_US || t->mss > nat->cfg.mtu - 40 ||
        ((flags & FF_RTT_TIMING) && t->rtt_start > nat->now))
        return false;
    /* CONNECTING keeps the guest's first SYN time there (tcp.c
     * connect_kept_alive): one in the future would keep a connect alive. */
    if (t->state == VNAT_TCP_CONNECTING && t->rtt_start > nat->now)
        return false;
    if (!seq_le(t->snd_una, t->snd_nxt) || !seq_le(t->snd_nxt, t->snd_max) ||
        t->snd_max - t->snd_una > wmax)
        return false;
    return seq_le(t->rcv_nxt, t->rcv_hole) && t->rcv_hole - t->rcv_nxt <= wmax &&
           t->rto_us >= TCP_RTO_MIN_US && t->rto_us <= TCP_RTO_MAX_US && t->mss >= TCP_MIN_MSS;
}

static void get_dgram(struct sbuf_r *r, struct dgram_flow *d)
{
    d->kind = sr_u8(r);
    d->dirs = sr_u8(r);
    d->dns_server = sr_u8(r);
    d->paused = sr_u8(r);
    d->listener = sr_u32(r);
    d->listener_gen = sr_u32(r);
    sr_sockaddr(r, &d->peer);
    d->to_host = sr_u64(r);
    d->to_guest = sr_u64(r);
    if (d->kind != DG_DNS)
        return;
    /* Its queries (1.1); a 1.0 image has none: a later answer to a query
     * in flight is dropped as unmatched and the guest asks again. */
    struct dns_pending *p = (struct dns_pending *)(void *)d->dns_pending;
    memset(p, 0, sizeof *p);
    if (sr_left(r) == 0)
        return;
    p->next = sr_u8(r);
    for (unsigned i = 0; i < DNS_PENDING_SLOTS; i++) {
        p->slot[i].qhash = sr_u32(r);
        p->slot[i].id = sr_u16(r);
        p->slot[i].state = sr_u8(r);
    }
}

static bool dgram_valid(const struct vnat *nat, const struct dgram_flow *d)
{
    if (d->kind == DG_NONE || d->kind > DG_UDP_IN || d->dirs > (DGDIR_OUT | DGDIR_IN) ||
        d->dns_server >= VNAT_MAX_DNS_SERVERS || d->paused > 1)
        return false;
    if (d->kind == DG_DNS)
        return dns_pending_valid((const struct dns_pending *)(const void *)d->dns_pending);
    return d->kind != DG_UDP_IN || (d->listener < nat->cfg.max_forwards && d->listener_gen != 0);
}

/* One flow record's fixed part. */
struct flow_rec {
    uint32_t slot;
    struct flow_key key;
    uint16_t flags;
    uint8_t interest, list_class, heap_kind;
    uint64_t list_deadline, heap_deadline;
};

/* An IPv4 address in its one representation (flow keys are IPv4 now). */
static bool ip4_clean(const struct vnat_ip *ip)
{
    static const uint8_t zero[12];
    return ip->family == VNAT_AF_INET && memcmp(ip->addr + 4, zero, sizeof zero) == 0;
}

static int get_flow_head(const struct vnat *nat, struct sbuf_r *r, struct flow_rec *x)
{
    memset(x, 0, sizeof *x);
    x->slot = sr_u32(r);
    sr_ip(r, &x->key.guest_ip);
    sr_ip(r, &x->key.dst_ip);
    x->key.guest_port = sr_u16(r);
    x->key.dst_port = sr_u16(r);
    x->key.proto = sr_u8(r);
    x->flags = sr_u16(r);
    x->interest = sr_u8(r);
    x->list_class = sr_u8(r);
    x->list_deadline = sr_time(r, 0);
    x->heap_kind = sr_u8(r);
    x->heap_deadline = sr_time(r, 0);
    if (r->err != 0)
        return r->err;
    uint8_t p = x->key.proto;
    if (x->slot >= nat->cfg.max_flows || x->interest > (VNAT_WANT_READ | VNAT_WANT_WRITE) ||
        x->list_class >= TCLASS_COUNT || x->heap_kind >= HKIND_COUNT ||
        !ip4_clean(&x->key.guest_ip) || !ip4_clean(&x->key.dst_ip) ||
        (p != VNAT_PROTO_TCP && p != VNAT_PROTO_UDP && p != VNAT_PROTO_ICMP))
        return VNAT_E_SNAP_RANGE;
    /* The guest path drops TCP and UDP with port 0 (dispatch.c), and an
     * ICMP key has none on the far side (icmp.c): no flow holds another. */
    if (p == VNAT_PROTO_ICMP ? x->key.dst_port != 0
                             : x->key.guest_port == 0 || x->key.dst_port == 0)
        return VNAT_E_SNAP_RANGE;
    return 0;
}

static int get_flow(struct vnat *nat, struct sbuf_r *r, uint32_t *waiting)
{
    struct flow_rec x;
    int e = get_flow_head(nat, r, &x);
    if (e != 0)
        return e;
    union {
        struct tcp_flow t;
        struct dgram_flow d;
    } u;
    memset(&u, 0, sizeof u);
    if (x.key.proto == VNAT_PROTO_TCP)
        get_tcp(r, &u.t);
    else
        get_dgram(r, &u.d);
    if (r->err != 0)
        return r->err;
    if (x.key.proto == VNAT_PROTO_TCP ? !tcp_valid(nat, &u.t, x.flags) : !dgram_valid(nat, &u.d))
        return VNAT_E_SNAP_RANGE;
    e = flow_restore_slot(nat, x.slot, &x.key);
    if (e != 0)
        return e;
    struct flow *f = flow_at(nat, x.slot);
    f->flags = (uint16_t)(x.flags & ~FF_LINK_WAIT);
    *waiting += (x.flags & FF_LINK_WAIT) != 0;
    f->interest = x.interest;
    memcpy(f->u.bytes, &u, sizeof u);
    if (x.list_class != TCLASS_NONE)
        timer_list_append_at(nat, x.slot, (enum timer_class)x.list_class, x.list_deadline);
    if (x.heap_kind != HKIND_NONE)
        timer_heap_set(nat, x.slot, (enum heap_kind)x.heap_kind, x.heap_deadline);
    if (x.key.proto == VNAT_PROTO_TCP)
        nat->tcp->live += !(f->flags & FF_LINGER);
    else
        nat->dgram->live++;
    return 0;
}

static int get_flows(struct vnat *nat, struct sbuf_r *b, uint32_t *waiting)
{
    uint32_t n = sr_u32(b);
    if (b->err == 0 && n > nat->cfg.max_flows)
        return VNAT_E_SNAP_CAPACITY;
    for (uint32_t k = 0; k < n && b->err == 0; k++) {
        uint16_t len = sr_u16(b);
        struct sbuf_r rec = sr_sub(b, len);
        if (b->err != 0)
            break;
        int e = get_flow(nat, &rec, waiting);
        if (e != 0)
            return e;
    }
    return b->err;
}

/* The free list in its order: every slot not live, each once. */
static int get_free(struct vnat *nat, struct sbuf_r *b)
{
    uint32_t n = sr_u32(b);
    if (b->err != 0)
        return b->err;
    if (n != nat->cfg.max_flows - nat->stats.flows_live)
        return n > nat->cfg.max_flows ? VNAT_E_SNAP_CAPACITY : VNAT_E_SNAP_RANGE;
    uint32_t prev = VNAT_NONE32;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = sr_u32(b);
        if (b->err != 0)
            return b->err;
        if (i >= nat->cfg.max_flows)
            return VNAT_E_SNAP_RANGE;
        struct flow *f = flow_at(nat, i);
        if (f->in_use || f->hash_next != SLOT_UNLISTED)
            return VNAT_E_SNAP_DUPLICATE;
        f->hash_next = VNAT_NONE32;
        if (prev == VNAT_NONE32)
            nat->ft->free_head = i;
        else
            flow_at(nat, prev)->hash_next = i;
        prev = i;
    }
    return 0;
}

/* The link-wait list in its order: exactly the flows whose record was
 * flagged waiting. */
static int get_linkwait(struct vnat *nat, struct sbuf_r *b, uint32_t waiting)
{
    uint32_t n = sr_u32(b);
    if (b->err != 0)
        return b->err;
    if (n != waiting)
        return VNAT_E_SNAP_RANGE;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = sr_u32(b);
        if (b->err != 0)
            return b->err;
        if (i >= nat->cfg.max_flows || !flow_at(nat, i)->in_use)
            return VNAT_E_SNAP_RANGE;
        if (flow_at(nat, i)->flags & FF_LINK_WAIT)
            return VNAT_E_SNAP_DUPLICATE;
        link_wait_add(nat, flow_at(nat, i));
    }
    return 0;
}

static int read_table(struct vnat *nat, struct snap_in *in)
{
    uint64_t live = nat->stats.flows_live;
    nat->stats.flows_live = 0;
    uint32_t waiting = 0;
    struct sbuf_r b = section(in, SEC_SLOTS);
    int e = get_slots(nat, &b);
    if (e == 0) {
        b = section(in, SEC_FLOWS);
        e = get_flows(nat, &b, &waiting);
    }
    if (e == 0 && nat->stats.flows_live != live)
        e = VNAT_E_SNAP_INVARIANT; /* the counter disagrees with the flows */
    if (e == 0) {
        b = section(in, SEC_FREE);
        e = get_free(nat, &b);
    }
    if (e == 0) {
        b = section(in, SEC_LINKWAIT);
        e = get_linkwait(nat, &b, waiting);
    }
    return e;
}

vnat_err snap_read_state(struct vnat *nat, struct snap_in *in, uint64_t now, bool same_clock)
{
    struct sbuf_r b = section(in, SEC_STATS);
    int e = get_stats(nat, &b);
    if (e == 0) {
        b = section(in, SEC_CORE);
        e = get_core(nat, in, &b, now, same_clock);
    }
    if (e == 0) {
        b = section(in, SEC_KEYS);
        e = get_keys(nat, &b);
    }
    if (e == 0) {
        struct sbuf_r pol = section(in, SEC_POLICY);
        struct sbuf_r tim = section(in, SEC_TIMERS);
        struct sbuf_r dh = section(in, SEC_DHCP);
        e = get_services(nat, &pol, &tim, &dh);
    }
    if (e == 0) {
        b = section(in, SEC_LISTENERS);
        e = get_listeners(nat, &b);
    }
    if (e == 0)
        e = read_table(nat, in);
    if (e == 0) {
        b = section(in, SEC_DNS);
        e = b.err != 0 ? b.err : dns_snap_load(nat, &b);
    }
    if (e == 0 && in->r.err != 0)
        e = in->r.err;
    return (vnat_err)e;
}

/* ------------------------------------------------------------------ */
/* Sockets lost                                                        */
/* ------------------------------------------------------------------ */

vnat_err snap_lose_sockets(struct vnat *nat)
{
    vnat_err e = forward_reopen(nat);
    if (e != VNAT_OK)
        return e;
    for (uint32_t i = 0; i < nat->cfg.max_flows; i++) {
        struct flow *f = flow_at(nat, i);
        if (!f->in_use)
            continue;
        if (f->key.proto == VNAT_PROTO_TCP) {
            tcp_restore_lost(nat, f);
        } else {
            f->flags &= (uint16_t)~FF_SOCKET;
            dgram_release(nat, f);
        }
    }
    return VNAT_OK;
}
