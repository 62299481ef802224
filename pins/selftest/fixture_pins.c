/*
 * fixture_pins.c — pins that misbehave on purpose, for the self-test of the
 * pin mechanism (pins/selftest/run.cmake). They are never registered in the
 * project's own build: run.cmake builds them in a throwaway project through
 * the real vnat_pin() and checks what ctest makes of each one. Every way a
 * BROKEN_ON_PURPOSE pin can go wrong is here, next to the one way it may fail.
 */
#include "pin.h"

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Values the compiler cannot see through, so nothing is folded away. */
static volatile int zero = 0;
static volatile int big = INT_MAX;

PIN(pin_passes)
{
    assert_int_equal(zero, 0);
}

PIN(pin_fails_by_assertion)
{
    assert_int_equal(zero, 1);
}

BROKEN_ON_PURPOSE(broken_fails_by_assertion, "the expected way: the assertion fails")
{
    assert_int_equal(zero, 1);
}

BROKEN_ON_PURPOSE(broken_reason_with_semicolon, "a reason; with a semicolon is one registration")
{
    assert_int_equal(zero, 1);
}

BROKEN_ON_PURPOSE(broken_fails_after_allocating, "memory held at the failed assertion is no leak")
{
    char *held = malloc(64);
    assert_non_null(held);
    memset(held, 1, 64);
    assert_int_equal(held[zero], 2);
    free(held);
}

BROKEN_ON_PURPOSE(broken_passes, "a fix landed, "
                                 "the marker must go")
{
    assert_int_equal(zero, 0);
}

BROKEN_ON_PURPOSE(broken_segfaults, "a crash is never the expected failure")
{
    /* Not NULL: UBSan would report a null store before the fault happens. */
    volatile int *nowhere = (volatile int *)(uintptr_t)(16 + zero);
    *nowhere = 1;
}

BROKEN_ON_PURPOSE(broken_traps, "the core's default panic is a trap: a failure, not a pass")
{
    if (zero == 0)
        __builtin_trap();
}

BROKEN_ON_PURPOSE(broken_aborts, "abort is never the expected failure")
{
    if (zero == 0)
        abort();
}

BROKEN_ON_PURPOSE(broken_asan_report, "a heap overflow must fail under ASan")
{
    char *block = malloc(8);
    assert_non_null(block);
    block[8 + zero] = 1;
    free(block);
    assert_int_equal(zero, 1);
}

BROKEN_ON_PURPOSE(broken_ubsan_report, "signed overflow must fail under UBSan")
{
    int sum = big + 1;
    assert_int_equal(sum, 0);
}

BROKEN_ON_PURPOSE(broken_hangs, "a hang is stopped by the TIMEOUT and fails")
{
    for (;;)
        pause();
}

/* In PIN_MAIN without a marker: ctest would never run it, so the __cases
 * registration check must fail. */
static void unmarked_case(void **state)
{
    (void)state;
}

PIN_MAIN(cmocka_unit_test(pin_passes), cmocka_unit_test(pin_fails_by_assertion),
         cmocka_unit_test(broken_fails_by_assertion),
         cmocka_unit_test(broken_reason_with_semicolon),
         cmocka_unit_test(broken_fails_after_allocating), cmocka_unit_test(broken_passes),
         cmocka_unit_test(broken_segfaults), cmocka_unit_test(broken_traps),
         cmocka_unit_test(broken_aborts), cmocka_unit_test(broken_asan_report),
         cmocka_unit_test(broken_ubsan_report), cmocka_unit_test(broken_hangs),
         cmocka_unit_test(unmarked_case))
