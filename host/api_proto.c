/*
 * api_proto.c — the protocol of `--api-socket`, kept free of system calls
 * so that pins/host_api_pins.c can drive it byte by byte. A client sends one
 * JSON object per line and gets one JSON object back per line. The parser
 * is deliberately narrow: a request is a flat object whose values are
 * strings or integers, keys are known and appear once, and anything else is
 * refused with the first problem found (reading left to right), so a
 * client's typo never becomes a forward it did not ask for. The line framer
 * bounds a request at HOST_API_MAX_LINE bytes; the reply builder never
 * writes past its buffer. See docs/adapter.md, "Run-time forwards".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "adapter.h"

/* ------------------------------------------------------------------------ */
/* Line framing                                                              */
/* ------------------------------------------------------------------------ */

size_t host_api_rx_take(struct host_api_rx *rx, const char *in, size_t n,
                        enum host_api_rx_event *ev)
{
    *ev = HOST_API_RX_NONE;
    if (rx->have_line) {
        rx->have_line = false;
        rx->len = 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '\n') {
            if (rx->discarding) {
                /* The end of an oversize line: already answered. */
                rx->discarding = false;
                rx->len = 0;
                continue;
            }
            rx->line[rx->len] = 0;
            rx->have_line = true; /* the caller reads it before the next call */
            *ev = HOST_API_RX_LINE;
            return i + 1;
        }
        if (rx->discarding)
            continue;
        if (rx->len == HOST_API_MAX_LINE) {
            rx->discarding = true;
            rx->len = 0;
            *ev = HOST_API_RX_TOO_LONG;
            return i + 1;
        }
        rx->line[rx->len++] = c;
    }
    return n;
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                   */
/* ------------------------------------------------------------------------ */

struct cur {
    const char *p;
    const char *end;
    char *why;
    size_t why_len;
};

__attribute__((format(printf, 3, 4))) static enum host_api_status
fail(struct cur *c, enum host_api_status st, const char *fmt, ...)
{
    if (c->why == NULL || c->why_len == 0)
        return st;
    va_list ap;
    va_start(ap, fmt);
    /* clang-tidy 14's analyzer reports `ap` uninitialized here, in this file
     * only (sim_fail in sim/world.c has the same shape and passes); a false
     * positive, va_start is the line above. */
    vsnprintf(c->why, c->why_len, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    return st;
}

static void skip_ws(struct cur *c)
{
    /* \r too, so a client that ends lines with CRLF is understood. */
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r'))
        c->p++;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

enum str_result { STR_OK = 0, STR_SYNTAX, STR_LONG };

/* A JSON string at c->p (which is '"'). Every escape of RFC 8259 is
 * accepted; a \u escape outside ASCII decodes to 0x7f, which no valid
 * value contains, so it is refused by the field check rather than the
 * syntax. Raw bytes of 0x80 and above are refused: requests are ASCII. */
static enum str_result parse_string(struct cur *c, char *out, size_t cap)
{
    size_t n = 0;
    bool long_ = false;
    c->p++;
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p++;
        if (ch == '"') {
            out[n < cap ? n : cap - 1] = 0;
            return long_ ? STR_LONG : STR_OK;
        }
        if (ch < 0x20 || ch >= 0x80)
            return STR_SYNTAX;
        if (ch == '\\') {
            if (c->p >= c->end)
                return STR_SYNTAX;
            char e = *c->p++;
            switch (e) {
            case '"':
            case '\\':
            case '/':
                ch = (unsigned char)e;
                break;
            case 'b':
                ch = '\b';
                break;
            case 'f':
                ch = '\f';
                break;
            case 'n':
                ch = '\n';
                break;
            case 'r':
                ch = '\r';
                break;
            case 't':
                ch = '\t';
                break;
            case 'u': {
                if (c->end - c->p < 4)
                    return STR_SYNTAX;
                unsigned v = 0;
                for (int i = 0; i < 4; i++) {
                    int h = hexval(c->p[i]);
                    if (h < 0)
                        return STR_SYNTAX;
                    v = v * 16 + (unsigned)h;
                }
                c->p += 4;
                ch = v < 0x80 && v != 0 ? (unsigned char)v : 0x7f;
                break;
            }
            default:
                return STR_SYNTAX;
            }
        }
        if (n + 1 < cap)
            out[n++] = (char)ch;
        else
            long_ = true;
    }
    return STR_SYNTAX; /* no closing quote: a truncated request */
}

enum num_result { NUM_INT = 0, NUM_SYNTAX, NUM_NOT_INT };

static bool at_digit(const struct cur *c)
{
    return c->p < c->end && *c->p >= '0' && *c->p <= '9';
}

/* One or more digits (a fraction's or an exponent's); false if none. */
static bool skip_digits(struct cur *c)
{
    if (!at_digit(c))
        return false;
    while (at_digit(c))
        c->p++;
    return true;
}

/* A JSON number (RFC 8259 grammar). Integers saturate at 999999, which is
 * out of every range the protocol has. */
static enum num_result parse_number(struct cur *c, long *val)
{
    bool neg = false;
    if (c->p < c->end && *c->p == '-') {
        neg = true;
        c->p++;
    }
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return NUM_SYNTAX;
    long v = 0;
    if (*c->p == '0') {
        c->p++;
        if (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            return NUM_SYNTAX; /* leading zero */
    } else {
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            v = v * 10 + (*c->p - '0');
            if (v > 999999)
                v = 999999;
            c->p++;
        }
    }
    bool frac = false;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (!skip_digits(c))
            return NUM_SYNTAX;
        frac = true;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (!skip_digits(c))
            return NUM_SYNTAX;
        frac = true;
    }
    *val = neg ? -v : v;
    return frac ? NUM_NOT_INT : NUM_INT;
}

