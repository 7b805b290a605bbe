#!/usr/bin/env bash
# --exec: starts caught where they happen. On a Go fixture with cgo
# (cgo-inline), started by the test as a platform would, not by cgoprof:
#   - coldstart --exec -n 3 catches the 3 starts, from the host and from a
#     new mount + PID namespace where the binary is reached through a bind
#     mount under another path; the phases are all there and add up; the
#     start-up profile has x_cgo_init in runtime-init and main.main's
#     callers; memory at --ready per start; held_ms per start;
#   - an unrelated busy process running meanwhile has no sample in any
#     output; while cgoprof waits it uses under 1% of a CPU (its poll; the
#     exec watch's cost per exec is the bench's: bench/RESULTS.md). A busy
#     process's throughput is not compared: on a shared 2-CPU VM its rate
#     moved by half from one 0.3 s window to the next, with or without
#     cgoprof, and ten alternating windows failed a 10% bound either way;
#   - record --exec and mem --exec profile/measure the next start;
#   - errors: a path that is not an executable, --exec with a command, no
#     permission to watch (as 'nobody'),
#     --timeout with no start (exit 1) and with fewer starts than asked
#     (the starts caught are written, exit 1).
. "$(dirname "$0")/lib.sh"
require_perf
bin=$FIXTURES/go/cgo-inline-go1.26-default
[ -x "$bin" ] || fail "fixture $bin was not built"

# a process that only computes (tests/fixtures/c/busyloop.c)
cc -O1 -o "$WORK/busyloop" "$top/tests/fixtures/c/busyloop.c" || fail "cannot build the busy loop"

# waits until cgoprof's log says it waits (-v) for the next start: a start
# while it measures another is not measured (by design: it runs unwatched)
wait_watching() { # log [pattern]
	for _ in $(seq 400); do
		grep -q "${2:-waiting for}" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	cat "$1"; fail "cgoprof did not start waiting"
}

echo "== errors"
rc=0; "$CGOPROF" coldstart --exec "$top/README.md" -n 1 > "$WORK/e1.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || { cat "$WORK/e1.out"; fail "a non-executable path: exit $rc, not 2"; }
grep -q "not an executable file" "$WORK/e1.out" || { cat "$WORK/e1.out"; fail "no clear error for a non-executable path"; }
rc=0; "$CGOPROF" record --exec "$bin" -o "$WORK/x.folded" -- true > "$WORK/e2.out" 2>&1 || rc=$?
[ "$rc" = 64 ] || { cat "$WORK/e2.out"; fail "--exec with a command: exit $rc, not 64"; }
rc=0; "$CGOPROF" coldstart --exec "$bin" -n 1 --timeout 1 -o "$WORK/none.json" > "$WORK/e3.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$WORK/e3.out"; fail "a timeout with no start: exit $rc, not 1"; }
grep -q "0 of 1 starts caught" "$WORK/e3.out" || { cat "$WORK/e3.out"; fail "the timeout is not reported"; }
rc=0; "$CGOPROF" record --exec "$bin" --timeout 1 -o "$WORK/none.folded" > "$WORK/e4.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$WORK/e4.out"; fail "record --exec timeout: exit $rc, not 1"; }
grep -q "was not started within" "$WORK/e4.out" || { cat "$WORK/e4.out"; fail "record's timeout is not reported"; }

if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null && id nobody > /dev/null 2>&1; then
	# without the permission to watch every exec: a clear error, exit 2
	chmod 755 "$WORK"
	install -m 755 "$CGOPROF" "$WORK/cgoprof-copy"
	mkdir -m 777 "$WORK/out"
	for cmd in "coldstart --exec /bin/true -n 1 --timeout 2" \
		"record --exec /bin/true --timeout 2 -o $WORK/out/x.folded"; do
		rc=0
		# shellcheck disable=SC2086
		setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups --reset-env -- \
			"$WORK/cgoprof-copy" $cmd > "$WORK/e5.out" 2>&1 || rc=$?
		[ "$rc" = 2 ] || { cat "$WORK/e5.out"; fail "$cmd as nobody: exit $rc, not 2"; }
		grep -q "needs root, or CAP_BPF and CAP_PERFMON" "$WORK/e5.out" ||
			{ cat "$WORK/e5.out"; fail "$cmd as nobody: no clear error"; }
	done
fi

echo "== the cost of waiting: cgoprof's own CPU while it waits"
# its CPU time in nanoseconds, all threads (/proc/PID/task/*/schedstat)
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ n += $1 } END { print n + 0 }'; }
"$CGOPROF" coldstart -v --exec "$bin" -n 1 --timeout 30 -q \
	-o "$WORK/idle.json" > "$WORK/idle.log" 2>&1 &
cs=$!
wait_watching "$WORK/idle.log"
sleep 0.5	# past its last preparations (the phase uprobes)
a=$(cpu_ns "$cs"); sleep 2; b=$(cpu_ns "$cs")
kill -INT "$cs"; wait "$cs" || true
echo "cgoprof's CPU while waiting 2 s: $(( (b - a) / 1000 )) us"
# a poll every 250 ms, nothing else: 1% of the window is a hundred times it
[ $((b - a)) -lt 20000000 ] ||
	fail "cgoprof used $(( (b - a) / 1000000 )) ms of CPU in 2 s of waiting"

