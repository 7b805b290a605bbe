#!/usr/bin/env bash
# Cold starts on a real function platform component: AWS's Lambda Runtime
# Interface Emulator (RIE) starts an aws-lambda-go handler as its bootstrap
# at the first invoke; cgoprof is not the one who starts anything.
# The handler is built twice (tests/fixtures/lambda, tools/build-lambda.sh:
# pinned modules, go.sum committed): with cgo (net's cgo resolver,
# user.Current through getpwuid_r) and with CGO_ENABLED=0.
#   coldstart --exec CGO --- --exec NOCGO -n 3 --ready aws-lambda-go
# waits while the test starts an emulator per cold start (one invoke over
# HTTP on localhost, then the emulator is stopped), alternating the two
# builds; one cgo start runs with the emulator and the handler in a new
# mount + PID namespace, reached through a bind mount at another path.
# Checks: all 6 starts caught; the phases add up; x_cgo_init in the cgo
# build's runtime-init and nowhere else; no libc at all in the static
# CGO_ENABLED=0 build's starts; the ready point is the handler's first
# request for work (its hit ends every start, and each start's span fits
# inside the emulator's own INIT REPORT of it); memory at ready per start;
# the stacks of the cgo calls are whole (net's getaddrinfo: Go links the
# standard library's cgo itself, without CFI) and at most 3% of the samples
# truncated, every location named as addr2line names it (tests/e2e/
# oracle.py); an unrelated busy process has no sample in the outputs. Prints the
# emulator's INIT REPORT beside cgoprof's figures.
. "$(dirname "$0")/lib.sh"
require_perf
command -v curl > /dev/null || fail "curl is not installed (tools/install-deps.sh)"
lam=$FIXTURES/lambda
"$top/tools/build-lambda.sh" "$lam" > "$WORK/build.log" 2>&1 ||
	{ cat "$WORK/build.log"; fail "cannot build the Lambda fixture"; }
rie=$lam/aws-lambda-rie cgo=$lam/bootstrap-cgo nocgo=$lam/bootstrap-nocgo
port=$((20000 + $$ % 20000))

