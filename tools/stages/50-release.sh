# shellcheck shell=bash
# what: release build (-O2; benchmarks must compile), install into a scratch prefix, embed via pkg-config
# budget: 90
# packages: pkg-config
set -euo pipefail
. "$VNAT_ROOT/tools/lib/common.sh"
vnat_configure release
vnat_build release
vnat_ctest release -L install
