// SPDX-License-Identifier: MIT
/* Unit tests of symbolizer/pclntab.c.
 *
 * Two kinds of input: a small ELF built here byte by byte (always runs),
 * and real Go binaries built by tests/unit/pclntab-bins.sh from
 * tests/fixtures/pclntab into $CGOPROF_PCLNTAB_BINS (default
 * build/pclntab-bins). Without them the real-binary cases skip, or fail
 * when CGOPROF_REQUIRE_PERF=1. Expected addresses come from the .symtab of
 * each binary's unstripped twin, read here with libelf. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "gonames.h"

#include <cgoprof/pclntab.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Lines of tests/fixtures/pclntab/main.go. */
#define FIXTURE_BUMP_FIRST 17 /* func (c *counter) bump */
#define FIXTURE_BUMP_LAST 20
#define FIXTURE_SCALE_BODY 23 /* return a*3 + b ^ 0x5a (inlined) */
#define FIXTURE_HOTLOOP_FIRST 27
#define FIXTURE_SCALE_CALL 30 /* s += scale(i, s) */
#define FIXTURE_HOTLOOP_LAST 33
#define FIXTURE_CLOSURE_FIRST 37 /* return func(x int) int { */
#define FIXTURE_CLOSURE_LAST 41

struct toolchain {
	const char *tag;
	enum pclntab_format format;
	bool required; /* installed here; the others come from the proxy */
	const char *version; /* exact, or a prefix ending in '.' */
};

static const struct toolchain toolchains[] = {
    {"go126", PCLNTAB_GO120, true, "go1.26."},
    {"go119", PCLNTAB_GO118, true, "go1.19.8"},
    {"go117", PCLNTAB_GO116, false, "go1.17."},
    {"go120", PCLNTAB_GO120, false, "go1.20."},
    {"go121", PCLNTAB_GO120, false, "go1.21."},
    {"go122", PCLNTAB_GO120, false, "go1.22."},
};

/* Each variant and its unstripped twin (same build without -s -w). */
/* @layout: built by other linkers and libcs (lld, gold, musl), with the
 * toolchains installed here only */
static const struct variant {
	const char *name;
	const char *twin;
	bool layout;
} variants[] = {
    {"default", "default", false},
    {"s", "default", false},
    {"pie", "pie", false},
    {"pie-s", "pie", false},
    {"nocgo", "nocgo", false},
    {"nocgo-s", "nocgo", false},
    {"nocgo-pie", "nocgo-pie", false},
    {"nocgo-pie-s", "nocgo-pie", false},
    {"lld", "lld", true},
    {"lld-s", "lld", true},
    {"lld-pie", "lld-pie", true},
    {"lld-pie-s", "lld-pie", true},
    {"lld-spie", "lld-spie", true},
    {"lld-spie-s", "lld-spie", true},
    {"lld-based", "lld-based", true},
    {"gold-pie", "gold-pie", true},
    {"gold-pie-s", "gold-pie", true},
    {"musl", "musl", true},
    {"musl-s", "musl", true},
};

#define NTOOLCHAINS (sizeof(toolchains) / sizeof(toolchains[0]))
#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))

/* An ELF image in memory, so that tests can corrupt copies of it. */
struct image {
	uint8_t *bytes;
	size_t size;
	Elf *elf;
};

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static const char *bins_dir(void)
{
	const char *dir = getenv("CGOPROF_PCLNTAB_BINS");

	return dir && *dir ? dir : "build/pclntab-bins";
}

static bool require_bins(void)
{
	const char *req = getenv("CGOPROF_REQUIRE_PERF");

	return req && !strcmp(req, "1");
}

static void bin_path(char *buf, size_t size, const char *tag,
		     const char *variant)
{
	snprintf(buf, size, "%s/%s-%s", bins_dir(), tag, variant);
}

static bool bin_exists(const char *tag, const char *variant)
{
	char path[4096];
	struct stat st;

	bin_path(path, sizeof(path), tag, variant);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Toolchains whose binaries are present. Fails when a required one is
 * missing under CGOPROF_REQUIRE_PERF=1, skips when none is present. */
static bool variant_applies(const struct toolchain *tc, const struct variant *v)
{
	return !v->layout || tc->required;
}

static size_t present_toolchains(const struct toolchain **out)
{
	size_t n = 0;

	for (size_t i = 0; i < NTOOLCHAINS; i++) {
		bool all = true;

		for (size_t v = 0; v < NVARIANTS; v++)
			all = all &&
			      (!variant_applies(&toolchains[i], &variants[v]) ||
			       bin_exists(toolchains[i].tag, variants[v].name));
		if (all) {
			out[n++] = &toolchains[i];
			continue;
		}
		if (toolchains[i].required && require_bins())
			fail_msg("missing %s/%s-*: run tests/unit/"
				 "pclntab-bins.sh %s",
				 bins_dir(), toolchains[i].tag, bins_dir());
		if (toolchains[i].required)
			print_message("skipping %s: no %s/%s-*\n",
				      toolchains[i].tag, bins_dir(),
				      toolchains[i].tag);
	}
	if (n == 0)
		skip();
	return n;
}

static bool image_load(struct image *img, const char *tag, const char *variant)
{
	char path[4096];
	struct stat st;
	ssize_t got;
	int fd;

	memset(img, 0, sizeof(*img));
	bin_path(path, sizeof(path), tag, variant);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	img->size = (size_t)st.st_size;
	img->bytes = malloc(img->size ? img->size : 1);
	assert_non_null(img->bytes);
	got = pread(fd, img->bytes, img->size, 0);
	close(fd);
	assert_int_equal(got, (ssize_t)img->size);
	img->elf = elf_memory((char *)img->bytes, img->size);
	assert_non_null(img->elf);
	return true;
}

/* @img's bytes, @size of them, in a new image (the ELF handle may be
 * NULL when libelf rejects the bytes). */
static void image_copy(struct image *dst, const struct image *src, size_t size)
{
	dst->size = size;
	dst->bytes = malloc(size ? size : 1);
	assert_non_null(dst->bytes);
	memcpy(dst->bytes, src->bytes, size);
	dst->elf = NULL;
}

static void image_open(struct image *img)
{
	img->elf = elf_memory((char *)img->bytes, img->size);
}

/* @img's bytes as a file, opened as the profiler opens binaries
 * (ELF_C_READ on a descriptor): pclntab__new_fd reads its data sections
 * from @fd itself. */
struct file_image {
	int fd;
	Elf *elf;
};

static void file_open(struct file_image *f, const struct image *img)
{
	size_t done = 0;

	f->fd = memfd_create("pclntab-test", MFD_CLOEXEC);
	assert_true(f->fd >= 0);
	while (done < img->size) {
		ssize_t n = write(f->fd, img->bytes + done, img->size - done);

		assert_true(n > 0);
		done += (size_t)n;
	}
	f->elf = elf_begin(f->fd, ELF_C_READ, NULL);
}

static void file_close(struct file_image *f)
{
	if (f->elf)
		elf_end(f->elf);
	close(f->fd);
}

static void image_release(struct image *img)
{
	if (img->elf)
		elf_end(img->elf);
	free(img->bytes);
	memset(img, 0, sizeof(*img));
}

static Elf_Scn *section_by_name(Elf *elf, const char *want, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, shdr))
			continue;
		name = elf_strptr(elf, shstrndx, shdr->sh_name);
		if (name && !strcmp(name, want))
			return scn;
	}
	return NULL;
}

/* Value of .symtab symbol @name. */
static bool sym_value(Elf *elf, const char *name, uint64_t *value)
{
	GElf_Shdr shdr;
	Elf_Scn *scn = section_by_name(elf, ".symtab", &shdr);
	Elf_Data *data;

	if (!scn || !(data = elf_getdata(scn, NULL)))
		return false;
	for (size_t i = 1; i < data->d_size / sizeof(Elf64_Sym); i++) {
		GElf_Sym sym;
		const char *s;

		if (!gelf_getsym(data, (int)i, &sym))
			break;
		s = elf_strptr(elf, shdr.sh_link, sym.st_name);
		if (s && !strcmp(s, name)) {
			*value = sym.st_value;
			return true;
		}
	}
	return false;
}

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

/* Real binaries. */

