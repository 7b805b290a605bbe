// SPDX-License-Identifier: MIT
/*
 * A debug file's compressed DWARF, inflated once: Debian's debug packages
 * (libc6-dbg, the -dbgsym ones) and debuginfod's files compress their
 * .debug_* sections (SHF_COMPRESSED, zlib), and libdw inflates every one
 * of them when it opens the file's DWARF: libc's 3.7 MB to 10 MB, ~40 ms
 * of a short recording's CPU, at every recording that names a libc
 * address. So do Go's linker (a Go binary's own DWARF, read for its cgo
 * code) and binutils' --compress-debug-sections. cgoprof's cache
 * directory (base/cache.c) keeps the inflated bytes of a file's sections
 * in one file, "dbg-BUILDID"; later recordings map it and hand libdw those
 * bytes, as if the sections had not been compressed.
 *
 * A section's cached bytes are used only where its entry matches the
 * section as it is in the file now: its name, its compressed size, its
 * inflated size and the CRC-32 of its compressed bytes (not computed again
 * while the file is the one the cache was made from: same device, inode,
 * size, mtime and ctime). Whatever a file is, the bytes libdw gets are
 * then the ones it would have inflated itself; the decompression budget holds for them as for the
 * file (elf_guard() runs after, on the sections as they then are). The
 * cache file is the caller's own, written whole and renamed into place
 * (cache__write_file), never rewritten in place: mapping it is safe.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "cgoprof/cache.h"
#include "cgoprof/log.h"
#include "elfobj_internal.h"

#define DBGC_MAGIC "CGOPDBG1"
#define DBGC_MAX 16		/* sections a file keeps */
#define DBGC_NAME 24		/* a section's name, NUL included */
#define DBGC_ALIGN 4096ULL	/* each section's bytes start on a page */
/* Files not used for this long are removed, and the oldest while all
 * take more than DBGC_TOTAL (each build of a Go program has its own) */
#define DBGC_UNUSED_S (30 * 86400)
#define DBGC_TOTAL (512ULL << 20)

struct dbgc_entry {
	char name[DBGC_NAME];
	uint64_t zsize;		/* the compressed section's size */
	uint32_t zcrc;		/* CRC-32 of its compressed bytes */
	uint32_t pad;
	uint64_t off;		/* its inflated bytes, in this file */
	uint64_t size;
};

/* The file it was made from, as fstat saw it: while it is the same
 * (its ctime cannot be set by anybody), the entries' CRCs are not
 * checked again. */
struct dbgc_ident {
	uint64_t dev, ino, size;
	int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
};

/* flags: libdw's walk of the units found no split unit (dwarf_safe()) */
#define DBGC_UNITS_SAFE 1u

struct dbgc_header {
	char magic[8];
	uint32_t n;
	uint32_t flags;
	struct dbgc_entry e[DBGC_MAX];
	struct dbgc_ident ident;
};
/* the layout tests/unit/test_elfobj.c changes entries in */
_Static_assert(sizeof(struct dbgc_entry) == 56 &&
		       offsetof(struct dbgc_header, e) == 16 &&
		       offsetof(struct dbgc_header, flags) == 12 &&
		       offsetof(struct dbgc_entry, zcrc) == 32,
	       "the cache file's entries");

/* A compressed .debug_* section of the file being opened. */
struct dbgc_sec {
	Elf_Scn *scn;
	struct dbgc_entry e;	/* off unset; zcrc once have_crc */
	bool have_crc;
};

static void ident_of(int fd, struct dbgc_ident *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (fstat(fd, &st))
		return;
	*id = (struct dbgc_ident){
		(uint64_t)st.st_dev, (uint64_t)st.st_ino, (uint64_t)st.st_size,
		st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		st.st_ctim.tv_sec, st.st_ctim.tv_nsec,
	};
}

/* The CRC-32 of @s's compressed bytes, while it is compressed. */
static bool sec_crc(struct dbgc_sec *s)
{
	Elf_Data *raw;

	if (s->have_crc)
		return true;
	raw = elf_rawdata(s->scn, NULL);
	if (!raw || !raw->d_buf || raw->d_size != s->e.zsize)
		return false;
	s->e.zcrc = (uint32_t)crc32(crc32(0, NULL, 0), raw->d_buf,
				    (uInt)raw->d_size);
	s->have_crc = true;
	return true;
}

/* The compressed .debug_* sections of @e (of @fd): up to DBGC_MAX; false
 * if there are none or more (then no cache). Their headers are read from
 * the file, not through libelf, which would read the whole section. */
