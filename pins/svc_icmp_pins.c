/*
 * svc_icmp_pins.c — ICMP echo (core/src/icmp.c) through unprivileged ping
 * sockets, identifiers translated, under the same policy as TCP and UDP.
 * The reference's icmp_echo_returns_reply appears under its own name.
 */
#include <errno.h>
#include <string.h>

#include "pin.h"
#include "svc_fakehost.h"

#define S 1000000000ull

static const uint8_t GW[4] = {10, 0, 2, 2};
static const uint8_t DNS[4] = {10, 0, 2, 3};
static const uint8_t FAR[4] = {198, 51, 100, 7};

/* What a ping socket hands back: an echo reply with the host's identifier. */
static size_t host_reply(uint8_t *out, uint16_t host_id, uint16_t seq, const void *data, size_t len)
{
    out[0] = VW_ICMP_ECHO_REPLY;
    out[1] = 0;
    out[2] = out[3] = 0;
    vw_put16(out + 4, host_id);
    vw_put16(out + 6, seq);
    memcpy(out + 8, data, len);
    return 8 + len;
}

static struct tk_pkt expect_echo_reply(struct sfh *h, const uint8_t src[4], uint16_t id,
                                       uint16_t seq)
{
    assert_true(sfh_pending(h) >= 1);
    struct tk_pkt o = sfh_next(h);
    assert_true(o.ok); /* sfh_next checked the ICMP checksum */
    assert_int_equal(o.proto, VW_IPPROTO_ICMP);
    assert_int_equal(o.icmp.type, VW_ICMP_ECHO_REPLY);
    assert_int_equal(o.icmp.id, id);
    assert_int_equal(o.icmp.seq, seq);
    assert_memory_equal(o.src, src, 4);
    assert_memory_equal(o.dst, h->cfg.guest_ip.addr, 4);
    return o;
}

PIN(icmp_echo_returns_reply)
{
    struct sfh h;
    sfh_init(&h, NULL);
    assert_int_equal(sfh_send_ping(&h, GW, 0x4242, 1, "hello", 5), VNAT_OK);
    struct sfh_sock *s = sfh_last(&h);
    assert_non_null(s);
    assert_int_equal(s->dgram_kind, VNAT_DGRAM_ICMP);
    struct vnat_sockaddr lo = sfh_addr4(127, 0, 0, 1, 0);
    assert_memory_equal(&s->addr, &lo, sizeof lo); /* the gateway maps to loopback, as for TCP */
    assert_int_equal(s->nsent, 1);
    assert_int_equal(s->sent[0].len, 13);
    assert_int_equal(s->sent[0].data[0], VW_ICMP_ECHO_REQUEST);
    uint8_t r[64];
    size_t n = host_reply(r, 0x9999, 1, "hello", 5); /* the host chose its own identifier */
    sfh_incoming(s, &lo, r, n);
    sfh_readable(&h, s->tok);
    struct tk_pkt o = expect_echo_reply(&h, GW, 0x4242, 1);
    assert_int_equal(o.len, 5);
    assert_memory_equal(o.payload, "hello", 5);
    assert_int_equal(SFH_STAT(&h, icmp_flows), 1);
    /* The next request of the same identifier uses the same socket. */
    sfh_send_ping(&h, GW, 0x4242, 2, "hello", 5);
    assert_int_equal(s->nsent, 2);
    assert_int_equal(sfh_count(&h, SFH_DGRAM, false), 1);
    sfh_free(&h);
}

static const struct vnat_rule deny_far = {
    .action = VNAT_RULE_DENY,
    .proto = VNAT_PROTO_ANY,
    .prefix = 32,
    .net = {.family = VNAT_AF_INET, .addr = {198, 51, 100, 7}},
    .port_lo = 0,
    .port_hi = 65535};
static void with_deny(struct vnat_config *c)
{
    c->rules = &deny_far;
    c->n_rules = 1;
}

/* Reference defect 10: its ICMP bypassed the deny list and the gateway
 * rewrite. Here the same policy decides. */
