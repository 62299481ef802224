# shellcheck shell=bash
# what: clang-format, clang-tidy (.clang-tidy) and cppcheck, all clean (tools/lint/run)
# budget: 170
# packages: clang-format clang-tidy cppcheck
set -euo pipefail
. "$VNAT_ROOT/tools/lib/common.sh"
# clang-tidy and cppcheck read the dev build's compile_commands.json.
[ -f "$VNAT_BUILD_ROOT/dev/compile_commands.json" ] || vnat_configure dev >/dev/null
python3 "$VNAT_ROOT/tools/lint/run"
