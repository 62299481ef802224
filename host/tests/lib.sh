# lib.sh — shared by vnat's integration tests (sourced). Usage in a test:
#   . "$(dirname "$0")/lib.sh" "$@"     ($1 = path to the vnat binary)
# Tests exit 0 on success, 1 on failure, 77 (ctest SKIP_RETURN_CODE) only
# when this machine cannot create namespaces or tap devices. All traffic
# stays on loopback and in the namespace vnat creates.
set -u
VNAT=${1:?usage: TEST path/to/vnat}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HELPERS="python3 -u $HERE/helpers.py"
T=$(mktemp -d "${TMPDIR:-/tmp}/vnat-it.XXXXXX")
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }

# Skip (77) only when namespaces or /dev/net/tun are unavailable.
require_netns() {
    if ! "$VNAT" run -- true 2>"$T/probe.err"; then
        if grep -q "unavailable:" "$T/probe.err"; then
            echo "SKIP: $(grep -m1 unavailable: "$T/probe.err")"
            exit 77
        fi
        cat "$T/probe.err" >&2
        fail "vnat run -- true failed"
    fi
}

# start_helper VAR ARGS...: run a helper in the background, wait for the
# port it prints, store it in VAR.
start_helper() {
    local var=$1; shift
    local out="$T/helper.$RANDOM.out"
    $HELPERS "$@" >"$out" 2>"$out.err" &
    PIDS+=($!)
    local i
    for i in $(seq 1 100); do
        if [ -s "$out" ]; then
            printf -v "$var" '%s' "$(head -n1 "$out")"
            return 0
        fi
        sleep 0.05
    done
    cat "$out.err" >&2
    fail "helper $* did not start"
}

# CPU ticks (utime + stime) of a process, from /proc/PID/stat.
cpu_ticks() {
    awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
