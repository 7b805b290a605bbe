// SPDX-License-Identifier: MIT
/* The CFI unwinder on a stack copy captured from a real program: this test
 * captures its own registers and stack in a known call chain, exactly as
 * perf_event would (regs + a copy of the stack from SP), and unwinds it. */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgoprof/procmap.h"
#include "cgoprof/unwind.h"

#define COPY 16384

static uint8_t stack_copy[COPY];
static struct perf_sample sample;
static volatile int sink;

static uint64_t stack_top(uint64_t sp)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	uint64_t lo, hi, top = sp + COPY;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && sp >= lo && sp < hi)
			top = hi;
	if (f)
		fclose(f);
	return top;
}

/* The live stack holds AddressSanitizer's poisoned redzones: copied byte by
 * byte, unchecked, as the kernel would. */
__attribute__((no_sanitize_address, noinline)) static void
copy_stack(uint8_t *dst, const uint8_t *src, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		((volatile uint8_t *)dst)[i] = ((const volatile uint8_t *)src)[i];
}

/* Registers as PERF_SAMPLE_REGS_USER gives them, and the stack from SP. */
__attribute__((noinline)) static void capture(void)
{
	uint64_t r[8];
	uint64_t n;

	__asm__ volatile("lea 0(%%rip), %%rax\n\t"
			 "mov %%rax, 0(%0)\n\t"
			 "mov %%rsp, 8(%0)\n\t"
			 "mov %%rbp, 16(%0)\n\t"
			 "mov %%rbx, 24(%0)\n\t"
			 "mov %%r12, 32(%0)\n\t"
			 "mov %%r13, 40(%0)\n\t"
			 "mov %%r14, 48(%0)\n\t"
			 "mov %%r15, 56(%0)\n\t"
			 :
			 : "r"(r)
			 : "rax", "memory");
	memset(&sample, 0, sizeof(sample));
	sample.pid = sample.tid = (uint32_t)getpid();
	sample.regs_abi = PERF_SAMPLE_REGS_ABI_64;
	sample.regs[PERF_REG_IP] = r[0];
	sample.regs[PERF_REG_SP] = r[1];
	sample.regs[PERF_REG_BP] = r[2];
	sample.regs[PERF_REG_BX] = r[3];
	sample.regs[PERF_REG_R12] = r[4];
	sample.regs[PERF_REG_R13] = r[5];
	sample.regs[PERF_REG_R14] = r[6];
	sample.regs[PERF_REG_R15] = r[7];
	n = stack_top(r[1]) - r[1];
	if (n > COPY)
		n = COPY;
	copy_stack(stack_copy, (const uint8_t *)r[1], n);
	sample.stack = stack_copy;
	sample.stack_size = COPY;
	sample.stack_dyn_size = n;
	sink++;
}

__attribute__((noinline)) static void level2(void)
{
	capture();
	sink++;
}

__attribute__((noinline)) static void level1(void)
{
	level2();
	sink++;
}

static const char *frame_name(struct unwind_frame *f)
{
	static char name[256];
	struct sym_frame sf[8];
	int n;

	if (!f->map || !f->map->obj)
		return "?";
	n = elf_obj__symbolize(f->map->obj, f->pc - f->map->bias,
			       f->flags & UNWIND_FRAME_LEAF, sf, 8);
	if (n <= 0)
		return "??";
	snprintf(name, sizeof(name), "%s", sf[n - 1].name);
	for (int i = 0; i < n; i++) {
		free(sf[i].name);
		free(sf[i].file);
	}
	return name;
}

