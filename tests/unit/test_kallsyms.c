// SPDX-License-Identifier: MIT
/* The kernel symbol table: a crafted file (modules out of order, names
 * at one address, types that are not text, hidden addresses, a last line
 * without its newline, junk), a path that is not a regular file, and the
 * running kernel's /proc/kallsyms against a parse of it by sscanf; the
 * cache of a boot's core kernel symbols against the file it was made from,
 * and cache files that are not to be trusted; addresses in BPF programs
 * named without the file, as the file names them. */
#include <dirent.h>
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
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <cmocka.h>
#include <linux/btf.h>

#include "cgoprof/cache.h"
#include "cgoprof/kallsyms.h"
#include "cgoprof/stacks.h"

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/cgoprof-kallsyms-XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_crafted(void **state)
{
	static const char text[] =
		"0000000000000000 A fixed_percpu_data\n"
		"ffffffff81000000 T _stext\n"
		"ffffffff81000000 T _text\n"
		"ffffffff81000100 t entry_one\n"
		"ffffffff81000200 D some_data\n"
		"ffffffff81000300 W weak_fn\n"
		"not a line at all\n"
		"ffffffff81000400 T\n"
		"ffffffffc0201000 t mod_fn\t[a_module]\n"
		"ffffffffc0100000 t earlier_mod_fn\t[b_module]\n"
		"ffffffff81000500 t late_core";
	char *path = write_tmp(text);
	struct kallsyms *k = kallsyms__new(path, NULL, 0);

	(void)state;
	assert_non_null(k);
	assert_null(kallsyms__lookup(k, 0xffffffff80ffffffULL));
	/* the last of the names at one address, in the file's order */
	assert_string_equal(kallsyms__lookup(k, 0xffffffff81000000ULL),
			    "_text");
	assert_string_equal(kallsyms__lookup(k, 0xffffffff81000150ULL),
			    "entry_one");
	/* data is no function: the text before it goes on */
	assert_string_equal(kallsyms__lookup(k, 0xffffffff81000250ULL),
			    "entry_one");
	assert_string_equal(kallsyms__lookup(k, 0xffffffff81000300ULL),
			    "weak_fn");
	assert_string_equal(kallsyms__lookup(k, 0xffffffff81000600ULL),
			    "late_core");
	/* modules out of order, their [module] tag left out */
	assert_string_equal(kallsyms__lookup(k, 0xffffffffc0100010ULL),
			    "earlier_mod_fn");
	assert_string_equal(kallsyms__lookup(k, 0xffffffffc0201234ULL),
			    "mod_fn");
	kallsyms__free(k);

	/* only the addresses a profile has: the same names, none for others */
	{
		static const uint64_t want[] = {
			0xffffffff81000150ULL, 0xffffffff81000000ULL,
			0xffffffffc0100010ULL, 0xffffffff80000000ULL,
			0xffffffff81000600ULL, 0xffffffff81000150ULL,
			0xffffffff81000250ULL, 0xffffffffc0201234ULL,
		};
		struct kallsyms *all = kallsyms__new(path, NULL, 0);

		k = kallsyms__new(path, want, sizeof(want) / sizeof(*want));
		assert_non_null(k);
		assert_non_null(all);
		for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
			const char *a = kallsyms__lookup(all, want[i]);
			const char *b = kallsyms__lookup(k, want[i]);

			if (!a)
				assert_null(b);
			else
				assert_string_equal(a, b);
		}
		assert_null(kallsyms__lookup(k, 0xffffffff81000100ULL));
		kallsyms__free(all);
		kallsyms__free(k);
	}
	unlink(path);
	free(path);

	/* hidden addresses (an unprivileged reader): an empty table */
	path = write_tmp("0000000000000000 T _text\n0000000000000000 t f\n");
	k = kallsyms__new(path, NULL, 0);
	assert_non_null(k);
	assert_null(kallsyms__lookup(k, 0x1000));
	kallsyms__free(k);
	unlink(path);
	free(path);
}

