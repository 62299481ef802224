/*
 * host_stream_pins.c — pins for the QEMU stream framing of the real adapter
 * (host/stream.c): 4-byte big-endian length, then the frame. Receive must
 * reassemble frames from any split of the byte stream, hand out frames in
 * place, reject a zero or oversized length (the adapter resets the link on
 * it), and always have room for a maximum-size frame. Send must keep frames
 * whole and in order across partial writes, and refuse (never truncate)
 * when its queue is full.
 */
#define _GNU_SOURCE
#include "pin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "adapter.h"

#define MAXF 2000u

static size_t put_frame(uint8_t *out, const uint8_t *frame, uint32_t len)
{
    out[0] = (uint8_t)(len >> 24);
    out[1] = (uint8_t)(len >> 16);
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    memcpy(out + 4, frame, len);
    return 4 + (size_t)len;
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

/* Feed `n` bytes in chunks of `step`, collecting every frame's length and
 * first byte; returns the number of frames, or -1 on a bad length. */
static int feed(struct stream_rx *rx, const uint8_t *bytes, size_t n, size_t step, size_t *lens,
                uint8_t *firsts, int max)
{
    int got = 0;
    for (size_t off = 0; off < n;) {
        size_t avail;
        uint8_t *p = stream_rx_space(rx, &avail);
        assert_true(avail > 0);
        size_t k = n - off < step ? n - off : step;
        if (k > avail)
            k = avail;
        memcpy(p, bytes + off, k);
        stream_rx_commit(rx, k);
        off += k;
        const uint8_t *f;
        size_t len;
        enum stream_rx_result r;
        while ((r = stream_rx_next(rx, &f, &len)) == STREAM_RX_FRAME) {
            assert_true(got < max);
            lens[got] = len;
            firsts[got] = f[0];
            got++;
        }
        if (r == STREAM_RX_BAD_LENGTH)
            return -1;
    }
    return got;
}

PIN(stream_rx_reassembles_frames_split_at_every_byte)
{
    static uint8_t bytes[3 * (MAXF + 4)], frame[MAXF];
    size_t n = 0;
    uint32_t sizes[3] = {60, MAXF, 1};
    for (int i = 0; i < 3; i++) {
        fill(frame, sizes[i], (uint8_t)(i + 1));
        n += put_frame(bytes + n, frame, sizes[i]);
    }
    for (size_t step = 1; step <= 7; step++) {
        struct stream_rx rx;
        assert_int_equal(stream_rx_init(&rx, MAXF), 0);
        size_t lens[8];
        uint8_t firsts[8];
        assert_int_equal(feed(&rx, bytes, n, step, lens, firsts, 8), 3);
        assert_int_equal(lens[0], 60);
        assert_int_equal(lens[1], MAXF);
        assert_int_equal(lens[2], 1);
        assert_int_equal(firsts[0], 1);
        assert_int_equal(firsts[1], 2);
        assert_int_equal(firsts[2], 3);
        stream_rx_free(&rx);
    }
}

PIN(stream_rx_hands_out_frames_in_place_without_copy)
{
    struct stream_rx rx;
    assert_int_equal(stream_rx_init(&rx, MAXF), 0);
    static uint8_t frame[100];
    fill(frame, sizeof(frame), 9);
    size_t avail;
    uint8_t *p = stream_rx_space(&rx, &avail);
    size_t n = put_frame(p, frame, sizeof(frame));
    stream_rx_commit(&rx, n);
    const uint8_t *f;
    size_t len;
    assert_int_equal(stream_rx_next(&rx, &f, &len), STREAM_RX_FRAME);
    /* the frame is where read() put it: right after the length */
    assert_ptr_equal(f, p + 4);
    assert_int_equal(len, sizeof(frame));
    assert_memory_equal(f, frame, sizeof(frame));
    assert_int_equal(stream_rx_next(&rx, &f, &len), STREAM_RX_NEED_MORE);
    stream_rx_free(&rx);
}

PIN(stream_rx_rejects_zero_and_oversized_lengths)
{
    static const uint8_t zero[4] = {0, 0, 0, 0};
    uint8_t big[4] = {0, 0, (uint8_t)((MAXF + 1) >> 8), (uint8_t)(MAXF + 1)};
    static const uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
    const uint8_t *cases[3] = {zero, big, huge};
    for (int i = 0; i < 3; i++) {
        struct stream_rx rx;
        assert_int_equal(stream_rx_init(&rx, MAXF), 0);
        size_t lens[1];
        uint8_t firsts[1];
        assert_int_equal(feed(&rx, cases[i], 4, 4, lens, firsts, 1), -1);
        stream_rx_free(&rx);
    }
    /* the largest allowed length is accepted */
    struct stream_rx rx;
    assert_int_equal(stream_rx_init(&rx, MAXF), 0);
    static uint8_t bytes[MAXF + 4], frame[MAXF];
    size_t n = put_frame(bytes, frame, MAXF);
    size_t lens[1];
    uint8_t firsts[1];
    assert_int_equal(feed(&rx, bytes, n, n, lens, firsts, 1), 1);
    stream_rx_free(&rx);
}

PIN(stream_rx_always_has_room_for_a_maximum_frame)
{
    /* Many max-size frames fed in odd chunks: the buffer compacts so every
     * frame fits, and nothing is lost or reordered. */
    enum { N = 25 };
    static uint8_t bytes[N * (MAXF + 4)], frame[MAXF];
    size_t n = 0;
    for (int i = 0; i < N; i++) {
        fill(frame, MAXF - (size_t)i, (uint8_t)(i * 3));
        n += put_frame(bytes + n, frame, MAXF - (uint32_t)i);
    }
    struct stream_rx rx;
    assert_int_equal(stream_rx_init(&rx, MAXF), 0);
    size_t lens[N];
    uint8_t firsts[N];
    assert_int_equal(feed(&rx, bytes, n, 1333, lens, firsts, N), N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(lens[i], MAXF - (size_t)i);
        assert_int_equal(firsts[i], (uint8_t)(i * 3));
    }
    stream_rx_free(&rx);
}

PIN(stream_tx_keeps_frames_whole_across_partial_writes_and_refuses_when_full)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    struct stream_tx tx;
    assert_int_equal(stream_tx_init(&tx, 3 * (MAXF + 4)), 0);
    static uint8_t frame[MAXF];
    int sent = 0, refused = 0;
    for (int i = 0; i < 200 && !refused; i++) {
        fill(frame, MAXF, (uint8_t)i);
        int rc = stream_tx_send(&tx, sv[0], frame, MAXF);
        assert_true(rc == 0 || rc == 1);
        if (rc == 0)
            sent++;
        else
            refused = 1;
    }
    assert_true(refused); /* the queue filled: refused, not truncated */
    assert_true(stream_tx_pending(&tx));
    /* Drain: read everything on the other side while flushing. */
    struct stream_rx rx;
    assert_int_equal(stream_rx_init(&rx, MAXF), 0);
    int got = 0;
    for (int round = 0; round < 10000 && got < sent; round++) {
        int f = stream_tx_flush(&tx, sv[0]);
        assert_true(f >= 0);
        size_t avail;
        uint8_t *p = stream_rx_space(&rx, &avail);
        ssize_t r = recv(sv[1], p, avail, MSG_DONTWAIT);
        if (r > 0)
            stream_rx_commit(&rx, (size_t)r);
        const uint8_t *fr;
        size_t len;
        while (stream_rx_next(&rx, &fr, &len) == STREAM_RX_FRAME) {
            assert_int_equal(len, MAXF);
            assert_int_equal(fr[0], (uint8_t)got);
            assert_int_equal(fr[MAXF - 1], (uint8_t)(got + (MAXF - 1) * 7));
            got++;
        }
    }
    assert_int_equal(got, sent);
    assert_false(stream_tx_pending(&tx));
    stream_rx_free(&rx);
    stream_tx_free(&tx);
    close(sv[0]);
    close(sv[1]);
}

PIN_MAIN(cmocka_unit_test(stream_rx_reassembles_frames_split_at_every_byte),
         cmocka_unit_test(stream_rx_hands_out_frames_in_place_without_copy),
         cmocka_unit_test(stream_rx_rejects_zero_and_oversized_lengths),
         cmocka_unit_test(stream_rx_always_has_room_for_a_maximum_frame),
         cmocka_unit_test(stream_tx_keeps_frames_whole_across_partial_writes_and_refuses_when_full))
