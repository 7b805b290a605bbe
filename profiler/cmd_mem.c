// SPDX-License-Identifier: MIT
/* `cgoprof mem`: resident memory by category from /proc/PID/smaps, sampled
 * over time (peak and last), and with --faults a page-fault profile rooted
 * at the category of the page each fault brought in. The parser and the
 * classifier on top are plain functions (internal.h) tested on hand-written
 * smaps text; the rules are described in docs/mem.md. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgoprof/export.h"
#include "cgoprof/log.h"
#include "cgoprof/record.h"
#include "internal.h"

#define MEM_PAGE 4096ULL
/* Go's heapArenaBytes and glibc's HEAP_MAX_SIZE on 64-bit Linux. */
#define MEM_ARENA (64ULL << 20)
/* Go 1.26 randomises its heap below 2^46; glibc's heaps live in the mmap
 * area, near the top of the 47-bit user space. */
#define MEM_GO_HEAP_LIMIT (1ULL << 46)
#define MEM_CAT_UNSET MEM_CAT__COUNT
/* A chunk walk follows at most this many chunks, and probes at most this
 * many pages looking for the next chunk, per mapping. */
#define MEM_MAX_CHUNKS 65536
#define MEM_MAX_PROBES 65536

static const char *const cat_names[MEM_CAT__COUNT] = {
	[MEM_GO_HEAP] = "go_heap",
	[MEM_GO_RUNTIME] = "go_runtime",
	[MEM_C_HEAP] = "c_heap",
	[MEM_THREAD_STACKS] = "thread_stacks",
	[MEM_EXECUTABLE] = "executable",
	[MEM_LIBRARIES] = "libraries",
	[MEM_LOADER] = "loader",
	[MEM_OTHER_ANON] = "other_anon",
};

static const char *const basis_names[MEM_BASIS__COUNT] = {
	[MEM_BASIS_NAMED] = "named",
	[MEM_BASIS_VERIFIED] = "verified",
	[MEM_BASIS_LAYOUT] = "layout",
	[MEM_BASIS_GUESS] = "guess",
	[MEM_BASIS_REST] = "rest",
};

const char *mem_cat__name(enum mem_cat cat)
{
	if ((unsigned)cat >= MEM_CAT__COUNT)
		return "unknown";
	return cat_names[cat];
}

const char *mem_basis__name(enum mem_basis basis)
{
	if ((unsigned)basis >= MEM_BASIS__COUNT)
		return "unknown";
	return basis_names[basis];
}

/* ---- smaps parser -------------------------------------------------------- */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A hex number at *p (before @end); advances *p. False: none or too big. */
static bool scan_hex(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	int d;

	if (end - s > 2 && s[0] == '0' && s[1] == 'x')
		s += 2;
	if (s >= end || hex_digit(*s) < 0)
		return false;
	while (s < end && (d = hex_digit(*s)) >= 0) {
		if (x > (UINT64_MAX >> 4))
			return false;
		x = x << 4 | (uint64_t)d;
		s++;
	}
	*p = s;
	*v = x;
	return true;
}

static bool scan_dec(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	if (s >= end || *s < '0' || *s > '9')
		return false;
	while (s < end && *s >= '0' && *s <= '9') {
		uint64_t d = (uint64_t)(*s - '0');

		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
		s++;
	}
	*p = s;
	*v = x;
	return true;
}

static bool scan_char(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return false;
	(*p)++;
	return true;
}

static void skip_spaces(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
}

/* "start-end perms offset major:minor inode [name]" */
static bool parse_header(const char *s, const char *end, struct mem_vma *v,
			 const char **name, size_t *name_len)
{
	uint64_t maj, min;

	memset(v, 0, sizeof(*v));
	if (!scan_hex(&s, end, &v->start) || !scan_char(&s, end, '-') ||
	    !scan_hex(&s, end, &v->end) || !scan_char(&s, end, ' '))
		return false;
	if (end - s < 5 || s[4] != ' ')
		return false;
	if ((s[0] != 'r' && s[0] != '-') || (s[1] != 'w' && s[1] != '-') ||
	    (s[2] != 'x' && s[2] != '-') || (s[3] != 'p' && s[3] != 's'))
		return false;
	v->prot = (s[0] == 'r' ? PROT_READ : 0) |
		  (s[1] == 'w' ? PROT_WRITE : 0) |
		  (s[2] == 'x' ? PROT_EXEC : 0);
	v->shared = s[3] == 's';
	s += 5;
	if (!scan_hex(&s, end, &v->pgoff) || !scan_char(&s, end, ' ') ||
	    !scan_hex(&s, end, &maj) || !scan_char(&s, end, ':') ||
	    !scan_hex(&s, end, &min) || !scan_char(&s, end, ' ') ||
	    !scan_dec(&s, end, &v->ino))
		return false;
	if (maj > UINT32_MAX || min > UINT32_MAX)
		return false;
	v->major = (uint32_t)maj;
	v->minor = (uint32_t)min;
	if (s < end && *s != ' ' && *s != '\t')
		return false;
	skip_spaces(&s, end);
	if (v->start >= v->end || (v->start | v->end) % MEM_PAGE)
		return false;
	*name = s;
	*name_len = (size_t)(end - s);
	return true;
}

/* "Key:   123 kB": true for a well-formed counter line, with @key set. */
static bool parse_field(const char *s, const char *end, const char **key,
			size_t *key_len, uint64_t *kb, bool *has_value)
{
	const char *k = s;

	while (s < end && (isalnum((unsigned char)*s) || *s == '_'))
		s++;
	if (s == k || !scan_char(&s, end, ':'))
		return false;
	*key = k;
	*key_len = (size_t)(s - k - 1);
	skip_spaces(&s, end);
	*has_value = false;
	if (s < end && *s >= '0' && *s <= '9') {
		if (!scan_dec(&s, end, kb))
			return false;
		skip_spaces(&s, end);
		if (end - s == 2 && !memcmp(s, "kB", 2))
			*has_value = true;
		else if (s != end)
			return false;
		else
			*has_value = true;
	}
	return true;
}

static int maps_push(struct mem_maps *m, const struct mem_vma *v,
		     const char *name, size_t name_len)
{
	struct mem_vma *dst;

	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		void *p = realloc(m->vmas, cap * sizeof(*m->vmas));

		if (!p)
			return -ENOMEM;
		m->vmas = p;
		m->cap = cap;
	}
	dst = &m->vmas[m->n];
	*dst = *v;
	dst->name = strndup(name, name_len);
	if (!dst->name)
		return -ENOMEM;
	m->n++;
	return 0;
}

int mem_maps__parse(struct mem_maps *m, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	struct mem_vma *cur = NULL;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *name, *key;
		size_t name_len, key_len;
		struct mem_vma v;
		uint64_t kb;
		bool has_value;

		if (!nl) {
			/* cut off: the rest of the line is missing */
			m->bad_lines++;
			break;
		}
		if (le == p) {
			p = nl + 1;
			continue;
		}
		if (parse_header(p, le, &v, &name, &name_len)) {
			cur = NULL;
			if (m->n && v.start < m->vmas[m->n - 1].end) {
				m->bad_lines++;
			} else {
				int err = maps_push(m, &v, name, name_len);

				if (err)
					return err;
				cur = &m->vmas[m->n - 1];
			}
		} else if (parse_field(p, le, &key, &key_len, &kb,
				       &has_value)) {
			uint64_t *dst = NULL;

			if (key_len == 3 && !memcmp(key, "Rss", 3))
				dst = cur ? &cur->rss : NULL;
			else if (key_len == 3 && !memcmp(key, "Pss", 3))
				dst = cur ? &cur->pss : NULL;
			else if (key_len == 4 && !memcmp(key, "Swap", 4))
				dst = cur ? &cur->swap : NULL;
			if (dst && has_value) {
				uint64_t size = cur->end - cur->start;

				if (kb > size / 1024) {
					/* more than the mapping holds */
					m->bad_lines++;
					kb = size / 1024;
				}
				*dst = kb * 1024;
				if (dst == &cur->rss)
					cur->has_rss = true;
			}
		} else {
			m->bad_lines++;
		}
		p = nl + 1;
	}
	return 0;
}

void mem_maps__release(struct mem_maps *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->vmas[i].name);
	free(m->vmas);
	memset(m, 0, sizeof(*m));
}

/* ---- ELF headers --------------------------------------------------------- */

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static int read_exact(long (*pread)(void *, void *, size_t, uint64_t),
		      void *ctx, void *buf, size_t len, uint64_t off)
{
	long n = pread(ctx, buf, len, off);

	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EFAULT;
}

/* Section names that only Go programs have (kept by -s -w). */
static bool is_go_section(const char *name, size_t max)
{
	static const char *const go_sections[] = {
		".go.buildinfo", ".gopclntab", ".note.go.buildid",
	};

	for (size_t i = 0; i < sizeof(go_sections) / sizeof(go_sections[0]);
	     i++) {
		size_t n = strlen(go_sections[i]) + 1;

		if (n <= max && !memcmp(name, go_sections[i], n))
			return true;
	}
	return false;
}

int mem_elf__read(struct mem_elf *e,
		  long (*pread)(void *ctx, void *buf, size_t len, uint64_t off),
		  void *ctx)
{
	uint8_t eh[64], ph[56], sh[64];
	uint64_t phoff, shoff, str_off, str_size;
	uint16_t phnum, shnum, shstrndx;
	char *strtab = NULL;
	int err;

	memset(e, 0, sizeof(*e));
	err = read_exact(pread, ctx, eh, sizeof(eh), 0);
	if (err)
		return err;
	if (memcmp(eh, "\177ELF", 4) || eh[4] != 2 /* ELFCLASS64 */ ||
	    eh[5] != 1 /* little endian */)
		return -EINVAL;
	phoff = le64(eh + 32);
	shoff = le64(eh + 40);
	phnum = le16(eh + 56);
	shnum = le16(eh + 60);
	shstrndx = le16(eh + 62);
	if (phnum && le16(eh + 54) != sizeof(ph))
		return -EINVAL;
	for (uint16_t i = 0; i < phnum; i++) {
		if (phoff > UINT64_MAX - (uint64_t)(i + 1) * sizeof(ph))
			return -EINVAL;
		err = read_exact(pread, ctx, ph, sizeof(ph),
				 phoff + (uint64_t)i * sizeof(ph));
		if (err)
			return err;
		if (le32(ph) != 1 /* PT_LOAD */)
			continue;
		if (e->nloads == sizeof(e->loads) / sizeof(e->loads[0]))
			break;
		e->loads[e->nloads].offset = le64(ph + 8);
		e->loads[e->nloads].vaddr = le64(ph + 16);
		e->loads[e->nloads].filesz = le64(ph + 32);
		e->loads[e->nloads].memsz = le64(ph + 40);
		if (e->loads[e->nloads].filesz > e->loads[e->nloads].memsz ||
		    e->loads[e->nloads].vaddr >
			    UINT64_MAX - e->loads[e->nloads].memsz ||
		    e->loads[e->nloads].offset >
			    UINT64_MAX - e->loads[e->nloads].filesz)
			return -EINVAL;
		e->nloads++;
	}
	/* Section names: extended numbering (shnum 0) has none we need. */
	if (!shnum || shstrndx >= shnum)
		return 0;
	if (le16(eh + 58) != sizeof(sh) ||
	    shoff > UINT64_MAX - (uint64_t)shnum * sizeof(sh))
		return -EINVAL;
	err = read_exact(pread, ctx, sh, sizeof(sh),
			 shoff + (uint64_t)shstrndx * sizeof(sh));
	if (err)
		return err;
	str_off = le64(sh + 24);
	str_size = le64(sh + 32);
	if (!str_size || str_size > (1 << 20))
		return str_size ? -EINVAL : 0;
	strtab = malloc(str_size);
	if (!strtab)
		return -ENOMEM;
	err = read_exact(pread, ctx, strtab, str_size, str_off);
	for (uint16_t i = 0; !err && i < shnum && !e->is_go; i++) {
		uint32_t name;

		err = read_exact(pread, ctx, sh, sizeof(sh),
				 shoff + (uint64_t)i * sizeof(sh));
		if (err)
			break;
		name = le32(sh);
		if (name < str_size &&
		    is_go_section(strtab + name, str_size - name))
			e->is_go = true;
	}
	free(strtab);
	return err;
}

