#!/usr/bin/env bash
# Stack growth (tests/fixtures/go/go-morestack), with every Go toolchain here,
# three ways: samples taken while runtime.newstack copies a goroutine's stack
# on the thread's system stack (runtime.copystack) must have the goroutine's
# frames above runtime.morestack, exactly. By default they come from the
# goroutine stack snapshot taken at sample time (curg's stack and g, read
# through g0 and m), with --no-bpf --morestack-probe from the record of that
# morestack call (tied to the sample by newstack's copy of m.morebuf); in
# both, >= 98% of those samples must read (a record the kernel throttled or
# that the ring lost leaves its sample truncated; the probe runs, ~100
# samples each, >= 96% over all six binaries and >= 90% each: on a 2-CPU
# VM where the snapshots read 100%, the probe tied 94.6-98.6% a binary and
# 97.2-98.6% over the six, its misses "[truncated: morestack]", never a
# wrong frame)
#   runtime.goexit;main.worker;main.deep;runtime.morestack;runtime.newstack;runtime.copystack
# With --no-bpf alone the goroutine's frames come from reads of the live
# process while newstack still runs, or the stack ends in a
# "[truncated: reason]" frame: never a wrong frame. The same runs check
# runtime.mcall (the goroutines park and exit all the time): the scheduler's
# frames on g0 continue, through the g that mcall pushed and its saved
# sched, into the parked goroutine's own frames, which must be one of the
# program's real paths into gopark (or a truncation). Where mcall ran
# runtime.goexit0 the goroutine has exited, and its g may already be a new
# goroutine's: those stacks are whole and begin at mcall, g0's root
# (runtime.mcall;runtime.goexit0;...), never truncated nor continued.
. "$(dirname "$0")/lib.sh"
require_perf
n=0
for bin in "$FIXTURES"/go/go-morestack-go1.*-*; do
	[ -x "$bin" ] || continue
	n=$((n + 1))
	for mode in bpf probe none; do
		out="$WORK/$(basename "$bin")-$mode.folded"
		case $mode in
		bpf) opt= ;;
		probe) opt="--no-bpf --morestack-probe" ;;
		none) opt=--no-bpf ;;
		esac
		"$CGOPROF" record -q $opt -d 3 -o "$out" -- "$bin" -d 5s ||
			fail "record failed on $bin"
		python3 - "$out" "$mode" "$WORK/probe-counts" <<'PY' || fail "$(basename "$out")"
import sys
want = ("runtime.goexit;main.worker;main.deep;runtime.morestack;"
        "runtime.newstack;runtime.copystack").split(";")
total = exact = truncated = 0
other, why = {}, {}
for line in open(sys.argv[1]):
    stack, count = line.rstrip("\n").rsplit(" ", 1)
    f = stack.split(";")[1:]
    if "runtime.copystack" not in f:
        continue
    i = f.index("runtime.copystack")
    if i < 2 or f[i - 1] != "runtime.newstack" or f[i - 2] != "runtime.morestack":
        continue  # a copy for another reason (a stack shrink in the GC)
    if i >= 3 and f[i - 3] != "main.deep" and not f[i - 3].startswith("[truncated: "):
        continue  # another function's stack growth (the runtime's init)
    c = int(count)
    total += c
    if f[:i + 1] == want:
        exact += c
    elif f[0].startswith("[truncated: ") and f[1:i + 1] == want[len(want) - i:]:
        truncated += c
        why[f[0]] = why.get(f[0], 0) + c
    else:
        k = ";".join(f[:i + 1])
        other[k] = other.get(k, 0) + c
# runtime.mcall: parks of main.main and main.worker, and their exits
parks = [p.split(";") for p in (
    "runtime.goexit;runtime.main;main.main;runtime.chansend1;runtime.chansend;runtime.gopark;runtime.mcall",
    "runtime.goexit;runtime.main;main.main;runtime.chanrecv1;runtime.chanrecv;runtime.gopark;runtime.mcall",
    "runtime.goexit;main.worker;runtime.chansend1;runtime.chansend;runtime.gopark;runtime.mcall",
    "runtime.goexit;main.worker;runtime.chanrecv1;runtime.chanrecv;runtime.gopark;runtime.mcall")]
mc_ok = mc_bad = exits = 0
for line in open(sys.argv[1]):
    stack, count = line.rstrip("\n").rsplit(" ", 1)
    f = stack.split(";")[1:]
    if "runtime.mcall" not in f:
        continue
    i = f.index("runtime.mcall")
    if f[i + 1:i + 2] == ["runtime.goexit0"]:
        if i == 0:
            exits += int(count)
        else:
            mc_bad += int(count)
            print("  mcall(goexit0), not rooted at mcall:", ";".join(f[:i + 2]))
        continue
    if f[0].startswith("[truncated: "):
        # what follows the truncation must still be real: a suffix
        if any("main." in x for x in f[1:i]) and not any(
                p[len(p) - i:] == f[1:i + 1] for p in parks if len(p) >= i):
            mc_bad += int(count)
            print("  mcall, not a real path:", ";".join(f[:i + 1]))
        continue
    if not any("main." in x for x in f[:i]):
        continue  # the runtime's own goroutines
    if f[:i + 1] in parks:
        mc_ok += int(count)
    else:
        mc_bad += int(count)
        print("  mcall, not a real path:", ";".join(f[:i + 1]))
mode = sys.argv[2]
print(f"{sys.argv[1]}: mcall: {mc_ok} samples through the parked goroutine, "
      f"{exits} of exits rooted at mcall, {mc_bad} wrong")
print(f"{sys.argv[1]}: {total} samples in copystack under morestack: "
      f"{exact} exact, {truncated} truncated {why or ''}")
for k, v in sorted(other.items(), key=lambda kv: -kv[1])[:3]:
    print(f"  other ({v}): {k}")
if mode == "bpf":
    ok = (total >= 30 and exact >= 0.98 * total and exact + truncated == total
          and mc_ok >= 10)
elif mode == "probe":
    # the probe runs catch ~100 copystack samples each (the trap slows
    # growth): >= 90% each, and >= 96% over all of them (below)
    ok = total >= 30 and exact >= 0.90 * total and exact + truncated == total
    with open(sys.argv[3], "a") as f:
        f.write(f"{exact} {total}\n")
else:
    ok = total >= 30 and exact + truncated == total and mc_ok >= 10
ok = ok and mc_bad == 0 and exits >= 10
sys.exit(0 if ok else 1)
PY
	done
done
[ "$n" -ge 6 ] || fail "only $n go-morestack binaries (want 3 variants x 2 toolchains)"
awk '{ e += $1; t += $2 } END {
	printf "probe runs: %d of %d copystack samples exact\n", e, t
	exit !(t >= 180 && e >= 0.96 * t) }' "$WORK/probe-counts" ||
	fail "probe runs: less than 96% of copystack samples exact"
