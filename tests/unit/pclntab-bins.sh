#!/bin/sh
# Builds the Go binaries tests/unit/test_pclntab.c reads into $1 (default
# build/pclntab-bins), from tests/fixtures/pclntab, with every toolchain
# available: Go 1.26 (/usr/local/go), Go 1.19 (/usr/lib/go-1.19) and, when
# the Go module proxy serves them, go1.17.13, go1.20.14, go1.21.13 and
# go1.22.12 (asked once; the answer is remembered in $1/toolchain-<ver>).
# Idempotent: a binary is rebuilt only when a fixture file is newer.
#
# Per toolchain <tag> (go126, go119, go117, ...), the binaries are
#   <tag>-default      cgo on (external linking)
#   <tag>-s            cgo on, -ldflags='-s -w'
#   <tag>-pie          cgo on, -buildmode=pie (unstripped twin of pie-s)
#   <tag>-pie-s        cgo on, -buildmode=pie -ldflags='-s -w'
#   <tag>-nocgo        CGO_ENABLED=0 (internal linking)
#   <tag>-nocgo-s      CGO_ENABLED=0, -ldflags='-s -w'
#   <tag>-nocgo-pie    CGO_ENABLED=0, -buildmode=pie
#   <tag>-nocgo-pie-s  CGO_ENABLED=0, -buildmode=pie -ldflags='-s -w'
# and, with the installed toolchains (Go 1.26, 1.19) only, as other linkers
# and libcs lay them out (cgo on, external linking):
#   <tag>-lld, -lld-s                 LLVM lld (clang), dynamic
#   <tag>-lld-pie, -lld-pie-s         lld, PIE (Go < 1.21 puts the table in
#                                     .data.rel.ro.gopclntab, which lld merges
#                                     into .data.rel.ro: no section of its own)
#   <tag>-lld-spie, -lld-spie-s       lld, static-pie (glibc)
#   <tag>-lld-based                   lld, PIE at a fixed image base (as
#                                     prelink leaves one), segments 2 MiB
#                                     apart (gaps in file and memory)
#   <tag>-gold-pie, -gold-pie-s       GNU gold, PIE
#   <tag>-musl, -musl-s               musl-gcc, static
# and <tag>.version holds the toolchain's version ("go1.26.8").
# Set CGOPROF_PCLNTAB_OFFLINE=1 to never ask the module proxy.
set -eu

here=$(cd "$(dirname "$0")/../.." && pwd)
src="$here/tests/fixtures/pclntab"
out=${1:-build/pclntab-bins}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The user's go env file may hold flags old toolchains reject
# (-buildvcs): ignore it and pass what each build needs explicitly.
export GOENV=off GOFLAGS= GOTOOLCHAIN=local
: "${GOPATH:=${HOME:-/root}/go}"
export GOPATH

