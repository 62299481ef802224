/*
 * host_api_pins.c — pins for the protocol of `vnat run/serve --api-socket`
 * (host/api_proto.c), which is free of system calls so every case runs
 * here without a socket: the requests the protocol accepts and exactly what
 * they ask for; each class of malformed request refused with its error
 * name (syntax, command, field, too_long) and never read past its end;
 * every truncation of a good request refused; the line framer's splits and
 * its handling of an oversize line; and replies that escape what they quote
 * and never outgrow their buffer. The socket side is exercised end to end
 * by host/tests/it_api_socket.sh.
 */
#include "pin.h"

#include <stdlib.h>
#include <string.h>

#include "adapter.h"

/* Parse s from an exact-size heap copy (no NUL after it), so ASan catches
 * any read past the request's end. */
static enum host_api_status parse_n(const char *s, size_t n, struct host_api_req *r, char *why)
{
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, s, n);
    enum host_api_status st = host_api_parse(copy, n, r, why, HOST_API_MAX_WHY);
    free(copy);
    assert_true(strlen(why) < HOST_API_MAX_WHY);
    return st;
}

static enum host_api_status parse(const char *s, struct host_api_req *r)
{
    char why[HOST_API_MAX_WHY];
    enum host_api_status st = parse_n(s, strlen(s), r, why);
    if (st == HOST_API_OK)
        assert_string_equal(why, "");
    else
        assert_true(why[0] != 0); /* every refusal says why */
    return st;
}

static void assert_v4(const struct vnat_forward *f, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    assert_int_equal(f->host.ip.family, VNAT_AF_INET);
    assert_int_equal(f->host.ip.addr[0], a);
    assert_int_equal(f->host.ip.addr[1], b);
    assert_int_equal(f->host.ip.addr[2], c);
    assert_int_equal(f->host.ip.addr[3], d);
    for (int i = 4; i < 16; i++)
        assert_int_equal(f->host.ip.addr[i], 0);
}

PIN(api_add_with_every_field_is_parsed)
{
    struct host_api_req r;
    assert_int_equal(parse("{\"cmd\":\"add\",\"proto\":\"udp\",\"host_addr\":\"10.1.2.3\","
                           "\"host_port\":5353,\"guest_port\":53}",
                           &r),
                     HOST_API_OK);
    assert_int_equal(r.cmd, HOST_API_ADD);
    assert_int_equal(r.fwd.proto, VNAT_PROTO_UDP);
    assert_v4(&r.fwd, 10, 1, 2, 3);
    assert_int_equal(r.fwd.host.port, 5353);
    assert_int_equal(r.fwd.guest_port, 53);
    assert_true(r.guest_port_given);
}

PIN(api_add_defaults_to_host_loopback_in_any_key_order)
{
    struct host_api_req r;
    assert_int_equal(parse(" { \"guest_port\" : 80 ,\t\"host_port\":65535, \"proto\":\"tcp\", "
                           "\"cmd\":\"add\" } \r",
                           &r),
                     HOST_API_OK);
    assert_int_equal(r.cmd, HOST_API_ADD);
    assert_int_equal(r.fwd.proto, VNAT_PROTO_TCP);
    assert_v4(&r.fwd, 127, 0, 0, 1);
    assert_int_equal(r.fwd.host.port, 65535);
    assert_int_equal(r.fwd.guest_port, 80);
}

PIN(api_ipv6_host_address_and_string_escapes_are_understood)
{
    struct host_api_req r;
    /* "t\u0063p" is "tcp"; "\/" is "/" in JSON (not valid in an address,
     * so only the escapes that leave a valid value are used here). */
    assert_int_equal(parse("{\"cmd\":\"a\\u0064d\",\"proto\":\"t\\u0063p\",\"host_addr\":\"::1\","
                           "\"host_port\":1,\"guest_port\":1}",
                           &r),
                     HOST_API_OK);
    assert_int_equal(r.cmd, HOST_API_ADD);
    assert_int_equal(r.fwd.proto, VNAT_PROTO_TCP);
    assert_int_equal(r.fwd.host.ip.family, VNAT_AF_INET6);
    assert_int_equal(r.fwd.host.ip.addr[15], 1);
    assert_int_equal(r.fwd.host.ip.addr[0], 0);
}

