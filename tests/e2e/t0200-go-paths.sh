#!/usr/bin/env bash
# The four Go/cgo paths, built with every Go toolchain here, three ways
# (default, -s -w, PIE -s -w): >= 99% of the samples in the hot leaf have the
# exact true stack, every frame from runtime.goexit to the leaf, in order
# (tests/fixtures/go/expected.txt), three ways: by default (the goroutine
# stack snapshot taken by the eBPF program at sample time), with
# --cgo-probe --no-bpf (the Go callers of a cgo call recorded as it starts:
# exact at sample time), and with --no-bpf alone, where the Go callers of C
# code that uses rbp come from reads of the frozen goroutine stack, which
# depend on how soon cgoprof gets the CPU: >= 97% there. With snapshots, at
# most 1% of the stacks may need a read of the live process. The fixtures run
# longer than the recording (-d), as a service would.
. "$(dirname "$0")/lib.sh"
require_perf
expected="$top/tests/fixtures/go/expected.txt"
[ -s "$expected" ] || fail "no expected stacks"
n=0 bad=0
summary="$WORK/summary.txt"
while read -r prog tc path; do
	case "$prog" in ''|'#'*) continue ;; esac
	case "$prog" in sqlite) continue ;; esac
	for variant in default stripped pie; do
	for mode in bpf probe live; do
		bin="$FIXTURES/go/$prog-$tc-$variant"
		[ -x "$bin" ] || fail "fixture $bin was not built"
		out="$WORK/$prog-$tc-$variant-$mode.folded"
		case $mode in
		bpf) opt="" min=0.99 ;;
		probe) opt="--cgo-probe --no-bpf" min=0.99 ;;
		live) opt=--no-bpf min=0.97 ;;
		esac
		"$CGOPROF" record -q $opt --tid --annotate -d 2 -o "$out" -o "$out.json" \
			-- "$bin" -d 6s || fail "record failed on $bin"
		n=$((n + 1))
		if ! $STACKCHECK "$out" --leaf "${path##*;}" --path "$path" \
			--binary "$bin" --twin "$FIXTURES/go/$prog-$tc-default" --inline c_helper \
			--min-samples 300 --min-share $min > "$WORK/check" 2>&1; then
			bad=$((bad + 1))
		fi
		echo "[$mode] $(cat "$WORK/check")"
		python3 - "$out.json" "$prog-$tc-$variant-$mode" >> "$summary" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); s = d["stacks"]; t = max(1, d["samples"])
print(f"{sys.argv[2]:38} samples {d['samples']:5}  complete {100*s['complete']/t:5.1f}%  "
      f"reconstructed {100*s['reconstructed']/t:5.1f}%  truncated {100*s['truncated']/t:5.1f}%")
PY
		# with snapshots the goroutine's frames are memory of the
		# sample's time: no stack may need the live process (without
		# them 90% of the cgo paths' stacks do), so a broken snapshot
		# cannot hide behind live reads that happen to succeed
		if [ $mode = bpf ] && ! python3 - "$out.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["stacks"]["reconstructed"] <= 0.01 * max(1, d["samples"]) else 1)
PY
		then
			echo "[bpf] $prog-$tc-$variant: more than 1% of stacks needed live reads"
			bad=$((bad + 1))
		fi
	done
	done
done < "$expected"
cat "$summary"
[ "$n" -ge 72 ] || fail "only $n recordings of fixture binaries checked"
[ "$bad" = 0 ] || fail "$bad of $n recordings below their exact share"
