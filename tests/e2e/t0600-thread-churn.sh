#!/usr/bin/env bash
# 1000 threads come and go while profiled, launched (record --) and
# attached (record -p): no crash, exit 0, every output written, most of the
# threads show up as their own --tid root with the exact path, and
# cgoprof's open fds stay bounded (inherited events, not one per thread).
. "$(dirname "$0")/lib.sh"
require_perf
cc -O2 -g -fomit-frame-pointer -o "$WORK/threads" \
	"$top/tests/fixtures/c/threads.c" -lpthread

# fd_watch PID FILE: the number of PID's open fds, every 0.1 s, until it ends
fd_watch() {
	while [ -d "/proc/$1" ]; do
		ls "/proc/$1/fd" 2>/dev/null | wc -l >> "$2" || true
		sleep 0.1
	done
}

# check NAME: the outputs of one run
check() {
	local name=$1 max threads
	cat "$WORK/$name.err"
	assert_written "$WORK/$name.folded"
	assert_written "$WORK/$name.json"
	grep -q '^ended 1000$' "$WORK/$name.out" || fail "$name: the target did not end its 1000 threads"
	# every worker's samples: the exact path from the thread's root
	$STACKCHECK "$WORK/$name.folded" --thread other --leaf thread_leaf \
		--path '__clone3;start_thread;thread_work;thread_leaf' --min-samples 500
	threads=$(grep ';thread_work;' "$WORK/$name.folded" | cut -d';' -f1 | sort -u | wc -l)
	echo "$name: $threads worker threads in the output"
	# each thread runs 4 ms of CPU at 999 Hz: ~4 samples; a few may be lost
	[ "$threads" -ge 800 ] || fail "$name: only $threads of 1000 threads in the output"
	max=$(sort -n "$WORK/$name.fds" | tail -n 1)
	echo "$name: at most $max fds open while recording"
	[ "$max" -le 64 ] || fail "$name: cgoprof had $max fds open (one per thread?)"
}

# launch: per-CPU inherited events
"$CGOPROF" record --tid -o "$WORK/launch.folded" -o "$WORK/launch.json" \
	-- "$WORK/threads" churn 1000 0.004 > "$WORK/launch.out" 2> "$WORK/launch.err" &
cg=$!
fd_watch $cg "$WORK/launch.fds" &
rc=0
wait $cg || rc=$?
[ $rc = 0 ] || { cat "$WORK/launch.err"; fail "launch: cgoprof exited with $rc"; }
check launch

# attach: the process has one thread when cgoprof attaches (the fixture
# waits 1 s before its first thread); the 1000 come after, through inherit
"$WORK/threads" churn 1000 0.004 1 > "$WORK/attach.out" 2>&1 &
target=$!
for _ in $(seq 100); do grep -q '^ready' "$WORK/attach.out" && break; sleep 0.02; done
"$CGOPROF" record --tid -p $target -d 60 -o "$WORK/attach.folded" \
	-o "$WORK/attach.json" 2> "$WORK/attach.err" &
cg=$!
fd_watch $cg "$WORK/attach.fds" &
rc=0
wait $cg || rc=$?
[ $rc = 0 ] || { cat "$WORK/attach.err"; fail "attach: cgoprof exited with $rc"; }
wait $target || fail "attach: the target failed"
check attach
