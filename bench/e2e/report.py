#!/usr/bin/env python3
"""report.py — the bookkeeping of the end-to-end benchmark (bench/e2e/run).
`add-iperf` and `add-lat` turn one iperf3 or nettool.py run into samples (one
JSON line each, with the NAT's CPU time over that run) or, when the run
failed, into a failure record that keeps what the tool said. `finish` groups
the samples by NAT and metric and writes the report in the format of
bench/benchout.h ({"program", "build", "benchmarks": [{name, unit, median,
min, max, runs, samples, params, target}]}, plus "meta" and "failures"),
with ratio entries vnat/pasta, vnat/slirp4netns and s4n-vnat/slirp4netns
(slirp4netns on vnat's libslirp against stock libslirp) per metric (the
median of the per-repetition ratios: the NATs of one repetition ran back to
back), and prints the table.
"""
import json
import statistics
import sys

# (numerator, denominator, column title) of the ratio entries.
PAIRS = [("vnat", "pasta", "vnat/pasta"), ("vnat", "slirp4netns", "vnat/slirp"),
         ("s4n-vnat", "slirp4netns", "s4nv/s4n")]
COLUMNS = ["loopback", "vnat", "pasta", "slirp4netns", "s4n-vnat"]


def append(path, rec):
    with open(path, "a") as f:
        f.write(json.dumps(rec) + "\n")


def read_text(path, limit=400):
    try:
        return open(path).read().strip()[:limit]
    except OSError:
        return ""


def cpu_pct(dns, t0, t1):
    wall = float(t1) - float(t0)
    return 100.0 * int(dns) / 1e9 / wall if wall > 0 else 0.0


def add_iperf(a):
    (samples, nat, mtu, metric, rep, cc, dns, t0, t1, rc, cli_json, cli_err) = a[:12]
    udp = len(a) > 12 and a[12] == "udp"
    base = {"nat": nat, "mtu": mtu, "rep": int(rep)}
    doc, err = None, None
    try:
        doc = json.load(open(cli_json))
    except (OSError, ValueError):
        err = "no iperf3 JSON (exit %s; timed out?) %s" % (rc, read_text(cli_err))
    if doc is not None and doc.get("error"):
        err = "iperf3: %s (exit %s)" % (doc["error"], rc)
    end = (doc or {}).get("end") or {}
    if err is None and (int(rc) != 0 or "sum_received" not in end):
        err = "iperf3 exit %s, incomplete result %s" % (rc, read_text(cli_err))
    if err:
        ivals = [round(i["sum"]["bits_per_second"] / 1e9, 3)
                 for i in (doc or {}).get("intervals", []) if "sum" in i]
        append(samples, dict(base, metric=metric, fail=err, intervals_gbps=ivals))
        return
    cpu = cpu_pct(dns, t0, t1)
    params = {"seconds": doc["start"]["test_start"]["duration"], "cc_requested": cc,
              "reverse": bool(doc["start"]["test_start"].get("reverse"))}
    if udp:
        r = end["sum_received"]
        params.update(offered=doc["start"]["test_start"].get("target_bitrate"),
                      datagram=doc["start"]["test_start"].get("blksize"))
        append(samples, dict(base, metric=metric + "_mbps", unit="Mbit/s", better="higher",
                             value=r["bits_per_second"] / 1e6, params=params))
        append(samples, dict(base, metric=metric + "_loss", unit="%", better="lower",
                             value=r.get("lost_percent", 0.0), params=params))
    else:
        params.update(sender_cc=end.get("sender_tcp_congestion"),
                      receiver_cc=end.get("receiver_tcp_congestion"),
                      retransmits=end.get("sum_sent", {}).get("retransmits"))
        append(samples, dict(base, metric=metric, unit="Gbit/s", better="higher",
                             value=end["sum_received"]["bits_per_second"] / 1e9, params=params))
    if nat != "loopback":
        append(samples, dict(base, metric=metric + ("_mbps" if udp else "") + "_cpu",
                             unit="%core", better="lower", value=cpu, params=params))


