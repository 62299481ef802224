/* wire_dhcp_pins.c — DHCPv4 framing: the fixed part and magic cookie, the
 * option iterator (pads, END, options running past the end), find, and the
 * builders round-tripping through the parser. */
#include "pin.h"

#include <stdlib.h>
#include <string.h>

#include "wire.h"

static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0xAA, 0xBB, 0xCC};
static const uint8_t yi[4] = {10, 0, 2, 15};
static const uint8_t si[4] = {10, 0, 2, 2};

/* A DHCPOFFER with message type, server id, lease, router, DNS, END. */
static size_t build_offer(uint8_t *b, size_t cap)
{
    struct vw_dhcp_out d = {.op = VW_BOOTREPLY,
                            .xid = 0x3903F326,
                            .flags = 0x8000,
                            .yiaddr = yi,
                            .siaddr = si,
                            .chaddr = mac};
    size_t off = vw_dhcp_build(b, cap, &d);
    assert_int_equal(off, VW_DHCP_OPTS_OFF);
    off = vw_dhcp_opt_put8(b, cap, off, VW_DHCP_OPT_MSG_TYPE, VW_DHCP_OFFER);
    off = vw_dhcp_opt_put(b, cap, off, VW_DHCP_OPT_SERVER_ID, 4, si);
    off = vw_dhcp_opt_put32(b, cap, off, VW_DHCP_OPT_LEASE, 86400);
    off = vw_dhcp_opt_put(b, cap, off, VW_DHCP_OPT_ROUTER, 4, si);
    const uint8_t dns[8] = {10, 0, 2, 3, 1, 1, 1, 1};
    off = vw_dhcp_opt_put(b, cap, off, VW_DHCP_OPT_DNS, 8, dns);
    off = vw_dhcp_opt_end(b, cap, off);
    assert_int_equal(off, 240 + 3 + 6 + 6 + 6 + 10 + 1);
    return off;
}

PIN(dhcp_build_then_parse_round_trips)
{
    uint8_t b[400];
    size_t n = build_offer(b, sizeof b);
    struct vw_dhcp d;
    assert_int_equal(vw_dhcp_parse(b, n, &d), VW_OK);
    assert_int_equal(d.op, VW_BOOTREPLY);
    assert_int_equal(d.htype, 1);
    assert_int_equal(d.hlen, 6);
    assert_int_equal(d.hops, 0);
    assert_int_equal(d.xid, 0x3903F326);
    assert_int_equal(d.secs, 0);
    assert_int_equal(d.flags, 0x8000);
    const uint8_t zero[16] = {0};
    assert_memory_equal(d.ciaddr, zero, 4);
    assert_memory_equal(d.yiaddr, yi, 4);
    assert_memory_equal(d.siaddr, si, 4);
    assert_memory_equal(d.giaddr, zero, 4);
    assert_memory_equal(d.chaddr, mac, 6);
    assert_memory_equal(d.chaddr + 6, zero, 10);
    assert_memory_equal(b + 44, zero, 16); /* sname/file zeroed */
    assert_int_equal(d.options_len, n - 240);
    const uint8_t *v;
    assert_int_equal(vw_dhcp_find(&d, VW_DHCP_OPT_MSG_TYPE, &v), 1);
    assert_int_equal(v[0], VW_DHCP_OFFER);
    assert_int_equal(vw_dhcp_find(&d, VW_DHCP_OPT_LEASE, &v), 4);
    assert_int_equal(vw_get32(v), 86400);
    assert_int_equal(vw_dhcp_find(&d, VW_DHCP_OPT_DNS, &v), 8);
    assert_int_equal(v[4], 1);
    assert_int_equal(vw_dhcp_find(&d, VW_DHCP_OPT_HOSTNAME, &v), VW_DHCP_ABSENT);
}

PIN(dhcp_iterator_skips_pads_and_stops_at_end)
{
    uint8_t b[260];
    struct vw_dhcp_out o = {.op = VW_BOOTREQUEST, .xid = 1};
    vw_dhcp_build(b, sizeof b, &o);
    const uint8_t opts[] = {0, 0, 53, 1, 1, 0, 55, 2, 1, 3, 255, 53, 1, 5, 0xEE};
    memcpy(b + 240, opts, sizeof opts);
    struct vw_dhcp d;
    assert_int_equal(vw_dhcp_parse(b, 240 + sizeof opts, &d), VW_OK);
    struct vw_dhcp_iter it;
    uint8_t code, len;
    const uint8_t *data;
    vw_dhcp_iter_init(&it, &d);
    assert_int_equal(vw_dhcp_iter_next(&it, &code, &len, &data), 1);
    assert_int_equal(code, 53);
    assert_int_equal(len, 1);
    assert_int_equal(data[0], 1);
    assert_int_equal(vw_dhcp_iter_next(&it, &code, &len, &data), 1);
    assert_int_equal(code, 55);
    assert_int_equal(len, 2);
    assert_ptr_equal(data, b + 240 + 8);
    assert_int_equal(vw_dhcp_iter_next(&it, &code, &len, &data), 0);
    assert_int_equal(vw_dhcp_iter_next(&it, &code, &len, &data), 0);
    /* After END nothing counts: the second message type is not found. */
    const uint8_t *v;
    assert_int_equal(vw_dhcp_find(&d, 53, &v), 1);
    assert_int_equal(v[0], 1);
    /* No options at all, and options of only pads: both end cleanly. */
    assert_int_equal(vw_dhcp_parse(b, 240, &d), VW_OK);
    vw_dhcp_iter_init(&it, &d);
    assert_int_equal(vw_dhcp_iter_next(&it, &code, &len, &data), 0);
    assert_int_equal(vw_dhcp_parse(b, 242, &d), VW_OK);
    vw_dhcp_iter_init(&it, &d);
    assert_int_equal(vw_dhcp_iter_next(&it, &code, &len, &data), 0);
}

