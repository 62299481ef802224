/*
 * fuzzgen.h — generators shared by the core fuzz targets: a configuration
 * chosen by one input byte, and guest frames for the services (DNS, DHCP,
 * UDP, ICMP echo, ARP) built with the wire layer so their lengths and
 * checksums are valid whatever the input bytes say.
 */
#ifndef VNAT_FUZZ_FUZZGEN_H
#define VNAT_FUZZ_FUZZGEN_H

#include <stddef.h>
#include <stdint.h>
#include <vnat/vnat.h>

#include "fuzzhost.h"

/* Bytes of the static arena the targets create cores in (enough for the
 * largest configuration fz_config can choose). */
#define FZ_ARENA (1u << 20)

/* Fill *cfg from selector byte c (limits, MTU, rate limit, rules, DNS
 * servers, forwards); the rules and forwards live in static storage. */
void fz_config(struct vnat_config *cfg, uint8_t c);

/* Guest service frames. Each draws its choices from s (front) and returns
 * the frame length written to frame (0 if nothing was built). */
size_t fz_gen_udp(const struct fz_host *h, struct fz_src *s, uint8_t *frame, size_t cap);
size_t fz_gen_icmp_arp(const struct fz_host *h, struct fz_src *s, uint8_t *frame, size_t cap);

#endif
