// SPDX-License-Identifier: MIT
/*
 * Goroutine stack snapshots taken at sample time, by an eBPF program
 * attached to the sampling events (PERF_EVENT_IOC_SET_BPF).
 *
 * Why: a sample in C code called from Go (a cgo call) has the C frames in
 * its stack copy, but the goroutine's frames are on another stack (the
 * goroutine's), which perf_event_open does not copy. Reading it from the
 * live process later works only while the C call lasts; programs that
 * make many short cgo calls (go-sqlite3: one per row) have moved on by
 * then. The kernel's callchain does not help either: C code built without
 * frame pointers uses rbp as a general register. So the goroutine's stack
 * is copied by a program that runs in the sample's overflow handler: exact
 * at the sample's time. This departs from the design's unwinding order
 * (kernel callchain, then reads of the frozen stack from the live process),
 * which stays as the fallback: live reads cannot see a call shorter than
 * the reader's latency (~0.2 ms here), and sqlite's are microseconds.
 *
 * What the program does, with no Go version baked in beyond what has not
 * changed since Go 1.4 (g.stack at 0, g.m at 48, g.sched.sp at 56, m.g0
 * at 0) and the TLS slot of g (fs - 8, the executable's initial-exec slot
 * when runtime.tlsg is its only TLS variable, as the Go linker lays it
 * out): g = *(fsbase - 8), m = g.m, and then one of four records.
 *  - GOSNAP_GOROUTINE, on g0 (g == m.g0) in a cgo call: asmcgocall's frame
 *    is at (g0.sched.sp - X) & ~15 and holds the goroutine and its depth
 *    (stack.hi - sp) at offsets G and D: X, G, D are 16, 8, 0 from Go 1.21
 *    and 64, 48, 40 before. The layout whose g has g.m == m and
 *    g.sched.sp == stack.hi - depth (asmcgocall saved it there) is taken;
 *    up to CGOPROF_GOSNAP_BYTES of the goroutine's stack from that sp are
 *    copied.
 *  - GOSNAP_SYSTEM_STACK, on a goroutine: g0's stack from g0.sched.sp,
 *    which a C -> Go callback left at cgocallback's frame: the C frames of
 *    the callback's caller (a few words on threads in no callback).
 *  - GOSNAP_RUNTIME, on g0 otherwise (systemstack, newstack, mcall's
 *    callee): the goroutine is the g that mcall pushed at g0.sched.sp - 8
 *    (its stack holds its sched.sp, its m is this m or none), else m.curg
 *    (the candidate offset whose g.m is m: the field moved between
 *    versions), else, for a goroutine newstack took off its m to preempt
 *    it, the g in newstack's copy of m.morebuf (sp, pc, g, just below
 *    g0.sched.sp, where g.sched.sp == sp - 8); its stack from sched.sp,
 *    and the first bytes of g0, m and that g, which the unwinder reads to
 *    find the goroutine.
 *  - GOSNAP_DEEP, on a goroutine whose stack goes on beyond the sample's
 *    stack copy (user sp from the task's user registers, plus the copy's
 *    size, still inside g.stack; or the first page of that range the
 *    kernel could not read, where its copy stopped): the next
 *    CGOPROF_GOSNAP_BYTES of it, so deep callers (a recursive parser's)
 *    are memory of the sample's time rather than the kernel's callchain,
 *    which stops after 127 frames. Taken instead of GOSNAP_SYSTEM_STACK;
 *    needs bpf_task_pt_regs (5.15), without which the program is loaded
 *    without this record and the ones below.
 * A goroutine's stack that goes on beyond its record follows in a record
 * of its frame records (address, caller's frame pointer, return address,
 * found by following the frame pointers from sched.bp or the user rbp)
 * and one of its top 8 KiB: all the unwinder needs of Go frames, at 24
 * bytes a frame where a deep recursion's stack would overflow the ring.
 * The system stack goes on in up to CGOPROF_GOSNAP_DEEP_RECORDS records.
 * Where the kernel's copy of the sample's own stack stopped short (at a
 * page never touched, or being faulted in: samples in page faults often
 * are), the rest of the copy's range follows too, on any thread, Go or
 * not. A page that cannot be read is left out of its record (zeroes,
 * marked in a bitmap after the bytes): the copy goes on past it.
 * Records are written to a BPF output event of the CPU, in the same ring
 * as the sample, right before it. Whatever the program finds, the
 * record is memory of that thread's process at the sample's time: the
 * unwinder reads it like the sample's stack copy, and only where its own
 * walk leads; a record that does not match what the walk needs is simply
 * not read. A parked goroutine's memory (mcall) can be running on another
 * thread by then, so its words are checked as live reads are.
 *
 * fsbase's offset in task_struct comes from the kernel's BTF. The program
 * is assembled here rather than compiled (no BPF compiler at build time);
 * libbpf loads it and reads BTF.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "cgoprof/gosnap.h"
#include "cgoprof/log.h"

struct gosnap {
	int prog_fd;
	int out_fd;	/* BPF_MAP_TYPE_PERF_EVENT_ARRAY: one output per CPU */
	/* BPF_MAP_TYPE_ARRAY, one entry per CPU: the record being built (a
	 * per-CPU array's values are limited to 32 KiB) */
	int buf_fd;
	/* BPF_MAP_TYPE_HASH: process (tgid) -> the fs-relative offset of
	 * its g where it is not -8 (gosnap__set_g_tls) */
	int tls_fd;
};

/* ---- instruction encoding (as the kernel's filter.h) ---- */

#define R0 BPF_REG_0
#define R1 BPF_REG_1
#define R2 BPF_REG_2
#define R3 BPF_REG_3
#define R4 BPF_REG_4
#define R5 BPF_REG_5
#define R6 BPF_REG_6
#define R7 BPF_REG_7
#define R8 BPF_REG_8
#define R9 BPF_REG_9
#define FP BPF_REG_10

#define INSN(c, d, s, o, i) \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), \
			    .off = (o), .imm = (i) })
#define MOV_REG(d, s)	 INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV_IMM(d, i)	 INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ADD_IMM(d, i)	 INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define SUB_REG(d, s)	 INSN(BPF_ALU64 | BPF_SUB | BPF_X, d, s, 0, 0)
#define AND_IMM(d, i)	 INSN(BPF_ALU64 | BPF_AND | BPF_K, d, 0, 0, i)
#define LDX(d, s, o)	 INSN(BPF_LDX | BPF_MEM | BPF_DW, d, s, o, 0)
#define STX(d, s, o)	 INSN(BPF_STX | BPF_MEM | BPF_DW, d, s, o, 0)
#define ST_W(d, o, i)	 INSN(BPF_ST | BPF_MEM | BPF_W, d, 0, o, i)
#define JMP_IMM(op, d, i, o) INSN(BPF_JMP | (op) | BPF_K, d, 0, o, i)
#define JMP_REG(op, d, s, o) INSN(BPF_JMP | (op) | BPF_X, d, s, o, 0)
#define CALL(f)		 INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT()		 INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
/* two instructions: a 64-bit immediate, or a map fd (src BPF_PSEUDO_MAP_FD) */
#define LD_IMM64_A(d, s, v) INSN(BPF_LD | BPF_DW | BPF_IMM, d, s, 0, (int32_t)(uint32_t)(v))
#define LD_IMM64_B(v)	 INSN(0, 0, 0, 0, (int32_t)(uint32_t)((uint64_t)(v) >> 32))

/* A small assembler: labels are resolved when the program is complete. */
#define MAX_INSNS 2048
#define MAX_LABELS 48

struct asm_prog {
	struct bpf_insn insn[MAX_INSNS];
	int n;
	int label[MAX_LABELS];		/* insn index, or -1 */
	int fix_at[MAX_INSNS];		/* jumps to patch: label + 1, or 0 */
	bool overflow;
};

