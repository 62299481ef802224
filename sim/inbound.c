/*
 * inbound.c — inbound port forwarding in the simulator (inbound.h): the
 * directives `forward`, `inbound` and `guest_serve`, the clients that reach
 * the core's listeners from the host side, the servers that answer them in
 * the guest, and the checks that tie both ends together.
 *
 * A TCP client "connects" at its start time: if no live listener of the core
 * is bound at its `via` address, it is refused (as a real host answers a SYN
 * to a closed port); otherwise it waits in that listener's accept queue, and
 * the listener is reported ready (level-triggered, as the real adapter
 * registers listeners) until the core has accepted everything. Once
 * accepted, the client is the remote application of an ordinary host socket
 * (host.c runs it from the struct sim_dest built here): it sends `send`
 * pattern bytes, checks every byte it gets back, and half-closes as its
 * `close` says. Closing a listener resets the connections still queued.
 *
 * A UDP client sends `datagrams` datagrams to a bound socket of the core,
 * each with an 8-byte header (client, index) and pattern bytes, and checks
 * the echo that comes back through the same socket, byte for byte.
 *
 * The guest's servers run on gtcp's passive open. Every SYN the core sends
 * to a served port is checked on its way to the guest: no ACK flag (the
 * core opens the connection, it answers nothing), and the source the guest
 * sees is the client's own address, or the gateway's for a loopback client.
 */
#include "inbound.h"

#include "sim.h"
#include "wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define INB_MAX_SERVES 8
#define INB_DGRAM_QUEUE 64 /* a bound socket's receive queue, in datagrams */
#define INB_MAX_DATAGRAMS 64
#define INB_PORT_BASE 40000 /* first ephemeral port of clients without from=...:PORT */

enum inb_mode { SV_ECHO = 0, SV_SINK, SV_SOURCE, SV_RESET };
enum inb_gclose { GV_FIN = 0, GV_SENT };

struct inb_fwd {
    struct vnat_forward fwd;
    uint64_t add_at, remove_at;
    bool at_add, at_remove;
};

struct inb_serve {
    uint16_t port;
    uint8_t proto;
    uint8_t mode;  /* enum inb_mode */
    uint8_t close; /* enum inb_gclose */
    uint64_t size; /* source: bytes sent; reset: RST after receiving this many */
    uint64_t hold; /* wait before closing */
};

struct inb_group {
    char name[32];
};

/* One client. TCP: `dest` is its remote application, run by host.c. */
struct inb_spec {
    uint32_t group;
    uint8_t proto;
    bool has_expect;
    uint64_t start;
    struct vnat_sockaddr via, from;
    uint64_t send, expect;
    uint32_t datagrams;
    uint64_t interval;
    struct sim_dest dest;
};

struct sim_inbound_cfg {
    struct inb_fwd *fwds;
    uint32_t n_fwds, cap_fwds;
    struct vnat_forward *core_fwds;
    uint32_t n_core, cap_core;
    struct inb_serve serves[INB_MAX_SERVES];
    uint32_t n_serves;
    struct inb_group *groups;
    uint32_t n_groups, cap_groups;
    struct inb_spec *specs;
    uint32_t n_specs, cap_specs;
};

/* ---- configuration ------------------------------------------------------------ */

static void *grow(void *arr, uint32_t n, uint32_t *cap, size_t elem)
{
    if (n < *cap)
        return arr;
    uint32_t ncap = *cap ? *cap * 2 : 8;
    void *p = realloc(arr, (size_t)ncap * elem);
    if (p == NULL)
        return NULL;
    *cap = ncap;
    return p;
}

void sim_inbound_cfg_free(struct sim_config *cfg)
{
    struct sim_inbound_cfg *ic = cfg->inbound;
    if (ic == NULL)
        return;
    free(ic->fwds);
    free(ic->core_fwds);
    free(ic->groups);
    free(ic->specs);
    free(ic);
    cfg->inbound = NULL;
    cfg->core.forwards = NULL;
    cfg->core.n_forwards = 0;
}

uint32_t sim_inbound_clients(const struct sim_config *cfg)
{
    return cfg->inbound ? cfg->inbound->n_specs : 0;
}

uint32_t sim_inbound_forwards(const struct sim_config *cfg)
{
    return cfg->inbound ? cfg->inbound->n_fwds : 0;
}

static struct sim_inbound_cfg *icfg(struct sim_config *cfg)
{
    if (cfg->inbound == NULL)
        cfg->inbound = calloc(1, sizeof *cfg->inbound);
    return cfg->inbound;
}

static bool proto_word(const char *w, uint8_t *proto)
{
    if (strcmp(w, "tcp") == 0)
        *proto = VNAT_PROTO_TCP;
    else if (strcmp(w, "udp") == 0)
        *proto = VNAT_PROTO_UDP;
    else
        return false;
    return true;
}

/* forward tcp|udp HOSTADDR:PORT guest_port=P [add_at=TIME] [remove_at=TIME] */
static bool dir_forward(struct sim_parser *p, struct sim_config *cfg, char **w, int n)
{
    struct inb_fwd f;
    memset(&f, 0, sizeof f);
    if (n < 4 || !proto_word(w[1], &f.fwd.proto))
        return sim_parse_fail(
            p, "forward tcp|udp HOSTADDR:PORT guest_port=P [add_at=] [remove_at=]", NULL);
    if (!sim_parse_sockaddr(p, w[2], SIM_PORT_REQUIRED, &f.fwd.host))
        return false;
    if (f.fwd.host.port == 0)
        return sim_parse_fail(p, "the forward's host port must be 1..65535", w[2]);
    for (int i = 3; i < n; i++) {
        char *k, *v;
        uint64_t x;
        if (!sim_parse_kv(p, w[i], &k, &v))
            return false;
        if (strcmp(k, "guest_port") == 0) {
            if (!sim_parse_num(p, v, SIM_NUM_NUMBER, 1, 65535, &x))
                return false;
            f.fwd.guest_port = (uint16_t)x;
        } else if (strcmp(k, "add_at") == 0) {
            if (!sim_parse_time(p, v, &f.add_at))
                return false;
            f.at_add = true;
        } else if (strcmp(k, "remove_at") == 0) {
            if (!sim_parse_time(p, v, &f.remove_at))
                return false;
            f.at_remove = true;
        } else {
            return sim_parse_fail(p, "unknown forward setting", k);
        }
    }
    if (f.fwd.guest_port == 0)
        return sim_parse_fail(p, "forward needs guest_port=P", NULL);
    if (f.at_add && f.at_remove && f.remove_at <= f.add_at)
        return sim_parse_fail(p, "remove_at must come after add_at", NULL);
    struct sim_inbound_cfg *ic = icfg(cfg);
    if (ic == NULL)
        return sim_parse_fail(p, "out of memory", NULL);
    struct inb_fwd *q = grow(ic->fwds, ic->n_fwds, &ic->cap_fwds, sizeof *q);
    if (q == NULL)
        return sim_parse_fail(p, "out of memory", NULL);
    ic->fwds = q;
    q[ic->n_fwds++] = f;
    if (!f.at_add) {
        /* Opened by vnat_create: part of the core's configuration. */
        struct vnat_forward *c = grow(ic->core_fwds, ic->n_core, &ic->cap_core, sizeof *c);
        if (c == NULL)
            return sim_parse_fail(p, "out of memory", NULL);
        ic->core_fwds = c;
        c[ic->n_core++] = f.fwd;
        cfg->core.forwards = ic->core_fwds;
        cfg->core.n_forwards = ic->n_core;
    }
    return true;
}

