#!/usr/bin/env python3
"""Where the CPU of a launched recording goes: the profiler's own and the
target's, side by side with perf, alternated. For each mode, REPS runs of a
Go fixture's fixed work under /usr/bin/time (the target's own user+sys), the
whole run's user+sys (wait4: the profiler and the target it waited for), and
for cgoprof its own CPU (`-v` prints getrusage(RUSAGE_SELF)). Medians.

  bench/launched.py WORKLOAD N REPS [MODES]
  e.g. bench/launched.py cgo-inline 2000 6 base,cgoprof,perf,perf-nocg
  WORKLOAD esbuild: N rounds of tests/fixtures/esbuild-work.sh on
  $BENCH_ESBUILD (default build/fixtures/esbuild/esbuild).

Modes: base (the work alone), cgoprof (build/cgoprof, or $CGOPROF), old
($CGOPROF_OLD, e.g. the build before a change), perf (--call-graph
dwarf,16384), perf-nocg (no call graph: the sampling alone). Fixtures from
$FIXTURES (default build/fixtures/go). bench/RESULTS.md quotes its output.

The counts by part ("direct"), which the workload's own variation does not
blur: for perf, the whole run minus the target's own user+sys (what
perf record itself used), plus `perf script` and bench/perf-fold.py; for
cgoprof, its own CPU plus its snapshot program's time in the targets
(printed by -v when `sysctl kernel.bpf_stats_enabled=1`, which this script
sets for its run and restores). What neither counts is the kernel's
sampling in the target's context, the same event (cpu-clock, 999 Hz, the
registers and 16 KiB of stack) for both; cgoprof's samples also carry the
user callchain, and mode perf-nocg against base bounds the sampling's
share.

Printed per mode: the run's CPU (for perf, with perf script's and the
folding's), what it caused (that minus the work alone's), the target's
own CPU, the machine-wide caused, and the work's own time (its elapsed=).
Then for each profiler mode against perf, per repetition (each run
against the work alone of its own repetition, adjacent in time): the
median and range of caused / perf's caused, and of work time / perf's;
and the ratios of the medians (caused, work time) with a 95% bootstrap
interval (the repetitions resampled, a fixed seed), which says how far
this run's noise leaves them open. Every run's figures are kept in
$BENCH_OUT/launched-WORKLOAD.json.

"machine-wide caused": the machine's busy time (/proc/stat: user, nice,
system, irq, softirq) during a run, plus perf script's and the folding's,
minus the same of the work alone: it also counts what a recording costs
outside its processes (cgoprof's one timer a CPU interrupts other processes
and idle CPUs), and whatever else the machine did meanwhile.
"""
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from workload import parse_dur  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FX = os.environ.get("FIXTURES", os.path.join(ROOT, "build", "fixtures", "go"))
CG = os.environ.get("CGOPROF", os.path.join(ROOT, "build", "cgoprof"))
OLD = os.environ.get("CGOPROF_OLD", "")
OUT = os.environ.get("BENCH_OUT", "/tmp")


def command(mode, target):
    cg = ["record", "-v", "-F", "999", "-o", OUT + "/x.folded", "-o", OUT + "/x.pb.gz", "--"]
    perf = ["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-o", OUT + "/perf.data"]
    return {"base": target, "cgoprof": [CG] + cg + target, "old": [OLD] + cg + target,
            "perf": perf + ["--call-graph", "dwarf,16384", "--"] + target,
            "perf-nocg": perf + ["--"] + target}[mode]


def busy():
    """The machine's busy CPU seconds so far (user, nice, system, irq,
    softirq of /proc/stat's cpu line): what a run causes outside its own
    processes too, e.g. one timer a CPU interrupting idle CPUs."""
    with open("/proc/stat") as f:
        v = f.readline().split()
    return sum(int(v[i]) for i in (1, 2, 3, 6, 7)) / os.sysconf("SC_CLK_TCK")


def timed(cmd, **kw):
    p = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, **kw)
    err = p.stderr.read()
    _, _, ru = os.wait4(p.pid, 0)
    return ru.ru_utime + ru.ru_stime, err


def run(cmd, mode):
    b0 = busy()
    cpu, err = timed(cmd, stdout=subprocess.DEVNULL)
    work = parse_dur(err)
    machine = busy() - b0
    own = re.search(r"CPU ([0-9.]+) s user ([0-9.]+) s system", err)
    tgt = re.search(r"TGT ([0-9.]+) ([0-9.]+)", err)
    prog = re.search(r"snapshot program: .* ([0-9.]+) s in the (?:targets|sampled tasks)", err)
    own = float(own.group(1)) + float(own.group(2)) if own else None
    tgt = float(tgt.group(1)) + float(tgt.group(2)) if tgt else None
    direct, after = None, 0.0
    if own is not None:
        direct = own + (float(prog.group(1)) if prog else 0.0)
    elif mode == "perf" and tgt is not None:
        with open(OUT + "/perf.script", "w") as so:
            c2, _ = timed(["perf", "script", "-i", OUT + "/perf.data"], stdout=so)
        with open(OUT + "/perf.script") as si, open(OUT + "/perf.folded", "w") as fo:
            c3, _ = timed([sys.executable, os.path.join(ROOT, "bench", "perf-fold.py")],
                          stdin=si, stdout=fo)
        os.unlink(OUT + "/perf.script")
        after = c2 + c3
        direct = cpu - tgt + after
        machine += after
    return cpu + after, own, tgt, direct, machine, work


