/* Kernel symbols from /proc/kallsyms. Owns its table. */
#ifndef CGOPROF_KALLSYMS_H
#define CGOPROF_KALLSYMS_H

#include <stddef.h>
#include <stdint.h>

struct kallsyms;

/* Loads @path (NULL: /proc/kallsyms): every text symbol, or, with @addrs,
 * the symbol of each of its @n addresses (lookups of others give NULL):
 * no table of 120 000 names for a profile's few hundred. Caller frees
 * with kallsyms__free(). NULL and errno on failure; an empty table when
 * addresses are hidden. */
struct kallsyms *kallsyms__new(const char *path, const uint64_t *addrs,
			       size_t n);
void kallsyms__free(struct kallsyms *k);
/* Name of the function containing @addr; borrowed, valid until
 * kallsyms__free(). NULL when unknown. */
const char *kallsyms__lookup(const struct kallsyms *k, uint64_t addr);

#endif
