/*
 * world.c — one simulated run: the guest link, the guest stack and its
 * applications, the core glue, the trace, and the end-of-run checks.
 *
 * The loop pops one event at a time (queue.h) and hands it to its owner.
 * Every call into the core is followed by the core's own invariant check
 * and by re-arming the tick at the core's next deadline. The core never
 * sees a host operation re-enter it: host operations only schedule events.
 *
 * Checks that fail a run at once: an invariant the core reports broken, a
 * frame from the core that exceeds the MTU or carries a bad checksum, a
 * byte of any stream that is not the byte sent at that offset, a host
 * operation on a token the core never opened or already closed, an event
 * the core calls stale for a socket it never closed. Checks at the end
 * (when the queue drained, so every timeout has passed): every flow's data
 * arrived exactly once and in order unless both ends saw a reset; no flow
 * and no host socket remains; every guest connection reached an outcome.
 */
#include "sim.h"

#include "wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- configuration ---------------------------------------------------------- */

void sim_config_init(struct sim_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->name, sizeof cfg->name, "unnamed");
    cfg->seed = 1;
    vnat_config_init(&cfg->core);
    cfg->core.seed = cfg->seed;
    cfg->duration = 4 * 3600 * SIM_S;
    cfg->max_events = 200000000ull;
    cfg->to_core.delay = 50000; /* 50 us each way on the guest link */
    cfg->to_guest.delay = 50000;
    cfg->link_queue = 1024;
    cfg->max_sockets = 8192;
    struct sim_dest *d = &cfg->default_dest;
    d->connect = SC_REFUSE;
    d->latency = 1 * SIM_MS;
    d->owd = 500000;
    d->sndbuf = 256 * 1024;
    d->rcvbuf = 256 * 1024;
    gtcp_cfg_default(&cfg->guest);
    cfg->arp_probe = true;
    sim_config_add_group(cfg, "all");
}

void sim_config_free(struct sim_config *cfg)
{
    sim_inbound_cfg_free(cfg);
    free(cfg->dests);
    free(cfg->flows);
    free(cfg->groups);
    free(cfg->expects);
    free(cfg->svcs);
    free(cfg->rules);
    cfg->svcs = NULL;
    cfg->rules = NULL;
    cfg->core.rules = NULL;
    cfg->dests = NULL;
    cfg->flows = NULL;
    cfg->groups = NULL;
    cfg->expects = NULL;
}

static void *grow(void *arr, uint32_t n, uint32_t *cap, size_t elem)
{
    if (n < *cap)
        return arr;
    uint32_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(arr, (size_t)ncap * elem);
    if (p == NULL)
        return NULL;
    *cap = ncap;
    return p;
}

struct sim_dest *sim_config_add_dest(struct sim_config *cfg)
{
    struct sim_dest *p = grow(cfg->dests, cfg->n_dests, &cfg->cap_dests, sizeof *p);
    if (p == NULL)
        return NULL;
    cfg->dests = p;
    struct sim_dest *d = &p[cfg->n_dests++];
    *d = cfg->default_dest;
    d->connect = SC_ACCEPT;
    return d;
}

struct sim_flow_spec *sim_config_add_flow(struct sim_config *cfg)
{
    struct sim_flow_spec *p = grow(cfg->flows, cfg->n_flows, &cfg->cap_flows, sizeof *p);
    if (p == NULL)
        return NULL;
    cfg->flows = p;
    struct sim_flow_spec *f = &p[cfg->n_flows++];
    memset(f, 0, sizeof *f);
    f->send = 8;
    return f;
}

int sim_config_add_group(struct sim_config *cfg, const char *name)
{
    for (uint32_t i = 0; i < cfg->n_groups; i++)
        if (strcmp(cfg->groups[i].name, name) == 0)
            return (int)i;
    struct sim_group *p = grow(cfg->groups, cfg->n_groups, &cfg->cap_groups, sizeof *p);
    if (p == NULL)
        return -1;
    cfg->groups = p;
    snprintf(p[cfg->n_groups].name, sizeof p[0].name, "%s", name);
    return (int)cfg->n_groups++;
}

struct sim_expect *sim_config_add_expect(struct sim_config *cfg)
{
    struct sim_expect *p = grow(cfg->expects, cfg->n_expects, &cfg->cap_expects, sizeof *p);
    if (p == NULL)
        return NULL;
    cfg->expects = p;
    struct sim_expect *e = &p[cfg->n_expects++];
    memset(e, 0, sizeof *e);
    return e;
}

/* ---- failures and scheduling -------------------------------------------------- */

void sim_fail(struct sim_world *w, const char *fmt, ...)
{
    if (w->failed)
        return;
    w->failed = true;
    w->stop = true;
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(w->fail, sizeof w->fail, "t=%" PRIu64 ".%09" PRIu64 ": ", w->q.now / SIM_S,
                     w->q.now % SIM_S);
    if (n > 0 && (size_t)n < sizeof w->fail)
        vsnprintf(w->fail + n, sizeof w->fail - (size_t)n, fmt, ap);
    va_end(ap);
}

void sim_schedule(struct sim_world *w, uint64_t at, uint32_t kind, uint32_t arg, uint64_t id,
                  void *ptr)
{
    if (sim_queue_push(&w->q, at, kind, arg, id, ptr) != 0)
        sim_fail(w, "the event queue is full (%zu events): a simulator bound was hit", w->q.len);
}

/* ---- frames and the guest link ------------------------------------------------- */

static struct sim_frame *frame_get(struct sim_world *w, size_t need)
{
    if (need > w->frame_cap)
        return NULL;
    struct sim_frame *f = w->free_frames;
    if (f != NULL) {
        w->free_frames = f->next;
        return f;
    }
    if (w->frames_alloc >= w->frames_max)
        return NULL;
    f = malloc(sizeof *f + w->frame_cap);
    if (f == NULL)
        return NULL;
    w->frames_alloc++;
    return f;
}

static void frame_put(struct sim_world *w, struct sim_frame *f)
{
    f->next = w->free_frames;
    w->free_frames = f;
}

static struct sim_frame *frame_of(uint8_t *data)
{
    return (struct sim_frame *)(data - offsetof(struct sim_frame, data));
}

/* Datagram exchanges (UDP, ICMP, DNS) are budgeted against the frames lost
 * that are not TCP: a TCP frame's loss cannot cost one (outcome_checks). */
static bool frame_is_tcp(const uint8_t *d, uint32_t len)
{
    return len >= VW_ETH_HLEN + 20 && d[12] == 0x08 && d[13] == 0x00 && d[VW_ETH_HLEN + 9] == 6;
}

/* Apply one direction's faults and schedule delivery. Takes f. */
static void link_carry(struct sim_world *w, const struct sim_link_cfg *lc,
                       struct sim_link_stats *st, struct sim_frame *f, uint32_t kind)
{
    st->frames++;
    if (sim_rng_chance(&w->rng, lc->loss_ppm)) {
        st->lost++;
        w->dgram_damage += !frame_is_tcp(f->data, f->len);
        frame_put(w, f);
        return;
    }
    if (sim_rng_chance(&w->rng, lc->corrupt_ppm) && f->len > 0) {
        w->dgram_damage += !frame_is_tcp(f->data, f->len); /* before the flip */
        uint64_t bit = sim_rng_below(&w->rng, (uint64_t)f->len * 8);
        /* A flip is damage only a checksum can catch, so it never lands in
         * the Ethernet header, which none covers: a real link's FCS drops
         * such a frame, and a tap or stream socket flips no bits. (A flip
         * there modelled nothing real, and once the core learns the
         * guest's MAC from its first frame, a flipped source in that frame
         * made it learn a MAC no guest has: swarm seed 11049302.) The draw
         * is kept, and a bit in the header moves past it. */
        if (bit < 8u * VW_ETH_HLEN && f->len > VW_ETH_HLEN)
            bit = 8u * VW_ETH_HLEN + bit % (((uint64_t)f->len - VW_ETH_HLEN) * 8);
        f->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        st->corrupted++;
    }
    uint64_t delay = lc->delay;
    if (lc->jitter)
        delay += sim_rng_below(&w->rng, lc->jitter + 1);
    if (sim_rng_chance(&w->rng, lc->reorder_ppm)) {
        delay += 2 * lc->delay + lc->jitter + 100000;
        st->reordered++;
    }
    bool dup = sim_rng_chance(&w->rng, lc->dup_ppm);
    struct sim_frame *copy = NULL;
    if (dup) {
        copy = frame_get(w, f->len);
        if (copy != NULL) {
            memcpy(copy->data, f->data, f->len);
            copy->len = f->len;
            st->dup++;
        }
    }
    if (kind == EV_TO_GUEST)
        w->to_guest_inflight += copy ? 2 : 1;
    sim_schedule(w, w->q.now + delay, kind, 0, 0, f);
    if (copy)
        sim_schedule(w, w->q.now + delay + 1000, kind, 0, 0, copy);
}

