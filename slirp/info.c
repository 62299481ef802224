/*
 * info.c — slirp_connection_info's table: the forwards the library keeps,
 * then one line per flow of the core's own dump (vnat_dump_flows), in the
 * columns QEMU's `info usernet` shows (protocol and state, descriptor,
 * source, destination, queues). The core's dump is the only view of its
 * flows the public API gives, so this reads its documented fields (proto,
 * guest:port -> dst:port, tok=, state=, snd_una=, snd_nxt=) and ignores the
 * rest.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct out {
    char *buf;
    size_t len, cap;
    bool oom;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    if (o->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->oom = true;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap * 2 + (size_t)n;
        char *b = realloc(o->buf, cap);
        if (b == NULL) {
            o->oom = true;
            return;
        }
        o->buf = b;
        o->cap = cap;
    }
}

static void ip_text(const struct vnat_ip *ip, char *buf, size_t len)
{
    const uint8_t *a = ip->addr;
    if (ip->family == VNAT_AF_INET && (a[0] | a[1] | a[2] | a[3]) == 0)
        snprintf(buf, len, "*");
    else if (ip->family == VNAT_AF_INET)
        snprintf(buf, len, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
    else if (ip->family == VNAT_AF_INET6)
        snprintf(buf, len, "(ipv6)");
    else
        snprintf(buf, len, "?");
}

static void row(struct out *o, const char *what, int fd, const char *src, unsigned sport,
                const char *dst, unsigned dport, unsigned long long recvq)
{
    put(o, "  %-19s %3d %15s %5u %15s %5u %5llu %5u\n", what, fd, src, sport, dst, dport, recvq,
        0u);
}

/* The value after " key=" in a dump line, or NULL. */
static const char *field(const char *line, const char *end, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = line; p + kl + 2 <= end; p++)
        if (p[0] == ' ' && memcmp(p + 1, key, kl) == 0 && p[1 + kl] == '=')
            return p + 2 + kl;
    return NULL;
}

/* "A.B.C.D:P" at *p; advances past it. */
static int addr_port(const char **p, const char *end, char *ip, size_t iplen, unsigned *port)
{
    const char *s = *p;
    while (s < end && *s == ' ')
        s++;
    const char *colon = s;
    while (colon < end && *colon != ':' && *colon != ' ')
        colon++;
    if (colon >= end || *colon != ':' || (size_t)(colon - s) >= iplen)
        return -1;
    memcpy(ip, s, (size_t)(colon - s));
    ip[colon - s] = '\0';
    char *after;
    unsigned long v = strtoul(colon + 1, &after, 10);
    if (after == colon + 1 || v > 65535)
        return -1;
    *port = (unsigned)v;
    *p = after;
    return 0;
}

static void flow_line(struct out *o, const char *line, const char *end,
                      int (*fd_of)(void *ctx, vnat_token tok), void *ctx)
{
    const char *p = line;
    if (*p != '#')
        return;
    while (p < end && *p != ' ')
        p++;
    while (p < end && *p == ' ')
        p++;
    char proto[8] = "";
    size_t pl = 0;
    while (p < end && *p != ' ' && pl + 1 < sizeof proto)
        proto[pl++] = (char)toupper((unsigned char)*p++);
    proto[pl] = '\0';
    char src[48], dst[48];
    unsigned sport, dport;
    if (addr_port(&p, end, src, sizeof src, &sport) < 0)
        return;
    while (p < end && (*p == ' ' || *p == '-' || *p == '>'))
        p++;
    if (addr_port(&p, end, dst, sizeof dst, &dport) < 0)
        return;
    const char *tok_s = field(line, end, "tok");
    vnat_token tok = tok_s ? strtoull(tok_s, NULL, 16) : 0;
    int fd = tok && fd_of ? fd_of(ctx, tok) : -1;
    char what[40];
    unsigned long long recvq = 0;
    const char *st = field(line, end, "state");
    if (st != NULL) {
        char state[24];
        size_t n = 0;
        while (st + n < end && st[n] != ' ' && n + 1 < sizeof state) {
            state[n] = (char)toupper((unsigned char)st[n]);
            n++;
        }
        state[n] = '\0';
        snprintf(what, sizeof what, "%s[%s]", proto, state);
        const char *una = field(line, end, "snd_una"), *nxt = field(line, end, "snd_nxt");
        if (una && nxt) {
            /* Sent to the guest and not yet acknowledged: held by the host
             * socket until then (the core peeks, never copies). */
            unsigned long long u = strtoull(una, NULL, 10), x = strtoull(nxt, NULL, 10);
            recvq = (x - u) & 0xffffffffull;
        }
    } else {
        snprintf(what, sizeof what, "%s[flow]", proto);
    }
    row(o, what, fd, src, sport, dst, dport, recvq);
}

char *vs_connection_table(const struct vs_fwd_row *fwds, size_t n_fwds, const char *dump,
                          int (*fd_of)(void *ctx, vnat_token tok), void *ctx)
{
    struct out o = {.cap = 1024};
    o.buf = malloc(o.cap);
    if (o.buf == NULL)
        return NULL;
    o.buf[0] = '\0';
    put(&o, "  %-19s %3s %15s %5s %15s %5s %5s %5s\n", "Protocol[State]", "FD", "Source Address",
        "Port", "Dest. Address", "Port", "RecvQ", "SendQ");
    for (size_t i = 0; i < n_fwds; i++) {
        char h[48], g[48];
        ip_text(&fwds[i].host.ip, h, sizeof h);
        ip_text(&fwds[i].guest, g, sizeof g);
        row(&o, fwds[i].proto == VNAT_PROTO_UDP ? "UDP[HOST_FORWARD]" : "TCP[HOST_FORWARD]",
            fwds[i].fd, h, fwds[i].host.port, g, fwds[i].guest_port, 0);
    }
    for (const char *line = dump; line != NULL && *line != '\0';) {
        const char *nl = strchr(line, '\n');
        const char *end = nl ? nl : line + strlen(line);
        flow_line(&o, line, end, fd_of, ctx);
        line = nl ? nl + 1 : NULL;
    }
    if (o.oom) {
        free(o.buf);
        return NULL;
    }
    return o.buf;
}
