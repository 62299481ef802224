#!/usr/bin/env bash
# The host's own addresses (issue 5): a service on a host address that is
# not loopback is refused to the guest by default (TCP reset, UDP dropped,
# both counted), is reached with --allow-host-addrs or a user's --allow, and
# the gateway -> host loopback mapping keeps working throughout. So that no
# real interface is touched, the test runs vnat inside a network namespace
# of its own (unshare -n) holding a veth pair with 10.199.0.1 on one end;
# the namespace, and with it the veth, goes when the test ends.
. "$(dirname "$0")/lib.sh" "$@"

if [ "${VNAT_IT_INNER:-}" != 1 ]; then
    require_netns
    command -v unshare >/dev/null || { echo "SKIP: no unshare"; exit 77; }
    unshare -n true 2>/dev/null || { echo "SKIP: unshare -n unavailable"; exit 77; }
    VNAT_IT_INNER=1 unshare -n bash "${BASH_SOURCE[0]}" "$@"
    exit $?
fi

# Inside the private namespace.
HOSTADDR=10.199.0.1
ip link set lo up || fail "lo up"
ip link add vnat-ha0 type veth peer name vnat-ha1 || { echo "SKIP: no veth"; exit 77; }
trap 'ip link del vnat-ha0 2>/dev/null; cleanup' EXIT
ip addr add "$HOSTADDR/24" dev vnat-ha0 || fail "address on the veth"
ip link set vnat-ha0 up || fail "veth up"
ip link set vnat-ha1 up || fail "veth peer up"

start_helper HOSTP hello "$HOSTADDR" on-host-addr
start_helper LOOPP hello 127.0.0.1 on-loopback
start_helper UDPP udp-echo "$HOSTADDR"
ASK="python3 $HERE/helpers.py"

# Default: the host address is refused, the gateway still reaches loopback.
out=$("$VNAT" run --stats -- sh -c "
    $ASK hello-ask $HOSTADDR $HOSTP; echo tcp=\$?
    $ASK hello-ask 10.0.2.2 $LOOPP
    timeout 10 $ASK udp-ask $HOSTADDR $UDPP ping; echo udp=\$?" 2>"$T/stats") \
    || { cat "$T/stats" >&2; fail "vnat run failed: $out"; }
echo "$out" | grep -qx "refused" || fail "host address not refused with a reset: $out"
echo "$out" | grep -qx "tcp=3" || fail "host address TCP: $out"
echo "$out" | grep -qx "on-loopback" || fail "gateway -> loopback broken: $out"
echo "$out" | grep -qx "udp=1" || fail "host address UDP answered: $out"
grep -q "rst policy" "$T/stats" || fail "no policy reset counted"
n=$(sed -n 's/.*drop policy_denied *//p' "$T/stats")
[ "${n:-0}" -ge 2 ] || fail "policy drops counted: ${n:-0}, expected >= 2 (TCP and UDP)"
pass "host address refused by default, gateway mapping kept"

# Opt-out flag: every host address is reachable again.
out=$("$VNAT" run --allow-host-addrs -- sh -c "
    $ASK hello-ask $HOSTADDR $HOSTP
    timeout 10 $ASK udp-ask $HOSTADDR $UDPP ping
    $ASK hello-ask 10.0.2.2 $LOOPP") || fail "vnat run --allow-host-addrs: $out"
[ "$(echo "$out" | tr '\n' ' ')" = "on-host-addr gnip on-loopback " ] \
    || fail "with --allow-host-addrs: $out"
pass "--allow-host-addrs reaches the host address"

# A user's --allow opens that one address (it precedes the host's rules).
out=$("$VNAT" run --allow "$HOSTADDR/32" -- sh -c "
    $ASK hello-ask $HOSTADDR $HOSTP
    $ASK hello-ask 10.0.2.2 $LOOPP") || fail "vnat run --allow: $out"
[ "$(echo "$out" | tr '\n' ' ')" = "on-host-addr on-loopback " ] || fail "with --allow: $out"
pass "--allow opens one host address"