/* Everything a frame from the core must be: within the MTU, addressed to
 * the guest, with valid IPv4 and L4 checksums. */
static void check_core_frame(struct sim_world *w, const uint8_t *frame, size_t len)
{
    const struct vnat_config *cc = &w->cfg->core;
    w->frames_checked++;
    if (len > cc->mtu + VW_ETH_HLEN) {
        sim_fail(w, "the core sent a %zu-byte frame: more than MTU %u + 14", len, cc->mtu);
        return;
    }
    struct vw_eth eth;
    int st = vw_eth_parse(frame, len, &eth);
    if (st != VW_OK) {
        sim_fail(w, "the core sent an unparsable Ethernet frame (%s)", vw_status_name(st));
        return;
    }
    if (eth.ethertype == VW_ETH_P_ARP) {
        struct vw_arp a;
        if (vw_arp_parse(eth.payload, eth.payload_len, &a) != VW_OK)
            sim_fail(w, "the core sent a malformed ARP frame");
        return;
    }
    if (eth.ethertype != VW_ETH_P_IPV4)
        return; /* IPv6 frames are not checked here yet */
    struct vw_ipv4 ip;
    st = vw_ipv4_parse(eth.payload, eth.payload_len, &ip);
    if (st != VW_OK) {
        sim_fail(w, "the core sent a bad IPv4 packet (%s)", vw_status_name(st));
        return;
    }
    if (ip.total_len > cc->mtu) {
        sim_fail(w, "the core sent an IPv4 packet of %u bytes over MTU %u", ip.total_len, cc->mtu);
        return;
    }
    if (ip.proto == VW_IPPROTO_TCP || ip.proto == VW_IPPROTO_UDP) {
        if (!vw_l4_csum_ok4(ip.src, ip.dst, ip.proto, ip.payload, ip.payload_len))
            sim_fail(w, "the core sent a %s segment with a bad checksum",
                     ip.proto == VW_IPPROTO_TCP ? "TCP" : "UDP");
        if (ip.proto == VW_IPPROTO_TCP) {
            struct vw_tcp t;
            st = vw_tcp_parse(ip.payload, ip.payload_len, &t);
            if (st != VW_OK)
                sim_fail(w, "the core sent an unparsable TCP segment (%s)", vw_status_name(st));
        }
    } else if (ip.proto == VW_IPPROTO_ICMP) {
        struct vw_icmp ic;
        st = vw_icmp4_parse(ip.payload, ip.payload_len, &ic);
        if (st != VW_OK)
            sim_fail(w, "the core sent a bad ICMP message (%s)", vw_status_name(st));
    }
}

static int op_guest_send(void *ctx, const uint8_t *frame, size_t len)
{
    struct sim_world *w = ctx;
    check_core_frame(w, frame, len);
    if (w->to_guest_inflight >= w->cfg->link_queue) {
        w->link_blocked = true;
        w->l_to_guest.refused++;
        w->dgram_damage += !frame_is_tcp(frame, (uint32_t)len);
        return 1;
    }
    struct sim_frame *f = frame_get(w, len);
    if (f == NULL) {
        w->link_blocked = true;
        w->l_to_guest.refused++;
        w->dgram_damage += !frame_is_tcp(frame, (uint32_t)len);
        return 1;
    }
    memcpy(f->data, frame, len);
    f->len = (uint32_t)len;
    link_carry(w, &w->cfg->to_guest, &w->l_to_guest, f, EV_TO_GUEST);
    return 0;
}

/* ---- the core ---------------------------------------------------------------- */

static void schedule_tick(struct sim_world *w)
{
    if (w->nat == NULL)
        return;
    uint64_t d = vnat_next_deadline(w->nat);
    if (d == UINT64_MAX)
        return;
    if (w->tick_at != 0 && w->tick_at <= d)
        return;
    w->tick_at = d < w->q.now ? w->q.now : d;
    w->tick_gen++;
    sim_schedule(w, w->tick_at, EV_TICK, 0, w->tick_gen, NULL);
}

static void core_after(struct sim_world *w, vnat_err e, const char *what, vnat_token tok)
{
    w->core_calls++;
    char why[512];
    why[0] = 0;
    if (!w->cfg->skip_invariants) {
        if (vnat_check_invariants(w->nat, why, sizeof why) != 0)
            sim_fail(w, "core invariant broken after %s: %s", what, why);
        w->invariant_checks++;
    }
    if (e == VNAT_E_STALE && tok != VNAT_TOKEN_NONE) {
        uint32_t dummy;
        if (sim_map_get(&w->host.by_token, tok, &dummy))
            sim_fail(w, "the core calls token %#llx stale (%s) but never closed it",
                     (unsigned long long)tok, what);
    } else if (e != VNAT_OK && e != VNAT_E_STALE) {
        sim_fail(w, "%s returned %s", what, vnat_strerror(e));
    }
    schedule_tick(w);
    if (w->cfg->spurious_ppm && sim_rng_chance(&w->rng, w->cfg->spurious_ppm))
        sim_schedule(w, w->q.now, EV_SPURIOUS, 0, 0, NULL);
}

void sim_core_readable(struct sim_world *w, vnat_token tok)
{
    vnat_err e = vnat_on_readable(w->nat, w->q.now, tok);
    core_after(w, e, "vnat_on_readable", tok);
}

void sim_core_writable(struct sim_world *w, vnat_token tok, int so_error)
{
    vnat_err e = vnat_on_writable(w->nat, w->q.now, tok, so_error);
    core_after(w, e, "vnat_on_writable", tok);
}

void sim_core_listener_ready(struct sim_world *w, vnat_token tok)
{
    vnat_err e = vnat_on_listener_ready(w->nat, w->q.now, tok);
    core_after(w, e, "vnat_on_listener_ready", tok);
}

/* After a public call whose result the caller judges (a forward that may
 * rightly fail): the checks of every call, not its error. */
void sim_core_api(struct sim_world *w, const char *what)
{
    core_after(w, VNAT_OK, what, VNAT_TOKEN_NONE);
}

static void world_log(void *ctx, const struct vnat_log_record *rec)
{
    struct sim_world *w = ctx;
    w->records++;
    vnat_trace_hash_record(&w->th, rec);
    if (rec->kind != VNAT_LOG_RESTORE && rec->kind != VNAT_LOG_SNAPSHOT)
        vnat_trace_hash_record(&w->th_kept, rec);
    if (w->trace_bin)
        vnat_trace_write(w->trace_bin, rec);
    if (w->trace_text) {
        char line[640];
        vnat_trace_format(rec, line, sizeof line);
        fprintf(w->trace_text, "%s\n", line);
    }
}

static void world_panic(void *ctx, const char *msg)
{
    struct sim_world *w = ctx;
    fprintf(stderr, "vnat sim: CORE PANIC at t=%" PRIu64 " (seed %" PRIu64 ", %s): %s\n", w->q.now,
            w->cfg->seed, w->cfg->name, msg);
    abort();
}

/* ---- guest applications ---------------------------------------------------------- */

static uint8_t *g_frame_alloc(void *ctx, size_t cap)
{
    struct sim_world *w = ctx;
    struct sim_frame *f = frame_get(w, cap);
    if (f == NULL) {
        w->l_to_core.refused++; /* a frame the guest could not send: lost */
        w->dgram_damage++;
    }
    return f ? f->data : NULL;
}