static void test_unwind__captured_stack_to_start(void **state)
{
	struct elf_cache *cache = elf_cache__new();
	struct procmap *pm = procmap__new(cache);
	struct unwind_opts o = { 0 };
	struct unwind_result *r = calloc(1, sizeof(*r));
	struct proc *p;
	uint32_t i;

	(void)state;
	level1();
	assert_int_equal(procmap__load_proc(pm, (uint32_t)getpid()), 0);
	p = procmap__proc(pm, (uint32_t)getpid(), false);
	assert_non_null(p);
	assert_int_equal(unwind__sample(pm, p, &sample, &o, r), 0);
	for (i = 0; i < r->n; i++)
		printf("  #%u %#lx %s%s\n", i, (unsigned long)r->frames[i].pc,
		       frame_name(&r->frames[i]),
		       r->frames[i].flags & UNWIND_FRAME_FP ? " (fp)" : "");
	assert_int_equal(r->status, STACK_COMPLETE);
	assert_true(r->n >= 7);
	assert_string_equal(frame_name(&r->frames[0]), "capture");
	assert_string_equal(frame_name(&r->frames[1]), "level2");
	assert_string_equal(frame_name(&r->frames[2]), "level1");
	assert_string_equal(frame_name(&r->frames[3]),
			    "test_unwind__captured_stack_to_start");
	assert_string_equal(frame_name(&r->frames[r->n - 1]), "_start");
	assert_string_equal(frame_name(&r->frames[r->n - 2]),
			    "__libc_start_main");
	assert_string_equal(frame_name(&r->frames[r->n - 3]),
			    "__libc_start_call_main");
	assert_string_equal(frame_name(&r->frames[r->n - 4]), "main");
	/* no frame needed the frame-pointer fallback */
	for (i = 0; i < r->n; i++)
		assert_false(r->frames[i].flags & UNWIND_FRAME_FP);
	free(r);
	procmap__free(pm);
	elf_cache__free(cache);
}

static void test_unwind__short_copy_truncates(void **state)
{
	struct elf_cache *cache = elf_cache__new();
	struct procmap *pm = procmap__new(cache);
	struct unwind_opts o = { 0 };
	struct unwind_result *r = calloc(1, sizeof(*r));
	struct proc *p;

	(void)state;
	level1();
	sample.stack_dyn_size = 64; /* as with a tiny --stack-size */
	assert_int_equal(procmap__load_proc(pm, (uint32_t)getpid()), 0);
	p = procmap__proc(pm, (uint32_t)getpid(), false);
	assert_int_equal(unwind__sample(pm, p, &sample, &o, r), 0);
	assert_int_equal(r->status, STACK_TRUNCATED);
	assert_string_equal(r->reason, "stack copy exhausted");
	assert_true(r->n >= 1 && r->n < 6);
	assert_string_equal(frame_name(&r->frames[0]), "capture");
	free(r);
	procmap__free(pm);
	elf_cache__free(cache);
}

/* ---- samples the kernel takes around exec and clone ---------------- */

#define KERNEL_IP1 0xffffffff81000100ULL
#define KERNEL_IP2 0xffffffff81000200ULL

/* The address right after the first `syscall` instruction of the
 * function @name (from its entry), or 0. */
static uint64_t after_syscall(const char *name)
{
	const uint8_t *f = dlsym(RTLD_DEFAULT, name);

	for (int i = 0; f && i < 128; i++)
		if (f[i] == 0x0f && f[i + 1] == 0x05)
			return (uint64_t)(uintptr_t)(f + i + 2);
	return 0;
}

/* Runs the unwinder on a synthetic sample of this process, in the kernel
 * (a kernel callchain of two frames) when @in_kernel, with user @ip, @sp,
 * @rax and @len bytes of @stack as the stack copy. */
static int unwind_synthetic(uint64_t ip, uint64_t sp, uint64_t rax,
			    const uint8_t *stack, uint64_t len, bool in_kernel,
			    const struct go_snapshot *snap,
			    struct unwind_result *r, struct elf_cache **cache,
			    struct procmap **pm)
{
	static uint64_t chain[6];
	struct unwind_opts o = { .go_snapshot = snap };
	struct proc *p;
	int n = 0;

