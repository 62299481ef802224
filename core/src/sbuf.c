/*
 * sbuf.c — layer 0: the snapshot byte codec (sbuf.h). Little-endian,
 * byte by byte.
 */
#include "sbuf.h"

#include <string.h>

void sw_bytes(struct sbuf_w *w, const void *p, size_t n)
{
    if (w->buf != NULL && n > 0 && w->len <= w->cap && n <= w->cap - w->len)
        memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void sw_le(struct sbuf_w *w, uint64_t v, unsigned n)
{
    uint8_t b[8];
    for (unsigned i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    sw_bytes(w, b, n);
}

void sw_u8(struct sbuf_w *w, uint8_t v)
{
    sw_le(w, v, 1);
}
void sw_u16(struct sbuf_w *w, uint16_t v)
{
    sw_le(w, v, 2);
}
void sw_u32(struct sbuf_w *w, uint32_t v)
{
    sw_le(w, v, 4);
}
void sw_u64(struct sbuf_w *w, uint64_t v)
{
    sw_le(w, v, 8);
}

void sw_ip(struct sbuf_w *w, const struct vnat_ip *ip)
{
    sw_u8(w, ip->family);
    sw_bytes(w, ip->addr, sizeof ip->addr);
}

void sw_sockaddr(struct sbuf_w *w, const struct vnat_sockaddr *a)
{
    sw_ip(w, &a->ip);
    sw_u16(w, a->port);
}

void sw_patch_u32(struct sbuf_w *w, size_t off, uint32_t v)
{
    if (w->buf == NULL || off > w->cap || w->cap - off < 4)
        return;
    for (unsigned i = 0; i < 4; i++)
        w->buf[off + i] = (uint8_t)(v >> (8 * i));
}

void sr_fail(struct sbuf_r *r, int err)
{
    if (r->err == 0)
        r->err = err;
}

void sr_bytes(struct sbuf_r *r, void *p, size_t n)
{
    if (r->err != 0 || n > r->len - r->off) {
        sr_fail(r, VNAT_E_SNAP_TRUNCATED);
        r->off = r->len;
        if (n > 0)
            memset(p, 0, n);
        return;
    }
    if (n > 0)
        memcpy(p, r->p + r->off, n);
    r->off += n;
}

static uint64_t sr_le(struct sbuf_r *r, unsigned n)
{
    uint8_t b[8];
    sr_bytes(r, b, n);
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

uint8_t sr_u8(struct sbuf_r *r)
{
    return (uint8_t)sr_le(r, 1);
}
uint16_t sr_u16(struct sbuf_r *r)
{
    return (uint16_t)sr_le(r, 2);
}
uint32_t sr_u32(struct sbuf_r *r)
{
    return (uint32_t)sr_le(r, 4);
}
uint64_t sr_u64(struct sbuf_r *r)
{
    return sr_le(r, 8);
}

void sr_ip(struct sbuf_r *r, struct vnat_ip *ip)
{
    memset(ip, 0, sizeof *ip);
    ip->family = sr_u8(r);
    sr_bytes(r, ip->addr, sizeof ip->addr);
}

void sr_sockaddr(struct sbuf_r *r, struct vnat_sockaddr *a)
{
    memset(a, 0, sizeof *a);
    sr_ip(r, &a->ip);
    a->port = sr_u16(r);
}

uint64_t sr_time(struct sbuf_r *r, uint64_t never)
{
    uint64_t t = sr_u64(r);
    if (t == never)
        return t;
    if (r->shift < 0) {
        uint64_t d = (uint64_t)(-(r->shift + 1)) + 1;
        return t > d ? t - d : 0;
    }
    uint64_t d = (uint64_t)r->shift;
    return t < UINT64_MAX - 1 - d ? t + d : UINT64_MAX - 1;
}

struct sbuf_r sr_sub(struct sbuf_r *r, size_t n)
{
    struct sbuf_r s = {r->p + r->off, 0, 0, r->err, r->shift};
    if (r->err != 0 || n > r->len - r->off) {
        sr_fail(r, VNAT_E_SNAP_TRUNCATED);
        s.err = r->err;
        s.p = r->p;
        r->off = r->len;
        return s;
    }
    s.len = n;
    r->off += n;
    return s;
}
