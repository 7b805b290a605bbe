#!/usr/bin/env python3
"""The cost of waiting for starts system-wide (`cgoprof coldstart --exec`).

Measures, alternating with and without a cgoprof that waits for the starts
of a binary nobody starts (so that only the waiting is measured):
  - cgoprof's own CPU while it waits (user+sys ticks of /proc/PID/stat over
    the window, after it said "waiting for");
  - the time of 500 execs of /bin/true by another process (the BPF program
    runs at every exec on the machine and returns at once for other files);
  - a busy loop's iterations per second of its CPU time, on CPU 1 (nothing
    of cgoprof runs in its context: no exec, no sample).
Every ratio is taken per repetition (adjacent windows), then the median and
min..max. Prints one markdown table.
Usage: bench/execwatch.py [--reps N] [--window SEC]   (root)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CGOPROF = os.environ.get("CGOPROF", os.path.join(TOP, "build", "cgoprof"))
TICK = os.sysconf("SC_CLK_TCK")



def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])   # utime, stime


def execs(n):
    t = time.monotonic()
    for _ in range(n):
        subprocess.run(["/bin/true"], check=True)
    return time.monotonic() - t


def busy(binary, sec):
    # on one CPU: unpinned, it moves between CPUs that run it at different
    # speeds here (a bimodal rate, 1.3 or 2.3 M iterations a second)
    return float(subprocess.run(["taskset", "-c", "1", binary, str(sec)],
                                check=True,
                                capture_output=True, text=True).stdout)


def start_watch(target, log):
    p = subprocess.Popen([CGOPROF, "coldstart", "-v", "-q", "--exec", target,
                          "-n", "1"], stdout=log, stderr=log)
    for _ in range(400):
        with open(log.name) as f:
            if "waiting for" in f.read():
                return p
        time.sleep(0.05)
    p.kill()
    sys.exit("cgoprof did not start waiting")


def prog_ns_per_run():
    """The exec watch program's mean run time (kernel BPF stats), or None."""
    try:
        out = subprocess.run(["bpftool", "prog", "show", "name",
                              "cgoprof_exec", "-j"], check=True,
                             capture_output=True, text=True).stdout
        p = json.loads(out)
        p = p[0] if isinstance(p, list) else p
        return p["run_time_ns"] / p["run_cnt"] if p.get("run_cnt") else None
    except (OSError, subprocess.CalledProcessError, ValueError, KeyError,
            IndexError):
        return None


def band(v):
    return f"{statistics.median(v):.3f} ({min(v):.3f}..{max(v):.3f})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--window", type=float, default=5.0)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    busy_bin = os.path.join(tmp, "busyloop")
    subprocess.run(["cc", "-O1", "-o", busy_bin,
                    os.path.join(TOP, "tests", "fixtures", "c", "busyloop.c")],
                   check=True)
    # a binary nobody starts: a copy of true
    target = os.path.join(tmp, "never-started")
    subprocess.run(["cp", "/bin/true", target], check=True)
    idle_cpu, exec_ratio, busy_ratio, per_exec = [], [], [], []
    stats = "/proc/sys/kernel/bpf_stats_enabled"
    with open(stats) as f:
        stats_before = f.read().strip()
    with open(stats, "w") as f:
        f.write("1")
    for _ in range(a.reps):
        base_exec = execs(500)
        base_busy = busy(busy_bin, 1.0)
        with open(os.path.join(tmp, "log"), "w+") as log:
            p = start_watch(target, log)
            t0, c0 = time.monotonic(), cpu_ticks(p.pid)
            time.sleep(a.window)
            c1, t1 = cpu_ticks(p.pid), time.monotonic()
            w_exec = execs(500)
            ns = prog_ns_per_run()
            if ns is not None:
                per_exec.append(ns)
            w_busy = busy(busy_bin, 1.0)
            p.send_signal(2)
            p.wait()
        idle_cpu.append((c1 - c0) / TICK / (t1 - t0))
        exec_ratio.append(w_exec / base_exec)
        busy_ratio.append(w_busy / base_busy)
    with open(stats, "w") as f:
        f.write(stats_before)
    print(f"| measure ({a.reps} repetitions; median (min..max)) | value |")
    print("| --- | --- |")
    print(f"| cgoprof CPU while it waits, s per s ({a.window:.0f} s windows) "
          f"| {band(idle_cpu)} |")
    print(f"| 500 execs of /bin/true: time while it waits / without | "
          f"{band(exec_ratio)} |")
    if per_exec:
        print(f"| the exec watch program, ns per exec (kernel BPF stats) | "
              f"{band(per_exec)} |")
    print(f"| busy loop, iterations per CPU-second: while it waits / without "
          f"| {band(busy_ratio)} |")


if __name__ == "__main__":
    main()
