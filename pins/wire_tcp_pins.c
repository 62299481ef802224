/* wire_tcp_pins.c — the TCP header view and every option: MSS, window
 * scale, SACK-permitted, SACK blocks, timestamps; unknown options skipped;
 * options of length 0 or 1 or running past the header rejected (VW_EOPT);
 * the builder's option layout and the build-then-parse round trip. */
#include "pin.h"

#include <stdlib.h>
#include <string.h>

#include "wire.h"

static int tcp_parse_n(const uint8_t *p, size_t n, struct vw_tcp *out)
{
    uint8_t *c = malloc(n ? n : 1);
    assert_non_null(c);
    if (n)
        memcpy(c, p, n);
    int rc = vw_tcp_parse(c, n, out);
    free(c);
    return rc;
}

/* A 20-byte header plus the given options (a multiple of 4) and payload. */
static size_t tcp_with_options(uint8_t *p, const uint8_t *opt, size_t optlen, size_t payload)
{
    memset(p, 0, 20 + optlen + payload);
    vw_put16(p, 40000);
    vw_put16(p + 2, 443);
    vw_put32(p + 4, 0x01020304);
    vw_put32(p + 8, 0xA0B0C0D0);
    p[12] = (uint8_t)(((20 + optlen) / 4) << 4);
    p[13] = VW_TCP_SYN | VW_TCP_ACK;
    vw_put16(p + 14, 64240);
    vw_put16(p + 16, 0xCAFE);
    vw_put16(p + 18, 7);
    if (optlen)
        memcpy(p + 20, opt, optlen);
    memset(p + 20 + optlen, 'x', payload);
    return 20 + optlen + payload;
}

PIN(tcp_plain_header_parses_fields)
{
    uint8_t p[20 + 5];
    size_t n = tcp_with_options(p, NULL, 0, 5);
    struct vw_tcp t;
    assert_int_equal(vw_tcp_parse(p, n, &t), VW_OK);
    assert_int_equal(t.sport, 40000);
    assert_int_equal(t.dport, 443);
    assert_int_equal(t.seq, 0x01020304);
    assert_int_equal(t.ack, 0xA0B0C0D0);
    assert_int_equal(t.hdr_len, 20);
    assert_int_equal(t.flags, VW_TCP_SYN | VW_TCP_ACK);
    assert_int_equal(t.window, 64240);
    assert_int_equal(t.csum, 0xCAFE);
    assert_int_equal(t.urg_ptr, 7);
    assert_false(t.has_mss || t.has_wscale || t.sack_permitted || t.has_ts);
    assert_int_equal(t.sack_count, 0);
    assert_ptr_equal(t.payload, p + 20);
    assert_int_equal(t.payload_len, 5);
}

PIN(tcp_linux_syn_options_parse)
{
    /* What Linux sends in a SYN: MSS 1460, SACK-perm, TS, NOP, WS 7. */
    const uint8_t opt[20] = {2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0, 100, 0, 0, 0, 0, 1, 3, 3, 7};
    uint8_t p[40];
    size_t n = tcp_with_options(p, opt, sizeof opt, 0);
    struct vw_tcp t;
    assert_int_equal(vw_tcp_parse(p, n, &t), VW_OK);
    assert_int_equal(t.hdr_len, 40);
    assert_true(t.has_mss);
    assert_int_equal(t.mss, 1460);
    assert_true(t.sack_permitted);
    assert_true(t.has_ts);
    assert_int_equal(t.ts_val, 100);
    assert_int_equal(t.ts_ecr, 0);
    assert_true(t.has_wscale);
    assert_int_equal(t.wscale, 7);
    assert_int_equal(t.payload_len, 0);
}

PIN(tcp_sack_blocks_parse_up_to_four)
{
    for (unsigned k = 1; k <= 4; k++) {
        uint8_t opt[40] = {0};
        size_t i = 0;
        opt[i++] = 1;
        opt[i++] = 1;
        opt[i++] = VW_TCPOPT_SACK;
        opt[i++] = (uint8_t)(2 + 8 * k);
        for (unsigned b = 0; b < k; b++) {
            vw_put32(opt + i, 1000 * (b + 1));
            vw_put32(opt + i + 4, 1000 * (b + 1) + 500);
            i += 8;
        }
        size_t optlen = (i + 3) & ~(size_t)3; /* zero pad = EOL; 4 blocks: 36 */
        assert_true(optlen <= 40);
        uint8_t p[60];
        size_t n = tcp_with_options(p, opt, optlen, 0);
        struct vw_tcp t;
        assert_int_equal(vw_tcp_parse(p, n, &t), VW_OK);
        assert_int_equal(t.sack_count, k);
        for (unsigned b = 0; b < k; b++) {
            assert_int_equal(t.sack[b].left, 1000 * (b + 1));
            assert_int_equal(t.sack[b].right, 1000 * (b + 1) + 500);
        }
    }
}

