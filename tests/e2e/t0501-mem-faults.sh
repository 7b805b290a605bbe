#!/usr/bin/env bash
# cgoprof mem --faults on memhog, with every Go toolchain here: every page
# fault is rooted at the category of the page it brought in, and at least
# 90% of the C heap's faults are charged to the C function that touched the
# pages with its Go callers, stitched across the cgo call
# (runtime.goexit ... main.main ... c_touch_heap); the Go heap's faults to
# main.touchGo. All the fault outputs are written; the JSON has the counts.
. "$(dirname "$0")/lib.sh"
require_perf
builder="$top/tests/fixtures/go/memhog/build.sh"
gos=(/usr/local/go/bin/go)
[ -x /usr/lib/go-1.19/bin/go ] && gos+=(/usr/lib/go-1.19/bin/go)

for go in "${gos[@]}"; do
	bin=$("$builder" "$FIXTURES/memhog" "$go") || fail "cannot build memhog with $go"
	name=$(basename "$bin")
	out="$WORK/$name"
	"$CGOPROF" mem -q --faults -o "$out.folded" -o "$out.json" -o "$out.svg" \
		-o "$out.pb.gz" -- "$bin" -d 1s || fail "mem --faults failed on $name"
	for f in "$out.folded" "$out.json" "$out.svg" "$out.pb.gz"; do
		assert_written "$f"
	done
	python3 - "$out.folded" "$out.json" "$name" <<'PY' || exit 1
import json, sys
folded, js, what = sys.argv[1:4]
cats = {"go_heap", "go_runtime", "c_heap", "thread_stacks", "executable",
        "libraries", "loader", "other_anon"}
def fail(msg):
    print(f"FAIL: {what}: {msg}")
    sys.exit(1)
by_root, c_total, c_ok, go_total, go_ok = {}, 0, 0, 0, 0
for line in open(folded):
    stack, n = line.rstrip("\n").rsplit(" ", 1)
    n = int(n)
    frames = stack.split(";")
    # comm;category;outermost...;leaf
    if len(frames) < 2 or frames[1] not in cats | {"unmapped"}:
        fail(f"a stack without a category root: {stack[:200]}")
    root = frames[1]
    by_root[root] = by_root.get(root, 0) + n
    if root == "c_heap":
        c_total += n
        try:
            if (frames.index("runtime.goexit") < frames.index("main.main") <
                    frames.index("main.touchC") < frames.index("c_touch_heap")):
                c_ok += n
        except ValueError:
            pass
    if root == "go_heap":
        go_total += n
        if "main.touchGo" in frames and "runtime.goexit" in frames:
            go_ok += n
# 16384 pages in the C heap, touched in a burst faster than any reader
# follows at a sample a fault (perf record loses ~11% of this run's; the
# sanitizer build, three times slower, up to three quarters): the loss is
# the bench's to measure, the attribution is judged here on at least an
# eighth of the pages
if c_total < 2048:
    fail(f"only {c_total} faults rooted at c_heap")
share = c_ok / c_total
print(f"{what:18} faults by category: {by_root}")
print(f"{what:18} c_heap faults in c_touch_heap under main.main: {c_ok}/{c_total} = {100 * share:.2f}%")
print(f"{what:18} go_heap faults in main.touchGo: {go_ok}/{go_total}")
if share < 0.90:
    fail(f"only {100 * share:.1f}% of the C heap's faults are charged to c_touch_heap with its Go callers")
if go_total < 16 or go_ok < go_total / 2:
    fail(f"go_heap faults in main.touchGo: {go_ok} of {go_total}")
d = json.load(open(js))
if "faults" not in d or d["faults"]["c_heap"] != by_root["c_heap"]:
    fail(f"the JSON's fault counts {d.get('faults')} differ from the profile's")
MiB = 1 << 20
for k in ("c_heap", "go_heap"):
    v = d["categories"][k]
    if abs(v - 64 * MiB) > 0.15 * 64 * MiB:
        fail(f"{k} is {v / MiB:.1f} MiB, not 64 MiB +- 15%")
PY
done

# attach: a series of snapshots while faults are sampled
pid=$(start_target "$WORK/target.out" "$bin" -d 60s)
[ -n "$pid" ] || fail "memhog did not start"
"$CGOPROF" mem -q --faults -p "$pid" -d 0.5 -o "$WORK/attach.json" ||
	fail "mem --faults -p failed"
assert_written "$WORK/attach.json"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["snapshots"] >= 3, d["snapshots"]
assert "faults" in d
' "$WORK/attach.json" || fail "bad JSON from mem --faults -p"
kill "$pid"

rc=0
"$CGOPROF" mem --faults -o "$WORK/x.folded" -- no-such-command-xyz 2> "$WORK/err" || rc=$?
[ "$rc" = 2 ] && grep -q "command not found: 'no-such-command-xyz'" "$WORK/err" ||
	{ cat "$WORK/err"; fail "mem --faults of a missing command: exit $rc"; }
[ ! -e "$WORK/x.folded" ] || fail "an output was written for a missing command"
echo "ok"
