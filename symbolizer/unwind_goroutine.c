// SPDX-License-Identifier: MIT
/* A goroutine's stack where the walk switches to it from g0: by frame
 * pointer (every Go function that calls keeps a frame record, so callers
 * are exact), with return addresses from the stack copy, the kernel's
 * callchain, the snapshot or the frozen stack in the live process; from
 * the probes' records (a cgo call's entry, a morestack call); and the
 * goroutine itself, found through g and m in memory (struct offsets from
 * cgoprof/golayout.h, each link checked). The stack-switch rules that use
 * these are in unwind_go.c. */
#include <string.h>

#include "cgoprof/golayout.h"
#include "internal.h"

/* Finds where the kernel's frame-pointer walk (started at the sample's
 * rbp) reached @bp, by replaying it through the stack copy: the callchain
 * entries from the returned index on are the return addresses of the
 * frame records from @bp up. -1 when the walk never reached @bp in the
 * copy (the C code used rbp for something else). */
int64_t goroutine__chain_sync(struct unwind_ctx *u, uint64_t bp)
{
	uint64_t fp = u->sample.r[UNWIND_REG_BP], next, ra;

	for (uint64_t k = 1; k < u->chain_user_nr; k++) {
		if (fp == bp)
			return (int64_t)k;
		if (!mem__read_copy(&u->mem, fp, &next) ||
		    !mem__read_copy(&u->mem, fp + 8, &ra) ||
		    ra != u->chain_user[k])
			return -1;
		fp = next;
	}
	return -1;
}

/* Follows frame records from @kbp in memory, checking that their return
 * addresses are @ras (what the kernel's callchain gave for them); sets
 * *@last to the record holding ras[n - 1]. */
static bool replay_live(struct mem_view *m, uint64_t kbp, const uint64_t *ras,
			uint32_t n, uint64_t *last)
{
	uint64_t fp = kbp, v;

	for (uint32_t i = 0; i < n; i++) {
		if (!mem__read(m, fp + 8, &v) || v != ras[i] ||
		    (i + 1 < n && !mem__read(m, fp, &fp)))
			return false;
	}
	*last = fp;
	return n > 0;
}

/* Go frames by frame pointer from @bp (a frame record: caller's bp, return
 * address). Every Go function that calls has one, so callers are exact.
 * Return addresses come from the stack copy, from the kernel's callchain
 * where it is synced (@chain >= 0), else from the frozen stack in the live
 * process (@frozen). @switch_obj/@switch_entry: the walk starts at
 * asmcgocall, whose first record may skip runtime.cgocall (Go < 1.21),
 * which is then added back. The stack-switch rules of unwind_go.c apply
 * to the frames found so (go__fp_switch), and asyncPreempt makes the next
 * return address an instruction of its own. */
