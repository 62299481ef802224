/*
 * wire.h — the wire layer: typed views over byte buffers and frame builders.
 *
 * Every parser checks the length before reading any field and returns a
 * negative vw_status on anything malformed; on success it fills a view whose
 * pointers point into the caller's buffer (nothing is copied). Builders write
 * into caller-provided buffers and return the number of bytes written, or 0
 * if the buffer is too small. Multi-byte fields in views are in host order.
 * Nothing here allocates, and nothing here keeps state.
 */
#ifndef VNAT_WIRE_H
#define VNAT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parse outcomes. 0 is success; every failure is negative. */
enum vw_status {
    VW_OK = 0,
    VW_ETRUNC = -1,  /* buffer shorter than a header or a declared length */
    VW_EBADLEN = -2, /* a length field that lies (too small, or past the end) */
    VW_EBADVER = -3, /* wrong version / hardware type / magic */
    VW_ECSUM = -4,   /* checksum mismatch */
    VW_EOPT = -5,    /* malformed option (length 0/1 where not allowed, past the end) */
    VW_EUNSUP = -6,  /* well-formed but not supported (e.g. VLAN tag when not wanted) */
};

/* ---------------------------------------------------------------- */
/* Byte access helpers (unaligned, big-endian).                      */
/* ---------------------------------------------------------------- */
static inline uint16_t vw_get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t vw_get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void vw_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void vw_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---------------------------------------------------------------- */
/* Internet checksum (RFC 1071) and incremental update (RFC 1624).   */
/* ---------------------------------------------------------------- */

/* Add len bytes at data to a running 32-bit one's-complement sum. Odd
 * lengths are padded with a zero byte. Chains across calls only if every
 * call but the last has an even length. */
uint32_t vw_csum_add(uint32_t sum, const void *data, size_t len);
/* Fold a running sum to 16 bits and complement it: the checksum to store. */
uint16_t vw_csum_fold(uint32_t sum);
/* Pseudo-header sums for TCP/UDP (and ICMPv6) checksums; l4_len in bytes. */
uint32_t vw_pseudo4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto, uint32_t l4_len);
uint32_t vw_pseudo6(const uint8_t src[16], const uint8_t dst[16], uint8_t next, uint32_t l4_len);
/* RFC 1624 eqn. 3: new checksum after one 16-bit word changed old -> new. */
uint16_t vw_csum_update16(uint16_t csum, uint16_t old_word, uint16_t new_word);
/* Same for a 32-bit field (two words), e.g. an address or a sequence number. */
uint16_t vw_csum_update32(uint16_t csum, uint32_t old_val, uint32_t new_val);

/* ---------------------------------------------------------------- */
/* Ethernet II                                                       */
/* ---------------------------------------------------------------- */
#define VW_ETH_HLEN 14
#define VW_ETH_P_IPV4 0x0800
#define VW_ETH_P_ARP 0x0806
#define VW_ETH_P_IPV6 0x86DD
#define VW_ETH_P_8021Q 0x8100
#define VW_ETH_P_8021AD 0x88A8

struct vw_eth {
    const uint8_t *dst; /* 6 bytes */
    const uint8_t *src; /* 6 bytes */
    uint16_t ethertype; /* after any VLAN tag */
    uint16_t vlan_tci;  /* valid if vlan */
    bool vlan;          /* an 802.1Q/802.1ad tag was present */
    const uint8_t *payload;
    size_t payload_len;
};
/* Parses a frame. A VLAN-tagged frame parses (vlan = true, ethertype is the
 * inner one) so the caller can count and drop it; ethertypes below 0x0600
 * (802.3 length fields) return VW_EUNSUP. */
int vw_eth_parse(const uint8_t *buf, size_t len, struct vw_eth *out);
/* Why tagged frames parse instead of failing: the core must tell "this guest
 * sends VLAN tags" (a misconfiguration worth its own counter,
 * VNAT_DROP_VLAN) apart from garbage. Up to VW_ETH_MAX_TAGS tags (802.1ad
 * outer + 802.1Q inner) are walked; vlan_tci is the outermost tag's TCI and
 * ethertype whatever follows the last tag walked (it may itself be a tag type
 * if a frame carries more tags than that). See docs/wire.md. */