static void check_format_and_range(const struct toolchain *tc,
				   const struct variant *v)
{
	struct image img, twin;
	struct pclntab *tab;
	uint64_t lo, hi, text, etext;

	image_load(&img, tc->tag, v->name);
	image_load(&twin, tc->tag, v->twin);
	tab = pclntab__new(img.elf);
	if (!tab)
		fail_msg("%s-%s: pclntab__new: %s", tc->tag, v->name,
			 strerror(errno));
	assert_int_equal(pclntab__format(tab), tc->format);
	pclntab__text_range(tab, &lo, &hi);
	/* the table starts at runtime.text and ends with its last function,
	 * which runtime.etext may follow after alignment padding */
	assert_true(sym_value(twin.elf, "runtime.text", &text));
	assert_true(sym_value(twin.elf, "runtime.etext", &etext));
	assert_int_equal(lo, text);
	assert_true(hi <= etext && etext - hi < 32);
	assert_true(hi - lo < 64 << 20);
	pclntab__free(tab);
	image_release(&twin);
	image_release(&img);
}

/* @check on every binary of every present toolchain its variant applies
 * to. */
static void for_each_binary(void (*check)(const struct toolchain *,
					  const struct variant *))
{
	const struct toolchain *tcs[NTOOLCHAINS];
	size_t n = present_toolchains(tcs);

	for (size_t i = 0; i < n; i++)
		for (size_t v = 0; v < NVARIANTS; v++)
			if (variant_applies(tcs[i], &variants[v]))
				check(tcs[i], &variants[v]);
}

static void test_pclntab__format_matches_toolchain(void **state)
{
	(void)state;
	for_each_binary(check_format_and_range);
}

/* Every FUNC symbol of the twin inside the Go text is a function entry of
 * the (maybe stripped) table, with the same name. */
static void check_every_symbol(const struct toolchain *tc,
			       const struct variant *v)
{
	struct image img, twin;
	struct pclntab *tab;
	uint64_t lo, hi;
	GElf_Shdr shdr;
	Elf_Scn *scn;
	Elf_Data *data;
	size_t checked = 0;

	image_load(&img, tc->tag, v->name);
	image_load(&twin, tc->tag, v->twin);
	tab = pclntab__new(img.elf);
	assert_non_null(tab);
	pclntab__text_range(tab, &lo, &hi);
	scn = section_by_name(twin.elf, ".symtab", &shdr);
	assert_non_null(scn);
	data = elf_getdata(scn, NULL);
	assert_non_null(data);
	for (size_t i = 1; i < data->d_size / sizeof(Elf64_Sym); i++) {
		char want[512];
		struct go_func fn;
		const char *name;
		GElf_Sym sym;
		int err;

		assert_non_null(gelf_getsym(data, (int)i, &sym));
		if (GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
		    sym.st_value < lo || sym.st_value >= hi)
			continue;
		name = elf_strptr(twin.elf, shdr.sh_link, sym.st_name);
		assert_non_null(name);
		/* markers, not functions */
		if (!strcmp(name, "runtime.text") ||
		    !strcmp(name, "runtime.etext"))
			continue;
		err = pclntab__find_func(tab, sym.st_value, &fn);
		if (err)
			fail_msg("%s-%s: %s at %#lx: %d", tc->tag, v->name,
				 name, (unsigned long)sym.st_value, err);
		strip_abi(name, want, sizeof(want));
		if (!same_name(fn.name, want) || fn.entry != sym.st_value)
			fail_msg("%s-%s: %#lx is %s in .symtab, %s@%#lx in "
				 "pclntab",
				 tc->tag, v->name, (unsigned long)sym.st_value,
				 name, fn.name, (unsigned long)fn.entry);
		assert_true(fn.end > fn.entry && fn.end <= hi);
		if (sym.st_size)
			assert_true(fn.end >= fn.entry + sym.st_size);
		checked++;
	}
	assert_true(checked > 1000);
	pclntab__free(tab);
	image_release(&twin);
	image_release(&img);
}

static void test_pclntab__finds_every_function_symbol(void **state)
{
	(void)state;
	for_each_binary(check_every_symbol);
}

struct fixture_func {
	const char *name;
	uint32_t first_line;
	uint32_t last_line;
};

static const struct fixture_func fixture_funcs[] = {
    {"main.(*counter).bump", FIXTURE_BUMP_FIRST, FIXTURE_BUMP_LAST},
    {"main.hotLoop", FIXTURE_HOTLOOP_FIRST, FIXTURE_HOTLOOP_LAST},
    {"main.makeAdder.func1", FIXTURE_CLOSURE_FIRST, FIXTURE_CLOSURE_LAST},
};

/* Finds fixture function @name in @tab through the twin's symbol. */
static void fixture_find(struct pclntab *tab, Elf *twin, const char *name,
			 struct go_func *fn)
{
	uint64_t addr;

	assert_true(sym_value(twin, name, &addr));
	assert_int_equal(pclntab__find_func(tab, addr, fn), 0);
	assert_string_equal(fn->name, name);
	assert_int_equal(fn->entry, addr);
	/* any pc inside gives the same function */
	assert_int_equal(pclntab__find_func(tab, fn->end - 1, fn), 0);
	assert_string_equal(fn->name, name);
	assert_int_equal(fn->entry, addr);
}

static void check_fixture_frames(const struct toolchain *tc,
				 const struct variant *v)
{
	struct image img, twin;
	struct pclntab *tab;
	struct go_func fn;
	size_t inlined = 0, plain = 0;

	image_load(&img, tc->tag, v->name);
	image_load(&twin, tc->tag, v->twin);
	tab = pclntab__new(img.elf);
	assert_non_null(tab);

	/* method and closure: one frame, their own file and lines */
	for (size_t i = 0; i < sizeof(fixture_funcs) / sizeof(fixture_funcs[0]);
	     i++) {
		const struct fixture_func *ff = &fixture_funcs[i];
		struct go_frame fr[4];
		int n;

		fixture_find(tab, twin.elf, ff->name, &fn);
		n = pclntab__frames(tab, &fn, fn.entry, fr, 4);
		assert_int_equal(n, 1);
		assert_string_equal(fr[0].name, ff->name);
		assert_false(fr[0].inlined);
		assert_string_equal(base_name(fr[0].file), "main.go");
		assert_in_range(fr[0].line, ff->first_line, ff->last_line);
	}

	/* main.scale is inlined into main.hotLoop: some pcs of hotLoop are
	 * [scale main.go:23 inlined, hotLoop main.go:30] */
	fixture_find(tab, twin.elf, "main.hotLoop", &fn);
	for (uint64_t pc = fn.entry; pc < fn.end; pc++) {
		struct go_frame fr[4];
		int32_t delta;
		int n = pclntab__frames(tab, &fn, pc, fr, 4);

		assert_in_range(n, 1, 2);
		if (n == 2) {
			assert_string_equal(fr[0].name, "main.scale");
			assert_true(fr[0].inlined);
			assert_string_equal(base_name(fr[0].file), "main.go");
			assert_int_equal(fr[0].line, FIXTURE_SCALE_BODY);
			assert_string_equal(fr[1].name, "main.hotLoop");
			assert_false(fr[1].inlined);
			assert_string_equal(base_name(fr[1].file), "main.go");
			assert_int_equal(fr[1].line, FIXTURE_SCALE_CALL);
			/* @max cuts the chain */
			assert_int_equal(pclntab__frames(tab, &fn, pc, fr, 1),
					 1);
			assert_string_equal(fr[0].name, "main.scale");
			inlined++;
			continue;
		}
		assert_string_equal(fr[0].name, "main.hotLoop");
		assert_false(fr[0].inlined);
		/* the alignment padding after the code has no position */
		if (pclntab__sp_delta(tab, &fn, pc, &delta) == 0) {
			assert_string_equal(base_name(fr[0].file), "main.go");
			assert_in_range(fr[0].line, FIXTURE_HOTLOOP_FIRST,
					FIXTURE_HOTLOOP_LAST);
			/* a loop without calls: frameless */
			assert_int_equal(delta, 0);
			plain++;
		}
	}
	if (inlined == 0)
		fail_msg("%s-%s: no pc of main.hotLoop inside main.scale",
			 tc->tag, v->name);
	assert_true(plain > 0);
	assert_int_equal(pclntab__frames(tab, &fn, fn.entry, NULL, 0), 0);
	pclntab__free(tab);
	image_release(&twin);
	image_release(&img);
}

static void test_pclntab__frames_inlined_method_closure(void **state)
{
	(void)state;
	for_each_binary(check_fixture_frames);
}