/* ---- classifier ---------------------------------------------------------- */

static bool is_anonish(const struct mem_vma *v)
{
	return !v->name[0] || !strncmp(v->name, "[anon:", 6);
}

static bool is_file(const struct mem_vma *v)
{
	return v->name[0] == '/';
}

/* Shared memory that shows up as a file: anonymous in all but name. */
static bool is_shmem_file(const char *name)
{
	return !strncmp(name, "/memfd:", 7) || !strncmp(name, "/SYSV", 5) ||
	       !strncmp(name, "/dev/zero", 9) ||
	       !strncmp(name, "/dev/shm/", 9) ||
	       !strncmp(name, "/anon_hugepage", 14);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static bool is_loader(const char *path)
{
	const char *b = base_name(path);

	return !strncmp(b, "ld-linux", 8) || !strncmp(b, "ld-musl", 7) ||
	       !strncmp(b, "ld64.so", 7) || !fnmatch("ld-*.so*", b, 0) ||
	       !fnmatch("ld.so*", b, 0);
}

static bool same_path(const char *name, const char *exe)
{
	size_t n = strlen(exe);

	return !strncmp(name, exe, n) &&
	       (!name[n] || !strcmp(name + n, " (deleted)"));
}

/* Categories that the name alone decides. False: decide by other rules. */
static bool name_rule(const struct mem_vma *v, const struct mem_probe *p,
		      enum mem_cat *cat, const char **lib)
{
	const char *n = v->name;

	*lib = NULL;
	if (!n[0])
		return false;
	if (n[0] == '/') {
		if (is_shmem_file(n))
			*cat = MEM_OTHER_ANON;
		else if ((p->exe && same_path(n, p->exe)) ||
			 (p->exe_ino && v->ino == p->exe_ino && p->exe &&
			  !strcmp(base_name(n), base_name(p->exe))))
			*cat = MEM_EXECUTABLE;
		else if (is_loader(n))
			*cat = MEM_LOADER;
		else {
			*cat = MEM_LIBRARIES;
			*lib = base_name(n);
		}
		return true;
	}
	if (!strcmp(n, "[heap]")) {
		*cat = MEM_C_HEAP;
	} else if (!strcmp(n, "[stack]") || !strncmp(n, "[stack:", 7)) {
		*cat = MEM_THREAD_STACKS;
	} else if (!strcmp(n, "[vdso]")) {
		*cat = MEM_LIBRARIES;
		*lib = n;
	} else if (!strncmp(n, "[anon: Go: heap", 15)) {
		*cat = MEM_GO_HEAP;
	} else if (!strncmp(n, "[anon: Go:", 10)) {
		*cat = MEM_GO_RUNTIME;
	} else if (!strncmp(n, "[anon: glibc: malloc", 20)) {
		*cat = MEM_C_HEAP;
	} else if (!strncmp(n, "[anon: glibc: pthread", 21)) {
		*cat = MEM_THREAD_STACKS;
	} else if (!strncmp(n, "[anon: glibc: loader", 20)) {
		*cat = MEM_LOADER;
	} else {
		/* [vvar], [vsyscall], [anon:...] of others, anon_inode:... */
		*cat = MEM_OTHER_ANON;
	}
	return true;
}

static int class_grow(struct mem_class *c)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		void *q = realloc(c->segs, cap * sizeof(*c->segs));

		if (!q)
			return -ENOMEM;
		c->segs = q;
		c->cap = cap;
	}
	return 0;
}

/* Index of the first segment ending after @addr (c->n when none). */
static size_t class_lower(const struct mem_class *c, uint64_t addr)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->segs[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Splits segment @i at @addr (inside it): [start, addr) stays at @i. */
static int class_split(struct mem_class *c, size_t i, uint64_t addr)
{
	int err = class_grow(c);

	if (err)
		return err;
	memmove(&c->segs[i + 1], &c->segs[i], (c->n - i) * sizeof(*c->segs));
	c->n++;
	c->segs[i].end = addr;
	c->segs[i + 1].start = addr;
	return 0;
}

/* Gives [lo, hi) to @cat wherever no rule claimed it yet. */
static int class_assign(struct mem_class *c, uint64_t lo, uint64_t hi,
			enum mem_cat cat, enum mem_basis basis,
			const char *lib)
{
	int err;

	for (size_t i = class_lower(c, lo); i < c->n && c->segs[i].start < hi;
	     i++) {
		if (c->segs[i].cat != MEM_CAT_UNSET)
			continue;
		if (c->segs[i].start < lo) {
			err = class_split(c, i, lo);
			if (err)
				return err;
			continue;	/* the next one starts at lo */
		}
		if (c->segs[i].end > hi) {
			err = class_split(c, i, hi);
			if (err)
				return err;
		}
		c->segs[i].cat = (uint8_t)cat;
		c->segs[i].basis = (uint8_t)basis;
		c->segs[i].lib = lib;
	}
	return 0;
}

static bool class_is_unset(const struct mem_class *c, uint64_t addr)
{
	size_t i = class_lower(c, addr);

	return i < c->n && c->segs[i].start <= addr &&
	       c->segs[i].cat == MEM_CAT_UNSET;
}

static int probe_read(const struct mem_probe *p, uint64_t addr, void *buf,
		      size_t len)
{
	if (!p->read)
		return -ENOSYS;
	return p->read(p->ctx, addr, buf, len);
}

/* glibc's heap_info at the start of a non-main arena's 64 MiB heap:
 * ar_ptr (the arena's malloc_state, just after the first heap's
 * heap_info), prev (another heap or NULL), size <= mprotect_size <= 64 MiB,
 * page multiples. */
static bool glibc_heap_at(const struct mem_probe *p, uint64_t a)
{
	uint64_t w[4];

	if (probe_read(p, a, w, sizeof(w)))
		return false;
	return w[0] && (w[0] & (MEM_ARENA - 1)) >= 32 &&
	       (w[0] & (MEM_ARENA - 1)) <= 64 && !(w[0] & 15) &&
	       !(w[1] & (MEM_ARENA - 1)) && w[2] && !(w[2] % MEM_PAGE) &&
	       !(w[3] % MEM_PAGE) && w[2] <= w[3] && w[3] <= MEM_ARENA;
}

/* glibc's header of an mmapped chunk at a mapping's start: prev_size (the
 * alignment correction, 0 on x86-64) and size | IS_MMAPPED, the size
 * reaching at most @room. @strict: prev_size 0 and at least the default
 * mmap threshold's worth (for headers searched for, not expected). Returns
 * the mapping's length, 0 if it is no such header. */
static uint64_t chunk_header(const uint64_t w[2], uint64_t room, bool strict)
{
	uint64_t len;

	if (w[0] >= MEM_PAGE || (w[0] & 15) || (w[1] & 7) != 2 ||
	    (strict && w[0]))
		return 0;
	len = (w[1] & ~7ULL) + w[0];
	if (!len || len % MEM_PAGE || len > room ||
	    (strict && len < (128 << 10)))
		return 0;
	return len;
}

static uint64_t glibc_chunk_at(const struct mem_probe *p, uint64_t a,
			       uint64_t room, bool strict)
{
	uint64_t w[2];

	if (probe_read(p, a, w, sizeof(w)))
		return 0;
	return chunk_header(w, room, strict);
}

static long probe_read_pairs(const struct mem_probe *p, const uint64_t *addrs,
			     size_t n, uint64_t (*out)[2])
{
	size_t i;

	if (p->read_pairs)
		return p->read_pairs(p->ctx, addrs, n, out);
	for (i = 0; i < n; i++)
		if (probe_read(p, addrs[i], out[i], sizeof(out[i])))
			break;
	return (long)i;
}

/* The next page of [a, hi) that starts an mmapped chunk (a header is
 * written when the chunk is made: only resident pages are looked at when
 * @present, indexed from @lo, says which). @hi when none. */
static uint64_t next_chunk(const struct mem_probe *p, uint64_t a, uint64_t lo,
			   uint64_t hi, const uint8_t *present,
			   unsigned *probes)
{
	uint64_t addrs[256], words[256][2];

	while (a < hi) {
		size_t n = 0;
		long got;

		for (; a < hi && n < 256; a += MEM_PAGE)
			if (!present || present[(a - lo) / MEM_PAGE])
				addrs[n++] = a;
		if (!n)
			break;
		*probes += (unsigned)n;
		if (*probes > MEM_MAX_PROBES)
			break;
		got = probe_read_pairs(p, addrs, n, words);
		if (got < 0)
			break;
		for (long i = 0; i < got; i++)
			if (chunk_header(words[i], hi - addrs[i], true))
				return addrs[i];
		if ((size_t)got < n)	/* go on past the unreadable page */
			a = addrs[got] + MEM_PAGE;
	}
	return hi;
}

/* Claims the mmapped malloc chunks of [lo, hi): from lo chunk by chunk,
 * and past anything else at the next resident page with a chunk header
 * (the kernel merges adjacent anonymous mappings: chunks and other
 * memory can share one line of maps). */
static int chunk_walk(struct mem_class *c, const struct mem_probe *p,
		      uint64_t lo, uint64_t hi)
{
	uint64_t a = lo, len;
	uint8_t *present = NULL;
	unsigned chunks = 0, probes = 0;
	bool strict = false;
	int err = 0;

	while (a < hi && chunks < MEM_MAX_CHUNKS) {
		len = glibc_chunk_at(p, a, hi - a, strict);
		if (len) {
			err = class_assign(c, a, a + len, MEM_C_HEAP,
					   MEM_BASIS_VERIFIED, NULL);
			if (err)
				break;
			a += len;
			chunks++;
			strict = false;
			continue;
		}
		if (!present && p->present &&
		    (hi - lo) / MEM_PAGE <= (1 << 24)) {
			present = calloc((hi - lo) / MEM_PAGE, 1);
			if (present && p->present(p->ctx, lo, hi, present)) {
				free(present);
				present = NULL;
			}
		}
		strict = true;
		a = next_chunk(p, a + MEM_PAGE, lo, hi, present, &probes);
	}
	free(present);
	return err;
}

/* A glibc thread's struct pthread sits at the top of its stack mapping:
 * its first word (header.tcb) and third (header.self) point to itself. */
static bool tcb_at_top(const struct mem_probe *p, uint64_t lo, uint64_t hi)
{
	uint64_t buf[1024];	/* the top 8 KiB */
	uint64_t n = hi - lo < sizeof(buf) ? hi - lo : sizeof(buf);
	uint64_t base = hi - n;

	if (n < 64 || probe_read(p, base, buf, (size_t)n))
		return false;
	for (uint64_t off = 0; off + 24 <= n; off += 8) {
		uint64_t pd = base + off;

		if (pd % 64)
			continue;
		if (buf[off / 8] == pd && buf[off / 8 + 2] == pd &&
		    buf[off / 8 + 1])
			return true;
	}
	return false;
}

static size_t vma_index(const struct mem_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->vmas[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The guard below a stack: an adjacent PROT_NONE anonymous mapping. */
static int claim_guard(struct mem_class *c, const struct mem_maps *m,
		       uint64_t stack_lo, enum mem_basis basis)
{
	size_t i = vma_index(m, stack_lo);
	const struct mem_vma *g = i > 0 ? &m->vmas[i - 1] : NULL;

	if (!g || g->end != stack_lo || g->prot || !is_anonish(g) ||
	    g->end - g->start > (16 << 20))
		return 0;
	return class_assign(c, g->start, g->end, MEM_THREAD_STACKS, basis,
			    NULL);
}

/* Unclaimed writable anonymous ranges, copied out (rules split segments
 * while they run). Caller frees *@out. */
static int unset_ranges(const struct mem_class *c, const struct mem_maps *m,
			uint64_t (**out)[2], size_t *n)
{
	uint64_t (*r)[2] = NULL;
	size_t cnt = 0, cap = 0;

	for (size_t i = 0; i < c->n; i++) {
		const struct mem_segment *s = &c->segs[i];
		const struct mem_vma *v = &m->vmas[s->vma];

		if (s->cat != MEM_CAT_UNSET || !is_anonish(v) ||
		    !(v->prot & PROT_WRITE))
			continue;
		if (cnt == cap) {
			void *q;

			cap = cap ? cap * 2 : 16;
			q = realloc(r, cap * sizeof(*r));
			if (!q) {
				free(r);
				return -ENOMEM;
			}
			r = q;
		}
		r[cnt][0] = s->start;
		r[cnt][1] = s->end;
		cnt++;
	}
	*out = r;
	*n = cnt;
	return 0;
}

static int rule_names(struct mem_class *c, const struct mem_maps *m,
		      const struct mem_probe *p)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct mem_vma *v = &m->vmas[i];
		enum mem_cat cat;
		const char *lib;
		int err;

		if (!name_rule(v, p, &cat, &lib))
			continue;
		err = class_assign(c, v->start, v->end, cat, MEM_BASIS_NAMED,
				   lib);
		if (err)
			return err;
	}
	return 0;
}

/* bss: anonymous memory right after a file's writable mapping, up to the
 * end of that ELF segment's p_memsz (when the file can be read). */
static int rule_bss(struct mem_class *c, const struct mem_maps *m,
		    const struct mem_probe *p)
{
	for (size_t i = 1; i < m->n; i++) {
		const struct mem_vma *v = &m->vmas[i], *f = &m->vmas[i - 1];
		const struct mem_segment *fs;
		uint64_t end = v->end, img;
		int err;

		if (v->name[0] || !(v->prot & PROT_WRITE) || !is_file(f) ||
		    f->end != v->start || !(f->prot & PROT_WRITE) ||
		    is_shmem_file(f->name))
			continue;
		fs = mem_class__find(c, f->start);
		if (!fs || fs->cat == MEM_CAT_UNSET)
			continue;
		img = p->image_end ? p->image_end(p->ctx, f) : 0;
		if (img) {
			img = (img + MEM_PAGE - 1) & ~(MEM_PAGE - 1);
			if (img <= v->start)
				continue;
			if (img < end)
				end = img;
		}
		err = class_assign(c, v->start, end, fs->cat, MEM_BASIS_LAYOUT,
				   fs->lib);
		if (err)
			return err;
	}
	return 0;
}

/* A 64 MiB-aligned anonymous rw mapping followed by PROT_NONE up to
 * exactly 64 MiB: the shape of a glibc heap (and of a small Go arena). */
static bool glibc_heap_shape(const struct mem_maps *m, size_t i)
{
	const struct mem_vma *v = &m->vmas[i];
	uint64_t end = v->start + MEM_ARENA;

	if (v->end == end)
		return true;
	return v->end < end && i + 1 < m->n && m->vmas[i + 1].start == v->end &&
	       m->vmas[i + 1].end == end && !m->vmas[i + 1].prot &&
	       is_anonish(&m->vmas[i + 1]);
}

static int rule_glibc_heaps(struct mem_class *c, const struct mem_maps *m,
			    const struct mem_probe *p, bool guess)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct mem_vma *v = &m->vmas[i];
		bool ok;
		int err;

		if (v->start % MEM_ARENA || !is_anonish(v) ||
		    (v->prot & (PROT_READ | PROT_WRITE)) !=
			    (PROT_READ | PROT_WRITE) ||
		    !class_is_unset(c, v->start))
			continue;
		if (guess)
			ok = (!p->is_go || v->start >= MEM_GO_HEAP_LIMIT) &&
			     glibc_heap_shape(m, i);
		else
			ok = glibc_heap_at(p, v->start);
		if (!ok)
			continue;
		err = class_assign(c, v->start, v->start + MEM_ARENA,
				   MEM_C_HEAP,
				   guess ? MEM_BASIS_GUESS : MEM_BASIS_VERIFIED,
				   NULL);
		if (err)
			return err;
	}
	return 0;
}

