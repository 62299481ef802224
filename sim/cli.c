/*
 * cli.c — `vnat sim ...`: run scenario files, run a swarm of seeds, replay
 * one seed (optionally printing its trace), replay a recorded log file,
 * check determinism, and benchmark. vnat_sim_main is what both the `vnat`
 * command (host/) and the standalone `vnat-sim` executable call.
 */
#include "sim.h"

#include "pcap.h"

#include "wallclock.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sim_bench_main(int argc, char **argv);

static void usage(FILE *f)
{
    fprintf(f, "usage: vnat sim COMMAND ...\n"
               "  run FILE... [--trace] [--record OUT] [--pcap OUT] [--restore-every T]\n"
               "                                         run scenario files (sim/scenarios/*.scn)\n"
               "  swarm --seeds N [--from S] [--quiet] [--known-failing S1,S2]\n"
               "                                         run N swarm seeds starting at S\n"
               "  replay SEED [--trace] [--flows] [--record OUT] [--pcap OUT]\n"
               "                                         re-run one swarm seed exactly\n"
               "  replay-file FILE                       feed a recorded log to a fresh core\n"
               "  record SEED OUT                        write a swarm seed's binary log\n"
               "  pcap LOG OUT                           a recorded log's guest-link frames as\n"
               "                                         pcap, stamped with virtual time\n"
               "                                         (--pcap OUT: the same for a run)\n"
               "  determinism --seeds N [--from S]       run each seed twice, compare hashes\n"
               "  restore-check --seeds N [--from S]     run each seed without and with\n"
               "                                         snapshot/restore (sockets kept):\n"
               "                                         the traces must be equal\n"
               "  bytes FILE                             run the swarm drawn from raw bytes\n"
               "  bench [--quick]                        speed figures (JSON)\n"
               "  hashes [--seeds N] [--from S] [--fast] [FILE...]\n"
               "                                         one line per scenario file and per\n"
               "                                         swarm seed: its trace hash and result\n"
               "                                         (--fast: no per-event invariant check)\n");
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (s == NULL || *s == 0)
        return false;
    unsigned long long v = strtoull(s, &end, 0);
    if (*end != 0)
        return false;
    *out = v;
    return true;
}

static void print_result_line(const char *name, const struct sim_result *r, double wall)
{
    printf("%-44s %s  flows %4" PRIu64 " (ok %" PRIu64 " rst %" PRIu64 " ref %" PRIu64
           " to %" PRIu64 " ab %" PRIu64 " unr %" PRIu64 " pend %" PRIu64 ")  events %9" PRIu64
           "  sim %8.3fs  wall %6.3fs  hash %016" PRIx64 "\n",
           name, r->ok ? "PASS" : "FAIL", r->flows, r->complete, r->reset, r->refused, r->timeout,
           r->aborted, r->unreachable, r->pending, r->events, (double)r->sim_time / 1e9, wall,
           r->hash);
}

/* The binary log of a run: the --record file, or with only --pcap a
 * temporary file that becomes the capture. NULL with neither, or when the
 * file cannot be opened (*bad set). */
static FILE *open_log(const char *record, const char *pcap, bool *bad)
{
    *bad = false;
    FILE *f = NULL;
    if (record != NULL)
        f = fopen(record, pcap != NULL ? "w+b" : "wb");
    else if (pcap != NULL)
        f = tmpfile();
    else
        return NULL;
    if (f == NULL) {
        fprintf(stderr, "vnat sim: cannot write %s\n", record != NULL ? record : "a temporary log");
        *bad = true;
    }
    return f;
}

/* The guest-link frames of the log `in` (read from its current position)
 * into the capture file `out`. 0, or 1 with the reason printed. */
static int write_pcap(FILE *in, const char *out)
{
    FILE *o = fopen(out, "wb");
    if (o == NULL) {
        fprintf(stderr, "vnat sim: cannot write %s\n", out);
        return 1;
    }
    struct vnat_pcap_stats st;
    char why[160];
    int rc = vnat_pcap_from_trace(in, o, &st, why, sizeof why);
    if (fclose(o) != 0 && rc == 0) {
        rc = -1;
        snprintf(why, sizeof why, "cannot write the capture");
    }
    printf("pcap %s: %" PRIu64 " frames from the guest, %" PRIu64 " to the guest, %" PRIu64
           " refused by the link (left out); time 0 = virtual %" PRIu64 ".%09" PRIu64 " s%s%s\n",
           out, st.from_guest, st.to_guest, st.refused, st.base_ns / 1000000000u,
           st.base_ns % 1000000000u, rc != 0 ? "; " : "", rc != 0 ? why : "");
    return rc != 0;
}

