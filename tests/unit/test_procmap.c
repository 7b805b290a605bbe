// SPDX-License-Identifier: MIT
/* Address translation on the mappings the kernel really made: each binary
 * of tests/unit/pclntab-bins.sh (GNU ld, gold, lld; glibc and static musl;
 * dynamic, PIE, static-pie, and a PIE at a fixed base with 2 MiB gaps
 * between its segments, as prelink would leave it) is started under ptrace and stopped at its
 * first instruction, its /proc/PID/maps is read into a procmap, and every
 * function symbol of its .symtab is looked up at its run-time address: the
 * mapping found must translate it back to the symbol's link-time address,
 * and the symbolizer must name it as the symbol table does. The load bias
 * comes from the auxiliary vector (AT_ENTRY - e_entry), not from the
 * mappings under test. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgoprof/elfobj.h"
#include "cgoprof/procmap.h"
#include "gonames.h"

/* tag-variant names of tests/unit/pclntab-bins.sh: the unstripped ones */
static const char *const bins[] = {
    "go126-default",  "go126-pie",	"go126-nocgo",	  "go126-nocgo-pie",
    "go126-lld",      "go126-lld-pie",	"go126-lld-spie", "go126-lld-based",
    "go126-gold-pie", "go126-musl",	"go119-default",  "go119-pie",
    "go119-lld",      "go119-lld-pie",	"go119-lld-spie", "go119-lld-based",
    "go119-gold-pie", "go119-musl",
};

static const char *bins_dir(void)
{
	const char *dir = getenv("CGOPROF_PCLNTAB_BINS");

	return dir && *dir ? dir : "build/pclntab-bins";
}

/* Starts @path stopped at its first instruction. The child's pid. */
static pid_t start_stopped(const char *path)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = {(char *)path, NULL};

		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		execv(path, argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP)
		fail_msg("%s did not stop at exec (status %#x)", path, status);
	return pid;
}

static void stop_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static uint64_t auxv_entry(pid_t pid)
{
	char path[64];
	uint64_t av[2], entry = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	while (read(fd, av, sizeof(av)) == sizeof(av) && av[0] != AT_NULL)
		if (av[0] == AT_ENTRY)
			entry = av[1];
	close(fd);
	assert_true(entry != 0);
	return entry;
}

/* A frame named @got for the function whose symbol is @sym. */
static bool same_func(const char *got, const char *sym)
{
	char want[1024];

	return same_name(got, strip_abi(sym, want, sizeof(want)));
}

/* Whether some function symbol at @value (aliases: __libc_start_main and
 * __libc_start_main_impl) is the function named @got. */
static bool alias_named(Elf *elf, Elf_Data *data, const GElf_Shdr *sh,
			uint64_t value, const char *got)
{
	for (size_t i = 1; i < sh->sh_size / sizeof(Elf64_Sym); i++) {
		const char *sym;
		GElf_Sym s;

		if (!gelf_getsym(data, (int)i, &s) || s.st_value != value ||
		    (GELF_ST_TYPE(s.st_info) != STT_FUNC &&
		     GELF_ST_TYPE(s.st_info) != STT_GNU_IFUNC))
			continue;
		sym = elf_strptr(elf, sh->sh_link, s.st_name);
		if (sym && same_func(got, sym))
			return true;
	}
	return false;
}

/* tests/fixtures/pclntab/cgo.go's static C function tiny is inlined into
 * its cgo wrapper, whatever the compiler (gcc or clang): some pc of the
 * wrapper is [tiny (inlined, cgo.go), wrapper]. clang writes no
 * .debug_aranges, and Go's linker keeps only the ones it was given, so
 * clang-built CUs are found by their ranges or not at all. */
static void check_inlined_tiny(const char *bin, struct elf_obj *o,
			       const GElf_Sym *s, const char *sym)
{
	bool seen = false;

	for (uint64_t pc = s->st_value; pc < s->st_value + s->st_size; pc++) {
		struct sym_frame f[8];
		int n = elf_obj__symbolize(o, pc, true, f, 8);

		if (n == 2 && !strcmp(f[0].name, "tiny") && f[0].inlined &&
		    f[0].file && strstr(f[0].file, "cgo.go") &&
		    !strcmp(f[1].name, sym) && !f[1].inlined)
			seen = true;
		for (int k = 0; k < n; k++) {
			free(f[k].name);
			free(f[k].file);
		}
	}
	if (!seen)
		fail_msg("%s: no pc of %s is in tiny, inlined", bin, sym);
}

