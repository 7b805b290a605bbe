// SPDX-License-Identifier: MIT
/* The ELF object cache. Objects are opened once, by the first sample that
 * needs them, while the target lives (through /proc/PID/map_files or
 * /proc/PID/root), and kept until the end: stacks refer to them. */
#include <dwarf.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgoprof/arena.h"
#include "cgoprof/elfobj.h"
#include "cgoprof/log.h"
#include "elfobj_internal.h"

struct cache_key {
	uint64_t dev, ino;
	char *path;
	struct elf_obj *obj;	/* NULL: failed to open */
};

struct elf_cache {
	struct cache_key *keys;
	size_t nkeys, cap_keys;
	struct elf_obj **objs;
	size_t nobjs, cap_objs;
	struct elf_obj *vdso;
	bool vdso_tried;
};

/* elf_obj__read's cache: the unwinder reads a few bytes at call sites,
 * per frame, mostly in the same hot pages: no syscall for those. */
#define PAGE_BYTES 4096
#define PAGE_SLOTS 16

struct obj_pages {
	uint64_t page[PAGE_SLOTS];	/* file page + 1; 0: empty */
	uint32_t len[PAGE_SLOTS];	/* bytes read (the last page is short) */
	uint8_t bytes[PAGE_SLOTS][PAGE_BYTES];
};

struct elf_cache *elf_cache__new(void)
{
	elf_version(EV_CURRENT);
	return calloc(1, sizeof(struct elf_cache));
}

static void elf_obj__free(struct elf_obj *o)
{
	if (!o)
		return;
	pclntab__free(o->go);
	if (o->dbg_cfi && !o->dwfl)
		dwarf_cfi_end(o->dbg_cfi);
	if (o->eh_cfi)
		dwarf_cfi_end(o->eh_cfi);
	if (o->dwfl)
		dwfl_end(o->dwfl);
	/* after dwfl_end: libdwfl read them through these */
	if (o->dbg_fd >= 0)
		close(o->dbg_fd);
	if (o->alt_dw)
		dwarf_end(o->alt_dw);
	if (o->alt_elf)
		elf_end(o->alt_elf);
	if (o->alt_fd >= 0)
		close(o->alt_fd);
	/* after the Elfs whose sections point into them */
	dbg_map__free(&o->dbg_map);
	dbg_map__free(&o->alt_map);
	free(o->pages);
	if (o->elf)
		elf_end(o->elf);
	if (o->fd >= 0)
		close(o->fd);
	free(o->image);
	free(o->cus);
	sym_index__free(o->syms);
	scope_index__free(o->scopes);
	free(o->loads);
	free(o->path);
	free(o);
}

void elf_cache__free(struct elf_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nkeys; i++)
		free(c->keys[i].path);
	for (size_t i = 0; i < c->nobjs; i++)
		elf_obj__free(c->objs[i]);
	elf_obj__free(c->vdso);
	free(c->keys);
	free(c->objs);
	free(c);
}

static const char *basename_of(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static enum obj_class classify_object(const char *base)
{
	static const char *const libc_names[] = {
		"libc.so*", "libc-*.so", "libm.so*", "libm-*.so",
		"libpthread.so*", "libpthread-*.so", "libdl.so*",
		"libdl-*.so", "librt.so*", "librt-*.so", "libc.musl*",
	};

	if (!fnmatch("ld-linux*.so*", base, 0) || !fnmatch("ld-*.so*", base, 0) ||
	    !fnmatch("ld64.so*", base, 0))
		return OBJ_LDSO;
	for (size_t i = 0; i < sizeof(libc_names) / sizeof(libc_names[0]); i++)
		if (!fnmatch(libc_names[i], base, 0))
			return OBJ_LIBC;
	return OBJ_OTHER;
}

static void hex(char *dst, size_t size, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t j = 0;

	for (size_t i = 0; i < n && j + 2 < size; i++) {
		dst[j++] = digits[p[i] >> 4];
		dst[j++] = digits[p[i] & 15];
	}
	dst[j] = 0;
}

/* Go build id: the note "Go\0\0" of type 4 in .note.go.buildid, a string. */
static void go_build_id(Elf *elf, char *dst, size_t size)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strcmp(name, ".note.go.buildid"))
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			return;
		while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off))) {
			size_t n = nh.n_descsz;

			if (nh.n_type != 4 || nh.n_namesz != 3 ||
			    memcmp((char *)d->d_buf + name_off, "Go", 3))
				continue;
			if (n >= size)
				n = size - 1;
			memcpy(dst, (char *)d->d_buf + desc_off, n);
			dst[n] = 0;
			/* keep it printable: it is a string, but untrusted */
			for (size_t i = 0; i < n; i++)
				if (dst[i] < 0x21 || dst[i] > 0x7e)
					dst[i] = '_';
			return;
		}
	}
}

