/*
 * fuzz_api.c — libFuzzer target for the adapter's `--api-socket` protocol
 * (host/api_proto.c), which is pure and so is linked directly. The input is
 * a client's byte stream. It is parsed whole as one request, and framed into
 * lines (in one piece, byte by byte and in pieces drawn from a hash of the
 * input) whose every line is parsed too. Oracles beyond "no crash":
 *   - framer: the events (lines and too-long reports) equal those of a
 *     declarative model of the framing rule at every split, no line is longer
 *     than HOST_API_MAX_LINE or holds a newline, and every call consumes
 *     exactly up to its event;
 *   - parser: a status in range, why set exactly on refusal and never written
 *     past its length (also with a tiny buffer, then a prefix of the full
 *     message), too_long exactly above the limit, a NUL refused as syntax,
 *     the same answer with whitespace around the object, every prefix cut
 *     before the closing brace refused, and an accepted request's fields in
 *     range and re-serialised by the reply builder (by hand and through
 *     host_api_put_forward) to text that parses back to the same request and
 *     is a fixed point of parse-then-serialise;
 *   - reply builder: host_api_put_str writes a JSON string that decodes to
 *     its input (checked by a decoder here and by the parser itself), error
 *     replies are one printable line that carries the message, output never
 *     passes its capacity and is a prefix of the full output when cut, an
 *     arbitrary forward fits the per-entry room of host_api_max_reply and
 *     parses back, and host_api_err_name stays within its buffer.
 * A broken oracle prints what failed and traps.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_api: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
            __builtin_trap();                                                                      \
        }                                                                                          \
    } while (0)

/* Room for any request this target builds (a request is at most
 * HOST_API_MAX_LINE bytes; replies of a 150-byte string at most 6x). */
#define BUF 4096

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/* ------------------------------------------------------------------------ */
/* Parser oracles                                                            */
/* ------------------------------------------------------------------------ */

/* Parse from an exact-size heap copy so that ASan sees any overread. */
static enum host_api_status parse_copy(const char *s, size_t n, struct host_api_req *r, char *why,
                                       size_t why_len)
{
    char *copy = malloc(n ? n : 1);
    CHECK(copy != NULL);
    if (n)
        memcpy(copy, s, n);
    enum host_api_status st = host_api_parse(copy, n, r, why, why_len);
    free(copy);
    return st;
}

static bool req_equal(const struct host_api_req *a, const struct host_api_req *b)
{
    return a->cmd == b->cmd && a->fwd.proto == b->fwd.proto &&
           a->fwd.host.ip.family == b->fwd.host.ip.family &&
           !memcmp(a->fwd.host.ip.addr, b->fwd.host.ip.addr, sizeof(a->fwd.host.ip.addr)) &&
           a->fwd.host.port == b->fwd.host.port && a->fwd.guest_port == b->fwd.guest_port &&
           a->guest_port_given == b->guest_port_given;
}

static const char *cmd_name(enum host_api_cmd c)
{
    switch (c) {
    case HOST_API_ADD:
        return "add";
    case HOST_API_REMOVE:
        return "remove";
    case HOST_API_LIST:
        return "list";
    case HOST_API_STATS:
        return "stats";
    }
    return NULL;
}

/* An accepted request's fields are what its command allows. */
static void check_accepted(const struct host_api_req *r)
{
    CHECK(cmd_name(r->cmd) != NULL);
    const struct vnat_ip *ip = &r->fwd.host.ip;
    CHECK(ip->family == VNAT_AF_INET || ip->family == VNAT_AF_INET6);
    if (ip->family == VNAT_AF_INET)
        for (int i = 4; i < 16; i++)
            CHECK(ip->addr[i] == 0);
    if (r->cmd == HOST_API_LIST || r->cmd == HOST_API_STATS) {
        static const uint8_t lo[16] = {127, 0, 0, 1};
        CHECK(r->fwd.proto == 0 && r->fwd.host.port == 0 && r->fwd.guest_port == 0);
        CHECK(!r->guest_port_given && ip->family == VNAT_AF_INET && !memcmp(ip->addr, lo, 16));
        return;
    }
    CHECK(r->fwd.proto == VNAT_PROTO_TCP || r->fwd.proto == VNAT_PROTO_UDP);
    CHECK(r->fwd.host.port >= 1);
    CHECK(r->guest_port_given == (r->fwd.guest_port != 0));
    if (r->cmd == HOST_API_ADD)
        CHECK(r->guest_port_given);
}

