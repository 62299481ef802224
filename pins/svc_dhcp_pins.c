/*
 * svc_dhcp_pins.c — the DHCPv4 server for the one guest (core/src/dhcp.c):
 * DISCOVER/OFFER, REQUEST/ACK, NAK, RELEASE, INFORM, the options a guest
 * needs (router, DNS, MTU, lease), and hostile messages dropped and
 * counted.
 */
#include <string.h>

#include "pin.h"
#include "svc_fakehost.h"

static const uint8_t BCAST[4] = {255, 255, 255, 255};
static const uint8_t ZERO[4] = {0, 0, 0, 0};
static const uint8_t GUEST[4] = {10, 0, 2, 15};
static const uint8_t GW[4] = {10, 0, 2, 2};

struct msg {
    uint8_t buf[600];
    size_t len;
};

static void msg_start(struct sfh *h, struct msg *m, uint8_t type, const uint8_t *ciaddr,
                      uint16_t flags)
{
    struct vw_dhcp_out o;
    memset(&o, 0, sizeof o);
    o.op = VW_BOOTREQUEST;
    o.xid = 0x11223344;
    o.flags = flags;
    o.ciaddr = ciaddr;
    o.chaddr = h->cfg.guest_mac;
    m->len = vw_dhcp_build(m->buf, sizeof m->buf, &o);
    assert_int_equal(m->len, VW_DHCP_OPTS_OFF);
    m->len = vw_dhcp_opt_put8(m->buf, sizeof m->buf, m->len, VW_DHCP_OPT_MSG_TYPE, type);
}

static void msg_opt(struct msg *m, uint8_t code, uint8_t len, const void *data)
{
    m->len = vw_dhcp_opt_put(m->buf, sizeof m->buf, m->len, code, len, data);
    assert_true(m->len > 0);
}

static vnat_err msg_send(struct sfh *h, struct msg *m, const uint8_t *src, const uint8_t *dst)
{
    m->len = vw_dhcp_opt_end(m->buf, sizeof m->buf, m->len);
    uint8_t f[1000];
    size_t n = sfh_udp_frame(h, f, sizeof f, src, dst, 68, 67, m->buf, m->len);
    if (memcmp(dst, BCAST, 4) == 0)
        memset(f, 0xff, 6);
    return sfh_frame(h, f, n);
}

struct reply {
    struct tk_pkt o;
    struct vw_dhcp d;
    int type;
};

static struct reply next_reply(struct sfh *h)
{
    struct reply r;
    memset(&r, 0, sizeof r);
    assert_int_equal(sfh_pending(h), 1);
    r.o = sfh_next(h);
    assert_true(r.o.ok);
    assert_int_equal(r.o.proto, VW_IPPROTO_UDP);
    assert_int_equal(r.o.udp.sport, 67);
    assert_int_equal(r.o.udp.dport, 68);
    assert_memory_equal(r.o.src, GW, 4);
    assert_int_equal(vw_dhcp_parse(r.o.payload, r.o.len, &r.d), VW_OK);
    assert_int_equal(r.d.op, VW_BOOTREPLY);
    assert_int_equal(r.d.xid, 0x11223344);
    assert_memory_equal(r.d.chaddr, h->cfg.guest_mac, 6);
    const uint8_t *t;
    assert_int_equal(vw_dhcp_find(&r.d, VW_DHCP_OPT_MSG_TYPE, &t), 1);
    r.type = t[0];
    return r;
}

static uint32_t opt32(const struct vw_dhcp *d, uint8_t code)
{
    const uint8_t *p;
    assert_int_equal(vw_dhcp_find(d, code, &p), 4);
    return vw_get32(p);
}

static void expect_config(const struct vw_dhcp *d, bool lease)
{
    const uint8_t *p;
    assert_int_equal(vw_dhcp_find(d, VW_DHCP_OPT_ROUTER, &p), 4);
    assert_memory_equal(p, GW, 4);
    assert_int_equal(vw_dhcp_find(d, VW_DHCP_OPT_DNS, &p), 4);
    static const uint8_t dns[4] = {10, 0, 2, 3};
    assert_memory_equal(p, dns, 4);
    assert_int_equal(vw_dhcp_find(d, VW_DHCP_OPT_MTU, &p), 2);
    assert_int_equal(vw_get16(p), 1500);
    assert_int_equal(opt32(d, VW_DHCP_OPT_SUBNET_MASK), 0xffffff00u);
    assert_int_equal(vw_dhcp_find(d, VW_DHCP_OPT_SERVER_ID, &p), 4);
    assert_memory_equal(p, GW, 4);
    if (lease) {
        assert_int_equal(opt32(d, VW_DHCP_OPT_LEASE), 86400);
        assert_int_equal(opt32(d, VW_DHCP_OPT_RENEWAL), 43200);
        assert_int_equal(opt32(d, VW_DHCP_OPT_REBINDING), 75600);
        assert_memory_equal(d->yiaddr, GUEST, 4);
    } else {
        assert_true(vw_dhcp_find(d, VW_DHCP_OPT_LEASE, &p) < 0);
        assert_memory_equal(d->yiaddr, ZERO, 4);
    }
}

