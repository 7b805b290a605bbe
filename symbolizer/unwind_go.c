// SPDX-License-Identifier: MIT
/* Go frames for the native backend: the pcsp steps (Go's own unwind table,
 * exact at every pc), and the rules for the runtime functions where a
 * goroutine's stack and the thread's g0 stack meet. Go code runs on the
 * goroutine's stack; C code (cgo calls), the scheduler and stack growth
 * run on g0. Where the walk reaches such a function it follows the stack
 * that continues it, or ends truncated with a reason:
 *   asmcgocall      Go -> C: the C frames are on g0; the goroutine's
 *                   frames go on from rbp (asmcgocall_to_goroutine)
 *   cgocallback     C -> Go: the C caller is on g0, below crosscall2
 *                   (go__cgocallback)
 *   systemstack     g0 runs a function for a waiting goroutine
 *   mcall           a goroutine parked, exited or yielded to g0
 *   morestack       a goroutine's stack grows (newstack on g0)
 *   asyncPreempt    a goroutine preempted by a signal (no stack switch,
 *                   but the pc it returns to is no return address)
 * The goroutine's side is found through unwind_goroutine.c: the kernel's
 * callchain, the probes' records, the snapshot, g and m in memory. */
#include <errno.h>
#include <string.h>

#include "cgoprof/golayout.h"
#include "cgoprof/log.h"
#include "internal.h"

/* crosscall2's frame (PUSH_REGS_HOST_TO_ABI0): the C caller's rbx, r12,
 * r13, r14, r15 at bp - 40 .. bp - 8, its rbp at bp: 6 words from
 * bp - CROSSCALL2_SAVED, which the frame (pcsp) holds at least. */
#define CROSSCALL2_SAVED 40
#define CROSSCALL2_NSAVED 6

/* The runtime functions the walk treats specially, without "runtime.":
 * the names are the reasons of the stacks truncated there. */
static const struct {
	const char *name;
	enum go_special kind;
} go_specials[] = {
	{ "asmcgocall", GO_ASMCGOCALL },
	{ "asmcgocall_landingpad", GO_ASMCGOCALL },
	{ "cgocallback", GO_CGOCALLBACK },
	{ "cgocall", GO_CGOCALL },
	{ "systemstack", GO_SYSTEMSTACK },
	{ "mcall", GO_NO_WAY_BACK },
	{ "morestack", GO_NO_WAY_BACK },
	{ "morestack_noctxt", GO_NO_WAY_BACK },
};

#define GO_SPECIALS (sizeof(go_specials) / sizeof(go_specials[0]))

static int go_special_index(const char *name)
{
	/* at every Go frame: most names fail at their first byte */
	if (name[0] != 'r' || strncmp(name, "runtime.", 8))
		return -1;
	name += 8;
	for (size_t i = 0; i < GO_SPECIALS; i++)
		if (!strcmp(name, go_specials[i].name))
			return (int)i;
	return -1;
}

enum go_special go__special(const struct go_func *fn)
{
	/* at every Go frame: the name is read only for the runtime's */
	int i = fn->runtime ? go_special_index(fn->name) : -1;

	return i < 0 ? GO_PLAIN : go_specials[i].kind;
}

const char *go__special_reason(const char *name)
{
	int i = go_special_index(name);

	if (i >= 0)
		return go_specials[i].name;
	/* not reached: callers pass special functions only */
	pr_debug("unwind: a stack switch in %s", name);
	return "Go stack switch";
}

/* ---- the code around the switches ---- */

/* The return site of @fn's only direct call of the function named @callee
 * (found by its CALL rel32), or 0 when there is not exactly one. */
static uint64_t call_site_to(struct elf_obj *o, const struct go_func *fn,
			     const char *callee)
{
	uint8_t code[4096];
	struct go_func target;
	size_t n = (size_t)(fn->end - fn->entry);
	uint64_t found = 0;
	int hits = 0;

	if (n > sizeof(code) || elf_obj__go_func(o, callee, &target) ||
	    elf_obj__read(o, fn->entry, code, n))
		return 0;
	for (size_t i = 0; i + 5 <= n; i++) {
		int32_t rel;

		if (code[i] != 0xe8)
			continue;
		memcpy(&rel, code + i + 1, 4);
		if (fn->entry + i + 5 + (uint64_t)(int64_t)rel == target.entry) {
			found = fn->entry + i + 5;
			hits++;
		}
	}
	return hits == 1 ? found : 0;
}

/* The return site of runtime.cgocall's call of asmcgocall: before Go 1.21
 * asmcgocall has no frame, so the frame-pointer chain skips cgocall and
 * it is added back at this (only) call site. Found once per binary. */
uint64_t go__cgocall_return_site(struct elf_obj *o)
{
	struct go_func fn;

	if (o->go_rt_tried)
		return o->go_cgocall_ret;
	o->go_rt_tried = true;
	if (!elf_obj__go_func(o, "runtime.cgocall", &fn))
		o->go_cgocall_ret = call_site_to(o, &fn, "runtime.asmcgocall");
	return o->go_cgocall_ret;
}

/* Whether the code before return address @ra (link-time, in Go binary @o)
 * is a direct call of runtime.morestack or runtime.morestack_noctxt: the
 * call a function's prologue makes when its stack must grow. */