/* guest_serve PORT [tcp|udp] echo|sink|source=SIZE|reset_after=SIZE [close=fin|sent] [hold=T] */
static bool dir_serve(struct sim_parser *p, struct sim_config *cfg, char **w, int n)
{
    struct inb_serve s;
    memset(&s, 0, sizeof s);
    s.proto = VNAT_PROTO_TCP;
    uint64_t x;
    if (n < 3)
        return sim_parse_fail(p, "guest_serve PORT [tcp|udp] MODE [close=fin|sent] [hold=T]", NULL);
    if (!sim_parse_num(p, w[1], SIM_NUM_NUMBER, 1, 65535, &x))
        return false;
    s.port = (uint16_t)x;
    int i = 2;
    if (proto_word(w[i], &s.proto))
        i++;
    bool have_mode = false;
    for (; i < n; i++) {
        char *k, *v;
        if (strcmp(w[i], "echo") == 0 || strcmp(w[i], "sink") == 0) {
            s.mode = w[i][0] == 'e' ? SV_ECHO : SV_SINK;
            have_mode = true;
            continue;
        }
        if (!sim_parse_split(w[i], &k, &v))
            return sim_parse_fail(p, "unknown guest_serve word", w[i]);
        if (strcmp(k, "close") == 0) {
            static const char *const gclose[] = {"fin", "sent"}; /* enum inb_gclose */
            int c = 0;
            if (!sim_parse_choice(p, v, gclose, 2, "close must be fin or sent", &c))
                return false;
            s.close = (uint8_t)c;
            continue;
        }
        if (strcmp(k, "source") == 0 || strcmp(k, "reset_after") == 0) {
            if (!sim_parse_u64(p, v, &s.size))
                return false;
            s.mode = k[0] == 's' ? SV_SOURCE : SV_RESET;
            have_mode = true;
        } else if (strcmp(k, "hold") == 0) {
            if (!sim_parse_time(p, v, &s.hold))
                return false;
        } else {
            return sim_parse_fail(p, "unknown guest_serve setting", k);
        }
    }
    if (!have_mode)
        return sim_parse_fail(p, "guest_serve needs echo, sink, source=SIZE or reset_after=SIZE",
                              NULL);
    if (s.proto == VNAT_PROTO_UDP && s.mode != SV_ECHO)
        return sim_parse_fail(p, "a UDP guest server only echoes", NULL);
    if (s.mode == SV_SOURCE && s.size < SIM_PATTERN_HDR)
        return sim_parse_fail(p, "source must be at least 8 bytes (the stream header)", NULL);
    struct sim_inbound_cfg *ic = icfg(cfg);
    if (ic == NULL)
        return sim_parse_fail(p, "out of memory", NULL);
    for (uint32_t k = 0; k < ic->n_serves; k++)
        if (ic->serves[k].port == s.port && ic->serves[k].proto == s.proto)
            return sim_parse_fail(p, "port already served", w[1]);
    if (ic->n_serves == INB_MAX_SERVES)
        return sim_parse_fail(p, "at most 8 guest_serve lines", NULL);
    ic->serves[ic->n_serves++] = s;
    return true;
}

static int group_index(struct sim_config *cfg, struct sim_inbound_cfg *ic, const char *name)
{
    for (uint32_t g = 0; g < ic->n_groups; g++)
        if (strcmp(ic->groups[g].name, name) == 0)
            return (int)g;
    struct inb_group *p = grow(ic->groups, ic->n_groups, &ic->cap_groups, sizeof *p);
    if (p == NULL)
        return -1;
    ic->groups = p;
    (void)cfg;
    snprintf(p[ic->n_groups].name, sizeof p[0].name, "%s", name);
    return (int)ic->n_groups++;
}

/* inbound GROUP [tcp|udp] via=ADDR:PORT [from=ADDR[:PORT]] count= start= spacing= send=
 *         [expect=] [close=sent|eof|never] [reset_after=] [owd=] [datagrams=] [interval=] */
