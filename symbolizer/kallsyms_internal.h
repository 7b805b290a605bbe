/* Shared by kallsyms.c, kallsyms_cache.c and kallsyms_bpf.c only: the
 * cache of the core kernel's text symbols, one file for each boot, and
 * BPF programs' names. */
#ifndef CGOPROF_KALLSYMS_INTERNAL_H
#define CGOPROF_KALLSYMS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgoprof/cache.h"
#include "cgoprof/kallsyms.h"

struct kcache;
/* The cache for o->boot_id, if the directory and the file are the
 * caller's own, writable by nobody else, and the file is whole. NULL
 * otherwise. */
struct kcache *kcache__open(const struct cache_opts *o);
void kcache__close(struct kcache *c);
/* The core kernel's text symbol at or below @want (of names at one
 * address, the last in the file's order): its address and a copy of its
 * name. -ENOENT when @want is outside the core kernel's text (a module's,
 * BPF's: only the file knows), another -errno on failure. */
int kcache__lookup(struct kcache *c, uint64_t want, uint64_t *addr,
		   char **name);

/* Names each of the @n addresses @want that is in a loaded BPF program's
 * function, as /proc/kallsyms would (kallsyms_bpf.c): a copy of the name
 * in @names[i] and the function's address in @starts[i]; the others are
 * left as they were (NULL). The count named, or -ENOMEM. Needs root (the
 * programs' ids and addresses): 0 otherwise. */
int kallsyms_bpf__name(const uint64_t *want, size_t n, char **names,
		       uint64_t *starts);

struct kcache_build;
struct kcache_build *kcache_build__new(void);
void kcache_build__free(struct kcache_build *b);
/* Each text symbol of the file, in its order: 0 or -ENOMEM. */
int kcache_build__add(struct kcache_build *b, uint64_t addr,
		      const char *name, bool core);
/* Writes the cache, atomically, if what was added can be one (the core
 * kernel's symbols in order, no other symbol among them), and removes
 * the caches of other boots. Failures are not errors: no cache. */
void kcache_build__write(struct kcache_build *b,
			 const struct cache_opts *o);

#endif
