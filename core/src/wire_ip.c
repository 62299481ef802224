/*
 * wire_ip.c — IPv4 (header, options, fragments, header checksum) and IPv6
 * (fixed header plus a bounded walk over the extension headers) views and
 * header builders.
 *
 * Length errors follow one rule (docs/wire.md): VW_ETRUNC when the bytes
 * available end before a header or before a length some field declares;
 * VW_EBADLEN when a length field is below its own minimum.
 */
#include "wire.h"

#include <string.h>

/* Walks IPv4 options: EOL ends the list, NOP is one byte, every other option
 * carries a length >= 2 that must stay inside the header. The loop consumes
 * at least one byte per pass, so it is bounded by len (<= 40). */
static int ipv4_options_ok(const uint8_t *opt, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t type = opt[i];
        if (type == 0)
            return VW_OK;
        if (type == 1) {
            i++;
            continue;
        }
        if (len - i < 2)
            return VW_EOPT;
        uint8_t olen = opt[i + 1];
        if (olen < 2 || olen > len - i)
            return VW_EOPT;
        i += olen;
    }
    return VW_OK;
}

int vw_ipv4_parse(const uint8_t *buf, size_t len, struct vw_ipv4 *out)
{
    if (len < VW_IPV4_HLEN)
        return VW_ETRUNC;
    if ((buf[0] >> 4) != 4)
        return VW_EBADVER;
    size_t ihl = (size_t)(buf[0] & 0x0F) * 4;
    if (ihl < VW_IPV4_HLEN)
        return VW_EBADLEN;
    if (ihl > len)
        return VW_ETRUNC;
    uint16_t total = vw_get16(buf + 2);
    if (total < ihl)
        return VW_EBADLEN;
    if (total > len)
        return VW_ETRUNC;
    if (vw_csum_fold(vw_csum_add(0, buf, ihl)) != 0)
        return VW_ECSUM;
    int rc = ipv4_options_ok(buf + VW_IPV4_HLEN, ihl - VW_IPV4_HLEN);
    if (rc != VW_OK)
        return rc;
    uint16_t frag = vw_get16(buf + 6);
    out->ihl_bytes = (uint8_t)ihl;
    out->tos = buf[1];
    out->total_len = total;
    out->id = vw_get16(buf + 4);
    out->df = (frag & 0x4000) != 0;
    out->mf = (frag & 0x2000) != 0;
    out->frag_offset = (uint16_t)((frag & 0x1FFF) * 8);
    out->is_fragment = out->mf || out->frag_offset != 0;
    out->ttl = buf[8];
    out->proto = buf[9];
    out->src = buf + 12;
    out->dst = buf + 16;
    out->options = buf + VW_IPV4_HLEN;
    out->options_len = ihl - VW_IPV4_HLEN;
    out->payload = buf + ihl;
    out->payload_len = total - ihl;
    return VW_OK;
}

size_t vw_ipv4_build(uint8_t *buf, size_t cap, const uint8_t src[4], const uint8_t dst[4],
                     uint8_t proto, uint16_t id, uint8_t ttl, size_t payload_len)
{
    if (cap < VW_IPV4_HLEN || payload_len > 0xFFFFu - VW_IPV4_HLEN)
        return 0;
    buf[0] = 0x45;
    buf[1] = 0;
    vw_put16(buf + 2, (uint16_t)(VW_IPV4_HLEN + payload_len));
    vw_put16(buf + 4, id);
    vw_put16(buf + 6, 0x4000); /* DF: only vw_ipv4_set_fragment clears it */
    buf[8] = ttl;
    buf[9] = proto;
    vw_put16(buf + 10, 0);
    memcpy(buf + 12, src, 4);
    memcpy(buf + 16, dst, 4);
    vw_put16(buf + 10, vw_csum_fold(vw_csum_add(0, buf, VW_IPV4_HLEN)));
    return VW_IPV4_HLEN;
}

