/* wire_csum_pins.c — the Internet checksum, the pseudo-headers and the
 * RFC 1624 incremental update, against values computed by hand (python in
 * the comments) and against full recomputes for random edits. */
#include "pin.h"

#include <string.h>

#include "wire.h"

/* A fixed-seed xorshift32: the random edits are the same on every run. */
static uint32_t prng(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static uint16_t csum_of(const uint8_t *p, size_t n)
{
    return vw_csum_fold(vw_csum_add(0, p, n));
}

PIN(csum_rfc1071_example)
{
    /* RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum
     * ~ddf2 = 220d. python: s=0x0001+0xf203+0xf4f5+0xf6f7 = 0x2ddf0 -> fold
     * 0xddf2. */
    const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    uint32_t s = vw_csum_add(0, b, sizeof b);
    assert_int_equal((uint16_t)~vw_csum_fold(s), 0xddf2);
    assert_int_equal(vw_csum_fold(s), 0x220d);
    /* Order of 16-bit words does not matter; byte swap inside words does. */
    const uint8_t c[] = {0xf6, 0xf7, 0xf4, 0xf5, 0xf2, 0x03, 0x00, 0x01};
    assert_int_equal(csum_of(c, sizeof c), 0x220d);
}

PIN(csum_known_ipv4_header)
{
    /* 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7 (a UDP packet
     * 192.168.0.1 -> 192.168.0.199); python gives ~sum = 0xb861. */
    uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                     0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    assert_int_equal(csum_of(h, 20), 0xb861);
    vw_put16(h + 10, 0xb861);
    assert_int_equal(csum_of(h, 20), 0); /* a correct header sums to zero */
    vw_put16(h + 10, 0xb862);
    assert_int_not_equal(csum_of(h, 20), 0);
}

PIN(csum_odd_length_pads_with_zero)
{
    /* 0x0102 + 0x0300 = 0x0402 */
    const uint8_t b[] = {1, 2, 3};
    assert_int_equal(vw_csum_add(0, b, 3), 0x0402);
    const uint8_t padded[] = {1, 2, 3, 0};
    assert_int_equal(csum_of(b, 3), csum_of(padded, 4));
    assert_int_equal(vw_csum_add(0, b, 0), 0);
    assert_int_equal(vw_csum_add(7, b, 0), 7);
}

PIN(csum_chains_across_even_calls)
{
    uint8_t buf[1501];
    uint32_t seed = 12345;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)prng(&seed);
    for (size_t cut = 0; cut <= sizeof buf; cut += 2) {
        uint32_t s = vw_csum_add(0, buf, cut);
        s = vw_csum_add(s, buf + cut, sizeof buf - cut);
        assert_int_equal(vw_csum_fold(s), csum_of(buf, sizeof buf));
    }
}

PIN(csum_large_buffer_does_not_overflow)
{
    /* 256 KiB of 0xFF: every word is 0xFFFF (negative zero), so the sum
     * folds to 0xFFFF and the checksum is 0. A 32-bit accumulator without
     * carry handling would wrap and get this wrong. */
    static uint8_t big[256 * 1024];
    memset(big, 0xFF, sizeof big);
    assert_int_equal(csum_of(big, sizeof big), 0x0000);
    big[0] = 0xFE; /* one word becomes 0xFEFF: sum 0xFEFF + n*0xFFFF -> 0xFEFF */
    assert_int_equal(csum_of(big, sizeof big), 0x0100);
}

PIN(csum_udp_over_ipv4_known_value)
{
    /* 10.0.2.15:5353 -> 10.0.2.2:53, payload "abc", UDP length 11.
     * python: pseudo(src,dst,0,17,11) + 14e9 0035 000b 0000 6162 6300
     * -> checksum 0x0e47. */
    const uint8_t src[4] = {10, 0, 2, 15}, dst[4] = {10, 0, 2, 2};
    uint8_t udp[11] = {0x14, 0xe9, 0x00, 0x35, 0x00, 0x0b, 0x00, 0x00, 'a', 'b', 'c'};
    uint32_t s = vw_pseudo4(src, dst, VW_IPPROTO_UDP, sizeof udp);
    assert_int_equal(vw_csum_fold(vw_csum_add(s, udp, sizeof udp)), 0x0e47);
    vw_put16(udp + 6, 0x0e47);
    assert_true(vw_l4_csum_ok4(src, dst, VW_IPPROTO_UDP, udp, sizeof udp));
    udp[10] ^= 1;
    assert_false(vw_l4_csum_ok4(src, dst, VW_IPPROTO_UDP, udp, sizeof udp));
    vw_put16(udp + 6, 0); /* UDP over IPv4: zero = no checksum, passes */
    assert_true(vw_l4_csum_ok4(src, dst, VW_IPPROTO_UDP, udp, sizeof udp));
    assert_false(vw_l4_csum_ok4(src, dst, VW_IPPROTO_UDP, udp, 7)); /* no header */
}

