#!/usr/bin/env python3
"""Checks exact call paths in a folded profile written with --tid --annotate.

For the samples whose innermost user frame is LEAF (kernel frames, marked
_[k], above it are ignored: an interrupt does not change the user stack),
counts the share whose user frames are exactly PATH, frame by frame.

  stackcheck.py FILE --leaf NAME --path 'root;...;leaf' [--thread main|other]
                [--min-share 0.99] [--min-samples 100]
"""
import argparse
import re
import sys

LINE = re.compile(r"^(.*)\s+?(\d+(?:\.\d*)?)$")  # flamegraph.pl's regex


def strip(frame):
    return frame[:-4] if frame.endswith(("_[k]", "_[i]")) else frame


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--leaf", required=True)
    ap.add_argument("--path", required=True)
    ap.add_argument("--thread", choices=["main", "other", "any"], default="any")
    ap.add_argument("--min-share", type=float, default=0.99)
    ap.add_argument("--min-samples", type=int, default=100)
    a = ap.parse_args()
    want = a.path.split(";")
    total = exact = 0
    wrong = {}
    for line in open(a.file):
        m = LINE.match(line.rstrip("\n"))
        if not m:
            sys.exit(f"not a folded line: {line!r}")
        frames, count = m.group(1).split(";"), int(m.group(2))
        root, frames = frames[0], frames[1:]
        tm = re.match(r"^.*-(\d+)/(\d+)$", root)
        if a.thread != "any":
            if not tm:
                sys.exit("--thread needs a profile written with --tid")
            is_main = tm.group(1) == tm.group(2)
            if is_main != (a.thread == "main"):
                continue
        user = [f for f in frames if not f.endswith("_[k]")]
        # kernel frames may only sit above the user leaf
        if not user or strip(user[-1]) != a.leaf:
            continue
        total += count
        got = [strip(f) for f in user]
        if got == want:
            exact += count
        else:
            key = ";".join(got)
            wrong[key] = wrong.get(key, 0) + count
    share = exact / total if total else 0.0
    print(f"{a.file}: {exact}/{total} samples in {a.leaf} have the exact path "
          f"({100 * share:.2f}%)")
    for k, v in sorted(wrong.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  other path ({v}): {k}")
    if total < a.min_samples:
        print(f"FAIL: fewer than {a.min_samples} samples in {a.leaf}")
        return 1
    if share < a.min_share:
        print(f"FAIL: exact share below {100 * a.min_share:.1f}%")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
