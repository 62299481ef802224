/*
 * scenario.c — the scenario text format (docs/scenarios.md).
 *
 * One directive per line. Words, key=value, values with their units,
 * addresses and the errors (which name the file and the line) are parse.c's
 * one grammar, shared with gsvc.c and inbound.c; nothing is guessed.
 */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

/* A core flag from on/off. */
static bool core_flag(struct sim_parser *p, struct vnat_config *c, uint32_t flag, const char *v)
{
    bool on;
    if (!sim_parse_on_off(p, v, &on))
        return false;
    if (on)
        c->flags |= flag;
    else
        c->flags &= ~flag;
    return true;
}

/* One hexadecimal digit's value, or -1. */
static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* XX:XX:XX:XX:XX:XX (hexadecimal, either case) into mac: 0, or -1. */
static int mac_from_text(const char *s, uint8_t mac[6])
{
    if (strlen(s) != 17)
        return -1;
    for (int i = 0; i < 6; i++) {
        int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
            return -1;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static bool parse_mac(struct sim_parser *p, const char *v, uint8_t mac[6])
{
    if (mac_from_text(v, mac) < 0)
        return sim_parse_fail(p, "expected a MAC XX:XX:XX:XX:XX:XX", v);
    return true;
}

/* The keys whose value is one number into one field, by directive. */
static const struct sim_key core_keys[] = {
    SIM_KEY("mtu", SIM_NUM_NUMBER, struct vnat_config, mtu),
    SIM_KEY("max_flows", SIM_NUM_NUMBER, struct vnat_config, max_flows),
    SIM_KEY("max_tcp_flows", SIM_NUM_NUMBER, struct vnat_config, max_tcp_flows),
    SIM_KEY("max_udp_flows", SIM_NUM_NUMBER, struct vnat_config, max_udp_flows),
    SIM_KEY("max_icmp_flows", SIM_NUM_NUMBER, struct vnat_config, max_icmp_flows),
    SIM_KEY("syn_rate", SIM_NUM_NUMBER, struct vnat_config, syn_rate_per_sec),
    SIM_KEY("connect_timeout", SIM_NUM_TIME, struct vnat_config, connect_timeout_ns),
    SIM_KEY("idle_timeout", SIM_NUM_TIME, struct vnat_config, tcp_idle_timeout_ns),
    SIM_KEY("closing_timeout", SIM_NUM_TIME, struct vnat_config, tcp_closing_timeout_ns),
    SIM_KEY("udp_timeout", SIM_NUM_TIME, struct vnat_config, udp_timeout_ns),
    SIM_KEY("seed", SIM_NUM_NUMBER, struct vnat_config, seed),
    SIM_KEY("udp_stream_timeout", SIM_NUM_TIME, struct vnat_config, udp_stream_timeout_ns),
    SIM_KEY("icmp_timeout", SIM_NUM_TIME, struct vnat_config, icmp_timeout_ns),
    SIM_KEY("dhcp_lease", SIM_NUM_NUMBER, struct vnat_config, dhcp_lease_s),
};

static const struct sim_key link_keys[] = {
    SIM_KEY("loss", SIM_NUM_RATE, struct sim_link_cfg, loss_ppm),
    SIM_KEY("dup", SIM_NUM_RATE, struct sim_link_cfg, dup_ppm),
    SIM_KEY("reorder", SIM_NUM_RATE, struct sim_link_cfg, reorder_ppm),
    SIM_KEY("corrupt", SIM_NUM_RATE, struct sim_link_cfg, corrupt_ppm),
    SIM_KEY("delay", SIM_NUM_TIME, struct sim_link_cfg, delay),
    SIM_KEY("jitter", SIM_NUM_TIME, struct sim_link_cfg, jitter),
};

static const struct sim_key host_keys[] = {
    SIM_KEY("max_sockets", SIM_NUM_NUMBER, struct sim_config, max_sockets),
    SIM_KEY("partial", SIM_NUM_RATE, struct sim_config, partial_ppm),
    SIM_KEY("spurious", SIM_NUM_RATE, struct sim_config, spurious_ppm),
};

static const struct sim_key dest_num_keys[] = {
    SIM_KEY("latency", SIM_NUM_TIME, struct sim_dest, latency),
    SIM_KEY("owd", SIM_NUM_TIME, struct sim_dest, owd),
    SIM_KEY("greeting", SIM_NUM_NUMBER, struct sim_dest, greeting),
    SIM_KEY("source", SIM_NUM_NUMBER, struct sim_dest, greeting),
    SIM_KEY("after_eof", SIM_NUM_NUMBER, struct sim_dest, after_eof),
    SIM_KEY("reset_after", SIM_NUM_NUMBER, struct sim_dest, reset_after),
    SIM_KEY("sndbuf", SIM_NUM_NUMBER, struct sim_dest, sndbuf),
    SIM_KEY("rcvbuf", SIM_NUM_NUMBER, struct sim_dest, rcvbuf),
    SIM_KEY("read_chunk", SIM_NUM_NUMBER, struct sim_dest, read_chunk),
    SIM_KEY("read_every", SIM_NUM_TIME, struct sim_dest, read_every),
};

static const struct sim_key flow_keys[] = {
    SIM_KEY("start", SIM_NUM_TIME, struct sim_flow_spec, start),
    SIM_KEY("send", SIM_NUM_NUMBER, struct sim_flow_spec, send),
    SIM_KEY("rr", SIM_NUM_NUMBER, struct sim_flow_spec, rr),
    SIM_KEY("hold", SIM_NUM_TIME, struct sim_flow_spec, hold),
    SIM_KEY("rcvbuf", SIM_NUM_NUMBER, struct sim_flow_spec, rcvbuf),
    SIM_KEY("read_chunk", SIM_NUM_NUMBER, struct sim_flow_spec, read_chunk),
    SIM_KEY("read_every", SIM_NUM_TIME, struct sim_flow_spec, read_every),
};

#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))

static bool dir_core(struct sim_parser *p, struct sim_config *cfg, char **w, int n)
{
    struct vnat_config *c = &cfg->core;
    for (int i = 1; i < n; i++) {
        char *k, *v;
        if (!sim_parse_kv(p, w[i], &k, &v))
            return false;
        int r = sim_parse_key(p, core_keys, NKEYS(core_keys), c, k, v);
        if (r != 0) {
            if (r < 0)
                return false;
            continue;
        }
        bool ok;
        if (strcmp(k, "dns_cache") == 0)
            ok = core_flag(p, c, VNAT_F_DNS_CACHE, v);
        else if (strcmp(k, "dhcp") == 0)
            ok = core_flag(p, c, VNAT_F_DHCP, v);
        else if (strcmp(k, "guest_mac") == 0) {
            ok = parse_mac(p, v, c->guest_mac);
            c->flags |= VNAT_F_GUEST_MAC_FIXED;
        } else if (strcmp(k, "gateway_loopback") == 0)
            ok = core_flag(p, c, VNAT_F_GATEWAY_IS_LOOPBACK, v);
        else if (strcmp(k, "dns_server") == 0) {
            if (c->n_dns_servers == VNAT_MAX_DNS_SERVERS)
                return sim_parse_fail(p, "too many dns_server settings", v);
            if (!sim_parse_sockaddr(p, v, SIM_PORT_REQUIRED, &c->dns_servers[c->n_dns_servers]))
                return false;
            c->n_dns_servers++;
            ok = true;
        } else
            return sim_parse_fail(p, "unknown core setting", k);
        if (!ok)
            return false;
    }
    return true;
}

static bool dir_link(struct sim_parser *p, struct sim_config *cfg, char **w, int n)
{
    int i = 1;
    bool to_core = true, to_guest = true;
    if (n > 1 && !sim_parse_is_kv(w[1])) {
        if (strcmp(w[1], "to_core") == 0)
            to_guest = false;
        else if (strcmp(w[1], "to_guest") == 0)
            to_core = false;
        else if (strcmp(w[1], "both") != 0)
            return sim_parse_fail(p, "expected to_core, to_guest or both", w[1]);
        i = 2;
    }
    struct sim_link_cfg l = to_core ? cfg->to_core : cfg->to_guest;
    for (; i < n; i++) {
        char *k, *v;
        if (!sim_parse_kv(p, w[i], &k, &v))
            return false;
        int r = sim_parse_key(p, link_keys, NKEYS(link_keys), &l, k, v);
        if (r == 0)
            return sim_parse_fail(p, "unknown link setting", k);
        if (r < 0)
            return false;
    }
    if (to_core)
        cfg->to_core = l;
    if (to_guest)
        cfg->to_guest = l;
    return true;
}

static bool dir_host(struct sim_parser *p, struct sim_config *cfg, char **w, int n)
{
    for (int i = 1; i < n; i++) {
        char *k, *v;
        if (!sim_parse_kv(p, w[i], &k, &v))
            return false;
        int r = sim_parse_key(p, host_keys, NKEYS(host_keys), cfg, k, v);
        if (r == 0)
            return sim_parse_fail(p, "unknown host setting", k);
        if (r < 0)
            return false;
    }
    if (cfg->max_sockets == 0)
        return sim_parse_fail(p, "max_sockets must be at least 1", NULL);
    return true;
}

static bool dir_guest(struct sim_parser *p, struct sim_config *cfg, char **w, int n)
{
    struct gtcp_cfg *g = &cfg->guest;
    for (int i = 1; i < n; i++) {
        char *k, *v;
        if (!sim_parse_kv(p, w[i], &k, &v))
            return false;
        bool ok = true;
        uint32_t x = 0;
        if (strcmp(k, "wscale") == 0) {
            if (strcmp(v, "none") == 0) {
                g->wscale = -1;
            } else if ((ok = sim_parse_u32(p, v, SIM_NUM_NUMBER, &x))) {
                if (x > 14)
                    return sim_parse_fail(p, "wscale above 14", v);
                g->wscale = (int)x;
            }
        } else if (strcmp(k, "ts") == 0) {
            ok = sim_parse_on_off(p, v, &g->offer_ts);
        } else if (strcmp(k, "sack") == 0) {
            ok = sim_parse_on_off(p, v, &g->offer_sack);
        } else if (strcmp(k, "arp") == 0) {
            ok = sim_parse_on_off(p, v, &cfg->arp_probe);
        } else if (strcmp(k, "mac") == 0) {
            ok = parse_mac(p, v, cfg->guest_mac);
            cfg->guest_mac_set = true;
        } else if (strcmp(k, "rcvbuf") == 0) {
            ok = sim_parse_u32(p, v, SIM_NUM_NUMBER, &g->rcvbuf);
        } else if (strcmp(k, "syn_retries") == 0 || strcmp(k, "data_retries") == 0) {
            if ((ok = sim_parse_u32(p, v, SIM_NUM_NUMBER, &x))) {
                if (x > 30)
                    return sim_parse_fail(p, "retries above 30", v);
                if (k[0] == 's')
                    g->syn_retries = (uint8_t)x;
                else
                    g->data_retries = (uint8_t)x;
            }
        } else {
            return sim_parse_fail(p, "unknown guest setting", k);
        }
        if (!ok)
            return false;
    }
    return true;
}

static bool dest_keys(struct sim_parser *p, struct sim_dest *d, char **w, int n, int from)
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
        if (!sim_parse_split(w[i], &k, &v))
            return sim_parse_fail(p, "unknown destination word", w[i]);
        int r = sim_parse_key(p, dest_num_keys, NKEYS(dest_num_keys), d, k, v);
        if (r != 0) {
            if (r < 0)
                return false;
            continue;
        }
        bool ok;
        if (strcmp(k, "ttl") == 0) {
            uint64_t t;
            ok = sim_parse_time(p, v, &t);
            if (ok && t / 1000000000u > UINT32_MAX)
                return sim_parse_fail(p, "ttl too large", v);
            d->dns_ttl = (uint32_t)(t / 1000000000u); /* seconds, as DNS carries it */
        } else if (strcmp(k, "answer") == 0) {
            ok = sim_parse_ip4(v, d->dns_answer) ||
                 sim_parse_fail(p, "bad address (want a.b.c.d)", v);
        } else if (strcmp(k, "rclose") == 0) {
            static const char *const rclose[] = {"eof", "sent", "never"}; /* enum sim_rclose */
            int c = 0;
            ok = sim_parse_choice(p, v, rclose, 3, "rclose must be eof, sent or never", &c);
            d->rclose = (uint8_t)c;
        } else {
            return sim_parse_fail(p, "unknown destination setting", k);
        }
        if (!ok)
            return false;
    }
    if (d->echo && (d->greeting || d->after_eof))
        return sim_parse_fail(p, "an echo destination cannot also produce its own stream", NULL);
    if (d->sndbuf == 0 || d->rcvbuf == 0)
        return sim_parse_fail(p, "socket buffers must be at least 1 byte", NULL);
    return true;
}