static void emit(struct asm_prog *p, struct bpf_insn i)
{
	if (p->n >= MAX_INSNS) {
		p->overflow = true;
		return;
	}
	p->fix_at[p->n] = 0;
	p->insn[p->n++] = i;
}

/* a conditional (or, with op BPF_JA, unconditional) jump to @label */
static void jump(struct asm_prog *p, struct bpf_insn i, int label)
{
	emit(p, i);
	if (!p->overflow)
		p->fix_at[p->n - 1] = label + 1;
}

static void place(struct asm_prog *p, int label)
{
	p->label[label] = p->n;
}

static int resolve_labels(struct asm_prog *p)
{
	if (p->overflow)
		return -E2BIG;
	for (int i = 0; i < p->n; i++) {
		int l = p->fix_at[i] - 1;

		if (l < 0)
			continue;
		if (l >= MAX_LABELS || p->label[l] < 0)
			return -EINVAL;
		p->insn[i].off = (int16_t)(p->label[l] - i - 1);
	}
	return 0;
}

/* *(fp + @slot) = @size bytes at (@addr_reg + @off), read by @helper
 * (probe_read_user or probe_read_kernel); jump to @fail if the read
 * faults. Clobbers r0-r5. */
static void read_mem(struct asm_prog *p, int helper, int slot, int addr_reg,
		     int off, int size, int fail)
{
	if (addr_reg != R3)
		emit(p, MOV_REG(R3, addr_reg));
	if (off)
		emit(p, ADD_IMM(R3, off));
	emit(p, MOV_REG(R1, FP));
	emit(p, ADD_IMM(R1, slot));
	emit(p, MOV_IMM(R2, size));
	emit(p, CALL(helper));
	jump(p, JMP_IMM(BPF_JNE, R0, 0, 0), fail);
}

static void read_user(struct asm_prog *p, int slot, int addr_reg, int off,
		      int size, int fail)
{
	read_mem(p, BPF_FUNC_probe_read_user, slot, addr_reg, off, size, fail);
}

enum { L_OUT, L_LAYOUT_B, L_FOUND, L_LEN_OK, L_CGO, L_COPY, L_G0_OTHER,
       L_CURG, L_CURG1, L_CURG2, L_CURG3, L_CURG4, L_NO_STRUCTS, L_SYSTEM,
       L_NOT_GO, L_CHUNK, L_EMIT, L_NEXT, L_MORE, L_MORE_NEXT, L_NO_USP,
       L_FILL, L_FRAMES, L_FR_NEXT, L_FR_DONE, L_BP_B, L_BP_DONE, L_TOP,
       L_TOP_SET, L_MORE_COPY, L_LEN_MAX, L_GO_COPY, L_GAP_AT_SP,
       L_GAP_DONE, L_GO_GAP, L_GO_GAP_DONE, L_G_TLS, L__COUNT };
_Static_assert(L__COUNT <= MAX_LABELS, "labels");

/* Stack slots (offsets from the frame pointer). */
#define S_TMP	 (-8)
#define S_DEPTH	 (-32)	/* bytes from the copy's start to the stack's top */
#define S_G	 (-24)
#define S_GM	 (-40)
#define S_LO	 (-56)	/* a g's stack.lo, then hi: read together */
#define S_HI	 (-48)
#define S_GSP	 (-64)	/* where the copy starts */
#define S_KEY	 (-72)
#define S_KIND	 (-80)
#define S_G0	 (-88)
#define S_M	 (-96)
#define S_CHUNK	 (-104)	/* records written */
#define S_USP	 (-112)	/* the user sp, from the task's registers */
#define S_START	 (-120)	/* where the sample's own stack copy ends */
#define S_FEND	 (-128)	/* fill the sample's stack from S_START to here */
#define S_END	 (-136)	/* where the kernel's copy ends when whole */
#define S_ABS	 (-152)	/* the record's absent pages */
#define S_OFF	 (-160)	/* bytes of the record copied so far */
#define S_LEN	 (-168)	/* the record's length */
#define S_SCAN	 (-176)	/* words of newstack's frame looked at */
#define S_TRIPLE (-200)	/* 24 bytes: a gobuf's sp, pc and g */
#define S_BP	 (-208)	/* a frame record of the goroutine's stack */
#define S_PHASE	 (-216)	/* 0 the goroutine's stack, 1 its frame records,
			 * 3 its top, 2 the sample's own stack */
#define S_FPEND	 (-224)	/* frame records from here are recorded */
#define S_NFR	 (-232)	/* frame records recorded */
#define S_PAIR	 (-256)	/* 16 bytes: a frame record */
#define S_UBP	 (-264)	/* the user rbp, from the task's registers */
#define S_MAXLEN (-272)	/* bytes the next record may take */
#define S_GTLS	 (-280)	/* g's offset from fsbase in this process */

/* Records of one sample: the system stack in up to
 * CGOPROF_GOSNAP_DEEP_RECORDS (its C frames need their memory), or a
 * goroutine's stack in one, its frame records beyond in one more (Go
 * frames need no more: every one that calls has a frame record, and the
 * whole stack of a deep recursion would overflow the ring) and its top in
 * one more; and the rest of the sample's own stack where the kernel's
 * copy stopped short in up to two more. */
#define GOSNAP_RECORDS (CGOPROF_GOSNAP_DEEP_RECORDS + 2)
_Static_assert(GOSNAP_RECORDS >= 1 + 1 + 1 + 2,
	       "a goroutine's stack, its frames, its top and the fill");
/* Frame records (address, caller's frame pointer, return address) are
 * followed this far up a goroutine's stack, and recorded beyond what the
 * records copied: a recursion deeper than 240 KiB still reaches its
 * root, at 24 bytes a frame instead of the whole stack. */
#define GOSNAP_FRAME_STEPS 2048
#define GOSNAP_FRAMES (CGOPROF_GOSNAP_BYTES / 24)
_Static_assert(GOSNAP_FRAME_STEPS <= GOSNAP_FRAMES,
	       "an entry a step must fit the record");
/* The bitmap that follows a record's bytes, when this bit is set: the
 * bytes are frame records, not memory. */
#define GOSNAP_FRAME_LIST 63
/* Bytes of a goroutine's stack below its top copied after its frame
 * records, for the outermost frames. */
#define GOSNAP_TOP 8192
/* Bytes of a goroutine's stack copied before its frame records, for its
 * innermost frames (a frame not set up yet, a switch's): the ring takes
 * them at every sample, thousands a second. */
#define GOSNAP_GO_BYTES 4096
/* A page that could not be read (never touched, or being faulted in) is
 * left out of a record: the record's bytes are followed by a bitmap of
 * them, bit k for the k-th page from the one holding its first byte. A
 * record spans at most 16 pages; its buffer has room for the last piece
 * of the 16th and the bitmap. */
#define GOSNAP_PAGES 16
#define GOSNAP_SLACK 8200
/* a word of the buffer beyond all that (see the frame walk) */
#define GOSNAP_SCRATCH (offsetof(struct gosnap_record, bytes) + 65600)
/* How far below g0.sched.sp newstack's frame may hold its copy of
 * m.morebuf: 0x1b0 bytes of frame in Go 1.19, 0x130 in Go 1.26. */
#define GOSNAP_MOREBUF_SCAN 96	/* words */

