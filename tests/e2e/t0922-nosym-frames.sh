#!/usr/bin/env bash
# Frames in a library with no symbols (issue 16, item 15): its code is kind
# `c` in the summary's frame kinds, not `unknown`; in the pprof output its
# function is named "libhot_so_1_2+0xOFF" (no brackets, no dots: pprof's
# web UI shortens a name to the part after its last '.', which left
# "2+0x...]"), and `go tool pprof -top` and `-traces` show it whole.
. "$(dirname "$0")/lib.sh"
require_perf
go=/usr/local/go/bin/go
[ -x "$go" ] || fail "no Go toolchain at $go"
cat > "$WORK/hot.c" <<'C'
/* hot is static: stripped, the library has no symbol for it (only
 * run, in .dynsym) */
volatile unsigned long sink;
static __attribute__((noinline)) void hot(void)
{
	for (unsigned long i = 0; i < 400000000UL; i++)
		sink += i * i;
}
void (*volatile hot_ptr)(void) = hot;
void run(void)
{
	hot_ptr();
}
C
cat > "$WORK/main.c" <<'C'
void run(void);
int main(void)
{
	run();
	return 0;
}
C
cc -O1 -shared -fPIC -Wl,-soname,libhot.so.1.2 -o "$WORK/libhot.so.1.2" "$WORK/hot.c" &&
	strip --strip-all "$WORK/libhot.so.1.2" &&
	cc -O1 -o "$WORK/main" "$WORK/main.c" "$WORK/libhot.so.1.2" \
		-Wl,-rpath,"$WORK" || fail "cannot build the programs"

timeout 120 "$CGOPROF" record -q -F 499 -o "$WORK/p.pb.gz" -o "$WORK/p.json" \
	-o "$WORK/p.folded" -- "$WORK/main" || fail "record failed"
python3 - "$WORK/p.json" <<'PY' || fail "the library's frames are not kind c"
import json, sys
k = json.load(open(sys.argv[1]))["self_samples_by_kind"]
print("self samples by kind:", k)
assert k.get("c", 0) > 10 * k.get("unknown", 0), k
PY
grep -q 'libhot\.so\.1\.2+0x' "$WORK/p.folded" ||
	{ head -5 "$WORK/p.folded"; fail "no unsymbolized libhot frame (did it get a symbol?)"; }
timeout 60 "$go" tool pprof -top "$WORK/p.pb.gz" > "$WORK/top" 2>&1 ||
	{ cat "$WORK/top"; fail "go tool pprof -top failed"; }
grep -Eq ' libhot_so_1_2\+0x[0-9a-f]+$' "$WORK/top" ||
	{ cat "$WORK/top"; fail "pprof -top: libhot's name not whole"; }
timeout 60 "$go" tool pprof -traces "$WORK/p.pb.gz" > "$WORK/traces" 2>&1 ||
	fail "go tool pprof -traces failed"
grep -Eq ' libhot_so_1_2\+0x[0-9a-f]+$' "$WORK/traces" ||
	{ head -30 "$WORK/traces"; fail "pprof -traces: libhot's name not whole"; }
! grep -q '\[libhot' "$WORK/top" "$WORK/traces" || fail "brackets left in pprof names"
echo PASS
