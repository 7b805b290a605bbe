// SPDX-License-Identifier: MIT
/* The unwinder loop. Registers are kept in DWARF numbering (x86-64: 0 rax,
 * 1 rdx, 2 rcx, 3 rbx, 4 rsi, 5 rdi, 6 rbp, 7 rsp, 8-15 r8-r15, 16 ra). */
#include <dwarf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "cgoprof/log.h"
#include "cgoprof/unwind.h"
#include "internal.h"

#define CGOPROF_PERF_CONTEXT_MAX ((uint64_t)-4095)
/* Bytes from e_entry that count as the entry function. */
#define CGOPROF_ENTRY_SPAN 256

static const uint8_t dwarf_to_perf[NREGS] = {
	PERF_REG_AX, PERF_REG_DX, PERF_REG_CX, PERF_REG_BX, PERF_REG_SI,
	PERF_REG_DI, PERF_REG_BP, PERF_REG_SP, PERF_REG_R8, PERF_REG_R9,
	PERF_REG_R10, PERF_REG_R11, PERF_REG_R12, PERF_REG_R13, PERF_REG_R14,
	PERF_REG_R15, PERF_REG_IP,
};

/* The word at @addr in frame records @r (see struct go_snapshot_region):
 * a record's address holds the caller's frame pointer, the next word the
 * return address. */
static bool frames_read(const struct go_snapshot_region *r, uint64_t addr,
			uint64_t *val)
{
	size_t lo = 0, hi = r->len / 24;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t e[3];

		memcpy(e, r->bytes + mid * 24, sizeof(e));
		if (e[0] + 8 < addr) {
			lo = mid + 1;
		} else if (e[0] > addr) {
			hi = mid;
		} else if (e[0] == addr || e[0] + 8 == addr) {
			*val = e[0] == addr ? e[1] : e[2];
			return true;
		} else {
			return false;
		}
	}
	return false;
}

/* 8 bytes at @addr from the sample-time snapshot's regions. */
static bool snap_read(const struct mem_view *m, uint64_t addr, uint64_t *val)
{
	for (unsigned i = 0; m->snap && i < m->snap->n; i++) {
		const struct go_snapshot_region *r = &m->snap->r[i];
		uint64_t page0 = r->addr & ~4095ULL;

		if (r->frames) {
			if (frames_read(r, addr, val))
				return true;
			continue;
		}
		if (addr >= r->addr && addr + 8 <= r->addr + r->len &&
		    addr + 8 > addr) {
			/* a word in a page that was not copied, or across
			 * into one, is not memory */
			if ((addr - page0) >> 12 < 64 &&
			    (r->absent >> ((addr - page0) >> 12) & 1))
				return false;
			if (((addr + 7 - page0) >> 12) < 64 &&
			    (r->absent >> ((addr + 7 - page0) >> 12) & 1))
				return false;
			memcpy(val, r->bytes + (addr - r->addr), 8);
			return true;
		}
	}
	return false;
}

static bool copy_read(const struct mem_view *m, uint64_t addr, uint64_t *val)
{
	if (addr >= m->stack_lo && addr + 8 <= m->stack_lo + m->stack_len &&
	    addr + 8 > addr) {
		memcpy(val, m->stack + (addr - m->stack_lo), 8);
		return true;
	}
	return !m->snap_checked && snap_read(m, addr, val);
}

static bool read_page(uint32_t pid, uint64_t base, uint8_t *buf)
{
	struct iovec local = { buf, 4096 };
	struct iovec remote = { (void *)(uintptr_t)base, 4096 };

	return process_vm_readv((pid_t)pid, &local, 1, &remote, 1, 0) == 4096;
}

/* A page of a frozen stack from the live process, read twice. The page may
 * also hold frames that are running (below the frozen ones): only the
 * words that are equal in both reads are used. */
static struct live_page *live_page(struct mem_view *m, uint64_t base)
{
	struct live_page *p;

	if (!m->pages) {
		/* once per thread: not a 64 KiB calloc per sample */
		static __thread struct live_page *cache;

		if (!cache)
			cache = calloc(LIVE_PAGES, sizeof(*cache));
		if (!cache)
			return NULL;
		for (unsigned i = 0; i < LIVE_PAGES; i++)
			cache[i].base = 0;
		m->pages = cache;
	}
	for (unsigned i = 0; i < LIVE_PAGES; i++)
		if (m->pages[i].base == base)
			return &m->pages[i];
	p = &m->pages[m->next_page++ % LIVE_PAGES];
	p->base = 0;
	if (!read_page(m->pid, base, p->data) ||
	    !read_page(m->pid, base, p->again)) {
		m->live_failed = true;
		return NULL;
	}
	p->base = base;
	return p;
}

bool mem__read(struct mem_view *m, uint64_t addr, uint64_t *val)
{
	struct live_page *page;
	uint64_t base = addr & ~4095ULL;

	if (copy_read(m, addr, val))
		return true;
	if (m->snap_checked && snap_read(m, addr, val))
		return true;
	if (!m->live || !m->frozen || (addr & 7) || !addr)
		return false;
	page = live_page(m, base);
	if (!page)
		return false;
	if (memcmp(page->data + (addr - base), page->again + (addr - base), 8)) {
		m->live_failed = true;
		return false;
	}
	memcpy(val, page->data + (addr - base), 8);
	m->used_live = true;
	return true;
}

/* ---- DWARF expressions (CFA rules and register rules) ---- */

#define EXPR_STACK 16

/* Evaluates @ops. Sets *@is_value when the result is a value (stack_value
 * or a register), else the result is an address. */
static int expr_eval(const Dwarf_Op *ops, size_t nops, const struct regs *r,
		     uint64_t cfa, struct mem_view *m, uint64_t *out,
		     bool *is_value)
{
	uint64_t st[EXPR_STACK];
	int sp = 0;

	*is_value = false;
#define PUSH(v)                                                                \
	do {                                                                   \
		if (sp >= EXPR_STACK)                                          \
			return -EINVAL;                                        \
		st[sp++] = (v);                                                \
	} while (0)
#define NEED(n)                                                                \
	do {                                                                   \
		if (sp < (n))                                                  \
			return -EINVAL;                                        \
	} while (0)
	for (size_t i = 0; i < nops; i++) {
		uint8_t op = ops[i].atom;
		uint64_t a, b;

		if (op >= DW_OP_lit0 && op <= DW_OP_lit31) {
			PUSH((uint64_t)(op - DW_OP_lit0));
		} else if (op >= DW_OP_breg0 && op <= DW_OP_breg16) {
			unsigned reg = op - DW_OP_breg0;

			if (!(r->valid & (1u << reg)))
				return -ENOENT;
			PUSH(r->r[reg] + ops[i].number);
		} else if (op >= DW_OP_reg0 && op <= DW_OP_reg16) {
			unsigned reg = op - DW_OP_reg0;

			if (!(r->valid & (1u << reg)))
				return -ENOENT;
			*out = r->r[reg];
			*is_value = true;
			return 0;
		} else {
			switch (op) {
			case DW_OP_bregx:
				if (ops[i].number >= NREGS ||
				    !(r->valid & (1u << ops[i].number)))
					return -ENOENT;
				PUSH(r->r[ops[i].number] + ops[i].number2);
				break;
			case DW_OP_regx:
				if (ops[i].number >= NREGS ||
				    !(r->valid & (1u << ops[i].number)))
					return -ENOENT;
				*out = r->r[ops[i].number];
				*is_value = true;
				return 0;
			case DW_OP_call_frame_cfa:
				PUSH(cfa);
				break;
			case DW_OP_const1u: case DW_OP_const1s:
			case DW_OP_const2u: case DW_OP_const2s:
			case DW_OP_const4u: case DW_OP_const4s:
			case DW_OP_const8u: case DW_OP_const8s:
			case DW_OP_constu: case DW_OP_consts:
				PUSH(ops[i].number);
				break;
			case DW_OP_plus_uconst:
				NEED(1);
				st[sp - 1] += ops[i].number;
				break;
			case DW_OP_deref:
				NEED(1);
				if (!mem__read(m, st[sp - 1], &st[sp - 1]))
					return -EFAULT;
				break;
			case DW_OP_dup:
				NEED(1);
				a = st[sp - 1];
				PUSH(a);
				break;
			case DW_OP_drop:
				NEED(1);
				sp--;
				break;
			case DW_OP_stack_value:
				*is_value = true;
				break;
			case DW_OP_nop:
				break;
			case DW_OP_plus: case DW_OP_minus: case DW_OP_and:
			case DW_OP_or: case DW_OP_xor: case DW_OP_mul:
			case DW_OP_shl: case DW_OP_shr: case DW_OP_ge:
			case DW_OP_gt: case DW_OP_le: case DW_OP_lt:
			case DW_OP_eq: case DW_OP_ne:
				NEED(2);
				b = st[--sp];
				a = st[sp - 1];
				switch (op) {
				case DW_OP_plus: a += b; break;
				case DW_OP_minus: a -= b; break;
				case DW_OP_and: a &= b; break;
				case DW_OP_or: a |= b; break;
				case DW_OP_xor: a ^= b; break;
				case DW_OP_mul: a *= b; break;
				case DW_OP_shl: a = b < 64 ? a << b : 0; break;
				case DW_OP_shr: a = b < 64 ? a >> b : 0; break;
				case DW_OP_ge: a = (int64_t)a >= (int64_t)b; break;
				case DW_OP_gt: a = (int64_t)a > (int64_t)b; break;
				case DW_OP_le: a = (int64_t)a <= (int64_t)b; break;
				case DW_OP_lt: a = (int64_t)a < (int64_t)b; break;
				case DW_OP_eq: a = a == b; break;
				case DW_OP_ne: a = a != b; break;
				}
				st[sp - 1] = a;
				break;
			default:
				return -ENOTSUP;
			}
		}
	}
#undef PUSH
#undef NEED
	if (!sp)
		return -EINVAL;
	*out = st[sp - 1];
	return 0;
}

