/* The unwinder: a sample's registers, stack copy and kernel callchain, plus
 * the process model, in; the stack's frames (leaf first) and its status out.
 * One loop chooses a rule per frame: Go pcsp for Go text (.gopclntab), CFI
 * (libdw) for C, frame pointers as a marked last resort; stack switches
 * between Go and C are followed as described in DESIGN.md. Borrows the
 * procmap and its ELF objects; owns nothing. */
#ifndef CGOPROF_UNWIND_H
#define CGOPROF_UNWIND_H

#include <stdint.h>

#include "cgoprof/perf.h"
#include "cgoprof/procmap.h"
#include "cgoprof/profile.h"

#define CGOPROF_MAX_FRAMES 256

enum unwind_frame_flag {
	UNWIND_FRAME_KERNEL = 1 << 0,
	UNWIND_FRAME_LEAF = 1 << 1,	/* the sampled ip, not a return address */
	UNWIND_FRAME_FP = 1 << 2,	/* found by the frame-pointer fallback */
	UNWIND_FRAME_CHAIN = 1 << 3,	/* taken from the kernel's callchain */
	UNWIND_FRAME_LIVE = 1 << 4,	/* read from the live process */
};

struct unwind_frame {
	uint64_t pc;		/* absolute: ip (leaf) or return address */
	struct map *map;	/* borrowed; NULL for kernel and unmapped */
	uint32_t flags;		/* UNWIND_FRAME_* */
};

struct unwind_result {
	struct unwind_frame frames[CGOPROF_MAX_FRAMES];
	uint32_t n;
	enum stack_status status;
	const char *reason;	/* static string when truncated */
};

enum unwinder_backend {
	UNWINDER_NATIVE = 0,	/* pcsp + libdw CFI + stack switches */
	UNWINDER_LIBUNWIND,	/* libunwind remote API, C frames only */
};

struct unwind_opts {
	enum unwinder_backend backend;
	bool live_reads;	/* allow process_vm_readv of frozen stacks */
	bool user_only;		/* drop kernel frames */
};

/* Unwinds sample @s of process @p. Always fills @r (at least the leaf when
 * there is one); returns 0, or -EINVAL when the sample has no user state
 * and no kernel frames. */
int unwind__sample(struct procmap *pm, struct proc *p,
		   const struct perf_sample *s, const struct unwind_opts *o,
		   struct unwind_result *r);

#endif
