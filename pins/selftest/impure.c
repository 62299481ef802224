/*
 * impure.c — what core/ must never be: a library that allocates and prints.
 * Built as a throwaway static library so that tools/check-purity can be seen
 * to reject it (selftest.purity_rejects_impure).
 */
#include <stdio.h>
#include <stdlib.h>

int vnat_selftest_impure(int n);

int vnat_selftest_impure(int n)
{
    char *p = malloc((size_t)n + 1);
    if (p == NULL)
        return -1;
    int r = snprintf(p, (size_t)n + 1, "%d", n);
    printf("%s\n", p);
    free(p);
    return r;
}
