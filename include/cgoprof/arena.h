/* A bump allocator: many small allocations freed all at once. Memory never
 * moves, so pointers into it stay valid until arena__release(). Used by the
 * resolved profile (profile.h) and the string interner (htab.h). */
#ifndef CGOPROF_ARENA_H
#define CGOPROF_ARENA_H

#include <stddef.h>

struct arena_chunk;

/* Zeroed, an arena is empty and valid. */
struct arena {
	struct arena_chunk *chunks;	/* newest first */
	size_t nchunks;
};

/* @n bytes aligned for any type (max_align_t), or NULL (out of memory or
 * @n too large). @n may be 0. */
void *arena__alloc(struct arena *a, size_t n);
/* A copy of @len bytes of @s and a NUL, byte-aligned (strings are packed
 * tight), or NULL. */
char *arena__strndup(struct arena *a, const char *s, size_t len);
/* A copy of the string @s, or NULL. */
char *arena__strdup(struct arena *a, const char *s);
/* Frees every allocation; the arena is empty again. */
void arena__release(struct arena *a);

#endif
