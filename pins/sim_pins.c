/*
 * sim_pins.c — pins of the simulator's own pieces, tested without the core:
 * the event queue's (time, sequence) order, the random source (seeded and
 * byte-fed), the stream pattern and its verifier, the guest TCP endpoint
 * talking to a second instance of itself over a lossy, reordering loopback,
 * the trace format (encode, read back, hash), and the one text grammar of
 * the scenario files (sim/parse.c: values by kind, addresses, errors with
 * FILE:LINE) as scenario.c, gsvc.c and inbound.c use it.
 */
#include "pin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gtcp.h"
#include "parse.h"
#include "pcap.h"
#include "pattern.h"
#include "queue.h"
#include "rng.h"
#include "sim.h"
#include "trace.h"

PIN(queue_pops_by_time_then_push_order)
{
    struct sim_queue q;
    assert_int_equal(sim_queue_init(&q, 2, 64, 100), 0);
    /* same time three times, pushed out of time order overall */
    assert_int_equal(sim_queue_push(&q, 300, 1, 0, 0, NULL), 0);
    assert_int_equal(sim_queue_push(&q, 200, 2, 0, 0, NULL), 0);
    assert_int_equal(sim_queue_push(&q, 200, 3, 0, 0, NULL), 0);
    assert_int_equal(sim_queue_push(&q, 200, 4, 0, 0, NULL), 0);
    assert_int_equal(sim_queue_push(&q, 150, 5, 0, 0, NULL), 0);
    const uint32_t want[] = {5, 2, 3, 4, 1};
    struct sim_event ev;
    for (size_t i = 0; i < 5; i++) {
        assert_true(sim_queue_pop(&q, &ev));
        assert_int_equal(ev.kind, want[i]);
        assert_true(q.now == ev.at);
    }
    assert_false(sim_queue_pop(&q, &ev));
    assert_true(sim_queue_peek_time(&q) == UINT64_MAX);
    sim_queue_free(&q);
}

PIN(queue_never_runs_back_and_is_bounded)
{
    struct sim_queue q;
    assert_int_equal(sim_queue_init(&q, 1, 3, 1000), 0);
    assert_int_equal(sim_queue_push(&q, 5, 1, 0, 0, NULL), 0); /* the past: clamped to now */
    struct sim_event ev;
    assert_true(sim_queue_pop(&q, &ev));
    assert_true(ev.at == 1000);
    assert_true(q.now == 1000);
    for (int i = 0; i < 3; i++)
        assert_int_equal(sim_queue_push(&q, 2000, 1, 0, 0, NULL), 0);
    assert_int_equal(sim_queue_push(&q, 2000, 1, 0, 0, NULL), -1); /* the bound holds */
    sim_queue_free(&q);
}

PIN(rng_seed_and_bytes_replay_exactly)
{
    struct sim_rng a, b;
    sim_rng_seed(&a, 42);
    sim_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++)
        assert_true(sim_rng_u64(&a) == sim_rng_u64(&b));
    sim_rng_seed(&b, 43);
    assert_true(sim_rng_u64(&a) != sim_rng_u64(&b));

    const uint8_t bytes[] = {7, 0, 0, 0, 9, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3};
    sim_rng_from_bytes(&a, bytes, sizeof bytes);
    sim_rng_from_bytes(&b, bytes, sizeof bytes);
    /* the first draws are the bytes themselves */
    assert_true(sim_rng_below(&a, 100) == 7);
    assert_true(sim_rng_below(&a, 100) == 9);
    assert_true(sim_rng_below(&a, 1000) == 0xffffffffu % 1000);
    (void)sim_rng_below(&b, 100);
    (void)sim_rng_below(&b, 100);
    (void)sim_rng_below(&b, 1000);
    /* past the end both continue identically (keyed by all the input) */
    for (int i = 0; i < 100; i++)
        assert_true(sim_rng_u64(&a) == sim_rng_u64(&b));
    /* a different input diverges once the bytes run out */
    uint8_t other[sizeof bytes];
    memcpy(other, bytes, sizeof bytes);
    other[14] ^= 1;
    sim_rng_from_bytes(&a, bytes, sizeof bytes);
    sim_rng_from_bytes(&b, other, sizeof other);
    for (int i = 0; i < 4; i++)
        (void)sim_rng_u64(&a), (void)sim_rng_u64(&b);
    assert_true(sim_rng_u64(&a) != sim_rng_u64(&b));
    /* a zero rate never draws */
    uint64_t before = a.draws;
    assert_false(sim_rng_chance(&a, 0));
    assert_true(a.draws == before);
}

