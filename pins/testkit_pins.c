/*
 * testkit_pins.c — pins of the test kit (testkit/) the fake hosts stand on:
 * a spec builds a valid segment whose every field the kit's parser reads
 * back, the socket table fails a test when a token is reissued, the capture
 * ring keeps the newest frames, and scripted results are taken once, always
 * or added as documented.
 */
#include "pin.h"
#include "svc_fakehost.h"
#include "testkit.h"

#include <string.h>

static const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 0xa}, mac_b[6] = {2, 0, 0, 0, 0, 0xb};
static const uint8_t ip_a[4] = {10, 0, 2, 15}, ip_b[4] = {198, 51, 100, 1};

PIN(testkit_tcp_spec_builds_a_valid_segment_that_parses_back)
{
    static const uint8_t data[5] = {1, 2, 3, 4, 5};
    uint8_t f[200];
    size_t n = tk_tcp(&(struct tk_tcp_spec){.eth_dst = mac_b,
                                            .eth_src = mac_a,
                                            .src = ip_a,
                                            .dst = ip_b,
                                            .ip_id = 77,
                                            .sport = 40000,
                                            .dport = 443,
                                            .seq = 1000,
                                            .ack = 2000,
                                            .flags = VW_TCP_SYN | VW_TCP_ACK,
                                            .window = 4096,
                                            .opt_mss = true,
                                            .mss = 1400,
                                            .opt_wscale = true,
                                            .wscale = 7,
                                            .opt_sack_perm = true,
                                            .opt_ts = true,
                                            .ts_val = 9,
                                            .ts_ecr = 8,
                                            .payload = data,
                                            .len = sizeof data},
                      f, sizeof f);
    /* 20 bytes of options (MSS 4, window scale 3, SACK-permitted 2,
     * timestamps 10, padded), both checksums valid. */
    assert_int_equal(n, VW_ETH_HLEN + VW_IPV4_HLEN + 40 + sizeof data);
    struct tk_pkt p = tk_parse(f, n);
    assert_true(tk_is_tcp(&p));
    assert_memory_equal(p.eth_dst, mac_b, 6);
    assert_memory_equal(p.src, ip_a, 4);
    assert_int_equal(p.ip.id, 77);
    assert_int_equal(p.ip.ttl, 64);
    assert_int_equal(p.tcp.sport, 40000);
    assert_int_equal(p.tcp.dport, 443);
    assert_int_equal(p.tcp.seq, 1000);
    assert_int_equal(p.tcp.ack, 2000);
    assert_int_equal(p.tcp.flags, VW_TCP_SYN | VW_TCP_ACK);
    assert_int_equal(p.tcp.window, 4096);
    assert_true(p.tcp.has_mss && p.tcp.has_wscale && p.tcp.has_ts && p.tcp.sack_permitted);
    assert_int_equal(p.tcp.mss, 1400);
    assert_int_equal(p.tcp.wscale, 7);
    assert_int_equal(p.tcp.ts_val, 9);
    assert_int_equal(p.tcp.ts_ecr, 8);
    assert_int_equal(p.len, sizeof data);
    assert_memory_equal(p.payload, data, sizeof data);
    f[n - 1] ^= 1; /* a bad checksum parses, but not ok */
    p = tk_parse(f, n);
    assert_true(p.l4);
    assert_false(p.ok);
    /* Too small a buffer: 0, nothing written past it. */
    assert_int_equal(
        tk_tcp(
            &(struct tk_tcp_spec){
                .src = ip_a, .dst = ip_b, .eth_dst = mac_b, .eth_src = mac_a, .len = 100},
            f, 100),
        0);
}

