#!/usr/bin/env bash
# Issue 16 items 1 and 9: outputs that are no regular file (a symlink to a
# FIFO or a device, a directory), empty or too long paths, extensions no
# exporter writes, -m 1, -c with -F, -p of a kernel thread and misspelled
# options are refused before anything runs: exit status 64, one line that
# says what is wrong; the FIFO is never opened.
. "$(dirname "$0")/lib.sh"

expect() { # message-regex args...
	local re=$1 rc=0; shift
	(cd "$WORK" && timeout 20 "$CGOPROF" "$@") > "$WORK/out" 2> "$WORK/err" || rc=$?
	if [ "$rc" != 64 ] || ! grep -Eq "$re" "$WORK/err"; then
		echo "args: $*"; echo "exit: $rc (want 64)"; cat "$WORK/err"
		fail "wrong exit status or message"
	fi
	[ ! -e "$WORK/ran" ] || fail "the command ran for: $*"
	! ls "$WORK"/*.tmp.* >/dev/null 2>&1 || fail "a temporary file was left for: $*"
}
ran="touch $WORK/ran"

mkfifo "$WORK/fifo"
ln -s fifo "$WORK/link.folded"
expect "'link.folded' is not a regular file \(a FIFO\)" record -o link.folded -- $ran
expect "'fifo' is not a regular file" record -o fifo -- $ran
ln -s /dev/zero "$WORK/zero.folded"
expect "'zero.folded' is not a regular file \(a character device\)" record -o zero.folded -- $ran
[ -p "$WORK/fifo" ] && [ -L "$WORK/link.folded" ] || fail "the FIFO or its link was replaced"
mkdir "$WORK/dir.folded"
expect "'dir.folded' is a directory" record -o dir.folded -- $ran
expect "empty output path" record -o "" -- $ran
long=$(printf 'x%.0s' $(seq 300)).folded
expect "output '.*' is too long" record -o "$long" -- $ran
expect "output '.*' is too long" record -o "$WORK/$(printf 'd/%.0s' $(seq 2100))x.folded" -- $ran
expect "unknown output format 'x.png' \(known: .*\.folded.*\.svg" record -o x.png -- $ran
expect "unknown output format 'x.html'" record -o x.html -- $ran
expect "unknown output format 'x.html'" mem --faults -o x.html -- $ran
expect "unknown output format 'x.png'" coldstart -o x.png -- $ran
expect "invalid --mmap-pages '1'" record -m 1 -- $ran
expect "invalid --mmap-pages '3'" record -m 3 -- $ran
expect "give either -F or -c, not both" record -c 1000 -F 99 -- $ran
expect "give either -F or -c, not both" record -F 99 -c 1000 -- $ran
# kthreadd, where this pid namespace shows kernel threads
kt=$(pgrep -x kthreadd | head -1 || true)
if [ -n "$kt" ]; then
	expect "pid $kt is a kernel thread" record -p "$kt" -d 0.5 -o k.folded
	expect "pid $kt is a kernel thread" mem -p "$kt"
else
	echo "note: no kernel thread visible here, -p of one not tested"
fi
expect "unknown option '--freqq' \(did you mean --freq\?\)" record --freqq 99 -- $ran
expect "unknown option '--stak-size' \(did you mean --stack-size\?\)" record --stak-size=512 -- $ran
expect "unknown option '--intervl' \(did you mean --interval\?\)" mem --intervl 1 -- $ran
expect "unknown option '--rnus' \(did you mean --runs\?\)" coldstart --rnus 2 -- $ran
expect "unknown option '--zzzzzz'$" record --zzzzzz -- $ran
expect "option '--freq' needs an argument" record --freq
expect "option '-F' needs an argument" record -F
expect "unknown option '-Z'" record -Z -- $ran
expect "option '--quiet' takes no argument" record --quiet=1 -- $ran
expect "unknown command 'recrod' \(did you mean record\?\)" recrod
# what stays allowed: stdout, a symlink to a regular file, /dev/null
ln -s real.folded "$WORK/ok.folded"; : > "$WORK/real.folded"
require_perf
(cd "$WORK" && timeout 20 "$CGOPROF" record -q -o ok.folded -o /dev/null -o - -- true > /dev/null) ||
	fail "a symlink to a regular file, /dev/null or '-' was refused"
[ -c /dev/null ] || fail "/dev/null was replaced"
