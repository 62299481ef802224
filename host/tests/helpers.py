#!/usr/bin/env python3
"""Local peers for vnat's integration tests. Every server binds 127.0.0.1
(design.md, "Traffic in tests") unless given ADDR, which only a test that
made its own network namespace passes; each prints its port on the first
line of stdout, then serves until killed.

  helpers.py http DIR          static files (HTTP/1.0, one thread per client)
  helpers.py silent            a listener whose accept queue is full, so
                               further SYNs are dropped: connects hang
  helpers.py sink OUTFILE      per connection: read to EOF, write
                               "<sha256> <bytes>" to OUTFILE
  helpers.py firehose [LOG]    per connection: send until the peer goes away;
                               append how it ended ("reset", "closed") to LOG
  helpers.py dns NAME ADDR     UDP DNS: answers A queries for NAME with ADDR
  helpers.py http-hold         HTTP whose every answer promises 1 GB, sends
                               one line and then holds the connection until
                               the client closes it (a transfer in progress
                               the client sees end as a reset or an EOF)
  helpers.py holder [ADDR PORT]  TCP (127.0.0.1, any port unless given):
                               per connection send "hi\n", then hold it
                               until the peer closes
  helpers.py grab HOST PORT N [UDPPORT]  client: open up to N connections
                               and hold them; each is "ok" (got "hi"),
                               "reset" or "timeout" (2 s); stop at the
                               first that is not ok, print "ok K FAILURE
                               MS" (MS: how long the failure took); with
                               UDPPORT, then send a datagram there on a new
                               connected socket and print "udp RESULT MS"
                               (answer, timeout, error:ERRNO); then wait for a
                               line on stdin,
                               close them all, open one more and print
                               "after RESULT"
  helpers.py dns-rcode RCODE   UDP DNS: answers every query with RCODE
                               (2 SERVFAIL, 5 REFUSED) and no records
  helpers.py dead-udp-port     print a loopback UDP port nothing listens on
  helpers.py dns-try SERVER NAME QID  client: one A query on a new
                               connected UDP socket (as glibc does); print
                               "answer RCODE MS", "unreachable MS" (an ICMP
                               error came back: ECONNREFUSED) or "timeout MS"
                               (5 s)
  helpers.py udp-echo [ADDR]   UDP: sends every datagram back, reversed
  helpers.py hello ADDR TEXT   TCP on ADDR: sends TEXT to each client, closes
  helpers.py hello-ask HOST PORT   client: print what the server sends;
                               "refused" (exit 3) on a reset, exit 4 on a timeout
  helpers.py send HOST PORT FILE   client: send FILE, half-close, wait for EOF
  helpers.py stall HOST PORT SECS  client: connect, never read, sleep
  helpers.py drink HOST PORT LOG  client: read until the stream ends; touch
                               LOG.started after the first MiB; write how
                               it ended ("reset", "closed", "timeout" after
                               5 s without a byte) to LOG
  helpers.py resolve NAME      client: print NAME's IPv4 address
  helpers.py udp-ask HOST PORT TEXT  client: send TEXT, print the answer
  helpers.py echo-servers ADDR TCPPORT UDPPORT  TCP and UDP echo on fixed
                               ports (TCP: each line back; UDP: reversed)
  helpers.py tcp-ask HOST PORT TEXT  client: send TEXT, print the echo;
                               "refused" (exit 3) on a reset
  helpers.py soak-client SECS HTTPPORT UDPPORT NAME RATE  a connection-per-
                               request guest (HTTP GET, DNS query, UDP echo,
                               each on a new socket) at RATE rounds/s; JSON
                               counts; exit 1 if any request failed
  helpers.py api SOCKET REQ...  --api-socket client: one connection, each
                               REQ sent as a line, each reply printed; a
                               reply that is not one JSON object fails.
                               REQ "@long:N" is N bytes of "x"; "@cut:TEXT"
                               sends TEXT without a newline on a second
                               connection and closes it
  helpers.py api-crowd SOCKET N  hold N connections, then print the reply
                               to one more
  helpers.py api-flood SOCKET  send requests without reading the replies
                               until the socket is full, print the reply to
                               a request on a second connection, then read
                               and count the first one's replies
"""
import json
import hashlib
import http.server
import os
import socket
import socketserver
import struct
import sys
import threading
import time


