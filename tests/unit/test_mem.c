// SPDX-License-Identifier: MIT
/* cgoprof mem's smaps parser, classifier and totals on hand-written smaps
 * text and a fake process memory, and what mem asks of the ELF cache (the
 * PT_LOAD that a file mapping maps, whether a program is Go) on hand-built
 * ELF files, with truncated and hostile input. */
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

#include "cgoprof/elfobj.h"
#include "cgoprof/mem.h"

#define MIB (1ULL << 20)

static void parse(struct mem_maps *m, const char *text)
{
	memset(m, 0, sizeof(*m));
	assert_int_equal(mem_maps__parse(m, text, strlen(text)), 0);
}

/* ---- a fake process: memory regions and resident pages ------------------- */

struct region {
	uint64_t addr;
	size_t len;
	uint8_t *bytes;
};

struct fake {
	struct region r[16];
	int n;
	uint64_t present_lo, present_hi;	/* resident pages; else none */
	int touched;			/* touched_by's answer */
	unsigned reads;
};

static uint8_t *fake_map(struct fake *f, uint64_t addr, size_t len)
{
	struct region *r = &f->r[f->n++];

	r->addr = addr;
	r->len = len;
	r->bytes = calloc(1, len);
	assert_non_null(r->bytes);
	return r->bytes;
}

static void fake_free(struct fake *f)
{
	for (int i = 0; i < f->n; i++)
		free(f->r[i].bytes);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static int fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct fake *f = ctx;

	f->reads++;
	for (int i = 0; i < f->n; i++) {
		const struct region *r = &f->r[i];

		if (addr >= r->addr && addr - r->addr <= r->len &&
		    len <= r->len - (addr - r->addr)) {
			memcpy(buf, r->bytes + (addr - r->addr), len);
			return 0;
		}
	}
	return -EFAULT;
}

static int fake_present(void *ctx, uint64_t lo, uint64_t hi,
			uint8_t *present)
{
	struct fake *f = ctx;

	for (uint64_t a = lo; a < hi; a += 4096)
		present[(a - lo) / 4096] =
			a >= f->present_lo && a < f->present_hi;
	return 0;
}

static int fake_touched(void *ctx, uint64_t lo, uint64_t hi)
{
	(void)lo;
	(void)hi;
	return ((struct fake *)ctx)->touched;
}

static uint64_t fake_image_end(void *ctx, const struct mem_vma *v)
{
	(void)ctx;
	/* every file's writable segment has 8 KiB of bss after it */
	return v->end + 8192;
}

static struct mem_probe probe_of(struct fake *f, bool is_go)
{
	return (struct mem_probe){
		.is_go = is_go,
		.exe = "/app/bin",
		.read = fake_read,
		.present = fake_present,
		.touched_by = fake_touched,
		.ctx = f,
	};
}

/* The category and basis at @addr. */
static void expect_at(const struct mem_class *c, uint64_t addr,
		      enum mem_cat cat, enum mem_basis basis)
{
	const struct mem_segment *s = mem_class__find(c, addr);

	if (!s)
		fail_msg("at 0x%llx: no segment", (unsigned long long)addr);
	if (s->cat != cat || s->basis != basis)
		fail_msg("at 0x%llx: %s/%s, want %s/%s",
			 (unsigned long long)addr, mem_cat__name(s->cat),
			 mem_basis__name(s->basis), mem_cat__name(cat),
			 mem_basis__name(basis));
}

/* ---- parser -------------------------------------------------------------- */

static const char smaps_text[] =
	"00400000-00402000 r--p 00000000 fe:00 10199600                   "
	"/app/bin\n"
	"Size:                  8 kB\n"
	"KernelPageSize:        4 kB\n"
	"Rss:                   8 kB\n"
	"Pss:                   4 kB\n"
	"Swap:                  0 kB\n"
	"AnonHugePages:         0 kB\n"
	"THPeligible:    0\n"
	"VmFlags: rd mr mw me sd \n"
	"7f00000000-7f00004000 rw-s 00001000 00:05 77   /memfd:my buf (deleted)\n"
	"Rss:                  12 kB\n"
	"Swap:                  4 kB\n"
	"7ffc00000000-7ffc00001000 rw-p 00000000 00:00 0\n";

