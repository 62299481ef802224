/*
 * loop.c — the event loop: one epoll set holds the guest link, a signalfd
 * and every host socket (its epoll data is the core's token). Each wakeup
 * reads the clock once and hands the whole batch of events to the core with
 * that `now`; the wait never outlasts the core's next deadline, and with no
 * deadline it waits forever, so an idle or stalled vnat does not run. The
 * guest link is either a tap device (one read() per frame, bounded per
 * wakeup) or a QEMU stream socket (framed by stream.c). The --api-socket
 * listener and its clients (api.c) are in the same set.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adapter.h"

#define LOOP_MAX_EVENTS 256
#define TAP_FRAMES_PER_WAKEUP 128
#define STREAM_READS_PER_WAKEUP 16
#define STREAM_TX_QUEUE (4u << 20)
/* A deadline that is still not in the future after a tick would make the
 * loop spin; wait at least this long instead (and count it). */
#define DEADLINE_GUARD_NS 1000000u

/* ------------------------------------------------------------------------ */
/* Guest link                                                                */
/* ------------------------------------------------------------------------ */

static void link_arm_out(struct host *h, bool on)
{
    if (h->link_fd < 0 || h->link_out_armed == on)
        return;
    uint32_t ev = EPOLLIN | (on ? EPOLLOUT : 0);
    if (host_epoll_set(h, h->link_fd, HOST_ID_LINK, ev, EPOLL_CTL_MOD) == 0)
        h->link_out_armed = on;
}

/* Drop the stream connection (bad length, error, hang-up); vnat serve then
 * waits for the next one. Flows stay in the core and recover or time out. */
static void link_stream_reset(struct host *h, const char *why)
{
    if (h->link_fd < 0)
        return;
    fprintf(stderr, "vnat: guest link reset: %s\n", why);
    close(h->link_fd);
    h->link_fd = -1;
    h->link_out_armed = false;
    h->st.link_resets++;
    stream_rx_reset(&h->srx);
    h->stx.start = h->stx.end = 0;
}

int guest_link_send(struct host *h, const uint8_t *frame, size_t len)
{
    if (h->link_fd < 0) {
        h->st.link_refused++;
        return 1;
    }
    if (h->link_kind == HOST_LINK_TAP) {
        ssize_t n = write(h->link_fd, frame, len);
        if (n == (ssize_t)len) {
            h->st.frames_tx++;
            pcap_frame(h->pcap, frame, len);
            return 0;
        }
        h->st.link_refused++;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
            h->link_refused = true;
            link_arm_out(h, true);
        }
        return 1;
    }
    int rc = stream_tx_send(&h->stx, h->link_fd, frame, len);
    if (rc == 0) {
        h->st.frames_tx++;
        pcap_frame(h->pcap, frame, len);
        if (stream_tx_pending(&h->stx))
            link_arm_out(h, true);
        return 0;
    }
    h->st.link_refused++;
    if (rc == 1) {
        h->link_refused = true;
        link_arm_out(h, true);
    }
    /* A failed connection is noticed (and reset) by the loop on EPOLLERR. */
    return 1;
}

static void guest_frame_in(struct host *h, uint64_t now, const uint8_t *frame, size_t len)
{
    h->st.frames_rx++;
    pcap_frame(h->pcap, frame, len);
    (void)vnat_on_guest_frame(h->nat, now, frame, len);
}

static void tap_readable(struct host *h, uint64_t now)
{
    for (int i = 0; i < TAP_FRAMES_PER_WAKEUP && h->link_fd >= 0; i++) {
        ssize_t n = read(h->link_fd, h->tap_buf, HOST_MAX_FRAME);
        if (n <= 0)
            return; /* EAGAIN: drained; level-triggered, so a rest re-fires */
        guest_frame_in(h, now, h->tap_buf, (size_t)n);
    }
}

static void stream_readable(struct host *h, uint64_t now)
{
    for (int i = 0; i < STREAM_READS_PER_WAKEUP && h->link_fd >= 0; i++) {
        size_t avail;
        uint8_t *p = stream_rx_space(&h->srx, &avail);
        ssize_t n = recv(h->link_fd, p, avail, MSG_DONTWAIT);
        if (n == 0) {
            link_stream_reset(h, "peer closed the stream");
            return;
        }
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                link_stream_reset(h, strerror(errno));
            return;
        }
        stream_rx_commit(&h->srx, (size_t)n);
        const uint8_t *frame;
        size_t len;
        enum stream_rx_result r;
        /* Bounded: each frame consumes at least 5 bytes of the buffer. */
        while ((r = stream_rx_next(&h->srx, &frame, &len)) == STREAM_RX_FRAME)
            guest_frame_in(h, now, frame, len);
        if (r == STREAM_RX_BAD_LENGTH) {
            h->st.link_bad_lengths++;
            link_stream_reset(h, "bad frame length");
            return;
        }
        if ((size_t)n < avail)
            return;
    }
}

