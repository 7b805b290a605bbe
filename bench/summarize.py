#!/usr/bin/env python3
"""Markdown tables from a bench run: summarize.py OUT (reads OUT/results.jsonl,
OUT/machine.txt, OUT/sym/results.txt)."""
import json
import os
import re
import statistics as st
import sys
from collections import defaultdict

OUT = sys.argv[1] if len(sys.argv) > 1 else "out/bench"
recs = []
with open(os.path.join(OUT, "results.jsonl")) as f:
    for line in f:
        recs.append(json.loads(line))


def med(xs):
    xs = [x for x in xs if x is not None]
    return st.median(xs) if xs else None


def rng(xs):
    xs = [x for x in xs if x is not None]
    return (min(xs), max(xs)) if xs else (None, None)


def pct(r):
    return "n/a" if r is None else "%+.1f%%" % ((r - 1) * 100)


def f(x, fmt="%.2f"):
    return "n/a" if x is None else fmt % x


def human(b):
    for u in ("B", "KB", "MB", "GB"):
        if b < 1024 or u == "GB":
            return ("%.0f %s" if u == "B" else "%.1f %s") % (b, u)
        b /= 1024.0


p = print
try:
    p("```\n" + open(os.path.join(OUT, "machine.txt")).read().strip() + "\n```\n")
except OSError:
    pass

BASE = "cgoprof-base"

# ---- slowdown -------------------------------------------------------------
sd = defaultdict(dict)
for r in recs:
    if r["part"] == "slowdown":
        sd[r["work"]].setdefault(r["rep"], {})[r["mode"]] = r
if sd:
    p("### Target slowdown (fixed work; -F 999; launch mode)\n")
    p("Work time is what the program itself reports for its fixed work (esbuild-work.sh: its rounds, "
      "0.1 ms resolution); ratios are per repetition (same rep, adjacent runs), then the median; "
      "[min..max] over reps. *Wall* includes the profiler's start-up and its writing of the output.\n")
    p("| workload | reps | base work s (min..max) | cgoprof slowdown | perf slowdown | cgoprof/perf work | "
      "cgoprof wall vs base | perf wall vs base | samples cgoprof / perf |")
    p("|---|---|---|---|---|---|---|---|---|")
    for w, reps in sd.items():
        full = [v for v in reps.values() if all(m in v for m in ("base", "cgoprof", "perf"))]
        if not full:
            continue
        base = [v["base"]["work_s"] for v in full]
        rc = [v["cgoprof"]["work_s"] / v["base"]["work_s"] for v in full]
        rp = [v["perf"]["work_s"] / v["base"]["work_s"] for v in full]
        rcp = [v["cgoprof"]["work_s"] / v["perf"]["work_s"] for v in full]
        wc = [v["cgoprof"]["wall"] / v["base"]["wall"] for v in full]
        wp = [v["perf"]["wall"] / v["base"]["wall"] for v in full]
        lo, hi = rng(base)
        p("| %s | %d | %.2f (%.2f..%.2f) | %s [%s..%s] | %s [%s..%s] | %.2f | %s | %s | %s / %s |" % (
            w, len(full), med(base), lo, hi,
            pct(med(rc)), pct(min(rc)), pct(max(rc)),
            pct(med(rp)), pct(min(rp)), pct(max(rp)), med(rcp),
            pct(med(wc)), pct(med(wp)),
            f(med([v["cgoprof"].get("samples") for v in full]), "%.0f"),
            f(med([v["perf"].get("samples") for v in full]), "%.0f")))
    p()


# ---- all the CPU a launched recording causes (slowdown runs) ----------------
def has_cpu(v, m):
    return m in v and v[m].get("cpu") is not None and v[m].get("pipeline_cpu") is not None


def caused(v, m):
    """CPU the recording mode m causes in repetition v: its pipeline minus base."""
    return v[m]["pipeline_cpu"] - v["base"]["cpu"]


# records of older runs, without cpu / pipeline_cpu, are left out
cc = {w: [v for v in reps.values() if all(has_cpu(v, m) for m in ("base", "cgoprof", "perf"))]
      for w, reps in sd.items()}
