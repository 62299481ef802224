/*
 * dns.c — layer 3: DNS for the guest: queries to the DNS address are forwarded to
 * the host's resolvers as ordinary UDP flows (udp.c rewrites the
 * destination on the way out and the source on the way back), so nothing
 * ever waits for a resolver. DNS over TCP takes the normal TCP path (the
 * policy maps the DNS address, port 53, to a resolver). Only the optional
 * answer cache (VNAT_F_DNS_CACHE) reads DNS at all, and only the header, the
 * question and the resource-record framing.
 *
 * The cache is a fixed table in core memory sized at creation: 128 sets of
 * 4 entries, a set chosen by a keyed SipHash of the question (lower-cased
 * name, type, class), so a lookup or an insert compares at most 4 entries
 * and never scans. An entry keeps the whole response (up to 512 bytes) and
 * the offsets of its TTL fields; it lives for the smallest TTL of its
 * records (capped at one day), and a hit answers with the guest's own ID and
 * question bytes (so 0x20 case randomisation round-trips) and every TTL
 * reduced by the time the entry has been held. Only clean positive answers
 * are cached: one question, at least one answer, NOERROR, not truncated.
 *
 * Answers are matched to the queries that their flow carried (struct
 * dns_pending, kept by udp.c in the flow): ID and a keyed hash of the
 * question's exact bytes, once each. An answer to no waiting query, or a
 * second answer, is dropped and counted, so a spoofed datagram on a guessed
 * port reaches neither the guest nor the cache.
 *
 * Every byte is hostile. Names are walked label by label with a bound on
 * the labels and the length; compression pointers are never followed (a
 * question that contains one is forwarded uncached; in records a pointer
 * just ends the name); counts are checked against what the message can
 * hold. A guest query shorter than the header, with the response bit set,
 * or whose question does not parse is dropped and counted (dns_malformed).
 */
#include "dns.h"

#include "log.h"
#include "sbuf.h"
#include "siphash.h"
#include "wire.h"

#define DNS_HDR 12
#define DNS_PORT 53
#define DNS_TYPE_OPT 41
#define DNS_MAX_LABELS 128
#define DNS_MAX_TTL_S 86400u
#define DNS_RR_MIN 11 /* root name, type, class, ttl, rdlength */
#define DNS_KEY_DOMAIN 5

enum { NAME_OK = 0, NAME_BAD = -1, NAME_POINTER = -2 };

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

size_t dns_memory_size(const struct vnat_config *cfg)
{
    if (!(cfg->flags & VNAT_F_DNS_CACHE))
        return 0;
    size_t n = (size_t)DNS_CACHE_SETS * DNS_CACHE_WAYS * sizeof(struct dns_entry);
    return (n + 15) & ~(size_t)15;
}

void dns_init(struct vnat *nat, void *mem)
{
    memset(nat->dns, 0, sizeof *nat->dns);
    vnat_derive_key(nat->cfg.seed, DNS_KEY_DOMAIN, nat->dns->sip);
    if (nat->cfg.flags & VNAT_F_DNS_CACHE) {
        VNAT_VERIFY(nat, mem != NULL);
        nat->dns->cache = mem;
        memset(mem, 0, dns_memory_size(&nat->cfg));
    }
}

/* Read the question at msg+DNS_HDR: its name lower-cased into q (name,
 * then type and class), *qlen its length, *end the offset after it. */
static int read_question(const uint8_t *msg, size_t len, uint8_t q[DNS_MAX_NAME + 4], size_t *qlen,
                         size_t *end)
{
    size_t off = DNS_HDR, n = 0;
    for (int labels = 0;; labels++) {
        if (labels > DNS_MAX_LABELS || off >= len)
            return NAME_BAD;
        uint8_t l = msg[off];
        if ((l & 0xC0) == 0xC0)
            return off + 2 <= len ? NAME_POINTER : NAME_BAD;
        if (l & 0xC0)
            return NAME_BAD; /* reserved label types */
        if (off + 1 + l > len || n + 1 + l > DNS_MAX_NAME)
            return NAME_BAD;
        q[n++] = l;
        for (size_t i = 0; i < l; i++) {
            uint8_t ch = msg[off + 1 + i];
            q[n++] = (ch >= 'A' && ch <= 'Z') ? (uint8_t)(ch + 32) : ch;
        }
        off += 1 + (size_t)l;
        if (l == 0)
            break;
    }
    if (off + 4 > len)
        return NAME_BAD;
    memcpy(q + n, msg + off, 4);
    *qlen = n + 4;
    *end = off + 4;
    return NAME_OK;
}

