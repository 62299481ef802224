/*
 * svc_udp_pins.c — UDP NAT (core/src/udp.c): one connected host socket per
 * guest flow, conntrack-like timeouts, ICMP errors for what the host
 * reports, flow limits with counters, no buffering when the guest link is
 * full, and impossible host results contained. The reference's
 * udp_non_dns_round_trips and nat_translate_outbound_* appear under their
 * own names.
 */
#include <string.h>

#include "pin.h"
#include "svc_fakehost.h"

#define S 1000000000ull

static const uint8_t GW[4] = {10, 0, 2, 2};
static const uint8_t FAR[4] = {198, 51, 100, 7};

static struct tk_pkt expect_udp(struct sfh *h, const uint8_t src[4], uint16_t sport, uint16_t dport)
{
    assert_true(sfh_pending(h) >= 1);
    struct tk_pkt o = sfh_next(h);
    assert_true(o.ok);
    assert_int_equal(o.proto, VW_IPPROTO_UDP);
    assert_memory_equal(o.src, src, 4);
    assert_memory_equal(o.dst, h->cfg.guest_ip.addr, 4);
    assert_int_equal(o.udp.sport, sport);
    assert_int_equal(o.udp.dport, dport);
    return o;
}

static struct tk_pkt expect_icmp_unreach(struct sfh *h, uint8_t code)
{
    assert_true(sfh_pending(h) >= 1);
    struct tk_pkt o = sfh_next(h);
    assert_true(o.ok);
    assert_int_equal(o.proto, VW_IPPROTO_ICMP);
    assert_int_equal(o.icmp.type, VW_ICMP_DEST_UNREACH);
    assert_int_equal(o.icmp.code, code);
    /* It quotes an IPv4 header from the guest and 8 bytes of UDP. */
    assert_int_equal(o.len, 28);
    assert_int_equal(o.payload[9], VW_IPPROTO_UDP);
    assert_memory_equal(o.payload + 12, h->cfg.guest_ip.addr, 4);
    return o;
}

PIN(udp_non_dns_round_trips)
{
    struct sfh h;
    sfh_init(&h, NULL);
    assert_int_equal(sfh_send_udp(&h, GW, 5000, 7777, "ping", 4), VNAT_OK);
    struct sfh_sock *s = sfh_last(&h);
    assert_non_null(s);
    assert_int_equal(s->kind, SFH_DGRAM);
    assert_int_equal(s->dgram_kind, VNAT_DGRAM_UDP);
    struct vnat_sockaddr lo = sfh_addr4(127, 0, 0, 1, 7777);
    assert_memory_equal(&s->addr, &lo, sizeof lo);
    assert_int_equal(s->nsent, 1);
    assert_memory_equal(s->sent[0].data, "ping", 4);
    assert_int_equal(s->interest, VNAT_WANT_READ);
    sfh_incoming(s, &lo, "pong!", 5);
    assert_int_equal(sfh_readable(&h, s->tok), VNAT_OK);
    struct tk_pkt o = expect_udp(&h, GW, 7777, 5000);
    assert_int_equal(o.len, 5);
    assert_memory_equal(o.payload, "pong!", 5);
    assert_int_equal(SFH_STAT(&h, udp_flows), 1);
    assert_int_equal(SFH_STAT(&h, bytes_guest_to_host), 4);
    assert_int_equal(SFH_STAT(&h, bytes_host_to_guest), 5);
    sfh_free(&h);
}

PIN(udp_one_host_socket_per_guest_flow)
{
    struct sfh h;
    sfh_init(&h, NULL);
    sfh_send_udp(&h, FAR, 5000, 9, "a", 1);
    sfh_send_udp(&h, FAR, 5000, 9, "b", 1);
    sfh_send_udp(&h, FAR, 5001, 9, "c", 1);
    sfh_send_udp(&h, FAR, 5000, 10, "d", 1);
    assert_int_equal(sfh_count(&h, SFH_DGRAM, true), 3);
    struct sfh_sock *s = sfh_find(&h, SFH_DGRAM, 0);
    assert_int_equal(s->nsent, 2);
    assert_int_equal(SFH_STAT(&h, udp_flows), 3);
    sfh_free(&h);
}