PIN(api_remove_list_and_stats_are_parsed)
{
    struct host_api_req r;
    assert_int_equal(parse("{\"cmd\":\"remove\",\"proto\":\"tcp\",\"host_port\":8080}", &r),
                     HOST_API_OK);
    assert_int_equal(r.cmd, HOST_API_REMOVE);
    assert_false(r.guest_port_given);
    assert_int_equal(r.fwd.host.port, 8080);
    assert_v4(&r.fwd, 127, 0, 0, 1);
    assert_int_equal(
        parse("{\"cmd\":\"remove\",\"proto\":\"udp\",\"host_port\":9,\"guest_port\":7}", &r),
        HOST_API_OK);
    assert_true(r.guest_port_given);
    assert_int_equal(r.fwd.guest_port, 7);
    assert_int_equal(r.fwd.proto, VNAT_PROTO_UDP);
    assert_int_equal(parse("{\"cmd\":\"list\"}", &r), HOST_API_OK);
    assert_int_equal(r.cmd, HOST_API_LIST);
    assert_int_equal(parse("{\"cmd\":\"stats\"}", &r), HOST_API_OK);
    assert_int_equal(r.cmd, HOST_API_STATS);
}

struct bad {
    const char *req;
    enum host_api_status want;
};

static void check_bad(const struct bad *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct host_api_req r;
        enum host_api_status st = parse(b[i].req, &r);
        if (st != b[i].want)
            fail_msg("request %s: got %s, want %s", b[i].req, host_api_status_name(st),
                     host_api_status_name(b[i].want));
    }
}

PIN(api_syntax_errors_are_refused_as_syntax)
{
    static const struct bad b[] = {
        {"", HOST_API_E_SYNTAX},
        {"   ", HOST_API_E_SYNTAX},
        {"garbage", HOST_API_E_SYNTAX},
        {"[\"cmd\",\"list\"]", HOST_API_E_SYNTAX},
        {"\"list\"", HOST_API_E_SYNTAX},
        {"{'cmd':'list'}", HOST_API_E_SYNTAX},
        {"{cmd:\"list\"}", HOST_API_E_SYNTAX},
        {"{\"cmd\" \"list\"}", HOST_API_E_SYNTAX},
        {"{\"cmd\":\"list\",}", HOST_API_E_SYNTAX},
        {"{\"cmd\":\"list\" \"proto\":\"tcp\"}", HOST_API_E_SYNTAX},
        {"{\"cmd\":\"list\"}}", HOST_API_E_SYNTAX},
        {"{\"cmd\":\"list\"} {\"cmd\":\"list\"}", HOST_API_E_SYNTAX},
        {"{\"cmd\":\"list\"}x", HOST_API_E_SYNTAX},
        {"{\"cmd\":\"li\\xst\"}", HOST_API_E_SYNTAX},
        {"{\"cmd\":\"li\\u00\"}", HOST_API_E_SYNTAX},
        {"{\"cmd\":\"li\\u00zz\"}", HOST_API_E_SYNTAX},
        {"{\"cmd\":\"li\tst\"}", HOST_API_E_SYNTAX},
        {"{\"cmd\":\"l\xc3\xa9st\"}", HOST_API_E_SYNTAX},
        {"{\"cmd\":\"add\",\"proto\":\"tcp\",\"host_port\":080,\"guest_port\":1}",
         HOST_API_E_SYNTAX},
        {"{\"cmd\":\"add\",\"proto\":\"tcp\",\"host_port\":-,\"guest_port\":1}", HOST_API_E_SYNTAX},
        {"{\"cmd\":\"add\",\"proto\":\"tcp\",\"host_port\":1.,\"guest_port\":1}",
         HOST_API_E_SYNTAX},
        {"{\"cmd\":\"add\",\"proto\":\"tcp\",\"host_port\":1e,\"guest_port\":1}",
         HOST_API_E_SYNTAX},
        {"{\"cmd\":\"add\",\"proto\":\"tcp\",\"host_port\":+1,\"guest_port\":1}",
         HOST_API_E_SYNTAX},
        {"{\"cmd\":}", HOST_API_E_SYNTAX},
    };
    check_bad(b, sizeof(b) / sizeof(b[0]));
    /* A NUL inside the line is refused, not taken as its end. */
    struct host_api_req r;
    char why[HOST_API_MAX_WHY];
    static const char nul[] = "{\"cmd\":\"list\"}\0junk";
    assert_int_equal(parse_n(nul, sizeof(nul) - 1, &r, why), HOST_API_E_SYNTAX);
}

