/*
 * svc_fakehost.h — a scripted fake host for the guest-services pins: every
 * host operation of vnat.h, datagram sockets and listeners included (the
 * TCP pins' pins/fakehost.h covers stream sockets only). Each socket the
 * core opens gets a record of what was asked and sent; incoming datagrams,
 * pending connections and errors are scripted. Frames for the guest are
 * captured and parsed with the test kit (testkit/), which also holds the
 * socket table, streams and scripted results. Drives the core through its
 * public API only (plus the wire layer to build and read frames).
 */
#ifndef VNAT_PINS_SVC_FAKEHOST_H
#define VNAT_PINS_SVC_FAKEHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vnat/vnat.h>

#include "testkit.h"
#include "wire.h"

#define SFH_MAX_SOCKS 256
#define SFH_MAX_FRAMES 4096
#define SFH_MAX_DGRAMS 64
#define SFH_DGRAM_MAX 65536

enum sfh_kind { SFH_NONE = 0, SFH_STREAM, SFH_LISTENER, SFH_DGRAM, SFH_DGRAM_BOUND };

struct sfh_dgram {
    struct vnat_sockaddr addr; /* to (sent) or from (received) */
    size_t len;
    uint8_t data[SFH_DGRAM_MAX];
};

/* A host socket: the kit's socket and stream fields (tok, used, closed,
 * close_reset, interest, addr; tx, rx, tx_len, rx_len, rx_disc, rx_eof,
 * shut_wr, space) and what is this fake's own. */
struct sfh_sock {
    TK_SOCK;
    TK_STREAM;
    enum sfh_kind kind;
    int dgram_kind; /* enum vnat_dgram_kind */
    /* datagrams */
    struct sfh_dgram *sent; /* SFH_MAX_DGRAMS, ring of what the core sent */
    size_t nsent;
    struct sfh_dgram *rxq; /* SFH_MAX_DGRAMS scripted incoming datagrams */
    size_t rx_head, rx_tail;
    /* listeners: scripted pending connections */
    struct vnat_sockaddr pending[16];
    size_t npending;
};

/* Scripted results (h->script, testkit/tk_script.h) this fake honours, each
 * taken before its model answers: VNAT_OP_TCP_CONNECT, VNAT_OP_TCP_LISTEN,
 * VNAT_OP_DGRAM_OPEN, VNAT_OP_DGRAM_BIND, VNAT_OP_DGRAM_SEND and
 * VNAT_OP_DGRAM_RECV (an error the socket reports: script it once). */
struct sfh {
    vnat *nat;
    void *mem;
    size_t mem_size;
    struct vnat_config cfg;
    uint64_t now;
    struct sfh_sock socks[SFH_MAX_SOCKS];
    struct tk_capture out; /* frames to the guest */
    struct tk_script script;
    int refuse; /* guest_send refuses while nonzero */
    uint64_t ops[VNAT_OP__COUNT];
    vnat_token last_tok;
    size_t peek_asked, recv_cap; /* the last peek's len and recv's cap (the log check) */
    /* Every token closed so far: a new socket named by one of them fails
     * the pin, since an embedder's event still queued for the closed socket
     * would then reach the new one. */
    struct tk_closed closed;
};

/* Create with defaults changed by tweak (may be NULL): max_flows 64, seed 1,
 * one DNS server 127.0.0.53:53. Asserts creation succeeds. */
void sfh_init(struct sfh *h, void (*tweak)(struct vnat_config *cfg));
/* Same, returning vnat_create's result instead of asserting it. The
 * listen/bind results in force during creation come from these (nonzero:
 * tcp_listen and dgram_bind, or dgram_bind alone, return it). */
extern int sfh_create_listen_rc, sfh_create_bind_rc;
vnat_err sfh_try_init(struct sfh *h, void (*tweak)(struct vnat_config *cfg));
void sfh_free(struct sfh *h);
const struct vnat_host_ops *sfh_ops_table(void); /* this fake's operations (ctx: the sfh) */
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

/* Output frames, parsed (ok false if none, or not ARP or a TCP, UDP or ICMP
 * datagram that parsed with valid checksums). */
size_t sfh_pending(struct sfh *h);
struct tk_pkt sfh_next(struct sfh *h); /* consume the next frame */
void sfh_drain(struct sfh *h);
/* Consume the pending frames that are the IPv4 fragments of one datagram,
 * checking each (within the MTU, valid header, one ID, DF clear, offsets
 * contiguous and 8-aligned, MF on all but the last): the reassembled IP
 * payload goes to out (cap bytes), its length to *len; returns the count. */
size_t sfh_reassemble(struct sfh *h, uint8_t *out, size_t cap, size_t *len);

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
