// SPDX-License-Identifier: MIT
/* The cut-down BTF of the kernel types the BPF programs read: each member
 * at the offset the kernel's whole BTF gives it (read by libbpf, through
 * anonymous members too), as libbpf parses the result; and files that are
 * not what they should be: a FIFO, not BTF, truncated, bytes flipped,
 * members that are not there; the copy kept in the cache directory, used
 * by the next load of the boot, and one that is not whole, not used. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include <bpf/btf.h>

#include "cgoprof/btf_min.h"

#define VMLINUX "/sys/kernel/btf/vmlinux"

/* gosnap.c's and execwatch.c's, and two in anonymous members */
static const struct btf_min_field fields[] = {
	{ "pt_regs", "bp" },	     { "pt_regs", "sp" },
	{ "task_struct", "thread" }, { "thread_struct", "fsbase" },
	{ "task_struct", "mm" },     { "mm_struct", "exe_file" },
	{ "file", "f_inode" },	     { "inode", "i_ino" },
	{ "inode", "i_sb" },	     { "super_block", "s_dev" },
	{ "task_struct", "pid" },    { "mm_struct", "mmap_base" },
};
#define NFIELDS (sizeof(fields) / sizeof(*fields))

/* The bit offset of member @name in @id of @btf, in it or in its
 * anonymous members; its type in *@type. -1 if there is none. */
static long member_off(const struct btf *btf, uint32_t id, const char *name,
		       uint32_t *type)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const struct btf_member *m;

	while (btf_is_mod(t) || btf_is_typedef(t)) {
		id = t->type;
		t = btf__type_by_id(btf, id);
	}
	if (!btf_is_composite(t))
		return -1;
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++) {
		const char *n = btf__name_by_offset(btf, m[i].name_off);
		long off = (long)btf_member_bit_offset(t, (uint32_t)i);

		if (n && *n && !strcmp(n, name)) {
			*type = m[i].type;
			return off;
		}
		if (!n || !*n) {
			long in = member_off(btf, m[i].type, name, type);

			if (in >= 0)
				return off + in;
		}
	}
	return -1;
}

static int skip_kind(const struct btf *btf, uint32_t id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	while (btf_is_mod(t) || btf_is_typedef(t))
		t = btf__type_by_id(btf, t->type);
	return btf_kind(t);
}

