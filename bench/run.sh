#!/usr/bin/env bash
# cgoprof against perf: `make bench` (never part of `make check`).
#
# Measures, in one run, alternating and repeated (BENCH_REPS, default 3;
# medians): target slowdown under `cgoprof record -F 999` and
# `perf record -F 999 --call-graph dwarf,16384` (fixed-work runs of the cgo
# fixtures, go-sqlite3 and esbuild); profiler CPU in attach mode with export
# (cgoprof folded+pprof; perf record + perf script + bench/perf-fold.py);
# output bytes; lost samples at 999 and 9999 Hz (build/fixtures/hot thread);
# cold symbolization of tsgo (npm @typescript/native-preview-linux-x64) with
# bench/symbench.c. Writes OUT/results.jsonl and OUT/summary.md
# (OUT = $BENCH_OUT, default out/bench). About 7 minutes with BENCH_REPS=3, 11 with
# BENCH_REPS=5, on a 2-core VM.
#
# Knobs: BENCH_REPS, BENCH_OUT, BENCH_ONLY (slowdown,attach,lost,sym,bpf,insample;
# bpf: the snapshot program's time a sample, kernel.bpf_stats_enabled;
# insample: the kernel's walk of a sample's user callchain, bench/insample.c),
# BENCH_WORK (cgo-inline,cgo-callback,cgo-rbp,sqlite,esbuild),
# BENCH_ATTACH_S (3), BENCH_LOST_S (2), BENCH_LOST_FREQS (999,9999), BENCH_N_INLINE (2000),
# BENCH_N_CALLBACK (1000), BENCH_N_RBP (1500), BENCH_N_SQLITE (150),
# BENCH_N_ESBUILD (2 rounds), TSGO_VERSION (npm version, default: latest),
# BENCH_CGOPROF_ARGS (extra `cgoprof record` options, e.g. --no-bpf),
# BENCH_BASELINE (path of a second cgoprof binary, e.g. the build before a
# change: slowdown, attach and lost also run it, with the same options, as mode
# cgoprof-base in the same rotation; the summary adds cgoprof / baseline ratios
# of target slowdown and profiler CPU, with their min..max as the noise band).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export BENCH_REPS=${BENCH_REPS:-3}
export BENCH_OUT=${BENCH_OUT:-$ROOT/out/bench}
export BENCH_LOST_S=${BENCH_LOST_S:-2}
ONLY=${BENCH_ONLY:-slowdown,attach,lost,bpf,sym,insample}
mkdir -p "$BENCH_OUT"
BENCH_OUT=$(cd "$BENCH_OUT" && pwd)
FXDIR=$ROOT/build/fixtures
if [ -n "${BENCH_BASELINE:-}" ]; then
	[ -x "$BENCH_BASELINE" ] && [ ! -d "$BENCH_BASELINE" ] ||
		{ echo "bench: BENCH_BASELINE=$BENCH_BASELINE is not an executable" >&2; exit 1; }
	BENCH_BASELINE=$(cd "$(dirname "$BENCH_BASELINE")" && pwd)/$(basename "$BENCH_BASELINE")
	export BENCH_BASELINE
fi
command -v perf >/dev/null || { echo "bench: perf is needed (apt-get install linux-perf)" >&2; exit 1; }
[ -x "$ROOT/build/cgoprof" ] || make -C "$ROOT" all
[ -x "$FXDIR/hot" ] || "$ROOT/tests/fixtures/build-c.sh" "$FXDIR"
"$ROOT/tests/fixtures/build-go.sh" "$FXDIR/go" cgo-inline cgo-callback cgo-rbp sqlite >&2
export BENCH_FX=$FXDIR/go
if "$ROOT/tools/fetch-esbuild.sh" "$FXDIR/esbuild"; then
	export BENCH_ESBUILD=$FXDIR/esbuild/esbuild
	# generate the project once, outside the measurements
	"$ROOT/tests/fixtures/esbuild-work.sh" "$BENCH_ESBUILD" -n 1 2>/dev/null
else
	echo "bench: no esbuild (npm?); skipping it" >&2
fi
stamp=$(date -u +%Y%m%dT%H%M%SZ)
[ ! -e "$BENCH_OUT/results.jsonl" ] || mv "$BENCH_OUT/results.jsonl" "$BENCH_OUT/results-before-$stamp.jsonl"
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "kernel: $(uname -r); cpus: $(nproc); $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
	echo "perf: $(perf --version); go: $(go version 2>/dev/null || echo none)"
	echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); perf_event_max_sample_rate: $(cat /proc/sys/kernel/perf_event_max_sample_rate)"
	echo "reps: $BENCH_REPS"
	if [ -n "${BENCH_BASELINE:-}" ]; then
		echo "cgoprof: $ROOT/build/cgoprof (git $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'))"
		echo "baseline: $BENCH_BASELINE (git $(git -C "$(dirname "$BENCH_BASELINE")" describe --always --dirty 2>/dev/null || echo '?'))"
	fi
} >"$BENCH_OUT/machine.txt"