static void test_mem__parse_smaps(void **state)
{
	struct mem_maps m;

	(void)state;
	parse(&m, smaps_text);
	assert_int_equal(m.n, 3);
	assert_int_equal(m.bad_lines, 0);
	assert_int_equal(m.vmas[0].start, 0x400000);
	assert_int_equal(m.vmas[0].end, 0x402000);
	assert_int_equal(m.vmas[0].prot, PROT_READ);
	assert_false(m.vmas[0].shared);
	assert_int_equal(m.vmas[0].major, 0xfe);
	assert_int_equal(m.vmas[0].ino, 10199600);
	assert_string_equal(m.vmas[0].name, "/app/bin");
	assert_true(m.vmas[0].has_rss);
	assert_int_equal(m.vmas[0].rss, 8192);
	assert_int_equal(m.vmas[0].pss, 4096);
	assert_int_equal(m.vmas[1].prot, PROT_READ | PROT_WRITE);
	assert_true(m.vmas[1].shared);
	assert_int_equal(m.vmas[1].pgoff, 0x1000);
	assert_string_equal(m.vmas[1].name, "/memfd:my buf (deleted)");
	assert_int_equal(m.vmas[1].rss, 12288);
	assert_int_equal(m.vmas[1].swap, 4096);
	/* a maps line: no counters */
	assert_string_equal(m.vmas[2].name, "");
	assert_false(m.vmas[2].has_rss);
	mem_maps__release(&m);
	assert_int_equal(m.n, 0);
}

static void test_mem__parse_hostile(void **state)
{
	static const char nul_text[] = "00400000-0040\0" "000 r--p\n";
	static const char text[] =
		"Rss: 4 kB\n"	/* before any mapping */
		"garbage line\n"
		"00400000-00402000 r--p 00000000 fe:00 1 /a\n"
		"Rss: 99999999999999999999999 kB\n"	/* overflows */
		"Rss: 18014398509481983 kB\n"	/* * 1024 overflows */
		"Pss: 12345 kB\n"		/* more than the mapping */
		"Swap: 4 MB\n"			/* not kB */
		"Rss\n"
		"10000000000000000-10000000001000 rw-p 0 00:00 0\n"
		"00500000-00400000 rw-p 00000000 00:00 0\n"	/* start > end */
		"00500001-00502000 rw-p 00000000 00:00 0\n"	/* unaligned */
		"00500000-00502000 rwzp 00000000 00:00 0\n"	/* perms */
		"00500000-00502000 rw-p 00000000 fffffffffff:00 0\n"
		"00500000-00502000 rw-p 00000000 00:00 123456789012345678901\n"
		"00500000-00502000 rw-p 00000000 00:00 0x\n"
		"00401000-00403000 rw-p 00000000 00:00 0\n"	/* overlaps */
		"00300000-00301000 rw-p 00000000 00:00 0\n"	/* out of order */
		"00600000-00601000 rw-p 00000000 00:00 0 [heap]\n"
		"Rss:                   4 kB\n"
		"00700000-00701000 rw-p 00000000 00:00 0 [st";	/* cut off */
	struct mem_maps m;

	(void)state;
	parse(&m, text);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.vmas[0].name, "/a");
	/* the overflowing value is skipped; values larger than the mapping
	 * are clamped to it */
	assert_int_equal(m.vmas[0].rss, 8192);
	assert_true(m.vmas[0].has_rss);
	assert_int_equal(m.vmas[0].pss, 8192);
	assert_int_equal(m.vmas[0].swap, 0);
	assert_string_equal(m.vmas[1].name, "[heap]");
	assert_int_equal(m.vmas[1].rss, 4096);
	assert_true(m.bad_lines >= 14);
	mem_maps__release(&m);

	/* nothing, a lone newline, NULs, no newline at all */
	parse(&m, "");
	assert_int_equal(m.n, 0);
	parse(&m, "\n\n");
	assert_int_equal(m.n, 0);
	assert_int_equal(mem_maps__parse(&m, nul_text, sizeof(nul_text) - 1),
			 0);
	assert_int_equal(m.n, 0);
	mem_maps__release(&m);
	parse(&m, "00400000-00402000 r--p 00000000 fe:00 1 /a");
	assert_int_equal(m.n, 0);
	assert_int_equal(m.bad_lines, 1);
	mem_maps__release(&m);
}

static void test_mem__parse_long_name(void **state)
{
	size_t n = 1 << 16;
	char *text = malloc(n + 128);
	struct mem_maps m;
	int k;

	(void)state;
	assert_non_null(text);
	k = snprintf(text, 128, "00400000-00402000 r--p 00000000 fe:00 1 /");
	memset(text + k, 'x', n);
	strcpy(text + k + n, "\nRss: 8 kB\n");
	parse(&m, text);
	assert_int_equal(m.n, 1);
	assert_int_equal(strlen(m.vmas[0].name), n + 1);
	assert_int_equal(m.vmas[0].rss, 8192);
	mem_maps__release(&m);
	free(text);
}

/* ---- classifier ---------------------------------------------------------- */

