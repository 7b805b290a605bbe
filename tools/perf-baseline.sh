#!/usr/bin/env bash
# Baseline: what `perf record --call-graph dwarf` and `--call-graph fp` give on
# the Go fixtures (tests/fixtures/go, every program x toolchain x variant) and
# on esbuild, against the exact true stacks of tests/fixtures/go/expected.txt.
#
# Usage: tools/perf-baseline.sh [-d SECONDS] [-o OUTDIR] [PATTERN]
#   OUTDIR (default out/perf-baseline) gets fx/ (fixtures, esbuild), runs/
#   (perf script text, perf record log and one JSON result per run; perf.data
#   is deleted) and table.md (every JSON in runs/, earlier runs included).
#   PATTERN: only binaries whose name contains it (e.g. cgo-inline-go1.26).
#
# For every binary and mode:
#   perf record -e cpu-clock -F 999 --call-graph dwarf,16384 -o X -- BIN -d Ns
#   perf record -e cpu-clock -F 999 --call-graph fp          -o X -- BIN -d Ns
#   perf script -i X -F comm,tid,ip,sym,dso
# then, per sample: kernel frames dropped; the user leaf is "hot" when its
# address lies in the hot leaf's code (found by its bytes, so it works in
# stripped binaries too); perf's names compared with the expected stack after
# stripping .abi0 (perf script -F sym prints no offsets); perf's "(inlined)"
# frames count as frames, as in expected.txt.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DUR=2
OUT=$ROOT/out/perf-baseline
while getopts d:o: opt; do
	case $opt in
	d) DUR=$OPTARG ;;
	o) OUT=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
PATTERN=${1:-}
command -v perf >/dev/null || { echo "perf-baseline: perf is needed (apt-get install linux-perf)" >&2; exit 1; }
mkdir -p "$OUT/fx" "$OUT/runs"
OUT=$(cd "$OUT" && pwd)
FX=$OUT/fx

"$ROOT/tests/fixtures/build-go.sh" "$FX"
"$ROOT/tools/fetch-esbuild.sh" "$FX/esbuild" || echo "perf-baseline: no esbuild (npm?)" >&2

# pclnsym: names file offsets of a Go binary by its pclntab (outer functions,
# no inline frames), for binaries perf cannot symbolize (stripped, esbuild).
mkdir -p "$OUT/pclnsym"
cat >"$OUT/pclnsym/main.go" <<'GO'
// Usage: pclnsym BINARY < offsets (hex file offsets) > names ("?" if none)
package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"debug/gosym"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
)

func main() {
	f, err := elf.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	raw, _ := os.ReadFile(os.Args[1])
	var tab []byte
	for _, n := range []string{".gopclntab", ".data.rel.ro.gopclntab"} {
		if s := f.Section(n); s != nil {
			tab, _ = s.Data()
		}
	}
	if tab == nil { // external PIE: scan the file for an 8-aligned 1.18+ header
		for _, magic := range [][]byte{{0xf0, 0xff, 0xff, 0xff, 0, 0, 1, 8}, {0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8}} {
			for i := 0; tab == nil; i++ {
				j := bytes.Index(raw[i:], magic)
				if j < 0 {
					break
				}
				if i += j; i%8 == 0 {
					tab = raw[i:]
				}
			}
		}
	}
	if tab == nil {
		fmt.Fprintln(os.Stderr, "pclnsym: no pclntab")
		os.Exit(1)
	}
	text := binary.LittleEndian.Uint64(tab[24:]) // 1.18+: runtime.text; 0 on 1.26
	if m := f.Section(".go.module"); text == 0 && m != nil {
		d, _ := m.Data()
		text = binary.LittleEndian.Uint64(d[176:]) // moduledata.text
	}
	if text == 0 {
		if s := f.Section(".text"); s != nil {
			text = s.Addr
		}
	}
	t, err := gosym.NewTable(nil, gosym.NewLineTable(tab, text))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		off, _ := strconv.ParseUint(strings.TrimPrefix(sc.Text(), "0x"), 16, 64)
		name := "?"
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD && off >= p.Off && off < p.Off+p.Filesz {
				if fn := t.PCToFunc(off - p.Off + p.Vaddr); fn != nil {
					name = fn.Name
				}
			}
		}
		fmt.Println(name)
	}
}
GO
printf 'module pclnsym\n\ngo 1.19\n' >"$OUT/pclnsym/go.mod"
GO=/usr/local/go/bin/go
[ -x "$GO" ] || GO=$(command -v go)
(cd "$OUT/pclnsym" && HOME="$OUT/pclnsym" GOCACHE="$FX/.cache/go-build" GOTOOLCHAIN=local GOFLAGS=-mod=mod \
	"$GO" build -o pclnsym .)

