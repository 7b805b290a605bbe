// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/arena.h"
#include "cgoprof/stacks.h"

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	/* every table here is indexed by 32 bits (ids, locs_off) */
	if (need > *cap && need > UINT32_MAX)
		return -ENOMEM;
	return array__grow(p, cap, need, elem, 64);
}

int stack_table__init(struct stack_table *t)
{
	memset(t, 0, sizeof(*t));
	if (htab__init(&t->loc_index, 512) ||
	    htab__init(&t->stack_index, 512)) {
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
	htab__release(&t->loc_index);
	free(t->stacks);
	htab__release(&t->stack_index);
	free(t->loc_ids);
	memset(t, 0, sizeof(*t));
}

/* Runs for every frame of every sample: two multiplies' worth of mixing.
 * obj and pseudo are never both set (pseudo is a name or, for code in no
 * object, the mapping's id), so xor loses nothing. */
static uint32_t loc_hash(const struct stack_loc *l)
{
	uint64_t id = (uintptr_t)l->obj ^ (uintptr_t)l->pseudo;

	id ^= (uint64_t)l->type << 1 | l->leaf;
	return (uint32_t)htab__mix64(l->vaddr ^ htab__mix64(id));
}

static bool loc_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct stack_loc *a = &((const struct stack_loc *)ctx)[idx];
	const struct stack_loc *b = key;

	return a->vaddr == b->vaddr && a->obj == b->obj &&
	       a->pseudo == b->pseudo && a->type == b->type &&
	       a->leaf == b->leaf;
}

/* What identifies a stack: the thread, how it ended and its locations. */
struct stack_key {
	uint32_t pid, tid;
	enum stack_status status;
	uint32_t n;
	const uint32_t *ids;
};

static bool stack_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct stack_table *t = ctx;
	const struct stack_entry *e = &t->stacks[idx];
	const struct stack_key *k = key;

	return e->pid == k->pid && e->tid == k->tid &&
	       e->status == k->status && e->nlocs == k->n &&
	       !memcmp(&t->loc_ids[e->locs_off], k->ids,
		       k->n * sizeof(*k->ids));
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
	uint32_t h = loc_hash(l);
	int err;

	*id = htab__find(&t->loc_index, h, loc_eq, t->locs, l);
	if (*id != HTAB_NONE)
		return 0;
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
	err = htab__insert(&t->loc_index, h, (uint32_t)t->nlocs);
	if (err)
		return err;
	*id = (uint32_t)t->nlocs++;
	return 0;
}

int stack_table__add(struct stack_table *t, uint32_t pid, uint32_t tid,
		     const struct unwind_result *r, uint64_t weight,
		     const char *root)
{
	uint32_t ids[CGOPROF_MAX_FRAMES + 2];
	uint32_t n = 0, h, idx;
	struct stack_key key;
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

	key = (struct stack_key){ pid, tid, r->status, n, ids };
	h = (uint32_t)htab__hash_bytes(ids, n * sizeof(*ids),
				       htab__mix64((uint64_t)pid << 32 | tid) ^
					       r->status);
	idx = htab__find(&t->stack_index, h, stack_eq, t, &key);
	if (idx != HTAB_NONE) {
		e = &t->stacks[idx];
		goto found;
	}
	if (grow((void **)&t->stacks, &t->cap_stacks, t->nstacks + 1,
		 sizeof(*t->stacks)) ||
	    grow((void **)&t->loc_ids, &t->cap_loc_ids, t->nloc_ids + n,
		 sizeof(*t->loc_ids)))
		return -ENOMEM;
	if (htab__insert(&t->stack_index, h, (uint32_t)t->nstacks))
		return -ENOMEM;
	e = &t->stacks[t->nstacks++];
	*e = (struct stack_entry){ .pid = pid, .tid = tid, .nlocs = n,
				   .locs_off = (uint32_t)t->nloc_ids,
				   .status = r->status };
	memcpy(&t->loc_ids[t->nloc_ids], ids, n * sizeof(*ids));
	t->nloc_ids += n;
found:
	e->count++;
	e->weight += weight;
	t->samples++;
	t->status_samples[r->status]++;
	return 0;
}

size_t stack_table__kernel_pcs(const struct stack_table *t, uint64_t **out)
{
	size_t n = 0;

	*out = malloc((t->nlocs ? 2 * t->nlocs : 1) * sizeof(**out));
	if (!*out)
		return 0;
	for (size_t i = 0; i < t->nlocs; i++) {
		if (t->locs[i].type != LOC_KERNEL)
			continue;
		(*out)[n++] = t->locs[i].pc;
		/* a caller is named at its return address - 1 */
		if (!t->locs[i].leaf)
			(*out)[n++] = t->locs[i].pc - 1;
	}
	return n;
}
