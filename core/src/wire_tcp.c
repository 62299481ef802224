/*
 * wire_tcp.c — the TCP header view with every option the core uses (MSS,
 * window scale, SACK-permitted, SACK blocks, timestamps) and the header
 * builder. The option walk is the most hostile input in the frame path: it
 * consumes at least one byte per pass, never reads past hdr_len, and rejects
 * (VW_EOPT) an option of length 0 or 1 or one running past the header.
 */
#include "wire.h"

#include <string.h>

static void tcp_option_take(struct vw_tcp *out, const uint8_t *o, uint8_t olen)
{
    /* Known options with a wrong length are ignored, as the contract says:
     * a peer that garbles one option still gets its segment through. */
    switch (o[0]) {
    case VW_TCPOPT_MSS:
        if (olen == 4) {
            out->has_mss = true;
            out->mss = vw_get16(o + 2);
        }
        break;
    case VW_TCPOPT_WSCALE:
        if (olen == 3) {
            out->has_wscale = true;
            out->wscale = o[2];
        }
        break;
    case VW_TCPOPT_SACK_PERM:
        if (olen == 2)
            out->sack_permitted = true;
        break;
    case VW_TCPOPT_SACK:
        /* A later SACK option replaces an earlier one; at most 4 blocks fit
         * in 40 bytes of options, which is what the array holds. */
        if (olen >= 10 && (olen - 2) % 8 == 0) {
            unsigned n = (unsigned)(olen - 2) / 8;
            if (n > VW_TCP_MAX_SACK)
                n = VW_TCP_MAX_SACK;
            for (unsigned b = 0; b < n; b++) {
                out->sack[b].left = vw_get32(o + 2 + 8 * b);
                out->sack[b].right = vw_get32(o + 6 + 8 * b);
            }
            out->sack_count = (uint8_t)n;
        }
        break;
    case VW_TCPOPT_TS:
        if (olen == 10) {
            out->has_ts = true;
            out->ts_val = vw_get32(o + 2);
            out->ts_ecr = vw_get32(o + 6);
        }
        break;
    default:
        break; /* unknown: skipped by its length */
    }
}

int vw_tcp_parse(const uint8_t *buf, size_t len, struct vw_tcp *out)
{
    if (len < VW_TCP_HLEN)
        return VW_ETRUNC;
    size_t hlen = (size_t)(buf[12] >> 4) * 4;
    if (hlen < VW_TCP_HLEN)
        return VW_EBADLEN;
    if (hlen > len)
        return VW_ETRUNC;
    memset(out, 0, sizeof *out);
    const uint8_t *opt = buf + VW_TCP_HLEN;
    size_t optlen = hlen - VW_TCP_HLEN;
    size_t i = 0;
    while (i < optlen) { /* bounded: i grows by >= 1 each pass, optlen <= 40 */
        uint8_t kind = opt[i];
        if (kind == VW_TCPOPT_EOL)
            break;
        if (kind == VW_TCPOPT_NOP) {
            i++;
            continue;
        }
        if (optlen - i < 2)
            return VW_EOPT;
        uint8_t olen = opt[i + 1];
        if (olen < 2 || olen > optlen - i)
            return VW_EOPT;
        tcp_option_take(out, opt + i, olen);
        i += olen;
    }
    out->sport = vw_get16(buf);
    out->dport = vw_get16(buf + 2);
    out->seq = vw_get32(buf + 4);
    out->ack = vw_get32(buf + 8);
    out->hdr_len = (uint8_t)hlen;
    out->flags = buf[13];
    out->window = vw_get16(buf + 14);
    out->csum = vw_get16(buf + 16);
    out->urg_ptr = vw_get16(buf + 18);
    out->payload = buf + hlen;
    out->payload_len = len - hlen;
    return VW_OK;
}

size_t vw_tcp_hdr_len(const struct vw_tcp_out *t)
{
    size_t n = VW_TCP_HLEN;
    if (t->opt_mss)
        n += 4;
    if (t->opt_ts)
        n += 12; /* SACK-perm rides in the two bytes TS leaves for alignment */
    else if (t->opt_sack_perm)
        n += 4;
    if (t->opt_wscale)
        n += 4;
    return n;
}

size_t vw_tcp_build(uint8_t *buf, size_t cap, const struct vw_tcp_out *t)
{
    size_t hlen = vw_tcp_hdr_len(t);
    if (cap < hlen)
        return 0;
    vw_put16(buf, t->sport);
    vw_put16(buf + 2, t->dport);
    vw_put32(buf + 4, t->seq);
    vw_put32(buf + 8, t->ack);
    buf[12] = (uint8_t)((hlen / 4) << 4);
    buf[13] = t->flags;
    vw_put16(buf + 14, t->window);
    vw_put16(buf + 16, 0);
    vw_put16(buf + 18, 0);
    uint8_t *o = buf + VW_TCP_HLEN;
    if (t->opt_mss) {
        o[0] = VW_TCPOPT_MSS;
        o[1] = 4;
        vw_put16(o + 2, t->mss);
        o += 4;
    }
    if (t->opt_ts) {
        if (t->opt_sack_perm) {
            o[0] = VW_TCPOPT_SACK_PERM;
            o[1] = 2;
        } else {
            o[0] = VW_TCPOPT_NOP;
            o[1] = VW_TCPOPT_NOP;
        }
        o[2] = VW_TCPOPT_TS;
        o[3] = 10;
        vw_put32(o + 4, t->ts_val);
        vw_put32(o + 8, t->ts_ecr);
        o += 12;
    } else if (t->opt_sack_perm) {
        o[0] = VW_TCPOPT_NOP;
        o[1] = VW_TCPOPT_NOP;
        o[2] = VW_TCPOPT_SACK_PERM;
        o[3] = 2;
        o += 4;
    }
    if (t->opt_wscale) {
        o[0] = VW_TCPOPT_NOP;
        o[1] = VW_TCPOPT_WSCALE;
        o[2] = 3;
        o[3] = t->wscale;
        o += 4;
    }
    return (size_t)(o - buf);
}