static void link_writable(struct host *h, uint64_t now)
{
    if (h->link_kind == HOST_LINK_STREAM && stream_tx_pending(&h->stx)) {
        int rc = stream_tx_flush(&h->stx, h->link_fd);
        if (rc < 0) {
            link_stream_reset(h, strerror(-rc));
            return;
        }
        if (rc == 0)
            return;
    }
    link_arm_out(h, false);
    if (h->link_refused) {
        h->link_refused = false;
        (void)vnat_on_link_writable(h->nat, now);
    }
}

static void link_event(struct host *h, uint64_t now, uint32_t ev)
{
    if (ev & EPOLLOUT)
        link_writable(h, now);
    if (h->link_fd < 0)
        return;
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        if (h->link_kind == HOST_LINK_TAP)
            tap_readable(h, now);
        else
            stream_readable(h, now);
    }
}

int host_link_attach_tap(struct host *h, int tap_fd)
{
    h->link_kind = HOST_LINK_TAP;
    h->tap_buf = malloc(HOST_MAX_FRAME);
    if (!h->tap_buf)
        return -ENOMEM;
    h->link_fd = tap_fd;
    return host_epoll_set(h, tap_fd, HOST_ID_LINK, EPOLLIN, EPOLL_CTL_ADD);
}

int host_link_listen_stream(struct host *h, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    h->link_kind = HOST_LINK_STREAM;
    int rc = stream_rx_init(&h->srx, HOST_MAX_FRAME);
    if (rc == 0)
        rc = stream_tx_init(&h->stx, STREAM_TX_QUEUE);
    if (rc < 0)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    (void)unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    h->link_listen_fd = fd;
    return host_epoll_set(h, fd, HOST_ID_LINK_LISTEN, EPOLLIN, EPOLL_CTL_ADD);
}

/* One guest at a time: a second connection is refused while one is up. */
static void link_accept(struct host *h, uint64_t now)
{
    int fd = accept4(h->link_listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if (h->link_fd >= 0) {
        /* The old guest may have gone with its hang-up still unread in
         * this batch: a pending EOF means the new connection replaces it. */
        char b;
        if (recv(h->link_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
            link_stream_reset(h, "peer closed the stream");
    }
    if (h->link_fd >= 0) {
        close(fd);
        return;
    }
    int big = 4 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    if (host_epoll_set(h, fd, HOST_ID_LINK, EPOLLIN, EPOLL_CTL_ADD) < 0) {
        close(fd);
        return;
    }
    h->link_fd = fd;
    stream_rx_reset(&h->srx);
    if (h->link_refused) {
        h->link_refused = false;
        (void)vnat_on_link_writable(h->nat, now);
    }
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
    return host_epoll_set(h, h->sigfd, HOST_ID_SIGNAL, EPOLLIN, EPOLL_CTL_ADD);
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
/* Host sockets                                                              */
/* ------------------------------------------------------------------------ */

static void socket_event(struct host *h, uint64_t now, vnat_token tok, uint32_t ev)
{
    struct host_sock *s = host_sock_find(h, tok);
    if (!s) {
        h->st.stale_events++; /* closed earlier in this batch */
        return;
    }
    switch (s->kind) {
    case HOST_SOCK_LISTENER:
        (void)vnat_on_listener_ready(h->nat, now, tok);
        return;
    case HOST_SOCK_DGRAM:
        if (ev & EPOLLOUT)
            (void)vnat_on_writable(h->nat, now, tok, 0);
        if ((ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) && host_sock_find(h, tok))
            (void)vnat_on_readable(h->nat, now, tok);
        return;
    case HOST_SOCK_STREAM:
        break;
    default:
        return;
    }
    bool failed_connect = false;
    if (s->connecting && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int so_error = 0;
        socklen_t sl = sizeof(so_error);
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &so_error, &sl) < 0)
            so_error = errno;
        s->connecting = 0;
        failed_connect = so_error != 0;
        (void)vnat_on_writable(h->nat, now, tok, so_error);
    } else if (ev & EPOLLOUT) {
        (void)vnat_on_writable(h->nat, now, tok, 0);
    }
    /* The core may have closed the token (or reused its slot) meanwhile. */
    if (failed_connect || !host_sock_find(h, tok))
        return;
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        (void)vnat_on_readable(h->nat, now, tok);
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
        uint64_t deadline = vnat_next_deadline(h->nat);
        if (deadline <= now) {
            h->st.ticks++;
            (void)vnat_on_tick(h->nat, now);
            deadline = vnat_next_deadline(h->nat);
            if (deadline <= now) {
                h->st.deadline_guard++;
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
        h->st.wakeups++;
        now = host_now_ns();
        if (n == 0) {
            h->st.ticks++;
            (void)vnat_on_tick(h->nat, now);
            continue;
        }
        for (int i = 0; i < n; i++) {
            uint64_t id = evs[i].data.u64;
            uint32_t ev = evs[i].events;
            h->st.events++;
            if (id == HOST_ID_LINK)
                link_event(h, now, ev);
            else if (id == HOST_ID_SIGNAL)
                signal_event(h);
            else if (id == HOST_ID_LINK_LISTEN)
                link_accept(h, now);
            else if (host_api_owns(id))
                host_api_event(h, now, id, ev);
            else
                socket_event(h, now, (vnat_token)id, ev);
        }
    }
    return 0;
}