PIN(csum_icmpv6_pseudo_header_known_value)
{
    /* fe80::1 -> ff02::1, echo request id 0x1234 seq 1, no data. python:
     * pseudo6 (src, dst, len 8, next 58) + 8000 0000 1234 0001 -> 0x7002. */
    uint8_t s6[16] = {0xfe, 0x80}, d6[16] = {0xff, 0x02};
    s6[15] = 1;
    d6[15] = 1;
    uint8_t icmp[8] = {128, 0, 0, 0, 0x12, 0x34, 0, 1};
    uint32_t s = vw_pseudo6(s6, d6, VW_IPPROTO_ICMPV6, 8);
    assert_int_equal(vw_csum_fold(vw_csum_add(s, icmp, 8)), 0x7002);
    vw_put16(icmp + 2, 0x7002);
    assert_true(vw_l4_csum_ok6(s6, d6, VW_IPPROTO_ICMPV6, icmp, 8));
    d6[15] = 2; /* the pseudo-header covers the addresses */
    assert_false(vw_l4_csum_ok6(s6, d6, VW_IPPROTO_ICMPV6, icmp, 8));
}

PIN(csum_udp_over_ipv6_zero_checksum_fails)
{
    uint8_t s6[16] = {0xfd}, d6[16] = {0xfd, 1};
    uint8_t udp[8] = {0, 53, 0, 53, 0, 8, 0, 0};
    assert_false(vw_l4_csum_ok6(s6, d6, VW_IPPROTO_UDP, udp, 8));
}

PIN(csum_check_refuses_lengths_no_ip_header_can_carry)
{
    /* A transport length above 65535 cannot come from one IP packet: the
     * checks fail rather than sum a length the pseudo-header would wrap. */
    static uint8_t big[0x10000 + 8];
    const uint8_t src[4] = {1, 2, 3, 4}, dst[4] = {5, 6, 7, 8};
    uint8_t s6[16] = {1}, d6[16] = {2};
    assert_false(vw_l4_csum_ok4(src, dst, VW_IPPROTO_TCP, big, 0x10000));
    assert_false(vw_l4_csum_ok6(s6, d6, VW_IPPROTO_TCP, big, 0x10000));
    /* The largest legal length still works both ways. */
    memset(big, 0, sizeof big);
    vw_put16(big + 16,
             vw_csum_fold(vw_csum_add(vw_pseudo4(src, dst, VW_IPPROTO_TCP, 0xFFFF), big, 0xFFFF)));
    assert_true(vw_l4_csum_ok4(src, dst, VW_IPPROTO_TCP, big, 0xFFFF));
}

PIN(csum_pseudo4_matches_explicit_header)
{
    /* The pseudo-header sum equals the sum of the 12 bytes RFC 793 lists. */
    const uint8_t src[4] = {192, 168, 1, 77}, dst[4] = {8, 8, 4, 4};
    uint8_t ph[12] = {192, 168, 1, 77, 8, 8, 4, 4, 0, VW_IPPROTO_TCP, 0x05, 0xDC};
    assert_int_equal(vw_csum_fold(vw_pseudo4(src, dst, VW_IPPROTO_TCP, 1500)), csum_of(ph, 12));
    uint8_t ph6[40] = {0};
    uint8_t s6[16], d6[16];
    for (int i = 0; i < 16; i++) {
        s6[i] = (uint8_t)(0xA0 + i);
        d6[i] = (uint8_t)(0x10 * i + 3);
    }
    memcpy(ph6, s6, 16);
    memcpy(ph6 + 16, d6, 16);
    vw_put32(ph6 + 32, 70000); /* a length above 16 bits uses both words */
    ph6[39] = VW_IPPROTO_UDP;
    assert_int_equal(vw_csum_fold(vw_pseudo6(s6, d6, VW_IPPROTO_UDP, 70000)), csum_of(ph6, 40));
}

