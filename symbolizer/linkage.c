// SPDX-License-Identifier: MIT
/* Linkage of an ELF file (include/cgoprof/linkage.h): the program headers
 * say static, static-pie or dynamic; the dynamic section (found by
 * PT_DYNAMIC, its strings by DT_STRTAB through the PT_LOADs, so section
 * headers are not needed) gives DT_NEEDED, DT_RUNPATH and DT_RPATH;
 * .dynsym with .gnu.version and .gnu.version_r the imports and the glibc
 * versions they need. /etc/ld.so.cache is parsed as glibc's
 * elf/dl-cache.c reads it. Every offset read from a file is checked
 * against the bytes that hold it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgoprof/linkage.h"

#define LDSO_CACHE_MAX (64u << 20)
#define LINKAGE_MAX_NEEDED 4096

int elf_file__open(const char *path, struct elf_file *f)
{
	struct stat st;
	int err;

	memset(f, 0, sizeof(*f));
	f->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (f->fd < 0)
		return -errno;
	if (fstat(f->fd, &st)) {
		err = -errno;
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		err = -EISDIR;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto fail;
	}
	f->size = (uint64_t)st.st_size;
	elf_version(EV_CURRENT);
	f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto fail;
	}
	{
		GElf_Ehdr ehdr;

		if (!gelf_getehdr(f->elf, &ehdr)) {
			err = -ENOEXEC;
			goto fail;
		}
	}
	return 0;
fail:
	elf_file__close(f);
	return err;
}

void elf_file__close(struct elf_file *f)
{
	if (f->elf)
		elf_end(f->elf);
	if (f->fd > 0)
		close(f->fd);
	f->elf = NULL;
	f->fd = -1;
}

/* File bytes of link-time [vaddr, vaddr + len) through the PT_LOADs. */
static const char *vaddr_bytes(Elf *elf, const char *raw, size_t rawsize,
			       uint64_t vaddr, uint64_t len)
{
	size_t nphdr = 0;

	if (elf_getphdrnum(elf, &nphdr))
		return NULL;
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;
		uint64_t off;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr < ph.p_vaddr || vaddr - ph.p_vaddr >= ph.p_filesz)
			continue;
		off = vaddr - ph.p_vaddr;
		if (len > ph.p_filesz - off || ph.p_offset > rawsize ||
		    off + len > rawsize - ph.p_offset)
			return NULL;
		return raw + ph.p_offset + off;
	}
	return NULL;
}

static char *str_at(const char *strtab, uint64_t strsz, uint64_t off)
{
	const char *s;

	if (!strtab || off >= strsz)
		return NULL;
	s = strtab + off;
	if (!memchr(s, 0, strsz - off))
		return NULL;
	return strdup(s);
}

/* DT_NEEDED, DT_RUNPATH, DT_RPATH from the PT_DYNAMIC segment. */
static int dynamic_read(Elf *elf, const GElf_Phdr *dyn, struct elf_linkage *l)
{
	size_t rawsize = 0;
	const char *raw = elf_rawfile(elf, &rawsize), *strtab = NULL;
	uint64_t strtab_va = 0, strsz = 0, n;
	const uint8_t *d;
	int err = 0;

	if (!raw || dyn->p_offset > rawsize || dyn->p_filesz > rawsize - dyn->p_offset)
		return -EINVAL;
	d = (const uint8_t *)raw + dyn->p_offset;
	n = dyn->p_filesz / 16;
	for (uint64_t i = 0; i < n; i++) {
		int64_t tag;
		uint64_t val;

		memcpy(&tag, d + i * 16, 8);
		memcpy(&val, d + i * 16 + 8, 8);
		if (tag == DT_NULL)
			break;
		if (tag == DT_STRTAB)
			strtab_va = val;
		else if (tag == DT_STRSZ)
			strsz = val;
	}
	if (strsz)
		strtab = vaddr_bytes(elf, raw, rawsize, strtab_va, strsz);
	if (!strtab)
		return n ? -EINVAL : 0;
	for (uint64_t i = 0; i < n; i++) {
		int64_t tag;
		uint64_t val;
		char *s;

		memcpy(&tag, d + i * 16, 8);
		memcpy(&val, d + i * 16 + 8, 8);
		if (tag == DT_NULL)
			break;
		if (tag != DT_NEEDED && tag != DT_RUNPATH && tag != DT_RPATH)
			continue;
		s = str_at(strtab, strsz, val);
		if (!s)
			return -EINVAL;
		if (tag == DT_RUNPATH) {
			free(l->runpath);
			l->runpath = s;
		} else if (tag == DT_RPATH) {
			free(l->rpath);
			l->rpath = s;
		} else {
			char **needed;

			if (l->nneeded >= LINKAGE_MAX_NEEDED) {
				free(s);
				return -EINVAL;
			}
			needed = realloc(l->needed,
					 (l->nneeded + 1) * sizeof(*needed));
			if (!needed) {
				free(s);
				return -ENOMEM;
			}
			l->needed = needed;
			needed[l->nneeded++] = s;
		}
	}
	return err;
}

