/*
 * svc_mac_pins.c — the guest's MAC (issue 14 item 5): learned from the
 * first frame the core accepts, unless VNAT_F_GUEST_MAC_FIXED fixes the
 * configured one; held against any other MAC afterwards; forgotten by
 * vnat_reset_flows() (a new guest) when learned, kept when fixed; carried
 * across snapshot and restore. The guest here is a QEMU NIC with its own
 * MAC (52:54:00:ab:cd:ef), not the default 52:54:00:12:34:56: the pins
 * change the fake guest's MAC (h.cfg, which the frame builders use) after
 * the core was created with the default.
 */
#include <stdlib.h>
#include <string.h>

#include "pin.h"
#include "svc_fakehost.h"

static const uint8_t BCAST[4] = {255, 255, 255, 255};
static const uint8_t ZERO[4] = {0, 0, 0, 0};
static const uint8_t GUEST[4] = {10, 0, 2, 15};
static const uint8_t GW[4] = {10, 0, 2, 2};
static const uint8_t FAR[4] = {93, 184, 216, 34};
static const uint8_t MAC_A[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};
static const uint8_t MAC_B[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
static const uint8_t DEFAULT_MAC[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static void be(struct sfh *h, const uint8_t mac[6])
{
    memcpy(h->cfg.guest_mac, mac, 6);
}

static void fixed(struct vnat_config *c)
{
    c->flags |= VNAT_F_GUEST_MAC_FIXED;
}

/* An ARP request for the gateway from the fake guest: answered to its MAC. */
static void arp_answered(struct sfh *h, const uint8_t mac[6])
{
    assert_int_equal(sfh_send_arp(h, VW_ARP_REQUEST, GUEST, GW), VNAT_OK);
    assert_int_equal(sfh_pending(h), 1);
    struct tk_pkt o = sfh_next(h);
    assert_true(o.ok);
    assert_int_equal(o.arp.op, VW_ARP_REPLY);
    assert_memory_equal(o.eth_dst, mac, 6);
    assert_memory_equal(o.arp.tha, mac, 6);
}

static void arp_dropped(struct sfh *h)
{
    uint64_t spoofed = SFH_STAT(h, drops[VNAT_DROP_SPOOFED]);
    assert_int_equal(sfh_send_arp(h, VW_ARP_REQUEST, GUEST, GW), VNAT_OK);
    assert_int_equal(sfh_pending(h), 0);
    assert_int_equal(SFH_STAT(h, drops[VNAT_DROP_SPOOFED]), spoofed + 1);
}

static int mac_of(struct sfh *h, uint8_t out[6])
{
    return vnat_guest_mac(h->nat, out);
}

static void dhcp(struct sfh *h, uint8_t type, const uint8_t *req_ip)
{
    uint8_t m[600];
    struct vw_dhcp_out o;
    memset(&o, 0, sizeof o);
    o.op = VW_BOOTREQUEST;
    o.xid = 0x55667788;
    o.chaddr = h->cfg.guest_mac;
    size_t n = vw_dhcp_build(m, sizeof m, &o);
    n = vw_dhcp_opt_put8(m, sizeof m, n, VW_DHCP_OPT_MSG_TYPE, type);
    if (req_ip != NULL) {
        n = vw_dhcp_opt_put(m, sizeof m, n, VW_DHCP_OPT_REQ_IP, 4, req_ip);
        n = vw_dhcp_opt_put(m, sizeof m, n, VW_DHCP_OPT_SERVER_ID, 4, GW);
    }
    n = vw_dhcp_opt_end(m, sizeof m, n);
    uint8_t f[1000];
    size_t fl = sfh_udp_frame(h, f, sizeof f, ZERO, BCAST, 68, 67, m, n);
    memset(f, 0xff, 6);
    assert_int_equal(sfh_frame(h, f, fl), VNAT_OK);
}

static struct vw_dhcp dhcp_reply(struct sfh *h, struct tk_pkt *o, int want_type)
{
    struct vw_dhcp d;
    assert_int_equal(sfh_pending(h), 1);
    *o = sfh_next(h);
    assert_true(o->ok);
    assert_int_equal(vw_dhcp_parse(o->payload, o->len, &d), VW_OK);
    const uint8_t *t;
    assert_int_equal(vw_dhcp_find(&d, VW_DHCP_OPT_MSG_TYPE, &t), 1);
    assert_int_equal(t[0], want_type);
    return d;
}

/* QEMU with -device virtio-net-pci,mac=52:54:00:ab:cd:ef: its DHCP client
 * gets a lease for the configured address, at its own MAC (unicast: no
 * broadcast flag), and the core then holds that MAC. */
PIN(guest_with_its_own_mac_gets_a_dhcp_lease)
{
    struct sfh h;
    sfh_init(&h, NULL);
    be(&h, MAC_A);
    dhcp(&h, VW_DHCP_DISCOVER, NULL);
    struct tk_pkt o;
    struct vw_dhcp d = dhcp_reply(&h, &o, VW_DHCP_OFFER);
    assert_memory_equal(d.chaddr, MAC_A, 6);
    assert_memory_equal(o.eth_dst, MAC_A, 6);
    assert_memory_equal(d.yiaddr, GUEST, 4); /* DHCP still offers the configured address */
    dhcp(&h, VW_DHCP_REQUEST, GUEST);
    d = dhcp_reply(&h, &o, VW_DHCP_ACK);
    assert_memory_equal(d.chaddr, MAC_A, 6);
    assert_memory_equal(o.eth_dst, MAC_A, 6);
    assert_int_equal(SFH_STAT(&h, dhcp_leases), 1);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_SPOOFED]), 0);
    uint8_t mac[6];
    assert_int_equal(mac_of(&h, mac), 1);
    assert_memory_equal(mac, MAC_A, 6);
    assert_int_equal(SFH_STAT(&h, guest_macs_learned), 1);
    sfh_check(&h);
    sfh_free(&h);
}

