# shellcheck shell=bash
# what: the real adapter end to end: namespaces, tap, loopback servers (ctest label integration, dev build)
# budget: 140
# ctest-labels: integration
# packages: iproute2 curl python3 busybox-static
set -euo pipefail
. "$VNAT_ROOT/tools/lib/common.sh"
[ -f "$VNAT_BUILD_ROOT/dev/CTestTestfile.cmake" ] || vnat_die "no dev build (stage build-dev failed?)"
if ctest --test-dir "$VNAT_BUILD_ROOT/dev" -N -L '^integration$' | grep -q 'Total Tests: 0'; then
  echo "skipped: no test carries the label integration yet"
  exit 77
fi
vnat_ctest dev -L '^integration$'
