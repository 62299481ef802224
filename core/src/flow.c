/*
 * flow.c — layer 2: the fixed-capacity flow table. Slots live in one array sized at
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
#include "flow.h"

#include "fmt.h"
#include "siphash.h"

/* The index hash key's domain in the seed (vnat_derive_key). */
#define FLOW_KEY_DOMAIN 1

void flow_table_init(struct vnat *nat, struct flow *slots, struct flow_ref *index, uint32_t nindex,
                     uint32_t *heap)
{
    struct flow_table *t = nat->ft;
    uint32_t n = nat->cfg.max_flows;
    VNAT_ASSERT(nat, nindex >= 2 * (uint64_t)n && (nindex & (nindex - 1)) == 0);
    memset(t, 0, sizeof *t);
    t->slots = slots;
    t->index = index;
    t->index_mask = nindex - 1;
    t->link_head = t->link_tail = VNAT_NONE32;
    vnat_derive_key(nat->cfg.seed, FLOW_KEY_DOMAIN, t->sip);
    for (uint32_t i = 0; i <= t->index_mask; i++) {
        index[i].slot = VNAT_NONE32;
        index[i].hash = 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct flow *f = &slots[i];
        memset(f, 0, sizeof *f);
        f->gen = 1;
        timer_node_reset(&f->tm);
        f->link_prev = f->link_next = VNAT_NONE32;
        f->hash_next = (i + 1 < n) ? i + 1 : VNAT_NONE32;
    }
    t->free_head = n > 0 ? 0 : VNAT_NONE32;
    t->memo_valid = 0;
    timer_init(nat, n > 0 ? &slots[0].tm : NULL, sizeof(struct flow), n, heap);
}

/* The SYN path hashes a key for the lookup and again for the insert that
 * follows a miss; the memo of the last key hashed saves the second SipHash. */
static uint32_t key_hash(struct vnat *nat, const struct flow_key *key)
{
    struct flow_table *t = nat->ft;
    if (t->memo_valid && memcmp(&t->memo_key, key, sizeof *key) == 0)
        return t->memo;
    uint32_t h = (uint32_t)vnat_siphash24(t->sip, key, sizeof *key);
    t->memo_key = *key;
    t->memo = h;
    t->memo_valid = 1;
    return h;
}

/* Keys are hashed and compared as bytes: their padding must be zero. */
#define key_clean(key) (((key)->pad_[0] | (key)->pad_[1] | (key)->pad_[2]) == 0)

struct flow *flow_lookup(struct vnat *nat, const struct flow_key *key)
{
    VNAT_ASSERT(nat, key_clean(key));
    uint32_t h = key_hash(nat, key);
    uint32_t mask = nat->ft->index_mask;
    /* Bound: the index is at most half full, so a probe run ends at an
     * empty entry long before it could wrap; the step cap is belt and
     * braces. */
    for (uint32_t i = h & mask, steps = 0; steps <= mask; i = (i + 1) & mask, steps++) {
        const struct flow_ref *r = &nat->ft->index[i];
        if (r->slot == VNAT_NONE32)
            return NULL;
        if (r->hash == h) {
            struct flow *f = &nat->ft->slots[r->slot];
            if (memcmp(&f->key, key, sizeof *key) == 0)
                return f;
        }
    }
    return NULL;
}

static void index_insert(struct vnat *nat, uint32_t h, uint32_t slot)
{
    uint32_t mask = nat->ft->index_mask;
    VNAT_ASSERT(nat, slot < nat->cfg.max_flows && nat->stats.flows_live < nat->cfg.max_flows);
    for (uint32_t i = h & mask, steps = 0; steps <= mask; i = (i + 1) & mask, steps++) {
        if (nat->ft->index[i].slot == VNAT_NONE32) {
            nat->ft->index[i].slot = slot;
            nat->ft->index[i].hash = h;
            return;
        }
    }
    vnat_panic_(nat, "flow index full: more flows than max_flows");
}

/* Remove slot's entry and shift later entries of the probe run back so that
 * every remaining entry stays reachable from its home position. */
