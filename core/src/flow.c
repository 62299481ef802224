/*
 * flow.c — the fixed-capacity flow table. Slots live in one array sized at
 * creation; a free list threads the unused ones (LIFO, so the order of slot
 * reuse depends only on the order of events, never on addresses). A bucket
 * index maps the keyed SipHash of the 5-tuple to chains of slots: the key
 * comes from the seed, so the guest, which picks ports, cannot aim flows at
 * one bucket; with as many buckets as slots the expected chain length is
 * below one. A socket token is the slot index plus the slot's generation,
 * so lookup by token is an array access and a stale token is detected by a
 * generation mismatch.
 */
#include "internal.h"

void flow_table_init(struct vnat *nat)
{
    uint32_t n = nat->cfg.max_flows;
    for (uint32_t i = 0; i <= nat->bucket_mask; i++)
        nat->buckets[i] = VNAT_NONE32;
    for (uint32_t i = 0; i < n; i++) {
        struct flow *f = &nat->flows[i];
        memset(f, 0, sizeof *f);
        f->gen = 1;
        f->heap_pos = VNAT_NONE32;
        f->list_prev = f->list_next = VNAT_NONE32;
        f->link_prev = f->link_next = VNAT_NONE32;
        f->hash_next = (i + 1 < n) ? i + 1 : VNAT_NONE32;
    }
    nat->free_head = n > 0 ? 0 : VNAT_NONE32;
}

static uint32_t key_hash(const struct vnat *nat, const struct flow_key *key)
{
    return (uint32_t)vnat_siphash24(nat->sip_table, key, sizeof *key);
}

struct flow *flow_lookup(struct vnat *nat, const struct flow_key *key)
{
    uint32_t h = key_hash(nat, key);
    uint32_t i = nat->buckets[h & nat->bucket_mask];
    /* Bound: a chain can never be longer than the table. */
    for (uint32_t steps = 0; i != VNAT_NONE32 && steps < nat->cfg.max_flows; steps++) {
        struct flow *f = &nat->flows[i];
        if (f->hash == h && memcmp(&f->key, key, sizeof *key) == 0)
            return f;
        i = f->hash_next;
    }
    return NULL;
}

bool flow_table_full(const struct vnat *nat) { return nat->free_head == VNAT_NONE32; }

struct flow *flow_alloc(struct vnat *nat, const struct flow_key *key)
{
    if (nat->free_head == VNAT_NONE32)
        return NULL;
    uint32_t i = nat->free_head;
    struct flow *f = &nat->flows[i];
    VNAT_ASSERT(nat, !f->in_use);
    nat->free_head = f->hash_next;
    uint32_t gen = f->gen;
    memset(f, 0, sizeof *f);
    f->gen = gen;
    f->heap_pos = VNAT_NONE32;
    f->list_prev = f->list_next = VNAT_NONE32;
    f->link_prev = f->link_next = VNAT_NONE32;
    f->key = *key;
    f->hash = key_hash(nat, key);
    f->in_use = 1;
    uint32_t b = f->hash & nat->bucket_mask;
    f->hash_next = nat->buckets[b];
    nat->buckets[b] = i;
    nat->stats.flows_live++;
    return f;
}

void flow_free(struct vnat *nat, struct flow *f)
{
    VNAT_ASSERT(nat, f->in_use);
    uint32_t i = flow_index(nat, f);
    timer_list_clear(nat, f);
    timer_heap_clear(nat, f);
    link_wait_remove(nat, f);
    /* Unlink from the bucket chain. */
    uint32_t *pp = &nat->buckets[f->hash & nat->bucket_mask];
    for (uint32_t steps = 0; *pp != VNAT_NONE32 && steps < nat->cfg.max_flows; steps++) {
        if (*pp == i) {
            *pp = f->hash_next;
            break;
        }
        pp = &nat->flows[*pp].hash_next;
    }
    f->in_use = 0;
    f->flags = 0;
    /* A new generation makes every token naming the old socket stale. */
    f->gen = f->gen + 1 == 0 ? 1 : f->gen + 1;
    f->hash_next = nat->free_head;
    nat->free_head = i;
    VNAT_ASSERT(nat, nat->stats.flows_live > 0);
    nat->stats.flows_live--;
}

vnat_token flow_token(const struct vnat *nat, const struct flow *f)
{
    return ((uint64_t)f->gen << 32) | flow_index(nat, f);
}

struct flow *flow_by_token(struct vnat *nat, vnat_token tok)
{
    uint32_t slot = (uint32_t)tok;
    uint32_t gen = (uint32_t)(tok >> 32);
    if (slot >= nat->cfg.max_flows || gen == 0)
        return NULL;
    struct flow *f = &nat->flows[slot];
    if (!f->in_use || f->gen != gen || !(f->flags & FF_SOCKET))
        return NULL;
    return f;
}

void link_wait_add(struct vnat *nat, struct flow *f)
{
    if (f->flags & FF_LINK_WAIT)
        return;
    uint32_t i = flow_index(nat, f);
    f->flags |= FF_LINK_WAIT;
    f->link_next = VNAT_NONE32;
    f->link_prev = nat->link_tail;
    if (nat->link_tail == VNAT_NONE32)
        nat->link_head = i;
    else
        nat->flows[nat->link_tail].link_next = i;
    nat->link_tail = i;
}

void link_wait_remove(struct vnat *nat, struct flow *f)
{
    if (!(f->flags & FF_LINK_WAIT))
        return;
    if (f->link_prev == VNAT_NONE32)
        nat->link_head = f->link_next;
    else
        nat->flows[f->link_prev].link_next = f->link_next;
    if (f->link_next == VNAT_NONE32)
        nat->link_tail = f->link_prev;
    else
        nat->flows[f->link_next].link_prev = f->link_prev;
    f->link_prev = f->link_next = VNAT_NONE32;
    f->flags &= (uint16_t)~FF_LINK_WAIT;
}
