/* wire_ip_pins.c — IPv4 (fields, options, fragments, header checksum,
 * lying lengths) and IPv6 (fixed header, bounded extension-header walk).
 * Parsers get exact-size heap copies so ASan catches any overread. */
#include "pin.h"

#include <stdlib.h>
#include <string.h>

#include "wire.h"

static const uint8_t ip_a[4] = {10, 0, 2, 15};
static const uint8_t ip_b[4] = {93, 184, 216, 34};

static int ipv4_parse_n(const uint8_t *p, size_t n, struct vw_ipv4 *out)
{
    uint8_t *c = malloc(n ? n : 1);
    assert_non_null(c);
    if (n)
        memcpy(c, p, n);
    int rc = vw_ipv4_parse(c, n, out);
    free(c);
    return rc; /* out's pointers dangle now: callers only look at rc */
}

static int ipv6_parse_n(const uint8_t *p, size_t n, struct vw_ipv6 *out)
{
    uint8_t *c = malloc(n ? n : 1);
    assert_non_null(c);
    if (n)
        memcpy(c, p, n);
    int rc = vw_ipv6_parse(c, n, out);
    free(c);
    return rc;
}

/* Recomputes the header checksum after a test edits a header. */
static void ipv4_fix_csum(uint8_t *h)
{
    size_t ihl = (size_t)(h[0] & 15) * 4;
    vw_put16(h + 10, 0);
    vw_put16(h + 10, vw_csum_fold(vw_csum_add(0, h, ihl)));
}

PIN(ipv4_known_header_parses_fields)
{
    /* The classic header whose checksum is 0xb861 (see wire_csum_pins.c),
     * total length 0x73 = 115. */
    uint8_t p[115] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                      0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    struct vw_ipv4 h;
    assert_int_equal(vw_ipv4_parse(p, sizeof p, &h), VW_OK);
    assert_int_equal(h.ihl_bytes, 20);
    assert_int_equal(h.total_len, 115);
    assert_int_equal(h.id, 0);
    assert_true(h.df);
    assert_false(h.mf);
    assert_false(h.is_fragment);
    assert_int_equal(h.ttl, 64);
    assert_int_equal(h.proto, VW_IPPROTO_UDP);
    assert_ptr_equal(h.src, p + 12);
    assert_ptr_equal(h.dst, p + 16);
    assert_int_equal(h.options_len, 0);
    assert_ptr_equal(h.payload, p + 20);
    assert_int_equal(h.payload_len, 95);
}

PIN(ipv4_build_then_parse_round_trips)
{
    uint8_t p[20 + 33];
    memset(p, 0x5A, sizeof p);
    assert_int_equal(vw_ipv4_build(p, sizeof p, ip_a, ip_b, VW_IPPROTO_TCP, 0xBEEF, 63, 33), 20);
    struct vw_ipv4 h;
    assert_int_equal(vw_ipv4_parse(p, sizeof p, &h), VW_OK);
    assert_memory_equal(h.src, ip_a, 4);
    assert_memory_equal(h.dst, ip_b, 4);
    assert_int_equal(h.proto, VW_IPPROTO_TCP);
    assert_int_equal(h.id, 0xBEEF);
    assert_int_equal(h.ttl, 63);
    assert_true(h.df);
    assert_int_equal(h.tos, 0);
    assert_int_equal(h.total_len, 53);
    assert_int_equal(h.payload_len, 33);
    assert_int_equal(p[20], 0x5A);
    assert_int_equal(vw_ipv4_build(p, 19, ip_a, ip_b, 6, 0, 64, 0), 0);
    assert_int_equal(vw_ipv4_build(p, sizeof p, ip_a, ip_b, 6, 0, 64, 65516), 0);
    assert_int_equal(vw_ipv4_build(p, sizeof p, ip_a, ip_b, 6, 0, 64, 65515), 20);
}

