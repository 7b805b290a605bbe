#!/usr/bin/env bash
# Under 'ulimit -n 64', attach to processes with more and more threads,
# with one timer a thread (--scope thread: an fd per thread and CPU), until
# cgoprof refuses: at every step it either records and writes every
# output (exit 0), or refuses with the "too many open files" message (exit
# 2). The step where the events still fit but little is left for opening
# binaries and writing outputs must not lose the recording (exit 1).
. "$(dirname "$0")/lib.sh"
require_perf
cc -O2 -g -fomit-frame-pointer -o "$WORK/threads" \
	"$top/tests/fixtures/c/threads.c" -lpthread
ncpus=$(nproc)
# one event fd per thread and CPU: start where ~30 fds are left, and walk
# past the point where cgoprof keeps its reserve of fds for the rest
n=$(( (64 - 30) / ncpus - 1 ))
recorded=0
[ $n -ge 1 ] || skip "too many CPUs for a limit of 64 fds"
for step in $(seq 12); do
	pid=$(start_target "$WORK/t$n.out" "$WORK/threads" hold "$n" 4)
	[ -n "$pid" ] || fail "fixture did not start"
	sleep 0.2
	rc=0
	(ulimit -n 64 && exec "$CGOPROF" record --scope thread -p "$pid" -d 1 \
		-o "$WORK/o$n.folded" -o "$WORK/o$n.json") 2> "$WORK/e$n" || rc=$?
	kill "$pid" 2> /dev/null || true
	wait "$pid" 2> /dev/null || true
	echo "$n threads: exit $rc"
	case $rc in
	0)
		assert_written "$WORK/o$n.folded"
		assert_written "$WORK/o$n.json"
		grep -q ';thread_work;thread_leaf [0-9]*$' "$WORK/o$n.folded" ||
			{ cat "$WORK/e$n"; fail "$n threads: no named samples of the threads"; }
		recorded=$((recorded + 1))
		;;
	2)
		cat "$WORK/e$n"
		grep -q "too many open files" "$WORK/e$n" || fail "$n threads: exit 2 without the message"
		[ $recorded -ge 1 ] || fail "refused at the first step: start lower"
		exit 0
		;;
	*)
		cat "$WORK/e$n"
		fail "$n threads: cgoprof exited with $rc (a recording lost to the fd limit?)"
		;;
	esac
	n=$((n + 1))
done
fail "never refused up to $((n - 1)) threads under 64 fds"
