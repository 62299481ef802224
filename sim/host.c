/*
 * host.c — the simulated host: the vnat_host_ops the core calls, the
 * sockets behind them, and the remote applications at each destination.
 *
 * Sockets have bounded send and receive buffers (rings). The remote
 * application behind a connected socket runs in "pumps", scheduled one
 * one-way delay after anything it could react to: it reads what the core
 * sent (checking every byte), echoes or produces bytes into the receive
 * buffer as space allows, resets or closes as its destination says.
 *
 * Readiness follows epoll with EPOLLET re-armed by every interest change:
 * an event is delivered only when the socket has that interest AND the
 * condition holds at delivery time, and only after something changed (new
 * data or EOF, space freed, connect outcome, an error) or the interest was
 * just turned on while the condition held. Errors (a remote reset) are
 * reported as readable regardless of interest, like EPOLLERR. So the core
 * never needs a spurious wake-up to make progress, and never gets one
 * unless the run injects them on purpose (spurious_ppm).
 */
#include "sim.h"

#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- rings ------------------------------------------------------------------ */

static int ring_init(struct sim_ring *r, uint32_t cap)
{
    r->buf = malloc(cap ? cap : 1);
    r->cap = cap;
    r->head = 0;
    r->len = 0;
    return r->buf ? 0 : -1;
}

static void ring_free(struct sim_ring *r)
{
    free(r->buf);
    memset(r, 0, sizeof *r);
}

static uint32_t ring_space(const struct sim_ring *r)
{
    return r->cap - r->len;
}

static void ring_write(struct sim_ring *r, const uint8_t *src, uint32_t n)
{
    uint32_t tail = (r->head + r->len) % (r->cap ? r->cap : 1);
    uint32_t first = r->cap - tail < n ? r->cap - tail : n;
    memcpy(r->buf + tail, src, first);
    memcpy(r->buf, src + first, n - first);
    r->len += n;
}

static void ring_write_pattern(struct sim_ring *r, uint64_t salt, uint64_t off, uint32_t n)
{
    uint32_t tail = (r->head + r->len) % (r->cap ? r->cap : 1);
    uint32_t first = r->cap - tail < n ? r->cap - tail : n;
    sim_pattern_fill(salt, off, r->buf + tail, first);
    sim_pattern_fill(salt, off + first, r->buf, n - first);
    r->len += n;
}

static void ring_peek(const struct sim_ring *r, uint32_t off, uint8_t *dst, uint32_t n)
{
    uint32_t pos = (r->head + off) % r->cap;
    uint32_t first = r->cap - pos < n ? r->cap - pos : n;
    memcpy(dst, r->buf + pos, first);
    memcpy(dst + first, r->buf, n - first);
}

static void ring_drop(struct sim_ring *r, uint32_t n)
{
    r->head = (r->head + n) % (r->cap ? r->cap : 1);
    r->len -= n;
    if (r->len == 0)
        r->head = 0;
}

/* The two contiguous spans of the first n bytes. */
static void ring_spans(const struct sim_ring *r, uint32_t n, const uint8_t **a, uint32_t *alen,
                       const uint8_t **b, uint32_t *blen)
{
    uint32_t first = r->cap - r->head < n ? r->cap - r->head : n;
    *a = r->buf + r->head;
    *alen = first;
    *b = r->buf;
    *blen = n - first;
}

/* ---- sockets ----------------------------------------------------------------- */

int sim_host_init(struct sim_world *w)
{
    struct sim_host *h = &w->host;
    memset(h, 0, sizeof *h);
    /* Sockets never outnumber flows (plus forwards and the guest's datagram
     * applications): size the table so. */
    h->cap = w->cfg->max_sockets;
    uint32_t need = w->cfg->n_flows + 64 + gsvc_sockets_needed(w->cfg) +
                    sim_inbound_clients(w->cfg); /* + accepted inbound connections */
    if (h->cap > need)
        h->cap = need;
    h->socks = calloc(h->cap, sizeof *h->socks);
    h->dstats = calloc(w->cfg->n_dests + 1, sizeof *h->dstats);
    h->cap_remotes = 64;
    h->remotes = calloc(h->cap_remotes, sizeof *h->remotes);
    if (h->socks == NULL || h->remotes == NULL || h->dstats == NULL ||
        sim_map_init(&h->by_token, h->cap) != 0 || sim_map_init(&h->closed_tokens, h->cap) != 0)
        return -1;
    return 0;
}

/* A bound on the closed-token set: far beyond what any scenario or swarm
 * seed opens (a run's sockets are bounded by its configuration). */
#define HOST_MAX_CLOSED_TOKENS (1u << 22)

