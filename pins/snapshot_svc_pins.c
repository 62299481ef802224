/*
 * snapshot_svc_pins.c — snapshot and restore of every kind of state the
 * guest services hold (docs/snapshot.md), over the services' fake host: a
 * DHCP lease, a DNS cache entry, a DNS query in flight, an ICMP echo flow,
 * an inbound UDP forward flow, an inbound TCP flow (SYN_SENT), an outbound
 * TCP flow still connecting, a flow waiting for the guest link, both
 * listeners. The image must come back byte for byte, and the restored core
 * must go on serving from that state.
 */
#include <stdlib.h>
#include <string.h>

#include "pin.h"
#include "svc_fakehost.h"

static const uint8_t BCAST[4] = {255, 255, 255, 255};
static const uint8_t ZERO[4] = {0, 0, 0, 0};
static const uint8_t GUEST[4] = {10, 0, 2, 15};
static const uint8_t DNS[4] = {10, 0, 2, 3};
static const uint8_t FAR[4] = {93, 184, 216, 34};
#define S 1000000000ull

static void everything(struct vnat_config *c)
{
    static struct vnat_forward f[2];
    memset(f, 0, sizeof f);
    f[0].proto = VNAT_PROTO_TCP;
    f[0].host = sfh_addr4(127, 0, 0, 1, 8080);
    f[0].guest_port = 80;
    f[1].proto = VNAT_PROTO_UDP;
    f[1].host = sfh_addr4(127, 0, 0, 1, 5353);
    f[1].guest_port = 53;
    c->forwards = f;
    c->n_forwards = 2;
    c->flags |= VNAT_F_DNS_CACHE;
}

static void dhcp_request(struct sfh *h)
{
    uint8_t m[600];
    struct vw_dhcp_out o;
    memset(&o, 0, sizeof o);
    o.op = VW_BOOTREQUEST;
    o.xid = 0x11223344;
    o.chaddr = h->cfg.guest_mac;
    size_t n = vw_dhcp_build(m, sizeof m, &o);
    n = vw_dhcp_opt_put8(m, sizeof m, n, VW_DHCP_OPT_MSG_TYPE, VW_DHCP_REQUEST);
    n = vw_dhcp_opt_put(m, sizeof m, n, VW_DHCP_OPT_REQ_IP, 4, GUEST);
    n = vw_dhcp_opt_end(m, sizeof m, n);
    uint8_t f[1000];
    size_t fl = sfh_udp_frame(h, f, sizeof f, ZERO, BCAST, 68, 67, m, n);
    memset(f, 0xff, 6);
    assert_int_equal(sfh_frame(h, f, fl), VNAT_OK);
}

/* A DNS query for example.test (id) and, if ans, its answer (one A record,
 * TTL 300). */
static size_t dns_msg(uint8_t *b, uint16_t id, bool ans)
{
    static const uint8_t q[] = {7,   'e', 'x', 'a', 'm', 'p', 'l', 'e', 4,
                                't', 'e', 's', 't', 0,   0,   1,   0,   1};
    memset(b, 0, 12);
    vw_put16(b, id);
    vw_put16(b + 2, ans ? 0x8180 : 0x0100);
    vw_put16(b + 4, 1);
    memcpy(b + 12, q, sizeof q);
    size_t n = 12 + sizeof q;
    if (!ans)
        return n;
    vw_put16(b + 6, 1);
    static const uint8_t rr[] = {0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 1, 0x2C, 0, 4, 192, 0, 2, 10};
    memcpy(b + n, rr, sizeof rr);
    return n + sizeof rr;
}

static void build_state(struct sfh *h)
{
    dhcp_request(h);
    uint8_t b[128];
    size_t n = dns_msg(b, 1, false);
    assert_int_equal(sfh_send_udp(h, DNS, 40000, 53, b, n), VNAT_OK);
    struct sfh_sock *res = sfh_last(h);
    /* A second query on that flow, still unanswered: the flow waits for it
     * (a DNS flow ends when every query it carried is answered), and the
     * image carries the queries it waits for. */
    n = dns_msg(b, 9, false);
    assert_int_equal(sfh_send_udp(h, DNS, 40000, 53, b, n), VNAT_OK);
    struct vnat_sockaddr from = sfh_addr4(127, 0, 0, 53, 53);
    n = dns_msg(b, 1, true);
    sfh_incoming(res, &from, b, n);
    assert_int_equal(sfh_readable(h, res->tok), VNAT_OK); /* cached */
    n = dns_msg(b, 2, false);
    b[12 + 1] = 'E'; /* a new question case: a hit, not a flow */
    assert_int_equal(sfh_send_udp(h, DNS, 40001, 53, b, n), VNAT_OK);
    assert_int_equal(SFH_STAT(h, dns_cache_hits), 1);
    assert_int_equal(sfh_send_udp(h, FAR, 40002, 53, "q", 1), VNAT_OK); /* in flight */
    assert_int_equal(sfh_send_ping(h, FAR, 7, 1, "ping", 4), VNAT_OK);
    struct sfh_sock *ub = sfh_find(h, SFH_DGRAM_BOUND, 0);
    struct vnat_sockaddr peer = sfh_addr4(198, 51, 100, 9, 40000);
    sfh_incoming(ub, &peer, "query", 5);
    assert_int_equal(sfh_readable(h, ub->tok), VNAT_OK);
    struct sfh_sock *l = sfh_find(h, SFH_LISTENER, 0);
    struct vnat_sockaddr client = sfh_addr4(198, 51, 100, 10, 41000);
    sfh_pending_conn(l, &client);
    assert_int_equal(sfh_listener(h, l->tok), VNAT_OK); /* SYN_SENT toward the guest */
    h->refuse = 1;                                      /* the guest link is full */
    assert_int_equal(sfh_send_tcp(h, FAR, 42000, 443, 77, 0, VW_TCP_SYN, 65535, true, NULL, 0),
                     VNAT_OK); /* connecting */
    sfh_advance(h, 1 * S);     /* the SYN to the guest is retransmitted: refused, link-wait */
    h->refuse = 0;
    sfh_drain(h);
}

