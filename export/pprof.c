/* pprof export: a gzipped profile.proto written by the streaming encoder. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cgoprof/arena.h"
#include "cgoprof/export.h"
#include "cgoprof/protobuf.h"
#include "internal.h"

/* Field numbers of github.com/google/pprof's proto/profile.proto */
enum {
	PROFILE_SAMPLE_TYPE = 1,
	PROFILE_SAMPLE = 2,
	PROFILE_MAPPING = 3,
	PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6,
	PROFILE_TIME_NANOS = 9,
	PROFILE_DURATION_NANOS = 10,
	PROFILE_PERIOD_TYPE = 11,
	PROFILE_PERIOD = 12,
	PROFILE_COMMENT = 13,
	VALUE_TYPE_TYPE = 1,
	VALUE_TYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1,
	SAMPLE_VALUE = 2,
	SAMPLE_LABEL = 3,
	LABEL_KEY = 1,
	LABEL_STR = 2,
	LABEL_NUM = 3,
	MAPPING_ID = 1,
	MAPPING_MEMORY_START = 2,
	MAPPING_MEMORY_LIMIT = 3,
	MAPPING_FILE_OFFSET = 4,
	MAPPING_FILENAME = 5,
	MAPPING_BUILD_ID = 6,
	MAPPING_HAS_FUNCTIONS = 7,
	MAPPING_HAS_FILENAMES = 8,
	MAPPING_HAS_LINE_NUMBERS = 9,
	MAPPING_HAS_INLINE_FRAMES = 10,
	LOCATION_ID = 1,
	LOCATION_MAPPING_ID = 2,
	LOCATION_ADDRESS = 3,
	LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1,
	LINE_LINE = 2,
	FUNCTION_ID = 1,
	FUNCTION_NAME = 2,
	FUNCTION_SYSTEM_NAME = 3,
	FUNCTION_FILENAME = 4,
};

#define CGOPROF_GZIP_CHUNK (64 * 1024)

struct function_key {
	int64_t name, file; /* string table indexes */
};

/* Functions deduplicated by (name, file); id = index + 1. */
struct function_table {
	struct function_key *funcs;
	size_t len, cap;
	struct htab index;
};

static bool function_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct function_key *a = &((const struct function_key *)ctx)[idx];
	const struct function_key *b = key;

	return a->name == b->name && a->file == b->file;
}

/* Returns the function id (>= 1) of (@name, @file) or -ENOMEM. */
static int64_t function_table_id(struct function_table *ft, int64_t name,
				 int64_t file)
{
	struct function_key key = { name, file };
	/* string indexes are below 2^32 */
	uint32_t hash = (uint32_t)htab__mix64((uint64_t)name << 32 ^
					      (uint64_t)file);
	uint32_t idx = htab__find(&ft->index, hash, function_eq, ft->funcs,
				  &key);

	if (idx != HTAB_NONE)
		return (int64_t)idx + 1;
	if (array__grow((void **)&ft->funcs, &ft->cap, ft->len + 1,
			sizeof(*ft->funcs), 256))
		return -ENOMEM;
	ft->funcs[ft->len] = key;
	if (htab__insert(&ft->index, hash, (uint32_t)ft->len))
		return -ENOMEM;
	return (int64_t)++ft->len;
}

/* The deflate stream between the encoder and the FILE. */
struct gzip_sink {
	z_stream z;
	bool live;
	FILE *f;
	uint8_t out[CGOPROF_GZIP_CHUNK];
};

static int gzip_run(struct gzip_sink *gz, int flush)
{
	int ret, err;
	size_t n;

	do {
		gz->z.next_out = gz->out;
		gz->z.avail_out = sizeof(gz->out);
		ret = deflate(&gz->z, flush);
		if (ret == Z_STREAM_ERROR)
			return -EINVAL;
		n = sizeof(gz->out) - gz->z.avail_out;
		errno = 0;
		if (n && fwrite(gz->out, 1, n, gz->f) != n) {
			err = errno ? -errno : -EIO;
			return err;
		}
	} while (gz->z.avail_out == 0 ||
		 (flush == Z_FINISH && ret != Z_STREAM_END));
	return 0;
}