/* Close a run's log, first writing the capture from it when asked. */
static int close_log(FILE *bin, const char *pcap)
{
    if (bin == NULL)
        return 0;
    int rc = 0;
    if (pcap != NULL) {
        rc = fflush(bin) != 0 || fseek(bin, 0, SEEK_SET) != 0;
        if (rc == 0)
            rc = write_pcap(bin, pcap);
    }
    fclose(bin);
    return rc;
}

/* "3ms", "500us", "2s" (a whole number and a unit) in ns, or 0. */
static uint64_t parse_duration(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || v == 0)
        return 0;
    if (strcmp(end, "us") == 0)
        return v * 1000ull;
    if (strcmp(end, "ms") == 0)
        return v * 1000000ull;
    if (strcmp(end, "s") == 0)
        return v * 1000000000ull;
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    bool trace = false;
    const char *record = NULL, *pcap = NULL;
    int files = 0, failed = 0;
    uint64_t events = 0, restore_every = 0;
    double t0 = sim_wall_seconds();
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--trace") == 0)
            trace = true;
        else if (strcmp(argv[i], "--record") == 0 && i + 1 < argc)
            record = argv[++i];
        else if (strcmp(argv[i], "--pcap") == 0 && i + 1 < argc)
            pcap = argv[++i];
        else if (strcmp(argv[i], "--restore-every") == 0 && i + 1 < argc) {
            restore_every = parse_duration(argv[++i]);
            if (restore_every == 0) {
                usage(stderr);
                return 2;
            }
        }
    }
    printf("%-44s %s\n", "scenario", "result");
    for (int i = 2; i < argc && argv[i] != NULL; i++) {
        if (strcmp(argv[i], "--trace") == 0)
            continue;
        if (strcmp(argv[i], "--record") == 0 || strcmp(argv[i], "--pcap") == 0 ||
            strcmp(argv[i], "--restore-every") == 0) {
            i++;
            continue;
        }
        files++;
        struct sim_config cfg;
        sim_config_init(&cfg);
        char err[512];
        if (sim_scenario_load(argv[i], &cfg, err, sizeof err) != 0) {
            printf("%-44s FAIL  %s\n", argv[i], err);
            failed++;
            sim_config_free(&cfg);
            continue;
        }
        bool bad;
        FILE *bin = open_log(record, pcap, &bad);
        if (bad) {
            sim_config_free(&cfg);
            return 2;
        }
        struct sim_result res, plain;
        bool restoring = restore_every != 0 && cfg.restore_every == 0;
        if (restoring) {
            /* The run as written first; then with a restore every T, whose
             * trace must be equal record for record (restores aside). */
            sim_run(&cfg, NULL, NULL, &plain, NULL);
            cfg.restore_every = restore_every;
        }
        double t = sim_wall_seconds();
        int rc = sim_run(&cfg, trace ? stdout : NULL, bin, &res, stdout);
        if (close_log(bin, pcap) != 0)
            failed++;
        print_result_line(cfg.name, &res, sim_wall_seconds() - t);
        if (rc != 0) {
            failed++;
            printf("  %s\n  replay: vnat sim run %s --trace\n", res.fail, argv[i]);
        } else if (restoring && (plain.hash_kept != res.hash_kept || !plain.ok)) {
            failed++;
            printf("  %" PRIu64 " restores (sockets kept) changed the trace: %016" PRIx64
                   " without, %016" PRIx64 " with\n",
                   res.restores, plain.hash_kept, res.hash_kept);
        }
        events += res.events;
        sim_config_free(&cfg);
    }
    double wall = sim_wall_seconds() - t0;
    printf("\nsummary: %d scenario(s), %d passed, %d failed, %" PRIu64
           " events in %.2fs wall (%.0f events/s)\n",
           files, files - failed, failed, events, wall, wall > 0 ? (double)events / wall : 0.0);
    if (files == 0) {
        usage(stderr);
        return 2;
    }
    return failed ? 1 : 0;
}

