#!/usr/bin/env bash
# Soak: a connection-per-request guest under `vnat run` for VNAT_SOAK_SECONDS
# (default 20; `tools/campaign soak --minutes N` runs the long one): every
# round a new TCP connection for one HTTP GET through the gateway, a new UDP
# socket for one DNS query to 10.0.2.3, and one for a UDP echo, at
# VNAT_SOAK_RATE rounds a second (default 40). Every request must succeed,
# vnat must refuse nothing (no flow_limit or rate_limit drop), and its
# descriptors and resident memory are sampled through the run and reported
# (high-water marks in the last line) so a leak shows.
. "$(dirname "$0")/lib.sh" "$@"
require_netns
SECS=${VNAT_SOAK_SECONDS:-20}
RATE=${VNAT_SOAK_RATE:-40}
mkdir "$T/www"; head -c 16384 /dev/urandom >"$T/www/f"
start_helper HTTP http "$T/www"
start_helper DNS dns soak.vnat-test.invalid 192.0.2.78
start_helper UDP udp-echo
"$VNAT" run --dns-server "127.0.0.1:$DNS" --stats -- \
    timeout $((SECS + 30)) python3 -u "$HERE/helpers.py" soak-client "$SECS" "$HTTP" "$UDP" \
    soak.vnat-test.invalid "$RATE" >"$T/soak.out" 2>"$T/stats" &
VPID=$!
PIDS+=($VPID)
fd_max=0; rss_max=0; samples=0
while kill -0 $VPID 2>/dev/null; do
    fds=$(ls /proc/$VPID/fd 2>/dev/null | wc -l)
    rss=$(awk '/^VmRSS/ { print $2 }' /proc/$VPID/status 2>/dev/null)
    [ "${fds:-0}" -gt $fd_max ] && fd_max=$fds
    [ "${rss:-0}" -gt $rss_max ] && rss_max=$rss
    samples=$((samples + 1))
    sleep 1
done
wait $VPID; rc=$?
cat "$T/soak.out"
grep -E "flows_total|drop |refused" "$T/stats" | head -20
[ $rc = 0 ] || { tail -20 "$T/stats" >&2; fail "soak client or vnat failed (exit $rc)"; }
grep -q '"failed": {"http": 0, "dns": 0, "udp": 0}' "$T/soak.out" || fail "requests failed"
grep -qE "drop (flow_limit|rate_limit) +[1-9]" "$T/stats" && fail "vnat refused flows"
grep -q "Sanitizer\|runtime error" "$T/stats" && fail "sanitizer report"
echo "soak: ${SECS} s at ${RATE} rounds/s, ${samples} samples: vnat held at most ${fd_max} descriptors, ${rss_max} KiB resident"
pass "soak ${SECS} s"