/* One CFI step for the frame at link-time @lookup. Fills @caller. */
static enum step_result cfi_step(struct elf_obj *o, uint64_t lookup,
				 const struct regs *cur, struct mem_view *m,
				 struct regs *caller, bool *signal_frame)
{
	enum step_result ret = STEP_NO_INFO;
	Dwarf_Frame *frame = NULL;
	Dwarf_Op ops_mem[3], *ops;
	size_t nops;
	uint64_t cfa;
	bool is_value, signalp = false;
	Dwarf_Addr start, end;
	Dwarf_CFI *cfi;

	cfi = elf_obj__cfi(o, lookup, true);
	if (!cfi || dwarf_cfi_addrframe(cfi, lookup, &frame)) {
		frame = NULL;
		cfi = elf_obj__cfi(o, lookup, false);
		if (!cfi || dwarf_cfi_addrframe(cfi, lookup, &frame))
			return STEP_NO_INFO;
	}
	if (dwarf_frame_cfa(frame, &ops, &nops) || !nops)
		goto out;
	if (expr_eval(ops, nops, cur, 0, m, &cfa, &is_value))
		goto out;
	ret = STEP_BAD;
	memset(caller, 0, sizeof(*caller));
	caller->r[7] = cfa;
	caller->valid = 1u << 7;
	for (int reg = 0; reg < NREGS; reg++) {
		uint64_t v;

		if (reg == 7)
			continue;
		if (dwarf_frame_register(frame, reg, ops_mem, &ops, &nops))
			continue;
		if (!nops) {
			if (ops == ops_mem) {
				/* undefined: a return address that is
				 * undefined marks the outermost frame */
				if (reg == 16) {
					ret = STEP_END;
					goto out;
				}
				continue;
			}
			if (cur->valid & (1u << reg)) {
				caller->r[reg] = cur->r[reg];
				caller->valid |= 1u << reg;
			}
			continue;
		}
		if (expr_eval(ops, nops, cur, cfa, m, &v, &is_value)) {
			if (reg == 16) {
				ret = STEP_STACK_END;
				goto out;
			}
			continue;
		}
		if (!is_value && !mem__read(m, v, &v)) {
			if (reg == 16) {
				ret = STEP_STACK_END;
				goto out;
			}
			continue;
		}
		caller->r[reg] = v;
		caller->valid |= 1u << reg;
	}
	if (!(caller->valid & (1u << 16)))
		goto out;
	/* the return address register, or -1 */
	if (dwarf_frame_info(frame, &start, &end, &signalp) >= 0)
		*signal_frame = signalp;
	ret = STEP_OK;
out:
	free(frame);
	return ret;
}

/* Go frame by pcsp: exact at every pc, frameless leaves and prologues. */
static enum step_result go_step(struct elf_obj *o, uint64_t lookup,
				const struct regs *cur, struct mem_view *m,
				struct regs *caller, struct go_func *fn)
{
	int32_t delta;
	uint64_t cfa, ra, bp;

	if (fn->flag & CGOPROF_GO_FUNCFLAG_TOPFRAME)
		return STEP_END;
	if (pclntab__sp_delta(o->go, fn, lookup, &delta) || delta < 0 ||
	    delta > (1 << 24))
		return STEP_BAD;
	cfa = cur->r[7] + (uint64_t)delta + 8;
	caller->r[7] = cfa; /* also on failure: tells where the frame ends */
	if (!mem__read(m, cfa - 8, &ra))
		return STEP_STACK_END;
	*caller = *cur;
	/* Only rbp survives a Go call (ABIInternal clobbers the rest). */
	caller->valid = (1u << 7) | (1u << 16) | (cur->valid & (1u << 6));
	caller->r[7] = cfa;
	caller->r[16] = ra;
	if (delta >= 8 && mem__read(m, cfa - 16, &bp))
		caller->r[6] = bp;
	return STEP_OK;
}

/* Frame-pointer fallback: [bp] = caller's bp, [bp+8] = return address. */
static enum step_result fp_step(const struct regs *cur, struct mem_view *m,
				struct regs *caller)
{
	uint64_t bp = cur->r[6], nbp, ra;

	if (!(cur->valid & (1u << 6)) || bp < cur->r[7] || (bp & 7))
		return STEP_NO_INFO;
	if (!mem__read(m, bp, &nbp) || !mem__read(m, bp + 8, &ra))
		return STEP_STACK_END;
	memset(caller, 0, sizeof(*caller));
	caller->r[6] = nbp;
	caller->r[7] = bp + 16;
	caller->r[16] = ra;
	caller->valid = (1u << 6) | (1u << 7) | (1u << 16);
	return STEP_OK;
}

static void push_frame(struct unwind_result *r, uint64_t pc, struct map *map,
		       uint32_t flags)
{
	if (r->n < CGOPROF_MAX_FRAMES)
		r->frames[r->n++] = (struct unwind_frame){ pc, map, flags };
}

static void truncate(struct unwind_result *r, const char *reason)
{
	r->status = STACK_TRUNCATED;
	r->reason = reason;
}

/* Go functions where the unwinder changes stacks or stops. */
enum go_special {
	GO_PLAIN = 0,
	GO_ASMCGOCALL,	/* Go -> C: the C frames are on g0 */
	GO_CGOCALLBACK,	/* C -> Go: cgocallback's caller is on g0 */
	GO_CGOCALL,
	GO_SYSTEMSTACK,
	GO_NO_WAY_BACK,	/* mcall, morestack: truncated */
};

static enum go_special go_special(const char *name)
{
	if (strncmp(name, "runtime.", 8))
		return GO_PLAIN;
	name += 8;
	if (!strcmp(name, "asmcgocall") || !strcmp(name, "asmcgocall_landingpad"))
		return GO_ASMCGOCALL;
	if (!strcmp(name, "cgocallback"))
		return GO_CGOCALLBACK;
	if (!strcmp(name, "cgocall"))
		return GO_CGOCALL;
	if (!strcmp(name, "systemstack"))
		return GO_SYSTEMSTACK;
	if (!strcmp(name, "mcall") || !strcmp(name, "morestack") ||
	    !strcmp(name, "morestack_noctxt"))
		return GO_NO_WAY_BACK;
	return GO_PLAIN;
}

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
static uint64_t cgocall_return_site(struct elf_obj *o, uint64_t asmcgocall)
{
	struct go_func fn;

	(void)asmcgocall;
	if (o->go_rt_tried)
		return o->go_cgocall_ret;
	o->go_rt_tried = true;
	if (!elf_obj__go_func(o, "runtime.cgocall", &fn))
		o->go_cgocall_ret = call_site_to(o, &fn, "runtime.asmcgocall");
	return o->go_cgocall_ret;
}

/* Finds where the kernel's frame-pointer walk (started at the sample's
 * rbp) reached @bp, by replaying it through the stack copy: the callchain
 * entries from the returned index on are the return addresses of the
 * frame records from @bp up. -1 when the walk never reached @bp in the
 * copy (the C code used rbp for something else). */
static int64_t chain_sync(struct unwind_ctx *u, uint64_t bp)
{
	uint64_t fp = u->s->regs[PERF_REG_BP], next, ra;

	for (uint64_t k = 1; k < u->chain_user_nr; k++) {
		if (fp == bp)
			return (int64_t)k;
		if (!copy_read(&u->mem, fp, &next) ||
		    !copy_read(&u->mem, fp + 8, &ra) || ra != u->chain_user[k])
			return -1;
		fp = next;
	}
	return -1;
}

static void unwind_regs(struct unwind_ctx *u, struct regs *cur, bool activation);
static void runtime_switch(struct unwind_ctx *u, const struct regs *cur,
			   struct map *map, const struct go_func *fn,
			   uint64_t lookup);

/* Whether the code before return address @ra (link-time, in @o) is a call,
 * and, when it is a direct call within @o, one to @callee (link-time entry
 * in @callee_obj; 0 when unknown) or to a PLT stub. Return addresses read
 * from a live process are checked so: a stack that moved on since the
 * sample gives return addresses that are not calls of the function below. */
static bool is_call_to(struct elf_obj *o, uint64_t ra, uint64_t callee,
		       const struct elf_obj *callee_obj)
{
	uint8_t c[8];

	if (ra < 8 || elf_obj__read(o, ra - 8, c, sizeof(c)))
		return false;
	if (c[3] == 0xe8) {
		int32_t rel;
		uint64_t target;

		memcpy(&rel, c + 4, 4);
		target = ra + (uint64_t)(int64_t)rel;
		if (!callee || callee_obj != o || target == callee)
			return true;
		return elf_obj__in_plt(o, target);
	}
	/* indirect: FF /2 with any addressing form ending right at ra */
	for (int i = 0; i < 7; i++) {
		unsigned mod = c[i + 1] >> 6, rm = c[i + 1] & 7;
		int len = 2;

		if (c[i] != 0xff || ((c[i + 1] >> 3) & 7) != 2)
			continue;
		if (mod == 1)
			len += 1;
		else if (mod == 2 || (mod == 0 && rm == 5))
			len += 4;
		if (mod != 3 && rm == 4)
			len += 1;
		if (i + len == 8)
			return true;
	}
	return false;
}

/* Whether the code before return address @ra (link-time, in Go binary @o)
 * is a direct call of runtime.morestack or runtime.morestack_noctxt: the
 * call a function's prologue makes when its stack must grow. */
