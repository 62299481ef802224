/*
 * map.h — a fixed-capacity hash map from nonzero 64-bit keys to 32-bit
 * values (open addressing, linear probing, backward-shift deletion). Used
 * for token -> socket in the simulated host and for the connection lookup
 * of the guest stack. Iteration order is never used, so addresses and hash
 * layout cannot leak into a run.
 */
#ifndef VNAT_SIM_MAP_H
#define VNAT_SIM_MAP_H

#include <stdbool.h>
#include <stdint.h>

struct sim_map {
    uint64_t *keys; /* 0 = empty */
    uint32_t *vals;
    uint32_t mask;
    uint32_t len;
};

/* capacity: the most keys it will ever hold. 0 or -1. */
int sim_map_init(struct sim_map *m, uint32_t capacity);
void sim_map_free(struct sim_map *m);
/* 0 inserted, 1 key already present (value unchanged), -1 full or key 0. */
int sim_map_put(struct sim_map *m, uint64_t key, uint32_t val);
bool sim_map_get(const struct sim_map *m, uint64_t key, uint32_t *val);
bool sim_map_del(struct sim_map *m, uint64_t key);

#endif
