// SPDX-License-Identifier: MIT
/* The hash table, the string interner, the arena and the hash functions of
 * base/: lookups, growth, colliding hashes, stable ids and pointers, bytes
 * never read past the end, and out-of-memory left the table as it was. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgoprof/arena.h"
#include "cgoprof/htab.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* ---- a caller's table: entries in its own array ---- */

struct item {
	uint64_t key;
	uint32_t hash;	/* as inserted: tests choose colliding hashes */
};

struct items {
	struct item *v;
	size_t len, cap;
	struct htab index;
};

static bool item_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct items *t = ctx;

	return t->v[idx].key == *(const uint64_t *)key;
}

static uint32_t items_find(const struct items *t, uint32_t hash, uint64_t key)
{
	return htab__find(&t->index, hash, item_eq, t, &key);
}

/* Adds @key under @hash when absent; returns its index. */
static uint32_t items_add(struct items *t, uint32_t hash, uint64_t key)
{
	uint32_t idx = items_find(t, hash, key);

	if (idx != HTAB_NONE)
		return idx;
	if (t->len == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->v = realloc(t->v, t->cap * sizeof(*t->v));
		assert_non_null(t->v);
	}
	t->v[t->len] = (struct item){ key, hash };
	assert_int_equal(htab__insert(&t->index, hash, (uint32_t)t->len), 0);
	return (uint32_t)t->len++;
}

static void items_release(struct items *t)
{
	free(t->v);
	htab__release(&t->index);
	memset(t, 0, sizeof(*t));
}

/* The invariants: a power of two of slots, at most half full, every
 * entry once. */
static void assert_table_sane(const struct htab *h, size_t n)
{
	size_t used = 0;

	assert_int_equal(h->len, n);
	if (!h->slots)
		return;
	assert_int_equal((h->mask + 1) & h->mask, 0);
	assert_true(2 * h->len <= h->mask + 1);
	for (size_t i = 0; i <= h->mask; i++)
		used += h->slots[i].idx != 0;
	assert_int_equal(used, n);
}

static void test_htab__insert_find(void **state)
{
	struct items t = { 0 };

	(void)state;
	/* zeroed: empty, finds nothing, allocates on first insert */
	assert_int_equal(items_find(&t, 7, 1), HTAB_NONE);
	assert_int_equal(items_add(&t, 7, 1), 0);
	assert_int_equal(items_add(&t, 9, 2), 1);
	assert_int_equal(items_add(&t, 7, 1), 0);
	assert_int_equal(items_find(&t, 7, 1), 0);
	assert_int_equal(items_find(&t, 9, 2), 1);
	/* the right hash, another key; the right key, another hash */
	assert_int_equal(items_find(&t, 7, 2), HTAB_NONE);
	assert_int_equal(items_find(&t, 8, 1), HTAB_NONE);
	assert_table_sane(&t.index, 2);
	items_release(&t);
	items_release(&t); /* twice is fine */
	assert_int_equal(items_find(&t, 7, 1), HTAB_NONE);
}

static void test_htab__grows(void **state)
{
	enum { N = 100000 };
	struct items t = { 0 };
	size_t grew = 0, last = 0;

	(void)state;
	assert_int_equal(htab__init(&t.index, 10), 0);
	assert_int_equal(t.index.mask + 1, 32);
	for (uint64_t k = 0; k < N; k++) {
		uint32_t h = (uint32_t)htab__mix64(k);

		assert_int_equal(items_add(&t, h, k), k);
		if (t.index.mask + 1 != last) {
			grew++;
			last = t.index.mask + 1;
		}
	}
	assert_true(grew > 10);
	assert_table_sane(&t.index, N);
	for (uint64_t k = 0; k < N; k++)
		assert_int_equal(items_find(&t, (uint32_t)htab__mix64(k), k),
				 k);
	assert_int_equal(items_find(&t, (uint32_t)htab__mix64(N), N),
			 HTAB_NONE);
	items_release(&t);
}

static void test_htab__collisions(void **state)
{
	enum { N = 3000 };
	struct items t = { 0 };

	(void)state;
	/* every key under one hash, and it the last slot: probes wrap
	 * around the end of the table, through growth after growth */
	for (uint64_t k = 0; k < N; k++)
		assert_int_equal(items_add(&t, UINT32_MAX, k * 3), k);
	/* and a few under the neighbouring hash, behind the cluster */
	for (uint64_t k = 0; k < 10; k++)
		assert_int_equal(items_add(&t, 0, k * 3), N + k);
	assert_table_sane(&t.index, N + 10);
	for (uint64_t k = 0; k < N; k++)
		assert_int_equal(items_find(&t, UINT32_MAX, k * 3), k);
	for (uint64_t k = 0; k < 10; k++)
		assert_int_equal(items_find(&t, 0, k * 3), N + k);
	assert_int_equal(items_find(&t, UINT32_MAX, 1), HTAB_NONE);
	assert_int_equal(items_find(&t, 0, 1), HTAB_NONE);
	items_release(&t);
}

