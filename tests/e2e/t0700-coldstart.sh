#!/usr/bin/env bash
# cgoprof coldstart on a C program (tests/fixtures/c/startup.c: a constructor,
# main, app_ready) and on a tiny Go program built twice, with cgo (an
# `import "C"` file) and with CGO_ENABLED=0: the phases are there, in order,
# each non-empty; the medians add up to the total; samples land in the phase
# their code belongs to (startup_ctor in init, x_cgo_init in runtime-init,
# main.init in package-init, main.main after it); --ready ends the start;
# main's callers are in every stack holding main (samples inside the uprobe
# trap at its entry included); --compare prints both commands and the
# difference; the JSON's schema.
. "$(dirname "$0")/lib.sh"
require_perf
go=/usr/local/go/bin/go
[ -x "$go" ] || fail "no Go toolchain at $go"

# ---- the programs ---------------------------------------------------------
cc -O1 -g -fno-omit-frame-pointer -o "$WORK/startup" \
	"$top/tests/fixtures/c/startup.c" || fail "cannot build startup.c"

src="$WORK/gosrc"
mkdir -p "$src"
cat > "$src/main.go" <<'EOF'
package main

import (
	"fmt"
	"os"
)

// package init: a few ms of work before main.main
var table = buildTable()

func buildTable() []uint64 {
	t := make([]uint64, 1<<16)
	for r := 0; r < 40; r++ {
		for i := range t {
			t[i] = t[i]*31 + uint64(i^r)
		}
	}
	return t
}

//go:noinline
func ready() { fmt.Fprintln(os.Stderr, "ready") }

func main() {
	s := uint64(0)
	for r := 0; r < 20; r++ {
		for _, v := range table {
			s += v >> 3
		}
	}
	ready()
	fmt.Println(s&1, cvalue())
}
EOF
cat > "$src/cgo.go" <<'EOF'
//go:build cgo

package main

// static int cvalue_c(void) { return 42; }
import "C"

func cvalue() int { return int(C.cvalue_c()) }
EOF
cat > "$src/nocgo.go" <<'EOF'
//go:build !cgo

package main

func cvalue() int { return 42 }
EOF
printf 'module coldstart\n\ngo 1.19\n' > "$src/go.mod"
mkdir -p "$FIXTURES/.cache-coldstart"
for cgo in 1 0; do
	(cd "$src" && GOTOOLCHAIN=local GOCACHE="$FIXTURES/.cache-coldstart" \
		GOFLAGS=-mod=mod CGO_ENABLED=$cgo "$go" build \
		-o "$WORK/app-cgo$cgo" .) || fail "cannot build the Go program (CGO_ENABLED=$cgo)"
done

