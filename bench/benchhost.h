/*
 * benchhost.h — the minimal host the TCP micro-benchmarks drive the core
 * with. Its operations do as little as an embedder possibly could, so that
 * what a benchmark times is the core: send() copies the guest's bytes into a
 * sink buffer (memcpy), peek() copies bytes of a pattern buffer into the
 * core's frame (memcpy), the guest link and every other operation only
 * count. Nothing is checked per call (the pins' fake host does that); the
 * benchmark checks the counters once a run is over, so a broken run is
 * reported rather than timed.
 *
 * The host models ONE remote byte stream (host -> guest) shared by every
 * socket: benchmarks that move data drive one flow at a time.
 *
 * Also here: building guest frames (through the test kit's builders,
 * outside any timed region) and the RFC 1624 updates that let a timed loop
 * re-use one frame with a new sequence or acknowledgment number.
 */
#ifndef VNAT_BENCH_BENCHHOST_H
#define VNAT_BENCH_BENCHHOST_H

#include <stddef.h>
#include <stdint.h>
#include <vnat/vnat.h>

#include "testkit.h"

#define BH_CAPTURE_MAX 256 /* bytes of the last guest frame kept while capturing */

struct bh {
    vnat *nat;
    void *mem;
    size_t mem_size;
    struct vnat_config cfg;

    /* Counters, one per operation the core can call. */
    uint64_t frames, frame_bytes, connects, closes, sends, send_bytes, send_space_calls;
    uint64_t peeks, peek_bytes, peek_again, discards, discard_bytes, interest_changes, other_ops;
    vnat_token last_token; /* of the last tcp_connect */

    /* While capture is nonzero, the head of the last guest frame is kept. */
    int capture;
    struct tk_capture out; /* a ring of one */

    /* guest -> host: where send() copies to (a ring, reused). */
    uint8_t *sink;
    size_t sink_cap, sink_off;
    long send_space; /* what send_space() answers */

    /* host -> guest: bytes received and not discarded yet (peekable). */
    uint8_t *pattern; /* 2 * BH_PATTERN bytes, so any peek is one memcpy */
    uint64_t rx_avail;
    uint64_t rx_consumed;
};

/* Create the core with `cfg` on the bench host. Returns 0, or -1 with a
 * message on stderr. */
int bh_init(struct bh *h, const struct vnat_config *cfg);
void bh_free(struct bh *h);
/* The bench host's operations (ctx: the struct bh), for a restore. */
const struct vnat_host_ops *bh_ops_table(void);

/* A guest TCP frame from a spec (testkit/tk_frame.h): from the guest
 * (.guest defaults to h's config); a NULL .payload is .len bytes of the
 * pattern. Returns the length, or 0 if it does not fit cap. */
size_t bh_tcp(const struct bh *h, const struct tk_tcp_spec *spec, uint8_t *buf, size_t cap);
/* Rewrite the sequence / acknowledgment number of a frame bh_tcp built
 * (20-byte IPv4 header), fixing the TCP checksum incrementally. */
void bh_set_seq(uint8_t *frame, uint32_t seq);
void bh_set_ack(uint8_t *frame, uint32_t ack);

/* Parse the captured last frame as IPv4 TCP: 0 and the fields, or -1. */
int bh_last_tcp(const struct bh *h, uint32_t *seq, uint32_t *ack, uint8_t *flags);

/* A complete handshake for one flow to dst:dport from sport, the guest
 * offering MSS mss and window scale 7 with an (unscaled) window `win`.
 * Returns 0 and the flow's token, the core's next sequence number and the
 * guest's next sequence number, or -1 with a message on stderr. */
int bh_handshake(struct bh *h, uint64_t *now, const uint8_t dst[4], uint16_t sport, uint16_t dport,
                 uint16_t mss, uint16_t win, vnat_token *tok, uint32_t *core_nxt,
                 uint32_t *guest_nxt);

#endif