# The analyzer: reads `perf script` text, writes one JSON object.
cat >"$OUT/analyze.py" <<'PY'
import collections, json, re, subprocess, sys

ROOTS = {"runtime.goexit", "runtime.mstart", "runtime.rt0_go", "runtime.sigtramp", "runtime.cgoSigtramp",
         "_start", "__libc_start_main", "__libc_start_call_main", "start_thread", "clone", "clone3", "__clone"}


def norm(sym):
    sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
    return sym[:-5] if sym.endswith(".abi0") else sym


def samples(path, comm=None):
    """Yields [(addr, sym, dso)] leaf first, user frames only (of comm, if given)."""
    frames = None
    for line in open(path, errors="replace"):
        if not line.strip():
            if frames is not None:
                yield frames
            frames = None
            continue
        if not line.startswith("\t") and not line.startswith(" "):
            if frames is not None:
                yield frames
            frames = [] if comm is None or line.split()[0] == comm else None
            continue
        parts = line.strip().split(" ")
        addr, dso = parts[0], parts[-1].strip("()")
        sym = " ".join(parts[1:-1])
        if dso == "[kernel.kallsyms]" or addr.startswith("ffffffff"):
            continue
        if frames is not None:
            frames.append((int(addr, 16), norm(sym), dso))
    if frames is not None:
        yield frames


def load_segments(path):
    segs = []
    for line in subprocess.run(["readelf", "-lW", path], capture_output=True, text=True).stdout.splitlines():
        p = line.split()
        if p and p[0] == "LOAD":
            segs.append((int(p[1], 16), int(p[2], 16), int(p[4], 16)))  # offset, vaddr, filesz
    return segs


def leaf_range(ref, name, target):
    """File offsets [lo, hi) of function `name` (symbol in ref) inside target, by its bytes."""
    for line in subprocess.run(["nm", "-S", ref], capture_output=True, text=True).stdout.splitlines():
        p = line.split()
        if len(p) == 4 and p[3] in (name, name + ".abi0"):
            vaddr, size = int(p[0], 16), int(p[1], 16)
            break
    else:
        return None
    for off, va, sz in load_segments(ref):
        if va <= vaddr < va + sz:
            fo = vaddr - va + off
            break
    code = open(ref, "rb").read()[fo:fo + size]
    data = open(target, "rb").read()
    at = data.find(code)
    if at < 0 or data.find(code, at + 1) >= 0:
        return None
    return at, at + size


def main():
    script, binary, ref, expected, mode = sys.argv[1:6]
    comm = sys.argv[6] if len(sys.argv) > 6 else None
    exp = expected.split(";") if expected != "-" else None
    res = {"binary": comm or binary.rsplit("/", 1)[-1], "mode": mode}
    all_n = unk_n = rooted_n = 0
    hot = []
    rng = leaf_range(ref, exp[-1], binary) if exp else None
    if exp and rng is None:
        res["error"] = "hot leaf not found by bytes"
    bin_name = binary.rsplit("/", 1)[-1]
    all_fr = []
    for fr in samples(script, comm):
        if not fr:
            continue
        all_fr.append(fr)
        all_n += 1
        names = [s for _, s, _ in fr]
        if any(s == "[unknown]" for s in names):
            unk_n += 1
        if names[-1] in ROOTS:
            rooted_n += 1
        a, _, dso = fr[0]
        if rng and dso.endswith("/" + bin_name) and rng[0] <= a < rng[1]:
            hot.append(fr)
    # Outermost frames perf could not name, in the binary itself: name them by pclntab.
    outer = [fr[-1][0] for fr in all_fr if fr[-1][1] == "[unknown]" and fr[-1][2].endswith("/" + bin_name)]
    pcln = {}
    if outer:
        q = sorted(set(outer))
        out = subprocess.run([sys.argv[0].rsplit("/", 1)[0] + "/pclnsym/pclnsym", binary],
                             input="".join("%x\n" % a for a in q), capture_output=True, text=True).stdout.split()
        pcln = dict(zip(q, out))
    root_of = lambda fr: pcln.get(fr[-1][0], fr[-1][1]) if fr[-1][1] == "[unknown]" and \
        fr[-1][2].endswith("/" + bin_name) else fr[-1][1]
    res["rooted_pcln"] = sum(1 for fr in all_fr if root_of(fr) in ROOTS)
    res["hot_rooted_pcln"] = sum(1 for fr in hot if root_of(fr) in ROOTS)
    res.update(samples=all_n, unknown=unk_n, rooted=rooted_n, hot=len(hot))
    if exp:
        stacks = collections.Counter(";".join(reversed([s for _, s, _ in fr])) for fr in hot)
        res["exact"] = stacks.get(";".join(exp), 0)
        res["hot_unknown"] = sum(1 for fr in hot if any(s == "[unknown]" for _, s, _ in fr))
        res["hot_rooted"] = sum(1 for fr in hot if fr[-1][1] in ROOTS)
        depths = sorted(len(fr) for fr in hot)
        res["depth_median"] = depths[len(depths) // 2] if depths else 0
        res["depth_expected"] = len(exp)
        res["top"] = stacks.most_common(3)
        # Check the byte-found range against perf's own names where it has them.
        named = [fr[0][1] for fr in hot if fr[0][1] != "[unknown]"]
        res["hot_named_other"] = sum(1 for n in named if n != exp[-1])
    print(json.dumps(res))


main()
PY

# Binaries: fixtures with an expected stack (ref = the default variant, whose
# symbols locate the hot leaf), sqlite, esbuild.
declare -A EXP=()
while read -r p t stack; do
	case $p in '' | '#'*) continue ;; esac
	EXP[$p-$t]=$stack
