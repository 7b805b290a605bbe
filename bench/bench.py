#!/usr/bin/env python3
"""cgoprof against `perf record --call-graph dwarf,16384`: target slowdown,
profiler CPU (attach mode, with export), output bytes, lost samples, cold
symbolization of a large Go binary. Called by bench/run.sh, which builds and
fetches everything; see bench/RESULTS.md.

What each part records (OUT/results.jsonl, one JSON object per run):
  slowdown  launch mode, fixed work: per mode (base = the workload alone,
            cgoprof, perf, cgoprof-base) the work time the program reports,
            wall, and `cpu`, user+sys of the run (the profiler and the target it
            launched and waited for: wait4's rusage counts waited-for
            children). perf also gets `perf script` and bench/perf-fold.py run
            on its perf.data (`script_cpu`, `fold_cpu`); `pipeline_cpu` is all
            the CPU the recording causes up to folded output (perf: record +
            script + fold; cgoprof, which writes its outputs itself, and base:
            `cpu`). The summary subtracts base's `cpu` of the same repetition.
  attach    CPU of the profiler processes only (target excluded), with export,
            and output bytes.
  lost      samples and lost samples at 999 and 9999 Hz.
  bpf       the snapshot program's time a run and a sample kept, in the
            target's context (kernel.bpf_stats_enabled).
  insample  one record a workload: the kernel's walk of a sample's user
            callchain, ns a sample (bench/insample.c, REPS alternations).

Every comparison is measured in the same run, alternating (the order of the
modes rotates each repetition), and reported as medians over BENCH_REPS
repetitions, with min-max to show the noise.

With BENCH_BASELINE=/path/to/other/cgoprof (e.g. the build before a change),
every part that runs cgoprof also runs that binary, with the same options, as
one more mode, "cgoprof-base", in the same rotation.
"""
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from workload import parse_dur  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPS = int(os.environ.get("BENCH_REPS", "3"))
OUT = os.environ.get("BENCH_OUT", os.path.join(ROOT, "out", "bench"))
FX = os.environ["BENCH_FX"]                # Go fixtures dir (build-go.sh)
ESBUILD = os.environ.get("BENCH_ESBUILD", "")
CGOPROF = os.path.join(ROOT, "build", "cgoprof")
# extra `cgoprof record` options for every run (e.g. "--no-bpf")
EXTRA = os.environ.get("BENCH_CGOPROF_ARGS", "").split()
# a second cgoprof binary to compare with, run as mode "cgoprof-base"
BASELINE = os.environ.get("BENCH_BASELINE", "")
BASE_MODE = "cgoprof-base"
BIN = {"cgoprof": CGOPROF, BASE_MODE: BASELINE}
HOT = os.path.join(ROOT, "build", "fixtures", "hot")
ATTACH_S = float(os.environ.get("BENCH_ATTACH_S", "3"))
LOST_S = float(os.environ.get("BENCH_LOST_S", "3"))
# the rates of the lost part (BENCH_LOST_FREQS, comma separated)
LOST_FREQS = [int(x) for x in os.environ.get("BENCH_LOST_FREQS", "999,9999").split(",")]
ONLY = os.environ.get("BENCH_ONLY", "slowdown,attach,lost").split(",")
PERF_CG = ["--call-graph", "dwarf,16384"]

os.makedirs(OUT, exist_ok=True)
RESULTS = os.path.join(OUT, "results.jsonl")


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def emit(rec):
    with open(RESULTS, "a") as f:
        f.write(json.dumps(rec) + "\n")


def gz_size(path):
    import gzip
    try:
        with open(path, "rb") as f:
            return len(gzip.compress(f.read(), 6))
    except OSError:
        return 0


