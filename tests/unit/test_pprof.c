/* Unit tests of the protobuf encoder and the pprof exporter: encoder output
 * on known bytes, and a hand-built profile exported, gunzipped and decoded
 * here field by field. With CGOPROF_PPROF_OUT set, the hand-built profile
 * is also written there for tests/e2e/t0401-pprof-tool.sh. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "cgoprof/export.h"
#include "cgoprof/protobuf.h"

/* ---- encoder ---- */

static void assert_bytes(const struct protobuf *pb, const uint8_t *want,
			 size_t len)
{
	assert_int_equal(pb->err, 0);
	assert_int_equal(pb->len, len);
	assert_memory_equal(pb->data, want, len);
}

static void test_pprof__varint(void **state)
{
	static const struct {
		uint64_t v;
		size_t len;
		uint8_t bytes[10];
	} cases[] = {
	    {0, 1, {0x00}},
	    {1, 1, {0x01}},
	    {127, 1, {0x7f}},
	    {128, 2, {0x80, 0x01}},
	    {300, 2, {0xac, 0x02}},
	    {1ull << 63,
	     10,
	     {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct protobuf pb;

		protobuf__init(&pb, NULL, NULL);
		protobuf__varint(&pb, cases[i].v);
		assert_bytes(&pb, cases[i].bytes, cases[i].len);
		protobuf__release(&pb);
	}
}

static void test_pprof__fields(void **state)
{
	static const uint8_t want[] = {
	    0x08, 0x96, 0x01,			/* 1: 150 */
	    0x10, 0xff, 0xff, 0xff, 0xff, 0xff, /* 2: -1, ten bytes */
	    0xff, 0xff, 0xff, 0xff, 0x01, 0x2a,
	    0x03, 'a',	'b',  'c', /* 5: "abc" */
	    0x32, 0x00,		   /* 6: "" */
	    0x38, 0x01,		   /* 7: true */
	};
	struct protobuf pb;

	(void)state;
	protobuf__init(&pb, NULL, NULL);
	protobuf__uint64(&pb, 1, 150);
	protobuf__int64(&pb, 2, -1);
	protobuf__uint64_opt(&pb, 3, 0);
	protobuf__bool_opt(&pb, 4, false);
	protobuf__string(&pb, 5, "abc");
	protobuf__string(&pb, 6, NULL);
	protobuf__bool_opt(&pb, 7, true);
	assert_bytes(&pb, want, sizeof(want));
	protobuf__release(&pb);
}

static void test_pprof__packed(void **state)
{
	static const uint64_t v[] = {1, 300, 3};
	static const uint8_t want[] = {0x0a, 0x04, 0x01, 0xac, 0x02, 0x03};
	struct protobuf pb;

	(void)state;
	protobuf__init(&pb, NULL, NULL);
	protobuf__packed_uint64(&pb, 1, v, 3);
	protobuf__packed_uint64(&pb, 2, v, 0); /* nothing */
	assert_bytes(&pb, want, sizeof(want));
	protobuf__release(&pb);
}

static void test_pprof__nested_length(void **state)
{
	static const uint8_t want[] = {0x1a, 0x03, 0x08, 0x96, 0x01};
	uint8_t blob[200];
	struct protobuf pb;
	size_t outer, inner;

	(void)state;
	protobuf__init(&pb, NULL, NULL);
	outer = protobuf__start_message(&pb);
	protobuf__uint64(&pb, 1, 150);
	protobuf__end_message(&pb, 3, outer);
	assert_bytes(&pb, want, sizeof(want));
	protobuf__release(&pb);

	/* a body of 205 bytes needs a two-byte length, slid into place */
	memset(blob, 0x5a, sizeof(blob));
	protobuf__init(&pb, NULL, NULL);
	outer = protobuf__start_message(&pb);
	inner = protobuf__start_message(&pb);
	protobuf__bytes(&pb, 2, blob, sizeof(blob));
	protobuf__end_message(&pb, 4, inner);
	protobuf__end_message(&pb, 1, outer);
	assert_int_equal(pb.err, 0);
	assert_int_equal(pb.nest, 0);
	/* outer: key, len 206 (2 bytes); inner: key, len 203 (2 bytes);
	 * blob: key, len 200 (2 bytes), 200 bytes */
	assert_int_equal(pb.len, 3 + 3 + 3 + 200);
	assert_int_equal(pb.data[0], 0x0a);
	assert_int_equal(pb.data[1], ((3 + 3 + 200) & 0x7f) | 0x80);
	assert_int_equal(pb.data[2], 0x01);
	assert_int_equal(pb.data[3], 0x22);
	assert_int_equal(pb.data[4], ((3 + 200) & 0x7f) | 0x80);
	assert_int_equal(pb.data[5], 0x01);
	assert_int_equal(pb.data[6], 0x12);
	assert_int_equal(pb.data[7], (200 & 0x7f) | 0x80);
	assert_int_equal(pb.data[8], 0x01);
	assert_memory_equal(pb.data + 9, blob, sizeof(blob));
	protobuf__release(&pb);
}

static void test_pprof__unbalanced_end(void **state)
{
	struct protobuf pb;

	(void)state;
	protobuf__init(&pb, NULL, NULL);
	protobuf__end_message(&pb, 1, 0);
	assert_int_equal(pb.err, -EINVAL);
	protobuf__uint64(&pb, 1, 1); /* sticky: a no-op now */
	assert_int_equal(pb.len, 0);
	protobuf__release(&pb);
}

struct collected {
	uint8_t *data;
	size_t len;
	unsigned int calls;
	int fail;
};

static int collect(void *ctx, const uint8_t *data, size_t len)
{
	struct collected *c = ctx;

	if (c->fail)
		return c->fail;
	c->data = realloc(c->data, c->len + len);
	assert_non_null(c->data);
	memcpy(c->data + c->len, data, len);
	c->len += len;
	c->calls++;
	return 0;
}

static void test_pprof__streams_to_sink(void **state)
{
	struct collected c = {0};
	struct protobuf pb;
	size_t i, msg;

	(void)state;
	protobuf__init(&pb, collect, &c);
	for (i = 0; i < 100000; i++)
		protobuf__uint64(&pb, 1, 1); /* two bytes each */
	/* flushed along the way, so the buffer never held it all */
	assert_true(c.calls > 0);
	assert_true(pb.cap < 200000);
	/* an open message is never cut */
	msg = protobuf__start_message(&pb);
	protobuf__uint64(&pb, 1, 1);
	assert_int_equal(protobuf__flush(&pb), -EINVAL);
	pb.err = 0;
	protobuf__end_message(&pb, 2, msg);
	assert_int_equal(protobuf__flush(&pb), 0);
	assert_int_equal(c.len, 200000 + 4);
	for (i = 0; i < 200000; i += 2) {
		assert_int_equal(c.data[i], 0x08);
		assert_int_equal(c.data[i + 1], 0x01);
	}
	protobuf__release(&pb);
	free(c.data);

	/* a failing sink sticks */
	memset(&c, 0, sizeof(c));
	c.fail = -EIO;
	protobuf__init(&pb, collect, &c);
	protobuf__uint64(&pb, 1, 1);
	assert_int_equal(protobuf__flush(&pb), -EIO);
	assert_int_equal(protobuf__flush(&pb), -EIO);
	protobuf__release(&pb);
}

static void test_pprof__string_interning(void **state)
{
	struct strintern t;
	char names[1000][16];
	size_t i;

	(void)state;
	assert_int_equal(strtab__init(&t), 0);
	assert_int_equal(t.len, 1);
	assert_string_equal(t.strs[0], "");
	assert_int_equal(strtab__intern(&t, ""), 0);
	assert_int_equal(strtab__intern(&t, NULL), 0);
	assert_int_equal(strtab__intern(&t, "samples"), 1);
	assert_int_equal(strtab__intern(&t, "count"), 2);
	assert_int_equal(strtab__intern(&t, "samples"), 1);
	/* equal contents, other pointer: same index */
	snprintf(names[0], sizeof(names[0]), "%s", "count");
	assert_int_equal(strtab__intern(&t, names[0]), 2);
	/* stable across growth of the hash table */
	for (i = 0; i < 1000; i++) {
		snprintf(names[i], sizeof(names[i]), "s%zu", i);
		assert_int_equal(strtab__intern(&t, names[i]), 3 + i);
	}
	for (i = 0; i < 1000; i++)
		assert_int_equal(strtab__intern(&t, names[i]), 3 + i);
	assert_int_equal(strtab__intern(&t, "samples"), 1);
	assert_int_equal(t.len, 1003);
	strintern__release(&t);
	strintern__release(&t); /* twice is fine */
}

static void test_pprof__strtab_encode(void **state)
{
	static const uint8_t want[] = {0x32, 0x00, 0x32, 0x01, 'x'};
	struct protobuf pb;
	struct strintern t;

	(void)state;
	assert_int_equal(strtab__init(&t), 0);
	assert_int_equal(strtab__intern(&t, "x"), 1);
	protobuf__init(&pb, NULL, NULL);
	strtab__encode(&t, &pb, 6);
	assert_bytes(&pb, want, sizeof(want));
	protobuf__release(&pb);
	strintern__release(&t);
}

/* ---- a hand-built profile ---- */

static const struct profile_frame frames_inline[] = {
    {"compute_inner", "helper.c", 12, FRAME_KIND_C, true},
    {"compute", "helper.c", 40, FRAME_KIND_C, false},
};
static const struct profile_frame frame_work = {"main.work", "/src/app/main.go",
						22, FRAME_KIND_GO, false};
static const struct profile_frame frame_main = {"main.main", "/src/app/main.go",
						10, FRAME_KIND_GO, false};
static const struct profile_frame frame_spin = {"helper_spin", NULL, 0,
						FRAME_KIND_C, false};
static const struct profile_frame frame_truncated = {
    "[truncated: max depth]", NULL, 0, FRAME_KIND_TRUNCATED, false};
static const struct profile_frame frame_cgocall = {
    "runtime.cgocall", "/usr/local/go/src/runtime/cgocall.go", 185,
    FRAME_KIND_CGO_BRIDGE, false};
static const struct profile_frame frame_work2 = {
    "main.work", "/src/app/main.go", 25, FRAME_KIND_GO, false};

enum { MAP_HELPER = 0, MAP_MAIN = 1 };

static const struct profile_mapping test_mappings[] = {
    [MAP_HELPER] = {0x7f0000000000, 0x7f0000200000, 0x28000,
		    "/opt/cgoprof-test/libhelper.so", "aabbccdd", false, false},
    [MAP_MAIN] = {0x400000, 0x800000, 0, "/usr/local/bin/app",
		  "0123456789abcdef", true, true},
};

static const struct profile_location test_locations[] = {
    {0x401000, MAP_MAIN, 2, frames_inline, true},
    {0x402005, MAP_MAIN, 1, &frame_work, false},
    {0x403010, MAP_MAIN, 1, &frame_main, false},
    {0x7f0000001234, MAP_HELPER, 1, &frame_spin, true},
    {0x1234, UINT32_MAX, 1, &frame_truncated, false},
    {0x404000, MAP_MAIN, 1, &frame_cgocall, false},
    {0x402100, MAP_MAIN, 1, &frame_work2, false},
};

static const uint32_t stack0[] = {0, 1, 2};
static const uint32_t stack1[] = {3, 5, 6, 2};
static const uint32_t stack2[] = {0, 4};

static const struct profile_stack test_stacks[] = {
    {100, 100, "app", "app", 3, stack0, 5, 50000000, STACK_COMPLETE},
    {100, 101, "app", "worker", 4, stack1, 3, 30000000, STACK_RECONSTRUCTED},
    {100, 101, "app", "worker", 2, stack2, 2, 20000000, STACK_TRUNCATED},
};

static struct profile test_profile(void)
{
	struct profile p = {
	    .command = "./app -n 3",
	    .event = "cpu-clock",
	    .period_unit = "nanoseconds",
	    .freq = 100,
	    .period = 10000000,
	    .time_nanos = 1700000000000000000ull,
	    .duration_nanos = 1500000000,
	    .nmappings = 2,
	    .nlocations = 7,
	    .nstacks = 3,
	    .mappings = test_mappings,
	    .locations = test_locations,
	    .stacks = test_stacks,
	    .total_samples = 10,
	    .lost_samples = 1,
	    .status_samples = {5, 2, 3},
	};

	return p;
}

/* ---- a tiny profile.proto decoder ---- */

#define MAX_ITEMS 32

struct reader {
	const uint8_t *p, *end;
};

static uint64_t read_varint(struct reader *r)
{
	uint64_t v = 0;
	unsigned int shift = 0;

	for (;;) {
		uint8_t b;

		assert_true(r->p < r->end);
		assert_true(shift < 64);
		b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
		shift += 7;
	}
}

struct field {
	uint32_t num;
	uint64_t v;	   /* wire type 0 */
	struct reader sub; /* wire type 2 */
	unsigned int wire;
};

static bool next_field(struct reader *r, struct field *f)
{
	uint64_t key, len;

	if (r->p == r->end)
		return false;
	key = read_varint(r);
	f->num = (uint32_t)(key >> 3);
	f->wire = key & 7;
	assert_true(f->num > 0);
	if (f->wire == 0) {
		f->v = read_varint(r);
	} else {
		assert_int_equal(f->wire, 2);
		len = read_varint(r);
		assert_true(len <= (uint64_t)(r->end - r->p));
		f->sub.p = r->p;
		f->sub.end = r->p + len;
		r->p += len;
	}
	return true;
}

/* repeated uint64, packed or not */
static size_t read_uint64s(const struct field *f, uint64_t *out, size_t n,
			   size_t max)
{
	struct reader r = f->sub;

	if (f->wire == 0) {
		assert_true(n < max);
		out[n++] = f->v;
		return n;
	}
	while (r.p < r.end) {
		assert_true(n < max);
		out[n++] = read_varint(&r);
	}
	return n;
}

struct value_type {
	int64_t type, unit;
};

struct label {
	int64_t key, str, num;
};

struct sample {
	uint64_t locs[MAX_ITEMS];
	size_t nlocs;
	uint64_t values[4];
	size_t nvalues;
	struct label labels[8];
	size_t nlabels;
};

struct mapping {
	uint64_t id, start, limit, offset;
	int64_t filename, build_id;
	bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
};

struct line {
	uint64_t function_id;
	int64_t line;
};

struct location {
	uint64_t id, mapping_id, address;
	struct line lines[4];
	size_t nlines;
};

struct function {
	uint64_t id;
	int64_t name, system_name, filename;
};

struct decoded {
	char *strings[256];
	size_t nstrings;
	struct value_type sample_types[4], period_type;
	size_t nsample_types;
	struct sample samples[MAX_ITEMS];
	size_t nsamples;
	struct mapping mappings[MAX_ITEMS];
	size_t nmappings;
	struct location locations[MAX_ITEMS];
	size_t nlocations;
	struct function functions[MAX_ITEMS];
	size_t nfunctions;
	int64_t time_nanos, duration_nanos, period;
	int64_t comments[4];
	size_t ncomments;
};

static struct value_type decode_value_type(struct reader r)
{
	struct value_type vt = {0};
	struct field f;

	while (next_field(&r, &f)) {
		if (f.num == 1)
			vt.type = (int64_t)f.v;
		else if (f.num == 2)
			vt.unit = (int64_t)f.v;
	}
	return vt;
}

static void decode_sample(struct reader r, struct sample *s)
{
	struct field f, g;

	while (next_field(&r, &f)) {
		if (f.num == 1) {
			s->nlocs =
			    read_uint64s(&f, s->locs, s->nlocs, MAX_ITEMS);
		} else if (f.num == 2) {
			s->nvalues = read_uint64s(&f, s->values, s->nvalues, 4);
		} else if (f.num == 3) {
			struct label *l = &s->labels[s->nlabels++];

			assert_true(s->nlabels <= 8);
			while (next_field(&f.sub, &g)) {
				if (g.num == 1)
					l->key = (int64_t)g.v;
				else if (g.num == 2)
					l->str = (int64_t)g.v;
				else if (g.num == 3)
					l->num = (int64_t)g.v;
			}
		}
	}
}

static void decode_mapping(struct reader r, struct mapping *m)
{
	struct field f;

	while (next_field(&r, &f)) {
		switch (f.num) {
		case 1:
			m->id = f.v;
			break;
		case 2:
			m->start = f.v;
			break;
		case 3:
			m->limit = f.v;
			break;
		case 4:
			m->offset = f.v;
			break;
		case 5:
			m->filename = (int64_t)f.v;
			break;
		case 6:
			m->build_id = (int64_t)f.v;
			break;
		case 7:
			m->has_functions = f.v;
			break;
		case 8:
			m->has_filenames = f.v;
			break;
		case 9:
			m->has_line_numbers = f.v;
			break;
		case 10:
			m->has_inline_frames = f.v;
			break;
		}
	}
}

static void decode_location(struct reader r, struct location *l)
{
	struct field f, g;

	while (next_field(&r, &f)) {
		if (f.num == 1) {
			l->id = f.v;
		} else if (f.num == 2) {
			l->mapping_id = f.v;
		} else if (f.num == 3) {
			l->address = f.v;
		} else if (f.num == 4) {
			struct line *ln = &l->lines[l->nlines++];

			assert_true(l->nlines <= 4);
			while (next_field(&f.sub, &g)) {
				if (g.num == 1)
					ln->function_id = g.v;
				else if (g.num == 2)
					ln->line = (int64_t)g.v;
			}
		}
	}
}

static void decode_function(struct reader r, struct function *fn)
{
	struct field f;

	while (next_field(&r, &f)) {
		if (f.num == 1)
			fn->id = f.v;
		else if (f.num == 2)
			fn->name = (int64_t)f.v;
		else if (f.num == 3)
			fn->system_name = (int64_t)f.v;
		else if (f.num == 4)
			fn->filename = (int64_t)f.v;
	}
}

static void decode_profile(const uint8_t *data, size_t len, struct decoded *d)
{
	struct reader r = {data, data + len};
	struct field f;

	memset(d, 0, sizeof(*d));
	while (next_field(&r, &f)) {
		switch (f.num) {
		case 1:
			assert_true(d->nsample_types < 4);
			d->sample_types[d->nsample_types++] =
			    decode_value_type(f.sub);
			break;
		case 2:
			assert_true(d->nsamples < MAX_ITEMS);
			decode_sample(f.sub, &d->samples[d->nsamples++]);
			break;
		case 3:
			assert_true(d->nmappings < MAX_ITEMS);
			decode_mapping(f.sub, &d->mappings[d->nmappings++]);
			break;
		case 4:
			assert_true(d->nlocations < MAX_ITEMS);
			decode_location(f.sub, &d->locations[d->nlocations++]);
			break;
		case 5:
			assert_true(d->nfunctions < MAX_ITEMS);
			decode_function(f.sub, &d->functions[d->nfunctions++]);
			break;
		case 6:
			assert_true(d->nstrings < 256);
			d->strings[d->nstrings] =
			    strndup((const char *)f.sub.p,
				    (size_t)(f.sub.end - f.sub.p));
			assert_non_null(d->strings[d->nstrings]);
			d->nstrings++;
			break;
		case 9:
			d->time_nanos = (int64_t)f.v;
			break;
		case 10:
			d->duration_nanos = (int64_t)f.v;
			break;
		case 11:
			d->period_type = decode_value_type(f.sub);
			break;
		case 12:
			d->period = (int64_t)f.v;
			break;
		case 13:
			assert_true(d->ncomments < 4);
			d->comments[d->ncomments++] = (int64_t)f.v;
			break;
		default:
			fail_msg("unexpected Profile field %u", f.num);
		}
	}
}

static void decoded_free(struct decoded *d)
{
	size_t i;

	for (i = 0; i < d->nstrings; i++)
		free(d->strings[i]);
}

static const char *str(const struct decoded *d, int64_t idx)
{
	assert_true(idx >= 0 && (size_t)idx < d->nstrings);
	return d->strings[idx];
}

static const struct function *function_by_id(const struct decoded *d,
					     uint64_t id)
{
	assert_true(id >= 1 && id <= d->nfunctions);
	return &d->functions[id - 1];
}

static uint8_t *gunzip(const uint8_t *in, size_t len, size_t *out_len)
{
	size_t cap = 1 << 16;
	uint8_t *out = malloc(cap);
	z_stream z = {0};
	int ret;

	assert_non_null(out);
	/* 31: gzip only, so a zlib or raw stream fails the test */
	assert_int_equal(inflateInit2(&z, 31), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	do {
		if (z.total_out == cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		z.next_out = out + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out);
		ret = inflate(&z, Z_NO_FLUSH);
		assert_true(ret == Z_OK || ret == Z_STREAM_END);
	} while (ret != Z_STREAM_END);
	assert_int_equal(z.avail_in, 0);
	*out_len = z.total_out;
	inflateEnd(&z);
	return out;
}

/* Exports @p into memory; returns export__pprof()'s result. */
static int export_to_memory(const struct profile *p, uint8_t **out, size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	int err;

	assert_non_null(f);
	err = export__pprof(p, NULL, f);
	assert_int_equal(fclose(f), 0);
	*out = (uint8_t *)buf;
	*len = size;
	return err;
}

static void export_and_decode(const struct profile *p, struct decoded *d)
{
	uint8_t *gz, *raw;
	size_t gz_len, raw_len;

	assert_int_equal(export_to_memory(p, &gz, &gz_len), 0);
	assert_true(gz_len > 18);
	assert_int_equal(gz[0], 0x1f); /* gzip magic */
	assert_int_equal(gz[1], 0x8b);
	raw = gunzip(gz, gz_len, &raw_len);
	decode_profile(raw, raw_len, d);
	free(raw);
	free(gz);
}

static void test_pprof__export_decodes(void **state)
{
	struct profile p = test_profile();
	struct decoded d;
	uint64_t total_count = 0, total_ns = 0;
	size_t i, j;

	(void)state;
	export_and_decode(&p, &d);

	assert_true(d.nstrings > 0);
	assert_string_equal(d.strings[0], "");
	for (i = 1; i < d.nstrings; i++)
		for (j = 0; j < i; j++)
			assert_string_not_equal(d.strings[i], d.strings[j]);

	/* Go's CPU convention */
	assert_int_equal(d.nsample_types, 2);
	assert_string_equal(str(&d, d.sample_types[0].type), "samples");
	assert_string_equal(str(&d, d.sample_types[0].unit), "count");
	assert_string_equal(str(&d, d.sample_types[1].type), "cpu");
	assert_string_equal(str(&d, d.sample_types[1].unit), "nanoseconds");
	assert_string_equal(str(&d, d.period_type.type), "cpu");
	assert_string_equal(str(&d, d.period_type.unit), "nanoseconds");
	assert_int_equal(d.period, 10000000);
	assert_int_equal(d.time_nanos, 1700000000000000000ll);
	assert_int_equal(d.duration_nanos, 1500000000);

	/* main executable first, ids from 1 in output order */
	assert_int_equal(d.nmappings, 2);
	assert_int_equal(d.mappings[0].id, 1);
	assert_string_equal(str(&d, d.mappings[0].filename),
			    "/usr/local/bin/app");
	assert_string_equal(str(&d, d.mappings[0].build_id),
			    "0123456789abcdef");
	assert_int_equal(d.mappings[0].start, 0x400000);
	assert_int_equal(d.mappings[0].limit, 0x800000);
	assert_true(d.mappings[0].has_functions);
	assert_true(d.mappings[0].has_filenames);
	assert_true(d.mappings[0].has_line_numbers);
	assert_true(d.mappings[0].has_inline_frames);
	assert_int_equal(d.mappings[1].id, 2);
	assert_string_equal(str(&d, d.mappings[1].filename),
			    "/opt/cgoprof-test/libhelper.so");
	assert_string_equal(str(&d, d.mappings[1].build_id), "aabbccdd");
	assert_int_equal(d.mappings[1].offset, 0x28000);
	assert_false(d.mappings[1].has_functions);
	assert_false(d.mappings[1].has_filenames);
	assert_false(d.mappings[1].has_line_numbers);
	assert_false(d.mappings[1].has_inline_frames);

	/* one location per profile location, id = index + 1 */
	assert_int_equal(d.nlocations, 7);
	for (i = 0; i < d.nlocations; i++) {
		assert_int_equal(d.locations[i].id, i + 1);
		assert_true(d.locations[i].nlines >= 1);
		for (j = 0; j < d.locations[i].nlines; j++)
			function_by_id(&d, d.locations[i].lines[j].function_id);
	}
	/* leaf: the sampled ip; inline frames innermost first */
	assert_int_equal(d.locations[0].address, 0x401000);
	assert_int_equal(d.locations[0].mapping_id, 1);
	assert_int_equal(d.locations[0].nlines, 2);
	assert_string_equal(
	    str(&d,
		function_by_id(&d, d.locations[0].lines[0].function_id)->name),
	    "compute_inner");
	assert_int_equal(d.locations[0].lines[0].line, 12);
	assert_string_equal(
	    str(&d,
		function_by_id(&d, d.locations[0].lines[1].function_id)->name),
	    "compute");
	assert_int_equal(d.locations[0].lines[1].line, 40);
	/* callers at return address - 1 */
	assert_int_equal(d.locations[1].address, 0x402004);
	assert_int_equal(d.locations[2].address, 0x40300f);
	assert_int_equal(d.locations[6].address, 0x4020ff);
	/* a leaf in the second mapping keeps its address */
	assert_int_equal(d.locations[3].address, 0x7f0000001234);
	assert_int_equal(d.locations[3].mapping_id, 2);
	/* the truncation pseudo-frame has neither mapping nor address */
	assert_int_equal(d.locations[4].mapping_id, 0);
	assert_int_equal(d.locations[4].address, 0);
	assert_string_equal(
	    str(&d,
		function_by_id(&d, d.locations[4].lines[0].function_id)->name),
	    "[truncated: max depth]");

	/* functions deduplicated by (name, file): main.work is shared by
	 * locations 2 and 7 */
	assert_int_equal(d.nfunctions, 7);
	for (i = 0; i < d.nfunctions; i++) {
		assert_int_equal(d.functions[i].id, i + 1);
		assert_int_equal(d.functions[i].name,
				 d.functions[i].system_name);
		assert_true(*str(&d, d.functions[i].name));
	}
	assert_int_equal(d.locations[1].lines[0].function_id,
			 d.locations[6].lines[0].function_id);
	assert_string_equal(
	    str(&d, function_by_id(&d, d.locations[1].lines[0].function_id)
			->filename),
	    "/src/app/main.go");

	/* samples: leaf first, [count, ns], labels */
	assert_int_equal(d.nsamples, 3);
	for (i = 0; i < d.nsamples; i++) {
		const struct sample *s = &d.samples[i];
		const struct profile_stack *ps = &p.stacks[i];

		assert_int_equal(s->nvalues, 2);
		assert_int_equal(s->values[0], ps->count);
		assert_int_equal(s->values[1], ps->weight);
		total_count += s->values[0];
		total_ns += s->values[1];
		assert_int_equal(s->nlocs, ps->nlocs);
		for (j = 0; j < s->nlocs; j++) {
			assert_int_equal(s->locs[j], ps->locs[j] + 1);
			assert_true(s->locs[j] >= 1 &&
				    s->locs[j] <= d.nlocations);
		}
		assert_int_equal(s->nlabels, 4);
		assert_string_equal(str(&d, s->labels[0].key), "pid");
		assert_int_equal(s->labels[0].num, ps->pid);
		assert_string_equal(str(&d, s->labels[1].key), "tid");
		assert_int_equal(s->labels[1].num, ps->tid);
		assert_string_equal(str(&d, s->labels[2].key), "comm");
		assert_string_equal(str(&d, s->labels[2].str), ps->comm);
		assert_string_equal(str(&d, s->labels[3].key), "thread_comm");
		assert_string_equal(str(&d, s->labels[3].str), ps->thread_comm);
	}
	assert_int_equal(total_count, 10);
	assert_int_equal(total_ns, 100000000);

	/* stack status shares, and the lost samples */
	assert_int_equal(d.ncomments, 2);
	assert_non_null(strstr(str(&d, d.comments[0]), "50.0% complete"));
	assert_non_null(strstr(str(&d, d.comments[0]), "20.0% truncated"));
	assert_non_null(strstr(str(&d, d.comments[0]), "30.0% reconstructed"));
	assert_non_null(strstr(str(&d, d.comments[1]), "lost samples: 1"));
	decoded_free(&d);
}

/* Each has_* flag of a mapping says what cgoprof has for it, as Go's
 * encoder writes a flag only when it holds: pprof re-symbolizes a mapping
 * that has none of functions, file names and line numbers from the
 * binary, so a stripped library must not claim them. */
enum {
	FM_NAMES_ONLY,	/* .dynsym names: no DWARF */
	FM_PLACEHOLDERS,	/* read, but no symbol: "[lib+0xoff]" */
	FM_FILES,	/* file names, no line numbers */
	FM_FULL,	/* DWARF with inlining */
	FM_KERNEL,	/* kallsyms names */
	FM_NOT_READ,	/* never opened */
	FM__COUNT,
};

static const struct profile_frame fm_dynsym = {"stripped_fn", NULL, 0,
					       FRAME_KIND_C, false};
static const struct profile_frame fm_placeholder = {
    "[libnosym.so+0x1234]", NULL, 0, FRAME_KIND_UNKNOWN, false};
static const struct profile_frame fm_file = {"file_fn", "f.c", 0,
					     FRAME_KIND_C, false};
static const struct profile_frame fm_inlined[] = {
    {"inner", "g.c", 3, FRAME_KIND_C, true},
    {"outer", "g.c", 9, FRAME_KIND_C, false},
};
static const struct profile_frame fm_kernel = {"do_syscall_64", NULL, 0,
					       FRAME_KIND_KERNEL, false};
static const struct profile_frame fm_unread = {
    "[libgone.so+0x10]", NULL, 0, FRAME_KIND_UNKNOWN, false};

static const struct profile_mapping fm_mappings[FM__COUNT] = {
    [FM_NAMES_ONLY] = {0x10000, 0x20000, 0, "/usr/lib/libstripped.so", "01",
		       true, true},
    [FM_PLACEHOLDERS] = {0x30000, 0x40000, 0, "/usr/lib/libnosym.so", "",
			 true, false},
    [FM_FILES] = {0x50000, 0x60000, 0, "/usr/lib/libfiles.so", "", true,
		  false},
    [FM_FULL] = {0x70000, 0x80000, 0, "/usr/lib/libfull.so", "", true,
		 false},
    [FM_KERNEL] = {0xffffffff80000000ull, UINT64_MAX, 0,
		   "[kernel.kallsyms]", "", true, false},
    [FM_NOT_READ] = {0x90000, 0xa0000, 0, "/usr/lib/libgone.so", "", false,
		     false},
};

static const struct profile_location fm_locations[] = {
    {0x10010, FM_NAMES_ONLY, 1, &fm_dynsym, true},
    {0x31234, FM_PLACEHOLDERS, 1, &fm_placeholder, false},
    {0x50010, FM_FILES, 1, &fm_file, false},
    {0x70010, FM_FULL, 2, fm_inlined, false},
    {0xffffffff81000000ull, FM_KERNEL, 1, &fm_kernel, false},
    {0x90010, FM_NOT_READ, 1, &fm_unread, false},
};

static const uint32_t fm_stack[] = {0, 1, 2, 3, 4, 5};

static const struct profile_stack fm_stacks[] = {
    {7, 7, "app", "app", 6, fm_stack, 1, 1000000, STACK_COMPLETE},
};

static void test_pprof__mapping_flags(void **state)
{
	static const struct {
		const char *file;
		bool functions, filenames, line_numbers, inline_frames;
	} want[FM__COUNT] = {
	    /* the main executable first */
	    {"/usr/lib/libstripped.so", true, false, false, false},
	    {"/usr/lib/libnosym.so", false, false, false, false},
	    {"/usr/lib/libfiles.so", true, true, false, false},
	    {"/usr/lib/libfull.so", true, true, true, true},
	    {"[kernel.kallsyms]", true, false, false, false},
	    {"/usr/lib/libgone.so", false, false, false, false},
	};
	struct profile p = {
	    .event = "cpu-clock",
	    .period_unit = "nanoseconds",
	    .nmappings = FM__COUNT,
	    .nlocations = sizeof(fm_locations) / sizeof(fm_locations[0]),
	    .nstacks = 1,
	    .mappings = fm_mappings,
	    .locations = fm_locations,
	    .stacks = fm_stacks,
	    .total_samples = 1,
	};
	struct decoded d;

	(void)state;
	export_and_decode(&p, &d);
	assert_int_equal(d.nmappings, FM__COUNT);
	for (size_t i = 0; i < FM__COUNT; i++) {
		const struct mapping *m = &d.mappings[i];

		assert_string_equal(str(&d, m->filename), want[i].file);
		if (m->has_functions != want[i].functions ||
		    m->has_filenames != want[i].filenames ||
		    m->has_line_numbers != want[i].line_numbers ||
		    m->has_inline_frames != want[i].inline_frames)
			fail_msg("%s: has functions %d filenames %d "
				 "line_numbers %d inline_frames %d, want "
				 "%d %d %d %d",
				 want[i].file, m->has_functions,
				 m->has_filenames, m->has_line_numbers,
				 m->has_inline_frames, want[i].functions,
				 want[i].filenames, want[i].line_numbers,
				 want[i].inline_frames);
	}
	decoded_free(&d);
}

static void test_pprof__count_event(void **state)
{
	struct profile p = test_profile();
	struct decoded d;

	(void)state;
	p.event = "cycles";
	p.period_unit = "count";
	p.period = 100000;
	export_and_decode(&p, &d);
	assert_int_equal(d.nsample_types, 2);
	assert_string_equal(str(&d, d.sample_types[0].type), "samples");
	assert_string_equal(str(&d, d.sample_types[0].unit), "count");
	assert_string_equal(str(&d, d.sample_types[1].type), "cycles");
	assert_string_equal(str(&d, d.sample_types[1].unit), "count");
	assert_string_equal(str(&d, d.period_type.type), "cycles");
	assert_int_equal(d.period, 100000);
	decoded_free(&d);
}

static void test_pprof__empty_profile(void **state)
{
	struct profile p = {.event = "cpu-clock", .period_unit = "nanoseconds"};
	struct decoded d;

	(void)state;
	export_and_decode(&p, &d);
	assert_int_equal(d.nsamples, 0);
	assert_int_equal(d.nlocations, 0);
	assert_int_equal(d.nmappings, 0);
	assert_int_equal(d.nsample_types, 2);
	assert_string_equal(d.strings[0], "");
	decoded_free(&d);
}

/* 100 000 stacks of depth 20 stream through the encoder and deflate in
 * many chunks and come back whole. */
static void test_pprof__large_profile(void **state)
{
	enum { NSTACKS = 100000, DEPTH = 20, NLOCS = 1000 };
	struct profile_frame *frames = calloc(NLOCS, sizeof(*frames));
	struct profile_location *locs = calloc(NLOCS, sizeof(*locs));
	struct profile_stack *stacks = calloc(NSTACKS, sizeof(*stacks));
	uint32_t *ids = calloc((size_t)NSTACKS * DEPTH, sizeof(*ids));
	char(*names)[32] = calloc(NLOCS, sizeof(*names));
	struct profile p = test_profile();
	uint64_t rng = 42, want_count = 0, got_count = 0;
	size_t gz_len, raw_len, i, d, nsamples = 0, nlocations = 0;
	uint8_t *gz, *raw;
	struct reader r;
	struct field f, g;

	(void)state;
	assert_true(frames && locs && stacks && ids && names);
	for (i = 0; i < NLOCS; i++) {
		snprintf(names[i], sizeof(names[i]), "pkg.func%zu", i);
		frames[i] = (struct profile_frame){
		    names[i], "f.go", (uint32_t)i, FRAME_KIND_GO, false};
		locs[i] = (struct profile_location){0x400000 + 16 * i, MAP_MAIN,
						    1, &frames[i], i == 0};
	}
	for (i = 0; i < NSTACKS; i++) {
		for (d = 0; d < DEPTH; d++) {
			rng = rng * 6364136223846793005ull + 1;
			ids[i * DEPTH + d] = (uint32_t)((rng >> 33) % NLOCS);
		}
		stacks[i] = (struct profile_stack){1,
						   1,
						   "app",
						   "app",
						   DEPTH,
						   &ids[i * DEPTH],
						   1 + i % 3,
						   (1 + i % 3) * 10000000,
						   STACK_COMPLETE};
		want_count += stacks[i].count;
	}
	p.nlocations = NLOCS;
	p.locations = locs;
	p.nstacks = NSTACKS;
	p.stacks = stacks;

	assert_int_equal(export_to_memory(&p, &gz, &gz_len), 0);
	raw = gunzip(gz, gz_len, &raw_len);
	print_message(
	    "100000 stacks: %zu bytes of profile.proto, %zu gzipped\n", raw_len,
	    gz_len);
	r = (struct reader){raw, raw + raw_len};
	while (next_field(&r, &f)) {
		if (f.num == 4)
			nlocations++;
		if (f.num != 2)
			continue;
		nsamples++;
		while (next_field(&f.sub, &g)) {
			uint64_t values[2];

			if (g.num == 2) {
				assert_int_equal(read_uint64s(&g, values, 0, 2),
						 2);
				got_count += values[0];
			}
		}
	}
	assert_int_equal(nsamples, NSTACKS);
	assert_int_equal(nlocations, NLOCS);
	assert_int_equal(got_count, want_count);
	free(raw);
	free(gz);
	free(frames);
	free(locs);
	free(stacks);
	free(ids);
	free(names);
}

/* Bad indexes are refused before a byte is written. */
static void assert_invalid(const struct profile *p)
{
	uint8_t *out;
	size_t len;

	assert_int_equal(export_to_memory(p, &out, &len), -EINVAL);
	assert_int_equal(len, 0);
	free(out);
}

static void test_pprof__invalid_profile(void **state)
{
	static const uint32_t bad_stack[] = {0, 7};
	static const struct profile_stack bad_stacks[] = {
	    {1, 1, "x", "x", 2, bad_stack, 1, 1, STACK_COMPLETE},
	};
	struct profile_location bad_locations[7];
	struct profile p = test_profile();

	(void)state;
	/* location index out of range */
	p.stacks = bad_stacks;
	p.nstacks = 1;
	assert_invalid(&p);

	/* mapping index out of range */
	p = test_profile();
	memcpy(bad_locations, test_locations, sizeof(bad_locations));
	bad_locations[3].mapping = 2;
	p.locations = bad_locations;
	assert_invalid(&p);

	/* a location without frames */
	memcpy(bad_locations, test_locations, sizeof(bad_locations));
	bad_locations[1].nframes = 0;
	assert_invalid(&p);

	/* counts without arrays */
	p = test_profile();
	p.locations = NULL;
	assert_invalid(&p);

	assert_int_equal(export__pprof(NULL, NULL, stdout), -EINVAL);
}

/* For tests/e2e/t0401-pprof-tool.sh: the hand-built profile, on disk. */
static void test_pprof__write_file(void **state)
{
	const char *path = getenv("CGOPROF_PPROF_OUT");
	struct profile p = test_profile();
	FILE *f;

	(void)state;
	if (!path || !*path)
		return; /* nothing asked for */
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(export__pprof(&p, NULL, f), 0);
	assert_int_equal(fclose(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pprof__varint),
	    cmocka_unit_test(test_pprof__fields),
	    cmocka_unit_test(test_pprof__packed),
	    cmocka_unit_test(test_pprof__nested_length),
	    cmocka_unit_test(test_pprof__unbalanced_end),
	    cmocka_unit_test(test_pprof__streams_to_sink),
	    cmocka_unit_test(test_pprof__string_interning),
	    cmocka_unit_test(test_pprof__strtab_encode),
	    cmocka_unit_test(test_pprof__export_decodes),
	    cmocka_unit_test(test_pprof__mapping_flags),
	    cmocka_unit_test(test_pprof__count_event),
	    cmocka_unit_test(test_pprof__empty_profile),
	    cmocka_unit_test(test_pprof__large_profile),
	    cmocka_unit_test(test_pprof__invalid_profile),
	    cmocka_unit_test(test_pprof__write_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
