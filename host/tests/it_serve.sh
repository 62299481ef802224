#!/usr/bin/env bash
# vnat serve driven through its QEMU stream socket by the project's own
# test client (serve_client.c): partial reads, a TCP exchange with a host
# loopback listener, a bad length resetting the link, recovery; lengths
# that lie (0, above the bound) and torn frames (issue 14 item 6), each
# counted, each followed by a connection that is served.
. "$(dirname "$0")/lib.sh" "$@"
CLIENT=${2:?usage: it_serve.sh VNAT SERVE_CLIENT}
"$VNAT" serve --socket "$T/sock" --stats 2>"$T/serve.err" &
VPID=$!
PIDS+=($VPID)
"$CLIENT" "$T/sock" $VPID || { cat "$T/serve.err" >&2; fail "serve_client"; }
kill -TERM $VPID
wait $VPID
rc=$?
[ $rc -eq 0 ] || { cat "$T/serve.err" >&2; fail "vnat serve exited $rc after SIGTERM"; }
grep -q "link_bad_lengths *3$" "$T/serve.err" || { cat "$T/serve.err" >&2; fail "not 3 bad lengths counted"; }
grep -q "link_torn_frames *2$" "$T/serve.err" || { cat "$T/serve.err" >&2; fail "not 2 torn frames counted"; }
pass "vnat serve"
