/*
 * scenario.c — the scenario text format (docs/scenarios.md).
 *
 * One directive per line, words separated by blanks, '#' starts a comment.
 * Values take units: durations ns/us/ms/s/m/h, sizes K/M/G (powers of
 * 1024), rates as percentages (kept as parts per million). A parse error
 * names the file and the line; nothing is guessed.
 */
#include "sim.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct unit {
    const char *suffix;
    uint64_t mult;
    uint64_t div;
};

static const struct unit units[] = {
    {"ns", 1, 1},
    {"us", 1000, 1},
    {"ms", 1000000, 1},
    {"s", 1000000000, 1},
    {"m", 60000000000ull, 1},
    {"h", 3600000000000ull, 1},
    {"KiB", 1024, 1},
    {"MiB", 1048576, 1},
    {"GiB", 1073741824, 1},
    {"K", 1024, 1},
    {"M", 1048576, 1},
    {"G", 1073741824, 1},
    {"%", 10000, 1},
    {"ppm", 1, 1},
    {"", 1, 1},
};

/* A decimal number with an optional unit; exact (no floating point). */
static bool parse_value(const char *s, uint64_t *out)
{
    uint64_t ip = 0, frac = 0, scale = 1;
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        return false;
    for (; isdigit((unsigned char)*p); p++) {
        if (ip > UINT64_MAX / 10 - 10)
            return false;
        ip = ip * 10 + (uint64_t)(*p - '0');
    }
    if (*p == '.') {
        p++;
        for (; isdigit((unsigned char)*p); p++) {
            if (scale < 1000000000ull) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                scale *= 10;
            }
        }
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(p, units[i].suffix) == 0) {
            uint64_t m = units[i].mult;
            if (ip != 0 && m > UINT64_MAX / ip)
                return false;
            *out = ip * m + (frac * m) / scale;
            return true;
        }
    }
    return false;
}

uint64_t sim_parse_duration(const char *s, bool *ok)
{
    uint64_t v = 0;
    *ok = parse_value(s, &v);
    return v;
}

/* One decimal field of at most `max`, ending at `stop` (or the string's
 * end when stop is 0). Advances *p past it and its terminator. */
static bool parse_field(const char **p, unsigned max, char stop, unsigned *out)
{
    const char *s = *p;
    unsigned v = 0;
    int digits = 0;
    while (isdigit((unsigned char)*s) && digits < 6) {
        v = v * 10 + (unsigned)(*s - '0');
        s++;
        digits++;
    }
    if (digits == 0 || v > max || *s != stop)
        return false;
    *p = stop ? s + 1 : s;
    *out = v;
    return true;
}

static bool parse_sockaddr(const char *s, struct vnat_sockaddr *a)
{
    unsigned b[4], port;
    memset(a, 0, sizeof *a);
    if (!parse_field(&s, 255, '.', &b[0]) || !parse_field(&s, 255, '.', &b[1]) ||
        !parse_field(&s, 255, '.', &b[2]) || !parse_field(&s, 255, ':', &b[3]) ||
        !parse_field(&s, 65535, 0, &port))
        return false;
    a->ip = vnat_ip4((uint8_t)b[0], (uint8_t)b[1], (uint8_t)b[2], (uint8_t)b[3]);
    a->port = (uint16_t)port;
    return true;
}

struct parser {
    const char *name;
    int line;
    char *err;
    size_t err_len;
    bool bad;
};

static bool perr(struct parser *p, const char *what, const char *word)
{
    if (!p->bad)
        snprintf(p->err, p->err_len, "%s:%d: %s%s%s", p->name, p->line, what, word ? ": " : "",
                 word ? word : "");
    p->bad = true;
    return false;
}

/* Split key=value; returns false if there is no '='. */
static bool kv(char *word, char **key, char **val)
{
    char *eq = strchr(word, '=');
    if (eq == NULL)
        return false;
    *eq = 0;
    *key = word;
    *val = eq + 1;
    return true;
}

static bool num(struct parser *p, const char *val, uint64_t *out)
{
    if (!parse_value(val, out))
        return perr(p, "bad value", val);
    return true;
}