/* A kernel guest with its own MAC: ARP for the gateway is answered, then a
 * TCP connection out is served, every frame toward it at its MAC. */
PIN(guest_with_its_own_mac_gets_arp_and_tcp_service)
{
    struct sfh h;
    sfh_init(&h, NULL);
    be(&h, MAC_A);
    arp_answered(&h, MAC_A);
    assert_int_equal(sfh_send_tcp(&h, FAR, 40000, 80, 1000, 0, VW_TCP_SYN, 65535, true, NULL, 0),
                     VNAT_OK);
    assert_int_equal(h.ops[VNAT_OP_TCP_CONNECT], 1);
    struct sfh_sock *s = sfh_last(&h);
    assert_non_null(s);
    assert_int_equal(vnat_on_writable(h.nat, h.now, s->tok, 0), VNAT_OK); /* connected */
    assert_int_equal(sfh_pending(&h), 1);
    struct tk_pkt o = sfh_next(&h);
    assert_true(o.ok);
    assert_int_equal(o.tcp.flags, VW_TCP_SYN | VW_TCP_ACK);
    assert_memory_equal(o.eth_dst, MAC_A, 6);
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_SPOOFED]), 0);
    sfh_check(&h);
    sfh_free(&h);
}

/* Once learned, anti-spoofing holds the MAC: a frame from any other MAC
 * (a second VM on the socket, a spoofer) is dropped and counted. */
PIN(guest_mac_learned_is_held_against_another_mac)
{
    struct sfh h;
    sfh_init(&h, NULL);
    be(&h, MAC_A);
    arp_answered(&h, MAC_A);
    be(&h, MAC_B);
    arp_dropped(&h);
    be(&h, DEFAULT_MAC); /* the configured MAC too: it is not the guest's */
    arp_dropped(&h);
    be(&h, MAC_A);
    arp_answered(&h, MAC_A);
    assert_int_equal(SFH_STAT(&h, guest_macs_learned), 1);
    sfh_free(&h);
}

/* VNAT_F_GUEST_MAC_FIXED (`--guest-mac`): the configured MAC is the
 * guest's from the start; nothing is learned. */
PIN(guest_mac_fixed_by_the_config_is_not_learned)
{
    struct sfh h;
    sfh_init(&h, fixed);
    uint8_t mac[6];
    assert_int_equal(mac_of(&h, mac), 1);
    assert_memory_equal(mac, DEFAULT_MAC, 6);
    be(&h, MAC_A);
    arp_dropped(&h);
    be(&h, DEFAULT_MAC);
    arp_answered(&h, DEFAULT_MAC);
    assert_int_equal(SFH_STAT(&h, guest_macs_learned), 0);
    assert_int_equal(vnat_reset_flows(h.nat, h.now), VNAT_OK); /* kept across a new guest */
    be(&h, MAC_A);
    arp_dropped(&h);
    sfh_free(&h);
}

static void multicast_fixed(struct vnat_config *c)
{
    c->flags |= VNAT_F_GUEST_MAC_FIXED;
    c->guest_mac[0] |= 1;
}

static void zero_fixed(struct vnat_config *c)
{
    c->flags |= VNAT_F_GUEST_MAC_FIXED;
    memset(c->guest_mac, 0, 6);
}

/* A fixed MAC no guest can send from is a configuration error. */
PIN(guest_mac_fixed_must_be_unicast_and_nonzero)
{
    struct sfh h;
    assert_int_equal(sfh_try_init(&h, multicast_fixed), VNAT_E_CONFIG);
    sfh_free(&h);
    assert_int_equal(sfh_try_init(&h, zero_fixed), VNAT_E_CONFIG);
    sfh_free(&h);
}

/* Only a frame the core accepts teaches the MAC: a malformed first frame,
 * or one from a multicast or all-zero source, is dropped and counted and
 * leaves the core learning; the next valid frame teaches it. */
