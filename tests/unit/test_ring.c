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

/* ring__peek(): records in place, their positions, the tail only where
 * released; records that wrap, whole, lap after lap; a size that is not
 * a multiple of 8. */
struct peeked {
	int n;
	const struct perf_event_header *h[16];
	uint64_t pos[16];
};

static int keep_ptr(const struct perf_event_header *h, uint64_t pos, void *ctx)
{
	struct peeked *p = ctx;

	p->h[p->n] = h;
	p->pos[p->n++] = pos;
	return 0;
}

static void test_ring__peek_in_place(void **state)
{
	struct fake f;
	struct peeked p = { 0 };
	uint64_t head = 0;

	(void)state;
	setup_fake(&f, 0);
	put(&f, &head, 9, 24, 0xa1);
	put(&f, &head, 3, 40, 0xb2);
	assert_int_equal(ring__peek(&f.r, keep_ptr, &p), 0);
	assert_int_equal(p.n, 2);
	/* in the ring itself, nothing released yet */
	assert_ptr_equal(p.h[0], (const void *)f.data);
	assert_ptr_equal(p.h[1], (const void *)(f.data + 24));
	assert_int_equal(p.pos[1], 24);
	assert_int_equal(f.meta.data_tail, 0);
	/* read again: nothing new */
	assert_int_equal(ring__peek(&f.r, keep_ptr, &p), 0);
	assert_int_equal(p.n, 2);
	ring__release_to(&f.r, p.pos[1]);
	assert_int_equal(f.meta.data_tail, 24);
	/* never backwards, never past what was read */
	ring__release_to(&f.r, 8);
	assert_int_equal(f.meta.data_tail, 24);
	ring__release_to(&f.r, 1000);
	assert_int_equal(f.meta.data_tail, 24);
	ring__release_to(&f.r, f.r.pos);
	assert_int_equal(f.meta.data_tail, 64);
	ring__release(&f.r);
}

static void test_ring__peek_wraps(void **state)
{
	struct fake f;
	struct peeked p = { 0 };
	uint64_t head = 200;
	const uint8_t *first;

	(void)state;
	setup_fake(&f, head);
	put(&f, &head, 9, 96, 0xc3);	/* wraps: 56 + 40 */
	put(&f, &head, 4, 48, 0xd4);
	assert_int_equal(ring__peek(&f.r, keep_ptr, &p), 0);
	assert_int_equal(p.n, 2);
	first = (const uint8_t *)p.h[0];
	assert_int_equal(p.h[0]->size, 96);
	assert_int_equal(first[8], 0xc3);
	assert_int_equal(first[95], 0xc3);
	assert_ptr_equal(p.h[1], (const void *)(f.data + 40));
	/* both used; the next lap's record that wraps, whole too */
	ring__release_to(&f.r, f.r.pos);
	assert_int_equal(f.meta.data_tail, 344);
	put(&f, &head, 5, 64, 0xe5);	/* 88..152 */
	put(&f, &head, 6, 96, 0xf6);	/* 152..248 */
	put(&f, &head, 7, 48, 0x17);	/* 248..256, 0..40: wraps */
	assert_int_equal(ring__peek(&f.r, keep_ptr, &p), 0);
	assert_int_equal(p.n, 5);
	assert_int_equal(p.h[4]->type, 7);
	assert_int_equal(((const uint8_t *)p.h[4])[8], 0x17);
	assert_int_equal(((const uint8_t *)p.h[4])[47], 0x17);
	assert_int_equal(p.pos[4], 504);
	ring__release_to(&f.r, f.r.pos);
	assert_int_equal(f.meta.data_tail, head);
	ring__release(&f.r);
}

static void test_ring__peek_rejects_misaligned(void **state)
{
	struct fake f;
	struct peeked p = { 0 };
	uint64_t head = 0;

	(void)state;
	setup_fake(&f, 0);
	put(&f, &head, 9, 20, 0xa1);	/* not a multiple of 8 */
	put(&f, &head, 3, 40, 0xb2);
	assert_int_equal(ring__peek(&f.r, keep_ptr, &p), -EINVAL);
	assert_int_equal(p.n, 0);
	/* drained: what it held is released */
	assert_int_equal(f.meta.data_tail, head);
	assert_int_equal(f.r.pos, head);
	ring__release(&f.r);
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
		cmocka_unit_test(test_ring__peek_in_place),
		cmocka_unit_test(test_ring__peek_wraps),
		cmocka_unit_test(test_ring__peek_rejects_misaligned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
