/*
 * benchout.c — clock, run summaries and the table/JSON report of the
 * micro-benchmarks (see benchout.h).
 */
#include "benchout.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t bo_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

struct bo_result *bo_add(struct bo_report *rep, const char *name, const char *unit,
                         const double *samples, int runs, const char *target,
                         const char *params_fmt, ...)
{
    if (rep->n >= BO_MAX_RESULTS || runs < 1 || runs > BO_MAX_RUNS) {
        fprintf(stderr, "bench: cannot record %s (%d runs)\n", name, runs);
        exit(2);
    }
    struct bo_result *r = &rep->results[rep->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->unit, sizeof r->unit, "%s", unit);
    snprintf(r->target, sizeof r->target, "%s", target != NULL ? target : "");
    va_list ap;
    va_start(ap, params_fmt);
    vsnprintf(r->params, sizeof r->params, params_fmt, ap);
    va_end(ap);
    double sorted[BO_MAX_RUNS];
    for (int i = 0; i < runs; i++)
        r->samples[i] = sorted[i] = samples[i];
    qsort(sorted, (size_t)runs, sizeof sorted[0], cmp_double);
    r->runs = runs;
    r->min = sorted[0];
    r->max = sorted[runs - 1];
    r->median = runs % 2 ? sorted[runs / 2] : (sorted[runs / 2 - 1] + sorted[runs / 2]) / 2;
    return r;
}

void bo_print_table(const struct bo_report *rep, FILE *out)
{
    fprintf(out, "%-34s %12s %12s %12s  %-12s %4s  %s\n", "benchmark", "median", "min", "max",
            "unit", "runs", "target");
    for (int i = 0; i < rep->n; i++) {
        const struct bo_result *r = &rep->results[i];
        fprintf(out, "%-34s %12.2f %12.2f %12.2f  %-12s %4d  %s\n", r->name, r->median, r->min,
                r->max, r->unit, r->runs, r->target);
    }
}

/* JSON numbers cannot be inf or nan. */
static void put_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

/* Names, units and targets are the program's own ASCII text; escape the two
 * characters JSON requires anyway. */
static void put_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
    fputc('"', f);
}

int bo_write_json(const struct bo_report *rep, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    fputs("{\n  \"program\": ", f);
    put_str(f, rep->program);
#ifdef NDEBUG
    fputs(",\n  \"build\": \"release\"", f);
#else
    fputs(",\n  \"build\": \"debug\"", f);
#endif
    fputs(",\n  \"clock\": \"CLOCK_MONOTONIC\",\n  \"benchmarks\": [\n", f);
    for (int i = 0; i < rep->n; i++) {
        const struct bo_result *r = &rep->results[i];
        fputs("    {\"name\": ", f);
        put_str(f, r->name);
        fputs(", \"unit\": ", f);
        put_str(f, r->unit);
        fputs(", \"median\": ", f);
        put_num(f, r->median);
        fputs(", \"min\": ", f);
        put_num(f, r->min);
        fputs(", \"max\": ", f);
        put_num(f, r->max);
        fprintf(f, ", \"runs\": %d, \"samples\": [", r->runs);
        for (int j = 0; j < r->runs; j++) {
            if (j > 0)
                fputs(", ", f);
            put_num(f, r->samples[j]);
        }
        fprintf(f, "], \"params\": {%s}, \"target\": ", r->params);
        put_str(f, r->target);
        fprintf(f, "}%s\n", i + 1 < rep->n ? "," : "");
    }
    fputs("  ]\n}\n", f);
    if (fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}
