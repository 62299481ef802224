/*
 * vnat.h — the whole public API of the vnat core.
 *
 * The core is a pure, deterministic state machine: the embedder (a VMM, the
 * simulator in sim/, the real adapter in host/) hands it guest Ethernet frames
 * and socket readiness, each stamped with a monotonic `now` in nanoseconds, and
 * the core answers with frames for the guest (through a sink that may refuse)
 * and requests for the host (through a table of host operations). The core
 * never blocks, sleeps, reads a clock, allocates after creation or makes a
 * system call. See docs/architecture.md and docs/embedding.md.
 *
 * Threading: an instance is not thread-safe; instances share nothing, so one
 * instance per thread needs no locks. Host operations must never call back
 * into the core.
 *
 * The extension rule (decided once, for every public struct the embedder
 * fills in: struct vnat_config, struct vnat_host_ops, and every struct added
 * later):
 *  - its first member is `uint32_t struct_size`, which the embedder sets to
 *    sizeof the struct as its header declared it (vnat_config_init() does it
 *    for the config; for the host operations write
 *    `.struct_size = sizeof(struct vnat_host_ops)`);
 *  - members are only ever appended, never reordered, resized or removed;
 *  - the core reads exactly struct_size bytes of it: every member past the
 *    caller's struct_size takes its documented default (for a host operation:
 *    absent, and the core behaves as if it were NULL), so an embedder built
 *    against an older header keeps working unchanged;
 *  - a struct_size larger than this library knows is refused with
 *    VNAT_E_VERSION (the caller asked for fields the library cannot honour),
 *    and so is one smaller than the first released version of the struct;
 *  - a member added later is optional by construction: the core never
 *    requires it, and documents what it does without it;
 *  - structs the core fills in for the caller (struct vnat_stats) take the
 *    caller's size as an argument instead and write at most that much.
 */
#ifndef VNAT_VNAT_H
#define VNAT_VNAT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VNAT_VERSION_MAJOR 0
#define VNAT_VERSION_MINOR 1
#define VNAT_VERSION_PATCH 0
#define VNAT_VERSION_STRING "0.1.0"
/* One number that grows with every release: major*10000 + minor*100 + patch. */
#define VNAT_VERSION_NUMBER                                                                        \
    (VNAT_VERSION_MAJOR * 10000 + VNAT_VERSION_MINOR * 100 + VNAT_VERSION_PATCH)

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/* Every fallible public function returns one of these; VNAT_OK is zero and
 * every error is negative. vnat_strerror() never returns NULL. */
#define VNAT_ERRORS(X)                                                                             \
    X(VNAT_OK, 0, "success")                                                                       \
    X(VNAT_E_INVAL, -1, "invalid argument")                                                        \
    X(VNAT_E_CONFIG, -2, "invalid configuration")                                                  \
    X(VNAT_E_VERSION, -3, "struct size or snapshot version not supported")                         \
    X(VNAT_E_NOMEM, -4, "memory given is too small (see vnat_memory_size)")                        \
    X(VNAT_E_STALE, -5, "stale or unknown token")                                                  \
    X(VNAT_E_FULL, -6, "table full")                                                               \
    X(VNAT_E_NOTFOUND, -7, "no such entry")                                                        \
    X(VNAT_E_EXISTS, -8, "entry already exists")                                                   \
    X(VNAT_E_HOST, -9, "host operation failed")                                                    \
    X(VNAT_E_STATE, -10, "not allowed in the current state")                                       \
    X(VNAT_E_SNAP_MAGIC, -11, "not a vnat snapshot (bad magic)")                                   \
    X(VNAT_E_SNAP_LENGTH, -12, "snapshot length differs from its header")                          \
    X(VNAT_E_SNAP_TRUNCATED, -13, "snapshot truncated")                                            \
    X(VNAT_E_SNAP_CHECKSUM, -14, "snapshot checksum mismatch")                                     \
    X(VNAT_E_SNAP_FORMAT, -15, "snapshot section missing, repeated or out of order")               \
    X(VNAT_E_SNAP_DUPLICATE, -16, "snapshot holds two flows with one key or slot")                 \
    X(VNAT_E_SNAP_RANGE, -17, "snapshot field out of range")                                       \
    X(VNAT_E_SNAP_CAPACITY, -18, "snapshot holds more flows than its capacity")                    \
    X(VNAT_E_SNAP_TOKEN, -19, "snapshot token generation does not fit")                            \
    X(VNAT_E_SNAP_INVARIANT, -20, "restored state breaks an invariant")

typedef enum vnat_err {
#define VNAT_X_ENUM(name, value, text) name = (value),
    VNAT_ERRORS(VNAT_X_ENUM)
#undef VNAT_X_ENUM
} vnat_err;

/* Human-readable text for an error code; unknown codes give "unknown error". */
const char *vnat_strerror(int err);

/* ------------------------------------------------------------------------ */
/* Addresses                                                                 */
/* ------------------------------------------------------------------------ */

/* Address family tags. IPv6 is carried through the API now so that the flow
 * key, the table and the policy never assume IPv4-only addresses. */
enum vnat_family { VNAT_AF_NONE = 0, VNAT_AF_INET = 4, VNAT_AF_INET6 = 6 };

/* An IP address. For VNAT_AF_INET the four bytes are addr[0..3] in network
 * order and addr[4..15] are zero (so two equal addresses compare equal with
 * memcmp over the whole struct). */
struct vnat_ip {
    uint8_t family; /* enum vnat_family */
    uint8_t pad_[3];
    uint8_t addr[16];
};

/* An IP address with a port in host byte order. */
struct vnat_sockaddr {
    struct vnat_ip ip;
    uint16_t port;
    uint16_t pad_;
};

/* Build an IPv4 vnat_ip from four octets, zero-padded as required above. */
struct vnat_ip vnat_ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);

