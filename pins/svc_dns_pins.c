/*
 * svc_dns_pins.c — DNS for the guest (core/src/dns.c, udp.c): queries to
 * the DNS address become ordinary non-blocking UDP flows to the host's
 * resolvers, DNS over TCP goes to a resolver through the TCP path, the
 * optional cache answers by question (not ID) within the TTL, and hostile
 * messages are dropped and counted or simply not cached. The reference's
 * dns_query_resolves and dns_cache_keys_by_question_not_xid appear under
 * their own names.
 */
#include <string.h>

#include "pin.h"
#include "svc_fakehost.h"

static const uint8_t DNS[4] = {10, 0, 2, 3};

struct dmsg {
    uint8_t b[512];
    size_t len;
};

static void put_name(struct dmsg *m, const char *name)
{
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        m->b[m->len++] = (uint8_t)l;
        memcpy(m->b + m->len, p, l);
        m->len += l;
        p += l + (dot ? 1 : 0);
    }
    m->b[m->len++] = 0;
}

static void query(struct dmsg *m, uint16_t id, const char *name)
{
    memset(m, 0, sizeof *m);
    vw_put16(m->b, id);
    vw_put16(m->b + 2, 0x0100); /* RD */
    vw_put16(m->b + 4, 1);
    m->len = 12;
    put_name(m, name);
    vw_put16(m->b + m->len, 1);     /* A */
    vw_put16(m->b + m->len + 2, 1); /* IN */
    m->len += 4;
}

/* The answer to q: one A record with ttl (name compressed to the question). */
static void answer(struct dmsg *r, const struct dmsg *q, uint32_t ttl)
{
    *r = *q;
    vw_put16(r->b + 2, 0x8180);
    vw_put16(r->b + 6, 1);
    uint8_t *p = r->b + r->len;
    vw_put16(p, 0xC00C);
    vw_put16(p + 2, 1);
    vw_put16(p + 4, 1);
    vw_put32(p + 6, ttl);
    vw_put16(p + 10, 4);
    p[12] = 192, p[13] = 0, p[14] = 2, p[15] = 10;
    r->len += 16;
}

static void cache_on(struct vnat_config *c)
{
    c->flags |= VNAT_F_DNS_CACHE;
}

/* Guest query from sport; returns the socket it went to (or NULL). */
static struct sfh_sock *ask(struct sfh *h, const struct dmsg *q, uint16_t sport)
{
    uint64_t before = h->ops[VNAT_OP_DGRAM_OPEN]; /* closed records are reused */
    assert_int_equal(sfh_send_udp(h, DNS, sport, 53, q->b, q->len), VNAT_OK);
    if (h->ops[VNAT_OP_DGRAM_OPEN] == before)
        return NULL;
    return sfh_last(h);
}

static struct tk_pkt expect_guest_answer(struct sfh *h, uint16_t dport)
{
    assert_int_equal(sfh_pending(h), 1);
    struct tk_pkt o = sfh_next(h);
    assert_true(o.ok);
    assert_int_equal(o.proto, VW_IPPROTO_UDP);
    assert_memory_equal(o.src, DNS, 4);
    assert_memory_equal(o.dst, h->cfg.guest_ip.addr, 4);
    assert_int_equal(o.udp.sport, 53);
    assert_int_equal(o.udp.dport, dport);
    return o;
}

PIN(dns_query_resolves)
{
    struct sfh h;
    sfh_init(&h, NULL);
    struct dmsg q, r;
    query(&q, 0x1234, "example.test");
    struct sfh_sock *s = ask(&h, &q, 40000);
    assert_non_null(s);
    /* An ordinary connected UDP flow to the configured resolver. */
    assert_int_equal(s->dgram_kind, VNAT_DGRAM_UDP);
    struct vnat_sockaddr res = sfh_addr4(127, 0, 0, 53, 53);
    assert_memory_equal(&s->addr, &res, sizeof res);
    assert_int_equal(s->nsent, 1);
    assert_int_equal(s->sent[0].len, q.len);
    assert_memory_equal(s->sent[0].data, q.b, q.len);
    assert_true(s->interest & VNAT_WANT_READ);
    assert_int_equal(sfh_pending(&h), 0); /* nothing waits: the answer comes as an event */
    answer(&r, &q, 300);
    sfh_incoming(s, &res, r.b, r.len);
    assert_int_equal(sfh_readable(&h, s->tok), VNAT_OK);
    struct tk_pkt o = expect_guest_answer(&h, 40000);
    assert_int_equal(o.len, r.len);
    assert_memory_equal(o.payload, r.b, r.len);
    assert_int_equal(SFH_STAT(&h, dns_queries), 1);
    assert_int_equal(SFH_STAT(&h, dns_cache_hits), 0);
    sfh_free(&h);
}

