#!/usr/bin/env bash
# Under 'ulimit -n 64', attaching to a process with more threads than fds
# allow (one per thread and CPU, --scope thread) either works or fails with
# the clear "too many open files" message (exit 2, nothing written); never
# a crash. With few threads, it works, though binaries must then be opened
# within the same limit. With one timer a CPU (the default where the
# snapshot program loads: here, as root) nothing is opened per thread, and
# a process of 200 threads records under the same limit.
. "$(dirname "$0")/lib.sh"
require_perf
cc -O2 -g -fomit-frame-pointer -o "$WORK/threads" \
	"$top/tests/fixtures/c/threads.c" -lpthread

# run NAME THREADS: attach under ulimit -n 64; sets rc
run() {
	local name=$1 n=$2 pid
	pid=$(start_target "$WORK/$name.out" "$WORK/threads" hold "$n" 4)
	[ -n "$pid" ] || fail "$name: fixture did not start"
	sleep 0.2 # every thread started
	rc=0
	(ulimit -n 64 && exec "$CGOPROF" record $scope --tid -p "$pid" -d 1.5 \
		-o "$WORK/$name.folded" -o "$WORK/$name.json") 2> "$WORK/$name.err" || rc=$?
	cat "$WORK/$name.err"
	kill "$pid" 2> /dev/null || true
	# a signal (crash) shows as 128+N; sanitizers exit 1 or 23
	case $rc in
	0)
		assert_written "$WORK/$name.folded"
		assert_written "$WORK/$name.json"
		grep -q ';thread_work;thread_leaf [0-9]*$' "$WORK/$name.folded" ||
			fail "$name: no samples of the threads"
		;;
	2)
		grep -q "too many open files (one per thread and CPU): raise 'ulimit -n'" \
			"$WORK/$name.err" || fail "$name: exit 2 without the 'too many open files' message"
		! ls "$WORK/$name".* 2> /dev/null | grep -qv '\.\(out\|err\)$' ||
			fail "$name: something was written after a failure"
		;;
	*) fail "$name: cgoprof exited with $rc" ;;
	esac
	echo "$name: $n threads, exit $rc"
}

scope="--scope thread"
run many 40
# one event fd per thread and CPU: leave ~24 fds for the rest
few=$(( 40 / $(nproc) - 1 ))
if [ $few -ge 1 ]; then
	run few $few
	[ $rc = 0 ] || fail "few: $few threads under 64 fds must work"
fi
scope="--scope cpu"
run cpu 200
[ $rc = 0 ] || fail "cpu: 200 threads under 64 fds must work with one timer a CPU"
