#!/usr/bin/env bash
# cgoprof coldstart's profile (issue 16, item 13): the SVG draws the phases
# left to right as time runs (loader, runtime-init or init, package-init,
# main-to-ready, after-ready: not by name), and when there is an after-ready
# root its legend says what it is. The profile is as complete as record's on
# the same Go program: at most 2 points fewer complete stacks (the rings are
# 16 MiB, the ELF files are read once before the first start, and records
# lost are warned about).
. "$(dirname "$0")/lib.sh"
require_perf
cc -O1 -g -fno-omit-frame-pointer -o "$WORK/startup" \
	"$top/tests/fixtures/c/startup.c" || fail "cannot build startup.c"
go="$FIXTURES/go/sqlite-go1.26-default"
[ -x "$go" ] || fail "no fixture $go"

# the phases' x order at the root, from an SVG
phases() {
	python3 - "$1" <<'PY'
import re, sys
svg = open(sys.argv[1]).read()
pairs = re.findall(r'<title>([^<\n]*)\nphase, [^<]*</title><rect x="([0-9.]+)"', svg)
print(" ".join(n for n, x in sorted(pairs, key=lambda p: float(p[1]))))
PY
}

timeout 120 "$CGOPROF" coldstart -q -n 3 --ready app_ready -o "$WORK/c.svg" \
	-- "$WORK/startup" || fail "coldstart of startup failed"
got=$(phases "$WORK/c.svg")
[ "$got" = "loader init main-to-ready after-ready" ] ||
	[ "$got" = "loader init main-to-ready" ] ||
	fail "C phases drawn as '$got'"
if [ "${got##* }" = after-ready ]; then
	grep -q '<text id="after-ready"[^>]*>after-ready: ' "$WORK/c.svg" ||
		fail "after-ready is drawn but not explained in the legend"
fi

timeout 300 "$CGOPROF" coldstart -q -n 3 -o "$WORK/g.svg" -o "$WORK/g.folded" \
	-- "$go" -d 0.3s > /dev/null 2> "$WORK/g.log" ||
	{ cat "$WORK/g.log"; fail "coldstart of $go failed"; }
got=$(phases "$WORK/g.svg")
[ "$got" = "loader runtime-init package-init main-to-ready" ] ||
	fail "Go phases drawn as '$got'"

timeout 120 "$CGOPROF" record -q -F 9999 -o "$WORK/r.folded" -- "$go" -d 0.3s \
	> /dev/null 2>&1 || fail "record of $go failed"
share() { awk '{n=$NF; $NF=""; t+=n; if ($0 !~ /\[truncated/) c+=n}
	END {printf "%.1f", t ? 100*c/t : 0}' "$1"; }
cs=$(share "$WORK/g.folded") rs=$(share "$WORK/r.folded")
echo "complete stacks: coldstart $cs%, record $rs%"
awk -v c="$cs" -v r="$rs" 'BEGIN {exit !(c + 2 >= r)}' ||
	{ cat "$WORK/g.log"; fail "coldstart's profile ${cs}% complete, record's ${rs}%"; }
echo PASS