static void layout(struct asm_prog *p, int x, int g_off, int d_off, int next)
{
	emit(p, MOV_REG(R3, R9));
	emit(p, ADD_IMM(R3, -x));
	emit(p, AND_IMM(R3, -16));
	emit(p, MOV_REG(R7, R3));
	read_user(p, S_DEPTH, R7, d_off, 8, next);
	read_user(p, S_G, R7, g_off, 8, next);
	emit(p, LDX(R3, FP, S_G));
	jump(p, JMP_IMM(BPF_JEQ, R3, 0, 0), next);
	read_user(p, S_GM, R3, 48, 8, next);
	emit(p, LDX(R1, FP, S_GM));
	jump(p, JMP_REG(BPF_JNE, R1, R8, 0), next);
}

/* S_GSP must lie in [S_LO, S_HI) */
static void check_in_stack(struct asm_prog *p, int fail)
{
	emit(p, LDX(R1, FP, S_GSP));
	emit(p, LDX(R2, FP, S_LO));
	jump(p, JMP_REG(BPF_JLT, R1, R2, 0), fail);
	emit(p, LDX(R3, FP, S_HI));
	jump(p, JMP_REG(BPF_JGE, R1, R3, 0), fail);
}

/* The copy runs from S_GSP to the top of its stack (S_HI), as @kind. */
static void copy_to_top(struct asm_prog *p, int kind)
{
	emit(p, LDX(R1, FP, S_GSP));
	emit(p, LDX(R2, FP, S_HI));
	emit(p, SUB_REG(R2, R1));
	emit(p, STX(FP, R2, S_DEPTH));
	emit(p, MOV_IMM(R1, kind));
	emit(p, STX(FP, R1, S_KIND));
}

/* Where the goroutine's sp at the sample lies, when deeper than the
 * sample's stack copy: the offsets of fsbase in task_struct and of sp in
 * pt_regs, and the copy's size (0: no GOSNAP_DEEP records). */
struct asm_params {
	int fsbase_off;
	int regs_sp_off;
	int regs_bp_off;
	int copy_bytes;
};

#define RSH_IMM(d, i)	 INSN(BPF_ALU64 | BPF_RSH | BPF_K, d, 0, 0, i)
#define LSH_IMM(d, i)	 INSN(BPF_ALU64 | BPF_LSH | BPF_K, d, 0, 0, i)
#define ADD_REG(d, s)	 INSN(BPF_ALU64 | BPF_ADD | BPF_X, d, s, 0, 0)
#define AND_REG(d, s)	 INSN(BPF_ALU64 | BPF_AND | BPF_X, d, s, 0, 0)
#define OR_REG(d, s)	 INSN(BPF_ALU64 | BPF_OR | BPF_X, d, s, 0, 0)
#define NEG(d)		 INSN(BPF_ALU64 | BPF_NEG | BPF_K, d, 0, 0, 0)
#define XOR_IMM(d, i)	 INSN(BPF_ALU64 | BPF_XOR | BPF_K, d, 0, 0, i)

/* Whether the kernel's copy of the user stack (@copy bytes from the user
 * sp) stopped at once: it stops at the first page it cannot read (never
 * touched, or being faulted in: the sample is often in that fault). Then
 * S_START is the sp, and S_FEND the copy's end when the next page can be
 * read (the stack goes on past the page; else it is gone, as in an
 * exec), else 0. Otherwise S_START is the copy's end and S_FEND 0. A
 * page that cannot be read is slow to probe (a fault each time), and
 * the copy's range often runs past the stack's top: one or two probes,
 * no more; on a goroutine, whose top is known, find_goroutine_gap looks
 * further. */
static void find_copy_end(struct asm_prog *p, int copy)
{
	emit(p, LDX(R7, FP, S_USP));
	emit(p, MOV_REG(R1, R7));
	emit(p, ADD_IMM(R1, copy));
	emit(p, STX(FP, R1, S_START));
	emit(p, STX(FP, R1, S_END));
	read_user(p, S_TMP, R7, 0, 8, L_GAP_AT_SP);
	jump(p, JMP_IMM(BPF_JA, 0, 0, 0), L_GAP_DONE);
	place(p, L_GAP_AT_SP);
	emit(p, STX(FP, R7, S_START));
	emit(p, AND_IMM(R7, -4096));
	read_user(p, S_TMP, R7, 4096, 8, L_GAP_DONE);
	emit(p, LDX(R1, FP, S_END));
	emit(p, STX(FP, R1, S_FEND));
	place(p, L_GAP_DONE);
}

/* On a goroutine (its stack's top in S_HI): the first page of the copy's
 * range below the top that cannot be read, into S_START, if it is lower:
 * where the goroutine's stack goes on in the records. */
static void find_goroutine_gap(struct asm_prog *p, int copy)
{
	int npages = copy / 4096 + 1;

	for (int k = 1; k <= npages; k++) {
		emit(p, LDX(R7, FP, S_USP));
		emit(p, AND_IMM(R7, -4096));
		emit(p, ADD_IMM(R7, 4096 * k));
		emit(p, LDX(R1, FP, S_START));
		jump(p, JMP_REG(BPF_JGE, R7, R1, 0), L_GO_GAP_DONE);
		emit(p, LDX(R1, FP, S_HI));
		jump(p, JMP_REG(BPF_JGE, R7, R1, 0), L_GO_GAP_DONE);
		read_user(p, S_TMP, R7, 0, 8, L_GO_GAP);
	}
	jump(p, JMP_IMM(BPF_JA, 0, 0, 0), L_GO_GAP_DONE);
	place(p, L_GO_GAP);
	emit(p, STX(FP, R7, S_START));
	place(p, L_GO_GAP_DONE);
}

/* The record from S_GSP, min(S_DEPTH, CGOPROF_GOSNAP_BYTES) bytes, into
 * the buffer at R9: in one read, else page by page, each page that cannot
 * be read marked in S_ABS (probe_read_user zeroes what it cannot read). */
static void copy_chunk(struct asm_prog *p)
{
	int bytes = offsetof(struct gosnap_record, bytes);

	emit(p, LDX(R1, FP, S_GSP));
	emit(p, STX(R9, R1, offsetof(struct gosnap_record, sp)));
	emit(p, LDX(R8, FP, S_DEPTH));
	emit(p, LDX(R1, FP, S_MAXLEN));
	jump(p, JMP_REG(BPF_JLE, R8, R1, 0), L_LEN_MAX);
	emit(p, MOV_REG(R8, R1));
	place(p, L_LEN_MAX);
	jump(p, JMP_IMM(BPF_JLE, R8, CGOPROF_GOSNAP_BYTES, 0), L_LEN_OK);
	emit(p, MOV_IMM(R8, CGOPROF_GOSNAP_BYTES));
	place(p, L_LEN_OK);
	emit(p, STX(FP, R8, S_LEN));
	emit(p, STX(R9, R8, offsetof(struct gosnap_record, len)));
	emit(p, MOV_IMM(R1, 0));
	emit(p, STX(FP, R1, S_ABS));
	emit(p, STX(FP, R1, S_OFF));
	emit(p, MOV_REG(R1, R9));
	emit(p, ADD_IMM(R1, bytes));
	emit(p, MOV_REG(R2, R8));
	emit(p, LDX(R3, FP, S_GSP));
	emit(p, CALL(BPF_FUNC_probe_read_user));
	jump(p, JMP_IMM(BPF_JEQ, R0, 0, 0), L_EMIT);
	for (int k = 0; k < GOSNAP_PAGES; k++) {
		/* up to the next page boundary */
		emit(p, LDX(R7, FP, S_OFF));
		emit(p, LDX(R3, FP, S_GSP));
		emit(p, ADD_REG(R3, R7));
		emit(p, MOV_REG(R2, R3));
		emit(p, AND_IMM(R2, 4095));
		emit(p, MOV_IMM(R1, 4096));
		emit(p, SUB_REG(R1, R2));
		emit(p, MOV_REG(R2, R1));
		emit(p, MOV_REG(R1, R9));
		emit(p, ADD_IMM(R1, bytes));
		emit(p, ADD_REG(R1, R7));
		emit(p, ADD_REG(R7, R2));
		emit(p, STX(FP, R7, S_OFF));
		emit(p, CALL(BPF_FUNC_probe_read_user));
		emit(p, RSH_IMM(R0, 63));
		if (k)
			emit(p, LSH_IMM(R0, k));
		emit(p, LDX(R1, FP, S_ABS));
		emit(p, OR_REG(R1, R0));
		emit(p, STX(FP, R1, S_ABS));
	}
}