static bool dir_inbound(struct sim_parser *p, struct sim_config *cfg, char **w, int n)
{
    static const char *const reserved[] = {"all", "core", "host",     "guest",  "link",
                                           "run", "dhcp", "forwards", "inbound"};
    if (n < 2 || sim_parse_is_kv(w[1]))
        return sim_parse_fail(p, "inbound needs a group name first", NULL);
    for (size_t r = 0; r < sizeof reserved / sizeof reserved[0]; r++)
        if (strcmp(w[1], reserved[r]) == 0)
            return sim_parse_fail(p, "reserved group name", w[1]);
    for (uint32_t g = 0; g < cfg->n_groups; g++)
        if (strcmp(cfg->groups[g].name, w[1]) == 0)
            return sim_parse_fail(p, "already a flows group", w[1]);
    if (strlen(w[1]) >= sizeof((struct inb_group *)0)->name)
        return sim_parse_fail(p, "group name too long", w[1]);
    struct sim_inbound_cfg *ic = icfg(cfg);
    int g = ic ? group_index(cfg, ic, w[1]) : -1;
    if (g < 0)
        return sim_parse_fail(p, "out of memory", NULL);
    struct inb_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.group = (uint32_t)g;
    sp.proto = VNAT_PROTO_TCP;
    sp.send = 8;
    sp.datagrams = 1;
    sp.from.ip = vnat_ip4(198, 51, 100, 9);
    sp.dest = cfg->default_dest;
    sp.dest.connect = SC_ACCEPT;
    sp.dest.echo = false;
    sp.dest.udp_echo = false;
    sp.dest.after_eof = 0;
    sp.dest.reset_after = 0;
    sp.dest.read_chunk = 0;
    sp.dest.rclose = SR_SENT;
    uint32_t count = 1;
    uint64_t spacing = 0, x = 0;
    bool have_via = false;
    int i = 2;
    if (i < n && proto_word(w[i], &sp.proto))
        i++;
    for (; i < n; i++) {
        char *k, *v;
        if (!sim_parse_kv(p, w[i], &k, &v))
            return false;
        if (strcmp(k, "via") == 0) {
            if (!sim_parse_sockaddr(p, v, SIM_PORT_REQUIRED, &sp.via))
                return false;
            if (sp.via.port == 0)
                return sim_parse_fail(p, "the via port must be 1..65535", v);
            have_via = true;
            continue;
        }
        if (strcmp(k, "from") == 0) {
            if (!sim_parse_sockaddr(p, v, SIM_PORT_OPTIONAL, &sp.from))
                return false;
            continue;
        }
        if (strcmp(k, "close") == 0) {
            static const char *const rclose[] = {"eof", "sent", "never"}; /* enum sim_rclose */
            int c = 0;
            if (!sim_parse_choice(p, v, rclose, 3, "close must be sent, eof or never", &c))
                return false;
            sp.dest.rclose = (uint8_t)c;
            continue;
        }
        bool ok;
        if (strcmp(k, "count") == 0) {
            ok = sim_parse_u64(p, v, &x);
            count = x > 100000 ? 0 : (uint32_t)x;
        } else if (strcmp(k, "start") == 0) {
            ok = sim_parse_time(p, v, &sp.start);
        } else if (strcmp(k, "spacing") == 0) {
            ok = sim_parse_time(p, v, &spacing);
        } else if (strcmp(k, "send") == 0) {
            ok = sim_parse_u64(p, v, &sp.send);
        } else if (strcmp(k, "expect") == 0) {
            ok = sp.has_expect = sim_parse_u64(p, v, &sp.expect);
        } else if (strcmp(k, "reset_after") == 0) {
            ok = sim_parse_u64(p, v, &sp.dest.reset_after);
        } else if (strcmp(k, "owd") == 0) {
            ok = sim_parse_time(p, v, &sp.dest.owd);
        } else if (strcmp(k, "datagrams") == 0) {
            ok = sim_parse_u64(p, v, &x);
            sp.datagrams = x > INB_MAX_DATAGRAMS ? 0 : (uint32_t)x;
        } else if (strcmp(k, "interval") == 0) {
            ok = sim_parse_time(p, v, &sp.interval);
        } else {
            return sim_parse_fail(p, "unknown inbound setting", k);
        }
        if (!ok)
            return false;
    }
    if (!have_via)
        return sim_parse_fail(p, "inbound needs via=ADDR:PORT", NULL);
    if (count == 0 || ic->n_specs + count > 100000)
        return sim_parse_fail(p, "count must be 1..100000", NULL);
    if (sp.send < SIM_PATTERN_HDR)
        return sim_parse_fail(p, "send must be at least 8 bytes (the stream header)", NULL);
    if (sp.proto == VNAT_PROTO_UDP && (sp.send > 1400 || sp.datagrams == 0))
        return sim_parse_fail(p, "UDP: send at most 1400 bytes, datagrams 1..64", NULL);
    if (sp.from.port != 0 && (uint32_t)sp.from.port + count > 65536)
        return sim_parse_fail(p, "from port range runs past 65535", NULL);
    sp.dest.greeting = sp.send;
    for (uint32_t k = 0; k < count; k++) {
        struct inb_spec *q = grow(ic->specs, ic->n_specs, &ic->cap_specs, sizeof *q);
        if (q == NULL)
            return sim_parse_fail(p, "out of memory", NULL);
        ic->specs = q;
        struct inb_spec *s = &q[ic->n_specs];
        *s = sp;
        s->start = sp.start + (uint64_t)k * spacing;
        /* Distinct ports: the guest tells clients apart by them. */
        s->from.port = sp.from.port ? (uint16_t)(sp.from.port + k)
                                    : (uint16_t)(INB_PORT_BASE + ic->n_specs % 20000);
        ic->n_specs++;
    }
    return true;
}

int sim_inbound_directive(struct sim_parser *p, struct sim_config *cfg, char **w, int n)
{
    bool ok;
    if (strcmp(w[0], "forward") == 0)
        ok = dir_forward(p, cfg, w, n);
    else if (strcmp(w[0], "guest_serve") == 0)
        ok = dir_serve(p, cfg, w, n);
    else
        ok = dir_inbound(p, cfg, w, n);
    return ok ? 0 : -1;
}

/* ---- the run --------------------------------------------------------------------- */

enum inb_client_state {
    CS_IDLE = 0,
    CS_PENDING,  /* in a listener's accept queue */
    CS_ACCEPTED, /* the core accepted it: host.c runs it */
    CS_REFUSED,  /* no listener at its address */
    CS_DROPPED,  /* the listener closed while it was queued: reset */
    CS_SENDING,  /* UDP: datagrams under way */
};

struct inb_client {
    uint8_t st; /* enum inb_client_state */
    uint32_t remote;
    struct vnat_sockaddr addr;
    uint64_t salt; /* UDP payloads */
    uint32_t dg_sent, dg_refused;
    uint64_t dg_echoed; /* bit per datagram */
    uint64_t bytes_sent, bytes_received;
};

struct inb_dgram {
    uint8_t *data;
    uint32_t len;
    struct vnat_sockaddr from;
};

struct inb_listener {
    vnat_token tok;
    struct vnat_sockaddr addr;
    uint8_t proto;
    bool live, notify_pending;
    uint32_t *pend; /* accept queue: client indices */
    uint32_t p_head, p_len, p_cap;
    struct inb_dgram dq[INB_DGRAM_QUEUE];
    uint32_t dq_head, dq_len;
};

/* One passively opened guest connection. */
struct inb_gconn {
    struct gtcp_conn *conn; /* NULL once done */
    const struct inb_serve *sv;
    uint8_t rip[4];
    uint16_t rport;
    uint8_t outcome;
    bool has_salt, closing, aborting;
    uint64_t salt; /* of the stream the client sent, learned from its header */
    uint64_t written, rcv_total;
};

struct sim_inbound {
    const struct sim_inbound_cfg *ic;
    struct inb_client *clients;
    struct inb_listener *ls;
    uint32_t n_ls, cap_ls;
    struct inb_gconn *gc;
    uint32_t n_gc, cap_gc;
    uint64_t fwd_added, fwd_removed, fwd_failed;
    uint64_t syn_seen, syn_with_ack, guest_unaccepted, guest_dgrams, dgrams_dropped;
};

enum inb_op {
    OP_START = 1,  /* arg: client */
    OP_NOTIFY,     /* arg: listener */
    OP_FWD_ADD,    /* arg: forward */
    OP_FWD_REMOVE, /* arg: forward */
    OP_DG_SEND,    /* arg: client, id >> 8: datagram index */
    OP_DG_ECHO,    /* arg: client, id >> 8: length, ptr: the datagram */
    OP_GCLOSE,     /* arg: guest connection */
};

static void inb_schedule(struct sim_world *w, uint64_t at, uint32_t op, uint32_t arg, uint64_t aux,
                         void *ptr)
{
    sim_schedule(w, at, EV_INBOUND, arg, (aux << 8) | op, ptr);
}

