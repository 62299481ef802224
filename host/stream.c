/*
 * stream.c — QEMU's `-netdev stream` framing: each frame is a 4-byte
 * big-endian length followed by the frame. Receive parses a flat buffer in
 * place so a frame goes to the core from where read() put it; bytes are
 * moved only when the buffer's tail is too short for the frame being
 * assembled (at most one partial frame). Send writes header and frame with
 * one writev() and queues only what the socket did not take. A length of 0
 * or above max_frame is a bad length: the caller resets the link. This file
 * makes no decision about frames; it only cuts and joins the byte stream.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "adapter.h"

#define STREAM_HDR 4u

int stream_rx_init(struct stream_rx *rx, size_t max_frame)
{
    memset(rx, 0, sizeof(*rx));
    rx->max_frame = max_frame;
    rx->cap = 2 * (STREAM_HDR + max_frame);
    rx->buf = malloc(rx->cap);
    return rx->buf ? 0 : -ENOMEM;
}

void stream_rx_free(struct stream_rx *rx)
{
    free(rx->buf);
    rx->buf = NULL;
}

void stream_rx_reset(struct stream_rx *rx)
{
    rx->start = rx->end = 0;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint8_t *stream_rx_space(struct stream_rx *rx, size_t *avail)
{
    if (rx->start == rx->end) {
        rx->start = rx->end = 0;
    } else {
        /* Compact only when the frame being assembled cannot fit in the
         * tail; cap is two whole frames, so after this it always fits. */
        size_t have = rx->end - rx->start;
        size_t need = STREAM_HDR;
        if (have >= STREAM_HDR) {
            uint32_t flen = be32(rx->buf + rx->start);
            if (flen <= rx->max_frame)
                need = STREAM_HDR + flen;
        }
        if (rx->cap - rx->start < need) {
            memmove(rx->buf, rx->buf + rx->start, have);
            rx->start = 0;
            rx->end = have;
        }
    }
    *avail = rx->cap - rx->end;
    return rx->buf + rx->end;
}

void stream_rx_commit(struct stream_rx *rx, size_t n)
{
    if (n > rx->cap - rx->end)
        n = rx->cap - rx->end;
    rx->end += n;
}

enum stream_rx_result stream_rx_next(struct stream_rx *rx, const uint8_t **frame, size_t *len)
{
    size_t have = rx->end - rx->start;
    if (have < STREAM_HDR)
        return STREAM_RX_NEED_MORE;
    uint32_t flen = be32(rx->buf + rx->start);
    if (flen == 0 || flen > rx->max_frame)
        return STREAM_RX_BAD_LENGTH;
    if (have - STREAM_HDR < flen)
        return STREAM_RX_NEED_MORE;
    *frame = rx->buf + rx->start + STREAM_HDR;
    *len = flen;
    rx->start += STREAM_HDR + flen;
    return STREAM_RX_FRAME;
}

int stream_tx_init(struct stream_tx *tx, size_t cap)
{
    memset(tx, 0, sizeof(*tx));
    tx->cap = cap;
    tx->buf = malloc(cap);
    return tx->buf ? 0 : -ENOMEM;
}

void stream_tx_free(struct stream_tx *tx)
{
    free(tx->buf);
    tx->buf = NULL;
}

bool stream_tx_pending(const struct stream_tx *tx)
{
    return tx->end > tx->start;
}

static void tx_append(struct stream_tx *tx, const uint8_t *p, size_t n)
{
    memcpy(tx->buf + tx->end, p, n);
    tx->end += n;
}

int stream_tx_send(struct stream_tx *tx, int fd, const uint8_t *frame, size_t len)
{
    uint8_t hdr[STREAM_HDR] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                               (uint8_t)len};
    if (len == 0 || len > UINT32_MAX)
        return 1;
    if (stream_tx_pending(tx)) {
        /* Keep frames in order behind queued output, or refuse. */
        if (tx->start > 0 && tx->cap - tx->end < STREAM_HDR + len) {
            memmove(tx->buf, tx->buf + tx->start, tx->end - tx->start);
            tx->end -= tx->start;
            tx->start = 0;
        }
        if (tx->cap - tx->end < STREAM_HDR + len)
            return 1;
        tx_append(tx, hdr, STREAM_HDR);
        tx_append(tx, frame, len);
        return 0;
    }
    tx->start = tx->end = 0;
    struct iovec iov[2] = {{.iov_base = hdr, .iov_len = STREAM_HDR},
                           {.iov_base = (void *)frame, .iov_len = len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        n = 0;
    }
    size_t done = (size_t)n;
    if (done == STREAM_HDR + len)
        return 0;
    if (done == 0 && tx->cap < STREAM_HDR + len)
        return 1;
    /* Partial write: queue the rest; the frame is committed to the stream
     * (a half-sent frame cannot be taken back without corrupting it). */
    if (done < STREAM_HDR) {
        tx_append(tx, hdr + done, STREAM_HDR - done);
        done = STREAM_HDR;
    }
    tx_append(tx, frame + (done - STREAM_HDR), len - (done - STREAM_HDR));
    return 0;
}

int stream_tx_flush(struct stream_tx *tx, int fd)
{
    for (int i = 0; i < 16 && stream_tx_pending(tx); i++) {
        ssize_t n = send(fd, tx->buf + tx->start, tx->end - tx->start, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -errno;
        }
        tx->start += (size_t)n;
    }
    if (!stream_tx_pending(tx)) {
        tx->start = tx->end = 0;
        return 1;
    }
    return 0;
}