/* S_BP = the goroutine's (S_G) saved frame pointer, sched.bp: g+104
 * while gobuf had its ret field, g+96 after; the one inside the stack
 * above sched.sp (S_GSP), else 0. */
static void sched_bp(struct asm_prog *p)
{
	emit(p, MOV_IMM(R1, 0));
	emit(p, STX(FP, R1, S_BP));
	emit(p, LDX(R3, FP, S_G));
	read_user(p, S_PAIR, R3, 96, 16, L_BP_DONE);
	for (int i = 0; i < 2; i++) {
		int next = i ? L_BP_DONE : L_BP_B;

		if (i)
			place(p, L_BP_B);
		emit(p, LDX(R1, FP, S_PAIR + 8 * i));
		emit(p, LDX(R2, FP, S_GSP));
		jump(p, JMP_REG(BPF_JLT, R1, R2, 0), next);
		emit(p, LDX(R2, FP, S_HI));
		jump(p, JMP_REG(BPF_JGE, R1, R2, 0), next);
		emit(p, MOV_REG(R2, R1));
		emit(p, AND_IMM(R2, 7));
		jump(p, JMP_IMM(BPF_JNE, R2, 0, 0), next);
		emit(p, STX(FP, R1, S_BP));
		if (!i)
			jump(p, JMP_IMM(BPF_JA, 0, 0, 0), L_BP_DONE);
	}
	place(p, L_BP_DONE);
}

