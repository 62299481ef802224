/*
 * main.c — the `vnat` command: `run` (COMMAND in a namespace whose tap vnat
 * serves), `serve` (a QEMU stream socket), `sim` (the simulator, when
 * built) and `version`. It parses options into a struct vnat_config, creates
 * the core with memory it allocates once, wires the adapter (sockops.c,
 * link.c, loop.c, tap.c) to it, and at exit shuts the core down so every
 * flow is reset or closed. The seed comes from getrandom() unless --seed gives it; it is in
 * the recorded log's CREATE record and printed by --stats. After the user's
 * --deny/--allow rules come DENY rules for the host's own addresses
 * (hostaddrs.c) unless --allow-host-addrs. --api-socket (api.c) changes
 * the forwards while vnat runs.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adapter.h"

#ifdef VNAT_HAVE_SIM
int vnat_sim_main(int argc, char **argv);
#endif

#define MAX_RULES 64
#define MAX_FORWARDS 64
#define RUN_DEFAULT_MTU 65520u

struct options {
    struct vnat_config cfg;
    /* the user's (at most MAX_RULES), then those of the host's addresses */
    struct vnat_rule rules[MAX_RULES + 2 * VNAT_MAX_DNS_SERVERS + HOST_ADDRS_MAX];
    struct vnat_forward forwards[MAX_FORWARDS];
    bool seed_given;
    bool max_flows_given;
    bool stats;
    bool dns_given;
    bool no_static_arp;
    bool allow_host_addrs;
    enum ns_userns_mode userns;
    const char *record;
    const char *pcap;
    const char *socket_path;
    const char *api_socket;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vnat run [OPTIONS] -- COMMAND [ARGS...]\n"
            "       vnat serve --socket PATH [OPTIONS]\n"
            "       vnat sim ARGS...        (the simulator; `vnat sim help`)\n"
            "       vnat version\n"
            "options:\n"
            "  -t [ADDR:]HOSTPORT:GUESTPORT  forward a host TCP port into the guest\n"
            "                                (ADDR defaults to 127.0.0.1)\n"
            "  -u [ADDR:]HOSTPORT:GUESTPORT  the same for UDP\n"
            "  --deny CIDR                   the guest may not reach CIDR\n"
            "  --allow CIDR                  the guest may reach CIDR (rules: first match\n"
            "                                wins, in the order given; then the host's own\n"
            "                                addresses are denied)\n"
            "  --allow-host-addrs            let the guest reach the host's own addresses\n"
            "                                (default: only host loopback, via the gateway)\n"
            "  --dns-server ADDR[:PORT]      host resolver to use (default: /etc/resolv.conf)\n"
            "  --mtu N                       guest MTU (run: 65520; serve: the core's default)\n"
            "  --max-flows N                 flow table size (default 4096; TCP, UDP and ICMP\n"
            "                                shares derive from it); the soft descriptor\n"
            "                                limit is raised to fit, up to the hard one\n"
            "  --seed N                      core seed (default: from getrandom)\n"
            "  --guest-mac XX:XX:XX:XX:XX:XX the guest's MAC, fixed (default: learned from\n"
            "                                the guest's first frame; run: the tap's MAC,\n"
            "                                default 52:54:00:12:34:56)\n"
            "  --record FILE                 write the boundary log (vnat sim replay-file FILE)\n"
            "  --pcap FILE                   write the guest's frames in pcap format\n"
            "  --stats                       print flows and counters at exit\n"
            "  --api-socket PATH             add, remove and list forwards at run time\n"
            "                                (JSON lines on a UNIX socket; docs/adapter.md)\n"
            "  --userns yes|no|auto          run: user namespace too (auto: yes, else\n"
            "                                network namespace only when root)\n"
            "  --no-static-arp               run: no neighbour entries for gateway/DNS\n");
}

static int parse_ip4(const char *s, struct vnat_ip *ip)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1)
        return -1;
    memset(ip, 0, sizeof(*ip));
    ip->family = VNAT_AF_INET;
    memcpy(ip->addr, &a, 4);
    return 0;
}