static bool collect(Elf *e, int fd, struct dbgc_sec *secs, unsigned *n,
		    bool *plain)
{
	const unsigned char *ident = (const unsigned char *)elf_getident(e, NULL);
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	*n = 0;
	*plain = false;
	if (!ident || ident[EI_CLASS] != ELFCLASS64 ||
	    ident[EI_DATA] != ELFDATA2LSB || elf_getshdrstrndx(e, &shstrndx))
		return false;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf64_Chdr ch;
		const char *name;
		struct dbgc_sec *s;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(e, shstrndx, sh.sh_name);
		if (!name || strncmp(name, ".debug_", 7))
			continue;
		if (!(sh.sh_flags & SHF_COMPRESSED) ||
		    strlen(name) >= DBGC_NAME) {
			*plain = true;
			continue;
		}
		if (*n == DBGC_MAX || sh.sh_size < sizeof(ch) ||
		    sh.sh_size > UINT32_MAX ||
		    pread(fd, &ch, sizeof(ch), (off_t)sh.sh_offset) !=
			    (ssize_t)sizeof(ch) ||
		    ch.ch_type != ELFCOMPRESS_ZLIB)
			return false;
		s = &secs[(*n)++];
		memset(s, 0, sizeof(*s));
		s->scn = scn;
		snprintf(s->e.name, sizeof(s->e.name), "%s", name);
		s->e.zsize = sh.sh_size;
		s->e.size = ch.ch_size;
	}
	return *n > 0;
}

/* Section @s's data, @size bytes at @bytes from now on, not compressed:
 * libdw reads it with elf_getdata() and inflates nothing. Its compressed
 * bytes, unless read for their CRC, are not read at all: libelf reads no
 * data of a SHT_NOBITS section, which it is while elf_getdata() makes its
 * descriptor. The Elf is read-only (ELF_C_READ): libelf frees what it
 * allocated, not @bytes. */
static bool swap_in(struct dbgc_sec *s, void *bytes, uint64_t size)
{
	GElf_Shdr sh, nobits;
	Elf_Data *d;

	if (!gelf_getshdr(s->scn, &sh))
		return false;
	nobits = sh;
	nobits.sh_type = SHT_NOBITS;
	if (!s->have_crc && !gelf_update_shdr(s->scn, &nobits))
		return false;
	d = elf_getdata(s->scn, NULL);
	sh.sh_flags &= ~(GElf_Xword)SHF_COMPRESSED;
	sh.sh_size = size;
	if (!gelf_update_shdr(s->scn, &sh) || !d)
		return false;
	d->d_buf = bytes;
	d->d_size = size;
	d->d_type = ELF_T_BYTE;
	d->d_align = 1;
	return true;
}

/* A section's entry and its inflated bytes, to be written. */
struct dbgc_out {
	struct dbgc_entry e;	/* off set by write_file() */
	const void *bytes;
};

/* Makes room: removes the cache files "dbg-*" of @dfd not used for
 * DBGC_UNUSED_S, then the least recently used while they take more than
 * DBGC_TOTAL, all but @keep (just written). */
static void evict(int dfd, const char *keep)
{
	struct old {
		char name[4 + 96 + 1];
		int64_t used;
		uint64_t size;
	} *v = NULL, *grown;
	size_t nv = 0, cap = 0;
	uint64_t total = 0;
	time_t now = time(NULL);
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (strncmp(de->d_name, "dbg-", 4) || !strcmp(de->d_name, keep) ||
		    strlen(de->d_name) >= sizeof(v->name) ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode))
			continue;
		if (now - st.st_mtime > DBGC_UNUSED_S) {
			unlinkat(dfd, de->d_name, 0);
			continue;
		}
		if (nv == cap) {
			cap = cap ? 2 * cap : 16;
			if (!(grown = realloc(v, cap * sizeof(*v))))
				break;
			v = grown;
		}
		snprintf(v[nv].name, sizeof(v[nv].name), "%s", de->d_name);
		v[nv].used = st.st_mtime;
		v[nv++].size = (uint64_t)st.st_size;
		total += (uint64_t)st.st_size;
	}
	closedir(d);
	while (total > DBGC_TOTAL && nv) {
		size_t oldest = 0;

		for (size_t i = 1; i < nv; i++)
			if (v[i].used < v[oldest].used)
				oldest = i;
		unlinkat(dfd, v[oldest].name, 0);
		total -= v[oldest].size;
		v[oldest] = v[--nv];
	}
	free(v);
}

