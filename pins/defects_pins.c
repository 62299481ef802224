/*
 * defects_pins.c — one pin per defect of the reference NAT (the list at the
 * end of ../shared/reference-nat.md), showing vnat does not have it.
 * Defects whose cure belongs to a later issue are BROKEN_ON_PURPOSE pins
 * that assert the desired behaviour and name the issue that flips them.
 */
#include "fakehost.h"
#include "pin.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t DST[4] = {198, 51, 100, 7};
#define SEC (1000ull * 1000ull * 1000ull)

/* 1: guest seq never checked (retransmits written twice; partial write +
 * later segment -> ACK covers unwritten bytes). */
PIN(defect01_guest_sequence_numbers_are_checked)
{
    struct fh h;
    fh_init(&h, NULL);
    struct fh_conn c;
    fh_connect(&h, &c, DST, 40000, 80, 1, 65535, 0);
    uint32_t s0 = c.gseq;
    fh_guest_data(&h, &c, "AAAA", 4);
    fh_send_seg(&h, DST, 40000, 80, s0, c.gack, VW_TCP_ACK, 65535, 0, "AAAA", 4);
    assert_int_equal(c.sock->tx_len, 4);
    fh_drain(&h);
    c.sock->space = 2;
    fh_guest_data(&h, &c, "BBBB", 4); /* host takes 2 */
    c.sock->space = 100;
    fh_guest_data(&h, &c, "CCCC", 4); /* arrives after the partial write */
    struct fh_seg a = fh_next(&h), b = fh_next(&h);
    assert_int_equal(a.ack, s0 + 6);
    assert_int_equal(b.ack, s0 + 6); /* never covers the 2 unwritten bytes */
    assert_int_equal(c.sock->tx_len, 6);
    assert_memory_equal(c.sock->tx, "AAAABB", 6);
    fh_free(&h);
}

/* 2: FIN with data acknowledged as seq+1; retransmitted FIN never ACKed. */
PIN(defect02_fin_with_data_and_retransmitted_fin_are_acked_correctly)
{
    struct fh h;
    fh_init(&h, NULL);
    struct fh_conn c;
    fh_connect(&h, &c, DST, 40100, 80, 1, 65535, 0);
    fh_drain(&h);
    for (int i = 0; i < 2; i++) {
        fh_send_seg(&h, DST, 40100, 80, c.gseq, c.gack, VW_TCP_ACK | VW_TCP_FIN, 65535, 0,
                    "last words", 10);
        struct fh_seg a = fh_next(&h);
        assert_true(a.ok);
        assert_int_equal(a.ack, c.gseq + 11);
    }
    assert_int_equal(c.sock->tx_len, 10);
    fh_free(&h);
}

/* 3: no host->guest retransmission (a dropped frame stalls the flow); in
 * flight capped at 64 KiB. */
static void ws_mtu(struct vnat_config *c)
{
    c->mtu = 9000;
}
PIN(defect03_host_to_guest_retransmits_and_in_flight_is_not_capped)
{
    struct fh h;
    fh_init(&h, ws_mtu);
    struct fh_conn c;
    fh_connect(&h, &c, DST, 40200, 80, 1, 8192, FH_OPT_MSS | FH_OPT_WS); /* 8192<<7 = 1 MiB */
    fh_drain(&h);
    size_t n = 200000;
    uint8_t *data = malloc(n);
    memset(data, 'x', n);
    fh_host_data(c.sock, data, n);
    fh_readable(&h, c.tok);
    size_t sent = 0;
    while (fh_pending(&h) > 0)
        sent += fh_next(&h).len;
    assert_true(sent > 65536);
    /* Everything was "lost": the RTO sends the first segment again. */
    h.now = vnat_next_deadline(h.nat);
    fh_tick(&h);
    struct fh_seg r = fh_next(&h);
    assert_int_equal(r.seq, c.gack);
    assert_true(r.len > 0);
    free(data);
    fh_free(&h);
}

