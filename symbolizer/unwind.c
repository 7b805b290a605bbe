// SPDX-License-Identifier: MIT
/* The unwinder: the loop over one stack's frames, the result, and the
 * backends. Registers are kept in DWARF numbering (enum unwind_reg).
 *
 * The native backend's loop chooses a rule per frame: Go code (.gopclntab)
 * by go__frame_step (pcsp, and the runtime's stack switches between a
 * goroutine's stack and g0: unwind_go.c, unwind_goroutine.c), C code by
 * CFI, a sigreturn trampoline or a leaf rule (unwind_native.c,
 * unwind_signal.c), and frame pointers as a marked last resort. Every
 * backend reads the target's memory through one view (unwind_mem.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cgoprof/log.h"
#include "cgoprof/unwind.h"
#include "internal.h"

/* Stack switches one sample may cross before the walk gives up. */
#define CGOPROF_MAX_SWITCHES 16
/* Walks of a sample whose frozen stack changed under the live reads. */
#define CGOPROF_LIVE_ATTEMPTS 3

static const uint8_t dwarf_to_perf[NREGS] = {
	[UNWIND_REG_AX] = PERF_REG_AX, [UNWIND_REG_DX] = PERF_REG_DX,
	[UNWIND_REG_CX] = PERF_REG_CX, [UNWIND_REG_BX] = PERF_REG_BX,
	[UNWIND_REG_SI] = PERF_REG_SI, [UNWIND_REG_DI] = PERF_REG_DI,
	[UNWIND_REG_BP] = PERF_REG_BP, [UNWIND_REG_SP] = PERF_REG_SP,
	[UNWIND_REG_R8] = PERF_REG_R8, [UNWIND_REG_R9] = PERF_REG_R9,
	[UNWIND_REG_R10] = PERF_REG_R10, [UNWIND_REG_R11] = PERF_REG_R11,
	[UNWIND_REG_R12] = PERF_REG_R12, [UNWIND_REG_R13] = PERF_REG_R13,
	[UNWIND_REG_R14] = PERF_REG_R14, [UNWIND_REG_R15] = PERF_REG_R15,
	[UNWIND_REG_IP] = PERF_REG_IP,
};

/* ---- the result ---- */

void unwind__push(struct unwind_result *r, uint64_t pc, struct map *map,
		  uint32_t flags)
{
	if (r->n < CGOPROF_MAX_FRAMES)
		r->frames[r->n++] = (struct unwind_frame){ pc, map, flags };
}

void unwind__truncate(struct unwind_result *r, const char *reason)
{
	r->status = STACK_TRUNCATED;
	r->reason = reason;
}

/* ---- the native backend's loop ---- */

/* A pc no readable binary maps: the leaf may be in the uprobes'
 * out-of-line page (native__uprobe_leaf); else the stack ends there. */
static void unmapped_frame(struct unwind_ctx *u, const struct frame_at *f,
			   struct regs *cur, uint32_t fflags)
{
	struct unwind_result *r = u->r;
	bool xol;

	if (f->activation && !f->map) {
		/* a return address nobody maps: not a frame */
		unwind__truncate(r, "unmapped return address");
		return;
	}
	xol = f->map && !strcmp(f->map->path, "[uprobes]");
	if (!f->activation && xol && native__uprobe_leaf(u, cur))
		return;
	unwind__push(r, f->pc, f->map, fflags);
	unwind__truncate(r, xol ? "uprobe single-step"
			 : f->map ? "binary not readable"
				  : "unmapped pc");
}

/* One C frame: CFI, else a sigreturn trampoline without CFI (a signal
 * frame), else, for the leaf, the rules for code without CFI, else its
 * prologue. */
static enum step_result c_frame_step(struct unwind_ctx *u,
				     const struct frame_at *f,
				     const struct regs *cur,
				     struct regs *caller, bool *signal_frame)
{
	enum step_result sr;

	sr = native__cfi_step(f->map->obj, f->lookup, cur, &u->mem, caller,
			      signal_frame);
	if (sr == STEP_NO_INFO) {
		sr = signal__sigreturn_step(u, f, cur, caller);
		if (sr != STEP_NO_INFO)
			*signal_frame = sr == STEP_OK;
	}
	if (sr == STEP_NO_INFO && !f->activation)
		sr = native__leaf_without_cfi(u, cur, f->map, f->lookup,
					      caller);
	if (sr == STEP_NO_INFO)
		sr = native__prologue_step(u, cur, f->map, f->lookup, caller);
	return sr;
}

