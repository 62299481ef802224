#!/usr/bin/env bash
# A host resolver that is down or refusing (issue 14 item 6). The guest's
# query fails fast (an ICMP unreachable or the resolver's own error, never
# a 5 s wait), and a resolver that is down is left for the next configured
# one. Queries go out as glibc's do: one connected UDP socket each.
. "$(dirname "$0")/lib.sh" "$@"
require_netns
start_helper GOOD dns vnat-test.invalid 192.0.2.77
start_helper REFUSING dns-rcode 5
DEAD=$($HELPERS dead-udp-port)
try="python3 -u $HERE/helpers.py dns-try 10.0.2.3 vnat-test.invalid"

# Down: nothing listens on the first resolver's port. The host socket gets
# ICMP port unreachable; the guest an ICMP port unreachable at once; the
# next query goes to the second resolver.
"$VNAT" run --stats --dns-server "127.0.0.1:$DEAD" --dns-server "127.0.0.1:$GOOD" -- \
    sh -c "$try 1; $try 2" >"$T/down.out" 2>"$T/down.err" || { cat "$T/down.err" >&2; fail "vnat run (down)"; }
read -r how1 ms1 <<<"$(sed -n 1p "$T/down.out")"
read -r how2 rc2 ms2 <<<"$(sed -n 2p "$T/down.out")"
[ "$how1" = unreachable ] || { cat "$T/down.out" "$T/down.err" >&2; fail "query to a resolver that is down: '$how1', expected unreachable"; }
[ "$ms1" -lt 1000 ] || fail "the query to a resolver that is down failed after $ms1 ms"
[ "$how2" = answer ] && [ "$rc2" = 0 ] || { cat "$T/down.out" >&2; fail "the next query was not answered by the next resolver"; }
pass "resolver down: unreachable after $ms1 ms, the next resolver answered after $ms2 ms"

# Refusing: the first resolver answers REFUSED. The guest gets it at once;
# the next query goes to the second resolver.
"$VNAT" run --dns-server "127.0.0.1:$REFUSING" --dns-server "127.0.0.1:$GOOD" -- \
    sh -c "$try 3; $try 4" >"$T/ref.out" 2>"$T/ref.err" || { cat "$T/ref.err" >&2; fail "vnat run (refusing)"; }
read -r how rc ms <<<"$(sed -n 1p "$T/ref.out")"
read -r how2 rc2 ms2 <<<"$(sed -n 2p "$T/ref.out")"
[ "$how" = answer ] && [ "$rc" = 5 ] || { cat "$T/ref.out" >&2; fail "query to a refusing resolver: '$how $rc'"; }
[ "$ms" -lt 1000 ] || fail "REFUSED took $ms ms"
[ "$how2" = answer ] && [ "$rc2" = 0 ] || { cat "$T/ref.out" >&2; fail "after REFUSED the next query got '$how2 $rc2', not the next resolver's answer"; }
pass "resolver refusing: REFUSED after $ms ms, the next resolver answered after $ms2 ms"
