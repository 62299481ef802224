/*
 * slirp.c — the libslirp 4.x ABI on vnat's core. One Slirp is one core
 * instance plus the adapter's socket operations (host/sockops.c, reused as
 * they are: the same table `vnat run` and `vnat serve` use), driven by the
 * embedder's own loop instead of epoll:
 *
 *   slirp_input            -> vnat_on_guest_frame
 *   send_packet            <- the core's guest_send
 *   slirp_pollfds_fill     the descriptors the socket operations asked the
 *                          poller for (struct host_poller), with their
 *                          interest, and the timeout cut to the deadline
 *   slirp_pollfds_poll     readiness -> host_sock_event (the adapter's own
 *                          readiness-to-event mapping), then due timers
 *   timers                 one embedder timer armed for vnat_next_deadline()
 *                          (timer_new_opaque + slirp_handle_timer where the
 *                          embedder offers them, timer_new otherwise)
 *
 * The clock is the embedder's clock_get_ns (QEMU: its virtual clock), so the
 * core's timers stop while the VM is stopped, as libslirp's do. What vnat
 * does not do fails with a message through guest_error (and stderr) and an
 * error return, never a crash; every entry point takes a NULL Slirp (QEMU
 * does not check slirp_new's result). See docs/libslirp.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "adapter.h"
#include "internal.h"

#define VS_MAX_FWDS 64

struct vs_fd {
    uint64_t id;
    unsigned mask; /* HOST_POLL_* as the socket operations asked */
    bool used;
};

struct vs_fwd {
    struct vnat_forward f;
};

struct Slirp {
    struct host_io io; /* first: the socket operations' ctx is &io == this */
    struct vnat_host_ops ops;
    vnat *nat;
    void *nat_mem;
    SlirpCb cb; /* the caller's callbacks; members past its version zeroed */
    void *opaque;
    uint32_t version;
    struct vs_config conf;

    void *timer;
    int64_t timer_ms; /* the armed expiry (clock_get_ns / 1e6), INT64_MAX if none */
    bool link_refused;
    bool closing; /* slirp_cleanup: frames for the guest are dropped */

    struct vs_fd *fds; /* indexed by descriptor */
    size_t nfds;
    uint64_t *polled; /* ids handed to add_poll by the last fill, by its index */
    int *polled_idx;
    size_t npolled, cap_polled;

    struct vs_fwd fwds[VS_MAX_FWDS];
    size_t n_fwds;
    bool mac_learned, ip_learned;

    /* The library's own counters (VNAT_SLIRP_STATS). */
    uint64_t polls, poll_events, timer_fires, recreated;
};

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */
/* ------------------------------------------------------------------------ */

static void vs_vreport(const SlirpCb *cb, void *opaque, bool to_stderr, const char *fmt, va_list ap)
{
    char msg[512];
    int n = snprintf(msg, sizeof msg, "vnat-slirp: ");
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    if (cb != NULL && cb->guest_error != NULL)
        cb->guest_error(msg, opaque);
    if (to_stderr)
        fprintf(stderr, "%s\n", msg);
}

/* An error that makes a call fail: through guest_error (QEMU shows it with
 * -d guest_errors, slirp4netns always) and on stderr. */
