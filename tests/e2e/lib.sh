# Shared by the end-to-end tests. Sourced; BUILD, CGOPROF and FIXTURES come
# from tests/run.sh (or are derived here when a test runs alone).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
CGOPROF=${CGOPROF:-$top/$BUILD/cgoprof}
FIXTURES=${FIXTURES:-$top/$BUILD/fixtures}
STACKCHECK="python3 $top/tests/e2e/stackcheck.py"
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

# perf_event_open with a user stack must work here, else skip (a failure
# in CI, where CGOPROF_REQUIRE_PERF=1).
require_perf() {
	if ! "$CGOPROF" record -q -d 0.2 -o "$WORK/probe.folded" -- sleep 0.1 \
		> "$WORK/probe.log" 2>&1; then
		cat "$WORK/probe.log"
		skip "perf_event_open is not usable here"
	fi
}

# Starts a fixture in the background; waits for its "ready PID" line.
start_target() { # outfile cmd...
	local out=$1; shift
	"$@" > "$out" 2>&1 &
	for _ in $(seq 100); do
		grep -q '^ready' "$out" 2>/dev/null && break
		sleep 0.05
	done
	grep '^ready' "$out" | awk '{print $2}'
}

# Asserts that $1 exists and has no temporary siblings left over.
assert_written() {
	[ -s "$1" ] || fail "output '$1' missing or empty"
	! ls "$1".tmp.* >/dev/null 2>&1 || fail "temporary file left beside '$1'"
}
