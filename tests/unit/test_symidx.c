// SPDX-License-Identifier: MIT
/* The symbol index (elf_obj__addrsym) names every address as libdwfl's own
 * search does, in system libraries and in binaries of every linker and
 * libc, and answers most addresses itself: libdwfl is asked only where no
 * sized symbol contains the address and a symbol without a size could be
 * the answer. */
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

/* elf_obj__addrsym() and dwfl_module_addrinfo() at dwfl address @a of
 * @o: the same name, offset and symbol. */
static void addrsym_check(struct elf_obj *o, const char *path, uint64_t a)
{
	uint64_t off1 = 0, off2 = 0;
	GElf_Sym s1 = { 0 }, s2 = { 0 };
	const char *n1 = elf_obj__addrsym(o, a, &off1, &s1);
	const char *n2 = dwfl_module_addrinfo(o->mod, a, &off2, &s2, NULL,
					      NULL, NULL);

	if (!n1 != !n2 || (n1 && (strcmp(n1, n2) || off1 != off2 ||
				  memcmp(&s1, &s2, sizeof(s1)))))
		fail_msg("%s at %#llx: %s+%llu, libdwfl %s+%llu", path,
			 (unsigned long long)a, n1 ? n1 : "(none)",
			 (unsigned long long)off1, n2 ? n2 : "(none)",
			 (unsigned long long)off2);
}

/* elf_obj__addrsym() against dwfl_module_addrinfo() (the oracle: the
 * search it replaces) at the edges of @nsyms symbols of @path, spread over
 * its table, and at @spread addresses spread over its executable
 * segments: the same name, offset and symbol. Returns how many addresses
 * were compared. */
static size_t addrsym_matches_libdwfl(const char *path, int nsyms,
				      size_t spread)
{
	struct elf_cache *c = elf_cache__new();
	struct elf_obj *o;
	struct stat st;
	size_t compared = 0;
	int n;

	assert_non_null(c);
	assert_int_equal(stat(path, &st), 0);
	o = elf_cache__open(c, path, path, st.st_dev, st.st_ino);
	assert_non_null(o);
	{
		uint64_t off;
		GElf_Sym sym;

		/* the first lookup reports the module and builds the index */
		elf_obj__addrsym(o, o->entry + o->mod_bias, &off, &sym);
	}
	assert_non_null(o->mod);
	assert_non_null(o->syms);
	n = dwfl_module_getsymtab(o->mod);
	assert_true(n > 1);
	/* libdwfl's search reads every symbol: a sample of them */
	for (int i = 1; i < n; i += n / nsyms + 1) {
		GElf_Sym s;
		GElf_Addr v;
		const char *nm = dwfl_module_getsym_info(o->mod, i, &s, &v, NULL,
							 NULL, NULL);
		uint64_t probe[8] = { v - 1, v, v + 1, v + s.st_size / 2,
				      v + s.st_size - 1, v + s.st_size,
				      v + s.st_size + 1, v + 16 };

		if (!nm || s.st_shndx == SHN_UNDEF)
			continue;
		for (size_t k = 0; k < 8; k++) {
			addrsym_check(o, path, probe[k]);
			compared++;
		}
	}
	for (size_t i = 0; i < o->nloads; i++) {
		const GElf_Phdr *ph = &o->loads[i];

		if (!(ph->p_flags & PF_X) || !ph->p_memsz)
			continue;
		for (size_t k = 0; k < spread; k++) {
			uint64_t a = ph->p_vaddr + o->mod_bias +
				     ph->p_memsz * k / spread + k % 7;

			addrsym_check(o, path, a);
			compared++;
		}
	}
	/* the index answered, not libdwfl: a lookup makes two calls of
	 * elf_obj__addrsym at most (the test's and the first one above) */
	print_message("%s: %zu addresses, %llu left to libdwfl\n", path,
		      compared, (unsigned long long)o->syms_asked);
	assert_true(o->syms_asked * 10 < compared);
	elf_cache__free(c);
	return compared;
}

/* libc and libsqlite3 as Debian ships them (.dynsym: every symbol global;
 * libc's debug file's .symtab, locals too, where it is installed), this
 * test's own binary (.symtab: locals, sizeless labels of crt1.o) and,
 * where the pclntab fixtures are built (make check builds them), Go
 * binaries linked by gold and lld, a static-pie one and musl's static one
 * (assembly functions without a size: libdwfl's choice is kept for them). */
static void test_symbol_index_names_as_libdwfl(void **state)
{
	static const char *const libs[] = {
		"/lib/x86_64-linux-gnu/libc.so.6",
		"/usr/lib/x86_64-linux-gnu/libsqlite3.so.0",
		"/proc/self/exe",
	};
	static const char *const bins[] = {
		"go119-musl", "go126-musl", "go126-lld", "go119-gold-pie",
		"go126-lld-spie", "go126-default",
	};
	const char *dir = getenv("CGOPROF_PCLNTAB_BINS");
	char path[PATH_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
		assert_true(addrsym_matches_libdwfl(libs[i], 600, 1500) > 1500);
	if (!dir || !*dir) {
		print_message("CGOPROF_PCLNTAB_BINS unset: system libraries "
			      "only\n");
		return;
	}
	for (size_t i = 0; i < sizeof(bins) / sizeof(bins[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, bins[i]);
		assert_true(addrsym_matches_libdwfl(path, 250, 500) > 500);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symbol_index_names_as_libdwfl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