PIN(nat_translate_outbound_gateway_to_host_loopback)
{
    struct sfh h;
    sfh_init(&h, NULL);
    sfh_send_udp(&h, GW, 5000, 53535, "x", 1);
    struct vnat_sockaddr lo = sfh_addr4(127, 0, 0, 1, 53535);
    assert_memory_equal(&sfh_last(&h)->addr, &lo, sizeof lo);
    sfh_free(&h);
}

PIN(nat_translate_outbound_other_destinations_unchanged)
{
    struct sfh h;
    sfh_init(&h, NULL);
    sfh_send_udp(&h, FAR, 5000, 4444, "x", 1);
    struct vnat_sockaddr far = sfh_addr4(198, 51, 100, 7, 4444);
    assert_memory_equal(&sfh_last(&h)->addr, &far, sizeof far);
    sfh_free(&h);
}

static const struct vnat_rule deny_far = {
    .action = VNAT_RULE_DENY,
    .proto = VNAT_PROTO_ANY,
    .prefix = 24,
    .net = {.family = VNAT_AF_INET, .addr = {198, 51, 100, 0}},
    .port_lo = 0,
    .port_hi = 65535};
static void with_deny(struct vnat_config *c)
{
    c->rules = &deny_far;
    c->n_rules = 1;
}

PIN(nat_translate_outbound_deny_list_applies)
{
    struct sfh h;
    sfh_init(&h, with_deny);
    sfh_send_udp(&h, FAR, 5000, 4444, "x", 1);
    assert_int_equal(sfh_count(&h, SFH_DGRAM, false), 0);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_POLICY]), 1);
    expect_icmp_unreach(&h, 13);
    sfh_free(&h);
}

PIN(udp_idle_timeout_is_30s_until_traffic_went_both_ways)
{
    struct sfh h;
    sfh_init(&h, NULL);
    sfh_send_udp(&h, FAR, 5000, 9, "a", 1);
    struct sfh_sock *s = sfh_last(&h);
    assert_int_equal(vnat_next_deadline(h.nat), h.now + 30 * S);
    sfh_advance(&h, 20 * S);
    sfh_send_udp(&h, FAR, 5000, 9, "b", 1); /* refreshes */
    sfh_advance(&h, 29 * S);
    assert_false(s->closed);
    sfh_advance(&h, 1 * S);
    assert_true(s->closed);
    assert_int_equal(s->close_reset, 0);
    assert_int_equal(SFH_STAT(&h, udp_flows), 0);
    assert_int_equal(SFH_STAT(&h, flows_live), 0);
    assert_int_equal(vnat_next_deadline(h.nat), UINT64_MAX);
    sfh_free(&h);
}

PIN(udp_stream_timeout_is_120s_once_the_host_answered)
{
    struct sfh h;
    sfh_init(&h, NULL);
    sfh_send_udp(&h, FAR, 5000, 9, "a", 1);
    struct sfh_sock *s = sfh_last(&h);
    struct vnat_sockaddr far = sfh_addr4(198, 51, 100, 7, 9);
    sfh_incoming(s, &far, "b", 1);
    sfh_readable(&h, s->tok);
    assert_int_equal(vnat_next_deadline(h.nat), h.now + 120 * S);
    sfh_advance(&h, 119 * S);
    assert_false(s->closed);
    sfh_advance(&h, 1 * S);
    assert_true(s->closed);
    sfh_free(&h);
}

