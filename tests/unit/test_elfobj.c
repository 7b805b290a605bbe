// SPDX-License-Identifier: MIT
/* The ELF cache on the one image every process has: the vdso. Its copy is
 * read through the same bounded path as a file's image. Files that are not
 * regular files are refused without blocking; a file that shrinks after it
 * was opened gives errors, not SIGBUS. A library without section headers
 * (its symbols only behind PT_DYNAMIC) keeps its names, unless its dynamic
 * string table does not end in a NUL. Compressed debug sections give the
 * names and lines uncompressed ones do; a .debug_line_str without its last
 * NUL, compressed or not or under its LTO name, is read no further than its
 * end (the sanitizer build checks that), nor is a symbol table's string
 * table, named or not. A debug file's compressed DWARF is inflated once,
 * then read from cgoprof's cache while it matches. */
#include <errno.h>
#include <fnmatch.h>
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

static int find_libz(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	if (strstr(info->dlpi_name, "/libz.so")) {
		snprintf(data, PATH_MAX, "%s", info->dlpi_name);
		return 1;
	}
	return 0;
}

static uint64_t vaddr_to_off(const uint8_t *img, uint64_t vaddr)
{
	const Elf64_Ehdr *eh = (const void *)img;
	const Elf64_Phdr *ph = (const void *)(img + eh->e_phoff);

	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && vaddr >= ph[i].p_vaddr &&
		    vaddr - ph[i].p_vaddr < ph[i].p_filesz)
			return vaddr - ph[i].p_vaddr + ph[i].p_offset;
	fail_msg("0x%lx is in no segment", (unsigned long)vaddr);
	return 0;
}

/* The name of the symbol at @vaddr in the copy @img of @len bytes, written
 * to a file and opened; NULL for none. */
static char *name_at(const uint8_t *img, size_t len, uint64_t vaddr)
{
	char path[] = "/tmp/cgoprof-test-elf-XXXXXX", *name = NULL;
	struct elf_cache *c = elf_cache__new();
	struct sym_frame fr[8];
	struct elf_obj *o;
	int fd = mkstemp(path), n;

	assert_true(fd >= 0 && c);
	assert_int_equal(write(fd, img, len), (ssize_t)len);
	close(fd);
	o = elf_cache__open(c, path, path, 5, 5);
	assert_non_null(o);
	n = elf_obj__symbolize(o, vaddr, true, fr, 8);
	for (int i = 0; i < n; i++) {
		if (!i)
			name = fr[i].name;
		else
			free(fr[i].name);
		free(fr[i].file);
	}
	unlink(path);
	elf_cache__free(c);
	return name;
}

/* libz (this test links it) with its section headers gone: libdwfl reads
 * its symbols through PT_DYNAMIC. Then the same with the dynamic string
 * table's last NUL overwritten and a function's name moved onto that last,
 * unterminated string: libdwfl would hand out a name that runs past its
 * buffer (a fuzzer found this); cgoprof must not read it. */