static int run_seed_opt(uint64_t seed, FILE *trace_text, FILE *trace_bin, struct sim_result *res,
                        FILE *report, bool fast)
{
    struct sim_rng r;
    sim_rng_seed(&r, seed);
    struct sim_config cfg;
    sim_swarm_config(&r, seed, &cfg);
    cfg.skip_invariants = fast;
    int rc = sim_run(&cfg, trace_text, trace_bin, res, report);
    sim_config_free(&cfg);
    return rc;
}

static int run_seed(uint64_t seed, FILE *trace_text, FILE *trace_bin, struct sim_result *res,
                    FILE *report)
{
    return run_seed_opt(seed, trace_text, trace_bin, res, report, false);
}

/* `hashes`: the evidence a refactor keeps (tools/trace-hashes records and
 * compares these lines). One line per scenario file given, then one per
 * swarm seed: "scenario NAME HASH RESULT" / "seed N HASH RESULT". The
 * invariant check never changes a trace, so --fast may skip it. */
static int cmd_hashes(int argc, char **argv)
{
    uint64_t n = 0, from = 1;
    bool fast = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc) {
            if (!parse_u64(argv[++i], &n))
                return 2;
        } else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc) {
            if (!parse_u64(argv[++i], &from))
                return 2;
        } else if (strcmp(argv[i], "--fast") == 0) {
            fast = true;
        } else {
            struct sim_config cfg;
            sim_config_init(&cfg);
            char err[512];
            if (sim_scenario_load(argv[i], &cfg, err, sizeof err) != 0) {
                printf("scenario %s - LOADFAIL\n", argv[i]);
                sim_config_free(&cfg);
                continue;
            }
            cfg.skip_invariants = fast;
            struct sim_result res;
            int rc = sim_run(&cfg, NULL, NULL, &res, NULL);
            printf("scenario %s %016" PRIx64 " %s\n", cfg.name, res.hash,
                   rc == 0 ? "PASS" : "FAIL");
            sim_config_free(&cfg);
        }
    }
    for (uint64_t s = from; s < from + n; s++) {
        struct sim_result res;
        int rc = run_seed_opt(s, NULL, NULL, &res, NULL, fast);
        printf("seed %" PRIu64 " %016" PRIx64 " %s\n", s, res.hash, rc == 0 ? "PASS" : "FAIL");
    }
    return 0;
}

static int seeds_args(int argc, char **argv, uint64_t *n, uint64_t *from, bool *quiet)
{
    *n = 0;
    *from = 1;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc) {
            if (!parse_u64(argv[++i], n))
                return -1;
        } else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc) {
            if (!parse_u64(argv[++i], from))
                return -1;
        } else if (strcmp(argv[i], "--quiet") == 0) {
            if (quiet)
                *quiet = true;
        } else if (strcmp(argv[i], "--known-failing") == 0 && i + 1 < argc) {
            i++; /* parsed by known_failing() */
        } else {
            return -1;
        }
    }
    return *n > 0 ? 0 : -1;
}

/* --known-failing S1,S2,...: seeds that fail because of a known, written-down
 * defect (the swarm's BROKEN_ON_PURPOSE). They still run; their failure is
 * reported but not counted, and a pass is an UNEXPECTED PASS that fails the
 * run, so the list must shrink in the change that fixes the defect. */
#define KNOWN_MAX 32
static size_t known_failing(int argc, char **argv, uint64_t *out)
{
    size_t n = 0;
    for (int i = 2; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--known-failing") != 0)
            continue;
        const char *p = argv[i + 1];
        while (*p != '\0' && n < KNOWN_MAX) {
            uint64_t v = 0;
            int digits = 0;
            while (*p >= '0' && *p <= '9' && digits < 19) {
                v = v * 10 + (uint64_t)(*p - '0');
                p++;
                digits++;
            }
            if (digits > 0)
                out[n++] = v;
            while (*p != '\0' && (*p < '0' || *p > '9'))
                p++;
        }
    }
    return n;
}

static bool seed_in(uint64_t s, const uint64_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == s)
            return true;
    return false;
}