def run_timed(cmd, stdout=subprocess.DEVNULL, stdin=None, timeout=600):
    """Run cmd; return (wall s, user+sys s of it and its waited children,
    max rss KB, combined stderr text)."""
    errpath = os.path.join(OUT, "stderr.tmp")
    with open(errpath, "w") as err:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=stdout, stderr=err, stdin=stdin)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    with open(errpath, errors="replace") as f:
        text = f.read()
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, text, p.returncode


def sz(p):
    try:
        return os.path.getsize(p)
    except OSError:
        return 0


def cgoprof_stats(text):
    m = re.search(r"samples: (\d+), lost: (\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else (None, None)


def perf_stats(data, rec_text):
    """(samples, lost samples, lost chunks) of a perf.data."""
    p = subprocess.run(["perf", "report", "-i", data, "--stats"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    t = p.stdout
    s = re.search(r"SAMPLE events:\s+(\d+)", t)
    ls = re.findall(r"LOST_SAMPLES events:\s+(\d+)", t)
    lr = re.search(r"\bLOST events:\s+(\d+)", t)
    m = re.search(r"\((\d+) samples\)", rec_text)
    chunks = re.search(r"lost (\d+) chunks", rec_text + t)
    return {"samples": int(s.group(1)) if s else (int(m.group(1)) if m else None),
            "lost_samples": max(int(x) for x in ls) if ls else 0,
            "lost_records": int(lr.group(1)) if lr else 0,
            "lost_chunks": int(chunks.group(1)) if chunks else 0}


def rotate(modes, rep):
    """modes in the order of repetition rep: rotated by one each repetition."""
    k = rep % len(modes)
    return modes[k:] + modes[:k]


def profs():
    """the profilers compared in attach and lost: cgoprof, perf and the baseline."""
    return ["cgoprof", "perf"] + ([BASE_MODE] if BASELINE else [])


# ---- workloads ---------------------------------------------------------------
def go(prog):
    return os.path.join(FX, prog + "-go1.26-default")


WORK = [  # name, fixed-work command, time-mode command builder (seconds)
    ("cgo-inline", [go("cgo-inline"), "-n", os.environ.get("BENCH_N_INLINE", "2000")],
     lambda s: [go("cgo-inline"), "-d", "%gs" % s]),
    ("cgo-callback", [go("cgo-callback"), "-n", os.environ.get("BENCH_N_CALLBACK", "1000")],
     lambda s: [go("cgo-callback"), "-d", "%gs" % s]),
    ("cgo-rbp", [go("cgo-rbp"), "-n", os.environ.get("BENCH_N_RBP", "1500")],
     lambda s: [go("cgo-rbp"), "-d", "%gs" % s]),
    ("sqlite", [go("sqlite"), "-n", os.environ.get("BENCH_N_SQLITE", "150")],
     lambda s: [go("sqlite"), "-d", "%gs" % s]),
]
if ESBUILD:
    ew = os.path.join(ROOT, "tests", "fixtures", "esbuild-work.sh")
    WORK.append(("esbuild", [ew, ESBUILD, "-n", os.environ.get("BENCH_N_ESBUILD", "2")],
                 lambda s: [ew, ESBUILD, "%g" % s]))
WORK = [w for w in WORK if os.path.exists(w[1][0]) or w[0] == "esbuild"]
if os.environ.get("BENCH_WORK"):
    WORK = [w for w in WORK if w[0] in os.environ["BENCH_WORK"].split(",")]


def perf_script_fold(d):
    """perf script of d/perf.data into d/perf.script, folded into d/perf.folded by
    bench/perf-fold.py: (wall, cpu, rss) of each."""
    with open(d + "/perf.script", "w") as so:
        w2, cpu2, rss2, _, _ = run_timed(["perf", "script", "-i", d + "/perf.data"], stdout=so)
    with open(d + "/perf.script") as si, open(d + "/perf.folded", "w") as fo:
        w3, cpu3, rss3, _, _ = run_timed(
            [sys.executable, os.path.join(ROOT, "bench", "perf-fold.py")],
            stdin=si, stdout=fo)
    return w2, cpu2, rss2, w3, cpu3, rss3


def slowdown():
    d = os.path.join(OUT, "slowdown")
    os.makedirs(d, exist_ok=True)
    # the baseline opposite cgoprof in the rotation: over 4 repetitions each runs
    # before the other twice
    modes = ["base", "cgoprof", "perf"] + ([BASE_MODE] if BASELINE else [])
    for name, cmd, _ in WORK:
        for rep in range(REPS):
            for mode in rotate(modes, rep):
                if mode == "base":
                    full = cmd
                elif mode in BIN:
                    full = [BIN[mode], "record"] + EXTRA + ["-F", "999", "-o", d + "/x.folded",
                            "-o", d + "/x.pb.gz", "--"] + cmd
                else:
                    full = ["perf", "record", "-e", "cpu-clock", "-F", "999"] + PERF_CG + \
                        ["-o", d + "/perf.data", "--"] + cmd
                wall, cpu, _, text, rc = run_timed(full)
                work = parse_dur(text)
                # cpu: the profiler and the target it launched (waited-for children)
                rec = {"part": "slowdown", "work": name, "mode": mode, "rep": rep,
                       "wall": wall, "work_s": work, "rc": rc, "cpu": cpu, "pipeline_cpu": cpu}
                if mode == BASE_MODE:
                    rec["bin"] = BASELINE
                if mode in BIN:
                    rec["samples"], rec["lost"] = cgoprof_stats(text)
                    rec["bytes"] = sz(d + "/x.folded") + sz(d + "/x.pb.gz")
                elif mode == "perf":
                    m = re.search(r"\((\d+) samples\)", text)
                    rec["samples"] = int(m.group(1)) if m else None
                    rec["bytes"] = sz(d + "/perf.data")
                    # the rest of perf's pipeline up to folded stacks, as in attach()
                    _, cpu2, _, _, cpu3, _ = perf_script_fold(d)
                    rec.update(script_cpu=cpu2, fold_cpu=cpu3, pipeline_cpu=cpu + cpu2 + cpu3,
                               bytes_script=sz(d + "/perf.script"),
                               bytes_folded=sz(d + "/perf.folded"))
                    os.unlink(d + "/perf.script")
                log("slowdown %s %s rep %d: work %.3fs wall %.3fs cpu %.2fs (pipeline %.2fs)" %
                    (name, mode, rep, work or -1, wall, cpu, rec["pipeline_cpu"]))
                emit(rec)


def attach():
    d = os.path.join(OUT, "attach")
    os.makedirs(d, exist_ok=True)
    for name, _, tcmd in WORK:
        for rep in range(REPS):
            for prof in rotate(profs(), rep):
                tgt = subprocess.Popen(tcmd(ATTACH_S + 4), stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
                time.sleep(1.0)
                rec = {"part": "attach", "work": name, "prof": prof, "rep": rep, "dur": ATTACH_S}
                if prof == BASE_MODE:
                    rec["bin"] = BASELINE
                if prof in BIN:
                    fo, pb = d + "/x.folded", d + "/x.pb.gz"
                    wall, cpu, rss, text, rc = run_timed(
                        [BIN[prof], "record"] + EXTRA + ["-p", str(tgt.pid), "-d", "%g" % ATTACH_S,
                         "-o", fo, "-o", pb])
                    rec.update(record_cpu=cpu, record_rss_kb=rss, export_cpu=0.0,
                               cpu=cpu, bytes_folded=sz(fo), bytes_pprof=sz(pb),
                               bytes=sz(fo) + sz(pb), rc=rc,
                               # what -o x.folded.gz writes (gzip level 6)
                               bytes_folded_gz=gz_size(fo))
                    rec["samples"], rec["lost"] = cgoprof_stats(text)
                else:
                    data = d + "/perf.data"
                    wall, cpu, rss, text, rc = run_timed(
                        ["perf", "record", "-e", "cpu-clock", "-F", "999"] + PERF_CG +
                        ["-p", str(tgt.pid), "-o", data, "--", "sleep", "%g" % ATTACH_S])
                    st = perf_stats(data, text)
                    w2, cpu2, rss2, w3, cpu3, rss3 = perf_script_fold(d)
                    rec.update(record_cpu=cpu, record_rss_kb=rss, script_cpu=cpu2,
                               script_rss_kb=rss2, fold_cpu=cpu3, export_cpu=cpu2 + cpu3,
                               cpu=cpu + cpu2 + cpu3, bytes=sz(data),
                               bytes_script=sz(d + "/perf.script"),
                               bytes_folded=sz(d + "/perf.folded"), rc=rc,
                               samples=st["samples"], lost=st["lost_samples"],
                               lost_records=st["lost_records"])
                    os.unlink(d + "/perf.script")
                tgt.send_signal(signal.SIGTERM)
                tgt.wait()
                log("attach %s %s rep %d: cpu %.2fs (record %.2fs) bytes %d samples %s" %
                    (name, prof, rep, rec["cpu"], rec["record_cpu"], rec["bytes"], rec["samples"]))
                emit(rec)


def lost():
    d = os.path.join(OUT, "lost")
    os.makedirs(d, exist_ok=True)
    for freq in LOST_FREQS:
        for rep in range(REPS):
            for prof in rotate(profs(), rep):
                cmd = [HOT, "thread", "%g" % LOST_S]
                rec = {"part": "lost", "freq": freq, "prof": prof, "rep": rep, "dur": LOST_S}
                if prof == BASE_MODE:
                    rec["bin"] = BASELINE
                if prof in BIN:
                    wall, cpu, rss, text, rc = run_timed(
                        [BIN[prof], "record"] + EXTRA + ["-F", str(freq), "-o", d + "/x.folded", "--"] + cmd)
                    rec["samples"], rec["lost"] = cgoprof_stats(text)
                    rec["cpu"] = cpu
                else:
                    data = d + "/perf.data"
                    wall, cpu, rss, text, rc = run_timed(
                        ["perf", "record", "-e", "cpu-clock", "-F", str(freq)] + PERF_CG +
                        ["-o", data, "--"] + cmd)
                    st = perf_stats(data, text)
                    rec.update(samples=st["samples"], lost=st["lost_samples"],
                               lost_records=st["lost_records"], lost_chunks=st["lost_chunks"],
                               bytes=sz(data))
                    rec["throttled"] = "throttl" in text.lower()
                    os.unlink(data)  # hundreds of MB at 9999 Hz
                log("lost %d Hz %s rep %d: samples %s lost %s" % (freq, prof, rep, rec["samples"], rec["lost"]))
                emit(rec)


def prog_stats():
    """(run_cnt, run_time_ns) of the newest loaded snapshot program, else None."""
    p = subprocess.run(["bpftool", "-j", "prog", "show", "name", "cgoprof_gosnap"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        progs = json.loads(p.stdout or "[]")
    except ValueError:
        return None
    if isinstance(progs, dict):
        progs = [progs]
    progs = [x for x in progs if "run_cnt" in x]
    if not progs:
        return None
    x = max(progs, key=lambda x: x["id"])
    return x["run_cnt"], x["run_time_ns"]


def bpf():
    """The snapshot program's time a sample, as the kernel counts it
    (kernel.bpf_stats_enabled): work done in the target's context, which its
    CPU time includes. Fixed work launched under each build, the program's
    statistics read every 0.1 s until the recording ends (any build: bpftool),
    go-deep (400 frames) added to the workloads."""
    d = os.path.join(OUT, "bpf")
    os.makedirs(d, exist_ok=True)
    stats = "/proc/sys/kernel/bpf_stats_enabled"
    old = open(stats).read().strip()
    work = WORK + [("go-deep", [go("go-deep"), "-n", os.environ.get("BENCH_N_DEEP", "1000")], None)]
    modes = ["cgoprof"] + ([BASE_MODE] if BASELINE else [])
    try:
        with open(stats, "w") as fh:
            fh.write("1")
        for name, cmd, _ in work:
            for rep in range(REPS):
                for mode in rotate(modes, rep):
                    full = [BIN[mode], "record"] + EXTRA + ["-F", "999", "-o", d + "/x.folded",
                            "--"] + cmd
                    pr = subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                          text=True)
                    last = None
                    while pr.poll() is None:
                        last = prog_stats() or last
                        time.sleep(0.1)
                    text = pr.stderr.read()
                    rec = {"part": "bpf", "work": name, "mode": mode, "rep": rep}
                    rec["samples"], rec["lost"] = cgoprof_stats(text)
                    if last and last[0]:
                        rec["runs"], rec["ns"] = last
                        rec["us_run"] = last[1] / last[0] / 1e3
                        # one timer a CPU: the program also runs for other
                        # processes' samples, which it drops; its whole
                        # time over the samples kept is what a sample costs
                        if rec["samples"]:
                            rec["us_sample"] = last[1] / rec["samples"] / 1e3
                    log("bpf %s %s rep %d: %s us a run, %s runs" % (
                        name, mode, rep, f"{rec.get('us_run', -1):.2f}", rec.get("runs")))
                    emit(rec)
    finally:
        with open(stats, "w") as fh:
            fh.write(old)


def insample():
    """A sample's user callchain, in the target's context: the kernel's walk
    of the user frame pointers, which cgoprof asks for and perf --call-graph
    dwarf does not, timed by the kernel (bench/insample.c: a program making
    the same walk, or an empty one, on each workload's cpu-clock events at
    999 Hz, REPS alternations)."""
    d = os.path.join(OUT, "insample")
    os.makedirs(d, exist_ok=True)
    obj, exe = os.path.join(d, "insample.bpf.o"), os.path.join(d, "insample")
    subprocess.run(["clang", "-g", "-O2", "-target", "bpf", "-D__TARGET_ARCH_x86",
                    "-std=gnu11", "-ffreestanding", "-I" + os.path.join(ROOT, "profiler", "bpf"),
                    "-c", "-o", obj, os.path.join(ROOT, "bench", "insample.bpf.c")], check=True)
    subprocess.run(["cc", "-O2", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-o", exe,
                    os.path.join(ROOT, "bench", "insample.c"), "-lbpf"], check=True)
    stats = "/proc/sys/kernel/bpf_stats_enabled"
    old = open(stats).read().strip()
    pat = re.compile(r"walk (\d+) ns/run, empty (\d+) ns/run .*: the user callchain "
                     r"(-?\d+) ns a sample, ([0-9.]+) frames a walk")
    try:
        with open(stats, "w") as fh:
            fh.write("1")
        for name, cmd, _ in WORK:
            out = subprocess.run([exe, obj, "999", str(REPS), "--"] + cmd, check=True,
                                 stdout=subprocess.PIPE, text=True).stdout
            m = pat.search(out)
            if not m:
                raise SystemExit("insample: no result for %s:\n%s" % (name, out))
            rec = {"part": "insample", "work": name, "reps": REPS,
                   "walk_ns": int(m.group(1)), "empty_ns": int(m.group(2)),
                   "ns": int(m.group(3)), "frames": float(m.group(4))}
            log("insample %s: the user callchain %d ns a sample, %.1f frames" % (
                name, rec["ns"], rec["frames"]))
            emit(rec)
    finally:
        with open(stats, "w") as fh:
            fh.write(old)


if __name__ == "__main__":
    for part in ONLY:
        {"slowdown": slowdown, "attach": attach, "lost": lost, "bpf": bpf,
         "insample": insample}[part]()