/* The cache file @dfd/@name: @n sections, each from a page boundary. */
static void write_file(int dfd, const char *name, struct dbgc_out *out,
		       unsigned n, const struct dbgc_ident *ident)
{
	static const uint8_t zeros[DBGC_ALIGN];
	const void *bufs[2 + 2 * DBGC_MAX];
	size_t lens[2 + 2 * DBGC_MAX], nb = 0;
	struct dbgc_header h = { .magic = DBGC_MAGIC, .ident = *ident };
	uint64_t off = (sizeof(h) + DBGC_ALIGN - 1) & ~(DBGC_ALIGN - 1);

	bufs[nb] = &h;
	lens[nb++] = sizeof(h);
	bufs[nb] = zeros;
	lens[nb++] = off - sizeof(h);
	for (unsigned i = 0; i < n; i++) {
		h.e[h.n] = out[i].e;
		h.e[h.n++].off = off;
		bufs[nb] = out[i].bytes;
		lens[nb++] = out[i].e.size;
		off += out[i].e.size;
		bufs[nb] = zeros;
		lens[nb] = (size_t)(-off & (DBGC_ALIGN - 1));
		off += lens[nb++];
	}
	if (!h.n)
		return;
	if (cache__write_file(dfd, name, bufs, lens, nb))
		pr_debug("cache: %s not written", name);
	else
		evict(dfd, name);
}

/* The entry of @h for section @s (its CRC checked unless @same_file),
 * inside the cache file of @file_size bytes; NULL if none. */
static const struct dbgc_entry *find_entry(const struct dbgc_header *h,
					   struct dbgc_sec *s, bool same_file,
					   uint64_t file_size)
{
	for (uint32_t i = 0; i < h->n; i++) {
		const struct dbgc_entry *c = &h->e[i];

		if (!memchr(c->name, 0, sizeof(c->name)) ||
		    strcmp(c->name, s->e.name) || c->zsize != s->e.zsize ||
		    c->size != s->e.size)
			continue;
		if (!same_file && (!sec_crc(s) || c->zcrc != s->e.zcrc))
			continue;
		if (c->off % DBGC_ALIGN || c->off > file_size ||
		    c->size > file_size - c->off)
			return NULL;
		return c;
	}
	return NULL;
}

/* The sections of @secs the cache file @dfd/@name has, swapped in (the
 * mapping in @map); the others are left as they are (a section elf_guard()
 * hid when the file was written is not in it). False if it has none. */
static bool use_cached(int dfd, const char *name, struct dbgc_sec *secs,
		       unsigned n, bool plain, const struct dbgc_ident *ident,
		       uint64_t budget, struct dbg_map *map)
{
	const struct dbgc_entry *found[DBGC_MAX];
	struct dbgc_out out[DBGC_MAX];
	struct dbgc_header h;
	struct stat st;
	uint64_t size, sum = 0;
	unsigned nfound = 0;
	void *addr = MAP_FAILED;
	int fd = cache__open_file(dfd, name, &size);
	bool same = false;

	if (fd < 0)
		return false;
	if (size > sizeof(h) && size <= SIZE_MAX &&
	    cache__pread(fd, &h, sizeof(h), 0) &&
	    !memcmp(h.magic, DBGC_MAGIC, 8) && h.n <= DBGC_MAX) {
		same = ident->ino && !memcmp(&h.ident, ident, sizeof(*ident));
		for (unsigned i = 0; i < n; i++) {
			found[i] = find_entry(&h, &secs[i], same, size);
			if (found[i] && found[i]->size > budget - sum)
				found[i] = NULL;
			if (found[i]) {
				sum += found[i]->size;
				nfound++;
			}
		}
	}
	if (nfound)
		addr = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE, fd, 0);
	if (addr != MAP_FAILED && fstat(fd, &st)) {
		munmap(addr, (size_t)size);
		addr = MAP_FAILED;
	}
	/* used: its mtime says when, for evict(), at most daily */
	if (addr != MAP_FAILED && time(NULL) - st.st_mtime > 86400)
		futimens(fd, NULL);
	close(fd);
	if (addr == MAP_FAILED)
		return false;
	map->addr = addr;
	map->len = (size_t)size;
	map->whole = nfound == n && !plain && same;
	map->units_safe = map->whole && (h.flags & DBGC_UNITS_SAFE);
	map->dev = (uint64_t)st.st_dev;
	map->ino = (uint64_t)st.st_ino;
	snprintf(map->name, sizeof(map->name), "%s", name);
	nfound = 0;
	for (unsigned i = 0; i < n; i++) {
		if (!found[i])
			continue;
		out[nfound].e = *found[i];
		out[nfound++].bytes = (const char *)addr + found[i]->off;
		/* a failure leaves the others swapped, the mapping kept for
		 * them */
		if (!swap_in(&secs[i], (char *)addr + found[i]->off,
			     found[i]->size))
			return true;
	}
	/* made from another file with the same sections (a package
	 * reinstalled): written again for this one, whose CRCs are then not
	 * computed again */
	if (!same)
		write_file(dfd, name, out, nfound, ident);
	return true;
}

