// SPDX-License-Identifier: MIT
/* The /proc readers of base/: the maps line parser (every reader of
 * /proc/PID/maps and smaps goes through it) on lines the kernel writes and
 * on hostile ones, the smaps counter lines, and whole-file reads. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgoprof/procfs.h"

static int parse(const char *line, struct procfs_map *m)
{
	return procfs__parse_maps_line(line, strlen(line), m);
}

static void expect_name(const struct procfs_map *m, const char *name)
{
	assert_int_equal(m->name_len, strlen(name));
	assert_memory_equal(m->name, name, m->name_len);
}

static void test_procfs__maps_line(void **state)
{
	struct procfs_map m;

	(void)state;
	assert_int_equal(parse("00400000-00452000 r-xp 00001000 fe:01 10199600"
			       "                   /usr/bin/app",
			       &m),
			 0);
	assert_int_equal(m.start, 0x400000);
	assert_int_equal(m.end, 0x452000);
	assert_int_equal(m.prot, PROT_READ | PROT_EXEC);
	assert_false(m.shared);
	assert_int_equal(m.pgoff, 0x1000);
	assert_int_equal(m.major, 0xfe);
	assert_int_equal(m.minor, 1);
	assert_int_equal(m.ino, 10199600);
	expect_name(&m, "/usr/bin/app");

	/* anonymous: no name, with or without the blanks before it */
	assert_int_equal(parse("7ffc00000000-7ffc00021000 rw-p 00000000 "
			       "00:00 0",
			       &m),
			 0);
	assert_int_equal(m.prot, PROT_READ | PROT_WRITE);
	expect_name(&m, "");
	assert_int_equal(parse("7f0000000000-7f0000001000 ---p 00000000 "
			       "00:00 0     ",
			       &m),
			 0);
	assert_int_equal(m.prot, 0);
	expect_name(&m, "");

	/* names keep their spaces; a tab ends the inode too */
	assert_int_equal(parse("7f0000000000-7f0000004000 rw-s 00001000 "
			       "00:05 77   /memfd:my buf (deleted)",
			       &m),
			 0);
	assert_true(m.shared);
	expect_name(&m, "/memfd:my buf (deleted)");
	assert_int_equal(parse("7f0000000000-7f0000001000 rw-p 0 00:00 "
			       "0\t[anon: Go: heap]",
			       &m),
			 0);
	expect_name(&m, "[anon: Go: heap]");

	/* the largest addresses and device numbers there are */
	assert_int_equal(parse("fffffffffffff000-ffffffffffffffff r--p 0 "
			       "ffffffff:ffffffff 18446744073709551615",
			       &m),
			 -EINVAL);	/* the end is not page-aligned */
	assert_int_equal(parse("ffffffffff600000-fffffffffffff000 --xp 0 "
			       "ffffffff:ffffffff 18446744073709551615 "
			       "[vsyscall]",
			       &m),
			 0);
	assert_int_equal(m.major, 0xffffffff);
	assert_int_equal(m.ino, UINT64_MAX);
}

static void test_procfs__maps_line_hostile(void **state)
{
	static const char *const bad[] = {
		"",
		"garbage line",
		"Rss:                   4 kB",
		"00400000-00402000",
		"00400000-00402000 r--p",
		"00400000-00402000 r--p 00000000 fe:00",
		"00400000 00402000 r--p 00000000 fe:00 1",
		"00400000-00402000 r--p 00000000 fe-00 1",
		"00400000-00402000 r--p 00000000 fe:00 1x",
		"00400000-00402000 r--p 00000000 fe:00 -1",
		"00400000-00402000 r--p 00000000 fe:00 0x1",
		"00400000-00402000 rwzp 00000000 00:00 0",
		"00400000-00402000 rwxq 00000000 00:00 0",
		"00400000-00402000 rwx 00000000 00:00 0",
		"00400000-00402000  r--p 00000000 00:00 0",
		/* start > end, empty, unaligned */
		"00500000-00400000 rw-p 00000000 00:00 0",
		"00500000-00500000 rw-p 00000000 00:00 0",
		"00500001-00502000 rw-p 00000000 00:00 0",
		"00500000-00502001 rw-p 00000000 00:00 0",
		/* numbers too large for their field */
		"10000000000000000-10000000001000 rw-p 0 00:00 0",
		"00500000-00502000 rw-p 10000000000000000 00:00 0",
		"00500000-00502000 rw-p 00000000 fffffffff:00 0",
		"00500000-00502000 rw-p 00000000 00:100000000 0",
		"00500000-00502000 rw-p 00000000 00:00 18446744073709551616",
		"0x-00502000 rw-p 00000000 00:00 0",
	};
	static const char nul[] = "00400000-0040\0" "000 r--p 0 00:00 0";
	struct procfs_map m;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!parse(bad[i], &m))
			fail_msg("parsed: '%s'", bad[i]);
	}
	/* a NUL is a byte like any other, not the end */
	assert_int_equal(procfs__parse_maps_line(nul, sizeof(nul) - 1, &m),
			 -EINVAL);
	/* only @len bytes are read: a line cut anywhere is refused, or is
	 * the same line with a shorter name */
	{
		static const char line[] =
			"00400000-00402000 r--p 00000000 fe:00 1234 /a/b";
		size_t name_at = strlen(line) - 4;

		for (size_t n = 0; n < sizeof(line) - 1; n++) {
			int err = procfs__parse_maps_line(line, n, &m);

			if (n < name_at - 1) {
				/* cut inside the inode: a shorter one */
				if (n > name_at - 5)
					assert_int_equal(err, 0);
				else
					assert_int_equal(err, -EINVAL);
				continue;
			}
			assert_int_equal(err, 0);
			assert_int_equal(m.ino, 1234);
			assert_true(m.name + m.name_len <= line + n);
		}
	}
}

