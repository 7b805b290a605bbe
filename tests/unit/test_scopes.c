// SPDX-License-Identifier: MIT
/* The index of DWARF units' top-level DIEs (elfobj_scopes.c) gives the
 * names libdw's walks give (dwarf_getscopes, dwarf_getscopes_die): the
 * same frames, inlined instances, files and lines, at addresses all over
 * libc (libc6-dbg's DWARF), this test's own binary (gcc -O2 -g: inlining
 * everywhere) and the C of a cgo binary; and it answers them itself. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <elfutils/libdwfl.h>

#include "cgoprof/elfobj.h"

static void frames_free(struct sym_frame *f, int n)
{
	for (int i = 0; i < n; i++) {
		free(f[i].name);
		free(f[i].file);
	}
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

struct tally {
	size_t compared, inlined, lines;
};

/* elf_obj__symbolize() of @fast (the index) and @slow (libdw's walks) at
 * @vaddr: the same frames. */
static void check_at(struct elf_obj *fast, struct elf_obj *slow,
		     const char *path, uint64_t vaddr, bool leaf,
		     struct tally *t)
{
	struct sym_frame f1[32], f2[32];
	int n1 = elf_obj__symbolize(fast, vaddr, leaf, f1, 32);
	int n2 = elf_obj__symbolize(slow, vaddr, leaf, f2, 32);

	if (n1 != n2)
		fail_msg("%s at %#llx: %d frames, libdw %d", path,
			 (unsigned long long)vaddr, n1, n2);
	for (int i = 0; i < n1; i++) {
		if (!same_str(f1[i].name, f2[i].name) ||
		    !same_str(f1[i].file, f2[i].file) ||
		    f1[i].line != f2[i].line ||
		    f1[i].inlined != f2[i].inlined || f1[i].kind != f2[i].kind)
			fail_msg("%s at %#llx frame %d: %s %s:%u%s, libdw "
				 "%s %s:%u%s",
				 path, (unsigned long long)vaddr, i,
				 f1[i].name, f1[i].file ? f1[i].file : "?",
				 f1[i].line, f1[i].inlined ? " (inlined)" : "",
				 f2[i].name, f2[i].file ? f2[i].file : "?",
				 f2[i].line, f2[i].inlined ? " (inlined)" : "");
		t->inlined += f1[i].inlined;
	}
	/* the line of a C address as libdwfl's own lookup gives it (Go's
	 * are the pclntab's: libdwfl gives them the C unit before them,
	 * Go writing no .debug_aranges) */
	if (n1 > 0 && slow->mod &&
	    !elf_obj__is_go_pc(fast, leaf ? vaddr : vaddr - 1)) {
		uint64_t pc = leaf ? vaddr : vaddr - 1;
		Dwfl_Line *l = dwfl_module_getsrc(slow->mod,
						  pc + slow->mod_bias);
		int line = 0;
		const char *file = l ? dwfl_lineinfo(l, NULL, &line, NULL,
						      NULL, NULL)
				     : NULL;

		if (l && (!same_str(file, f1[0].file) ||
			  (uint32_t)line != f1[0].line))
			fail_msg("%s at %#llx: %s:%u, libdwfl %s:%d", path,
				 (unsigned long long)vaddr,
				 f1[0].file ? f1[0].file : "?", f1[0].line,
				 file ? file : "?", line);
		t->lines += l != NULL;
	}
	frames_free(f1, n1 > 0 ? n1 : 0);
	frames_free(f2, n2 > 0 ? n2 : 0);
	t->compared++;
}

static struct elf_obj *open_obj(struct elf_cache *c, const char *path)
{
	struct stat st;
	struct elf_obj *o;
	struct sym_frame f[32];
	int n;

	assert_int_equal(stat(path, &st), 0);
	o = elf_cache__open(c, path, path, st.st_dev, st.st_ino);
	assert_non_null(o);
	/* reports the module */
	n = elf_obj__symbolize(o, o->entry, true, f, 32);
	frames_free(f, n > 0 ? n : 0);
	assert_non_null(o->mod);
	return o;
}

/* The two at offsets into @nsyms C functions of @path (0: all), spread
 * over its symbol table, and at @spread addresses over its executable segments,
 * each as a leaf and as a return address; at least @min_chains of them
 * in a DWARF unit. */