static int assemble(struct asm_prog *p, const struct asm_params *a,
		    int out_fd, int buf_fd, int tls_fd)
{
	int bytes = offsetof(struct gosnap_record, bytes);

	memset(p->label, -1, sizeof(p->label));
	p->n = 0;
	p->overflow = false;

	emit(p, MOV_REG(R6, R1));			/* ctx */
	emit(p, MOV_IMM(R1, 0));
	emit(p, STX(FP, R1, S_G0));
	emit(p, STX(FP, R1, S_M));
	emit(p, STX(FP, R1, S_CHUNK));
	emit(p, STX(FP, R1, S_FEND));
	emit(p, STX(FP, R1, S_START));
	emit(p, STX(FP, R1, S_BP));
	emit(p, STX(FP, R1, S_UBP));
	emit(p, STX(FP, R1, S_PHASE));
	emit(p, MOV_IMM(R1, CGOPROF_GOSNAP_BYTES));
	emit(p, STX(FP, R1, S_MAXLEN));
	/* the user sp, and where the kernel's copy of the stack from there
	 * stopped (the task's user registers: the sample may have
	 * interrupted the kernel) */
	if (a->copy_bytes) {
		emit(p, CALL(BPF_FUNC_get_current_task_btf));
		emit(p, MOV_REG(R1, R0));
		emit(p, CALL(BPF_FUNC_task_pt_regs));
		emit(p, MOV_REG(R7, R0));
		read_mem(p, BPF_FUNC_probe_read_kernel, S_UBP, R7,
			 a->regs_bp_off, 8, L_NO_USP);
		read_mem(p, BPF_FUNC_probe_read_kernel, S_USP, R7,
			 a->regs_sp_off, 8, L_NO_USP);
		find_copy_end(p, a->copy_bytes);
		place(p, L_NO_USP);
	}
	/* g's slot: fsbase - 8, unless the process's entry says otherwise */
	emit(p, MOV_IMM(R1, -8));
	emit(p, STX(FP, R1, S_GTLS));
	emit(p, CALL(BPF_FUNC_get_current_pid_tgid));
	emit(p, RSH_IMM(R0, 32));
	emit(p, INSN(BPF_STX | BPF_MEM | BPF_W, FP, R0, S_KEY, 0));
	emit(p, LD_IMM64_A(R1, BPF_PSEUDO_MAP_FD, tls_fd));
	emit(p, LD_IMM64_B(0));
	emit(p, MOV_REG(R2, FP));
	emit(p, ADD_IMM(R2, S_KEY));
	emit(p, CALL(BPF_FUNC_map_lookup_elem));
	jump(p, JMP_IMM(BPF_JEQ, R0, 0, 0), L_G_TLS);
	emit(p, LDX(R1, R0, 0));
	emit(p, STX(FP, R1, S_GTLS));
	place(p, L_G_TLS);
	/* fsbase: the thread's TLS pointer, from its task_struct */
	emit(p, CALL(BPF_FUNC_get_current_task));
	read_mem(p, BPF_FUNC_probe_read_kernel, S_TMP, R0, a->fsbase_off, 8,
		 L_NOT_GO);
	emit(p, LDX(R3, FP, S_TMP));
	jump(p, JMP_IMM(BPF_JEQ, R3, 0, 0), L_NOT_GO);
	emit(p, LDX(R1, FP, S_GTLS));
	emit(p, ADD_REG(R3, R1));
	/* g */
	read_user(p, S_TMP, R3, 0, 8, L_NOT_GO);
	emit(p, LDX(R7, FP, S_TMP));
	jump(p, JMP_IMM(BPF_JEQ, R7, 0, 0), L_NOT_GO);
	/* m = g.m; on the system stack when g == m.g0 */
	read_user(p, S_TMP, R7, 48, 8, L_NOT_GO);
	emit(p, LDX(R8, FP, S_TMP));
	jump(p, JMP_IMM(BPF_JEQ, R8, 0, 0), L_NOT_GO);
	read_user(p, S_TMP, R8, 0, 8, L_NOT_GO);
	emit(p, LDX(R1, FP, S_TMP));
	jump(p, JMP_REG(BPF_JEQ, R1, R7, 0), L_CGO);

	/* On a goroutine whose stack goes on beyond the sample's copy of it
	 * (deeper than the copy, or where the copy stopped at a page it
	 * could not read): the rest of it, from where the copy ends to its
	 * top. Callers beyond the copy come from memory of the sample's
	 * time, not from the kernel's callchain, which stops after 127
	 * frames and at the first unreadable page too. */
	if (a->copy_bytes) {
		emit(p, STX(FP, R7, S_G));
		read_user(p, S_LO, R7, 0, 16, L_SYSTEM);
		find_goroutine_gap(p, a->copy_bytes);
		emit(p, LDX(R7, FP, S_G));
		emit(p, LDX(R1, FP, S_START));
		emit(p, STX(FP, R1, S_GSP));
		check_in_stack(p, L_SYSTEM);
		copy_to_top(p, GOSNAP_DEEP);
		emit(p, MOV_IMM(R1, 0));
		emit(p, STX(FP, R1, S_FEND));
		emit(p, LDX(R1, FP, S_UBP));
		emit(p, STX(FP, R1, S_BP));
		jump(p, JMP_IMM(BPF_JA, 0, 0, 0), L_GO_COPY);
		place(p, L_SYSTEM);
		read_user(p, S_TMP, R8, 0, 8, L_OUT);	/* m.g0 again */
		emit(p, LDX(R1, FP, S_TMP));
	}

	/* On a goroutine: a callback's C caller frames are on g0 from
	 * g0.sched.sp (cgocallback set it to its sp there) up. Copied when
	 * g0.sched.sp lies inside g0's stack; a thread that is in no
	 * callback has little there. */
	emit(p, STX(FP, R7, S_G));
	emit(p, MOV_REG(R7, R1));
	jump(p, JMP_IMM(BPF_JEQ, R7, 0, 0), L_OUT);
	read_user(p, S_LO, R7, 0, 16, L_OUT);
	read_user(p, S_GSP, R7, 56, 8, L_OUT);
	check_in_stack(p, L_OUT);
	copy_to_top(p, GOSNAP_SYSTEM_STACK);
	jump(p, JMP_IMM(BPF_JA, 0, 0, 0), L_COPY);

	/* On g0: in a cgo call, asmcgocall's frame holds the goroutine */
	place(p, L_CGO);
	emit(p, STX(FP, R7, S_G0));
	emit(p, STX(FP, R8, S_M));
	read_user(p, S_TMP, R7, 56, 8, L_NOT_GO);	/* g0.sched.sp */
	emit(p, LDX(R9, FP, S_TMP));
	/* asmcgocall's frame: Go 1.21 and later, then before */
	layout(p, 16, 8, 0, L_LAYOUT_B);
	jump(p, JMP_IMM(BPF_JA, 0, 0, 0), L_FOUND);
	place(p, L_LAYOUT_B);
	layout(p, 64, 48, 40, L_G0_OTHER);
	place(p, L_FOUND);
	/* the goroutine's stack bounds; its sp = hi - depth, inside them */
	emit(p, LDX(R3, FP, S_G));
	read_user(p, S_LO, R3, 0, 16, L_G0_OTHER);
	emit(p, LDX(R1, FP, S_HI));
	emit(p, LDX(R2, FP, S_DEPTH));
	emit(p, SUB_REG(R1, R2));
	emit(p, STX(FP, R1, S_GSP));
	check_in_stack(p, L_G0_OTHER);
	/* and asmcgocall saved that same sp in g.sched.sp (a stale frame
	 * there, or mcall's pushed g, fails this) */
	emit(p, LDX(R3, FP, S_G));
	read_user(p, S_TMP, R3, 56, 8, L_G0_OTHER);
	emit(p, LDX(R1, FP, S_TMP));
	emit(p, LDX(R2, FP, S_GSP));
	jump(p, JMP_REG(BPF_JNE, R1, R2, 0), L_G0_OTHER);
	emit(p, MOV_IMM(R1, GOSNAP_GOROUTINE));
	emit(p, STX(FP, R1, S_KIND));
	jump(p, JMP_IMM(BPF_JA, 0, 0, 0), L_MORE_COPY);

	/* On g0 in the runtime (systemstack, morestack's newstack, mcall's
	 * scheduler): the goroutine is the g mcall pushed, else m.curg (its
	 * offset in m moved between versions: the candidate whose g.m is m),
	 * else the g of newstack's copy of m.morebuf. The structs the
	 * unwinder reads (g0's head, m's head, the goroutine's g) are copied
	 * with its stack from sched.sp. */
	place(p, L_G0_OTHER);
	/* mcall pushed its g at g0.sched.sp - 8 (systemstack and morestack
	 * have a return address there): a g whose stack holds its sched.sp
	 * and whose m is this m, or none once dropped */
	read_user(p, S_G, R9, -8, 8, L_CURG1);
	emit(p, LDX(R3, FP, S_G));
	jump(p, JMP_IMM(BPF_JEQ, R3, 0, 0), L_CURG1);
	read_user(p, S_LO, R3, 0, 16, L_CURG1);
	emit(p, LDX(R3, FP, S_G));
	read_user(p, S_GSP, R3, 56, 8, L_CURG1);
	check_in_stack(p, L_CURG1);
	emit(p, LDX(R3, FP, S_G));
	read_user(p, S_GM, R3, 48, 8, L_CURG1);
	emit(p, LDX(R1, FP, S_GM));
	jump(p, JMP_IMM(BPF_JEQ, R1, 0, 0), L_CURG);
	emit(p, LDX(R2, FP, S_M));
	jump(p, JMP_REG(BPF_JEQ, R1, R2, 0), L_CURG);
	{
		static const int curg_off[] = { 184, 192, 176, 200 };
		static const int next[] = { L_CURG2, L_CURG3, L_CURG4, L_MORE };

		place(p, L_CURG1);
		for (int i = 0; i < 4; i++) {
			if (i)
				place(p, next[i - 1]);
			emit(p, LDX(R3, FP, S_M));
			read_user(p, S_G, R3, curg_off[i], 8, next[i]);
			emit(p, LDX(R3, FP, S_G));
			jump(p, JMP_IMM(BPF_JEQ, R3, 0, 0), next[i]);
			read_user(p, S_GM, R3, 48, 8, next[i]);
			emit(p, LDX(R1, FP, S_GM));
			emit(p, LDX(R2, FP, S_M));
			jump(p, JMP_REG(BPF_JEQ, R1, R2, 0), L_CURG);
		}
	}
	/* A goroutine that newstack took off its m (a preemption request in
	 * a prologue: gopreempt_m, preemptPark) is no m's curg any more, but
	 * newstack's frame, just below g0.sched.sp where morestack called
	 * it, holds its copy of m.morebuf: f's caller's sp and pc, and g,
	 * whose sched morestack set to f's pc and sp = morebuf.sp - 8. */
	place(p, L_MORE);
	emit(p, MOV_IMM(R1, 0));
	emit(p, STX(FP, R1, S_SCAN));
	place(p, L_MORE_NEXT);
	emit(p, LDX(R1, FP, S_SCAN));
	jump(p, JMP_IMM(BPF_JGE, R1, GOSNAP_MOREBUF_SCAN, 0), L_NOT_GO);
	emit(p, ADD_IMM(R1, 1));
	emit(p, STX(FP, R1, S_SCAN));
	emit(p, LSH_IMM(R1, 3));
	emit(p, MOV_REG(R3, R9));
	emit(p, SUB_REG(R3, R1));
	emit(p, ADD_IMM(R3, -24));
	read_user(p, S_TRIPLE, R3, 0, 24, L_MORE_NEXT);
	emit(p, LDX(R3, FP, S_TRIPLE + 16));
	jump(p, JMP_IMM(BPF_JEQ, R3, 0, 0), L_MORE_NEXT);
	read_user(p, S_TMP, R3, 56, 8, L_MORE_NEXT);
	emit(p, LDX(R1, FP, S_TMP));
	emit(p, ADD_IMM(R1, 8));
	emit(p, LDX(R2, FP, S_TRIPLE));
	jump(p, JMP_REG(BPF_JNE, R1, R2, 0), L_MORE_NEXT);
	emit(p, LDX(R3, FP, S_TRIPLE + 16));
	emit(p, STX(FP, R3, S_G));
	place(p, L_CURG);
	emit(p, LDX(R3, FP, S_G));
	jump(p, JMP_IMM(BPF_JEQ, R3, 0, 0), L_NOT_GO);
	emit(p, LDX(R1, FP, S_G0));
	jump(p, JMP_REG(BPF_JEQ, R3, R1, 0), L_NOT_GO);
	read_user(p, S_LO, R3, 0, 16, L_NOT_GO);
	emit(p, LDX(R3, FP, S_G));
	read_user(p, S_GSP, R3, 56, 8, L_NOT_GO);	/* its sched.sp */
	check_in_stack(p, L_NOT_GO);
	copy_to_top(p, GOSNAP_RUNTIME);
	/* a goroutine's stack from its sched: its frame records from
	 * sched.bp where it goes on beyond the records */
	place(p, L_MORE_COPY);
	sched_bp(p);
	/* with its frame pointer known, a goroutine's stack goes on as
	 * frame records after its innermost GOSNAP_GO_BYTES */
	place(p, L_GO_COPY);
	emit(p, LDX(R1, FP, S_BP));
	jump(p, JMP_IMM(BPF_JEQ, R1, 0, 0), L_COPY);
	emit(p, MOV_IMM(R1, GOSNAP_GO_BYTES));
	emit(p, STX(FP, R1, S_MAXLEN));
	jump(p, JMP_IMM(BPF_JA, 0, 0, 0), L_COPY);

	/* No goroutine to copy (or not Go at all): only the rest of the
	 * sample's own stack, where the kernel's copy stopped short */
	place(p, L_NOT_GO);
	emit(p, LDX(R1, FP, S_FEND));
	emit(p, LDX(R2, FP, S_START));
	jump(p, JMP_REG(BPF_JLE, R1, R2, 0), L_OUT);
	emit(p, SUB_REG(R1, R2));
	emit(p, STX(FP, R1, S_DEPTH));
	emit(p, STX(FP, R2, S_GSP));
	emit(p, MOV_IMM(R1, 0));
	emit(p, STX(FP, R1, S_FEND));
	emit(p, MOV_IMM(R1, GOSNAP_DEEP));
	emit(p, STX(FP, R1, S_KIND));
	emit(p, MOV_IMM(R1, 2));
	emit(p, STX(FP, R1, S_PHASE));

	place(p, L_COPY);
	/* the record being built: a per-CPU buffer */
	emit(p, CALL(BPF_FUNC_get_smp_processor_id));
	emit(p, INSN(BPF_STX | BPF_MEM | BPF_W, FP, R0, S_KEY, 0));
	emit(p, LD_IMM64_A(R1, BPF_PSEUDO_MAP_FD, buf_fd));
	emit(p, LD_IMM64_B(0));
	emit(p, MOV_REG(R2, FP));
	emit(p, ADD_IMM(R2, S_KEY));
	emit(p, CALL(BPF_FUNC_map_lookup_elem));
	jump(p, JMP_IMM(BPF_JEQ, R0, 0, 0), L_OUT);
	emit(p, MOV_REG(R9, R0));
	emit(p, MOV_IMM(R1, CGOPROF_GOSNAP_MAGIC));
	emit(p, STX(R9, R1, offsetof(struct gosnap_record, magic)));
	{
		static const struct { int slot, field; } hd[] = {
			{ S_KIND, offsetof(struct gosnap_record, kind) },
			{ S_G, offsetof(struct gosnap_record, g) },
			{ S_G0, offsetof(struct gosnap_record, g0) },
			{ S_M, offsetof(struct gosnap_record, m) },
		};

		for (size_t i = 0; i < sizeof(hd) / sizeof(hd[0]); i++) {
			emit(p, LDX(R1, FP, hd[i].slot));
			emit(p, STX(R9, R1, hd[i].field));
		}
	}
	/* the structs, for the runtime kind */
	emit(p, LDX(R1, FP, S_KIND));
	jump(p, JMP_IMM(BPF_JNE, R1, GOSNAP_RUNTIME, 0), L_NO_STRUCTS);
	{
		static const struct { int slot, field, size; } st[] = {
			{ S_G0, offsetof(struct gosnap_record, g0_head),
			  CGOPROF_GOSNAP_G0_HEAD },
			{ S_M, offsetof(struct gosnap_record, m_head),
			  CGOPROF_GOSNAP_M_HEAD },
			{ S_G, offsetof(struct gosnap_record, g_head),
			  CGOPROF_GOSNAP_G_HEAD },
		};

		for (int i = 0; i < 3; i++) {
			emit(p, MOV_REG(R1, R9));
			emit(p, ADD_IMM(R1, st[i].field));
			emit(p, MOV_IMM(R2, st[i].size));
			emit(p, LDX(R3, FP, st[i].slot));
			emit(p, CALL(BPF_FUNC_probe_read_user));
			jump(p, JMP_IMM(BPF_JNE, R0, 0, 0), L_OUT);
		}
	}
	place(p, L_NO_STRUCTS);
	place(p, L_CHUNK);
	copy_chunk(p);
	place(p, L_EMIT);
	/* the bitmap of pages left out follows the bytes */
	emit(p, LDX(R8, FP, S_LEN));
	jump(p, JMP_IMM(BPF_JGT, R8, CGOPROF_GOSNAP_BYTES, 0), L_OUT);
	emit(p, LDX(R1, FP, S_ABS));
	emit(p, MOV_REG(R2, R9));
	emit(p, ADD_REG(R2, R8));
	emit(p, STX(R2, R1, bytes));
	/* bpf_perf_event_output(ctx, out, BPF_F_CURRENT_CPU, rec, size) */
	emit(p, MOV_REG(R1, R6));
	emit(p, LD_IMM64_A(R2, BPF_PSEUDO_MAP_FD, out_fd));
	emit(p, LD_IMM64_B(0));
	emit(p, LD_IMM64_A(R3, 0, BPF_F_CURRENT_CPU));
	emit(p, LD_IMM64_B(BPF_F_CURRENT_CPU));
	emit(p, MOV_REG(R4, R9));
	emit(p, MOV_REG(R5, R8));
	emit(p, ADD_IMM(R5, bytes + 8));
	emit(p, CALL(BPF_FUNC_perf_event_output));
	/* what follows: a goroutine's stack goes on as its frame records,
	 * the system stack in further records, each from where the last
	 * ends, up to CGOPROF_GOSNAP_DEEP_RECORDS; then the rest of the
	 * sample's own stack where its copy stopped short */
	emit(p, LDX(R1, FP, S_CHUNK));
	emit(p, ADD_IMM(R1, 1));
	emit(p, STX(FP, R1, S_CHUNK));
	jump(p, JMP_IMM(BPF_JGE, R1, GOSNAP_RECORDS, 0), L_OUT);
	emit(p, MOV_IMM(R1, GOSNAP_DEEP));
	emit(p, STX(R9, R1, offsetof(struct gosnap_record, kind)));
	emit(p, LDX(R1, FP, S_PHASE));
	jump(p, JMP_IMM(BPF_JEQ, R1, 1, 0), L_TOP);
	jump(p, JMP_IMM(BPF_JEQ, R1, 3, 0), L_FILL);
	emit(p, LDX(R8, FP, S_LEN));
	emit(p, LDX(R1, FP, S_DEPTH));
	jump(p, JMP_REG(BPF_JLE, R1, R8, 0), L_NEXT);
	emit(p, LDX(R2, FP, S_PHASE));
	jump(p, JMP_IMM(BPF_JEQ, R2, 2, 0), L_NEXT);
	/* a goroutine's stack (its frame pointer known) goes on as frame
	 * records: the frame walk is entered in one state, which keeps the
	 * verifier's work within its limit */
	emit(p, LDX(R2, FP, S_BP));
	jump(p, JMP_IMM(BPF_JNE, R2, 0, 0), L_FRAMES);
	emit(p, LDX(R2, FP, S_CHUNK));
	jump(p, JMP_IMM(BPF_JGE, R2, CGOPROF_GOSNAP_DEEP_RECORDS, 0), L_FILL);
	place(p, L_NEXT);
	/* the next record of this stack, from where this one ends */
	emit(p, LDX(R1, FP, S_DEPTH));
	jump(p, JMP_REG(BPF_JLE, R1, R8, 0), L_FILL);
	emit(p, SUB_REG(R1, R8));
	emit(p, STX(FP, R1, S_DEPTH));
	emit(p, LDX(R1, FP, S_GSP));
	emit(p, ADD_REG(R1, R8));
	emit(p, STX(FP, R1, S_GSP));
	jump(p, JMP_IMM(BPF_JA, 0, 0, 0), L_CHUNK);

	/* The goroutine's frame records beyond the records copied, from a
	 * frame pointer of the stack (the user rbp, or sched.bp): each
	 * above the last, inside the stack. */
	place(p, L_FRAMES);
	emit(p, LDX(R7, FP, S_BP));
	jump(p, JMP_IMM(BPF_JEQ, R7, 0, 0), L_FILL);
	emit(p, LDX(R1, FP, S_GSP));
	emit(p, ADD_REG(R1, R8));
	emit(p, STX(FP, R1, S_FPEND));
	emit(p, STX(R9, R1, offsetof(struct gosnap_record, sp)));
	/* The walk is verified step by step, once for each state it can be
	 * entered in: what it and the rest read is passed through the
	 * buffer, which the verifier knows nothing of, so that the paths
	 * that lead here (every kind of record) meet in one state. */
	{
		static const int slot[] = { S_HI, S_FEND, S_START, S_FPEND,
					    S_BP };

		for (size_t i = 0; i < sizeof(slot) / sizeof(slot[0]); i++) {
			emit(p, MOV_REG(R2, R9));
			emit(p, ADD_IMM(R2, (int32_t)GOSNAP_SCRATCH));
			emit(p, LDX(R1, FP, slot[i]));
			emit(p, STX(R2, R1, 0));
			emit(p, LDX(R1, R2, 0));
			emit(p, STX(FP, R1, slot[i]));
		}
		emit(p, LDX(R7, FP, S_BP));
	}
	emit(p, MOV_IMM(R1, 1));
	emit(p, STX(FP, R1, S_PHASE));
	emit(p, MOV_IMM(R1, 0));
	emit(p, STX(FP, R1, S_NFR));
	/* R7: the record's address, R8: steps. Two branches a step, so
	 * that the verifier's pending branches (at most 8192) cover every
	 * step, and few instructions: it goes through each step. An
	 * unreadable record reads as zeroes and ends the walk like a record
	 * that does not go up; the entries (at most one a step) are
	 * counted from S_FPEND up, earlier ones overwritten. */
	emit(p, MOV_IMM(R8, 0));
	emit(p, LDX(R2, FP, S_HI));
	jump(p, JMP_REG(BPF_JGE, R7, R2, 0), L_FR_DONE);
	place(p, L_FR_NEXT);
	jump(p, JMP_IMM(BPF_JGE, R8, GOSNAP_FRAME_STEPS, 0), L_FR_DONE);
	emit(p, ADD_IMM(R8, 1));
	emit(p, MOV_REG(R1, FP));
	emit(p, ADD_IMM(R1, S_PAIR));
	emit(p, MOV_IMM(R2, 16));
	emit(p, MOV_REG(R3, R7));
	emit(p, CALL(BPF_FUNC_probe_read_user));
	emit(p, LDX(R2, FP, S_NFR));
	emit(p, MOV_REG(R4, R2));
	emit(p, MOV_REG(R5, R2));
	emit(p, LSH_IMM(R4, 4));
	emit(p, LSH_IMM(R5, 3));
	emit(p, ADD_REG(R4, R5));
	emit(p, ADD_REG(R4, R9));
	emit(p, STX(R4, R7, bytes));
	emit(p, LDX(R1, FP, S_PAIR));
	emit(p, STX(R4, R1, bytes + 8));
	emit(p, LDX(R1, FP, S_PAIR + 8));
	emit(p, STX(R4, R1, bytes + 16));
	emit(p, LDX(R1, FP, S_FPEND));
	emit(p, ADD_IMM(R1, -16));
	emit(p, MOV_REG(R4, R7));
	emit(p, SUB_REG(R4, R1));
	emit(p, RSH_IMM(R4, 63));
	emit(p, XOR_IMM(R4, 1));
	emit(p, ADD_REG(R2, R4));
	emit(p, STX(FP, R2, S_NFR));
	/* on while R7 < next < S_HI: (next - R7 - 1) < (S_HI - R7 - 1) */
	emit(p, LDX(R1, FP, S_PAIR));
	emit(p, MOV_REG(R3, R7));
	emit(p, MOV_REG(R7, R1));
	emit(p, SUB_REG(R1, R3));
	emit(p, ADD_IMM(R1, -1));
	emit(p, LDX(R2, FP, S_HI));
	emit(p, SUB_REG(R2, R3));
	emit(p, ADD_IMM(R2, -1));
	jump(p, JMP_REG(BPF_JLT, R1, R2, 0), L_FR_NEXT);
	place(p, L_FR_DONE);
	/* through the buffer too: the walk ends at any of its steps, and
	 * what follows is verified once, not once for each count */
	emit(p, MOV_REG(R3, R9));
	emit(p, ADD_IMM(R3, (int32_t)GOSNAP_SCRATCH));
	emit(p, LDX(R2, FP, S_NFR));
	emit(p, STX(R3, R2, 0));
	emit(p, LDX(R2, R3, 0));
	jump(p, JMP_IMM(BPF_JGT, R2, GOSNAP_FRAMES, 0), L_OUT);
	jump(p, JMP_IMM(BPF_JEQ, R2, 0, 0), L_TOP);
	emit(p, MOV_REG(R8, R2));
	emit(p, LSH_IMM(R8, 4));
	emit(p, LSH_IMM(R2, 3));
	emit(p, ADD_REG(R8, R2));
	emit(p, STX(FP, R8, S_LEN));
	emit(p, STX(R9, R8, offsetof(struct gosnap_record, len)));
	emit(p, MOV_IMM(R1, 1));
	emit(p, LSH_IMM(R1, GOSNAP_FRAME_LIST));
	emit(p, STX(FP, R1, S_ABS));
	jump(p, JMP_IMM(BPF_JA, 0, 0, 0), L_EMIT);

	/* The top of the goroutine's stack, whole: its outermost frames
	 * (runtime.main's, the package initialisers') are where saved frame
	 * pointers have been seen to lead down, to memory that is no frame
	 * record (and where the walk stops) */
	place(p, L_TOP);
	emit(p, MOV_IMM(R1, CGOPROF_GOSNAP_BYTES));
	emit(p, STX(FP, R1, S_MAXLEN));
	emit(p, LDX(R2, FP, S_HI));
	emit(p, MOV_REG(R1, R2));
	emit(p, ADD_IMM(R1, -GOSNAP_TOP));
	emit(p, LDX(R3, FP, S_FPEND));
	jump(p, JMP_REG(BPF_JGE, R1, R3, 0), L_TOP_SET);
	emit(p, MOV_REG(R1, R3));
	place(p, L_TOP_SET);
	jump(p, JMP_REG(BPF_JGE, R1, R2, 0), L_FILL);
	emit(p, STX(FP, R1, S_GSP));
	emit(p, SUB_REG(R2, R1));
	emit(p, STX(FP, R2, S_DEPTH));
	emit(p, MOV_IMM(R1, 3));
	emit(p, STX(FP, R1, S_PHASE));
	jump(p, JMP_IMM(BPF_JA, 0, 0, 0), L_CHUNK);

	/* the rest of the sample's own stack */
	place(p, L_FILL);
	emit(p, MOV_IMM(R1, CGOPROF_GOSNAP_BYTES));
	emit(p, STX(FP, R1, S_MAXLEN));
	emit(p, LDX(R1, FP, S_FEND));
	emit(p, LDX(R2, FP, S_START));
	jump(p, JMP_REG(BPF_JLE, R1, R2, 0), L_OUT);
	emit(p, SUB_REG(R1, R2));
	emit(p, STX(FP, R1, S_DEPTH));
	emit(p, STX(FP, R2, S_GSP));
	emit(p, MOV_IMM(R1, 0));
	emit(p, STX(FP, R1, S_FEND));
	emit(p, MOV_IMM(R1, 2));
	emit(p, STX(FP, R1, S_PHASE));
	jump(p, JMP_IMM(BPF_JA, 0, 0, 0), L_CHUNK);
	place(p, L_OUT);
	/* the sample is always kept */
	emit(p, MOV_IMM(R0, 1));
	emit(p, EXIT());
	return resolve_labels(p);
}