/* Whether @elf has a section only Go's linker writes (-s -w keeps them):
 * a Go program even where its pclntab cannot be found. */
static bool has_go_section(Elf *elf)
{
	static const char *const go_names[] = {
		".go.buildinfo", ".gopclntab", ".note.go.buildid",
	};
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		for (size_t i = 0;
		     i < sizeof(go_names) / sizeof(go_names[0]); i++)
			if (!strcmp(name, go_names[i]))
				return true;
	}
	return false;
}

/* Whether pclntab__new (libelf's reads: an image in memory) may look for
 * the table: it reads every data section, or where none has data, the
 * whole file (elf_rawfile), and with ELF_C_READ libelf then loses the
 * sections read before (elfutils 0.188). So the whole file only when
 * there are no section headers (sstrip). */
static bool pclntab_may_look(Elf *elf)
{
	size_t n;
	Elf_Scn *scn = NULL;

	if (!elf_getshdrnum(elf, &n) && n == 0)
		return true;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) ||
		    (sh.sh_flags & SHF_EXECINSTR) || sh.sh_type == SHT_NOBITS ||
		    !sh.sh_size)
			continue;
		d = elf_rawdata(scn, NULL);
		if (d && d->d_buf && d->d_size)
			return true;
	}
	return false;
}

/* Whether @elf may hold a pclntab: a section of Go's (.go.buildinfo,
 * .gopclntab, .note.go.buildid: every Go link has one, internal or
 * external, by GNU ld, gold or lld, stripped or not), or no section
 * headers or names to tell (sstrip). The others are C: their data
 * sections (libc's 500 KB, bash's 460 KB) are not read and scanned for a
 * table they cannot hold. */
static bool may_hold_pclntab(Elf *elf, bool go_sections)
{
	size_t n, shstrndx;
	Elf_Scn *scn = NULL;

	if (go_sections || elf_getshdrnum(elf, &n) || n == 0 ||
	    elf_getshdrstrndx(elf, &shstrndx))
		return true;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) ||
		    !elf_strptr(elf, shstrndx, sh.sh_name))
			return true;
	}
	return false;
}

static int load_elf(struct elf_obj *o)
{
	GElf_Ehdr eh;
	size_t nph;
	const void *bid;
	int n;

	if (elf_kind(o->elf) != ELF_K_ELF)
		return -EINVAL;
	if (elf_getphdrnum(o->elf, &nph))
		return -EINVAL;
	if (nph > 4096)
		return -EINVAL;
	/* libelf reads program headers at its own size, whatever e_phentsize
	 * says: headers of another size would be read as garbage */
	if (nph && (!gelf_getehdr(o->elf, &eh) ||
		    eh.e_phentsize != gelf_fsize(o->elf, ELF_T_PHDR, 1,
						 EV_CURRENT)))
		return -EINVAL;
	o->loads = calloc(nph ? nph : 1, sizeof(*o->loads));
	if (!o->loads)
		return -ENOMEM;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(o->elf, (int)i, &ph))
			return -EINVAL;
		if (ph.p_type == PT_LOAD)
			o->loads[o->nloads++] = ph;
	}
	n = dwelf_elf_gnu_build_id(o->elf, &bid);
	if (n > 0)
		hex(o->build_id, sizeof(o->build_id), bid, (size_t)n);
	else
		go_build_id(o->elf, o->build_id, sizeof(o->build_id));
	if (gelf_getehdr(o->elf, &eh))
		o->entry = eh.e_entry;
	o->go_sections = has_go_section(o->elf);
	/* from the file, in huge pages where it can; else libelf's copies */
	if (!may_hold_pclntab(o->elf, o->go_sections))
		o->go = NULL;
	else if (o->fd >= 0)
		o->go = pclntab__new_fd(o->elf, o->fd);
	else
		o->go = pclntab_may_look(o->elf) ? pclntab__new(o->elf) : NULL;
	if (o->go) {
		pclntab__text_range(o->go, &o->go_lo, &o->go_hi);
		if (pclntab__go_version(o->go, o->go_version,
					  sizeof(o->go_version)))
			o->go_version[0] = 0;
	}
	return 0;
}