cc = {w: full for w, full in cc.items() if full}
if cc:
    with_bl = any(has_cpu(v, BASE) for full in cc.values() for v in full)
    p("### All the CPU a launched recording causes (fixed work; -F 999; launch mode)\n")
    p("Same runs as the slowdown table. User+sys of the whole run (the profiler and the target it "
      "launched and waited for), plus, for perf, `perf script -i perf.data` and `bench/perf-fold.py` "
      "(folded output, as in attach mode; cgoprof writes folded and pprof itself), minus the CPU of "
      "the workload alone (base) in the same repetition. Ratio per repetition, then the median; "
      "[min..max] over reps. The workload's own CPU moves from run to run by more than a profiler "
      "causes (esbuild, sqlite), and a ratio of two such differences moves more still: the ratio of "
      "the two medians (median cgoprof caused / median perf caused) is the steadier figure.\n")
    p("| workload | reps | base CPU s | cgoprof caused s | perf caused s | perf script + fold s | "
      "cgoprof / perf caused [min..max] | ratio of the medians |" +
      (" baseline caused s | baseline / perf caused [min..max] |" if with_bl else ""))
    p("|---|---|---|---|---|---|---|---|" + ("---|---|" if with_bl else ""))
    for w, full in cc.items():
        r = [caused(v, "cgoprof") / caused(v, "perf") for v in full if caused(v, "perf") > 0]
        row = [w, "%d" % len(full), "%.2f" % med([v["base"]["cpu"] for v in full]),
               "%.2f" % med([caused(v, "cgoprof") for v in full]),
               "%.2f" % med([caused(v, "perf") for v in full]),
               f(med([v["perf"].get("script_cpu", 0) + v["perf"].get("fold_cpu", 0) for v in full])),
               "%.2f [%.2f..%.2f]" % (med(r), min(r), max(r)) if r else "n/a",
               "%.2f" % (med([caused(v, "cgoprof") for v in full]) /
                         med([caused(v, "perf") for v in full]))
               if med([caused(v, "perf") for v in full]) > 0 else "n/a"]
        if with_bl:
            fb = [v for v in full if has_cpu(v, BASE)]
            rb = [caused(v, BASE) / caused(v, "perf") for v in fb if caused(v, "perf") > 0]
            row += [f(med([caused(v, BASE) for v in fb])),
                    "%.2f [%.2f..%.2f]" % (med(rb), min(rb), max(rb)) if rb else "n/a"]
        p("| " + " | ".join(row) + " |")
    p()

# ---- attach CPU and bytes ---------------------------------------------------
at = defaultdict(dict)
for r in recs:
    if r["part"] == "attach":
        at[r["work"]].setdefault(r["rep"], {})[r["prof"]] = r
if at:
    dur = next(r["dur"] for r in recs if r["part"] == "attach")
    p("### Profiler CPU, attach mode, %g s at 999 Hz (user+sys of the profiler processes only)\n" % dur)
    p("cgoprof: `cgoprof record -p PID -d %g -o x.folded -o x.pb.gz` (unwinding, symbolization and both "
      "exports included). perf: `perf record -e cpu-clock -F 999 --call-graph dwarf,16384 -p PID -- sleep %g`, "
      "then `perf script` and `bench/perf-fold.py` (folded). Ratio per repetition, then median.\n" % (dur, dur))
    p("| workload | reps | cgoprof CPU s | perf record s | perf script s | fold s | perf pipeline s | "
      "cgoprof / perf pipeline [min..max] | cgoprof / perf record alone | samples cgoprof / perf |")
    p("|---|---|---|---|---|---|---|---|---|---|")
    for w, reps in at.items():
        full = [v for v in reps.values() if "cgoprof" in v and "perf" in v]
        if not full:
            continue
        r = [v["cgoprof"]["cpu"] / v["perf"]["cpu"] for v in full]
        r2 = [v["cgoprof"]["cpu"] / v["perf"]["record_cpu"] for v in full]
        p("| %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f [%.2f..%.2f] | %.2f | %s / %s |" % (
            w, len(full), med([v["cgoprof"]["cpu"] for v in full]),
            med([v["perf"]["record_cpu"] for v in full]), med([v["perf"]["script_cpu"] for v in full]),
            med([v["perf"]["fold_cpu"] for v in full]), med([v["perf"]["cpu"] for v in full]),
            med(r), min(r), max(r), med(r2),
            f(med([v["cgoprof"]["samples"] for v in full]), "%.0f"),
            f(med([v["perf"]["samples"] for v in full]), "%.0f")))
    p()
    p("### Output bytes (same attach runs)\n")
    p("| workload | cgoprof folded | cgoprof pprof | cgoprof total | perf.data | perf folded (from perf script) | "
      "cgoprof / perf.data | per sample: cgoprof / perf.data | folded.gz + pprof / perf.data |")
    p("|---|---|---|---|---|---|---|---|---|")
    for w, reps in at.items():
        full = [v for v in reps.values() if "cgoprof" in v and "perf" in v]
        if not full:
            continue
        r = [v["cgoprof"]["bytes"] / v["perf"]["bytes"] for v in full]
        ps = [v["cgoprof"]["bytes"] / max(1, v["cgoprof"]["samples"] or 1) for v in full]
        pp = [v["perf"]["bytes"] / max(1, v["perf"]["samples"] or 1) for v in full]
        rz = [(v["cgoprof"].get("bytes_folded_gz", 0) + v["cgoprof"]["bytes_pprof"]) /
              v["perf"]["bytes"] for v in full]
        p("| %s | %s | %s | %s | %s | %s | 1/%.0f | %.0f B / %.0f B | 1/%.0f |" % (
            w, human(med([v["cgoprof"]["bytes_folded"] for v in full])),
            human(med([v["cgoprof"]["bytes_pprof"] for v in full])),
            human(med([v["cgoprof"]["bytes"] for v in full])),
            human(med([v["perf"]["bytes"] for v in full])),
            human(med([v["perf"]["bytes_folded"] for v in full])),
            1 / med(r), med(ps), med(pp), 1 / max(med(rz), 1e-12)))
    p()