/* The stack copy ends in a Go frame whose frame record is at rbp (pcsp
 * put its top right above it): the Go frames go on by frame pointer, from
 * the kernel's callchain, where it reached that record. */
static bool copy_end_to_chain(struct unwind_ctx *u, const struct regs *cur,
			      const struct regs *caller)
{
	uint64_t bp = cur->r[UNWIND_REG_BP];
	int64_t k;

	if (!(cur->valid & REG_BIT(UNWIND_REG_BP)) ||
	    bp + 16 != caller->r[UNWIND_REG_SP])
		return false;
	k = goroutine__chain_sync(u, bp);
	if (k < 0)
		return false;
	goroutine__fp_walk(u, bp, k, NULL, 0, u->mem.frozen);
	return true;
}

/* A caller read from the live process (a frozen stack) must call the
 * function of frame @f (asmcgocall reaches C by a jump): NULL, or why the
 * stack ends here. */
static const char *frozen_caller_check(struct unwind_ctx *u,
				       const struct frame_at *f, bool is_go,
				       const struct regs *caller)
{
	uint64_t ra = caller->r[UNWIND_REG_IP];
	struct map *cm = procmap__find(u->pm, u->proc, ra - 1);
	struct go_func cfn;
	/* C: any call (an FDE's start is not always the function called: a
	 * .cold part is jumped to) */
	uint64_t entry = is_go ? f->fn.entry : 0;

	if (!cm || !cm->obj)
		return "unmapped return address";
	/* goroutines start with a made-up return address into goexit */
	if (cm->obj->go && elf_obj__is_go_pc(cm->obj, ra - 1 - cm->bias) &&
	    !pclntab__find_func(cm->obj->go, ra - 1 - cm->bias, &cfn) &&
	    (go__special(&cfn) == GO_ASMCGOCALL ||
	     (cfn.flag & CGOPROF_GO_FUNCFLAG_TOPFRAME)))
		return NULL;
	if (!native__is_call_to(cm->obj, ra - cm->bias, entry, f->map->obj))
		return "C frames changed since the sample";
	return NULL;
}

