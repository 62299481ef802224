/*
 * gtcp.h — the simulated guest's TCP/IP endpoint.
 *
 * A small but real TCP over IPv4 over Ethernet, written for the simulator:
 * client and server (active and passive open), MSS, window scaling and
 * timestamps when both sides offer them, RTO with RFC 6298 estimation and
 * exponential backoff, go-back-N after a timeout, fast retransmit on three
 * duplicate ACKs, a simple slow start / congestion avoidance, zero-window
 * probes, FIN in both orders, TIME_WAIT that re-acknowledges retransmitted
 * FINs, and RST in every state. Out-of-order segments within the window
 * are checked on arrival and kept as ranges (up to GTCP_MAX_OOO), like a
 * real receiver's out-of-order queue; a duplicate ACK asks for the gap.
 *
 * It carries pattern streams only (pattern.h): the application says how
 * many bytes it has written; the endpoint generates them when it builds a
 * segment and checks every received byte at its offset. So the endpoint
 * holds no payload buffers, and a whole connection is a few hundred bytes.
 *
 * Frames are parsed and built with the core's wire layer (wire.h). The stack
 * never calls a clock or a random source: time comes in as `now` on every
 * call, timers go out through set_timer, and frames through frame_alloc /
 * frame_send. Every received frame is checked (MAC, IPv4 header checksum,
 * TCP/UDP checksum, MTU); bad ones are counted and dropped.
 */
#ifndef VNAT_SIM_GTCP_H
#define VNAT_SIM_GTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "map.h"
#include "pattern.h"

enum gtcp_state {
    GT_FREE = 0,
    GT_SYN_SENT,
    GT_SYN_RCVD,
    GT_ESTABLISHED,
    GT_FIN_WAIT_1,
    GT_FIN_WAIT_2,
    GT_CLOSING,
    GT_TIME_WAIT,
    GT_CLOSE_WAIT,
    GT_LAST_ACK,
    GT_DONE, /* terminal; slot kept until the owner releases it */
};

/* How a connection ended, from this endpoint's point of view. */
enum gtcp_outcome {
    GO_NONE = 0,    /* still open */
    GO_COMPLETE,    /* FIN both ways, ours acknowledged */
    GO_RESET,       /* RST received after the handshake */
    GO_REFUSED,     /* RST in answer to our SYN */
    GO_TIMEOUT,     /* retransmission limit reached */
    GO_ABORTED,     /* we sent RST (application abort) */
    GO_UNREACHABLE, /* ICMP host or net unreachable in answer to our SYN */
    GO__COUNT
};
const char *gtcp_outcome_name(int outcome);
const char *gtcp_state_name(int state);

/* Events reported to the owner through on_event. */
enum gtcp_event {
    GTE_ESTABLISHED, /* handshake done (both sides) */
    GTE_ACCEPTED,    /* a passive open completed on a listening port */
    GTE_DATA,        /* new in-order bytes were received and checked */
    GTE_ACKED,       /* everything written so far is acknowledged */
    GTE_PEER_FIN,    /* the peer closed its side */
    GTE_DONE,        /* outcome set; the connection is terminal. The owner
                      * must drop its pointer: the stack frees the slot
                      * (at once, or after TIME_WAIT). */
};

#define GTCP_MAX_OOO 16

struct gtcp_conn {
    uint8_t state;   /* enum gtcp_state */
    uint8_t outcome; /* enum gtcp_outcome */
    bool passive;
    bool fin_wanted; /* application closed its side */
    bool fin_sent;
    bool fin_rcvd;
    bool ws_ok, ts_ok;
    bool rtt_timing;
    bool ack_pending;
    bool done_reported;
    uint8_t snd_shift, rcv_shift;
    uint8_t retries;
    uint8_t dupacks;
    uint16_t lport, rport;
    uint8_t rip[4];
    uint16_t mss;   /* effective sending MSS (options excluded) */
    uint32_t gen;   /* bumped on reuse: stale timers are ignored */
    uint32_t index; /* slot number */
    uint64_t user;  /* owner's cookie */

    /* send side; stream offset 0 is sequence iss + 1 */
    uint32_t iss, snd_una, snd_nxt, snd_max;
    uint32_t snd_wnd, snd_wl1, snd_wl2;
    uint32_t cwnd, ssthresh;
    uint64_t snd_una_off; /* stream offset of snd_una (once synchronized) */
    uint64_t snd_limit;   /* bytes the application has written */
    uint64_t snd_salt;
    uint32_t rtt_seq;
    uint64_t rtt_start;
    uint64_t srtt, rttvar, rto;
    uint64_t rto_at;     /* 0 = not armed */
    uint64_t persist_at; /* 0 = not armed */
    uint64_t persist_backoff;
    uint64_t tw_at;    /* TIME_WAIT expiry, or FIN_WAIT_2 give-up */
    uint64_t timer_at; /* what the owner was last asked to wake us at */

    /* receive side */
    uint32_t irs, rcv_nxt;
    uint32_t rcv_cap;  /* receive buffer size */
    uint32_t rcv_used; /* received but not yet consumed by the application */
    uint32_t rcv_adv;  /* right edge last advertised, as a window */
    uint64_t rcv_total;
    uint32_t ts_recent;
    struct sim_verifier ver;
    /* out-of-order data kept (as checked stream-offset ranges, no bytes) */
    uint8_t n_ooo;
    bool ooo_fin; /* a FIN was seen at ooo_fin_off */
    uint64_t ooo_fin_off;
    uint64_t ooo_start[GTCP_MAX_OOO], ooo_end[GTCP_MAX_OOO];