# ---- cgoprof against the baseline (BENCH_BASELINE) ---------------------------
bl = defaultdict(dict)
for w, reps in sd.items():
    bl[w]["slowdown"] = [v for v in reps.values()
                         if all(m in v and v[m]["work_s"] for m in ("base", "cgoprof", BASE))]
for w, reps in at.items():
    bl[w]["attach"] = [v for v in reps.values() if "cgoprof" in v and BASE in v]
bl = {w: parts for w, parts in bl.items() if any(parts.values())}
if bl:
    bins = sorted({r["bin"] for r in recs if r.get("bin")})
    p("### cgoprof against the baseline build (`BENCH_BASELINE`)\n")
    p("Baseline: %s, with the same options, as one more mode (%s) in the same rotation as above. "
      "Ratios cgoprof / baseline per repetition (same rep), then the median; [min..max] of those "
      "ratios is the noise band: when it contains 1.000, this run does not tell the two builds apart. "
      "Slowdown: work time (as in the first table); CPU: attach mode, user+sys of `cgoprof record` "
      "(as in the second table); the number of samples an attached run takes varies with the target, so "
      "the CPU per sample is also given.\n" % (", ".join("`%s`" % b for b in bins), BASE))
    p("| workload | slowdown reps | cgoprof slowdown | baseline slowdown | cgoprof / baseline work [min..max] | "
      "cgoprof / baseline wall | attach reps | cgoprof CPU s | baseline CPU s | "
      "cgoprof / baseline CPU [min..max] | per sample: cgoprof / baseline CPU | samples cgoprof / baseline |")
    p("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for w, parts in bl.items():
        row = [w]
        full = parts.get("slowdown") or []
        if full:
            rc = [v["cgoprof"]["work_s"] / v["base"]["work_s"] for v in full]
            rb = [v[BASE]["work_s"] / v["base"]["work_s"] for v in full]
            r = [v["cgoprof"]["work_s"] / v[BASE]["work_s"] for v in full]
            rw = [v["cgoprof"]["wall"] / v[BASE]["wall"] for v in full]
            row += ["%d" % len(full), pct(med(rc)), pct(med(rb)),
                    "%.3f [%.3f..%.3f]" % (med(r), min(r), max(r)), "%.3f" % med(rw)]
        else:
            row += ["0"] + ["n/a"] * 4
        full = parts.get("attach") or []
        if full:
            r = [v["cgoprof"]["cpu"] / v[BASE]["cpu"] for v in full]
            rs = [(v["cgoprof"]["cpu"] / v["cgoprof"]["samples"]) / (v[BASE]["cpu"] / v[BASE]["samples"])
                  for v in full if v["cgoprof"]["samples"] and v[BASE]["samples"]]
            row += ["%d" % len(full), "%.2f" % med([v["cgoprof"]["cpu"] for v in full]),
                    "%.2f" % med([v[BASE]["cpu"] for v in full]),
                    "%.3f [%.3f..%.3f]" % (med(r), min(r), max(r)),
                    "%.3f [%.3f..%.3f]" % (med(rs), min(rs), max(rs)) if rs else "n/a",
                    "%s / %s" % (f(med([v["cgoprof"]["samples"] for v in full]), "%.0f"),
                                 f(med([v[BASE]["samples"] for v in full]), "%.0f"))]
        else:
            row += ["0"] + ["n/a"] * 5
        p("| " + " | ".join(row) + " |")
    p()

# ---- lost -------------------------------------------------------------------
lo = defaultdict(list)
for r in recs:
    if r["part"] == "lost":
        lo[(r["freq"], r["prof"])].append(r)
if lo:
    dur = next(r["dur"] for r in recs if r["part"] == "lost")
    p("### Lost samples: `build/fixtures/hot thread %g` (two busy threads), launch mode\n" % dur)
    p("| frequency | profiler | reps | samples (median) | lost per run | runs with loss |")
    p("|---|---|---|---|---|---|")
    for (freq, prof), rs in sorted(lo.items()):
        p("| %d Hz | %s | %d | %.0f | %s | %d of %d |" % (
            freq, prof, len(rs), med([r["samples"] for r in rs]),
            ", ".join(str(r["lost"]) for r in rs),
            sum(1 for r in rs if r["lost"]), len(rs)))
    p()

# ---- bpf --------------------------------------------------------------------
bp = defaultdict(lambda: defaultdict(list))
for r in recs:
    if r["part"] == "bpf" and r.get("us_run"):
        bp[r["work"]][r["mode"]].append(r)
if bp:
    has_base = any(mm[BASE] for mm in bp.values())
    p("### The snapshot program's time a sample in the target (`kernel.bpf_stats_enabled`), launch mode\n")
    p("| workload | reps | cgoprof: us a run, median [min..max] | runs a run | cgoprof: us a sample kept (all runs' time / samples) |" +
      (" baseline: us a run | cgoprof / baseline, per repetition |" if has_base else ""))
    p("|---|---|---|---|---|" + ("---|---|" if has_base else ""))
    for w, mm in bp.items():
        c = [r["us_run"] for r in mm["cgoprof"]]
        if not c:
            continue
        ks = [r["us_sample"] for r in mm["cgoprof"] if r.get("us_sample")]
        row = [w, "%d" % len(c), "%.2f [%.2f..%.2f]" % (med(c), min(c), max(c)),
               "%.0f" % med([r["runs"] for r in mm["cgoprof"]]),
               "%.2f" % med(ks) if ks else "n/a"]
        if has_base:
            b = {r["rep"]: r["us_run"] for r in mm[BASE]}
            rs = [r["us_run"] / b[r["rep"]] for r in mm["cgoprof"] if r["rep"] in b]
            row += ["%.2f" % med(list(b.values())) if b else "n/a",
                    "%.3f [%.3f..%.3f]" % (med(rs), min(rs), max(rs)) if rs else "n/a"]
        p("| " + " | ".join(row) + " |")
    p()

# ---- insample ---------------------------------------------------------------
ins = [r for r in recs if r["part"] == "insample"]
if ins:
    p("### A sample's user callchain in the target (cgoprof asks for it, perf --call-graph dwarf "
      "does not): the kernel's walk, timed by the kernel (bench/insample.c), 999 Hz\n")
    p("| workload | reps | walk, ns a run | empty program, ns a run | the callchain, ns a sample | frames a walk |")
    p("|---|---|---|---|---|---|")
    for r in ins:
        p("| %s | %d | %d | %d | %d | %.1f |" % (r["work"], r["reps"], r["walk_ns"], r["empty_ns"],
                                                r["ns"], r["frames"]))
    p()

sym = os.path.join(OUT, "sym", "results.txt")
if os.path.exists(sym):
    p("### Cold symbolization of 10 000 PCs spread over tsgo's Go text\n")
    p("```\n" + open(sym).read().strip() + "\n```")