enum field { F_CMD = 0, F_PROTO, F_HOST_ADDR, F_HOST_PORT, F_GUEST_PORT, F__COUNT };
static const char *const field_names[F__COUNT] = {"cmd", "proto", "host_addr", "host_port",
                                                  "guest_port"};
static const bool field_is_string[F__COUNT] = {true, true, true, false, false};

static enum host_api_status set_string(struct cur *c, struct host_api_req *r, enum field f,
                                       const char *v)
{
    switch (f) {
    case F_CMD:
        if (!strcmp(v, "add"))
            r->cmd = HOST_API_ADD;
        else if (!strcmp(v, "remove"))
            r->cmd = HOST_API_REMOVE;
        else if (!strcmp(v, "list"))
            r->cmd = HOST_API_LIST;
        else if (!strcmp(v, "stats"))
            r->cmd = HOST_API_STATS;
        else
            return fail(c, HOST_API_E_COMMAND, "unknown command \"%.32s\"", v);
        return HOST_API_OK;
    case F_PROTO:
        if (!strcmp(v, "tcp"))
            r->fwd.proto = VNAT_PROTO_TCP;
        else if (!strcmp(v, "udp"))
            r->fwd.proto = VNAT_PROTO_UDP;
        else
            return fail(c, HOST_API_E_FIELD, "\"proto\" is \"tcp\" or \"udp\", not \"%.32s\"", v);
        return HOST_API_OK;
    case F_HOST_ADDR: {
        struct vnat_ip *ip = &r->fwd.host.ip;
        memset(ip, 0, sizeof(*ip));
        if (inet_pton(AF_INET, v, ip->addr) == 1)
            ip->family = VNAT_AF_INET;
        else if (inet_pton(AF_INET6, v, ip->addr) == 1)
            ip->family = VNAT_AF_INET6;
        else
            return fail(c, HOST_API_E_FIELD, "\"host_addr\" \"%.48s\" is not an IP address", v);
        return HOST_API_OK;
    }
    default:
        return fail(c, HOST_API_E_FIELD, "internal: bad string field");
    }
}

static enum host_api_status set_port(struct cur *c, struct host_api_req *r, enum field f, long v)
{
    if (v < 1 || v > 65535)
        return fail(c, HOST_API_E_FIELD, "\"%s\" is out of range (1..65535)", field_names[f]);
    if (f == F_HOST_PORT)
        r->fwd.host.port = (uint16_t)v;
    else {
        r->fwd.guest_port = (uint16_t)v;
        r->guest_port_given = true;
    }
    return HOST_API_OK;
}

