# shellcheck shell=bash
# what: a few one-token mutants of core/ from a seed that changes every run (tools/mutate --in-place on the dev build, suite ci); prints each survivor's replay line, never fails on one
# budget: 90
#
# Issue 14 item 8: planted faults the suite must catch. The seed is the
# run's clock (VNAT_MUTATE_SEED overrides it) and is printed with the
# replay line of the whole sample, so any result reproduces. A survivor is
# reported with `tools/mutate --site ID --suite ci --in-place build/dev`
# and does not make the run red: the sample is random, and a red CI must
# mean a defect of the tree, not an unlucky draw (the score is measured on
# larger samples, docs/contributing.md). The stage fails only if the
# mutation machinery itself fails (the unmutated tree does not build, a
# usage error). Each mutant rebuilds build/dev incrementally and runs the
# ci suite (no swarm, host, slirp, integration or vm labels), the pins
# first, up to its first failing test: 5-15 s for a killed mutant, 35-45 s
# for a survivor on 2 shared cores (4 killed ones: 46 s); no new mutant starts after 30 s, so the
# stage stays under its budget with one survivor running at the end.
set -uo pipefail
. "$VNAT_ROOT/tools/lib/common.sh"
[ -f "$VNAT_BUILD_ROOT/dev/CMakeCache.txt" ] || vnat_die "no dev build (stage build-dev failed?)"
seed=${VNAT_MUTATE_SEED:-$(date +%s)}
core_state() { git -C "$VNAT_ROOT" diff -- core | sha256sum; }
before=$(core_state)
python3 "$VNAT_ROOT/tools/mutate" --in-place "$VNAT_BUILD_ROOT/dev" --suite ci --seed "$seed" \
  --count 4 --budget 30 --report-only --jobs "${VNAT_JOBS:-2}"
rc=$?
# The tree must be as it was: in-place mode puts every file back.
if [ "$(core_state)" != "$before" ]; then
  git -C "$VNAT_ROOT" diff --stat -- core
  vnat_die "tools/mutate left core/ changed"
fi
exit "$rc"