PIN(icmp_echo_obeys_the_deny_list)
{
    struct sfh h;
    sfh_init(&h, with_deny);
    sfh_send_ping(&h, FAR, 1, 1, "x", 1);
    assert_int_equal(sfh_count(&h, SFH_DGRAM, false), 0);
    assert_int_equal(h.ops[VNAT_OP_DGRAM_SEND], 0);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_POLICY]), 1);
    struct tk_pkt o = sfh_next(&h);
    assert_true(o.ok);
    assert_int_equal(o.icmp.type, VW_ICMP_DEST_UNREACH);
    assert_int_equal(o.icmp.code, 13);
    sfh_free(&h);
}

PIN(icmp_echo_to_vnat_addresses_is_answered_by_vnat)
{
    struct sfh h;
    sfh_init(&h, NULL);
    sfh_send_ping(&h, DNS, 7, 3, "abc", 3);
    struct tk_pkt o = expect_echo_reply(&h, DNS, 7, 3);
    assert_memory_equal(o.payload, "abc", 3);
    assert_int_equal(sfh_count(&h, SFH_DGRAM, false), 0);
    sfh_free(&h);
}

PIN(icmp_flow_times_out)
{
    struct sfh h;
    sfh_init(&h, NULL);
    sfh_send_ping(&h, FAR, 1, 1, "x", 1);
    struct sfh_sock *s = sfh_last(&h);
    assert_int_equal(vnat_next_deadline(h.nat), h.now + 30 * S);
    sfh_advance(&h, 30 * S);
    assert_true(s->closed);
    assert_int_equal(SFH_STAT(&h, icmp_flows), 0);
    sfh_free(&h);
}

PIN(icmp_other_than_echo_is_dropped_and_counted)
{
    struct sfh h;
    sfh_init(&h, NULL);
    uint8_t f[100];
    struct tk_icmp_spec m = {.guest = &h.cfg, .dst = FAR, .ip_id = 1, .id = 1, .seq = 1};
    m.type = VW_ICMP_ECHO_REPLY;
    size_t n = tk_icmp(&m, f, sizeof f);
    sfh_frame(&h, f, n);
    m.type = 13; /* timestamp */
    n = tk_icmp(&m, f, sizeof f);
    sfh_frame(&h, f, n);
    m.type = VW_ICMP_ECHO_REQUEST;
    n = tk_icmp(&m, f, sizeof f);
    f[n - 1] ^= 1; /* bad checksum */
    sfh_frame(&h, f, n);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_ICMP_UNSUPPORTED]), 2);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_L4_CHECKSUM]), 1);
    assert_int_equal(sfh_count(&h, SFH_DGRAM, false), 0);
    sfh_free(&h);
}

PIN(icmp_host_errors_are_counted_and_impossible_replies_close_the_flow)
{
    struct sfh h;
    sfh_init(&h, NULL);
    tk_script_always(&h.script, VNAT_OP_DGRAM_OPEN, VNAT_TOKEN_NONE,
                     -13); /* ping sockets forbidden on the host */
    sfh_send_ping(&h, FAR, 1, 1, "x", 1);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_HOST_ERROR]), 1);
    assert_int_equal(SFH_STAT(&h, icmp_flows), 0);
    tk_script_clear(&h.script, VNAT_OP_DGRAM_OPEN, VNAT_TOKEN_NONE);
    sfh_send_ping(&h, FAR, 1, 1, "x", 1);
    struct sfh_sock *s = sfh_last(&h);
    struct vnat_sockaddr far = sfh_addr4(198, 51, 100, 7, 0);
    sfh_incoming(s, &far, "\0\0\0", 3); /* shorter than an ICMP header */
    sfh_readable(&h, s->tok);
    assert_true(s->closed);
    assert_int_equal(SFH_STAT(&h, bad_host_results), 1);
    sfh_free(&h);
}

/* One host error on an ICMP flow, reported by the send of the next echo
 * (recv false) or on the socket before a reply queued behind it (recv
 * true). soft: a counted drop that keeps the flow, which carries echoes
 * on; otherwise a bad host result that closes it. */
