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

void sw_u8(struct sbuf_w *w, uint8_t v);
void sw_u16(struct sbuf_w *w, uint16_t v);
void sw_u32(struct sbuf_w *w, uint32_t v);
void sw_u64(struct sbuf_w *w, uint64_t v);
void sw_bytes(struct sbuf_w *w, const void *p, size_t n);
void sw_ip(struct sbuf_w *w, const struct vnat_ip *ip);            /* family, 16 bytes */
void sw_sockaddr(struct sbuf_w *w, const struct vnat_sockaddr *a); /* ip, port */
/* Overwrite 4 bytes at off (a length written before its body). */
void sw_patch_u32(struct sbuf_w *w, size_t off, uint32_t v);

uint8_t sr_u8(struct sbuf_r *r);
uint16_t sr_u16(struct sbuf_r *r);
uint32_t sr_u32(struct sbuf_r *r);
uint64_t sr_u64(struct sbuf_r *r);
void sr_bytes(struct sbuf_r *r, void *p, size_t n);
void sr_ip(struct sbuf_r *r, struct vnat_ip *ip);
void sr_sockaddr(struct sbuf_r *r, struct vnat_sockaddr *a);
/* A time (ns): the stored value moved by r->shift, clamped to 0..UINT64_MAX-1;
 * `never` (0 or UINT64_MAX, a caller's "not armed") is kept as is. */
uint64_t sr_time(struct sbuf_r *r, uint64_t never);
/* A sub-reader over the next n bytes (they are skipped in r). */
struct sbuf_r sr_sub(struct sbuf_r *r, size_t n);
/* Record an error (the first one wins). */
void sr_fail(struct sbuf_r *r, int err);
static inline size_t sr_left(const struct sbuf_r *r)
{
    return r->len - r->off;
}

#endif
