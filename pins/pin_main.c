/*
 * pin_main.c — runs one pin case by name (ctest runs one process per case)
 * or every case when no name is given. With --broken the case is a
 * BROKEN_ON_PURPOSE pin: it is expected to fail by a cmocka assertion, and a
 * pass is reported loudly so the marker gets removed.
 */
#include "pin.h"

#include <stdio.h>
#include <string.h>

int pin_main(int argc, char **argv, const struct CMUnitTest *tests, size_t count)
{
    const char *only = argc > 1 ? argv[1] : NULL;
    int broken = argc > 2 && strcmp(argv[2], "--broken") == 0;
    if (only != NULL) {
        size_t i;
        for (i = 0; i < count; i++)
            if (strcmp(tests[i].name, only) == 0)
                break;
        if (i == count) {
            fprintf(stderr, "pin: no test case named '%s' in %s\n", only, argv[0]);
            return 2;
        }
        cmocka_set_test_filter(only);
    }
    int failed = _cmocka_run_group_tests(argv[0], tests, count, NULL, NULL);
    if (broken && failed == 0) {
        printf("UNEXPECTED PASS: BROKEN_ON_PURPOSE pin '%s' now passes.\n"
               "Remove its BROKEN_ON_PURPOSE marker (make it a PIN) in the change that fixed it.\n",
               only);
        return 1;
    }
    return failed == 0 ? 0 : 1;
}
