/*
 * gsvc.c — the simulated guest's datagram applications (gsvc.h): their
 * scenario directives, the frames they send and take, and their metrics.
 *
 * Every application is a small deterministic state machine driven by
 * EV_SVC events (arg: the application, or GSVC_DHCP for the DHCP client)
 * and by the frames gsvc_on_frame takes. Payloads are generated, never
 * stored: a UDP datagram or echo payload is its application index and
 * sequence number (8 bytes) followed by pattern bytes at an offset derived
 * from the sequence, and a DNS query is rebuilt from its index; so a reply
 * is checked byte for byte by regenerating what was sent.
 *
 * Frames are built with the core's wire layer and handed to the world's
 * guest frame path (the gtcp_ops the world gave gtcp.c), so the link's loss,
 * duplication, reordering, corruption and delay apply to them as to TCP.
 * Replies the link corrupted fail their checksum and are counted, not
 * failed; a duplicated reply is counted as a duplicate.
 */
#include "sim.h"

#include "wire.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define GSVC_DHCP UINT32_MAX
#define GSVC_PORT_BASE 20000u /* guest source ports: below gtcp's 32768.. */
#define GSVC_PORT_LIMIT 32767u
#define GSVC_MAX_COUNT 100000u /* datagrams / queries / echoes per application */
#define DHCP_MAX_TRIES 16
#define DHCP_MAX_WAIT (64 * SIM_S)
#define DNS_PORT 53
#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define DNS_MAX_LABELS 128

/* ---- directives ----------------------------------------------------------------- */

static int fail(struct sim_parser *p, const char *what, const char *word)
{
    sim_parse_fail(p, what, word);
    return -1;
}

static int group_of(struct sim_parser *p, struct sim_config *cfg, const char *name)
{
    static const char *const reserved[] = {"all", "core", "host", "guest", "link", "run", "dhcp"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcmp(name, reserved[i]) == 0)
            return fail(p, "reserved group name", name);
    int g = sim_config_add_group(cfg, name);
    return g < 0 ? fail(p, "out of memory", NULL) : g;
}

static struct gsvc_spec *add_spec(struct sim_config *cfg)
{
    if (cfg->n_svcs == cfg->cap_svcs) {
        uint32_t ncap = cfg->cap_svcs ? cfg->cap_svcs * 2 : 16;
        struct gsvc_spec *p = realloc(cfg->svcs, (size_t)ncap * sizeof *p);
        if (p == NULL)
            return NULL;
        cfg->svcs = p;
        cfg->cap_svcs = ncap;
    }
    return &cfg->svcs[cfg->n_svcs++];
}

/* A DNS name of labels 1..63 bytes, at most 253 in all. */
static bool name_ok(const char *s)
{
    size_t n = strlen(s), label = 0;
    if (n == 0 || n > 253 || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (++label > 63) {
            return false;
        }
    }
    return label > 0;
}

/* proto=udp|tcp|icmp and field=ip|mac of a spoof line. */
static bool spoof_word(struct sim_parser *p, struct gsvc_spec *sp, const char *k, const char *v)
{
    static const char *const protos[] = {"udp", "tcp", "icmp"};
    static const uint8_t proto_of[] = {VNAT_PROTO_UDP, VNAT_PROTO_TCP, VNAT_PROTO_ICMP};
    static const char *const fields[] = {"ip", "mac"};
    int c = 0;
    if (strcmp(k, "proto") == 0) {
        if (!sim_parse_choice(p, v, protos, 3, "proto must be udp, tcp or icmp", &c))
            return false;
        sp->proto = proto_of[c];
    } else {
        if (!sim_parse_choice(p, v, fields, 2, "field must be ip or mac", &c))
            return false;
        if (c == 1)
            sp->spoof_mac = true;
    }
    return true;
}

/* udp / dns / ping / spoof GROUP KEY=VALUE... */
static int dir_app(struct sim_parser *p, struct sim_config *cfg, uint8_t kind, char **w, int n)
{
    if (n < 2 || sim_parse_is_kv(w[1]))
        return fail(p, "needs a group name first", w[0]);
    int g = group_of(p, cfg, w[1]);
    if (g < 0)
        return -1;
    struct gsvc_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.kind = kind;
    sp.group = (uint32_t)g;
    sp.interval = 10 * SIM_MS;
    sp.count = 1;
    sp.size = 64;
    sp.proto = VNAT_PROTO_UDP;
    uint64_t flows = 1, spacing = 0, v = 0;
    bool have_to = false;
    for (int i = 2; i < n; i++) {
        char *k, *val;
        if (!sim_parse_kv(p, w[i], &k, &val))
            return -1;
        bool ok;
        if (strcmp(k, "to") == 0 && kind != GS_DNS) {
            enum sim_port_rule port = kind == GS_UDP ? SIM_PORT_REQUIRED : SIM_PORT_OPTIONAL;
            ok = have_to = sim_parse_sockaddr(p, val, port, &sp.dst);
        } else if (strcmp(k, "count") == 0) {
            /* udp: flows (each its own port); others: queries / echoes / frames */
            ok = sim_parse_num(p, val, SIM_NUM_NUMBER, 1, GSVC_MAX_COUNT, &v);
            if (kind == GS_UDP)
                flows = v;
            else
                sp.count = (uint32_t)v;
        } else if (strcmp(k, "datagrams") == 0 && kind == GS_UDP) {
            ok = sim_parse_num(p, val, SIM_NUM_NUMBER, 1, GSVC_MAX_COUNT, &v);
            sp.count = (uint32_t)v;
        } else if (strcmp(k, "size") == 0 && (kind == GS_UDP || kind == GS_PING)) {
            ok = sim_parse_num(p, val, SIM_NUM_NUMBER, 8, 65507, &v);
            sp.size = (uint32_t)v;
        } else if (strcmp(k, "interval") == 0) {
            ok = sim_parse_time(p, val, &sp.interval);
        } else if (strcmp(k, "start") == 0) {
            ok = sim_parse_time(p, val, &sp.start);
        } else if (strcmp(k, "spacing") == 0 && kind == GS_UDP) {
            ok = sim_parse_time(p, val, &spacing);
        } else if (strcmp(k, "name") == 0 && kind == GS_DNS) {
            size_t vlen = strlen(val);
            ok = (name_ok(val) && vlen < sizeof sp.name) || sim_parse_fail(p, "bad DNS name", val);
            if (ok)
                memcpy(sp.name, val, vlen + 1);
        } else if (strcmp(k, "ports") == 0 && kind == GS_DNS) {
            /* query q uses port base + q % ports, as a guest's stub cycles
             * through its ephemeral ports */
            ok = sim_parse_num(p, val, SIM_NUM_NUMBER, 1, GSVC_PORT_LIMIT - GSVC_PORT_BASE, &v);
            sp.ports = (uint32_t)v;
        } else if (strcmp(k, "answer") == 0 && kind == GS_DNS) {
            ok = sp.has_answer = sim_parse_ip4(val, sp.answer) ||
                                 sim_parse_fail(p, "bad address (want a.b.c.d)", val);
        } else if ((strcmp(k, "proto") == 0 || strcmp(k, "field") == 0) && kind == GS_SPOOF) {
            ok = spoof_word(p, &sp, k, val);
        } else {
            return fail(p, "unknown setting", k);
        }
        if (!ok)
            return -1;
    }
    if (kind == GS_DNS && sp.name[0] == 0)
        return fail(p, "dns needs name=NAME", NULL);
    if (kind != GS_DNS && !have_to)
        return fail(p, kind == GS_UDP ? "needs to=ADDR:PORT" : "needs to=ADDR", NULL);
    if (kind == GS_DNS && sp.ports == 0 && sp.count > GSVC_PORT_LIMIT - GSVC_PORT_BASE)
        return fail(p, "too many queries", NULL);
    for (uint64_t i = 0; i < flows; i++) {
        struct gsvc_spec *s = add_spec(cfg);
        if (s == NULL)
            return fail(p, "out of memory", NULL);
        *s = sp;
        s->start = sp.start + i * spacing;
    }
    return 1;
}