void unwind__regs(struct unwind_ctx *u, struct regs *cur, bool activation)
{
	struct unwind_result *r = u->r;
	uint32_t fflags = activation ? 0 : UNWIND_FRAME_LEAF;
	bool from_c = false;

	if (++u->switches > CGOPROF_MAX_SWITCHES) {
		unwind__truncate(r, "too many stack switches");
		return;
	}
	for (;;) {
		struct frame_at f = {
			.pc = cur->r[UNWIND_REG_IP],
			.activation = activation,
			.from_c = from_c,
		};
		struct regs caller;
		enum step_result sr;
		bool signal_frame = false, is_go;
		const char *why;

		if (r->n >= CGOPROF_MAX_FRAMES) {
			unwind__truncate(r, "depth limit");
			return;
		}
		f.map = procmap__find(u->pm, u->proc,
				      activation ? f.pc - 1 : f.pc);
		if (!f.map || !f.map->obj) {
			unmapped_frame(u, &f, cur, fflags);
			return;
		}
		if (!(f.map->prot & PROT_EXEC) &&
		    (activation || f.pc != u->sample.r[UNWIND_REG_IP])) {
			/* a word of a file's data read as a return address,
			 * or as the pc a signal interrupted */
			unwind__truncate(r, "return address not in code");
			return;
		}
		unwind__push(r, f.pc, f.map, fflags);
		f.lookup = (activation ? f.pc - 1 : f.pc) - f.map->bias;
		is_go = elf_obj__is_go_pc(f.map->obj, f.lookup) &&
			!pclntab__find_func(f.map->obj->go, f.lookup, &f.fn) &&
			!f.fn.host;
		if (is_go && activation && f.lookup + 1 == f.fn.end &&
		    go__is_switch_marker(u, f.pc)) {
			/* not a return address (no Go call returns to an
			 * entry: functions are padded): named and stepped at
			 * itself, as Go's traceback does */
			r->frames[r->n - 1].flags |= UNWIND_FRAME_LEAF;
			f.lookup = f.pc - f.map->bias;
			is_go = !pclntab__find_func(f.map->obj->go, f.lookup,
						    &f.fn);
		}
		if (is_go)
			sr = go__frame_step(u, &f, cur, &caller, &signal_frame);
		else
			sr = c_frame_step(u, &f, cur, &caller, &signal_frame);
		if (sr == STEP_DONE)
			return;
		if (sr != STEP_OK)
			caller.r[UNWIND_REG_SP] =
				is_go ? caller.r[UNWIND_REG_SP] : 0;
		from_c = !is_go;
		/* a signal frame: the kernel made the handler return to
		 * this trampoline's first instruction, and the next frame
		 * is the pc the signal interrupted; both are instructions
		 * of their own, named at their address, not at pc - 1 */
		if (sr == STEP_OK && signal_frame && !is_go && activation)
			r->frames[r->n - 1].flags |= UNWIND_FRAME_LEAF;
		fflags = sr == STEP_OK && signal_frame ? UNWIND_FRAME_LEAF : 0;
		if (sr == STEP_NO_INFO && native__at_entry(f.map, f.lookup)) {
			r->status = STACK_COMPLETE;
			return;
		}
		if (sr == STEP_NO_INFO || (sr == STEP_BAD && !is_go)) {
			sr = native__fp_step(cur, &u->mem, &caller);
			fflags = UNWIND_FRAME_FP;
		}
		switch (sr) {
		case STEP_OK:
			break;
		case STEP_END:
			r->status = STACK_COMPLETE;
			return;
		case STEP_STACK_END:
			if (is_go && copy_end_to_chain(u, cur, &caller))
				return;
			unwind__truncate(r, "stack copy exhausted");
			return;
		default:
			unwind__truncate(r, "no unwind info");
			return;
		}
		if (caller.r[UNWIND_REG_IP] == 0) {
			/* a zeroed return address ends some thread entries */
			r->status = STACK_COMPLETE;
			return;
		}
		/* a leaf that popped its return address into a register
		 * (vfork: glibc's and Go's) leaves sp where the caller's is */
		if (caller.r[UNWIND_REG_SP] <= cur->r[UNWIND_REG_SP] &&
		    !signal_frame &&
		    !(!activation &&
		      caller.r[UNWIND_REG_SP] == cur->r[UNWIND_REG_SP])) {
			unwind__truncate(r, "stack went backwards");
			return;
		}
		if (u->mem.frozen && !signal_frame &&
		    fflags != UNWIND_FRAME_FP &&
		    (why = frozen_caller_check(u, &f, is_go, &caller))) {
			unwind__truncate(r, why);
			return;
		}
		*cur = caller;
		activation = !signal_frame;
	}
}

/* ---- backends ---- */

static void native_walk(struct unwind_ctx *u, const struct regs *regs)
{
	struct regs start = *regs;

	unwind__regs(u, &start, false);
}

static const struct unwind_backend_ops unwind_native_backend = {
	.name = "native",
	.walk = native_walk,
	.retry_live = true,
};

/* The native backend, its C frames checked against libunwind's. */
static const struct unwind_backend_ops unwind_compare_backend = {
	.name = "compare",
	.walk = native_walk,
	.retry_live = true,
	.check = &unwind_libunwind_backend,
};

static const struct unwind_backend_ops *const unwind_backends[] = {
	[UNWINDER_NATIVE] = &unwind_native_backend,
	[UNWINDER_LIBUNWIND] = &unwind_libunwind_backend,
	[UNWINDER_COMPARE] = &unwind_compare_backend,
};

/* Walks the user part with @ops from @regs, again while a frozen stack
 * read from the live process changed under the walk (the C call or the
 * callback returned in between: read again, a little later, a couple of
 * times). Then the result's last checks, whatever the backend. */
static void backend_run(const struct unwind_backend_ops *ops,
			struct unwind_ctx *u, const struct regs *regs)
{
	struct unwind_result *r = u->r;

