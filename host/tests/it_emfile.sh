#!/usr/bin/env bash
# vnat out of descriptors (EMFILE; issue 14 item 6). vnat runs with a soft
# limit of 40 open files (COMMAND raises its own back); the guest, then a
# host client through a forward, open connections until one fails. The one
# that fails must fail cleanly and at once (a reset, not a hang; for a
# datagram an ICMP unreachable), vnat must not spin meanwhile, and once
# connections close, a new one works.
. "$(dirname "$0")/lib.sh" "$@"
require_netns
G="python3 -u $HERE/helpers.py"

# Outbound: the guest connects to a holder on host loopback; while they are
# held, a datagram to a UDP echo server must fail at once too (ICMP
# administratively prohibited: EHOSTUNREACH on the guest's connected
# socket).
start_helper HOLD holder
start_helper ECHO udp-echo
(ulimit -Sn 40; exec "$VNAT" run --stats -- sh -c "ulimit -Sn 1024; echo go | $G grab 10.0.2.2 $HOLD 200 $ECHO") \
    >"$T/out.txt" 2>"$T/out.err" || { cat "$T/out.err" >&2; fail "vnat run (outbound)"; }
read -r _ n how ms <<<"$(sed -n 1p "$T/out.txt")"
read -r _ uhow ums <<<"$(sed -n 2p "$T/out.txt")"
read -r _ after <<<"$(sed -n 3p "$T/out.txt")"
[ "$uhow" = error:EHOSTUNREACH ] && [ "$ums" -lt 1000 ] || { cat "$T/out.txt" >&2; grep -E "drop|icmp|udp|rst|sockets" "$T/out.err" >&2; fail "outbound: a datagram out of descriptors: '$uhow' after $ums ms, expected error:EHOSTUNREACH at once"; }
[ "$how" = reset ] || { cat "$T/out.txt" >&2; fail "outbound: connection $((n + 1)) ended '$how', expected reset"; }
[ "$n" -ge 5 ] && [ "$ms" -lt 1000 ] || { cat "$T/out.txt" >&2; fail "outbound: $n held, the failure took $ms ms"; }
[ "$after" = ok ] || fail "outbound: after closing, a new connection: '$after'"
pass "outbound: $n connections held, the next reset after $ms ms, a datagram unreachable after $ums ms, recovered"

# Inbound: a host client through -t into a holder inside.
FP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(ulimit -Sn 40; exec "$VNAT" run --stats -t "$FP:8080" -- sh -c "ulimit -Sn 1024; exec timeout 30 $G holder 10.0.2.15 8080") \
    >/dev/null 2>"$T/in.err" &
VPID=$!
PIDS+=($VPID)
probe="import socket,sys
try:
    c = socket.create_connection(('127.0.0.1', $FP), timeout=1); sys.exit(0 if c.recv(3) == b'hi\n' else 1)
except OSError:
    sys.exit(1)"
for i in $(seq 1 50); do python3 -c "$probe" && break; sleep 0.1; done
python3 -c "$probe" || { cat "$T/in.err" >&2; fail "inbound: the forward never answered"; }
mkfifo "$T/go"
$G grab 127.0.0.1 "$FP" 200 <"$T/go" >"$T/in.txt" &
GPID=$!
PIDS+=($GPID)
exec 3>"$T/go"
for i in $(seq 1 200); do [ -s "$T/in.txt" ] && break; sleep 0.05; done
[ -s "$T/in.txt" ] || fail "inbound: the client reported nothing"
c0=$(cpu_ticks $VPID)
sleep 1
c1=$(cpu_ticks $VPID)
echo go >&3
exec 3>&-
wait $GPID
read -r _ n how ms <<<"$(sed -n 1p "$T/in.txt")"
read -r _ after <<<"$(sed -n 2p "$T/in.txt")"
echo "inbound: $(sed -n 1p "$T/in.txt"); vnat CPU over 1 s while out of descriptors: $((c1 - c0)) ticks"
[ $((c1 - c0)) -le 20 ] || fail "inbound: vnat used $((c1 - c0)) ticks of CPU in 1 s out of descriptors (spinning)"
[ "$how" = reset ] || { cat "$T/in.txt" >&2; fail "inbound: connection $((n + 1)) ended '$how', expected reset"; }
[ "$ms" -lt 1000 ] || fail "inbound: the failure took $ms ms"
[ "$after" = ok ] || fail "inbound: after closing, a new connection: '$after'"
kill -TERM $VPID
wait $VPID
grep -Eq "accept_shed +[1-9]" "$T/in.err" || { cat "$T/in.err" >&2; fail "inbound: no accept_shed counted"; }
pass "inbound: $n connections held, the next reset after $ms ms, no spin, recovered"
