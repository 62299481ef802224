/*
 * api.c — `--api-socket PATH`: a UNIX stream socket, served by the same
 * loop as the guest link (registered with the same poller), through which
 * forwards are added, removed and listed while vnat runs, and a few core
 * counters read. The protocol (api_proto.c) is one JSON request per line
 * and one JSON reply per line. Everything here is non-blocking and bounded:
 * at most HOST_API_MAX_CLIENTS connections, a request line of at most
 * HOST_API_MAX_LINE bytes, a fixed output queue per client (a client that
 * does not read its replies is no longer read from until it does), and a
 * fixed number of reads per wakeup, so a slow or hostile client costs the
 * data path nothing but its share of wakeups. The core has no call that
 * lists its forwards, so this file keeps the table of forwards the core
 * accepted (at start and since) in the same order the core got them; "list"
 * answers from it and "remove" finds the guest port in it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "adapter.h"

/* Every client needs a poller id of its own in the reserved range. */
_Static_assert(HOST_ID_API_CLIENT0 - (HOST_API_MAX_CLIENTS - 1) > HOST_ID_FIRST_RESERVED,
               "too many API clients for the reserved poller ids");

#define API_IN_CHUNK 4096
#define API_READS_PER_WAKEUP 16
#define API_ACCEPTS_PER_WAKEUP 8

struct api_client {
    int fd; /* -1 when the slot is free */
    bool eof;
    unsigned interest; /* HOST_POLL_IN / HOST_POLL_OUT as registered */
    struct host_api_rx rx;
    char in[API_IN_CHUNK]; /* bytes read, not yet framed */
    size_t in_pos, in_end;
    char *out; /* replies not yet written */
    size_t out_cap, out_start, out_end;
};

struct host_api {
    int listen_fd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct api_client clients[HOST_API_MAX_CLIENTS];
    struct vnat_forward *fwds; /* what the core holds, in the order it got them */
    uint32_t nfwds, cap;
    size_t max_reply;
    char *reply; /* one reply being built */
};

bool host_api_owns(uint64_t id)
{
    return id <= HOST_ID_API_LISTEN && id > HOST_ID_API_CLIENT0 - HOST_API_MAX_CLIENTS;
}

/* Close a descriptor the poller watches (it forgets it first if it must). */
static void api_close_fd(struct host *h, int fd)
{
    if (h->io.poller.del)
        h->io.poller.del(h->io.poller.ctx, fd);
    close(fd);
}