static bool is_morestack_call(struct elf_obj *o, uint64_t ra)
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

/* C -> Go callback: cgocallback's frame record is on g0 (@bp_cb), below
 * crosscall2's, which saved the C caller's callee-saved registers. Those
 * frames are frozen while the callback runs. crosscall2's layout
 * (PUSH_REGS_HOST_TO_ABI0): rbx r12 r13 r14 r15 at bp-40..bp-8 and the
 * caller's rbp at bp, where bp = [bp_cb]; from Go 1.21 the assembler also
 * gives crosscall2 a frame of its own, so [bp] is that frame's record and
 * the caller's rbp sits below the return address. Its frame size comes
 * from pcsp, as for any Go function. */
/* The C caller of a callback from its crosscall2 entry record: its
 * registers and its stack as they were when the callback began. */
static bool callback_from_entry(struct unwind_ctx *u, uint64_t bp_cb)
{
	const struct cgo_callback *e;
	struct regs c = { 0 };
	struct map *map;
	struct go_func fn;
	uint64_t site;

	if (!u->o->cgo_callback)
		return false;
	e = u->o->cgo_callback(u->o->cgo_ctx, u->s->tid, bp_cb, u->s->time);
	if (!e || e->len < 8)
		return false;
	/* crosscall2 itself: the return site of its one call of cgocallback */
	map = procmap__find(u->pm, u->proc, e->regs[16]);
	if (!map || !map->obj || !map->obj->go ||
	    pclntab__find_func(map->obj->go, e->regs[16] - map->bias, &fn) ||
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
	push_frame(u->r, site + map->bias, map, 0);
	for (int i = 0; i < NREGS; i++)
		c.r[i] = e->regs[i];
	c.valid = e->valid;
	memcpy(&c.r[16], e->stack, 8);	/* the C caller's return address */
	c.r[7] = e->regs[7] + 8;
	c.valid |= (1u << 16) | (1u << 7);
	u->mem.stack_lo = e->regs[7];
	u->mem.stack = e->stack;
	u->mem.stack_len = e->len;
	u->mem.frozen = false;
	unwind_regs(u, &c, true);
	return true;
}

static void callback_switch(struct unwind_ctx *u, uint64_t bp_cb)
{
	struct unwind_result *r = u->r;
	uint64_t bp_cc2, ra_cc2, saved[6], cfa, ra, rbp;
	struct regs c = { 0 };
	struct go_func fn;
	struct map *map;
	int32_t delta;

	if (callback_from_entry(u, bp_cb))
		return;
	u->mem.frozen = true;
	if (!mem__read(&u->mem, bp_cb, &bp_cc2) ||
	    !mem__read(&u->mem, bp_cb + 8, &ra_cc2)) {
		truncate(r, u->mem.live ? "callback's C frames not readable"
					: "callback's C frames need live reads");
		return;
	}
	map = procmap__find(u->pm, u->proc, ra_cc2 - 1);
	if (!map || !map->obj || !map->obj->go ||
	    pclntab__find_func(map->obj->go, ra_cc2 - 1 - map->bias, &fn) ||
	    strcmp(fn.name, "crosscall2") ||
	    pclntab__sp_delta(map->obj->go, &fn, ra_cc2 - 1 - map->bias,
			      &delta) ||
	    delta < 48 || delta > 4096 || bp_cc2 <= bp_cb) {
		truncate(r, "bad crosscall2 frame");
		return;
	}
	push_frame(r, ra_cc2, map, 0);
	cfa = bp_cb + 16 + (uint64_t)delta + 8;
	struct elf_obj *cc2_obj = map->obj;
	uint64_t cc2_entry = fn.entry;
	for (int i = 0; i < 6; i++) {
		if (!mem__read(&u->mem, bp_cc2 - 40 + 8 * (uint64_t)i, &saved[i])) {
			truncate(r, "callback's C frames not readable");
			return;
		}
	}
	rbp = saved[5];
	if (!mem__read(&u->mem, cfa - 8, &ra) ||
	    (rbp == cfa - 16 && !mem__read(&u->mem, cfa - 16, &rbp))) {
		truncate(r, "callback's C frames not readable");
		return;
	}
	map = procmap__find(u->pm, u->proc, ra - 1);
	if (!map || !map->obj ||
	    !is_call_to(map->obj, ra - map->bias, cc2_entry, cc2_obj)) {
		truncate(r, "callback's C frames changed since the sample");
		return;
	}
	c.r[3] = saved[0];
	c.r[12] = saved[1];
	c.r[13] = saved[2];
	c.r[14] = saved[3];
	c.r[15] = saved[4];
	c.r[6] = rbp;
	c.r[16] = ra;
	c.r[7] = cfa;
	c.valid = (1u << 3) | (0xfu << 12) | (1u << 6) | (1u << 16) | (1u << 7);
	unwind_regs(u, &c, true);
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
 * which is then added back. */
static void go_fp_walk(struct unwind_ctx *u, uint64_t bp, int64_t chain,
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
			truncate(r, "depth limit");
			return;
		}
		if (!bp_known && (chain < 0 || (uint64_t)chain >= u->chain_user_nr)) {
			/* the chain ends (perf_event_max_stack): go on from
			 * the live frozen stack, where it agrees */
			uint64_t fp;

			if (!replay_live(&u->mem, kbp, ras, nras, &fp) ||
			    !mem__read(&u->mem, fp, &fp)) {
				truncate(r, !u->mem.frozen
					? "deeper than the stack copy and the kernel callchain"
					: u->mem.live ? "goroutine stack not readable"
						      : "goroutine stack needs live reads");
				return;
			}
			bp = fp;
			bp_known = true;
			chain = -1;
		}
		if (bp_known && copy_read(&u->mem, bp + 8, &ra)) {
			have_next = copy_read(&u->mem, bp, &next);
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
				truncate(r, u->mem.live ? "goroutine stack not readable"
							: "goroutine stack needs live reads");
				return;
			}
			have_next = mem__read(&u->mem, bp, &next);
			from_live = true;
		}
		if (!ra) {
			truncate(r, "frame pointer chain ended");
			return;
		}
		map = procmap__find(u->pm, u->proc, exact ? ra : ra - 1);
		if (!map || !map->obj ||
		    !elf_obj__is_go_pc(map->obj, (exact ? ra : ra - 1) - map->bias)) {
			truncate(r, from_live ? "goroutine stack changed since the sample"
					      : "frame pointer chain left Go code");
			return;
		}
		lookup = (exact ? ra : ra - 1) - map->bias;
		if (pclntab__find_func(map->obj->go, lookup, &fn)) {
			truncate(r, "return address in no Go function");
			return;
		}
		/* goroutines start with a made-up return address in goexit */
		if (from_live && !exact && !(first && switch_obj) &&
		    !(fn.flag & CGOPROF_GO_FUNCFLAG_TOPFRAME) &&
		    !is_call_to(map->obj, lookup + 1, callee_entry, callee_obj)) {
			truncate(r, "goroutine stack changed since the sample");
			return;
		}
		if (first && switch_obj && go_special(fn.name) != GO_CGOCALL &&
		    (strstr(fn.name, "._Cfunc_") || strstr(fn.name, "._C2func_"))) {
			/* Go < 1.21: asmcgocall had no frame record */
			uint64_t site = cgocall_return_site(switch_obj, switch_entry);

			if (!site) {
				truncate(r, "runtime.cgocall not found");
				return;
			}
			push_frame(r, site + map->bias, map, 0);
			if (from_live && !is_call_to(map->obj, lookup + 1, 0, NULL)) {
				truncate(r, "goroutine stack changed since the sample");
				return;
			}
		} else if (first && switch_obj && from_live &&
			   !(fn.flag & CGOPROF_GO_FUNCFLAG_TOPFRAME) &&
			   !is_call_to(map->obj, lookup + 1, callee_entry,
				       callee_obj)) {
			truncate(r, "goroutine stack changed since the sample");
			return;
		}
		first = false;
		callee_obj = map->obj;
		callee_entry = fn.entry;
		push_frame(r, ra, map, exact ? UNWIND_FRAME_LEAF : 0);
		exact = !strcmp(fn.name, "runtime.asyncPreempt");
		if (fn.flag & CGOPROF_GO_FUNCFLAG_TOPFRAME) {
			r->status = STACK_COMPLETE;
			return;
		}
		if (!bp_known && go_special(fn.name) != GO_PLAIN &&
		    go_special(fn.name) != GO_CGOCALL) {
			/* the record address is needed now */
			uint64_t fp;

			if (!replay_live(&u->mem, kbp, ras, nras, &fp)) {
				truncate(r, "callback's C frames need live reads");
				return;
			}
			bp = fp;
			bp_known = true;
			have_next = mem__read(&u->mem, bp, &next);
		}
		if (!bp_known)
			continue;
		switch (go_special(fn.name)) {
		case GO_CGOCALLBACK:
			if (!have_next) {
				truncate(r, "callback's C frames need live reads");
				return;
			}
			callback_switch(u, next);
			return;
		case GO_SYSTEMSTACK:
		case GO_NO_WAY_BACK: {
			/* a stack switch on g0: from the callee's frame
			 * record at bp, as the register walk would */
			struct regs c = { 0 };

			if (!have_next) {
				truncate(r, fn.name + 8);
				return;
			}
			c.r[16] = ra;
			c.r[7] = bp + 16;
			c.r[6] = next;
			c.valid = (1u << 16) | (1u << 7) | (1u << 6);
			runtime_switch(u, &c, map, &fn, lookup);
			return;
		}
		default:
			break;
		}
		if (!have_next) {
			truncate(r, u->mem.live ? "goroutine stack not readable"
						: "goroutine stack needs live reads");
			return;
		}
		if (next <= bp) {
			truncate(r, "frame pointer went backwards");
			return;
		}
		bp = next;
	}
}