static void g_frame_send(void *ctx, uint8_t *frame, size_t len)
{
    struct sim_world *w = ctx;
    struct sim_frame *f = frame_of(frame);
    f->len = (uint32_t)len;
    link_carry(w, &w->cfg->to_core, &w->l_to_core, f, EV_TO_CORE);
}

static void g_set_timer(void *ctx, struct gtcp_conn *c, uint64_t at)
{
    struct sim_world *w = ctx;
    sim_schedule(w, at, EV_GUEST_TIMER, c->index, c->gen, NULL);
}

static uint64_t round_size(const struct sim_flow_spec *sp)
{
    if (sp->rr <= 1)
        return sp->send;
    uint64_t r = sp->send / sp->rr;
    return r < SIM_PATTERN_HDR ? SIM_PATTERN_HDR : r;
}

static void app_write_more(struct sim_world *w, struct sim_flow *f, const struct sim_flow_spec *sp)
{
    if (f->conn == NULL || f->written >= sp->send)
        return;
    uint64_t n = sp->send - f->written;
    uint64_t r = round_size(sp);
    if (n > r)
        n = r;
    f->written += n;
    gtcp_write(&w->guest, w->q.now, f->conn, n);
}

static void app_maybe_close(struct sim_world *w, uint32_t i)
{
    struct sim_flow *f = &w->flows[i];
    const struct sim_flow_spec *sp = &w->cfg->flows[i];
    struct gtcp_conn *c = f->conn;
    if (c == NULL || f->closed || f->hold_started)
        return;
    if (f->written < sp->send || !gtcp_all_acked(c))
        return;
    if (sp->rr > 1 && c->rcv_total < f->written)
        return;
    if (sp->close == SG_NEVER || (sp->close == SG_EOF && !f->fin_rcvd))
        return;
    f->hold_started = true;
    sim_schedule(w, w->q.now + sp->hold, EV_FLOW_TIMER, i, 1, NULL);
}

static void app_read(struct sim_world *w, uint32_t i)
{
    struct sim_flow *f = &w->flows[i];
    const struct sim_flow_spec *sp = &w->cfg->flows[i];
    if (f->conn == NULL)
        return;
    if (sp->read_chunk == 0) {
        gtcp_consume(&w->guest, w->q.now, f->conn, f->conn->rcv_used);
        return;
    }
    uint32_t n = f->conn->rcv_used < sp->read_chunk ? f->conn->rcv_used : sp->read_chunk;
    gtcp_consume(&w->guest, w->q.now, f->conn, n); /* never ends the connection */
    if (f->conn->rcv_used > 0) {
        f->read_pending = true;
        sim_schedule(w, w->q.now + sp->read_every, EV_FLOW_TIMER, i, 2, NULL);
    }
}

/* A datagram gtcp.c took (gsvc.c takes its own ports first). */
static void g_on_udp(void *ctx, const uint8_t src[4], uint16_t sport, uint16_t dport,
                     const uint8_t *data, size_t len)
{
    (void)sim_inbound_guest_udp(ctx, src, sport, dport, data, len);
}

static void g_on_event(void *ctx, struct gtcp_conn *c, enum gtcp_event ev)
{
    struct sim_world *w = ctx;
    if (c->passive) { /* flows open actively; passive opens are inbound.c's servers */
        sim_inbound_guest_event(w, c, ev);
        return;
    }
    uint32_t i = (uint32_t)c->user;
    if (i >= w->cfg->n_flows)
        return;
    struct sim_flow *f = &w->flows[i];
    const struct sim_flow_spec *sp = &w->cfg->flows[i];
    switch (ev) {
    case GTE_ESTABLISHED:
    case GTE_ACCEPTED:
        f->established = true;
        f->established_at = w->q.now;
        app_write_more(w, f, sp);
        break;
    case GTE_DATA:
        if (c->ver.bad) {
            sim_fail(w, "guest flow %u: the stream from the host is wrong at byte %" PRIu64, i,
                     c->ver.bad_off);
            return;
        }
        /* A fast reader consumes at once; a slow one reads a chunk per
         * read_every, one timer at a time. */
        if (sp->read_chunk == 0) {
            gtcp_consume(&w->guest, w->q.now, c, c->rcv_used);
        } else if (c->rcv_used > 0 && !f->read_pending) {
            f->read_pending = true;
            sim_schedule(w, w->q.now + sp->read_every, EV_FLOW_TIMER, i, 2, NULL);
        }
        if (sp->rr > 1 && c->rcv_total >= f->written) {
            if (f->written < sp->send)
                app_write_more(w, f, sp);
            else
                app_maybe_close(w, i);
        }
        break;
    case GTE_ACKED:
        app_maybe_close(w, i);
        break;
    case GTE_PEER_FIN:
        f->fin_rcvd = true;
        app_maybe_close(w, i);
        break;
    case GTE_DONE:
        f->outcome = c->outcome;
        f->done_at = w->q.now;
        f->rcv_total = c->rcv_total;
        f->snd_acked = c->snd_una_off;
        f->fin_rcvd = c->fin_rcvd;
        f->fin_acked = c->fin_sent && c->snd_una == c->snd_max;
        f->verify_bad = c->ver.bad;
        f->salt_matched = sim_verifier_has_salt(&c->ver);
        f->learned_salt = c->ver.salt;
        f->conn = NULL;
        break;
    }
}

static void flow_timer(struct sim_world *w, uint32_t i, uint64_t what)
{
    struct sim_flow *f = &w->flows[i];
    const struct sim_flow_spec *sp = &w->cfg->flows[i];
    if (what == 2)
        f->read_pending = false;
    if (f->conn == NULL)
        return;
    if (what == 2) {
        app_read(w, i);
        return;
    }
    f->closed = true;
    if (sp->close == SG_ABORT)
        gtcp_abort(&w->guest, w->q.now, f->conn);
    else
        gtcp_close(&w->guest, w->q.now, f->conn);
}

static void flow_start(struct sim_world *w, uint32_t i)
{
    struct sim_flow *f = &w->flows[i];
    const struct sim_flow_spec *sp = &w->cfg->flows[i];
    f->started = true;
    f->start_at = w->q.now;
    f->salt = sim_mix64(w->cfg->seed ^ 0x6775657374ull ^ ((uint64_t)i << 24)) | 1;
    uint8_t ip[4];
    memcpy(ip, sp->dst.ip.addr, 4);
    struct gtcp_conn *c = gtcp_connect(&w->guest, w->q.now, ip, sp->dst.port, f->salt, i);
    if (c == NULL) {
        f->outcome = GO_NONE;
        return;
    }
    if (sp->rcvbuf)
        c->rcv_cap = sp->rcvbuf;
    f->conn = c;
    f->port = c->lport;
}

/* ---- snapshot and restore (`restore`, issue 12) ------------------------------------ */

/* Snapshot the core, restore the image into fresh memory in sockets-kept
 * mode on the same clock (VNAT_RESTORE_SAME_CLOCK), check that the restored core gives back the
 * same bytes, and go on with it: every host socket, token and timer is the embedder's as before, so
 * nothing that follows may differ for any flow (the swarm's outcome rules and the scenario's
 * expectations still hold). */
static void restore_core(struct sim_world *w)
{
    size_t len = vnat_snapshot_size(w->nat);
    uint8_t *img = len ? malloc(len) : NULL, *again = len ? malloc(len) : NULL;
    size_t got = 0, mem_size = 0;
    void *mem = NULL;
    vnat *nat = NULL;
    vnat_err e = img && again ? vnat_snapshot(w->nat, img, len, &got) : VNAT_E_NOMEM;
    if (e == VNAT_OK)
        e = vnat_restore_memory_size(img, got, &mem_size);
    if (e == VNAT_OK) {
        mem = aligned_alloc(16, (mem_size + 15) & ~(size_t)15);
        e = mem ? vnat_restore(mem, mem_size, &w->ops, w, img, got,
                               VNAT_RESTORE_SOCKETS_KEPT | VNAT_RESTORE_SAME_CLOCK, w->q.now, &nat)
                : VNAT_E_NOMEM;
    }
    size_t got2 = 0;
    if (e == VNAT_OK && (vnat_snapshot(nat, again, len, &got2) != VNAT_OK || got2 != got ||
                         memcmp(img, again, got) != 0)) {
        size_t at = 0;
        while (at < got && at < got2 && img[at] == again[at])
            at++;
        sim_fail(w,
                 "the restored core's snapshot differs from the one it was restored from "
                 "(%zu bytes, then %zu; first difference at byte %zu)",
                 got, got2, at);
        if (getenv("VNAT_SIM_SNAP_DUMP") != NULL) {
            FILE *d = fopen(getenv("VNAT_SIM_SNAP_DUMP"), "wb");
            if (d != NULL) {
                fwrite(img, 1, got, d);
                fwrite(again, 1, got2, d);
                fclose(d);
            }
        }
        e = VNAT_E_STATE;
    }
    if (e != VNAT_OK) {
        if (!w->failed)
            sim_fail(w, "snapshot and restore (sockets kept): %s", vnat_strerror(e));
        free(mem);
    } else {
        free(w->nat_mem); /* abandoned, as an embedder abandons it: no host call */
        w->nat = nat;
        w->nat_mem = mem;
        w->restores++;
        if (got > w->snapshot_bytes)
            w->snapshot_bytes = got;
    }
    free(img);
    free(again);
}

