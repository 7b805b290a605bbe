"""What the bench's workloads print, read by bench.py and launched.py."""
import re


def parse_dur(s):
    """The fixed work's time a workload prints (elapsed=...), in seconds."""
    m = re.search(r"elapsed=([0-9.]+)(ns|µs|us|ms|s|m)\b", s)
    if not m:
        m2 = re.search(r"elapsed=(\d+)m([0-9.]+)s", s)
        return float(m2.group(1)) * 60 + float(m2.group(2)) if m2 else None
    v = float(m.group(1))
    return v * {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}[m.group(2)]
