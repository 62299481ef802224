/*
 * fuzzgen.c — configuration choice and guest service frames for the core
 * fuzz targets (see fuzzgen.h).
 */
#include "fuzzgen.h"

#include <string.h>

#include "wire.h"

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

void fz_config(struct vnat_config *cfg, uint8_t c)
{
    static struct vnat_rule rules[3];
    static struct vnat_forward fwds[2];
    static const uint32_t flows[4] = {8, 16, 32, 64};
    static const uint32_t mtus[4] = {1500, 576, 9000, 1280};
    vnat_config_init(cfg);
    cfg->seed = 0x5eed0000u + c;
    cfg->max_flows = flows[c & 3];
    cfg->max_tcp_flows = (c & 0x10) ? cfg->max_flows / 2 : cfg->max_flows;
    cfg->mtu = mtus[(c >> 2) & 3];
    cfg->max_forwards = 8;
    if (c & 0x10)
        cfg->syn_rate_per_sec = 5;
    if (c & 0x20) {
        memset(rules, 0, sizeof rules);
        rules[0] = (struct vnat_rule){.action = VNAT_RULE_DENY,
                                      .proto = VNAT_PROTO_TCP,
                                      .prefix = 32,
                                      .net = vnat_ip4(198, 51, 100, 2),
                                      .port_lo = 80,
                                      .port_hi = 80};
        rules[1] = (struct vnat_rule){.action = VNAT_RULE_DENY,
                                      .proto = VNAT_PROTO_UDP,
                                      .prefix = 8,
                                      .net = vnat_ip4(203, 0, 0, 0),
                                      .port_lo = 0,
                                      .port_hi = 65535};
        rules[2] = (struct vnat_rule){.action = VNAT_RULE_ALLOW,
                                      .proto = VNAT_PROTO_ANY,
                                      .prefix = 0,
                                      .net = vnat_ip4(0, 0, 0, 0),
                                      .port_lo = 0,
                                      .port_hi = 65535};
        cfg->rules = rules;
        cfg->n_rules = 3;
        cfg->flags |= VNAT_F_ARP_ANSWER_ALL;
    }
    if (c & 0x40) {
        cfg->n_dns_servers = 2;
        cfg->dns_servers[0].ip = vnat_ip4(127, 0, 0, 53);
        cfg->dns_servers[0].port = 53;
        cfg->dns_servers[1].ip = vnat_ip4(192, 0, 2, 53);
        cfg->dns_servers[1].port = 53;
        cfg->flags |= VNAT_F_DNS_CACHE;
    }
    if (c & 0x80) {
        memset(fwds, 0, sizeof fwds);
        fwds[0].proto = VNAT_PROTO_TCP;
        fwds[0].host.ip = vnat_ip4(127, 0, 0, 1);
        fwds[0].host.port = 2222;
        fwds[0].guest_port = 22;
        fwds[1].proto = VNAT_PROTO_UDP;
        fwds[1].host.ip = vnat_ip4(127, 0, 0, 1);
        fwds[1].host.port = 5353;
        fwds[1].guest_port = 53;
        cfg->forwards = fwds;
        cfg->n_forwards = 2;
        cfg->flags |= VNAT_F_ALLOW_LINK_LOCAL;
    }
    if ((c & 0x0c) == 0x0c) { /* short timeouts: timers fire within small jumps */
        cfg->connect_timeout_ns = 500000000ull;
        cfg->tcp_idle_timeout_ns = 20000000000ull;
        cfg->tcp_closing_timeout_ns = 2000000000ull;
        cfg->udp_timeout_ns = 3000000000ull;
        cfg->icmp_timeout_ns = 3000000000ull;
    }
}