# one cold start: an emulator with BOOTSTRAP, one invoke, then, once
# cgoprof's log shows PATTERN (it is done with the start: its memory at
# ready is read while the handler lives, as on a platform, which keeps it
# for the next invoke), the emulator stopped; its log in $WORK/rie-N.log.
# PREFIX runs the emulator (a namespace).
n=0
cold_start() { # bootstrap pattern [prefix...]
	local boot=$1 pattern=$2; shift 2
	n=$((n + 1))
	"$@" "$rie" --runtime-interface-emulator-address "127.0.0.1:$port" \
		--runtime-api-address "127.0.0.1:$((port + 1))" "$boot" \
		> "$WORK/rie-$n.log" 2>&1 &
	local pid=$!
	for _ in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$port/" && break
		sleep 0.05
	done
	curl -sf -XPOST "http://127.0.0.1:$port/2015-03-31/functions/function/invocations" \
		-d "{\"start\": $n}" > "$WORK/invoke-$n.json" ||
		{ cat "$WORK/rie-$n.log"; fail "invoke $n failed"; }
	grep -q "\"start\":$n" "$WORK/invoke-$n.json" || fail "invoke $n: $(cat "$WORK/invoke-$n.json")"
	wait_log "$pattern"
	# unshare neither forwards SIGTERM nor dies of it: stop the emulator
	# itself (its child), which stops the handler and exits
	if [ $# -gt 0 ]; then pkill -TERM -P "$pid"; else kill -TERM "$pid"; fi
	wait "$pid" || true
	grep -q 'INIT REPORT' "$WORK/rie-$n.log" || { cat "$WORK/rie-$n.log"; fail "no INIT REPORT for start $n"; }
}
# waits until cgoprof waits for the next start (-v log): a start while it
# measures another would run unwatched
wait_log() { # pattern
	for _ in $(seq 600); do
		grep -q "$1" "$WORK/cs.log" 2>/dev/null && return 0
		sleep 0.05
	done
	cat "$WORK/cs.log"; fail "cgoprof did not log '$1'"
}

cc -O1 -o "$WORK/busyloop" "$top/tests/fixtures/c/busyloop.c" || fail "cannot build the busy loop"
"$WORK/busyloop" 600 > /dev/null &
busy=$!

"$CGOPROF" coldstart -v --exec "$cgo" --- --exec "$nocgo" -n 3 --ready aws-lambda-go \
	--timeout 300 -o "$WORK/cs.json" -o "$WORK/cs.folded" -o "$WORK/cs.pb.gz" \
	> "$WORK/cs.log" 2>&1 &
cs=$!
wait_log "waiting for 6 starts"
mkdir -p "$WORK/ns-root"
left=6
for boot in "$cgo" "$nocgo" ns "$nocgo" "$cgo" "$nocgo"; do
	left=$((left - 1))
	next="waiting for $left more start"
	[ "$left" != 0 ] || next="wrote $WORK/cs.json"
	if [ "$boot" = ns ]; then
		# the emulator and the handler in their own mount and PID
		# namespaces, the files under another path
		cold_start "$WORK/ns-root/bootstrap-cgo" "$next" unshare --mount --pid --fork \
			--mount-proc --kill-child sh -c \
			"mount --bind '$lam' '$WORK/ns-root' && shift &&
			 exec '$WORK/ns-root/aws-lambda-rie' \"\$@\"" \
			sh
	else
		cold_start "$boot" "$next"
	fi
done
rc=0; wait "$cs" || rc=$?
kill "$busy" 2>/dev/null || true
cat "$WORK/cs.log"
[ "$rc" = 0 ] || fail "coldstart --exec: exit $rc"

# the emulator's INIT REPORT of each start, in the order of the starts
for i in 1 2 3 4 5 6; do
	sed -n 's/.*INIT REPORT(durationMs: \([0-9.]*\)).*/\1/p' "$WORK/rie-$i.log" | head -n 1
done > "$WORK/init-report.txt"

python3 - "$WORK/cs.json" "$WORK/init-report.txt" <<'PY' || fail "the report of the caught starts"
import json, sys
d = json.load(open(sys.argv[1]))
reports = [float(x) for x in open(sys.argv[2]).read().split()]
assert len(reports) == 6, reports
a, b = d, d["compare"]
# the order of the starts: cgo, nocgo, cgo (namespaces), nocgo, cgo, nocgo
plat = {"A": [reports[0], reports[2], reports[4]],
        "B": [reports[1], reports[3], reports[5]]}
print(f"{'start':10} {'cgoprof total':>14} {'held':>8} {'total+held':>11} "
      f"{'INIT REPORT':>12} {'rss at ready':>13}")
for name, s in (("A", a), ("B", b)):
    assert s["runs"] == 3 and s["caught"], (name, s["runs"])
    assert s["ready"].endswith("(*runtimeAPIClient).next"), s["ready"]
    names = [p["name"] for p in s["phases"]]
    assert names == ["loader", "runtime-init", "package-init",
                     "main-to-ready"], names
    for p in s["phases"]:
        assert p["min_ms"] > 0, (name, "an empty phase", p)
    tot = sum(p["median_ms"] for p in s["phases"])
    assert abs(tot - s["total"]["median_ms"]) < 0.01, (tot, s["total"])
    assert s["memory"] and s["memory"]["starts"] == 3, s["memory"]
    for i, st in enumerate(s["starts"]):
        m = st["memory"]
        assert m and m["rss_bytes"] > 2 << 20, (name, i, m)
        assert m["by_category"]["go_heap"] > 0 and m["by_category"]["executable"] > 0, m
        # the emulator's init runs from before its fork of the handler to
        # the handler's GET of the next invocation: it holds cgoprof's
        # span (exec held, then resumed to the ready call) and more
        span = st["total_ms"] + st["held_ms"]
        assert span <= plat[name][i] + 0.5, (name, i, span, plat[name][i])
        # and the phases are a real part of what the platform timed
        # beyond the hold (the hold alone was 17-44 ms of 26-60 ms on a
        # fast VM, the phases 5-15 ms)
        assert st["total_ms"] > 0.2 * (plat[name][i] - st["held_ms"]), \
            (name, i, st, plat[name][i])
        print(f"{name}{i + 1:<9} {st['total_ms']:14.3f} {st['held_ms']:8.3f} "
              f"{span:11.3f} {plat[name][i]:12.3f} "
              f"{m['rss_bytes'] / 2**20:11.1f} M")
    kinds = set(k for p in s["phases"] for k in p["cpu_ms_by_kind"])
    if name == "B":
        assert "libc" not in kinds and "ld.so" not in kinds, kinds
    else:
        assert "libc" in kinds and "ld.so" in kinds, kinds
print("A: cgo build, B: CGO_ENABLED=0; ms (memory MiB)")
PY
# the folded stacks are A's (every run merged): comm;phase;frames
grep -q 'x_cgo_init' "$WORK/cs.folded" || fail "no x_cgo_init in the cgo build's starts"
! grep 'x_cgo_init' "$WORK/cs.folded" | grep -v '^[^;]*;runtime-init;' | grep -q . ||
	fail "x_cgo_init outside runtime-init"
grep -q '^[^;]*;main-to-ready;.*runtime.main;main.main;main.initWork' "$WORK/cs.folded" ||
	fail "the handler's init work (main.initWork) is not in main-to-ready"
# the handler's only cgo is the standard library's: Go links it itself,
# without .eh_frame, and its C functions are in the pclntab without
# tables: unwound by their prologues, every cgo call is whole
grep -q ';net._C2func_getaddrinfo;runtime.cgocall;runtime.asmcgocall;_cgo_[0-9a-f]*_C2func_getaddrinfo;getaddrinfo' \
	"$WORK/cs.folded" || fail "no whole stack of net's cgo getaddrinfo"
awk '{ n += $NF } /\[truncated/ { t += $NF; match($0, /\[truncated: [^]]*\]/)
	why[substr($0, RSTART, RLENGTH)] += $NF
	if (t <= 12) print "    " substr($0, 1, 240) } END {
	printf "truncated stacks: %d of %d samples\n", t, n
	for (w in why) printf "  %s %d\n", w, why[w]
	exit !(n > 0 && t <= 0.03 * n) }' \
	"$WORK/cs.folded" || fail "more than 3% of the start-up stacks are truncated"
