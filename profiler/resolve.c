// SPDX-License-Identifier: MIT
/* From the stack table to a resolved profile: symbolize each unique
 * location once (not each sample), then lay out the arrays exporters read.
 * Everything is allocated in the profile's arena (profile__alloc), which
 * profile__free() releases. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/stacks.h"

static int resolve_loc(struct profile *prof, const struct stack_table *t,
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
		fr = profile__alloc(prof, (size_t)n * sizeof(*fr));
		if (!fr)
			return -ENOMEM;
		for (int i = 0; i < n; i++) {
			fr[i].name = profile__strdup(prof, sf[i].name);
			fr[i].file = sf[i].file
					     ? profile__strdup(prof, sf[i].file)
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
	fr = profile__alloc(prof, sizeof(*fr));
	if (!fr)
		return -ENOMEM;
	memset(fr, 0, sizeof(*fr));
	fr->kind = FRAME_KIND_UNKNOWN;
	switch (l->type) {
	case LOC_KERNEL: {
		/* a caller at its return address - 1, inside the call (a
		 * call that ends a function returns to the next one); but
		 * where that is a function's padding (__pfx_, no call is
		 * there), the pc is one an exception or interrupt stopped at,
		 * not a return address: named and written as itself */
		const char *name = kallsyms__lookup(k, l->leaf ? l->pc
							      : l->pc - 1);

		if (!l->leaf && name && !strncmp(name, "__pfx_", 6)) {
			name = kallsyms__lookup(k, l->pc);
			out->is_leaf = true;
		}

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
			/* code of a file read, with no symbol there: C (or
			 * libc, ld.so, vdso by the file), not unknown */
			if (l->obj || m->obj)
				fr->kind = frame_kind__classify(
					"", (l->obj ? l->obj : m->obj)->cls,
					false);
		} else {
			snprintf(buf, sizeof(buf), "[unknown]");
		}
		break;
	}
	fr->name = profile__strdup(prof, buf);
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
	struct profile *prof = profile__new();
	struct profile_location *locs;
	struct profile_mapping *maps;
	struct profile_stack *stacks;
	struct proc *first = NULL;
	int err = -ENOMEM;

	if (!prof)
		return NULL;
	prof->command = profile__strdup(prof,
					meta->command ? meta->command : "");
	prof->event = profile__strdup(prof, meta->event ? meta->event : "");
	prof->period_unit = meta->time_event ? "nanoseconds" : "count";
	prof->freq = meta->freq;
	prof->period = meta->period;
	prof->time_nanos = meta->time_nanos;
	prof->duration_nanos = meta->duration_nanos;
	prof->lost_samples = meta->lost_samples;
	if (meta->notes && *meta->notes) {
		prof->notes = profile__strdup(prof, meta->notes);
		if (!prof->notes)
			goto fail;
	}
	prof->total_samples = t->samples;
	memcpy(prof->status_samples, t->status_samples,
	       sizeof(prof->status_samples));
	if (!prof->command || !prof->event)
		goto fail;

	maps = profile__alloc(prof, (t->nmappings + 1) * sizeof(*maps));
	locs = profile__alloc(prof, (t->nlocs + 1) * sizeof(*locs));
	stacks = profile__alloc(prof, (t->nstacks + 1) * sizeof(*stacks));
	if (!maps || !locs || !stacks)
		goto fail;
	for (size_t i = 0; i < t->nlocs; i++) {
		err = resolve_loc(prof, t, &t->locs[i], k, &locs[i]);
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
			.path = profile__strdup(prof, sm->path),
			.build_id = profile__strdup(prof, sm->obj
							      ? sm->obj->build_id
							      : ""),
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
		uint32_t *ids = profile__alloc(prof,
					       (e->nlocs + 1) * sizeof(*ids));
		const char *comm, *tcomm;
		char pidbuf[16];

		snprintf(pidbuf, sizeof(pidbuf), "%u", e->pid);
		comm = p ? p->comm : pidbuf;
		tcomm = th && th->comm[0] ? th->comm : comm;
		if (!ids)
			goto fail;
		memcpy(ids, &t->loc_ids[e->locs_off], e->nlocs * sizeof(*ids));
		stacks[i] = (struct profile_stack){
			.pid = e->pid,
			.tid = e->tid,
			.comm = profile__strdup(prof, comm),
			.thread_comm = profile__strdup(prof, tcomm),
			.nlocs = e->nlocs,
			.locs = ids,
			.count = e->count,
			.weight = e->weight,
			.status = e->status,
		};
		if (!stacks[i].comm || !stacks[i].thread_comm)
			goto fail;
	}
	prof->mappings = maps;
	prof->nmappings = t->nmappings;
	prof->locations = locs;
	prof->nlocations = t->nlocs;
	prof->stacks = stacks;
	prof->nstacks = t->nstacks;
	return prof;
fail:
	profile__free(prof);
	errno = -err;
	return NULL;
}
