/*
 * embedder.c — the smallest program a VMM could be: it includes the installed
 * <vnat/vnat.h> and links the installed libvnat.a through pkg-config only.
 * It checks the header and the library agree on the version and the
 * library's text for an error code, so a stale or mismatched install fails.
 */
#include <stdio.h>
#include <string.h>
#include <vnat/vnat.h>

int main(void)
{
    const char *text = vnat_strerror(VNAT_OK);
    if (text == NULL || strcmp(text, "success") != 0) {
        fprintf(stderr, "embedder: vnat_strerror(VNAT_OK) gave '%s'\n", text ? text : "(null)");
        return 1;
    }
    printf("embedder: linked vnat %s from the install prefix: VNAT_OK is '%s'\n",
           VNAT_VERSION_STRING, text);
    return 0;
}
