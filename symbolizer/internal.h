/* Declarations shared by the unwinder's files only:
 *   unwind.c            the loop over frames, result building, backends
 *   unwind_mem.c        the memory view: stack copy, snapshot, live reads
 *   unwind_native.c     CFI and frame-pointer steps, C leaf and root rules
 *   unwind_signal.c     signal frames: sigreturn trampolines
 *   unwind_go.c         Go frames: pcsp steps and stack-switch rules
 *   unwind_goroutine.c  goroutine stacks: frame-pointer walk, the probes'
 *                       records, g and m lookups
 *   unwind_libunwind.c  the libunwind backend */
#ifndef CGOPROF_SYMBOLIZER_INTERNAL_H
#define CGOPROF_SYMBOLIZER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "cgoprof/unwind.h"

/* The highest callchain entry that is an address: PERF_CONTEXT_* above */
#define CGOPROF_PERF_CONTEXT_MAX ((uint64_t)-4095)

/* ---- registers ---- */

#define NREGS UNWIND_NREGS
#define REG_BIT(reg) (1u << (reg))

/* A register set by DWARF number (enum unwind_reg): UNWIND_REG_IP is the
 * pc, or, in a caller's set, the return address. */
struct regs {
	uint64_t r[NREGS];
	uint32_t valid;	/* REG_BIT(reg) per register known */
};

/* ---- the memory view (unwind_mem.c) ---- */

/* What the unwinder may read: the sample's stack copy, the snapshot's
 * regions, and (live) the frozen stacks of the target through
 * process_vm_readv. */
#define LIVE_PAGES 8

struct live_page {
	uint64_t base;		/* page address; 0: empty */
	uint8_t data[4096];
	uint8_t again[4096];	/* a second read: frozen words are equal */
};

struct mem_view {
	uint64_t stack_lo;
	const uint8_t *stack;
	uint64_t stack_len;
	uint32_t pid;
	bool live;		/* live reads allowed (option) */
	bool frozen;		/* now walking a stack frozen at sample time */
	bool used_live;		/* a live read was used */
	bool live_failed;	/* a live read failed or was unstable */
	struct live_page *pages;	/* LIVE_PAGES, allocated on first use */
	unsigned next_page;
	/* memory copied at sample time (a go_snapshot): as exact as the
	 * stack copy, read like it */
	const struct go_snapshot *snap;
	/* the snapshot is of a goroutine that may run elsewhere by then (a
	 * parked one): its words are read as live ones are, and checked */
	bool snap_checked;
};

/* Reads 8 bytes at @addr: from the sample's stack copy or the snapshot,
 * else (only when m->frozen and live reads are allowed) from the live
 * process, read twice and compared. */
bool mem__read(struct mem_view *m, uint64_t addr, uint64_t *val);
/* The stack copy, and the snapshot unless it is m->snap_checked: memory
 * of the sample's time only. */
bool mem__read_copy(const struct mem_view *m, uint64_t addr, uint64_t *val);
/* The snapshot's regions only. */
bool mem__read_snap(const struct mem_view *m, uint64_t addr, uint64_t *val);
/* Drops the pages read from the live process: a new walk reads again. */
void mem__forget_live(struct mem_view *m);

/* ---- one walk ---- */

enum step_result {
	STEP_OK = 0,
	STEP_END,	/* outermost frame reached */
	STEP_NO_INFO,	/* no rule for this pc */
	STEP_BAD,	/* a rule that cannot be applied */
	STEP_STACK_END,	/* needs memory beyond what we have */
	/* a stack-switch rule took the rest of the stack: it followed it
	 * on another stack, or ended it; status and reason are set */
	STEP_DONE,
};

struct unwind_ctx {
	struct procmap *pm;
	struct proc *proc;
	const struct perf_sample *s;
	const struct unwind_opts *o;
	struct unwind_result *r;
	struct mem_view mem;
	struct regs sample;	/* the sample's registers, as taken */
	uint32_t nkernel;	/* r's frames of the kernel's callchain */
	const uint64_t *chain_user;	/* the kernel's FP walk of user frames */
	uint64_t chain_user_nr;
	int switches;			/* stack switches crossed */
	uint64_t probe_pc;	/* a uprobe's instruction, or the next, as leaf */
	uint64_t g;		/* Go's g register (r14) where Go code runs */
	uint64_t newstack_cfa;	/* where morestack called newstack on g0 */
};

/* The frame the loop is at. */
struct frame_at {
	uint64_t pc;		/* absolute, as pushed */
	uint64_t lookup;	/* link-time; pc - 1 for a return address */
	struct map *map;
	struct go_func fn;	/* Go code: the function at lookup */
	bool activation;	/* pc is a return address */
	bool from_c;		/* the frame below (its callee) is C code */
};

/* ---- backends (unwind.c) ---- */

struct unwind_backend_ops {
	const char *name;
	/* Walks the user frames from @regs, appending to u->r after its
	 * kernel frames; sets u->r's status and reason (a static string).
	 * Reads the target's memory through u->mem only. */
	void (*walk)(struct unwind_ctx *u, const struct regs *regs);
	/* walk again (twice at most) when the stack ended truncated after a
	 * read of the live process failed or changed under the walk */
	bool retry_live;
	/* a second backend run on the same sample, whose C frames must be
	 * the same as this one's (compare), or NULL */
	const struct unwind_backend_ops *check;
};

