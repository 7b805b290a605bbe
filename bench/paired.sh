#!/usr/bin/env bash
# Two cgoprof builds attached to the same process at once, REPS times:
# their CPU a sample (each one's own getrusage, as `record -v` prints it)
# and B's over A's, per run, then the median. The workload's phases and
# noise are the same for both, which alternated runs do not give. Run it
# in both orders (A B, then B A): the build started second shares the
# machine with the first's start-up.
#
# Usage: bench/paired.sh WORKLOAD REPS CGOPROF_A CGOPROF_B
#   WORKLOAD: esbuild (tests/fixtures/esbuild-work.sh on $BENCH_ESBUILD,
#   default build/fixtures/esbuild/esbuild) or a Go fixture of
#   build/fixtures/go (sqlite, cgo-inline, ...), in time mode.
# Knobs: PAIRED_S (seconds attached, default 3), FIXTURES.
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: $0 WORKLOAD REPS CGOPROF_A CGOPROF_B" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
work=$1 reps=$2 a=$3 b=$4
[[ $reps =~ ^[0-9]+$ ]] || { echo "paired: REPS must be a number" >&2; exit 2; }
secs=${PAIRED_S:-3}
fx=${FIXTURES:-$ROOT/build/fixtures}
esb=${BENCH_ESBUILD:-$fx/esbuild/esbuild}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

target() { # started in the background; its pid in $pid
	if [ "$work" = esbuild ]; then
		"$ROOT/tests/fixtures/esbuild-work.sh" "$esb" "$((secs + 3))" >/dev/null 2>&1 &
	else
		"$fx/go/$work-go1.26-default" -d "$((secs + 3))s" >/dev/null 2>&1 &
	fi
	pid=$!
}

per_sample() { # us of CPU a sample, from a `record -v` log
	awk '/^samples:/ { s = $2 + 0 }
	     /peak RSS/ { for (i = 1; i <= NF; i++) if ($i == "CPU") t = $(i + 1) + $(i + 4) }
	     END { if (s > 0) printf "%.1f", t * 1e6 / s; else print "nan" }' "$1"
}

ratios=()
for ((i = 1; i <= reps; i++)); do
	target
	sleep 1
	"$a" record -v -p "$pid" -d "$secs" -o "$tmp/a.folded" -o "$tmp/a.pb.gz" >"$tmp/a.log" 2>&1 &
	apid=$!
	brc=0 arc=0
	"$b" record -v -p "$pid" -d "$secs" -o "$tmp/b.folded" -o "$tmp/b.pb.gz" >"$tmp/b.log" 2>&1 || brc=$?
	wait "$apid" || arc=$?
	wait "$pid" || echo "paired: the workload exited $?" >&2
	if [ "$arc" != 0 ] || [ "$brc" != 0 ]; then
		echo "rep $i: a recording failed (A exit $arc, B exit $brc): not counted" >&2
		tail -n 3 "$tmp/a.log" "$tmp/b.log" >&2
		continue
	fi
	ua=$(per_sample "$tmp/a.log")
	ub=$(per_sample "$tmp/b.log")
	r=$(awk -v a="$ua" -v b="$ub" 'BEGIN { if (a > 0) printf "%.3f", b / a; else print "nan" }')
	echo "rep $i: A $ua us a sample, B $ub, B/A $r"
	ratios+=("$r")
done
printf '%s\n' "${ratios[@]}" | sort -g |
	awk '{ v[NR] = $1 } END { printf "median B/A over %d runs: %s\n", NR, v[int((NR + 1) / 2)] }'
