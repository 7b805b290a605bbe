#!/usr/bin/env bash
# A goroutine 400 frames deep (tests/fixtures/go/go-deep: ~140 KiB of
# stack), built with every Go toolchain here, three ways: >= 99% of the
# samples in its leaf have the exact true stack, all 401 main.descend frames
# included. The sample's stack copy (16 KiB) and the kernel's callchain (127
# entries) hold the innermost ~50 of them: the rest comes from the goroutine
# stack snapshot the eBPF program takes at sample time beyond the copy, in
# three records of 60 KiB, each where the last ends. For
# comparison a --no-bpf run of each binary: its stacks end "[truncated:
# deeper than the stack copy and the kernel callchain]" above their true
# innermost frames, or are exact; never wrong. The default builds once more
# with the snapshot program's frame walk unrolled (CGOPROF_BPF_NO_LOOP=1: as
# on kernels before 5.17, which have no bpf_loop). And once with the
# kernel's BPF statistics on: -v reports the program's runs, one a sample.
. "$(dirname "$0")/lib.sh"
require_perf
path="runtime.goexit;runtime.main;main.main"
for _ in $(seq 0 400); do path="$path;main.descend"; done
path="$path;main.leaf"
n=0 bad=0
for tc in go1.19 go1.26; do
	for variant in default stripped pie; do
		bin="$FIXTURES/go/go-deep-$tc-$variant"
		[ -x "$bin" ] || fail "fixture $bin was not built"
		out="$WORK/deep-$tc-$variant.folded"
		"$CGOPROF" record -q --tid --annotate -d 2 -o "$out" -o "$out.json" \
			-- "$bin" -d 6s || fail "record failed on $bin"
		n=$((n + 1))
		if ! $STACKCHECK "$out" --leaf main.leaf --path "$path" \
			--binary "$bin" --min-samples 300 --min-share 0.99 \
			> "$WORK/check" 2>&1; then
			bad=$((bad + 1))
		fi
		echo "[snapshots] $tc-$variant: $(cat "$WORK/check")"
		if [ "$variant" = default ]; then
			# the frame walk of kernels before 5.17 (no bpf_loop):
			# unrolled, the same records
			CGOPROF_BPF_NO_LOOP=1 "$CGOPROF" record -q --tid --annotate -d 2 \
				-o "${out%.folded}-unrolled.folded" -- "$bin" -d 6s ||
				fail "record (unrolled walk) failed on $bin"
			n=$((n + 1))
			if ! $STACKCHECK "${out%.folded}-unrolled.folded" --leaf main.leaf \
				--path "$path" --binary "$bin" --min-samples 300 \
				--min-share 0.99 > "$WORK/check" 2>&1; then
				bad=$((bad + 1))
			fi
			echo "[unrolled]  $tc-$variant: $(cat "$WORK/check")"
		fi
		"$CGOPROF" record -q --no-bpf --tid --annotate -d 1 -o "${out%.folded}-nobpf.folded" \
			-- "$bin" -d 4s || fail "record --no-bpf failed on $bin"
		if ! $STACKCHECK "${out%.folded}-nobpf.folded" --leaf main.leaf --path "$path" \
			--binary "$bin" --min-samples 100 --min-share 1 --truncated-ok \
			> "$WORK/check" 2>&1; then
			bad=$((bad + 1))
		fi
		echo "[--no-bpf]  $tc-$variant: $(cat "$WORK/check")"
	done
done
# the snapshot program's runs and time, as the kernel counts them: with
# one timer a thread, a run a sample; with one a CPU (the default), also a
# run for each sample of another process, which it drops
stats=/proc/sys/kernel/bpf_stats_enabled
old=$(cat "$stats")
trap 'echo "$old" > "$stats"; kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
echo 1 > "$stats"
bin="$FIXTURES/go/go-deep-go1.26-default"
"$CGOPROF" record -v -d 2 -o "$WORK/cpu.folded" -- "$bin" -d 4s \
	2> "$WORK/cpu.err" || fail "record with BPF statistics failed"
"$CGOPROF" record -v --scope thread -d 2 -o "$WORK/stats.folded" -- "$bin" -d 4s \
	2> "$WORK/stats.err" || fail "record --scope thread with BPF statistics failed"
echo "$old" > "$stats"
cs=$(sed -n 's/^samples: \([0-9]*\),.*/\1/p' "$WORK/cpu.err")
cr=$(sed -n 's/^snapshot program: \([0-9]*\) runs, [0-9.]* us a run.*/\1/p' "$WORK/cpu.err")
echo "[bpf stats, one timer a CPU] samples $cs, $(grep '^snapshot program' "$WORK/cpu.err")"
[ -n "$cs" ] && [ -n "$cr" ] && [ "$cs" -ge 1000 ] && [ "$cr" -ge "$cs" ] ||
	fail "one timer a CPU: '$cr' program runs for '$cs' samples"
samples=$(sed -n 's/^samples: \([0-9]*\),.*/\1/p' "$WORK/stats.err")
runs=$(sed -n 's/^snapshot program: \([0-9]*\) runs, [0-9.]* us a run.*/\1/p' "$WORK/stats.err")
echo "[bpf stats] samples $samples, $(grep '^snapshot program' "$WORK/stats.err")"
[ -n "$samples" ] && [ "$samples" -ge 1000 ] || fail "too few samples: '$samples'"
[ -n "$runs" ] || fail "no run statistics with kernel.bpf_stats_enabled=1"
# a run a sample (a sample's records may be lost, its run not)
[ "$runs" -ge "$samples" ] && [ "$runs" -le $((samples + samples / 20)) ] ||
	fail "$runs program runs for $samples samples"
$STACKCHECK "$WORK/stats.folded" --leaf main.leaf --path "$path" --binary "$bin" \
	--min-samples 300 --min-share 0.99 || fail "stacks with BPF statistics on"
[ "$n" -ge 8 ] || fail "only $n recordings checked"
[ "$bad" = 0 ] || fail "$bad recordings below 99% exact, or wrong without BPF"
echo ok