extern const struct unwind_backend_ops unwind_libunwind_backend;

/* ---- the loop and the result (unwind.c) ---- */

void unwind__push(struct unwind_result *r, uint64_t pc, struct map *map,
		  uint32_t flags);
/* Ends @r's stack truncated; @reason is a static string. */
void unwind__truncate(struct unwind_result *r, const char *reason);
/* Walks user frames from @cur by CFI (C) and pcsp (Go), following stack
 * switches. @activation: cur's pc is a return address. */
void unwind__regs(struct unwind_ctx *u, struct regs *cur, bool activation);

/* ---- C frames (unwind_native.c) ---- */

enum step_result native__cfi_step(struct elf_obj *o, uint64_t lookup,
				  const struct regs *cur, struct mem_view *m,
				  struct regs *caller, bool *signal_frame);
enum step_result native__fp_step(const struct regs *cur, struct mem_view *m,
				 struct regs *caller);
enum step_result native__leaf_without_cfi(struct unwind_ctx *u,
					  const struct regs *cur,
					  struct map *map, uint64_t lookup,
					  struct regs *caller);
/* The register an x86 opcode's 3-bit register field names (push, pop:
 * rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi), as UNWIND_REG_*. */
extern const uint8_t native__x86_reg[8];
enum step_result native__prologue_step(struct unwind_ctx *u,
				       const struct regs *cur, struct map *map,
				       uint64_t lookup, struct regs *caller);
bool native__at_entry(const struct map *map, uint64_t lookup);
bool native__is_call_to(struct elf_obj *o, uint64_t ra, uint64_t callee,
			const struct elf_obj *callee_obj);
void native__trap_ip(struct unwind_ctx *u, struct regs *cur);
bool native__uprobe_leaf(struct unwind_ctx *u, const struct regs *cur);
bool native__in_exec(struct unwind_ctx *u, const struct regs *regs);

/* ---- signal frames (unwind_signal.c) ---- */

enum step_result signal__sigreturn_step(struct unwind_ctx *u,
					const struct frame_at *f,
					const struct regs *cur,
					struct regs *caller);

/* ---- Go frames (unwind_go.c) ---- */

/* Go functions where the unwinder changes stacks or stops. */
enum go_special {
	GO_PLAIN = 0,
	GO_ASMCGOCALL,	/* Go -> C: the C frames are on g0 */
	GO_CGOCALLBACK,	/* C -> Go: cgocallback's caller is on g0 */
	GO_CGOCALL,
	GO_SYSTEMSTACK,
	GO_NO_WAY_BACK,	/* mcall, morestack: the goroutine's g holds it */
};

enum go_special go__special(const struct go_func *fn);
/* The name of special function @name without "runtime.", as a static
 * string: a reason. */
const char *go__special_reason(const char *name);
enum step_result go__frame_step(struct unwind_ctx *u, const struct frame_at *f,
				const struct regs *cur, struct regs *caller,
				bool *signal_frame);
bool go__is_switch_marker(struct unwind_ctx *u, uint64_t pc);
bool go__is_morestack_call(struct elf_obj *o, uint64_t ra);
uint64_t go__cgocall_return_site(struct elf_obj *o);
void go__cgocallback(struct unwind_ctx *u, uint64_t bp_cb);
void go__runtime_switch(struct unwind_ctx *u, const struct regs *cur,
			struct map *map, const struct go_func *fn,
			uint64_t lookup);
bool go__is_async_preempt(const struct go_func *fn);
bool go__cgocall_skipped(const struct go_func *fn);
bool go__push_cgocall(struct unwind_ctx *u, struct elf_obj *o, struct map *map);
bool go__fp_switch(struct unwind_ctx *u, struct map *map,
		   const struct go_func *fn, uint64_t lookup, uint64_t ra,
		   uint64_t bp, const uint64_t *next);

/* ---- goroutine stacks (unwind_goroutine.c) ---- */

int64_t goroutine__chain_sync(struct unwind_ctx *u, uint64_t bp);
void goroutine__fp_walk(struct unwind_ctx *u, uint64_t bp, int64_t chain,
			struct elf_obj *switch_obj, uint64_t switch_entry,
			bool frozen);
bool goroutine__cgo_entry_walk(struct unwind_ctx *u, uint64_t bp);
bool goroutine__morestack_record(struct unwind_ctx *u, uint64_t g0_sp);
void goroutine__morestack_frames(struct unwind_ctx *u,
				 const struct go_morestack *m);
uint64_t goroutine__sched_bp(struct unwind_ctx *u, uint64_t g, uint64_t sp,
			     uint64_t hi);
bool goroutine__find_curg(struct unwind_ctx *u, uint64_t *sp, uint64_t *pc,
			  uint64_t *bp);
bool goroutine__find_morebuf_g(struct unwind_ctx *u, uint64_t cfa,
			       uint64_t *sp, uint64_t *pc, uint64_t *bp);
bool goroutine__by_pcsp(struct unwind_ctx *u, uint64_t ra, uint64_t sp,
			uint64_t bp);

#endif
