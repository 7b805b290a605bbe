#!/usr/bin/env bash
# How fast cgoprof audit is on a large Go binary (default: the Go
# toolchain's compile, ~26 MB, unstripped), and how much memory it takes:
# wall time and max RSS from /usr/bin/time -v, warm (the file in the page
# cache) and cold (the file's pages evicted with posix_fadvise(DONTNEED)
# first, and, as root with BENCH_DROP_CACHES=1, the whole page cache
# dropped: echo 3 > /proc/sys/vm/drop_caches). Prints one markdown table.
# Usage: bench/audit.sh [BINARY]   (BENCH_REPS, default 5)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
CGOPROF=${CGOPROF:-$top/build/cgoprof}
bin=${1:-$(/usr/local/go/bin/go env GOROOT)/pkg/tool/linux_amd64/compile}
reps=${BENCH_REPS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

evict() { # the binary's and the libraries' pages out of the page cache
	python3 - "$bin" /etc/ld.so.cache /lib/x86_64-linux-gnu/libc.so.6 <<'PY'
import os, sys
for p in sys.argv[1:]:
    try:
        fd = os.open(p, os.O_RDONLY)
    except OSError:
        continue
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
PY
	if [ "${BENCH_DROP_CACHES:-0}" = 1 ] && [ "$(id -u)" = 0 ]; then
		sync
		echo 3 > /proc/sys/vm/drop_caches
	fi
}

one() { # mode -> "seconds maxrss_kb"
	[ "$1" = cold ] && evict
	/usr/bin/time -v "$CGOPROF" audit -o "$tmp/a.json" "$bin" \
		> /dev/null 2> "$tmp/time.txt"
	awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":");
		s = t[n] + (n > 1 ? t[n-1] * 60 : 0); printf "%s ", s}
		/Maximum resident set size/ {print $2}' "$tmp/time.txt"
}

size=$(stat -c %s "$bin")
echo "binary: $bin ($size bytes); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| mode | runs | wall s (median) | min..max | max RSS MB (median) |"
echo "| --- | --- | --- | --- | --- |"
for mode in cold warm; do
	: > "$tmp/$mode"
	for _ in $(seq "$reps"); do one "$mode" >> "$tmp/$mode"; done
	python3 - "$tmp/$mode" "$mode" <<'PY'
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
w = sorted(r[0] for r in rows); m = sorted(r[1] for r in rows)
print(f"| {sys.argv[2]} | {len(rows)} | {statistics.median(w):.3f} | "
      f"{w[0]:.3f}..{w[-1]:.3f} | {statistics.median(m) / 1024:.1f} |")
PY
done
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("\nsizes:", d["sizes"])' "$tmp/a.json"
