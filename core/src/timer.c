/*
 * timer.c — every timer of every flow, so that a tick costs O(expired) and
 * the next deadline is O(1).
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
 * earliest first; a handler either frees its flow or re-arms strictly in the
 * future, so the loop is bounded.
 */
#include "internal.h"

void timer_init(struct vnat *nat)
{
    for (int c = 0; c < TCLASS_COUNT; c++) {
        nat->lists[c].head = nat->lists[c].tail = VNAT_NONE32;
        nat->lists[c].count = 0;
    }
    nat->lists[TCLASS_CONNECT].duration = nat->cfg.connect_timeout_ns;
    nat->lists[TCLASS_IDLE].duration = nat->cfg.tcp_idle_timeout_ns;
    nat->lists[TCLASS_CLOSING].duration = nat->cfg.tcp_closing_timeout_ns;
    nat->lists[TCLASS_UDP].duration = nat->cfg.udp_timeout_ns;
    nat->lists[TCLASS_UDP_STREAM].duration = nat->cfg.udp_stream_timeout_ns;
    nat->lists[TCLASS_ICMP].duration = nat->cfg.icmp_timeout_ns;
    nat->lists[TCLASS_LINGER].duration = nat->cfg.tcp_closing_timeout_ns < TCP_LINGER_NS
                                             ? nat->cfg.tcp_closing_timeout_ns
                                             : TCP_LINGER_NS;
    nat->heap_len = 0;
}

void timer_list_clear(struct vnat *nat, struct flow *f)
{
    if (f->list_class == TCLASS_NONE)
        return;
    struct timer_list *l = &nat->lists[f->list_class];
    if (f->list_prev == VNAT_NONE32)
        l->head = f->list_next;
    else
        nat->flows[f->list_prev].list_next = f->list_next;
    if (f->list_next == VNAT_NONE32)
        l->tail = f->list_prev;
    else
        nat->flows[f->list_next].list_prev = f->list_prev;
    VNAT_ASSERT(nat, l->count > 0);
    l->count--;
    f->list_prev = f->list_next = VNAT_NONE32;
    f->list_class = TCLASS_NONE;
    f->list_deadline = 0;
}

void timer_list_set(struct vnat *nat, struct flow *f, enum timer_class c)
{
    timer_list_clear(nat, f);
    if (c == TCLASS_NONE)
        return;
    struct timer_list *l = &nat->lists[c];
    uint32_t i = flow_index(nat, f);
    uint64_t d = nat->now + l->duration;
    f->list_deadline = d < nat->now ? UINT64_MAX : d; /* saturate */
    f->list_class = (uint8_t)c;
    f->list_next = VNAT_NONE32;
    f->list_prev = l->tail;
    if (l->tail == VNAT_NONE32)
        l->head = i;
    else
        nat->flows[l->tail].list_next = i;
    l->tail = i;
    l->count++;
}

void timer_list_touch(struct vnat *nat, struct flow *f)
{
    if (f->list_class == TCLASS_NONE)
        return;
    /* Already the newest entry at this instant: nothing to move. */
    if (f->list_next == VNAT_NONE32 &&
        f->list_deadline == nat->now + nat->lists[f->list_class].duration)
        return;
    timer_list_set(nat, f, (enum timer_class)f->list_class);
}

/* ---- heap ---- */

static bool heap_before(const struct vnat *nat, uint32_t a, uint32_t b)
{
    uint64_t da = nat->flows[a].heap_deadline, db = nat->flows[b].heap_deadline;
    return da < db || (da == db && a < b);
}

static void heap_put(struct vnat *nat, uint32_t pos, uint32_t idx)
{
    nat->heap[pos] = idx;
    nat->flows[idx].heap_pos = pos;
}

static void heap_up(struct vnat *nat, uint32_t pos)
{
    uint32_t idx = nat->heap[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (!heap_before(nat, idx, nat->heap[parent]))
            break;
        heap_put(nat, pos, nat->heap[parent]);
        pos = parent;
    }
    heap_put(nat, pos, idx);
}

static void heap_down(struct vnat *nat, uint32_t pos)
{
    uint32_t idx = nat->heap[pos];
    for (;;) {
        uint32_t l = 2 * pos + 1, r = l + 1, m = pos;
        uint32_t best = idx;
        if (l < nat->heap_len && heap_before(nat, nat->heap[l], best)) {
            m = l;
            best = nat->heap[l];
        }
        if (r < nat->heap_len && heap_before(nat, nat->heap[r], best)) {
            m = r;
            best = nat->heap[r];
        }
        if (m == pos)
            break;
        heap_put(nat, pos, best);
        pos = m;
    }
    heap_put(nat, pos, idx);
}

