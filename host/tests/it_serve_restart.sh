#!/usr/bin/env bash
# A VM restart on vnat serve (issue 14 item 6): the stream peer goes away
# with an established flow, the flow's host end sees ECONNRESET within 2 s,
# and a new guest on a new connection gets ARP, DHCP and TCP service
# (serve_client.c --restart). Each guest's leaving (two link closes) resets
# its one flow: 2 link resets, 2 RSTs counted under "shutdown".
. "$(dirname "$0")/lib.sh" "$@"
CLIENT=${2:?usage: it_serve_restart.sh VNAT SERVE_CLIENT}
"$VNAT" serve --socket "$T/sock" --stats 2>"$T/serve.err" &
VPID=$!
PIDS+=($VPID)
"$CLIENT" --restart "$T/sock" || { cat "$T/serve.err" >&2; fail "serve_client --restart"; }
kill -TERM $VPID
wait $VPID
rc=$?
[ $rc -eq 0 ] || { cat "$T/serve.err" >&2; fail "vnat serve exited $rc after SIGTERM"; }
grep -q "link_resets *2$" "$T/serve.err" || { cat "$T/serve.err" >&2; fail "not 2 link resets"; }
grep -q "rst shutdown *2$" "$T/serve.err" || { cat "$T/serve.err" >&2; fail "the flows' resets not counted"; }
pass "vnat serve: a VM restart"