/* IP protocol numbers used in rules and forwards. 0 matches any protocol. */
enum vnat_proto {
    VNAT_PROTO_ANY = 0,
    VNAT_PROTO_ICMP = 1,
    VNAT_PROTO_TCP = 6,
    VNAT_PROTO_UDP = 17
};

/* ------------------------------------------------------------------------ */
/* Tokens                                                                    */
/* ------------------------------------------------------------------------ */

/* Opaque name of one host socket (flow socket or listener). The core issues
 * tokens (slot plus generation); the embedder maps them to its descriptors
 * and carries them back in events. 0 is never a valid token. An event with a
 * token whose slot has since been reused is counted (stale_tokens) and
 * ignored. */
typedef uint64_t vnat_token;
#define VNAT_TOKEN_NONE ((vnat_token)0)

/* Interest bits for host_ops.set_interest. */
#define VNAT_WANT_READ 1u
#define VNAT_WANT_WRITE 2u

/* Datagram socket kinds for host_ops.dgram_open / dgram_bind. */
enum vnat_dgram_kind {
    VNAT_DGRAM_UDP = 1,  /* ordinary UDP socket */
    VNAT_DGRAM_ICMP = 2, /* unprivileged ICMP echo ("ping") socket */
};

/* ------------------------------------------------------------------------ */
/* Host operations                                                           */
/* ------------------------------------------------------------------------ */

struct vnat_log_record; /* defined below, with the boundary log */

/*
 * The host operations the core requests. All are given at creation and all
 * function pointers must be non-NULL except log (optional). `ctx` is the
 * embedder's pointer given to vnat_create(). Negative returns are negative
 * errno values (Linux numbering, <errno.h>). Every result is validated by the
 * core: an impossible one (a send that took more than it was given, a peek
 * that returned more than asked, an errno the core does not expect) resets
 * that flow and is counted in bad_host_results; it is never asserted.
 * Host operations never call back into the core.
 */
struct vnat_host_ops {
    /* sizeof(struct vnat_host_ops) as the caller's header declared it (the
     * extension rule at the top of this file). Members up to and including
     * `panic` are version 1, the smallest size accepted
     * (VNAT_HOST_OPS_SIZE_V1); members added after it are optional. */
    uint32_t struct_size;

    /* Frame for the guest. Return 0 if the link took it, nonzero if the link
     * is full: the frame then counts as lost (frames_refused), TCP recovers,
     * and vnat_on_link_writable() resumes sending. The buffer is only valid
     * during the call. */
    int (*guest_send)(void *ctx, const uint8_t *frame, size_t len);

    /* Open a non-blocking TCP socket named `tok` and start connecting it to
     * `dst`. Return 0 when the connect is under way or done (completion is
     * always reported later through vnat_on_writable with SO_ERROR), or a
     * negative errno when it failed at once (the core then sends RST). The
     * core sets write interest itself after a 0 return. */
    int (*tcp_connect)(void *ctx, vnat_token tok, const struct vnat_sockaddr *dst);

    /* Open a listening TCP socket named `tok` bound to `local`. 0 or -errno. */
    int (*tcp_listen)(void *ctx, vnat_token tok, const struct vnat_sockaddr *local);

    /* Accept one connection from listener `listener`; name the new socket
     * `tok` and write the peer's address to *peer. 0, -EAGAIN when none is
     * pending, or another -errno. */
    int (*tcp_accept)(void *ctx, vnat_token listener, vnat_token tok, struct vnat_sockaddr *peer);

    /* Write up to len bytes to stream socket `tok`. Returns bytes taken
     * (0..len), -EAGAIN when none could be taken, or -errno. */
    long (*send)(void *ctx, vnat_token tok, const uint8_t *buf, size_t len);

    /* Free space in the send buffer of `tok`, in bytes, or -errno. */
    long (*send_space)(void *ctx, vnat_token tok);

    /* Copy up to len bytes of received data starting `offset` bytes past the
     * first byte not yet discarded, without consuming it. Returns bytes
     * copied, 0 at end of stream (peer closed and nothing at that offset),
     * -EAGAIN when nothing is there yet, or -errno (for example
     * -ECONNRESET). */
    long (*peek)(void *ctx, vnat_token tok, size_t offset, uint8_t *buf, size_t len);

    /* Consume (drop) the first len received bytes. 0 or -errno. */
    int (*discard)(void *ctx, vnat_token tok, size_t len);

    /* shutdown(SHUT_WR) on `tok`. 0 or -errno. */
    int (*shutdown_write)(void *ctx, vnat_token tok);

    /* Close `tok` (any kind of socket). reset != 0 asks for an abortive close
     * (SO_LINGER {1,0}, the peer sees RST). The token is dead afterwards. */
    void (*close)(void *ctx, vnat_token tok, int reset);

    /* Set readiness interest of `tok` to `mask` (VNAT_WANT_READ|WRITE). */
    void (*set_interest)(void *ctx, vnat_token tok, unsigned mask);

    /* Open a datagram socket of `kind` named `tok`, connected to `dst` (for
     * ICMP, dst.port is ignored). 0 or -errno. The core sets read interest
     * itself after a 0 return. */
    int (*dgram_open)(void *ctx, vnat_token tok, enum vnat_dgram_kind kind,
                      const struct vnat_sockaddr *dst);

    /* Open an unconnected datagram socket bound to `local` (UDP port
     * forwards). 0 or -errno. */
    int (*dgram_bind)(void *ctx, vnat_token tok, enum vnat_dgram_kind kind,
                      const struct vnat_sockaddr *local);

    /* Send one datagram on `tok`; `to` is NULL for a connected socket.
     * Returns len, -EAGAIN, or -errno (-ECONNREFUSED reports an earlier
     * ICMP port unreachable). For ICMP sockets buf is an ICMP echo message
     * whose identifier the host may rewrite. */
    long (*dgram_send)(void *ctx, vnat_token tok, const uint8_t *buf, size_t len,
                       const struct vnat_sockaddr *to);

