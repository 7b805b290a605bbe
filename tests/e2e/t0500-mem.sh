#!/usr/bin/env bash
# cgoprof mem on memhog (64 MiB malloc'd and written in C, 64 MiB []byte in
# Go), built with every Go toolchain here (Go 1.19 puts its heap at
# 0xc000000000, Go 1.26 at a random address): c_heap and go_heap each within
# 15% of 64 MiB, launched and attached (one snapshot and a series); the
# JSON's keys and sums; the errors, worded as record's.
. "$(dirname "$0")/lib.sh"
builder="$top/tests/fixtures/go/memhog/build.sh"
gos=(/usr/local/go/bin/go)
[ -x /usr/lib/go-1.19/bin/go ] && gos+=(/usr/lib/go-1.19/bin/go)

check_json() { # file what [min-snapshots]
	python3 - "$@" <<'PY'
import json, sys
path, what = sys.argv[1], sys.argv[2]
min_snaps = int(sys.argv[3]) if len(sys.argv) > 3 else 1
d = json.load(open(path))
MiB = 1 << 20
cats = ["go_heap", "go_runtime", "c_heap", "thread_stacks", "executable",
        "libraries", "loader", "other_anon"]
def fail(msg):
    print(f"FAIL: {what}: {msg}")
    sys.exit(1)
for k in ("pid", "rss", "categories", "outside_go_heap", "libraries", "last"):
    if k not in d:
        fail(f"no key '{k}'")
for snap, name in ((d, "peak"), (d["last"], "last")):
    c = snap["categories"]
    if sorted(c) != sorted(cats):
        fail(f"{name}: categories {sorted(c)}")
    if any(not isinstance(c[k], int) or c[k] < 0 for k in cats):
        fail(f"{name}: a category is not a byte count: {c}")
    if snap["outside_go_heap"] != sum(c[k] for k in cats[2:]):
        fail(f"{name}: outside_go_heap {snap['outside_go_heap']} is not the sum of the others")
    if snap["rss"] != sum(c.values()):
        fail(f"{name}: rss {snap['rss']} is not the sum of the categories")
    if sum(snap["libraries"].values()) != c["libraries"]:
        fail(f"{name}: the libraries do not add up")
    if "libc.so.6" not in snap["libraries"]:
        fail(f"{name}: no libc.so.6 among {list(snap['libraries'])}")
    for k in ("c_heap", "go_heap"):
        if abs(c[k] - 64 * MiB) > 0.15 * 64 * MiB:
            fail(f"{name}: {k} is {c[k] / MiB:.1f} MiB, not 64 MiB +- 15%")
    guessed = snap["basis"].get("c_heap", {}).get("guess", 0)
    if guessed > MiB:
        fail(f"{name}: {guessed / MiB:.1f} MiB of c_heap is a guess")
if d["snapshots"] < min_snaps:
    fail(f"{d['snapshots']} snapshots, wanted {min_snaps}")
c = d["categories"]
print(f"{what:28} rss {d['rss'] / MiB:6.1f} MiB  c_heap {c['c_heap'] / MiB:5.1f}  "
      f"go_heap {c['go_heap'] / MiB:5.1f}  go_runtime {c['go_runtime'] / MiB:4.1f}  "
      f"outside_go_heap {d['outside_go_heap'] / MiB:5.1f}  snapshots {d['snapshots']}")
PY
}

for go in "${gos[@]}"; do
	bin=$("$builder" "$FIXTURES/memhog" "$go") || fail "cannot build memhog with $go"
	name=$(basename "$bin")

	"$CGOPROF" mem -q -o "$WORK/launch.json" -- "$bin" -d 1s ||
		fail "mem failed on $name"
	assert_written "$WORK/launch.json"
	check_json "$WORK/launch.json" "$name launch" 5 || exit 1

	pid=$(start_target "$WORK/attach-$name.out" "$bin" -d 60s)
	[ -n "$pid" ] || { cat "$WORK/attach-$name.out"; fail "$name did not start"; }
	"$CGOPROF" mem -q -p "$pid" -o "$WORK/attach.json" ||
		fail "mem -p failed on $name"
	assert_written "$WORK/attach.json"
	check_json "$WORK/attach.json" "$name -p" || exit 1
	"$CGOPROF" mem -q -p "$pid" -d 0.5 -F 20 -o "$WORK/series.json" ||
		fail "mem -p -d failed on $name"
	check_json "$WORK/series.json" "$name -p -d 0.5 -F 20" 5 || exit 1
	# the table, for people
	"$CGOPROF" mem -p "$pid" > "$WORK/table.txt" || fail "mem -p (table) failed"
	for k in rss go_heap go_runtime c_heap thread_stacks executable libraries \
		loader other_anon outside_go_heap; do
		grep -q "^  $k " "$WORK/table.txt" || { cat "$WORK/table.txt"; fail "no '$k' line in the table"; }
	done
	kill "$pid"
	wait "$pid" 2>/dev/null || true
done

# errors: a clear message, the documented exit status, nothing written
expect() { # exit-code message-regex args...
	local code=$1 re=$2 rc=0; shift 2
	(cd "$WORK" && "$CGOPROF" "$@") > "$WORK/out" 2> "$WORK/err" || rc=$?
	if [ "$rc" != "$code" ] || ! grep -Eq "$re" "$WORK/err"; then
		echo "args: $*"; echo "exit: $rc (want $code)"; cat "$WORK/err"
		fail "wrong exit status or message"
	fi
	! ls "$WORK"/*.json "$WORK"/*.folded "$WORK"/*.tmp.* >/dev/null 2>&1 ||
		fail "something was written for: $*"
}
rm -f "$WORK"/*.json
expect 64 "nothing to measure" mem
expect 64 "invalid pid 'abc'" mem -p abc
expect 64 "either -p PID or a command" mem -p 1 -- true
expect 64 "invalid frequency '0'" mem -F 0 -- true
expect 64 "invalid --interval 'x'" mem --interval x -- true
expect 64 "invalid duration '-1'" mem -d -1 -- true
expect 64 "'x.svg' is a page-fault profile: add --faults" mem -o x.svg -- true
expect 2 "no such process: 999999999" mem -p 999999999 -o x.json
expect 2 "command not found: 'no-such-command-xyz'" mem -o x.json -- no-such-command-xyz
expect 2 "cannot write output '/nonexistent-dir/x.json'" mem -o /nonexistent-dir/x.json -- true
# a user who may not read a root process
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	pid=$(start_target "$WORK/unprivileged.out" "$bin" -d 60s)
	[ -n "$pid" ] || fail "memhog did not start"
	rc=0
	(cd / && setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$CGOPROF" mem -p "$pid") > "$WORK/out" 2> "$WORK/err" || rc=$?
	if [ "$rc" != 2 ] || ! grep -q "not permitted to read the memory map of pid $pid" "$WORK/err"; then
		cat "$WORK/err"
		ps -o pid,user,stat,etime,args -p "$pid" || echo "pid $pid is gone"
		cat "$WORK/unprivileged.out"
		fail "unprivileged mem -p: exit $rc"
	fi
	kill "$pid"
fi
echo "ok"