static struct dns_entry *cache_set(struct vnat *nat, uint32_t hash)
{
    return &nat->dns->cache[(size_t)(hash & (DNS_CACHE_SETS - 1)) * DNS_CACHE_WAYS];
}

static struct dns_entry *cache_find(struct vnat *nat, uint32_t hash, const uint8_t *q, size_t qlen)
{
    VNAT_ASSERT(nat, qlen >= 5 && qlen <= DNS_MAX_NAME + 4); /* root name, type, class */
    struct dns_entry *set = cache_set(nat, hash);
    for (int w = 0; w < DNS_CACHE_WAYS; w++) {
        struct dns_entry *e = &set[w];
        if (e->expires != 0 && e->hash == hash && e->qlen == qlen &&
            memcmp(e->question, q, qlen) == 0)
            return e;
    }
    return NULL;
}

bool dns_query(struct vnat *nat, const struct vw_ipv4 *ip, const struct vw_udp *udp)
{
    const uint8_t *msg = udp->payload;
    size_t len = udp->payload_len;
    nat->stats.dns_queries++;
    if (len < DNS_HDR || (msg[2] & 0x80)) {
        stats_drop(nat, VNAT_DROP_DNS_MALFORMED);
        return true;
    }
    uint16_t qd = vw_get16(msg + 4);
    uint8_t q[DNS_MAX_NAME + 4];
    size_t qlen = 0, end = 0;
    int rc = NAME_POINTER;
    if (qd >= 1) {
        rc = read_question(msg, len, q, &qlen, &end);
        if (rc == NAME_BAD) {
            stats_drop(nat, VNAT_DROP_DNS_MALFORMED);
            return true;
        }
    }
    uint8_t opcode = (msg[2] >> 3) & 0x0F;
    if (nat->dns->cache == NULL || rc != NAME_OK || qd != 1 || opcode != 0)
        return false;
    uint32_t hash = (uint32_t)vnat_siphash24(nat->dns->sip, q, qlen);
    struct dns_entry *e = cache_find(nat, hash, q, qlen);
    if (e == NULL || e->expires <= nat->now)
        return false;
    /* A hit: the stored response with the guest's ID, the guest's own
     * question bytes (same length by construction) and aged TTLs. */
    uint8_t *out = nat->scratch + VW_UDP4_PAYLOAD_OFF;
    VNAT_VERIFY(nat, e->msg_len <= nat->scratch_len - VW_UDP4_PAYLOAD_OFF);
    memcpy(out, e->msg, e->msg_len);
    memcpy(out, msg, 2);
    memcpy(out + DNS_HDR, msg + DNS_HDR, qlen);
    uint32_t held = (uint32_t)((nat->now - e->stored) / VNAT_NS_PER_S);
    for (unsigned i = 0; i < e->n_ttls; i++) {
        uint32_t ttl = vw_get32(out + e->ttl_off[i]);
        vw_put32(out + e->ttl_off[i], ttl > held ? ttl - held : 0);
    }
    struct vw_l2l3 a = {
        .eth_dst = nat->guest_mac,
        .eth_src = nat->cfg.gateway_mac,
        .ip_src = nat->cfg.dns_ip.addr,
        .ip_dst = ip->src,
        .ip_id = nat->ip_id++,
        .ttl = 64,
    };
    size_t n = vw_udp4_frame(nat->scratch, nat->scratch_len, &a, DNS_PORT, udp->sport, e->msg_len);
    VNAT_VERIFY(nat, n > 0);
    nat->stats.dns_cache_hits++;
    host_guest_send(nat, nat->scratch, n);
    return true;
}