static bool num32(struct parser *p, const char *val, uint32_t *out)
{
    uint64_t v;
    if (!num(p, val, &v))
        return false;
    if (v > UINT32_MAX)
        return perr(p, "value too large", val);
    *out = (uint32_t)v;
    return true;
}

static bool ppm(struct parser *p, const char *val, uint32_t *out)
{
    if (!num32(p, val, out))
        return false;
    if (*out > 1000000)
        return perr(p, "a rate above 100%", val);
    return true;
}

/* A core flag from on/off. */
static bool core_flag(struct parser *p, struct vnat_config *c, uint32_t flag, const char *v)
{
    if (strcmp(v, "on") == 0)
        c->flags |= flag;
    else if (strcmp(v, "off") == 0)
        c->flags &= ~flag;
    else
        return perr(p, "expected on or off", v);
    return true;
}

static bool dir_core(struct parser *p, struct sim_config *cfg, char **w, int n)
{
    struct vnat_config *c = &cfg->core;
    for (int i = 1; i < n; i++) {
        char *k, *v;
        if (!kv(w[i], &k, &v))
            return perr(p, "expected key=value", w[i]);
        bool ok;
        if (strcmp(k, "mtu") == 0)
            ok = num32(p, v, &c->mtu);
        else if (strcmp(k, "max_flows") == 0)
            ok = num32(p, v, &c->max_flows);
        else if (strcmp(k, "max_tcp_flows") == 0)
            ok = num32(p, v, &c->max_tcp_flows);
        else if (strcmp(k, "max_udp_flows") == 0)
            ok = num32(p, v, &c->max_udp_flows);
        else if (strcmp(k, "syn_rate") == 0)
            ok = num32(p, v, &c->syn_rate_per_sec);
        else if (strcmp(k, "connect_timeout") == 0)
            ok = num(p, v, &c->connect_timeout_ns);
        else if (strcmp(k, "idle_timeout") == 0)
            ok = num(p, v, &c->tcp_idle_timeout_ns);
        else if (strcmp(k, "closing_timeout") == 0)
            ok = num(p, v, &c->tcp_closing_timeout_ns);
        else if (strcmp(k, "udp_timeout") == 0)
            ok = num(p, v, &c->udp_timeout_ns);
        else if (strcmp(k, "seed") == 0)
            ok = num(p, v, &c->seed);
        else if (strcmp(k, "udp_stream_timeout") == 0)
            ok = num(p, v, &c->udp_stream_timeout_ns);
        else if (strcmp(k, "icmp_timeout") == 0)
            ok = num(p, v, &c->icmp_timeout_ns);
        else if (strcmp(k, "dhcp_lease") == 0)
            ok = num32(p, v, &c->dhcp_lease_s);
        else if (strcmp(k, "dns_cache") == 0)
            ok = core_flag(p, c, VNAT_F_DNS_CACHE, v);
        else if (strcmp(k, "dhcp") == 0)
            ok = core_flag(p, c, VNAT_F_DHCP, v);
        else if (strcmp(k, "gateway_loopback") == 0)
            ok = core_flag(p, c, VNAT_F_GATEWAY_IS_LOOPBACK, v);
        else if (strcmp(k, "dns_server") == 0) {
            if (c->n_dns_servers == VNAT_MAX_DNS_SERVERS)
                return perr(p, "too many dns_server settings", v);
            if (!parse_sockaddr(v, &c->dns_servers[c->n_dns_servers]))
                return perr(p, "bad address (want a.b.c.d:port)", v);
            c->n_dns_servers++;
            ok = true;
        } else
            return perr(p, "unknown core setting", k);
        if (!ok)
            return false;
    }
    return true;
}