	*cache = elf_cache__new();
	*pm = procmap__new(*cache);
	assert_int_equal(procmap__load_proc(*pm, (uint32_t)getpid()), 0);
	p = procmap__proc(*pm, (uint32_t)getpid(), false);
	assert_non_null(p);
	if (in_kernel) {
		chain[n++] = PERF_CONTEXT_KERNEL;
		chain[n++] = KERNEL_IP1;
		chain[n++] = KERNEL_IP2;
	}
	chain[n++] = PERF_CONTEXT_USER;
	chain[n++] = ip;
	memset(&sample, 0, sizeof(sample));
	sample.pid = sample.tid = (uint32_t)getpid();
	sample.ip = in_kernel ? KERNEL_IP1 : ip;
	sample.regs_abi = PERF_SAMPLE_REGS_ABI_64;
	sample.regs[PERF_REG_IP] = ip;
	sample.regs[PERF_REG_SP] = sp;
	sample.regs[PERF_REG_AX] = rax;
	sample.callchain = chain;
	sample.callchain_nr = (uint64_t)n;
	sample.stack = len ? stack : NULL;
	sample.stack_size = COPY;
	sample.stack_dyn_size = len;
	return unwind__sample(*pm, p, &sample, &o, r);
}

static void release(struct unwind_result *r, struct elf_cache *cache,
		    struct procmap *pm)
{
	free(r);
	procmap__free(pm);
	elf_cache__free(cache);
}

/* In execve after the old address space is gone: the user registers are
 * the old image's, their ip in no mapping, their stack unreadable. The
 * user part is the pseudo frame [exec], and the stack is complete. */
static void test_unwind__exec_unmapped_ip_is_exec_root(void **state)
{
	struct unwind_result *r = calloc(1, sizeof(*r));
	struct elf_cache *cache;
	struct procmap *pm;

	(void)state;
	assert_int_equal(unwind_synthetic(0x1000, 0x7ffc00001000ULL, 0, NULL, 0,
					  true, NULL, r, &cache, &pm), 0);
	assert_int_equal(r->status, STACK_COMPLETE);
	assert_non_null(r->root);
	assert_string_equal(r->root, "[exec]");
	assert_int_equal(r->n, 2);
	assert_true(r->frames[0].flags & UNWIND_FRAME_KERNEL);
	assert_true(r->frames[1].flags & UNWIND_FRAME_KERNEL);
	release(r, cache, pm);
}

/* The same before the records of the new image are read: the ip still
 * maps (the old image's execve, right after its syscall instruction) but
 * nothing at sp can be read. */
static void test_unwind__exec_old_image_is_exec_root(void **state)
{
	struct unwind_result *r = calloc(1, sizeof(*r));
	uint64_t ip = after_syscall("execve");
	struct elf_cache *cache;
	struct procmap *pm;

	(void)state;
	assert_true(ip != 0);
	assert_int_equal(unwind_synthetic(ip, 0x7ffc00001000ULL, (uint64_t)-38,
					  NULL, 0, true, NULL, r, &cache, &pm),
			 0);
	assert_int_equal(r->status, STACK_COMPLETE);
	assert_non_null(r->root);
	assert_string_equal(r->root, "[exec]");
	assert_int_equal(r->n, 2);
	release(r, cache, pm);
}

/* Not exec: a user-mode sample at an ip nobody maps stays truncated, and
 * a sample in execve whose stack can still be read is unwound. */
static void test_unwind__not_exec(void **state)
{
	struct unwind_result *r = calloc(1, sizeof(*r));
	uint64_t ip = after_syscall("execve");
	struct elf_cache *cache;
	struct procmap *pm;

	(void)state;
	assert_int_equal(unwind_synthetic(0x1000, 0x7ffc00001000ULL, 0, NULL, 0,
					  false, NULL, r, &cache, &pm), 0);
	assert_int_equal(r->status, STACK_TRUNCATED);
	assert_string_equal(r->reason, "unmapped pc");
	assert_null(r->root);
	procmap__free(pm);
	elf_cache__free(cache);

	memset(stack_copy, 0, 64);
	assert_int_equal(unwind_synthetic(ip, (uint64_t)(uintptr_t)stack_copy,
					  (uint64_t)-38, stack_copy, 64, true,
					  NULL, r, &cache, &pm), 0);
	assert_null(r->root);
	assert_true(r->n >= 3);
	assert_string_equal(frame_name(&r->frames[2]), "execve");
	release(r, cache, pm);
}

/* A call of clone through the PLT, never run: its return address is what
 * clone's parent has at sp in its system call. */
__asm__(".text\n"
	"cgoprof_test_call_clone:\n"
	"	call clone@PLT\n"
	".globl cgoprof_test_clone_ret\n"
	"cgoprof_test_clone_ret:\n"
	"	ret\n");