PIN(api_command_errors_are_refused_as_command)
{
    static const struct bad b[] = {
        {"{}", HOST_API_E_COMMAND},
        {"{\"proto\":\"tcp\",\"host_port\":1,\"guest_port\":1}", HOST_API_E_COMMAND},
        {"{\"cmd\":\"delete\"}", HOST_API_E_COMMAND},
        {"{\"cmd\":\"LIST\"}", HOST_API_E_COMMAND},
        {"{\"cmd\":\"\"}", HOST_API_E_COMMAND},
        {"{\"cmd\":\"list \"}", HOST_API_E_COMMAND},
        {"{\"cmd\":\"add\\u00e9\"}", HOST_API_E_COMMAND},
    };
    check_bad(b, sizeof(b) / sizeof(b[0]));
}

PIN(api_field_errors_are_refused_as_field)
{
    static const struct bad b[] = {
        /* unknown, repeated */
        {"{\"cmd\":\"list\",\"verbose\":1}", HOST_API_E_FIELD},
        {"{\"Cmd\":\"list\"}", HOST_API_E_FIELD},
        {"{\"cmd\":\"list\",\"cmd\":\"list\"}", HOST_API_E_FIELD},
        {"{\"cmd\":\"add\",\"proto\":\"tcp\",\"proto\":\"udp\",\"host_port\":1,\"guest_port\":1}",
         HOST_API_E_FIELD},
        /* wrong type */
        {"{\"cmd\":1}", HOST_API_E_FIELD},
        {"{\"cmd\":null}", HOST_API_E_FIELD},
        {"{\"cmd\":[\"list\"]}", HOST_API_E_FIELD},
        {"{\"cmd\":\"add\",\"proto\":6,\"host_port\":1,\"guest_port\":1}", HOST_API_E_FIELD},
        {"{\"cmd\":\"add\",\"proto\":\"tcp\",\"host_port\":\"80\",\"guest_port\":1}",
         HOST_API_E_FIELD},
        {"{\"cmd\":\"add\",\"proto\":\"tcp\",\"host_port\":true,\"guest_port\":1}",
         HOST_API_E_FIELD},
        {"{\"cmd\":\"add\",\"proto\":\"tcp\",\"host_port\":{},\"guest_port\":1}", HOST_API_E_FIELD},
        {"{\"cmd\":\"add\",\"proto\":\"tcp\",\"host_port\":1.5,\"guest_port\":1}",
         HOST_API_E_FIELD},
        {"{\"cmd\":\"add\",\"proto\":\"tcp\",\"host_port\":1e2,\"guest_port\":1}",
         HOST_API_E_FIELD},
        /* out of range */
        {"{\"cmd\":\"add\",\"proto\":\"tcp\",\"host_port\":0,\"guest_port\":1}", HOST_API_E_FIELD},
        {"{\"cmd\":\"add\",\"proto\":\"tcp\",\"host_port\":65536,\"guest_port\":1}",
         HOST_API_E_FIELD},
        {"{\"cmd\":\"add\",\"proto\":\"tcp\",\"host_port\":-1,\"guest_port\":1}", HOST_API_E_FIELD},
        {"{\"cmd\":\"add\",\"proto\":\"tcp\",\"host_port\":1,\"guest_port\":"
         "18446744073709551617}",
         HOST_API_E_FIELD},
        {"{\"cmd\":\"add\",\"proto\":\"icmp\",\"host_port\":1,\"guest_port\":1}", HOST_API_E_FIELD},
        {"{\"cmd\":\"add\",\"proto\":\"tcp\",\"host_addr\":\"localhost\",\"host_port\":1,"
         "\"guest_port\":1}",
         HOST_API_E_FIELD},
        {"{\"cmd\":\"add\",\"proto\":\"tcp\",\"host_addr\":\"1.2.3.4/8\",\"host_port\":1,"
         "\"guest_port\":1}",
         HOST_API_E_FIELD},
        {"{\"cmd\":\"add\",\"proto\":\"tcp\",\"host_addr\":\"1.2.3.4\\u0000\",\"host_port\":1,"
         "\"guest_port\":1}",
         HOST_API_E_FIELD},
        {"{\"cmd\":\"add\",\"proto\":\"tcp\",\"host_addr\":"
         "\"0000000000000000000000000000000000000000000000000000000000000000\",\"host_port\":1,"
         "\"guest_port\":1}",
         HOST_API_E_FIELD},
        /* missing, or not allowed with the command */
        {"{\"cmd\":\"add\",\"proto\":\"tcp\",\"host_port\":1}", HOST_API_E_FIELD},
        {"{\"cmd\":\"add\",\"host_port\":1,\"guest_port\":1}", HOST_API_E_FIELD},
        {"{\"cmd\":\"add\",\"proto\":\"tcp\",\"guest_port\":1}", HOST_API_E_FIELD},
        {"{\"cmd\":\"remove\",\"proto\":\"tcp\"}", HOST_API_E_FIELD},
        {"{\"cmd\":\"remove\",\"host_port\":1}", HOST_API_E_FIELD},
        {"{\"cmd\":\"list\",\"proto\":\"tcp\"}", HOST_API_E_FIELD},
        {"{\"cmd\":\"stats\",\"host_port\":1}", HOST_API_E_FIELD},
    };
    check_bad(b, sizeof(b) / sizeof(b[0]));
}

