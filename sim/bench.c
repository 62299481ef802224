/*
 * bench.c — the simulator's speed figures (a benchmark, never a timed test):
 *   events_per_sec  simulated events per wall second over a workload of many
 *                   small request/response flows, and over swarm seeds;
 *   bulk_1gib       one flow uploading and one downloading 1 GiB at the same
 *                   time at MTU 65520, wall seconds.
 * Every run keeps the core's invariant check after every event and the
 * trace hash on: the figures are for the simulator as tests use it.
 * Output is one JSON object on stdout.
 */
#include "sim.h"

#include "wallclock.h"

#include <inttypes.h>
#include <string.h>

int sim_bench_main(int argc, char **argv);

static double last_cpu; /* CPU seconds of the last bench_* run */

static int bench_rr(uint32_t flows, uint32_t rounds, struct sim_result *res, double *wall)
{
    struct sim_config cfg;
    sim_config_init(&cfg);
    snprintf(cfg.name, sizeof cfg.name, "bench-rr");
    cfg.core.max_flows = flows + 64; /* the table the invariant check walks */
    struct sim_dest *d = sim_config_add_dest(&cfg);
    d->addr.ip = vnat_ip4(198, 51, 100, 1);
    d->addr.port = 80;
    d->echo = true;
    d->owd = 20000;
    d->latency = 100000;
    for (uint32_t i = 0; i < flows; i++) {
        struct sim_flow_spec *f = sim_config_add_flow(&cfg);
        f->dst = d->addr;
        f->start = (uint64_t)i * 10000;
        f->send = 64 * (uint64_t)rounds;
        f->rr = rounds;
    }
    double t = sim_wall_seconds(), c = sim_cpu_seconds();
    int rc = sim_run(&cfg, NULL, NULL, res, stderr);
    *wall = sim_wall_seconds() - t;
    last_cpu = sim_cpu_seconds() - c;
    sim_config_free(&cfg);
    return rc;
}

static int bench_bulk(uint64_t bytes, struct sim_result *res, double *wall)
{
    struct sim_config cfg;
    sim_config_init(&cfg);
    snprintf(cfg.name, sizeof cfg.name, "bench-bulk");
    cfg.core.mtu = 65520;
    cfg.core.max_flows = 64; /* two flows: a small table keeps the per-event check small */
    cfg.guest.rcvbuf = 8u << 20;
    cfg.guest.wscale = 7;
    cfg.link_queue = 4096;
    struct sim_dest *sink = sim_config_add_dest(&cfg);
    sink->addr.ip = vnat_ip4(198, 51, 100, 1);
    sink->addr.port = 9;
    sink->sndbuf = 8u << 20;
    sink->rcvbuf = 8u << 20;
    sink->owd = 10000;
    struct sim_dest *src = sim_config_add_dest(&cfg);
    src->addr.ip = vnat_ip4(198, 51, 100, 2);
    src->addr.port = 19;
    src->greeting = bytes;
    src->rclose = SR_SENT;
    src->sndbuf = 8u << 20;
    src->rcvbuf = 8u << 20;
    src->owd = 10000;
    struct sim_flow_spec *up = sim_config_add_flow(&cfg);
    up->dst = sink->addr;
    up->send = bytes;
    struct sim_flow_spec *down = sim_config_add_flow(&cfg);
    down->dst = src->addr;
    down->send = 8;
    down->close = SG_EOF;
    double t = sim_wall_seconds(), c = sim_cpu_seconds();
    int rc = sim_run(&cfg, NULL, NULL, res, stderr);
    *wall = sim_wall_seconds() - t;
    last_cpu = sim_cpu_seconds() - c;
    sim_config_free(&cfg);
    return rc;
}

