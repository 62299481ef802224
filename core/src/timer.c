/*
 * timer.c — layer 1: every timer of every flow, so that a tick costs
 * O(expired) and the next deadline is O(1) (timer.h).
 *
 * Fixed-duration timers (connect, idle, closing) live on one intrusive
 * doubly-linked FIFO list per class. All entries of a class share one
 * duration, so an entry appended at `now` has the latest deadline: the list
 * stays sorted by construction and its head is its earliest deadline.
 * Refreshing an idle timer is an O(1) unlink and append.
 *
 * Variable timers (retransmission and zero-window persist) live in a binary
 * min-heap of flow indices ordered by (deadline, slot index), at most one
 * entry per flow: O(log n) to arm or cancel, O(1) to peek.
 *
 * Due timers fire at the start of every event whose now has passed them,
 * earliest first: the dispatcher pops them here one at a time and routes
 * each to its protocol, whose handler either frees its flow or re-arms
 * strictly in the future, so the loop is bounded. Nothing here calls up.
 */
#include "timer.h"

#include "fmt.h"

static inline struct timer_node *node(const struct vnat *nat, uint32_t slot)
{
    const struct timer_state *t = nat->timers;
    return (struct timer_node *)(void *)(t->node_base + (size_t)slot * t->node_stride);
}

void timer_node_reset(struct timer_node *n)
{
    n->list_prev = n->list_next = VNAT_NONE32;
    n->heap_pos = VNAT_NONE32;
    n->list_class = TCLASS_NONE;
    n->heap_kind = HKIND_NONE;
    n->list_deadline = n->heap_deadline = 0;
}

void timer_init(struct vnat *nat, void *node0, size_t stride, uint32_t cap, uint32_t *heap)
{
    struct timer_state *t = nat->timers;
    VNAT_ASSERT(nat, cap == 0 || (node0 != NULL && stride >= sizeof(struct timer_node)));
    memset(t, 0, sizeof *t);
    for (int c = 0; c < TCLASS_COUNT; c++)
        t->lists[c].head = t->lists[c].tail = VNAT_NONE32;
    t->heap = heap;
    t->heap_len = 0;
    t->cap = cap;
    t->node_base = node0;
    t->node_stride = stride;
    for (int i = 0; i < ITIMER_COUNT; i++)
        t->inst[i] = UINT64_MAX;
}

void timer_set_duration(struct vnat *nat, enum timer_class c, uint64_t ns)
{
    VNAT_ASSERT(nat, c > TCLASS_NONE && c < TCLASS_COUNT && nat->timers->lists[c].count == 0);
    nat->timers->lists[c].duration = ns;
}

void timer_list_clear(struct vnat *nat, uint32_t slot)
{
    struct timer_node *f = node(nat, slot);
    if (f->list_class == TCLASS_NONE)
        return;
    VNAT_ASSERT(nat, slot < nat->timers->cap && f->list_class < TCLASS_COUNT);
    struct timer_list *l = &nat->timers->lists[f->list_class];
    if (f->list_prev == VNAT_NONE32)
        l->head = f->list_next;
    else
        node(nat, f->list_prev)->list_next = f->list_next;
    if (f->list_next == VNAT_NONE32)
        l->tail = f->list_prev;
    else
        node(nat, f->list_next)->list_prev = f->list_prev;
    VNAT_ASSERT(nat, l->count > 0);
    l->count--;
    f->list_prev = f->list_next = VNAT_NONE32;
    f->list_class = TCLASS_NONE;
    f->list_deadline = 0;
}

void timer_list_set(struct vnat *nat, uint32_t slot, enum timer_class c)
{
    timer_list_clear(nat, slot);
    if (c == TCLASS_NONE)
        return;
    VNAT_ASSERT(nat, slot < nat->timers->cap && c < TCLASS_COUNT);
    uint64_t d = nat->now + nat->timers->lists[c].duration;
    timer_list_append_at(nat, slot, c, d < nat->now ? UINT64_MAX : d); /* saturate */
}

