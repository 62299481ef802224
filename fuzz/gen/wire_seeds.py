#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_wire (fuzz/corpus/wire/): one valid frame
per protocol path the wire layer knows, each built here from the RFC layouts
(nothing downloaded), plus a few raw L3/L4 messages. Run from anywhere:
    python3 fuzz/gen/wire_seeds.py [OUTDIR]
The output is deterministic, so rerunning it changes no file."""
import os
import struct
import sys

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

GW_MAC = bytes.fromhex("52550a000202")
GUEST_MAC = bytes.fromhex("525400123456")
GUEST = bytes([10, 0, 2, 15])
GW = bytes([10, 0, 2, 2])
G6 = bytes.fromhex("fd000000000000000000000000000015")
GW6 = bytes.fromhex("fe800000000000000000000000000002")

def eth(ethertype, payload, dst=GW_MAC, src=GUEST_MAC):
    return dst + src + struct.pack("!H", ethertype) + payload

def ipv4(proto, payload, src=GUEST, dst=GW, opts=b"", frag=0x4000):
    ihl = 5 + len(opts) // 4
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(payload), 0x1234, frag, 64,
                    proto, 0, src, dst) + opts
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload

def ipv6(nh, payload, src=G6, dst=GW6):
    return struct.pack("!IHBB", 0x60000000, len(payload), nh, 64) + src + dst + payload

def pseudo4(src, dst, proto, n):
    return src + dst + struct.pack("!BBH", 0, proto, n)

def pseudo6(src, dst, nh, n):
    return src + dst + struct.pack("!IxxxB", n, nh)

def tcp(sport, dport, seq, ack, flags, opts=b"", data=b"", ph=None):
    off = (20 + len(opts)) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, 64240, 0, 0) + opts
    seg = h + data
    if ph is not None:
        c = csum(ph(len(seg)) + seg)
        seg = seg[:16] + struct.pack("!H", c) + seg[18:]
    return seg

def udp(sport, dport, data, ph=None):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    if ph is not None:
        c = csum(ph(len(seg)) + seg) or 0xFFFF
        seg = seg[:6] + struct.pack("!H", c) + seg[8:]
    return seg

def icmp(t, code, rest, data, ph=b""):
    m = struct.pack("!BBH", t, code, 0) + rest + data
    c = csum(ph + m)
    return m[:2] + struct.pack("!H", c) + m[4:]

SYN_OPTS = bytes([2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 100, 0, 0, 0, 0, 1, 3, 3, 7])
SACK_OPTS = bytes([1, 1, 8, 10, 0, 0, 1, 0, 0, 0, 0, 9, 1, 1, 5, 18]) + struct.pack(
    "!IIII", 1000, 2000, 3000, 4000)

def dhcp_discover():
    fixed = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, 0x3903F326, 0, 0x8000,
                        bytes(4), bytes(4), bytes(4), bytes(4), GUEST_MAC + bytes(10),
                        bytes(64), bytes(128))
    opts = bytes([53, 1, 1, 61, 7, 1]) + GUEST_MAC + bytes([55, 4, 1, 3, 6, 15, 12, 4]) + \
        b"vm01" + bytes([0, 0, 255])
    return fixed + struct.pack("!I", 0x63825363) + opts

def seeds():
    p4 = lambda n: pseudo4(GUEST, GW, 6, n)
    u4 = lambda n: pseudo4(GUEST, GW, 17, n)
    p6 = lambda n: pseudo6(G6, GW6, 6, n)
    u6 = lambda n: pseudo6(G6, GW6, 17, n)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + GUEST_MAC + GUEST + bytes(6) + GW
    yield "eth_arp_request", eth(0x0806, arp, dst=b"\xff" * 6)
    yield "eth_ipv4_tcp_syn", eth(0x0800, ipv4(6, tcp(40000, 80, 1, 0, 0x02, SYN_OPTS, ph=p4)))
    yield "eth_ipv4_tcp_data_sack", eth(0x0800, ipv4(6, tcp(40000, 80, 2, 7, 0x18, SACK_OPTS,
                                                           b"GET / HTTP/1.0\r\n\r\n", ph=p4)))
    yield "eth_ipv4_tcp_unknown_opts", eth(0x0800, ipv4(6, tcp(1, 2, 3, 4, 0x10,
                                                              bytes([254, 6, 0xF9, 0x89, 0, 0, 30, 4, 0, 0, 1, 0]),
                                                              ph=p4)))
    dns = bytes.fromhex("123401000001000000000000076578616d706c6503636f6d0000010001")
    yield "eth_ipv4_udp_dns", eth(0x0800, ipv4(17, udp(5353, 53, dns, ph=u4)))
    yield "eth_ipv4_udp_dhcp", eth(0x0800, ipv4(17, udp(68, 67, dhcp_discover(), ph=lambda n: pseudo4(bytes(4), b"\xff" * 4, 17, n)),
                                                src=bytes(4), dst=b"\xff" * 4), dst=b"\xff" * 6)
    yield "eth_ipv4_icmp_echo", eth(0x0800, ipv4(1, icmp(8, 0, struct.pack("!HH", 0x4242, 1), b"ping" * 8)))
    yield "eth_ipv4_options_rr", eth(0x0800, ipv4(17, udp(1, 2, b"x"), opts=bytes([7, 7, 4, 0, 0, 0, 0, 0])))
    yield "eth_ipv4_fragment", eth(0x0800, ipv4(17, udp(1, 2, b"frag"), frag=0x2000))
    yield "eth_vlan_ipv4", GW_MAC + GUEST_MAC + struct.pack("!HHH", 0x8100, 0x2064, 0x0800) + \
        ipv4(17, udp(1, 2, b"tagged"))
    yield "eth_qinq_ipv6", GW_MAC + GUEST_MAC + struct.pack("!HHHHH", 0x88A8, 5, 0x8100, 7, 0x86DD) + \
        ipv6(59, b"")
    yield "eth_ipv6_tcp_syn", eth(0x86DD, ipv6(6, tcp(40000, 443, 9, 0, 0x02, SYN_OPTS, ph=p6)))
    yield "eth_ipv6_udp", eth(0x86DD, ipv6(17, udp(546, 547, b"\x01\x00\x00\x01", ph=u6)))
    ext = bytes([43, 0, 1, 4, 0, 0, 0, 0]) + bytes([60, 2]) + bytes(22) + \
        bytes([44, 1, 1, 12]) + bytes(12) + bytes([17, 0, 0, 0, 0, 0, 0, 1])
    yield "eth_ipv6_ext_chain_udp", eth(0x86DD, ipv6(0, ext + udp(1, 2, b"deep")))
    ns = struct.pack("!I", 0) + GW6 + bytes([1, 1]) + GUEST_MAC
    yield "eth_ipv6_icmp6_ns", eth(0x86DD, ipv6(58, icmp(135, 0, b"", ns, ph=pseudo6(G6, GW6, 58, 8 + len(ns) - 4))))
    yield "eth_ipv6_icmp6_echo", eth(0x86DD, ipv6(58, icmp(128, 0, struct.pack("!HH", 1, 2), b"v6ping",
                                                            ph=pseudo6(G6, GW6, 58, 14))))
    yield "eth_8023_llc", GW_MAC + GUEST_MAC + struct.pack("!H", 38) + bytes([0x42, 0x42, 3]) + bytes(35)
    yield "raw_tcp_syn", tcp(40000, 80, 1, 0, 0x02, SYN_OPTS)
    yield "raw_dhcp_discover", dhcp_discover()
    yield "raw_ndp_opts", bytes([1, 1]) + GUEST_MAC + bytes([3, 4]) + bytes(30)

def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "corpus", "wire")
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)

if __name__ == "__main__":
    main()
