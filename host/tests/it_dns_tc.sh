#!/usr/bin/env bash
# A DNS answer larger than one guest frame (issue 14 item 3): the test's
# resolver answers an A query with 150 records (2 426 bytes over UDP, as one
# honouring a large EDNS size would). Inside `vnat run` (MTU 1500) glibc's
# resolver gets it truncated (TC) from vnat, asks again over TCP through
# 10.0.2.3:53, and getaddrinfo returns all 150 addresses. The core before
# this change dropped the answer, and the lookup timed out.
. "$(dirname "$0")/lib.sh" "$@"
require_netns
export TCPLOG="$T/tcp.log"
start_helper DNS dns-big 150
out=$("$VNAT" run --mtu 1500 --dns-server "127.0.0.1:$DNS" -- \
    timeout 12 python3 "$HERE/helpers.py" resolve-all big.vnat-test.invalid) \
    || fail "resolution failed ($out)"
[ "$out" = 150 ] || fail "resolved $out addresses, want 150"
[ -s "$TCPLOG" ] || fail "the resolver saw no TCP query"
pass "a truncated answer made glibc ask over TCP: 150 addresses"