static int cache_add_obj(struct elf_cache *c, struct elf_obj *o)
{
	if (array__grow((void **)&c->objs, &c->cap_objs, c->nobjs + 1,
			sizeof(*c->objs), 16))
		return -ENOMEM;
	c->objs[c->nobjs++] = o;
	return 0;
}

static int cache_add_key(struct elf_cache *c, uint64_t dev, uint64_t ino,
			 const char *path, struct elf_obj *o)
{
	struct cache_key *k;

	if (array__grow((void **)&c->keys, &c->cap_keys, c->nkeys + 1,
			sizeof(*c->keys), 16))
		return -ENOMEM;
	k = &c->keys[c->nkeys];
	k->path = strdup(path);
	if (!k->path)
		return -ENOMEM;
	k->dev = dev;
	k->ino = ino;
	k->obj = o;
	c->nkeys++;
	return 0;
}

struct elf_obj *elf_cache__open(struct elf_cache *c, const char *open_path,
				const char *path, uint64_t dev, uint64_t ino)
{
	struct elf_obj *o;
	int err;

	for (size_t i = 0; i < c->nkeys; i++) {
		struct cache_key *k = &c->keys[i];

		if (k->dev == dev && k->ino == ino && !strcmp(k->path, path))
			return k->obj;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->dbg_fd = o->alt_fd = -1;
	/* never blocks (a FIFO put in the file's place), only regular files;
	 * read with pread, never mapped: a file that shrinks under us gives
	 * read errors, not SIGBUS */
	o->fd = safe_open(open_path, &o->file_size);
	if (o->fd < 0) {
		err = o->fd;
		goto fail;
	}
	o->elf = elf_begin(o->fd, ELF_C_READ, NULL);
	if (!o->elf) {
		err = -EINVAL;
		goto fail;
	}
	o->path = strdup(path);
	if (!o->path) {
		err = -ENOMEM;
		goto fail;
	}
	o->base = basename_of(o->path);
	o->cls = classify_object(o->base);
	o->dev = dev;
	o->ino = ino;
	err = load_elf(o);
	if (err)
		goto fail;
	/* The same binary seen through another path (container, bind mount,
	 * hard link): one object. */
	if (o->build_id[0]) {
		for (size_t i = 0; i < c->nobjs; i++) {
			if (!strcmp(c->objs[i]->build_id, o->build_id)) {
				elf_obj__free(o);
				o = c->objs[i];
				goto add_key;
			}
		}
	}
	err = cache_add_obj(c, o);
	if (err)
		goto fail;
add_key:
	if (cache_add_key(c, dev, ino, path, o))
		pr_debug("elf cache: out of memory");
	return o;
fail:
	pr_debug("cannot open '%s' (as '%s'): %s", path, open_path,
		 strerror(-err));
	/* not remembered: the caller may try another path to the file */
	elf_obj__free(o);
	errno = -err;
	return NULL;
}

#define VDSO_MAX_SIZE (1 << 20)

struct elf_obj *elf_cache__vdso(struct elf_cache *c)
{
	unsigned long base = getauxval(AT_SYSINFO_EHDR);
	const Elf64_Ehdr *eh = (const void *)base;
	struct elf_obj *o;
	size_t size = 0;

	if (c->vdso_tried)
		return c->vdso;
	c->vdso_tried = true;
	if (!base || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum > 64)
		return NULL;
	/* The image spans its PT_LOAD; the section headers follow it. A few
	 * pages (the kernel's; bounded all the same). */
	{
		const Elf64_Phdr *ph = (const void *)(base + eh->e_phoff);

		for (int i = 0; i < eh->e_phnum; i++)
			if (ph[i].p_type == PT_LOAD &&
			    ph[i].p_offset + ph[i].p_filesz > size)
				size = ph[i].p_offset + ph[i].p_filesz;
		if (eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize > size)
			size = eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
		if (!size || size > VDSO_MAX_SIZE)
			return NULL;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->fd = o->dbg_fd = o->alt_fd = -1;
	o->image = malloc(size);
	o->path = strdup("[vdso]");
	if (!o->image || !o->path)
		goto fail;
	memcpy(o->image, (void *)base, size);
	o->raw = o->image;
	o->raw_size = size;
	o->elf = elf_memory(o->image, size);
	if (!o->elf)
		goto fail;
	o->base = o->path;
	o->cls = OBJ_VDSO;
	if (load_elf(o))
		goto fail;
	c->vdso = o;
	return o;
fail:
	elf_obj__free(o);
	return NULL;
}

int elf_obj__map_bias(const struct elf_obj *o, uint64_t len, uint64_t pgoff,
		      uint32_t prot, uint64_t *delta, uint64_t *seg_end)
{
	const GElf_Phdr *best = NULL;
	uint64_t best_overlap = 0;
	int best_score = -1;

	/* A mapping is one PT_LOAD as the loader mapped it, from the page
	 * that holds the segment's first byte. lld does not pad segments in
	 * the file: the page at a segment's start also holds the end of the
	 * segment before it, and both segments' mappings cover it. The
	 * segment a mapping maps is the one whose file range it covers whose
	 * permissions it has (a pc is in an executable mapping: PF_X), then
	 * the one it covers most. */
	for (size_t i = 0; i < o->nloads; i++) {
		const GElf_Phdr *ph = &o->loads[i];
		uint64_t lo = ph->p_offset > pgoff ? ph->p_offset : pgoff;
		uint64_t hi = ph->p_offset + ph->p_filesz;
		uint64_t overlap;
		int score = 0;

		if (hi > pgoff + len)
			hi = pgoff + len;
		if (!ph->p_filesz || hi <= lo)
			continue;
		overlap = hi - lo;
		score += !!(ph->p_flags & PF_X) == !!(prot & PROT_EXEC) ? 2 : 0;
		score += !!(ph->p_flags & PF_W) == !!(prot & PROT_WRITE) ? 1 : 0;
		if (score > best_score ||
		    (score == best_score && overlap > best_overlap)) {
			best = ph;
			best_score = score;
			best_overlap = overlap;
		}
	}
	if (!best)
		return -ENOENT;
	/* file offset f is at start + f - pgoff, and at link-time
	 * p_vaddr + f - p_offset */
	*delta = best->p_offset - best->p_vaddr - pgoff;
	if (seg_end)
		*seg_end = best->p_vaddr + best->p_memsz;
	return 0;
}

/* @len bytes of the file at @off, through the page cache. */
static int obj_pread(struct elf_obj *o, uint64_t off, void *buf, size_t len)
{
	uint8_t *dst = buf;

	if (!o->pages && !(o->pages = calloc(1, sizeof(*o->pages))))
		return pread(o->fd, buf, len, (off_t)off) == (ssize_t)len
			       ? 0
			       : -EIO;
	while (len) {
		uint64_t page = off / PAGE_BYTES;
		size_t in = off % PAGE_BYTES, n = PAGE_BYTES - in;
		unsigned slot = (unsigned)(page % PAGE_SLOTS);
		struct obj_pages *p = o->pages;

		if (n > len)
			n = len;
		if (p->page[slot] != page + 1) {
			ssize_t r = pread(o->fd, p->bytes[slot], PAGE_BYTES,
					  (off_t)(page * PAGE_BYTES));

			p->page[slot] = r > 0 ? page + 1 : 0;
			p->len[slot] = r > 0 ? (uint32_t)r : 0;
		}
		if (p->len[slot] < in + n)
			return -EIO;
		memcpy(dst, p->bytes[slot] + in, n);
		dst += n;
		off += n;
		len -= n;
	}
	return 0;
}

int elf_obj__read(struct elf_obj *o, uint64_t vaddr, void *buf, size_t len)
{
	for (size_t i = 0; i < o->nloads; i++) {
		const GElf_Phdr *ph = &o->loads[i];
		uint64_t off;

		if (vaddr < ph->p_vaddr || vaddr - ph->p_vaddr >= ph->p_filesz ||
		    len > ph->p_filesz - (vaddr - ph->p_vaddr))
			continue;
		off = ph->p_offset + (vaddr - ph->p_vaddr);
		/* the vdso's copy, bounded */
		if (o->raw)
			return off <= o->raw_size && len <= o->raw_size - off
				       ? (memcpy(buf, o->raw + off, len), 0)
				       : -EIO;
		return obj_pread(o, off, buf, len);
	}
	return -ENOENT;
}

/* How many of the first loads of g must agree. */
#define GO_TLS_VOTES 4

/* The fs-relative offset of g that the instruction(s) at @p (in the file
 * image, @lo its first byte) load g with, into *@d: MOVQ FS:d32, R14 (64
 * 4c 8b 34 25 d32), or in PIE builds MOVQ $d32, R14 (49 c7 c6 d32) then
 * MOVQ FS:(R14), R14 (64 4d 8b 36), as the linker relaxes the load of
 * the offset from the GOT. */
static bool g_load_at(const uint8_t *p, const uint8_t *lo, const uint8_t *end,
		      int32_t *d)
{
	static const uint8_t abs[5] = { 0x64, 0x4c, 0x8b, 0x34, 0x25 };
	static const uint8_t imm[3] = { 0x49, 0xc7, 0xc6 };
	static const uint8_t ind[4] = { 0x64, 0x4d, 0x8b, 0x36 };

	if (end - p >= 9 && !memcmp(p, abs, sizeof(abs))) {
		memcpy(d, p + 5, 4);
		return true;
	}
	if (p - lo >= 7 && end - p >= 4 && !memcmp(p, ind, sizeof(ind)) &&
	    !memcmp(p - 7, imm, sizeof(imm))) {
		memcpy(d, p - 4, 4);
		return true;
	}
	return false;
}

/* Go text is read in chunks this big, each with the few bytes around it
 * that g_load_at looks at. */
#define TLS_CHUNK (64 << 10)
#define TLS_SLACK 16

/* The votes of the g loads in [@lo, @hi) of the file, from offset @off. */
static int32_t g_tls_scan(struct elf_obj *o, uint64_t off, uint64_t size)
{
	uint8_t *buf = malloc(TLS_CHUNK + 2 * TLS_SLACK);
	unsigned votes = 0;
	int32_t first = 0, d;

	if (!buf)
		return 0;
	for (uint64_t pos = 0; pos < size && votes < GO_TLS_VOTES;
	     pos += TLS_CHUNK) {
		uint64_t s = pos >= TLS_SLACK ? pos - TLS_SLACK : 0;
		uint64_t e = size - pos > TLS_CHUNK + TLS_SLACK
				 ? pos + TLS_CHUNK + TLS_SLACK
				 : size;
		uint64_t core = size - pos > TLS_CHUNK ? pos + TLS_CHUNK : size;
		const uint8_t *p, *end = buf + (e - s), *stop = buf + (core - s);

		if (pread(o->fd, buf, e - s, (off_t)(off + s)) != (ssize_t)(e - s))
			break;
		for (p = buf + (pos - s); votes < GO_TLS_VOTES && p < stop &&
		     (p = memchr(p, 0x64, (size_t)(stop - p)));
		     p++) {
			if (!g_load_at(p, buf, end, &d))
				continue;
			/* the initial-exec slot: below fs, aligned */
			if (d >= 0 || d < -65536 || (d & 7) ||
			    (votes && d != first)) {
				votes = 0;
				goto out;
			}
			first = d;
			votes++;
		}
	}
out:
	free(buf);
	return votes == GO_TLS_VOTES ? first : 0;
}

int elf_obj__go_g_tls(struct elf_obj *o, int32_t *off)
{
	if (!o->go_tls_tried) {
		uint64_t lo, hi;

		o->go_tls_tried = true;
		if (!o->go || o->fd < 0)
			goto out;
		pclntab__text_range(o->go, &lo, &hi);
		for (size_t i = 0; i < o->nloads; i++) {
			const GElf_Phdr *ph = &o->loads[i];

			if (lo < ph->p_vaddr || lo - ph->p_vaddr >= ph->p_filesz)
				continue;
			if (hi > ph->p_vaddr + ph->p_filesz)
				hi = ph->p_vaddr + ph->p_filesz;
			if (hi > lo)
				o->go_g_tls = g_tls_scan(
				    o, ph->p_offset + (lo - ph->p_vaddr), hi - lo);
			break;
		}
	}
out:
	o->go_tls_tried = true;
	if (!o->go_g_tls)
		return -ENOENT;
	*off = o->go_g_tls;
	return 0;
}

int elf_obj__go_func(struct elf_obj *o, const char *name, struct go_func *fn)
{
	uint64_t lo, hi, pc;

	if (!o->go)
		return -ENODATA;
	pclntab__text_range(o->go, &lo, &hi);
	for (pc = lo; pc < hi; pc = fn->end) {
		if (pclntab__find_func(o->go, pc, fn) || fn->end <= pc)
			return -ENOENT;
		if (!strcmp(fn->name, name))
			return 0;
	}
	return -ENOENT;
}

int elf_obj__vaddr_to_offset(const struct elf_obj *o, uint64_t vaddr,
			     uint64_t *off)
{
	for (size_t i = 0; i < o->nloads; i++) {
		const GElf_Phdr *ph = &o->loads[i];

		if (vaddr >= ph->p_vaddr && vaddr - ph->p_vaddr < ph->p_filesz) {
			*off = vaddr - ph->p_vaddr + ph->p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

bool elf_obj__in_plt(struct elf_obj *o, uint64_t vaddr)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (!o->plt_tried) {
		o->plt_tried = true;
		if (elf_getshdrstrndx(o->elf, &shstrndx))
			return false;
		while ((scn = elf_nextscn(o->elf, scn)) && o->nplt < 4) {
			GElf_Shdr sh;
			const char *name;

			if (!gelf_getshdr(scn, &sh))
				continue;
			name = elf_strptr(o->elf, shstrndx, sh.sh_name);
			if (name && !strncmp(name, ".plt", 4)) {
				o->plt[o->nplt][0] = sh.sh_addr;
				o->plt[o->nplt][1] = sh.sh_addr + sh.sh_size;
				o->nplt++;
			}
		}
	}
	for (unsigned i = 0; i < o->nplt; i++)
		if (vaddr >= o->plt[i][0] && vaddr < o->plt[i][1])
			return true;
	return false;
}

bool elf_obj__is_go(const struct elf_obj *o)
{
	return o->go || o->go_sections;
}

bool elf_obj__is_go_pc(struct elf_obj *o, uint64_t vaddr)
{
	return o->go && vaddr >= o->go_lo && vaddr < o->go_hi;
}

/* libdwfl gets the module's ELF from us: the debug file if there is one
 * (its .symtab and DWARF; elfobj_safe.c finds it where libdwfl would, but
 * without blocking or mapping), else the object's own libelf handle; both
 * read with pread and guarded against decompression bombs, their
 * compressed DWARF inflated once into cgoprof's cache
 * (elfobj_dbgcache.c). .eh_frame is
 * read from the object itself (elf_obj__cfi). */
static int find_elf_cb(Dwfl_Module *mod, void **userdata, const char *name,
		       Dwarf_Addr base, char **file_name, Elf **elfp)
{
	struct elf_obj *o = *userdata;

	(void)mod, (void)name, (void)base, (void)file_name;
	*elfp = debug_file__open(o, &o->dbg_fd);
	if (!*elfp) {
		/* one more reference to o->elf: libdwfl ends it */
		*elfp = elf_begin(o->fd, ELF_C_READ, o->elf);
		if (*elfp)
			dbg_cache__guard(*elfp, o->fd, o->path, o->file_size,
					 o->build_id, &o->dbg_map);
	}
	if (*elfp && !elf_dynstr_terminated(*elfp)) {
		o->dynstr_bad = true;
		pr_warn("%s: dynamic string table does not end in a NUL: "
			"its symbols are not used", o->path);
	}
	return -1;
}

/* Nothing more: find_elf_cb gave the debug file; libdw's dwz file is
 * opened by dwarf_safe. */
static int find_debuginfo_cb(Dwfl_Module *mod, void **userdata,
			     const char *modname, Dwarf_Addr base,
			     const char *file_name, const char *debuglink,
			     GElf_Word crc, char **debuginfo_file_name)
{
	(void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
	(void)debuglink, (void)crc, (void)debuginfo_file_name;
	return -1;
}

static const Dwfl_Callbacks dwfl_cb = {
	.find_elf = find_elf_cb,
	.find_debuginfo = find_debuginfo_cb,
	.section_address = dwfl_offline_section_address,
};

int obj_dwfl(struct elf_obj *o)
{
	GElf_Addr bias = 0, lo, hi = 0;
	void **userdata = NULL;

	if (o->dwfl_tried)
		return o->mod ? 0 : -ENODATA;
	o->dwfl_tried = true;
	if (o->image || !o->nloads)
		return -ENODATA;
	o->dwfl = dwfl_begin(&dwfl_cb);
	if (!o->dwfl)
		return -ENOMEM;
	/* the addresses libdwfl gives the file itself: bias 0 */
	lo = o->loads[0].p_vaddr & -o->loads[0].p_align;
	for (size_t i = 0; i < o->nloads; i++)
		if (o->loads[i].p_vaddr + o->loads[i].p_memsz > hi)
			hi = o->loads[i].p_vaddr + o->loads[i].p_memsz;
	o->mod = hi > lo ? dwfl_report_module(o->dwfl, o->base, lo, hi) : NULL;
	if (!o->mod || !dwfl_module_info(o->mod, &userdata, NULL, NULL, NULL,
					 NULL, NULL, NULL)) {
		pr_debug("dwfl: '%s': %s", o->path, dwfl_errmsg(-1));
		o->mod = NULL;
		return -EINVAL;
	}
	*userdata = o;
	dwfl_report_end(o->dwfl, NULL, NULL);
	if (!dwfl_module_getelf(o->mod, &bias)) {
		pr_debug("dwfl: '%s': %s", o->path, dwfl_errmsg(-1));
		o->mod = NULL;
		return -EINVAL;
	}
	o->mod_bias = bias;
	return 0;
}

/* Whether libdw finds .eh_frame by its section: where it cannot (no
 * .eh_frame section, or section names that cannot be read) it goes by
 * PT_GNU_EH_FRAME and has libelf read the whole file into memory, which
 * then loses the sections it had read before (elfutils 0.188). Files
 * without section headers (sstrip) only: nothing was read before. */
static bool eh_frame_by_section(Elf *elf)
{
	size_t n, shstrndx;
	Elf_Scn *scn = NULL;

	if (!elf_getshdrnum(elf, &n) && n == 0)
		return true;
	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		/* any type but NOBITS, as libdw takes it: gold writes
		 * SHT_X86_64_UNWIND */
		if (gelf_getshdr(scn, &sh) && sh.sh_type != SHT_NOBITS &&
		    (name = elf_strptr(elf, shstrndx, sh.sh_name)) &&
		    !strcmp(name, ".eh_frame"))
			return true;
	}
	return false;
}

Dwarf_CFI *elf_obj__cfi(struct elf_obj *o, uint64_t vaddr, bool eh)
{
	Dwarf_Addr bias;

	(void)vaddr;
	if (!o->cfi_tried) {
		o->cfi_tried = true;
		if (o->image || eh_frame_by_section(o->elf))
			o->eh_cfi = dwarf_getcfi_elf(o->elf);
	}
	if (eh)
		return o->eh_cfi;
	/* .debug_frame only for objects without .eh_frame: loading it may
	 * mean inflating a whole compressed debug file. Never for Go: Go's
	 * .debug_frame is wrong for asmcgocall and has no rbp rule (Go
	 * frames use pcsp); its C code has .eh_frame. */
	if (!o->dbg_cfi_tried && !o->image && !o->go && !o->eh_cfi) {
		o->dbg_cfi_tried = true;
		if (!obj_dwfl(o))
			o->dbg_cfi = dwfl_module_dwarf_cfi(o->mod, &bias);
	}
	return o->dbg_cfi;
}

bool elf_obj__cfi_covers(struct elf_obj *o, uint64_t vaddr)
{
	for (int eh = 1; eh >= 0; eh--) {
		Dwarf_CFI *cfi = elf_obj__cfi(o, vaddr, eh);
		Dwarf_Frame *frame = NULL;

		if (cfi && !dwarf_cfi_addrframe(cfi, vaddr, &frame)) {
			free(frame);
			return true;
		}
	}
	return false;
}

Elf_Data *elf__next_table(Elf *elf, Elf_Scn **scn, GElf_Shdr *sh,
			  uint32_t types, uint64_t flags)
{
	Elf_Data *data;

	while ((*scn = elf_nextscn(elf, *scn))) {
		if (!gelf_getshdr(*scn, sh) || sh->sh_type >= 32 ||
		    !(types & (1u << sh->sh_type)) ||
		    (sh->sh_flags & flags) != flags || sh->sh_entsize == 0)
			continue;
		data = elf_getdata(*scn, NULL);
		if (data)
			return data;
	}
	return NULL;
}
