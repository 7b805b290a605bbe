// SPDX-License-Identifier: MIT
/* C frames for the native backend: a CFI step (libdw's .eh_frame and
 * .debug_frame, DWARF expressions evaluated over the memory view), the
 * frame-pointer fallback, and the rules for what CFI does not describe:
 * leaves without CFI (a system call's code, _init, a PLT stub's caller),
 * the roots of threads (a clone's child, the entry point), a sample in
 * execve, and samples taken in the uprobes the recording placed. Also the
 * check every rule makes of a return address read where it may be stale:
 * that the code before it is a call. */
#include <dwarf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

/* Bytes from e_entry that count as the entry function. */
#define CGOPROF_ENTRY_SPAN 256

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

			if (!(r->valid & REG_BIT(reg)))
				return -ENOENT;
			PUSH(r->r[reg] + ops[i].number);
		} else if (op >= DW_OP_reg0 && op <= DW_OP_reg16) {
			unsigned reg = op - DW_OP_reg0;

			if (!(r->valid & REG_BIT(reg)))
				return -ENOENT;
			*out = r->r[reg];
			*is_value = true;
			return 0;
		} else {
			switch (op) {
			case DW_OP_bregx:
				if (ops[i].number >= NREGS ||
				    !(r->valid & REG_BIT(ops[i].number)))
					return -ENOENT;
				PUSH(r->r[ops[i].number] + ops[i].number2);
				break;
			case DW_OP_regx:
				if (ops[i].number >= NREGS ||
				    !(r->valid & REG_BIT(ops[i].number)))
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

/* One CFI step for the frame at link-time @lookup in @o: the caller's
 * registers by the FDE's rules, each column by DWARF number (enum
 * unwind_reg). Applies to C code with CFI. Reads @cur and the memory the
 * rules name. Sets *@signal_frame when the FDE is a signal frame's ('S'
 * augmentation: glibc's __restore_rt). Fills @caller. */
enum step_result native__cfi_step(struct elf_obj *o, uint64_t lookup,
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
	caller->r[UNWIND_REG_SP] = cfa;
	caller->valid = REG_BIT(UNWIND_REG_SP);
	for (int reg = 0; reg < NREGS; reg++) {
		uint64_t v;

		if (reg == UNWIND_REG_SP)
			continue;
		if (dwarf_frame_register(frame, reg, ops_mem, &ops, &nops))
			continue;
		if (!nops) {
			if (ops == ops_mem) {
				/* undefined: a return address that is
				 * undefined marks the outermost frame */
				if (reg == UNWIND_REG_IP) {
					ret = STEP_END;
					goto out;
				}
				continue;
			}
			if (cur->valid & REG_BIT(reg)) {
				caller->r[reg] = cur->r[reg];
				caller->valid |= REG_BIT(reg);
			}
			continue;
		}
		if (expr_eval(ops, nops, cur, cfa, m, &v, &is_value)) {
			if (reg == UNWIND_REG_IP) {
				ret = STEP_STACK_END;
				goto out;
			}
			continue;
		}
		if (!is_value && !mem__read(m, v, &v)) {
			if (reg == UNWIND_REG_IP) {
				ret = STEP_STACK_END;
				goto out;
			}
			continue;
		}
		caller->r[reg] = v;
		caller->valid |= REG_BIT(reg);
	}
	if (!(caller->valid & REG_BIT(UNWIND_REG_IP)))
		goto out;
	/* the return address register, or -1 */
	if (dwarf_frame_info(frame, &start, &end, &signalp) >= 0)
		*signal_frame = signalp;
	ret = STEP_OK;
out:
	free(frame);
	return ret;
}

/* Frame-pointer fallback, where no other rule applies (C code without
 * CFI, or a rule that failed): reads rbp's frame record, [bp] = caller's
 * bp, [bp+8] = return address. Frames so found are marked. */
enum step_result native__fp_step(const struct regs *cur, struct mem_view *m,
				 struct regs *caller)
{
	uint64_t bp = cur->r[UNWIND_REG_BP], nbp, ra;

	if (!(cur->valid & REG_BIT(UNWIND_REG_BP)) ||
	    bp < cur->r[UNWIND_REG_SP] || (bp & 7))
		return STEP_NO_INFO;
	if (!mem__read(m, bp, &nbp) || !mem__read(m, bp + 8, &ra))
		return STEP_STACK_END;
	memset(caller, 0, sizeof(*caller));
	caller->r[UNWIND_REG_BP] = nbp;
	caller->r[UNWIND_REG_SP] = bp + 16;
	caller->r[UNWIND_REG_IP] = ra;
	caller->valid = REG_BIT(UNWIND_REG_BP) | REG_BIT(UNWIND_REG_SP) |
			REG_BIT(UNWIND_REG_IP);
	return STEP_OK;
}

/* Whether the code before return address @ra (link-time, in @o) is a call,
 * and, when it is a direct call within @o, one to @callee (link-time entry
 * in @callee_obj; 0 when unknown) or to a PLT stub. Return addresses read
 * from a live process are checked so: a stack that moved on since the
 * sample gives return addresses that are not calls of the function below. */
bool native__is_call_to(struct elf_obj *o, uint64_t ra, uint64_t callee,
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
void native__trap_ip(struct unwind_ctx *u, struct regs *cur)
{
	uint64_t ip = cur->r[UNWIND_REG_IP], ra;
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
				if (!mem__read_copy(&u->mem,
						    cur->r[UNWIND_REG_SP], &ra))
					return;
				rm = procmap__find(u->pm, u->proc, ra);
				if (!rm || !rm->obj ||
				    !native__is_call_to(rm->obj, ra - rm->bias,
							0, NULL))
					return;
			}
			cur->r[UNWIND_REG_IP] = ip - back;
			u->probe_pc = cur->r[UNWIND_REG_IP];
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
bool native__uprobe_leaf(struct unwind_ctx *u, const struct regs *cur)
{
	const struct go_morestack *m = NULL;
	uint64_t done = cur->r[UNWIND_REG_IP] & (CGOPROF_XOL_SLOT - 1);
	struct probe_hit hit;
	struct regs at;
	struct map *map;

	if (!u->o->probe_hit ||
	    !u->o->probe_hit(u->o->probe_hit_ctx, u->s->tid, u->s->time, &hit) ||
	    !hit.ip || u->s->time - hit.time > 5000000 || done > 15)
		return false;
	map = procmap__find(u->pm, u->proc, hit.ip);
	if (!map || !map->obj ||
	    !xol_sp_ok(map->obj, hit.ip - map->bias, done, hit.sp,
		       cur->r[UNWIND_REG_SP]))
		return false;
	if (u->o->go_morestack)
		m = u->o->go_morestack(u->o->cgo_ctx, u->s->tid, u->s->time);
	if (m && m->time == hit.time && m->ip == hit.ip &&
	    m->sp == cur->r[UNWIND_REG_SP]) {
		unwind__push(u->r, m->ip, map, UNWIND_FRAME_LEAF);
		goroutine__morestack_frames(u, m);
		return true;
	}
	at = *cur;
	at.r[UNWIND_REG_IP] = hit.ip + done;
	u->probe_pc = at.r[UNWIND_REG_IP];
	unwind__regs(u, &at, false);
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
		root = !dwarf_frame_register(frame, UNWIND_REG_IP, ops_mem,
					     &ops, &nops) &&
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
enum step_result native__leaf_without_cfi(struct unwind_ctx *u,
					  const struct regs *cur,
					  struct map *map, uint64_t lookup,
					  struct regs *caller)
{
	struct map *rm;
	uint64_t ra;
	uint8_t c[5];

	if (mem__read_copy(&u->mem, cur->r[UNWIND_REG_SP], &ra) && ra > 8 &&
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
			ok = native__is_call_to(rm->obj, ra - rm->bias, 0,
						NULL);
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
			caller->r[UNWIND_REG_SP] = cur->r[UNWIND_REG_SP] + 8;
			caller->r[UNWIND_REG_IP] = ra;
			return STEP_OK;
		}
	}
	if ((cur->valid & REG_BIT(UNWIND_REG_AX)) && !cur->r[UNWIND_REG_AX] &&
	    clone_child_path(map->obj, lookup))
		return STEP_END;
	return STEP_NO_INFO;
}

const uint8_t native__x86_reg[8] = {
	UNWIND_REG_AX, UNWIND_REG_CX, UNWIND_REG_DX, UNWIND_REG_BX,
	UNWIND_REG_SP, UNWIND_REG_BP, UNWIND_REG_SI, UNWIND_REG_DI,
};

/* Code without CFI, by its prologue: a Go program linked internally (its
 * only cgo is the standard library's: net, os/user) has the C objects' code
 * and no .eh_frame, since Go's linker copies none, and its .debug_frame
 * describes Go functions only. gcc's prologues there are pushes of
 * callee-saved registers and a sub from rsp, mixed with register moves,
 * constants and zeroing:
 * decoded from the start of the ELF function holding the pc up to it,
 * they give the frame's size and where each pushed register was saved.
 * Past the prologue a function's calls see the whole frame (a return
 * address: an activation); a leaf is at its pc. The return address found
 * must follow a call of this function (or an indirect call, or a PLT
 * stub's; any call where it returns into Go code), as a frozen stack's
 * are checked. Go code is never decoded so
 * (pcsp): the caller asks for pcs no Go function holds. */
enum step_result native__prologue_step(struct unwind_ctx *u,
				       const struct regs *cur, struct map *map,
				       uint64_t lookup, struct regs *caller)
{
	/* callee-saved in the SysV ABI: the caller's own values */
	const uint64_t kept = REG_BIT(UNWIND_REG_BX) | REG_BIT(UNWIND_REG_BP) |
			      REG_BIT(UNWIND_REG_R12) | REG_BIT(UNWIND_REG_R13) |
			      REG_BIT(UNWIND_REG_R14) | REG_BIT(UNWIND_REG_R15);
	struct elf_obj *o = map->obj;
	uint64_t start, size, depth = 0, cfa, ra, v;
	uint64_t saved[UNWIND_REG_IP] = { 0 };	/* depth after its push */
	uint8_t c[64];
	size_t n, i = 0;
	struct map *rm;
	struct go_func gf;
	bool into_go;

	/* (the caller knows no Go function holds the pc) */
	if (!o || elf_obj__func_range(o, lookup, &start, &size) ||
	    lookup - start >= size)
		return STEP_NO_INFO;
	n = lookup - start < sizeof(c) ? lookup - start : sizeof(c);
	if (elf_obj__read(o, start, c, n))
		return STEP_NO_INFO;
	while (i < n) {
		uint8_t rex = 0, op;

		if (i + 4 <= n && c[i] == 0xf3 && c[i + 1] == 0x0f &&
		    c[i + 2] == 0x1e && c[i + 3] == 0xfa) {
			i += 4;		/* endbr64 */
			continue;
		}
		if ((c[i] & 0xf0) == 0x40) {
			rex = c[i++];
			if (i >= n)
				break;
		}
		op = c[i];
		if (op >= 0x50 && op <= 0x57 && !(rex & 0x08)) {
			int reg = rex & 1 ? UNWIND_REG_R8 + (op - 0x50)
					  : native__x86_reg[op - 0x50];

			depth += 8;	/* push reg */
			if (reg != UNWIND_REG_SP && !saved[reg])
				saved[reg] = depth;
			i++;
		} else if (rex == 0x48 && op == 0x83 && i + 3 <= n &&
			   c[i + 1] == 0xec) {
			depth += c[i + 2];	/* sub $imm8, %rsp */
			i += 3;
		} else if (rex == 0x48 && op == 0x81 && i + 6 <= n &&
			   c[i + 1] == 0xec) {
			uint32_t imm;

			memcpy(&imm, c + i + 2, 4);
			depth += imm;	/* sub $imm32, %rsp */
			i += 6;
		} else if ((op == 0x89 || op == 0x8b) && i + 2 <= n &&
			   (c[i + 1] >> 6) == 3) {
			/* mov reg, reg: one that writes rsp ends the frame's
			 * description */
			unsigned dst = op == 0x89 ? (c[i + 1] & 7)
						  : ((c[i + 1] >> 3) & 7);
			unsigned ext = op == 0x89 ? (rex & 1) : ((rex >> 2) & 1);

			if (dst == 4 && !ext)
				return STEP_NO_INFO;
			i += 2;
		} else if (op >= 0xb8 && op <= 0xbf) {
			/* mov $imm, reg (imm64 with REX.W) */
			i += rex & 0x08 ? 9 : 5;
		} else if ((op == 0x31 || op == 0x33) && i + 2 <= n &&
			   (c[i + 1] >> 6) == 3) {
			i += 2;		/* xor reg, reg */
		} else {
			break;		/* the prologue's end */
		}
	}
	if (depth > 65536)
		return STEP_NO_INFO;
	cfa = cur->r[UNWIND_REG_SP] + depth + 8;
	if (!mem__read(&u->mem, cfa - 8, &ra) || ra < 8)
		return STEP_NO_INFO;
	rm = procmap__find(u->pm, u->proc, ra - 1);
	if (!rm || !rm->obj || !(rm->prot & PROT_EXEC))
		return STEP_NO_INFO;
	/* Go reaches C through a trampoline that jumps to it (Go 1.26:
	 * asmcgocall calls asmcgocall_landingpad, which jumps): a return
	 * into Go code needs only follow a call */
	into_go = rm->obj->go &&
		  elf_obj__is_go_pc(rm->obj, ra - 1 - rm->bias) &&
		  !pclntab__find_func(rm->obj->go, ra - 1 - rm->bias, &gf) &&
		  !gf.host;
	if (!native__is_call_to(rm->obj, ra - rm->bias, into_go ? 0 : start, o))
		return STEP_NO_INFO;
	*caller = *cur;
	caller->valid = REG_BIT(UNWIND_REG_SP) | REG_BIT(UNWIND_REG_IP) |
			(cur->valid & kept);
	for (int r = 0; r < UNWIND_REG_IP; r++) {
		if (!saved[r])
			continue;
		if (!mem__read(&u->mem, cfa - 8 - saved[r], &v)) {
			caller->valid &= ~REG_BIT(r);
			continue;
		}
		caller->r[r] = v;
		caller->valid |= REG_BIT(r);
	}
	caller->r[UNWIND_REG_SP] = cfa;
	caller->r[UNWIND_REG_IP] = ra;
	return STEP_OK;
}

/* The entry point (_start of the program or of the loader) is the root of
 * the first thread; some have no CFI. Applies where no rule describes a
 * frame at link-time @lookup of @map. */
bool native__at_entry(const struct map *map, uint64_t lookup)
{
	return map->obj->entry && lookup - map->obj->entry < CGOPROF_ENTRY_SPAN;
}

/* Whether sample @s is in execve after the kernel replaced the old
 * address space (exec_mmap) and before the new image runs: its user
 * registers are still the old image's, at the return of its execve
 * system call, and nothing at their sp can be read any more, by the
 * kernel's copy or the snapshot program. Then either no mapping holds
 * the ip (the records of the new image are in), or it still maps (they
 * are not yet) and follows a `syscall`. A sample at the new image's
 * first instructions has its stack (argv) and is unwound as usual. */
bool native__in_exec(struct unwind_ctx *u, const struct regs *regs)
{
	const struct perf_sample *s = u->s;
	const struct go_snapshot *snap = u->mem.snap;
	uint64_t ip = regs->r[UNWIND_REG_IP], sp = regs->r[UNWIND_REG_SP];
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