int sim_bench_main(int argc, char **argv)
{
    bool quick = argc > 2 && strcmp(argv[2], "--quick") == 0;
    struct sim_result rr, rr_many, bulk;
    double rr_wall, rr_many_wall, bulk_wall;
    uint64_t gib = (uint64_t)1 << 30;
    /* 16 flows, many rounds: the simulator's own rate. 2000 flows: shows
     * how the core's O(flows) invariant check after every event scales. */
    int rc = bench_rr(16, quick ? 400 : 4000, &rr, &rr_wall);
    double rr_cpu = last_cpu;
    rc |= bench_rr(quick ? 200 : 2000, 20, &rr_many, &rr_many_wall);
    double rr_many_cpu = last_cpu;
    rc |= bench_bulk(quick ? gib / 16 : gib, &bulk, &bulk_wall);
    double bulk_cpu = last_cpu;
    /* swarm seeds */
    uint64_t sw_events = 0;
    double t = sim_wall_seconds(), sw_cpu0 = sim_cpu_seconds();
    uint64_t seeds = quick ? 20 : 100;
    for (uint64_t s = 1; s <= seeds; s++) {
        struct sim_rng r;
        sim_rng_seed(&r, s);
        struct sim_config cfg;
        sim_swarm_config(&r, s, &cfg);
        struct sim_result res;
        sim_run(&cfg, NULL, NULL, &res, NULL);
        sim_config_free(&cfg);
        sw_events += res.events;
    }
    double sw_wall = sim_wall_seconds() - t, sw_cpu = sim_cpu_seconds() - sw_cpu0;
    printf("{\n"
           "  \"bench\": \"vnat-sim\",\n"
           "  \"invariant_checks\": \"after every core event\",\n"
           "  \"trace_hash\": true,\n"
           "  \"rr\": {\"flows\": %" PRIu64 ", \"events\": %" PRIu64
           ", \"wall_s\": %.3f, \"cpu_s\": %.3f, \"events_per_cpu_sec\": %.0f, \"ok\": %s},\n"
           "  \"rr_many_flows\": {\"flows\": %" PRIu64 ", \"events\": %" PRIu64
           ", \"wall_s\": %.3f, \"cpu_s\": %.3f, \"events_per_cpu_sec\": %.0f, \"ok\": %s},\n"
           "  \"swarm\": {\"seeds\": %" PRIu64 ", \"events\": %" PRIu64
           ", \"wall_s\": %.3f, \"cpu_s\": %.3f, \"events_per_cpu_sec\": %.0f},\n"
           "  \"bulk\": {\"mtu\": 65520, \"bytes_each_way\": %" PRIu64 ", \"to_host\": %" PRIu64
           ", \"to_guest\": %" PRIu64 ", \"events\": %" PRIu64
           ", \"wall_s\": %.3f, \"cpu_s\": %.3f, \"sim_s\": %.3f, \"gbit_per_wall_s\": %.2f, "
           "\"ok\": %s}\n"
           "}\n",
           rr.flows, rr.events, rr_wall, rr_cpu, (double)rr.events / (rr_cpu > 0 ? rr_cpu : 1),
           rr.ok ? "true" : "false", rr_many.flows, rr_many.events, rr_many_wall, rr_many_cpu,
           (double)rr_many.events / (rr_many_cpu > 0 ? rr_many_cpu : 1),
           rr_many.ok ? "true" : "false", seeds, sw_events, sw_wall, sw_cpu,
           (double)sw_events / (sw_cpu > 0 ? sw_cpu : 1), quick ? gib / 16 : gib,
           bulk.bytes_to_host, bulk.bytes_to_guest, bulk.events, bulk_wall, bulk_cpu,
           (double)bulk.sim_time / 1e9,
           (double)(bulk.bytes_to_host + bulk.bytes_to_guest) * 8 / 1e9 /
               (bulk_wall > 0 ? bulk_wall : 1),
           bulk.ok ? "true" : "false");
    if (!rr.ok)
        fprintf(stderr, "bench rr failed: %s\n", rr.fail);
    if (!bulk.ok)
        fprintf(stderr, "bench bulk failed: %s\n", bulk.fail);
    return rc;
}
