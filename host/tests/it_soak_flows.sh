#!/usr/bin/env bash
# Soak of many concurrent flows (issue 14 item 6): VNAT_SOAK_TCP TCP
# connections (default 10 000) and VNAT_SOAK_UDP UDP sockets (default 1 000)
# through `vnat run --max-flows 16384`, all held open for VNAT_SOAK_SECONDS
# once all are open (default 30). `tools/campaign soak-flows --minutes 5`
# runs the full one on the release build; ctest host.soak_flows runs a
# 30-second variant with 2 000 TCP and 200 UDP flows under the sanitizers.
# Each TCP connection echoes random bytes every few seconds (SHA-256 of what
# went and what came back, per connection), each UDP socket asks every few
# seconds. Checked: every connection and socket succeeded (nothing lost);
# vnat held at least one descriptor per flow at once; its descriptors and
# resident memory stayed flat through the hold (sampled every second); and
# once the guest is done and idle, vnat uses no CPU (at most 3 ticks in 3 s).
. "$(dirname "$0")/lib.sh" "$@"
require_netns
SECS=${VNAT_SOAK_SECONDS:-30}
NTCP=${VNAT_SOAK_TCP:-10000}
NUDP=${VNAT_SOAK_UDP:-1000}
IDLE=6
ulimit -n 65536 2>/dev/null || ulimit -Sn "$(ulimit -Hn)"
start_helper TPORT hold-echo
start_helper UPORT udp-echo
export VNAT_SOAK_MARKS="$T/marks"
"$VNAT" run --max-flows 16384 --stats -- sh -c \
    "ulimit -n 65536 2>/dev/null; timeout $((SECS + 180)) python3 -u '$HERE/helpers.py' hold-client $NTCP $NUDP $SECS 10.0.2.2 $TPORT $UPORT; rc=\$?; sleep $IDLE; exit \$rc" \
    >"$T/soak.out" 2>"$T/stats" &
VPID=$!
PIDS+=("$VPID")
: >"$T/samples"
while kill -0 $VPID 2>/dev/null; do
    fds=$(ls /proc/$VPID/fd 2>/dev/null | wc -l)
    rss=$(awk '/^VmRSS/ { print $2 }' /proc/$VPID/status 2>/dev/null)
    cpu=$(awk '{ print $14 + $15 }' /proc/$VPID/stat 2>/dev/null)
    [ -n "$rss" ] && echo "$(date +%s.%N) ${fds:-0} ${rss:-0} ${cpu:-0}" >>"$T/samples"
    sleep 1
done
wait $VPID; rc=$?
[ -n "${VNAT_SOAK_KEEP:-}" ] && cp "$T/samples" "$T/marks" "$VNAT_SOAK_KEEP"/
cat "$T/soak.out"
grep -E "flows_total|drop (flow_limit|rate_limit|host_error)" "$T/stats" | head -5
[ $rc = 0 ] || { tail -20 "$T/stats" >&2; fail "soak client or vnat failed (exit $rc)"; }
grep -q "Sanitizer\|runtime error" "$T/stats" && fail "sanitizer report"
python3 - "$T/soak.out" "$T/samples" "$T/marks" "$NTCP" "$NUDP" "$SECS" <<'PY' || fail "soak checks failed"
import json, sys
out, samples, marksf = sys.argv[1:4]
ntcp, nudp, secs = map(int, sys.argv[4:7])
r = json.loads(open(out).read().strip().splitlines()[-1])
s = [(float(a), int(b), int(c), int(d)) for a, b, c, d in (l.split() for l in open(samples) if l.strip())]
marks = dict((l.split()[0], float(l.split()[1])) for l in open(marksf) if l.strip())
bad = []
if r["tcp_ok"] != ntcp or r["tcp_failed"] or r["udp_failed"]:
    bad.append("flows failed: %s" % r)
peak = max(x[1] for x in s)
if peak < ntcp + nudp // 2:
    bad.append("at most %d descriptors: the flows were not all open at once" % peak)
# The hold: from every TCP connection open and every UDP socket answered
# until the client starts closing.
t_open, t_close = marks.get("all-open"), marks.get("closing")
if t_open is None or t_close is None:
    bad.append("the client marked no hold (marks: %s)" % marks)
    t_open, t_close = 0, 0
hold = [x for x in s if t_open + 1 <= x[0] <= t_close - 1]
if len(hold) >= 3:
    f = [x[1] for x in hold]; m = [x[2] for x in hold]
    if max(f) - min(f) > (ntcp + nudp) // 100 + 16:
        bad.append("descriptors moved %d..%d during the hold" % (min(f), max(f)))
    if max(m) - min(m) > max(m) // 10 + 2048:
        bad.append("RSS moved %d..%d KiB during the hold" % (min(m), max(m)))
else:
    bad.append("too few samples in the hold (%d)" % len(hold))
tail = s[-4:]
if len(tail) >= 4 and tail[-1][3] - tail[0][3] > 3:
    bad.append("idle CPU: %d ticks in the last %.0f s" % (tail[-1][3] - tail[0][3], tail[-1][0] - tail[0][0]))
f = [x[1] for x in hold] or [0]; m = [x[2] for x in hold] or [0]
print("soak-flows: %d TCP + %d UDP for %d s: peak %d descriptors; hold of %.0f s (%d samples): %d..%d descriptors, %d..%d KiB RSS; idle %d ticks in the last %.0f s; %d TCP bytes echoed, %d UDP answers"
      % (ntcp, nudp, secs, peak, t_close - t_open, len(hold), min(f), max(f), min(m), max(m), tail[-1][3] - tail[0][3],
         tail[-1][0] - tail[0][0], r["tcp_bytes"], r["udp_answered"]))
for b in bad:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)
PY
pass "soak of ${NTCP} TCP and ${NUDP} UDP flows for ${SECS} s"
