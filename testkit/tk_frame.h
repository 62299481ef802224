/*
 * tk_frame.h — guest-frame builders of the test kit: one spec struct per
 * frame kind, with named fields, built into Ethernet + IPv4 + TCP / UDP /
 * ICMP or Ethernet + ARP through the core's own wire builders (wire.h), so
 * lengths and checksums are always valid. Designated initializers keep a
 * call site readable and leave every field not named at zero:
 *
 *     n = tk_tcp(&(struct tk_tcp_spec){.guest = &cfg, .dst = ip, .sport = 40000,
 *                                      .dport = 80, .seq = 1000, .flags = VW_TCP_SYN,
 *                                      .window = 65535, .opt_mss = true, .mss = 1460},
 *                buf, sizeof buf);
 *
 * Addresses: eth_dst/eth_src are 6 octets, src/dst 4. When `guest` is set,
 * a NULL eth_dst, eth_src or src is the gateway MAC, the guest MAC and the
 * guest address of that config (a frame from the guest to the gateway). ttl 0
 * means 64. Payload: `payload` is copied (memmove: it may lie inside buf) to
 * where it belongs; a NULL payload with len > 0 means the len bytes are
 * already in place at tk_*_payload_off(). Each builder returns the frame
 * length, or 0 if the frame does not fit cap or an IPv4 datagram.
 *
 * Pure: no allocation, no failure hook, nothing but wire.h, so the simulator's
 * guest (sim/gtcp.c) builds its frames with it too (library vnat_testkit_frame).
 */
#ifndef VNAT_TESTKIT_TK_FRAME_H
#define VNAT_TESTKIT_TK_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vnat/vnat.h>

#include "wire.h"

/* The Ethernet and IPv4 fields every IPv4 spec starts with. */
#define TK_IP_FIELDS                                                                               \
    const struct vnat_config *guest;                                                               \
    const uint8_t *eth_dst, *eth_src, *src, *dst;                                                  \
    uint16_t ip_id;                                                                                \
    uint8_t ttl

struct tk_tcp_spec {
    TK_IP_FIELDS;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;   /* VW_TCP_* */
    uint16_t window; /* as sent (already scaled down) */
    bool opt_mss, opt_wscale, opt_sack_perm, opt_ts;
    uint16_t mss;
    uint8_t wscale;
    uint32_t ts_val, ts_ecr;
    const void *payload;
    size_t len;
};
size_t tk_tcp_payload_off(const struct tk_tcp_spec *s);
size_t tk_tcp(const struct tk_tcp_spec *s, uint8_t *buf, size_t cap);

struct tk_udp_spec {
    TK_IP_FIELDS;
    uint16_t sport, dport;
    const void *payload;
    size_t len;
};
#define TK_UDP_PAYLOAD_OFF VW_UDP4_PAYLOAD_OFF
size_t tk_udp(const struct tk_udp_spec *s, uint8_t *buf, size_t cap);

/* ICMPv4: type, code, then the 4 header bytes after the checksum as two
 * 16-bit halves (the id and sequence number of an echo). */
struct tk_icmp_spec {
    TK_IP_FIELDS;
    uint8_t type, code;
    uint16_t id, seq;
    const void *payload;
    size_t len;
};
#define TK_ICMP_PAYLOAD_OFF VW_ICMP4_PAYLOAD_OFF
size_t tk_icmp(const struct tk_icmp_spec *s, uint8_t *buf, size_t cap);

/* ARP: NULL eth_dst is broadcast, NULL tha is zero; with `guest`, a NULL
 * sha is the guest MAC and a NULL spa the guest address. The Ethernet source
 * is sha. pad: zero-pad to the 60-byte Ethernet minimum (returns 60). */
struct tk_arp_spec {
    const struct vnat_config *guest;
    const uint8_t *eth_dst;
    uint16_t op; /* VW_ARP_REQUEST / VW_ARP_REPLY */
    const uint8_t *sha, *spa, *tha, *tpa;
    bool pad;
};
size_t tk_arp(const struct tk_arp_spec *s, uint8_t *buf, size_t cap);

#endif
