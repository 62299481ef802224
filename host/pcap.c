/*
 * pcap.c — writes the guest link's frames, both directions, in the classic
 * pcap format (LINKTYPE_ETHERNET, microsecond wall-clock timestamps) so a
 * run can be read in tcpdump or Wireshark. Output is buffered by stdio with
 * a large buffer: capture is a debugging aid and costs one copy per frame,
 * paid only when --pcap is given.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapter.h"

#define PCAP_MAGIC 0xa1b2c3d4u
#define LINKTYPE_ETHERNET 1u
#define PCAP_BUFFER (1u << 20)

struct pcap_writer {
    FILE *f;
    unsigned snaplen;
    char *iobuf;
};

struct pcap_file_header {
    uint32_t magic;
    uint16_t version_major;
    uint16_t version_minor;
    int32_t thiszone;
    uint32_t sigfigs;
    uint32_t snaplen;
    uint32_t linktype;
};

struct pcap_record_header {
    uint32_t ts_sec;
    uint32_t ts_usec;
    uint32_t incl_len;
    uint32_t orig_len;
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
    struct pcap_file_header h = {.magic = PCAP_MAGIC,
                                 .version_major = 2,
                                 .version_minor = 4,
                                 .snaplen = snaplen,
                                 .linktype = LINKTYPE_ETHERNET};
    fwrite(&h, sizeof(h), 1, p->f);
    return p;
}

void pcap_frame(struct pcap_writer *p, const uint8_t *frame, size_t len)
{
    if (!p)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    size_t incl = len < p->snaplen ? len : p->snaplen;
    struct pcap_record_header r = {.ts_sec = (uint32_t)ts.tv_sec,
                                   .ts_usec = (uint32_t)(ts.tv_nsec / 1000),
                                   .incl_len = (uint32_t)incl,
                                   .orig_len = (uint32_t)len};
    fwrite(&r, sizeof(r), 1, p->f);
    fwrite(frame, 1, incl, p->f);
}

void pcap_close(struct pcap_writer *p)
{
    if (!p)
        return;
    fclose(p->f);
    free(p->iobuf);
    free(p);
}
