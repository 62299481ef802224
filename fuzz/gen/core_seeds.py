#!/usr/bin/env python3
"""Writes the scripted seed corpora for fuzz_events (fuzz/corpus/events/) and
fuzz_frame (fuzz/corpus/frame/): short, named stories in each target's input
encoding (documented at the top of fuzz/targets/fuzz_events.c and
fuzz_frame.c) that reach every TCP state, the timers, the services and the
host faults. Nothing is downloaded; seeds made from simulator traces come
from fuzz/gen/seedgen.c (see docs/fuzzing.md). Run from anywhere:
    python3 fuzz/gen/core_seeds.py [EVENTS_DIR FRAME_DIR]
The output is deterministic, so rerunning it changes no file."""
import os
import random
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# ---- fuzz_events encoding ---------------------------------------------------
SYN, ACK, PSH_ACK, FIN_ACK, RST, RST_ACK, SYN_ACK = 0, 2, 5, 6, 8, 9, 10
OPT_MSS, OPT_WS, OPT_SACK, OPT_TS = 1, 2, 4, 8


def tcp(p=0, d=1, flags=ACK, seqmode=0, ackmode=0, opts=0, win=255, length=0, isn=None,
        synopt=0):
    who = p | (d << 3)
    mode = seqmode | (ackmode << 2) | (opts << 4)
    out = bytes([0, who, flags, mode, win, length])
    if flags == SYN:
        if seqmode != 1:
            out += struct.pack("<I", isn if isn is not None else 1000 + p)
        out += bytes([synopt])
    else:
        if seqmode in (1, 2):
            out += struct.pack("<H", 100)
        elif seqmode == 3:
            out += struct.pack("<I", 0xDEADBEEF)
    if ackmode in (1, 2):
        out += bytes([10])
    elif ackmode == 3:
        out += struct.pack("<I", 12345)
    return out


def writable(idx=0, err=0):
    return bytes([6, idx, err])


def readable(idx=0, amount=4):
    return bytes([7, idx, amount])


def listener(idx=0, n=0):
    return bytes([8, idx, n])


def link():
    return bytes([9])


def tick(mode=0, amount=10):
    return bytes([10, mode, amount])


def forward(b, rest=b""):
    return bytes([12, b]) + rest


def udp(sel, rest=b""):
    return bytes([13, sel]) + rest


def icmp_arp(sel, rest=b""):
    return bytes([14, sel]) + rest


def observe(b=1):
    return bytes([15, b])


def end(tail=b""):
    return bytes([0xFF]) + bytes(256) + tail


def established(p=0, d=1, opts=OPT_MSS | OPT_WS, idx=0, win=255):
    return tcp(p, d, SYN, opts=opts) + writable(idx) + tcp(p, d, ACK, win=win)