static void client_close(struct host *h, struct api_client *c)
{
    if (c->fd < 0)
        return;
    api_close_fd(h, c->fd);
    free(c->out);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

static size_t out_room(const struct api_client *c)
{
    return c->out_cap - (c->out_end - c->out_start);
}

static void out_append(struct api_client *c, const char *s, size_t n)
{
    if (c->out_cap - c->out_end < n) {
        memmove(c->out, c->out + c->out_start, c->out_end - c->out_start);
        c->out_end -= c->out_start;
        c->out_start = 0;
    }
    if (c->out_cap - c->out_end < n)
        return; /* cannot happen: a line is handled only with max_reply free */
    memcpy(c->out + c->out_end, s, n);
    c->out_end += n;
}

/* 0 when everything queued was written or the socket is full; -1 when the
 * client is gone. */
static int out_flush(struct api_client *c)
{
    /* Bounded: each pass writes at least one byte or returns. */
    while (c->out_start < c->out_end) {
        ssize_t n = send(c->fd, c->out + c->out_start, c->out_end - c->out_start,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        c->out_start += (size_t)n;
    }
    c->out_start = c->out_end = 0;
    return 0;
}

static bool same_listener(const struct vnat_forward *a, const struct vnat_forward *b)
{
    return a->proto == b->proto && a->host.port == b->host.port &&
           a->host.ip.family == b->host.ip.family &&
           memcmp(a->host.ip.addr, b->host.ip.addr, sizeof(a->host.ip.addr)) == 0;
}

static void reply_core_error(struct host_api_out *o, vnat_err e)
{
    char name[32];
    host_api_reply_error(o, host_api_err_name(e, name, sizeof(name)), vnat_strerror(e));
}

static void do_add(struct host *h, uint64_t now, const struct host_api_req *r,
                   struct host_api_out *o)
{
    struct host_api *a = h->api;
    vnat_err e = vnat_forward_add(h->io.nat, now, &r->fwd);
    if (e == VNAT_OK && a->nfwds >= a->cap) {
        /* The core's table is as large as this one, so it said FULL first;
         * keep the two in step anyway. */
        (void)vnat_forward_remove(h->io.nat, now, &r->fwd);
        e = VNAT_E_FULL;
    }
    if (e != VNAT_OK) {
        reply_core_error(o, e);
        return;
    }
    a->fwds[a->nfwds++] = r->fwd;
    host_api_put(o, "{\"ok\":true}\n");
}

static void do_remove(struct host *h, uint64_t now, const struct host_api_req *r,
                      struct host_api_out *o)
{
    struct host_api *a = h->api;
    uint32_t i = 0;
    for (; i < a->nfwds; i++)
        if (same_listener(&a->fwds[i], &r->fwd) &&
            (!r->guest_port_given || a->fwds[i].guest_port == r->fwd.guest_port))
            break;
    if (i == a->nfwds) {
        host_api_reply_error(o, "notfound", "no such forward");
        return;
    }
    vnat_err e = vnat_forward_remove(h->io.nat, now, &a->fwds[i]);
    if (e != VNAT_OK) {
        reply_core_error(o, e);
        return;
    }
    memmove(&a->fwds[i], &a->fwds[i + 1], (a->nfwds - i - 1) * sizeof(a->fwds[0]));
    a->nfwds--;
    host_api_put(o, "{\"ok\":true}\n");
}

static void do_list(struct host *h, struct host_api_out *o)
{
    struct host_api *a = h->api;
    host_api_put(o, "{\"ok\":true,\"forwards\":[");
    for (uint32_t i = 0; i < a->nfwds; i++) {
        if (i)
            host_api_put(o, ",");
        host_api_put_forward(o, &a->fwds[i]);
    }
    host_api_put(o, "]}\n");
}

static void put_counter(struct host_api_out *o, const char *name, uint64_t v, bool first)
{
    if (!first)
        host_api_put(o, ",");
    host_api_put_str(o, name);
    host_api_put(o, ":");
    host_api_put_u64(o, v);
}

static void do_stats(struct host *h, struct host_api_out *o)
{
    struct vnat_stats s;
    memset(&s, 0, sizeof(s));
    vnat_get_stats(h->io.nat, &s, sizeof(s));
    host_api_put(o, "{\"ok\":true,\"stats\":{");
    put_counter(o, "frames_in", s.frames_in, true);
    put_counter(o, "frames_out", s.frames_out, false);
    put_counter(o, "bytes_guest_to_host", s.bytes_guest_to_host, false);
    put_counter(o, "bytes_host_to_guest", s.bytes_host_to_guest, false);
    put_counter(o, "flows_live", s.flows_live, false);
    put_counter(o, "tcp_flows_total", s.tcp_flows_total, false);
    put_counter(o, "udp_flows", s.udp_flows, false);
    put_counter(o, "forwards", h->api->nfwds, false);
    put_counter(o, "forwards_accepted", s.forwards_accepted, false);
    put_counter(o, "policy_denied", s.drops[VNAT_DROP_POLICY], false);
    put_counter(o, "dhcp_leases", s.dhcp_leases, false);
    put_counter(o, "dns_queries", s.dns_queries, false);
    put_counter(o, "dns_answers_unmatched", s.dns_answers_unmatched, false);
    put_counter(o, "dns_answers_duplicate", s.dns_answers_duplicate, false);
    put_counter(o, "flows_reclaimed", s.flows_reclaimed, false);
    put_counter(o, "tcp_connects_unreachable", s.tcp_connects_unreachable, false);
    put_counter(o, "tcp_connects_timed_out", s.tcp_connects_timed_out, false);
    host_api_put(o, "}}\n");
}

static void handle_line(struct host *h, uint64_t now, struct api_client *c, const char *line,
                        size_t len, bool too_long)
{
    struct host_api *a = h->api;
    struct host_api_out o = {.buf = a->reply, .cap = a->max_reply};
    struct host_api_req r;
    char why[HOST_API_MAX_WHY];
    enum host_api_status st =
        too_long ? HOST_API_E_TOO_LONG : host_api_parse(line, len, &r, why, sizeof(why));
    if (too_long)
        snprintf(why, sizeof(why), "request longer than %d bytes", HOST_API_MAX_LINE);
    if (st != HOST_API_OK)
        host_api_reply_error(&o, host_api_status_name(st), why);
    else if (r.cmd == HOST_API_ADD)
        do_add(h, now, &r, &o);
    else if (r.cmd == HOST_API_REMOVE)
        do_remove(h, now, &r, &o);
    else if (r.cmd == HOST_API_LIST)
        do_list(h, &o);
    else
        do_stats(h, &o);
    if (o.overflow) {
        /* max_reply is sized for the largest table; never seen. */
        o.len = 0;
        o.overflow = false;
        host_api_reply_error(&o, "internal", "reply too large");
    }
    out_append(c, o.buf, o.len);
}

static void set_interest(struct host *h, struct api_client *c, uint64_t id, unsigned want)
{
    if (c->interest == want)
        return;
    if (h->io.poller.mod(h->io.poller.ctx, c->fd, id, want) == 0)
        c->interest = want;
}

static void client_pump(struct host *h, uint64_t now, struct api_client *c, uint64_t id)
{
    struct host_api *a = h->api;
    for (int iter = 0; iter < API_READS_PER_WAKEUP; iter++) {
        /* Frame what was read while a whole reply still fits; the rest
         * waits for the client to read (HOST_POLL_OUT). Bounded: every call
         * consumes at least one byte. */
        while (c->in_pos < c->in_end && out_room(c) >= a->max_reply) {
            enum host_api_rx_event ev;
            c->in_pos += host_api_rx_take(&c->rx, c->in + c->in_pos, c->in_end - c->in_pos, &ev);
            if (ev == HOST_API_RX_LINE)
                handle_line(h, now, c, c->rx.line, c->rx.len, false);
            else if (ev == HOST_API_RX_TOO_LONG)
                handle_line(h, now, c, NULL, 0, true);
        }
        if (out_flush(c) < 0) {
            client_close(h, c);
            return;
        }
        if (c->in_pos < c->in_end) {
            if (out_room(c) >= a->max_reply)
                continue; /* the flush made room: go on framing */
            break;        /* wait for the client to read (HOST_POLL_OUT) */
        }
        if (c->eof)
            break;
        c->in_pos = c->in_end = 0;
        ssize_t n = recv(c->fd, c->in, sizeof(c->in), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            client_close(h, c);
            return;
        }
        if (n == 0) {
            c->eof = true;
            /* A last request without its newline is still answered. */
            if (!c->rx.have_line && !c->rx.discarding && c->rx.len > 0 &&
                out_room(c) >= a->max_reply)
                handle_line(h, now, c, c->rx.line, c->rx.len, false);
            c->rx.len = 0;
            if (out_flush(c) < 0) {
                client_close(h, c);
                return;
            }
            break;
        }
        c->in_end = (size_t)n;
    }
    bool pending = c->out_end > c->out_start;
    if (c->eof && !pending) {
        client_close(h, c);
        return;
    }
    unsigned want = 0;
    /* Unframed input left by the per-wakeup bound also waits on POLL_OUT:
     * with room in the queue the socket is writable, so the pump runs
     * again on the next wakeup; without room it runs when the client
     * reads. */
    if (pending || c->in_pos < c->in_end)
        want |= HOST_POLL_OUT;
    if (!c->eof && c->in_pos == c->in_end && out_room(c) >= a->max_reply)
        want |= HOST_POLL_IN;
    set_interest(h, c, id, want);
}

static void api_accept(struct host *h)
{
    struct host_api *a = h->api;
    for (int k = 0; k < API_ACCEPTS_PER_WAKEUP; k++) {
        int fd = accept4(a->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int slot = -1;
        for (int i = 0; i < HOST_API_MAX_CLIENTS && slot < 0; i++)
            if (a->clients[i].fd < 0)
                slot = i;
        struct api_client *c = slot >= 0 ? &a->clients[slot] : NULL;
        char *out = c ? malloc(2 * a->max_reply) : NULL;
        uint64_t id = HOST_ID_API_CLIENT0 - (uint64_t)(slot >= 0 ? slot : 0);
        if (!out || h->io.poller.add(h->io.poller.ctx, fd, id, HOST_POLL_IN) < 0) {
            char buf[128];
            struct host_api_out o = {.buf = buf, .cap = sizeof(buf)};
            host_api_reply_error(&o, host_api_status_name(HOST_API_E_BUSY),
                                 c ? "out of memory" : "too many connections");
            (void)send(fd, buf, o.len, MSG_DONTWAIT | MSG_NOSIGNAL);
            free(out);
            close(fd);
            continue;
        }
        memset(c, 0, sizeof(*c));
        c->fd = fd;
        c->out = out;
        c->out_cap = 2 * a->max_reply;
        c->interest = HOST_POLL_IN;
    }
}

void host_api_event(struct host *h, uint64_t now, uint64_t id, unsigned ready)
{
    (void)ready; /* level-triggered: the pump reads and writes what it can */
    if (!h->api)
        return;
    if (id == HOST_ID_API_LISTEN) {
        api_accept(h);
        return;
    }
    struct api_client *c = &h->api->clients[HOST_ID_API_CLIENT0 - id];
    if (c->fd >= 0)
        client_pump(h, now, c, id);
}

int host_api_open(struct host *h, const char *path, const struct vnat_forward *initial,
                  uint32_t n_initial, uint32_t cap)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t plen = strlen(path);
    if (plen >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    if (n_initial > cap)
        return -EINVAL;
    struct stat stb;
    if (lstat(path, &stb) == 0) {
        /* A stale socket of an earlier run goes; any other file stays. */
        if (!S_ISSOCK(stb.st_mode))
            return -EEXIST;
        (void)unlink(path);
    }
    struct host_api *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->listen_fd = -1;
    for (int i = 0; i < HOST_API_MAX_CLIENTS; i++)
        a->clients[i].fd = -1;
    a->cap = cap;
    a->max_reply = host_api_max_reply(cap);
    a->fwds = calloc(cap ? cap : 1, sizeof(a->fwds[0]));
    a->reply = malloc(a->max_reply);
    h->api = a;
    if (!a->fwds || !a->reply)
        return -ENOMEM;
    if (n_initial)
        memcpy(a->fwds, initial, n_initial * sizeof(initial[0]));
    a->nfwds = n_initial;
    memcpy(sa.sun_path, path, plen + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* Whoever can connect can open host ports into the guest: the socket
     * is the owner's alone, whatever the umask. */
    mode_t old = umask(077);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc < 0 || listen(fd, HOST_API_MAX_CLIENTS) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    a->listen_fd = fd;
    memcpy(a->path, path, plen + 1);
    return h->io.poller.add(h->io.poller.ctx, fd, HOST_ID_API_LISTEN, HOST_POLL_IN);
}

void host_api_close(struct host *h)
{
    struct host_api *a = h->api;
    if (!a)
        return;
    for (int i = 0; i < HOST_API_MAX_CLIENTS; i++)
        client_close(h, &a->clients[i]);
    if (a->listen_fd >= 0) {
        api_close_fd(h, a->listen_fd);
        (void)unlink(a->path);
    }
    free(a->fwds);
    free(a->reply);
    free(a);
    h->api = NULL;
}
