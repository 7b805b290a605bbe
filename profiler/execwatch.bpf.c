// SPDX-License-Identifier: MIT
/*
 * The next start of a binary, system-wide (include/cgoprof/execwatch.h):
 * on the raw tracepoint sched_process_exec, which runs in the exec'ing
 * task when the new image is mapped and before its first instruction,
 * the file the task now runs (mm->exe_file) is looked up by device and
 * inode among the watched ones. A match while the watch is armed disarms
 * it (one atomic exchange: of two concurrent starts, one is caught),
 * stops the process with SIGSTOP, which it takes on its way back to user
 * space, and tells user space through a ring buffer.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "cgoprof/execwatch.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define SIGSTOP 19

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EXECWATCH_MAX_FILES);
	__type(key, struct execwatch_key);
	__type(value, __u32);
} cgoprof_exec_files SEC(".maps");

/* [0]: armed (1) or not; [1]: matches while disarmed */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} cgoprof_exec_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096 * 4);
} cgoprof_exec_events SEC(".maps");

/* The program: its name is the kernel's name for it. */
int cgoprof_exec(void *ctx);

SEC("raw_tp/sched_process_exec")
int cgoprof_exec(void *ctx __attribute__((unused)))
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct execwatch_key key = {};
	struct execwatch_event *ev;
	struct inode *inode;
	__u32 zero = 0, one = 1, *file;
	__u64 *armed, *missed;
	__u32 stopped = 0;

	inode = BPF_CORE_READ(task, mm, exe_file, f_inode);
	if (!inode)
		return 0;
	key.ino = BPF_CORE_READ(inode, i_ino);
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	file = bpf_map_lookup_elem(&cgoprof_exec_files, &key);
	if (!file)
		return 0;
	armed = bpf_map_lookup_elem(&cgoprof_exec_state, &zero);
	missed = bpf_map_lookup_elem(&cgoprof_exec_state, &one);
	if (!armed || !missed)
		return 0;
	/* the event's room first: a process stopped without a word would
	 * stay stopped */
	ev = bpf_ringbuf_reserve(&cgoprof_exec_events, sizeof(*ev), 0);
	if (!ev) {
		__sync_fetch_and_add(missed, 1);
		return 0;
	}
	if (__sync_lock_test_and_set(armed, 0) == 1) {
		bpf_send_signal(SIGSTOP);
		stopped = 1;
	} else {
		__sync_fetch_and_add(missed, 1);
	}
	ev->time = bpf_ktime_get_ns();
	ev->pid = (__u32)(bpf_get_current_pid_tgid() >> 32);
	ev->file = *file;
	ev->stopped = stopped;
	ev->pad = 0;
	bpf_ringbuf_submit(ev, 0);
	return 0;
}