bool go__is_morestack_call(struct elf_obj *o, uint64_t ra)
{
	uint8_t c[5];
	int32_t rel;
	struct go_func fn;

	if (ra < 5 || elf_obj__read(o, ra - 5, c, sizeof(c)) || c[0] != 0xe8)
		return false;
	memcpy(&rel, c + 1, 4);
	return !pclntab__find_func(o->go, ra + (uint64_t)(int64_t)rel, &fn) &&
	       !strncmp(fn.name, "runtime.morestack", 17);
}

/* Whether the instruction before link-time @ra in Go object @o is a direct
 * call of gosave_systemstack_switch: asmcgocall calls it while still on
 * the goroutine's stack, where pcsp describes its frame. */
static bool calls_gosave(struct elf_obj *o, uint64_t ra)
{
	struct go_func fn;
	uint8_t c[5];
	int32_t rel;

	if (ra < 5 || elf_obj__read(o, ra - 5, c, sizeof(c)) || c[0] != 0xe8)
		return false;
	memcpy(&rel, c + 1, 4);
	return !pclntab__find_func(o->go, ra + (uint64_t)(int64_t)rel, &fn) &&
	       !strcmp(fn.name, "gosave_systemstack_switch");
}

/* Whether @pc (absolute) is the pc Go's runtime saves in g.sched where a
 * goroutine leaves its stack for g0 (gosave_systemstack_switch: the entry
 * of runtime.systemstack_switch before Go 1.21, entry + 8 from 1.21), not
 * a return address: cgocallback "pushes" it as the return address of its
 * frame on the goroutine's stack, and Go's traceback names it by the pc
 * itself, not pc - 1 (the function before, at an entry). */
bool go__is_switch_marker(struct unwind_ctx *u, uint64_t pc)
{
	struct map *map = procmap__find(u->pm, u->proc, pc);
	struct go_func fn;

	return map && map->obj && map->obj->go &&
	       elf_obj__is_go_pc(map->obj, pc - map->bias) &&
	       !pclntab__find_func(map->obj->go, pc - map->bias, &fn) &&
	       !strcmp(fn.name, "runtime.systemstack_switch") &&
	       (pc - map->bias == fn.entry || pc - map->bias == fn.entry + 8);
}

/* ---- steps of one Go frame ---- */

/* Go frame by pcsp: exact at every pc, frameless leaves and prologues.
 * Reads the return address (and the saved rbp, where the frame has one)
 * at the frame's top. */
static enum step_result go_step(struct elf_obj *o, uint64_t lookup,
				const struct regs *cur, struct mem_view *m,
				struct regs *caller, const struct go_func *fn)
{
	int32_t delta;
	uint64_t cfa, ra, bp;

	if (fn->flag & CGOPROF_GO_FUNCFLAG_TOPFRAME)
		return STEP_END;
	if (pclntab__sp_delta(o->go, fn, lookup, &delta) || delta < 0 ||
	    delta > (1 << 24))
		return STEP_BAD;
	cfa = cur->r[UNWIND_REG_SP] + (uint64_t)delta + 8;
	/* also on failure: tells where the frame ends */
	caller->r[UNWIND_REG_SP] = cfa;
	if (!mem__read(m, cfa - 8, &ra))
		return STEP_STACK_END;
	*caller = *cur;
	/* Only rbp survives a Go call (ABIInternal clobbers the rest). */
	caller->valid = REG_BIT(UNWIND_REG_SP) | REG_BIT(UNWIND_REG_IP) |
			(cur->valid & REG_BIT(UNWIND_REG_BP));
	caller->r[UNWIND_REG_SP] = cfa;
	caller->r[UNWIND_REG_IP] = ra;
	if (delta >= 8 && mem__read(m, cfa - 16, &bp))
		caller->r[UNWIND_REG_BP] = bp;
	return STEP_OK;
}

/* A Go leaf whose pcsp is negative: an assembly function that popped its
 * own return address into a register (syscall.rawVforkSyscall, so that
 * the vfork child does not write the stack it shares with the parent).
 * The pop is the instruction that ends where pcsp turns negative; its
 * register (POPQ r, or with REX.B for r8-r15) holds the return address,
 * which must return from a call of this function. */
static enum step_result popped_ra_step(struct unwind_ctx *u, struct elf_obj *o,
				       const struct go_func *fn, uint64_t lookup,
				       const struct regs *cur,
				       struct regs *caller)
{
	uint64_t pc = lookup;
	int32_t d = 0, prev = 0;
	uint8_t c[2];

