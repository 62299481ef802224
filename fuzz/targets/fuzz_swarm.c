/*
 * fuzz_swarm.c — the simulator's swarm, driven by fuzz bytes. The input is
 * the simulator's random source in byte mode (sim/rng.h): every choice of
 * the swarm configuration (limits, timeouts, MTU, link faults, destination
 * behaviours, flows) consumes the next input bytes, so mutations steer the
 * scenario directly; the run's own fault rolls are then seeded from the
 * same source. The simulator checks the core's invariants after every
 * event and every flow's outcome at the end; a failed run traps.
 *
 * Sizes are capped (flows, bytes per flow, bytes a destination produces)
 * so one input stays a few milliseconds of work; that changes which runs
 * exist, not what is checked.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP_FLOWS 16u
#define CAP_BYTES (32u * 1024u)
/* Slow readers and tiny socket buffers: at least this many bytes move per
 * read or per buffer, so CAP_BYTES drains in a few dozen reads. A 1-byte
 * receive buffer read every 20 ms turns 32 KiB into 10 virtual minutes and
 * millions of events (tens of seconds under ASan): a timeout, not a find. */
#define MIN_CHUNK 1024u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sim_rng r;
    sim_rng_from_bytes(&r, data, size);
    struct sim_config cfg;
    sim_swarm_config(&r, 0, &cfg);
    cfg.seed = sim_rng_u64(&r); /* in-run rolls: from the same input */
    if (cfg.n_flows > CAP_FLOWS)
        cfg.n_flows = CAP_FLOWS;
    for (uint32_t i = 0; i < cfg.n_flows; i++) {
        struct sim_flow_spec *f = &cfg.flows[i];
        if (f->send > CAP_BYTES)
            f->send = CAP_BYTES;
        if (f->read_chunk != 0 && f->read_chunk < MIN_CHUNK)
            f->read_chunk = MIN_CHUNK;
    }
    for (uint32_t i = 0; i < cfg.n_dests; i++) {
        struct sim_dest *d = &cfg.dests[i];
        if (d->greeting > CAP_BYTES)
            d->greeting = CAP_BYTES;
        if (d->after_eof > CAP_BYTES)
            d->after_eof = CAP_BYTES;
        if (d->reset_after > CAP_BYTES / 2)
            d->reset_after = CAP_BYTES / 2;
        if (d->sndbuf < MIN_CHUNK)
            d->sndbuf = MIN_CHUNK;
        if (d->rcvbuf < MIN_CHUNK)
            d->rcvbuf = MIN_CHUNK;
        if (d->read_chunk != 0 && d->read_chunk < MIN_CHUNK)
            d->read_chunk = MIN_CHUNK;
    }
    if (cfg.restore_every)
        cfg.restore_count = 16; /* snapshot/restore rounds: a few are enough here */
    struct sim_result res;
    int rc = sim_run(&cfg, NULL, NULL, &res, NULL);
    if (rc != 0) {
        /* Runs are deterministic: run it again with the simulator's report
         * (and, with VNAT_FUZZ_VERBOSE=1, its text trace) on stderr. */
        fprintf(stderr, "fuzz_swarm: run failed: %s\n", res.fail);
        if (getenv("VNAT_FUZZ_VERBOSE")) {
            /* What the bytes drew: the first thing to judge an outcome by. */
            cfg.verbose = true;
            fprintf(stderr,
                    "fuzz_swarm: to_core loss %u dup %u reorder %u corrupt %u ppm; to_guest loss "
                    "%u dup %u reorder %u corrupt %u ppm; link queue %u; mtu %u; connect "
                    "timeout %llums idle %llus; guest wscale %d rcvbuf %u\n",
                    cfg.to_core.loss_ppm, cfg.to_core.dup_ppm, cfg.to_core.reorder_ppm,
                    cfg.to_core.corrupt_ppm, cfg.to_guest.loss_ppm, cfg.to_guest.dup_ppm,
                    cfg.to_guest.reorder_ppm, cfg.to_guest.corrupt_ppm, cfg.link_queue,
                    cfg.core.mtu, (unsigned long long)(cfg.core.connect_timeout_ns / 1000000),
                    (unsigned long long)(cfg.core.tcp_idle_timeout_ns / 1000000000),
                    cfg.guest.wscale, cfg.guest.rcvbuf);
        }
        sim_run(&cfg, getenv("VNAT_FUZZ_VERBOSE") ? stderr : NULL, NULL, &res, stderr);
        sim_config_free(&cfg);
        __builtin_trap();
    }
    sim_config_free(&cfg);
    return 0;
}
