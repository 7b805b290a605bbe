// SPDX-License-Identifier: MIT
/* The CFI unwinder on a stack copy captured from a real program: this test
 * captures its own registers and stack in a known call chain, exactly as
 * perf_event would (regs + a copy of the stack from SP), and unwinds it. */
#include <errno.h>
#include <setjmp.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unwind__captured_stack_to_start),
		cmocka_unit_test(test_unwind__short_copy_truncates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
