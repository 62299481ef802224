/*
 * svc_policy_pins.c — egress policy and anti-spoofing for every protocol
 * (core/src/policy.c with the services): a guest cannot make vnat send
 * anything to an address the policy forbids, by TCP, UDP or ICMP; the
 * gateway's mapping is the only default way to host loopback; link-local
 * needs an explicit allowance; frames not from the guest are dropped and
 * counted. docs/services.md has the defaults table these pins hold.
 */
#include <string.h>

#include "pin.h"
#include "svc_fakehost.h"

static const uint8_t GW[4] = {10, 0, 2, 2};
static const uint8_t FAR[4] = {198, 51, 100, 7};
static const uint8_t LOOP[4] = {127, 0, 0, 1};
static const uint8_t META[4] = {169, 254, 169, 254};

/* Try all three protocols to dst; return how many host operations that
 * would send anything (connect, dgram open, dgram send) were made. */
static uint64_t try_all(struct sfh *h, const uint8_t dst[4])
{
    uint64_t before =
        h->ops[VNAT_OP_TCP_CONNECT] + h->ops[VNAT_OP_DGRAM_OPEN] + h->ops[VNAT_OP_DGRAM_SEND];
    sfh_send_tcp(h, dst, 40000, 80, 1, 0, VW_TCP_SYN, 65535, true, NULL, 0);
    sfh_send_udp(h, dst, 40000, 80, "u", 1);
    sfh_send_ping(h, dst, 77, 1, "i", 1);
    return h->ops[VNAT_OP_TCP_CONNECT] + h->ops[VNAT_OP_DGRAM_OPEN] + h->ops[VNAT_OP_DGRAM_SEND] -
           before;
}

static const struct vnat_rule rules_deny_far[] = {
    {.action = VNAT_RULE_DENY,
     .proto = VNAT_PROTO_ANY,
     .prefix = 24,
     .net = {.family = VNAT_AF_INET, .addr = {198, 51, 100, 0}},
     .port_lo = 0,
     .port_hi = 65535},
};
static void deny_far(struct vnat_config *c)
{
    c->rules = rules_deny_far;
    c->n_rules = 1;
}

PIN(policy_a_denied_address_gets_nothing_by_any_protocol)
{
    struct sfh h;
    sfh_init(&h, deny_far);
    assert_int_equal(try_all(&h, FAR), 0);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_POLICY]), 3);
    assert_int_equal(SFH_STAT(&h, rst_sent[VNAT_RST_POLICY]), 1);
    assert_int_equal(SFH_STAT(&h, flows_live), 0);
    /* Another address is not affected. */
    static const uint8_t ok[4] = {203, 0, 113, 1};
    assert_int_equal(try_all(&h, ok), 5); /* connect; open + send for UDP and for ICMP */
    sfh_free(&h);
}

PIN(policy_host_loopback_is_reached_only_through_the_gateway)
{
    struct sfh h;
    sfh_init(&h, NULL);
    assert_int_equal(try_all(&h, LOOP), 0);
    static const uint8_t loop2[4] = {127, 1, 2, 3};
    assert_int_equal(try_all(&h, loop2), 0);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_POLICY]), 6);
    assert_true(try_all(&h, GW) > 0);
    struct vnat_sockaddr lo = sfh_addr4(127, 0, 0, 1, 0);
    assert_memory_equal(&sfh_last(&h)->addr.ip, &lo.ip, sizeof lo.ip);
    sfh_free(&h);
}

static void no_gateway_mapping(struct vnat_config *c)
{
    c->flags &= ~VNAT_F_GATEWAY_IS_LOOPBACK;
}

PIN(policy_without_the_gateway_mapping_the_host_is_unreachable)
{
    struct sfh h;
    sfh_init(&h, no_gateway_mapping);
    assert_int_equal(try_all(&h, GW), 0);
    assert_int_equal(try_all(&h, LOOP), 0);
    sfh_free(&h);
}

static const struct vnat_rule rules_deny_loopback[] = {
    {.action = VNAT_RULE_DENY,
     .proto = VNAT_PROTO_ANY,
     .prefix = 8,
     .net = {.family = VNAT_AF_INET, .addr = {127, 0, 0, 0}},
     .port_lo = 0,
     .port_hi = 65535},
};
static void deny_loopback(struct vnat_config *c)
{
    c->rules = rules_deny_loopback;
    c->n_rules = 1;
}

/* Rules see the translated destination too, so the gateway cannot be used
 * to slip past a rule about host loopback. */
