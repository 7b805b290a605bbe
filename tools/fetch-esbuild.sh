#!/usr/bin/env bash
# Fetch esbuild's prebuilt linux-x64 binary (a shipped, stripped, static Go
# 1.26 program nobody here built) from the npm package @esbuild/linux-x64, as a
# fixture for cgoprof: DIR/esbuild. Idempotent: nothing is fetched when
# DIR/esbuild already reports the wanted version.
#
# Usage: tools/fetch-esbuild.sh DIR        (version: $ESBUILD_VERSION, default 0.28.2)
# Then:  tests/fixtures/esbuild-work.sh DIR/esbuild [DURATION]  (a workload)
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
DIR=$1
VERSION=${ESBUILD_VERSION:-0.28.2}
mkdir -p "$DIR"
BIN=$DIR/esbuild
if [ -x "$BIN" ] && [ "$("$BIN" --version 2>/dev/null)" = "$VERSION" ]; then
	exit 0
fi
command -v npm >/dev/null || { echo "fetch-esbuild: npm is needed (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# npm pack downloads the package tarball without installing anything
# (the cache goes to the temp dir, not $HOME).
(cd "$tmp" && npm pack --silent --cache "$tmp/npm-cache" "@esbuild/linux-x64@$VERSION" >/dev/null)
tar -xzf "$tmp"/esbuild-linux-x64-"$VERSION".tgz -C "$tmp" package/bin/esbuild
got=$("$tmp/package/bin/esbuild" --version)
[ "$got" = "$VERSION" ] || { echo "fetch-esbuild: got version $got, wanted $VERSION" >&2; exit 1; }
install -m 0755 "$tmp/package/bin/esbuild" "$BIN.tmp"
mv -f "$BIN.tmp" "$BIN"
echo "fetch-esbuild: $BIN ($VERSION)" >&2
