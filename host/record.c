/*
 * record.c — writes the core's boundary log of a real run in the trace
 * format (vlog/trace.h, docs/trace.md), so that `vnat sim replay-file FILE`
 * feeds the same inputs to a fresh core and checks every output. The
 * adapter adds nothing of its own to the log: what the core saw is exactly
 * what is recorded. The format is vlog/'s, not the simulator's: the adapter
 * links vnat_vlog and nothing of sim/.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "adapter.h"
#include "trace.h"

#define RECORD_BUFFER (4u << 20)

struct recorder {
    FILE *f;
    char *iobuf;
    int failed;
};

struct recorder *recorder_open(const char *path)
{
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
}

void recorder_write(struct recorder *r, const struct vnat_log_record *rec)
{
    if (r && !r->failed && vnat_trace_write(r->f, rec) != 0)
        r->failed = 1;
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
