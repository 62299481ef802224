#!/usr/bin/env bash
# Clean exit: when COMMAND exits, vnat shuts the core down and every flow
# still open is reset on the host side (SO_LINGER {1,0}), at once; and
# SIGTERM to vnat reaches COMMAND, whose status vnat returns.
. "$(dirname "$0")/lib.sh" "$@"
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
sleep 2.5 # the stalled reader left in the namespace ends by itself
