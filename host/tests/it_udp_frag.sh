#!/usr/bin/env bash
# Host datagrams larger than the guest MTU (issue 14 item 3): at MTU 1500 a
# host UDP server's answers of 1472 (one frame), 1473, 4000, 30000 and 65507
# bytes (the largest IPv4 UDP datagram) reach a socket inside `vnat run`
# whole and intact: vnat sends them in IPv4 fragments and the namespace's
# own kernel reassembles them. The core before this change dropped every
# one over 1472 bytes (`other`), so the client timed out.
. "$(dirname "$0")/lib.sh" "$@"
require_netns
start_helper BIG udp-big
out=$("$VNAT" run --mtu 1500 -- timeout 20 python3 "$HERE/helpers.py" udp-big-ask 10.0.2.2 "$BIG" \
    1472 1473 4000 30000 65507) || fail "client failed: $out"
want=$'ok 1472\nok 1473\nok 4000\nok 30000\nok 65507'
[ "$out" = "$want" ] || fail "got: $(echo "$out" | tr '\n' ' ')"
pass "datagrams up to 65507 bytes reach the guest in fragments, reassembled intact"
