#!/usr/bin/env bash
# UDP NAT (guest services, issue 5): a datagram from inside to a UDP echo
# server on host loopback comes back, from the gateway address.
. "$(dirname "$0")/lib.sh" "$@"
require_netns
start_helper ECHO udp-echo
out=$("$VNAT" run -- timeout 10 python3 "$HERE/helpers.py" udp-ask 10.0.2.2 "$ECHO" hello-udp) \
    || fail "no UDP answer through vnat"
[ "$out" = pdu-olleh ] || fail "answer was '$out'"
pass "UDP round trip through vnat"
