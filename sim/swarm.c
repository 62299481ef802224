/*
 * swarm.c — the seed-driven configuration of a swarm run (VOPR style).
 *
 * Every choice is drawn from the one sim_rng, in a fixed order, so a seed
 * (or a fuzzer's bytes) names exactly one run: the core's limits and
 * timeouts, the MTU, the start time, the fault rates of each link direction,
 * the host's limits and misbehaviour, a handful of destinations with their
 * behaviours, and the flows with their applications. Combinations that
 * cannot finish by design (both ends waiting for the other's FIN) are never
 * drawn; everything else is fair game. Each flow's outcome is then checked
 * against what its destination and the run's limits allow.
 */
#include "sim.h"

#include <string.h>

static uint32_t pick_ppm(struct sim_rng *r, uint32_t max_ppm)
{
    /* Half the time a fault is off; otherwise up to max, skewed low. */
    if (sim_rng_below(r, 2) == 0)
        return 0;
    uint64_t a = sim_rng_below(r, max_ppm + 1);
    uint64_t b = sim_rng_below(r, max_ppm + 1);
    return (uint32_t)(a < b ? a : b);
}

static uint64_t pick_size(struct sim_rng *r)
{
    switch (sim_rng_below(r, 10)) {
    case 0:
    case 1:
    case 2:
    case 3:
        return sim_rng_range(r, 8, 512);
    case 4:
    case 5:
    case 6:
        return sim_rng_range(r, 8, 16 * 1024);
    case 7:
    case 8:
        return sim_rng_range(r, 8, 64 * 1024);
    default:
        return sim_rng_range(r, 8, 512 * 1024);
    }
}

static void swarm_dest(struct sim_rng *r, struct sim_dest *d, uint32_t k)
{
    d->addr.ip = vnat_ip4(198, 51, 100, (uint8_t)(1 + k));
    d->addr.port = (uint16_t)(80 + k);
    uint64_t roll = sim_rng_below(r, 100);
    d->connect = roll < 72   ? SC_ACCEPT
                 : roll < 80 ? SC_REFUSE
                 : roll < 84 ? SC_HOSTUNREACH
                 : roll < 87 ? SC_NETUNREACH
                 : roll < 90 ? SC_FAIL_NOW
                             : SC_BLACKHOLE;
    d->latency = sim_rng_range(r, 0, 20 * SIM_MS);
    if (d->connect == SC_HOSTUNREACH || d->connect == SC_NETUNREACH)
        d->latency = sim_rng_range(r, 0, 3 * SIM_S);
    d->owd = sim_rng_range(r, 0, 5 * SIM_MS);
    d->sndbuf = (uint32_t)sim_rng_range(r, 1, 1024 * 1024);
    d->rcvbuf = (uint32_t)sim_rng_range(r, 1, 1024 * 1024);
    if (sim_rng_below(r, 3) == 0) { /* tiny buffers: partial writes and backpressure */
        d->sndbuf = (uint32_t)sim_rng_range(r, 1, 4096);
        d->rcvbuf = (uint32_t)sim_rng_range(r, 1, 4096);
    }
    switch (sim_rng_below(r, 6)) {
    case 0: /* sink */
        break;
    case 1:
        d->echo = true;
        break;
    case 2: /* source after the guest's EOF */
        d->after_eof = pick_size(r);
        break;
    case 3: /* greeting, then half-close */
        d->greeting = pick_size(r);
        d->rclose = SR_SENT;
        break;
    case 4: /* greeting and a reply after EOF */
        d->greeting = pick_size(r);
        d->after_eof = pick_size(r);
        break;
    default: /* resets mid-stream */
        d->reset_after = sim_rng_range(r, 1, 64 * 1024);
        d->greeting = sim_rng_below(r, 2) ? pick_size(r) : 0;
        break;
    }
    if (sim_rng_below(r, 4) == 0) { /* slow reader */
        d->read_chunk = (uint32_t)sim_rng_range(r, 1, 16 * 1024);
        d->read_every = sim_rng_range(r, 10000, 20 * SIM_MS);
    }
}

