// SPDX-License-Identifier: MIT
/*
 * Goroutine stack snapshots taken at sample time, by an eBPF program
 * attached to the sampling events (PERF_EVENT_IOC_SET_BPF). Built with
 * clang -target bpf; gosnap.c loads it through its libbpf skeleton.
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
 * changed since Go 1.4 (g.stack, g.m, g.sched.sp, m.g0: the go_* constants
 * below) and the TLS slot of g (fsbase - 8, the executable's initial-exec
 * slot when runtime.tlsg is its only TLS variable, as the Go linker lays
 * it out): g = *(fsbase - 8), m = g.m, and then one of four records.
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
 *    without this record and the ones below (copy_bytes 0).
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
 * The kernel's structs (task_struct's fsbase, pt_regs' sp and bp) are read
 * with CO-RE relocations (bpf/vmlinux.h), which libbpf resolves against
 * the running kernel's BTF when it loads the program.
 */
#include "vmlinux.h"

#include <stddef.h>

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "cgoprof/golayout.h"
#include "cgoprof/gosnap.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

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
#define GOSNAP_FRAME_BYTES 24
#define GOSNAP_FRAMES (CGOPROF_GOSNAP_BYTES / GOSNAP_FRAME_BYTES)
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
#define GOSNAP_PAGE 4096ULL
#define GOSNAP_PAGES 16
#define GOSNAP_SLACK 8200
_Static_assert(GOSNAP_PAGES * GOSNAP_PAGE <=
		       CGOPROF_GOSNAP_BYTES + GOSNAP_SLACK,
	       "the page by page copy fits the buffer");

/* Go's runtime layout (include/cgoprof/golayout.h): the loader sets these
 * before it loads the program. Read-only data, so the verifier knows each
 * as the constant it is (offsets, loop bounds). */
const volatile __u64 go_g_stack;	/* g.stack: lo, then hi */
const volatile __u64 go_g_m;
const volatile __u64 go_g_sched_sp;
const volatile __u64 go_g_sched_bp;	/* without gobuf.ret (Go 1.26) */
const volatile __u64 go_g_sched_bp_with_ret;	/* with it (Go 1.19) */
const volatile __u64 go_m_g0;
const volatile __u64 go_m_curg[GO_M_CURG_N];	/* most likely first */
const volatile __u64 go_gobuf_sp;	/* in a gobuf */
const volatile __u64 go_gobuf_g;
const volatile __u64 go_morebuf_scan_words;
const volatile __s64 go_g_tls_default;	/* g's slot from fsbase */
/* asmcgocall's frame: { X, G, D } (see above), Go 1.21 and later first */
const volatile __u64 go_asmcgocall[2][3];
/* Not Go's: the bytes of user stack the samples copy; 0 leaves out the
 * GOSNAP_DEEP records, and all that needs bpf_task_pt_regs. */
const volatile __u32 copy_bytes;
/* Not Go's: the kernel has bpf_loop() (5.17); the loader probes it. */
const volatile __u32 have_loop;

/* One output event a CPU, opened by the loader's user (gosnap__set_output). */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} cgoprof_out SEC(".maps");

/* The record being built, one entry a CPU (the loader sets how many): a
 * per-CPU array's values are limited to 32 KiB. */
struct gosnap_buf {
	struct gosnap_record rec;
	__u8 slack[GOSNAP_SLACK];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gosnap_buf);
} cgoprof_buf SEC(".maps");

/* Process (tgid) -> the fsbase-relative offset of its g where it is not
 * go_g_tls_default (gosnap__set_g_tls). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CGOPROF_GOSNAP_PROCS);
	__type(key, __u32);
	__type(value, __s64);
} cgoprof_gtls SEC(".maps");

#include "gosnap_targets.bpf.h"

/* What the records of a sample copy next. */
enum gosnap_phase {
	PHASE_STACK,	/* the goroutine's (or the system) stack */
	PHASE_FRAMES,	/* the goroutine's frame records */
	PHASE_FILL,	/* the sample's own stack */
	PHASE_TOP,	/* the goroutine's top */
};