static void test_mem__classify_by_name(void **state)
{
	static const char text[] =
		"00400000-00402000 r--p 00000000 fe:00 7 /app/bin\n"
		"00402000-00404000 rw-p 00002000 fe:00 7 /app/bin\n"
		"00404000-00410000 rw-p 00000000 00:00 0\n"	/* bss */
		"01000000-02000000 rw-p 00000000 00:00 0 [heap]\n"
		"7f0000000000-7f0000001000 r-xp 00000000 fe:00 8 "
		"/usr/lib/libc.so.6\n"
		"7f0000001000-7f0000002000 rw-p 00001000 fe:00 8 "
		"/usr/lib/libc.so.6\n"
		"7f0000002000-7f0000004000 rw-p 00000000 00:00 0\n"
		"7f0000010000-7f0000011000 r-xp 00000000 fe:00 9 "
		"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n"
		"7f0000020000-7f0000021000 rw-s 00000000 00:01 10 "
		"/memfd:buf (deleted)\n"
		"7f0000030000-7f0000031000 rw-p 00000000 00:00 0 "
		"[anon: Go: heap]\n"
		"7f0000040000-7f0000041000 rw-p 00000000 00:00 0 "
		"[anon: Go: page summary]\n"
		"7f0000050000-7f0000051000 rw-p 00000000 00:00 0 "
		"[anon: glibc: malloc arena]\n"
		"7f0000060000-7f0000061000 rw-p 00000000 00:00 0 "
		"[anon: glibc: pthread stack: 77]\n"
		"7f0000070000-7f0000071000 r--p 00000000 00:00 0 [vvar]\n"
		"7f0000071000-7f0000072000 r-xp 00000000 00:00 0 [vdso]\n"
		"7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0 [stack]\n";
	struct fake f = { .touched = -1 };
	struct mem_probe p = probe_of(&f, false);
	struct mem_maps m;
	struct mem_class c = { 0 };

	(void)state;
	p.image_end = fake_image_end;
	parse(&m, text);
	assert_int_equal(mem_class__build(&c, &m, &p), 0);
	expect_at(&c, 0x400000, MEM_EXECUTABLE, MEM_BASIS_NAMED);
	expect_at(&c, 0x402000, MEM_EXECUTABLE, MEM_BASIS_NAMED);
	/* bss up to the segment's end (8 KiB here), then the rest */
	expect_at(&c, 0x404000, MEM_EXECUTABLE, MEM_BASIS_LAYOUT);
	expect_at(&c, 0x405000, MEM_EXECUTABLE, MEM_BASIS_LAYOUT);
	expect_at(&c, 0x406000, MEM_OTHER_ANON, MEM_BASIS_REST);
	expect_at(&c, 0x1000000, MEM_C_HEAP, MEM_BASIS_NAMED);
	expect_at(&c, 0x7f0000000000, MEM_LIBRARIES, MEM_BASIS_NAMED);
	assert_string_equal(mem_class__find(&c, 0x7f0000000000)->lib,
			    "libc.so.6");
	expect_at(&c, 0x7f0000002000, MEM_LIBRARIES, MEM_BASIS_LAYOUT);
	assert_string_equal(mem_class__find(&c, 0x7f0000002000)->lib,
			    "libc.so.6");
	expect_at(&c, 0x7f0000010000, MEM_LOADER, MEM_BASIS_NAMED);
	expect_at(&c, 0x7f0000020000, MEM_OTHER_ANON, MEM_BASIS_NAMED);
	expect_at(&c, 0x7f0000030000, MEM_GO_HEAP, MEM_BASIS_NAMED);
	expect_at(&c, 0x7f0000040000, MEM_GO_RUNTIME, MEM_BASIS_NAMED);
	expect_at(&c, 0x7f0000050000, MEM_C_HEAP, MEM_BASIS_NAMED);
	expect_at(&c, 0x7f0000060000, MEM_THREAD_STACKS, MEM_BASIS_NAMED);
	expect_at(&c, 0x7f0000070000, MEM_OTHER_ANON, MEM_BASIS_NAMED);
	expect_at(&c, 0x7f0000071000, MEM_LIBRARIES, MEM_BASIS_NAMED);
	expect_at(&c, 0x7ffc00000000, MEM_THREAD_STACKS, MEM_BASIS_NAMED);
	assert_null(mem_class__find(&c, 0x300000));
	assert_null(mem_class__find(&c, 0x7f0000004000));
	/* segments cover every mapping, in order, without overlap */
	for (size_t i = 1; i < c.n; i++)
		assert_true(c.segs[i - 1].end <= c.segs[i].start);
	mem_class__release(&c);
	mem_maps__release(&m);
	fake_free(&f);
}

/* Go 1.19 puts its first arena at 0xc000000000, Go 1.26 at a random
 * 64 MiB-aligned address, mapped rw from a 4 MiB-aligned offset. */
