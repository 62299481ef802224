# shellcheck shell=bash
# what: the simulator's seeded swarm and determinism check (ctest label swarm, dev build)
# budget: 190
# ctest-labels: swarm
set -euo pipefail
. "$VNAT_ROOT/tools/lib/common.sh"
[ -f "$VNAT_BUILD_ROOT/dev/CTestTestfile.cmake" ] || vnat_die "no dev build (stage build-dev failed?)"
if ctest --test-dir "$VNAT_BUILD_ROOT/dev" -N -L '^swarm$' | grep -q 'Total Tests: 0'; then
  echo "skipped: no test carries the label swarm yet"
  exit 77
fi
# The seeds are fixed where the tests are declared (sim/CMakeLists.txt), so
# a red swarm reproduces with the command the failing test prints.
vnat_ctest dev -L '^swarm$'
