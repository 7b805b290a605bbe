#!/usr/bin/env bash
# A real cgo library nobody here wrote: github.com/mattn/go-sqlite3 (Debian's
# package, linking the system libsqlite3, built without frame pointers)
# doing inserts and queries. The samples in sqlite's C code must reach
# main.main and runtime.goexit through runtime.cgocall, or end in a
# "[truncated: reason]" frame: never a wrong stack. sqlite uses rbp as a
# general register and its cgo calls last microseconds. By default the Go
# callers come from the goroutine stack snapshot the eBPF program takes at
# sample time: at least 95% (CGOPROF_SQLITE_MIN) must reach main.main.
# With --no-bpf they come from reads of the goroutine stack, often too late
# to be used: at least 30% there (CGOPROF_SQLITE_MIN_LIVE), never wrong.
. "$(dirname "$0")/lib.sh"
require_perf
n=0
for bin in "$FIXTURES"/go/sqlite-go1.*-*; do
	[ -x "$bin" ] || continue
	n=$((n + 1))
	for mode in bpf live; do
	out="$WORK/$(basename "$bin")-$mode.folded"
	if [ $mode = bpf ]; then
		opt="" need=${CGOPROF_SQLITE_MIN:-0.95}
	else
		opt=--no-bpf need=${CGOPROF_SQLITE_MIN_LIVE:-0.30}
	fi
	"$CGOPROF" record -v $opt --annotate -d 2 -o "$out" -o "$out.json" -- "$bin" -d 6s \
		2> "$out.log" || { cat "$out.log"; fail "record failed on $bin"; }
	if [ $mode = bpf ]; then
		grep -q "goroutine stack snapshots (BPF): [1-9]" "$out.log" ||
			{ cat "$out.log"; fail "no goroutine stack snapshots taken"; }
	fi
	NEED=$need python3 - "$out" <<'PY' || fail "$(basename "$out")"
import re, sys
import os
total = good = wrong = init = 0
bad = {}
wrongs = {}
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
    u = [f[:-4] if f.endswith("_[i]") else f for f in user]
    # the loader running libsqlite3's initialisers before Go starts (a
    # page fault at the first instruction of its _init): no cgo call
    if u[:3] == ["_dl_start_user", "_dl_init", "call_init"]:
        init += int(count)
        continue
    total += int(count)
    if (u[0] == "runtime.goexit" and "main.main" in u and "runtime.cgocall" in u
            and u.index("main.main") < u.index("runtime.cgocall")):
        good += int(count)
    else:
        k = ";".join(u[:6])
        bad[k] = bad.get(k, 0) + int(count)
        if not u[0].startswith("[truncated: "):
            wrong += int(count)
            wrongs[";".join(u)] = wrongs.get(";".join(u), 0) + int(count)
share = good / total if total else 0
print(f"{sys.argv[1]}: {good}/{total} samples in sqlite reach main.main and runtime.goexit "
      f"through runtime.cgocall ({100 * share:.1f}%)")
for k, v in sorted(bad.items(), key=lambda kv: -kv[1])[:4]:
    print(f"  other ({v}): {k}")
print(f"  in the loader's initialisers, not counted: {init}")
print(f"  wrong (complete-looking but not the true structure): {wrong}")
for k, v in sorted(wrongs.items(), key=lambda kv: -kv[1])[:4]:
    print(f"    wrong ({v}): {k}")
need = float(os.environ["NEED"])
sys.exit(0 if total >= 100 and share >= need and wrong == 0 else 1)
PY
	done
done
[ "$n" -ge 1 ] || fail "no sqlite fixture was built"
