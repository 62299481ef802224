/*
 * siphash.h — layer 0: SipHash-2-4 and the key derivation from the seed.
 */
#ifndef VNAT_SIPHASH_H
#define VNAT_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t vnat_siphash24(const uint64_t key[2], const void *data, size_t len);
/* Two independent key words for one purpose (domain) from the seed. */
void vnat_derive_key(uint64_t seed, uint64_t domain, uint64_t out[2]);

#endif
