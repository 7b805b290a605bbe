#!/usr/bin/env bash
# Hostile ELF files (issue 16, items 2-4). cgoprof runs as root on files
# somebody else controls; none of these may hang it, blow its memory or kill
# it, and the recording goes on with the other frames named:
#  - debug files that are FIFOs: a .gnu_debuglink next to the library, the
#    build-id path under /usr/lib/debug, a debuginfod cache entry; with and
#    without a SIGTERM that must end the run;
#  - decompression bombs: 512 MiB of zeros as xz in .gnu_debugdata, and as a
#    zlib SHF_COMPRESSED .debug_info (sizes true, far past the budget);
#  - a library truncated while the target maps it, between the first sample
#    in it (the symbolizer opens it then) and the end of the recording.
# Every step that could hang runs under timeout.
. "$(dirname "$0")/lib.sh"
require_perf
command -v objcopy > /dev/null || skip "objcopy is missing"
command -v xz > /dev/null || skip "xz is missing"
T=${T0900_TIMEOUT:-60}
# T0900_CASES: a subset of the cases, to see each one alone
want() { [[ " ${T0900_CASES:-found fifo term xz zlib trunc} " == *" $1 "* ]]; }

# The target: spins in lib_spin (a dlopened library) for $2 seconds, says
# "phase2", then spins in exe_spin (the executable) for $3 seconds.
cat > "$WORK/lib.c" << 'EOF'
#include <time.h>
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
/* static: named only by .symtab, DWARF or MiniDebugInfo */
__attribute__((noinline)) static double lib_inner(double secs)
{
	double t0 = now(), acc = 0;
	while (now() - t0 < secs)
		for (int i = 0; i < 100000; i++)
			acc += i * 0.5;
	return acc;
}
__attribute__((noinline)) double lib_spin(double secs)
{
	return lib_inner(secs) + 1;
}
EOF
cat > "$WORK/prog.c" << 'EOF'
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
__attribute__((noinline)) double exe_spin(double secs)
{
	double t0 = now(), acc = 0;
	while (now() - t0 < secs)
		for (int i = 0; i < 100000; i++)
			acc += i * 0.25;
	return acc;
}
int main(int argc, char **argv)
{
	void *h = dlopen(argv[1], RTLD_NOW);
	double (*spin)(double);
	if (!h || !(spin = (double (*)(double))dlsym(h, "lib_spin"))) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 2;
	}
	printf("ready %d\n", 0);
	fflush(stdout);
	spin(atof(argv[2]));
	printf("phase2\n");
	fflush(stdout);
	/* _exit: no destructor of the library runs (it may be truncated) */
	_exit(exe_spin(atof(argv[3])) == 0.125);
}
EOF
cc -O1 -g -o "$WORK/prog" "$WORK/prog.c" -ldl
buildid() { # random, so that no real debug file matches
	od -An -N20 -tx1 /dev/urandom | tr -d ' \n'
}
mklib() { # OUT [cc flags...]
	local out=$1; shift
	cc -O1 -g -shared -fPIC "$@" -o "$out" "$WORK/lib.c"
}

# Records PROG LIB SECS_LIB SECS_EXE under timeout, into $WORK/NAME.*, with
# the peak RSS of cgoprof (KiB) in $WORK/NAME.rss.
run() { # NAME LIB SECS_LIB SECS_EXE
	local name=$1 rc=0
	timeout -k 5 "$T" python3 -c '
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
open(sys.argv[1], "w").write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)' "$WORK/$name.rss" "$CGOPROF" record --tid -o "$WORK/$name.folded" -- \
		"$WORK/prog" "$2" "$3" "$4" > "$WORK/$name.out" 2> "$WORK/$name.err" || rc=$?
	cat "$WORK/$name.err"
	[ $rc != 124 ] && [ $rc != 137 ] || fail "$name: cgoprof hung (killed after $T s)"
	[ $rc = 0 ] || fail "$name: cgoprof exited with $rc"
	assert_written "$WORK/$name.folded"
	grep -q 'main;exe_spin' "$WORK/$name.folded" || fail "$name: exe_spin not named"
}
named_lib() { # NAME
	grep -q ';lib_spin' "$WORK/$1.folded" || fail "$1: lib_spin not named"
}