static void test_procfs__smaps_field(void **state)
{
	static const char *const bad[] = {
		"", ":", "Rss", "Rss 4 kB", "R ss: 4 kB", "Swap: 4 MB",
		"Rss: 4 kB x", "Rss: 99999999999999999999999 kB", "Rss: 4kBB",
	};
	struct procfs_field f;

	(void)state;
#define FIELD(s) procfs__parse_smaps_field(s, strlen(s), &f)
	assert_int_equal(FIELD("Rss:                 132 kB"), 0);
	assert_int_equal(f.key_len, 3);
	assert_memory_equal(f.key, "Rss", 3);
	assert_true(f.has_value);
	assert_int_equal(f.value, 132);
	assert_int_equal(FIELD("THPeligible:    1"), 0);
	assert_true(f.has_value);
	assert_int_equal(f.value, 1);
	assert_int_equal(FIELD("Anon_Huge: 0 kB"), 0);
	assert_int_equal(f.key_len, 9);
	/* no number: a key all the same */
	assert_int_equal(FIELD("VmFlags: rd mr mw me sd "), 0);
	assert_false(f.has_value);
	assert_int_equal(f.key_len, 7);
	assert_int_equal(FIELD("Rss:"), 0);
	assert_false(f.has_value);
	assert_int_equal(FIELD("Rss: 18446744073709551615 kB"), 0);
	assert_int_equal(f.value, UINT64_MAX);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!FIELD(bad[i]))
			fail_msg("parsed: '%s'", bad[i]);
	}
#undef FIELD
}

static void test_procfs__read_file(void **state)
{
	char path[] = "/tmp/cgoprof-test-procfs.XXXXXX";
	size_t big = (1 << 16) * 3 + 17, len = 0;
	char *data = malloc(big), *buf = NULL;
	struct procfs_map m;
	bool stack = false;
	int fd;

	(void)state;
	assert_non_null(data);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)('a' + i % 26);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, big), (ssize_t)big);
	close(fd);
	/* larger than the first buffer: read whole, NUL-terminated */
	assert_int_equal(procfs__read_file(path, &buf, &len), 0);
	assert_int_equal(len, big);
	assert_memory_equal(buf, data, big);
	assert_int_equal(buf[len], 0);
	free(buf);
	unlink(path);
	free(data);
	assert_int_equal(procfs__read_file(path, &buf, &len), -ENOENT);

	/* every line the kernel writes for us parses */
	assert_int_equal(procfs__read_file("/proc/self/maps", &buf, &len), 0);
	for (char *p = buf, *nl; p < buf + len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(buf + len - p));
		assert_non_null(nl);
		if (procfs__parse_maps_line(p, (size_t)(nl - p), &m))
			fail_msg("cannot parse '%.*s'", (int)(nl - p), p);
		if (m.name_len == 7 && !memcmp(m.name, "[stack]", 7))
			stack = true;
	}
	assert_true(stack);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_procfs__maps_line),
		cmocka_unit_test(test_procfs__maps_line_hostile),
		cmocka_unit_test(test_procfs__smaps_field),
		cmocka_unit_test(test_procfs__read_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
