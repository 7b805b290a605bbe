// SPDX-License-Identifier: MIT
/* cgoprof coldstart's arithmetic on known inputs: the statistics over runs
 * (median, p90 by nearest rank, min, max), where a run's phases begin and
 * end (a boundary never hit takes the next one), which phase a sample's
 * time falls in, and a finished run's phase times and page faults. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cgoprof/coldstart.h"

static const char *const go_names[] = { "loader", "runtime-init",
					"package-init", "main-to-ready" };
static const char *const c_names[] = { "loader", "init", "main-to-ready" };

static void go_target(struct coldstart_target *t)
{
	memset(t, 0, sizeof(*t));
	t->is_go = true;
	t->phases = go_names;
	t->nphases = 4;
	for (int k = 0; k < COLDSTART_PROBE_READY; k++)
		t->have[k] = true;
}

static void c_target(struct coldstart_target *t)
{
	memset(t, 0, sizeof(*t));
	t->phases = c_names;
	t->nphases = 3;
	t->have[COLDSTART_PROBE_ENTRY] = t->have[COLDSTART_PROBE_MAIN] = true;
}

static void test_stat_odd(void **state)
{
	const double v[] = { 5, 1, 3 };
	struct coldstart_stat s = coldstart__stat(v, 3);

	(void)state;
	assert_true(s.median == 3);
	assert_true(s.p90 == 5);	/* rank ceil(2.7) = 3 */
	assert_true(s.min == 1);
	assert_true(s.max == 5);
	/* the input is left as it was */
	assert_true(v[0] == 5 && v[1] == 1 && v[2] == 3);
}

