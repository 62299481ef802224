/*
 * tk_capture.c — parsing and capturing the core's guest frames (see
 * tk_capture.h).
 */
#include "tk_capture.h"

#include <stdlib.h>
#include <string.h>

/* The transport layer of an IPv4 datagram that is not a fragment. */
static void parse_l4(struct tk_pkt *p)
{
    const struct vw_ipv4 *ip = &p->ip;
    const uint8_t *l4 = ip->payload;
    size_t n = ip->payload_len;
    bool csum = true; /* a checksum this parse verifies (TCP, UDP) */
    switch (ip->proto) {
    case VW_IPPROTO_TCP:
        p->l4 = vw_tcp_parse(l4, n, &p->tcp) == VW_OK;
        p->payload = p->tcp.payload;
        p->len = p->tcp.payload_len;
        break;
    case VW_IPPROTO_UDP:
        p->l4 = vw_udp_parse(l4, n, &p->udp) == VW_OK;
        p->payload = p->udp.payload;
        p->len = p->udp.payload_len;
        break;
    case VW_IPPROTO_ICMP:
        p->l4 = vw_icmp4_parse(l4, n, &p->icmp) == VW_OK;
        p->payload = p->icmp.payload;
        p->len = p->icmp.payload_len;
        csum = false; /* vw_icmp4_parse checks it */
        break;
    default:
        p->ok = true; /* nothing more to read */
        return;
    }
    if (!p->l4) {
        p->payload = NULL;
        p->len = 0;
        return;
    }
    p->ok = !csum || vw_l4_csum_ok4(ip->src, ip->dst, ip->proto, l4, n);
}

struct tk_pkt tk_parse(const uint8_t *frame, size_t len)
{
    struct tk_pkt p;
    memset(&p, 0, sizeof p);
    struct vw_eth eth;
    if (frame == NULL || vw_eth_parse(frame, len, &eth) != VW_OK)
        return p;
    p.ethertype = eth.ethertype;
    p.vlan = eth.vlan;
    memcpy(p.eth_dst, eth.dst, 6);
    memcpy(p.eth_src, eth.src, 6);
    if (eth.ethertype == VW_ETH_P_ARP) {
        p.ok = vw_arp_parse(eth.payload, eth.payload_len, &p.arp) == VW_OK;
        return p;
    }
    if (eth.ethertype != VW_ETH_P_IPV4 ||
        vw_ipv4_parse(eth.payload, eth.payload_len, &p.ip) != VW_OK)
        return p;
    p.proto = p.ip.proto;
    memcpy(p.src, p.ip.src, 4);
    memcpy(p.dst, p.ip.dst, 4);
    if (p.ip.is_fragment) {
        p.ok = true;
        return p;
    }
    parse_l4(&p);
    return p;
}

int tk_capture_init(struct tk_capture *c, size_t cap, bool ring, size_t keep)
{
    memset(c, 0, sizeof *c);
    c->frames = calloc(cap, sizeof *c->frames);
    if (c->frames == NULL)
        return -1;
    c->cap = cap;
    c->ring = ring;
    c->keep = keep;
    return 0;
}

void tk_capture_reset(struct tk_capture *c)
{
    for (size_t i = 0; i < c->cap; i++) {
        free(c->frames[i].data);
        memset(&c->frames[i], 0, sizeof c->frames[i]);
    }
    c->n = c->seen = c->first = 0;
}

void tk_capture_free(struct tk_capture *c)
{
    if (c->frames != NULL)
        tk_capture_reset(c);
    free(c->frames);
    memset(c, 0, sizeof *c);
}

const struct tk_frame *tk_capture_add(struct tk_capture *c, const uint8_t *frame, size_t len)
{
    if (c->cap == 0 || (c->n == c->cap && !c->ring))
        return NULL;
    struct tk_frame *f;
    if (c->n == c->cap) { /* a full ring: the oldest goes */
        f = &c->frames[c->first];
        c->first = (c->first + 1) % c->cap;
        if (c->seen > 0)
            c->seen--;
        free(f->data);
    } else {
        f = &c->frames[(c->first + c->n) % c->cap];
        c->n++;
    }
    size_t n = c->keep != 0 && len > c->keep ? c->keep : len;
    f->data = malloc(n > 0 ? n : 1);
    if (f->data == NULL)
        abort();
    memcpy(f->data, frame, n);
    f->len = n;
    f->pkt = tk_parse(f->data, f->len);
    return f;
}

const struct tk_frame *tk_capture_at(const struct tk_capture *c, size_t i)
{
    return i < c->n ? &c->frames[(c->first + i) % c->cap] : NULL;
}

const struct tk_frame *tk_capture_last(const struct tk_capture *c)
{
    return c->n > 0 ? tk_capture_at(c, c->n - 1) : NULL;
}

size_t tk_capture_pending(const struct tk_capture *c)
{
    return c->n - c->seen;
}

const struct tk_frame *tk_capture_next(struct tk_capture *c)
{
    if (c->seen >= c->n)
        return NULL;
    return tk_capture_at(c, c->seen++);
}

void tk_capture_drain(struct tk_capture *c)
{
    c->seen = c->n;
}

const struct tk_pkt *tk_capture_last_tcp(const struct tk_capture *c)
{
    for (size_t i = c->n; i-- > 0;) {
        const struct tk_pkt *p = &tk_capture_at(c, i)->pkt;
        if (tk_is_tcp(p))
            return p;
    }
    return NULL;
}

size_t tk_capture_count_tcp(const struct tk_capture *c, uint8_t flags)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++) {
        const struct tk_pkt *p = &tk_capture_at(c, i)->pkt;
        if (tk_is_tcp(p) && (p->tcp.flags & flags) == flags)
            n++;
    }
    return n;
}
