/*
 * record.c — writes the core's boundary log of a real run in the
 * simulator's trace format (sim/trace.h, docs/trace.md), so that
 * `vnat sim replay-file FILE` feeds the same inputs to a fresh core and
 * checks every output. The adapter adds nothing of its own to the log: what
 * the core saw is exactly what is recorded. Without the simulator's trace
 * library (VNAT_HAVE_TRACE unset) recording is unavailable and says so.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "adapter.h"

#ifdef VNAT_HAVE_TRACE
#include "trace.h"
#endif

#define RECORD_BUFFER (4u << 20)

struct recorder {
    FILE *f;
    char *iobuf;
    int failed;
};

bool recorder_available(void)
{
#ifdef VNAT_HAVE_TRACE
    return true;
#else
    return false;
#endif
}

struct recorder *recorder_open(const char *path)
{
#ifndef VNAT_HAVE_TRACE
    (void)path;
    return NULL;
#else
    struct recorder *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->f = fopen(path, "wbe");
    r->iobuf = malloc(RECORD_BUFFER);
    if (!r->f || !r->iobuf) {
        if (r->f)
            fclose(r->f);
        free(r->iobuf);
        free(r);
        return NULL;
    }
    setvbuf(r->f, r->iobuf, _IOFBF, RECORD_BUFFER);
    if (vnat_trace_write_header(r->f) != 0)
        r->failed = 1;
    return r;
#endif
}

void recorder_write(struct recorder *r, const struct vnat_log_record *rec)
{
#ifdef VNAT_HAVE_TRACE
    if (r && !r->failed && vnat_trace_write(r->f, rec) != 0)
        r->failed = 1;
#else
    (void)r;
    (void)rec;
#endif
}

int recorder_close(struct recorder *r)
{
    if (!r)
        return 0;
    int rc = r->failed ? -1 : 0;
    if (fclose(r->f) != 0)
        rc = -1;
    free(r->iobuf);
    free(r);
    return rc;
}