def events_seeds():
    s = {}
    s["est-data-close"] = bytes([0x01]) + established() + tcp(length=100, flags=PSH_ACK) + \
        readable(0, 4) + tcp() + tcp(flags=FIN_ACK) + readable(0, 255) + tcp() + tick(2, 5) + end()
    s["connect-refused"] = bytes([0x01]) + tcp(flags=SYN) + writable(0, 200) + end()
    s["odd-mss-wscale"] = bytes([0x05]) + tcp(flags=SYN, opts=OPT_MSS | OPT_WS, synopt=0x42) + \
        writable(0) + tcp() + readable(0, 20) + tcp(1, 1, SYN, opts=OPT_MSS, synopt=0x03) + \
        writable(1) + tcp(1, 1) + readable(1, 20) + end()
    s["connect-timeout"] = bytes([0x01]) + tcp(flags=SYN) + tcp(flags=SYN, seqmode=1) + \
        tick(2, 40) + end()
    s["syn-rcvd-rto"] = bytes([0x01]) + tcp(flags=SYN) + writable(0) + tick(2, 15) + \
        tick(2, 30) + tcp(flags=SYN, seqmode=1) + tcp() + end()
    s["zero-window-persist"] = bytes([0x01]) + established(win=0) + readable(0, 10) + \
        tick(2, 20) + tick(2, 40) + tcp(win=255) + readable(0, 5) + tcp() + end()
    s["rto-go-back"] = bytes([0x01]) + established() + readable(0, 40) + tick(2, 3) + \
        tick(2, 6) + tick(2, 12) + tcp(ackmode=1) + tcp(ackmode=1) + tcp(ackmode=1) + \
        tcp() + end()
    s["guest-rst"] = bytes([0x01]) + established() + readable(0, 8) + tcp(flags=RST) + end()
    s["guest-rst-window"] = bytes([0x01]) + established() + tcp(flags=RST, seqmode=1) + \
        tcp(flags=SYN_ACK) + end()
    s["host-fin-first"] = bytes([0x01]) + established() + readable(0, 255) + tcp() + \
        tcp(flags=FIN_ACK, length=20) + end()
    s["both-fin"] = bytes([0x01]) + established() + tcp(flags=FIN_ACK) + readable(0, 255) + \
        tcp(flags=FIN_ACK, seqmode=2) + tick(3, 2) + end()
    s["out-of-order"] = bytes([0x01]) + established() + tcp(seqmode=1, length=50) + \
        tcp(seqmode=2, length=150) + tcp(length=200) + tcp(seqmode=3, length=1) + end()
    s["ack-unsent"] = bytes([0x01]) + established() + tcp(ackmode=2) + tcp(ackmode=3) + end()
    s["two-flows-link"] = bytes([0x01]) + established(0, 1) + established(1, 2, idx=1) + \
        readable(0, 30) + readable(1, 30) + link() + observe(0) + observe(1) + end()
    many = bytes([0x00])
    for i in range(12):
        many += tcp(i & 7, (i >> 3) + 1, SYN, isn=5000 + i)
    s["flow-limit"] = many + tick(2, 50) + end()
    rate = bytes([0x10])
    for i in range(8):
        rate += tcp(i, 1, SYN, isn=7000 + i)
    s["rate-limit"] = rate + tick(1, 250) + tick(1, 250) + tcp(0, 2, SYN) + end()
    s["policy-deny"] = bytes([0x21]) + tcp(0, 2, SYN) + tcp(1, 0, SYN) + writable(0) + end()
    s["short-timeouts"] = bytes([0x0D]) + established() + tcp(1, 1, SYN) + tick(2, 8) + \
        tcp(flags=FIN_ACK) + readable(0, 255) + tick(2, 30) + tick(3, 1) + end()
    s["time-jumps"] = bytes([0x01]) + established() + tick(6, 5) + tick(7, 200) + \
        tcp(length=10) + tick(5, 3) + tick(4, 0) + end()
    dns = bytes([0x01, 0x12, 0x34, 2, 2, 1])
    s["services"] = bytes([0x41]) + udp(0x00, dns) + udp(0x20, bytes([0x2F]) +
        struct.pack("<I", 0x11223344)) + udp(0x50, bytes([10, 1, 2, 3])) + \
        icmp_arp(0x02, struct.pack("<H", 1) + bytes([56])) + icmp_arp(0x01) + \
        icmp_arp(0x05) + readable(0, 1) + tick(3, 1) + end()
    s["forwards"] = bytes([0x81]) + forward(0x00) + forward(0x01) + listener(0, 1) + \
        forward(0x80) + forward(0x12, struct.pack("<H", 8080)) + end()
    s["raw-frames"] = bytes([0x01]) + established() + bytes([5, 60, 0, 3]) + bytes(60) + \
        bytes([5, 14, 0, 0]) + bytes(14) + end()
    # Host faults: the same story with results drawn from a random tail.
    rnd = random.Random(6)
    for name in ("est-data-close", "rto-go-back", "services", "both-fin"):
        tail = bytes(rnd.choice((0, 0, 0, 0xE0, 0xF7, 0xFF, 3, 7, 200)) for _ in range(96))
        s[name + "-faults"] = s[name][:-256] + tail
    return s

# ---- fuzz_frame encoding -------------------------------------------------------
F_FIN, F_SYN, F_RST, F_PSH, F_ACK = 1, 2, 4, 8, 16


def tcp_frame(flags, seq_delta=0, ack_delta=0, win=65535, payload=b"", opts=b""):
    doff = (20 + len(opts)) // 4
    tcp_h = struct.pack("!HHIIBBHHH", 40000, 443, seq_delta & 0xFFFF, ack_delta & 0xFFFF,
                        doff << 4, flags, win, 0, 0) + opts
    total = 20 + len(tcp_h) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0,
                     bytes([10, 0, 2, 15]), bytes([198, 51, 100, 1]))
    eth = bytes.fromhex("525400123401525400123456") + b"\x08\x00"
    return eth + ip + tcp_h + payload


def frame_seeds():
    s = {}
    kinds = {
        "ack": tcp_frame(F_ACK),
        "data": tcp_frame(F_ACK | F_PSH, payload=bytes(range(100))),
        "fin": tcp_frame(F_ACK | F_FIN),
        "fin-data": tcp_frame(F_ACK | F_FIN, payload=b"bye"),
        "rst": tcp_frame(F_RST),
        "rst-ahead": tcp_frame(F_RST | F_ACK, seq_delta=100),
        "syn": tcp_frame(F_SYN, opts=bytes.fromhex("020405b4")),
        "syn-ack": tcp_frame(F_SYN | F_ACK),
        "zero-window": tcp_frame(F_ACK, win=0),
        "dup-ack": tcp_frame(F_ACK, ack_delta=-1000),
        "old-data": tcp_frame(F_ACK, seq_delta=-50, payload=bytes(100)),
        "future-data": tcp_frame(F_ACK, seq_delta=1000, payload=bytes(10)),
        "ack-ahead": tcp_frame(F_ACK, ack_delta=5),
    }
    for p in range(8):
        for name, f in kinds.items():
            s["flow%d-%s" % (p, name)] = bytes([0x18 | p]) + f
        s["flow%d-ack-aftermath" % p] = bytes([0x58 | p]) + kinds["ack"]
        s["flow%d-data-faults" % p] = bytes([0x38 | p]) + kinds["data"] + bytes([0xF0, 1] * 4)
    s["raw-garbage"] = bytes([0x00]) + bytes(range(64))
    return s


def write(dirname, seeds):
    os.makedirs(dirname, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(dirname, name), "wb") as f:
            f.write(data)


def main():
    ev = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "corpus", "events")
    fr = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "corpus", "frame")
    write(ev, events_seeds())
    write(fr, frame_seeds())


if __name__ == "__main__":
    main()