static void test_mem__classify_go_arenas(void **state)
{
	static const char text[] =
		"c000000000-c004400000 rw-p 00000000 00:00 0\n"
		"c004400000-c008000000 ---p 00000000 00:00 0\n"
		"1ef384000000-1ef386400000 ---p 00000000 00:00 0\n"
		"1ef386400000-1ef38a800000 rw-p 00000000 00:00 0\n"
		"1ef38a800000-1ef38c000000 ---p 00000000 00:00 0\n"
		/* aligned, but not whole blocks: runtime metadata */
		"7f4bc4000000-7f4bc5000000 rw-p 00000000 00:00 0\n"
		/* whole blocks, not aligned at a mapping start */
		"7f4bc9e00000-7f4bddbe7000 ---p 00000000 00:00 0\n"
		"7f4bddbe7000-7f4bddbe8000 rw-p 00000000 00:00 0\n"
		"7f4bddbe8000-7f4bfdbe7000 ---p 00000000 00:00 0\n";
	struct fake f = { .touched = -1 };
	struct mem_probe p = probe_of(&f, true);
	struct mem_maps m;
	struct mem_class c = { 0 };

	(void)state;
	parse(&m, text);
	assert_int_equal(mem_class__build(&c, &m, &p), 0);
	expect_at(&c, 0xc000000000, MEM_GO_HEAP, MEM_BASIS_LAYOUT);
	expect_at(&c, 0xc004400000, MEM_GO_HEAP, MEM_BASIS_LAYOUT);
	expect_at(&c, 0x1ef384000000, MEM_GO_HEAP, MEM_BASIS_LAYOUT);
	expect_at(&c, 0x1ef386400000, MEM_GO_HEAP, MEM_BASIS_LAYOUT);
	expect_at(&c, 0x1ef38a800000, MEM_GO_HEAP, MEM_BASIS_LAYOUT);
	expect_at(&c, 0x7f4bc4000000, MEM_GO_RUNTIME, MEM_BASIS_GUESS);
	expect_at(&c, 0x7f4bddbe7000, MEM_GO_RUNTIME, MEM_BASIS_GUESS);
	assert_true(mem_class__find(&c, 0x7f4bc4000000)->unrecognised);
	mem_class__release(&c);

	/* not a Go program: no Go heap, and the rest is other_anon */
	p.is_go = false;
	assert_int_equal(mem_class__build(&c, &m, &p), 0);
	expect_at(&c, 0xc000000000, MEM_OTHER_ANON, MEM_BASIS_REST);
	mem_class__release(&c);
	mem_maps__release(&m);
	fake_free(&f);
}

/* glibc: a non-main arena's heap_info, mmapped chunks merged into one
 * mapping with other memory, and headers that lie. */
static void test_mem__classify_glibc(void **state)
{
	static const char text[] =
		/* 64 KiB of something, chunks of 4 MiB + 4 KiB and 128 KiB,
		 * then 8 KiB of something: one mapping */
		"7f0000000000-7f0000433000 rw-p 00000000 00:00 0\n"
		/* a header whose size runs past the mapping */
		"7f1000000000-7f1000010000 rw-p 00000000 00:00 0\n"
		/* a header that is not IS_MMAPPED, one not page-sized */
		"7f2000000000-7f2000010000 rw-p 00000000 00:00 0\n"
		"7f3000000000-7f3000010000 rw-p 00000000 00:00 0\n"
		/* a heap of a glibc arena */
		"7f34d0000000-7f34d0021000 rw-p 00000000 00:00 0\n"
		"7f34d0021000-7f34d4000000 ---p 00000000 00:00 0\n"
		/* aligned, rw then ---p, but not a heap_info */
		"7f4000000000-7f4000021000 rw-p 00000000 00:00 0\n"
		"7f4000021000-7f4004000000 ---p 00000000 00:00 0\n";
	struct fake f = { .touched = -1 };
	struct mem_probe p = probe_of(&f, false);
	struct mem_maps m;
	struct mem_class c = { 0 };
	uint8_t *b;

	(void)state;
	/* heap_info: ar_ptr just after it, prev NULL, size, mprotect_size */
	b = fake_map(&f, 0x7f34d0000000, 64);
	put64(b, 0x7f34d0000030);
	put64(b + 16, 0x21000);
	put64(b + 24, 0x21000);
	b = fake_map(&f, 0x7f0000000000, 0x433000);
	put64(b + 0x10000 + 8, (0x401000) | 2);
	put64(b + 0x411000 + 8, (128 << 10) | 2);
	put64(b + 0x431000, 0xdeadbeef);	/* not a header */
	b = fake_map(&f, 0x7f1000000000, 0x10000);
	put64(b + 8, 0x20000 | 2);
	b = fake_map(&f, 0x7f2000000000, 0x10000);
	put64(b + 8, 0x10000 | 1);
	b = fake_map(&f, 0x7f3000000000, 0x10000);
	put64(b + 8, 0x10010 | 2);
	b = fake_map(&f, 0x7f4000000000, 64);
	put64(b, 0x1234);
	f.present_lo = 0x7f0000000000;
	f.present_hi = 0x7f0000433000;
	parse(&m, text);
	assert_int_equal(mem_class__build(&c, &m, &p), 0);
	expect_at(&c, 0x7f34d0000000, MEM_C_HEAP, MEM_BASIS_VERIFIED);
	expect_at(&c, 0x7f34d0021000, MEM_C_HEAP, MEM_BASIS_VERIFIED);
	expect_at(&c, 0x7f0000000000, MEM_OTHER_ANON, MEM_BASIS_REST);
	expect_at(&c, 0x7f000000ffff, MEM_OTHER_ANON, MEM_BASIS_REST);
	expect_at(&c, 0x7f0000010000, MEM_C_HEAP, MEM_BASIS_VERIFIED);
	expect_at(&c, 0x7f0000410fff, MEM_C_HEAP, MEM_BASIS_VERIFIED);
	expect_at(&c, 0x7f0000411000, MEM_C_HEAP, MEM_BASIS_VERIFIED);
	expect_at(&c, 0x7f0000430fff, MEM_C_HEAP, MEM_BASIS_VERIFIED);
	expect_at(&c, 0x7f0000431000, MEM_OTHER_ANON, MEM_BASIS_REST);
	expect_at(&c, 0x7f1000000000, MEM_OTHER_ANON, MEM_BASIS_REST);
	expect_at(&c, 0x7f2000000000, MEM_OTHER_ANON, MEM_BASIS_REST);
	expect_at(&c, 0x7f3000000000, MEM_OTHER_ANON, MEM_BASIS_REST);
	expect_at(&c, 0x7f4000000000, MEM_OTHER_ANON, MEM_BASIS_REST);
	mem_class__release(&c);

	/* without live reads, only the shape: a guess */
	p.read = NULL;
	assert_int_equal(mem_class__build(&c, &m, &p), 0);
	expect_at(&c, 0x7f34d0000000, MEM_C_HEAP, MEM_BASIS_GUESS);
	expect_at(&c, 0x7f4000000000, MEM_C_HEAP, MEM_BASIS_GUESS);
	expect_at(&c, 0x7f0000010000, MEM_OTHER_ANON, MEM_BASIS_REST);
	mem_class__release(&c);
	mem_maps__release(&m);
	fake_free(&f);
}