/* A thread table: the tid is the hash and the key, no equality needed. */
static void test_htab__tid_index(void **state)
{
	static const uint32_t tids[] = { 1, 4242, 4243, 4244, 0, 99999,
					 UINT32_MAX };
	struct htab h;

	(void)state;
	assert_int_equal(htab__init(&h, 0), 0);
	assert_null(h.slots);
	for (uint32_t i = 0; i < sizeof(tids) / sizeof(tids[0]); i++) {
		assert_int_equal(htab__find(&h, tids[i], NULL, NULL, NULL),
				 HTAB_NONE);
		assert_int_equal(htab__insert(&h, tids[i], i), 0);
	}
	for (uint32_t i = 0; i < sizeof(tids) / sizeof(tids[0]); i++)
		assert_int_equal(htab__find(&h, tids[i], NULL, NULL, NULL), i);
	assert_int_equal(htab__find(&h, 4245, NULL, NULL, NULL), HTAB_NONE);
	htab__release(&h);
}

static void test_htab__sizes_checked(void **state)
{
	struct htab h;

	(void)state;
	assert_int_equal(htab__init(&h, SIZE_MAX), -ENOMEM);
	assert_null(h.slots);
	assert_int_equal(htab__init(&h, SIZE_MAX / 2 + 1), -ENOMEM);
	assert_int_equal(htab__init(&h, (size_t)1 << 40), -ENOMEM);
	/* an index that cannot be stored as index + 1 beside HTAB_NONE */
	assert_int_equal(htab__init(&h, 0), 0);
	assert_int_equal(htab__insert(&h, 1, HTAB_NONE), -ENOMEM);
	assert_int_equal(htab__insert(&h, 1, HTAB_NONE - 1), -ENOMEM);
	assert_int_equal(h.len, 0);
	assert_int_equal(htab__insert(&h, 1, HTAB_NONE - 2), 0);
	assert_int_equal(htab__find(&h, 1, NULL, NULL, NULL), HTAB_NONE - 2);
	htab__release(&h);
}

/* Growth that cannot allocate: -ENOMEM, and the table still finds every
 * entry and takes more once memory is back. */
static void test_htab__enomem(void **state)
{
	struct items t = { 0 };
	struct rlimit old, low;
	uint64_t k;
	int err;

	(void)state;
#ifdef UNDER_ASAN
	skip(); /* the sanitizer's allocator aborts rather than fail */
#endif
	/* just before growth to 2^21 slots (16 MiB, mmapped) */
	assert_int_equal(htab__init(&t.index, 1 << 19), 0);
	t.cap = (1 << 19) + 1;
	t.v = malloc(t.cap * sizeof(*t.v));
	assert_non_null(t.v);
	for (k = 0; k < 1 << 19; k++)
		items_add(&t, (uint32_t)htab__mix64(k), k);
	assert_int_equal(t.index.mask + 1, 1 << 20);

	assert_int_equal(getrlimit(RLIMIT_AS, &old), 0);
	low = old;
	low.rlim_cur = 0; /* no new mappings at all */
	assert_int_equal(setrlimit(RLIMIT_AS, &low), 0);
	err = htab__insert(&t.index, (uint32_t)htab__mix64(k), (uint32_t)k);
	assert_int_equal(setrlimit(RLIMIT_AS, &old), 0);

	assert_int_equal(err, -ENOMEM);
	assert_int_equal(t.index.mask + 1, 1 << 20);
	assert_table_sane(&t.index, 1 << 19);
	for (uint64_t j = 0; j < 1 << 19; j += 997)
		assert_int_equal(items_find(&t, (uint32_t)htab__mix64(j), j),
				 j);
	t.v[t.len] = (struct item){ k, (uint32_t)htab__mix64(k) };
	assert_int_equal(htab__insert(&t.index, t.v[t.len].hash,
				      (uint32_t)t.len), 0);
	t.len++;
	assert_int_equal(items_find(&t, (uint32_t)htab__mix64(k), k), k);
	assert_table_sane(&t.index, (1 << 19) + 1);
	items_release(&t);
}

/* ---- the interner ---- */