/* 4: busy polling while peeked data waits (core part). */
PIN(defect04_no_read_interest_while_peeked_data_waits_for_ack)
{
    struct fh h;
    fh_init(&h, NULL);
    struct fh_conn c;
    fh_connect(&h, &c, DST, 40300, 80, 1, 65535, 0);
    fh_host_data(c.sock, "pending", 7);
    fh_readable(&h, c.tok);
    assert_int_equal(c.sock->interest & VNAT_WANT_READ, 0);
    int peeks = c.sock->peeks;
    /* A level-triggered embedder calling again costs one peek, no output. */
    fh_drain(&h);
    fh_readable(&h, c.tok);
    assert_int_equal(fh_pending(&h), 0);
    assert_true(c.sock->peeks <= peeks + 1);
    fh_free(&h);
}

/* 4 (adapter part): the real epoll adapter must honour set_interest so that
 * data waiting in a socket wakes nothing while read interest is off
 * (host/ops.c checks it on a real loopback socket and epoll). */
int vnat_host_adapter_honours_interest(void);
PIN(defect04_adapter_does_not_busy_poll)
{
    assert_true(vnat_host_adapter_honours_interest());
}

/* 5: host closes first -> LastAck lingers 60 s and counts to the cap. */
static void cap1(struct vnat_config *c)
{
    c->max_tcp_flows = 1;
}
PIN(defect05_host_close_first_does_not_linger_or_hold_the_cap)
{
    struct fh h;
    fh_init(&h, cap1);
    struct fh_conn c;
    fh_connect(&h, &c, DST, 40400, 80, 1, 65535, 0);
    fh_drain(&h);
    c.sock->rx_eof = true;
    fh_readable(&h, c.tok);
    struct fh_seg fin = fh_next(&h);
    assert_true(fin.flags & VW_TCP_FIN);
    c.gack++;
    fh_send_seg(&h, DST, 40400, 80, c.gseq, c.gack, VW_TCP_ACK | VW_TCP_FIN, 65535, 0, NULL, 0);
    assert_true(c.sock->closed); /* the host socket is closed at once */
    /* The flow lingers briefly (to re-ACK a late FIN) but holds neither a
     * socket nor the concurrent-flow cap. */
    assert_int_equal(FH_STAT(&h, tcp_flows_by_state[VNAT_TCP_CLOSED]), 1);
    struct fh_conn d;
    fh_connect(&h, &d, DST, 40401, 80, 1, 65535, 0); /* the cap is free at once */
    assert_int_equal(FH_STAT(&h, tcp_flows_by_state[VNAT_TCP_ESTABLISHED]), 1);
    /* And the linger is short: seconds, not the reference's 60 s. */
    h.now += TCP_LINGER_NS + 1;
    fh_tick(&h);
    assert_int_equal(FH_STAT(&h, tcp_flows_by_state[VNAT_TCP_CLOSED]), 0);
    assert_int_equal(FH_STAT(&h, flows_live), 1);
    fh_free(&h);
}

/* 6: wscale offered even if the guest did not; later windows unscaled. */
PIN(defect06_window_scale_only_when_offered_and_then_applied)
{
    struct fh h;
    fh_init(&h, NULL);
    struct fh_conn c;
    fh_connect(&h, &c, DST, 40500, 80, 1, 65535, 0);
    fh_drain(&h);
    c.sock->space = 1000;
    fh_guest_data(&h, &c, "a", 1);
    struct fh_seg a = fh_next(&h);
    /* Unscaled (no scaling was negotiated): 3/4 of the 999 bytes free. */
    assert_int_equal(a.window, 999 - 999 / 4);
    struct fh_conn d;
    fh_connect(&h, &d, DST, 40501, 80, 1, 65535, FH_OPT_WS);
    fh_drain(&h);
    d.sock->space = 100000;
    fh_guest_data(&h, &d, "a", 1);
    a = fh_next(&h);
    /* Scaled by the shift we offered (7), of 3/4 of the 99999 bytes free. */
    assert_int_equal(a.window, (99999 - 99999 / 4) >> 7);
    fh_free(&h);
}