static int gzip_write(void *ctx, const uint8_t *data, size_t len)
{
	struct gzip_sink *gz = ctx;
	int err;

	while (len) {
		uInt n = len > UINT32_MAX ? UINT32_MAX : (uInt)len;

		gz->z.next_in = (Bytef *)data;
		gz->z.avail_in = n;
		err = gzip_run(gz, Z_NO_FLUSH);
		if (err)
			return err;
		data += n;
		len -= n;
	}
	return 0;
}

struct pprof_writer {
	const struct profile *p;
	struct protobuf pb;
	struct strintern strs;
	struct function_table funcs;
	uint32_t *mapping_id; /* profile mapping index -> output id */
	uint8_t *mapping_has; /* profile mapping index -> MAPPING_HAS_* */
	uint64_t *scratch;    /* location ids of one sample */
	int err;
};

/* Interns @s or records -ENOMEM; returns 0 after a failure. */
static int64_t intern(struct pprof_writer *w, const char *s)
{
	int64_t idx = strtab__intern(&w->strs, s);

	if (idx < 0) {
		if (!w->err)
			w->err = (int)idx;
		return 0;
	}
	return idx;
}

static void write_value_type(struct pprof_writer *w, uint32_t field,
			     int64_t type, int64_t unit)
{
	size_t start = protobuf__start_message(&w->pb);

	protobuf__int64_opt(&w->pb, VALUE_TYPE_TYPE, type);
	protobuf__int64_opt(&w->pb, VALUE_TYPE_UNIT, unit);
	protobuf__end_message(&w->pb, field, start);
}

static void write_num_label(struct pprof_writer *w, int64_t key, int64_t num)
{
	size_t start = protobuf__start_message(&w->pb);

	protobuf__int64(&w->pb, LABEL_KEY, key);
	protobuf__int64(&w->pb, LABEL_NUM, num);
	protobuf__end_message(&w->pb, SAMPLE_LABEL, start);
}

static void write_str_label(struct pprof_writer *w, int64_t key,
			    const char *str)
{
	size_t start;
	int64_t idx;

	if (!str || !*str)
		return;
	idx = intern(w, str);
	start = protobuf__start_message(&w->pb);
	protobuf__int64(&w->pb, LABEL_KEY, key);
	protobuf__int64(&w->pb, LABEL_STR, idx);
	protobuf__end_message(&w->pb, SAMPLE_LABEL, start);
}

static void write_samples(struct pprof_writer *w)
{
	const struct profile *p = w->p;
	int64_t k_pid = intern(w, "pid"), k_tid = intern(w, "tid");
	int64_t k_comm = intern(w, "comm");
	int64_t k_thread_comm = intern(w, "thread_comm");
	size_t i, j;

	for (i = 0; i < p->nstacks && !w->err; i++) {
		const struct profile_stack *s = &p->stacks[i];
		uint64_t values[2] = {s->count, s->weight};
		size_t start;

		for (j = 0; j < s->nlocs; j++)
			w->scratch[j] = (uint64_t)s->locs[j] + 1;
		start = protobuf__start_message(&w->pb);
		protobuf__packed_uint64(&w->pb, SAMPLE_LOCATION_ID, w->scratch,
					s->nlocs);
		protobuf__packed_uint64(&w->pb, SAMPLE_VALUE, values, 2);
		write_num_label(w, k_pid, s->pid);
		write_num_label(w, k_tid, s->tid);
		write_str_label(w, k_comm, s->comm);
		write_str_label(w, k_thread_comm, s->thread_comm);
		protobuf__end_message(&w->pb, PROFILE_SAMPLE, start);
	}
}

enum {
	HAS_FUNCTIONS = 1,
	HAS_FILENAMES = 2,
	HAS_LINE_NUMBERS = 4,
	HAS_INLINE_FRAMES = 8,
};

/* Whether @fr names a function. cgoprof's stand-ins for a name are
 * bracketed ("[libfoo.so+0x1234]", "[kernel.kallsyms]", "[unknown]") and
 * a frame with no symbol is FRAME_KIND_UNKNOWN. */
