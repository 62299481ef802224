/*
 * sockops.c — the core's host operations on real non-blocking sockets. Each
 * operation is one or two system calls on the descriptor the token names;
 * the descriptor is found in a table indexed by the token's slot (no scan),
 * and the token's generation is checked so a stale token never reaches a
 * reused descriptor. Nothing here waits: interest goes to the front end's
 * poller (struct host_poller; loop.c's is epoll), and readiness comes back
 * through host_sock_event, so a front end with another wait (poll()) reuses
 * this file as it is. Stream sockets are asked for edge-triggered reports: a
 * readiness report is a notification of something new (data, space, FIN,
 * error), so a flow whose data waits for the guest never wakes the loop
 * again until something changes (the reference NAT's busy polling). Payload
 * moves kernel -> frame (peek writes straight into the frame the core is
 * building) and frame -> kernel (send): never through a buffer of ours,
 * except in the peek fallback for kernels without SO_PEEK_OFF on TCP.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "adapter.h"

#define HOST_MAX_SLOTS (1u << 24)
#define PEEK_SCRATCH_LEN (64u * 1024u)
#define DISCARD_MAX_CALLS 64

/* The reserve descriptor (see shed_one): held open so that, out of
 * descriptors, one can still be freed for a moment. */
static void reserve_take(struct host_io *io)
{
    if (io->reserve_open)
        return;
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        io->reserve_fd = fd;
        io->reserve_open = true;
    }
}

/* accept() failed for want of descriptors (EMFILE, ENFILE) with a
 * connection waiting, and listeners are level-triggered: without this the
 * listener would be reported again at once, as long as the connection
 * waits, and the loop would spin. The reserve descriptor is given up for a
 * moment to take that connection and close it with a reset (the host peer
 * sees ECONNRESET at once, not a hang), so each report takes one waiting
 * connection off the queue. */
static void shed_one(struct host_io *io, int lfd)
{
    if (!io->reserve_open)
        return;
    close(io->reserve_fd);
    io->reserve_open = false;
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(fd);
        io->st.accept_shed++;
    }
    reserve_take(io);
}

int host_io_init(struct host_io *io, uint32_t socket_slots)
{
    io->link_fd = io->link_listen_fd = -1;
    if (socket_slots == 0 || socket_slots > HOST_MAX_SLOTS)
        socket_slots = 1024;
    io->socks = calloc(socket_slots, sizeof(*io->socks));
    io->peek_scratch = malloc(PEEK_SCRATCH_LEN);
    if (!io->socks || !io->peek_scratch)
        return -ENOMEM;
    io->nsocks = socket_slots;
    io->peek_scratch_len = PEEK_SCRATCH_LEN;
    io->peek_off_supported = true;
    reserve_take(io);
    return 0;
}

/* Close a socket's descriptor; the poller forgets it first if it must. */
static void sock_close_fd(struct host_io *io, int fd)
{
    if (io->poller.del)
        io->poller.del(io->poller.ctx, fd);
    close(fd);
}

void host_io_fini(struct host_io *io)
{
    for (uint32_t i = 0; i < io->nsocks; i++)
        if (io->socks[i].tok != VNAT_TOKEN_NONE)
            sock_close_fd(io, io->socks[i].fd);
    free(io->socks);
    free(io->peek_scratch);
    io->socks = NULL;
    io->nsocks = 0;
    if (io->reserve_open)
        close(io->reserve_fd);
    io->reserve_open = false;
}

struct host_sock *host_sock_find(struct host_io *io, vnat_token tok)
{
    uint32_t slot = (uint32_t)tok;
    if (tok == VNAT_TOKEN_NONE || slot >= io->nsocks)
        return NULL;
    struct host_sock *s = &io->socks[slot];
    return s->tok == tok ? s : NULL;
}

/* A slot for a new socket. The table grows only on the open path (never per
 * frame), so a core whose slots exceed our first guess still works. */
static struct host_sock *sock_claim(struct host_io *io, vnat_token tok)
{
    uint32_t slot = (uint32_t)tok;
    if (tok == VNAT_TOKEN_NONE || tok >= HOST_ID_FIRST_RESERVED || slot >= HOST_MAX_SLOTS)
        return NULL;
    if (slot >= io->nsocks) {
        uint32_t n = io->nsocks;
        while (n <= slot && n < HOST_MAX_SLOTS)
            n *= 2;
        struct host_sock *t = realloc(io->socks, (size_t)n * sizeof(*t));
        if (!t)
            return NULL;
        memset(t + io->nsocks, 0, (size_t)(n - io->nsocks) * sizeof(*t));
        io->socks = t;
        io->nsocks = n;
    }
    struct host_sock *s = &io->socks[slot];
    if (s->tok != VNAT_TOKEN_NONE) {
        /* The core reused a slot it never closed: do not leak the fd. */
        sock_close_fd(io, s->fd);
    }
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    s->peek_off = -1;
    return s;
}

