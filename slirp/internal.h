/*
 * internal.h — the libslirp-compatible library's own pieces (slirp/). The
 * public contract is Debian's <slirp/libslirp.h>; this header names what the
 * library's files share: the configuration mapping (config.c, pure, pinned
 * by slirp/tests/config_pins.c), the resolver list, and the flow listing
 * for slirp_connection_info (info.c). See docs/libslirp.md.
 */
#ifndef VNAT_SLIRP_INTERNAL_H
#define VNAT_SLIRP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <slirp/libslirp.h>
#include <vnat/vnat.h>

/* The environment variable that replaces the host's resolvers (test-only:
 * "ADDR[:PORT][,ADDR[:PORT]...]", IPv4). Without it the resolvers are the
 * IPv4 nameserver lines of /etc/resolv.conf, as libslirp reads them. */
#define VS_ENV_DNS "VNAT_SLIRP_DNS"
#define VS_RESOLV_CONF "/etc/resolv.conf"

/* What slirp_new builds from a SlirpConfig before it touches the host. */
struct vs_config {
    struct vnat_config cfg; /* cfg.rules points at deny_all when restricted */
    struct vnat_rule deny_all;
    struct vnat_ip network;   /* vnetwork, for hostfwd's guest address check */
    bool outbound_addr_given; /* accepted, not honoured (docs/libslirp.md) */
    bool dns_disabled;        /* disable_dns: no resolver, the guest's DNS is dropped */
};

/* Map a SlirpConfig (any version 1..SLIRP_CONFIG_VERSION_MAX; members past
 * the caller's version are never read) onto out. Returns 0, or -1 with a
 * NUL-terminated explanation in why (the first problem found). Pure: no
 * system call, no environment (resolvers are vs_resolvers' job). */
int vs_config_map(const SlirpConfig *sc, struct vs_config *out, char *why, size_t why_len);

/* Parse "ADDR[:PORT][,ADDR[:PORT]...]" (IPv4; port 53 by default) into
 * cfg->dns_servers (at most VNAT_MAX_DNS_SERVERS; more are ignored).
 * Returns the number parsed, or -1 on a malformed entry (why says which). */
int vs_dns_list_parse(const char *list, struct vnat_config *cfg, char *why, size_t why_len);

/* Parse resolv.conf text: every "nameserver A.B.C.D" line (IPv6 and
 * malformed entries skipped) into cfg->dns_servers, up to the maximum.
 * Returns the number taken. Pure. */
int vs_resolv_conf_parse(const char *text, struct vnat_config *cfg);

/* The resolvers for a new instance: VS_ENV_DNS if set (a malformed value
 * is an error, -1 with why), else VS_RESOLV_CONF (missing: no resolver,
 * the guest's DNS then gets no answer). Returns the number taken. */
int vs_resolvers(struct vnat_config *cfg, char *why, size_t why_len);

/* One forward as slirp_connection_info lists it. */
struct vs_fwd_row {
    uint8_t proto; /* VNAT_PROTO_TCP / UDP */
    int fd;        /* the listener's descriptor, -1 if unknown */
    struct vnat_sockaddr host;
    struct vnat_ip guest;
    uint16_t guest_port;
};

/* Format the table QEMU prints for `info usernet` (one header line, then one
 * line per forward and one per flow of the core's dump text). Returns a
 * malloc'd NUL-terminated string (the caller frees it), or NULL when out of
 * memory. fd_of maps a core token to its descriptor (-1 if none). Pure but
 * for the allocation. */
char *vs_connection_table(const struct vs_fwd_row *fwds, size_t n_fwds, const char *dump,
                          int (*fd_of)(void *ctx, vnat_token tok), void *ctx);

#endif