static bool dir_link(struct parser *p, struct sim_config *cfg, char **w, int n)
{
    int i = 1;
    bool to_core = true, to_guest = true;
    if (n > 1 && strchr(w[1], '=') == NULL) {
        if (strcmp(w[1], "to_core") == 0)
            to_guest = false;
        else if (strcmp(w[1], "to_guest") == 0)
            to_core = false;
        else if (strcmp(w[1], "both") != 0)
            return perr(p, "expected to_core, to_guest or both", w[1]);
        i = 2;
    }
    struct sim_link_cfg l = to_core ? cfg->to_core : cfg->to_guest;
    for (; i < n; i++) {
        char *k, *v;
        if (!kv(w[i], &k, &v))
            return perr(p, "expected key=value", w[i]);
        bool ok;
        if (strcmp(k, "loss") == 0)
            ok = ppm(p, v, &l.loss_ppm);
        else if (strcmp(k, "dup") == 0)
            ok = ppm(p, v, &l.dup_ppm);
        else if (strcmp(k, "reorder") == 0)
            ok = ppm(p, v, &l.reorder_ppm);
        else if (strcmp(k, "corrupt") == 0)
            ok = ppm(p, v, &l.corrupt_ppm);
        else if (strcmp(k, "delay") == 0)
            ok = num(p, v, &l.delay);
        else if (strcmp(k, "jitter") == 0)
            ok = num(p, v, &l.jitter);
        else
            return perr(p, "unknown link setting", k);
        if (!ok)
            return false;
    }
    if (to_core)
        cfg->to_core = l;
    if (to_guest)
        cfg->to_guest = l;
    return true;
}

static bool dir_host(struct parser *p, struct sim_config *cfg, char **w, int n)
{
    for (int i = 1; i < n; i++) {
        char *k, *v;
        if (!kv(w[i], &k, &v))
            return perr(p, "expected key=value", w[i]);
        bool ok;
        if (strcmp(k, "max_sockets") == 0)
            ok = num32(p, v, &cfg->max_sockets);
        else if (strcmp(k, "partial") == 0)
            ok = ppm(p, v, &cfg->partial_ppm);
        else if (strcmp(k, "spurious") == 0)
            ok = ppm(p, v, &cfg->spurious_ppm);
        else
            return perr(p, "unknown host setting", k);
        if (!ok)
            return false;
    }
    if (cfg->max_sockets == 0)
        return perr(p, "max_sockets must be at least 1", NULL);
    return true;
}

static bool on_off(struct parser *p, const char *v, bool *out)
{
    if (strcmp(v, "on") == 0)
        *out = true;
    else if (strcmp(v, "off") == 0)
        *out = false;
    else
        return perr(p, "expected on or off", v);
    return true;
}

static bool dir_guest(struct parser *p, struct sim_config *cfg, char **w, int n)
{
    struct gtcp_cfg *g = &cfg->guest;
    for (int i = 1; i < n; i++) {
        char *k, *v;
        if (!kv(w[i], &k, &v))
            return perr(p, "expected key=value", w[i]);
        bool ok = true;
        uint32_t x = 0;
        if (strcmp(k, "wscale") == 0) {
            if (strcmp(v, "none") == 0) {
                g->wscale = -1;
            } else if ((ok = num32(p, v, &x))) {
                if (x > 14)
                    return perr(p, "wscale above 14", v);
                g->wscale = (int)x;
            }
        } else if (strcmp(k, "ts") == 0) {
            ok = on_off(p, v, &g->offer_ts);
        } else if (strcmp(k, "sack") == 0) {
            ok = on_off(p, v, &g->offer_sack);
        } else if (strcmp(k, "arp") == 0) {
            ok = on_off(p, v, &cfg->arp_probe);
        } else if (strcmp(k, "rcvbuf") == 0) {
            ok = num32(p, v, &g->rcvbuf);
        } else if (strcmp(k, "syn_retries") == 0 || strcmp(k, "data_retries") == 0) {
            if ((ok = num32(p, v, &x))) {
                if (x > 30)
                    return perr(p, "retries above 30", v);
                if (k[0] == 's')
                    g->syn_retries = (uint8_t)x;
                else
                    g->data_retries = (uint8_t)x;
            }
        } else {
            return perr(p, "unknown guest setting", k);
        }
        if (!ok)
            return false;
    }
    return true;
}

