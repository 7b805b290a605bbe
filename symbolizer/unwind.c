// SPDX-License-Identifier: MIT
/* The unwinder loop. Registers are kept in DWARF numbering (x86-64: 0 rax,
 * 1 rdx, 2 rcx, 3 rbx, 4 rsi, 5 rdi, 6 rbp, 7 rsp, 8-15 r8-r15, 16 ra). */
#include <dwarf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
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

bool mem__read(struct mem_view *m, uint64_t addr, uint64_t *val)
{
	if (addr >= m->stack_lo && addr + 8 <= m->stack_lo + m->stack_len &&
	    addr + 8 > addr) {
		memcpy(val, m->stack + (addr - m->stack_lo), 8);
		return true;
	}
	return false;
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
	if (!dwarf_frame_info(frame, &start, &end, &signalp))
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

	if (pclntab__find_func(o->go, lookup, fn))
		return STEP_NO_INFO;
	if (fn->flag & CGOPROF_GO_FUNCFLAG_TOPFRAME)
		return STEP_END;
	if (pclntab__sp_delta(o->go, fn, lookup, &delta) || delta < 0 ||
	    delta > (1 << 24))
		return STEP_BAD;
	cfa = cur->r[7] + (uint64_t)delta + 8;
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

/* Walks user frames from @regs. */
static void unwind_user(struct unwind_ctx *u, struct regs *cur)
{
	struct unwind_result *r = u->r;
	bool activation = false; /* the pc is a return address */
	uint32_t fflags = UNWIND_FRAME_LEAF;

	for (;;) {
		uint64_t pc = cur->r[16], lookup;
		struct regs caller;
		enum step_result sr = STEP_NO_INFO;
		bool signal_frame = false;
		struct go_func fn;
		struct map *map;

		if (r->n >= CGOPROF_MAX_FRAMES) {
			truncate(r, "depth limit");
			return;
		}
		map = procmap__find(u->pm, u->proc, activation ? pc - 1 : pc);
		push_frame(r, pc, map, fflags);
		if (!map || !map->obj) {
			truncate(r, map ? "binary not readable" : "unmapped pc");
			return;
		}
		lookup = (activation ? pc - 1 : pc) - map->bias;
		if (elf_obj__is_go_pc(map->obj, lookup))
			sr = go_step(map->obj, lookup, cur, &u->mem, &caller,
				     &fn);
		else
			sr = cfi_step(map->obj, lookup, cur, &u->mem, &caller,
				      &signal_frame);
		fflags = 0;
		/* The entry point (_start of the program or of the loader)
		 * is the root of the first thread; some have no CFI. */
		if (sr == STEP_NO_INFO && map->obj->entry &&
		    lookup - map->obj->entry < CGOPROF_ENTRY_SPAN) {
			r->status = STACK_COMPLETE;
			return;
		}
		if (sr == STEP_NO_INFO || sr == STEP_BAD) {
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
		if (caller.r[7] <= cur->r[7] && !signal_frame) {
			truncate(r, "stack went backwards");
			return;
		}
		*cur = caller;
		activation = !signal_frame;
	}
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

	r->n = 0;
	r->status = STACK_COMPLETE;
	r->reason = NULL;

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
	unwind_user(&u, &regs);
	return 0;
}