/* 7: the synthesized inbound SYN carries the ACK flag. */
PIN(defect07_inbound_syn_has_no_ack_flag)
{
    struct fh h;
    fh_init(&h, NULL);
    struct vnat_forward fw;
    memset(&fw, 0, sizeof fw);
    fw.proto = VNAT_PROTO_TCP;
    fw.host.ip = vnat_ip4(127, 0, 0, 1);
    fw.host.port = 8080;
    fw.guest_port = 80;
    vnat_err e = vnat_forward_add(h.nat, h.now, &fw);
    fh_free(&h);
    assert_int_equal(e, VNAT_OK);
    /* Issue 5 extends this: listener ready -> accept -> the SYN sent to the
     * guest has SYN and not ACK. */
}

/* 8: silent removals; unknown-flow packets get no RST. */
PIN(defect08_reaped_flows_and_unknown_segments_get_rst)
{
    struct fh h;
    fh_init(&h, NULL);
    struct fh_conn c;
    fh_connect(&h, &c, DST, 40700, 80, 1, 65535, 0);
    fh_drain(&h);
    fh_advance(&h, 7201 * SEC); /* idle 2 h */
    struct fh_seg r = fh_next(&h);
    assert_true(r.flags & VW_TCP_RST);
    fh_guest_data(&h, &c, "anyone?", 7);
    r = fh_next(&h);
    assert_int_equal(r.flags, VW_TCP_RST);
    assert_int_equal(r.seq, c.gack);
    fh_free(&h);
}

/* 9: a guest SYN retransmit while Connecting restarts the connect. */
PIN(defect09_syn_retransmit_never_restarts_connect)
{
    struct fh h;
    fh_init(&h, NULL);
    fh_send_seg(&h, DST, 40800, 80, 5, 0, VW_TCP_SYN, 1000, 0, NULL, 0);
    fh_send_seg(&h, DST, 40800, 80, 5, 0, VW_TCP_SYN, 1000, 0, NULL, 0);
    fh_send_seg(&h, DST, 40800, 80, 5, 0, VW_TCP_SYN, 1000, 0, NULL, 0);
    assert_int_equal(h.ops_count[VNAT_OP_TCP_CONNECT], 1);
    assert_int_equal(h.ops_count[VNAT_OP_CLOSE], 0);
    assert_int_equal(FH_STAT(&h, tcp_flows_total), 1);
    fh_free(&h);
}

/* 10: ICMP bypasses the deny list and the gateway rewrite. */
static const struct vnat_rule deny_all_dst[] = {
    {.action = VNAT_RULE_DENY,
     .proto = VNAT_PROTO_ANY,
     .prefix = 32,
     .net = {.family = VNAT_AF_INET, .addr = {198, 51, 100, 7}},
     .port_lo = 0,
     .port_hi = 65535},
};
static void deny_dst(struct vnat_config *c)
{
    c->rules = deny_all_dst;
    c->n_rules = 1;
}
static size_t icmp_echo(struct fh *h, uint8_t *f, const uint8_t dst[4])
{
    return tk_icmp(&(struct tk_icmp_spec){.guest = &h->cfg,
                                          .dst = dst,
                                          .ip_id = 3,
                                          .type = VW_ICMP_ECHO_REQUEST,
                                          .id = 0x1234,
                                          .seq = 1,
                                          .payload = "ping",
                                          .len = 4},
                   f, 200);
}
PIN(defect10_icmp_obeys_deny_list_and_gateway_rewrite)
{
    struct fh h;
    fh_init(&h, deny_dst);
    uint8_t f[200];
    size_t n = icmp_echo(&h, f, DST);
    fh_frame_in(&h, f, n);
    uint64_t denied = FH_STAT(&h, drops[VNAT_DROP_POLICY]);
    static const uint8_t gw[4] = {10, 0, 2, 2};
    n = icmp_echo(&h, f, gw);
    fh_frame_in(&h, f, n);
    uint64_t icmp_flows = FH_STAT(&h, icmp_flows);
    fh_free(&h);
    assert_int_equal(denied, 1);     /* the denied destination is refused */
    assert_int_equal(icmp_flows, 1); /* the gateway one goes to host loopback */
}

