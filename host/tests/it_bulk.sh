#!/usr/bin/env bash
# 100 MB each way through vnat with a SHA-256 check: host->guest with curl
# from an HTTP server on loopback, guest->host with a sender inside and a
# hashing sink on loopback.
. "$(dirname "$0")/lib.sh" "$@"
require_netns
SIZE=${VNAT_IT_BULK_MB:-100}
mkdir "$T/www"
head -c "${SIZE}M" /dev/urandom >"$T/www/big"
want=$(sha256sum <"$T/www/big" | cut -d' ' -f1)
start_helper HTTP http "$T/www"
start_helper SINK sink "$T/sink.out"
t0=$(date +%s%N)
"$VNAT" run --stats -- sh -c "
    curl -sS --max-time 100 http://10.0.2.2:$HTTP/big | sha256sum | cut -d' ' -f1 >'$T/h2g.sum' &&
    python3 '$HERE/helpers.py' send 10.0.2.2 $SINK '$T/www/big'" 2>"$T/stats" \
    || { cat "$T/stats" >&2; fail "bulk transfer through vnat failed"; }
t1=$(date +%s%N)
for i in $(seq 1 50); do [ -s "$T/sink.out" ] && break; sleep 0.1; done
[ "$(cat "$T/h2g.sum")" = "$want" ] || fail "host->guest hash differs"
read -r got bytes <"$T/sink.out"
[ "$got" = "$want" ] || fail "guest->host hash differs ($bytes bytes)"
ms=$(( (t1 - t0) / 1000000 ))
echo "2 x ${SIZE} MB in ${ms} ms ($(( 2 * SIZE * 8 * 1000 / (ms > 0 ? ms : 1) )) Mbit/s average)"
grep -E "retransmits|dup_acks|refused" "$T/stats"
pass "bulk ${SIZE} MB each way, hashes match"