def announce(port):
    print(port, flush=True)


def serve_http(root):
    os.chdir(root)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    srv = Server(("127.0.0.1", 0), Quiet)
    announce(srv.server_address[1])
    srv.serve_forever()


def serve_silent():
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    port = ls.getsockname()[1]
    fillers = []
    # Fill the accept queue (backlog 0 holds one connection); the kernel
    # then drops SYNs for this port, so later connects hang.
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(c)
        time.sleep(0.1)
    announce(port)
    while True:
        time.sleep(3600)


def tcp_server(handler):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    announce(ls.getsockname()[1])
    while True:
        c, _ = ls.accept()
        threading.Thread(target=handler, args=(c,), daemon=True).start()


def serve_sink(out):
    def handle(c):
        h = hashlib.sha256()
        n = 0
        while True:
            b = c.recv(1 << 20)
            if not b:
                break
            h.update(b)
            n += len(b)
        with open(out + ".tmp", "w") as f:
            f.write("%s %d\n" % (h.hexdigest(), n))
        os.rename(out + ".tmp", out)
        c.close()

    tcp_server(handle)


def serve_firehose(log=None):
    chunk = b"x" * 65536

    def handle(c):
        how = "closed"
        try:
            while True:
                c.sendall(chunk)
        except ConnectionResetError:
            how = "reset"
        except OSError:
            pass
        c.close()
        if log:
            with open(log, "a") as f:
                f.write(how + "\n")

    tcp_server(handle)


def serve_dns(name, addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    announce(s.getsockname()[1])
    want = name.lower().rstrip(".")
    while True:
        q, peer = s.recvfrom(4096)
        if len(q) < 12:
            continue
        qid, flags, qd = struct.unpack("!HHH", q[:6])
        i, labels = 12, []
        while i < len(q) and q[i] != 0:
            ln = q[i]
            labels.append(q[i + 1:i + 1 + ln].decode("ascii", "replace"))
            i += 1 + ln
        qtype, qclass = struct.unpack("!HH", q[i + 1:i + 5])
        question = q[12:i + 5]
        found = ".".join(labels).lower() == want and qtype == 1
        rcode = 0 if found or ".".join(labels).lower() == want else 3
        hdr = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, 1 if found else 0, 0, 0)
        ans = b""
        if found:
            ans = struct.pack("!HHHLH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(addr)
        s.sendto(hdr + question + ans, peer)


def hold(c, greeting):
    """Send greeting, then read until the peer closes (or the socket fails)."""
    try:
        c.sendall(greeting)
        while c.recv(4096):
            pass
    except OSError:
        pass
    c.close()


def serve_holder(addr="127.0.0.1", port=0):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, int(port)))
    ls.listen(128)
    announce(ls.getsockname()[1])

    def handle(c):
        hold(c, b"hi\n")

    while True:
        c, _ = ls.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def serve_http_hold():
    def handle(c):
        try:
            c.recv(4096)
        except OSError:
            pass
        hold(c, b"HTTP/1.0 200 OK\r\nContent-Length: 1000000000\r\n\r\nheld\n")

    tcp_server(handle)


def grab_one(host, port):
    t0 = time.monotonic()
    try:
        c = socket.create_connection((host, int(port)), timeout=2)
        b = b""
        while len(b) < 3:
            d = c.recv(3 - len(b))
            if not d:
                c.close()
                return None, "reset", time.monotonic() - t0
            b += d
        return c, "ok", time.monotonic() - t0
    except (ConnectionResetError, ConnectionRefusedError):
        return None, "reset", time.monotonic() - t0
    except socket.timeout:
        return None, "timeout", time.monotonic() - t0


def udp_try(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2.0)
    s.connect((host, int(port)))
    t0 = time.monotonic()
    try:
        s.send(b"ping")
        s.recv(4096)
        how = "answer"
    except socket.timeout:
        how = "timeout"
    except OSError as e:
        how = "error:" + (errno_name(e.errno) if e.errno else "?")
    s.close()
    return how, int((time.monotonic() - t0) * 1000)


def errno_name(n):
    import errno as _e
    return _e.errorcode.get(n, str(n))


