// SPDX-License-Identifier: MIT
/* Files somebody else controls, read safely: every ELF file opened with
 * O_NONBLOCK and only if it is a regular file (never a FIFO or a device),
 * read with pread (ELF_C_READ: a file that shrinks gives errors, never
 * SIGBUS); the debug files found here in libdwfl's places, not by libdwfl
 * (which opens them blocking and maps them); and every compressed section
 * (SHF_COMPRESSED, .zdebug_*, .gnu_debugdata's xz) sized before libelf or
 * libdwfl inflates it, and hidden from them past the budget. */
#include <dwarf.h>
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cgoprof/log.h"
#include "elfobj_internal.h"

#define MIB (UINT64_C(1) << 20)
#define BUDGET_MIN (64 * MIB)
#define BUDGET_FACTOR 8

int safe_open(const char *path, uint64_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;	/* a FIFO, a device, a directory */
	if (err) {
		close(fd);
		return err;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

/* CGOPROF_DECOMPRESS_LIMIT: bytes, or with a K, M or G suffix. */
static bool env_limit(uint64_t *limit)
{
	const char *s = getenv("CGOPROF_DECOMPRESS_LIMIT");
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end)
		return false;
	*limit = v;
	return true;
}

uint64_t decompress_budget(uint64_t file_size)
{
	uint64_t b;

	if (env_limit(&b))
		return b;
	b = file_size > UINT64_MAX / BUDGET_FACTOR ? UINT64_MAX
						   : file_size * BUDGET_FACTOR;
	return b > BUDGET_MIN ? b : BUDGET_MIN;
}

/* Whether every string table of @elf ends in a NUL: libdwfl hands out
 * symbol names as pointers into them, unbounded. */
static bool strtabs_terminated(Elf *elf)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_STRTAB ||
		    !sh.sh_size)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf || !d->d_size ||
		    ((const char *)d->d_buf)[d->d_size - 1])
			return false;
	}
	return true;
}

/* What .gnu_debugdata's xz stream inflates to, counted through a fixed
 * buffer, at most @limit + 1 bytes (libdwfl inflates the same bytes to as
 * much: decoding is deterministic); then, within the budget, whether what
 * it holds is safe for libdwfl (its string tables end). -EINVAL: not xz,
 * corrupt, or unsafe. */
static int xz_size(Elf_Scn *scn, uint64_t limit, uint64_t *out)
{
	static uint8_t chunk[1 << 16];
	Elf_Data *d = elf_rawdata(scn, NULL);
	lzma_stream z = LZMA_STREAM_INIT;
	uint64_t total = 0, memlimit = 256 * MIB;
	size_t in_pos = 0, out_pos = 0;
	lzma_ret r;
	uint8_t *buf;
	Elf *mini;
	int err = -EINVAL;

	if (!d || !d->d_buf || !d->d_size)
		return -EINVAL;
	if (lzma_stream_decoder(&z, memlimit, LZMA_CONCATENATED) != LZMA_OK)
		return -ENOMEM;
	z.next_in = d->d_buf;
	z.avail_in = d->d_size;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		r = lzma_code(&z, LZMA_FINISH);
		total += sizeof(chunk) - z.avail_out;
	} while (r == LZMA_OK && total <= limit);
	lzma_end(&z);
	*out = total;
	if (total > limit)
		return 0;
	if (r != LZMA_STREAM_END || !total || total > SIZE_MAX ||
	    !(buf = malloc((size_t)total)))
		return -EINVAL;
	if (lzma_stream_buffer_decode(&memlimit, LZMA_CONCATENATED, NULL,
				      d->d_buf, &in_pos, d->d_size, buf,
				      &out_pos, (size_t)total) == LZMA_OK &&
	    out_pos == total && (mini = elf_memory((char *)buf, out_pos))) {
		if (elf_kind(mini) != ELF_K_ELF || strtabs_terminated(mini))
			err = 0;
		elf_end(mini);
	}
	free(buf);
	return err;
}