/* Remember a token the core closed; the set doubles when full. */
static void closed_token_add(struct sim_world *w, vnat_token tok)
{
    struct sim_map *m = &w->host.closed_tokens;
    if (m->len + 1 > (m->mask + 1) / 2) {
        uint32_t cap = m->len * 2 + 16;
        if (cap > HOST_MAX_CLOSED_TOKENS) {
            sim_fail(w, "host: more than %u closed tokens: a simulator bound was hit",
                     HOST_MAX_CLOSED_TOKENS);
            return;
        }
        struct sim_map n;
        if (sim_map_init(&n, cap) != 0) {
            sim_fail(w, "host: out of memory for the closed-token set");
            return;
        }
        /* Membership only: the order of re-insertion changes nothing seen. */
        for (uint32_t i = 0; i <= m->mask; i++)
            if (m->keys[i] != 0)
                sim_map_put(&n, m->keys[i], 0);
        sim_map_free(m);
        *m = n;
    }
    if (sim_map_put(m, tok, 0) < 0)
        sim_fail(w, "host: the closed-token set is full");
}

/* A new socket must be named by a token never closed before. */
static bool token_fresh(struct sim_world *w, vnat_token tok, const char *op)
{
    uint32_t dummy;
    if (!sim_map_get(&w->host.closed_tokens, tok, &dummy))
        return true;
    sim_fail(w, "host: %s names a new socket with token %#llx, which the core closed before", op,
             (unsigned long long)tok);
    return false;
}

static void hs_release(struct sim_world *w, struct hsock *s)
{
    ring_free(&s->tx);
    ring_free(&s->rx);
    for (uint32_t i = 0; i < s->dg_count; i++)
        free(s->dg_data[i]);
    sim_map_del(&w->host.by_token, s->tok);
    memset(s, 0, sizeof *s);
    w->host.open--;
}

void sim_host_free(struct sim_world *w)
{
    struct sim_host *h = &w->host;
    for (uint32_t i = 0; h->socks && i < h->cap; i++)
        if (h->socks[i].used)
            hs_release(w, &h->socks[i]);
    free(h->socks);
    free(h->remotes);
    free(h->dstats);
    sim_map_free(&h->by_token);
    sim_map_free(&h->closed_tokens);
    memset(h, 0, sizeof *h);
}

static struct hsock *hs_get(struct sim_world *w, vnat_token tok, const char *op)
{
    uint32_t i;
    if (sim_map_get(&w->host.by_token, tok, &i))
        return &w->host.socks[i];
    sim_fail(w, "host: %s on token %#llx, which names no open socket", op, (unsigned long long)tok);
    return NULL;
}

static struct hsock *hs_alloc(struct sim_world *w, vnat_token tok, uint8_t kind, const char *op)
{
    struct sim_host *h = &w->host;
    if (tok == VNAT_TOKEN_NONE) {
        sim_fail(w, "host: %s with token 0", op);
        return NULL;
    }
    uint32_t dummy;
    if (sim_map_get(&h->by_token, tok, &dummy)) {
        sim_fail(w, "host: %s reuses token %#llx, which names an open socket", op,
                 (unsigned long long)tok);
        return NULL;
    }
    for (uint32_t i = 0; i < h->cap; i++) {
        if (!h->socks[i].used) {
            struct hsock *s = &h->socks[i];
            memset(s, 0, sizeof *s);
            s->used = true;
            s->kind = kind;
            s->tok = tok;
            s->serial = ++h->serial;
            s->remote = UINT32_MAX;
            sim_map_put(&h->by_token, tok, i);
            h->open++;
            if (h->open > h->max_open)
                h->max_open = h->open;
            return s;
        }
    }
    return NULL;
}

static uint32_t hs_slot(const struct sim_world *w, const struct hsock *s)
{
    return (uint32_t)(s - w->host.socks);
}

static const struct sim_dest *find_dest(const struct sim_world *w, const struct vnat_sockaddr *a)
{
    const struct sim_config *cfg = w->cfg;
    for (uint32_t i = 0; i < cfg->n_dests; i++) {
        const struct sim_dest *d = &cfg->dests[i];
        if (d->addr.ip.family == a->ip.family &&
            memcmp(d->addr.ip.addr, a->ip.addr, sizeof a->ip.addr) == 0 &&
            (d->addr.port == 0 || d->addr.port == a->port))
            return d;
    }
    return &cfg->default_dest;
}

/* What reached destination d (the default destination is the last). */
static struct sim_dest_stats *dstats_of(struct sim_world *w, const struct sim_dest *d)
{
    const struct sim_config *cfg = w->cfg;
    uint32_t i = d == &cfg->default_dest ? cfg->n_dests : (uint32_t)(d - cfg->dests);
    return &w->host.dstats[i];
}

