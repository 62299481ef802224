/*
 * fmt.c — the core's own tiny text formatters (the core may not call the
 * printf family). They append to a caller buffer, never write past cap-1,
 * and keep counting the length the full text needs, like snprintf.
 */
#include "fmt.h"

#include <stdbool.h>

static void put_char(struct fmt_buf *b, char c)
{
    if (b->cap > 0 && b->len + 1 < b->cap)
        b->buf[b->len] = c;
    b->len++;
}

void fmt_str(struct fmt_buf *b, const char *s)
{
    for (size_t i = 0; i < 4096 && s[i] != '\0'; i++)
        put_char(b, s[i]);
}

void fmt_u64(struct fmt_buf *b, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 && n < 20);
    while (n > 0)
        put_char(b, tmp[--n]);
}

void fmt_hex(struct fmt_buf *b, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[16];
    int n = 0;
    do {
        tmp[n++] = digits[v & 15];
        v >>= 4;
    } while (v != 0 && n < 16);
    put_char(b, '0');
    put_char(b, 'x');
    while (n > 0)
        put_char(b, tmp[--n]);
}

void fmt_ip(struct fmt_buf *b, const struct vnat_ip *ip)
{
    if (ip->family == VNAT_AF_INET) {
        for (int i = 0; i < 4; i++) {
            if (i > 0)
                put_char(b, '.');
            fmt_u64(b, ip->addr[i]);
        }
        return;
    }
    if (ip->family == VNAT_AF_INET6) {
        /* Plain eight groups; no "::" compression (debug output only). */
        static const char digits[] = "0123456789abcdef";
        for (int g = 0; g < 8; g++) {
            if (g > 0)
                put_char(b, ':');
            unsigned w = ((unsigned)ip->addr[2 * g] << 8) | ip->addr[2 * g + 1];
            bool started = false;
            for (int s = 12; s >= 0; s -= 4) {
                unsigned d = (w >> s) & 15;
                if (d != 0 || started || s == 0) {
                    put_char(b, digits[d]);
                    started = true;
                }
            }
        }
        return;
    }
    fmt_str(b, "-");
}

void fmt_finish(struct fmt_buf *b)
{
    if (b->cap == 0)
        return;
    b->buf[b->len < b->cap ? b->len : b->cap - 1] = '\0';
}

int fmt_fail(char *why, size_t why_len, const char *msg)
{
    if (why != NULL && why_len > 0) {
        struct fmt_buf b = {why, why_len, 0};
        fmt_str(&b, msg);
        fmt_finish(&b);
    }
    return 1;
}

int fmt_fail_flow(char *why, size_t why_len, const char *msg, uint64_t slot)
{
    if (why != NULL && why_len > 0) {
        struct fmt_buf b = {why, why_len, 0};
        fmt_str(&b, msg);
        fmt_str(&b, " (flow #");
        fmt_u64(&b, slot);
        fmt_str(&b, ")");
        fmt_finish(&b);
    }
    return 1;
}
