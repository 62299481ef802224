/*
 * host_io_pins.c — the adapter's socket operations (host/sockops.c) driven
 * by a front end that is not the epoll loop: this file links vnat_host_io
 * alone (no loop.c, no epoll symbol) and gives it a poller that keeps a
 * table for poll(), the way a poll()-driven front end (a libslirp-style
 * library) would. Pinned: what each operation asks the poller for (stream
 * sockets edge-reported, listeners and bound datagram sockets readable from
 * the start, the core's interest mapped to IN|RDHUP / OUT), that a closed
 * socket is forgotten before its descriptor goes, and that poll() on the
 * registered descriptors then sees what the core is told.
 */
#define _GNU_SOURCE
#include "pin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "adapter.h"

#define OPS host_ops_table
#define TOK(slot, gen) (((vnat_token)(gen) << 32) | (slot))
#define MAX_WATCHED 8

struct poll_table {
    struct {
        int fd;
        uint64_t id;
        unsigned mask;
    } w[MAX_WATCHED];
    int n;
    int adds, mods, dels;
};

static int find(struct poll_table *t, int fd)
{
    for (int i = 0; i < t->n; i++)
        if (t->w[i].fd == fd)
            return i;
    return -1;
}

static int pt_add(void *ctx, int fd, uint64_t id, unsigned mask)
{
    struct poll_table *t = ctx;
    if (find(t, fd) >= 0 || t->n == MAX_WATCHED)
        return -EEXIST;
    t->w[t->n].fd = fd;
    t->w[t->n].id = id;
    t->w[t->n].mask = mask;
    t->n++;
    t->adds++;
    return 0;
}

static int pt_mod(void *ctx, int fd, uint64_t id, unsigned mask)
{
    struct poll_table *t = ctx;
    int i = find(t, fd);
    if (i < 0 || t->w[i].id != id)
        return -ENOENT;
    t->w[i].mask = mask;
    t->mods++;
    return 0;
}

static void pt_del(void *ctx, int fd)
{
    struct poll_table *t = ctx;
    int i = find(t, fd);
    if (i < 0)
        return;
    t->w[i] = t->w[--t->n];
    t->dels++;
}

static unsigned watched(struct poll_table *t, uint64_t id)
{
    for (int i = 0; i < t->n; i++)
        if (t->w[i].id == id)
            return t->w[i].mask;
    return 0xdead;
}

/* One poll() over the table; the readiness (HOST_POLL_*) reported for id. */
static unsigned poll_ready(struct poll_table *t, uint64_t id, int timeout_ms)
{
    struct pollfd p[MAX_WATCHED];
    for (int i = 0; i < t->n; i++) {
        p[i].fd = t->w[i].fd;
        p[i].events = (short)(((t->w[i].mask & HOST_POLL_IN) ? POLLIN : 0) |
                              ((t->w[i].mask & HOST_POLL_OUT) ? POLLOUT : 0) |
                              ((t->w[i].mask & HOST_POLL_RDHUP) ? POLLRDHUP : 0));
        p[i].revents = 0;
    }
    if (poll(p, (nfds_t)t->n, timeout_ms) <= 0)
        return 0;
    for (int i = 0; i < t->n; i++)
        if (t->w[i].id == id)
            return ((p[i].revents & POLLIN) ? HOST_POLL_IN : 0) |
                   ((p[i].revents & POLLOUT) ? HOST_POLL_OUT : 0) |
                   ((p[i].revents & POLLRDHUP) ? HOST_POLL_RDHUP : 0) |
                   ((p[i].revents & POLLHUP) ? HOST_POLL_HUP : 0) |
                   ((p[i].revents & POLLERR) ? HOST_POLL_ERR : 0);
    return 0;
}

static void io_setup(struct host_io *io, struct poll_table *t)
{
    memset(io, 0, sizeof(*io));
    memset(t, 0, sizeof(*t));
    assert_int_equal(host_io_init(io, 8), 0);
    io->poller = (struct host_poller){.ctx = t, .add = pt_add, .mod = pt_mod, .del = pt_del};
}

static struct vnat_sockaddr loop_addr(uint16_t port)
{
    struct vnat_sockaddr a;
    memset(&a, 0, sizeof(a));
    a.ip = vnat_ip4(127, 0, 0, 1);
    a.port = port;
    return a;
}

static uint16_t port_of(int fd)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    memset(&a, 0, sizeof(a));
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    return ntohs(a.sin_port);
}