/* Write a request back as text with the reply builder: field by field, or
 * (add and remove with a guest port) through host_api_put_forward. */
static size_t serialise(const struct host_api_req *r, bool via_forward, char *buf, size_t cap)
{
    struct host_api_out o = {.buf = buf, .cap = cap};
    host_api_put(&o, "{\"cmd\":");
    host_api_put_str(&o, cmd_name(r->cmd));
    if (r->cmd == HOST_API_ADD || r->cmd == HOST_API_REMOVE) {
        if (via_forward && r->guest_port_given) {
            char fb[256] = {0};
            struct host_api_out f = {.buf = fb, .cap = sizeof(fb) - 1};
            host_api_put_forward(&f, &r->fwd);
            CHECK(!f.overflow && f.len >= 2 && fb[0] == '{' && fb[f.len - 1] == '}');
            fb[f.len] = 0;
            host_api_put(&o, ",");
            host_api_put(&o, fb + 1); /* the forward's members and its '}' */
        } else {
            char addr[INET6_ADDRSTRLEN];
            int af = r->fwd.host.ip.family == VNAT_AF_INET6 ? AF_INET6 : AF_INET;
            CHECK(inet_ntop(af, r->fwd.host.ip.addr, addr, sizeof(addr)) != NULL);
            host_api_put(&o, ",\"proto\":");
            host_api_put_str(&o, r->fwd.proto == VNAT_PROTO_TCP ? "tcp" : "udp");
            host_api_put(&o, ",\"host_addr\":");
            host_api_put_str(&o, addr);
            host_api_put(&o, ",\"host_port\":");
            host_api_put_u64(&o, r->fwd.host.port);
            if (r->guest_port_given) {
                host_api_put(&o, ",\"guest_port\":");
                host_api_put_u64(&o, r->fwd.guest_port);
            }
            host_api_put(&o, "}");
        }
    } else {
        host_api_put(&o, "}");
    }
    CHECK(!o.overflow && o.len <= cap);
    return o.len;
}

static void check_round_trip(const struct host_api_req *r)
{
    static char a[BUF], b[BUF];
    char why[HOST_API_MAX_WHY];
    struct host_api_req back;
    for (int via = 0; via < 2; via++) {
        size_t n = serialise(r, via, a, sizeof(a));
        CHECK(n <= HOST_API_MAX_LINE);
        CHECK(parse_copy(a, n, &back, why, sizeof(why)) == HOST_API_OK);
        CHECK(why[0] == 0);
        CHECK(req_equal(r, &back));
        /* The canonical text is a fixed point. */
        size_t m = serialise(&back, via, b, sizeof(b));
        CHECK(m == n && !memcmp(a, b, n));
    }
}

static void check_error_reply(const char *name, const char *msg);

