#!/usr/bin/env bash
# Issue 16 item 11: --version and -V say the version, the git commit it was
# built from and the features compiled in.
. "$(dirname "$0")/lib.sh"
for opt in --version -V; do
	rc=0
	timeout 10 "$CGOPROF" $opt > "$WORK/out" 2> "$WORK/err" || rc=$?
	cat "$WORK/out" "$WORK/err"
	[ $rc = 0 ] || fail "$opt: exit status $rc"
	grep -Eq '^cgoprof [0-9]+\.[0-9]+' "$WORK/out" || fail "$opt: no version line"
	grep -Eq '^commit: ([0-9a-f]{7,}|v[^ ]+)(-dirty)?$|^commit: unknown$' "$WORK/out" ||
		fail "$opt: no commit line"
	for f in libpfm4 libunwind bpf; do
		grep -q "^$f: " "$WORK/out" || fail "$opt: feature '$f' not listed"
	done
done
# the commit is the checkout's, when built in one
if git -C "$top" rev-parse --git-dir > /dev/null 2>&1; then
	want=$(git -C "$top" rev-parse --short=7 HEAD)
	grep -q "^commit: .*${want:0:7}" "$WORK/out" ||
		echo "note: built from another commit than HEAD ($want)"
fi