    /* Receive one datagram into buf (at most cap bytes; a longer datagram is
     * truncated and its full length returned), writing its source to *from.
     * Returns its length, -EAGAIN when none is queued, or -errno. */
    long (*dgram_recv)(void *ctx, vnat_token tok, uint8_t *buf, size_t cap,
                       struct vnat_sockaddr *from);

    /* Optional (may be NULL): the one boundary log. Called for every record
     * that crosses the core's boundary (see struct vnat_log_record and
     * docs/trace.md). */
    void (*log)(void *ctx, const struct vnat_log_record *rec);

    /* Optional (may be NULL): called when an internal invariant fails. Must
     * not return; if it does, or is NULL, the core executes
     * __builtin_trap(). */
    void (*panic)(void *ctx, const char *msg);
};

/* The size of the first version of struct vnat_host_ops: the smallest
 * struct_size vnat_create() accepts. */
#define VNAT_HOST_OPS_SIZE_V1                                                                      \
    (offsetof(struct vnat_host_ops, panic) + sizeof(void (*)(void *, const char *)))

/* ------------------------------------------------------------------------ */
/* Boundary log                                                              */
/* ------------------------------------------------------------------------ */

/* What one log record describes. Inputs are what a replay feeds back; outputs
 * are what a replay compares. */
#define VNAT_LOG_KINDS(X)                                                                          \
    X(VNAT_LOG_CREATE, "create")           /* in: data = config image, a = seed */                 \
    X(VNAT_LOG_EV_FRAME, "ev_frame")       /* in: data = guest frame */                            \
    X(VNAT_LOG_EV_WRITABLE, "ev_writable") /* in: token, a = SO_ERROR */                           \
    X(VNAT_LOG_EV_READABLE, "ev_readable") /* in: token */                                         \
    X(VNAT_LOG_EV_LISTENER, "ev_listener") /* in: token */                                         \
    X(VNAT_LOG_EV_LINK, "ev_link")         /* in */                                                \
    X(VNAT_LOG_EV_TICK, "ev_tick")         /* in */                                                \
    X(VNAT_LOG_OUT_FRAME, "out_frame")     /* out: data = frame; result in: a = sink return */     \
    X(VNAT_LOG_OP, "op")                   /* out: op request; in: its result */                   \
    X(VNAT_LOG_API,                                                                                \
      "api") /* in: a public call other than an event (forward add/remove, shutdown) */            \
    X(VNAT_LOG_RESTORE,                                                                            \
      "restore") /* in: data = snapshot image, a = mode, b = the now passed (vnat_restore) */      \
    X(VNAT_LOG_SNAPSHOT,                                                                           \
      "snapshot") /* out: an image written (vnat_snapshot): a = its length, b = its checksum */

enum vnat_log_kind {
#define VNAT_X_ENUM(name, text) name,
    VNAT_LOG_KINDS(VNAT_X_ENUM)
#undef VNAT_X_ENUM
        VNAT_LOG__COUNT
};

/* Host operation codes as they appear in VNAT_LOG_OP records. */
#define VNAT_OPS(X)                                                                                \
    X(VNAT_OP_GUEST_SEND, "guest_send")                                                            \
    X(VNAT_OP_TCP_CONNECT, "tcp_connect")                                                          \
    X(VNAT_OP_TCP_LISTEN, "tcp_listen")                                                            \
    X(VNAT_OP_TCP_ACCEPT, "tcp_accept")                                                            \
    X(VNAT_OP_SEND, "send")                                                                        \
    X(VNAT_OP_SEND_SPACE, "send_space")                                                            \
    X(VNAT_OP_PEEK, "peek")                                                                        \
    X(VNAT_OP_DISCARD, "discard")                                                                  \
    X(VNAT_OP_SHUTDOWN_WRITE, "shutdown_write")                                                    \
    X(VNAT_OP_CLOSE, "close")                                                                      \
    X(VNAT_OP_SET_INTEREST, "set_interest")                                                        \
    X(VNAT_OP_DGRAM_OPEN, "dgram_open")                                                            \
    X(VNAT_OP_DGRAM_BIND, "dgram_bind")                                                            \
    X(VNAT_OP_DGRAM_SEND, "dgram_send")                                                            \
    X(VNAT_OP_DGRAM_RECV, "dgram_recv")

enum vnat_op {
#define VNAT_X_ENUM(name, text) name,
    VNAT_OPS(VNAT_X_ENUM)
#undef VNAT_X_ENUM
        VNAT_OP__COUNT
};

/*
 * One record of the boundary log. Fields not used by a kind are zero. All
 * pointers are valid only during the log call.
 *   kind    enum vnat_log_kind
 *   op      enum vnat_op for VNAT_LOG_OP (and VNAT_OP_GUEST_SEND for frames)
 *   now     the (clamped) time of the event being handled
 *   token   the socket concerned, if any
 *   a, b    integer arguments: for ops, a = first integer argument (offset,
 *           len, mask, reset, kind), b = the operation's return value
 *   addr    address argument or address returned (connect dst, accept peer,
 *           recv source), if any
 *   data    bytes: the frame, the bytes given to send, the bytes peeked or
 *           received (the result of the op), the config image for CREATE
 *
 * The config image of a CREATE record is the struct vnat_config as created
 * (defaults applied, struct_size = sizeof(struct vnat_config), the pointers
 * rules and forwards set to NULL) followed by n_rules struct vnat_rule and
 * n_forwards struct vnat_forward, so a replay can rebuild the configuration.
 */
struct vnat_log_record {
    uint32_t kind;
    uint32_t op;
    uint64_t now;
    vnat_token token;
    int64_t a;
    int64_t b;
    const struct vnat_sockaddr *addr;
    const uint8_t *data;
    size_t len;
};

const char *vnat_log_kind_name(int kind);
const char *vnat_op_name(int op);

/* ------------------------------------------------------------------------ */
/* Configuration                                                             */
/* ------------------------------------------------------------------------ */