void goroutine__fp_walk(struct unwind_ctx *u, uint64_t bp, int64_t chain,
			struct elf_obj *switch_obj, uint64_t switch_entry,
			bool frozen)
{
	struct unwind_result *r = u->r;
	/* While the kernel's callchain gives the return addresses, the frame
	 * records' addresses are not needed, and not read: kbp is the last
	 * record known, ras[] what the chain gave since. A record address
	 * is recovered from the live process only when it is needed, and
	 * checked against those return addresses. */
	uint64_t kbp = bp, ras[CGOPROF_MAX_FRAMES];
	uint32_t nras = 0;
	bool first = true, bp_known = true;
	/* the next "return address" is the pc Go's signal handler made
	 * runtime.asyncPreempt return to: an instruction of its own */
	bool exact = false;
	/* the function below the next return address, to check calls */
	const struct elf_obj *callee_obj = switch_obj;
	uint64_t callee_entry = switch_entry;

	u->mem.frozen = frozen;
	for (;;) {
		uint64_t ra = 0, next = 0;
		bool have_next = false, from_live = false;
		struct go_func fn;
		struct map *map;
		uint64_t lookup;

		if (r->n >= CGOPROF_MAX_FRAMES) {
			unwind__truncate(r, "depth limit");
			return;
		}
		if (!bp_known &&
		    (chain < 0 || (uint64_t)chain >= u->chain_user_nr)) {
			/* the chain ends (perf_event_max_stack): go on from
			 * the live frozen stack, where it agrees */
			uint64_t fp;

			if (!replay_live(&u->mem, kbp, ras, nras, &fp) ||
			    !mem__read(&u->mem, fp, &fp)) {
				unwind__truncate(r, !u->mem.frozen
					? "deeper than the stack copy and the kernel callchain"
					: u->mem.live ? "goroutine stack not readable"
						      : "goroutine stack needs live reads");
				return;
			}
			bp = fp;
			bp_known = true;
			chain = -1;
		}
		if (bp_known && mem__read_copy(&u->mem, bp + 8, &ra)) {
			have_next = mem__read_copy(&u->mem, bp, &next);
			if (chain >= 0 && (uint64_t)chain < u->chain_user_nr &&
			    u->chain_user[chain] == ra)
				chain++;
			else
				chain = -1;
		} else if (chain >= 0 && (uint64_t)chain < u->chain_user_nr) {
			ra = u->chain_user[chain++];
			if (bp_known) {
				kbp = bp;
				nras = 0;
			}
			bp_known = false;
			ras[nras++] = ra;
		} else {
			if (!mem__read(&u->mem, bp + 8, &ra)) {
				unwind__truncate(r, u->mem.live
					? "goroutine stack not readable"
					: "goroutine stack needs live reads");
				return;
			}
			have_next = mem__read(&u->mem, bp, &next);
			from_live = true;
		}
		if (!ra) {
			unwind__truncate(r, "frame pointer chain ended");
			return;
		}
		lookup = exact ? ra : ra - 1;
		map = procmap__find(u->pm, u->proc, lookup);
		if (!map || !map->obj ||
		    !elf_obj__is_go_pc(map->obj, lookup - map->bias)) {
			unwind__truncate(r, from_live
				? "goroutine stack changed since the sample"
				: "frame pointer chain left Go code");
			return;
		}
		lookup -= map->bias;
		if (pclntab__find_func(map->obj->go, lookup, &fn)) {
			unwind__truncate(r, "return address in no Go function");
			return;
		}
		/* goroutines start with a made-up return address in goexit */
		if (from_live && !exact && !(first && switch_obj) &&
		    !(fn.flag & CGOPROF_GO_FUNCFLAG_TOPFRAME) &&
		    !native__is_call_to(map->obj, lookup + 1, callee_entry,
					callee_obj)) {
			unwind__truncate(r, "goroutine stack changed since the sample");
			return;
		}
		if (first && switch_obj && go__cgocall_skipped(&fn)) {
			if (!go__push_cgocall(u, switch_obj, map))
				return;
			if (from_live &&
			    !native__is_call_to(map->obj, lookup + 1, 0,
						NULL)) {
				unwind__truncate(r, "goroutine stack changed since the sample");
				return;
			}
		} else if (first && switch_obj && from_live &&
			   !(fn.flag & CGOPROF_GO_FUNCFLAG_TOPFRAME) &&
			   !native__is_call_to(map->obj, lookup + 1,
					       callee_entry, callee_obj)) {
			unwind__truncate(r, "goroutine stack changed since the sample");
			return;
		}
		first = false;
		callee_obj = map->obj;
		callee_entry = fn.entry;
		unwind__push(r, ra, map, exact ? UNWIND_FRAME_LEAF : 0);
		exact = go__is_async_preempt(&fn);
		if (fn.flag & CGOPROF_GO_FUNCFLAG_TOPFRAME) {
			r->status = STACK_COMPLETE;
			return;
		}
		if (!bp_known && go__special(&fn) != GO_PLAIN &&
		    go__special(&fn) != GO_CGOCALL) {
			/* the record address is needed now */
			uint64_t fp;

			if (!replay_live(&u->mem, kbp, ras, nras, &fp)) {
				unwind__truncate(r, "callback's C frames need live reads");
				return;
			}
			bp = fp;
			bp_known = true;
			have_next = mem__read(&u->mem, bp, &next);
		}
		if (!bp_known)
			continue;
		if (go__fp_switch(u, map, &fn, lookup, ra, bp,
				  have_next ? &next : NULL))
			return;
		if (!have_next) {
			unwind__truncate(r, u->mem.live
				? "goroutine stack not readable"
				: "goroutine stack needs live reads");
			return;
		}
		if (next <= bp) {
			unwind__truncate(r, "frame pointer went backwards");
			return;
		}
		bp = next;
	}
}