/* A matched answer on its way to the guest: cache it if cacheable. */
static void cache_answer(struct vnat *nat, const uint8_t *msg, size_t len)
{
    if (nat->dns->cache == NULL || len < DNS_HDR || len > DNS_CACHE_MAX_MSG)
        return;
    /* QR set, standard query, not truncated, NOERROR. */
    if (!(msg[2] & 0x80) || ((msg[2] >> 3) & 0x0F) != 0 || (msg[2] & 0x02) || (msg[3] & 0x0F) != 0)
        return;
    if (vw_get16(msg + 4) != 1 || vw_get16(msg + 6) == 0)
        return;
    uint8_t q[DNS_MAX_NAME + 4];
    size_t qlen, off;
    if (read_question(msg, len, q, &qlen, &off) != NAME_OK)
        return;
    uint32_t rrs = (uint32_t)vw_get16(msg + 6) + vw_get16(msg + 8) + vw_get16(msg + 10);
    if (rrs > (len - off) / DNS_RR_MIN)
        return; /* more records than the message can hold */
    uint16_t ttl_off[DNS_CACHE_MAX_TTLS];
    unsigned n_ttls = 0;
    uint32_t min_ttl = DNS_MAX_TTL_S;
    for (uint32_t i = 0; i < rrs; i++) {
        off = vw_dns_skip_name(msg, len, off);
        if (off == 0 || off + 10 > len)
            return;
        uint16_t type = vw_get16(msg + off);
        uint32_t ttl = vw_get32(msg + off + 4);
        size_t rdlen = vw_get16(msg + off + 8);
        if (type != DNS_TYPE_OPT) { /* OPT's "TTL" carries flags */
            if (n_ttls == DNS_CACHE_MAX_TTLS)
                return;
            ttl_off[n_ttls++] = (uint16_t)(off + 4);
            if (ttl & 0x80000000u)
                ttl = 0; /* RFC 2181 8 */
            if (ttl < min_ttl)
                min_ttl = ttl;
        }
        off += 10 + rdlen;
        if (off > len)
            return;
    }
    if (off != len || min_ttl == 0)
        return;
    uint32_t hash = (uint32_t)vnat_siphash24(nat->dns->sip, q, qlen);
    struct dns_entry *e = cache_find(nat, hash, q, qlen);
    if (e == NULL) {
        /* An empty or expired way, else the one that expires first (ties:
         * the lowest way, so the choice is deterministic). */
        struct dns_entry *set = cache_set(nat, hash);
        e = &set[0];
        for (int w = 0; w < DNS_CACHE_WAYS; w++) {
            if (set[w].expires <= nat->now) {
                e = &set[w];
                break;
            }
            if (set[w].expires < e->expires)
                e = &set[w];
        }
    }
    VNAT_ASSERT(nat, e >= cache_set(nat, hash) && e < cache_set(nat, hash) + DNS_CACHE_WAYS);
    VNAT_ASSERT(nat, qlen <= sizeof e->question && n_ttls <= DNS_CACHE_MAX_TTLS);
    e->hash = hash;
    e->qlen = (uint16_t)qlen;
    memcpy(e->question, q, qlen);
    e->msg_len = (uint16_t)len;
    memcpy(e->msg, msg, len);
    e->n_ttls = (uint8_t)n_ttls;
    memcpy(e->ttl_off, ttl_off, n_ttls * sizeof ttl_off[0]);
    e->stored = nat->now;
    e->expires = nat->now + (uint64_t)min_ttl * VNAT_NS_PER_S;
}

/* ------------------------------------------------------------------ */
/* Answers match the queries a flow carried                           */
/* ------------------------------------------------------------------ */

enum {
    DNS_SLOT_FREE = 0,
    DNS_SLOT_WAITS,
    DNS_SLOT_WAITS_ID,
    DNS_SLOT_ANSWERED,
    DNS_SLOT_ANSWERED_ID
};

_Static_assert(sizeof(struct dns_pending) == 64, "dns_pending: the flow keeps 64 bytes for it");

/* The keyed hash of the message's one question, exactly as its bytes are
 * (letter case included). False if there is not exactly one question or it
 * does not parse (it holds a compression pointer, or is malformed). */
static bool question_hash(const struct vnat *nat, const uint8_t *msg, size_t len, uint32_t *hash)
{
    if (len < DNS_HDR || vw_get16(msg + 4) != 1)
        return false;
    uint8_t q[DNS_MAX_NAME + 4];
    size_t qlen, end;
    if (read_question(msg, len, q, &qlen, &end) != NAME_OK)
        return false;
    *hash = (uint32_t)vnat_siphash24(nat->dns->sip, msg + DNS_HDR, end - DNS_HDR);
    return true;
}