static void sock_release(struct host_sock *s)
{
    s->tok = VNAT_TOKEN_NONE;
    s->fd = -1;
    s->kind = HOST_SOCK_FREE;
}

static socklen_t to_sockaddr(const struct vnat_sockaddr *a, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (a->ip.family == VNAT_AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(a->port);
        memcpy(&in->sin_addr, a->ip.addr, 4);
        return sizeof(*in);
    }
    if (a->ip.family == VNAT_AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(a->port);
        memcpy(&in6->sin6_addr, a->ip.addr, 16);
        return sizeof(*in6);
    }
    return 0;
}

static void from_sockaddr(const struct sockaddr_storage *ss, struct vnat_sockaddr *a)
{
    memset(a, 0, sizeof(*a));
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        a->ip.family = VNAT_AF_INET;
        memcpy(a->ip.addr, &in->sin_addr, 4);
        a->port = ntohs(in->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        a->ip.family = VNAT_AF_INET6;
        memcpy(a->ip.addr, &in6->sin6_addr, 16);
        a->port = ntohs(in6->sin6_port);
    }
}

/* What the poller watches a socket for, given the core's interest. */
static unsigned poll_mask(const struct host_sock *s, unsigned want)
{
    unsigned m = 0;
    if (want & VNAT_WANT_READ)
        m |= HOST_POLL_IN | HOST_POLL_RDHUP;
    if (want & VNAT_WANT_WRITE)
        m |= HOST_POLL_OUT;
    if (s->kind == HOST_SOCK_STREAM)
        m |= HOST_POLL_EDGE;
    return m;
}

/* Register a fresh socket in the table and with the poller for `want`. */
static int sock_install(struct host_io *io, struct host_sock *s, vnat_token tok, int fd,
                        uint8_t kind, unsigned want)
{
    s->tok = tok;
    s->fd = fd;
    s->kind = kind;
    s->interest = want;
    int rc = io->poller.add(io->poller.ctx, fd, tok, poll_mask(s, want));
    if (rc < 0) {
        close(fd);
        sock_release(s);
        return rc;
    }
    io->st.sockets_opened++;
    return 0;
}

/* TCP options every flow socket gets: no Nagle (the guest's stack already
 * decided segment sizes); urgent data inline (SO_OOBINLINE): vnat carries a
 * byte stream and no urgent semantics, and without it the kernel keeps the
 * peer's urgent byte out of the stream, which a peek at an offset then
 * skips while the core counts it, so the guest got bytes twice or lost
 * (host.urgent, docs/adapter.md); and, where the kernel has it, a peek
 * offset so a peek at any offset costs no copy of the bytes before it. */
static void stream_sockopts(struct host_io *io, struct host_sock *s, int fd)
{
    int one = 1, zero = 0;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    (void)setsockopt(fd, SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one));
    if (io->peek_off_supported) {
        if (setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) == 0)
            s->peek_off = 0;
        else
            io->peek_off_supported = false;
    }
}

static int dgram_socket(enum vnat_dgram_kind kind, int family)
{
    int proto = 0;
    if (kind == VNAT_DGRAM_ICMP)
        proto = family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
    else if (kind != VNAT_DGRAM_UDP)
        return -EINVAL;
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    return fd < 0 ? -errno : fd;
}

/* The first steps of every open: the address in the kernel's form, the
 * table slot for tok, and a fresh non-blocking socket (a stream, or a
 * datagram socket of `kind`). Returns the descriptor or -errno. */
static int sock_open(struct host_io *io, vnat_token tok, const struct vnat_sockaddr *a, bool stream,
                     enum vnat_dgram_kind kind, struct sockaddr_storage *ss, socklen_t *sl,
                     struct host_sock **s)
{
    *sl = to_sockaddr(a, ss);
    if (*sl == 0)
        return -EAFNOSUPPORT;
    *s = sock_claim(io, tok);
    if (!*s)
        return -EINVAL;
    if (!stream)
        return dgram_socket(kind, ss->ss_family);
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    return fd < 0 ? -errno : fd;
}

/* A setup call on a fresh socket failed: close it and return -errno. */
static int close_failed(int fd)
{
    int err = -errno;
    close(fd);
    return err;
}

static int op_guest_send(void *ctx, const uint8_t *frame, size_t len)
{
    return guest_link_send(ctx, frame, len);
}