PIN(guest_mac_is_learned_only_from_a_valid_frame)
{
    struct sfh h;
    sfh_init(&h, NULL);
    uint8_t f[60];
    memset(f, 0, sizeof f);
    memset(f, 0xff, 6);
    memcpy(f + 6, MAC_B, 6);
    f[12] = 0x08;
    f[13] = 0x06;
    sfh_frame(&h, f, sizeof f); /* ARP with htype 0 */
    assert_int_equal(SFH_STAT(&h, drops[VNAT_DROP_ARP_MALFORMED]), 1);
    static const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
    static const uint8_t zero[6] = {0};
    be(&h, mcast);
    arp_dropped(&h);
    be(&h, zero);
    arp_dropped(&h);
    uint8_t mac[6];
    assert_int_equal(mac_of(&h, mac), 0);
    assert_int_equal(SFH_STAT(&h, guest_macs_learned), 0);
    be(&h, MAC_A);
    arp_answered(&h, MAC_A);
    assert_int_equal(mac_of(&h, mac), 1);
    assert_memory_equal(mac, MAC_A, 6);
    sfh_free(&h);
}

/* The stream peer reconnects (a VM restarted, maybe another VM):
 * vnat_reset_flows() forgets the learned MAC and the next guest's first
 * frame teaches its own. */
PIN(guest_mac_learned_is_forgotten_by_reset_flows)
{
    struct sfh h;
    sfh_init(&h, NULL);
    be(&h, MAC_A);
    arp_answered(&h, MAC_A);
    assert_int_equal(vnat_reset_flows(h.nat, h.now), VNAT_OK);
    uint8_t mac[6];
    assert_int_equal(mac_of(&h, mac), 0);
    assert_memory_equal(mac, DEFAULT_MAC, 6);
    be(&h, MAC_B);
    arp_answered(&h, MAC_B);
    be(&h, MAC_A);
    arp_dropped(&h);
    assert_int_equal(SFH_STAT(&h, guest_macs_learned), 2);
    sfh_check(&h);
    sfh_free(&h);
}

static uint8_t *snap(struct sfh *h, size_t *len)
{
    *len = vnat_snapshot_size(h->nat);
    uint8_t *img = malloc(*len);
    assert_int_equal(vnat_snapshot(h->nat, img, *len, len), VNAT_OK);
    return img;
}

static void restore(struct sfh *h, const uint8_t *img, size_t len)
{
    size_t need = 0;
    assert_int_equal(vnat_restore_memory_size(img, len, &need), VNAT_OK);
    void *mem = aligned_alloc(16, (need + 15) & ~(size_t)15);
    vnat *nat = NULL;
    assert_int_equal(vnat_restore(mem, need, sfh_ops_table(), h, img, len,
                                  VNAT_RESTORE_SOCKETS_KEPT | VNAT_RESTORE_SAME_CLOCK, h->now,
                                  &nat),
                     VNAT_OK);
    free(h->mem);
    h->mem = mem;
    h->mem_size = need;
    h->nat = nat;
    sfh_check(h);
}

/* A learned MAC is state: a snapshot carries it (format 1.2) and the
 * restored core holds it; an image taken while learning restores learning. */
PIN(guest_mac_learned_survives_snapshot_and_restore)
{
    struct sfh h;
    sfh_init(&h, NULL);
    size_t len0;
    uint8_t *before = snap(&h, &len0);
    be(&h, MAC_A);
    arp_answered(&h, MAC_A);
    size_t len;
    uint8_t *img = snap(&h, &len);
    restore(&h, img, len);
    uint8_t mac[6];
    assert_int_equal(mac_of(&h, mac), 1);
    assert_memory_equal(mac, MAC_A, 6);
    be(&h, MAC_B);
    arp_dropped(&h);
    be(&h, MAC_A);
    arp_answered(&h, MAC_A);
    size_t len2;
    uint8_t *again = snap(&h, &len2);
    assert_int_equal(len2, len);
    free(again);
    restore(&h, before, len0);
    assert_int_equal(mac_of(&h, mac), 0);
    be(&h, MAC_B);
    arp_answered(&h, MAC_B);
    free(img);
    free(before);
    sfh_free(&h);
}

PIN_MAIN(cmocka_unit_test(guest_with_its_own_mac_gets_a_dhcp_lease),
         cmocka_unit_test(guest_with_its_own_mac_gets_arp_and_tcp_service),
         cmocka_unit_test(guest_mac_learned_is_held_against_another_mac),
         cmocka_unit_test(guest_mac_fixed_by_the_config_is_not_learned),
         cmocka_unit_test(guest_mac_fixed_must_be_unicast_and_nonzero),
         cmocka_unit_test(guest_mac_is_learned_only_from_a_valid_frame),
         cmocka_unit_test(guest_mac_learned_is_forgotten_by_reset_flows),
         cmocka_unit_test(guest_mac_learned_survives_snapshot_and_restore))