static bool frame_has_function(const struct profile_frame *fr)
{
	return fr->kind != FRAME_KIND_UNKNOWN &&
	       fr->kind != FRAME_KIND_TRUNCATED &&
	       fr->kind != FRAME_KIND_PHASE && fr->name[0] != '[';
}

/* What cgoprof has for each mapping, from its locations: function names,
 * file names, line numbers, inlined frames (a location with more than
 * one frame). None for a mapping whose binary it never read. */
static void find_mapping_has(struct pprof_writer *w)
{
	const struct profile *p = w->p;

	for (size_t i = 0; i < p->nlocations; i++) {
		const struct profile_location *loc = &p->locations[i];
		uint8_t has = 0;

		if (loc->mapping == UINT32_MAX ||
		    !p->mappings[loc->mapping].symbolized)
			continue;
		if (loc->nframes > 1)
			has |= HAS_INLINE_FRAMES;
		for (uint32_t j = 0; j < loc->nframes; j++) {
			const struct profile_frame *fr = &loc->frames[j];

			if (frame_has_function(fr))
				has |= HAS_FUNCTIONS;
			if (fr->file && *fr->file)
				has |= HAS_FILENAMES;
			if (fr->line)
				has |= HAS_LINE_NUMBERS;
		}
		w->mapping_has[loc->mapping] |= has;
	}
}

static void write_mapping(struct pprof_writer *w, size_t idx, uint32_t id)
{
	const struct profile_mapping *m = &w->p->mappings[idx];
	int64_t filename = intern(w, m->path);
	int64_t build_id = intern(w, m->build_id);
	size_t start = protobuf__start_message(&w->pb);

	protobuf__uint64(&w->pb, MAPPING_ID, id);
	protobuf__uint64_opt(&w->pb, MAPPING_MEMORY_START, m->start);
	protobuf__uint64_opt(&w->pb, MAPPING_MEMORY_LIMIT, m->limit);
	protobuf__uint64_opt(&w->pb, MAPPING_FILE_OFFSET, m->offset);
	protobuf__int64_opt(&w->pb, MAPPING_FILENAME, filename);
	protobuf__int64_opt(&w->pb, MAPPING_BUILD_ID, build_id);
	/* only what it has: with none of the first three pprof
	 * re-symbolizes the mapping from the binary (a stripped library's
	 * placeholders may get names from it) */
	protobuf__bool_opt(&w->pb, MAPPING_HAS_FUNCTIONS,
			   w->mapping_has[idx] & HAS_FUNCTIONS);
	protobuf__bool_opt(&w->pb, MAPPING_HAS_FILENAMES,
			   w->mapping_has[idx] & HAS_FILENAMES);
	protobuf__bool_opt(&w->pb, MAPPING_HAS_LINE_NUMBERS,
			   w->mapping_has[idx] & HAS_LINE_NUMBERS);
	protobuf__bool_opt(&w->pb, MAPPING_HAS_INLINE_FRAMES,
			   w->mapping_has[idx] & HAS_INLINE_FRAMES);
	protobuf__end_message(&w->pb, PROFILE_MAPPING, start);
	w->mapping_id[idx] = id;
}

/* Main executable first, then the others in profile order; ids 1, 2, ... */
static void write_mappings(struct pprof_writer *w)
{
	const struct profile *p = w->p;
	size_t i, main_idx = p->nmappings;
	uint32_t id = 1;

	for (i = 0; i < p->nmappings; i++) {
		if (p->mappings[i].is_main) {
			main_idx = i;
			break;
		}
	}
	if (main_idx < p->nmappings)
		write_mapping(w, main_idx, id++);
	for (i = 0; i < p->nmappings; i++)
		if (i != main_idx)
			write_mapping(w, i, id++);
}

/* The function name pprof is given for @fr. A frame with no symbol is
 * "[libfoo.so.1.2+0x1234]" in cgoprof's other outputs; pprof's web UI
 * shortens a name to a suffix after a '.' (or '::', and cuts it at a '('),
 * which left "2+0x1234]": here it is "libfoo_so_1_2+0x1234", no brackets,
 * each '.' of the file's name a '_' (the mapping keeps the file's name).
 * docs/formats.md says it. */