PIN(tcp_timestamps_and_sack_together)
{
    /* NOP NOP TS(10) NOP NOP SACK(18: two blocks) = 32 bytes */
    uint8_t opt[32] = {1, 1, 8, 10, 0xDE, 0xAD, 0xBE, 0xEF, 0, 0, 0, 9, 1, 1, 5, 18};
    vw_put32(opt + 16, 0xFFFFFF00);
    vw_put32(opt + 20, 0x00000100); /* wraps: sequence space is modulo 2^32 */
    vw_put32(opt + 24, 7);
    vw_put32(opt + 28, 8);
    uint8_t p[52 + 3];
    size_t n = tcp_with_options(p, opt, sizeof opt, 3);
    struct vw_tcp t;
    assert_int_equal(vw_tcp_parse(p, n, &t), VW_OK);
    assert_true(t.has_ts);
    assert_int_equal(t.ts_val, 0xDEADBEEF);
    assert_int_equal(t.ts_ecr, 9);
    assert_int_equal(t.sack_count, 2);
    assert_int_equal(t.sack[0].left, 0xFFFFFF00);
    assert_int_equal(t.sack[0].right, 0x100);
    assert_int_equal(t.sack[1].left, 7);
    assert_int_equal(t.payload_len, 3);
}

PIN(tcp_unknown_options_are_skipped)
{
    /* Unknown kind 254 (experimental, len 6), kind 30 (MPTCP, len 4), then
     * MSS: the MSS after them must still be found. */
    const uint8_t opt[16] = {254, 6, 0xF9, 0x89, 0, 0, 30, 4, 0, 0, 2, 4, 0x02, 0x18, 0, 0};
    uint8_t p[36];
    size_t n = tcp_with_options(p, opt, sizeof opt, 0);
    struct vw_tcp t;
    assert_int_equal(vw_tcp_parse(p, n, &t), VW_OK);
    assert_true(t.has_mss);
    assert_int_equal(t.mss, 536);
    /* An unknown option of length 2 (no data) is fine too. */
    const uint8_t opt2[4] = {99, 2, 1, 0};
    n = tcp_with_options(p, opt2, 4, 0);
    assert_int_equal(vw_tcp_parse(p, n, &t), VW_OK);
}

PIN(tcp_known_options_with_wrong_length_are_ignored)
{
    /* MSS len 3, WS len 4, SACK-perm len 3, TS len 8, SACK len 9: all ignored,
     * none an error. 3+4+3+8+9 = 27, pad to 28. */
    const uint8_t opt[28] = {2, 3, 0, 3, 4, 0, 0, 4, 3, 0, 8, 8, 0, 0,
                             0, 0, 0, 0, 5, 9, 0, 0, 0, 0, 0, 0, 0, 0};
    uint8_t p[60];
    size_t n = tcp_with_options(p, opt, sizeof opt, 0);
    struct vw_tcp t;
    assert_int_equal(vw_tcp_parse(p, n, &t), VW_OK);
    assert_false(t.has_mss);
    assert_false(t.has_wscale);
    assert_false(t.sack_permitted);
    assert_false(t.has_ts);
    assert_int_equal(t.sack_count, 0);
    /* Too long this time: MSS 6, WS 4, SACK-perm 4, TS 12, SACK 11. */
    const uint8_t longer[40] = {2, 6, 5, 0xB4, 0, 0, 3, 4,  7, 0, 4, 4, 0, 0, 8, 12, 0, 0, 0, 1,
                                0, 0, 0, 2,    0, 0, 5, 11, 0, 0, 0, 1, 0, 0, 0, 2,  0, 0, 0, 0};
    n = tcp_with_options(p, longer, sizeof longer, 0);
    assert_int_equal(vw_tcp_parse(p, n, &t), VW_OK);
    assert_false(t.has_mss);
    assert_false(t.has_wscale);
    assert_false(t.sack_permitted);
    assert_false(t.has_ts);
    assert_int_equal(t.sack_count, 0);
}

PIN(tcp_option_length_zero_or_one_is_rejected)
{
    uint8_t p[24];
    struct vw_tcp t;
    for (uint8_t olen = 0; olen < 2; olen++) {
        /* for a known kind, for an unknown kind, and after a NOP */
        const uint8_t kinds[] = {VW_TCPOPT_MSS, VW_TCPOPT_SACK, VW_TCPOPT_TS, 77};
        for (size_t k = 0; k < sizeof kinds; k++) {
            uint8_t opt[4] = {kinds[k], olen, 0, 0};
            size_t n = tcp_with_options(p, opt, 4, 0);
            assert_int_equal(vw_tcp_parse(p, n, &t), VW_EOPT);
            uint8_t opt2[4] = {1, kinds[k], olen, 0};
            n = tcp_with_options(p, opt2, 4, 0);
            assert_int_equal(vw_tcp_parse(p, n, &t), VW_EOPT);
        }
    }
}