#define VW_ETH_MAX_TAGS 2
/* Writes a 14-byte header. Returns VW_ETH_HLEN or 0. */
size_t vw_eth_build(uint8_t *buf, size_t cap, const uint8_t dst[6], const uint8_t src[6],
                    uint16_t ethertype);

/* ---------------------------------------------------------------- */
/* ARP (Ethernet / IPv4 only)                                        */
/* ---------------------------------------------------------------- */
#define VW_ARP_LEN 28
#define VW_ARP_REQUEST 1
#define VW_ARP_REPLY 2
struct vw_arp {
    uint16_t op;
    const uint8_t *sha, *spa, *tha, *tpa; /* 6, 4, 6, 4 bytes */
};
/* Rejects anything but htype 1, ptype 0x0800, hlen 6, plen 4. */
int vw_arp_parse(const uint8_t *buf, size_t len, struct vw_arp *out);
/* Writes a 28-byte ARP body. Returns VW_ARP_LEN or 0. */
size_t vw_arp_build(uint8_t *buf, size_t cap, uint16_t op, const uint8_t sha[6],
                    const uint8_t spa[4], const uint8_t tha[6], const uint8_t tpa[4]);

/* ---------------------------------------------------------------- */
/* IPv4                                                              */
/* ---------------------------------------------------------------- */
#define VW_IPV4_HLEN 20
#define VW_IPPROTO_ICMP 1
#define VW_IPPROTO_TCP 6
#define VW_IPPROTO_UDP 17
#define VW_IPPROTO_ICMPV6 58

struct vw_ipv4 {
    uint8_t ihl_bytes; /* header length in bytes, 20..60 */
    uint8_t tos;
    uint16_t total_len; /* as declared (checked against the buffer) */
    uint16_t id;
    bool df, mf;
    uint16_t frag_offset; /* in bytes */
    bool is_fragment;     /* mf || frag_offset != 0 */
    uint8_t ttl;
    uint8_t proto;
    const uint8_t *src, *dst; /* 4 bytes each */
    const uint8_t *options;
    size_t options_len;
    const uint8_t *payload; /* total_len - ihl bytes; trailing padding excluded */
    size_t payload_len;
};
/* Checks version 4, ihl >= 5, ihl*4 <= total_len <= len, header checksum
 * (VW_ECSUM), and that options are well-formed (each option's length within
 * the header; VW_EOPT otherwise). */
int vw_ipv4_parse(const uint8_t *buf, size_t len, struct vw_ipv4 *out);
/* Writes a 20-byte header (no options, DF set, the given TTL and id) with
 * its checksum for a payload of payload_len bytes. Returns 20 or 0. */
size_t vw_ipv4_build(uint8_t *buf, size_t cap, const uint8_t src[4], const uint8_t dst[4],
                     uint8_t proto, uint16_t id, uint8_t ttl, size_t payload_len);
/* Make the 20-byte header at buf (as vw_ipv4_build wrote it) the header of
 * one fragment: payload_len bytes at byte offset off of the datagram's
 * payload (off a multiple of 8), more fragments to follow if more; DF
 * cleared, total length and checksum rewritten (RFC 791 3.2). */
void vw_ipv4_set_fragment(uint8_t *buf, size_t off, size_t payload_len, bool more);

/* ---------------------------------------------------------------- */
/* IPv6 (fixed header and extension-header walk, for later use)      */
/* ---------------------------------------------------------------- */
#define VW_IPV6_HLEN 40
struct vw_ipv6 {
    uint8_t traffic_class;
    uint32_t flow_label;
    uint16_t payload_len_field;
    uint8_t next_header; /* of the fixed header */
    uint8_t hop_limit;
    const uint8_t *src, *dst; /* 16 bytes each */
    uint8_t upper_proto;      /* after walking hop-by-hop, routing, fragment, dest-opts */
    bool is_fragment;
    unsigned ext_count;     /* extension headers walked (bounded) */
    const uint8_t *payload; /* upper-layer payload */
    size_t payload_len;
};
int vw_ipv6_parse(const uint8_t *buf, size_t len, struct vw_ipv6 *out);

/* ---------------------------------------------------------------- */
/* TCP                                                               */
/* ---------------------------------------------------------------- */
#define VW_TCP_HLEN 20
#define VW_TCP_FIN 0x01
#define VW_TCP_SYN 0x02
#define VW_TCP_RST 0x04
#define VW_TCP_PSH 0x08
#define VW_TCP_ACK 0x10
#define VW_TCP_URG 0x20
#define VW_TCP_ECE 0x40
#define VW_TCP_CWR 0x80
#define VW_TCP_MAX_SACK 4