/* The slot of the waiting or answered query with this ID and question
 * (by_id: a query whose question could not be read), or NULL. */
static struct dns_pending_slot *find_slot(struct dns_pending *p, uint16_t id, bool by_id,
                                          uint32_t hash)
{
    for (unsigned i = 0; i < DNS_PENDING_SLOTS; i++) {
        struct dns_pending_slot *s = &p->slot[i];
        bool id_only = s->state == DNS_SLOT_WAITS_ID || s->state == DNS_SLOT_ANSWERED_ID;
        if (s->state != DNS_SLOT_FREE && s->id == id && id_only == by_id &&
            (by_id || s->qhash == hash))
            return s;
    }
    return NULL;
}

static struct dns_pending_slot *take_slot(struct dns_pending *p)
{
    for (unsigned i = 0; i < DNS_PENDING_SLOTS; i++)
        if (p->slot[i].state == DNS_SLOT_FREE)
            return &p->slot[i];
    for (unsigned i = 0; i < DNS_PENDING_SLOTS; i++)
        if (p->slot[i].state == DNS_SLOT_ANSWERED || p->slot[i].state == DNS_SLOT_ANSWERED_ID)
            return &p->slot[i];
    struct dns_pending_slot *s = &p->slot[p->next % DNS_PENDING_SLOTS];
    p->next = (uint8_t)((p->next + 1) % DNS_PENDING_SLOTS);
    return s;
}

void dns_note_query(struct vnat *nat, struct dns_pending *p, const uint8_t *msg, size_t len)
{
    VNAT_ASSERT(nat, len >= DNS_HDR); /* dns_query dropped shorter ones */
    uint32_t hash = 0;
    bool by_id = !question_hash(nat, msg, len, &hash);
    uint16_t id = vw_get16(msg);
    struct dns_pending_slot *s = find_slot(p, id, by_id, hash);
    if (s == NULL)
        s = take_slot(p); /* else the guest asked again: wait again */
    s->id = id;
    s->qhash = hash;
    s->state = by_id ? DNS_SLOT_WAITS_ID : DNS_SLOT_WAITS;
}

enum dns_match dns_on_host_answer(struct vnat *nat, struct dns_pending *p, const uint8_t *msg,
                                  size_t len)
{
    if (len < DNS_HDR || !(msg[2] & 0x80)) {
        nat->stats.dns_answers_unmatched++;
        return DNS_UNMATCHED;
    }
    uint32_t hash = 0;
    bool by_id = !question_hash(nat, msg, len, &hash);
    struct dns_pending_slot *s = find_slot(p, vw_get16(msg), by_id, hash);
    if (s == NULL) {
        nat->stats.dns_answers_unmatched++;
        return DNS_UNMATCHED;
    }
    if (s->state == DNS_SLOT_ANSWERED || s->state == DNS_SLOT_ANSWERED_ID) {
        nat->stats.dns_answers_duplicate++;
        return DNS_DUPLICATE;
    }
    s->state = by_id ? DNS_SLOT_ANSWERED_ID : DNS_SLOT_ANSWERED;
    if (!by_id)
        cache_answer(nat, msg, len);
    return DNS_MATCHED;
}

size_t dns_truncate(struct vnat *nat, uint8_t *msg, size_t len)
{
    VNAT_ASSERT(nat, len >= DNS_HDR); /* dns_on_host_answer matched it */
    uint8_t q[DNS_MAX_NAME + 4];
    size_t qlen, end = DNS_HDR;
    if (vw_get16(msg + 4) != 1 || read_question(msg, len, q, &qlen, &end) != NAME_OK) {
        end = DNS_HDR;
        vw_put16(msg + 4, 0);
    }
    msg[2] |= 0x02; /* TC */
    vw_put16(msg + 6, 0);
    vw_put16(msg + 8, 0);
    vw_put16(msg + 10, 0);
    nat->stats.dns_truncated++;
    return end;
}