static const char *pprof_name(const struct profile_frame *fr, char *buf,
			      size_t size)
{
	size_t n = strlen(fr->name);

	if (n < 5 || n >= size || fr->name[0] != '[' ||
	    fr->name[n - 1] != ']' || !strstr(fr->name, "+0x") ||
	    fr->kind == FRAME_KIND_TRUNCATED || fr->kind == FRAME_KIND_PHASE)
		return fr->name;
	memcpy(buf, fr->name + 1, n - 2);
	buf[n - 2] = 0;
	for (char *c = buf; *c && c < strstr(buf, "+0x"); c++)
		if (*c == '.' || *c == '(' || *c == ')' || *c == ':')
			*c = '_';
	return buf;
}

static bool is_pseudo_location(const struct profile_location *loc)
{
	enum frame_kind kind = loc->frames[loc->nframes - 1].kind;

	return loc->mapping == UINT32_MAX &&
	       (kind == FRAME_KIND_TRUNCATED || kind == FRAME_KIND_PHASE);
}

static void write_locations(struct pprof_writer *w)
{
	const struct profile *p = w->p;
	size_t i, j;

	for (i = 0; i < p->nlocations && !w->err; i++) {
		const struct profile_location *loc = &p->locations[i];
		uint64_t address = loc->address;
		size_t start;

		/* a return address points after the call: pc-1 is inside it,
		 * so pprof's line lookups land on the calling line */
		if (!loc->is_leaf && address)
			address--;
		if (is_pseudo_location(loc))
			address = 0;
		start = protobuf__start_message(&w->pb);
		protobuf__uint64(&w->pb, LOCATION_ID, i + 1);
		if (loc->mapping != UINT32_MAX)
			protobuf__uint64(&w->pb, LOCATION_MAPPING_ID,
					 w->mapping_id[loc->mapping]);
		protobuf__uint64_opt(&w->pb, LOCATION_ADDRESS, address);
		/* innermost first: line[0] is the inlined callee */
		for (j = 0; j < loc->nframes; j++) {
			const struct profile_frame *fr = &loc->frames[j];
			char buf[512];
			int64_t name = intern(w, pprof_name(fr, buf,
							    sizeof(buf)));
			int64_t file = intern(w, fr->file);
			int64_t id = function_table_id(&w->funcs, name, file);
			size_t line_start;

			if (id < 0) {
				w->err = (int)id;
				break;
			}
			line_start = protobuf__start_message(&w->pb);
			protobuf__uint64(&w->pb, LINE_FUNCTION_ID,
					 (uint64_t)id);
			protobuf__int64_opt(&w->pb, LINE_LINE, fr->line);
			protobuf__end_message(&w->pb, LOCATION_LINE,
					      line_start);
		}
		protobuf__end_message(&w->pb, PROFILE_LOCATION, start);
	}
}

static void write_functions(struct pprof_writer *w)
{
	size_t i;

	for (i = 0; i < w->funcs.len; i++) {
		const struct function_key *k = &w->funcs.funcs[i];
		size_t start = protobuf__start_message(&w->pb);

		protobuf__uint64(&w->pb, FUNCTION_ID, i + 1);
		protobuf__int64_opt(&w->pb, FUNCTION_NAME, k->name);
		protobuf__int64_opt(&w->pb, FUNCTION_SYSTEM_NAME, k->name);
		protobuf__int64_opt(&w->pb, FUNCTION_FILENAME, k->file);
		protobuf__end_message(&w->pb, PROFILE_FUNCTION, start);
	}
}

static double share(uint64_t part, uint64_t total)
{
	return total ? 100.0 * (double)part / (double)total : 0.0;
}