/* After elf_guard(): the sections of @secs it left (not hidden: their
 * names unchanged), inflated now rather than by libdw, written to the
 * cache file @dfd/@name. */
static void write_cache(Elf *e, int dfd, const char *name,
			struct dbgc_sec *secs, unsigned n,
			const struct dbgc_ident *ident)
{
	struct dbgc_out out[DBGC_MAX];
	unsigned nout = 0;
	size_t shstrndx;

	if (elf_getshdrstrndx(e, &shstrndx))
		return;
	for (unsigned i = 0; i < n; i++) {
		GElf_Shdr sh;
		const char *now;
		Elf_Data *d;

		if (!gelf_getshdr(secs[i].scn, &sh) ||
		    !(now = elf_strptr(e, shstrndx, sh.sh_name)) ||
		    strcmp(now, secs[i].e.name) || !secs[i].have_crc)
			continue;	/* hidden by elf_guard() */
		if ((sh.sh_flags & SHF_COMPRESSED) &&
		    elf_compress(secs[i].scn, 0, 0) < 0)
			return;
		d = elf_getdata(secs[i].scn, NULL);
		if (!d || !d->d_buf || d->d_size != secs[i].e.size)
			return;
		out[nout].e = secs[i].e;
		out[nout++].bytes = d->d_buf;
	}
	write_file(dfd, name, out, nout, ident);
}

void dbg_cache__guard(Elf *e, int fd, const char *path, uint64_t file_size,
		      const char *key, struct dbg_map *map)
{
	struct dbgc_sec secs[DBGC_MAX];
	struct dbgc_ident ident;
	struct cache_opts o;
	char name[4 + 96 + 1];
	size_t klen = key ? strlen(key) : 0;
	unsigned n = 0;
	bool plain;
	int dfd = -1;

	memset(map, 0, sizeof(*map));
	if (klen > 1 && klen <= 96 && strspn(key, "0123456789abcdef") == klen &&
	    collect(e, fd, secs, &n, &plain)) {
		cache_opts__default(&o);
		if (o.dir)
			dfd = cache__open_dir(o.dir, true);
	}
	if (dfd < 0) {
		elf_guard(e, path, file_size);
		return;
	}
	snprintf(name, sizeof(name), "dbg-%s", key);
	ident_of(fd, &ident);
	if (use_cached(dfd, name, secs, n, plain, &ident,
		       decompress_budget(file_size), map)) {
		pr_debug("%s: DWARF from the cache's %s", path, name);
	} else {
		/* the CRCs while the sections are compressed: elf_guard()
		 * inflates some */
		for (unsigned i = 0; i < n; i++)
			sec_crc(&secs[i]);
		elf_guard(e, path, file_size);
		write_cache(e, dfd, name, secs, n, &ident);
		close(dfd);
		return;
	}
	elf_guard(e, path, file_size);
	close(dfd);
}

void dbg_map__free(struct dbg_map *map)
{
	if (map->addr)
		munmap(map->addr, map->len);
	map->addr = NULL;
}

void dbg_map__set_units_safe(struct dbg_map *map)
{
	struct cache_opts o;
	struct stat st;
	uint32_t flags = DBGC_UNITS_SAFE;
	int dfd, fd;

	if (!map->whole || map->units_safe)
		return;
	map->units_safe = true;
	cache_opts__default(&o);
	if (!o.dir || (dfd = cache__open_dir(o.dir, false)) < 0)
		return;
	fd = openat(dfd, map->name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK |
				    O_CLOEXEC);
	close(dfd);
	if (fd < 0)
		return;
	/* the file mapped, not one written over it since: a word of its
	 * header, which no section's bytes share a page with */
	if (!fstat(fd, &st) && (uint64_t)st.st_dev == map->dev &&
	    (uint64_t)st.st_ino == map->ino &&
	    pwrite(fd, &flags, sizeof(flags),
		   offsetof(struct dbgc_header, flags)) != sizeof(flags))
		pr_debug("cache: %s: flags not written", map->name);
	close(fd);
}
