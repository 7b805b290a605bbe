#!/usr/bin/env bash
# Builds the seed corpora of the fuzz targets into OUTDIR (default
# build-fuzz/seeds), one folder per target:
#   pclntab/       the small hand-built pclntab images of fuzz/seeds.py
#                  (Go 1.16, 1.18, 1.20+ layouts)
#   cfi/           /bin/true, a small C shared library with DWARF and
#                  inline frames (tests/fixtures/c/libhot.c), the same
#                  with its DWARF sections named as LTO ones, its caller,
#                  a small system library, two hand-built Go images
#   debugfile/     libhot.so with its debug file (a 4-byte length, the
#                  object, the debug file): zlib and zlib-gnu compressed
#                  debug sections, compressed sections in the object
#                  itself, MiniDebugInfo (.gnu_debugdata), an xz bomb
#   sample/        hand-built perf records (fuzz/seeds.py)
#   unwind/        patches of a captured stack (fuzz/seeds.py)
#   maps/          this shell's /proc maps and smaps, and a hand-written
#                  smaps of a Go program with cgo (named, arena-shaped,
#                  glibc-shaped and guard-page mappings, counters that lie)
#   audit/         the pclntab seeds, the cfi ELF files, this machine's
#                  /etc/ld.so.cache
#   pclntab-real/, cfi-real/, audit-real/
#                  fuzz/seed-go built stripped (-s -w) by every Go
#                  toolchain here (/usr/local/go, Debian's
#                  /usr/lib/go-1.19), default and PIE, and a Go 1.17 build
#                  from $CGOPROF_PCLNTAB_BINS when there is one: real
#                  tables, but ~1 MB each, so fuzzed for a part of the time
#                  only (fuzz/fuzz.mk)
# Idempotent: rebuilt only when a source is newer than OUTDIR/.stamp.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-build-fuzz/seeds}
mkdir -p "$out"
out=$(cd "$out" && pwd)
stamp="$out/.stamp"
if [ -f "$stamp" ] && [ -z "$(find "$top/fuzz/seeds.sh" "$top/fuzz/seeds.py" \
	"$top/fuzz/seed-go" "$top/tests/fixtures/c" -newer "$stamp" 2>/dev/null)" ]; then
	exit 0
fi
rm -rf "$out"/pclntab "$out"/cfi "$out"/sample "$out"/unwind "$out"/maps \
	"$out"/audit "$out"/debugfile "$out"/*-real
mkdir -p "$out"/pclntab "$out"/cfi "$out"/sample "$out"/unwind "$out"/maps \
	"$out"/audit "$out"/debugfile "$out"/pclntab-real "$out"/cfi-real \
	"$out"/audit-real

python3 "$top/fuzz/seeds.py" "$out"
cp "$out/pclntab/syn118-sections" "$out/pclntab/syn120-sections" "$out/cfi/"

export GOENV=off GOFLAGS= GOTOOLCHAIN=local CGO_ENABLED=0
: "${GOPATH:=${HOME:-/root}/go}"
export GOPATH
for go in /usr/local/go/bin/go /usr/lib/go-1.19/bin/go; do
	[ -x "$go" ] || continue
	tag=$("$go" env GOVERSION | sed -E 's/^go([0-9]+)\.([0-9]+).*/go\1\2/')
	(cd "$top/fuzz/seed-go" &&
		"$go" build -trimpath -ldflags='-s -w' -o "$out/pclntab-real/$tag-s" . &&
		"$go" build -trimpath -buildmode=pie -ldflags='-s -w' \
			-o "$out/pclntab-real/$tag-pie-s" .)
done
bins=${CGOPROF_PCLNTAB_BINS:-$top/build/pclntab-bins}
[ -f "$bins/go117-nocgo-s" ] && cp "$bins/go117-nocgo-s" "$out/pclntab-real/"
cp "$out"/pclntab-real/go1*-s "$out/cfi-real/" 2>/dev/null || true
ls "$out"/pclntab-real/go1* >/dev/null 2>&1 ||
	echo "seeds: no Go toolchain: the pclntab corpus is hand-built only" >&2

cc=${CC:-cc}
flags="-O2 -g -fomit-frame-pointer"
$cc $flags -shared -fPIC -o "$out/cfi/libhot.so" "$top/tests/fixtures/c/libhot.c"
$cc $flags -o "$out/cfi/hot" "$top/tests/fixtures/c/hot.c" -L"$out/cfi" \
	-lhot -lpthread
# libhot.so's DWARF under the names libdw takes in a file with only LTO
# sections (.gnu.debuglto_.debug_*)
lto=()
for s in info abbrev line str line_str aranges rnglists loclists; do
	lto+=(--rename-section ".debug_$s=.gnu.debuglto_.debug_$s")
done
objcopy "${lto[@]}" "$out/cfi/libhot.so" "$out/cfi/libhot-lto.so"
cp "$(readlink -f /bin/true)" "$out/cfi/true"
# a small system library, whichever this libc has
for lib in libdl.so.2 libutil.so.1 libpthread.so.0; do
	for dir in /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /usr/lib64; do
		if [ -f "$dir/$lib" ]; then
			cp "$(readlink -f "$dir/$lib")" "$out/cfi/$lib"
			break 2
		fi
	done