static int dir_dhcp(struct sim_parser *p, struct sim_config *cfg, char **w, int n)
{
    struct gsvc_dhcp_spec *d = &cfg->dhcp;
    memset(d, 0, sizeof *d);
    d->on = true;
    d->tries = 4;
    d->retry = 1 * SIM_S;
    for (int i = 1; i < n; i++) {
        char *k, *v;
        if (!sim_parse_kv(p, w[i], &k, &v))
            return -1;
        bool ok;
        uint64_t x = 0;
        if (strcmp(k, "start") == 0) {
            ok = sim_parse_time(p, v, &d->start);
        } else if (strcmp(k, "retry") == 0) {
            ok = sim_parse_num(p, v, SIM_NUM_TIME, 1, DHCP_MAX_WAIT, &d->retry);
        } else if (strcmp(k, "tries") == 0) {
            ok = sim_parse_num(p, v, SIM_NUM_NUMBER, 1, DHCP_MAX_TRIES, &x);
            d->tries = (uint8_t)x;
        } else if (strcmp(k, "release_at") == 0) {
            ok = sim_parse_num(p, v, SIM_NUM_TIME, 1, UINT64_MAX, &d->release_at);
        } else if (strcmp(k, "inform") == 0) {
            ok = sim_parse_on_off(p, v, &d->inform);
        } else if (strcmp(k, "broadcast") == 0) {
            ok = sim_parse_on_off(p, v, &d->broadcast);
        } else if (strcmp(k, "request") == 0) {
            ok = d->has_request =
                sim_parse_ip4(v, d->request) || sim_parse_fail(p, "bad address (want a.b.c.d)", v);
        } else {
            return fail(p, "unknown dhcp setting", k);
        }
        if (!ok)
            return -1;
    }
    return 1;
}

/* ports=LO-HI, both 0..65535, LO <= HI. */
static bool port_range(char *v, uint16_t *lo, uint16_t *hi)
{
    char *dash = strchr(v, '-');
    uint64_t a, b;
    if (dash == NULL)
        return false;
    *dash = 0;
    bool ok = sim_parse_value(v, SIM_NUM_NUMBER, &a) &&
              sim_parse_value(dash + 1, SIM_NUM_NUMBER, &b) && a <= b && b <= 65535;
    *dash = '-';
    if (ok) {
        *lo = (uint16_t)a;
        *hi = (uint16_t)b;
    }
    return ok;
}

/* rule allow|deny [tcp|udp|icmp|any] CIDR [ports=LO-HI] */
static int dir_rule(struct sim_parser *p, struct sim_config *cfg, char **w, int n)
{
    struct vnat_rule r;
    memset(&r, 0, sizeof r);
    r.proto = VNAT_PROTO_ANY;
    r.port_hi = 65535;
    if (n < 3 || n > 5)
        return fail(p, "rule allow|deny [tcp|udp|icmp|any] CIDR [ports=LO-HI]", NULL);
    if (strcmp(w[1], "allow") == 0)
        r.action = VNAT_RULE_ALLOW;
    else if (strcmp(w[1], "deny") == 0)
        r.action = VNAT_RULE_DENY;
    else
        return fail(p, "expected allow or deny", w[1]);
    int i = 2;
    static const struct {
        const char *name;
        uint8_t proto;
    } protos[] = {{"tcp", VNAT_PROTO_TCP},
                  {"udp", VNAT_PROTO_UDP},
                  {"icmp", VNAT_PROTO_ICMP},
                  {"any", VNAT_PROTO_ANY}};
    for (size_t k = 0; k < sizeof protos / sizeof protos[0]; k++)
        if (strcmp(w[i], protos[k].name) == 0) {
            r.proto = protos[k].proto;
            i++;
            break;
        }
    if (i >= n)
        return fail(p, "rule needs a CIDR", NULL);
    if (!sim_parse_cidr(p, w[i], &r.net, &r.prefix))
        return -1;
    for (i++; i < n; i++) {
        char *k, *v;
        if (!sim_parse_split(w[i], &k, &v) || strcmp(k, "ports") != 0)
            return fail(p, "expected ports=LO-HI", w[i]);
        if (!port_range(v, &r.port_lo, &r.port_hi))
            return fail(p, "bad port range (want LO-HI, 0..65535)", v);
    }
    if (cfg->core.n_rules == cfg->cap_rules) {
        uint32_t ncap = cfg->cap_rules ? cfg->cap_rules * 2 : 8;
        struct vnat_rule *q = realloc(cfg->rules, (size_t)ncap * sizeof *q);
        if (q == NULL)
            return fail(p, "out of memory", NULL);
        cfg->rules = q;
        cfg->cap_rules = ncap;
    }
    cfg->rules[cfg->core.n_rules++] = r;
    cfg->core.rules = cfg->rules;
    return 1;
}

int gsvc_directive(struct sim_parser *p, struct sim_config *cfg, char **w, int n)
{
    if (strcmp(w[0], "udp") == 0)
        return dir_app(p, cfg, GS_UDP, w, n);
    if (strcmp(w[0], "dns") == 0)
        return dir_app(p, cfg, GS_DNS, w, n);
    if (strcmp(w[0], "ping") == 0)
        return dir_app(p, cfg, GS_PING, w, n);
    if (strcmp(w[0], "spoof") == 0)
        return dir_app(p, cfg, GS_SPOOF, w, n);
    if (strcmp(w[0], "dhcp") == 0)
        return dir_dhcp(p, cfg, w, n);
    if (strcmp(w[0], "rule") == 0)
        return dir_rule(p, cfg, w, n);
    return 0;
}

uint32_t gsvc_sockets_needed(const struct sim_config *cfg)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < cfg->n_svcs; i++)
        n += cfg->svcs[i].kind == GS_DNS ? cfg->svcs[i].count : 1;
    return n > 65536 ? 65536 : (uint32_t)n;
}

bool gsvc_configured(const struct sim_config *cfg)
{
    return cfg->n_svcs > 0 || cfg->dhcp.on;
}

bool gsvc_spoofs_mac(const struct sim_config *cfg)
{
    for (uint32_t i = 0; i < cfg->n_svcs; i++)
        if (cfg->svcs[i].kind == GS_SPOOF && cfg->svcs[i].spoof_mac)
            return true;
    return false;
}

/* ---- run-time state ----------------------------------------------------------------- */

struct app {
    uint16_t port;  /* udp: its source port; dns: query q uses port + q */
    uint16_t ident; /* ping: the echo identifier */
    uint32_t next;  /* the next datagram / query / echo / frame to send */
    uint64_t salt;
    uint8_t *seen;     /* count entries: a reply arrived */
    uint64_t *sent_at; /* count entries */
    uint64_t sent, received, dups, unreach, prohibited, icmp_errors;
    uint64_t ttl_min, ttl_max, rtt_max;
};

enum dhcp_state { DH_IDLE = 0, DH_SELECTING, DH_REQUESTING, DH_BOUND, DH_INFORMING, DH_FAILED };

struct dhcp_rt {
    uint8_t state;
    uint8_t tries;
    bool restarted; /* after a NAK: once, requesting the offered address */
    uint32_t xid;
    uint32_t gen; /* retransmission timer generation */
    uint32_t xid_serial;
    uint8_t offered[4];
    uint64_t discovers, offers, requests, acks, naks, informs, inform_acks, inform_ok;
    uint64_t releases, retransmits, strays, bound, failed, broadcast_replies;
    uint64_t yiaddr_ok, router_ok, dns_ok, mask_ok, server_ok;
    uint64_t mtu, lease, t1, t2;
};