	/* pclntab__sp_delta refuses a negative value (-EINVAL) but gives it */
	if (pclntab__sp_delta(o->go, fn, pc, &d) != -EINVAL || d != -8)
		return STEP_BAD;
	for (; pc > fn->entry; pc--) {
		prev = 0;
		if (pclntab__sp_delta(o->go, fn, pc - 1, &prev) != -EINVAL ||
		    prev >= 0)
			break;
	}
	if (pc < fn->entry + 2 || elf_obj__read(o, pc - 2, c, 2) ||
	    c[1] < 0x58 || c[1] > 0x5f)
		return STEP_BAD;
	for (int rex = 1; rex >= 0; rex--) {
		int reg = rex ? UNWIND_REG_R8 + (c[1] - 0x58)
			      : native__x86_reg[c[1] - 0x58];
		uint64_t ra = cur->r[reg];
		struct map *cm;

		if ((rex && c[0] != 0x41) || !(cur->valid & REG_BIT(reg)) ||
		    ra < 1)
			continue;
		cm = procmap__find(u->pm, u->proc, ra - 1);
		if (!cm || !cm->obj ||
		    !native__is_call_to(cm->obj, ra - cm->bias, fn->entry, o))
			continue;
		*caller = *cur;
		caller->valid = REG_BIT(UNWIND_REG_SP) |
				REG_BIT(UNWIND_REG_IP) |
				(cur->valid & REG_BIT(UNWIND_REG_BP));
		/* the return address was at sp - 8 (d): the caller's sp is
		 * sp itself */
		caller->r[UNWIND_REG_SP] =
			cur->r[UNWIND_REG_SP] + (uint64_t)(int64_t)d + 8;
		caller->r[UNWIND_REG_IP] = ra;
		return STEP_OK;
	}
	return STEP_BAD;
}

/* A Go assembly function that writes SP itself (SPWRITE: runtime.
 * callCgoMmap and its kind align SP for C code with ANDQ): pcsp does not
 * follow such writes. Its frame record, which its prologue set up (pcsp
 * >= 8 here), does: rbp (callee saved, so still it in the C code it
 * called) holds the caller's frame pointer and return address, which
 * must return from a call of this function. The record may be on
 * another stack than sp: runtime.nanotime1 and walltime move sp to g0's
 * stack before they call the vDSO, and rbp stays on the goroutine's,
 * which can be below or above g0's. */
/* Return address @ra follows a call of @fn (in any mapped object); of
 * any function when @fn is NULL. */
static bool returns_from_call_of(struct unwind_ctx *u, struct elf_obj *o,
				 const struct go_func *fn, uint64_t ra)
{
	struct map *cm = ra ? procmap__find(u->pm, u->proc, ra - 1) : NULL;

	return cm && cm->obj &&
	       native__is_call_to(cm->obj, ra - cm->bias, fn ? fn->entry : 0,
				  o);
}

static enum step_result spwrite_step(struct unwind_ctx *u, struct elf_obj *o,
				     const struct go_func *fn, uint64_t lookup,
				     const struct regs *cur, struct regs *caller)
{
	uint64_t bp = cur->r[UNWIND_REG_BP], nbp, ra;
	int32_t d;

	if ((fn->flag & CGOPROF_GO_FUNCFLAG_TOPFRAME) ||
	    pclntab__sp_delta(o->go, fn, lookup, &d) || d < 8 ||
	    !(cur->valid & REG_BIT(UNWIND_REG_BP)) || (bp & 7) || !bp ||
	    !mem__read(&u->mem, bp, &nbp) ||
	    !mem__read(&u->mem, bp + 8, &ra) || ra < 1 ||
	    !returns_from_call_of(u, o, fn, ra))
		return STEP_NO_INFO;
	*caller = *cur;
	caller->valid = REG_BIT(UNWIND_REG_BP) | REG_BIT(UNWIND_REG_SP) |
			REG_BIT(UNWIND_REG_IP);
	caller->r[UNWIND_REG_BP] = nbp;
	caller->r[UNWIND_REG_SP] = bp + 16;
	caller->r[UNWIND_REG_IP] = ra;
	return STEP_OK;
}

/* An SPWRITE function that moved sp to g0's stack (time.now, nanotime1:
 * to call the vDSO) keeps its frame record on the goroutine's stack,
 * which the sample's copy (of g0's) does not hold: its frames go on by
 * frame pointer from rbp where the kernel's callchain reached it, the
 * first return address a call of this function. */
static bool spwrite_chain(struct unwind_ctx *u, const struct frame_at *f,
			  const struct regs *cur)
{
	uint64_t bp = cur->r[UNWIND_REG_BP];
	int64_t k;

	if (!(cur->valid & REG_BIT(UNWIND_REG_BP)) || !bp || (bp & 7))
		return false;
	k = goroutine__chain_sync(u, bp);
	if (k < 0)
		return false;
	goroutine__fp_walk(u, bp, k, f->map->obj, f->fn.entry, u->mem.frozen);
	return true;
}

/* ---- the stack-switch rules ---- */

/* Rule asmcgocall (Go -> C): applies to runtime.asmcgocall as the return
 * address of a C frame. The C frames are done: asmcgocall switched to g0
 * and called C with rbp (callee saved) the goroutine's frame pointer and
 * r14 (callee saved too) Go's g register. Reads rbp and r14; the
 * goroutine's frames go on from rbp by frame pointer: from the kernel's
 * callchain where it reached rbp, else from the cgo entry record (the C
 * code used rbp, and the stack copy does not hold it), else from the
 * stack copy, the snapshot or the frozen stack in the live process. */
static void asmcgocall_to_goroutine(struct unwind_ctx *u,
				    const struct frame_at *f,
				    const struct regs *cur)
{
	uint64_t bp = cur->r[UNWIND_REG_BP], v;
	int64_t k;

	if (cur->valid & REG_BIT(UNWIND_REG_R14))
		u->g = cur->r[UNWIND_REG_R14];
	if (!(cur->valid & REG_BIT(UNWIND_REG_BP))) {
		unwind__truncate(u->r, "rbp lost in C frames");
		return;
	}
	k = goroutine__chain_sync(u, bp);
	if (k < 0 && !mem__read_copy(&u->mem, bp, &v) &&
	    goroutine__cgo_entry_walk(u, bp))
		return;
	goroutine__fp_walk(u, bp, k, f->map->obj, f->fn.entry, true);
}

