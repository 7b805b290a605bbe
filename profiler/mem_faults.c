// SPDX-License-Identifier: MIT
/* cgoprof mem --faults: the sample_root hook of a page-fault recording.
 * Each fault is rooted at the category of the page it brought in, from the
 * maps of its process classified as a snapshot is; the maps are read again
 * when a fault taken after the last read lands in a mapping newer than
 * that read knows of, or (a little later) in memory no rule recognised
 * yet. Runs in the recording's thread; only the evidence is shared with
 * the sampler thread. */
#include <stdlib.h>
#include <string.h>

#include "cgoprof/clock.h"
#include "cgoprof/elfobj.h"
#include "cgoprof/procmap.h"
#include "cgoprof/record.h"
#include "cgoprof/unwind.h"
#include "mem_proc.h"

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
 * reloaded when a fault that happened after the last load lands in a
 * mapping newer than that load knows of. */
struct fault_view {
	bool used, loaded;
	struct mem_access acc;
	struct mem_maps maps;
	struct mem_class cls;
	uint32_t newest_id;	/* procmap ids at or below: in the maps */
	/* when the last load began (CLOCK_MONOTONIC, the samples' clock):
	 * memory a fault before it touched was mapped when it read */
	uint64_t loaded_ns;
	struct recheck rechecks[CGOPROF_MEM_RECHECK_SLOTS];
	unsigned next_recheck;
};

struct mem_faults {
	struct record *rec;
	struct fault_view views[FAULT_VIEWS];
	unsigned next_victim;
	bool live_reads;
	struct mem_evidence *ev;	/* borrowed */
	/* the recording's, whose thread the hook runs in: the files the
	 * unwinder opened already are not opened again */
	struct elf_cache *cache;
	struct mem_fault_counts counts;
};

static struct fault_view *hook_view(struct mem_faults *h, pid_t pid)
{
	struct fault_view *v;

	for (int i = 0; i < FAULT_VIEWS; i++)
		if (h->views[i].used && h->views[i].acc.pid == pid)
			return &h->views[i];
	v = &h->views[h->next_victim++ % FAULT_VIEWS];
	if (v->used) {
		mem_access__release(&v->acc);
		mem_maps__release(&v->maps);
		mem_class__release(&v->cls);
	}
	memset(v, 0, sizeof(*v));
	v->used = true;
	mem_access__init(&v->acc, pid, h->live_reads, h->cache, h->ev);
	return v;
}

static void hook_reload(struct mem_faults *h, struct fault_view *v,
			const struct proc *p)
{
	const struct mem_probe *probe;
	uint64_t begun = clock__ns(CLOCK_MONOTONIC);

	h->counts.reloads++;
	if (mem_maps__load(v->acc.pid, false, &v->maps))
		return;
	probe = mem_access__probe(&v->acc, &v->maps, true);
	if (mem_class__build(&v->cls, &v->maps, probe)) {
		v->loaded = false;
		return;
	}
	v->loaded = true;
	v->loaded_ns = begun;
	v->newest_id = 0;
	for (size_t i = 0; p && i < p->nmaps; i++)
		if (p->maps[i].id > v->newest_id)
			v->newest_id = p->maps[i].id;
}

/* Whether to load the maps again for a fault in unrecognised memory. */
static bool view_recheck(struct fault_view *v, uint64_t lo)
{
	uint64_t now = clock__ns(CLOCK_MONOTONIC);
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

const char *mem_faults__root(void *ctx, const struct perf_sample *s,
			     const struct unwind_result *r)
{
	struct mem_faults *h = ctx;
	struct procmap *pm = record__procmap(h->rec);
	struct proc *p = procmap__proc(pm, s->pid, false);
	const struct map *m = p ? procmap__find(pm, p, s->addr) : NULL;
	struct fault_view *v = hook_view(h, (pid_t)s->pid);
	const struct mem_segment *seg = NULL;
	enum mem_cat cat;

	/* a burst of new mappings (a growing heap) costs one load, not one
	 * each: the samples are read behind, and the maps the load read
	 * hold every mapping the faults before it were in */
	if (v->loaded &&
	    (!m || m->id <= v->newest_id || s->time < v->loaded_ns))
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
		h->counts.unmapped++;
		return "unmapped";
	}
	cat = (enum mem_cat)seg->cat;
	if (seg->unrecognised) {
		bool go = touched_by_go(r);

		mem_evidence__add(h->ev, (pid_t)s->pid, seg->start, go);
		cat = go ? MEM_GO_RUNTIME : MEM_OTHER_ANON;
	}
	h->counts.by_cat[cat]++;
	return mem_cat__name(cat);
}

struct mem_faults *mem_faults__new(bool live_reads, struct mem_evidence *ev)
{
	struct mem_faults *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->live_reads = live_reads;
	h->ev = ev;
	return h;
}

void mem_faults__attach(struct mem_faults *h, struct record *rec)
{
	h->rec = rec;
	h->cache = procmap__cache(record__procmap(rec));
}

const struct mem_fault_counts *mem_faults__counts(const struct mem_faults *h)
{
	return &h->counts;
}

void mem_faults__free(struct mem_faults *h)
{
	if (!h)
		return;
	for (int i = 0; i < FAULT_VIEWS; i++) {
		if (!h->views[i].used)
			continue;
		mem_access__release(&h->views[i].acc);
		mem_maps__release(&h->views[i].maps);
		mem_class__release(&h->views[i].cls);
	}
	free(h);
}
