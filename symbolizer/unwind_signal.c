// SPDX-License-Identifier: MIT
/* Signal frames. A handler returns to its sa_restorer, a trampoline that
 * calls rt_sigreturn; the kernel's rt_sigframe on the stack holds the
 * registers the signal interrupted. glibc's trampoline (__restore_rt) has
 * CFI that says so (a signal frame, 'S'): native__cfi_step steps it.
 * musl's has none: the rule here reads the frame itself. Either way the
 * loop names the trampoline and the interrupted pc at themselves, not at
 * pc - 1: neither is a return address. */
#include <string.h>

#include "internal.h"

/* The x86-64 rt_sigreturn trampoline: mov $15, %rax; syscall (glibc's
 * and musl's __restore_rt; the kernel's sa_restorer convention). */
static const uint8_t sigreturn_code[9] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00,
					   0x00, 0x00, 0x0f, 0x05 };

/* Where struct ucontext (the start of the kernel's rt_sigframe, once the
 * handler's return popped pretcode) keeps uc_mcontext: after uc_flags,
 * uc_link and uc_stack (8 + 8 + 24 bytes). */
#define UCONTEXT_MCONTEXT 40

/* uc_mcontext.gregs: the interrupted registers, in the kernel's order
 * (struct sigcontext). */
enum sigctx_greg {
	SIGCTX_R8 = 0, SIGCTX_R9, SIGCTX_R10, SIGCTX_R11, SIGCTX_R12,
	SIGCTX_R13, SIGCTX_R14, SIGCTX_R15, SIGCTX_DI, SIGCTX_SI, SIGCTX_BP,
	SIGCTX_BX, SIGCTX_DX, SIGCTX_AX, SIGCTX_CX, SIGCTX_SP, SIGCTX_IP,
};

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

/* The interrupted registers from the rt_sigframe at @cur's sp. */
static enum step_result sigframe_step(struct unwind_ctx *u,
				      const struct regs *cur,
				      struct regs *caller)
{
	static const uint8_t greg_of[NREGS] = {
		[UNWIND_REG_AX] = SIGCTX_AX, [UNWIND_REG_DX] = SIGCTX_DX,
		[UNWIND_REG_CX] = SIGCTX_CX, [UNWIND_REG_BX] = SIGCTX_BX,
		[UNWIND_REG_SI] = SIGCTX_SI, [UNWIND_REG_DI] = SIGCTX_DI,
		[UNWIND_REG_BP] = SIGCTX_BP, [UNWIND_REG_SP] = SIGCTX_SP,
		[UNWIND_REG_R8] = SIGCTX_R8, [UNWIND_REG_R9] = SIGCTX_R9,
		[UNWIND_REG_R10] = SIGCTX_R10, [UNWIND_REG_R11] = SIGCTX_R11,
		[UNWIND_REG_R12] = SIGCTX_R12, [UNWIND_REG_R13] = SIGCTX_R13,
		[UNWIND_REG_R14] = SIGCTX_R14, [UNWIND_REG_R15] = SIGCTX_R15,
		[UNWIND_REG_IP] = SIGCTX_IP,
	};
	uint64_t mc = cur->r[UNWIND_REG_SP] + UCONTEXT_MCONTEXT;

	memset(caller, 0, sizeof(*caller));
	for (int reg = 0; reg < NREGS; reg++) {
		if (mem__read(&u->mem, mc + 8 * (uint64_t)greg_of[reg],
			      &caller->r[reg]))
			caller->valid |= REG_BIT(reg);
		else if (reg == UNWIND_REG_IP || reg == UNWIND_REG_SP)
			return STEP_STACK_END;
	}
	return STEP_OK;
}

/* A signal trampoline without CFI (musl's __restore_rt): applies to a C
 * frame no CFI describes whose pc is the trampoline's first instruction
 * (the handler returned to it), or, for the leaf, its syscall or the
 * instruction after it. Reads the code at the pc and, at sp, the kernel's
 * rt_sigframe: every register of the interrupted frame. STEP_NO_INFO
 * where it does not apply; STEP_OK makes the caller a signal frame. */
enum step_result signal__sigreturn_step(struct unwind_ctx *u,
					const struct frame_at *f,
					const struct regs *cur,
					struct regs *caller)
{
	if (!at_sigreturn(f->map->obj, f->pc - f->map->bias, !f->activation))
		return STEP_NO_INFO;
	return sigframe_step(u, cur, caller);
}
