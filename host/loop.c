/*
 * loop.c — the event loop: one epoll set holds the guest link, a signalfd
 * and every host socket (its epoll data is the core's token). It is the
 * poller (struct host_poller) of the socket operations (sockops.c) and the
 * guest link (link.c), which know no epoll, and it turns each epoll report
 * into their readiness bits. Each wakeup reads the clock once and hands the
 * whole batch of events to the core with that `now`; the wait never
 * outlasts the core's next deadline, and with no deadline it waits forever,
 * so an idle or stalled vnat does not run. The --api-socket listener and its
 * clients (api.c) are in the same set.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adapter.h"

#define LOOP_MAX_EVENTS 256
/* A deadline that is still not in the future after a tick would make the
 * loop spin; wait at least this long instead (and count it). */
#define DEADLINE_GUARD_NS 1000000u

/* ------------------------------------------------------------------------ */
/* The epoll set: the poller of the socket operations and the guest link     */
/* ------------------------------------------------------------------------ */

uint64_t host_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t to_epoll(unsigned mask)
{
    uint32_t ev = 0;
    if (mask & HOST_POLL_IN)
        ev |= EPOLLIN;
    if (mask & HOST_POLL_OUT)
        ev |= EPOLLOUT;
    if (mask & HOST_POLL_RDHUP)
        ev |= EPOLLRDHUP;
    if (mask & HOST_POLL_EDGE)
        ev |= EPOLLET;
    return ev;
}

static unsigned from_epoll(uint32_t ev)
{
    unsigned ready = 0;
    if (ev & EPOLLIN)
        ready |= HOST_POLL_IN;
    if (ev & EPOLLOUT)
        ready |= HOST_POLL_OUT;
    if (ev & EPOLLRDHUP)
        ready |= HOST_POLL_RDHUP;
    if (ev & EPOLLHUP)
        ready |= HOST_POLL_HUP;
    if (ev & EPOLLERR)
        ready |= HOST_POLL_ERR;
    return ready;
}

static int epoll_set(struct host *h, int fd, uint64_t id, uint32_t events, int op)
{
    struct epoll_event ev = {.events = events, .data.u64 = id};
    return epoll_ctl(h->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

static int poller_add(void *ctx, int fd, uint64_t id, unsigned mask)
{
    return epoll_set(ctx, fd, id, to_epoll(mask), EPOLL_CTL_ADD);
}

static int poller_mod(void *ctx, int fd, uint64_t id, unsigned mask)
{
    return epoll_set(ctx, fd, id, to_epoll(mask), EPOLL_CTL_MOD);
}

int host_init(struct host *h, uint32_t socket_slots)
{
    h->epfd = h->sigfd = -1;
    /* No del: a descriptor we never duplicate leaves the set on close(). */
    h->io.poller = (struct host_poller){.ctx = h, .add = poller_add, .mod = poller_mod};
    int rc = host_io_init(&h->io, socket_slots);
    if (rc < 0)
        return rc;
    h->epfd = epoll_create1(EPOLL_CLOEXEC);
    return h->epfd < 0 ? -errno : 0;
}

void host_fini(struct host *h)
{
    host_io_fini(&h->io);
    if (h->epfd >= 0)
        close(h->epfd);
    h->epfd = -1;
}

/* ------------------------------------------------------------------------ */
/* Signals                                                                   */
/* ------------------------------------------------------------------------ */

int host_signals_setup(struct host *h)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGQUIT);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -errno;
    signal(SIGPIPE, SIG_IGN);
    h->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (h->sigfd < 0)
        return -errno;
    return epoll_set(h, h->sigfd, HOST_ID_SIGNAL, EPOLLIN, EPOLL_CTL_ADD);
}

static void reap_child(struct host *h)
{
    int status;
    if (h->child <= 0 || h->child_exited)
        return;
    if (waitpid(h->child, &status, WNOHANG) == h->child) {
        h->child_status = status;
        h->child_exited = true;
        h->stop = true;
    }
}