/* Rule inside asmcgocall: applies to runtime.asmcgocall as the leaf, or
 * as a return address not of C code. Between its switch to g0 and its
 * call of C, sp is on neither stack's frame: the stack ends truncated
 * ("inside asmcgocall"). Except at a uprobe's instruction (the leaf at
 * its entry, or right after), where it is still on the goroutine's stack,
 * a frame of its own, and at the return from its call of
 * gosave_systemstack_switch, made on the goroutine's stack too. Reads the
 * code before the return address. */
static bool asmcgocall_mid_switch(struct unwind_ctx *u,
				  const struct frame_at *f)
{
	return (f->activation || f->pc != u->probe_pc) &&
	       !(f->activation && calls_gosave(f->map->obj, f->lookup + 1));
}

/* The C caller of a callback from its crosscall2 entry record (struct
 * cgo_callback): its registers and its stack as they were when the
 * callback began. Applies when the recording has such records and one
 * sits just above cgocallback's frame record @bp_cb. */
static bool callback_from_entry(struct unwind_ctx *u, uint64_t bp_cb)
{
	const struct cgo_callback *e;
	struct regs c = { 0 };
	struct map *map;
	struct go_func fn;
	uint64_t site, pc;

	if (!u->o->cgo_callback)
		return false;
	e = u->o->cgo_callback(u->o->cgo_ctx, u->s->tid, bp_cb, u->s->time);
	if (!e || e->len < 8)
		return false;
	/* crosscall2 itself: the return site of its one call of cgocallback */
	pc = e->regs[UNWIND_REG_IP];
	map = procmap__find(u->pm, u->proc, pc);
	if (!map || !map->obj || !map->obj->go ||
	    pclntab__find_func(map->obj->go, pc - map->bias, &fn) ||
	    strcmp(fn.name, "crosscall2"))
		return false;
	if (!map->obj->go_cb_tried) {
		map->obj->go_cb_tried = true;
		map->obj->go_crosscall2_ret =
			call_site_to(map->obj, &fn, "runtime.cgocallback");
	}
	site = map->obj->go_crosscall2_ret;
	if (!site)
		return false;
	unwind__push(u->r, site + map->bias, map, 0);
	for (int i = 0; i < NREGS; i++)
		c.r[i] = e->regs[i];
	c.valid = e->valid;
	/* the C caller's return address */
	memcpy(&c.r[UNWIND_REG_IP], e->stack, 8);
	c.r[UNWIND_REG_SP] = e->regs[UNWIND_REG_SP] + 8;
	c.valid |= REG_BIT(UNWIND_REG_IP) | REG_BIT(UNWIND_REG_SP);
	u->mem.stack_lo = e->regs[UNWIND_REG_SP];
	u->mem.stack = e->stack;
	u->mem.stack_len = e->len;
	u->mem.frozen = false;
	unwind__regs(u, &c, true);
	return true;
}

/* Rule cgocallback (C -> Go): applies to runtime.cgocallback as a return
 * address, in the register walk or the frame-pointer walk of a goroutine.
 * Its frame record is on g0 (@bp_cb), below crosscall2's, which saved the
 * C caller's callee-saved registers; those frames are frozen while the
 * callback runs. From the entry record when there is one; else reads
 * crosscall2's frame: the saved registers at bp - 40 .. bp - 8 and the
 * caller's rbp at bp, where bp = [bp_cb]; from Go 1.21 the assembler also
 * gives crosscall2 a frame of its own, so [bp] is that frame's record and
 * the caller's rbp sits below the return address. Its frame size comes
 * from pcsp, as for any Go function. The C caller's return address must
 * follow a call of crosscall2. */