PIN(udp_refused_by_the_host_gives_the_guest_port_unreachable)
{
    struct sfh h;
    sfh_init(&h, NULL);
    sfh_send_udp(&h, FAR, 5000, 9, "a", 1);
    struct sfh_sock *s = sfh_last(&h);
    /* The error arrives on the socket (an earlier ICMP on the host). */
    tk_script_once(&h.script, VNAT_OP_DGRAM_RECV, s->tok, -111);
    sfh_readable(&h, s->tok);
    struct tk_pkt o = expect_icmp_unreach(&h, 3);
    assert_memory_equal(o.src, FAR, 4);
    assert_int_equal(vw_get16(o.payload + 20), 5000);
    assert_int_equal(vw_get16(o.payload + 22), 9);
    /* Or is reported by the next send. */
    tk_script_always(&h.script, VNAT_OP_DGRAM_SEND, s->tok, -111);
    sfh_send_udp(&h, FAR, 5000, 9, "b", 1);
    expect_icmp_unreach(&h, 3);
    assert_false(s->closed); /* the flow stays; the host may listen later */
    sfh_free(&h);
}

/* The host is out of descriptors (EMFILE, ENFILE; issue 14 item 6): the
 * guest learns at once (ICMP administratively prohibited, a code a Linux
 * guest reports to a UDP socket), nothing is left open, and the next
 * datagram, once a descriptor is free, opens its flow. */
PIN(udp_host_out_of_descriptors_gives_the_guest_an_icmp_error)
{
    struct sfh h;
    sfh_init(&h, NULL);
    static const long errs[] = {-24, -23}; /* EMFILE, ENFILE */
    for (int i = 0; i < 2; i++) {
        tk_script_once(&h.script, VNAT_OP_DGRAM_OPEN, VNAT_TOKEN_NONE, errs[i]);
        sfh_send_udp(&h, FAR, 5000, 9, "a", 1);
        struct tk_pkt o = expect_icmp_unreach(&h, 13);
        assert_memory_equal(o.src, FAR, 4);
        assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_HOST_ERROR]), (uint64_t)i + 1);
        assert_int_equal(SFH_STAT(&h, udp_flows), 0);
    }
    sfh_send_udp(&h, FAR, 5000, 9, "b", 1);
    assert_int_equal(SFH_STAT(&h, udp_flows), 1);
    assert_int_equal(sfh_last(&h)->nsent, 1);
    sfh_free(&h);
}

/* Each host error the guest can be told reaches it as its own ICMP
 * destination-unreachable code, on the next send and on the socket
 * (tools/mutate, the CI stage's seed 1796308973: host unreachable mapped
 * to net unreachable survived). */
PIN(udp_each_host_error_reaches_the_guest_as_its_own_icmp_code)
{
    static const struct {
        long err;
        uint8_t code;
    } map[] = {{111, 3}, /* ECONNREFUSED: port */
               {101, 0}, /* ENETUNREACH: net */
               {100, 0}, /* ENETDOWN: net */
               {113, 1}, /* EHOSTUNREACH: host */
               {112, 1}, /* EHOSTDOWN: host */
               {13, 13}, /* EACCES: administratively prohibited */
               {1, 13}}; /* EPERM */
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        for (int on_send = 0; on_send < 2; on_send++) {
            struct sfh h;
            sfh_init(&h, NULL);
            sfh_send_udp(&h, FAR, 5000, 9, "a", 1);
            struct sfh_sock *s = sfh_last(&h);
            if (on_send) {
                tk_script_once(&h.script, VNAT_OP_DGRAM_SEND, s->tok, -map[i].err);
                sfh_send_udp(&h, FAR, 5000, 9, "b", 1);
            } else {
                tk_script_once(&h.script, VNAT_OP_DGRAM_RECV, s->tok, -map[i].err);
                sfh_readable(&h, s->tok);
            }
            if (sfh_pending(&h) != 1)
                fail_msg("error %ld on %s: %zu frames to the guest, want one ICMP", map[i].err,
                         on_send ? "send" : "receive", sfh_pending(&h));
            expect_icmp_unreach(&h, map[i].code);
            sfh_free(&h);
        }
    }
}

static void two_udp_flows(struct vnat_config *c)
{
    c->max_udp_flows = 2;
}