PIN(dns_cache_keys_by_question_not_xid)
{
    struct sfh h;
    sfh_init(&h, cache_on);
    struct dmsg q, r;
    query(&q, 1, "example.test");
    struct sfh_sock *s = ask(&h, &q, 40000);
    assert_non_null(s);
    answer(&r, &q, 300);
    struct vnat_sockaddr res = sfh_addr4(127, 0, 0, 53, 53);
    sfh_incoming(s, &res, r.b, r.len);
    sfh_readable(&h, s->tok);
    sfh_drain(&h);
    /* Same question, another ID, another port, other letter case. */
    struct dmsg q2;
    query(&q2, 2, "EXAMPLE.test");
    assert_null(ask(&h, &q2, 40001));
    struct tk_pkt o = expect_guest_answer(&h, 40001);
    assert_int_equal(o.len, r.len);
    assert_int_equal(vw_get16(o.payload), 2);
    assert_memory_equal(o.payload + 12, q2.b + 12, q2.len - 12); /* the guest's question */
    assert_memory_equal(o.payload + q.len, r.b + q.len, r.len - q.len);
    assert_int_equal(SFH_STAT(&h, dns_cache_hits), 1);
    /* Another question is not a hit. */
    struct dmsg q3;
    query(&q3, 3, "other.test");
    assert_non_null(ask(&h, &q3, 40002));
    assert_int_equal(SFH_STAT(&h, dns_cache_hits), 1);
    sfh_free(&h);
}

PIN(dns_cache_ages_ttls_and_expires_at_the_smallest)
{
    struct sfh h;
    sfh_init(&h, cache_on);
    struct dmsg q, r;
    query(&q, 1, "ttl.test");
    struct sfh_sock *s = ask(&h, &q, 40000);
    answer(&r, &q, 10);
    struct vnat_sockaddr res = sfh_addr4(127, 0, 0, 53, 53);
    sfh_incoming(s, &res, r.b, r.len);
    sfh_readable(&h, s->tok);
    sfh_drain(&h);
    sfh_advance(&h, 4 * 1000000000ull);
    assert_null(ask(&h, &q, 40001));
    struct tk_pkt o = expect_guest_answer(&h, 40001);
    assert_int_equal(vw_get32(o.payload + q.len + 6), 6);
    sfh_advance(&h, 7 * 1000000000ull);
    assert_non_null(ask(&h, &q, 40002)); /* expired: asked again */
    assert_int_equal(SFH_STAT(&h, dns_cache_hits), 1);
    sfh_free(&h);
}

PIN(dns_cache_is_off_by_default_and_sized_at_creation)
{
    struct vnat_config c;
    vnat_config_init(&c);
    c.seed = 1;
    size_t plain = vnat_memory_size(&c);
    c.flags |= VNAT_F_DNS_CACHE;
    size_t cached = vnat_memory_size(&c);
    assert_true(cached > plain + 512 * 512);
    struct sfh h;
    sfh_init(&h, NULL);
    struct dmsg q, r;
    query(&q, 1, "example.test");
    struct sfh_sock *s = ask(&h, &q, 40000);
    answer(&r, &q, 300);
    struct vnat_sockaddr res = sfh_addr4(127, 0, 0, 53, 53);
    sfh_incoming(s, &res, r.b, r.len);
    sfh_readable(&h, s->tok);
    assert_non_null(ask(&h, &q, 40001));
    assert_int_equal(SFH_STAT(&h, dns_cache_hits), 0);
    sfh_free(&h);
}

