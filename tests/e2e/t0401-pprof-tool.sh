#!/usr/bin/env bash
# The pprof export read by the real tools: test_pprof writes its hand-built
# profile (2 mappings, an inlined location, 3 stacks, 10 samples, 100 ms);
# 'go tool pprof -raw', '-top' and '-traces' must accept it with the right
# totals, call paths and caller addresses (pc-1), and 'protoc --decode_raw'
# must see the expected profile.proto structure.
# Needs Go (/usr/local/go/bin/go, else Debian's) and protoc (Debian protobuf-compiler, installed
# when missing and possible). Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
unit=$BUILD/tests/test_pprof

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
skip() {
	if [ "${CGOPROF_REQUIRE_PERF:-0}" = 1 ]; then
		fail "$* (CGOPROF_REQUIRE_PERF=1: no skipping)"
	fi
	echo "SKIP: $*"
	exit 77
}
# expect FILE REGEX WHAT: FILE has a line matching the extended REGEX
expect() {
	grep -Eq -- "$2" "$1" || { cat "$1"; fail "$3: no line matching '$2'"; }
	echo "ok   $3"
}

[ -x "$unit" ] || fail "'$unit' is missing: run 'make units' first"

go=/usr/local/go/bin/go
[ -x "$go" ] || go=$(command -v go || true)
[ -n "$go" ] || go=$(ls /usr/lib/go-*/bin/go 2>/dev/null | sort -V | tail -1 || true)
[ -n "$go" ] || skip "no Go toolchain for 'go tool pprof'"
# (installed by tools/install-deps.sh, which `make check` runs)
command -v protoc >/dev/null || skip "no protoc (Debian package protobuf-compiler)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pb=$tmp/profile.pb.gz

CGOPROF_PPROF_OUT=$pb "$unit" >"$tmp/unit.log" 2>&1 ||
	{ cat "$tmp/unit.log"; fail "'$unit' failed"; }
[ -s "$pb" ] || fail "'$unit' wrote no '$pb'"
gzip -t "$pb" || fail "'$pb' is not gzip"

# go tool pprof, run outside the repo so no go.mod picks a toolchain
pprof() {
	(cd "$tmp" && GOTOOLCHAIN=local PPROF_TMPDIR=$tmp "$go" tool pprof "$@" "$pb") \
		>"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err"; fail "go tool pprof $* rejected the profile"; }
}

pprof -raw
raw=$tmp/raw.txt
cp "$tmp/out" "$raw"
expect "$raw" '^PeriodType: cpu nanoseconds$' "raw: period type cpu/nanoseconds"
expect "$raw" '^Period: 10000000$' "raw: period 10 ms"
expect "$raw" '^Duration: 1\.5s$' "raw: duration"
expect "$raw" '^samples/count cpu/nanoseconds$' "raw: sample types"
expect "$raw" '^Comment: cgoprof stacks: 50\.0% complete, 20\.0% truncated, 30\.0% reconstructed' "raw: stack status comment"
totals=$(awk '/^Samples:/ {s = 1; next} /^Locations/ {s = 0}
	s && $2 ~ /^[0-9]+:$/ {n += $1; v += $2} END {printf "%d %d", n, v}' "$raw")
[ "$totals" = "10 100000000" ] || { cat "$raw"; fail "raw: totals '$totals', want '10 100000000'"; }
echo "ok   raw: 10 samples, 100000000 ns"
expect "$raw" '^ +5 +50000000: 1 2 3 $' "raw: leaf-first location ids"
expect "$raw" 'pid:\[100\] tid:\[101\]' "raw: pid and tid labels"
expect "$raw" 'comm:\[app\] thread_comm:\[worker\]' "raw: comm labels"
expect "$raw" '^ +1: 0x401000 M=1 compute_inner helper\.c:12' "raw: leaf address, inlined frame first"
expect "$raw" '^ +compute helper\.c:40' "raw: containing function in the same location"
expect "$raw" '^ +2: 0x402004 M=1 main\.work /src/app/main\.go:22' "raw: caller at return address - 1"
expect "$raw" '^ +5: 0x0 \[truncated: max depth\]' "raw: pseudo-frame without mapping or address"
expect "$raw" '^1: 0x400000/0x800000/0x0 /usr/local/bin/app 0123456789abcdef \[FN\]\[FL\]\[LN\]\[IN\]$' \
	"raw: main executable first, symbolized"
expect "$raw" '^2: 0x7f0000000000/0x7f0000200000/0x28000 /opt/cgoprof-test/libhelper\.so aabbccdd $' \
	"raw: unsymbolized mapping without has_* flags"

pprof -top
expect "$tmp/out" 'Showing nodes accounting for 100ms, 100% of 100ms total' "top: 100 ms total"
expect "$tmp/out" '^ +70ms 70\.00% .* compute_inner \(inline\)$' "top: inlined leaf"
expect "$tmp/out" '^ +0 +0% .* 80ms 80\.00%  main\.main$' "top: cumulative main.main"

pprof -traces
expect "$tmp/out" '^ +50ms +compute_inner \(inline\)$' "traces: hottest stack"
awk '/compute_inner/ {p = 1} p && /-----/ {exit} p' "$tmp/out" | tr -s ' ' | sed 's/^ //' >"$tmp/trace"
[ "$(tr '\n' ';' <"$tmp/trace")" = "50ms compute_inner (inline);compute;main.work;main.main;" ] ||
	{ cat "$tmp/out"; fail "traces: want compute_inner;compute;main.work;main.main"; }
echo "ok   traces: compute_inner <- compute <- main.work <- main.main"

gunzip -c "$pb" >"$tmp/profile.pb"
protoc --decode_raw <"$tmp/profile.pb" >"$tmp/decoded" || fail "protoc --decode_raw rejected the profile"
count() { grep -c "^$1 {" "$tmp/decoded" || true; }
[ "$(count 1)" = 2 ] || fail "protoc: $(count 1) sample_type, want 2"
[ "$(count 2)" = 3 ] || fail "protoc: $(count 2) samples, want 3"
[ "$(count 3)" = 2 ] || fail "protoc: $(count 3) mappings, want 2"
[ "$(count 4)" = 7 ] || fail "protoc: $(count 4) locations, want 7"
[ "$(count 5)" = 7 ] || fail "protoc: $(count 5) functions, want 7"
echo "ok   protoc: 2 sample types, 3 samples, 2 mappings, 7 locations, 7 functions"
[ "$(grep -m1 '^6: ' "$tmp/decoded")" = '6: ""' ] || fail "protoc: string_table[0] is not empty"
echo "ok   protoc: string_table[0] is empty"
expect "$tmp/decoded" '^9: 1700000000000000000$' "protoc: time_nanos"
expect "$tmp/decoded" '^10: 1500000000$' "protoc: duration_nanos"
expect "$tmp/decoded" '^12: 10000000$' "protoc: period"

echo "PASS: t0401-pprof-tool"