static void go_fp_walk(struct unwind_ctx *u, uint64_t bp, int64_t chain,
		       struct elf_obj *switch_obj, uint64_t switch_entry,
		       bool frozen);

/* g.sched.bp of goroutine @g whose sched.sp is @sp and stack top @hi: a
 * frame pointer lies at or above sp in the goroutine's stack and links to
 * a Go return address. gobuf's bp is at 40, or 48 before gobuf.ret was
 * removed: the newer layout first. 0 when neither is one. */
static uint64_t sched_bp(struct unwind_ctx *u, uint64_t g, uint64_t sp,
			 uint64_t hi)
{
	struct map *map;

	for (int off = 96; off <= 104; off += 8) {
		uint64_t b, a;

		if (mem__read(&u->mem, g + (uint64_t)off, &b) && b >= sp &&
		    b < hi && !(b & 7) && mem__read(&u->mem, b + 8, &a) &&
		    (map = procmap__find(u->pm, u->proc, a - 1)) && map->obj &&
		    elf_obj__is_go_pc(map->obj, a - 1 - map->bias))
			return b;
	}
	return 0;
}

/* runtime.morestack: the goroutine called it from function f's prologue
 * and waits, frozen, while newstack runs on g0. The way back is in the g
 * struct: g0 is the g register of the Go code on g0 (u->g), g0.m (offset
 * 48, stable since Go 1.4) is the m, m.curg the goroutine (an offset that
 * moved between versions: found by checking curg.m == m and that its
 * stack holds sched.sp), and curg.sched holds f's pc, sp and bp (gobuf:
 * sp 0, pc 8; bp 40, or 48 before gobuf.ret was removed). Read from the
 * snapshot, else from the live process, checked. */
/* The goroutine of the m whose g0 is u->g, and its saved sp, pc and bp
 * (sched), each link checked. */
static bool find_curg_in(struct unwind_ctx *u, uint64_t *sp, uint64_t *pc,
			 uint64_t *bp)
{
	static const uint64_t curg_offsets[] = { 184, 192, 176, 200 };
	uint64_t g0 = u->g, m, m_g0, curg = 0, lo, hi = 0;

	u->mem.frozen = true;
	if (!g0 || !mem__read(&u->mem, g0 + 48, &m) ||
	    !mem__read(&u->mem, m, &m_g0) || m_g0 != g0)
		return false;
	for (size_t i = 0; i < sizeof(curg_offsets) / sizeof(curg_offsets[0]); i++) {
		uint64_t g, gm;

		if (!mem__read(&u->mem, m + curg_offsets[i], &g) || !g || g == g0 ||
		    !mem__read(&u->mem, g + 48, &gm) || gm != m ||
		    !mem__read(&u->mem, g, &lo) || !mem__read(&u->mem, g + 8, &hi) ||
		    !mem__read(&u->mem, g + 56, sp) || *sp < lo || *sp >= hi ||
		    !mem__read(&u->mem, g + 64, pc))
			continue;
		curg = g;
		break;
	}
	if (!curg)
		return false;
	*bp = sched_bp(u, curg, *sp + 1, hi);
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

static bool find_curg(struct unwind_ctx *u, uint64_t *sp, uint64_t *pc,
		      uint64_t *bp)
{
	return snapshot_first(u, find_curg_in, sp, pc, bp);
}

/* How far below newstack's frame address its copy of m.morebuf may lie:
 * newstack's frame is 0x1b0 bytes in Go 1.19, 0x130 in Go 1.26. */
#define CGOPROF_MOREBUF_SCAN 96	/* words */

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

	for (uint64_t a = cfa - 32, n = 0; n < CGOPROF_MOREBUF_SCAN; a -= 8, n++) {
		uint64_t w[3], lo, hi, ra;
		struct map *map;

		if (!copy_read(&u->mem, a, &w[0]) ||
		    !copy_read(&u->mem, a + 8, &w[1]) ||
		    !copy_read(&u->mem, a + 16, &w[2]))
			break;
		if (!w[2] || (w[2] & 7) || w[0] < 8)
			continue;
		u->mem.frozen = true;
		if (!mem__read(&u->mem, w[2] + 56, sp) || *sp != w[0] - 8 ||
		    !mem__read(&u->mem, w[2], &lo) ||
		    !mem__read(&u->mem, w[2] + 8, &hi) || *sp < lo ||
		    *sp >= hi || !mem__read(&u->mem, w[2] + 64, pc) ||
		    !mem__read(&u->mem, *sp, &ra) || ra != w[1])
			continue;
		map = procmap__find(u->pm, u->proc, *pc - 1);
		if (!map || !map->obj || !map->obj->go ||
		    !is_morestack_call(map->obj, *pc - map->bias))
			continue;
		*bp = sched_bp(u, w[2], *sp + 1, hi);
		return true;
	}
	return false;
}

static bool find_morebuf_g(struct unwind_ctx *u, uint64_t cfa, uint64_t *sp,
			   uint64_t *pc, uint64_t *bp)
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
static bool goroutine_by_pcsp(struct unwind_ctx *u, uint64_t ra, uint64_t sp,
			      uint64_t bp)
{
	struct regs c = { 0 };
	uint64_t v;

	if (!snap_read(&u->mem, sp, &v))
		return false;
	c.r[16] = ra;
	c.r[7] = sp;
	c.r[6] = bp;
	c.valid = (1u << 16) | (1u << 7) | (1u << 6);
	u->mem.frozen = u->mem.snap_checked;
	unwind_regs(u, &c, true);
	return true;
}

/* runtime.systemstack without a frame record of its own (before Go 1.21):
 * the goroutine waits in it, its sched.sp at systemstack's return address
 * (gosave_systemstack_switch) and sched.bp its caller's frame pointer. */
static bool systemstack_switch(struct unwind_ctx *u, struct elf_obj *obj,
			       uint64_t entry)
{
	uint64_t sp, pc, bp, ra;
	struct map *map;

	if (!find_curg(u, &sp, &pc, &bp) || !mem__read(&u->mem, sp, &ra))
		return false;
	map = procmap__find(u->pm, u->proc, ra - 1);
	if (!map || !map->obj || !map->obj->go ||
	    !elf_obj__is_go_pc(map->obj, ra - 1 - map->bias) ||
	    !is_call_to(map->obj, ra - map->bias, entry, obj))
		return false;
	if (goroutine_by_pcsp(u, ra, sp + 8, bp))
		return true;
	push_frame(u->r, ra, map, 0);
	go_fp_walk(u, bp, -1, NULL, 0, true);
	return true;
}

/* @cfa: newstack's frame address (morestack's sp on g0). */
static bool morestack_switch(struct unwind_ctx *u, uint64_t cfa)
{
	struct unwind_result *r = u->r;
	uint64_t sp = 0, pc = 0, bp = 0, ra;
	struct map *map;
	struct go_func fn;

	if (!find_curg(u, &sp, &pc, &bp) &&
	    !find_morebuf_g(u, cfa, &sp, &pc, &bp))
		return false;
	/* f, at the call of morestack in its prologue */
	map = procmap__find(u->pm, u->proc, pc - 1);
	if (!map || !map->obj || !map->obj->go ||
	    pclntab__find_func(map->obj->go, pc - 1 - map->bias, &fn) ||
	    !is_morestack_call(map->obj, pc - map->bias))
		return false;
	if (copy_read(&u->mem, sp, &ra)) {
		/* the goroutine's stack as it was at the sample (snapshot):
		 * unwound by pcsp from f's sp, not by frame pointers, which
		 * copystack may have copied but not yet adjusted; nothing
		 * beyond the snapshot is read from the live process, where
		 * the stack is being copied and freed */
		struct regs c = { 0 };

		c.r[16] = pc;
		c.r[7] = sp;
		c.r[6] = bp;
		c.valid = (1u << 16) | (1u << 7) | (1u << 6);
		u->mem.frozen = false;
		unwind_regs(u, &c, true);
		return true;
	}
	push_frame(r, pc, map, 0);
	/* f's caller: the return address at f's sp (f has no frame yet) */
	if (!mem__read(&u->mem, sp, &ra))
		return false;
	map = procmap__find(u->pm, u->proc, ra - 1);
	if (!map || !map->obj ||
	    !elf_obj__is_go_pc(map->obj, ra - 1 - map->bias) ||
	    !is_call_to(map->obj, ra - map->bias, fn.entry, map->obj)) {
		truncate(r, "goroutine stack changed since the sample");
		return true;
	}
	push_frame(r, ra, map, 0);
	if (!pclntab__find_func(map->obj->go, ra - 1 - map->bias, &fn) &&
	    (fn.flag & CGOPROF_GO_FUNCFLAG_TOPFRAME)) {
		r->status = STACK_COMPLETE;
		return true;
	}
	go_fp_walk(u, bp, -1, NULL, 0, true);
	return true;
}

/* runtime.mcall(fn): a goroutine g (parking, exiting, yielding) switched to
 * g0 and called fn there; mcall pushed g just above fn's return address, at
 * @mcall_sp (in the stack copy: exact), and saved its caller's pc, sp and bp
 * in g.sched. g waits while fn runs, and g.sched holds until g runs again
 * (gogo then clears sched.sp), so the caller's frames are read from the
 * live process: sched.pc must follow a call of mcall (@mcall_entry in
 * @obj), and every return address above is checked as for frozen stacks. */
