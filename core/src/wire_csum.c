/*
 * wire_csum.c — the Internet checksum (RFC 1071), the TCP/UDP/ICMPv6
 * pseudo-headers and the RFC 1624 incremental update. Every checksum the core
 * writes or checks goes through these few functions, so their arithmetic is
 * pinned against hand-computed values in pins/wire_csum_pins.c.
 */
#include <string.h>

#include "wire.h"

uint32_t vw_csum_add(uint32_t sum, const void *data, size_t len)
{
    /* RFC 1071 2(B): the one's-complement sum is byte-order independent, so
     * sum native 64-bit words with end-around carry (four at a time on the
     * hot path), fold to 16 bits and swap once to big-endian order. The few
     * trailing bytes are added big-endian, as are odd last bytes (the high
     * byte of a zero-padded word). */
    const uint8_t *p = data;
    uint64_t acc = 0;
    while (len >= 32) {
        uint64_t w[4];
        memcpy(w, p, sizeof w);
        for (int k = 0; k < 4; k++) {
            acc += w[k];
            acc += acc < w[k];
        }
        p += 32;
        len -= 32;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, sizeof w);
        acc += w;
        acc += acc < w;
        p += 8;
        len -= 8;
    }
    acc = (acc & 0xFFFFFFFFu) + (acc >> 32);
    acc = (acc & 0xFFFFFFFFu) + (acc >> 32);
    acc = (acc & 0xFFFFu) + (acc >> 16);
    acc = (acc & 0xFFFFu) + (acc >> 16);
    acc = (acc & 0xFFFFu) + (acc >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    acc = ((acc & 0xFFu) << 8) | (acc >> 8);
#endif
    acc += sum;
    while (len >= 2) {
        acc += vw_get16(p);
        p += 2;
        len -= 2;
    }
    if (len == 1)
        acc += (uint32_t)p[0] << 8;
    /* Bounded: each pass strictly shrinks acc until it fits in 32 bits. */
    acc = (acc & 0xFFFFFFFFu) + (acc >> 32);
    acc = (acc & 0xFFFFFFFFu) + (acc >> 32);
    return (uint32_t)acc;
}

uint16_t vw_csum_fold(uint32_t sum)
{
    sum = (sum & 0xFFFFu) + (sum >> 16);
    sum = (sum & 0xFFFFu) + (sum >> 16);
    return (uint16_t)~sum;
}

uint32_t vw_pseudo4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto, uint32_t l4_len)
{
    uint64_t acc = (uint64_t)vw_get16(src) + vw_get16(src + 2) + vw_get16(dst) + vw_get16(dst + 2) +
                   proto + (l4_len >> 16) + (l4_len & 0xFFFFu);
    return (uint32_t)acc;
}

uint32_t vw_pseudo6(const uint8_t src[16], const uint8_t dst[16], uint8_t next, uint32_t l4_len)
{
    uint32_t sum = vw_csum_add(0, src, 16);
    sum = vw_csum_add(sum, dst, 16);
    uint64_t acc = (uint64_t)sum + (l4_len >> 16) + (l4_len & 0xFFFFu) + next;
    acc = (acc & 0xFFFFFFFFu) + (acc >> 32);
    return (uint32_t)acc;
}

uint16_t vw_csum_update16(uint16_t csum, uint16_t old_word, uint16_t new_word)
{
    /* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). Unlike eqn. 2 it never
     * produces 0x0000 where a full recompute would give 0xFFFF. */
    uint32_t sum = (uint32_t)(uint16_t)~csum + (uint16_t)~old_word + new_word;
    return vw_csum_fold(sum);
}

uint16_t vw_csum_update32(uint16_t csum, uint32_t old_val, uint32_t new_val)
{
    uint32_t sum = (uint32_t)(uint16_t)~csum + (uint16_t) ~(old_val >> 16) +
                   (uint16_t) ~(old_val & 0xFFFFu) + (new_val >> 16) + (new_val & 0xFFFFu);
    return vw_csum_fold(sum);
}
