// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/arena.h"

/* The first chunk is small (an interner of a dozen strings should not cost
 * a megabyte); each next one doubles, up to 1 MiB. */
#define ARENA_CHUNK_MIN (16u * 1024)
#define ARENA_CHUNK_MAX (1024u * 1024)

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	max_align_t data[];
};

/* @n bytes at a multiple of @align (a power of two) within a chunk. */
static void *arena_take(struct arena *a, size_t n, size_t align)
{
	struct arena_chunk *c = a->chunks;
	size_t off = 0;
	void *p;

	if (c)
		off = (c->used + align - 1) & ~(align - 1);
	if (!c || off > c->size || c->size - off < n) {
		size_t size = a->nchunks < 7 ? (size_t)ARENA_CHUNK_MIN
						       << a->nchunks
					     : ARENA_CHUNK_MAX;

		if (n > size)
			size = n;
		if (size > SIZE_MAX - sizeof(*c))
			return NULL;
		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->next = a->chunks;
		c->used = 0;
		c->size = size;
		a->chunks = c;
		a->nchunks++;
		off = 0;
	}
	p = (char *)c->data + off;
	c->used = off + n;
	return p;
}

void *arena__alloc(struct arena *a, size_t n)
{
	return arena_take(a, n, _Alignof(max_align_t));
}

char *arena__strndup(struct arena *a, const char *s, size_t len)
{
	char *d;

	if (len == SIZE_MAX)
		return NULL;
	d = arena_take(a, len + 1, 1);
	if (!d)
		return NULL;
	memcpy(d, s, len);
	d[len] = 0;
	return d;
}

char *arena__strdup(struct arena *a, const char *s)
{
	return arena__strndup(a, s, strlen(s));
}

void arena__release(struct arena *a)
{
	struct arena_chunk *c, *next;

	for (c = a->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	a->chunks = NULL;
	a->nchunks = 0;
}

int array__grow(void **items, size_t *cap, size_t need, size_t size,
		size_t first)
{
	size_t cap2;
	void *p;

	if (need <= *cap)
		return 0;
	if (need > SIZE_MAX / 2 / size)
		return -ENOMEM;
	cap2 = *cap ? *cap * 2 : first;
	while (cap2 < need)
		cap2 *= 2;
	p = realloc(*items, cap2 * size);
	if (!p)
		return -ENOMEM;
	*items = p;
	*cap = cap2;
	return 0;
}
