/*
 * bench_tcp.c — micro-benchmarks of the core's TCP path, driven through the
 * public API on the bench host (benchhost.h), with a JSON report.
 *
 *   tcp_syn_pending_P   ns per guest SYN (a new flow, a host connect left
 *                       pending) with P flows already in Connecting.
 *   tcp_g2h_mtuM        ns per guest->host data segment of one MSS in
 *                       steady state: frame in, host send() takes it all,
 *                       the core ACKs. Also as Gbps of payload.
 *   tcp_h2g_mtuM        ns per host->guest segment: readable event, peek
 *                       into the frame, frame to the sink, the guest's ACK
 *                       (discard). Also as Gbps of payload.
 *   tcp_memory_*        core bytes per TCP flow.
 *
 * Method: the core is built -O2 (release preset). Each benchmark runs a
 * warm-up, then `--reps` repetitions; each repetition is one sample (total
 * time / operations), and the report gives median, min and max of the
 * samples. Only the loop that feeds the core is timed (clock_gettime
 * around it); frames are built beforehand, and a data loop only rewrites a
 * sequence/ack number with an incremental checksum update (a few ns). The
 * core's `now` is virtual (1 us per event), so its timers behave the same
 * on every run. Counters of the bench host are checked after every
 * repetition: a run in which the core did something other than the
 * benchmark intends aborts instead of reporting a number.
 *
 * Timed loops are the functions named measured_*: `bench/run` runs the
 * program under callgrind with --toggle-collect=measured_* to count the
 * instructions per operation (--callgrind: one repetition, no warm-up).
 *
 * Usage: bench_tcp [--json FILE] [--reps N] [--smoke] [--callgrind]
 *                  [--only NAME[,NAME...]] [--syn-table MAX_FLOWS]
 * --syn-table sets max_flows of the SYN benchmark (default 101024: room for
 * 100000 pending connects and a batch); a larger table has proportionally
 * more hash buckets, which is how the figures' dependence on the load
 * factor of the flow index was measured.
 * NAME is a benchmark name or a family: tcp_syn, tcp_g2h, tcp_h2g,
 * tcp_memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchhost.h"
#include "benchout.h"
#include "internal.h"

#define EVENT_NS 1000u /* virtual time between two events */
#define SYN_BATCH 64   /* SYNs timed together (pending grows by at most this) */
#define SYN_PENDING_MAX 100000u
#define SYN_TUPLE_BASE 200000u /* tuple indices of the timed SYNs start here */
#define FRAME_SMALL 128

static const uint8_t dst_gw[4] = {10, 0, 2, 2}; /* the gateway: host loopback */

struct opts {
    const char *json;
    const char *only;
    int reps;
    int smoke;
    int callgrind;
    uint32_t syn_table; /* max_flows of the SYN benchmark; 0 = default */
};

static struct bo_report report = {.program = "bench_tcp"};

static void die(const char *what)
{
    fprintf(stderr, "bench_tcp: %s\n", what);
    exit(1);
}

/* --only: a comma-separated list of names or families. */
static bool selected(const struct opts *o, const char *family, const char *name)
{
    if (o->only == NULL)
        return true;
    const char *p = o->only;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        if ((strlen(family) == n && strncmp(p, family, n) == 0) ||
            (strlen(name) == n && strncmp(p, name, n) == 0))
            return true;
        p += n;
        if (*p == ',')
            p++;
    }
    return false;
}

static struct vnat_stats stats_of(const struct bh *h)
{
    struct vnat_stats st;
    vnat_get_stats(h->nat, &st, sizeof st);
    return st;
}

/* ------------------------------------------------------------------ */
/* SYN processing with P pending connects                              */
/* ------------------------------------------------------------------ */

struct syn_frames {
    uint8_t data[SYN_BATCH][FRAME_SMALL];
    size_t len[SYN_BATCH];
};

/* The flow of tuple index i: distinct for every i below 64000 * 65535. */
static void tuple_of(uint32_t i, uint16_t *sport, uint16_t *dport)
{
    *sport = (uint16_t)(1024u + i % 64000u);
    *dport = (uint16_t)(1u + i / 64000u);
}

static void build_syns(const struct bh *h, struct syn_frames *s, uint32_t first, uint8_t flags,
                       uint32_t seq)
{
    for (int j = 0; j < SYN_BATCH; j++) {
        uint16_t sp, dp;
        tuple_of(first + (uint32_t)j, &sp, &dp);
        bool syn = flags & VW_TCP_SYN;
        s->len[j] = bh_tcp(h,
                           &(struct tk_tcp_spec){.dst = dst_gw,
                                                 .sport = sp,
                                                 .dport = dp,
                                                 .seq = seq,
                                                 .flags = flags,
                                                 .window = 65535,
                                                 .opt_mss = syn,
                                                 .mss = syn ? 1460 : 0,
                                                 .opt_wscale = syn,
                                                 .wscale = syn ? 7 : 0},
                           s->data[j], FRAME_SMALL);
        if (s->len[j] == 0)
            die("cannot build a SYN frame");
    }
}

