#!/usr/bin/env bash
# Every location of real profiles, checked against oracles that know nothing
# of the programs and share no code with cgoprof (tests/e2e/oracle.py): the
# address translated with the file's own program headers, the name compared
# with `go tool addr2line` (Go) or eu-addr2line (C, with DWARF inline
# chains and libc6-dbg's debug files), and every caller's return address
# checked to follow a call instruction. No wrong name, no bad return
# address, and at least one location of the profiled binary checked, on:
#   - the Go fixtures cgo-inline, cgo-callback, cgo-rbp, go-frameless, Go
#     1.19 and 1.26, default and PIE (-s -w) builds;
#   - the start of Debian's restic, rclone and hugo (stripped, externally
#     linked, dynamically linked cgo programs nobody here built);
#   - esbuild from npm (tools/fetch-esbuild.sh: static, stripped, Go 1.26).
# (t0207 checks the corpus of linkers, libcs and layouts the same way.)
# Kernel locations are checked against /proc/kallsyms; twice on purpose:
# one recording reads it and makes the kernel names cache of this boot, the
# next takes the names from that cache. A third, of threads that come and go
# at 9 999 Hz, has samples in cgoprof's own fork program: those are named
# from the kernel's account of its programs, the file not read, and the
# names are the ones /proc/kallsyms gives while the programs are loaded.
# First a self-check of the oracle on a real profile: the same profile with
# its sample location lists re-encoded unpacked gives the same verdict; one
# Go function renamed to another real Go function's name must fail (exit 1,
# that name reported); one caller's address moved back by a byte (into its
# call instruction) must fail as a bad return address; one kernel function
# renamed to another must fail.
# One recording at a time; the oracle of one recording runs while the next
# records.
. "$(dirname "$0")/lib.sh"
require_perf
ORACLE="$top/tests/e2e/oracle.py"
GO=${GO:-/usr/local/go/bin/go}
export GO
[ -x "$GO" ] || fail "no Go toolchain at $GO (go tool addr2line is the Go oracle)"
for t in eu-addr2line objdump python3; do
	command -v "$t" >/dev/null || fail "$t not found (run tools/install-deps.sh)"
done
[ -d /usr/lib/debug/.build-id ] || fail "no /usr/lib/debug/.build-id (libc6-dbg)"
report=$WORK/report.txt
: > "$report"
started=$SECONDS

# check NAME PROFILE BINARY: the oracle on PROFILE (in the background; its
# verdict is read by finish). BINARY is the file whose locations must be
# checked: at least one.
pending=()
check() {
	local name=$1 pb=$2 bin=$3
	python3 "$ORACLE" "$pb" --report "$report" > "$WORK/$name.oracle" 2>&1 &
	echo "$! $name $bin" > "$WORK/$name.job"
	pending+=("$name")
}
bad=0 runs=0
finish() {
	local name pid bin rc checked
	for name in "${pending[@]}"; do
		read -r pid _ bin < "$WORK/$name.job"
		rc=0
		wait "$pid" || rc=$?
		runs=$((runs + 1))
		checked=$(awk -v b="$bin" '{ for (i = 1; i < NF; i++)
			if ($i == b ":" && $(i + 1) == "checked") print $(i + 2) }' "$WORK/$name.oracle")
		if [ "$rc" != 0 ] || [ "${checked:-0}" -le 0 ]; then
			echo "== $name: oracle exit $rc, ${checked:-0} locations of $bin checked"
			cat "$WORK/$name.oracle"
			bad=$((bad + 1))
		fi
	done
	pending=()
}
record_only() { # name cgoprof-args...: writes $WORK/name.pb.gz and .json
	local name=$1; shift
	"$CGOPROF" record -q -o "$WORK/$name.pb.gz" -o "$WORK/$name.json" "$@" \
		< /dev/null > "$WORK/$name.log" 2>&1 ||
		{ cat "$WORK/$name.log"; fail "record failed: $name"; }
}
# Records, then waits for the previous oracle and starts this one's: at most
# one oracle runs beside a recording.
record() { # name binary-to-check cgoprof-args...
	local name=$1 bin; bin=$(readlink -f "$2"); shift 2
	record_only "$name" "$@"
	finish
	check "$name" "$WORK/$name.pb.gz" "$bin"
}

