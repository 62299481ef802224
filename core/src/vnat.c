/*
 * vnat.c — the public API: configuration, memory layout, creation and
 * shutdown, the event entry points (each clamps now, logs the event, fires
 * due timers, then handles it), counters, the flow dump and the invariant
 * check. Protocol work is delegated: frame.c dispatches guest frames,
 * tcp.c runs TCP, timer.c the timers, flow.c the table, log.c the boundary
 * log and every host operation.
 */
#include "internal.h"

#define MAX_FLOWS_LIMIT (1u << 24)
#define MAX_RULES_LIMIT 65536u
#define MAX_FORWARDS_LIMIT 65536u

void vnat_panic_(const struct vnat *nat, const char *msg)
{
    if (nat != NULL && nat->ops.panic != NULL)
        nat->ops.panic(nat->ctx, msg);
    __builtin_trap();
}

void stats_drop(struct vnat *nat, enum vnat_drop_reason r)
{
    nat->stats.drops[r]++;
}

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

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
    cfg->max_tcp_flows = 4096;
    cfg->max_udp_flows = 4096;
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

/* Copy the caller's (possibly older, smaller) struct over the defaults and
 * fill zeros with defaults. Returns VNAT_OK or an error. */
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
    if (out->max_tcp_flows == 0 || out->max_tcp_flows > out->max_flows)
        out->max_tcp_flows = out->max_flows;
    if (out->max_udp_flows == 0 || out->max_udp_flows > out->max_flows)
        out->max_udp_flows = out->max_flows;
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
    if (out->max_flows > MAX_FLOWS_LIMIT)
        return VNAT_E_CONFIG;
    if (out->guest_ip.family != VNAT_AF_INET || out->gateway_ip.family != VNAT_AF_INET ||
        out->dns_ip.family != VNAT_AF_INET)
        return VNAT_E_CONFIG;
    if (out->prefix_len < 1 || out->prefix_len > 30)
        return VNAT_E_CONFIG;
    if (out->n_rules > MAX_RULES_LIMIT || (out->n_rules > 0 && out->rules == NULL))
        return VNAT_E_CONFIG;
    if (out->max_forwards > MAX_FORWARDS_LIMIT || out->n_forwards > out->max_forwards ||
        (out->n_forwards > 0 && out->forwards == NULL))
        return VNAT_E_CONFIG;
    if (out->n_dns_servers > VNAT_MAX_DNS_SERVERS)
        return VNAT_E_CONFIG;
    for (uint32_t i = 0; i < out->n_rules; i++)
        if (out->rules[i].action > VNAT_RULE_ALLOW || out->rules[i].port_lo > out->rules[i].port_hi)
            return VNAT_E_CONFIG;
    return VNAT_OK;
}

/* ------------------------------------------------------------------ */
/* Memory layout                                                       */
/* ------------------------------------------------------------------ */

struct layout {
    size_t image, rules, forwards, listeners, flows, buckets, heap, scratch, svc, total;
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
    off = align16(off + c->mtu + VW_ETH_HLEN);
    l->svc = off; /* guest services: the DNS cache, if enabled */
    off = align16(off + svc_memory_size(c));
    l->total = off;
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
    return o->guest_send && o->tcp_connect && o->tcp_listen && o->tcp_accept &&
           o->send && o->send_space && o->peek && o->discard && o->shutdown_write && o->close &&
           o->set_interest && o->dgram_open && o->dgram_bind && o->dgram_send && o->dgram_recv;
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
    memset(base, 0, l.total);
    struct vnat *nat = (struct vnat *)base;
    nat->ops = o;
    nat->ctx = ctx;
    nat->mem_base = mem;
    nat->mem_size = mem_size;