/* g.sched.bp of goroutine @g whose sched.sp is @sp and stack top @hi: a
 * frame pointer lies at or above sp in the goroutine's stack and links to
 * a Go return address. gobuf's bp moved when gobuf.ret was removed: the
 * newer layout first. 0 when neither is one. */
uint64_t goroutine__sched_bp(struct unwind_ctx *u, uint64_t g, uint64_t sp,
			     uint64_t hi)
{
	static const uint64_t offsets[] = { GO_G_SCHED_BP,
					    GO_G_SCHED_BP_WITH_RET };
	struct map *map;

	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		uint64_t b, a;

		if (mem__read(&u->mem, g + offsets[i], &b) && b >= sp &&
		    b < hi && !(b & 7) && mem__read(&u->mem, b + 8, &a) &&
		    (map = procmap__find(u->pm, u->proc, a - 1)) && map->obj &&
		    elf_obj__is_go_pc(map->obj, a - 1 - map->bias))
			return b;
	}
	return 0;
}

/* The goroutine of the m whose g0 is u->g, and its saved sp, pc and bp
 * (sched), each link checked. g0 is the g register of the Go code on g0
 * (u->g), g0.m is the m, m.curg the goroutine (an offset that moved
 * between versions: found by checking curg.m == m and that its stack
 * holds sched.sp), and curg.sched holds its pc, sp and bp. */
static bool find_curg_in(struct unwind_ctx *u, uint64_t *sp, uint64_t *pc,
			 uint64_t *bp)
{
	static const uint64_t curg_offsets[GO_M_CURG_N] = {
		GO_M_CURG_0, GO_M_CURG_1, GO_M_CURG_2, GO_M_CURG_3,
	};
	uint64_t g0 = u->g, m, m_g0, curg = 0, lo, hi = 0;

	u->mem.frozen = true;
	if (!g0 || !mem__read(&u->mem, g0 + GO_G_M, &m) ||
	    !mem__read(&u->mem, m + GO_M_G0, &m_g0) || m_g0 != g0)
		return false;
	for (size_t i = 0; i < GO_M_CURG_N; i++) {
		uint64_t g, gm;

		if (!mem__read(&u->mem, m + curg_offsets[i], &g) || !g ||
		    g == g0 || !mem__read(&u->mem, g + GO_G_M, &gm) ||
		    gm != m || !mem__read(&u->mem, g + GO_G_STACK_LO, &lo) ||
		    !mem__read(&u->mem, g + GO_G_STACK_HI, &hi) ||
		    !mem__read(&u->mem, g + GO_G_SCHED_SP, sp) || *sp < lo ||
		    *sp >= hi || !mem__read(&u->mem, g + GO_G_SCHED_PC, pc))
			continue;
		curg = g;
		break;
	}
	if (!curg)
		return false;
	*bp = goroutine__sched_bp(u, curg, *sp + 1, hi);
	return *bp != 0;
}

/* @find with reads of the snapshot alone first, when there is one: the
 * structs it copied are of the sample's time, and candidates it does not
 * hold (other offsets tried) need no read of the live process; then
 * with live reads too. */
static bool snapshot_first(struct unwind_ctx *u,
			   bool (*find)(struct unwind_ctx *, uint64_t *,
					uint64_t *, uint64_t *),
			   uint64_t *sp, uint64_t *pc, uint64_t *bp)
{
	bool live = u->mem.live, found = false;

	if (u->mem.snap && live) {
		u->mem.live = false;
		found = find(u, sp, pc, bp);
		u->mem.live = live;
	}
	return found || find(u, sp, pc, bp);
}

/* m.curg of the m whose g0 runs (u->g): the goroutine that waits while g0
 * runs for it (systemstack, morestack). Its g.sched: sp, pc and bp. Read
 * from the snapshot, else from the live process, checked. */