PIN(tcp_option_running_past_the_header_is_rejected)
{
    uint8_t p[64];
    struct vw_tcp t;
    /* MSS claiming 4 bytes with only 2 left in the header (payload after it
     * must not be read as option bytes). */
    const uint8_t a[4] = {1, 1, 2, 4};
    size_t n = tcp_with_options(p, a, 4, 8);
    assert_int_equal(vw_tcp_parse(p, n, &t), VW_EOPT);
    /* A kind byte in the very last header byte, no room for its length:
     * with payload after it, and with nothing after it (an exact-size copy,
     * so reading the missing length byte would be an ASan report). */
    const uint8_t b[4] = {1, 1, 1, 3};
    n = tcp_with_options(p, b, 4, 8);
    assert_int_equal(vw_tcp_parse(p, n, &t), VW_EOPT);
    n = tcp_with_options(p, b, 4, 0);
    assert_int_equal(tcp_parse_n(p, n, &t), VW_EOPT);
    /* An unknown option with length 255. */
    const uint8_t c[8] = {200, 255, 0, 0, 0, 0, 0, 0};
    n = tcp_with_options(p, c, 8, 8);
    assert_int_equal(vw_tcp_parse(p, n, &t), VW_EOPT);
    /* SACK claiming 4 blocks in a 40-byte option area that starts late. */
    uint8_t d[40] = {1, 1, 1, 1, 1, 1, 1, 1, 5, 34};
    n = tcp_with_options(p, d, 40, 0);
    assert_int_equal(vw_tcp_parse(p, n, &t), VW_EOPT);
    /* Exactly reaching the end is fine. */
    uint8_t e[40] = {1, 1, 1, 1, 1, 1, 5, 34};
    n = tcp_with_options(p, e, 40, 0);
    assert_int_equal(vw_tcp_parse(p, n, &t), VW_OK);
    assert_int_equal(t.sack_count, 4);
}

PIN(tcp_eol_ends_the_option_list)
{
    /* After EOL the rest is padding: a bogus length-0 "option" is ignored. */
    const uint8_t opt[8] = {2, 4, 0x05, 0xB4, 0, 7, 0, 0};
    uint8_t p[28];
    size_t n = tcp_with_options(p, opt, 8, 0);
    struct vw_tcp t;
    assert_int_equal(vw_tcp_parse(p, n, &t), VW_OK);
    assert_true(t.has_mss);
}

PIN(tcp_lying_data_offset_is_rejected)
{
    uint8_t p[60];
    size_t n = tcp_with_options(p, NULL, 0, 40);
    struct vw_tcp t;
    for (uint8_t doff = 0; doff < 5; doff++) {
        p[12] = (uint8_t)(doff << 4);
        assert_int_equal(vw_tcp_parse(p, n, &t), VW_EBADLEN);
    }
    /* data offset past the segment */
    p[12] = 0xF0;
    assert_int_equal(tcp_parse_n(p, 59, &t), VW_ETRUNC);
    p[12] = 0x60;
    assert_int_equal(tcp_parse_n(p, 23, &t), VW_ETRUNC);
    /* the low nibble (reserved bits, AccECN) does not change the length */
    p[12] = 0x5F;
    assert_int_equal(vw_tcp_parse(p, n, &t), VW_OK);
    assert_int_equal(t.hdr_len, 20);
}

PIN(tcp_truncated_at_every_offset_fails)
{
    const uint8_t opt[20] = {2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0, 100, 0, 0, 0, 0, 1, 3, 3, 7};
    uint8_t p[40];
    size_t n = tcp_with_options(p, opt, sizeof opt, 0);
    struct vw_tcp t;
    assert_int_equal(tcp_parse_n(p, n, &t), VW_OK);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(tcp_parse_n(p, k, &t), VW_ETRUNC);
}

PIN(tcp_hdr_len_counts_every_option_combination)
{
    for (unsigned m = 0; m < 16; m++) {
        struct vw_tcp_out o = {0};
        o.opt_mss = m & 1;
        o.opt_wscale = (m >> 1) & 1;
        o.opt_sack_perm = (m >> 2) & 1;
        o.opt_ts = (m >> 3) & 1;
        size_t want = 20 + (o.opt_mss ? 4 : 0) + (o.opt_wscale ? 4 : 0) +
                      (o.opt_ts ? 12 : (o.opt_sack_perm ? 4 : 0));
        assert_int_equal(vw_tcp_hdr_len(&o), want);
        assert_int_equal(vw_tcp_hdr_len(&o) % 4, 0);
        assert_true(vw_tcp_hdr_len(&o) <= 40);
    }
}