struct vw_tcp {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t hdr_len; /* bytes, 20..60 */
    uint8_t flags;   /* VW_TCP_* */
    uint16_t window; /* raw, unscaled */
    uint16_t csum;
    uint16_t urg_ptr;
    /* options */
    bool has_mss, has_wscale, sack_permitted, has_ts;
    uint16_t mss;
    uint8_t wscale; /* as sent; caller clamps to 14 */
    uint32_t ts_val, ts_ecr;
    uint8_t sack_count;
    struct {
        uint32_t left, right;
    } sack[VW_TCP_MAX_SACK];
    const uint8_t *payload;
    size_t payload_len;
};
/* Parses a TCP segment of exactly len bytes (the IP payload). Unknown
 * options are skipped by their length; an option of length 0 or 1 (other
 * than EOL/NOP), or one running past the header, gives VW_EOPT; known
 * options with a wrong length are ignored (not an error). Does not check the
 * checksum: see vw_l4_csum_ok4. */
int vw_tcp_parse(const uint8_t *buf, size_t len, struct vw_tcp *out);

/* What to put in an outgoing TCP header. */
struct vw_tcp_out {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t window; /* already scaled down by the caller */
    bool opt_mss, opt_wscale, opt_sack_perm, opt_ts;
    uint16_t mss;
    uint8_t wscale;
    uint32_t ts_val, ts_ecr;
};
/* Header length (20 + options, padded to 4) that vw_tcp_build will write. */
size_t vw_tcp_hdr_len(const struct vw_tcp_out *t);

/* ---------------------------------------------------------------- */
/* UDP, ICMPv4, ICMPv6                                               */
/* ---------------------------------------------------------------- */
#define VW_UDP_HLEN 8
struct vw_udp {
    uint16_t sport, dport, length, csum;
    const uint8_t *payload;
    size_t payload_len;
};
/* Checks 8 <= length <= len; payload is length - 8 bytes. */
int vw_udp_parse(const uint8_t *buf, size_t len, struct vw_udp *out);

#define VW_ICMP_HLEN 8
#define VW_ICMP_ECHO_REPLY 0
#define VW_ICMP_DEST_UNREACH 3
#define VW_ICMP_ECHO_REQUEST 8
#define VW_ICMP_TIME_EXCEEDED 11
struct vw_icmp {
    uint8_t type, code;
    uint16_t csum;
    uint16_t id, seq;       /* meaningful for echo */
    const uint8_t *rest;    /* bytes 4..7 */
    const uint8_t *payload; /* after the 8-byte header */
    size_t payload_len;
};
/* ICMPv4 and ICMPv6 share this layout. Checks the length and, for ICMPv4,
 * the checksum over the whole message (VW_ECSUM). */
int vw_icmp4_parse(const uint8_t *buf, size_t len, struct vw_icmp *out);
/* ICMPv6: checksum needs the pseudo-header, so it is checked separately. */
int vw_icmp6_parse(const uint8_t *buf, size_t len, struct vw_icmp *out);

/* Checksum check of a TCP/UDP segment (len bytes at l4) over IPv4. For UDP a
 * zero checksum means "none" and passes. */
bool vw_l4_csum_ok4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto, const uint8_t *l4,
                    size_t len);

/* ---------------------------------------------------------------- */
/* DHCPv4 framing (BOOTP + options)                                  */
/* ---------------------------------------------------------------- */
#define VW_DHCP_FIXED_LEN 236 /* up to (not including) the magic cookie */
#define VW_DHCP_MAGIC 0x63825363u
struct vw_dhcp {
    uint8_t op, htype, hlen, hops;
    uint32_t xid;
    uint16_t secs, flags;
    const uint8_t *ciaddr, *yiaddr, *siaddr, *giaddr; /* 4 bytes each */
    const uint8_t *chaddr;                            /* 16 bytes */
    const uint8_t *options;                           /* after the magic cookie */
    size_t options_len;
};
/* Checks the fixed part and the magic cookie. Options are walked lazily. */
int vw_dhcp_parse(const uint8_t *buf, size_t len, struct vw_dhcp *out);
/* Option iterator: pads skipped, END stops. Returns 1 with *code, *len, *data
 * set, 0 at the end, VW_EOPT if an option runs past the buffer. */