/* One hexadecimal digit's value, or -1. */
static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* XX:XX:XX:XX:XX:XX (hexadecimal, either case) into mac: 0, or -1. */
static int mac_from_text(const char *s, uint8_t mac[6])
{
    if (strlen(s) != 17)
        return -1;
    for (int i = 0; i < 6; i++) {
        int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
            return -1;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* A MAC a guest NIC can send from: unicast and not all zero. */
static int parse_mac(const char *s, uint8_t mac[6])
{
    if (mac_from_text(s, mac) < 0)
        return -1;
    unsigned any = 0;
    for (int i = 0; i < 6; i++)
        any |= mac[i];
    return (mac[0] & 1) == 0 && any != 0 ? 0 : -1;
}

static int parse_port(const char *s, uint16_t *port)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v == 0 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

/* [ADDR:]HOSTPORT:GUESTPORT */
static int parse_forward(struct options *o, const char *arg, uint8_t proto)
{
    if (o->cfg.n_forwards >= MAX_FORWARDS)
        return -1;
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", arg);
    struct vnat_forward *f = &o->forwards[o->cfg.n_forwards];
    memset(f, 0, sizeof(*f));
    f->proto = proto;
    char *last = strrchr(buf, ':');
    if (!last)
        return -1;
    *last = 0;
    if (parse_port(last + 1, &f->guest_port) < 0)
        return -1;
    char *mid = strrchr(buf, ':');
    const char *hostport = buf;
    const char *addr = "127.0.0.1";
    if (mid) {
        *mid = 0;
        addr = buf;
        hostport = mid + 1;
    }
    if (parse_ip4(addr, &f->host.ip) < 0 || parse_port(hostport, &f->host.port) < 0)
        return -1;
    o->cfg.n_forwards++;
    return 0;
}

static int parse_cidr(struct options *o, const char *arg, uint8_t action)
{
    if (o->cfg.n_rules >= MAX_RULES)
        return -1;
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", arg);
    struct vnat_rule *r = &o->rules[o->cfg.n_rules];
    memset(r, 0, sizeof(*r));
    r->action = action;
    r->proto = VNAT_PROTO_ANY;
    r->prefix = 32;
    r->port_lo = 0;
    r->port_hi = 65535;
    char *slash = strchr(buf, '/');
    if (slash) {
        *slash = 0;
        char *end;
        unsigned long p = strtoul(slash + 1, &end, 10);
        if (*end || end == slash + 1 || p > 32)
            return -1;
        r->prefix = (uint8_t)p;
    }
    if (parse_ip4(buf, &r->net) < 0)
        return -1;
    o->cfg.n_rules++;
    return 0;
}

static int add_dns_server(struct options *o, const char *arg)
{
    if (o->cfg.n_dns_servers >= VNAT_MAX_DNS_SERVERS)
        return 0;
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", arg);
    struct vnat_sockaddr *d = &o->cfg.dns_servers[o->cfg.n_dns_servers];
    memset(d, 0, sizeof(*d));
    d->port = 53;
    char *colon = strchr(buf, ':');
    if (colon) {
        *colon = 0;
        if (parse_port(colon + 1, &d->port) < 0)
            return -1;
    }
    if (parse_ip4(buf, &d->ip) < 0)
        return -1;
    o->cfg.n_dns_servers++;
    return 0;
}

/* The host's resolvers, IPv4 nameserver lines of /etc/resolv.conf. */
static void dns_from_resolv_conf(struct options *o)
{
    FILE *f = fopen("/etc/resolv.conf", "re");
    if (!f)
        return;
    char line[256];
    for (int i = 0; i < 256 && fgets(line, sizeof(line), f); i++) {
        char addr[64];
        if (sscanf(line, " nameserver %63s", addr) == 1)
            (void)add_dns_server(o, addr);
    }
    fclose(f);
}

/* Append the rules that close the host's own addresses (after the user's,
 * so a user's --allow still opens one). Fails rather than start with an
 * address left open. */
static int add_host_addr_rules(struct options *o)
{
    static struct vnat_ip addrs[HOST_ADDRS_MAX];
    long n = host_addrs_list(addrs, HOST_ADDRS_MAX);
    if (n < 0) {
        fprintf(stderr,
                "vnat: cannot list the host's addresses: %s (--allow-host-addrs skips this)\n",
                strerror((int)-n));
        return -1;
    }
    size_t cap = sizeof(o->rules) / sizeof(o->rules[0]) - o->cfg.n_rules;
    long k = host_addrs_rules(addrs, (size_t)n, o->cfg.dns_servers, o->cfg.n_dns_servers,
                              o->rules + o->cfg.n_rules, cap);
    if (k < 0) {
        fprintf(stderr, "vnat: too many host addresses (--allow-host-addrs skips this)\n");
        return -1;
    }
    o->cfg.n_rules += (uint32_t)k;
    return 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 0);
    if (errno || end == s || *end)
        return -1;
    *v = x;
    return 0;
}

enum {
    OPT_DENY = 256,
    OPT_ALLOW,
    OPT_ALLOW_HOST_ADDRS,
    OPT_MTU,
    OPT_MAX_FLOWS,
    OPT_SEED,
    OPT_RECORD,
    OPT_PCAP,
    OPT_STATS,
    OPT_SOCKET,
    OPT_USERNS,
    OPT_DNS,
    OPT_NO_ARP,
    OPT_API_SOCKET,
    OPT_GUEST_MAC,
    OPT_HELP
};

static int parse_options(struct options *o, int argc, char **argv, bool is_run)
{
    static const struct option longopts[] = {
        {"deny", required_argument, NULL, OPT_DENY},
        {"allow", required_argument, NULL, OPT_ALLOW},
        {"allow-host-addrs", no_argument, NULL, OPT_ALLOW_HOST_ADDRS},
        {"mtu", required_argument, NULL, OPT_MTU},
        {"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
        {"seed", required_argument, NULL, OPT_SEED},
        {"record", required_argument, NULL, OPT_RECORD},
        {"pcap", required_argument, NULL, OPT_PCAP},
        {"stats", no_argument, NULL, OPT_STATS},
        {"socket", required_argument, NULL, OPT_SOCKET},
        {"userns", required_argument, NULL, OPT_USERNS},
        {"dns-server", required_argument, NULL, OPT_DNS},
        {"no-static-arp", no_argument, NULL, OPT_NO_ARP},
        {"api-socket", required_argument, NULL, OPT_API_SOCKET},
        {"guest-mac", required_argument, NULL, OPT_GUEST_MAC},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    vnat_config_init(&o->cfg);
    if (is_run)
        o->cfg.mtu = RUN_DEFAULT_MTU;
    o->cfg.rules = o->rules;
    o->cfg.forwards = o->forwards;
    optind = 1;
    int c;
    uint64_t v;
    while ((c = getopt_long(argc, argv, "+t:u:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
        case 'u':
            if (parse_forward(o, optarg, c == 't' ? VNAT_PROTO_TCP : VNAT_PROTO_UDP) < 0) {
                fprintf(stderr, "vnat: bad forward '%s' (want [ADDR:]HOSTPORT:GUESTPORT)\n",
                        optarg);
                return -1;
            }
            break;
        case OPT_DENY:
        case OPT_ALLOW:
            if (parse_cidr(o, optarg, c == OPT_DENY ? VNAT_RULE_DENY : VNAT_RULE_ALLOW) < 0) {
                fprintf(stderr, "vnat: bad CIDR '%s' (or more than %d rules)\n", optarg, MAX_RULES);
                return -1;
            }
            break;
        case OPT_ALLOW_HOST_ADDRS:
            o->allow_host_addrs = true;
            break;
        case OPT_MTU:
            if (parse_u64(optarg, &v) < 0 || v < 576 || v > 65520) {
                fprintf(stderr, "vnat: bad MTU '%s' (576..65520)\n", optarg);
                return -1;
            }
            o->cfg.mtu = (uint32_t)v;
            break;
        case OPT_MAX_FLOWS:
            if (parse_u64(optarg, &v) < 0 || v < 16 || v > (1u << 20)) {
                fprintf(stderr, "vnat: bad --max-flows '%s' (16..1048576)\n", optarg);
                return -1;
            }
            o->cfg.max_flows = (uint32_t)v;
            o->max_flows_given = true;
            break;
        case OPT_SEED:
            if (parse_u64(optarg, &o->cfg.seed) < 0) {
                fprintf(stderr, "vnat: bad seed '%s'\n", optarg);
                return -1;
            }
            o->seed_given = true;
            if (o->cfg.seed == 0) /* asked for: the publicly known key */
                o->cfg.flags |= VNAT_F_DETERMINISTIC_SEED;
            break;
        case OPT_RECORD:
            o->record = optarg;
            break;
        case OPT_PCAP:
            o->pcap = optarg;
            break;
        case OPT_STATS:
            o->stats = true;
            break;
        case OPT_SOCKET:
            o->socket_path = optarg;
            break;
        case OPT_USERNS:
            if (!strcmp(optarg, "yes"))
                o->userns = NS_USERNS_YES;
            else if (!strcmp(optarg, "no"))
                o->userns = NS_USERNS_NO;
            else if (!strcmp(optarg, "auto"))
                o->userns = NS_USERNS_AUTO;
            else {
                fprintf(stderr, "vnat: --userns takes yes, no or auto\n");
                return -1;
            }
            break;
        case OPT_DNS:
            if (!o->dns_given)
                o->cfg.n_dns_servers = 0;
            o->dns_given = true;
            if (add_dns_server(o, optarg) < 0) {
                fprintf(stderr, "vnat: bad DNS server '%s'\n", optarg);
                return -1;
            }
            break;
        case OPT_NO_ARP:
            o->no_static_arp = true;
            break;
        case OPT_API_SOCKET:
            o->api_socket = optarg;
            break;
        case OPT_GUEST_MAC:
            if (parse_mac(optarg, o->cfg.guest_mac) < 0) {
                fprintf(stderr, "vnat: bad --guest-mac '%s' (want a unicast XX:XX:XX:XX:XX:XX)\n",
                        optarg);
                return -1;
            }
            o->cfg.flags |= VNAT_F_GUEST_MAC_FIXED;
            break;
        case 'h':
        case OPT_HELP:
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (!o->dns_given)
        dns_from_resolv_conf(o);
    if (!o->allow_host_addrs && add_host_addr_rules(o) < 0)
        return -1;
    if (!o->seed_given && getrandom(&o->cfg.seed, sizeof(o->cfg.seed), 0) != sizeof(o->cfg.seed)) {
        perror("vnat: getrandom");
        return -1;
    }
    return 0;
}

/* One counter line, named by the field (without its struct prefix). */
static void print_counter(FILE *f, const char *expr, uint64_t v)
{
    const char *dot = strrchr(expr, '.');
    fprintf(f, "vnat:   %-22s %" PRIu64 "\n", dot ? dot + 1 : expr, v);
}

static void print_stats(struct host *h)
{
    struct vnat_stats s;
    memset(&s, 0, sizeof(s));
    vnat_get_stats(h->io.nat, &s, sizeof(s));
    size_t need = vnat_dump_flows(h->io.nat, NULL, 0);
    char *dump = malloc(need + 1);
    if (dump) {
        vnat_dump_flows(h->io.nat, dump, need + 1);
        fprintf(stderr, "vnat: flows at exit (%" PRIu64 " live):\n%s%s", s.flows_live, dump,
                need && dump[need - 1] != '\n' ? "\n" : "");
        free(dump);
    }
    FILE *f = stderr;
    fprintf(f, "vnat: seed 0x%016" PRIx64 "\n", vnat_seed(h->io.nat));
#define P(field) print_counter(f, #field, (uint64_t)(field))
    P(s.frames_in);
    P(s.frames_out);
    P(s.frames_refused);
    P(s.bytes_guest_to_host);
    P(s.bytes_host_to_guest);
    P(s.tcp_flows_total);
    P(s.flows_live);
    P(s.udp_flows);
    P(s.icmp_flows);
    P(s.retransmits);
    P(s.dup_acks_sent);
    P(s.zero_window_probes);
    P(s.rst_from_guest);
    P(s.time_backwards);
    P(s.stale_tokens);
    P(s.bad_host_results);
    P(s.timers_fired);
    P(s.dhcp_leases);
    P(s.dns_queries);
    P(s.arp_replies);
    P(s.forwards_accepted);
    P(s.dns_answers_unmatched);
    P(s.dns_answers_duplicate);
    P(s.flows_reclaimed);
    P(s.tcp_connects_unreachable);
    P(s.tcp_connects_timed_out);
    P(s.guest_macs_learned);
    P(s.udp_fragmented);
    P(s.dns_truncated);
    uint8_t m[6];
    int held = vnat_guest_mac(h->io.nat, m);
    fprintf(f, "vnat:   %-22s %02x:%02x:%02x:%02x:%02x:%02x%s\n", "guest_mac", m[0], m[1], m[2],
            m[3], m[4], m[5], held ? "" : " (not learned)");
    for (int i = 0; i < VNAT_DROP__COUNT; i++)
        if (s.drops[i])
            fprintf(f, "vnat:   drop %-17s %" PRIu64 "\n", vnat_drop_reason_name(i), s.drops[i]);
    for (int i = 0; i < VNAT_RST__COUNT; i++)
        if (s.rst_sent[i])
            fprintf(f, "vnat:   rst %-18s %" PRIu64 "\n", vnat_rst_reason_name(i), s.rst_sent[i]);
    fprintf(f, "vnat: adapter:\n");
    P(h->io.st.wakeups);
    P(h->io.st.events);
    P(h->io.st.ticks);
    P(h->io.st.frames_rx);
    P(h->io.st.frames_tx);
    P(h->io.st.link_refused);
    P(h->io.st.link_resets);
    P(h->io.st.link_bad_lengths);
    P(h->io.st.link_torn_frames);
    P(h->io.st.peek_calls);
    P(h->io.st.peek_off_sets);
    P(h->io.st.peek_fallback);
    P(h->io.st.send_short);
    P(h->io.st.send_refused);
    P(h->io.st.sockets_opened);
    P(h->io.st.stale_events);
    P(h->io.st.deadline_guard);
    P(h->io.st.accept_shed);
#undef P
}

static void *alloc_core(void *actx, size_t size)
{
    (void)actx;
    /* 16-aligned, as vnat_create_alloc requires; rounded for aligned_alloc. */
    return aligned_alloc(64, (size + 63) & ~(size_t)63);
}

/* One descriptor per flow and listener, and a few of the adapter's own: a
 * soft limit below that (1024 is common) is raised toward the hard one when
 * --max-flows asks for a table size, so the table holds what was asked.
 * Otherwise the limit is left as the caller set it; where it is too low, the
 * EMFILE handling refuses cleanly what does not fit (host.emfile). */
static void raise_fd_limit(uint64_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rlim_t cur = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : (rlim_t)want;
    if (rl.rlim_cur > cur && setrlimit(RLIMIT_NOFILE, &rl) != 0)
        fprintf(stderr, "vnat: cannot raise the descriptor limit to %llu: %s\n",
                (unsigned long long)rl.rlim_cur, strerror(errno));
}

/* Everything both subcommands share: adapter, outputs, core. */
static int setup_common(struct host *h, struct options *o, struct vnat_host_ops *ops)
{
    memset(h, 0, sizeof(*h));
    uint32_t slots = o->cfg.max_flows + o->cfg.max_forwards + 16;
    if (o->max_flows_given)
        raise_fd_limit(slots + 64);
    if (host_init(h, slots) < 0 || host_signals_setup(h) < 0) {
        perror("vnat: adapter setup");
        return -1;
    }
    if (o->record) {
        h->io.rec = recorder_open(o->record);
        if (!h->io.rec) {
            fprintf(stderr, "vnat: cannot write %s: %s\n", o->record, strerror(errno));
            return -1;
        }
    }
    if (o->pcap) {
        h->io.pcap = pcap_open(o->pcap, HOST_MAX_FRAME);
        if (!h->io.pcap) {
            fprintf(stderr, "vnat: cannot write %s: %s\n", o->pcap, strerror(errno));
            return -1;
        }
    }
    *ops = host_ops_table;
    if (!h->io.rec)
        ops->log = NULL; /* the core then builds no log records at all */
    vnat_err e = vnat_create_alloc(&o->cfg, ops, &h->io, alloc_core, NULL, &h->io.nat);
    if (e != VNAT_OK) {
        fprintf(stderr, "vnat: cannot create the core: %s\n", vnat_strerror(e));
        return -1;
    }
    if (o->api_socket) {
        /* The core opened every start-up forward (or creation failed), so
         * they seed the API's table. */
        int rc =
            host_api_open(h, o->api_socket, o->forwards, o->cfg.n_forwards, o->cfg.max_forwards);
        if (rc < 0) {
            fprintf(stderr, "vnat: cannot listen on --api-socket %s: %s\n", o->api_socket,
                    strerror(-rc));
            return -1;
        }
    }
    return 0;
}

static int finish(struct host *h, bool stats)
{
    if (stats && h->io.nat)
        print_stats(h);
    host_api_close(h);
    int rc = 0;
    if (h->io.nat) {
        void *mem = vnat_memory_base(h->io.nat);
        vnat_shutdown(h->io.nat, host_now_ns());
        h->io.nat = NULL;
        free(mem);
    }
    host_link_close(&h->io); /* flushes what the shutdown sent */
    if (recorder_close(h->io.rec) < 0) {
        fprintf(stderr, "vnat: the recorded log is incomplete\n");
        rc = -1;
    }
    pcap_close(h->io.pcap);
    if (h->sigfd >= 0)
        close(h->sigfd);
    host_fini(h);
    return rc;
}

static int cmd_run(int argc, char **argv)
{
    static struct options o;
    if (parse_options(&o, argc, argv, true) < 0)
        return 2;
    if (optind >= argc) {
        fprintf(stderr, "vnat run: no COMMAND given\n");
        usage(stderr);
        return 2;
    }
    struct host h;
    struct vnat_host_ops ops;
    if (setup_common(&h, &o, &ops) < 0) {
        finish(&h, false);
        return 1;
    }
    struct ns_setup ns = {
        .cfg = &o.cfg, .userns = o.userns, .static_arp = !o.no_static_arp, .ifname = "tap0"};
    pid_t pid;
    int tap, gate;
    bool unavailable;
    if (ns_spawn(&ns, argv + optind, &pid, &tap, &gate, &unavailable) < 0) {
        finish(&h, false);
        return unavailable ? 125 : 1;
    }
    h.child = pid;
    if (host_link_attach_tap(&h.io, tap) < 0 || ns_release(gate) < 0) {
        perror("vnat: tap");
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        finish(&h, false);
        return 1;
    }
    int lrc = host_loop_run(&h);
    if (!h.child_exited) {
        kill(pid, SIGKILL);
        if (waitpid(pid, &h.child_status, 0) == pid)
            h.child_exited = true;
    }
    int rc = finish(&h, o.stats);
    if (lrc < 0 || rc < 0)
        return 1;
    if (WIFEXITED(h.child_status))
        return WEXITSTATUS(h.child_status);
    if (WIFSIGNALED(h.child_status))
        return 128 + WTERMSIG(h.child_status);
    return 1;
}

static int cmd_serve(int argc, char **argv)
{
    static struct options o;
    if (parse_options(&o, argc, argv, false) < 0)
        return 2;
    if (!o.socket_path || optind != argc) {
        fprintf(stderr, "vnat serve: --socket PATH is required (and takes no COMMAND)\n");
        return 2;
    }
    struct host h;
    struct vnat_host_ops ops;
    if (setup_common(&h, &o, &ops) < 0) {
        finish(&h, false);
        return 1;
    }
    int rc = host_link_listen_stream(&h.io, o.socket_path);
    if (rc < 0) {
        fprintf(stderr, "vnat: cannot listen on %s: %s\n", o.socket_path, strerror(-rc));
        finish(&h, false);
        return 1;
    }
    fprintf(stderr, "vnat: serving on %s (seed 0x%016" PRIx64 ")\n", o.socket_path, o.cfg.seed);
    int lrc = host_loop_run(&h);
    rc = finish(&h, o.stats);
    unlink(o.socket_path);
    return lrc < 0 || rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "serve"))
        return cmd_serve(argc - 1, argv + 1);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("vnat %s\n", VNAT_VERSION_STRING);
        return 0;
    }
    if (!strcmp(cmd, "sim")) {
#ifdef VNAT_HAVE_SIM
        return vnat_sim_main(argc - 1, argv + 1);
#else
        fprintf(stderr, "vnat: the simulator is not built into this vnat\n");
        return 2;
#endif
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "vnat: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