static bool mcall_switch(struct unwind_ctx *u, uint64_t mcall_sp,
			 struct elf_obj *obj, uint64_t mcall_entry)
{
	struct unwind_result *r = u->r;
	uint64_t g, lo, hi, sp, pc, bp = 0;
	struct map *map;
	struct go_func fn;

	if (!copy_read(&u->mem, mcall_sp, &g) || !g || (g & 7))
		return false;
	u->mem.frozen = true;
	u->mem.snap_checked = true;
	if (!mem__read(&u->mem, g, &lo) || !mem__read(&u->mem, g + 8, &hi) ||
	    !mem__read(&u->mem, g + 56, &sp) || !sp || sp < lo || sp >= hi ||
	    !mem__read(&u->mem, g + 64, &pc))
		return false;
	map = procmap__find(u->pm, u->proc, pc - 1);
	if (!map || map->obj != obj || !obj->go ||
	    pclntab__find_func(obj->go, pc - 1 - map->bias, &fn) ||
	    !is_call_to(obj, pc - map->bias, mcall_entry, obj))
		return false;
	bp = sched_bp(u, g, sp, hi);
	if (!bp)
		return false;
	if (goroutine_by_pcsp(u, pc, sp, bp))
		return true;
	push_frame(r, pc, map, 0);
	go_fp_walk(u, bp, -1, obj, fn.entry, true);
	return true;
}

/* Go frames of a cgo call from its entry record (see struct cgo_entry).
 * Returns false when there is none for this goroutine frame pointer. */
static bool go_entry_walk(struct unwind_ctx *u, uint64_t bp)
{
	const struct cgo_entry *e;
	struct unwind_result *r = u->r;

	if (!u->o->cgo_entry)
		return false;
	e = u->o->cgo_entry(u->o->cgo_ctx, u->s->tid, bp, u->s->time);
	if (!e)
		return false;
	for (uint32_t i = 0; i < e->n; i++) {
		uint64_t ra = e->pcs[i];
		struct map *map = procmap__find(u->pm, u->proc, ra - 1);
		struct go_func fn;

		if (r->n >= CGOPROF_MAX_FRAMES) {
			truncate(r, "depth limit");
			return true;
		}
		if (!map || !map->obj ||
		    !elf_obj__is_go_pc(map->obj, ra - 1 - map->bias) ||
		    pclntab__find_func(map->obj->go, ra - 1 - map->bias, &fn)) {
			truncate(r, "cgo entry record left Go code");
			return true;
		}
		push_frame(r, ra, map, UNWIND_FRAME_CHAIN);
		if (fn.flag & CGOPROF_GO_FUNCFLAG_TOPFRAME) {
			r->status = STACK_COMPLETE;
			return true;
		}
		if (go_special(fn.name) == GO_CGOCALLBACK) {
			/* nested: the frames below cgocallback are on g0,
			 * where the entry record has no frame records */
			truncate(r, "callback below a cgo call");
			return true;
		}
	}
	truncate(r, "kernel callchain limit");
	return true;
}

/* runtime.morestack, from its entry record (see struct go_morestack):
 * newstack runs on g0 below @g0_sp, and its frame holds its copy of
 * m.morebuf (a gobuf: sp, then pc), which morestack set to f's caller's sp
 * and pc. That pair in the stack copy ties this newstack to the recorded
 * morestack call: only then are the recorded frames used. Returns false
 * when there is no such record. */
static void morestack_frames(struct unwind_ctx *u,
			     const struct go_morestack *m);

static bool morestack_record(struct unwind_ctx *u, uint64_t g0_sp)
{
	const struct go_morestack *m;
	uint64_t a, v, w;
	bool tied = false;

	if (!u->o->go_morestack)
		return false;
	m = u->o->go_morestack(u->o->cgo_ctx, u->s->tid, u->s->time);
	if (!m || m->n < 2)
		return false;
	for (a = u->s->regs[PERF_REG_SP] & ~7ULL; a + 16 <= g0_sp && !tied;
	     a += 8)
		tied = copy_read(&u->mem, a, &v) && v == m->sp + 16 &&
		       copy_read(&u->mem, a + 8, &w) && w == m->pcs[1];
	if (!tied)
		return false;
	morestack_frames(u, m);
	return true;
}

/* The recorded frames of morestack entry @m, from f up. */
static void morestack_frames(struct unwind_ctx *u, const struct go_morestack *m)
{
	struct unwind_result *r = u->r;

	for (uint32_t i = 0; i < m->n; i++) {
		uint64_t ra = m->pcs[i];
		struct map *map = procmap__find(u->pm, u->proc, ra - 1);
		struct go_func fn;

		if (r->n >= CGOPROF_MAX_FRAMES) {
			truncate(r, "depth limit");
			return;
		}
		if (!map || !map->obj ||
		    !elf_obj__is_go_pc(map->obj, ra - 1 - map->bias) ||
		    pclntab__find_func(map->obj->go, ra - 1 - map->bias, &fn)) {
			truncate(r, "morestack record left Go code");
			return;
		}
		push_frame(r, ra, map, UNWIND_FRAME_CHAIN);
		if (fn.flag & CGOPROF_GO_FUNCFLAG_TOPFRAME) {
			r->status = STACK_COMPLETE;
			return;
		}
		if (go_special(fn.name) != GO_PLAIN &&
		    go_special(fn.name) != GO_CGOCALL) {
			/* a stack switch in the recorded frames (a callback's
			 * cgocallback): no frame records for the rest */
			truncate(r, fn.name + 8);
			return;
		}
	}
	truncate(r, "kernel callchain limit");
}

/* Whether the instruction whose first byte is @op can be one byte long:
 * then the byte after it is also where the kernel leaves the thread once
 * it has emulated (push reg) or stepped it. Prefixes and two-byte opcodes
 * are not; a false "can" only costs a check. */
static bool maybe_one_byte(uint8_t op)
{
	return (op >= 0x50 && op <= 0x5f) || (op >= 0x90 && op <= 0x9f) ||
	       op == 0xc3 || op == 0xc9 || op == 0xcc || op == 0xf4 ||
	       (op >= 0xf8 && op <= 0xfd);
}

/* A sample taken in the int3 trap of one of the recording's uprobes
 * (o->probe_sites): the probed instruction has not run. Until the kernel
 * moves the ip back to it, the user ip is the byte after its first: put
 * it back, so the leaf unwinds from the probed instruction. When that
 * instruction can be one byte long, the same ip is also where a thread
 * is once it has run (an emulated push moved rsp): the ip goes back only
 * if [rsp] is then a call's return address, as at a function's entry. */
static void trap_ip(struct unwind_ctx *u, struct regs *cur)
{
	uint64_t ip = cur->r[16], ra;
	struct map *m, *rm;
	uint8_t op;

	for (uint64_t back = 0; back < 2 && ip > back; back++) {
		m = procmap__find(u->pm, u->proc, ip - back);
		if (!m || !m->obj)
			continue;
		for (size_t i = 0; i < u->o->nprobe_sites; i++) {
			const struct probe_site *ps = &u->o->probe_sites[i];

			if (ps->dev != m->dev || ps->ino != m->ino ||
			    ps->off != ip - back - m->start + m->pgoff)
				continue;
			if (back && elf_obj__read(m->obj, ip - 1 - m->bias, &op, 1))
				return;
			if (back && maybe_one_byte(op)) {
				if (!copy_read(&u->mem, cur->r[7], &ra))
					return;
				rm = procmap__find(u->pm, u->proc, ra);
				if (!rm || !rm->obj ||
				    !is_call_to(rm->obj, ra - rm->bias, 0, NULL))
					return;
			}
			cur->r[16] = ip - back;
			u->probe_pc = cur->r[16];
			return;
		}
	}
}

/* The kernel's out-of-line slots are this long (x86's
 * UPROBE_XOL_SLOT_BYTES): the ip's offset in its slot is how many bytes of
 * the displaced instruction have run, 0 before it runs, its length after
 * (until the kernel moves the ip back to the probed function). */
#define CGOPROF_XOL_SLOT 128

/* Whether sp @sp after @done bytes of the instruction at @pc (link-time,
 * in @o) ran follows from sp @hit_sp at the probe's hit: unchanged, or the
 * frame a prologue's `sub $n, %rsp` (Go before 1.21) allocates. */
static bool xol_sp_ok(struct elf_obj *o, uint64_t pc, uint64_t done,
		      uint64_t hit_sp, uint64_t sp)
{
	uint8_t c[7];
	int32_t n;

	if (sp == hit_sp)
		return true;
	if ((done != 4 && done != 7) || elf_obj__read(o, pc, c, done))
		return false;
	if (done == 4 && c[0] == 0x48 && c[1] == 0x83 && c[2] == 0xec)
		return sp == hit_sp - c[3];
	if (done == 7 && c[0] == 0x48 && c[1] == 0x81 && c[2] == 0xec) {
		memcpy(&n, c + 3, 4);
		return n > 0 && sp == hit_sp - (uint64_t)n;
	}
	return false;
}

/* A sample in the uprobes' out-of-line page: the thread is stepping the
 * first instruction of a probed function, displaced there by the kernel.
 * The thread's latest hit says which (a thread steps only the instruction
 * of its latest hit); its sp must agree. The leaf is the probed
 * instruction, or the next one once it has run, and the walk goes on from
 * there with the sample's registers. A morestack hit's record also holds
 * the goroutine's frames, exact from the kernel's callchain. */
