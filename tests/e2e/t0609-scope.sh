#!/usr/bin/env bash
# Where the timers run (--scope). With one cpu-clock timer a CPU (the
# default where the snapshot program loads), the program keeps the samples
# of the targets alone: a busy process beside them never shows; a launched
# command's children are sampled from their fork, the command itself only
# from its exec (not cgoprof's own code in the child before it); the
# samples of a process match its CPU time as the kernel counts it; and
# every stack is as exact as with one timer a thread (--scope thread).
. "$(dirname "$0")/lib.sh"
require_perf
hot_main='_start;__libc_start_main;__libc_start_call_main;main;main_loop;hot_helper;hot_leaf'
hot_worker='__clone3;start_thread;worker;hot_helper;hot_leaf'

# roots of a --pid-root folded file: "comm count", summed
roots() { awk '{n = $NF; sub(/-[0-9]+(\/[0-9]+)?;.*/, ""); c[$0] += n} END {for (k in c) print k, c[k]}' "$1"; }

# a bystander: the same code under another name, busy on every CPU's time
cp "$FIXTURES/hot" "$WORK/bystander"
cp "$FIXTURES/libhot.so" "$WORK/"
"$WORK/bystander" thread 30 > "$WORK/bystander.out" 2>&1 &
bystander=$!

