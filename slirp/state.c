/*
 * state.c — the library's header of the migration stream (internal.h,
 * docs/libslirp.md "State"): encoding and the checks of an untrusted one.
 * Pure: no system call. The core's snapshot that follows it is the core's
 * to check (vnat_restore).
 *
 *   0   magic "vnatslrp"          24  guest IPv4 address
 *   8   u32 format (1)            28  u32 forward count (<= 64)
 *   12  u32 flags (VS_STATE_F_*)  32  forwards, 24 bytes each:
 *   16  guest MAC, 2 zero bytes       u8 proto, u8 family (4/6), u16 host
 *                                     port, 16 address bytes (IPv4: 4 and
 *                                     12 zero), u16 guest port, 2 zero
 *   then u32 snapshot length, u32 FNV-1a of every header byte before it.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

size_t vs_state_head_size(uint32_t n_fwds)
{
    return VS_STATE_FIXED + (size_t)n_fwds * VS_STATE_FWD + 8;
}

size_t vs_state_head_encode(const struct vs_state_head *h, uint8_t *out)
{
    size_t n = vs_state_head_size(h->n_fwds);
    memset(out, 0, n);
    memcpy(out, VS_STATE_MAGIC, 8);
    put32(out + 8, VS_STATE_FORMAT);
    put32(out + 12, h->flags);
    memcpy(out + 16, h->guest_mac, 6);
    memcpy(out + 24, h->guest_ip, 4);
    put32(out + 28, h->n_fwds);
    uint8_t *p = out + VS_STATE_FIXED;
    for (uint32_t i = 0; i < h->n_fwds; i++, p += VS_STATE_FWD) {
        const struct vnat_forward *f = &h->fwds[i];
        p[0] = f->proto;
        p[1] = f->host.ip.family == VNAT_AF_INET6 ? 6 : 4;
        p[2] = (uint8_t)f->host.port;
        p[3] = (uint8_t)(f->host.port >> 8);
        memcpy(p + 4, f->host.ip.addr, f->host.ip.family == VNAT_AF_INET6 ? 16 : 4);
        p[20] = (uint8_t)f->guest_port;
        p[21] = (uint8_t)(f->guest_port >> 8);
    }
    put32(p, h->snap_len);
    put32(p + 4, fnv1a(out, (size_t)(p + 4 - out)));
    return n;
}

int vs_state_head_fixed(const uint8_t *fixed, uint32_t *n_fwds, char *why, size_t why_len)
{
    if (memcmp(fixed, VS_STATE_MAGIC, 8) != 0) {
        snprintf(why, why_len, "not a vnat stream (a libslirp one, or damaged)");
        return -1;
    }
    uint32_t fmt = get32(fixed + 8), flags = get32(fixed + 12), n = get32(fixed + 28);
    if (fmt != VS_STATE_FORMAT) {
        snprintf(why, why_len, "stream format %u, this library reads %u", fmt, VS_STATE_FORMAT);
        return -1;
    }
    if ((flags & ~(VS_STATE_F_MAC | VS_STATE_F_IP)) != 0 || !all_zero(fixed + 22, 2)) {
        snprintf(why, why_len, "unknown flags or padding in the stream header");
        return -1;
    }
    if (n > VS_STATE_MAX_FWDS) {
        snprintf(why, why_len, "%u forwards in the stream, at most %u", n, VS_STATE_MAX_FWDS);
        return -1;
    }
    *n_fwds = n;
    return 0;
}

int vs_state_head_parse(const uint8_t *buf, size_t len, struct vs_state_head *h, char *why,
                        size_t why_len)
{
    uint32_t n;
    if (len < VS_STATE_FIXED) {
        snprintf(why, why_len, "stream header truncated");
        return -1;
    }
    if (vs_state_head_fixed(buf, &n, why, why_len) < 0)
        return -1;
    if (len != vs_state_head_size(n)) {
        snprintf(why, why_len, "stream header length %zu, want %zu", len, vs_state_head_size(n));
        return -1;
    }
    if (get32(buf + len - 4) != fnv1a(buf, len - 4)) {
        snprintf(why, why_len, "stream header checksum mismatch");
        return -1;
    }
    memset(h, 0, sizeof *h);
    h->flags = get32(buf + 12);
    memcpy(h->guest_mac, buf + 16, 6);
    memcpy(h->guest_ip, buf + 24, 4);
    h->n_fwds = n;
    const uint8_t *p = buf + VS_STATE_FIXED;
    for (uint32_t i = 0; i < n; i++, p += VS_STATE_FWD) {
        struct vnat_forward *f = &h->fwds[i];
        bool v6 = p[1] == 6;
        if ((p[0] != VNAT_PROTO_TCP && p[0] != VNAT_PROTO_UDP) || (p[1] != 4 && !v6) ||
            (!v6 && !all_zero(p + 8, 12)) || !all_zero(p + 22, 2)) {
            snprintf(why, why_len, "forward %u in the stream is malformed", i);
            return -1;
        }
        f->proto = p[0];
        f->host.ip.family = v6 ? VNAT_AF_INET6 : VNAT_AF_INET;
        memcpy(f->host.ip.addr, p + 4, v6 ? 16 : 4);
        f->host.port = (uint16_t)(p[2] | p[3] << 8);
        f->guest_port = (uint16_t)(p[20] | p[21] << 8);
        if (f->guest_port == 0) {
            snprintf(why, why_len, "forward %u in the stream has guest port 0", i);
            return -1;
        }
    }
    h->snap_len = get32(p);
    if (h->snap_len == 0 || h->snap_len > VS_STATE_MAX_SNAPSHOT) {
        snprintf(why, why_len, "stream snapshot length %u (1 .. %u)", h->snap_len,
                 VS_STATE_MAX_SNAPSHOT);
        return -1;
    }
    return 0;
}
