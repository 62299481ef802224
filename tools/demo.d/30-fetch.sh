# shellcheck shell=bash
# what: a real fetch: curl inside `vnat run` from a python3 http.server on the host's loopback
# packages: curl iproute2 python3
set -euo pipefail
. "$VNAT_ROOT/tools/lib/common.sh"
vnat=$VNAT_BUILD_ROOT/release/host/vnat
if [ ! -x "$vnat" ]; then
  echo "not built yet: host/ does not build the vnat adapter"
  exit 77
fi
# Traffic stays on this machine: the server listens on 127.0.0.1 and the guest
# reaches it through the gateway address vnat maps to host loopback.
dir=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$dir"' EXIT
echo "hello from the host, through vnat" >"$dir/hello.txt"
port=${VNAT_DEMO_PORT:-18080}
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir" >"$dir/server.log" 2>&1 &
server=$!
for _ in $(seq 50); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && break
  sleep 0.1
done
# The adapter's owner keeps the gateway address in step with vnat's defaults.
gateway=${VNAT_DEMO_GATEWAY:-10.0.2.2}
echo "\$ vnat run -- curl http://$gateway:$port/hello.txt"
t0=$(vnat_now)
out=$(timeout 60 "$vnat" run -- curl -sS --max-time 20 "http://$gateway:$port/hello.txt")
echo "$out"
echo "fetched $(printf '%s' "$out" | wc -c) bytes in $(vnat_elapsed "$t0" "$(vnat_now)")s"
[ "$out" = "hello from the host, through vnat" ]
