#!/usr/bin/env bash
# record -p PID: every thread of the process, including a worker thread that
# starts only after cgoprof attached.
. "$(dirname "$0")/lib.sh"
require_perf
pid=$(start_target "$WORK/target.out" "$FIXTURES/hot" late 3.5)
[ -n "$pid" ] || fail "fixture did not start"
"$CGOPROF" record --tid --annotate -p "$pid" -d 3 -o "$WORK/out.folded" 2> "$WORK/err"
cat "$WORK/err"
assert_written "$WORK/out.folded"
$STACKCHECK "$WORK/out.folded" --thread main --leaf hot_leaf \
	--path '_start;__libc_start_main;__libc_start_call_main;main;main_loop;hot_helper;hot_leaf'
# the worker was created ~1 s after attaching
$STACKCHECK "$WORK/out.folded" --thread other --leaf hot_leaf \
	--path '__clone3;start_thread;worker;hot_helper;hot_leaf'