/* A query the resolver cannot parse (no question: a header alone) goes out
 * and is matched by its ID; the resolver's answer is a header alone too
 * (FORMERR), 12 bytes, which is a whole DNS message and reaches the guest;
 * the query reflected back (QR clear) is not an answer (tools/mutate:
 * dns.c's shortest-answer bound and its QR test). */
PIN(dns_header_only_answer_to_a_header_only_query_reaches_the_guest)
{
    struct sfh h;
    sfh_init(&h, NULL);
    uint8_t q[12] = {0x42, 0x42, 0x01, 0x00}; /* RD, every count 0 */
    assert_int_equal(sfh_send_udp(&h, DNS, 40000, 53, q, sizeof q), VNAT_OK);
    struct sfh_sock *s = sfh_last(&h);
    assert_non_null(s);
    assert_int_equal(s->nsent, 1);
    struct vnat_sockaddr res = sfh_addr4(127, 0, 0, 53, 53);
    /* First the query itself sent back (QR clear): not an answer. */
    sfh_incoming(s, &res, q, sizeof q);
    assert_int_equal(sfh_readable(&h, s->tok), VNAT_OK);
    assert_int_equal(sfh_pending(&h), 0);
    assert_int_equal(SFH_STAT(&h, dns_answers_unmatched), 1);
    uint8_t r[12] = {0x42, 0x42, 0x81, 0x01}; /* QR RD RA, FORMERR */
    sfh_incoming(s, &res, r, sizeof r);
    assert_int_equal(sfh_readable(&h, s->tok), VNAT_OK);
    struct tk_pkt o = expect_guest_answer(&h, 40000);
    assert_int_equal(o.len, sizeof r);
    assert_memory_equal(o.payload, r, sizeof r);
    assert_int_equal(SFH_STAT(&h, dns_answers_unmatched), 1);
    sfh_free(&h);
}

PIN(dns_malformed_queries_are_dropped_and_counted)
{
    struct sfh h;
    sfh_init(&h, cache_on);
    uint8_t shortq[5] = {1, 2, 3, 4, 5};
    sfh_send_udp(&h, DNS, 40000, 53, shortq, sizeof shortq);
    struct dmsg q;
    query(&q, 1, "example.test");
    q.b[2] |= 0x80; /* a response sent to the server */
    sfh_send_udp(&h, DNS, 40001, 53, q.b, q.len);
    query(&q, 1, "example.test");
    q.b[12] = 60; /* first label runs past the end */
    sfh_send_udp(&h, DNS, 40002, 53, q.b, q.len);
    query(&q, 1, "example.test");
    q.b[12] = 0x47; /* reserved label type */
    sfh_send_udp(&h, DNS, 40003, 53, q.b, q.len);
    query(&q, 1, "example.test");
    sfh_send_udp(&h, DNS, 40004, 53, q.b, q.len - 3); /* type/class cut */
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_DNS_MALFORMED]), 5);
    assert_int_equal(sfh_count(&h, SFH_DGRAM, false), 0);
    assert_int_equal(sfh_pending(&h), 0);
    sfh_free(&h);
}

/* A hostile resolver answer reaches the guest (it is the guest's business)
 * but is never cached, and nothing reads past it. */
static void hostile(struct dmsg *r, const struct dmsg *q, int how)
{
    answer(r, q, 300);
    switch (how) {
    case 0:
        vw_put16(r->b + 6, 60000); /* more records than bytes */
        break;
    case 1:
        vw_put16(r->b + r->len - 6, 400); /* rdlength past the end */
        break;
    case 2:
        vw_put32(r->b + r->len - 10, 0); /* TTL 0: do not cache */
        break;
    case 3:
        r->b[r->len - 16] = 0xC0; /* owner name: a pointer cut short */
        r->len -= 15;
        vw_put16(r->b + 6, 1);
        break;
    case 4:
        vw_put16(r->b + 2, 0x8183); /* NXDOMAIN */
        break;
    case 5:
        r->b[r->len++] = 0; /* trailing garbage */
        break;
    default:
        vw_put16(r->b + 2, 0x8380); /* truncated */
        break;
    }
}

