#!/usr/bin/env bash
# A second, independent unwinder as an oracle: every sample's C frames are
# unwound again by libunwind's remote API (--unwinder=compare) over the same
# registers and stack copy. On the native fixture and on the cgo fixtures the
# two must agree on every C frame; disagreements are bugs in one of them.
. "$(dirname "$0")/lib.sh"
require_perf
run() { # name cmd...
	local name=$1; shift
	"$CGOPROF" record -v --unwinder=compare -o "$WORK/$name.folded" "$@" 2> "$WORK/$name.err" ||
		{ cat "$WORK/$name.err"; fail "$name: record failed"; }
	line=$(grep '^unwinders compared on' "$WORK/$name.err") || { cat "$WORK/$name.err"; fail "$name: no comparison line"; }
	echo "$name: $line"
	compared=$(echo "$line" | awk '{print $4}')
	disagree=$(echo "$line" | awk '{print $(NF-1)}')
	[ "$compared" -ge 200 ] || fail "$name: only $compared samples compared"
	if [ "$disagree" != 0 ]; then
		grep 'unwinders disagree' "$WORK/$name.err" | head -5
		fail "$name: $disagree disagreements"
	fi
}
run native -- "$FIXTURES/hot" thread 1.5
for prog in cgo-inline cgo-rbp; do
	for bin in "$FIXTURES/go/$prog-go1.19-default" "$FIXTURES/go/$prog-go1.26-default"; do
		[ -x "$bin" ] || fail "fixture $bin missing"
		run "$(basename "$bin")" -d 1.5 -- "$bin" -d 4s
	done
done
# libunwind alone gives the same native paths
"$CGOPROF" record -q --tid --annotate --unwinder=libunwind -o "$WORK/lu.folded" -- "$FIXTURES/hot" thread 1.5
$STACKCHECK "$WORK/lu.folded" --thread main --leaf hot_leaf \
	--path '_start;__libc_start_main;__libc_start_call_main;main;main_loop;hot_helper;hot_leaf'
$STACKCHECK "$WORK/lu.folded" --thread other --leaf hot_leaf \
	--path '__clone3;start_thread;worker;hot_helper;hot_leaf'
