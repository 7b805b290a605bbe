#!/usr/bin/env bash
# cgoprof audit against independent tools (tests/e2e/auditcheck.py): the
# program of tests/fixtures/audit (net and os/user) built with Go 1.26 and
# Go 1.19, default, -tags netgo,osusergo and CGO_ENABLED=0, each default,
# -s -w, PIE and static; the cgo fixtures and go-sqlite3 (Go 1.19 and 1.26,
# default, stripped, PIE); esbuild from npm (shipped, static, no cgo).
# For every binary: the parts add up to the file size; settings, main and
# deps as `go version -m`; NEEDED as `readelf -d`; the newest GLIBC_ of
# `readelf -V`; libraries as `ldconfig -p` resolves them; imports as
# `readelf --dyn-syms`; per-package Go text as `go tool nm -size`
# (unstripped); stripped and unstripped builds report the same cgo
# packages. Then the errors (a directory, a non-ELF file, truncated and
# corrupt binaries, a FIFO: exit 2), the gate (exit 3 and the reason on
# stderr: --no-cgo, --max-glibc, --baseline/--max-growth), A --- B, -q.
. "$(dirname "$0")/lib.sh"
CHECK="python3 $top/tests/e2e/auditcheck.py"
src="$top/tests/fixtures/audit"
# built once, cached by key (CGOPROF_AUDIT_FIXTURES: elsewhere than a
# shared $FIXTURES)
out="${CGOPROF_AUDIT_FIXTURES:-$FIXTURES/audit}"
mkdir -p "$out/.cache/go-build" "$out/.cache/home" "$out/.cache/gopath"
gos=(/usr/local/go/bin/go)
if [ ! -x /usr/lib/go-1.19/bin/go ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null &&
	[ "${CGOPROF_NO_APT:-0}" != 1 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-1.19-go >&2 || true
fi
[ -x /usr/lib/go-1.19/bin/go ] && gos+=(/usr/lib/go-1.19/bin/go)
[ -x /usr/lib/go-1.19/bin/go ] || echo "note: Go 1.19 (golang-1.19-go) not installed: Go 1.26 only"
GO=/usr/local/go/bin/go
bad=0

# build NAME GO CGO(0|1) TAGS LINK(default|sw|pie|static): cached by a key
build() {
	local name=$1 go=$2 cgo=$3 tags=$4 link=$5 key flags=()
	[ -n "$tags" ] && flags+=(-tags "$tags")
	case $link in
	sw) flags+=("-ldflags=-s -w") ;;
	pie) flags+=(-buildmode=pie) ;;
	static) flags+=("-ldflags=-linkmode external -extldflags -static") ;;
	esac
	key=$( { cat "$src/main.go" "$src/go.mod"; "$go" version; echo "$cgo ${flags[*]}"; } | sha256sum | cut -c1-16)
	if [ -x "$out/$name" ] && [ "$(cat "$out/$name.key" 2>/dev/null)" = "$key" ]; then
		return 0
	fi
	( cd "$src" && env HOME="$out/.cache/home" GOCACHE="$out/.cache/go-build" \
		GOPATH="$out/.cache/gopath" GOENV=off GOTOOLCHAIN=local GOPROXY=off \
		GOFLAGS=-mod=mod CGO_ENABLED=$cgo "$go" build "${flags[@]}" -o "$out/$name.tmp" . ) \
		> "$WORK/build-$name.log" 2>&1 || { cat "$WORK/build-$name.log"; fail "building $name"; }
	mv "$out/$name.tmp" "$out/$name"
	echo "$key" > "$out/$name.key"
}

audit_check() { # BINARY GO [--nm] [expectations...]
	local bin=$1 go=$2; shift 2
	local json="$WORK/$(basename "$bin").json"
	"$CGOPROF" audit -o "$json" "$bin" > "$WORK/$(basename "$bin").txt" ||
		{ echo "FAIL $(basename "$bin"): cgoprof audit exit $?"; bad=$((bad + 1)); return; }
	$CHECK "$json" "$bin" "$go" "$@" || bad=$((bad + 1))
}

cgo_pkgs() { # JSON -> "net os/user runtime/cgo" and each one's C functions
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sorted((p["package"], p["c_functions"], p["callbacks"]) for p in d["cgo"]["packages"]))' "$1"
}

