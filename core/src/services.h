/*
 * services.h — the guest services: ARP, DHCPv4, DNS forwarding and its
 * answer cache, UDP NAT, ICMP echo, and inbound port forwarding (TCP and
 * UDP listeners). These modules run beside tcp.c on the same flow table,
 * the same tokens and the same timer lists; frame.c hands them parsed
 * frames through the services_on_* seam (services.c) and vnat.c routes the
 * host events of their sockets here. docs/services.md describes the
 * behaviour, the egress-policy defaults and the anti-spoofing exemptions.
 *
 * This header is included by internal.h (for the per-flow and per-instance
 * state below) and needs nothing from it but forward declarations.
 */
#ifndef VNAT_SERVICES_H
#define VNAT_SERVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vnat/vnat.h>

struct vnat;
struct flow;
struct flow_key;
struct vw_eth;
struct vw_ipv4;
struct vw_udp;

/* ------------------------------------------------------------------ */
/* State                                                               */
/* ------------------------------------------------------------------ */

/* What a datagram flow is. */
enum dgram_kind {
    DG_NONE = 0,
    DG_UDP,    /* guest -> host UDP, one connected host socket */
    DG_DNS,    /* guest -> DNS address: a UDP flow to a host resolver */
    DG_ICMP,   /* guest echo requests, one host ping socket */
    DG_UDP_IN, /* inbound UDP forward: no socket of its own, sends on the listener's */
};

#define DGDIR_OUT 1u /* guest -> host */
#define DGDIR_IN 2u  /* host -> guest */

/* UDP/ICMP part of a flow (the flow's union arm). */
struct dgram_flow {
    uint8_t kind;       /* enum dgram_kind */
    uint8_t dirs;       /* DGDIR_* seen: both = traffic went both ways */
    uint8_t dns_server; /* DG_DNS: index of the resolver in cfg.dns_servers */
    uint8_t paused;     /* reading paused while the guest link is full */
    uint32_t listener;  /* DG_UDP_IN: listener slot */
    uint32_t listener_gen;
    uint32_t pad_;
    struct vnat_sockaddr peer; /* DG_UDP_IN: the host-side peer */
    uint64_t to_host;          /* datagrams the host took */
    uint64_t to_guest;         /* datagrams given to the guest */
};

/* One DNS cache entry (see dns.c). Sized so that a whole answer of a
 * classic 512-byte DNS message fits; longer answers are not cached. */
#define DNS_CACHE_WAYS 4
#define DNS_CACHE_SETS 128 /* 512 entries */
#define DNS_CACHE_MAX_MSG 512
#define DNS_CACHE_MAX_TTLS 32
#define DNS_MAX_NAME 255
struct dns_entry {
    uint64_t expires; /* ns; 0 = empty */
    uint64_t stored;  /* ns, when the answer was stored */
    uint32_t hash;
    uint16_t qlen;    /* bytes of the question (name + type + class) */
    uint16_t msg_len; /* bytes of the stored response */
    uint8_t n_ttls;
    uint8_t pad_[7];
    uint16_t ttl_off[DNS_CACHE_MAX_TTLS]; /* offsets of the TTL fields in msg */
    uint8_t question[DNS_MAX_NAME + 4];   /* lower-cased name, type, class */
    uint8_t msg[DNS_CACHE_MAX_MSG];
};

/* Instance-wide state of the services (a member of struct vnat). */
struct svc_state {
    struct dns_entry *dns_cache; /* DNS_CACHE_SETS * DNS_CACHE_WAYS, or NULL */
    uint64_t sip_dns[2];         /* cache hash key */
    uint32_t dgram_live;         /* live UDP + ICMP flows (max_udp_flows) */
    uint32_t listeners_live;
    uint8_t dns_next;   /* resolver new DNS flows use (failover) */
    uint8_t dhcp_state; /* enum dhcp_lease_state */
    uint8_t pad_[6];
    uint64_t dhcp_expires; /* ns; lease end, 0 if none */
};

/* Bytes of core memory the services need beyond struct vnat. */
size_t svc_memory_size(const struct vnat_config *cfg);

/* ------------------------------------------------------------------ */
/* Entry points                                                        */
/* ------------------------------------------------------------------ */

/* Instance setup: mem is svc_memory_size() bytes (16-aligned) of core
 * memory. Then open cfg->forwards (VNAT_OK, or VNAT_E_HOST after closing
 * what was opened). */
void svc_init(struct vnat *nat, void *mem);
vnat_err svc_open_config_forwards(struct vnat *nat);

/* Guest frames (from the services_on_* seam). */
void svc_arp_input(struct vnat *nat, const struct vw_eth *eth);
void svc_udp_input(struct vnat *nat, const struct vw_eth *eth, const struct vw_ipv4 *ip);
void svc_icmp_input(struct vnat *nat, const struct vw_eth *eth, const struct vw_ipv4 *ip);
void svc_dhcp_input(struct vnat *nat, const struct vw_eth *eth, const struct vw_ipv4 *ip,
                    const struct vw_udp *udp);