void timer_list_append_at(struct vnat *nat, uint32_t slot, enum timer_class c, uint64_t deadline)
{
    VNAT_ASSERT(nat, slot < nat->timers->cap && c > TCLASS_NONE && c < TCLASS_COUNT);
    struct timer_list *l = &nat->timers->lists[c];
    struct timer_node *f = node(nat, slot);
    VNAT_ASSERT(nat, f->list_class == TCLASS_NONE);
    f->list_deadline = deadline;
    f->list_class = (uint8_t)c;
    f->list_next = VNAT_NONE32;
    f->list_prev = l->tail;
    if (l->tail == VNAT_NONE32)
        l->head = slot;
    else
        node(nat, l->tail)->list_next = slot;
    l->tail = slot;
    l->count++;
    VNAT_ASSERT(nat, l->count <= nat->timers->cap);
}

uint32_t timer_list_oldest(const struct vnat *nat, enum timer_class c, uint64_t *since)
{
    VNAT_ASSERT(nat, c > TCLASS_NONE && c < TCLASS_COUNT);
    const struct timer_list *l = &nat->timers->lists[c];
    if (l->head == VNAT_NONE32)
        return VNAT_NONE32;
    uint64_t d = node(nat, l->head)->list_deadline;
    *since = d >= l->duration ? d - l->duration : 0;
    return l->head;
}

void timer_list_touch(struct vnat *nat, uint32_t slot)
{
    const struct timer_node *f = node(nat, slot);
    if (f->list_class == TCLASS_NONE)
        return;
    VNAT_ASSERT(nat, f->list_class < TCLASS_COUNT);
    /* Already the newest entry at this instant: nothing to move. */
    if (f->list_next == VNAT_NONE32 &&
        f->list_deadline == nat->now + nat->timers->lists[f->list_class].duration)
        return;
    timer_list_set(nat, slot, (enum timer_class)f->list_class);
}

/* ---- heap ---- */

static bool heap_before(const struct vnat *nat, uint32_t a, uint32_t b)
{
    uint64_t da = node(nat, a)->heap_deadline, db = node(nat, b)->heap_deadline;
    return da < db || (da == db && a < b);
}

static void heap_put(struct vnat *nat, uint32_t pos, uint32_t idx)
{
    nat->timers->heap[pos] = idx;
    node(nat, idx)->heap_pos = pos;
}

static void heap_up(struct vnat *nat, uint32_t pos)
{
    const uint32_t *heap = nat->timers->heap;
    VNAT_ASSERT(nat, pos < nat->timers->heap_len);
    uint32_t idx = heap[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (!heap_before(nat, idx, heap[parent]))
            break;
        heap_put(nat, pos, heap[parent]);
        pos = parent;
    }
    heap_put(nat, pos, idx);
}

static void heap_down(struct vnat *nat, uint32_t pos)
{
    const uint32_t *heap = nat->timers->heap;
    uint32_t len = nat->timers->heap_len;
    VNAT_ASSERT(nat, pos < len);
    uint32_t idx = heap[pos];
    for (;;) {
        uint32_t l = 2 * pos + 1, r = l + 1, m = pos;
        uint32_t best = idx;
        if (l < len && heap_before(nat, heap[l], best)) {
            m = l;
            best = heap[l];
        }
        if (r < len && heap_before(nat, heap[r], best)) {
            m = r;
            best = heap[r];
        }
        if (m == pos)
            break;
        heap_put(nat, pos, best);
        pos = m;
    }
    heap_put(nat, pos, idx);
}

void timer_heap_clear(struct vnat *nat, uint32_t slot)
{
    struct timer_node *f = node(nat, slot);
    if (f->heap_pos == VNAT_NONE32)
        return;
    struct timer_state *t = nat->timers;
    uint32_t pos = f->heap_pos;
    VNAT_ASSERT(nat, pos < t->heap_len && t->heap[pos] == slot);
    f->heap_pos = VNAT_NONE32;
    f->heap_kind = HKIND_NONE;
    t->heap_len--;
    if (pos != t->heap_len) {
        uint32_t moved = t->heap[t->heap_len];
        heap_put(nat, pos, moved);
        heap_up(nat, pos);
        heap_down(nat, node(nat, moved)->heap_pos);
    }
}

void timer_heap_set(struct vnat *nat, uint32_t slot, enum heap_kind k, uint64_t deadline)
{
    timer_heap_clear(nat, slot);
    if (k == HKIND_NONE)
        return;
    struct timer_state *t = nat->timers;
    VNAT_ASSERT(nat, t->heap_len < t->cap && slot < t->cap && k < HKIND_COUNT);
    struct timer_node *f = node(nat, slot);
    f->heap_kind = (uint8_t)k;
    f->heap_deadline = deadline;
    t->heap_len++;
    heap_put(nat, t->heap_len - 1, slot);
    heap_up(nat, t->heap_len - 1);
}