def client_grab(host, port, n, udp_port=None):
    held = []
    how, took = "none", 0.0
    for _ in range(int(n)):
        c, how, took = grab_one(host, port)
        if c is None:
            break
        held.append(c)
    print("ok %d %s %d" % (len(held), how if len(held) < int(n) else "none", int(took * 1000)),
          flush=True)
    if udp_port:
        print("udp %s %d" % udp_try(host, udp_port), flush=True)
    sys.stdin.readline()
    for c in held:
        c.close()
    time.sleep(0.3)
    c, how, _ = grab_one(host, port)
    if c:
        c.close()
    print("after " + how, flush=True)


def serve_dns_rcode(rcode):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    announce(s.getsockname()[1])
    while True:
        q, peer = s.recvfrom(4096)
        if len(q) < 12:
            continue
        i = 12
        while i < len(q) and q[i] != 0:
            i += 1 + q[i]
        hdr = struct.pack("!HHHHHH", struct.unpack("!H", q[:2])[0], 0x8180 | int(rcode), 1, 0, 0, 0)
        s.sendto(hdr + q[12:i + 5], peer)


def dead_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1], flush=True)
    s.close()


def client_dns_try(server, name, qid):
    q = struct.pack("!HHHHHH", int(qid), 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack("!HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5.0)
    s.connect((server, 53))
    t0 = time.monotonic()
    ms = lambda: int((time.monotonic() - t0) * 1000)
    try:
        s.send(q)
        while True:
            d = s.recv(4096)
            if len(d) >= 12 and struct.unpack("!H", d[:2])[0] == int(qid):
                print("answer %d %d" % (d[3] & 0x0F, ms()))
                return
    except ConnectionRefusedError:
        print("unreachable %d" % ms())
    except socket.timeout:
        print("timeout %d" % ms())


def serve_udp_echo(addr="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 0))
    announce(s.getsockname()[1])
    while True:
        d, peer = s.recvfrom(65536)
        s.sendto(d[::-1], peer)


def serve_hello(addr, text):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, 0))
    ls.listen(16)
    announce(ls.getsockname()[1])
    while True:
        c, _ = ls.accept()
        c.sendall(text.encode())
        c.close()


def serve_urgent():
    # Reads the guest's bytes to EOF (the guest sent one of them as urgent
    # data), answers "got:<them>|", then "ab", "c" as urgent data (MSG_OOB)
    # and "de", and closes.
    def handler(c):
        got = b""
        while True:
            b = c.recv(4096)
            if not b:
                break
            got += b
        c.sendall(b"got:" + got + b"|ab")
        time.sleep(0.05)
        c.send(b"c", socket.MSG_OOB)
        time.sleep(0.05)
        c.sendall(b"de")
        c.close()
    tcp_server(handler)


def client_urgent(host, port):
    c = socket.create_connection((host, int(port)), timeout=5)
    c.sendall(b"x")
    time.sleep(0.05)
    c.send(b"y", socket.MSG_OOB)
    time.sleep(0.05)
    c.sendall(b"z")
    c.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        b = c.recv(4096)
        if not b:
            break
        got += b
    print(got.decode(errors="replace"))


def serve_hold_echo():
    # A TCP echo server for many concurrent connections (asyncio).
    import asyncio

    async def handle(r, w):
        try:
            while True:
                b = await r.read(65536)
                if not b:
                    break
                w.write(b)
                await w.drain()
        except ConnectionError:
            pass
        w.close()

    async def main():
        srv = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
        announce(srv.sockets[0].getsockname()[1])
        await srv.serve_forever()

    asyncio.run(main())


def client_hold(n_tcp, n_udp, secs, host, tport, uport):
    # Opens n_tcp TCP connections and n_udp UDP sockets through vnat and,
    # once all are open, holds them all for secs seconds: each TCP connection sends a few
    # random bytes every few seconds and must get exactly them back (a
    # SHA-256 of everything sent and of everything received, per
    # connection); each UDP socket asks every few seconds and must get its
    # answer (retried). Then closes every connection cleanly (EOF both
    # ways) and prints a JSON summary.
    import asyncio
    import random
    n_tcp, n_udp, secs, tport, uport = int(n_tcp), int(n_udp), float(secs), int(tport), int(uport)
    rnd = random.Random(7)
    res = {"tcp": n_tcp, "tcp_ok": 0, "tcp_failed": 0, "tcp_bytes": 0,
           "udp": n_udp, "udp_asked": 0, "udp_answered": 0, "udp_failed": 0, "errors": []}

    async def one_tcp(i, end):
        try:
            r, w = None, None
            for attempt in range(5):
                try:
                    r, w = await asyncio.open_connection(host, tport)
                    break
                except OSError as e:
                    if attempt == 4:
                        raise
                    await asyncio.sleep(0.2 + rnd.random())
            sent, got = hashlib.sha256(), hashlib.sha256()
            n = 0
            note_open(end)
            while not held(end):
                data = rnd.randbytes(rnd.randint(1, 600))
                w.write(data)
                await w.drain()
                sent.update(data)
                back = await asyncio.wait_for(r.readexactly(len(data)), 20)
                got.update(back)
                n += len(data)
                await asyncio.sleep(rnd.uniform(1.0, 4.0))
            w.write_eof()
            rest = await asyncio.wait_for(r.read(), 20)
            w.close()
            if rest or sent.digest() != got.digest():
                raise RuntimeError("stream %d differs" % i)
            res["tcp_ok"] += 1
            res["tcp_bytes"] += n
        except Exception as e:  # noqa: BLE001 - any failure counts
            res["tcp_failed"] += 1
            if end[0] is None:
                end[0] = 0.0  # failed before all were open: stop the rest
            if len(res["errors"]) < 10:
                res["errors"].append("tcp %d: %r" % (i, e))

    class Udp(asyncio.DatagramProtocol):
        def __init__(self):
            self.waiting = None

        def datagram_received(self, data, addr):
            if self.waiting is not None and not self.waiting.done():
                self.waiting.set_result(data)

    async def one_udp(i, end):
        loop = asyncio.get_running_loop()
        try:
            tr, pr = await loop.create_datagram_endpoint(Udp, remote_addr=(host, uport))
            k = 0
            first = True
            while not held(end):
                msg = b"u%d-%d" % (i, k)
                ok = False
                for _ in range(5):
                    pr.waiting = loop.create_future()
                    tr.sendto(msg)
                    res["udp_asked"] += 1
                    try:
                        d = await asyncio.wait_for(pr.waiting, 2)
                        if d == msg[::-1]:
                            ok = True
                            break
                    except asyncio.TimeoutError:
                        pass
                if not ok:
                    raise RuntimeError("no answer to %r" % msg)
                res["udp_answered"] += 1
                if first:  # its flow is open in vnat once answered
                    first = False
                    note_open(end)
                k += 1
                await asyncio.sleep(rnd.uniform(1.0, 4.0))
            tr.close()
        except Exception as e:  # noqa: BLE001
            res["udp_failed"] += 1
            if end[0] is None:
                end[0] = 0.0
            if len(res["errors"]) < 10:
                res["errors"].append("udp %d: %r" % (i, e))

    opened = [0]
    marks = os.environ.get("VNAT_SOAK_MARKS")

    def mark(what, when=None):
        # The wall-clock time of a phase, for the sampler (it_soak_flows.sh).
        if marks:
            with open(marks, "a") as f:
                f.write("%s %.3f\n" % (what, time.time() if when is None else when))

    def note_open(end):
        # The hold of secs starts once every flow is open.
        opened[0] += 1
        if opened[0] == n_tcp + n_udp:
            mark("all-open")
            # The flows start closing at end[0]: marked now, with that time
            # (main may wake well after a loaded loop's flows began).
            mark("closing", time.time() + secs)
            end[0] = asyncio.get_running_loop().time() + secs
            end[1].set()

    def held(end):
        return end[0] is not None and asyncio.get_running_loop().time() >= end[0]

    async def main():
        loop = asyncio.get_running_loop()
        end = [None, asyncio.Event()]
        tasks = []
        # Ramp up in batches so the handshakes do not all land at once.
        for i in range(n_tcp):
            tasks.append(asyncio.create_task(one_tcp(i, end)))
            if i % 500 == 499:
                await asyncio.sleep(0.2)
        for i in range(n_udp):
            tasks.append(asyncio.create_task(one_udp(i, end)))
        waiting = asyncio.create_task(end[1].wait())
        done, _ = await asyncio.wait([waiting, asyncio.gather(*tasks)],
                                     return_when=asyncio.FIRST_COMPLETED)
        if not (waiting in done):
            waiting.cancel()
        await asyncio.gather(*tasks)

    asyncio.run(main())
    print(json.dumps(res))


def client_hello_ask(host, port):
    try:
        c = socket.create_connection((host, int(port)), timeout=5)
        print(c.recv(1024).decode())
    except ConnectionRefusedError:
        print("refused")
        sys.exit(3)
    except socket.timeout:
        print("timeout")
        sys.exit(4)


def client_udp_ask(host, port, text):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    for _ in range(5):
        s.sendto(text.encode(), (host, int(port)))
        try:
            d, _ = s.recvfrom(65536)
            print(d.decode())
            return
        except socket.timeout:
            continue
    sys.exit("no answer")


def client_send(host, port, path):
    c = socket.create_connection((host, int(port)))
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            c.sendall(b)
    c.shutdown(socket.SHUT_WR)
    while c.recv(65536):
        pass
    c.close()


def client_stall(host, port, secs):
    c = socket.create_connection((host, int(port)))
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    print("connected", flush=True)
    time.sleep(float(secs))
    c.close()


def client_drink(host, port, log):
    how = "closed"
    c = socket.create_connection((host, int(port)), timeout=5)
    n = 0
    try:
        while True:
            b = c.recv(1 << 20)
            if not b:
                break
            if n < (1 << 20) <= n + len(b):
                open(log + ".started", "w").close()
            n += len(b)
    except ConnectionResetError:
        how = "reset"
    except socket.timeout:
        how = "timeout"
    c.close()
    with open(log + ".tmp", "w") as f:
        f.write("%s %d\n" % (how, n))
    os.rename(log + ".tmp", log)


def big_pattern(n):
    """n deterministic bytes: the datagram a udp-big server sends for n."""
    return bytes((i * 7 + (i >> 8)) & 0xFF for i in range(n))


def serve_udp_big():
    """A datagram holding a size N (decimal) gets an N-byte answer."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    s.bind(("127.0.0.1", 0))
    announce(s.getsockname()[1])
    while True:
        d, peer = s.recvfrom(100)
        s.sendto(big_pattern(int(d)), peer)


def client_udp_big(host, port, sizes):
    """Ask for each size and check the whole datagram arrives intact; print
    'ok SIZE' per size, or 'bad SIZE ...' / 'timeout SIZE'."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.settimeout(2.0)
    for n in sizes:
        got = None
        for _ in range(3):
            s.sendto(str(n).encode(), (host, int(port)))
            try:
                got = s.recv(70000)
                break
            except socket.timeout:
                continue
        if got is None:
            print("timeout %d" % n)
        elif got != big_pattern(n):
            print("bad %d got %d bytes" % (n, len(got)))
        else:
            print("ok %d" % n)


def dns_big_answer(q, n_a, tcp):
    """The answer to query q: n_a A records for an A question, none else."""
    i = 12
    while i < len(q) and q[i] != 0:
        i += 1 + q[i]
    qtype = struct.unpack("!H", q[i + 1:i + 3])[0]
    question = q[12:i + 5]
    n = n_a if qtype == 1 else 0
    hdr = struct.pack("!HHHHHH", struct.unpack("!H", q[:2])[0], 0x8180, 1, n, 0, 0)
    ans = b"".join(struct.pack("!HHHLH", 0xC00C, 1, 1, 60, 4) + bytes([192, 0, 2, k % 250 + 1])
                   for k in range(n))
    return hdr + question + ans


def serve_dns_big(n_a):
    """A resolver on one port for UDP and TCP that answers every A query with
    n_a records, ignoring the 512-byte UDP limit (as one honouring a large
    EDNS size would): over UDP the answer is larger than a 1500-byte frame.
    Counts the TCP queries in TCPLOG (env) if set."""
    n_a = int(n_a)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    t = socket.socket()
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("127.0.0.1", port))
    t.listen(8)
    log = os.environ.get("TCPLOG")

    def tcp_loop():
        while True:
            c, _ = t.accept()
            try:
                while True:
                    h = c.recv(2, socket.MSG_WAITALL)
                    if len(h) < 2:
                        break
                    q = c.recv(struct.unpack("!H", h)[0], socket.MSG_WAITALL)
                    a = dns_big_answer(q, n_a, True)
                    c.sendall(struct.pack("!H", len(a)) + a)
                    if log:
                        with open(log, "a") as f:
                            f.write("tcp\n")
            except OSError:
                pass
            c.close()

    threading.Thread(target=tcp_loop, daemon=True).start()
    announce(port)
    while True:
        q, peer = u.recvfrom(4096)
        if len(q) >= 17:
            u.sendto(dns_big_answer(q, n_a, False), peer)