void vw_ipv4_set_fragment(uint8_t *buf, size_t off, size_t payload_len, bool more)
{
    vw_put16(buf + 2, (uint16_t)(VW_IPV4_HLEN + payload_len));
    vw_put16(buf + 6, (uint16_t)((more ? 0x2000u : 0u) | ((off / 8) & 0x1FFFu)));
    vw_put16(buf + 10, 0);
    vw_put16(buf + 10, vw_csum_fold(vw_csum_add(0, buf, VW_IPV4_HLEN)));
}

/* Length of the extension header at p (2+ bytes available) of type nh. */
static size_t ipv6_ext_len(uint8_t nh, const uint8_t *p)
{
    if (nh == VW_IPPROTO_FRAGMENT)
        return 8;
    if (nh == VW_IPPROTO_AH)
        return ((size_t)p[1] + 2) * 4; /* RFC 4302: in 4-byte units, minus 2 */
    return ((size_t)p[1] + 1) * 8;     /* RFC 8200: in 8-byte units, minus 1 */
}

static bool ipv6_is_ext(uint8_t nh)
{
    return nh == VW_IPPROTO_HOPOPTS || nh == VW_IPPROTO_ROUTING || nh == VW_IPPROTO_FRAGMENT ||
           nh == VW_IPPROTO_DSTOPTS || nh == VW_IPPROTO_AH;
}

int vw_ipv6_parse(const uint8_t *buf, size_t len, struct vw_ipv6 *out)
{
    if (len < VW_IPV6_HLEN)
        return VW_ETRUNC;
    if ((buf[0] >> 4) != 6)
        return VW_EBADVER;
    uint16_t plen = vw_get16(buf + 4);
    /* A zero payload length with hop-by-hop means a jumbogram (RFC 2675):
     * the walk below rejects it, since a jumbo option cannot fit in 0 bytes. */
    if ((size_t)plen > len - VW_IPV6_HLEN)
        return VW_ETRUNC;
    memset(out, 0, sizeof *out);
    out->traffic_class = (uint8_t)(vw_get16(buf) >> 4);
    out->flow_label = vw_get32(buf) & 0xFFFFFu;
    out->payload_len_field = plen;
    out->next_header = buf[6];
    out->hop_limit = buf[7];
    out->src = buf + 8;
    out->dst = buf + 24;

    const uint8_t *p = buf + VW_IPV6_HLEN;
    size_t left = plen;
    uint8_t nh = buf[6];
    unsigned n = 0;
    while (ipv6_is_ext(nh)) {
        if (n == VW_IPV6_MAX_EXT)
            return VW_EUNSUP;
        /* RFC 8200 4.1: hop-by-hop options only right after the fixed header. */
        if (nh == VW_IPPROTO_HOPOPTS && n != 0)
            return VW_EOPT;
        if (left < 2)
            return VW_ETRUNC;
        size_t elen = ipv6_ext_len(nh, p);
        if (elen > left)
            return VW_ETRUNC;
        uint8_t next = p[0];
        n++;
        if (nh == VW_IPPROTO_FRAGMENT) {
            uint16_t off_flags = vw_get16(p + 2);
            /* An atomic fragment (offset 0, no more) is a whole packet
             * (RFC 6946) and the walk goes on. Otherwise the upper header is
             * only in the first fragment; stop here either way. */
            if ((off_flags & 0xFFF9u) != 0) {
                out->is_fragment = true;
                p += elen;
                left -= elen;
                nh = next;
                break;
            }
        }
        p += elen;
        left -= elen;
        nh = next;
    }
    out->upper_proto = nh;
    out->ext_count = n;
    out->payload = p;
    out->payload_len = left;
    return VW_OK;
}

size_t vw_ipv6_build(uint8_t *buf, size_t cap, const uint8_t src[16], const uint8_t dst[16],
                     uint8_t next, uint8_t hop_limit, size_t payload_len)
{
    if (cap < VW_IPV6_HLEN || payload_len > 0xFFFFu)
        return 0;
    vw_put32(buf, 0x60000000u);
    vw_put16(buf + 4, (uint16_t)payload_len);
    buf[6] = next;
    buf[7] = hop_limit;
    memcpy(buf + 8, src, 16);
    memcpy(buf + 24, dst, 16);
    return VW_IPV6_HLEN;
}
