/*
 * pattern.h — self-describing byte streams with a check on every byte.
 *
 * Every stream the simulation carries (guest to host and host to guest) is
 * generated, never stored: its first 8 bytes are the stream's salt
 * (little-endian) and byte o >= 8 is table[(salt + o) mod P] of a fixed
 * pseudo-random table with a prime period P of about a megabyte. A receiver
 * learns the salt from the header, then checks every later byte against the
 * table: a byte lost, duplicated, reordered, corrupted or taken from another
 * flow shows up at its exact offset. Filling and checking are memcpy and
 * memcmp against the table, so the check costs no more than a copy.
 */
#ifndef VNAT_SIM_PATTERN_H
#define VNAT_SIM_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_PATTERN_HDR 8

/* Build the shared table once (idempotent, not thread-safe on first call). */
void sim_pattern_init(void);

/* Write stream bytes [off, off+len) of the stream with this salt. */
void sim_pattern_fill(uint64_t salt, uint64_t off, uint8_t *buf, size_t len);

/* The receiving side of one stream. */
struct sim_verifier {
    uint64_t off;         /* bytes checked so far */
    uint64_t salt;        /* learned from the header */
    uint64_t expect_salt; /* 0: any; else the header must carry this salt */
    uint64_t bad_off;     /* first offset that failed (valid if bad) */
    uint8_t hdr[SIM_PATTERN_HDR];
    bool bad;
};

void sim_verifier_init(struct sim_verifier *v, uint64_t expect_salt);
/* Check the next len bytes of the stream; false once any byte was wrong. */
bool sim_verifier_feed(struct sim_verifier *v, const uint8_t *data, size_t len);
/* Check len bytes at stream offset off (>= the header, salt known) without
 * advancing: for data that arrived out of order. False if any is wrong. */
bool sim_verifier_check_at(struct sim_verifier *v, uint64_t off, const uint8_t *data, size_t len);
/* Advance past n bytes already checked with sim_verifier_check_at. */
static inline void sim_verifier_skip(struct sim_verifier *v, uint64_t n)
{
    v->off += n;
}
/* True when the salt is known (8 header bytes seen). */
static inline bool sim_verifier_has_salt(const struct sim_verifier *v)
{
    return v->off >= SIM_PATTERN_HDR;
}

#endif