static void check_sp_delta(const struct toolchain *tc, const struct variant *v)
{
	struct image img, twin;
	struct pclntab *tab;
	struct go_func fn, other;
	uint64_t first_framed = 0;
	int32_t delta, max = 0;

	image_load(&img, tc->tag, v->name);
	image_load(&twin, tc->tag, v->twin);
	tab = pclntab__new(img.elf);
	assert_non_null(tab);
	/* makeAdder allocates the closure: it calls, so it has a frame */
	fixture_find(tab, twin.elf, "main.makeAdder", &fn);
	assert_int_equal(pclntab__sp_delta(tab, &fn, fn.entry, &delta), 0);
	assert_int_equal(delta, 0);
	for (uint64_t pc = fn.entry; pc < fn.end; pc++) {
		if (pclntab__sp_delta(tab, &fn, pc, &delta))
			continue;
		assert_int_equal(delta % 8, 0);
		if (delta > 0 && !first_framed)
			first_framed = pc;
		if (delta > max)
			max = delta;
	}
	assert_true(max >= 8);
	/* the prologue (stack check, push rbp, sub rsp) is short */
	assert_true(first_framed > fn.entry && first_framed < fn.entry + 32);
	/* a pc outside @fn is refused */
	assert_int_equal(pclntab__sp_delta(tab, &fn, fn.end, &delta), -EINVAL);
	assert_int_equal(pclntab__frames(tab, &fn, fn.entry - 1, NULL, 0),
			 -EINVAL);
	/* so is a forged function index */
	other = fn;
	other.index = UINT32_MAX;
	assert_int_equal(pclntab__sp_delta(tab, &other, fn.entry, &delta),
			 -EINVAL);
	pclntab__free(tab);
	image_release(&twin);
	image_release(&img);
}

static void test_pclntab__sp_delta_prologue(void **state)
{
	(void)state;
	for_each_binary(check_sp_delta);
}

static void test_pclntab__outside_text_is_enoent(void **state)
{
	const struct toolchain *tcs[NTOOLCHAINS];
	size_t n = present_toolchains(tcs);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		struct image img;
		struct pclntab *tab;
		struct go_func fn;
		uint64_t lo, hi, c_func;

		/* external linking: C code lies outside the Go text */
		image_load(&img, tcs[i]->tag, "default");
		tab = pclntab__new(img.elf);
		assert_non_null(tab);
		pclntab__text_range(tab, &lo, &hi);
		assert_int_equal(pclntab__find_func(tab, lo - 1, &fn), -ENOENT);
		assert_int_equal(pclntab__find_func(tab, hi, &fn), -ENOENT);
		assert_int_equal(pclntab__find_func(tab, 0, &fn), -ENOENT);
		assert_int_equal(pclntab__find_func(tab, UINT64_MAX, &fn),
				 -ENOENT);
		assert_true(sym_value(img.elf, "x_cgo_init", &c_func));
		assert_int_equal(pclntab__find_func(tab, c_func, &fn), -ENOENT);
		assert_int_equal(pclntab__find_func(tab, lo, &fn), 0);
		pclntab__free(tab);
		image_release(&img);
	}
}

static void test_pclntab__buildinfo_version(void **state)
{
	const struct toolchain *tcs[NTOOLCHAINS];
	size_t n = present_toolchains(tcs);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		char path[4096], want[64] = "", got[64];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s.version", bins_dir(),
			 tcs[i]->tag);
		f = fopen(path, "r");
		assert_non_null(f);
		assert_non_null(fgets(want, sizeof(want), f));
		fclose(f);
		want[strcspn(want, "\n")] = 0;
		/* the toolchain is the one the table expects */
		if (tcs[i]->version[strlen(tcs[i]->version) - 1] == '.')
			assert_memory_equal(want, tcs[i]->version,
					    strlen(tcs[i]->version));
		else
			assert_string_equal(want, tcs[i]->version);
		for (size_t v = 0; v < NVARIANTS; v++) {
			struct image img;

			if (!variant_applies(tcs[i], &variants[v]))
				continue;
			image_load(&img, tcs[i]->tag, variants[v].name);
			assert_int_equal(
			    go_buildinfo__version(img.elf, got, sizeof(got)),
			    0);
			assert_string_equal(got, want);
			assert_int_equal(
			    go_buildinfo__version(img.elf, got, strlen(want)),
			    -ERANGE);
			image_release(&img);
		}
	}
}

/* The table read from the file (pclntab__new_fd: its sections read by
 * the reader into one buffer, as the profiler reads binaries) is the
 * table libelf's reads give: the same functions, frames and sp deltas at
 * every sampled pc, and the same Go version. */
static void check_file_matches_memory(const struct image *img,
				      const char *what)
{
	struct pclntab *mem = pclntab__new(img->elf), *file;
	struct file_image f;
	uint64_t lo, hi, flo, fhi, step;
	char v_mem[64], v_file[64];
	size_t funcs = 0;

	if (!mem)
		fail_msg("%s: pclntab__new: %s", what, strerror(errno));
	file_open(&f, img);
	assert_non_null(f.elf);
	file = pclntab__new_fd(f.elf, f.fd);
	if (!file)
		fail_msg("%s: pclntab__new_fd: %s", what, strerror(errno));
	assert_int_equal(pclntab__format(file), pclntab__format(mem));
	pclntab__text_range(mem, &lo, &hi);
	pclntab__text_range(file, &flo, &fhi);
	assert_int_equal(flo, lo);
	assert_int_equal(fhi, hi);
	step = (hi - lo) / 20000 + 1;
	for (uint64_t pc = lo; pc < hi; pc += step) {
		struct go_frame fm[8], ff[8];
		struct go_func a, b;
		int32_t da = 0, db = 0;
		int na, nb;

		assert_int_equal(pclntab__find_func(file, pc, &b),
				 pclntab__find_func(mem, pc, &a));
		if (pclntab__find_func(mem, pc, &a))
			continue;
		funcs++;
		assert_string_equal(b.name, a.name);
		assert_int_equal(b.entry, a.entry);
		assert_int_equal(b.end, a.end);
		assert_int_equal(pclntab__sp_delta(file, &b, pc, &db),
				 pclntab__sp_delta(mem, &a, pc, &da));
		assert_int_equal(db, da);
		na = pclntab__frames(mem, &a, pc, fm, 8);
		nb = pclntab__frames(file, &b, pc, ff, 8);
		assert_int_equal(nb, na);
		for (int i = 0; i < na; i++) {
			assert_string_equal(ff[i].name, fm[i].name);
			assert_int_equal(ff[i].line, fm[i].line);
			assert_int_equal(ff[i].inlined, fm[i].inlined);
		}
	}
	assert_true(funcs > 100);
	assert_int_equal(pclntab__go_version(file, v_file, sizeof(v_file)),
			 go_buildinfo__version(img->elf, v_mem, sizeof(v_mem)));
	assert_string_equal(v_file, v_mem);
	pclntab__free(file);
	pclntab__free(mem);
	file_close(&f);
}

static void check_file_reads(const struct toolchain *tc,
			     const struct variant *v)
{
	struct image img;
	char what[64];

	image_load(&img, tc->tag, v->name);
	snprintf(what, sizeof(what), "%s-%s", tc->tag, v->name);
	check_file_matches_memory(&img, what);
	image_release(&img);
}

static void test_pclntab__file_reads_match_memory(void **state)
{
	(void)state;
	for_each_binary(check_file_reads);
}

/* Corrupted copies of real binaries. */

/* Where a real binary's table is, for patching. */
struct layout {
	size_t hdr; /* file offset of the pcHeader */
	size_t table_size;
	enum pclntab_format format;
	uint64_t funcname, cu, pctab, pcln; /* offsets from the header */
	size_t entsize;			    /* functab entry */
	uint32_t index;			    /* functab slot of main.hotLoop */
	uint64_t funcoff;		    /* its _func, from pcln */
	struct go_func fn;		    /* main.hotLoop */
};

static void layout_get(const struct image *img, Elf *twin, struct layout *lay)
{
	struct pclntab *tab = pclntab__new(img->elf);
	GElf_Shdr shdr;
	const uint8_t *h;
	uint64_t addr;
	size_t offs;

	memset(lay, 0, sizeof(*lay));
	assert_non_null(tab);
	assert_non_null(section_by_name(img->elf, ".gopclntab", &shdr));
	lay->hdr = shdr.sh_offset;
	lay->table_size = shdr.sh_size;
	h = img->bytes + lay->hdr;
	lay->format = pclntab__format(tab);
	offs = lay->format == PCLNTAB_GO116 ? 24 : 32;
	lay->entsize = lay->format == PCLNTAB_GO116 ? 16 : 8;
	lay->funcname = rd64(h + offs);
	lay->cu = rd64(h + offs + 8);
	lay->pctab = rd64(h + offs + 24);
	lay->pcln = rd64(h + offs + 32);
	assert_true(sym_value(twin, "main.hotLoop", &addr));
	assert_int_equal(pclntab__find_func(tab, addr, &lay->fn), 0);
	lay->index = lay->fn.index;
	lay->funcoff = lay->entsize == 16
			   ? rd64(h + lay->pcln + lay->index * 16 + 8)
			   : rd32(h + lay->pcln + (uint64_t)lay->index * 8 + 4);
	pclntab__free(tab);
}