void go__cgocallback(struct unwind_ctx *u, uint64_t bp_cb)
{
	struct unwind_result *r = u->r;
	uint64_t bp_cc2, ra_cc2, saved[CROSSCALL2_NSAVED], cfa, ra, rbp;
	uint64_t cc2_entry;
	struct elf_obj *cc2_obj;
	struct regs c = { 0 };
	struct go_func fn;
	struct map *map;
	int32_t delta;

	if (callback_from_entry(u, bp_cb))
		return;
	u->mem.frozen = true;
	if (!mem__read(&u->mem, bp_cb, &bp_cc2) ||
	    !mem__read(&u->mem, bp_cb + 8, &ra_cc2)) {
		unwind__truncate(r, u->mem.live
					    ? "callback's C frames not readable"
					    : "callback's C frames need live reads");
		return;
	}
	map = procmap__find(u->pm, u->proc, ra_cc2 - 1);
	if (!map || !map->obj || !map->obj->go ||
	    pclntab__find_func(map->obj->go, ra_cc2 - 1 - map->bias, &fn) ||
	    strcmp(fn.name, "crosscall2") ||
	    pclntab__sp_delta(map->obj->go, &fn, ra_cc2 - 1 - map->bias,
			      &delta) ||
	    delta < 8 * CROSSCALL2_NSAVED || delta > 4096 || bp_cc2 <= bp_cb) {
		unwind__truncate(r, "bad crosscall2 frame");
		return;
	}
	unwind__push(r, ra_cc2, map, 0);
	cfa = bp_cb + 16 + (uint64_t)delta + 8;
	cc2_obj = map->obj;
	cc2_entry = fn.entry;
	for (int i = 0; i < CROSSCALL2_NSAVED; i++) {
		uint64_t at = bp_cc2 - CROSSCALL2_SAVED + 8 * (uint64_t)i;

		if (!mem__read(&u->mem, at, &saved[i])) {
			unwind__truncate(r, "callback's C frames not readable");
			return;
		}
	}
	rbp = saved[5];
	if (!mem__read(&u->mem, cfa - 8, &ra) ||
	    (rbp == cfa - 16 && !mem__read(&u->mem, cfa - 16, &rbp))) {
		unwind__truncate(r, "callback's C frames not readable");
		return;
	}
	map = procmap__find(u->pm, u->proc, ra - 1);
	if (!map || !map->obj ||
	    !native__is_call_to(map->obj, ra - map->bias, cc2_entry, cc2_obj)) {
		unwind__truncate(r, "callback's C frames changed since the sample");
		return;
	}
	c.r[UNWIND_REG_BX] = saved[0];
	c.r[UNWIND_REG_R12] = saved[1];
	c.r[UNWIND_REG_R13] = saved[2];
	c.r[UNWIND_REG_R14] = saved[3];
	c.r[UNWIND_REG_R15] = saved[4];
	c.r[UNWIND_REG_BP] = rbp;
	c.r[UNWIND_REG_IP] = ra;
	c.r[UNWIND_REG_SP] = cfa;
	c.valid = REG_BIT(UNWIND_REG_BX) | REG_BIT(UNWIND_REG_R12) |
		  REG_BIT(UNWIND_REG_R13) | REG_BIT(UNWIND_REG_R14) |
		  REG_BIT(UNWIND_REG_R15) | REG_BIT(UNWIND_REG_BP) |
		  REG_BIT(UNWIND_REG_IP) | REG_BIT(UNWIND_REG_SP);
	unwind__regs(u, &c, true);
}

/* Rule cgocallback switching: applies to a leaf in runtime.cgocallback
 * whose pcsp step gave a caller pc that is the switch marker (see
 * go__is_switch_marker): cgocallback moved its frame to the goroutine's
 * stack under the pc the goroutine left at. The way on is its frame
 * record on g0, in rbp, to its caller crosscall2 (spwrite_step, which
 * reads it and replaces @caller); without one the stack ends truncated
 * ("cgocallback switching stacks"). */
static bool cgocallback_leaf_switching(struct unwind_ctx *u,
				       const struct frame_at *f,
				       const struct regs *cur,
				       struct regs *caller)
{
	return go__is_switch_marker(u, caller->r[UNWIND_REG_IP]) &&
	       spwrite_step(u, f->map->obj, &f->fn, f->lookup, cur, caller) !=
		       STEP_OK;
}

/* Rule systemstack without a frame record (before Go 1.21): applies to
 * runtime.systemstack on g0 where pcsp gives it no frame (or rbp is
 * lost). The goroutine waits in it, its sched.sp at systemstack's return
 * address (gosave_systemstack_switch) and sched.bp its caller's frame
 * pointer: reads m.curg's g.sched (goroutine__find_curg), then the
 * goroutine's stack by pcsp from the snapshot, else by frame pointer. The
 * return address at sched.sp must follow a call of systemstack (@entry in
 * @obj). */
static bool systemstack_switch(struct unwind_ctx *u, struct elf_obj *obj,
			       uint64_t entry)
{
	uint64_t sp, pc, bp, ra;
	struct map *map;

	if (!goroutine__find_curg(u, &sp, &pc, &bp) ||
	    !mem__read(&u->mem, sp, &ra))
		return false;
	map = procmap__find(u->pm, u->proc, ra - 1);
	if (!map || !map->obj || !map->obj->go ||
	    !elf_obj__is_go_pc(map->obj, ra - 1 - map->bias) ||
	    !native__is_call_to(map->obj, ra - map->bias, entry, obj))
		return false;
	/* the caller's sp is above the return address */
	if (goroutine__by_pcsp(u, ra, sp + 8, bp))
		return true;
	unwind__push(u->r, ra, map, 0);
	goroutine__fp_walk(u, bp, -1, NULL, 0, true);
	return true;
}

/* Rule systemstack: applies to runtime.systemstack on g0 (an activation,
 * or a leaf past its switch). Like asmcgocall, rbp is then the
 * goroutine's frame pointer: systemstack's own frame record (it has one
 * from Go 1.21: pcsp >= 8 here) links to its caller, and the goroutine's
 * frames go on by frame pointer from rbp (the kernel's callchain where it
 * reached it). Without one, systemstack_switch; failing that the stack
 * ends truncated ("systemstack"). */
static void systemstack_rule(struct unwind_ctx *u, const struct regs *cur,
			     struct map *map, const struct go_func *fn,
			     uint64_t lookup)
{
	uint64_t bp = cur->r[UNWIND_REG_BP];
	int32_t d = 0;

	if (pclntab__sp_delta(map->obj->go, fn, lookup, &d) || d < 8 ||
	    !(cur->valid & REG_BIT(UNWIND_REG_BP))) {
		if (!systemstack_switch(u, map->obj, fn->entry))
			unwind__truncate(u->r, "systemstack");
		return;
	}
	goroutine__fp_walk(u, bp, goroutine__chain_sync(u, bp), NULL, 0, true);
}

