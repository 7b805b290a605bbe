/* Kernel symbols from /proc/kallsyms. Owns its table. */
#ifndef CGOPROF_KALLSYMS_H
#define CGOPROF_KALLSYMS_H

#include <stdint.h>

struct kallsyms;

/* Loads @path (NULL: /proc/kallsyms). Caller frees with kallsyms__free().
 * NULL and errno on failure; an empty table when addresses are hidden. */
struct kallsyms *kallsyms__new(const char *path);
void kallsyms__free(struct kallsyms *k);
/* Name of the function containing @addr; borrowed, valid until
 * kallsyms__free(). NULL when unknown. */
const char *kallsyms__lookup(const struct kallsyms *k, uint64_t addr);

#endif