struct snap {
	__u64 kind;	/* enum gosnap_kind of the first record */
	__u64 g, g0, m;	/* the record's header */
	__u64 lo, hi;	/* a g's stack.lo and stack.hi */
	__u64 sp;	/* where the copy starts */
	__u64 depth;	/* bytes from the copy's start to the stack's top */
	__u64 maxlen;	/* bytes the next record may take */
	__u64 usp, ubp;	/* the user sp and rbp (the task's registers) */
	__u64 start;	/* where the sample's own stack copy ends */
	__u64 fend;	/* fill the sample's stack from start to here */
	__u64 bp;	/* a frame record of the goroutine's stack */
	__u64 fpend;	/* frame records from here are recorded */
	__u64 absent;	/* the record's absent pages */
	__u64 phase;	/* enum gosnap_phase */
};

/* *@dst = the word at user address @addr: false if it cannot be read */
static __always_inline bool read_word(__u64 *dst, __u64 addr)
{
	return !bpf_probe_read_user(dst, sizeof(*dst), (const void *)addr);
}

/* The word at @off of a struct's head copied into @head (@size bytes);
 * 0 past it. A struct's head is read in one call, its fields from the
 * copy: a helper call costs 0.1-0.4 us on a kernel with return-stack
 * mitigations, a few times reading a word. */
#define HEAD_WORD(head, off) head_word(head, sizeof(head), off)
/* s->lo, s->hi: the stack of the g whose head is @head */
#define HEAD_STACK(s, head)                                  \
	do {                                                 \
		(s)->lo = HEAD_WORD(head, go_g_stack);       \
		(s)->hi = HEAD_WORD(head, go_g_stack + 8);   \
	} while (0)
static __always_inline __u64 head_word(const __u8 *head, __u64 size,
				       __u64 off)
{
	if (off > size - 8)
		return 0;
	return *(const __u64 *)(head + off);
}

/* g @g's head (its stack, m and sched) into @rec's g_head; s->g, s->lo
 * and s->hi from it. False where it cannot be read. */
static __always_inline bool read_g(struct snap *s, struct gosnap_record *rec,
				   __u64 g)
{
	if (!g || bpf_probe_read_user(rec->g_head, sizeof(rec->g_head),
				      (const void *)g))
		return false;
	s->g = g;
	HEAD_STACK(s, rec->g_head);
	return true;
}

/* s->sp must lie in [s->lo, s->hi) */
static __always_inline bool in_stack(const struct snap *s)
{
	return s->sp >= s->lo && s->sp < s->hi;
}

/* The copy runs from s->sp to the top of its stack (s->hi), as @kind. */
static __always_inline void copy_to_top(struct snap *s, __u64 kind)
{
	s->depth = s->hi - s->sp;
	s->kind = kind;
}

/* The context's registers (x86-64's struct pt_regs, by word): rbp, cs,
 * rsp */
#define CTX_BP 4
#define CTX_CS 17
#define CTX_SP 19

/* The user sp and rbp: the sample's registers where it interrupted user
 * code (read from the context: no helper call, each of which costs about
 * 0.1 us on a kernel with return-stack mitigations), else the task's
 * user registers (the sample interrupted the kernel). */
static __always_inline bool user_regs(struct bpf_perf_event_data *ctx,
				      struct snap *s)
{
	struct task_struct *task;
	struct pt_regs *regs;

	if (ctx->regs[CTX_CS] & 3) {
		s->ubp = ctx->regs[CTX_BP];
		s->usp = ctx->regs[CTX_SP];
		return true;
	}
	task = bpf_get_current_task_btf();
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	return !bpf_core_read(&s->ubp, sizeof(s->ubp), &regs->bp) &&
	       !bpf_core_read(&s->usp, sizeof(s->usp), &regs->sp);
}

/* Whether the kernel's copy of the user stack (copy_bytes from the user
 * sp) stopped at once: it stops at the first page it cannot read (never
 * touched, or being faulted in: the sample is often in that fault). Then
 * s->start is the sp, and s->fend the copy's end when the next page can
 * be read (the stack goes on past the page; else it is gone, as in an
 * exec), else 0. Otherwise s->start is the copy's end and s->fend 0. A
 * page that cannot be read is slow to probe (a fault each time), and
 * the copy's range often runs past the stack's top: one or two probes,
 * no more; on a goroutine, whose top is known, goroutine_gap looks
 * further. */