echo "== self-check of the oracle"
fx=$FIXTURES/go/cgo-inline-go1.26-default
[ -x "$fx" ] || fail "fixture $fx was not built"
record_only self -d 2 -- "$fx" -d 6s
python3 - "$WORK/self.pb.gz" "$WORK" <<'PY' || fail "could not rewrite the profile"
# Re-encodes the profile three ways, with a protobuf decoder and encoder of
# its own (not the oracle's): unpacked sample location ids; one Go function
# renamed; one caller's address moved back by one byte.
import gzip, os, re, struct, sys

def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1; v |= (c & 0x7F) << s; s += 7
        if c < 0x80:
            return v, i

def fields(b):
    i, out = 0, []
    while i < len(b):
        k, i = varint(b, i)
        n, wt = k >> 3, k & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 2:
            ln, i = varint(b, i); v = b[i:i + ln]; i += ln
        elif wt == 1:
            v = b[i:i + 8]; i += 8
        elif wt == 5:
            v = b[i:i + 4]; i += 4
        else:
            raise ValueError(wt)
        out.append([n, wt, v])
    return out

def enc_varint(v):
    out = bytearray()
    while True:
        out.append((v & 0x7F) | (0x80 if v > 0x7F else 0)); v >>= 7
        if not v:
            return bytes(out)

def encode(fs):
    out = bytearray()
    for n, wt, v in fs:
        out += enc_varint(n << 3 | wt)
        if wt == 0:
            out += enc_varint(v)
        elif wt == 2:
            out += enc_varint(len(v)) + v
        else:
            out += v
    return bytes(out)

def ints(wt, v):
    if wt == 0:
        return [v]
    out, i = [], 0
    while i < len(v):
        x, i = varint(v, i); out.append(x)
    return out

def write(name, top):
    with gzip.open(os.path.join(sys.argv[2], name), "wb") as f:
        f.write(encode(top))

top = fields(gzip.open(sys.argv[1]).read())
strings = [v.decode() for n, wt, v in top if n == 6]
def by_id(field):
    """id -> (index in the profile, fields) of the messages of FIELD"""
    out = {}
    for k, (n, wt, v) in enumerate(top):
        if n == field:
            fs = fields(v)
            out[next(x[2] for x in fs if x[0] == 1)] = (k, fs)
    return out
funcs = by_id(5)
def fname(fid):
    return strings[next(x[2] for x in funcs[fid][1] if x[0] == 2)]

# 1. the samples' location ids unpacked (one varint field per id)
unpacked = []
for n, wt, v in top:
    if n == 2:
        sfs = []
        for n2, w2, v2 in fields(v):
            sfs += [[1, 0, x] for x in ints(w2, v2)] if n2 == 1 else [[n2, w2, v2]]
        v, wt = encode(sfs), 2
    unpacked.append([n, wt, v])
write("unpacked.pb.gz", unpacked)

# 2. the outermost function of one location, a Go function of the main
# package, renamed to another Go function of the profile (runtime.*)
outer = []
for n, wt, v in top:
    if n == 4:
        lines = [fields(x[2]) for x in fields(v) if x[0] == 4]
        if lines:
            outer.append(next(x[2] for x in lines[-1] if x[0] == 1))
def write_renamed(name, victim, other):
    """NAME.pb.gz: function VICTIM named as function OTHER; NAME.want: that
    name"""
    k, fs = funcs[victim]
    name_of_other = next(x[2] for x in funcs[other][1] if x[0] == 2)
    renamed = [list(x) for x in top]
    renamed[k] = [5, 2, encode([[n2, w2, name_of_other if n2 == 2 else v2]
                                for n2, w2, v2 in fs])]
    write(name + ".pb.gz", renamed)
    open(os.path.join(sys.argv[2], name + ".want"), "w").write(fname(other) + "\n")

victim = next(f for f in outer if fname(f).startswith("main."))
other = next(f for f in outer if fname(f).startswith("runtime.") and fname(f) != fname(victim))
write_renamed("renamed", victim, other)

# 3. a caller (second user location of a sample whose user frames are all
# in the fixture) in main.*: its address - 1 is inside its call instruction,
# where no instruction ends
maps = {}
for n, wt, v in top:
    if n == 3:
        fs = {x[0]: x[2] for x in fields(v)}
        maps[fs[1]] = strings[fs.get(5, 0)]