/* Egress/ingress policy rule: first match wins, in the order given; no match
 * means allow (subject to the flags below). */
enum vnat_rule_action { VNAT_RULE_DENY = 0, VNAT_RULE_ALLOW = 1 };
struct vnat_rule {
    uint8_t action; /* enum vnat_rule_action */
    uint8_t proto;  /* enum vnat_proto; VNAT_PROTO_ANY matches all */
    uint8_t prefix; /* CIDR prefix length of net */
    uint8_t pad_;
    struct vnat_ip net;
    uint16_t port_lo; /* inclusive destination port range; 0..65535 = any */
    uint16_t port_hi;
};

/* An inbound port forward: a host listener on `host`, delivered to the guest
 * at guest_port (TCP or UDP). */
struct vnat_forward {
    uint8_t proto; /* VNAT_PROTO_TCP or VNAT_PROTO_UDP */
    uint8_t pad_[3];
    struct vnat_sockaddr host;
    uint16_t guest_port;
    uint16_t pad2_;
};

/* Flags for vnat_config.flags. */
#define VNAT_F_GATEWAY_IS_LOOPBACK 0x1u /* gateway address maps to host loopback (default on) */
#define VNAT_F_ARP_ANSWER_ALL 0x2u      /* answer ARP for every on-link address but the guest's */
#define VNAT_F_ALLOW_LINK_LOCAL 0x4u    /* let the guest reach 169.254/16 */
#define VNAT_F_DNS_CACHE 0x8u           /* cache DNS answers (TTL respected) */
#define VNAT_F_DHCP 0x10u               /* serve DHCPv4 to the guest (default on) */
/* Seed 0 is meant (see vnat_config.seed): without this flag a seed of 0 is
 * refused with VNAT_E_CONFIG. */
#define VNAT_F_DETERMINISTIC_SEED 0x20u
/* guest_mac is the guest's MAC, held from the start. Without this flag (the
 * default) the core learns the guest's MAC from the source of the first
 * guest frame it accepts (a unicast, non-zero source, and a frame no check
 * dropped), as a peer on a link does; from then on anti-spoofing holds that
 * MAC, until vnat_reset_flows() (a new guest) forgets it. Until a MAC is
 * learned, frames toward the guest (a forward's SYN) go to guest_mac. With
 * this flag, a multicast or all-zero guest_mac is refused (VNAT_E_CONFIG). */
#define VNAT_F_GUEST_MAC_FIXED 0x40u

#define VNAT_MAX_DNS_SERVERS 4

/*
 * Configuration. Always start from vnat_config_init(), which sets struct_size
 * and every default; then change what you need. struct_size lets a newer
 * library accept an older, smaller struct (missing fields take defaults).
 * The rules and forwards arrays are copied at creation.
 */
struct vnat_config {
    uint32_t struct_size; /* sizeof(struct vnat_config) of the caller */
    uint32_t flags;       /* VNAT_F_* */

    uint8_t guest_mac[6];      /* default 52:54:00:12:34:56 (VNAT_F_GUEST_MAC_FIXED) */
    uint8_t gateway_mac[6];    /* default 52:54:00:12:34:01 */
    struct vnat_ip guest_ip;   /* default 10.0.2.15 */
    struct vnat_ip gateway_ip; /* default 10.0.2.2 */
    struct vnat_ip dns_ip;     /* default 10.0.2.3 */
    uint8_t prefix_len;        /* default 24 */
    uint8_t pad_[3];
    uint32_t mtu; /* IP MTU of the guest link, 576..65521; default 1500 */

    /* Budgets: no kind of flow can take the whole table from the others.
     * 0 (the default) derives each from max_flows; a value above max_flows
     * is max_flows. vnat_config_effective() shows the values in force. */
    uint32_t max_flows;     /* flow table capacity, all protocols; default 4096 */
    uint32_t max_tcp_flows; /* concurrent TCP flows; default max_flows - max_flows/16 */
    uint32_t max_udp_flows; /* concurrent UDP+ICMP flows; default max_flows/2 */
    /* New guest TCP connections per second, and (a bucket of their own, at
     * the same rate) new guest UDP and ICMP flows; 0 = unlimited (default). */
    uint32_t syn_rate_per_sec;

    uint64_t connect_timeout_ns;     /* default 3 s */
    uint64_t tcp_idle_timeout_ns;    /* default 2 h */
    uint64_t tcp_closing_timeout_ns; /* FIN/LAST-ACK linger; default 60 s */
    uint64_t udp_timeout_ns;         /* one-way UDP flow; default 30 s */
    uint64_t udp_stream_timeout_ns;  /* UDP flow that saw both directions; default 120 s */
    uint64_t icmp_timeout_ns;        /* default 30 s */
    uint32_t dhcp_lease_s;           /* default 86400 */
    uint32_t pad2_;

    /* The flow-index hash key, the TCP ISN key and the DNS cache key derive
     * from it; record it (the CREATE log record carries it). It must be
     * secret and random in production (getrandom()): a guest that knows it
     * can aim flows at one probe run and predict ISNs. vnat_config_init()
     * leaves 0, which is publicly known, so vnat_memory_size() and
     * vnat_create() refuse a seed of 0 (VNAT_E_CONFIG) unless flags has
     * VNAT_F_DETERMINISTIC_SEED, which says 0 is meant (tests, replays). Any
     * other value is taken as given: a fixed nonzero seed is deterministic
     * too. */
    uint64_t seed;

    const struct vnat_rule *rules; /* copied at creation */
    uint32_t n_rules;
    uint32_t max_forwards;               /* capacity for runtime forwards; default 64 */
    const struct vnat_forward *forwards; /* opened at creation */
    uint32_t n_forwards;
    uint32_t n_dns_servers;
    struct vnat_sockaddr dns_servers[VNAT_MAX_DNS_SERVERS]; /* host resolvers */
    /* Concurrent ICMP echo flows, within max_udp_flows (distinct echo
     * identifiers must not exhaust UDP); default max_flows/16, at least 1. */
    uint32_t max_icmp_flows;
    uint32_t pad3_;
};

