#!/usr/bin/env bash
# The core's ARP (guest services, issue 5): without vnat's static neighbour
# entries the guest must learn the gateway's MAC by ARP, then fetch.
. "$(dirname "$0")/lib.sh" "$@"
require_netns
mkdir "$T/www"
echo via-arp >"$T/www/f"
start_helper HTTP http "$T/www"
out=$("$VNAT" run --no-static-arp --stats -- sh -c \
    "curl -sS --max-time 10 http://10.0.2.2:$HTTP/f && ip neigh show 10.0.2.2" 2>"$T/stats") \
    || { cat "$T/stats" >&2; fail "fetch without static neighbour entries failed"; }
echo "$out"
echo "$out" | grep -q '^via-arp$' || fail "wrong body"
echo "$out" | grep -q 'lladdr 52:54:00:12:34:01' || fail "gateway MAC not learnt by ARP"
grep -qE 'arp_replies +[1-9]' "$T/stats" || fail "the core counted no ARP reply"
pass "fetch with the gateway found by ARP"
