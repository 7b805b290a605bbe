/* The unwinder: a sample's registers, stack copy and kernel callchain, plus
 * the process model, in; the stack's frames (leaf first) and its status out.
 * One loop chooses a rule per frame: Go pcsp for Go text (.gopclntab), CFI
 * (libdw) for C, frame pointers as a marked last resort. Stack switches
 * between a goroutine's stack and the thread's g0 stack (cgo calls and
 * callbacks, runtime.systemstack, mcall, morestack) are followed to the
 * stack that continues the one being walked: through the frame pointers
 * Go code keeps, the kernel's callchain, the records and snapshots below,
 * and the runtime's g and m structs (cgoprof/golayout.h). Borrows the
 * procmap and its ELF objects; owns nothing. */
#ifndef CGOPROF_UNWIND_H
#define CGOPROF_UNWIND_H

#include <stdint.h>

#include "cgoprof/perf.h"
#include "cgoprof/procmap.h"
#include "cgoprof/profile.h"

#define CGOPROF_MAX_FRAMES 1024

/* x86-64 registers by DWARF number (the psABI's, which libunwind uses
 * too): the index of each register in struct cgo_callback's regs and in
 * the unwinder's register sets. UNWIND_REG_IP is the return address
 * column: the pc. */
enum unwind_reg {
	UNWIND_REG_AX = 0,
	UNWIND_REG_DX,
	UNWIND_REG_CX,
	UNWIND_REG_BX,
	UNWIND_REG_SI,
	UNWIND_REG_DI,
	UNWIND_REG_BP,
	UNWIND_REG_SP,
	UNWIND_REG_R8,
	UNWIND_REG_R9,
	UNWIND_REG_R10,
	UNWIND_REG_R11,
	UNWIND_REG_R12,
	UNWIND_REG_R13,
	UNWIND_REG_R14,
	UNWIND_REG_R15,
	UNWIND_REG_IP,
	UNWIND_NREGS,
};

enum unwind_frame_flag {
	UNWIND_FRAME_KERNEL = 1 << 0,
	/* pc is an instruction of its own, not a return address: the
	 * sampled ip, a pc a signal interrupted, a signal trampoline's first
	 * instruction, the pc Go's runtime saves where a goroutine left for
	 * g0 (runtime.systemstack_switch). Named at pc, not pc - 1. */
	UNWIND_FRAME_LEAF = 1 << 1,
	UNWIND_FRAME_FP = 1 << 2,	/* found by the frame-pointer fallback */
	UNWIND_FRAME_CHAIN = 1 << 3,	/* taken from the kernel's callchain */
	UNWIND_FRAME_LIVE = 1 << 4,	/* read from the live process */
};

struct unwind_frame {
	uint64_t pc;		/* absolute: ip (leaf) or return address */
	struct map *map;	/* borrowed; NULL for kernel and unmapped */
	uint32_t flags;		/* UNWIND_FRAME_* */
};

/* UNWINDER_COMPARE: how the C frames of the two unwinders compared. */
enum unwind_compare {
	UNWIND_COMPARE_NONE = 0,	/* not compared: another backend, or
					 * no C frames from one of them */
	UNWIND_COMPARE_AGREE,
	UNWIND_COMPARE_DISAGREE,	/* also logged (pr_info) */
};

struct unwind_result {
	struct unwind_frame frames[CGOPROF_MAX_FRAMES];
	uint32_t n;
	enum stack_status status;
	/* why the stack ends, when truncated, else NULL: always a static
	 * string (a string literal of the unwinder), never one that points
	 * into a binary's data, so that it outlives the procmap and its
	 * ELF objects; the profile keeps it as the pseudo frame
	 * "[truncated: reason]" */
	const char *reason;
	/* a pseudo frame that stands for the whole user part, at the root
	 * (static string), or NULL: "[exec]" for a sample in execve after
	 * the old image is gone and before the new one runs */
	const char *root;
	enum unwind_compare compare;	/* UNWINDER_COMPARE only */
};

/* The goroutine's stack when a cgo call began: recorded by a uprobe at
 * runtime.asmcgocall's entry, where Go code still keeps its frame pointers,
 * so the kernel's callchain is exact. It holds for the whole C call. */
struct cgo_entry {
	uint64_t time;		/* CLOCK_MONOTONIC ns */
	uint64_t sp, bp;	/* at asmcgocall's entry */
	uint32_t n;
	uint64_t pcs[CGOPROF_MAX_FRAMES];	/* [0] = return into cgocall */
};

/* The latest cgo entry of thread @tid before @time whose goroutine frame
 * pointer is @bp, or NULL. Borrowed until the next record is read. */
typedef const struct cgo_entry *(*cgo_entry_fn)(void *ctx, uint32_t tid,
						 uint64_t bp, uint64_t time);

/* The C caller of a callback: registers and a copy of its stack taken by
 * a uprobe at crosscall2's entry; it holds while the callback runs. */
