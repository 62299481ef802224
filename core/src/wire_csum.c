/*
 * wire_csum.c — the Internet checksum (RFC 1071), the TCP/UDP/ICMPv6
 * pseudo-headers and the RFC 1624 incremental update. Every checksum the core
 * writes or checks goes through these few functions, so their arithmetic is
 * pinned against hand-computed values in pins/wire_csum_pins.c.
 */
#include "wire.h"

uint32_t vw_csum_add(uint32_t sum, const void *data, size_t len)
{
    /* A 64-bit accumulator of 32-bit big-endian chunks cannot overflow for
     * any len a frame can have (2^32 chunks); one's-complement addition is
     * associative, so folding the chunks later gives the 16-bit sum. */
    const uint8_t *p = data;
    uint64_t acc = sum;
    while (len >= 4) {
        acc += vw_get32(p);
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
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
