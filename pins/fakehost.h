/*
 * fakehost.h — a small scripted fake host and guest-frame helpers for pins
 * that drive the core through its public API (the full simulator is sim/).
 * Each socket the core opens gets a record: what it was asked to connect
 * to, the bytes the core sent it, a scripted receive stream (rx) that the
 * core peeks and discards, a scripted free send space, errors to return.
 * Frames the core gives the guest are captured and can be parsed. The
 * socket table, streams, capture, frame builders and scripted results are
 * the test kit's (testkit/); the model of each operation is this fake's.
 */
#ifndef VNAT_PINS_FAKEHOST_H
#define VNAT_PINS_FAKEHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vnat/vnat.h>

#include "internal.h"
#include "testkit.h"

#define FH_MAX_SOCKS 1100
#define FH_MAX_FRAMES 4096
#define FH_BUF TK_STREAM_BUF /* bytes a stream holds each way */

/* A host socket: the kit's socket and stream fields (tok, used, closed,
 * close_reset, interest, addr; tx, rx, tx_len, rx_len, rx_disc, rx_eof,
 * shut_wr, space) and what is this fake's own. */
struct fh_sock {
    TK_SOCK;
    TK_STREAM;
    int connects; /* tcp_connect calls for this token */
    int peeks;
};

/* A parsed TCP frame to the guest (the TCP view of a struct tk_pkt). */
struct fh_seg {
    bool ok;
    uint8_t src_ip[4], dst_ip[4];
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t window;
    bool has_mss, has_wscale, sack_perm, has_ts;
    uint16_t mss;
    uint8_t wscale;
    const uint8_t *payload;
    size_t len;
};

/* Scripted results (h->script, testkit/tk_script.h) this fake honours:
 *   VNAT_OP_TCP_CONNECT  take: connect's result (nonzero: the socket never existed)
 *   VNAT_OP_SEND         take: send's result; add: added to what send took
 *   VNAT_OP_SEND_SPACE   take: send_space's result; add: added to the free space
 *                        (an adapter estimate that overstates, docs/adapter.md)
 *   VNAT_OP_PEEK         take: peek's result once the data is exhausted;
 *                        add: added to what peek copied
 *   VNAT_OP_DISCARD, VNAT_OP_SHUTDOWN_WRITE  take: the call's result (nothing
 *                        discarded or shut down) */
struct fh {
    vnat *nat;
    void *mem;
    struct vnat_config cfg;
    uint64_t now;
    struct fh_sock socks[FH_MAX_SOCKS]; /* socks[(uint32_t)token] */
    struct tk_capture out;              /* frames to the guest */
    struct tk_script script;
    int refuse;       /* guest_send refuses while nonzero */
    uint16_t syn_mss; /* the MSS option guest segments carry (0: 1460) */
    uint64_t ops_count[VNAT_OP__COUNT];
    uint64_t log_records;
    bool logging;
    vnat_token last_tok;
    size_t peek_asked; /* len of the last peek (the log check below) */
    void (*log_fn)(void *ctx, const struct vnat_log_record *rec);
    void *log_ctx;
};

/* Create with a default config changed by `tweak` (may be NULL). */
void fh_init(struct fh *h, void (*tweak)(struct vnat_config *cfg));
/* Same, forwarding every boundary-log record to log_fn(log_ctx, rec). */
void fh_init_log(struct fh *h, void (*tweak)(struct vnat_config *cfg),
                 void (*log_fn)(void *ctx, const struct vnat_log_record *rec), void *log_ctx);
void fh_free(struct fh *h);
const struct vnat_host_ops *fh_ops_table(void);
void fh_check(struct fh *h); /* invariants hold (cmocka assertion) */

/* Socket record for a token (created on connect). */
struct fh_sock *fh_sock(struct fh *h, vnat_token tok);
struct fh_sock *fh_last_sock(struct fh *h);
vnat_token fh_last_token(struct fh *h);
int fh_open_socks(struct fh *h); /* sockets not closed */

/* Script the remote peer: append data to a socket's receive stream. */
void fh_host_data(struct fh_sock *s, const void *data, size_t len);

/* Events (each checks invariants afterwards). */
vnat_err fh_frame_in(struct fh *h, const uint8_t *frame, size_t len);
vnat_err fh_writable(struct fh *h, vnat_token tok, int so_error);
vnat_err fh_readable(struct fh *h, vnat_token tok);
vnat_err fh_tick(struct fh *h);
void fh_advance(struct fh *h, uint64_t ns); /* move time and tick */

/* Guest segments from a spec (testkit/tk_frame.h; .guest defaults to h's
 * config, so only .dst and the TCP fields need naming). */
vnat_err fh_send(struct fh *h, const struct tk_tcp_spec *spec);
/* The same in short: opts: bit 0 MSS (h->syn_mss, 1460 by default), bit 1 wscale(7), bit 2
 * SACK-perm, bit 3 timestamps. dst is 4 octets. */
#define FH_OPT_MSS 1
#define FH_OPT_WS 2
#define FH_OPT_SACK 4
#define FH_OPT_TS 8
size_t fh_build(struct fh *h, uint8_t *out, size_t cap, const uint8_t dst[4], uint16_t sport,
                uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
                unsigned opts, const void *payload, size_t len);
vnat_err fh_send_seg(struct fh *h, const uint8_t dst[4], uint16_t sport, uint16_t dport,
                     uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win, unsigned opts,
                     const void *payload, size_t len);

/* Output frames. */
size_t fh_pending(struct fh *h);     /* frames not consumed yet */
struct fh_seg fh_next(struct fh *h); /* consume the next frame, parsed */
struct fh_seg fh_parse(const uint8_t *frame, size_t len);
struct fh_seg fh_seg_of(const struct tk_pkt *p);
void fh_drain(struct fh *h); /* consume everything */

/* A connection through the handshake: guest ISN gisn, returns the core's
 * ISN in *iss and the token; the guest window is win (unscaled as sent). */
struct fh_conn {
    const uint8_t *dst;
    uint16_t sport, dport;
    uint32_t gseq; /* guest's next sequence number */
    uint32_t gack; /* what the guest acknowledged (core's next seq) */
    uint16_t win;
    vnat_token tok;
    struct fh_sock *sock;
};
void fh_connect(struct fh *h, struct fh_conn *c, const uint8_t dst[4], uint16_t sport,
                uint16_t dport, uint32_t gisn, uint16_t win, unsigned opts);
/* Guest sends data / pure ACK on an established connection. */
vnat_err fh_guest_data(struct fh *h, struct fh_conn *c, const void *data, size_t len);
vnat_err fh_guest_ack(struct fh *h, struct fh_conn *c);

uint64_t fh_stat(struct fh *h, size_t offset); /* a uint64 field of vnat_stats */
#define FH_STAT(h, field) fh_stat((h), offsetof(struct vnat_stats, field))

#endif
