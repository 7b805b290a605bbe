#!/usr/bin/env bash
# `make demo`: builds the bundled cgo program (demo/), profiles it with
# cgoprof for a few seconds and writes a flame graph, a pprof profile and
# folded stacks to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
go=/usr/local/go/bin/go
[ -x "$go" ] || go=$(command -v go || echo /usr/lib/go-1.19/bin/go)
mkdir -p "$BUILD/demo" out
echo "building the demo program with $("$go" version)"
(cd demo && GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=1 \
	GOCACHE="$PWD/../$BUILD/demo/.cache" "$go" build -o "../$BUILD/demo/cgo-demo" .)
echo "profiling it: cgoprof record -d 3 -- $BUILD/demo/cgo-demo -d 4s"
"$BUILD/cgoprof" record -d 3 --annotate -o out/demo.svg -o out/demo.pb.gz \
	-o out/demo.folded -- "$BUILD/demo/cgo-demo" -d 4s
cat <<MSG

Done. Open:
  out/demo.svg       in a browser (hover, click to zoom, Ctrl-F to search)
  out/demo.pb.gz     go tool pprof -http=: out/demo.pb.gz   (or -top)
  out/demo.folded    flamegraph.pl out/demo.folded > demo-fg.svg
MSG