PIN(dhcp_discover_gets_an_offer_with_router_dns_mtu_and_lease)
{
    struct sfh h;
    sfh_init(&h, NULL);
    struct msg m;
    msg_start(&h, &m, VW_DHCP_DISCOVER, NULL, 0x8000);
    assert_int_equal(msg_send(&h, &m, ZERO, BCAST), VNAT_OK);
    struct reply r = next_reply(&h);
    assert_int_equal(r.type, VW_DHCP_OFFER);
    expect_config(&r.d, true);
    /* Broadcast flag set: the offer is broadcast. */
    assert_memory_equal(r.o.dst, BCAST, 4);
    assert_memory_equal(r.o.eth_dst, "\xff\xff\xff\xff\xff\xff", 6);
    assert_true(r.o.len >= 300);
    assert_int_equal(SFH_STAT(&h, dhcp_leases), 0);
    sfh_free(&h);
}

PIN(dhcp_request_gets_an_ack_and_counts_the_lease)
{
    struct sfh h;
    sfh_init(&h, NULL);
    struct msg m;
    msg_start(&h, &m, VW_DHCP_REQUEST, NULL, 0);
    msg_opt(&m, VW_DHCP_OPT_REQ_IP, 4, GUEST);
    msg_opt(&m, VW_DHCP_OPT_SERVER_ID, 4, GW);
    msg_send(&h, &m, ZERO, BCAST);
    struct reply r = next_reply(&h);
    assert_int_equal(r.type, VW_DHCP_ACK);
    expect_config(&r.d, true);
    /* No broadcast flag: unicast to the offered address at the guest MAC. */
    assert_memory_equal(r.o.dst, GUEST, 4);
    assert_memory_equal(r.o.eth_dst, h.cfg.guest_mac, 6);
    assert_int_equal(SFH_STAT(&h, dhcp_leases), 1);
    /* Renewal: unicast from the leased address, ciaddr set. */
    msg_start(&h, &m, VW_DHCP_REQUEST, GUEST, 0);
    msg_send(&h, &m, GUEST, GW);
    r = next_reply(&h);
    assert_int_equal(r.type, VW_DHCP_ACK);
    assert_memory_equal(r.o.dst, GUEST, 4);
    assert_int_equal(SFH_STAT(&h, dhcp_leases), 2);
    sfh_free(&h);
}

PIN(dhcp_request_for_another_address_gets_a_nak)
{
    struct sfh h;
    sfh_init(&h, NULL);
    static const uint8_t other[4] = {10, 0, 2, 99};
    struct msg m;
    msg_start(&h, &m, VW_DHCP_REQUEST, NULL, 0);
    msg_opt(&m, VW_DHCP_OPT_REQ_IP, 4, other);
    msg_send(&h, &m, ZERO, BCAST);
    struct reply r = next_reply(&h);
    assert_int_equal(r.type, VW_DHCP_NAK);
    assert_memory_equal(r.o.dst, BCAST, 4);
    assert_memory_equal(r.d.yiaddr, ZERO, 4);
    /* Neither a requested address nor ciaddr: NAK too. */
    msg_start(&h, &m, VW_DHCP_REQUEST, NULL, 0);
    msg_send(&h, &m, ZERO, BCAST);
    assert_int_equal(next_reply(&h).type, VW_DHCP_NAK);
    assert_int_equal(SFH_STAT(&h, dhcp_leases), 0);
    sfh_free(&h);
}

PIN(dhcp_request_naming_another_server_gets_no_answer)
{
    struct sfh h;
    sfh_init(&h, NULL);
    static const uint8_t other_server[4] = {10, 0, 2, 1};
    struct msg m;
    msg_start(&h, &m, VW_DHCP_REQUEST, NULL, 0);
    msg_opt(&m, VW_DHCP_OPT_REQ_IP, 4, GUEST);
    msg_opt(&m, VW_DHCP_OPT_SERVER_ID, 4, other_server);
    msg_send(&h, &m, ZERO, BCAST);
    assert_int_equal(sfh_pending(&h), 0);
    sfh_free(&h);
}

PIN(dhcp_release_and_decline_get_no_answer)
{
    struct sfh h;
    sfh_init(&h, NULL);
    struct msg m;
    msg_start(&h, &m, VW_DHCP_RELEASE, GUEST, 0);
    msg_opt(&m, VW_DHCP_OPT_SERVER_ID, 4, GW);
    msg_send(&h, &m, GUEST, GW);
    msg_start(&h, &m, VW_DHCP_DECLINE, NULL, 0);
    msg_opt(&m, VW_DHCP_OPT_REQ_IP, 4, GUEST);
    msg_send(&h, &m, ZERO, BCAST);
    assert_int_equal(sfh_pending(&h), 0);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_DHCP_MALFORMED]), 0);
    sfh_free(&h);
}