/* Byte offset of member @name in struct @type_id, looking into anonymous
 * structs and unions; -1 if none. */
static long member_offset(const struct btf *btf, uint32_t type_id,
			  const char *name, uint32_t *member_type)
{
	const struct btf_type *t = btf__type_by_id(btf, type_id);
	const struct btf_member *m;

	if (!t || (!btf_is_struct(t) && !btf_is_union(t)))
		return -1;
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *n = btf__name_by_offset(btf, m->name_off);
		uint32_t bits = btf_member_bit_offset(t, (uint32_t)i);

		if (n && !strcmp(n, name)) {
			if (member_type)
				*member_type = m->type;
			return bits / 8;
		}
		if (!n || !*n) {
			long off = member_offset(btf, btf__resolve_type(btf, m->type),
						 name, member_type);

			if (off >= 0)
				return (long)(bits / 8) + off;
		}
	}
	return -1;
}

/* fsbase's byte offset in task_struct, from the kernel's BTF @btf. */
static long fsbase_offset(const struct btf *btf)
{
	long thread, fsbase = -1;
	uint32_t thread_type = 0;
	int task;

	task = btf__find_by_name_kind(btf, "task_struct", BTF_KIND_STRUCT);
	if (task > 0) {
		thread = member_offset(btf, (uint32_t)task, "thread", &thread_type);
		if (thread >= 0) {
			long off = member_offset(btf,
				(uint32_t)btf__resolve_type(btf, thread_type),
				"fsbase", NULL);

			if (off >= 0)
				fsbase = thread + off;
		}
	}
	return fsbase >= 0 ? fsbase : -ENOENT;
}