static void test_mem__classify_stacks(void **state)
{
	static const char text[] =
		/* guard + stack with a thread descriptor at its top */
		"7f0000000000-7f0000001000 ---p 00000000 00:00 0\n"
		"7f0000001000-7f0000801000 rw-p 00000000 00:00 0\n"
		/* a descriptor without a guard: ld.so's for the main thread */
		"7f1000000000-7f1000004000 rw-p 00000000 00:00 0\n"
		/* a blocked thread's stack pointer */
		"7f2000000000-7f2000100000 rw-p 00000000 00:00 0\n";
	static const uint64_t sps[] = { 0x7f20000ffe00, 0x1234 };
	struct fake f = { .touched = -1 };
	struct mem_probe p = probe_of(&f, false);
	struct mem_maps m;
	struct mem_class c = { 0 };
	uint64_t pd = 0x7f0000801000 - 0x900, pd2 = 0x7f1000004000 - 0x900;
	uint8_t *b;

	(void)state;
	b = fake_map(&f, 0x7f0000801000 - 8192, 8192);
	put64(b + 8192 - 0x900, pd);
	put64(b + 8192 - 0x900 + 8, 0x7f0000700000);	/* dtv */
	put64(b + 8192 - 0x900 + 16, pd);
	b = fake_map(&f, 0x7f1000004000 - 8192, 8192);
	put64(b + 8192 - 0x900, pd2);
	put64(b + 8192 - 0x900 + 8, 0x7f0000700000);
	put64(b + 8192 - 0x900 + 16, pd2);
	p.sps = sps;
	p.nsps = 2;
	parse(&m, text);
	assert_int_equal(mem_class__build(&c, &m, &p), 0);
	expect_at(&c, 0x7f0000000000, MEM_THREAD_STACKS, MEM_BASIS_VERIFIED);
	expect_at(&c, 0x7f0000001000, MEM_THREAD_STACKS, MEM_BASIS_VERIFIED);
	expect_at(&c, 0x7f1000000000, MEM_OTHER_ANON, MEM_BASIS_REST);
	expect_at(&c, 0x7f2000000000, MEM_THREAD_STACKS, MEM_BASIS_VERIFIED);
	mem_class__release(&c);

	/* without live reads: guard below and stack-sized, a guess */
	p.read = NULL;
	p.nsps = 0;
	assert_int_equal(mem_class__build(&c, &m, &p), 0);
	expect_at(&c, 0x7f0000001000, MEM_THREAD_STACKS, MEM_BASIS_GUESS);
	expect_at(&c, 0x7f2000000000, MEM_OTHER_ANON, MEM_BASIS_REST);
	mem_class__release(&c);
	mem_maps__release(&m);
	fake_free(&f);
}