static void kick_notify(struct sim_world *w, struct hsock *s)
{
    if (s->notify_pending)
        return;
    s->notify_pending = true;
    sim_schedule(w, w->q.now, EV_HOST_NOTIFY, hs_slot(w, s), s->serial, NULL);
}

static void kick_pump(struct sim_world *w, struct hsock *s, uint64_t at)
{
    if (s->pump_pending)
        return;
    s->pump_pending = true;
    sim_schedule(w, at, EV_HOST_PUMP, hs_slot(w, s), s->serial, NULL);
}

static struct sim_remote *remote_of(struct sim_world *w, const struct hsock *s)
{
    return s->remote < w->host.n_remotes ? &w->host.remotes[s->remote] : NULL;
}

static uint32_t remote_new(struct sim_world *w, const struct hsock *s)
{
    struct sim_host *h = &w->host;
    if (h->n_remotes == h->cap_remotes) {
        struct sim_remote *n = realloc(h->remotes, 2 * h->cap_remotes * sizeof *n);
        if (n == NULL) {
            sim_fail(w, "host: out of memory for remote records");
            return UINT32_MAX;
        }
        h->remotes = n;
        h->cap_remotes *= 2;
    }
    struct sim_remote *r = &h->remotes[h->n_remotes];
    memset(r, 0, sizeof *r);
    r->dest = s->dest;
    r->salt = sim_mix64(w->cfg->seed ^ 0x72656d6f7465ull ^ ((uint64_t)s->serial << 20)) | 1;
    r->opened_at = w->q.now;
    sim_verifier_init(&r->ver, 0);
    return h->n_remotes++;
}

/* ---- host operations ----------------------------------------------------------- */

static int op_tcp_connect(void *ctx, vnat_token tok, const struct vnat_sockaddr *dst)
{
    struct sim_world *w = ctx;
    struct sim_host *h = &w->host;
    if (!token_fresh(w, tok, "tcp_connect"))
        return -EINVAL;
    if (h->open >= w->cfg->max_sockets) {
        h->refused_emfile++;
        return -EMFILE;
    }
    const struct sim_dest *d = find_dest(w, dst);
    dstats_of(w, d)->connects++;
    if (d->connect == SC_FAIL_NOW)
        return -ENETUNREACH;
    struct hsock *s = hs_alloc(w, tok, HS_TCP, "tcp_connect");
    if (s == NULL)
        return -EMFILE;
    s->state = HSS_CONNECTING;
    s->dest = d;
    h->connects++;
    if (d->connect != SC_BLACKHOLE)
        sim_schedule(w, w->q.now + d->latency, EV_HOST_CONNECT, hs_slot(w, s), s->serial, NULL);
    return 0;
}

static int op_tcp_listen(void *ctx, vnat_token tok, const struct vnat_sockaddr *local)
{
    struct sim_world *w = ctx;
    (void)local;
    if (!token_fresh(w, tok, "tcp_listen"))
        return -EINVAL;
    if (w->host.open >= w->cfg->max_sockets)
        return -EMFILE;
    struct hsock *s = hs_alloc(w, tok, HS_LISTEN, "tcp_listen");
    if (s == NULL)
        return -EMFILE;
    s->state = HSS_OPEN;
    sim_inbound_listen(w, tok, local, VNAT_PROTO_TCP);
    return 0;
}

/* The next client in the listener's accept queue (inbound.c) becomes an
 * open socket whose remote application is that client. */
static int op_tcp_accept(void *ctx, vnat_token listener, vnat_token tok, struct vnat_sockaddr *peer)
{
    struct sim_world *w = ctx;
    struct hsock *l = hs_get(w, listener, "tcp_accept");
    if (l == NULL)
        return -EBADF;
    if (l->kind != HS_LISTEN)
        return -EINVAL;
    if (!token_fresh(w, tok, "tcp_accept"))
        return -EINVAL;
    const struct sim_dest *d;
    struct vnat_sockaddr from;
    uint32_t client;
    if (!sim_inbound_next_pending(w, listener, &d, &from, &client))
        return -EAGAIN;
    if (w->host.open >= w->cfg->max_sockets) {
        w->host.refused_emfile++;
        return -EMFILE;
    }
    struct hsock *s = hs_alloc(w, tok, HS_TCP, "tcp_accept");
    if (s == NULL)
        return -EMFILE;
    s->dest = d;
    if (ring_init(&s->tx, d->sndbuf) != 0 || ring_init(&s->rx, d->rcvbuf) != 0) {
        sim_fail(w, "host: out of memory for socket buffers");
        hs_release(w, s);
        return -ENOMEM;
    }
    s->state = HSS_OPEN;
    s->remote = remote_new(w, s);
    if (s->remote < w->host.n_remotes)
        w->host.remotes[s->remote].inbound = true;
    sim_inbound_accepted(w, listener, client, s->remote);
    kick_pump(w, s, w->q.now + d->owd);
    if (peer)
        *peer = from;
    return 0;
}

