// SPDX-License-Identifier: MIT
/* The sample parser on hand-built records, truncated and hostile ones. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cgoprof/perf.h"

#define TYPE                                                                   \
	(PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |                 \
	 PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_REGS_USER |  \
	 PERF_SAMPLE_STACK_USER)
#define MASK ((1ULL << PERF_REG_BP) | (1ULL << PERF_REG_SP) | (1ULL << PERF_REG_IP))

struct builder {
	uint64_t w[256];
	int n;
};

static void u64(struct builder *b, uint64_t v)
{
	b->w[b->n++] = v;
}

static struct perf_event_header *finish(struct builder *b)
{
	struct perf_event_header h = { .type = PERF_RECORD_SAMPLE,
				       .size = (uint16_t)(b->n * 8) };

	memcpy(&b->w[0], &h, sizeof(h));
	return (struct perf_event_header *)b->w;
}

/* A well-formed sample: 3 callchain entries, 3 regs, 32 stack bytes of
 * which 24 were copied. Returns the index of the callchain nr word. */
static int good(struct builder *b)
{
	int nr_at;

	b->n = 0;
	u64(b, 0);	  /* header */
	u64(b, 0x401000); /* ip */
	u64(b, ((uint64_t)43 << 32) | 42); /* pid 42, tid 43 */
	u64(b, 123456789);		   /* time */
	u64(b, 1001001);		   /* period */
	nr_at = b->n;
	u64(b, 3);
	u64(b, PERF_CONTEXT_USER);
	u64(b, 0x401000);
	u64(b, 0x402000);
	u64(b, PERF_SAMPLE_REGS_ABI_64);
	u64(b, 0x7ffc0010); /* bp */
	u64(b, 0x7ffc0000); /* sp */
	u64(b, 0x401000);   /* ip */
	u64(b, 32);	    /* stack size */
	for (int i = 0; i < 4; i++)
		u64(b, 0x1111111111111111ULL * (uint64_t)(i + 1));
	u64(b, 24); /* dyn size */
	return nr_at;
}

static void test_sample__parses_every_field(void **state)
{
	struct builder b;
	struct perf_sample s;

	(void)state;
	good(&b);
	assert_int_equal(perf_sample__parse(finish(&b), TYPE, MASK, &s), 0);
	assert_int_equal(s.ip, 0x401000);
	assert_int_equal(s.pid, 42);
	assert_int_equal(s.tid, 43);
	assert_int_equal(s.time, 123456789);
	assert_int_equal(s.period, 1001001);
	assert_int_equal(s.callchain_nr, 3);
	assert_int_equal(s.callchain[2], 0x402000);
	assert_int_equal(s.regs_abi, PERF_SAMPLE_REGS_ABI_64);
	assert_int_equal(s.regs[PERF_REG_BP], 0x7ffc0010);
	assert_int_equal(s.regs[PERF_REG_SP], 0x7ffc0000);
	assert_int_equal(s.regs[PERF_REG_IP], 0x401000);
	assert_int_equal(s.stack_size, 32);
	assert_int_equal(s.stack_dyn_size, 24);
	assert_int_equal(s.stack[8], 0x22);
}

static void test_sample__truncated_everywhere(void **state)
{
	struct builder b;
	struct perf_sample s;
	int full;

	(void)state;
	good(&b);
	full = b.n;
	/* every shorter record is refused, none is read past its end */
	for (int words = 1; words < full; words++) {
		struct perf_event_header *h;

		good(&b);
		b.n = words;
		h = finish(&b);
		assert_int_not_equal(perf_sample__parse(h, TYPE, MASK, &s), 0);
	}
}

static void test_sample__huge_callchain_nr(void **state)
{
	struct builder b;
	struct perf_sample s;
	int nr_at = good(&b);

	(void)state;
	b.w[nr_at] = UINT64_MAX / 4;
	assert_int_equal(perf_sample__parse(finish(&b), TYPE, MASK, &s),
			 -EINVAL);
	b.w[nr_at] = 1ULL << 61; /* nr * 8 overflows to 0 */
	assert_int_equal(perf_sample__parse(finish(&b), TYPE, MASK, &s),
			 -EINVAL);
}

static void test_sample__stack_sizes_past_the_record(void **state)
{
	struct builder b;
	struct perf_sample s;

	(void)state;
	good(&b);
	b.w[13] = 4096; /* stack size larger than the record */
	assert_int_equal(perf_sample__parse(finish(&b), TYPE, MASK, &s),
			 -EINVAL);
	good(&b);
	b.w[b.n - 1] = 33; /* dyn size > size */
	assert_int_equal(perf_sample__parse(finish(&b), TYPE, MASK, &s),
			 -EINVAL);
	good(&b);
	b.w[13] = UINT64_MAX; /* wraps pointer arithmetic if unchecked */
	assert_int_equal(perf_sample__parse(finish(&b), TYPE, MASK, &s),
			 -EINVAL);
}

static void test_sample__no_user_regs(void **state)
{
	struct builder b;
	struct perf_sample s;

	(void)state;
	/* a sample in a kernel thread: abi 0, no registers, stack size 0 */
	b.n = 0;
	u64(&b, 0);
	u64(&b, 0xffffffff81000000ULL);
	u64(&b, 7);
	u64(&b, 1);
	u64(&b, 1);
	u64(&b, 2);
	u64(&b, PERF_CONTEXT_KERNEL);
	u64(&b, 0xffffffff81000000ULL);
	u64(&b, 0);	/* abi none */
	u64(&b, 0);	/* stack size 0: no data, no dyn size */
	assert_int_equal(perf_sample__parse(finish(&b), TYPE, MASK, &s), 0);
	assert_int_equal(s.regs_abi, 0);
	assert_null(s.stack);
	assert_int_equal(s.callchain_nr, 2);
}

