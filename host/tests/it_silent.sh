#!/usr/bin/env bash
# A connect to a silent destination (a loopback listener whose accept queue
# is full, so SYNs are dropped) must not delay a concurrent fetch: the seed
# defect was a blocking connect that froze all guest networking.
. "$(dirname "$0")/lib.sh" "$@"
require_netns
mkdir "$T/www"
echo hello >"$T/www/small"
start_helper HTTP http "$T/www"
start_helper SILENT silent
out=$("$VNAT" run -- sh -c "
    curl -s --max-time 8 -o /dev/null http://10.0.2.2:$SILENT/ & sleep 0.5
    t0=\$(date +%s%N)
    curl -sS --max-time 5 http://10.0.2.2:$HTTP/small || exit 3
    t1=\$(date +%s%N)
    echo ms=\$(( (t1 - t0) / 1000000 ))
    wait") || fail "fetch next to a silent connect failed: $out"
echo "$out"
echo "$out" | grep -q '^hello$' || fail "wrong body"
ms=$(echo "$out" | sed -n 's/^ms=//p')
[ "$ms" -lt 1000 ] || fail "fetch took ${ms} ms next to a silent connect"
pass "fetch took ${ms} ms while a connect hung"
