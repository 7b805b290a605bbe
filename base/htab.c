// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/arena.h"
#include "cgoprof/htab.h"

/* Slots are indexed by a 32-bit hash, and 2^31 of them (16 GiB, 2^30
 * entries at half load) is more than any profile needs: a bound that keeps
 * every size computation below far from overflowing. */
#define HTAB_MIN_SLOTS 16
#define HTAB_MAX_SLOTS ((size_t)1 << 31)

/* Moves every entry to a table of @nslots slots (a power of two). */
static int htab_resize(struct htab *h, size_t nslots)
{
	struct htab_slot *slots;
	size_t mask = nslots - 1;

	if (nslots > HTAB_MAX_SLOTS || nslots > SIZE_MAX / sizeof(*slots))
		return -ENOMEM;
	slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	if (h->slots) {
		for (size_t i = 0; i <= h->mask; i++) {
			size_t j;

			if (!h->slots[i].idx)
				continue;
			for (j = h->slots[i].hash & mask; slots[j].idx;
			     j = (j + 1) & mask)
				;
			slots[j] = h->slots[i];
		}
	}
	free(h->slots);
	h->slots = slots;
	h->mask = mask;
	return 0;
}

/* The slots for @n (<= HTAB_MAX_SLOTS / 2) entries at most half full. */
static size_t htab_slots_for(size_t n)
{
	size_t nslots = HTAB_MIN_SLOTS;

	while (nslots / 2 < n)
		nslots *= 2;
	return nslots;
}

int htab__init(struct htab *h, size_t hint)
{
	memset(h, 0, sizeof(*h));
	if (!hint)
		return 0;
	if (hint > HTAB_MAX_SLOTS / 2)
		return -ENOMEM;
	return htab_resize(h, htab_slots_for(hint));
}

void htab__release(struct htab *h)
{
	free(h->slots);
	memset(h, 0, sizeof(*h));
}

int htab__insert(struct htab *h, uint32_t hash, uint32_t idx)
{
	size_t nslots = h->slots ? h->mask + 1 : 0, i;
	int err;

	if (idx >= HTAB_NONE - 1)
		return -ENOMEM;
	if ((h->len + 1) > nslots / 2) {
		if (h->len + 1 > HTAB_MAX_SLOTS / 2)
			return -ENOMEM;
		err = htab_resize(h, htab_slots_for(h->len + 1));
		if (err)
			return err;
	}
	for (i = hash & h->mask; h->slots[i].idx; i = (i + 1) & h->mask)
		;
	h->slots[i] = (struct htab_slot){ .hash = hash, .idx = idx + 1 };
	h->len++;
	return 0;
}

/* ---- the string interner ---- */

static bool strintern_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct strintern *si = ctx;

	return !strcmp(si->strs[idx], key);
}

static uint32_t strintern_hash(const char *s, size_t len)
{
	return (uint32_t)htab__hash_bytes(s, len, 0);
}

void strintern__init(struct strintern *si)
{
	memset(si, 0, sizeof(*si));
}

void strintern__release(struct strintern *si)
{
	free(si->strs);
	htab__release(&si->index);
	arena__release(&si->arena);
	memset(si, 0, sizeof(*si));
}

int64_t strintern__find(const struct strintern *si, const char *s)
{
	uint32_t id = htab__find(&si->index, strintern_hash(s, strlen(s)),
				 strintern_eq, si, s);

	return id == HTAB_NONE ? -ENOENT : (int64_t)id;
}

int64_t strintern__intern(struct strintern *si, const char *s)
{
	size_t len = strlen(s);
	uint32_t hash = strintern_hash(s, len), id;
	char *copy;

	id = htab__find(&si->index, hash, strintern_eq, si, s);
	if (id != HTAB_NONE)
		return id;
	if (si->len >= HTAB_NONE - 1)
		return -ENOMEM;
	if (array__grow((void **)&si->strs, &si->cap, si->len + 1,
			sizeof(*si->strs), 64))
		return -ENOMEM;
	/* a failed insert leaves the copy in the arena, unreachable until
	 * release: harmless, and no undo path to get wrong */
	copy = arena__strndup(&si->arena, s, len);
	if (!copy)
		return -ENOMEM;
	si->strs[si->len] = copy;
	if (htab__insert(&si->index, hash, (uint32_t)si->len))
		return -ENOMEM;
	return (int64_t)si->len++;
}