PIN(dhcp_inform_gets_the_configuration_without_a_lease)
{
    struct sfh h;
    sfh_init(&h, NULL);
    struct msg m;
    msg_start(&h, &m, VW_DHCP_INFORM, GUEST, 0);
    msg_send(&h, &m, GUEST, BCAST);
    struct reply r = next_reply(&h);
    assert_int_equal(r.type, VW_DHCP_ACK);
    expect_config(&r.d, false);
    assert_memory_equal(r.o.dst, GUEST, 4);
    assert_int_equal(SFH_STAT(&h, dhcp_leases), 0);
    sfh_free(&h);
}

PIN(dhcp_malformed_messages_are_dropped_and_counted)
{
    struct sfh h;
    sfh_init(&h, NULL);
    struct msg m;
    int sent = 0;
    /* An option running past the end. */
    msg_start(&h, &m, VW_DHCP_DISCOVER, NULL, 0);
    m.buf[m.len++] = VW_DHCP_OPT_HOSTNAME;
    m.buf[m.len++] = 200;
    m.buf[m.len++] = 'x';
    uint8_t f[1000];
    size_t n = sfh_udp_frame(&h, f, sizeof f, ZERO, BCAST, 68, 67, m.buf, m.len);
    memset(f, 0xff, 6);
    sfh_frame(&h, f, n);
    sent++;
    /* No message type. */
    struct vw_dhcp_out o;
    memset(&o, 0, sizeof o);
    o.op = VW_BOOTREQUEST;
    o.chaddr = h.cfg.guest_mac;
    m.len = vw_dhcp_build(m.buf, sizeof m.buf, &o);
    msg_send(&h, &m, ZERO, BCAST);
    sent++;
    /* Two message types. */
    msg_start(&h, &m, VW_DHCP_DISCOVER, NULL, 0);
    msg_opt(&m, VW_DHCP_OPT_MSG_TYPE, 1, "\x03");
    msg_send(&h, &m, ZERO, BCAST);
    sent++;
    /* A requested-address option of the wrong length. */
    msg_start(&h, &m, VW_DHCP_REQUEST, NULL, 0);
    msg_opt(&m, VW_DHCP_OPT_REQ_IP, 3, GUEST);
    msg_send(&h, &m, ZERO, BCAST);
    sent++;
    /* A server message from the guest. */
    msg_start(&h, &m, VW_DHCP_OFFER, NULL, 0);
    msg_send(&h, &m, ZERO, BCAST);
    sent++;
    /* Truncated before the magic cookie, and a wrong cookie. */
    msg_start(&h, &m, VW_DHCP_DISCOVER, NULL, 0);
    n = sfh_udp_frame(&h, f, sizeof f, ZERO, BCAST, 68, 67, m.buf, 200);
    memset(f, 0xff, 6);
    sfh_frame(&h, f, n);
    sent++;
    m.buf[236] ^= 0xff;
    msg_send(&h, &m, ZERO, BCAST);
    sent++;
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_DHCP_MALFORMED]), sent);
    assert_int_equal(sfh_pending(&h), 0);
    sfh_free(&h);
}

PIN(dhcp_for_another_client_is_dropped_as_spoofed)
{
    struct sfh h;
    sfh_init(&h, NULL);
    struct msg m;
    msg_start(&h, &m, VW_DHCP_DISCOVER, NULL, 0);
    m.buf[28 + 5] ^= 1; /* chaddr is not the guest's MAC */
    msg_send(&h, &m, ZERO, BCAST);
    static const uint8_t other[4] = {10, 0, 2, 50};
    msg_start(&h, &m, VW_DHCP_DISCOVER, NULL, 0);
    msg_send(&h, &m, other, BCAST); /* source neither 0.0.0.0 nor the guest's */
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_SPOOFED]), 2);
    assert_int_equal(sfh_pending(&h), 0);
    sfh_free(&h);
}

static void no_dhcp(struct vnat_config *c)
{
    c->flags &= ~VNAT_F_DHCP;
}

PIN(dhcp_off_means_no_answer)
{
    struct sfh h;
    sfh_init(&h, no_dhcp);
    struct msg m;
    msg_start(&h, &m, VW_DHCP_DISCOVER, NULL, 0);
    msg_send(&h, &m, ZERO, BCAST);
    assert_int_equal(sfh_pending(&h), 0);
    assert_int_equal(SFH_STAT(&h, udp_flows), 0);
    sfh_free(&h);
}

PIN_MAIN(cmocka_unit_test(dhcp_discover_gets_an_offer_with_router_dns_mtu_and_lease),
         cmocka_unit_test(dhcp_request_gets_an_ack_and_counts_the_lease),
         cmocka_unit_test(dhcp_request_for_another_address_gets_a_nak),
         cmocka_unit_test(dhcp_request_naming_another_server_gets_no_answer),
         cmocka_unit_test(dhcp_release_and_decline_get_no_answer),
         cmocka_unit_test(dhcp_inform_gets_the_configuration_without_a_lease),
         cmocka_unit_test(dhcp_malformed_messages_are_dropped_and_counted),
         cmocka_unit_test(dhcp_for_another_client_is_dropped_as_spoofed),
         cmocka_unit_test(dhcp_off_means_no_answer))
