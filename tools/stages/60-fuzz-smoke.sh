# shellcheck shell=bash
# what: fuzz preset (clang, libFuzzer + ASan + UBSan); each fuzz_* target runs briefly from a fixed seed
# budget: 170
# packages: clang libclang-rt-14-dev
set -euo pipefail
. "$VNAT_ROOT/tools/lib/common.sh"
# Runs per target (VNAT_FUZZ_RUNS), capped at VNAT_FUZZ_SECONDS (30) each. The seed is the run's VNAT_SEED,
# so a crash found here reproduces with the same command.
runs=${VNAT_FUZZ_RUNS:-20000}
if [ ! -f "$VNAT_ROOT/fuzz/CMakeLists.txt" ] || ! grep -q '"name": "fuzz"' "$VNAT_ROOT/CMakePresets.json"; then
  echo "skipped: no fuzz/ targets in this tree yet"
  exit 77
fi
vnat_configure fuzz
# Build only the fuzzers (and what they link): the rest of the tree is built
# and tested by the gcc stages.
mapfile -t fuzzers < <(cmake --build "$VNAT_BUILD_ROOT/fuzz" --target help |
                       sed -n 's/^\.\.\. \(fuzz_[A-Za-z0-9_]*\).*/\1/p' | grep -v '^fuzz_replay_' | sort -u)
if [ ${#fuzzers[@]} -eq 0 ]; then
  echo "skipped: the fuzz preset declares no fuzz_* targets"
  exit 77
fi
status=0
for f in "${fuzzers[@]}"; do
  if ! vnat_build fuzz "$f" >"$VNAT_BUILD_ROOT/fuzz/build-$f.log" 2>&1; then
    echo "FAIL: $f does not build with clang:"
    grep -E 'error|Error' "$VNAT_BUILD_ROOT/fuzz/build-$f.log" | head -n 20
    status=1
  fi
done
# Every libFuzzer executable is named fuzz_*; fuzz_replay_* are the plain
# replayers that ctest runs on the corpora, not fuzzers.
mapfile -t targets < <(find "$VNAT_BUILD_ROOT/fuzz/fuzz" -maxdepth 2 -type f -name 'fuzz_*' \
                         ! -name 'fuzz_replay_*' -perm -u+x 2>/dev/null | sort)
artifacts=$VNAT_BUILD_ROOT/fuzz/artifacts
rm -rf "$artifacts"; mkdir -p "$artifacts"
if [ ${#targets[@]} -eq 0 ]; then
  echo "no fuzz_* executable was built"
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in "${targets[@]}"; do
  name=$(basename "$t")
  # Start from the checked-in seed corpus if there is one, copied so that
  # libFuzzer's new inputs never land in the source tree.
  corpus=$work/$name
  mkdir -p "$corpus"
  for d in "$VNAT_ROOT/fuzz/corpus/$name" "$VNAT_ROOT/fuzz/corpus/${name#fuzz_}"; do
    [ -d "$d" ] && cp -r "$d/." "$corpus/"
  done
  dict=()
  for d in "$VNAT_ROOT/fuzz/dict/$name.dict" "$VNAT_ROOT/fuzz/dict/${name#fuzz_}.dict"; do
    [ -f "$d" ] && dict=("-dict=$d") && break
  done
  # Per-target runs from fuzz/smoke.conf (each sized for ~30 s) unless
  # VNAT_FUZZ_RUNS asks for one count for all.
  truns=$runs
  if [ -z "${VNAT_FUZZ_RUNS:-}" ] && [ -f "$VNAT_ROOT/fuzz/smoke.conf" ]; then
    truns=$(awk -v n="${name#fuzz_}" '$1 == n { print $2 }' "$VNAT_ROOT/fuzz/smoke.conf")
    truns=${truns:-$runs}
  fi
  t0=$(vnat_now)
  if (cd "$work" && "$t" -seed="$VNAT_SEED" -runs="$truns" -max_total_time="${VNAT_FUZZ_SECONDS:-30}" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/$name-" \
        "${dict[@]}" "$corpus" >"$work/$name.log" 2>&1); then
    echo "fuzz $name: $truns runs from seed $VNAT_SEED, no crash ($(vnat_elapsed "$t0" "$(vnat_now)")s)" \
         "$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$work/$name.log" || true)"
  else
    status=1
    echo "FAIL: fuzz $name crashed or failed (seed $VNAT_SEED); its log:"
    tail -n 60 "$work/$name.log"
    ls "$artifacts" | sed "s|^|  artifact: ${artifacts#"$VNAT_ROOT"/}/|" || true
    echo "reproduce: VNAT_SEED=$VNAT_SEED tools/test fuzz"
  fi
done
# Determinism across compilers: a swarm seed must give the same trace in the
# gcc dev build and in this clang build (several draws in one argument list
# once ran in an unspecified order and made them differ). Skipped without a
# dev build, i.e. when this stage runs alone.
dev_sim=$VNAT_BUILD_ROOT/dev/sim/vnat-sim
if [ -x "$dev_sim" ] && vnat_build fuzz vnat-sim >"$VNAT_BUILD_ROOT/fuzz/build-vnat-sim.log" 2>&1; then
  clang_sim=$VNAT_BUILD_ROOT/fuzz/sim/vnat-sim
  differ=0
  for s in $(seq 1 30); do
    a=$("$dev_sim" replay "$s" 2>/dev/null | sed -n 's/^trace hash \([0-9a-f]*\).*/\1/p')
    b=$("$clang_sim" replay "$s" 2>/dev/null | sed -n 's/^trace hash \([0-9a-f]*\).*/\1/p')
    if [ -z "$a" ] || [ "$a" != "$b" ]; then
      echo "FAIL: swarm seed $s: gcc trace hash '${a}', clang trace hash '${b}'"
      differ=$((differ + 1))
    fi
  done
  if [ "$differ" -eq 0 ]; then
    echo "determinism across compilers: swarm seeds 1..30 give the same trace hash with gcc and clang"
  else
    status=1
  fi
elif [ -x "$dev_sim" ]; then
  echo "FAIL: vnat-sim does not build with clang:"
  grep -E 'error|Error' "$VNAT_BUILD_ROOT/fuzz/build-vnat-sim.log" | head -n 20
  status=1
else
  echo "determinism across compilers: skipped (no dev build of vnat-sim)"
fi
exit $status
