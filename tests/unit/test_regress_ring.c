// SPDX-License-Identifier: MIT
/* Regressions found by fuzz/fuzz_sample.c in the ring reader: records the
 * callback got at an odd address, the copy of such a record, a head
 * published far ahead of the tail (an endless loop), and ring__release()
 * unmapping whatever an uninitialised struct held. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/mman.h>

#include "cgoprof/perf.h"

struct seen {
	int n;
	int misaligned;
	uint64_t bytes;
	uint16_t sizes[64];
	uint8_t last[64];
};

static int collect(const struct perf_event_header *h, void *ctx)
{
	struct seen *s = ctx;
	const uint8_t *p = (const uint8_t *)h;

	if ((uintptr_t)h & 7)
		s->misaligned++;
	if (s->n < 64) {
		s->sizes[s->n] = h->size;
		s->last[s->n] = p[h->size - 1];
	}
	s->n++;
	s->bytes += h->size;
	return 0;
}

/* fuzz_sample crash-f395cf4d: a 256-byte ring (the input's bytes from
 * offset 18, zero-filled) whose first record is 42 bytes long, so the
 * second starts at offset 42; the callback read its header at an address
 * 2-aligned only (UBSan: misaligned access). */
static const uint8_t crash_f395cf4d_data[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x34, 0x12, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03,
    0x00, 0x48, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x02, 0x00, 0x48, 0x01,
    0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe8, 0x03,
};
#define CRASH_F395CF4D_TAIL 0xff020000ull

static void test_regress_ring__fuzz_crash_f395cf4d(void **state)
{
	struct perf_event_mmap_page meta;
	uint8_t *data = calloc(1, 256);
	struct seen s = {0};
	struct ring r;
	int ret;

	(void)state;
	assert_non_null(data);
	memcpy(data, crash_f395cf4d_data, sizeof(crash_f395cf4d_data));
	memset(&meta, 0, sizeof(meta));
	meta.data_tail = CRASH_F395CF4D_TAIL;
	meta.data_head = CRASH_F395CF4D_TAIL + 256;
	assert_int_equal(ring__init_mem(&r, &meta, data, 256), 0);
	ret = ring__consume(&r, collect, &s);
	assert_true(ret == 0 || ret == -EINVAL);
	assert_int_equal(s.misaligned, 0);
	assert_true(ring__empty(&r));
	ring__release(&r);
	free(data);
}

/* A record of 12 bytes puts the next one at offset 12: it is handed over
 * 8-aligned and whole, though it does not wrap. */
static void test_regress_ring__odd_offset_record_is_copied(void **state)
{
	struct perf_event_mmap_page meta;
	uint64_t words[64] = {0};
	uint8_t *data = (uint8_t *)words;
	struct perf_event_header h1 = {.type = 9, .size = 12};
	struct perf_event_header h2 = {.type = 3, .size = 40};
	struct seen s = {0};
	struct ring r;

	(void)state;
	memcpy(data, &h1, sizeof(h1));
	memset(data + 8, 0x11, 4);
	memcpy(data + 12, &h2, sizeof(h2));
	memset(data + 20, 0x22, 32);
	memset(&meta, 0, sizeof(meta));
	meta.data_head = 52;
	assert_int_equal(ring__init_mem(&r, &meta, data, sizeof(words)), 0);
	assert_int_equal(ring__consume(&r, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.misaligned, 0);
	assert_int_equal(s.sizes[0], 12);
	assert_int_equal(s.last[0], 0x11);
	assert_int_equal(s.sizes[1], 40);
	assert_int_equal(s.last[1], 0x22);
	assert_int_equal(meta.data_tail, 52);
	ring__release(&r);
}

/* The kernel never publishes more than a ring's worth: a head 2^40 bytes
 * ahead had the reader go round the same 8-byte records for ever. */
static void test_regress_ring__head_far_ahead_drains(void **state)
{
	struct perf_event_mmap_page meta;
	uint64_t words[32];
	struct perf_event_header h = {.type = 9, .size = 8};
	struct seen s = {0};
	struct ring r;

	(void)state;
	for (int i = 0; i < 32; i++)
		memcpy(&words[i], &h, sizeof(h));
	memset(&meta, 0, sizeof(meta));
	meta.data_tail = 64;
	meta.data_head = 64 + (1ull << 40);
	assert_int_equal(
	    ring__init_mem(&r, &meta, (uint8_t *)words, sizeof(words)), 0);
	assert_int_equal(ring__consume(&r, collect, &s), -EINVAL);
	assert_true(s.n <= 32);
	assert_int_equal(meta.data_tail, meta.data_head);
	assert_true(ring__empty(&r));
	ring__release(&r);
}

/* ring__init_mem() on a struct that held garbage (the fuzzer's stack):
 * ring__release() unmapped it, libc's code once (a crash later on). */
static void test_regress_ring__init_mem_forgets_old_map(void **state)
{
	uint64_t words[8] = {0};
	struct perf_event_mmap_page meta;
	unsigned char present;
	struct ring r;
	void *page;

	(void)state;
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(page != MAP_FAILED);
	memset(&r, 0xa5, sizeof(r));
	r.map = page;
	r.map_size = 4096;
	memset(&meta, 0, sizeof(meta));
	assert_int_equal(
	    ring__init_mem(&r, &meta, (uint8_t *)words, sizeof(words)), 0);
	ring__release(&r);
	/* still mapped: mincore fails with ENOMEM on an unmapped page */
	assert_int_equal(mincore(page, 4096, &present), 0);
	munmap(page, 4096);
	/* and a failed init leaves nothing to release either */
	memset(&r, 0xa5, sizeof(r));
	assert_int_equal(ring__init_mem(&r, &meta, (uint8_t *)words, 24),
			 -EINVAL);
	ring__release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_regress_ring__fuzz_crash_f395cf4d),
	    cmocka_unit_test(test_regress_ring__odd_offset_record_is_copied),
	    cmocka_unit_test(test_regress_ring__head_far_ahead_drains),
	    cmocka_unit_test(test_regress_ring__init_mem_forgets_old_map),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
