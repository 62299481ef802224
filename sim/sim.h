/*
 * sim.h — the simulator's world: configuration, the simulated host, the
 * guest link, the guest applications, and the run that ties them to a core.
 *
 * One run (struct sim_world) is single-threaded and a pure function of its
 * configuration (struct sim_config) and its random source: virtual time
 * comes from the event queue, every fault roll from the one sim_rng, every
 * stream salt from the seed. Nothing here reads a clock except the optional
 * wall-time measurement of cli.c/bench.c, which never feeds back into a run.
 *
 * Roles:
 *   host.c   the simulated host: destinations with behaviours, sockets with
 *            bounded buffers, the remote applications behind them, and the
 *            vnat_host_ops the core calls.
 *   inbound.c  port forwards: the clients behind the core's listeners and
 *            the guest's servers on forwarded ports (inbound.h).
 *   world.c  the run: the guest link (loss, duplication, reordering,
 *            corruption, delay, a bounded queue toward the guest), the guest
 *            stack (gtcp.c) and its applications, the core glue (events in,
 *            invariant check after each, ticks at the next deadline), the
 *            trace, and the end-of-run checks.
 *   scenario.c  the text format of sim/scenarios/NAME.scn (docs/scenarios.md).
 *   swarm.c  the seed-driven random configuration (docs/simulator.md).
 *   cli.c    `vnat sim ...`.
 */
#ifndef VNAT_SIM_SIM_H
#define VNAT_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <vnat/vnat.h>

#include "gsvc.h"
#include "gtcp.h"
#include "inbound.h"
#include "map.h"
#include "pattern.h"
#include "queue.h"
#include "rng.h"
#include "parse.h"
#include "trace.h"

#define SIM_MS ((uint64_t)1000000)
#define SIM_S ((uint64_t)1000000000)

/* ---- configuration ------------------------------------------------------ */

/* What a destination does with a connect. */
enum sim_connect {
    SC_ACCEPT = 0,  /* completes after latency */
    SC_REFUSE,      /* ECONNREFUSED after latency */
    SC_HOSTUNREACH, /* EHOSTUNREACH after latency */
    SC_NETUNREACH,  /* ENETUNREACH after latency */
    SC_FAIL_NOW,    /* tcp_connect itself returns -ENETUNREACH */
    SC_BLACKHOLE,   /* never completes */
};

/* When the remote application closes its sending side. */
enum sim_rclose {
    SR_EOF = 0, /* after it saw EOF and produced everything */
    SR_SENT,    /* as soon as it produced everything (half-close) */
    SR_NEVER,
};

struct sim_dest {
    struct vnat_sockaddr addr; /* port 0: any port of that address */
    uint8_t connect;           /* enum sim_connect */
    uint8_t rclose;            /* enum sim_rclose */
    bool echo;                 /* echo what it reads (excludes greeting/after_eof) */
    bool udp_echo;             /* answer datagrams */
    bool dns;                  /* answer DNS queries (A, one record) */
    uint8_t dns_answer[4];     /* the A record's address */
    uint64_t latency;          /* connect outcome after this */
    uint64_t owd;              /* one-way delay between socket and remote app */
    uint64_t greeting;         /* bytes produced as soon as connected */
    uint64_t after_eof;        /* bytes produced after EOF */
    uint64_t reset_after;      /* remote resets after receiving this many (0: never) */
    uint32_t sndbuf, rcvbuf;   /* the host socket's buffers */
    uint32_t read_chunk;       /* slow reader: bytes per read (0: all) */
    uint32_t dns_ttl;          /* seconds, in the DNS answer */
    uint64_t read_every;       /* slow reader: time between reads */
};

/* When the guest application closes. */
enum sim_gclose {
    SG_SENT = 0, /* after its data is acknowledged (and hold passed) */
    SG_EOF,      /* after the peer's FIN (and its data sent) */
    SG_NEVER,    /* never: stays open (idle) */
    SG_ABORT,    /* after its data is acknowledged: RST */
};

struct sim_flow_spec {
    uint32_t group;
    uint64_t start; /* relative to the run's start */
    struct vnat_sockaddr dst;
    uint64_t send;       /* bytes to send (>= 8: the stream header) */
    uint32_t rr;         /* split into rr request/response rounds (echo) */
    uint64_t hold;       /* wait before closing */
    uint8_t close;       /* enum sim_gclose */
    uint32_t rcvbuf;     /* guest receive buffer (0: stack default) */
    uint32_t read_chunk; /* guest slow reader: bytes per read (0: all) */
    uint64_t read_every;
};

