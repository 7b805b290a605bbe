#!/usr/bin/env bash
# The target's executable and its library are deleted while it runs, before
# cgoprof attaches: the files exist only as the process's mappings
# (/proc/PID/map_files), and symbols still resolve to the exact path.
. "$(dirname "$0")/lib.sh"
require_perf
path='_start;__libc_start_main;__libc_start_call_main;main;main_loop;hot_helper;hot_leaf'
mkdir "$WORK/del"
cp "$FIXTURES/hot" "$FIXTURES/libhot.so" "$WORK/del/"
pid=$(start_target "$WORK/target.out" "$WORK/del/hot" main 4)
[ -n "$pid" ] || fail "fixture did not start"
rm "$WORK/del/hot" "$WORK/del/libhot.so"
grep -q "$WORK/del/libhot.so (deleted)" "/proc/$pid/maps" || fail "the library is not shown as deleted"
"$CGOPROF" record --tid -p "$pid" -d 2 -o "$WORK/out.folded" 2> "$WORK/err" ||
	{ cat "$WORK/err"; fail "cgoprof exited with $?"; }
cat "$WORK/err"
assert_written "$WORK/out.folded"
$STACKCHECK "$WORK/out.folded" --thread main --leaf hot_leaf --path "$path"
! grep -q '\[\(hot\|libhot.so\)+0x' "$WORK/out.folded" || fail "unnamed frames of the deleted files"
