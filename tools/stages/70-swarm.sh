# shellcheck shell=bash
# what: the simulator's seeded swarm and determinism check (ctest label swarm, dev build)
# budget: 100
# ctest-labels: swarm
# packages: parallel
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
# The shard engine of the long campaigns (GNU parallel, tools/campaign
# shards) on a short range beyond the ctest seeds: 4 shards of 10 seeds.
bash "$VNAT_ROOT/tools/campaign" shards --seeds 40 --from 1001 --shard 10
