#!/usr/bin/env bash
# slirp/tests/slirp4netns.sh LIBDIR — slirp4netns 1.2.0, unchanged, on vnat's
# libslirp.so.0 (LD_LIBRARY_PATH=LIBDIR): `slirp4netns --configure --mtu
# 65520 PID tap0` for a fresh network namespace (10.0.2.100 static, a random
# MAC: the library learns both from the first frames), then inside it a
# 3 MB fetch from an HTTP server on host loopback through 10.0.2.2 (SHA-256
# compared), a name resolved through 10.0.2.3 to the test's resolver
# (VNAT_SLIRP_DNS), and an `add_hostfwd` on slirp4netns's API socket, made
# before the namespace sent any IPv4 (as Podman does), that reaches an HTTP
# server inside from host loopback. Needs root (or a user
# namespace) for `unshare -n`. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LIB=$(cd "${1:?usage: slirp4netns.sh LIBDIR}" && pwd) || exit 1
[ -e "$LIB/libslirp.so.0" ] || { echo "FAIL: no libslirp.so.0 in $LIB"; exit 1; }
command -v slirp4netns >/dev/null || { echo "SKIP: slirp4netns not installed"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/vnat-s4.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

start_helper() { # VAR ARGS...: a host/tests/helpers.py server; VAR gets its port
    local var=$1; shift
    local out="$T/helper.$RANDOM"
    python3 -u "$ROOT/host/tests/helpers.py" "$@" >"$out" 2>"$out.err" &
    PIDS+=($!)
    for _ in $(seq 1 100); do
        if [ -s "$out" ]; then printf -v "$var" '%s' "$(head -n1 "$out")"; return 0; fi
        sleep 0.05
    done
    cat "$out.err" >&2; echo "FAIL: helper $* did not start"; exit 1
}
mkdir -p "$T/www" "$T/inside"
head -c $((3 * 1024 * 1024)) /dev/urandom >"$T/www/blob"
want=$(sha256sum "$T/www/blob" | cut -d' ' -f1)
echo "from the namespace" >"$T/inside/page"
start_helper HTTP_PORT http "$T/www"
start_helper DNS_PORT dns s4-test.vnat.invalid 192.0.2.44

unshare -n sleep 120 &
NS=$!
PIDS+=("$NS")
sleep 0.2
kill -0 "$NS" 2>/dev/null || { echo "SKIP: cannot create a network namespace (unshare -n)"; exit 77; }
LD_LIBRARY_PATH=$LIB VNAT_SLIRP_DNS=127.0.0.1:$DNS_PORT VNAT_SLIRP_STATS=$T/stats \
    slirp4netns --configure --mtu 65520 --api-socket "$T/api.sock" "$NS" tap0 >"$T/s4.log" 2>&1 &
S4=$!
PIDS+=("$S4")
for _ in $(seq 1 100); do [ -S "$T/api.sock" ] && break; sleep 0.05; done
[ -S "$T/api.sock" ] || { cat "$T/s4.log"; echo "FAIL: slirp4netns did not start"; exit 1; }
inside() { nsenter -t "$NS" -n "$@"; }
# The library must be ours: slirp4netns maps it from LD_LIBRARY_PATH.
grep -q "$LIB/libslirp.so.0" "/proc/$S4/maps" || fail "slirp4netns did not load $LIB/libslirp.so.0"

# The forward first, before the namespace sends any IPv4 (Podman's order):
# its guest address (slirp4netns's default, 10.0.2.100) names the guest.
HPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
reply=$(python3 - "$T/api.sock" "$HPORT" <<'PYEOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(json.dumps({"execute": "add_hostfwd", "arguments": {"proto": "tcp", "host_addr": "127.0.0.1", "host_port": int(sys.argv[2]), "guest_addr": "10.0.2.100", "guest_port": 8080}}).encode())
print(s.recv(4096).decode().strip())
PYEOF
)
echo "add_hostfwd: $reply"

got=$(inside timeout 20 curl -sS "http://10.0.2.2:$HTTP_PORT/blob" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] && echo "PASS: 3 MB fetch through 10.0.2.2, sha256 matches" || fail "fetch: sha256 $got, want $want"

ans=$(inside python3 - "$T" <<'PYEOF'
import socket, struct
q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
for label in b"s4-test.vnat.invalid".split(b"."):
    q += bytes([len(label)]) + label
q += b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(q, ("10.0.2.3", 53))
r = s.recv(2048)
print(".".join(str(b) for b in r[-4:]))
PYEOF
)
[ "$ans" = 192.0.2.44 ] && echo "PASS: DNS through 10.0.2.3 answered $ans" || fail "DNS through 10.0.2.3: '$ans'"

# nsenter execs python (no fork), so $! is the server itself (a function
# run in the background would be a subshell, and the server would outlive it).
nsenter -t "$NS" -n python3 -m http.server 8080 --bind 10.0.2.100 --directory "$T/inside" \
    >"$T/inside.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do inside python3 -c 'import socket; socket.create_connection(("10.0.2.100", 8080), 1)' 2>/dev/null && break; sleep 0.1; done
page=$(curl -sS --max-time 10 "http://127.0.0.1:$HPORT/page")
[ "$page" = "from the namespace" ] && echo "PASS: add_hostfwd 127.0.0.1:$HPORT reaches the namespace" || fail "hostfwd: got '$page'"

kill "$S4"; wait "$S4" 2>/dev/null
# (slirp4netns exits on SIGTERM without slirp_cleanup: no counters then)
if [ "$FAILS" -gt 0 ]; then
    echo "---- slirp4netns"; cat "$T/s4.log"
    exit 1
fi
echo "PASS: slirp4netns 1.2.0 on vnat's libslirp.so.0"
exit 0
