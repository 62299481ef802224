#!/usr/bin/env bash
# Clean exit: when COMMAND exits, vnat shuts the core down and every flow
# still open is reset on the host side (SO_LINGER {1,0}), at once; and
# SIGTERM to vnat reaches COMMAND, whose status vnat returns. SIGTERM in
# the middle of a transfer (issue 14 item 6): both ends of the flow see a
# reset within 1 s, for vnat run (exit 143, COMMAND's status) and vnat
# serve (exit 0).
. "$(dirname "$0")/lib.sh" "$@"
CLIENT=${2:?usage: it_shutdown.sh VNAT SERVE_CLIENT}
require_netns
start_helper FIRE firehose "$T/fire.log"
# COMMAND leaves a flow open (a stalled reader in the background) and exits.
"$VNAT" run -- sh -c "python3 -u '$HERE/helpers.py' stall 10.0.2.2 $FIRE 3 >'$T/stall.out' &
    for i in \$(seq 1 100); do [ -s '$T/stall.out' ] && break; sleep 0.05; done; sleep 0.3; exit 0" \
    || fail "vnat run failed"
for i in $(seq 1 20); do [ -s "$T/fire.log" ] && break; sleep 0.05; done
[ "$(head -n1 "$T/fire.log" 2>/dev/null)" = reset ] || fail "open flow not reset at exit: '$(cat "$T/fire.log" 2>/dev/null)'"
pass "open flow reset at exit"

"$VNAT" run -- sleep 30 &
VPID=$!
sleep 0.5
kill -TERM $VPID
wait $VPID
rc=$?
[ $rc -eq $((128 + 15)) ] || fail "vnat returned $rc after SIGTERM, expected 143"
pass "SIGTERM forwarded, status returned"

# vnat run, SIGTERM mid-transfer: COMMAND (sh) dies of the forwarded
# signal; the reader it started in the background is still inside, reading
# from a firehose on host loopback. vnat then shuts down: the reader gets a
# RST over the tap, the firehose a reset on its socket.
start_helper FIRE2 firehose "$T/fire2.log"
"$VNAT" run -- sh -c "python3 -u '$HERE/helpers.py' drink 10.0.2.2 $FIRE2 '$T/drink.log' & wait" \
    2>"$T/run.err" &
VPID=$!
PIDS+=($VPID)
for i in $(seq 1 200); do [ -e "$T/drink.log.started" ] && break; sleep 0.05; done
[ -e "$T/drink.log.started" ] || { cat "$T/run.err" >&2; fail "no transfer under way"; }
t0=$(date +%s%N)
kill -TERM $VPID
wait $VPID
rc=$?
for i in $(seq 1 40); do [ -s "$T/fire2.log" ] && [ -s "$T/drink.log" ] && break; sleep 0.025; done
ms=$((($(date +%s%N) - t0) / 1000000))
[ $rc -eq 143 ] || { cat "$T/run.err" >&2; fail "vnat run returned $rc after SIGTERM mid-transfer, expected 143"; }
[ "$(head -n1 "$T/fire2.log" 2>/dev/null)" = reset ] || fail "host end: '$(cat "$T/fire2.log" 2>/dev/null)', expected reset"
read -r how bytes <"$T/drink.log" || fail "the guest reader reported nothing"
[ "$how" = reset ] || fail "guest end: '$how' after $bytes bytes, expected reset"
[ $ms -le 1000 ] || fail "the resets took $ms ms"
pass "vnat run: SIGTERM mid-transfer ($bytes bytes in): both ends reset within $ms ms, exit 143"

# vnat serve, SIGTERM mid-transfer (serve_client --sigterm checks both ends).
"$VNAT" serve --socket "$T/sock" 2>"$T/serve.err" &
VPID=$!
PIDS+=($VPID)
"$CLIENT" --sigterm "$T/sock" $VPID || { cat "$T/serve.err" >&2; fail "serve_client --sigterm"; }
wait $VPID
rc=$?
[ $rc -eq 0 ] || { cat "$T/serve.err" >&2; fail "vnat serve returned $rc after SIGTERM, expected 0"; }
pass "vnat serve: SIGTERM mid-transfer: both ends reset, exit 0"
sleep 2.5 # the stalled reader left in the namespace ends by itself