__attribute__((noinline)) static void measured_syn_batch(vnat *nat, uint64_t *now,
                                                         const struct syn_frames *s)
{
    for (int j = 0; j < SYN_BATCH; j++) {
        *now += EVENT_NS;
        vnat_on_guest_frame(nat, *now, s->data[j], s->len[j]);
    }
}

/* One batch of SYNs (timed), then RSTs for them (untimed), so the number of
 * pending connects returns to `pending`. Returns the ns the SYNs took. */
static uint64_t syn_batch(struct bh *h, uint64_t *now, uint32_t *next_tuple, uint32_t pending)
{
    static struct syn_frames syns, rsts;
    build_syns(h, &syns, *next_tuple, VW_TCP_SYN, 1000);
    build_syns(h, &rsts, *next_tuple, VW_TCP_RST, 1001);
    *next_tuple += SYN_BATCH;
    uint64_t connects = h->connects, closes = h->closes;
    uint64_t t0 = bo_now_ns();
    measured_syn_batch(h->nat, now, &syns);
    uint64_t t1 = bo_now_ns();
    struct vnat_stats st = stats_of(h);
    if (h->connects != connects + SYN_BATCH ||
        st.tcp_flows_by_state[VNAT_TCP_CONNECTING] != pending + SYN_BATCH)
        die("a timed SYN did not create a pending connect");
    for (int j = 0; j < SYN_BATCH; j++) {
        *now += EVENT_NS;
        vnat_on_guest_frame(h->nat, *now, rsts.data[j], rsts.len[j]);
    }
    st = stats_of(h);
    if (h->closes != closes + SYN_BATCH || st.tcp_flows_by_state[VNAT_TCP_CONNECTING] != pending)
        die("the guest RSTs did not remove the timed flows");
    return t1 - t0;
}

static void bench_syn_level(const struct opts *o, uint32_t pending, uint32_t max_flows, int batches,
                            double *samples)
{
    struct vnat_config cfg;
    vnat_config_init(&cfg);
    cfg.seed = 0x5eed;
    cfg.max_flows = max_flows;
    cfg.max_tcp_flows = max_flows;
    /* Nothing may be reaped while the table fills and the runs go on. */
    cfg.connect_timeout_ns = 3600ull * 1000000000ull;
    struct bh h;
    if (bh_init(&h, &cfg) != 0)
        die("bh_init");
    uint64_t now = 0;
    static struct syn_frames fill;
    for (uint32_t i = 0; i < pending; i += SYN_BATCH) {
        build_syns(&h, &fill, i, VW_TCP_SYN, 1000);
        for (uint32_t j = 0; j < SYN_BATCH && i + j < pending; j++) {
            now += EVENT_NS;
            vnat_on_guest_frame(h.nat, now, fill.data[j], fill.len[j]);
        }
    }
    if (stats_of(&h).tcp_flows_by_state[VNAT_TCP_CONNECTING] != pending)
        die("the table did not fill with pending connects");
    uint32_t next_tuple = SYN_TUPLE_BASE;
    if (!o->callgrind)
        for (int w = 0; w < batches / 4 + 1; w++)
            syn_batch(&h, &now, &next_tuple, pending);
    for (int r = 0; r < o->reps; r++) {
        uint64_t ns = 0;
        for (int b = 0; b < batches; b++)
            ns += syn_batch(&h, &now, &next_tuple, pending);
        samples[r] = (double)ns / ((double)batches * SYN_BATCH);
    }
    bh_free(&h);
}

static void bench_syn(const struct opts *o)
{
    static const uint32_t levels[] = {0, 10, 100, 1000, SYN_PENDING_MAX};
    const uint32_t max_flows = o->syn_table ? o->syn_table : SYN_PENDING_MAX + 1024;
    int batches = o->smoke ? 2 : o->callgrind ? 16 : 64;
    double lo = 0, hi = 0;
    int measured = 0;
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "tcp_syn_pending_%u", levels[i]);
        if (!selected(o, "tcp_syn", name))
            continue;
        double samples[BO_MAX_RUNS];
        bench_syn_level(o, levels[i], max_flows, batches, samples);
        struct bo_result *r =
            bo_add(&report, name, "ns/syn", samples, o->reps, "< 300 ns; flat (max/min <= 1.5)",
                   "\"pending\": %u, \"max_flows\": %u, \"batch\": %d, \"ops_per_run\": %d, "
                   "\"syns_per_run\": %d",
                   levels[i], max_flows, SYN_BATCH, batches * SYN_BATCH, batches * SYN_BATCH);
        if (measured == 0 || r->median < lo)
            lo = r->median;
        if (measured == 0 || r->median > hi)
            hi = r->median;
        measured++;
    }
    if (measured == 5) {
        double ratio = hi / lo;
        bo_add(&report, "tcp_syn_flatness", "ratio", &ratio, 1, "<= 1.5",
               "\"of\": \"max/min of the tcp_syn_pending_* medians\"");
    }
}