# --- cgoprof finds debug files where libdwfl did: beside the file (by
# build id, or by the debuglink's CRC without one), under
# /usr/lib/debug/.build-id, in debuginfod's cache. The inline frame
# hot_helper comes only from the debug file's DWARF.
hot_path='_start;__libc_start_main;__libc_start_call_main;main;main_loop;hot_helper;hot_leaf'
hot_run() { # NAME HOT [env...]
	local name=$1 hot=$2; shift 2
	env "$@" timeout -k 5 "$T" "$CGOPROF" record --tid --annotate -o "$WORK/$name.folded" -- \
		"$hot" main 1 > "$WORK/$name.out" 2> "$WORK/$name.err" ||
		{ cat "$WORK/$name.err"; fail "$name: cgoprof exited with $?"; }
}
hot_build() { # DIR [ld flags...]
	local dir=$1; shift
	mkdir -p "$dir"
	cc -O2 -g -fomit-frame-pointer -shared -fPIC -o "$dir/libhot.so" "$top/tests/fixtures/c/libhot.c"
	cc -O2 -g -fomit-frame-pointer -o "$dir/hot" "$top/tests/fixtures/c/hot.c" -L"$dir" -lhot \
		-lpthread -Wl,-rpath,"$dir" "$@"
	objcopy --only-keep-debug "$dir/hot" "$dir/hot.debug"
	objcopy --strip-debug "$dir/hot"
}
if want found; then
	hot_build "$WORK/found-link" -Wl,--build-id=0x"$(buildid)"
	objcopy --add-gnu-debuglink="$WORK/found-link/hot.debug" "$WORK/found-link/hot"
	hot_run found-debuglink "$WORK/found-link/hot"
	$STACKCHECK "$WORK/found-debuglink.folded" --thread main --leaf hot_leaf --path "$hot_path"

	hot_build "$WORK/found-crc" -Wl,--build-id=none
	objcopy --add-gnu-debuglink="$WORK/found-crc/hot.debug" "$WORK/found-crc/hot"
	hot_run found-crc "$WORK/found-crc/hot"
	$STACKCHECK "$WORK/found-crc.folded" --thread main --leaf hot_leaf --path "$hot_path"
	# a debug file that is not the one linked (its CRC differs): not used
	echo >> "$WORK/found-crc/hot.debug"
	hot_run found-badcrc "$WORK/found-crc/hot"
	! grep -q 'hot_helper' "$WORK/found-badcrc.folded" || fail "found-badcrc: a debug file of the wrong CRC was used"
	grep -q 'main_loop;hot_leaf' "$WORK/found-badcrc.folded" || fail "found-badcrc: frames not named"

	id=$(buildid)
	hot_build "$WORK/found-dcache" -Wl,--build-id=0x"$id"
	mkdir -p "$WORK/dcache-found/$id"
	mv "$WORK/found-dcache/hot.debug" "$WORK/dcache-found/$id/debuginfo"
	hot_run found-debuginfod "$WORK/found-dcache/hot" DEBUGINFOD_CACHE_PATH="$WORK/dcache-found" \
		DEBUGINFOD_URLS=http://127.0.0.1:9
	$STACKCHECK "$WORK/found-debuginfod.folded" --thread main --leaf hot_leaf --path "$hot_path"

	id=$(buildid)
	hot_build "$WORK/found-bid" -Wl,--build-id=0x"$id"
	bid_found=/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
	if mkdir -p "${bid_found%/*}" 2> /dev/null && cp "$WORK/found-bid/hot.debug" "$bid_found" 2> /dev/null; then
		rc=0
		hot_run found-buildid "$WORK/found-bid/hot" || rc=$?
		rm -f "$bid_found"
		rmdir "${bid_found%/*}" 2> /dev/null || true
		[ $rc = 0 ] || exit $rc
		$STACKCHECK "$WORK/found-buildid.folded" --thread main --leaf hot_leaf --path "$hot_path"
	else
		echo "note: /usr/lib/debug is not writable: the build-id path is not tried"
	fi