PIN(pattern_verifier_names_the_first_wrong_byte)
{
    sim_pattern_init();
    uint8_t buf[5000];
    sim_pattern_fill(12345, 0, buf, sizeof buf);
    struct sim_verifier v;
    sim_verifier_init(&v, 12345);
    assert_true(sim_verifier_feed(&v, buf, 3));
    assert_true(sim_verifier_feed(&v, buf + 3, 1000));
    buf[2500] ^= 0x10;
    assert_false(sim_verifier_feed(&v, buf + 1003, sizeof buf - 1003));
    assert_true(v.bad_off == 2500);
    /* a stream with another salt fails at its header */
    sim_pattern_fill(999, 0, buf, 16);
    sim_verifier_init(&v, 12345);
    assert_false(sim_verifier_feed(&v, buf, 16));
    assert_true(v.bad_off == 0);
    /* out-of-order checks at an offset */
    sim_pattern_fill(777, 0, buf, sizeof buf);
    sim_verifier_init(&v, 0);
    assert_true(sim_verifier_feed(&v, buf, 8));
    assert_true(sim_verifier_check_at(&v, 4000, buf + 4000, 1000));
    assert_false(sim_verifier_check_at(&v, 4001, buf + 4000, 1000));
}

/* ---- the guest TCP endpoint against itself ------------------------------- */

struct loop {
    struct sim_queue q;
    struct sim_rng rng;
    struct gtcp_stack st[2];
    uint32_t loss_ppm, reorder_ppm;
    uint64_t delay;    /* one way, 100 us if 0 */
    uint32_t rcvbuf0;  /* the client's receive buffer, the default if 0 */
    uint64_t bytes[2]; /* what each side writes */
    int outcome[2];
    uint64_t received[2];
    bool verify_ok[2];
    uint64_t frames;
};

struct loop_frame {
    int to;
    size_t len;
    uint8_t data[];
};

/* The stacks are st[0] (the client, .15) and st[1] (the server, .2) of one
 * struct loop, and each is its own ops context: find the loop from it. */
static struct loop *loop_of(void *ctx, int *side)
{
    struct gtcp_stack *s = ctx;
    *side = s->cfg.ip[3] == 15 ? 0 : 1;
    return (struct loop *)((char *)(s - *side) - offsetof(struct loop, st));
}

static uint8_t *lp_alloc(void *ctx, size_t cap)
{
    (void)ctx;
    struct loop_frame *f = malloc(sizeof *f + cap);
    /* ownership passes to lp_send, which frees or queues it */
    // cppcheck-suppress memleak
    return f ? f->data : NULL;
}

static void lp_send(void *ctx, uint8_t *frame, size_t len)
{
    int side;
    struct loop *l = loop_of(ctx, &side);
    struct loop_frame *f = (struct loop_frame *)(frame - offsetof(struct loop_frame, data));
    f->to = 1 - side;
    f->len = len;
    l->frames++;
    if (sim_rng_chance(&l->rng, l->loss_ppm)) {
        free(f);
        return;
    }
    uint64_t delay =
        (l->delay ? l->delay : 100000) + (sim_rng_chance(&l->rng, l->reorder_ppm) ? 300000 : 0);
    assert_int_equal(sim_queue_push(&l->q, l->q.now + delay, 1, 0, 0, f), 0);
}

static void lp_timer(void *ctx, struct gtcp_conn *c, uint64_t at)
{
    int side;
    struct loop *l = loop_of(ctx, &side);
    assert_int_equal(
        sim_queue_push(&l->q, at, 2, (uint32_t)side, ((uint64_t)c->gen << 32) | c->index, NULL), 0);
}

static void lp_event(void *ctx, struct gtcp_conn *c, enum gtcp_event ev)
{
    int side;
    struct loop *l = loop_of(ctx, &side);
    struct gtcp_stack *s = &l->st[side];
    switch (ev) {
    case GTE_ESTABLISHED:
    case GTE_ACCEPTED:
        if (side == 1)
            c->snd_salt = 0xb0b;
        gtcp_write(s, l->q.now, c, l->bytes[side]);
        break;
    case GTE_DATA:
        gtcp_consume(s, l->q.now, c, c->rcv_used);
        break;
    case GTE_ACKED:
        gtcp_close(s, l->q.now, c);
        break;
    case GTE_PEER_FIN:
        break;
    case GTE_DONE:
        l->outcome[side] = c->outcome;
        l->received[side] = c->rcv_total;
        l->verify_ok[side] = !c->ver.bad && c->ver.salt == (side == 0 ? 0xb0bu : 0xa11ceu);
        break;
    }
}