PIN(udp_flow_limit_is_enforced_and_counted)
{
    struct sfh h;
    sfh_init(&h, two_udp_flows);
    sfh_send_udp(&h, FAR, 5000, 9, "a", 1);
    sfh_send_udp(&h, FAR, 5001, 9, "a", 1);
    sfh_send_udp(&h, FAR, 5002, 9, "a", 1);
    assert_int_equal(sfh_count(&h, SFH_DGRAM, false), 2);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_FLOW_LIMIT]), 1);
    assert_int_equal(SFH_STAT(&h, udp_flows), 2);
    /* Existing flows keep working. */
    sfh_send_udp(&h, FAR, 5000, 9, "b", 1);
    assert_int_equal(sfh_find(&h, SFH_DGRAM, 0)->nsent, 2);
    sfh_free(&h);
}

PIN(udp_full_guest_link_pauses_reading_until_it_drains)
{
    struct sfh h;
    sfh_init(&h, NULL);
    sfh_send_udp(&h, FAR, 5000, 9, "a", 1);
    struct sfh_sock *s = sfh_last(&h);
    struct vnat_sockaddr far = sfh_addr4(198, 51, 100, 7, 9);
    sfh_incoming(s, &far, "1", 1);
    sfh_incoming(s, &far, "2", 1);
    h.refuse = 1;
    sfh_readable(&h, s->tok);
    assert_int_equal(s->interest, 0); /* no busy loop while the link is full */
    assert_int_equal(s->rx_head, 1);  /* one was lost, the other is still queued */
    h.refuse = 0;
    sfh_link(&h);
    assert_int_equal(s->interest, VNAT_WANT_READ);
    struct tk_pkt o = expect_udp(&h, FAR, 9, 5000);
    assert_memory_equal(o.payload, "2", 1);
    sfh_free(&h);
}

PIN(udp_impossible_host_results_close_the_flow_and_are_counted)
{
    struct sfh h;
    sfh_init(&h, NULL);
    sfh_send_udp(&h, FAR, 5000, 9, "abc", 3);
    struct sfh_sock *s = sfh_last(&h);
    tk_script_always(&h.script, VNAT_OP_DGRAM_SEND, s->tok, 2); /* a partial datagram */
    sfh_send_udp(&h, FAR, 5000, 9, "abc", 3);
    assert_true(s->closed);
    assert_int_equal(SFH_STAT(&h, bad_host_results), 1);
    assert_int_equal(SFH_STAT(&h, udp_flows), 0);
    sfh_send_udp(&h, FAR, 5000, 9, "abc", 3);
    s = sfh_last(&h);
    tk_script_once(&h.script, VNAT_OP_DGRAM_RECV, s->tok, -9999); /* an errno nobody expects */
    sfh_readable(&h, s->tok);
    assert_true(s->closed);
    assert_int_equal(SFH_STAT(&h, bad_host_results), 2);
    /* Its token is stale now. */
    assert_int_equal(vnat_on_readable(h.nat, h.now, s->tok), VNAT_E_STALE);
    sfh_free(&h);
}

/* A host datagram larger than the guest MTU allows (mtu - 28) reaches the
 * guest in IPv4 fragments (issue 14 item 3), as libslirp does: each within
 * the MTU, and the reassembled datagram exactly the host's, with a valid
 * UDP checksum over the whole. One that fits goes whole, with DF. */
static uint32_t g_mtu;
static void set_mtu(struct vnat_config *c)
{
    c->mtu = g_mtu;
}

static void expect_fragments(uint32_t mtu, size_t size, size_t frags)
{
    g_mtu = mtu;
    struct sfh h;
    sfh_init(&h, set_mtu);
    sfh_send_udp(&h, FAR, 5000, 9, "a", 1);
    struct sfh_sock *s = sfh_last(&h);
    static uint8_t big[65507], got[65535];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7 + (i >> 8));
    struct vnat_sockaddr far = sfh_addr4(198, 51, 100, 7, 9);
    sfh_incoming(s, &far, big, size);
    assert_int_equal(sfh_readable(&h, s->tok), VNAT_OK);
    size_t len = 0;
    assert_int_equal(sfh_reassemble(&h, got, sizeof got, &len), frags);
    assert_int_equal(sfh_pending(&h), 0);
    assert_int_equal(len, VW_UDP_HLEN + size);
    assert_int_equal(vw_get16(got), 9);
    assert_int_equal(vw_get16(got + 2), 5000);
    assert_int_equal(vw_get16(got + 4), VW_UDP_HLEN + size);
    assert_true(vw_get16(got + 6) != 0);
    assert_true(vw_l4_csum_ok4(FAR, h.cfg.guest_ip.addr, VW_IPPROTO_UDP, got, len));
    assert_memory_equal(got + VW_UDP_HLEN, big, size);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_OTHER]), 0);
    assert_int_equal(SFH_STAT(&h, bytes_host_to_guest), size);
    assert_int_equal(SFH_STAT(&h, udp_fragmented), 1);
    assert_int_equal(SFH_STAT(&h, frames_out), frags);
    sfh_free(&h);
}