static void icmp_host_error(bool recv, int e, bool soft)
{
    const char *where = recv ? "receive" : "send";
    struct sfh h;
    sfh_init(&h, NULL);
    assert_int_equal(sfh_send_ping(&h, FAR, 7, 1, "x", 1), VNAT_OK);
    struct sfh_sock *s = sfh_last(&h);
    assert_non_null(s);
    if (recv) {
        struct vnat_sockaddr far = sfh_addr4(198, 51, 100, 7, 0);
        uint8_t r[64];
        size_t n = host_reply(r, 0x9999, 1, "x", 1);
        sfh_incoming(s, &far, r, n); /* behind the error: read on to it */
        tk_script_once(&h.script, VNAT_OP_DGRAM_RECV, s->tok, -e);
        sfh_readable(&h, s->tok);
    } else {
        tk_script_once(&h.script, VNAT_OP_DGRAM_SEND, s->tok, -e);
        sfh_send_ping(&h, FAR, 7, 2, "y", 1);
    }
    if (soft) {
        if (s->closed || SFH_STAT(&h, drops[VNAT_DROP_HOST_ERROR]) != 1 ||
            SFH_STAT(&h, bad_host_results) != 0)
            fail_msg("%s error %d: closed %d, host_error drops %llu, bad results %llu", where, e,
                     s->closed, (unsigned long long)SFH_STAT(&h, drops[VNAT_DROP_HOST_ERROR]),
                     (unsigned long long)SFH_STAT(&h, bad_host_results));
        if (recv) {
            expect_echo_reply(&h, FAR, 7, 1);
        } else {
            sfh_send_ping(&h, FAR, 7, 3, "z", 1); /* the flow still carries echoes */
            assert_int_equal(s->nsent, 2);
        }
    } else if (!s->closed || SFH_STAT(&h, bad_host_results) != 1) {
        fail_msg("%s error %d: closed %d, bad results %llu (want the flow closed)", where, e,
                 s->closed, (unsigned long long)SFH_STAT(&h, bad_host_results));
    }
    sfh_free(&h);
}

/* Every send error a ping socket may report is a counted drop that keeps
 * the flow (each named: a connective or comparison changed in the list
 * turns one of them into a closed flow); any other is a bad host result
 * that closes it. */
PIN(icmp_send_errors_the_host_may_report_drop_the_echo_and_keep_the_flow)
{
    static const int soft[] = {EAGAIN,    ENOBUFS, ENOMEM, ENETUNREACH, EHOSTUNREACH, ENETDOWN,
                               EHOSTDOWN, EACCES,  EPERM,  EMSGSIZE,    ECONNREFUSED};
    static const int hard[] = {EBADF, EINVAL, ENOTSOCK};
    for (size_t i = 0; i < sizeof soft / sizeof soft[0]; i++)
        icmp_host_error(false, soft[i], true);
    for (size_t i = 0; i < sizeof hard / sizeof hard[0]; i++)
        icmp_host_error(false, hard[i], false);
}

/* The same for errors a ping socket reports on receive (an ICMP error the
 * kernel queued): a counted drop, the flow reads on; others close it. */
PIN(icmp_receive_errors_the_host_may_report_are_drops_and_the_flow_reads_on)
{
    static const int soft[] = {ENOBUFS,      ENOMEM,    ENETUNREACH, EHOSTUNREACH,
                               ECONNREFUSED, EHOSTDOWN, ENETDOWN};
    static const int hard[] = {EBADF, EINVAL, EACCES};
    for (size_t i = 0; i < sizeof soft / sizeof soft[0]; i++)
        icmp_host_error(true, soft[i], true);
    for (size_t i = 0; i < sizeof hard / sizeof hard[0]; i++)
        icmp_host_error(true, hard[i], false);
}

PIN_MAIN(cmocka_unit_test(icmp_echo_returns_reply), cmocka_unit_test(icmp_echo_obeys_the_deny_list),
         cmocka_unit_test(icmp_echo_to_vnat_addresses_is_answered_by_vnat),
         cmocka_unit_test(icmp_flow_times_out),
         cmocka_unit_test(icmp_other_than_echo_is_dropped_and_counted),
         cmocka_unit_test(icmp_host_errors_are_counted_and_impossible_replies_close_the_flow),
         cmocka_unit_test(icmp_send_errors_the_host_may_report_drop_the_echo_and_keep_the_flow),
         cmocka_unit_test(icmp_receive_errors_the_host_may_report_are_drops_and_the_flow_reads_on))
