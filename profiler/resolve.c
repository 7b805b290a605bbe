// SPDX-License-Identifier: MIT
/* From the stack table to a resolved profile: symbolize each unique
 * location once (not each sample), then lay out the arrays exporters read.
 * Everything is allocated in one arena that profile__free() releases. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/stacks.h"

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct resolved {
	struct profile p;	/* first: profile__free() casts back */
	struct arena_chunk *chunks;
};

static void *arena_alloc(struct resolved *r, size_t n)
{
	struct arena_chunk *c = r->chunks;
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (!c || c->size - c->used < n) {
		size_t size = n > 1 << 20 ? n : 1 << 20;

		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->next = r->chunks;
		c->used = 0;
		c->size = size;
		r->chunks = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

static char *arena_strdup(struct resolved *r, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = arena_alloc(r, n);

	if (d)
		memcpy(d, s, n);
	return d;
}

void profile__free(struct profile *p)
{
	struct resolved *r = (struct resolved *)p;
	struct arena_chunk *c, *next;

	if (!r)
		return;
	for (c = r->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(r);
}

static int resolve_loc(struct resolved *r, const struct stack_table *t,
		       const struct stack_loc *l, const struct kallsyms *k,
		       struct profile_location *out)
{
	struct sym_frame sf[32];
	struct profile_frame *fr;
	char buf[4200];
	int n = 0;

	out->address = l->pc;
	out->mapping = l->mapping;
	out->is_leaf = l->leaf;
	if (l->type == LOC_OBJ) {
		n = elf_obj__symbolize(l->obj, l->vaddr, l->leaf, sf, 32);
		if (n < 0)
			return n;
	}
	if (n > 0) {
		fr = arena_alloc(r, (size_t)n * sizeof(*fr));
		if (!fr)
			return -ENOMEM;
		for (int i = 0; i < n; i++) {
			fr[i].name = arena_strdup(r, sf[i].name);
			fr[i].file = sf[i].file ? arena_strdup(r, sf[i].file)
						: NULL;
			fr[i].line = sf[i].line;
			fr[i].kind = sf[i].kind;
			fr[i].inlined = sf[i].inlined;
			free(sf[i].name);
			free(sf[i].file);
			if (!fr[i].name)
				return -ENOMEM;
		}
		out->frames = fr;
		out->nframes = (uint32_t)n;
		return 0;
	}
	fr = arena_alloc(r, sizeof(*fr));
	if (!fr)
		return -ENOMEM;
	memset(fr, 0, sizeof(*fr));
	fr->kind = FRAME_KIND_UNKNOWN;
	switch (l->type) {
	case LOC_KERNEL: {
		const char *name = kallsyms__lookup(k, l->pc);

		fr->kind = FRAME_KIND_KERNEL;
		snprintf(buf, sizeof(buf), "%s", name ? name : "[kernel.kallsyms]");
		break;
	}
	case LOC_PSEUDO:
		fr->kind = l->pseudo_kind;
		if (l->pseudo_kind == FRAME_KIND_TRUNCATED)
			snprintf(buf, sizeof(buf), "[truncated: %s]", l->pseudo);
		else
			snprintf(buf, sizeof(buf), "%s", l->pseudo);
		break;
	default:
		if (l->mapping != UINT32_MAX) {
			const struct stack_mapping *m = &t->mappings[l->mapping];
			const char *base = strrchr(m->path, '/');

			snprintf(buf, sizeof(buf), "[%s+0x%" PRIx64 "]",
				 base ? base + 1 : m->path,
				 l->pc - m->start + m->pgoff);
		} else {
			snprintf(buf, sizeof(buf), "[unknown]");
		}
		break;
	}
	fr->name = arena_strdup(r, buf);
	if (!fr->name)
		return -ENOMEM;
	out->frames = fr;
	out->nframes = 1;
	return 0;
}

struct profile *stack_table__resolve(const struct stack_table *t,
				     struct procmap *pm,
				     const struct kallsyms *k,
				     const struct profile_meta *meta)
{
	struct resolved *r = calloc(1, sizeof(*r));
	struct profile_location *locs;
	struct profile_mapping *maps;
	struct profile_stack *stacks;
	struct proc *first = NULL;
	int err = -ENOMEM;

	if (!r)
		return NULL;
	r->p.command = arena_strdup(r, meta->command ? meta->command : "");
	r->p.event = arena_strdup(r, meta->event ? meta->event : "");
	r->p.period_unit = meta->time_event ? "nanoseconds" : "count";
	r->p.freq = meta->freq;
	r->p.period = meta->period;
	r->p.time_nanos = meta->time_nanos;
	r->p.duration_nanos = meta->duration_nanos;
	r->p.lost_samples = meta->lost_samples;
	r->p.total_samples = t->samples;
	memcpy(r->p.status_samples, t->status_samples,
	       sizeof(r->p.status_samples));
	if (!r->p.command || !r->p.event)
		goto fail;

	maps = arena_alloc(r, (t->nmappings + 1) * sizeof(*maps));
	locs = arena_alloc(r, (t->nlocs + 1) * sizeof(*locs));
	stacks = arena_alloc(r, (t->nstacks + 1) * sizeof(*stacks));
	if (!maps || !locs || !stacks)
		goto fail;
	for (size_t i = 0; i < t->nlocs; i++) {
		err = resolve_loc(r, t, &t->locs[i], k, &locs[i]);
		if (err)
			goto fail;
	}
	if (pm) {
		for (size_t i = 0; i < t->nstacks && !first; i++)
			first = procmap__proc(pm, t->stacks[i].pid, false);
	}
	for (size_t i = 0; i < t->nmappings; i++) {
		const struct stack_mapping *sm = &t->mappings[i];

		maps[i] = (struct profile_mapping){
			.start = sm->start,
			.limit = sm->end,
			.offset = sm->pgoff,
			.path = arena_strdup(r, sm->path),
			.build_id = arena_strdup(r, sm->obj ? sm->obj->build_id : ""),
			/* cgoprof read the binary and named every location in
			 * it (a name it lacks is "[module+0xoffset]"): pprof
			 * must not re-symbolize it, which for a stripped Go
			 * binary gives wrong names */
			.symbolized = sm->obj != NULL || !sm->map_id,
			.is_main = first && first->exe && sm->pid == first->pid &&
				   !strcmp(first->exe, sm->path),
		};
		if (!maps[i].path || !maps[i].build_id)
			goto fail;
	}
	for (size_t i = 0; i < t->nstacks; i++) {
		const struct stack_entry *e = &t->stacks[i];
		struct proc *p = pm ? procmap__proc(pm, e->pid, false) : NULL;
		struct thread *th = pm ? procmap__thread(pm, e->tid, e->pid, false)
				       : NULL;
		uint32_t *ids = arena_alloc(r, (e->nlocs + 1) * sizeof(*ids));
		char pidbuf[16];

		snprintf(pidbuf, sizeof(pidbuf), "%u", e->pid);
		if (!ids)
			goto fail;
		memcpy(ids, &t->loc_ids[e->locs_off], e->nlocs * sizeof(*ids));
		stacks[i] = (struct profile_stack){
			.pid = e->pid,
			.tid = e->tid,
			.comm = arena_strdup(r, p ? p->comm : pidbuf),
			.thread_comm = arena_strdup(r, th && th->comm[0] ? th->comm
						     : p ? p->comm : pidbuf),
			.nlocs = e->nlocs,
			.locs = ids,
			.count = e->count,
			.weight = e->weight,
			.status = e->status,
		};
		if (!stacks[i].comm || !stacks[i].thread_comm)
			goto fail;
	}
	r->p.mappings = maps;
	r->p.nmappings = t->nmappings;
	r->p.locations = locs;
	r->p.nlocations = t->nlocs;
	r->p.stacks = stacks;
	r->p.nstacks = t->nstacks;
	return &r->p;
fail:
	profile__free(&r->p);
	errno = -err;
	return NULL;
}