static int cmd_swarm(int argc, char **argv)
{
    uint64_t n, from;
    bool quiet = false;
    if (seeds_args(argc, argv, &n, &from, &quiet) != 0) {
        usage(stderr);
        return 2;
    }
    uint64_t known[KNOWN_MAX];
    size_t nknown = known_failing(argc, argv, known);
    uint64_t known_failed = 0, unexpected_pass = 0;
    bool tty = isatty(STDERR_FILENO);
    double t0 = sim_wall_seconds(), last = t0;
    uint64_t failed = 0, events = 0, flows = 0, outcomes[7] = {0}, sim_ns = 0;
    uint64_t fails[32] = {0};
    for (uint64_t s = from; s < from + n; s++) {
        struct sim_result res;
        int rc = run_seed(s, NULL, NULL, &res, NULL);
        if (seed_in(s, known, nknown)) {
            if (rc != 0) {
                known_failed++;
                fprintf(stdout, "KNOWN FAILING seed %" PRIu64 " (BROKEN_ON_PURPOSE): %s\n", s,
                        res.fail);
                rc = 0;
            } else {
                unexpected_pass++;
                fprintf(stdout,
                        "UNEXPECTED PASS: known-failing seed %" PRIu64
                        " now passes; remove it from --known-failing\n",
                        s);
                rc = 1;
                snprintf(res.fail, sizeof res.fail, "unexpected pass of a known-failing seed");
            }
        }
        events += res.events;
        flows += res.flows;
        sim_ns += res.sim_time;
        outcomes[0] += res.complete;
        outcomes[1] += res.reset;
        outcomes[2] += res.refused;
        outcomes[3] += res.timeout;
        outcomes[4] += res.aborted;
        outcomes[5] += res.pending;
        outcomes[6] += res.unreachable;
        if (rc != 0) {
            if (failed < 32)
                fails[failed] = s;
            failed++;
            fprintf(stdout,
                    "FAIL seed %" PRIu64 ": %s\n  replay: vnat sim replay %" PRIu64
                    " --trace   (or: vnat-sim replay %" PRIu64 " --trace)\n",
                    s, res.fail, s, s);
            fflush(stdout);
        } else if (!quiet && !tty) {
            /* one line per seed when not on a terminal (CI logs) */
        }
        double now = sim_wall_seconds();
        if (now - last >= 1.0 || s + 1 == from + n) {
            last = now;
            fprintf(stderr,
                    "%sswarm: %" PRIu64 "/%" PRIu64 " seeds, %" PRIu64 " failed, %.0f events/s%s",
                    tty ? "\r" : "", s - from + 1, n, failed,
                    (double)events / (now - t0 > 0 ? now - t0 : 1), tty ? "" : "\n");
        }
    }
    if (tty)
        fprintf(stderr, "\n");
    double wall = sim_wall_seconds() - t0;
    printf("\n%-22s %s\n", "swarm summary", "");
    printf("%-22s %" PRIu64 " .. %" PRIu64 "\n", "seeds", from, from + n - 1);
    printf("%-22s %" PRIu64 "\n", "passed", n - failed);
    printf("%-22s %" PRIu64 "\n", "failed", failed);
    if (nknown > 0)
        printf("%-22s %" PRIu64 " of %zu listed (not counted; %" PRIu64 " unexpected passes)\n",
               "known failing", known_failed, nknown, unexpected_pass);
    printf("%-22s %" PRIu64 " (complete %" PRIu64 ", reset %" PRIu64 ", refused %" PRIu64
           ", timeout %" PRIu64 ", aborted %" PRIu64 ", unreachable %" PRIu64 ", pending %" PRIu64
           ")\n",
           "guest flows", flows, outcomes[0], outcomes[1], outcomes[2], outcomes[3], outcomes[4],
           outcomes[6], outcomes[5]);
    printf("%-22s %" PRIu64 "\n", "events", events);
    printf("%-22s %.1f s\n", "virtual time", (double)sim_ns / 1e9);
    printf("%-22s %.2f s (%.0f events/s)\n", "wall time", wall,
           wall > 0 ? (double)events / wall : 0.0);
    for (uint64_t i = 0; i < failed && i < 32; i++)
        printf("replay: vnat sim replay %" PRIu64 " --trace\n", fails[i]);
    return failed ? 1 : 0;
}

