/*
 * sbuf.h — layer 0: the snapshot byte codec (docs/snapshot.md). A writer
 * and a reader of fixed-width little-endian fields, byte by byte, so an
 * image never depends on struct layout or word size. The writer with a NULL
 * buffer only counts (the size query runs the same code as the snapshot);
 * writes past its capacity are counted, never stored. The reader never reads
 * past its end: an overrun sets `err` once and every later read returns 0.
 * Every protocol's save/load functions use these; snap.c (layer 4) frames
 * the sections and the checksum.
 */
#ifndef VNAT_SBUF_H
#define VNAT_SBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <vnat/vnat.h>

struct sbuf_w {
    uint8_t *buf; /* NULL: count only */
    size_t cap;
    size_t len; /* bytes written (or that would have been) */
};

struct sbuf_r {
    const uint8_t *p;
    size_t len;
    size_t off;
    int err;       /* 0, or the first error (a negative vnat_err) */
    int64_t shift; /* added to every time read by sr_time (restore's clock) */
};

static inline void sw_bytes(struct sbuf_w *w, const void *p, size_t n)
{
    if (w->buf != NULL && n > 0 && w->len <= w->cap && n <= w->cap - w->len)
        memcpy(w->buf + w->len, p, n);
    w->len += n;
}
static inline void sw_le(struct sbuf_w *w, uint64_t v, unsigned n)
{
    uint8_t b[8];
    for (unsigned i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    sw_bytes(w, b, n);
}
static inline void sw_u8(struct sbuf_w *w, uint8_t v)
{
    sw_le(w, v, 1);
}
static inline void sw_u16(struct sbuf_w *w, uint16_t v)
{
    sw_le(w, v, 2);
}
static inline void sw_u32(struct sbuf_w *w, uint32_t v)
{
    sw_le(w, v, 4);
}
static inline void sw_u64(struct sbuf_w *w, uint64_t v)
{
    sw_le(w, v, 8);
}
void sw_ip(struct sbuf_w *w, const struct vnat_ip *ip);            /* family, 16 bytes */
void sw_sockaddr(struct sbuf_w *w, const struct vnat_sockaddr *a); /* ip, port */
/* Overwrite 4 bytes at off (a length written before its body). */
void sw_patch_u32(struct sbuf_w *w, size_t off, uint32_t v);

/* Record an error (the first one wins). */
static inline void sr_fail(struct sbuf_r *r, int err)
{
    if (r->err == 0)
        r->err = err;
}
static inline void sr_bytes(struct sbuf_r *r, void *p, size_t n)
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
static inline uint64_t sr_le(struct sbuf_r *r, unsigned n)
{
    uint8_t b[8];
    sr_bytes(r, b, n);
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}
static inline uint8_t sr_u8(struct sbuf_r *r)
{
    return (uint8_t)sr_le(r, 1);
}
static inline uint16_t sr_u16(struct sbuf_r *r)
{
    return (uint16_t)sr_le(r, 2);
}
static inline uint32_t sr_u32(struct sbuf_r *r)
{
    return (uint32_t)sr_le(r, 4);
}
static inline uint64_t sr_u64(struct sbuf_r *r)
{
    return sr_le(r, 8);
}
void sr_ip(struct sbuf_r *r, struct vnat_ip *ip);
void sr_sockaddr(struct sbuf_r *r, struct vnat_sockaddr *a);
/* A time (ns): the stored value moved by r->shift, clamped to 0..UINT64_MAX-1;
 * `never` (0 or UINT64_MAX, a caller's "not armed") is kept as is. */
uint64_t sr_time(struct sbuf_r *r, uint64_t never);
/* A sub-reader over the next n bytes (they are skipped in r). */
struct sbuf_r sr_sub(struct sbuf_r *r, size_t n);
static inline size_t sr_left(const struct sbuf_r *r)
{
    return r->len - r->off;
}

#endif
