#!/usr/bin/env bash
# --cgo-probe on a cgo program whose OS threads come and go (goroutines
# that lock their thread, call C, and end: Go then ends the thread too), 300
# of them:
# cgoprof's open fds stay bounded (the probe of an ended thread is closed),
# and the recording ends with every output written.
. "$(dirname "$0")/lib.sh"
require_perf
go=
for g in /usr/local/go/bin/go /usr/lib/go-1.19/bin/go; do
	[ -x "$g" ] && { go=$g; break; }
done
[ -n "$go" ] || skip "no Go toolchain"
mkdir "$WORK/src"
cat > "$WORK/src/main.go" <<'GO'
package main

// static int c_add(int a, int b) { return a + b; }
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

//go:noinline
func spin(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += i * i
	}
	return s
}

func main() {
	fmt.Printf("ready %d\n", os.Getpid())
	t0 := time.Now()
	sum := 0
	for i := 0; i < 300; i++ {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread() // not unlocked: the thread ends with it
			sum += spin(20000000) + int(C.c_add(1, 2))
		}()
		wg.Wait()
	}
	fmt.Println("ended", sum != 0, time.Since(t0).Milliseconds())
}
GO
printf 'module churn\n\ngo 1.19\n' > "$WORK/src/go.mod"
(cd "$WORK/src" && CGO_ENABLED=1 GOENV=off GOFLAGS= GOTOOLCHAIN=local GOPATH="$WORK/gopath" \
	GOCACHE="$WORK/gocache" "$go" build -o "$WORK/churn" .) || fail "cannot build the Go fixture"

start=$(date +%s%N)
"$CGOPROF" record --cgo-probe -o "$WORK/out.folded" -- "$WORK/churn" \
	> "$WORK/out" 2> "$WORK/err" &
cg=$!
max=0
while [ -d "/proc/$cg" ]; do
	# cgoprof may end between the test above and ls: under pipefail
	# that ls's status 2 would end this script, silently
	n=$( (ls "/proc/$cg/fd" 2> /dev/null || true) | wc -l)
	[ "$n" -le "$max" ] || max=$n
	echo "$n" >> "$WORK/fds"
	sleep 0.1
done
rc=0
wait $cg || rc=$?
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
cat "$WORK/err"
[ $rc = 0 ] || fail "cgoprof exited with $rc"
grep -q '^ended true [0-9]*$' "$WORK/out" || fail "the Go program did not end its threads"
ran=$(awk '/^ended/ {print $3}' "$WORK/out")
assert_written "$WORK/out.folded"
grep -q 'main.spin [0-9]*$' "$WORK/out.folded" || fail "no samples of main.spin"
echo "at most $max fds open while recording; over time: $(tr "\n" " " < "$WORK/fds")"
echo "the program ran ${ran} ms, cgoprof ${elapsed} ms"
[ "$max" -le 64 ] || fail "cgoprof had $max fds open for 300 threads that came and went"
[ $((elapsed - ran)) -le 5000 ] || fail "cgoprof ended $((elapsed - ran)) ms after the program"
