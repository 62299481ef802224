/*
 * rng.h — the simulator's one random source.
 *
 * Every choice the simulator makes (swarm mix, fault rolls, timings, stream
 * salts) is drawn from a sim_rng. A run is a pure function of its source:
 * either a 64-bit seed (a SplitMix64 stream) or raw bytes handed over by a
 * fuzzer. In byte mode each draw consumes the next bytes of the input, so a
 * fuzzer's mutations steer the choices directly; once the bytes run out the
 * source continues as a seeded stream keyed by a hash of all the input, so
 * every input still names exactly one run.
 */
#ifndef VNAT_SIM_RNG_H
#define VNAT_SIM_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_rng {
    uint64_t state;       /* SplitMix64 counter */
    const uint8_t *bytes; /* byte mode: the fuzzer's input (not owned) */
    size_t bytes_len;
    size_t bytes_pos;
    uint64_t draws; /* how many draws so far (for diagnostics) */
};

/* Seeded mode. */
void sim_rng_seed(struct sim_rng *r, uint64_t seed);
/* Byte mode: the bytes must outlive the source. */
void sim_rng_from_bytes(struct sim_rng *r, const uint8_t *bytes, size_t len);

/* A uniformly distributed 64-bit value. */
uint64_t sim_rng_u64(struct sim_rng *r);
/* A value in [0, n); n == 0 gives 0. Consumes 4 input bytes in byte mode
 * when n fits in 32 bits, else 8. */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n);
/* A value in [lo, hi] (inclusive); hi < lo gives lo. */
uint64_t sim_rng_range(struct sim_rng *r, uint64_t lo, uint64_t hi);
/* True with probability ppm / 1e6. ppm 0 never draws (so a fault rate of
 * zero does not perturb the stream of other choices). */
bool sim_rng_chance(struct sim_rng *r, uint32_t ppm);

/* The SplitMix64 finaliser, also used to derive independent values. */
uint64_t sim_mix64(uint64_t x);

#endif
