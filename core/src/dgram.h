/*
 * dgram.h — layer 3 (lowest row, beside tcp): the datagram-flow machinery
 * that UDP NAT (udp.c), ICMP echo (icmp.c) and inbound UDP forwards
 * (forward.c) share: a datagram flow's life cycle and timers, delivery of a
 * datagram to the guest, pausing while the guest link is full, ICMP errors
 * to the guest and the host errors that map to them. It calls no other
 * protocol.
 */
#ifndef VNAT_DGRAM_H
#define VNAT_DGRAM_H

#include "base.h"
#include "flow.h"

/* What a datagram flow is. */
enum dgram_kind {
    DG_NONE = 0,
    DG_UDP,    /* guest -> host UDP, one connected host socket */
    DG_DNS,    /* guest -> DNS address: a UDP flow to a host resolver */
    DG_ICMP,   /* guest echo requests, one host ping socket */
    DG_UDP_IN, /* inbound UDP forward: no socket of its own, sends on the listener's */
};

#define DGDIR_OUT 1u /* guest -> host */
#define DGDIR_IN 2u  /* host -> guest */

#define DGRAM_DNS_PENDING_BYTES 64

/* UDP/ICMP part of a flow (the flow's protocol bytes). */
struct dgram_flow {
    uint8_t kind;       /* enum dgram_kind */
    uint8_t dirs;       /* DGDIR_* seen: both = traffic went both ways */
    uint8_t dns_server; /* DG_DNS: index of the resolver in cfg.dns_servers */
    uint8_t paused;     /* reading paused while the guest link is full */
    union {
        struct {               /* DG_UDP_IN */
            uint32_t listener; /* listener slot */
            uint32_t listener_gen;
            uint32_t pad_;
            struct vnat_sockaddr peer; /* the host-side peer */
        };
        /* DG_DNS: the queries outstanding on the flow, a struct
         * dns_pending that udp.c keeps here (dns.h; this row may not
         * include it). */
        uint32_t dns_pending[DGRAM_DNS_PENDING_BYTES / 4];
    };
    uint64_t to_host;  /* datagrams the host took */
    uint64_t to_guest; /* datagrams given to the guest */
};

/* The UDP/ICMP state lives in the flow's protocol bytes: it must never make
 * the flow (and so the per-flow memory) larger. */
_Static_assert(sizeof(struct dgram_flow) <= FLOW_PROTO_BYTES,
               "dgram_flow must fit the flow's protocol bytes");

/* The datagram part of a flow the caller knows to be UDP or ICMP. */
static inline struct dgram_flow *dgram_of(struct flow *f)
{
    return (struct dgram_flow *)(void *)f->u.bytes;
}
static inline const struct dgram_flow *dgram_const(const struct flow *f)
{
    return (const struct dgram_flow *)(const void *)f->u.bytes;
}

/* The datagram machinery's part of the instance (nat->dgram). */
struct dgram_state {
    uint32_t live; /* live UDP + ICMP flows (max_udp_flows) */
    uint32_t pad_;
};

/* Instance setup: the counter and the durations of the datagram timer classes. */
void dgram_init(struct vnat *nat);
/* May one more datagram flow of kind be created? 0, or the drop reason:
 * VNAT_DROP_FLOW_LIMIT (the table, max_udp_flows, for ICMP max_icmp_flows)
 * or VNAT_DROP_RATE_LIMIT (a guest flow over syn_rate_per_sec: datagram
 * flows have their own bucket). Checked last, the rate takes a token. */
int dgram_admit(struct vnat *nat, enum dgram_kind kind);
/* Free the datagram flow that has been idle longest, if that is at least
 * min_idle_ns, to make room in a full table. False if there is none. O(1):
 * it compares the heads of the three datagram timer lists. */
bool dgram_reclaim_idle(struct vnat *nat, uint64_t min_idle_ns);
/* The idle time a datagram flow must have before it may be reclaimed. */
#define DGRAM_RECLAIM_IDLE_NS (1ull * VNAT_NS_PER_S)
/* A new flow of kind for key (the caller checked dgram_has_room), counted and
 * on its timer list. */
struct flow *dgram_open(struct vnat *nat, const struct flow_key *key, enum dgram_kind kind);
void dgram_release(struct vnat *nat, struct flow *f); /* close + free */
/* An impossible host result: counted, the flow released. */
void dgram_bad_host_result(struct vnat *nat, struct flow *f);
/* Traffic in direction dir (DGDIR_*): refresh the timer, and move a UDP flow
 * to the stream timeout the first time both directions were seen. */
void dgram_saw(struct vnat *nat, struct flow *f, unsigned dir);
/* Its timer expired. */
void dgram_on_timer(struct vnat *nat, struct flow *f);

/* Bytes of a host datagram that fit at nat->scratch + VW_UDP4_PAYLOAD_OFF
 * (65507: the most an IPv4 UDP datagram carries): the receive capacity. */
size_t dgram_recv_cap(const struct vnat *nat);
/* Give the guest the datagram of len (<= dgram_recv_cap) bytes already at
 * nat->scratch + VW_UDP4_PAYLOAD_OFF, from the flow's destination to the
 * guest, in IPv4 fragments if it is larger than one frame allows; counts
 * it and refreshes the flow's timer. Returns the sink's result (0 = every
 * fragment taken). */
int dgram_deliver(struct vnat *nat, struct flow *f, size_t len);
/* The guest link refused a frame: stop reading until it takes frames again. */
void dgram_pause(struct vnat *nat, struct flow *f);
bool dgram_paused(const struct flow *f);
/* Link-writable for a paused flow: unpause; true if it should be read now. */
bool dgram_resume(struct vnat *nat, struct flow *f);

/* ICMP error (type, code) to the guest from src, quoting the start of the
 * guest's datagram (its IP header and 8 bytes, RFC 792). */
void dgram_send_icmp_error(struct vnat *nat, const uint8_t src[4], uint8_t type, uint8_t code,
                           const uint8_t *orig_ip, size_t orig_len);
/* ICMP "destination unreachable" for a flow whose original datagram is
 * gone: the quoted datagram is rebuilt from the flow key. */
void dgram_send_unreach_for_key(struct vnat *nat, const struct flow_key *key, uint8_t code);
/* The ICMP unreachable code for a host error (positive errno), or -1. */
int dgram_unreach_code(long err);
/* A host error that only loses this datagram. */
bool dgram_transient(long err);

/* Invariants of one live datagram flow: 0 if they hold, else 1 and a reason. */
int dgram_check(const struct vnat *nat, const struct flow *f, const char **why);

#endif