enum sim_expect_op { SE_EQ, SE_NE, SE_LT, SE_LE, SE_GT, SE_GE };

struct sim_expect {
    char metric[64];
    uint8_t op;
    uint64_t value;
    int line;
};

struct sim_group {
    char name[32];
};

struct sim_link_cfg {
    uint32_t loss_ppm, dup_ppm, reorder_ppm, corrupt_ppm;
    uint64_t delay, jitter;
};

struct sim_config {
    char name[64];
    uint64_t seed;
    struct vnat_config core;
    uint64_t start_time;
    uint64_t duration;     /* virtual-time limit of the run */
    uint64_t max_events;   /* event-count limit */
    bool allow_time_limit; /* reaching the limit is not a failure */
    struct sim_link_cfg to_core, to_guest;
    uint32_t link_queue; /* frames in flight toward the guest before refusing */
    /* host */
    uint32_t max_sockets;
    uint32_t partial_ppm;  /* send() takes less than it could */
    uint32_t spurious_ppm; /* spurious readiness events */
    struct sim_dest *dests;
    uint32_t n_dests;
    struct sim_dest default_dest;
    /* guest */
    struct gtcp_cfg guest;
    bool arp_probe;
    /* The guest NIC's own MAC (`guest mac=`); unset: the core's guest_mac. */
    bool guest_mac_set;
    uint8_t guest_mac[6];
    struct sim_flow_spec *flows;
    uint32_t n_flows;
    uint32_t n_svcs; /* (placed to fill padding) */
    struct sim_group *groups;
    uint32_t n_groups;
    uint32_t cap_svcs;
    struct sim_expect *expects;
    uint32_t n_expects;
    uint32_t cap_rules;
    /* guest datagram services (gsvc.h) and the egress policy */
    struct gsvc_spec *svcs;  /* n_svcs of them */
    struct vnat_rule *rules; /* cfg->core.rules points here */
    struct gsvc_dhcp_spec dhcp;
    /* swarm: check each flow's outcome against what its destination allows */
    bool check_outcomes;
    bool verbose;         /* print every flow at the end of the run (replay --flows) */
    bool skip_invariants; /* `vnat sim hashes --fast`: no per-event invariant check (hash only) */
    /* forwards, inbound clients, guest servers (inbound.h) */
    struct sim_inbound_cfg *inbound;
    uint32_t cap_flows, cap_dests, cap_groups, cap_expects;
    /* `restore every=T [start=T] [count=N]`: snapshot the core and restore
     * it into fresh memory in sockets-kept mode (issue 12), first at start
     * (default: every) after start_time, then every T while other events
     * are pending, at most count times (0: no bound). */
    uint64_t restore_every, restore_start;
    uint32_t restore_count;
    uint32_t restore_pad_;
};

void sim_config_init(struct sim_config *cfg);
void sim_config_free(struct sim_config *cfg);
struct sim_dest *sim_config_add_dest(struct sim_config *cfg);
struct sim_flow_spec *sim_config_add_flow(struct sim_config *cfg);
int sim_config_add_group(struct sim_config *cfg, const char *name); /* index or -1 */
struct sim_expect *sim_config_add_expect(struct sim_config *cfg);

/* ---- the simulated host ---------------------------------------------------- */

struct sim_ring {
    uint8_t *buf;
    uint32_t cap, head, len;
};

enum hsock_kind { HS_TCP = 1, HS_LISTEN, HS_DGRAM };
enum hsock_state { HSS_CONNECTING = 1, HSS_OPEN, HSS_FAILED };

/* One remote endpoint, kept after its socket closed for the end checks. */
struct sim_remote {
    const struct sim_dest *dest;
    uint64_t salt;      /* of the stream it produces */
    uint64_t produced;  /* bytes written toward the core */
    uint64_t discarded; /* bytes the core consumed (acknowledged by the guest) */
    uint64_t received;  /* bytes read from the core */
    struct sim_verifier ver;
    uint64_t opened_at, closed_at;
    bool saw_eof;       /* the core shut down / closed gracefully */
    bool saw_reset;     /* the core closed abortively */
    bool did_reset;     /* the remote reset the connection */
    bool remote_closed; /* the remote shut its sending side */
    bool closed;        /* the core closed the socket */
    bool echo_closed_early;
    bool inbound; /* an inbound client (inbound.c), not a guest flow's peer */
};

