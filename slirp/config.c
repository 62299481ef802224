/*
 * config.c — SlirpConfig onto vnat_config, every field checked. Pure: the
 * resolvers (environment, /etc/resolv.conf) are read by vs_resolvers only,
 * so the mapping and its refusals are pinned without a host
 * (slirp/tests/config_pins.c). The mapping table is docs/libslirp.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* libslirp's defaults for if_mtu and if_mru (0 in the config). */
#define VS_MTU_DEFAULT 1500u
#define VS_MTU_MIN 576u   /* the core's lower bound */
#define VS_MTU_MAX 65521u /* the core's (and libslirp's) upper bound */

static int refuse(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(char *why, size_t why_len, const char *fmt, ...)
{
    if (why != NULL && why_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static uint32_t be32(struct in_addr a)
{
    return ntohl(a.s_addr);
}

static struct vnat_ip ip_of(uint32_t host_order)
{
    return vnat_ip4((uint8_t)(host_order >> 24), (uint8_t)(host_order >> 16),
                    (uint8_t)(host_order >> 8), (uint8_t)host_order);
}

static const char *dotted(uint32_t v, char *buf, size_t len)
{
    snprintf(buf, len, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255u, (v >> 8) & 255u, v & 255u);
    return buf;
}

/* A netmask is contiguous ones then zeros. Returns the prefix length, or -1
 * for a mask with holes. */
static int mask_prefix(uint32_t mask)
{
    uint32_t inv = ~mask;
    if ((inv & (inv + 1u)) != 0)
        return -1;
    return __builtin_popcount(mask);
}

/* An address usable by a host inside net/mask: in the network, neither its
 * network nor its broadcast address. Returns NULL, or what is wrong. */
static const char *bad_member(uint32_t a, uint32_t net, uint32_t mask)
{
    if ((a & mask) != net)
        return "is outside the network";
    if ((a & ~mask) == 0)
        return "is the network address";
    if ((a & ~mask) == ~mask)
        return "is the broadcast address";
    return NULL;
}

static int map_mtu(size_t v, const char *name, uint32_t *out, char *why, size_t why_len)
{
    if (v == 0) {
        *out = VS_MTU_DEFAULT;
        return 0;
    }
    if (v < VS_MTU_MIN || v > VS_MTU_MAX)
        return refuse(why, why_len, "%s %zu is outside %u..%u", name, v, VS_MTU_MIN, VS_MTU_MAX);
    *out = (uint32_t)v;
    return 0;
}

/* The IPv4 network: vnetwork, vnetmask, vhost, vdhcp_start, vnameserver. */
static int map_addresses(const SlirpConfig *sc, struct vs_config *out, char *why, size_t why_len)
{
    char b1[16], b2[16];
    uint32_t net = be32(sc->vnetwork), mask = be32(sc->vnetmask);
    uint32_t host = be32(sc->vhost), dhcp = be32(sc->vdhcp_start), dns = be32(sc->vnameserver);
    int prefix = mask_prefix(mask);
    if (prefix < 0)
        return refuse(why, why_len, "netmask %s has holes", dotted(mask, b1, sizeof b1));
    if (prefix < 1 || prefix > 30)
        return refuse(why, why_len, "netmask %s (/%d) is outside /1../30",
                      dotted(mask, b1, sizeof b1), prefix);
    if ((net & ~mask) != 0)
        return refuse(why, why_len, "network %s has bits set outside netmask %s",
                      dotted(net, b1, sizeof b1), dotted(mask, b2, sizeof b2));
    const char *bad = bad_member(host, net, mask);
    if (bad)
        return refuse(why, why_len, "host address %s %s %s/%d", dotted(host, b1, sizeof b1), bad,
                      dotted(net, b2, sizeof b2), prefix);
    if ((bad = bad_member(dns, net, mask)) != NULL)
        return refuse(why, why_len, "DNS address %s %s %s/%d", dotted(dns, b1, sizeof b1), bad,
                      dotted(net, b2, sizeof b2), prefix);
    if ((bad = bad_member(dhcp, net, mask)) != NULL)
        return refuse(why, why_len, "DHCP start %s %s %s/%d", dotted(dhcp, b1, sizeof b1), bad,
                      dotted(net, b2, sizeof b2), prefix);
    if (dns == host)
        return refuse(why, why_len, "DNS address %s is the host address",
                      dotted(dns, b1, sizeof b1));
    if (dhcp == host || dhcp == dns)
        return refuse(why, why_len, "DHCP start %s is the %s address", dotted(dhcp, b1, sizeof b1),
                      dhcp == host ? "host" : "DNS");
    out->cfg.prefix_len = (uint8_t)prefix;
    out->cfg.gateway_ip = ip_of(host);
    out->cfg.dns_ip = ip_of(dns);
    out->cfg.guest_ip = ip_of(dhcp); /* the one guest: DHCP leases it */
    out->network = ip_of(net);
    return 0;
}

/* What vnat does not serve: refused with a message rather than ignored,
 * so a user who asked for it learns at once. */
static int map_unsupported(const SlirpConfig *sc, char *why, size_t why_len)
{
    if (sc->tftp_path != NULL)
        return refuse(why, why_len, "TFTP (tftp=%s) is not supported by vnat", sc->tftp_path);
    if (sc->bootfile != NULL)
        return refuse(why, why_len, "bootfile (%s) is not supported by vnat (no TFTP)",
                      sc->bootfile);
    if (!sc->in_enabled)
        return refuse(why, why_len,
                      "IPv4 disabled: vnat serves IPv4 only (IPv6 frames are "
                      "dropped until the IPv6 issue lands)");
    return 0;
}

int vs_config_map(const SlirpConfig *sc, struct vs_config *out, char *why, size_t why_len)
{
    if (why != NULL && why_len > 0)
        why[0] = '\0';
    if (sc == NULL || out == NULL)
        return refuse(why, why_len, "no configuration given");
    if (sc->version < SLIRP_CONFIG_VERSION_MIN || sc->version > SLIRP_CONFIG_VERSION_MAX)
        return refuse(why, why_len, "SlirpConfig version %u is outside %d..%d", sc->version,
                      SLIRP_CONFIG_VERSION_MIN, SLIRP_CONFIG_VERSION_MAX);
    memset(out, 0, sizeof *out);
    vnat_config_init(&out->cfg);
    if (map_unsupported(sc, why, why_len) < 0 || map_addresses(sc, out, why, why_len) < 0)
        return -1;
    uint32_t mtu = 0, mru = 0;
    if (map_mtu(sc->if_mtu, "if_mtu", &mtu, why, why_len) < 0 ||
        map_mtu(sc->if_mru, "if_mru", &mru, why, why_len) < 0)
        return -1;
    out->cfg.mtu = mtu; /* the MRU is checked, not enforced: the core takes any frame size */
    if (sc->restricted) {
        /* The guest may reach only forwards: deny every egress destination
         * (the core's rules govern guest egress, never inbound forwards). */
        out->deny_all = (struct vnat_rule){.action = VNAT_RULE_DENY,
                                           .proto = VNAT_PROTO_ANY,
                                           .prefix = 0,
                                           .net = vnat_ip4(0, 0, 0, 0),
                                           .port_lo = 0,
                                           .port_hi = 65535};
        out->cfg.rules = &out->deny_all;
        out->cfg.n_rules = 1;
    }
    if (sc->disable_host_loopback)
        out->cfg.flags &= ~VNAT_F_GATEWAY_IS_LOOPBACK;
    if (sc->version >= 2) {
        if (sc->outbound_addr != NULL && sc->outbound_addr->sin_family != AF_INET)
            return refuse(why, why_len, "outbound_addr is not an IPv4 address (family %d)",
                          sc->outbound_addr->sin_family);
        out->outbound_addr_given = sc->outbound_addr != NULL;
        /* outbound_addr6 is IPv6: accepted and unused, like every IPv6 field. */
    }
    if (sc->version >= 3 && sc->disable_dns) {
        out->cfg.n_dns_servers = 0; /* and vs_resolvers is not asked */
        out->dns_disabled = true;
    }
    if (sc->version >= 4 && sc->disable_dhcp)
        out->cfg.flags &= ~VNAT_F_DHCP;
    if (sc->vhostname != NULL && strlen(sc->vhostname) > 255)
        return refuse(why, why_len, "vhostname is longer than 255 bytes");
    if (sc->vdomainname != NULL && (sc->vdomainname[0] == '\0' || strlen(sc->vdomainname) > 255))
        return refuse(why, why_len, "vdomainname is empty or longer than 255 bytes");
    return 0;
}

static int parse_ip4(const char *s, size_t n, struct vnat_ip *out)
{
    char buf[16];
    struct in_addr a;
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, &a) != 1)
        return -1;
    *out = ip_of(ntohl(a.s_addr));
    return 0;
}

static int parse_one_server(const char *s, size_t n, struct vnat_sockaddr *out)
{
    memset(out, 0, sizeof *out);
    out->port = 53;
    const char *colon = memchr(s, ':', n);
    size_t addr_len = colon ? (size_t)(colon - s) : n;
    if (colon) {
        char port[8];
        size_t pl = n - addr_len - 1;
        if (pl == 0 || pl >= sizeof port)
            return -1;
        memcpy(port, colon + 1, pl);
        port[pl] = '\0';
        char *end;
        unsigned long p = strtoul(port, &end, 10);
        if (*end != '\0' || p == 0 || p > 65535)
            return -1;
        out->port = (uint16_t)p;
    }
    return parse_ip4(s, addr_len, &out->ip);
}

int vs_dns_list_parse(const char *list, struct vnat_config *cfg, char *why, size_t why_len)
{
    cfg->n_dns_servers = 0;
    const char *p = list;
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        struct vnat_sockaddr a;
        if (parse_one_server(p, n, &a) < 0)
            return refuse(why, why_len, "%s: bad entry '%.*s' (want ADDR[:PORT],...)", VS_ENV_DNS,
                          (int)(n > 64 ? 64 : n), p);
        if (cfg->n_dns_servers < VNAT_MAX_DNS_SERVERS)
            cfg->dns_servers[cfg->n_dns_servers++] = a;
        p += n;
        if (*p == ',')
            p++;
    }
    return (int)cfg->n_dns_servers;
}