/* Go reserves its heap in 64 MiB-aligned arenas of anonymous memory
 * (PROT_NONE, then mapped rw as the heap grows): a mapping that starts on
 * such a boundary, in a run of anonymous mappings covering whole blocks. */
static int rule_go_arenas(struct mem_class *c, const struct mem_maps *m,
			  const struct mem_probe *p)
{
	if (!p->is_go)
		return 0;
	for (size_t i = 0; i < m->n; i++) {
		const struct mem_vma *v = &m->vmas[i];
		uint64_t cov = v->start, blocks;
		int err;

		if (v->start % MEM_ARENA || !is_anonish(v) ||
		    !class_is_unset(c, v->start))
			continue;
		/* without live reads a glibc heap looks the same: only
		 * where Go puts its heap */
		if (!p->read && v->start >= MEM_GO_HEAP_LIMIT)
			continue;
		if (p->read && (v->prot & PROT_WRITE) &&
		    glibc_chunk_at(p, v->start, UINT64_MAX, false) >=
			    MEM_ARENA)
			continue;
		for (size_t j = i; j < m->n && m->vmas[j].start == cov &&
				   is_anonish(&m->vmas[j]);
		     j++)
			cov = m->vmas[j].end;
		blocks = (cov - v->start) / MEM_ARENA;
		if (!blocks)
			continue;
		err = class_assign(c, v->start, v->start + blocks * MEM_ARENA,
				   MEM_GO_HEAP, MEM_BASIS_LAYOUT, NULL);
		if (err)
			return err;
	}
	return 0;
}

static int rule_chunks(struct mem_class *c, const struct mem_maps *m,
		       const struct mem_probe *p)
{
	uint64_t (*r)[2];
	size_t n;
	int err = unset_ranges(c, m, &r, &n);

	for (size_t i = 0; !err && i < n; i++)
		err = chunk_walk(c, p, r[i][0], r[i][1]);
	free(r);
	return err;
}

/* Whether [lo, ...) starts a mapping with a PROT_NONE anonymous guard of
 * at most @max bytes right below it. */
static bool guard_below(const struct mem_maps *m, uint64_t lo, uint64_t max)
{
	size_t g = vma_index(m, lo);

	return g > 0 && g < m->n && m->vmas[g].start == lo &&
	       m->vmas[g - 1].end == lo && !m->vmas[g - 1].prot &&
	       is_anonish(&m->vmas[g - 1]) &&
	       m->vmas[g - 1].end - m->vmas[g - 1].start <= max;
}

static int rule_stacks(struct mem_class *c, const struct mem_maps *m,
		       const struct mem_probe *p, bool guess)
{
	uint64_t (*r)[2];
	size_t n;
	int err = unset_ranges(c, m, &r, &n);

	for (size_t i = 0; !err && i < n; i++) {
		uint64_t lo = r[i][0], hi = r[i][1];
		enum mem_basis basis =
			guess ? MEM_BASIS_GUESS : MEM_BASIS_VERIFIED;
		bool hit;

		if (guess) {
			/* a guard page below, and a stack-sized mapping */
			hit = guard_below(m, lo, 64 << 10) &&
			      hi - lo >= (64 << 10);
		} else {
			/* glibc's thread descriptor at the top, above a
			 * guard (the main thread's descriptor, which ld.so
			 * allocates, has none); or a thread's stack pointer */
			hit = guard_below(m, lo, 16 << 20) &&
			      tcb_at_top(p, lo, hi);
			for (size_t k = 0; !hit && k < p->nsps; k++)
				hit = p->sps[k] >= lo && p->sps[k] < hi;
		}
		if (!hit)
			continue;
		err = class_assign(c, lo, hi, MEM_THREAD_STACKS, basis, NULL);
		if (!err)
			err = claim_guard(c, m, lo, basis);
	}
	free(r);
	return err;
}

static void rule_rest(struct mem_class *c, const struct mem_probe *p)
{
	for (size_t i = 0; i < c->n; i++) {
		struct mem_segment *s = &c->segs[i];
		int who = -1;

		if (s->cat != MEM_CAT_UNSET)
			continue;
		s->unrecognised = true;
		if (p->touched_by)
			who = p->touched_by(p->ctx, s->start, s->end);
		if (who == MEM_GO_RUNTIME || who == MEM_OTHER_ANON) {
			s->cat = (uint8_t)who;
			s->basis = MEM_BASIS_GUESS;
		} else if (p->is_go) {
			s->cat = MEM_GO_RUNTIME;
			s->basis = MEM_BASIS_GUESS;
		} else {
			s->cat = MEM_OTHER_ANON;
			s->basis = MEM_BASIS_REST;
		}
	}
}