static void test_dynamic_symbols_without_sections_are_bounded(void **state)
{
	char lib[PATH_MAX] = "", *name;
	uint64_t strtab = 0, strsz = 0, symtab = 0, stroff, symoff, last;
	const Elf64_Phdr *ph;
	Elf64_Ehdr *eh;
	Elf64_Sym *fn = NULL;
	struct stat st;
	uint8_t *img;
	int fd;

	(void)state;
	dl_iterate_phdr(find_libz, lib);
	assert_true(lib[0]);
	fd = open(lib, O_RDONLY);
	assert_true(fd >= 0 && !fstat(fd, &st) && st.st_size > 4096);
	img = malloc((size_t)st.st_size);
	assert_non_null(img);
	assert_int_equal(pread(fd, img, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	eh = (void *)img;
	ph = (const void *)(img + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Dyn *dyn;

		if (ph[i].p_type != PT_DYNAMIC)
			continue;
		for (dyn = (const void *)(img + ph[i].p_offset);
		     dyn->d_tag != DT_NULL; dyn++) {
			if (dyn->d_tag == DT_STRTAB)
				strtab = dyn->d_un.d_ptr;
			else if (dyn->d_tag == DT_STRSZ)
				strsz = dyn->d_un.d_val;
			else if (dyn->d_tag == DT_SYMTAB)
				symtab = dyn->d_un.d_ptr;
		}
	}
	assert_true(strtab && strsz > 2 && symtab && symtab < strtab);
	stroff = vaddr_to_off(img, strtab);
	symoff = vaddr_to_off(img, symtab);
	/* the first defined function of .dynsym (it comes before .dynstr) */
	for (uint64_t off = symoff + sizeof(*fn); off + sizeof(*fn) <= stroff;
	     off += sizeof(*fn)) {
		Elf64_Sym *s = (void *)(img + off);

		if (ELF64_ST_TYPE(s->st_info) == STT_FUNC && s->st_shndx &&
		    s->st_value && s->st_size > 1 && s->st_name < strsz) {
			fn = s;
			break;
		}
	}
	assert_non_null(fn);
	eh->e_shoff = 0;
	eh->e_shnum = 0;
	eh->e_shstrndx = 0;

	/* a well-formed table: the function's own name */
	name = name_at(img, (size_t)st.st_size, fn->st_value + 1);
	assert_non_null(name);
	assert_string_equal(name, (const char *)img + stroff + fn->st_name);
	free(name);

	/* the last string without its NUL, and the function named by it */
	assert_int_equal(img[stroff + strsz - 1], 0);
	for (last = strsz - 2; last && img[stroff + last - 1]; last--)
		;
	fn->st_name = (Elf64_Word)last;
	img[stroff + strsz - 1] = 'A';
	name = name_at(img, (size_t)st.st_size, fn->st_value + 1);
	assert_null(name);
	free(img);
}

static int find_main(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	*(uintptr_t *)data = info->dlpi_addr;	/* the first: the program */
	return 1;
}

/* Copies this test's binary to @out, with @ops applied by objcopy if not
 * NULL. */
static void copy_self(const char *out, const char *ops)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "cp /proc/%d/exe %s", (int)getpid(), out);
	assert_int_equal(system(cmd), 0);
	if (ops) {
		snprintf(cmd, sizeof(cmd), "objcopy %s %s", ops, out);
		assert_int_equal(system(cmd), 0);
	}
}

/* The outermost name and the file of @vaddr in @path, NULL where it has
 * none; how many frames. */
static int symbolize_outer(const char *path, uint64_t vaddr, char **name,
			   char **file)
{
	struct elf_cache *c = elf_cache__new();
	struct sym_frame fr[8];
	struct elf_obj *o;
	int n;

	assert_non_null(c);
	o = elf_cache__open(c, path, path, 6, 6);
	assert_non_null(o);
	n = elf_obj__symbolize(o, vaddr, true, fr, 8);
	*name = n > 0 && fr[n - 1].name ? strdup(fr[n - 1].name) : NULL;
	*file = n > 0 && fr[n - 1].file ? strdup(fr[n - 1].file) : NULL;
	for (int i = 0; i < n; i++) {
		free(fr[i].name);
		free(fr[i].file);
	}
	elf_cache__free(c);
	return n;
}

/* The same, where @vaddr must have a name. */
static void symbolize_file(const char *path, uint64_t vaddr, char **name,
			   char **file)
{
	assert_true(symbolize_outer(path, vaddr, name, file) > 0);
	assert_non_null(*name);
}

/* The address of this test's function test_truncated_file_gives_errors_
 * not_sigbus (inside it) in its binary's addresses. */
static uint64_t self_vaddr(void)
{
	uintptr_t bias = 0;

	dl_iterate_phdr(find_main, &bias);
	return (uintptr_t)test_truncated_file_gives_errors_not_sigbus + 4 -
	       bias;
}

