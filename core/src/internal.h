/*
 * internal.h — the core's private data structures: the instance (struct
 * vnat), the flow (one slot of the fixed-capacity flow table), assertions,
 * and the small set of functions the modules (flow, timer, tcp, policy, log,
 * frame, services) call on each other. Everything here lives inside the one
 * block of memory the embedder gave to vnat_create(); nothing is global.
 * Pins, fuzz targets and benchmarks may include this header (through
 * vnat_core_internal); embedders use only <vnat/vnat.h>.
 */
#ifndef VNAT_INTERNAL_H
#define VNAT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <vnat/vnat.h>

#include "wire.h"
#include "services.h"

/* ------------------------------------------------------------------ */
/* Assertions                                                          */
/* ------------------------------------------------------------------ */

void vnat_panic_(const struct vnat *nat, const char *msg);

#define VNAT_STR2_(x) #x
#define VNAT_STR_(x) VNAT_STR2_(x)
/* Always-on check of something that can only fail through a bug in the core
 * (never through input): a failure calls ops->panic, then traps. */
#define VNAT_VERIFY(nat, cond)                                                                     \
    do {                                                                                           \
        if (__builtin_expect(!(cond), 0))                                                          \
            vnat_panic_((nat), __FILE__ ":" VNAT_STR_(__LINE__) ": " #cond);                       \
    } while (0)
#ifdef NDEBUG
#define VNAT_ASSERT(nat, cond)                                                                     \
    do {                                                                                           \
        (void)(nat);                                                                               \
        (void)sizeof(!(cond));                                                                     \
    } while (0)
#else
#define VNAT_ASSERT(nat, cond) VNAT_VERIFY(nat, cond)
#endif

/* ------------------------------------------------------------------ */
/* Sequence arithmetic, modulo 2^32 (RFC 9293 3.4)                     */
/* ------------------------------------------------------------------ */
static inline bool seq_lt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}
static inline bool seq_le(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) <= 0;
}
static inline bool seq_gt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}
static inline bool seq_ge(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) >= 0;
}

#define VNAT_NONE32 UINT32_MAX
#define VNAT_NS_PER_S 1000000000ull
#define VNAT_NS_PER_MS 1000000ull
#define VNAT_NS_PER_US 1000ull

/* ------------------------------------------------------------------ */
/* Flow                                                                */
/* ------------------------------------------------------------------ */

/* The 5-tuple as the guest sees it. IPv6-ready: addresses are full
 * vnat_ip values. Padding is always zero so the key can be hashed and
 * compared as bytes. */
struct flow_key {
    struct vnat_ip guest_ip;
    struct vnat_ip dst_ip;
    uint16_t guest_port;
    uint16_t dst_port;
    uint8_t proto;
    uint8_t pad_[3];
};

/* Fixed-duration timer classes: every flow on one class list shares the same
 * duration, so appending at the tail keeps each list sorted by deadline. */
enum timer_class {
    TCLASS_NONE = 0,
    TCLASS_CONNECT,    /* connect_timeout_ns */
    TCLASS_IDLE,       /* tcp_idle_timeout_ns */
    TCLASS_CLOSING,    /* tcp_closing_timeout_ns */
    TCLASS_UDP,        /* udp_timeout_ns: UDP flow not answered yet */
    TCLASS_UDP_STREAM, /* udp_stream_timeout_ns: UDP flow that saw both directions */
    TCLASS_ICMP,       /* icmp_timeout_ns */
    TCLASS_LINGER,     /* TCP_LINGER_NS: a closed TCP flow re-acknowledges late FINs */
    TCLASS_COUNT
};

/* Variable timers (one per flow at most), kept in a binary min-heap. */
enum heap_kind { HKIND_NONE = 0, HKIND_RTO, HKIND_PERSIST };

/* Flow flags. */
#define FF_SOCKET 0x0001u     /* owns a live host socket (token valid) */
#define FF_FIN_SENT 0x0002u   /* our FIN is at snd_nxt-1 (in flight or acked) */
#define FF_FIN_EVER 0x0004u   /* our FIN was sent once: it sits at snd_max-1 */
#define FF_FIN_ACKED 0x0008u  /* the guest acknowledged our FIN */
#define FF_GUEST_FIN 0x0010u  /* the guest's FIN was accepted (rcv_nxt covers it) */
#define FF_HOST_EOF 0x0020u   /* the host reported end of stream */
#define FF_WSCALE 0x0040u     /* window scaling negotiated */
#define FF_LINK_WAIT 0x0080u  /* on the link-wait list */
#define FF_RTT_TIMING 0x0100u /* one segment is being timed */
#define FF_WANT_WUPD 0x0200u  /* a window update is owed when the host drains */
#define FF_LINGER 0x0400u     /* closed cleanly, lingering: no longer counts to max_tcp_flows */