static __always_inline void find_copy_end(struct snap *s)
{
	__u64 end = s->usp + copy_bytes, word;

	s->start = end;
	if (read_word(&word, s->usp))
		return;
	s->start = s->usp;
	if (read_word(&word, (s->usp & ~(GOSNAP_PAGE - 1)) + GOSNAP_PAGE))
		s->fend = end;
}

/* On a goroutine (its stack's top in s->hi): the first page of the copy's
 * range below the top that cannot be read, into s->start, if it is lower:
 * where the goroutine's stack goes on in the records. */
static __always_inline void goroutine_gap(struct snap *s)
{
	__u64 page = s->usp & ~(GOSNAP_PAGE - 1), word;

	for (__u64 k = 1; k <= copy_bytes / GOSNAP_PAGE + 1; k++) {
		__u64 at = page + GOSNAP_PAGE * k;

		if (at >= s->start || at >= s->hi)
			return;
		if (!read_word(&word, at)) {
			s->start = at;
			return;
		}
	}
}

/* On a goroutine @g (its stack's bounds in s->lo, s->hi) whose stack goes on beyond the sample's copy of it
 * (deeper than the copy, or where the copy stopped at a page it could
 * not read): the rest of it, from where the copy ends to its top.
 * Callers beyond the copy come from memory of the sample's time, not
 * from the kernel's callchain, which stops after 127 frames and at the
 * first unreadable page too. */
static __always_inline bool deep_goroutine(struct snap *s, __u64 g)
{
	s->g = g;
	goroutine_gap(s);
	s->sp = s->start;
	if (!in_stack(s))
		return false;
	copy_to_top(s, GOSNAP_DEEP);
	s->fend = 0;
	s->bp = s->ubp;
	return true;
}

/* On a goroutine @g: a callback's C caller frames are on g0 from
 * g0.sched.sp (cgocallback set it to its sp there) up. Copied when
 * g0.sched.sp lies inside g0's stack; a thread that is in no callback
 * has little there. */
static __always_inline bool system_stack(struct snap *s,
					 struct gosnap_record *rec, __u64 g,
					 __u64 g0)
{
	s->g = g;
	if (!g0 || bpf_probe_read_user(rec->g0_head, sizeof(rec->g0_head),
				       (const void *)g0))
		return false;
	HEAD_STACK(s, rec->g0_head);
	s->sp = HEAD_WORD(rec->g0_head, go_g_sched_sp);
	if (!in_stack(s))
		return false;
	copy_to_top(s, GOSNAP_SYSTEM_STACK);
	return true;
}

/* Bytes below g0.sched.sp read at once for asmcgocall's frame: both
 * layouts' words lie in them */
#define CGO_WINDOW 64

/* asmcgocall's frame in layout @l of go_asmcgocall (the one below
 * g0.sched.sp @g0sp): its goroutine and that goroutine's depth, from
 * @win (CGO_WINDOW bytes from @lo) where they lie in it, else read. */
static __always_inline bool asmcgocall_frame(__u64 g0sp, int l,
					     const __u8 *win, __u64 lo,
					     __u64 *g, __u64 *depth)
{
	__u64 frame = (g0sp - go_asmcgocall[l][0]) & ~15ULL;
	__u64 og = frame + go_asmcgocall[l][1] - lo;
	__u64 od = frame + go_asmcgocall[l][2] - lo;

	if (win && og <= CGO_WINDOW - 8 && od <= CGO_WINDOW - 8) {
		*g = *(const __u64 *)(win + og);
		*depth = *(const __u64 *)(win + od);
		return *g != 0;
	}
	return read_word(depth, frame + go_asmcgocall[l][2]) &&
	       read_word(g, frame + go_asmcgocall[l][1]) && *g;
}

/* On g0 (its sched.sp @g0sp): in a cgo call, asmcgocall's frame holds the
 * goroutine: the layout whose g is of this m (Go 1.21 and later first),
 * its head read into @rec. */
static __always_inline bool cgo_goroutine(struct snap *s,
					  struct gosnap_record *rec, __u64 g0sp)
{
	__u64 lo = (g0sp - CGO_WINDOW) & ~15ULL, g, depth;
	const __u8 *win = rec->bytes;
	int l;