/* A new empty file at @path, a mkstemp() template. */
static void temp_file(char *path)
{
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
}

/* Overwrites every NUL of section @want of the ELF file @path, and if
 * @type is not 0, gives the section that type and those @flags. */
static void patch_section(const char *path, const char *want, uint32_t type,
			  uint64_t flags)
{
	int fd = open(path, O_RDWR);
	Elf64_Ehdr eh;
	Elf64_Shdr sh, strsh;
	char name[64];
	bool done = false;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &eh, sizeof(eh), 0), (ssize_t)sizeof(eh));
	assert_int_equal(pread(fd, &strsh, sizeof(strsh),
			       (off_t)(eh.e_shoff + eh.e_shstrndx * sizeof(sh))),
			 (ssize_t)sizeof(strsh));
	for (unsigned i = 1; i < eh.e_shnum && !done; i++) {
		off_t at = (off_t)(eh.e_shoff + i * sizeof(sh));

		assert_int_equal(pread(fd, &sh, sizeof(sh), at),
				 (ssize_t)sizeof(sh));
		memset(name, 0, sizeof(name));
		assert_true(pread(fd, name, sizeof(name) - 1,
				  (off_t)(strsh.sh_offset + sh.sh_name)) > 0);
		if (strcmp(name, want) || !sh.sh_size)
			continue;
		/* every NUL: whichever string is read runs to the end */
		for (uint64_t k = 0; k < sh.sh_size; k++) {
			char c;

			assert_int_equal(pread(fd, &c, 1, (off_t)(sh.sh_offset + k)), 1);
			if (!c)
				assert_int_equal(pwrite(fd, "A", 1,
							(off_t)(sh.sh_offset + k)), 1);
		}
		if (type) {
			sh.sh_type = type;
			sh.sh_flags = flags;
			assert_int_equal(pwrite(fd, &sh, sizeof(sh), at),
					 (ssize_t)sizeof(sh));
		}
		done = true;
	}
	close(fd);
	if (!done)
		fail_msg("%s has no %s", path, want);
}

static void clobber_section(const char *path, const char *want)
{
	patch_section(path, want, 0, 0);
}

/* The outermost name of @vaddr in @path, NULL if it has none. */
static char *symbol_of(const char *path, uint64_t vaddr)
{
	char *name, *file;

	symbolize_outer(path, vaddr, &name, &file);
	free(file);
	return name;
}

/* In the ELF file @path: the symbol @fn renamed to the last string of
 * .strtab (its part after a "@" if it has one), whose last NUL is
 * overwritten, and .strtab's own name made ""
 * (libdwfl finds it by .symtab's link, not by name). That last string,
 * into @last. */
