/*
 * wire_eth.c — Ethernet II and ARP (Ethernet/IPv4 only): typed views and
 * builders. VLAN-tagged frames parse rather than fail so the core can count
 * them apart from garbage (see wire.h and docs/wire.md).
 */
#include "wire.h"

#include <string.h>

static bool eth_is_tag(uint16_t ethertype)
{
    return ethertype == VW_ETH_P_8021Q || ethertype == VW_ETH_P_8021AD;
}

int vw_eth_parse(const uint8_t *buf, size_t len, struct vw_eth *out)
{
    if (len < VW_ETH_HLEN)
        return VW_ETRUNC;
    memset(out, 0, sizeof *out);
    out->dst = buf;
    out->src = buf + 6;
    size_t off = 12;
    uint16_t type = vw_get16(buf + off);
    for (unsigned tags = 0; tags < VW_ETH_MAX_TAGS && eth_is_tag(type); tags++) {
        /* A tag is TPID (already read) + TCI + the next ethertype. */
        if (len < off + 6)
            return VW_ETRUNC;
        if (!out->vlan)
            out->vlan_tci = vw_get16(buf + off + 2);
        out->vlan = true;
        off += 4;
        type = vw_get16(buf + off);
    }
    /* Below 0x0600 the field is an 802.3 length (or undefined): not ours. */
    if (type < 0x0600)
        return VW_EUNSUP;
    out->ethertype = type;
    out->payload = buf + off + 2;
    out->payload_len = len - (off + 2);
    return VW_OK;
}

size_t vw_eth_build(uint8_t *buf, size_t cap, const uint8_t dst[6], const uint8_t src[6],
                    uint16_t ethertype)
{
    if (cap < VW_ETH_HLEN)
        return 0;
    memcpy(buf, dst, 6);
    memcpy(buf + 6, src, 6);
    vw_put16(buf + 12, ethertype);
    return VW_ETH_HLEN;
}

int vw_arp_parse(const uint8_t *buf, size_t len, struct vw_arp *out)
{
    if (len < VW_ARP_LEN)
        return VW_ETRUNC;
    if (vw_get16(buf) != 1 || vw_get16(buf + 2) != VW_ETH_P_IPV4 || buf[4] != 6 || buf[5] != 4)
        return VW_EBADVER;
    out->op = vw_get16(buf + 6);
    out->sha = buf + 8;
    out->spa = buf + 14;
    out->tha = buf + 18;
    out->tpa = buf + 24;
    return VW_OK;
}

size_t vw_arp_build(uint8_t *buf, size_t cap, uint16_t op, const uint8_t sha[6],
                    const uint8_t spa[4], const uint8_t tha[6], const uint8_t tpa[4])
{
    if (cap < VW_ARP_LEN)
        return 0;
    vw_put16(buf, 1);
    vw_put16(buf + 2, VW_ETH_P_IPV4);
    buf[4] = 6;
    buf[5] = 4;
    vw_put16(buf + 6, op);
    memcpy(buf + 8, sha, 6);
    memcpy(buf + 14, spa, 4);
    memcpy(buf + 18, tha, 6);
    memcpy(buf + 24, tpa, 4);
    return VW_ARP_LEN;
}

size_t vw_arp_frame(uint8_t *frame, size_t cap, const uint8_t eth_dst[6], uint16_t op,
                    const uint8_t sha[6], const uint8_t spa[4], const uint8_t tha[6],
                    const uint8_t tpa[4])
{
    if (cap < VW_ETH_HLEN + VW_ARP_LEN)
        return 0;
    vw_eth_build(frame, cap, eth_dst, sha, VW_ETH_P_ARP);
    vw_arp_build(frame + VW_ETH_HLEN, cap - VW_ETH_HLEN, op, sha, spa, tha, tpa);
    return VW_ETH_HLEN + VW_ARP_LEN;
}

const char *vw_status_name(int status)
{
    switch (status) {
    case VW_OK:
        return "ok";
    case VW_ETRUNC:
        return "truncated";
    case VW_EBADLEN:
        return "bad_length";
    case VW_EBADVER:
        return "bad_version";
    case VW_ECSUM:
        return "bad_checksum";
    case VW_EOPT:
        return "bad_option";
    case VW_EUNSUP:
        return "unsupported";
    default:
        return "unknown";
    }
}
