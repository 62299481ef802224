/*
 * fmt_pins.c — core/src/fmt.c, the core's own formatters (the core may not
 * call the printf family): text goes only in the first cap - 1 bytes,
 * fmt_finish ends it with a NUL when cap > 0, and count the length the whole text needs,
 * like snprintf. Each pin compares with snprintf or a literal, at every
 * buffer size from 0 to past the text (tools/mutate: fmt.c's bounds).
 */
#include "pin.h"

#include <stdio.h>
#include <string.h>

#include "fmt.h"

#define GUARD 0x5a

/* Format with fn into buffers of every size 0..len+2 (guard bytes after
 * cap), and check each against want: the prefix that fits, the NUL, the
 * counted length, nothing written past cap. */
static void every_cap(void (*fn)(struct fmt_buf *b, const void *arg), const void *arg,
                      const char *want)
{
    size_t n = strlen(want);
    for (size_t cap = 0; cap <= n + 2; cap++) {
        char buf[256 + 8];
        memset(buf, GUARD, sizeof buf);
        struct fmt_buf b = {buf, cap, 0};
        fn(&b, arg);
        /* Before the finish: text only in the first cap - 1 bytes, the
         * last one kept for the NUL. */
        for (size_t i = n < cap ? n : (cap ? cap - 1 : 0); i < cap; i++)
            if ((unsigned char)buf[i] != GUARD)
                fail_msg("cap %zu: byte %zu written before fmt_finish (the NUL's place or past "
                         "the text)",
                         cap, i);
        fmt_finish(&b);
        if (b.len != n)
            fail_msg("cap %zu: counted %zu, want %zu for \"%s\"", cap, b.len, n, want);
        if (cap > 0) {
            size_t keep = n < cap - 1 ? n : cap - 1;
            if (memcmp(buf, want, keep) != 0 || buf[keep] != '\0')
                fail_msg("cap %zu: got \"%.*s\", want the first %zu bytes of \"%s\" and a NUL", cap,
                         (int)keep, buf, keep, want);
        }
        for (size_t i = cap; i < cap + 8; i++)
            if ((unsigned char)buf[i] != GUARD)
                fail_msg("cap %zu: byte %zu written past the buffer", cap, i);
    }
}

static void do_str(struct fmt_buf *b, const void *arg)
{
    fmt_str(b, arg);
}
static void do_u64(struct fmt_buf *b, const void *arg)
{
    fmt_u64(b, *(const uint64_t *)arg);
}
static void do_hex(struct fmt_buf *b, const void *arg)
{
    fmt_hex(b, *(const uint64_t *)arg);
}
static void do_ip(struct fmt_buf *b, const void *arg)
{
    fmt_ip(b, arg);
}

PIN(fmt_str_appends_the_prefix_that_fits_and_counts_the_whole)
{
    every_cap(do_str, "", "");
    every_cap(do_str, "a", "a");
    every_cap(do_str, "flow table broken", "flow table broken");
    /* At most 4096 bytes of one string (a bound on a missing NUL). */
    static char big[5000];
    memset(big, 'x', sizeof big - 1);
    char out[8];
    struct fmt_buf b = {out, sizeof out, 0};
    fmt_str(&b, big);
    assert_int_equal(b.len, 4096);
}

PIN(fmt_u64_and_fmt_hex_print_every_digit_as_snprintf_does)
{
    static const uint64_t vs[] = {0,
                                  1,
                                  9,
                                  10,
                                  99,
                                  100,
                                  4096,
                                  65535,
                                  0xdeadbeef,
                                  1000000007,
                                  UINT32_MAX,
                                  UINT64_MAX,
                                  UINT64_MAX / 10 + 1};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "%llu", (unsigned long long)vs[i]);
        every_cap(do_u64, &vs[i], want);
        snprintf(want, sizeof want, "0x%llx", (unsigned long long)vs[i]);
        every_cap(do_hex, &vs[i], want);
    }
}

PIN(fmt_ip_prints_both_families_and_a_dash_for_neither)
{
    struct vnat_ip a = {.family = VNAT_AF_INET, .addr = {10, 0, 2, 15}};
    every_cap(do_ip, &a, "10.0.2.15");
    struct vnat_ip z = {.family = VNAT_AF_INET, .addr = {0, 255, 0, 100}};
    every_cap(do_ip, &z, "0.255.0.100");
    struct vnat_ip b = {.family = VNAT_AF_INET6,
                        .addr = {0xfd, 0x00, 0x12, 0x34, 0, 0, 0x0a, 0xbc, 0, 0x01, 0x10, 0, 0xf0,
                                 0x0f, 0xff, 0xff}};
    /* Eight groups, leading zeros dropped, no "::" compression. */
    every_cap(do_ip, &b, "fd00:1234:0:abc:1:1000:f00f:ffff");
    struct vnat_ip zero6 = {.family = VNAT_AF_INET6};
    every_cap(do_ip, &zero6, "0:0:0:0:0:0:0:0");
    struct vnat_ip none = {.family = 0};
    every_cap(do_ip, &none, "-");
}

PIN(fmt_fail_writes_the_message_when_asked_and_always_returns_1)
{
    char why[16];
    memset(why, GUARD, sizeof why);
    assert_int_equal(fmt_fail(why, sizeof why, "bad"), 1);
    assert_string_equal(why, "bad");
    assert_int_equal(fmt_fail(NULL, 0, "bad"), 1);
    assert_int_equal(fmt_fail(NULL, sizeof why, "bad"), 1); /* no buffer: nothing written */
    memset(why, GUARD, sizeof why);
    assert_int_equal(fmt_fail(why, 0, "bad"), 1);
    assert_int_equal((unsigned char)why[0], GUARD); /* why_len 0: not touched */
    assert_int_equal(fmt_fail(why, 4, "toolong"), 1);
    assert_string_equal(why, "too");
    memset(why, GUARD, sizeof why);
    assert_int_equal(fmt_fail_flow(why, sizeof why, "dup key", 42), 1);
    assert_string_equal(why, "dup key (flow #"); /* cut at 15 bytes and a NUL */
    char big[64];
    assert_int_equal(fmt_fail_flow(big, sizeof big, "dup key", 42), 1);
    assert_string_equal(big, "dup key (flow #42)");
    memset(why, GUARD, sizeof why);
    assert_int_equal(fmt_fail_flow(why, 0, "x", 1), 1);
    assert_int_equal((unsigned char)why[0], GUARD);
    assert_int_equal(fmt_fail_flow(NULL, 10, "x", 1), 1);
}

PIN_MAIN(cmocka_unit_test(fmt_str_appends_the_prefix_that_fits_and_counts_the_whole),
         cmocka_unit_test(fmt_u64_and_fmt_hex_print_every_digit_as_snprintf_does),
         cmocka_unit_test(fmt_ip_prints_both_families_and_a_dash_for_neither),
         cmocka_unit_test(fmt_fail_writes_the_message_when_asked_and_always_returns_1))
