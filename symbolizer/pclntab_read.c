// SPDX-License-Identifier: MIT
/* The regions of a binary the pclntab reader looks through: its readable
 * non-executable sections, or without section headers its non-executable
 * PT_LOAD segments, sorted by address. Read by libelf, or from the file:
 * mapped where it can be (base/filemap.c: no copy, and no fresh page to
 * zero for each 4 KiB of a Go binary's megabytes of data sections), else
 * into one buffer of our own, in transparent huge pages when it is large
 * (a few page faults instead of one a page). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgoprof/log.h"
#include "pclntab_internal.h"

#define HUGE_PAGE (2UL << 20)
/* Smaller buffers come from malloc: a huge page would be mostly unused */
#define HUGE_MIN (HUGE_PAGE / 2)
/* One pread at most this much (Linux reads at most 2 GiB - 4 KiB) */
#define READ_MAX (1UL << 30)

/* @len bytes, in huge pages when it is worth it: madvise is advice, and
 * without transparent huge pages they are pages as usual. */
static uint8_t *buf_alloc(struct region_buf *b, size_t len)
{
	b->map = NULL;
	b->len = 0;
	if (len >= HUGE_MIN) {
		size_t want = (len + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
		size_t maplen = want + HUGE_PAGE;
		uint8_t *p = mmap(NULL, maplen, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p != MAP_FAILED) {
			/* aligned to a huge page, the rest given back */
			uint8_t *a = (uint8_t *)(((uintptr_t)p + HUGE_PAGE - 1) &
						 ~(uintptr_t)(HUGE_PAGE - 1));

			if (a > p)
				munmap(p, (size_t)(a - p));
			if (p + maplen > a + want)
				munmap(a + want, (size_t)(p + maplen - (a + want)));
			madvise(a, want, MADV_HUGEPAGE);
			b->map = a;
			b->len = want;
			return a;
		}
	}
	b->map = malloc(len ? len : 1);
	return b->map;
}

void pcln_region_buf_free(struct region_buf *b)
{
	if (!b)
		return;
	if (filemap__shrank(&b->file))
		pr_warn("a Go binary was truncated while cgoprof read it: "
			"some of its frames may be unnamed");
	filemap__unmap(&b->file);
	if (!b->map)
		return;
	if (b->len)
		munmap(b->map, b->len);
	else
		free(b->map);
	b->map = NULL;
	b->len = 0;
}

/* @len bytes at @off of @fd into @dst, all of them; false when the file
 * ends first (it shrank) or cannot be read. */
static bool read_full(int fd, uint8_t *dst, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, dst, len > READ_MAX ? READ_MAX : len,
				  (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		dst += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return true;
}

/* The @n regions (each inside the file) in one mapping of @fd, from the
 * first one's offset to the last one's end; false: none made. */
static bool regions_map(int fd, struct region *regions, size_t *n,
			struct region_buf *b)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	size_t k = 0;

	for (size_t i = 0; i < *n; i++) {
		if (!regions[i].size)
			continue;
		if (regions[i].off < lo)
			lo = regions[i].off;
		if (regions[i].off + regions[i].size > hi)
			hi = regions[i].off + regions[i].size;
	}
	if (hi <= lo || hi - lo > SIZE_MAX ||
	    filemap__map(&b->file, fd, lo, (size_t)(hi - lo)))
		return false;
	for (size_t i = 0; i < *n; i++) {
		if (!regions[i].size)
			continue;
		regions[i].bytes = b->file.bytes + (regions[i].off - lo);
		regions[k++] = regions[i];
	}
	*n = k;
	return true;
}

/* The @n regions' bytes (offset, size) from @fd, mapped (regions_map)
 * or else read, into @b: the sizes of those inside the file must add up
 * to no more than the file (regions that overlap are for libelf, which
 * reads each alone: -E2BIG). Regions outside the file, or that cannot be
 * read, are dropped, as libelf drops them; *@n is what is left. */
static int regions_read(int fd, struct region *regions, size_t *n,
			struct region_buf *b)
{
	struct stat st;
	uint64_t total = 0;
	uint8_t *p;
	size_t k = 0;

	if (fstat(fd, &st) || st.st_size <= 0)
		return -EIO;
	for (size_t i = 0; i < *n; i++) {
		if (!span_fits(regions[i].off, regions[i].size,
			       (uint64_t)st.st_size))
			regions[i].size = 0;
		total += regions[i].size;
		if (total > (uint64_t)st.st_size)
			return -E2BIG;
	}
	if (regions_map(fd, regions, n, b))
		return 0;
	p = buf_alloc(b, total);
	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < *n; i++) {
		struct region *r = &regions[i];

		if (!r->size || !read_full(fd, p, r->size, r->off))
			continue;
		r->bytes = p;
		p += r->size;
		regions[k++] = *r;
	}
	*n = k;
	return 0;
}