static void test_stat_even(void **state)
{
	const double v[] = { 4, 1, 3, 2 };
	const double ten[] = { 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
	struct coldstart_stat s = coldstart__stat(v, 4);

	(void)state;
	assert_true(s.median == 2.5);	/* the mean of the middle two */
	assert_true(s.p90 == 4);	/* rank ceil(3.6) = 4 */
	assert_true(s.min == 1 && s.max == 4);
	s = coldstart__stat(ten, 10);
	assert_true(s.median == 5.5);
	assert_true(s.p90 == 9);	/* rank 9, not 10 */
	assert_true(s.min == 1 && s.max == 10);
}

static void test_stat_edges(void **state)
{
	const double one = 7.25;
	struct coldstart_stat s = coldstart__stat(&one, 1);

	(void)state;
	assert_true(s.median == 7.25 && s.p90 == 7.25);
	assert_true(s.min == 7.25 && s.max == 7.25);
	s = coldstart__stat(NULL, 0);
	assert_true(s.median == 0 && s.p90 == 0 && s.min == 0 && s.max == 0);
	assert_true(coldstart__ms3(1.2344) == 1.234);
	assert_true(coldstart__ms3(1.2346) == 1.235);
}

static void test_bounds(void **state)
{
	struct coldstart_target t;
	uint64_t hit[COLDSTART_PROBE__COUNT] = { 0 };
	uint64_t b[COLDSTART_NPHASES_MAX + 1], missed = 0;

	(void)state;
	go_target(&t);
	hit[COLDSTART_PROBE_ENTRY] = 200;
	hit[COLDSTART_PROBE_RTMAIN] = 300;
	hit[COLDSTART_PROBE_MAIN] = 500;
	assert_int_equal(coldstart__bounds(&t, 100, hit, 900, b, &missed), 4);
	assert_true(b[0] == 100 && b[1] == 200 && b[2] == 300 &&
		    b[3] == 500 && b[4] == 900);
	assert_true(missed == 0);

	/* runtime.main never hit: runtime-init ends at main.main, and
	 * package-init is empty */
	hit[COLDSTART_PROBE_RTMAIN] = 0;
	assert_int_equal(coldstart__bounds(&t, 100, hit, 900, b, &missed), 4);
	assert_true(b[1] == 200 && b[2] == 500 && b[3] == 500);
	assert_true(missed == 1);

	/* the program exits in init: nothing after the entry was hit */
	hit[COLDSTART_PROBE_MAIN] = 0;
	missed = 0;
	coldstart__bounds(&t, 100, hit, 900, b, &missed);
	assert_true(b[1] == 200 && b[2] == 900 && b[3] == 900 && b[4] == 900);
	assert_true(missed == 2);

	/* no exec seen after the entry: the loader is empty */
	hit[COLDSTART_PROBE_MAIN] = 500;
	coldstart__bounds(&t, 250, hit, 900, b, NULL);
	assert_true(b[0] == 200 && b[1] == 200);

	c_target(&t);
	memset(hit, 0, sizeof(hit));
	hit[COLDSTART_PROBE_ENTRY] = 150;
	hit[COLDSTART_PROBE_MAIN] = 400;
	missed = 0;
	assert_int_equal(coldstart__bounds(&t, 100, hit, 700, b, &missed), 3);
	assert_true(b[0] == 100 && b[1] == 150 && b[2] == 400 && b[3] == 700);
	assert_true(missed == 0);
}

static void test_phase_at(void **state)
{
	struct coldstart_target t;
	uint64_t hit[COLDSTART_PROBE__COUNT] = { 0 };

	(void)state;
	go_target(&t);
	/* before any hit: the loader */
	assert_int_equal(coldstart__phase_at(&t, hit, 50, -1), 0);
	hit[COLDSTART_PROBE_ENTRY] = 100;
	hit[COLDSTART_PROBE_RTMAIN] = 200;
	hit[COLDSTART_PROBE_MAIN] = 300;
	assert_int_equal(coldstart__phase_at(&t, hit, 99, -1), 0);
	assert_int_equal(coldstart__phase_at(&t, hit, 100, -1), 1);
	assert_int_equal(coldstart__phase_at(&t, hit, 250, -1), 2);
	assert_int_equal(coldstart__phase_at(&t, hit, 300, -1), 3);
	assert_int_equal(coldstart__phase_at(&t, hit, 5000, -1), 3);
	/* a sample at main.main's first instruction, stamped before the
	 * hit: in the phase main.main starts */
	assert_int_equal(
		coldstart__phase_at(&t, hit, 290, COLDSTART_PROBE_MAIN), 3);
	/* after the --ready hit, or at its first instruction: no phase */
	hit[COLDSTART_PROBE_READY] = 400;
	assert_int_equal(coldstart__phase_at(&t, hit, 399, -1), 3);
	assert_int_equal(coldstart__phase_at(&t, hit, 400, -1),
			 COLDSTART_AFTER_READY);
	assert_int_equal(
		coldstart__phase_at(&t, hit, 350, COLDSTART_PROBE_READY),
		COLDSTART_AFTER_READY);

	c_target(&t);
	memset(hit, 0, sizeof(hit));
	hit[COLDSTART_PROBE_ENTRY] = 100;
	hit[COLDSTART_PROBE_MAIN] = 300;
	assert_int_equal(coldstart__phase_at(&t, hit, 150, -1), 1);
	assert_int_equal(coldstart__phase_at(&t, hit, 350, -1), 2);
	assert_int_equal(coldstart__phase_index(&t, "init"), 1);
	assert_int_equal(coldstart__phase_index(&t, "package-init"), -1);
}

/* A finished run: its start is the last exec before the entry, its end the
 * exit; every fault is in one phase, the last phase's end included. */
static void test_run_finish(void **state)
{
	struct coldstart_target t;
	struct coldstart_run r;
	struct coldstart_series s;
	uint64_t faults[] = { 1100000, 1500000, 2000000, 2500000,
			      4000000, 9000000, 9500000 };

	(void)state;
	c_target(&t);
	coldstart_run__init(&r, &t, NULL);
	r.pid = 42;
	/* a wrapper's exec, then the command's, then one after the entry
	 * (the command exec'ing something else): the second counts */
	r.execs[r.nexecs++] = 500000;
	r.execs[r.nexecs++] = 1000000;
	r.execs[r.nexecs++] = 12000000;
	r.hit[COLDSTART_PROBE_ENTRY] = 2000000;
	r.hit[COLDSTART_PROBE_MAIN] = 4000000;
	r.exit_t = 9000000;
	r.fault_t = faults;
	r.nfaults = sizeof(faults) / sizeof(faults[0]);
	coldstart_run__finish(&r, 1, 20000000, 1);
	assert_true(r.exec_t == 1000000);
	assert_true(r.end == 9000000);
	assert_int_equal(r.nphases, 3);
	assert_true(r.phase_ms[0] == 1.0);
	assert_true(r.phase_ms[1] == 2.0);
	assert_true(r.phase_ms[2] == 5.0);
	assert_true(r.total_ms == 8.0);
	assert_true(r.faults[0] == 2);	/* 1.1, 1.5 */
	assert_true(r.faults[1] == 2);	/* 2.0, 2.5 */
	assert_true(r.faults[2] == 2);	/* 4.0, 9.0 (the end); not 9.5 */
	assert_true(r.missed == 0);

	/* the same run twice, then one 2 ms longer in init */
	assert_int_equal(coldstart_series__init(&s, &t, 3), 0);
	assert_int_equal(coldstart_series__add(&s, &r, NULL), 0);
	assert_int_equal(coldstart_series__add(&s, &r, NULL), 0);
	r.hit[COLDSTART_PROBE_MAIN] = 6000000;
	r.exit_t = 11000000;
	coldstart_run__finish(&r, 1, 20000000, 3);
	assert_int_equal(coldstart_series__add(&s, &r, NULL), 0);
	assert_int_equal(s.runs, 3);
	assert_true(coldstart__stat(s.phase_ms[1], s.runs).median == 2.0);
	assert_true(coldstart__stat(s.phase_ms[1], s.runs).max == 4.0);
	assert_true(coldstart__stat(s.total_ms, s.runs).p90 == 10.0);
	assert_true(coldstart_series__total_median(&s) == 8.0);
	/* full */
	assert_int_equal(coldstart_series__add(&s, &r, NULL), -ENOSPC);
	coldstart_series__release(&s);

	/* no exit seen, no exec seen: the caller's times */
	r.fault_t = NULL;
	r.nfaults = 0;
	r.nexecs = 0;
	r.exit_t = 0;
	coldstart_run__finish(&r, 1500000, 7000000, 4);
	assert_true(r.exec_t == 1500000 && r.end == 7000000);
	assert_true(r.phase_ms[2] == 1.0);
	coldstart_run__release(&r);
}

/* A sample in the uprobes' page is unwound after the rings were read
 * further: its thread's later hits are in by then (the main thread hits
 * the entry, runtime.main and main.main probes within milliseconds), and
 * the hit it is stepping is still the latest at or before its time. */
static void test_probe_hits(void **state)
{
	struct coldstart_target t;
	struct coldstart_run r;
	struct record_opts ro = { 0 };
	struct probe_hit h;

	(void)state;
	c_target(&t);
	coldstart_run__init(&r, &t, NULL);
	coldstart_run__hook(&r, &ro);
	coldstart_run__note_hit(&r, 7, 1000, 0x10, 0x100);
	coldstart_run__note_hit(&r, 7, 3000, 0x20, 0x200);
	/* read from another CPU's ring after a later one */
	coldstart_run__note_hit(&r, 7, 2000, 0x30, 0x300);
	coldstart_run__note_hit(&r, 8, 2500, 0x40, 0x400);
	assert_true(ro.unwind.probe_hit(ro.unwind.probe_hit_ctx, 7, 1500, &h));
	assert_true(h.time == 1000 && h.ip == 0x10 && h.sp == 0x100);
	assert_true(ro.unwind.probe_hit(ro.unwind.probe_hit_ctx, 7, 2000, &h));
	assert_true(h.ip == 0x30);
	assert_true(ro.unwind.probe_hit(ro.unwind.probe_hit_ctx, 7, 2999, &h));
	assert_true(h.ip == 0x30);
	assert_true(ro.unwind.probe_hit(ro.unwind.probe_hit_ctx, 7, 9000, &h));
	assert_true(h.ip == 0x20);
	assert_false(ro.unwind.probe_hit(ro.unwind.probe_hit_ctx, 7, 999, &h));
	assert_false(ro.unwind.probe_hit(ro.unwind.probe_hit_ctx, 9, 9000, &h));
	assert_true(ro.unwind.probe_hit(ro.unwind.probe_hit_ctx, 8, 2600, &h));
	assert_true(h.ip == 0x40);
	/* a full history drops its oldest; one older than all it keeps is
	 * not filed */
	for (uint64_t i = 0; i < COLDSTART_HIT_DEPTH; i++)
		coldstart_run__note_hit(&r, 7, 10000 + i, 0x1000 + i, 0);
	coldstart_run__note_hit(&r, 7, 500, 0x50, 0);
	assert_false(ro.unwind.probe_hit(ro.unwind.probe_hit_ctx, 7, 9999, &h));
	assert_true(ro.unwind.probe_hit(ro.unwind.probe_hit_ctx, 7, 10000, &h));
	assert_true(h.ip == 0x1000);
	assert_true(ro.unwind.probe_hit(ro.unwind.probe_hit_ctx, 7, 99999, &h));
	assert_true(h.ip == 0x1000 + COLDSTART_HIT_DEPTH - 1);
	coldstart_run__release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat_odd),
		cmocka_unit_test(test_stat_even),
		cmocka_unit_test(test_stat_edges),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_phase_at),
		cmocka_unit_test(test_run_finish),
		cmocka_unit_test(test_probe_hits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
