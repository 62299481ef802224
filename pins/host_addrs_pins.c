/*
 * host_addrs_pins.c — the adapter's rules that keep the guest off the
 * host's own addresses (host/hostaddrs.c, issue 5: "the gateway mapping is
 * the only default way to reach the host itself"). The rule building is a
 * pure function, pinned on address lists; then the rules go into a core
 * (over the services' fake host) after a user's rules, to show the
 * combination the `vnat` command makes: a host address is refused by every
 * protocol, the gateway still reaches host loopback, a user's ALLOW opens
 * one address, and a resolver on a host address still answers. The real
 * adapter end to end is host/tests/it_host_addrs.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "adapter.h"
#include "pin.h"
#include "svc_fakehost.h"

static struct vnat_ip ip6(uint8_t first, uint8_t last)
{
    struct vnat_ip ip;
    memset(&ip, 0, sizeof ip);
    ip.family = VNAT_AF_INET6;
    ip.addr[0] = first;
    ip.addr[1] = first ? 0x0d : 0;
    ip.addr[15] = last;
    return ip;
}

static void assert_rule(const struct vnat_rule *r, uint8_t action, uint8_t proto,
                        const struct vnat_ip *net, uint16_t lo, uint16_t hi)
{
    assert_int_equal(r->action, action);
    assert_int_equal(r->proto, proto);
    assert_int_equal(r->prefix, net->family == VNAT_AF_INET ? 32 : 128);
    assert_memory_equal(&r->net, net, sizeof *net);
    assert_int_equal(r->port_lo, lo);
    assert_int_equal(r->port_hi, hi);
}

PIN(host_addrs_deny_each_address_once_and_spare_loopback)
{
    const struct vnat_ip addrs[] = {
        vnat_ip4(127, 0, 0, 1),         vnat_ip4(192, 168, 1, 10), ip6(0, 1) /* ::1 */,
        ip6(0x20, 5) /* 2000:d00::5 */, vnat_ip4(0, 0, 0, 0),      vnat_ip4(192, 168, 1, 10),
        vnat_ip4(127, 5, 5, 5),         ip6(0, 0) /* :: */,        vnat_ip4(172, 17, 0, 1)};
    struct vnat_rule out[16];
    memset(out, 0xa5, sizeof out);
    long n = host_addrs_rules(addrs, sizeof addrs / sizeof addrs[0], NULL, 0, out, 16);
    assert_int_equal(n, 3);
    assert_rule(&out[0], VNAT_RULE_DENY, VNAT_PROTO_ANY, &addrs[1], 0, 65535);
    assert_rule(&out[1], VNAT_RULE_DENY, VNAT_PROTO_ANY, &addrs[3], 0, 65535);
    assert_rule(&out[2], VNAT_RULE_DENY, VNAT_PROTO_ANY, &addrs[8], 0, 65535);
    assert_int_equal(out[0].pad_, 0);
    /* Too little room is an error, never a silently shorter list. */
    assert_int_equal(host_addrs_rules(addrs, sizeof addrs / sizeof addrs[0], NULL, 0, out, 2), -1);
    assert_int_equal(host_addrs_rules(addrs, 1, NULL, 0, out, 0), 0); /* loopback only */
}

PIN(host_addrs_keep_a_resolver_on_a_host_address_open)
{
    const struct vnat_ip addrs[] = {vnat_ip4(127, 0, 0, 1), vnat_ip4(192, 168, 1, 10)};
    const struct vnat_sockaddr dns[] = {
        sfh_addr4(127, 0, 0, 53, 53), sfh_addr4(192, 168, 1, 10, 5353), sfh_addr4(8, 8, 8, 8, 53)};
    struct vnat_rule out[8];
    long n = host_addrs_rules(addrs, 2, dns, 3, out, 8);
    assert_int_equal(n, 3);
    assert_rule(&out[0], VNAT_RULE_ALLOW, VNAT_PROTO_UDP, &addrs[1], 5353, 5353);
    assert_rule(&out[1], VNAT_RULE_ALLOW, VNAT_PROTO_TCP, &addrs[1], 5353, 5353);
    assert_rule(&out[2], VNAT_RULE_DENY, VNAT_PROTO_ANY, &addrs[1], 0, 65535);
}

PIN(host_addrs_list_reports_the_kernels_addresses)
{
    static struct vnat_ip addrs[HOST_ADDRS_MAX];
    long n = host_addrs_list(addrs, HOST_ADDRS_MAX);
    assert_true(n >= 0);
    for (long i = 0; i < n; i++)
        assert_true(addrs[i].family == VNAT_AF_INET || addrs[i].family == VNAT_AF_INET6);
    if (n > 0)
        assert_int_equal(host_addrs_list(addrs, (size_t)n - 1), -ENOSPC);
}

