#!/usr/bin/env bash
# Run-time forwards through `vnat run --api-socket` (issue 5): with TCP and
# UDP echo servers inside the namespace and no -t/-u at start, a TCP and a
# UDP forward added through the socket reach them from host loopback; list
# shows both; a removed forward refuses new connections while the other
# still works; malformed, oversize and cut-off requests get error replies
# (or none, for the cut one) and the adapter keeps serving; a ninth client
# is told "busy"; a client that never reads its replies does not hold up
# another; the socket file goes when vnat exits. Then `vnat serve`: the
# start-up -t forward is listed and can be removed.
. "$(dirname "$0")/lib.sh" "$@"
require_netns
API="$T/api.sock"
free_port() {
    python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.$1); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"
}
HT=$(free_port SOCK_STREAM)
HU=$(free_port SOCK_DGRAM)
api() { $HELPERS api "$API" "$@"; }

"$VNAT" run --api-socket "$API" --stats -- sh -c \
    "python3 -u '$HERE/helpers.py' echo-servers 10.0.2.15 7000 7001 >/dev/null & ep=\$!
     trap 'kill \$ep' EXIT
     i=0; while [ ! -e '$T/stop' ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i+1)); done" \
    >"$T/vnat.out" 2>"$T/vnat.err" &
VPID=$!
PIDS+=($VPID)
for i in $(seq 1 100); do [ -S "$API" ] && break; sleep 0.05; done
[ -S "$API" ] || { cat "$T/vnat.err" >&2; fail "no API socket"; }
[ "$(stat -c %a "$API")" = 700 ] || fail "API socket mode $(stat -c %a "$API"), want 700"

out=$(api '{"cmd":"list"}') || fail "list: $out"
[ "$out" = '{"ok":true,"forwards":[]}' ] || fail "list at start: $out"

out=$(api "{\"cmd\":\"add\",\"proto\":\"tcp\",\"host_port\":$HT,\"guest_port\":7000}" \
          "{\"cmd\":\"add\",\"proto\":\"udp\",\"host_addr\":\"127.0.0.1\",\"host_port\":$HU,\"guest_port\":7001}" \
          "{\"cmd\":\"add\",\"proto\":\"tcp\",\"host_port\":$HT,\"guest_port\":7000}") || fail "add: $out"
[ "$(echo "$out" | sed -n 1p)" = '{"ok":true}' ] || fail "add tcp: $out"
[ "$(echo "$out" | sed -n 2p)" = '{"ok":true}' ] || fail "add udp: $out"
echo "$out" | sed -n 3p | grep -q '"error":"exists"' || fail "a second add of the same forward: $out"
pass "forwards added at run time"

for i in $(seq 1 50); do
    got=$($HELPERS tcp-ask 127.0.0.1 "$HT" hello-tcp) && [ "$got" = hello-tcp ] && break
    sleep 0.2
done
[ "${got:-}" = hello-tcp ] || fail "no TCP echo through the added forward (got '${got:-}')"
got=$($HELPERS udp-ask 127.0.0.1 "$HU" hello-udp) || fail "no UDP echo through the added forward"
[ "$got" = pdu-olleh ] || fail "UDP echo: '$got'"
pass "TCP and UDP reach the guest through them"

out=$(api '{"cmd":"list"}') || fail "list: $out"
want="{\"ok\":true,\"forwards\":[{\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":$HT,\"guest_port\":7000},{\"proto\":\"udp\",\"host_addr\":\"127.0.0.1\",\"host_port\":$HU,\"guest_port\":7001}]}"
[ "$out" = "$want" ] || fail "list: $out"
pass "list"

# Malformed, oversize and cut-off requests, then a good one on the same
# connection: each bad line gets its error and the connection stays.
out=$(api 'garbage' '@long:5000' '{"cmd":"add","proto":"tcp","host_port":0,"guest_port":1}' \
          '{"cmd":"frobnicate"}' '@cut:{"cmd":"add","proto":"tcp","host_po' \
          "{\"cmd\":\"remove\",\"proto\":\"tcp\",\"host_port\":$HT}") || fail "bad requests: $out"
echo "$out" | sed -n 1p | grep -q '"error":"syntax"' || fail "garbage: $out"
echo "$out" | sed -n 2p | grep -q '"error":"too_long"' || fail "oversize: $out"
echo "$out" | sed -n 3p | grep -q '"error":"field"' || fail "port 0: $out"
echo "$out" | sed -n 4p | grep -q '"error":"command"' || fail "unknown command: $out"
[ "$(echo "$out" | sed -n 6p)" = '{"ok":true}' ] || fail "remove after bad requests: $out"
pass "bad requests answered with errors; the connection keeps serving"