/* "GLIBC_2.34" -> "2.34" when it names a glibc release. */
static const char *glibc_release(const char *v)
{
	if (!v || strncmp(v, "GLIBC_", 6) || v[6] < '0' || v[6] > '9')
		return NULL;
	return v + 6;
}

int glibc_version__cmp(const char *a, const char *b)
{
	while (*a || *b) {
		unsigned long x = strtoul(a, (char **)&a, 10);
		unsigned long y = strtoul(b, (char **)&b, 10);

		if (x != y)
			return x < y ? -1 : 1;
		if (*a == '.')
			a++;
		else if (*a)
			break;
		if (*b == '.')
			b++;
		else if (*b)
			break;
	}
	return 0;
}

static void glibc_note(struct elf_linkage *l, const char *version)
{
	const char *r = glibc_release(version);

	if (!r || strlen(r) >= sizeof(l->glibc_min))
		return;
	if (!l->glibc_min[0] || glibc_version__cmp(r, l->glibc_min) > 0)
		snprintf(l->glibc_min, sizeof(l->glibc_min), "%s", r);
}

struct version_name {
	unsigned index;
	const char *name;
	const char *file;
};

#define VERSIONS_MAX 1024

/* .gnu.version_r: version index -> (name, file); the newest GLIBC_. */
static size_t verneed_read(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh,
			   struct version_name *out, struct elf_linkage *l)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n = 0, off = 0;

	if (!data)
		return 0;
	for (unsigned k = 0; k < sh->sh_info && k < VERSIONS_MAX; k++) {
		GElf_Verneed vn;
		size_t aoff;
		const char *file;

		if (!gelf_getverneed(data, (int)off, &vn))
			break;
		file = elf_strptr(elf, sh->sh_link, vn.vn_file);
		aoff = off + vn.vn_aux;
		for (unsigned j = 0; j < vn.vn_cnt && j < VERSIONS_MAX; j++) {
			GElf_Vernaux va;
			const char *name;

			if (aoff >= data->d_size ||
			    !gelf_getvernaux(data, (int)aoff, &va))
				break;
			name = elf_strptr(elf, sh->sh_link, va.vna_name);
			if (name && n < VERSIONS_MAX) {
				out[n].index = va.vna_other & 0x7fff;
				out[n].name = name;
				out[n].file = file;
				n++;
				glibc_note(l, name);
			}
			if (va.vna_next == 0)
				break;
			aoff += va.vna_next;
		}
		if (vn.vn_next == 0)
			break;
		off += vn.vn_next;
		if (off >= data->d_size)
			break;
	}
	return n;
}

static int import_cmp(const void *a, const void *b)
{
	const struct elf_import *x = a, *y = b;

	return strcmp(x->symbol, y->symbol);
}