PIN(udp_datagram_larger_than_the_guest_mtu_is_fragmented_toward_the_guest)
{
    expect_fragments(1500, 1473, 2);   /* 1500 - 20 - 8 = 1472 fits whole */
    expect_fragments(1500, 4000, 3);   /* 1480 + 1480 + 1048 bytes of IP payload */
    expect_fragments(576, 1000, 2);    /* 552 + 456 */
    expect_fragments(1500, 65507, 45); /* the largest IPv4 UDP datagram */
    expect_fragments(9000, 20000, 3);
    /* One that fits goes whole, DF set, as before. */
    struct sfh h;
    sfh_init(&h, NULL);
    sfh_send_udp(&h, FAR, 5000, 9, "a", 1);
    struct sfh_sock *s = sfh_last(&h);
    static uint8_t one[1472];
    struct vnat_sockaddr far = sfh_addr4(198, 51, 100, 7, 9);
    sfh_incoming(s, &far, one, sizeof one);
    sfh_readable(&h, s->tok);
    struct tk_pkt o = expect_udp(&h, FAR, 9, 5000);
    assert_int_equal(o.len, 1472);
    assert_true(o.ip.df);
    assert_false(o.ip.is_fragment);
    assert_int_equal(SFH_STAT(&h, udp_fragmented), 0);
    sfh_free(&h);
}

/* A host datagram too large for any IPv4 datagram (an IPv6 peer's, or a
 * host that lies about the length) is dropped and counted. */
PIN(udp_datagram_larger_than_ipv4_allows_is_dropped_and_counted)
{
    struct sfh h;
    sfh_init(&h, NULL);
    sfh_send_udp(&h, FAR, 5000, 9, "a", 1);
    struct sfh_sock *s = sfh_last(&h);
    static uint8_t big[65508];
    struct vnat_sockaddr far = sfh_addr4(198, 51, 100, 7, 9);
    sfh_incoming(s, &far, big, sizeof big);
    sfh_incoming(s, &far, big, 10);
    sfh_readable(&h, s->tok);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_OTHER]), 1);
    struct tk_pkt o = expect_udp(&h, FAR, 9, 5000);
    assert_int_equal(o.len, 10);
    assert_int_equal(sfh_pending(&h), 0);
    sfh_free(&h);
}

PIN(udp_bad_guest_datagrams_are_dropped_and_counted)
{
    struct sfh h;
    sfh_init(&h, NULL);
    uint8_t f[200];
    size_t n = sfh_udp_frame(&h, f, sizeof f, NULL, FAR, 5000, 9, "abcd", 4);
    f[n - 1] ^= 0x55; /* checksum no longer matches */
    sfh_frame(&h, f, n);
    n = sfh_udp_frame(&h, f, sizeof f, NULL, FAR, 0, 9, "abcd", 4); /* port 0 */
    sfh_frame(&h, f, n);
    static const uint8_t other[4] = {10, 0, 2, 44};
    n = sfh_udp_frame(&h, f, sizeof f, other, FAR, 5000, 9, "abcd", 4); /* not the guest */
    sfh_frame(&h, f, n);
    n = sfh_udp_frame(&h, f, sizeof f, NULL, FAR, 5000, 9, "abcd", 4);
    f[VW_ETH_HLEN + VW_IPV4_HLEN + 5] = 200; /* UDP length past the end */
    f[VW_ETH_HLEN + VW_IPV4_HLEN + 6] = 0;
    f[VW_ETH_HLEN + VW_IPV4_HLEN + 7] = 0; /* no checksum */
    sfh_frame(&h, f, n);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_L4_CHECKSUM]), 1);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_L4_HEADER]), 2);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_SPOOFED]), 1);
    assert_int_equal(sfh_count(&h, SFH_DGRAM, false), 0);
    sfh_free(&h);
}