	if (bpf_probe_read_user(rec->bytes, CGO_WINDOW, (const void *)lo))
		win = NULL;
	for (l = 0; l < 2; l++) {
		if (asmcgocall_frame(g0sp, l, win, lo, &g, &depth) &&
		    read_g(s, rec, g) &&
		    HEAD_WORD(rec->g_head, go_g_m) == s->m)
			break;
	}
	if (l == 2)
		return false;
	/* the goroutine's sp = hi - depth, inside its stack */
	s->depth = depth;
	s->sp = s->hi - depth;
	if (!in_stack(s))
		return false;
	/* and asmcgocall saved that same sp in g.sched.sp (a stale frame
	 * there, or mcall's pushed g, fails this) */
	if (HEAD_WORD(rec->g_head, go_g_sched_sp) != s->sp)
		return false;
	s->kind = GOSNAP_GOROUTINE;
	return true;
}

/* cgoprof_morebuf_scan(): the g of newstack's copy of m.morebuf */
#include "gosnap_scan.bpf.h"

/* On g0 in the runtime (systemstack, morestack's newstack, mcall's
 * scheduler): the goroutine is the g mcall pushed, else m.curg (its
 * offset in m moved between versions: the candidate whose g.m is m),
 * else the g of newstack's copy of m.morebuf. The structs the unwinder
 * reads (g0's head, m's head, the goroutine's g) are copied with its
 * stack from sched.sp. */
static __always_inline bool runtime_goroutine(struct snap *s,
					      struct gosnap_record *rec,
					      __u64 g0sp)
{
	__u64 g, gm;

	/* mcall pushed its g at g0.sched.sp - 8 (systemstack and morestack
	 * have a return address there): a g whose stack holds its sched.sp
	 * and whose m is this m, or none once dropped */
	if (read_word(&g, g0sp - 8) && read_g(s, rec, g)) {
		s->sp = HEAD_WORD(rec->g_head, go_g_sched_sp);
		gm = HEAD_WORD(rec->g_head, go_g_m);
		if (in_stack(s) && (!gm || gm == s->m))
			goto found;
	}
	for (int i = 0; i < GO_M_CURG_N; i++) {
		if (read_g(s, rec, HEAD_WORD(rec->m_head, go_m_curg[i])) &&
		    HEAD_WORD(rec->g_head, go_g_m) == s->m)
			goto found;
	}
	if (!read_g(s, rec,
		    cgoprof_morebuf_scan((struct gosnap_buf *)rec, g0sp,
					 HEAD_WORD(rec->g0_head, go_g_stack),
					 HEAD_WORD(rec->g0_head,
						   go_g_stack + 8))))
		return false;
found:
	/* rec's g_head is s->g's */
	if (s->g == s->g0)
		return false;
	s->sp = HEAD_WORD(rec->g_head, go_g_sched_sp);
	if (!in_stack(s))
		return false;
	copy_to_top(s, GOSNAP_RUNTIME);
	return true;
}

/* s->bp = the goroutine's (s->g) saved frame pointer, sched.bp (where
 * it is depends on gobuf's ret field): the one inside the stack above
 * sched.sp (s->sp), else 0. */
static __always_inline void sched_bp(struct snap *s,
				     const struct gosnap_record *rec)
{
	__u64 off[2] = { go_g_sched_bp, go_g_sched_bp_with_ret }, bp;

	s->bp = 0;
	for (int i = 0; i < 2; i++) {
		bp = HEAD_WORD(rec->g_head, off[i]);
		if (bp >= s->sp && bp < s->hi && !(bp & 7)) {
			s->bp = bp;
			return;
		}
	}
}

/* The rest of the sample's own stack, where the kernel's copy stopped
 * short, as the next record; false if there is none. */
static __always_inline bool next_fill(struct snap *s)
{
	s->maxlen = CGOPROF_GOSNAP_BYTES;
	if (s->fend <= s->start)
		return false;
	s->depth = s->fend - s->start;
	s->sp = s->start;
	s->fend = 0;
	s->phase = PHASE_FILL;
	return true;
}

/* The top of the goroutine's stack, whole, as the next record: its
 * outermost frames (runtime.main's, the package initialisers') are where
 * saved frame pointers have been seen to lead down, to memory that is no
 * frame record (and where the walk stops). Else the fill. */
