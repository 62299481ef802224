/*
 * vnat.c — layer 5: the public API and nothing else: configuration
 * defaults and validation, the memory layout, creation and shutdown, the
 * event entry points (each clamps now, logs the event, has the dispatcher
 * fire due timers, then hands the event to the dispatcher), counters, the
 * flow dump and the invariant check (whose parts live in the layers they
 * check). Every routing decision is dispatch.c's; the layers are listed in
 * docs/architecture.md.
 */
#include "base.h"
#include "debug.h"
#include "dgram.h"
#include "dhcp.h"
#include "dispatch.h"
#include "dns.h"
#include "flow.h"
#include "fmt.h"
#include "forward.h"
#include "log.h"
#include "policy.h"
#include "snap.h"
#include "tcp.h"
#include "timer.h"
#include "wire.h"

#define MAX_FLOWS_LIMIT (1u << 24)
#define MAX_RULES_LIMIT 65536u
#define MAX_FORWARDS_LIMIT 65536u

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

static vnat_err normalize(const struct vnat_config *in, struct vnat_config *out);

vnat_err vnat_config_effective(const struct vnat_config *cfg, struct vnat_config *out)
{
    if (out == NULL)
        return VNAT_E_INVAL;
    struct vnat_config c;
    vnat_err e = normalize(cfg, &c);
    if (e == VNAT_OK)
        *out = c;
    return e;
}

void vnat_config_init(struct vnat_config *cfg)
{
    static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    static const uint8_t gw_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x01};
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->struct_size = sizeof *cfg;
    cfg->flags = VNAT_F_GATEWAY_IS_LOOPBACK | VNAT_F_DHCP;
    memcpy(cfg->guest_mac, guest_mac, 6);
    memcpy(cfg->gateway_mac, gw_mac, 6);
    cfg->guest_ip = vnat_ip4(10, 0, 2, 15);
    cfg->gateway_ip = vnat_ip4(10, 0, 2, 2);
    cfg->dns_ip = vnat_ip4(10, 0, 2, 3);
    cfg->prefix_len = 24;
    cfg->mtu = 1500;
    cfg->max_flows = 4096;
    cfg->max_tcp_flows = 0; /* derived from max_flows (vnat.h) */
    cfg->max_udp_flows = 0;
    cfg->max_icmp_flows = 0;
    cfg->syn_rate_per_sec = 0;
    cfg->connect_timeout_ns = 3 * VNAT_NS_PER_S;
    cfg->tcp_idle_timeout_ns = 2 * 3600 * VNAT_NS_PER_S;
    cfg->tcp_closing_timeout_ns = 60 * VNAT_NS_PER_S;
    cfg->udp_timeout_ns = 30 * VNAT_NS_PER_S;
    cfg->udp_stream_timeout_ns = 120 * VNAT_NS_PER_S;
    cfg->icmp_timeout_ns = 30 * VNAT_NS_PER_S;
    cfg->dhcp_lease_s = 86400;
    cfg->max_forwards = 64;
}

/* One meaning, one representation: the padding of an address is zeroed and
 * so are addr[4..15] of an IPv4 one, so every later comparison, of the whole
 * struct (policy, flow keys) or of four bytes (ARP, the dispatcher), agrees. */
static void normalize_ip(struct vnat_ip *ip)
{
    memset(ip->pad_, 0, sizeof ip->pad_);
    if (ip->family == VNAT_AF_INET)
        memset(ip->addr + 4, 0, sizeof ip->addr - 4);
}

static void normalize_sockaddr(struct vnat_sockaddr *sa)
{
    normalize_ip(&sa->ip);
    sa->pad_ = 0;
}