struct gsvc {
    struct app *apps;
    uint32_t *by_port;  /* 65536 entries: application + 1 (udp, dns) */
    uint32_t *by_ident; /* 65536 entries: application + 1 (ping) */
    uint8_t *buf;       /* a payload as it was sent, rebuilt */
    size_t buf_cap;
    uint16_t ip_id;
    uint64_t bad_csum, unmatched;
    struct dhcp_rt dhcp;
};

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t bcast_ip[4] = {255, 255, 255, 255};
static const uint8_t zero_ip[4] = {0, 0, 0, 0};

static const char *ip_str(char *buf, size_t cap, const uint8_t *a)
{
    snprintf(buf, cap, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
    return buf;
}

/* ---- sending ------------------------------------------------------------------------- */

/* The world's guest frame path (the one gtcp.c uses), so the link's faults
 * and its frame budget apply to these frames too. */
static uint8_t *frame_alloc(struct sim_world *w, size_t cap)
{
    return w->guest.ops.frame_alloc(w->guest.ctx, cap);
}

static void frame_send(struct sim_world *w, uint8_t *buf, size_t n)
{
    w->guest.ops.frame_send(w->guest.ctx, buf, n);
}

struct addrs {
    const uint8_t *eth_dst, *eth_src, *ip_src, *ip_dst;
};

static struct addrs normal_addrs(const struct sim_world *w, const uint8_t *ip_dst)
{
    const struct vnat_config *c = &w->cfg->core;
    struct addrs a = {c->gateway_mac, w->guest.cfg.mac, c->guest_ip.addr, ip_dst};
    return a;
}

static void send_udp(struct sim_world *w, const struct addrs *ad, uint16_t sport, uint16_t dport,
                     const uint8_t *payload, size_t len)
{
    struct gsvc *g = w->svc;
    uint8_t *buf = frame_alloc(w, VW_UDP4_PAYLOAD_OFF + len);
    if (buf == NULL)
        return; /* no frame buffer: lost, as on a real link */
    memcpy(buf + VW_UDP4_PAYLOAD_OFF, payload, len);
    struct vw_l2l3 a = {ad->eth_dst, ad->eth_src, ad->ip_src, ad->ip_dst, g->ip_id++, 64};
    size_t n = vw_udp4_frame(buf, VW_UDP4_PAYLOAD_OFF + len, &a, sport, dport, len);
    if (n == 0) {
        sim_fail(w, "gsvc: cannot build a %zu-byte UDP frame", len);
        return;
    }
    frame_send(w, buf, n);
}

static void send_icmp(struct sim_world *w, const struct addrs *ad, uint8_t type,
                      const uint8_t rest[4], const uint8_t *payload, size_t len)
{
    struct gsvc *g = w->svc;
    uint8_t *buf = frame_alloc(w, VW_ICMP4_PAYLOAD_OFF + len);
    if (buf == NULL)
        return;
    memcpy(buf + VW_ICMP4_PAYLOAD_OFF, payload, len);
    struct vw_l2l3 a = {ad->eth_dst, ad->eth_src, ad->ip_src, ad->ip_dst, g->ip_id++, 64};
    size_t n = vw_icmp4_frame(buf, VW_ICMP4_PAYLOAD_OFF + len, &a, type, 0, rest, len);
    if (n == 0) {
        sim_fail(w, "gsvc: cannot build a %zu-byte ICMP frame", len);
        return;
    }
    frame_send(w, buf, n);
}

static void send_tcp_syn(struct sim_world *w, const struct addrs *ad, uint16_t sport,
                         uint16_t dport, uint32_t seq)
{
    struct gsvc *g = w->svc;
    struct vw_tcp_out t;
    memset(&t, 0, sizeof t);
    t.sport = sport;
    t.dport = dport;
    t.seq = seq;
    t.flags = VW_TCP_SYN;
    t.window = 65535;
    size_t cap = vw_tcp4_payload_off(&t);
    uint8_t *buf = frame_alloc(w, cap);
    if (buf == NULL)
        return;
    struct vw_l2l3 a = {ad->eth_dst, ad->eth_src, ad->ip_src, ad->ip_dst, g->ip_id++, 64};
    size_t n = vw_tcp4_frame(buf, cap, &a, &t, 0);
    if (n == 0) {
        sim_fail(w, "gsvc: cannot build a TCP frame");
        return;
    }
    frame_send(w, buf, n);
}

/* The payload of datagram / echo `seq` of application i: its index and
 * sequence, then pattern bytes. */
static void fill_payload(const struct app *a, uint32_t i, uint32_t seq, uint8_t *buf, size_t len)
{
    vw_put32(buf, i);
    vw_put32(buf + 4, seq);
    sim_pattern_fill(a->salt, (uint64_t)seq * len, buf + 8, len - 8);
}

/* The guest ports a DNS application takes in turn. */
static uint32_t dns_ports(const struct gsvc_spec *sp)
{
    return sp->ports != 0 ? sp->ports : sp->count;
}

static uint16_t query_xid(const struct app *a, uint32_t q)
{
    return (uint16_t)sim_mix64(a->salt ^ q);
}

/* Which query an answer on the application's r-th port (carrying ID xid)
 * answers: with one port per query, query r; with ports taken in turn, the
 * latest query sent on that port whose ID is xid (the 8 latest are looked
 * at), else the latest (the caller's checks then fail it). a->next if none
 * was sent on it. */
static uint32_t dns_query_on(const struct gsvc_spec *sp, const struct app *a, uint32_t r,
                             uint16_t xid)
{
    uint32_t n = dns_ports(sp);
    if (sp->ports == 0 || r >= n || a->next <= r)
        return sp->ports == 0 ? r : a->next;
    uint32_t last = r + (a->next - 1 - r) / n * n;
    for (uint32_t q = last, k = 0; k < 8; q -= n, k++) {
        if (query_xid(a, q) == xid)
            return q;
        if (q < n)
            break;
    }
    return last;
}

/* Query q of DNS application i; returns its length. */
static size_t build_query(const struct gsvc_spec *sp, const struct app *a, uint32_t q, uint8_t *buf)
{
    vw_put16(buf, query_xid(a, q));
    vw_put16(buf + 2, 0x0100); /* standard query, recursion desired */
    vw_put16(buf + 4, 1);
    memset(buf + 6, 0, 6);
    size_t off = 12;
    const char *s = sp->name;
    for (int labels = 0; *s && labels < DNS_MAX_LABELS; labels++) {
        size_t l = strcspn(s, ".");
        buf[off++] = (uint8_t)l;
        memcpy(buf + off, s, l);
        off += l;
        s += l;
        if (*s == '.')
            s++;
    }
    buf[off++] = 0;
    vw_put16(buf + off, 1);     /* A */
    vw_put16(buf + off + 2, 1); /* IN */
    return off + 4;
}

static void app_send(struct sim_world *w, uint32_t i)
{
    struct gsvc *g = w->svc;
    const struct gsvc_spec *sp = &w->cfg->svcs[i];
    struct app *a = &g->apps[i];
    const struct vnat_config *c = &w->cfg->core;
    if (a->next >= sp->count)
        return;
    uint32_t seq = a->next++;
    a->sent++;
    a->sent_at[seq] = w->q.now;
    struct addrs ad = normal_addrs(w, sp->dst.ip.addr);
    switch (sp->kind) {
    case GS_UDP:
        fill_payload(a, i, seq, g->buf, sp->size);
        send_udp(w, &ad, a->port, sp->dst.port, g->buf, sp->size);
        break;
    case GS_DNS: {
        size_t n = build_query(sp, a, seq, g->buf);
        ad.ip_dst = c->dns_ip.addr;
        send_udp(w, &ad, (uint16_t)(a->port + seq % dns_ports(sp)), DNS_PORT, g->buf, n);
        break;
    }
    case GS_PING: {
        uint8_t rest[4];
        vw_put16(rest, a->ident);
        vw_put16(rest + 2, (uint16_t)seq);
        fill_payload(a, i, seq, g->buf, sp->size);
        send_icmp(w, &ad, VW_ICMP_ECHO_REQUEST, rest, g->buf, sp->size);
        break;
    }
    case GS_SPOOF: {
        /* The neighbour's address, or the guest's address from another MAC. */
        uint8_t ip[4], mac[6];
        memcpy(ip, c->guest_ip.addr, 4);
        memcpy(mac, w->guest.cfg.mac, 6);
        if (sp->spoof_mac)
            mac[5] ^= 0x01;
        else
            ip[3] ^= 0x01;
        ad.eth_src = mac;
        ad.ip_src = ip;
        uint16_t sport = (uint16_t)(GSVC_PORT_BASE + seq % 1000);
        if (sp->proto == VNAT_PROTO_UDP) {
            fill_payload(a, i, seq, g->buf, 16);
            send_udp(w, &ad, sport, sp->dst.port, g->buf, 16);
        } else if (sp->proto == VNAT_PROTO_TCP) {
            send_tcp_syn(w, &ad, sport, sp->dst.port, (uint32_t)a->salt + seq);
        } else {
            uint8_t rest[4];
            vw_put16(rest, 0x5350);
            vw_put16(rest + 2, (uint16_t)seq);
            fill_payload(a, i, seq, g->buf, 16);
            send_icmp(w, &ad, VW_ICMP_ECHO_REQUEST, rest, g->buf, 16);
        }
        break;
    }
    default:
        break;
    }
    if (a->next < sp->count)
        sim_schedule(w, w->q.now + sp->interval, EV_SVC, i, 0, NULL);
}

/* ---- DHCP client ---------------------------------------------------------------------- */

static void dhcp_send(struct sim_world *w, uint8_t type)
{
    struct gsvc *g = w->svc;
    struct dhcp_rt *d = &g->dhcp;
    const struct gsvc_dhcp_spec *sp = &w->cfg->dhcp;
    const struct vnat_config *c = &w->cfg->core;
    bool has_addr = type == VW_DHCP_INFORM || type == VW_DHCP_RELEASE;
    struct vw_dhcp_out o;
    memset(&o, 0, sizeof o);
    o.op = VW_BOOTREQUEST;
    o.xid = d->xid;
    o.flags = sp->broadcast ? 0x8000 : 0;
    o.ciaddr = has_addr ? c->guest_ip.addr : NULL;
    o.chaddr = w->guest.cfg.mac;
    uint8_t *b = g->buf;
    size_t cap = g->buf_cap;
    size_t off = vw_dhcp_build(b, cap, &o);
    off = off ? vw_dhcp_opt_put8(b, cap, off, VW_DHCP_OPT_MSG_TYPE, type) : 0;
    if (type == VW_DHCP_REQUEST) {
        const uint8_t *want = sp->has_request && !d->restarted ? sp->request : d->offered;
        off = off ? vw_dhcp_opt_put(b, cap, off, VW_DHCP_OPT_REQ_IP, 4, want) : 0;
        off = off ? vw_dhcp_opt_put(b, cap, off, VW_DHCP_OPT_SERVER_ID, 4, c->gateway_ip.addr) : 0;
    }
    if (type == VW_DHCP_RELEASE)
        off = off ? vw_dhcp_opt_put(b, cap, off, VW_DHCP_OPT_SERVER_ID, 4, c->gateway_ip.addr) : 0;
    static const uint8_t params[] = {VW_DHCP_OPT_SUBNET_MASK, VW_DHCP_OPT_ROUTER, VW_DHCP_OPT_DNS,
                                     VW_DHCP_OPT_MTU, VW_DHCP_OPT_LEASE};
    if (type != VW_DHCP_RELEASE)
        off = off ? vw_dhcp_opt_put(b, cap, off, VW_DHCP_OPT_PARAM_LIST, sizeof params, params) : 0;
    off = off ? vw_dhcp_opt_end(b, cap, off) : 0;
    if (off == 0) {
        sim_fail(w, "gsvc: cannot build a DHCP message");
        return;
    }
    /* Without an address: from 0.0.0.0 to everyone. RELEASE goes to the
     * server, INFORM is broadcast from the guest's address. */
    struct addrs ad = {bcast_mac, w->guest.cfg.mac, has_addr ? c->guest_ip.addr : zero_ip,
                       bcast_ip};
    if (type == VW_DHCP_RELEASE) {
        ad.eth_dst = c->gateway_mac;
        ad.ip_dst = c->gateway_ip.addr;
    }
    send_udp(w, &ad, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, b, off);
}

static void dhcp_arm(struct sim_world *w)
{
    struct dhcp_rt *d = &w->svc->dhcp;
    uint64_t wait = w->cfg->dhcp.retry << (d->tries > 6 ? 6 : d->tries - 1);
    if (wait > DHCP_MAX_WAIT)
        wait = DHCP_MAX_WAIT;
    d->gen++;
    sim_schedule(w, w->q.now + wait, EV_SVC, GSVC_DHCP, (uint64_t)d->gen << 8 | 1, NULL);
}

static uint8_t dhcp_msg_of(uint8_t state)
{
    return state == DH_SELECTING    ? VW_DHCP_DISCOVER
           : state == DH_REQUESTING ? VW_DHCP_REQUEST
                                    : VW_DHCP_INFORM;
}

/* Enter a state that sends a message and waits for its answer. */
static void dhcp_begin(struct sim_world *w, uint8_t state, bool new_xid)
{
    struct dhcp_rt *d = &w->svc->dhcp;
    d->state = state;
    d->tries = 1;
    if (new_xid)
        d->xid = (uint32_t)sim_mix64(w->cfg->seed ^ 0x64686370ull ^ ++d->xid_serial);
    uint8_t m = dhcp_msg_of(state);
    d->discovers += m == VW_DHCP_DISCOVER;
    d->requests += m == VW_DHCP_REQUEST;
    d->informs += m == VW_DHCP_INFORM;
    dhcp_send(w, m);
    dhcp_arm(w);
}

static void dhcp_event(struct sim_world *w, uint64_t id)
{
    struct dhcp_rt *d = &w->svc->dhcp;
    uint8_t what = (uint8_t)id;
    if (what == 0) { /* start */
        dhcp_begin(w, DH_SELECTING, true);
        return;
    }
    if (what == 2) { /* release */
        if (d->state == DH_BOUND || d->state == DH_INFORMING) {
            d->xid = (uint32_t)sim_mix64(w->cfg->seed ^ 0x72656cull ^ ++d->xid_serial);
            dhcp_send(w, VW_DHCP_RELEASE);
            d->releases++;
            d->state = DH_IDLE;
            d->gen++;
        }
        return;
    }
    if ((uint32_t)(id >> 8) != d->gen)
        return; /* answered meanwhile */
    if (d->state != DH_SELECTING && d->state != DH_REQUESTING && d->state != DH_INFORMING)
        return;
    if (d->tries >= w->cfg->dhcp.tries) {
        if (d->state == DH_INFORMING) {
            d->state = DH_BOUND;
        } else {
            d->state = DH_FAILED;
            d->failed++;
        }
        return;
    }
    d->tries++;
    d->retransmits++;
    dhcp_send(w, dhcp_msg_of(d->state));
    dhcp_arm(w);
}

/* Check the options a server answer must carry; count each that is right. */
static void dhcp_check(struct sim_world *w, const struct vw_dhcp *m, bool lease)
{
    struct dhcp_rt *d = &w->svc->dhcp;
    const struct vnat_config *c = &w->cfg->core;
    const uint8_t *p;
    uint8_t mask[4];
    vw_put32(mask, c->prefix_len ? 0xffffffffu << (32 - c->prefix_len) : 0);
    if (vw_dhcp_find(m, VW_DHCP_OPT_ROUTER, &p) == 4 && memcmp(p, c->gateway_ip.addr, 4) == 0)
        d->router_ok++;
    if (vw_dhcp_find(m, VW_DHCP_OPT_DNS, &p) == 4 && memcmp(p, c->dns_ip.addr, 4) == 0)
        d->dns_ok++;
    if (vw_dhcp_find(m, VW_DHCP_OPT_SUBNET_MASK, &p) == 4 && memcmp(p, mask, 4) == 0)
        d->mask_ok++;
    if (vw_dhcp_find(m, VW_DHCP_OPT_SERVER_ID, &p) == 4 && memcmp(p, c->gateway_ip.addr, 4) == 0)
        d->server_ok++;
    d->mtu = vw_dhcp_find(m, VW_DHCP_OPT_MTU, &p) == 2 ? vw_get16(p) : 0;
    if (!lease)
        return; /* the answer to INFORM carries no address and no times */
    d->lease = vw_dhcp_find(m, VW_DHCP_OPT_LEASE, &p) == 4 ? vw_get32(p) : 0;
    d->t1 = vw_dhcp_find(m, VW_DHCP_OPT_RENEWAL, &p) == 4 ? vw_get32(p) : 0;
    d->t2 = vw_dhcp_find(m, VW_DHCP_OPT_REBINDING, &p) == 4 ? vw_get32(p) : 0;
    if (memcmp(m->yiaddr, c->guest_ip.addr, 4) == 0)
        d->yiaddr_ok++;
}

static void dhcp_input(struct sim_world *w, const struct vw_eth *eth, const struct vw_ipv4 *ip,
                       const struct vw_udp *u)
{
    struct dhcp_rt *d = &w->svc->dhcp;
    const struct vnat_config *c = &w->cfg->core;
    struct vw_dhcp m;
    const uint8_t *p;
    if (u->sport != DHCP_SERVER_PORT || memcmp(ip->src, c->gateway_ip.addr, 4) != 0) {
        char a1[20], a2[20];
        sim_fail(w, "dhcp: an answer from %s:%u, not from the server %s:67",
                 ip_str(a1, sizeof a1, ip->src), u->sport,
                 ip_str(a2, sizeof a2, c->gateway_ip.addr));
        return;
    }
    if (vw_dhcp_parse(u->payload, u->payload_len, &m) != VW_OK || m.op != VW_BOOTREPLY ||
        vw_dhcp_find(&m, VW_DHCP_OPT_MSG_TYPE, &p) != 1) {
        sim_fail(w, "dhcp: the server sent a malformed answer");
        return;
    }
    uint8_t type = p[0];
    if (m.xid != d->xid || memcmp(m.chaddr, w->guest.cfg.mac, 6) != 0) {
        d->strays++; /* an earlier exchange's answer, or a duplicate */
        return;
    }
    if (memcmp(eth->dst, bcast_mac, 6) == 0)
        d->broadcast_replies++;
    if (type == VW_DHCP_OFFER && d->state == DH_SELECTING) {
        d->offers++;
        memcpy(d->offered, m.yiaddr, 4);
        dhcp_check(w, &m, true);
        dhcp_begin(w, DH_REQUESTING, false); /* RFC 2131: the REQUEST keeps the xid */
    } else if (type == VW_DHCP_ACK && d->state == DH_REQUESTING) {
        d->acks++;
        d->bound++;
        dhcp_check(w, &m, true);
        d->state = DH_BOUND;
        d->gen++;
        if (w->cfg->dhcp.inform)
            dhcp_begin(w, DH_INFORMING, true);
    } else if (type == VW_DHCP_NAK && d->state == DH_REQUESTING) {
        d->naks++;
        d->gen++;
        if (d->restarted) {
            d->state = DH_FAILED;
            d->failed++;
        } else {
            d->restarted = true;
            dhcp_begin(w, DH_SELECTING, true);
        }
    } else if (type == VW_DHCP_ACK && d->state == DH_INFORMING) {
        d->inform_acks++;
        /* RFC 2131 4.3.5: no address, no lease time. */
        if (memcmp(m.yiaddr, zero_ip, 4) == 0 && vw_dhcp_find(&m, VW_DHCP_OPT_LEASE, &p) < 0) {
            dhcp_check(w, &m, false);
            d->inform_ok++;
        }
        d->state = DH_BOUND;
        d->gen++;
    } else {
        d->strays++;
    }
}

/* ---- receiving ------------------------------------------------------------------------ */

static struct app *app_by_port(struct gsvc *g, uint16_t port, uint32_t *idx)
{
    uint32_t v = g->by_port[port];
    if (v == 0)
        return NULL;
    *idx = v - 1;
    return &g->apps[v - 1];
}

static void note_reply(struct sim_world *w, struct app *a, uint32_t seq)
{
    if (a->seen[seq]) {
        a->dups++;
        return;
    }
    a->seen[seq] = 1;
    a->received++;
    uint64_t rtt = w->q.now - a->sent_at[seq];
    if (rtt > a->rtt_max)
        a->rtt_max = rtt;
}

/* A payload as fill_payload made it: application i, a sent sequence. */
static bool payload_check(struct sim_world *w, uint32_t i, const uint8_t *p, size_t len,
                          uint32_t *seq, const char *what)
{
    struct gsvc *g = w->svc;
    const struct gsvc_spec *sp = &w->cfg->svcs[i];
    struct app *a = &g->apps[i];
    if (len != sp->size || vw_get32(p) != i || vw_get32(p + 4) >= a->next) {
        sim_fail(w, "%s %u (%s): a %zu-byte reply that is no %u-byte payload it sent", what, i,
                 w->cfg->groups[sp->group].name, len, sp->size);
        return false;
    }
    *seq = vw_get32(p + 4);
    fill_payload(a, i, *seq, g->buf, len);
    if (memcmp(g->buf, p, len) != 0) {
        size_t k = 0;
        while (k < len && g->buf[k] == p[k])
            k++;
        sim_fail(w, "%s %u (%s): reply %u differs from what was sent at byte %zu", what, i,
                 w->cfg->groups[sp->group].name, *seq, k);
        return false;
    }
    return true;
}

static void udp_reply(struct sim_world *w, uint32_t i, const struct vw_ipv4 *ip,
                      const struct vw_udp *u)
{
    const struct gsvc_spec *sp = &w->cfg->svcs[i];
    if (memcmp(ip->src, sp->dst.ip.addr, 4) != 0 || u->sport != sp->dst.port) {
        char a1[20], a2[20];
        sim_fail(w, "udp flow %u: a reply from %s:%u, but it sent to %s:%u", i,
                 ip_str(a1, sizeof a1, ip->src), u->sport, ip_str(a2, sizeof a2, sp->dst.ip.addr),
                 sp->dst.port);
        return;
    }
    uint32_t seq;
    if (payload_check(w, i, u->payload, u->payload_len, &seq, "udp flow"))
        note_reply(w, &w->svc->apps[i], seq);
}

static void dns_reply(struct sim_world *w, uint32_t i, uint16_t port, const struct vw_ipv4 *ip,
                      const struct vw_udp *u)
{
    struct gsvc *g = w->svc;
    const struct gsvc_spec *sp = &w->cfg->svcs[i];
    struct app *a = &g->apps[i];
    const struct vnat_config *c = &w->cfg->core;
    const char *gn = w->cfg->groups[sp->group].name;
    char a1[20];
    uint32_t q = dns_query_on(sp, a, (uint32_t)(port - a->port),
                              u->payload_len >= 2 ? vw_get16(u->payload) : 0);
    if (q >= a->next) {
        sim_fail(w, "dns %u (%s): an answer on port %u, where no query was sent", i, gn, port);
        return;
    }
    if (memcmp(ip->src, c->dns_ip.addr, 4) != 0 || u->sport != DNS_PORT) {
        sim_fail(w, "dns %u (%s): an answer from %s:%u, not from the DNS address", i, gn,
                 ip_str(a1, sizeof a1, ip->src), u->sport);
        return;
    }
    size_t qlen = build_query(sp, a, q, g->buf);
    const uint8_t *m = u->payload;
    size_t len = u->payload_len;
    if (len < qlen || memcmp(m, g->buf, 2) != 0 || !(m[2] & 0x80) || (m[3] & 0x0F) != 0 ||
        vw_get16(m + 4) != 1 || vw_get16(m + 6) == 0 ||
        memcmp(m + 12, g->buf + 12, qlen - 12) != 0) {
        sim_fail(w, "dns %u (%s): answer %u does not match its query (ID, flags or question)", i,
                 gn, q);
        return;
    }
    size_t off = vw_dns_skip_name(m, len, qlen);
    if (off == 0 || off + 14 > len || vw_get16(m + off) != 1 || vw_get16(m + off + 2) != 1 ||
        vw_get16(m + off + 8) != 4) {
        sim_fail(w, "dns %u (%s): answer %u carries no A record", i, gn, q);
        return;
    }
    uint32_t ttl = vw_get32(m + off + 4);
    const uint8_t *addr = m + off + 10;
    if (sp->has_answer && memcmp(addr, sp->answer, 4) != 0) {
        sim_fail(w, "dns %u (%s): answer %u is %s, not the expected address", i, gn, q,
                 ip_str(a1, sizeof a1, addr));
        return;
    }
    if (!a->seen[q]) {
        if (a->received == 0 || ttl < a->ttl_min)
            a->ttl_min = ttl;
        if (ttl > a->ttl_max)
            a->ttl_max = ttl;
    }
    note_reply(w, a, q);
}

static void echo_reply(struct sim_world *w, const struct vw_ipv4 *ip, const struct vw_icmp *m)
{
    struct gsvc *g = w->svc;
    uint32_t v = g->by_ident[m->id];
    if (v == 0) {
        sim_fail(w,
                 "ping: an echo reply with identifier %u, which no pinger used (not "
                 "translated back?)",
                 m->id);
        return;
    }
    uint32_t i = v - 1;
    const struct gsvc_spec *sp = &w->cfg->svcs[i];
    if (memcmp(ip->src, sp->dst.ip.addr, 4) != 0) {
        char a1[20], a2[20];
        sim_fail(w, "ping %u: an echo reply from %s, but it pinged %s", i,
                 ip_str(a1, sizeof a1, ip->src), ip_str(a2, sizeof a2, sp->dst.ip.addr));
        return;
    }
    uint32_t seq;
    if (!payload_check(w, i, m->payload, m->payload_len, &seq, "ping"))
        return;
    if (m->seq != (uint16_t)seq) {
        sim_fail(w, "ping %u: echo reply sequence %u carries the payload of %u", i, m->seq, seq);
        return;
    }
    note_reply(w, &g->apps[i], seq);
}

/* An ICMP error quoting one of our datagrams: whose, and count it. */
static void icmp_error(struct sim_world *w, const struct vw_icmp *m)
{
    struct gsvc *g = w->svc;
    const uint8_t *q = m->payload;
    size_t len = m->payload_len;
    struct app *a = NULL;
    uint32_t idx;
    if (len >= VW_IPV4_HLEN && (q[0] >> 4) == 4) {
        size_t ihl = (size_t)(q[0] & 0x0F) * 4;
        const uint8_t *l4 = q + ihl;
        if (ihl >= VW_IPV4_HLEN && len >= ihl + 8 &&
            memcmp(q + 12, w->cfg->core.guest_ip.addr, 4) == 0) {
            if (q[9] == VW_IPPROTO_UDP) {
                a = app_by_port(g, vw_get16(l4), &idx);
            } else if (q[9] == VW_IPPROTO_ICMP && l4[0] == VW_ICMP_ECHO_REQUEST) {
                uint32_t v = g->by_ident[vw_get16(l4 + 4)];
                a = v ? &g->apps[v - 1] : NULL;
            }
        }
    }
    if (a == NULL) {
        g->unmatched++;
        return;
    }
    a->icmp_errors++;
    if (m->type == VW_ICMP_DEST_UNREACH && m->code == 3)
        a->unreach++;
    if (m->type == VW_ICMP_DEST_UNREACH && m->code == 13)
        a->prohibited++;
}

bool gsvc_on_frame(struct sim_world *w, const uint8_t *frame, size_t len)
{
    struct gsvc *g = w->svc;
    if (g == NULL)
        return false;
    const struct vnat_config *c = &w->cfg->core;
    struct vw_eth eth;
    struct vw_ipv4 ip;
    if (vw_eth_parse(frame, len, &eth) != VW_OK || eth.ethertype != VW_ETH_P_IPV4 ||
        vw_ipv4_parse(eth.payload, eth.payload_len, &ip) != VW_OK || ip.is_fragment)
        return false; /* gtcp.c counts it */
    if (memcmp(eth.dst, w->guest.cfg.mac, 6) != 0 && memcmp(eth.dst, bcast_mac, 6) != 0)
        return false; /* not for this guest (gtcp.c counts it) */
    bool to_guest = memcmp(ip.dst, c->guest_ip.addr, 4) == 0;
    if (ip.proto == VW_IPPROTO_UDP) {
        struct vw_udp u;
        if (vw_udp_parse(ip.payload, ip.payload_len, &u) != VW_OK)
            return false;
        uint32_t idx = 0;
        struct app *a = app_by_port(g, u.dport, &idx);
        bool dhcp = u.dport == DHCP_CLIENT_PORT && w->cfg->dhcp.on;
        if (a == NULL && !dhcp)
            return false;
        if (!vw_l4_csum_ok4(ip.src, ip.dst, VW_IPPROTO_UDP, ip.payload, ip.payload_len)) {
            g->bad_csum++;
            return true;
        }
        if (dhcp) {
            if (to_guest || memcmp(ip.dst, bcast_ip, 4) == 0)
                dhcp_input(w, &eth, &ip, &u);
            else
                sim_fail(w, "dhcp: an answer to neither the guest nor broadcast");
        } else if (!to_guest) {
            sim_fail(w, "gsvc: a datagram for port %u not addressed to the guest", u.dport);
        } else if (w->cfg->svcs[idx].kind == GS_DNS) {
            dns_reply(w, idx, u.dport, &ip, &u);
        } else {
            udp_reply(w, idx, &ip, &u);
        }
        return true;
    }
    if (ip.proto != VW_IPPROTO_ICMP)
        return false;
    struct vw_icmp m;
    if (vw_icmp4_parse(ip.payload, ip.payload_len, &m) != VW_OK) {
        g->bad_csum++;
        return true;
    }
    if (to_guest && m.type == VW_ICMP_DEST_UNREACH && m.payload_len >= VW_IPV4_HLEN + 8 &&
        m.payload[9] == VW_IPPROTO_TCP)
        return false; /* an error for a guest TCP connection: gtcp.c */
    if (!to_guest)
        sim_fail(w, "gsvc: an ICMP message not addressed to the guest");
    else if (m.type == VW_ICMP_ECHO_REPLY)
        echo_reply(w, &ip, &m);
    else if (m.type == VW_ICMP_DEST_UNREACH || m.type == VW_ICMP_TIME_EXCEEDED)
        icmp_error(w, &m);
    else
        g->unmatched++;
    return true;
}

/* ---- life cycle ---------------------------------------------------------------------- */

int gsvc_init(struct sim_world *w)
{
    const struct sim_config *cfg = w->cfg;
    if (!gsvc_configured(cfg))
        return 0;
    struct gsvc *g = calloc(1, sizeof *g);
    if (g == NULL)
        return -1;
    w->svc = g;
    g->apps = calloc(cfg->n_svcs ? cfg->n_svcs : 1, sizeof *g->apps);
    g->by_port = calloc(65536, sizeof *g->by_port);
    g->by_ident = calloc(65536, sizeof *g->by_ident);
    g->buf_cap = 65536;
    g->buf = malloc(g->buf_cap);
    if (g->apps == NULL || g->by_port == NULL || g->by_ident == NULL || g->buf == NULL)
        return -1;
    uint32_t port = GSVC_PORT_BASE;
    for (uint32_t i = 0; i < cfg->n_svcs; i++) {
        const struct gsvc_spec *sp = &cfg->svcs[i];
        struct app *a = &g->apps[i];
        a->salt = sim_mix64(cfg->seed ^ 0x67737663ull ^ ((uint64_t)i << 24)) | 1;
        a->seen = calloc(sp->count, 1);
        a->sent_at = calloc(sp->count, sizeof *a->sent_at);
        if (a->seen == NULL || a->sent_at == NULL)
            return -1;
        if (sp->kind == GS_UDP || sp->kind == GS_DNS) {
            uint32_t need = sp->kind == GS_DNS ? dns_ports(sp) : 1;
            if (port + need > GSVC_PORT_LIMIT + 1) {
                sim_fail(w, "gsvc: more than %u guest ports", GSVC_PORT_LIMIT - GSVC_PORT_BASE);
                return 0;
            }
            a->port = (uint16_t)port;
            for (uint32_t k = 0; k < need; k++)
                g->by_port[port + k] = i + 1;
            port += need;
        }
        if (sp->kind == GS_PING) {
            /* Distinct, and unlike anything a host would choose by itself. */
            a->ident = (uint16_t)(0x1000 + i);
            g->by_ident[a->ident] = i + 1;
        }
        if ((sp->kind == GS_UDP || sp->kind == GS_PING) &&
            sp->size + VW_IPV4_HLEN + VW_UDP_HLEN > cfg->core.mtu) {
            sim_fail(w, "gsvc: %u-byte payloads do not fit MTU %u", sp->size, cfg->core.mtu);
            return 0;
        }
        sim_schedule(w, cfg->start_time + sp->start, EV_SVC, i, 0, NULL);
    }
    if (cfg->dhcp.on) {
        sim_schedule(w, cfg->start_time + cfg->dhcp.start, EV_SVC, GSVC_DHCP, 0, NULL);
        if (cfg->dhcp.release_at)
            sim_schedule(w, cfg->start_time + cfg->dhcp.release_at, EV_SVC, GSVC_DHCP, 2, NULL);
    }
    return 0;
}

void gsvc_free(struct sim_world *w)
{
    struct gsvc *g = w->svc;
    if (g == NULL)
        return;
    for (uint32_t i = 0; g->apps && i < w->cfg->n_svcs; i++) {
        free(g->apps[i].seen);
        free(g->apps[i].sent_at);
    }
    free(g->apps);
    free(g->by_port);
    free(g->by_ident);
    free(g->buf);
    free(g);
    w->svc = NULL;
}

void gsvc_on_event(struct sim_world *w, const struct sim_event *ev)
{
    if (w->svc == NULL)
        return;
    if (ev->arg == GSVC_DHCP)
        dhcp_event(w, ev->id);
    else if (ev->arg < w->cfg->n_svcs)
        app_send(w, ev->arg);
}

/* ---- metrics --------------------------------------------------------------------------- */

static bool dhcp_metric(const struct dhcp_rt *d, const char *m, uint64_t *out)
{
    static const struct {
        const char *name;
        size_t off;
    } f[] = {
#define DF(x) {#x, offsetof(struct dhcp_rt, x)}
        DF(discovers),
        DF(offers),
        DF(requests),
        DF(acks),
        DF(naks),
        DF(informs),
        DF(inform_acks),
        DF(inform_ok),
        DF(releases),
        DF(retransmits),
        DF(strays),
        DF(bound),
        DF(failed),
        DF(yiaddr_ok),
        DF(router_ok),
        DF(dns_ok),
        DF(mask_ok),
        DF(server_ok),
        DF(mtu),
        DF(lease),
        DF(t1),
        DF(t2),
        DF(broadcast_replies),
#undef DF
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (strcmp(m, f[i].name) == 0) {
            memcpy(out, (const char *)d + f[i].off, sizeof *out);
            return true;
        }
    return false;
}

bool gsvc_metric(const struct sim_world *w, const char *name, uint64_t *out)
{
    const struct sim_config *cfg = w->cfg;
    const struct gsvc *g = w->svc;
    if (strncmp(name, "dhcp.", 5) == 0) {
        static const struct dhcp_rt none;
        return dhcp_metric(g ? &g->dhcp : &none, name + 5, out);
    }
    const char *dot = strchr(name, '.');
    if (dot == NULL)
        return false;
    size_t glen = (size_t)(dot - name);
    const char *m = dot + 1;
    uint32_t grp;
    for (grp = 0; grp < cfg->n_groups; grp++)
        if (strlen(cfg->groups[grp].name) == glen &&
            strncmp(cfg->groups[grp].name, name, glen) == 0)
            break;
    if (grp == cfg->n_groups)
        return false;
    static const char *const names[] = {
        "dgrams_sent",  "dgrams_received", "queries", "answers",     "echo_sent",
        "echo_replies", "spoofed_sent",    "dups",    "unreachable", "prohibited",
        "icmp_errors",  "ttl_min",         "ttl_max", "rtt_max",     "apps",
    };
    int which = -1;
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(m, names[i]) == 0)
            which = i;
    if (which < 0)
        return false;
    /* A group of TCP flows only ("unreachable" is a TCP outcome too): not ours. */
    bool has_svc = false;
    for (uint32_t i = 0; i < cfg->n_svcs && !has_svc; i++)
        has_svc = grp == 0 || cfg->svcs[i].group == grp;
    if (!has_svc)
        return false;
    static const uint8_t kind_of[] = {GS_UDP, GS_UDP, GS_DNS, GS_DNS, GS_PING, GS_PING, GS_SPOOF};
    uint64_t v = 0;
    bool first = true;
    for (uint32_t i = 0; g != NULL && i < cfg->n_svcs; i++) {
        const struct gsvc_spec *sp = &cfg->svcs[i];
        const struct app *a = &g->apps[i];
        if (grp != 0 && sp->group != grp)
            continue;
        if (which < 7 && sp->kind != kind_of[which])
            continue;
        switch (which) {
        case 0:
        case 2:
        case 4:
        case 6:
            v += a->sent;
            break;
        case 1:
        case 3:
        case 5:
            v += a->received;
            break;
        case 7:
            v += a->dups;
            break;
        case 8:
            v += a->unreach;
            break;
        case 9:
            v += a->prohibited;
            break;
        case 10:
            v += a->icmp_errors;
            break;
        case 11: /* over the applications that got an answer */
            if (a->received && (first || a->ttl_min < v))
                v = a->ttl_min;
            first = first && a->received == 0;
            break;
        case 12:
            v = a->ttl_max > v ? a->ttl_max : v;
            break;
        case 13:
            v = a->rtt_max > v ? a->rtt_max : v;
            break;
        default:
            v++;
            break;
        }
    }
    *out = v;
    return true;
}

/* ---- swarm outcome rules ------------------------------------------------------------ */

static uint64_t short_of(uint64_t sent, uint64_t got)
{
    return got < sent ? sent - got : 0;
}

/* What each application must have seen, given where it sent (docs/
 * simulator.md, Swarm). Returns the replies missing where one was due. */
uint64_t gsvc_outcome_checks(struct sim_world *w, const struct sim_svc_bounds *b)
{
    const struct sim_config *cfg = w->cfg;
    const struct vnat_config *c = &cfg->core;
    struct gsvc *g = w->svc;
    if (g == NULL)
        return 0;
    uint64_t missing = 0;
    bool resolver_refuses = false, resolver_answers = false;
    for (uint32_t k = 0; k < c->n_dns_servers; k++) {
        const struct sim_dest *d = sim_find_dest(cfg, &c->dns_servers[k]);
        resolver_refuses |= d->connect == SC_REFUSE;
        resolver_answers |= d->connect == SC_ACCEPT && d->dns;
    }
    uint64_t spoofed = 0;
    for (uint32_t i = 0; i < cfg->n_svcs && !w->failed; i++) {
        const struct gsvc_spec *sp = &cfg->svcs[i];
        const struct app *a = &g->apps[i];
        const char *gn = cfg->groups[sp->group].name;
        /* what the application's traffic meets */
        enum { R_ANSWER, R_SILENT, R_UNREACH, R_PROHIBITED, R_DNS } due = R_SILENT;
        if (sp->kind == GS_SPOOF) {
            spoofed += a->sent;
            continue;
        }
        if (sp->kind == GS_DNS) {
            due = c->n_dns_servers == 0 ? R_PROHIBITED : R_DNS;
        } else if (sp->kind == GS_PING && memcmp(sp->dst.ip.addr, c->dns_ip.addr, 4) == 0) {
            due = R_ANSWER; /* the core answers echo requests to its DNS address */
        } else {
            uint8_t proto = sp->kind == GS_PING ? VNAT_PROTO_ICMP : VNAT_PROTO_UDP;
            const struct sim_dest *d = sim_find_dest(cfg, &sp->dst);
            if (sim_policy_denies(c, proto, &sp->dst))
                due = R_PROHIBITED;
            else if (d->connect == SC_REFUSE && sp->kind == GS_UDP)
                due = R_UNREACH;
            else if (d->connect == SC_ACCEPT && d->udp_echo)
                due = R_ANSWER;
            else if (d->connect != SC_ACCEPT)
                continue; /* a ping to a refusing host: counted by the core, not translated */
        }
        /* Replies only where something answers: never a limit or a loss
         * can make one up. */
        bool answers = due == R_ANSWER || (due == R_DNS && resolver_answers);
        if (!answers && a->received != 0) {
            sim_fail(w, "%s (app %u): %" PRIu64 " replies, but nothing there answers", gn, i,
                     a->received);
            break;
        }
        /* No ICMP error where none is due; a limit may cost an error (a
         * socket the host refused), so only without one. */
        bool errors_ok =
            due == R_UNREACH || due == R_PROHIBITED || (due == R_DNS && resolver_refuses);
        if (!errors_ok && !b->limits && a->icmp_errors != 0) {
            sim_fail(w, "%s (app %u): %" PRIu64 " ICMP errors, where none is due", gn, i,
                     a->icmp_errors);
            break;
        }
        if (due == R_PROHIBITED && a->unreach != 0) {
            sim_fail(w, "%s (app %u): port unreachable from a destination the rules deny", gn, i);
            break;
        }
        switch (due) {
        case R_ANSWER:
            missing += short_of(a->sent, a->received);
            break;
        case R_UNREACH:
            missing += short_of(a->sent, a->unreach);
            break;
        case R_PROHIBITED:
            missing += short_of(a->sent, a->prohibited);
            break;
        case R_DNS:
            /* an answer, or port unreachable from a refusing resolver */
            missing += short_of(a->sent, a->received + a->unreach);
            break;
        default:
            break;
        }
    }
    if (w->failed)
        return missing;
    /* Spoofed frames: each one that reached the core is dropped and counted;
     * a corrupted one too (a flip elsewhere in it can still leave a frame
     * that parses), and a duplicated frame twice. */
    if (spoofed != 0) {
        struct vnat_stats st;
        vnat_get_stats(w->nat, &st, sizeof st);
        uint64_t drops = st.drops[VNAT_DROP_SPOOFED];
        if (drops + b->damage < spoofed ||
            drops > spoofed + w->l_to_core.dup + w->l_to_core.corrupted)
            sim_fail(w, "%" PRIu64 " spoofed frames sent, %" PRIu64 " counted spoofed_source",
                     spoofed, drops);
    }
    /* DHCP: every server answer carries the right router, DNS server,
     * mask, server identifier (and the offered address and lease); when no
     * datagram was lost (TCP losses cannot touch DHCP) the client is bound
     * (and informed). */
    const struct dhcp_rt *d = &g->dhcp;
    if (cfg->dhcp.on && !w->failed) {
        uint64_t checked = d->offers + d->acks + d->inform_ok;
        if (d->router_ok != checked || d->dns_ok != checked || d->mask_ok != checked ||
            d->server_ok != checked || d->yiaddr_ok != d->offers + d->acks)
            sim_fail(w,
                     "dhcp: of %" PRIu64 " answers, router %" PRIu64 " dns %" PRIu64
                     " mask %" PRIu64 " server %" PRIu64 " right; address right in %" PRIu64
                     " of %" PRIu64,
                     checked, d->router_ok, d->dns_ok, d->mask_ok, d->server_ok, d->yiaddr_ok,
                     d->offers + d->acks);
        else if (d->acks != 0 && (d->mtu != c->mtu || d->lease != c->dhcp_lease_s))
            sim_fail(w, "dhcp: the ACK carries MTU %" PRIu64 " lease %" PRIu64 ", not %u and %u",
                     d->mtu, d->lease, c->mtu, c->dhcp_lease_s);
        else if (b->dgram_budget == 0 && (d->bound != 1 || d->failed != 0 || d->naks != 0 ||
                                          (cfg->dhcp.inform && d->inform_ok != 1)))
            sim_fail(w,
                     "dhcp with no datagram lost: bound %" PRIu64 " failed %" PRIu64
                     " naks %" PRIu64 " informed %" PRIu64,
                     d->bound, d->failed, d->naks, d->inform_ok);
    }
    return missing;
}

void gsvc_report(const struct sim_world *w, FILE *out)
{
    const struct sim_config *cfg = w->cfg;
    const struct gsvc *g = w->svc;
    if (g == NULL)
        return;
    static const char *const kinds[] = {"?", "udp", "dns", "ping", "spoof"};
    for (uint32_t i = 0; i < cfg->n_svcs; i++) {
        const struct gsvc_spec *sp = &cfg->svcs[i];
        const struct app *a = &g->apps[i];
        fprintf(out,
                "  svc %2u %-5s %-6s -> %u.%u.%u.%u:%u count %u size %u: sent %" PRIu64
                " replies %" PRIu64 " dups %" PRIu64 " unreach %" PRIu64 " prohibited %" PRIu64
                " icmp_errors %" PRIu64 "\n",
                i, kinds[sp->kind < 5 ? sp->kind : 0], cfg->groups[sp->group].name,
                sp->dst.ip.addr[0], sp->dst.ip.addr[1], sp->dst.ip.addr[2], sp->dst.ip.addr[3],
                sp->dst.port, sp->count, sp->size, a->sent, a->received, a->dups, a->unreach,
                a->prohibited, a->icmp_errors);
    }
    if (cfg->dhcp.on)
        fprintf(out,
                "  dhcp: offers %" PRIu64 " acks %" PRIu64 " bound %" PRIu64 " failed %" PRIu64
                " informed %" PRIu64 " retransmits %" PRIu64 "\n",
                g->dhcp.offers, g->dhcp.acks, g->dhcp.bound, g->dhcp.failed, g->dhcp.inform_ok,
                g->dhcp.retransmits);
}
