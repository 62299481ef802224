/*
 * sbuf.c — layer 0: the snapshot byte codec (sbuf.h): its compound fields
 * (the per-byte primitives are inline in sbuf.h, on the snapshot's hot
 * path).
 */
#include "sbuf.h"

#include <string.h>

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
    /* A missing section reads as an empty body with no bytes at all (p
     * NULL): no pointer arithmetic on it (fuzz_restore, UBSan). */
    struct sbuf_r s = {r->p != NULL ? r->p + r->off : NULL, 0, 0, r->err, r->shift};
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