static void test_htab__interner_ids_stable(void **state)
{
	enum { N = 20000 };
	struct strintern si;
	const char *first[N];
	char buf[64];

	(void)state;
	strintern__init(&si);
	assert_int_equal(strintern__find(&si, "x"), -ENOENT);
	assert_int_equal(strintern__intern(&si, ""), 0);
	assert_int_equal(strintern__intern(&si, "samples"), 1);
	assert_int_equal(strintern__intern(&si, "count"), 2);
	assert_int_equal(strintern__intern(&si, "samples"), 1);
	/* copied: the caller's buffer may change */
	snprintf(buf, sizeof(buf), "%s", "count");
	assert_int_equal(strintern__intern(&si, buf), 2);
	snprintf(buf, sizeof(buf), "%s", "other");
	assert_int_equal(strintern__intern(&si, buf), 3);
	buf[0] = 'X';
	assert_string_equal(si.strs[3], "other");
	assert_int_equal(strintern__find(&si, "other"), 3);
	assert_int_equal(strintern__find(&si, "Xther"), -ENOENT);

	for (size_t i = 0; i < N; i++) {
		snprintf(buf, sizeof(buf), "name-%zu/%s", i,
			 i % 3 ? "long enough to cross sixteen bytes" : "");
		assert_int_equal(strintern__intern(&si, buf), 4 + i);
		first[i] = si.strs[4 + i];
	}
	assert_int_equal(si.len, 4 + N);
	/* ids and pointers survive the growth of table, array and arena */
	for (size_t i = 0; i < N; i++) {
		snprintf(buf, sizeof(buf), "name-%zu/%s", i,
			 i % 3 ? "long enough to cross sixteen bytes" : "");
		assert_int_equal(strintern__find(&si, buf), 4 + i);
		assert_int_equal(strintern__intern(&si, buf), 4 + i);
		assert_ptr_equal(si.strs[4 + i], first[i]);
		assert_string_equal(first[i], buf);
	}
	assert_int_equal(strintern__intern(&si, ""), 0);
	assert_int_equal(si.len, 4 + N);
	assert_table_sane(&si.index, 4 + N);
	strintern__release(&si);
	strintern__release(&si);
	assert_int_equal(si.len, 0);
	assert_int_equal(strintern__intern(&si, "again"), 0);
	strintern__release(&si);
}

/* ---- the arena ---- */

static void test_htab__arena(void **state)
{
	struct arena a = { 0 };
	char big[100000];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		char *s = arena__strdup(&a, "abc");
		void *p = arena__alloc(&a, (size_t)i % 37);

		assert_non_null(s);
		assert_string_equal(s, "abc");
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
	}
	/* larger than any chunk */
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_string_equal(arena__strdup(&a, big), big);
	assert_non_null(arena__alloc(&a, 4 << 20));
	assert_string_equal(arena__strndup(&a, "abcdef", 3), "abc");
	assert_null(arena__alloc(&a, SIZE_MAX - 8));
	arena__release(&a);
	assert_null(a.chunks);
	arena__release(&a);
}

/* ---- the hash functions ---- */

static void test_htab__hash_bytes(void **state)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *m, *end;
	uint64_t seen[65];

	(void)state;
	/* bytes at the very end of a readable page: a read past @len
	 * faults */
	m = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(mprotect(m + page, (size_t)page, PROT_NONE), 0);
	end = m + page;
	for (size_t i = 0; i < 64; i++)
		end[-1 - (long)i] = (unsigned char)(i * 7 + 1);
	for (size_t n = 0; n <= 64; n++) {
		seen[n] = htab__hash_bytes(end - n, n, 0);
		/* deterministic, and the seed matters */
		assert_true(seen[n] == htab__hash_bytes(end - n, n, 0));
		assert_true(seen[n] != htab__hash_bytes(end - n, n, 1));
		for (size_t j = 0; j < n; j++)
			assert_true(seen[j] != seen[n]);
	}
	/* every byte counts, the last of a long input too */
	for (size_t n = 1; n <= 64; n++) {
		unsigned char *p = end - n;

		for (size_t j = 0; j < n; j++) {
			p[j] ^= 0x40;
			assert_true(htab__hash_bytes(p, n, 0) != seen[n]);
			p[j] ^= 0x40;
		}
	}
	munmap(m, 2 * (size_t)page);

	/* the mixer is a bijection: distinct in, distinct out */
	assert_true(htab__mix64(0) == 0);
	for (uint64_t i = 1; i < 1000; i++)
		assert_true(htab__mix64(i) != htab__mix64(i - 1));
	/* and its low bits (a table's slot) spread sequential keys like
	 * random ones: 1000 keys over 1024 slots fill about 640 */
	{
		bool used[1024] = { false };
		int n = 0;

		for (uint64_t i = 0; i < 1000; i++) {
			size_t s = htab__mix64(i) & 1023;

			n += !used[s];
			used[s] = true;
		}
		assert_true(n > 580 && n < 700);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_htab__insert_find),
		cmocka_unit_test(test_htab__grows),
		cmocka_unit_test(test_htab__collisions),
		cmocka_unit_test(test_htab__tid_index),
		cmocka_unit_test(test_htab__sizes_checked),
		cmocka_unit_test(test_htab__enomem),
		cmocka_unit_test(test_htab__interner_ids_stable),
		cmocka_unit_test(test_htab__arena),
		cmocka_unit_test(test_htab__hash_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
