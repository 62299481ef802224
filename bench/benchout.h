/*
 * benchout.h — what the micro-benchmarks share besides the host: a
 * monotonic clock (CLOCK_MONOTONIC, read by the bench program only, never
 * by the core), the summary of several runs (median, min, max), and the
 * report: a table on stdout and a JSON file, one object per benchmark:
 *   {"name", "unit", "median", "min", "max", "runs", "samples": [...],
 *    "params": {...}, "target": "..."}
 * inside {"program": ..., "build": ..., "benchmarks": [...]}.
 */
#ifndef VNAT_BENCH_BENCHOUT_H
#define VNAT_BENCH_BENCHOUT_H

#include <stdint.h>
#include <stdio.h>

#define BO_MAX_RUNS 64
#define BO_MAX_RESULTS 64

struct bo_result {
    char name[64];
    char unit[16];
    double median, min, max;
    int runs;
    double samples[BO_MAX_RUNS];
    char params[512]; /* the members of a JSON object, without braces */
    char target[128]; /* "" if the benchmark has no target */
};

struct bo_report {
    const char *program;
    struct bo_result results[BO_MAX_RESULTS];
    int n;
};

uint64_t bo_now_ns(void);

/* Record a benchmark from `runs` samples (one per repetition). params is a
 * printf format producing JSON object members, e.g. "\"mtu\": %u". Returns
 * the stored result (median/min/max filled in). */
struct bo_result *bo_add(struct bo_report *rep, const char *name, const char *unit,
                         const double *samples, int runs, const char *target,
                         const char *params_fmt, ...) __attribute__((format(printf, 7, 8)));

void bo_print_table(const struct bo_report *rep, FILE *out);
/* Write the JSON report. Returns 0 or -1 (message on stderr). */
int bo_write_json(const struct bo_report *rep, const char *path);

#endif
