// SPDX-License-Identifier: MIT
/* The folded writer on a hand-built profile: exact text, order, merging,
 * root options, annotations and names made safe for flamegraph.pl. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgoprof/export.h"

static const struct profile_frame f_main[] = {
	{ .name = "main", .kind = FRAME_KIND_C },
};
static const struct profile_frame f_inl[] = {
	{ .name = "helper", .kind = FRAME_KIND_C, .inlined = true },
	{ .name = "loop", .kind = FRAME_KIND_C },
};
static const struct profile_frame f_leaf[] = {
	{ .name = "ns::odd;name 123", .kind = FRAME_KIND_C },
};
static const struct profile_frame f_kern[] = {
	{ .name = "do_syscall_64", .kind = FRAME_KIND_KERNEL },
};
static const struct profile_frame f_go[] = {
	{ .name = "main.(*T).Run", .kind = FRAME_KIND_GO },
};

static const struct profile_location locs[] = {
	{ .nframes = 1, .frames = f_main },
	{ .nframes = 2, .frames = f_inl },
	{ .nframes = 1, .frames = f_leaf, .is_leaf = true },
	{ .nframes = 1, .frames = f_kern, .is_leaf = true },
	{ .nframes = 1, .frames = f_go, .is_leaf = true },
};

/* leaf first */
static const uint32_t s1[] = { 2, 1, 0 };
static const uint32_t s2[] = { 3, 2, 1, 0 };
static const uint32_t s3[] = { 4 };

static const struct profile_stack stacks[] = {
	{ .pid = 10, .tid = 10, .comm = "my prog", .nlocs = 3, .locs = s1,
	  .count = 5, .weight = 5000 },
	{ .pid = 10, .tid = 11, .comm = "my prog", .nlocs = 3, .locs = s1,
	  .count = 2, .weight = 2000 },
	{ .pid = 10, .tid = 10, .comm = "my prog", .nlocs = 4, .locs = s2,
	  .count = 1, .weight = 1000 },
	{ .pid = 12, .tid = 12, .comm = "gox", .nlocs = 1, .locs = s3,
	  .count = 7, .weight = 7000 },
};

static const struct profile prof = {
	.nlocations = 5, .locations = locs, .nstacks = 4, .stacks = stacks,
};

static char *render(const struct export_opts *o)
{
	static char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	assert_non_null(f);
	assert_int_equal(export__folded(&prof, o, f), 0);
	fclose(f);
	return buf;
}

static void test_folded__plain_sorted_merged(void **state)
{
	struct export_opts o = { 0 };

	(void)state;
	assert_string_equal(render(&o),
			    "gox;main.(*T).Run 7\n"
			    "my_prog;main;loop;helper;ns::odd:name_123 7\n"
			    "my_prog;main;loop;helper;ns::odd:name_123;do_syscall_64 1\n");
}

static void test_folded__tid_and_annotate(void **state)
{
	struct export_opts o = { .folded_tid = true, .folded_annotate = true };

	(void)state;
	assert_string_equal(
		render(&o),
		"gox-12/12;main.(*T).Run 7\n"
		"my_prog-10/10;main;loop;helper_[i];ns::odd:name_123 5\n"
		"my_prog-10/10;main;loop;helper_[i];ns::odd:name_123;do_syscall_64_[k] 1\n"
		"my_prog-10/11;main;loop;helper_[i];ns::odd:name_123 2\n");
}

static void test_folded__pid_root_and_weight(void **state)
{
	struct export_opts o = { .folded_pid = true, .folded_weight = true };

	(void)state;
	assert_string_equal(render(&o),
			    "gox-12;main.(*T).Run 7000\n"
			    "my_prog-10;main;loop;helper;ns::odd:name_123 7000\n"
			    "my_prog-10;main;loop;helper;ns::odd:name_123;do_syscall_64 1000\n");
}

static void test_folded__names_made_safe(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(export__folded_name("a;b", buf, sizeof(buf)), "a:b");
	assert_string_equal(export__folded_name("f 12", buf, sizeof(buf)), "f_12");
	assert_string_equal(export__folded_name("f\t99", buf, sizeof(buf)), "f?99");
	assert_string_equal(export__folded_name("x\ny", buf, sizeof(buf)), "x?y");
	assert_string_equal(export__folded_name("", buf, sizeof(buf)), "??");
	assert_string_equal(export__folded_name("trail ", buf, sizeof(buf)), "trail");
	assert_string_equal(export__folded_name("v2 f", buf, sizeof(buf)), "v2 f");
	assert_string_equal(export__folded_name("abcdef", buf, 4), "abc");
}

static void test_folded__format_from_path(void **state)
{
	(void)state;
	assert_int_equal(export__format_from_path("a.pb.gz"), EXPORT_PPROF);
	assert_int_equal(export__format_from_path("a.pprof"), EXPORT_PPROF);
	assert_int_equal(export__format_from_path("a.svg"), EXPORT_SVG);
	assert_int_equal(export__format_from_path("a.json"), EXPORT_JSON);
	assert_int_equal(export__format_from_path("a.folded"), EXPORT_FOLDED);
	assert_int_equal(export__format_from_path("-"), EXPORT_FOLDED);
}

/* One table for every command: each format has a name, suffixes that map
 * back to it, and a writer; the longest suffix decides. */
