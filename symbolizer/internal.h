/* Declarations shared inside symbolizer/ only. */
#ifndef CGOPROF_SYMBOLIZER_INTERNAL_H
#define CGOPROF_SYMBOLIZER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "cgoprof/unwind.h"

#define NREGS 17 /* DWARF 0-15 and 16, the return address */

struct regs {
	uint64_t r[NREGS];
	uint32_t valid;	/* bit per register */
};

/* What the unwinder may read: the sample's stack copy, and (live) the
 * frozen stacks of the target through process_vm_readv. */
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

/* Reads 8 bytes at @addr: from the sample's stack copy or the goroutine
 * stack snapshot, else (only when
 * m->frozen and live reads are allowed) from the live process, read twice
 * and compared. */
bool mem__read(struct mem_view *m, uint64_t addr, uint64_t *val);

enum step_result {
	STEP_OK = 0,
	STEP_END,	/* outermost frame reached */
	STEP_NO_INFO,	/* no rule for this pc */
	STEP_BAD,	/* a rule that cannot be applied */
	STEP_STACK_END,	/* needs memory beyond what we have */
};

struct unwind_ctx {
	struct procmap *pm;
	struct proc *proc;
	const struct perf_sample *s;
	const struct unwind_opts *o;
	struct unwind_result *r;
	struct mem_view mem;
	const uint64_t *chain_user;	/* the kernel's FP walk of user frames */
	uint64_t chain_user_nr;
	int switches;			/* stack switches crossed */
	uint64_t probe_pc;	/* a uprobe's instruction, or the next, as leaf */
	uint64_t g;		/* Go's g register (r14) where Go code runs */
	uint64_t newstack_cfa;	/* where morestack called newstack on g0 */
};

/* The libunwind backend (unwind_libunwind.c): C frames from @regs. */
void unwind_libunwind(struct unwind_ctx *u, const struct regs *regs);

#endif