int sim_inbound_init(struct sim_world *w)
{
    const struct sim_inbound_cfg *ic = w->cfg->inbound;
    if (ic == NULL)
        return 0;
    struct sim_inbound *in = calloc(1, sizeof *in);
    if (in == NULL)
        return -1;
    w->inb = in;
    in->ic = ic;
    /* Each forward opens at most one listener: one at creation or its
     * add_at; none more. */
    in->cap_ls = ic->n_fwds + 1;
    in->ls = calloc(in->cap_ls, sizeof *in->ls);
    in->clients = calloc(ic->n_specs + 1, sizeof *in->clients);
    in->cap_gc = ic->n_specs + 16;
    in->gc = calloc(in->cap_gc, sizeof *in->gc);
    if (in->ls == NULL || in->clients == NULL || in->gc == NULL)
        return -1;
    uint64_t t0 = w->cfg->start_time;
    for (uint32_t k = 0; k < ic->n_specs; k++) {
        struct inb_client *c = &in->clients[k];
        c->remote = UINT32_MAX;
        c->addr = ic->specs[k].from;
        c->salt = sim_mix64(w->cfg->seed ^ 0x696e626f756e64ull ^ ((uint64_t)k << 24)) | 1;
        inb_schedule(w, t0 + ic->specs[k].start, OP_START, k, 0, NULL);
    }
    for (uint32_t s = 0; s < ic->n_serves; s++)
        if (ic->serves[s].proto == VNAT_PROTO_TCP &&
            gtcp_listen(&w->guest, ic->serves[s].port) != 0)
            return -1;
    for (uint32_t f = 0; f < ic->n_fwds; f++) {
        if (ic->fwds[f].at_add)
            inb_schedule(w, t0 + ic->fwds[f].add_at, OP_FWD_ADD, f, 0, NULL);
        if (ic->fwds[f].at_remove)
            inb_schedule(w, t0 + ic->fwds[f].remove_at, OP_FWD_REMOVE, f, 0, NULL);
    }
    return 0;
}

static void listener_drop_queues(struct inb_listener *l, struct sim_inbound *in)
{
    for (uint32_t i = 0; i < l->p_len; i++)
        in->clients[l->pend[(l->p_head + i) % l->p_cap]].st = CS_DROPPED;
    l->p_len = 0;
    for (uint32_t i = 0; i < l->dq_len; i++)
        free(l->dq[(l->dq_head + i) % INB_DGRAM_QUEUE].data);
    in->dgrams_dropped += l->dq_len;
    l->dq_len = 0;
}

void sim_inbound_free(struct sim_world *w)
{
    struct sim_inbound *in = w->inb;
    if (in == NULL)
        return;
    for (uint32_t i = 0; in->ls && i < in->n_ls; i++) {
        listener_drop_queues(&in->ls[i], in);
        free(in->ls[i].pend);
    }
    free(in->ls);
    free(in->clients);
    free(in->gc);
    free(in);
    w->inb = NULL;
}

/* What the guest is shown for a host peer (docs/services.md): its own
 * address, or the gateway's for one the guest cannot be shown (loopback,
 * link-local, multicast, inside the guest's subnet, the gateway or DNS). */
static void visible_ip(const struct sim_world *w, const struct vnat_sockaddr *a, uint8_t out[4])
{
    const struct vnat_config *c = &w->cfg->core;
    const uint8_t *x = a->ip.addr;
    uint32_t mask = c->prefix_len ? ~0u << (32 - c->prefix_len) : 0;
    uint32_t ax = (uint32_t)x[0] << 24 | (uint32_t)x[1] << 16 | (uint32_t)x[2] << 8 | x[3];
    const uint8_t *g = c->guest_ip.addr;
    uint32_t gx = (uint32_t)g[0] << 24 | (uint32_t)g[1] << 16 | (uint32_t)g[2] << 8 | g[3];
    bool hidden = x[0] == 0 || x[0] == 127 || x[0] >= 224 || (x[0] == 169 && x[1] == 254) ||
                  (ax & mask) == (gx & mask) || memcmp(x, c->gateway_ip.addr, 4) == 0 ||
                  memcmp(x, c->dns_ip.addr, 4) == 0;
    memcpy(out, hidden ? c->gateway_ip.addr : x, 4);
}

static int client_by_port(const struct sim_inbound *in, uint8_t proto, uint16_t port)
{
    for (uint32_t k = 0; k < in->ic->n_specs; k++)
        if (in->ic->specs[k].proto == proto && in->clients[k].addr.port == port)
            return (int)k;
    return -1;
}

/* The guest sees a connection or datagram from rip:rport: it must be a
 * client's, shown as docs/services.md says. */
static void check_source(struct sim_world *w, uint8_t proto, const uint8_t rip[4], uint16_t rport,
                         const char *what)
{
    int k = client_by_port(w->inb, proto, rport);
    if (k < 0) {
        sim_fail(w, "inbound: the guest got %s from %u.%u.%u.%u:%u, no client's port", what, rip[0],
                 rip[1], rip[2], rip[3], rport);
        return;
    }
    uint8_t want[4];
    visible_ip(w, &w->inb->clients[k].addr, want);
    if (memcmp(want, rip, 4) != 0)
        sim_fail(w,
                 "inbound: the guest got %s of client %d from %u.%u.%u.%u, expected "
                 "%u.%u.%u.%u",
                 what, k, rip[0], rip[1], rip[2], rip[3], want[0], want[1], want[2], want[3]);
}

static struct inb_listener *listener_at(struct sim_inbound *in, uint8_t proto,
                                        const struct vnat_sockaddr *via)
{
    for (uint32_t i = 0; i < in->n_ls; i++) {
        struct inb_listener *l = &in->ls[i];
        bool any = l->addr.ip.addr[0] == 0 && l->addr.ip.addr[1] == 0 && l->addr.ip.addr[2] == 0 &&
                   l->addr.ip.addr[3] == 0;
        if (l->live && l->proto == proto && l->addr.port == via->port &&
            (any || memcmp(&l->addr.ip, &via->ip, sizeof via->ip) == 0))
            return l;
    }
    return NULL;
}

static struct inb_listener *listener_by_tok(struct sim_inbound *in, vnat_token tok)
{
    for (uint32_t i = 0; in && i < in->n_ls; i++)
        if (in->ls[i].live && in->ls[i].tok == tok)
            return &in->ls[i];
    return NULL;
}

static void kick_listener(struct sim_world *w, struct inb_listener *l)
{
    if (l->notify_pending)
        return;
    l->notify_pending = true;
    inb_schedule(w, w->q.now, OP_NOTIFY, (uint32_t)(l - w->inb->ls), 0, NULL);
}

/* Level-triggered, like the real adapter's listeners: reported again while
 * something is queued and the core made progress (a core that takes nothing
 * is woken by the next arrival instead of spinning). */
static void listener_notify(struct sim_world *w, uint32_t idx)
{
    struct inb_listener *l = &w->inb->ls[idx];
    l->notify_pending = false;
    if (!l->live)
        return;
    uint32_t before = l->proto == VNAT_PROTO_TCP ? l->p_len : l->dq_len;
    if (before == 0)
        return;
    if (l->proto == VNAT_PROTO_TCP)
        sim_core_listener_ready(w, l->tok);
    else
        sim_core_readable(w, l->tok);
    uint32_t after = l->proto == VNAT_PROTO_TCP ? l->p_len : l->dq_len;
    if (l->live && after > 0 && after < before)
        kick_listener(w, l);
}