locs = by_id(4)
def loc_fn(lid):
    fs = locs[lid][1]
    lines = [fields(x[2]) for x in fs if x[0] == 4]
    return fname(next(x[2] for x in lines[-1] if x[0] == 1)) if lines else ""
def loc_map(lid):
    return maps.get(next((x[2] for x in locs[lid][1] if x[0] == 2), 0), "")
callers = set()
for n, wt, v in top:
    if n == 2:
        ids = [x for n2, w2, v2 in fields(v) if n2 == 1 for x in ints(w2, v2)]
        user = [i for i in ids if not loc_map(i).startswith("[kernel")]
        callers.update(user[1:])
moved_id = next(i for i in sorted(callers) if loc_fn(i).startswith("main."))
k, fs = locs[moved_id]
moved = [list(x) for x in top]
moved[k] = [4, 2, encode([[n2, w2, v2 - 1 if n2 == 3 else v2] for n2, w2, v2 in fs])]
write("moved.pb.gz", moved)

# 4. the function of one kernel location renamed to another kernel function
# of the profile
kfuncs = []
for lid in locs:
    if loc_map(lid).startswith("[kernel"):
        lines = [fields(x[2]) for x in locs[lid][1] if x[0] == 4]
        if lines:
            kfuncs.append(next(x[2] for x in lines[-1] if x[0] == 1))
write_renamed("krenamed", kfuncs[0],
              next(f for f in kfuncs if fname(f) != fname(kfuncs[0])))
PY
rc=0; python3 "$ORACLE" "$WORK/self.pb.gz" > "$WORK/self.out" 2>&1 || rc=$?
[ $rc = 0 ] || { cat "$WORK/self.out"; fail "oracle exit $rc on the unmodified profile"; }
rc=0; python3 "$ORACLE" "$WORK/unpacked.pb.gz" > "$WORK/unpacked.out" 2>&1 || rc=$?
diff <(sed 's/^self\.pb\.gz: //' "$WORK/self.out") \
	<(sed 's/^unpacked\.pb\.gz: //' "$WORK/unpacked.out") ||
	fail "the oracle reads the unpacked profile differently (exit $rc)"
rc=0; python3 "$ORACLE" "$WORK/renamed.pb.gz" > "$WORK/renamed.out" 2>&1 || rc=$?
cat "$WORK/renamed.out"
[ $rc = 1 ] || fail "the oracle exits $rc, not 1, on a renamed Go function"
grep '^WRONG' "$WORK/renamed.out" | grep -qF -- "$(cat "$WORK/renamed.want") oracle main." ||
	fail "the oracle did not report the renamed function"
rc=0; python3 "$ORACLE" "$WORK/moved.pb.gz" > "$WORK/moved.out" 2>&1 || rc=$?
sed -n '/^BADRET/p' "$WORK/moved.out"
[ $rc = 1 ] || fail "the oracle exits $rc, not 1, on an address moved off its return address"
grep -q '^BADRET .* no instruction of main\.' "$WORK/moved.out" ||
	fail "the oracle did not report the moved return address"
! grep -q '^WRONG' "$WORK/moved.out" || fail "a byte back in the call instruction changed a name"
rc=0; python3 "$ORACLE" "$WORK/krenamed.pb.gz" > "$WORK/krenamed.out" 2>&1 || rc=$?
sed -n '/^WRONG/p' "$WORK/krenamed.out"
[ $rc = 1 ] || fail "the oracle exits $rc, not 1, on a renamed kernel function"
grep -q "^WRONG    \[kernel\] .* cgoprof $(cat "$WORK/krenamed.want") oracle" "$WORK/krenamed.out" ||
	fail "the oracle did not report the renamed kernel function"
grep -q '^self.pb.gz: \[kernel\]: checked [1-9]' "$WORK/self.out" ||
	fail "no kernel location was checked"