static int op_tcp_connect(void *ctx, vnat_token tok, const struct vnat_sockaddr *dst)
{
    struct host_io *io = ctx;
    struct sockaddr_storage ss;
    socklen_t sl;
    struct host_sock *s;
    int fd = sock_open(io, tok, dst, true, VNAT_DGRAM_UDP, &ss, &sl, &s);
    if (fd < 0)
        return fd;
    stream_sockopts(io, s, fd);
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS)
        return close_failed(fd);
    /* No interest yet: the core asks for write interest after this returns;
     * completion then arrives as writable with SO_ERROR. */
    int rc = sock_install(io, s, tok, fd, HOST_SOCK_STREAM, 0);
    if (rc == 0)
        s->connecting = 1;
    return rc;
}

static int op_tcp_listen(void *ctx, vnat_token tok, const struct vnat_sockaddr *local)
{
    struct host_io *io = ctx;
    struct sockaddr_storage ss;
    socklen_t sl;
    struct host_sock *s;
    int fd = sock_open(io, tok, local, true, VNAT_DGRAM_UDP, &ss, &sl, &s);
    if (fd < 0)
        return fd;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss.ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, SOMAXCONN) < 0)
        return close_failed(fd);
    /* Level-triggered: the core accepts until -EAGAIN. */
    return sock_install(io, s, tok, fd, HOST_SOCK_LISTENER, VNAT_WANT_READ);
}

static int op_tcp_accept(void *ctx, vnat_token listener, vnat_token tok, struct vnat_sockaddr *peer)
{
    struct host_io *io = ctx;
    struct host_sock *l = host_sock_find(io, listener);
    if (!l || l->kind != HOST_SOCK_LISTENER)
        return -EBADF;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    reserve_take(io); /* if it could not be taken back last time */
    int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == EMFILE || e == ENFILE)
            shed_one(io, l->fd);
        return e == EWOULDBLOCK ? -EAGAIN : -e;
    }
    struct host_sock *s = sock_claim(io, tok);
    if (!s) {
        close(fd);
        return -EINVAL;
    }
    stream_sockopts(io, s, fd);
    if (peer)
        from_sockaddr(&ss, peer);
    return sock_install(io, s, tok, fd, HOST_SOCK_STREAM, 0);
}

static long op_send(void *ctx, vnat_token tok, const uint8_t *buf, size_t len)
{
    struct host_io *io = ctx;
    struct host_sock *s = host_sock_find(io, tok);
    if (!s)
        return -EBADF;
    ssize_t n = send(s->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
        if (errno == EWOULDBLOCK) {
            io->st.send_refused++;
            return -EAGAIN;
        }
        return -errno;
    }
    if ((size_t)n < len)
        io->st.send_short++;
    return (long)n;
}

/* SO_SNDBUF minus what is still queued (SIOCOUTQ: unsent and unacknowledged
 * payload). This is payload-consistent: each byte the core writes lowers it
 * by exactly one, so a window the core offered from it stays valid while the
 * guest's data is in flight. The kernel admits data by the truesize of its
 * buffers instead (SK_MEMINFO_WMEM_QUEUED < SK_MEMINFO_SNDBUF), so near a
 * full buffer this overstates the room by the buffers' overhead and a send
 * can come up short (counted: send_short). The truesize-based figure was
 * measured too: it shrinks by more than the bytes written, so the core then
 * cut segments that were inside the window it had offered (docs/adapter.md,
 * "Backpressure"). */
static long op_send_space(void *ctx, vnat_token tok)
{
    struct host_sock *s = host_sock_find(ctx, tok);
    if (!s)
        return -EBADF;
    int sndbuf = 0, outq = 0;
    socklen_t ol = sizeof(sndbuf);
    if (getsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &ol) < 0)
        return -errno;
    if (ioctl(s->fd, SIOCOUTQ, &outq) < 0)
        return -errno;
    return sndbuf > outq ? (long)(sndbuf - outq) : 0;
}

/* Without SO_PEEK_OFF: peek offset+len bytes with the first `offset` landing
 * in a scratch area (the same 64 KiB repeated in the iovec, so any offset up
 * to IOV_MAX * 64 KiB needs no large buffer) and the wanted bytes landing
 * straight in buf. The bytes before the offset are copied for nothing; that
 * is why this path is used only when the kernel lacks SO_PEEK_OFF on TCP. */