def add_lat(a):
    (samples, nat, mtu, test, rep, dns, t0, t1, rc, lat_json, lat_err) = a[:11]
    base = {"nat": nat, "mtu": mtu, "rep": int(rep)}
    name = {"crr_out": "tcp_crr_out", "rr_out": "tcp_rr_out", "crr_in": "tcp_crr_in",
            "rr_in": "tcp_rr_in", "udp_rr_out": "udp_rr_out"}[test]
    try:
        doc = json.load(open(lat_json))
    except (OSError, ValueError):
        append(samples, dict(base, metric=name, fail="nettool exit %s: %s" % (rc, read_text(lat_err))))
        return
    if doc["errors"]:
        append(samples, dict(base, metric=name, fail="%d of %d failed (%d ok): %s" % (
            doc["errors"], doc["n"], doc["ok"], doc["first_error"])))
    if doc["ok"] < max(1, doc["n"] // 2):
        return
    params = {"transactions": doc["ok"], "requested": doc["n"], "errors": doc["errors"]}
    for p in ("p50", "p99"):
        append(samples, dict(base, metric="%s_%s" % (name, p), unit="us", better="lower",
                             value=doc[p + "_us"], params=params))
    if nat != "loopback":
        cpu_us = int(dns) / 1e3 / doc["ok"]
        append(samples, dict(base, metric=name + "_cpu", unit="us/txn", better="lower",
                             value=cpu_us, params=params))


def entry(name, unit, samples, params):
    return {"name": name, "unit": unit, "median": statistics.median(samples),
            "min": min(samples), "max": max(samples), "runs": len(samples),
            "samples": samples, "params": params, "target": ""}


def finish(a):
    samples_path, vers_path, out = a[:3]
    meta = json.load(open(vers_path))
    recs = [json.loads(l) for l in open(samples_path) if l.strip()]
    fails = [r for r in recs if "fail" in r]
    groups = {}
    order = []
    for r in recs:
        if "fail" in r:
            continue
        key = (r["nat"], r["metric"])
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(r)
    benches = []
    med = {}
    for nat, metric in order:
        rs = groups[(nat, metric)]
        p = dict(rs[-1].get("params", {}))
        p.pop("retransmits", None)
        p.update(nat=nat, nat_version=meta.get(nat, ""), mtu=rs[0]["mtu"], metric=metric,
                 better=rs[0]["better"], reps=[r["rep"] for r in rs])
        if "retransmits" in rs[-1].get("params", {}):
            p["retransmits"] = [r["params"].get("retransmits") for r in rs]
        e = entry("%s.%s" % (nat, metric), rs[0]["unit"], [r["value"] for r in rs], p)
        benches.append(e)
        med[(nat, metric)] = e
    for num, peer, _ in PAIRS:
        for nat, metric in order:
            if nat != num or (peer, metric) not in groups:
                continue
            v = {r["rep"]: r["value"] for r in groups[(num, metric)]}
            q = {r["rep"]: r["value"] for r in groups[(peer, metric)]}
            ratios = [v[k] / q[k] for k in sorted(v) if k in q and q[k] > 0]
            if not ratios:
                continue
            benches.append(entry("ratio.%s/%s.%s" % (num, peer, metric), "ratio", ratios, {
                "metric": metric, "better": groups[(num, metric)][0]["better"],
                "numerator": num, "denominator": peer,
                "how": "median of per-repetition ratios %s/%s (same repetition, back to back)"
                % (num, peer),
                "ratio_of_medians": med[(num, metric)]["median"] / med[(peer, metric)]["median"]
                if med[(peer, metric)]["median"] else None}))
    doc = {"program": "bench/e2e/run", "build": "release", "meta": meta,
           "benchmarks": benches, "failures": fails}
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
    print_table(order, med, benches, fails, meta)
    print("== written: %s (%d entries, %d failures)" % (out, len(benches), len(fails)))


def loop_key(metric):
    """The loopback ceiling of a throughput row: same CC, same bulk direction
    relative to the client (client sends: out_g2h, in_h2g; receives: the others)."""
    if not metric.startswith("tcp_") or "_mtu" not in metric:
        return metric
    parts = metric.split("_")  # tcp out g2h mtuM cc [cpu]
    if parts[-1] == "cpu":
        return None
    sends = (parts[1], parts[2]) in (("out", "g2h"), ("in", "h2g"))
    return "tcp_out_%s_mtuany_%s" % ("g2h" if sends else "h2g", parts[4])


def fmt(x):
    if x is None:
        return "-"
    if abs(x) >= 100:
        return "%.0f" % x
    if abs(x) >= 10:
        return "%.1f" % x
    return "%.2f" % x


def print_table(order, med, benches, fails, meta):
    ratios = {(b["params"]["numerator"], b["params"]["denominator"], b["params"]["metric"]): b
              for b in benches if b["name"].startswith("ratio.")}
    metrics = []
    for nat, metric in order:
        if nat != "loopback" and metric not in metrics:
            metrics.append(metric)
    hdr = "%-34s %-7s" % ("metric (median of reps)", "unit") + "".join(
        "%12s" % c for c in COLUMNS) + "".join("%12s" % t for _, _, t in PAIRS)
    print(hdr)
    for m in metrics:
        unit = next(med[(n, m)]["unit"] for n in COLUMNS if (n, m) in med)
        row = "%-34s %-7s" % (m, unit)
        for n in COLUMNS:
            k = (n, loop_key(m)) if n == "loopback" else (n, m)
            row += "%12s" % (fmt(med[k]["median"]) if k in med else "-")
        for num, p, _ in PAIRS:
            b = ratios.get((num, p, m))
            row += "%12s" % (fmt(b["median"]) if b else "-")
        print(row)
    for f in fails:
        print("FAILED %s %s mtu %s rep %s: %s%s" % (f["nat"], f["metric"], f["mtu"], f["rep"], f["fail"],
              (" intervals(Gbit/s)=%s" % f["intervals_gbps"]) if f.get("intervals_gbps") else ""))


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "add-iperf":
        add_iperf(argv[2:])
    elif cmd == "add-lat":
        add_lat(argv[2:])
    elif cmd == "finish":
        finish(argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