static void index_remove(struct vnat *nat, uint32_t h, uint32_t slot)
{
    uint32_t mask = nat->ft->index_mask;
    uint32_t hole = VNAT_NONE32;
    for (uint32_t i = h & mask, steps = 0; steps <= mask; i = (i + 1) & mask, steps++) {
        if (nat->ft->index[i].slot == VNAT_NONE32)
            break;
        if (nat->ft->index[i].slot == slot) {
            hole = i;
            break;
        }
    }
    VNAT_VERIFY(nat, hole != VNAT_NONE32);
    uint32_t j = hole;
    for (uint32_t steps = 0; steps <= mask; steps++) {
        j = (j + 1) & mask;
        struct flow_ref *r = &nat->ft->index[j];
        if (r->slot == VNAT_NONE32)
            break;
        uint32_t home = r->hash & mask;
        /* The entry at j may move into the hole only if its home is not in
         * the cyclic range (hole, j]. */
        bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays)
            continue;
        nat->ft->index[hole] = *r;
        hole = j;
    }
    nat->ft->index[hole].slot = VNAT_NONE32;
    nat->ft->index[hole].hash = 0;
}

uint32_t flow_index_probe_len(const struct vnat *nat, const struct flow *f)
{
    uint32_t mask = nat->ft->index_mask;
    uint32_t slot = flow_index(nat, f);
    uint32_t n = 1;
    for (uint32_t i = f->hash & mask; n <= mask + 1; i = (i + 1) & mask, n++) {
        if (nat->ft->index[i].slot == slot)
            return n;
        if (nat->ft->index[i].slot == VNAT_NONE32)
            return 0;
    }
    return 0;
}

bool flow_table_full(const struct vnat *nat)
{
    return nat->ft->free_head == VNAT_NONE32;
}

/* Slot i holds key from now on: hashed, indexed and counted. */
static void occupy(struct vnat *nat, struct flow *f, uint32_t i, const struct flow_key *key)
{
    f->key = *key;
    f->hash = key_hash(nat, key);
    f->in_use = 1;
    f->hash_next = VNAT_NONE32;
    index_insert(nat, f->hash, i);
    nat->stats.flows_live++;
}

struct flow *flow_alloc(struct vnat *nat, const struct flow_key *key)
{
    if (nat->ft->free_head == VNAT_NONE32)
        return NULL;
    uint32_t i = nat->ft->free_head;
    struct flow *f = &nat->ft->slots[i];
    VNAT_ASSERT(nat, i < nat->cfg.max_flows && !f->in_use && key_clean(key));
    nat->ft->free_head = f->hash_next;
    uint32_t gen = f->gen;
    memset(f, 0, sizeof *f);
    f->gen = gen;
    timer_node_reset(&f->tm);
    f->link_prev = f->link_next = VNAT_NONE32;
    occupy(nat, f, i, key);
    return f;
}

vnat_err flow_restore_slot(struct vnat *nat, uint32_t slot, const struct flow_key *key)
{
    VNAT_ASSERT(nat, slot < nat->cfg.max_flows && key_clean(key));
    struct flow *f = &nat->ft->slots[slot];
    if (f->in_use || flow_lookup(nat, key) != NULL)
        return VNAT_E_SNAP_DUPLICATE;
    occupy(nat, f, slot, key);
    return VNAT_OK;
}

void flow_free(struct vnat *nat, struct flow *f)
{
    VNAT_ASSERT(nat, f->in_use);
    uint32_t i = flow_index(nat, f);
    flow_timer_clear(nat, f);
    flow_heap_clear(nat, f);
    link_wait_remove(nat, f);
    index_remove(nat, f->hash, i);
    f->in_use = 0;
    f->flags = 0;
    /* A new generation makes every token naming the old socket stale. */
    f->gen = f->gen == UINT32_MAX ? 1 : f->gen + 1;
    f->hash_next = nat->ft->free_head;
    nat->ft->free_head = i;
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
    struct flow *f = &nat->ft->slots[slot];
    if (!f->in_use || f->gen != gen || !(f->flags & FF_SOCKET))
        return NULL;
    return f;
}

void link_wait_add(struct vnat *nat, struct flow *f)
{
    if (f->flags & FF_LINK_WAIT)
        return;
    uint32_t i = flow_index(nat, f);
    VNAT_ASSERT(nat, i < nat->cfg.max_flows && f->in_use);
    f->flags |= FF_LINK_WAIT;
    f->link_next = VNAT_NONE32;
    f->link_prev = nat->ft->link_tail;
    if (nat->ft->link_tail == VNAT_NONE32)
        nat->ft->link_head = i;
    else
        nat->ft->slots[nat->ft->link_tail].link_next = i;
    nat->ft->link_tail = i;
}