static int cmd_replay(int argc, char **argv)
{
    uint64_t seed;
    if (argc < 3 || !parse_u64(argv[2], &seed)) {
        usage(stderr);
        return 2;
    }
    bool trace = false, flows = false;
    const char *record = NULL, *pcap = NULL;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--trace") == 0)
            trace = true;
        else if (strcmp(argv[i], "--flows") == 0)
            flows = true;
        else if (strcmp(argv[i], "--record") == 0 && i + 1 < argc)
            record = argv[++i];
        else if (strcmp(argv[i], "--pcap") == 0 && i + 1 < argc)
            pcap = argv[++i];
        else {
            usage(stderr);
            return 2;
        }
    }
    bool bad;
    FILE *bin = open_log(record, pcap, &bad);
    if (bad)
        return 2;
    struct sim_rng r;
    sim_rng_seed(&r, seed);
    struct sim_config cfg;
    sim_swarm_config(&r, seed, &cfg);
    cfg.verbose = flows;
    printf("# seed %" PRIu64 ": mtu %u, %u flows, %u destinations, start %" PRIu64
           ", loss %u/%u ppm, dup %u/%u, reorder %u/%u, corrupt %u/%u\n",
           seed, cfg.core.mtu, cfg.n_flows, cfg.n_dests, cfg.start_time, cfg.to_core.loss_ppm,
           cfg.to_guest.loss_ppm, cfg.to_core.dup_ppm, cfg.to_guest.dup_ppm,
           cfg.to_core.reorder_ppm, cfg.to_guest.reorder_ppm, cfg.to_core.corrupt_ppm,
           cfg.to_guest.corrupt_ppm);
    struct sim_result res;
    int rc = sim_run(&cfg, trace ? stdout : NULL, bin, &res, stdout);
    int log_rc = close_log(bin, pcap);
    sim_config_free(&cfg);
    print_result_line(cfg.name, &res, 0);
    if (rc != 0)
        printf("  %s\n", res.fail);
    printf("trace hash %016" PRIx64 " (%" PRIu64 " records)\n", res.hash, res.records);
    return rc != 0 ? rc : log_rc;
}

static int cmd_record(int argc, char **argv)
{
    uint64_t seed;
    if (argc != 4 || !parse_u64(argv[2], &seed)) {
        usage(stderr);
        return 2;
    }
    FILE *bin = fopen(argv[3], "wb");
    if (bin == NULL) {
        fprintf(stderr, "vnat sim: cannot write %s\n", argv[3]);
        return 2;
    }
    struct sim_result res;
    int rc = run_seed(seed, NULL, bin, &res, NULL);
    bool write_ok = !ferror(bin);
    fclose(bin);
    printf("seed %" PRIu64 " (%s): %" PRIu64 " records, hash %016" PRIx64 " -> %s\n", seed,
           rc == 0 ? "passed" : "failed its checks", res.records, res.hash, argv[3]);
    /* The exit status says whether the log was written, not how the run went:
     * a failing run's log is exactly what one wants to replay. */
    return write_ok ? 0 : 1;
}

/* A binary log to read, or NULL (said on stderr). */
static FILE *open_input(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fprintf(stderr, "vnat sim: cannot open %s\n", path);
    return f;
}

static int cmd_pcap(int argc, char **argv)
{
    if (argc != 4) {
        usage(stderr);
        return 2;
    }
    FILE *f = open_input(argv[2]);
    if (f == NULL)
        return 2;
    int rc = write_pcap(f, argv[3]);
    fclose(f);
    return rc;
}

static int cmd_replay_file(int argc, char **argv)
{
    if (argc != 3) {
        usage(stderr);
        return 2;
    }
    FILE *f = open_input(argv[2]);
    if (f == NULL)
        return 2;
    struct vnat_replay_result res;
    int rc = vnat_replay_file(f, &res);
    fclose(f);
    if (rc == 0) {
        printf("replay-file %s: all %" PRIu64 " records match (hash %016" PRIx64 ")\n", argv[2],
               res.records, res.hash);
        return 0;
    }
    if (rc > 0)
        printf("replay-file %s: first difference at record %" PRId64 ":\n%s\n", argv[2], res.index,
               res.why);
    else
        printf("replay-file %s: %s\n", argv[2], res.why);
    return 1;
}

/* Each seed twice: without restores, and restoring the core (sockets kept,
 * same clock) every T (its own draw, else 23 ms). The two traces must be
 * equal record for record, the restore records aside (hash_kept), and the
 * outcome the same: a kept restore changes nothing for any flow. */