static void nameless_strtab(const char *path, const char *fn, char *last,
			    size_t size)
{
	int fd = open(path, O_RDWR);
	Elf64_Ehdr eh;
	Elf64_Shdr *sh;
	char *strs, *shstr;
	uint64_t str = 0, sym = 0, lastoff;
	bool renamed = false;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &eh, sizeof(eh), 0), (ssize_t)sizeof(eh));
	sh = calloc(eh.e_shnum, sizeof(*sh));
	assert_non_null(sh);
	assert_int_equal(pread(fd, sh, eh.e_shnum * sizeof(*sh),
			       (off_t)eh.e_shoff),
			 (ssize_t)(eh.e_shnum * sizeof(*sh)));
	shstr = malloc(sh[eh.e_shstrndx].sh_size);
	assert_non_null(shstr);
	assert_true(pread(fd, shstr, sh[eh.e_shstrndx].sh_size,
			  (off_t)sh[eh.e_shstrndx].sh_offset) > 0);
	for (unsigned i = 1; i < eh.e_shnum; i++) {
		if (!strcmp(shstr + sh[i].sh_name, ".strtab"))
			str = i;
		else if (!strcmp(shstr + sh[i].sh_name, ".symtab"))
			sym = i;
	}
	assert_true(str && sym && sh[sym].sh_link == str &&
		    sh[str].sh_size > 2);
	strs = malloc(sh[str].sh_size);
	assert_non_null(strs);
	assert_int_equal(pread(fd, strs, sh[str].sh_size,
			       (off_t)sh[str].sh_offset),
			 (ssize_t)sh[str].sh_size);
	lastoff = sh[str].sh_size - 1;
	while (lastoff && strs[lastoff - 1] && strs[lastoff - 1] != '@')
		lastoff--;
	snprintf(last, size, "%s", strs + lastoff);
	assert_true(*last);
	for (uint64_t k = 0; k < sh[sym].sh_size / sizeof(Elf64_Sym); k++) {
		off_t at = (off_t)(sh[sym].sh_offset + k * sizeof(Elf64_Sym));
		Elf64_Sym s;

		assert_int_equal(pread(fd, &s, sizeof(s), at), (ssize_t)sizeof(s));
		if (s.st_name >= sh[str].sh_size || strcmp(strs + s.st_name, fn))
			continue;
		s.st_name = (Elf64_Word)lastoff;
		assert_int_equal(pwrite(fd, &s, sizeof(s), at), (ssize_t)sizeof(s));
		renamed = true;
	}
	assert_true(renamed);
	assert_int_equal(pwrite(fd, "A", 1, (off_t)(sh[str].sh_offset +
						   sh[str].sh_size - 1)), 1);
	sh[str].sh_name = 0;
	assert_int_equal(pwrite(fd, &sh[str], sizeof(*sh),
				(off_t)(eh.e_shoff + str * sizeof(*sh))),
			 (ssize_t)sizeof(*sh));
	free(strs);
	free(shstr);
	free(sh);
	close(fd);
}

/* The strings of a symbol table are read no further than their section
 * (the sanitizer build checks that). Without DWARF, the names come from
 * .symtab alone.
 * - A string table with no name still has its last string ended, by a
 *   NUL in place of its last byte: the symbol named by it gets that name.
 * - Strings in a section that is not a string table, or in one compressed
 *   past reading: their names are not used. */
static void test_symtab_strings_bounded(void **state)
{
	char path[] = "/tmp/cgoprof-test-elf-XXXXXX", last[256];
	const char *fn = "test_truncated_file_gives_errors_not_sigbus";
	const struct { uint32_t type; uint64_t flags; } cases[] = {
		{SHT_PROGBITS, 0},
		{SHT_STRTAB, SHF_COMPRESSED},
	};
	uint64_t vaddr = self_vaddr();
	char *name;

	(void)state;
	temp_file(path);
	copy_self(path, "--strip-debug");
	name = symbol_of(path, vaddr);
	assert_non_null(name);
	assert_string_equal(name, fn);
	free(name);

	copy_self(path, "--strip-debug");
	nameless_strtab(path, fn, last, sizeof(last));
	name = symbol_of(path, vaddr);
	assert_non_null(name);
	assert_string_equal(name, last);
	free(name);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		copy_self(path, "--strip-debug");
		patch_section(path, ".strtab", cases[i].type, cases[i].flags);
		name = symbol_of(path, vaddr);
		if (name)
			fail_msg("case %zu: named %.80s", i, name);
	}
	unlink(path);
}

/* objcopy's renames of the DWARF sections to their LTO names */
static const char lto_names[] =
	"--rename-section .debug_info=.gnu.debuglto_.debug_info "
	"--rename-section .debug_abbrev=.gnu.debuglto_.debug_abbrev "
	"--rename-section .debug_line=.gnu.debuglto_.debug_line "
	"--rename-section .debug_str=.gnu.debuglto_.debug_str "
	"--rename-section .debug_line_str=.gnu.debuglto_.debug_line_str "
	"--rename-section .debug_aranges=.gnu.debuglto_.debug_aranges "
	"--rename-section .debug_rnglists=.gnu.debuglto_.debug_rnglists "
	"--rename-section .debug_loclists=.gnu.debuglto_.debug_loclists";