echo "== the net/os/user program"
for go in "${gos[@]}"; do
	v=$("$go" env GOVERSION | sed -E 's/^go([0-9]+)\.([0-9]+).*/go\1\2/')
	for link in default sw pie static; do
		build "netuser-$v-default-$link" "$go" 1 "" "$link"
		build "netuser-$v-netgo-$link" "$go" 1 netgo,osusergo "$link"
		[ "$link" = static ] && continue # CGO_ENABLED=0 is static already
		build "netuser-$v-nocgo-$link" "$go" 0 "" "$link"
	done
	for link in default sw pie static; do
		nm=; [ "$link" = sw ] || nm=--nm
		kind=dynamic; [ "$link" = static ] && kind=static
		extra=(); [ "$link" = static ] && extra=(finding=static-glibc-nss)
		[ "$link" = pie ] && [ "$v" = go126 ] && extra=(setting=-buildmode:pie)
		audit_check "$out/netuser-$v-default-$link" "$go" $nm kind=$kind \
			cgo=net,os/user,runtime/cgo avoid=net:"-tags netgo" \
			avoid=os/user:"-tags osusergo" avoid=runtime/cgo:CGO_ENABLED=0 \
			cfunc=net:getaddrinfo libc=glibc setting=CGO_ENABLED:1 "${extra[@]}"
		# netgo,osusergo: nothing imports runtime/cgo, the internal linker
		# makes a static binary; -linkmode external brings runtime/cgo
		# back with Go 1.26 (not 1.19), but no NSS call
		pkgs=none; [ "$link" = static ] && [ "$v" = go126 ] && pkgs=runtime/cgo
		audit_check "$out/netuser-$v-netgo-$link" "$go" $nm cgo=$pkgs \
			setting=-tags:netgo,osusergo no-finding=static-glibc-nss
		[ "$link" = static ] && continue
		kind=static; [ "$link" = pie ] && kind=static-pie
		audit_check "$out/netuser-$v-nocgo-$link" "$go" $nm cgo=none \
			setting=CGO_ENABLED:0
	done
	# stripped and unstripped: the same cgo packages, calls and exports
	for mode in default netgo nocgo; do
		a=$(cgo_pkgs "$WORK/netuser-$v-$mode-default.json")
		b=$(cgo_pkgs "$WORK/netuser-$v-$mode-sw.json")
		[ "$a" = "$b" ] || { echo "FAIL $v-$mode: stripped $b != unstripped $a"; bad=$((bad + 1)); }
	done
done

echo "== the cgo fixtures and go-sqlite3"
for f in "$FIXTURES"/go/{cgo-callback,cgo-inline,cgo-rbp,sqlite}-go1.*-{default,stripped,pie}; do
	[ -x "$f" ] || continue
	nm=; case $f in *-default) nm=--nm ;; esac
	exp=()
	case $f in
	*cgo-callback*) exp=(cgo=main,runtime/cgo callback=main:goSpin cfunc=main:c_call_go needs_cgo=main) ;;
	*sqlite*) exp=(cgo=github.com/mattn/go-sqlite3,runtime/cgo needs_cgo=github.com/mattn/go-sqlite3) ;;
	*) exp=(needs_cgo=main) ;;
	esac
	audit_check "$f" "$GO" $nm "${exp[@]}"
done
for p in cgo-callback cgo-inline cgo-rbp sqlite; do
	for v in go1.19 go1.26; do
		[ -f "$WORK/$p-$v-default.json" ] && [ -f "$WORK/$p-$v-stripped.json" ] || continue
		a=$(cgo_pkgs "$WORK/$p-$v-default.json"); b=$(cgo_pkgs "$WORK/$p-$v-stripped.json")
		[ "$a" = "$b" ] || { echo "FAIL $p-$v: stripped $b != unstripped $a"; bad=$((bad + 1)); }
	done
done
ls "$FIXTURES"/go/sqlite-go1.*-default >/dev/null 2>&1 || fail "no go-sqlite3 fixture (tests/fixtures/build-go.sh)"