fi

# --- 2. debug files that are FIFOs
mkdir -p "$WORK/fifo"
if want fifo || want term; then
lib="$WORK/fifo/libfifo.so"
mklib "$lib"
objcopy --only-keep-debug "$lib" "$WORK/fifo/libfifo.debug"
objcopy --strip-debug "$lib"
objcopy --add-gnu-debuglink="$WORK/fifo/libfifo.debug" "$lib"
rm "$WORK/fifo/libfifo.debug"
mkfifo "$WORK/fifo/libfifo.debug"
fi
if want fifo; then
run fifo-debuglink "$lib" 1 1
named_lib fifo-debuglink

# the build-id path, and a debuginfod cache entry (libdwfl asks debuginfod
# when DEBUGINFOD_URLS is set; the cache is read first)
id=$(buildid)
lib="$WORK/fifo/libbid.so"
mklib "$lib" -Wl,--build-id=0x"$id"
objcopy --strip-debug "$lib"
bid_dir=/usr/lib/debug/.build-id/${id:0:2}
if mkdir -p "$bid_dir" 2> /dev/null && mkfifo "$bid_dir/${id:2}.debug" 2> /dev/null; then
	trap 'rm -f "$bid_dir/${id:2}.debug"; rmdir "$bid_dir" 2>/dev/null || true; kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
	run fifo-buildid "$lib" 1 1
	named_lib fifo-buildid
	rm -f "$bid_dir/${id:2}.debug"
else
	echo "note: /usr/lib/debug is not writable: the build-id path is not tried"
fi
id=$(buildid)
lib="$WORK/fifo/libdebuginfod.so"
mklib "$lib" -Wl,--build-id=0x"$id"
objcopy --strip-debug "$lib"
mkdir -p "$WORK/dcache/$id"
mkfifo "$WORK/dcache/$id/debuginfo"
DEBUGINFOD_CACHE_PATH="$WORK/dcache" DEBUGINFOD_URLS=http://127.0.0.1:9 \
	run fifo-debuginfod "$lib" 1 1
named_lib fifo-debuginfod
fi

# a SIGTERM ends the run whatever the symbolizer is doing
if want term; then
lib="$WORK/fifo/libfifo.so"
"$CGOPROF" record --tid -o "$WORK/term.folded" -- "$WORK/prog" "$lib" 30 0 \
	> "$WORK/term.out" 2> "$WORK/term.err" &
cg=$!
sleep 2
kill -TERM $cg
for _ in $(seq 150); do kill -0 $cg 2> /dev/null || break; sleep 0.1; done
if kill -0 $cg 2> /dev/null; then
	kill -KILL $cg
	fail "SIGTERM did not end cgoprof within 15 s"
fi
wait $cg || true
cat "$WORK/term.err"
assert_written "$WORK/term.folded"
named_lib term
fi

# --- 3. decompression bombs (the budget: max(64 MiB, 8x the file))
# 512 MiB of zeros as xz in .gnu_debugdata of a library without .symtab;
# a real MiniDebugInfo still names the static function
if want xz; then
lib="$WORK/libmini.so"
mklib "$lib"
objcopy --only-keep-debug --strip-debug "$lib" "$WORK/mini"
objcopy --strip-all "$lib"
xz -c "$WORK/mini" > "$WORK/mini.xz"
objcopy --add-section .gnu_debugdata="$WORK/mini.xz" "$lib"
run xz-mini "$lib" 1 0.5
grep -q ';lib_spin;lib_inner' "$WORK/xz-mini.folded" || fail "xz-mini: MiniDebugInfo not used"
lib="$WORK/libxz.so"
mklib "$lib"
objcopy --strip-all "$lib"
head -c 512M /dev/zero | xz -0 -T1 -c > "$WORK/bomb.xz"
objcopy --add-section .gnu_debugdata="$WORK/bomb.xz" "$lib"
run xz-bomb "$lib" 1.5 0.5
named_lib xz-bomb
rss=$(cat "$WORK/xz-bomb.rss")
echo "xz bomb: cgoprof peak RSS $((rss / 1024)) MiB"
[ "$rss" -lt $((256 * 1024)) ] || fail "xz bomb: cgoprof peak RSS $((rss / 1024)) MiB"
grep -q 'gnu_debugdata' "$WORK/xz-bomb.err" || fail "xz bomb: no warning"
fi

