/* wire_l4_pins.c — UDP, ICMPv4, ICMPv6 views and the NDP option walk:
 * fields, lying lengths, checksums, truncation at every offset. */
#include "pin.h"

#include <stdlib.h>
#include <string.h>

#include "wire.h"

typedef int (*parse_fn)(const uint8_t *, size_t);

static int run_exact(parse_fn f, const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    assert_non_null(c);
    if (n)
        memcpy(c, p, n);
    int rc = f(c, n);
    free(c);
    return rc;
}

static int udp_p(const uint8_t *p, size_t n)
{
    struct vw_udp u;
    return vw_udp_parse(p, n, &u);
}
static int icmp4_p(const uint8_t *p, size_t n)
{
    struct vw_icmp m;
    return vw_icmp4_parse(p, n, &m);
}
static int icmp6_p(const uint8_t *p, size_t n)
{
    struct vw_icmp m;
    return vw_icmp6_parse(p, n, &m);
}

PIN(udp_good_datagram_parses_fields)
{
    uint8_t p[8 + 4 + 2] = {0x14, 0xe9, 0x00, 0x35, 0x00, 0x0c, 0x12,
                            0x34, 'd',  'a',  't',  'a',  0,    0};
    struct vw_udp u;
    assert_int_equal(vw_udp_parse(p, sizeof p, &u), VW_OK);
    assert_int_equal(u.sport, 5353);
    assert_int_equal(u.dport, 53);
    assert_int_equal(u.length, 12);
    assert_int_equal(u.csum, 0x1234);
    assert_ptr_equal(u.payload, p + 8);
    assert_int_equal(u.payload_len, 4); /* bytes after length are not payload */
}

PIN(udp_build_then_parse_round_trips)
{
    uint8_t p[8 + 100];
    assert_int_equal(vw_udp_build(p, sizeof p, 68, 67, 100), 8);
    struct vw_udp u;
    assert_int_equal(vw_udp_parse(p, sizeof p, &u), VW_OK);
    assert_int_equal(u.sport, 68);
    assert_int_equal(u.dport, 67);
    assert_int_equal(u.length, 108);
    assert_int_equal(u.csum, 0);
    assert_int_equal(u.payload_len, 100);
    assert_int_equal(vw_udp_build(p, 7, 1, 2, 0), 0);
    assert_int_equal(vw_udp_build(p, sizeof p, 1, 2, 65528), 0);
    assert_int_equal(vw_udp_build(p, sizeof p, 1, 2, 65527), 8);
}

PIN(udp_lying_length_is_rejected)
{
    uint8_t p[20];
    vw_udp_build(p, sizeof p, 1, 2, 12);
    struct vw_udp u;
    for (uint16_t l = 0; l < 8; l++) {
        vw_put16(p + 4, l);
        assert_int_equal(vw_udp_parse(p, sizeof p, &u), VW_EBADLEN);
    }
    vw_put16(p + 4, 21);
    assert_int_equal(vw_udp_parse(p, sizeof p, &u), VW_ETRUNC);
    vw_put16(p + 4, 0xFFFF);
    assert_int_equal(vw_udp_parse(p, sizeof p, &u), VW_ETRUNC);
    vw_put16(p + 4, 8);
    assert_int_equal(vw_udp_parse(p, sizeof p, &u), VW_OK);
    assert_int_equal(u.payload_len, 0);
}

PIN(udp_truncated_at_every_offset_fails)
{
    uint8_t p[8 + 9];
    vw_udp_build(p, sizeof p, 1000, 2000, 9);
    memset(p + 8, 'q', 9);
    assert_int_equal(run_exact(udp_p, p, sizeof p), VW_OK);
    for (size_t n = 0; n < sizeof p; n++)
        assert_int_equal(run_exact(udp_p, p, n), VW_ETRUNC);
}

/* An echo request with id 0x4242 seq 3 and 5 bytes of data, checksummed. */
static void icmp4_echo(uint8_t *p)
{
    const uint8_t m[13] = {8, 0, 0, 0, 0x42, 0x42, 0, 3, 'h', 'e', 'l', 'l', 'o'};
    memcpy(p, m, 13);
    vw_put16(p + 2, vw_csum_fold(vw_csum_add(0, p, 13)));
}