PIN(testkit_udp_icmp_arp_specs_default_to_the_guest)
{
    struct vnat_config cfg;
    vnat_config_init(&cfg);
    uint8_t f[128];
    size_t n = tk_udp(
        &(struct tk_udp_spec){
            .guest = &cfg, .dst = ip_b, .sport = 5, .dport = 53, .payload = "q", .len = 1},
        f, sizeof f);
    struct tk_pkt p = tk_parse(f, n);
    assert_true(p.ok && p.l4 && p.proto == VW_IPPROTO_UDP);
    assert_memory_equal(p.eth_src, cfg.guest_mac, 6);
    assert_memory_equal(p.eth_dst, cfg.gateway_mac, 6);
    assert_memory_equal(p.src, cfg.guest_ip.addr, 4);
    assert_int_equal(p.udp.dport, 53);
    n = tk_icmp(
        &(struct tk_icmp_spec){
            .guest = &cfg, .dst = ip_b, .type = VW_ICMP_ECHO_REQUEST, .id = 0x1234, .seq = 7},
        f, sizeof f);
    p = tk_parse(f, n);
    assert_true(p.ok && p.proto == VW_IPPROTO_ICMP);
    assert_int_equal(p.icmp.id, 0x1234);
    assert_int_equal(p.icmp.seq, 7);
    n = tk_arp(&(struct tk_arp_spec){.guest = &cfg, .op = VW_ARP_REQUEST, .tpa = ip_b, .pad = true},
               f, sizeof f);
    assert_int_equal(n, 60);
    p = tk_parse(f, n);
    assert_true(p.ok && p.ethertype == VW_ETH_P_ARP);
    assert_memory_equal(p.eth_dst, ((uint8_t[]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), 6);
    assert_memory_equal(p.arp.sha, cfg.guest_mac, 6);
    assert_memory_equal(p.arp.spa, cfg.guest_ip.addr, 4);
}

static jmp_buf failed;
static char fail_text[256];
static void catch_fail(const char *msg)
{
    strncpy(fail_text, msg, sizeof fail_text - 1);
    longjmp(failed, 1);
}

struct rec {
    TK_SOCK;
    int mine;
};

PIN(testkit_socket_table_fails_on_a_reissued_token)
{
    static struct rec recs[4];
    static struct tk_closed hist;
    memset(recs, 0, sizeof recs);
    memset(&hist, 0, sizeof hist);
    struct tk_table t = {TK_TABLE(recs), .closed = &hist};
    void (*saved)(const char *) = tk_fail_hook;
    tk_fail_hook = catch_fail;
    long i = tk_claim(&t, 0x100000001ull);
    assert_int_equal(i, 0);
    tk_sock_set(&recs[i].sock, 0x100000001ull);
    assert_int_equal(tk_find(&t, 0x100000001ull, true), 0);
    assert_true(recs[0].used && !recs[0].closed);
    if (setjmp(failed) == 0) {
        tk_claim(&t, 0x100000001ull); /* still open */
        fail_msg("an open token named a new socket unnoticed");
    }
    assert_non_null(strstr(fail_text, "open token"));
    tk_close(&t, &recs[0].sock, 1);
    assert_true(recs[0].closed);
    assert_int_equal(recs[0].close_reset, 1);
    assert_int_equal(tk_find(&t, 0x100000001ull, true), -1);
    assert_int_equal(tk_find(&t, 0x100000001ull, false), 0);
    if (setjmp(failed) == 0) {
        tk_claim(&t, 0x100000001ull); /* closed before */
        fail_msg("a closed token named a new socket unnoticed");
    }
    assert_non_null(strstr(fail_text, "closed token"));
    if (setjmp(failed) == 0) {
        tk_live(&t, 0x100000001ull, "send");
        fail_msg("an operation on a closed token went unnoticed");
    }
    assert_non_null(strstr(fail_text, "send"));
    /* A new token reuses the closed record; by_index puts it at its index. */
    assert_int_equal(tk_claim(&t, 0x100000002ull), 0);
    t.by_index = true;
    assert_int_equal(tk_claim(&t, 0x200000003ull), 3);
    assert_int_equal(tk_claim(&t, 0x200000004ull), -1);
    tk_fail_hook = saved;
}

PIN(testkit_svc_fake_fails_a_pin_when_the_core_reissues_a_closed_token)
{
    struct sfh h;
    sfh_init(&h, NULL);
    sfh_send_udp(&h, ip_b, 5000, 9, "a", 1);
    struct sfh_sock *s = sfh_last(&h);
    vnat_token tok = s->tok;
    tk_script_always(&h.script, VNAT_OP_DGRAM_SEND, tok, 2); /* impossible: the flow closes */
    sfh_send_udp(&h, ip_b, 5000, 9, "a", 1);
    assert_true(s->closed);
    /* What the fake does if the core ever named a new socket with it. */
    void (*saved)(const char *) = tk_fail_hook;
    tk_fail_hook = catch_fail;
    struct tk_table t = {TK_TABLE(h.socks), .closed = &h.closed};
    if (setjmp(failed) == 0) {
        tk_claim(&t, tok);
        fail_msg("reissued token went unnoticed");
    }
    assert_non_null(strstr(fail_text, "closed token"));
    tk_fail_hook = saved;
    sfh_free(&h);
}

PIN(testkit_capture_ring_keeps_the_newest_and_counts_segments)
{
    struct tk_capture c;
    assert_int_equal(tk_capture_init(&c, 2, true, 0), 0);
    uint8_t f[128];
    for (uint32_t i = 0; i < 3; i++) {
        size_t n = tk_tcp(&(struct tk_tcp_spec){.eth_dst = mac_b,
                                                .eth_src = mac_a,
                                                .src = ip_b,
                                                .dst = ip_a,
                                                .seq = i,
                                                .flags = i == 1 ? VW_TCP_RST : VW_TCP_ACK},
                          f, sizeof f);
        assert_non_null(tk_capture_add(&c, f, n));
    }
    assert_int_equal(c.n, 2);
    assert_int_equal(tk_capture_at(&c, 0)->pkt.tcp.seq, 1); /* the oldest went */
    assert_int_equal(tk_capture_last_tcp(&c)->tcp.seq, 2);
    assert_int_equal(tk_capture_count_tcp(&c, VW_TCP_RST), 1);
    assert_int_equal(tk_capture_pending(&c), 2);
    assert_int_equal(tk_capture_next(&c)->pkt.tcp.seq, 1);
    tk_capture_drain(&c);
    assert_null(tk_capture_next(&c));
    tk_capture_free(&c);
    /* Not a ring: full refuses. keep: the head only (cut short: not ok). */
    assert_int_equal(tk_capture_init(&c, 1, false, 20), 0);
    size_t n = tk_udp(
        &(struct tk_udp_spec){
            .eth_dst = mac_b, .eth_src = mac_a, .src = ip_b, .dst = ip_a, .len = 10},
        f, sizeof f);
    const struct tk_frame *fr = tk_capture_add(&c, f, n);
    assert_int_equal(fr->len, 20);
    assert_false(fr->pkt.ok);
    assert_null(tk_capture_add(&c, f, n));
    tk_capture_free(&c);
}

PIN(testkit_script_takes_once_always_and_adds)
{
    struct tk_script s;
    memset(&s, 0, sizeof s);
    long rc = 0;
    assert_false(tk_script_take(&s, VNAT_OP_PEEK, 5, &rc));
    tk_script_once(&s, VNAT_OP_PEEK, 5, -104);
    tk_script_once(&s, VNAT_OP_PEEK, VNAT_TOKEN_NONE, -11);
    tk_script_add(&s, VNAT_OP_PEEK, 5, 3);
    assert_false(tk_script_take(&s, VNAT_OP_SEND, 5, &rc));
    assert_true(tk_script_take(&s, VNAT_OP_PEEK, 6, &rc)); /* the any-token one */
    assert_int_equal(rc, -11);
    assert_true(tk_script_take(&s, VNAT_OP_PEEK, 5, &rc));
    assert_int_equal(rc, -104);
    assert_false(tk_script_take(&s, VNAT_OP_PEEK, 5, &rc)); /* once: used up */
    assert_int_equal(tk_script_adjust(&s, VNAT_OP_PEEK, 5, 10), 13);
    assert_int_equal(tk_script_adjust(&s, VNAT_OP_PEEK, 6, 10), 10);
    tk_script_always(&s, VNAT_OP_TCP_CONNECT, VNAT_TOKEN_NONE, -111);
    for (int i = 0; i < 3; i++) {
        assert_true(tk_script_take(&s, VNAT_OP_TCP_CONNECT, (vnat_token)i + 1, &rc));
        assert_int_equal(rc, -111);
    }
    tk_script_clear(&s, VNAT_OP_TCP_CONNECT, VNAT_TOKEN_NONE);
    assert_false(tk_script_take(&s, VNAT_OP_TCP_CONNECT, 1, &rc));
    assert_int_equal(s.n, 1); /* the add entry stays */
}

PIN_MAIN(cmocka_unit_test(testkit_tcp_spec_builds_a_valid_segment_that_parses_back),
         cmocka_unit_test(testkit_udp_icmp_arp_specs_default_to_the_guest),
         cmocka_unit_test(testkit_socket_table_fails_on_a_reissued_token),
         cmocka_unit_test(testkit_svc_fake_fails_a_pin_when_the_core_reissues_a_closed_token),
         cmocka_unit_test(testkit_capture_ring_keeps_the_newest_and_counts_segments),
         cmocka_unit_test(testkit_script_takes_once_always_and_adds))
