#!/usr/bin/env bash
# A guest with its own MAC on vnat serve (issue 14 item 5), the MACs drawn
# at random (printed, to reproduce a failure): a first guest with MAC A is
# served (TCP both ways), every frame toward it at A, while an ARP request
# from MAC B on its link is dropped (A is held); it goes away (a VM restart)
# and a new guest with MAC B gets ARP, DHCP and TCP: vnat forgot A when the
# link closed. Then `--guest-mac A` fixes A: a guest with MAC B gets nothing
# at all, one with A is served, and nothing is learned.
. "$(dirname "$0")/lib.sh" "$@"
CLIENT=${2:?usage: it_serve_mac.sh VNAT SERVE_CLIENT}
rand_mac() { # unicast, locally administered
  local b
  read -r -a b < <(od -An -N6 -tu1 /dev/urandom)
  printf '%02x:%02x:%02x:%02x:%02x:%02x' $(((b[0] & 0xfc) | 2)) "${b[1]}" "${b[2]}" "${b[3]}" \
    "${b[4]}" "${b[5]}"
}
A=$(rand_mac)
B=$(rand_mac)
while [ "$B" = "$A" ]; do B=$(rand_mac); done
echo "it_serve_mac: guest MACs A=$A B=$B"

"$VNAT" serve --socket "$T/sock" --stats 2>"$T/serve.err" &
VPID=$!
PIDS+=("$VPID")
"$CLIENT" --mac "$A" --mac2 "$B" --restart "$T/sock" ||
  { cat "$T/serve.err" >&2; fail "serve_client with MACs $A then $B"; }
kill -TERM $VPID
wait $VPID
rc=$?
[ $rc -eq 0 ] || { cat "$T/serve.err" >&2; fail "vnat serve exited $rc after SIGTERM"; }
grep -q "guest_macs_learned *2$" "$T/serve.err" || { cat "$T/serve.err" >&2; fail "not 2 MACs learned"; }
grep -q "drop spoofed_source *1$" "$T/serve.err" || { cat "$T/serve.err" >&2; fail "B's ARP on A's link not dropped"; }
grep -q "arp_replies *1$" "$T/serve.err" || { cat "$T/serve.err" >&2; fail "no ARP reply counted"; }

"$VNAT" serve --socket "$T/sock2" --guest-mac "$A" --stats 2>"$T/serve2.err" &
VPID=$!
PIDS+=("$VPID")
"$CLIENT" --mac "$B" --silent "$T/sock2" || { cat "$T/serve2.err" >&2; fail "a guest with MAC $B was answered"; }
"$CLIENT" --mac "$A" --restart "$T/sock2" || { cat "$T/serve2.err" >&2; fail "the guest with the fixed MAC $A"; }
kill -TERM $VPID
wait $VPID
rc=$?
[ $rc -eq 0 ] || { cat "$T/serve2.err" >&2; fail "vnat serve --guest-mac exited $rc after SIGTERM"; }
grep -q "guest_macs_learned *0$" "$T/serve2.err" || { cat "$T/serve2.err" >&2; fail "a MAC learned despite --guest-mac"; }
grep -q "drop spoofed_source *2$" "$T/serve2.err" || { cat "$T/serve2.err" >&2; fail "B's ARP and DHCP not dropped"; }
grep -q "guest_mac *$A$" "$T/serve2.err" || { cat "$T/serve2.err" >&2; fail "the fixed MAC not reported"; }
pass "vnat serve: guests with their own MACs ($A, $B), learned and fixed"