static void test_debug_sections_compressed_or_cut(void **state)
{
	char plain[] = "/tmp/cgoprof-test-elf-XXXXXX";
	char packed[] = "/tmp/cgoprof-test-elf-XXXXXX";
	uint64_t vaddr = self_vaddr();
	char *name, *file, *zname, *zfile;

	(void)state;
	temp_file(plain);
	temp_file(packed);

	/* compressed: the same name and file */
	copy_self(plain, NULL);
	copy_self(packed, "--compress-debug-sections=zlib");
	symbolize_file(plain, vaddr, &name, &file);
	symbolize_file(packed, vaddr, &zname, &zfile);
	assert_string_equal(name, "test_truncated_file_gives_errors_not_sigbus");
	assert_non_null(file);
	assert_non_null(strstr(file, "test_elfobj.c"));
	assert_string_equal(zname, name);
	assert_non_null(zfile);
	assert_string_equal(zfile, file);
	free(zname);
	free(zfile);
	free(file);

	/* .debug_line_str without a NUL, as it is and compressed: the
	 * function is still named, and nothing reads past the section */
	clobber_section(plain, ".debug_line_str");
	symbolize_file(plain, vaddr, &zname, &zfile);
	assert_string_equal(zname, name);
	free(zname);
	free(zfile);
	copy_self(packed, NULL);
	clobber_section(packed, ".debug_line_str");
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd),
			 "objcopy --compress-debug-sections=zlib %s", packed);
		assert_int_equal(system(cmd), 0);
	}
	symbolize_file(packed, vaddr, &zname, &zfile);
	assert_string_equal(zname, name);
	free(zname);
	free(zfile);

	/* the same sections under the names libdw takes in a file with only
	 * LTO sections, .debug_line_str without a NUL and without the
	 * SHF_STRINGS flag: read no further than its end either */
	copy_self(plain, lto_names);
	patch_section(plain, ".gnu.debuglto_.debug_line_str", SHT_PROGBITS, 0);
	symbolize_file(plain, vaddr, &zname, &zfile);
	assert_string_equal(zname, name);
	assert_non_null(zfile);
	free(zname);
	free(zfile);

	free(name);
	unlink(plain);
	unlink(packed);
}

/* Replaces every @from of the file @path with @to (as long). The count. */
static int replace_bytes(const char *path, const char *from, const char *to)
{
	size_t len = strlen(from), size;
	FILE *f = fopen(path, "r+b");
	char *buf;
	int n = 0;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = (size_t)ftell(f);
	buf = malloc(size);
	assert_non_null(buf);
	rewind(f);
	assert_int_equal(fread(buf, 1, size, f), size);
	for (size_t i = 0; i + len <= size; i++)
		if (!memcmp(buf + i, from, len)) {
			memcpy(buf + i, to, len);
			n++;
		}
	rewind(f);
	assert_int_equal(fwrite(buf, 1, size, f), size);
	fclose(f);
	free(buf);
	return n;
}

/* The flags word of the cache file @path's header. */
static uint32_t header_flags(const char *path)
{
	int fd = open(path, O_RDONLY);
	uint32_t flags = 0;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &flags, 4, 12), 4);
	close(fd);
	return flags;
}

/* Changes the CRC of every entry of the cache file @path, but those of
 * string sections with @keep_strings. The header: magic, count, pad; then
 * 56-byte entries, each a name (24 bytes), the compressed size and the
 * CRC (at 32). */
static void flip_crcs(const char *path, bool keep_strings)
{
	int fd = open(path, O_RDWR);
	uint32_t n;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &n, 4, 8), 4);
	assert_true(n >= 1 && n <= 16);
	for (uint32_t i = 0; i < n; i++) {
		char name[24];
		uint32_t crc;
		off_t at = 16 + 56 * (off_t)i;

		assert_int_equal(pread(fd, name, 24, at), 24);
		if (keep_strings && (!strcmp(name, ".debug_str") ||
				     !strcmp(name, ".debug_line_str")))
			continue;
		assert_int_equal(pread(fd, &crc, 4, at + 32), 4);
		crc ^= 1;
		assert_int_equal(pwrite(fd, &crc, 4, at + 32), 4);
	}
	close(fd);
}

