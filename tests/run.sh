#!/usr/bin/env bash
# Runs every test: the cmocka unit binaries, then the end-to-end scripts.
# A script exits 0 (pass), 77 (skip) or anything else (fail). With
# CGOPROF_REQUIRE_PERF=1 (CI) a skip is a failure.
# Usage: tests/run.sh [PATTERN]   (PATTERN filters test names)
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
export CGOPROF="$PWD/$BUILD/cgoprof"
# a sanitizer build may reuse the fixtures of the normal one
export FIXTURES=${FIXTURES:-$PWD/$BUILD/fixtures}
export CGOPROF_PCLNTAB_BINS=${CGOPROF_PCLNTAB_BINS:-$PWD/$BUILD/pclntab-bins}
# the kernel names cache: the run's own, made by its first recording
export CGOPROF_CACHE_DIR=${CGOPROF_CACHE_DIR-$PWD/$BUILD/test-cache}
pattern=${1:-}
pass=0 fail=0 skip=0
failed=()
logdir="$BUILD/test-logs"
mkdir -p "$logdir"

result() { # name rc
	local name=$1 rc=$2
	if [ "$rc" = 0 ]; then
		pass=$((pass + 1)); echo "PASS $name"
	elif [ "$rc" = 77 ] && [ "${CGOPROF_REQUIRE_PERF:-0}" != 1 ]; then
		skip=$((skip + 1)); echo "SKIP $name"
	else
		fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name (exit $rc; log: $logdir/$name.log)"
		tail -n 25 "$logdir/$name.log" | sed 's/^/    /'
	fi
}

echo "== fixtures"
tests/fixtures/build-c.sh "$FIXTURES" || { echo "FAIL building C fixtures"; exit 1; }
if [ -x tests/fixtures/build-go.sh ]; then
	tests/fixtures/build-go.sh "$FIXTURES/go" > "$logdir/build-go.log" 2>&1 ||
		{ echo "FAIL building Go fixtures (log: $logdir/build-go.log)"; tail -n 20 "$logdir/build-go.log"; exit 1; }
fi
if [ -x tests/unit/pclntab-bins.sh ]; then
	tests/unit/pclntab-bins.sh "$CGOPROF_PCLNTAB_BINS" > "$logdir/pclntab-bins.log" 2>&1 ||
		{ echo "FAIL building pclntab test binaries"; tail -n 20 "$logdir/pclntab-bins.log"; exit 1; }
fi

echo "== unit"
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	case "$name" in *"$pattern"*) ;; *) continue ;; esac
	"$t" > "$logdir/$name.log" 2>&1
	result "$name" $?
done

echo "== end to end"
for t in tests/e2e/t[0-9]*.sh; do
	name=$(basename "$t" .sh)
	case "$name" in *"$pattern"*) ;; *) continue ;; esac
	bash "$t" > "$logdir/$name.log" 2>&1
	result "$name" $?
done

echo
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
