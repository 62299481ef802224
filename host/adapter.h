/*
 * adapter.h — internal interface of the real adapter (host/). The adapter is
 * deliberately thin: it turns epoll readiness into core events, carries out
 * the core's host operations on real non-blocking sockets, and moves guest
 * frames over a guest link (a tap device in a namespace vnat creates, or a
 * QEMU stream socket). Every decision about a flow belongs to the core; this
 * header only names the pieces that glue the kernel to it. See
 * docs/adapter.md.
 */
#ifndef VNAT_HOST_ADAPTER_H
#define VNAT_HOST_ADAPTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <vnat/vnat.h>

/* Poller ids (epoll data) that are not core tokens. The core issues tokens as a
 * slot plus a generation and never issues 0; these values sit at the very
 * top of the 64-bit range, and an operation that would name a socket with
 * one of them is refused (-EINVAL, the core resets that flow), so the two
 * sets can never collide. */
#define HOST_ID_LINK (UINT64_MAX - 0)        /* tap fd or stream connection */
#define HOST_ID_SIGNAL (UINT64_MAX - 1)      /* signalfd */
#define HOST_ID_LINK_LISTEN (UINT64_MAX - 2) /* vnat serve: UNIX listener */
#define HOST_ID_API_LISTEN (UINT64_MAX - 3)  /* --api-socket listener */
#define HOST_ID_API_CLIENT0 (UINT64_MAX - 4) /* API client i is CLIENT0 - i */
#define HOST_ID_FIRST_RESERVED (UINT64_MAX - 15)

/* Largest Ethernet frame a guest link carries: a 65535-byte IP packet plus
 * an Ethernet header and a VLAN tag, rounded up. A stream length above this
 * (or 0) is a bad length and resets the link. */
#define HOST_MAX_FRAME (65536u + 32u)

enum host_sock_kind { HOST_SOCK_FREE = 0, HOST_SOCK_STREAM, HOST_SOCK_LISTENER, HOST_SOCK_DGRAM };

/* One host socket, found by the slot of the token that names it (the low 32
 * bits); `tok` holds the whole token so a stale generation never matches. */
struct host_sock {
    vnat_token tok; /* 0 when the slot is free */
    int fd;
    uint8_t kind;       /* enum host_sock_kind */
    uint8_t connecting; /* connect under way: the next writable reads SO_ERROR */
    uint8_t pad_[2];
    unsigned interest; /* current VNAT_WANT_* mask as asked of the poller */
    int32_t peek_off;  /* the kernel's SO_PEEK_OFF for this socket, -1 if unused */
};

/* QEMU stream framing, receive side: a flat buffer parsed in place, so a
 * frame reaches the core straight from where read() put it. Pinned by
 * pins/host_pins.c. */
struct stream_rx {
    uint8_t *buf;
    size_t cap;   /* 2 * (4 + max_frame): a whole frame always fits after compaction */
    size_t start; /* first unparsed byte */
    size_t end;   /* one past the last byte read */
    size_t max_frame;
};

enum stream_rx_result { STREAM_RX_NEED_MORE = 0, STREAM_RX_FRAME = 1, STREAM_RX_BAD_LENGTH = -1 };

int stream_rx_init(struct stream_rx *rx, size_t max_frame);
void stream_rx_free(struct stream_rx *rx);
void stream_rx_reset(struct stream_rx *rx);
/* Where the next read() may write, and how much; compacts when needed. */
uint8_t *stream_rx_space(struct stream_rx *rx, size_t *avail);
void stream_rx_commit(struct stream_rx *rx, size_t n);
/* Next complete frame, in place (valid until the next space/commit call). */
enum stream_rx_result stream_rx_next(struct stream_rx *rx, const uint8_t **frame, size_t *len);

/* Send side: frames go out with one writev() when nothing is queued; only
 * the unwritten rest of a partially written frame, or a frame that arrives
 * while output is queued, is copied (once) into the ring below. */
struct stream_tx {
    uint8_t *buf;
    size_t cap;
    size_t start;
    size_t end;
};

int stream_tx_init(struct stream_tx *tx, size_t cap);
void stream_tx_free(struct stream_tx *tx);
/* Queue or write one frame on fd. Returns 0 when taken (written or queued),
 * 1 when refused (no room: the caller reports the link full), or -errno when
 * the connection failed. */
int stream_tx_send(struct stream_tx *tx, int fd, const uint8_t *frame, size_t len);
/* Write queued bytes. Returns 1 when the queue is empty, 0 when bytes remain
 * (wait for EPOLLOUT), -errno when the connection failed. */