PIN(dns_hostile_answers_are_delivered_but_never_cached)
{
    struct sfh h;
    sfh_init(&h, cache_on);
    struct vnat_sockaddr res = sfh_addr4(127, 0, 0, 53, 53);
    for (int how = 0; how < 7; how++) {
        struct dmsg q, r;
        query(&q, (uint16_t)how, "bad.test");
        struct sfh_sock *s = ask(&h, &q, (uint16_t)(41000 + how));
        assert_non_null(s);
        hostile(&r, &q, how);
        sfh_incoming(s, &res, r.b, r.len);
        sfh_readable(&h, s->tok);
        struct tk_pkt o = expect_guest_answer(&h, (uint16_t)(41000 + how));
        assert_int_equal(o.len, r.len);
    }
    assert_int_equal(SFH_STAT(&h, dns_cache_hits), 0);
    sfh_free(&h);
}

static void two_resolvers(struct vnat_config *c)
{
    c->n_dns_servers = 2;
    c->dns_servers[1] = sfh_addr4(127, 0, 0, 54, 5353);
}

PIN(dns_refused_resolver_gives_port_unreachable_and_the_next_one_is_used)
{
    struct sfh h;
    sfh_init(&h, two_resolvers);
    struct dmsg q;
    query(&q, 1, "example.test");
    struct sfh_sock *s = ask(&h, &q, 40000);
    assert_int_equal(s->addr.ip.addr[3], 53);
    tk_script_once(&h.script, VNAT_OP_DGRAM_RECV, s->tok, -111);
    sfh_readable(&h, s->tok);
    struct tk_pkt o = sfh_next(&h);
    assert_true(o.ok);
    assert_int_equal(o.proto, VW_IPPROTO_ICMP);
    assert_int_equal(o.icmp.type, VW_ICMP_DEST_UNREACH);
    assert_int_equal(o.icmp.code, 3);
    assert_memory_equal(o.src, DNS, 4);
    struct sfh_sock *s2 = ask(&h, &q, 40001);
    assert_non_null(s2);
    assert_int_equal(s2->addr.ip.addr[3], 54);
    assert_int_equal(s2->addr.port, 5353);
    sfh_free(&h);
}

/* A resolver that answers REFUSED, SERVFAIL or NOTIMP (issue 14 item 6):
 * the guest gets the answer at once, and new flows go to the next resolver,
 * as for one that is down. NXDOMAIN is an answer: no move. */
PIN(dns_refusing_resolver_answer_is_delivered_and_the_next_one_is_used)
{
    static const uint8_t rcodes[] = {5, 2, 4, 3};
    struct sfh h;
    sfh_init(&h, two_resolvers);
    uint8_t at = 53;
    for (unsigned i = 0; i < sizeof rcodes; i++) {
        struct dmsg q, r;
        query(&q, (uint16_t)(10 + i), "example.test");
        struct sfh_sock *s = ask(&h, &q, (uint16_t)(40000 + i));
        assert_non_null(s);
        assert_int_equal(s->addr.ip.addr[3], at);
        answer(&r, &q, 300);
        r.b[3] = (uint8_t)((r.b[3] & 0xf0) | rcodes[i]);
        sfh_incoming(s, &s->addr, r.b, r.len);
        assert_int_equal(sfh_readable(&h, s->tok), VNAT_OK);
        struct tk_pkt o = expect_guest_answer(&h, (uint16_t)(40000 + i));
        assert_int_equal(o.len, r.len);
        assert_memory_equal(o.payload, r.b, r.len);
        if (rcodes[i] != 3)
            at = at == 53 ? 54 : 53;
    }
    /* after REFUSED, SERVFAIL, NOTIMP: 53 -> 54 -> 53 -> 54; NXDOMAIN stays */
    struct dmsg q;
    query(&q, 20, "example.test");
    struct sfh_sock *s = ask(&h, &q, 40010);
    assert_non_null(s);
    assert_int_equal(s->addr.ip.addr[3], 54);
    sfh_free(&h);
}

