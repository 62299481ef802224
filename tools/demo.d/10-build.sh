# shellcheck shell=bash
# what: build the release preset (-O2) and list what it produced
set -euo pipefail
. "$VNAT_ROOT/tools/lib/common.sh"
vnat_configure release >/dev/null
vnat_build release >/dev/null
b=$VNAT_BUILD_ROOT/release
echo "built in ${b#"$VNAT_ROOT"/}:"
for f in core/libvnat.a sim/vnat-sim host/vnat; do
  if [ -e "$b/$f" ]; then
    printf '  %-16s %8s bytes\n' "$f" "$(stat -c %s "$b/$f")"
  else
    printf '  %-16s not built yet\n' "$f"
  fi
done
echo "core purity of the release library:"
"$VNAT_ROOT/tools/check-purity" "$b/core/libvnat.a" | sed 's/^/  /'