extern const char cgoprof_test_clone_ret[];

/* glibc's clone ends its CFI before its system call (the child runs on
 * another stack). A new thread starts right after that syscall, with rax
 * 0 and its stack empty: its root. */
static void test_unwind__clone_child_is_root(void **state)
{
	struct unwind_result *r = calloc(1, sizeof(*r));
	uint64_t ip = after_syscall("clone");
	struct elf_cache *cache;
	struct procmap *pm;

	(void)state;
	assert_true(ip != 0);
	memset(stack_copy, 0, 256);
	assert_int_equal(unwind_synthetic(ip, (uint64_t)(uintptr_t)stack_copy,
					  0, stack_copy, 256, true, NULL, r,
					  &cache, &pm), 0);
	assert_int_equal(r->status, STACK_COMPLETE);
	assert_null(r->root);
	assert_int_equal(r->n, 3);
	assert_true(r->frames[2].flags & UNWIND_FRAME_LEAF);
	assert_true(strstr(frame_name(&r->frames[2]), "clone") != NULL);
	release(r, cache, pm);
}

/* clone's parent at the same instruction (rax: the child's tid) has its
 * return address at sp, after a call of clone: its caller comes next. */
static void test_unwind__clone_parent_goes_on(void **state)
{
	struct unwind_result *r = calloc(1, sizeof(*r));
	uint64_t ip = after_syscall("clone"), ret;
	struct elf_cache *cache;
	struct procmap *pm;

	(void)state;
	ret = (uint64_t)(uintptr_t)cgoprof_test_clone_ret;
	memset(stack_copy, 0, 256);
	memcpy(stack_copy, &ret, 8);
	assert_int_equal(unwind_synthetic(ip, (uint64_t)(uintptr_t)stack_copy,
					  4242, stack_copy, 256, true, NULL, r,
					  &cache, &pm), 0);
	assert_true(r->n >= 4);
	assert_true(strstr(frame_name(&r->frames[2]), "clone") != NULL);
	assert_int_equal(r->frames[3].pc, ret);
	release(r, cache, pm);
}

/* A page the snapshot program could not copy is not memory: its zeroes
 * are never read as return addresses. The captured stack beyond the
 * first 64 bytes comes from a snapshot region: whole, the walk reaches
 * _start; with the page that holds a return address it needs left out,
 * it stops there. */
static void test_unwind__snapshot_absent_page(void **state)
{
	struct elf_cache *cache = elf_cache__new();
	struct procmap *pm = procmap__new(cache);
	struct go_snapshot snap = { 0 };
	struct unwind_opts o = { .go_snapshot = &snap };
	struct unwind_result *r = calloc(1, sizeof(*r));
	uint64_t slot = 0, page;
	struct proc *p;

	(void)state;
	level1();
	assert_true(sample.stack_dyn_size > 4096 + 64);
	snap.n = 1;
	snap.r[0] = (struct go_snapshot_region){
		.addr = sample.regs[PERF_REG_SP] + 64,
		.len = sample.stack_dyn_size - 64,
		.bytes = stack_copy + 64,
	};
	sample.stack_dyn_size = 64;
	assert_int_equal(procmap__load_proc(pm, (uint32_t)getpid()), 0);
	p = procmap__proc(pm, (uint32_t)getpid(), false);
	assert_int_equal(unwind__sample(pm, p, &sample, &o, r), 0);
	assert_int_equal(r->status, STACK_COMPLETE);
	assert_string_equal(frame_name(&r->frames[r->n - 1]), "_start");

	/* the first return address past the copy's 64 bytes */
	for (uint32_t i = 1; i < r->n && !slot; i++)
		for (uint64_t off = 64; off + 8 <= COPY && !slot; off += 8)
			if (!memcmp(stack_copy + off, &r->frames[i].pc, 8))
				slot = sample.regs[PERF_REG_SP] + off;
	assert_true(slot != 0);
	page = (slot & ~4095ULL) - (snap.r[0].addr & ~4095ULL);
	snap.r[0].absent = 1ULL << (page >> 12);
	/* what is left there is not read: a zero return address would end
	 * the stack as complete */
	memset(stack_copy + (slot - sample.regs[PERF_REG_SP]), 0, 8);
	assert_int_equal(unwind__sample(pm, p, &sample, &o, r), 0);
	assert_int_equal(r->status, STACK_TRUNCATED);
	assert_string_equal(r->reason, "stack copy exhausted");
	free(r);
	procmap__free(pm);
	elf_cache__free(cache);
}

