#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Turn the runs of scripts/bench.sh (one JSON object per line) into
bench/results.json (one flat object, name -> number) and docs/BENCHMARKS.md
with SVG plots (gnuplot).  A figure that was not measured is omitted from
results.json, never invented, and listed as missing."""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

REQUIRED = [
    "per_packet_growth_10_to_100k", "per_packet_vs_floor", "deny_pps_vs_nft",
    "deny_pps_vs_tc_floor", "xdp_prefilter_vs_xdp_floor", "deny_pps_vs_iptables_1k",
    "deny_pps_vs_iptables_10k", "tcp_throughput_vs_none", "update_ms_p99_1k",
    "update_vs_iptables_restore_10k", "swap_lost_packets",
]
TARGETS = {  # name: (comparison, bound, source)
    "per_packet_growth_10_to_100k": ("<=", 1.3, "DESIGN.md"),
    "per_packet_vs_floor": ("<=", 1.5, "DESIGN.md"),
    "deny_pps_vs_tc_floor": (">=", 0.85, "DESIGN.md"),
    "deny_pps_vs_nft": (">=", 1.0, "issue 9 (at or above nftables netdev sets)"),
    "xdp_prefilter_vs_xdp_floor": (">=", 0.7, "DESIGN.md"),
    "deny_pps_vs_iptables_1k": (">=", 8, "DESIGN.md"),
    "deny_pps_vs_iptables_10k": (">=", 70, "DESIGN.md"),
    "tcp_throughput_vs_none": (">=", 0.97, "DESIGN.md"),
    "update_ms_p99_1k": ("<=", 10, "DESIGN.md"),
    "update_vs_iptables_restore_10k": (">=", 100, "issue 9"),
    "swap_lost_packets": ("<=", 0, "DESIGN.md"),
    "compile_s_1k_pods": ("<", 1.0, "DESIGN.md"),
    "compile_rss_mb_1k_pods": ("<", 100, "DESIGN.md"),
}
RING = 256  # veth ring: frames that may be in flight when counters are read

NAMES = {
    "none_fwd": "no enforcement, forwarded (allow path)",
    "none_stackdrop": "no enforcement, stack drop (blackhole route)",
    "tc_floor": "tc drop-all floor",
    "tc_floor_end": "tc drop-all floor (again, at the end)",
    "xdp_floor": "XDP drop-all floor",
    "pw_xdp_10000": "podwall XDP pod hook, 10k entries",
    "pw_uplink_10000": "podwall XDP uplink prefilter, 10k entries",
    "pw_tc_allow_10000": "podwall tc, allowed flows (conntrack), 10k entries",
}


def nice(label):
    if label in NAMES:
        return NAMES[label]
    for pre, txt in (("pw_tc_", "podwall tc (pw_from_pod), %s entries"),
                     ("nft_netdev_", "nftables set, netdev ingress, %s elements"),
                     ("nft_fwd_", "nftables set, inet forward, %s elements"),
                     ("ipt_legacy_", "iptables-legacy, %s linear rules"),
                     ("ipt_nft_", "iptables-nft, %s linear rules"),
                     ("ipset_", "iptables + ipset, %s elements")):
        if label.startswith(pre):
            return txt % label[len(pre):]
    return label


def load(path):
    runs, extra = {}, {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                d = json.loads(line)
            except ValueError:
                continue
            lab = d.get("label")
            if lab in runs and "nf_drop" in d:
                runs[lab]["nf_drop"] = d["nf_drop"]
            elif lab in ("tcp_none", "tcp_pw"):
                extra.setdefault(lab, []).append(d)
            else:
                runs[lab] = d
    return runs, extra


def entries_of(label):
    try:
        return int(label.rsplit("_", 1)[1])
    except (IndexError, ValueError):
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--doc", required=True)
    ap.add_argument("--plots", required=True)
    ap.add_argument("--command", default="make bench")
    ap.add_argument("--quick", default="0")
    ap.add_argument("--elapsed", default="0")
    a = ap.parse_args()
    runs, extra = load(a.runs)
    res = {}
    notes = []

    rate = {k: v for k, v in runs.items() if "pps_med" in v and v.get("windows", 0) > 0}

    def pps(label):
        return rate[label]["pps_med"] if label in rate else None

    # Accounting: every frame generated reached the host veth (within the
    # frames in flight), and the enforcement's own counter saw each one.
    acct = {}
    for k, v in rate.items():
        lost = v["gen_lost"]
        dropper = None
        floor_drops = v["own_drop"] if v.get("pair") else 0
        if v["attach"] in ("tc-drop", "xdp-drop"):
            dropper = v["own_drop"]
        elif v["attach"].startswith("pw-") and not k.startswith("pw_tc_allow"):
            dropper = v["pw_drop"] + floor_drops
        elif "nf_drop" in v:
            dropper = v["nf_drop"] + floor_drops
        ok = abs(lost) <= RING
        msg = "%d generated, %d received" % (v["generated"], v["rx"])
        if dropper is not None:
            ok = ok and abs(dropper - v["rx"]) <= max(RING, v["rx"] // 1000)
            if floor_drops:
                msg += ", %d dropped by the enforcement + %d by the paired floor" % (
                    dropper - floor_drops, floor_drops)
            else:
                msg += ", %d dropped by the enforcement" % dropper
        elif k == "none_fwd" or k.startswith("pw_tc_allow"):
            ok = ok and abs(v["fwd_tx"] - v["rx"]) <= max(RING, v["rx"] // 100)
            msg += ", %d forwarded" % v["fwd_tx"]
        elif k == "none_stackdrop":
            ok = ok and v["fwd_tx"] <= 16
            msg += ", %d forwarded" % v["fwd_tx"]
        acct[k] = (ok, msg)
        if not ok:
            notes.append("accounting mismatch in %s: %s" % (k, msg))
        res["pps_" + k] = round(v["pps_med"])
        res["ns_per_pkt_p90_" + k] = round(v["ns_p90"], 1)
        res["cpu_ns_per_pkt_" + k] = round(v["cpu_ns_med"], 1)

    def ratio(name, num, den, nd=3):
        if num is not None and den:
            res[name] = round(num / den, nd)

    floor_tc = pps("tc_floor")
    if floor_tc and pps("tc_floor_end"):
        floor_tc = statistics.geometric_mean([floor_tc, pps("tc_floor_end")])
        res["tc_floor_drift"] = round(pps("tc_floor_end") / pps("tc_floor"), 3)
    pw_sizes = sorted(n for n in (entries_of(k) for k in rate if k.startswith("pw_tc_")
                                  and not k.startswith("pw_tc_allow")) if n is not None)
    pw_max = "pw_tc_%d" % pw_sizes[-1] if pw_sizes else None

    def pw_at(n):  # podwall at n entries, else at the largest size measured
        return pps("pw_tc_%d" % n) if pps("pw_tc_%d" % n) else (pps(pw_max) if pw_max else None)

    # Paired ratios: each run's windows alternate with a floor's windows
    # (same lab, same hook point), so drift cancels; comparisons between two
    # enforcements are ratios of their paired ratios to the same floor.
    def vf(label):
        d = rate.get(label)
        return d["vs_floor_med"] if d and d.get("pair") and d.get("vs_floor_med") else None

    def vf_pw(n):
        return vf("pw_tc_%d" % n) if vf("pw_tc_%d" % n) else (vf(pw_max) if pw_max else None)

    def put(name, v, nd=3):
        if v is not None:
            res[name] = round(v, nd)

    put("deny_pps_vs_tc_floor", vf("pw_tc_100000"))
    for k in rate:
        if vf(k):
            put("paired_vs_floor_" + k, vf(k))
    ratio("deny_pps_vs_nft", vf_pw(10000), vf("nft_netdev_10000"))
    ratio("deny_pps_vs_nft_forward_10k", vf_pw(10000), vf("nft_fwd_10000"))
    put("xdp_prefilter_vs_xdp_floor", vf("pw_uplink_10000"))
    put("xdp_pod_hook_vs_xdp_floor", vf("pw_xdp_10000"))
    ratio("deny_pps_vs_iptables_1k", vf_pw(1000), vf("ipt_legacy_1000"), 2)
    ratio("deny_pps_vs_iptables_10k", vf_pw(10000), vf("ipt_legacy_10000"), 2)
    ratio("deny_pps_vs_iptables_nft_1k", vf_pw(1000), vf("ipt_nft_1000"), 2)
    ratio("deny_pps_vs_iptables_nft_10k", vf_pw(10000), vf("ipt_nft_10000"), 2)
    ratio("deny_pps_vs_ipset_10k", vf_pw(10000), vf("ipset_10000"), 2)
    ratio("deny_pps_growth_10_to_100k", vf("pw_tc_10"), vf("pw_tc_100000"))
    ratio("allow_pps_vs_none", pps("pw_tc_allow_10000"), pps("none_fwd"))
    ratio("nft_netdev_vs_tc_floor_10k", pps("nft_netdev_10000"), floor_tc)
    for k in rate:
        if k not in ("tc_floor", "tc_floor_end"):
            ratio("vs_tc_floor_" + k, pps(k), floor_tc)

    # TCP throughput
    tn = [d["bps"] for d in extra.get("tcp_none", [])]
    tp = [d["bps"] for d in extra.get("tcp_pw", [])]
    if tn:
        res["tcp_gbps_none"] = round(statistics.median(tn) / 1e9, 3)
    if tp:
        res["tcp_gbps_podwall"] = round(statistics.median(tp) / 1e9, 3)
    if tn and tp:
        res["tcp_throughput_vs_none"] = round(statistics.median(tp) / statistics.median(tn), 3)

    # Update latency
    upd_pw = {v["entries"]: v for k, v in runs.items() if k == "update_pw" or k.startswith("update_pw")}
    # (update_pw lines share a label; reload them all)
    upd_pw = {}
    with open(a.runs) as f:
        for line in f:
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if d.get("label") == "update_pw":
                upd_pw[d["entries"]] = d
    for n, d in upd_pw.items():
        tag = "%dk" % (n // 1000) if n >= 1000 else str(n)
        res["update_ms_p50_%s" % tag] = d["p50_ms"]
        res["update_ms_p99_%s" % tag] = d["p99_ms"]
    nf_upd = {}
    for k, v in runs.items():
        if k.startswith("update_") and "ns" in v and v["ns"]:
            ms = sorted(x / 1e6 for x in v["ns"])
            nf_upd[k] = (statistics.median(ms), ms[min(len(ms) - 1, int(0.99 * len(ms)))])
            n = entries_of(k)
            tag = "%dk" % (n // 1000) if n >= 1000 else str(n)
            base = k.rsplit("_", 1)[0]
            res["%s_ms_p50_%s" % (base, tag)] = round(nf_upd[k][0], 3)
    for n in (1000, 10000):
        tag = "%dk" % (n // 1000)
        if n in upd_pw and "update_iptables_restore_%d" % n in nf_upd:
            ratio("update_vs_iptables_restore_%s" % tag,
                  nf_upd["update_iptables_restore_%d" % n][0], upd_pw[n]["p50_ms"], 1)
        if n in upd_pw and "update_nft_full_%d" % n in nf_upd:
            ratio("update_vs_nft_full_%s" % tag, nf_upd["update_nft_full_%d" % n][0],
                  upd_pw[n]["p50_ms"], 1)
        if n in upd_pw and "update_nft_elem_%d" % n in nf_upd:
            ratio("update_vs_nft_element_%s" % tag, nf_upd["update_nft_elem_%d" % n][0],
                  upd_pw[n]["p50_ms"], 1)
    if upd_pw:
        res["update_measured_via_podwalld"] = 0

    # Swaps
    sw = runs.get("swap")
    if sw:
        res["swap_lost_packets"] = sw["swap_lost_packets"]
        res["swaps"] = sw["swaps"]
        res["swap_ms_mean"] = sw["swap_ms_mean"]
        res["swap_packets"] = sw["rx"]

    # podwalld end to end (bench/daemon_bench.py): these replace the map
    # writer figures for update_ms_*_1k and swap_lost_packets
    dmn = {k: v for k, v in runs.items() if k.startswith("daemon_")}
    for k, d in sorted(dmn.items()):
        if not k.startswith("daemon_update_"):
            continue
        n = d["pods"]
        tag = "%dk" % (n // 1000) if n >= 1000 else str(n)
        if n in upd_pw:  # keep the map-writer figure under its own name
            res["update_mw_ms_p50_%s" % tag] = upd_pw[n]["p50_ms"]
            res["update_mw_ms_p99_%s" % tag] = upd_pw[n]["p99_ms"]
        res["update_ms_p50_%s" % tag] = round(d["p50_ms"], 3)
        res["update_ms_p99_%s" % tag] = round(d["p99_ms"], 3)
        res["revoke_ms_p99_%s" % tag] = round(d["revoke_p99_ms"], 3)
        for st in ("parse", "merge", "compile", "discovery", "maps_to_epoch", "grace"):
            if d.get(st + "_ms_p50") is not None:
                res["reload_%s_ms_p50_%s" % (st, tag)] = d[st + "_ms_p50"]
    if "daemon_update_1000" in dmn:
        res["update_measured_via_podwalld"] = 1
    cuts = [d for k, d in dmn.items() if k.startswith("daemon_update_")]
    if cuts:
        res["revoke_cuts_established_flow"] = int(all(d["revoke_cut"] == d["revoke_trials"] for d in cuts))
        res["revoke_trials"] = sum(d["revoke_trials"] for d in cuts)
    dsw = dmn.get("daemon_swap")
    if dsw:
        if sw:
            res["mw_swap_lost_packets"] = sw["swap_lost_packets"]
        res["swap_lost_packets"] = dsw["lost"]
        res["swap_reloads"] = dsw["reloads"]
        res["swap_packets"] = dsw["sent"]
        res["swap_measured_via_podwalld"] = 1
    dnp = dmn.get("daemon_newpod")
    if dnp:
        res["newpod_enforced"] = dnp["enforced"]
        if dnp.get("ms") is not None:
            res["newpod_ms"] = round(dnp["ms"], 3)
    for k, name in (("daemon_idle", "idle"), ("daemon_storm", "storm")):
        if k in dmn:
            res["daemon_rss_mb_%s" % name] = round(dmn[k]["rss_kb"] / 1024.0, 1)
            res["daemon_cpu_pct_%s" % name] = round(dmn[k]["cpu_pct"], 2)

    # Other engineers' benchmarks
    for n in ("perpacket", "compile_bench"):
        d = runs.get(n, {}).get("json") or {}
        for k, v in d.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                res[k] = v

    missing = [k for k in REQUIRED if k not in res]
    for k in ("compile_s_1k_pods", "compile_rss_mb_1k_pods"):
        if k not in res:
            missing.append(k)
    os.makedirs(os.path.dirname(a.results) or ".", exist_ok=True)
    with open(a.results, "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
        f.write("\n")
    for k in missing:
        print("bench: missing: %s (not measured in this run)" % k, file=sys.stderr)

    # ---- plots
    os.makedirs(a.plots, exist_ok=True)
    plots = []
    bars = [(k, pps(k)) for k in ["none_fwd", "none_stackdrop", "tc_floor", "xdp_floor"]
            + ["pw_tc_%d" % n for n in pw_sizes]
            + ["pw_xdp_10000", "pw_uplink_10000", "pw_tc_allow_10000"]
            + sorted(k for k in rate if k.startswith(("nft_", "ipt_", "ipset_")))
            if pps(k)]
    gp = lambda script: subprocess.run(["gnuplot"], input=script, text=True,
                                       capture_output=True)
    if bars:
        dat = os.path.join(a.plots, "pps.dat")
        with open(dat, "w") as f:
            for i, (k, v) in enumerate(bars):
                f.write('%d "%s" %.4f\n' % (i, k, v / 1e6))
        svg = os.path.join(a.plots, "pps.svg")
        r = gp("""set terminal svg size 900,520 dynamic font 'sans,11'
