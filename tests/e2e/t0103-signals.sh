#!/usr/bin/env bash
# SIGINT (Ctrl-C) and SIGTERM stop recording; every output is still written
# (atomically) and cgoprof exits 0 for SIGINT, 128+15 for SIGTERM (more in
# t0910-signals).
. "$(dirname "$0")/lib.sh"
require_perf
for sig in INT TERM; do
	# own process group, as a terminal's Ctrl-C would not reach the test
	setsid "$CGOPROF" record -o "$WORK/$sig.folded" -o "$WORK/$sig.json" \
		-- "$FIXTURES/hot" main 30 2> "$WORK/$sig.err" &
	cg=$!
	sleep 1.5
	kill -$sig $cg
	rc=0
	wait $cg || rc=$?
	cat "$WORK/$sig.err"
	want=0; [ $sig = TERM ] && want=143
	[ $rc = $want ] || fail "SIG$sig: cgoprof exited with $rc, want $want"
	assert_written "$WORK/$sig.folded"
	assert_written "$WORK/$sig.json"
	grep -q 'main_loop;hot_helper;hot_leaf [0-9]*$' "$WORK/$sig.folded" || fail "SIG$sig: no hot path"
	# the command is ended with the recording, as perf does
	! pgrep -f "$FIXTURES/hot main 30" > /dev/null || fail "SIG$sig: the command survived"
done