/* The size a compressed section claims (libelf allocates that much and
 * inflates into it, no more). */
static int claimed_size(Elf_Scn *scn, const GElf_Shdr *sh, const char *name,
			uint64_t *out)
{
	if (sh->sh_flags & SHF_COMPRESSED) {
		GElf_Chdr ch;

		if (!gelf_getchdr(scn, &ch))
			return -EINVAL;
		*out = ch.ch_size;
		return 0;
	}
	if (!strncmp(name, ".zdebug", 7)) {
		Elf_Data *d = elf_rawdata(scn, NULL);
		const uint8_t *p;

		if (!d || !d->d_buf || d->d_size < 12 ||
		    memcmp(d->d_buf, "ZLIB", 4))
			return -EINVAL;
		p = (const uint8_t *)d->d_buf + 4;
		*out = 0;
		for (int i = 0; i < 8; i++)
			*out = *out << 8 | p[i];
		return 0;
	}
	return -ENOENT;
}

/* Out of libelf's and libdw's sight: not compressed, no symbol table,
 * and a name they do not know. Every name they take begins with a ".":
 * @name is read from past its leading dots (".debug_info" as
 * "debug_info", "..debug_str" as "debug_str"); "" stays "". */
static void hide(Elf_Scn *scn, GElf_Shdr *sh, const char *name)
{
	while (*name++ == '.')
		sh->sh_name++;
	sh->sh_flags &= ~(GElf_Xword)SHF_COMPRESSED;
	if (sh->sh_type == SHT_SYMTAB || sh->sh_type == SHT_DYNSYM ||
	    sh->sh_type == SHT_STRTAB)
		sh->sh_type = SHT_PROGBITS;
	gelf_update_shdr(scn, sh);
}

/* Ends a string section with a NUL where it does not (its last string is
 * cut short): libdwfl hands out symbol names as pointers into it, libdw
 * file and directory names, and their readers would read past it. The
 * data is libelf's copy (ELF_C_READ), not the file. */
static void terminate(Elf_Scn *scn)
{
	Elf_Data *d = elf_getdata(scn, NULL);

	if (d && d->d_buf && d->d_size && ((char *)d->d_buf)[d->d_size - 1])
		((char *)d->d_buf)[d->d_size - 1] = 0;
}

/* Sections libdw reads strings from with strlen: .debug_str and
 * .debug_line_str (each string ends in a NUL, so the section does), and
 * the DIEs' sections, where a DW_FORM_string attribute that ends the
 * section would be read past it (dwarf_formstring() does not bound it). A
 * well-formed CU that ends the section ends in the 0 closing its
 * children; a childless one (an assembler's) in an attribute, whose last
 * byte is then cleared in cgoprof's copy: a language or an address's top
 * byte, never a name's. By name, whatever their flags say, under every
 * name libdw takes for them: ".debug_x", legacy compressed ".zdebug_x",
 * either with ".dwo" after (a split DWARF file), and ".gnu.debuglto_.debug_x"
 * (a file with only LTO sections). */
static bool debug_strings(const char *name)
{
	static const char *const names[] = {
		"str", "line_str", "info", "types",
	};
	size_t len;

	if (!strncmp(name, ".gnu.debuglto_", 14))
		name += 14;
	if (!strncmp(name, ".debug_", 7))
		name += 7;
	else if (!strncmp(name, ".zdebug_", 8))
		name += 8;
	else
		return false;
	len = strlen(name);
	if (len > 4 && !strcmp(name + len - 4, ".dwo"))
		len -= 4;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && !strncmp(name, names[i], len))
			return true;
	return false;
}

