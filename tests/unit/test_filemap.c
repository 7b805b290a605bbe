// SPDX-License-Identifier: MIT
/* base/filemap.c: a file mapped to be read in place reads as the file
 * does; a page the file loses afterwards reads as zeroes, not SIGBUS;
 * a page of zeroes follows the mapping; any other SIGBUS still reaches
 * the handler there was before; the table of mappings is bounded. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgoprof/filemap.h"

#define PAGE 4096

/* A memfd of @size bytes, byte i being 'a' + i % 26. */
static int file_of(size_t size)
{
	int fd = memfd_create("filemap-test", MFD_CLOEXEC);
	char buf[PAGE];

	assert_true(fd >= 0);
	for (size_t i = 0; i < size; i += sizeof(buf)) {
		size_t n = size - i < sizeof(buf) ? size - i : sizeof(buf);

		for (size_t k = 0; k < n; k++)
			buf[k] = (char)('a' + (i + k) % 26);
		assert_int_equal(write(fd, buf, n), (ssize_t)n);
	}
	return fd;
}

static void test_reads_the_file_then_zeroes(void **state)
{
	struct filemap m;
	int fd = file_of(4 * PAGE);

	(void)state;
	/* from an offset inside a page, to the file's end (a page's) */
	assert_int_equal(filemap__map(&m, fd, 100, 4 * PAGE - 100), 0);
	for (size_t i = 0; i < 4 * PAGE - 100; i++)
		assert_int_equal(m.bytes[i], 'a' + (100 + i) % 26);
	/* the page after: zeroes, so that a string read ends */
	for (size_t i = 4 * PAGE - 100; i < 5 * PAGE - 100; i++)
		assert_int_equal(m.bytes[i], 0);
	assert_int_equal(strlen((const char *)m.bytes), 4 * PAGE - 100);
	assert_false(filemap__shrank(&m));
	filemap__unmap(&m);
	assert_null(m.map);
	filemap__unmap(&m);	/* twice: nothing */
	close(fd);
}

static void test_truncated_file_reads_zeroes_not_sigbus(void **state)
{
	struct filemap m;
	int fd = file_of(8 * PAGE);
	size_t sum = 0;

	(void)state;
	assert_int_equal(filemap__map(&m, fd, 0, 8 * PAGE), 0);
	assert_int_equal(m.bytes[5 * PAGE], 'a' + 5 * PAGE % 26);
	/* the first three pages stay; the others are gone */
	assert_int_equal(ftruncate(fd, 3 * PAGE), 0);
	for (size_t i = 0; i < 8 * PAGE; i++)
		sum += m.bytes[i] != 0;
	assert_int_equal(sum, 3 * PAGE);
	assert_int_equal(m.bytes[2 * PAGE], 'a' + 2 * PAGE % 26);
	assert_true(filemap__shrank(&m));
	filemap__unmap(&m);
	close(fd);
}

static sigjmp_buf jump;
static volatile sig_atomic_t theirs;

static void their_handler(int sig)
{
	(void)sig;
	theirs++;
	siglongjmp(jump, 1);
}

/* A SIGBUS of a mapping that is not filemap's goes to the handler the
 * program had: filemap's handler is installed after it. */
static void test_other_sigbus_passed_on(void **state)
{
	struct sigaction sa = { .sa_handler = their_handler }, old;
	struct filemap m;
	int fd = file_of(2 * PAGE), other = file_of(2 * PAGE);
	volatile uint8_t *p;

	(void)state;
	/* theirs, then filemap's in its place at the next mapping */
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGBUS, &sa, &old), 0);
	assert_int_equal(filemap__map(&m, fd, 0, 2 * PAGE), 0);
	p = mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE, other, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(ftruncate(other, PAGE), 0);
	if (!sigsetjmp(jump, 1))
		(void)p[PAGE];
	assert_int_equal(theirs, 1);
	/* and filemap's own still work */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(m.bytes[PAGE], 0);
	assert_true(filemap__shrank(&m));
	munmap((void *)p, 2 * PAGE);
	filemap__unmap(&m);
	close(fd);
	close(other);
	sigaction(SIGBUS, &old, NULL);
}

static void test_table_is_bounded(void **state)
{
	static struct filemap m[CGOPROF_FILEMAP_SLOTS + 1];
	int fd = file_of(PAGE);

	(void)state;
	for (int i = 0; i < CGOPROF_FILEMAP_SLOTS; i++)
		assert_int_equal(filemap__map(&m[i], fd, 0, PAGE), 0);
	assert_int_equal(filemap__map(&m[CGOPROF_FILEMAP_SLOTS], fd, 0, PAGE),
			 -ENOSPC);
	filemap__unmap(&m[7]);
	assert_int_equal(filemap__map(&m[7], fd, 0, PAGE), 0);
	for (int i = 0; i < CGOPROF_FILEMAP_SLOTS; i++)
		filemap__unmap(&m[i]);
	/* nothing to map, or past what an offset can be */
	assert_int_equal(filemap__map(&m[0], fd, 0, 0), -EINVAL);
	assert_int_equal(filemap__map(&m[0], fd, 0, SIZE_MAX), -EINVAL);
	assert_null(m[0].map);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_other_sigbus_passed_on),
	    cmocka_unit_test(test_reads_the_file_then_zeroes),
	    cmocka_unit_test(test_truncated_file_reads_zeroes_not_sigbus),
	    cmocka_unit_test(test_table_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
