#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_api (fuzz/corpus/api/): the good and bad
requests of pins/host_api_pins.c, one request per file (no newline, so the
target parses the file whole), plus a few client byte streams for the line
framer (several lines, CRLF, an empty line, an oversize line followed by a
good one, an unterminated tail). Run from anywhere:
    python3 fuzz/gen/api_seeds.py [OUTDIR]
The output is deterministic, so rerunning it changes no file."""
import os
import sys

LIMIT = 1024  # HOST_API_MAX_LINE

GOOD = {
    "add-all-fields": b'{"cmd":"add","proto":"udp","host_addr":"10.1.2.3","host_port":5353,"guest_port":53}',
    "add-any-order-ws": b' { "guest_port" : 80 ,\t"host_port":65535, "proto":"tcp", "cmd":"add" } \r',
    "add-ipv6-escapes": b'{"cmd":"a\\u0064d","proto":"t\\u0063p","host_addr":"::1","host_port":1,"guest_port":1}',
    "add-ipv4-mapped": b'{"cmd":"add","proto":"tcp","host_addr":"::ffff:192.0.2.7","host_port":8080,"guest_port":80}',
    "remove": b'{"cmd":"remove","proto":"tcp","host_port":8080}',
    "remove-guest-port": b'{"cmd":"remove","proto":"udp","host_port":9,"guest_port":7}',
    "list": b'{"cmd":"list"}',
    "stats": b'{"cmd":"stats"}',
}

BAD = {
    # syntax
    "syn-empty": b"",
    "syn-garbage": b"garbage",
    "syn-array": b'["cmd","list"]',
    "syn-single-quotes": b"{'cmd':'list'}",
    "syn-bare-key": b'{cmd:"list"}',
    "syn-no-colon": b'{"cmd" "list"}',
    "syn-trailing-comma": b'{"cmd":"list",}',
    "syn-two-objects": b'{"cmd":"list"} {"cmd":"list"}',
    "syn-bad-escape": b'{"cmd":"li\\xst"}',
    "syn-short-unicode": b'{"cmd":"li\\u00"}',
    "syn-raw-tab": b'{"cmd":"li\tst"}',
    "syn-utf8": b'{"cmd":"l\xc3\xa9st"}',
    "syn-leading-zero": b'{"cmd":"add","proto":"tcp","host_port":080,"guest_port":1}',
    "syn-frac-dot": b'{"cmd":"add","proto":"tcp","host_port":1.,"guest_port":1}',
    "syn-exp-empty": b'{"cmd":"add","proto":"tcp","host_port":1e,"guest_port":1}',
    "syn-plus": b'{"cmd":"add","proto":"tcp","host_port":+1,"guest_port":1}',
    "syn-no-value": b'{"cmd":}',
    "syn-nul": b'{"cmd":"list"}\0junk',
    # command
    "cmd-empty-object": b"{}",
    "cmd-missing": b'{"proto":"tcp","host_port":1,"guest_port":1}',
    "cmd-unknown": b'{"cmd":"delete"}',
    "cmd-non-ascii-escape": b'{"cmd":"add\\u00e9"}',
    # field
    "fld-unknown": b'{"cmd":"list","verbose":1}',
    "fld-twice": b'{"cmd":"add","proto":"tcp","proto":"udp","host_port":1,"guest_port":1}',
    "fld-null": b'{"cmd":null}',
    "fld-port-string": b'{"cmd":"add","proto":"tcp","host_port":"80","guest_port":1}',
    "fld-port-true": b'{"cmd":"add","proto":"tcp","host_port":true,"guest_port":1}',
    "fld-port-frac": b'{"cmd":"add","proto":"tcp","host_port":1.5,"guest_port":1}',
    "fld-port-exp": b'{"cmd":"add","proto":"tcp","host_port":1e2,"guest_port":1}',
    "fld-port-zero": b'{"cmd":"add","proto":"tcp","host_port":0,"guest_port":1}',
    "fld-port-range": b'{"cmd":"add","proto":"tcp","host_port":65536,"guest_port":1}',
    "fld-port-negative": b'{"cmd":"add","proto":"tcp","host_port":-1,"guest_port":1}',
    "fld-port-huge": b'{"cmd":"add","proto":"tcp","host_port":1,"guest_port":18446744073709551617}',
    "fld-proto-icmp": b'{"cmd":"add","proto":"icmp","host_port":1,"guest_port":1}',
    "fld-addr-name": b'{"cmd":"add","proto":"tcp","host_addr":"localhost","host_port":1,"guest_port":1}',
    "fld-addr-nul-escape": b'{"cmd":"add","proto":"tcp","host_addr":"1.2.3.4\\u0000","host_port":1,"guest_port":1}',
    "fld-addr-long": b'{"cmd":"add","proto":"tcp","host_addr":"' + b"0" * 64 + b'","host_port":1,"guest_port":1}',
    "fld-add-no-guest-port": b'{"cmd":"add","proto":"tcp","host_port":1}',
    "fld-remove-no-port": b'{"cmd":"remove","proto":"tcp"}',
    "fld-list-extra": b'{"cmd":"list","proto":"tcp"}',
}

STREAMS = {
    "stream-lines": b'{"cmd":"list"}\n\n{"cmd":"stats"}\r\nhalf',
    "stream-add-remove": GOOD["add-all-fields"] + b"\n" + GOOD["remove-guest-port"] + b"\n",
    # a line of exactly the limit, one over it (reported once), then a good line
    "stream-oversize": b"x" * LIMIT + b"\n" + b"y" * (LIMIT + 1) + b"z" * 40 + b'\n{"cmd":"list"}\n',
    "too-long-request": b'{"cmd":"list"}' + b" " * (LIMIT + 1 - 14),
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "corpus", "api")
    os.makedirs(out, exist_ok=True)
    for group in (GOOD, BAD, STREAMS):
        for name, data in group.items():
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
