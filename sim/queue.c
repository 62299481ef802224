/*
 * queue.c — binary min-heap on (at, seq). See queue.h.
 */
#include "queue.h"

#include <stdlib.h>

int sim_queue_init(struct sim_queue *q, size_t initial, size_t max_cap, uint64_t start_time)
{
    if (initial == 0)
        initial = 64;
    if (initial > max_cap)
        initial = max_cap;
    q->heap = malloc(initial * sizeof *q->heap);
    if (q->heap == NULL)
        return -1;
    q->len = 0;
    q->cap = initial;
    q->max_cap = max_cap;
    q->next_seq = 0;
    q->now = start_time;
    q->popped = 0;
    return 0;
}

void sim_queue_free(struct sim_queue *q)
{
    free(q->heap);
    q->heap = NULL;
    q->len = q->cap = 0;
}

static bool ev_before(const struct sim_event *a, const struct sim_event *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

int sim_queue_push(struct sim_queue *q, uint64_t at, uint32_t kind, uint32_t arg, uint64_t id,
                   void *ptr)
{
    if (q->len == q->cap) {
        if (q->cap >= q->max_cap)
            return -1;
        size_t ncap = q->cap * 2 > q->max_cap ? q->max_cap : q->cap * 2;
        struct sim_event *n = realloc(q->heap, ncap * sizeof *n);
        if (n == NULL)
            return -1;
        q->heap = n;
        q->cap = ncap;
    }
    struct sim_event ev = {.at = at < q->now ? q->now : at,
                           .seq = q->next_seq++,
                           .kind = kind,
                           .arg = arg,
                           .id = id,
                           .ptr = ptr};
    size_t i = q->len++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!ev_before(&ev, &q->heap[parent]))
            break;
        q->heap[i] = q->heap[parent];
        i = parent;
    }
    q->heap[i] = ev;
    return 0;
}

bool sim_queue_pop(struct sim_queue *q, struct sim_event *out)
{
    if (q->len == 0)
        return false;
    *out = q->heap[0];
    struct sim_event last = q->heap[--q->len];
    size_t i = 0;
    size_t n = q->len;
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= n)
            break;
        size_t c = l;
        if (l + 1 < n && ev_before(&q->heap[l + 1], &q->heap[l]))
            c = l + 1;
        if (!ev_before(&q->heap[c], &last))
            break;
        q->heap[i] = q->heap[c];
        i = c;
    }
    if (n > 0)
        q->heap[i] = last;
    /* The clock never runs back: events are clamped at push. */
    if (out->at > q->now)
        q->now = out->at;
    q->popped++;
    return true;
}

uint64_t sim_queue_peek_time(const struct sim_queue *q)
{
    return q->len ? q->heap[0].at : UINT64_MAX;
}
