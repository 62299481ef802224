/*
 * pcap.h — the guest link of a boundary log as a capture file.
 *
 * A trace (docs/trace.md) holds every frame that crossed the core's guest
 * link: EV_FRAME records (guest to vnat) and OUT_FRAME records (vnat to the
 * guest, with the link's answer). This turns them into a classic pcap file
 * (nanosecond time stamps, Ethernet link type) stamped with the records'
 * virtual time, so that Wireshark's stream graphs show what the core saw
 * and sent. Stamps count from the first frame (base_ns, the virtual time it
 * had): the simulator starts clocks near 2^62 ns, beyond pcap's 32-bit
 * seconds. Frames the link refused never reached the guest: they are left
 * out and counted. Nothing else of the log is written.
 */
#ifndef VNAT_VLOG_PCAP_H
#define VNAT_VLOG_PCAP_H

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The classic pcap magic for nanosecond time stamps, and Ethernet. */
#define VNAT_PCAP_MAGIC_NS 0xa1b23c4du
#define VNAT_PCAP_LINKTYPE_ETHERNET 1u
/* The snapshot length written in the header: vnat's largest frame (MTU
 * 65521 + 14) fits. */
#define VNAT_PCAP_SNAPLEN 65536u

struct vnat_pcap_stats {
    uint64_t records;    /* trace records read */
    uint64_t from_guest; /* EV_FRAME records written */
    uint64_t to_guest;   /* OUT_FRAME records the link took, written */
    uint64_t refused;    /* OUT_FRAME records the link refused, left out */
    uint64_t truncated;  /* frames longer than the snapshot length (cut) */
    uint64_t base_ns;    /* the virtual time of the first frame: stamp 0 */
};

/* The file format itself, shared with the real adapter's live capture
 * (host/pcap.c): the 24-byte file header, then one 16-byte record header and
 * min(len, snaplen) bytes per frame, stamped `ns` nanoseconds. Each returns 0,
 * or -1 when the write failed. */
int vnat_pcap_write_header(FILE *out, uint32_t snaplen);
int vnat_pcap_write_frame(FILE *out, uint64_t ns, const uint8_t *data, size_t len,
                          uint32_t snaplen);

/* Read the trace `in` to its end and write the capture to `out`. Returns 0,
 * or -1 when the trace is malformed (*why says where) or a write failed;
 * the frames before the bad record are written either way. */
int vnat_pcap_from_trace(FILE *in, FILE *out, struct vnat_pcap_stats *st, char *why,
                         size_t why_len);

#ifdef __cplusplus
}
#endif

#endif