def client_resolve_all(name):
    """Every IPv4 address glibc's resolver returns for name, counted."""
    addrs = {ai[4][0] for ai in socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)}
    print(len(addrs))


def client_resolve(name):
    print(socket.gethostbyname(name))


def dns_ask(server, name, qid):
    """One A query on a new UDP socket (a new flow each time, as glibc does)."""
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack("!HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2.0)
    try:
        s.sendto(q, (server, 53))
        d, _ = s.recvfrom(4096)
        return len(d) >= 12 and struct.unpack("!H", d[:2])[0] == qid
    except OSError:
        return False
    finally:
        s.close()


def client_soak(secs, http_port, udp_port, name, rate):
    """A connection-per-request guest: every round opens a new TCP connection
    for one HTTP GET, a new UDP socket for one DNS query to vnat's DNS
    address and one for a UDP echo, at `rate` rounds a second for `secs`.
    Prints one JSON line of counts; exits 1 if any request failed."""
    import http.client
    end = time.monotonic() + float(secs)
    period = 1.0 / float(rate)
    ok = {"http": 0, "dns": 0, "udp": 0}
    bad = {"http": 0, "dns": 0, "udp": 0}
    n = 0
    nxt = time.monotonic()
    while time.monotonic() < end:
        n += 1
        try:
            c = http.client.HTTPConnection("10.0.2.2", int(http_port), timeout=5)
            c.request("GET", "/f", headers={"Connection": "close"})
            r = c.getresponse()
            body = r.read()
            c.close()
            good = r.status == 200 and len(body) > 0
        except OSError:
            good = False
        (ok if good else bad)["http"] += 1
        (ok if dns_ask("10.0.2.3", name, n & 0xFFFF) else bad)["dns"] += 1
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(2.0)
        try:
            u.sendto(b"soak%d" % n, ("10.0.2.2", int(udp_port)))
            d, _ = u.recvfrom(65536)
            good = d == (b"soak%d" % n)[::-1]
        except OSError:
            good = False
        finally:
            u.close()
        (ok if good else bad)["udp"] += 1
        nxt += period
        delay = nxt - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print(json.dumps({"rounds": n, "ok": ok, "failed": bad}), flush=True)
    sys.exit(1 if sum(bad.values()) else 0)


def serve_echo_servers(addr, tport, uport):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, int(tport)))
    ls.listen(16)
    us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    us.bind((addr, int(uport)))

    def udp():
        while True:
            d, peer = us.recvfrom(65536)
            us.sendto(d[::-1], peer)

    def tcp(c):
        with c:
            while True:
                d = c.recv(65536)
                if not d:
                    return
                c.sendall(d)

    threading.Thread(target=udp, daemon=True).start()
    announce(tport)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=tcp, args=(c,), daemon=True).start()


