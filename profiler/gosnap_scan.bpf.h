/* SPDX-License-Identifier: MIT */
/*
 * The snapshot program's scan for newstack's copy of m.morebuf: part of
 * gosnap.bpf.c (its one compilation unit), which includes it after the
 * record's buffer, read_word() and the Go layout's constants.
 */
#ifndef CGOPROF_GOSNAP_SCAN_BPF_H
#define CGOPROF_GOSNAP_SCAN_BPF_H

/* A goroutine that newstack took off its m (a preemption request in a
 * prologue: gopreempt_m, preemptPark) is no m's curg any more, but
 * newstack's frame, just below g0.sched.sp where morestack called it,
 * holds its copy of m.morebuf: f's caller's sp and pc, and g, whose
 * sched morestack set to f's pc and sp = morebuf.sp - 8 (the return
 * address). The copy is looked for a word at a time downwards, as the
 * gobuf's first words up to g. The words are read at once (the
 * window, the record's first bytes), and memory only for a pair that
 * could be a g and a goroutine's sp: a thread on g0 with no goroutine
 * (sysmon, an idle m in the scheduler) goes through every step, and
 * three helper calls a step were a third of the program's time on the
 * cgo fixtures. */
#define MOREBUF_WINDOW (8 * GO_MOREBUF_SCAN_WORDS + 32)
#define MOREBUF_STEP_WORDS 2
_Static_assert(GO_MOREBUF_SCAN_WORDS % MOREBUF_STEP_WORDS == 0,
	       "the scan's steps cover its words");
_Static_assert(MOREBUF_WINDOW <= CGOPROF_GOSNAP_BYTES, "the window fits");

/* bpf_loop()'s state, which the steps do not change (the g found is
 * kept in the buffer, as the frame walk's state: see WALK_WORD) */
struct morebuf_scan {
	struct gosnap_buf *buf;
	__u64 g0sp, base, lo, hi;	/* base: the window's; lo, hi: g0's stack */
};

#define MOREBUF_G(buf) \
	(*(volatile __u64 *)&(buf)->slack[GOSNAP_SLACK - 40])

/* The copy's address at step @i (from 0) */
static __always_inline __u64 morebuf_addr(const struct morebuf_scan *m,
					  __u64 i)
{
	return m->g0sp - 8 * (i + 1) - (go_gobuf_g + 8);
}

/* @g if words @g and @sp are the copy's: a g (8-aligned, not on g0's
 * stack) whose sched.sp is @sp - 8, a goroutine's sp; else 0 */
static __always_inline __u64 morebuf_pair(const struct morebuf_scan *m,
					  __u64 g, __u64 sp)
{
	__u64 sched_sp;

	if (!g || !sp || ((g | sp) & 7) || (g >= m->lo && g < m->hi) ||
	    (sp >= m->lo && sp < m->hi) ||
	    !read_word(&sched_sp, g + go_g_sched_sp) || sched_sp + 8 != sp)
		return 0;
	return g;
}

/* Step @i, its words read from memory */
static __always_inline __u64 morebuf_at(const struct morebuf_scan *m,
					__u64 i)
{
	__u64 at = morebuf_addr(m, i), g, sp;

	if (!read_word(&g, at + go_gobuf_g) || !read_word(&sp, at + go_gobuf_sp))
		return 0;
	return morebuf_pair(m, g, sp);
}

/* Step @i, its words from the window */
static __always_inline __u64 morebuf_in(const struct morebuf_scan *m,
					__u64 i)
{
	__u64 at = morebuf_addr(m, i);
	__u64 og = at + go_gobuf_g - m->base, os = at + go_gobuf_sp - m->base;

	/* opaque to the compiler, which would compute them again after
	 * the test, where the verifier does not know them bounded */
	asm volatile("" : "+r"(og), "+r"(os));
	if (og > MOREBUF_WINDOW - 8 || os > MOREBUF_WINDOW - 8)
		return 0;
	return morebuf_pair(m, *(const __u64 *)(m->buf->rec.bytes + og),
			    *(const __u64 *)(m->buf->rec.bytes + os));
}

/* bpf_loop()'s callbacks: @g found ends the scan */
static __always_inline long morebuf_found(const struct morebuf_scan *m,
					  __u64 g)
{
	if (!g)
		return 0;
	MOREBUF_G(m->buf) = g;
	return 1;
}

static long morebuf_word_step(__u32 index, void *ctx)
{
	return morebuf_found(ctx, morebuf_at(ctx, index));
}

static long morebuf_step(__u32 index, void *ctx)
{
	for (int k = 0; k < MOREBUF_STEP_WORDS; k++)
		if (morebuf_found(ctx, morebuf_in(ctx, (__u64)index *
						  MOREBUF_STEP_WORDS + k)))
			return 1;
	return 0;
}

/* The g of newstack's copy of m.morebuf below @g0sp (g0's stack [@lo,
 * @hi)), else 0. A global function, its steps in bpf_loop() where the
 * kernel has it: inlined and unrolled, its 96 steps were 5 800 of the
 * 10 800 instructions the verifier went through (2 100 and 2 ms with
 * this function). */
__attribute__((noinline)) __u64 cgoprof_morebuf_scan(struct gosnap_buf *buf,
						     __u64 g0sp, __u64 lo,
						     __u64 hi);

__attribute__((noinline)) __u64 cgoprof_morebuf_scan(struct gosnap_buf *buf,
						     __u64 g0sp, __u64 lo,
						     __u64 hi)
{
	struct morebuf_scan m;
	__u64 g = 0;

	if (!buf)
		return 0;
	m = (struct morebuf_scan){ .buf = buf, .g0sp = g0sp,
				   .base = g0sp - MOREBUF_WINDOW, .lo = lo,
				   .hi = hi };
	if (have_loop) {
		MOREBUF_G(buf) = 0;
		if (!bpf_probe_read_user(buf->rec.bytes, MOREBUF_WINDOW,
					 (const void *)m.base))
			bpf_loop(GO_MOREBUF_SCAN_WORDS / MOREBUF_STEP_WORDS,
				 morebuf_step, &m, 0);
		else	/* a page of it unreadable: word by word */
			bpf_loop(go_morebuf_scan_words, morebuf_word_step, &m,
				 0);
		return MOREBUF_G(buf);
	}
	for (__u64 i = 0; i < go_morebuf_scan_words; i++) {
		g = morebuf_at(&m, i);
		if (g)
			break;
	}
	return g;
}

#endif /* CGOPROF_GOSNAP_SCAN_BPF_H */
