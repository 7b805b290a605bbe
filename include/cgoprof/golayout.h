/* Go's runtime data layout on amd64: the offsets in g, m and gobuf that the
 * unwinder (symbolizer/) and the goroutine snapshot program (profiler/,
 * in the kernel) both read. One place for them: the loader passes them to
 * the BPF program as read-only constants before it loads.
 *
 * Plain integer constants, no types: the BPF program includes this file.
 * Each fact was read from the runtime's sources (runtime2.go) of Go 1.19
 * to 1.26 and is checked on every use against the data it describes (a
 * goroutine's stack holds its sched.sp, curg.m is the m): a layout that
 * moves fails those checks and the stack ends "[truncated: ...]", never
 * with a wrong frame. */
#ifndef CGOPROF_GOLAYOUT_H
#define CGOPROF_GOLAYOUT_H

/* struct g */
#define GO_G_STACK_LO 0		/* g.stack.lo */
#define GO_G_STACK_HI 8		/* g.stack.hi */
#define GO_G_M 48		/* g.m: stable since Go 1.4 */
#define GO_G_SCHED 56		/* g.sched, a gobuf */

/* struct gobuf, from its start */
#define GO_GOBUF_SP 0
#define GO_GOBUF_PC 8
#define GO_GOBUF_G 16
/* gobuf.bp: 40 without gobuf.ret (Go 1.26), 48 with it (Go 1.19). Readers
 * try the newer one first and keep the one that lies in the stack. */
#define GO_GOBUF_BP 40
#define GO_GOBUF_BP_WITH_RET 48

/* g.sched fields as offsets in g */
#define GO_G_SCHED_SP (GO_G_SCHED + GO_GOBUF_SP)
#define GO_G_SCHED_PC (GO_G_SCHED + GO_GOBUF_PC)
#define GO_G_SCHED_BP (GO_G_SCHED + GO_GOBUF_BP)
#define GO_G_SCHED_BP_WITH_RET (GO_G_SCHED + GO_GOBUF_BP_WITH_RET)

/* struct m */
#define GO_M_G0 0		/* m.g0 */
#define GO_M_MOREBUF 8		/* m.morebuf, a gobuf */
/* m.curg moved between versions (fields before it came and went): the
 * candidates, most likely first; the right one has curg.m == m. */
#define GO_M_CURG_0 184
#define GO_M_CURG_1 192
#define GO_M_CURG_2 176
#define GO_M_CURG_3 200
#define GO_M_CURG_N 4

/* runtime.asmcgocall's frame on g0, where it keeps the goroutine it came
 * from and that goroutine's depth (stack.hi - sp) during the C call: at
 * (g0.sched.sp - X) & ~15, the g at G and the depth at D from there. */
#define GO_ASMCGOCALL_X 16		/* Go 1.21 and later */
#define GO_ASMCGOCALL_G 8
#define GO_ASMCGOCALL_D 0
#define GO_ASMCGOCALL_X_PRE121 64	/* before Go 1.21 */
#define GO_ASMCGOCALL_G_PRE121 48
#define GO_ASMCGOCALL_D_PRE121 40

/* How far below g0.sched.sp newstack's frame may hold its copy of
 * m.morebuf (sp, pc, g): 0x1b0 bytes of frame in Go 1.19, 0x130 in Go
 * 1.26; in 8-byte words. */
#define GO_MOREBUF_SCAN_WORDS 96

/* The g register: r14 in Go code (ABIInternal, Go 1.17+); in C code and
 * on the way into Go, the g is in TLS: fsbase - 8 with the runtime's own
 * TLS block, or the offset elf_obj__go_g_tls finds. */
#define GO_G_TLS_DEFAULT (-8)

#endif