/* Rule morestack, from g and m: applies to runtime.morestack on g0 where
 * no morestack record ties in. The goroutine called it from function f's
 * prologue and waits, frozen, while newstack runs on g0: it is m.curg
 * (goroutine__find_curg), or, once newstack took it off its m, the g in
 * newstack's copy of m.morebuf just below @cfa, newstack's frame address
 * (goroutine__find_morebuf_g). Its g.sched holds f's pc, after the call
 * of morestack, and f's sp, where f's return address is. The goroutine's
 * stack is read by pcsp from the snapshot when it holds it, else by frame
 * pointer from the live process, each return address checked. */
static bool morestack_switch(struct unwind_ctx *u, uint64_t cfa)
{
	struct unwind_result *r = u->r;
	uint64_t sp = 0, pc = 0, bp = 0, ra;
	struct map *map;
	struct go_func fn;

	if (!goroutine__find_curg(u, &sp, &pc, &bp) &&
	    !goroutine__find_morebuf_g(u, cfa, &sp, &pc, &bp))
		return false;
	/* f, at the call of morestack in its prologue */
	map = procmap__find(u->pm, u->proc, pc - 1);
	if (!map || !map->obj || !map->obj->go ||
	    pclntab__find_func(map->obj->go, pc - 1 - map->bias, &fn) ||
	    !go__is_morestack_call(map->obj, pc - map->bias))
		return false;
	if (mem__read_copy(&u->mem, sp, &ra)) {
		/* the goroutine's stack as it was at the sample (snapshot):
		 * unwound by pcsp from f's sp, not by frame pointers, which
		 * copystack may have copied but not yet adjusted; nothing
		 * beyond the snapshot is read from the live process, where
		 * the stack is being copied and freed */
		struct regs c = { 0 };

		c.r[UNWIND_REG_IP] = pc;
		c.r[UNWIND_REG_SP] = sp;
		c.r[UNWIND_REG_BP] = bp;
		c.valid = REG_BIT(UNWIND_REG_IP) | REG_BIT(UNWIND_REG_SP) |
			  REG_BIT(UNWIND_REG_BP);
		u->mem.frozen = false;
		unwind__regs(u, &c, true);
		return true;
	}
	unwind__push(r, pc, map, 0);
	/* f's caller: the return address at f's sp (f has no frame yet) */
	if (!mem__read(&u->mem, sp, &ra))
		return false;
	map = procmap__find(u->pm, u->proc, ra - 1);
	if (!map || !map->obj ||
	    !elf_obj__is_go_pc(map->obj, ra - 1 - map->bias) ||
	    !native__is_call_to(map->obj, ra - map->bias, fn.entry, map->obj)) {
		unwind__truncate(r, "goroutine stack changed since the sample");
		return true;
	}
	unwind__push(r, ra, map, 0);
	if (!pclntab__find_func(map->obj->go, ra - 1 - map->bias, &fn) &&
	    (fn.flag & CGOPROF_GO_FUNCFLAG_TOPFRAME)) {
		r->status = STACK_COMPLETE;
		return true;
	}
	goroutine__fp_walk(u, bp, -1, NULL, 0, true);
	return true;
}

/* Rule morestack: applies to runtime.morestack (and morestack_noctxt,
 * which jumps to it) on g0, @g0_sp its callee newstack's frame address.
 * The morestack record of the thread first (exact, from the kernel's
 * callchain at morestack's entry), then g and m (morestack_switch). */
static bool morestack_rule(struct unwind_ctx *u, uint64_t g0_sp)
{
	return goroutine__morestack_record(u, g0_sp) ||
	       morestack_switch(u, g0_sp);
}

/* Rule mcall: applies to runtime.mcall(fn) on g0. A goroutine g
 * (parking, exiting, yielding) switched to g0 and called fn there; mcall
 * pushed g just above fn's return address, at @mcall_sp (in the stack
 * copy: exact), and saved its caller's pc, sp and bp in g.sched. g waits
 * while fn runs, and g.sched holds until g runs again (gogo then clears
 * sched.sp), so the caller's frames are read from the snapshot or the
 * live process, checked: sched.pc must follow a call of mcall
 * (@mcall_entry in @obj), and every return address above is checked as
 * for frozen stacks. */
static bool mcall_switch(struct unwind_ctx *u, uint64_t mcall_sp,
			 struct elf_obj *obj, uint64_t mcall_entry)
{
	struct unwind_result *r = u->r;
	uint64_t g, lo, hi, sp, pc, bp = 0;
	struct map *map;
	struct go_func fn;

	if (!mem__read_copy(&u->mem, mcall_sp, &g) || !g || (g & 7))
		return false;
	u->mem.frozen = true;
	u->mem.snap_checked = true;
	if (!mem__read(&u->mem, g + GO_G_STACK_LO, &lo) ||
	    !mem__read(&u->mem, g + GO_G_STACK_HI, &hi) ||
	    !mem__read(&u->mem, g + GO_G_SCHED_SP, &sp) || !sp || sp < lo ||
	    sp >= hi || !mem__read(&u->mem, g + GO_G_SCHED_PC, &pc))
		return false;
	map = procmap__find(u->pm, u->proc, pc - 1);
	if (!map || map->obj != obj || !obj->go ||
	    pclntab__find_func(obj->go, pc - 1 - map->bias, &fn) ||
	    !native__is_call_to(obj, pc - map->bias, mcall_entry, obj))
		return false;
	bp = goroutine__sched_bp(u, g, sp, hi);
	if (!bp)
		return false;
	if (goroutine__by_pcsp(u, pc, sp, bp))
		return true;
	unwind__push(r, pc, map, 0);
	goroutine__fp_walk(u, bp, -1, obj, fn.entry, true);
	return true;
}