set output '%s'
set title 'Packets per second on the host veth (median of windows), %s'
set ylabel 'Mpps'
set style fill solid 0.7
set boxwidth 0.7
set xtics rotate by -45 font ',9'
set grid ytics
unset key
plot '%s' using 1:3:xtic(2) with boxes lc rgb '#3465a4'
""" % (svg, "same invocation", dat))
        if r.returncode == 0:
            plots.append(("Packet rate per enforcement", os.path.relpath(svg, os.path.dirname(a.doc))))
    series = [("pw_tc_", "podwall tc"), ("nft_netdev_", "nftables netdev set"),
              ("nft_fwd_", "nftables forward set"), ("ipt_legacy_", "iptables-legacy"),
              ("ipt_nft_", "iptables-nft"), ("ipset_", "iptables+ipset")]
    curves = []
    for pre, title in series:
        pts = sorted((entries_of(k), 1e9 / v["pps_med"]) for k, v in rate.items()
                     if k.startswith(pre) and not k.startswith("pw_tc_allow")
                     and entries_of(k))
        if pts:
            dat = os.path.join(a.plots, "scale_%s.dat" % pre.rstrip("_"))
            with open(dat, "w") as f:
                for n, c in pts:
                    f.write("%d %.2f\n" % (n, c))
            curves.append((dat, title))
    pp = runs.get("perpacket", {}).get("json") or {}
    if curves:
        svg = os.path.join(a.plots, "scale.svg")
        plot = ", ".join("'%s' using 1:2 with linespoints lw 2 title '%s'" % c for c in curves)
        if floor_tc:
            plot += ", %f with lines dt 2 lc rgb 'black' title 'tc drop-all floor'" % (1e9 / floor_tc)
        r = gp("""set terminal svg size 900,520 dynamic font 'sans,11'