PIN(host_io_registers_each_socket_with_the_front_ends_poller)
{
    struct host_io io;
    struct poll_table t;
    io_setup(&io, &t);
    vnat_token ltok = TOK(1, 1), ctok = TOK(2, 1), atok = TOK(3, 1);
    struct vnat_sockaddr local = loop_addr(0);
    assert_int_equal(OPS.tcp_listen(&io, ltok, &local), 0);
    /* a listener: readable from the start, level-reported */
    assert_int_equal(watched(&t, ltok), HOST_POLL_IN | HOST_POLL_RDHUP);
    struct vnat_sockaddr dst = loop_addr(port_of(host_sock_find(&io, ltok)->fd));
    assert_int_equal(OPS.tcp_connect(&io, ctok, &dst), 0);
    /* a connecting stream: no interest until the core asks, edge-reported */
    assert_int_equal(watched(&t, ctok), HOST_POLL_EDGE);
    OPS.set_interest(&io, ctok, VNAT_WANT_WRITE);
    assert_int_equal(watched(&t, ctok), HOST_POLL_OUT | HOST_POLL_EDGE);
    assert_true(poll_ready(&t, ctok, 1000) & HOST_POLL_OUT); /* connected */
    assert_true(poll_ready(&t, ltok, 1000) & HOST_POLL_IN);  /* a connection waits */
    struct vnat_sockaddr peer;
    assert_int_equal(OPS.tcp_accept(&io, ltok, atok, &peer), 0);
    assert_int_equal(watched(&t, atok), HOST_POLL_EDGE);
    OPS.set_interest(&io, atok, VNAT_WANT_READ | VNAT_WANT_WRITE);
    assert_int_equal(watched(&t, atok),
                     HOST_POLL_IN | HOST_POLL_RDHUP | HOST_POLL_OUT | HOST_POLL_EDGE);
    int mods = t.mods;
    OPS.set_interest(&io, atok, VNAT_WANT_READ | VNAT_WANT_WRITE);
    assert_int_equal(t.mods, mods); /* unchanged interest: no call */
    OPS.set_interest(&io, atok, VNAT_WANT_READ);
    assert_int_equal(OPS.send(&io, ctok, (const uint8_t *)"hi", 2), 2);
    assert_true(poll_ready(&t, atok, 1000) & HOST_POLL_IN);
    uint8_t b[4];
    assert_int_equal(OPS.peek(&io, atok, 0, b, sizeof(b)), 2);
    assert_memory_equal(b, "hi", 2);
    /* close: the poller forgets the descriptor before it is closed */
    int fd = host_sock_find(&io, ctok)->fd;
    OPS.close(&io, ctok, 0);
    assert_int_equal(t.dels, 1);
    assert_int_equal(find(&t, fd), -1);
    assert_true(poll_ready(&t, atok, 1000) & (HOST_POLL_IN | HOST_POLL_RDHUP));
    assert_int_equal(OPS.peek(&io, atok, 2, b, sizeof(b)), 0); /* end of stream */
    assert_int_equal(t.adds, 3);
    host_io_fini(&io); /* closes (and forgets) the rest */
    assert_int_equal(t.n, 0);
    assert_int_equal(t.dels, 3);
}

PIN(host_io_datagram_sockets_and_a_refused_registration)
{
    struct host_io io;
    struct poll_table t;
    io_setup(&io, &t);
    vnat_token btok = TOK(4, 1), otok = TOK(5, 1);
    struct vnat_sockaddr local = loop_addr(0);
    assert_int_equal(OPS.dgram_bind(&io, btok, VNAT_DGRAM_UDP, &local), 0);
    /* bound: a listener of datagrams, readable from the start, level */
    assert_int_equal(watched(&t, btok), HOST_POLL_IN | HOST_POLL_RDHUP);
    struct vnat_sockaddr dst = loop_addr(port_of(host_sock_find(&io, btok)->fd));
    assert_int_equal(OPS.dgram_open(&io, otok, VNAT_DGRAM_UDP, &dst), 0);
    assert_int_equal(watched(&t, otok), 0);
    assert_int_equal(OPS.dgram_send(&io, otok, (const uint8_t *)"abc", 3, NULL), 3);
    assert_true(poll_ready(&t, btok, 1000) & HOST_POLL_IN);
    uint8_t b[8];
    struct vnat_sockaddr from;
    assert_int_equal(OPS.dgram_recv(&io, btok, b, sizeof(b), &from), 3);
    /* a poller that refuses the descriptor: the open fails with its error
     * and leaves no socket behind */
    while (t.n < MAX_WATCHED) {
        int i = t.n;
        t.w[i] = (__typeof__(t.w[0])){.fd = -100 - i, .id = 0, .mask = 0};
        t.n = i + 1;
    }
    assert_int_equal(OPS.dgram_open(&io, TOK(6, 1), VNAT_DGRAM_UDP, &dst), -EEXIST);
    assert_null(host_sock_find(&io, TOK(6, 1)));
    t.n = 2;
    host_io_fini(&io);
    assert_int_equal(t.n, 0);
}

PIN_MAIN(cmocka_unit_test(host_io_registers_each_socket_with_the_front_ends_poller),
         cmocka_unit_test(host_io_datagram_sockets_and_a_refused_registration))