static __always_inline bool next_top(struct snap *s)
{
	__u64 from = s->hi - GOSNAP_TOP;

	s->maxlen = CGOPROF_GOSNAP_BYTES;
	if (from < s->fpend)
		from = s->fpend;
	if (from >= s->hi)
		return next_fill(s);
	s->sp = from;
	s->depth = s->hi - from;
	s->phase = PHASE_TOP;
	return true;
}

/* The page by page copy of GOSNAP_PAGES pages from @sp into @buf's
 * record, when one read failed: the bitmap of the pages that could not be
 * read. A global function, verified once (see cgoprof_frame_walk()). */
__attribute__((noinline)) __u64 cgoprof_copy_pages(struct gosnap_buf *buf,
						   __u64 sp);

__attribute__((noinline)) __u64 cgoprof_copy_pages(struct gosnap_buf *buf,
						   __u64 sp)
{
	__u64 off = 0, absent = 0;

	if (!buf)
		return 0;
	for (int k = 0; k < GOSNAP_PAGES; k++) {
		/* up to the next page boundary */
		__u64 at = sp + off;
		__u64 n = GOSNAP_PAGE - (at & (GOSNAP_PAGE - 1));
		long err = bpf_probe_read_user(buf->rec.bytes + off, n,
					       (const void *)at);

		off += n;
		absent |= ((__u64)err >> 63) << k;
	}
	return absent;
}

/* The record from s->sp, min(s->depth, s->maxlen) bytes, into @rec: in
 * one read, else page by page, each page that cannot be read marked in
 * s->absent (probe_read_user zeroes what it cannot read). Its length. */
static __always_inline __u64 copy_chunk(struct gosnap_record *rec,
					struct snap *s)
{
	__u64 len = s->depth;

	rec->sp = s->sp;
	if (len > s->maxlen)
		len = s->maxlen;
	if (len > CGOPROF_GOSNAP_BYTES)
		len = CGOPROF_GOSNAP_BYTES;
	rec->len = len;
	s->absent = 0;
	if (!bpf_probe_read_user(rec->bytes, len, (const void *)s->sp))
		return len;
	s->absent = cgoprof_copy_pages((struct gosnap_buf *)rec, s->sp);
	return len;
}

/* The frame walk: the frame records from @fp up, each above the last and
 * below @hi, written to @buf's record as (address, caller's frame
 * pointer, return address); those from @fpend - 16 up are counted. The
 * count. A global function: the verifier goes through it once, on its
 * own, whatever its callers' states (inlined, it went through its steps
 * once for each state it could be entered in: 440 000 of the program's
 * 572 000 instructions verified, a quarter of a second at each load).
 * Two branches a step, so that the verifier's pending branches (at most
 * 8192) cover every step, and few instructions: it goes through each. An
 * unreadable record reads as zeroes and ends the walk like a record that
 * does not go up; the entries (at most one a step) are counted from
 * @fpend up, earlier ones overwritten. */
__attribute__((noinline)) __u64 cgoprof_frame_walk(struct gosnap_buf *buf,
						   __u64 fp, __u64 hi,
						   __u64 fpend);

/* bpf_loop()'s state for the walk: what changes at each step (the frame
 * pointer, the count) is in the buffer, whose words the verifier knows
 * nothing of, so that the callback's states meet at once. */
struct frame_walk {
	struct gosnap_buf *buf;
	__u64 hi, fpend;
};

#define WALK_WORD(buf, k) \
	(*(volatile __u64 *)&(buf)->slack[GOSNAP_SLACK - 8 * (k)])
#define WALK_FP(buf) WALK_WORD(buf, 2)
#define WALK_N(buf) WALK_WORD(buf, 1)
/* the chunk of the stack the walk has read: from where, how many bytes */
#define WALK_BASE(buf) WALK_WORD(buf, 4)
#define WALK_LEN(buf) WALK_WORD(buf, 3)

/* The walk reads the stack a chunk at a time, from the frame record it
 * is at, and follows the records inside it: a read is a helper call, ten
 * times a frame record's cost to follow, and Go's frames are a few
 * hundred bytes (go-deep's 400 frames: 55 us a sample with a read a
 * record, 19 us by chunks of 8 KiB). A record outside the chunk is read
 * with the next one; where that cannot be read (a page of it never
 * touched), the record alone. The chunk is kept in the record's bytes
 * past the last frame entry a walk may write. */