/* ------------------------------------------------------------------ */
/* Steady-state data, each way                                         */
/* ------------------------------------------------------------------ */

struct data_setup {
    struct bh h;
    uint64_t now;
    vnat_token tok;
    uint32_t core_nxt, guest_nxt;
    uint16_t mss;
};

static void data_setup(struct data_setup *d, uint32_t mtu)
{
    struct vnat_config cfg;
    vnat_config_init(&cfg);
    cfg.seed = 0x5eed;
    cfg.mtu = mtu;
    if (bh_init(&d->h, &cfg) != 0)
        die("bh_init");
    d->now = 0;
    d->mss = (uint16_t)(mtu - 40);
    if (bh_handshake(&d->h, &d->now, dst_gw, 40000, 5201, d->mss, 65535, &d->tok, &d->core_nxt,
                     &d->guest_nxt) != 0)
        die("handshake");
}

__attribute__((noinline)) static void measured_g2h(vnat *nat, uint64_t *now, uint8_t *frame,
                                                   size_t len, uint32_t *seq, uint32_t mss, int n)
{
    for (int i = 0; i < n; i++) {
        bh_set_seq(frame, *seq);
        *now += EVENT_NS;
        vnat_on_guest_frame(nat, *now, frame, len);
        *seq += mss;
    }
}

static uint64_t g2h_run(struct data_setup *d, uint8_t *frame, size_t len, int n)
{
    uint64_t frames = d->h.frames, bytes = d->h.send_bytes;
    uint64_t t0 = bo_now_ns();
    measured_g2h(d->h.nat, &d->now, frame, len, &d->guest_nxt, d->mss, n);
    uint64_t t1 = bo_now_ns();
    if (d->h.send_bytes != bytes + (uint64_t)n * d->mss || d->h.frames != frames + (uint64_t)n)
        die("guest->host: a segment was not taken whole and acknowledged");
    return t1 - t0;
}

__attribute__((noinline)) static void measured_h2g(struct bh *h, uint64_t *now, vnat_token tok,
                                                   uint8_t *ack_frame, size_t ack_len,
                                                   uint32_t *ack, uint32_t mss, int n)
{
    for (int i = 0; i < n; i++) {
        h->rx_avail += mss; /* the remote peer's segment arrived */
        *now += EVENT_NS;
        vnat_on_readable(h->nat, *now, tok);
        *ack += mss;
        bh_set_ack(ack_frame, *ack);
        *now += EVENT_NS;
        vnat_on_guest_frame(h->nat, *now, ack_frame, ack_len);
    }
}

static uint64_t h2g_run(struct data_setup *d, uint8_t *frame, size_t len, uint32_t *ack, int n)
{
    uint64_t frames = d->h.frames, peeked = d->h.peek_bytes, disc = d->h.discard_bytes;
    uint64_t t0 = bo_now_ns();
    measured_h2g(&d->h, &d->now, d->tok, frame, len, ack, d->mss, n);
    uint64_t t1 = bo_now_ns();
    uint64_t want = (uint64_t)n * d->mss;
    if (d->h.frames != frames + (uint64_t)n || d->h.peek_bytes != peeked + want ||
        d->h.discard_bytes != disc + want || d->h.rx_avail != 0)
        die("host->guest: a segment was not sent whole, acknowledged and discarded");
    return t1 - t0;
}