PIN(ipv4_trailing_ethernet_padding_is_excluded)
{
    uint8_t p[46] = {0}; /* a 20-byte packet padded to the Ethernet minimum */
    vw_ipv4_build(p, sizeof p, ip_a, ip_b, VW_IPPROTO_ICMP, 1, 64, 0);
    struct vw_ipv4 h;
    assert_int_equal(vw_ipv4_parse(p, sizeof p, &h), VW_OK);
    assert_int_equal(h.payload_len, 0);
}

PIN(ipv4_truncated_at_every_offset_fails)
{
    uint8_t p[24 + 12];
    vw_ipv4_build(p, sizeof p, ip_a, ip_b, VW_IPPROTO_UDP, 7, 64, 12);
    /* add a 4-byte option (NOP NOP NOP EOL) so the options path is cut too */
    memmove(p + 24, p + 20, 12);
    p[0] = 0x46;
    vw_put16(p + 2, 36);
    p[20] = 1;
    p[21] = 1;
    p[22] = 1;
    p[23] = 0;
    ipv4_fix_csum(p);
    struct vw_ipv4 h;
    assert_int_equal(ipv4_parse_n(p, sizeof p, &h), VW_OK);
    for (size_t n = 0; n < sizeof p; n++)
        assert_int_equal(ipv4_parse_n(p, n, &h), VW_ETRUNC);
}

PIN(ipv4_lying_lengths_are_rejected)
{
    uint8_t p[60] = {0};
    vw_ipv4_build(p, sizeof p, ip_a, ip_b, VW_IPPROTO_TCP, 1, 64, 20);
    struct vw_ipv4 h;
    /* ihl below 5 */
    for (uint8_t ihl = 0; ihl < 5; ihl++) {
        p[0] = (uint8_t)(0x40 | ihl);
        ipv4_fix_csum(p);
        assert_int_equal(vw_ipv4_parse(p, sizeof p, &h), VW_EBADLEN);
    }
    /* ihl past the buffer: 15 words = 60 bytes but only 40 given */
    p[0] = 0x4F;
    assert_int_equal(ipv4_parse_n(p, 40, &h), VW_ETRUNC);
    /* total length smaller than the header */
    p[0] = 0x45;
    vw_put16(p + 2, 19);
    ipv4_fix_csum(p);
    assert_int_equal(vw_ipv4_parse(p, sizeof p, &h), VW_EBADLEN);
    vw_put16(p + 2, 0);
    ipv4_fix_csum(p);
    assert_int_equal(vw_ipv4_parse(p, sizeof p, &h), VW_EBADLEN);
    /* total length past the buffer */
    vw_put16(p + 2, 61);
    ipv4_fix_csum(p);
    assert_int_equal(vw_ipv4_parse(p, sizeof p, &h), VW_ETRUNC);
    vw_put16(p + 2, 0xFFFF);
    ipv4_fix_csum(p);
    assert_int_equal(vw_ipv4_parse(p, sizeof p, &h), VW_ETRUNC);
    /* total length 20 exactly: header only, payload empty */
    vw_put16(p + 2, 20);
    ipv4_fix_csum(p);
    assert_int_equal(vw_ipv4_parse(p, sizeof p, &h), VW_OK);
    assert_int_equal(h.payload_len, 0);
    /* ihl 6 with total 23: header fits, then total < ihl */
    p[0] = 0x46;
    vw_put16(p + 2, 23);
    ipv4_fix_csum(p);
    assert_int_equal(vw_ipv4_parse(p, sizeof p, &h), VW_EBADLEN);
}

PIN(ipv4_wrong_version_is_rejected)
{
    uint8_t p[20];
    vw_ipv4_build(p, sizeof p, ip_a, ip_b, VW_IPPROTO_TCP, 1, 64, 0);
    struct vw_ipv4 h;
    for (uint8_t v = 0; v < 16; v++) {
        if (v == 4)
            continue;
        p[0] = (uint8_t)(v << 4 | 5);
        ipv4_fix_csum(p);
        assert_int_equal(vw_ipv4_parse(p, sizeof p, &h), VW_EBADVER);
    }
}