static void test_not_regular(void **state)
{
	char path[] = "/tmp/cgoprof-kallsyms-fifo-XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	/* opened without blocking, and refused */
	assert_null(kallsyms__new(path, NULL, 0));
	assert_int_equal(errno, EINVAL);
	unlink(path);
	assert_null(kallsyms__new("/nonexistent/kallsyms", NULL, 0));
	assert_int_equal(errno, ENOENT);
}

/* The running kernel's table: each text symbol's address names one of the
 * text symbols at that address (there may be several). Where addresses
 * are hidden (not root) there is nothing to check. */
struct entry {
	unsigned long long addr;
	char name[128];
};

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int test_proc_low;

static char cache_dir[] = "/tmp/cgoprof-kcache-XXXXXX";

static void rm_cache(void)
{
	DIR *d = opendir(cache_dir);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' || strlen(de->d_name) > 2)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

static void test_proc(void **state)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	struct kallsyms *k = kallsyms__new(NULL, NULL, 0);
	struct entry *e = NULL;
	size_t n = 0, cap = 0;
	unsigned long long max_core = 0;
	char line[512];

	assert_non_null(f);
	assert_non_null(k);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long addr;
		char type, name[128];

		if (sscanf(line, "%llx %c %127s", &addr, &type, name) != 3 ||
		    !addr || !strchr("tTwW", type))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			e = realloc(e, cap * sizeof(*e));
			assert_non_null(e);
		}
		e[n].addr = addr;
		snprintf(e[n].name, sizeof(e[n].name), "%s", name);
		if (!strchr(line, '[') && addr > max_core)
			max_core = addr;
		n++;
	}
	fclose(f);
	if (geteuid() == 0)
		assert_true(n > 1000);
	qsort(e, n, sizeof(*e), entry_cmp);
	for (size_t i = 0; i < n;) {
		const char *got = kallsyms__lookup(k, e[i].addr);
		size_t j = i;
		bool found = false;

		assert_non_null(got);
		for (; j < n && e[j].addr == e[i].addr; j++)
			found |= !strncmp(e[j].name, got, sizeof(e[j].name) - 1);
		if (!found)
			fail_msg("%llx: %s is no symbol there", e[i].addr, got);
		i = j;
	}
	/* the addresses a profile has, read for themselves: each symbol's
	 * address and one 37 bytes in, as the whole table names them */
	if (!n) {
		free(e);
		kallsyms__free(k);
		return;	/* hidden: nothing to read */
	}
	rm_cache();
	{
		size_t m = 0;
		uint64_t *want = malloc((2 * n + 1) * sizeof(*want));
		struct kallsyms *w;
		bool all_core = true;

		assert_non_null(want);
		for (size_t i = 0; i < n; i += 7) {
			want[m++] = e[i].addr;
			want[m++] = e[i].addr + 37;
		}
		/* all of them; then the lowest only, where the file is read
		 * no further than they need */
		if (*state == &test_proc_low)
			m = m < 500 ? m : 500;
		/* a module's, or past the last core kernel symbol (the
		 * cache knows no end of it): the file is read */
		for (size_t i = 0; i < m; i++)
			all_core &= want[i] <= max_core;
		/* read alone; then through a cache of this boot's, made by
		 * the first read and used by the second where every address
		 * is the core kernel's */
		for (int pass = 0; pass < 3; pass++) {
			struct cache_opts o;
			bool hit = false;

			/* CGOPROF_CACHE_DIR (main() sets it) and this
			 * boot's id */
			cache_opts__default(&o);
			assert_non_null(o.dir);
			assert_string_equal(o.dir, cache_dir);
			assert_true(strlen(o.boot_id) >= 32);
			if (!pass)
				o.dir = NULL;
			w = kallsyms__new_cached(NULL, &o, want, m, &hit);
			assert_non_null(w);
			if (pass < 2)
				assert_false(hit);
			else if (all_core)
				assert_true(hit);
			for (size_t i = 0; i < m; i++) {
				const char *a = kallsyms__lookup(k, want[i]);
				const char *b = kallsyms__lookup(w, want[i]);

				assert_non_null(a);
				assert_non_null(b);
				if (strcmp(a, b))
					fail_msg("%llx: %s, read alone (pass %d)"
						 " %s", (unsigned long long)want[i],
						 a, pass, b);
			}
			kallsyms__free(w);
		}
		free(want);
	}
	free(e);
	kallsyms__free(k);
}