# ---- checks ---------------------------------------------------------------
# check.py JSON FOLDED WHAT PHASES... [-- RULES]: RULES are
# "frame=phase[|phase]" (every stack holding frame is rooted at one of these
# phases, and at least one at the first) and "!frame" (no stack holds frame).
check() {
	python3 - "$@" <<'PY'
import json, sys
args = sys.argv[1:]
js, folded, what = args[:3]
rest = args[3:]
if "--" in rest:
    i = rest.index("--")
    phases, rules = rest[:i], rest[i + 1:]
else:
    phases, rules = rest, []
def fail(msg):
    print(f"FAIL: {what}: {msg}")
    sys.exit(1)
d = json.load(open(js))
for k in ("command", "runs", "phases", "total"):
    if k not in d:
        fail(f"no key '{k}'")
if not isinstance(d["command"], list) or not d["command"]:
    fail(f"command is {d['command']!r}")
names = [p["name"] for p in d["phases"]]
if names != phases:
    fail(f"phases {names}, wanted {phases}")
total = 0.0
for p in d["phases"]:
    for k in ("median_ms", "p90_ms", "min_ms", "max_ms", "page_faults_median"):
        if not isinstance(p.get(k), (int, float)) or p[k] < 0:
            fail(f"{p['name']}: {k} = {p.get(k)!r}")
    if not isinstance(p.get("cpu_ms_by_kind"), dict):
        fail(f"{p['name']}: no cpu_ms_by_kind")
    if not p["min_ms"] <= p["median_ms"] <= p["p90_ms"] <= p["max_ms"]:
        fail(f"{p['name']}: not min <= median <= p90 <= max: {p}")
    if p["median_ms"] <= 0:
        fail(f"{p['name']}: median {p['median_ms']} ms")
    total += p["median_ms"]
t = d["total"]
for k in ("median_ms", "p90_ms"):
    if not isinstance(t.get(k), (int, float)):
        fail(f"total: no {k}")
if abs(total - t["median_ms"]) > 0.0025:
    fail(f"the phase medians add up to {total:.3f}, total median is {t['median_ms']}")
runs = d.get("runs_ms", [])
if len(runs) != d["runs"]:
    fail(f"{len(runs)} runs_ms for {d['runs']} runs")
cpu = sum(sum(p["cpu_ms_by_kind"].values()) for p in d["phases"])
if cpu <= 0:
    fail("no on-CPU time in any phase")

# folded: comm;phase;outermost...;leaf count
by_phase, frame_phases = {}, {}
for line in open(folded):
    stack, n = line.rstrip("\n").rsplit(" ", 1)
    frames = stack.split(";")
    if len(frames) < 3:
        fail(f"a stack without a phase root: {stack[:200]}")
    ph = frames[1]
    if ph not in phases + ["after-ready"]:
        fail(f"unknown phase root '{ph}': {stack[:200]}")
    by_phase[ph] = by_phase.get(ph, 0) + int(n)
    for f in set(frames[2:]):
        frame_phases.setdefault(f, {}).setdefault(ph, 0)
        frame_phases[f][ph] += int(n)
for r in rules:
    if r.startswith("!"):
        if r[1:] in frame_phases:
            fail(f"'{r[1:]}' appears: {frame_phases[r[1:]]}")
        continue
    f, allowed = r.split("=")
    allowed = allowed.split("|")
    ph = allowed[0]
    got = frame_phases.get(f, {})
    if not got.get(ph, 0):
        fail(f"no stack rooted at '{ph}' holds '{f}' (seen in {got})")
    wrong = {p: c for p, c in got.items() if p not in allowed and c}
    if wrong:
        fail(f"'{f}' outside '{ph}': {wrong}")
print(f"ok {what}: " + ", ".join(f"{p['name']} {p['median_ms']:.3f}"
                               for p in d["phases"])
      + f" = {t['median_ms']:.3f} ms; samples by phase {by_phase}")
PY
}

# C: loader, init (the constructor), main-to-ready (ends at app_ready)
"$CGOPROF" coldstart -q -n 5 --ready app_ready -o "$WORK/c.json" \
	-o "$WORK/c.folded" -- "$WORK/startup" > "$WORK/c.out" 2>&1 ||
	{ cat "$WORK/c.out"; fail "coldstart failed on startup"; }
assert_written "$WORK/c.json"
assert_written "$WORK/c.folded"
check "$WORK/c.json" "$WORK/c.folded" startup loader init main-to-ready -- \
	startup_ctor=init 'main=main-to-ready|after-ready' || exit 1
# main's callers are in every stack that holds it, also in the samples
# taken inside its uprobe's trap (the ip is then one byte past main's entry
# until the kernel moves it back)
python3 - "$WORK/c.folded" <<'PY' || exit 1
import sys
n = 0
for line in open(sys.argv[1]):
    stack, count = line.rstrip("\n").rsplit(" ", 1)
    frames = stack.split(";")
    if "main" in frames[2:]:
        n += int(count)
        if frames[2] != "_start":
            print(f"FAIL: startup: main without its callers: {stack[:300]}")
            sys.exit(1)
if n < 50:
    print(f"FAIL: startup: only {n} samples in main")
    sys.exit(1)
PY
python3 - "$WORK/c.json" <<'PY' || exit 1
import json, sys
d = json.load(open(sys.argv[1]))
ph = {p["name"]: p for p in d["phases"]}
# main spins 5 ms before app_ready, the constructor 3 ms
if ph["main-to-ready"]["min_ms"] < 4.5 or ph["init"]["min_ms"] < 2.5:
    print(f"FAIL: startup: main-to-ready {ph['main-to-ready']}, init {ph['init']}")
    sys.exit(1)