static int imports_read(Elf *elf, struct elf_linkage *l)
{
	Elf_Scn *scn = NULL, *dynsym = NULL, *versym = NULL, *verneed = NULL;
	GElf_Shdr dsh = {0}, vnsh = {0};
	struct version_name *names = NULL;
	size_t nnames = 0, count;
	Elf_Data *syms, *vers = NULL;
	int err = 0;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_DYNSYM && !dynsym) {
			dynsym = scn;
			dsh = sh;
		} else if (sh.sh_type == SHT_GNU_versym && !versym) {
			versym = scn;
		} else if (sh.sh_type == SHT_GNU_verneed && !verneed) {
			verneed = scn;
			vnsh = sh;
		}
	}
	if (verneed) {
		names = calloc(VERSIONS_MAX, sizeof(*names));
		if (!names)
			return -ENOMEM;
		nnames = verneed_read(elf, verneed, &vnsh, names, l);
	}
	if (!dynsym || dsh.sh_entsize == 0)
		goto out;
	syms = elf_getdata(dynsym, NULL);
	if (!syms)
		goto out;
	if (versym)
		vers = elf_getdata(versym, NULL);
	count = syms->d_size / dsh.sh_entsize;
	l->imports = calloc(count ? count : 1, sizeof(*l->imports));
	if (!l->imports) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 1; i < count; i++) {
		struct elf_import *im;
		const char *name;
		GElf_Versym vs;
		GElf_Sym sym;

		if (!gelf_getsym(syms, (int)i, &sym))
			break;
		if (sym.st_shndx != SHN_UNDEF)
			continue;
		name = elf_strptr(elf, dsh.sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		im = &l->imports[l->nimports++];
		im->symbol = strdup(name);
		if (!im->symbol) {
			err = -ENOMEM;
			goto out;
		}
		if (!vers || !gelf_getversym(vers, (int)i, &vs))
			continue;
		for (size_t k = 0; k < nnames; k++) {
			if (names[k].index != (vs & 0x7fff))
				continue;
			im->version = strdup(names[k].name);
			im->file = names[k].file ? strdup(names[k].file) : NULL;
			if (!im->version) {
				err = -ENOMEM;
				goto out;
			}
			break;
		}
	}
	if (l->nimports)
		qsort(l->imports, l->nimports, sizeof(*l->imports),
		      import_cmp);
out:
	free(names);
	return err;
}

int elf_linkage__read(Elf *elf, struct elf_linkage *l)
{
	GElf_Phdr dyn = {0};
	bool has_dyn = false;
	size_t nphdr = 0;
	GElf_Ehdr ehdr;
	int err;

	if (!gelf_getehdr(elf, &ehdr))
		return -EINVAL;
	l->is_dyn = ehdr.e_type == ET_DYN;
	if (elf_getphdrnum(elf, &nphdr))
		nphdr = 0;
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph))
			continue;
		if (ph.p_type == PT_DYNAMIC && !has_dyn) {
			dyn = ph;
			has_dyn = true;
		} else if (ph.p_type == PT_INTERP && !l->interp) {
			size_t rawsize = 0;
			const char *raw = elf_rawfile(elf, &rawsize);

			if (!raw || ph.p_offset >= rawsize ||
			    ph.p_filesz > rawsize - ph.p_offset ||
			    ph.p_filesz == 0 || ph.p_filesz > 4096)
				return -EINVAL;
			l->interp = strndup(raw + ph.p_offset, ph.p_filesz);
			if (!l->interp)
				return -ENOMEM;
		}
	}
	if (l->interp)
		l->kind = LINKAGE_DYNAMIC;
	else if (has_dyn && l->is_dyn)
		l->kind = LINKAGE_STATIC_PIE;
	else
		l->kind = LINKAGE_STATIC;
	if (has_dyn) {
		err = dynamic_read(elf, &dyn, l);
		if (err)
			return err;
	}
	return imports_read(elf, l);
}

void elf_linkage__release(struct elf_linkage *l)
{
	if (!l)
		return;
	free(l->interp);
	for (size_t i = 0; i < l->nneeded; i++)
		free(l->needed[i]);
	free(l->needed);
	free(l->runpath);
	free(l->rpath);
	for (size_t i = 0; i < l->nimports; i++) {
		free(l->imports[i].symbol);
		free(l->imports[i].version);
		free(l->imports[i].file);
	}
	free(l->imports);
	memset(l, 0, sizeof(*l));
}

/* ---- /etc/ld.so.cache ---- */

