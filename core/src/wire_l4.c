/*
 * wire_l4.c — UDP, ICMPv4 and ICMPv6 views, the UDP header builder, the
 * transport checksum checks over IPv4 and IPv6, and the NDP option walk.
 */
#include "wire.h"

#include <string.h>

size_t vw_dns_skip_name(const uint8_t *msg, size_t len, size_t off)
{
    for (int labels = 0; labels <= 128; labels++) {
        if (off >= len)
            return 0;
        uint8_t l = msg[off];
        if ((l & 0xC0) == 0xC0)
            return off + 2 <= len ? off + 2 : 0;
        if (l & 0xC0)
            return 0;
        off += 1 + (size_t)l;
        if (l == 0)
            return off <= len ? off : 0;
    }
    return 0;
}

int vw_udp_parse(const uint8_t *buf, size_t len, struct vw_udp *out)
{
    if (len < VW_UDP_HLEN)
        return VW_ETRUNC;
    uint16_t ulen = vw_get16(buf + 4);
    if (ulen < VW_UDP_HLEN)
        return VW_EBADLEN;
    if (ulen > len)
        return VW_ETRUNC;
    out->sport = vw_get16(buf);
    out->dport = vw_get16(buf + 2);
    out->length = ulen;
    out->csum = vw_get16(buf + 6);
    out->payload = buf + VW_UDP_HLEN;
    out->payload_len = (size_t)ulen - VW_UDP_HLEN;
    return VW_OK;
}

size_t vw_udp_build(uint8_t *buf, size_t cap, uint16_t sport, uint16_t dport, size_t payload_len)
{
    if (cap < VW_UDP_HLEN || payload_len > 0xFFFFu - VW_UDP_HLEN)
        return 0;
    vw_put16(buf, sport);
    vw_put16(buf + 2, dport);
    vw_put16(buf + 4, (uint16_t)(VW_UDP_HLEN + payload_len));
    vw_put16(buf + 6, 0);
    return VW_UDP_HLEN;
}

static void icmp_fill(const uint8_t *buf, size_t len, struct vw_icmp *out)
{
    out->type = buf[0];
    out->code = buf[1];
    out->csum = vw_get16(buf + 2);
    out->id = vw_get16(buf + 4);
    out->seq = vw_get16(buf + 6);
    out->rest = buf + 4;
    out->payload = buf + VW_ICMP_HLEN;
    out->payload_len = len - VW_ICMP_HLEN;
}

int vw_icmp4_parse(const uint8_t *buf, size_t len, struct vw_icmp *out)
{
    if (len < VW_ICMP_HLEN)
        return VW_ETRUNC;
    if (vw_csum_fold(vw_csum_add(0, buf, len)) != 0)
        return VW_ECSUM;
    icmp_fill(buf, len, out);
    return VW_OK;
}

int vw_icmp6_parse(const uint8_t *buf, size_t len, struct vw_icmp *out)
{
    if (len < VW_ICMP_HLEN)
        return VW_ETRUNC;
    icmp_fill(buf, len, out);
    return VW_OK;
}

bool vw_l4_csum_ok4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto, const uint8_t *l4,
                    size_t len)
{
    if (len > 0xFFFFu)
        return false;
    if (proto == VW_IPPROTO_UDP) {
        if (len < VW_UDP_HLEN)
            return false;
        if (vw_get16(l4 + 6) == 0)
            return true; /* RFC 768: zero means the sender computed none */
    }
    uint32_t sum = vw_pseudo4(src, dst, proto, (uint32_t)len);
    return vw_csum_fold(vw_csum_add(sum, l4, len)) == 0;
}

bool vw_l4_csum_ok6(const uint8_t src[16], const uint8_t dst[16], uint8_t next, const uint8_t *l4,
                    size_t len)
{
    if (len > 0xFFFFu)
        return false;
    if (next == VW_IPPROTO_UDP && (len < VW_UDP_HLEN || vw_get16(l4 + 6) == 0))
        return false;
    uint32_t sum = vw_pseudo6(src, dst, next, (uint32_t)len);
    return vw_csum_fold(vw_csum_add(sum, l4, len)) == 0;
}

void vw_ndp_iter_init(struct vw_ndp_iter *it, const uint8_t *opts, size_t len)
{
    it->p = opts;
    it->left = len;
}

int vw_ndp_iter_next(struct vw_ndp_iter *it, uint8_t *type, size_t *len, const uint8_t **data)
{
    if (it->left == 0)
        return 0;
    size_t olen = it->left < 2 ? 0 : (size_t)it->p[1] * 8;
    if (olen == 0 || olen > it->left) {
        it->left = 0; /* a broken walk stays broken: no retry from the middle */
        return VW_EOPT;
    }
    *type = it->p[0];
    *len = olen;
    *data = it->p;
    it->p += olen;
    it->left -= olen;
    return 1;
}
