#!/usr/bin/env bash
# All outputs of one real recording (the cgo demo-style callback fixture and
# the native fixture): go tool pprof -raw and -top open the pprof, its sample
# total equals the folded total, protoc decodes it independently, the SVG is
# well-formed XML, every folded line parses with flamegraph.pl's regex, and
# --pid-root/--tid/--weight roots and counts are right.
. "$(dirname "$0")/lib.sh"
require_perf
go=/usr/local/go/bin/go
[ -x "$go" ] || go=$(command -v go || echo /usr/lib/go-1.19/bin/go)
check() { # folded pprof svg
	local folded=$1 pb=$2 svg=$3
	python3 - "$folded" <<'PY'
import re, sys
rx = re.compile(r"^(.*)\s+?(\d+(?:\.\d*)?)$")
n = 0
for line in open(sys.argv[1]):
    m = rx.match(line.rstrip("\n"))
    assert m, line
    frames = m.group(1).split(";")
    assert all(frames), f"empty frame: {line!r}"
    # not mistaken for a differential line: the stack has no trailing number
    assert not re.search(r"\s\d+(\.\d*)?$", m.group(1)), line
    n += int(m.group(2))
open(sys.argv[1] + ".total", "w").write(str(n))
PY
	total=$(cat "$folded.total")
	"$go" tool pprof -raw "$pb" > "$WORK/raw" 2> "$WORK/raw.err" || { cat "$WORK/raw.err"; fail "go tool pprof -raw refused $pb"; }
	"$go" tool pprof -top "$pb" > "$WORK/top" 2>&1 || { cat "$WORK/top"; fail "go tool pprof -top refused $pb"; }
	raw_total=$(awk '/^Samples:/{s=1;next} /^Locations/{s=0} s && /^ *[0-9]+ +[0-9]+:/{n+=$1} END{print n+0}' "$WORK/raw")
	[ "$raw_total" = "$total" ] || { head -20 "$WORK/raw"; fail "pprof total $raw_total != folded total $total"; }
	gunzip -c "$pb" | protoc --decode_raw > "$WORK/decoded" || fail "protoc --decode_raw refused $pb"
	grep -q '^6: ""' "$WORK/decoded" || fail "string_table[0] is not empty"
	python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$svg" || fail "SVG is not well-formed"
	echo "ok: $folded: $total samples in folded, pprof and its tools agree"
}
# native, launch
"$CGOPROF" record -q -o "$WORK/n.folded" -o "$WORK/n.pb.gz" -o "$WORK/n.svg" \
	-- "$FIXTURES/hot" thread 1.5
check "$WORK/n.folded" "$WORK/n.pb.gz" "$WORK/n.svg"
grep -q 'hot_leaf' "$WORK/top" || fail "hot_leaf not in pprof -top"
# Go with cgo callbacks, stripped
bin="$FIXTURES/go/cgo-callback-go1.26-stripped"
[ -x "$bin" ] || fail "fixture $bin missing"
"$CGOPROF" record -q -d 1.5 -o "$WORK/g.folded" -o "$WORK/g.pb.gz" -o "$WORK/g.svg" \
	-o "$WORK/g.folded.gz" --tid -- "$bin" -d 4s
check "$WORK/g.folded" "$WORK/g.pb.gz" "$WORK/g.svg"
# *.folded.gz: the same folded stacks, gzipped
zcat "$WORK/g.folded.gz" | cmp -s - "$WORK/g.folded" || fail "g.folded.gz is not g.folded gzipped"
grep -q 'main.goLeaf' "$WORK/top" || fail "main.goLeaf not in pprof -top"
# roots and weights
"$CGOPROF" record -q --pid-root -o "$WORK/p.folded" -- "$FIXTURES/hot" main 0.5
grep -Eq '^hot-[0-9]+;_start;' "$WORK/p.folded" || fail "--pid-root root"
"$CGOPROF" record -q --weight -o "$WORK/w.folded" -- "$FIXTURES/hot" main 0.5
# cpu-clock at 999 Hz: a sample weighs about 1001001 ns
python3 - "$WORK/w.folded" <<'PY'
import sys
tot = [int(l.rsplit(" ", 1)[1]) for l in open(sys.argv[1])]
assert sum(tot) > 100 * 900000, sum(tot)
PY
