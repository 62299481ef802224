/*
 * rng.c — SplitMix64 stream and the byte-fed mode (see rng.h).
 */
#include "rng.h"

#include <string.h>

#define SIM_GOLDEN_GAMMA 0x9e3779b97f4a7c15ull

uint64_t sim_mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
    memset(r, 0, sizeof *r);
    r->state = sim_mix64(seed ^ 0x5eed5eed5eed5eedull);
}

void sim_rng_from_bytes(struct sim_rng *r, const uint8_t *bytes, size_t len)
{
    /* The fallback stream is keyed by the whole input (FNV-1a), so two
     * inputs that share a prefix still diverge once the bytes run out. */
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ bytes[i]) * 0x100000001b3ull;
    sim_rng_seed(r, h);
    r->bytes = bytes;
    r->bytes_len = len;
}

static uint64_t rng_stream(struct sim_rng *r)
{
    r->state += SIM_GOLDEN_GAMMA;
    return sim_mix64(r->state);
}

/* Take up to `want` input bytes as a little-endian value; false when the
 * input is exhausted (the caller then uses the stream). */
static bool rng_take(struct sim_rng *r, unsigned want, uint64_t *out)
{
    if (r->bytes == NULL || r->bytes_pos >= r->bytes_len)
        return false;
    uint64_t v = 0;
    for (unsigned i = 0; i < want && r->bytes_pos < r->bytes_len; i++)
        v |= (uint64_t)r->bytes[r->bytes_pos++] << (8 * i);
    *out = v;
    return true;
}

uint64_t sim_rng_u64(struct sim_rng *r)
{
    uint64_t v;
    r->draws++;
    if (rng_take(r, 8, &v))
        return v;
    return rng_stream(r);
}

uint64_t sim_rng_below(struct sim_rng *r, uint64_t n)
{
    if (n <= 1)
        return 0;
    r->draws++;
    uint64_t v;
    if (n <= 0xffffffffull) {
        if (rng_take(r, 4, &v))
            return v % n;
        v = rng_stream(r) >> 32;
        return (v * n) >> 32;
    }
    if (rng_take(r, 8, &v))
        return v % n;
    return (uint64_t)(((unsigned __int128)rng_stream(r) * n) >> 64);
}

uint64_t sim_rng_range(struct sim_rng *r, uint64_t lo, uint64_t hi)
{
    if (hi <= lo)
        return lo;
    if (lo == 0 && hi == UINT64_MAX)
        return sim_rng_u64(r);
    return lo + sim_rng_below(r, hi - lo + 1);
}

bool sim_rng_chance(struct sim_rng *r, uint32_t ppm)
{
    if (ppm == 0)
        return false;
    if (ppm >= 1000000)
        return true;
    return sim_rng_below(r, 1000000) < ppm;
}