/* The _func of main.hotLoop in @img. */
static uint8_t *layout_func(const struct layout *lay, struct image *img)
{
	return img->bytes + lay->hdr + lay->pcln + lay->funcoff;
}

/* Offset of a field of the 1.18+ _func layout in this format. */
static size_t func_field(const struct layout *lay, size_t off118)
{
	return lay->format == PCLNTAB_GO116 ? off118 + 4 : off118;
}

/* Every entry point on @tab and a spread of pcs: must not crash. */
static void exercise(const struct pclntab *tab, uint64_t lo, uint64_t hi)
{
	uint64_t step = (hi - lo) / 4096 + 1;

	for (uint64_t pc = lo; pc < hi && pc >= lo; pc += step) {
		struct go_frame fr[8];
		struct go_func fn;
		int32_t delta;

		if (pclntab__find_func(tab, pc, &fn))
			continue;
		assert_non_null(fn.name);
		(void)pclntab__sp_delta(tab, &fn, pc, &delta);
		(void)pclntab__frames(tab, &fn, pc, fr, 8);
	}
}

static const char *const corrupt_tags[] = {"go126", "go119", "go117"};

#define NCORRUPT (sizeof(corrupt_tags) / sizeof(corrupt_tags[0]))

/* Loads the CGO_ENABLED=0 binaries of present toolchains, one per table
 * format. */
static size_t corrupt_sources(struct image *imgs, struct layout *lays)
{
	const struct toolchain *tcs[NTOOLCHAINS];
	size_t n = 0, present = present_toolchains(tcs);

	for (size_t i = 0; i < NCORRUPT; i++) {
		struct image twin;
		bool have = false;

		for (size_t t = 0; t < present; t++)
			have = have || !strcmp(tcs[t]->tag, corrupt_tags[i]);
		if (!have)
			continue;
		image_load(&imgs[n], corrupt_tags[i], "nocgo");
		image_load(&twin, corrupt_tags[i], "nocgo");
		layout_get(&imgs[n], twin.elf, &lays[n]);
		image_release(&twin);
		n++;
	}
	assert_true(n > 0);
	return n;
}

static void test_pclntab__truncated_file(void **state)
{
	struct image src[NCORRUPT];
	struct layout lay[NCORRUPT];
	size_t n = corrupt_sources(src, lay);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		size_t end = lay[i].hdr + lay[i].table_size;
		const size_t sizes[] = {
		    0,
		    16,
		    64,
		    512,
		    src[i].size / 4,
		    lay[i].hdr,
		    lay[i].hdr + 100,
		    lay[i].hdr + lay[i].pcln + 8,
		    end - 4096,
		    end - 1,
		    src[i].size / 2,
		    src[i].size - 1,
		};

		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			struct image cut;
			struct pclntab *tab;

			image_copy(&cut, &src[i], sizes[s]);
			image_open(&cut);
			if (cut.elf) {
				char version[64];
				int err;

				errno = 0;
				tab = pclntab__new(cut.elf);
				if (!tab)
					assert_true(errno == ENODATA ||
						    errno == EINVAL);
				else if (sizes[s] < end)
					fail_msg("a table cut at %zu of %zu "
						 "was accepted",
						 sizes[s], end);
				else
					exercise(tab, 0x400000, 0x500000);
				/* read from the file: the same verdict */
				{
					struct file_image f;
					struct pclntab *ft;

					file_open(&f, &cut);
					assert_non_null(f.elf);
					ft = pclntab__new_fd(f.elf, f.fd);
					assert_true(!ft == !tab);
					if (ft)
						exercise(ft, 0x400000, 0x500000);
					pclntab__free(ft);
					file_close(&f);
				}
				pclntab__free(tab);
				err = go_buildinfo__version(cut.elf, version,
							    sizeof(version));
				assert_true(err == 0 || err == -ENODATA ||
					    err == -EINVAL);
			}
			image_release(&cut);
		}
		image_release(&src[i]);
	}
}

static void test_pclntab__functab_offset_out_of_range(void **state)
{
	struct image src[NCORRUPT];
	struct layout lay[NCORRUPT];
	size_t n = corrupt_sources(src, lay);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		const uint64_t bad[] = {lay[i].table_size, 0xfffffff0,
					lay[i].table_size - lay[i].pcln - 8};

		for (size_t b = 0; b < 3; b++) {
			struct image img;
			struct pclntab *tab;
			struct go_func fn;
			uint8_t *slot;

			image_copy(&img, &src[i], src[i].size);
			slot = img.bytes + lay[i].hdr + lay[i].pcln +
			       (uint64_t)lay[i].index * lay[i].entsize;
			if (lay[i].entsize == 16)
				wr64(slot + 8, bad[b]);
			else
				wr32(slot + 4, (uint32_t)bad[b]);
			image_open(&img);
			tab = pclntab__new(img.elf);
			assert_non_null(tab);
			assert_int_equal(
			    pclntab__find_func(tab, lay[i].fn.entry, &fn),
			    -EINVAL);
			/* the neighbours still work */
			assert_int_equal(
			    pclntab__find_func(tab, lay[i].fn.end, &fn), 0);
			assert_int_equal(pclntab__sp_delta(tab, &lay[i].fn,
							   lay[i].fn.entry,
							   &(int32_t){0}),
					 -EINVAL);
			pclntab__free(tab);
			image_release(&img);
		}
		image_release(&src[i]);
	}
}

static void test_pclntab__nfunc_huge(void **state)
{
	struct image src[NCORRUPT];
	struct layout lay[NCORRUPT];
	size_t n = corrupt_sources(src, lay);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		const uint64_t bad[] = {UINT64_MAX, 1ull << 40, UINT32_MAX,
					lay[i].table_size, 0};

		for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
			struct image img;

			image_copy(&img, &src[i], src[i].size);
			wr64(img.bytes + lay[i].hdr + 8, bad[b]);
			image_open(&img);
			errno = 0;
			assert_null(pclntab__new(img.elf));
			assert_int_equal(errno, EINVAL);
			image_release(&img);
		}
		image_release(&src[i]);
	}
}

static void test_pclntab__bad_header(void **state)
{
	struct image src[NCORRUPT];
	struct layout lay[NCORRUPT];
	size_t n = corrupt_sources(src, lay);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		/* magic, pointer size, sub-table offsets past the end */
		const size_t offs = lay[i].format == PCLNTAB_GO116 ? 24 : 32;
		const struct {
			size_t at;
			int width;
			uint64_t value;
		} bad[] = {
		    {0, 4, 0xfffffffb},
		    {7, 1, 4},
		    {6, 1, 3},
		    {offs, 8, lay[i].table_size},
		    {offs + 32, 8, UINT64_MAX},
		    {offs + 24, 8, 0},
		};

		for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
			struct image img;
			uint8_t *p;

			image_copy(&img, &src[i], src[i].size);
			p = img.bytes + lay[i].hdr + bad[b].at;
			if (bad[b].width == 8)
				wr64(p, bad[b].value);
			else if (bad[b].width == 4)
				wr32(p, (uint32_t)bad[b].value);
			else
				*p = (uint8_t)bad[b].value;
			image_open(&img);
			errno = 0;
			assert_null(pclntab__new(img.elf));
			assert_int_equal(errno, EINVAL);
			image_release(&img);
		}
		image_release(&src[i]);
	}
}

static void test_pclntab__name_offset_past_end(void **state)
{
	struct image src[NCORRUPT];
	struct layout lay[NCORRUPT];
	size_t n = corrupt_sources(src, lay);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		const uint32_t bad[] = {(uint32_t)(lay[i].cu - lay[i].funcname),
					0x7fffffff, UINT32_MAX};

		for (size_t b = 0; b < 3; b++) {
			struct image img;
			struct pclntab *tab;
			struct go_func fn;

			image_copy(&img, &src[i], src[i].size);
			wr32(layout_func(&lay[i], &img) +
				 func_field(&lay[i], 4),
			     bad[b]);
			image_open(&img);
			tab = pclntab__new(img.elf);
			assert_non_null(tab);
			assert_int_equal(
			    pclntab__find_func(tab, lay[i].fn.entry, &fn),
			    -EINVAL);
			assert_int_equal(pclntab__frames(tab, &lay[i].fn,
							 lay[i].fn.entry, NULL,
							 0),
					 -EINVAL);
			pclntab__free(tab);
			image_release(&img);
		}
		image_release(&src[i]);
	}
}

