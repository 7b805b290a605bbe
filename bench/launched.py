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
"""
import os
import re
import statistics
import subprocess
import sys

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


def run(cmd):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = p.stderr.read()
    _, _, ru = os.wait4(p.pid, 0)
    own = re.search(r"CPU ([0-9.]+) s user ([0-9.]+) s system", err)
    tgt = re.search(r"TGT ([0-9.]+) ([0-9.]+)", err)
    return (ru.ru_utime + ru.ru_stime,
            float(own.group(1)) + float(own.group(2)) if own else None,
            float(tgt.group(1)) + float(tgt.group(2)) if tgt else None)


def main():
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
    for r in range(reps):
        k = r % len(modes)
        for m in modes[k:] + modes[:k]:
            res[m].append(run(command(m, target)))
    base = statistics.median(x[0] for x in res["base"]) if "base" in res else 0.0
    for m in modes:
        own = [x[1] for x in res[m] if x[1] is not None]
        print("%-9s total %.3f caused %.3f target %.3f%s" % (
            m, statistics.median(x[0] for x in res[m]),
            statistics.median(x[0] for x in res[m]) - base,
            statistics.median(x[2] for x in res[m]),
            "  own %.3f" % statistics.median(own) if own else ""))


if __name__ == "__main__":
    main()
