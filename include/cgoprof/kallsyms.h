/* Kernel symbols from /proc/kallsyms. Owns its table. */
#ifndef CGOPROF_KALLSYMS_H
#define CGOPROF_KALLSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kallsyms;

/* Loads @path (NULL: /proc/kallsyms): every text symbol, or, with @addrs,
 * the symbol of each of its @n addresses (lookups of others give NULL):
 * no table of 120 000 names for a profile's few hundred. With @addrs and
 * no @path, the core kernel's names come from the cache of this boot's
 * (cache_opts__default(), cgoprof/cache.h) and those in BPF programs
 * from the kernel's account of its programs, when these have them all. Caller frees
 * with kallsyms__free(). NULL and errno on failure; an empty table when
 * addresses are hidden. */
struct kallsyms *kallsyms__new(const char *path, const uint64_t *addrs,
			       size_t n);
void kallsyms__free(struct kallsyms *k);
/* Name of the function containing @addr; borrowed, valid until
 * kallsyms__free(). NULL when unknown. */
const char *kallsyms__lookup(const struct kallsyms *k, uint64_t addr);

struct cache_opts;

/* kallsyms__new() with the cache of @o (o->dir NULL: none) for @path;
 * *@hit (if not NULL): whether the cache (and, for the running kernel,
 * its BPF programs) named every address: the file was not read. For tests:
 * kallsyms__new() uses the running kernel's. */
struct kallsyms *kallsyms__new_cached(const char *path,
				      const struct cache_opts *o,
				      const uint64_t *addrs, size_t n,
				      bool *hit);

#endif