PIN(icmp4_echo_parses_fields_and_checks_checksum)
{
    uint8_t p[13];
    icmp4_echo(p);
    /* python: ~(0x0800 + 0x4242 + 0x0003 + 0x6865 + 0x6c6c + 0x6f00) = 0x71e8 */
    assert_int_equal(vw_get16(p + 2), 0x71e8);
    struct vw_icmp m;
    assert_int_equal(vw_icmp4_parse(p, sizeof p, &m), VW_OK);
    assert_int_equal(m.type, VW_ICMP_ECHO_REQUEST);
    assert_int_equal(m.code, 0);
    assert_int_equal(m.csum, 0x71e8);
    assert_int_equal(m.id, 0x4242);
    assert_int_equal(m.seq, 3);
    assert_ptr_equal(m.rest, p + 4);
    assert_ptr_equal(m.payload, p + 8);
    assert_int_equal(m.payload_len, 5);
    for (size_t bit = 0; bit < 13 * 8; bit++) {
        uint8_t q[13];
        memcpy(q, p, 13);
        q[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(vw_icmp4_parse(q, sizeof q, &m), VW_ECSUM);
    }
}

PIN(icmp4_truncated_at_every_offset_fails)
{
    uint8_t p[13];
    icmp4_echo(p);
    for (size_t n = 0; n < 8; n++)
        assert_int_equal(run_exact(icmp4_p, p, n), VW_ETRUNC);
    /* Cut inside the data: the checksum no longer matches. */
    for (size_t n = 8; n < sizeof p; n++)
        assert_int_equal(run_exact(icmp4_p, p, n), VW_ECSUM);
    assert_int_equal(run_exact(icmp4_p, p, sizeof p), VW_OK);
}

PIN(icmp6_parses_without_checksum_and_truncation_fails)
{
    uint8_t p[8] = {VW_ICMP6_ECHO_REQUEST, 0, 0xAB, 0xCD, 0, 1, 0, 2};
    struct vw_icmp m;
    assert_int_equal(vw_icmp6_parse(p, sizeof p, &m), VW_OK); /* csum checked elsewhere */
    assert_int_equal(m.type, VW_ICMP6_ECHO_REQUEST);
    assert_int_equal(m.csum, 0xABCD);
    assert_int_equal(m.id, 1);
    assert_int_equal(m.seq, 2);
    assert_int_equal(m.payload_len, 0);
    for (size_t n = 0; n < sizeof p; n++)
        assert_int_equal(run_exact(icmp6_p, p, n), VW_ETRUNC);
}

PIN(ndp_options_walk_and_bad_lengths_fail)
{
    /* source link-layer address (type 1, len 1 = 8 bytes), then a prefix
     * information option (type 3, len 4 = 32 bytes). */
    uint8_t o[40] = {1, 1, 0x52, 0x54, 0, 1, 2, 3, 3, 4};
    struct vw_ndp_iter it;
    uint8_t type;
    size_t len;
    const uint8_t *d;
    vw_ndp_iter_init(&it, o, sizeof o);
    assert_int_equal(vw_ndp_iter_next(&it, &type, &len, &d), 1);
    assert_int_equal(type, 1);
    assert_int_equal(len, 8);
    assert_ptr_equal(d, o);
    assert_int_equal(vw_ndp_iter_next(&it, &type, &len, &d), 1);
    assert_int_equal(type, 3);
    assert_int_equal(len, 32);
    assert_int_equal(vw_ndp_iter_next(&it, &type, &len, &d), 0);
    /* a zero length */
    o[1] = 0;
    vw_ndp_iter_init(&it, o, sizeof o);
    assert_int_equal(vw_ndp_iter_next(&it, &type, &len, &d), VW_EOPT);
    assert_int_equal(vw_ndp_iter_next(&it, &type, &len, &d), 0); /* stays stopped */
    /* past the end */
    o[1] = 1;
    o[9] = 5;
    vw_ndp_iter_init(&it, o, sizeof o);
    assert_int_equal(vw_ndp_iter_next(&it, &type, &len, &d), 1);
    assert_int_equal(vw_ndp_iter_next(&it, &type, &len, &d), VW_EOPT);
    /* one stray byte at the end */
    vw_ndp_iter_init(&it, o, 9);
    assert_int_equal(vw_ndp_iter_next(&it, &type, &len, &d), 1);
    assert_int_equal(vw_ndp_iter_next(&it, &type, &len, &d), VW_EOPT);
}

PIN(dns_skip_name_walks_labels_and_pointers_and_rejects_the_rest)
{
    /* "ab.c" then a pointer, at offset 2 of a message */
    const uint8_t m[] = {0xff, 0xff, 2, 'a', 'b', 1, 'c', 0, 0xC0, 0x02, 0x77};
    assert_int_equal(vw_dns_skip_name(m, sizeof m, 2), 8);  /* after the zero label */
    assert_int_equal(vw_dns_skip_name(m, sizeof m, 8), 10); /* a pointer is two bytes */
    for (size_t len = 2; len < 8; len++)                    /* cut anywhere inside: refused */
        assert_int_equal(vw_dns_skip_name(m, len, 2), 0);
    assert_int_equal(vw_dns_skip_name(m, 9, 8), 0); /* half a pointer */
    /* A name that ends the message exactly (its pointer or its zero
     * label are the last bytes) is whole (tools/mutate: the bounds). */
    assert_int_equal(vw_dns_skip_name(m, 10, 8), 10);
    assert_int_equal(vw_dns_skip_name(m, 8, 2), 8);
    const uint8_t reserved[] = {0x40, 0}; /* label types 01 and 10 */
    assert_int_equal(vw_dns_skip_name(reserved, sizeof reserved, 0), 0);
    uint8_t many[300];
    memset(many, 0, sizeof many);
    for (size_t i = 0; i + 1 < sizeof many; i += 2)
        many[i] = 1; /* 149 one-byte labels: over the 128-label bound */
    many[sizeof many - 1] = 0;
    assert_int_equal(vw_dns_skip_name(many, sizeof many, 0), 0);
}

PIN_MAIN(cmocka_unit_test(udp_good_datagram_parses_fields),
         cmocka_unit_test(udp_build_then_parse_round_trips),
         cmocka_unit_test(udp_lying_length_is_rejected),
         cmocka_unit_test(udp_truncated_at_every_offset_fails),
         cmocka_unit_test(icmp4_echo_parses_fields_and_checks_checksum),
         cmocka_unit_test(icmp4_truncated_at_every_offset_fails),
         cmocka_unit_test(icmp6_parses_without_checksum_and_truncation_fails),
         cmocka_unit_test(ndp_options_walk_and_bad_lengths_fail),
         cmocka_unit_test(dns_skip_name_walks_labels_and_pointers_and_rejects_the_rest))
