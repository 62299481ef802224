/*
 * flow.h — layer 2: the fixed-capacity flow table (flow.c has the design):
 * the slots, the open-addressed index, tokens, the free list and the list of
 * flows waiting for the guest link. A slot holds what every protocol shares
 * (the key, the token generation, flags, the host interest, its timers) and
 * FLOW_PROTO_BYTES of protocol state that only the protocol that owns the
 * flow reads (tcp_flow_of, dgram_of: tcp.h, dgram.h).
 */
#ifndef VNAT_FLOW_H
#define VNAT_FLOW_H

#include "base.h"
#include "timer.h"

/* The 5-tuple as the guest sees it. IPv6-ready: addresses are full
 * vnat_ip values. Padding is always zero so the key can be hashed and
 * compared as bytes. */
struct flow_key {
    struct vnat_ip guest_ip;
    struct vnat_ip dst_ip;
    uint16_t guest_port;
    uint16_t dst_port;
    uint8_t proto;
    uint8_t pad_[3];
};

/* Flow flags every protocol shares; the other bits of flags are the owning
 * protocol's (tcp.h). */
#define FF_SOCKET 0x0001u    /* owns a live host socket (token valid) */
#define FF_LINK_WAIT 0x0080u /* on the link-wait list */

#define FLOW_PROTO_BYTES 96

struct flow {
    struct flow_key key;
    uint32_t hash;                 /* keyed hash of key (low 32 bits) */
    uint32_t hash_next;            /* next free slot while on the free list */
    uint32_t gen;                  /* token generation of this slot, never 0 */
    uint32_t link_prev, link_next; /* link-wait list */
    uint16_t flags;                /* FF_* */
    uint8_t in_use;
    uint8_t interest; /* VNAT_WANT_* currently set on the host socket */
    struct timer_node tm;
    /* The owning protocol's state (struct tcp_flow, struct dgram_flow). */
    union {
        uint64_t align_;
        uint8_t bytes[FLOW_PROTO_BYTES];
    } u;
};

/* One entry of the flow index: the key's hash and the flow's slot
 * (slot VNAT_NONE32 = empty). */
struct flow_ref {
    uint32_t hash;
    uint32_t slot;
};

/* The flow layer's part of the instance (nat->ft). */
struct flow_table {
    struct flow *slots;     /* max_flows */
    struct flow_ref *index; /* open-addressed, index_mask + 1 entries */
    uint32_t index_mask;
    uint32_t free_head;
    uint32_t link_head, link_tail; /* flows waiting for the guest link */
    uint64_t sip[2];               /* index hash key */
    struct flow_key memo_key;      /* last key hashed (flow.c key_hash) */
    uint32_t memo;
    uint32_t memo_valid;
};

/* slots: cfg.max_flows; index: nindex entries (a power of two, at least
 * twice max_flows); heap: the timer heap, max_flows entries. Initialises the
 * timer layer over the slots' timer nodes too. */
void flow_table_init(struct vnat *nat, struct flow *slots, struct flow_ref *index, uint32_t nindex,
                     uint32_t *heap);
struct flow *flow_lookup(struct vnat *nat, const struct flow_key *key);
struct flow *flow_alloc(struct vnat *nat, const struct flow_key *key); /* NULL if full */
void flow_free(struct vnat *nat, struct flow *f);
struct flow *flow_by_token(struct vnat *nat, vnat_token tok);
vnat_token flow_token(const struct vnat *nat, const struct flow *f);
bool flow_table_full(const struct vnat *nat);
/* The token flow_alloc() gives the next flow (the free list is LIFO and a
 * slot keeps its generation until freed or burnt); the table is not full. */
vnat_token flow_next_token(const struct vnat *nat);
/* Retire the token of a free slot that named a socket closed at once (the
 * slot moves to its next generation, as flow_free does). */
void flow_burn_token(struct vnat *nat, vnat_token tok);
/* Restore (snap.c): make free slot `slot` (off the free list, which the
 * caller rebuilds) a live flow under key, indexed and counted in
 * flows_live. VNAT_OK, or VNAT_E_SNAP_DUPLICATE if the key or the slot is
 * taken. */
vnat_err flow_restore_slot(struct vnat *nat, uint32_t slot, const struct flow_key *key);
/* Position (1-based) of f in its index probe run, 0 if missing (pins, invariants). */
uint32_t flow_index_probe_len(const struct vnat *nat, const struct flow *f);
/* The table's own invariants (index, free list, counters, timers): 0, or 1
 * and why. Per-flow protocol checks are the protocols' (dispatch.c). */
int flow_table_check(const struct vnat *nat, char *why, size_t why_len);

static inline uint32_t flow_index(const struct vnat *nat, const struct flow *f)
{
    return (uint32_t)(f - nat->ft->slots);
}
static inline struct flow *flow_at(const struct vnat *nat, uint32_t slot)
{
    VNAT_ASSERT(nat, slot < nat->cfg.max_flows);
    return &nat->ft->slots[slot];
}

/* Flows that lost a frame to a full guest link, resumed by link-writable. */
void link_wait_add(struct vnat *nat, struct flow *f);
void link_wait_remove(struct vnat *nat, struct flow *f);
/* The oldest waiting flow, taken off the list, or NULL. */
struct flow *link_wait_pop(struct vnat *nat);

/* A flow's timers (timer.h) by its slot. */
static inline void flow_timer_set(struct vnat *nat, struct flow *f, enum timer_class c)
{
    timer_list_set(nat, flow_index(nat, f), c);
}
static inline void flow_timer_touch(struct vnat *nat, struct flow *f)
{
    timer_list_touch(nat, flow_index(nat, f));
}
static inline void flow_timer_clear(struct vnat *nat, struct flow *f)
{
    timer_list_clear(nat, flow_index(nat, f));
}
static inline void flow_heap_set(struct vnat *nat, struct flow *f, enum heap_kind k,
                                 uint64_t deadline)
{
    timer_heap_set(nat, flow_index(nat, f), k, deadline);
}
static inline void flow_heap_clear(struct vnat *nat, struct flow *f)
{
    timer_heap_clear(nat, flow_index(nat, f));
}

#endif
