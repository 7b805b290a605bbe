#!/usr/bin/env bash
# record -- CMD on the native fixture (-O2 -fomit-frame-pointer): the hot
# leaf in libhot.so, reached through an inlined helper, from the main thread
# and from a worker thread; >= 99% of its samples carry the exact path.
. "$(dirname "$0")/lib.sh"
require_perf
"$CGOPROF" record --tid --annotate -o "$WORK/out.folded" -o "$WORK/summary.json" \
	-- "$FIXTURES/hot" thread 2 2> "$WORK/err"
cat "$WORK/err"
assert_written "$WORK/out.folded"
$STACKCHECK "$WORK/out.folded" --thread main --leaf hot_leaf \
	--path '_start;__libc_start_main;__libc_start_call_main;main;main_loop;hot_helper;hot_leaf'
$STACKCHECK "$WORK/out.folded" --thread other --leaf hot_leaf \
	--path '__clone3;start_thread;worker;hot_helper;hot_leaf'
# the helper is shown as an inlined frame
grep -q ';hot_helper_\[i\];hot_leaf ' "$WORK/out.folded" || fail "inline frame not marked"
grep -q '^command exited with status 0$' "$WORK/err" || fail "no command status in the summary"
grep -q '% complete' "$WORK/err" || fail "no stack status in the summary"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["samples"] > 0 and d["stacks"]["complete"] > 0, d' "$WORK/summary.json"