/* A COMM record as the coldstart monitor's dummy event writes it: pid,
 * tid, the name padded to 8 bytes, then the sample id (TID, TIME,
 * IDENTIFIER). */
static size_t build_comm(uint8_t *buf, uint16_t misc, const char *name)
{
	struct perf_event_header h = { PERF_RECORD_COMM, misc, 0 };
	uint32_t ids[4] = { 42, 43, 42, 43 };
	uint64_t time = 123456789, id = 7;
	size_t off = sizeof(h);

	memset(buf, 0, 128);
	memcpy(buf + off, ids, 8);
	off += 8;
	memcpy(buf + off, name, strlen(name));
	off += (strlen(name) + 8) & ~(size_t)7;
	memcpy(buf + off, ids + 2, 8);
	memcpy(buf + off + 8, &time, 8);
	memcpy(buf + off + 16, &id, 8);
	off += 24;
	h.size = (uint16_t)off;
	memcpy(buf, &h, sizeof(h));
	return off;
}

static void test_sample__comm_and_fork(void **state)
{
	const uint64_t id_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_TID |
				 PERF_SAMPLE_TIME;
	_Alignas(8) uint8_t buf[128];
	struct perf_event_header *h = (void *)buf;
	uint32_t fork_ids[4] = { 10, 11, 12, 13 };
	struct perf_comm c;
	struct perf_fork f;
	uint64_t t = 99;
	size_t n;

	(void)state;
	n = build_comm(buf, PERF_RECORD_MISC_COMM_EXEC, "go-app");
	assert_int_equal(perf_comm__parse(h, id_type, &c), 0);
	assert_int_equal(c.pid, 42);
	assert_int_equal(c.tid, 43);
	assert_string_equal(c.comm, "go-app");
	assert_true(c.exec);
	assert_int_equal(c.time, 123456789);
	assert_int_equal(perf_comm__parse(h, 0, &c), 0);
	assert_int_equal(c.time, 0);
	/* too short for the sample id, or for pid and tid */
	h->size = (uint16_t)(sizeof(*h) + 8 + 16);
	assert_int_equal(perf_comm__parse(h, id_type, &c), -EFAULT);
	h->size = (uint16_t)(sizeof(*h) + 4);
	assert_int_equal(perf_comm__parse(h, 0, &c), -EFAULT);
	/* a name without its end */
	memset(buf + sizeof(*h) + 8, 'x', n - sizeof(*h) - 8);
	h->size = (uint16_t)n;
	assert_int_equal(perf_comm__parse(h, 0, &c), -EFAULT);

	memset(buf, 0, sizeof(buf));
	*h = (struct perf_event_header){ PERF_RECORD_EXIT, 0,
					 sizeof(*h) + 24 };
	memcpy(buf + sizeof(*h), fork_ids, 16);
	memcpy(buf + sizeof(*h) + 16, &t, 8);
	assert_int_equal(perf_fork__parse(h, &f), 0);
	assert_int_equal(f.pid, 10);
	assert_int_equal(f.ppid, 11);
	assert_int_equal(f.tid, 12);
	assert_int_equal(f.ptid, 13);
	assert_int_equal(f.time, 99);
	h->size = sizeof(*h) + 23;
	assert_int_equal(perf_fork__parse(h, &f), -EFAULT);
}

/* The software events event__encode knows by name encode exactly as
 * libpfm4 encodes them (it is the oracle: the names are its), with and
 * without the kernel; other names go to libpfm4. */
static void test_event__names_as_libpfm4(void **state)
{
	static const char *const names[] = {
		"cpu-clock",	  "task-clock",	  "page-faults",
		"context-switches", "cpu-migrations", "minor-faults",
		"major-faults",
	};

	(void)state;
	/* libpfm4 is a dependency of the build and the tests */
	assert_true(event__pfm_version() > 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (int user = 0; user < 2; user++) {
			struct perf_event_attr a, b;

			memset(&a, 0xa5, sizeof(a));
			memset(&b, 0xa5, sizeof(b));
			assert_int_equal(event__encode(names[i], user, &a), 0);
			assert_int_equal(event__encode_pfm(names[i], user, &b),
					 0);
			assert_int_equal(a.type, PERF_TYPE_SOFTWARE);
			assert_int_equal(a.type, b.type);
			assert_int_equal(a.config, b.config);
			assert_int_equal(a.config1, b.config1);
			assert_int_equal(a.config2, b.config2);
			assert_int_equal(a.exclude_kernel, b.exclude_kernel);
			assert_int_equal(a.exclude_kernel, user);
			assert_int_equal(a.exclude_hv, b.exclude_hv);
		}
	}
	/* a modifier, and a name only libpfm4 knows */
	{
		struct perf_event_attr a;

		memset(&a, 0, sizeof(a));
		assert_int_equal(event__encode("cpu-clock:u", false, &a), 0);
		assert_int_equal(a.type, PERF_TYPE_SOFTWARE);
		assert_int_equal(a.config, PERF_COUNT_SW_CPU_CLOCK);
		assert_int_equal(a.exclude_kernel, 1);
		assert_int_equal(event__encode("cycles", false, &a), 0);
		assert_int_equal(a.type, PERF_TYPE_HARDWARE);
		assert_int_equal(event__encode("no-such-event", false, &a),
				 -ENOENT);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event__names_as_libpfm4),
		cmocka_unit_test(test_sample__parses_every_field),
		cmocka_unit_test(test_sample__truncated_everywhere),
		cmocka_unit_test(test_sample__huge_callchain_nr),
		cmocka_unit_test(test_sample__stack_sizes_past_the_record),
		cmocka_unit_test(test_sample__no_user_regs),
		cmocka_unit_test(test_sample__comm_and_fork),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
