// SPDX-License-Identifier: MIT
/* The ring reader on hand-built rings: records that wrap, a header that
 * wraps, impossible sizes, stopping early. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cgoprof/perf.h"

#define DATA 256

struct fake {
	struct perf_event_mmap_page meta;
	uint8_t data[DATA];
	struct ring r;
};

struct seen {
	int n;
	uint32_t types[32];
	uint16_t sizes[32];
	uint8_t first_payload[32];
	uint8_t last_payload[32];
};

static void put(struct fake *f, uint64_t *head, uint32_t type, uint16_t size,
		uint8_t fill)
{
	uint8_t rec[DATA];
	struct perf_event_header h = { .type = type, .size = size };

	memset(rec, fill, sizeof(rec));
	memcpy(rec, &h, sizeof(h));
	for (uint16_t i = 0; i < size; i++)
		f->data[(*head + i) % DATA] = rec[i];
	*head += size;
	f->meta.data_head = *head;
}

static int collect(const struct perf_event_header *h, void *ctx)
{
	struct seen *s = ctx;
	const uint8_t *p = (const uint8_t *)h;

	s->types[s->n] = h->type;
	s->sizes[s->n] = h->size;
	s->first_payload[s->n] = p[sizeof(*h)];
	s->last_payload[s->n] = p[h->size - 1];
	s->n++;
	return 0;
}

static void setup_fake(struct fake *f, uint64_t start)
{
	memset(f, 0, sizeof(*f));
	f->meta.data_head = f->meta.data_tail = start;
	assert_int_equal(ring__init_mem(&f->r, &f->meta, f->data, DATA), 0);
}

static void test_ring__reads_records_in_order(void **state)
{
	struct fake f;
	struct seen s = { 0 };
	uint64_t head = 0;

	(void)state;
	setup_fake(&f, 0);
	put(&f, &head, 9, 24, 0xa1);
	put(&f, &head, 3, 40, 0xb2);
	assert_int_equal(ring__consume(&f.r, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.types[0], 9);
	assert_int_equal(s.sizes[1], 40);
	assert_int_equal(s.last_payload[1], 0xb2);
	assert_int_equal(f.meta.data_tail, 64);
	assert_true(ring__empty(&f.r));
	ring__release(&f.r);
}

static void test_ring__record_that_wraps_is_contiguous(void **state)
{
	struct fake f;
	struct seen s = { 0 };
	uint64_t head = 200; /* 56 bytes to the end of the data area */

	(void)state;
	setup_fake(&f, head);
	put(&f, &head, 9, 96, 0xc3); /* 56 before the end, 40 after */
	put(&f, &head, 4, 16, 0xd4);
	assert_int_equal(ring__consume(&f.r, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.sizes[0], 96);
	assert_int_equal(s.first_payload[0], 0xc3);
	assert_int_equal(s.last_payload[0], 0xc3);
	assert_int_equal(s.types[1], 4);
	assert_int_equal(f.meta.data_tail, 200 + 112);
	ring__release(&f.r);
}

static void test_ring__header_that_wraps(void **state)
{
	struct fake f;
	struct seen s = { 0 };
	uint64_t head = DATA - 4; /* the 8-byte header itself wraps */

	(void)state;
	setup_fake(&f, head);
	put(&f, &head, 7, 32, 0xe5);
	assert_int_equal(ring__consume(&f.r, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.types[0], 7);
	assert_int_equal(s.sizes[0], 32);
	assert_int_equal(s.last_payload[0], 0xe5);
	ring__release(&f.r);
}

static void test_ring__impossible_sizes_drain(void **state)
{
	struct fake f;
	struct seen s = { 0 };
	uint64_t head = 0;

	(void)state;
	/* size 4 < header */
	setup_fake(&f, 0);
	put(&f, &head, 9, 16, 0);
	f.data[6] = 4;
	f.data[7] = 0;
	assert_int_equal(ring__consume(&f.r, collect, &s), -EINVAL);
	assert_int_equal(s.n, 0);
	assert_int_equal(f.meta.data_tail, f.meta.data_head);
	ring__release(&f.r);

	/* size past what the kernel published */
	setup_fake(&f, 0);
	head = 0;
	put(&f, &head, 9, 16, 0);
	f.data[6] = 200;
	assert_int_equal(ring__consume(&f.r, collect, &s), -EINVAL);
	assert_int_equal(f.meta.data_tail, f.meta.data_head);
	ring__release(&f.r);
}

static int stop_after_one(const struct perf_event_header *h, void *ctx)
{
	(void)h;
	(*(int *)ctx)++;
	return 42;
}

static void test_ring__callback_stops(void **state)
{
	struct fake f;
	uint64_t head = 0;
	int calls = 0;

	(void)state;
	setup_fake(&f, 0);
	put(&f, &head, 9, 16, 0);
	put(&f, &head, 9, 16, 0);
	assert_int_equal(ring__consume(&f.r, stop_after_one, &calls), 42);
	assert_int_equal(calls, 1);
	assert_int_equal(f.meta.data_tail, 16);
	assert_false(ring__empty(&f.r));
	ring__release(&f.r);
}

static void test_ring__rejects_bad_size(void **state)
{
	struct ring r;
	struct perf_event_mmap_page meta;
	uint8_t data[24];

	(void)state;
	assert_int_equal(ring__init_mem(&r, &meta, data, 24), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring__reads_records_in_order),
		cmocka_unit_test(test_ring__record_that_wraps_is_contiguous),
		cmocka_unit_test(test_ring__header_that_wraps),
		cmocka_unit_test(test_ring__impossible_sizes_drain),
		cmocka_unit_test(test_ring__callback_stops),
		cmocka_unit_test(test_ring__rejects_bad_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
