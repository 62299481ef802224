#!/usr/bin/env bash
# packages: busybox-static (declared by tools/stages/80-integration.sh; busybox works too)
# A real DHCP client against the core's DHCP server (issue 5): busybox's
# udhcpc runs inside `vnat run` on tap0 and its script (-s) records the
# lease; the address, mask, router, DNS server, MTU and lease time must be
# the ones vnat configures (10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3,
# the run's MTU, 86400 s), and the core counts the lease. Run twice, with
# the default MTU and with --mtu 1400, so the MTU is seen to follow the
# configuration. udhcpc only records: the tap keeps the address vnat gave
# it. Skips (77) when busybox is not installed, as well as where
# namespaces are unavailable.
. "$(dirname "$0")/lib.sh" "$@"
require_netns
BB=$(command -v busybox) || { echo "SKIP: busybox is not installed (package busybox-static)"; exit 77; }
"$BB" udhcpc --help >/dev/null 2>&1 || { echo "SKIP: this busybox has no udhcpc"; exit 77; }

cat >"$T/record.sh" <<EOF
#!/bin/sh
# udhcpc calls this with deconfig, then bound (or leasefail, nak).
echo "\$1" >>"$T/events"
[ "\$1" = bound ] || exit 0
{
    echo "ip=\$ip"
    echo "subnet=\$subnet"
    echo "router=\$router"
    echo "dns=\$dns"
    echo "mtu=\$mtu"
    echo "lease=\$lease"
    echo "serverid=\$serverid"
} >"$T/lease"
EOF
chmod +x "$T/record.sh"

# lease_check MTU [vnat options]
lease_check() {
    local mtu=$1; shift
    rm -f "$T/lease" "$T/events"
    "$VNAT" run --stats "$@" -- "$BB" udhcpc -f -q -n -i tap0 -t 5 -T 1 -O mtu \
        -s "$T/record.sh" >"$T/udhcpc.out" 2>"$T/vnat.err"
    local rc=$?
    if [ $rc != 0 ] || [ ! -s "$T/lease" ]; then
        cat "$T/udhcpc.out" "$T/vnat.err" "$T/events" >&2
        fail "udhcpc got no lease (exit $rc)"
    fi
    grep -q "Sanitizer\|runtime error" "$T/vnat.err" && fail "sanitizer report"
    local want
    want=$(printf '%s\n' ip=10.0.2.15 subnet=255.255.255.0 router=10.0.2.2 dns=10.0.2.3 \
        "mtu=$mtu" lease=86400 serverid=10.0.2.2)
    if [ "$(cat "$T/lease")" != "$want" ]; then
        echo "got:" >&2; cat "$T/lease" >&2
        echo "want:" >&2; echo "$want" >&2
        fail "lease does not match vnat's configuration ($*)"
    fi
    grep -Eq '^vnat: +dhcp_leases +[1-9]' "$T/vnat.err" || fail "the core did not count the lease"
}

lease_check 65520
pass "udhcpc lease matches the defaults (MTU 65520)"
lease_check 1400 --mtu 1400
pass "udhcpc lease follows --mtu 1400"