/* Where Go's g is, fs-relative, by the ELF alone: runtime.tlsg's offset in
 * the executable's TLS block, which x86-64 puts right below the thread
 * pointer, rounded up to its alignment; -8 without a PT_TLS or with one
 * of 8 bytes (Go's own linker, cmd/link: tlsoffset is -PtrSize on ELF).
 * 0: none of these. */
static int64_t g_tls_by_symbol(Elf *elf)
{
	uint64_t memsz = 0, align = 1;
	Elf_Scn *scn = NULL;
	bool tls = false;
	size_t nph;

	assert_int_equal(elf_getphdrnum(elf, &nph), 0);
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_TLS) {
			memsz = ph.p_memsz;
			align = ph.p_align ? ph.p_align : 1;
			tls = true;
		}
	}
	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 1; data && i < sh.sh_size / sizeof(Elf64_Sym); i++) {
			GElf_Sym sym;
			const char *nm;

			if (!gelf_getsym(data, (int)i, &sym) ||
			    GELF_ST_TYPE(sym.st_info) != STT_TLS)
				continue;
			nm = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (nm && !strcmp(nm, "runtime.tlsg"))
				return (int64_t)sym.st_value -
				       (int64_t)((memsz + align - 1) / align * align);
		}
	}
	/* Go's linker writes no runtime.tlsg symbol itself: a TLS block of
	 * one pointer is g's slot alone */
	return !tls || memsz == 8 ? -8 : 0;
}

/* The g slot elfobj finds in the code (what the snapshot program is told)
 * is the one the symbol table and PT_TLS give, stripped copy too: -8 with
 * runtime.tlsg alone in the executable's TLS, below glibc's TLS in a
 * static glibc build (-0x58). */
static void check_g_tls(struct elf_cache *cache, const char *name, Elf *elf,
			struct elf_obj *o)
{
	int64_t want = g_tls_by_symbol(elf);
	char path[4096];
	struct elf_obj *s;
	int32_t got = 0;

	if (!want)
		fail_msg("%s: no runtime.tlsg", name);
	if (elf_obj__go_g_tls(o, &got) || got != want)
		fail_msg("%s: g at fs%+d, the symbol says fs%+ld", name, got,
			 (long)want);
	snprintf(path, sizeof(path), "%s/%s-s", bins_dir(), name);
	if (access(path, F_OK))
		return;
	s = elf_cache__open(cache, path, path, 0, 0);
	assert_non_null(s);
	got = 0;
	if (elf_obj__go_g_tls(s, &got) || got != want)
		fail_msg("%s-s: g at fs%+d, the symbol says fs%+ld", name, got,
			 (long)want);
	printf("  %-18s g at fs%+ld (stripped copy too)\n", name, (long)want);
}

static void check_binary(const char *name)
{
	char path[4096];
	struct elf_cache *cache = elf_cache__new();
	struct procmap *pm = procmap__new(cache);
	size_t checked = 0, go = 0, c = 0, wrappers = 0;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	uint64_t base;
	struct proc *p;
	Elf *elf;
	pid_t pid;
	int fd;

	assert_non_null(cache);
	assert_non_null(pm);
	snprintf(path, sizeof(path), "%s/%s", bins_dir(), name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		fail_msg("%s: %s (built by tests/unit/pclntab-bins.sh)", path,
			 strerror(errno));
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	assert_non_null(gelf_getehdr(elf, &eh));

	pid = start_stopped(path);
	base = auxv_entry(pid) - eh.e_entry;
	assert_true(eh.e_type == ET_DYN || base == 0);
	assert_int_equal(procmap__load_proc(pm, (uint32_t)pid), 0);
	p = procmap__proc(pm, (uint32_t)pid, false);
	assert_non_null(p);
	{
		struct map *em = procmap__find(pm, p, base + eh.e_entry);

		assert_non_null(em);
		assert_non_null(em->obj);
		check_g_tls(cache, name, elf, em->obj);
	}

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		data = elf_getdata(scn, NULL);
		assert_non_null(data);
		for (size_t i = 1; i < sh.sh_size / sizeof(Elf64_Sym); i++) {
			struct sym_frame f[8];
			const char *sym;
			struct map *m;
			uint64_t pc;
			GElf_Sym s;
			int n;

			assert_non_null(gelf_getsym(data, (int)i, &s));
			if (GELF_ST_TYPE(s.st_info) != STT_FUNC ||
			    s.st_shndx == SHN_UNDEF || s.st_size == 0)
				continue;
			sym = elf_strptr(elf, sh.sh_link, s.st_name);
			assert_non_null(sym);
			pc = base + s.st_value;
			m = procmap__find(pm, p, pc);
			if (!m || !m->obj)
				fail_msg("%s: %s at %#lx: no mapping with an "
					 "object",
					 name, sym, (unsigned long)pc);
			if (pc - m->bias != s.st_value)
				fail_msg("%s: %s at %#lx translates to %#lx, "
					 "not %#lx",
					 name, sym, (unsigned long)pc,
					 (unsigned long)(pc - m->bias),
					 (unsigned long)s.st_value);
			n = elf_obj__symbolize(m->obj, s.st_value, true, f, 8);
			if (n <= 0 ||
			    !alias_named(elf, data, &sh, s.st_value,
					 f[n - 1].name))
				fail_msg("%s: %#lx is %s, named %s", name,
					 (unsigned long)s.st_value, sym,
					 n > 0 ? f[n - 1].name : "(nothing)");
			if (elf_obj__is_go_pc(m->obj, s.st_value))
				go++;
			else
				c++;
			if (strstr(sym, "_Cfunc_tiny") && !strstr(sym, ".")) {
				check_inlined_tiny(name, m->obj, &s, sym);
				wrappers++;
			}
			for (int k = 0; k < n; k++) {
				free(f[k].name);
				free(f[k].file);
			}
			checked++;
		}
	}
	printf("  %-18s base %#lx: %zu symbols (%zu Go, %zu C) at the "
	       "right address and name\n",
	       name, (unsigned long)base, checked, go, c);
	assert_true(go > 100);
	/* cgo binaries have C functions; the nocgo ones have none */
	assert_true(c > 0 || strstr(name, "nocgo"));
	assert_int_equal(wrappers, strstr(name, "nocgo") ? 0 : 1);
	stop_child(pid);
	elf_end(elf);
	close(fd);
	procmap__free(pm);
	elf_cache__free(cache);
}