/* A DNS query: header, one question with labels drawn from s. */
static size_t dns_query(struct fz_src *s, uint8_t *p, size_t cap)
{
    static const char *const names[] = {"example", "com", "vnat", "test", "a", "localhost"};
    if (cap < 12 + 64)
        return 0;
    uint8_t sel = fz_u8(s);
    vw_put16(p, fz_u16(s));                           /* id */
    vw_put16(p + 2, sel & 0x80 ? fz_u16(s) : 0x0100); /* flags: RD, or anything */
    vw_put16(p + 4, sel & 0x40 ? fz_u8(s) % 3 : 1);   /* qdcount */
    vw_put16(p + 6, 0);
    vw_put16(p + 8, 0);
    vw_put16(p + 10, sel & 0x20 ? 1 : 0); /* an additional record count (EDNS-like) */
    size_t off = 12;
    unsigned labels = 1 + (sel & 3);
    for (unsigned i = 0; i < labels; i++) {
        uint8_t b = fz_u8(s);
        const char *n = names[b % 6];
        size_t l = strlen(n);
        if (b >= 0xf0) { /* a compression pointer, or a label length that lies */
            p[off++] = (uint8_t)(0xc0 | (b & 0x0f));
            p[off++] = fz_u8(s);
            break;
        }
        p[off++] = (uint8_t)l;
        memcpy(p + off, n, l);
        off += l;
    }
    p[off++] = 0;
    static const uint16_t qtypes[] = {1, 28, 5, 15, 16, 255, 12, 33};
    vw_put16(p + off, qtypes[(sel >> 2) & 7]);
    vw_put16(p + off + 2, 1);
    off += 4;
    if (sel & 0x20) { /* an OPT record */
        static const uint8_t opt[11] = {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0};
        memcpy(p + off, opt, sizeof opt);
        off += sizeof opt;
    }
    return off;
}

static size_t dhcp_msg(const struct fz_host *h, struct fz_src *s, uint8_t *p, size_t cap)
{
    uint8_t sel = fz_u8(s);
    struct vw_dhcp_out d = {.op = VW_BOOTREQUEST,
                            .xid = fz_u32(s),
                            .flags = (uint16_t)(sel & 0x80 ? 0x8000 : 0),
                            .chaddr = h->cfg.guest_mac};
    if (sel & 0x40)
        d.ciaddr = h->cfg.guest_ip.addr;
    size_t off = vw_dhcp_build(p, cap, &d);
    if (off == 0)
        return 0;
    static const uint8_t types[] = {
        VW_DHCP_DISCOVER, VW_DHCP_REQUEST, VW_DHCP_REQUEST, VW_DHCP_RELEASE,
        VW_DHCP_INFORM,   VW_DHCP_DECLINE, VW_DHCP_ACK,     0};
    off = vw_dhcp_opt_put8(p, cap, off, VW_DHCP_OPT_MSG_TYPE, types[sel & 7]);
    if (off && (sel & 0x08))
        off = vw_dhcp_opt_put(p, cap, off, VW_DHCP_OPT_REQ_IP, 4,
                              (sel & 0x10) ? h->cfg.guest_ip.addr
                                           : (const uint8_t *)"\x0a\0\x02\x63");
    if (off && (sel & 0x10))
        off = vw_dhcp_opt_put(p, cap, off, VW_DHCP_OPT_SERVER_ID, 4, h->cfg.gateway_ip.addr);
    if (off && (sel & 0x20)) {
        static const uint8_t params[] = {1, 3, 6, 15, 26, 28, 51, 58, 59, 119, 121};
        off = vw_dhcp_opt_put(p, cap, off, VW_DHCP_OPT_PARAM_LIST, sizeof params, params);
    }
    if (off && (sel & 0x04)) {
        uint8_t id[7] = {1};
        memcpy(id + 1, h->cfg.guest_mac, 6);
        off = vw_dhcp_opt_put(p, cap, off, VW_DHCP_OPT_CLIENT_ID, sizeof id, id);
    }
    if (off && fz_u8(s) >= 0xe0) { /* an option whose length runs past the end */
        p[off++] = (uint8_t)fz_u8(s);
        p[off++] = 0xff;
        return off;
    }
    return off ? vw_dhcp_opt_end(p, cap, off) : 0;
}

