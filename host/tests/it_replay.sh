#!/usr/bin/env bash
# A recorded run replays in the simulator with identical outputs: vnat run
# --record writes the boundary log; vnat sim replay-file feeds its inputs to
# a fresh core and compares every output.
. "$(dirname "$0")/lib.sh" "$@"
require_netns
mkdir "$T/www"
head -c 200000 /dev/urandom >"$T/www/file"
start_helper HTTP http "$T/www"
"$VNAT" run --record "$T/run.trace" -- curl -sS --max-time 20 -o "$T/got" "http://10.0.2.2:$HTTP/file" \
    || fail "recorded fetch failed"
cmp -s "$T/www/file" "$T/got" || fail "fetched file differs"
"$VNAT" sim replay-file "$T/run.trace" || fail "replay of the recorded run differs"
pass "recorded run ($(stat -c %s "$T/run.trace") bytes) replays identically"
