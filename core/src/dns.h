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

/* The queries outstanding on one DNS flow. udp.c keeps it in the flow; only
 * this module reads it. A slot is free, waiting for its answer (matched by
 * ID and by a keyed hash of the question's exact bytes, or by ID alone when
 * the question could not be read), or answered (so a second answer is told
 * apart as a duplicate). When every slot waits, a new query takes the
 * oldest one's place (round robin). */
#define DNS_PENDING_SLOTS 7
struct dns_pending_slot {
    uint32_t qhash;
    uint16_t id;
    uint8_t state; /* DNS_SLOT_* (dns.c) */
    uint8_t pad_;
};
struct dns_pending {
    uint8_t next; /* the slot a query takes when every slot waits */
    uint8_t pad_[7];
    struct dns_pending_slot slot[DNS_PENDING_SLOTS];
};

/* What an answer on a DNS flow is to the queries it carried. */
enum dns_match {
    DNS_MATCHED,   /* answers a waiting query: deliver (and cache if clean) */
    DNS_UNMATCHED, /* answers no query of this flow: drop */
    DNS_DUPLICATE, /* answers one already answered: drop */
};

/* A guest query was sent on the flow: wait for its answer. */
void dns_note_query(struct vnat *nat, struct dns_pending *p, const uint8_t *msg, size_t len);
/* A host datagram on the flow: match it against the waiting queries (a
 * match marks its slot answered, and caches the answer when it is clean and
 * its question was matched byte for byte); the caller delivers or drops. */
enum dns_match dns_on_host_answer(struct vnat *nat, struct dns_pending *p, const uint8_t *msg,
                                  size_t len);
/* A matched answer of len bytes at msg, too large for one guest frame, cut
 * down in place to its header with TC set and the answer, authority and
 * additional counts 0, and its question (none if its one question does not
 * parse). Returns the new length; counts dns_truncated. */
size_t dns_truncate(struct vnat *nat, uint8_t *msg, size_t len);
/* Are its fields in range (a restored snapshot)? */
bool dns_pending_valid(const struct dns_pending *p);
/* Does any query of the flow still wait for its answer? */
bool dns_pending_waits(const struct dns_pending *p);

/* Bytes of core memory the cache needs (0 without VNAT_F_DNS_CACHE). */
size_t dns_memory_size(const struct vnat_config *cfg);
/* mem: dns_memory_size() bytes (16-aligned), or NULL if that is 0. */
void dns_init(struct vnat *nat, void *mem);

/* A guest query to the DNS address (already checked: source, UDP header,
 * checksum). Returns true if it was answered from the cache (or dropped as
 * malformed); false if it must be forwarded. */
bool dns_query(struct vnat *nat, const struct vw_ipv4 *ip, const struct vw_udp *udp);

/* Snapshot hooks (snap.c, docs/snapshot.md): the cache's live entries, and
 * their restore into a fresh cache (0, or a negative vnat_err). */
struct sbuf_w;
struct sbuf_r;
void dns_snap_save(const struct vnat *nat, struct sbuf_w *w);
int dns_snap_load(struct vnat *nat, struct sbuf_r *r);

#endif