/* The last name of funcnametab loses its NUL: it is not a string inside
 * the table any more. */
static void test_pclntab__name_without_nul(void **state)
{
	struct image src[NCORRUPT];
	struct layout lay[NCORRUPT];
	size_t n = corrupt_sources(src, lay);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		struct image img;
		struct pclntab *tab;
		struct go_func fn;
		uint8_t *names;
		uint64_t len = lay[i].cu - lay[i].funcname, last;

		image_copy(&img, &src[i], src[i].size);
		names = img.bytes + lay[i].hdr + lay[i].funcname;
		/* the table may end in padding NULs: find the last name */
		while (len > 0 && names[len - 1] == 0)
			len--;
		assert_true(len > 1);
		last = len;
		while (last > 0 && names[last - 1] != 0)
			last--;
		memset(names + len, 'x', lay[i].cu - lay[i].funcname - len);
		wr32(layout_func(&lay[i], &img) + func_field(&lay[i], 4),
		     (uint32_t)last);
		image_open(&img);
		tab = pclntab__new(img.elf);
		assert_non_null(tab);
		assert_int_equal(pclntab__find_func(tab, lay[i].fn.entry, &fn),
				 -EINVAL);
		pclntab__free(tab);
		image_release(&img);
		image_release(&src[i]);
	}
}

/* A table read in place from its file (pclntab__new_fd maps the data
 * sections) whose file is then truncated, to nothing or to where the
 * table is half gone: every lookup still returns, never SIGBUS; once a
 * lost page was read, lookups fail rather than name from zeroes. */
static void test_pclntab__file_truncated_while_read(void **state)
{
	struct image src[NCORRUPT];
	struct layout lay[NCORRUPT];
	size_t n = corrupt_sources(src, lay);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		const size_t cuts[] = {
		    0,
		    lay[i].hdr + lay[i].table_size / 2,
		};

		for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
			struct file_image f;
			struct pclntab *ft;
			struct go_func fn;
			uint64_t lo, hi;

			file_open(&f, &src[i]);
			assert_non_null(f.elf);
			ft = pclntab__new_fd(f.elf, f.fd);
			assert_non_null(ft);
			pclntab__text_range(ft, &lo, &hi);
			assert_int_equal(pclntab__find_func(ft, lo, &fn), 0);
			assert_int_equal(ftruncate(f.fd, (off_t)cuts[c]), 0);
			if (!cuts[c]) {
				struct go_func mid;
				struct go_frame fr[4];
				int32_t d;

				/* every page is lost: the first lookup to read
				 * one fails itself, with nothing from zeroes */
				assert_int_equal(pclntab__find_func(
						     ft, lo + (hi - lo) / 2, &mid),
						 -EIO);
				assert_int_equal(pclntab__frames(ft, &fn, lo, fr, 4),
						 -EIO);
				assert_int_equal(pclntab__sp_delta(ft, &fn, lo, &d),
						 -EIO);
			}
			exercise(ft, lo, hi);
			/* pages were lost: no name from what is left, nor
			 * from the lookup cache */
			assert_int_equal(pclntab__find_func(ft, lo, &fn), -EIO);
			pclntab__free(ft);
			file_close(&f);
		}
		image_release(&src[i]);
	}
}

static void test_pclntab__pcsp_truncated(void **state)
{
	struct image src[NCORRUPT];
	struct layout lay[NCORRUPT];
	size_t n = corrupt_sources(src, lay);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		uint64_t pctab_len = lay[i].pcln - lay[i].pctab;
		/* a varint that runs into the end of pctab; past the end;
		 * a table whose end marker comes before the function ends */
		for (int b = 0; b < 3; b++) {
			struct image img;
			struct pclntab *tab;
			struct go_func fn;
			int32_t delta;
			uint8_t *pctab, *func;

			image_copy(&img, &src[i], src[i].size);
			pctab = img.bytes + lay[i].hdr + lay[i].pctab;
			func = layout_func(&lay[i], &img);
			if (b == 0) {
				memset(pctab + pctab_len - 3, 0xff, 3);
				wr32(func + func_field(&lay[i], 16),
				     (uint32_t)(pctab_len - 3));
			} else if (b == 1) {
				wr32(func + func_field(&lay[i], 16),
				     (uint32_t)pctab_len);
			} else {
				/* value 0 for 1 byte, then the end */
				memcpy(pctab + pctab_len - 3, "\x02\x01\x00",
				       3);
				wr32(func + func_field(&lay[i], 16),
				     (uint32_t)(pctab_len - 3));
			}
			image_open(&img);
			tab = pclntab__new(img.elf);
			assert_non_null(tab);
			assert_int_equal(
			    pclntab__find_func(tab, lay[i].fn.entry, &fn), 0);
			if (b == 2) {
				assert_int_equal(pclntab__sp_delta(tab, &fn,
								   fn.entry,
								   &delta),
						 0);
				assert_int_equal(delta, 0);
			}
			assert_int_equal(
			    pclntab__sp_delta(tab, &fn, fn.entry + 1, &delta),
			    -EINVAL);
			pclntab__free(tab);
			image_release(&img);
		}
		image_release(&src[i]);
	}
}

/* Random bytes over the table: whatever comes out, nothing crashes or
 * hangs (run under -fsanitize=address,undefined). */
static void test_pclntab__random_corruption(void **state)
{
	struct image src[NCORRUPT];
	struct layout lay[NCORRUPT];
	size_t n = corrupt_sources(src, lay);
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		for (int round = 0; round < 40; round++) {
			struct image img;
			struct pclntab *tab;
			uint64_t lo = 0, hi = 0;
			/* the first rounds hit the header and functab */
			uint64_t span =
			    round < 20 ? lay[i].pcln + 4096 : lay[i].table_size;

			image_copy(&img, &src[i], src[i].size);
			for (int k = 0; k < 64; k++) {
				seed = seed * 6364136223846793005ull +
				       1442695040888963407ull;
				img.bytes[lay[i].hdr + (seed >> 33) % span] =
				    (uint8_t)(seed >> 24);
			}
			image_open(&img);
			tab = pclntab__new(img.elf);
			if (tab) {
				pclntab__text_range(tab, &lo, &hi);
				exercise(tab, lo, hi);
			}
			pclntab__free(tab);
			image_release(&img);
		}
		image_release(&src[i]);
	}
}

/* A hand-built ELF: .gopclntab in the Go 1.20+ layout with textStart 0
 * (as Go 1.26 writes it), .go.module holding the moduledata with text
 * and gofunc, .go.buildinfo. Two functions: main.outer (0x40 bytes, frame
 * 24 after its prologue, main.inl inlined at +0x10..+0x20 from a call at
 * line 10) and main.leaf.abi0 (an ABI suffix, which must go). */

#define SYN_TEXT 0x401000ull
#define SYN_PCLN_VADDR 0x500000ull
#define SYN_MODULE_VADDR 0x600000ull
#define SYN_BUILDINFO_VADDR 0x600400ull

struct syn {
	uint8_t pcln[1024];
	size_t pcln_size;
	uint8_t module[400];
	uint8_t buildinfo[64];
	/* offsets inside pcln */
	size_t funcname, cutab, filetab, pctab, functab, func_outer, func_leaf,
	    inltree;
	size_t pcsp_outer;
	size_t inl_index_table;
};

static size_t put(uint8_t *buf, size_t at, const void *bytes, size_t len)
{
	memcpy(buf + at, bytes, len);
	return at + len;
}