/* Lines across the reads' blocks, a line longer than a block, a file
 * with no newline at its end. */
static void test_blocks(void **state)
{
	size_t cap = 4u << 20, len = 0;
	char *text = malloc(cap), *path;
	struct kallsyms *k;
	uint64_t want[3];

	(void)state;
	assert_non_null(text);
	/* a line of 300 000 bytes, then 100 000 symbols */
	len += (size_t)sprintf(text, "ffffffff80000000 T ");
	memset(text + len, 'x', 300000);
	len += 300000;
	text[len++] = '\n';
	for (unsigned i = 0; i < 100000; i++)
		len += (size_t)sprintf(text + len,
				       "%016llx t fn_%u\t[mod]\n",
				       0xffffffff81000000ULL + 16ULL * i, i);
	len += (size_t)sprintf(text + len, "ffffffffa0000000 T last");
	path = write_tmp(text);
	k = kallsyms__new(path, NULL, 0);
	assert_non_null(k);
	for (unsigned i = 0; i < 100000; i += 997) {
		char name[32];

		snprintf(name, sizeof(name), "fn_%u", i);
		assert_string_equal(
			kallsyms__lookup(k, 0xffffffff81000000ULL + 16ULL * i + 5),
			name);
	}
	assert_string_equal(kallsyms__lookup(k, 0xffffffffa0000010ULL), "last");
	/* the long line is no symbol */
	assert_null(kallsyms__lookup(k, 0xffffffff80000010ULL));
	kallsyms__free(k);
	want[0] = 0xffffffff81000000ULL + 16ULL * 54321 + 3;
	want[1] = 0xffffffffa0000001ULL;
	want[2] = 0xffffffff80000001ULL;
	k = kallsyms__new(path, want, 3);
	assert_non_null(k);
	assert_string_equal(kallsyms__lookup(k, want[0]), "fn_54321");
	assert_string_equal(kallsyms__lookup(k, want[1]), "last");
	assert_null(kallsyms__lookup(k, want[2]));
	kallsyms__free(k);
	unlink(path);
	free(path);
	free(text);
}

/* The cache on a crafted table: made by the first read, used by the next;
 * addresses outside the core kernel's text are read from the file; a
 * cache file that is not the caller's alone, is cut short, names past its
 * end or is another boot's is not used (and is replaced). */
static void check_names(const char *path, const struct cache_opts *o,
			const uint64_t *want, size_t n, bool expect_hit)
{
	struct kallsyms *all = kallsyms__new(path, NULL, 0);
	struct kallsyms *k;
	bool hit = !expect_hit;

	k = kallsyms__new_cached(path, o, want, n, &hit);
	assert_non_null(all);
	assert_non_null(k);
	assert_int_equal(hit, expect_hit);
	for (size_t i = 0; i < n; i++) {
		const char *a = kallsyms__lookup(all, want[i]);
		const char *b = kallsyms__lookup(k, want[i]);

		if (!a)
			assert_null(b);
		else if (!b || strcmp(a, b))
			fail_msg("%llx: %s, cached %s",
				 (unsigned long long)want[i], a, b ? b : "-");
	}
	kallsyms__free(all);
	kallsyms__free(k);
}

