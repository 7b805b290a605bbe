#!/usr/bin/env bash
# The SVG flame graph in a real browser: test_svg writes its demo profile (as a
# flame graph and as an icicle graph) and a 100 000-stack one; all must parse
# as XML, the big one stay under 3 MB, and headless Chromium must open them
# without script errors, show details on hover, zoom on click, reset, search
# (Ctrl-F and script) and take a screenshot of the demo.
#   usage: t0400-svg-browser.sh [DEMO.svg [SCREENSHOT.png]]
#   (default: a temporary SVG and $BUILD/flamegraph.png; the README's
#   docs/flamegraph.png is a copy of one)
# Needs chromium (Debian) and playwright-core (npm, cached outside the repo);
# installs them when missing and it can. Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
unit=$BUILD/tests/test_svg
npm_dir=${CGOPROF_NPM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/cgoprof-npm}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
skip() {
	if [ "${CGOPROF_REQUIRE_PERF:-0}" = 1 ]; then
		fail "$* (CGOPROF_REQUIRE_PERF=1: no skipping)"
	fi
	echo "SKIP: $*"
	exit 77
}

[ -x "$unit" ] || fail "'$unit' is missing: run 'make units' first"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
svg=${1:-$tmp/demo.svg}
png=${2:-${BUILD:-build}/flamegraph.png}
big=$tmp/big.svg
icicle=$tmp/icicle.svg

# 1. the files, from the unit test's profiles
CGOPROF_SVG_OUT=$svg CGOPROF_SVG_BIG_OUT=$big CGOPROF_SVG_ICICLE_OUT=$icicle "$unit" >"$tmp/unit.log" 2>&1 ||
	{ cat "$tmp/unit.log"; fail "'$unit' failed"; }
[ -s "$svg" ] || fail "'$unit' wrote no '$svg'"
[ -s "$big" ] || fail "'$unit' wrote no '$big'"
[ -s "$icicle" ] || fail "'$unit' wrote no '$icicle'"

size=$(stat -c %s "$big")
echo "100 000-stack SVG: $size bytes"
[ "$size" -lt $((3 * 1024 * 1024)) ] || fail "100 000-stack SVG is $size bytes (>= 3 MB)"

if command -v python3 >/dev/null; then
	for f in "$svg" "$icicle" "$big"; do
		python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$f" ||
			fail "'$f' is not well-formed XML"
	done
	echo "ok   the SVGs parse as XML"
else
	echo "note: no python3, XML parse check left to the unit test"
fi

# 2. the browser and its driver
# (installed by tools/install-deps.sh, which `make check` runs)
[ -x /usr/bin/chromium ] || skip "no /usr/bin/chromium (Debian package chromium)"
command -v node >/dev/null || skip "no node"
if [ ! -f "$npm_dir/node_modules/playwright-core/package.json" ]; then
	command -v npm >/dev/null || skip "no npm to install playwright-core"
	mkdir -p "$npm_dir"
	npm install --prefix "$npm_dir" --no-audit --no-fund --silent playwright-core >"$tmp/npm.log" 2>&1 ||
		{ tail -5 "$tmp/npm.log"; skip "playwright-core could not be installed into '$npm_dir'"; }
fi

# 3. drive it
NODE_PATH=$npm_dir/node_modules CHROMIUM=/usr/bin/chromium \
	node tests/e2e/svg-browser.js "$svg" "$png" "$big" "$icicle" || fail "browser checks failed"
echo "PASS: t0400-svg-browser (screenshot: $png)"
