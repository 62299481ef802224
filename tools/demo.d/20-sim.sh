# shellcheck shell=bash
# what: the simulator: every scenario of the catalogue, then a short seeded swarm
set -euo pipefail
. "$VNAT_ROOT/tools/lib/common.sh"
# The simulator is build/release/sim/vnat-sim (or `vnat sim` from the adapter
# binary, whichever exists). Its owner keeps these commands in step with
# sim/cli.c.
sim=()
if [ -x "$VNAT_BUILD_ROOT/release/sim/vnat-sim" ]; then
  sim=("$VNAT_BUILD_ROOT/release/sim/vnat-sim")
elif [ -x "$VNAT_BUILD_ROOT/release/host/vnat" ] && "$VNAT_BUILD_ROOT/release/host/vnat" sim help >/dev/null 2>&1; then
  sim=("$VNAT_BUILD_ROOT/release/host/vnat" sim)
else
  echo "not built yet: sim/ does not build vnat-sim"
  exit 77
fi
status=0
mapfile -t scenarios < <(find "$VNAT_ROOT/sim/scenarios" -name '*.scn' 2>/dev/null | sort)
if [ ${#scenarios[@]} -gt 0 ]; then
  echo "\$ vnat-sim run sim/scenarios/*.scn    (${#scenarios[@]} scenarios)"
  (cd "$VNAT_ROOT" && "${sim[@]}" run "${scenarios[@]#"$VNAT_ROOT"/}") || status=1
else
  echo "no scenarios in sim/scenarios/ yet"
fi
echo "\$ vnat-sim swarm --seeds 50 --from $VNAT_SEED --quiet"
"${sim[@]}" swarm --seeds 50 --from "$VNAT_SEED" --quiet || status=1
exit $status
