#!/usr/bin/env bash
# A Go program whose only cgo is the standard library's (net's resolver,
# os/user: LookupId of a user other than the current one is not cached;
# "0" was, under root, and its one getpwuid_r call went unsampled on a
# fast machine), as most Go tools with cgo are: Go's own linker links it, with
# no .eh_frame for its C code, which the pclntab lists without tables; and
# it calls time.Now in a loop (time.now moves sp to g0's stack to call the
# vDSO, its frame record staying on the goroutine's). Built by Go 1.19 and
# 1.26: at most 3% of the samples truncated, time.now's samples under
# their Go callers, os/user's getpwuid_r cgo stack whole, and every location
# named as addr2line names it, every return address after a call
# (tests/e2e/oracle.py). Before: 30% truncated at time.now, 9% at the C.
. "$(dirname "$0")/lib.sh"
require_perf
src=$WORK/src
mkdir -p "$src"
cat > "$src/main.go" <<'GO'
package main

import (
	"context"
	"net"
	"os/user"
	"time"
)

func main() {
	end := time.Now().Add(1500 * time.Millisecond)
	r := &net.Resolver{PreferGo: false}
	for time.Now().Before(end) {
		r.LookupHost(context.Background(), "localhost")
		user.LookupId("1") // daemon: another user than root's
	}
}
GO
printf 'module internalcgo\ngo 1.19\n' > "$src/go.mod"
for go in /usr/lib/go-1.19/bin/go /usr/local/go/bin/go; do
	[ -x "$go" ] || fail "no Go toolchain at $go"
	v=$("$go" env GOVERSION)
	bin=$WORK/app-$v
	(cd "$src" && CGO_ENABLED=1 GOFLAGS=-buildvcs=false GOCACHE="$FIXTURES/gocache-$v" \
		"$go" build -o "$bin" .) || fail "cannot build with $v"
	! readelf -SW "$bin" | grep -q '\.eh_frame' || fail "$v linked it externally (an .eh_frame)"
	"$CGOPROF" record -q -F 4999 -o "$WORK/$v.folded" -o "$WORK/$v.pb.gz" -- "$bin" \
		> "$WORK/$v.log" 2>&1 || { cat "$WORK/$v.log"; fail "record of $v failed"; }
	awk -v v="$v" '{ n += $NF } /\[truncated/ { t += $NF } END {
		printf "%s: truncated stacks: %d of %d samples\n", v, t, n; exit !(n > 500 && t <= 0.03 * n) }' \
		"$WORK/$v.folded" || fail "$v: more than 3% of the stacks truncated"
	grep -q ';runtime.main;main.main;.*time.Now;.*time.now;__vdso_clock_gettime' "$WORK/$v.folded" ||
		fail "$v: no time.now stack under main.main"
	grep -q ';runtime.cgocall;runtime.asmcgocall;_cgo_[0-9a-f]*_Cfunc_mygetpwuid_r;getpwuid_r' \
		"$WORK/$v.folded" || fail "$v: no whole cgo stack of os/user's getpwuid_r"
	python3 "$top/tests/e2e/oracle.py" "$WORK/$v.pb.gz" > "$WORK/$v.oracle" 2>&1 ||
		{ cat "$WORK/$v.oracle"; fail "$v: the oracle found wrong names or bad return addresses"; }
	grep "$bin:" "$WORK/$v.oracle"
	grep -q "$bin: checked [1-9]" "$WORK/$v.oracle" || fail "$v: the oracle checked nothing"
done
echo ok
