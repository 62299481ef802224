# shellcheck shell=bash
# what: ctest on the dev build: pins, purity, selftests, fuzz replays, sim scenarios (every label but those a later stage claims)
# budget: 180
# packages: iperf3
set -euo pipefail
. "$VNAT_ROOT/tools/lib/common.sh"
[ -f "$VNAT_BUILD_ROOT/dev/CTestTestfile.cmake" ] || vnat_die "no dev build (stage build-dev failed?)"
exclude=$(vnat_claimed_labels)
[ -z "$exclude" ] || echo "labels run by their own stage: $exclude"
vnat_ctest dev ${exclude:+-LE "$exclude"}
broken=$(python3 "$VNAT_ROOT/tools/list-broken" --count)
echo "pins still BROKEN_ON_PURPOSE: $broken (tools/list-broken lists them with reasons)"