void elf_guard(Elf *elf, const char *path, uint64_t file_size)
{
	uint64_t budget = decompress_budget(file_size), used = 0;
	bool corrupt = false;
	char first_name[64] = "";
	unsigned skipped = 0;
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	bool named = !elf_getshdrstrndx(elf, &shstrndx);

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name = NULL;
		uint64_t size = 0;
		bool strings, zdebug;
		int err;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		/* a section without a name is still a string table by its
		 * type or flags: libdwfl finds a symbol table's by its link */
		if (named)
			name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			name = "";
		zdebug = !strncmp(name, ".zdebug", 7);
		strings = sh.sh_type == SHT_STRTAB ||
			  (sh.sh_flags & SHF_STRINGS) ||
			  debug_strings(name);
		if (strings && !(sh.sh_flags & SHF_COMPRESSED) && !zdebug) {
			terminate(scn);
			continue;
		}
		if (!strcmp(name, ".gnu_debugdata") &&
		    !(sh.sh_flags & SHF_COMPRESSED))
			err = xz_size(scn, budget - used, &size);
		else if (sh.sh_type == SHT_STRTAB || sh.sh_type == SHT_SYMTAB ||
			 sh.sh_type == SHT_DYNSYM)
			/* compressed symbols: inflated, a string table could
			 * end without a NUL */
			err = sh.sh_flags & SHF_COMPRESSED ? -EINVAL : -ENOENT;
		else
			err = claimed_size(scn, &sh, name, &size);
		if (err == -ENOENT)
			continue;
		if (!err && size <= budget - used) {
			used += size;
			/* a compressed string section: inflated here, where
			 * its last NUL can be checked (libdw then finds it
			 * inflated); a legacy .zdebug one cannot be given to
			 * libdw inflated, and is hidden */
			if (!strings)
				continue;
			if (!zdebug && elf_compress(scn, 0, 0) >= 0) {
				terminate(scn);
				continue;
			}
			err = -EINVAL;
		}
		if (!skipped++) {
			snprintf(first_name, sizeof(first_name), "%s",
				 *name ? name : "(no name)");
			corrupt = err;
		}
		hide(scn, &sh, name);
	}
	if (skipped)
		pr_warn("%s: section %s skipped: %s %" PRIu64 " MiB "
			"(CGOPROF_DECOMPRESS_LIMIT)%s", path, first_name,
			corrupt ? "corrupt, or inflates past the budget of"
				: "inflates past the decompression budget of",
			budget / MIB, skipped > 1 ? "; so were others after it" : "");
}

/* One byte of @elf's file at @off, in *@b: false past its end. */
static bool file_byte(Elf *elf, uint64_t off, uint8_t *b)
{
	Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)off, 1, ELF_T_BYTE);

	if (!d || !d->d_buf || d->d_size != 1)
		return false;
	*b = *(const uint8_t *)d->d_buf;
	return true;
}

bool elf_dynstr_terminated(Elf *elf)
{
	size_t phnum;

	if (elf_getphdrnum(elf, &phnum))
		return true;	/* no segments: nothing libdwfl reads there */
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		GElf_Addr strtab = 0;
		GElf_Xword strsz = 0;
		Elf_Data *d;
		size_t n;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_DYNAMIC)
			continue;
		d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset,
					 ph.p_filesz, ELF_T_DYN);
		if (!d)
			continue;
		/* the last DT_STRTAB and DT_STRSZ before DT_NULL, as
		 * libdwfl's find_dynsym takes them */
		n = gelf_fsize(elf, ELF_T_DYN, 1, EV_CURRENT);
		n = n ? d->d_size / n : 0;
		for (size_t j = 0; j < n; j++) {
			GElf_Dyn dyn;

			if (!gelf_getdyn(d, (int)j, &dyn) || dyn.d_tag == DT_NULL)
				break;
			if (dyn.d_tag == DT_STRTAB)
				strtab = dyn.d_un.d_ptr;
			else if (dyn.d_tag == DT_STRSZ)
				strsz = dyn.d_un.d_val;
		}
		if (!strtab || !strsz)
			continue;
		/* every segment that could hold it, not only the first
		 * that libdwfl picks */
		for (size_t k = 0; k < phnum; k++) {
			GElf_Phdr ld;
			uint64_t off;
			uint8_t last;

			if (!gelf_getphdr(elf, (int)k, &ld) ||
			    ld.p_type != PT_LOAD || strtab < ld.p_vaddr ||
			    strtab - ld.p_vaddr >= ld.p_filesz)
				continue;
			off = strtab - ld.p_vaddr + ld.p_offset;
			if (off + strsz < off || off + strsz > INT64_MAX)
				return false;
			/* a table libelf cannot read is never read; one it
			 * can must end in a NUL */
			if (file_byte(elf, off + strsz - 1, &last) && last)
				return false;
		}
	}
	return true;
}