static void syn_build(struct syn *s)
{
	static const char names[] = "main.outer\0main.leaf.abi0\0main.inl";
	static const char files[] = "/src/a.go";
	/* pctab: offset 0 means "no table", so it starts with a pad byte */
	static const uint8_t pcsp_outer[] = {0x02, 0x04, 0x10, 0x04,
					     0x20, 0x38, 0x00};
	static const uint8_t pcfile[] = {0x02, 0x40, 0x00};
	static const uint8_t pcln_outer[] = {0x16, 0x10, 0x09, 0x10,
					     0x0e, 0x20, 0x00};
	static const uint8_t inl_index[] = {0x00, 0x10, 0x02, 0x10,
					    0x01, 0x20, 0x00};
	static const uint8_t pcsp_leaf[] = {0x02, 0x10, 0x00};
	static const uint8_t pcln_leaf[] = {0x2a, 0x10, 0x00};
	size_t at = 72, pcfile_at, pcln_outer_at, pcsp_leaf_at, pcln_leaf_at;
	uint8_t *f;

	memset(s, 0, sizeof(*s));
	wr32(s->pcln, 0xfffffff1);
	s->pcln[6] = 1;
	s->pcln[7] = 8;
	wr64(s->pcln + 8, 2);  /* nfunc */
	wr64(s->pcln + 16, 1); /* nfiles */
	wr64(s->pcln + 24, 0); /* textStart: none, as in Go 1.26 */

	s->funcname = at;
	at = put(s->pcln, at, names, sizeof(names));
	at = (at + 3) & ~(size_t)3;
	s->cutab = at;
	wr32(s->pcln + at, 0);
	at += 4;
	s->filetab = at;
	at = put(s->pcln, at, files, sizeof(files));
	s->pctab = at;
	at++;
	s->pcsp_outer = at;
	at = put(s->pcln, at, pcsp_outer, sizeof(pcsp_outer));
	pcfile_at = at;
	at = put(s->pcln, at, pcfile, sizeof(pcfile));
	pcln_outer_at = at;
	at = put(s->pcln, at, pcln_outer, sizeof(pcln_outer));
	s->inl_index_table = at;
	at = put(s->pcln, at, inl_index, sizeof(inl_index));
	pcsp_leaf_at = at;
	at = put(s->pcln, at, pcsp_leaf, sizeof(pcsp_leaf));
	pcln_leaf_at = at;
	at = put(s->pcln, at, pcln_leaf, sizeof(pcln_leaf));
	at = (at + 7) & ~(size_t)7;

	s->functab = at;
	at += 3 * 8;
	s->func_outer = at;
	f = s->pcln + at;
	wr32(f + 0, 0); /* entryOff */
	wr32(f + 4, 0); /* nameOff */
	wr32(f + 16, (uint32_t)(s->pcsp_outer - s->pctab));
	wr32(f + 20, (uint32_t)(pcfile_at - s->pctab));
	wr32(f + 24, (uint32_t)(pcln_outer_at - s->pctab));
	wr32(f + 28, 3); /* npcdata */
	wr32(f + 32, 0); /* cuOffset */
	wr32(f + 36, 9); /* startLine */
	f[43] = 4;	 /* nfuncdata */
	wr32(f + 44 + 8, (uint32_t)(s->inl_index_table - s->pctab));
	wr32(f + 56, UINT32_MAX);
	wr32(f + 60, UINT32_MAX);
	wr32(f + 64, UINT32_MAX);
	wr32(f + 68, 0); /* FUNCDATA_InlTree: at gofunc */
	at += 72;
	s->func_leaf = at;
	f = s->pcln + at;
	wr32(f + 0, 0x40);
	wr32(f + 4, 11); /* "main.leaf.abi0" */
	wr32(f + 16, (uint32_t)(pcsp_leaf_at - s->pctab));
	wr32(f + 20, (uint32_t)(pcfile_at - s->pctab));
	wr32(f + 24, (uint32_t)(pcln_leaf_at - s->pctab));
	f[41] = CGOPROF_GO_FUNCFLAG_ASM;
	at += 44;

	wr32(s->pcln + s->functab + 0, 0x00);
	wr32(s->pcln + s->functab + 4, (uint32_t)(s->func_outer - s->functab));
	wr32(s->pcln + s->functab + 8, 0x40);
	wr32(s->pcln + s->functab + 12, (uint32_t)(s->func_leaf - s->functab));
	wr32(s->pcln + s->functab + 16, 0x50);

	at = (at + 7) & ~(size_t)7;
	s->inltree = at; /* inlinedCall{funcID, pad, nameOff, parentPc,
			  * startLine} */
	wr32(s->pcln + at + 4, 26); /* "main.inl" */
	wr32(s->pcln + at + 8, 0x0c);
	wr32(s->pcln + at + 12, 4);
	at += 16;
	s->pcln_size = at;

	wr64(s->pcln + 32, s->funcname);
	wr64(s->pcln + 40, s->cutab);
	wr64(s->pcln + 48, s->filetab);
	wr64(s->pcln + 56, s->pctab);
	wr64(s->pcln + 64, s->functab);

	/* moduledata: pcHeader, the sub-table slices, ftab, minpc, maxpc */
	wr64(s->module + 0, SYN_PCLN_VADDR);
	wr64(s->module + 8, SYN_PCLN_VADDR + s->funcname);
	wr64(s->module + 16, s->cutab - s->funcname);
	wr64(s->module + 32, SYN_PCLN_VADDR + s->cutab);
	wr64(s->module + 40, s->filetab - s->cutab);
	wr64(s->module + 56, SYN_PCLN_VADDR + s->filetab);
	wr64(s->module + 64, s->pctab - s->filetab);
	wr64(s->module + 80, SYN_PCLN_VADDR + s->pctab);
	wr64(s->module + 88, s->functab - s->pctab);
	wr64(s->module + 104, SYN_PCLN_VADDR + s->functab);
	wr64(s->module + 112, s->pcln_size - s->functab);
	wr64(s->module + 128, SYN_PCLN_VADDR + s->functab);
	wr64(s->module + 136, 3);
	wr64(s->module + 160, SYN_TEXT);
	wr64(s->module + 168, SYN_TEXT + 0x50);
	wr64(s->module + 176, SYN_TEXT);
	wr64(s->module + 320, SYN_PCLN_VADDR + s->inltree);

	memcpy(s->buildinfo, "\xff Go buildinf:", 14);
	s->buildinfo[14] = 8;
	s->buildinfo[15] = 2;
	s->buildinfo[32] = 8;
	memcpy(s->buildinfo + 33, "go1.99.1", 8);
}

struct syn_opts {
	const char *pcln_name; /* section name of the table */
	bool module;	       /* include .go.module */
	bool sections;	       /* section headers (else only PT_LOADs) */
};

/* Lays out an ELF image of @s into @img. */
static void syn_image(const struct syn *s, const struct syn_opts *o,
		      struct image *img)
{
	char shstr[128];
	size_t shstr_len, name_module, name_bi, name_shstr;
	size_t off_pcln = 0x1000, off_data = 0x2000, off_shstr = 0x3000;
	size_t off_shdr = 0x3100, nsh = 5;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	Elf64_Shdr *sh;

	/* "\0<pcln>\0.go.module\0.go.buildinfo\0.shstrtab\0" */
	shstr_len = (size_t)snprintf(shstr, sizeof(shstr),
				     "%c%s%c.go.module"
				     "%c.go.buildinfo%c.shstrtab",
				     0, o->pcln_name, 0, 0, 0) +
		    1;
	name_module = 1 + strlen(o->pcln_name) + 1;
	name_bi = name_module + strlen(".go.module") + 1;
	name_shstr = name_bi + strlen(".go.buildinfo") + 1;

	img->size = off_shdr + nsh * sizeof(Elf64_Shdr);
	img->bytes = calloc(1, img->size);
	assert_non_null(img->bytes);
	eh = (Elf64_Ehdr *)img->bytes;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 2;
	if (o->sections) {
		eh->e_shoff = off_shdr;
		eh->e_shentsize = sizeof(Elf64_Shdr);
		eh->e_shnum = (uint16_t)nsh;
		eh->e_shstrndx = 4;
	}
	ph = (Elf64_Phdr *)(img->bytes + eh->e_phoff);
	ph[0].p_type = PT_LOAD;
	ph[0].p_flags = PF_R;
	ph[0].p_offset = off_pcln;
	ph[0].p_vaddr = ph[0].p_paddr = SYN_PCLN_VADDR;
	ph[0].p_filesz = ph[0].p_memsz = s->pcln_size;
	ph[0].p_align = 0x1000;
	ph[1].p_type = PT_LOAD;
	ph[1].p_flags = PF_R | PF_W;
	ph[1].p_offset = off_data;
	ph[1].p_vaddr = ph[1].p_paddr = SYN_MODULE_VADDR;
	ph[1].p_filesz = ph[1].p_memsz = 0x400 + sizeof(s->buildinfo);
	ph[1].p_align = 0x1000;

	memcpy(img->bytes + off_pcln, s->pcln, s->pcln_size);
	if (o->module)
		memcpy(img->bytes + off_data, s->module, sizeof(s->module));
	memcpy(img->bytes + off_data + 0x400, s->buildinfo,
	       sizeof(s->buildinfo));
	memcpy(img->bytes + off_shstr, shstr, shstr_len);