static long op_send(void *ctx, vnat_token tok, const uint8_t *buf, size_t len)
{
    struct sim_world *w = ctx;
    struct hsock *s = hs_get(w, tok, "send");
    if (s == NULL)
        return -EBADF;
    if (s->kind != HS_TCP || s->state != HSS_OPEN)
        return -ENOTCONN;
    if (s->err) {
        int e = s->err;
        s->err = EPIPE;
        return -e;
    }
    if (s->tx_shut)
        return -EPIPE;
    uint32_t space = ring_space(&s->tx);
    if (len == 0)
        return 0;
    if (space == 0)
        return -EAGAIN;
    uint32_t n = len < space ? (uint32_t)len : space;
    if (n > 1 && sim_rng_chance(&w->rng, w->cfg->partial_ppm)) {
        n = 1 + (uint32_t)sim_rng_below(&w->rng, n - 1);
        w->host.partial_writes++;
    }
    ring_write(&s->tx, buf, n);
    kick_pump(w, s, w->q.now + s->dest->owd);
    return n;
}

static long op_send_space(void *ctx, vnat_token tok)
{
    struct sim_world *w = ctx;
    struct hsock *s = hs_get(w, tok, "send_space");
    if (s == NULL)
        return -EBADF;
    if (s->kind != HS_TCP || s->state != HSS_OPEN)
        return -ENOTCONN;
    if (s->err)
        return -s->err;
    if (s->tx_shut)
        return -EPIPE;
    return ring_space(&s->tx);
}

static long op_peek(void *ctx, vnat_token tok, size_t offset, uint8_t *buf, size_t len)
{
    struct sim_world *w = ctx;
    struct hsock *s = hs_get(w, tok, "peek");
    if (s == NULL)
        return -EBADF;
    if (s->kind != HS_TCP || s->state != HSS_OPEN)
        return -ENOTCONN;
    if (s->err)
        return -s->err;
    if (offset < s->rx.len) {
        size_t n = s->rx.len - offset;
        if (n > len)
            n = len;
        ring_peek(&s->rx, (uint32_t)offset, buf, (uint32_t)n);
        return (long)n;
    }
    return s->rx_eof ? 0 : -EAGAIN;
}

static int op_discard(void *ctx, vnat_token tok, size_t len)
{
    struct sim_world *w = ctx;
    struct hsock *s = hs_get(w, tok, "discard");
    if (s == NULL)
        return -EBADF;
    if (s->kind != HS_TCP || s->state != HSS_OPEN)
        return -ENOTCONN;
    if (s->err)
        return -s->err;
    if (len > s->rx.len) {
        sim_fail(w, "host: the core discarded %zu bytes of token %#llx, but only %u are there", len,
                 (unsigned long long)tok, s->rx.len);
        return -EINVAL;
    }
    ring_drop(&s->rx, (uint32_t)len);
    struct sim_remote *r = remote_of(w, s);
    if (r)
        r->discarded += len;
    if (len)
        kick_pump(w, s, w->q.now + s->dest->owd);
    return 0;
}

static int op_shutdown_write(void *ctx, vnat_token tok)
{
    struct sim_world *w = ctx;
    struct hsock *s = hs_get(w, tok, "shutdown_write");
    if (s == NULL)
        return -EBADF;
    if (s->kind != HS_TCP || s->state != HSS_OPEN)
        return -ENOTCONN;
    if (s->err)
        return -ENOTCONN;
    s->tx_shut = true;
    kick_pump(w, s, w->q.now + s->dest->owd);
    return 0;
}

static void remote_read_all(struct sim_world *w, struct hsock *s, struct sim_remote *r);

static void op_close(void *ctx, vnat_token tok, int reset)
{
    struct sim_world *w = ctx;
    struct hsock *s = hs_get(w, tok, "close");
    if (s == NULL)
        return;
    if (s->kind == HS_DGRAM && s->dest != NULL) {
        struct sim_dest_stats *ds = dstats_of(w, s->dest);
        uint64_t idle = w->q.now - s->last_dgram_at;
        if (ds->closed_dgram == 0 || idle < ds->idle_min)
            ds->idle_min = idle;
        if (idle > ds->idle_max)
            ds->idle_max = idle;
        ds->closed_dgram++;
    }
    struct sim_remote *r = remote_of(w, s);
    if (r != NULL && !r->closed) {
        r->closed = true;
        r->closed_at = w->q.now;
        if (reset) {
            r->saw_reset = true;
        } else if (!r->did_reset) {
            /* A graceful close sends what is buffered, then FIN. */
            remote_read_all(w, s, r);
            r->saw_eof = true;
        }
    }
    if (s->kind == HS_LISTEN || s->bound)
        sim_inbound_unlisten(w, tok); /* queued clients are reset */
    closed_token_add(w, tok);
    hs_release(w, s);
}