size_t fz_gen_udp(const struct fz_host *h, struct fz_src *s, uint8_t *frame, size_t cap)
{
    uint8_t sel = fz_u8(s);
    static const uint8_t zero4[4] = {0, 0, 0, 0};
    static const uint8_t bcast4[4] = {255, 255, 255, 255};
    struct vw_l2l3 a = {.eth_dst = h->cfg.gateway_mac,
                        .eth_src = h->cfg.guest_mac,
                        .ip_src = h->cfg.guest_ip.addr,
                        .ip_dst = h->cfg.dns_ip.addr,
                        .ip_id = (uint16_t)sel,
                        .ttl = 64};
    uint16_t sport = (uint16_t)(33000 + (sel & 7)), dport = 53;
    uint8_t *pl = frame + VW_UDP4_PAYLOAD_OFF;
    size_t room = cap - VW_UDP4_PAYLOAD_OFF;
    if (room > h->cfg.mtu - 28)
        room = h->cfg.mtu - 28;
    size_t n;
    struct vnat_sockaddr dst = fz_dst(1 + ((sel >> 3) & 1));
    switch ((sel >> 4) & 7) {
    case 0:
    case 1: /* DNS to the DNS address */
        n = dns_query(s, pl, room);
        break;
    case 2: /* DHCP, from 0.0.0.0 to broadcast */
        a.eth_dst = bcast_mac;
        a.ip_src = zero4;
        a.ip_dst = bcast4;
        sport = 68;
        dport = 67;
        n = dhcp_msg(h, s, pl, room);
        break;
    case 3: /* DHCP renew, unicast to the gateway */
        a.ip_dst = h->cfg.gateway_ip.addr;
        sport = 68;
        dport = 67;
        n = dhcp_msg(h, s, pl, room);
        break;
    case 4: /* DNS to an outside resolver (an ordinary UDP flow) */
        a.ip_dst = dst.ip.addr;
        n = dns_query(s, pl, room);
        break;
    default: { /* an ordinary datagram to a tracked destination */
        a.ip_dst = dst.ip.addr;
        dport = dst.port;
        uint8_t l = fz_u8(s);
        n = l < 200 ? l : (size_t)(l - 200) * 64;
        if (n > room)
            n = room;
        fz_bytes(s, pl, n < 16 ? n : 16);
        for (size_t i = 16; i < n; i++)
            pl[i] = (uint8_t)i;
        break;
    }
    }
    if (n == 0 || n > room)
        return 0;
    return vw_udp4_frame(frame, cap, &a, sport, dport, n);
}

size_t fz_gen_icmp_arp(const struct fz_host *h, struct fz_src *s, uint8_t *frame, size_t cap)
{
    uint8_t sel = fz_u8(s);
    if (sel & 1) {
        /* ARP: a request for the gateway, the DNS address, the guest itself
         * (a probe), some other address, or a gratuitous announcement. */
        static const uint8_t other[4] = {10, 0, 2, 77};
        static const uint8_t zero6[6] = {0};
        const uint8_t *tpa = (sel & 6) == 0   ? h->cfg.gateway_ip.addr
                             : (sel & 6) == 2 ? h->cfg.dns_ip.addr
                             : (sel & 6) == 4 ? h->cfg.guest_ip.addr
                                              : other;
        const uint8_t *spa = (sel & 8) ? (const uint8_t *)"\0\0\0\0" : h->cfg.guest_ip.addr;
        uint16_t op = (sel & 0x10) ? VW_ARP_REPLY : VW_ARP_REQUEST;
        return vw_arp_frame(frame, cap, (sel & 0x20) ? h->cfg.gateway_mac : bcast_mac, op,
                            h->cfg.guest_mac, spa, zero6, tpa);
    }
    /* ICMP: mostly echo requests, to the gateway or a tracked destination. */
    struct vnat_sockaddr dst = fz_dst((sel >> 1) & 3);
    struct vw_l2l3 a = {.eth_dst = h->cfg.gateway_mac,
                        .eth_src = h->cfg.guest_mac,
                        .ip_src = h->cfg.guest_ip.addr,
                        .ip_dst = dst.ip.addr,
                        .ip_id = (uint16_t)sel,
                        .ttl = (uint8_t)((sel & 0x80) ? 1 : 64)};
    uint8_t rest[4];
    vw_put16(rest, (uint16_t)(0x100 + ((sel >> 3) & 3))); /* id */
    vw_put16(rest + 2, fz_u16(s));                        /* seq */
    uint8_t type = (sel & 0x60) == 0x60 ? fz_u8(s) : VW_ICMP_ECHO_REQUEST;
    uint8_t l = fz_u8(s);
    size_t n = l < 200 ? l : 1400;
    if (n > h->cfg.mtu - 28)
        n = h->cfg.mtu - 28;
    if (VW_ICMP4_PAYLOAD_OFF + n > cap)
        return 0;
    for (size_t i = 0; i < n; i++)
        frame[VW_ICMP4_PAYLOAD_OFF + i] = (uint8_t)(i + sel);
    return vw_icmp4_frame(frame, cap, &a, type, 0, rest, n);
}