#define CACHE_OLD_MAGIC "ld.so-1.7.0"
#define CACHE_NEW_MAGIC "glibc-ld.so.cache1.1"
#define CACHE_NEW_HEADER 48
#define CACHE_NEW_ENTRY 24
#define CACHE_OLD_HEADER 16
#define CACHE_OLD_ENTRY 12
#define FLAG_TYPE_MASK 0x00ff
#define FLAG_ELF_LIBC6 0x0003
#define FLAG_REQUIRED_MASK 0xff00
#define FLAG_X8664_LIB64 0x0300

struct ldso_cache {
	uint8_t *bytes;
	size_t size;
	size_t hdr;	/* the new header: strings are relative to it */
	uint32_t nlibs;
};

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

struct ldso_cache *ldso_cache__parse(const void *buf, size_t size)
{
	struct ldso_cache *c;
	const uint8_t *b = buf;
	size_t hdr = 0;
	uint32_t nlibs;

	if (!buf || size > LDSO_CACHE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (size >= CACHE_OLD_HEADER &&
	    !memcmp(b, CACHE_OLD_MAGIC, sizeof(CACHE_OLD_MAGIC) - 1)) {
		uint64_t old = rd32(b + 12);

		hdr = CACHE_OLD_HEADER + old * CACHE_OLD_ENTRY;
		hdr = (hdr + 7) & ~(size_t)7;
		if (old > size || hdr > size) {
			errno = EINVAL;
			return NULL;
		}
	}
	if (size - hdr < CACHE_NEW_HEADER ||
	    memcmp(b + hdr, CACHE_NEW_MAGIC, sizeof(CACHE_NEW_MAGIC) - 1)) {
		errno = EINVAL;
		return NULL;
	}
	nlibs = rd32(b + hdr + 20);
	if ((uint64_t)nlibs * CACHE_NEW_ENTRY > size - hdr - CACHE_NEW_HEADER) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->bytes = malloc(size ? size : 1))) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(c->bytes, b, size);
	c->size = size;
	c->hdr = hdr;
	c->nlibs = nlibs;
	return c;
}

struct ldso_cache *ldso_cache__open(const char *path)
{
	struct ldso_cache *c = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	struct stat st;
	int fd, err = 0;

	fd = open(path ? path : "/etc/ld.so.cache",
		  O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > LDSO_CACHE_MAX) {
		err = EINVAL;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		err = ENOMEM;
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	c = ldso_cache__parse(buf, len);
	if (!c)
		err = errno;
out:
	free(buf);
	close(fd);
	if (err)
		errno = err;
	return c;
}

void ldso_cache__free(struct ldso_cache *c)
{
	if (!c)
		return;
	free(c->bytes);
	free(c);
}

size_t ldso_cache__count(const struct ldso_cache *c)
{
	return c ? c->nlibs : 0;
}

/* The string at offset @off from the new header, or NULL. */
static const char *cache_str(const struct ldso_cache *c, uint32_t off)
{
	size_t at = c->hdr + off;

	if (off >= c->size - c->hdr || !memchr(c->bytes + at, 0, c->size - at))
		return NULL;
	return (const char *)c->bytes + at;
}

const char *ldso_cache__lookup(const struct ldso_cache *c, const char *soname)
{
	const char *found = NULL;

	if (!c || !soname)
		return NULL;
	for (uint32_t i = 0; i < c->nlibs; i++) {
		const uint8_t *e = c->bytes + c->hdr + CACHE_NEW_HEADER +
				   (size_t)i * CACHE_NEW_ENTRY;
		uint32_t flags = rd32(e);
		uint64_t hwcap;
		const char *key, *value;

		if ((flags & FLAG_TYPE_MASK) != FLAG_ELF_LIBC6 ||
		    (flags & FLAG_REQUIRED_MASK) != FLAG_X8664_LIB64)
			continue;
		key = cache_str(c, rd32(e + 4));
		if (!key || strcmp(key, soname))
			continue;
		value = cache_str(c, rd32(e + 8));
		if (!value)
			continue;
		memcpy(&hwcap, e + 16, 8);
		/* the baseline entry first; a glibc-hwcaps one if no other */
		if (hwcap == 0)
			return value;
		if (!found)
			found = value;
	}
	return found;
}
