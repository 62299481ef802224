/*
 * pin.h — what every pin file includes. A pin is a cmocka test case that
 * pins one behaviour; cmake/VnatPin.cmake finds the cases by these macros and
 * registers one ctest test per case.
 *
 *   PIN(name) { ... }                          must pass
 *   BROKEN_ON_PURPOSE(name, "why, and which issue fixes it") { ... }
 *       asserts the DESIRED behaviour of a known defect or unbuilt feature;
 *       expected to fail by an assertion. The day it passes, ctest reports
 *       an UNEXPECTED PASS and the marker must be removed in that change.
 *
 * End each file with PIN_MAIN(cmocka_unit_test(a), cmocka_unit_test(b), ...).
 */
#ifndef VNAT_PIN_H
#define VNAT_PIN_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define PIN(name) static void name(void **state __attribute__((unused)))
#define BROKEN_ON_PURPOSE(name, why) static void name(void **state __attribute__((unused)))

int pin_main(int argc, char **argv, const struct CMUnitTest *tests, size_t count);

#define PIN_MAIN(...)                                                                              \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        static const struct CMUnitTest pin_tests_[] = {__VA_ARGS__};                               \
        return pin_main(argc, argv, pin_tests_, sizeof pin_tests_ / sizeof pin_tests_[0]);         \
    }

#endif
