#!/usr/bin/env bash
# Installs what building, the demo or the tests need, with apt-get (Debian):
#   tools/install-deps.sh demo    build cgoprof and run `make demo`
#   tools/install-deps.sh check   everything the tests use (the default)
# Idempotent: installs only what is missing; run as root or with sudo.
set -euo pipefail
what=${1:-check}
# building cgoprof (clang, llvm's llvm-strip, bpftool and libbpf-dev build
# the goroutine snapshot program profiler/gosnap.bpf.c and its skeleton),
# and the demo (a Go program with cgo: Go, gcc)
pkgs=(gcc make pkg-config libpfm4-dev libdw-dev libelf-dev libunwind-dev libbpf-dev
      clang llvm bpftool zlib1g-dev golang-1.19-go)
case $what in
demo) ;;
check)
	# the tests: unit tests, fixtures built by other toolchains and libcs,
	# oracles, real programs, the browser and pprof checks, the Lambda
	# emulator (curl invokes it, unshare gives it namespaces, pkill stops it)
	pkgs+=(linux-perf libcmocka-dev python3 libc6-dbg libsqlite3-dev
	       golang-github-mattn-go-sqlite3-dev protobuf-compiler chromium
	       libclang-rt-14-dev lld binutils musl-tools elfutils restic rclone hugo
	       curl util-linux procps)
	;;
*)
	echo "usage: tools/install-deps.sh [demo|check]" >&2
	exit 64
	;;
esac
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	echo "installing: ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# npm (for the browser test's playwright-core) comes with the machine's
# Node.js; Debian's npm package only where there is none.
if [ "$what" = check ] && ! command -v npm >/dev/null; then
	DEBIAN_FRONTEND=noninteractive ${sudo:-} apt-get install -y -qq npm
fi
# A current Go beside Debian's 1.19, when the machine has one, is used too.
if [ ! -x /usr/local/go/bin/go ] && ! command -v go >/dev/null; then
	echo "note: only Go 1.19 (Debian) is available; fixtures build with it alone"
fi
exit 0