static void loop_run(struct loop *l, uint32_t mtu, int wscale)
{
    const struct gtcp_ops ops = {lp_alloc, lp_send, lp_timer, lp_event, NULL};
    struct gtcp_cfg a, b;
    gtcp_cfg_default(&a);
    a.mtu = mtu;
    a.wscale = wscale;
    b = a;
    if (l->rcvbuf0)
        a.rcvbuf = l->rcvbuf0;
    const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 0xa}, mac_b[6] = {2, 0, 0, 0, 0, 0xb};
    memcpy(a.mac, mac_a, 6);
    memcpy(a.peer_mac, mac_b, 6);
    memcpy(b.mac, mac_b, 6);
    memcpy(b.peer_mac, mac_a, 6);
    b.ip[3] = 2;
    b.isn_seed = 99;
    sim_pattern_init();
    assert_int_equal(sim_queue_init(&l->q, 64, 1u << 20, 0), 0);
    assert_int_equal(gtcp_init(&l->st[0], &a, &ops, &l->st[0]), 0);
    assert_int_equal(gtcp_init(&l->st[1], &b, &ops, &l->st[1]), 0);
    assert_int_equal(gtcp_listen(&l->st[1], 80), 0);
    assert_non_null(gtcp_connect(&l->st[0], 0, b.ip, 80, 0xa11ce, 0));
    struct sim_event ev;
    for (uint64_t guard = 0; guard < 10000000 && sim_queue_pop(&l->q, &ev); guard++) {
        if (ev.kind == 1) {
            struct loop_frame *f = ev.ptr;
            gtcp_on_frame(&l->st[f->to], l->q.now, f->data, f->len);
            free(f);
        } else {
            gtcp_on_timer(&l->st[ev.arg], l->q.now, (uint32_t)ev.id, (uint32_t)(ev.id >> 32));
        }
    }
    gtcp_free(&l->st[0]);
    gtcp_free(&l->st[1]);
    sim_queue_free(&l->q);
}

PIN(gtcp_loopback_bulk_both_ways_clean)
{
    struct loop *l = calloc(1, sizeof *l);
    sim_rng_seed(&l->rng, 1);
    l->bytes[0] = 3 * 1000 * 1000;
    l->bytes[1] = 2 * 1000 * 1000 + 7;
    loop_run(l, 1500, 7);
    assert_int_equal(l->outcome[0], GO_COMPLETE);
    assert_int_equal(l->outcome[1], GO_COMPLETE);
    assert_true(l->received[1] == l->bytes[0]);
    assert_true(l->received[0] == l->bytes[1]);
    assert_true(l->verify_ok[0] && l->verify_ok[1]);
    free(l);
}

/* The client closes at once and waits in FIN_WAIT_2 while the server's
 * stream, paced by the client's 2 KiB window over a 2 s round trip, takes
 * about 80 s: a peer still sending is alive, so the 60 s FIN_WAIT_2 give-up
 * must not fire (swarm inputs fin-wait-2-while-receiving-*). */
PIN(gtcp_fin_wait_2_waits_while_the_peer_still_sends)
{
    struct loop *l = calloc(1, sizeof *l);
    sim_rng_seed(&l->rng, 1);
    l->delay = 1000ull * 1000 * 1000;
    l->rcvbuf0 = 2048;
    l->bytes[0] = 100;
    l->bytes[1] = 40 * 2048;
    loop_run(l, 1500, -1);
    assert_int_equal(l->outcome[0], GO_COMPLETE);
    assert_int_equal(l->outcome[1], GO_COMPLETE);
    assert_true(l->received[0] == l->bytes[1]);
    assert_true(l->verify_ok[0] && l->verify_ok[1]);
    free(l);
}

PIN(gtcp_loopback_survives_loss_and_reordering)
{
    for (uint64_t seed = 1; seed <= 4; seed++) {
        struct loop *l = calloc(1, sizeof *l);
        sim_rng_seed(&l->rng, seed);
        l->loss_ppm = 30000;
        l->reorder_ppm = 50000;
        l->bytes[0] = 400 * 1000;
        l->bytes[1] = 300 * 1000;
        loop_run(l, seed % 2 ? 1500 : 9000, seed % 2 ? -1 : 5);
        assert_int_equal(l->outcome[0], GO_COMPLETE);
        assert_int_equal(l->outcome[1], GO_COMPLETE);
        assert_true(l->received[1] == l->bytes[0]);
        assert_true(l->received[0] == l->bytes[1]);
        assert_true(l->verify_ok[0] && l->verify_ok[1]);
        free(l);
    }
}