static void test_cache(void **state)
{
	static const char text[] =
		"ffffffff81000000 T _stext\n"
		"ffffffff81000000 T _text\n"
		"ffffffff81000100 t entry_one\n"
		"ffffffff81000200 D some_data\n"
		"ffffffff81000300 W weak_fn\n"
		"ffffffff81000400 t last_core\n"
		"ffffffffc0201000 t mod_fn\t[a_module]\n"
		"ffffffffc0100000 t earlier_mod_fn\t[b_module]\n";
	static const uint64_t core[] = {
		0xffffffff81000000ULL, 0xffffffff81000150ULL,
		0xffffffff81000250ULL, 0xffffffff81000300ULL,
		0xffffffff81000400ULL,
	};
	static const uint64_t mixed[] = {
		0xffffffff81000150ULL, 0xffffffffc0100010ULL,
		0xffffffff80000000ULL,
	};
	char *path = write_tmp(text), file[256], other[256];
	struct cache_opts o = { .dir = cache_dir };
	struct stat st;
	int fd;

	(void)state;
	rm_cache();
	snprintf(o.boot_id, sizeof(o.boot_id), "%s",
		 "11111111-2222-3333-4444-555555555555");
	snprintf(file, sizeof(file), "%s/kallsyms-%s", cache_dir, o.boot_id);
	check_names(path, &o, core, 5, false);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	check_names(path, &o, core, 5, true);
	/* a module's address: the file, and the right names */
	check_names(path, &o, mixed, 3, false);

	/* writable by others: not used, then replaced */
	assert_int_equal(chmod(file, 0622), 0);
	check_names(path, &o, core, 5, false);
	check_names(path, &o, core, 5, true);
	/* cut short */
	assert_int_equal(truncate(file, st.st_size - 1), 0);
	check_names(path, &o, core, 5, false);
	check_names(path, &o, core, 5, true);
	/* a name's offset past the names (the header is 80 bytes, the
	 * index of one block 8, then {address, name offset} each), and an
	 * index that disagrees with its block */
	for (int off = 80 + 8 + 8; off >= 80; off -= 16) {
		fd = open(file, O_WRONLY);
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "\x01\xff\xff\xff", 4, off), 4);
		close(fd);
		check_names(path, &o, core, 5, false);
		check_names(path, &o, core, 5, true);
	}
	/* a symlink in its place is not followed */
	assert_int_equal(unlink(file), 0);
	assert_int_equal(symlink("/proc/self/status", file), 0);
	check_names(path, &o, core, 5, false);
	assert_int_equal(lstat(file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	/* another boot: its own file; the old one goes */
	snprintf(other, sizeof(other), "%s", file);
	snprintf(o.boot_id, sizeof(o.boot_id), "%s",
		 "99999999-2222-3333-4444-555555555555");
	snprintf(file, sizeof(file), "%s/kallsyms-%s", cache_dir, o.boot_id);
	check_names(path, &o, core, 5, false);
	assert_int_equal(stat(file, &st), 0);
	assert_int_not_equal(stat(other, &st), 0);
	check_names(path, &o, core, 5, true);
	/* a directory others may write to: no cache at all */
	assert_int_equal(chmod(cache_dir, 0777), 0);
	check_names(path, &o, core, 5, false);
	assert_int_equal(chmod(cache_dir, 0700), 0);
	unlink(path);
	free(path);

	/* core symbols out of order, or a module's among them: no cache */
	rm_cache();
	path = write_tmp("ffffffff81000300 t b\nffffffff81000100 t a\n");
	check_names(path, &o, core, 5, false);
	assert_int_not_equal(stat(file, &st), 0);
	unlink(path);
	free(path);
	path = write_tmp("ffffffff81000100 t a\nffffffff81000200 t m\t[m]\n"
			 "ffffffff81000300 t b\n");
	check_names(path, &o, core, 5, false);
	assert_int_not_equal(stat(file, &st), 0);
	unlink(path);
	free(path);
}

/* Kernel frames of a profile: the sampled pc named at itself; a caller at
 * its return address - 1 (a call that ends a function returns to the next
 * one's first byte); a pc at a function's first byte with its padding
 * (__pfx_) before it is no return address (no call is in padding): an
 * interrupted pc, named at itself and written as itself. */
static void test_profile_kernel_frames(void **state)
{
	static const char text[] =
		"ffffffff81000000 T __pfx_f1\n"
		"ffffffff81000010 T f1\n"
		"ffffffff81000040 T __pfx_f2\n"
		"ffffffff81000050 T f2\n"
		"ffffffff81000080 T ends_in_call\n"
		"ffffffff810000a0 T next_fn\n";
	static const uint64_t pcs[] = {
		0xffffffff81000014ULL,	/* leaf, in f1 */
		0xffffffff81000050ULL,	/* interrupted at f2's first byte */
		0xffffffff810000a0ULL,	/* returns past ends_in_call */
		0xffffffff81000018ULL,	/* returns into f1 */
	};
	static const char *const want[] = { "f1", "f2", "ends_in_call", "f1" };
	static const bool written_as_is[] = { true, true, false, false };
	char *path = write_tmp(text);
	struct elf_cache *cache = elf_cache__new();
	struct procmap *pm = procmap__new(cache);
	struct unwind_result r = { .n = 4, .status = STACK_COMPLETE };
	struct profile_meta meta = { .command = "test", .event = "cpu-clock" };
	struct stack_table t;
	struct kallsyms *k;
	struct profile *p;
	uint64_t *kp = NULL;
	size_t n;

	(void)state;
	assert_non_null(pm);
	assert_int_equal(stack_table__init(&t), 0);
	for (int i = 0; i < 4; i++) {
		r.frames[i].pc = pcs[i];
		r.frames[i].flags = UNWIND_FRAME_KERNEL |
				    (i ? 0 : UNWIND_FRAME_LEAF);
	}
	assert_int_equal(stack_table__add(&t, 1, 1, &r, 1, NULL), 0);
	n = stack_table__kernel_pcs(&t, &kp);
	assert_non_null(kp);
	k = kallsyms__new(path, kp, n);
	free(kp);
	assert_non_null(k);
	p = stack_table__resolve(&t, pm, k, &meta);
	assert_non_null(p);
	assert_int_equal(p->nlocations, 4);
	for (size_t i = 0; i < p->nlocations; i++) {
		const struct profile_location *l = &p->locations[i];
		int j = 0;

		while (j < 4 && pcs[j] != l->address)
			j++;
		assert_true(j < 4);
		assert_int_equal(l->nframes, 1);
		assert_string_equal(l->frames[0].name, want[j]);
		assert_int_equal(l->is_leaf, written_as_is[j]);
	}
	profile__free(p);
	kallsyms__free(k);
	stack_table__release(&t);
	procmap__free(pm);
	elf_cache__free(cache);
	unlink(path);
	free(path);
}

/* The name /proc/kallsyms gives @addr: the last text symbol at or below
 * it, the oracle (copied into @out). */
static void file_name_at(uint64_t addr, char *out, size_t size)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	unsigned long long best = 0;
	char line[1024];

	assert_non_null(f);
	out[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a;
		char type, name[600];

		if (sscanf(line, "%llx %c %599s", &a, &type, name) != 3 ||
		    !a || !strchr("tTwW", type) || a > addr || a < best)
			continue;
		best = a;
		snprintf(out, size, "%s", name);
	}
	fclose(f);
}