# ---- cold symbolization of a large Go binary --------------------------------
if [[ ,$ONLY, == *,sym,* ]]; then
	SYM=$BENCH_OUT/sym
	mkdir -p "$SYM"
	cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -I"$ROOT/include" \
		$(pkg-config --cflags libdw libelf zlib 2>/dev/null) -o "$SYM/symbench" \
		"$ROOT/bench/symbench.c" "$ROOT/build/libcgoprof.a" \
		-ldw -lelf -lz -llzma -lbpf -lpfm -lunwind-x86_64 -lunwind -lm -lpthread
	TSGO=$FXDIR/tsgo/tsgo
	if [ ! -x "$TSGO" ] && command -v npm >/dev/null; then
		tmp=$(mktemp -d)
		(cd "$tmp" && npm pack --silent --cache "$tmp/npm-cache" \
			"@typescript/native-preview-linux-x64${TSGO_VERSION:+@$TSGO_VERSION}" >"$tmp/name") &&
			tar -xzf "$tmp/$(cat "$tmp/name")" -C "$tmp" package/lib/tsgo &&
			mkdir -p "$FXDIR/tsgo" && install -m 0755 "$tmp/package/lib/tsgo" "$TSGO" &&
			cat "$tmp/name" >"$FXDIR/tsgo/package.txt" || echo "bench: could not fetch tsgo" >&2
		rm -rf "$tmp"
	fi
	if [ -x "$TSGO" ]; then
		: >"$SYM/results.txt"
		# go tool addr2line, built once (Go 1.24+ builds tools on demand)
		A2L=$(cd /tmp && go tool -n addr2line 2>/dev/null || echo "$(go env GOTOOLDIR 2>/dev/null)/addr2line")
		evict() { # cold: drop tsgo's pages from the page cache (clean pages, no root needed)
			python3 -c 'import os,sys; fd=os.open(sys.argv[1],os.O_RDONLY); os.posix_fadvise(fd,0,0,os.POSIX_FADV_DONTNEED)' "$TSGO"
		}
		for rep in $(seq "$BENCH_REPS"); do
			evict
			echo "cgoprof $("$SYM/symbench" "$TSGO" 10000 -p "$SYM/pcs.txt")" >>"$SYM/results.txt"
			sed 's/^/0x/' "$SYM/pcs.txt" >"$SYM/pcs0x.txt"
			evict
			if [ -x "$A2L" ]; then
				/usr/bin/time -f "go-addr2line wall_s=%e cpu_s=%U+%S maxrss_kb=%M" \
					"$A2L" "$TSGO" <"$SYM/pcs0x.txt" >"$SYM/go-addr2line.out" 2>>"$SYM/results.txt"
			fi
			evict
			/usr/bin/time -f "binutils-addr2line wall_s=%e cpu_s=%U+%S maxrss_kb=%M" \
				addr2line -f -i -e "$TSGO" <"$SYM/pcs.txt" >"$SYM/addr2line.out" 2>>"$SYM/results.txt"
		done
		echo "named: go-addr2line $(awk 'NR % 2 == 1 && $0 != "?"' "$SYM/go-addr2line.out" 2>/dev/null | wc -l) of 10000 PCs; binutils-addr2line $(awk '$0 != "??" && !/:/' "$SYM/addr2line.out" | wc -l) names (with inline frames) for 10000 PCs" >>"$SYM/results.txt"
		echo "tsgo: $(cat "$FXDIR/tsgo/package.txt" 2>/dev/null) $(stat -c %s "$TSGO") bytes" >>"$SYM/results.txt"
		cat "$SYM/results.txt" >&2
	fi
fi

parts=$(echo "$ONLY" | tr , '\n' | grep -v '^sym$' | paste -sd, || true)
if [ -n "$parts" ]; then
	BENCH_ONLY=$parts python3 "$ROOT/bench/bench.py"
fi
# (BENCH_ONLY=sym alone: its results above, no table)
if [ -e "$BENCH_OUT/results.jsonl" ]; then
	python3 "$ROOT/bench/summarize.py" "$BENCH_OUT" | tee "$BENCH_OUT/summary.md"
fi