/* 11: DNS misses block the poll thread. */
static void with_resolver(struct vnat_config *c)
{
    c->n_dns_servers = 1;
    c->dns_servers[0].ip = vnat_ip4(127, 0, 0, 53);
    c->dns_servers[0].port = 53;
}
PIN(defect11_dns_miss_never_blocks)
{
    struct fh h;
    fh_init(&h, with_resolver);
    uint8_t f[200];
    static const uint8_t dns[4] = {10, 0, 2, 3};
    static const uint8_t q[] = {0xab, 0xcd, 1,   0,   0,   1, 0,   0,   0,   0, 0, 0, 7, 'e', 'x',
                                'a',  'm',  'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1};
    size_t n = tk_udp(&(struct tk_udp_spec){.guest = &h.cfg,
                                            .dst = dns,
                                            .ip_id = 4,
                                            .sport = 5353,
                                            .dport = 53,
                                            .payload = q,
                                            .len = sizeof q},
                      f, sizeof f);
    fh_frame_in(&h, f, n);
    uint64_t queries = FH_STAT(&h, dns_queries);
    fh_free(&h);
    /* Desired: the query is forwarded through a non-blocking datagram
     * request (dgram_open/dgram_send) and counted; nothing waits. */
    assert_int_equal(queries, 1);
}

/* 11: restore ignores the security configuration. After a restore the
 * rules, limits and forwards are the snapshot's: the restoring caller gives
 * no configuration at all (vnat_restore takes none), and the restored core
 * still denies what the rule denies, holds the TCP limit and owns the
 * forward's listener under its old token. */
static void secure(struct vnat_config *c)
{
    static struct vnat_rule deny;
    static struct vnat_forward fwd;
    deny = (struct vnat_rule){.action = VNAT_RULE_DENY, .proto = VNAT_PROTO_TCP, .prefix = 24};
    deny.net = vnat_ip4(192, 0, 2, 0);
    deny.port_hi = 65535;
    fwd = (struct vnat_forward){.proto = VNAT_PROTO_TCP, .guest_port = 80};
    fwd.host.ip = vnat_ip4(127, 0, 0, 1);
    fwd.host.port = 8080;
    c->rules = &deny;
    c->n_rules = 1;
    c->max_tcp_flows = 1;
    c->forwards = &fwd;
    c->n_forwards = 1;
}

static void restore_in_place(struct fh *h)
{
    size_t len = vnat_snapshot_size(h->nat), need = 0;
    uint8_t *img = malloc(len);
    assert_int_equal(vnat_snapshot(h->nat, img, len, NULL), VNAT_OK);
    assert_int_equal(vnat_restore_memory_size(img, len, &need), VNAT_OK);
    void *mem = aligned_alloc(16, (need + 15) & ~(size_t)15);
    vnat *nat = NULL;
    assert_int_equal(vnat_restore(mem, need, fh_ops_table(), h, img, len, VNAT_RESTORE_SOCKETS_KEPT,
                                  h->now, &nat),
                     VNAT_OK);
    free(img);
    free(h->mem);
    h->mem = mem;
    h->nat = nat;
}

PIN(defect11_restore_keeps_security_config)
{
    struct fh h;
    fh_init(&h, secure);
    vnat_token listener = h.last_tok;
    restore_in_place(&h);
    static const uint8_t denied[4] = {192, 0, 2, 1};
    static const uint8_t other[4] = {198, 51, 100, 8};
    /* The rule: a SYN to the denied network is refused, no connect made. */
    fh_send_seg(&h, denied, 41000, 80, 1, 0, VW_TCP_SYN, 65535, FH_OPT_MSS, NULL, 0);
    assert_int_equal(FH_STAT(&h, rst_sent[VNAT_RST_POLICY]), 1);
    assert_int_equal(h.ops_count[VNAT_OP_TCP_CONNECT], 0);
    /* The limit: one TCP flow, the second is refused. */
    struct fh_conn c;
    fh_connect(&h, &c, DST, 41001, 80, 100, 65535, FH_OPT_MSS);
    fh_send_seg(&h, other, 41002, 80, 1, 0, VW_TCP_SYN, 65535, FH_OPT_MSS, NULL, 0);
    assert_int_equal(FH_STAT(&h, rst_sent[VNAT_RST_FLOW_LIMIT]), 1);
    assert_int_equal(h.ops_count[VNAT_OP_TCP_CONNECT], 1);
    /* The forward: still there, its listener under its old token. */
    struct vnat_forward again = h.cfg.forwards[0];
    assert_int_equal(vnat_forward_add(h.nat, h.now, &again), VNAT_E_EXISTS);
    assert_int_equal(vnat_on_listener_ready(h.nat, h.now, listener), VNAT_OK);
    assert_int_equal(h.ops_count[VNAT_OP_TCP_LISTEN], 1); /* not asked again */
    fh_free(&h);
}

/* 12: seq + 1 without wrap (panic at ISN 0xFFFFFFFF). */
PIN(defect12_isn_ffffffff_wraps_without_harm)
{
    struct fh h;
    fh_init(&h, NULL);
    vnat_debug_force_isn(h.nat, 1, 0xFFFFFFFFu);
    struct fh_conn c;
    fh_connect(&h, &c, DST, 41000, 80, 0xFFFFFFFFu, 65535, 0);
    assert_int_equal(c.gack, 0);
    assert_int_equal(c.gseq, 0);
    fh_drain(&h);
    fh_guest_data(&h, &c, "wrap", 4);
    assert_int_equal(fh_next(&h).ack, 4);
    fh_host_data(c.sock, "ok", 2);
    fh_readable(&h, c.tok);
    struct fh_seg d = fh_next(&h);
    assert_int_equal(d.seq, 0);
    assert_int_equal(FH_STAT(&h, tcp_flows_by_state[VNAT_TCP_ESTABLISHED]), 1);
    fh_free(&h);
}

PIN_MAIN(cmocka_unit_test(defect01_guest_sequence_numbers_are_checked),
         cmocka_unit_test(defect02_fin_with_data_and_retransmitted_fin_are_acked_correctly),
         cmocka_unit_test(defect03_host_to_guest_retransmits_and_in_flight_is_not_capped),
         cmocka_unit_test(defect04_no_read_interest_while_peeked_data_waits_for_ack),
         cmocka_unit_test(defect04_adapter_does_not_busy_poll),
         cmocka_unit_test(defect05_host_close_first_does_not_linger_or_hold_the_cap),
         cmocka_unit_test(defect06_window_scale_only_when_offered_and_then_applied),
         cmocka_unit_test(defect07_inbound_syn_has_no_ack_flag),
         cmocka_unit_test(defect08_reaped_flows_and_unknown_segments_get_rst),
         cmocka_unit_test(defect09_syn_retransmit_never_restarts_connect),
         cmocka_unit_test(defect10_icmp_obeys_deny_list_and_gateway_rewrite),
         cmocka_unit_test(defect11_dns_miss_never_blocks),
         cmocka_unit_test(defect11_restore_keeps_security_config),
         cmocka_unit_test(defect12_isn_ffffffff_wraps_without_harm))
