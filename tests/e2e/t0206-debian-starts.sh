#!/usr/bin/env bash
# Cold starts of Debian's packaged Go programs with cgo (restic, rclone,
# hugo: stripped, dynamically linked, built by Debian's Go), `version` and
# `--help`, the samples a start-up profile is made of: the exec before the
# new image runs, the dynamic loader, new threads' first instructions
# (clone3's child), the runtime's stack switches (systemstack, morestack,
# mcall) and package initialisation that recurses deeper than the
# sample's stack copy (regexp compilation). For each program, >= 1000
# samples of its own and >= 98% of them reach a thread root: not
# truncated, and no more than 1% of all stacks need reads of the live
# process. Samples in execve after the old image is gone have the pseudo
# frame [exec] as their user part (some must, over the three programs: how
# many fall there depends on the binary and the machine: in six seconds
# of starts, 1 for restic and hugo against 9 for rclone in one run; none
# for restic and hugo with the fixed counts of starts before), and none
# of the exec's samples is truncated, but for those taken after the
# kernel released a vfork child's parent (mm_release), which then runs on
# the stack that the child's user part is read from. Each program starts
# again and again for a few seconds and at least a minimum number of
# times: counts alone gave a third of the samples on a faster machine. A program that is missing fails the test
# (tools/install-deps.sh installs them).
. "$(dirname "$0")/lib.sh"
require_perf
# starts of each program per recording, at least: ~100 samples each at
# 999 Hz for rclone and hugo, ~60 for restic, on a slow machine; and for
# START_S seconds at least
declare -A reps=([restic]=16 [rclone]=5 [hugo]=6)
START_S=6
for prog in restic rclone hugo; do
	command -v "$prog" >/dev/null ||
		fail "$prog is not installed (tools/install-deps.sh installs it)"
done
bad=0
for prog in restic rclone hugo; do
	out="$WORK/$prog"
	"$CGOPROF" record -q -o "$out.folded" -o "$out.json" -- bash -c \
		"i=0; end=\$((SECONDS + $START_S))
		 while [ \$i -lt ${reps[$prog]} ] || [ \$SECONDS -lt \$end ]; do
			$prog version; $prog --help; i=\$((i + 1))
		 done >/dev/null" ||
		fail "record failed on $prog"
	python3 - "$out.folded" "$out.json" "$prog" "$WORK/exec-roots" <<'PY' || bad=$((bad + 1))
import collections, json, sys

folded, summary, prog, roots_file = sys.argv[1:]
total = collections.Counter()
reasons = collections.defaultdict(collections.Counter)
exec_roots = exec_truncated = exec_raced = exec_elsewhere = deep = 0
VFORK_RELEASED = {"mm_release", "exec_mm_release", "complete_vfork_done"}
for line in open(folded):
    stack, count = line.rstrip("\n").rsplit(" ", 1)
    count = int(count)
    f = stack.split(";")
    comm = f[0]
    total[comm] += count
    truncated = f[1].startswith("[truncated: ")
    if truncated:
        reasons[comm][f[1][12:-1]] += count
    in_exec = any(x.startswith(("do_execveat_common", "__x64_sys_execve"))
                  for x in f)
    if f[1] == "[exec]":
        exec_roots += count
        if not in_exec:
            exec_elsewhere += count
            print(f"  [exec] outside execve: {stack}")
    elif in_exec and truncated and any(x in VFORK_RELEASED for x in f):
        # os/exec's vfork child: from mm_release on (it completes
        # vfork_done) the parent runs again on the stack the child's
        # user part is read from, so that part may be gone
        exec_raced += count
        print(f"  execve sample after the vfork parent's release, truncated: {stack}")
    elif in_exec and truncated:
        exec_truncated += count
        print(f"  execve sample truncated: {stack}")
    if not truncated and f[1] == "runtime.goexit" and len(f) > 300:
        deep += count
d = json.load(open(summary))
n = total[prog]
share = 100 * (n - sum(reasons[prog].values())) / max(1, n)
recon = 100 * d["stacks"]["reconstructed"] / max(1, d["samples"])
print(f"{prog:7} samples {n:5}  complete {share:6.2f}%  "
      f"(all processes: {d['samples']} samples, {recon:.2f}% reconstructed "
      f"from live memory, {d['lost']} lost)  [exec] roots {exec_roots}  "
      f"execve after the vfork release, truncated {exec_raced}  "
      f"complete stacks > 300 frames {deep}")
for comm in sorted(total, key=lambda c: -total[c]):
    r = ", ".join(f"{k} {v}" for k, v in reasons[comm].most_common())
    print(f"  {comm:14} {total[comm]:5} samples; truncated: {r or 'none'}")
ok = True
if n < 1000:
    print(f"FAIL {prog}: only {n} samples of its own")
    ok = False
if share < 98:
    print(f"FAIL {prog}: {share:.2f}% complete, want >= 98%")
    ok = False
if recon > 1:
    print(f"FAIL {prog}: {recon:.2f}% of the stacks needed live reads")
    ok = False
with open(roots_file, "a") as out:
    out.write(f"{exec_roots}\n")
if exec_elsewhere or exec_truncated:
    print(f"FAIL {prog}: [exec] outside execve {exec_elsewhere}, "
          f"execve samples truncated {exec_truncated}")
    ok = False
sys.exit(0 if ok else 1)
PY
done
[ "$bad" = 0 ] || fail "$bad of 3 programs below their share"
roots=$(awk '{ n += $1 } END { print n + 0 }' "$WORK/exec-roots")
echo "[exec] roots over the three programs: $roots"
[ "$roots" -gt 0 ] || fail "no sample in execve has the [exec] root"
echo ok