#define CGOPROF_CALLBACK_STACK 4096
struct cgo_callback {
	uint64_t time;
	uint64_t regs[UNWIND_NREGS];	/* by enum unwind_reg */
	uint32_t valid;		/* bit per register */
	uint32_t len;		/* bytes of stack copied from its sp */
	uint8_t stack[CGOPROF_CALLBACK_STACK];
};

/* The latest crosscall2 entry of @tid before @time whose stack pointer is
 * just above cgocallback's frame record @bp_cb, or NULL. */
typedef const struct cgo_callback *(*cgo_callback_fn)(void *ctx, uint32_t tid,
						       uint64_t bp_cb,
						       uint64_t time);

/* The goroutine's stack when it called runtime.morestack (stack growth or a
 * preemption request in a function's prologue): recorded by a system-wide
 * uprobe at morestack's entry, where the caller f has no frame yet and Go
 * code keeps its frame pointers, so the kernel's callchain plus the two
 * words at sp are exact. It holds while newstack (and copystack) run on g0
 * for that call. */
struct go_morestack {
	uint64_t time;		/* CLOCK_MONOTONIC ns */
	uint64_t ip, sp;	/* morestack's entry, and sp there */
	uint32_t n;
	bool chain_cut;		/* the kernel's callchain hit its limit */
	/* [0] = return into f, [1] = return into f's caller, then callers */
	uint64_t pcs[CGOPROF_MAX_FRAMES];
};

/* The latest morestack entry of thread @tid before @time, or NULL. */
typedef const struct go_morestack *(*go_morestack_fn)(void *ctx, uint32_t tid,
						      uint64_t time);

/* Stack memory at the time of a sample, copied by an eBPF program in the
 * sample's overflow handler (see profiler/gosnap.bpf.c): the goroutine's stack
 * of a thread in a cgo call, or the system stack of one in a callback,
 * and the rest of the sample's own stack where the kernel's copy of it
 * stopped short. Read like the sample's own stack copy. */
#define CGOPROF_SNAPSHOT_REGIONS 12
struct go_snapshot {
	uint64_t time;		/* CLOCK_MONOTONIC ns */
	uint64_t ip;		/* the interrupted ip, as the sample's */
	unsigned n;
	struct go_snapshot_region {
		uint64_t addr, len;
		const uint8_t *bytes;
		/* pages that could not be copied: bit k for the k-th page
		 * from the one holding addr (their bytes are not memory) */
		uint64_t absent;
		/* bytes are frame records of a goroutine's stack beyond the
		 * regions copied, in increasing address order: each its
		 * address, the word there (the caller's frame pointer) and
		 * the word after (the return address) */
		bool frames;
	} r[CGOPROF_SNAPSHOT_REGIONS];
};

enum unwinder_backend {
	UNWINDER_NATIVE = 0,	/* pcsp + libdw CFI + stack switches */
	UNWINDER_LIBUNWIND,	/* libunwind remote API, C frames only */
	/* native, its C frames checked against libunwind's: the result
	 * says how they compared (unwind_result.compare) */
	UNWINDER_COMPARE,
};

/* A uprobe the recording put on an instruction: file (device and inode)
 * and offset. While its int3 traps, until the kernel moves the ip back to
 * the probed instruction, a sample's user ip is the byte after it. */
struct probe_site {
	uint64_t dev, ino, off;
};

/* The latest uprobe hit of thread @tid at or before @time: the probed
 * instruction's address and sp there. A sample in the uprobes' page is
 * stepping that instruction out of line. false when there is none. */
struct probe_hit {
	uint64_t time, ip, sp;
};
typedef bool (*probe_hit_fn)(void *ctx, uint32_t tid, uint64_t time,
			     struct probe_hit *hit);

struct unwind_opts {
	enum unwinder_backend backend;
	bool live_reads;	/* allow process_vm_readv of frozen stacks */
	bool user_only;		/* drop kernel frames */
	cgo_entry_fn cgo_entry;	/* NULL: no cgo entry records */
	cgo_callback_fn cgo_callback;	/* NULL: no callback entry records */
	go_morestack_fn go_morestack;	/* NULL: no morestack records */
	/* the snapshot taken with the sample being unwound, or NULL */
	const struct go_snapshot *go_snapshot;
	void *cgo_ctx;
	const struct probe_site *probe_sites;	/* the uprobes placed */
	size_t nprobe_sites;
	probe_hit_fn probe_hit;	/* NULL: hits not recorded */
	void *probe_hit_ctx;
};

/* Unwinds sample @s of process @p. Always fills @r (at least the leaf when
 * there is one); returns 0, or -EINVAL when the sample has no user state
 * and no kernel frames. */
int unwind__sample(struct procmap *pm, struct proc *p,
		   const struct perf_sample *s, const struct unwind_opts *o,
		   struct unwind_result *r);

/* The user registers of sample @s by enum unwind_reg, every one of them:
 * @regs filled, @valid a bit (1 << reg) for each. */
void unwind__sample_regs(const struct perf_sample *s,
			 uint64_t regs[UNWIND_NREGS], uint32_t *valid);

#endif
