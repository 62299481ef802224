/*
 * parse.c — the simulator's one text grammar (parse.h): words, key=value,
 * numbers with units, addresses, and errors that name the file and line.
 */
#include "parse.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct unit {
    const char *suffix;
    uint64_t mult;
    unsigned kinds; /* bit per enum sim_num_kind that takes it */
};

#define K_TIME (1u << SIM_NUM_TIME)
#define K_NUMBER (1u << SIM_NUM_NUMBER)
#define K_RATE (1u << SIM_NUM_RATE)
#define K_ALL (K_TIME | K_NUMBER | K_RATE)

static const struct unit units[] = {
    {"ns", 1, K_TIME},
    {"us", 1000, K_TIME},
    {"ms", 1000000, K_TIME},
    {"s", 1000000000, K_TIME},
    {"m", 60000000000ull, K_TIME},
    {"h", 3600000000000ull, K_TIME},
    {"KiB", 1024, K_NUMBER},
    {"MiB", 1048576, K_NUMBER},
    {"GiB", 1073741824, K_NUMBER},
    {"K", 1024, K_NUMBER},
    {"M", 1048576, K_NUMBER},
    {"G", 1073741824, K_NUMBER},
    {"%", 10000, K_RATE},
    {"ppm", 1, K_RATE},
    {"", 1, K_ALL},
};

static const char *const kind_error[] = {
    [SIM_NUM_TIME] = "bad duration (a number with ns, us, ms, s, m or h)",
    [SIM_NUM_NUMBER] = "bad number (a number, or with K, M or G)",
    [SIM_NUM_RATE] = "bad rate (a number with % or ppm)",
    [SIM_NUM_ANY] = "bad value",
};

bool sim_parse_fail(struct sim_parser *p, const char *what, const char *word)
{
    if (!p->bad) {
        const char *sep = word ? ": " : "", *w = word ? word : "";
        if (p->name)
            snprintf(p->err, p->err_len, "%s:%d: %s%s%s", p->name, p->line, what, sep, w);
        else
            snprintf(p->err, p->err_len, "%s%s%s", what, sep, w);
    }
    p->bad = true;
    return false;
}

int sim_parse_words(struct sim_parser *p, char *line, char **words, int max)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = 0;
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
        if (n == max) {
            sim_parse_fail(p, "too many words", NULL);
            return -1;
        }
        words[n++] = tok;
    }
    return n;
}

bool sim_parse_is_kv(const char *word)
{
    return strchr(word, '=') != NULL;
}

bool sim_parse_split(char *word, char **key, char **val)
{
    char *eq = strchr(word, '=');
    if (eq == NULL)
        return false;
    *eq = 0;
    *key = word;
    *val = eq + 1;
    return true;
}

bool sim_parse_kv(struct sim_parser *p, char *word, char **key, char **val)
{
    return sim_parse_split(word, key, val) || sim_parse_fail(p, "expected key=value", word);
}

bool sim_parse_value(const char *s, enum sim_num_kind kind, uint64_t *out)
{
    uint64_t ip = 0, frac = 0, scale = 1;
    const char *p = s;
    unsigned want = kind == SIM_NUM_ANY ? K_ALL : 1u << kind;
    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (ip > UINT64_MAX / 10 - 10)
            return false;
        ip = ip * 10 + (uint64_t)(*p - '0');
    }
    if (*p == '.') {
        p++;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (scale < 1000000000ull) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                scale *= 10;
            }
        }
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(p, units[i].suffix) == 0) {
            uint64_t m = units[i].mult;
            if (!(units[i].kinds & want) || (ip != 0 && m > UINT64_MAX / ip))
                return false;
            *out = ip * m + (frac * m) / scale;
            return true;
        }
    }
    return false;
}

bool sim_parse_num(struct sim_parser *p, const char *s, enum sim_num_kind kind, uint64_t min,
                   uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (!sim_parse_value(s, kind, &v))
        return sim_parse_fail(p, kind_error[kind], s);
    if (v < min || v > max) {
        char what[64];
        snprintf(what, sizeof what, "out of range %" PRIu64 "..%" PRIu64, min, max);
        return sim_parse_fail(p, what, s);
    }
    *out = v;
    return true;
}

bool sim_parse_time(struct sim_parser *p, const char *s, uint64_t *out)
{
    return sim_parse_num(p, s, SIM_NUM_TIME, 0, UINT64_MAX, out);
}

bool sim_parse_u64(struct sim_parser *p, const char *s, uint64_t *out)
{
    return sim_parse_num(p, s, SIM_NUM_NUMBER, 0, UINT64_MAX, out);
}

bool sim_parse_u32(struct sim_parser *p, const char *s, enum sim_num_kind kind, uint32_t *out)
{
    uint64_t v = 0;
    if (!sim_parse_num(p, s, kind, 0, UINT32_MAX, &v))
        return false;
    *out = (uint32_t)v;
    return true;
}