PIN(policy_rules_apply_to_the_translated_gateway_destination)
{
    struct sfh h;
    sfh_init(&h, deny_loopback);
    assert_int_equal(try_all(&h, GW), 0);
    sfh_free(&h);
}

PIN(policy_link_local_is_refused_by_default)
{
    struct sfh h;
    sfh_init(&h, NULL);
    assert_int_equal(try_all(&h, META), 0);
    sfh_free(&h);
}

static void allow_ll_flag(struct vnat_config *c)
{
    c->flags |= VNAT_F_ALLOW_LINK_LOCAL;
}
static const struct vnat_rule rules_allow_meta[] = {
    {.action = VNAT_RULE_ALLOW,
     .proto = VNAT_PROTO_ANY,
     .prefix = 32,
     .net = {.family = VNAT_AF_INET, .addr = {169, 254, 169, 254}},
     .port_lo = 0,
     .port_hi = 65535},
};
static void allow_ll_rule(struct vnat_config *c)
{
    c->rules = rules_allow_meta;
    c->n_rules = 1;
}

PIN(policy_link_local_is_reachable_when_allowed_by_flag_or_rule)
{
    struct sfh h;
    sfh_init(&h, allow_ll_flag);
    assert_true(try_all(&h, META) > 0);
    sfh_free(&h);
    sfh_init(&h, allow_ll_rule);
    assert_true(try_all(&h, META) > 0);
    static const uint8_t other_ll[4] = {169, 254, 1, 1};
    assert_int_equal(try_all(&h, other_ll), 0);
    sfh_free(&h);
}

static const struct vnat_rule rules_udp53[] = {
    {.action = VNAT_RULE_ALLOW,
     .proto = VNAT_PROTO_ANY,
     .prefix = 32,
     .net = {.family = VNAT_AF_INET, .addr = {198, 51, 100, 9}},
     .port_lo = 0,
     .port_hi = 65535},
    {.action = VNAT_RULE_DENY,
     .proto = VNAT_PROTO_UDP,
     .prefix = 0,
     .net = {.family = VNAT_AF_INET},
     .port_lo = 53,
     .port_hi = 53},
    {.action = VNAT_RULE_DENY,
     .proto = VNAT_PROTO_ICMP,
     .prefix = 0,
     .net = {.family = VNAT_AF_INET},
     .port_lo = 0,
     .port_hi = 65535},
};
static void udp53(struct vnat_config *c)
{
    c->rules = rules_udp53;
    c->n_rules = 3;
}

PIN(policy_rules_match_protocol_and_port_and_the_first_match_wins)
{
    struct sfh h;
    sfh_init(&h, udp53);
    uint64_t ops0 = h.ops[VNAT_OP_DGRAM_OPEN];
    sfh_send_udp(&h, FAR, 40000, 53, "q", 1); /* denied: UDP 53 anywhere */
    assert_int_equal(h.ops[VNAT_OP_DGRAM_OPEN], ops0);
    sfh_send_udp(&h, FAR, 40000, 54, "q", 1); /* another port: allowed */
    assert_int_equal(h.ops[VNAT_OP_DGRAM_OPEN], ops0 + 1);
    sfh_send_tcp(&h, FAR, 40000, 53, 1, 0, VW_TCP_SYN, 65535, true, NULL, 0); /* TCP 53: allowed */
    assert_int_equal(h.ops[VNAT_OP_TCP_CONNECT], 1);
    sfh_send_ping(&h, FAR, 1, 1, "x", 1); /* ICMP denied */
    assert_int_equal(h.ops[VNAT_OP_DGRAM_OPEN], ops0 + 1);
    static const uint8_t allowed[4] = {198, 51, 100, 9};
    sfh_send_udp(&h, allowed, 40000, 53, "q", 1); /* the earlier ALLOW wins */
    sfh_send_ping(&h, allowed, 1, 1, "x", 1);
    assert_int_equal(h.ops[VNAT_OP_DGRAM_OPEN], ops0 + 3);
    sfh_free(&h);
}

PIN(policy_broadcast_multicast_and_the_guest_itself_never_leave)
{
    struct sfh h;
    sfh_init(&h, NULL);
    static const uint8_t subnet_bcast[4] = {10, 0, 2, 255};
    static const uint8_t mcast[4] = {224, 0, 0, 251};
    static const uint8_t zero[4] = {0, 0, 0, 0};
    assert_int_equal(try_all(&h, subnet_bcast), 0);
    assert_int_equal(try_all(&h, mcast), 0);
    assert_int_equal(try_all(&h, zero), 0);
    assert_int_equal(try_all(&h, h.cfg.guest_ip.addr), 0);
    sfh_free(&h);
}