struct hsock {
    bool used;
    uint8_t kind, state;
    bool tx_shut, rx_eof;
    bool pump_pending, notify_pending;
    bool edge_read, edge_write, edge_connect, edge_error;
    bool icmp;  /* datagram socket of kind VNAT_DGRAM_ICMP */
    bool bound; /* datagram socket of a UDP forward (inbound.c has its queue) */
    unsigned interest;
    int so_error; /* connect outcome, then a pending error (ECONNRESET) */
    int err;      /* error returned by peek/send after a remote reset */
    uint32_t serial;
    vnat_token tok;
    const struct sim_dest *dest;
    uint32_t remote; /* index into host.remotes */
    uint64_t next_read_at;
    struct sim_ring tx, rx;
    /* datagrams */
    uint64_t last_dgram_at; /* last datagram the core sent or received */
    uint32_t dg_count;
    uint8_t *dg_data[8];
    uint32_t dg_len[8];
};

/* What reached one destination (host.dest.N.* metrics); index n_dests is
 * the default destination. */
struct sim_dest_stats {
    uint64_t connects, dgram_sockets, datagrams, echoes, dns_queries;
    uint64_t closed_dgram, idle_min, idle_max; /* datagram sockets at close */
};

struct sim_host {
    struct hsock *socks;
    uint32_t cap;
    uint32_t open;
    uint32_t max_open;
    uint32_t serial;
    struct sim_map by_token;
    struct sim_remote *remotes;
    uint32_t n_remotes, cap_remotes;
    uint64_t connects, refused_emfile, partial_writes, spurious, notifications;
    uint64_t dgram_overflow; /* datagrams dropped: a socket's receive queue was full */
    /* Every token the core closed: a new socket named by one of them is a
     * failure (an event the embedder still holds for the old socket would
     * reach the new one). Grows with the sockets a run opens. */
    struct sim_map closed_tokens;
    struct sim_dest_stats *dstats; /* n_dests + 1 */
};

/* ---- the run --------------------------------------------------------------- */

struct sim_frame {
    struct sim_frame *next;
    uint32_t len;
    uint8_t data[];
};

struct sim_link_stats {
    uint64_t frames, lost, dup, corrupted, reordered, refused;
};

/* One guest flow at run time. */
struct sim_flow {
    struct gtcp_conn *conn;
    uint64_t salt;
    uint64_t start_at, established_at, done_at;
    uint64_t written; /* bytes handed to the stack */
    uint64_t rcv_total, snd_acked;
    uint32_t rr_done;
    uint8_t outcome; /* enum gtcp_outcome */
    bool started, established, fin_rcvd, hold_started, closed, verify_bad, read_pending;
    bool salt_matched;
    bool fin_acked; /* at GTE_DONE: our FIN was acknowledged (a timeout came in FIN_WAIT_2) */
    uint64_t learned_salt;
    uint64_t bad_off;
    uint16_t port; /* guest source port */
};

struct sim_world {
    const struct sim_config *cfg;
    struct sim_rng rng;
    struct sim_queue q;
    vnat *nat;
    void *nat_mem;
    struct vnat_host_ops ops;
    struct sim_host host;
    struct gtcp_stack guest;
    struct sim_flow *flows;
    struct gsvc *svc; /* guest datagram applications, NULL if none */
    /* link */
    struct sim_frame *free_frames;
    uint32_t frames_alloc, frames_max;
    size_t frame_cap;
    uint32_t to_guest_inflight;
    bool link_blocked, link_event_pending;
    struct sim_link_stats l_to_core, l_to_guest;
    /* core clock */
    uint64_t tick_at, tick_gen;
    bool in_core; /* a core call is under way (host ops must not re-enter) */
    /* trace */
    struct vnat_trace_hash th, th_kept;
    FILE *trace_text, *trace_bin;
    uint64_t records;
    /* outcome */
    uint64_t dgram_damage; /* frames other than TCP lost, corrupted or refused */
    bool failed, stop, time_limit_hit;
    char fail[1024];
    uint64_t events, core_calls, invariant_checks;
    uint64_t frames_checked;
    uint64_t end_time;
    struct vnat_stats core_stats;
    bool core_missing;
    struct sim_inbound *inb; /* inbound.c's run state (NULL without inbound config) */
    uint64_t restores;       /* snapshot-and-restore rounds done (`restore`) */
    uint64_t snapshot_bytes; /* the largest image taken */
};

