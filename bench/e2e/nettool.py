#!/usr/bin/env python3
"""nettool.py — the small network programs of the end-to-end benchmark
(bench/e2e/run): a TCP responder and its CRR and RR clients, a UDP echo
responder and its round-trip client, and the slirp4netns API call that adds a
port forward. Clients print one JSON object on stdout (latency percentiles in
microseconds, counts, errors). Every socket has a timeout and every server a
deadline, so a NAT that stops forwarding costs a bounded wait, never a hang.
Python's own cost (a few µs per send/recv) is in every figure, the loopback
ceiling included, so compare paths with each other, not with C tools.

  nettool.py serve-tcp ADDR PORT SECONDS     answer 1 byte per byte received
  nettool.py serve-udp ADDR PORT SECONDS     echo every datagram
  nettool.py crr ADDR PORT N                 N x (connect, 1 B, 1 B back, close)
  nettool.py rr ADDR PORT N                  N x 1-byte round trip, one connection
  nettool.py udp-rr ADDR PORT N              N x 16-byte datagram round trip
  nettool.py slirp-hostfwd SOCK HOSTADDR HOSTPORT GUESTPORT
"""
import json
import selectors
import socket
import sys
import time

OP_TIMEOUT = 2.0  # seconds for one connect or one round trip


def pct(samples, p):
    if not samples:
        return None
    s = sorted(samples)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


def report(kind, lat_us, n, errors, first_error, wall):
    print(json.dumps({
        "kind": kind, "n": n, "ok": len(lat_us), "errors": errors,
        "first_error": first_error, "wall_s": wall,
        "p50_us": pct(lat_us, 50), "p99_us": pct(lat_us, 99),
        "mean_us": (sum(lat_us) / len(lat_us)) if lat_us else None,
    }))


def serve_tcp(addr, port, seconds):
    deadline = time.monotonic() + seconds
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(128)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ, None)
    while time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            if key.data is None:
                try:
                    c, _ = ls.accept()
                except BlockingIOError:
                    continue
                c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, "c")
                continue
            c = key.fileobj
            try:
                data = c.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(c)
                c.close()
                continue
            try:
                c.send(b"r" * len(data))
            except OSError:
                sel.unregister(c)
                c.close()


def serve_udp(addr, port, seconds):
    deadline = time.monotonic() + seconds
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    s.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            data, peer = s.recvfrom(65535)
        except socket.timeout:
            continue
        s.sendto(data, peer)


def crr(addr, port, n):
    lat, errors, first = [], 0, None
    t_start = time.monotonic()
    for _ in range(n):
        t0 = time.perf_counter_ns()
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(OP_TIMEOUT)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.connect((addr, port))
            s.send(b"q")
            if s.recv(1) != b"r":
                raise OSError("short or wrong reply")
            s.close()
        except OSError as e:
            errors += 1
            first = first or repr(e)
            s.close()
            if errors >= 5:  # the path is down: stop, within ~10 s
                break
            continue
        lat.append((time.perf_counter_ns() - t0) / 1000.0)
    report("tcp_crr", lat, n, errors, first, time.monotonic() - t_start)


def rr(addr, port, n):
    lat, errors, first = [], 0, None
    t_start = time.monotonic()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(OP_TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        s.connect((addr, port))
        for _ in range(n):
            t0 = time.perf_counter_ns()
            s.send(b"q")
            if s.recv(1) != b"r":
                raise OSError("short or wrong reply")
            lat.append((time.perf_counter_ns() - t0) / 1000.0)
    except OSError as e:
        errors, first = 1, repr(e)
    s.close()
    report("tcp_rr", lat, n, errors, first, time.monotonic() - t_start)


def udp_rr(addr, port, n):
    lat, lost, first = [], 0, None
    t_start = time.monotonic()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    s.connect((addr, port))
    for i in range(n):
        msg = i.to_bytes(8, "big") + b"vnat-e2e"
        t0 = time.perf_counter_ns()
        try:
            s.send(msg)
            while True:  # skip late replies to earlier, timed-out probes
                data = s.recv(64)
                if data == msg:
                    break
        except OSError as e:
            lost += 1
            first = first or repr(e)
            if lost >= 20:  # within ~10 s
                break
            continue
        lat.append((time.perf_counter_ns() - t0) / 1000.0)
    report("udp_rr", lat, n, lost, first, time.monotonic() - t_start)


def slirp_hostfwd(sock_path, host_addr, host_port, guest_port):
    req = {"execute": "add_hostfwd", "arguments": {
        "proto": "tcp", "host_addr": host_addr, "host_port": int(host_port),
        "guest_port": int(guest_port)}}
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sock_path)
    s.sendall(json.dumps(req).encode())
    s.shutdown(socket.SHUT_WR)
    reply = s.recv(4096).decode()
    s.close()
    if "error" in reply:
        print(reply, file=sys.stderr)
        sys.exit(1)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, a = argv[1], argv[2:]
    if cmd == "serve-tcp":
        serve_tcp(a[0], int(a[1]), float(a[2]))
    elif cmd == "serve-udp":
        serve_udp(a[0], int(a[1]), float(a[2]))
    elif cmd == "crr":
        crr(a[0], int(a[1]), int(a[2]))
    elif cmd == "rr":
        rr(a[0], int(a[1]), int(a[2]))
    elif cmd == "udp-rr":
        udp_rr(a[0], int(a[1]), int(a[2]))
    elif cmd == "slirp-hostfwd":
        slirp_hostfwd(a[0], a[1], a[2], a[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