/* What faults say about memory no rule recognised. */
static void test_mem__classify_touched_by(void **state)
{
	static const char text[] = "7f0000000000-7f0000010000 rw-p 0 00:00 0\n";
	struct fake f = { .touched = MEM_OTHER_ANON };
	struct mem_probe p = probe_of(&f, true);
	struct mem_maps m;
	struct mem_class c = { 0 };

	(void)state;
	parse(&m, text);
	assert_int_equal(mem_class__build(&c, &m, &p), 0);
	expect_at(&c, 0x7f0000000000, MEM_OTHER_ANON, MEM_BASIS_GUESS);
	f.touched = MEM_GO_RUNTIME;
	assert_int_equal(mem_class__build(&c, &m, &p), 0);
	expect_at(&c, 0x7f0000000000, MEM_GO_RUNTIME, MEM_BASIS_GUESS);
	f.touched = -1;
	p.is_go = false;
	assert_int_equal(mem_class__build(&c, &m, &p), 0);
	expect_at(&c, 0x7f0000000000, MEM_OTHER_ANON, MEM_BASIS_REST);
	mem_class__release(&c);
	mem_maps__release(&m);
	fake_free(&f);
}

/* ---- totals -------------------------------------------------------------- */

static void test_mem__totals(void **state)
{
	static const char text[] =
		"00400000-00402000 r-xp 00000000 fe:00 7 /app/bin\n"
		"Rss: 8 kB\n"
		"01000000-01100000 rw-p 00000000 00:00 0 [heap]\n"
		"Rss: 100 kB\n"
		"c000000000-c004000000 rw-p 00000000 00:00 0\n"
		"Rss: 65536 kB\n"
		"7f0000000000-7f0000001000 r-xp 00000000 fe:00 8 /l/libb.so\n"
		"Rss: 4 kB\n"
		"7f0000001000-7f0000003000 r-xp 00000000 fe:00 9 /l/liba.so\n"
		"Rss: 8 kB\n"
		"7f0000003000-7f0000004000 rw-p 00001000 fe:00 9 /l/liba.so\n"
		"Rss: 4 kB\n"
		/* 16 KiB of something, then a 128 KiB chunk: resident pages
		 * 2 and 3 of the first part, all 32 of the chunk */
		"7f1000000000-7f1000024000 rw-p 00000000 00:00 0\n"
		"Rss: 136 kB\n";
	struct fake f = { .touched = -1 };
	struct mem_probe p = probe_of(&f, true);
	struct mem_maps m;
	struct mem_class c = { 0 };
	struct mem_totals t = { 0 }, copy = { 0 };
	uint8_t *b;

	(void)state;
	b = fake_map(&f, 0x7f1000000000, 0x24000);
	put64(b + 0x4000 + 8, 0x20000 | 2);
	f.present_lo = 0x7f1000002000;
	f.present_hi = 0x7f1000024000;
	parse(&m, text);
	assert_int_equal(mem_class__build(&c, &m, &p), 0);
	assert_int_equal(mem_totals__sum(&t, &m, &c, &p), 0);
	assert_int_equal(t.rss, (8 + 100 + 4 + 8 + 4 + 136 + 65536) * 1024ULL);
	assert_int_equal(t.cat[MEM_EXECUTABLE], 8192);
	assert_int_equal(t.cat[MEM_C_HEAP], 100 * 1024 + 128 * 1024);
	assert_int_equal(t.cat[MEM_GO_RUNTIME], 8 * 1024);
	assert_int_equal(t.cat[MEM_GO_HEAP], 64 * MIB);
	assert_int_equal(t.cat[MEM_LIBRARIES], 16 * 1024);
	assert_int_equal(t.basis[MEM_C_HEAP][MEM_BASIS_VERIFIED], 128 * 1024);
	assert_int_equal(t.basis[MEM_C_HEAP][MEM_BASIS_NAMED], 100 * 1024);
	assert_int_equal(mem_totals__outside_go_heap(&t),
			 t.rss - 64 * MIB - 8 * 1024);
	/* per library, largest first */
	assert_int_equal(t.nlibs, 2);
	assert_string_equal(t.libs[0].name, "liba.so");
	assert_int_equal(t.libs[0].rss, 12 * 1024);
	assert_string_equal(t.libs[1].name, "libb.so");
	assert_int_equal(mem_totals__copy(&copy, &t), 0);
	assert_int_equal(copy.nlibs, 2);
	assert_string_equal(copy.libs[1].name, "libb.so");
	assert_ptr_not_equal(copy.libs, t.libs);

	/* without resident pages a split mapping is shared by length */
	p.present = NULL;
	assert_int_equal(mem_totals__sum(&t, &m, &c, &p), 0);
	assert_int_equal(t.cat[MEM_GO_RUNTIME] + t.cat[MEM_C_HEAP],
			 (136 + 100) * 1024);
	assert_int_equal(t.cat[MEM_GO_RUNTIME], 136 * 1024 * 16 / 144);
	mem_totals__release(&t);
	mem_totals__release(&copy);
	mem_class__release(&c);
	mem_maps__release(&m);
	fake_free(&f);
}

/* No library at all: nothing to sort (qsort(NULL, 0) is undefined; found
 * by fuzz_maps, fuzz/regress/maps). */