BOOT = 2000


def ratio_of_medians(base, prof, perf):
    """caused / perf's caused, each the median run's total minus the work
    alone's median (the table's "ratio of the medians")"""
    med = statistics.median
    b = med(x[0] for x in base)
    d = med(x[0] for x in perf) - b
    return (med(x[0] for x in prof) - b) / d if d > 0 else float("nan")


def work_ratio(base, prof, perf):
    """the work's own time under the profiler / under perf, medians"""
    a = [x[5] for x in prof if x[5]]
    b = [x[5] for x in perf if x[5]]
    return statistics.median(a) / statistics.median(b) if a and b else float("nan")


def boot_ratio(base, prof, perf, f=ratio_of_medians):
    """A 95% percentile bootstrap interval of @f (ratio_of_medians): the
    repetitions resampled with replacement (a repetition's three runs
    together, as they ran side by side), with a fixed seed."""
    rnd = random.Random(15)
    reps = min(len(base), len(prof), len(perf))
    vals = []
    for _ in range(BOOT):
        idx = [rnd.randrange(reps) for _ in range(reps)]
        v = f([base[i] for i in idx], [prof[i] for i in idx], [perf[i] for i in idx])
        if v == v:
            vals.append(v)
    if not vals:
        return float("nan"), float("nan")
    vals.sort()
    return vals[int(0.025 * len(vals))], vals[min(len(vals) - 1, int(0.975 * len(vals)))]


def main():
    # a SIGTERM still restores kernel.bpf_stats_enabled (the finally below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work, n, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    modes = sys.argv[4].split(",") if len(sys.argv) > 4 else ["base", "cgoprof", "perf"]
    if work == "esbuild":  # the shipped binary, as bench.py runs it
        target = ["/usr/bin/time", "-f", "TGT %U %S",
                  os.path.join(ROOT, "tests", "fixtures", "esbuild-work.sh"),
                  os.environ.get("BENCH_ESBUILD", os.path.join(FX, "..", "esbuild", "esbuild")),
                  "-n", n]
    else:
        target = ["/usr/bin/time", "-f", "TGT %U %S", os.path.join(FX, work + "-go1.26-default"),
                  "-n", n]
    res = {m: [] for m in modes}
    stats = "/proc/sys/kernel/bpf_stats_enabled"
    was = open(stats).read().strip() if os.path.exists(stats) else None
    try:
        if was is not None:
            with open(stats, "w") as f:
                f.write("1")
        for r in range(reps):
            k = r % len(modes)
            for m in modes[k:] + modes[:k]:
                res[m].append(run(command(m, target), m))
    finally:
        if was is not None:
            with open(stats, "w") as f:
                f.write(was)
    with open(os.path.join(OUT, "launched-%s.json" % work), "w") as f:
        json.dump({"work": work, "n": n, "reps": reps, "modes": modes,
                   "fields": ["total", "own", "target", "direct", "machine", "work"],
                   "runs": res}, f)
    med = statistics.median
    base = med(x[0] for x in res["base"]) if "base" in res else 0.0
    mbase = med(x[4] for x in res["base"]) if "base" in res else 0.0
    direct = {}
    for m in modes:
        own = [x[1] for x in res[m] if x[1] is not None]
        d = [x[3] for x in res[m] if x[3] is not None]
        w = [x[5] for x in res[m] if x[5] is not None]
        if d:
            direct[m] = d
        print("%-9s total %.3f caused %.3f target %.3f machine-wide caused %.3f%s%s%s" % (
            m, med(x[0] for x in res[m]), med(x[0] for x in res[m]) - base,
            med(x[2] for x in res[m]), med(x[4] for x in res[m]) - mbase,
            "  work %.3f" % med(w) if w else "",
            "  own %.3f" % med(own) if own else "",
            "  direct %.3f [%.3f..%.3f]" % (med(d), min(d), max(d)) if d else ""))
    # per repetition: each run against the work alone of the same
    # repetition (adjacent in time), then the median and the range
    for m in modes:
        if m in ("base", "perf") or "perf" not in res or "base" not in res:
            continue
        caused, work = [], []
        for r in range(reps):
            b, c, p = res["base"][r], res[m][r], res["perf"][r]
            if p[0] - b[0] > 0:
                caused.append((c[0] - b[0]) / (p[0] - b[0]))
            if c[5] and p[5]:
                work.append(c[5] / p[5])
        if caused:
            print("%s / perf, per repetition: caused %.3f [%.3f..%.3f]%s" % (
                m, med(caused), min(caused), max(caused),
                ", work %.3f [%.3f..%.3f]" % (med(work), min(work), max(work))
                if work else ""))
        lo, hi = boot_ratio(res["base"], res[m], res["perf"])
        print("%s / perf, caused, ratio of the medians: %.3f, 95%% bootstrap interval "
              "[%.3f..%.3f] (%d resamples of the repetitions)" % (
                  m, ratio_of_medians(res["base"], res[m], res["perf"]), lo, hi, BOOT))
        if work:
            lo, hi = boot_ratio(res["base"], res[m], res["perf"], work_ratio)
            print("%s / perf, work time, ratio of the medians: %.3f, 95%% bootstrap interval "
                  "[%.3f..%.3f]" % (m, work_ratio(res["base"], res[m], res["perf"]), lo, hi))
        if m in direct and "perf" in direct:
            print("%s / perf, by part: %.3f" % (m, med(direct[m]) / med(direct["perf"])))

if __name__ == "__main__":
    main()