static void go_on(struct sfh *h)
{
    uint8_t b[128];
    size_t n = dns_msg(b, 3, false);
    assert_int_equal(sfh_send_udp(h, DNS, 40003, 53, b, n), VNAT_OK);
    assert_int_equal(sfh_link(h), VNAT_OK);
    sfh_advance(h, 3 * S);
    sfh_advance(h, 60 * S);
}

/* The first u32 of section tag's body (its count). */
static uint32_t section_count(const uint8_t *img, size_t len, unsigned tag)
{
    for (size_t off = 24; off + 12 <= len - 8;) {
        uint32_t n = ((unsigned)img[off] | (unsigned)img[off + 1] << 8) == tag ? 0 : 1;
        uint32_t blen = (uint32_t)img[off + 4] | (uint32_t)img[off + 5] << 8 |
                        (uint32_t)img[off + 6] << 16 | (uint32_t)img[off + 7] << 24;
        if (n == 0)
            return (uint32_t)img[off + 8] | (uint32_t)img[off + 9] << 8;
        off += 8 + blen;
    }
    fail_msg("no section %u", tag);
    return 0;
}

static uint8_t *snap(struct sfh *h, size_t *len)
{
    *len = vnat_snapshot_size(h->nat);
    uint8_t *img = malloc(*len);
    assert_int_equal(vnat_snapshot(h->nat, img, *len, NULL), VNAT_OK);
    return img;
}

PIN(snapshot_every_service_state_round_trips)
{
    static struct sfh h;
    sfh_init(&h, everything);
    build_state(&h);
    assert_int_equal(SFH_STAT(&h, udp_flows), 3);
    assert_int_equal(SFH_STAT(&h, icmp_flows), 1);
    assert_int_equal(SFH_STAT(&h, tcp_flows_by_state[VNAT_TCP_CONNECTING]), 1);
    assert_int_equal(SFH_STAT(&h, tcp_flows_by_state[VNAT_TCP_SYN_SENT]), 1);
    assert_int_equal(SFH_STAT(&h, dhcp_leases), 1);
    size_t len, len2;
    uint8_t *img = snap(&h, &len);
    assert_int_equal(section_count(img, len, 10), 6); /* FLOWS */
    assert_int_equal(section_count(img, len, 12), 1); /* LINKWAIT */
    assert_int_equal(section_count(img, len, 13), 1); /* DNS entries */
    size_t need = 0;
    assert_int_equal(vnat_restore_memory_size(img, len, &need), VNAT_OK);
    assert_int_equal(need, h.mem_size); /* the DNS cache's memory included */
    void *mem = aligned_alloc(16, (need + 15) & ~(size_t)15);
    vnat *nat = NULL;
    uint64_t ops[VNAT_OP__COUNT];
    memcpy(ops, h.ops, sizeof ops);
    assert_int_equal(vnat_restore(mem, need, sfh_ops_table(), &h, img, len,
                                  VNAT_RESTORE_SOCKETS_KEPT | VNAT_RESTORE_SAME_CLOCK, h.now, &nat),
                     VNAT_OK);
    assert_memory_equal(ops, h.ops, sizeof ops);
    memset(h.mem, 0xA5, need);
    free(h.mem);
    h.mem = mem;
    h.nat = nat;
    sfh_check(&h);
    uint8_t *again = snap(&h, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(img, again, len);
    free(img);
    free(again);
    /* The restored core goes on exactly as one never restored: the DNS
     * cache answers, the link-wait flow resumes on link-writable, both
     * handshakes time out (the inbound one with a RST, the outbound
     * connect silently: issue 14 item 3). */
    static struct sfh plain;
    sfh_init(&plain, everything);
    build_state(&plain);
    go_on(&plain);
    go_on(&h);
    assert_int_equal(SFH_STAT(&h, dns_cache_hits), 2);
    assert_int_equal(SFH_STAT(&h, rst_sent[VNAT_RST_CONNECT_TIMEOUT]), 1);
    assert_int_equal(SFH_STAT(&h, tcp_connects_timed_out), 1);
    assert_int_equal(h.out.n, plain.out.n);
    for (size_t i = 0; i < h.out.n; i++) {
        const struct tk_frame *x = tk_capture_at(&plain.out, i), *y = tk_capture_at(&h.out, i);
        assert_int_equal(x->len, y->len);
        assert_memory_equal(x->data, y->data, x->len);
    }
    struct vnat_stats s1, s2;
    vnat_get_stats(plain.nat, &s1, sizeof s1);
    vnat_get_stats(h.nat, &s2, sizeof s2);
    assert_memory_equal(&s1, &s2, sizeof s1);
    sfh_free(&plain);
    sfh_free(&h);
}

PIN_MAIN(cmocka_unit_test(snapshot_every_service_state_round_trips))