/* A host with loopback, 192.0.2.10 (also its resolver) and 192.0.2.77; the
 * user allows 192.0.2.77. */
static struct vnat_rule combined[16];
static uint32_t n_combined;

static void host_rules(struct vnat_config *c)
{
    const struct vnat_ip addrs[] = {vnat_ip4(127, 0, 0, 1), vnat_ip4(192, 0, 2, 10),
                                    vnat_ip4(192, 0, 2, 77)};
    memset(combined, 0, sizeof combined);
    combined[0].action = VNAT_RULE_ALLOW;
    combined[0].prefix = 32;
    combined[0].net = addrs[2];
    combined[0].port_hi = 65535;
    c->n_dns_servers = 1;
    c->dns_servers[0] = sfh_addr4(192, 0, 2, 10, 53);
    long k = host_addrs_rules(addrs, 3, c->dns_servers, 1, combined + 1, 15);
    assert_int_equal(k, 4); /* allow udp 53, allow tcp 53, deny .10, deny .77 */
    n_combined = 1 + (uint32_t)k;
    c->rules = combined;
    c->n_rules = n_combined;
}

static uint64_t connects_to(struct sfh *h, const uint8_t dst[4], uint16_t port,
                            struct vnat_sockaddr *where)
{
    uint64_t before = h->ops[VNAT_OP_TCP_CONNECT];
    sfh_send_tcp(h, dst, 40000, port, 1, 0, VW_TCP_SYN, 65535, true, NULL, 0);
    if (h->ops[VNAT_OP_TCP_CONNECT] != before && where != NULL)
        *where = sfh_last(h)->addr;
    return h->ops[VNAT_OP_TCP_CONNECT] - before;
}

PIN(host_addrs_rules_refuse_the_host_but_keep_the_gateway_mapping)
{
    struct sfh h;
    sfh_init(&h, host_rules);
    static const uint8_t HOST[4] = {192, 0, 2, 10}, OPENED[4] = {192, 0, 2, 77},
                         GW[4] = {10, 0, 2, 2}, DNS[4] = {10, 0, 2, 3}, FAR[4] = {198, 51, 100, 7};
    struct vnat_sockaddr at;
    /* The host's address: refused by TCP (reset), UDP and ICMP, counted. */
    assert_int_equal(connects_to(&h, HOST, 80, NULL), 0);
    struct tk_pkt o;
    do
        o = sfh_next(&h);
    while (o.ok && o.proto != VW_IPPROTO_TCP);
    assert_true(o.ok && (o.tcp.flags & VW_TCP_RST));
    uint64_t opens = h.ops[VNAT_OP_DGRAM_OPEN];
    sfh_send_udp(&h, HOST, 40001, 80, "u", 1);
    sfh_send_ping(&h, HOST, 7, 1, "i", 1);
    assert_int_equal(h.ops[VNAT_OP_DGRAM_OPEN], opens);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_POLICY]), 3);
    assert_int_equal(SFH_STAT(&h, rst_sent[VNAT_RST_POLICY]), 1);
    /* The gateway still reaches host loopback. */
    assert_int_equal(connects_to(&h, GW, 8080, &at), 1);
    struct vnat_sockaddr lo = sfh_addr4(127, 0, 0, 1, 8080);
    assert_memory_equal(&at, &lo, sizeof lo);
    /* The user's ALLOW comes first and opens its address. */
    assert_int_equal(connects_to(&h, OPENED, 80, NULL), 1);
    /* The resolver on a host address answers through the DNS address, and
     * its port alone is open. */
    assert_int_equal(connects_to(&h, DNS, 53, &at), 1);
    struct vnat_sockaddr res = sfh_addr4(192, 0, 2, 10, 53);
    assert_memory_equal(&at, &res, sizeof res);
    assert_int_equal(connects_to(&h, HOST, 54, NULL), 0);
    /* Everything else is as before. */
    assert_int_equal(connects_to(&h, FAR, 80, NULL), 1);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_POLICY]), 4);
    sfh_free(&h);
}

PIN_MAIN(cmocka_unit_test(host_addrs_deny_each_address_once_and_spare_loopback),
         cmocka_unit_test(host_addrs_keep_a_resolver_on_a_host_address_open),
         cmocka_unit_test(host_addrs_list_reports_the_kernels_addresses),
         cmocka_unit_test(host_addrs_rules_refuse_the_host_but_keep_the_gateway_mapping))
