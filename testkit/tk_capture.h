/*
 * tk_capture.h — the frames the core hands the guest, captured and parsed
 * once. tk_parse() reads a frame through the wire layer into a struct
 * tk_pkt (Ethernet, then ARP or IPv4 and its TCP / UDP / ICMP header, with
 * the payload located); a struct tk_capture keeps copies of the frames a
 * fake host's guest_send received, each with its tk_pkt, and a read cursor
 * for tests that consume them in order.
 */
#ifndef VNAT_TESTKIT_TK_CAPTURE_H
#define VNAT_TESTKIT_TK_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* A parsed frame. ok: every layer parsed (Ethernet; ARP, or IPv4 and, for a
 * TCP, UDP or ICMP datagram that is not a fragment, its header) and its
 * checksum is valid. l4: the transport header was parsed (so tcp / udp /
 * icmp, payload and len are set). Pointers point into the frame parsed. */
struct tk_pkt {
    bool ok, l4;
    uint16_t ethertype; /* after any VLAN tag */
    bool vlan;
    uint8_t eth_dst[6], eth_src[6];
    struct vw_arp arp;
    struct vw_ipv4 ip;
    uint8_t proto; /* IPv4 protocol */
    uint8_t src[4], dst[4];
    struct vw_tcp tcp;
    struct vw_udp udp;
    struct vw_icmp icmp;
    const uint8_t *payload;
    size_t len;
};
struct tk_pkt tk_parse(const uint8_t *frame, size_t len);
/* A TCP segment that parsed, checksum included. */
static inline bool tk_is_tcp(const struct tk_pkt *p)
{
    return p->ok && p->l4 && p->proto == VW_IPPROTO_TCP;
}

struct tk_frame {
    uint8_t *data; /* a copy (malloc) */
    size_t len;
    struct tk_pkt pkt; /* parsed from data */
};

/* Frames captured in order. When full, a ring (ring = true) drops the
 * oldest; otherwise tk_capture_add refuses the frame (returns NULL). keep:
 * bytes kept of each frame (0: all); a frame cut short parses as not ok. */
struct tk_capture {
    struct tk_frame *frames;
    size_t cap, n, seen; /* seen: frames consumed by tk_capture_next */
    size_t first;        /* ring: index of the oldest of the n frames */
    size_t keep;
    bool ring;
};
/* Returns 0, or -1 if out of memory. */
int tk_capture_init(struct tk_capture *c, size_t cap, bool ring, size_t keep);
void tk_capture_free(struct tk_capture *c);
void tk_capture_reset(struct tk_capture *c); /* forget every frame */
const struct tk_frame *tk_capture_add(struct tk_capture *c, const uint8_t *frame, size_t len);
/* The i-th frame kept (0 the oldest), or NULL. */
const struct tk_frame *tk_capture_at(const struct tk_capture *c, size_t i);
const struct tk_frame *tk_capture_last(const struct tk_capture *c);
size_t tk_capture_pending(const struct tk_capture *c);        /* not consumed yet */
const struct tk_frame *tk_capture_next(struct tk_capture *c); /* consume one, or NULL */
void tk_capture_drain(struct tk_capture *c);                  /* consume all */
/* The last TCP segment kept, or NULL. */
const struct tk_pkt *tk_capture_last_tcp(const struct tk_capture *c);
/* TCP segments kept with every flag of `flags` set. */
size_t tk_capture_count_tcp(const struct tk_capture *c, uint8_t flags);

#endif
