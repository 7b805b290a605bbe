#!/usr/bin/env bash
# The target ends on its own: cgoprof stops, writes every output and exits 0;
# a launched command's exit status is reported, not returned.
. "$(dirname "$0")/lib.sh"
require_perf
# launch: the command exits with status 3
"$CGOPROF" record -o "$WORK/launch.folded" -- "$FIXTURES/hot" exit 0.5 2> "$WORK/err1" ||
	fail "cgoprof returned $? for a command that exited with 3"
grep -q '^command exited with status 3$' "$WORK/err1" || { cat "$WORK/err1"; fail "status not reported"; }
assert_written "$WORK/launch.folded"
# attach: the target exits mid-recording (-d 30 is never reached)
pid=$(start_target "$WORK/target.out" "$FIXTURES/hot" main 1.5)
start=$(date +%s)
"$CGOPROF" record -p "$pid" -d 30 -o "$WORK/attach.folded" -o "$WORK/attach.json" 2> "$WORK/err2"
end=$(date +%s)
cat "$WORK/err2"
[ $((end - start)) -lt 10 ] || fail "cgoprof did not notice the target's exit"
assert_written "$WORK/attach.folded"
assert_written "$WORK/attach.json"
grep -q 'hot_leaf [0-9]*$' "$WORK/attach.folded" || fail "no samples of the target"