/* Every oracle of one request line. */
static void check_parse(const char *line, size_t len, uint64_t h)
{
    struct host_api_req r;
    char why[HOST_API_MAX_WHY];
    memset(why, 0x5a, sizeof(why));
    enum host_api_status st = parse_copy(line, len, &r, why, sizeof(why));
    CHECK(st >= HOST_API_OK && st <= HOST_API_E_FIELD);
    CHECK(strcmp(host_api_status_name(st), "unknown") != 0);
    CHECK(memchr(why, 0, sizeof(why)) != NULL);
    CHECK((st == HOST_API_OK) == (why[0] == 0));
    CHECK((st == HOST_API_E_TOO_LONG) == (len > HOST_API_MAX_LINE));
    if (len <= HOST_API_MAX_LINE && memchr(line, 0, len))
        CHECK(st == HOST_API_E_SYNTAX);

    /* The same answer with a tiny message buffer (a prefix of the message,
     * never written past) and with none. */
    size_t small = 1 + (size_t)(h % 24);
    char *why2 = malloc(small);
    CHECK(why2 != NULL);
    struct host_api_req r2;
    CHECK(parse_copy(line, len, &r2, why2, small) == st);
    CHECK(memchr(why2, 0, small) != NULL && !strncmp(why, why2, strlen(why2)));
    CHECK(strlen(why2) == (strlen(why) < small ? strlen(why) : small - 1));
    free(why2);
    CHECK(parse_copy(line, len, &r2, NULL, 0) == st);
    if (st == HOST_API_OK)
        CHECK(req_equal(&r, &r2));

    /* Whitespace around the object changes nothing. */
    if (len + 4 <= HOST_API_MAX_LINE) {
        static char padded[BUF];
        padded[0] = ' ';
        padded[1] = '\t';
        memcpy(padded + 2, line, len);
        padded[len + 2] = '\r';
        padded[len + 3] = ' ';
        char why3[HOST_API_MAX_WHY];
        CHECK(parse_copy(padded, len + 4, &r2, why3, sizeof(why3)) == st);
        CHECK(!strcmp(why, why3));
        if (st == HOST_API_OK)
            CHECK(req_equal(&r, &r2));
    }

    if (st != HOST_API_OK) {
        check_error_reply(host_api_status_name(st), why); /* as the socket answers it */
        return;
    }
    check_accepted(&r);
    check_round_trip(&r);
    /* A prefix cut before the object's closing brace is refused. */
    const char *close = NULL;
    for (size_t i = len; i-- > 0;)
        if (line[i] == '}') {
            close = line + i;
            break;
        }
    CHECK(close != NULL);
    size_t end = (size_t)(close - line);
    size_t cuts[2] = {end, (size_t)(h >> 8) % (end + 1)};
    for (int i = 0; i < 2; i++) {
        char why4[HOST_API_MAX_WHY];
        CHECK(parse_copy(line, cuts[i], &r2, why4, sizeof(why4)) != HOST_API_OK);
        CHECK(why4[0] != 0);
    }
}

/* ------------------------------------------------------------------------ */
/* Framer oracles                                                            */
/* ------------------------------------------------------------------------ */

/* The framing rule, stated over the whole stream: each newline-terminated
 * segment up to HOST_API_MAX_LINE bytes is a line; a longer one is one
 * too-long report (made before its newline arrives, so an unterminated
 * oversize tail is reported too); a short unterminated tail is nothing yet. */
struct model {
    const char *in;
    size_t n;
    size_t pos; /* where the next segment starts */
};

static bool model_next(struct model *m, enum host_api_rx_event *ev, const char **line, size_t *len)
{
    while (m->pos < m->n) {
        const char *s = m->in + m->pos;
        const char *nl = memchr(s, '\n', m->n - m->pos);
        size_t seg = nl ? (size_t)(nl - s) : m->n - m->pos;
        m->pos += seg + (nl ? 1 : 0);
        if (seg > HOST_API_MAX_LINE) {
            *ev = HOST_API_RX_TOO_LONG;
            return true;
        }
        if (nl) {
            *ev = HOST_API_RX_LINE;
            *line = s;
            *len = seg;
            return true;
        }
    }
    return false;
}

/* Frame the stream in pieces (mode 0: whole, 1: byte by byte, 2: drawn
 * from rng) and compare with the model; lines go to the parser if asked. */
