/*
 * tcp.h — the TCP state machine: the core terminates the guest's TCP
 * connections and mirrors each on one host socket, with no payload buffer
 * (tcp.c has the theory of operation).
 */
#ifndef VNAT_TCP_H
#define VNAT_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vnat;
struct flow;
struct vw_tcp;
struct vnat_ip;
struct flow_key;

/* A TCP segment from the guest, already checked (header, checksum, source
 * address) by the dispatcher. src is the guest, dst the address it sent to. */
void tcp_on_segment(struct vnat *nat, const struct vnat_ip *src, const struct vnat_ip *dst,
                    const struct vw_tcp *seg);
/* Inbound (port forward): the host connection accepted under `tok` (the
 * token of the slot flow_alloc gives next) becomes a flow keyed `key` that
 * sends the guest a SYN (SYN_SENT). The caller checked the limits and that
 * the key is free. */
void tcp_open_inbound(struct vnat *nat, const struct flow_key *key, uint64_t tok);
void tcp_on_writable(struct vnat *nat, struct flow *f, int so_error);
void tcp_on_readable(struct vnat *nat, struct flow *f);
void tcp_on_link_writable(struct vnat *nat, struct flow *f);
void tcp_on_list_timer(struct vnat *nat, struct flow *f, int timer_class);
void tcp_on_heap_timer(struct vnat *nat, struct flow *f, int heap_kind);
/* vnat_shutdown: RST to the guest, host socket closed with reset, flow freed. */
void tcp_shutdown_flow(struct vnat *nat, struct flow *f);
/* Invariants of one live TCP flow: 0 if they hold, else 1 and a reason. */
int tcp_check_flow(const struct vnat *nat, const struct flow *f, const char **why);

/* Tunables (documented in tcp.c and docs/tcp-state-machine.md). */
#define TCP_RTO_INIT_US 1000000u /* RFC 6298 initial RTO */
#define TCP_RTO_MIN_US 200000u   /* the guest link is local: 200 ms, not RFC 6298's 1 s */
#define TCP_RTO_MAX_US 60000000u
#define TCP_RETRY_LIMIT 12  /* consecutive RTO expiries before the flow is reset */
#define TCP_OUR_WSCALE 7    /* our window shift, only when the guest offered scaling */
#define TCP_MIN_MSS 64      /* floor for a guest-announced MSS */
#define TCP_DEFAULT_MSS 536 /* RFC 9293 default when the SYN has no MSS option */
#define TCP_PUSH_BURST 64   /* segments sent per event per flow, at most */
/* The window offered to the guest never exceeds this many of its segments,
 * whatever the host's free space. Segments in flight towards us wait in the
 * guest link's queue, which is counted in frames (a Linux tap device drops
 * beyond txqueuelen, 1000 by default), and one frame lost there makes us
 * drop every segment behind it (no out-of-order buffer): at MTU 1500 a
 * window of the host's 3 MB free space is 2000 frames, and cubic collapsed
 * to a tenth of the speed. 256 frames fits the default tap queue three times
 * over; at MTU 65520 it is 16 MB, so the host's space still decides there. */
#define TCP_RCV_WND_SEGS 256
/* While guest data beyond rcv_nxt has been dropped (a hole), the window's
 * right edge stays where it was when the hole opened, or this many segments
 * past rcv_nxt then if that is further: enough new segments for the guest's
 * three duplicate ACKs (plus a partly taken segment's tail, and room for a
 * grown reordering estimate), so it fast-retransmits instead of waiting for
 * its retransmission timer, and few enough that repairing them (one per
 * round trip without SACK) is quick. tcp.c rcv_window, note_hole. */
#define TCP_HOLE_WND_SEGS 8

/* The transition table: every state change the code makes is one row of it
 * (checked by an assertion in set_state), and docs/tcp-state-machine.md lists
 * the same rows (checked by a pin). from = "none" for a flow's creation. */
struct tcp_transition {
    const char *from;
    const char *event;
    const char *to;
    const char *to_guest; /* what is sent to the guest */
    const char *host;     /* what the host is asked to do */
};
const struct tcp_transition *tcp_transitions(size_t *count);

/* How long a TCP flow whose both FINs were acknowledged lingers (host
 * socket already closed) to acknowledge a retransmitted guest FIN, whose
 * earlier ACK was lost, instead of answering it with a RST. Capped by
 * tcp_closing_timeout_ns. Long enough for several guest retransmissions
 * (Linux's minimum RTO is 200 ms), short so slots come back soon. */
#define TCP_LINGER_NS (2ull * 1000000000ull)

#endif