struct vw_dhcp_iter {
    const uint8_t *p;
    size_t left;
};
void vw_dhcp_iter_init(struct vw_dhcp_iter *it, const struct vw_dhcp *d);
int vw_dhcp_iter_next(struct vw_dhcp_iter *it, uint8_t *code, uint8_t *len, const uint8_t **data);
/* Find one option; returns its length (0..255) and sets *data, or a negative
 * vw_status / -1 if absent. */
int vw_dhcp_find(const struct vw_dhcp *d, uint8_t code, const uint8_t **data);

/* ---------------------------------------------------------------- */
/* Whole-frame builders (Ethernet + IPv4 + L4), for the core's output. */
/* ---------------------------------------------------------------- */

/* Addresses of an outgoing IPv4 frame. */
struct vw_l2l3 {
    const uint8_t *eth_dst, *eth_src; /* 6 bytes each */
    const uint8_t *ip_src, *ip_dst;   /* 4 bytes each */
    uint16_t ip_id;
    uint8_t ttl;
};

/* Offsets at which the payload of an IPv4 TCP/UDP/ICMP frame starts, so the
 * caller can place (peek) the payload there first and build headers after. */
static inline size_t vw_tcp4_payload_off(const struct vw_tcp_out *t)
{
    return VW_ETH_HLEN + VW_IPV4_HLEN + vw_tcp_hdr_len(t);
}
#define VW_UDP4_PAYLOAD_OFF (VW_ETH_HLEN + VW_IPV4_HLEN + VW_UDP_HLEN)
#define VW_ICMP4_PAYLOAD_OFF (VW_ETH_HLEN + VW_IPV4_HLEN + VW_ICMP_HLEN)

/* Write Ethernet, IPv4 and TCP headers in front of payload_len bytes that
 * are already at frame + vw_tcp4_payload_off(t), and fill both checksums.
 * Returns the total frame length, or 0 if cap is too small. */
size_t vw_tcp4_frame(uint8_t *frame, size_t cap, const struct vw_l2l3 *a,
                     const struct vw_tcp_out *t, size_t payload_len);
/* Same for UDP: payload already at frame + VW_UDP4_PAYLOAD_OFF. */
size_t vw_udp4_frame(uint8_t *frame, size_t cap, const struct vw_l2l3 *a, uint16_t sport,
                     uint16_t dport, size_t payload_len);
/* Same for ICMPv4: 4 bytes after type/code/checksum (`rest`, e.g. id+seq)
 * and the payload already at frame + VW_ICMP4_PAYLOAD_OFF. */
size_t vw_icmp4_frame(uint8_t *frame, size_t cap, const struct vw_l2l3 *a, uint8_t type,
                      uint8_t code, const uint8_t rest[4], size_t payload_len);
/* A whole ARP frame (Ethernet + ARP). Returns 42 or 0. */
size_t vw_arp_frame(uint8_t *frame, size_t cap, const uint8_t eth_dst[6], uint16_t op,
                    const uint8_t sha[6], const uint8_t spa[4], const uint8_t tha[6],
                    const uint8_t tpa[4]);

/* ================================================================ */
/* Additions (additive to the contract above).                       */
/* ================================================================ */

/* Parse outcome codes, as text ("ok", "truncated", ...). Never NULL. */
const char *vw_status_name(int status);

/* TCP option kinds and lengths. */
#define VW_TCPOPT_EOL 0
#define VW_TCPOPT_NOP 1
#define VW_TCPOPT_MSS 2
#define VW_TCPOPT_WSCALE 3
#define VW_TCPOPT_SACK_PERM 4
#define VW_TCPOPT_SACK 5
#define VW_TCPOPT_TS 8
#define VW_TCP_MAX_HLEN 60

/* Writes the TCP header of t with its options (layout below) and a ZERO
 * checksum field; the checksum needs the pseudo-header, so the caller fills
 * it (vw_tcp4_frame/vw_tcp6_frame do). Option layout, always 4-aligned:
 *   MSS(4) | SACK-perm+TS(12) or NOP,NOP,TS(12) or NOP,NOP,SACK-perm(4) |
 *   NOP,WS(4).
 * Returns vw_tcp_hdr_len(t), or 0 if cap is too small. */
