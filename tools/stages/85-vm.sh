# shellcheck shell=bash
# what: a real Linux guest (QEMU under TCG, Debian kernel, busybox initramfs) against vnat serve: DHCP lease, ping, 6 MB fetch, DNS, port forward (dev build)
# budget: 90
# packages: qemu-system-x86 busybox-static
#
# The stage runs host/tests/vm/run (see its header) on the dev build's vnat.
# It is not a ctest test: one QEMU boot is the whole stage, counted as one
# test in the run's totals. Measured on 2 shared cores: 30-40 s (boot to
# lease 10-25 s under TCG); the guest's own timeout is 80 s, inside the
# budget. The guest kernel is Debian's linux-image-amd64, unpacked into the
# build root by host/tests/vm/kernel (shared with 87-slirp.sh). Skips (77)
# when QEMU or busybox is missing.
set -uo pipefail
. "$VNAT_ROOT/tools/lib/common.sh"
vnat=$VNAT_BUILD_ROOT/dev/host/vnat
[ -x "$vnat" ] || vnat_die "no dev build at $vnat (stage build-dev failed?)"
kroot=$VNAT_BUILD_ROOT/vm-kernel
bash "$VNAT_ROOT/host/tests/vm/kernel" "$kroot" || vnat_die "no guest kernel in $kroot"
bash "$VNAT_ROOT/host/tests/vm/run" --vnat "$vnat" --timeout 80 --kernel-root "$kroot"
rc=$?
if [ -n "${VNAT_COUNTS:-}" ]; then
  case $rc in
    0) echo "1 0" >>"$VNAT_COUNTS" ;;
    77) ;;
    *) echo "0 1" >>"$VNAT_COUNTS" ;;
  esac
fi
exit "$rc"