int mem_class__build(struct mem_class *c, const struct mem_maps *m,
		     const struct mem_probe *p)
{
	bool guess = !p->read;
	int err;

	c->n = 0;
	for (size_t i = 0; i < m->n; i++) {
		err = class_grow(c);
		if (err)
			return err;
		c->segs[c->n++] = (struct mem_segment){
			.start = m->vmas[i].start,
			.end = m->vmas[i].end,
			.vma = (uint32_t)i,
			.cat = MEM_CAT_UNSET,
		};
	}
	/* certain first, then by layout, then guesses; a rule only takes
	 * what no earlier rule claimed */
	err = rule_names(c, m, p);
	if (!err)
		err = rule_bss(c, m, p);
	if (!err && !guess)
		err = rule_glibc_heaps(c, m, p, false);
	if (!err)
		err = rule_go_arenas(c, m, p);
	if (!err && !guess)
		err = rule_chunks(c, m, p);
	if (!err)
		err = rule_stacks(c, m, p, guess);
	if (!err && guess)
		err = rule_glibc_heaps(c, m, p, true);
	if (!err)
		rule_rest(c, p);
	return err;
}

void mem_class__release(struct mem_class *c)
{
	free(c->segs);
	memset(c, 0, sizeof(*c));
}

const struct mem_segment *mem_class__find(const struct mem_class *c,
					  uint64_t addr)
{
	size_t i = class_lower(c, addr);

	if (i < c->n && c->segs[i].start <= addr)
		return &c->segs[i];
	return NULL;
}

/* ---- totals -------------------------------------------------------------- */

static int totals_add_lib(struct mem_totals *t, const char *name,
			  uint64_t bytes)
{
	void *q;

	for (size_t i = 0; i < t->nlibs; i++) {
		if (!strcmp(t->libs[i].name, name)) {
			t->libs[i].rss += bytes;
			return 0;
		}
	}
	q = realloc(t->libs, (t->nlibs + 1) * sizeof(*t->libs));
	if (!q)
		return -ENOMEM;
	t->libs = q;
	t->libs[t->nlibs].name = strdup(name);
	if (!t->libs[t->nlibs].name)
		return -ENOMEM;
	t->libs[t->nlibs++].rss = bytes;
	return 0;
}

static int lib_cmp(const void *a, const void *b)
{
	const struct mem_lib *x = a, *y = b;

	if (x->rss != y->rss)
		return x->rss > y->rss ? -1 : 1;
	return strcmp(x->name, y->name);
}

static uint64_t count_present(const struct mem_probe *p, uint64_t lo,
			      uint64_t hi, bool *ok)
{
	uint64_t pages = (hi - lo) / MEM_PAGE, n = 0;
	uint8_t *map;

	*ok = false;
	if (!p || !p->present || pages > (1 << 24))
		return 0;
	map = calloc(pages ? pages : 1, 1);
	if (!map)
		return 0;
	if (!p->present(p->ctx, lo, hi, map)) {
		*ok = true;
		for (uint64_t i = 0; i < pages; i++)
			n += map[i] != 0;
	}
	free(map);
	return n;
}

static int totals_add(struct mem_totals *t, const struct mem_segment *s,
		      uint64_t bytes)
{
	t->cat[s->cat] += bytes;
	t->basis[s->cat][s->basis] += bytes;
	if (s->cat == MEM_LIBRARIES && s->lib)
		return totals_add_lib(t, s->lib, bytes);
	return 0;
}

int mem_totals__sum(struct mem_totals *t, const struct mem_maps *m,
		    const struct mem_class *c, const struct mem_probe *p)
{
	size_t i = 0;
	int err = 0;

	mem_totals__release(t);
	while (i < c->n && !err) {
		size_t j = i;
		const struct mem_vma *v = &m->vmas[c->segs[i].vma];
		uint64_t rss = v->rss, given = 0;

		while (j < c->n && c->segs[j].vma == c->segs[i].vma)
			j++;
		t->rss += rss;
		if (j - i == 1 || !rss) {
			err = totals_add(t, &c->segs[i], rss);
			i = j;
			continue;
		}
		/* a mapping split between categories: share out its Rss by
		 * resident pages (read faults of the zero page count in
		 * pagemap, not in Rss: hence a share, not a count) */
		{
			uint64_t *w = calloc(j - i, sizeof(*w)), sum = 0;
			bool ok = true;

			if (!w)
				return -ENOMEM;
			for (size_t k = i; k < j && ok; k++) {
				w[k - i] = count_present(p, c->segs[k].start,
							 c->segs[k].end, &ok);
				sum += w[k - i];
			}
			if (!ok || !sum) {
				sum = 0;
				for (size_t k = i; k < j; k++) {
					w[k - i] = c->segs[k].end -
						   c->segs[k].start;
					sum += w[k - i];
				}
			}
			for (size_t k = i; k < j && !err; k++) {
				/* the last one takes the rounding */
				double share = (double)w[k - i] / (double)sum;
				uint64_t b = k + 1 == j
						     ? rss - given
						     : (uint64_t)((double)rss *
								  share);

				if (b > rss - given)
					b = rss - given;
				given += b;
				err = totals_add(t, &c->segs[k], b);
			}
			free(w);
		}
		i = j;
	}
	if (!err)
		qsort(t->libs, t->nlibs, sizeof(*t->libs), lib_cmp);
	return err;
}

uint64_t mem_totals__outside_go_heap(const struct mem_totals *t)
{
	uint64_t n = 0;

	for (int i = MEM_C_HEAP; i < MEM_CAT__COUNT; i++)
		n += t->cat[i];
	return n;
}

int mem_totals__copy(struct mem_totals *dst, const struct mem_totals *src)
{
	mem_totals__release(dst);
	*dst = *src;
	dst->libs = NULL;
	dst->nlibs = 0;
	if (!src->nlibs)
		return 0;
	dst->libs = calloc(src->nlibs, sizeof(*dst->libs));
	if (!dst->libs)
		return -ENOMEM;
	for (size_t i = 0; i < src->nlibs; i++) {
		dst->libs[i].rss = src->libs[i].rss;
		dst->libs[i].name = strdup(src->libs[i].name);
		if (!dst->libs[i].name) {
			dst->nlibs = i;
			return -ENOMEM;
		}
	}
	dst->nlibs = src->nlibs;
	return 0;
}

void mem_totals__release(struct mem_totals *t)
{
	for (size_t i = 0; i < t->nlibs; i++)
		free(t->libs[i].name);
	free(t->libs);
	memset(t, 0, sizeof(*t));
}

/* ---- the live process ---------------------------------------------------- */

/* ELF facts of a mapped file, by device and inode. */
struct elf_memo {
	uint64_t dev, ino;
	int err;
	struct mem_elf elf;
};

/* Faults seen in unrecognised memory, by the segment they fell in: what
 * code touched it. Shared by the fault hook (main thread) and the sampler
 * thread. */
struct mem_touch {
	pid_t pid;
	uint64_t lo;
	uint64_t go, other;
};

struct mem_evidence {
	pthread_mutex_t lock;
	struct mem_touch *v;	/* sorted by (pid, lo) */
	size_t n, cap;
};

/* What one thread needs to look at one process. */
struct proc_access {
	pid_t pid;
	bool live_reads;	/* asked for, and not refused */
	bool reads_refused;	/* the process refused them */
	bool warn;		/* say so (one thread per process does) */
	int pagemap_fd;
	char exe[PATH_MAX];
	uint64_t exe_ino;
	bool is_go;
	struct elf_memo *memo;
	size_t nmemo;
	uint64_t *sps;
	size_t nsps, cap_sps;
	struct mem_evidence *ev;	/* NULL without --faults */
	struct mem_probe probe;
};

static long fd_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	if (off > (uint64_t)INT64_MAX)
		return -EINVAL;
	n = pread(*(int *)ctx, buf, len, (off_t)off);
	return n < 0 ? -errno : (long)n;
}

static int elf_of_file(const char *path, struct mem_elf *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = mem_elf__read(e, fd_pread, &fd);
	close(fd);
	return err;
}

static int access_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct proc_access *a = ctx;
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr,
				.iov_len = len };
	ssize_t n = process_vm_readv(a->pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

static long access_read_pairs(void *ctx, const uint64_t *addrs, size_t n,
			      uint64_t (*out)[2])
{
	struct proc_access *a = ctx;
	struct iovec local[256], remote[256];
	size_t done = 0;

	while (done < n) {
		size_t k = n - done < 256 ? n - done : 256;
		ssize_t got;

		for (size_t i = 0; i < k; i++) {
			local[i].iov_base = out[done + i];
			local[i].iov_len = sizeof(out[0]);
			remote[i].iov_base =
				(void *)(uintptr_t)addrs[done + i];
			remote[i].iov_len = sizeof(out[0]);
		}
		got = process_vm_readv(a->pid, local, k, remote, k, 0);
		if (got < 0)
			return done ? (long)done : -errno;
		done += (size_t)got / sizeof(out[0]);
		if ((size_t)got < k * sizeof(out[0]))
			break;
	}
	return (long)done;
}

static int access_present(void *ctx, uint64_t lo, uint64_t hi,
			  uint8_t *present)
{
	struct proc_access *a = ctx;
	uint64_t entries[512];

	if (a->pagemap_fd < 0) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/pagemap", a->pid);
		a->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (a->pagemap_fd < 0)
			return -errno;
	}
	for (uint64_t page = lo / MEM_PAGE; page < hi / MEM_PAGE;) {
		uint64_t want = hi / MEM_PAGE - page;
		ssize_t n;

		if (want > 512)
			want = 512;
		n = pread(a->pagemap_fd, entries, want * 8, (off_t)(page * 8));
		if (n <= 0 || n % 8)
			return n < 0 ? -errno : -EFAULT;
		for (ssize_t i = 0; i < n / 8; i++)
			present[page - lo / MEM_PAGE + (uint64_t)i] =
				(uint8_t)(entries[i] >> 63);
		page += (uint64_t)n / 8;
	}
	return 0;
}

static const struct elf_memo *access_elf(struct proc_access *a,
					 const struct mem_vma *v)
{
	uint64_t dev = makedev(v->major, v->minor);
	struct elf_memo *m;
	char path[PATH_MAX + 64];
	void *q;

	for (size_t i = 0; i < a->nmemo; i++)
		if (a->memo[i].dev == dev && a->memo[i].ino == v->ino)
			return &a->memo[i];
	if (a->nmemo >= 4096)
		return NULL;
	q = realloc(a->memo, (a->nmemo + 1) * sizeof(*a->memo));
	if (!q)
		return NULL;
	a->memo = q;
	m = &a->memo[a->nmemo++];
	m->dev = dev;
	m->ino = v->ino;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
		 a->pid, v->start, v->end);
	m->err = elf_of_file(path, &m->elf);
	if (m->err) {
		snprintf(path, sizeof(path), "/proc/%d/root%s", a->pid,
			 v->name);
		m->err = elf_of_file(path, &m->elf);
	}
	return m;
}

static uint64_t access_image_end(void *ctx, const struct mem_vma *v)
{
	const struct elf_memo *m = access_elf(ctx, v);

	if (!m || m->err)
		return 0;
	for (size_t i = 0; i < m->elf.nloads; i++) {
		uint64_t off = m->elf.loads[i].offset,
			 vaddr = m->elf.loads[i].vaddr,
			 filesz = m->elf.loads[i].filesz,
			 memsz = m->elf.loads[i].memsz, at;

		/* the segment this mapping's first page belongs to */
		if ((off & ~(MEM_PAGE - 1)) > v->pgoff ||
		    v->pgoff >= off + filesz)
			continue;
		if (v->pgoff <= off)
			at = vaddr - (off - v->pgoff);
		else
			at = vaddr + (v->pgoff - off);
		if (vaddr + memsz < at ||
		    vaddr + memsz - at > UINT64_MAX - v->start)
			return 0;
		return v->start + (vaddr + memsz - at);
	}
	return 0;
}