done
cp "$out"/pclntab/* "$out/audit/"
cp -n "$out"/cfi/* "$out/audit/"
[ -f /etc/ld.so.cache ] && cp /etc/ld.so.cache "$out/audit/ld.so.cache"
for f in "$out"/pclntab-real/*; do
	[ ! -f "$f" ] || cp "$f" "$out/audit-real/"
done
[ -f "$bins/go117-s" ] && cp "$bins/go117-s" "$out/audit-real/"
# debugfile: an object (named obj, as fuzz_debugfile writes it) and its
# debug file (obj.debug, the .gnu_debuglink's name)
tmp=$(mktemp -d)
pack() { # NAME OBJ [DEBUG]
	python3 -c 'import struct, sys
o = open(sys.argv[2], "rb").read()
d = open(sys.argv[3], "rb").read() if len(sys.argv) > 3 else b""
open(sys.argv[1], "wb").write(struct.pack("<I", len(o)) + o + d)' "$out/debugfile/$1" "$2" ${3:+"$3"}
}
$cc $flags -shared -fPIC -Wl,--build-id -o "$tmp/full" "$top/tests/fixtures/c/libhot.c"
objcopy --only-keep-debug "$tmp/full" "$tmp/obj.debug"
objcopy --strip-debug --add-gnu-debuglink="$tmp/obj.debug" "$tmp/full" "$tmp/obj"
for c in zlib zlib-gnu; do
	objcopy --compress-debug-sections=$c "$tmp/obj.debug" "$tmp/dbg-$c"
	pack split-$c "$tmp/obj" "$tmp/dbg-$c"
done
objcopy --compress-debug-sections=zlib "$tmp/full" "$tmp/inline-zlib"
pack inline-zlib "$tmp/inline-zlib"
objcopy --strip-all "$tmp/full" "$tmp/stripped"
objcopy --only-keep-debug --strip-debug "$tmp/full" "$tmp/mini"
if command -v xz > /dev/null; then
	xz -c "$tmp/mini" > "$tmp/mini.xz"
	objcopy --add-section .gnu_debugdata="$tmp/mini.xz" "$tmp/stripped" "$tmp/debugdata"
	pack debugdata "$tmp/debugdata"
	head -c 4M /dev/zero | xz -c > "$tmp/bomb.xz"
	objcopy --add-section .gnu_debugdata="$tmp/bomb.xz" "$tmp/stripped" "$tmp/debugdata-bomb"
	pack debugdata-bomb "$tmp/debugdata-bomb"
fi
rm -rf "$tmp"
cat /proc/$$/maps > "$out/maps/self-maps"
cat /proc/$$/smaps > "$out/maps/self-smaps"
cat > "$out/maps/go-cgo-smaps" <<'EOF'
00400000-00402000 r--p 00000000 fe:00 7                   /app/bin
Size:                  8 kB
Rss:                   8 kB
Pss:                   4 kB
Swap:                  0 kB
VmFlags: rd mr mw me sd
00402000-00404000 rw-p 00002000 fe:00 7                   /app/bin
Rss:                   8 kB
00404000-00410000 rw-p 00000000 00:00 0
Rss:                  48 kB
01000000-02000000 rw-p 00000000 00:00 0                   [heap]
Rss:                 100 kB
c000000000-c004400000 rw-p 00000000 00:00 0
Rss:               65536 kB
c004400000-c008000000 ---p 00000000 00:00 0
7f0000000000-7f0000433000 rw-p 00000000 00:00 0
Rss:                4300 kB
7f0000500000-7f0000501000 ---p 00000000 00:00 0
7f0000501000-7f0000d01000 rw-p 00000000 00:00 0
Rss:                  32 kB
7f0000e00000-7f0000e01000 rw-s 00000000 00:05 77          /memfd:buf (deleted)
Rss:             9999999 kB
7f0000f00000-7f0000f01000 rw-p 00000000 00:00 0           [anon: Go: heap]
7f0000f01000-7f0000f02000 rw-p 00000000 00:00 0           [anon: glibc: malloc arena]
7f34d0000000-7f34d0021000 rw-p 00000000 00:00 0
Rss:                 132 kB
7f34d0021000-7f34d4000000 ---p 00000000 00:00 0
7f4000000000-7f4000001000 r-xp 00000000 fe:00 8           /usr/lib/x86_64-linux-gnu/libc.so.6
7f4000001000-7f4000002000 rw-p 00001000 fe:00 8           /usr/lib/x86_64-linux-gnu/libc.so.6
7f4000002000-7f4000004000 rw-p 00000000 00:00 0
7f4000010000-7f4000011000 r-xp 00000000 fe:00 9           /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0           [stack]
Rss:                  16 kB
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0   [vsyscall]
EOF
touch "$stamp"