static void test_kernel(void **state)
{
	struct btf *full, *min;
	char path[64];
	int fd;

	(void)state;
	if (access(VMLINUX, R_OK)) {
		/* a kernel without BTF: cgoprof's BPF programs do not load
		 * there at all; nothing to cut */
		print_message("no %s\n", VMLINUX);
		assert_int_equal(btf_min__build(NULL, fields, NFIELDS, &fd),
				 -ENOENT);
		return;
	}
	full = btf__load_vmlinux_btf();
	assert_non_null(full);
	assert_int_equal(btf_min__build(NULL, fields, NFIELDS, &fd), 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	min = btf__parse(path, NULL);
	assert_non_null(min);
	for (size_t i = 0; i < NFIELDS; i++) {
		int32_t fid = btf__find_by_name_kind(full, fields[i].type,
						     BTF_KIND_STRUCT);
		int32_t mid = btf__find_by_name_kind(min, fields[i].type,
						     BTF_KIND_STRUCT);
		uint32_t ft = 0, mt = 0;
		long fo, mo;

		assert_true(fid > 0);
		assert_true(mid > 0);
		assert_int_equal(btf__type_by_id(full, (uint32_t)fid)->size,
				 btf__type_by_id(min, (uint32_t)mid)->size);
		fo = member_off(full, (uint32_t)fid, fields[i].member, &ft);
		mo = member_off(min, (uint32_t)mid, fields[i].member, &mt);
		if (fo < 0 || fo != mo)
			fail_msg("%s.%s: at bit %ld, cut %ld", fields[i].type,
				 fields[i].member, fo, mo);
		/* the kind CO-RE compares; integers keep their size */
		assert_int_equal(skip_kind(full, ft), skip_kind(min, mt));
		if (skip_kind(full, ft) == BTF_KIND_INT)
			assert_int_equal(btf__resolve_size(full, ft),
					 btf__resolve_size(min, mt));
	}
	btf__free(min);
	btf__free(full);
	close(fd);
}

static char *copy_of(size_t keep, unsigned flips)
{
	char *path = strdup("/tmp/cgoprof-btf-XXXXXX");
	int in = open(VMLINUX, O_RDONLY), out;
	static char buf[1 << 16];
	size_t done = 0;
	ssize_t n;

	assert_non_null(path);
	assert_true(in >= 0);
	out = mkstemp(path);
	assert_true(out >= 0);
	while (done < keep && (n = read(in, buf, sizeof(buf))) > 0) {
		if ((size_t)n > keep - done)
			n = (ssize_t)(keep - done);
		for (unsigned k = 0; k < flips; k++)
			buf[(size_t)rand() % (size_t)n] ^= (char)(1 + rand() % 255);
		assert_int_equal(write(out, buf, (size_t)n), n);
		done += (size_t)n;
	}
	close(in);
	close(out);
	return path;
}

static void test_bad_files(void **state)
{
	char fifo[] = "/tmp/cgoprof-btf-fifo-XXXXXX";
	static const struct btf_min_field absent[] = {
		{ "task_struct", "no_such_member_here" },
	};
	static const struct btf_min_field nested[] = {
		/* a struct not in the list */
		{ "task_struct", "thread" },
	};
	char *path;
	int fd, tmp;

	(void)state;
	tmp = mkstemp(fifo);
	assert_true(tmp >= 0);
	close(tmp);
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(btf_min__build(fifo, fields, NFIELDS, &fd), -EINVAL);
	unlink(fifo);
	assert_int_equal(btf_min__build("/nonexistent", fields, NFIELDS, &fd),
			 -ENOENT);
	path = copy_of(0, 0);	/* empty */
	assert_int_equal(btf_min__build(path, fields, NFIELDS, &fd), -EINVAL);
	unlink(path);
	free(path);
	if (access(VMLINUX, R_OK))
		return;
	assert_int_equal(btf_min__build(NULL, absent, 1, &fd), -ENOENT);
	assert_int_equal(btf_min__build(NULL, nested, 1, &fd), -ENOTSUP);
	/* truncated anywhere: an error, never a crash */
	for (size_t keep = 16; keep < (8u << 20); keep *= 3) {
		path = copy_of(keep, 0);
		fd = -1;
		if (!btf_min__build(path, fields, NFIELDS, &fd))
			close(fd);
		unlink(path);
		free(path);
	}
	/* bytes flipped: whatever it says, no crash, and what it builds
	 * libbpf can parse */
	srand(7);
	for (int round = 0; round < 12; round++) {
		path = copy_of(64u << 20, 40);
		fd = -1;
		if (!btf_min__build(path, fields, NFIELDS, &fd)) {
			char p[64];
			struct btf *b;

			snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
			b = btf__parse(p, NULL);
			assert_non_null(b);
			btf__free(b);
			close(fd);
		}
		unlink(path);
		free(path);
	}
}

static size_t slurp(int fd, uint8_t *buf, size_t cap)
{
	ssize_t n = pread(fd, buf, cap, 0);

	assert_true(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

/* The only file of @dir whose name starts with "btf-", in @out. */
static void btf_file(const char *dir, char *out, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "btf-", 4)) {
			snprintf(out, size, "%s/%s", dir, e->d_name);
			found++;
		}
	closedir(d);
	assert_int_equal(found, 1);
}

/* What btf_min__custom_path() gives now must be @want's @n bytes. */
static void expect_load(const uint8_t *want, size_t n)
{
	static uint8_t got[1 << 16];
	char path[64];
	int fd;

	assert_int_equal(btf_min__custom_path(fields, NFIELDS, path,
					      sizeof(path), &fd), 0);
	assert_int_equal(slurp(fd, got, sizeof(got)), n);
	assert_memory_equal(got, want, n);
	close(fd);
}

static void test_cache(void **state)
{
	char dir[] = "/tmp/cgoprof-btfcache-XXXXXX", path[64], file[512];
	static uint8_t a[1 << 16], f[1 << 16];
	size_t na, nf;
	uint32_t crc;
	int fd, ff;

	(void)state;
	if (access(VMLINUX, R_OK))
		return;	/* nothing to cut (test_kernel says so) */
	assert_non_null(mkdtemp(dir));
	assert_int_equal(setenv("CGOPROF_CACHE_DIR", dir, 1), 0);
	/* the first load cuts and keeps it; the next reads the same */
	assert_int_equal(btf_min__custom_path(fields, NFIELDS, path,
					      sizeof(path), &fd), 0);
	na = slurp(fd, a, sizeof(a));
	btf_file(dir, file, sizeof(file));
	expect_load(a, na);

	/* it is the cache's that is read: a whole file with one byte of the
	 * BTF changed (and its CRC) is what the next load gets */
	ff = open(file, O_RDWR);
	assert_true(ff >= 0);
	nf = slurp(ff, f, sizeof(f));
	assert_int_equal(nf, na + 4);
	f[na - 1] ^= 0x20;
	crc = (uint32_t)crc32(0, f, (uInt)na);
	memcpy(f + na, &crc, 4);
	assert_int_equal(pwrite(ff, f, nf, 0), (ssize_t)nf);
	expect_load(f, na);

	/* not whole (the CRC disagrees): cut again, and kept anew */
	f[0] ^= 1;
	assert_int_equal(pwrite(ff, f, nf, 0), (ssize_t)nf);
	close(ff);
	expect_load(a, na);
	ff = open(file, O_RDONLY);
	assert_true(ff >= 0);
	assert_int_equal(slurp(ff, f, sizeof(f)), na + 4);
	assert_memory_equal(f, a, na);
	close(ff);

	/* writable by others: not used (its changed byte does not come
	 * back), and replaced by a file of the caller's alone */
	assert_int_equal(chmod(file, 0666), 0);
	ff = open(file, O_RDWR);
	f[0] ^= 1;
	assert_int_equal(pwrite(ff, f, na + 4, 0), (ssize_t)(na + 4));
	close(ff);
	expect_load(a, na);
	{
		struct stat st;

		assert_int_equal(stat(file, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	close(fd);
	unlink(file);
	rmdir(dir);
	unsetenv("CGOPROF_CACHE_DIR");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