bool goroutine__find_curg(struct unwind_ctx *u, uint64_t *sp, uint64_t *pc,
			  uint64_t *bp)
{
	return snapshot_first(u, find_curg_in, sp, pc, bp);
}

/* The goroutine newstack took off its m (a preemption request seen in f's
 * prologue: gopreempt_m and preemptPark drop it before they schedule), so
 * that it is no m's curg: newstack's frame, just below @cfa (where
 * morestack called it on g0), holds its copy of m.morebuf: f's caller's
 * sp and pc, then g. That g's sched is what morestack saved: pc in f,
 * after its call of morestack, and sp = morebuf.sp - 8, where f's return
 * address morebuf.pc is. Every link is checked. */
static bool find_morebuf_g_in(struct unwind_ctx *u, uint64_t *sp,
			      uint64_t *pc, uint64_t *bp)
{
	uint64_t cfa = u->newstack_cfa;

	for (uint64_t a = cfa - 32, n = 0; n < GO_MOREBUF_SCAN_WORDS;
	     a -= 8, n++) {
		uint64_t mb_sp, mb_pc, g, lo, hi, ra;
		struct map *map;

		if (!mem__read_copy(&u->mem, a + GO_GOBUF_SP, &mb_sp) ||
		    !mem__read_copy(&u->mem, a + GO_GOBUF_PC, &mb_pc) ||
		    !mem__read_copy(&u->mem, a + GO_GOBUF_G, &g))
			break;
		if (!g || (g & 7) || mb_sp < 8)
			continue;
		u->mem.frozen = true;
		if (!mem__read(&u->mem, g + GO_G_SCHED_SP, sp) ||
		    *sp != mb_sp - 8 ||
		    !mem__read(&u->mem, g + GO_G_STACK_LO, &lo) ||
		    !mem__read(&u->mem, g + GO_G_STACK_HI, &hi) || *sp < lo ||
		    *sp >= hi || !mem__read(&u->mem, g + GO_G_SCHED_PC, pc) ||
		    !mem__read(&u->mem, *sp, &ra) || ra != mb_pc)
			continue;
		map = procmap__find(u->pm, u->proc, *pc - 1);
		if (!map || !map->obj || !map->obj->go ||
		    !go__is_morestack_call(map->obj, *pc - map->bias))
			continue;
		*bp = goroutine__sched_bp(u, g, *sp + 1, hi);
		return true;
	}
	return false;
}

/* The goroutine in newstack's copy of m.morebuf below @cfa, and its
 * g.sched: from the snapshot first, as goroutine__find_curg. */
bool goroutine__find_morebuf_g(struct unwind_ctx *u, uint64_t cfa,
			       uint64_t *sp, uint64_t *pc, uint64_t *bp)
{
	u->newstack_cfa = cfa;
	return snapshot_first(u, find_morebuf_g_in, sp, pc, bp);
}

/* A waiting goroutine's frames from its return address @ra into the
 * function whose sp is @sp (rbp @bp), when the snapshot holds its stack
 * there: by pcsp, as the register walk does, not by the frame pointers
 * saved in its frames, which a stack copy can leave pointing into the old
 * stack (seen in package initialisers' runtime.doInit). Its words are
 * still checked as live reads are where the snapshot was taken so. */
bool goroutine__by_pcsp(struct unwind_ctx *u, uint64_t ra, uint64_t sp,
			uint64_t bp)
{
	struct regs c = { 0 };
	uint64_t v;

	if (!mem__read_snap(&u->mem, sp, &v))
		return false;
	c.r[UNWIND_REG_IP] = ra;
	c.r[UNWIND_REG_SP] = sp;
	c.r[UNWIND_REG_BP] = bp;
	c.valid = REG_BIT(UNWIND_REG_IP) | REG_BIT(UNWIND_REG_SP) |
		  REG_BIT(UNWIND_REG_BP);
	u->mem.frozen = u->mem.snap_checked;
	unwind__regs(u, &c, true);
	return true;
}

/* Pushes the return addresses @pcs[0..@n) a probe recorded as Go frames,
 * up to a top frame (the stack complete) or the first @stop_at() names a
 * reason to end at; truncated with @left_go when one is not Go code. */