static void schedule_restore(struct sim_world *w, uint64_t at)
{
    const struct sim_config *c = w->cfg;
    if (c->restore_count == 0 || w->restores < c->restore_count)
        sim_schedule(w, at, EV_RESTORE, 0, 0, NULL);
}

/* ---- the run ---------------------------------------------------------------------- */

/* Returns false for an event that turned out to have nothing to do (a
 * superseded tick), so the run's end time is that of its last real event. */
static bool dispatch(struct sim_world *w, const struct sim_event *ev)
{
    switch (ev->kind) {
    case EV_TO_CORE: {
        struct sim_frame *f = ev->ptr;
        vnat_err e = vnat_on_guest_frame(w->nat, w->q.now, f->data, f->len);
        frame_put(w, f);
        core_after(w, e, "vnat_on_guest_frame", VNAT_TOKEN_NONE);
        break;
    }
    case EV_TO_GUEST: {
        struct sim_frame *f = ev->ptr;
        w->to_guest_inflight--;
        sim_inbound_to_guest(w, f->data, f->len);
        if (!gsvc_on_frame(w, f->data, f->len))
            gtcp_on_frame(&w->guest, w->q.now, f->data, f->len);
        frame_put(w, f);
        if (w->link_blocked && !w->link_event_pending) {
            w->link_blocked = false;
            w->link_event_pending = true;
            sim_schedule(w, w->q.now, EV_LINK_WRITABLE, 0, 0, NULL);
        }
        break;
    }
    case EV_LINK_WRITABLE: {
        w->link_event_pending = false;
        vnat_err e = vnat_on_link_writable(w->nat, w->q.now);
        core_after(w, e, "vnat_on_link_writable", VNAT_TOKEN_NONE);
        break;
    }
    case EV_TICK: {
        if (ev->id != w->tick_gen)
            return false;
        w->tick_at = 0;
        uint64_t d = vnat_next_deadline(w->nat);
        if (d <= w->q.now) {
            vnat_err e = vnat_on_tick(w->nat, w->q.now);
            core_after(w, e, "vnat_on_tick", VNAT_TOKEN_NONE);
            if (vnat_next_deadline(w->nat) <= w->q.now)
                sim_fail(w, "the core's next deadline is still due after a tick");
        } else {
            schedule_tick(w);
            return false;
        }
        break;
    }
    case EV_GUEST_TIMER:
        gtcp_on_timer(&w->guest, w->q.now, ev->arg, (uint32_t)ev->id);
        break;
    case EV_FLOW_START:
        flow_start(w, ev->arg);
        break;
    case EV_FLOW_TIMER:
        flow_timer(w, ev->arg, ev->id);
        break;
    case EV_HOST_CONNECT:
    case EV_HOST_PUMP:
    case EV_HOST_NOTIFY:
    case EV_HOST_DGRAM:
        sim_host_on_event(w, ev);
        break;
    case EV_SPURIOUS:
        sim_host_spurious(w);
        break;
    case EV_ARP_PROBE:
        gtcp_arp_request(&w->guest, w->q.now, w->cfg->core.gateway_ip.addr);
        break;
    case EV_SVC:
        gsvc_on_event(w, ev);
        break;
    case EV_INBOUND:
        sim_inbound_on_event(w, ev);
        break;
    case EV_RESTORE:
        if (w->q.len == 0)
            return false; /* nothing else is pending: the run is over */
        restore_core(w);
        if (!w->failed) {
            /* The next round: after `every`, or at the next event if none
             * comes sooner (through an idle stretch, no empty rounds). */
            uint64_t next = w->q.now + w->cfg->restore_every, first = sim_queue_peek_time(&w->q);
            schedule_restore(w, first > next ? first : next);
        }
        break;
    default:
        break;
    }
    return true;
}

static const char *fmt_time(char *buf, size_t cap, uint64_t ns)
{
    snprintf(buf, cap, "%" PRIu64 ".%06" PRIu64 "s", ns / SIM_S, (ns % SIM_S) / 1000);
    return buf;
}

static const struct sim_remote *remote_by_guest_salt(const struct sim_world *w, uint64_t salt)
{
    for (uint32_t i = 0; i < w->host.n_remotes; i++) {
        const struct sim_remote *r = &w->host.remotes[i];
        if (sim_verifier_has_salt(&r->ver) && r->ver.salt == salt)
            return r;
    }
    return NULL;
}

/* Exactly once, in order, unless both ends saw a reset. */
static void end_checks(struct sim_world *w)
{
    const struct sim_config *cfg = w->cfg;
    for (uint32_t i = 0; i < cfg->n_flows && !w->failed; i++) {
        const struct sim_flow *f = &w->flows[i];
        const struct sim_remote *r = remote_by_guest_salt(w, f->salt);
        if (f->outcome == GO_COMPLETE) {
            if (r == NULL) {
                sim_fail(w, "flow %u completed but no host endpoint received its stream", i);
            } else if (r->received != f->written || !r->saw_eof) {
                sim_fail(w,
                         "flow %u completed but the host got %" PRIu64 " of %" PRIu64
                         " bytes (eof %d)",
                         i, r->received, f->written, r->saw_eof);
            }
        }
        /* f->rcv_total is copied at GTE_DONE; a flow still open at the end
         * (CLOSE_WAIT after a lost RST) counts in its connection. */
        uint64_t rcv_total = f->conn ? f->conn->rcv_total : f->rcv_total;
        if (f->fin_rcvd && r != NULL && (rcv_total != r->produced || !r->remote_closed))
            sim_fail(w,
                     "flow %u saw FIN after %" PRIu64 " bytes, but the host end produced %" PRIu64
                     " (closed %d)",
                     i, rcv_total, r->produced, r->remote_closed);
    }
    for (uint32_t k = 0; k < w->host.n_remotes && !w->failed; k++) {
        const struct sim_remote *r = &w->host.remotes[k];
        if (!r->saw_eof || r->did_reset || r->inbound) /* inbound.c checks its clients */
            continue;
        if (!sim_verifier_has_salt(&r->ver)) {
            sim_fail(w, "a host endpoint saw a clean EOF after only %" PRIu64 " bytes",
                     r->received);
            break;
        }
        uint32_t i;
        for (i = 0; i < cfg->n_flows; i++)
            if (w->flows[i].salt == r->ver.salt)
                break;
        if (i == cfg->n_flows) {
            sim_fail(w, "a host endpoint got a stream no guest flow sent");
            break;
        }
        if (r->received != w->flows[i].written)
            sim_fail(w,
                     "flow %u: the host saw a clean EOF after %" PRIu64 " of %" PRIu64
                     " bytes (the guest %s)",
                     i, r->received, w->flows[i].written, gtcp_outcome_name(w->flows[i].outcome));
    }
    sim_inbound_end_checks(w);
    if (w->failed || w->time_limit_hit)
        return;
    /* Everything closed and every timeout passed. */
    struct vnat_stats st;
    vnat_get_stats(w->nat, &st, sizeof st);
    if (st.flows_live != 0) {
        char dump[2048];
        vnat_dump_flows(w->nat, dump, sizeof dump);
        sim_fail(w, "%" PRIu64 " flows remain in the core after the run drained:\n%s",
                 st.flows_live, dump);
        return;
    }
    uint32_t open_tcp = 0;
    for (uint32_t k = 0; k < w->host.cap; k++)
        if (w->host.socks[k].used && w->host.socks[k].kind != HS_LISTEN &&
            !w->host.socks[k].bound) /* a forward's listener stays until removed */
            open_tcp++;
    if (open_tcp != 0)
        sim_fail(w, "%u host sockets remain open after the run drained", open_tcp);
}