/* A temporary directory DIR for a test of the DWARF cache, with
 * CGOPROF_CACHE_DIR set to DIR/cache until cache_test_end(). */
struct cache_test {
	char dir[64], cache[128], prog[128], *old_env;
};

static void cache_test_begin(struct cache_test *t)
{
	const char *env = getenv("CGOPROF_CACHE_DIR");

	snprintf(t->dir, sizeof(t->dir), "/tmp/cgoprof-test-dbg-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->cache, sizeof(t->cache), "%s/cache", t->dir);
	snprintf(t->prog, sizeof(t->prog), "%s/prog", t->dir);
	t->old_env = env ? strdup(env) : NULL;
	setenv("CGOPROF_CACHE_DIR", t->cache, 1);
}

static void cache_test_end(struct cache_test *t)
{
	char cmd[128];

	if (t->old_env)
		setenv("CGOPROF_CACHE_DIR", t->old_env, 1);
	else
		unsetenv("CGOPROF_CACHE_DIR");
	free(t->old_env);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	assert_int_equal(system(cmd), 0);
}

/* The path of the cache file of t's program in @out: the one "dbg-*" file
 * whose name is longer than the 8 bytes the tests' own are given. */
static void cached_file(const struct cache_test *t, char *out, size_t size)
{
	DIR *d = opendir(t->cache);
	struct dirent *e;

	out[0] = 0;
	assert_non_null(d);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "dbg-", 4) && strlen(e->d_name) > 8) {
			assert_false(out[0]);
			snprintf(out, size, "%s/%s", t->cache, e->d_name);
		}
	closedir(d);
	assert_true(out[0]);
}

/* @vaddr in @prog is named @fn, and its file ends in @file (NULL: none),
 * after @touch (not NULL) was touched. */
static void expect_sym(const char *prog, uint64_t vaddr, const char *touch,
		       const char *fn, const char *file)
{
	char cmd[256], *name, *got;

	if (touch) {
		snprintf(cmd, sizeof(cmd), "sleep 0.01; touch %s", touch);
		assert_int_equal(system(cmd), 0);
	}
	symbolize_file(prog, vaddr, &name, &got);
	assert_string_equal(name, fn);
	if (file) {
		assert_non_null(got);
		assert_true(strlen(got) >= strlen(file));
		assert_string_equal(got + strlen(got) - strlen(file), file);
	} else {
		assert_null(got);
	}
	free(name);
	free(got);
}

/* A debug file with compressed DWARF (found by .gnu_debuglink) is read
 * from cgoprof's cache after its first use: the cache's bytes are what is
 * read (a name changed in them shows), while the file is the same one, or
 * its sections' compressed bytes have the CRCs of the cache's entries (a
 * CRC changed: inflated again, and the cache file written again). Writing
 * one removes those not used for 30 days, and the least recently used
 * while they take more than 512 MiB. */