    uint64_t t_open, t_established, t_done;
    uint64_t segs_out, segs_in, rexmits, dup_acks_in, bad_segs;
};

struct gtcp_cfg {
    uint8_t mac[6], peer_mac[6];
    uint8_t ip[4];
    uint32_t mtu; /* IP MTU */
    int wscale;   /* offered window scale, -1: do not offer */
    bool offer_ts, offer_sack;
    uint32_t rcvbuf; /* default receive buffer per connection */
    uint32_t max_conns;
    uint8_t syn_retries;    /* SYN / SYN-ACK retransmissions before giving up */
    uint8_t data_retries;   /* data retransmissions (consecutive) before giving up */
    uint64_t time_wait_ns;  /* TIME_WAIT duration */
    uint64_t fin_wait_2_ns; /* FIN_WAIT_2 with no data and no FIN from the peer: give up */
    uint64_t rto_min_ns, rto_init_ns, rto_max_ns;
    uint16_t port_lo, port_hi; /* ephemeral range */
    uint64_t isn_seed;         /* initial sequence numbers derive from it */
    bool trust_l4_csum;        /* skip TCP/UDP checksum checks: the owner
                                * checked every frame before the link and the
                                * link cannot corrupt */
};

struct gtcp_ops {
    /* A buffer of at least cap bytes for one outgoing frame, or NULL when
     * the link has none (the frame is then not sent; TCP recovers). */
    uint8_t *(*frame_alloc)(void *ctx, size_t cap);
    /* Send a frame built in a buffer from frame_alloc (ownership passes). */
    void (*frame_send)(void *ctx, uint8_t *frame, size_t len);
    /* Wake the stack for connection `c` at `at` (gtcp_on_timer). */
    void (*set_timer)(void *ctx, struct gtcp_conn *c, uint64_t at);
    void (*on_event)(void *ctx, struct gtcp_conn *c, enum gtcp_event ev);
    /* Optional: a UDP datagram for us (checksums already checked). */
    void (*on_udp)(void *ctx, const uint8_t src[4], uint16_t sport, uint16_t dport,
                   const uint8_t *data, size_t len);
};

struct gtcp_stats {
    uint64_t frames_in, frames_out, frames_no_buffer;
    uint64_t bad_eth, bad_ip, bad_l4, bad_csum, too_big, not_for_us;
    uint64_t rst_out, rst_in, arp_in, arp_replies, udp_in, other_in;
    uint64_t icmp_unreach_in; /* ICMP destination unreachable quoting one of our segments */
    uint64_t verify_failures;
};

struct gtcp_stack {
    struct gtcp_cfg cfg;
    struct gtcp_ops ops;
    void *ctx;
    struct gtcp_conn *conns;
    struct sim_map by_key; /* (remote ip, remote port, local port) -> slot */
    uint32_t n_used;
    uint32_t free_hint;
    uint16_t next_port;
    uint16_t ip_id;
    uint16_t listen_ports[8];
    uint32_t n_listen;
    uint32_t isn_counter;
    uint64_t now;
    struct gtcp_stats st;
};

void gtcp_cfg_default(struct gtcp_cfg *cfg);
/* 0 or -1 (memory). */
int gtcp_init(struct gtcp_stack *s, const struct gtcp_cfg *cfg, const struct gtcp_ops *ops,
              void *ctx);
void gtcp_free(struct gtcp_stack *s);

/* Active open to rip:rport with a stream salt for what we will send.
 * NULL when every slot or every port is taken. */
struct gtcp_conn *gtcp_connect(struct gtcp_stack *s, uint64_t now, const uint8_t rip[4],
                               uint16_t rport, uint64_t salt, uint64_t user);
/* Accept passive opens on a port. 0 or -1. */
int gtcp_listen(struct gtcp_stack *s, uint16_t port);
/* The application has written `n` more bytes of its stream. */
void gtcp_write(struct gtcp_stack *s, uint64_t now, struct gtcp_conn *c, uint64_t n);
/* The application closes its sending side (FIN after all written data). */
void gtcp_close(struct gtcp_stack *s, uint64_t now, struct gtcp_conn *c);
/* Abortive close: send RST, outcome GO_ABORTED. */
void gtcp_abort(struct gtcp_stack *s, uint64_t now, struct gtcp_conn *c);
/* The application consumed n received bytes (frees receive window). */
void gtcp_consume(struct gtcp_stack *s, uint64_t now, struct gtcp_conn *c, uint32_t n);

/* A frame from the link. */
void gtcp_on_frame(struct gtcp_stack *s, uint64_t now, const uint8_t *frame, size_t len);
/* The timer for conn slot `index` fired (gen guards against reuse). */
void gtcp_on_timer(struct gtcp_stack *s, uint64_t now, uint32_t index, uint32_t gen);

/* Send one UDP datagram of pattern bytes (stream salt, offset 0..len). */
int gtcp_udp_send(struct gtcp_stack *s, uint64_t now, const uint8_t dip[4], uint16_t sport,
                  uint16_t dport, const uint8_t *payload, size_t len);
/* Send an ARP request for `ip`. */
void gtcp_arp_request(struct gtcp_stack *s, uint64_t now, const uint8_t ip[4]);

/* Bytes in flight / unsent, for checks. */
static inline bool gtcp_all_acked(const struct gtcp_conn *c)
{
    return c->snd_una_off == c->snd_limit;
}

#endif