uint32_t timer_heap_len(const struct vnat *nat)
{
    return nat->timers->heap_len;
}

/* ---- instance timers ---- */

void timer_inst_set(struct vnat *nat, enum inst_timer t, uint64_t deadline)
{
    VNAT_ASSERT(nat, (unsigned)t < ITIMER_COUNT && deadline != UINT64_MAX);
    nat->timers->inst[t] = deadline;
}

void timer_inst_clear(struct vnat *nat, enum inst_timer t)
{
    VNAT_ASSERT(nat, (unsigned)t < ITIMER_COUNT);
    nat->timers->inst[t] = UINT64_MAX;
}

/* ---- expiry ---- */

/* The earliest armed timer (see timer_pop_due for the order of ties). */
static uint64_t earliest(const struct vnat *nat, struct timer_due *d)
{
    const struct timer_state *t = nat->timers;
    VNAT_ASSERT(nat, t->heap_len <= t->cap);
    uint64_t bd = UINT64_MAX;
    for (int c = 1; c < TCLASS_COUNT; c++) {
        uint32_t h = t->lists[c].head;
        if (h != VNAT_NONE32 && node(nat, h)->list_deadline < bd) {
            bd = node(nat, h)->list_deadline;
            *d = (struct timer_due){.what = TDUE_LIST, .slot = h, .cls = (enum timer_class)c};
        }
    }
    if (t->heap_len > 0 && node(nat, t->heap[0])->heap_deadline < bd) {
        const struct timer_node *n = node(nat, t->heap[0]);
        bd = n->heap_deadline;
        *d = (struct timer_due){
            .what = TDUE_HEAP, .slot = t->heap[0], .kind = (enum heap_kind)n->heap_kind};
    }
    for (int i = 0; i < ITIMER_COUNT; i++) {
        if (t->inst[i] < bd) {
            bd = t->inst[i];
            *d = (struct timer_due){.what = TDUE_INSTANCE, .timer = (enum inst_timer)i};
        }
    }
    return bd;
}

uint64_t timer_next_deadline(const struct vnat *nat)
{
    struct timer_due d;
    return earliest(nat, &d);
}

bool timer_pop_due(struct vnat *nat, struct timer_due *d)
{
    uint64_t bd = earliest(nat, d);
    if (bd == UINT64_MAX || bd > nat->now)
        return false;
    VNAT_ASSERT(nat, d->what == TDUE_INSTANCE || d->slot < nat->timers->cap);
    nat->stats.timers_fired++;
    if (d->what == TDUE_LIST)
        timer_list_clear(nat, d->slot);
    else if (d->what == TDUE_HEAP)
        timer_heap_clear(nat, d->slot);
    else
        timer_inst_clear(nat, d->timer);
    return true;
}

int timer_check(const struct vnat *nat, char *why, size_t why_len)
{
    const struct timer_state *t = nat->timers;
    for (int c = 1; c < TCLASS_COUNT; c++) {
        const struct timer_list *l = &t->lists[c];
        uint32_t i = l->head, prev = VNAT_NONE32, n = 0;
        uint64_t last = 0;
        while (i != VNAT_NONE32) {
            if (n++ > t->cap || i >= t->cap)
                return fmt_fail(why, why_len, "timer list has a cycle");
            const struct timer_node *f = node(nat, i);
            if (f->list_class != c || f->list_prev != prev)
                return fmt_fail(why, why_len, "timer list entry inconsistent");
            if (f->list_deadline < last)
                return fmt_fail(why, why_len, "timer list not sorted");
            last = f->list_deadline;
            prev = i;
            i = f->list_next;
        }
        if (prev != l->tail || n != l->count)
            return fmt_fail(why, why_len, "timer list tail or count wrong");
    }
    for (uint32_t p = 0; p < t->heap_len; p++) {
        const struct timer_node *f = node(nat, t->heap[p]);
        if (t->heap[p] >= t->cap || f->heap_pos != p || f->heap_kind == HKIND_NONE)
            return fmt_fail(why, why_len, "timer heap entry inconsistent");
        if (p > 0 && heap_before(nat, t->heap[p], t->heap[(p - 1) / 2]))
            return fmt_fail(why, why_len, "timer heap order broken");
    }
    return 0;
}