static int evidence_find(struct mem_evidence *ev, pid_t pid, uint64_t lo)
{
	size_t a = 0, b = ev->n;

	while (a < b) {
		size_t mid = a + (b - a) / 2;
		const struct mem_touch *t = &ev->v[mid];

		if (t->pid < pid || (t->pid == pid && t->lo < lo))
			a = mid + 1;
		else
			b = mid;
	}
	return (int)a;
}

static void evidence_add(struct mem_evidence *ev, pid_t pid, uint64_t lo,
			 bool go)
{
	size_t i;

	pthread_mutex_lock(&ev->lock);
	i = (size_t)evidence_find(ev, pid, lo);
	if (i == ev->n || ev->v[i].pid != pid || ev->v[i].lo != lo) {
		if (ev->n == ev->cap) {
			size_t cap = ev->cap ? ev->cap * 2 : 256;
			void *q = cap < (1 << 20)
					  ? realloc(ev->v, cap * sizeof(*ev->v))
					  : NULL;

			if (!q)
				goto out;
			ev->v = q;
			ev->cap = cap;
		}
		memmove(&ev->v[i + 1], &ev->v[i], (ev->n - i) * sizeof(*ev->v));
		ev->v[i] = (struct mem_touch){ .pid = pid, .lo = lo };
		ev->n++;
	}
	if (go)
		ev->v[i].go++;
	else
		ev->v[i].other++;
out:
	pthread_mutex_unlock(&ev->lock);
}

static int access_touched_by(void *ctx, uint64_t lo, uint64_t hi)
{
	struct proc_access *a = ctx;
	struct mem_evidence *ev = a->ev;
	uint64_t go = 0, other = 0;

	if (!ev)
		return -1;
	pthread_mutex_lock(&ev->lock);
	for (size_t i = (size_t)evidence_find(ev, a->pid, lo);
	     i < ev->n && ev->v[i].pid == a->pid && ev->v[i].lo < hi; i++) {
		go += ev->v[i].go;
		other += ev->v[i].other;
	}
	pthread_mutex_unlock(&ev->lock);
	if (!go && !other)
		return -1;
	return go >= other ? MEM_GO_RUNTIME : MEM_OTHER_ANON;
}

static void access_init(struct proc_access *a, pid_t pid, bool live_reads,
			struct mem_evidence *ev)
{
	memset(a, 0, sizeof(*a));
	a->pid = pid;
	a->live_reads = live_reads;
	a->pagemap_fd = -1;
	a->ev = ev;
}

static void access_release(struct proc_access *a)
{
	if (a->pagemap_fd >= 0)
		close(a->pagemap_fd);
	free(a->memo);
	free(a->sps);
	memset(a, 0, sizeof(*a));
	a->pagemap_fd = -1;
}

/* The executable (it changes at exec) and whether it is Go. */
static void access_refresh_exe(struct proc_access *a)
{
	char path[64], exe[PATH_MAX];
	struct mem_elf e;
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", a->pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = 0;
	if (!strcmp(exe, a->exe))
		return;
	memcpy(a->exe, exe, (size_t)n + 1);
	a->exe_ino = !stat(path, &st) ? st.st_ino : 0;
	a->is_go = !elf_of_file(path, &e) && e.is_go;
}

/* Stack pointers of the threads blocked in the kernel. */
static void access_read_sps(struct proc_access *a)
{
	char path[64], line[256];
	struct dirent *de;
	DIR *d;

	a->nsps = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", a->pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		char *tok[16], *save = NULL, *t;
		int ntok = 0;
		FILE *f;
		const char *s;
		uint64_t sp;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/syscall",
			 a->pid, de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
		/* "nr a1 .. a6 sp pc", "-1 sp pc" or "running" */
		for (t = strtok_r(line, " \n", &save); t && ntok < 16;
		     t = strtok_r(NULL, " \n", &save))
			tok[ntok++] = t;
		if (ntok < 3)
			continue;
		s = tok[ntok - 2];
		if (!scan_hex(&s, s + strlen(s), &sp) || *s)
			continue;
		if (a->nsps == a->cap_sps) {
			size_t cap = a->cap_sps ? a->cap_sps * 2 : 64;
			void *q = realloc(a->sps, cap * sizeof(*a->sps));

			if (!q)
				break;
			a->sps = q;
			a->cap_sps = cap;
		}
		a->sps[a->nsps++] = sp;
	}
	if (d)
		closedir(d);
}

/* Live reads work on this process: one read of its first readable
 * mapping. The first refusal is reported; the classifier then guesses
 * where it would have verified. */
static void access_check_reads(struct proc_access *a, const struct mem_maps *m)
{
	uint64_t word;
	int err = 0;

	if (!a->live_reads || a->reads_refused)
		return;
	for (size_t i = 0; i < m->n; i++) {
		if (!(m->vmas[i].prot & PROT_READ))
			continue;
		err = access_read(a, m->vmas[i].start, &word, sizeof(word));
		break;
	}
	if (err == -EPERM || err == -EACCES || err == -ENOSYS) {
		a->reads_refused = true;
		if (a->warn)
			pr_warn("cannot read the memory of pid %d (%s): malloc "
				"and thread stacks are recognised by their "
				"layout only, a guess",
				a->pid, strerror(-err));
	}
}

static const struct mem_probe *access_probe(struct proc_access *a,
					    const struct mem_maps *m,
					    bool with_sps)
{
	access_refresh_exe(a);
	access_check_reads(a, m);
	if (with_sps)
		access_read_sps(a);
	a->probe = (struct mem_probe){
		.is_go = a->is_go,
		.exe = a->exe[0] ? a->exe : NULL,
		.exe_ino = a->exe_ino,
		.sps = a->sps,
		.nsps = a->nsps,
		.read = a->live_reads && !a->reads_refused ? access_read : NULL,
		.read_pairs = a->live_reads && !a->reads_refused
				      ? access_read_pairs
				      : NULL,
		.present = access_present,
		.image_end = access_image_end,
		.touched_by = a->ev ? access_touched_by : NULL,
		.ctx = a,
	};
	return &a->probe;
}

/* A whole /proc file. Caller frees *@buf. 0 or -errno (-ESRCH: no such
 * process). */
static int read_proc_file(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	size_t cap = 1 << 16, n = 0;
	char *b;

	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	b = malloc(cap);
	while (b) {
		ssize_t r;

		if (n == cap) {
			char *q = cap < (1UL << 30) ? realloc(b, cap * 2)
						    : NULL;

			if (!q) {
				err = -ENOMEM;
				break;
			}
			b = q;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno == ESRCH ? -ESRCH : -errno;
			break;
		}
		if (!r)
			break;
		n += (size_t)r;
	}
	if (!b)
		err = -ENOMEM;
	close(fd);
	if (err) {
		free(b);
		return err;
	}
	*buf = b;
	*len = n;
	return 0;
}

/* The maps of @pid (smaps when @smaps). -ESRCH when it is gone (or a
 * zombie: no mappings). */
static int load_maps(pid_t pid, bool smaps, struct mem_maps *m)
{
	char path[64], *text = NULL;
	size_t len = 0;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid,
		 smaps ? "smaps" : "maps");
	err = read_proc_file(path, &text, &len);
	if (err)
		return err;
	/* A process that exits while its smaps is read gives a short read:
	 * the kernel ends the file once the mm is being torn down. Its
	 * statm then reads all zeros (no mm): such a read is not a
	 * snapshot (seen: a "last" with 48 of 64 MiB of C heap). */
	{
		char *st = NULL, head[32];
		size_t stlen = 0;
		unsigned long size = 0;

		snprintf(path, sizeof(path), "/proc/%d/statm", pid);
		if (!read_proc_file(path, &st, &stlen)) {
			/* not NUL-terminated: its first field only */
			size_t n = stlen < sizeof(head) - 1 ? stlen
							    : sizeof(head) - 1;

			memcpy(head, st, n);
			head[n] = 0;
			free(st);
			if (sscanf(head, "%lu", &size) != 1)
				size = 0;
		}
		if (!size) {
			free(text);
			return -ESRCH;
		}
	}
	mem_maps__release(m);
	err = mem_maps__parse(m, text, len);
	free(text);
	if (!err && !m->n)
		err = -ESRCH;
	return err;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- snapshots ----------------------------------------------------------- */

struct sampler {
	struct proc_access acc;
	double interval;	/* seconds */
	uint64_t t0;
	struct mem_maps maps;
	struct mem_class cls;
	struct mem_totals cur, peak, last;
	unsigned nsnaps;
	uint64_t bad_lines;
	int err;		/* of the latest snapshot */
	const char *self_exe;	/* ours: the target before its exec */
	atomic_bool done;
};

static int sampler_snapshot(struct sampler *s)
{
	const struct mem_probe *p;
	int err;

	err = load_maps(s->acc.pid, true, &s->maps);
	if (err)
		return s->err = err;
	p = access_probe(&s->acc, &s->maps, true);
	if (s->self_exe && !strcmp(s->acc.exe, s->self_exe))
		return s->err = -EAGAIN;	/* not exec'd yet */
	s->bad_lines += s->maps.bad_lines;
	err = mem_class__build(&s->cls, &s->maps, p);
	if (!err)
		err = mem_totals__sum(&s->cur, &s->maps, &s->cls, p);
	if (err)
		return s->err = err;
	if (!s->nsnaps)
		s->t0 = mono_ns();
	s->cur.time = (double)(mono_ns() - s->t0) / 1e9;
	if (!s->nsnaps || s->cur.rss > s->peak.rss)
		err = mem_totals__copy(&s->peak, &s->cur);
	if (!err)
		err = mem_totals__copy(&s->last, &s->cur);
	if (!err)
		s->nsnaps++;
	return s->err = err;
}

static void sampler_release(struct sampler *s)
{
	access_release(&s->acc);
	mem_maps__release(&s->maps);
	mem_class__release(&s->cls);
	mem_totals__release(&s->cur);
	mem_totals__release(&s->peak);
	mem_totals__release(&s->last);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
			       .tv_nsec = (long)(ns % 1000000000ULL) };

	nanosleep(&ts, NULL);
}

/* The sampler thread of --faults: snapshots until told to stop or the
 * process is gone. */
static void *sampler_thread(void *arg)
{
	struct sampler *s = arg;
	uint64_t next = mono_ns();

	while (!atomic_load(&s->done)) {
		uint64_t now = mono_ns();
		int err;

		if (now < next) {
			uint64_t d = next - now;

			sleep_ns(d > 10000000 ? 10000000 : d);
			continue;
		}
		err = sampler_snapshot(s);
		if (err == -ESRCH && s->nsnaps)
			break;
		next += (uint64_t)(s->interval * 1e9);
		if (next < now)
			next = now;
	}
	return NULL;
}