PIN(trace_roundtrip_and_hash_match)
{
    char *mem = NULL;
    size_t memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    assert_non_null(f);
    struct vnat_sockaddr dst = {.ip = vnat_ip4(192, 0, 2, 1), .port = 443};
    const uint8_t frame[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    struct vnat_log_record recs[4];
    memset(recs, 0, sizeof recs);
    recs[0].kind = VNAT_LOG_EV_FRAME;
    recs[0].now = 123456789;
    recs[0].b = 123456789;
    recs[0].data = frame;
    recs[0].len = sizeof frame;
    recs[1].kind = VNAT_LOG_OP;
    recs[1].op = VNAT_OP_TCP_CONNECT;
    recs[1].now = 123456789;
    recs[1].token = 0x100000002ull;
    recs[1].addr = &dst;
    recs[2].kind = VNAT_LOG_OP;
    recs[2].op = VNAT_OP_PEEK;
    recs[2].token = 7;
    recs[2].a = 1 << 20;
    recs[2].b = -11;
    recs[3].kind = VNAT_LOG_EV_TICK;
    recs[3].now = UINT64_MAX;
    struct vnat_trace_hash th;
    vnat_trace_hash_init(&th);
    assert_int_equal(vnat_trace_write_header(f), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(vnat_trace_write(f, &recs[i]), 0);
        vnat_trace_hash_record(&th, &recs[i]);
    }
    fclose(f);
    f = fmemopen(mem, memlen, "rb");
    struct vnat_trace_reader r;
    vnat_trace_reader_init(&r, f);
    struct vnat_trace_hash th2;
    vnat_trace_hash_init(&th2);
    struct vnat_log_record got;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(vnat_trace_read(&r, &got), 1);
        char why[512];
        assert_int_equal(vnat_trace_compare(&recs[i], &got, why, sizeof why), 0);
        vnat_trace_hash_record(&th2, &got);
    }
    assert_int_equal(vnat_trace_read(&r, &got), 0);
    assert_true(vnat_trace_hash_final(&th) == vnat_trace_hash_final(&th2));
    /* one changed byte changes the hash */
    recs[0].now++;
    vnat_trace_hash_init(&th2);
    for (int i = 0; i < 4; i++)
        vnat_trace_hash_record(&th2, &recs[i]);
    assert_true(vnat_trace_hash_final(&th) != vnat_trace_hash_final(&th2));
    vnat_trace_reader_free(&r);
    fclose(f);
    free(mem);
}

PIN(trace_reader_rejects_truncation)
{
    const uint8_t bad[] = {VNAT_LOG_EV_FRAME, 0x40, 0x05, 1,
                           2}; /* 5 data bytes promised, 2 given */
    FILE *f = fmemopen((void *)bad, sizeof bad, "rb");
    struct vnat_trace_reader r;
    vnat_trace_reader_init(&r, f);
    struct vnat_log_record got;
    assert_int_equal(vnat_trace_read(&r, &got), -1);
    vnat_trace_reader_free(&r);
    fclose(f);
}

/* Record a small run's boundary log, replay it: every record matches and
 * the replayed hash is the run's trace hash. Flip one byte of the last
 * frame the core sent: the replay names that record as the first
 * difference. */
PIN(replay_file_matches_and_finds_a_changed_output)
{
    struct sim_config cfg;
    char err[256];
    sim_config_init(&cfg);
    const char *text = "dest 198.51.100.1:80 accept echo\n"
                       "dest 198.51.100.2:80 refuse\n"
                       "flows e count=2 to=198.51.100.1:80 send=20K spacing=1ms\n"
                       "flows r to=198.51.100.2:80\n";
    assert_int_equal(sim_scenario_parse(text, "replay.scn", &cfg, err, sizeof err), 0);
    char *mem = NULL;
    size_t memlen = 0;
    FILE *bin = open_memstream(&mem, &memlen);
    struct sim_result res;
    assert_int_equal(sim_run(&cfg, NULL, bin, &res, NULL), 0);
    fclose(bin);
    sim_config_free(&cfg);

    FILE *f = fmemopen(mem, memlen, "rb");
    struct vnat_replay_result rr;
    assert_int_equal(vnat_replay_file(f, &rr), 0);
    fclose(f);
    assert_true(rr.records == res.records);
    assert_true(rr.hash == res.hash);

    /* find the last OUT_FRAME record and where its bytes end */
    f = fmemopen(mem, memlen, "rb");
    struct vnat_trace_reader r;
    vnat_trace_reader_init(&r, f);
    struct vnat_log_record rec;
    long last_end = -1;
    int64_t last_index = -1, index = 0;
    while (vnat_trace_read(&r, &rec) == 1) {
        if (rec.kind == VNAT_LOG_OUT_FRAME) {
            last_end = ftell(f);
            last_index = index;
        }
        index++;
    }
    vnat_trace_reader_free(&r);
    fclose(f);
    assert_true(last_end > 0);
    mem[last_end - 1] ^= 0x01; /* the frame's last byte */
    f = fmemopen(mem, memlen, "rb");
    assert_int_equal(vnat_replay_file(f, &rr), 1);
    assert_true(rr.index == last_index);
    assert_non_null(strstr(rr.why, "data bytes"));
    fclose(f);
    free(mem);
}