static void signal_event(struct host *h)
{
    struct signalfd_siginfo si;
    for (int i = 0; i < 64 && read(h->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si); i++) {
        if (si.ssi_signo == SIGCHLD) {
            reap_child(h);
            continue;
        }
        h->signals_seen++;
        if (h->child > 0 && !h->child_exited && h->signals_seen == 1) {
            /* vnat run: the command decides; vnat stops when it exits. A
             * second signal stops vnat at once. */
            kill(h->child, (int)si.ssi_signo);
        } else {
            h->stop = true;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* The loop                                                                  */
/* ------------------------------------------------------------------------ */

int host_loop_run(struct host *h)
{
    struct epoll_event evs[LOOP_MAX_EVENTS];
    /* SIGCHLD may have arrived before the signalfd was read. */
    reap_child(h);
    while (!h->stop) {
        uint64_t now = host_now_ns();
        uint64_t deadline = vnat_next_deadline(h->io.nat);
        if (deadline <= now) {
            h->io.st.ticks++;
            (void)vnat_on_tick(h->io.nat, now);
            deadline = vnat_next_deadline(h->io.nat);
            if (deadline <= now) {
                h->io.st.deadline_guard++;
                deadline = now + DEADLINE_GUARD_NS;
            }
        }
        struct timespec ts, *tsp = NULL;
        if (deadline != UINT64_MAX) {
            uint64_t wait = deadline - now;
            ts.tv_sec = (time_t)(wait / 1000000000u);
            ts.tv_nsec = (long)(wait % 1000000000u);
            tsp = &ts;
        }
        int n = epoll_pwait2(h->epfd, evs, LOOP_MAX_EVENTS, tsp, NULL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("vnat: epoll_pwait2");
            return -1;
        }
        h->io.st.wakeups++;
        now = host_now_ns();
        if (n == 0) {
            h->io.st.ticks++;
            (void)vnat_on_tick(h->io.nat, now);
            continue;
        }
        for (int i = 0; i < n; i++) {
            uint64_t id = evs[i].data.u64;
            uint32_t ev = evs[i].events;
            h->io.st.events++;
            if (id == HOST_ID_LINK)
                host_link_event(&h->io, now, from_epoll(ev));
            else if (id == HOST_ID_SIGNAL)
                signal_event(h);
            else if (id == HOST_ID_LINK_LISTEN)
                host_link_accept(&h->io, now);
            else if (host_api_owns(id))
                host_api_event(h, now, id, from_epoll(ev));
            else
                host_sock_event(&h->io, now, (vnat_token)id, from_epoll(ev));
        }
    }
    return 0;
}

/* A self-check of the property the reference NAT lacked (its defect 4: busy
 * polling while peeked data waits): with the core's read interest off, a
 * socket holding unread data produces no event; with it back on, exactly one
 * event per change, not one per wait. Runs on a real loopback TCP pair, the
 * adapter's own operations and its epoll set. Returns 1 when the property
 * holds, 0 when it does not, -1 when the check could not be set up.
 * pins/defects_pins.c looks for this symbol. */
int vnat_host_adapter_honours_interest(void);
int vnat_host_adapter_honours_interest(void)
{
    struct host h;
    memset(&h, 0, sizeof(h));
    if (host_init(&h, 16) < 0) {
        host_fini(&h);
        return -1;
    }
    int result = -1, lfd = -1, peer = -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 1) < 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &al) < 0)
        goto out;
    struct vnat_sockaddr dst = {.ip = {.family = VNAT_AF_INET}, .port = ntohs(a.sin_port)};
    memcpy(dst.ip.addr, &a.sin_addr, 4);
    const vnat_token tok = ((vnat_token)7 << 32) | 3;
    if (host_ops_table.tcp_connect(&h.io, tok, &dst) < 0)
        goto out;
    peer = accept(lfd, NULL, NULL);
    if (peer < 0 || write(peer, "pending", 7) != 7)
        goto out;
    struct epoll_event ev[4];
    int n_on, n_again, n_off, n_back;
    host_ops_table.set_interest(&h.io, tok, VNAT_WANT_READ);
    n_on = epoll_wait(h.epfd, ev, 4, 1000);  /* data is there: one report */
    n_again = epoll_wait(h.epfd, ev, 4, 50); /* unread, unchanged: silence */
    host_ops_table.set_interest(&h.io, tok, 0);
    n_off = epoll_wait(h.epfd, ev, 4, 50); /* interest off: silence */
    host_ops_table.set_interest(&h.io, tok, VNAT_WANT_READ);
    n_back = epoll_wait(h.epfd, ev, 4, 1000); /* back on: reported again */
    result = n_on == 1 && n_again == 0 && n_off == 0 && n_back == 1 && ev[0].data.u64 == tok;
    host_ops_table.close(&h.io, tok, 1);
out:
    if (peer >= 0)
        close(peer);
    if (lfd >= 0)
        close(lfd);
    host_fini(&h);
    return result;
}
