#!/bin/sh
# The adapter's layering, read from the built libraries (ctest host.layering):
#   1. vnat_host_io (socket operations, guest link) references no epoll
#      symbol: a front end that waits with poll() links it as it is;
#   2. neither adapter library references a symbol the simulator defines;
#   3. no file of host/ includes a header of sim/.
# usage: check_layering.sh LIBVNAT_HOST_IO LIBVNAT_HOST LIBVNAT_SIM|none HOST_DIR SIM_DIR
set -eu
io=$1 host=$2 sim=$3 hostdir=$4 simdir=$5
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

nm -u "$io" | awk '{print $NF}' | sort -u >"$tmp/io_undef"
if grep -i epoll "$tmp/io_undef" >"$tmp/bad"; then
    echo "FAIL: vnat_host_io references epoll:"
    sed 's/^/  /' "$tmp/bad"
    fail=1
fi

if [ "$sim" != none ]; then
    nm -g --defined-only "$sim" | awk 'NF == 3 {print $3}' | sort -u >"$tmp/sim_def"
    for lib in "$io" "$host"; do
        nm -u "$lib" | awk '{print $NF}' | sort -u >"$tmp/undef"
        comm -12 "$tmp/undef" "$tmp/sim_def" >"$tmp/bad"
        if [ -s "$tmp/bad" ]; then
            echo "FAIL: $(basename "$lib") references simulator symbols:"
            sed 's/^/  /' "$tmp/bad"
            fail=1
        fi
    done
fi

for hdr in "$simdir"/*.h; do
    name=$(basename "$hdr")
    if grep -n "^[[:space:]]*#[[:space:]]*include[[:space:]]*[\"<]\(sim/\)\?$name[\">]" \
        "$hostdir"/*.c "$hostdir"/*.h >"$tmp/bad"; then
        echo "FAIL: host/ includes the simulator's $name:"
        sed 's/^/  /' "$tmp/bad"
        fail=1
    fi
done

[ "$fail" = 0 ] && echo "host layering ok: vnat_host_io has no epoll symbol; host/ uses nothing of sim/"
exit "$fail"
