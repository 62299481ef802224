/*
 * timer.h — layer 1: the timer data structures, so that a tick costs
 * O(expired) and the next deadline is O(1). This layer only keeps deadlines
 * in order; it never calls a protocol. The dispatcher (dispatch.c) pops due
 * timers with timer_pop_due() and routes each to its owner.
 *
 * A timer node is embedded in every flow slot (flow.h); the timer layer
 * reaches node i at node_base + i * node_stride, so it needs nothing of the
 * flow's layout, and a slot's timers share its cache lines.
 */
#ifndef VNAT_TIMER_H
#define VNAT_TIMER_H

#include "base.h"

/* Fixed-duration timer classes: every node on one class list shares the same
 * duration, so appending at the tail keeps each list sorted by deadline.
 * Each protocol sets the durations of its classes (timer_set_duration). */
enum timer_class {
    TCLASS_NONE = 0,
    TCLASS_CONNECT,    /* connect_timeout_ns */
    TCLASS_IDLE,       /* tcp_idle_timeout_ns */
    TCLASS_CLOSING,    /* tcp_closing_timeout_ns */
    TCLASS_UDP,        /* udp_timeout_ns: UDP flow not answered yet */
    TCLASS_UDP_STREAM, /* udp_stream_timeout_ns: UDP flow that saw both directions */
    TCLASS_ICMP,       /* icmp_timeout_ns */
    TCLASS_LINGER,     /* TCP_LINGER_NS: a closed TCP flow re-acknowledges late FINs */
    TCLASS_COUNT
};

/* Variable timers (one per node at most), kept in a binary min-heap. */
enum heap_kind { HKIND_NONE = 0, HKIND_RTO, HKIND_PERSIST, HKIND_COUNT };

/* Instance-level timers: one deadline each, not tied to a flow, fired by the
 * dispatcher like the others. ITIMER_ROUTER_ADV is reserved for the periodic
 * IPv6 router advertisement; nothing arms it yet. */
enum inst_timer { ITIMER_ROUTER_ADV = 0, ITIMER_COUNT };

/* One slot's timers: a place on one class list, a place in the heap. */
struct timer_node {
    uint32_t list_prev, list_next; /* class list, VNAT_NONE32 at the ends */
    uint32_t heap_pos;             /* index in the heap, VNAT_NONE32 if absent */
    uint8_t list_class;            /* enum timer_class */
    uint8_t heap_kind;             /* enum heap_kind */
    uint8_t pad_[2];
    uint64_t list_deadline;
    uint64_t heap_deadline;
};

struct timer_list {
    uint32_t head, tail;
    uint32_t count;
    uint32_t pad_;
    uint64_t duration;
};

/* The timer layer's part of the instance (nat->timers). */
struct timer_state {
    struct timer_list lists[TCLASS_COUNT];
    uint32_t *heap; /* slot indices, heap_len used, cap entries */
    uint32_t heap_len;
    uint32_t cap; /* number of nodes */
    uint8_t *node_base;
    size_t node_stride;
    uint64_t inst[ITIMER_COUNT]; /* instance timer deadlines, UINT64_MAX = not armed */
};

/* What timer_pop_due() found due (and disarmed). */
struct timer_due {
    enum { TDUE_LIST, TDUE_HEAP, TDUE_INSTANCE } what;
    uint32_t slot;         /* TDUE_LIST, TDUE_HEAP */
    enum timer_class cls;  /* TDUE_LIST */
    enum heap_kind kind;   /* TDUE_HEAP */
    enum inst_timer timer; /* TDUE_INSTANCE */
};

/* nodes: cap timer nodes, stride bytes apart (the first at node0); heap: cap
 * entries. Every node starts on no list and out of the heap. */
void timer_init(struct vnat *nat, void *node0, size_t stride, uint32_t cap, uint32_t *heap);
void timer_node_reset(struct timer_node *n);
void timer_set_duration(struct vnat *nat, enum timer_class c, uint64_t ns);

void timer_list_set(struct vnat *nat, uint32_t slot, enum timer_class c); /* (re)append */
void timer_list_touch(struct vnat *nat, uint32_t slot); /* move to tail, new deadline */
/* Restore (snap.c): append a node that is on no list to the tail of list c
 * with the deadline it had. The caller appends in list order; a deadline
 * below the tail's breaks the order, which timer_check() reports. */
void timer_list_append_at(struct vnat *nat, uint32_t slot, enum timer_class c, uint64_t deadline);
void timer_list_clear(struct vnat *nat, uint32_t slot);
void timer_heap_set(struct vnat *nat, uint32_t slot, enum heap_kind k, uint64_t deadline);
void timer_heap_clear(struct vnat *nat, uint32_t slot);
void timer_inst_set(struct vnat *nat, enum inst_timer t, uint64_t deadline);
void timer_inst_clear(struct vnat *nat, enum inst_timer t);

/* The node that has waited longest on class c's list (its head: a list is
 * in deadline order), or VNAT_NONE32 if the list is empty. O(1). When not
 * empty, *since is the time it was put there or last touched. */
uint32_t timer_list_oldest(const struct vnat *nat, enum timer_class c, uint64_t *since);

uint64_t timer_next_deadline(const struct vnat *nat);
/* The earliest timer due at nat->now, disarmed and counted (timers_fired):
 * true and *d filled, or false if none is due. Lists before the heap before
 * instance timers on equal deadlines. */
bool timer_pop_due(struct vnat *nat, struct timer_due *d);
uint32_t timer_heap_len(const struct vnat *nat);
/* The structures' own invariants (order, links, counts): 0 or 1 and why. */
int timer_check(const struct vnat *nat, char *why, size_t why_len);

#endif