PIN(csum_rfc1624_update16_equals_full_recompute)
{
    uint8_t buf[64];
    uint32_t seed = 0xC0FFEE;
    for (int round = 0; round < 20000; round++) {
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (uint8_t)prng(&seed);
        /* Every few rounds use extreme values that exercise 0 / 0xFFFF. */
        if (round % 7 == 0)
            memset(buf, (round / 7) % 2 ? 0xFF : 0x00, 32);
        buf[0] |= 1; /* never all zero: then +0 / -0 are indistinguishable */
        vw_put16(buf + 10, 0);
        uint16_t c = csum_of(buf, sizeof buf);
        vw_put16(buf + 10, c);
        size_t w = 2 * (1 + prng(&seed) % 31); /* any word but the first */
        if (w == 10)
            w = 12;
        uint16_t oldw = vw_get16(buf + w);
        uint16_t neww =
            (round % 5 == 0) ? (uint16_t)(round % 10 ? 0xFFFF : 0) : (uint16_t)prng(&seed);
        vw_put16(buf + w, neww);
        uint16_t inc = vw_csum_update16(c, oldw, neww);
        vw_put16(buf + 10, 0);
        assert_int_equal(inc, csum_of(buf, sizeof buf));
        vw_put16(buf + 10, inc);
        assert_int_equal(csum_of(buf, sizeof buf), 0);
    }
}

PIN(csum_rfc1624_update32_equals_full_recompute)
{
    uint8_t buf[40];
    uint32_t seed = 42;
    for (int round = 0; round < 20000; round++) {
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (uint8_t)prng(&seed);
        buf[0] |= 1;
        vw_put16(buf + 16, 0);
        uint16_t c = csum_of(buf, sizeof buf);
        vw_put16(buf + 16, c);
        size_t off = (round % 2) ? 12 : 20; /* like an IPv4 address or a seq */
        uint32_t oldv = vw_get32(buf + off);
        uint32_t newv = (round % 11 == 0) ? 0xFFFFFFFFu : prng(&seed);
        vw_put32(buf + off, newv);
        uint16_t inc = vw_csum_update32(c, oldv, newv);
        vw_put16(buf + 16, 0);
        assert_int_equal(inc, csum_of(buf, sizeof buf));
    }
}

PIN(csum_rfc1624_section4_example)
{
    /* RFC 1624 section 4: HC = 0xDD2F, m = 0x5555 -> m' = 0x3285 gives
     * HC' = 0x0000 by eqn. 3 (eqn. 2 would give 0xFFFF, the -0 the RFC
     * warns about). */
    assert_int_equal(vw_csum_update16(0xDD2F, 0x5555, 0x3285), 0x0000);
    /* No change, no change in checksum. */
    assert_int_equal(vw_csum_update16(0x1234, 0xABCD, 0xABCD), 0x1234);
    assert_int_equal(vw_csum_update32(0x1234, 0xDEADBEEF, 0xDEADBEEF), 0x1234);
}

PIN(status_names_are_distinct)
{
    const int codes[] = {VW_OK, VW_ETRUNC, VW_EBADLEN, VW_EBADVER, VW_ECSUM, VW_EOPT, VW_EUNSUP};
    for (size_t i = 0; i < 7; i++)
        for (size_t j = i + 1; j < 7; j++)
            assert_string_not_equal(vw_status_name(codes[i]), vw_status_name(codes[j]));
    assert_string_equal(vw_status_name(-99), "unknown");
    assert_string_equal(vw_status_name(VW_EOPT), "bad_option");
}

PIN_MAIN(cmocka_unit_test(csum_rfc1071_example), cmocka_unit_test(csum_known_ipv4_header),
         cmocka_unit_test(csum_odd_length_pads_with_zero),
         cmocka_unit_test(csum_chains_across_even_calls),
         cmocka_unit_test(csum_large_buffer_does_not_overflow),
         cmocka_unit_test(csum_udp_over_ipv4_known_value),
         cmocka_unit_test(csum_icmpv6_pseudo_header_known_value),
         cmocka_unit_test(csum_udp_over_ipv6_zero_checksum_fails),
         cmocka_unit_test(csum_check_refuses_lengths_no_ip_header_can_carry),
         cmocka_unit_test(csum_pseudo4_matches_explicit_header),
         cmocka_unit_test(csum_rfc1624_update16_equals_full_recompute),
         cmocka_unit_test(csum_rfc1624_update32_equals_full_recompute),
         cmocka_unit_test(csum_rfc1624_section4_example),
         cmocka_unit_test(status_names_are_distinct))