int stream_tx_flush(struct stream_tx *tx, int fd);
bool stream_tx_pending(const struct stream_tx *tx);

/* pcap writer (LINKTYPE_ETHERNET). */
struct pcap_writer;
struct pcap_writer *pcap_open(const char *path, unsigned snaplen);
void pcap_frame(struct pcap_writer *p, const uint8_t *frame, size_t len);
void pcap_close(struct pcap_writer *p);

/* Boundary log recorder (the trace format of vlog/trace.h). */
struct recorder;
struct recorder *recorder_open(const char *path);
void recorder_write(struct recorder *r, const struct vnat_log_record *rec);
int recorder_close(struct recorder *r);

enum host_link_kind { HOST_LINK_NONE = 0, HOST_LINK_TAP, HOST_LINK_STREAM };

/* Readiness, as the socket operations and the guest link ask for it and as a
 * front end reports it back. The socket operations know no epoll (nor poll):
 * the front end's poller maps these bits to and from its own (loop.c: epoll;
 * a poll()-driven front end: POLLIN, POLLOUT, ...). */
#define HOST_POLL_IN 0x01u    /* readable: data, a connection, end of stream */
#define HOST_POLL_OUT 0x02u   /* writable */
#define HOST_POLL_RDHUP 0x04u /* the peer shut down its sending side */
#define HOST_POLL_HUP 0x08u   /* reported only: hung up */
#define HOST_POLL_ERR 0x10u   /* reported only: an error is pending */
#define HOST_POLL_EDGE 0x20u  /* asked only: report changes, not levels */

/* How the socket operations and the guest link register descriptors with
 * the front end that waits on them. `id` comes back with each readiness
 * report: a core token for a host socket, a HOST_ID_* value otherwise. */
struct host_poller {
    void *ctx;
    /* Start watching fd for mask (HOST_POLL_*). 0 or -errno. */
    int (*add)(void *ctx, int fd, uint64_t id, unsigned mask);
    /* Change the mask of a descriptor added before. 0 or -errno. */
    int (*mod)(void *ctx, int fd, uint64_t id, unsigned mask);
    /* fd is about to be closed; NULL when closing is enough (epoll: a
     * descriptor that is never duplicated leaves the set on close). */
    void (*del)(void *ctx, int fd);
};

/* Counters of the adapter itself (the core keeps its own). */
struct host_stats {
    uint64_t wakeups;          /* loop: epoll_wait returns */
    uint64_t events;           /* loop: epoll events handled */
    uint64_t ticks;            /* loop: vnat_on_tick calls */
    uint64_t frames_rx;        /* frames read from the guest link */
    uint64_t frames_tx;        /* frames written to the guest link */
    uint64_t link_refused;     /* guest_send refusals (link full) */
    uint64_t link_resets;      /* stream links dropped (closed, error, bad length) */
    uint64_t link_bad_lengths; /* of which: a bad frame length */
    uint64_t link_torn_frames; /* of which: the peer left with a frame half sent */
    uint64_t peek_calls;
    uint64_t peek_off_sets; /* SO_PEEK_OFF setsockopt calls (offset moved) */
    uint64_t peek_fallback; /* peeks done without SO_PEEK_OFF */
    uint64_t send_short;    /* sends the kernel took only part of */
    uint64_t send_refused;  /* sends the kernel took nothing of (EAGAIN) */
    uint64_t sockets_opened;
    uint64_t stale_events;   /* events for a token closed earlier in the batch */
    uint64_t deadline_guard; /* loop: a deadline not in the future after a tick */
    uint64_t accept_shed;    /* out of descriptors: a waiting connection taken and reset */
};

/* What the socket operations (sockops.c) and the guest link (link.c) act
 * on: the part of the adapter a second front end reuses as it is. It is the
 * ctx of host_ops_table. One instance, one thread. */
struct host_io {
    vnat *nat; /* readiness and guest frames go to it */
    struct host_poller poller;

    struct host_sock *socks;
    uint32_t nsocks;
    bool peek_off_supported; /* false once setsockopt(SO_PEEK_OFF) failed */
    uint8_t *peek_scratch;   /* fallback peek: bytes before the offset land here */
    size_t peek_scratch_len;
    bool reserve_open; /* reserve_fd is held (sockops.c, shed_one) */
    int reserve_fd;