static void check_framer(const char *in, size_t n, int mode, uint64_t rng, bool parse_lines)
{
    struct host_api_rx *rx = malloc(sizeof(*rx));
    CHECK(rx != NULL);
    memset(rx, 0, sizeof(*rx));
    struct model m = {.in = in, .n = n};
    for (size_t off = 0; off < n;) {
        size_t k = n - off;
        if (mode == 1)
            k = 1;
        else if (mode == 2) {
            uint64_t x = rng_next(&rng);
            size_t want = (x & 3) == 0 ? 1 + (x >> 8) % 4 : 1 + (x >> 8) % (2 * HOST_API_MAX_LINE);
            k = want < k ? want : k;
        }
        for (size_t used = 0; used < k;) {
            enum host_api_rx_event ev = (enum host_api_rx_event)77;
            size_t u = host_api_rx_take(rx, in + off + used, k - used, &ev);
            CHECK(u >= 1 && u <= k - used);
            CHECK(ev == HOST_API_RX_NONE || ev == HOST_API_RX_LINE || ev == HOST_API_RX_TOO_LONG);
            if (ev == HOST_API_RX_NONE)
                CHECK(u == k - used); /* no event: everything taken */
            if (ev == HOST_API_RX_LINE)
                CHECK(in[off + used + u - 1] == '\n'); /* up to and including it */
            used += u;
            if (ev == HOST_API_RX_NONE)
                continue;
            enum host_api_rx_event want;
            const char *line = NULL;
            size_t len = 0;
            CHECK(model_next(&m, &want, &line, &len));
            CHECK(ev == want);
            if (ev == HOST_API_RX_LINE) {
                CHECK(rx->len <= HOST_API_MAX_LINE && rx->line[rx->len] == 0);
                CHECK(rx->len == len && !memcmp(rx->line, line, len));
                if (parse_lines)
                    check_parse(rx->line, rx->len, rng_next(&rng));
            }
        }
        off += k;
    }
    enum host_api_rx_event ev;
    const char *line;
    size_t len;
    CHECK(!model_next(&m, &ev, &line, &len)); /* nothing was missed */
    free(rx);
}

/* ------------------------------------------------------------------------ */
/* Reply builder oracles                                                     */
/* ------------------------------------------------------------------------ */

static int hexdigit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode q[0..n) as host_api_put_str must write it: a quoted string of
 * printable ASCII where '"' and '\\' are escaped with a backslash and every
 * other byte outside 0x20..0x7e as \u00xx (nothing else escaped). Returns
 * the decoded length, or -1 if the text breaks that form. */
static long unquote(const char *q, size_t n, char *out, size_t cap)
{
    if (n < 2 || q[0] != '"' || q[n - 1] != '"')
        return -1;
    size_t o = 0;
    for (size_t i = 1; i < n - 1; i++) {
        unsigned char c = (unsigned char)q[i];
        if (c < 0x20 || c > 0x7e || c == '"')
            return -1;
        if (c == '\\') {
            if (i + 1 >= n - 1)
                return -1;
            char e = q[++i];
            if (e == '"' || e == '\\') {
                c = (unsigned char)e;
            } else if (e == 'u') {
                if (i + 4 >= n - 1)
                    return -1;
                int v = 0;
                for (int j = 1; j <= 4; j++) {
                    int d = hexdigit(q[i + (size_t)j]);
                    if (d < 0)
                        return -1;
                    v = v * 16 + d;
                }
                if (v == 0 || v > 0xff || (v >= 0x20 && v < 0x7f))
                    return -1;
                c = (unsigned char)v;
                i += 4;
            } else {
                return -1;
            }
        }
        if (o >= cap)
            return -1;
        out[o++] = (char)c;
    }
    return (long)o;
}

/* host_api_put_str on s (NUL-terminated): the exact JSON string, cut
 * cleanly at a small capacity, and decoded by the parser as a "cmd" value. */