#define WALK_CHUNK 8192
#define WALK_CHUNK_AT (GOSNAP_FRAME_STEPS * GOSNAP_FRAME_BYTES)
_Static_assert((WALK_CHUNK & (WALK_CHUNK - 1)) == 0, "a mask");
_Static_assert(WALK_CHUNK_AT + WALK_CHUNK + 16 <=
		       CGOPROF_GOSNAP_BYTES + GOSNAP_SLACK - 40,
	       "the chunk fits the buffer, before the walk's and the scan's state");

/* the walk's next frame record: 1 when it is the last */
static __always_inline long walk_record(struct frame_walk *w)
{
	struct gosnap_buf *buf = w->buf;
	__u8 *chunk = buf->rec.bytes + WALK_CHUNK_AT;
	__u64 pair[2], *e, fp = WALK_FP(buf), nfr = WALK_N(buf), n;
	__u64 off = fp - WALK_BASE(buf);

	if (nfr >= GOSNAP_FRAME_STEPS)
		return 1;
	if (off + 16 > WALK_LEN(buf)) {
		/* past the chunk (or below it: off wraps) */
		n = w->hi - fp;
		if (n > WALK_CHUNK)
			n = WALK_CHUNK;
		WALK_LEN(buf) = 0;
		if (n < 16 ||
		    bpf_probe_read_user(chunk, n, (const void *)fp)) {
			bpf_probe_read_user(pair, sizeof(pair),
					    (const void *)fp);
			goto record;
		}
		WALK_BASE(buf) = fp;
		WALK_LEN(buf) = n;
		off = 0;
	}
	off &= WALK_CHUNK - 1;
	pair[0] = *(__u64 *)(chunk + off);
	pair[1] = *(__u64 *)(chunk + off + 8);
record:
	e = (__u64 *)(buf->rec.bytes + nfr * GOSNAP_FRAME_BYTES);
	e[0] = fp;
	e[1] = pair[0];
	e[2] = pair[1];
	WALK_N(buf) = nfr + (((fp - (w->fpend - 16)) >> 63) ^ 1);
	if (pair[0] - fp - 1 >= w->hi - fp - 1)
		return 1;
	WALK_FP(buf) = pair[0];
	return 0;
}

/* bpf_loop()'s callback: WALK_STEP_RECORDS records a call. A call costs
 * about what following a record in the chunk does; the verifier goes
 * through the callback's body once a record (2: 3.5-5 ms a load, 8:
 * 11 ms; go-deep 19 us a sample, and 17) */
#define WALK_STEP_RECORDS 2
static long frame_step(__u32 index, void *ctx)
{
	(void)index;
	for (int i = 0; i < WALK_STEP_RECORDS; i++)
		if (walk_record(ctx))
			return 1;
	return 0;
}

__attribute__((noinline)) __u64 cgoprof_frame_walk(struct gosnap_buf *buf,
						   __u64 fp, __u64 hi,
						   __u64 fpend)
{
	struct frame_walk w = { .buf = buf, .hi = hi, .fpend = fpend };
	__u64 nfr = 0;

	if (!buf || fp >= hi)
		return 0;
	if (have_loop) {
		/* verified once its states meet, whatever the steps */
		WALK_FP(buf) = fp;
		WALK_N(buf) = 0;
		WALK_LEN(buf) = 0;
		bpf_loop(GOSNAP_FRAME_STEPS, frame_step, &w, 0);
		return WALK_N(buf);
	}
	for (int step = 0; step < GOSNAP_FRAME_STEPS; step++) {
		__u64 pair[2], *e;

		bpf_probe_read_user(pair, sizeof(pair), (const void *)fp);
		e = (__u64 *)(buf->rec.bytes + nfr * GOSNAP_FRAME_BYTES);
		e[0] = fp;
		e[1] = pair[0];
		e[2] = pair[1];
		/* counted when fp >= fpend - 16, without a branch */
		nfr += ((fp - (fpend - 16)) >> 63) ^ 1;
		/* on while fp < next < hi */
		if (pair[0] - fp - 1 >= hi - fp - 1)
			break;
		fp = pair[0];
	}
	return nfr;
}

