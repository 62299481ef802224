/*
 * dns.h — layer 3 (lowest row): DNS for the guest. Queries to the DNS
 * address are forwarded by udp.c as ordinary UDP flows to the resolver the
 * policy layer picks; this module holds only the optional answer cache
 * (VNAT_F_DNS_CACHE). It calls no other protocol.
 */
#ifndef VNAT_DNS_H
#define VNAT_DNS_H

#include "base.h"

struct vw_ipv4;
struct vw_udp;
struct dns_entry;

/* DNS's part of the instance (nat->dns). */
struct dns_state {
    struct dns_entry *cache; /* DNS_CACHE_SETS * DNS_CACHE_WAYS entries, or NULL */
    uint64_t sip[2];         /* cache hash key */
};

/* Bytes of core memory the cache needs (0 without VNAT_F_DNS_CACHE). */
size_t dns_memory_size(const struct vnat_config *cfg);
/* mem: dns_memory_size() bytes (16-aligned), or NULL if that is 0. */
void dns_init(struct vnat *nat, void *mem);

/* A guest query to the DNS address (already checked: source, UDP header,
 * checksum). Returns true if it was answered from the cache (or dropped as
 * malformed); false if it must be forwarded. */
bool dns_query(struct vnat *nat, const struct vw_ipv4 *ip, const struct vw_udp *udp);
/* A resolver's answer on its way to the guest: cache it if cacheable. */
void dns_on_answer(struct vnat *nat, const uint8_t *msg, size_t len);

/* Snapshot hooks (snap.c, docs/snapshot.md): the cache's live entries, and
 * their restore into a fresh cache (0, or a negative vnat_err). */
struct sbuf_w;
struct sbuf_r;
void dns_snap_save(const struct vnat *nat, struct sbuf_w *w);
int dns_snap_load(struct vnat *nat, struct sbuf_r *r);

#endif