static bool uprobe_leaf(struct unwind_ctx *u, const struct regs *cur)
{
	const struct go_morestack *m = NULL;
	uint64_t done = cur->r[16] & (CGOPROF_XOL_SLOT - 1);
	struct probe_hit hit;
	struct regs at;
	struct map *map;

	if (!u->o->probe_hit ||
	    !u->o->probe_hit(u->o->probe_hit_ctx, u->s->tid, u->s->time, &hit) ||
	    !hit.ip || u->s->time - hit.time > 5000000 || done > 15)
		return false;
	map = procmap__find(u->pm, u->proc, hit.ip);
	if (!map || !map->obj ||
	    !xol_sp_ok(map->obj, hit.ip - map->bias, done, hit.sp, cur->r[7]))
		return false;
	if (u->o->go_morestack)
		m = u->o->go_morestack(u->o->cgo_ctx, u->s->tid, u->s->time);
	if (m && m->time == hit.time && m->ip == hit.ip &&
	    m->sp == cur->r[7]) {
		push_frame(u->r, m->ip, map, UNWIND_FRAME_LEAF);
		morestack_frames(u, m);
		return true;
	}
	at = *cur;
	at.r[16] = hit.ip + done;
	u->probe_pc = at.r[16];
	unwind_regs(u, &at, false);
	return true;
}

/* Whether CFI describes link-time @vaddr in @o as the outermost frame
 * (its return address undefined: a thread's or process's root), and, in
 * *@start, where the FDE holding @vaddr begins (0 without one). */
static bool cfi_root(struct elf_obj *o, uint64_t vaddr, uint64_t *start)
{
	bool root = false;

	*start = 0;
	for (int eh = 1; eh >= 0 && !*start; eh--) {
		Dwarf_CFI *cfi = elf_obj__cfi(o, vaddr, eh);
		Dwarf_Frame *frame = NULL;
		Dwarf_Op ops_mem[3], *ops;
		Dwarf_Addr lo, hi;
		size_t nops;
		bool signalp;

		if (!cfi || dwarf_cfi_addrframe(cfi, vaddr, &frame))
			continue;
		if (dwarf_frame_info(frame, &lo, &hi, &signalp) >= 0)
			*start = lo;
		root = !dwarf_frame_register(frame, 16, ops_mem, &ops, &nops) &&
		       !nops && ops == ops_mem;
		free(frame);
	}
	return root;
}

/* The code at link-time @pc in @o, from right after a clone system call,
 * is the child's way to its root: a test of rax and conditional jumps on
 * its sign, the one on zero (je: taken, jne: not taken) leading to code
 * whose CFI has no return address (glibc's clone and clone3 start the
 * thread function there, and end their FDE before the syscall, as the
 * child's stack is another). */
static bool clone_child_path(struct elf_obj *o, uint64_t pc)
{
	uint64_t start;
	uint8_t c[32];
	size_t i = 0;

	if (elf_obj__read(o, pc, c, sizeof(c)))
		return false;
	while (i + 6 <= sizeof(c)) {
		uint64_t next;
		int32_t rel;

		if (c[i] == 0x48 && c[i + 1] == 0x85 && c[i + 2] == 0xc0) {
			i += 3;			/* test %rax,%rax */
		} else if (c[i] == 0x85 && c[i + 1] == 0xc0) {
			i += 2;			/* test %eax,%eax */
		} else if (c[i] >= 0x7c && c[i] <= 0x7f) {
			i += 2;			/* jl, jge, jle, jg rel8 */
		} else if (c[i] == 0x0f && c[i + 1] >= 0x8c && c[i + 1] <= 0x8f) {
			i += 6;			/* the same, rel32 */
		} else if (c[i] == 0x74 || c[i] == 0x75) {
			next = pc + i + 2;	/* je, jne rel8 */
			return cfi_root(o, c[i] == 0x74 ?
					   next + (uint64_t)(int64_t)(int8_t)c[i + 1] :
					   next, &start);
		} else if (c[i] == 0x0f && (c[i + 1] == 0x84 || c[i + 1] == 0x85)) {
			memcpy(&rel, c + i + 2, 4);
			next = pc + i + 6;
			return cfi_root(o, c[i + 1] == 0x84 ?
					   next + (uint64_t)(int64_t)rel : next,
					&start);
		} else {
			return false;
		}
	}
	return false;
}

/* A leaf at link-time @lookup in @map that no CFI describes: hand-written
 * code around a system call (glibc's clone3 ends its FDE before the
 * syscall: the child's stack is another), or a function without any
 * (_init). The parent, or any such function that has pushed nothing, has
 * its return address at sp: taken when the code before it is a direct
 * call of this very function (an entry at most 256 bytes before the leaf
 * and where an FDE begins, if one covers it) or of a PLT stub, or an
 * indirect call. In a clone's child (rax 0) nothing called the code: the
 * thread's root. Names are not looked up: that loads debug information,
 * which stalls the recording for as long. */
static enum step_result leaf_without_cfi(struct unwind_ctx *u,
					 const struct regs *cur,
					 struct map *map, uint64_t lookup,
					 struct regs *caller)
{
	struct map *rm;
	uint64_t ra;
	uint8_t c[5];

	if (copy_read(&u->mem, cur->r[7], &ra) && ra > 8 &&
	    (rm = procmap__find(u->pm, u->proc, ra - 1)) && rm->obj &&
	    (rm->prot & PROT_EXEC) &&
	    !elf_obj__read(rm->obj, ra - 5 - rm->bias, c, sizeof(c))) {
		uint64_t target, start;
		int32_t rel;
		bool ok;

		memcpy(&rel, c + 1, 4);
		target = ra - rm->bias + (uint64_t)(int64_t)rel;
		if (c[0] != 0xe8)
			/* an indirect call (ld.so calls _init so, the
			 * page fault of its first instruction a sample) */
			ok = is_call_to(rm->obj, ra - rm->bias, 0, NULL);
		else if (elf_obj__in_plt(rm->obj, target))
			ok = true;
		else if (rm->obj != map->obj || target > lookup ||
			 lookup - target >= 256)
			ok = false;
		else {
			cfi_root(map->obj, target, &start);
			ok = !start || start == target;
		}
		if (ok) {
			/* nothing pushed: every register is the caller's */
			*caller = *cur;
			caller->r[7] = cur->r[7] + 8;
			caller->r[16] = ra;
			return STEP_OK;
		}
	}
	if ((cur->valid & 1) && !cur->r[0] && clone_child_path(map->obj, lookup))
		return STEP_END;
	return STEP_NO_INFO;
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
	static const uint8_t x86_to_dwarf[8] = { 0, 2, 1, 3, 7, 6, 4, 5 };
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
		int reg = rex ? 8 + (c[1] - 0x58) : x86_to_dwarf[c[1] - 0x58];
		uint64_t ra = cur->r[reg];
		struct map *cm;

		if ((rex && c[0] != 0x41) || !(cur->valid & (1u << reg)) ||
		    ra < 1)
			continue;
		cm = procmap__find(u->pm, u->proc, ra - 1);
		if (!cm || !cm->obj ||
		    !is_call_to(cm->obj, ra - cm->bias, fn->entry, o))
			continue;
		*caller = *cur;
		caller->valid = (1u << 7) | (1u << 16) | (cur->valid & (1u << 6));
		/* the return address was at sp - 8 (d): the caller's sp is
		 * sp itself */
		caller->r[7] = cur->r[7] + (uint64_t)(int64_t)d + 8;
		caller->r[16] = ra;
		return STEP_OK;
	}
	return STEP_BAD;
}

/* A Go assembly function that writes SP itself (SPWRITE: runtime.
 * callCgoMmap and its kind align SP for C code with ANDQ): pcsp does not
 * follow such writes. Its frame record, which its prologue set up (pcsp
 * >= 8 here), does: rbp (callee saved, so still it in the C code it
 * called) holds the caller's frame pointer and return address, which
 * must return from a call of this function. */
static enum step_result spwrite_step(struct unwind_ctx *u, struct elf_obj *o,
				     const struct go_func *fn, uint64_t lookup,
				     const struct regs *cur, struct regs *caller)
{
	uint64_t bp = cur->r[6], nbp, ra;
	struct map *cm;
	int32_t d;

	if ((fn->flag & CGOPROF_GO_FUNCFLAG_TOPFRAME) ||
	    pclntab__sp_delta(o->go, fn, lookup, &d) || d < 8 ||
	    !(cur->valid & (1u << 6)) || (bp & 7) || bp < cur->r[7] ||
	    !mem__read(&u->mem, bp, &nbp) || !mem__read(&u->mem, bp + 8, &ra) ||
	    ra < 1)
		return STEP_NO_INFO;
	cm = procmap__find(u->pm, u->proc, ra - 1);
	if (!cm || !cm->obj || !is_call_to(cm->obj, ra - cm->bias, fn->entry, o))
		return STEP_NO_INFO;
	*caller = *cur;
	caller->valid = (1u << 6) | (1u << 7) | (1u << 16);
	caller->r[6] = nbp;
	caller->r[7] = bp + 16;
	caller->r[16] = ra;
	return STEP_OK;
}

/* The x86-64 rt_sigreturn trampoline: mov $15, %rax; syscall (glibc's
 * and musl's __restore_rt; the kernel's sa_restorer convention). */
static const uint8_t sigreturn_code[9] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00,
					   0x00, 0x00, 0x0f, 0x05 };

/* Whether link-time @vaddr in @o is the trampoline's first instruction,
 * or (@leaf) its syscall, or right after it (a sample in the system call:
 * the user ip follows the syscall instruction). */
static bool at_sigreturn(struct elf_obj *o, uint64_t vaddr, bool leaf)
{
	static const unsigned back[] = { 0, 7, 9 };
	uint8_t c[sizeof(sigreturn_code)];

	for (unsigned i = 0; i < (leaf ? 3u : 1u); i++)
		if (vaddr >= back[i] &&
		    !elf_obj__read(o, vaddr - back[i], c, sizeof(c)) &&
		    !memcmp(c, sigreturn_code, sizeof(c)))
			return true;
	return false;
}

