#!/usr/bin/env bash
# The target execs another binary: a shell script (the process's first
# image) runs for a while, then execs the native fixture in the same
# process. The new image's mappings replace the old ones: hot_leaf has its
# exact path, under the new comm 'hot' and the same PID, launched (record
# --) and attached (record -p) before the exec.
. "$(dirname "$0")/lib.sh"
require_perf
path='_start;__libc_start_main;__libc_start_call_main;main;main_loop;hot_helper;hot_leaf'
# the script spins in the shell first (its own samples; ARG2 rounds of a
# shell loop, ~1 s for 300000), then execs
cat > "$WORK/preexec.sh" <<'SCRIPT'
#!/bin/sh
echo "ready $$"
i=0
while [ $i -lt "$2" ]; do i=$((i + 1)); done
exec "$1" main 2
SCRIPT
chmod +x "$WORK/preexec.sh"

# check NAME PID: hot's samples in NAME.folded, under comm 'hot' and PID
check() {
	local name=$1 pid=$2
	cat "$WORK/$name.err"
	assert_written "$WORK/$name.folded"
	$STACKCHECK "$WORK/$name.folded" --thread main --leaf hot_leaf --path "$path"
	grep -q "^hot-$pid/$pid;.*;main_loop;hot_helper;hot_leaf [0-9]*\$" "$WORK/$name.folded" ||
		fail "$name: hot_leaf not under 'hot-$pid/$pid'"
	# the shell's own samples before the exec, in the same process (the
	# root names the process by its last comm)
	grep -q "^[^;]*-$pid/$pid;.*__libc_start_call_main;\[dash+0x" "$WORK/$name.folded" ||
		fail "$name: no samples of the script before its exec"
}

# launch: from the script's first instruction
"$CGOPROF" record --tid -o "$WORK/launch.folded" \
	-- "$WORK/preexec.sh" "$FIXTURES/hot" 300000 > "$WORK/launch.out" 2> "$WORK/launch.err" ||
	{ cat "$WORK/launch.err"; fail "launch: cgoprof exited with $?"; }
pid=$(awk '/^ready/ {print $2; exit}' "$WORK/launch.out")
[ -n "$pid" ] || fail "launch: the script did not start"
check launch "$pid"

# attach: to the script, which execs ~2 s later
pid=$(start_target "$WORK/attach.out" "$WORK/preexec.sh" "$FIXTURES/hot" 600000)
[ -n "$pid" ] || fail "attach: the script did not start"
"$CGOPROF" record --tid -p "$pid" -d 30 -o "$WORK/attach.folded" 2> "$WORK/attach.err" ||
	{ cat "$WORK/attach.err"; fail "attach: cgoprof exited with $?"; }
check attach "$pid"
