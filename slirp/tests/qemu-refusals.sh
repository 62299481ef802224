#!/usr/bin/env bash
# slirp/tests/qemu-refusals.sh LIBDIR — what vnat's libslirp.so.0 does not
# do, or must not accept, fails cleanly in QEMU with QEMU's own error: a
# guestfwd to a command and a TFTP directory (with a hostfwd, so QEMU
# notices the missing network) each stop QEMU at start (exit 1, our message
# and QEMU's); and a migration stream that is not vnat's: a paused VM on
# Debian's own libslirp (no LD_LIBRARY_PATH) migrates to a file
# (`migrate "exec:cat > F"`), and a second QEMU on our library with
# `-incoming "exec:cat F"` refuses it: its slirp_state_load says the stream
# is not vnat's, QEMU prints "error while loading state ... 'slirp'" and
# exits 1 (no crash, no VM running on a network that is not the one saved).
# A vnat-to-vnat migration is host/tests/vm/run --slirp DIR --migrate.
# Exit 0 when all that is what happens, 1 otherwise, 77 without QEMU.
set -uo pipefail
LIB=$(cd "${1:?usage: qemu-refusals.sh LIBDIR}" && pwd) || exit 1
QEMU=$(command -v qemu-system-x86_64) || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/vnat-mig.XXXXXX")
Q1=""
cleanup() { [ -n "$Q1" ] && kill "$Q1" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
vm=(-accel tcg -machine pc -m 64 -nographic -nodefaults -display none
    -netdev "user,id=n0" -device "virtio-net-pci,netdev=n0,romfile=")
"$QEMU" "${vm[@]}" -S -monitor "unix:$T/mon,server=on,wait=off" \
    >"$T/source.out" 2>&1 &
Q1=$!
for _ in $(seq 1 100); do [ -S "$T/mon" ] && break; sleep 0.05; done
HMP="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/host/tests/vm/hmp.py"
python3 "$HMP" "$T/mon" "migrate \"exec:cat > $T/stream\"" >"$T/hmp.out" 2>&1
done=0
for _ in $(seq 1 100); do
    python3 "$HMP" "$T/mon" "info migrate" >>"$T/hmp.out" 2>&1
    grep -q "Migration status: completed" "$T/hmp.out" && { done=1; break; }
    sleep 0.1
done
[ "$done" = 1 ] || { echo "FAIL: the migration to a file did not complete"; cat "$T/hmp.out" "$T/source.out"; exit 1; }
python3 "$HMP" "$T/mon" quit >>"$T/hmp.out" 2>&1
wait "$Q1" 2>/dev/null
Q1=""
FAILS=0
LD_LIBRARY_PATH=$LIB timeout 30 "$QEMU" "${vm[@]}" -incoming "exec:cat $T/stream" >"$T/dest.out" 2>&1
rc=$?
cat "$T/dest.out"
[ "$rc" = 1 ] || { echo "FAIL: the incoming QEMU exited $rc, want 1"; FAILS=1; }
grep -q "vnat-slirp: cannot load slirp state: not a vnat stream" "$T/dest.out" || { echo "FAIL: no message from slirp_state_load"; FAILS=1; }
grep -q "error while loading state for instance 0x0 of device 'slirp'" "$T/dest.out" \
    || { echo "FAIL: QEMU did not report the slirp section"; FAILS=1; }
# refused NETDEV OURS QEMUS: QEMU with -netdev NETDEV exits 1 at start,
# printing our message (OURS) and its own (QEMUS).
refused() {
    LD_LIBRARY_PATH=$LIB timeout 30 "$QEMU" -accel tcg -machine pc -m 64 -nographic -nodefaults \
        -display none -S -netdev "$1" -device "virtio-net-pci,netdev=n0,romfile=" >"$T/r.out" 2>&1
    local rc=$?
    if [ "$rc" = 1 ] && grep -q "vnat-slirp: $2" "$T/r.out" && grep -q "$3" "$T/r.out"; then
        echo "PASS: -netdev $1 refused: $(tr '\n' ' ' <"$T/r.out")"
    else
        echo "FAIL: -netdev $1: exit $rc, want 1 with '$2' and '$3':"; cat "$T/r.out"; FAILS=1
    fi
}
refused "user,id=n0,guestfwd=tcp:10.0.2.100:1234-cmd:cat" "guestfwd to a command" \
    "Conflicting/invalid host:port in guest forwarding rule"
refused "user,id=n0,tftp=/nonexistent,hostfwd=tcp:127.0.0.1:0-:22" "bad configuration: TFTP" \
    "Could not set up host forwarding rule"
[ "$FAILS" = 0 ] || exit 1
echo "PASS: guestfwd, TFTP and a migration stream from libslirp fail cleanly in QEMU with its own errors"