static int region_cmp(const void *a, const void *b)
{
	const struct region *ra = a, *rb = b;

	if (ra->vaddr != rb->vaddr)
		return ra->vaddr < rb->vaddr ? -1 : 1;
	return 0;
}

/* pcln_regions_collect(); @rawfile: whether a file without readable
 * sections may be read whole by libelf (never for a descriptor's, whose
 * sections libelf would lose: see elfobj.c's pclntab_may_look). */
static int collect(Elf *elf, int fd, bool rawfile, struct region **out,
		   size_t *count, struct region_buf *buf)
{
	struct region *regions = NULL;
	size_t nscn = 0, nphdr = 0, n = 0, shstrndx = 0;
	Elf_Scn *scn = NULL;
	int err = 0;

	*out = NULL;
	*count = 0;
	memset(buf, 0, sizeof(*buf));
	if (elf_getshdrnum(elf, &nscn) != 0)
		nscn = 0;
	if (nscn > 1 && elf_getshdrstrndx(elf, &shstrndx) != 0)
		shstrndx = 0;
	if (nscn > 1) {
		regions = calloc(nscn, sizeof(*regions));
		if (!regions)
			return -ENOMEM;
		while ((scn = elf_nextscn(elf, scn)) && n < nscn) {
			GElf_Shdr shdr;
			Elf_Data *data;
			const char *name = NULL;

			if (!gelf_getshdr(scn, &shdr))
				continue;
			if (!(shdr.sh_flags & SHF_ALLOC) ||
			    (shdr.sh_flags & SHF_EXECINSTR) ||
			    shdr.sh_type == SHT_NOBITS || shdr.sh_size == 0)
				continue;
			if (fd >= 0) {
				/* read below, with the others */
				regions[n].off = shdr.sh_offset;
				regions[n].size = shdr.sh_size;
			} else {
				data = elf_rawdata(scn, NULL);
				if (!data || !data->d_buf || data->d_size == 0)
					continue;
				regions[n].size = data->d_size < shdr.sh_size
							  ? data->d_size
							  : shdr.sh_size;
				regions[n].bytes = data->d_buf;
			}
			if (shstrndx)
				name = elf_strptr(elf, shstrndx, shdr.sh_name);
			regions[n].vaddr = shdr.sh_addr;
			regions[n].name = name ? name : "";
			n++;
		}
	}
	if (n == 0 && elf_getphdrnum(elf, &nphdr) == 0 && nphdr > 0) {
		const uint8_t *raw = NULL;
		size_t rawsize = 0;

		free(regions);
		regions = calloc(nphdr, sizeof(*regions));
		if (!regions)
			return -ENOMEM;
		if (fd < 0 && rawfile)
			raw = (const uint8_t *)elf_rawfile(elf, &rawsize);
		for (size_t i = 0; (raw || fd >= 0) && i < nphdr; i++) {
			GElf_Phdr phdr;

			if (!gelf_getphdr(elf, (int)i, &phdr))
				continue;
			if (phdr.p_type != PT_LOAD || (phdr.p_flags & PF_X) ||
			    phdr.p_filesz == 0)
				continue;
			if (fd < 0 &&
			    !span_fits(phdr.p_offset, phdr.p_filesz, rawsize))
				continue;
			regions[n].vaddr = phdr.p_vaddr;
			regions[n].size = phdr.p_filesz;
			regions[n].off = phdr.p_offset;
			if (fd < 0)
				regions[n].bytes = raw + phdr.p_offset;
			regions[n].name = "";
			n++;
		}
	}
	if (n && fd >= 0) {
		err = regions_read(fd, regions, &n, buf);
		if (err == -ENOMEM)
			goto out;
		if (err) {
			/* overlapping sections, or no size: libelf's reads
			 * of each section */
			free(regions);
			return collect(elf, -1, false, out, count, buf);
		}
	}
	if (n == 0) {
		err = -ENODATA;
		goto out;
	}
	qsort(regions, n, sizeof(*regions), region_cmp);
	*out = regions;
	*count = n;
	regions = NULL;
out:
	free(regions);
	if (err)
		pcln_region_buf_free(buf);
	return err;
}

int pcln_regions_collect(Elf *elf, int fd, struct region **out,
			 size_t *count, struct region_buf *buf)
{
	return collect(elf, fd, fd < 0, out, count, buf);
}