PIN(ipv4_bad_header_checksum_is_rejected)
{
    uint8_t p[20];
    vw_ipv4_build(p, sizeof p, ip_a, ip_b, VW_IPPROTO_TCP, 1, 64, 0);
    struct vw_ipv4 h;
    /* Flip each bit of the header that is not version/ihl/length in turn. */
    for (size_t bit = 32; bit < 160; bit++) {
        uint8_t q[20];
        memcpy(q, p, 20);
        q[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
        assert_int_equal(vw_ipv4_parse(q, sizeof q, &h), VW_ECSUM);
    }
    assert_int_equal(vw_ipv4_parse(p, sizeof p, &h), VW_OK);
}

/* A header with ihl 5 + nwords and the given option bytes. */
static size_t ipv4_with_options(uint8_t *p, const uint8_t *opt, size_t optlen)
{
    size_t ihl = 20 + optlen;
    memset(p, 0, 60);
    vw_ipv4_build(p, 60, ip_a, ip_b, VW_IPPROTO_UDP, 9, 64, 0);
    p[0] = (uint8_t)(0x40 | (ihl / 4));
    vw_put16(p + 2, (uint16_t)ihl);
    memcpy(p + 20, opt, optlen);
    ipv4_fix_csum(p);
    return ihl;
}

PIN(ipv4_options_well_formed_are_accepted)
{
    uint8_t p[60];
    struct vw_ipv4 h;
    /* Record route (7), length 7, pointer 4, one empty slot; then EOL. */
    const uint8_t rr[8] = {7, 7, 4, 0, 0, 0, 0, 0};
    size_t n = ipv4_with_options(p, rr, sizeof rr);
    assert_int_equal(vw_ipv4_parse(p, n, &h), VW_OK);
    assert_int_equal(h.ihl_bytes, 28);
    assert_int_equal(h.options_len, 8);
    assert_ptr_equal(h.options, p + 20);
    /* Router alert (148, len 4) after two NOPs, then NOPs to pad. */
    const uint8_t ra[8] = {1, 1, 148, 4, 0, 0, 1, 1};
    n = ipv4_with_options(p, ra, sizeof ra);
    assert_int_equal(vw_ipv4_parse(p, n, &h), VW_OK);
    /* EOL ends the list: garbage after it is padding. */
    const uint8_t eol[4] = {0, 0xFF, 0x00, 0x01};
    n = ipv4_with_options(p, eol, sizeof eol);
    assert_int_equal(vw_ipv4_parse(p, n, &h), VW_OK);
    /* 40 bytes of options: the maximum. */
    uint8_t big[40];
    big[0] = 0x44; /* timestamp, length 40 */
    big[1] = 40;
    memset(big + 2, 0, 38);
    n = ipv4_with_options(p, big, sizeof big);
    assert_int_equal(n, 60);
    assert_int_equal(vw_ipv4_parse(p, n, &h), VW_OK);
}

PIN(ipv4_options_malformed_are_rejected)
{
    uint8_t p[60];
    struct vw_ipv4 h;
    const uint8_t len0[4] = {7, 0, 0, 0};
    const uint8_t len1[4] = {7, 1, 0, 0};
    const uint8_t past[4] = {7, 5, 4, 0};
    const uint8_t last_byte[4] = {1, 1, 1, 7}; /* a type with no room for its length */
    const uint8_t past_after_nop[8] = {1, 148, 4, 0, 0, 7, 4, 0};
    size_t n = ipv4_with_options(p, len0, 4);
    assert_int_equal(vw_ipv4_parse(p, n, &h), VW_EOPT);
    n = ipv4_with_options(p, len1, 4);
    assert_int_equal(vw_ipv4_parse(p, n, &h), VW_EOPT);
    n = ipv4_with_options(p, past, 4);
    assert_int_equal(vw_ipv4_parse(p, n, &h), VW_EOPT);
    n = ipv4_with_options(p, last_byte, 4);
    assert_int_equal(ipv4_parse_n(p, n, &h), VW_EOPT); /* exact copy: no overread */
    n = ipv4_with_options(p, past_after_nop, 8);
    assert_int_equal(vw_ipv4_parse(p, n, &h), VW_EOPT);
}

PIN(ipv4_fragments_are_recognised)
{
    uint8_t p[28];
    struct vw_ipv4 h;
    vw_ipv4_build(p, sizeof p, ip_a, ip_b, VW_IPPROTO_UDP, 77, 64, 8);
    vw_put16(p + 6, 0x2000); /* MF, offset 0: first fragment */
    ipv4_fix_csum(p);
    assert_int_equal(vw_ipv4_parse(p, sizeof p, &h), VW_OK);
    assert_true(h.mf);
    assert_false(h.df);
    assert_int_equal(h.frag_offset, 0);
    assert_true(h.is_fragment);
    vw_put16(p + 6, 185); /* last fragment at 185*8 = 1480 */
    ipv4_fix_csum(p);
    assert_int_equal(vw_ipv4_parse(p, sizeof p, &h), VW_OK);
    assert_false(h.mf);
    assert_int_equal(h.frag_offset, 1480);
    assert_true(h.is_fragment);
    vw_put16(p + 6, 0x1FFF); /* the largest offset: 65528 */
    ipv4_fix_csum(p);
    assert_int_equal(vw_ipv4_parse(p, sizeof p, &h), VW_OK);
    assert_int_equal(h.frag_offset, 65528);
    vw_put16(p + 6, 0x4000); /* DF only: not a fragment */
    ipv4_fix_csum(p);
    assert_int_equal(vw_ipv4_parse(p, sizeof p, &h), VW_OK);
    assert_false(h.is_fragment);
}

/* ---------------------------------------------------------------- IPv6 */

static const uint8_t v6_a[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
static const uint8_t v6_b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};

PIN(ipv6_build_then_parse_round_trips)
{
    uint8_t p[40 + 12];
    memset(p, 0x77, sizeof p);
    assert_int_equal(vw_ipv6_build(p, sizeof p, v6_a, v6_b, VW_IPPROTO_UDP, 255, 12), 40);
    struct vw_ipv6 h;
    assert_int_equal(vw_ipv6_parse(p, sizeof p, &h), VW_OK);
    assert_int_equal(h.traffic_class, 0);
    assert_int_equal(h.flow_label, 0);
    assert_int_equal(h.payload_len_field, 12);
    assert_int_equal(h.next_header, VW_IPPROTO_UDP);
    assert_int_equal(h.upper_proto, VW_IPPROTO_UDP);
    assert_int_equal(h.hop_limit, 255);
    assert_memory_equal(h.src, v6_a, 16);
    assert_memory_equal(h.dst, v6_b, 16);
    assert_int_equal(h.ext_count, 0);
    assert_false(h.is_fragment);
    assert_ptr_equal(h.payload, p + 40);
    assert_int_equal(h.payload_len, 12);
    assert_int_equal(vw_ipv6_build(p, 39, v6_a, v6_b, 17, 1, 0), 0);
    assert_int_equal(vw_ipv6_build(p, sizeof p, v6_a, v6_b, 17, 1, 65536), 0);
}

PIN(ipv6_traffic_class_and_flow_label_parse)
{
    uint8_t p[40];
    vw_ipv6_build(p, sizeof p, v6_a, v6_b, VW_IPPROTO_TCP, 64, 0);
    vw_put32(p, 0x6ABCDEF1u); /* tc 0xAB, flow 0xCDEF1 */
    struct vw_ipv6 h;
    assert_int_equal(vw_ipv6_parse(p, sizeof p, &h), VW_OK);
    assert_int_equal(h.traffic_class, 0xAB);
    assert_int_equal(h.flow_label, 0xCDEF1);
    p[0] = 0x4A;
    assert_int_equal(vw_ipv6_parse(p, sizeof p, &h), VW_EBADVER);
}

/* IPv6 + hop-by-hop(8) + routing(24) + dest-opts(16) + atomic fragment(8)
 * + AH(12) + 8 bytes of TCP-ish payload. Returns the length. */
static size_t ipv6_with_chain(uint8_t *p)
{
    uint8_t *e = p + 40;
    memset(p, 0, 40 + 8 + 24 + 16 + 8 + 12 + 8);
    e[0] = VW_IPPROTO_ROUTING; /* HBH: next, len 0 (8 bytes), PadN */
    e[1] = 0;
    e[2] = 1;
    e[3] = 4;
    e += 8;
    e[0] = VW_IPPROTO_DSTOPTS; /* routing: len 2 (24 bytes) */
    e[1] = 2;
    e += 24;
    e[0] = VW_IPPROTO_FRAGMENT; /* dest opts: len 1 (16 bytes) */
    e[1] = 1;
    e[2] = 1;
    e[3] = 12;
    e += 16;
    e[0] = VW_IPPROTO_AH; /* fragment: offset 0, M 0 = atomic */
    vw_put32(e + 4, 0x12345678);
    e += 8;
    e[0] = VW_IPPROTO_TCP; /* AH: len 1 -> (1+2)*4 = 12 bytes */
    e[1] = 1;
    e += 12;
    memset(e, 0xEE, 8);
    size_t plen = (size_t)(e + 8 - (p + 40));
    vw_ipv6_build(p, 40, v6_a, v6_b, VW_IPPROTO_HOPOPTS, 64, plen);
    return 40 + plen;
}

PIN(ipv6_extension_header_walk_finds_upper_layer)
{
    uint8_t p[40 + 76];
    size_t n = ipv6_with_chain(p);
    assert_int_equal(n, sizeof p);
    struct vw_ipv6 h;
    assert_int_equal(vw_ipv6_parse(p, n, &h), VW_OK);
    assert_int_equal(h.next_header, VW_IPPROTO_HOPOPTS);
    assert_int_equal(h.upper_proto, VW_IPPROTO_TCP);
    assert_int_equal(h.ext_count, 5);
    assert_false(h.is_fragment); /* atomic fragment is a whole packet */
    assert_ptr_equal(h.payload, p + n - 8);
    assert_int_equal(h.payload_len, 8);
}

PIN(ipv6_real_fragment_is_recognised_and_walk_stops)
{
    uint8_t p[40 + 8 + 16];
    memset(p, 0, sizeof p);
    vw_ipv6_build(p, sizeof p, v6_a, v6_b, VW_IPPROTO_FRAGMENT, 64, 24);
    p[40] = VW_IPPROTO_UDP;
    vw_put16(p + 42, 0x0001); /* offset 0, M: first fragment */
    struct vw_ipv6 h;
    assert_int_equal(vw_ipv6_parse(p, sizeof p, &h), VW_OK);
    assert_true(h.is_fragment);
    assert_int_equal(h.upper_proto, VW_IPPROTO_UDP);
    assert_int_equal(h.ext_count, 1);
    assert_int_equal(h.payload_len, 16);
    vw_put16(p + 42, 0x00B8);   /* offset 23*8, no M: a later fragment */
    p[48] = VW_IPPROTO_HOPOPTS; /* payload bytes must not be walked */
    assert_int_equal(vw_ipv6_parse(p, sizeof p, &h), VW_OK);
    assert_true(h.is_fragment);
}

PIN(ipv6_hop_by_hop_not_first_is_rejected)
{
    uint8_t p[40 + 16];
    memset(p, 0, sizeof p);
    vw_ipv6_build(p, sizeof p, v6_a, v6_b, VW_IPPROTO_DSTOPTS, 64, 16);
    p[40] = VW_IPPROTO_HOPOPTS;
    p[48] = VW_IPPROTO_NONE;
    struct vw_ipv6 h;
    assert_int_equal(vw_ipv6_parse(p, sizeof p, &h), VW_EOPT);
}

PIN(ipv6_extension_chain_is_bounded)
{
    /* VW_IPV6_MAX_EXT destination-options headers pass; one more fails. */
    uint8_t p[40 + 8 * (VW_IPV6_MAX_EXT + 1)];
    struct vw_ipv6 h;
    for (unsigned k = VW_IPV6_MAX_EXT; k <= VW_IPV6_MAX_EXT + 1; k++) {
        memset(p, 0, sizeof p);
        vw_ipv6_build(p, sizeof p, v6_a, v6_b, VW_IPPROTO_DSTOPTS, 64, 8 * k);
        for (unsigned i = 0; i < k; i++)
            p[40 + 8 * i] = (uint8_t)(i + 1 < k ? VW_IPPROTO_DSTOPTS : VW_IPPROTO_NONE);
        int rc = vw_ipv6_parse(p, 40 + 8 * k, &h);
        if (k == VW_IPV6_MAX_EXT) {
            assert_int_equal(rc, VW_OK);
            assert_int_equal(h.ext_count, VW_IPV6_MAX_EXT);
            assert_int_equal(h.upper_proto, VW_IPPROTO_NONE);
        } else {
            assert_int_equal(rc, VW_EUNSUP);
        }
    }
}

PIN(ipv6_lying_lengths_are_rejected)
{
    uint8_t p[40 + 76];
    size_t n = ipv6_with_chain(p);
    struct vw_ipv6 h;
    /* payload length past the buffer */
    vw_put16(p + 4, (uint16_t)(n - 40 + 1));
    assert_int_equal(vw_ipv6_parse(p, n, &h), VW_ETRUNC);
    /* payload length that ends inside the extension chain: every cut fails */
    for (size_t plen = 0; plen < 8 + 24 + 16 + 8 + 12; plen++) {
        vw_put16(p + 4, (uint16_t)plen);
        assert_int_equal(vw_ipv6_parse(p, n, &h), VW_ETRUNC);
    }
    /* an extension header whose own length runs past the payload */
    n = ipv6_with_chain(p);
    p[40 + 8 + 1] = 200; /* routing header claims 1608 bytes */
    assert_int_equal(vw_ipv6_parse(p, n, &h), VW_ETRUNC);
    /* hop-by-hop with a zero payload length (a jumbogram) */
    vw_put16(p + 4, 0);
    assert_int_equal(vw_ipv6_parse(p, n, &h), VW_ETRUNC);
}

PIN(ipv6_truncated_at_every_offset_fails)
{
    uint8_t p[40 + 76];
    size_t n = ipv6_with_chain(p);
    struct vw_ipv6 h;
    assert_int_equal(ipv6_parse_n(p, n, &h), VW_OK);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(ipv6_parse_n(p, k, &h), VW_ETRUNC);
}

PIN_MAIN(cmocka_unit_test(ipv4_known_header_parses_fields),
         cmocka_unit_test(ipv4_build_then_parse_round_trips),
         cmocka_unit_test(ipv4_trailing_ethernet_padding_is_excluded),
         cmocka_unit_test(ipv4_truncated_at_every_offset_fails),
         cmocka_unit_test(ipv4_lying_lengths_are_rejected),
         cmocka_unit_test(ipv4_wrong_version_is_rejected),
         cmocka_unit_test(ipv4_bad_header_checksum_is_rejected),
         cmocka_unit_test(ipv4_options_well_formed_are_accepted),
         cmocka_unit_test(ipv4_options_malformed_are_rejected),
         cmocka_unit_test(ipv4_fragments_are_recognised),
         cmocka_unit_test(ipv6_build_then_parse_round_trips),
         cmocka_unit_test(ipv6_traffic_class_and_flow_label_parse),
         cmocka_unit_test(ipv6_extension_header_walk_finds_upper_layer),
         cmocka_unit_test(ipv6_real_fragment_is_recognised_and_walk_stops),
         cmocka_unit_test(ipv6_hop_by_hop_not_first_is_rejected),
         cmocka_unit_test(ipv6_extension_chain_is_bounded),
         cmocka_unit_test(ipv6_lying_lengths_are_rejected),
         cmocka_unit_test(ipv6_truncated_at_every_offset_fails))