/* Fill *cfg with defaults (documented on each field) and set struct_size. */
void vnat_config_init(struct vnat_config *cfg);
/* The configuration as vnat_create() would use it: the caller's fields over
 * the defaults, zeros replaced by defaults and the budgets derived (out's
 * struct_size is this library's). VNAT_OK, or the error vnat_create() would
 * return for it (VNAT_E_INVAL, VNAT_E_VERSION, VNAT_E_CONFIG). */
vnat_err vnat_config_effective(const struct vnat_config *cfg, struct vnat_config *out);

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct vnat vnat;

/* Bytes of memory vnat_create() needs for this configuration, or 0 if the
 * configuration is invalid. The memory must be aligned to 16 bytes. */
size_t vnat_memory_size(const struct vnat_config *cfg);

/* Create an instance in `mem` (mem_size bytes, 16-aligned, owned by the
 * caller and untouched by anyone else until the instance is abandoned). No
 * host operation is called except tcp_listen/dgram_bind for cfg->forwards.
 * Returns VNAT_OK and sets *out, or:
 *   VNAT_E_INVAL    a NULL out, mem, cfg or ops, mem not 16-aligned, or a
 *                   required host operation NULL;
 *   VNAT_E_VERSION  cfg->struct_size or ops->struct_size is outside what
 *                   this library accepts (the extension rule at the top of
 *                   this file);
 *   VNAT_E_CONFIG   a configuration value out of range; seed 0 without
 *                   VNAT_F_DETERMINISTIC_SEED; a guest, gateway and DNS
 *                   address that are not three different addresses (after
 *                   normalisation: padding and addr[4..15] of an IPv4
 *                   address are zeroed at creation, in the rules too); or a
 *                   forward of cfg->forwards invalid, repeated or beyond
 *                   max_forwards;
 *   VNAT_E_NOMEM    mem_size below vnat_memory_size(cfg);
 *   VNAT_E_HOST     the host refused a listener of cfg->forwards (the ones
 *                   already opened are closed again). */
vnat_err vnat_create(const struct vnat_config *cfg, const struct vnat_host_ops *ops, void *ctx,
                     void *mem, size_t mem_size, vnat **out);

/* Same, with memory from `alloc` (called at most once, here). The caller
 * frees the pointer vnat_memory_base() returns after vnat_shutdown().
 * Returns what vnat_create() returns, and VNAT_E_INVAL for a NULL alloc,
 * VNAT_E_NOMEM when alloc returns NULL; on VNAT_E_INVAL, VNAT_E_VERSION or
 * VNAT_E_CONFIG found before allocating, alloc is not called. */
vnat_err vnat_create_alloc(const struct vnat_config *cfg, const struct vnat_host_ops *ops,
                           void *ctx, void *(*alloc)(void *actx, size_t size), void *actx,
                           vnat **out);
/* The memory the instance lives in (NULL for a NULL nat). */
void *vnat_memory_base(vnat *nat);

/* Close every flow and listener: guest-visible TCP flows get a RST, host
 * sockets are closed (reset where the flow was still open). The instance
 * holds no host resources afterwards and must not be used again. */
void vnat_shutdown(vnat *nat, uint64_t now);

/* The guest is gone while the instance lives on: its link was lost (a VM
 * restart, a QEMU killed, `vnat serve`'s stream peer closing). Ends every
 * flow at once, as vnat_shutdown does: TCP flows send the guest a RST
 * (counted under rst_sent "shutdown"; a link that refuses it loses it) and
 * their host sockets are closed with a reset, so host peers see
 * ECONNRESET now rather than an idle timeout later; lingering TCP flows,
 * UDP and ICMP flows are released and their sockets closed. Listeners and
 * forwards (from the config and added at run time) stay, and the instance
 * serves the next guest as it served the first. Logged (API record a = 4)
 * and replayed. Returns VNAT_OK, VNAT_E_INVAL for a NULL nat, VNAT_E_STATE
 * after vnat_shutdown() (nothing done or logged). */
vnat_err vnat_reset_flows(vnat *nat, uint64_t now);

/* ------------------------------------------------------------------------ */
/* Snapshot and restore (docs/snapshot.md)                                   */
/* ------------------------------------------------------------------------ */
/*
 * A snapshot is a versioned, checksummed image of the whole state of an
 * instance: configuration (rules, limits, forwards) and counters, the hash
 * and ISN keys, the clock, every listener, every flow of every kind with its
 * timers, the DHCP lease and the DNS cache. Its fields are fixed-width
 * little-endian, independent of struct layout and word size; the format
 * version is VNAT_SNAPSHOT_MAJOR.VNAT_SNAPSHOT_MINOR. A snapshot is
 * untrusted input to restore: any malformed image is refused with its own
 * error code, never a crash.
 */
#define VNAT_SNAPSHOT_MAJOR 1
#define VNAT_SNAPSHOT_MINOR 3

/* Restore modes. */
/* The host sockets named by the snapshot's tokens are still open (a thread
 * move, an in-place upgrade, or sockets the embedder rebuilt under the same
 * tokens): every flow continues, no host operation is called. */
#define VNAT_RESTORE_SOCKETS_KEPT 1
/* The host sockets are gone (a new host process): every forward's listener
 * is requested again under its old token (tcp_listen / dgram_bind); every
 * TCP flow is reset toward the guest with a RST it accepts (where data we
 * sent is unacknowledged, a first RST inside the guest's window elicits its
 * challenge ACK, RFC 5961, which the RST for unknown flows answers at
 * exactly its next sequence number), and freed without a host call; every
 * UDP and ICMP flow is forgotten without a host call and re-created by its
 * next datagram (docs/snapshot.md). */