# 1. launched, with children: a shell runs the fixture twice, in python,
#    which reports the children's CPU time as the kernel counts it
cat > "$WORK/run.py" <<'EOF'
import resource, subprocess, sys
for _ in range(2):
    subprocess.run([sys.argv[1], "thread", "1"], stdout=subprocess.DEVNULL, check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("children_cpu %.3f" % (r.ru_utime + r.ru_stime))
EOF
"$CGOPROF" record -v --pid-root --tid -o "$WORK/cpu.folded" \
	-- sh -c "python3 $WORK/run.py $FIXTURES/hot > $WORK/cpu.time" 2> "$WORK/err"
cat "$WORK/err" "$WORK/cpu.time"
assert_written "$WORK/cpu.folded"
grep -q '^sampling: one timer a CPU$' "$WORK/err" || fail "not sampled with one timer a CPU"
roots "$WORK/cpu.folded" | sort | tee "$WORK/roots"
! grep -q '^bystander' "$WORK/roots" || fail "the bystander's samples were kept"
! grep -q '^cgoprof' "$WORK/roots" || fail "cgoprof's own child was sampled before its exec"
grep -q '^hot ' "$WORK/roots" || fail "the command's grandchildren were not sampled"
grep '^hot-' "$WORK/cpu.folded" > "$WORK/hot.folded"
$STACKCHECK "$WORK/hot.folded" --thread main --leaf hot_leaf --path "$hot_main" --min-samples 200
$STACKCHECK "$WORK/hot.folded" --thread other --leaf hot_leaf --path "$hot_worker" --min-samples 200
# each sample stands for 1/999 s of the CPU where it was taken
python3 - "$WORK/roots" "$WORK/cpu.time" <<'EOF'
import sys
samples = sum(int(l.split()[1]) for l in open(sys.argv[1]) if l.startswith("hot "))
cpu = float(open(sys.argv[2]).read().split()[1])
print("hot: %d samples, %.3f s of CPU: %.3f s a sample x 999" % (samples, cpu, samples / 999.0))
assert abs(samples / 999.0 - cpu) <= 0.15 * cpu, (samples, cpu)
EOF

# 2. attached: every thread of the process, none of the bystander's
pid=$(start_target "$WORK/target.out" "$FIXTURES/hot" late 3.5)
[ -n "$pid" ] || fail "fixture did not start"
"$CGOPROF" record -v --tid -p "$pid" -d 3 -o "$WORK/attach.folded" 2> "$WORK/err"
cat "$WORK/err"
grep -q '^sampling: one timer a CPU$' "$WORK/err" || fail "attach: not one timer a CPU"
! grep -q '^bystander' "$WORK/attach.folded" || fail "attach: the bystander's samples were kept"
$STACKCHECK "$WORK/attach.folded" --thread main --leaf hot_leaf --path "$hot_main"
$STACKCHECK "$WORK/attach.folded" --thread other --leaf hot_leaf --path "$hot_worker"

# 3. before its exec, the launched command is cgoprof's child: a PATH of
#    5000 directories that do not exist keeps execvp() searching for
#    milliseconds (7-11 here), a few samples' worth, none of which may be
#    kept (kept, they show as [unknown] frames calling execve)
long_path=$(python3 -c 'print(":".join("/nonexistent/%d" % i for i in range(5000)))'):$FIXTURES:$PATH
for i in 1 2 3; do
	PATH=$long_path "$CGOPROF" record --pid-root -o "$WORK/exec$i.folded" \
		-- hot main 0.2 2> "$WORK/err" || { cat "$WORK/err"; fail "record failed"; }
	roots "$WORK/exec$i.folded"
	# (the process model names them after the command, with no maps)
	! grep '\[unknown\]' "$WORK/exec$i.folded" ||
		fail "samples of cgoprof's child before its exec were kept"
	roots "$WORK/exec$i.folded" | grep -q '^hot ' || fail "no samples of the command"
done

# 3b. a launched command that forks before its first sample (static, at
#     99 Hz): its child is a target all the same
cat > "$WORK/forknow.c" <<'EOF'
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	int st;
	pid_t p = fork();

	(void)argc;
	if (p == 0) {
		execv(argv[1], argv + 1);
		_exit(127);
	}
	return waitpid(p, &st, 0) == p && WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
EOF
cc -O2 -static -o "$WORK/forknow" "$WORK/forknow.c"
for i in 1 2 3; do
	"$CGOPROF" record -F 99 --pid-root -o "$WORK/fork$i.folded" \
		-- "$WORK/forknow" "$FIXTURES/hot" main 0.5 > /dev/null 2> "$WORK/err" ||
		{ cat "$WORK/err"; fail "record of a command that forks at once failed"; }
	n=$(roots "$WORK/fork$i.folded" | awk '$1 == "hot" {print $2}')
	echo "forks at once, run $i: ${n:-0} samples of its child"
	# ~50 alone, about half beside the bystander; none when missed
	[ "${n:-0}" -ge 10 ] || fail "the child of a command that forked before its first sample was not sampled"
done

# 4. --scope thread: one timer a thread, the same exact stacks
"$CGOPROF" record -v --tid --scope thread -o "$WORK/thread.folded" \
	-- "$FIXTURES/hot" thread 1 2> "$WORK/err"
cat "$WORK/err"
grep -q '^sampling: one timer a thread$' "$WORK/err" || fail "--scope thread ignored"
$STACKCHECK "$WORK/thread.folded" --thread main --leaf hot_leaf --path "$hot_main"
$STACKCHECK "$WORK/thread.folded" --thread other --leaf hot_leaf --path "$hot_worker"

# 5. without the program: one timer a thread, said why; --scope cpu then
#    is an error that says why
"$CGOPROF" record -v --no-bpf -o "$WORK/nobpf.folded" -- "$FIXTURES/hot" main 0.2 2> "$WORK/err"
grep -q '^sampling: one timer a thread: --no-bpf' "$WORK/err" || { cat "$WORK/err"; fail "no reason for thread scope"; }
rc=0
"$CGOPROF" record --scope cpu --no-bpf -o "$WORK/x.folded" -- "$FIXTURES/hot" main 0.2 2> "$WORK/err" || rc=$?
cat "$WORK/err"
[ "$rc" = 2 ] || fail "--scope cpu --no-bpf: exit $rc, not 2"
grep -q 'error: cannot sample with one timer a CPU (--scope cpu): --no-bpf' "$WORK/err" || fail "--scope cpu: no reason given"
rc=0
"$CGOPROF" record --scope cpu -e page-faults -o "$WORK/x.folded" -- "$FIXTURES/hot" main 0.2 2> "$WORK/err" || rc=$?
[ "$rc" = 2 ] && grep -q 'only cpu-clock' "$WORK/err" || { cat "$WORK/err"; fail "--scope cpu -e page-faults: exit $rc"; }
rc=0
"$CGOPROF" record --scope cores -- true 2> "$WORK/err" || rc=$?
[ "$rc" = 64 ] || { cat "$WORK/err"; fail "--scope cores: exit $rc, not 64"; }
kill "$bystander"
echo ok