PIN(tcp_build_then_parse_round_trips_every_option_combination)
{
    for (unsigned m = 0; m < 16; m++) {
        struct vw_tcp_out o = {.sport = 53,
                               .dport = 61000,
                               .seq = 0xFFFFFFFF,
                               .ack = 1,
                               .flags = VW_TCP_SYN | VW_TCP_ACK | VW_TCP_ECE,
                               .window = 29200,
                               .mss = 1400,
                               .wscale = 14,
                               .ts_val = 0x11223344,
                               .ts_ecr = 0x55667788};
        o.opt_mss = m & 1;
        o.opt_wscale = (m >> 1) & 1;
        o.opt_sack_perm = (m >> 2) & 1;
        o.opt_ts = (m >> 3) & 1;
        uint8_t b[64];
        memset(b, 0xEE, sizeof b);
        size_t h = vw_tcp_build(b, sizeof b, &o);
        assert_int_equal(h, vw_tcp_hdr_len(&o));
        assert_int_equal(b[h], 0xEE); /* nothing past the header */
        assert_int_equal(vw_tcp_build(b, h - 1, &o), 0);
        struct vw_tcp t;
        assert_int_equal(vw_tcp_parse(b, h, &t), VW_OK);
        assert_int_equal(t.sport, 53);
        assert_int_equal(t.dport, 61000);
        assert_int_equal(t.seq, 0xFFFFFFFF);
        assert_int_equal(t.ack, 1);
        assert_int_equal(t.flags, VW_TCP_SYN | VW_TCP_ACK | VW_TCP_ECE);
        assert_int_equal(t.window, 29200);
        assert_int_equal(t.csum, 0);
        assert_int_equal(t.hdr_len, h);
        assert_int_equal(t.has_mss, o.opt_mss);
        assert_int_equal(t.has_wscale, o.opt_wscale);
        assert_int_equal(t.sack_permitted, o.opt_sack_perm);
        assert_int_equal(t.has_ts, o.opt_ts);
        if (o.opt_mss)
            assert_int_equal(t.mss, 1400);
        if (o.opt_wscale)
            assert_int_equal(t.wscale, 14);
        if (o.opt_ts) {
            assert_int_equal(t.ts_val, 0x11223344);
            assert_int_equal(t.ts_ecr, 0x55667788);
        }
        assert_int_equal(t.payload_len, 0);
    }
}

PIN(tcp_build_writes_linux_compatible_syn_ack_bytes)
{
    struct vw_tcp_out o = {.sport = 80,
                           .dport = 40000,
                           .seq = 1,
                           .ack = 2,
                           .flags = VW_TCP_SYN | VW_TCP_ACK,
                           .window = 65535,
                           .opt_mss = true,
                           .mss = 1460,
                           .opt_sack_perm = true,
                           .opt_ts = true,
                           .ts_val = 5,
                           .ts_ecr = 6,
                           .opt_wscale = true,
                           .wscale = 7};
    uint8_t b[40];
    assert_int_equal(vw_tcp_build(b, sizeof b, &o), 40);
    const uint8_t want_opt[20] = {2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0,
                                  0, 5, 0,    0,    0, 6, 1, 3,  3, 7};
    assert_memory_equal(b + 20, want_opt, 20);
    assert_int_equal(b[12], 0xA0);
}

PIN_MAIN(cmocka_unit_test(tcp_plain_header_parses_fields),
         cmocka_unit_test(tcp_linux_syn_options_parse),
         cmocka_unit_test(tcp_sack_blocks_parse_up_to_four),
         cmocka_unit_test(tcp_timestamps_and_sack_together),
         cmocka_unit_test(tcp_unknown_options_are_skipped),
         cmocka_unit_test(tcp_known_options_with_wrong_length_are_ignored),
         cmocka_unit_test(tcp_option_length_zero_or_one_is_rejected),
         cmocka_unit_test(tcp_option_running_past_the_header_is_rejected),
         cmocka_unit_test(tcp_eol_ends_the_option_list),
         cmocka_unit_test(tcp_lying_data_offset_is_rejected),
         cmocka_unit_test(tcp_truncated_at_every_offset_fails),
         cmocka_unit_test(tcp_hdr_len_counts_every_option_combination),
         cmocka_unit_test(tcp_build_then_parse_round_trips_every_option_combination),
         cmocka_unit_test(tcp_build_writes_linux_compatible_syn_ack_bytes))