/* The goroutine's frame records beyond the @len bytes of its stack
 * copied, from a frame pointer of the stack (the user rbp, or sched.bp):
 * each above the last, inside the stack, written to @rec as (address,
 * caller's frame pointer, return address). The record's length, 0 if
 * there are none, -1 if they do not fit. */
static __always_inline long frame_records(struct gosnap_record *rec,
					  struct snap *s, __u64 len)
{
	__u64 nfr;

	s->fpend = s->sp + len;
	rec->sp = s->fpend;
	s->phase = PHASE_FRAMES;
	nfr = cgoprof_frame_walk((struct gosnap_buf *)rec, s->bp, s->hi,
				 s->fpend);
	if (nfr > GOSNAP_FRAMES)
		return -1;
	if (!nfr)
		return 0;
	len = nfr * GOSNAP_FRAME_BYTES;
	rec->len = len;
	s->absent = 1ULL << GOSNAP_FRAME_LIST;
	return (long)len;
}

/* After a record of @len bytes, the @n-th: what follows it. A
 * goroutine's stack goes on as its frame records, the system stack in
 * further records, each from where the last ends, up to
 * CGOPROF_GOSNAP_DEEP_RECORDS; then the rest of the sample's own stack
 * where its copy stopped short. The next record's length when it is
 * frame records (written), 0 when it is a copy (copy_chunk), -1 when
 * there is none. */
static __always_inline long next_record(struct gosnap_record *rec,
					struct snap *s, __u64 len, int n)
{
	long frames;

	if (s->phase == PHASE_FRAMES)
		return next_top(s) ? 0 : -1;
	if (s->phase == PHASE_TOP)
		return next_fill(s) ? 0 : -1;
	if (s->depth > len && s->phase != PHASE_FILL) {
		/* a goroutine's stack (its frame pointer known) goes on as
		 * frame records */
		if (s->bp) {
			frames = frame_records(rec, s, len);
			if (frames)
				return frames;
			return next_top(s) ? 0 : -1;
		}
		if (n >= CGOPROF_GOSNAP_DEEP_RECORDS)
			return next_fill(s) ? 0 : -1;
	}
	/* the next record of this stack, from where this one ends */
	if (s->depth <= len)
		return next_fill(s) ? 0 : -1;
	s->depth -= len;
	s->sp += len;
	return 0;
}

/* The @n-th record of a sample (from 1): the copy from s->sp, or the
 * @len bytes of frame records next_record() wrote when @len is not 0,
 * sent with the bitmap of the pages it left out; then it sets up what
 * follows (next_record()). The next record's @len, -1 when there is
 * none. A global function: the verifier goes through it once, on its
 * own, knowing nothing of the sample (inlined in the program's loop, it
 * went through the body once for each record and each state that
 * reached it, each of its instructions 687 times: 37 700 instructions
 * verified at each load, 10 800 with this function, 17 ms and 6 ms). */
__attribute__((noinline)) long cgoprof_record(struct bpf_perf_event_data *ctx,
					      struct gosnap_buf *buf,
					      struct snap *s, long len, int n);

__attribute__((noinline)) long cgoprof_record(struct bpf_perf_event_data *ctx,
					      struct gosnap_buf *buf,
					      struct snap *s, long len, int n)
{
	struct gosnap_record *rec;

	if (!buf || !s)
		return -1;
	rec = &buf->rec;
	if (!len)
		len = (long)copy_chunk(rec, s);
	/* the bitmap of pages left out follows the bytes */
	if ((__u64)len > CGOPROF_GOSNAP_BYTES)
		return -1;
	*(__u64 *)(rec->bytes + len) = s->absent;
	bpf_perf_event_output(ctx, &cgoprof_out, BPF_F_CURRENT_CPU, rec,
			      offsetof(struct gosnap_record, bytes) + len + 8);
	if (n >= GOSNAP_RECORDS)
		return -1;
	rec->kind = GOSNAP_DEEP;
	return next_record(rec, s, (__u64)len, n);
}

/* The program: its name is the kernel's name for it. */
int cgoprof_gosnap(struct bpf_perf_event_data *ctx);

