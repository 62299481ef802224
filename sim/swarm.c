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

#include <stdarg.h>
#include <stdlib.h>
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

/* ---- guest services and inbound forwarding ---------------------------------- */

/* A swarm draw that the directive parsers reject is a simulator bug: stop
 * loudly rather than run a world other than the one drawn. */
static void directive(struct sim_config *cfg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void directive(struct sim_config *cfg, const char *fmt, ...)
{
    char line[512], why[256] = "";
    char *words[24];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    char saved[512];
    snprintf(saved, sizeof saved, "%s", line);
    /* The scenario files' grammar (parse.c); no file, so no FILE:LINE. */
    struct sim_parser p = {.err = why, .err_len = sizeof why};
    int n = sim_parse_words(&p, line, words, 24);
    int rc = n > 0 ? gsvc_directive(&p, cfg, words, n) : -1;
    if (rc == 0)
        rc = sim_inbound_directive(&p, cfg, words, n) == 0 ? 1 : -1;
    if (rc != 1) {
        fprintf(stderr, "swarm: drew a bad directive \"%s\": %s\n", saved, why);
        abort();
    }
}

static struct sim_dest *svc_dest(struct sim_config *cfg, uint8_t d3, uint16_t port)
{
    struct sim_dest *d = sim_config_add_dest(cfg);
    if (d == NULL)
        return NULL;
    d->addr.ip = vnat_ip4(198, 51, 100, d3);
    d->addr.port = port;
    return d;
}

#define SVC_ECHO 101   /* 198.51.100.101: answers UDP on any port, and pings */
#define SVC_SINK 102   /* takes datagrams, answers nothing */
#define SVC_REFUSE 103 /* ECONNREFUSED: port unreachable */
#define SVC_RULED 110  /* under the drawn egress rules; would echo */

/* Inbound streams: mostly small (the TCP world already moves bulk; these
 * keep the swarm's time budget), one in four up to 64 KiB. */
static uint64_t inbound_size(struct sim_rng *r)
{
    return sim_rng_below(r, 4) == 0 ? sim_rng_range(r, 8, 64 * 1024) : sim_rng_range(r, 8, 4096);
}

static void swarm_services(struct sim_rng *r, struct sim_config *cfg)
{
    struct vnat_config *c = &cfg->core;
    uint32_t mtu = c->mtu;
    uint32_t max_dgram = mtu - 28 < 1472 ? mtu - 28 : 1472;
    uint64_t extra_flows = 0; /* flow-table room the services need */
    /* 1. destinations: echo, sink, refusing, each with its delays */
    uint8_t kinds[3] = {SVC_ECHO, SVC_SINK, SVC_REFUSE};
    for (int k = 0; k < 3; k++) {
        struct sim_dest *d = svc_dest(cfg, kinds[k], 0);
        if (d == NULL)
            return;
        d->udp_echo = kinds[k] == SVC_ECHO;
        d->echo = true;
        d->connect = kinds[k] == SVC_REFUSE ? SC_REFUSE : SC_ACCEPT;
        d->latency = sim_rng_range(r, 0, 20 * SIM_MS);
        d->owd = sim_rng_range(r, 0, 5 * SIM_MS);
    }
    /* 2. egress rules: a deny for the ruled address (any / one protocol),
     * sometimes behind an allow for a port range; then traffic under them */
    bool ruled = sim_rng_below(r, 2) == 0;
    if (ruled) {
        struct sim_dest *d = svc_dest(cfg, SVC_RULED, 0);
        if (d == NULL)
            return;
        d->udp_echo = true;
        d->echo = true;
        static const char *const protos[] = {"any", "tcp", "udp", "icmp"};
        if (sim_rng_below(r, 3) == 0) {
            uint64_t lo = sim_rng_range(r, 1, 100);
            const char *proto = protos[sim_rng_below(r, 4)];
            uint64_t hi = lo + sim_rng_below(r, 50);
            directive(cfg, "rule allow %s 198.51.100.%u/32 ports=%llu-%llu", proto, SVC_RULED,
                      (unsigned long long)lo, (unsigned long long)hi);
        }
        const char *deny_proto = protos[sim_rng_below(r, 4)];
        unsigned deny_prefix = sim_rng_below(r, 2) ? 32 : 30;
        directive(cfg, "rule deny %s 198.51.100.%u/%u", deny_proto, SVC_RULED, deny_prefix);
        uint32_t n_tcp = (uint32_t)sim_rng_below(r, 4);
        for (uint32_t i = 0; i < n_tcp; i++) {
            struct sim_flow_spec *f = sim_config_add_flow(cfg);
            if (f == NULL)
                return;
            f->dst.ip = vnat_ip4(198, 51, 100, SVC_RULED);
            f->dst.port = (uint16_t)sim_rng_range(r, 1, 120);
            f->start = sim_rng_below(r, 2 * SIM_S);
            f->send = sim_rng_range(r, 8, 4096);
            extra_flows++;
        }
    }
    uint32_t n_dsts = ruled ? 4 : 3;
    /* 3. UDP flows */
    uint32_t n_udp = (uint32_t)sim_rng_below(r, 5);
    for (uint32_t i = 0; i < n_udp; i++) {
        uint32_t k = (uint32_t)sim_rng_below(r, n_dsts);
        uint32_t dgrams = (uint32_t)sim_rng_range(r, 1, 20);
        /* mostly quick, sometimes past the 30 s one-way timeout */
        uint64_t interval = sim_rng_below(r, 6) == 0 ? sim_rng_range(r, 1 * SIM_S, 40 * SIM_S)
                                                     : sim_rng_range(r, 100000, 50 * SIM_MS);
        uint64_t port = sim_rng_range(r, 1, 120);
        uint64_t size = sim_rng_range(r, 8, max_dgram);
        uint64_t start = sim_rng_below(r, 2 * SIM_S);
        directive(
            cfg, "udp u%u to=198.51.100.%u:%llu datagrams=%u size=%llu interval=%llu start=%llu", i,
            k < 3 ? kinds[k] : SVC_RULED, (unsigned long long)port, dgrams,
            (unsigned long long)size, (unsigned long long)interval, (unsigned long long)start);
        extra_flows++; /* one flow per source port at a time */
    }
    /* 4. DNS: 0..2 resolvers (the first sometimes refusing), the cache on or
     * off, 1..3 stubs; every resolver answers the same address */
    if (sim_rng_below(r, 2) == 0) {
        uint32_t n_res = sim_rng_below(r, 8) == 0 ? 0 : (uint32_t)sim_rng_range(r, 1, 2);
        bool first_refuses = sim_rng_below(r, 4) == 0;
        uint8_t ans[4] = {203, 0, 113, (uint8_t)sim_rng_range(r, 1, 254)};
        uint32_t ttl = (uint32_t)sim_rng_below(r, 4) == 0 ? 0 : (uint32_t)sim_rng_range(r, 1, 300);
        for (uint32_t k = 0; k < n_res && k < VNAT_MAX_DNS_SERVERS; k++) {
            struct sim_dest *d = sim_config_add_dest(cfg);
            if (d == NULL)
                return;
            d->addr.ip = vnat_ip4(192, 0, 2, (uint8_t)(53 + k));
            d->addr.port = 53;
            d->connect = k == 0 && first_refuses ? SC_REFUSE : SC_ACCEPT;
            d->dns = d->connect == SC_ACCEPT;
            d->dns_ttl = ttl;
            memcpy(d->dns_answer, ans, 4);
            d->latency = sim_rng_range(r, 0, 20 * SIM_MS);
            d->owd = sim_rng_range(r, 0, 5 * SIM_MS);
            c->dns_servers[c->n_dns_servers++] = d->addr;
        }
        if (sim_rng_below(r, 2))
            c->flags |= VNAT_F_DNS_CACHE;
        static const char *const names[] = {"www.example.com", "db.Example.NET",
                                            "a.b.c.example.org", "x.example"};
        uint32_t n_dns = (uint32_t)sim_rng_range(r, 1, 3);
        for (uint32_t i = 0; i < n_dns; i++) {
            uint32_t count = (uint32_t)sim_rng_range(r, 1, 10);
            const char *name = names[sim_rng_below(r, 4)];
            uint64_t interval = sim_rng_range(r, 1 * SIM_MS, 5 * SIM_S);
            uint64_t start = sim_rng_below(r, 2 * SIM_S);
            directive(cfg, "dns d%u name=%s count=%u interval=%llu start=%llu answer=%u.%u.%u.%u",
                      i, name, count, (unsigned long long)interval, (unsigned long long)start,
                      ans[0], ans[1], ans[2], ans[3]);
            extra_flows += count;
        }
    }
    /* 5. pings: to the echo, sink or ruled destination, or the DNS address
     * (answered by the core itself) */
    uint32_t n_ping = (uint32_t)sim_rng_below(r, 3);
    for (uint32_t i = 0; i < n_ping; i++) {
        uint64_t which = sim_rng_below(r, 4);
        char to[32];
        if (which == 3)
            snprintf(to, sizeof to, "10.0.2.3");
        else
            snprintf(to, sizeof to, "198.51.100.%u",
                     (unsigned)(which == 2 && ruled ? SVC_RULED
                                : which == 1        ? SVC_SINK
                                                    : SVC_ECHO));
        uint32_t count = (uint32_t)sim_rng_range(r, 1, 10);
        uint64_t size = sim_rng_range(r, 8, max_dgram);
        uint64_t interval = sim_rng_range(r, 1 * SIM_MS, 1 * SIM_S);
        uint64_t start = sim_rng_below(r, 2 * SIM_S);
        directive(cfg, "ping p%u to=%s count=%u size=%llu interval=%llu start=%llu", i, to, count,
                  (unsigned long long)size, (unsigned long long)interval,
                  (unsigned long long)start);
        extra_flows++;
    }
    /* 6. a DHCP exchange */
    if (sim_rng_below(r, 3) == 0) {
        uint64_t start = sim_rng_below(r, 1 * SIM_S);
        uint64_t tries = sim_rng_range(r, 4, 8);
        const char *inform = sim_rng_below(r, 2) ? "on" : "off";
        const char *broadcast = sim_rng_below(r, 2) ? "on" : "off";
        directive(cfg, "dhcp start=%llu tries=%llu inform=%s broadcast=%s",
                  (unsigned long long)start, (unsigned long long)tries, inform, broadcast);
    }
    /* 7. a few spoofed frames */
    if (sim_rng_below(r, 4) == 0) {
        static const char *const sp[] = {"udp", "tcp", "icmp"};
        const char *proto = sp[sim_rng_below(r, 3)];
        const char *field = sim_rng_below(r, 2) ? "mac" : "ip";
        uint64_t count = sim_rng_range(r, 1, 5);
        directive(cfg, "spoof s0 to=198.51.100.%u:%u proto=%s field=%s count=%llu", SVC_SINK, 9,
                  proto, field, (unsigned long long)count);
    }
    /* 8. inbound forwards: 1..3, TCP or UDP, from the configuration or
     * added (and removed) at run time; a guest server on each guest port;
     * clients started clear of the add/remove instants (a client racing them
     * may rightly go either way) */
    uint32_t n_fwd = sim_rng_below(r, 2) == 0 ? (uint32_t)sim_rng_range(r, 1, 3) : 0;
    for (uint32_t k = 0; k < n_fwd; k++) {
        bool udp = sim_rng_below(r, 3) == 0;
        uint32_t hport = 9000 + k, gport = 7000 + k;
        bool runtime = sim_rng_below(r, 4) == 0;
        uint64_t add_at = 0, remove_at = 0;
        if (runtime) {
            add_at = sim_rng_range(r, 500 * SIM_MS, 2 * SIM_S);
            remove_at = add_at + sim_rng_range(r, 1 * SIM_S, 3 * SIM_S);
            const char *bind = sim_rng_below(r, 2) ? "0.0.0.0" : "127.0.0.1";
            directive(cfg, "forward %s %s:%u guest_port=%u add_at=%llu remove_at=%llu",
                      udp ? "udp" : "tcp", bind, hport, gport, (unsigned long long)add_at,
                      (unsigned long long)remove_at);
        } else {
            const char *bind = sim_rng_below(r, 2) ? "0.0.0.0" : "127.0.0.1";
            directive(cfg, "forward %s %s:%u guest_port=%u", udp ? "udp" : "tcp", bind, hport,
                      gport);
        }
        uint64_t mode = udp ? 0 : sim_rng_below(r, 4); /* echo, sink, source, reset */
        uint64_t size = inbound_size(r);
        bool close_sent = mode == 2 && sim_rng_below(r, 2);
        static const char *const modes[] = {"echo", "sink", "source=", "reset_after="};
        char msize[32] = "";
        if (mode >= 2)
            snprintf(msize, sizeof msize, "%llu", (unsigned long long)size);
        directive(cfg, "guest_serve %u %s %s%s close=%s hold=%llu", gport, udp ? "udp" : "tcp",
                  modes[mode], msize, close_sent ? "sent" : "fin",
                  (unsigned long long)(sim_rng_below(r, 3) ? 0 : sim_rng_below(r, 1 * SIM_S)));
        uint32_t n_groups = (uint32_t)sim_rng_range(r, 1, 3);
        for (uint32_t g = 0; g < n_groups; g++) {
            uint32_t count = (uint32_t)sim_rng_range(r, 1, 4);
            uint64_t start;
            uint64_t phase = runtime ? sim_rng_below(r, 3) : 1; /* before, during, after */
            if (phase == 0)
                start = sim_rng_range(r, 0, add_at - 200 * SIM_MS);
            else if (phase == 2)
                start = remove_at + sim_rng_range(r, 50 * SIM_MS, 1 * SIM_S);
            else if (runtime)
                start = add_at + sim_rng_range(r, 20 * SIM_MS, 100 * SIM_MS);
            else
                start = sim_rng_range(r, 10 * SIM_MS, 2 * SIM_S);
            const char *from = sim_rng_below(r, 3) == 0 ? "127.0.0.1" : "198.51.100.200";
            uint64_t spacing = sim_rng_range(r, 1 * SIM_MS, 20 * SIM_MS);
            if (udp) {
                uint64_t send = sim_rng_range(r, 8, mtu - 28 < 1400 ? mtu - 28 : 1400);
                uint64_t dgrams = sim_rng_range(r, 1, 8);
                uint64_t interval = sim_rng_range(r, 1 * SIM_MS, 20 * SIM_MS);
                directive(cfg,
                          "inbound i%u_%u udp via=127.0.0.1:%u from=%s count=%u start=%llu "
                          "spacing=%llu send=%llu datagrams=%llu interval=%llu",
                          k, g, hport, from, count, (unsigned long long)start,
                          (unsigned long long)spacing, (unsigned long long)send,
                          (unsigned long long)dgrams, (unsigned long long)interval);
            } else {
                uint64_t send = inbound_size(r);
                if (mode == 3 && send <= size)
                    send = size + 1 + sim_rng_below(r, 1024);
                uint64_t expect = mode == 0 ? send : mode == 1 ? 0 : size;
                bool eof = close_sent && sim_rng_below(r, 2);
                char ex[48] = "";
                if (mode != 3)
                    snprintf(ex, sizeof ex, " expect=%llu", (unsigned long long)expect);
                directive(cfg,
                          "inbound i%u_%u via=127.0.0.1:%u from=%s count=%u start=%llu "
                          "spacing=%llu send=%llu close=%s%s",
                          k, g, hport, from, count, (unsigned long long)start,
                          (unsigned long long)spacing, (unsigned long long)send,
                          eof ? "eof" : "sent", ex);
            }
            extra_flows += count;
        }
    }
    /* The core opens the configured forwards' listeners at creation: a
     * host that could not hold them would fail the run before it starts. */
    if (cfg->max_sockets < n_fwd)
        cfg->max_sockets = n_fwd;
    /* Room in the flow table for all of it at once: the TCP world's own
     * limits stay the ones it drew. */
    c->max_flows += (uint32_t)(extra_flows < 100000 ? extra_flows : 100000);
    if (c->max_udp_flows < c->max_flows)
        c->max_udp_flows = c->max_flows;
    /* The same for ICMP's own budget (vnat.h: 1/16 of the table by
     * default, which a few pingers in a small table would exceed). */
    if (c->max_icmp_flows < c->max_flows)
        c->max_icmp_flows = c->max_flows;
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
    /* Everything above is drawn exactly as before services existed, so a
     * seed's TCP world keeps its draws; the services come last, after one
     * guard draw (40% of seeds). */
    if (sim_rng_below(r, 5) < 2)
        swarm_services(r, cfg);
    /* Snapshot and restore (issue 12), drawn after every other draw so a
     * seed that does not restore keeps its world and its trace: a quarter
     * of the seeds restore the core into fresh memory, sockets kept, every
     * 5 ms to 2 s while the run is busy. Nothing may change for any flow:
     * the outcome rules hold as before, and `vnat sim restore-check` shows
     * the trace equal to the run without restores record for record. */
    if (sim_rng_below(r, 4) == 0)
        cfg->restore_every = sim_rng_range(r, 5 * SIM_MS, 2 * SIM_S);
}