/* ---- the fault hook ------------------------------------------------------ */

#define FAULT_VIEWS 8
/* Unrecognised memory is looked at again at most this often, and this
 * many times, per segment. */
#define CGOPROF_MEM_RECHECK_NS 200000ULL
#define CGOPROF_MEM_RECHECKS 4
#define CGOPROF_MEM_RECHECK_SLOTS 64

struct recheck {
	uint64_t lo, last_ns;
	unsigned n;
};

/* One process as the fault hook sees it: its maps and their categories,
 * reloaded when a fault lands in a mapping newer than the last load. */
struct fault_view {
	bool used, loaded;
	struct proc_access acc;
	struct mem_maps maps;
	struct mem_class cls;
	uint32_t newest_id;	/* procmap ids at or below: in the maps */
	uint64_t loaded_ns;
	struct recheck rechecks[CGOPROF_MEM_RECHECK_SLOTS];
	unsigned next_recheck;
};

struct fault_hook {
	struct record *rec;
	struct fault_view views[FAULT_VIEWS];
	unsigned next_victim;
	bool live_reads;
	struct mem_evidence *ev;
	uint64_t by_cat[MEM_CAT__COUNT];
	uint64_t unmapped, reloads;
};

static struct fault_view *hook_view(struct fault_hook *h, pid_t pid)
{
	struct fault_view *v;

	for (int i = 0; i < FAULT_VIEWS; i++)
		if (h->views[i].used && h->views[i].acc.pid == pid)
			return &h->views[i];
	v = &h->views[h->next_victim++ % FAULT_VIEWS];
	if (v->used) {
		access_release(&v->acc);
		mem_maps__release(&v->maps);
		mem_class__release(&v->cls);
	}
	memset(v, 0, sizeof(*v));
	v->used = true;
	access_init(&v->acc, pid, h->live_reads, h->ev);
	return v;
}

static void hook_reload(struct fault_hook *h, struct fault_view *v,
			const struct proc *p)
{
	const struct mem_probe *probe;

	h->reloads++;
	if (load_maps(v->acc.pid, false, &v->maps))
		return;
	probe = access_probe(&v->acc, &v->maps, true);
	if (mem_class__build(&v->cls, &v->maps, probe)) {
		v->loaded = false;
		return;
	}
	v->loaded = true;
	v->loaded_ns = mono_ns();
	v->newest_id = 0;
	for (size_t i = 0; p && i < p->nmaps; i++)
		if (p->maps[i].id > v->newest_id)
			v->newest_id = p->maps[i].id;
}

/* Whether to load the maps again for a fault in unrecognised memory. */
static bool view_recheck(struct fault_view *v, uint64_t lo)
{
	uint64_t now = mono_ns();
	struct recheck *r = NULL;

	for (int i = 0; i < CGOPROF_MEM_RECHECK_SLOTS && !r; i++)
		if (v->rechecks[i].lo == lo)
			r = &v->rechecks[i];
	if (!r) {
		r = &v->rechecks[v->next_recheck++ % CGOPROF_MEM_RECHECK_SLOTS];
		*r = (struct recheck){ .lo = lo, .last_ns = v->loaded_ns };
	}
	if (r->n >= CGOPROF_MEM_RECHECKS ||
	    now - r->last_ns < CGOPROF_MEM_RECHECK_NS)
		return false;
	r->n++;
	r->last_ns = now;
	return true;
}

/* Whether the code that touched the page is Go: the first user frame. */
static bool touched_by_go(const struct unwind_result *r)
{
	for (uint32_t i = 0; i < r->n; i++) {
		const struct unwind_frame *f = &r->frames[i];

		if (f->flags & UNWIND_FRAME_KERNEL)
			continue;
		return f->map && f->map->obj &&
		       elf_obj__is_go_pc(f->map->obj, f->pc - f->map->bias);
	}
	return false;
}

static const char *fault_root(void *ctx, const struct perf_sample *s,
			      const struct unwind_result *r)
{
	struct fault_hook *h = ctx;
	struct procmap *pm = record__procmap(h->rec);
	struct proc *p = procmap__proc(pm, s->pid, false);
	const struct map *m = p ? procmap__find(pm, p, s->addr) : NULL;
	struct fault_view *v = hook_view(h, (pid_t)s->pid);
	const struct mem_segment *seg = NULL;
	enum mem_cat cat;

	if (v->loaded && (!m || m->id <= v->newest_id))
		seg = mem_class__find(&v->cls, s->addr);
	/* The fault that made a mapping is often handled before the
	 * allocator wrote its header there (the sample is read within
	 * microseconds): what was not recognised is looked at again, a
	 * little later. */
	if (!seg || (seg->unrecognised && h->live_reads &&
		     view_recheck(v, seg->start))) {
		hook_reload(h, v, p);
		seg = v->loaded ? mem_class__find(&v->cls, s->addr) : NULL;
	}
	if (!seg) {
		h->unmapped++;
		return "unmapped";
	}
	cat = (enum mem_cat)seg->cat;
	if (seg->unrecognised) {
		bool go = touched_by_go(r);

		evidence_add(h->ev, (pid_t)s->pid, seg->start, go);
		cat = go ? MEM_GO_RUNTIME : MEM_OTHER_ANON;
	}
	h->by_cat[cat]++;
	return mem_cat__name(cat);
}

static void hook_release(struct fault_hook *h)
{
	for (int i = 0; i < FAULT_VIEWS; i++) {
		if (!h->views[i].used)
			continue;
		access_release(&h->views[i].acc);
		mem_maps__release(&h->views[i].maps);
		mem_class__release(&h->views[i].cls);
	}
}

/* ---- output -------------------------------------------------------------- */

#define EXIT_PARTIAL 1
#define EXIT_FATAL 2
#define EXIT_USAGE 64
#define MAX_OUTPUTS 16

static struct {
	int verbose;
	bool quiet;
} mem_cli;

static volatile sig_atomic_t mem_stop;

static void mem_on_signal(int sig)
{
	(void)sig;
	mem_stop = 1;
}