	for (int attempt = 0;; attempt++) {
		u->mem.live_failed = false;
		u->mem.used_live = false;
		u->mem.frozen = false;
		u->mem.snap_checked = false;
		u->switches = 0;
		u->g = u->sample.r[UNWIND_REG_R14];
		mem__forget_live(&u->mem);
		r->n = u->nkernel;
		r->status = STACK_COMPLETE;
		r->reason = NULL;
		ops->walk(u, regs);
		if (!ops->retry_live || r->status != STACK_TRUNCATED ||
		    !u->mem.live_failed || attempt == CGOPROF_LIVE_ATTEMPTS - 1)
			break;
	}
	if (u->mem.used_live && r->status == STACK_COMPLETE)
		r->status = STACK_RECONSTRUCTED;
	/* every way of walking ends here: a frame past the sampled ip whose
	 * pc lies in a file's data, not its code, is a data word taken for
	 * a pc; the stack ends before it */
	for (uint32_t k = u->nkernel + 1; k < r->n; k++) {
		const struct map *m = r->frames[k].map;

		if (m && m->obj && !(m->prot & PROT_EXEC)) {
			r->n = k;
			unwind__truncate(r, "return address not in code");
			break;
		}
	}
}

/* Number of leading user C frames (before the first Go frame) of @r;
 * *@first: the index of the first user frame. */
static uint32_t c_prefix(const struct unwind_result *r, uint32_t *first)
{
	uint32_t i = 0, n = 0;

	while (i < r->n && (r->frames[i].flags & UNWIND_FRAME_KERNEL))
		i++;
	*first = i;
	for (; i < r->n; i++, n++) {
		const struct unwind_frame *f = &r->frames[i];
		uint64_t pc = f->pc - (f->flags & UNWIND_FRAME_LEAF ? 0 : 1);

		if (f->map && f->map->obj &&
		    elf_obj__is_go_pc(f->map->obj, pc - f->map->bias))
			break;
	}
	return n;
}

/* The C frames @b (the @check backend's) finds must be @a's, frame for
 * frame, where both reached them. */
static enum unwind_compare
compare_c_frames(struct unwind_ctx *u, const struct unwind_backend_ops *check,
		 const struct unwind_result *a, const struct unwind_result *b)
{
	uint32_t na, nb, fa, fb, n;
	bool differ;

	na = c_prefix(a, &fa);
	nb = c_prefix(b, &fb);
	/* a pc nobody maps ends libunwind's chain: it went off the stack */
	for (uint32_t i = 0; i < nb; i++)
		if (!b->frames[fb + i].map) {
			nb = i;
			break;
		}
	if (!na || !nb)
		return UNWIND_COMPARE_NONE;
	/* where libunwind gave up early (no .eh_frame_hdr entry), compare
	 * what it has; a longer or different chain is a disagreement */
	n = na < nb ? na : nb;
	differ = nb > na;
	for (uint32_t i = 0; i < n && !differ; i++)
		differ = a->frames[fa + i].pc != b->frames[fb + i].pc;
	/* libunwind ending the stack sooner says it found its root, unless
	 * no CFI describes its last frame (clone3's syscall, which the
	 * native unwinder steps by the call at sp): then it only stopped */
	if (!differ && nb < na && b->status == STACK_COMPLETE) {
		const struct unwind_frame *l = &b->frames[fb + nb - 1];
		uint64_t pc = l->pc - (l->flags & UNWIND_FRAME_LEAF ? 0 : 1);

		differ = !l->map->obj ||
			 elf_obj__cfi_covers(l->map->obj, pc - l->map->bias);
	}
	if (!differ)
		return UNWIND_COMPARE_AGREE;
	pr_info("unwinders disagree (pid %u tid %u): native %u C frames, "
		"%s %u (%s)", u->s->pid, u->s->tid, na, check->name, nb,
		b->reason ? b->reason : "complete");
	for (uint32_t i = 0; i < na || i < nb; i++) {
		uint64_t pa = i < na ? a->frames[fa + i].pc : 0;
		uint64_t pb = i < nb ? b->frames[fb + i].pc : 0;

		pr_debug("  #%u native %#llx %s %#llx", i,
			 (unsigned long long)pa, check->name,
			 (unsigned long long)pb);
	}
	return UNWIND_COMPARE_DISAGREE;
}