static bool dest_keys(struct parser *p, struct sim_dest *d, char **w, int n, int from)
{
    static const char *const connects[] = {"accept",     "refuse",   "hostunreach",
                                           "netunreach", "fail_now", "blackhole"};
    for (int i = from; i < n; i++) {
        bool matched = false;
        for (int c = 0; c < 6; c++)
            if (strcmp(w[i], connects[c]) == 0) {
                d->connect = (uint8_t)c;
                matched = true;
            }
        if (matched)
            continue;
        if (strcmp(w[i], "echo") == 0) {
            d->echo = true;
            continue;
        }
        if (strcmp(w[i], "udp_echo") == 0) {
            d->udp_echo = true;
            continue;
        }
        if (strcmp(w[i], "dns") == 0) {
            d->dns = true;
            continue;
        }
        char *k, *v;
        if (!kv(w[i], &k, &v))
            return perr(p, "unknown destination word", w[i]);
        bool ok;
        if (strcmp(k, "latency") == 0)
            ok = num(p, v, &d->latency);
        else if (strcmp(k, "owd") == 0)
            ok = num(p, v, &d->owd);
        else if (strcmp(k, "greeting") == 0 || strcmp(k, "source") == 0)
            ok = num(p, v, &d->greeting);
        else if (strcmp(k, "after_eof") == 0)
            ok = num(p, v, &d->after_eof);
        else if (strcmp(k, "reset_after") == 0)
            ok = num(p, v, &d->reset_after);
        else if (strcmp(k, "sndbuf") == 0)
            ok = num32(p, v, &d->sndbuf);
        else if (strcmp(k, "rcvbuf") == 0)
            ok = num32(p, v, &d->rcvbuf);
        else if (strcmp(k, "read_chunk") == 0)
            ok = num32(p, v, &d->read_chunk);
        else if (strcmp(k, "read_every") == 0)
            ok = num(p, v, &d->read_every);
        else if (strcmp(k, "ttl") == 0) {
            uint64_t t;
            ok = num(p, v, &t);
            if (ok && t / 1000000000u > UINT32_MAX)
                return perr(p, "ttl too large", v);
            d->dns_ttl = (uint32_t)(t / 1000000000u); /* seconds, as DNS carries it */
        } else if (strcmp(k, "answer") == 0) {
            struct vnat_sockaddr a;
            char with_port[32];
            snprintf(with_port, sizeof with_port, "%s:0", v);
            if (!parse_sockaddr(with_port, &a))
                return perr(p, "bad address (want a.b.c.d)", v);
            memcpy(d->dns_answer, a.ip.addr, 4);
            ok = true;
        } else if (strcmp(k, "rclose") == 0) {
            ok = true;
            if (strcmp(v, "eof") == 0)
                d->rclose = SR_EOF;
            else if (strcmp(v, "sent") == 0)
                d->rclose = SR_SENT;
            else if (strcmp(v, "never") == 0)
                d->rclose = SR_NEVER;
            else
                return perr(p, "rclose must be eof, sent or never", v);
        } else {
            return perr(p, "unknown destination setting", k);
        }
        if (!ok)
            return false;
    }
    if (d->echo && (d->greeting || d->after_eof))
        return perr(p, "an echo destination cannot also produce its own stream", NULL);
    if (d->sndbuf == 0 || d->rcvbuf == 0)
        return perr(p, "socket buffers must be at least 1 byte", NULL);
    return true;
}

static bool dir_dest(struct parser *p, struct sim_config *cfg, char **w, int n)
{
    if (n < 2)
        return perr(p, "dest needs an address", NULL);
    struct sim_dest *d;
    if (strcmp(w[1], "default") == 0) {
        d = &cfg->default_dest;
    } else {
        struct vnat_sockaddr a;
        if (!parse_sockaddr(w[1], &a))
            return perr(p, "bad address (want a.b.c.d:port)", w[1]);
        d = sim_config_add_dest(cfg);
        if (d == NULL)
            return perr(p, "out of memory", NULL);
        d->addr = a;
    }
    return dest_keys(p, d, w, n, 2);
}

