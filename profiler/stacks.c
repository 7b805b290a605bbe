// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/stacks.h"

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t cap2;
	void *q;

	if (need <= *cap)
		return 0;
	cap2 = *cap ? *cap : 64;
	while (cap2 < need)
		cap2 *= 2;
	q = realloc(*p, cap2 * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = cap2;
	return 0;
}

int stack_table__init(struct stack_table *t)
{
	memset(t, 0, sizeof(*t));
	t->loc_index_cap = 1024;
	t->loc_index = calloc(t->loc_index_cap, sizeof(*t->loc_index));
	t->stack_index_cap = 1024;
	t->stack_index = calloc(t->stack_index_cap, sizeof(*t->stack_index));
	if (!t->loc_index || !t->stack_index) {
		stack_table__release(t);
		return -ENOMEM;
	}
	return 0;
}

void stack_table__release(struct stack_table *t)
{
	for (size_t i = 0; i < t->nmappings; i++)
		free(t->mappings[i].path);
	free(t->mappings);
	free(t->locs);
	free(t->loc_index);
	free(t->stacks);
	free(t->stack_index);
	free(t->loc_ids);
	memset(t, 0, sizeof(*t));
}

static uint64_t loc_hash(const struct stack_loc *l)
{
	uint64_t h = mix(l->type, l->leaf);

	h = mix(h, (uintptr_t)l->obj);
	h = mix(h, l->vaddr);
	return mix(h, (uintptr_t)l->pseudo);
}

static bool loc_eq(const struct stack_loc *a, const struct stack_loc *b)
{
	return a->type == b->type && a->leaf == b->leaf && a->obj == b->obj &&
	       a->vaddr == b->vaddr && a->pseudo == b->pseudo;
}

static int rehash(uint32_t **index, size_t *cap, size_t n,
		  uint64_t (*hash_of)(const void *, size_t), const void *base)
{
	size_t cap2 = *cap * 2;
	uint32_t *idx = calloc(cap2, sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t j = hash_of(base, i) & (cap2 - 1);

		while (idx[j])
			j = (j + 1) & (cap2 - 1);
		idx[j] = (uint32_t)i + 1;
	}
	free(*index);
	*index = idx;
	*cap = cap2;
	return 0;
}

static uint64_t loc_hash_at(const void *base, size_t i)
{
	return loc_hash(&((const struct stack_loc *)base)[i]);
}

static uint64_t stack_hash_at(const void *base, size_t i)
{
	return ((const struct stack_entry *)base)[i].hash;
}

static int mapping_of(struct stack_table *t, uint32_t pid,
		      const struct map *m, uint32_t *out)
{
	struct stack_mapping *sm;

	/* few mappings per process: the newest match is the likely one */
	for (size_t i = t->nmappings; i-- > 0;) {
		if (t->mappings[i].map_id == (m ? m->id : 0) &&
		    (!m || t->mappings[i].pid == pid)) {
			*out = (uint32_t)i;
			return 0;
		}
	}
	if (grow((void **)&t->mappings, &t->cap_mappings, t->nmappings + 1,
		 sizeof(*t->mappings)))
		return -ENOMEM;
	sm = &t->mappings[t->nmappings];
	memset(sm, 0, sizeof(*sm));
	sm->pid = pid;
	if (m) {
		sm->map_id = m->id;
		sm->start = m->start;
		sm->end = m->end;
		sm->pgoff = m->pgoff;
		sm->obj = m->obj;
		sm->path = strdup(m->path[0] ? m->path : "[anon]");
	} else {
		sm->start = 0xffffffff80000000ULL;
		sm->end = UINT64_MAX;
		sm->path = strdup("[kernel.kallsyms]");
	}
	if (!sm->path)
		return -ENOMEM;
	*out = (uint32_t)t->nmappings++;
	return 0;
}