done <"$ROOT/tests/fixtures/go/expected.txt"

run() { # name command target-binary ref-binary expected comm args...
	local name=$1 bin=$2 target=$3 ref=$4 exp=$5 comm=$6
	shift 6
	local mode cg
	for mode in dwarf fp; do
		case $mode in dwarf) cg=dwarf,16384 ;; fp) cg=fp ;; esac
		local d=$OUT/runs/$name.$mode
		echo "perf-baseline: $name $mode" >&2
		perf record -q -e cpu-clock -F 999 --call-graph "$cg" -o "$d.data" -- "$bin" "$@" >/dev/null 2>"$d.log" || {
			echo "perf-baseline: perf record failed for $name $mode (see $d.log)" >&2
			continue
		}
		perf script -i "$d.data" -F comm,tid,ip,sym,dso >"$d.txt" 2>/dev/null
		python3 "$OUT/analyze.py" "$d.txt" "$target" "$ref" "$exp" "$mode" $comm >"$d.json"
		rm -f "$d.data" # large (dwarf: the stack copies); the text stays
	done
}

for key in $(printf '%s\n' "${!EXP[@]}" | sort); do
	for v in default stripped pie; do
		name=$key-$v
		[ -z "$PATTERN" ] || [[ $name == *"$PATTERN"* ]] || continue
		[ -x "$FX/$name" ] || continue
		run "$name" "$FX/$name" "$FX/$name" "$FX/$key-default" "${EXP[$key]}" "" -d "${DUR}s"
	done
done
if [ -x "$FX/esbuild/esbuild" ] && { [ -z "$PATTERN" ] || [[ esbuild == *"$PATTERN"* ]]; }; then
	"$ROOT/tests/fixtures/esbuild-work.sh" "$FX/esbuild/esbuild" -n 1 2>/dev/null # generate the project first
	run esbuild "$ROOT/tests/fixtures/esbuild-work.sh" "$FX/esbuild/esbuild" "$FX/esbuild/esbuild" - esbuild \
		"$FX/esbuild/esbuild" "$DUR"
fi

# Table.
python3 - "$OUT/runs" >"$OUT/table.md" <<'PY'
import glob, json, sys
rows = [json.load(open(f)) for f in sorted(glob.glob(sys.argv[1] + "/*.json"))]
pct = lambda a, b: "%.1f%%" % (100.0 * a / b) if b else "-"
print("| binary | mode | samples | hot-leaf samples | exact | median depth (expected) "
      "| hot reaching a root: perf names | ... pclntab names | all reaching a root (pclntab) | any [unknown] |")
print("|---|---|---:|---:|---:|---|---:|---:|---:|---:|")
for r in rows:
    if "exact" in r:
        print("| %s | %s | %d | %d | %s | %d (%d) | %s | %s | %s | %s |" % (
            r["binary"], r["mode"], r["samples"], r["hot"], pct(r["exact"], r["hot"]), r["depth_median"],
            r["depth_expected"], pct(r["hot_rooted"], r["hot"]), pct(r["hot_rooted_pcln"], r["hot"]),
            pct(r["rooted_pcln"], r["samples"]), pct(r["unknown"], r["samples"])))
    else:
        print("| %s | %s | %d | - | - | - | - | - | %s | %s |" % (
            r["binary"], r["mode"], r["samples"], pct(r["rooted_pcln"], r["samples"]), pct(r["unknown"], r["samples"])))
print()
print("Most common perf stack of the hot-leaf samples (root first):")
print()
for r in rows:
    for stack, n in r.get("top", [])[:1]:
        print("- %s %s (%s): `%s`" % (r["binary"], r["mode"], pct(n, r["hot"]), stack))
    if r.get("hot_named_other"):
        print("  - WARNING: %d hot samples named otherwise by perf" % r["hot_named_other"])
    if r.get("error"):
        print("  - ERROR: %s" % r["error"])
PY
cat "$OUT/table.md"
