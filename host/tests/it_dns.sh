#!/usr/bin/env bash
# DNS (guest services, issue 5): a name resolves inside through vnat's DNS
# address (10.0.2.3 in the namespace's resolv.conf) to a fake resolver on
# host loopback.
. "$(dirname "$0")/lib.sh" "$@"
require_netns
start_helper DNS dns vnat-test.invalid 192.0.2.77
out=$("$VNAT" run --dns-server "127.0.0.1:$DNS" -- timeout 10 python3 "$HERE/helpers.py" resolve vnat-test.invalid) \
    || fail "resolution failed"
[ "$out" = 192.0.2.77 ] || fail "resolved to '$out'"
pass "DNS through vnat"