/* The guest's own prefix is not the host's network: an address in it other
 * than vnat's own (gateway, DNS) is refused by TCP, UDP and ICMP, unless the
 * first rule that matches it allows it. (It used to be connected to
 * verbatim on the host's network.) */
static const struct vnat_rule rules_allow_prefix[] = {
    {.action = VNAT_RULE_ALLOW,
     .proto = VNAT_PROTO_ANY,
     .prefix = 32,
     .net = {.family = VNAT_AF_INET, .addr = {10, 0, 2, 50}},
     .port_lo = 0,
     .port_hi = 65535},
};
static void allow_prefix_rule(struct vnat_config *c)
{
    c->rules = rules_allow_prefix;
    c->n_rules = 1;
}

PIN(policy_the_guest_prefix_is_refused_except_vnats_own_addresses)
{
    struct sfh h;
    sfh_init(&h, NULL);
    static const uint8_t neighbour[4] = {10, 0, 2, 50};
    static const uint8_t net0[4] = {10, 0, 2, 0};
    static const uint8_t low[4] = {10, 0, 2, 1};
    assert_int_equal(try_all(&h, neighbour), 0);
    assert_int_equal(try_all(&h, net0), 0);
    assert_int_equal(try_all(&h, low), 0);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_POLICY]), 9);
    assert_int_equal(SFH_STAT(&h, flows_live), 0);
    /* vnat's own addresses still work: the gateway, the DNS address on 53. */
    assert_true(try_all(&h, GW) > 0);
    uint64_t connects = h.ops[VNAT_OP_TCP_CONNECT];
    static const uint8_t dns[4] = {10, 0, 2, 3};
    sfh_send_tcp(&h, dns, 40001, 53, 1, 0, VW_TCP_SYN, 65535, true, NULL, 0);
    assert_int_equal(h.ops[VNAT_OP_TCP_CONNECT], connects + 1);
    sfh_free(&h);
    /* An ALLOW rule opens one address of the prefix, and only that one. */
    sfh_init(&h, allow_prefix_rule);
    assert_int_equal(try_all(&h, neighbour), 5);
    struct vnat_sockaddr want = sfh_addr4(10, 0, 2, 50, 0);
    assert_memory_equal(&sfh_last(&h)->addr.ip, &want.ip, sizeof want.ip);
    static const uint8_t other[4] = {10, 0, 2, 51};
    assert_int_equal(try_all(&h, other), 0);
    sfh_free(&h);
}

/* Address fields are normalised at creation: junk in the padding or in
 * addr[4..15] of an IPv4 address does not change what it means. (It used to
 * switch off the gateway mapping: policy compared whole structs, ARP four
 * bytes.) */
static void junk_in_addresses(struct vnat_config *c)
{
    c->guest_ip.pad_[1] = 0x5a;
    c->guest_ip.addr[15] = 1;
    c->gateway_ip.pad_[0] = 7;
    c->gateway_ip.addr[5] = 9;
    c->dns_ip.addr[4] = 0xff;
    c->dns_servers[0].ip.addr[8] = 3;
    c->dns_servers[0].pad_ = 0x1234;
}

PIN(config_addresses_with_junk_in_padding_mean_the_same)
{
    struct sfh h;
    sfh_init(&h, junk_in_addresses);
    /* The gateway still maps to host loopback, by every protocol. */
    assert_int_equal(try_all(&h, GW), 5);
    struct vnat_sockaddr lo = sfh_addr4(127, 0, 0, 1, 0);
    assert_memory_equal(&sfh_last(&h)->addr.ip, &lo.ip, sizeof lo.ip);
    /* The DNS address still maps to the (normalised) resolver. */
    static const uint8_t dns[4] = {10, 0, 2, 3};
    sfh_send_tcp(&h, dns, 40001, 53, 1, 0, VW_TCP_SYN, 65535, true, NULL, 0);
    struct vnat_sockaddr res = sfh_addr4(127, 0, 0, 53, 53);
    assert_memory_equal(&sfh_last(&h)->addr, &res, sizeof res);
    /* The guest itself is still refused as a destination. */
    assert_int_equal(try_all(&h, h.cfg.guest_ip.addr), 0);
    sfh_free(&h);
}