static void test_procmap__every_layout_translates_symbols(void **state)
{
	(void)state;
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	for (size_t i = 0; i < sizeof(bins) / sizeof(bins[0]); i++)
		check_binary(bins[i]);
}

/* The kernel reserves a whole PIE image with its first segment's
 * permissions (one mmap of the total size, RX for gold's layout), then maps
 * the RW segment over the rest: the record of that first mmap covers the
 * data too, and no record tells of the data mapping. A pc in the data
 * segment (a word of runtime.m0 read as a return address) must not be in
 * the executable mapping: the mapping ends with its segment. Before, the
 * RX mapping covered runtime.m0 and the unwinder named its words. */
static void test_procmap__reserved_image_cut_to_segment(void **state)
{
	struct elf_cache *cache = elf_cache__new();
	struct procmap *pm = procmap__new(cache);
	const uint64_t base = 0x555555554000ULL;
	uint64_t rx_end = 0, rw_lo = 0, total = 0;
	char path[4096];
	struct stat st;
	struct proc *p;
	struct map *m;
	GElf_Ehdr eh;
	size_t nph;
	Elf *elf;
	int fd;

	(void)state;
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	snprintf(path, sizeof(path), "%s/go126-gold-pie", bins_dir());
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(gelf_getehdr(elf, &eh));
	assert_int_equal(elf_getphdrnum(elf, &nph), 0);
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		assert_non_null(gelf_getphdr(elf, (int)i, &ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_flags & PF_X)
			rx_end = ph.p_vaddr + ph.p_memsz;
		else if ((ph.p_flags & PF_W) && !rw_lo)
			rw_lo = ph.p_vaddr;
		if (ph.p_vaddr + ph.p_memsz > total)
			total = ph.p_vaddr + ph.p_memsz;
	}
	/* gold: the executable segment first, the data after it */
	assert_true(rx_end && rw_lo > rx_end);
	total = (total + 4095) & ~4095ULL;
	assert_int_equal(procmap__mmap(pm, 4242, base, total, 0, st.st_dev,
				       st.st_ino, PROT_READ | PROT_EXEC, path), 0);
	p = procmap__proc(pm, 4242, false);
	assert_non_null(p);
	m = procmap__find(pm, p, base + eh.e_entry);
	assert_non_null(m);
	assert_non_null(m->obj);
	assert_int_equal(m->bias, base);
	assert_true(m->end <= base + ((rx_end + 4095) & ~4095ULL));
	assert_null(procmap__find(pm, p, base + rw_lo + 0x100));
	assert_null(procmap__find(pm, p, base + total - 8));
	elf_end(elf);
	close(fd);
	procmap__free(pm);
	elf_cache__free(cache);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_procmap__every_layout_translates_symbols),
	    cmocka_unit_test(test_procmap__reserved_image_cut_to_segment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
