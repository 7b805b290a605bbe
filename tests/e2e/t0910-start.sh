#!/usr/bin/env bash
# Issue 16 item 10: a signal while the command is being started (Ctrl-C
# right after Enter) printed "cannot start: Success": the command, waiting
# to exec, had died of the signal. Now it ends like any interrupted
# recording (outputs written, the command stopped, 0 for SIGINT, 129 for
# SIGHUP), and no error says "Success". A signal right after the command's
# exec can end it before its first sample: the output is then empty, and
# cgoprof says that no samples were recorded.
. "$(dirname "$0")/lib.sh"
require_perf
for sig in INT HUP; do
	want=0; [ $sig = HUP ] && want=129
	for d in 0 0.02 0.05 0.08 0.12 0.2 0.3; do
		rm -f "$WORK/s.folded"
		setsid "$CGOPROF" record -o "$WORK/s.folded" -- sleep 7 > "$WORK/out" 2> "$WORK/err" &
		cg=$!
		# from when cgoprof catches signals (before that no program can)
		for _ in $(seq 200); do
			cgt=$(awk '$1 == "SigCgt:" {print $2}' /proc/$cg/status 2>/dev/null || true)
			[ -n "$cgt" ] && (( 0x$cgt & 1 )) && break
			sleep 0.005
		done
		sleep $d
		kill -$sig -- -$cg 2>/dev/null || true
		timeout 20 tail --pid=$cg -f /dev/null || { kill -9 $cg; fail "SIG$sig at ${d}s: cgoprof did not end"; }
		rc=0; wait $cg || rc=$?
		echo "SIG$sig at ${d}s: exit $rc"; cat "$WORK/err"
		! grep -q "Success" "$WORK/err" || fail "SIG$sig at ${d}s: an error without its cause"
		[ $rc = $want ] || fail "SIG$sig at ${d}s: exit status $rc, want $want"
		# written; empty only when the command ended before its first
		# sample (a signal right after its exec), and then cgoprof says so
		[ -e "$WORK/s.folded" ] || fail "SIG$sig at ${d}s: no output"
		[ -s "$WORK/s.folded" ] || grep -q "no samples were recorded" "$WORK/err" ||
			fail "SIG$sig at ${d}s: an empty output, and no word why"
		! pgrep -s "$cg" > /dev/null || fail "SIG$sig at ${d}s: the command survived"
	done
done