static void op_set_interest(void *ctx, vnat_token tok, unsigned mask)
{
    struct sim_world *w = ctx;
    struct hsock *s = hs_get(w, tok, "set_interest");
    if (s == NULL)
        return;
    if (mask & ~(VNAT_WANT_READ | VNAT_WANT_WRITE)) {
        sim_fail(w, "host: set_interest with unknown bits %#x", mask);
        return;
    }
    unsigned newly = mask & ~s->interest;
    s->interest = mask;
    if ((newly & VNAT_WANT_READ) && (s->rx.len > 0 || s->rx_eof || s->err || s->dg_count > 0))
        s->edge_read = true;
    if ((newly & VNAT_WANT_WRITE) && s->state == HSS_OPEN && s->kind == HS_TCP &&
        ring_space(&s->tx) > 0)
        s->edge_write = true;
    if (s->edge_read || s->edge_write || s->edge_connect || s->edge_error)
        kick_notify(w, s);
}

static int op_dgram_open(void *ctx, vnat_token tok, enum vnat_dgram_kind kind,
                         const struct vnat_sockaddr *dst)
{
    struct sim_world *w = ctx;
    (void)kind;
    if (!token_fresh(w, tok, "dgram_open"))
        return -EINVAL;
    if (w->host.open >= w->cfg->max_sockets) {
        w->host.refused_emfile++;
        return -EMFILE;
    }
    struct hsock *s = hs_alloc(w, tok, HS_DGRAM, "dgram_open");
    if (s == NULL)
        return -EMFILE;
    s->state = HSS_OPEN;
    s->dest = find_dest(w, dst);
    s->icmp = kind == VNAT_DGRAM_ICMP;
    s->last_dgram_at = w->q.now;
    dstats_of(w, s->dest)->dgram_sockets++;
    return 0;
}

static int op_dgram_bind(void *ctx, vnat_token tok, enum vnat_dgram_kind kind,
                         const struct vnat_sockaddr *local)
{
    struct sim_world *w = ctx;
    (void)kind;
    (void)local;
    if (!token_fresh(w, tok, "dgram_bind"))
        return -EINVAL;
    if (w->host.open >= w->cfg->max_sockets)
        return -EMFILE;
    struct hsock *s = hs_alloc(w, tok, HS_DGRAM, "dgram_bind");
    if (s == NULL)
        return -EMFILE;
    s->state = HSS_OPEN;
    s->dest = &w->cfg->default_dest;
    s->last_dgram_at = w->q.now;
    s->bound = true;
    sim_inbound_listen(w, tok, local, VNAT_PROTO_UDP);
    return 0;
}

/* A resolver: answer an A query with one record (dest `dns`). A query it
 * cannot read gets no answer, like a resolver that drops garbage. */
static long dns_answer(struct sim_world *w, struct hsock *s, const uint8_t *q, size_t len)
{
    size_t off = 12;
    for (int labels = 0; off < len && q[off] != 0; labels++) {
        if (labels > 127 || (q[off] & 0xC0) != 0)
            return (long)len;
        off += 1 + (size_t)q[off];
    }
    if (len < 12 || off + 5 > len || vw_get16(q + 4) != 1 || (q[2] & 0x80))
        return (long)len;
    size_t qend = off + 5;
    size_t n = qend + 16;
    uint8_t *r = malloc(n);
    if (r == NULL)
        return -ENOBUFS;
    memcpy(r, q, qend);
    vw_put16(r + 2, (uint16_t)(0x8080 | (q[2] & 0x01) << 8)); /* QR, RA, RD as asked */
    vw_put16(r + 6, 1);
    memset(r + 8, 0, 4);
    uint8_t *a = r + qend;
    vw_put16(a, 0xC00C); /* the question's name */
    vw_put16(a + 2, vw_get16(q + off + 1));
    vw_put16(a + 4, vw_get16(q + off + 3));
    vw_put32(a + 6, s->dest->dns_ttl);
    vw_put16(a + 10, 4);
    memcpy(a + 12, s->dest->dns_answer, 4);
    sim_schedule(w, w->q.now + 2 * s->dest->owd + s->dest->latency, EV_HOST_DGRAM, hs_slot(w, s),
                 ((uint64_t)s->serial << 32) | (uint32_t)n, r);
    return (long)len;
}