set output '%s'
set title 'Deny path: time per packet on the receiving CPU vs policy size'
set xlabel 'policy entries / rules / set elements'
set ylabel 'ns per packet (1 / packet rate)'
set logscale xy
set grid
set key top left
plot %s
""" % (svg, plot))
        if r.returncode == 0:
            plots.append(("Scale curve: cost per packet vs entries", os.path.relpath(svg, os.path.dirname(a.doc))))
    # per_packet_ns_<scenario>_<entries>; "deny" must not pick up deny_peer/deny_udp.
    pp_series = []
    for name, title in (("deny", "deny (tcp/81, no rule)"),
                        ("deny_peer", "deny_peer (tcp/80, peer not allowed)"),
                        ("deny_udp", "deny_udp (udp/81)"),
                        ("deny_reported", "deny_reported (every drop an event)"),
                        ("floor", "floor (parse + 1 lookup)")):
        pre = "per_packet_ns_%s_" % name
        pts = sorted((int(k[len(pre):]), v) for k, v in pp.items()
                     if k.startswith(pre) and k[len(pre):].isdigit())
        if pts:
            pp_series.append((name, title, pts))
    if pp_series:
        plot = []
        for name, title, pts in pp_series:
            dat = os.path.join(a.plots, "perpacket.dat" if name == "deny" else
                               "perpacket_%s.dat" % name)
            with open(dat, "w") as f:
                for n, c in pts:
                    f.write("%d %.2f\n" % (n, c))
            plot.append("'%s' using 1:2 with linespoints lw 2 title '%s' noenhanced" % (dat, title))
        svg = os.path.join(a.plots, "perpacket.svg")
        r = gp("""set terminal svg size 900,480 dynamic font 'sans,11'