bool dns_pending_valid(const struct dns_pending *p)
{
    if (p->next >= DNS_PENDING_SLOTS)
        return false;
    for (unsigned i = 0; i < DNS_PENDING_SLOTS; i++)
        if (p->slot[i].state > DNS_SLOT_ANSWERED_ID)
            return false;
    return true;
}

bool dns_pending_waits(const struct dns_pending *p)
{
    for (unsigned i = 0; i < DNS_PENDING_SLOTS; i++)
        if (p->slot[i].state == DNS_SLOT_WAITS || p->slot[i].state == DNS_SLOT_WAITS_ID)
            return true;
    return false;
}

/* ------------------------------------------------------------------ */
/* Snapshot hooks (docs/snapshot.md, section DNS)                      */
/* ------------------------------------------------------------------ */

#define DNS_CACHE_ENTRIES (DNS_CACHE_SETS * DNS_CACHE_WAYS)

void dns_snap_save(const struct vnat *nat, struct sbuf_w *w)
{
    uint32_t n = 0;
    for (size_t i = 0; nat->dns->cache != NULL && i < DNS_CACHE_ENTRIES; i++)
        n += nat->dns->cache[i].expires != 0;
    sw_u32(w, n);
    for (size_t i = 0; n > 0 && i < DNS_CACHE_ENTRIES; i++) {
        const struct dns_entry *e = &nat->dns->cache[i];
        if (e->expires == 0)
            continue;
        sw_u16(w, (uint16_t)i);
        sw_u64(w, e->expires);
        sw_u64(w, e->stored);
        sw_u16(w, e->qlen);
        sw_u16(w, e->msg_len);
        sw_u8(w, e->n_ttls);
        for (unsigned t = 0; t < e->n_ttls; t++)
            sw_u16(w, e->ttl_off[t]);
        sw_bytes(w, e->question, e->qlen);
        sw_bytes(w, e->msg, e->msg_len);
    }
}

/* One entry: every length and offset within its array, the entry in the set
 * its question hashes to (the hash is recomputed, not trusted). */
static int load_entry(struct vnat *nat, struct sbuf_r *r, struct dns_entry *e, size_t i)
{
    e->expires = sr_time(r, 0);
    e->stored = sr_time(r, 0);
    e->qlen = sr_u16(r);
    e->msg_len = sr_u16(r);
    e->n_ttls = sr_u8(r);
    if (e->qlen < 5 || e->qlen > sizeof e->question || e->msg_len > DNS_CACHE_MAX_MSG ||
        e->msg_len < DNS_HDR + e->qlen || e->n_ttls > DNS_CACHE_MAX_TTLS)
        return VNAT_E_SNAP_RANGE;
    for (unsigned t = 0; t < e->n_ttls; t++) {
        e->ttl_off[t] = sr_u16(r);
        if (e->ttl_off[t] < DNS_HDR || e->ttl_off[t] + 4u > e->msg_len)
            return VNAT_E_SNAP_RANGE;
    }
    sr_bytes(r, e->question, e->qlen);
    sr_bytes(r, e->msg, e->msg_len);
    if (r->err != 0)
        return r->err;
    e->hash = (uint32_t)vnat_siphash24(nat->dns->sip, e->question, e->qlen);
    if ((e->hash & (DNS_CACHE_SETS - 1)) != i / DNS_CACHE_WAYS || e->expires == 0)
        return VNAT_E_SNAP_RANGE;
    return 0;
}

int dns_snap_load(struct vnat *nat, struct sbuf_r *r)
{
    uint32_t n = sr_u32(r);
    if (r->err != 0)
        return r->err;
    if (n > 0 && nat->dns->cache == NULL)
        return VNAT_E_SNAP_RANGE; /* entries for a cache that is off */
    if (n > DNS_CACHE_ENTRIES)
        return VNAT_E_SNAP_CAPACITY;
    long last = -1;
    for (uint32_t k = 0; k < n; k++) {
        uint16_t i = sr_u16(r);
        if (r->err != 0)
            return r->err;
        if (i >= DNS_CACHE_ENTRIES || (long)i <= last)
            return (long)i == last ? VNAT_E_SNAP_DUPLICATE : VNAT_E_SNAP_RANGE;
        last = i;
        int e = load_entry(nat, r, &nat->dns->cache[i], i);
        if (e != 0)
            return e;
    }
    return 0;
}
