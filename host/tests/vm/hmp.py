#!/usr/bin/env python3
"""host/tests/vm/hmp.py SOCK [--hold-tcp PORT] CMD... — QEMU's human monitor
on a UNIX socket: sends each CMD and prints "CMD:" then its answer (HMP
echoes the line with terminal escapes; only the answer is kept). With
--hold-tcp PORT a TCP connection to 127.0.0.1:PORT is open while the
commands run (to see it in `info usernet`). Shared by host/tests/vm/run and
slirp/tests/qemu-migrate.sh. Exit 0, or 1 when the monitor closes or times
out (10 s)."""
import socket
import sys
import time


def main(argv):
    if len(argv) < 2:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    sock, cmds, hold = argv[0], argv[1:], None
    if cmds[0] == "--hold-tcp":
        hold = socket.create_connection(("127.0.0.1", int(cmds[1])), timeout=10)
        time.sleep(0.5)  # let the guest accept it
        cmds = cmds[2:]
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(sock)

    def until_prompt():
        buf = b""
        while not buf.endswith(b"(qemu) "):
            b = s.recv(4096)
            if not b:
                raise SystemExit("monitor closed")
            buf += b
        return buf.decode(errors="replace")

    until_prompt()
    for cmd in cmds:
        s.sendall(cmd.encode() + b"\n")
        print(cmd + ":" + until_prompt().split("\r\n", 1)[-1].replace("(qemu) ", ""))
    if hold is not None:
        hold.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
