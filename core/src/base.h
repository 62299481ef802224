/*
 * base.h — layer 0 of the core (docs/architecture.md): the instance
 * (struct vnat) with the state every layer shares, the counters, the panic
 * hook and its assertions, sequence arithmetic and the constants. It
 * includes nothing of the core but the public header.
 *
 * Each higher layer keeps its own part of the instance in a struct its own
 * header defines; struct vnat reaches them through the pointers below, set
 * by vnat_create() inside the instance memory. Here they are incomplete
 * types: a file can read a layer's state only by including that layer's
 * header, so the #include lines show what each file touches (the layer
 * check, tools/check-layers, reads them).
 */
#ifndef VNAT_BASE_H
#define VNAT_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <vnat/vnat.h>

/* ------------------------------------------------------------------ */
/* Assertions                                                          */
/* ------------------------------------------------------------------ */

struct vnat;

/* Calls ops->panic (if any) with msg, then traps. */
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
/* A precondition or property of state, checked in debug builds only (so a
 * release build's traces never depend on it). */
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

/* Linux errno values, as the host operations return them negated (vnat.h). */
#define HOST_EPERM 1
#define HOST_EAGAIN 11
#define HOST_ENOMEM 12
#define HOST_EACCES 13
#define HOST_ENFILE 23
#define HOST_EMFILE 24
#define HOST_EPIPE 32
#define HOST_EMSGSIZE 90
#define HOST_ENETDOWN 100
#define HOST_ENETUNREACH 101
#define HOST_ECONNABORTED 103
#define HOST_ECONNRESET 104
#define HOST_ENOBUFS 105
#define HOST_ENOTCONN 107
#define HOST_ETIMEDOUT 110
#define HOST_ECONNREFUSED 111
#define HOST_EHOSTDOWN 112
#define HOST_EHOSTUNREACH 113

/* ------------------------------------------------------------------ */
/* The instance                                                        */
/* ------------------------------------------------------------------ */

/* The state of the layers above this one (each defined in its header). */
struct policy_state; /* policy.h */
struct timer_state;  /* timer.h */
struct flow_table;   /* flow.h */
struct tcp_state;    /* tcp.h */
struct dgram_state;  /* dgram.h */
struct dns_state;    /* dns.h */
struct dhcp_state;   /* dhcp.h */
struct fwd_state;    /* forward.h */

/* Bytes of the scratch region: an Ethernet header and the largest IPv4
 * datagram (total length 65535). */
#define VNAT_SCRATCH_CAP (14u + 65535u)

struct vnat {
    struct vnat_config cfg; /* defaults applied; rules/forwards point into our memory */
    struct vnat_host_ops ops;
    void *ctx;
    void *mem_base;
    size_t mem_size;

    uint64_t now; /* largest now seen */

    /* The scratch region: one output frame of at most scratch_len bytes
     * (mtu + 14) is built at its start. It holds scratch_cap bytes
     * (VNAT_SCRATCH_CAP: Ethernet and a whole IPv4 datagram), so a host
     * datagram too large for one frame can be received whole and sent to
     * the guest in fragments (dgram.c). */
    uint8_t *scratch;
    size_t scratch_len;
    size_t scratch_cap;
    uint16_t ip_id;    /* IPv4 identification of the next frame the core builds */
    uint8_t link_full; /* the guest link refused a frame since the last link-writable */
    uint8_t shut_down;
    /* The guest's MAC in force (dispatch.c): cfg.guest_mac until one is
     * learned. guest_mac_held is 0 while learning (VNAT_F_GUEST_MAC_FIXED
     * unset, no frame accepted yet since creation or the last reset). */
    uint8_t guest_mac[6];
    uint8_t guest_mac_held;
    /* Every stats_drop(): a learning frame that counted no drop is valid.
     * Only differences within one event are read (not snapshotted). */
    uint64_t drop_events;

    struct vnat_stats stats; /* the counters: every layer counts here */

    struct policy_state *policy;
    struct timer_state *timers;
    struct flow_table *ft;
    struct tcp_state *tcp;
    struct dgram_state *dgram;
    struct dns_state *dns;
    struct dhcp_state *dhcp;
    struct fwd_state *fwd;
};

/* Count one dropped guest frame or host datagram. */
void stats_drop(struct vnat *nat, enum vnat_drop_reason r);

#endif /* VNAT_BASE_H */
