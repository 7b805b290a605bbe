// SPDX-License-Identifier: MIT
/* cgoprof mem's classifier: every mapping of a snapshot, or each part of
 * it, gets a category and the basis it rests on. Rules run from certain to
 * guessed (names, then layout and the allocators' own structures read
 * live, then guesses), and a rule only takes what no earlier rule claimed.
 * Everything it knows of the process comes through struct mem_probe: the
 * unit tests give it a fake process. The rules are described in
 * docs/mem.md. */
#include <errno.h>
#include <fnmatch.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cgoprof/arena.h"
#include "cgoprof/mem.h"

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
	return array__grow((void **)&c->segs, &c->cap, c->n + 1,
			   sizeof(*c->segs), 64);
}

/* Index of the first of the @n items at @items (@size bytes each, sorted
 * by the uint64_t end at @end_off in each) that ends after @addr; @n when
 * none does. */
static size_t first_ending_after(const void *items, size_t n, size_t size,
				 size_t end_off, uint64_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t end;

		memcpy(&end, (const char *)items + mid * size + end_off,
		       sizeof(end));
		if (end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Index of the first segment ending after @addr (c->n when none). */
static size_t class_lower(const struct mem_class *c, uint64_t addr)
{
	return first_ending_after(c->segs, c->n, sizeof(*c->segs),
				  offsetof(struct mem_segment, end), addr);
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
	return first_ending_after(m->vmas, m->n, sizeof(*m->vmas),
				  offsetof(struct mem_vma, end), addr);
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