static int cmd_restore_check(int argc, char **argv)
{
    uint64_t n, from;
    if (seeds_args(argc, argv, &n, &from, NULL) != 0) {
        usage(stderr);
        return 2;
    }
    uint64_t bad = 0, restores = 0;
    for (uint64_t s = from; s < from + n; s++) {
        struct sim_result a, b;
        struct sim_rng r;
        struct sim_config cfg;
        sim_rng_seed(&r, s);
        sim_swarm_config(&r, s, &cfg);
        uint64_t every = cfg.restore_every ? cfg.restore_every : 23 * SIM_MS;
        cfg.restore_every = 0;
        sim_run(&cfg, NULL, NULL, &a, NULL);
        cfg.restore_every = every;
        sim_run(&cfg, NULL, NULL, &b, NULL);
        sim_config_free(&cfg);
        restores += b.restores;
        if (a.hash_kept != b.hash_kept || a.ok != b.ok || (b.restores == 0 && b.sim_time > every)) {
            bad++;
            printf("RESTORE CHANGED seed %" PRIu64 " (every %" PRIu64 " ms, %" PRIu64
                   " restores): hash %016" PRIx64 " vs %016" PRIx64 ", %s vs %s%s%s\n",
                   s, every / SIM_MS, b.restores, a.hash_kept, b.hash_kept, a.ok ? "PASS" : "FAIL",
                   b.ok ? "PASS" : "FAIL", b.ok ? "" : ": ", b.ok ? "" : b.fail);
        }
    }
    printf("restore-check: %" PRIu64 " seeds from %" PRIu64 ", %" PRIu64
           " restores (sockets kept, same clock): %" PRIu64 " differ\n",
           n, from, restores, bad);
    return bad ? 1 : 0;
}

static int cmd_determinism(int argc, char **argv)
{
    uint64_t n, from;
    if (seeds_args(argc, argv, &n, &from, NULL) != 0) {
        usage(stderr);
        return 2;
    }
    uint64_t bad = 0;
    for (uint64_t s = from; s < from + n; s++) {
        struct sim_result a, b;
        run_seed(s, NULL, NULL, &a, NULL);
        run_seed(s, NULL, NULL, &b, NULL);
        if (a.hash != b.hash || a.events != b.events || a.ok != b.ok) {
            bad++;
            printf("NONDETERMINISTIC seed %" PRIu64 ": hash %016" PRIx64 " vs %016" PRIx64
                   ", events %" PRIu64 " vs %" PRIu64 "\n  replay: vnat sim replay %" PRIu64
                   " --trace\n",
                   s, a.hash, b.hash, a.events, b.events, s);
        }
    }
    printf("determinism: %" PRIu64 " seeds from %" PRIu64 ", each run twice: %" PRIu64 " differ\n",
           n, from, bad);
    return bad ? 1 : 0;
}

/* A swarm run drawn from raw bytes (the fuzzer's entry, also for files). */
int vnat_sim_run_bytes(const uint8_t *data, size_t len, FILE *report);
int vnat_sim_run_bytes(const uint8_t *data, size_t len, FILE *report)
{
    struct sim_rng r;
    sim_rng_from_bytes(&r, data, len);
    struct sim_config cfg;
    sim_swarm_config(&r, 0, &cfg);
    /* The run's own rolls come from the same bytes: one random source. */
    cfg.seed = sim_rng_u64(&r);
    /* One input stays well under a second: at most 16 restore rounds. */
    if (cfg.restore_every)
        cfg.restore_count = 16;
    struct sim_result res;
    int rc = sim_run(&cfg, NULL, NULL, &res, report);
    sim_config_free(&cfg);
    return rc;
}

static int cmd_bytes(int argc, char **argv)
{
    if (argc != 3) {
        usage(stderr);
        return 2;
    }
    FILE *f = open_input(argv[2]);
    if (f == NULL)
        return 2;
    static uint8_t buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    int rc = vnat_sim_run_bytes(buf, len, stdout);
    printf("bytes %s (%zu bytes): %s\n", argv[2], len, rc == 0 ? "PASS" : "FAIL");
    return rc;
}

int vnat_sim_main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
    } commands[] = {
        {"run", cmd_run},
        {"swarm", cmd_swarm},
        {"replay", cmd_replay},
        {"replay-file", cmd_replay_file},
        {"record", cmd_record},
        {"determinism", cmd_determinism},
        {"restore-check", cmd_restore_check},
        {"bytes", cmd_bytes},
        {"bench", sim_bench_main},
        {"hashes", cmd_hashes},
        {"pcap", cmd_pcap},
    };
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].run(argc, argv);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "vnat sim: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