/* DNS: a guest query to the DNS address (already checked: source, UDP
 * header, checksum). Returns true if it was answered from the cache (or
 * dropped as malformed); false if it must be forwarded. */
bool svc_dns_query(struct vnat *nat, const struct vw_ipv4 *ip, const struct vw_udp *udp);
/* A resolver's answer on its way to the guest: cache it if cacheable. */
void svc_dns_on_answer(struct vnat *nat, const uint8_t *msg, size_t len);
/* Index of the resolver the next DNS flow should use; a failure moves on. */
void svc_dns_server_failed(struct vnat *nat, unsigned index);

/* Host events of UDP/ICMP flows. */
void svc_dgram_on_readable(struct vnat *nat, struct flow *f);
void svc_dgram_on_link_writable(struct vnat *nat, struct flow *f);
void svc_dgram_on_timer(struct vnat *nat, struct flow *f);
void svc_dgram_release(struct vnat *nat, struct flow *f); /* close + free */
int svc_dgram_check(const struct vnat *nat, const struct flow *f, const char **why);
/* The ICMP echo part of a readable ICMP flow (icmp.c). */
void svc_icmp_on_readable(struct vnat *nat, struct flow *f);

/* Datagram flow helpers shared by udp.c, icmp.c and forward.c. */
struct flow *svc_dgram_open(struct vnat *nat, const struct flow_key *key, enum dgram_kind kind);
/* ICMP error (type, code) to the guest from src, quoting the start of the
 * guest's datagram (its IP header and 8 bytes, RFC 792). */
void svc_send_icmp_error(struct vnat *nat, const uint8_t src[4], uint8_t type, uint8_t code,
                         const uint8_t *orig_ip, size_t orig_len);
/* ICMP "destination unreachable" for a flow whose original datagram is
 * gone: the quoted datagram is rebuilt from the flow key. */
void svc_send_unreach_for_key(struct vnat *nat, const struct flow_key *key, uint8_t code);

/* Give the guest the datagram of len bytes already at
 * nat->scratch + VW_UDP4_PAYLOAD_OFF, from the flow's destination to the
 * guest; counts it and refreshes the flow's timer. Returns the sink's
 * result (0 = taken). */
int svc_dgram_deliver(struct vnat *nat, struct flow *f, size_t len);

/* Port forwards. */
vnat_err svc_forward_add(struct vnat *nat, const struct vnat_forward *fwd);
vnat_err svc_forward_remove(struct vnat *nat, const struct vnat_forward *fwd);
/* A listener token: returns false if the token names no live listener. */
bool svc_on_listener_ready(struct vnat *nat, vnat_token tok);
bool svc_on_listener_readable(struct vnat *nat, vnat_token tok);
/* A guest datagram for an inbound UDP flow: send it to the host peer. */
long svc_forward_udp_send(struct vnat *nat, struct flow *f, const uint8_t *buf, size_t len);
#define SVC_FWD_STALE (-1000L) /* svc_forward_udp_send: the forward was removed */
/* The guest-visible address of a host-side peer of a forward. */
void svc_forward_visible_peer(const struct vnat *nat, const struct vnat_sockaddr *peer,
                              struct vnat_ip *out);
void svc_shutdown(struct vnat *nat); /* close every datagram flow and listener */
vnat_token svc_listener_token(const struct vnat *nat, uint32_t slot);

/* Host-operation wrappers that feed the boundary log (svc_ops.c). */
int host_tcp_listen(struct vnat *nat, vnat_token tok, const struct vnat_sockaddr *local);
int host_tcp_accept(struct vnat *nat, vnat_token listener, vnat_token tok,
                    struct vnat_sockaddr *peer);
int host_dgram_open(struct vnat *nat, vnat_token tok, enum vnat_dgram_kind kind,
                    const struct vnat_sockaddr *dst);
int host_dgram_bind(struct vnat *nat, vnat_token tok, enum vnat_dgram_kind kind,
                    const struct vnat_sockaddr *local);
long host_dgram_send(struct vnat *nat, vnat_token tok, const uint8_t *buf, size_t len,
                     const struct vnat_sockaddr *to);
long host_dgram_recv(struct vnat *nat, vnat_token tok, uint8_t *buf, size_t cap,
                     struct vnat_sockaddr *from);

/* Linux errno values the services expect from datagram operations. */
#define SVC_EAGAIN 11
#define SVC_ENOMEM 12
#define SVC_EACCES 13
#define SVC_EPERM 1
#define SVC_EMSGSIZE 90
#define SVC_ENETDOWN 100
#define SVC_ENETUNREACH 101
#define SVC_ENOBUFS 105
#define SVC_ECONNREFUSED 111
#define SVC_EHOSTDOWN 112
#define SVC_EHOSTUNREACH 113

#endif
