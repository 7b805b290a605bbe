// SPDX-License-Identifier: MIT
/* The checks an exporter runs on a profile before it trusts its indexes. */
#include <errno.h>

#include "internal.h"

int export__check_profile(const struct profile *p)
{
	size_t i, j;

	if (!p)
		return -EINVAL;
	if ((p->nmappings && !p->mappings) ||
	    (p->nlocations && !p->locations) || (p->nstacks && !p->stacks))
		return -EINVAL;
	/* ids are index + 1 and UINT32_MAX means "no mapping" */
	if (p->nmappings >= UINT32_MAX || p->nlocations >= UINT32_MAX)
		return -EINVAL;
	for (i = 0; i < p->nlocations; i++) {
		const struct profile_location *loc = &p->locations[i];

		if (loc->mapping != UINT32_MAX && loc->mapping >= p->nmappings)
			return -EINVAL;
		if (loc->nframes == 0 || !loc->frames)
			return -EINVAL;
		for (j = 0; j < loc->nframes; j++) {
			if (!loc->frames[j].name)
				return -EINVAL;
			if ((unsigned int)loc->frames[j].kind >=
			    FRAME_KIND__COUNT)
				return -EINVAL;
		}
	}
	for (i = 0; i < p->nstacks; i++) {
		const struct profile_stack *s = &p->stacks[i];

		if (s->nlocs && !s->locs)
			return -EINVAL;
		if ((unsigned int)s->status >= STACK_STATUS__COUNT)
			return -EINVAL;
		for (j = 0; j < s->nlocs; j++)
			if (s->locs[j] >= p->nlocations)
				return -EINVAL;
	}
	return 0;
}