	sh = (Elf64_Shdr *)(img->bytes + off_shdr);
	sh[1].sh_name = 1;
	sh[1].sh_type = SHT_PROGBITS;
	sh[1].sh_flags = SHF_ALLOC;
	sh[1].sh_addr = SYN_PCLN_VADDR;
	sh[1].sh_offset = off_pcln;
	sh[1].sh_size = s->pcln_size;
	sh[1].sh_addralign = 8;
	sh[2].sh_name = (uint32_t)name_module;
	sh[2].sh_type = SHT_PROGBITS;
	sh[2].sh_flags = SHF_ALLOC | SHF_WRITE;
	sh[2].sh_addr = SYN_MODULE_VADDR;
	sh[2].sh_offset = off_data;
	sh[2].sh_size = sizeof(s->module);
	sh[2].sh_addralign = 32;
	sh[3].sh_name = (uint32_t)name_bi;
	sh[3].sh_type = SHT_PROGBITS;
	sh[3].sh_flags = SHF_ALLOC | SHF_WRITE;
	sh[3].sh_addr = SYN_BUILDINFO_VADDR;
	sh[3].sh_offset = off_data + 0x400;
	sh[3].sh_size = sizeof(s->buildinfo);
	sh[3].sh_addralign = 16;
	sh[4].sh_name = (uint32_t)name_shstr;
	sh[4].sh_type = SHT_STRTAB;
	sh[4].sh_offset = off_shstr;
	sh[4].sh_size = shstr_len;
	sh[4].sh_addralign = 1;
	image_open(img);
	assert_non_null(img->elf);
}

static struct pclntab *syn_open(const struct syn *s, const struct syn_opts *o,
				struct image *img)
{
	syn_image(s, o, img);
	return pclntab__new(img->elf);
}

static const struct syn_opts syn_default = {".gopclntab", true, true};

static void check_syn_table(struct pclntab *tab)
{
	struct go_frame fr[4];
	struct go_func fn;
	uint64_t lo, hi;
	int32_t delta;

	assert_non_null(tab);
	assert_int_equal(pclntab__format(tab), PCLNTAB_GO120);
	pclntab__text_range(tab, &lo, &hi);
	assert_int_equal(lo, SYN_TEXT);
	assert_int_equal(hi, SYN_TEXT + 0x50);

	assert_int_equal(pclntab__find_func(tab, SYN_TEXT + 0x3f, &fn), 0);
	assert_string_equal(fn.name, "main.outer");
	assert_int_equal(fn.entry, SYN_TEXT);
	assert_int_equal(fn.end, SYN_TEXT + 0x40);
	assert_int_equal(fn.flag, 0);
	assert_int_equal(fn.index, 0);

	assert_int_equal(pclntab__sp_delta(tab, &fn, SYN_TEXT, &delta), 0);
	assert_int_equal(delta, 0);
	assert_int_equal(pclntab__sp_delta(tab, &fn, SYN_TEXT + 3, &delta), 0);
	assert_int_equal(delta, 0);
	assert_int_equal(pclntab__sp_delta(tab, &fn, SYN_TEXT + 4, &delta), 0);
	assert_int_equal(delta, 8);
	assert_int_equal(pclntab__sp_delta(tab, &fn, SYN_TEXT + 8, &delta), 0);
	assert_int_equal(delta, 24);
	assert_int_equal(pclntab__sp_delta(tab, &fn, SYN_TEXT + 0x3f, &delta),
			 0);
	assert_int_equal(delta, 24);

	assert_int_equal(pclntab__frames(tab, &fn, SYN_TEXT + 0x14, fr, 4), 2);
	assert_string_equal(fr[0].name, "main.inl");
	assert_string_equal(fr[0].file, "/src/a.go");
	assert_int_equal(fr[0].line, 5);
	assert_true(fr[0].inlined);
	assert_string_equal(fr[1].name, "main.outer");
	assert_string_equal(fr[1].file, "/src/a.go");
	assert_int_equal(fr[1].line, 10);
	assert_false(fr[1].inlined);
	assert_int_equal(pclntab__frames(tab, &fn, SYN_TEXT + 0x20, fr, 4), 1);
	assert_string_equal(fr[0].name, "main.outer");
	assert_int_equal(fr[0].line, 12);
	assert_int_equal(pclntab__frames(tab, &fn, SYN_TEXT + 0x2, fr, 4), 1);
	assert_int_equal(fr[0].line, 10);

	assert_int_equal(pclntab__find_func(tab, SYN_TEXT + 0x40, &fn), 0);
	assert_string_equal(fn.name, "main.leaf");
	assert_int_equal(fn.flag, CGOPROF_GO_FUNCFLAG_ASM);
	assert_int_equal(fn.end, SYN_TEXT + 0x50);
	assert_int_equal(pclntab__frames(tab, &fn, SYN_TEXT + 0x4f, fr, 4), 1);
	assert_string_equal(fr[0].name, "main.leaf");
	assert_int_equal(fr[0].line, 20);

	assert_int_equal(pclntab__find_func(tab, SYN_TEXT - 1, &fn), -ENOENT);
	assert_int_equal(pclntab__find_func(tab, SYN_TEXT + 0x50, &fn),
			 -ENOENT);
}

static void test_pclntab__synthetic_table(void **state)
{
	struct syn s;
	struct image img;
	struct pclntab *tab;
	char version[16];

	(void)state;
	syn_build(&s);
	tab = syn_open(&s, &syn_default, &img);
	check_syn_table(tab);
	pclntab__free(tab);
	assert_int_equal(
	    go_buildinfo__version(img.elf, version, sizeof(version)), 0);
	assert_string_equal(version, "go1.99.1");
	assert_int_equal(go_buildinfo__version(img.elf, version, 8), -ERANGE);
	image_release(&img);
}

/* The same table found by scanning: in a section with another name, and
 * in a binary without section headers (only PT_LOADs). */
static void test_pclntab__synthetic_found_by_scan(void **state)
{
	const struct syn_opts opts[] = {{".rodata", true, true},
					{".gopclntab", true, false}};
	struct syn s;

	(void)state;
	syn_build(&s);
	for (size_t i = 0; i < 2; i++) {
		struct image img;
		struct pclntab *tab = syn_open(&s, &opts[i], &img);
		char version[16];

		check_syn_table(tab);
		pclntab__free(tab);
		assert_int_equal(
		    go_buildinfo__version(img.elf, version, sizeof(version)),
		    0);
		assert_string_equal(version, "go1.99.1");
		image_release(&img);
	}
}

/* Sections that overlap in the file (a hostile binary: their sizes add
 * up to more than the file) are not read into one buffer but by libelf,
 * each alone: the table is still found through the file. Here
 * .go.buildinfo spans the whole file, at addresses that keep its bytes
 * where they were. */
/* The default synthetic binary, built into @s and @img: its section
 * headers, to be edited (img->elf is libelf's view of them before). */
static Elf64_Shdr *syn_headers(struct syn *s, struct image *img)
{
	syn_build(s);
	syn_image(s, &syn_default, img);
	return (Elf64_Shdr *)(img->bytes +
			      ((Elf64_Ehdr *)img->bytes)->e_shoff);
}

static void test_pclntab__file_overlapping_sections(void **state)
{
	struct syn s;
	struct image img;
	struct file_image f;
	struct pclntab *tab;
	Elf64_Shdr *sh = syn_headers(&s, &img);
	char version[16];

	(void)state;
	sh[3].sh_addr -= sh[3].sh_offset;
	sh[3].sh_offset = 0;
	sh[3].sh_size = img.size;
	file_open(&f, &img);
	assert_non_null(f.elf);
	tab = pclntab__new_fd(f.elf, f.fd);
	check_syn_table(tab);
	/* .go.buildinfo no longer starts with the magic: malformed, as
	 * libelf's reads find it */
	assert_int_equal(pclntab__go_version(tab, version, sizeof(version)),
			 -EINVAL);
	pclntab__free(tab);
	file_close(&f);
	image_release(&img);
}

/* Without a .go.buildinfo section the build info is searched for: the
 * magic at a 16-byte aligned address, not elsewhere (a copy at an odd
 * address before it is no build info), whether the table is read from
 * memory or from the file. */