bool sim_policy_denies(const struct vnat_config *c, uint8_t proto, const struct vnat_sockaddr *dst)
{
    /* The egress rules as docs/services.md states them: first match wins,
     * no match allows, ICMP is port 0. (The swarm's rules cover addresses
     * the core translates to themselves.) */
    uint16_t port = proto == VNAT_PROTO_ICMP ? 0 : dst->port;
    for (uint32_t i = 0; i < c->n_rules; i++) {
        const struct vnat_rule *r = &c->rules[i];
        if (r->proto != VNAT_PROTO_ANY && r->proto != proto)
            continue;
        if (port < r->port_lo || port > r->port_hi)
            continue;
        uint32_t a = (uint32_t)dst->ip.addr[0] << 24 | (uint32_t)dst->ip.addr[1] << 16 |
                     (uint32_t)dst->ip.addr[2] << 8 | dst->ip.addr[3];
        uint32_t n = (uint32_t)r->net.addr[0] << 24 | (uint32_t)r->net.addr[1] << 16 |
                     (uint32_t)r->net.addr[2] << 8 | r->net.addr[3];
        uint32_t mask = r->prefix ? ~0u << (32 - r->prefix) : 0;
        if ((a & mask) != (n & mask))
            continue;
        return r->action == VNAT_RULE_DENY;
    }
    return false;
}

const struct sim_dest *sim_find_dest(const struct sim_config *cfg, const struct vnat_sockaddr *a)
{
    for (uint32_t k = 0; k < cfg->n_dests; k++)
        if (memcmp(&cfg->dests[k].addr.ip, &a->ip, sizeof a->ip) == 0 &&
            (cfg->dests[k].addr.port == 0 || cfg->dests[k].addr.port == a->port))
            return &cfg->dests[k];
    return &cfg->default_dest;
}

/* Swarm: each flow's outcome must be one its destination and the run's
 * limits allow; then the guest services' and inbound clients' outcomes. */
static void outcome_checks(struct sim_world *w)
{
    const struct sim_config *cfg = w->cfg;
    bool lossy = cfg->to_core.loss_ppm || cfg->to_guest.loss_ppm || cfg->to_core.corrupt_ppm ||
                 cfg->to_guest.corrupt_ppm;
    /* The core sends a RST once (RFC 9293 never retransmits one): lost on
     * the wire, or refused by a full guest link, which loses a frame just
     * the same (swarm seed 722: a clean link whose queue was full when the
     * host's reset came; scenario rst_refused_by_full_link_is_resent, where it is now resent). */
    bool rst_lost = lossy || w->l_to_guest.refused != 0;
    /* Everything that may hold a TCP flow or a host socket at once: the
     * guest's flows, the inbound clients, the datagram applications'
     * sockets, the forwards' listeners (all zero without services). */
    uint64_t inbound = sim_inbound_clients(cfg);
    uint64_t tcp_total = cfg->n_flows + inbound;
    uint64_t socks_total =
        cfg->n_flows + inbound + gsvc_sockets_needed(cfg) + sim_inbound_forwards(cfg);
    bool sock_limits = cfg->max_sockets < socks_total;
    /* The budgets the core derives from max_flows (vnat.h), as in force. */
    struct vnat_config eff;
    if (vnat_config_effective(&cfg->core, &eff) != VNAT_OK)
        eff = cfg->core;
    bool tcp_limits = eff.max_tcp_flows < tcp_total || eff.max_flows < cfg->n_flows;
    /* The SYN rate limit applies to the guest's SYNs only (tcp.c). */
    bool limits = tcp_limits || cfg->core.syn_rate_per_sec != 0 || sock_limits;
    for (uint32_t i = 0; i < cfg->n_flows && !w->failed; i++) {
        const struct sim_flow *f = &w->flows[i];
        const struct sim_flow_spec *sp = &cfg->flows[i];
        const struct sim_dest *d = NULL;
        for (uint32_t k = 0; k < cfg->n_dests; k++)
            if (memcmp(&cfg->dests[k].addr.ip, &sp->dst.ip, sizeof sp->dst.ip) == 0 &&
                (cfg->dests[k].addr.port == 0 || cfg->dests[k].addr.port == sp->dst.port)) {
                d = &cfg->dests[k];
                break;
            }
        if (d == NULL)
            d = &cfg->default_dest;
        unsigned ok = 0; /* bit per outcome */
        bool denied = sim_policy_denies(&cfg->core, VNAT_PROTO_TCP, &sp->dst);
        if (!denied && (d->connect == SC_HOSTUNREACH || d->connect == SC_NETUNREACH ||
                        d->connect == SC_FAIL_NOW)) {
            /* The host could not reach it: ICMP host or net unreachable for
             * the guest's SYN (tcp.c connect_failed), lost like a RST. If the
             * host says so only after connect_timeout, a connect the guest
             * did not yet keep alive with a second SYN ends first, silently,
             * and so may every new one: the guest times out by itself. */
            uint64_t ct = cfg->core.connect_timeout_ns ? cfg->core.connect_timeout_ns
                                                       : 3 * SIM_S; /* the default */
            bool late = d->latency >= ct;
            ok = 1u << GO_UNREACHABLE | (rst_lost || late ? 1u << GO_TIMEOUT : 0);
            if (limits)
                ok |= 1u << GO_REFUSED;
        } else if (!denied && d->connect == SC_BLACKHOLE) {
            /* The host never answers: the core sends nothing and the guest
             * gives up by itself; a limit may refuse a SYN first. */
            ok = 1u << GO_TIMEOUT | (limits ? 1u << GO_REFUSED : 0);
        } else if (denied || d->connect != SC_ACCEPT) {
            /* Refused by the policy (a RST, before any limit is looked at)
             * or by the destination; never connected. On a lossy link the
             * SYN or the RST may be lost until the guest gives up, and a
             * RST refused by a full link is lost the same way. */
            ok = 1u << GO_REFUSED | (rst_lost ? 1u << GO_TIMEOUT : 0);
        } else {
            bool remote_resets = d->reset_after && d->reset_after < sp->send;
            if (sp->close == SG_ABORT)
                ok |= 1u << GO_ABORTED;
            if (remote_resets)
                ok |= 1u << GO_RESET;
            if (sp->close == SG_NEVER)
                ok |= 1u << GO_RESET | (rst_lost ? 1u << GO_NONE : 0);
            else if (sp->close != SG_ABORT && !remote_resets)
                ok |= 1u << GO_COMPLETE;
            /* A limit refuses a SYN with one RST; if every SYN's RST is
             * lost (swarm seed 105969: seven, each refused by a full link)
             * the guest gives up before it ever connects. */
            if (limits)
                ok |= 1u << GO_REFUSED | (rst_lost && !f->established ? 1u << GO_TIMEOUT : 0);
            /* The guest gives FIN_WAIT_2 up after fin_wait_2_ns of silence
             * (gtcp.c), as a real stack gives up an orphaned connection.
             * With our FIN acknowledged, two destinations may rightly stay
             * silent that long: a paced reader that closes only after
             * reading its whole send buffer, slower than that bound (the
             * core cannot forward a FIN it does not have yet), and, when a
             * frame may be lost, one that reset (the core sends its RST once, as
             * RFC 9293 says; a FIN_WAIT_2 guest sends nothing that would
             * draw another). A FIN never acknowledged stays a failure. */
            uint64_t backlog = d->sndbuf < sp->send ? d->sndbuf : sp->send;
            bool slow_drain = d->read_chunk != 0 &&
                              (backlog + d->read_chunk - 1) / d->read_chunk * d->read_every >=
                                  cfg->guest.fin_wait_2_ns;
            if (f->fin_acked && (slow_drain || (rst_lost && remote_resets)))
                ok |= 1u << GO_TIMEOUT;
        }
        if (!(ok & (1u << f->outcome)))
            sim_fail(w, "flow %u to %u.%u.%u.%u:%u ended %s, which its destination does not allow",
                     i, sp->dst.ip.addr[0], sp->dst.ip.addr[1], sp->dst.ip.addr[2],
                     sp->dst.ip.addr[3], sp->dst.port, gtcp_outcome_name(f->outcome));
    }
    /* A destination under a deny rule for every protocol the run sends it
     * is never contacted, whatever the link and the limits. */
    for (uint32_t k = 0; k < cfg->n_dests && !w->failed; k++) {
        const struct sim_dest *d = &cfg->dests[k];
        struct vnat_sockaddr probe = d->addr;
        bool all = true;
        for (uint32_t port = 0; port <= 120 && all; port++) {
            probe.port = (uint16_t)port;
            all = sim_policy_denies(&cfg->core, VNAT_PROTO_TCP, &probe) &&
                  sim_policy_denies(&cfg->core, VNAT_PROTO_UDP, &probe);
        }
        all = all && (d->addr.port != 0 || sim_policy_denies(&cfg->core, VNAT_PROTO_ICMP, &probe));
        const struct sim_dest_stats *ds = &w->host.dstats[k];
        uint64_t contacts = ds->connects + ds->dgram_sockets + ds->datagrams + ds->echoes;
        if (all && contacts != 0)
            sim_fail(w,
                     "destination %u.%u.%u.%u is denied by the rules but was contacted %" PRIu64
                     " times",
                     d->addr.ip.addr[0], d->addr.ip.addr[1], d->addr.ip.addr[2], d->addr.ip.addr[3],
                     contacts);
    }
    if (w->failed)
        return;
    /* Replies the guest's datagram applications and the inbound UDP clients
     * must get: every one on a clean link; otherwise each frame the link
     * lost, corrupted or refused, each datagram a full socket queue dropped,
     * can cost at most one (a request and its reply are one exchange, and
     * no other loss exists in the simulator). A limit that bites may cost
     * any number. */
    struct sim_svc_bounds b;
    uint64_t dropped = 0;
    if (sim_inbound_metric(w, "inbound.datagrams_dropped", &dropped) != 1)
        dropped = 0;
    /* Datagram services need host sockets only (the flow table was sized
     * for them); inbound TCP also needs TCP flows. */
    b.limits = sock_limits;
    b.inbound_limits = sock_limits || tcp_limits;
    b.lossy = lossy;
    b.damage = w->l_to_core.lost + w->l_to_guest.lost + w->l_to_core.corrupted +
               w->l_to_guest.corrupted + w->l_to_guest.refused + w->l_to_core.refused +
               w->host.dgram_overflow + dropped;
    b.clean = b.damage == 0;
    b.dgram_budget = w->dgram_damage + w->host.dgram_overflow + dropped;
    /* New guest UDP and ICMP flows have a rate limit of their own (the
     * SYN rate, its own bucket): each refused one may cost its datagrams. */
    if (cfg->core.syn_rate_per_sec != 0)
        b.limits = true;
    uint64_t missing = gsvc_outcome_checks(w, &b);
    if (!w->failed)
        missing += sim_inbound_outcome_checks(w, &b);
    /* Only frames other than TCP count here: bulk TCP on a lossy link
     * must not excuse a lost datagram. (Inbound adds only without limits.) */
    uint64_t budget = b.dgram_budget;
    if (!w->failed && !b.limits && missing > budget)
        sim_fail(w,
                 "%" PRIu64
                 " datagram exchanges of the services went unanswered, more than the %" PRIu64
                 " non-TCP frames the link lost, corrupted or refused and datagrams queues dropped",
                 missing, budget);
}

