#!/usr/bin/env python3
"""Fold `perf script` output (default fields, with callchains) into folded
stacks, as FlameGraph's stackcollapse-perf.pl does: one line per unique stack,
"comm;outermost;...;leaf COUNT", symbol offsets stripped, [unknown] frames
named by their dso. Usage: perf script -i perf.data | perf-fold.py > out.folded
"""
import re
import sys
from collections import Counter

OFF = re.compile(r"\+0x[0-9a-f]+$")


def main():
    counts = Counter()
    comm = None
    frames = []
    for line in sys.stdin:
        if not line.strip():
            if comm is not None:
                counts[";".join([comm] + frames[::-1])] += 1
            comm, frames = None, []
            continue
        if not line.startswith("\t"):
            # header: "comm pid/tid time: period event:" (comm may hold spaces)
            m = re.match(r"\s*(.+?)\s+\d+(?:/\d+)?\s+[\d.]+:", line)
            comm = m.group(1).replace(" ", "_") if m else "?"
            frames = []
            continue
        parts = line.strip().split(None, 1)
        if len(parts) < 2:
            continue
        rest = parts[1]
        dso = ""
        if rest.endswith(")") and " (" in rest:
            rest, dso = rest.rsplit(" (", 1)
            dso = dso[:-1]
        sym = OFF.sub("", rest)
        if sym == "[unknown]" and dso:
            sym = "[" + dso.rsplit("/", 1)[-1] + "]"
        frames.append(sym)
    if comm is not None:
        counts[";".join([comm] + frames[::-1])] += 1
    out = sys.stdout
    for k in sorted(counts):
        out.write("%s %d\n" % (k, counts[k]))


if __name__ == "__main__":
    main()