static bool dir_flows(struct parser *p, struct sim_config *cfg, char **w, int n)
{
    if (n < 2 || strchr(w[1], '=') != NULL)
        return perr(p, "flows needs a group name first", NULL);
    if (strcmp(w[1], "all") == 0 || strcmp(w[1], "core") == 0 || strcmp(w[1], "host") == 0 ||
        strcmp(w[1], "guest") == 0 || strcmp(w[1], "link") == 0 || strcmp(w[1], "run") == 0)
        return perr(p, "reserved group name", w[1]);
    int g = sim_config_add_group(cfg, w[1]);
    if (g < 0)
        return perr(p, "out of memory", NULL);
    struct sim_flow_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.group = (uint32_t)g;
    spec.send = 8;
    uint32_t count = 1;
    uint64_t spacing = 0;
    bool have_to = false;
    for (int i = 2; i < n; i++) {
        char *k, *v;
        if (!kv(w[i], &k, &v))
            return perr(p, "expected key=value", w[i]);
        bool ok = true;
        if (strcmp(k, "count") == 0)
            ok = num32(p, v, &count);
        else if (strcmp(k, "to") == 0) {
            if (!parse_sockaddr(v, &spec.dst))
                return perr(p, "bad address (want a.b.c.d:port)", v);
            have_to = true;
        } else if (strcmp(k, "start") == 0)
            ok = num(p, v, &spec.start);
        else if (strcmp(k, "spacing") == 0)
            ok = num(p, v, &spacing);
        else if (strcmp(k, "send") == 0)
            ok = num(p, v, &spec.send);
        else if (strcmp(k, "rr") == 0)
            ok = num32(p, v, &spec.rr);
        else if (strcmp(k, "hold") == 0)
            ok = num(p, v, &spec.hold);
        else if (strcmp(k, "rcvbuf") == 0)
            ok = num32(p, v, &spec.rcvbuf);
        else if (strcmp(k, "read_chunk") == 0)
            ok = num32(p, v, &spec.read_chunk);
        else if (strcmp(k, "read_every") == 0)
            ok = num(p, v, &spec.read_every);
        else if (strcmp(k, "close") == 0) {
            if (strcmp(v, "sent") == 0)
                spec.close = SG_SENT;
            else if (strcmp(v, "eof") == 0)
                spec.close = SG_EOF;
            else if (strcmp(v, "never") == 0)
                spec.close = SG_NEVER;
            else if (strcmp(v, "abort") == 0)
                spec.close = SG_ABORT;
            else
                return perr(p, "close must be sent, eof, never or abort", v);
        } else {
            return perr(p, "unknown flows setting", k);
        }
        if (!ok)
            return false;
    }
    if (!have_to)
        return perr(p, "flows needs to=ADDR:PORT", NULL);
    if (spec.send < SIM_PATTERN_HDR)
        return perr(p, "send must be at least 8 bytes (the stream header)", NULL);
    if (count == 0 || count > 100000)
        return perr(p, "count must be 1..100000", NULL);
    for (uint32_t i = 0; i < count; i++) {
        struct sim_flow_spec *f = sim_config_add_flow(cfg);
        if (f == NULL)
            return perr(p, "out of memory", NULL);
        *f = spec;
        f->start = spec.start + (uint64_t)i * spacing;
    }
    return true;
}

static bool dir_expect(struct parser *p, struct sim_config *cfg, char **w, int n)
{
    static const char *const ops[] = {"==", "!=", "<", "<=", ">", ">="};
    if (n != 4)
        return perr(p, "expect METRIC OP VALUE", NULL);
    struct sim_expect *e = sim_config_add_expect(cfg);
    if (e == NULL)
        return perr(p, "out of memory", NULL);
    if (strlen(w[1]) >= sizeof e->metric)
        return perr(p, "metric name too long", w[1]);
    snprintf(e->metric, sizeof e->metric, "%s", w[1]);
    int op = -1;
    for (int i = 0; i < 6; i++)
        if (strcmp(w[2], ops[i]) == 0)
            op = i;
    if (op < 0)
        return perr(p, "operator must be == != < <= > >=", w[2]);
    e->op = (uint8_t)op;
    e->line = p->line;
    return num(p, w[3], &e->value);
}

