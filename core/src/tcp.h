/*
 * tcp.h — layer 3 (the lowest protocol row, beside dgram): the TCP state
 * machine. The core terminates the guest's TCP connections and mirrors each
 * on one host socket, with no payload buffer (tcp.c has the theory of
 * operation). Calls only down: flow table, timers, policy, log, wire, base.
 */
#ifndef VNAT_TCP_H
#define VNAT_TCP_H

#include "base.h"
#include "flow.h"

struct vw_tcp;

/* TCP flow flags (flow.h holds the shared FF_SOCKET and FF_LINK_WAIT). */
#define FF_FIN_SENT 0x0002u   /* our FIN is at snd_nxt-1 (in flight or acked) */
#define FF_FIN_EVER 0x0004u   /* our FIN was sent once: it sits at snd_max-1 */
#define FF_FIN_ACKED 0x0008u  /* the guest acknowledged our FIN */
#define FF_GUEST_FIN 0x0010u  /* the guest's FIN was accepted (rcv_nxt covers it) */
#define FF_HOST_EOF 0x0020u   /* the host reported end of stream */
#define FF_WSCALE 0x0040u     /* window scaling negotiated */
#define FF_RTT_TIMING 0x0100u /* one segment is being timed */
#define FF_WANT_WUPD 0x0200u  /* a window update is owed when the host drains */
#define FF_LINGER 0x0400u     /* closed cleanly, lingering: no longer counts to max_tcp_flows */
/* A frame the full guest link refused, owed on link-writable (data refused
 * needs no flag: snd_nxt stays at the refused segment). */
#define FF_FIN_OWED 0x0800u  /* our FIN at snd_nxt-1 was refused */
#define FF_RETX_OWED 0x1000u /* the retransmission at snd_una was refused */
#define FF_RST_OWED 0x2000u  /* closed by a reset the full link refused: resent on link-writable */
#define FF_ACK_OWED 0x4000u  /* lingering: our ACK of a late guest FIN was refused */

/* TCP part of a flow. Names follow RFC 9293 from the core's side: "snd" is
 * host->guest (our sequence space), "rcv" is guest->host. */
struct tcp_flow {
    uint8_t state;         /* enum vnat_tcp_state */
    uint8_t snd_wscale;    /* shift the guest's windows are scaled by */
    uint8_t rcv_wscale;    /* shift we scale our windows by */
    uint8_t retries;       /* consecutive RTO / persist expiries */
    uint8_t dupacks;       /* consecutive duplicate ACKs from the guest */
    uint8_t persist_shift; /* zero-window probe backoff: the interval is rto_us << it */
    uint16_t mss;          /* largest payload we send to the guest */
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
    uint32_t irs, rcv_nxt;
    uint32_t host_space;          /* lower bound of the host socket's free send space */
    uint32_t host_space_measured; /* host_space when last asked of the host */
    uint32_t rto_us, srtt_us, rttvar_us;
    uint32_t rtt_seq;
    uint32_t recover; /* snd_max when fast retransmit began (RFC 6582 "recover") */
    /* The hole rule (tcp.c rcv_window): rcv_adv is the right edge the last
     * segment sent offered (rcv_nxt + window); rcv_hole is the end of the
     * furthest guest data received but not taken (dropped out of order or
     * left by a short send), equal to rcv_nxt while there is no hole;
     * rcv_hole_edge is the right edge fixed for the hole when it opened. */
    uint32_t rcv_adv, rcv_hole, rcv_hole_edge;
    uint64_t rtt_start;
};

_Static_assert(sizeof(struct tcp_flow) <= FLOW_PROTO_BYTES, "tcp_flow must fit a flow slot");

/* The TCP part of a flow the caller knows to be TCP. */
static inline struct tcp_flow *tcp_flow_of(struct flow *f)
{
    return (struct tcp_flow *)(void *)f->u.bytes;
}
static inline const struct tcp_flow *tcp_flow_const(const struct flow *f)
{
    return (const struct tcp_flow *)(const void *)f->u.bytes;
}

/* TCP's part of the instance (nat->tcp). */
struct tcp_state {
    uint32_t live;       /* TCP flows counted against max_tcp_flows (not lingering) */
    uint32_t isn_forced; /* pins: every ISN is isn_force_value */
    uint32_t isn_force_value;
    uint32_t pad_;
    uint64_t sip_isn[2]; /* ISN hash key (RFC 6528) */
};

/* Instance setup: the ISN key and the durations of TCP's timer classes. */
void tcp_init(struct vnat *nat);
/* May one more TCP flow be created (table and max_tcp_flows)? */
bool tcp_has_room(const struct vnat *nat);
/* Free the flow that has lingered longest after a clean close (it only
 * re-acknowledges late FINs), to make room in a full table. False if no
 * flow lingers. O(1). */
bool tcp_reclaim_lingering(struct vnat *nat);

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
/* Restore with the host sockets lost (snap.c): the flow's socket is gone
 * (no host call). The guest gets a RST it accepts: at snd_max when nothing
 * we sent is unacknowledged; otherwise first one at snd_max - 1, which lands
 * inside the guest's window whatever it received and so elicits its
 * challenge ACK (RFC 5961 3.2), answered by the RST for unknown flows at
 * exactly the guest's rcv_nxt, then one at snd_max, accepted at once if the
 * guest received everything. The flow is freed. */
void tcp_restore_lost(struct vnat *nat, struct flow *f);
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
/* The longest a host connect is kept while the guest retransmits its SYN
 * (tcp.c connect_kept_alive): past a Linux guest's own 127 s. */
#define TCP_CONNECT_MAX_NS (130ull * 1000000000ull)

#endif
