#!/usr/bin/env bash
# vnat serve driven through its QEMU stream socket by the project's own
# test client (serve_client.c): partial reads, a TCP exchange with a host
# loopback listener, a bad length resetting the link, recovery.
. "$(dirname "$0")/lib.sh" "$@"
CLIENT=${2:?usage: it_serve.sh VNAT SERVE_CLIENT}
"$VNAT" serve --socket "$T/sock" --stats 2>"$T/serve.err" &
VPID=$!
PIDS+=($VPID)
"$CLIENT" "$T/sock" || { cat "$T/serve.err" >&2; fail "serve_client"; }
kill -TERM $VPID
wait $VPID
rc=$?
[ $rc -eq 0 ] || { cat "$T/serve.err" >&2; fail "vnat serve exited $rc after SIGTERM"; }
grep -q "link_bad_lengths *1$" "$T/serve.err" || { cat "$T/serve.err" >&2; fail "no bad length counted"; }
pass "vnat serve"
