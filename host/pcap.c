/*
 * pcap.c — writes the guest link's frames, both directions, as they cross
 * it, in the classic pcap format with nanosecond wall-clock time stamps
 * (vlog/pcap.h encodes the file; `vnat sim pcap` writes the same format
 * from a boundary log, in virtual time). Output is buffered by stdio with a
 * large buffer: capture is a debugging aid and costs one copy per frame,
 * paid only when --pcap is given.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapter.h"
#include "pcap.h"

#define PCAP_BUFFER (1u << 20)

struct pcap_writer {
    FILE *f;
    unsigned snaplen;
    char *iobuf;
};

struct pcap_writer *pcap_open(const char *path, unsigned snaplen)
{
    struct pcap_writer *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->f = fopen(path, "wbe");
    p->iobuf = malloc(PCAP_BUFFER);
    if (!p->f || !p->iobuf) {
        if (p->f)
            fclose(p->f);
        free(p->iobuf);
        free(p);
        return NULL;
    }
    setvbuf(p->f, p->iobuf, _IOFBF, PCAP_BUFFER);
    p->snaplen = snaplen;
    vnat_pcap_write_header(p->f, snaplen);
    return p;
}

void pcap_frame(struct pcap_writer *p, const uint8_t *frame, size_t len)
{
    if (!p)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    vnat_pcap_write_frame(p->f, ns, frame, len, p->snaplen);
}

void pcap_close(struct pcap_writer *p)
{
    if (!p)
        return;
    fclose(p->f);
    free(p->iobuf);
    free(p);
}