echo "== kernel names: from /proc/kallsyms, then from the cache it made"
kc=$WORK/kcache
for run in 1 2; do
	CGOPROF_CACHE_DIR=$kc "$CGOPROF" record -v -o "$WORK/kc$run.pb.gz" -d 2 \
		-- "$fx" -d 6s < /dev/null > "$WORK/kc$run.log" 2>&1 ||
		{ cat "$WORK/kc$run.log"; fail "record failed: kc$run"; }
	grep 'kernel names:' "$WORK/kc$run.log"
	rc=0; python3 "$ORACLE" "$WORK/kc$run.pb.gz" > "$WORK/kc$run.out" 2>&1 || rc=$?
	grep '\[kernel\]' "$WORK/kc$run.out"
	[ $rc = 0 ] || { cat "$WORK/kc$run.out"; fail "oracle exit $rc on kc$run"; }
	grep -q "^kc$run.pb.gz: \[kernel\]: checked [1-9]" "$WORK/kc$run.out" ||
		fail "no kernel location was checked in kc$run"
done
grep -q 'kernel names: .* from /proc/kallsyms' "$WORK/kc1.log" ||
	fail "the first recording did not read /proc/kallsyms"
grep -q 'kernel names: .* all from the cache' "$WORK/kc2.log" ||
	fail "the second recording did not use the cache the first made"
[ "$(stat -c %a "$kc")" = 700 ] || fail "the cache's directory is not 0700"
cc -O2 -g -o "$WORK/threads" "$top/tests/fixtures/c/threads.c" -lpthread
CGOPROF_CACHE_DIR=$kc "$CGOPROF" record -v -F 9999 -o "$WORK/kc3.folded" \
	-- "$WORK/threads" churn 4000 0.0005 < /dev/null > "$WORK/kc3.log" 2>&1 &
kc3=$!
# the programs' lines, while they are loaded: the oracle
for _ in $(seq 100); do
	grep '_cgoprof_fork\s\[bpf\]' /proc/kallsyms > "$WORK/kc3.ksyms" && break
	sleep 0.05
done
wait $kc3 || { cat "$WORK/kc3.log"; fail "record failed: kc3"; }
grep 'kernel names:' "$WORK/kc3.log"
grep -q 'kernel names: .* all from the cache' "$WORK/kc3.log" ||
	fail "a recording with samples in a BPF program read /proc/kallsyms"
[ -s "$WORK/kc3.ksyms" ] || fail "cgoprof's fork program was never in /proc/kallsyms"
want=$(awk '{print $3}' "$WORK/kc3.ksyms" | head -n 1)
got=$(grep -o 'bpf_prog_[^; ]*_cgoprof_fork' "$WORK/kc3.folded" | sort -u)
echo "fork program: cgoprof $got; /proc/kallsyms $want ($(grep -c "$want" "$WORK/kc3.folded") stacks)"
[ -n "$got" ] || fail "no sample in cgoprof's fork program (4000 thread starts at 9999 Hz)"
[ "$got" = "$want" ] || fail "the fork program is named $got, /proc/kallsyms says $want"

echo "== Go fixtures"
for prog in cgo-inline cgo-callback cgo-rbp go-frameless; do
	for tc in go1.19 go1.26; do
		for variant in default pie; do
			bin=$FIXTURES/go/$prog-$tc-$variant
			[ -x "$bin" ] || fail "fixture $bin was not built"
			record "$prog-$tc-$variant" "$bin" -d 2 -- "$bin" -d 6s
		done
	done
done

echo "== Debian's Go programs"
for prog in restic rclone hugo; do
	bin=/usr/bin/$prog
	[ -x "$bin" ] || fail "$bin is not installed (run tools/install-deps.sh)"
	record "$prog" "$bin" -F 4999 -- sh -c "for i in 1 2 3 4 5; do $bin version; done >/dev/null"
done

echo "== esbuild from npm"
"$top/tools/fetch-esbuild.sh" "$FIXTURES/esbuild" || fail "could not fetch esbuild from npm"
esbuild=$FIXTURES/esbuild/esbuild
"$top/tests/fixtures/esbuild-work.sh" "$esbuild" -n 1 > /dev/null  # generate the project once
record esbuild "$(cd "$(dirname "$esbuild")" && pwd)/esbuild" -d 2 -- \
	"$top/tests/fixtures/esbuild-work.sh" "$esbuild" 3

finish

echo "== oracle summaries"
cat "$report"
echo "$runs profiles checked in $((SECONDS - started)) s"
[ "$bad" = 0 ] || fail "$bad of $runs profiles have wrong names, bad return addresses or nothing checked"