static void test_debug_file_dwarf_cached(void **state)
{
	static const char fn[] = "test_truncated_file_gives_errors_not_sigbus";
	struct cache_test t;
	char cached[512], cmd[512], debug[160];
	uint64_t vaddr = self_vaddr();

	(void)state;
	cache_test_begin(&t);
	snprintf(debug, sizeof(debug), "%s.debug", t.prog);
	copy_self(t.prog, NULL);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && objcopy --only-keep-debug "
		 "--compress-debug-sections=zlib prog prog.debug && "
		 "objcopy --strip-debug --add-gnu-debuglink=prog.debug prog",
		 t.dir);
	assert_int_equal(system(cmd), 0);

	/* files of other builds: one unused for 40 days, one used two days
	 * ago that makes them all take more than 512 MiB (sparse) */
	assert_int_equal(mkdir(t.cache, 0700), 0);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && echo x > dbg-aaaa && echo y > dbg-bbbb && "
		 "touch -d '40 days ago' dbg-aaaa && truncate -s 600M dbg-cccc "
		 "&& touch -d '2 days ago' dbg-cccc", t.cache);
	assert_int_equal(system(cmd), 0);

	/* the first use: inflated, and kept; the unused file removed, and
	 * the oldest of the rest while they take too much */
	expect_sym(t.prog, vaddr, NULL, fn, "/test_elfobj.c");
	cached_file(&t, cached, sizeof(cached));
	snprintf(cmd, sizeof(cmd),
		 "cd %s && test -f dbg-bbbb && ! test -e dbg-aaaa && "
		 "! test -e dbg-cccc", t.cache);
	assert_int_equal(system(cmd), 0);

	/* the next: the cache's bytes; libdw's walk of their units found
	 * no split unit, which the file's flags now say, for the next */
	assert_int_equal(header_flags(cached), 0);
	assert_true(replace_bytes(cached, "test_elfobj.c", "tesT_elfobj.c") > 0);
	expect_sym(t.prog, vaddr, NULL, fn, "/tesT_elfobj.c");
	assert_int_equal(header_flags(cached), 1);
	expect_sym(t.prog, vaddr, NULL, fn, "/tesT_elfobj.c");

	/* the debug file touched: its sections' CRCs checked, still the
	 * cache's bytes */
	expect_sym(t.prog, vaddr, debug, fn, "/tesT_elfobj.c");

	/* some entries that do not match their sections (the file touched:
	 * their CRCs are checked): those sections inflated again, the
	 * strings still the cache's */
	flip_crcs(cached, true);
	expect_sym(t.prog, vaddr, debug, fn, "/tesT_elfobj.c");

	/* none matches: not used, and rewritten */
	flip_crcs(cached, false);
	expect_sym(t.prog, vaddr, debug, fn, "/test_elfobj.c");
	assert_int_equal(replace_bytes(cached, "tesT_elfobj.c", "tesT_elfobj.c"), 0);
	expect_sym(t.prog, vaddr, NULL, fn, "/test_elfobj.c");
	cache_test_end(&t);
}

/* Split DWARF (gcc -gsplit-dwarf): libdw would open the .dwo files
 * itself, so the DWARF is not read, from the file or from the cache of
 * its inflated sections, whose flags never say it is safe. gold compresses
 * every .debug_* section, however small: all come from the cache. */
static void test_split_dwarf_not_read_cached_or_not(void **state)
{
	struct cache_test t;
	char cached[512], cmd[1024], line[256];
	unsigned long long vaddr;
	FILE *p;

	(void)state;
	cache_test_begin(&t);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && printf 'int work(int x) { return x * 3 + 1; }\\n"
		 "int main(int c, char **v) { (void)v; return work(c); }\\n' > s.c"
		 " && gcc -O1 -g -gdwarf-5 -gsplit-dwarf -fuse-ld=gold "
		 "-Wl,--compress-debug-sections=zlib -o prog s.c && ls *.dwo",
		 t.dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "nm %s | awk '$3 == \"work\" {print $1}'",
		 t.prog);
	assert_non_null(p = popen(cmd, "r"));
	assert_non_null(fgets(line, sizeof(line), p));
	pclose(p);
	vaddr = strtoull(line, NULL, 16);
	assert_true(vaddr > 0);
	for (int run = 0; run < 3; run++)
		expect_sym(t.prog, vaddr + 1, NULL, "work", NULL);
	cached_file(&t, cached, sizeof(cached));
	assert_int_equal(header_flags(cached), 0);
	cache_test_end(&t);
}