/* Whether @fn, the frame just pushed, is runtime.mcall and its callee
 * (the frame before it) runtime.goexit0, in @obj. mcall(goexit0) is how a
 * goroutine ends (goexit1): the g mcall pushed is dead, and free to be
 * reused by the next goroutine started, so its g.sched is not followed.
 * g0's stack begins at mcall (the runtime keeps g0.sched as "the top of
 * stack in mcall"; mcall clears rbp, and Go's own tracebacks end there):
 * the stack is whole. */
static bool mcall_of_goexit0(const struct unwind_ctx *u, struct elf_obj *obj,
			     const struct go_func *mcall)
{
	const struct unwind_result *r = u->r;
	const struct unwind_frame *f;
	struct go_func fn;
	uint64_t pc;

	if (strcmp(mcall->name, "runtime.mcall") || !obj->go ||
	    r->n < u->nkernel + 2 || r->n >= CGOPROF_MAX_FRAMES)
		return false;
	f = &r->frames[r->n - 2];
	if (!f->map || f->map->obj != obj)
		return false;
	pc = f->pc - f->map->bias - !(f->flags & UNWIND_FRAME_LEAF);
	return !pclntab__find_func(obj->go, pc, &fn) &&
	       !strcmp(fn.name, "runtime.goexit0");
}

/* An activation of runtime.systemstack, runtime.mcall or morestack at
 * @cur (sp: its callee's frame address; rbp: its callee's saved rbp), or
 * a leaf in one past its switch to g0: the function its callee runs for
 * is a goroutine that waits while g0 runs. Follows it there by the rule
 * of that function, or ends the stack truncated with its name. */
void go__runtime_switch(struct unwind_ctx *u, const struct regs *cur,
			struct map *map, const struct go_func *fn,
			uint64_t lookup)
{
	if (go__special(fn) == GO_SYSTEMSTACK) {
		systemstack_rule(u, cur, map, fn, lookup);
		return;
	}
	if (!strncmp(fn->name, "runtime.morestack", 17) &&
	    morestack_rule(u, cur->r[UNWIND_REG_SP]))
		return;
	if (mcall_of_goexit0(u, map->obj, fn) ||
	    (!strcmp(fn->name, "runtime.mcall") &&
	     mcall_switch(u, cur->r[UNWIND_REG_SP], map->obj, fn->entry)))
		return;
	unwind__truncate(u->r, go__special_reason(fn->name));
}

/* Rule switched leaf: whether a leaf in runtime.systemstack, mcall or
 * morestack is still on the stack it was called on: pcsp then gives a
 * return address that returns from a call of it (morestack: from a
 * prologue's call of morestack or morestack_noctxt). Past their switch
 * to g0, sp is g0's, and go__runtime_switch applies as for an activation.
 * Reads the return address pcsp locates. */
static bool switched_leaf_ok(struct unwind_ctx *u, const struct frame_at *f,
			     const struct regs *cur)
{
	struct regs caller;
	struct map *cm;
	uint64_t ra;

	if (go_step(f->map->obj, f->lookup, cur, &u->mem, &caller, &f->fn) !=
		    STEP_OK ||
	    caller.r[UNWIND_REG_IP] < 1)
		return false;
	ra = caller.r[UNWIND_REG_IP];
	cm = procmap__find(u->pm, u->proc, ra - 1);
	if (!cm || !cm->obj)
		return false;
	/* prologues call morestack_noctxt, which jumps to morestack */
	if (!strncmp(f->fn.name, "runtime.morestack", 17))
		return cm->obj->go &&
		       go__is_morestack_call(cm->obj, ra - cm->bias);
	return native__is_call_to(cm->obj, ra - cm->bias, f->fn.entry,
				  f->map->obj);
}

/* Rule asyncPreempt: applies to a frame of runtime.asyncPreempt, in the
 * register walk and the frame-pointer walk. The signal handler that
 * preempts a goroutine makes it call asyncPreempt with the interrupted pc
 * as its return address: the caller's pc is exact, no call, a frame of
 * its own as a signal frame's. Reads nothing. */
bool go__is_async_preempt(const struct go_func *fn)
{
	return fn->name[0] == 'r' && !strcmp(fn->name, "runtime.asyncPreempt");
}

/* Rule cgocall skipped (Go < 1.21): applies to the first frame the
 * frame-pointer walk of a goroutine finds above asmcgocall. asmcgocall
 * had no frame record then, so the chain skips runtime.cgocall, and that
 * frame is the cgo stub (_Cfunc_..., _C2func_...) that called cgocall.
 * Reads the name. go__push_cgocall adds cgocall back. */
bool go__cgocall_skipped(const struct go_func *fn)
{
	return go__special(fn) != GO_CGOCALL &&
	       (strstr(fn->name, "._Cfunc_") || strstr(fn->name, "._C2func_"));
}