int vs_resolv_conf_parse(const char *text, struct vnat_config *cfg)
{
    cfg->n_dns_servers = 0;
    const char *line = text;
    while (line != NULL && *line != '\0') {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        const char *p = line, *end = line + len;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        static const char kw[] = "nameserver";
        if ((size_t)(end - p) > sizeof kw && memcmp(p, kw, sizeof kw - 1) == 0 &&
            (p[sizeof kw - 1] == ' ' || p[sizeof kw - 1] == '\t')) {
            p += sizeof kw - 1;
            while (p < end && (*p == ' ' || *p == '\t'))
                p++;
            const char *a = p;
            while (p < end && *p != ' ' && *p != '\t' && *p != '\r' && *p != '#')
                p++;
            struct vnat_sockaddr s = {.port = 53};
            if (cfg->n_dns_servers < VNAT_MAX_DNS_SERVERS &&
                parse_ip4(a, (size_t)(p - a), &s.ip) == 0)
                cfg->dns_servers[cfg->n_dns_servers++] = s;
        }
        line = nl ? nl + 1 : NULL;
    }
    return (int)cfg->n_dns_servers;
}

int vs_resolvers(struct vnat_config *cfg, char *why, size_t why_len)
{
    const char *env = getenv(VS_ENV_DNS);
    if (env != NULL)
        return vs_dns_list_parse(env, cfg, why, why_len);
    cfg->n_dns_servers = 0;
    FILE *f = fopen(VS_RESOLV_CONF, "re");
    if (f == NULL)
        return 0;
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return vs_resolv_conf_parse(text, cfg);
}
