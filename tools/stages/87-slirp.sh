# shellcheck shell=bash
# what: QEMU's own -netdev user and slirp4netns 1.2.0 on vnat's libslirp.so.0 (LD_LIBRARY_PATH, no rebuild): the vm stage's guest takes a DHCP lease, fetches 6 MB through 10.0.2.2 (SHA-256), is migrated to a second QEMU mid-transfer (its transfer reset, a new fetch works), resolves through 10.0.2.3 to the test's resolver, serves a page through hostfwd, info usernet lists vnat's flows; a slirp4netns namespace fetches, resolves and is reached through add_hostfwd
# budget: 90
# packages: libslirp-dev qemu-system-x86 busybox-static slirp4netns
#
# The stage runs host/tests/vm/run --slirp --migrate (the same guest,
# initramfs and checks as the vm stage, with a migration to a file and a
# second QEMU in the middle: slirp_state_save/load) on the release build's
# library: QEMU is not built
# with ASan, and an ASan-instrumented shared object cannot be loaded into an
# uninstrumented program (the ASan runtime must come first), so the dev
# build's library is tested by its pins (label slirp) and this stage takes
# the release one (stage release builds it). Then slirp/tests/slirp4netns.sh
# (same library, a namespace of its own) and slirp/tests/qemu-refusals.sh
# (guestfwd to a command and TFTP stop QEMU with its own error; a migration
# stream from Debian's libslirp is refused cleanly at the destination).
# Measured on 2 shared cores: 19-41 s for the migrated guest, 3 s for
# slirp4netns, 2-4 s for the refusals. Skips (77) when QEMU, busybox or a
# guest kernel is missing.
set -uo pipefail
. "$VNAT_ROOT/tools/lib/common.sh"
lib=$VNAT_BUILD_ROOT/release/slirp
[ -e "$lib/libslirp.so.0" ] || vnat_die "no release build of libslirp.so.0 in $lib (stage release failed?)"
kroot=$VNAT_BUILD_ROOT/vm-kernel
bash "$VNAT_ROOT/host/tests/vm/kernel" "$kroot" || vnat_die "no guest kernel in $kroot"
# One line per test in the run's totals, like the vm stage.
count() {
  [ -n "${VNAT_COUNTS:-}" ] || return 0
  case $1 in
    0) echo "1 0" >>"$VNAT_COUNTS" ;;
    77) ;;
    *) echo "0 1" >>"$VNAT_COUNTS" ;;
  esac
}
bash "$VNAT_ROOT/host/tests/vm/run" --slirp "$lib" --migrate --timeout 75 --kernel-root "$kroot"
rc=$?
count "$rc"
bash "$VNAT_ROOT/slirp/tests/slirp4netns.sh" "$lib"
rc4=$?
count "$rc4"
bash "$VNAT_ROOT/slirp/tests/qemu-refusals.sh" "$lib"
rcm=$?
count "$rcm"
# Failed if one failed; skipped only if all skipped.
for r in "$rc" "$rc4" "$rcm"; do
  if [ "$r" != 0 ] && [ "$r" != 77 ]; then exit "$r"; fi
done
[ "$rc$rc4$rcm" = 777777 ] && exit 77
exit 0