    /* guest link */
    enum host_link_kind link_kind;
    int link_fd;         /* tap fd or stream connection, -1 when none */
    int link_listen_fd;  /* vnat serve: UNIX listener, -1 otherwise */
    bool link_out_armed; /* HOST_POLL_OUT asked for on link_fd */
    bool link_refused;   /* a frame was refused: signal link-writable */
    uint8_t *tap_buf;    /* one frame */
    struct stream_rx srx;
    struct stream_tx stx;

    struct pcap_writer *pcap;
    struct recorder *rec;

    struct host_stats st;
};

/* Everything the vnat adapter owns: the reusable part and the loop's. */
struct host {
    struct host_io io;
    int epfd;
    int sigfd;
    struct host_api *api; /* --api-socket, NULL when not given */

    /* run mode */
    pid_t child;
    int child_status;
    bool child_exited;
    bool stop;
    int signals_seen;
};

/* sockops.c: the core's host operations on real non-blocking sockets and
 * the token -> descriptor table. No epoll: interest goes to io->poller. */
extern const struct vnat_host_ops host_ops_table; /* ctx: struct host_io * */
/* Set up the table (poller and nat are the caller's to fill). Descriptors
 * are -1 afterwards; 0 or -ENOMEM. */
int host_io_init(struct host_io *io, uint32_t socket_slots);
/* Close every host socket, free the table (the link is host_link_close's). */
void host_io_fini(struct host_io *io);
struct host_sock *host_sock_find(struct host_io *io, vnat_token tok);
/* A readiness report (HOST_POLL_*) for the host socket tok: the core's
 * listener/writable/readable events, a finished connect's SO_ERROR. */
void host_sock_event(struct host_io *io, uint64_t now, vnat_token tok, unsigned ready);

/* link.c: the guest link, a tap device or a QEMU stream socket. */
int guest_link_send(struct host_io *io, const uint8_t *frame, size_t len);
int host_link_attach_tap(struct host_io *io, int tap_fd);
int host_link_listen_stream(struct host_io *io, const char *path);
/* A readiness report (HOST_POLL_*) for HOST_ID_LINK. */
void host_link_event(struct host_io *io, uint64_t now, unsigned ready);
/* HOST_ID_LINK_LISTEN is readable: take the next guest connection. */
void host_link_accept(struct host_io *io, uint64_t now);
/* Flush queued stream output, close the link's descriptors, free its
 * buffers. */
void host_link_close(struct host_io *io);

/* loop.c: the epoll set (io.poller), signals, timers, the loop. */
uint64_t host_now_ns(void);
/* host_io_init plus the epoll set; descriptors are -1 on failure too. */
int host_init(struct host *h, uint32_t socket_slots);
void host_fini(struct host *h);
int host_signals_setup(struct host *h);
int host_loop_run(struct host *h);

/* hostaddrs.c: the host's own addresses, closed to the guest by default. */
#define HOST_ADDRS_MAX 512
/* The host's IPv4 and IPv6 interface addresses (getifaddrs), loopback
 * included. Returns how many were written, or -errno (-ENOSPC when there
 * are more than cap). */
long host_addrs_list(struct vnat_ip *out, size_t cap);
/* Pure: the rules to append after the user's, for the host addresses addrs:
 * ALLOW (UDP and TCP, its port) for each resolver in dns that is one of
 * addrs, then DENY (any protocol, any port; /32 or /128) for each address.
 * Loopback and unspecified addresses get no rule (the gateway's mapping to
 * 127.0.0.1 is checked against the rules); repeats are written once.
 * Returns the number of rules written to out, or -1 if cap is too small. */
long host_addrs_rules(const struct vnat_ip *addrs, size_t n, const struct vnat_sockaddr *dns,
                      size_t ndns, struct vnat_rule *out, size_t cap);

/* api_proto.c: the --api-socket protocol, pure (no system calls). One
 * request per line, one reply per line, JSON; see docs/adapter.md. */
#define HOST_API_MAX_LINE 1024 /* request bytes before the newline */
#define HOST_API_MAX_CLIENTS 8 /* (at most 12: the reserved poller ids) */
#define HOST_API_MAX_STRING 63 /* longest string value or key */
#define HOST_API_MAX_WHY 160   /* room for an error message */

enum host_api_cmd { HOST_API_ADD = 1, HOST_API_REMOVE, HOST_API_LIST, HOST_API_STATS };

