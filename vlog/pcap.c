/*
 * pcap.c — writes the guest-link frames of a trace as a pcap file (pcap.h).
 *
 * Every field of the file format is written byte by byte in little-endian
 * order, so the file does not depend on the host's byte order.
 */
#include "pcap.h"

#include <inttypes.h>
#include <string.h>

#include "trace.h"

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

int vnat_pcap_write_header(FILE *out, uint32_t snaplen)
{
    uint8_t h[24];
    put32(h, VNAT_PCAP_MAGIC_NS);
    put16(h + 4, 2); /* version 2.4 */
    put16(h + 6, 4);
    put32(h + 8, 0);  /* thiszone */
    put32(h + 12, 0); /* sigfigs */
    put32(h + 16, snaplen);
    put32(h + 20, VNAT_PCAP_LINKTYPE_ETHERNET);
    return fwrite(h, 1, sizeof h, out) == sizeof h ? 0 : -1;
}

static int write_frame(FILE *out, uint64_t now, const uint8_t *data, size_t len,
                       struct vnat_pcap_stats *st)
{
    if (st->from_guest + st->to_guest == 1)
        st->base_ns = now;
    /* Monotonic in a trace; a record that went back would be a bug of the
     * log, shown as time 0 rather than as a wrapped stamp. */
    uint64_t now_ns = now >= st->base_ns ? now - st->base_ns : 0;
    if (len > VNAT_PCAP_SNAPLEN)
        st->truncated++;
    return vnat_pcap_write_frame(out, now_ns, data, len, VNAT_PCAP_SNAPLEN);
}

int vnat_pcap_write_frame(FILE *out, uint64_t now_ns, const uint8_t *data, size_t len,
                          uint32_t snaplen)
{
    size_t cap = len > snaplen ? snaplen : len;
    uint8_t h[16];
    put32(h, (uint32_t)(now_ns / 1000000000u));
    put32(h + 4, (uint32_t)(now_ns % 1000000000u));
    put32(h + 8, (uint32_t)cap);
    put32(h + 12, (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len));
    if (fwrite(h, 1, sizeof h, out) != sizeof h)
        return -1;
    return cap == 0 || fwrite(data, 1, cap, out) == cap ? 0 : -1;
}

/* One record: written, skipped or counted. 0 or -1 (a write failed). */
static int on_record(FILE *out, const struct vnat_log_record *rec, struct vnat_pcap_stats *st)
{
    if (rec->kind == VNAT_LOG_EV_FRAME) {
        st->from_guest++;
        return write_frame(out, rec->now, rec->data, rec->len, st);
    }
    if (rec->kind != VNAT_LOG_OUT_FRAME)
        return 0;
    if (rec->a != 0) {
        st->refused++;
        return 0;
    }
    st->to_guest++;
    return write_frame(out, rec->now, rec->data, rec->len, st);
}

int vnat_pcap_from_trace(FILE *in, FILE *out, struct vnat_pcap_stats *st, char *why, size_t why_len)
{
    memset(st, 0, sizeof *st);
    if (why_len > 0)
        why[0] = 0;
    if (vnat_pcap_write_header(out, VNAT_PCAP_SNAPLEN) != 0) {
        snprintf(why, why_len, "cannot write the capture");
        return -1;
    }
    struct vnat_trace_reader r;
    vnat_trace_reader_init(&r, in);
    struct vnat_log_record rec;
    int rc = 0, got;
    while ((got = vnat_trace_read(&r, &rec)) == 1) {
        st->records++;
        if (on_record(out, &rec, st) != 0) {
            snprintf(why, why_len, "cannot write the capture");
            rc = -1;
            break;
        }
    }
    if (got < 0) {
        snprintf(why, why_len, "malformed or truncated trace after record %" PRIu64, st->records);
        rc = -1;
    }
    vnat_trace_reader_free(&r);
    if (fflush(out) != 0)
        rc = -1;
    return rc;
}