static const char *const expect_ops[] = {"==", "!=", "<", "<=", ">", ">="};

static bool expect_holds(uint8_t op, uint64_t a, uint64_t b)
{
    switch (op) {
    case SE_EQ:
        return a == b;
    case SE_NE:
        return a != b;
    case SE_LT:
        return a < b;
    case SE_LE:
        return a <= b;
    case SE_GT:
        return a > b;
    case SE_GE:
        return a >= b;
    }
    return false;
}

static int check_expectations(struct sim_world *w, FILE *report)
{
    int failed = 0;
    for (uint32_t i = 0; i < w->cfg->n_expects; i++) {
        const struct sim_expect *e = &w->cfg->expects[i];
        uint64_t v;
        if (!sim_metric(w, e->metric, &v)) {
            if (report)
                fprintf(report, "  FAIL line %d: unknown metric '%s'\n", e->line, e->metric);
            failed++;
            continue;
        }
        if (!expect_holds(e->op, v, e->value)) {
            if (report)
                fprintf(report, "  FAIL line %d: expected %s %s %" PRIu64 ", got %" PRIu64 "\n",
                        e->line, e->metric, expect_ops[e->op], e->value, v);
            failed++;
        }
    }
    return failed;
}

static void world_free(struct sim_world *w)
{
    struct sim_event ev;
    while (sim_queue_pop(&w->q, &ev)) {
        if (ev.kind == EV_TO_CORE || ev.kind == EV_TO_GUEST)
            frame_put(w, ev.ptr);
        else if (ev.kind == EV_HOST_DGRAM || ev.kind == EV_INBOUND)
            free(ev.ptr);
    }
    while (w->free_frames) {
        struct sim_frame *f = w->free_frames;
        w->free_frames = f->next;
        free(f);
    }
    sim_queue_free(&w->q);
    sim_host_free(w);
    gsvc_free(w);
    sim_inbound_free(w);
    gtcp_free(&w->guest);
    free(w->flows);
    free(w->nat_mem);
}

/* Where each unfinished guest flow stands: the first thing to look at. */
static void report_unfinished(const struct sim_world *w, FILE *report)
{
    unsigned shown = 0;
    for (uint32_t i = 0; i < w->cfg->n_flows && shown < 10; i++) {
        const struct sim_flow *f = &w->flows[i];
        const struct gtcp_conn *c = f->conn;
        if (c == NULL)
            continue;
        shown++;
        fprintf(report,
                "  flow %u unfinished: %s, sent %" PRIu64 "/%" PRIu64 " acked, received %" PRIu64
                ", peer window %u, rto %" PRIu64 "ms, retries %u, fin sent %d rcvd %d"
                ", una %u nxt %u max %u\n",
                i, gtcp_state_name(c->state), c->snd_una_off, c->snd_limit, c->rcv_total,
                c->snd_wnd, c->rto / SIM_MS, c->retries, c->fin_sent, c->fin_rcvd, c->snd_una,
                c->snd_nxt, c->snd_max);
    }
}

static void report_flows(const struct sim_world *w, FILE *report)
{
    const struct sim_config *cfg = w->cfg;
    static const char *const closes[] = {"sent", "eof", "never", "abort"};
    for (uint32_t i = 0; i < cfg->n_flows; i++) {
        const struct sim_flow *f = &w->flows[i];
        const struct sim_flow_spec *sp = &cfg->flows[i];
        fprintf(report,
                "  flow %3u port %5u -> %u.%u.%u.%u:%u send %" PRIu64
                " rr %u close %s hold %" PRIu64 "ms: %s at +%" PRIu64 "ms, sent %" PRIu64
                " received %" PRIu64 "\n",
                i, f->port, sp->dst.ip.addr[0], sp->dst.ip.addr[1], sp->dst.ip.addr[2],
                sp->dst.ip.addr[3], sp->dst.port, sp->send, sp->rr, closes[sp->close],
                sp->hold / SIM_MS, gtcp_outcome_name(f->outcome),
                f->outcome ? (f->done_at - f->start_at) / SIM_MS : 0, f->snd_acked,
                f->conn ? f->conn->rcv_total : f->rcv_total);
    }
    for (uint32_t k = 0; k < cfg->n_dests; k++) {
        const struct sim_dest *d = &cfg->dests[k];
        fprintf(report,
                "  dest %u.%u.%u.%u:%u connect %u echo %d greeting %" PRIu64 " after_eof %" PRIu64
                " reset_after %" PRIu64 " rclose %u sndbuf %u rcvbuf %u read %u/%" PRIu64 "us\n",
                d->addr.ip.addr[0], d->addr.ip.addr[1], d->addr.ip.addr[2], d->addr.ip.addr[3],
                d->addr.port, d->connect, d->echo, d->greeting, d->after_eof, d->reset_after,
                d->rclose, d->sndbuf, d->rcvbuf, d->read_chunk, d->read_every / 1000);
    }
    fprintf(report,
            "  link: lost %" PRIu64 "/%" PRIu64 " corrupted %" PRIu64 "/%" PRIu64
            " refused %" PRIu64 "/%" PRIu64 " (to core/to guest); host datagram overflow %" PRIu64
            "; max_sockets %u max_tcp_flows %u max_flows %u syn_rate %u\n",
            w->l_to_core.lost, w->l_to_guest.lost, w->l_to_core.corrupted, w->l_to_guest.corrupted,
            w->l_to_core.refused, w->l_to_guest.refused, w->host.dgram_overflow, cfg->max_sockets,
            cfg->core.max_tcp_flows, cfg->core.max_flows, cfg->core.syn_rate_per_sec);
    gsvc_report(w, report);
    sim_inbound_report(w, report);
}