/* Opens @path safely as ELF (ELF_C_READ), guarded; NULL if it is not a
 * regular ELF file. */
static Elf *open_elf(const char *path, int *fdp, uint64_t *size)
{
	int fd = safe_open(path, size);
	Elf *e;

	if (fd < 0)
		return NULL;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		if (e)
			elf_end(e);
		close(fd);
		return NULL;
	}
	*fdp = fd;
	return e;
}

static bool same_build_id(Elf *e, const void *id, ssize_t n)
{
	const void *id2;
	ssize_t n2 = dwelf_elf_gnu_build_id(e, &id2);

	return n > 0 && n2 == n && !memcmp(id, id2, (size_t)n);
}

static bool crc_matches(int fd, uint64_t size, GElf_Word want)
{
	static uint8_t buf[1 << 16];
	uLong crc = crc32(0, NULL, 0);

	for (uint64_t off = 0; off < size;) {
		size_t n = size - off < sizeof(buf) ? (size_t)(size - off)
						    : sizeof(buf);
		ssize_t r = pread(fd, buf, n, (off_t)off);

		if (r <= 0)
			return false;
		crc = crc32(crc, buf, (uInt)r);
		off += (uint64_t)r;
	}
	return (GElf_Word)crc == want;
}

/* Where a debug file found goes: its fd, its cached DWARF's mapping, and
 * the cache's key (the hex build id it was found by). */
struct debug_dest {
	int *fd;
	struct dbg_map *map;
	const char *key;
};

/* One candidate: a regular ELF file, not @o itself, that is @o's debug
 * file by build id (when @o has one) or the debuglink's CRC. */
static Elf *try_debug(struct elf_obj *o, const char *path, const void *id,
		      ssize_t idlen, const GElf_Word *crc, struct debug_dest *to)
{
	struct stat st;
	uint64_t size;
	int fd;
	Elf *e = open_elf(path, &fd, &size);

	if (!e)
		return NULL;
	if ((!fstat(fd, &st) && st.st_dev == o->dev && st.st_ino == o->ino) ||
	    (idlen > 0 ? !same_build_id(e, id, idlen)
		       : !crc || !crc_matches(fd, size, *crc))) {
		elf_end(e);
		close(fd);
		return NULL;
	}
	pr_debug("%s: debug file %s", o->path, path);
	/* keyed by the build id the file was found by (none: no cache) */
	dbg_cache__guard(e, fd, path, size, idlen > 0 ? to->key : NULL,
			 to->map);
	*to->fd = fd;
	return e;
}

static const char *debuginfod_cache(char *buf, size_t size)
{
	const char *p = getenv("DEBUGINFOD_CACHE_PATH"), *home;

	if (p && *p)
		return p;
	if ((p = getenv("XDG_CACHE_HOME")) && *p)
		snprintf(buf, size, "%s/debuginfod_client", p);
	else if ((home = getenv("HOME")) && *home)
		snprintf(buf, size, "%s/.cache/debuginfod_client", home);
	else
		return NULL;
	return buf;
}

/* A debug file by build id: /usr/lib/debug/.build-id/xx/yyyy.debug, then
 * debuginfod's cache (only where DEBUGINFOD_URLS asks for debuginfod: no
 * download, only what is already there). */