PIN(api_oversize_request_is_refused_as_too_long)
{
    struct host_api_req r;
    char why[HOST_API_MAX_WHY];
    size_t n = HOST_API_MAX_LINE + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    memcpy(big, "{\"cmd\":\"list\"}", 14);
    assert_int_equal(parse_n(big, n, &r, why), HOST_API_E_TOO_LONG);
    /* One byte less is a good request padded with spaces. */
    assert_int_equal(parse_n(big, n - 1, &r, why), HOST_API_OK);
    assert_int_equal(r.cmd, HOST_API_LIST);
    free(big);
}

PIN(api_every_truncation_of_a_good_request_is_refused)
{
    static const char good[] = "{\"cmd\":\"add\",\"proto\":\"t\\u0063p\",\"host_addr\":\"::1\","
                               "\"host_port\":1000,\"guest_port\":22}";
    struct host_api_req r;
    char why[HOST_API_MAX_WHY];
    size_t n = sizeof(good) - 1;
    assert_int_equal(parse_n(good, n, &r, why), HOST_API_OK);
    for (size_t k = 0; k < n; k++) {
        enum host_api_status st = parse_n(good, k, &r, why);
        if (st == HOST_API_OK)
            fail_msg("the first %zu bytes were accepted", k);
        assert_true(why[0] != 0);
    }
}

PIN(api_random_bytes_never_crash_or_overrun)
{
    /* Deterministic: the same bytes every run. Good-looking fragments are
     * mixed in so that deep paths of the parser are reached too. */
    static const char *const frags[] = {"{",
                                        "}",
                                        "\"",
                                        ":",
                                        ",",
                                        "\"cmd\"",
                                        "\"add\"",
                                        "\\u",
                                        "\\",
                                        "1",
                                        "-",
                                        ".",
                                        "e",
                                        "\"proto\"",
                                        "\"tcp\"",
                                        " ",
                                        "[",
                                        "null",
                                        "\"host_port\"",
                                        "0"};
    uint64_t x = 0x9e3779b97f4a7c15u;
    char buf[256];
    int ok = 0;
    for (int round = 0; round < 20000; round++) {
        size_t n = 0;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t parts = x % 24;
        for (size_t p = 0; p < parts; p++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            if (x & 1) {
                const char *f = frags[(x >> 8) % (sizeof(frags) / sizeof(frags[0]))];
                size_t fl = strlen(f);
                if (n + fl > sizeof(buf))
                    break;
                memcpy(buf + n, f, fl);
                n += fl;
            } else if (n < sizeof(buf)) {
                buf[n++] = (char)(x >> 16);
            }
        }
        struct host_api_req r;
        char why[HOST_API_MAX_WHY];
        enum host_api_status st = parse_n(buf, n, &r, why);
        assert_true(st >= HOST_API_OK && st <= HOST_API_E_FIELD);
        ok += st == HOST_API_OK;
    }
    assert_true(ok < 20000);
}