/* runtime.cgocall's frame where the chain skipped it: the return site of
 * its only call of asmcgocall, in Go binary @o, mapped by @map. false when
 * there is none: the stack then ends truncated. */
bool go__push_cgocall(struct unwind_ctx *u, struct elf_obj *o, struct map *map)
{
	uint64_t site = go__cgocall_return_site(o);

	if (!site) {
		unwind__truncate(u->r, "runtime.cgocall not found");
		return false;
	}
	unwind__push(u->r, site + map->bias, map, 0);
	return true;
}

/* The stack-switch rules for a frame the frame-pointer walk of a
 * goroutine found: return address @ra into @fn (at link-time @lookup,
 * mapped by @map), read from the frame record at @bp, which links to
 * *@next (NULL: not readable). cgocallback: go__cgocallback from its frame
 * record on g0, [bp]; systemstack, mcall, morestack: go__runtime_switch
 * from the callee's frame record at bp, as the register walk would.
 * Returns false where @fn is none of them: the walk goes on. */
bool go__fp_switch(struct unwind_ctx *u, struct map *map,
		   const struct go_func *fn, uint64_t lookup, uint64_t ra,
		   uint64_t bp, const uint64_t *next)
{
	struct regs c = { 0 };

	switch (go__special(fn)) {
	case GO_CGOCALLBACK:
		if (!next)
			unwind__truncate(u->r, "callback's C frames need live reads");
		else
			go__cgocallback(u, *next);
		return true;
	case GO_SYSTEMSTACK:
	case GO_NO_WAY_BACK:
		if (!next) {
			if (!mcall_of_goexit0(u, map->obj, fn))
				unwind__truncate(u->r,
						 go__special_reason(fn->name));
			return true;
		}
		c.r[UNWIND_REG_IP] = ra;
		c.r[UNWIND_REG_SP] = bp + 16;
		c.r[UNWIND_REG_BP] = *next;
		c.valid = REG_BIT(UNWIND_REG_IP) | REG_BIT(UNWIND_REG_SP) |
			  REG_BIT(UNWIND_REG_BP);
		go__runtime_switch(u, &c, map, fn, lookup);
		return true;
	default:
		return false;
	}
}

/* One Go frame: the stack-switch rules first (they end the loop's walk:
 * STEP_DONE), then the steps: the frame record of an SPWRITE function,
 * pcsp, a leaf's popped return address. Sets *@signal_frame where the
 * caller's pc is exact (asyncPreempt). */
enum step_result go__frame_step(struct unwind_ctx *u, const struct frame_at *f,
				const struct regs *cur, struct regs *caller,
				bool *signal_frame)
{
	enum go_special sp = go__special(&f->fn);
	struct elf_obj *o = f->map->obj;
	enum step_result sr = STEP_NO_INFO;

	if (sp == GO_ASMCGOCALL && f->activation && f->from_c) {
		asmcgocall_to_goroutine(u, f, cur);
		return STEP_DONE;
	}
	if (sp == GO_ASMCGOCALL && asmcgocall_mid_switch(u, f)) {
		unwind__truncate(u->r, "inside asmcgocall");
		return STEP_DONE;
	}
	if (sp == GO_CGOCALLBACK && f->activation) {
		go__cgocallback(u, cur->r[UNWIND_REG_BP]);
		return STEP_DONE;
	}
	if ((sp == GO_SYSTEMSTACK || sp == GO_NO_WAY_BACK) &&
	    (f->activation || !switched_leaf_ok(u, f, cur))) {
		go__runtime_switch(u, cur, f->map, &f->fn, f->lookup);
		return STEP_DONE;
	}
	if (f->fn.flag & CGOPROF_GO_FUNCFLAG_SPWRITE)
		sr = spwrite_step(u, o, &f->fn, f->lookup, cur, caller);
	if (sr != STEP_OK && f->activation &&
	    (f->fn.flag & CGOPROF_GO_FUNCFLAG_SPWRITE) &&
	    spwrite_chain(u, f, cur))
		return STEP_DONE;
	if (sr != STEP_OK) {
		sr = go_step(o, f->lookup, cur, &u->mem, caller, &f->fn);
		/* pcsp of an SPWRITE function is right until it writes sp (a
		 * prologue, a leaf before the switch): believed only where
		 * the return address it finds follows a call, of this
		 * function for an activation (a leaf may have been reached
		 * by a jump: morestack_noctxt jumps to morestack) */
		if (sr == STEP_OK && (f->fn.flag & CGOPROF_GO_FUNCFLAG_SPWRITE) &&
		    !returns_from_call_of(u, o, f->activation ? &f->fn : NULL,
					  caller->r[UNWIND_REG_IP]))
			sr = STEP_BAD;
	}
	if (sr == STEP_BAD && !f->activation)
		sr = popped_ra_step(u, o, &f->fn, f->lookup, cur, caller);
	if (sr == STEP_OK && sp == GO_CGOCALLBACK && !f->activation &&
	    cgocallback_leaf_switching(u, f, cur, caller)) {
		unwind__truncate(u->r, "cgocallback switching stacks");
		return STEP_DONE;
	}
	*signal_frame = sr == STEP_OK && go__is_async_preempt(&f->fn);
	return sr;
}