# samples at a start's first instruction (its first page fault, the probe
# there) end at the ELF entry's trampoline, the main thread's root: never
# truncated below it ([rsp] there is argc, no return address)
echo "samples at the entry point: $(grep -c ';_rt0_amd64' "$WORK/cs.folded")"
! grep -q '\[truncated[^;]*\];_rt0_amd64' "$WORK/cs.folded" ||
	fail "a stack at the entry point truncated: $(grep '\[truncated[^;]*\];_rt0_amd64' "$WORK/cs.folded" | head -n 1)"
# every location of the last start's pprof against addr2line's names, and
# every return address after a call
python3 "$top/tests/e2e/oracle.py" "$WORK/cs.pb.gz" > "$WORK/oracle.out" 2>&1 ||
	{ cat "$WORK/oracle.out"; fail "the oracle: wrong names or bad return addresses"; }
cat "$WORK/oracle.out"
grep -q "$cgo: checked [1-9]" "$WORK/oracle.out" || fail "the oracle checked nothing of $cgo"
grep -q 'busyloop' "$WORK/cs.folded" && fail "the busy process has samples in the folded stacks"
zcat "$WORK/cs.pb.gz" | grep -aq busyloop && fail "the busy process is in the pprof"
grep -q 'aws-lambda-rie\|rapid' "$WORK/cs.folded" && fail "the emulator itself was sampled"
echo "ok"
