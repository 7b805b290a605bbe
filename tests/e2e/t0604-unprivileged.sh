#!/usr/bin/env bash
# A user without privileges ('nobody') under perf_event_paranoid 2 profiles
# its own processes, launched and attached: user space only, with a
# warning that says so. The same user is refused a root process, with the
# "not permitted" message that explains perf_event_paranoid and CAP_PERFMON
# (exit 2, nothing written). Goroutine stack snapshots (eBPF) are not
# permitted either: recording goes on without them, and -v says why.
. "$(dirname "$0")/lib.sh"
require_perf
[ "$(id -u)" = 0 ] || skip "needs root to switch to 'nobody'"
command -v setpriv > /dev/null || skip "no setpriv"
id nobody > /dev/null 2>&1 || skip "no user 'nobody'"
group=$(id -gn nobody)
paranoid=/proc/sys/kernel/perf_event_paranoid
old=$(cat $paranoid)
if [ "$old" != 2 ]; then
	# the level this test is about; put back on exit
	echo 2 > $paranoid 2> /dev/null || skip "perf_event_paranoid is $old and cannot be set"
	trap 'echo "$old" > '$paranoid'; kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
fi
as_nobody() {
	setpriv --reuid=nobody --regid="$group" --clear-groups --reset-env -- "$@"
}

# binaries nobody may read and run, and a directory it may write
chmod 755 "$WORK"
mkdir -m 755 "$WORK/bin"
cp "$CGOPROF" "$FIXTURES/hot" "$FIXTURES/libhot.so" "$WORK/bin/"
chmod 755 "$WORK/bin"/*
mkdir -m 777 "$WORK/out"
user_path='_start;__libc_start_main;__libc_start_call_main;main;main_loop;hot_helper;hot_leaf'

# check NAME: user-space only, the exact path, the warning
check() {
	local name=$1
	cat "$WORK/$name.err"
	assert_written "$WORK/out/$name.folded"
	$STACKCHECK "$WORK/out/$name.folded" --thread main --leaf hot_leaf --path "$user_path"
	# (the vdso's frames, named or not, are user space, though annotated
	# _[k] as perf does)
	! grep -o '[^;]*_\[k\]' "$WORK/out/$name.folded" |
		grep -qv '^\(__vdso_\|\[\[vdso\]+0x\)' ||
		fail "$name: kernel frames recorded for an unprivileged user"
	grep -q "user space only" "$WORK/$name.err" || fail "$name: no warning about user space only"
}

# launch
as_nobody "$WORK/bin/cgoprof" record -v --tid --annotate -o "$WORK/out/launch.folded" \
	-- "$WORK/bin/hot" main 1.5 > /dev/null 2> "$WORK/launch.err" ||
	{ cat "$WORK/launch.err"; fail "launch as nobody: cgoprof exited with $?"; }
check launch
grep -q "goroutine stack snapshots (BPF): off: BPF maps cannot be created (needs CAP_BPF and CAP_PERFMON)" \
	"$WORK/launch.err" || fail "launch: no word on the snapshots being off"

# attach to nobody's own process
pid=$(start_target "$WORK/target.out" setpriv --reuid=nobody --regid="$group" \
	--clear-groups -- "$WORK/bin/hot" main 4)
[ -n "$pid" ] || fail "fixture did not start"
[ "$(stat -c %U "/proc/$pid")" = nobody ] || fail "the fixture does not run as nobody"
as_nobody "$WORK/bin/cgoprof" record --tid --annotate -p "$pid" -d 2 \
	-o "$WORK/out/attach.folded" 2> "$WORK/attach.err" ||
	{ cat "$WORK/attach.err"; fail "attach as nobody: cgoprof exited with $?"; }
check attach

# refused: a root process
sleep 30 &
root_pid=$!
rc=0
as_nobody "$WORK/bin/cgoprof" record -p "$root_pid" -d 1 -o "$WORK/out/root.folded" \
	2> "$WORK/root.err" || rc=$?
cat "$WORK/root.err"
[ $rc = 2 ] || fail "a root process: exit $rc, not 2"
grep -q "not permitted to profile pid $root_pid" "$WORK/root.err" || fail "no 'not permitted' message"
grep -q "perf_event_paranoid" "$WORK/root.err" || fail "the message does not mention perf_event_paranoid"
grep -q "CAP_PERFMON" "$WORK/root.err" || fail "the message does not mention CAP_PERFMON"
! ls "$WORK/out/root.folded"* > /dev/null 2>&1 || fail "something was written for a refused pid"