/* A loaded program: its fd, and its first function's address and size. */
static int load_prog(const char *name, int btf_fd, uint32_t type_id,
		     uint64_t *addr, uint32_t *len)
{
	/* r0 = 0; exit */
	static const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct bpf_func_info fi = { .insn_off = 0, .type_id = type_id };
	LIBBPF_OPTS(bpf_prog_load_opts, opts);
	struct bpf_prog_info info;
	uint32_t size = sizeof(info);
	uint64_t ksym = 0;
	uint32_t flen = 0;
	int fd;

	if (btf_fd >= 0) {
		opts.prog_btf_fd = btf_fd;
		opts.func_info = &fi;
		opts.func_info_cnt = 1;
		opts.func_info_rec_size = sizeof(fi);
	}
	fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, name, "GPL", insns, 2,
			   &opts);
	if (fd < 0)
		fail_msg("%s: bpf_prog_load: %s", name, strerror(errno));
	memset(&info, 0, sizeof(info));
	info.nr_jited_ksyms = 1;
	info.jited_ksyms = (uint64_t)(uintptr_t)&ksym;
	info.nr_jited_func_lens = 1;
	info.jited_func_lens = (uint64_t)(uintptr_t)&flen;
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &size), 0);
	assert_true(ksym != 0 && flen > 0);
	*addr = ksym;
	*len = flen;
	return fd;
}