static void guest_is_gateway(struct vnat_config *c)
{
    c->guest_ip = vnat_ip4(10, 0, 2, 2);
}
static void guest_is_dns(struct vnat_config *c)
{
    c->guest_ip = vnat_ip4(10, 0, 2, 3);
}
static void gateway_is_dns(struct vnat_config *c)
{
    c->dns_ip = vnat_ip4(10, 0, 2, 2);
}
static void collide_but_for_junk(struct vnat_config *c)
{
    c->dns_ip = vnat_ip4(10, 0, 2, 15);
    c->dns_ip.addr[9] = 1; /* the same address as the guest's, once normalised */
}

PIN(config_colliding_guest_gateway_or_dns_addresses_are_refused)
{
    struct sfh h;
    assert_int_equal(sfh_try_init(&h, guest_is_gateway), VNAT_E_CONFIG);
    sfh_free(&h);
    assert_int_equal(sfh_try_init(&h, guest_is_dns), VNAT_E_CONFIG);
    sfh_free(&h);
    assert_int_equal(sfh_try_init(&h, gateway_is_dns), VNAT_E_CONFIG);
    sfh_free(&h);
    assert_int_equal(sfh_try_init(&h, collide_but_for_junk), VNAT_E_CONFIG);
    sfh_free(&h);
}

PIN(antispoof_frames_not_from_the_guest_are_dropped_and_counted)
{
    struct sfh h;
    sfh_init(&h, NULL);
    /* The guest's first frame teaches its MAC (svc_mac_pins.c). */
    static const uint8_t guest[4] = {10, 0, 2, 15}, gw[4] = {10, 0, 2, 2};
    sfh_send_arp(&h, VW_ARP_REQUEST, guest, gw);
    sfh_drain(&h);
    uint8_t f[200];
    /* Wrong source MAC: TCP, UDP, ARP alike. */
    size_t n = sfh_udp_frame(&h, f, sizeof f, NULL, FAR, 40000, 9, "x", 1);
    f[11] ^= 1;
    sfh_frame(&h, f, n);
    /* Wrong source IP, right MAC: UDP and ICMP and TCP. */
    static const uint8_t other[4] = {10, 0, 2, 99};
    n = sfh_udp_frame(&h, f, sizeof f, other, FAR, 40000, 9, "x", 1);
    sfh_frame(&h, f, n);
    n = tk_icmp(&(struct tk_icmp_spec){.guest = &h.cfg,
                                       .src = other,
                                       .dst = FAR,
                                       .ip_id = 1,
                                       .type = VW_ICMP_ECHO_REQUEST,
                                       .id = 1,
                                       .seq = 1},
                f, sizeof f);
    sfh_frame(&h, f, n);
    n = tk_tcp(&(struct tk_tcp_spec){.guest = &h.cfg,
                                     .src = other,
                                     .dst = FAR,
                                     .ip_id = 1,
                                     .sport = 40000,
                                     .dport = 80,
                                     .flags = VW_TCP_SYN,
                                     .window = 1000},
               f, sizeof f);
    sfh_frame(&h, f, n);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_SPOOFED]), 4);
    assert_int_equal(h.ops[VNAT_OP_TCP_CONNECT] + h.ops[VNAT_OP_DGRAM_OPEN], 0);
    assert_int_equal(sfh_pending(&h), 0);
    sfh_free(&h);
}

PIN_MAIN(cmocka_unit_test(policy_a_denied_address_gets_nothing_by_any_protocol),
         cmocka_unit_test(policy_host_loopback_is_reached_only_through_the_gateway),
         cmocka_unit_test(policy_without_the_gateway_mapping_the_host_is_unreachable),
         cmocka_unit_test(policy_rules_apply_to_the_translated_gateway_destination),
         cmocka_unit_test(policy_link_local_is_refused_by_default),
         cmocka_unit_test(policy_link_local_is_reachable_when_allowed_by_flag_or_rule),
         cmocka_unit_test(policy_rules_match_protocol_and_port_and_the_first_match_wins),
         cmocka_unit_test(policy_broadcast_multicast_and_the_guest_itself_never_leave),
         cmocka_unit_test(policy_the_guest_prefix_is_refused_except_vnats_own_addresses),
         cmocka_unit_test(config_addresses_with_junk_in_padding_mean_the_same),
         cmocka_unit_test(config_colliding_guest_gateway_or_dns_addresses_are_refused),
         cmocka_unit_test(antispoof_frames_not_from_the_guest_are_dropped_and_counted))