void sim_swarm_config(struct sim_rng *r, uint64_t seed, struct sim_config *cfg)
{
    sim_config_init(cfg);
    snprintf(cfg->name, sizeof cfg->name, "swarm-%llu", (unsigned long long)seed);
    cfg->seed = seed;
    cfg->check_outcomes = true;
    struct vnat_config *c = &cfg->core;
    c->seed = sim_rng_u64(r);
    switch (sim_rng_below(r, 8)) {
    case 0:
        cfg->start_time = 0;
        break;
    case 1:
        cfg->start_time = (uint64_t)1 << 62;
        break;
    default:
        cfg->start_time = sim_rng_below(r, (uint64_t)1 << 40);
        break;
    }
    static const uint32_t mtus[] = {576, 1280, 1500, 1500, 9000, 65520};
    c->mtu = sim_rng_below(r, 8) == 0 ? (uint32_t)sim_rng_range(r, 576, 65520)
                                      : mtus[sim_rng_below(r, 6)];
    /* the guest link */
    struct sim_link_cfg *dirs[2] = {&cfg->to_core, &cfg->to_guest};
    bool clean = sim_rng_below(r, 3) == 0;
    for (int i = 0; i < 2; i++) {
        struct sim_link_cfg *l = dirs[i];
        l->delay = sim_rng_range(r, 1000, 5 * SIM_MS);
        l->jitter = sim_rng_below(r, 2) ? sim_rng_below(r, l->delay + 1) : 0;
        if (!clean) {
            l->loss_ppm = pick_ppm(r, 50000);
            l->dup_ppm = pick_ppm(r, 20000);
            l->reorder_ppm = pick_ppm(r, 50000);
            l->corrupt_ppm = pick_ppm(r, 10000);
        }
    }
    cfg->link_queue = (uint32_t)sim_rng_range(r, 4, 1024);
    /* the guest */
    struct gtcp_cfg *g = &cfg->guest;
    g->wscale = sim_rng_below(r, 4) == 0 ? -1 : (int)sim_rng_below(r, 15);
    g->offer_ts = sim_rng_below(r, 2);
    g->offer_sack = sim_rng_below(r, 2);
    g->rcvbuf = (uint32_t)sim_rng_range(r, 2048, 1024 * 1024);
    /* Like a real stack, never a scale that makes the whole buffer a zero
     * window. */
    while (g->wscale > 0 && (g->rcvbuf >> g->wscale) < 2048)
        g->wscale--;
    /* destinations */
    uint32_t n_dests = (uint32_t)sim_rng_range(r, 1, 6);
    for (uint32_t k = 0; k < n_dests; k++) {
        struct sim_dest *d = sim_config_add_dest(cfg);
        if (d == NULL)
            return;
        swarm_dest(r, d, k);
    }
    /* flows */
    uint32_t n_flows = sim_rng_below(r, 10) == 0 ? (uint32_t)sim_rng_range(r, 1, 200)
                                                 : (uint32_t)sim_rng_range(r, 1, 24);
    bool any_never = false;
    uint64_t spread = sim_rng_below(r, 2) ? 10 * SIM_MS : 2 * SIM_S;
    for (uint32_t i = 0; i < n_flows; i++) {
        struct sim_flow_spec *f = sim_config_add_flow(cfg);
        if (f == NULL)
            return;
        const struct sim_dest *d = &cfg->dests[sim_rng_below(r, n_dests)];
        f->dst = d->addr;
        f->start = sim_rng_below(r, spread);
        f->send = pick_size(r);
        if (d->reset_after && f->send <= d->reset_after)
            f->send = d->reset_after + 1 + sim_rng_below(r, 1024);
        if (d->echo && sim_rng_below(r, 2))
            f->rr = (uint32_t)sim_rng_range(r, 2, 8);
        f->hold = sim_rng_below(r, 3) ? 0 : sim_rng_below(r, 1 * SIM_S);
        uint64_t roll = sim_rng_below(r, 100);
        bool can_wait_eof = d->rclose == SR_SENT && !d->echo;
        if (roll < 10)
            f->close = SG_ABORT;
        else if (roll < 15)
            f->close = SG_NEVER;
        else if (roll < 45 && can_wait_eof)
            f->close = SG_EOF;
        else
            f->close = SG_SENT;
        if (f->close == SG_NEVER)
            any_never = true;
        if (sim_rng_below(r, 5) == 0) {
            f->rcvbuf = (uint32_t)sim_rng_range(r, 1, 64 * 1024);
            if (g->wscale > 0 && f->rcvbuf < (2048u << g->wscale))
                f->rcvbuf = 2048u << g->wscale;
            f->read_chunk = (uint32_t)sim_rng_range(r, 1, 8192);
            f->read_every = sim_rng_range(r, 10000, 20 * SIM_MS);
        }
    }
    /* the core's limits and timeouts */
    c->max_flows = (uint32_t)sim_rng_range(r, n_flows + 8, 2 * n_flows + 64);
    if (sim_rng_below(r, 4) == 0)
        c->max_tcp_flows = (uint32_t)sim_rng_range(r, 1, n_flows);
    if (sim_rng_below(r, 6) == 0)
        c->syn_rate_per_sec = (uint32_t)sim_rng_range(r, 1, 50);
    c->connect_timeout_ns = sim_rng_range(r, 500 * SIM_MS, 5 * SIM_S);
    if (any_never)
        c->tcp_idle_timeout_ns = sim_rng_range(r, 300 * SIM_S, 900 * SIM_S);
    /* the host */
    if (sim_rng_below(r, 8) == 0)
        cfg->max_sockets = (uint32_t)sim_rng_range(r, 1, n_flows);
    cfg->partial_ppm = sim_rng_below(r, 3) == 0 ? (uint32_t)sim_rng_below(r, 300000) : 0;
    cfg->spurious_ppm = sim_rng_below(r, 4) == 0 ? (uint32_t)sim_rng_below(r, 50000) : 0;
    cfg->duration = 6 * 3600 * SIM_S;
}
