/*
 * bench_snapshot.c — snapshot and restore of a core with many flows
 * (issue 12, docs/snapshot.md), with a JSON report (benchout.h).
 *
 *   snapshot_tcpN       ns per flow for vnat_snapshot of a core with N
 *                       established TCP flows (table max_flows = N)
 *   restore_tcpN        ns per flow for vnat_restore (kept sockets, same
 *                       clock) of that image into fresh memory, the
 *                       invariant check included
 *   snapshot_bytes_tcpN image bytes per flow (target: at most the
 *                       in-memory size of a flow, vnat_debug_memory_per_flow)
 *
 * Method: N flows are opened first through complete handshakes on the
 * bench host (outside the timed region). Each repetition is one sample:
 * one snapshot (or one restore) timed whole, divided by N. The issue's
 * target is 1 us per flow each way. The restored core's image is checked
 * to equal the original (a run that did something else aborts).
 *
 * Usage: bench_snapshot [--json FILE] [--reps N] [--smoke]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchhost.h"
#include "benchout.h"
#include "internal.h"

static struct bo_report report = {.program = "bench_snapshot"};

static void die(const char *what)
{
    fprintf(stderr, "bench_snapshot: %s\n", what);
    exit(1);
}

static void open_flows(struct bh *h, uint32_t n)
{
    uint64_t now = 1000 * VNAT_NS_PER_S;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t dst[4] = {198, 51, (uint8_t)(100 + i / 50000), 7};
        vnat_token tok;
        uint32_t core_nxt, guest_nxt;
        if (bh_handshake(h, &now, dst, (uint16_t)(10000 + i % 50000), 80, 1460, 65535, &tok,
                         &core_nxt, &guest_nxt) != 0)
            fprintf(stderr, "flow %u: ", i), die("a handshake failed");
    }
}

static void bench_n(uint32_t n, int reps)
{
    struct bh h;
    struct vnat_config cfg;
    vnat_config_init(&cfg);
    cfg.max_flows = n;
    cfg.max_tcp_flows = n;
    cfg.seed = 11;
    if (bh_init(&h, &cfg) != 0)
        die("cannot create the core");
    open_flows(&h, n);
    size_t len = vnat_snapshot_size(h.nat);
    uint8_t *img = malloc(len), *again = malloc(len);
    size_t need = 0;
    if (img == NULL || again == NULL)
        die("out of memory");
    double snap[BO_MAX_RUNS], rest[BO_MAX_RUNS];
    for (int r = 0; r < reps; r++) {
        uint64_t t0 = bo_now_ns();
        vnat_err e = vnat_snapshot(h.nat, img, len, NULL);
        uint64_t t1 = bo_now_ns();
        if (e != VNAT_OK)
            die("snapshot failed");
        snap[r] = (double)(t1 - t0) / n;
    }
    if (vnat_restore_memory_size(img, len, &need) != VNAT_OK)
        die("the image does not open");
    void *mem = aligned_alloc(16, (need + 15) & ~(size_t)15);
    for (int r = 0; r < reps; r++) {
        vnat *nat = NULL;
        uint64_t t0 = bo_now_ns();
        vnat_err e = vnat_restore(mem, need, bh_ops_table(), &h, img, len,
                                  VNAT_RESTORE_SOCKETS_KEPT | VNAT_RESTORE_SAME_CLOCK, 0, &nat);
        uint64_t t1 = bo_now_ns();
        if (e != VNAT_OK || vnat_snapshot(nat, again, len, NULL) != VNAT_OK ||
            memcmp(img, again, len) != 0)
            die("the restored core is not the one snapshotted");
        rest[r] = (double)(t1 - t0) / n;
    }
    double bytes = (double)len / n;
    size_t mem_per_flow = vnat_debug_memory_per_flow();
    char name[64];
    snprintf(name, sizeof name, "snapshot_tcp%u", n);
    bo_add(&report, name, "ns/flow", snap, reps, "<= 1000", "\"flows\": %u, \"image_bytes\": %zu",
           n, len);
    snprintf(name, sizeof name, "restore_tcp%u", n);
    bo_add(&report, name, "ns/flow", rest, reps, "<= 1000", "\"flows\": %u, \"memory\": %zu", n,
           need);
    snprintf(name, sizeof name, "snapshot_bytes_tcp%u", n);
    char target[32];
    snprintf(target, sizeof target, "<= %zu", mem_per_flow);
    bo_add(&report, name, "bytes/flow", &bytes, 1, target,
           "\"flows\": %u, \"memory_per_flow\": %zu", n, mem_per_flow);
    free(mem);
    free(img);
    free(again);
    bh_free(&h);
}

int main(int argc, char **argv)
{
    const char *json = NULL;
    int reps = 7, smoke = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            json = argv[++i];
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--smoke") == 0)
            smoke = 1;
        else {
            fprintf(stderr, "usage: bench_snapshot [--json FILE] [--reps N] [--smoke]\n");
            return 2;
        }
    }
    if (smoke)
        reps = 2;
    if (reps < 1 || reps > BO_MAX_RUNS)
        die("--reps must be 1..64");
    if (smoke) {
        bench_n(100, reps);
    } else {
        bench_n(1000, reps);
        bench_n(100000, reps);
    }
    bo_print_table(&report, stdout);
    if (json != NULL && bo_write_json(&report, json) != 0)
        return 1;
    return 0;
}
