/*
 * queue.h — the virtual clock and the one event queue.
 *
 * Every future happening in a simulation (a frame arriving, a connect
 * completing, a timer) is an event with a due time. Events are popped in
 * (time, sequence number) order: the sequence number is assigned at push,
 * so two events due at the same nanosecond run in the order they were
 * scheduled and a run never depends on heap layout or memory addresses.
 * Popping an event advances the clock to its time; time never runs back.
 * The queue is a binary heap with a hard capacity: overflowing it is a
 * simulator bug, reported, never silently absorbed.
 */
#ifndef VNAT_SIM_QUEUE_H
#define VNAT_SIM_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_event {
    uint64_t at;   /* due time, ns of virtual time */
    uint64_t seq;  /* push order: the tie-breaker */
    uint32_t kind; /* owner-defined */
    uint32_t arg;  /* owner-defined small argument */
    uint64_t id;   /* owner-defined: token, connection id, generation */
    void *ptr;     /* owner-defined: a frame buffer, a socket */
};

struct sim_queue {
    struct sim_event *heap;
    size_t len;
    size_t cap;     /* current allocation */
    size_t max_cap; /* hard bound */
    uint64_t next_seq;
    uint64_t now;    /* the virtual clock: time of the last popped event */
    uint64_t popped; /* events popped so far */
};

/* 0, or -1 when memory is short. max_cap bounds the number of pending
 * events; initial is the first allocation. */
int sim_queue_init(struct sim_queue *q, size_t initial, size_t max_cap, uint64_t start_time);
void sim_queue_free(struct sim_queue *q);

/* Schedule an event at absolute time `at` (clamped up to now: the past is
 * closed). Returns 0, or -1 when the queue is at its hard bound. */
int sim_queue_push(struct sim_queue *q, uint64_t at, uint32_t kind, uint32_t arg, uint64_t id,
                   void *ptr);
/* Pop the earliest event into *ev and advance the clock. False if empty. */
bool sim_queue_pop(struct sim_queue *q, struct sim_event *ev);
/* Time of the earliest pending event, or UINT64_MAX. */
uint64_t sim_queue_peek_time(const struct sim_queue *q);

#endif
