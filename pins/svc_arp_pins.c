/*
 * svc_arp_pins.c — ARP on the guest link (core/src/arp.c): vnat answers
 * for the addresses it owns, never for the guest's, handles probes and
 * gratuitous ARP, and drops malformed or spoofed requests with a counter.
 * The reference NAT's arp_* tests appear under their own names.
 */
#include <string.h>

#include "pin.h"
#include "svc_fakehost.h"

static const uint8_t GUEST[4] = {10, 0, 2, 15};
static const uint8_t GW[4] = {10, 0, 2, 2};
static const uint8_t DNS[4] = {10, 0, 2, 3};
static const uint8_t OTHER[4] = {10, 0, 2, 77};
static const uint8_t ZERO[4] = {0, 0, 0, 0};

static void expect_reply(struct sfh *h, const uint8_t target[4], const uint8_t asker[4])
{
    assert_int_equal(sfh_pending(h), 1);
    struct tk_pkt o = sfh_next(h);
    assert_true(o.ok);
    assert_int_equal(o.ethertype, VW_ETH_P_ARP);
    assert_int_equal(o.arp.op, VW_ARP_REPLY);
    assert_memory_equal(o.arp.sha, h->cfg.gateway_mac, 6);
    assert_memory_equal(o.arp.spa, target, 4);
    assert_memory_equal(o.arp.tha, h->cfg.guest_mac, 6);
    assert_memory_equal(o.arp.tpa, asker, 4);
    assert_memory_equal(o.eth_dst, h->cfg.guest_mac, 6);
    assert_memory_equal(o.eth_src, h->cfg.gateway_mac, 6);
}

PIN(arp_replies_for_gateway)
{
    struct sfh h;
    sfh_init(&h, NULL);
    sfh_send_arp(&h, VW_ARP_REQUEST, GUEST, GW);
    expect_reply(&h, GW, GUEST);
    assert_int_equal(SFH_STAT(&h, arp_replies), 1);
    sfh_free(&h);
}

PIN(arp_replies_for_dns_address)
{
    struct sfh h;
    sfh_init(&h, NULL);
    sfh_send_arp(&h, VW_ARP_REQUEST, GUEST, DNS);
    expect_reply(&h, DNS, GUEST);
    sfh_free(&h);
}

PIN(arp_does_not_reply_for_guest_ip)
{
    struct sfh h;
    sfh_init(&h, NULL);
    sfh_send_arp(&h, VW_ARP_REQUEST, GUEST, GUEST); /* gratuitous / duplicate check */
    sfh_send_arp(&h, VW_ARP_REQUEST, ZERO, GUEST);  /* RFC 5227 probe of its own address */
    assert_int_equal(sfh_pending(&h), 0);
    assert_int_equal(SFH_STAT(&h, arp_replies), 0);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_SPOOFED]), 0);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_ARP_MALFORMED]), 0);
    sfh_free(&h);
}

static void answer_all(struct vnat_config *c)
{
    c->flags |= VNAT_F_ARP_ANSWER_ALL;
}

/* The reference answered every target but the guest; in vnat that is the
 * documented option VNAT_F_ARP_ANSWER_ALL (on-link targets only). */
PIN(arp_replies_for_random_subnet_ip)
{
    struct sfh h;
    sfh_init(&h, answer_all);
    sfh_send_arp(&h, VW_ARP_REQUEST, GUEST, OTHER);
    expect_reply(&h, OTHER, GUEST);
    static const uint8_t off_link[4] = {192, 168, 9, 9};
    static const uint8_t subnet_bcast[4] = {10, 0, 2, 255};
    sfh_send_arp(&h, VW_ARP_REQUEST, GUEST, off_link);
    sfh_send_arp(&h, VW_ARP_REQUEST, GUEST, subnet_bcast);
    sfh_send_arp(&h, VW_ARP_REQUEST, GUEST, GUEST);
    assert_int_equal(sfh_pending(&h), 0);
    sfh_free(&h);
}