set output '%s'
set title 'BPF_PROG_TEST_RUN per-packet cost (podwall tc, net of an empty program)'
set xlabel 'policy entries'
set ylabel 'ns per packet'
set logscale x
set grid
plot %s
""" % (svg, ", ".join(plot)))
        if r.returncode == 0:
            plots.append(("Per-packet cost (BPF_PROG_TEST_RUN)", os.path.relpath(svg, os.path.dirname(a.doc))))

    # ---- the report
    def cpu_model():
        try:
            for line in open("/proc/cpuinfo"):
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "?"

    def ver(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0]
        except Exception:
            return "?"

    L = []
    L.append("# podwall benchmarks\n")
    L.append("Generated by `%s` (scripts/bench.sh, bench/pwbench.c, bench/report.py) on %s; "
             "do not edit by hand.  Every figure below comes from that one invocation; ratios "
             "compare runs of the same invocation (the machine is shared and noisy: compare "
             "ratios, not absolute rates, across runs).\n" %
             (a.command, datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")))
    L.append("- Machine: %s, %d CPUs, kernel %s, %s" % (cpu_model(), os.cpu_count(),
                                                       platform.release(), ver(["nft", "--version"])))
    L.append("- %s, %s" % (ver(["iptables-legacy", "--version"]), ver(["ipset", "--version"])))
    L.append("- Mode: %s; run time %s s\n" % ("QUICK=1 (fewer sizes, shorter windows)"
                                             if a.quick not in ("0", "") else "full", a.elapsed))
    L.append("## Targets\n")
    L.append("| figure | measured | target | met |")
    L.append("|---|---|---|---|")
    for k, (op, bound, src) in TARGETS.items():
        if k in res:
            v = res[k]
            met = {"<=": v <= bound, ">=": v >= bound, "<": v < bound}[op]
            L.append("| `%s` | %s | %s %s (%s) | %s |" % (k, v, op, bound, src, "yes" if met else "**no**"))
        else:
            L.append("| `%s` | not available | %s %s (%s) | - |" % (k, op, bound, src))
    L.append("")
    if missing:
        L.append("Not available in this run: %s.  Why: see \"Notes\".\n" %
                 ", ".join("`%s`" % m for m in missing))
    L.append("## Packet rate (deny path unless named otherwise)\n")
    L.append("Live frames (BPF_PROG_TEST_RUN + BPF_F_TEST_XDP_LIVE_FRAMES, an XDP program "
             "returning XDP_TX, 60-byte UDP frames rewritten on every run) leave the pod-side "
             "veth in a pod namespace and arrive on the host veth (GRO on) in a node namespace, "
             "spread over %s destination pods, 1000 destination ports and 50000 source ports.  "
             "The rate is the host veth's rx counter over short windows after a warm-up; "
             "the generator and the receive path share one CPU, whose busy time per packet is "
             "the CPU column (generator included).  Every run is checked: frames generated = "
             "frames received (within the %d-frame veth ring in flight), and frames received = "
             "frames the enforcement dropped by its own counter (tc/XDP program map, podwall "
             "pw_cnt_v2, nft rule counter, iptables DROP rule counter).  Policies: N allow "
             "entries/rules/elements that the traffic never matches, then drop (the deny path "
             "walks the whole policy).\n" % ("4096", RING))
    L.append("| scenario | Mpps (median) | ns/pkt median | ns/pkt p90 | CPU ns/pkt | paired floor: Mpps, ratio median (p10) | accounting |")
    L.append("|---|---|---|---|---|---|---|")
    for k, v in bars:
        d = rate[k]
        ok, msg = acct[k]
        L.append("| %s | %.3f | %.0f | %.0f | %.0f | %s | %s%s |" % (
            nice(k), d["pps_med"] / 1e6, d["ns_med"], d["ns_p90"], d["cpu_ns_med"],
            "%s %.3f, **%.3f** (%.3f)" % (d["pair"], d["floor_pps_med"] / 1e6, d["vs_floor_med"], d["vs_floor_p10"])
            if d.get("pair") else "-", "ok: " if ok else "**MISMATCH**: ", msg))
    if "tc_floor_drift" in res:
        L.append("\nThe tc floor was run first and again last: end/start = %.3f (machine drift "
                 "during the run); ratios use the geometric mean of the two.\n" % res["tc_floor_drift"])
    for title, path in plots:
        L.append("\n### %s\n\n![%s](%s)\n" % (title, title, path))
    L.append("\nPaired runs alternate windows of the enforcement with windows of a drop-all floor "
             "(tc-drop on the host veth's tc ingress, before netfilter; xdp-drop on its XDP hook) in "
             "the same lab; the ratio is taken per pair of adjacent windows, so the machine's drift "
             "cancels.  `deny_pps_vs_nft` and `deny_pps_vs_iptables_*` are ratios of those paired "
             "ratios.\n")
    L.append("## Allowed TCP throughput (iperf3, pod A -> node -> pod B)\n")
    if tn or tp:
        L.append("| setup | Gbit/s (median) | runs |")
        L.append("|---|---|---|")
        if tn:
            L.append("| no enforcement | %.2f | %s |" % (statistics.median(tn) / 1e9, ", ".join("%.2f" % (x / 1e9) for x in tn)))
        if tp:
            L.append("| podwall tc on both veths (both pods isolated both ways, one allow rule) | %.2f | %s |" % (
                statistics.median(tp) / 1e9, ", ".join("%.2f" % (x / 1e9) for x in tp)))
        L.append("\nRuns alternate (none, podwall, none, ...).\n")
    else:
        L.append("Not available.\n")
    L.append("## Update latency: one rule change\n")
    if upd_pw:
        L.append("podwall here: **map writer path only** (podwalld end to end is in the next "
                 "section, and `update_ms_*` come from there when it ran): the changed entry is written to the inactive slot "
                 "together with the previous change, the epoch is published, and BPF_PROG_TEST_RUN "
                 "probes pw_from_pod until a packet is decided by the new rule.  It excludes "
                 "parsing and compiling the changed file.  nftables and iptables: wall time of the "
                 "command in a namespace (`nft -f` of the whole table with one element changed, "
                 "as a rule generator does; `nft -f` adding one element; `iptables-legacy-restore` "
                 "of the whole filter table with one rule added).\n")
    L.append("| tool | entries | p50 ms | p99 ms |")
    L.append("|---|---|---|---|")
    for n, d in sorted(upd_pw.items()):
        L.append("| podwall (map writer path) | %d | %.4f | %.4f |" % (n, d["p50_ms"], d["p99_ms"]))
    for k in sorted(nf_upd):
        L.append("| %s | %s | %.2f | %.2f |" % (k.replace("update_", "").rsplit("_", 1)[0], entries_of(k),
                                                 nf_upd[k][0], nf_upd[k][1]))
    L.append("")
    L.append("## podwalld end to end: policy change to enforcement\n")
    if dmn:
        L.append("One podwalld (started once) in a routed netns lab: pods a, b and c have veths; "
                 "the other pods exist only in the YAML (remote), 100 deployment-shaped policies "
                 "(selectors, namespace selectors, ipBlocks with except, named ports, endPort "
                 "ranges, egress), pods in files of 500.  **update**: b's policy file is written to "
                 "a temporary name and renamed into place to allow a -> b UDP; a sends to b every "
                 "~0.1-0.2 ms on one flow; the time from the rename to the first datagram b receives "
                 "(inotify, no settle wait after a quiet spell, parse of that one file, merge, "
                 "full validation, compile, discovery, map diff, epoch store, and the packet).  "
                 "**revoke**: the file is rewritten to withdraw it while the flow runs: the time "
                 "to the last datagram b receives, and whether the established flow is cut "
                 "(stops, then nothing for 200 ms while a keeps sending).  Stage medians come "
                 "from podwalld's log; the grace period comes after the epoch store (it does not "
                 "delay enforcement).  The machine is shared: p99 follows its load.\n")
        L.append("| pods | trials | update p50 ms | p99 ms | revoke p50 ms | p99 ms | cut | parse | merge | compile | discovery | maps to epoch | grace (after) |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for d in sorted(cuts, key=lambda d: d["pods"]):
            L.append("| %d | %d | %.2f | %.2f | %.2f | %.2f | %d/%d | %s | %s | %s | %s | %s | %s |" % (
                d["pods"], d["trials"], d["p50_ms"], d["p99_ms"], d["revoke_p50_ms"], d["revoke_p99_ms"],
                d["revoke_cut"], d["revoke_trials"], d.get("parse_ms_p50"), d.get("merge_ms_p50"),
                d.get("compile_ms_p50"), d.get("discovery_ms_p50"), d.get("maps_to_epoch_ms_p50"),
                d.get("grace_ms_p50")))
        L.append("")
        if dsw:
            L.append("**Reloads under steady traffic**: %d reloads through podwalld (another policy "
                     "file rewritten, each waiting for podwalld's \"policy applied\") while a sent "
                     "%d datagrams to b on an allowed flow: %d received, **%d lost** "
                     "(`swap_lost_packets`); %.1f reloads/s.\n" % (
                         dsw["reloads"], dsw["sent"], dsw["received"], dsw["lost"], dsw["reloads_per_s"]))
        if dnp:
            L.append("**New pod**: c's pod and an egress deny-all for it are in the directory; c "
                     "sends to b (b allows c) while its /32 route is added in the node netns "
                     "(`ip route add`, a process start included): c's datagrams stop after "
                     "**%s ms**; enforced afterwards: %s.\n" % (
                         "%.1f" % dnp["ms"] if dnp.get("ms") is not None else "?",
                         "yes" if dnp["enforced"] else "**no**"))
        if "daemon_idle" in dmn:
            L.append("**podwalld resources**: idle RSS %.1f MB, CPU %.2f%%; during the reload storm "
                     "(10 pods) RSS %.1f MB (max after 10k pods were loaded earlier), CPU %.1f%% of "
                     "one core.\n" % (
                         dmn["daemon_idle"]["rss_kb"] / 1024.0, dmn["daemon_idle"]["cpu_pct"],
                         dmn["daemon_storm"]["rss_kb"] / 1024.0, dmn["daemon_storm"]["cpu_pct"]))
    else:
        L.append("Not available in this run.\n")
    L.append("## Atomic swaps under allowed traffic (map writer only)\n")
    if sw:
        L.append("%d swaps (inactive slot refilled with the same %d-entry policy, epoch published, "
                 "RCU grace period) while %d allowed UDP flows ran through pw_from_pod: %d packets "
                 "seen, %d allowed, %d dropped by podwall, %d not accounted for; frames lost "
                 "before the veth: %d.  Lost (podwall drops + unaccounted) = **%d** (`mw_swap_lost_packets` when podwalld ran, else `swap_lost_packets`).\n" % (
                     sw["swaps"], sw["entries"], sw["flows"], sw["rx"], sw["pw_allow"], sw["pw_drop"],
                     max(0, sw["unaccounted"]), sw["gen_lost"], sw["swap_lost_packets"]))
    else:
        L.append("Not available.\n")
    L.append("## Per-packet cost and compile figures from the other benchmarks\n")
    other = {k: v for n in ("perpacket", "compile_bench") for k, v in (runs.get(n, {}).get("json") or {}).items()}
    if other:
        L.append("| name | value |")
        L.append("|---|---|")
        for k in sorted(other):
            L.append("| `%s` | %s |" % (k, other[k]))
        L.append("")
    if "perpacket" not in runs:
        L.append("bench/perpacket (datapath): not available in this run.\n")
    if "compile_bench" not in runs:
        L.append("bench/compile_bench (engine): not available in this run.\n")
    L.append("## Notes\n")
    L.append("- Comparisons against podwall at a given size use podwall at the same number of "
             "entries when that size was run, else at the largest size run (QUICK=1 runs 10 and "
             "100k only, the harder case).")
    L.append("- `deny_pps_vs_nft` compares with the nftables netdev-ingress set at 10k elements; "
             "`deny_pps_vs_iptables_*` with iptables-legacy linear FORWARD rules.")
    L.append("- The CPU column is the busy time of the generator's CPU per packet received, "
             "generator included (its cost is the same in every row).")
    for n in notes:
        L.append("- " + n)
    for m in missing:
        L.append("- missing: `%s`" % m)
    L.append("\n## Raw figures (bench/results.json)\n")
    L.append("```json\n%s\n```" % json.dumps(res, indent=1, sort_keys=True))
    with open(a.doc, "w") as f:
        f.write("\n".join(L) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