static int loc_intern(struct stack_table *t, struct stack_loc *l,
		      uint32_t pid, const struct map *map, uint32_t *id)
{
	uint64_t h = loc_hash(l);
	size_t mask = t->loc_index_cap - 1, j;
	int err;

	for (j = h & mask; t->loc_index[j]; j = (j + 1) & mask) {
		if (loc_eq(&t->locs[t->loc_index[j] - 1], l)) {
			*id = t->loc_index[j] - 1;
			return 0;
		}
	}
	if (grow((void **)&t->locs, &t->cap_locs, t->nlocs + 1,
		 sizeof(*t->locs)))
		return -ENOMEM;
	l->mapping = UINT32_MAX;
	if (l->type == LOC_OBJ || l->type == LOC_KERNEL ||
	    (l->type == LOC_UNKNOWN && map)) {
		err = mapping_of(t, pid, l->type == LOC_KERNEL ? NULL : map,
				 &l->mapping);
		if (err)
			return err;
	}
	t->locs[t->nlocs] = *l;
	*id = (uint32_t)t->nlocs++;
	t->loc_index[j] = *id + 1;
	if (t->nlocs * 2 > t->loc_index_cap)
		return rehash(&t->loc_index, &t->loc_index_cap, t->nlocs,
			      loc_hash_at, t->locs);
	return 0;
}

int stack_table__add(struct stack_table *t, uint32_t pid, uint32_t tid,
		     const struct unwind_result *r, uint64_t weight,
		     const char *root)
{
	uint32_t ids[CGOPROF_MAX_FRAMES + 2];
	uint32_t n = 0;
	uint64_t h;
	size_t mask, j;
	struct stack_entry *e;
	int err;

	for (uint32_t i = 0; i < r->n; i++) {
		const struct unwind_frame *f = &r->frames[i];
		struct stack_loc l = { .pc = f->pc,
				       .leaf = f->flags & UNWIND_FRAME_LEAF };

		if (f->flags & UNWIND_FRAME_KERNEL) {
			l.type = LOC_KERNEL;
			l.vaddr = f->pc;
		} else if (f->map && f->map->obj) {
			l.type = LOC_OBJ;
			l.obj = f->map->obj;
			l.vaddr = f->pc - f->map->bias;
		} else {
			l.type = LOC_UNKNOWN;
			l.vaddr = f->map ? f->pc - f->map->start + f->map->pgoff
					 : f->pc;
			/* unknown code is told apart by mapping */
			l.pseudo = f->map ? (const char *)(uintptr_t)f->map->id
					  : NULL;
		}
		err = loc_intern(t, &l, pid, f->map, &ids[n++]);
		if (err)
			return err;
	}
	if (r->status == STACK_TRUNCATED && r->reason) {
		struct stack_loc l = { .type = LOC_PSEUDO, .pseudo = r->reason,
				       .pseudo_kind = FRAME_KIND_TRUNCATED };

		err = loc_intern(t, &l, pid, NULL, &ids[n++]);
		if (err)
			return err;
	}
	if (root) {
		struct stack_loc l = { .type = LOC_PSEUDO, .pseudo = root,
				       .pseudo_kind = FRAME_KIND_PHASE };

		err = loc_intern(t, &l, pid, NULL, &ids[n++]);
		if (err)
			return err;
	}

	h = mix(mix(pid, tid), r->status);
	for (uint32_t i = 0; i < n; i++)
		h = mix(h, ids[i]);
	h = (uint32_t)(h ^ (h >> 32));
	mask = t->stack_index_cap - 1;
	for (j = h & mask; t->stack_index[j]; j = (j + 1) & mask) {
		e = &t->stacks[t->stack_index[j] - 1];
		if (e->hash == (uint32_t)h && e->pid == pid && e->tid == tid &&
		    e->status == r->status && e->nlocs == n &&
		    !memcmp(&t->loc_ids[e->locs_off], ids, n * sizeof(*ids)))
			goto found;
	}
	if (grow((void **)&t->stacks, &t->cap_stacks, t->nstacks + 1,
		 sizeof(*t->stacks)) ||
	    grow((void **)&t->loc_ids, &t->cap_loc_ids, t->nloc_ids + n,
		 sizeof(*t->loc_ids)))
		return -ENOMEM;
	e = &t->stacks[t->nstacks];
	*e = (struct stack_entry){ .pid = pid, .tid = tid, .nlocs = n,
				   .locs_off = (uint32_t)t->nloc_ids,
				   .status = r->status, .hash = (uint32_t)h };
	memcpy(&t->loc_ids[t->nloc_ids], ids, n * sizeof(*ids));
	t->nloc_ids += n;
	t->stack_index[j] = (uint32_t)++t->nstacks;
	if (t->nstacks * 2 > t->stack_index_cap &&
	    rehash(&t->stack_index, &t->stack_index_cap, t->nstacks,
		   stack_hash_at, t->stacks))
		return -ENOMEM;
found:
	e->count++;
	e->weight += weight;
	t->samples++;
	t->status_samples[r->status]++;
	return 0;
}
