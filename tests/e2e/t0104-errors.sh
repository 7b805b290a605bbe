#!/usr/bin/env bash
# Bad input: a clear message, the documented exit status, nothing written.
. "$(dirname "$0")/lib.sh"

expect() { # exit-code message-regex args...
	local code=$1 re=$2 rc=0; shift 2
	(cd "$WORK" && "$CGOPROF" "$@") > "$WORK/out" 2> "$WORK/err" || rc=$?
	if [ "$rc" != "$code" ] || ! grep -Eq "$re" "$WORK/err"; then
		echo "args: $*"; echo "exit: $rc (want $code)"; cat "$WORK/err"
		fail "wrong exit status or message"
	fi
	! ls "$WORK"/*.folded "$WORK"/*.tmp.* >/dev/null 2>&1 || fail "something was written for: $*"
}

expect 64 "invalid frequency '0'" record -F 0 -- true
expect 64 "invalid --stack-size '7'" record --stack-size 7 -- true
expect 64 "invalid --stack-size '70000'" record --stack-size 70000 -- true
expect 64 "invalid duration '-1'" record -d -1 -- true
expect 64 "invalid pid list 'abc'" record -p abc
expect 64 "nothing to profile" record
expect 64 "either -p PID or a command" record -p 1 -- true
expect 64 "unknown command 'recrod'" recrod
expect 2 "no such process: 999999999" record -p 999999999
expect 2 "unknown event 'no-such-event'" record -e no-such-event -- true
expect 2 "cannot write output '/nonexistent-dir/x.folded'" record -o /nonexistent-dir/x.folded -- true
require_perf
expect 2 "command not found: 'no-such-command-xyz'" record -- no-such-command-xyz
# no PMU on this kind of machine: 'cycles' must say so; where a PMU exists
# the same command records
if [ ! -e /sys/bus/event_source/devices/cpu ]; then
	expect 2 "needs a hardware PMU.*use -e cpu-clock" record -e cycles -- true
fi