static long op_dgram_send(void *ctx, vnat_token tok, const uint8_t *buf, size_t len,
                          const struct vnat_sockaddr *to)
{
    struct sim_world *w = ctx;
    (void)to;
    struct hsock *s = hs_get(w, tok, "dgram_send");
    if (s == NULL)
        return -EBADF;
    if (s->bound) /* a UDP forward's socket: its peers are inbound.c's clients */
        return sim_inbound_dgram_send(w, tok, buf, len, to);
    if (s->kind != HS_DGRAM)
        return -ENOTSOCK;
    if (len > 65507)
        return -EMSGSIZE;
    struct sim_dest_stats *ds = dstats_of(w, s->dest);
    if (s->icmp)
        ds->echoes++;
    else
        ds->datagrams++;
    s->last_dgram_at = w->q.now;
    if (s->dest->connect == SC_REFUSE)
        return -ECONNREFUSED;
    if (s->dest->dns && !s->icmp) {
        ds->dns_queries++;
        return dns_answer(w, s, buf, len);
    }
    if (!s->dest->udp_echo)
        return (long)len; /* a sink: taken and gone */
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return -ENOBUFS;
    memcpy(copy, buf, len);
    if (s->icmp && len >= 8) { /* ICMP echo request -> reply */
        copy[0] = VW_ICMP_ECHO_REPLY;
        copy[2] = copy[3] = 0;
        /* A ping socket owns its identifier: the reply carries the
         * socket's, never the guest's; the core must translate it back. */
        vw_put16(copy + 4, (uint16_t)(0xE000 + hs_slot(w, s)));
        vw_put16(copy + 2, vw_csum_fold(vw_csum_add(0, copy, len)));
    }
    sim_schedule(w, w->q.now + 2 * s->dest->owd + s->dest->latency, EV_HOST_DGRAM, hs_slot(w, s),
                 ((uint64_t)s->serial << 32) | (uint32_t)len, copy);
    return (long)len;
}

static long op_dgram_recv(void *ctx, vnat_token tok, uint8_t *buf, size_t cap,
                          struct vnat_sockaddr *from)
{
    struct sim_world *w = ctx;
    struct hsock *s = hs_get(w, tok, "dgram_recv");
    if (s == NULL)
        return -EBADF;
    if (s->bound)
        return sim_inbound_dgram_recv(w, tok, buf, cap, from);
    if (s->kind != HS_DGRAM)
        return -ENOTSOCK;
    if (s->dg_count == 0)
        return -EAGAIN;
    s->last_dgram_at = w->q.now;
    uint32_t len = s->dg_len[0];
    memcpy(buf, s->dg_data[0], len < cap ? len : cap);
    free(s->dg_data[0]);
    memmove(s->dg_data, s->dg_data + 1, (s->dg_count - 1) * sizeof s->dg_data[0]);
    memmove(s->dg_len, s->dg_len + 1, (s->dg_count - 1) * sizeof s->dg_len[0]);
    s->dg_count--;
    if (from)
        *from = s->dest->addr;
    return len;
}

void sim_host_ops(struct vnat_host_ops *ops)
{
    ops->struct_size = sizeof *ops;
    ops->tcp_connect = op_tcp_connect;
    ops->tcp_listen = op_tcp_listen;
    ops->tcp_accept = op_tcp_accept;
    ops->send = op_send;
    ops->send_space = op_send_space;
    ops->peek = op_peek;
    ops->discard = op_discard;
    ops->shutdown_write = op_shutdown_write;
    ops->close = op_close;
    ops->set_interest = op_set_interest;
    ops->dgram_open = op_dgram_open;
    ops->dgram_bind = op_dgram_bind;
    ops->dgram_send = op_dgram_send;
    ops->dgram_recv = op_dgram_recv;
}

/* ---- the remote application ------------------------------------------------------ */

static void remote_check(struct sim_world *w, const struct hsock *s, struct sim_remote *r)
{
    if (r->ver.bad)
        sim_fail(w, "host: the stream from the guest (token %#llx) is wrong at byte %llu",
                 (unsigned long long)s->tok, (unsigned long long)r->ver.bad_off);
}

/* Read n bytes of what the core sent: check them; echo them if asked. */
static void remote_read(struct sim_world *w, struct hsock *s, struct sim_remote *r, uint32_t n)
{
    const uint8_t *a, *b;
    uint32_t alen, blen;
    ring_spans(&s->tx, n, &a, &alen, &b, &blen);
    sim_verifier_feed(&r->ver, a, alen);
    sim_verifier_feed(&r->ver, b, blen);
    if (s->dest->echo) {
        ring_write(&s->rx, a, alen);
        ring_write(&s->rx, b, blen);
        r->produced += n;
        s->edge_read = true;
    }
    ring_drop(&s->tx, n);
    r->received += n;
    s->edge_write = true;
    remote_check(w, s, r);
}