bool sim_parse_rate(struct sim_parser *p, const char *s, uint32_t *ppm)
{
    uint64_t v = 0;
    if (!sim_parse_value(s, SIM_NUM_RATE, &v))
        return sim_parse_fail(p, kind_error[SIM_NUM_RATE], s);
    if (v > 1000000)
        return sim_parse_fail(p, "a rate above 100%", s);
    *ppm = (uint32_t)v;
    return true;
}

int sim_parse_key(struct sim_parser *p, const struct sim_key *keys, size_t n, void *base,
                  const char *k, const char *v)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(k, keys[i].name) != 0)
            continue;
        uint8_t *slot = (uint8_t *)base + keys[i].offset;
        uint64_t x = 0;
        uint32_t x32 = 0;
        bool narrow = keys[i].size == sizeof x32, ok;
        if (keys[i].kind == SIM_NUM_RATE)
            ok = sim_parse_rate(p, v, &x32);
        else if (narrow)
            ok = sim_parse_u32(p, v, keys[i].kind, &x32);
        else
            ok = sim_parse_num(p, v, keys[i].kind, 0, UINT64_MAX, &x);
        if (!ok)
            return -1;
        if (narrow) {
            memcpy(slot, &x32, sizeof x32);
            return 1;
        }
        if (keys[i].kind == SIM_NUM_RATE)
            x = x32;
        memcpy(slot, &x, sizeof x);
        return 1;
    }
    return 0;
}

bool sim_parse_choice(struct sim_parser *p, const char *s, const char *const *names, int n,
                      const char *what, int *out)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return true;
        }
    return sim_parse_fail(p, what, s);
}

bool sim_parse_on_off(struct sim_parser *p, const char *s, bool *out)
{
    static const char *const words[] = {"off", "on"};
    int i = 0;
    if (!sim_parse_choice(p, s, words, 2, "expected on or off", &i))
        return false;
    *out = i == 1;
    return true;
}

uint64_t sim_parse_duration(const char *s, bool *ok)
{
    uint64_t v = 0;
    *ok = sim_parse_value(s, SIM_NUM_TIME, &v);
    return v;
}

/* One decimal field of 1 to 5 digits, at most max, ending at `stop` (0: the
 * end of the string). Advances *s past it and its terminator. */
static bool field(const char **s, unsigned max, char stop, unsigned *out)
{
    const char *p = *s;
    unsigned v = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 5) {
        v = v * 10 + (unsigned)(*p - '0');
        p++;
        digits++;
    }
    if (digits == 0 || v > max || *p != stop)
        return false;
    *s = stop ? p + 1 : p;
    *out = v;
    return true;
}

/* a.b.c.d ending at `stop`. */
static bool ip4_until(const char **s, char stop, uint8_t out[4])
{
    for (int i = 0; i < 4; i++) {
        unsigned v;
        char sep = stop;
        if (i < 3)
            sep = '.';
        if (!field(s, 255, sep, &v))
            return false;
        out[i] = (uint8_t)v;
    }
    return true;
}

bool sim_parse_ip4(const char *s, uint8_t out[4])
{
    return ip4_until(&s, 0, out);
}

bool sim_parse_addr(const char *s, enum sim_port_rule rule, struct vnat_sockaddr *a)
{
    uint8_t ip[4];
    unsigned port = 0;
    bool has_port = strchr(s, ':') != NULL;
    memset(a, 0, sizeof *a);
    if ((has_port && rule == SIM_PORT_NONE) || (!has_port && rule == SIM_PORT_REQUIRED))
        return false;
    if (!ip4_until(&s, has_port ? ':' : 0, ip) || (has_port && !field(&s, 65535, 0, &port)))
        return false;
    a->ip = vnat_ip4(ip[0], ip[1], ip[2], ip[3]);
    a->port = (uint16_t)port;
    return true;
}

bool sim_parse_sockaddr(struct sim_parser *p, const char *s, enum sim_port_rule rule,
                        struct vnat_sockaddr *a)
{
    static const char *const want[] = {
        [SIM_PORT_NONE] = "bad address (want a.b.c.d)",
        [SIM_PORT_REQUIRED] = "bad address (want a.b.c.d:port)",
        [SIM_PORT_OPTIONAL] = "bad address (want a.b.c.d or a.b.c.d:port)",
    };
    return sim_parse_addr(s, rule, a) || sim_parse_fail(p, want[rule], s);
}

bool sim_parse_cidr(struct sim_parser *p, const char *s, struct vnat_ip *net, uint8_t *prefix)
{
    const char *q = s;
    uint8_t ip[4];
    unsigned len = 32;
    bool slash = strchr(s, '/') != NULL;
    if (!ip4_until(&q, slash ? '/' : 0, ip) || (slash && !field(&q, 32, 0, &len)))
        return sim_parse_fail(p, "bad CIDR (want a.b.c.d/N)", s);
    *net = vnat_ip4(ip[0], ip[1], ip[2], ip[3]);
    *prefix = (uint8_t)len;
    return true;
}
