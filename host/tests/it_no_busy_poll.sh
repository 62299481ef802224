#!/usr/bin/env bash
# Never spin: vnat's CPU time while idle, and while a flow is stalled (the
# host sends without end, the guest never reads, so peeked data waits for
# the guest's window) must stay near zero. The reference NAT busy-polled
# exactly here (level-triggered EPOLLIN while peeked data waited).
. "$(dirname "$0")/lib.sh" "$@"
require_netns
HZ=$(getconf CLK_TCK)
MEASURE=3
# Over 3 s, at most 3% of one core (the CPU cost of a handful of wakeups
# is microseconds; a spinning loop burns ~300 ticks).
MAX=$(( HZ * MEASURE * 3 / 100 ))
[ "$MAX" -ge 2 ] || MAX=2

"$VNAT" run -- sleep $((MEASURE + 2)) &
VPID=$!
sleep 1.5
c0=$(cpu_ticks $VPID)
sleep $MEASURE
c1=$(cpu_ticks $VPID)
wait $VPID || fail "vnat run -- sleep failed"
idle=$((c1 - c0))
echo "idle: $idle ticks of $((HZ * MEASURE)) over ${MEASURE} s (max $MAX)"
[ $idle -le $MAX ] || fail "vnat used $idle ticks while idle"

start_helper FIRE firehose
"$VNAT" run --stats -- python3 "$HERE/helpers.py" stall 10.0.2.2 "$FIRE" $((MEASURE + 4)) 2>"$T/stats" &
VPID=$!
sleep 3 # let the guest's and the host's buffers fill: the flow stalls
c0=$(cpu_ticks $VPID)
sleep $MEASURE
c1=$(cpu_ticks $VPID)
wait $VPID || { cat "$T/stats" >&2; fail "stalled-flow run failed"; }
stalled=$((c1 - c0))
echo "stalled flow: $stalled ticks of $((HZ * MEASURE)) over ${MEASURE} s (max $MAX)"
grep -E "wakeups|events|bytes_host_to_guest|zero_window" "$T/stats"
[ $stalled -le $MAX ] || fail "vnat used $stalled ticks with a stalled flow (busy polling)"
pass "no busy polling: idle $idle, stalled $stalled ticks"