static bool dir_dest(struct sim_parser *p, struct sim_config *cfg, char **w, int n)
{
    if (n < 2)
        return sim_parse_fail(p, "dest needs an address", NULL);
    struct sim_dest *d;
    if (strcmp(w[1], "default") == 0) {
        d = &cfg->default_dest;
    } else {
        struct vnat_sockaddr a;
        if (!sim_parse_sockaddr(p, w[1], SIM_PORT_REQUIRED, &a))
            return false;
        d = sim_config_add_dest(cfg);
        if (d == NULL)
            return sim_parse_fail(p, "out of memory", NULL);
        d->addr = a;
    }
    return dest_keys(p, d, w, n, 2);
}

static bool dir_flows(struct sim_parser *p, struct sim_config *cfg, char **w, int n)
{
    if (n < 2 || sim_parse_is_kv(w[1]))
        return sim_parse_fail(p, "flows needs a group name first", NULL);
    if (strcmp(w[1], "all") == 0 || strcmp(w[1], "core") == 0 || strcmp(w[1], "host") == 0 ||
        strcmp(w[1], "guest") == 0 || strcmp(w[1], "link") == 0 || strcmp(w[1], "run") == 0)
        return sim_parse_fail(p, "reserved group name", w[1]);
    int g = sim_config_add_group(cfg, w[1]);
    if (g < 0)
        return sim_parse_fail(p, "out of memory", NULL);
    struct sim_flow_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.group = (uint32_t)g;
    spec.send = 8;
    uint32_t count = 1;
    uint64_t spacing = 0;
    bool have_to = false;
    for (int i = 2; i < n; i++) {
        char *k, *v;
        if (!sim_parse_kv(p, w[i], &k, &v))
            return false;
        int r = sim_parse_key(p, flow_keys, NKEYS(flow_keys), &spec, k, v);
        if (r != 0) {
            if (r < 0)
                return false;
            continue;
        }
        bool ok = true;
        if (strcmp(k, "count") == 0)
            ok = sim_parse_u32(p, v, SIM_NUM_NUMBER, &count);
        else if (strcmp(k, "to") == 0) {
            if (!sim_parse_sockaddr(p, v, SIM_PORT_REQUIRED, &spec.dst))
                return false;
            have_to = true;
        } else if (strcmp(k, "spacing") == 0)
            ok = sim_parse_time(p, v, &spacing);
        else if (strcmp(k, "close") == 0) {
            static const char *const gclose[] = {"sent", "eof", "never", "abort"}; /* sim_gclose */
            int c = 0;
            ok = sim_parse_choice(p, v, gclose, 4, "close must be sent, eof, never or abort", &c);
            spec.close = (uint8_t)c;
        } else {
            return sim_parse_fail(p, "unknown flows setting", k);
        }
        if (!ok)
            return false;
    }
    if (!have_to)
        return sim_parse_fail(p, "flows needs to=ADDR:PORT", NULL);
    if (spec.send < SIM_PATTERN_HDR)
        return sim_parse_fail(p, "send must be at least 8 bytes (the stream header)", NULL);
    if (count == 0 || count > 100000)
        return sim_parse_fail(p, "count must be 1..100000", NULL);
    for (uint32_t i = 0; i < count; i++) {
        struct sim_flow_spec *f = sim_config_add_flow(cfg);
        if (f == NULL)
            return sim_parse_fail(p, "out of memory", NULL);
        *f = spec;
        f->start = spec.start + (uint64_t)i * spacing;
    }
    return true;
}