static void client_start(struct sim_world *w, uint32_t k)
{
    struct sim_inbound *in = w->inb;
    const struct inb_spec *sp = &in->ic->specs[k];
    struct inb_client *c = &in->clients[k];
    if (sp->proto == VNAT_PROTO_UDP) {
        c->st = CS_SENDING;
        inb_schedule(w, w->q.now, OP_DG_SEND, k, 0, NULL);
        return;
    }
    struct inb_listener *l = listener_at(in, VNAT_PROTO_TCP, &sp->via);
    if (l == NULL) {
        c->st = CS_REFUSED;
        return;
    }
    l->pend[(l->p_head + l->p_len) % l->p_cap] = k;
    l->p_len++;
    c->st = CS_PENDING;
    kick_listener(w, l);
}

static void dgram_fill(const struct inb_client *c, uint32_t k, uint32_t j, uint8_t *buf,
                       uint64_t len)
{
    for (int b = 0; b < 4; b++) {
        buf[b] = (uint8_t)(k >> (8 * b));
        buf[4 + b] = (uint8_t)(j >> (8 * b));
    }
    sim_pattern_fill(c->salt, (uint64_t)j * len + 8, buf + 8, len - 8);
}

static void dgram_send(struct sim_world *w, uint32_t k, uint32_t j)
{
    struct sim_inbound *in = w->inb;
    const struct inb_spec *sp = &in->ic->specs[k];
    struct inb_client *c = &in->clients[k];
    if (j + 1 < sp->datagrams)
        inb_schedule(w, w->q.now + sp->interval, OP_DG_SEND, k, j + 1, NULL);
    c->dg_sent++;
    struct inb_listener *l = listener_at(in, VNAT_PROTO_UDP, &sp->via);
    if (l == NULL) {
        c->dg_refused++; /* port unreachable */
        return;
    }
    if (l->dq_len == INB_DGRAM_QUEUE) {
        in->dgrams_dropped++; /* the socket's receive queue is full */
        return;
    }
    uint8_t *d = malloc(sp->send);
    if (d == NULL) {
        sim_fail(w, "inbound: out of memory");
        return;
    }
    dgram_fill(c, k, j, d, sp->send);
    struct inb_dgram *q = &l->dq[(l->dq_head + l->dq_len) % INB_DGRAM_QUEUE];
    q->data = d;
    q->len = (uint32_t)sp->send;
    q->from = c->addr;
    l->dq_len++;
    c->bytes_sent += sp->send;
    kick_listener(w, l);
}

static void dgram_echo(struct sim_world *w, uint32_t k, const uint8_t *data, uint32_t len)
{
    struct sim_inbound *in = w->inb;
    const struct inb_spec *sp = &in->ic->specs[k];
    struct inb_client *c = &in->clients[k];
    uint32_t kk = 0, j = 0;
    for (int b = 0; len >= 8 && b < 4; b++) {
        kk |= (uint32_t)data[b] << (8 * b);
        j |= (uint32_t)data[4 + b] << (8 * b);
    }
    bool ok = len == sp->send && kk == k && j < sp->datagrams;
    if (ok) {
        uint8_t want[1400];
        dgram_fill(c, k, j, want, len);
        ok = memcmp(want, data, len) == 0;
    }
    if (!ok) {
        sim_fail(w,
                 "inbound: UDP client %u got a %u-byte datagram that is not the echo of one "
                 "it sent",
                 k, len);
        return;
    }
    c->dg_echoed |= 1ull << j;
    c->bytes_received += len;
}

static void fwd_op(struct sim_world *w, uint32_t f, bool add)
{
    struct sim_inbound *in = w->inb;
    const struct vnat_forward *fw = &in->ic->fwds[f].fwd;
    vnat_err e =
        add ? vnat_forward_add(w->nat, w->q.now, fw) : vnat_forward_remove(w->nat, w->q.now, fw);
    sim_core_api(w, add ? "vnat_forward_add" : "vnat_forward_remove");
    if (e != VNAT_OK)
        in->fwd_failed++;
    else if (add)
        in->fwd_added++;
    else
        in->fwd_removed++;
}

void sim_inbound_on_event(struct sim_world *w, const struct sim_event *ev)
{
    struct sim_inbound *in = w->inb;
    uint32_t op = (uint32_t)(ev->id & 0xff);
    uint64_t aux = ev->id >> 8;
    if (in == NULL) {
        free(ev->ptr);
        return;
    }
    switch (op) {
    case OP_START:
        client_start(w, ev->arg);
        break;
    case OP_NOTIFY:
        listener_notify(w, ev->arg);
        break;
    case OP_FWD_ADD:
    case OP_FWD_REMOVE:
        fwd_op(w, ev->arg, op == OP_FWD_ADD);
        break;
    case OP_DG_SEND:
        dgram_send(w, ev->arg, (uint32_t)aux);
        break;
    case OP_DG_ECHO:
        dgram_echo(w, ev->arg, ev->ptr, (uint32_t)aux);
        free(ev->ptr);
        break;
    case OP_GCLOSE: {
        struct inb_gconn *g = &in->gc[ev->arg];
        if (g->conn == NULL)
            break;
        if (g->aborting)
            gtcp_abort(&w->guest, w->q.now, g->conn);
        else
            gtcp_close(&w->guest, w->q.now, g->conn);
        break;
    }
    default:
        free(ev->ptr);
        break;
    }
}

/* ---- host side ------------------------------------------------------------------- */

void sim_inbound_listen(struct sim_world *w, vnat_token tok, const struct vnat_sockaddr *local,
                        uint8_t proto)
{
    struct sim_inbound *in = w->inb;
    if (in == NULL)
        return;
    if (in->n_ls == in->cap_ls) {
        sim_fail(w, "inbound: more listeners opened than forwards configured");
        return;
    }
    struct inb_listener *l = &in->ls[in->n_ls];
    memset(l, 0, sizeof *l);
    l->p_cap = in->ic->n_specs + 1;
    l->pend = calloc(l->p_cap, sizeof *l->pend);
    if (l->pend == NULL) {
        sim_fail(w, "inbound: out of memory");
        return;
    }
    l->tok = tok;
    l->addr = *local;
    l->proto = proto;
    l->live = true;
    in->n_ls++;
}

void sim_inbound_unlisten(struct sim_world *w, vnat_token tok)
{
    struct inb_listener *l = listener_by_tok(w->inb, tok);
    if (l == NULL)
        return;
    l->live = false;
    listener_drop_queues(l, w->inb);
}

bool sim_inbound_next_pending(struct sim_world *w, vnat_token listener,
                              const struct sim_dest **dest, struct vnat_sockaddr *peer,
                              uint32_t *client)
{
    struct inb_listener *l = listener_by_tok(w->inb, listener);
    if (l == NULL || l->p_len == 0)
        return false;
    uint32_t k = l->pend[l->p_head];
    *dest = &w->inb->ic->specs[k].dest;
    *peer = w->inb->clients[k].addr;
    *client = k;
    return true;
}

