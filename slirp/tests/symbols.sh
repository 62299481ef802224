#!/bin/sh
# slirp/tests/symbols.sh OURS [REFERENCE] — the exported interface of our
# libslirp.so.0 against Debian's (default /usr/lib/x86_64-linux-gnu/
# libslirp.so.0, package libslirp0): every defined dynamic symbol with its
# ELF version (objdump -T), the version definitions with their parents and
# the SONAME (objdump -p). Any difference fails and is printed as a diff.
# Exit 0 same, 1 different, 77 no reference library or no objdump.
set -u
ours=$1
ref=${2:-/usr/lib/x86_64-linux-gnu/libslirp.so.0}
command -v objdump >/dev/null || { echo "SKIP: objdump not installed (binutils)"; exit 77; }
[ -e "$ref" ] || { echo "SKIP: no reference library $ref (package libslirp0)"; exit 77; }
[ -e "$ours" ] || { echo "FAIL: $ours does not exist"; exit 1; }

# "VERSION NAME" for every defined global or weak dynamic symbol.
symbols() {
    objdump -T "$1" | awk '
        / \*UND\*/ { next }
        $2 == "g" || $2 == "w" || $2 ~ /^[gw]/ { if (NF >= 4) print $(NF-1), $NF }' | sort -u
}
# The version definitions (index lines dropped: the names and their
# parents), then the SONAME.
versions() {
    objdump -p "$1" | awk '
        /^Version definitions:/ { on = 1; next }
        on && /^$/ { on = 0 }
        on && NF >= 4 { print "def", $4; next }
        on && NF == 1 { print "parent", $1 }
        $1 == "SONAME" { print "soname", $2 }'
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vnat-slirp-sym.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
{ symbols "$ref"; versions "$ref"; } >"$tmp/ref"
{ symbols "$ours"; versions "$ours"; } >"$tmp/ours"
n=$(grep -c '^SLIRP_4' "$tmp/ref")
if diff -u "$tmp/ref" "$tmp/ours"; then
    echo "PASS: $ours exports what $ref exports ($n versioned entries, version tree and SONAME)"
    exit 0
fi
echo "FAIL: the exported interface differs (- Debian's, + ours)"
exit 1
