/*
 * svc_fakehost.h — a scripted fake host for the guest-services pins: every
 * host operation of vnat.h, datagram sockets and listeners included (the
 * TCP pins' pins/fakehost.h covers stream sockets only). Each socket the
 * core opens gets a record of what was asked and sent; incoming datagrams,
 * pending connections and errors are scripted. Frames for the guest are
 * captured and parsed with the wire layer. Drives the core through its
 * public API only (plus the wire layer to build and read frames).
 */
#ifndef VNAT_PINS_SVC_FAKEHOST_H
#define VNAT_PINS_SVC_FAKEHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vnat/vnat.h>

#include "wire.h"

#define SFH_MAX_SOCKS 256
#define SFH_MAX_FRAMES 4096
#define SFH_MAX_DGRAMS 64
#define SFH_DGRAM_MAX 2048
#define SFH_STREAM_BUF (1u << 20)
#define SFH_MAX_CLOSED 1024

enum sfh_kind { SFH_NONE = 0, SFH_STREAM, SFH_LISTENER, SFH_DGRAM, SFH_DGRAM_BOUND };

struct sfh_dgram {
    struct vnat_sockaddr addr; /* to (sent) or from (received) */
    size_t len;
    uint8_t data[SFH_DGRAM_MAX];
};

struct sfh_sock {
    bool used, closed;
    int close_reset;
    vnat_token tok;
    enum sfh_kind kind;
    int dgram_kind;            /* enum vnat_dgram_kind */
    struct vnat_sockaddr addr; /* connect/open destination, or bound/listening address */
    unsigned interest;
    /* datagrams */
    struct sfh_dgram *sent; /* SFH_MAX_DGRAMS, ring of what the core sent */
    size_t nsent;
    struct sfh_dgram *rxq; /* SFH_MAX_DGRAMS scripted incoming datagrams */
    size_t rx_head, rx_tail;
    long recv_err; /* returned once by dgram_recv before the queue */
    long send_rc;  /* if nonzero, dgram_send returns it */
    /* listeners: scripted pending connections */
    struct vnat_sockaddr pending[16];
    size_t npending;
    /* streams */
    uint8_t *tx, *rx;
    size_t tx_len, rx_len, rx_disc;
    bool rx_eof, shut_wr;
    long space;
};

struct sfh_frame {
    uint8_t *data;
    size_t len;
};

struct sfh {
    vnat *nat;
    void *mem;
    size_t mem_size;
    struct vnat_config cfg;
    uint64_t now;
    struct sfh_sock socks[SFH_MAX_SOCKS];
    struct sfh_frame frames[SFH_MAX_FRAMES];
    size_t nframes, seen;
    int refuse;    /* guest_send refuses while nonzero */
    int open_rc;   /* what dgram_open returns */
    int listen_rc; /* what tcp_listen returns */
    int bind_rc;   /* what dgram_bind returns */
    int connect_rc;
    uint64_t ops[VNAT_OP__COUNT];
    vnat_token last_tok;
    /* Every token closed so far (the first SFH_MAX_CLOSED): claim() fails
     * the pin if the core names a new socket with one of them, since an
     * embedder's event still queued for the closed socket would then reach
     * the new one. */
    vnat_token closed_toks[SFH_MAX_CLOSED];
    size_t nclosed;
};

/* Create with defaults changed by tweak (may be NULL): max_flows 64, seed 1,
 * one DNS server 127.0.0.53:53. Asserts creation succeeds. */
void sfh_init(struct sfh *h, void (*tweak)(struct vnat_config *cfg));
/* Same, returning vnat_create's result instead of asserting it. The
 * listen/bind results in force during creation come from these. */
extern int sfh_create_listen_rc, sfh_create_bind_rc;
vnat_err sfh_try_init(struct sfh *h, void (*tweak)(struct vnat_config *cfg));
void sfh_free(struct sfh *h);
void sfh_check(struct sfh *h);

struct sfh_sock *sfh_sock(struct sfh *h, vnat_token tok);
struct sfh_sock *sfh_last(struct sfh *h);                              /* most recently opened */
struct sfh_sock *sfh_find(struct sfh *h, enum sfh_kind kind, int nth); /* nth socket of a kind */
int sfh_count(struct sfh *h, enum sfh_kind kind, bool open_only);

/* Script the host side. */
void sfh_incoming(struct sfh_sock *s, const struct vnat_sockaddr *from, const void *data,
                  size_t len);
void sfh_pending_conn(struct sfh_sock *l, const struct vnat_sockaddr *peer);
void sfh_stream_data(struct sfh_sock *s, const void *data, size_t len);

/* Events (each checks the invariants afterwards). */
vnat_err sfh_frame(struct sfh *h, const uint8_t *frame, size_t len);
vnat_err sfh_readable(struct sfh *h, vnat_token tok);
vnat_err sfh_listener(struct sfh *h, vnat_token tok);
vnat_err sfh_link(struct sfh *h);
void sfh_advance(struct sfh *h, uint64_t ns);

/* Guest frames. src/dst are 4 octets; NULL src means the guest's address. */
size_t sfh_udp_frame(struct sfh *h, uint8_t *out, size_t cap, const uint8_t *src,
                     const uint8_t dst[4], uint16_t sport, uint16_t dport, const void *payload,
                     size_t len);
vnat_err sfh_send_udp(struct sfh *h, const uint8_t dst[4], uint16_t sport, uint16_t dport,
                      const void *payload, size_t len);
vnat_err sfh_send_ping(struct sfh *h, const uint8_t dst[4], uint16_t id, uint16_t seq,
                       const void *payload, size_t len);
vnat_err sfh_send_tcp(struct sfh *h, const uint8_t dst[4], uint16_t sport, uint16_t dport,
                      uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win, bool opts,
                      const void *payload, size_t len);
vnat_err sfh_send_arp(struct sfh *h, uint16_t op, const uint8_t spa[4], const uint8_t tpa[4]);

/* Output frames, parsed. */
struct sfh_out {
    bool ok;
    uint16_t ethertype;
    uint8_t eth_dst[6], eth_src[6];
    struct vw_arp arp;
    uint8_t proto;
    uint8_t src[4], dst[4];
    struct vw_udp udp;
    struct vw_icmp icmp;
    struct vw_tcp tcp;
    const uint8_t *payload;
    size_t len;
};
size_t sfh_pending(struct sfh *h);
struct sfh_out sfh_next(struct sfh *h); /* consume the next frame (ok false if none/bad) */
void sfh_drain(struct sfh *h);

uint64_t sfh_stat(struct sfh *h, size_t offset);
#define SFH_STAT(h, field) sfh_stat((h), offsetof(struct vnat_stats, field))

static inline struct vnat_sockaddr sfh_addr4(uint8_t a, uint8_t b, uint8_t c, uint8_t d,
                                             uint16_t port)
{
    struct vnat_sockaddr s;
    __builtin_memset(&s, 0, sizeof s);
    s.ip = vnat_ip4(a, b, c, d);
    s.port = port;
    return s;
}

#endif