static bool directive(struct parser *p, struct sim_config *cfg, char **w, int n)
{
    const char *d = w[0];
    uint64_t v;
    if (strcmp(d, "scenario") == 0) {
        if (n != 2)
            return perr(p, "scenario NAME", NULL);
        snprintf(cfg->name, sizeof cfg->name, "%s", w[1]);
        return true;
    }
    if (strcmp(d, "description") == 0)
        return true;
    if (strcmp(d, "seed") == 0) {
        if (n != 2 || !num(p, w[1], &cfg->seed))
            return perr(p, "seed N", NULL);
        cfg->core.seed = cfg->seed;
        return true;
    }
    if (strcmp(d, "duration") == 0) {
        if (n != 2 || !num(p, w[1], &cfg->duration))
            return perr(p, "duration TIME", NULL);
        return true;
    }
    if (strcmp(d, "start_time") == 0) {
        if (n != 2 || !num(p, w[1], &cfg->start_time))
            return perr(p, "start_time TIME", NULL);
        return true;
    }
    if (strcmp(d, "allow_time_limit") == 0) {
        cfg->allow_time_limit = true;
        return true;
    }
    if (strcmp(d, "swarm_outcomes") == 0) {
        cfg->check_outcomes = true;
        return true;
    }
    if (strcmp(d, "link_queue") == 0) {
        if (n != 2 || !num(p, w[1], &v) || v == 0 || v > 1000000)
            return perr(p, "link_queue N (1..1000000)", NULL);
        cfg->link_queue = (uint32_t)v;
        return true;
    }
    if (strcmp(d, "core") == 0)
        return dir_core(p, cfg, w, n);
    if (strcmp(d, "link") == 0)
        return dir_link(p, cfg, w, n);
    if (strcmp(d, "host") == 0)
        return dir_host(p, cfg, w, n);
    if (strcmp(d, "guest") == 0)
        return dir_guest(p, cfg, w, n);
    if (strcmp(d, "dest") == 0)
        return dir_dest(p, cfg, w, n);
    if (strcmp(d, "flows") == 0)
        return dir_flows(p, cfg, w, n);
    if (strcmp(d, "expect") == 0)
        return dir_expect(p, cfg, w, n);
    char why[160];
    if (strcmp(d, "forward") == 0 || strcmp(d, "inbound") == 0 || strcmp(d, "guest_serve") == 0)
        return sim_inbound_directive(cfg, w, n, why, sizeof why) == 0 ? true : perr(p, why, NULL);
    int r = gsvc_directive(cfg, w, n, why, sizeof why);
    if (r < 0)
        return perr(p, why, NULL);
    if (r > 0)
        return true;
    return perr(p, "unknown directive", d);
}

int sim_scenario_parse(const char *text, const char *name, struct sim_config *cfg, char *err,
                       size_t err_len)
{
    struct parser p = {name, 0, err, err_len, false};
    const char *s = text;
    char line[4096];
    while (*s && !p.bad) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        p.line++;
        if (len >= sizeof line) {
            perr(&p, "line too long", NULL);
            break;
        }
        memcpy(line, s, len);
        line[len] = 0;
        s += len + (nl ? 1 : 0);
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *words[64];
        int n = 0;
        for (char *tok = strtok(line, " \t\r"); tok; tok = strtok(NULL, " \t\r")) {
            if (n == 64) {
                perr(&p, "too many words", NULL);
                break;
            }
            words[n++] = tok;
        }
        if (n > 0 && !p.bad)
            directive(&p, cfg, words, n);
    }
    if (!p.bad && cfg->n_flows == 0 && !gsvc_configured(cfg) && sim_inbound_clients(cfg) == 0)
        perr(&p, "a scenario needs at least one flows line (or a guest service)", NULL);
    return p.bad ? -1 : 0;
}

int sim_scenario_load(const char *path, struct sim_config *cfg, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, err_len, "%s: cannot open", path);
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (buf == NULL)
            break;
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
        if (len + 1 == cap) {
            char *nb = cap < (1u << 24) ? realloc(buf, cap * 2) : NULL;
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf == NULL) {
        snprintf(err, err_len, "%s: too large or out of memory", path);
        return -1;
    }
    buf[len] = 0;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(cfg->name, sizeof cfg->name, "%.*s", (int)strcspn(base, "."), base);
    int rc = sim_scenario_parse(buf, path, cfg, err, err_len);
    free(buf);
    return rc;
}