struct sim_result {
    bool ok;
    char fail[1024];
    uint64_t hash;
    /* The hash of every record but the VNAT_LOG_RESTORE ones: what a
     * sockets-kept restore on the same clock must leave unchanged. */
    uint64_t hash_kept;
    uint64_t restores;
    uint64_t events, records, sim_time;
    uint64_t flows, complete, reset, refused, timeout, pending, aborted, unreachable;
    uint64_t bytes_to_host, bytes_to_guest;
};

/* Run one configuration. trace_text/trace_bin may be NULL. Returns 0 if the
 * run passed every check (and every expectation), 1 otherwise. */
int sim_run(const struct sim_config *cfg, FILE *trace_text, FILE *trace_bin, struct sim_result *res,
            FILE *report);

/* host.c */
int sim_host_init(struct sim_world *w);
void sim_host_free(struct sim_world *w);
void sim_host_ops(struct vnat_host_ops *ops);
void sim_host_on_event(struct sim_world *w, const struct sim_event *ev);
void sim_host_spurious(struct sim_world *w);
bool sim_host_metric(const struct sim_world *w, const char *m, uint64_t *out);

/* world.c, for host.c */
void sim_fail(struct sim_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_schedule(struct sim_world *w, uint64_t at, uint32_t kind, uint32_t arg, uint64_t id,
                  void *ptr);
void sim_core_readable(struct sim_world *w, vnat_token tok);
void sim_core_writable(struct sim_world *w, vnat_token tok, int so_error);
/* for inbound.c: a listener has connections; a public call was just made */
void sim_core_listener_ready(struct sim_world *w, vnat_token tok);
void sim_core_api(struct sim_world *w, const char *what);

enum sim_ev_kind {
    EV_TO_CORE = 1, /* ptr: frame for the core */
    EV_TO_GUEST,    /* ptr: frame for the guest */
    EV_LINK_WRITABLE,
    EV_TICK,         /* id: tick generation */
    EV_GUEST_TIMER,  /* arg: conn slot, id: conn gen */
    EV_FLOW_START,   /* arg: flow index */
    EV_FLOW_TIMER,   /* arg: flow index (hold / slow read) */
    EV_HOST_CONNECT, /* arg: socket slot, id: serial */
    EV_HOST_PUMP,
    EV_HOST_NOTIFY,
    EV_HOST_DGRAM,
    EV_SPURIOUS,
    EV_ARP_PROBE,
    EV_SVC,     /* arg: gsvc application, id: what (gsvc.c) */
    EV_INBOUND, /* inbound.c: id & 0xff is its operation */
    EV_RESTORE, /* `restore`: snapshot the core and restore it, sockets kept */
};

/* Metrics by name for expectations ("core.rst_sent.connect_timeout",
 * "group.outcome", ...). False if the name is unknown. */
bool sim_metric(const struct sim_world *w, const char *name, uint64_t *out);

/* Swarm outcome rules of the guest services and inbound clients (world.c
 * calls them after the TCP flows' rules). `damage`: frames the link lost,
 * corrupted or refused plus datagrams a full queue dropped; `clean`: none. Each returns the replies
 * its applications should have got and did not (world.c bounds their sum by the damage unless a
 * limit may bite) and fails the run at once on what no damage excuses. */
struct sim_svc_bounds {
    bool limits;         /* a host socket limit may bite */
    bool inbound_limits; /* that, or a TCP flow limit */
    bool lossy, clean;
    uint64_t damage;
    uint64_t dgram_budget; /* the part of the damage that is not TCP */
};
uint64_t gsvc_outcome_checks(struct sim_world *w, const struct sim_svc_bounds *b);
uint64_t sim_inbound_outcome_checks(struct sim_world *w, const struct sim_svc_bounds *b);
/* `replay --flows`: each application / forward / client and how it ended. */
void gsvc_report(const struct sim_world *w, FILE *out);
void sim_inbound_report(const struct sim_world *w, FILE *out);
/* The egress rules' decision (first match wins; ICMP is port 0). */
bool sim_policy_denies(const struct vnat_config *c, uint8_t proto, const struct vnat_sockaddr *dst);
/* The destination a host socket to `a` reaches (host.c's choice). */
const struct sim_dest *sim_find_dest(const struct sim_config *cfg, const struct vnat_sockaddr *a);

/* scenario.c */
int sim_scenario_load(const char *path, struct sim_config *cfg, char *err, size_t err_len);
int sim_scenario_parse(const char *text, const char *name, struct sim_config *cfg, char *err,
                       size_t err_len);

/* swarm.c */
void sim_swarm_config(struct sim_rng *r, uint64_t seed, struct sim_config *cfg);

/* cli.c */
int vnat_sim_main(int argc, char **argv);

#endif