static void table_of_two(struct vnat_config *c)
{
    c->max_flows = 2;
    c->max_udp_flows = 2; /* the whole table (the default is half) */
}

/* Issue 14 item 2: a full table frees the datagram flow idle longest, if
 * it has been idle at least 1 s, before refusing a new flow; a flow in use
 * is never taken. */
PIN(udp_full_table_reclaims_the_flow_idle_longest)
{
    struct sfh h;
    sfh_init(&h, table_of_two);
    sfh_send_udp(&h, FAR, 5000, 9, "a", 1);
    vnat_token first = sfh_last(&h)->tok;
    sfh_advance(&h, 100000000ull);
    sfh_send_udp(&h, FAR, 5001, 9, "a", 1);
    sfh_advance(&h, 500000000ull);
    sfh_send_udp(&h, FAR, 5002, 9, "a", 1); /* the oldest is idle 0.6 s: refused */
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_FLOW_LIMIT]), 1);
    assert_int_equal(SFH_STAT(&h, flows_reclaimed), 0);
    assert_int_equal(h.ops[VNAT_OP_CLOSE], 0);
    sfh_advance(&h, 500000000ull);
    sfh_send_udp(&h, FAR, 5003, 9, "a", 1); /* now 1.1 s: 5000's flow goes */
    assert_int_equal(SFH_STAT(&h, flows_reclaimed), 1);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_FLOW_LIMIT]), 1);
    assert_int_equal(h.ops[VNAT_OP_CLOSE], 1);
    assert_null(sfh_sock(&h, first)); /* closed (its record holds the new socket) */
    assert_int_equal(h.ops[VNAT_OP_DGRAM_OPEN], 3);
    assert_int_equal(SFH_STAT(&h, udp_flows), 2);
    sfh_free(&h);
}

static void table_of_16(struct vnat_config *c)
{
    c->max_flows = 16;
}

/* Issue 14 item 2: with the default budgets, UDP and ICMP together take at
 * most half the table, ICMP echo identifiers at most 1/16 of it, and what
 * they leave is TCP's: a guest that floods new datagram flows cannot make
 * a TCP connection refused. */
PIN(udp_and_icmp_budgets_leave_the_table_to_tcp)
{
    struct sfh h;
    sfh_init(&h, table_of_16);
    for (uint16_t p = 0; p < 9; p++)
        sfh_send_udp(&h, FAR, (uint16_t)(5000 + p), 9, "a", 1);
    assert_int_equal(SFH_STAT(&h, udp_flows), 8);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_FLOW_LIMIT]), 1);
    sfh_send_ping(&h, FAR, 0x77, 0, "p", 1); /* the UDP+ICMP budget is spent */
    assert_int_equal(SFH_STAT(&h, icmp_flows), 0);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_FLOW_LIMIT]), 2);
    for (uint16_t p = 0; p < 8; p++)
        sfh_send_tcp(&h, FAR, (uint16_t)(30000 + p), 80, 1, 0, VW_TCP_SYN, 65535, false, NULL, 0);
    assert_int_equal(h.ops[VNAT_OP_TCP_CONNECT], 8);
    assert_int_equal(SFH_STAT(&h, rst_sent[VNAT_RST_FLOW_LIMIT]), 0);
    sfh_free(&h);
}

