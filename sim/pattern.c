/*
 * pattern.c — the stream table and the fill/check routines (pattern.h).
 */
#include "pattern.h"

#include "rng.h"

#include <string.h>

/* Period: a prime, so no segment size or window is a multiple of it. */
#define PATTERN_PERIOD 1048573u
/* Slack after the period so any chunk of up to PATTERN_CHUNK bytes starting
 * anywhere in [0, P) is contiguous. */
#define PATTERN_CHUNK 65536u

static uint8_t pattern_table[PATTERN_PERIOD + PATTERN_CHUNK];
static bool pattern_ready;

void sim_pattern_init(void)
{
    if (pattern_ready)
        return;
    struct sim_rng r;
    sim_rng_seed(&r, 0x7061747465726e31ull); /* fixed: the table is part of the format */
    for (size_t i = 0; i < PATTERN_PERIOD; i += 8) {
        uint64_t v = sim_rng_u64(&r);
        for (size_t k = 0; k < 8 && i + k < PATTERN_PERIOD; k++)
            pattern_table[i + k] = (uint8_t)(v >> (8 * k));
    }
    memcpy(pattern_table + PATTERN_PERIOD, pattern_table, PATTERN_CHUNK);
    pattern_ready = true;
}

/* Index of the first byte where a and b differ (n if none). */
static size_t first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t i = 0;
    for (; i < n; i++)
        if (a[i] != b[i])
            break;
    return i;
}

static size_t pattern_index(uint64_t salt, uint64_t off)
{
    return (size_t)((salt % PATTERN_PERIOD + off % PATTERN_PERIOD) % PATTERN_PERIOD);
}

void sim_pattern_fill(uint64_t salt, uint64_t off, uint8_t *buf, size_t len)
{
    while (len > 0 && off < SIM_PATTERN_HDR) {
        *buf++ = (uint8_t)(salt >> (8 * off));
        off++;
        len--;
    }
    while (len > 0) {
        size_t n = len < PATTERN_CHUNK ? len : PATTERN_CHUNK;
        memcpy(buf, pattern_table + pattern_index(salt, off), n);
        buf += n;
        off += n;
        len -= n;
    }
}

void sim_verifier_init(struct sim_verifier *v, uint64_t expect_salt)
{
    memset(v, 0, sizeof *v);
    v->expect_salt = expect_salt;
}

static void verifier_fail(struct sim_verifier *v, uint64_t off)
{
    if (!v->bad) {
        v->bad = true;
        v->bad_off = off;
    }
}

bool sim_verifier_feed(struct sim_verifier *v, const uint8_t *data, size_t len)
{
    while (len > 0 && v->off < SIM_PATTERN_HDR) {
        v->hdr[v->off++] = *data++;
        len--;
        if (v->off == SIM_PATTERN_HDR) {
            uint64_t s = 0;
            for (int i = SIM_PATTERN_HDR - 1; i >= 0; i--)
                s = (s << 8) | v->hdr[i];
            v->salt = s;
            if (v->expect_salt != 0 && s != v->expect_salt)
                verifier_fail(v, 0);
        }
    }
    while (len > 0) {
        size_t n = len < PATTERN_CHUNK ? len : PATTERN_CHUNK;
        const uint8_t *want = pattern_table + pattern_index(v->salt, v->off);
        if (!v->bad && memcmp(data, want, n) != 0)
            verifier_fail(v, v->off + first_diff(data, want, n));
        data += n;
        v->off += n;
        len -= n;
    }
    return !v->bad;
}

bool sim_verifier_check_at(struct sim_verifier *v, uint64_t off, const uint8_t *data, size_t len)
{
    if (off < SIM_PATTERN_HDR || v->off < SIM_PATTERN_HDR) {
        verifier_fail(v, off);
        return false;
    }
    while (len > 0) {
        size_t n = len < PATTERN_CHUNK ? len : PATTERN_CHUNK;
        const uint8_t *want = pattern_table + pattern_index(v->salt, off);
        if (memcmp(data, want, n) != 0) {
            verifier_fail(v, off + first_diff(data, want, n));
            return false;
        }
        data += n;
        off += n;
        len -= n;
    }
    return !v->bad;
}
