#!/usr/bin/env bash
# The target runs in another mount namespace, from a private tmpfs: the
# path of its binary does not exist in cgoprof's namespace. Worse, a
# different file sits at that path in ours (a decoy: /bin/true as 'hot', and
# another library as 'libhot.so'), so a profiler that opened the target's
# paths in its own namespace would read the wrong binary. Symbols must come
# from the target's own files (/proc/PID/map_files, /proc/PID/root).
. "$(dirname "$0")/lib.sh"
require_perf
command -v unshare > /dev/null || skip "no unshare"
path='_start;__libc_start_main;__libc_start_call_main;main;main_loop;hot_helper;hot_leaf'
mkdir "$WORK/ns"
unshare -m --propagation private true 2> /dev/null || skip "cannot create a mount namespace here"
unshare -m --propagation private sh -c '
	mount -t tmpfs cgoprof-test "$1" || exit 1
	cp "$2/hot" "$2/libhot.so" "$1/" || exit 1
	exec "$1/hot" main 4' sh "$WORK/ns" "$FIXTURES" > "$WORK/target.out" 2>&1 &
for _ in $(seq 100); do grep -q '^ready' "$WORK/target.out" && break; sleep 0.05; done
pid=$(awk '/^ready/ {print $2; exit}' "$WORK/target.out")
[ -n "$pid" ] || { cat "$WORK/target.out"; fail "fixture did not start"; }
[ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] ||
	fail "the target is in our mount namespace"
grep -q " $WORK/ns/hot\$" "/proc/$pid/maps" || fail "the target does not run from '$WORK/ns'"
# the decoys, in our namespace only
cp "$(readlink -f /bin/true)" "$WORK/ns/hot"
cc -O2 -shared -fPIC -o "$WORK/ns/libhot.so" "$top/tests/fixtures/c/libdlwork.c"
"$CGOPROF" record --tid -p "$pid" -d 2 -o "$WORK/out.folded" 2> "$WORK/err" ||
	{ cat "$WORK/err"; fail "cgoprof exited with $?"; }
cat "$WORK/err"
assert_written "$WORK/out.folded"
$STACKCHECK "$WORK/out.folded" --thread main --leaf hot_leaf --path "$path"
! grep -q 'dl_work' "$WORK/out.folded" || fail "symbols read from the decoy library"
