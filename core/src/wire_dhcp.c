/*
 * wire_dhcp.c — DHCPv4 message framing: the BOOTP fixed part, the magic
 * cookie, a lazy option iterator and option builders for the core's DHCP
 * server. Option overload (option 52: options in sname/file) is not walked.
 */
#include "wire.h"

#include <string.h>

int vw_dhcp_parse(const uint8_t *buf, size_t len, struct vw_dhcp *out)
{
    if (len < VW_DHCP_OPTS_OFF)
        return VW_ETRUNC;
    if (vw_get32(buf + VW_DHCP_FIXED_LEN) != VW_DHCP_MAGIC)
        return VW_EBADVER;
    out->op = buf[0];
    out->htype = buf[1];
    out->hlen = buf[2];
    out->hops = buf[3];
    out->xid = vw_get32(buf + 4);
    out->secs = vw_get16(buf + 8);
    out->flags = vw_get16(buf + 10);
    out->ciaddr = buf + 12;
    out->yiaddr = buf + 16;
    out->siaddr = buf + 20;
    out->giaddr = buf + 24;
    out->chaddr = buf + 28;
    out->options = buf + VW_DHCP_OPTS_OFF;
    out->options_len = len - VW_DHCP_OPTS_OFF;
    return VW_OK;
}

void vw_dhcp_iter_init(struct vw_dhcp_iter *it, const struct vw_dhcp *d)
{
    it->p = d->options;
    it->left = d->options_len;
}

int vw_dhcp_iter_next(struct vw_dhcp_iter *it, uint8_t *code, uint8_t *len, const uint8_t **data)
{
    /* Bounded: every pass consumes at least one byte of it->left. */
    while (it->left > 0 && it->p[0] == VW_DHCP_OPT_PAD) {
        it->p++;
        it->left--;
    }
    if (it->left == 0)
        return 0;
    if (it->p[0] == VW_DHCP_OPT_END) {
        it->left = 0;
        return 0;
    }
    if (it->left < 2 || (size_t)it->p[1] + 2 > it->left) {
        it->left = 0; /* a broken walk stays broken */
        return VW_EOPT;
    }
    *code = it->p[0];
    *len = it->p[1];
    *data = it->p + 2;
    it->p += 2 + (size_t)it->p[1];
    it->left -= 2 + (size_t)*len;
    return 1;
}

int vw_dhcp_find(const struct vw_dhcp *d, uint8_t code, const uint8_t **data)
{
    struct vw_dhcp_iter it;
    vw_dhcp_iter_init(&it, d);
    uint8_t c, l;
    const uint8_t *p;
    int rc;
    /* Bounded by options_len: each successful step consumes >= 2 bytes. */
    while ((rc = vw_dhcp_iter_next(&it, &c, &l, &p)) == 1) {
        if (c == code) {
            *data = p;
            return l;
        }
    }
    return rc < 0 ? rc : VW_DHCP_ABSENT;
}

static void put_addr(uint8_t *dst, const uint8_t *src, size_t n)
{
    if (src != NULL)
        memcpy(dst, src, n);
    else
        memset(dst, 0, n);
}

size_t vw_dhcp_build(uint8_t *buf, size_t cap, const struct vw_dhcp_out *d)
{
    if (cap < VW_DHCP_OPTS_OFF)
        return 0;
    memset(buf, 0, VW_DHCP_OPTS_OFF);
    buf[0] = d->op;
    buf[1] = 1; /* Ethernet */
    buf[2] = 6;
    vw_put32(buf + 4, d->xid);
    vw_put16(buf + 8, d->secs);
    vw_put16(buf + 10, d->flags);
    put_addr(buf + 12, d->ciaddr, 4);
    put_addr(buf + 16, d->yiaddr, 4);
    put_addr(buf + 20, d->siaddr, 4);
    put_addr(buf + 24, d->giaddr, 4);
    put_addr(buf + 28, d->chaddr, 6);
    vw_put32(buf + VW_DHCP_FIXED_LEN, VW_DHCP_MAGIC);
    return VW_DHCP_OPTS_OFF;
}

size_t vw_dhcp_opt_put(uint8_t *buf, size_t cap, size_t off, uint8_t code, uint8_t len,
                       const void *data)
{
    if (code == VW_DHCP_OPT_PAD || code == VW_DHCP_OPT_END)
        return 0;
    if (off > cap || cap - off < 2 + (size_t)len || (data == NULL && len != 0))
        return 0;
    buf[off] = code;
    buf[off + 1] = len;
    if (len != 0)
        memcpy(buf + off + 2, data, len);
    return off + 2 + len;
}

size_t vw_dhcp_opt_put8(uint8_t *buf, size_t cap, size_t off, uint8_t code, uint8_t v)
{
    return vw_dhcp_opt_put(buf, cap, off, code, 1, &v);
}

size_t vw_dhcp_opt_put32(uint8_t *buf, size_t cap, size_t off, uint8_t code, uint32_t v)
{
    uint8_t b[4];
    vw_put32(b, v);
    return vw_dhcp_opt_put(buf, cap, off, code, 4, b);
}

size_t vw_dhcp_opt_end(uint8_t *buf, size_t cap, size_t off)
{
    if (off >= cap)
        return 0;
    buf[off] = VW_DHCP_OPT_END;
    return off + 1;
}