static void recorded_frames(struct unwind_ctx *u, const uint64_t *pcs,
			    uint32_t n, const char *left_go,
			    const char *(*stop_at)(const struct go_func *fn))
{
	struct unwind_result *r = u->r;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t ra = pcs[i];
		struct map *map = procmap__find(u->pm, u->proc, ra - 1);
		struct go_func fn;
		const char *stop;

		if (r->n >= CGOPROF_MAX_FRAMES) {
			unwind__truncate(r, "depth limit");
			return;
		}
		if (!map || !map->obj ||
		    !elf_obj__is_go_pc(map->obj, ra - 1 - map->bias) ||
		    pclntab__find_func(map->obj->go, ra - 1 - map->bias, &fn)) {
			unwind__truncate(r, left_go);
			return;
		}
		unwind__push(r, ra, map, UNWIND_FRAME_CHAIN);
		if (fn.flag & CGOPROF_GO_FUNCFLAG_TOPFRAME) {
			r->status = STACK_COMPLETE;
			return;
		}
		stop = stop_at(&fn);
		if (stop) {
			unwind__truncate(r, stop);
			return;
		}
	}
	unwind__truncate(r, "kernel callchain limit");
}

/* nested: the frames below cgocallback are on g0, where the entry record
 * has no frame records */
static const char *cgo_entry_stop(const struct go_func *fn)
{
	return go__special(fn) == GO_CGOCALLBACK
		       ? "callback below a cgo call"
		       : NULL;
}

/* Go frames of a cgo call from its entry record (see struct cgo_entry).
 * Returns false when there is none for this goroutine frame pointer. */
bool goroutine__cgo_entry_walk(struct unwind_ctx *u, uint64_t bp)
{
	const struct cgo_entry *e;

	if (!u->o->cgo_entry)
		return false;
	e = u->o->cgo_entry(u->o->cgo_ctx, u->s->tid, bp, u->s->time);
	if (!e)
		return false;
	recorded_frames(u, e->pcs, e->n, "cgo entry record left Go code",
			cgo_entry_stop);
	return true;
}

/* runtime.morestack, from its entry record (see struct go_morestack):
 * newstack runs on g0 below @g0_sp, and its frame holds its copy of
 * m.morebuf (a gobuf: sp, then pc), which morestack set to f's caller's sp
 * (above morestack's and f's return addresses: the sp recorded at
 * morestack's entry + 16) and pc. That pair in the stack copy ties this
 * newstack to the recorded morestack call: only then are the recorded
 * frames used. Returns false when there is no such record. */
bool goroutine__morestack_record(struct unwind_ctx *u, uint64_t g0_sp)
{
	const struct go_morestack *m;
	uint64_t a, v, w;
	bool tied = false;

	if (!u->o->go_morestack)
		return false;
	m = u->o->go_morestack(u->o->cgo_ctx, u->s->tid, u->s->time);
	if (!m || m->n < 2)
		return false;
	for (a = u->sample.r[UNWIND_REG_SP] & ~7ULL;
	     a + GO_GOBUF_PC + 8 <= g0_sp && !tied; a += 8)
		tied = mem__read_copy(&u->mem, a + GO_GOBUF_SP, &v) &&
		       v == m->sp + 16 &&
		       mem__read_copy(&u->mem, a + GO_GOBUF_PC, &w) &&
		       w == m->pcs[1];
	if (!tied)
		return false;
	goroutine__morestack_frames(u, m);
	return true;
}

/* a stack switch in the recorded frames (a callback's cgocallback): no
 * frame records for the rest */
static const char *morestack_stop(const struct go_func *fn)
{
	if (go__special(fn) != GO_PLAIN &&
	    go__special(fn) != GO_CGOCALL)
		return go__special_reason(fn->name);
	return NULL;
}

/* The recorded frames of morestack entry @m, from f up. */
void goroutine__morestack_frames(struct unwind_ctx *u,
				 const struct go_morestack *m)
{
	recorded_frames(u, m->pcs, m->n, "morestack record left Go code",
			morestack_stop);
}