PIN(scenario_parser_names_the_bad_line)
{
    struct sim_config cfg;
    char err[256];
    sim_config_init(&cfg);
    const char *text = "dest 198.51.100.1:80 accept echo\n"
                       "flows g count=2 to=198.51.100.1:80 send=4K\n"
                       "expect g.complete == 2\n";
    assert_int_equal(sim_scenario_parse(text, "ok.scn", &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.n_flows, 2);
    assert_true(cfg.flows[1].send == 4096);
    assert_int_equal(cfg.n_expects, 1);
    sim_config_free(&cfg);
    sim_config_init(&cfg);
    const char *bad = "dest 198.51.100.1:80 accept\n"
                      "link loss=3 percent\n";
    assert_int_equal(sim_scenario_parse(bad, "bad.scn", &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad.scn:2"));
    sim_config_free(&cfg);
    bool ok;
    assert_true(sim_parse_duration("1.5s", &ok) == 1500000000ull && ok);
    assert_true(sim_parse_duration("250us", &ok) == 250000ull && ok);
    (void)sim_parse_duration("5 parsecs", &ok);
    assert_false(ok);
}

PIN(parse_values_take_the_units_of_their_kind)
{
    uint64_t v = 0;
    assert_true(sim_parse_value("1.5s", SIM_NUM_TIME, &v) && v == 1500000000ull);
    assert_true(sim_parse_value("250us", SIM_NUM_TIME, &v) && v == 250000ull);
    assert_true(sim_parse_value("2m", SIM_NUM_TIME, &v) && v == 120000000000ull);
    assert_true(sim_parse_value("7", SIM_NUM_TIME, &v) && v == 7); /* nanoseconds */
    assert_true(sim_parse_value("64K", SIM_NUM_NUMBER, &v) && v == 65536);
    assert_true(sim_parse_value("2MiB", SIM_NUM_NUMBER, &v) && v == 2097152);
    assert_true(sim_parse_value("1000", SIM_NUM_NUMBER, &v) && v == 1000);
    assert_true(sim_parse_value("2.5%", SIM_NUM_RATE, &v) && v == 25000);
    assert_true(sim_parse_value("40ppm", SIM_NUM_RATE, &v) && v == 40);
    assert_true(sim_parse_value("1M", SIM_NUM_ANY, &v) && v == 1048576);
    assert_true(sim_parse_value("3ms", SIM_NUM_ANY, &v) && v == 3000000);
    /* a unit of another kind, no digits, junk, overflow */
    v = 42;
    assert_false(sim_parse_value("5K", SIM_NUM_TIME, &v));
    assert_false(sim_parse_value("5ms", SIM_NUM_NUMBER, &v));
    assert_false(sim_parse_value("5s", SIM_NUM_RATE, &v));
    assert_false(sim_parse_value("3%", SIM_NUM_NUMBER, &v));
    assert_false(sim_parse_value("", SIM_NUM_ANY, &v));
    assert_false(sim_parse_value("s", SIM_NUM_TIME, &v));
    assert_false(sim_parse_value("-1", SIM_NUM_NUMBER, &v));
    assert_false(sim_parse_value("5 parsecs", SIM_NUM_ANY, &v));
    assert_false(sim_parse_value("1.5.2s", SIM_NUM_TIME, &v));
    assert_false(sim_parse_value("99999999999999999999", SIM_NUM_NUMBER, &v));
    assert_false(sim_parse_value("99999999999G", SIM_NUM_NUMBER, &v));
    assert_true(v == 42); /* nothing written on failure */
    bool ok;
    assert_true(sim_parse_duration("1.5s", &ok) == 1500000000ull && ok);
    (void)sim_parse_duration("5 parsecs", &ok);
    assert_false(ok);
    (void)sim_parse_duration("5K", &ok);
    assert_false(ok);
}

PIN(parse_addresses_have_one_grammar)
{
    struct vnat_sockaddr a;
    assert_true(sim_parse_addr("10.0.2.3:53", SIM_PORT_REQUIRED, &a));
    assert_memory_equal(a.ip.addr, "\x0a\x00\x02\x03", 4);
    assert_int_equal(a.port, 53);
    assert_true(sim_parse_addr("198.51.100.9", SIM_PORT_OPTIONAL, &a) && a.port == 0);
    assert_true(sim_parse_addr("198.51.100.9:4000", SIM_PORT_OPTIONAL, &a) && a.port == 4000);
    assert_true(sim_parse_addr("255.255.255.255:65535", SIM_PORT_REQUIRED, &a));
    assert_true(sim_parse_addr("0.0.0.0", SIM_PORT_NONE, &a));
    static const char *const bad_required[] = {
        "10.0.2.300:53", "10.0.2.3", "10.0.2.3:70000", "10.0.2.3:1K", "1.2.3:80",   "1.2.3.4.5:80",
        "10.0.2.3:",     ":53",      "a.b.c.d:1",      " 1.2.3.4:5",  "1.2.3.4:5 ", "1..2.3:4",
    };
    for (size_t i = 0; i < sizeof bad_required / sizeof bad_required[0]; i++)
        assert_false(sim_parse_addr(bad_required[i], SIM_PORT_REQUIRED, &a));
    assert_false(sim_parse_addr("10.0.2.3:53", SIM_PORT_NONE, &a));
    assert_false(sim_parse_addr("10.0.2.256", SIM_PORT_OPTIONAL, &a));
    uint8_t ip[4];
    assert_true(sim_parse_ip4("192.0.2.7", ip) && ip[3] == 7);
    assert_false(sim_parse_ip4("192.0.2", ip));
    assert_false(sim_parse_ip4("192.0.2.7:1", ip));
    char err[128];
    struct sim_parser p = {.err = err, .err_len = sizeof err};
    struct vnat_ip net;
    uint8_t prefix = 0;
    assert_true(sim_parse_cidr(&p, "10.0.0.0/8", &net, &prefix) && prefix == 8);
    assert_true(sim_parse_cidr(&p, "10.1.2.3", &net, &prefix) && prefix == 32);
    assert_memory_equal(net.addr, "\x0a\x01\x02\x03", 4);
    assert_false(p.bad);
    assert_false(sim_parse_cidr(&p, "10.0.0.0/33", &net, &prefix));
    assert_string_equal(err, "bad CIDR (want a.b.c.d/N): 10.0.0.0/33"); /* no file: no prefix */
    p.bad = false;
    assert_false(sim_parse_cidr(&p, "10.0.0/8", &net, &prefix));
    assert_false(sim_parse_cidr(&p, "10.0.0.0/", &net, &prefix));
}

/* Parse text as a scenario; on failure err holds the message. */
static int parse_text(const char *text, struct sim_config *cfg, char *err, size_t len)
{
    sim_config_init(cfg);
    int rc = sim_scenario_parse(text, "f.scn", cfg, err, len);
    return rc;
}

PIN(parse_good_lines_of_every_directive_family)
{
    struct sim_config cfg;
    char err[256] = "";
    const char *text = "core dns_server=10.0.2.3:53 idle_timeout=30s mtu=1500 dns_cache=on\n"
                       "link to_core delay=2ms loss=1.5%\n"
                       "dest 198.51.100.1:80 accept echo latency=3ms sndbuf=64K\n"
                       "flows g count=2 to=198.51.100.1:80 send=4K spacing=1ms\n"
                       "udp u1 to=198.51.100.1:53 interval=5ms size=100\n"
                       "ping p1 to=198.51.100.1\n"
                       "dhcp retry=500ms tries=3 request=10.0.2.15\n"
                       "rule deny tcp 10.0.0.0/8 ports=80-90\n"
                       "forward tcp 127.0.0.1:8080 guest_port=80\n"
                       "inbound i1 via=127.0.0.1:8080 from=198.51.100.9:4000 start=1s\n"
                       "expect g.complete == 2\n";
    assert_int_equal(parse_text(text, &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.core.n_dns_servers, 1);
    assert_int_equal(cfg.core.dns_servers[0].port, 53);
    assert_true(cfg.core.tcp_idle_timeout_ns == 30 * SIM_S);
    assert_int_equal(cfg.core.mtu, 1500);
    assert_true(cfg.to_core.delay == 2 * SIM_MS);
    assert_int_equal(cfg.to_core.loss_ppm, 15000);
    struct sim_config dflt;
    sim_config_init(&dflt);
    assert_true(cfg.to_guest.delay == dflt.to_guest.delay); /* to_core only */
    assert_int_equal(cfg.to_guest.loss_ppm, dflt.to_guest.loss_ppm);
    sim_config_free(&dflt);
    assert_int_equal(cfg.n_flows, 2);
    assert_true(cfg.flows[1].start == 1 * SIM_MS);
    assert_int_equal(cfg.n_svcs, 2);
    assert_true(cfg.svcs[0].interval == 5 * SIM_MS && cfg.svcs[0].size == 100);
    assert_int_equal(cfg.svcs[1].dst.port, 0);
    assert_true(cfg.dhcp.retry == 500 * SIM_MS && cfg.dhcp.tries == 3 && cfg.dhcp.has_request);
    assert_int_equal(cfg.core.n_rules, 1);
    assert_int_equal(cfg.rules[0].prefix, 8);
    assert_int_equal(cfg.rules[0].port_lo, 80);
    assert_int_equal(cfg.rules[0].port_hi, 90);
    assert_int_equal(sim_inbound_forwards(&cfg), 1);
    assert_int_equal(sim_inbound_clients(&cfg), 1);
    assert_int_equal(cfg.n_expects, 1);
    sim_config_free(&cfg);
}

/* Each bad line, on line 3 after two good ones, must fail with FILE:LINE
 * and the expected message: a parser that took the bad value fails here. */
PIN(parse_errors_name_the_file_the_line_and_the_word)
{
    static const struct {
        const char *line, *want;
    } cases[] = {
        /* a bad address, through each of the three directive parsers */
        {"core dns_server=10.0.2.300:53",
         "f.scn:3: bad address (want a.b.c.d:port): 10.0.2.300:53"},
        {"udp u1 to=198.51.100.1", "f.scn:3: bad address (want a.b.c.d:port): 198.51.100.1"},
        {"ping p1 to=198.51.100.3:1K",
         "f.scn:3: bad address (want a.b.c.d or a.b.c.d:port): 198.51.100.3:1K"},
        {"inbound i1 via=1.2.3:80", "f.scn:3: bad address (want a.b.c.d:port): 1.2.3:80"},
        {"forward tcp 127.0.0.1 guest_port=80",
         "f.scn:3: bad address (want a.b.c.d:port): 127.0.0.1"},
        {"rule allow 10.0.0.0/33", "f.scn:3: bad CIDR (want a.b.c.d/N): 10.0.0.0/33"},
        /* a bad duration (a size unit where a time goes) */
        {"link delay=5K", "f.scn:3: bad duration (a number with ns, us, ms, s, m or h): 5K"},
        {"udp u1 to=198.51.100.1:53 interval=5K",
         "f.scn:3: bad duration (a number with ns, us, ms, s, m or h): 5K"},
        {"inbound i1 via=127.0.0.1:8080 start=1K",
         "f.scn:3: bad duration (a number with ns, us, ms, s, m or h): 1K"},
        {"flows h to=198.51.100.1:80 send=5ms",
         "f.scn:3: bad number (a number, or with K, M or G): 5ms"},
        {"link loss=101%", "f.scn:3: a rate above 100%: 101%"},
        {"udp u1 to=198.51.100.1:53 size=3", "f.scn:3: out of range 8..65507: 3"},
        /* an unknown key */
        {"core bogus=1", "f.scn:3: unknown core setting: bogus"},
        {"dhcp frob=1", "f.scn:3: unknown dhcp setting: frob"},
        {"inbound i1 via=127.0.0.1:8080 zzz=junk", "f.scn:3: unknown inbound setting: zzz"},
        /* a missing '=' */
        {"core mtu", "f.scn:3: expected key=value: mtu"},
        {"dns d1 name", "f.scn:3: expected key=value: name"},
        {"forward tcp 127.0.0.1:8080 guest_port", "f.scn:3: expected key=value: guest_port"},
        {"link loss=3 percent", "f.scn:3: expected key=value: percent"},
        /* and the rest of the grammar */
        {"guest ts=maybe", "f.scn:3: expected on or off: maybe"},
        {"flows h to=198.51.100.1:80 close=later",
         "f.scn:3: close must be sent, eof, never or abort: later"},
        {"spoof s1 to=198.51.100.1 proto=sctp", "f.scn:3: proto must be udp, tcp or icmp: sctp"},
        {"frobnicate now", "f.scn:3: unknown directive: frobnicate"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sim_config cfg;
        char text[256], err[256] = "";
        snprintf(text, sizeof text,
                 "dest 198.51.100.1:80 accept # a comment\n"
                 "flows g count=1 to=198.51.100.1:80\n%s\nthis line is never read\n",
                 cases[i].line);
        int rc = parse_text(text, &cfg, err, sizeof err);
        if (rc != -1 || strcmp(err, cases[i].want) != 0)
            fail_msg("line \"%s\": rc %d, error \"%s\", want \"%s\"", cases[i].line, rc, err,
                     cases[i].want);
        sim_config_free(&cfg);
    }
    /* the first error is kept */
    char err[64];
    struct sim_parser p = {.name = "x.scn", .line = 7, .err = err, .err_len = sizeof err};
    assert_false(sim_parse_fail(&p, "first", "a"));
    assert_false(sim_parse_fail(&p, "second", "b"));
    assert_string_equal(err, "x.scn:7: first: a");
}

struct key_target {
    uint32_t n32;
    uint64_t t64;
    uint32_t rate;
};

PIN(parse_key_tables_write_the_named_field_only)
{
    static const struct sim_key keys[] = {
        SIM_KEY("n", SIM_NUM_NUMBER, struct key_target, n32),
        SIM_KEY("t", SIM_NUM_TIME, struct key_target, t64),
        SIM_KEY("r", SIM_NUM_RATE, struct key_target, rate),
    };
    char err[128] = "";
    struct sim_parser p = {.name = "k.scn", .line = 4, .err = err, .err_len = sizeof err};
    struct key_target t = {1, 2, 3};
    assert_int_equal(sim_parse_key(&p, keys, 3, &t, "n", "64K"), 1);
    assert_int_equal(sim_parse_key(&p, keys, 3, &t, "t", "2ms"), 1);
    assert_int_equal(sim_parse_key(&p, keys, 3, &t, "r", "50%"), 1);
    assert_true(t.n32 == 65536 && t.t64 == 2000000 && t.rate == 500000);
    assert_int_equal(sim_parse_key(&p, keys, 3, &t, "x", "1"), 0); /* not one of them */
    assert_false(p.bad);
    assert_int_equal(sim_parse_key(&p, keys, 3, &t, "n", "5000000000"), -1);
    assert_string_equal(err, "k.scn:4: out of range 0..4294967295: 5000000000");
    p.bad = false;
    assert_int_equal(sim_parse_key(&p, keys, 3, &t, "t", "5K"), -1);
    p.bad = false;
    assert_int_equal(sim_parse_key(&p, keys, 3, &t, "r", "120%"), -1);
    assert_true(t.n32 == 65536 && t.t64 == 2000000 && t.rate == 500000); /* untouched */
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A trace's guest-link frames become a pcap file: nanosecond magic,
 * Ethernet, stamps counted from the first frame (the simulator's clock
 * starts near 2^62 ns, beyond 32-bit seconds), frames byte-exact in order;
 * a frame the link refused and every non-frame record are left out. */
PIN(pcap_holds_the_guest_link_frames_with_virtual_time)
{
    char *mem = NULL;
    size_t memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    const uint8_t in[] = {0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
    const uint8_t out[] = {0xbb, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
    const uint64_t t0 = (1ull << 62) + 7;
    struct vnat_log_record recs[5];
    memset(recs, 0, sizeof recs);
    recs[0] = (struct vnat_log_record){
        .kind = VNAT_LOG_EV_FRAME, .now = t0, .data = in, .len = sizeof in};
    recs[1] = (struct vnat_log_record){
        .kind = VNAT_LOG_OP, .op = VNAT_OP_SEND, .now = t0, .token = 5, .data = in, .len = 3};
    recs[2] = (struct vnat_log_record){.kind = VNAT_LOG_OUT_FRAME,
                                       .op = VNAT_OP_GUEST_SEND,
                                       .now = t0 + 1500000000u,
                                       .data = out,
                                       .len = sizeof out};
    recs[3] = recs[2];
    recs[3].a = recs[3].b = 1; /* refused by the link */
    recs[4] = (struct vnat_log_record){.kind = VNAT_LOG_EV_TICK, .now = t0 + 2000000000u};
    for (int i = 0; i < 5; i++)
        assert_int_equal(vnat_trace_write(f, &recs[i]), 0);
    fclose(f);
    FILE *tr = fmemopen(mem, memlen, "rb");
    char *cap = NULL;
    size_t caplen = 0;
    FILE *pc = open_memstream(&cap, &caplen);
    struct vnat_pcap_stats st;
    char why[128];
    assert_int_equal(vnat_pcap_from_trace(tr, pc, &st, why, sizeof why), 0);
    fclose(pc);
    fclose(tr);
    assert_true(st.records == 5 && st.from_guest == 1 && st.to_guest == 1 && st.refused == 1);
    assert_true(st.base_ns == t0);
    const uint8_t *p = (const uint8_t *)cap;
    assert_int_equal(caplen, 24 + 16 + sizeof in + 16 + sizeof out);
    assert_int_equal(le32(p), 0xa1b23c4du);
    assert_int_equal(le32(p + 16), 65536);
    assert_int_equal(le32(p + 20), 1); /* Ethernet */
    p += 24;
    assert_true(le32(p) == 0 && le32(p + 4) == 0 && le32(p + 8) == sizeof in);
    assert_int_equal(le32(p + 12), sizeof in);
    assert_memory_equal(p + 16, in, sizeof in);
    p += 16 + sizeof in;
    assert_true(le32(p) == 1 && le32(p + 4) == 500000000u && le32(p + 8) == sizeof out);
    assert_memory_equal(p + 16, out, sizeof out);
    free(cap);
    /* A trace cut inside its last record: the frames before it are kept
     * and the error says where. */
    tr = fmemopen(mem, memlen - 2, "rb");
    cap = NULL;
    pc = open_memstream(&cap, &caplen);
    assert_int_equal(vnat_pcap_from_trace(tr, pc, &st, why, sizeof why), -1);
    fclose(pc);
    fclose(tr);
    assert_string_equal(why, "malformed or truncated trace after record 4");
    assert_int_equal(caplen, 24 + 16 + sizeof in + 16 + sizeof out);
    free(cap);
    free(mem);
}

PIN_MAIN(cmocka_unit_test(queue_pops_by_time_then_push_order),
         cmocka_unit_test(queue_never_runs_back_and_is_bounded),
         cmocka_unit_test(rng_seed_and_bytes_replay_exactly),
         cmocka_unit_test(pattern_verifier_names_the_first_wrong_byte),
         cmocka_unit_test(gtcp_loopback_bulk_both_ways_clean),
         cmocka_unit_test(gtcp_loopback_survives_loss_and_reordering),
         cmocka_unit_test(gtcp_fin_wait_2_waits_while_the_peer_still_sends),
         cmocka_unit_test(trace_roundtrip_and_hash_match),
         cmocka_unit_test(trace_reader_rejects_truncation),
         cmocka_unit_test(replay_file_matches_and_finds_a_changed_output),
         cmocka_unit_test(scenario_parser_names_the_bad_line),
         cmocka_unit_test(parse_values_take_the_units_of_their_kind),
         cmocka_unit_test(parse_addresses_have_one_grammar),
         cmocka_unit_test(parse_good_lines_of_every_directive_family),
         cmocka_unit_test(parse_errors_name_the_file_the_line_and_the_word),
         cmocka_unit_test(parse_key_tables_write_the_named_field_only),
         cmocka_unit_test(pcap_holds_the_guest_link_frames_with_virtual_time))