/* One "key": value member. */
static enum host_api_status parse_member(struct cur *c, struct host_api_req *r, unsigned *seen)
{
    char key[HOST_API_MAX_STRING + 1];
    if (c->p >= c->end || *c->p != '"')
        return fail(c, HOST_API_E_SYNTAX, "expected a \"key\"");
    enum str_result sr = parse_string(c, key, sizeof(key));
    if (sr == STR_SYNTAX)
        return fail(c, HOST_API_E_SYNTAX, "bad string");
    int f = -1;
    for (int i = 0; sr == STR_OK && i < F__COUNT; i++)
        if (!strcmp(key, field_names[i]))
            f = i;
    if (f < 0)
        return fail(c, HOST_API_E_FIELD, "unknown field \"%.32s\"", key);
    if (*seen & (1u << f))
        return fail(c, HOST_API_E_FIELD, "field \"%s\" given twice", field_names[f]);
    *seen |= 1u << f;
    skip_ws(c);
    if (c->p >= c->end || *c->p != ':')
        return fail(c, HOST_API_E_SYNTAX, "expected ':' after \"%s\"", field_names[f]);
    c->p++;
    skip_ws(c);
    if (c->p >= c->end)
        return fail(c, HOST_API_E_SYNTAX, "no value for \"%s\"", field_names[f]);
    char ch = *c->p;
    if (ch == '"') {
        if (!field_is_string[f])
            return fail(c, HOST_API_E_FIELD, "\"%s\" must be an integer", field_names[f]);
        char val[HOST_API_MAX_STRING + 1];
        sr = parse_string(c, val, sizeof(val));
        if (sr == STR_SYNTAX)
            return fail(c, HOST_API_E_SYNTAX, "bad string for \"%s\"", field_names[f]);
        if (sr == STR_LONG)
            return fail(c, HOST_API_E_FIELD, "\"%s\" is too long", field_names[f]);
        return set_string(c, r, (enum field)f, val);
    }
    if (ch == '-' || (ch >= '0' && ch <= '9')) {
        if (field_is_string[f])
            return fail(c, HOST_API_E_FIELD, "\"%s\" must be a string", field_names[f]);
        long v = 0;
        enum num_result nr = parse_number(c, &v);
        if (nr == NUM_SYNTAX)
            return fail(c, HOST_API_E_SYNTAX, "bad number for \"%s\"", field_names[f]);
        if (nr == NUM_NOT_INT)
            return fail(c, HOST_API_E_FIELD, "\"%s\" must be an integer", field_names[f]);
        return set_port(c, r, (enum field)f, v);
    }
    if (ch == '{' || ch == '[' || ch == 't' || ch == 'f' || ch == 'n')
        return fail(c, HOST_API_E_FIELD, "\"%s\" must be %s", field_names[f],
                    field_is_string[f] ? "a string" : "an integer");
    return fail(c, HOST_API_E_SYNTAX, "bad value for \"%s\"", field_names[f]);
}

enum host_api_status host_api_parse(const char *line, size_t len, struct host_api_req *req,
                                    char *why, size_t why_len)
{
    struct cur c = {.p = line, .end = line + len, .why = why, .why_len = why_len};
    memset(req, 0, sizeof(*req));
    if (why && why_len)
        why[0] = 0;
    if (len > HOST_API_MAX_LINE)
        return fail(&c, HOST_API_E_TOO_LONG, "request longer than %d bytes", HOST_API_MAX_LINE);
    if (memchr(line, 0, len))
        return fail(&c, HOST_API_E_SYNTAX, "NUL byte in the request");
    /* Address default; a given host_addr overwrites it. */
    req->fwd.host.ip.family = VNAT_AF_INET;
    req->fwd.host.ip.addr[0] = 127;
    req->fwd.host.ip.addr[3] = 1;
    unsigned seen = 0;
    skip_ws(&c);
    if (c.p >= c.end || *c.p != '{')
        return fail(&c, HOST_API_E_SYNTAX, "a request is one JSON object {...}");
    c.p++;
    skip_ws(&c);
    if (c.p < c.end && *c.p == '}') {
        c.p++;
    } else {
        /* Bounded: each member consumes at least its key's two quotes. */
        for (;;) {
            enum host_api_status st = parse_member(&c, req, &seen);
            if (st != HOST_API_OK)
                return st;
            skip_ws(&c);
            if (c.p < c.end && *c.p == ',') {
                c.p++;
                skip_ws(&c);
                continue;
            }
            if (c.p < c.end && *c.p == '}') {
                c.p++;
                break;
            }
            return fail(&c, HOST_API_E_SYNTAX, "expected ',' or '}'");
        }
    }
    skip_ws(&c);
    if (c.p != c.end)
        return fail(&c, HOST_API_E_SYNTAX, "text after the object");
    if (!(seen & (1u << F_CMD)))
        return fail(&c, HOST_API_E_COMMAND, "no \"cmd\"");
    const unsigned fwd_fields =
        (1u << F_PROTO) | (1u << F_HOST_ADDR) | (1u << F_HOST_PORT) | (1u << F_GUEST_PORT);
    switch (req->cmd) {
    case HOST_API_LIST:
    case HOST_API_STATS:
        if (seen & fwd_fields)
            return fail(&c, HOST_API_E_FIELD, "\"%s\" takes no field but \"cmd\"",
                        req->cmd == HOST_API_LIST ? "list" : "stats");
        return HOST_API_OK;
    case HOST_API_ADD:
        if (!(seen & (1u << F_GUEST_PORT)))
            return fail(&c, HOST_API_E_FIELD, "\"add\" needs \"guest_port\"");
        /* fall through */
    case HOST_API_REMOVE:
        if (!(seen & (1u << F_PROTO)))
            return fail(&c, HOST_API_E_FIELD, "\"%s\" needs \"proto\"",
                        req->cmd == HOST_API_ADD ? "add" : "remove");
        if (!(seen & (1u << F_HOST_PORT)))
            return fail(&c, HOST_API_E_FIELD, "\"%s\" needs \"host_port\"",
                        req->cmd == HOST_API_ADD ? "add" : "remove");
        return HOST_API_OK;
    }
    return fail(&c, HOST_API_E_COMMAND, "no \"cmd\"");
}