if d["ready"] != "app_ready" or d["go"]:
    print(f"FAIL: startup: ready {d['ready']!r}, go {d['go']!r}")
    sys.exit(1)
PY

# Go with cgo: x_cgo_init in runtime-init, main.init in package-init
go_phases="loader runtime-init package-init main-to-ready"
"$CGOPROF" coldstart -n 10 -o "$WORK/cgo.json" -o "$WORK/cgo.folded" \
	-o "$WORK/cgo.svg" -- "$WORK/app-cgo1" > "$WORK/cgo.out" 2>&1 ||
	{ cat "$WORK/cgo.out"; fail "coldstart failed on the cgo build"; }
for f in cgo.json cgo.folded cgo.svg; do assert_written "$WORK/$f"; done
for p in $go_phases total; do
	grep -q "^$p " "$WORK/cgo.out" || { cat "$WORK/cgo.out"; fail "no '$p' row in the table"; }
done
check "$WORK/cgo.json" "$WORK/cgo.folded" cgo $go_phases -- \
	x_cgo_init=runtime-init main.init=package-init \
	main.main=main-to-ready || exit 1

# CGO_ENABLED=0: the same phases, no cgo bootstrap
"$CGOPROF" coldstart -q -n 5 -o "$WORK/nocgo.json" -o "$WORK/nocgo.folded" \
	-- "$WORK/app-cgo0" > "$WORK/nocgo.out" 2>&1 ||
	{ cat "$WORK/nocgo.out"; fail "coldstart failed on the CGO_ENABLED=0 build"; }
check "$WORK/nocgo.json" "$WORK/nocgo.folded" nocgo $go_phases -- \
	'!x_cgo_init' main.init=package-init || exit 1

# --compare: both columns and the difference, interleaved runs
"$CGOPROF" coldstart -n 3 --compare -o "$WORK/cmp.json" -- \
	"$WORK/app-cgo1" --- "$WORK/app-cgo0" > "$WORK/cmp.out" 2> "$WORK/cmp.err" ||
	{ cat "$WORK/cmp.out" "$WORK/cmp.err"; fail "coldstart --compare failed"; }
cat "$WORK/cmp.out"
grep -q 'A median.*B median.*diff B-A' "$WORK/cmp.out" ||
	fail "no 'A median', 'B median' and 'diff B-A' columns"
for p in $go_phases total; do
	awk -v p="$p" '$1 == p && NF >= 7 { ok = 1 } END { exit !ok }' \
		"$WORK/cmp.out" || fail "no '$p' row with both commands and the difference"
done
python3 - "$WORK/cmp.json" <<'PY' || exit 1
import json, sys
d = json.load(open(sys.argv[1]))
def fail(msg):
    print(f"FAIL: compare: {msg}")
    sys.exit(1)
b = d.get("compare")
if not b or b["runs"] != 3 or d["runs"] != 3:
    fail("no 'compare' with 3 runs each")
if not d["command"][0].endswith("app-cgo1") or not b["command"][0].endswith("app-cgo0"):
    fail(f"commands {d['command']} {b['command']}")
for ph in d["phases"]:
    bp = [p for p in b["phases"] if p["name"] == ph["name"]][0]
    diff = b["diff_median_ms"][ph["name"]]
    if abs(diff - (bp["median_ms"] - ph["median_ms"])) > 0.0015:
        fail(f"{ph['name']}: diff {diff} is not B - A")
PY

# usage errors
set +e
"$CGOPROF" coldstart --compare -- "$WORK/startup" > /dev/null 2>&1
[ $? -eq 64 ] || fail "--compare with one command is not a usage error"
"$CGOPROF" coldstart -n 0 -- "$WORK/startup" > /dev/null 2>&1
[ $? -eq 64 ] || fail "-n 0 is not a usage error"
"$CGOPROF" coldstart -- "$WORK/no-such-command" > "$WORK/err.out" 2>&1
[ $? -eq 2 ] && grep -q "command not found: '$WORK/no-such-command'" "$WORK/err.out" ||
	{ cat "$WORK/err.out"; fail "a missing command is not reported"; }
set -e
echo "ok"