static void remote_read_all(struct sim_world *w, struct hsock *s, struct sim_remote *r)
{
    uint32_t n = s->tx.len;
    if (n == 0)
        return;
    const uint8_t *a, *b;
    uint32_t alen, blen;
    ring_spans(&s->tx, n, &a, &alen, &b, &blen);
    sim_verifier_feed(&r->ver, a, alen);
    sim_verifier_feed(&r->ver, b, blen);
    ring_drop(&s->tx, n);
    r->received += n;
    remote_check(w, s, r);
}

static void remote_pump(struct sim_world *w, struct hsock *s)
{
    s->pump_pending = false;
    if (s->kind != HS_TCP || s->state != HSS_OPEN || s->err)
        return;
    struct sim_remote *r = remote_of(w, s);
    if (r == NULL || r->did_reset)
        return;
    const struct sim_dest *d = s->dest;
    uint64_t now = w->q.now;
    /* 1. read */
    uint32_t can = s->tx.len;
    bool paced = d->read_chunk != 0 && now < s->next_read_at;
    if (paced)
        can = 0;
    if (d->read_chunk && can > d->read_chunk)
        can = d->read_chunk;
    if (d->echo && can > ring_space(&s->rx))
        can = ring_space(&s->rx);
    if (d->reset_after && r->received + can > d->reset_after && r->received < d->reset_after)
        can = (uint32_t)(d->reset_after - r->received);
    if (can > 0) {
        remote_read(w, s, r, can);
        if (d->read_chunk)
            s->next_read_at = now + d->read_every;
    }
    /* 2. reset mid-stream */
    if (d->reset_after && r->received >= d->reset_after) {
        r->did_reset = true;
        s->err = ECONNRESET;
        ring_drop(&s->rx, s->rx.len);
        ring_drop(&s->tx, s->tx.len);
        s->edge_error = true;
        kick_notify(w, s);
        return;
    }
    /* 3. EOF from the core */
    if (s->tx_shut && s->tx.len == 0)
        r->saw_eof = true;
    /* 4. produce */
    if (!d->echo) {
        uint64_t target = d->greeting + (r->saw_eof ? d->after_eof : 0);
        if (r->produced < target) {
            uint64_t n = target - r->produced;
            if (n > ring_space(&s->rx))
                n = ring_space(&s->rx);
            if (n) {
                ring_write_pattern(&s->rx, r->salt, r->produced, (uint32_t)n);
                r->produced += n;
                s->edge_read = true;
            }
        }
    }
    /* 5. close the sending side */
    bool all = d->echo
                   ? (r->saw_eof && s->tx.len == 0)
                   : r->produced == d->greeting + d->after_eof && (d->after_eof == 0 || r->saw_eof);
    uint8_t rclose = d->echo ? SR_EOF : d->rclose;
    if (!r->remote_closed && all && (rclose == SR_SENT || (rclose == SR_EOF && r->saw_eof))) {
        r->remote_closed = true;
        s->rx_eof = true;
        s->edge_read = true;
    }
    /* 6. a slow reader comes back for more */
    if (s->tx.len > 0 && d->read_chunk && !(d->echo && ring_space(&s->rx) == 0))
        kick_pump(w, s, s->next_read_at > now ? s->next_read_at : now + d->owd);
    if (s->edge_read || s->edge_write)
        kick_notify(w, s);
}

static void host_connected(struct sim_world *w, struct hsock *s)
{
    const struct sim_dest *d = s->dest;
    switch (d->connect) {
    case SC_ACCEPT:
        if (ring_init(&s->tx, d->sndbuf) != 0 || ring_init(&s->rx, d->rcvbuf) != 0) {
            sim_fail(w, "host: out of memory for socket buffers");
            return;
        }
        s->state = HSS_OPEN;
        s->so_error = 0;
        s->remote = remote_new(w, s);
        kick_pump(w, s, w->q.now + d->owd);
        break;
    case SC_REFUSE:
        s->state = HSS_FAILED;
        s->so_error = ECONNREFUSED;
        break;
    case SC_HOSTUNREACH:
        s->state = HSS_FAILED;
        s->so_error = EHOSTUNREACH;
        break;
    default:
        s->state = HSS_FAILED;
        s->so_error = ENETUNREACH;
        break;
    }
    s->edge_connect = true;
    kick_notify(w, s);
}

/* Deliver what changed, if the socket wants it and it still holds. Each core
 * call may close the socket: re-check after every one. */