static bool ip_equal(const struct vnat_ip *a, const struct vnat_ip *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* Zeros take the default budgets (vnat.h); values above the table are the
 * table. Every budget is at least 1. */
static void derive_budgets(struct vnat_config *c)
{
    uint32_t n = c->max_flows;
    if (c->max_tcp_flows == 0)
        c->max_tcp_flows = n - n / 16;
    if (c->max_udp_flows == 0)
        c->max_udp_flows = n / 2 > 0 ? n / 2 : 1;
    if (c->max_icmp_flows == 0)
        c->max_icmp_flows = n / 16 > 0 ? n / 16 : 1;
    if (c->max_tcp_flows > n)
        c->max_tcp_flows = n;
    if (c->max_udp_flows > n)
        c->max_udp_flows = n;
    if (c->max_icmp_flows > c->max_udp_flows)
        c->max_icmp_flows = c->max_udp_flows;
}

/* Copy the caller's (possibly older, smaller) struct over the defaults and
 * fill zeros with defaults. Returns VNAT_OK or an error. The rules and
 * forwards are the caller's arrays still: place_config() normalises the
 * copies of the rules, and forward_add() refuses a forward address with junk
 * in addr[4..15] and cleans its padding. */
static vnat_err normalize(const struct vnat_config *in, struct vnat_config *out)
{
    if (in == NULL)
        return VNAT_E_INVAL;
    if (in->struct_size > sizeof *out)
        return VNAT_E_VERSION;
    if (in->struct_size < offsetof(struct vnat_config, max_flows))
        return VNAT_E_VERSION;
    vnat_config_init(out);
    memcpy(out, in, in->struct_size);
    out->struct_size = sizeof *out;
    struct vnat_config d;
    vnat_config_init(&d);
    if (out->max_flows == 0)
        out->max_flows = d.max_flows;
    derive_budgets(out);
    if (out->connect_timeout_ns == 0)
        out->connect_timeout_ns = d.connect_timeout_ns;
    if (out->tcp_idle_timeout_ns == 0)
        out->tcp_idle_timeout_ns = d.tcp_idle_timeout_ns;
    if (out->tcp_closing_timeout_ns == 0)
        out->tcp_closing_timeout_ns = d.tcp_closing_timeout_ns;
    if (out->udp_timeout_ns == 0)
        out->udp_timeout_ns = d.udp_timeout_ns;
    if (out->udp_stream_timeout_ns == 0)
        out->udp_stream_timeout_ns = d.udp_stream_timeout_ns;
    if (out->icmp_timeout_ns == 0)
        out->icmp_timeout_ns = d.icmp_timeout_ns;
    if (out->dhcp_lease_s == 0)
        out->dhcp_lease_s = d.dhcp_lease_s;
    if (out->mtu == 0)
        out->mtu = d.mtu;

    if (out->mtu < 576 || out->mtu > 65521)
        return VNAT_E_CONFIG;
    if (out->seed == 0 && !(out->flags & VNAT_F_DETERMINISTIC_SEED))
        return VNAT_E_CONFIG; /* the embedder never chose a seed (vnat.h) */
    if (out->max_flows > MAX_FLOWS_LIMIT)
        return VNAT_E_CONFIG;
    if (out->guest_ip.family != VNAT_AF_INET || out->gateway_ip.family != VNAT_AF_INET ||
        out->dns_ip.family != VNAT_AF_INET)
        return VNAT_E_CONFIG;
    if (out->prefix_len < 1 || out->prefix_len > 30)
        return VNAT_E_CONFIG;
    const uint8_t *m = out->guest_mac;
    if ((out->flags & VNAT_F_GUEST_MAC_FIXED) &&
        ((m[0] & 1) != 0 || (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) == 0))
        return VNAT_E_CONFIG; /* no guest can send from it */
    normalize_ip(&out->guest_ip);
    normalize_ip(&out->gateway_ip);
    normalize_ip(&out->dns_ip);
    if (ip_equal(&out->guest_ip, &out->gateway_ip) || ip_equal(&out->guest_ip, &out->dns_ip) ||
        ip_equal(&out->gateway_ip, &out->dns_ip))
        return VNAT_E_CONFIG; /* each of the three names one party */
    if (out->n_rules > MAX_RULES_LIMIT || (out->n_rules > 0 && out->rules == NULL))
        return VNAT_E_CONFIG;
    if (out->max_forwards > MAX_FORWARDS_LIMIT || out->n_forwards > out->max_forwards ||
        (out->n_forwards > 0 && out->forwards == NULL))
        return VNAT_E_CONFIG;
    if (out->n_dns_servers > VNAT_MAX_DNS_SERVERS)
        return VNAT_E_CONFIG;
    for (uint32_t i = 0; i < VNAT_MAX_DNS_SERVERS; i++)
        normalize_sockaddr(&out->dns_servers[i]);
    for (uint32_t i = 0; i < out->n_rules; i++)
        if (out->rules[i].action > VNAT_RULE_ALLOW || out->rules[i].port_lo > out->rules[i].port_hi)
            return VNAT_E_CONFIG;
    VNAT_ASSERT(NULL, out->max_tcp_flows <= out->max_flows && out->max_udp_flows <= out->max_flows);
    return VNAT_OK;
}

/* ------------------------------------------------------------------ */
/* Memory layout                                                       */
/* ------------------------------------------------------------------ */

/* Every layer's own state (each struct is defined in its layer's header),
 * placed right after struct vnat; vnat_create points nat->policy, ... here. */
struct layer_states {
    struct policy_state policy;
    struct timer_state timers;
    struct flow_table ft;
    struct tcp_state tcp;
    struct dgram_state dgram;
    struct dns_state dns;
    struct dhcp_state dhcp;
    struct fwd_state fwd;
};

struct layout {
    size_t states, image, rules, forwards, listeners, flows, buckets, heap, scratch, dns, total;
    uint32_t nbuckets;
};

static size_t align16(size_t x)
{
    return (x + 15) & ~(size_t)15;
}

static void compute_layout(const struct vnat_config *c, struct layout *l)
{
    /* The flow index is kept at most half full: nb >= 2 * max_flows. */
    uint32_t nb = 2;
    while (nb < 2 * (uint64_t)c->max_flows)
        nb <<= 1;
    l->nbuckets = nb;
    size_t off = align16(sizeof(struct vnat));
    l->states = off;
    off = align16(off + sizeof(struct layer_states));
    /* The CREATE image: config, then rules, then the forwards (contiguous). */
    l->image = off;
    l->rules = off + sizeof(struct vnat_config);
    l->forwards = l->rules + (size_t)c->n_rules * sizeof(struct vnat_rule);
    off = align16(l->forwards + (size_t)c->max_forwards * sizeof(struct vnat_forward));
    l->listeners = off;
    off = align16(off + (size_t)c->max_forwards * sizeof(struct listener));
    l->flows = off;
    off = align16(off + (size_t)c->max_flows * sizeof(struct flow));
    l->buckets = off;
    off = align16(off + (size_t)nb * sizeof(struct flow_ref));
    l->heap = off;
    off = align16(off + (size_t)c->max_flows * sizeof(uint32_t));
    l->scratch = off;
    off = align16(off + VNAT_SCRATCH_CAP);
    l->dns = off; /* the DNS cache, if enabled */
    off = align16(off + dns_memory_size(c));
    l->total = off;
    VNAT_ASSERT(NULL, nb >= 2 * (uint64_t)c->max_flows &&
                          c->mtu + VW_ETH_HLEN <= VNAT_SCRATCH_CAP &&
                          l->scratch + VNAT_SCRATCH_CAP <= l->total);
}

/* The scratch region, after place_config (it reads the MTU in force). */
static void place_scratch(struct vnat *nat, uint8_t *base, const struct layout *l)
{
    nat->scratch = base + l->scratch;
    nat->scratch_len = nat->cfg.mtu + VW_ETH_HLEN;
    nat->scratch_cap = VNAT_SCRATCH_CAP;
}

size_t vnat_memory_size(const struct vnat_config *cfg)
{
    struct vnat_config c;
    if (normalize(cfg, &c) != VNAT_OK)
        return 0;
    struct layout l;
    compute_layout(&c, &l);
    return l.total;
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */
/* ------------------------------------------------------------------ */

/* The extension rule (vnat.h): read exactly the caller's struct_size bytes
 * of its table over a zeroed one; members it does not have stay NULL. */
static vnat_err copy_ops(const struct vnat_host_ops *in, struct vnat_host_ops *out)
{
    memset(out, 0, sizeof *out);
    if (in == NULL)
        return VNAT_E_INVAL;
    if (in->struct_size < VNAT_HOST_OPS_SIZE_V1 || in->struct_size > sizeof *out)
        return VNAT_E_VERSION;
    memcpy(out, in, in->struct_size);
    out->struct_size = sizeof *out;
    return VNAT_OK;
}

static bool ops_complete(const struct vnat_host_ops *o)
{
    return o->guest_send && o->tcp_connect && o->tcp_listen && o->tcp_accept && o->send &&
           o->send_space && o->peek && o->discard && o->shutdown_write && o->close &&
           o->set_interest && o->dgram_open && o->dgram_bind && o->dgram_send && o->dgram_recv;
}

/* The CREATE image (the config with its pointers cleared, then the rules
 * and the forwards) and nat->cfg, whose rules and forwards point into it. */
static void place_config(struct vnat *nat, const struct vnat_config *c, uint8_t *base,
                         const struct layout *l)
{
    VNAT_ASSERT(nat, c->n_forwards <= c->max_forwards && l->rules == l->image + sizeof *c);
    struct vnat_config *image = (struct vnat_config *)(base + l->image);
    *image = *c;
    image->rules = NULL;
    image->forwards = NULL;
    struct vnat_rule *rules = (struct vnat_rule *)(base + l->rules);
    struct vnat_forward *forwards = (struct vnat_forward *)(base + l->forwards);
    /* A restore decodes the rules and forwards in place (c's arrays are these). */
    if (c->n_rules > 0 && c->rules != rules)
        memcpy(rules, c->rules, (size_t)c->n_rules * sizeof(struct vnat_rule));
    if (c->n_forwards > 0 && c->forwards != forwards)
        memcpy(forwards, c->forwards, (size_t)c->n_forwards * sizeof(struct vnat_forward));
    for (uint32_t i = 0; i < c->n_rules; i++) {
        normalize_ip(&rules[i].net);
        rules[i].pad_ = 0;
    }
    nat->cfg = *c;
    nat->cfg.rules = rules;
    nat->cfg.forwards = forwards;
    memcpy(nat->guest_mac, c->guest_mac, 6); /* a restore reads the learned one over it */
    nat->guest_mac_held = (c->flags & VNAT_F_GUEST_MAC_FIXED) != 0;
}

/* Point each layer at its state and let it initialise its own part, lowest
 * layer first. */
static void init_layers(struct vnat *nat, uint8_t *base, const struct layout *l)
{
    struct layer_states *s = (struct layer_states *)(base + l->states);
    VNAT_ASSERT(nat, ((uintptr_t)s & 15) == 0 && l->states >= sizeof *nat);
    nat->policy = &s->policy;
    nat->timers = &s->timers;
    nat->ft = &s->ft;
    nat->tcp = &s->tcp;
    nat->dgram = &s->dgram;
    nat->dns = &s->dns;
    nat->dhcp = &s->dhcp;
    nat->fwd = &s->fwd;
    policy_init(nat);
    flow_table_init(nat, (struct flow *)(base + l->flows), (struct flow_ref *)(base + l->buckets),
                    l->nbuckets, (uint32_t *)(base + l->heap));
    tcp_init(nat);
    dgram_init(nat);
    dns_init(nat, dns_memory_size(&nat->cfg) > 0 ? base + l->dns : NULL);
    dhcp_init(nat);
    forward_init(nat, (struct listener *)(base + l->listeners));
}

/* The instance at the start of mem, zeroed over the layout, with its host
 * and its memory (vnat_create and vnat_restore). */
static struct vnat *start_instance(void *mem, size_t mem_size, const struct layout *l,
                                   const struct vnat_host_ops *o, void *ctx)
{
    memset(mem, 0, l->total);
    struct vnat *nat = (struct vnat *)mem;
    nat->ops = *o;
    nat->ctx = ctx;
    nat->mem_base = mem;
    nat->mem_size = mem_size;
    return nat;
}

vnat_err vnat_create(const struct vnat_config *cfg, const struct vnat_host_ops *ops, void *ctx,
                     void *mem, size_t mem_size, vnat **out)
{
    if (out == NULL || mem == NULL || ((uintptr_t)mem & 15) != 0)
        return VNAT_E_INVAL;
    *out = NULL;
    struct vnat_host_ops o;
    vnat_err e = copy_ops(ops, &o);
    if (e != VNAT_OK)
        return e;
    if (!ops_complete(&o))
        return VNAT_E_INVAL;
    struct vnat_config c;
    e = normalize(cfg, &c);
    if (e != VNAT_OK)
        return e;
    struct layout l;
    compute_layout(&c, &l);
    if (mem_size < l.total)
        return VNAT_E_NOMEM;

    uint8_t *base = mem;
    struct vnat *nat = start_instance(mem, mem_size, &l, &o, ctx);
    place_config(nat, &c, base, &l);
    place_scratch(nat, base, &l);
    init_layers(nat, base, &l);

    size_t image_len = sizeof(struct vnat_config) + (size_t)c.n_rules * sizeof(struct vnat_rule) +
                       (size_t)c.n_forwards * sizeof(struct vnat_forward);
    VNAT_ASSERT(nat, nat->stats.flows_live == 0 && timer_next_deadline(nat) == UINT64_MAX);
    log_create(nat, base + l.image, image_len);
    e = forward_open_config(nat);
    if (e != VNAT_OK)
        return e;
    *out = nat;
    return VNAT_OK;
}

vnat_err vnat_create_alloc(const struct vnat_config *cfg, const struct vnat_host_ops *ops,
                           void *ctx, void *(*alloc)(void *actx, size_t size), void *actx,
                           vnat **out)
{
    if (alloc == NULL || out == NULL)
        return VNAT_E_INVAL;
    size_t need = vnat_memory_size(cfg);
    if (need == 0) {
        struct vnat_config c;
        vnat_err e = normalize(cfg, &c);
        return e != VNAT_OK ? e : VNAT_E_CONFIG;
    }
    struct vnat_host_ops o;
    vnat_err e = copy_ops(ops, &o);
    if (e != VNAT_OK)
        return e;
    if (!ops_complete(&o))
        return VNAT_E_INVAL;
    void *mem = alloc(actx, need);
    if (mem == NULL)
        return VNAT_E_NOMEM;
    return vnat_create(cfg, ops, ctx, mem, need, out);
}

void *vnat_memory_base(vnat *nat)
{
    return nat != NULL ? nat->mem_base : NULL;
}

static void advance_time(struct vnat *nat, uint64_t now)
{
    if (now < nat->now)
        nat->stats.time_backwards++;
    else
        nat->now = now;
}

void vnat_shutdown(vnat *nat, uint64_t now)
{
    if (nat == NULL || nat->shut_down)
        return;
    advance_time(nat, now);
    log_api(nat, 1, NULL, 0);
    dispatch_shutdown(nat);
    nat->shut_down = 1;
}

vnat_err vnat_reset_flows(vnat *nat, uint64_t now)
{
    if (nat == NULL)
        return VNAT_E_INVAL;
    if (nat->shut_down)
        return VNAT_E_STATE;
    advance_time(nat, now);
    log_api(nat, 4, NULL, 0);
    dispatch_reset_flows(nat); /* the RSTs go to the MAC of the guest that left */
    if (!(nat->cfg.flags & VNAT_F_GUEST_MAC_FIXED)) {
        memcpy(nat->guest_mac, nat->cfg.guest_mac, 6); /* the next guest teaches its own */
        nat->guest_mac_held = 0;
    }
    return VNAT_OK;
}

/* ------------------------------------------------------------------ */
/* Snapshot and restore (snap.c, docs/snapshot.md)                     */
/* ------------------------------------------------------------------ */

size_t vnat_snapshot_size(const vnat *nat)
{
    if (nat == NULL || nat->shut_down)
        return 0;
    return snap_write(nat, NULL, 0);
}

vnat_err vnat_snapshot(const vnat *nat, void *buf, size_t len, size_t *written)
{
    if (nat == NULL || buf == NULL)
        return VNAT_E_INVAL;
    if (nat->shut_down)
        return VNAT_E_STATE;
    size_t n = snap_write(nat, buf, len);
    if (written != NULL)
        *written = n;
    if (n > len)
        return VNAT_E_NOMEM;
    log_snapshot(nat, buf, n);
    return VNAT_OK;
}

/* The image's header, checksum and configuration counts, and the memory
 * layout they need. */
static vnat_err restore_open(const void *snap, size_t len, struct snap_in *in,
                             struct vnat_config *c, struct sbuf_r *rules, struct sbuf_r *fwds,
                             struct layout *l)
{
    if (snap == NULL)
        return VNAT_E_INVAL;
    vnat_err e = snap_open(snap, len, in);
    if (e == VNAT_OK)
        e = snap_read_config(in, c, rules, fwds);
    if (e != VNAT_OK)
        return e;
    if (c->max_flows == 0 || c->max_flows > MAX_FLOWS_LIMIT || c->n_rules > MAX_RULES_LIMIT ||
        c->max_forwards > MAX_FORWARDS_LIMIT || c->n_forwards > c->max_forwards || c->mtu < 576 ||
        c->mtu > 65521)
        return VNAT_E_SNAP_RANGE;
    compute_layout(c, l);
    return VNAT_OK;
}

vnat_err vnat_restore_memory_size(const void *snap, size_t len, size_t *mem_size)
{
    struct snap_in in;
    struct vnat_config c;
    struct sbuf_r rules, fwds;
    struct layout l;
    if (mem_size == NULL)
        return VNAT_E_INVAL;
    vnat_err e = restore_open(snap, len, &in, &c, &rules, &fwds, &l);
    *mem_size = e == VNAT_OK ? l.total : 0;
    return e;
}

/* Build the instance in zeroed memory: the configuration (decoded in place,
 * and exactly as vnat_create leaves one), every layer initialised from it,
 * then every layer's state read over that and the invariants checked. */
static vnat_err restore_into(uint8_t *base, struct vnat_config *c, struct sbuf_r *rules,
                             struct sbuf_r *fwds, const struct layout *l, struct snap_in *in,
                             uint64_t now, bool same_clock)
{
    struct vnat_rule *r = (struct vnat_rule *)(base + l->rules);
    struct vnat_forward *fw = (struct vnat_forward *)(base + l->forwards);
    snap_read_rules(rules, r, c->n_rules);
    snap_read_forwards(fwds, fw, c->n_forwards);
    if (rules->err != 0 || fwds->err != 0)
        return (vnat_err)(rules->err != 0 ? rules->err : fwds->err);
    c->rules = r;
    c->forwards = fw;
    derive_budgets(c); /* a 1.0 image has no max_icmp_flows */
    struct vnat_config n;
    if (normalize(c, &n) != VNAT_OK || memcmp(&n, c, sizeof n) != 0)
        return VNAT_E_SNAP_RANGE;
    struct vnat *nat = (struct vnat *)base;
    place_config(nat, &n, base, l);
    place_scratch(nat, base, l);
    init_layers(nat, base, l);
    vnat_err e = snap_read_state(nat, in, now, same_clock);
    if (e != VNAT_OK)
        return e;
    return vnat_check_invariants(nat, NULL, 0) == 0 ? VNAT_OK : VNAT_E_SNAP_INVARIANT;
}

vnat_err vnat_restore(void *mem, size_t mem_size, const struct vnat_host_ops *ops, void *ctx,
                      const void *snap, size_t len, int mode, uint64_t now, vnat **out)
{
    if (out == NULL)
        return VNAT_E_INVAL;
    *out = NULL;
    if (mem == NULL || ((uintptr_t)mem & 15) != 0 || snap == NULL)
        return VNAT_E_INVAL;
    struct vnat_host_ops o;
    vnat_err e = copy_ops(ops, &o);
    if (e != VNAT_OK)
        return e;
    int sockets = mode & ~VNAT_RESTORE_SAME_CLOCK;
    if (!ops_complete(&o) ||
        (sockets != VNAT_RESTORE_SOCKETS_KEPT && sockets != VNAT_RESTORE_SOCKETS_LOST))
        return VNAT_E_INVAL;
    struct snap_in in;
    struct vnat_config c;
    struct sbuf_r rules, fwds;
    struct layout l;
    e = restore_open(snap, len, &in, &c, &rules, &fwds, &l);
    if (e != VNAT_OK)
        return e;
    if (mem_size < l.total)
        return VNAT_E_NOMEM;
    uint8_t *base = mem;
    struct vnat *nat = start_instance(mem, mem_size, &l, &o, ctx);
    e = restore_into(base, &c, &rules, &fwds, &l, &in, now, (mode & VNAT_RESTORE_SAME_CLOCK) != 0);
    if (e == VNAT_OK)
        log_restore(nat, snap, len, mode, now);
    if (e == VNAT_OK && sockets == VNAT_RESTORE_SOCKETS_LOST)
        e = snap_lose_sockets(nat);
    if (e != VNAT_OK) {
        memset(base, 0, l.total);
        return e;
    }
    *out = nat;
    return VNAT_OK;
}

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

static void begin_event(struct vnat *nat, uint64_t now, enum vnat_log_kind kind, vnat_token tok,
                        int64_t a, const uint8_t *data, size_t len)
{
    advance_time(nat, now);
    log_event(nat, kind, now, tok, a, data, len);
    dispatch_timers(nat);
}

/* The full invariant check is O(flows) and left to the caller (the
 * simulator runs it after every event); debug builds assert the cheap
 * ones here. */
static void end_event(struct vnat *nat)
{
    VNAT_ASSERT(nat, nat->tcp->live <= nat->cfg.max_tcp_flows);
    VNAT_ASSERT(nat, nat->stats.flows_live <= nat->cfg.max_flows);
    VNAT_ASSERT(nat, timer_heap_len(nat) <= nat->stats.flows_live);
}

vnat_err vnat_on_guest_frame(vnat *nat, uint64_t now, const uint8_t *frame, size_t len)
{
    if (nat == NULL || (frame == NULL && len > 0))
        return VNAT_E_INVAL;
    if (nat->shut_down)
        return VNAT_E_STATE;
    begin_event(nat, now, VNAT_LOG_EV_FRAME, 0, 0, frame, len);
    nat->stats.frames_in++;
    dispatch_frame(nat, frame, len);
    end_event(nat);
    return VNAT_OK;
}

vnat_err vnat_on_writable(vnat *nat, uint64_t now, vnat_token tok, int so_error)
{
    if (nat == NULL)
        return VNAT_E_INVAL;
    if (nat->shut_down)
        return VNAT_E_STATE;
    begin_event(nat, now, VNAT_LOG_EV_WRITABLE, tok, so_error, NULL, 0);
    vnat_err e = dispatch_writable(nat, tok, so_error);
    end_event(nat);
    return e;
}

vnat_err vnat_on_readable(vnat *nat, uint64_t now, vnat_token tok)
{
    if (nat == NULL)
        return VNAT_E_INVAL;
    if (nat->shut_down)
        return VNAT_E_STATE;
    begin_event(nat, now, VNAT_LOG_EV_READABLE, tok, 0, NULL, 0);
    vnat_err e = dispatch_readable(nat, tok);
    end_event(nat);
    return e;
}

vnat_err vnat_on_listener_ready(vnat *nat, uint64_t now, vnat_token tok)
{
    if (nat == NULL)
        return VNAT_E_INVAL;
    if (nat->shut_down)
        return VNAT_E_STATE;
    begin_event(nat, now, VNAT_LOG_EV_LISTENER, tok, 0, NULL, 0);
    vnat_err e = dispatch_listener_ready(nat, tok);
    end_event(nat);
    return e;
}

vnat_err vnat_on_link_writable(vnat *nat, uint64_t now)
{
    if (nat == NULL)
        return VNAT_E_INVAL;
    if (nat->shut_down)
        return VNAT_E_STATE;
    begin_event(nat, now, VNAT_LOG_EV_LINK, 0, 0, NULL, 0);
    dispatch_link_writable(nat);
    end_event(nat);
    return VNAT_OK;
}

vnat_err vnat_on_tick(vnat *nat, uint64_t now)
{
    if (nat == NULL)
        return VNAT_E_INVAL;
    if (nat->shut_down)
        return VNAT_E_STATE;
    begin_event(nat, now, VNAT_LOG_EV_TICK, 0, 0, NULL, 0);
    end_event(nat);
    return VNAT_OK;
}

uint64_t vnat_next_deadline(const vnat *nat)
{
    if (nat == NULL || nat->shut_down)
        return UINT64_MAX;
    return timer_next_deadline(nat);
}

/* ------------------------------------------------------------------ */
/* Forwards (inbound: issue 5)                                         */
/* ------------------------------------------------------------------ */

vnat_err vnat_forward_add(vnat *nat, uint64_t now, const struct vnat_forward *fwd)
{
    if (nat == NULL || fwd == NULL)
        return VNAT_E_INVAL;
    advance_time(nat, now);
    log_api(nat, 2, fwd, sizeof *fwd);
    return forward_add(nat, fwd);
}

vnat_err vnat_forward_remove(vnat *nat, uint64_t now, const struct vnat_forward *fwd)
{
    if (nat == NULL || fwd == NULL)
        return VNAT_E_INVAL;
    advance_time(nat, now);
    log_api(nat, 3, fwd, sizeof *fwd);
    return forward_remove(nat, fwd);
}

/* ------------------------------------------------------------------ */
/* Observation                                                         */
/* ------------------------------------------------------------------ */

void vnat_get_stats(const vnat *nat, struct vnat_stats *out, size_t size)
{
    if (nat == NULL || out == NULL)
        return;
    memcpy(out, &nat->stats, size < sizeof nat->stats ? size : sizeof nat->stats);
}

uint64_t vnat_seed(const vnat *nat)
{
    return nat != NULL ? nat->cfg.seed : 0;
}

int vnat_guest_mac(const vnat *nat, uint8_t mac[6])
{
    if (nat == NULL || mac == NULL)
        return -1;
    memcpy(mac, nat->guest_mac, 6);
    return nat->guest_mac_held ? 1 : 0;
}

size_t vnat_dump_flows(const vnat *nat, char *buf, size_t len)
{
    struct fmt_buf b = {buf, buf != NULL ? len : 0, 0};
    if (nat == NULL) {
        fmt_finish(&b);
        return 0;
    }
    fmt_str(&b, "flows ");
    fmt_u64(&b, nat->stats.flows_live);
    fmt_str(&b, "/");
    fmt_u64(&b, nat->cfg.max_flows);
    fmt_str(&b, " now=");
    fmt_u64(&b, nat->now);
    fmt_str(&b, "\n");
    /* Slot order: depends only on the order of events, never on addresses. */
    for (uint32_t i = 0; i < nat->cfg.max_flows; i++)
        if (flow_at(nat, i)->in_use)
            dispatch_dump_flow(nat, flow_at(nat, i), &b);
    fmt_finish(&b);
    return b.len;
}

int vnat_check_invariants(const vnat *nat, char *why, size_t why_len)
{
    if (nat == NULL)
        return fmt_fail(why, why_len, "nat is NULL");
    if (why != NULL && why_len > 0)
        why[0] = '\0';
    /* The table, its index, free list and timers first; then each live
     * flow's protocol and the protocols' counters. */
    if (flow_table_check(nat, why, why_len) != 0)
        return 1;
    /* The guest's MAC: the configured one while learning or when fixed. */
    if ((!nat->guest_mac_held || (nat->cfg.flags & VNAT_F_GUEST_MAC_FIXED)) &&
        memcmp(nat->guest_mac, nat->cfg.guest_mac, 6) != 0)
        return fmt_fail(why, why_len, "guest MAC differs from the configured one");
    if ((nat->cfg.flags & VNAT_F_GUEST_MAC_FIXED) && !nat->guest_mac_held)
        return fmt_fail(why, why_len, "fixed guest MAC not held");
    return dispatch_check(nat, why, why_len);
}

/* ------------------------------------------------------------------ */
/* Internal hooks for pins                                             */
/* ------------------------------------------------------------------ */

void vnat_debug_force_isn(struct vnat *nat, int enable, uint32_t isn)
{
    nat->tcp->isn_forced = (uint32_t)enable;
    nat->tcp->isn_force_value = isn;
}

size_t vnat_debug_flow_size(void)
{
    return sizeof(struct flow);
}

size_t vnat_debug_memory_per_flow(void)
{
    /* The flow, its index entries (the index has between 2 and 4 entries per
     * flow: at least twice max_flows, rounded up to a power of two) and one
     * heap slot. */
    return sizeof(struct flow) + 4 * sizeof(struct flow_ref) + sizeof(uint32_t);
}

const struct flow *vnat_debug_flow_at(const struct vnat *nat, uint32_t index)
{
    if (index >= nat->cfg.max_flows || !flow_at(nat, index)->in_use)
        return NULL;
    return flow_at(nat, index);
}