SEC("perf_event")
int cgoprof_gosnap(struct bpf_perf_event_data *ctx)
{
	struct snap s = { .maxlen = CGOPROF_GOSNAP_BYTES };
	struct task_struct *task;
	struct gosnap_record *rec;
	__u64 fsbase, g, m, g0, g0sp;
	__s64 g_tls = go_g_tls_default, *tls;
	__u32 key;
	long len;

	/* one timer a CPU: another process's sample is dropped here */
	if (!sampled())
		return 0;
	/* the record being built, and the structs' heads read on the way:
	 * a per-CPU buffer */
	key = bpf_get_smp_processor_id();
	rec = bpf_map_lookup_elem(&cgoprof_buf, &key);
	if (!rec)
		return 1;
	/* the user sp, and where the kernel's copy of the stack from there
	 * stopped */
	if (copy_bytes && user_regs(ctx, &s))
		find_copy_end(&s);
	/* g's slot: fsbase - 8, unless the process's entry says otherwise */
	key = bpf_get_current_pid_tgid() >> 32;
	tls = bpf_map_lookup_elem(&cgoprof_gtls, &key);
	if (tls)
		g_tls = *tls;
	/* fsbase: the thread's TLS pointer, from its task_struct */
	task = (struct task_struct *)bpf_get_current_task();
	if (bpf_core_read(&fsbase, sizeof(fsbase), &task->thread.fsbase) ||
	    !fsbase)
		goto not_go;
	/* g and its head (g0's when g is g0: the record's g0_head); m = g.m
	 * and its head; on the system stack when g == m.g0 */
	if (!read_word(&g, fsbase + g_tls) || !g ||
	    bpf_probe_read_user(rec->g0_head, sizeof(rec->g0_head),
				(const void *)g))
		goto not_go;
	m = HEAD_WORD(rec->g0_head, go_g_m);
	if (!m || bpf_probe_read_user(rec->m_head, sizeof(rec->m_head),
				      (const void *)m))
		goto not_go;
	g0 = HEAD_WORD(rec->m_head, go_m_g0);
	if (!g0)
		goto not_go;
	if (g != g0) {
		HEAD_STACK(&s, rec->g0_head);
		if (copy_bytes && deep_goroutine(&s, g))
			goto go_copy;
		if (!system_stack(&s, rec, g, g0))
			return 1;
		goto copy;
	}
	s.g0 = g;
	s.m = m;
	g0sp = HEAD_WORD(rec->g0_head, go_g_sched_sp);
	if (!cgo_goroutine(&s, rec, g0sp) &&
	    !runtime_goroutine(&s, rec, g0sp))
		goto not_go;
	/* a goroutine's stack from its sched: its frame records from
	 * sched.bp where it goes on beyond the records */
	sched_bp(&s, rec);
go_copy:
	/* with its frame pointer known, a goroutine's stack goes on as
	 * frame records after its innermost GOSNAP_GO_BYTES; but a
	 * goroutine the runtime works on from g0 is copied whole where it
	 * fits one record: copystack rewrites its frame pointers one frame
	 * at a time (adjustframe), and until it is done the chain leads
	 * from the new stack into the old one, where no walk may follow
	 * (the unwinder's pcsp walk needs no frame pointer) */
	if (s.bp && !(s.kind == GOSNAP_RUNTIME &&
		      s.depth <= CGOPROF_GOSNAP_BYTES))
		s.maxlen = GOSNAP_GO_BYTES;
	goto copy;

not_go:
	/* No goroutine to copy (or not Go at all): only the rest of the
	 * sample's own stack, where the kernel's copy stopped short */
	if (!next_fill(&s))
		return 1;
	s.kind = GOSNAP_DEEP;

copy:
	rec->magic = CGOPROF_GOSNAP_MAGIC;
	rec->kind = s.kind;
	rec->g = s.g;
	rec->g0 = s.g0;
	rec->m = s.m;
	/* the runtime kind's structs are in the record's heads already:
	 * g0's and m's read first, the goroutine's last (runtime_goroutine) */
	len = 0;
	for (int n = 1; n <= GOSNAP_RECORDS && len >= 0; n++)
		len = cgoprof_record(ctx, (struct gosnap_buf *)rec, &s, len, n);
	/* a target's sample is always kept */
	return 1;
}
