/*
 * tk_socks.c — the test kit's token-indexed socket table, its failure hook
 * and the stream sockets' byte buffers (see tk_socks.h).
 */
#include "tk_socks.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void (*tk_fail_hook)(const char *msg);

void tk_fail(const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (tk_fail_hook != NULL)
        tk_fail_hook(msg);
    fprintf(stderr, "testkit: %s\n", msg);
    abort();
}

long tk_find(const struct tk_table *t, vnat_token tok, bool open_only)
{
    if (tok == VNAT_TOKEN_NONE)
        return -1;
    if (t->by_index) {
        uint32_t i = (uint32_t)tok;
        const struct tk_sock *s = i < t->n ? tk_at(t, i) : NULL;
        if (s == NULL || !s->used || s->tok != tok || (open_only && s->closed))
            return -1;
        return (long)i;
    }
    for (size_t i = 0; i < t->n; i++) {
        const struct tk_sock *s = tk_at(t, i);
        if (s->used && s->tok == tok && (!open_only || !s->closed))
            return (long)i;
    }
    return -1;
}

long tk_live(const struct tk_table *t, vnat_token tok, const char *what)
{
    long i = tk_find(t, tok, true);
    if (i < 0)
        tk_fail("fake host: %s on unknown or closed token %llx", what, (unsigned long long)tok);
    return i;
}

long tk_claim(const struct tk_table *t, vnat_token tok)
{
    if (tok == VNAT_TOKEN_NONE)
        tk_fail("fake host: a new socket named by the null token");
    if (tk_find(t, tok, true) >= 0) /* a live token is never reused */
        tk_fail("fake host: open token %llx names a new socket", (unsigned long long)tok);
    if (t->closed != NULL)
        for (size_t i = 0; i < t->closed->n; i++)
            if (t->closed->tok[i] == tok)
                tk_fail("fake host: closed token %llx names a new socket", (unsigned long long)tok);
    if (t->by_index)
        return (uint32_t)tok < t->n ? (long)(uint32_t)tok : -1;
    for (size_t i = 0; i < t->n; i++)
        if (!tk_sock_open(tk_at(t, i)))
            return (long)i;
    return -1;
}

void tk_sock_set(struct tk_sock *s, vnat_token tok)
{
    s->tok = tok;
    s->used = true;
    s->closed = false;
}

void tk_close(const struct tk_table *t, struct tk_sock *s, int reset)
{
    if (!tk_sock_open(s))
        tk_fail("fake host: close of a socket not open (token %llx)", (unsigned long long)s->tok);
    s->closed = true;
    s->close_reset = reset;
    if (t->closed != NULL && t->closed->n < TK_MAX_CLOSED)
        t->closed->tok[t->closed->n++] = s->tok;
}

size_t tk_count(const struct tk_table *t, bool open_only)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct tk_sock *s = tk_at(t, i);
        n += s->used && (!open_only || !s->closed);
    }
    return n;
}

/* Append n bytes to a stream buffer (allocated on first use). */
static void append(uint8_t **buf, size_t *len, const void *data, size_t n, const char *what)
{
    if (*len + n > TK_STREAM_BUF)
        tk_fail("fake host: more than %u bytes %s on one stream", TK_STREAM_BUF, what);
    if (*buf == NULL && (*buf = malloc(TK_STREAM_BUF)) == NULL)
        abort();
    memcpy(*buf + *len, data, n);
    *len += n;
}

long tk_stream_send(struct tk_stream *s, const uint8_t *buf, size_t len)
{
    size_t n = len < (size_t)s->space ? len : (size_t)s->space;
    if (n == 0)
        return -11;
    append(&s->tx, &s->tx_len, buf, n, "sent");
    s->space -= (long)n;
    return (long)n;
}

size_t tk_stream_peek(const struct tk_stream *s, size_t off, uint8_t *buf, size_t len, bool *none)
{
    size_t avail = s->rx_len - s->rx_disc;
    *none = off >= avail;
    if (*none)
        return 0;
    size_t n = avail - off < len ? avail - off : len;
    memcpy(buf, s->rx + s->rx_disc + off, n);
    return n;
}

void tk_stream_discard(struct tk_stream *s, size_t len)
{
    if (s->rx_disc + len > s->rx_len)
        tk_fail("fake host: discard of %zu bytes, %zu held", len, s->rx_len - s->rx_disc);
    s->rx_disc += len;
}

void tk_stream_feed(struct tk_stream *s, const void *data, size_t len)
{
    append(&s->rx, &s->rx_len, data, len, "scripted");
}

void tk_stream_free(struct tk_stream *s)
{
    free(s->tx);
    free(s->rx);
    s->tx = s->rx = NULL;
}
