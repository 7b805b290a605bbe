// SPDX-License-Identifier: MIT
/* The ELF cache on the one image every process has: the vdso. Its copy is
 * read through the same bounded path as a file's image. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>

#include <cmocka.h>

#include "cgoprof/elfobj.h"

static void test_vdso_reads_are_its_bytes_and_bounded(void **state)
{
	const uint8_t *base = (const void *)getauxval(AT_SYSINFO_EHDR);
	struct elf_cache *c = elf_cache__new();
	struct elf_obj *o;
	const GElf_Phdr *ph = NULL;
	uint8_t buf[16];

	(void)state;
	assert_non_null(base);
	assert_non_null(c);
	o = elf_cache__vdso(c);
	assert_non_null(o);
	for (size_t i = 0; i < o->nloads; i++)
		if (o->loads[i].p_filesz >= sizeof(buf))
			ph = &o->loads[i];
	assert_non_null(ph);
	/* its first bytes and its last, as the process maps them */
	assert_int_equal(elf_obj__read(o, ph->p_vaddr, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, base + ph->p_offset, sizeof(buf));
	assert_int_equal(elf_obj__read(o, ph->p_vaddr + ph->p_filesz - 8,
				       buf, 8), 0);
	assert_memory_equal(buf, base + ph->p_offset + ph->p_filesz - 8, 8);
	/* one byte past the segment, or a length that wraps: no read */
	assert_int_not_equal(elf_obj__read(o, ph->p_vaddr + ph->p_filesz - 8,
					   buf, 9), 0);
	assert_int_not_equal(elf_obj__read(o, ph->p_vaddr + 8, buf,
					   SIZE_MAX - 4), 0);
	/* one copy a cache */
	assert_ptr_equal(elf_cache__vdso(c), o);
	elf_cache__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vdso_reads_are_its_bytes_and_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