/* TCP part of a flow. Names follow RFC 9293 from the core's side: "snd" is
 * host->guest (our sequence space), "rcv" is guest->host. */
struct tcp_flow {
    uint8_t state;      /* enum vnat_tcp_state */
    uint8_t snd_wscale; /* shift the guest's windows are scaled by */
    uint8_t rcv_wscale; /* shift we scale our windows by */
    uint8_t retries;    /* consecutive RTO / persist expiries */
    uint8_t dupacks;    /* consecutive duplicate ACKs from the guest */
    uint8_t pad_;
    uint16_t mss; /* largest payload we send to the guest */
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

struct flow {
    struct flow_key key;
    uint32_t hash;                 /* keyed hash of key (low 32 bits) */
    uint32_t hash_next;            /* next free slot while on the free list */
    uint32_t gen;                  /* token generation of this slot, never 0 */
    uint32_t list_prev, list_next; /* timer class list */
    uint32_t heap_pos;             /* index in the timer heap, VNAT_NONE32 if absent */
    uint32_t link_prev, link_next; /* link-wait list */
    uint64_t list_deadline;
    uint64_t heap_deadline;
    uint16_t flags; /* FF_* */
    uint8_t in_use;
    uint8_t list_class; /* enum timer_class */
    uint8_t heap_kind;  /* enum heap_kind */
    uint8_t interest;   /* VNAT_WANT_* currently set on the host socket */
    uint8_t pad_[2];
    union {
        struct tcp_flow tcp;
        struct dgram_flow dg; /* UDP and ICMP flows (services.h) */
        uint8_t reserved[88]; /* room for the UDP/ICMP flow state of guest services */
    } u;
};

/* A listener slot (port forwards, issue 5). Tokens of listeners use slots
 * max_flows .. max_flows+max_forwards-1. */
struct listener {
    struct vnat_forward fwd;
    uint32_t gen;
    uint32_t reject_gen; /* generation of the next refused connection's token, never 0 */
    uint8_t in_use;
    uint8_t pad_[3];
};

/* ------------------------------------------------------------------ */
/* Instance                                                            */
/* ------------------------------------------------------------------ */

/* One entry of the flow index: the key's hash and the flow's slot
 * (slot VNAT_NONE32 = empty). */
struct flow_ref {
    uint32_t hash;
    uint32_t slot;
};

struct timer_list {
    uint32_t head, tail;
    uint32_t count;
    uint32_t pad_;
    uint64_t duration;
};

struct vnat {
    struct vnat_config cfg; /* defaults applied; rules/forwards point into our memory */
    struct vnat_host_ops ops;
    void *ctx;
    void *mem_base;
    size_t mem_size;

    uint64_t now;                  /* largest now seen */
    uint64_t sip_table[2];         /* flow-table hash key */
    uint64_t sip_isn[2];           /* ISN hash key */
    struct flow_key hash_memo_key; /* last key hashed (flow.c key_hash) */
    uint32_t hash_memo;
    uint32_t hash_memo_valid;

    struct flow *flows;       /* max_flows */
    struct flow_ref *buckets; /* open-addressed index, bucket_mask+1 entries */
    uint32_t bucket_mask;
    uint32_t free_head;
    uint32_t *heap; /* flow indices, heap_len used */
    uint32_t heap_len;
    uint32_t link_head, link_tail; /* flows waiting for the guest link */
    struct timer_list lists[TCLASS_COUNT];

    struct vnat_rule *rules;       /* n_rules */
    struct vnat_forward *forwards; /* max_forwards capacity, n_forwards used */
    struct listener *listeners;    /* max_forwards */

    uint8_t *scratch; /* one output frame: mtu + 14 bytes */
    size_t scratch_len;

    uint32_t tcp_live;
    uint16_t ip_id;
    uint8_t link_full;
    uint8_t shut_down;

    uint64_t syn_bucket;      /* rate limiter tokens, in token-nanoseconds */
    uint64_t syn_bucket_last; /* when it was last refilled */

    struct svc_state svc; /* guest services (services.h) */

    int isn_forced;
    uint32_t isn_force_value;

