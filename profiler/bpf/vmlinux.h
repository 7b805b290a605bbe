/* SPDX-License-Identifier: MIT */
/*
 * The kernel's types that profiler/gosnap.bpf.c and execwatch.bpf.c use,
 * and only those: a
 * checked-in subset of what `bpftool btf dump file /sys/kernel/btf/vmlinux
 * format c` prints, so that building does not need the build machine's
 * kernel BTF.
 *
 * The structs the program reads carry preserve_access_index: clang
 * records each field access as a CO-RE relocation (type and field by
 * name), and libbpf rewrites its offset against the running kernel's BTF
 * at load time. So the members listed are only the ones read, their order
 * and the structs' sizes here mean nothing, and a kernel that moves them
 * (task_struct's layout changes with every configuration) still loads the
 * program right.
 */
#ifndef CGOPROF_BPF_VMLINUX_H
#define CGOPROF_BPF_VMLINUX_H

typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

typedef _Bool bool;
enum { false = 0, true = 1 };

/* uapi (linux/bpf.h): stable numbers, not relocated */
enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERF_EVENT_ARRAY = 4,
	BPF_MAP_TYPE_RINGBUF = 27,
};

enum {
	BPF_ANY = 0,
};

enum {
	BPF_F_INDEX_MASK = 0xffffffffULL,
	BPF_F_CURRENT_CPU = BPF_F_INDEX_MASK,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), \
			     apply_to = record)

/* x86-64: the user registers of a task (bpf_task_pt_regs) */
struct pt_regs {
	unsigned long bp;
	unsigned long sp;
};

/* x86-64: fsbase is the thread's TLS pointer (the fs segment base) */
struct thread_struct {
	unsigned long fsbase;
};

/* the file a process runs (execwatch.bpf.c): mm->exe_file's inode */
struct super_block {
	__u32 s_dev;		/* dev_t, the kernel's encoding */
};

struct inode {
	unsigned long i_ino;
	struct super_block *i_sb;
};

struct file {
	struct inode *f_inode;
};

struct mm_struct {
	struct file *exe_file;
};

struct task_struct {
	struct thread_struct thread;
	struct mm_struct *mm;
	int pid;
	int tgid;
};

#pragma clang attribute pop

/* uapi: a perf_event program's context. Only its name is used: the
 * kernel takes a global function's argument as the context by its
 * struct's name, and a declaration alone (no size) is refused. Nothing
 * reads its members (bpf_perf_event_output takes it whole). */
struct bpf_perf_event_data {
	__u64 regs[21];	/* x86-64's struct pt_regs (uapi ptrace.h), by word */
	__u64 sample_period;
	__u64 addr;
};

#endif