PIN(dns_over_tcp_goes_to_the_resolver)
{
    struct sfh h;
    sfh_init(&h, NULL);
    sfh_send_tcp(&h, DNS, 40000, 53, 1000, 0, VW_TCP_SYN, 65535, true, NULL, 0);
    struct sfh_sock *s = sfh_last(&h);
    assert_non_null(s);
    assert_int_equal(s->kind, SFH_STREAM);
    struct vnat_sockaddr res = sfh_addr4(127, 0, 0, 53, 53);
    assert_memory_equal(&s->addr, &res, sizeof res);
    sfh_free(&h);
}

static void no_resolvers(struct vnat_config *c)
{
    c->n_dns_servers = 0;
}

PIN(dns_without_resolvers_sends_nothing_to_the_host)
{
    struct sfh h;
    sfh_init(&h, no_resolvers);
    struct dmsg q;
    query(&q, 1, "example.test");
    assert_null(ask(&h, &q, 40000));
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_POLICY]), 1);
    assert_int_equal(h.ops[VNAT_OP_DGRAM_SEND], 0);
    sfh_free(&h);
}

/* The poisoning attack: someone who only guessed the host socket's
 * ephemeral port (no ID to guess, no timing window) sends an answer for
 * another name. Only an answer whose ID and question (byte for byte, so the
 * guest's 0x20 letter case counts) match a query still outstanding on that
 * socket reaches the guest or the cache, and only once. */
PIN(dns_answers_to_no_outstanding_query_are_dropped_never_cached)
{
    struct sfh h;
    sfh_init(&h, cache_on);
    struct vnat_sockaddr res = sfh_addr4(127, 0, 0, 53, 53);
    struct dmsg q1, q2, bank, r;
    query(&q1, 0x1111, "vIctim.test");
    query(&q2, 0x2222, "second.test");
    struct sfh_sock *s = ask(&h, &q1, 40000);
    assert_non_null(s);
    assert_int_equal(sfh_send_udp(&h, DNS, 40000, 53, q2.b, q2.len), VNAT_OK);
    assert_int_equal(s->nsent, 2); /* one flow, one socket, both queries */
    /* Spoofed: another name with an unguessed ID; another name with q1's
     * ID; q1's name in other letter case; q1's question with q2's ID. */
    struct dmsg spoof[4];
    query(&bank, 0x7777, "bank.test");
    answer(&spoof[0], &bank, 86400);
    query(&bank, 0x1111, "bank.test");
    answer(&spoof[1], &bank, 86400);
    query(&bank, 0x1111, "victim.test");
    answer(&spoof[2], &bank, 86400);
    query(&bank, 0x2222, "vIctim.test");
    answer(&spoof[3], &bank, 86400);
    for (int i = 0; i < 4; i++) {
        sfh_incoming(s, &res, spoof[i].b, spoof[i].len);
        assert_int_equal(sfh_readable(&h, s->tok), VNAT_OK);
        assert_int_equal(sfh_pending(&h), 0);
    }
    assert_int_equal(SFH_STAT(&h, dns_answers_unmatched), 4);
    /* The real answer reaches the guest once; a second copy does not. */
    answer(&r, &q1, 300);
    sfh_incoming(s, &res, r.b, r.len);
    sfh_readable(&h, s->tok);
    struct tk_pkt o = expect_guest_answer(&h, 40000);
    assert_int_equal(o.len, r.len);
    sfh_incoming(s, &res, r.b, r.len);
    sfh_readable(&h, s->tok);
    assert_int_equal(sfh_pending(&h), 0);
    assert_int_equal(SFH_STAT(&h, dns_answers_duplicate), 1);
    /* The cache holds only the real answer: bank.test goes to the resolver. */
    query(&bank, 0x3333, "bank.test");
    assert_non_null(ask(&h, &bank, 40001));
    assert_null(ask(&h, &q1, 40002));
    assert_int_equal(SFH_STAT(&h, dns_cache_hits), 1);
    sfh_free(&h);
}

/* A DNS flow ends once every query it carried is answered: it holds no
 * flow slot and no host socket for the UDP stream timeout (issue 14, item
 * 2: 34 lookups a second used to fill the default table). glibc sends A and
 * AAAA on one socket: the flow waits for both. */