#define VNAT_RESTORE_SOCKETS_LOST 2
/* A flag to or into the mode: the embedder's clock is the one the snapshot
 * was taken on (same process or same host's CLOCK_MONOTONIC). Every time is
 * kept as it is and `now` is not used (the next event's now moves the clock
 * on, as always); without the flag, every absolute time is moved by now
 * minus the snapshot's now. */
#define VNAT_RESTORE_SAME_CLOCK 0x100

/* Bytes vnat_snapshot() writes for the current state; 0 for a NULL or
 * shut-down instance. The size changes with every event. */
size_t vnat_snapshot_size(const vnat *nat);

/* Write the snapshot into buf (len bytes). Calls no host operation and
 * changes nothing. Returns VNAT_OK and sets *written (may be NULL), or:
 *   VNAT_E_INVAL  a NULL nat or buf;
 *   VNAT_E_STATE  after vnat_shutdown();
 *   VNAT_E_NOMEM  len below vnat_snapshot_size(): *written is set to the
 *                 size needed and buf holds no snapshot (its bytes are
 *                 unspecified). */
vnat_err vnat_snapshot(const vnat *nat, void *buf, size_t len, size_t *written);

/* The memory vnat_restore() needs for the snapshot snap (len bytes): the
 * vnat_memory_size() of the snapshot's configuration. VNAT_OK and
 * *mem_size, or an error vnat_restore() would return for the header, the
 * checksum or the configuration. */
vnat_err vnat_restore_memory_size(const void *snap, size_t len, size_t *mem_size);

/* Restore an instance from snap (len bytes, read only during the call)
 * into fresh memory mem (mem_size bytes, 16-aligned, as for vnat_create).
 * Security settings (rules, limits, forwards) and every other setting come
 * from the snapshot; ops and ctx are the embedder's. mode is
 * VNAT_RESTORE_SOCKETS_KEPT or _LOST, optionally with
 * VNAT_RESTORE_SAME_CLOCK. Without that flag `now` becomes the restored
 * clock and every timer keeps the time it had left (each absolute time is
 * moved by now minus the snapshot's now, earlier or later). In
 * VNAT_RESTORE_SOCKETS_KEPT mode no host operation is called (in _LOST mode
 * only the ones above, and guest_send), and with
 * VNAT_RESTORE_SAME_CLOCK (or at the snapshot's own now) the restored
 * instance gives back the same snapshot bytes and behaves event for event
 * as the one snapshotted would have. The
 * restored instance passes vnat_check_invariants(). Its first boundary-log
 * record (ops->log) is a VNAT_LOG_RESTORE record carrying the image, the
 * mode and now, so a replay can rebuild it (vlog/replay.c). Returns VNAT_OK
 * and sets *out,
 * or, leaving *out NULL, the memory used zeroed again and no host call made:
 *   VNAT_E_INVAL          a NULL out, mem, ops or snap, mem not 16-aligned,
 *                         a required host operation NULL, an unknown mode
 *                         or flag;
 *   VNAT_E_VERSION        ops->struct_size not accepted, or a snapshot major
 *                         version this library does not read;
 *   VNAT_E_HOST           (sockets lost) the host refused a listener: the
 *                         ones reopened are closed again, nothing was sent;
 *   VNAT_E_NOMEM          mem_size below vnat_restore_memory_size();
 *   VNAT_E_SNAP_MAGIC     not a snapshot;
 *   VNAT_E_SNAP_TRUNCATED len below the header's length, or a section or
 *                         record running past its end;
 *   VNAT_E_SNAP_LENGTH    len above the header's length;
 *   VNAT_E_SNAP_CHECKSUM  the checksum does not match;
 *   VNAT_E_SNAP_FORMAT    a section missing, repeated or out of order;
 *   VNAT_E_SNAP_DUPLICATE two flows with one key, or one slot twice;
 *   VNAT_E_SNAP_RANGE     a field out of range (a TCP state, a sequence
 *                         number outside its window, a slot, a timer class,
 *                         a configuration value vnat_create would refuse);
 *   VNAT_E_SNAP_CAPACITY  more flows (or listeners) than the capacity;
 *   VNAT_E_SNAP_TOKEN     a token generation of 0;
 *   VNAT_E_SNAP_INVARIANT the state read breaks vnat_check_invariants. */
vnat_err vnat_restore(void *mem, size_t mem_size, const struct vnat_host_ops *ops, void *ctx,
                      const void *snap, size_t len, int mode, uint64_t now, vnat **out);

/* ------------------------------------------------------------------------ */
/* Events                                                                    */
/* ------------------------------------------------------------------------ */
/*
 * Every event carries `now` (ns, monotonic). A `now` below the largest seen
 * is treated as that largest value and counted (time_backwards). Timers that
 * are due fire on any event whose `now` has passed them, before the event
 * itself is handled. Every event returns VNAT_OK, or:
 *   VNAT_E_INVAL  a NULL nat (or, for a guest frame, a NULL frame with len > 0):
 *                 nothing is done or logged;
 *   VNAT_E_STATE  after vnat_shutdown(): nothing is done or logged;
 *   VNAT_E_STALE  (the events that carry a token) a token that names no live
 *                 socket: counted (stale_tokens) and otherwise ignored, after
 *                 due timers fired.
 */

/* One Ethernet frame from the guest. The core reads it only during the call.
 * Every byte is untrusted: bad frames are dropped and counted (still
 * VNAT_OK). VNAT_OK, VNAT_E_INVAL, VNAT_E_STATE. */
vnat_err vnat_on_guest_frame(vnat *nat, uint64_t now, const uint8_t *frame, size_t len);

/* Socket `tok` became writable. so_error is the socket's SO_ERROR value
 * (0 or a positive errno): for a connecting socket it reports the connect's
 * outcome; otherwise send space freed. VNAT_OK, VNAT_E_INVAL, VNAT_E_STATE,
 * VNAT_E_STALE. */
vnat_err vnat_on_writable(vnat *nat, uint64_t now, vnat_token tok, int so_error);