static void bench_data(const struct opts *o, int g2h, uint32_t mtu)
{
    char name[64], gname[64];
    const char *fam = g2h ? "tcp_g2h" : "tcp_h2g";
    snprintf(name, sizeof name, "%s_mtu%u", fam, mtu);
    snprintf(gname, sizeof gname, "%s_mtu%u_gbps", fam, mtu);
    if (!selected(o, fam, name) && !selected(o, fam, gname))
        return;
    /* About 10-40 ms per repetition on this machine. */
    int n = mtu > 9000 ? 2000 : 20000;
    if (o->smoke)
        n = 20;
    else if (o->callgrind)
        n /= 10;
    static struct data_setup d;
    data_setup(&d, mtu);
    size_t cap = mtu + 14;
    uint8_t *frame = malloc(cap);
    if (frame == NULL)
        die("out of memory");
    size_t len;
    uint32_t ack = d.core_nxt;
    len = bh_tcp(&d.h,
                 &(struct tk_tcp_spec){.dst = dst_gw,
                                       .sport = 40000,
                                       .dport = 5201,
                                       .seq = d.guest_nxt,
                                       .ack = d.core_nxt,
                                       .flags = g2h ? VW_TCP_ACK | VW_TCP_PSH : VW_TCP_ACK,
                                       .window = 65535,
                                       .len = g2h ? d.mss : 0},
                 frame, cap);
    if (len == 0)
        die("cannot build a data frame");
    if (!o->callgrind)
        g2h ? g2h_run(&d, frame, len, n / 5 + 1) : h2g_run(&d, frame, len, &ack, n / 5 + 1);
    double ns[BO_MAX_RUNS], gbps[BO_MAX_RUNS];
    for (int r = 0; r < o->reps; r++) {
        uint64_t t = g2h ? g2h_run(&d, frame, len, n) : h2g_run(&d, frame, len, &ack, n);
        ns[r] = (double)t / n;
        gbps[r] = d.mss * 8.0 / ns[r]; /* bits per ns = Gbit/s */
    }
    const char *what = g2h ? "guest data segment in, host send() takes it, ACK out"
                           : "readable, peek into the frame, segment out, guest ACK in";
    bo_add(&report, name, "ns/segment", ns, o->reps, "",
           "\"mtu\": %u, \"mss\": %u, \"ops_per_run\": %d, \"segments_per_run\": %d, "
           "\"per_segment\": \"%s\"",
           mtu, d.mss, n, n, what);
    bo_add(&report, gname, "Gbps", gbps, o->reps, "",
           "\"mtu\": %u, \"mss\": %u, \"of\": \"payload bits / ns per segment\"", mtu, d.mss);
    free(frame);
    bh_free(&d.h);
}

/* ------------------------------------------------------------------ */
/* Memory per flow                                                     */
/* ------------------------------------------------------------------ */

static void bench_memory(const struct opts *o)
{
    static const uint32_t sizes[] = {1000000, 1u << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "tcp_memory_per_flow_%u", sizes[i]);
        if (!selected(o, "tcp_memory", name))
            continue;
        struct vnat_config cfg;
        vnat_config_init(&cfg);
        cfg.seed = 0x5eed;
        cfg.max_flows = sizes[i];
        size_t total = vnat_memory_size(&cfg);
        if (total == 0)
            die("vnat_memory_size refused the configuration");
        double per = (double)total / sizes[i];
        bo_add(&report, name, "bytes/flow", &per, 1, "<= 256",
               "\"max_flows\": %u, \"memory_size\": %zu, \"of\": "
               "\"vnat_memory_size(cfg) / max_flows\"",
               sizes[i], total);
    }
    if (selected(o, "tcp_memory", "tcp_memory_flow_sizeof")) {
        double sz = (double)sizeof(struct flow);
        bo_add(&report, "tcp_memory_flow_sizeof", "bytes", &sz, 1, "<= 256",
               "\"of\": \"sizeof(struct flow)\", \"tcp_part\": %zu, \"per_flow_index\": %zu",
               sizeof(struct tcp_flow), 2 * sizeof(uint32_t));
    }
}

/* ------------------------------------------------------------------ */

static void usage(void)
{
    fprintf(stderr, "usage: bench_tcp [--json FILE] [--reps N] [--smoke] [--callgrind] "
                    "[--only NAME[,NAME...]] [--syn-table MAX_FLOWS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct opts o = {.reps = 7};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            o.json = argv[++i];
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            o.reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            o.only = argv[++i];
        else if (strcmp(argv[i], "--syn-table") == 0 && i + 1 < argc)
            o.syn_table = (uint32_t)strtoul(argv[++i], NULL, 0);
        else if (strcmp(argv[i], "--smoke") == 0)
            o.smoke = 1;
        else if (strcmp(argv[i], "--callgrind") == 0)
            o.callgrind = 1;
        else
            usage();
    }
    if (o.smoke)
        o.reps = 2;
    if (o.callgrind)
        o.reps = 1;
    if (o.reps < 1 || o.reps > BO_MAX_RUNS)
        usage();
    bench_syn(&o);
    bench_data(&o, 1, 1500);
    bench_data(&o, 1, 65520);
    bench_data(&o, 0, 1500);
    bench_data(&o, 0, 65520);
    bench_memory(&o);
    bo_print_table(&report, stdout);
    if (o.json != NULL && bo_write_json(&report, o.json) != 0)
        return 1;
    return 0;
}
