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

/* The migration stream slirp_state_save writes (docs/libslirp.md, "State"):
 * a header of the library's own (what it knows beside the core: whether
 * the guest was learned, the guest, the forward list), checksummed, then
 * the core's snapshot (vnat_snapshot, checksummed itself). All fields are
 * little-endian. Untrusted on load: every field is checked. */
#define VS_STATE_MAGIC "vnatslrp" /* 8 bytes, no NUL */
#define VS_STATE_FORMAT 1u
#define VS_STATE_FIXED 32u                 /* magic .. forward count */
#define VS_STATE_FWD 24u                   /* bytes per forward */
#define VS_STATE_MAX_FWDS 64u              /* the library's own limit */
#define VS_STATE_MAX_SNAPSHOT (256u << 20) /* refused above: far over any core */
#define VS_STATE_F_MAC 0x1u                /* the guest's MAC was learned */
#define VS_STATE_F_IP 0x2u                 /* the guest's address was learned */

struct vs_state_head {
    uint32_t flags;
    uint8_t guest_mac[6];
    uint8_t guest_ip[4];
    uint32_t n_fwds;
    struct vnat_forward fwds[VS_STATE_MAX_FWDS];
    uint32_t snap_len;
};

/* Bytes of the header with n forwards (up to and including its checksum). */
size_t vs_state_head_size(uint32_t n_fwds);

/* Encode h into out (vs_state_head_size(h->n_fwds) bytes). Returns the size. */
size_t vs_state_head_encode(const struct vs_state_head *h, uint8_t *out);

/* Check the first VS_STATE_FIXED bytes (magic, format, flags, padding, the
 * forward count) and set *n_fwds. 0, or -1 with why. */
int vs_state_head_fixed(const uint8_t *fixed, uint32_t *n_fwds, char *why, size_t why_len);

/* Parse a whole header (len == vs_state_head_size(n) for the count in its
 * fixed part): its checksum, every forward, the snapshot length (at most
 * VS_STATE_MAX_SNAPSHOT). 0 and *h, or -1 with why. Pure. */
int vs_state_head_parse(const uint8_t *buf, size_t len, struct vs_state_head *h, char *why,
                        size_t why_len);

#endif
