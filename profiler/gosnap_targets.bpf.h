/* SPDX-License-Identifier: MIT */
/*
 * The snapshot program's list of targets, part of gosnap.bpf.c (included
 * there, one object): with one sampling timer a CPU (profiler/record.c,
 * "where the timers run"), which processes' samples the program keeps,
 * and the tracepoint programs that keep the list as the per-task events'
 * inherit would.
 */
#ifndef CGOPROF_GOSNAP_TARGETS_BPF_H
#define CGOPROF_GOSNAP_TARGETS_BPF_H

/*
 * Sampling one timer a CPU (record.c: "CPU scope"), the processes whose
 * samples are kept: tgid -> GOSNAP_TARGET_*. An attached process's entry
 * is GOSNAP_TARGET_ON. A launched command's is GOSNAP_TARGET_AT_EXEC until
 * it execs: until then the process runs cgoprof's own executable (the
 * child between fork and exec, cgoprof_self_*), whose samples are dropped;
 * its first sample or fork in another executable turns it on. (No exec tracepoint:
 * a program there runs in the exec, where the timer can interrupt it, and
 * the kernel's unwinder cannot get past its retpoline.) The tracepoint
 * programs below keep the list as the per-thread events' inherit would: a
 * target's new process is one from its fork, an entry goes when its
 * process's leader is freed (its whole group has ended and been reaped,
 * so the tgid is not yet anyone else's). Read only while cgoprof_filter
 * is set; otherwise every sample is kept.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CGOPROF_GOSNAP_TARGETS);
	__type(key, __u32);
	__type(value, __u32);
} cgoprof_targets SEC(".maps");

/* Set by the loader's user (gosnap__filter), read at every sample: the
 * filter is on, and cgoprof's own executable (the kernel's dev_t encoding,
 * major << 20 | minor); and the targets' new processes left out because
 * the map was full. */
volatile __u32 cgoprof_filter;
volatile __u32 cgoprof_self_dev;
volatile __u64 cgoprof_self_ino;
volatile __u64 cgoprof_targets_full;

/* Whether the current process, a target in @state, is on: a launched
 * command is once it runs another executable than cgoprof's, and then
 * stays on. */
static __always_inline bool target_on(__u32 *state)
{
	struct task_struct *task;
	struct inode *inode;

	if (*state == GOSNAP_TARGET_ON)
		return true;
	task = (struct task_struct *)bpf_get_current_task();
	inode = BPF_CORE_READ(task, mm, exe_file, f_inode);
	if (!inode || (BPF_CORE_READ(inode, i_ino) == cgoprof_self_ino &&
		       BPF_CORE_READ(inode, i_sb, s_dev) == cgoprof_self_dev))
		return false;
	*state = GOSNAP_TARGET_ON;
	return true;
}

/* Whether the current process's samples are kept. */
static __always_inline bool sampled(void)
{
	__u32 tgid, *state;

	if (!cgoprof_filter)
		return true;
	tgid = bpf_get_current_pid_tgid() >> 32;
	state = bpf_map_lookup_elem(&cgoprof_targets, &tgid);
	return state && target_on(state);
}

int cgoprof_fork(__u64 *ctx);
int cgoprof_free(__u64 *ctx);

/* sched_process_fork(parent, child), in the parent: a target's child
 * process is a target (a thread shares its tgid already). */
SEC("raw_tp/sched_process_fork")
int cgoprof_fork(__u64 *ctx)
{
	struct task_struct *child = (struct task_struct *)ctx[1];
	__u32 parent = bpf_get_current_pid_tgid() >> 32, tgid, on;
	__u32 *state;

	/* (a launched command may fork before its first sample) */
	state = bpf_map_lookup_elem(&cgoprof_targets, &parent);
	if (!state || !target_on(state))
		return 0;
	tgid = (__u32)BPF_CORE_READ(child, tgid);
	if (tgid == parent)
		return 0;
	on = GOSNAP_TARGET_ON;
	if (bpf_map_update_elem(&cgoprof_targets, &tgid, &on, BPF_ANY))
		__sync_fetch_and_add(&cgoprof_targets_full, 1);
	return 0;
}

/* sched_process_free(task): a leader is freed once its group has ended
 * and been reaped. */
SEC("raw_tp/sched_process_free")
int cgoprof_free(__u64 *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx[0];
	__u32 pid = (__u32)BPF_CORE_READ(task, pid);
	__u32 tgid = (__u32)BPF_CORE_READ(task, tgid);

	if (pid == tgid)
		bpf_map_delete_elem(&cgoprof_targets, &tgid);
	return 0;
}

#endif
