#!/usr/bin/env bash
# Issue 16 item 8: -F 100000 (the kernel's perf_event_max_sample_rate on
# the machine it was found on) on a busy 2 s program stalled it (19 s here,
# killed at 60 s there): each sample copies --stack-size bytes of stack in
# the target's own time. -F is lowered to what a stack copy per sample
# allows, with a warning, and the summary says the rate reached.
. "$(dirname "$0")/lib.sh"
require_perf
start=$(date +%s.%N)
rc=0
timeout 60 "$CGOPROF" record -F 100000 -o "$WORK/f.folded" -- "$FIXTURES/hot" main 2 \
	> /dev/null 2> "$WORK/err" || rc=$?
took=$(awk "BEGIN { print $(date +%s.%N) - $start }")
cat "$WORK/err"
echo "took ${took}s"
[ $rc = 0 ] || fail "exit status $rc"
assert_written "$WORK/f.folded"
grep -Eq "lowering -F 100000 to [0-9]+ Hz" "$WORK/err" || fail "no warning that -F was lowered"
grep -Eq "^sampling rate: [0-9]+ samples/s" "$WORK/err" || fail "the summary does not say the rate"
awk "BEGIN { exit !($took < 10) }" || fail "a 2 s program took ${took}s under -F 100000"
# a rate the stack copies allow is kept as asked
"$CGOPROF" record -F 1000 -o "$WORK/g.folded" -- "$FIXTURES/hot" main 0.3 > /dev/null 2> "$WORK/err2"
! grep -q "lowering -F" "$WORK/err2" || fail "-F 1000 was lowered"
# coldstart samples its starts the same way: the same ceiling
rc=0
timeout 60 "$CGOPROF" coldstart -n 1 -F 100000 -o "$WORK/c.json" -- "$FIXTURES/hot" main 0.3 \
	> /dev/null 2> "$WORK/err3" || rc=$?
cat "$WORK/err3"
[ $rc = 0 ] || fail "coldstart -F 100000: exit status $rc"
grep -Eq "lowering -F 100000 to [0-9]+ Hz" "$WORK/err3" || fail "coldstart: -F 100000 not lowered"
grep -q '"freq_hz": 10000\b' "$WORK/c.json" || fail "coldstart's JSON does not give the rate used"