echo "== other linkers and libcs (tests/unit/pclntab-bins.sh: lld, gold, musl, static-pie, Go 1.17)"
bins=${CGOPROF_PCLNTAB_BINS:-$top/build/pclntab-bins}
for f in "$bins"/go1{17,19,26}-{default,s,pie-s,nocgo-pie-s,musl,musl-s,lld-spie,lld-spie-s,gold-pie-s,lld-pie}; do
	[ -x "$f" ] || continue
	exp=()
	case $f in
	*-musl*) exp=(libc=musl kind=static cgo=main,runtime/cgo) ;;
	*-spie*) exp=(kind=static-pie) ;;
	*-nocgo-pie-s) exp=(cgo=none) ;; # kind: as readelf -l says
	*) exp=(kind=dynamic libc=glibc cgo=main,runtime/cgo cfunc=main:tiny) ;;
	esac
	audit_check "$f" "$GO" "${exp[@]}"
done
ls "$bins"/go126-musl >/dev/null 2>&1 || echo "note: no $bins/go126-musl (tests/unit/pclntab-bins.sh)"

echo "== esbuild from npm"
"$top/tools/fetch-esbuild.sh" "$FIXTURES/esbuild" || fail "could not fetch esbuild from npm"
audit_check "$FIXTURES/esbuild/esbuild" "$GO" kind=static cgo=none

echo "== without .go.buildinfo: the version from the runtime's string (symbol, data, relocation)"
for f in "$out"/netuser-go126-default-default "$out"/netuser-go126-default-sw \
	"$out"/netuser-go126-default-pie "$out"/netuser-go119-default-sw "$FIXTURES/esbuild/esbuild"; do
	[ -x "$f" ] || continue
	nobi="$WORK/nobi-$(basename "$f")"
	objcopy --remove-section .go.buildinfo "$f" "$nobi" || fail "objcopy $f"
	want=$("$GO" version "$f" 2>&1 | awk '{print $2}')
	# esbuild ships without readable build info: the version's bytes must
	# be in the file at least
	case $want in go1*) ;; *) want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["go"]["version"])' "$WORK/esbuild.json")
		grep -q -a -F "$want" "$f" || { echo "FAIL: $want not in $f"; bad=$((bad + 1)); } ;; esac
	"$CGOPROF" audit -o "$nobi.json" "$nobi" > /dev/null || fail "audit $nobi"
	got=$(python3 -c 'import json,sys; g=json.load(open(sys.argv[1]))["go"]; print(g["version"], g["version_source"], g["main"], g["unknown"] is not None)' "$nobi.json")
	echo "$(basename "$f") without build info: $got (go version on the original: $want)"
	[ "$got" = "$want runtime None True" ] || { echo "FAIL $(basename "$f"): without build info: $got"; bad=$((bad + 1)); }
	! "$GO" version "$nobi" 2>&1 | grep -q ": go1" || { echo "FAIL: go version still reads $nobi"; bad=$((bad + 1)); }
done

echo "== unreadable inputs: exit 2, a clear message"
cp "$out/netuser-go126-default-default" "$WORK/full"
head -c 4096 "$WORK/full" > "$WORK/truncated"
head -c $(( $(stat -c %s "$WORK/full") / 2 )) "$WORK/full" > "$WORK/half"
echo 'not an ELF file' > "$WORK/text"
python3 - "$WORK/full" "$WORK/corrupt" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[0x28:0x30] = (len(b) * 4).to_bytes(8, "little")  # e_shoff past the end
open(sys.argv[2], "wb").write(b)
PY
mkfifo "$WORK/fifo"
for x in "$WORK" "$WORK/text" "$WORK/truncated" "$WORK/half" "$WORK/corrupt" "$WORK/fifo" "$WORK/none" /dev/null; do
	rc=0; timeout 10 "$CGOPROF" audit "$x" > "$WORK/err.out" 2> "$WORK/err.txt" || rc=$?
	grep -q "cgoprof: error: '$x'\|cgoprof: error: no such file: '$x'" "$WORK/err.txt" ||
		{ cat "$WORK/err.txt"; echo "FAIL $x: no clear message"; bad=$((bad + 1)); }
	[ "$rc" = 2 ] || { echo "FAIL $x: exit $rc, not 2"; bad=$((bad + 1)); }
	echo "exit $rc: $(cat "$WORK/err.txt")"