    struct vnat_stats stats;
};

/* ------------------------------------------------------------------ */
/* Modules                                                             */
/* ------------------------------------------------------------------ */

/* siphash.c */
uint64_t vnat_siphash24(const uint64_t key[2], const void *data, size_t len);
void vnat_derive_key(uint64_t seed, uint64_t domain, uint64_t out[2]);

/* flow.c: fixed table, keyed hash index, tokens */
void flow_table_init(struct vnat *nat);
struct flow *flow_lookup(struct vnat *nat, const struct flow_key *key);
struct flow *flow_alloc(struct vnat *nat, const struct flow_key *key); /* NULL if full */
/* Position (1-based) of f in its index probe run, 0 if missing (pins, invariants). */
uint32_t flow_index_probe_len(const struct vnat *nat, const struct flow *f);
void flow_free(struct vnat *nat, struct flow *f);
struct flow *flow_by_token(struct vnat *nat, vnat_token tok);
vnat_token flow_token(const struct vnat *nat, const struct flow *f);
static inline uint32_t flow_index(const struct vnat *nat, const struct flow *f)
{
    return (uint32_t)(f - nat->flows);
}
bool flow_table_full(const struct vnat *nat);
/* Flows that lost a frame to a full guest link, resumed by link-writable. */
void link_wait_add(struct vnat *nat, struct flow *f);
void link_wait_remove(struct vnat *nat, struct flow *f);

/* timer.c */
void timer_init(struct vnat *nat);
void timer_list_set(struct vnat *nat, struct flow *f, enum timer_class c); /* (re)append */
void timer_list_touch(struct vnat *nat, struct flow *f); /* move to tail, new deadline */
void timer_list_clear(struct vnat *nat, struct flow *f);
void timer_heap_set(struct vnat *nat, struct flow *f, enum heap_kind k, uint64_t deadline);
void timer_heap_clear(struct vnat *nat, struct flow *f);
uint64_t timer_next_deadline(const struct vnat *nat);
void timer_fire_due(struct vnat *nat);
int timer_check(const struct vnat *nat, char *why, size_t why_len);

/* log.c: the boundary log and the host-operation wrappers that feed it */
void log_create(struct vnat *nat, const void *image, size_t image_len);
void log_event(struct vnat *nat, enum vnat_log_kind kind, uint64_t raw_now, vnat_token tok,
               int64_t a, const uint8_t *data, size_t len);
void log_api(struct vnat *nat, int64_t which, const void *data, size_t len);
int host_guest_send(struct vnat *nat, const uint8_t *frame, size_t len);
int host_tcp_connect(struct vnat *nat, vnat_token tok, const struct vnat_sockaddr *dst);
long host_send(struct vnat *nat, vnat_token tok, const uint8_t *buf, size_t len);
long host_send_space(struct vnat *nat, vnat_token tok);
long host_peek(struct vnat *nat, vnat_token tok, size_t off, uint8_t *buf, size_t len);
int host_discard(struct vnat *nat, vnat_token tok, size_t len);
int host_shutdown_write(struct vnat *nat, vnat_token tok);
void host_close(struct vnat *nat, vnat_token tok, int reset);
void host_set_interest(struct vnat *nat, vnat_token tok, unsigned mask);

/* policy.c */
#include "policy.h"

/* frame.c: guest frame dispatch */
void frame_dispatch(struct vnat *nat, const uint8_t *frame, size_t len);

/* services.c: the seam for ARP/DHCP/DNS/UDP/ICMP/IPv6 (guest services, services.h) */
struct vw_eth;
struct vw_ipv4;
void services_on_arp(struct vnat *nat, const struct vw_eth *eth);
void services_on_ipv6(struct vnat *nat, const struct vw_eth *eth);
void services_on_udp4(struct vnat *nat, const struct vw_eth *eth, const struct vw_ipv4 *ip);
void services_on_icmp4(struct vnat *nat, const struct vw_eth *eth, const struct vw_ipv4 *ip);
/* Timers / events of non-TCP flows land here too. */
void services_on_flow_timer(struct vnat *nat, struct flow *f, enum timer_class c);
void services_on_readable(struct vnat *nat, struct flow *f);

/* tcp.c */
#include "tcp.h"

/* fmt.c: tiny formatters for the dump and invariant messages */
struct fmt_buf {
    char *buf;
    size_t cap;
    size_t len; /* length the full text needs */
};
void fmt_str(struct fmt_buf *b, const char *s);
void fmt_u64(struct fmt_buf *b, uint64_t v);
void fmt_hex(struct fmt_buf *b, uint64_t v);
void fmt_ip(struct fmt_buf *b, const struct vnat_ip *ip);
void fmt_finish(struct fmt_buf *b);

/* vnat.c helpers used by modules */
void stats_drop(struct vnat *nat, enum vnat_drop_reason r);

/* Internal hooks for pins (not part of the public API). */
void vnat_debug_force_isn(struct vnat *nat, int enable, uint32_t isn);
size_t vnat_debug_flow_size(void);
size_t vnat_debug_memory_per_flow(void);
const struct flow *vnat_debug_flow_at(const struct vnat *nat, uint32_t index);

#endif /* VNAT_INTERNAL_H */