PIN(dhcp_option_running_past_the_end_is_rejected)
{
    uint8_t b[300];
    size_t n = build_offer(b, sizeof b);
    struct vw_dhcp d;
    const uint8_t *v;
    /* Cut the message inside every option but before END: the walk must
     * fail with VW_EOPT (or end cleanly exactly at an option boundary). */
    for (size_t cut = 240; cut < n; cut++) {
        uint8_t *c = malloc(cut);
        assert_non_null(c);
        memcpy(c, b, cut);
        assert_int_equal(vw_dhcp_parse(c, cut, &d), VW_OK);
        int rc = vw_dhcp_find(&d, VW_DHCP_OPT_HOSTNAME, &v);
        const size_t bounds[] = {240, 243, 249, 255, 261, 271};
        bool at_boundary = false;
        for (size_t i = 0; i < 6; i++)
            at_boundary |= cut == bounds[i];
        assert_int_equal(rc, at_boundary ? VW_DHCP_ABSENT : VW_EOPT);
        free(c);
    }
    /* A length byte of 255 in the last option */
    b[240 + 3 + 1] = 255;
    assert_int_equal(vw_dhcp_parse(b, n, &d), VW_OK);
    assert_int_equal(vw_dhcp_find(&d, VW_DHCP_OPT_DNS, &v), VW_EOPT);
    /* The option before the broken one is still found. */
    assert_int_equal(vw_dhcp_find(&d, VW_DHCP_OPT_MSG_TYPE, &v), 1);
}

PIN(dhcp_fixed_part_truncation_and_bad_magic_fail)
{
    uint8_t b[300];
    size_t n = build_offer(b, sizeof b);
    struct vw_dhcp d;
    for (size_t cut = 0; cut < 240; cut++) {
        uint8_t *c = malloc(cut ? cut : 1);
        assert_non_null(c);
        memcpy(c, b, cut);
        assert_int_equal(vw_dhcp_parse(c, cut, &d), VW_ETRUNC);
        free(c);
    }
    for (size_t i = 236; i < 240; i++) {
        b[i] ^= 0x01;
        assert_int_equal(vw_dhcp_parse(b, n, &d), VW_EBADVER);
        b[i] ^= 0x01;
    }
    assert_int_equal(vw_dhcp_parse(b, n, &d), VW_OK);
}

PIN(dhcp_builders_refuse_what_does_not_fit)
{
    uint8_t b[260];
    struct vw_dhcp_out o = {.op = VW_BOOTREPLY};
    assert_int_equal(vw_dhcp_build(b, 239, &o), 0);
    assert_int_equal(vw_dhcp_build(b, 240, &o), 240);
    const uint8_t four[4] = {1, 2, 3, 4};
    assert_int_equal(vw_dhcp_opt_put(b, 245, 240, 3, 4, four), 0);
    assert_int_equal(vw_dhcp_opt_put(b, 246, 240, 3, 4, four), 246);
    assert_int_equal(vw_dhcp_opt_put(b, 260, 261, 3, 0, NULL), 0); /* off past cap */
    assert_int_equal(vw_dhcp_opt_put(b, 260, 240, 3, 4, NULL), 0);
    assert_int_equal(vw_dhcp_opt_put(b, 260, 240, 80, 0, NULL), 242); /* rapid commit */
    assert_int_equal(vw_dhcp_opt_put(b, 260, 240, VW_DHCP_OPT_PAD, 0, NULL), 0);
    assert_int_equal(vw_dhcp_opt_put(b, 260, 240, VW_DHCP_OPT_END, 0, NULL), 0);
    assert_int_equal(vw_dhcp_opt_put8(b, 242, 240, 53, 1), 0);
    assert_int_equal(vw_dhcp_opt_put32(b, 245, 240, 51, 1), 0);
    assert_int_equal(vw_dhcp_opt_end(b, 260, 260), 0);
    assert_int_equal(vw_dhcp_opt_end(b, 260, 259), 260);
    assert_int_equal(b[259], 255);
}

PIN_MAIN(cmocka_unit_test(dhcp_build_then_parse_round_trips),
         cmocka_unit_test(dhcp_iterator_skips_pads_and_stops_at_end),
         cmocka_unit_test(dhcp_option_running_past_the_end_is_rejected),
         cmocka_unit_test(dhcp_fixed_part_truncation_and_bad_magic_fail),
         cmocka_unit_test(dhcp_builders_refuse_what_does_not_fit))