void link_wait_remove(struct vnat *nat, struct flow *f)
{
    if (!(f->flags & FF_LINK_WAIT))
        return;
    VNAT_ASSERT(nat, f->link_prev != flow_index(nat, f) && f->link_next != flow_index(nat, f));
    if (f->link_prev == VNAT_NONE32)
        nat->ft->link_head = f->link_next;
    else
        nat->ft->slots[f->link_prev].link_next = f->link_next;
    if (f->link_next == VNAT_NONE32)
        nat->ft->link_tail = f->link_prev;
    else
        nat->ft->slots[f->link_next].link_prev = f->link_prev;
    f->link_prev = f->link_next = VNAT_NONE32;
    f->flags &= (uint16_t)~FF_LINK_WAIT;
}

struct flow *link_wait_pop(struct vnat *nat)
{
    uint32_t i = nat->ft->link_head;
    if (i == VNAT_NONE32)
        return NULL;
    struct flow *f = &nat->ft->slots[i];
    VNAT_ASSERT(nat, i < nat->cfg.max_flows && f->in_use && (f->flags & FF_LINK_WAIT));
    link_wait_remove(nat, f);
    return f;
}

vnat_token flow_next_token(const struct vnat *nat)
{
    uint32_t i = nat->ft->free_head;
    VNAT_ASSERT(nat, i < nat->cfg.max_flows && !nat->ft->slots[i].in_use);
    return ((uint64_t)nat->ft->slots[i].gen << 32) | i;
}

void flow_burn_token(struct vnat *nat, vnat_token tok)
{
    struct flow *f = &nat->ft->slots[(uint32_t)tok];
    VNAT_ASSERT(nat, (uint32_t)tok < nat->cfg.max_flows);
    VNAT_ASSERT(nat, !f->in_use && f->gen == (uint32_t)(tok >> 32));
    f->gen = f->gen == UINT32_MAX ? 1 : f->gen + 1;
}

/* Every slot: a generation, no timer on a free slot, a live flow found under
 * its own key. Returns the number of live flows and heap entries seen. */
static int check_slots(const struct vnat *nat, char *why, size_t why_len, uint32_t *live,
                       uint32_t *in_heap)
{
    for (uint32_t i = 0; i < nat->cfg.max_flows; i++) {
        const struct flow *f = &nat->ft->slots[i];
        if (f->gen == 0)
            return fmt_fail_flow(why, why_len, "token generation 0", i);
        if (!f->in_use) {
            if (f->tm.list_class != TCLASS_NONE || f->tm.heap_pos != VNAT_NONE32 ||
                (f->flags & FF_LINK_WAIT))
                return fmt_fail_flow(why, why_len, "free slot still holds a timer", i);
            continue;
        }
        (*live)++;
        if (f->tm.heap_pos != VNAT_NONE32)
            (*in_heap)++;
        if (flow_lookup((struct vnat *)nat, &f->key) != f)
            return fmt_fail_flow(why, why_len, "flow not found under its key", i);
    }
    return 0;
}

/* Every index entry names a live flow with its hash; as many as live. */
static int check_index(const struct vnat *nat, char *why, size_t why_len, uint32_t live)
{
    const struct flow_table *t = nat->ft;
    uint32_t indexed = 0;
    for (uint32_t i = 0; i <= t->index_mask; i++) {
        const struct flow_ref *r = &t->index[i];
        if (r->slot == VNAT_NONE32)
            continue;
        if (r->slot >= nat->cfg.max_flows || !t->slots[r->slot].in_use ||
            t->slots[r->slot].hash != r->hash)
            return fmt_fail_flow(why, why_len, "flow index entry names a dead or different flow",
                                 i);
        indexed++;
    }
    if (indexed != live)
        return fmt_fail(why, why_len, "flow index holds a different number of flows");
    return 0;
}

int flow_table_check(const struct vnat *nat, char *why, size_t why_len)
{
    const struct flow_table *t = nat->ft;
    uint32_t live = 0, in_heap = 0;
    if (check_slots(nat, why, why_len, &live, &in_heap) != 0)
        return 1;
    if (live != nat->stats.flows_live)
        return fmt_fail(why, why_len, "flows_live counter disagrees with the table");
    if (check_index(nat, why, why_len, live) != 0)
        return 1;
    if (in_heap != timer_heap_len(nat))
        return fmt_fail(why, why_len, "timer heap size wrong");
    uint32_t free_n = 0;
    for (uint32_t i = t->free_head; i != VNAT_NONE32 && free_n <= nat->cfg.max_flows;
         i = t->slots[i].hash_next) {
        if (t->slots[i].in_use)
            return fmt_fail_flow(why, why_len, "free list holds a live flow", i);
        free_n++;
    }
    if (free_n + live != nat->cfg.max_flows)
        return fmt_fail(why, why_len, "free list length + live != capacity");
    return timer_check(nat, why, why_len);
}