int sim_run(const struct sim_config *cfg, FILE *trace_text, FILE *trace_bin, struct sim_result *res,
            FILE *report)
{
    struct sim_world *w = calloc(1, sizeof *w);
    memset(res, 0, sizeof *res);
    if (w == NULL)
        return 1;
    w->cfg = cfg;
    w->trace_text = trace_text;
    w->trace_bin = trace_bin;
    sim_pattern_init();
    sim_rng_seed(&w->rng, cfg->seed);
    vnat_trace_hash_init(&w->th);
    vnat_trace_hash_init(&w->th_kept);
    if (trace_bin)
        vnat_trace_write_header(trace_bin);
    w->frame_cap = cfg->core.mtu + VW_ETH_HLEN + 64;
    w->frames_max = cfg->link_queue * 4 + 65536;
    w->flows = calloc(cfg->n_flows ? cfg->n_flows : 1, sizeof *w->flows);
    struct gtcp_cfg gc = cfg->guest;
    gc.mtu = cfg->core.mtu;
    memcpy(gc.mac, cfg->guest_mac_set ? cfg->guest_mac : cfg->core.guest_mac, 6);
    memcpy(gc.peer_mac, cfg->core.gateway_mac, 6);
    memcpy(gc.ip, cfg->core.guest_ip.addr, 4);
    gc.isn_seed = sim_mix64(cfg->seed ^ 0x69736eull);
    /* Every frame from the core is checked before the link; the guest need
     * not check again unless the link may corrupt it on the way. */
    gc.trust_l4_csum = cfg->to_guest.corrupt_ppm == 0;
    if (gc.max_conns < cfg->n_flows + 16)
        gc.max_conns = cfg->n_flows + 16;
    gc.max_conns += sim_inbound_clients(cfg);
    const struct gtcp_ops gops = {g_frame_alloc, g_frame_send, g_set_timer, g_on_event, g_on_udp};
    if (w->flows == NULL || sim_queue_init(&w->q, 1024, 1u << 24, cfg->start_time) != 0 ||
        sim_host_init(w) != 0 || gtcp_init(&w->guest, &gc, &gops, w) != 0) {
        snprintf(res->fail, sizeof res->fail, "out of memory setting up the run");
        world_free(w);
        free(w);
        return 1;
    }
    if (sim_inbound_init(w) != 0)
        sim_fail(w, "out of memory (or too many guest ports) for inbound forwarding");
    sim_host_ops(&w->ops);
    w->ops.guest_send = op_guest_send;
    w->ops.log = world_log;
    w->ops.panic = world_panic;
    /* The simulator is deterministic by design: seed 0 (a scenario's
     * `seed 0`) is meant, so it says so (vnat.h, vnat_config.seed). */
    struct vnat_config core = cfg->core;
    if (core.seed == 0)
        core.flags |= VNAT_F_DETERMINISTIC_SEED;
    /* A frame from another MAC is spoofed only if the core knows the
     * guest's: a learning core takes the first frame's source as the
     * guest's, and a spoofer may speak first. */
    if (gsvc_spoofs_mac(cfg))
        core.flags |= VNAT_F_GUEST_MAC_FIXED;
    size_t size = vnat_memory_size(&core);
    if (size == 0) {
        sim_fail(w, "vnat_memory_size rejects the configuration");
    } else {
        w->nat_mem = aligned_alloc(16, (size + 15) & ~(size_t)15);
        vnat_err e =
            w->nat_mem ? vnat_create(&core, &w->ops, w, w->nat_mem, size, &w->nat) : VNAT_E_NOMEM;
        if (e != VNAT_OK)
            sim_fail(w, "vnat_create: %s", vnat_strerror(e));
    }
    if (!w->failed) {
        for (uint32_t i = 0; i < cfg->n_flows; i++)
            sim_schedule(w, cfg->start_time + cfg->flows[i].start, EV_FLOW_START, i, 0, NULL);
        if (cfg->arp_probe)
            sim_schedule(w, cfg->start_time, EV_ARP_PROBE, 0, 0, NULL);
        if (gsvc_init(w) != 0)
            sim_fail(w, "out of memory for the guest's datagram applications");
        schedule_tick(w);
        if (cfg->restore_every)
            schedule_restore(w, cfg->start_time +
                                    (cfg->restore_start ? cfg->restore_start : cfg->restore_every));
    }
    uint64_t limit = cfg->start_time + cfg->duration;
    struct sim_event ev;
    while (!w->stop) {
        if (sim_queue_peek_time(&w->q) > limit || w->events >= cfg->max_events) {
            if (w->q.len > 0)
                w->time_limit_hit = true;
            break;
        }
        if (!sim_queue_pop(&w->q, &ev))
            break;
        w->events++;
        if (dispatch(w, &ev))
            w->end_time = w->q.now;
    }
    if (w->time_limit_hit && !cfg->allow_time_limit && !w->failed) {
        char t[32], stuck[256] = "";
        for (uint32_t i = 0; i < cfg->n_flows; i++) {
            const struct gtcp_conn *c = w->flows[i].conn;
            if (c != NULL) {
                snprintf(stuck, sizeof stuck,
                         "; first unfinished: flow %u %s, acked %" PRIu64 "/%" PRIu64
                         ", received %" PRIu64 ", peer window %u",
                         i, gtcp_state_name(c->state), c->snd_una_off, c->snd_limit, c->rcv_total,
                         c->snd_wnd);
                break;
            }
        }
        struct vnat_stats cs;
        vnat_get_stats(w->nat, &cs, sizeof cs);
        sim_fail(w,
                 "the run did not drain within %s of virtual time (%zu events pending, %" PRIu64
                 " core flows live)%s",
                 fmt_time(t, sizeof t, cfg->duration), w->q.len, cs.flows_live, stuck);
    }
    if (!w->failed && w->nat)
        end_checks(w);
    if (!w->failed && w->nat && cfg->check_outcomes)
        outcome_checks(w);
    if (w->nat)
        vnat_get_stats(w->nat, &w->core_stats, sizeof w->core_stats);
    int exp_failed = 0;
    if (report && w->failed)
        fprintf(report, "  FAIL: %s\n", w->fail);
    if (report && (w->failed || w->time_limit_hit))
        report_unfinished(w, report);
    if (report && cfg->verbose)
        report_flows(w, report);
    if (w->nat && !(w->failed && cfg->n_expects == 0))
        exp_failed = check_expectations(w, report);
    res->ok = !w->failed && exp_failed == 0;
    if (w->failed)
        snprintf(res->fail, sizeof res->fail, "%s", w->fail);
    else if (exp_failed)
        snprintf(res->fail, sizeof res->fail, "%d expectation(s) failed", exp_failed);
    res->hash = vnat_trace_hash_final(&w->th);
    res->hash_kept = vnat_trace_hash_final(&w->th_kept);
    res->restores = w->restores;
    res->events = w->events;
    res->records = w->records;
    res->sim_time = w->end_time - cfg->start_time;
    res->flows = cfg->n_flows;
    for (uint32_t i = 0; i < cfg->n_flows; i++) {
        switch (w->flows[i].outcome) {
        case GO_COMPLETE:
            res->complete++;
            break;
        case GO_RESET:
            res->reset++;
            break;
        case GO_REFUSED:
            res->refused++;
            break;
        case GO_TIMEOUT:
            res->timeout++;
            break;
        case GO_ABORTED:
            res->aborted++;
            break;
        case GO_UNREACHABLE:
            res->unreachable++;
            break;
        default:
            res->pending++;
            break;
        }
    }
    res->bytes_to_host = w->core_stats.bytes_guest_to_host;
    res->bytes_to_guest = w->core_stats.bytes_host_to_guest;
    world_free(w);
    free(w);
    return res->ok ? 0 : 1;
}