echo "== coldstart --exec: 3 starts, from the host and from namespaces"
# each start runs 0.6 s after --ready (main.spinC): its memory is read
# while it lives
"$WORK/busyloop" 30 > "$WORK/busy.out" &
busy=$!
"$CGOPROF" coldstart -v --exec "$bin" -n 3 --ready main.spinC --timeout 60 \
	-o "$WORK/cs.json" -o "$WORK/cs.folded" -o "$WORK/cs.pb.gz" \
	> "$WORK/cs.log" 2>&1 &
cs=$!
wait_watching "$WORK/cs.log"
"$bin" -d 0.6s > /dev/null
wait_watching "$WORK/cs.log" "waiting for 2 more"
# in the namespaces the file is reached through a bind mount elsewhere
mkdir -p "$WORK/other"
unshare --mount --pid --fork --mount-proc sh -c \
	"mount --bind '$(dirname "$bin")' '$WORK/other' &&
	 '$WORK/other/$(basename "$bin")' -d 0.6s > /dev/null &&
	 until grep -q 'waiting for 1 more' '$WORK/cs.log'; do sleep 0.05; done &&
	 '$WORK/other/$(basename "$bin")' -d 0.6s > /dev/null" ||
	fail "the starts in namespaces failed"
rc=0; wait "$cs" || rc=$?
kill "$busy" 2>/dev/null || true
cat "$WORK/cs.log"
[ "$rc" = 0 ] || fail "coldstart --exec: exit $rc"
grep -c "start [0-9] (pid" "$WORK/cs.log" | grep -qx 3 || fail "not 3 starts caught"
python3 - "$WORK/cs.json" <<'PY' || fail "the JSON of the caught starts"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["runs"] == 3 and d["caught"] is True, (d["runs"], d["caught"])
names = [p["name"] for p in d["phases"]]
assert names == ["loader", "runtime-init", "package-init", "main-to-ready"], names
for p in d["phases"]:
    assert p["min_ms"] > 0, ("empty phase", p)
assert len(d["starts"]) == 3
total = sum(p["median_ms"] for p in d["phases"])
assert abs(total - d["total"]["median_ms"]) < 0.01, (total, d["total"])
for s in d["starts"]:
    assert 0 < s["held_ms"] < 1000, s
    m = s["memory"]
    assert m and m["rss_bytes"] > 1 << 20 and m["peak_rss_bytes"] >= m["rss_bytes"] * 0.9, m
    assert sum(m["by_category"].values()) > 0.8 * m["rss_bytes"], m
    assert m["by_category"]["libraries"] > 0, m
assert d["memory"]["starts"] == 3
print("json ok:", d["total"]["median_ms"], "ms,", d["memory"]["rss_bytes"], "bytes at ready")
PY
grep -q 'x_cgo_init' "$WORK/cs.folded" || fail "no x_cgo_init in the start-up profile"
# the merged stacks: comm;phase;frames...
! grep 'x_cgo_init' "$WORK/cs.folded" | grep -v '^[^;]*;runtime-init;' | grep -q . ||
	fail "x_cgo_init outside runtime-init"
grep -q '^[^;]*;main-to-ready;.*runtime.main;main.main' "$WORK/cs.folded" ||
	fail "no main.main under runtime.main in main-to-ready"
grep -q 'busyloop' "$WORK/cs.folded" && fail "the busy process has samples in the folded stacks"
zcat "$WORK/cs.pb.gz" | grep -aq busyloop && fail "the busy process is in the pprof"

echo "== record --exec and mem --exec"
"$CGOPROF" record -v --exec "$bin" --timeout 30 -o "$WORK/rec.folded" > "$WORK/rec.log" 2>&1 &
rp=$!
wait_watching "$WORK/rec.log"
"$bin" -d 0.3s > /dev/null
wait "$rp" || { cat "$WORK/rec.log"; fail "record --exec failed"; }
grep -q 'runtime.main;main.main;main.spinC;main._Cfunc_c_spin;runtime.cgocall;runtime.asmcgocall;.*c_spin' \
	"$WORK/rec.folded" || fail "record --exec: no cgo stack of main.spinC"
"$CGOPROF" mem -v --exec "$bin" --timeout 30 -o "$WORK/mem.json" > "$WORK/mem.log" 2>&1 &
mp=$!
wait_watching "$WORK/mem.log"
"$bin" -d 0.3s > /dev/null
wait "$mp" || { cat "$WORK/mem.log"; fail "mem --exec failed"; }
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["command"] == sys.argv[2] and d["snapshots"] >= 2 and d["rss"] > 1 << 20, d
' "$WORK/mem.json" "$bin" || fail "mem --exec: its JSON"

echo "== fewer starts than asked: partial results, exit 1"
"$CGOPROF" coldstart -v --exec "$bin" -n 3 --timeout 6 -o "$WORK/part.json" > "$WORK/part.log" 2>&1 &
cs=$!
wait_watching "$WORK/part.log"
"$bin" -d 0.1s > /dev/null
rc=0; wait "$cs" || rc=$?
[ "$rc" = 1 ] || { cat "$WORK/part.log"; fail "a partial --exec: exit $rc, not 1"; }
grep -q "1 of 3 starts caught" "$WORK/part.log" || { cat "$WORK/part.log"; fail "no partial warning"; }
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["runs"] == 1' "$WORK/part.json" ||
	fail "the partial JSON"
echo "ok"