/* Frame kinds by name: the bridge's names as globs (the form they had
 * before they were compared as bytes) are the oracle, over names that
 * match each glob, names that nearly do, and real Go and C names. */
static void test_frame_kinds_match_bridge_globs(void **state)
{
	static const char *const globs[] = {
		"runtime.cgocall", "runtime.asmcgocall",
		"runtime.asmcgocall_landingpad", "runtime.asmcgocall_no_g",
		"runtime.cgocallback", "runtime.cgocallbackg",
		"runtime.cgocallbackg1", "runtime.needm",
		"runtime.needAndBindM", "runtime.dropm", "runtime.unwindm",
		"*._Cfunc_*", "*._C2func_*", "*._cgoexp_*", "_cgoexp_*",
		"crosscall2", "crosscall2_trampoline", "crosscall1",
		"crosscall_amd64", "_cgo_*", "x_cgo_*", "threadentry",
	};
	static const char *const names[] = {
		"runtime.cgocall", "runtime.cgocall.abi0", "runtime.cgocallb",
		"runtime.asmcgocall", "runtime.asmcgocall_landingpad",
		"runtime.asmcgocall_no_g", "runtime.cgocallback",
		"runtime.cgocallbackg", "runtime.cgocallbackg1",
		"runtime.cgocallbackg2", "runtime.needm", "runtime.needm2",
		"runtime.needAndBindM", "runtime.dropm", "runtime.unwindm",
		"main._Cfunc_work", "github.com/mattn/go-sqlite3._Cfunc_sqlite3_step",
		"main._C2func_open", "main._cgoexp_0a1b_goCallback",
		"_cgoexp_0a1b_goCallback", "._Cfunc_", "x._Cfunc_",
		"main_Cfunc_work", "main.Cfunc_work", "main._cfunc_work",
		"crosscall2", "crosscall2_trampoline", "crosscall1",
		"crosscall_amd64", "crosscall3", "crosscall",
		"_cgo_topofstack", "_cgo_", "_cgo", "_cgoexp", "x_cgo_init",
		"x_cgo", "threadentry", "threadentry2", "main.main",
		"runtime.morestack", "runtime.mcall", "memcpy",
		"__libc_start_main", "sqlite3VdbeExec", "",
		"a.b/c._Cfunc_d", "weird._Cfunc_\xff\xfe",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		bool want = false;

		for (size_t g = 0; g < sizeof(globs) / sizeof(globs[0]); g++)
			want |= !fnmatch(globs[g], names[i], 0);
		for (int is_go = 0; is_go < 2; is_go++) {
			enum frame_kind k =
				frame_kind__classify(names[i], OBJ_OTHER, is_go);

			if ((k == FRAME_KIND_CGO_BRIDGE) != want)
				fail_msg("%s: bridge %d, the globs say %d",
					 names[i], k == FRAME_KIND_CGO_BRIDGE,
					 want);
		}
	}
	assert_int_equal(frame_kind__classify("main._Cfunc_x", OBJ_VDSO, true),
			 FRAME_KIND_VDSO);
	assert_int_equal(frame_kind__classify("runtime.gopark", OBJ_OTHER, true),
			 FRAME_KIND_GO_RUNTIME);
	assert_int_equal(frame_kind__classify("memcpy", OBJ_LIBC, false),
			 FRAME_KIND_LIBC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vdso_reads_are_its_bytes_and_bounded),
		cmocka_unit_test(test_fifo_and_devices_are_refused_without_blocking),
		cmocka_unit_test(test_truncated_file_gives_errors_not_sigbus),
		cmocka_unit_test(test_dynamic_symbols_without_sections_are_bounded),
		cmocka_unit_test(test_debug_sections_compressed_or_cut),
		cmocka_unit_test(test_symtab_strings_bounded),
		cmocka_unit_test(test_debug_file_dwarf_cached),
		cmocka_unit_test(test_split_dwarf_not_read_cached_or_not),
		cmocka_unit_test(test_frame_kinds_match_bridge_globs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
