/* A bump allocator: many small allocations freed all at once. Memory never
 * moves, so pointers into it stay valid until arena__release(). Used by the
 * resolved profile (profile.h) and the string interner (htab.h). And the
 * one way a growable array grows (array__grow). */
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

/* Makes room for @need elements of @size bytes in the heap array *@items of
 * capacity *@cap (elements): the capacity doubles, from @first when it is
 * 0, until it holds @need. 0 (the array perhaps moved), or -ENOMEM with
 * *@items and *@cap unchanged. The caller frees *@items. */
int array__grow(void **items, size_t *cap, size_t need, size_t size,
		size_t first);

#endif
