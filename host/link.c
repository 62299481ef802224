/*
 * link.c — the guest link: a tap device (one read() per frame, bounded per
 * wakeup) or a QEMU stream socket (framed by stream.c; `vnat serve` listens
 * for one guest at a time). Frames read go to the core; frames the core
 * sends go out here (guest_send). Like sockops.c it waits on nothing: the
 * link's descriptors are registered with the front end's poller, and its
 * readiness comes back through host_link_event and host_link_accept.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "adapter.h"

#define TAP_FRAMES_PER_WAKEUP 128
#define STREAM_READS_PER_WAKEUP 16
#define STREAM_TX_QUEUE (4u << 20)
#define STREAM_DRAIN_READS 128

static void link_close_fd(struct host_io *io, int fd)
{
    if (io->poller.del)
        io->poller.del(io->poller.ctx, fd);
    close(fd);
}

static void link_arm_out(struct host_io *io, bool on)
{
    if (io->link_fd < 0 || io->link_out_armed == on)
        return;
    unsigned mask = HOST_POLL_IN | (on ? HOST_POLL_OUT : 0);
    if (io->poller.mod(io->poller.ctx, io->link_fd, HOST_ID_LINK, mask) == 0)
        io->link_out_armed = on;
}

/* Drop the stream connection (bad length, error, hang-up); vnat serve then
 * waits for the next one. The guest that held the flows is gone or no
 * longer understood, so every flow ends toward the host at once
 * (vnat_reset_flows: host peers see a reset, not an idle timeout later);
 * listeners and forwards stay for the next guest. */
static void link_stream_reset(struct host_io *io, uint64_t now, const char *why)
{
    if (io->link_fd < 0)
        return;
    fprintf(stderr, "vnat: guest link reset: %s\n", why);
    link_close_fd(io, io->link_fd);
    io->link_fd = -1;
    io->link_out_armed = false;
    io->st.link_resets++;
    stream_rx_reset(&io->srx);
    io->stx.start = io->stx.end = 0;
    (void)vnat_reset_flows(io->nat, now);
}

int guest_link_send(struct host_io *io, const uint8_t *frame, size_t len)
{
    if (io->link_fd < 0) {
        io->st.link_refused++;
        return 1;
    }
    if (io->link_kind == HOST_LINK_TAP) {
        ssize_t n = write(io->link_fd, frame, len);
        if (n == (ssize_t)len) {
            io->st.frames_tx++;
            pcap_frame(io->pcap, frame, len);
            return 0;
        }
        io->st.link_refused++;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
            io->link_refused = true;
            link_arm_out(io, true);
        }
        return 1;
    }
    int rc = stream_tx_send(&io->stx, io->link_fd, frame, len);
    if (rc == 0) {
        io->st.frames_tx++;
        pcap_frame(io->pcap, frame, len);
        if (stream_tx_pending(&io->stx))
            link_arm_out(io, true);
        return 0;
    }
    io->st.link_refused++;
    if (rc == 1) {
        io->link_refused = true;
        link_arm_out(io, true);
    }
    /* A failed connection is noticed (and reset) on its error report. */
    return 1;
}

static void guest_frame_in(struct host_io *io, uint64_t now, const uint8_t *frame, size_t len)
{
    io->st.frames_rx++;
    pcap_frame(io->pcap, frame, len);
    (void)vnat_on_guest_frame(io->nat, now, frame, len);
}

static void tap_readable(struct host_io *io, uint64_t now)
{
    for (int i = 0; i < TAP_FRAMES_PER_WAKEUP && io->link_fd >= 0; i++) {
        ssize_t n = read(io->link_fd, io->tap_buf, HOST_MAX_FRAME);
        if (n <= 0)
            return; /* EAGAIN: drained; level-triggered, so a rest re-fires */
        guest_frame_in(io, now, io->tap_buf, (size_t)n);
    }
}

/* The peer's side ended (EOF or an error): a frame it left half sent is a
 * torn frame, counted. */
static void link_stream_lost(struct host_io *io, uint64_t now, const char *why)
{
    if (io->srx.end > io->srx.start)
        io->st.link_torn_frames++;
    link_stream_reset(io, now, why);
}

/* Read and hand on up to max_reads buffers. A short read ends it unless
 * to_end (then only EAGAIN, the end or an error does: the drain before an
 * accept). Returns 1 when it stopped with bytes possibly left, 0 when
 * drained or the link was reset. */
