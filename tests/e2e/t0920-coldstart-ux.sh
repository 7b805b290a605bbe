#!/usr/bin/env bash
# cgoprof coldstart, as hyperfine does it (issue 16, item 12): the command's
# stdout and stderr go to /dev/null by default (the table is not mixed with
# N copies of the command's output), --show-output keeps them; --warmup N
# starts it N times more, not measured; --prepare CMD runs before each start
# (warm-ups too), through /bin/sh -c, and its failure ends the measurement
# with exit status 2 and one line naming it.
. "$(dirname "$0")/lib.sh"
require_perf
cc -O1 -g -o "$WORK/chatty" -x c - <<'C' || fail "cannot build chatty"
#include <stdio.h>
int main(void)
{
	puts("CHATTY-OUT");
	fputs("CHATTY-ERR\n", stderr);
	return 0;
}
C
cs() { timeout 120 "$CGOPROF" coldstart "$@"; }

# the default: no output of the command, a table
cs -n 3 -- "$WORK/chatty" > "$WORK/out" 2> "$WORK/err" ||
	{ cat "$WORK/out" "$WORK/err"; fail "coldstart failed"; }
grep -q '^total' "$WORK/out" || { cat "$WORK/out"; fail "no table"; }
! grep -q CHATTY "$WORK/out" "$WORK/err" ||
	{ cat "$WORK/out" "$WORK/err"; fail "the command's output is in the table"; }

# --show-output: three runs, three copies of each line
cs -n 3 --show-output -- "$WORK/chatty" > "$WORK/out" 2> "$WORK/err" ||
	fail "coldstart --show-output failed"
[ "$(grep -c CHATTY-OUT "$WORK/out")" = 3 ] || { cat "$WORK/out"; fail "--show-output: stdout not kept"; }
[ "$(grep -c CHATTY-ERR "$WORK/err")" = 3 ] || { cat "$WORK/err"; fail "--show-output: stderr not kept"; }

# --prepare before each start, warm-ups included; --warmup is not measured
cs -n 3 --warmup 2 --prepare "echo x >> '$WORK/prep'" -o "$WORK/w.json" \
	-- "$WORK/chatty" > "$WORK/out" 2> "$WORK/err" ||
	{ cat "$WORK/err"; fail "coldstart --warmup --prepare failed"; }
[ "$(wc -l < "$WORK/prep")" = 5 ] || fail "--prepare ran $(wc -l < "$WORK/prep") times, not 5"
python3 - "$WORK/w.json" <<'PY' || fail "--warmup runs were measured"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["runs"] == 3 and len(d["runs_ms"]) == 3, d["runs_ms"]
PY
grep -q " 3 runs)" "$WORK/out" || { cat "$WORK/out"; fail "the table's header does not say 3 runs"; }

# a failing --prepare: exit status 2, one line, the command never started
set +e
cs -n 3 --prepare 'exit 3' -- "$WORK/chatty" > "$WORK/out" 2> "$WORK/err"
rc=$?
set -e
[ $rc = 2 ] || { cat "$WORK/err"; fail "failing --prepare: exit status $rc, not 2"; }
grep -q "prepare 'exit 3' failed: exit status 3" "$WORK/err" ||
	{ cat "$WORK/err"; fail "failing --prepare: no message"; }

# usage errors
for bad in "--warmup x" "--warmup -1" "--prepare="; do
	set +e
	# shellcheck disable=SC2086
	"$CGOPROF" coldstart $bad -- "$WORK/chatty" > /dev/null 2>&1
	rc=$?
	set -e
	[ $rc = 64 ] || fail "coldstart $bad: exit status $rc, not 64"
done
echo PASS