const char *host_api_status_name(enum host_api_status st)
{
    switch (st) {
    case HOST_API_OK:
        return "ok";
    case HOST_API_E_SYNTAX:
        return "syntax";
    case HOST_API_E_TOO_LONG:
        return "too_long";
    case HOST_API_E_COMMAND:
        return "command";
    case HOST_API_E_FIELD:
        return "field";
    case HOST_API_E_BUSY:
        return "busy";
    }
    return "unknown";
}

/* ------------------------------------------------------------------------ */
/* Replies                                                                   */
/* ------------------------------------------------------------------------ */

static void put_mem(struct host_api_out *o, const char *s, size_t n)
{
    if (o->overflow || o->cap - o->len < n) {
        o->overflow = true;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

void host_api_put(struct host_api_out *o, const char *raw)
{
    put_mem(o, raw, strlen(raw));
}

void host_api_put_str(struct host_api_out *o, const char *s)
{
    put_mem(o, "\"", 1);
    /* Bounded by the string; messages are at most HOST_API_MAX_WHY. */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            put_mem(o, esc, 2);
        } else if (*p < 0x20 || *p >= 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", *p);
            put_mem(o, esc, 6);
        } else {
            put_mem(o, (const char *)p, 1);
        }
    }
    put_mem(o, "\"", 1);
}

void host_api_put_u64(struct host_api_out *o, uint64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
    put_mem(o, b, (size_t)n);
}

void host_api_reply_error(struct host_api_out *o, const char *name, const char *msg)
{
    host_api_put(o, "{\"ok\":false,\"error\":");
    host_api_put_str(o, name);
    host_api_put(o, ",\"message\":");
    host_api_put_str(o, msg);
    host_api_put(o, "}\n");
}

void host_api_put_forward(struct host_api_out *o, const struct vnat_forward *f)
{
    char addr[INET6_ADDRSTRLEN];
    if (!inet_ntop(f->host.ip.family == VNAT_AF_INET6 ? AF_INET6 : AF_INET, f->host.ip.addr, addr,
                   sizeof(addr)))
        snprintf(addr, sizeof(addr), "?");
    host_api_put(o, "{\"proto\":");
    host_api_put_str(o, f->proto == VNAT_PROTO_TCP ? "tcp" : "udp");
    host_api_put(o, ",\"host_addr\":");
    host_api_put_str(o, addr);
    host_api_put(o, ",\"host_port\":");
    host_api_put_u64(o, f->host.port);
    host_api_put(o, ",\"guest_port\":");
    host_api_put_u64(o, f->guest_port);
    host_api_put(o, "}");
}

const char *host_api_err_name(vnat_err e, char *buf, size_t len)
{
    static const struct {
        int value;
        const char *name;
    } names[] = {
#define VNAT_X_NAME(name, value, text) {value, #name},
        VNAT_ERRORS(VNAT_X_NAME)
#undef VNAT_X_NAME
    };
    const char *n = NULL;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].value == (int)e)
            n = names[i].name;
    if (!n || !len) {
        snprintf(buf, len, "unknown");
        return buf;
    }
    /* "VNAT_E_EXISTS" -> "exists", "VNAT_OK" -> "ok". */
    const char *s = !strncmp(n, "VNAT_E_", 7) ? n + 7 : n + 5;
    size_t i = 0;
    for (; s[i] && i + 1 < len; i++)
        buf[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
    buf[i] = 0;
    return buf;
}

size_t host_api_max_reply(uint32_t cap)
{
    /* A forward is at most ~110 bytes (an IPv6 address); an error reply
     * with a fully escaped message at most 6 * HOST_API_MAX_WHY + 64. */
    return 6u * HOST_API_MAX_WHY + 256u + 128u * (size_t)cap;
}