static void test_folded__format_registry(void **state)
{
	(void)state;
	for (int f = 0; f < EXPORT_FORMAT__COUNT; f++) {
		const struct export_format_desc *d = export__format_desc(f);
		char path[64];

		assert_non_null(d);
		assert_int_equal(d->format, f);
		assert_non_null(d->name);
		assert_non_null(d->write);
		assert_non_null(d->suffixes[0]);
		for (const char *const *s = d->suffixes; *s; s++) {
			snprintf(path, sizeof(path), "dir.svg/out%s", *s);
			assert_int_equal(export__format_from_path(path), f);
		}
	}
	assert_null(export__format_desc(EXPORT_FORMAT__COUNT));
	assert_int_equal(export__format_from_path("a.pb"), EXPORT_PPROF);
	assert_int_equal(export__format_from_path("a.txt"), EXPORT_FOLDED);
	assert_int_equal(export__format_from_path("a.folded.gz"),
			 EXPORT_FOLDED_GZ);
	assert_int_equal(export__format_from_path("a.gz"), EXPORT_FOLDED_GZ);
	assert_int_equal(export__format_from_path("a.svg.txt"), EXPORT_FOLDED);
	assert_int_equal(export__format_from_path("pb.gz"), EXPORT_FOLDED_GZ);
	assert_int_equal(export__format_from_path(".json"), EXPORT_JSON);
	assert_int_equal(export__format_from_path("noext"), EXPORT_FOLDED);
	assert_int_equal(export__format_from_path(""), EXPORT_FOLDED);
	assert_string_equal(export__format_desc(EXPORT_PPROF)->name, "pprof");
	assert_true(export__format_desc(EXPORT_JSON)->text);
	assert_true(export__format_desc(EXPORT_SVG)->text);
	assert_false(export__format_desc(EXPORT_PPROF)->text);
	assert_false(export__format_desc(EXPORT_FOLDED_GZ)->text);
}

static void test_folded__write_file_is_atomic(void **state)
{
	char dir[] = "/tmp/cgoprof-test-XXXXXX", path[128], line[256];
	struct stat st;
	struct export_opts o = { 0 };
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out.folded", dir);
	assert_int_equal(export__write_file(&prof, &o, path), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "gox;main.(*T).Run 7\n");
	fclose(f);
	unlink(path);
	/* a directory that does not exist: an error, nothing left behind */
	snprintf(path, sizeof(path), "%s/no/such/out.folded", dir);
	assert_int_equal(export__write_file(&prof, &o, path), -ENOENT);
	assert_int_equal(rmdir(dir), 0);
	/* a device is written in place, never replaced by a regular file */
	assert_int_equal(export__write_file(&prof, &o, "/dev/null"), 0);
	assert_int_equal(stat("/dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
}

/* Lines in the order of their text, whatever frames they share: a frame
 * that begins another's name ("foo", "foo.bar"; "a", "ab"), a line that
 * begins another. */
static void test_folded__order_is_the_texts(void **state)
{
	static const struct profile_frame fr[] = {
		{ .name = "main", .kind = FRAME_KIND_C },
		{ .name = "foo", .kind = FRAME_KIND_C },
		{ .name = "x", .kind = FRAME_KIND_C },
		{ .name = "foo.bar", .kind = FRAME_KIND_C },
		{ .name = "y", .kind = FRAME_KIND_C },
		{ .name = "a", .kind = FRAME_KIND_C },
		{ .name = "b", .kind = FRAME_KIND_C },
		{ .name = "ab", .kind = FRAME_KIND_C },
	};
	static const struct profile_location l[] = {
		{ .nframes = 1, .frames = &fr[0] }, { .nframes = 1, .frames = &fr[1] },
		{ .nframes = 1, .frames = &fr[2] }, { .nframes = 1, .frames = &fr[3] },
		{ .nframes = 1, .frames = &fr[4] }, { .nframes = 1, .frames = &fr[5] },
		{ .nframes = 1, .frames = &fr[6] }, { .nframes = 1, .frames = &fr[7] },
	};
	/* leaf first */
	static const uint32_t x[] = { 2, 1, 0 }, y[] = { 4, 3, 0 },
			      a[] = { 5, 0 }, ab[] = { 6, 5, 0 },
			      ab2[] = { 7, 0 };
	static const struct profile_stack st[] = {
		{ .pid = 1, .tid = 1, .comm = "p", .nlocs = 3, .locs = x, .count = 1 },
		{ .pid = 1, .tid = 1, .comm = "p", .nlocs = 3, .locs = y, .count = 2 },
		{ .pid = 1, .tid = 1, .comm = "p", .nlocs = 2, .locs = ab2, .count = 3 },
		{ .pid = 1, .tid = 1, .comm = "p", .nlocs = 3, .locs = ab, .count = 4 },
		{ .pid = 1, .tid = 1, .comm = "p", .nlocs = 2, .locs = a, .count = 5 },
	};
	static const struct profile pr = {
		.nlocations = 8, .locations = l, .nstacks = 5, .stacks = st,
	};
	struct export_opts o = { 0 };
	char buf[512];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	(void)state;
	assert_non_null(f);
	assert_int_equal(export__folded(&pr, &o, f), 0);
	fclose(f);
	assert_string_equal(buf, "p;main;a 5\n"
				 "p;main;a;b 4\n"
				 "p;main;ab 3\n"
				 "p;main;foo.bar;y 2\n"
				 "p;main;foo;x 1\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folded__plain_sorted_merged),
		cmocka_unit_test(test_folded__order_is_the_texts),
		cmocka_unit_test(test_folded__tid_and_annotate),
		cmocka_unit_test(test_folded__pid_root_and_weight),
		cmocka_unit_test(test_folded__names_made_safe),
		cmocka_unit_test(test_folded__format_from_path),
		cmocka_unit_test(test_folded__format_registry),
		cmocka_unit_test(test_folded__write_file_is_atomic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