static void check_put_str(const char *s, uint64_t h)
{
    static char full[BUF], dec[BUF];
    size_t sl = strlen(s);
    struct host_api_out o = {.buf = full, .cap = sizeof(full)};
    host_api_put_str(&o, s);
    CHECK(!o.overflow && o.len <= 6 * sl + 2);
    CHECK(unquote(full, o.len, dec, sizeof(dec)) == (long)sl && !memcmp(dec, s, sl));

    /* Cut at a capacity: never past it, a prefix of the full text. */
    size_t cap = (size_t)(h % (o.len + 2));
    char *cut = malloc(cap ? cap : 1);
    CHECK(cut != NULL);
    struct host_api_out c = {.buf = cut, .cap = cap};
    host_api_put_str(&c, s);
    CHECK(c.len <= cap && c.overflow == (o.len > cap));
    CHECK(!memcmp(cut, full, c.len));
    free(cut);

    /* The parser reads it back: as "cmd" the value is a command, or the
     * refusal names it (non-ASCII bytes decode to 0x7f, by design). */
    static char req[BUF];
    struct host_api_out q = {.buf = req, .cap = sizeof(req)};
    host_api_put(&q, "{\"cmd\":");
    host_api_put_str(&q, s);
    host_api_put(&q, "}");
    CHECK(!q.overflow);
    if (q.len > HOST_API_MAX_LINE)
        return;
    char want[HOST_API_MAX_STRING + 1];
    for (size_t i = 0; i < sl && i < HOST_API_MAX_STRING; i++)
        want[i] = (unsigned char)s[i] >= 0x80 ? 0x7f : s[i];
    want[sl < HOST_API_MAX_STRING ? sl : HOST_API_MAX_STRING] = 0;
    struct host_api_req r;
    char why[HOST_API_MAX_WHY];
    enum host_api_status st = parse_copy(req, q.len, &r, why, sizeof(why));
    if (sl > HOST_API_MAX_STRING) {
        CHECK(st == HOST_API_E_FIELD);
    } else if (!strcmp(want, "list") || !strcmp(want, "stats")) {
        CHECK(st == HOST_API_OK);
    } else if (!strcmp(want, "add") || !strcmp(want, "remove")) {
        CHECK(st == HOST_API_E_FIELD); /* no forward fields */
    } else {
        char expect[HOST_API_MAX_WHY];
        snprintf(expect, sizeof(expect), "unknown command \"%.32s\"", want);
        CHECK(st == HOST_API_E_COMMAND && !strcmp(why, expect));
    }
}

