/*
 * tk_frame.c — the test kit's guest-frame builders (see tk_frame.h): a spec
 * struct turned into the wire layer's arguments.
 */
#include "tk_frame.h"

#include <string.h>

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t zero_mac[6] = {0};

/* The Ethernet and IPv4 part of a spec, defaults applied. */
static struct vw_l2l3 l2l3(const struct vnat_config *g, const uint8_t *eth_dst,
                           const uint8_t *eth_src, const uint8_t *src, const uint8_t *dst,
                           uint16_t ip_id, uint8_t ttl)
{
    struct vw_l2l3 a = {.eth_dst = eth_dst,
                        .eth_src = eth_src,
                        .ip_src = src,
                        .ip_dst = dst,
                        .ip_id = ip_id,
                        .ttl = ttl != 0 ? ttl : 64};
    if (g != NULL) {
        a.eth_dst = a.eth_dst != NULL ? a.eth_dst : g->gateway_mac;
        a.eth_src = a.eth_src != NULL ? a.eth_src : g->guest_mac;
        a.ip_src = a.ip_src != NULL ? a.ip_src : g->guest_ip.addr;
    }
    return a;
}

/* Put len payload bytes at off (unless they are there already): false if
 * they do not fit cap or an IPv4 datagram. */
static bool place(uint8_t *buf, size_t cap, size_t off, const void *payload, size_t len)
{
    if (off + len > cap || off + len - VW_ETH_HLEN > 65535)
        return false;
    if (payload != NULL && len > 0)
        memmove(buf + off, payload, len);
    return true;
}

static struct vw_tcp_out tcp_out(const struct tk_tcp_spec *s)
{
    struct vw_tcp_out t;
    memset(&t, 0, sizeof t);
    t.sport = s->sport;
    t.dport = s->dport;
    t.seq = s->seq;
    t.ack = s->ack;
    t.flags = s->flags;
    t.window = s->window;
    t.opt_mss = s->opt_mss;
    t.mss = s->mss;
    t.opt_wscale = s->opt_wscale;
    t.wscale = s->wscale;
    t.opt_sack_perm = s->opt_sack_perm;
    t.opt_ts = s->opt_ts;
    t.ts_val = s->ts_val;
    t.ts_ecr = s->ts_ecr;
    return t;
}

size_t tk_tcp_payload_off(const struct tk_tcp_spec *s)
{
    struct vw_tcp_out t = tcp_out(s);
    return vw_tcp4_payload_off(&t);
}

size_t tk_tcp(const struct tk_tcp_spec *s, uint8_t *buf, size_t cap)
{
    struct vw_tcp_out t = tcp_out(s);
    if (!place(buf, cap, vw_tcp4_payload_off(&t), s->payload, s->len))
        return 0;
    struct vw_l2l3 a = l2l3(s->guest, s->eth_dst, s->eth_src, s->src, s->dst, s->ip_id, s->ttl);
    return vw_tcp4_frame(buf, cap, &a, &t, s->len);
}

size_t tk_udp(const struct tk_udp_spec *s, uint8_t *buf, size_t cap)
{
    if (!place(buf, cap, VW_UDP4_PAYLOAD_OFF, s->payload, s->len))
        return 0;
    struct vw_l2l3 a = l2l3(s->guest, s->eth_dst, s->eth_src, s->src, s->dst, s->ip_id, s->ttl);
    return vw_udp4_frame(buf, cap, &a, s->sport, s->dport, s->len);
}

size_t tk_icmp(const struct tk_icmp_spec *s, uint8_t *buf, size_t cap)
{
    if (!place(buf, cap, VW_ICMP4_PAYLOAD_OFF, s->payload, s->len))
        return 0;
    uint8_t rest[4];
    vw_put16(rest, s->id);
    vw_put16(rest + 2, s->seq);
    struct vw_l2l3 a = l2l3(s->guest, s->eth_dst, s->eth_src, s->src, s->dst, s->ip_id, s->ttl);
    return vw_icmp4_frame(buf, cap, &a, s->type, s->code, rest, s->len);
}

size_t tk_arp(const struct tk_arp_spec *s, uint8_t *buf, size_t cap)
{
    const uint8_t *sha = s->sha, *spa = s->spa;
    if (s->guest != NULL) {
        sha = sha != NULL ? sha : s->guest->guest_mac;
        spa = spa != NULL ? spa : s->guest->guest_ip.addr;
    }
    size_t n = vw_arp_frame(buf, cap, s->eth_dst != NULL ? s->eth_dst : bcast_mac, s->op, sha, spa,
                            s->tha != NULL ? s->tha : zero_mac, s->tpa);
    if (n == 0 || !s->pad)
        return n;
    if (cap < 60)
        return 0;
    memset(buf + n, 0, 60 - n);
    return 60;
}