    struct vnat_config *image = (struct vnat_config *)(base + l.image);
    *image = c;
    image->rules = NULL;
    image->forwards = NULL;
    nat->rules = (struct vnat_rule *)(base + l.rules);
    nat->forwards = (struct vnat_forward *)(base + l.forwards);
    if (c.n_rules > 0)
        memcpy(nat->rules, c.rules, (size_t)c.n_rules * sizeof(struct vnat_rule));
    if (c.n_forwards > 0)
        memcpy(nat->forwards, c.forwards, (size_t)c.n_forwards * sizeof(struct vnat_forward));
    nat->cfg = c;
    nat->cfg.rules = nat->rules;
    nat->cfg.forwards = nat->forwards;
    nat->listeners = (struct listener *)(base + l.listeners);
    for (uint32_t i = 0; i < c.max_forwards; i++)
        nat->listeners[i].gen = nat->listeners[i].reject_gen = 1;
    nat->flows = (struct flow *)(base + l.flows);
    nat->buckets = (struct flow_ref *)(base + l.buckets);
    nat->bucket_mask = l.nbuckets - 1;
    nat->heap = (uint32_t *)(base + l.heap);
    nat->scratch = base + l.scratch;
    nat->scratch_len = c.mtu + VW_ETH_HLEN;
    nat->link_head = nat->link_tail = VNAT_NONE32;

    vnat_derive_key(c.seed, 1, nat->sip_table);
    vnat_derive_key(c.seed, 2, nat->sip_isn);
    nat->syn_bucket = (uint64_t)c.syn_rate_per_sec * VNAT_NS_PER_S;

    flow_table_init(nat);
    timer_init(nat);

    size_t image_len = sizeof(struct vnat_config) + (size_t)c.n_rules * sizeof(struct vnat_rule) +
                       (size_t)c.n_forwards * sizeof(struct vnat_forward);
    log_create(nat, image, image_len);
    svc_init(nat, svc_memory_size(&c) > 0 ? base + l.svc : NULL);
    e = svc_open_config_forwards(nat);
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
    for (uint32_t i = 0; i < nat->cfg.max_flows; i++) {
        struct flow *f = &nat->flows[i];
        if (!f->in_use)
            continue;
        if (f->key.proto == VNAT_PROTO_TCP)
            tcp_shutdown_flow(nat, f);
    }
    svc_shutdown(nat); /* datagram flows and listeners */
    nat->shut_down = 1;
}

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

static void begin_event(struct vnat *nat, uint64_t now, enum vnat_log_kind kind, vnat_token tok,
                        int64_t a, const uint8_t *data, size_t len)
{
    advance_time(nat, now);
    log_event(nat, kind, now, tok, a, data, len);
    timer_fire_due(nat);
}

/* The full invariant check is O(flows) and left to the caller (the
 * simulator runs it after every event); debug builds assert the cheap
 * ones here. */
static void end_event(struct vnat *nat)
{
    VNAT_ASSERT(nat, nat->tcp_live <= nat->cfg.max_tcp_flows);
    VNAT_ASSERT(nat, nat->stats.flows_live <= nat->cfg.max_flows);
    VNAT_ASSERT(nat, nat->heap_len <= nat->stats.flows_live);
}

vnat_err vnat_on_guest_frame(vnat *nat, uint64_t now, const uint8_t *frame, size_t len)
{
    if (nat == NULL || (frame == NULL && len > 0))
        return VNAT_E_INVAL;
    if (nat->shut_down)
        return VNAT_E_STATE;
    begin_event(nat, now, VNAT_LOG_EV_FRAME, 0, 0, frame, len);
    nat->stats.frames_in++;
    frame_dispatch(nat, frame, len);
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
    struct flow *f = flow_by_token(nat, tok);
    if (f == NULL) {
        nat->stats.stale_tokens++;
        end_event(nat);
        return VNAT_E_STALE;
    }
    if (f->key.proto == VNAT_PROTO_TCP)
        tcp_on_writable(nat, f, so_error);
    end_event(nat);
    return VNAT_OK;
}

