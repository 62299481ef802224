/*
 * fuzzhost.h — the fuzz targets' host and guest: a vnat_host_ops table whose
 * every result can be drawn from the fuzz input, and a guest-frame generator
 * that keeps lengths and checksums valid so mutations reach deep TCP states.
 *
 * The host is a small consistent model (sockets with a receive stream of
 * known length, an end-of-stream flag, free send space, queued datagrams and
 * pending connections) plus fault injection. Before each host operation it
 * draws one byte from the *result stream*: most values keep the model's
 * answer, the rest pick a fault — a refused frame, a short or failed send, an
 * errno the core does not expect, an impossible byte count — from further
 * bytes. When the result stream is empty every answer is the model's, so a
 * scripted prelude (fuzz_frame) runs deterministically with no input at all.
 *
 * The host is also an oracle of the core's side of the contract: it traps if
 * the core uses a token it never opened or already closed, opens a token
 * twice, hands the guest a frame that does not parse or carries a bad
 * checksum, or (fz_host_finish) still holds a socket after vnat_shutdown.
 *
 * Everything is fixed-size and pointer-free except the result stream (the
 * test kit's socket table included: it never stores a pointer), so a
 * target may copy a whole struct fz_host (and the core's memory block) to
 * snapshot and restore a prepared state.
 */
#ifndef VNAT_FUZZ_FUZZHOST_H
#define VNAT_FUZZ_FUZZHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vnat/vnat.h>

#include "tk_socks.h"

#define FZ_TRAP(cond)                                                                              \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

/* ---- input cursors ------------------------------------------------------ */

/* One input buffer read from both ends: events from the front, host results
 * from the back, until the two cursors meet. Reads past the meeting point
 * give zeros. */
struct fz_src {
    const uint8_t *p;
    size_t front, back; /* [front, back) is unread */
};
void fz_src_init(struct fz_src *s, const uint8_t *p, size_t n);
static inline bool fz_empty(const struct fz_src *s)
{
    return s->p == NULL || s->front >= s->back;
}
uint8_t fz_u8(struct fz_src *s); /* from the front */
uint16_t fz_u16(struct fz_src *s);
uint32_t fz_u32(struct fz_src *s);
uint64_t fz_u64(struct fz_src *s);
/* Copy up to n bytes from the front (zero-fill the rest); returns n. */
size_t fz_bytes(struct fz_src *s, uint8_t *out, size_t n);
uint8_t fz_back_u8(struct fz_src *s); /* from the back */
uint32_t fz_back_u32(struct fz_src *s);

/* ---- the host ------------------------------------------------------------ */

#define FZ_MAX_SOCKS 160
#define FZ_PORTS 8         /* guest source ports 40000..40007 */
#define FZ_DSTS 4          /* tracked destinations, see fz_dst() */
#define FZ_PEEK_MAX 65536u /* bytes a model socket may hold for the core */

enum fz_kind { FZK_FREE = 0, FZK_TCP, FZK_LISTEN, FZK_DGRAM };

/* A host socket: the kit's socket fields (tok, used, closed, close_reset,
 * interest, addr: the connect/open destination or bound address) and the
 * model's own. */
struct fz_sock {
    TK_SOCK;
    uint8_t kind; /* enum fz_kind */
    bool rx_eof;  /* remote closed: peek past rx_avail gives 0 */
    bool shut_wr;
    bool icmp;
    bool inexact;      /* a fault fed the core bytes the model does not hold */
    uint32_t faults;   /* faults drawn on this socket */
    int8_t gp, gd;     /* the tracked guest connection it serves, or -1 */
    uint32_t rx_avail; /* bytes the core may peek (from the discard point) */
    uint32_t space;    /* free send space */
    uint32_t dgrams;   /* datagrams queued for dgram_recv */
    uint32_t pending;  /* connections queued on a listener */
    uint64_t tx_total; /* guest bytes the host took */
};
/* The core owns it and has not closed it. */
static inline bool fz_open(const struct fz_sock *s)
{
    return tk_sock_open(&s->sock);
}