PIN(dns_flow_ends_when_every_query_it_carried_is_answered)
{
    struct sfh h;
    sfh_init(&h, NULL);
    struct vnat_sockaddr res = sfh_addr4(127, 0, 0, 53, 53);
    struct dmsg a, aaaa, r;
    query(&a, 0x0a0a, "host.test");
    query(&aaaa, 0x0b0b, "host.test");
    vw_put16(aaaa.b + aaaa.len - 4, 28); /* AAAA */
    struct sfh_sock *s = ask(&h, &a, 40000);
    assert_non_null(s);
    assert_int_equal(sfh_send_udp(&h, DNS, 40000, 53, aaaa.b, aaaa.len), VNAT_OK);
    answer(&r, &a, 300);
    sfh_incoming(s, &res, r.b, r.len);
    sfh_readable(&h, s->tok);
    expect_guest_answer(&h, 40000);
    assert_false(s->closed); /* AAAA still waits */
    assert_int_equal(SFH_STAT(&h, udp_flows), 1);
    answer(&r, &aaaa, 300);
    sfh_incoming(s, &res, r.b, r.len);
    sfh_readable(&h, s->tok);
    expect_guest_answer(&h, 40000);
    assert_true(s->closed);
    assert_int_equal(SFH_STAT(&h, udp_flows), 0);
    assert_int_equal(SFH_STAT(&h, flows_live), 0);
    /* The next query from that port opens a new flow. */
    query(&a, 0x0c0c, "host.test");
    vnat_token old = s->tok;
    struct sfh_sock *s2 = ask(&h, &a, 40000);
    assert_non_null(s2);
    assert_true(s2->tok != old && !s2->closed);
    sfh_free(&h);
}

/* An answer larger than the guest MTU allows (mtu - 28: EDNS answers over
 * 1472 bytes, common with DNSSEC) reaches the guest truncated (issue 14
 * item 3): its header with TC set and the answer, authority and
 * additional counts 0, and its question, in one datagram. The guest's
 * resolver then asks again over TCP (RFC 1035 4.2.1, RFC 7766), which
 * reaches the resolver through the TCP path. It is never fragmented. */
PIN(dns_answer_larger_than_the_guest_mtu_is_truncated_so_the_guest_retries_over_tcp)
{
    struct sfh h;
    sfh_init(&h, cache_on);
    struct vnat_sockaddr res = sfh_addr4(127, 0, 0, 53, 53);
    struct dmsg q;
    query(&q, 0x7e57, "Big.Test");
    struct sfh_sock *s = ask(&h, &q, 40000);
    assert_non_null(s);
    /* 150 A records: 12 + 14 + 150 * 16 = 2426 bytes, with an OPT record. */
    static uint8_t big[4096];
    memcpy(big, q.b, q.len);
    vw_put16(big + 2, 0x8180);
    vw_put16(big + 6, 150);
    vw_put16(big + 10, 1);
    size_t len = q.len;
    for (unsigned i = 0; i < 150; i++, len += 16) {
        uint8_t *p = big + len;
        vw_put16(p, 0xC00C);
        vw_put16(p + 2, 1);
        vw_put16(p + 4, 1);
        vw_put32(p + 6, 300);
        vw_put16(p + 10, 4);
        p[12] = 192, p[13] = 0, p[14] = 2, p[15] = (uint8_t)i;
    }
    static const uint8_t opt[11] = {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0};
    memcpy(big + len, opt, sizeof opt);
    len += sizeof opt;
    sfh_incoming(s, &res, big, len);
    assert_int_equal(sfh_readable(&h, s->tok), VNAT_OK);
    struct tk_pkt o = expect_guest_answer(&h, 40000);
    assert_false(o.ip.is_fragment);
    assert_int_equal(o.len, q.len); /* header and question only */
    assert_int_equal(vw_get16(o.payload), 0x7e57);
    assert_int_equal(vw_get16(o.payload + 2), 0x8380); /* QR, TC, RD, RA, NOERROR */
    assert_int_equal(vw_get16(o.payload + 4), 1);
    assert_int_equal(vw_get16(o.payload + 6), 0);
    assert_int_equal(vw_get16(o.payload + 8), 0);
    assert_int_equal(vw_get16(o.payload + 10), 0);
    assert_memory_equal(o.payload + 12, q.b + 12, q.len - 12); /* the guest's own case */
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_OTHER]), 0);
    assert_int_equal(SFH_STAT(&h, dns_truncated), 1);
    assert_int_equal(SFH_STAT(&h, udp_fragmented), 0);
    /* The query is answered: the flow ends, and nothing was cached. */
    assert_true(s->closed);
    query(&q, 0x7e58, "big.test");
    assert_non_null(ask(&h, &q, 40001));
    assert_int_equal(SFH_STAT(&h, dns_cache_hits), 0);
    sfh_free(&h);
}