void sim_inbound_accepted(struct sim_world *w, vnat_token listener, uint32_t client,
                          uint32_t remote)
{
    struct inb_listener *l = listener_by_tok(w->inb, listener);
    if (l == NULL || l->p_len == 0 || l->pend[l->p_head] != client)
        return;
    l->p_head = (l->p_head + 1) % l->p_cap;
    l->p_len--;
    w->inb->clients[client].st = CS_ACCEPTED;
    w->inb->clients[client].remote = remote;
}

long sim_inbound_dgram_recv(struct sim_world *w, vnat_token tok, uint8_t *buf, size_t cap,
                            struct vnat_sockaddr *from)
{
    struct inb_listener *l = listener_by_tok(w->inb, tok);
    if (l == NULL || l->dq_len == 0)
        return -EAGAIN;
    struct inb_dgram *q = &l->dq[l->dq_head];
    uint32_t len = q->len;
    memcpy(buf, q->data, len < cap ? len : cap);
    if (from)
        *from = q->from;
    free(q->data);
    q->data = NULL;
    l->dq_head = (l->dq_head + 1) % INB_DGRAM_QUEUE;
    l->dq_len--;
    return len;
}

long sim_inbound_dgram_send(struct sim_world *w, vnat_token tok, const uint8_t *buf, size_t len,
                            const struct vnat_sockaddr *to)
{
    struct sim_inbound *in = w->inb;
    if (listener_by_tok(in, tok) == NULL)
        return -EBADF;
    if (len > 65507)
        return -EMSGSIZE;
    int k = to ? client_by_port(in, VNAT_PROTO_UDP, to->port) : -1;
    if (k < 0 || memcmp(&in->clients[k].addr.ip, &to->ip, sizeof to->ip) != 0) {
        sim_fail(w, "inbound: the core sent a datagram from a forward to an address no client has");
        return -EINVAL;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return -ENOBUFS;
    memcpy(copy, buf, len);
    inb_schedule(w, w->q.now + in->ic->specs[k].dest.owd, OP_DG_ECHO, (uint32_t)k, len, copy);
    return (long)len;
}

/* ---- guest side ------------------------------------------------------------------- */

static const struct inb_serve *serve_at(const struct sim_inbound *in, uint8_t proto, uint16_t port)
{
    for (uint32_t s = 0; s < in->ic->n_serves; s++)
        if (in->ic->serves[s].proto == proto && in->ic->serves[s].port == port)
            return &in->ic->serves[s];
    return NULL;
}

void sim_inbound_to_guest(struct sim_world *w, const uint8_t *frame, size_t len)
{
    struct sim_inbound *in = w->inb;
    if (in == NULL || in->ic->n_serves == 0)
        return;
    struct vw_eth eth;
    struct vw_ipv4 ip;
    struct vw_tcp t;
    if (vw_eth_parse(frame, len, &eth) != VW_OK || eth.ethertype != VW_ETH_P_IPV4 ||
        vw_ipv4_parse(eth.payload, eth.payload_len, &ip) != VW_OK || ip.proto != VW_IPPROTO_TCP ||
        vw_tcp_parse(ip.payload, ip.payload_len, &t) != VW_OK)
        return;
    /* A frame the link corrupted is the guest's to drop, not a finding. */
    if (!(t.flags & VW_TCP_SYN) || serve_at(in, VNAT_PROTO_TCP, t.dport) == NULL ||
        !vw_l4_csum_ok4(ip.src, ip.dst, ip.proto, ip.payload, ip.payload_len))
        return;
    in->syn_seen++;
    if (t.flags & VW_TCP_ACK) {
        in->syn_with_ack++;
        sim_fail(w, "inbound: the core's SYN to guest port %u carries the ACK flag", t.dport);
        return;
    }
    check_source(w, VNAT_PROTO_TCP, ip.src, t.sport, "a SYN");
}

static void gconn_close_later(struct sim_world *w, uint32_t idx, uint64_t after)
{
    struct inb_gconn *g = &w->inb->gc[idx];
    if (g->closing)
        return;
    g->closing = true;
    inb_schedule(w, w->q.now + after, OP_GCLOSE, idx, 0, NULL);
}

static void gconn_accepted(struct sim_world *w, struct gtcp_conn *c)
{
    struct sim_inbound *in = w->inb;
    const struct inb_serve *sv = serve_at(in, VNAT_PROTO_TCP, c->lport);
    if (sv == NULL)
        return;
    if (in->n_gc == in->cap_gc) {
        struct inb_gconn *p = realloc(in->gc, 2 * (size_t)in->cap_gc * sizeof *p);
        if (p == NULL) {
            sim_fail(w, "inbound: out of memory");
            return;
        }
        in->gc = p;
        in->cap_gc *= 2;
    }
    uint32_t idx = in->n_gc++;
    struct inb_gconn *g = &in->gc[idx];
    memset(g, 0, sizeof *g);
    g->conn = c;
    g->sv = sv;
    memcpy(g->rip, c->rip, 4);
    g->rport = c->rport;
    c->user = idx + 1;
    check_source(w, VNAT_PROTO_TCP, c->rip, c->rport, "a connection");
    if (sv->mode == SV_SOURCE) {
        gtcp_write(&w->guest, w->q.now, c, sv->size);
        g->written = sv->size;
    }
}

void sim_inbound_guest_event(struct sim_world *w, struct gtcp_conn *c, enum gtcp_event ev)
{
    struct sim_inbound *in = w->inb;
    if (in == NULL)
        return;
    if (ev == GTE_ACCEPTED) {
        gconn_accepted(w, c);
        return;
    }
    if (c->user == 0 || c->user > in->n_gc) {
        if (ev == GTE_DONE)
            in->guest_unaccepted++; /* the handshake never completed */
        return;
    }
    uint32_t idx = (uint32_t)(c->user - 1);
    struct inb_gconn *g = &in->gc[idx];
    const struct inb_serve *sv = g->sv;
    switch (ev) {
    case GTE_DATA:
        if (c->ver.bad) {
            sim_fail(w,
                     "inbound: guest connection %u: the stream from the client is wrong at byte "
                     "%" PRIu64,
                     idx, c->ver.bad_off);
            return;
        }
        gtcp_consume(&w->guest, w->q.now, c, c->rcv_used);
        g->rcv_total = c->rcv_total;
        if (sim_verifier_has_salt(&c->ver)) {
            g->has_salt = true;
            g->salt = c->ver.salt;
        }
        if (sv->mode == SV_ECHO && c->rcv_total > g->written) {
            gtcp_write(&w->guest, w->q.now, c, c->rcv_total - g->written);
            g->written = c->rcv_total;
        }
        if (sv->mode == SV_RESET && c->rcv_total >= sv->size && !g->aborting) {
            g->aborting = true;
            g->closing = false;
            gconn_close_later(w, idx, 0);
        }
        break;
    case GTE_ACKED:
        if (sv->close == GV_SENT && gtcp_all_acked(c) && g->written == c->snd_limit)
            gconn_close_later(w, idx, sv->hold);
        break;
    case GTE_PEER_FIN:
        if (sv->close == GV_FIN)
            gconn_close_later(w, idx, sv->hold);
        break;
    case GTE_DONE:
        g->outcome = c->outcome;
        g->rcv_total = c->rcv_total;
        g->written = c->snd_limit;
        g->conn = NULL;
        break;
    default:
        break;
    }
}

bool sim_inbound_guest_udp(struct sim_world *w, const uint8_t src[4], uint16_t sport,
                           uint16_t dport, const uint8_t *data, size_t len)
{
    struct sim_inbound *in = w->inb;
    if (in == NULL || serve_at(in, VNAT_PROTO_UDP, dport) == NULL)
        return false;
    in->guest_dgrams++;
    check_source(w, VNAT_PROTO_UDP, src, sport, "a datagram");
    gtcp_udp_send(&w->guest, w->q.now, src, dport, sport, data, len);
    return true;
}

/* ---- outcomes, checks, metrics ---------------------------------------------------- */

static const struct sim_remote *client_remote(const struct sim_world *w, uint32_t k)
{
    uint32_t r = w->inb->clients[k].remote;
    return r < w->host.n_remotes ? &w->host.remotes[r] : NULL;
}

/* As the client sees it: the names of enum gtcp_outcome. */
static int client_outcome(const struct sim_world *w, uint32_t k)
{
    const struct inb_spec *sp = &w->inb->ic->specs[k];
    const struct inb_client *c = &w->inb->clients[k];
    if (sp->proto == VNAT_PROTO_UDP) {
        uint64_t all = sp->datagrams == 64 ? ~0ull : (1ull << sp->datagrams) - 1;
        if (c->dg_echoed == all)
            return GO_COMPLETE;
        return c->dg_echoed == 0 && c->dg_refused > 0 ? GO_REFUSED : GO_NONE;
    }
    if (c->st == CS_REFUSED)
        return GO_REFUSED;
    if (c->st == CS_DROPPED)
        return GO_RESET;
    const struct sim_remote *r = client_remote(w, k);
    if (r == NULL)
        return GO_NONE;
    if (r->did_reset)
        return GO_ABORTED;
    if (r->saw_reset)
        return GO_RESET;
    bool all_in = !sp->has_expect || r->received == sp->expect;
    if (r->closed && r->saw_eof && r->remote_closed && r->produced == sp->send &&
        r->discarded == sp->send && all_in)
        return GO_COMPLETE;
    return GO_NONE;
}

void sim_inbound_end_checks(struct sim_world *w)
{
    struct sim_inbound *in = w->inb;
    if (in == NULL)
        return;
    for (uint32_t k = 0; k < in->ic->n_specs && !w->failed; k++) {
        const struct inb_spec *sp = &in->ic->specs[k];
        const struct sim_remote *r = client_remote(w, k);
        if (sp->proto != VNAT_PROTO_TCP || r == NULL)
            continue;
        if (!r->closed || !r->saw_eof || r->saw_reset || r->did_reset)
            continue;
        /* A clean end: both streams whole, each way. */
        const struct inb_gconn *g = NULL;
        for (uint32_t i = 0; i < in->n_gc && g == NULL; i++)
            if (in->gc[i].has_salt && in->gc[i].salt == r->salt)
                g = &in->gc[i];
        if (g == NULL) {
            sim_fail(w, "inbound client %u ended cleanly but no guest connection got its stream",
                     k);
        } else if (g->rcv_total != sp->send || r->discarded != sp->send) {
            sim_fail(w,
                     "inbound client %u ended cleanly but the guest got %" PRIu64 " of its %" PRIu64
                     " bytes (the core took %" PRIu64 ")",
                     k, g->rcv_total, sp->send, r->discarded);
        } else if (r->received != g->written) {
            sim_fail(w,
                     "inbound client %u saw EOF after %" PRIu64 " of the %" PRIu64
                     " bytes the guest sent",
                     k, r->received, g->written);
        } else if (sp->has_expect && r->received != sp->expect) {
            sim_fail(w, "inbound client %u received %" PRIu64 " bytes, expected %" PRIu64, k,
                     r->received, sp->expect);
        }
    }
}

static bool group_metric(const struct sim_world *w, uint32_t g, const char *m, uint64_t *out)
{
    const struct sim_inbound *in = w->inb;
    int outcome = -1;
    for (int o = 0; o < GO__COUNT; o++)
        if (strcmp(m, gtcp_outcome_name(o)) == 0)
            outcome = o;
    bool known = outcome >= 0 || strcmp(m, "clients") == 0 || strcmp(m, "accepted") == 0 ||
                 strcmp(m, "bytes_sent") == 0 || strcmp(m, "bytes_received") == 0 ||
                 strcmp(m, "datagrams_echoed") == 0;
    if (!known)
        return false;
    uint64_t v = 0;
    for (uint32_t k = 0; k < in->ic->n_specs; k++) {
        if (in->ic->specs[k].group != g)
            continue;
        const struct inb_client *c = &in->clients[k];
        const struct sim_remote *r = client_remote(w, k);
        if (outcome >= 0)
            v += client_outcome(w, k) == outcome;
        else if (strcmp(m, "clients") == 0)
            v++;
        else if (strcmp(m, "accepted") == 0)
            v += c->st == CS_ACCEPTED;
        else if (strcmp(m, "bytes_sent") == 0)
            v += r ? r->discarded : c->bytes_sent;
        else if (strcmp(m, "bytes_received") == 0)
            v += r ? r->received : c->bytes_received;
        else
            v += (uint64_t)__builtin_popcountll(c->dg_echoed);
    }
    *out = v;
    return true;
}

int sim_inbound_metric(const struct sim_world *w, const char *name, uint64_t *out)
{
    const struct sim_inbound *in = w->inb;
    if (in == NULL)
        return 0;
    const char *dot = strchr(name, '.');
    if (dot == NULL)
        return 0;
    size_t glen = (size_t)(dot - name);
    const char *m = dot + 1;
    if (glen == 8 && strncmp(name, "forwards", 8) == 0) {
        if (strcmp(m, "added") == 0)
            *out = in->fwd_added;
        else if (strcmp(m, "removed") == 0)
            *out = in->fwd_removed;
        else if (strcmp(m, "failed") == 0)
            *out = in->fwd_failed;
        else
            return -1;
        return 1;
    }
    if (glen == 7 && strncmp(name, "inbound", 7) == 0) {
        uint64_t oc[GO__COUNT] = {0};
        for (uint32_t i = 0; i < in->n_gc; i++)
            oc[in->gc[i].outcome]++;
        if (strcmp(m, "syn_seen") == 0)
            *out = in->syn_seen;
        else if (strcmp(m, "syn_with_ack") == 0)
            *out = in->syn_with_ack;
        else if (strcmp(m, "guest_accepted") == 0)
            *out = in->n_gc;
        else if (strcmp(m, "guest_unaccepted") == 0)
            *out = in->guest_unaccepted;
        else if (strcmp(m, "guest_complete") == 0)
            *out = oc[GO_COMPLETE];
        else if (strcmp(m, "guest_reset") == 0)
            *out = oc[GO_RESET];
        else if (strcmp(m, "guest_aborted") == 0)
            *out = oc[GO_ABORTED];
        else if (strcmp(m, "guest_datagrams") == 0)
            *out = in->guest_dgrams;
        else if (strcmp(m, "datagrams_dropped") == 0)
            *out = in->dgrams_dropped;
        else
            return -1;
        return 1;
    }
    for (uint32_t g = 0; g < in->ic->n_groups; g++)
        if (strlen(in->ic->groups[g].name) == glen &&
            strncmp(in->ic->groups[g].name, name, glen) == 0)
            return group_metric(w, g, m, out) ? 1 : -1;
    return 0;
}

/* ---- swarm outcome rules ------------------------------------------------------------ */

/* Is a forward for (proto, via) in place at time t (relative to the start)?
 * From the configuration: always; added at run time: from add_at until
 * remove_at. (A failed add leaves none: that needs a limit, see below.) */
static bool forward_live(const struct sim_inbound_cfg *ic, uint8_t proto,
                         const struct vnat_sockaddr *via, uint64_t t)
{
    for (uint32_t f = 0; f < ic->n_fwds; f++) {
        const struct inb_fwd *x = &ic->fwds[f];
        const uint8_t *a = x->fwd.host.ip.addr;
        bool any = a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0;
        if (x->fwd.proto != proto || x->fwd.host.port != via->port ||
            (!any && memcmp(&x->fwd.host.ip, &via->ip, sizeof via->ip) != 0))
            continue;
        if ((!x->at_add || t >= x->add_at) && (!x->at_remove || t < x->remove_at))
            return true;
    }
    return false;
}

#define INB_EDGE (50 * SIM_MS) /* a client this close to an add/remove may go either way */

uint64_t sim_inbound_outcome_checks(struct sim_world *w, const struct sim_svc_bounds *b)
{
    struct sim_inbound *in = w->inb;
    if (in == NULL)
        return 0;
    const struct sim_inbound_cfg *ic = in->ic;
    uint64_t missing = 0;
    for (uint32_t k = 0; k < ic->n_specs && !w->failed; k++) {
        const struct inb_spec *sp = &ic->specs[k];
        const struct inb_client *c = &in->clients[k];
        uint64_t t0 = sp->start;
        uint64_t t1 = sp->proto == VNAT_PROTO_UDP
                          ? sp->start + (uint64_t)(sp->datagrams - 1) * sp->interval + INB_EDGE
                          : sp->start + INB_EDGE;
        bool live0 = forward_live(ic, sp->proto, &sp->via, t0);
        bool live1 = forward_live(ic, sp->proto, &sp->via, t1);
        int oc = client_outcome(w, k);
        unsigned ok = ~0u; /* bit per outcome */
        if (!live0 && !live1) {
            /* No listener: a TCP SYN is refused, a datagram gets port
             * unreachable; no link or limit is involved. */
            ok = 1u << GO_REFUSED;
        } else if (live0 && live1 && !b->inbound_limits && sp->proto == VNAT_PROTO_TCP) {
            uint16_t gport = 0;
            for (uint32_t f = 0; f < ic->n_fwds; f++)
                if (ic->fwds[f].fwd.proto == VNAT_PROTO_TCP &&
                    ic->fwds[f].fwd.host.port == sp->via.port)
                    gport = ic->fwds[f].fwd.guest_port;
            const struct inb_serve *sv = serve_at(in, VNAT_PROTO_TCP, gport);
            bool resets = sv != NULL && sv->mode == SV_RESET && sp->send > sv->size;
            /* Clean: the exchange completes, or the guest server's reset
             * reaches the client. Otherwise the core may also give up the
             * SYN it sends the guest (connect_timeout) and reset the client;
             * a clean end with missing bytes stays a failure (end checks). */
            ok = resets ? 1u << GO_RESET : 1u << GO_COMPLETE;
            if (!b->clean)
                ok |= 1u << GO_COMPLETE | 1u << GO_RESET;
            if (sv == NULL)
                ok = 1u << GO_RESET | 1u << GO_REFUSED; /* no guest server: its RST */
        } else if (live0 && live1 && !b->inbound_limits) {
            /* UDP: every echo, less what the damage excuses (world.c). */
            uint64_t echoed = (uint64_t)__builtin_popcountll(c->dg_echoed);
            missing += sp->datagrams - (echoed < sp->datagrams ? echoed : sp->datagrams);
            if (c->dg_refused != 0)
                sim_fail(w, "inbound UDP client %u was refused %u times by a live forward", k,
                         c->dg_refused);
        }
        if (!w->failed && !(ok & (1u << oc)))
            sim_fail(w,
                     "inbound client %u (%s, via port %u, start %" PRIu64
                     "ms, forward %s) ended %s, which the run does not allow",
                     k, sp->proto == VNAT_PROTO_UDP ? "udp" : "tcp", sp->via.port,
                     sp->start / SIM_MS,
                     live0 && live1     ? "live"
                     : !live0 && !live1 ? "absent"
                                        : "changing",
                     gtcp_outcome_name(oc));
    }
    return missing;
}

void sim_inbound_report(const struct sim_world *w, FILE *out)
{
    const struct sim_inbound *in = w->inb;
    if (in == NULL)
        return;
    const struct sim_inbound_cfg *ic = in->ic;
    for (uint32_t f = 0; f < ic->n_fwds; f++) {
        const struct inb_fwd *x = &ic->fwds[f];
        fprintf(out, "  forward %s :%u -> guest %u add %" PRIu64 "ms remove %" PRIu64 "ms\n",
                x->fwd.proto == VNAT_PROTO_UDP ? "udp" : "tcp", x->fwd.host.port, x->fwd.guest_port,
                x->at_add ? x->add_at / SIM_MS : 0, x->at_remove ? x->remove_at / SIM_MS : 0);
    }
    static const char *const modes[] = {"echo", "sink", "source", "reset"};
    for (uint32_t v = 0; v < ic->n_serves; v++)
        fprintf(out, "  guest_serve %s %u %s size %" PRIu64 " close %s\n",
                ic->serves[v].proto == VNAT_PROTO_UDP ? "udp" : "tcp", ic->serves[v].port,
                modes[ic->serves[v].mode & 3], ic->serves[v].size,
                ic->serves[v].close == GV_SENT ? "sent" : "fin");
    for (uint32_t k = 0; k < ic->n_specs; k++) {
        const struct inb_spec *sp = &ic->specs[k];
        fprintf(out,
                "  inbound %2u %s via :%u start %" PRIu64 "ms send %" PRIu64
                " datagrams %u: %s, echoed %d\n",
                k, sp->proto == VNAT_PROTO_UDP ? "udp" : "tcp", sp->via.port, sp->start / SIM_MS,
                sp->send, sp->datagrams, gtcp_outcome_name(client_outcome(w, k)),
                __builtin_popcountll(in->clients[k].dg_echoed));
    }
}
