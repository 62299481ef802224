#!/usr/bin/env bash
# A fetch through vnat: curl inside the namespace gets a file from an HTTP
# server on host loopback (gateway 10.0.2.2 = host 127.0.0.1), with and
# without a user namespace; the command's exit code comes back; --stats
# prints flows and counters; --pcap writes a capture.
. "$(dirname "$0")/lib.sh" "$@"
require_netns
command -v curl >/dev/null || fail "curl is needed"
mkdir "$T/www"
head -c 300000 /dev/urandom >"$T/www/file"
start_helper HTTP http "$T/www"

for userns in yes no; do
    "$VNAT" run --userns $userns --stats --pcap "$T/run.pcap" -- \
        curl -sS --max-time 20 -o "$T/got.$userns" "http://10.0.2.2:$HTTP/file" 2>"$T/stats.$userns" \
        || { cat "$T/stats.$userns" >&2; fail "curl through vnat (userns=$userns) failed"; }
    cmp -s "$T/www/file" "$T/got.$userns" || fail "fetched file differs (userns=$userns)"
    grep -q "tcp_flows_total" "$T/stats.$userns" || fail "--stats printed no counters"
    pass "fetch with userns=$userns"
done
# pcap: magic a1b23c4d (nanosecond stamps, little-endian on disk) and more than a header.
[ "$(od -An -tx4 -N4 "$T/run.pcap" | tr -d ' ')" = a1b23c4d ] || fail "pcap magic"
[ "$(stat -c %s "$T/run.pcap")" -gt 1000 ] || fail "pcap holds no frames"
pass "pcap written"

"$VNAT" run -- sh -c 'exit 7'
[ $? -eq 7 ] || fail "exit code not propagated"
"$VNAT" run -- sh -c 'grep -q "^nameserver 10.0.2.3" /etc/resolv.conf' || fail "resolv.conf not replaced"
mtu=$("$VNAT" run -- ip -o link show tap0 | sed -n "s/.* mtu \([0-9]*\) .*/\1/p")
[ "$mtu" = 65520 ] || fail "tap MTU is $mtu, expected 65520"
pass "exit code, resolv.conf, MTU"
