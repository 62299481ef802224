/*
 * trace.c — binary trace encoding, reading, hashing and text rendering of
 * the core's boundary log. The format is defined in docs/trace.md; this file
 * is its reference implementation.
 */
#include "trace.h"

#include "wire.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum {
    TR_F_OP = 0x01,
    TR_F_NOW = 0x02,
    TR_F_TOKEN = 0x04,
    TR_F_A = 0x08,
    TR_F_B = 0x10,
    TR_F_ADDR = 0x20,
    TR_F_DATA = 0x40,
};

static size_t put_uvarint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static uint64_t zigzag(int64_t v)
{
    uint64_t u = (uint64_t)v;
    return (u << 1) ^ (0 - (u >> 63));
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static size_t addr_bytes(uint8_t family)
{
    return family == VNAT_AF_INET ? 4 : family == VNAT_AF_INET6 ? 16 : 0;
}

size_t vnat_trace_encode_header(const struct vnat_log_record *rec, uint8_t *out)
{
    uint8_t flags = 0;
    if (rec->op != 0)
        flags |= TR_F_OP;
    if (rec->now != 0)
        flags |= TR_F_NOW;
    if (rec->token != 0)
        flags |= TR_F_TOKEN;
    if (rec->a != 0)
        flags |= TR_F_A;
    if (rec->b != 0)
        flags |= TR_F_B;
    if (rec->addr != NULL)
        flags |= TR_F_ADDR;
    if (rec->len != 0 && rec->data != NULL)
        flags |= TR_F_DATA;
    size_t n = 0;
    out[n++] = (uint8_t)rec->kind;
    out[n++] = flags;
    if (flags & TR_F_OP)
        out[n++] = (uint8_t)rec->op;
    if (flags & TR_F_NOW)
        n += put_uvarint(out + n, rec->now);
    if (flags & TR_F_TOKEN)
        n += put_uvarint(out + n, rec->token);
    if (flags & TR_F_A)
        n += put_uvarint(out + n, zigzag(rec->a));
    if (flags & TR_F_B)
        n += put_uvarint(out + n, zigzag(rec->b));
    if (flags & TR_F_ADDR) {
        uint8_t fam = rec->addr->ip.family;
        out[n++] = fam;
        size_t k = addr_bytes(fam);
        memcpy(out + n, rec->addr->ip.addr, k);
        n += k;
        out[n++] = (uint8_t)(rec->addr->port >> 8);
        out[n++] = (uint8_t)rec->addr->port;
    }
    if (flags & TR_F_DATA)
        n += put_uvarint(out + n, rec->len);
    return n;
}

int vnat_trace_write_header(FILE *f)
{
    return fwrite(VNAT_TRACE_MAGIC, 1, VNAT_TRACE_MAGIC_LEN, f) == VNAT_TRACE_MAGIC_LEN ? 0 : -1;
}

int vnat_trace_write(FILE *f, const struct vnat_log_record *rec)
{
    uint8_t hdr[VNAT_TRACE_HDR_MAX];
    if (f == NULL || rec == NULL)
        return -1;
    size_t n = vnat_trace_encode_header(rec, hdr);
    if (fwrite(hdr, 1, n, f) != n)
        return -1;
    if (rec->len != 0 && rec->data != NULL && fwrite(rec->data, 1, rec->len, f) != rec->len)
        return -1;
    return 0;
}

/* ---- hash ---------------------------------------------------------------- */

/* The trace hash (docs/trace.md): the byte stream is cut into 32-byte
 * blocks of four little-endian 64-bit words; word i of each block goes to
 * lane i: lane = rotl((lane ^ word) * M, 31). Four lanes keep four multiply
 * chains in flight, so hashing a gigabyte of frames costs a fraction of a
 * second. The final partial block is zero-padded; the lanes, the total
 * length and a SplitMix64 finaliser give the 64-bit result. */
#define TH_MUL 0x9e3779b97f4a7c15ull

static uint64_t th_rotl(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t th_mix(uint64_t lane, uint64_t w)
{
    return th_rotl((lane ^ w) * TH_MUL, 31);
}

static uint64_t th_le64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

static void th_block(uint64_t lane[4], const uint8_t *p)
{
    lane[0] = th_mix(lane[0], th_le64(p));
    lane[1] = th_mix(lane[1], th_le64(p + 8));
    lane[2] = th_mix(lane[2], th_le64(p + 16));
    lane[3] = th_mix(lane[3], th_le64(p + 24));
}

void vnat_trace_hash_init(struct vnat_trace_hash *th)
{
    memset(th, 0, sizeof *th);
    th->lane[0] = 0x6a09e667f3bcc908ull;
    th->lane[1] = 0xbb67ae8584caa73bull;
    th->lane[2] = 0x3c6ef372fe94f82bull;
    th->lane[3] = 0xa54ff53a5f1d36f1ull;
}

void vnat_trace_hash_bytes(struct vnat_trace_hash *th, const void *data, size_t len)
{
    const uint8_t *p = data;
    th->total += len;
    if (th->block_len != 0) {
        size_t n = 32 - th->block_len < len ? 32 - th->block_len : len;
        memcpy(th->block + th->block_len, p, n);
        th->block_len += (unsigned)n;
        p += n;
        len -= n;
        if (th->block_len < 32)
            return;
        th_block(th->lane, th->block);
        th->block_len = 0;
    }
    uint64_t lane[4] = {th->lane[0], th->lane[1], th->lane[2], th->lane[3]};
    while (len >= 32) {
        th_block(lane, p);
        p += 32;
        len -= 32;
    }
    memcpy(th->lane, lane, sizeof lane);
    memcpy(th->block, p, len);
    th->block_len = (unsigned)len;
}

void vnat_trace_hash_record(struct vnat_trace_hash *th, const struct vnat_log_record *rec)
{
    uint8_t hdr[VNAT_TRACE_HDR_MAX];
    size_t n = vnat_trace_encode_header(rec, hdr);
    vnat_trace_hash_bytes(th, hdr, n);
    if (rec->len != 0 && rec->data != NULL)
        vnat_trace_hash_bytes(th, rec->data, rec->len);
}

uint64_t vnat_trace_hash_final(const struct vnat_trace_hash *th)
{
    uint64_t lane[4] = {th->lane[0], th->lane[1], th->lane[2], th->lane[3]};
    if (th->block_len != 0) {
        uint8_t last[32] = {0};
        memcpy(last, th->block, th->block_len);
        th_block(lane, last);
    }
    uint64_t h = th->total;
    for (int i = 0; i < 4; i++)
        h = th_mix(h, lane[i]);
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

/* ---- reader -------------------------------------------------------------- */

void vnat_trace_reader_init(struct vnat_trace_reader *r, FILE *f)
{
    memset(r, 0, sizeof *r);
    r->f = f;
}

void vnat_trace_reader_free(struct vnat_trace_reader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->cap = 0;
}

static int rd_byte(FILE *f, uint8_t *out)
{
    int c = getc(f);
    if (c == EOF)
        return -1;
    *out = (uint8_t)c;
    return 0;
}

static int rd_uvarint(FILE *f, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        uint8_t b;
        if (rd_byte(f, &b) != 0)
            return -1;
        if (shift == 63 && b > 1)
            return -1;
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

int vnat_trace_read(struct vnat_trace_reader *r, struct vnat_log_record *rec)
{
    memset(rec, 0, sizeof *rec);
    int c = getc(r->f);
    if (c == EOF)
        return 0;
    if (!r->started) {
        r->started = true;
        if (c == VNAT_TRACE_MAGIC[0]) {
            char m[VNAT_TRACE_MAGIC_LEN - 1];
            if (fread(m, 1, sizeof m, r->f) != sizeof m ||
                memcmp(m, &VNAT_TRACE_MAGIC[1], sizeof m) != 0)
                return -1;
            c = getc(r->f);
            if (c == EOF)
                return 0;
        }
    }
    if (c >= VNAT_LOG__COUNT)
        return -1;
    rec->kind = (uint32_t)c;
    uint8_t flags;
    if (rd_byte(r->f, &flags) != 0 || (flags & 0x80) != 0)
        return -1;
    uint64_t v;
    uint8_t b;
    if (flags & TR_F_OP) {
        if (rd_byte(r->f, &b) != 0 || b >= VNAT_OP__COUNT)
            return -1;
        rec->op = b;
    }
    if ((flags & TR_F_NOW) && rd_uvarint(r->f, &rec->now) != 0)
        return -1;
    if ((flags & TR_F_TOKEN) && rd_uvarint(r->f, &rec->token) != 0)
        return -1;
    if (flags & TR_F_A) {
        if (rd_uvarint(r->f, &v) != 0)
            return -1;
        rec->a = unzigzag(v);
    }
    if (flags & TR_F_B) {
        if (rd_uvarint(r->f, &v) != 0)
            return -1;
        rec->b = unzigzag(v);
    }
    if (flags & TR_F_ADDR) {
        memset(&r->addr, 0, sizeof r->addr);
        if (rd_byte(r->f, &r->addr.ip.family) != 0)
            return -1;
        size_t k = addr_bytes(r->addr.ip.family);
        uint8_t port[2];
        if ((k && fread(r->addr.ip.addr, 1, k, r->f) != k) || fread(port, 1, 2, r->f) != 2)
            return -1;
        r->addr.port = (uint16_t)((port[0] << 8) | port[1]);
        rec->addr = &r->addr;
    }
    if (flags & TR_F_DATA) {
        if (rd_uvarint(r->f, &v) != 0 || v == 0 || v > (1ull << 32))
            return -1;
        if (v > r->cap) {
            uint8_t *n = realloc(r->buf, (size_t)v);
            if (n == NULL)
                return -1;
            r->buf = n;
            r->cap = (size_t)v;
        }
        if (fread(r->buf, 1, (size_t)v, r->f) != v)
            return -1;
        rec->data = r->buf;
        rec->len = (size_t)v;
    }
    r->records++;
    return 1;
}

/* ---- text ---------------------------------------------------------------- */

struct tbuf {
    char *p;
    size_t cap;
    size_t len;
};

static void tb_printf(struct tbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tb_printf(struct tbuf *t, const char *fmt, ...)
{
    if (t->len + 1 >= t->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    t->len += (size_t)n;
    if (t->len >= t->cap)
        t->len = t->cap - 1;
}

static void tb_ip4(struct tbuf *t, const uint8_t *a)
{
    tb_printf(t, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

static void tb_sockaddr(struct tbuf *t, const struct vnat_sockaddr *sa)
{
    if (sa->ip.family == VNAT_AF_INET) {
        tb_ip4(t, sa->ip.addr);
        tb_printf(t, ":%u", sa->port);
    } else if (sa->ip.family == VNAT_AF_INET6) {
        tb_printf(t, "[");
        for (int i = 0; i < 16; i += 2)
            tb_printf(t, "%s%x", i ? ":" : "", (sa->ip.addr[i] << 8) | sa->ip.addr[i + 1]);
        tb_printf(t, "]:%u", sa->port);
    } else {
        tb_printf(t, "none:%u", sa->port);
    }
}

static void tb_frame(struct tbuf *t, const uint8_t *f, size_t len)
{
    struct vw_eth eth;
    if (vw_eth_parse(f, len, &eth) != VW_OK) {
        tb_printf(t, " | eth?");
        return;
    }
    if (eth.ethertype == VW_ETH_P_ARP) {
        struct vw_arp arp;
        if (vw_arp_parse(eth.payload, eth.payload_len, &arp) != VW_OK) {
            tb_printf(t, " | arp?");
            return;
        }
        tb_printf(t, " | ARP %s ", arp.op == VW_ARP_REQUEST ? "who-has" : "is-at");
        tb_ip4(t, arp.tpa);
        tb_printf(t, " from ");
        tb_ip4(t, arp.spa);
        return;
    }
    if (eth.ethertype != VW_ETH_P_IPV4) {
        tb_printf(t, " | ethertype 0x%04x", eth.ethertype);
        return;
    }
    struct vw_ipv4 ip;
    int st = vw_ipv4_parse(eth.payload, eth.payload_len, &ip);
    if (st != VW_OK) {
        tb_printf(t, " | ipv4 %s", vw_status_name(st));
        return;
    }
    if (ip.proto == VW_IPPROTO_TCP) {
        struct vw_tcp tcp;
        st = vw_tcp_parse(ip.payload, ip.payload_len, &tcp);
        if (st != VW_OK) {
            tb_printf(t, " | tcp %s", vw_status_name(st));
            return;
        }
        tb_printf(t, " | TCP ");
        tb_ip4(t, ip.src);
        tb_printf(t, ":%u > ", tcp.sport);
        tb_ip4(t, ip.dst);
        char fl[9];
        size_t k = 0;
        static const char names[] = "FSRPAUEC";
        for (int i = 0; i < 8; i++)
            if (tcp.flags & (1u << i))
                fl[k++] = names[i];
        fl[k] = 0;
        tb_printf(t, ":%u [%s] seq=%" PRIu32 " ack=%" PRIu32 " win=%u len=%zu", tcp.dport, fl,
                  tcp.seq, tcp.ack, tcp.window, tcp.payload_len);
        if (tcp.has_mss)
            tb_printf(t, " mss=%u", tcp.mss);
        if (tcp.has_wscale)
            tb_printf(t, " ws=%u", tcp.wscale);
        if (!vw_l4_csum_ok4(ip.src, ip.dst, VW_IPPROTO_TCP, ip.payload, ip.payload_len))
            tb_printf(t, " BADSUM");
    } else if (ip.proto == VW_IPPROTO_UDP) {
        struct vw_udp udp;
        if (vw_udp_parse(ip.payload, ip.payload_len, &udp) != VW_OK) {
            tb_printf(t, " | udp?");
            return;
        }
        tb_printf(t, " | UDP ");
        tb_ip4(t, ip.src);
        tb_printf(t, ":%u > ", udp.sport);
        tb_ip4(t, ip.dst);
        tb_printf(t, ":%u len=%zu", udp.dport, udp.payload_len);
    } else if (ip.proto == VW_IPPROTO_ICMP) {
        tb_printf(t, " | ICMP ");
        tb_ip4(t, ip.src);
        tb_printf(t, " > ");
        tb_ip4(t, ip.dst);
        if (ip.payload_len >= 2)
            tb_printf(t, " type=%u code=%u", ip.payload[0], ip.payload[1]);
    } else {
        tb_printf(t, " | ip proto %u", ip.proto);
    }
}

size_t vnat_trace_format(const struct vnat_log_record *rec, char *buf, size_t cap)
{
    struct tbuf t = {buf, cap, 0};
    if (cap == 0)
        return 0;
    buf[0] = 0;
    tb_printf(&t, "%" PRIu64 ".%09" PRIu64 " %s", rec->now / 1000000000u, rec->now % 1000000000u,
              vnat_log_kind_name((int)rec->kind));
    if (rec->kind == VNAT_LOG_OP)
        tb_printf(&t, " %s", vnat_op_name((int)rec->op));
    if (rec->token != 0)
        tb_printf(&t, " tok=%#" PRIx64, rec->token);
    if (rec->a != 0 || rec->kind == VNAT_LOG_OP)
        tb_printf(&t, " a=%" PRId64, rec->a);
    if (rec->b != 0 || rec->kind == VNAT_LOG_OP)
        tb_printf(&t, " b=%" PRId64, rec->b);
    if (rec->addr != NULL) {
        tb_printf(&t, " addr=");
        tb_sockaddr(&t, rec->addr);
    }
    if (rec->len != 0)
        tb_printf(&t, " len=%zu", rec->len);
    if ((rec->kind == VNAT_LOG_EV_FRAME || rec->kind == VNAT_LOG_OUT_FRAME) && rec->data != NULL)
        tb_frame(&t, rec->data, rec->len);
    return t.len;
}

int vnat_trace_compare(const struct vnat_log_record *want, const struct vnat_log_record *got,
                       char *why, size_t why_len)
{
    const char *what = NULL;
    if (want->kind != got->kind)
        what = "kind";
    else if (want->op != got->op)
        what = "op";
    else if (want->now != got->now)
        what = "now";
    else if (want->token != got->token)
        what = "token";
    else if (want->a != got->a)
        what = "a";
    else if (want->b != got->b)
        what = "b";
    else if ((want->addr == NULL) != (got->addr == NULL))
        what = "addr presence";
    else if (want->addr != NULL && (want->addr->ip.family != got->addr->ip.family ||
                                    want->addr->port != got->addr->port ||
                                    memcmp(want->addr->ip.addr, got->addr->ip.addr,
                                           addr_bytes(want->addr->ip.family)) != 0))
        what = "addr";
    else if (want->len != got->len)
        what = "data length";
    else if (want->len != 0 && memcmp(want->data, got->data, want->len) != 0)
        what = "data bytes";
    if (what == NULL)
        return 0;
    if (why != NULL && why_len != 0) {
        char a[256], b[256];
        vnat_trace_format(want, a, sizeof a);
        vnat_trace_format(got, b, sizeof b);
        snprintf(why, why_len, "%s differs\n  recorded: %s\n  replayed: %s", what, a, b);
    }
    return 1;
}