PIN(arp_default_is_silent_for_other_subnet_addresses)
{
    struct sfh h;
    sfh_init(&h, NULL);
    sfh_send_arp(&h, VW_ARP_REQUEST, GUEST, OTHER);
    assert_int_equal(sfh_pending(&h), 0);
    sfh_send_arp(&h, VW_ARP_REQUEST, GUEST, GW);
    assert_int_equal(sfh_pending(&h), 1);
    sfh_free(&h);
}

PIN(arp_probe_for_an_owned_address_is_answered)
{
    struct sfh h;
    sfh_init(&h, NULL);
    sfh_send_arp(&h, VW_ARP_REQUEST, ZERO, GW);
    expect_reply(&h, GW, ZERO);
    sfh_free(&h);
}

PIN(arp_gratuitous_reply_and_guest_replies_need_no_answer)
{
    struct sfh h;
    sfh_init(&h, NULL);
    sfh_send_arp(&h, VW_ARP_REPLY, GUEST, GUEST);
    sfh_send_arp(&h, VW_ARP_REPLY, GUEST, GW);
    assert_int_equal(sfh_pending(&h), 0);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_ARP_MALFORMED]), 0);
    sfh_free(&h);
}

PIN(arp_malformed_is_dropped_and_counted)
{
    struct sfh h;
    sfh_init(&h, NULL);
    uint8_t f[60];
    memset(f, 0, sizeof f);
    memset(f, 0xff, 6);
    memcpy(f + 6, h.cfg.guest_mac, 6);
    f[12] = 0x08;
    f[13] = 0x06;
    sfh_frame(&h, f, sizeof f); /* htype 0 */
    sfh_frame(&h, f, 20);       /* truncated */
    /* A well-formed body with an unknown opcode. */
    size_t n = tk_arp(&(struct tk_arp_spec){.guest = &h.cfg, .op = 9, .spa = GUEST, .tpa = GW}, f,
                      sizeof f);
    assert_int_equal(n, 42);
    sfh_frame(&h, f, n);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_ARP_MALFORMED]), 3);
    assert_int_equal(sfh_pending(&h), 0);
    sfh_free(&h);
}

PIN(arp_spoofed_sender_is_dropped_and_counted)
{
    struct sfh h;
    sfh_init(&h, NULL);
    /* The guest's first frame teaches its MAC (svc_mac_pins.c); from then on
     * another sender is a spoofer. */
    sfh_send_arp(&h, VW_ARP_REQUEST, GUEST, GW);
    expect_reply(&h, GW, GUEST);
    sfh_send_arp(&h, VW_ARP_REQUEST, OTHER, GW); /* not the guest's address */
    static const uint8_t evil[6] = {0x02, 0, 0, 0, 0, 1};
    uint8_t f[60];
    memset(f, 0, sizeof f);
    size_t n =
        tk_arp(&(struct tk_arp_spec){.op = VW_ARP_REQUEST, .sha = evil, .spa = GUEST, .tpa = GW}, f,
               sizeof f);
    memcpy(f + 6, h.cfg.guest_mac, 6); /* right Ethernet source, wrong ARP sender */
    sfh_frame(&h, f, n);
    memcpy(f + 6, evil, 6); /* wrong Ethernet source */
    sfh_frame(&h, f, n);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_SPOOFED]), 3);
    assert_int_equal(sfh_pending(&h), 0);
    sfh_free(&h);
}

PIN_MAIN(cmocka_unit_test(arp_replies_for_gateway), cmocka_unit_test(arp_replies_for_dns_address),
         cmocka_unit_test(arp_does_not_reply_for_guest_ip),
         cmocka_unit_test(arp_replies_for_random_subnet_ip),
         cmocka_unit_test(arp_default_is_silent_for_other_subnet_addresses),
         cmocka_unit_test(arp_probe_for_an_owned_address_is_answered),
         cmocka_unit_test(arp_gratuitous_reply_and_guest_replies_need_no_answer),
         cmocka_unit_test(arp_malformed_is_dropped_and_counted),
         cmocka_unit_test(arp_spoofed_sender_is_dropped_and_counted))
