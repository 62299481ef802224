/*
 * fuzz_slirp_state.c — libFuzzer target for the header of the libslirp
 * library's migration stream (slirp/state.c, pure, linked directly): the
 * bytes a destination QEMU hands slirp_state_load before the core's
 * snapshot, which fuzz_restore covers. The input is a stream. Oracles
 * beyond "no crash, no overread":
 *   - the fixed part is accepted exactly when the whole parse can be, and
 *     then names a forward count of at most VS_STATE_MAX_FWDS;
 *   - a header parsed whole encodes back to exactly its bytes (the format
 *     has one spelling), with every field in range: protocol TCP or UDP,
 *     family 4 or 6, guest port not 0, snapshot length 1..256 MiB;
 *   - a header re-encoded from arbitrary field values taken from the input
 *     always parses back to the same fields (with the checksum repaired, so
 *     the fields themselves are reached).
 * A broken oracle prints what failed and traps.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_slirp_state: %s\n", #cond);                                      \
            __builtin_trap();                                                                      \
        }                                                                                          \
    } while (0)

static bool same_fwd(const struct vnat_forward *a, const struct vnat_forward *b)
{
    return a->proto == b->proto && a->host.ip.family == b->host.ip.family &&
           memcmp(a->host.ip.addr, b->host.ip.addr, 16) == 0 && a->host.port == b->host.port &&
           a->guest_port == b->guest_port;
}

static bool same_head(const struct vs_state_head *a, const struct vs_state_head *b)
{
    if (a->flags != b->flags || memcmp(a->guest_mac, b->guest_mac, 6) != 0 ||
        memcmp(a->guest_ip, b->guest_ip, 4) != 0 || a->n_fwds != b->n_fwds ||
        a->snap_len != b->snap_len)
        return false;
    for (uint32_t i = 0; i < a->n_fwds; i++)
        if (!same_fwd(&a->fwds[i], &b->fwds[i]))
            return false;
    return true;
}

static uint8_t enc[VS_STATE_FIXED + VS_STATE_MAX_FWDS * VS_STATE_FWD + 8];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];
    uint32_t n = 0;
    struct vs_state_head h;
    bool fixed_ok = size >= VS_STATE_FIXED && vs_state_head_fixed(data, &n, why, sizeof why) == 0;
    if (fixed_ok)
        CHECK(n <= VS_STATE_MAX_FWDS);
    size_t hn = fixed_ok ? vs_state_head_size(n) : 0;
    bool whole_ok =
        fixed_ok && hn <= size && vs_state_head_parse(data, hn, &h, why, sizeof why) == 0;
    /* The whole input as a header: refused unless it is exactly one. */
    struct vs_state_head all;
    int r_all = vs_state_head_parse(data, size, &all, why, sizeof why);
    if (!fixed_ok || size != hn)
        CHECK(r_all != 0);
    else
        CHECK((r_all == 0) == whole_ok);
    if (whole_ok) {
        CHECK(h.snap_len >= 1 && h.snap_len <= VS_STATE_MAX_SNAPSHOT);
        for (uint32_t i = 0; i < h.n_fwds; i++) {
            const struct vnat_forward *f = &h.fwds[i];
            CHECK(f->proto == VNAT_PROTO_TCP || f->proto == VNAT_PROTO_UDP);
            CHECK(f->host.ip.family == VNAT_AF_INET || f->host.ip.family == VNAT_AF_INET6);
            CHECK(f->guest_port != 0);
        }
        CHECK(vs_state_head_encode(&h, enc) == hn);
        CHECK(memcmp(enc, data, hn) == 0); /* one spelling */
    }
    /* Fields from the input, encoded (the checksum is the encoder's), must
     * parse back to themselves when they are in range. */
    if (size >= 16) {
        struct vs_state_head g;
        memset(&g, 0, sizeof g);
        g.flags = data[0] & (VS_STATE_F_MAC | VS_STATE_F_IP);
        memcpy(g.guest_mac, data + 1, 6);
        memcpy(g.guest_ip, data + 7, 4);
        g.snap_len = 1 + ((uint32_t)data[11] << 16 | (uint32_t)data[12] << 8 | data[13]);
        g.n_fwds = data[14] % (VS_STATE_MAX_FWDS + 1);
        const uint8_t *p = data + 15;
        size_t left = size - 15;
        for (uint32_t i = 0; i < g.n_fwds; i++) {
            struct vnat_forward *f = &g.fwds[i];
            uint8_t b[21] = {0};
            memcpy(b, p, left < sizeof b ? left : sizeof b);
            size_t step = left < sizeof b ? left : sizeof b;
            p += step;
            left -= step;
            f->proto = (b[0] & 1) ? VNAT_PROTO_UDP : VNAT_PROTO_TCP;
            f->host.ip.family = (b[0] & 2) ? VNAT_AF_INET6 : VNAT_AF_INET;
            memcpy(f->host.ip.addr, b + 1, f->host.ip.family == VNAT_AF_INET6 ? 16 : 4);
            f->host.port = (uint16_t)(b[17] | b[18] << 8);
            f->guest_port = (uint16_t)(b[19] | b[20] << 8);
            if (f->guest_port == 0)
                f->guest_port = 1;
        }
        size_t gn = vs_state_head_encode(&g, enc);
        CHECK(gn == vs_state_head_size(g.n_fwds));
        struct vs_state_head back;
        CHECK(vs_state_head_parse(enc, gn, &back, why, sizeof why) == 0);
        CHECK(same_head(&g, &back));
        /* One byte changed anywhere in it is refused (the checksum, or a
         * field check before it). */
        size_t at = (size_t)data[size - 1] * 257u % gn;
        enc[at] ^= (uint8_t)(1u << (data[size - 2] & 7));
        CHECK(vs_state_head_parse(enc, gn, &back, why, sizeof why) != 0);
    }
    return 0;
}
