#!/usr/bin/env bash
# A target maps and unmaps a library in a loop (dlopen, call, dlclose, ~300
# times a second), launched and attached: no crash, and the library's
# function is symbolized with its exact path, though the mapping it ran
# from may be gone (and another in its place) by the time the profile is
# written.
. "$(dirname "$0")/lib.sh"
require_perf
flags="-O2 -g -fomit-frame-pointer"
cc $flags -shared -fPIC -o "$WORK/libdlwork.so" "$top/tests/fixtures/c/libdlwork.c"
cc $flags -o "$WORK/dlloop" "$top/tests/fixtures/c/dlloop.c" -ldl
path='_start;__libc_start_main;__libc_start_call_main;main;dl_loop;call_once;dl_work'

check() { # NAME
	local name=$1 loops
	cat "$WORK/$name.err"
	assert_written "$WORK/$name.folded"
	loops=$(awk '/^loops/ {print $2}' "$WORK/$name.out")
	[ "${loops:-0}" -ge 100 ] || fail "$name: the target looped only ${loops:-0} times"
	$STACKCHECK "$WORK/$name.folded" --thread main --leaf dl_work --path "$path"
	! grep -q '\[libdlwork.so+0x' "$WORK/$name.folded" || fail "$name: unnamed frames in the library"
}

"$CGOPROF" record --tid -o "$WORK/launch.folded" -- "$WORK/dlloop" "$WORK/libdlwork.so" 2 \
	> "$WORK/launch.out" 2> "$WORK/launch.err" ||
	{ cat "$WORK/launch.err"; fail "launch: cgoprof exited with $?"; }
check launch

pid=$(start_target "$WORK/attach.out" "$WORK/dlloop" "$WORK/libdlwork.so" 3)
[ -n "$pid" ] || fail "attach: fixture did not start"
"$CGOPROF" record --tid -p "$pid" -d 30 -o "$WORK/attach.folded" 2> "$WORK/attach.err" ||
	{ cat "$WORK/attach.err"; fail "attach: cgoprof exited with $?"; }
wait
check attach