/* Socket `tok` became readable (or hung up). A notification only: the core
 * peeks to learn what is there. A UDP forward's listener token is accepted
 * here too. VNAT_OK, VNAT_E_INVAL, VNAT_E_STATE, VNAT_E_STALE. */
vnat_err vnat_on_readable(vnat *nat, uint64_t now, vnat_token tok);

/* Listener `tok` has connections to accept (or, for a UDP forward,
 * datagrams). VNAT_OK, VNAT_E_INVAL, VNAT_E_STATE, VNAT_E_STALE. */
vnat_err vnat_on_listener_ready(vnat *nat, uint64_t now, vnat_token tok);

/* The guest link can take frames again after guest_send refused one.
 * VNAT_OK, VNAT_E_INVAL, VNAT_E_STATE. */
vnat_err vnat_on_link_writable(vnat *nat, uint64_t now);

/* Time passed; fire due timers. VNAT_OK, VNAT_E_INVAL, VNAT_E_STATE. */
vnat_err vnat_on_tick(vnat *nat, uint64_t now);

/* The earliest time at which a timer is due, or UINT64_MAX if none is
 * pending (and for a NULL or shut-down instance). An embedder waits at most
 * until then, then calls vnat_on_tick. */
uint64_t vnat_next_deadline(const vnat *nat);

/* ------------------------------------------------------------------------ */
/* Port forwards at run time                                                 */
/* ------------------------------------------------------------------------ */

/* Add a forward (opens its host listener). Returns VNAT_OK, or:
 *   VNAT_E_INVAL     a NULL nat or fwd, or an invalid forward (protocol not
 *                    TCP or UDP, an address family other than IPv4/IPv6,
 *                    port 0);
 *   VNAT_E_STATE     after vnat_shutdown();
 *   VNAT_E_EXISTS    a forward of the same protocol and host address exists;
 *   VNAT_E_FULL      max_forwards reached;
 *   VNAT_E_HOST      the host refused the listener. */
vnat_err vnat_forward_add(vnat *nat, uint64_t now, const struct vnat_forward *fwd);
/* Remove a forward (closes its listener; established flows stay). Returns
 * VNAT_OK, or:
 *   VNAT_E_INVAL     a NULL nat or fwd, or an invalid forward (as for add);
 *   VNAT_E_STATE     after vnat_shutdown();
 *   VNAT_E_NOTFOUND  no forward with this protocol, host address and guest
 *                    port. */
vnat_err vnat_forward_remove(vnat *nat, uint64_t now, const struct vnat_forward *fwd);

/* ------------------------------------------------------------------------ */
/* Observation                                                               */
/* ------------------------------------------------------------------------ */

/* Why a guest frame (or part of one) was dropped. Append only. */
#define VNAT_DROP_REASONS(X)                                                                       \
    X(VNAT_DROP_TRUNCATED, "truncated")                                                            \
    X(VNAT_DROP_NOT_FOR_US, "dst_mac_not_ours")                                                    \
    X(VNAT_DROP_VLAN, "vlan_tagged")                                                               \
    X(VNAT_DROP_ETHERTYPE, "unknown_ethertype")                                                    \
    X(VNAT_DROP_SPOOFED, "spoofed_source")                                                         \
    X(VNAT_DROP_ARP_MALFORMED, "arp_malformed")                                                    \
    X(VNAT_DROP_IP_HEADER, "ip_bad_header")                                                        \
    X(VNAT_DROP_IP_CHECKSUM, "ip_bad_checksum")                                                    \
    X(VNAT_DROP_IP_FRAGMENT, "ip_fragment")                                                        \
    X(VNAT_DROP_IP_TTL, "ip_ttl_expired")                                                          \
    X(VNAT_DROP_IPV6, "ipv6_unsupported")                                                          \
    X(VNAT_DROP_PROTO, "ip_unknown_protocol")                                                      \
    X(VNAT_DROP_L4_HEADER, "l4_bad_header")                                                        \
    X(VNAT_DROP_L4_CHECKSUM, "l4_bad_checksum")                                                    \
    X(VNAT_DROP_TCP_UNACCEPTABLE, "tcp_unacceptable_segment")                                      \
    X(VNAT_DROP_TCP_NO_FLOW, "tcp_no_flow")                                                        \
    X(VNAT_DROP_POLICY, "policy_denied")                                                           \
    X(VNAT_DROP_FLOW_LIMIT, "flow_limit")                                                          \
    X(VNAT_DROP_RATE_LIMIT, "rate_limit")                                                          \
    X(VNAT_DROP_HOST_ERROR, "host_error")                                                          \
    X(VNAT_DROP_DHCP_MALFORMED, "dhcp_malformed")                                                  \
    X(VNAT_DROP_DNS_MALFORMED, "dns_malformed")                                                    \
    X(VNAT_DROP_ICMP_UNSUPPORTED, "icmp_unsupported")                                              \
    X(VNAT_DROP_LINK_FULL, "link_full")                                                            \
    X(VNAT_DROP_OTHER, "other")

enum vnat_drop_reason {
#define VNAT_X_ENUM(name, text) name,
    VNAT_DROP_REASONS(VNAT_X_ENUM)
#undef VNAT_X_ENUM
        VNAT_DROP__COUNT
};
const char *vnat_drop_reason_name(int reason);

/* Why the core sent a RST to the guest. Append only. */
#define VNAT_RST_REASONS(X)                                                                        \
    X(VNAT_RST_NO_FLOW, "no_flow")                                                                 \
    X(VNAT_RST_CONNECT_FAILED, "connect_failed")                                                   \
    X(VNAT_RST_CONNECT_TIMEOUT, "connect_timeout")                                                 \
    X(VNAT_RST_HOST_RESET, "host_reset")                                                           \
    X(VNAT_RST_IDLE_TIMEOUT, "idle_timeout")                                                       \
    X(VNAT_RST_CLOSING_TIMEOUT, "closing_timeout")                                                 \
    X(VNAT_RST_FLOW_LIMIT, "flow_limit")                                                           \
    X(VNAT_RST_RATE_LIMIT, "rate_limit")                                                           \
    X(VNAT_RST_POLICY, "policy")                                                                   \
    X(VNAT_RST_BAD_HOST_RESULT, "bad_host_result")                                                 \
    X(VNAT_RST_RETRANSMIT_LIMIT, "retransmit_limit")                                               \
    X(VNAT_RST_SHUTDOWN, "shutdown")

