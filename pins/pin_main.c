/*
 * pin_main.c — runs one pin case by name (ctest runs one process per case),
 * every case when no name is given, or lists the cases (--list, used by the
 * NAME.__cases registration check in cmake/VnatPin.cmake).
 *
 * With --broken the case is a BROKEN_ON_PURPOSE pin: it must fail by a cmocka
 * assertion and by nothing else. cmocka turns crashes into ordinary test
 * failures ("Test failed with exception"), which would let a segfault or the
 * core's trapping panic count as the expected failure; so the case runs
 * through a trampoline that first puts back the crash handlers in force before
 * cmocka (the default, or the sanitizer's): a crash, trap or sanitizer report
 * then ends the process abnormally and ctest sees a failure. The trampoline
 * also tells an assertion (the case body never returned) from a failure found
 * after the body returned (a fixture or cmocka's own checks).
 *
 * Exit status: 0 = the pin behaved (passed, or a broken pin failed by an
 * assertion); 1 = it did not; 2 = usage error.
 */
#include "pin.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The signals cmocka catches around each test. */
static const int crash_signals[] = {SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGSYS};
#define CRASH_SIGNAL_COUNT (sizeof crash_signals / sizeof crash_signals[0])

static struct sigaction handlers_before_cmocka[CRASH_SIGNAL_COUNT];
static CMUnitTestFunction chosen_case;
static volatile sig_atomic_t case_entered;
static volatile sig_atomic_t case_returned;

static void run_chosen_case(void **state)
{
    for (size_t i = 0; i < CRASH_SIGNAL_COUNT; i++)
        sigaction(crash_signals[i], &handlers_before_cmocka[i], NULL);
    case_entered = 1;
    chosen_case(state);
    case_returned = 1;
}

static void print_verdict_context(const char *name, const char *why)
{
    printf("pin '%s' is BROKEN_ON_PURPOSE: %s\n"
           "It passes in ctest only if a cmocka assertion fails; a crash, a trap, a sanitizer\n"
           "report, a timeout or a pass all fail it.\n",
           name, why != NULL ? why : "(no reason given)");
    fflush(stdout);
}

int pin_main(int argc, char **argv, const struct CMUnitTest *tests, size_t count)
{
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < count; i++)
            printf("%s\n", tests[i].name);
        return 0;
    }
    if (argc < 2)
        return _cmocka_run_group_tests(argv[0], tests, count, NULL, NULL) == 0 ? 0 : 1;

    const char *only = argv[1];
    int broken = argc > 2 && strcmp(argv[2], "--broken") == 0;
    const char *why = broken && argc > 3 ? argv[3] : NULL;
    size_t i;
    for (i = 0; i < count; i++)
        if (strcmp(tests[i].name, only) == 0)
            break;
    if (i == count) {
        fprintf(stderr, "pin: no test case named '%s' in %s (is it listed in PIN_MAIN?)\n", only,
                argv[0]);
        return 2;
    }
    if (broken)
        print_verdict_context(only, why);

    for (size_t s = 0; s < CRASH_SIGNAL_COUNT; s++)
        sigaction(crash_signals[s], NULL, &handlers_before_cmocka[s]);
    struct CMUnitTest one = tests[i];
    chosen_case = one.test_func;
    one.test_func = run_chosen_case;
    int failed = _cmocka_run_group_tests(argv[0], &one, 1, NULL, NULL);
    fflush(stdout);
    fflush(stderr);

    if (!broken)
        return failed == 0 ? 0 : 1;
    if (failed == 0 && case_returned) {
        printf("UNEXPECTED PASS: BROKEN_ON_PURPOSE pin '%s' now passes.\n"
               "Remove its BROKEN_ON_PURPOSE marker (make it a PIN) in the change that fixed it.\n"
               "It was broken because: %s\n",
               only, why != NULL ? why : "(no reason given)");
        return 1;
    }
    if (failed == 0) {
        printf("BROKEN PIN NOT RUN: '%s' was skipped; a broken pin must fail by an assertion.\n",
               only);
        return 1;
    }
    if (!case_entered || case_returned) {
        printf("BROKEN PIN FAILED OUTSIDE ITS BODY: '%s' failed in a fixture or a check made "
               "after the case returned, not by an assertion in the case.\n",
               only);
        return 1;
    }
    printf("BROKEN_ON_PURPOSE pin '%s' failed by an assertion, as expected.\n", only);
    fflush(stdout);
    /* Skip exit-time checks: memory the case held when its assertion jumped
     * out is not a leak of the code under test. */
    _exit(0);
}