size_t vw_tcp_build(uint8_t *buf, size_t cap, const struct vw_tcp_out *t);

/* Writes an 8-byte UDP header with a zero checksum field. Returns 8 or 0 (cap
 * too small, or 8 + payload_len > 65535). */
size_t vw_udp_build(uint8_t *buf, size_t cap, uint16_t sport, uint16_t dport, size_t payload_len);

/* DNS: skip the name at `off` of a message of `len` bytes (labels, ending in
 * a zero label or a compression pointer, at most 128 labels). Returns the
 * offset after it, or 0 if it runs past the end or uses a reserved label
 * type. Shared by the core's resolver path and the simulator's stub. */
size_t vw_dns_skip_name(const uint8_t *msg, size_t len, size_t off);

/* Checksum check of a TCP/UDP/ICMPv6 message (len bytes at l4) over IPv6.
 * UDP over IPv6 must carry a checksum: zero fails (RFC 8200 8.1). */
bool vw_l4_csum_ok6(const uint8_t src[16], const uint8_t dst[16], uint8_t next, const uint8_t *l4,
                    size_t len);

/* ---------------------------------------------------------------- */
/* IPv6 building and ICMPv6                                          */
/* ---------------------------------------------------------------- */
#define VW_IPV6_MAX_EXT 8 /* extension headers walked before VW_EUNSUP */
#define VW_IPPROTO_HOPOPTS 0
#define VW_IPPROTO_ROUTING 43
#define VW_IPPROTO_FRAGMENT 44
#define VW_IPPROTO_AH 51
#define VW_IPPROTO_NONE 59
#define VW_IPPROTO_DSTOPTS 60

/* Writes a 40-byte IPv6 header (traffic class and flow label 0). Returns 40
 * or 0 (cap too small or payload_len > 65535). */
size_t vw_ipv6_build(uint8_t *buf, size_t cap, const uint8_t src[16], const uint8_t dst[16],
                     uint8_t next, uint8_t hop_limit, size_t payload_len);

#define VW_ICMP6_DEST_UNREACH 1
#define VW_ICMP6_PACKET_TOO_BIG 2
#define VW_ICMP6_TIME_EXCEEDED 3
#define VW_ICMP6_PARAM_PROBLEM 4
#define VW_ICMP6_ECHO_REQUEST 128
#define VW_ICMP6_ECHO_REPLY 129
#define VW_ICMP6_ROUTER_SOLICIT 133
#define VW_ICMP6_ROUTER_ADVERT 134
#define VW_ICMP6_NEIGHBOR_SOLICIT 135
#define VW_ICMP6_NEIGHBOR_ADVERT 136

/* Addresses of an outgoing IPv6 frame. */
struct vw_l2l3v6 {
    const uint8_t *eth_dst, *eth_src; /* 6 bytes each */
    const uint8_t *ip_src, *ip_dst;   /* 16 bytes each */
    uint8_t hop_limit;
};
static inline size_t vw_tcp6_payload_off(const struct vw_tcp_out *t)
{
    return VW_ETH_HLEN + VW_IPV6_HLEN + vw_tcp_hdr_len(t);
}
#define VW_UDP6_PAYLOAD_OFF (VW_ETH_HLEN + VW_IPV6_HLEN + VW_UDP_HLEN)
#define VW_ICMP6_PAYLOAD_OFF (VW_ETH_HLEN + VW_IPV6_HLEN + VW_ICMP_HLEN)
/* IPv6 counterparts of the IPv4 frame builders: the payload is already at
 * the offset above; headers and checksums (with the IPv6 pseudo-header) are
 * written in front of it. Return the frame length or 0. A UDP checksum that
 * computes to 0 is sent as 0xFFFF. */
size_t vw_tcp6_frame(uint8_t *frame, size_t cap, const struct vw_l2l3v6 *a,
                     const struct vw_tcp_out *t, size_t payload_len);
size_t vw_udp6_frame(uint8_t *frame, size_t cap, const struct vw_l2l3v6 *a, uint16_t sport,
                     uint16_t dport, size_t payload_len);
size_t vw_icmp6_frame(uint8_t *frame, size_t cap, const struct vw_l2l3v6 *a, uint8_t type,
                      uint8_t code, const uint8_t rest[4], size_t payload_len);