/* Why a request was refused before it reached the core. */
enum host_api_status {
    HOST_API_OK = 0,
    HOST_API_E_SYNTAX,   /* not one JSON object of strings and integers */
    HOST_API_E_TOO_LONG, /* more than HOST_API_MAX_LINE bytes before the newline */
    HOST_API_E_COMMAND,  /* "cmd" missing or not a known command */
    HOST_API_E_FIELD,    /* unknown, repeated, missing, mistyped or out-of-range field */
    HOST_API_E_BUSY,     /* HOST_API_MAX_CLIENTS connections already open */
};

struct host_api_req {
    enum host_api_cmd cmd;
    struct vnat_forward fwd; /* add, remove */
    bool guest_port_given;   /* remove: the guest port must match too */
};

/* Parse one request line (without its newline). On HOST_API_OK *req is
 * filled; otherwise why holds a NUL-terminated message (the first problem,
 * reading left to right). Never reads past line + len. */
enum host_api_status host_api_parse(const char *line, size_t len, struct host_api_req *req,
                                    char *why, size_t why_len);
/* The reply's "error" name: "syntax", "too_long", ... for a status. */
const char *host_api_status_name(enum host_api_status st);

/* Line framing of a client's byte stream. A line longer than
 * HOST_API_MAX_LINE is reported once (HOST_API_RX_TOO_LONG) and the rest of
 * it, up to its newline, is dropped. */
struct host_api_rx {
    char line[HOST_API_MAX_LINE + 1];
    size_t len;
    bool discarding; /* inside an oversize line, up to its newline */
    bool have_line;  /* line holds the last line reported */
};
enum host_api_rx_event { HOST_API_RX_NONE = 0, HOST_API_RX_LINE, HOST_API_RX_TOO_LONG };
/* Consume bytes from in (n of them) up to and including the first event;
 * returns how many were consumed and sets *ev. On HOST_API_RX_LINE the
 * line is rx->line, rx->len bytes (valid until the next call). */
size_t host_api_rx_take(struct host_api_rx *rx, const char *in, size_t n,
                        enum host_api_rx_event *ev);

/* Reply builder: appends to a fixed buffer; `overflow` records a reply
 * that did not fit (the buffer then holds no partial reply the caller would
 * send: it checks overflow and sends an error instead). */
struct host_api_out {
    char *buf;
    size_t cap;
    size_t len;
    bool overflow;
};
void host_api_put(struct host_api_out *o, const char *raw);
void host_api_put_str(struct host_api_out *o, const char *s); /* quoted, escaped */
void host_api_put_u64(struct host_api_out *o, uint64_t v);
/* {"ok":false,"error":NAME,"message":MSG}\n */
void host_api_reply_error(struct host_api_out *o, const char *name, const char *msg);
/* One forward as a JSON object. */
void host_api_put_forward(struct host_api_out *o, const struct vnat_forward *f);
/* The lower-case name of a vnat_err ("exists", "full", "inval", ...). */
const char *host_api_err_name(vnat_err e, char *buf, size_t len);
/* Largest reply for a forward table of cap entries (sizes the buffers). */
size_t host_api_max_reply(uint32_t cap);

/* api.c: the socket (non-blocking, served by the loop). */
int host_api_open(struct host *h, const char *path, const struct vnat_forward *initial,
                  uint32_t n_initial, uint32_t cap);
void host_api_event(struct host *h, uint64_t now, uint64_t id, unsigned ready);
/* Whether a poller id is the API listener or one of its clients. */
bool host_api_owns(uint64_t id);
void host_api_close(struct host *h);

/* tap.c */
enum ns_userns_mode { NS_USERNS_AUTO = 0, NS_USERNS_YES, NS_USERNS_NO };
struct ns_setup {
    const struct vnat_config *cfg; /* addresses, MACs, MTU */
    enum ns_userns_mode userns;
    bool static_arp; /* permanent neighbour entries for gateway and DNS */
    const char *ifname;
};
/* Fork COMMAND in a new network (and user, and mount) namespace with a
 * configured tap device. On success *pid is the child (held before exec
 * until ns_release), *tap_fd the tap. On failure a message is printed and
 * -1 returned; *unavailable is set when the kernel or the permissions do not
 * allow namespaces or /dev/net/tun (tests skip on it). */
int ns_spawn(const struct ns_setup *s, char *const argv[], pid_t *pid, int *tap_fd, int *gate_fd,
             bool *unavailable);
/* Let the child exec COMMAND (the tap is registered by then). */
int ns_release(int gate_fd);

#endif