def client_tcp_ask(host, port, text):
    try:
        c = socket.create_connection((host, int(port)), timeout=5)
        c.sendall(text.encode())
        got = b""
        while len(got) < len(text.encode()):
            d = c.recv(65536)
            if not d:
                break
            got += d
        print(got.decode())
    except (ConnectionRefusedError, ConnectionResetError):
        print("refused")
        sys.exit(3)
    except socket.timeout:
        print("timeout")
        sys.exit(4)


def api_connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    return s


def api_reply(f):
    line = f.readline()
    if not line.endswith(b"\n"):
        sys.exit("no reply line: %r" % line)
    obj = json.loads(line)
    if not isinstance(obj, dict) or not isinstance(obj.get("ok"), bool):
        sys.exit("reply is not an object with ok: %r" % line)
    return line.decode().rstrip("\n")


def client_api(path, reqs):
    s = api_connect(path)
    f = s.makefile("rb")
    for r in reqs:
        if r.startswith("@cut:"):
            c = api_connect(path)
            c.sendall(r[5:].encode())
            c.close()
            print("cut")
            continue
        if r.startswith("@long:"):
            s.sendall(b"x" * int(r[6:]) + b"\n")
        else:
            s.sendall(r.encode() + b"\n")
        print(api_reply(f), flush=True)
    s.close()