void timer_heap_clear(struct vnat *nat, struct flow *f)
{
    if (f->heap_pos == VNAT_NONE32)
        return;
    uint32_t pos = f->heap_pos;
    VNAT_ASSERT(nat, pos < nat->heap_len && nat->heap[pos] == flow_index(nat, f));
    f->heap_pos = VNAT_NONE32;
    f->heap_kind = HKIND_NONE;
    nat->heap_len--;
    if (pos != nat->heap_len) {
        uint32_t moved = nat->heap[nat->heap_len];
        heap_put(nat, pos, moved);
        heap_up(nat, pos);
        heap_down(nat, nat->flows[moved].heap_pos);
    }
}

void timer_heap_set(struct vnat *nat, struct flow *f, enum heap_kind k, uint64_t deadline)
{
    timer_heap_clear(nat, f);
    if (k == HKIND_NONE)
        return;
    VNAT_ASSERT(nat, nat->heap_len < nat->cfg.max_flows);
    f->heap_kind = (uint8_t)k;
    f->heap_deadline = deadline;
    nat->heap_len++;
    heap_put(nat, nat->heap_len - 1, flow_index(nat, f));
    heap_up(nat, nat->heap_len - 1);
}

uint64_t timer_next_deadline(const struct vnat *nat)
{
    uint64_t best = UINT64_MAX;
    for (int c = 1; c < TCLASS_COUNT; c++) {
        uint32_t h = nat->lists[c].head;
        if (h != VNAT_NONE32 && nat->flows[h].list_deadline < best)
            best = nat->flows[h].list_deadline;
    }
    if (nat->heap_len > 0 && nat->flows[nat->heap[0]].heap_deadline < best)
        best = nat->flows[nat->heap[0]].heap_deadline;
    return best;
}

static void fire_list(struct vnat *nat, struct flow *f)
{
    enum timer_class c = (enum timer_class)f->list_class;
    timer_list_clear(nat, f);
    if (f->key.proto == VNAT_PROTO_TCP)
        tcp_on_list_timer(nat, f, c);
    else
        services_on_flow_timer(nat, f, c);
}

static void fire_heap(struct vnat *nat, struct flow *f)
{
    enum heap_kind k = (enum heap_kind)f->heap_kind;
    timer_heap_clear(nat, f);
    if (f->key.proto == VNAT_PROTO_TCP)
        tcp_on_heap_timer(nat, f, k);
}

void timer_fire_due(struct vnat *nat)
{
    uint64_t bound = 4ull * nat->cfg.max_flows + 16;
    for (uint64_t n = 0; n < bound; n++) {
        struct flow *best = NULL;
        uint64_t bd = UINT64_MAX;
        bool from_heap = false;
        for (int c = 1; c < TCLASS_COUNT; c++) {
            uint32_t h = nat->lists[c].head;
            if (h != VNAT_NONE32 && nat->flows[h].list_deadline < bd) {
                best = &nat->flows[h];
                bd = best->list_deadline;
            }
        }
        if (nat->heap_len > 0 && nat->flows[nat->heap[0]].heap_deadline < bd) {
            best = &nat->flows[nat->heap[0]];
            bd = best->heap_deadline;
            from_heap = true;
        }
        if (best == NULL || bd > nat->now)
            return;
        nat->stats.timers_fired++;
        if (from_heap)
            fire_heap(nat, best);
        else
            fire_list(nat, best);
    }
}

static int fail(char *why, size_t why_len, const char *msg)
{
    if (why != NULL && why_len > 0) {
        struct fmt_buf b = {why, why_len, 0};
        fmt_str(&b, msg);
        fmt_finish(&b);
    }
    return 1;
}

int timer_check(const struct vnat *nat, char *why, size_t why_len)
{
    uint32_t total = 0;
    for (int c = 1; c < TCLASS_COUNT; c++) {
        const struct timer_list *l = &nat->lists[c];
        uint32_t i = l->head, prev = VNAT_NONE32, n = 0;
        uint64_t last = 0;
        while (i != VNAT_NONE32) {
            if (n++ > nat->cfg.max_flows)
                return fail(why, why_len, "timer list has a cycle");
            const struct flow *f = &nat->flows[i];
            if (!f->in_use || f->list_class != c || f->list_prev != prev)
                return fail(why, why_len, "timer list entry inconsistent");
            if (f->list_deadline < last)
                return fail(why, why_len, "timer list not sorted");
            last = f->list_deadline;
            prev = i;
            i = f->list_next;
        }
        if (prev != l->tail || n != l->count)
            return fail(why, why_len, "timer list tail or count wrong");
        total += n;
    }
    for (uint32_t p = 0; p < nat->heap_len; p++) {
        const struct flow *f = &nat->flows[nat->heap[p]];
        if (!f->in_use || f->heap_pos != p || f->heap_kind == HKIND_NONE)
            return fail(why, why_len, "timer heap entry inconsistent");
        if (p > 0 && heap_before(nat, nat->heap[p], nat->heap[(p - 1) / 2]))
            return fail(why, why_len, "timer heap order broken");
    }
    (void)total;
    return 0;
}
