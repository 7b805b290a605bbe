#!/usr/bin/env python3
"""Checks exact call paths in a folded profile written with --tid --annotate.

For the samples whose innermost user frame is LEAF (kernel frames, marked
_[k], above it are ignored: an interrupt does not change the user stack),
counts the share whose user frames are exactly PATH, frame by frame.

  stackcheck.py FILE --leaf NAME --path 'root;...;leaf' [--thread main|other]
                [--min-share 0.99] [--min-samples 100]
                [--binary PATH [--inline NAME,...]] [--truncated-ok]

With --binary, the expected path is adapted to what the binary holds, and
nothing else: a C frame whose symbol the binary no longer has (stripped with
-s) must appear at its place as "[binary+0xOFFSET]", and a C inline frame
(--inline) is expected only when the binary has DWARF. Go names always come
from .gopclntab and are never relaxed.

With --truncated-ok, a stack that ends "[truncated: reason]" followed by
exactly the innermost frames of PATH counts as right (honest, not wrong);
any other stack still counts against the share.
"""
import argparse
import os
import re
import subprocess
import sys


def binary_symbols(path):
    names = set()
    for args in (["nm", "--defined-only"], ["nm", "-D", "--defined-only"]):
        out = subprocess.run(args + [path], capture_output=True, text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 3:
                names.add(parts[2].split("@")[0])
    return names


def has_dwarf(path):
    out = subprocess.run(["readelf", "-S", "-W", path], capture_output=True,
                         text=True).stdout
    return ".debug_info" in out or ".zdebug_info" in out


def adapt(want, binary, inline):
    """Expected frames as patterns: a name, or a regex for an unnamed frame."""
    syms, dwarf = binary_symbols(binary), has_dwarf(binary)
    unnamed = re.compile(r"^\[" + re.escape(os.path.basename(binary)) +
                         r"\+0x[0-9a-f]+\]$")
    out = []
    for f in want:
        if f in inline:
            if dwarf:
                out.append(f)
            continue
        is_c = "." not in f and not f.startswith("_cgoexp_")
        out.append(unnamed if is_c and f not in syms else f)
    return out


def vaddr_to_offset(path, vaddr):
    out = subprocess.run(["readelf", "-lW", path], capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            off, va, filesz = int(f[1], 16), int(f[2], 16), int(f[4], 16)
            if va <= vaddr < va + filesz:
                return vaddr - va + off
    return None


def leaf_range(binary, twin, name):
    """File offsets [lo, hi) of function NAME's code in BINARY, found by
    its bytes in TWIN (the same build with symbols)."""
    out = subprocess.run(["nm", "-S", "--defined-only", twin],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) == 4 and f[3] == name:
            addr, size = int(f[0], 16), int(f[1], 16)
            off = vaddr_to_offset(twin, addr)
            code = open(twin, "rb").read()[off:off + size]
            at = open(binary, "rb").read().find(code)
            if at >= 0 and size >= 8:
                return at, at + size
    sys.exit(f"cannot locate {name} of {twin} in {binary}")


def matches(got, want):
    if len(got) != len(want):
        return False
    return all(w.match(g) if hasattr(w, "match") else g == w
               for g, w in zip(got, want))

LINE = re.compile(r"^(.*)\s+?(\d+(?:\.\d*)?)$")  # flamegraph.pl's regex


def truncated_tail(got, want):
    """got is "[truncated: ...]" then the innermost len(got)-1 frames of want"""
    if not got or not got[0].startswith("[truncated: ") or len(got) - 1 > len(want):
        return False
    return matches(got[1:], want[len(want) - len(got) + 1:])


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
    ap.add_argument("--binary")
    ap.add_argument("--inline", default="")
    ap.add_argument("--twin", help="the symbolized build of --binary")
    ap.add_argument("--truncated-ok", action="store_true")
    a = ap.parse_args()
    want = a.path.split(";")
    leaf_off = None
    if a.binary:
        want = adapt(want, a.binary, set(filter(None, a.inline.split(","))))
        if not isinstance(want[-1], str):
            # an unnamed leaf: known by its offset, not by "any unnamed"
            if not a.twin:
                sys.exit("the leaf has no name in --binary: give --twin")
            lo, hi = leaf_range(a.binary, a.twin, a.leaf)
            pat = want[-1]
            want[-1] = re.compile(pat.pattern)
            leaf_off = (lo, hi)
        else:
            leaf_off = None
    total = exact = truncated = 0
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
        if isinstance(want[-1], str):
            leaf_ok = bool(user) and strip(user[-1]) == a.leaf
        else:
            m2 = bool(user) and re.match(r"^\[.*\+0x([0-9a-f]+)\]$", strip(user[-1]))
            leaf_ok = bool(m2) and leaf_off[0] <= int(m2.group(1), 16) < leaf_off[1]
        if not user or not leaf_ok:
            continue
        total += count
        got = [strip(f) for f in user]
        if matches(got, want):
            exact += count
        elif a.truncated_ok and truncated_tail(got, want):
            truncated += count
        else:
            key = ";".join(got)
            wrong[key] = wrong.get(key, 0) + count
    share = (exact + truncated) / total if total else 0.0
    print(f"{a.file}: {exact}/{total} samples in {a.leaf} have the exact path "
          f"({100 * exact / total if total else 0:.2f}%)" +
          (f", {truncated} end truncated above its true innermost frames"
           if a.truncated_ok else ""))
    for k, v in sorted(wrong.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  other path ({v}): {k}")
    if total < a.min_samples:
        print(f"FAIL: fewer than {a.min_samples} samples in {a.leaf}")
        return 1
    if share < a.min_share:
        print(f"FAIL: {'exact or truncated' if a.truncated_ok else 'exact'} "
              f"share below {100 * a.min_share:.1f}%")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
