// SPDX-License-Identifier: MIT
/* cgoprof mem's names, its smaps parser and the sums of a snapshot. The
 * lines themselves are parsed by the one maps line parser (base/procfs.c);
 * what is mem's is the rest: counters belong to the mapping above them,
 * mappings must come in order, and nothing in the text is an error. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/arena.h"
#include "cgoprof/mem.h"
#include "cgoprof/procfs.h"

#define MEM_PAGE 4096ULL

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

static int maps_push(struct mem_maps *m, const struct procfs_map *pm)
{
	struct mem_vma *dst;

	if (array__grow((void **)&m->vmas, &m->cap, m->n + 1, sizeof(*m->vmas),
			64))
		return -ENOMEM;
	dst = &m->vmas[m->n];
	*dst = (struct mem_vma){
		.start = pm->start,
		.end = pm->end,
		.pgoff = pm->pgoff,
		.ino = pm->ino,
		.major = pm->major,
		.minor = pm->minor,
		.prot = pm->prot,
		.shared = pm->shared,
	};
	dst->name = strndup(pm->name, pm->name_len);
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
		struct procfs_map pm;
		struct procfs_field f;
		size_t n;

		if (!nl) {
			/* cut off: the rest of the line is missing */
			m->bad_lines++;
			break;
		}
		n = (size_t)(nl - p);
		if (!n) {
			p = nl + 1;
			continue;
		}
		if (!procfs__parse_maps_line(p, n, &pm)) {
			cur = NULL;
			if (m->n && pm.start < m->vmas[m->n - 1].end) {
				m->bad_lines++;
			} else {
				int err = maps_push(m, &pm);

				if (err)
					return err;
				cur = &m->vmas[m->n - 1];
			}
		} else if (!procfs__parse_smaps_field(p, n, &f)) {
			uint64_t *dst = NULL;

			if (f.key_len == 3 && !memcmp(f.key, "Rss", 3))
				dst = cur ? &cur->rss : NULL;
			else if (f.key_len == 3 && !memcmp(f.key, "Pss", 3))
				dst = cur ? &cur->pss : NULL;
			else if (f.key_len == 4 && !memcmp(f.key, "Swap", 4))
				dst = cur ? &cur->swap : NULL;
			if (dst && f.has_value) {
				uint64_t size = cur->end - cur->start;
				uint64_t kb = f.value;

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
	/* qsort(NULL, 0) is undefined: no library, no sort */
	if (!err && t->nlibs)
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
