#!/usr/bin/env bash
# A real cgo library nobody here wrote: github.com/mattn/go-sqlite3 (Debian's
# package, linking the system libsqlite3, built without frame pointers)
# doing inserts and queries. The samples in sqlite's C code must reach
# main.main and runtime.goexit through runtime.cgocall, or end in a
# "[truncated: reason]" frame: never a wrong stack. sqlite uses rbp as a
# general register and its cgo calls last microseconds, so the Go callers
# come from reads of the goroutine stack that are often too late to be
# used; the share that reaches main.main is printed, and must be at least
# CGOPROF_SQLITE_MIN (default 0.30; the goal is 0.95, see README).
. "$(dirname "$0")/lib.sh"
require_perf
n=0
for bin in "$FIXTURES"/go/sqlite-go1.*-*; do
	[ -x "$bin" ] || continue
	n=$((n + 1))
	out="$WORK/$(basename "$bin").folded"
	"$CGOPROF" record -q --annotate -d 2 -o "$out" -o "$out.json" -- "$bin" -d 6s
	python3 - "$out" <<'PY' || fail "$(basename "$out")"
import re, sys
import os
total = good = wrong = 0
bad = {}
for line in open(sys.argv[1]):
    stack, count = line.rstrip("\n").rsplit(" ", 1)
    frames = stack.split(";")[1:]
    user = [f for f in frames if not f.endswith("_[k]")]
    if not user:
        continue
    leaf = user[-1]
    # sqlite's C code: sqlite3* functions or unnamed frames in libsqlite3
    if not (leaf.startswith("sqlite3") or leaf.startswith("[libsqlite3")):
        continue
    total += int(count)
    u = [f[:-4] if f.endswith("_[i]") else f for f in user]
    if (u[0] == "runtime.goexit" and "main.main" in u and "runtime.cgocall" in u
            and u.index("main.main") < u.index("runtime.cgocall")):
        good += int(count)
    else:
        k = ";".join(u[:6])
        bad[k] = bad.get(k, 0) + int(count)
        if not u[0].startswith("[truncated: "):
            wrong += int(count)
share = good / total if total else 0
print(f"{sys.argv[1]}: {good}/{total} samples in sqlite reach main.main and runtime.goexit "
      f"through runtime.cgocall ({100 * share:.1f}%)")
for k, v in sorted(bad.items(), key=lambda kv: -kv[1])[:4]:
    print(f"  other ({v}): {k}")
print(f"  wrong (complete-looking but not the true structure): {wrong}")
need = float(os.environ.get("CGOPROF_SQLITE_MIN", "0.30"))
sys.exit(0 if total >= 100 and share >= need and wrong == 0 else 1)
PY
done
[ "$n" -ge 1 ] || fail "no sqlite fixture was built"