def client_api_crowd(path, n):
    held = [api_connect(path) for _ in range(int(n))]
    # Each held connection is served: a request on it is answered.
    for h in held:
        h.sendall(b'{"cmd":"stats"}\n')
        api_reply(h.makefile("rb"))
    extra = api_connect(path)
    print(api_reply(extra.makefile("rb")))
    for h in held:
        h.close()


def client_api_flood(path):
    s = api_connect(path)
    s.setblocking(False)
    chunk = b'{"cmd":"list"}\n' * 256
    sent = 0
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            sent += s.send(chunk)
        except BlockingIOError:
            break
    if time.time() >= deadline:
        sys.exit("the flooding client was never stopped (%d bytes taken)" % sent)
    c = api_connect(path)
    c.sendall(b'{"cmd":"stats"}\n')
    print(api_reply(c.makefile("rb")))
    # Now read: every line sent is answered, the cut-off last one too.
    s.setblocking(True)
    s.settimeout(10)
    s.shutdown(socket.SHUT_WR)
    got = 0
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        got += d.count(b"\n")
    line = len(b'{"cmd":"list"}\n')
    want = sent // line + (1 if sent % line else 0)
    print("replies %d of %d" % (got, want))
    s.close()


def main(argv):
    cmd = argv[1]
    if cmd == "http":
        serve_http(argv[2])
    elif cmd == "silent":
        serve_silent()
    elif cmd == "sink":
        serve_sink(argv[2])
    elif cmd == "firehose":
        serve_firehose(argv[2] if len(argv) > 2 else None)
    elif cmd == "dns":
        serve_dns(argv[2], argv[3])
    elif cmd == "holder":
        serve_holder(*argv[2:4])
    elif cmd == "http-hold":
        serve_http_hold()
    elif cmd == "grab":
        client_grab(*argv[2:6])
    elif cmd == "dns-rcode":
        serve_dns_rcode(argv[2])
    elif cmd == "dead-udp-port":
        dead_udp_port()
    elif cmd == "dns-try":
        client_dns_try(argv[2], argv[3], argv[4])
    elif cmd == "udp-echo":
        serve_udp_echo(*argv[2:3])
    elif cmd == "hello":
        serve_hello(argv[2], argv[3])
    elif cmd == "urgent":
        serve_urgent()
    elif cmd == "urgent-ask":
        client_urgent(argv[2], argv[3])
    elif cmd == "hold-echo":
        serve_hold_echo()
    elif cmd == "hold-client":
        client_hold(*argv[2:8])
    elif cmd == "hello-ask":
        client_hello_ask(argv[2], argv[3])
    elif cmd == "udp-ask":
        client_udp_ask(argv[2], argv[3], argv[4])
    elif cmd == "send":
        client_send(argv[2], argv[3], argv[4])
    elif cmd == "stall":
        client_stall(argv[2], argv[3], argv[4])
    elif cmd == "drink":
        client_drink(argv[2], argv[3], argv[4])
    elif cmd == "echo-servers":
        serve_echo_servers(argv[2], argv[3], argv[4])
    elif cmd == "tcp-ask":
        client_tcp_ask(argv[2], argv[3], argv[4])
    elif cmd == "api":
        client_api(argv[2], argv[3:])
    elif cmd == "api-flood":
        client_api_flood(argv[2])
    elif cmd == "api-crowd":
        client_api_crowd(argv[2], argv[3])
    elif cmd == "soak-client":
        client_soak(argv[2], argv[3], argv[4], argv[5], argv[6])
    elif cmd == "resolve":
        client_resolve(argv[2])
    elif cmd == "resolve-all":
        client_resolve_all(argv[2])
    elif cmd == "udp-big":
        serve_udp_big()
    elif cmd == "udp-big-ask":
        client_udp_big(argv[2], argv[3], [int(x) for x in argv[4:]])
    elif cmd == "dns-big":
        serve_dns_big(argv[2])
    else:
        sys.exit("unknown helper " + cmd)


if __name__ == "__main__":
    main(sys.argv)
