/*
 * map.c — see map.h.
 */
#include "map.h"

#include "rng.h"

#include <stdlib.h>

int sim_map_init(struct sim_map *m, uint32_t capacity)
{
    uint32_t size = 16;
    while (size < 2u * capacity + 2u && size < (1u << 30))
        size <<= 1;
    m->keys = calloc(size, sizeof *m->keys);
    m->vals = calloc(size, sizeof *m->vals);
    m->mask = size - 1;
    m->len = 0;
    return m->keys && m->vals ? 0 : -1;
}

void sim_map_free(struct sim_map *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
}

static uint32_t map_slot(const struct sim_map *m, uint64_t key)
{
    return (uint32_t)sim_mix64(key) & m->mask;
}

int sim_map_put(struct sim_map *m, uint64_t key, uint32_t val)
{
    if (key == 0 || m->len + 1 > m->mask / 2 + 1)
        return -1;
    uint32_t i = map_slot(m, key);
    for (uint32_t n = 0; n <= m->mask; n++, i = (i + 1) & m->mask) {
        if (m->keys[i] == key)
            return 1;
        if (m->keys[i] == 0) {
            m->keys[i] = key;
            m->vals[i] = val;
            m->len++;
            return 0;
        }
    }
    return -1;
}

bool sim_map_get(const struct sim_map *m, uint64_t key, uint32_t *val)
{
    if (key == 0)
        return false;
    uint32_t i = map_slot(m, key);
    for (uint32_t n = 0; n <= m->mask; n++, i = (i + 1) & m->mask) {
        if (m->keys[i] == key) {
            *val = m->vals[i];
            return true;
        }
        if (m->keys[i] == 0)
            return false;
    }
    return false;
}

bool sim_map_del(struct sim_map *m, uint64_t key)
{
    if (key == 0)
        return false;
    uint32_t i = map_slot(m, key);
    uint32_t n;
    for (n = 0; n <= m->mask; n++, i = (i + 1) & m->mask) {
        if (m->keys[i] == key)
            break;
        if (m->keys[i] == 0)
            return false;
    }
    if (n > m->mask)
        return false;
    /* Backward-shift: pull later members of the probe run into the hole. */
    uint32_t hole = i;
    uint32_t j = i;
    for (n = 0; n <= m->mask; n++) {
        j = (j + 1) & m->mask;
        if (m->keys[j] == 0)
            break;
        uint32_t home = map_slot(m, m->keys[j]);
        /* Move j into the hole if its home is not in (hole, j] cyclically. */
        bool in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!in_range) {
            m->keys[hole] = m->keys[j];
            m->vals[hole] = m->vals[j];
            hole = j;
        }
    }
    m->keys[hole] = 0;
    m->len--;
    return true;
}