static int stream_read(struct host_io *io, uint64_t now, int max_reads, bool to_end)
{
    for (int i = 0; i < max_reads && io->link_fd >= 0; i++) {
        size_t avail;
        uint8_t *p = stream_rx_space(&io->srx, &avail);
        ssize_t n = recv(io->link_fd, p, avail, MSG_DONTWAIT);
        if (n == 0) {
            link_stream_lost(io, now, "peer closed the stream");
            return 0;
        }
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                link_stream_lost(io, now, strerror(errno));
            return 0;
        }
        stream_rx_commit(&io->srx, (size_t)n);
        const uint8_t *frame;
        size_t len;
        enum stream_rx_result r;
        /* Bounded: each frame consumes at least 5 bytes of the buffer. */
        while ((r = stream_rx_next(&io->srx, &frame, &len)) == STREAM_RX_FRAME)
            guest_frame_in(io, now, frame, len);
        if (r == STREAM_RX_BAD_LENGTH) {
            io->st.link_bad_lengths++;
            link_stream_reset(io, now, "bad frame length");
            return 0;
        }
        if ((size_t)n < avail && !to_end)
            return 0; /* level-triggered: a rest, or the end, re-fires */
    }
    return io->link_fd >= 0;
}

static void stream_readable(struct host_io *io, uint64_t now)
{
    (void)stream_read(io, now, STREAM_READS_PER_WAKEUP, false);
}

static void link_writable(struct host_io *io, uint64_t now)
{
    if (io->link_kind == HOST_LINK_STREAM && stream_tx_pending(&io->stx)) {
        int rc = stream_tx_flush(&io->stx, io->link_fd);
        if (rc < 0) {
            link_stream_reset(io, now, strerror(-rc));
            return;
        }
        if (rc == 0)
            return;
    }
    link_arm_out(io, false);
    if (io->link_refused) {
        io->link_refused = false;
        (void)vnat_on_link_writable(io->nat, now);
    }
}

void host_link_event(struct host_io *io, uint64_t now, unsigned ready)
{
    if (ready & HOST_POLL_OUT)
        link_writable(io, now);
    if (io->link_fd < 0)
        return;
    if (ready & (HOST_POLL_IN | HOST_POLL_HUP | HOST_POLL_ERR)) {
        if (io->link_kind == HOST_LINK_TAP)
            tap_readable(io, now);
        else
            stream_readable(io, now);
    }
}

int host_link_attach_tap(struct host_io *io, int tap_fd)
{
    io->link_kind = HOST_LINK_TAP;
    io->tap_buf = malloc(HOST_MAX_FRAME);
    if (!io->tap_buf)
        return -ENOMEM;
    io->link_fd = tap_fd;
    return io->poller.add(io->poller.ctx, tap_fd, HOST_ID_LINK, HOST_POLL_IN);
}

int host_link_listen_stream(struct host_io *io, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    io->link_kind = HOST_LINK_STREAM;
    int rc = stream_rx_init(&io->srx, HOST_MAX_FRAME);
    if (rc == 0)
        rc = stream_tx_init(&io->stx, STREAM_TX_QUEUE);
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
    io->link_listen_fd = fd;
    return io->poller.add(io->poller.ctx, fd, HOST_ID_LINK_LISTEN, HOST_POLL_IN);
}

/* One guest at a time: a second connection is refused while one is up. */
void host_link_accept(struct host_io *io, uint64_t now)
{
    int fd = accept4(io->link_listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if (io->link_fd >= 0) {
        /* The old guest may have gone with its last frames, a torn frame
         * or its hang-up (EOF or ECONNRESET) still unread in this batch:
         * read it to its end now, in order, so that its end is seen
         * before the new connection is judged. Bounded: whatever the old
         * peer wrote before it closed is in its socket's buffer (4 MiB,
         * at most 8 MiB after the kernel's doubling, read 128 KiB at a
         * time); a peer still writing keeps the link and the newcomer is
         * refused. */
        (void)stream_read(io, now, STREAM_DRAIN_READS, true);
    }
    if (io->link_fd >= 0) {
        close(fd);
        return;
    }
    int big = 4 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    if (io->poller.add(io->poller.ctx, fd, HOST_ID_LINK, HOST_POLL_IN) < 0) {
        close(fd);
        return;
    }
    io->link_fd = fd;
    stream_rx_reset(&io->srx);
    if (io->link_refused) {
        io->link_refused = false;
        (void)vnat_on_link_writable(io->nat, now);
    }
}

void host_link_close(struct host_io *io)
{
    if (io->link_kind == HOST_LINK_STREAM && io->link_fd >= 0)
        (void)stream_tx_flush(&io->stx, io->link_fd);
    if (io->link_fd >= 0)
        link_close_fd(io, io->link_fd);
    if (io->link_listen_fd >= 0)
        link_close_fd(io, io->link_listen_fd);
    io->link_fd = io->link_listen_fd = -1;
    free(io->tap_buf);
    io->tap_buf = NULL;
    stream_rx_free(&io->srx);
    stream_tx_free(&io->stx);
}