got=$($HELPERS tcp-ask 127.0.0.1 "$HT" again); rc=$?
[ $rc = 3 ] && [ "$got" = refused ] || fail "removed TCP forward still answers (rc $rc, '$got')"
got=$($HELPERS udp-ask 127.0.0.1 "$HU" still-here) || fail "UDP forward gone with the TCP one"
[ "$got" = ereh-llits ] || fail "UDP echo after remove: '$got'"
out=$(api "{\"cmd\":\"remove\",\"proto\":\"tcp\",\"host_port\":$HT}" '{"cmd":"stats"}') || fail "$out"
echo "$out" | sed -n 1p | grep -q '"error":"notfound"' || fail "second remove: $out"
echo "$out" | sed -n 2p | grep -q '"forwards":1,' || fail "stats: $out"
echo "$out" | sed -n 2p | grep -Eq '"forwards_accepted":[1-9]' || fail "stats: $out"
pass "removed forward refuses new connections; the other still works"

out=$($HELPERS api-crowd "$API" 8) || fail "crowd: $out"
echo "$out" | grep -q '"error":"busy"' || fail "a ninth client: $out"
out=$(api '{"cmd":"list"}') || fail "list after the crowd: $out"
echo "$out" | grep -q "\"host_port\":$HU" || fail "list after the crowd: $out"
pass "a ninth client is told busy; slots come back"

out=$($HELPERS api-flood "$API") || fail "flood: $out"
echo "$out" | grep -q '"ok":true,"stats"' || fail "a client that never reads blocked another: $out"
n=$(echo "$out" | sed -n 's/^replies \([0-9]*\) of \([0-9]*\)$/\1 \2/p')
[ -n "$n" ] && [ "${n% *}" = "${n#* }" ] || fail "flooding client: replies lost: $out"
pass "a client that never reads its replies is no longer read; others are served"

touch "$T/stop"
for i in $(seq 1 100); do kill -0 $VPID 2>/dev/null || break; sleep 0.05; done
wait $VPID; rc=$?
cat "$T/vnat.err"
[ $rc = 0 ] || fail "vnat run exited $rc"
[ -e "$API" ] && fail "the API socket outlived vnat"
grep -q "Sanitizer\|runtime error" "$T/vnat.err" && fail "sanitizer report"
pass "clean exit, socket removed"

# vnat serve: the start-up forward is in the table and removable.
HS=$(free_port SOCK_STREAM)
"$VNAT" serve --socket "$T/link.sock" --api-socket "$T/api2.sock" -t "127.0.0.1:$HS:80" \
    2>"$T/serve.err" &
SPID=$!
PIDS+=($SPID)
for i in $(seq 1 100); do [ -S "$T/api2.sock" ] && break; sleep 0.05; done
out=$($HELPERS api "$T/api2.sock" '{"cmd":"list"}' \
          "{\"cmd\":\"remove\",\"proto\":\"tcp\",\"host_port\":$HS,\"guest_port\":81}" \
          "{\"cmd\":\"remove\",\"proto\":\"tcp\",\"host_port\":$HS,\"guest_port\":80}" \
          '{"cmd":"list"}') || fail "serve: $out"
[ "$(echo "$out" | sed -n 1p)" = "{\"ok\":true,\"forwards\":[{\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":$HS,\"guest_port\":80}]}" ] ||
    fail "serve: start-up forward not listed: $out"
echo "$out" | sed -n 2p | grep -q '"error":"notfound"' || fail "serve: remove with the wrong guest port: $out"
[ "$(echo "$out" | sed -n 3p)" = '{"ok":true}' ] || fail "serve: remove: $out"
[ "$(echo "$out" | sed -n 4p)" = '{"ok":true,"forwards":[]}' ] || fail "serve: list after remove: $out"
python3 -c "import socket,sys; s=socket.socket(); sys.exit(0 if s.connect_ex(('127.0.0.1',$HS)) else 1)" ||
    fail "serve: the removed start-up forward still listens"
kill -TERM $SPID; wait $SPID; rc=$?
[ $rc = 0 ] || { cat "$T/serve.err" >&2; fail "vnat serve exited $rc"; }
[ -e "$T/api2.sock" ] && fail "serve: the API socket outlived vnat"
grep -q "Sanitizer\|runtime error" "$T/serve.err" && fail "serve: sanitizer report"
pass "vnat serve: start-up forward listed and removed"
