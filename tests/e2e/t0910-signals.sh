#!/usr/bin/env bash
# Issue 16 items 6 and 7. A command that ignores SIGTERM is killed after
# --kill-after seconds (default 5) once the recording ends, its outputs
# written first; SIGHUP, SIGINT, SIGTERM and SIGPIPE end record, mem and
# coldstart alike: outputs written, the launched command stopped, exit
# status 0 for SIGINT (the usual end of a recording) and 128+signal for
# the others.
. "$(dirname "$0")/lib.sh"
require_perf
stubborn='trap "" TERM; while :; do :; done'

# item 6: -d on a command that ignores SIGTERM
for ka in 1 default; do
	opt=(--kill-after 1); [ $ka = default ] && opt=()
	start=$(date +%s.%N)
	rc=0
	timeout 30 "$CGOPROF" record -d 1 "${opt[@]}" -o "$WORK/ka.folded" \
		-- sh -c "$stubborn" 2> "$WORK/ka.err" || rc=$?
	took=$(awk "BEGIN { print $(date +%s.%N) - $start }")
	cat "$WORK/ka.err"
	[ $rc = 0 ] || fail "--kill-after $ka: exit status $rc"
	assert_written "$WORK/ka.folded"
	grep -q "command killed by signal 9" "$WORK/ka.err" || fail "--kill-after $ka: not killed"
	want=2; [ $ka = default ] && want=6
	echo "--kill-after $ka: ${took}s"
	awk "BEGIN { exit !($took < $want + 3 && $took >= $want - 0.5) }" ||
		fail "--kill-after $ka: took ${took}s, want about ${want}s"
	! pgrep -f "$stubborn" > /dev/null || fail "--kill-after $ka: the command survived"
	rm -f "$WORK/ka.folded"
done

# item 7: the four signals, on each command
status() { case $1 in INT) echo 0 ;; HUP) echo 129 ;; PIPE) echo 141 ;; TERM) echo 143 ;; esac; }
run() { # sig name wait-seconds cgoprof-args...
	local sig=$1 name=$2 wait=$3 rc=0; shift 3
	setsid "$CGOPROF" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" &
	local cg=$!
	sleep "$wait"
	kill -"$sig" $cg
	timeout 30 tail --pid=$cg -f /dev/null || { kill -9 $cg; fail "$name: SIG$sig did not end cgoprof"; }
	wait $cg || rc=$?
	cat "$WORK/$name.err"
	[ "$rc" = "$(status "$sig")" ] || fail "$name: SIG$sig: exit status $rc, want $(status "$sig")"
}
for sig in HUP INT TERM PIPE; do
	run $sig rec-$sig 1.5 record -o "$WORK/r-$sig.folded" -o "$WORK/r-$sig.json" \
		-- "$FIXTURES/hot" main 30
	assert_written "$WORK/r-$sig.folded"
	assert_written "$WORK/r-$sig.json"
	! pgrep -f "$FIXTURES/hot main 30" > /dev/null || fail "record SIG$sig: the command survived"
done
# a command that ignores every one of them too: killed after the grace
run HUP rec-stubborn 1 record --kill-after 1 -o "$WORK/s.folded" \
	-- sh -c "trap '' HUP INT TERM PIPE; $stubborn"
assert_written "$WORK/s.folded"
! pgrep -f "$stubborn" > /dev/null || fail "record: the stubborn command survived SIGHUP"
for sig in HUP TERM; do
	run $sig mem-$sig 1 mem -o "$WORK/m-$sig.json" -- "$FIXTURES/hot" main 30
	assert_written "$WORK/m-$sig.json"
	run $sig memf-$sig 1.5 mem --faults -o "$WORK/mf-$sig.json" -- "$FIXTURES/hot" main 30
	assert_written "$WORK/mf-$sig.json"
	! pgrep -f "$FIXTURES/hot main 30" > /dev/null || fail "mem SIG$sig: the command survived"
done
run HUP cs-HUP 3 coldstart -n 1000 -o "$WORK/cs.json" -- "$FIXTURES/hot" main 0.05
assert_written "$WORK/cs.json"
! pgrep -f "$FIXTURES/hot main 0.05" > /dev/null || fail "coldstart SIGHUP: the command survived"