/* The frame of a signal trampoline without CFI (musl's): the kernel's
 * rt_sigframe is at sp, its struct ucontext first (the handler's return
 * popped pretcode), uc_mcontext at 40 holding the interrupted registers
 * (gregs: r8-r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip). */
static enum step_result sigframe_step(struct unwind_ctx *u,
				      const struct regs *cur,
				      struct regs *caller)
{
	static const uint8_t greg_of[NREGS] = { 13, 12, 14, 11, 9, 8, 10, 15,
						0, 1, 2, 3, 4, 5, 6, 7, 16 };
	uint64_t mc = cur->r[7] + 40;

	memset(caller, 0, sizeof(*caller));
	for (int reg = 0; reg < NREGS; reg++) {
		if (mem__read(&u->mem, mc + 8 * (uint64_t)greg_of[reg],
			      &caller->r[reg]))
			caller->valid |= 1u << reg;
		else if (reg == 16 || reg == 7)
			return STEP_STACK_END;
	}
	return STEP_OK;
}

/* Whether @pc (absolute) is the pc Go's runtime saves in g.sched where a
 * goroutine leaves its stack for g0 (gosave_systemstack_switch: the entry
 * of runtime.systemstack_switch before Go 1.21, entry + 8 from 1.21), not
 * a return address: cgocallback "pushes" it as the return address of its
 * frame on the goroutine's stack, and Go's traceback names it by the pc
 * itself, not pc - 1 (the function before, at an entry). */