newest_src=$(ls -t "$src"/*.go "$src"/go.mod "$0" | head -n 1)

# proxy_goroot VERSION: prints the GOROOT of a toolchain fetched through the
# module proxy, or nothing. Asks the network at most once per $out.
proxy_goroot()
{
	mark="$out/toolchain-$1"
	if [ ! -f "$mark" ]; then
		root=
		if [ "${CGOPROF_PCLNTAB_OFFLINE:-0}" != 1 ] &&
		   [ -x /usr/local/go/bin/go ]; then
			root=$(cd "$src" && GOTOOLCHAIN="$1" \
				timeout 600 /usr/local/go/bin/go env GOROOT \
				2>/dev/null) || root=
		fi
		echo "${root:-unavailable}" >"$mark"
	fi
	root=$(cat "$mark")
	if [ "$root" != unavailable ] && [ -x "$root/bin/go" ]; then
		echo "$root"
	fi
}

# build TAG GO VARIANT CGO BUILDFLAGS...   ($cc: the C compiler, default cc)
build()
{
	tag=$1 go=$2 variant=$3 cgo=$4
	shift 4
	bin="$out/$tag-$variant"
	if [ -f "$bin" ] && [ "$bin" -nt "$newest_src" ]; then
		return 0
	fi
	echo "pclntab-bins: $tag-$variant" >&2
	(cd "$src" && CC=${cc:-cc} CGO_ENABLED=$cgo "$go" build "$@" -o "$bin.tmp" .)
	mv -f "$bin.tmp" "$bin"
}

# toolchain TAG GO: builds every variant with one toolchain.
toolchain()
{
	tag=$1 go=$2
	"$go" version | awk '{ print $3 }' >"$out/$tag.version"
	vcs=
	case $(cat "$out/$tag.version") in
	go1.1[0-7]*) ;;
	*) vcs=-buildvcs=false ;;
	esac
	build "$tag" "$go" default 1 $vcs
	build "$tag" "$go" s 1 $vcs -ldflags='-s -w'
	build "$tag" "$go" pie 1 $vcs -buildmode=pie
	build "$tag" "$go" pie-s 1 $vcs -buildmode=pie -ldflags='-s -w'
	build "$tag" "$go" nocgo 0 $vcs
	build "$tag" "$go" nocgo-s 0 $vcs -ldflags='-s -w'
	build "$tag" "$go" nocgo-pie 0 $vcs -buildmode=pie
	build "$tag" "$go" nocgo-pie-s 0 $vcs -buildmode=pie -ldflags='-s -w'
}

# layouts TAG GO: the same program as other linkers and libcs lay it out.
layouts()
{
	tag=$1 go=$2 vcs=-buildvcs=false
	ext='-linkmode=external -extldflags'
	cc=clang
	build "$tag" "$go" lld 1 $vcs -ldflags="$ext=-fuse-ld=lld"
	build "$tag" "$go" lld-s 1 $vcs -ldflags="-s -w $ext=-fuse-ld=lld"
	build "$tag" "$go" lld-pie 1 $vcs -buildmode=pie -ldflags="$ext=-fuse-ld=lld"
	build "$tag" "$go" lld-pie-s 1 $vcs -buildmode=pie \
		-ldflags="-s -w $ext=-fuse-ld=lld"
	build "$tag" "$go" lld-spie 1 $vcs -buildmode=pie \
		-ldflags="$ext '-fuse-ld=lld -static-pie'"
	build "$tag" "$go" lld-spie-s 1 $vcs -buildmode=pie \
		-ldflags="-s -w $ext '-fuse-ld=lld -static-pie'"
	build "$tag" "$go" lld-based 1 $vcs -buildmode=pie \
		-ldflags="$ext '-fuse-ld=lld -Wl,--image-base=0x40000000 -Wl,-z,max-page-size=0x200000 -Wl,-z,separate-code'"
	cc=gcc
	build "$tag" "$go" gold-pie 1 $vcs -buildmode=pie -ldflags="$ext=-fuse-ld=gold"
	build "$tag" "$go" gold-pie-s 1 $vcs -buildmode=pie \
		-ldflags="-s -w $ext=-fuse-ld=gold"
	cc=musl-gcc
	build "$tag" "$go" musl 1 $vcs -ldflags="$ext=-static"
	build "$tag" "$go" musl-s 1 $vcs -ldflags="-s -w $ext=-static"
	cc=
}

status=0
for pair in go126:/usr/local/go go119:/usr/lib/go-1.19; do
	tag=${pair%%:*} root=${pair#*:}
	if [ -x "$root/bin/go" ]; then
		toolchain "$tag" "$root/bin/go"
		layouts "$tag" "$root/bin/go"
	else
		echo "pclntab-bins: no $root/bin/go" >&2
		status=1
	fi
done
for pair in go117:go1.17.13 go120:go1.20.14 go121:go1.21.13 go122:go1.22.12; do
	tag=${pair%%:*} ver=${pair#*:}
	root=$(proxy_goroot "$ver")
	if [ -n "$root" ]; then
		toolchain "$tag" "$root/bin/go"
	else
		echo "pclntab-bins: $ver not available from the module proxy" >&2
	fi
done
exit $status