static long peek_fallback(struct host_io *io, struct host_sock *s, size_t offset, uint8_t *buf,
                          size_t len)
{
    struct iovec iov[IOV_MAX];
    size_t n_iov = 0, rest = offset;
    while (rest > 0 && n_iov < IOV_MAX - 1) {
        size_t chunk = rest < io->peek_scratch_len ? rest : io->peek_scratch_len;
        iov[n_iov].iov_base = io->peek_scratch;
        iov[n_iov].iov_len = chunk;
        n_iov++;
        rest -= chunk;
    }
    if (rest > 0)
        return -EINVAL;
    iov[n_iov].iov_base = buf;
    iov[n_iov].iov_len = len;
    n_iov++;
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = n_iov};
    io->st.peek_fallback++;
    ssize_t n = recvmsg(s->fd, &mh, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    if ((size_t)n > offset)
        return (long)((size_t)n - offset);
    if (n == 0 && offset == 0)
        return 0;
    /* Nothing at the offset: end of stream if the peer closed, else wait. */
    struct pollfd p = {.fd = s->fd, .events = POLLRDHUP};
    if (poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP)))
        return 0;
    return -EAGAIN;
}

static long op_peek(void *ctx, vnat_token tok, size_t offset, uint8_t *buf, size_t len)
{
    struct host_io *io = ctx;
    struct host_sock *s = host_sock_find(io, tok);
    if (!s || s->kind != HOST_SOCK_STREAM)
        return -EBADF;
    io->st.peek_calls++;
    if (s->peek_off < 0)
        return peek_fallback(io, s, offset, buf, len);
    if (offset > INT_MAX)
        return -EINVAL;
    /* The kernel moves the peek offset itself (forward on a peek, back on a
     * discard), so it is set only when the core asks for another place. */
    if ((size_t)s->peek_off != offset) {
        int off = (int)offset;
        if (setsockopt(s->fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)) < 0)
            return -errno;
        s->peek_off = off;
        io->st.peek_off_sets++;
    }
    ssize_t n = recv(s->fd, buf, len, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    s->peek_off += (int32_t)n;
    return (long)n;
}

static int op_discard(void *ctx, vnat_token tok, size_t len)
{
    struct host_sock *s = host_sock_find(ctx, tok);
    if (!s || s->kind != HOST_SOCK_STREAM)
        return -EBADF;
    size_t rest = len;
    for (int i = 0; rest > 0 && i < DISCARD_MAX_CALLS; i++) {
        /* MSG_TRUNC on TCP drops the bytes without copying them anywhere. */
        ssize_t n = recv(s->fd, NULL, rest, MSG_TRUNC | MSG_DONTWAIT);
        if (n < 0)
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        if (n == 0)
            return -EIO; /* asked to drop bytes that never arrived */
        rest -= (size_t)n;
        if (s->peek_off >= 0)
            s->peek_off = s->peek_off > n ? s->peek_off - (int32_t)n : 0;
    }
    return rest == 0 ? 0 : -EIO;
}

static int op_shutdown_write(void *ctx, vnat_token tok)
{
    struct host_sock *s = host_sock_find(ctx, tok);
    if (!s)
        return -EBADF;
    return shutdown(s->fd, SHUT_WR) < 0 ? -errno : 0;
}

static void op_close(void *ctx, vnat_token tok, int reset)
{
    struct host_sock *s = host_sock_find(ctx, tok);
    if (!s)
        return;
    if (reset && s->kind == HOST_SOCK_STREAM) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        (void)setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    sock_close_fd(ctx, s->fd);
    sock_release(s);
}

static void op_set_interest(void *ctx, vnat_token tok, unsigned mask)
{
    struct host_io *io = ctx;
    struct host_sock *s = host_sock_find(io, tok);
    mask &= VNAT_WANT_READ | VNAT_WANT_WRITE;
    if (!s || s->interest == mask)
        return;
    if (io->poller.mod(io->poller.ctx, s->fd, tok, poll_mask(s, mask)) == 0)
        s->interest = mask;
}

static int op_dgram_open(void *ctx, vnat_token tok, enum vnat_dgram_kind kind,
                         const struct vnat_sockaddr *dst)
{
    struct host_io *io = ctx;
    struct sockaddr_storage ss;
    socklen_t sl;
    struct host_sock *s;
    int fd = sock_open(io, tok, dst, false, kind, &ss, &sl, &s);
    if (fd < 0)
        return fd;
    if (kind == VNAT_DGRAM_ICMP) /* a ping socket's port is its identifier */
        ((struct sockaddr_in *)&ss)->sin_port = 0;
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0)
        return close_failed(fd);
    return sock_install(io, s, tok, fd, HOST_SOCK_DGRAM, 0);
}