/* ---- metrics ------------------------------------------------------------------------ */

struct stat_field {
    const char *name;
    size_t off;
};

#define SF(f)                                                                                      \
    {                                                                                              \
#f, offsetof(struct vnat_stats, f)                                                         \
    }
static const struct stat_field stat_fields[] = {
    SF(frames_in),
    SF(frames_out),
    SF(frames_refused),
    SF(bytes_guest_to_host),
    SF(bytes_host_to_guest),
    SF(rst_from_guest),
    SF(tcp_flows_total),
    SF(udp_flows),
    SF(icmp_flows),
    SF(flows_live),
    SF(retransmits),
    SF(dup_acks_sent),
    SF(zero_window_probes),
    SF(time_backwards),
    SF(stale_tokens),
    SF(bad_host_results),
    SF(timers_fired),
    SF(dhcp_leases),
    SF(dns_queries),
    SF(dns_cache_hits),
    SF(arp_replies),
    SF(forwards_accepted),
    SF(dns_answers_unmatched),
    SF(dns_answers_duplicate),
    SF(flows_reclaimed),
    SF(tcp_connects_unreachable),
    SF(tcp_connects_timed_out),
    SF(guest_macs_learned),
    SF(udp_fragmented),
    SF(dns_truncated),
};
#undef SF

static bool core_metric(const struct vnat_stats *st, const char *name, uint64_t *out)
{
    for (size_t i = 0; i < sizeof stat_fields / sizeof stat_fields[0]; i++)
        if (strcmp(name, stat_fields[i].name) == 0) {
            memcpy(out, (const char *)st + stat_fields[i].off, sizeof *out);
            return true;
        }
    if (strncmp(name, "drops.", 6) == 0) {
        for (int i = 0; i < VNAT_DROP__COUNT; i++)
            if (strcmp(name + 6, vnat_drop_reason_name(i)) == 0) {
                *out = st->drops[i];
                return true;
            }
    }
    if (strncmp(name, "rst_sent.", 9) == 0) {
        for (int i = 0; i < VNAT_RST__COUNT; i++)
            if (strcmp(name + 9, vnat_rst_reason_name(i)) == 0) {
                *out = st->rst_sent[i];
                return true;
            }
    }
    if (strncmp(name, "tcp_flows.", 10) == 0) {
        for (int i = 0; i < VNAT_TCP__STATE_COUNT; i++)
            if (strcmp(name + 10, vnat_tcp_state_name(i)) == 0) {
                *out = st->tcp_flows_by_state[i];
                return true;
            }
    }
    return false;
}

static bool group_metric(const struct sim_world *w, uint32_t g, const char *m, uint64_t *out)
{
    const struct sim_config *cfg = w->cfg;
    uint64_t v = 0;
    bool is_max = strcmp(m, "max_done") == 0 || strcmp(m, "max_established") == 0;
    bool is_min = strcmp(m, "min_done") == 0 || strcmp(m, "min_established") == 0;
    if (is_min)
        v = UINT64_MAX;
    int outcome = -1;
    for (int o = 0; o < GO__COUNT; o++)
        if (strcmp(m, gtcp_outcome_name(o)) == 0)
            outcome = o;
    bool known = outcome >= 0 || is_max || is_min || strcmp(m, "flows") == 0 ||
                 strcmp(m, "bytes_sent") == 0 || strcmp(m, "bytes_received") == 0 ||
                 strcmp(m, "established") == 0;
    if (!known)
        return false;
    for (uint32_t i = 0; i < cfg->n_flows; i++) {
        if (g != 0 && cfg->flows[i].group != g)
            continue;
        const struct sim_flow *f = &w->flows[i];
        if (outcome >= 0) {
            v += f->outcome == outcome;
        } else if (strcmp(m, "flows") == 0) {
            v++;
        } else if (strcmp(m, "established") == 0) {
            v += f->established;
        } else if (strcmp(m, "bytes_sent") == 0) {
            v += f->snd_acked;
        } else if (strcmp(m, "bytes_received") == 0) {
            v += f->conn ? f->conn->rcv_total : f->rcv_total;
        } else {
            bool est = strstr(m, "established") != NULL;
            uint64_t t;
            if (est)
                t = f->established ? f->established_at - f->start_at : UINT64_MAX;
            else
                t = f->outcome != GO_NONE ? f->done_at - f->start_at : UINT64_MAX;
            if (is_max && t > v)
                v = t;
            if (is_min && t < v)
                v = t;
        }
    }
    *out = v;
    return true;
}

bool sim_metric(const struct sim_world *w, const char *name, uint64_t *out)
{
    if (strncmp(name, "core.", 5) == 0)
        return core_metric(&w->core_stats, name + 5, out);
    const char *dot = strchr(name, '.');
    if (dot == NULL)
        return false;
    size_t glen = (size_t)(dot - name);
    const char *m = dot + 1;
    if (glen == 4 && strncmp(name, "host", 4) == 0) {
        if (strcmp(m, "max_open") == 0)
            *out = w->host.max_open;
        else if (strcmp(m, "emfile") == 0)
            *out = w->host.refused_emfile;
        else if (strcmp(m, "connects") == 0)
            *out = w->host.connects;
        else if (strcmp(m, "partial_writes") == 0)
            *out = w->host.partial_writes;
        else if (strcmp(m, "open") == 0)
            *out = w->host.open;
        else
            return sim_host_metric(w, m, out);
        return true;
    }
    if (glen == 5 && strncmp(name, "guest", 5) == 0) {
        const struct gtcp_stats *g = &w->guest.st;
        if (strcmp(m, "bad_csum") == 0)
            *out = g->bad_csum;
        else if (strcmp(m, "rst_in") == 0)
            *out = g->rst_in;
        else if (strcmp(m, "rst_out") == 0)
            *out = g->rst_out;
        else if (strcmp(m, "arp_replies") == 0)
            *out = g->arp_replies;
        else if (strcmp(m, "frames_in") == 0)
            *out = g->frames_in;
        else if (strcmp(m, "frames_out") == 0)
            *out = g->frames_out;
        else
            return false;
        return true;
    }
    if (glen == 4 && strncmp(name, "link", 4) == 0) {
        if (strcmp(m, "refused") == 0)
            *out = w->l_to_guest.refused;
        else if (strcmp(m, "lost") == 0)
            *out = w->l_to_guest.lost + w->l_to_core.lost;
        else if (strcmp(m, "corrupted") == 0)
            *out = w->l_to_guest.corrupted + w->l_to_core.corrupted;
        else
            return false;
        return true;
    }
    if (glen == 3 && strncmp(name, "run", 3) == 0) {
        if (strcmp(m, "events") == 0)
            *out = w->events;
        else if (strcmp(m, "restores") == 0)
            *out = w->restores;
        else if (strcmp(m, "snapshot_bytes") == 0)
            *out = w->snapshot_bytes;
        else if (strcmp(m, "time") == 0)
            *out = w->end_time - w->cfg->start_time;
        else
            return false;
        return true;
    }
    if (gsvc_metric(w, name, out))
        return true;
    int inb = sim_inbound_metric(w, name, out);
    if (inb != 0)
        return inb > 0;
    for (uint32_t g = 0; g < w->cfg->n_groups; g++)
        if (strlen(w->cfg->groups[g].name) == glen &&
            strncmp(w->cfg->groups[g].name, name, glen) == 0)
            return group_metric(w, g, m, out);
    return false;
}