/* ------------------------------------------------------------------------ */
/* Line framing                                                              */
/* ------------------------------------------------------------------------ */

/* Feed `in` in pieces of `step` bytes; collect the lines (joined by '|')
 * and a 'T' for each too-long report. */
static void frame(const char *in, size_t n, size_t step, char *out, size_t cap)
{
    struct host_api_rx rx;
    memset(&rx, 0, sizeof(rx));
    size_t o = 0;
    out[0] = 0;
    for (size_t off = 0; off < n;) {
        size_t k = n - off < step ? n - off : step;
        size_t used = 0;
        while (used < k) {
            enum host_api_rx_event ev;
            size_t u = host_api_rx_take(&rx, in + off + used, k - used, &ev);
            assert_true(u > 0 && u <= k - used);
            used += u;
            if (ev == HOST_API_RX_LINE) {
                assert_true(rx.len <= HOST_API_MAX_LINE);
                assert_true(o + rx.len + 2 < cap);
                memcpy(out + o, rx.line, rx.len);
                o += rx.len;
                out[o++] = '|';
            } else if (ev == HOST_API_RX_TOO_LONG) {
                assert_true(o + 2 < cap);
                out[o++] = 'T';
            }
            out[o] = 0;
        }
        off += k;
    }
}

PIN(api_lines_are_framed_the_same_at_every_split)
{
    static const char in[] = "{\"cmd\":\"list\"}\n\n{\"cmd\":\"stats\"}\r\nhalf";
    char out[256];
    for (size_t step = 1; step <= sizeof(in); step++) {
        frame(in, sizeof(in) - 1, step, out, sizeof(out));
        /* "half" has no newline yet: not a line. */
        assert_string_equal(out, "{\"cmd\":\"list\"}||{\"cmd\":\"stats\"}\r|");
    }
}

PIN(api_oversize_line_is_reported_once_and_the_next_line_survives)
{
    size_t n = 3 * HOST_API_MAX_LINE + 64;
    char *in = malloc(n);
    assert_non_null(in);
    size_t k = 0;
    memset(in, 'x', HOST_API_MAX_LINE); /* exactly the limit: a line */
    k += HOST_API_MAX_LINE;
    in[k++] = '\n';
    memset(in + k, 'y', HOST_API_MAX_LINE + 1); /* one over: too long */
    k += HOST_API_MAX_LINE + 1;
    memset(in + k, 'z', 500); /* the rest of it is dropped, not a second report */
    k += 500;
    in[k++] = '\n';
    memcpy(in + k, "ok\n", 3);
    k += 3;
    char *out = malloc(2 * HOST_API_MAX_LINE);
    assert_non_null(out);
    size_t steps[] = {1, 7, 1000, n};
    for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
        frame(in, k, steps[s], out, 2 * HOST_API_MAX_LINE);
        assert_int_equal(strlen(out), HOST_API_MAX_LINE + 1 + 1 + 3);
        for (size_t i = 0; i < HOST_API_MAX_LINE; i++)
            assert_int_equal(out[i], 'x');
        assert_string_equal(out + HOST_API_MAX_LINE, "|Tok|");
    }
    /* A line one byte over the limit, newline right after it: only the
     * report, no line. */
    memset(in, 'y', HOST_API_MAX_LINE + 1);
    in[HOST_API_MAX_LINE + 1] = '\n';
    frame(in, HOST_API_MAX_LINE + 2, 1, out, 2 * HOST_API_MAX_LINE);
    assert_string_equal(out, "T");
    free(in);
    free(out);
}

/* ------------------------------------------------------------------------ */
/* Replies                                                                   */
/* ------------------------------------------------------------------------ */

PIN(api_error_reply_escapes_what_it_quotes)
{
    char buf[256];
    struct host_api_out o = {.buf = buf, .cap = sizeof(buf)};
    host_api_reply_error(&o, "field", "unknown field \"a\\b\"\n\x01\x7f");
    assert_false(o.overflow);
    buf[o.len] = 0;
    assert_string_equal(buf, "{\"ok\":false,\"error\":\"field\",\"message\":"
                             "\"unknown field \\\"a\\\\b\\\"\\u000a\\u0001\\u007f\"}\n");
}