static void test_mem__totals_no_library(void **state)
{
	static const char text[] =
		"7f0000000000-7f0000010000 rw-p 00000000 00:00 0\n"
		"Rss: 16 kB\n";
	struct fake f = { .touched = -1 };
	struct mem_probe p = probe_of(&f, false);
	struct mem_maps m;
	struct mem_class c = { 0 };
	struct mem_totals t = { 0 };

	(void)state;
	parse(&m, text);
	assert_int_equal(mem_class__build(&c, &m, &p), 0);
	assert_int_equal(mem_totals__sum(&t, &m, &c, &p), 0);
	assert_int_equal(t.nlibs, 0);
	assert_null(t.libs);
	assert_int_equal(t.cat[MEM_OTHER_ANON], 16 * 1024);
	mem_totals__release(&t);
	mem_class__release(&c);
	mem_maps__release(&m);
	fake_free(&f);
}

/* ---- ELF files, through the ELF cache ------------------------------------ */

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* An ELF header, 2 program headers (PT_LOAD, PT_NOTE), 3 sections. */
static size_t build_elf(uint8_t *e, const char *go_section)
{
	static const char strtab[] = "\0.text\0.shstrtab\0.go.buildinfo\0";
	uint8_t *ph = e + 64, *sh = e + 512;

	memset(e, 0, 1024);
	memcpy(e, "\177ELF\2\1\1", 7);
	put64(e + 32, 64);	/* e_phoff */
	put64(e + 40, 512);	/* e_shoff */
	put16(e + 54, 56);
	put16(e + 56, 2);
	put16(e + 58, 64);
	put16(e + 60, 3);
	put16(e + 62, 2);	/* e_shstrndx */
	put32(ph, 1);
	put64(ph + 8, 0x1000);
	put64(ph + 16, 0x401000);
	put64(ph + 32, 0x2000);
	put64(ph + 40, 0x5000);
	put32(ph + 56, 4);	/* PT_NOTE */
	put32(sh + 64, 1);	/* .text */
	put32(sh + 128, 7);	/* .shstrtab */
	/* SHT_STRTAB: libelf reads names from no other section type */
	put32(sh + 128 + 4, 3);
	put64(sh + 128 + 24, 704);
	put64(sh + 128 + 32, sizeof(strtab));
	memcpy(e + 704, strtab, sizeof(strtab));
	if (go_section)
		put32(sh + 64, 17);	/* .go.buildinfo */
	return 704 + sizeof(strtab);
}

/* The first @len bytes of @e as a file, opened as cgoprof mem opens a
 * mapped file: through a /proc path (map_files there, /proc/self/fd here)
 * by a fresh cache. NULL: the cache refused it. */
static struct elf_obj *open_elf(struct elf_cache **cache, const uint8_t *e,
				size_t len)
{
	char path[64];
	int fd = memfd_create("cgoprof-test-mem", MFD_CLOEXEC);
	struct elf_obj *o;

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, e, len, 0), (ssize_t)len);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	*cache = elf_cache__new();
	assert_non_null(*cache);
	o = elf_cache__open(*cache, path, "/app/bin", 1, 2);
	close(fd);	/* the cache keeps its own descriptor */
	return o;
}

/* The file mapping of /app/bin at @start from file offset @pgoff. */
static struct mem_vma file_vma(uint64_t start, uint64_t pgoff)
{
	return (struct mem_vma){
		.start = start,
		.end = start + 0x1000,
		.pgoff = pgoff,
		.prot = PROT_READ | PROT_WRITE,
		.name = (char *)"/app/bin",
	};
}

/* The image end of the mapping at 0x7f0000001000 from offset 0x1000 in
 * the first @len bytes of @e; 0 when the cache refuses the file. */
static uint64_t image_end_of(const uint8_t *e, size_t len, bool *is_go)
{
	struct elf_cache *cache;
	struct elf_obj *o = open_elf(&cache, e, len);
	struct mem_vma v = file_vma(0x7f0000001000, 0x1000);
	uint64_t end = o ? mem_elf__image_end(o, &v) : 0;

	if (is_go)
		*is_go = o && elf_obj__is_go(o);
	elf_cache__free(cache);
	return end;
}

static bool refused(const uint8_t *e, size_t len)
{
	struct elf_cache *cache;
	struct elf_obj *o = open_elf(&cache, e, len);

	elf_cache__free(cache);
	return !o;
}

