#!/usr/bin/env bash
# A port forward (guest services, issue 5) from host loopback into the
# namespace: an HTTP server inside, curl on the host.
. "$(dirname "$0")/lib.sh" "$@"
require_netns
mkdir "$T/www"; echo inside >"$T/www/f"
HP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$VNAT" run -t "$HP:8080" -- sh -c "cd '$T/www' && exec timeout 8 python3 -m http.server 8080 --bind 10.0.2.15" \
    >/dev/null 2>&1 &
PIDS+=($!)
for i in $(seq 1 50); do
    out=$(curl -s --max-time 2 "http://127.0.0.1:$HP/f") && [ "$out" = inside ] && break
    sleep 0.2
done
[ "${out:-}" = inside ] || fail "no answer through the forward"
pass "port forward"