static void test_pclntab__buildinfo_found_by_search(void **state)
{
	struct syn s;
	struct image img;
	struct file_image f;
	struct pclntab *tab;
	Elf64_Shdr *sh = syn_headers(&s, &img);
	char version[16], *name;

	(void)state;
	/* renamed, and starting 0x200 bytes earlier, with a copy of the
	 * magic and a version at an odd address there */
	name = (char *)img.bytes + sh[4].sh_offset + sh[3].sh_name;
	assert_string_equal(name, ".go.buildinfo");
	name[4] = 'X';
	sh[3].sh_offset -= 0x200;
	sh[3].sh_addr -= 0x200;
	sh[3].sh_size += 0x200;
	memcpy(img.bytes + sh[3].sh_offset + 0x101, s.buildinfo,
	       sizeof(s.buildinfo));
	memcpy(img.bytes + sh[3].sh_offset + 0x101 + 33, "go0.00.0", 8);
	elf_end(img.elf);
	image_open(&img);
	assert_non_null(img.elf);
	assert_int_equal(go_buildinfo__version(img.elf, version,
					       sizeof(version)),
			 0);
	assert_string_equal(version, "go1.99.1");
	file_open(&f, &img);
	tab = pclntab__new_fd(f.elf, f.fd);
	check_syn_table(tab);
	assert_int_equal(pclntab__go_version(tab, version, sizeof(version)),
			 0);
	assert_string_equal(version, "go1.99.1");
	pclntab__free(tab);
	file_close(&f);
	image_release(&img);
}

/* A table found by its magic alone is not believed: without a moduledata
 * that refers to it, or with one whose cross-references disagree (a
 * sub-table slice elsewhere, a maxpc that is not the last function's
 * end), the scan finds nothing. */
static void test_pclntab__scan_needs_moduledata(void **state)
{
	const struct syn_opts scan = {".rodata", true, true};
	const struct syn_opts scan_no_module = {".rodata", false, true};
	static const size_t patch[] = {56, 64, 80, 104, 128, 136, 168};
	struct syn s;
	struct image img;
	struct pclntab *tab;

	(void)state;
	syn_build(&s);
	errno = 0;
	assert_null(syn_open(&s, &scan_no_module, &img));
	assert_int_equal(errno, ENODATA);
	image_release(&img);
	for (size_t i = 0; i < sizeof(patch) / sizeof(patch[0]); i++) {
		struct syn bad = s;

		wr64(bad.module + patch[i], rd64(bad.module + patch[i]) + 0x100);
		tab = syn_open(&bad, &scan, &img);
		if (tab)
			fail_msg("moduledata +%zu patched: table still found",
				 patch[i]);
		image_release(&img);
	}
	/* the same moduledata, untouched, vouches for the table */
	tab = syn_open(&s, &scan, &img);
	check_syn_table(tab);
	pclntab__free(tab);
	image_release(&img);
}

/* Header textStart wins when set; without it and without moduledata there
 * is no way to place the functions. */
static void test_pclntab__synthetic_text_start(void **state)
{
	const struct syn_opts no_module = {".gopclntab", false, true};
	struct syn s;
	struct image img;
	struct pclntab *tab;
	struct go_frame fr[4];
	struct go_func fn;

	(void)state;
	syn_build(&s);
	errno = 0;
	assert_null(syn_open(&s, &no_module, &img));
	assert_int_equal(errno, ENODATA);
	image_release(&img);

	/* textStart in the header (Go 1.18-1.25), no moduledata: functions
	 * resolve, inlining is not available */
	wr64(s.pcln + 24, SYN_TEXT);
	tab = syn_open(&s, &no_module, &img);
	assert_non_null(tab);
	assert_int_equal(pclntab__find_func(tab, SYN_TEXT + 0x14, &fn), 0);
	assert_string_equal(fn.name, "main.outer");
	assert_int_equal(pclntab__frames(tab, &fn, SYN_TEXT + 0x14, fr, 4), 1);
	assert_string_equal(fr[0].name, "main.outer");
	assert_int_equal(fr[0].line, 5);
	pclntab__free(tab);
	image_release(&img);
}

static void test_pclntab__synthetic_hostile(void **state)
{
	struct syn base;

	(void)state;
	syn_build(&base);
	for (int c = 0; c < 9; c++) {
		struct syn s = base;
		struct image img;
		struct pclntab *tab;
		struct go_frame fr[4];
		struct go_func fn = {0};
		int32_t delta;
		int want_find = 0, want_frames = 2, want_sp = 0;

		switch (c) {
		case 0: /* inline tree index 1022, far outside the tree */
			memcpy(s.pcln + s.inl_index_table,
			       "\x00\x10\xfe\x0f\x10\x00\x00", 7);
			want_frames = -EINVAL;
			break;
		case 1: /* inline name offset past funcnametab */
			wr32(s.pcln + s.inltree + 4, 4096);
			want_frames = -EINVAL;
			break;
		case 2: /* parentPc outside the function */
			wr32(s.pcln + s.inltree + 8, 0x40);
			want_frames = -EINVAL;
			break;
		case 3: /* negative parentPc */
			wr32(s.pcln + s.inltree + 8, UINT32_MAX);
			want_frames = -EINVAL;
			break;
		case 4: /* pcsp: a 6-byte varint */
			memset(s.pcln + s.pcsp_outer, 0xff, 5);
			want_sp = -EINVAL;
			break;
		case 5: /* npcdata huge: the _func runs off the table */
			wr32(s.pcln + s.func_outer + 28, UINT32_MAX);
			want_find = -EINVAL;
			break;
		case 6: /* _func entry disagrees with functab */
			wr32(s.pcln + s.func_outer, 0x10);
			want_find = -EINVAL;
			break;
		case 7: /* _func header runs off the end of the table */
			wr32(s.pcln + s.functab + 4,
			     (uint32_t)(s.pcln_size - s.functab - 10));
			want_find = -EINVAL;
			break;
		case 8: /* file index outside cutab: no file, still a frame */
			wr32(s.pcln + s.func_outer + 32, 1000);
			break;
		}
		tab = syn_open(&s, &syn_default, &img);
		assert_non_null(tab);
		assert_int_equal(pclntab__find_func(tab, SYN_TEXT + 0x14, &fn),
				 want_find);
		if (want_find == 0) {
			assert_int_equal(
			    pclntab__frames(tab, &fn, SYN_TEXT + 0x14, fr, 4),
			    want_frames);
			assert_int_equal(pclntab__sp_delta(
					     tab, &fn, SYN_TEXT + 0x14, &delta),
					 want_sp);
			if (c == 8) {
				assert_null(fr[0].file);
				assert_int_equal(fr[0].line, 5);
			}
		}
		pclntab__free(tab);
		image_release(&img);
	}
}

static void test_pclntab__not_go(void **state)
{
	struct syn s;
	struct image img;
	char version[16];

	(void)state;
	syn_build(&s);
	memset(s.pcln, 0, sizeof(s.pcln));
	memset(s.buildinfo, 0, sizeof(s.buildinfo));
	errno = 0;
	assert_null(
	    syn_open(&s, &(struct syn_opts){".rodata", true, true}, &img));
	assert_int_equal(errno, ENODATA);
	/* a .go.buildinfo section without the magic is malformed */
	assert_int_equal(
	    go_buildinfo__version(img.elf, version, sizeof(version)), -EINVAL);
	image_release(&img);
	errno = 0;
	assert_null(pclntab__new(NULL));
	assert_int_equal(errno, EINVAL);
	pclntab__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pclntab__synthetic_table),
	    cmocka_unit_test(test_pclntab__synthetic_found_by_scan),
	    cmocka_unit_test(test_pclntab__scan_needs_moduledata),
	    cmocka_unit_test(test_pclntab__synthetic_text_start),
	    cmocka_unit_test(test_pclntab__synthetic_hostile),
	    cmocka_unit_test(test_pclntab__not_go),
	    cmocka_unit_test(test_pclntab__file_overlapping_sections),
	    cmocka_unit_test(test_pclntab__buildinfo_found_by_search),
	    cmocka_unit_test(test_pclntab__file_reads_match_memory),
	    cmocka_unit_test(test_pclntab__format_matches_toolchain),
	    cmocka_unit_test(test_pclntab__finds_every_function_symbol),
	    cmocka_unit_test(test_pclntab__frames_inlined_method_closure),
	    cmocka_unit_test(test_pclntab__sp_delta_prologue),
	    cmocka_unit_test(test_pclntab__outside_text_is_enoent),
	    cmocka_unit_test(test_pclntab__buildinfo_version),
	    cmocka_unit_test(test_pclntab__truncated_file),
	    cmocka_unit_test(test_pclntab__functab_offset_out_of_range),
	    cmocka_unit_test(test_pclntab__nfunc_huge),
	    cmocka_unit_test(test_pclntab__bad_header),
	    cmocka_unit_test(test_pclntab__name_offset_past_end),
	    cmocka_unit_test(test_pclntab__name_without_nul),
	    cmocka_unit_test(test_pclntab__file_truncated_while_read),
	    cmocka_unit_test(test_pclntab__pcsp_truncated),
	    cmocka_unit_test(test_pclntab__random_corruption),
	};

	elf_version(EV_CURRENT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