done
rc=0; "$CGOPROF" audit "$WORK/text" "$WORK/full" > "$WORK/two.txt" 2>/dev/null || rc=$?
[ "$rc" = 2 ] && grep -q "^$WORK/full" "$WORK/two.txt" || { echo "FAIL: one bad input of two: exit $rc, the other not reported"; bad=$((bad + 1)); }
rc=0; "$CGOPROF" audit --max-growth x "$WORK/full" 2>/dev/null || rc=$?
[ "$rc" = 64 ] || { echo "FAIL: usage error exit $rc"; bad=$((bad + 1)); }

echo "== the gate"
gate() { # expected-exit stderr-pattern args...
	local want=$1 pat=$2 rc=0; shift 2
	"$CGOPROF" audit "$@" > "$WORK/gate.out" 2> "$WORK/gate.err" || rc=$?
	echo "exit $rc: $(head -c 300 "$WORK/gate.err")"
	[ "$rc" = "$want" ] || { echo "FAIL: audit $*: exit $rc, not $want"; bad=$((bad + 1)); }
	[ -z "$pat" ] || grep -q -- "$pat" "$WORK/gate.err" ||
		{ echo "FAIL: audit $*: no '$pat' on stderr"; bad=$((bad + 1)); }
}
cgo_bin="$out/netuser-go126-default-default"
nocgo_bin="$out/netuser-go126-nocgo-default"
gate 3 "cgo-present" --no-cgo "$cgo_bin"
gate 0 "" --no-cgo "$nocgo_bin"
gate 3 "glibc-too-new" --max-glibc 2.17 "$cgo_bin"
gate 0 "" --max-glibc 9.99 "$cgo_bin"
"$CGOPROF" audit -q -o "$WORK/base.json" "$nocgo_bin" > /dev/null
assert_written "$WORK/base.json"
cp "$cgo_bin" "$WORK/app"
cp "$nocgo_bin" "$WORK/app-old"
"$CGOPROF" audit -q -o "$WORK/base.json" "$WORK/app-old" > /dev/null
gate 0 "" --baseline "$WORK/base.json" --max-growth 1 "$WORK/app-old"
gate 3 "grew" --baseline "$WORK/base.json" --max-growth 1 "$WORK/app"
gate 0 "" --baseline "$WORK/base.json" --max-growth 1000 "$WORK/app"
gate 3 "grew" --max-growth 0.5 "$nocgo_bin" --- "$cgo_bin"
gate 0 "" --max-growth 5 "$nocgo_bin" --- "$cgo_bin"
gate 2 "not a cgoprof audit" --baseline "$WORK/text" --max-growth 1 "$WORK/app"

echo "== A --- B and -q"
"$CGOPROF" audit -o "$WORK/cmp.json" "$nocgo_bin" --- "$cgo_bin" > "$WORK/cmp.txt" ||
	fail "audit A --- B"
cat "$WORK/cmp.txt"
python3 - "$WORK/cmp.json" "$nocgo_bin" "$cgo_bin" <<'PY' || bad=$((bad + 1))
import json, os, sys
d = json.load(open(sys.argv[1]))
a, b = os.stat(sys.argv[2]).st_size, os.stat(sys.argv[3]).st_size
assert d["delta"]["size"] == b - a, "delta size"
for k in d["a"]["sizes"]:
    assert d["delta"][k] == d["b"]["sizes"][k] - d["a"]["sizes"][k], k
print("compare JSON: delta", d["delta"])
PY
grep -q "^go_text " "$WORK/cmp.txt" || { echo "FAIL: no go_text row in A --- B"; bad=$((bad + 1)); }
"$CGOPROF" audit -q "$cgo_bin" "$nocgo_bin" > "$WORK/q.txt"
cat "$WORK/q.txt"
[ "$(wc -l < "$WORK/q.txt")" = 2 ] || { echo "FAIL: -q: not one line per binary"; bad=$((bad + 1)); }
echo "== the text report of $cgo_bin"
"$CGOPROF" audit "$cgo_bin"
[ "$("$CGOPROF" audit "$cgo_bin" | wc -l)" -le 40 ] || { echo "FAIL: text report longer than a screen"; bad=$((bad + 1)); }

[ "$bad" = 0 ] || fail "$bad problem(s)"
echo "PASS"