static bool dir_expect(struct sim_parser *p, struct sim_config *cfg, char **w, int n)
{
    static const char *const ops[] = {"==", "!=", "<", "<=", ">", ">="};
    if (n != 4)
        return sim_parse_fail(p, "expect METRIC OP VALUE", NULL);
    struct sim_expect *e = sim_config_add_expect(cfg);
    if (e == NULL)
        return sim_parse_fail(p, "out of memory", NULL);
    if (strlen(w[1]) >= sizeof e->metric)
        return sim_parse_fail(p, "metric name too long", w[1]);
    snprintf(e->metric, sizeof e->metric, "%s", w[1]);
    int op = -1;
    for (int i = 0; i < 6; i++)
        if (strcmp(w[2], ops[i]) == 0)
            op = i;
    if (op < 0)
        return sim_parse_fail(p, "operator must be == != < <= > >=", w[2]);
    e->op = (uint8_t)op;
    e->line = p->line;
    return sim_parse_num(p, w[3], SIM_NUM_ANY, 0, UINT64_MAX, &e->value);
}

/* restore every=TIME [start=TIME] [count=N] */
static bool dir_restore(struct sim_parser *p, struct sim_config *cfg, char **w, int n)
{
    static const char usage[] = "restore every=TIME [start=TIME] [count=N]";
    for (int i = 1; i < n; i++) {
        char *eq = strchr(w[i], '=');
        if (eq == NULL)
            return sim_parse_fail(p, usage, w[i]);
        *eq = 0;
        const char *k = w[i], *v = eq + 1;
        uint64_t x;
        if (strcmp(k, "every") == 0) {
            if (!sim_parse_time(p, v, &cfg->restore_every))
                return false;
        } else if (strcmp(k, "start") == 0) {
            if (!sim_parse_time(p, v, &cfg->restore_start))
                return false;
        } else if (strcmp(k, "count") == 0) {
            if (!sim_parse_num(p, v, SIM_NUM_NUMBER, 1, 1000000, &x))
                return false;
            cfg->restore_count = (uint32_t)x;
        } else {
            return sim_parse_fail(p, usage, k);
        }
    }
    if (cfg->restore_every == 0)
        return sim_parse_fail(p, usage, "every= must be above 0");
    return true;
}