/* At MTU 576 the bound is 548 bytes: a 600-byte answer is truncated, a
 * 548-byte one goes whole. */
static void mtu576(struct vnat_config *c)
{
    c->mtu = 576;
}

PIN(dns_truncation_follows_the_guest_mtu)
{
    struct sfh h;
    sfh_init(&h, mtu576);
    struct vnat_sockaddr res = sfh_addr4(127, 0, 0, 53, 53);
    static uint8_t big[1024];
    for (unsigned k = 0; k < 2; k++) {
        size_t want = k == 0 ? 548 : 549;
        struct dmsg q;
        query(&q, (uint16_t)(0x100 + k), "edge.test");
        struct sfh_sock *s = ask(&h, &q, (uint16_t)(40000 + k));
        assert_non_null(s);
        memset(big, 0, sizeof big);
        memcpy(big, q.b, q.len);
        vw_put16(big + 2, 0x8180);
        vw_put16(big + 6, 1);
        uint8_t *p = big + q.len; /* one TXT-like record padded to size */
        vw_put16(p, 0xC00C);
        vw_put16(p + 2, 16);
        vw_put16(p + 4, 1);
        vw_put32(p + 6, 60);
        vw_put16(p + 10, (uint16_t)(want - q.len - 12));
        sfh_incoming(s, &res, big, want);
        sfh_readable(&h, s->tok);
        struct tk_pkt o = expect_guest_answer(&h, (uint16_t)(40000 + k));
        if (k == 0) {
            assert_int_equal(o.len, 548);
            assert_memory_equal(o.payload, big, 548);
        } else {
            assert_int_equal(o.len, q.len);
            assert_true(o.payload[2] & 0x02); /* TC */
            assert_int_equal(vw_get16(o.payload + 6), 0);
        }
    }
    assert_int_equal(SFH_STAT(&h, dns_truncated), 1);
    sfh_free(&h);
}

PIN_MAIN(cmocka_unit_test(dns_query_resolves),
         cmocka_unit_test(
             dns_answer_larger_than_the_guest_mtu_is_truncated_so_the_guest_retries_over_tcp),
         cmocka_unit_test(dns_truncation_follows_the_guest_mtu),
         cmocka_unit_test(dns_flow_ends_when_every_query_it_carried_is_answered),
         cmocka_unit_test(dns_answers_to_no_outstanding_query_are_dropped_never_cached),
         cmocka_unit_test(dns_cache_keys_by_question_not_xid),
         cmocka_unit_test(dns_cache_ages_ttls_and_expires_at_the_smallest),
         cmocka_unit_test(dns_cache_is_off_by_default_and_sized_at_creation),
         cmocka_unit_test(dns_header_only_answer_to_a_header_only_query_reaches_the_guest),
         cmocka_unit_test(dns_malformed_queries_are_dropped_and_counted),
         cmocka_unit_test(dns_hostile_answers_are_delivered_but_never_cached),
         cmocka_unit_test(dns_refused_resolver_gives_port_unreachable_and_the_next_one_is_used),
         cmocka_unit_test(dns_refusing_resolver_answer_is_delivered_and_the_next_one_is_used),
         cmocka_unit_test(dns_over_tcp_goes_to_the_resolver),
         cmocka_unit_test(dns_without_resolvers_sends_nothing_to_the_host))