static void host_notify(struct sim_world *w, struct hsock *s)
{
    s->notify_pending = false;
    uint32_t serial = s->serial;
    vnat_token tok = s->tok;
#define STILL_THERE() (s->used && s->serial == serial)
    if (s->edge_connect) {
        if (!(s->interest & VNAT_WANT_WRITE))
            return; /* delivered when write interest comes on */
        s->edge_connect = false;
        w->host.notifications++;
        sim_core_writable(w, tok, s->so_error);
        if (!STILL_THERE())
            return;
    }
    if (s->state != HSS_OPEN)
        return;
    if (s->edge_error) {
        s->edge_error = false;
        s->edge_read = false;
        w->host.notifications++;
        sim_core_readable(w, tok);
        if (!STILL_THERE())
            return;
    }
    if (s->edge_read && (s->interest & VNAT_WANT_READ) &&
        (s->rx.len > 0 || s->rx_eof || s->err || s->dg_count > 0)) {
        s->edge_read = false;
        w->host.notifications++;
        sim_core_readable(w, tok);
        if (!STILL_THERE())
            return;
    }
    if (s->edge_write && (s->interest & VNAT_WANT_WRITE) && s->kind == HS_TCP && !s->tx_shut &&
        !s->err && ring_space(&s->tx) > 0) {
        s->edge_write = false;
        w->host.notifications++;
        sim_core_writable(w, tok, 0);
    }
#undef STILL_THERE
}

void sim_host_on_event(struct sim_world *w, const struct sim_event *ev)
{
    if (ev->arg >= w->host.cap) {
        if (ev->kind == EV_HOST_DGRAM)
            free(ev->ptr);
        return;
    }
    struct hsock *s = &w->host.socks[ev->arg];
    uint32_t serial = ev->kind == EV_HOST_DGRAM ? (uint32_t)(ev->id >> 32) : (uint32_t)ev->id;
    if (!s->used || s->serial != serial) {
        if (ev->kind == EV_HOST_DGRAM)
            free(ev->ptr);
        return; /* the socket closed meanwhile */
    }
    switch (ev->kind) {
    case EV_HOST_CONNECT:
        host_connected(w, s);
        break;
    case EV_HOST_PUMP:
        remote_pump(w, s);
        break;
    case EV_HOST_NOTIFY:
        host_notify(w, s);
        break;
    case EV_HOST_DGRAM:
        if (s->dg_count < sizeof s->dg_data / sizeof s->dg_data[0]) {
            s->dg_data[s->dg_count] = ev->ptr;
            s->dg_len[s->dg_count] = (uint32_t)ev->id;
            s->dg_count++;
            s->edge_read = true;
            kick_notify(w, s);
        } else {
            free(ev->ptr); /* receive queue full: dropped, as UDP does */
            w->host.dgram_overflow++;
        }
        break;
    default:
        break;
    }
}

void sim_host_spurious(struct sim_world *w)
{
    struct sim_host *h = &w->host;
    if (h->open == 0)
        return;
    uint32_t start = (uint32_t)sim_rng_below(&w->rng, h->cap);
    for (uint32_t n = 0; n < h->cap; n++) {
        struct hsock *s = &h->socks[(start + n) % h->cap];
        if (!s->used || s->state != HSS_OPEN || s->kind != HS_TCP)
            continue;
        h->spurious++;
        if (s->interest & VNAT_WANT_READ)
            sim_core_readable(w, s->tok);
        else if (s->interest & VNAT_WANT_WRITE)
            sim_core_writable(w, s->tok, 0);
        return;
    }
}

/* host.dest.N.FIELD: N is the destination's place among the scenario's
 * `dest` lines (from 0), or `default`. */
bool sim_host_metric(const struct sim_world *w, const char *m, uint64_t *out)
{
    const struct sim_config *cfg = w->cfg;
    if (strncmp(m, "dest.", 5) != 0 || w->host.dstats == NULL)
        return false;
    m += 5;
    uint32_t i;
    if (strncmp(m, "default.", 8) == 0) {
        i = cfg->n_dests;
        m += 8;
    } else {
        char *end;
        unsigned long v = strtoul(m, &end, 10);
        if (end == m || *end != '.' || v >= cfg->n_dests)
            return false;
        i = (uint32_t)v;
        m = end + 1;
    }
    const struct sim_dest_stats *d = &w->host.dstats[i];
    if (strcmp(m, "contacts") == 0)
        *out = d->connects + d->dgram_sockets + d->datagrams + d->echoes;
    else if (strcmp(m, "connects") == 0)
        *out = d->connects;
    else if (strcmp(m, "sockets") == 0)
        *out = d->dgram_sockets;
    else if (strcmp(m, "datagrams") == 0)
        *out = d->datagrams;
    else if (strcmp(m, "echoes") == 0)
        *out = d->echoes;
    else if (strcmp(m, "dns_queries") == 0)
        *out = d->dns_queries;
    else if (strcmp(m, "closed") == 0)
        *out = d->closed_dgram;
    else if (strcmp(m, "idle_min") == 0)
        *out = d->idle_min;
    else if (strcmp(m, "idle_max") == 0)
        *out = d->idle_max;
    else
        return false;
    return true;
}