/* The @check backend on the sample of @start (the context before any
 * walk), its stack compared with @r's. */
static enum unwind_compare
backend_check(const struct unwind_backend_ops *check,
	      const struct unwind_ctx *start, const struct regs *regs,
	      const struct unwind_result *r)
{
	/* once per thread: not a result on the stack per sample */
	static __thread struct unwind_result *other;
	struct unwind_ctx u = *start;

	if (!other)
		other = calloc(1, sizeof(*other));
	if (!other)
		return UNWIND_COMPARE_NONE;
	memcpy(other->frames, r->frames, u.nkernel * sizeof(r->frames[0]));
	other->root = NULL;
	other->compare = UNWIND_COMPARE_NONE;
	u.r = other;
	backend_run(check, &u, regs);
	return compare_c_frames(&u, check, r, other);
}

int unwind__sample(struct procmap *pm, struct proc *p,
		   const struct perf_sample *s, const struct unwind_opts *o,
		   struct unwind_result *r)
{
	struct unwind_ctx u = {
		.pm = pm,
		.proc = p,
		.s = s,
		.o = o,
		.r = r,
	};
	const struct unwind_backend_ops *ops;
	struct unwind_ctx start;
	struct regs regs = { 0 };
	uint64_t i = 0;

	r->n = 0;
	r->status = STACK_COMPLETE;
	r->reason = NULL;
	r->root = NULL;
	r->compare = UNWIND_COMPARE_NONE;

	/* kernel part of the callchain: PERF_CONTEXT_KERNEL, ips, ... */
	if (s->callchain_nr && s->callchain[0] == PERF_CONTEXT_KERNEL) {
		for (i = 1; i < s->callchain_nr; i++) {
			uint64_t ip = s->callchain[i];

			if (ip >= CGOPROF_PERF_CONTEXT_MAX)
				break;
			if (!o->user_only)
				unwind__push(r, ip, NULL,
					     UNWIND_FRAME_KERNEL |
						     (i == 1 ? UNWIND_FRAME_LEAF
							     : 0));
		}
	}
	u.chain_user = NULL;
	u.chain_user_nr = 0;
	for (; i < s->callchain_nr; i++) {
		if (s->callchain[i] == PERF_CONTEXT_USER) {
			u.chain_user = &s->callchain[i + 1];
			u.chain_user_nr = s->callchain_nr - i - 1;
			break;
		}
	}
	if (!s->regs_abi || !p) {
		if (!r->n)
			return -EINVAL;
		/* a kernel thread, or no user state: the kernel stack is all */
		return 0;
	}
	unwind__sample_regs(s, regs.r, &regs.valid);
	u.sample = regs;
	u.mem.stack_lo = regs.r[UNWIND_REG_SP];
	u.mem.stack = s->stack;
	u.mem.stack_len = s->stack ? s->stack_dyn_size : 0;
	u.mem.pid = p->pid;
	u.mem.live = o->live_reads;
	/* memory copied at the sample's time by the snapshot program: a
	 * goroutine's stack (in a cgo call) or the system stack (in a
	 * callback), as exact as the stack copy */
	u.mem.snap = o->go_snapshot;
	u.nkernel = r->n;
	if (s->callchain_nr && s->callchain[0] == PERF_CONTEXT_KERNEL &&
	    o->nprobe_sites)
		native__trap_ip(&u, &regs);
	if (native__in_exec(&u, &regs)) {
		/* the user part is the exec itself: there is no image to
		 * unwind, and the kernel's frames are the whole stack */
		r->root = "[exec]";
		return 0;
	}
	ops = (unsigned)o->backend < sizeof(unwind_backends) /
					     sizeof(unwind_backends[0])
		      ? unwind_backends[o->backend]
		      : &unwind_native_backend;
	start = u;
	backend_run(ops, &u, &regs);
	if (ops->check)
		r->compare = backend_check(ops->check, &start, &regs, r);
	return 0;
}

void unwind__sample_regs(const struct perf_sample *s,
			 uint64_t regs[UNWIND_NREGS], uint32_t *valid)
{
	*valid = 0;
	for (int reg = 0; reg < NREGS; reg++) {
		regs[reg] = s->regs[dwarf_to_perf[reg]];
		*valid |= REG_BIT(reg);
	}
}