static void mem_log(enum log_level level, const char *fmt, va_list ap)
{
	if (mem_cli.quiet && level == LOG_WARN)
		return;
	if (level == LOG_INFO && mem_cli.verbose < 1)
		return;
	if (level == LOG_DEBUG && mem_cli.verbose < 2)
		return;
	fprintf(stderr, "cgoprof: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void __attribute__((format(printf, 1, 2))) mem_error(const char *fmt,
							    ...)
{
	va_list ap;

	fprintf(stderr, "cgoprof: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *human(uint64_t bytes, char *buf, size_t size)
{
	if (bytes >= (1ULL << 30))
		snprintf(buf, size, "%.2f GiB", (double)bytes / (1 << 30));
	else if (bytes >= (1ULL << 20))
		snprintf(buf, size, "%.1f MiB", (double)bytes / (1 << 20));
	else
		snprintf(buf, size, "%.0f KiB", (double)bytes / 1024);
	return buf;
}

/* How a category's bytes were recognised: "named", or "verified 97%,
 * guess 3%". */
static const char *basis_text(const struct mem_totals *t, enum mem_cat cat,
			      char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = 0;
	if (!t->cat[cat])
		return buf;
	for (int b = 0; b < MEM_BASIS__COUNT; b++) {
		uint64_t v = t->basis[cat][b];
		int w;

		if (!v)
			continue;
		if (v == t->cat[cat])
			w = snprintf(buf + n, size - n, "%s",
				     mem_basis__name((enum mem_basis)b));
		else if (200 * v < t->cat[cat])
			w = snprintf(buf + n, size - n, "%s%s <1%%",
				     n ? ", " : "",
				     mem_basis__name((enum mem_basis)b));
		else
			w = snprintf(buf + n, size - n, "%s%s %.0f%%",
				     n ? ", " : "",
				     mem_basis__name((enum mem_basis)b),
				     100.0 * (double)v / (double)t->cat[cat]);
		if (w < 0 || (size_t)w >= size - n)
			break;
		n += (size_t)w;
	}
	return buf;
}

static void print_table(FILE *f, const struct sampler *s, const char *what,
			const struct fault_hook *h,
			const struct record_stats *st)
{
	const struct mem_totals *pk = &s->peak, *ls = &s->last;
	char a[32], b[32], basis[96];
	bool any_guess = false;

	fprintf(f, "%s: %u snapshot%s over %.1f s; peak RSS at %.2f s\n", what,
		s->nsnaps, s->nsnaps == 1 ? "" : "s", ls->time, pk->time);
	fprintf(f, "  %-16s %12s %12s  %s\n", "", "peak", "last",
		"recognised by");
	fprintf(f, "  %-16s %12s %12s\n", "rss", human(pk->rss, a, sizeof(a)),
		human(ls->rss, b, sizeof(b)));
	for (int c = 0; c < MEM_CAT__COUNT; c++) {
		basis_text(pk, (enum mem_cat)c, basis, sizeof(basis));
		fprintf(f, "  %-16s %12s %12s%s%s\n",
			mem_cat__name((enum mem_cat)c),
			human(pk->cat[c], a, sizeof(a)),
			human(ls->cat[c], b, sizeof(b)), basis[0] ? "  " : "",
			basis);
		any_guess |= pk->basis[c][MEM_BASIS_GUESS] != 0;
	}
	fprintf(f, "  %-16s %12s %12s\n", "outside_go_heap",
		human(mem_totals__outside_go_heap(pk), a, sizeof(a)),
		human(mem_totals__outside_go_heap(ls), b, sizeof(b)));
	if (pk->nlibs) {
		fprintf(f, "  libraries:");
		for (size_t i = 0; i < pk->nlibs && i < 8; i++)
			fprintf(f, "%s %s %s", i ? "," : "", pk->libs[i].name,
				human(pk->libs[i].rss, a, sizeof(a)));
		if (pk->nlibs > 8)
			fprintf(f, ", and %zu more", pk->nlibs - 8);
		fputc('\n', f);
	}
	if (any_guess)
		fprintf(f, "  'guess': anonymous memory no rule recognised is "
			   "counted as go_runtime in a Go\n  program%s; see "
			   "'cgoprof mem --help'\n",
			h ? " (as other_anon where non-Go code faulted it in)"
			  : "");
	if (h && st) {
		uint64_t n = 0;

		for (int c = 0; c < MEM_CAT__COUNT; c++)
			n += h->by_cat[c];
		fprintf(f, "page faults: %" PRIu64 " sampled, %" PRIu64
			   " lost;", n + h->unmapped, st->lost);
		for (int c = 0; c < MEM_CAT__COUNT; c++)
			if (h->by_cat[c])
				fprintf(f, " %s %" PRIu64,
					mem_cat__name((enum mem_cat)c),
					h->by_cat[c]);
		if (h->unmapped)
			fprintf(f, " unmapped %" PRIu64, h->unmapped);
		fputc('\n', f);
	}
}


static void json_totals(FILE *f, const struct mem_totals *t, const char *ind)
{
	fprintf(f, "%s\"time\": %.3f,\n", ind, t->time);
	fprintf(f, "%s\"rss\": %" PRIu64 ",\n", ind, t->rss);
	fprintf(f, "%s\"categories\": {", ind);
	for (int c = 0; c < MEM_CAT__COUNT; c++)
		fprintf(f, "%s\"%s\": %" PRIu64, c ? ", " : "",
			mem_cat__name((enum mem_cat)c), t->cat[c]);
	fprintf(f, "},\n%s\"outside_go_heap\": %" PRIu64 ",\n", ind,
		mem_totals__outside_go_heap(t));
	fprintf(f, "%s\"libraries\": {", ind);
	for (size_t i = 0; i < t->nlibs; i++) {
		fputs(i ? ", " : "", f);
		export__json_string(f, t->libs[i].name);
		fprintf(f, ": %" PRIu64, t->libs[i].rss);
	}
	fprintf(f, "},\n%s\"basis\": {", ind);
	for (int c = 0, first = 1; c < MEM_CAT__COUNT; c++) {
		if (!t->cat[c])
			continue;
		fprintf(f, "%s\"%s\": {", first ? "" : ", ",
			mem_cat__name((enum mem_cat)c));
		first = 0;
		for (int b = 0, fb = 1; b < MEM_BASIS__COUNT; b++) {
			if (!t->basis[c][b])
				continue;
			fprintf(f, "%s\"%s\": %" PRIu64, fb ? "" : ", ",
				mem_basis__name((enum mem_basis)b),
				t->basis[c][b]);
			fb = 0;
		}
		fputc('}', f);
	}
	fputc('}', f);
}

static int write_json(FILE *f, const struct sampler *s, const char *command,
		      const struct fault_hook *h)
{
	fprintf(f, "{\n  \"pid\": %d,\n  \"command\": ", s->acc.pid);
	export__json_string(f, command);
	fprintf(f, ",\n  \"snapshots\": %u,\n  \"interval\": %.3f,\n",
		s->nsnaps, s->interval);
	json_totals(f, &s->peak, "  ");
	fprintf(f, ",\n  \"last\": {\n");
	json_totals(f, &s->last, "    ");
	fprintf(f, "\n  }");
	if (h) {
		fprintf(f, ",\n  \"faults\": {");
		for (int c = 0; c < MEM_CAT__COUNT; c++)
			fprintf(f, "%s\"%s\": %" PRIu64, c ? ", " : "",
				mem_cat__name((enum mem_cat)c), h->by_cat[c]);
		fprintf(f, ", \"unmapped\": %" PRIu64 "}", h->unmapped);
	}
	fprintf(f, "\n}\n");
	return ferror(f) ? -EIO : 0;
}

/* Writes the JSON summary to @path atomically (a temporary file in the same
 * directory, then rename). 0 or -errno. */
struct json_job {
	const struct sampler *s;
	const char *command;
	const struct fault_hook *h;
};

static int json_job_write(FILE *f, void *ctx)
{
	struct json_job *j = ctx;

	return write_json(f, j->s, j->command, j->h);
}

static int write_json_file(const char *path, const struct sampler *s,
			   const char *command, const struct fault_hook *h)
{
	struct json_job j = { s, command, h };

	return export__write_atomic(path, json_job_write, &j);
}

/* -vv: the last snapshot's mappings, and what each part of them became. */
static void dump_class(const struct sampler *s)
{
	fprintf(stderr, "  %-25s %4s %10s %10s  %-13s %-8s %s\n", "segment",
		"", "size KiB", "map rss", "category", "basis", "mapping");
	for (size_t i = 0; i < s->cls.n; i++) {
		const struct mem_segment *g = &s->cls.segs[i];
		const struct mem_vma *v = &s->maps.vmas[g->vma];

		fprintf(stderr,
			"  %012" PRIx64 "-%012" PRIx64 " %c%c%c%c %10" PRIu64
			" %10" PRIu64 "  %-13s %-8s %s\n",
			g->start, g->end, v->prot & PROT_READ ? 'r' : '-',
			v->prot & PROT_WRITE ? 'w' : '-',
			v->prot & PROT_EXEC ? 'x' : '-', v->shared ? 's' : 'p',
			(g->end - g->start) / 1024, v->rss / 1024,
			mem_cat__name((enum mem_cat)g->cat),
			mem_basis__name((enum mem_basis)g->basis), v->name);
	}
}

static bool is_json(const char *path)
{
	size_t n = strlen(path);

	return n > 5 && !strcmp(path + n - 5, ".json");
}

/* ---- the command --------------------------------------------------------- */

static const char usage_mem[] =
	"usage: cgoprof mem [options] -p PID\n"
	"       cgoprof mem [options] -- CMD [ARGS...]\n"
	"\n"
	"Resident memory (RSS) by category, from /proc/PID/smaps: how much is\n"
	"the Go heap and how much is outside it. A command is sampled from its\n"
	"start to its exit and the peak and last snapshots are reported; -p\n"
	"takes one snapshot, or a series with -d.\n"
	"\n"
	"  -p, --pid PID           a running process\n"
	"  -d, --duration SEC      stop after SEC seconds (a command is then\n"
	"                          ended with SIGTERM)\n"
	"  -F, --freq HZ           snapshots per second (default 10)\n"
	"      --interval SEC      seconds between snapshots (instead of -F)\n"
	"  -o, --output FILE       repeatable: *.json the peak and last\n"
	"                          snapshots; with --faults *.svg, *.folded,\n"
	"                          *.txt, *.pb.gz, *.pprof, '-' (folded on\n"
	"                          stdout) the page-fault profile\n"
	"      --faults            sample every page fault (event page-faults,\n"
	"                          period 1, with the fault address): each\n"
	"                          new resident page is charged to the Go and C\n"
	"                          stack that touched it, under a root frame\n"
	"                          naming its category\n"
	"      --no-live-reads     never read the target's memory (malloc and\n"
	"                          stacks are then guessed from their layout)\n"
	"  -m, --mmap-pages N      --faults: ring pages per CPU (power of two)\n"
	"      --stack-size BYTES  --faults: user stack copied per fault\n"
	"      --cgo-probe         --faults: record the Go stack at each cgo call\n"
	"                          (as 'cgoprof record --cgo-probe')\n"
	"  -q, --quiet             no table, no warnings\n"
	"  -v, --verbose           more messages (twice: debug)\n"
	"  -h, --help\n"
	"\n"
	"Categories (RSS of each mapping, as smaps counts it):\n"
	"  go_heap        Go heap arenas: anonymous runs that start on a 64 MiB\n"
	"                 boundary and cover whole 64 MiB blocks, in a Go program\n"
	"                 (where Go reserves them; below 2^46 without live reads;\n"
	"                 by layout: nothing of the runtime is read);\n"
	"                 '[anon: Go: heap]' where the kernel names mappings\n"
	"  go_runtime     other '[anon: Go: ...]' mappings; otherwise a guess: the\n"
	"                 anonymous memory of a Go program that no rule below\n"
	"                 recognised (with --faults: that Go code faulted in)\n"
	"  c_heap         [heap] (brk); glibc arenas (heap_info read at a 64 MiB\n"
	"                 boundary, the PROT_NONE rest included); mmapped malloc\n"
	"                 chunks (the chunk header, size | IS_MMAPPED, read at\n"
	"                 each chunk: adjacent chunks merged into one mapping\n"
	"                 are walked one by one). Other allocators (jemalloc,\n"
	"                 tcmalloc, musl) are not recognised\n"
	"  thread_stacks  [stack]; a mapping with glibc's thread descriptor at\n"
	"                 its top, or a blocked thread's stack pointer, with the\n"
	"                 PROT_NONE guard below it\n"
	"  executable     the main binary's mappings and the bss after them\n"
	"  libraries      other mapped files and their bss, per file name\n"
	"  loader         ld-linux and its bss\n"
	"  other_anon     the rest: anonymous memory of a non-Go program no rule\n"
	"                 recognised (with --faults, also what non-Go code\n"
	"                 faulted in), shared memory, [vvar], [vsyscall]\n"
	"The table says what each category rests on: named (a file or a name\n"
	"the kernel shows), verified (read from the allocator's structures),\n"
	"layout (where it lies), guess, rest. perf's mmap records carry no\n"
	"stack, so who created a mapping is never known: only who faulted its\n"
	"pages in (--faults). Fault counts are faults, not bytes: a fault on a\n"
	"transparent huge page brings in 2 MiB. See docs/mem.md.\n"
	"\n"
	"Exit status: 0 done, 1 partial (an output could not be written), 2\n"
	"fatal (no such process, not permitted, command not found, unwritable\n"
	"output, nothing could be read), 64 usage.\n";

struct mem_opts {
	pid_t pid;
	char **argv;
	double duration;
	double interval;
	bool faults, live_reads, cgo_probe;
	size_t mmap_pages;
	uint32_t stack_size;
	const char *outputs[MAX_OUTPUTS];
	int noutputs;
};


static int parse_seconds(const char *s, double min, double max, double *v)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || *end || end == s || !(d >= min) || d > max)
		return -EINVAL;
	*v = d;
	return 0;
}


static void read_error(pid_t pid, int err)
{
	if (err == -ESRCH)
		mem_error("no such process: %d", pid);
	else if (err == -EACCES || err == -EPERM)
		mem_error("not permitted to read the memory map of pid %d: %s\n"
			  "  /proc/PID/smaps needs ptrace access to the target "
			  "(the same user and\n"
			  "  kernel.yama.ptrace_scope permitting, or "
			  "CAP_SYS_PTRACE)",
			  pid, strerror(-err));
	else
		mem_error("cannot read the memory map of pid %d: %s", pid,
			  strerror(-err));
}

/* Starts @argv; returns its pid once it has exec'd, or -errno (*@exec_err
 * set when exec failed). */
static pid_t spawn(char **argv, int *exec_err)
{
	int status[2], child_errno = 0, err;
	ssize_t n;
	pid_t pid;

	*exec_err = 0;
	if (pipe2(status, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(status[0]);
		close(status[1]);
		return err;
	}
	if (!pid) {
		close(status[0]);
		execvp(argv[0], argv);
		err = errno;
		if (write(status[1], &err, sizeof(err)) < 0)
			_exit(127);
		_exit(127);
	}
	close(status[1]);
	do
		n = read(status[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(status[0]);
	if (n == sizeof(child_errno)) {
		waitpid(pid, NULL, 0);
		*exec_err = child_errno;
		return -child_errno;
	}
	return pid;
}

static char *join_command(char *const *argv, pid_t pid)
{
	size_t n = 32;
	char *s;

	for (int i = 0; argv && argv[i]; i++)
		n += strlen(argv[i]) + 1;
	s = calloc(1, n);
	if (!s)
		return NULL;
	if (!argv) {
		snprintf(s, n, "pid %d", pid);
		return s;
	}
	for (int i = 0; argv[i]; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

static void report_status(int status)
{
	if (mem_cli.quiet || status < 0)
		return;
	if (WIFEXITED(status))
		fprintf(stderr, "command exited with status %d\n",
			WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		fprintf(stderr, "command killed by signal %d (%s)\n",
			WTERMSIG(status), strsignal(WTERMSIG(status)));
}

/* Without --faults: snapshots in this thread, until the command exits,
 * the duration, Ctrl-C, or (-p without -d) after one. */
static int run_snapshots(struct sampler *s, const struct mem_opts *o,
			 pid_t child, int *child_status)
{
	uint64_t start = mono_ns(), next = start;
	uint64_t deadline =
		o->duration > 0 ? start + (uint64_t)(o->duration * 1e9) : 0;
	bool one = !child && !(o->duration > 0);
	int err = 0;

	*child_status = -1;
	for (;;) {
		uint64_t now = mono_ns();

		if (child > 0 &&
		    waitpid(child, child_status, WNOHANG) == child) {
			child = 0;
			break;
		}
		if (mem_stop || (deadline && now >= deadline))
			break;
		if (now < next) {
			uint64_t d = next - now;

			sleep_ns(d > 10000000 ? 10000000 : d);
			continue;
		}
		err = sampler_snapshot(s);
		if (err == -ESRCH && child > 0)
			continue;	/* a zombie: reaped above */
		if (err && err != -EAGAIN && (!s->nsnaps || err != -ESRCH))
			break;
		if (err == -ESRCH || one)
			break;
		err = 0;
		next += (uint64_t)(s->interval * 1e9);
		if (next < now)
			next = now;
	}
	if (child > 0) {
		/* the duration ended first: end the command as record does */
		kill(child, SIGTERM);
		waitpid(child, child_status, 0);
	}
	return s->nsnaps ? 0 : err;
}

int cmd_mem(int argc, char **argv)
{
	enum { OPT_INTERVAL = 256, OPT_FAULTS, OPT_NO_LIVE, OPT_STACK,
	       OPT_CGO_PROBE };
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "freq", required_argument, NULL, 'F' },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "output", required_argument, NULL, 'o' },
		{ "faults", no_argument, NULL, OPT_FAULTS },
		{ "no-live-reads", no_argument, NULL, OPT_NO_LIVE },
		{ "mmap-pages", required_argument, NULL, 'm' },
		{ "stack-size", required_argument, NULL, OPT_STACK },
		{ "cgo-probe", no_argument, NULL, OPT_CGO_PROBE },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct mem_opts o = {
		.interval = 0.1,
		.live_reads = true,
		.stack_size = 16384,
	};
	struct sigaction sa = { .sa_handler = mem_on_signal };
	struct sampler *s = NULL;
	struct fault_hook *h = NULL;
	struct mem_evidence ev = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct record *rec = NULL;
	struct profile *prof = NULL;
	struct record_error re;
	struct export_opts eo = { 0 };
	char *command = NULL, self_exe[PATH_MAX];
	bool thread_started = false;
	pthread_t thread;
	int c, ret = EXIT_FATAL, err, status = -1, exec_err;
	FILE *table;
	uint64_t v;
	pid_t target;
	double d;

	log__set_fn(mem_log);
	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:d:F:o:m:qvh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'p':
			if (cli__parse_u64(optarg, &v) || !v || v > INT_MAX) {
				mem_error("invalid pid '%s'", optarg);
				goto usage;
			}
			o.pid = (pid_t)v;
			break;
		case 'd':
			if (parse_seconds(optarg, 1e-9, 1e7, &d)) {
				mem_error("invalid duration '%s' (seconds, > 0)",
					  optarg);
				goto usage;
			}
			o.duration = d;
			break;
		case 'F':
			if (cli__parse_u64(optarg, &v) || !v || v > 1000) {
				mem_error("invalid frequency '%s' (1..1000 "
					  "snapshots a second)",
					  optarg);
				goto usage;
			}
			o.interval = 1.0 / (double)v;
			break;
		case OPT_INTERVAL:
			if (parse_seconds(optarg, 0.001, 3600, &d)) {
				mem_error("invalid --interval '%s' (0.001..3600 "
					  "seconds)",
					  optarg);
				goto usage;
			}
			o.interval = d;
			break;
		case 'o':
			if (o.noutputs == MAX_OUTPUTS) {
				mem_error("too many outputs (at most %d)",
					  MAX_OUTPUTS);
				goto usage;
			}
			o.outputs[o.noutputs++] = optarg;
			break;
		case OPT_FAULTS:
			o.faults = true;
			break;
		case OPT_NO_LIVE:
			o.live_reads = false;
			break;
		case 'm':
			if (cli__parse_u64(optarg, &v) || !v || (v & (v - 1)) ||
			    v > (1 << 20)) {
				mem_error("invalid --mmap-pages '%s' (a power of "
					  "two)",
					  optarg);
				goto usage;
			}
			o.mmap_pages = v;
			break;
		case OPT_STACK:
			if (cli__parse_u64(optarg, &v) || v < 8 || v > 65528 ||
			    (v & 7)) {
				mem_error("invalid --stack-size '%s' (8..65528, "
					  "a multiple of 8)",
					  optarg);
				goto usage;
			}
			o.stack_size = (uint32_t)v;
			break;
		case OPT_CGO_PROBE:
			o.cgo_probe = true;
			break;
		case 'q':
			mem_cli.quiet = true;
			break;
		case 'v':
			mem_cli.verbose++;
			break;
		case 'h':
			fputs(usage_mem, stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if (optind < argc) {
		if (o.pid) {
			mem_error("give either -p PID or a command, not both");
			goto usage;
		}
		o.argv = &argv[optind];
	} else if (!o.pid) {
		mem_error("nothing to measure: give -p PID or -- CMD [ARGS]");
		goto usage;
	}
	table = stdout;
	for (int i = 0; i < o.noutputs; i++) {
		const char *path = o.outputs[i];

		if (!strcmp(path, "-"))
			table = stderr;
		if (!is_json(path) && !o.faults) {
			mem_error("'%s' is a page-fault profile: add --faults "
				  "(or write *.json)",
				  path);
			goto usage;
		}
	}
	for (int i = 0; i < o.noutputs; i++) {
		if (cli__check_output(o.outputs[i])) {
			mem_error("cannot write output '%s': %s", o.outputs[i],
				  strerror(errno ? errno : EACCES));
			goto out;
		}
	}
	if (o.pid && kill(o.pid, 0) && errno == ESRCH) {
		read_error(o.pid, -ESRCH);
		goto out;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	s = calloc(1, sizeof(*s));
	h = o.faults ? calloc(1, sizeof(*h)) : NULL;
	if (!s || (o.faults && !h)) {
		mem_error("out of memory");
		goto out;
	}
	s->interval = o.interval;
	atomic_init(&s->done, false);

	if (!o.faults) {
		target = o.pid;
		if (o.argv) {
			target = spawn(o.argv, &exec_err);
			if (target < 0) {
				if (exec_err == ENOENT)
					mem_error("command not found: '%s'",
						  o.argv[0]);
				else
					mem_error("cannot run '%s': %s",
						  o.argv[0], strerror(-target));
				goto out;
			}
		}
		access_init(&s->acc, target, o.live_reads, NULL);
		s->acc.warn = true;
		err = run_snapshots(s, &o, o.argv ? target : 0, &status);
		if (!s->nsnaps) {
			if (o.argv && (!err || err == -ESRCH))
				mem_error("'%s' exited before its memory could "
					  "be read",
					  o.argv[0]);
			else
				read_error(target, err);
			goto out;
		}
	} else {
		struct record_opts ro = {
			.pids = o.pid ? &o.pid : NULL,
			.npids = o.pid ? 1 : 0,
			.argv = o.argv,
			.event = "page-faults",
			.period = 1,
			.duration = o.duration,
			.stack_size = o.stack_size,
			.mmap_pages = o.mmap_pages,
			.sample_addr = true,
			.mmap_data = true,
			.cgo_probe = o.cgo_probe,
			.unwind = { .live_reads = o.live_reads },
			.sample_root = fault_root,
			.hook_ctx = h,
			.stop = &mem_stop,
		};
		ssize_t n;

		h->live_reads = o.live_reads;
		h->ev = &ev;
		rec = record__new(&ro);
		if (!rec) {
			mem_error("out of memory");
			goto out;
		}
		h->rec = rec;
		err = record__open(rec, &re);
		if (err) {
			cli__open_error(&re, "page-faults", o.argv ? o.argv[0] : "");
			goto out;
		}
		if (record__stats(rec)->user_only_fallback)
			pr_warn("kernel samples not permitted "
				"(perf_event_paranoid): recording user space "
				"only");
		target = o.argv ? record__child_pid(rec) : o.pid;
		access_init(&s->acc, target, o.live_reads, &ev);
		s->acc.warn = true;
		n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
		if (n > 0) {
			self_exe[n] = 0;
			s->self_exe = self_exe;
		}
		if (pthread_create(&thread, NULL, sampler_thread, s)) {
			mem_error("cannot start the sampler thread");
			goto out;
		}
		thread_started = true;
		record__loop(rec);
		atomic_store(&s->done, true);
		pthread_join(thread, NULL);
		thread_started = false;
		status = record__child_status(rec);
		if (!s->nsnaps) {
			if (o.argv)
				mem_error("'%s' exited before its memory could "
					  "be read",
					  o.argv[0]);
			else
				read_error(target, s->err);
			goto out;
		}
	}

	command = join_command(o.argv, o.pid);
	if (!command) {
		mem_error("out of memory");
		goto out;
	}
	if (rec) {
		prof = record__profile(rec, command);
		if (!prof) {
			mem_error("cannot build the profile: %s",
				  strerror(errno));
			goto out;
		}
	}
	ret = 0;
	for (int i = 0; i < o.noutputs; i++) {
		const char *path = o.outputs[i];

		if (is_json(path))
			err = write_json_file(path, s, command, h);
		else
			err = export__write_file(prof, &eo, path);
		if (err) {
			mem_error("cannot write '%s': %s", path,
				  strerror(-err));
			ret = EXIT_PARTIAL;
		} else if (!mem_cli.quiet && strcmp(path, "-")) {
			fprintf(stderr, "cgoprof: wrote %s\n", path);
		}
	}
	if (!mem_cli.quiet) {
		char what[128];

		if (s->acc.exe[0])
			snprintf(what, sizeof(what), "%.64s (pid %d)",
				 base_name(s->acc.exe), target);
		else
			snprintf(what, sizeof(what), "pid %d", target);
		print_table(table, s, what, h, rec ? record__stats(rec) : NULL);
		if (o.argv)
			report_status(status);
		if (s->bad_lines)
			pr_info("%" PRIu64 " malformed smaps lines skipped",
				s->bad_lines);
		if (h)
			pr_info("maps reloaded %" PRIu64 " times for faults",
				h->reloads);
		if (mem_cli.verbose >= 2)
			dump_class(s);
	}
out:
	if (thread_started) {
		atomic_store(&s->done, true);
		pthread_join(thread, NULL);
	}
	profile__free(prof);
	record__free(rec);
	if (h)
		hook_release(h);
	free(h);
	if (s)
		sampler_release(s);
	free(s);
	free(ev.v);
	free(command);
	return ret;
usage:
	fputs("Run 'cgoprof mem --help' for the options.\n", stderr);
	return EXIT_USAGE;
}
