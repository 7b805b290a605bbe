// SPDX-License-Identifier: MIT
/* libFuzzer target: the input is /proc/PID/maps or smaps text, as a
 * process that changes while it is read may give it. Every line goes
 * through the maps line parser and the smaps counter parser (base/procfs.c)
 * and the whole text through cgoprof mem's smaps parser, whose promises are
 * checked (mappings sorted, not overlapping, page-aligned, counters within
 * their mapping); then the classifier and the totals run on what was
 * parsed, once guessing and once with live reads answered from the input's
 * own bytes, as if they were the first mapping's memory. Build and run:
 * make fuzz (fuzz/fuzz.mk). */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cgoprof/mem.h"
#include "cgoprof/procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond))                                                 \
			abort();                                             \
	} while (0)

struct image {
	uint64_t base;
	const uint8_t *data;
	size_t size;
};

static int image_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct image *im = ctx;

	if (addr < im->base || addr - im->base > im->size ||
	    len > im->size - (addr - im->base))
		return -14;	/* -EFAULT, as process_vm_readv */
	memcpy(buf, im->data + (addr - im->base), len);
	return 0;
}

static uint64_t image_end(void *ctx, const struct mem_vma *v)
{
	(void)ctx;
	/* a bss of up to 60 KiB, or none: the rule must cope with both */
	return v->end + (v->ino % 16) * 4096;
}

static void check_lines(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t n = (size_t)(le - p);
		struct procfs_map m;
		struct procfs_field f;

		if (!procfs__parse_maps_line(p, n, &m)) {
			CHECK(m.start < m.end);
			CHECK(!(m.start % 4096) && !(m.end % 4096));
			CHECK(!(m.prot &
				~(PROT_READ | PROT_WRITE | PROT_EXEC)));
			CHECK(m.name >= p && m.name + m.name_len == le);
		}
		if (!procfs__parse_smaps_field(p, n, &f)) {
			CHECK(f.key == p && f.key_len > 0 && f.key_len < n);
			CHECK(f.key[f.key_len] == ':');
		}
		p = le + 1;
	}
}

static void check_maps(const struct mem_maps *m)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct mem_vma *v = &m->vmas[i];
		uint64_t len = v->end - v->start;

		CHECK(v->start < v->end && v->name);
		CHECK(!i || m->vmas[i - 1].end <= v->start);
		CHECK(v->rss <= len && v->pss <= len && v->swap <= len);
		CHECK(v->has_rss || !v->rss);
	}
}

static void classify(const struct mem_maps *m, const struct mem_probe *p)
{
	struct mem_class c = { 0 };
	struct mem_totals t = { 0 };
	uint64_t sum = 0, rss = 0;

	if (!mem_class__build(&c, m, p)) {
		/* segments cover every mapping, in order */
		for (size_t i = 0; i < c.n; i++) {
			CHECK(c.segs[i].start < c.segs[i].end);
			CHECK(!i || c.segs[i - 1].end <= c.segs[i].start);
			CHECK(c.segs[i].cat < MEM_CAT__COUNT);
			CHECK(c.segs[i].vma < m->n);
			CHECK(mem_class__find(&c, c.segs[i].start) ==
			      &c.segs[i]);
		}
		if (!mem_totals__sum(&t, m, &c, p)) {
			for (int k = 0; k < MEM_CAT__COUNT; k++)
				sum += t.cat[k];
			for (size_t i = 0; i < m->n; i++)
				rss += m->vmas[i].rss;
			CHECK(sum == t.rss && t.rss == rss);
		}
	}
	mem_totals__release(&t);
	mem_class__release(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mem_maps m = { 0 };
	struct image im = { .data = data, .size = size };
	struct mem_probe p = {
		.exe = "/app/bin",
		.image_end = image_end,
		.ctx = &im,
	};

	check_lines(data, size);
	if (mem_maps__parse(&m, (const char *)data, size))
		goto out;
	check_maps(&m);
	if (!m.n)
		goto out;
	/* a Go program or not: the first byte says */
	p.is_go = size && (data[0] & 1);
	classify(&m, &p);
	im.base = m.vmas[0].start;
	p.read = image_read;
	classify(&m, &p);
out:
	mem_maps__release(&m);
	return 0;
}
