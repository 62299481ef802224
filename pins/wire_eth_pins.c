/* wire_eth_pins.c — Ethernet II and ARP views and builders: fields, round
 * trips, VLAN tags parsed (so the core can count them), 802.3 lengths
 * refused, truncation at every offset. Parsers get exact-size heap copies so
 * ASan catches any read past the end. */
#include "pin.h"

#include <stdlib.h>
#include <string.h>

#include "wire.h"

static const uint8_t mac_a[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t mac_b[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
static const uint8_t ip_a[4] = {10, 0, 2, 15};
static const uint8_t ip_b[4] = {10, 0, 2, 2};

static uint8_t *exact_copy(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    assert_non_null(c);
    if (n)
        memcpy(c, p, n);
    return c;
}

static int eth_parse_n(const uint8_t *p, size_t n)
{
    struct vw_eth e;
    uint8_t *c = exact_copy(p, n);
    int rc = vw_eth_parse(c, n, &e);
    free(c);
    return rc;
}

static int arp_parse_n(const uint8_t *p, size_t n)
{
    struct vw_arp a;
    uint8_t *c = exact_copy(p, n);
    int rc = vw_arp_parse(c, n, &a);
    free(c);
    return rc;
}

PIN(eth_good_frame_parses_fields)
{
    uint8_t f[20] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12,
                     0x34, 0x56, 0x08, 0x06, 1,    2,    3,    4,    5,    6};
    struct vw_eth e;
    assert_int_equal(vw_eth_parse(f, sizeof f, &e), VW_OK);
    assert_ptr_equal(e.dst, f);
    assert_ptr_equal(e.src, f + 6);
    assert_memory_equal(e.src, mac_a, 6);
    assert_int_equal(e.ethertype, VW_ETH_P_ARP);
    assert_false(e.vlan);
    assert_ptr_equal(e.payload, f + 14);
    assert_int_equal(e.payload_len, 6);
    /* Exactly a header: empty payload, still fine. */
    assert_int_equal(vw_eth_parse(f, 14, &e), VW_OK);
    assert_int_equal(e.payload_len, 0);
}

PIN(eth_build_then_parse_round_trips)
{
    uint8_t f[64];
    memset(f, 0xAA, sizeof f);
    assert_int_equal(vw_eth_build(f, sizeof f, mac_b, mac_a, VW_ETH_P_IPV6), VW_ETH_HLEN);
    struct vw_eth e;
    assert_int_equal(vw_eth_parse(f, sizeof f, &e), VW_OK);
    assert_memory_equal(e.dst, mac_b, 6);
    assert_memory_equal(e.src, mac_a, 6);
    assert_int_equal(e.ethertype, VW_ETH_P_IPV6);
    assert_int_equal(e.payload_len, sizeof f - 14);
    assert_int_equal(f[14], 0xAA); /* nothing written past the header */
    assert_int_equal(vw_eth_build(f, 13, mac_b, mac_a, VW_ETH_P_IPV4), 0);
}

PIN(eth_vlan_tagged_frames_parse_with_vlan_set)
{
    /* 802.1Q, TCI 0x2064 (PCP 1, VID 100), inner IPv4. */
    uint8_t f[22] = {0};
    memcpy(f, mac_b, 6);
    memcpy(f + 6, mac_a, 6);
    vw_put16(f + 12, VW_ETH_P_8021Q);
    vw_put16(f + 14, 0x2064);
    vw_put16(f + 16, VW_ETH_P_IPV4);
    struct vw_eth e;
    assert_int_equal(vw_eth_parse(f, sizeof f, &e), VW_OK);
    assert_true(e.vlan);
    assert_int_equal(e.vlan_tci, 0x2064);
    assert_int_equal(e.ethertype, VW_ETH_P_IPV4);
    assert_ptr_equal(e.payload, f + 18);
    assert_int_equal(e.payload_len, 4);
    /* 802.1ad outer + 802.1Q inner: the outer TCI is reported. */
    uint8_t q[26] = {0};
    vw_put16(q + 12, VW_ETH_P_8021AD);
    vw_put16(q + 14, 0x0005);
    vw_put16(q + 16, VW_ETH_P_8021Q);
    vw_put16(q + 18, 0x0007);
    vw_put16(q + 20, VW_ETH_P_IPV6);
    assert_int_equal(vw_eth_parse(q, sizeof q, &e), VW_OK);
    assert_true(e.vlan);
    assert_int_equal(e.vlan_tci, 5);
    assert_int_equal(e.ethertype, VW_ETH_P_IPV6);
    assert_ptr_equal(e.payload, q + 22);
    /* Three tags: still vlan (so it is counted as such); the walk stops at
     * VW_ETH_MAX_TAGS and reports the tag type it did not walk. */
    uint8_t t3[30] = {0};
    vw_put16(t3 + 12, VW_ETH_P_8021AD);
    vw_put16(t3 + 16, VW_ETH_P_8021Q);
    vw_put16(t3 + 20, VW_ETH_P_8021Q);
    vw_put16(t3 + 24, VW_ETH_P_IPV4);
    assert_int_equal(vw_eth_parse(t3, sizeof t3, &e), VW_OK);
    assert_true(e.vlan);
    assert_int_equal(e.ethertype, VW_ETH_P_8021Q);
    /* A tag cut short is truncated, not a plain frame. */
    assert_int_equal(eth_parse_n(f, 17), VW_ETRUNC);
    assert_int_equal(eth_parse_n(q, 21), VW_ETRUNC);
    assert_int_equal(eth_parse_n(f, 18), VW_OK);
}

PIN(eth_8023_length_field_is_unsupported)
{
    uint8_t f[60] = {0};
    vw_put16(f + 12, 46); /* an 802.3 length */
    struct vw_eth e;
    assert_int_equal(vw_eth_parse(f, sizeof f, &e), VW_EUNSUP);
    vw_put16(f + 12, 0x05FF); /* undefined gap below 0x0600 */
    assert_int_equal(vw_eth_parse(f, sizeof f, &e), VW_EUNSUP);
    vw_put16(f + 12, 0x0600);
    assert_int_equal(vw_eth_parse(f, sizeof f, &e), VW_OK);
    /* Behind a VLAN tag the same rule holds. */
    vw_put16(f + 12, VW_ETH_P_8021Q);
    vw_put16(f + 16, 0x0010);
    assert_int_equal(vw_eth_parse(f, sizeof f, &e), VW_EUNSUP);
}

PIN(eth_truncated_at_every_offset_fails)
{
    uint8_t f[14];
    vw_eth_build(f, sizeof f, mac_b, mac_a, VW_ETH_P_IPV4);
    for (size_t n = 0; n < sizeof f; n++)
        assert_int_equal(eth_parse_n(f, n), VW_ETRUNC);
    assert_int_equal(eth_parse_n(f, sizeof f), VW_OK);
}

PIN(arp_build_then_parse_round_trips)
{
    uint8_t b[VW_ARP_LEN + 4];
    assert_int_equal(vw_arp_build(b, sizeof b, VW_ARP_REQUEST, mac_a, ip_a, mac_b, ip_b),
                     VW_ARP_LEN);
    /* Byte-exact against the RFC 826 layout. */
    const uint8_t want[VW_ARP_LEN] = {0,    1,    8,    0,    6,  4, 0, 1,  0x52, 0x54,
                                      0x00, 0x12, 0x34, 0x56, 10, 0, 2, 15, 0x02, 0,
                                      0,    0,    0,    1,    10, 0, 2, 2};
    assert_memory_equal(b, want, VW_ARP_LEN);
    struct vw_arp a;
    assert_int_equal(vw_arp_parse(b, VW_ARP_LEN, &a), VW_OK);
    assert_int_equal(a.op, VW_ARP_REQUEST);
    assert_memory_equal(a.sha, mac_a, 6);
    assert_memory_equal(a.spa, ip_a, 4);
    assert_memory_equal(a.tha, mac_b, 6);
    assert_memory_equal(a.tpa, ip_b, 4);
    assert_int_equal(vw_arp_build(b, VW_ARP_LEN - 1, VW_ARP_REPLY, mac_a, ip_a, mac_b, ip_b), 0);
}

PIN(arp_rejects_other_hardware_and_protocols)
{
    uint8_t b[VW_ARP_LEN];
    struct vw_arp a;
    const size_t field[] = {0, 1, 2, 3, 4, 5}; /* htype, ptype, hlen, plen bytes */
    for (size_t i = 0; i < 6; i++) {
        vw_arp_build(b, sizeof b, VW_ARP_REPLY, mac_a, ip_a, mac_b, ip_b);
        b[field[i]] ^= 0x10;
        assert_int_equal(vw_arp_parse(b, sizeof b, &a), VW_EBADVER);
    }
}

PIN(arp_truncated_at_every_offset_fails)
{
    uint8_t b[VW_ARP_LEN];
    vw_arp_build(b, sizeof b, VW_ARP_REPLY, mac_a, ip_a, mac_b, ip_b);
    for (size_t n = 0; n < sizeof b; n++)
        assert_int_equal(arp_parse_n(b, n), VW_ETRUNC);
    assert_int_equal(arp_parse_n(b, sizeof b), VW_OK);
}

PIN(arp_frame_is_ethernet_plus_arp)
{
    uint8_t f[42];
    const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const uint8_t zero[6] = {0};
    assert_int_equal(vw_arp_frame(f, sizeof f, bcast, VW_ARP_REQUEST, mac_a, ip_a, zero, ip_b), 42);
    struct vw_eth e;
    struct vw_arp a;
    assert_int_equal(vw_eth_parse(f, sizeof f, &e), VW_OK);
    assert_int_equal(e.ethertype, VW_ETH_P_ARP);
    assert_memory_equal(e.dst, bcast, 6);
    assert_memory_equal(e.src, mac_a, 6); /* Ethernet source is the sender */
    assert_int_equal(vw_arp_parse(e.payload, e.payload_len, &a), VW_OK);
    assert_int_equal(a.op, VW_ARP_REQUEST);
    assert_memory_equal(a.tpa, ip_b, 4);
    assert_int_equal(vw_arp_frame(f, 41, bcast, VW_ARP_REQUEST, mac_a, ip_a, zero, ip_b), 0);
}

PIN_MAIN(cmocka_unit_test(eth_good_frame_parses_fields),
         cmocka_unit_test(eth_build_then_parse_round_trips),
         cmocka_unit_test(eth_vlan_tagged_frames_parse_with_vlan_set),
         cmocka_unit_test(eth_8023_length_field_is_unsupported),
         cmocka_unit_test(eth_truncated_at_every_offset_fails),
         cmocka_unit_test(arp_build_then_parse_round_trips),
         cmocka_unit_test(arp_rejects_other_hardware_and_protocols),
         cmocka_unit_test(arp_truncated_at_every_offset_fails),
         cmocka_unit_test(arp_frame_is_ethernet_plus_arp))