static int write_profile(struct pprof_writer *w)
{
	const struct profile *p = w->p;
	bool cpu = p->period_unit && !strcmp(p->period_unit, "nanoseconds");
	const char *event = p->event && *p->event ? p->event : "events";
	const uint64_t *st = p->status_samples;
	char comment[256], lost[64];
	int64_t samples, count, value_type, value_unit;

	snprintf(comment, sizeof(comment),
		 "cgoprof stacks: %.1f%% complete, %.1f%% truncated, "
		 "%.1f%% reconstructed of %" PRIu64 " samples",
		 share(st[STACK_COMPLETE], p->total_samples),
		 share(st[STACK_TRUNCATED], p->total_samples),
		 share(st[STACK_RECONSTRUCTED], p->total_samples),
		 p->total_samples);
	snprintf(lost, sizeof(lost), "cgoprof lost samples: %" PRIu64,
		 p->lost_samples);

	/* Go's CPU profile convention, so pprof shows times */
	samples = intern(w, "samples");
	count = intern(w, "count");
	value_type = cpu ? intern(w, "cpu") : intern(w, event);
	value_unit = cpu ? intern(w, "nanoseconds") : count;
	write_value_type(w, PROFILE_SAMPLE_TYPE, samples, count);
	write_value_type(w, PROFILE_SAMPLE_TYPE, value_type, value_unit);

	write_samples(w);
	find_mapping_has(w);
	write_mappings(w);
	write_locations(w);
	write_functions(w);

	protobuf__int64_opt(&w->pb, PROFILE_TIME_NANOS, (int64_t)p->time_nanos);
	protobuf__int64_opt(&w->pb, PROFILE_DURATION_NANOS,
			    (int64_t)p->duration_nanos);
	write_value_type(w, PROFILE_PERIOD_TYPE, value_type, value_unit);
	protobuf__int64_opt(&w->pb, PROFILE_PERIOD, (int64_t)p->period);
	protobuf__int64(&w->pb, PROFILE_COMMENT, intern(w, comment));
	if (p->lost_samples)
		protobuf__int64(&w->pb, PROFILE_COMMENT, intern(w, lost));
	/* last: only now is every string interned */
	strtab__encode(&w->strs, &w->pb, PROFILE_STRING_TABLE);
	if (w->err)
		return w->err;
	return protobuf__flush(&w->pb);
}

int export__pprof(const struct profile *p, const struct export_opts *o, FILE *f)
{
	struct pprof_writer w = {.p = p};
	struct gzip_sink *gz = NULL;
	size_t i, max_locs = 1;
	int err;

	(void)o;
	if (!f)
		return -EINVAL;
	err = export__check_profile(p);
	if (err)
		return err;
	for (i = 0; i < p->nstacks; i++)
		if (p->stacks[i].nlocs > max_locs)
			max_locs = p->stacks[i].nlocs;

	gz = calloc(1, sizeof(*gz));
	w.mapping_id = calloc(p->nmappings + 1, sizeof(*w.mapping_id));
	w.mapping_has = calloc(p->nmappings + 1, sizeof(*w.mapping_has));
	w.scratch = calloc(max_locs, sizeof(*w.scratch));
	if (!gz || !w.mapping_id || !w.mapping_has || !w.scratch) {
		err = -ENOMEM;
		goto out;
	}
	err = strtab__init(&w.strs);
	if (err)
		goto out;
	gz->f = f;
	/* windowBits 15 + 16: a gzip header and trailer, as pprof expects;
	 * the fastest level, as Go's runtime/pprof writes its profiles */
	if (deflateInit2(&gz->z, Z_BEST_SPEED, Z_DEFLATED, 31, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		err = -ENOMEM;
		goto out;
	}
	gz->live = true;
	protobuf__init(&w.pb, gzip_write, gz);

	err = write_profile(&w);
	if (err)
		goto out;
	err = gzip_run(gz, Z_FINISH);
	if (err)
		goto out;
	err = export__flush(f);
out:
	if (gz && gz->live)
		deflateEnd(&gz->z);
	free(gz);
	protobuf__release(&w.pb);
	strintern__release(&w.strs);
	free(w.funcs.funcs);
	htab__release(&w.funcs.index);
	free(w.mapping_id);
	free(w.mapping_has);
	free(w.scratch);
	return err;
}