static void vs_error(const SlirpCb *cb, void *opaque, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void vs_error(const SlirpCb *cb, void *opaque, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vs_vreport(cb, opaque, true, fmt, ap);
    va_end(ap);
}

/* A note (a setting accepted but not honoured): guest_error only. */
static void vs_note(const Slirp *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vs_note(const Slirp *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vs_vreport(&s->cb, s->opaque, false, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------------ */
/* Clock and timer                                                           */
/* ------------------------------------------------------------------------ */

static uint64_t vs_now(const Slirp *s)
{
    int64_t t = s->cb.clock_get_ns(s->opaque);
    return t > 0 ? (uint64_t)t : 0;
}

/* Arm the embedder's timer for the core's next deadline. A timer armed
 * earlier than needed is left alone (it fires, ticks harmlessly and re-arms);
 * with no deadline it is left as it is (there is no timer_del callback). */
static void vs_rearm(Slirp *s)
{
    if (s->nat == NULL || s->timer == NULL)
        return;
    uint64_t dl = vnat_next_deadline(s->nat);
    if (dl == UINT64_MAX)
        return;
    uint64_t ms = dl / 1000000u + (dl % 1000000u != 0);
    if (ms > (uint64_t)INT64_MAX / 2)
        return;
    if ((int64_t)ms >= s->timer_ms)
        return;
    s->timer_ms = (int64_t)ms;
    s->cb.timer_mod(s->timer, (int64_t)ms, s->opaque);
}

static void vs_on_timer(Slirp *s)
{
    s->timer_ms = INT64_MAX;
    s->timer_fires++;
    if (s->nat != NULL)
        (void)vnat_on_tick(s->nat, vs_now(s));
    vs_rearm(s);
}

static void vs_timer_cb(void *cb_opaque)
{
    vs_on_timer(cb_opaque);
}

void slirp_handle_timer(Slirp *slirp, SlirpTimerId id, void *cb_opaque)
{
    (void)id; /* the one timer there is; its cb_opaque is the Slirp */
    Slirp *s = slirp != NULL ? slirp : cb_opaque;
    if (s != NULL)
        vs_on_timer(s);
}

/* ------------------------------------------------------------------------ */
/* The poller the socket operations register with                            */
/* ------------------------------------------------------------------------ */

static int vs_poll_add(void *ctx, int fd, uint64_t id, unsigned mask)
{
    Slirp *s = ctx;
    if (fd < 0)
        return -EBADF;
    if ((size_t)fd >= s->nfds) {
        size_t n = s->nfds ? s->nfds : 64;
        while (n <= (size_t)fd)
            n *= 2;
        struct vs_fd *t = realloc(s->fds, n * sizeof *t);
        if (t == NULL)
            return -ENOMEM;
        memset(t + s->nfds, 0, (n - s->nfds) * sizeof *t);
        s->fds = t;
        s->nfds = n;
    }
    s->fds[fd] = (struct vs_fd){.id = id, .mask = mask, .used = true};
    if (s->cb.register_poll_fd != NULL)
        s->cb.register_poll_fd(fd, s->opaque);
    return 0;
}

static int vs_poll_mod(void *ctx, int fd, uint64_t id, unsigned mask)
{
    Slirp *s = ctx;
    if (fd < 0 || (size_t)fd >= s->nfds || !s->fds[fd].used)
        return -ENOENT;
    s->fds[fd].id = id;
    s->fds[fd].mask = mask;
    return 0;
}

static void vs_poll_del(void *ctx, int fd)
{
    Slirp *s = ctx;
    if (fd < 0 || (size_t)fd >= s->nfds || !s->fds[fd].used)
        return;
    s->fds[fd].used = false;
    if (s->cb.unregister_poll_fd != NULL)
        s->cb.unregister_poll_fd(fd, s->opaque);
}

static int to_slirp_events(unsigned mask)
{
    int ev = 0;
    if (mask & (HOST_POLL_IN | HOST_POLL_RDHUP))
        ev |= SLIRP_POLL_IN;
    if (mask & HOST_POLL_OUT)
        ev |= SLIRP_POLL_OUT;
    return ev;
}

static unsigned from_slirp_events(int ev)
{
    unsigned r = 0;
    if (ev & (SLIRP_POLL_IN | SLIRP_POLL_PRI))
        r |= HOST_POLL_IN;
    if (ev & SLIRP_POLL_OUT)
        r |= HOST_POLL_OUT;
    if (ev & SLIRP_POLL_HUP)
        r |= HOST_POLL_HUP | HOST_POLL_RDHUP;
    if (ev & SLIRP_POLL_ERR)
        r |= HOST_POLL_ERR;
    return r;
}

static bool vs_polled_push(Slirp *s, uint64_t id, int idx)
{
    if (s->npolled == s->cap_polled) {
        size_t n = s->cap_polled ? s->cap_polled * 2 : 64;
        uint64_t *p = realloc(s->polled, n * sizeof *p);
        if (p == NULL)
            return false;
        s->polled = p;
        int *q = realloc(s->polled_idx, n * sizeof *q);
        if (q == NULL)
            return false;
        s->polled_idx = q;
        s->cap_polled = n;
    }
    s->polled[s->npolled] = id;
    s->polled_idx[s->npolled] = idx;
    s->npolled++;
    return true;
}

void slirp_pollfds_fill(Slirp *slirp, uint32_t *timeout, SlirpAddPollCb add_poll, void *opaque)
{
    Slirp *s = slirp;
    if (s == NULL || add_poll == NULL)
        return;
    s->npolled = 0;
    for (size_t fd = 0; fd < s->nfds; fd++) {
        const struct vs_fd *e = &s->fds[fd];
        int ev = e->used ? to_slirp_events(e->mask) : 0;
        if (ev == 0)
            continue;
        int idx = add_poll((int)fd, ev, opaque);
        if (idx >= 0 && !vs_polled_push(s, e->id, idx))
            break;
    }
    if (timeout != NULL && s->nat != NULL) {
        uint64_t dl = vnat_next_deadline(s->nat), now = vs_now(s);
        if (dl != UINT64_MAX) {
            uint64_t ms = dl <= now ? 0 : (dl - now + 999999u) / 1000000u;
            if (ms < *timeout)
                *timeout = (uint32_t)ms;
        }
    }
}

void slirp_pollfds_poll(Slirp *slirp, int select_error, SlirpGetREventsCb get_revents, void *opaque)
{
    Slirp *s = slirp;
    if (s == NULL || s->nat == NULL)
        return;
    uint64_t now = vs_now(s);
    s->polls++;
    if (!select_error && get_revents != NULL) {
        /* The list is the fill's: a socket closed meanwhile names a dead
         * token, which host_sock_event counts and ignores. */
        for (size_t i = 0; i < s->npolled; i++) {
            unsigned ready = from_slirp_events(get_revents(s->polled_idx[i], opaque));
            if (ready != 0) {
                s->poll_events++;
                host_sock_event(&s->io, now, s->polled[i], ready);
            }
        }
    }
    s->npolled = 0;
    if (s->link_refused) {
        s->link_refused = false;
        (void)vnat_on_link_writable(s->nat, now);
    }
    if (vnat_next_deadline(s->nat) <= now)
        (void)vnat_on_tick(s->nat, now);
    vs_rearm(s);
}

/* ------------------------------------------------------------------------ */
/* Host operations that are the library's own                                */
/* ------------------------------------------------------------------------ */

static int vs_guest_send(void *ctx, const uint8_t *frame, size_t len)
{
    Slirp *s = ctx; /* &s->io, the first member */
    if (s->closing)
        return 0; /* the embedder is tearing its NIC down: no RSTs to it */
    if (s->cb.send_packet(frame, len, s->opaque) < 0) {
        s->link_refused = true; /* lost; vnat_on_link_writable at the next poll */
        return 1;
    }
    return 0;
}

static void vs_panic(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "vnat-slirp: core invariant failed: %s\n", msg ? msg : "(no message)");
    abort();
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                 */
/* ------------------------------------------------------------------------ */

static void *vs_alloc16(void *actx, size_t n)
{
    (void)actx;
    return aligned_alloc(16, (n + 15) & ~(size_t)15);
}

/* Create (or re-create, after learning the guest) the core from s->conf
 * and the forwards the library holds. */
static int vs_core_create(Slirp *s)
{
    struct vnat_forward fw[VS_MAX_FWDS];
    for (size_t i = 0; i < s->n_fwds; i++)
        fw[i] = s->fwds[i].f;
    struct vnat_config c = s->conf.cfg;
    c.rules = c.n_rules ? &s->conf.deny_all : NULL;
    c.forwards = s->n_fwds ? fw : NULL;
    c.n_forwards = (uint32_t)s->n_fwds;
    vnat *nat = NULL;
    vnat_err rc = vnat_create_alloc(&c, &s->ops, &s->io, vs_alloc16, NULL, &nat);
    if (rc != VNAT_OK) {
        vs_error(&s->cb, s->opaque, "cannot create the NAT: %s", vnat_strerror(rc));
        return -1;
    }
    s->nat = nat;
    s->nat_mem = vnat_memory_base(nat);
    s->io.nat = nat;
    return 0;
}

static void vs_core_destroy(Slirp *s)
{
    if (s->nat == NULL)
        return;
    vnat_shutdown(s->nat, vs_now(s));
    free(s->nat_mem);
    s->nat = NULL;
    s->nat_mem = NULL;
    s->io.nat = NULL;
}

static void vs_copy_callbacks(SlirpCb *out, const SlirpCb *in, uint32_t version)
{
    memset(out, 0, sizeof *out);
    size_t n = version >= 4 ? sizeof *out : offsetof(SlirpCb, init_completed);
    memcpy(out, in, n);
}

static int vs_check_callbacks(const SlirpCb *cb, void *opaque)
{
    const char *missing = cb->send_packet == NULL    ? "send_packet"
                          : cb->clock_get_ns == NULL ? "clock_get_ns"
                          : cb->timer_free == NULL   ? "timer_free"
                          : cb->timer_mod == NULL    ? "timer_mod"
                          : (cb->timer_new == NULL && cb->timer_new_opaque == NULL)
                              ? "timer_new (or timer_new_opaque)"
                              : NULL;
    if (missing == NULL)
        return 0;
    vs_error(cb, opaque, "the callback %s is missing", missing);
    return -1;
}

Slirp *slirp_new(const SlirpConfig *cfg, const SlirpCb *callbacks, void *opaque)
{
    if (callbacks == NULL || cfg == NULL) {
        vs_error(callbacks, opaque, "slirp_new: no %s given", cfg ? "callbacks" : "configuration");
        return NULL;
    }
    SlirpCb cb;
    uint32_t version = cfg->version;
    vs_copy_callbacks(&cb, callbacks, version);
    char why[256];
    struct vs_config conf;
    if (vs_config_map(cfg, &conf, why, sizeof why) < 0 ||
        (!conf.dns_disabled && vs_resolvers(&conf.cfg, why, sizeof why) < 0)) {
        vs_error(&cb, opaque, "bad configuration: %s", why);
        return NULL;
    }
    if (vs_check_callbacks(&cb, opaque) < 0)
        return NULL;
    Slirp *s = calloc(1, sizeof *s);
    if (s == NULL) {
        vs_error(&cb, opaque, "out of memory");
        return NULL;
    }
    s->cb = cb;
    s->opaque = opaque;
    s->version = version;
    s->conf = conf;
    s->timer_ms = INT64_MAX;
    if (getrandom(&s->conf.cfg.seed, sizeof s->conf.cfg.seed, 0) != sizeof s->conf.cfg.seed)
        s->conf.cfg.seed = (uint64_t)vs_now(s) ^ (uint64_t)getpid() << 32;
    s->ops = host_ops_table;
    s->ops.guest_send = vs_guest_send;
    s->ops.log = NULL;
    s->ops.panic = vs_panic;
    if (host_io_init(&s->io, s->conf.cfg.max_flows + s->conf.cfg.max_forwards + 16) < 0) {
        vs_error(&cb, opaque, "out of memory");
        host_io_fini(&s->io);
        free(s);
        return NULL;
    }
    s->io.poller =
        (struct host_poller){.ctx = s, .add = vs_poll_add, .mod = vs_poll_mod, .del = vs_poll_del};
    if (vs_core_create(s) < 0) {
        host_io_fini(&s->io);
        free(s);
        return NULL;
    }
    if (s->cb.init_completed != NULL)
        s->cb.init_completed(s, opaque);
    /* After init_completed: QEMU's timer_new_opaque reads the Slirp it set. */
    s->timer = s->cb.timer_new_opaque != NULL ? s->cb.timer_new_opaque(SLIRP_TIMER_RA, s, opaque)
                                              : s->cb.timer_new(vs_timer_cb, s, opaque);
    if (s->conf.outbound_addr_given)
        vs_note(s, "outbound_addr is accepted but not honoured: host sockets bind where the "
                   "kernel chooses");
    vs_rearm(s);
    return s;
}

Slirp *slirp_init(int restricted, bool in_enabled, struct in_addr vnetwork, struct in_addr vnetmask,
                  struct in_addr vhost, bool in6_enabled, struct in6_addr vprefix_addr6,
                  uint8_t vprefix_len, struct in6_addr vhost6, const char *vhostname,
                  const char *tftp_server_name, const char *tftp_path, const char *bootfile,
                  struct in_addr vdhcp_start, struct in_addr vnameserver,
                  struct in6_addr vnameserver6, const char **vdnssearch, const char *vdomainname,
                  const SlirpCb *callbacks, void *opaque)
{
    SlirpConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.version = 1;
    cfg.restricted = restricted;
    cfg.in_enabled = in_enabled;
    cfg.vnetwork = vnetwork;
    cfg.vnetmask = vnetmask;
    cfg.vhost = vhost;
    cfg.in6_enabled = in6_enabled;
    cfg.vprefix_addr6 = vprefix_addr6;
    cfg.vprefix_len = vprefix_len;
    cfg.vhost6 = vhost6;
    cfg.vhostname = vhostname;
    cfg.tftp_server_name = tftp_server_name;
    cfg.tftp_path = tftp_path;
    cfg.bootfile = bootfile;
    cfg.vdhcp_start = vdhcp_start;
    cfg.vnameserver = vnameserver;
    cfg.vnameserver6 = vnameserver6;
    cfg.vdnssearch = vdnssearch;
    cfg.vdomainname = vdomainname;
    return slirp_new(&cfg, callbacks, opaque);
}

/* VNAT_SLIRP_STATS=FILE: the core's counters and the library's, appended
 * at slirp_cleanup in the lines `vnat --stats` prints ("vnat:   NAME N"), so
 * one test reads both (host/tests/vm/run). */
static void vs_write_stats(const Slirp *s)
{
    const char *path = getenv("VNAT_SLIRP_STATS");
    if (path == NULL || s->nat == NULL)
        return;
    FILE *f = fopen(path, "ae");
    if (f == NULL)
        return;
    struct vnat_stats st;
    memset(&st, 0, sizeof st);
    vnat_get_stats(s->nat, &st, sizeof st);
    const struct {
        const char *name;
        uint64_t v;
    } rows[] = {
        {"frames_in", st.frames_in},
        {"frames_out", st.frames_out},
        {"frames_refused", st.frames_refused},
        {"tcp_flows_total", st.tcp_flows_total},
        {"flows_live", st.flows_live},
        {"retransmits", st.retransmits},
        {"dup_acks_sent", st.dup_acks_sent},
        {"stale_tokens", st.stale_tokens},
        {"bad_host_results", st.bad_host_results},
        {"timers_fired", st.timers_fired},
        {"dhcp_leases", st.dhcp_leases},
        {"dns_queries", st.dns_queries},
        {"arp_replies", st.arp_replies},
        {"forwards_accepted", st.forwards_accepted},
        {"dns_answers_unmatched", st.dns_answers_unmatched},
        {"dns_answers_duplicate", st.dns_answers_duplicate},
        {"flows_reclaimed", st.flows_reclaimed},
        {"tcp_connects_unreachable", st.tcp_connects_unreachable},
        {"tcp_connects_timed_out", st.tcp_connects_timed_out},
        {"slirp_polls", s->polls},
        {"slirp_poll_events", s->poll_events},
        {"slirp_timer_fires", s->timer_fires},
        {"slirp_recreated", s->recreated},
        {"sockets_opened", s->io.st.sockets_opened},
        {"send_short", s->io.st.send_short},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        fprintf(f, "vnat:   %-22s %llu\n", rows[i].name, (unsigned long long)rows[i].v);
    for (int i = 0; i < VNAT_DROP__COUNT; i++)
        if (st.drops[i] != 0)
            fprintf(f, "vnat:   drop %-17s %llu\n", vnat_drop_reason_name(i),
                    (unsigned long long)st.drops[i]);
    for (int i = 0; i < VNAT_RST__COUNT; i++)
        if (st.rst_sent[i] != 0)
            fprintf(f, "vnat:   rst %-18s %llu\n", vnat_rst_reason_name(i),
                    (unsigned long long)st.rst_sent[i]);
    fclose(f);
}

void slirp_cleanup(Slirp *slirp)
{
    Slirp *s = slirp;
    if (s == NULL)
        return;
    vs_write_stats(s);
    s->closing = true;
    vs_core_destroy(s);
    host_io_fini(&s->io);
    if (s->timer != NULL)
        s->cb.timer_free(s->timer, s->opaque);
    free(s->fds);
    free(s->polled);
    free(s->polled_idx);
    free(s);
}

/* ------------------------------------------------------------------------ */
/* The guest                                                                 */
/* ------------------------------------------------------------------------ */

/* The guest's MAC and IPv4 address, learned from its first frames: the
 * library, not SlirpConfig, knows them (a QEMU NIC may have any MAC; a
 * slirp4netns namespace uses 10.0.2.100 without DHCP). The first MAC wins;
 * the address is learned from the first ARP or IPv4 frame whose source is a
 * usable address of the network. Either one differing from the core's
 * configuration re-creates the core before the frame is handled (no flow
 * exists yet, forwards are re-opened). Frames from other MACs afterwards
 * are the core's to drop and count (spoofed_source). */
/* Whether ip may be the guest's: a member of the network, neither its
 * network nor broadcast address, nor the host or DNS address. */
static bool vs_usable_guest_ip(const Slirp *s, const uint8_t a4[4])
{
    const struct vnat_config *c = &s->conf.cfg;
    const uint8_t *n = s->conf.network.addr;
    uint32_t a = (uint32_t)a4[0] << 24 | (uint32_t)a4[1] << 16 | (uint32_t)a4[2] << 8 | a4[3];
    uint32_t net = (uint32_t)n[0] << 24 | (uint32_t)n[1] << 16 | (uint32_t)n[2] << 8 | n[3];
    uint32_t mask = ~0u << (32 - c->prefix_len);
    return (a & mask) == net && (a & ~mask) != 0 && (a & ~mask) != ~mask &&
           memcmp(a4, c->gateway_ip.addr, 4) != 0 && memcmp(a4, c->dns_ip.addr, 4) != 0;
}

/* Take ip as the guest's address (once). Returns whether it differs from
 * the core's configuration (the caller then re-creates the core). */
static bool vs_adopt_guest_ip(Slirp *s, const uint8_t a4[4])
{
    struct vnat_ip ip = vnat_ip4(a4[0], a4[1], a4[2], a4[3]);
    s->ip_learned = true;
    if (memcmp(&ip, &s->conf.cfg.guest_ip, sizeof ip) == 0)
        return false;
    s->conf.cfg.guest_ip = ip;
    return true;
}

static void vs_recreate(Slirp *s)
{
    s->recreated++;
    vs_core_destroy(s);
    if (vs_core_create(s) < 0)
        vs_error(&s->cb, s->opaque, "the guest's network is down");
}

static void vs_learn(Slirp *s, const uint8_t *pkt, size_t len)
{
    if (len < 14 || (pkt[6] & 1) != 0)
        return; /* runt or a multicast source: learn nothing */
    struct vnat_config *c = &s->conf.cfg;
    bool recreate = false;
    if (!s->mac_learned) {
        s->mac_learned = true;
        if (memcmp(c->guest_mac, pkt + 6, 6) != 0) {
            memcpy(c->guest_mac, pkt + 6, 6);
            recreate = true;
        }
    }
    if (!s->ip_learned && memcmp(c->guest_mac, pkt + 6, 6) == 0) {
        uint16_t type = (uint16_t)(pkt[12] << 8 | pkt[13]);
        const uint8_t *src = NULL;
        if (type == 0x0800 && len >= 34 && (pkt[14] >> 4) == 4)
            src = pkt + 26;
        else if (type == 0x0806 && len >= 42)
            src = pkt + 28;
        if (src != NULL && vs_usable_guest_ip(s, src) && vs_adopt_guest_ip(s, src))
            recreate = true;
    }
    if (recreate)
        vs_recreate(s);
}

void slirp_input(Slirp *slirp, const uint8_t *pkt, int pkt_len)
{
    Slirp *s = slirp;
    if (s == NULL || pkt == NULL || pkt_len <= 0)
        return;
    if (!s->mac_learned || !s->ip_learned)
        vs_learn(s, pkt, (size_t)pkt_len);
    if (s->nat == NULL)
        return;
    (void)vnat_on_guest_frame(s->nat, vs_now(s), pkt, (size_t)pkt_len);
    vs_rearm(s);
}

/* ------------------------------------------------------------------------ */
/* Port forwards                                                             */
/* ------------------------------------------------------------------------ */

static struct vnat_sockaddr vs_sockaddr4(struct in_addr a, int port)
{
    uint32_t v = ntohl(a.s_addr);
    return (struct vnat_sockaddr){
        .ip = vnat_ip4((uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v),
        .port = (uint16_t)port};
}

static const char *vs_addr_text(const struct vnat_sockaddr *a, char *buf, size_t len)
{
    const uint8_t *b = a->ip.addr;
    if (a->ip.family == VNAT_AF_INET)
        snprintf(buf, len, "%u.%u.%u.%u:%u", b[0], b[1], b[2], b[3], a->port);
    else
        snprintf(buf, len, "[ipv6]:%u", a->port);
    return buf;
}

static int vs_fwd_add(Slirp *s, uint8_t proto, const struct vnat_sockaddr *host,
                      struct in_addr guest, int guest_port)
{
    char hb[64];
    const char *pn = proto == VNAT_PROTO_UDP ? "udp" : "tcp";
    vs_addr_text(host, hb, sizeof hb);
    struct vnat_sockaddr g = vs_sockaddr4(guest, 0);
    /* A forward to an address the guest has not shown yet names it (Podman
     * adds slirp4netns's forwards to 10.0.2.100 before the namespace sends
     * any IPv4): taken as the guest's, as its first frame would be. */
    if (guest.s_addr != 0 && !s->ip_learned && vs_usable_guest_ip(s, g.ip.addr) &&
        vs_adopt_guest_ip(s, g.ip.addr))
        vs_recreate(s);
    if (guest.s_addr != 0 && memcmp(&g.ip, &s->conf.cfg.guest_ip, sizeof g.ip) != 0) {
        const uint8_t *b = g.ip.addr;
        vs_error(&s->cb, s->opaque,
                 "hostfwd %s %s -> %u.%u.%u.%u:%d: vnat serves one guest, at the DHCP start "
                 "address or the one it uses",
                 pn, hb, b[0], b[1], b[2], b[3], guest_port);
        return -1;
    }
    if (guest_port < 1 || guest_port > 65535 || s->nat == NULL) {
        vs_error(&s->cb, s->opaque, "hostfwd %s %s: %s %d", pn, hb,
                 s->nat == NULL ? "the NAT is down; guest port" : "bad guest port", guest_port);
        return -1;
    }
    if (s->n_fwds >= VS_MAX_FWDS) {
        vs_error(&s->cb, s->opaque, "hostfwd %s %s: at most %d forwards", pn, hb, VS_MAX_FWDS);
        return -1;
    }
    struct vnat_forward f = {.proto = proto, .host = *host, .guest_port = (uint16_t)guest_port};
    vnat_err rc = vnat_forward_add(s->nat, vs_now(s), &f);
    if (rc != VNAT_OK) {
        vs_error(&s->cb, s->opaque, "hostfwd %s %s -> guest port %d: %s", pn, hb, guest_port,
                 rc == VNAT_E_HOST ? "the host listener could not be opened (address in use?)"
                                   : vnat_strerror(rc));
        return -1;
    }
    s->fwds[s->n_fwds++].f = f;
    vs_rearm(s);
    return 0;
}

static int vs_fwd_remove(Slirp *s, uint8_t proto, const struct vnat_sockaddr *host)
{
    for (size_t i = 0; i < s->n_fwds; i++) {
        const struct vnat_forward *f = &s->fwds[i].f;
        if (f->proto != proto || f->host.port != host->port ||
            memcmp(&f->host.ip, &host->ip, sizeof host->ip) != 0)
            continue;
        if (s->nat != NULL)
            (void)vnat_forward_remove(s->nat, vs_now(s), f);
        s->fwds[i] = s->fwds[--s->n_fwds];
        vs_rearm(s);
        return 0;
    }
    return -1;
}

int slirp_add_hostfwd(Slirp *slirp, int is_udp, struct in_addr host_addr, int host_port,
                      struct in_addr guest_addr, int guest_port)
{
    if (slirp == NULL || host_port < 0 || host_port > 65535)
        return -1;
    struct vnat_sockaddr h = vs_sockaddr4(host_addr, host_port);
    return vs_fwd_add(slirp, is_udp ? VNAT_PROTO_UDP : VNAT_PROTO_TCP, &h, guest_addr, guest_port);
}

int slirp_remove_hostfwd(Slirp *slirp, int is_udp, struct in_addr host_addr, int host_port)
{
    if (slirp == NULL || host_port < 0 || host_port > 65535)
        return -1;
    struct vnat_sockaddr h = vs_sockaddr4(host_addr, host_port);
    return vs_fwd_remove(slirp, is_udp ? VNAT_PROTO_UDP : VNAT_PROTO_TCP, &h);
}

/* A hostxfwd host address: IPv4 or IPv6 (a v6 listener forwards to the IPv4
 * guest); a UNIX socket is refused. Returns 0 or -1 (after a message). */
static int vs_xhost(Slirp *s, const struct sockaddr *a, socklen_t len, struct vnat_sockaddr *out)
{
    memset(out, 0, sizeof *out);
    if (a != NULL && a->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)a;
        *out = vs_sockaddr4(in->sin_addr, ntohs(in->sin_port));
        return 0;
    }
    if (a != NULL && a->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;
        out->ip.family = VNAT_AF_INET6;
        memcpy(out->ip.addr, &in6->sin6_addr, 16);
        out->port = ntohs(in6->sin6_port);
        return 0;
    }
    vs_error(&s->cb, s->opaque, "hostfwd: %s host addresses are not supported by vnat",
             a != NULL && a->sa_family == AF_UNIX ? "UNIX socket" : "this kind of");
    return -1;
}

int slirp_add_hostxfwd(Slirp *slirp, const struct sockaddr *haddr, socklen_t haddrlen,
                       const struct sockaddr *gaddr, socklen_t gaddrlen, int flags)
{
    Slirp *s = slirp;
    struct vnat_sockaddr h;
    if (s == NULL || vs_xhost(s, haddr, haddrlen, &h) < 0)
        return -1;
    if (gaddr == NULL || gaddr->sa_family != AF_INET ||
        gaddrlen < (socklen_t)sizeof(struct sockaddr_in)) {
        vs_error(&s->cb, s->opaque,
                 "hostfwd: the guest address must be IPv4 (vnat's guest "
                 "has no IPv6 yet)");
        return -1;
    }
    const struct sockaddr_in *g = (const struct sockaddr_in *)gaddr;
    return vs_fwd_add(s, (flags & SLIRP_HOSTFWD_UDP) ? VNAT_PROTO_UDP : VNAT_PROTO_TCP, &h,
                      g->sin_addr, ntohs(g->sin_port));
}

int slirp_remove_hostxfwd(Slirp *slirp, const struct sockaddr *haddr, socklen_t haddrlen, int flags)
{
    Slirp *s = slirp;
    struct vnat_sockaddr h;
    if (s == NULL || vs_xhost(s, haddr, haddrlen, &h) < 0)
        return -1;
    return vs_fwd_remove(s, (flags & SLIRP_HOSTFWD_UDP) ? VNAT_PROTO_UDP : VNAT_PROTO_TCP, &h);
}

/* ------------------------------------------------------------------------ */
/* What vnat does not do: a message and an error, never a crash              */
/* ------------------------------------------------------------------------ */

int slirp_add_exec(Slirp *slirp, const char *cmdline, struct in_addr *guest_addr, int guest_port)
{
    (void)guest_addr;
    if (slirp != NULL)
        vs_error(&slirp->cb, slirp->opaque,
                 "guestfwd to a command (%s, port %d; also QEMU's smb=) is not supported by vnat",
                 cmdline ? cmdline : "?", guest_port);
    return -1;
}

int slirp_add_unix(Slirp *slirp, const char *unixsock, struct in_addr *guest_addr, int guest_port)
{
    (void)guest_addr;
    if (slirp != NULL)
        vs_error(&slirp->cb, slirp->opaque,
                 "guestfwd to a UNIX socket (%s, port %d) is not supported by vnat",
                 unixsock ? unixsock : "?", guest_port);
    return -1;
}

int slirp_add_guestfwd(Slirp *slirp, SlirpWriteCb write_cb, void *opaque,
                       struct in_addr *guest_addr, int guest_port)
{
    (void)write_cb;
    (void)opaque;
    (void)guest_addr;
    if (slirp != NULL)
        vs_error(&slirp->cb, slirp->opaque,
                 "guestfwd (guest port %d to a character device) is not supported by vnat",
                 guest_port);
    return -1;
}

int slirp_remove_guestfwd(Slirp *slirp, struct in_addr guest_addr, int guest_port)
{
    (void)slirp;
    (void)guest_addr;
    (void)guest_port;
    return -1; /* none can exist */
}

size_t slirp_socket_can_recv(Slirp *slirp, struct in_addr guest_addr, int guest_port)
{
    (void)slirp;
    (void)guest_addr;
    (void)guest_port;
    return 0;
}

void slirp_socket_recv(Slirp *slirp, struct in_addr guest_addr, int guest_port, const uint8_t *buf,
                       int size)
{
    (void)guest_addr;
    (void)buf;
    if (slirp != NULL)
        vs_error(&slirp->cb, slirp->opaque, "%d bytes for guestfwd port %d dropped: no guestfwd",
                 size, guest_port);
}

/* ------------------------------------------------------------------------ */
/* State and observation                                                     */
/* ------------------------------------------------------------------------ */

int slirp_state_version(void)
{
    return 4; /* what QEMU asserts */
}

/* The migration stream (docs/libslirp.md, "State"): the library's header
 * (internal.h) and the core's snapshot. QEMU frames nothing around it, so
 * the header says how long the snapshot is. */
void slirp_state_save(Slirp *s, SlirpWriteCb write_cb, void *opaque)
{
    if (s == NULL || write_cb == NULL)
        return;
    if (s->nat == NULL) {
        vs_error(&s->cb, s->opaque, "slirp state not saved: the NAT is down");
        return;
    }
    size_t need = vnat_snapshot_size(s->nat), got = 0;
    uint8_t *snap = need != 0 && need <= VS_STATE_MAX_SNAPSHOT ? malloc(need) : NULL;
    if (snap == NULL || vnat_snapshot(s->nat, snap, need, &got) != VNAT_OK) {
        free(snap);
        vs_error(&s->cb, s->opaque, "slirp state not saved: no snapshot of %zu bytes", need);
        return;
    }
    struct vs_state_head h;
    memset(&h, 0, sizeof h);
    h.flags = (s->mac_learned ? VS_STATE_F_MAC : 0) | (s->ip_learned ? VS_STATE_F_IP : 0);
    memcpy(h.guest_mac, s->conf.cfg.guest_mac, 6);
    memcpy(h.guest_ip, s->conf.cfg.guest_ip.addr, 4);
    h.n_fwds = (uint32_t)s->n_fwds;
    for (size_t i = 0; i < s->n_fwds; i++)
        h.fwds[i] = s->fwds[i].f;
    h.snap_len = (uint32_t)got;
    uint8_t head[VS_STATE_FIXED + VS_STATE_MAX_FWDS * VS_STATE_FWD + 8];
    size_t hn = vs_state_head_encode(&h, head);
    if (write_cb(head, hn, opaque) != (ssize_t)hn || write_cb(snap, got, opaque) != (ssize_t)got)
        vs_error(&s->cb, s->opaque, "slirp state not saved: the stream refused it");
    free(snap);
}

/* Read exactly len bytes, in steps of at most 1 MiB into a buffer grown as
 * they arrive (a stream that claims more than it holds costs what it
 * holds, not what it claims). Returns the buffer or NULL. */
static uint8_t *vs_read_all(SlirpReadCb read_cb, void *opaque, size_t len)
{
    uint8_t *buf = NULL;
    size_t have = 0;
    while (have < len) {
        size_t step = len - have < (1u << 20) ? len - have : (1u << 20);
        uint8_t *b = realloc(buf, have + step);
        if (b == NULL)
            break;
        buf = b;
        if (read_cb(buf + have, step, opaque) != (ssize_t)step)
            break;
        have += step;
    }
    if (have == len)
        return buf;
    free(buf);
    return NULL;
}

static int vs_load_fail(Slirp *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int vs_load_fail(Slirp *s, int err, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    vs_error(&s->cb, s->opaque, "cannot load slirp state: %s", why);
    return err;
}

/* Restore with sockets lost (this is a new process: the source's sockets
 * are gone): the snapshot's forwards listen again, its TCP connections are
 * reset toward the guest, its datagram flows are forgotten. The stream is
 * checked whole before the running network is touched; if the core refuses
 * it after that (a forward's port taken here), the destination's own
 * network is made again and the load fails. */
int slirp_state_load(Slirp *s, int version_id, SlirpReadCb read_cb, void *opaque)
{
    if (s == NULL || read_cb == NULL)
        return -EINVAL;
    if (version_id != slirp_state_version())
        return vs_load_fail(s, -EINVAL, "version %d, this library writes %d", version_id,
                            slirp_state_version());
    uint8_t head[VS_STATE_FIXED + VS_STATE_MAX_FWDS * VS_STATE_FWD + 8];
    char why[256];
    uint32_t nf;
    if (read_cb(head, VS_STATE_FIXED, opaque) != (ssize_t)VS_STATE_FIXED)
        return vs_load_fail(s, -EIO, "stream truncated in its header");
    if (vs_state_head_fixed(head, &nf, why, sizeof why) < 0)
        return vs_load_fail(s, -EINVAL, "%s", why);
    size_t hn = vs_state_head_size(nf);
    if (read_cb(head + VS_STATE_FIXED, hn - VS_STATE_FIXED, opaque) !=
        (ssize_t)(hn - VS_STATE_FIXED))
        return vs_load_fail(s, -EIO, "stream truncated in its header");
    struct vs_state_head h;
    if (vs_state_head_parse(head, hn, &h, why, sizeof why) < 0)
        return vs_load_fail(s, -EINVAL, "%s", why);
    uint8_t *snap = vs_read_all(read_cb, opaque, h.snap_len);
    if (snap == NULL)
        return vs_load_fail(s, -EIO, "stream truncated in its %u-byte snapshot", h.snap_len);
    size_t mem_size = 0;
    vnat_err rc = vnat_restore_memory_size(snap, h.snap_len, &mem_size);
    void *mem = rc == VNAT_OK ? vs_alloc16(NULL, mem_size) : NULL;
    if (mem == NULL) {
        free(snap);
        return vs_load_fail(s, -EINVAL, "snapshot refused: %s",
                            rc != VNAT_OK ? vnat_strerror(rc) : "out of memory");
    }
    memset(mem, 0, mem_size);
    /* The stream is sound: the network this process made for the command
     * line gives way (its listeners close; no frame for the guest). */
    s->closing = true;
    vs_core_destroy(s);
    s->closing = false;
    vnat *nat = NULL;
    rc = vnat_restore(mem, mem_size, &s->ops, &s->io, snap, h.snap_len, VNAT_RESTORE_SOCKETS_LOST,
                      vs_now(s), &nat);
    free(snap);
    uint8_t mac[6];
    if (rc == VNAT_OK && (h.flags & VS_STATE_F_MAC) &&
        (vnat_guest_mac(nat, mac) < 0 || memcmp(mac, h.guest_mac, 6) != 0)) {
        s->closing = true;
        vnat_shutdown(nat, vs_now(s));
        s->closing = false;
        rc = VNAT_E_SNAP_RANGE; /* the header and the snapshot disagree */
    }
    if (rc != VNAT_OK) {
        free(mem);
        s->timer_ms = INT64_MAX;
        if (vs_core_create(s) < 0)
            vs_error(&s->cb, s->opaque, "the guest's network is down");
        vs_rearm(s);
        return vs_load_fail(s, -EINVAL, "snapshot refused: %s", vnat_strerror(rc));
    }
    s->nat = nat;
    s->nat_mem = mem;
    s->io.nat = nat;
    s->mac_learned = (h.flags & VS_STATE_F_MAC) != 0;
    s->ip_learned = (h.flags & VS_STATE_F_IP) != 0;
    memcpy(s->conf.cfg.guest_mac, h.guest_mac, 6);
    s->conf.cfg.guest_ip = vnat_ip4(h.guest_ip[0], h.guest_ip[1], h.guest_ip[2], h.guest_ip[3]);
    s->n_fwds = h.n_fwds;
    for (uint32_t i = 0; i < h.n_fwds; i++)
        s->fwds[i].f = h.fwds[i];
    s->timer_ms = INT64_MAX;
    vs_rearm(s);
    return 0;
}

const char *slirp_version_string(void)
{
    return SLIRP_VERSION_STRING "-vnat-" VNAT_VERSION_STRING;
}

/* The descriptor of a forward's listener: the socket whose local address
 * is the forward's (the core keeps the token; the adapter, the fd). */
static int vs_listener_fd(Slirp *s, const struct vnat_forward *f)
{
    for (uint32_t i = 0; i < s->io.nsocks; i++) {
        const struct host_sock *k = &s->io.socks[i];
        uint8_t want = f->proto == VNAT_PROTO_UDP ? HOST_SOCK_DGRAM : HOST_SOCK_LISTENER;
        if (k->tok == VNAT_TOKEN_NONE || k->kind != want)
            continue;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        if (getsockname(k->fd, (struct sockaddr *)&ss, &sl) < 0)
            continue;
        if (ss.ss_family == AF_INET && f->host.ip.family == VNAT_AF_INET) {
            const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
            if (ntohs(in->sin_port) == f->host.port &&
                memcmp(&in->sin_addr, f->host.ip.addr, 4) == 0)
                return k->fd;
        } else if (ss.ss_family == AF_INET6 && f->host.ip.family == VNAT_AF_INET6) {
            const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
            if (ntohs(in6->sin6_port) == f->host.port &&
                memcmp(&in6->sin6_addr, f->host.ip.addr, 16) == 0)
                return k->fd;
        }
    }
    return -1;
}

static int vs_fd_of(void *ctx, vnat_token tok)
{
    const struct host_sock *k = host_sock_find(ctx, tok);
    return k != NULL ? k->fd : -1;
}

char *slirp_connection_info(Slirp *slirp)
{
    Slirp *s = slirp;
    if (s == NULL)
        return strdup("  (vnat: no network)\n");
    struct vs_fwd_row rows[VS_MAX_FWDS];
    for (size_t i = 0; i < s->n_fwds; i++)
        rows[i] = (struct vs_fwd_row){.proto = s->fwds[i].f.proto,
                                      .fd = vs_listener_fd(s, &s->fwds[i].f),
                                      .host = s->fwds[i].f.host,
                                      .guest = s->conf.cfg.guest_ip,
                                      .guest_port = s->fwds[i].f.guest_port};
    char *dump = NULL;
    if (s->nat != NULL) {
        size_t need = vnat_dump_flows(s->nat, NULL, 0);
        dump = malloc(need + 1);
        if (dump != NULL)
            vnat_dump_flows(s->nat, dump, need + 1);
    }
    char *t = vs_connection_table(rows, s->n_fwds, dump, vs_fd_of, &s->io);
    free(dump);
    return t;
}

char *slirp_neighbor_info(Slirp *slirp)
{
    const Slirp *s = slirp;
    char buf[160];
    if (s == NULL)
        return strdup("  (vnat: no network)\n");
    const uint8_t *m = s->conf.cfg.guest_mac, *a = s->conf.cfg.guest_ip.addr;
    /* One guest per instance: the core's neighbour table is that guest. */
    snprintf(buf, sizeof buf, "  %-20s %s\n  %02x:%02x:%02x:%02x:%02x:%02x    %u.%u.%u.%u%s\n",
             "Hardware Address", "IP Address", m[0], m[1], m[2], m[3], m[4], m[5], a[0], a[1], a[2],
             a[3], s->mac_learned ? "" : " (not seen yet)");
    return strdup(buf);
}
