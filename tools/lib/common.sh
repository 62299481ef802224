# common.sh — sourced by tools/test, tools/demo, their stages and sections.
# Everything here is about running the project's own commands the same way on
# a developer's machine and in CI: one build root, two jobs, one seed.
# shellcheck shell=bash

VNAT_ROOT=${VNAT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# Where the builds go. Developers testing the tools themselves point this
# elsewhere (VNAT_BUILD_ROOT=build/ci-test) so they clobber no one's build.
VNAT_BUILD_ROOT=${VNAT_BUILD_ROOT:-$VNAT_ROOT/build}
case $VNAT_BUILD_ROOT in /*) ;; *) VNAT_BUILD_ROOT=$VNAT_ROOT/$VNAT_BUILD_ROOT ;; esac
VNAT_JOBS=${VNAT_JOBS:-2}
# Anything randomised (swarm, fuzz) takes its seed from here, so a red run
# reproduces: rerun with the VNAT_SEED it printed.
VNAT_SEED=${VNAT_SEED:-1}
export VNAT_ROOT VNAT_BUILD_ROOT VNAT_JOBS VNAT_SEED
export CMAKE_BUILD_PARALLEL_LEVEL=$VNAT_JOBS
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

vnat_say() { printf '%s\n' "$*"; }
vnat_die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# The "# key: value" header of a stage or section file.
vnat_header() { sed -n "s/^# $2: *//p" "$1" | head -n 1; }

# vnat_configure PRESET [cmake args...] — configure a preset into
# $VNAT_BUILD_ROOT/PRESET (the preset's own binaryDir is overridden).
vnat_configure() {
  local preset=$1; shift
  (cd "$VNAT_ROOT" && cmake --preset "$preset" -B "$VNAT_BUILD_ROOT/$preset" "$@")
}

# vnat_build PRESET [targets...]
vnat_build() {
  local preset=$1; shift
  local targets=()
  local t
  for t in "$@"; do targets+=(--target "$t"); done
  cmake --build "$VNAT_BUILD_ROOT/$preset" -j "$VNAT_JOBS" "${targets[@]}"
}

# vnat_ctest PRESET [ctest args...] — run ctest in a preset's build, print its
# own summary, and add its counts to the run's totals (VNAT_COUNTS).
vnat_ctest() {
  local preset=$1; shift
  local log rc=0
  log=$(mktemp)
  # "|| rc=" keeps a caller's set -e from leaving before the counts are kept.
  ctest --test-dir "$VNAT_BUILD_ROOT/$preset" -j "$VNAT_JOBS" --output-on-failure \
        --timeout 120 "$@" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
  local line total failed
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
  if [ -n "$line" ] && [ -n "${VNAT_COUNTS:-}" ]; then
    failed=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
    total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
    echo "$((total - failed)) $failed" >>"$VNAT_COUNTS"
  fi
  if [ -z "$line" ]; then
    grep -q 'No tests were found' "$log" && echo "ctest: no tests were found"
    rc=1
  fi
  rm -f "$log"
  return "$rc"
}

# vnat_claimed_labels — a ctest -LE regex of the labels that stages claim
# with a "# ctest-labels: a b" header: those tests run in their own stage
# (with their own budget), not again in pins-dev and coverage. Extra labels
# to leave out can be given as arguments.
vnat_claimed_labels() {
  local labels
  labels=$({ for f in "$VNAT_ROOT"/tools/stages/[0-9][0-9]-*.sh; do vnat_header "$f" ctest-labels; done
             printf '%s\n' "$@"; } | tr ' \t' '\n\n' | sed '/^$/d' | sort -u | paste -sd'|')
  [ -n "$labels" ] && echo "^($labels)\$"
}

# vnat_packages FILE... — the packages the base list and these stage or
# section files declare.
vnat_packages() {
  {
    sed -e 's/#.*//' "$VNAT_ROOT/tools/packages.txt"
    local f
    for f in "$@"; do vnat_header "$f" packages; done
  } | tr ' \t' '\n\n' | sed '/^$/d' | sort -u
}

# vnat_ensure_packages PKG... — install the missing ones (apt, as root).
vnat_ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    vnat_say "packages: all ${#} present"
    return 0
  fi
  vnat_say "packages: installing ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || vnat_die "missing packages (${missing[*]}); run as root"
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q </dev/null || return 1
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
}

# vnat_now — seconds since the epoch, with milliseconds.
vnat_now() { date +%s.%N | cut -c1-14; }
vnat_elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