# .debug_info as a zlib SHF_COMPRESSED section, 512 MiB of zeros (true size)
if want zlib; then
lib="$WORK/libzlib.so"
mklib "$lib"
python3 - "$lib" << 'EOF'
import struct, sys, zlib
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
shoff, = struct.unpack_from("<Q", data, 0x28)
shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
def sh(i):
    return shoff + i * shentsize
stroff, = struct.unpack_from("<Q", data, sh(shstrndx) + 0x18)
size = 512 << 20
c = zlib.compressobj(9)
z = bytes(1 << 24)
blob = b"".join(c.compress(z) for _ in range(size >> 24)) + c.flush()
blob = struct.pack("<IIQQ", 1, 0, size, 1) + blob  # Elf64_Chdr, ELFCOMPRESS_ZLIB
for i in range(shnum):
    name, = struct.unpack_from("<I", data, sh(i))
    end = data.index(b"\0", stroff + name)
    if bytes(data[stroff + name:end]) == b".debug_info":
        while len(data) % 8:
            data.append(0)
        flags, = struct.unpack_from("<Q", data, sh(i) + 0x08)
        struct.pack_into("<Q", data, sh(i) + 0x08, flags | 0x800)  # SHF_COMPRESSED
        struct.pack_into("<QQ", data, sh(i) + 0x18, len(data), len(blob))
        data += blob
        break
else:
    sys.exit("no .debug_info")
open(path, "wb").write(data)
EOF
run zlib-bomb "$lib" 1.5 0.5
named_lib zlib-bomb
rss=$(cat "$WORK/zlib-bomb.rss")
echo "zlib bomb: cgoprof peak RSS $((rss / 1024)) MiB"
[ "$rss" -lt $((256 * 1024)) ] || fail "zlib bomb: cgoprof peak RSS $((rss / 1024)) MiB"
grep -q 'debug_info' "$WORK/zlib-bomb.err" || fail "zlib bomb: no warning"
fi

# --- 4. a library truncated while mapped: after the first samples in it
# (the symbolizer has opened it), while the target runs its executable
if want trunc; then
lib="$WORK/libtrunc.so"
mklib "$lib"
timeout -k 5 "$T" "$CGOPROF" record --tid -o "$WORK/trunc.folded" -- \
	"$WORK/prog" "$lib" 1.5 2 > "$WORK/trunc.out" 2> "$WORK/trunc.err" &
cg=$!
for _ in $(seq 100); do
	grep -q '^phase2' "$WORK/trunc.out" 2> /dev/null && break
	sleep 0.05
done
grep -q '^phase2' "$WORK/trunc.out" || fail "truncate: the target did not reach phase 2"
truncate -s 4096 "$lib"
rc=0
wait $cg || rc=$?
cat "$WORK/trunc.err"
[ $rc != 124 ] && [ $rc != 137 ] || fail "truncate: cgoprof hung"
[ $rc = 0 ] || fail "truncate: cgoprof exited with $rc (SIGBUS is 135)"
assert_written "$WORK/trunc.folded"
grep -q 'main;exe_spin' "$WORK/trunc.folded" || fail "truncate: exe_spin not named"
grep -q 'libtrunc.so' "$WORK/trunc.folded" || grep -q ';lib_spin' "$WORK/trunc.folded" ||
	fail "truncate: no frame in the library"
fi
echo "ok"
