#!/usr/bin/env bash
# The cgo fixtures in every binary layout people ship (tests/fixtures/
# build-corpus.sh: GNU ld, gold and lld; glibc and musl; dynamic, PIE,
# static and static-pie; Go 1.19 and 1.26): each recorded for 1.5 s, and
#   - >= 99% of the samples in the hot leaf have the exact true stack of
#     tests/fixtures/go/expected.txt, as the GNU ld builds of t0200 do;
#   - no location of the pprof names a function other than the one an
#     independent oracle names for its address (tests/e2e/oracle.py: go
#     tool addr2line, eu-addr2line), none is unnamed where the oracle has
#     a name, and every caller's return address follows a call (or is one
#     of the pcs Go's runtime or the kernel makes up, which the oracle
#     knows by their code): zero findings.
# Prints the share of complete stacks of each variant.
. "$(dirname "$0")/lib.sh"
require_perf
corpus="$FIXTURES/corpus"
"$top/tests/fixtures/build-corpus.sh" "$corpus" > "$WORK/build.log" 2>&1 ||
	{ tail -n 30 "$WORK/build.log"; fail "building the corpus"; }
manifest="$corpus/MANIFEST"
[ -s "$manifest" ] || fail "no $manifest"
expected="$top/tests/fixtures/go/expected.txt"
summary="$WORK/summary.txt"
n=0 bad=0 oracle_pids=()

oracle_check() { # name pb.gz: runs in the background
	if python3 "$top/tests/e2e/oracle.py" "$2" > "$WORK/$1.oracle" 2>&1; then
		echo ok > "$WORK/$1.oracle-rc"
	else
		echo "failed $?" > "$WORK/$1.oracle-rc"
	fi
}

while read -r name prog tc linker libc layout; do
	bin="$corpus/$name"
	path=$(awk -v p="$prog" -v t="$tc" '$1 == p && $2 == t {print $3}' "$expected")
	[ -n "$path" ] || fail "no expected stack for $prog $tc"
	out="$WORK/$name"
	"$CGOPROF" record -q --tid --annotate -d 1.5 -o "$out.folded" -o "$out.pb.gz" \
		-o "$out.json" -- "$bin" -d 5s || fail "record failed on $name"
	n=$((n + 1))
	if ! $STACKCHECK "$out.folded" --leaf "${path##*;}" --path "$path" \
		--binary "$bin" --inline c_helper --min-samples 300 --min-share 0.99 \
		> "$WORK/$name.check" 2>&1; then
		bad=$((bad + 1))
		echo "EXACT PATH BELOW 99%: $name: $(tail -n 1 "$WORK/$name.check")" \
			>> "$WORK/below.txt"
	fi
	echo "[$name] $(cat "$WORK/$name.check")"
	oracle_check "$name" "$out.pb.gz" &
	oracle_pids+=($!)
	python3 - "$out.json" "$name" >> "$summary" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); s = d["stacks"]; t = max(1, d["samples"])
print(f"{sys.argv[2]:44} samples {d['samples']:5}  complete {100*s['complete']/t:5.1f}%  "
      f"reconstructed {100*s['reconstructed']/t:4.1f}%  truncated {100*s['truncated']/t:4.1f}%")
PY
	# the oracles run beside the next recordings, two at most
	if [ ${#oracle_pids[@]} -ge 2 ]; then
		wait "${oracle_pids[0]}"
		oracle_pids=("${oracle_pids[@]:1}")
	fi
done < "$manifest"
wait
wrong=0 open=0
while read -r name _; do
	rc=$(cat "$WORK/$name.oracle-rc" 2>/dev/null || echo "did not run")
	sed 's/^/  /' "$WORK/$name.oracle"
	# a wrong name is what users act on: none is allowed, anywhere
	if grep -q '^WRONG' "$WORK/$name.oracle"; then
		wrong=$((wrong + 1))
		echo "WRONG NAME: $name"
	fi
	# any other finding too: a location without the name the oracle
	# gives, a return address that follows no call, an address in no
	# PT_LOAD, or the oracle failing
	[ "$rc" = ok ] || { open=$((open + 1)); echo "ORACLE FAILED: $name ($rc)"; }
done < "$manifest"
echo
cat "$summary"
echo "oracle: $wrong recordings with a wrong name, $open with another finding, of $n"
[ "$n" -ge 120 ] || fail "only $n corpus binaries recorded"
[ "$wrong" = 0 ] || fail "$wrong of $n recordings with a wrong name"
[ "$open" = 0 ] || fail "$open of $n recordings with oracle findings"
[ "$bad" = 0 ] || { cat "$WORK/below.txt"; fail "$bad of $n recordings below the exact share"; }
echo "PASS: $n layouts, exact paths >= 99%, no wrong name"
