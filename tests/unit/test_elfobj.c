// SPDX-License-Identifier: MIT
/* The ELF cache on the one image every process has: the vdso. Its copy is
 * read through the same bounded path as a file's image. Files that are not
 * regular files are refused without blocking; a file that shrinks after it
 * was opened gives errors, not SIGBUS. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

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

static void test_fifo_and_devices_are_refused_without_blocking(void **state)
{
	struct elf_cache *c = elf_cache__new();
	char dir[] = "/tmp/cgoprof-test-XXXXXX", fifo[64];

	(void)state;
	assert_non_null(c);
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	/* no writer: a blocking open would never return */
	assert_null(elf_cache__open(c, fifo, fifo, 1, 1));
	assert_null(elf_cache__open(c, "/dev/zero", "/dev/zero", 2, 2));
	assert_null(elf_cache__open(c, dir, dir, 3, 3));
	unlink(fifo);
	rmdir(dir);
	elf_cache__free(c);
}

/* Copies this test's own binary (it has symbols and DWARF), opens it,
 * truncates it to one page and asks everything of it. */
static void test_truncated_file_gives_errors_not_sigbus(void **state)
{
	char path[] = "/tmp/cgoprof-test-elf-XXXXXX", buf[1 << 16];
	struct elf_cache *c = elf_cache__new();
	struct sym_frame fr[8];
	struct elf_obj *o;
	uint8_t word[16];
	int in = open("/proc/self/exe", O_RDONLY), out = mkstemp(path);
	ssize_t n;

	(void)state;
	assert_true(in >= 0 && out >= 0 && c);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	o = elf_cache__open(c, path, path, 4, 4);
	assert_non_null(o);
	assert_int_equal(ftruncate(out, 4096), 0);
	close(out);
	for (size_t i = 0; i < o->nloads; i++) {
		uint64_t pc = o->loads[i].p_vaddr + o->loads[i].p_filesz / 2;
		int k = elf_obj__symbolize(o, pc, true, fr, 8);

		for (int j = 0; j < k; j++) {
			free(fr[j].name);
			free(fr[j].file);
		}
		elf_obj__cfi_covers(o, pc);
		elf_obj__in_plt(o, pc);
		/* past the new end of the file: an error */
		if (o->loads[i].p_offset > 8192 && o->loads[i].p_filesz > 16)
			assert_int_not_equal(elf_obj__read(o, pc, word, 16), 0);
	}
	unlink(path);
	elf_cache__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vdso_reads_are_its_bytes_and_bounded),
		cmocka_unit_test(test_fifo_and_devices_are_refused_without_blocking),
		cmocka_unit_test(test_truncated_file_gives_errors_not_sigbus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
