#!/usr/bin/env bash
# Build the Lambda fixture of tests/fixtures/lambda: AWS's Lambda Runtime
# Interface Emulator and one aws-lambda-go handler (provided.al2023 style, so
# named "bootstrap"), at the versions pinned by its go.mod/go.sum:
#
#   DIR/aws-lambda-rie    the emulator (CGO_ENABLED=0, as upstream builds it)
#   DIR/bootstrap-cgo     the handler, CGO_ENABLED=1 (cgo resolver, getpwuid_r)
#   DIR/bootstrap-nocgo   the same source, CGO_ENABLED=0 (pure Go)
#
# Modules come from the Go module proxy (-mod=readonly: go.sum is not
# changed). Caches live in DIR/.cache (nothing depends on $HOME), so it works
# on a clean machine as root. Idempotent: nothing is built when the outputs
# are newer than the sources and this script.
#
# Usage: tools/build-lambda.sh DIR        (toolchain: $GO, default /usr/local/go/bin/go)
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../tests/fixtures/lambda" && pwd)
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
RIE_PKG=github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
OUTS="aws-lambda-rie bootstrap-cgo bootstrap-nocgo"

fail() { echo "build-lambda: $*" >&2; exit 1; }

uptodate() {
	local o
	for o in $OUTS; do
		[ -x "$DIR/$o" ] || return 1
		[ -z "$(find "$SRC" "$HERE/build-lambda.sh" -type f -newer "$DIR/$o" | head -n1)" ] || return 1
	done
}
uptodate && exit 0

GO=${GO:-/usr/local/go/bin/go}
if [ ! -x "$GO" ]; then
	GO=$(command -v go) || fail "no Go toolchain (install Go >= 1.26.6 in /usr/local/go or set \$GO)"
fi
export GOMODCACHE=$DIR/.cache/gomod GOCACHE=$DIR/.cache/go-build GOPATH=$DIR/.cache/gopath
# -trimpath: the same binaries whatever DIR is (no DIR/.cache paths in them).
export GOFLAGS="-buildvcs=false -mod=readonly -modcacherw -trimpath" GOTOOLCHAIN=local GOENV=off
mkdir -p "$GOMODCACHE" "$GOCACHE" "$GOPATH"

# build OUT CGO_ENABLED PKG [ARG...]: go build into OUT atomically.
build() {
	local out=$1 cgo=$2 pkg=$3; shift 3
	(cd "$SRC" && CGO_ENABLED=$cgo "$GO" build "$@" -o "$DIR/$out.tmp" "$pkg") ||
		fail "go build of $pkg (CGO_ENABLED=$cgo) failed; needs Go >= 1.26.6 ($("$GO" version)) and the module proxy (GOPROXY=$("$GO" env GOPROXY))"
	mv -f "$DIR/$out.tmp" "$DIR/$out"
}
(cd "$SRC" && "$GO" mod download) || fail "go mod download failed (GOPROXY=$("$GO" env GOPROXY))"
build aws-lambda-rie 0 "$RIE_PKG"
# lambda.norpc: drop the legacy go1.x net/rpc mode, as AWS recommends for
# provided.al2023 functions.
build bootstrap-cgo 1 ./handler -tags lambda.norpc
build bootstrap-nocgo 0 ./handler -tags lambda.norpc
"$GO" tool nm "$DIR/bootstrap-cgo" | grep -q ' x_cgo_init$' || fail "$DIR/bootstrap-cgo does not use cgo (is a C compiler installed?)"
echo "build-lambda: $DIR/{${OUTS// /,}}" >&2