static int op_dgram_bind(void *ctx, vnat_token tok, enum vnat_dgram_kind kind,
                         const struct vnat_sockaddr *local)
{
    struct host_io *io = ctx;
    struct sockaddr_storage ss;
    socklen_t sl;
    struct host_sock *s;
    int fd = sock_open(io, tok, local, false, kind, &ss, &sl, &s);
    if (fd < 0)
        return fd;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
        return close_failed(fd);
    /* A bound socket is a listener of datagrams: readable from the start. */
    return sock_install(io, s, tok, fd, HOST_SOCK_DGRAM, VNAT_WANT_READ);
}

static long op_dgram_send(void *ctx, vnat_token tok, const uint8_t *buf, size_t len,
                          const struct vnat_sockaddr *to)
{
    struct host_sock *s = host_sock_find(ctx, tok);
    if (!s || s->kind != HOST_SOCK_DGRAM)
        return -EBADF;
    ssize_t n;
    if (to) {
        struct sockaddr_storage ss;
        socklen_t sl = to_sockaddr(to, &ss);
        if (sl == 0)
            return -EAFNOSUPPORT;
        n = sendto(s->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&ss, sl);
    } else {
        n = send(s->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return (long)n;
}

static long op_dgram_recv(void *ctx, vnat_token tok, uint8_t *buf, size_t cap,
                          struct vnat_sockaddr *from)
{
    struct host_sock *s = host_sock_find(ctx, tok);
    if (!s || s->kind != HOST_SOCK_DGRAM)
        return -EBADF;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    /* MSG_TRUNC: the return value is the datagram's full length. */
    ssize_t n = recvfrom(s->fd, buf, cap, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&ss, &sl);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    if (from)
        from_sockaddr(&ss, from);
    return (long)n;
}

static void op_log(void *ctx, const struct vnat_log_record *rec)
{
    struct host_io *io = ctx;
    if (io->rec)
        recorder_write(io->rec, rec);
}

static void op_panic(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "vnat: core invariant failed: %s\n", msg ? msg : "(no message)");
    abort();
}

const struct vnat_host_ops host_ops_table = {
    .struct_size = sizeof(struct vnat_host_ops),
    .guest_send = op_guest_send,
    .tcp_connect = op_tcp_connect,
    .tcp_listen = op_tcp_listen,
    .tcp_accept = op_tcp_accept,
    .send = op_send,
    .send_space = op_send_space,
    .peek = op_peek,
    .discard = op_discard,
    .shutdown_write = op_shutdown_write,
    .close = op_close,
    .set_interest = op_set_interest,
    .dgram_open = op_dgram_open,
    .dgram_bind = op_dgram_bind,
    .dgram_send = op_dgram_send,
    .dgram_recv = op_dgram_recv,
    .log = op_log,
    .panic = op_panic,
};

/* ------------------------------------------------------------------------ */
/* Readiness -> core events                                                  */
/* ------------------------------------------------------------------------ */

void host_sock_event(struct host_io *io, uint64_t now, vnat_token tok, unsigned ready)
{
    struct host_sock *s = host_sock_find(io, tok);
    if (!s) {
        io->st.stale_events++; /* closed earlier in this batch */
        return;
    }
    switch (s->kind) {
    case HOST_SOCK_LISTENER:
        (void)vnat_on_listener_ready(io->nat, now, tok);
        return;
    case HOST_SOCK_DGRAM:
        if (ready & HOST_POLL_OUT)
            (void)vnat_on_writable(io->nat, now, tok, 0);
        if ((ready & (HOST_POLL_IN | HOST_POLL_ERR | HOST_POLL_HUP)) && host_sock_find(io, tok))
            (void)vnat_on_readable(io->nat, now, tok);
        return;
    case HOST_SOCK_STREAM:
        break;
    default:
        return;
    }
    bool failed_connect = false;
    if (s->connecting && (ready & (HOST_POLL_OUT | HOST_POLL_ERR | HOST_POLL_HUP))) {
        int so_error = 0;
        socklen_t sl = sizeof(so_error);
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &so_error, &sl) < 0)
            so_error = errno;
        s->connecting = 0;
        failed_connect = so_error != 0;
        (void)vnat_on_writable(io->nat, now, tok, so_error);
    } else if (ready & HOST_POLL_OUT) {
        (void)vnat_on_writable(io->nat, now, tok, 0);
    }
    /* The core may have closed the token (or reused its slot) meanwhile. */
    if (failed_connect || !host_sock_find(io, tok))
        return;
    if (ready & (HOST_POLL_IN | HOST_POLL_RDHUP | HOST_POLL_HUP | HOST_POLL_ERR))
        (void)vnat_on_readable(io->nat, now, tok);
}