static bool directive(struct sim_parser *p, struct sim_config *cfg, char **w, int n)
{
    const char *d = w[0];
    uint64_t v;
    if (strcmp(d, "scenario") == 0) {
        if (n != 2)
            return sim_parse_fail(p, "scenario NAME", NULL);
        snprintf(cfg->name, sizeof cfg->name, "%s", w[1]);
        return true;
    }
    if (strcmp(d, "description") == 0)
        return true;
    if (strcmp(d, "seed") == 0) {
        if (n != 2)
            return sim_parse_fail(p, "seed N", NULL);
        if (!sim_parse_u64(p, w[1], &cfg->seed))
            return false;
        cfg->core.seed = cfg->seed;
        return true;
    }
    if (strcmp(d, "duration") == 0) {
        if (n != 2)
            return sim_parse_fail(p, "duration TIME", NULL);
        if (!sim_parse_time(p, w[1], &cfg->duration))
            return false;
        return true;
    }
    if (strcmp(d, "start_time") == 0) {
        if (n != 2)
            return sim_parse_fail(p, "start_time TIME", NULL);
        if (!sim_parse_time(p, w[1], &cfg->start_time))
            return false;
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
        if (n != 2)
            return sim_parse_fail(p, "link_queue N (1..1000000)", NULL);
        if (!sim_parse_num(p, w[1], SIM_NUM_NUMBER, 1, 1000000, &v))
            return false;
        cfg->link_queue = (uint32_t)v;
        return true;
    }
    if (strcmp(d, "restore") == 0)
        return dir_restore(p, cfg, w, n);
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
    if (strcmp(d, "forward") == 0 || strcmp(d, "inbound") == 0 || strcmp(d, "guest_serve") == 0)
        return sim_inbound_directive(p, cfg, w, n) == 0;
    int r = gsvc_directive(p, cfg, w, n);
    if (r != 0)
        return r > 0;
    return sim_parse_fail(p, "unknown directive", d);
}

int sim_scenario_parse(const char *text, const char *name, struct sim_config *cfg, char *err,
                       size_t err_len)
{
    struct sim_parser p = {.name = name, .err = err, .err_len = err_len};
    const char *s = text;
    char line[4096];
    while (*s && !p.bad) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        p.line++;
        if (len >= sizeof line) {
            sim_parse_fail(&p, "line too long", NULL);
            break;
        }
        memcpy(line, s, len);
        line[len] = 0;
        s += len + (nl ? 1 : 0);
        char *words[64];
        int n = sim_parse_words(&p, line, words, 64);
        if (n > 0)
            directive(&p, cfg, words, n);
    }
    if (!p.bad && cfg->n_flows == 0 && !gsvc_configured(cfg) && sim_inbound_clients(cfg) == 0)
        sim_parse_fail(&p, "a scenario needs at least one flows line (or a guest service)", NULL);
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