static Elf *debug_by_build_id(struct elf_obj *o, const void *id, ssize_t n,
			      int *fdp, struct dbg_map *map)
{
	char hexid[2 * 64 + 1], path[4096], cache[4096];
	struct debug_dest to = { fdp, map, hexid };
	const uint8_t *b = id;
	const char *dir;
	Elf *e;

	if (n <= 1 || n > 64)
		return NULL;
	for (ssize_t i = 0; i < n; i++)
		sprintf(hexid + 2 * i, "%02x", b[i]);
	snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug",
		 hexid, hexid + 2);
	if ((e = try_debug(o, path, id, n, NULL, &to)))
		return e;
	if (!getenv("DEBUGINFOD_URLS") ||
	    !(dir = debuginfod_cache(cache, sizeof(cache))))
		return NULL;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s/debuginfo", dir,
			     hexid) >= sizeof(path))
		return NULL;
	return try_debug(o, path, id, n, NULL, &to);
}

Elf *debug_file__open(struct elf_obj *o, int *fdp)
{
	const void *id = NULL;
	ssize_t n = dwelf_elf_gnu_build_id(o->elf, &id);
	GElf_Word crc = 0;
	const char *link = dwelf_elf_gnu_debuglink(o->elf, &crc);
	char dir[4096], path[8192];
	/* o->build_id: the hex of its GNU build id, when it has one */
	struct debug_dest to = { fdp, &o->dbg_map, o->build_id };
	const char *slash;
	Elf *e;

	if ((e = debug_by_build_id(o, id, n, fdp, &o->dbg_map)))
		return e;
	if (!link || !*link)
		return NULL;
	if (link[0] == '/')
		return try_debug(o, link, id, n, &crc, &to);
	/* beside the file, in .debug/ beside it, under /usr/lib/debug */
	slash = strrchr(o->path, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - o->path) : 1,
		 slash ? o->path : ".");
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s/%s%s",
			 i == 2 ? "/usr/lib/debug" : "", dir,
			 i == 1 ? ".debug/" : "", link);
		if ((e = try_debug(o, path, id, n, &crc, &to)))
			return e;
	}
	return NULL;
}

/* The dwz file a Dwarf points to (.gnu_debugaltlink), by its build id,
 * opened here and given to libdw: libdw would open it itself, blocking.
 * Whether the Dwarf is safe to use: it has no such link, or it has ours,
 * and it has no split units (libdw opens their .dwo files itself). */
bool dwarf_safe(struct elf_obj *o, Dwarf *dw)
{
	const char *altname;
	const void *id;
	ssize_t n = dwelf_dwarf_gnu_debugaltlink(dw, &altname, &id);
	Dwarf_CU *cu = NULL;
	Dwarf_Half version;
	uint8_t type;

	if (n > 0) {
		Elf *e = debug_by_build_id(o, id, n, &o->alt_fd, &o->alt_map);

		if (e && !(o->alt_dw = dwarf_begin_elf(e, DWARF_C_READ, NULL))) {
			elf_end(e);
			close(o->alt_fd);
			o->alt_fd = -1;
			e = NULL;
		}
		if (!e) {
			pr_debug("%s: no dwz file %s: its DWARF is not read",
				 o->path, altname);
			return false;
		}
		o->alt_elf = e;
		dwarf_setalt(dw, o->alt_dw);
	}
	/* the walk of every unit is ~10 ms for libc: once for the bytes
	 * cgoprof's cache has (elfobj_dbgcache.c), which notes its verdict */
	if (o->dbg_map.units_safe)
		return true;
	while (dwarf_get_units(dw, cu, &cu, &version, &type, NULL, NULL) == 0) {
		if (type == DW_UT_skeleton) {
			pr_debug("%s: split DWARF (.dwo): its DWARF is not read",
				 o->path);
			return false;
		}
	}
	dbg_map__set_units_safe(&o->dbg_map);
	return true;
}
