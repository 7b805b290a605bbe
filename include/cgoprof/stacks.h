/* Aggregation: unique locations and unique stacks of one recording, with
 * counts and weights. Memory grows with unique stacks, not with samples.
 * Borrows ELF objects (elf_cache) and maps' identity; owns its tables. */
#ifndef CGOPROF_STACKS_H
#define CGOPROF_STACKS_H

#include <stdint.h>

#include "cgoprof/htab.h"
#include "cgoprof/procmap.h"
#include "cgoprof/profile.h"
#include "cgoprof/unwind.h"

enum loc_type {
	LOC_OBJ = 0,	/* code in an ELF object: obj + link-time vaddr */
	LOC_KERNEL,	/* kernel address */
	LOC_UNKNOWN,	/* a pc in no readable object */
	LOC_PSEUDO,	/* "[truncated: reason]" or a phase name */
};

struct stack_loc {
	enum loc_type type;
	bool leaf;
	struct elf_obj *obj;	/* LOC_OBJ */
	uint64_t vaddr;		/* LOC_OBJ: link-time; else the address */
	uint64_t pc;		/* absolute address, first seen */
	uint32_t mapping;	/* index in mappings, UINT32_MAX: none */
	const char *pseudo;	/* LOC_PSEUDO: static or interned name */
	enum frame_kind pseudo_kind;
};

struct stack_mapping {
	uint32_t map_id;	/* struct map.id; 0 for the kernel */
	uint64_t start, end, pgoff;
	char *path;
	struct elf_obj *obj;
	uint32_t pid;
};

struct stack_entry {
	uint32_t pid, tid;
	uint32_t nlocs;
	uint32_t locs_off;	/* into stack_table.loc_ids */
	uint64_t count, weight;
	enum stack_status status;
};

struct stack_table {
	struct stack_loc *locs;
	size_t nlocs, cap_locs;
	struct htab loc_index;		/* a location -> its index in locs */

	struct stack_mapping *mappings;
	size_t nmappings, cap_mappings;

	struct stack_entry *stacks;
	size_t nstacks, cap_stacks;
	struct htab stack_index;	/* (pid, tid, status, loc ids) ->
					 * its index in stacks */
	uint32_t *loc_ids;
	size_t nloc_ids, cap_loc_ids;

	uint64_t samples;
	uint64_t status_samples[STACK_STATUS__COUNT];
};

int stack_table__init(struct stack_table *t);
void stack_table__release(struct stack_table *t);

/* Adds one sample's unwound stack (leaf first) with @weight, optionally
 * rooted under a pseudo-frame @root (cold-start phase; NULL for none).
 * 0 or -ENOMEM. */
int stack_table__add(struct stack_table *t, uint32_t pid, uint32_t tid,
		     const struct unwind_result *r, uint64_t weight,
		     const char *root);

#endif

#ifndef CGOPROF_STACKS_RESOLVE
#define CGOPROF_STACKS_RESOLVE
#include "cgoprof/kallsyms.h"

/* What a profile says about its recording. Strings are copied. */
struct profile_meta {
	const char *command;
	const char *event;
	bool time_event;	/* period in nanoseconds */
	uint64_t freq, period;
	uint64_t time_nanos, duration_nanos;
	uint64_t lost_samples;
	const char *notes;	/* copied into the profile */
};

/* The addresses the table's kernel locations are named at (a caller's
 * return address and the byte before it), in a new array in *@out (the
 * caller frees it; NULL when out of memory). Their count. */
size_t stack_table__kernel_pcs(const struct stack_table *t, uint64_t **out);
/* Symbolizes every unique location once and builds the profile. @k may be
 * NULL (kernel frames then show as [kernel.kallsyms]). Caller frees with
 * profile__free(). NULL and errno (ENOMEM) on failure. */
struct profile *stack_table__resolve(const struct stack_table *t,
				     struct procmap *pm,
				     const struct kallsyms *k,
				     const struct profile_meta *meta);
#endif