vnat_err vnat_on_readable(vnat *nat, uint64_t now, vnat_token tok)
{
    if (nat == NULL)
        return VNAT_E_INVAL;
    if (nat->shut_down)
        return VNAT_E_STATE;
    begin_event(nat, now, VNAT_LOG_EV_READABLE, tok, 0, NULL, 0);
    struct flow *f = flow_by_token(nat, tok);
    if (f == NULL && svc_on_listener_readable(nat, tok)) {
        end_event(nat); /* a UDP forward's socket */
        return VNAT_OK;
    }
    if (f == NULL) {
        nat->stats.stale_tokens++;
        end_event(nat);
        return VNAT_E_STALE;
    }
    if (f->key.proto == VNAT_PROTO_TCP)
        tcp_on_readable(nat, f);
    else
        services_on_readable(nat, f);
    end_event(nat);
    return VNAT_OK;
}

vnat_err vnat_on_listener_ready(vnat *nat, uint64_t now, vnat_token tok)
{
    if (nat == NULL)
        return VNAT_E_INVAL;
    if (nat->shut_down)
        return VNAT_E_STATE;
    begin_event(nat, now, VNAT_LOG_EV_LISTENER, tok, 0, NULL, 0);
    bool live = svc_on_listener_ready(nat, tok);
    if (!live)
        nat->stats.stale_tokens++;
    end_event(nat);
    return live ? VNAT_OK : VNAT_E_STALE;
}

vnat_err vnat_on_link_writable(vnat *nat, uint64_t now)
{
    if (nat == NULL)
        return VNAT_E_INVAL;
    if (nat->shut_down)
        return VNAT_E_STATE;
    begin_event(nat, now, VNAT_LOG_EV_LINK, 0, 0, NULL, 0);
    nat->link_full = 0;
    /* Resume the flows that lost a frame, oldest first, until the link
     * refuses again (the rest stay queued). */
    for (uint32_t n = 0; n < nat->cfg.max_flows && nat->link_head != VNAT_NONE32 && !nat->link_full;
         n++) {
        struct flow *f = &nat->flows[nat->link_head];
        link_wait_remove(nat, f);
        if (f->key.proto == VNAT_PROTO_TCP)
            tcp_on_link_writable(nat, f);
        else
            svc_dgram_on_link_writable(nat, f);
    }
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
    return svc_forward_add(nat, fwd);
}