PIN(api_forward_reply_and_error_names)
{
    char buf[512];
    struct host_api_out o = {.buf = buf, .cap = sizeof(buf)};
    struct vnat_forward f;
    memset(&f, 0, sizeof(f));
    f.proto = VNAT_PROTO_UDP;
    f.host.ip.family = VNAT_AF_INET;
    f.host.ip.addr[0] = 127;
    f.host.ip.addr[3] = 1;
    f.host.port = 5353;
    f.guest_port = 53;
    host_api_put_forward(&o, &f);
    buf[o.len] = 0;
    assert_string_equal(
        buf,
        "{\"proto\":\"udp\",\"host_addr\":\"127.0.0.1\",\"host_port\":5353,\"guest_port\":53}");
    char name[32];
    assert_string_equal(host_api_err_name(VNAT_E_EXISTS, name, sizeof(name)), "exists");
    assert_string_equal(host_api_err_name(VNAT_E_FULL, name, sizeof(name)), "full");
    assert_string_equal(host_api_err_name(VNAT_E_INVAL, name, sizeof(name)), "inval");
    assert_string_equal(host_api_err_name(VNAT_E_HOST, name, sizeof(name)), "host");
    assert_string_equal(host_api_err_name(VNAT_E_NOTFOUND, name, sizeof(name)), "notfound");
    assert_string_equal(host_api_err_name(VNAT_OK, name, sizeof(name)), "ok");
    assert_string_equal(host_api_err_name((vnat_err)-99, name, sizeof(name)), "unknown");
    assert_string_equal(host_api_status_name(HOST_API_E_TOO_LONG), "too_long");
    assert_string_equal(host_api_status_name(HOST_API_E_BUSY), "busy");
}

PIN(api_reply_never_outgrows_its_buffer)
{
    char buf[40];
    memset(buf, '#', sizeof(buf));
    struct host_api_out o = {.buf = buf, .cap = 32};
    host_api_reply_error(&o, "syntax", "a message far longer than the room there is");
    assert_true(o.overflow);
    assert_true(o.len <= 32);
    for (size_t i = 32; i < sizeof(buf); i++)
        assert_int_equal(buf[i], '#');
    /* The largest list reply fits the size the socket side allocates. */
    enum { CAP = 64 };
    size_t max = host_api_max_reply(CAP);
    char *big = malloc(max);
    assert_non_null(big);
    struct host_api_out l = {.buf = big, .cap = max};
    struct vnat_forward f;
    memset(&f, 0, sizeof(f));
    f.proto = VNAT_PROTO_TCP;
    f.host.ip.family = VNAT_AF_INET6;
    memset(f.host.ip.addr, 0xff, 16);
    f.host.port = 65535;
    f.guest_port = 65535;
    host_api_put(&l, "{\"ok\":true,\"forwards\":[");
    for (int i = 0; i < CAP; i++) {
        host_api_put(&l, ",");
        host_api_put_forward(&l, &f);
    }
    host_api_put(&l, "]}\n");
    assert_false(l.overflow);
    free(big);
}

PIN_MAIN(cmocka_unit_test(api_add_with_every_field_is_parsed),
         cmocka_unit_test(api_add_defaults_to_host_loopback_in_any_key_order),
         cmocka_unit_test(api_ipv6_host_address_and_string_escapes_are_understood),
         cmocka_unit_test(api_remove_list_and_stats_are_parsed),
         cmocka_unit_test(api_syntax_errors_are_refused_as_syntax),
         cmocka_unit_test(api_command_errors_are_refused_as_command),
         cmocka_unit_test(api_field_errors_are_refused_as_field),
         cmocka_unit_test(api_oversize_request_is_refused_as_too_long),
         cmocka_unit_test(api_every_truncation_of_a_good_request_is_refused),
         cmocka_unit_test(api_random_bytes_never_crash_or_overrun),
         cmocka_unit_test(api_lines_are_framed_the_same_at_every_split),
         cmocka_unit_test(api_oversize_line_is_reported_once_and_the_next_line_survives),
         cmocka_unit_test(api_error_reply_escapes_what_it_quotes),
         cmocka_unit_test(api_forward_reply_and_error_names),
         cmocka_unit_test(api_reply_never_outgrows_its_buffer))