enum vnat_rst_reason {
#define VNAT_X_ENUM(name, text) name,
    VNAT_RST_REASONS(VNAT_X_ENUM)
#undef VNAT_X_ENUM
        VNAT_RST__COUNT
};
const char *vnat_rst_reason_name(int reason);

/* TCP flow states (see docs/tcp-state-machine.md). Append only. */
#define VNAT_TCP_STATES(X)                                                                         \
    X(VNAT_TCP_CONNECTING, "connecting") /* host connect under way */                              \
    X(VNAT_TCP_SYN_RCVD, "syn_rcvd")     /* SYN-ACK sent to guest */                               \
    X(VNAT_TCP_SYN_SENT, "syn_sent")     /* inbound: SYN sent to guest */                          \
    X(VNAT_TCP_ESTABLISHED, "established")                                                         \
    X(VNAT_TCP_GUEST_FIN, "guest_fin") /* guest closed its side */                                 \
    X(VNAT_TCP_HOST_FIN, "host_fin")   /* host closed its side */                                  \
    X(VNAT_TCP_BOTH_FIN, "both_fin")   /* both closed, awaiting last ACK */                        \
    X(VNAT_TCP_CLOSED, "closed")

enum vnat_tcp_state {
#define VNAT_X_ENUM(name, text) name,
    VNAT_TCP_STATES(VNAT_X_ENUM)
#undef VNAT_X_ENUM
        VNAT_TCP__STATE_COUNT
};
const char *vnat_tcp_state_name(int state);

/* Counters. New fields are only ever appended. */
struct vnat_stats {
    uint64_t frames_in;           /* guest frames given to the core */
    uint64_t frames_out;          /* frames the guest link took */
    uint64_t frames_refused;      /* frames the guest link refused (lost) */
    uint64_t bytes_guest_to_host; /* payload bytes the host took */
    uint64_t bytes_host_to_guest; /* payload bytes the guest acknowledged */
    uint64_t drops[VNAT_DROP__COUNT];
    uint64_t rst_sent[VNAT_RST__COUNT];
    uint64_t rst_from_guest;
    uint64_t tcp_flows_by_state[VNAT_TCP__STATE_COUNT]; /* live flows now */
    uint64_t tcp_flows_total;                           /* ever created */
    uint64_t udp_flows;                                 /* live now */
    uint64_t icmp_flows;                                /* live now */
    uint64_t flows_live;                                /* all live flows now */
    uint64_t retransmits;                               /* host->guest segments sent again */
    uint64_t dup_acks_sent; /* duplicate ACKs answering segments we could not take */
    uint64_t zero_window_probes;
    uint64_t time_backwards;   /* events whose now was below the largest seen */
    uint64_t stale_tokens;     /* events naming a dead token */
    uint64_t bad_host_results; /* impossible host-operation results */
    uint64_t timers_fired;
    uint64_t dhcp_leases;
    uint64_t dns_queries;
    uint64_t dns_cache_hits;
    uint64_t arp_replies;
    uint64_t forwards_accepted;
    /* DNS answers dropped because they answer no query outstanding on their
     * flow (ID and question, byte for byte), or answer one a second time. */
    uint64_t dns_answers_unmatched;
    uint64_t dns_answers_duplicate;
    /* Flows freed to make room in a full table: the one lingering longest
     * after a clean TCP close, else the datagram flow idle longest (at
     * least 1 s). */
    uint64_t flows_reclaimed;
    /* Host connects that failed as unreachable (the guest got ICMP host or
     * net unreachable), and that timed out (the guest got nothing: its own
     * SYN retransmissions time out). */
    uint64_t tcp_connects_unreachable;
    uint64_t tcp_connects_timed_out;
    /* Guest MACs learned (VNAT_F_GUEST_MAC_FIXED unset): one per guest, the
     * first after creation and one after each vnat_reset_flows(). */
    uint64_t guest_macs_learned;
    /* Host datagrams larger than one guest frame, sent in IPv4 fragments. */
    uint64_t udp_fragmented;
    /* DNS answers larger than one guest frame, sent truncated (TC) so the
     * guest asks again over TCP. */
    uint64_t dns_truncated;
};

/* Copy the counters into *out. `size` is sizeof(*out) of the caller (fields
 * beyond it are not written). */
void vnat_get_stats(const vnat *nat, struct vnat_stats *out, size_t size);

/* Write a human-readable dump of every live flow into buf (NUL-terminated,
 * truncated to len). Returns the length the full dump needs (excluding the
 * NUL), like snprintf. Formatted by the core's own routines. */
size_t vnat_dump_flows(const vnat *nat, char *buf, size_t len);

/* Check every internal invariant. Returns 0 if all hold; otherwise nonzero
 * and a description of the first broken one in why (NUL-terminated, may be
 * NULL). The simulator calls it after every event. */
int vnat_check_invariants(const vnat *nat, char *why, size_t why_len);

/* The seed the instance was created with (0 for a NULL nat). */
uint64_t vnat_seed(const vnat *nat);

/* The guest's MAC in force, into mac: the one configured, or the one learned
 * (VNAT_F_GUEST_MAC_FIXED). Returns 1 when it is held (fixed, or learned),
 * 0 while the core is still learning it (mac is then guest_mac of the
 * configuration), -1 for a NULL argument. */
int vnat_guest_mac(const vnat *nat, uint8_t mac[6]);

#ifdef __cplusplus
}
#endif

#endif /* VNAT_VNAT_H */