/* Addresses in BPF programs (a sample in a tracepoint's program, say)
 * are outside the core kernel's text, which the cache holds: they are
 * named from the kernel's account of its programs, as the file names
 * them, and the file is not read for them. One program has no BTF (its
 * name is the one given at load), one a BTF name longer than the 15
 * characters a program's own name keeps. */
static void test_bpf_programs(void **state)
{
	static const char long_name[] = "cgoprof_kallsyms_test_btf_name";
	struct btf *btf = btf__new_empty();
	uint64_t want[6], core = 0;
	uint64_t a1, a2;
	uint32_t l1, l2;
	struct cache_opts o;
	struct kallsyms *k;
	int int_id, proto, func, fd1, fd2;
	bool hit = false;
	char name[600];

	(void)state;
	if (geteuid() != 0)
		skip();	/* loading a program: root (CI runs as root) */
	assert_non_null(btf);
	int_id = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	proto = btf__add_func_proto(btf, int_id);
	func = btf__add_func(btf, long_name, BTF_FUNC_STATIC, proto);
	assert_true(int_id > 0 && proto > 0 && func > 0);
	assert_int_equal(btf__load_into_kernel(btf), 0);
	fd1 = load_prog("cgoprof_ktest", -1, 0, &a1, &l1);
	fd2 = load_prog("cgoprof_ktest2", btf__fd(btf), (uint32_t)func, &a2, &l2);

	/* a core kernel address, and this boot's cache made */
	{
		FILE *f = fopen("/proc/kallsyms", "re");
		char line[512];

		assert_non_null(f);
		while (!core && fgets(line, sizeof(line), f)) {
			unsigned long long a;
			char type, n[256];

			if (sscanf(line, "%llx %c %255s", &a, &type, n) == 3 &&
			    a && strchr("tT", type) && !strcmp(n, "schedule"))
				core = a + 4;
		}
		fclose(f);
	}
	assert_true(core != 0);
	rm_cache();
	cache_opts__default(&o);
	k = kallsyms__new_cached(NULL, &o, &core, 1, &hit);
	assert_non_null(k);
	assert_false(hit);
	kallsyms__free(k);

	want[0] = core;
	want[1] = a1;
	want[2] = a1 + l1 - 1;
	want[3] = a2 + 1;
	want[4] = a2 + l2 - 1;
	want[5] = core;
	k = kallsyms__new_cached(NULL, &o, want, 6, &hit);
	assert_non_null(k);
	assert_true(hit);	/* the file not read */
	for (size_t i = 0; i < 6; i++) {
		const char *got = kallsyms__lookup(k, want[i]);

		file_name_at(want[i], name, sizeof(name));
		assert_non_null(got);
		if (strcmp(got, name))
			fail_msg("%llx: %s, the file says %s",
				 (unsigned long long)want[i], got, name);
	}
	/* the two kinds of name, as the kernel makes them */
	assert_non_null(strstr(kallsyms__lookup(k, want[1]), "_cgoprof_ktest"));
	assert_non_null(strstr(kallsyms__lookup(k, want[3]), long_name));
	assert_int_equal(strncmp(kallsyms__lookup(k, want[3]), "bpf_prog_", 9), 0);
	kallsyms__free(k);

	close(fd1);
	close(fd2);
	btf__free(btf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crafted),
		cmocka_unit_test(test_not_regular),
		cmocka_unit_test(test_proc),
		cmocka_unit_test_prestate(test_proc, &test_proc_low),
		cmocka_unit_test(test_blocks),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_profile_kernel_frames),
		cmocka_unit_test(test_bpf_programs),
	};
	int failed;

	if (!mkdtemp(cache_dir) || setenv("CGOPROF_CACHE_DIR", cache_dir, 1))
		return 1;
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	rm_cache();
	rmdir(cache_dir);
	return failed;
}
