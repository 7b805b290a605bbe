/* The one hash table of cgoprof, the string interner built on it, and the
 * two hash functions every table uses.
 *
 * struct htab is an index, not a container: entries live in an array the
 * caller owns, and the table maps a 32-bit hash to an entry's position in
 * it. Open addressing with linear probing over a power-of-two number of
 * slots, each holding the hash beside the index (most probes that miss are
 * told apart without touching the caller's array), grown to twice its size
 * when it would be more than half full. Lookups are inline and take the
 * caller's equality function, so that a static one is inlined into the
 * probe loop of a hot path (stack aggregation runs it for every frame of
 * every sample).
 *
 * A table keyed by a 32-bit number (a thread id -> its index) needs no
 * equality function: pass the number as the hash and NULL as @eq.
 *
 * Not thread-safe; owns only its slots (struct strintern: its strings). */
#ifndef CGOPROF_HTAB_H
#define CGOPROF_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cgoprof/arena.h"

/* ---- hash functions ---- */

/* Helpers of htab__hash_bytes: a 64x64 -> 128-bit multiply folded to 64
 * bits (its mixing step), and unaligned loads. */
static inline uint64_t htab__fold(uint64_t a, uint64_t b)
{
	__extension__ typedef unsigned __int128 u128;
	u128 r = (u128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t htab__load64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t htab__load32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* A bijective mixer of 64 bits (splitmix64's finalizer): every output bit
 * depends on every input bit. For keys made of numbers and pointers:
 * combine them as htab__mix64(a ^ htab__mix64(b)). */
static inline uint64_t htab__mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* Hash of @len bytes at @data, with @seed mixed in (0 when there is nothing
 * to add). 16 bytes per multiply, in the manner of wyhash: fast on short
 * strings and on arrays of ids alike; not meant to resist an adversary. */
static inline uint64_t htab__hash_bytes(const void *data, size_t len,
					uint64_t seed)
{
	const uint64_t k0 = 0xa0761d6478bd642fULL, k1 = 0xe7037ed1a0b428dbULL,
		       k2 = 0x8ebc6af09c88c6e3ULL;
	const unsigned char *p = data;
	uint64_t h = seed ^ k0, a, b;
	size_t n = len;

	for (; n > 16; p += 16, n -= 16)
		h = htab__fold(htab__load64(p) ^ k1, htab__load64(p + 8) ^ h);
	/* the last 1..16 bytes (reads may overlap, never overrun) */
	if (n >= 8) {
		a = htab__load64(p);
		b = htab__load64(p + n - 8);
	} else if (n >= 4) {
		a = htab__load32(p);
		b = htab__load32(p + n - 4);
	} else if (n) {
		a = (uint64_t)p[0] << 16 | (uint64_t)p[n >> 1] << 8 | p[n - 1];
		b = 0;
	} else {
		a = b = 0;
	}
	h = htab__fold(a ^ k1, b ^ h);
	return htab__fold(h ^ k2, (uint64_t)len ^ k1);
}

/* ---- the table ---- */

/* What a lookup returns when the key is not there. */
#define HTAB_NONE UINT32_MAX

struct htab_slot {
	uint32_t hash;
	uint32_t idx;		/* entry index + 1; 0: the slot is free */
};

/* Zeroed, a table is empty and valid (it allocates on first insert). */
struct htab {
	struct htab_slot *slots;
	size_t mask;		/* slots - 1; 0 when none are allocated */
	size_t len;		/* entries */
};

/* Whether entry @idx of the caller's array (reached through @ctx) has the
 * key @key. */
typedef bool (*htab_eq_fn)(const void *ctx, uint32_t idx, const void *key);

/* Allocates room for @hint entries before the first growth (0: nothing
 * yet). 0 or -ENOMEM. */
int htab__init(struct htab *h, size_t hint);
/* Frees the slots; the table is empty and valid again. */
void htab__release(struct htab *h);

/* Adds entry @idx (< HTAB_NONE - 1) under @hash, growing the table first
 * when it would be more than half full. The caller has checked that the
 * key is absent (htab__find); entries with equal hashes are fine. 0, or
 * -ENOMEM (the table is as it was). */
int htab__insert(struct htab *h, uint32_t hash, uint32_t idx);

/* The index of the entry under @hash that @eq says has @key, or HTAB_NONE.
 * With @eq NULL, the hash is the key: the first entry under @hash. */
static inline uint32_t htab__find(const struct htab *h, uint32_t hash,
				  htab_eq_fn eq, const void *ctx,
				  const void *key)
{
	const struct htab_slot *s = h->slots;
	size_t mask = h->mask, i;

	if (!s)
		return HTAB_NONE;
	for (i = hash & mask; s[i].idx; i = (i + 1) & mask) {
		if (s[i].hash == hash && (!eq || eq(ctx, s[i].idx - 1, key)))
			return s[i].idx - 1;
	}
	return HTAB_NONE;
}

/* ---- the string interner ---- */

/* Each distinct string once, copied into an arena the interner owns, with
 * ids 0, 1, 2, ... in first-use order. Ids and string pointers stay valid
 * until strintern__release(). Zeroed, an interner is empty and valid. */
struct strintern {
	const char **strs;	/* id -> string: pprof's string table, or
				 * what a writer prints by id */
	size_t len;		/* strings interned (ids 0..len-1) */
	size_t cap;
	struct htab index;
	struct arena arena;
};

void strintern__init(struct strintern *si);
/* Frees everything; the interner is empty and valid again. */
void strintern__release(struct strintern *si);
/* The id of @s, added (copied) on first use. The id or -ENOMEM. */
int64_t strintern__intern(struct strintern *si, const char *s);
/* The id of @s, or -ENOENT. */
int64_t strintern__find(const struct strintern *si, const char *s);

#endif