/* ICMPv6 / NDP option iterator (RFC 4861 4.6: type, length in units of 8
 * bytes including the two header bytes). Walks the bytes after an NDP
 * message's fixed part. Returns 1 with *type, *data (the whole option, type
 * byte included) and *len (in bytes) set; 0 at the end; VW_EOPT for a length
 * of 0 or an option running past the end (RFC 4861 says drop the packet). */
struct vw_ndp_iter {
    const uint8_t *p;
    size_t left;
};
void vw_ndp_iter_init(struct vw_ndp_iter *it, const uint8_t *opts, size_t len);
int vw_ndp_iter_next(struct vw_ndp_iter *it, uint8_t *type, size_t *len, const uint8_t **data);

/* ---------------------------------------------------------------- */
/* DHCPv4 building                                                   */
/* ---------------------------------------------------------------- */
#define VW_DHCP_OPTS_OFF 240 /* fixed part + magic cookie */
#define VW_DHCP_ABSENT (-1)  /* vw_dhcp_find: option not present */
#define VW_DHCP_OPT_PAD 0
#define VW_DHCP_OPT_SUBNET_MASK 1
#define VW_DHCP_OPT_ROUTER 3
#define VW_DHCP_OPT_DNS 6
#define VW_DHCP_OPT_HOSTNAME 12
#define VW_DHCP_OPT_DOMAIN 15
#define VW_DHCP_OPT_MTU 26
#define VW_DHCP_OPT_BROADCAST 28
#define VW_DHCP_OPT_REQ_IP 50
#define VW_DHCP_OPT_LEASE 51
#define VW_DHCP_OPT_OVERLOAD 52
#define VW_DHCP_OPT_MSG_TYPE 53
#define VW_DHCP_OPT_SERVER_ID 54
#define VW_DHCP_OPT_PARAM_LIST 55
#define VW_DHCP_OPT_RENEWAL 58
#define VW_DHCP_OPT_REBINDING 59
#define VW_DHCP_OPT_CLIENT_ID 61
#define VW_DHCP_OPT_DOMAIN_SEARCH 119
#define VW_DHCP_OPT_CLASSLESS_ROUTE 121
#define VW_DHCP_OPT_END 255
#define VW_DHCP_DISCOVER 1
#define VW_DHCP_OFFER 2
#define VW_DHCP_REQUEST 3
#define VW_DHCP_DECLINE 4
#define VW_DHCP_ACK 5
#define VW_DHCP_NAK 6
#define VW_DHCP_RELEASE 7
#define VW_DHCP_INFORM 8
#define VW_BOOTREQUEST 1
#define VW_BOOTREPLY 2

/* The fixed part of an outgoing DHCP message. NULL address pointers mean
 * 0.0.0.0; chaddr is the 6-byte client MAC (the rest of the 16 are zeroed). */
struct vw_dhcp_out {
    uint8_t op;
    uint32_t xid;
    uint16_t secs, flags;
    const uint8_t *ciaddr, *yiaddr, *siaddr, *giaddr; /* 4 bytes each or NULL */
    const uint8_t *chaddr;                            /* 6 bytes or NULL */
};
/* Writes the 236-byte fixed part (htype 1, hlen 6, hops 0, sname and file
 * zeroed) and the magic cookie. Returns VW_DHCP_OPTS_OFF or 0. Options are
 * then appended at that offset with vw_dhcp_opt_put. */
size_t vw_dhcp_build(uint8_t *buf, size_t cap, const struct vw_dhcp_out *d);
/* Appends option code/len/data at buf + off. Returns the new offset, or 0 if
 * it does not fit in cap, or if code is PAD or END (use vw_dhcp_opt_end).
 * data may be NULL only when len is 0. */
size_t vw_dhcp_opt_put(uint8_t *buf, size_t cap, size_t off, uint8_t code, uint8_t len,
                       const void *data);
/* Convenience forms: one byte, a big-endian 32-bit value, 4-byte address. */
size_t vw_dhcp_opt_put8(uint8_t *buf, size_t cap, size_t off, uint8_t code, uint8_t v);
size_t vw_dhcp_opt_put32(uint8_t *buf, size_t cap, size_t off, uint8_t code, uint32_t v);
/* Appends END. Returns the new offset or 0. */
size_t vw_dhcp_opt_end(uint8_t *buf, size_t cap, size_t off);

#endif /* VNAT_WIRE_H */