static int silent_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* Byte offset of register @name in struct pt_regs, from the kernel's BTF;
 * -1 if none. */
static long regs_offset(const struct btf *btf, const char *name)
{
	int t = btf__find_by_name_kind(btf, "pt_regs", BTF_KIND_STRUCT);

	return t > 0 ? member_offset(btf, (uint32_t)t, name, NULL) : -1;
}

/* Loads @p without a verifier log, then, if it is refused, again with
 * the log of @opts to say why: the log of a program with loops outgrows
 * any buffer, and a log that overflows fails the load (ENOSPC) however
 * good the program. */
static int prog_load(const struct asm_prog *p, struct bpf_prog_load_opts *opts)
{
	LIBBPF_OPTS(bpf_prog_load_opts, quiet);
	int fd, err;

	fd = bpf_prog_load(BPF_PROG_TYPE_PERF_EVENT, "cgoprof_gosnap",
			   "Dual MIT/GPL", p->insn, (size_t)p->n, &quiet);
	if (fd >= 0 || errno == EPERM)
		return fd;
	err = errno;
	fd = bpf_prog_load(BPF_PROG_TYPE_PERF_EVENT, "cgoprof_gosnap",
			   "Dual MIT/GPL", p->insn, (size_t)p->n, opts);
	if (fd >= 0)
		close(fd);
	errno = err;
	return -1;
}