static void test_mem__elf(void **state)
{
	uint8_t e[1024];
	struct elf_cache *cache;
	struct elf_obj *o;
	struct mem_vma v;
	size_t len;
	bool is_go;

	(void)state;
	len = build_elf(e, NULL);
	o = open_elf(&cache, e, len);
	assert_non_null(o);
	assert_false(elf_obj__is_go(o));
	/* the PT_LOAD, not the PT_NOTE */
	assert_int_equal(o->nloads, 1);
	assert_int_equal(o->loads[0].p_offset, 0x1000);
	assert_int_equal(o->loads[0].p_vaddr, 0x401000);
	assert_int_equal(o->loads[0].p_filesz, 0x2000);
	assert_int_equal(o->loads[0].p_memsz, 0x5000);
	/* a mapping of the segment's first page: the image goes on to
	 * vaddr + memsz, 0x5000 from there; of its second page, 0x4000 */
	v = file_vma(0x7f0000001000, 0x1000);
	assert_int_equal(mem_elf__image_end(o, &v), 0x7f0000006000);
	v = file_vma(0x7f0000002000, 0x2000);
	assert_int_equal(mem_elf__image_end(o, &v), 0x7f0000006000);
	/* before the segment's page, past its file bytes: none */
	v = file_vma(0x7f0000000000, 0);
	assert_int_equal(mem_elf__image_end(o, &v), 0);
	v = file_vma(0x7f0000003000, 0x3000);
	assert_int_equal(mem_elf__image_end(o, &v), 0);
	elf_cache__free(cache);

	len = build_elf(e, ".go.buildinfo");
	assert_int_equal(image_end_of(e, len, &is_go), 0x7f0000006000);
	assert_true(is_go);

	/* truncated anywhere: refused without a whole ELF header, no
	 * segment without a whole program header, and never Go without the
	 * string table that names .go.buildinfo */
	for (size_t n = 0; n < len; n += 7) {
		o = open_elf(&cache, e, n);
		v = file_vma(0x7f0000001000, 0x1000);
		if (n < 64)
			assert_null(o);
		if (o && n < 64 + 56)
			assert_int_equal(o->nloads, 0);
		if (o && n >= 64 + 2 * 56)
			assert_int_equal(mem_elf__image_end(o, &v),
					 0x7f0000006000);
		if (o)
			assert_false(elf_obj__is_go(o));
		elf_cache__free(cache);
	}
	/* not ELF, big-endian: refused; 32-bit: these bytes then hold no
	 * program header, so no segment to go by, and no section */
	e[1] = 'X';
	assert_true(refused(e, len));
	e[1] = 'E';
	e[4] = 1;
	assert_false(refused(e, len));
	assert_int_equal(image_end_of(e, len, &is_go), 0);
	assert_false(is_go);
	e[4] = 2;
	e[5] = 2;
	assert_true(refused(e, len));
	e[5] = 1;
	/* offsets that wrap, sizes that lie: refused, or no image end */
	put64(e + 32, UINT64_MAX - 8);
	assert_true(refused(e, len));
	put64(e + 32, 64);
	put16(e + 54, 32);
	assert_true(refused(e, len));
	put16(e + 54, 56);
	put64(e + 64 + 32, 0x9000);	/* filesz > memsz */
	assert_int_equal(image_end_of(e, len, NULL), 0);
	put64(e + 64 + 32, 0x2000);
	put64(e + 64 + 16, UINT64_MAX - 0x1000);	/* vaddr + memsz */
	assert_int_equal(image_end_of(e, len, NULL), 0);
	put64(e + 64 + 16, 0x401000);
	assert_int_equal(image_end_of(e, len, &is_go), 0x7f0000006000);
	assert_true(is_go);
	/* section names that cannot be read: not Go, the segments still
	 * read */
	put64(e + 512 + 128 + 32, 1ULL << 40);	/* huge string table */
	assert_int_equal(image_end_of(e, len, &is_go), 0x7f0000006000);
	assert_false(is_go);
	put64(e + 512 + 128 + 32, 32);
	put32(e + 512 + 64, 5000);	/* a name past the string table */
	assert_int_equal(image_end_of(e, len, &is_go), 0x7f0000006000);
	assert_false(is_go);
	put16(e + 62, 7);		/* e_shstrndx past the sections */
	assert_int_equal(image_end_of(e, len, &is_go), 0x7f0000006000);
	assert_false(is_go);
}

static void test_mem__names(void **state)
{
	(void)state;
	assert_string_equal(mem_cat__name(MEM_GO_HEAP), "go_heap");
	assert_string_equal(mem_cat__name(MEM_OTHER_ANON), "other_anon");
	assert_string_equal(mem_cat__name(MEM_CAT__COUNT), "unknown");
	assert_string_equal(mem_basis__name(MEM_BASIS_VERIFIED), "verified");
	assert_string_equal(mem_basis__name(MEM_BASIS__COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mem__parse_smaps),
		cmocka_unit_test(test_mem__parse_hostile),
		cmocka_unit_test(test_mem__parse_long_name),
		cmocka_unit_test(test_mem__classify_by_name),
		cmocka_unit_test(test_mem__classify_go_arenas),
		cmocka_unit_test(test_mem__classify_glibc),
		cmocka_unit_test(test_mem__classify_stacks),
		cmocka_unit_test(test_mem__classify_touched_by),
		cmocka_unit_test(test_mem__totals),
		cmocka_unit_test(test_mem__totals_no_library),
		cmocka_unit_test(test_mem__elf),
		cmocka_unit_test(test_mem__names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