PIN(icmp_echo_identifiers_have_a_budget_of_their_own)
{
    struct sfh h;
    sfh_init(&h, table_of_16);
    sfh_send_ping(&h, FAR, 0x10, 0, "p", 1);
    sfh_send_ping(&h, FAR, 0x11, 0, "p", 1); /* 16/16 = 1 ICMP flow */
    assert_int_equal(SFH_STAT(&h, icmp_flows), 1);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_FLOW_LIMIT]), 1);
    sfh_send_udp(&h, FAR, 5000, 9, "a", 1); /* UDP still has room */
    assert_int_equal(SFH_STAT(&h, udp_flows), 1);
    sfh_free(&h);
}

static void rate2(struct vnat_config *c)
{
    c->syn_rate_per_sec = 2;
}

/* New guest UDP and ICMP flows are rate limited like SYNs, from a bucket of
 * their own: a datagram flood neither passes the limit nor spends TCP's. */
PIN(new_datagram_flows_are_rate_limited_in_their_own_bucket)
{
    struct sfh h;
    sfh_init(&h, rate2);
    sfh_send_udp(&h, FAR, 5000, 9, "a", 1);
    sfh_send_udp(&h, FAR, 5001, 9, "a", 1);
    sfh_send_udp(&h, FAR, 5002, 9, "a", 1);
    sfh_send_ping(&h, FAR, 0x20, 0, "p", 1);
    assert_int_equal(SFH_STAT(&h, udp_flows), 2);
    assert_int_equal(SFH_STAT(&h, icmp_flows), 0);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_RATE_LIMIT]), 2);
    sfh_send_udp(&h, FAR, 5000, 9, "b", 1); /* an existing flow is not new */
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_RATE_LIMIT]), 2);
    sfh_send_tcp(&h, FAR, 30000, 80, 1, 0, VW_TCP_SYN, 65535, false, NULL, 0);
    sfh_send_tcp(&h, FAR, 30001, 80, 1, 0, VW_TCP_SYN, 65535, false, NULL, 0);
    assert_int_equal(h.ops[VNAT_OP_TCP_CONNECT], 2); /* TCP's bucket is whole */
    sfh_advance(&h, 1000000000ull);
    sfh_send_udp(&h, FAR, 5003, 9, "a", 1);
    assert_int_equal(SFH_STAT(&h, udp_flows), 3);
    sfh_free(&h);
}

PIN_MAIN(cmocka_unit_test(udp_non_dns_round_trips),
         cmocka_unit_test(udp_and_icmp_budgets_leave_the_table_to_tcp),
         cmocka_unit_test(icmp_echo_identifiers_have_a_budget_of_their_own),
         cmocka_unit_test(new_datagram_flows_are_rate_limited_in_their_own_bucket),
         cmocka_unit_test(udp_full_table_reclaims_the_flow_idle_longest),
         cmocka_unit_test(udp_one_host_socket_per_guest_flow),
         cmocka_unit_test(nat_translate_outbound_gateway_to_host_loopback),
         cmocka_unit_test(nat_translate_outbound_other_destinations_unchanged),
         cmocka_unit_test(nat_translate_outbound_deny_list_applies),
         cmocka_unit_test(udp_idle_timeout_is_30s_until_traffic_went_both_ways),
         cmocka_unit_test(udp_stream_timeout_is_120s_once_the_host_answered),
         cmocka_unit_test(udp_refused_by_the_host_gives_the_guest_port_unreachable),
         cmocka_unit_test(udp_host_out_of_descriptors_gives_the_guest_an_icmp_error),
         cmocka_unit_test(udp_each_host_error_reaches_the_guest_as_its_own_icmp_code),
         cmocka_unit_test(udp_flow_limit_is_enforced_and_counted),
         cmocka_unit_test(udp_full_guest_link_pauses_reading_until_it_drains),
         cmocka_unit_test(udp_impossible_host_results_close_the_flow_and_are_counted),
         cmocka_unit_test(udp_datagram_larger_than_the_guest_mtu_is_fragmented_toward_the_guest),
         cmocka_unit_test(udp_datagram_larger_than_ipv4_allows_is_dropped_and_counted),
         cmocka_unit_test(udp_bad_guest_datagrams_are_dropped_and_counted))