vnat_err vnat_forward_remove(vnat *nat, uint64_t now, const struct vnat_forward *fwd)
{
    if (nat == NULL || fwd == NULL)
        return VNAT_E_INVAL;
    advance_time(nat, now);
    log_api(nat, 3, fwd, sizeof *fwd);
    return svc_forward_remove(nat, fwd);
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

static void dump_flow(const struct vnat *nat, const struct flow *f, struct fmt_buf *b)
{
    fmt_str(b, "#");
    fmt_u64(b, flow_index(nat, f));
    fmt_str(b, f->key.proto == VNAT_PROTO_TCP    ? " tcp "
               : f->key.proto == VNAT_PROTO_UDP  ? " udp "
               : f->key.proto == VNAT_PROTO_ICMP ? " icmp "
                                                 : " proto ");
    if (f->key.proto != VNAT_PROTO_TCP && f->key.proto != VNAT_PROTO_UDP &&
        f->key.proto != VNAT_PROTO_ICMP) {
        fmt_u64(b, f->key.proto);
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
    if (f->key.proto == VNAT_PROTO_TCP) {
        const struct tcp_flow *t = &f->u.tcp;
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
    fmt_str(b, " flags=");
    fmt_hex(b, f->flags);
    fmt_str(b, " interest=");
    fmt_u64(b, f->interest);
    fmt_str(b, "\n");
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
        if (nat->flows[i].in_use)
            dump_flow(nat, &nat->flows[i], &b);
    fmt_finish(&b);
    return b.len;
}

static int broken(char *why, size_t why_len, const char *msg, uint64_t detail)
{
    if (why != NULL && why_len > 0) {
        struct fmt_buf b = {why, why_len, 0};
        fmt_str(&b, msg);
        if (detail != UINT64_MAX) {
            fmt_str(&b, " (flow #");
            fmt_u64(&b, detail);
            fmt_str(&b, ")");
        }
        fmt_finish(&b);
    }
    return 1;
}

int vnat_check_invariants(const vnat *nat, char *why, size_t why_len)
{
    if (nat == NULL)
        return broken(why, why_len, "nat is NULL", UINT64_MAX);
    if (why != NULL && why_len > 0)
        why[0] = '\0';
    uint64_t live = 0, tcp = 0, by_state[VNAT_TCP__STATE_COUNT] = {0}, in_heap = 0;
    uint64_t udp = 0, icmp = 0;
    for (uint32_t i = 0; i < nat->cfg.max_flows; i++) {
        const struct flow *f = &nat->flows[i];
        if (f->gen == 0)
            return broken(why, why_len, "token generation 0", i);
        if (!f->in_use) {
            if (f->list_class != TCLASS_NONE || f->heap_pos != VNAT_NONE32 ||
                (f->flags & FF_LINK_WAIT))
                return broken(why, why_len, "free slot still holds a timer", i);
            continue;
        }
        live++;
        if (f->heap_pos != VNAT_NONE32)
            in_heap++;
        /* Reachable through the keyed index under its own key. */
        const struct flow *found = flow_lookup((struct vnat *)nat, &f->key);
        if (found != f)
            return broken(why, why_len, "flow not found under its key", i);
        if (f->key.proto == VNAT_PROTO_TCP) {
            if (!(f->flags & FF_LINGER))
                tcp++;
            const char *w = NULL;
            if (tcp_check_flow(nat, f, &w) != 0)
                return broken(why, why_len, w, i);
            by_state[f->u.tcp.state]++;
        } else {
            if (f->key.proto == VNAT_PROTO_UDP)
                udp++;
            else
                icmp++;
            const char *w = NULL;
            if (svc_dgram_check(nat, f, &w) != 0)
                return broken(why, why_len, w, i);
        }
    }
    if (live != nat->stats.flows_live)
        return broken(why, why_len, "flows_live counter disagrees with the table", UINT64_MAX);
    uint32_t indexed = 0;
    for (uint32_t i = 0; i <= nat->bucket_mask; i++) {
        const struct flow_ref *r = &nat->buckets[i];
        if (r->slot == VNAT_NONE32)
            continue;
        if (r->slot >= nat->cfg.max_flows || !nat->flows[r->slot].in_use ||
            nat->flows[r->slot].hash != r->hash)
            return broken(why, why_len, "flow index entry names a dead or different flow", i);
        indexed++;
    }
    if (indexed != live)
        return broken(why, why_len, "flow index holds a different number of flows", UINT64_MAX);
    if (tcp != nat->tcp_live || tcp > nat->cfg.max_tcp_flows)
        return broken(why, why_len, "tcp flow count wrong or above its limit", UINT64_MAX);
    for (int s = 0; s < VNAT_TCP__STATE_COUNT; s++)
        if (by_state[s] != nat->stats.tcp_flows_by_state[s])
            return broken(why, why_len, "tcp_flows_by_state disagrees with the table", UINT64_MAX);
    if (udp != nat->stats.udp_flows || icmp != nat->stats.icmp_flows ||
        udp + icmp != nat->svc.dgram_live || udp + icmp > nat->cfg.max_udp_flows)
        return broken(why, why_len, "udp/icmp flow counts wrong or above their limit", UINT64_MAX);
    if (in_heap != nat->heap_len)
        return broken(why, why_len, "timer heap size wrong", UINT64_MAX);
    uint32_t free_n = 0;
    for (uint32_t i = nat->free_head; i != VNAT_NONE32 && free_n <= nat->cfg.max_flows;
         i = nat->flows[i].hash_next) {
        if (nat->flows[i].in_use)
            return broken(why, why_len, "free list holds a live flow", i);
        free_n++;
    }
    if (free_n + live != nat->cfg.max_flows)
        return broken(why, why_len, "free list length + live != capacity", UINT64_MAX);
    if (timer_check(nat, why, why_len) != 0)
        return 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Internal hooks for pins                                             */
/* ------------------------------------------------------------------ */

void vnat_debug_force_isn(struct vnat *nat, int enable, uint32_t isn)
{
    nat->isn_forced = enable;
    nat->isn_force_value = isn;
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
    if (index >= nat->cfg.max_flows || !nat->flows[index].in_use)
        return NULL;
    return &nat->flows[index];
}