int gosnap__open(struct gosnap **out, int ncpus, uint32_t copy_bytes,
		 const char **why)
{
	static char log[65536];
	struct asm_prog *p = NULL;
	struct gosnap *g;
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log,
		    .log_size = sizeof(log), .log_level = 1);
	struct asm_params a;
	struct btf *btf;
	long fsoff, spoff, bpoff;
	int err;

	*out = NULL;
	*why = NULL;
	libbpf_set_print(silent_print);
	/* parsing the kernel's BTF takes tens of ms: once */
	btf = btf__load_vmlinux_btf();
	fsoff = btf ? fsbase_offset(btf) : -ENOENT;
	spoff = btf ? regs_offset(btf, "sp") : -1;
	bpoff = btf ? regs_offset(btf, "bp") : -1;
	btf__free(btf);
	if (fsoff < 0) {
		*why = "no kernel BTF (/sys/kernel/btf/vmlinux) to find fsbase";
		return (int)fsoff;
	}
	g = calloc(1, sizeof(*g));
	p = calloc(1, sizeof(*p));
	if (!g || !p) {
		free(g);
		free(p);
		return -ENOMEM;
	}
	g->prog_fd = g->out_fd = g->buf_fd = g->tls_fd = -1;
	g->out_fd = bpf_map_create(BPF_MAP_TYPE_PERF_EVENT_ARRAY, "cgoprof_out",
				   sizeof(int), sizeof(int), (uint32_t)ncpus,
				   NULL);
	g->buf_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "cgoprof_buf",
				   sizeof(uint32_t),
				   sizeof(struct gosnap_record) + GOSNAP_SLACK,
				   (uint32_t)ncpus,
				   NULL);
	g->tls_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "cgoprof_gtls",
				   sizeof(uint32_t), sizeof(int64_t),
				   CGOPROF_GOSNAP_PROCS, NULL);
	if (g->out_fd < 0 || g->buf_fd < 0 || g->tls_fd < 0) {
		err = -errno;
		*why = "BPF maps cannot be created (needs CAP_BPF and CAP_PERFMON)";
		goto fail;
	}
	/* with GOSNAP_DEEP records, then (kernels before 5.15 have no
	 * bpf_task_pt_regs) without */
	a = (struct asm_params){ (int)fsoff, (int)spoff, (int)bpoff,
				 spoff >= 0 && bpoff >= 0 ? (int)copy_bytes : 0 };
	for (;;) {
		err = assemble(p, &a, g->out_fd, g->buf_fd, g->tls_fd);
		if (err) {
			*why = "BPF program does not assemble";
			goto fail;
		}
		g->prog_fd = prog_load(p, &opts);
		if (g->prog_fd >= 0 || !a.copy_bytes || errno == EPERM)
			break;
		pr_debug("BPF verifier (deep goroutine copies): %s", log);
		a.copy_bytes = 0;
	}
	if (g->prog_fd < 0) {
		err = -errno;
		pr_debug("BPF verifier: %s", log);
		*why = err == -EPERM ? "BPF program load refused (needs CAP_BPF)"
				     : "BPF program refused by the verifier";
		goto fail;
	}
	free(p);
	*out = g;
	return 0;
fail:
	free(p);
	gosnap__close(g);
	return err ? err : -EINVAL;
}

int gosnap__prog_fd(const struct gosnap *g)
{
	return g->prog_fd;
}

int gosnap__set_g_tls(struct gosnap *g, uint32_t pid, int32_t off)
{
	int64_t v = off;

	if (off == -8)
		return bpf_map_delete_elem(g->tls_fd, &pid) && errno != ENOENT
			       ? -errno : 0;
	return bpf_map_update_elem(g->tls_fd, &pid, &v, BPF_ANY) ? -errno : 0;
}

int gosnap__set_output(struct gosnap *g, int cpu, int fd)
{
	uint32_t key = (uint32_t)cpu;

	return bpf_map_update_elem(g->out_fd, &key, &fd, BPF_ANY) ? -errno : 0;
}

void gosnap__close(struct gosnap *g)
{
	if (!g)
		return;
	if (g->prog_fd >= 0)
		close(g->prog_fd);
	if (g->out_fd >= 0)
		close(g->out_fd);
	if (g->buf_fd >= 0)
		close(g->buf_fd);
	if (g->tls_fd >= 0)
		close(g->tls_fd);
	free(g);
}