static bool is_switch_marker(struct unwind_ctx *u, uint64_t pc)
{
	struct map *map = procmap__find(u->pm, u->proc, pc);
	struct go_func fn;

	return map && map->obj && map->obj->go &&
	       elf_obj__is_go_pc(map->obj, pc - map->bias) &&
	       !pclntab__find_func(map->obj->go, pc - map->bias, &fn) &&
	       !strcmp(fn.name, "runtime.systemstack_switch") &&
	       (pc - map->bias == fn.entry || pc - map->bias == fn.entry + 8);
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

/* Whether a leaf in runtime.systemstack, mcall or morestack is still on
 * the stack it was called on: pcsp then gives a return address that
 * returns from a call of it. Past their switch to g0 sp is g0's. */
static bool switched_leaf_ok(struct unwind_ctx *u, struct map *map,
			     const struct go_func *fn, uint64_t lookup,
			     const struct regs *cur)
{
	struct regs caller;
	struct map *cm;
	struct go_func f = *fn;

	if (go_step(map->obj, lookup, cur, &u->mem, &caller, &f) != STEP_OK ||
	    caller.r[16] < 1)
		return false;
	cm = procmap__find(u->pm, u->proc, caller.r[16] - 1);
	if (!cm || !cm->obj)
		return false;
	/* prologues call morestack_noctxt, which jumps to morestack */
	if (!strncmp(fn->name, "runtime.morestack", 17))
		return cm->obj->go &&
		       is_morestack_call(cm->obj, caller.r[16] - cm->bias);
	return is_call_to(cm->obj, caller.r[16] - cm->bias, fn->entry,
			  map->obj);
}

/* An activation of runtime.systemstack, runtime.mcall or morestack at
 * @cur (sp: its callee's frame address; rbp: its callee's saved rbp):
 * the function its callee runs for is a goroutine that waits while g0
 * runs. Follows it there, or ends the stack truncated. */
static void runtime_switch(struct unwind_ctx *u, const struct regs *cur,
			   struct map *map, const struct go_func *fn,
			   uint64_t lookup)
{
	struct unwind_result *r = u->r;

	if (go_special(fn->name) == GO_SYSTEMSTACK) {
		/* on g0: like asmcgocall, rbp is the goroutine's frame
		 * pointer. systemstack's own frame record (it has one from
		 * Go 1.21: pcsp >= 8 here) links to its caller; without one
		 * the caller is skipped, and found from curg.sched */
		int32_t d = 0;

		if (pclntab__sp_delta(map->obj->go, fn, lookup, &d) || d < 8 ||
		    !(cur->valid & (1u << 6))) {
			if (!systemstack_switch(u, map->obj, fn->entry))
				truncate(r, "systemstack");
			return;
		}
		go_fp_walk(u, cur->r[6], chain_sync(u, cur->r[6]), NULL, 0,
			   true);
		return;
	}
	if (!strncmp(fn->name, "runtime.morestack", 17) &&
	    (morestack_record(u, cur->r[7]) ||
	     morestack_switch(u, cur->r[7])))
		return;
	if (!strcmp(fn->name, "runtime.mcall") &&
	    mcall_switch(u, cur->r[7], map->obj, fn->entry))
		return;
	truncate(r, fn->name + 8);
}

/* Walks user frames from @cur by CFI (C) and pcsp (Go), switching to the
 * frame-pointer walk where a stack switch leaves the stack being walked.
 * @activation: cur's pc is a return address. */
static void unwind_regs(struct unwind_ctx *u, struct regs *cur, bool activation)
{
	struct unwind_result *r = u->r;
	uint32_t fflags = activation ? 0 : UNWIND_FRAME_LEAF;
	bool from_c = false;

	if (++u->switches > 16) {
		truncate(r, "too many stack switches");
		return;
	}
	for (;;) {
		uint64_t pc = cur->r[16], lookup;
		struct regs caller;
		enum step_result sr = STEP_NO_INFO;
		bool signal_frame = false, is_go;
		struct go_func fn;
		struct map *map;

		if (r->n >= CGOPROF_MAX_FRAMES) {
			truncate(r, "depth limit");
			return;
		}
		map = procmap__find(u->pm, u->proc, activation ? pc - 1 : pc);
		if (!map || !map->obj) {
			if (activation && !map) {
				/* a return address nobody maps: not a frame */
				truncate(r, "unmapped return address");
				return;
			}
			bool xol = map && !strcmp(map->path, "[uprobes]");

			if (!activation && xol && uprobe_leaf(u, cur))
				return;
			push_frame(r, pc, map, fflags);
			truncate(r, xol    ? "uprobe single-step"
				    : map ? "binary not readable"
					  : "unmapped pc");
			return;
		}
		if (!(map->prot & PROT_EXEC) &&
		    (activation || pc != u->s->regs[PERF_REG_IP])) {
			/* a word of a file's data read as a return address,
			 * or as the pc a signal interrupted */
			truncate(r, "return address not in code");
			return;
		}
		push_frame(r, pc, map, fflags);
		lookup = (activation ? pc - 1 : pc) - map->bias;
		is_go = elf_obj__is_go_pc(map->obj, lookup) &&
			!pclntab__find_func(map->obj->go, lookup, &fn);
		if (is_go && activation && lookup + 1 == fn.end &&
		    is_switch_marker(u, pc)) {
			/* not a return address (no Go call returns to an
			 * entry: functions are padded): named and stepped at
			 * itself, as Go's traceback does */
			r->frames[r->n - 1].flags |= UNWIND_FRAME_LEAF;
			lookup = pc - map->bias;
			is_go = !pclntab__find_func(map->obj->go, lookup, &fn);
		}
		if (is_go) {
			enum go_special sp = go_special(fn.name);

			if (sp == GO_ASMCGOCALL && activation && from_c) {
				/* Go -> C: the C frames are done; rbp (callee
				 * saved) is the goroutine's frame pointer, and
				 * r14 (callee saved too) Go's g register */
				if (cur->valid & (1u << 14))
					u->g = cur->r[14];
				if (!(cur->valid & (1u << 6))) {
					truncate(r, "rbp lost in C frames");
					return;
				}
				{
					int64_t k = chain_sync(u, cur->r[6]);
					uint64_t v;

					if (k < 0 && !copy_read(&u->mem, cur->r[6], &v) &&
					    go_entry_walk(u, cur->r[6]))
						return;
					go_fp_walk(u, cur->r[6], k, map->obj,
						   fn.entry, true);
				}
				return;
			}
			/* at a probe's instruction (its entry, or right
			 * after) it is still on the goroutine's stack, a
			 * frame of its own */
			if (sp == GO_ASMCGOCALL &&
			    (activation || pc != u->probe_pc) &&
			    !(activation && calls_gosave(map->obj, lookup + 1))) {
				truncate(r, "inside asmcgocall");
				return;
			}
			if (sp == GO_CGOCALLBACK && activation) {
				callback_switch(u, cur->r[6]);
				return;
			}
			if ((sp == GO_SYSTEMSTACK || sp == GO_NO_WAY_BACK) &&
			    activation) {
				runtime_switch(u, cur, map, &fn, lookup);
				return;
			}
			if ((sp == GO_SYSTEMSTACK || sp == GO_NO_WAY_BACK) &&
			    !switched_leaf_ok(u, map, &fn, lookup, cur)) {
				/* the leaf is past its switch to g0 (at its
				 * call of the function it runs there): pcsp
				 * no longer describes sp */
				runtime_switch(u, cur, map, &fn, lookup);
				return;
			}
			sr = STEP_NO_INFO;
			if (fn.flag & CGOPROF_GO_FUNCFLAG_SPWRITE)
				sr = spwrite_step(u, map->obj, &fn, lookup, cur,
						  &caller);
			if (sr != STEP_OK)
				sr = go_step(map->obj, lookup, cur, &u->mem,
					     &caller, &fn);
			if (sr == STEP_BAD && !activation)
				sr = popped_ra_step(u, map->obj, &fn, lookup,
						    cur, &caller);
			/* a leaf in cgocallback after it moved its frame to
			 * the goroutine's stack under the pc the goroutine
			 * left at (is_switch_marker): the way on is its frame
			 * record on g0, in rbp, to its caller crosscall2 */
			if (sr == STEP_OK && sp == GO_CGOCALLBACK && !activation &&
			    is_switch_marker(u, caller.r[16]) &&
			    spwrite_step(u, map->obj, &fn, lookup, cur,
					 &caller) != STEP_OK) {
				truncate(r, "cgocallback switching stacks");
				return;
			}
			/* the signal handler that preempts a goroutine makes
			 * it call asyncPreempt with the interrupted pc as its
			 * return address: the caller's pc is exact, no call */
			signal_frame = sr == STEP_OK &&
				       !strcmp(fn.name, "runtime.asyncPreempt");
		} else {
			sr = cfi_step(map->obj, lookup, cur, &u->mem, &caller,
				      &signal_frame);
			if (sr == STEP_NO_INFO &&
			    at_sigreturn(map->obj, pc - map->bias, !activation)) {
				sr = sigframe_step(u, cur, &caller);
				signal_frame = sr == STEP_OK;
			}
			if (sr == STEP_NO_INFO && !activation)
				sr = leaf_without_cfi(u, cur, map, lookup,
						      &caller);
		}
		if (sr != STEP_OK)
			caller.r[7] = is_go ? caller.r[7] : 0;
		from_c = !is_go;
		/* a signal frame: the kernel made the handler return to
		 * this trampoline's first instruction, and the next frame
		 * is the pc the signal interrupted; both are instructions
		 * of their own, named at their address, not at pc - 1 */
		if (sr == STEP_OK && signal_frame && !is_go && activation)
			r->frames[r->n - 1].flags |= UNWIND_FRAME_LEAF;
		fflags = sr == STEP_OK && signal_frame ? UNWIND_FRAME_LEAF : 0;
		/* The entry point (_start of the program or of the loader)
		 * is the root of the first thread; some have no CFI. */
		if (sr == STEP_NO_INFO && map->obj->entry &&
		    lookup - map->obj->entry < CGOPROF_ENTRY_SPAN) {
			r->status = STACK_COMPLETE;
			return;
		}
		if (sr == STEP_NO_INFO || (sr == STEP_BAD && !is_go)) {
			sr = fp_step(cur, &u->mem, &caller);
			fflags = UNWIND_FRAME_FP;
		}
		switch (sr) {
		case STEP_OK:
			break;
		case STEP_END:
			r->status = STACK_COMPLETE;
			return;
		case STEP_STACK_END:
			/* the copy ends: Go frames go on by frame pointer,
			 * from the kernel's callchain */
			if (is_go && (cur->valid & (1u << 6)) &&
			    cur->r[6] + 16 == caller.r[7]) {
				int64_t k = chain_sync(u, cur->r[6]);

				if (k >= 0) {
					go_fp_walk(u, cur->r[6], k, NULL, 0,
						   u->mem.frozen);
					return;
				}
			}
			truncate(r, "stack copy exhausted");
			return;
		default:
			truncate(r, "no unwind info");
			return;
		}
		if (caller.r[16] == 0) {
			/* a zeroed return address ends some thread entries */
			r->status = STACK_COMPLETE;
			return;
		}
		/* a leaf that popped its return address into a register
		 * (vfork: glibc's and Go's) leaves sp where the caller's is */
		if (caller.r[7] <= cur->r[7] && !signal_frame &&
		    !(!activation && caller.r[7] == cur->r[7])) {
			truncate(r, "stack went backwards");
			return;
		}
		if (u->mem.frozen && !signal_frame && fflags != UNWIND_FRAME_FP) {
			/* read from the live process: the caller must call
			 * this function (asmcgocall reaches C by a jump) */
			struct map *cm = procmap__find(u->pm, u->proc,
						       caller.r[16] - 1);
			struct go_func cfn;
			/* C: any call (an FDE's start is not always the
			 * function called: a .cold part is jumped to) */
			uint64_t entry = is_go ? fn.entry : 0;

			if (!cm || !cm->obj) {
				truncate(r, "unmapped return address");
				return;
			}
			/* goroutines start with a made-up return address
			 * into goexit */
			if (!(cm->obj->go &&
			      elf_obj__is_go_pc(cm->obj, caller.r[16] - 1 - cm->bias) &&
			      !pclntab__find_func(cm->obj->go,
						  caller.r[16] - 1 - cm->bias, &cfn) &&
			      (go_special(cfn.name) == GO_ASMCGOCALL ||
			       (cfn.flag & CGOPROF_GO_FUNCFLAG_TOPFRAME))) &&
			    !is_call_to(cm->obj, caller.r[16] - cm->bias, entry,
					map->obj)) {
				truncate(r, "C frames changed since the sample");
				return;
			}
		}
		*cur = caller;
		activation = !signal_frame;
	}
}

/* Whether sample @s is in execve after the kernel replaced the old
 * address space (exec_mmap) and before the new image runs: its user
 * registers are still the old image's, at the return of its execve
 * system call, and nothing at their sp can be read any more, by the
 * kernel's copy or the snapshot program. Then either no mapping holds
 * the ip (the records of the new image are in), or it still maps (they
 * are not yet) and follows a `syscall`. A sample at the new image's
 * first instructions has its stack (argv) and is unwound as usual. */
static bool in_exec(struct unwind_ctx *u, const struct regs *regs)
{
	const struct perf_sample *s = u->s;
	const struct go_snapshot *snap = u->mem.snap;
	uint64_t ip = regs->r[16], sp = regs->r[7];
	struct map *map;
	uint8_t c[2];

	/* in the kernel: by its callchain, or by the sampled ip where its
	 * callchain was not asked for */
	if (!(s->callchain_nr >= 2 && s->callchain[0] == PERF_CONTEXT_KERNEL &&
	      s->callchain[1] < CGOPROF_PERF_CONTEXT_MAX) &&
	    !(s->ip >> 63))
		return false;
	if (u->mem.stack_len)
		return false;
	for (unsigned i = 0; snap && i < snap->n; i++)
		if (snap->r[i].addr >= sp && snap->r[i].addr - sp < 65536)
			return false;
	map = procmap__find(u->pm, u->proc, ip);
	if (!map)
		return true;
	return map->obj && ip >= 2 &&
	       !elf_obj__read(map->obj, ip - 2 - map->bias, c, 2) &&
	       c[0] == 0x0f && c[1] == 0x05;
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
	struct regs regs = { 0 };
	uint64_t i = 0;
	uint32_t nkernel;

	r->n = 0;
	r->status = STACK_COMPLETE;
	r->reason = NULL;
	r->root = NULL;

	/* kernel part of the callchain: PERF_CONTEXT_KERNEL, ips, ... */
	if (s->callchain_nr && s->callchain[0] == PERF_CONTEXT_KERNEL) {
		for (i = 1; i < s->callchain_nr; i++) {
			uint64_t ip = s->callchain[i];

			if (ip >= CGOPROF_PERF_CONTEXT_MAX)
				break;
			if (!o->user_only)
				push_frame(r, ip, NULL, UNWIND_FRAME_KERNEL |
							(i == 1 ? UNWIND_FRAME_LEAF : 0));
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
	for (int reg = 0; reg < NREGS; reg++) {
		regs.r[reg] = s->regs[dwarf_to_perf[reg]];
		regs.valid |= 1u << reg;
	}
	u.mem.stack_lo = s->regs[PERF_REG_SP];
	u.mem.stack = s->stack;
	u.mem.stack_len = s->stack ? s->stack_dyn_size : 0;
	u.mem.pid = p->pid;
	u.mem.live = o->live_reads;
	/* memory copied at the sample's time by the snapshot program: a
	 * goroutine's stack (in a cgo call) or the system stack (in a
	 * callback), as exact as the stack copy */
	u.mem.snap = o->go_snapshot;
	nkernel = r->n;
	if (s->callchain_nr && s->callchain[0] == PERF_CONTEXT_KERNEL &&
	    o->nprobe_sites)
		trap_ip(&u, &regs);
	if (in_exec(&u, &regs)) {
		/* the user part is the exec itself: there is no image to
		 * unwind, and the kernel's frames are the whole stack */
		r->root = "[exec]";
		return 0;
	}
	/* A frozen stack read while it was being left (the C call or the
	 * callback returned in between) fails its checks: read again, a
	 * little later, a couple of times. */
	for (int attempt = 0;; attempt++) {
		struct regs start = regs;

		u.mem.live_failed = false;
		u.mem.used_live = false;
		u.mem.frozen = false;
		u.mem.snap_checked = false;
		u.switches = 0;
		u.g = s->regs[PERF_REG_R14];
		for (unsigned i = 0; u.mem.pages && i < LIVE_PAGES; i++)
			u.mem.pages[i].base = 0;
		r->n = nkernel;
		r->status = STACK_COMPLETE;
		r->reason = NULL;
		if (o->backend == UNWINDER_LIBUNWIND) {
			unwind_libunwind(&u, &start);
			break;
		}
		unwind_regs(&u, &start, false);
		if (r->status != STACK_TRUNCATED || !u.mem.live_failed ||
		    attempt == 2)
			break;
	}
	if (u.mem.used_live && r->status == STACK_COMPLETE)
		r->status = STACK_RECONSTRUCTED;
	/* every way of walking ends here: a frame past the sampled ip whose
	 * pc lies in a file's data, not its code, is a data word taken for
	 * a pc; the stack ends before it */
	for (uint32_t k = nkernel + 1; k < r->n; k++) {
		const struct map *m = r->frames[k].map;

		if (m && m->obj && !(m->prot & PROT_EXEC)) {
			r->n = k;
			truncate(r, "return address not in code");
			break;
		}
	}
	return 0;
}
