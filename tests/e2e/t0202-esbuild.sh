#!/usr/bin/env bash
# A shipped stripped Go binary of a recent release nobody here built:
# esbuild from the npm package @esbuild/linux-x64 (Go 1.26, static,
# stripped), bundling a generated project again and again. Of the samples
# in esbuild processes, at least 99% must be fully symbolized (every user
# frame named), and at least 98% must reach a root ("complete" or
# "reconstructed"); the rest end in a "[truncated: reason]" frame. Twice:
# with goroutine stack snapshots (the default), and with --no-bpf
# --morestack-probe (95% there): esbuild's goroutines grow their stacks
# thousands of times a second, and without either the samples in
# runtime.copystack (7% here) end "[truncated: morestack]" (README: the
# probe's cost). The snapshots must copy a goroutine in copystack whole:
# its frame pointers lead into the old stack until copystack is done, and
# following them left 5.4% of the samples "[truncated: stack copy
# exhausted]".
. "$(dirname "$0")/lib.sh"
require_perf
"$top/tools/fetch-esbuild.sh" "$FIXTURES/esbuild" || fail "could not fetch esbuild from npm"
bin="$FIXTURES/esbuild/esbuild"
"$top/tests/fixtures/esbuild-work.sh" "$bin" -n 1 > /dev/null  # generate the project once
for opt in "" "--no-bpf --morestack-probe"; do
echo "== cgoprof record ${opt:-(default)}"
"$CGOPROF" record -q $opt --pid-root -d 4 -o "$WORK/e.folded" -o "$WORK/e.json" \
	-- "$top/tests/fixtures/esbuild-work.sh" "$bin" 6
need=0.98
[ -n "$opt" ] && need=0.95
python3 - "$WORK/e.folded" "${CGOPROF_ESBUILD_MIN:-$need}" <<'PY' || fail "esbuild ${opt:-(default)}"
import os, re, sys
total = named = complete = 0
unnamed = {}
for line in open(sys.argv[1]):
    stack, count = line.rstrip("\n").rsplit(" ", 1)
    frames = stack.split(";")
    if not frames[0].startswith("esbuild-"):
        continue
    c = int(count)
    total += c
    user = [f for f in frames[1:] if not re.match(r"^[a-z_0-9.]+$", f) or "." in f or f.startswith("runtime")]
    if not any(f.startswith("[") and f.endswith("]") and not f.startswith("[truncated") for f in frames[1:]):
        named += c
    else:
        k = next(f for f in frames[1:] if f.startswith("[") and not f.startswith("[truncated"))
        unnamed[k] = unnamed.get(k, 0) + c
    if not frames[1].startswith("[truncated"):
        complete += c
print(f"esbuild: {total} samples, {100*named/max(total,1):.2f}% fully symbolized, "
      f"{100*complete/max(total,1):.2f}% complete")
for k, v in sorted(unnamed.items(), key=lambda kv: -kv[1])[:5]:
    print(f"  unnamed ({v}): {k}")
need = float(sys.argv[2])
sys.exit(0 if total >= 500 and named >= 0.99 * total and complete >= need * total else 1)
PY
done