/* What the guest learned of one TCP connection from the core's frames. */
struct fz_peer {
    bool seen;          /* a frame of this connection came from the core */
    bool syn_from_core; /* the core sent a SYN (SYN-ACK or inbound SYN) */
    uint32_t core_isn;
    uint32_t core_nxt; /* highest core sequence number sent + 1 */
    uint32_t core_ack; /* last ack the core sent: where it expects us */
    uint16_t core_wnd;
    uint32_t guest_nxt; /* where the guest's next byte goes */
    uint8_t last_flags;
};

struct fz_host {
    vnat *nat;
    struct vnat_config cfg;
    struct fz_src *res; /* result stream (NULL: model only) */
    uint64_t now;
    struct fz_sock socks[FZ_MAX_SOCKS];
    struct fz_peer peers[FZ_PORTS][FZ_DSTS];
    uint64_t frames_out, frames_refused, ops;
    uint32_t faults;     /* host results drawn as faults */
    uint8_t fault_below; /* a result byte >= this is a fault (default 224) */
    uint16_t syn_mss;    /* MSS / window shift the guest's next SYN offers */
    uint8_t syn_wscale;  /* (fz_guest_tcp; default 1460 and 7) */
};

/* The ops table; ctx is the struct fz_host. panic traps. */
const struct vnat_host_ops *fz_ops(void);

/* Create a core in mem (caller-owned, vnat_memory_size(cfg) bytes, 16-aligned). */
void fz_host_init(struct fz_host *h, const struct vnat_config *cfg, void *mem, size_t mem_size);
/* Check invariants (trap on failure). */
void fz_check(struct fz_host *h);
/* vnat_shutdown, then trap if the core still holds a host socket. */
void fz_host_finish(struct fz_host *h);

struct fz_sock *fz_sock_by_tok(struct fz_host *h, vnat_token tok);
/* The n-th open socket of a kind (any kind for FZK_FREE), n taken modulo
 * the number of such sockets; NULL if none. */
struct fz_sock *fz_sock_pick(struct fz_host *h, uint8_t kind, unsigned n);

/* ---- the guest ------------------------------------------------------------ */

/* Tracked destination d (0..FZ_DSTS-1): 0 the gateway (host loopback), 1..3
 * ordinary outside addresses. */
struct vnat_sockaddr fz_dst(unsigned d);
#define FZ_GUEST_PORT(i) ((uint16_t)(40000 + (i)))

/* The options of a guest TCP segment (fz_guest_tcp's opts): MSS and window
 * scale as h->syn_mss / h->syn_wscale say, SACK-permitted, timestamps. */
#define FZ_OPT_MSS 1u
#define FZ_OPT_WS 2u
#define FZ_OPT_SACK 4u
#define FZ_OPT_TS 8u
/* Send a TCP segment on tracked connection (port p, dst d), built with the
 * test kit's builder (valid lengths and checksums), and update the
 * guest's own sequence number; returns the event's result. */
vnat_err fz_guest_tcp(struct fz_host *h, unsigned p, unsigned d, uint8_t flags, uint32_t seq,
                      uint32_t ack, uint16_t win, unsigned opts, const uint8_t *payload,
                      size_t len);
/* The tracked peer for a TCP frame from the core, or NULL. */
struct fz_peer *fz_peer_of(struct fz_host *h, uint16_t guest_port, const uint8_t remote_ip[4],
                           uint16_t remote_port);

/* Liveness oracle: trap if a flow whose last frame to the guest advertised
 * a zero window (established or host_fin: the guest may still send) has
 * no write interest on its socket, so nothing would ever reopen the window.
 * A real guest's zero-window probe carries no new data (Linux probes at
 * snd_una - 1), so it cannot reopen it either. */
void fz_check_windows(struct fz_host *h);

/* Fix lengths and checksums of an Ethernet/IPv4 frame in place (IP total
 * length, IP header checksum, TCP/UDP/ICMP checksum); other frames are left
 * alone. Used by the custom mutators and fuzz_frame. */
void fz_fix_frame(uint8_t *frame, size_t len);

#endif
