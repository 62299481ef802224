/*
 * flow.c — the fixed-capacity flow table. Slots live in one array sized at
 * creation; a free list threads the unused ones (LIFO, so the order of slot
 * reuse depends only on the order of events, never on addresses). The index
 * is an open-addressed table (linear probing, at most half full) of
 * {hash, slot} pairs keyed by the SipHash of the 5-tuple: the key comes from
 * the seed, so the guest, which picks ports, cannot aim flows at one run of
 * the index. Keeping the hash in the index means a lookup of a new 5-tuple
 * (every guest SYN) touches one index cache line and no flow at all, which
 * keeps SYN cost flat however many flows are live. Removal shifts later
 * entries back (no tombstones), so probe runs never grow with churn. A
 * socket token is the slot index plus the slot's generation, so lookup by
 * token is an array access and a stale token is a generation mismatch.
 */
#include "internal.h"

void flow_table_init(struct vnat *nat)
{
    uint32_t n = nat->cfg.max_flows;
    for (uint32_t i = 0; i <= nat->bucket_mask; i++) {
        nat->buckets[i].slot = VNAT_NONE32;
        nat->buckets[i].hash = 0;
    }
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
    nat->hash_memo_valid = 0;
}

/* The SYN path hashes a key for the lookup and again for the insert that
 * follows a miss; the memo of the last key hashed saves the second SipHash. */
static uint32_t key_hash(struct vnat *nat, const struct flow_key *key)
{
    if (nat->hash_memo_valid && memcmp(&nat->hash_memo_key, key, sizeof *key) == 0)
        return nat->hash_memo;
    uint32_t h = (uint32_t)vnat_siphash24(nat->sip_table, key, sizeof *key);
    nat->hash_memo_key = *key;
    nat->hash_memo = h;
    nat->hash_memo_valid = 1;
    return h;
}

struct flow *flow_lookup(struct vnat *nat, const struct flow_key *key)
{
    uint32_t h = key_hash(nat, key);
    uint32_t mask = nat->bucket_mask;
    /* Bound: the index is at most half full, so a probe run ends at an
     * empty entry long before it could wrap; the step cap is belt and
     * braces. */
    for (uint32_t i = h & mask, steps = 0; steps <= mask; i = (i + 1) & mask, steps++) {
        const struct flow_ref *r = &nat->buckets[i];
        if (r->slot == VNAT_NONE32)
            return NULL;
        if (r->hash == h) {
            struct flow *f = &nat->flows[r->slot];
            if (memcmp(&f->key, key, sizeof *key) == 0)
                return f;
        }
    }
    return NULL;
}

static void index_insert(struct vnat *nat, uint32_t h, uint32_t slot)
{
    uint32_t mask = nat->bucket_mask;
    for (uint32_t i = h & mask, steps = 0; steps <= mask; i = (i + 1) & mask, steps++) {
        if (nat->buckets[i].slot == VNAT_NONE32) {
            nat->buckets[i].slot = slot;
            nat->buckets[i].hash = h;
            return;
        }
    }
    vnat_panic_(nat, "flow index full: more flows than max_flows");
}

/* Remove slot's entry and shift later entries of the probe run back so that
 * every remaining entry stays reachable from its home position. */
static void index_remove(struct vnat *nat, uint32_t h, uint32_t slot)
{
    uint32_t mask = nat->bucket_mask;
    uint32_t hole = VNAT_NONE32;
    for (uint32_t i = h & mask, steps = 0; steps <= mask; i = (i + 1) & mask, steps++) {
        if (nat->buckets[i].slot == VNAT_NONE32)
            break;
        if (nat->buckets[i].slot == slot) {
            hole = i;
            break;
        }
    }
    VNAT_VERIFY(nat, hole != VNAT_NONE32);
    uint32_t j = hole;
    for (uint32_t steps = 0; steps <= mask; steps++) {
        j = (j + 1) & mask;
        struct flow_ref *r = &nat->buckets[j];
        if (r->slot == VNAT_NONE32)
            break;
        uint32_t home = r->hash & mask;
        /* The entry at j may move into the hole only if its home is not in
         * the cyclic range (hole, j]. */
        bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays)
            continue;
        nat->buckets[hole] = *r;
        hole = j;
    }
    nat->buckets[hole].slot = VNAT_NONE32;
    nat->buckets[hole].hash = 0;
}

uint32_t flow_index_probe_len(const struct vnat *nat, const struct flow *f)
{
    uint32_t mask = nat->bucket_mask;
    uint32_t slot = flow_index(nat, f);
    uint32_t n = 1;
    for (uint32_t i = f->hash & mask; n <= mask + 1; i = (i + 1) & mask, n++) {
        if (nat->buckets[i].slot == slot)
            return n;
        if (nat->buckets[i].slot == VNAT_NONE32)
            return 0;
    }
    return 0;
}

bool flow_table_full(const struct vnat *nat)
{
    return nat->free_head == VNAT_NONE32;
}

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
    f->hash_next = VNAT_NONE32;
    index_insert(nat, f->hash, i);
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
    index_remove(nat, f->hash, i);
    f->in_use = 0;
    f->flags = 0;
    /* A new generation makes every token naming the old socket stale. */
    f->gen = f->gen == UINT32_MAX ? 1 : f->gen + 1;
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