static void on_usr1(int sig)
{
	(void)sig;
	capture();
	sink++;
}

/* A stack captured in a signal handler: the kernel made the handler return
 * to libc's sigreturn trampoline (mov $15, %rax; syscall), whose CFI is a
 * signal frame ('S'): the trampoline is named at its own first instruction
 * and the frame after it is the pc the signal interrupted, not a return
 * address: both are flagged as instructions of their own (LEAF), and the
 * walk goes on through the interrupted code to _start. Before the fix,
 * the signal frame was never recognised (dwarf_frame_info gives the return
 * address register, not 0) and both were looked up at pc - 1. */
static void test_unwind__signal_frame_exact_pcs(void **state)
{
	static const uint8_t sigreturn[] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00,
					     0x00, 0x00, 0x0f, 0x05 };
	struct elf_cache *cache = elf_cache__new();
	struct procmap *pm = procmap__new(cache);
	struct unwind_opts o = { 0 };
	struct unwind_result *r = calloc(1, sizeof(*r));
	struct sigaction sa = { .sa_handler = on_usr1 }, old;
	uint32_t i, tramp = 0;
	bool test_fn = false;
	struct proc *p;

	(void)state;
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	raise(SIGUSR1);
	sigaction(SIGUSR1, &old, NULL);
	assert_int_equal(procmap__load_proc(pm, (uint32_t)getpid()), 0);
	p = procmap__proc(pm, (uint32_t)getpid(), false);
	assert_non_null(p);
	assert_int_equal(unwind__sample(pm, p, &sample, &o, r), 0);
	for (i = 0; i < r->n; i++) {
		printf("  #%u %#lx %s%s\n", i, (unsigned long)r->frames[i].pc,
		       frame_name(&r->frames[i]),
		       r->frames[i].flags & UNWIND_FRAME_LEAF ? " (exact)" : "");
		if (!tramp && i && !memcmp((const void *)r->frames[i].pc,
					   sigreturn, sizeof(sigreturn)))
			tramp = i;
		if (!strcmp(frame_name(&r->frames[i]),
			    "test_unwind__signal_frame_exact_pcs"))
			test_fn = true;
	}
	assert_int_equal(r->status, STACK_COMPLETE);
	assert_string_equal(frame_name(&r->frames[0]), "capture");
	assert_string_equal(frame_name(&r->frames[1]), "on_usr1");
	/* the handler's caller is the trampoline, at its first byte */
	assert_int_equal(tramp, 2);
	assert_true(r->frames[tramp].flags & UNWIND_FRAME_LEAF);
	/* the interrupted pc follows the system call raise made */
	assert_true(r->frames[tramp + 1].flags & UNWIND_FRAME_LEAF);
	assert_memory_equal((const uint8_t *)r->frames[tramp + 1].pc - 2,
			    "\x0f\x05", 2);
	for (i = tramp + 2; i < r->n; i++)
		assert_false(r->frames[i].flags & UNWIND_FRAME_LEAF);
	assert_true(test_fn);
	assert_string_equal(frame_name(&r->frames[r->n - 1]), "_start");
	free(r);
	procmap__free(pm);
	elf_cache__free(cache);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unwind__captured_stack_to_start),
		cmocka_unit_test(test_unwind__short_copy_truncates),
		cmocka_unit_test(test_unwind__exec_unmapped_ip_is_exec_root),
		cmocka_unit_test(test_unwind__exec_old_image_is_exec_root),
		cmocka_unit_test(test_unwind__not_exec),
		cmocka_unit_test(test_unwind__clone_child_is_root),
		cmocka_unit_test(test_unwind__clone_parent_goes_on),
		cmocka_unit_test(test_unwind__snapshot_absent_page),
		cmocka_unit_test(test_unwind__signal_frame_exact_pcs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