/* An error reply: one printable line, exactly the layout, message intact. */
static void check_error_reply(const char *name, const char *msg)
{
    size_t cap = host_api_max_reply(0);
    char *buf = malloc(cap);
    CHECK(buf != NULL);
    struct host_api_out o = {.buf = buf, .cap = cap};
    host_api_reply_error(&o, name, msg);
    CHECK(!o.overflow && o.len <= cap && o.len >= 2);
    CHECK(buf[o.len - 1] == '\n' && buf[o.len - 2] == '}');
    for (size_t i = 0; i + 1 < o.len; i++)
        CHECK(buf[i] >= 0x20 && buf[i] <= 0x7e);
    static const char head[] = "{\"ok\":false,\"error\":\"";
    static const char mid[] = "\",\"message\":";
    size_t hl = sizeof(head) - 1, nl = strlen(name), ml = sizeof(mid) - 1;
    CHECK(o.len > hl + nl + ml + 2);
    CHECK(!memcmp(buf, head, hl) && !memcmp(buf + hl, name, nl));
    CHECK(!memcmp(buf + hl + nl, mid, ml));
    static char dec[BUF];
    size_t qs = hl + nl + ml; /* the message's opening quote */
    long dl = unquote(buf + qs, o.len - 2 - qs, dec, sizeof(dec));
    CHECK(dl == (long)strlen(msg) && !memcmp(dec, msg, (size_t)dl));
    free(buf);
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* A forward drawn from 22 bytes: its JSON fits the per-entry room of
 * host_api_max_reply and, as an add request, parses back to itself. */
static void check_forward(const uint8_t *d, struct vnat_forward *f)
{
    memset(f, 0, sizeof(*f));
    f->proto = d[0];
    f->host.ip.family = d[1];
    memcpy(f->host.ip.addr, d + 2, 16);
    f->host.port = get16(d + 18);
    f->guest_port = get16(d + 20);
    char fb[256];
    struct host_api_out o = {.buf = fb, .cap = sizeof(fb) - 1};
    host_api_put_forward(&o, f);
    CHECK(!o.overflow && o.len + 1 <= 128); /* with its ',' in a list */
    fb[o.len] = 0;
    static char req[BUF];
    struct host_api_out q = {.buf = req, .cap = sizeof(req)};
    host_api_put(&q, "{\"cmd\":\"add\",");
    host_api_put(&q, fb + 1);
    CHECK(!q.overflow);
    struct host_api_req r;
    char why[HOST_API_MAX_WHY];
    enum host_api_status st = parse_copy(req, q.len, &r, why, sizeof(why));
    if (f->host.port == 0 || f->guest_port == 0) {
        CHECK(st == HOST_API_E_FIELD);
        return;
    }
    CHECK(st == HOST_API_OK && r.cmd == HOST_API_ADD && r.guest_port_given);
    CHECK(r.fwd.proto == (f->proto == VNAT_PROTO_TCP ? VNAT_PROTO_TCP : VNAT_PROTO_UDP));
    bool v6 = f->host.ip.family == VNAT_AF_INET6;
    CHECK(r.fwd.host.ip.family == (v6 ? VNAT_AF_INET6 : VNAT_AF_INET));
    CHECK(!memcmp(r.fwd.host.ip.addr, f->host.ip.addr, v6 ? 16 : 4));
    CHECK(r.fwd.host.port == f->host.port && r.fwd.guest_port == f->guest_port);
}

static void check_builder(const uint8_t *data, size_t size, uint64_t h)
{
    /* A string: the input up to a NUL, at most 150 bytes. */
    char s[151];
    size_t sl = 0;
    while (sl < size && sl < sizeof(s) - 1 && data[sl] != 0) {
        s[sl] = (char)data[sl];
        sl++;
    }
    s[sl] = 0;
    check_put_str(s, h);
    check_error_reply(host_api_status_name((enum host_api_status)(h % 6)), s);

    /* Numbers. */
    uint64_t v = h ^ (size ? data[0] : 0);
    char nb[32];
    struct host_api_out o = {.buf = nb, .cap = sizeof(nb) - 1};
    host_api_put_u64(&o, v);
    CHECK(!o.overflow && o.len >= 1 && o.len <= 20);
    nb[o.len] = 0;
    CHECK(strtoull(nb, NULL, 10) == v && (nb[0] != '0' || o.len == 1));

    /* Error names within their buffer, lower case. */
    char en[16];
    size_t el = 1 + (size_t)(h >> 16) % sizeof(en);
    memset(en, 0x5a, sizeof(en));
    const char *name = host_api_err_name((vnat_err)(int32_t)(h >> 24), en, el);
    CHECK(name == en && memchr(en, 0, el) != NULL);
    for (const char *p = en; *p; p++)
        CHECK((*p >= 'a' && *p <= 'z') || *p == '_' || (*p >= '0' && *p <= '9'));

    /* Forwards drawn from the input; a list of them fits host_api_max_reply. */
    if (size < 22)
        return;
    enum { MAXF = 16 };
    struct vnat_forward f[MAXF];
    uint32_t nf = 0;
    for (size_t off = 0; off + 22 <= size && nf < MAXF; off += 22)
        check_forward(data + off, &f[nf++]);
    size_t cap = host_api_max_reply(nf);
    char *list = malloc(cap);
    CHECK(list != NULL);
    struct host_api_out l = {.buf = list, .cap = cap};
    host_api_put(&l, "{\"ok\":true,\"forwards\":[");
    for (uint32_t i = 0; i < nf; i++) {
        if (i)
            host_api_put(&l, ",");
        host_api_put_forward(&l, &f[i]);
    }
    host_api_put(&l, "]}\n");
    CHECK(!l.overflow);
    free(list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Bounded: a few passes over at most a few KiB. */
    if (size > 3 * HOST_API_MAX_LINE)
        return 0;
    const char *in = (const char *)data;
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a: splits and sizes from the input */
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 0x100000001b3u;
    h |= 1;

    check_parse(in, size, h);
    check_framer(in, size, 0, h, true);
    check_framer(in, size, 1, h, false);
    check_framer(in, size, 2, h, false);
    check_builder(data, size, h);
    return 0;
}