static struct tally chains_match_libdw(const char *path, int nsyms,
				       size_t spread, uint64_t min_chains)
{
	struct elf_cache *c1 = elf_cache__new(), *c2 = elf_cache__new();
	struct elf_obj *fast, *slow;
	struct tally t = { 0 };
	int n;

	assert_non_null(c1);
	assert_non_null(c2);
	fast = open_obj(c1, path);
	slow = open_obj(c2, path);
	slow->no_scope_index = true;
	n = dwfl_module_getsymtab(fast->mod);
	assert_true(n > 1);
	for (int i = 1; i < n; i += nsyms ? n / nsyms + 1 : 1) {
		GElf_Sym s;
		GElf_Addr v;
		const char *nm = dwfl_module_getsym_info(fast->mod, i, &s, &v,
							 NULL, NULL, NULL);
		uint64_t base = v - fast->mod_bias, sz = s.st_size;
		uint64_t probe[6] = { base, base + 1, base + sz / 4,
				      base + sz / 2, base + sz * 3 / 4,
				      base + (sz ? sz - 1 : 2) };

		/* C functions: Go's are named from the pclntab */
		if (!nm || s.st_shndx == SHN_UNDEF ||
		    GELF_ST_TYPE(s.st_info) != STT_FUNC ||
		    elf_obj__is_go_pc(fast, base))
			continue;
		for (size_t k = 0; k < 6; k++) {
			check_at(fast, slow, path, probe[k], true, &t);
			check_at(fast, slow, path, probe[k] + 1, false, &t);
		}
	}
	for (size_t i = 0; i < fast->nloads; i++) {
		const GElf_Phdr *ph = &fast->loads[i];

		if (!(ph->p_flags & PF_X) || !ph->p_memsz)
			continue;
		for (size_t k = 0; k < spread; k++)
			check_at(fast, slow, path,
				 ph->p_vaddr + ph->p_memsz * k / spread + k % 13,
				 k & 1, &t);
	}
	print_message("%s: %zu addresses, %zu inlined frames, %zu lines; "
		      "%llu chains left to libdw (%llu without the index), "
		      "%llu units to libdwfl (%llu)\n",
		      path, t.compared, t.inlined, t.lines,
		      (unsigned long long)fast->scopes_asked,
		      (unsigned long long)slow->scopes_asked,
		      (unsigned long long)fast->units_asked,
		      (unsigned long long)slow->units_asked);
	/* the oracle was libdw's, and the index answered (both were asked
	 * the same addresses: the one's count is how many had a unit) */
	assert_true(slow->scopes_asked >= min_chains);
	assert_true(fast->scopes_asked * 10 < slow->scopes_asked);
	assert_true(fast->units_asked * 10 < slow->units_asked);
	elf_cache__free(c1);
	elf_cache__free(c2);
	return t;
}

/* x_cgo_init of @path (cgo's C) named with its file and a line. */
static void lld_c_has_lines(const char *path)
{
	struct elf_cache *c = elf_cache__new();
	struct elf_obj *o;
	struct sym_frame f[32];
	int n, nsym;
	uint64_t at = 0;

	assert_non_null(c);
	o = open_obj(c, path);
	nsym = dwfl_module_getsymtab(o->mod);
	for (int i = 1; i < nsym && !at; i++) {
		GElf_Sym s;
		GElf_Addr v;
		const char *nm = dwfl_module_getsym_info(o->mod, i, &s, &v,
							 NULL, NULL, NULL);

		if (nm && !strcmp(nm, "x_cgo_init"))
			at = v - o->mod_bias;
	}
	assert_true(at != 0);
	assert_null(dwfl_module_getsrc(o->mod, at + o->mod_bias));
	n = elf_obj__symbolize(o, at, true, f, 32);
	assert_true(n >= 1);
	if (strcmp(f[n - 1].name, "x_cgo_init") || !f[0].file ||
	    !strstr(f[0].file, "gcc_linux_amd64.c") || !f[0].line)
		fail_msg("%s: x_cgo_init named %s at %s:%u", path,
			 f[n - 1].name, f[0].file ? f[0].file : "?",
			 f[0].line);
	frames_free(f, n);
	elf_cache__free(c);
}

static void test_inline_chains_as_libdw(void **state)
{
	const char *dir = getenv("CGOPROF_PCLNTAB_BINS");
	const char *fx = getenv("FIXTURES");
	char path[PATH_MAX];
	struct tally t;
	struct stat st;

	(void)state;
	/* libc6-dbg: DWARF 5, ranges lists, inlining into most functions */
	t = chains_match_libdw("/lib/x86_64-linux-gnu/libc.so.6", 1000, 400, 5000);
	assert_true(t.compared > 5000 && t.inlined > 800);
	t = chains_match_libdw("/proc/self/exe", 3000, 1000, 2000);
	assert_true(t.compared > 2000 && t.inlined > 400);
	if (!dir || !*dir) {
		print_message("CGOPROF_PCLNTAB_BINS unset: no cgo binary\n");
		return;
	}
	/* runtime/cgo's C, and the Go the index leaves to the pclntab:
	 * Go 1.26's linker and 1.19's; GNU ld's, gold's and lld's links,
	 * static-pie, and musl's libc linked in */
	static const char *const bins[] = {
		"go126-default", "go119-default", "go119-gold-pie",
		"go126-lld", "go126-lld-spie", "go119-musl",
	};

	for (size_t i = 0; i < sizeof(bins) / sizeof(bins[0]); i++) {

		snprintf(path, sizeof(path), "%s/%s", dir, bins[i]);
		t = chains_match_libdw(path, 0, 300, 100);
		assert_true(t.compared > 500);
	}
	/* lld's links: libdwfl finds no unit by .debug_aranges for cgo's C,
	 * the units' own ranges do (llvm-symbolizer agrees) */
	snprintf(path, sizeof(path), "%s/go126-lld", dir);
	lld_c_has_lines(path);
	/* SQLite's amalgamation, one unit of 8 000 DIEs at its top level,
	 * in a cgo binary: where the end-to-end tests have built it */
	snprintf(path, sizeof(path), "%s/go/sqlite-go1.26-default",
		 fx ? fx : "");
	if (fx && !stat(path, &st))
		chains_match_libdw(path, 0, 1000, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline_chains_as_libdw),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
