/* Unit tests of the SVG flame graph: structure, escaping, legend, title,
 * orientation, merging, narrow frames and the size of a huge profile.
 * With CGOPROF_SVG_OUT, CGOPROF_SVG_ICICLE_OUT or CGOPROF_SVG_BIG_OUT set,
 * the demo profile (as a flame graph or an icicle graph) or the 100 000-stack
 * one are also written there for tests/e2e/t0400-svg-browser.sh. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cgoprof/export.h"

/* ---- a profile built from "kind:name@file:line;..." stacks ---- */

#define B_MAX_FRAMES 512
#define B_MAX_STACKS 64
#define B_MAX_DEPTH 48

struct builder {
	struct profile_frame frames[B_MAX_FRAMES];
	struct profile_location locations[B_MAX_FRAMES];
	size_t nlocations;
	struct profile_stack stacks[B_MAX_STACKS];
	uint32_t locs[B_MAX_STACKS][B_MAX_DEPTH];
	size_t nstacks;
	char *strings[4 * B_MAX_FRAMES];
	size_t nstrings;
	struct profile p;
};

static char *builder_strndup(struct builder *b, const char *s, size_t n)
{
	char *copy = strndup(s, n);

	assert_non_null(copy);
	assert_true(b->nstrings < 4 * B_MAX_FRAMES);
	b->strings[b->nstrings++] = copy;
	return copy;
}

static enum frame_kind kind_of(char c)
{
	switch (c) {
	case 'g':
		return FRAME_KIND_GO;
	case 'r':
		return FRAME_KIND_GO_RUNTIME;
	case 'b':
		return FRAME_KIND_CGO_BRIDGE;
	case 'c':
		return FRAME_KIND_C;
	case 'l':
		return FRAME_KIND_LIBC;
	case 'd':
		return FRAME_KIND_LDSO;
	case 'k':
		return FRAME_KIND_KERNEL;
	case 'v':
		return FRAME_KIND_VDSO;
	case 't':
		return FRAME_KIND_TRUNCATED;
	case 'p':
		return FRAME_KIND_PHASE;
	default:
		return FRAME_KIND_UNKNOWN;
	}
}

/* One location per distinct "kind:name@file:line" frame. */
static uint32_t builder_location(struct builder *b, const char *spec,
				 size_t len)
{
	struct profile_frame fr = {0};
	const char *at, *colon;
	size_t i, name_len;

	assert_true(len > 2 && spec[1] == ':');
	fr.kind = kind_of(spec[0]);
	spec += 2;
	len -= 2;
	at = memchr(spec, '@', len);
	name_len = at ? (size_t)(at - spec) : len;
	if (name_len && spec[name_len - 1] == '+') {
		fr.inlined = true;
		name_len--;
	}
	fr.name = builder_strndup(b, spec, name_len);
	if (at) {
		const char *end = spec + len;

		colon = at + 1;
		for (const char *c = at + 1; c < end; c++)
			if (*c == ':')
				colon = c;
		fr.file = builder_strndup(b, at + 1, (size_t)(colon - at - 1));
		fr.line = (uint32_t)strtoul(colon + 1, NULL, 10);
	}
	for (i = 0; i < b->nlocations; i++) {
		const struct profile_frame *o = &b->frames[i];

		if (o->kind == fr.kind && !strcmp(o->name, fr.name) &&
		    o->line == fr.line && o->inlined == fr.inlined &&
		    (o->file && fr.file ? !strcmp(o->file, fr.file)
					: o->file == fr.file))
			return (uint32_t)i;
	}
	assert_true(b->nlocations < B_MAX_FRAMES);
	i = b->nlocations++;
	b->frames[i] = fr;
	b->locations[i].address = 0x400000 + 0x10 * i;
	b->locations[i].mapping = UINT32_MAX;
	b->locations[i].nframes = 1;
	b->locations[i].frames = &b->frames[i];
	return (uint32_t)i;
}

/* @frames is root first, as folded output reads; stored leaf first. */
static void builder_stack(struct builder *b, const char *comm, uint32_t tid,
			  uint64_t count, enum stack_status status,
			  const char *frames)
{
	struct profile_stack *s;
	uint32_t root_first[B_MAX_DEPTH];
	size_t n = 0, i;
	const char *p = frames;

	assert_true(b->nstacks < B_MAX_STACKS);
	while (*p) {
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		assert_true(n < B_MAX_DEPTH);
		root_first[n++] = builder_location(b, p, len);
		p += len + (end ? 1 : 0);
	}
	s = &b->stacks[b->nstacks];
	for (i = 0; i < n; i++)
		b->locs[b->nstacks][i] = root_first[n - 1 - i];
	s->pid = 4242;
	s->tid = tid;
	s->comm = comm;
	s->thread_comm = comm;
	s->nlocs = (uint32_t)n;
	s->locs = b->locs[b->nstacks];
	s->count = count;
	s->weight = count * 10000000;
	s->status = status;
	b->nstacks++;
	b->p.total_samples += count;
	b->p.status_samples[status] += count;
}

static struct builder *builder_new(void)
{
	struct builder *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	b->p.command = "./imgz-server --listen :8080";
	b->p.event = "cpu-clock";
	b->p.period_unit = "nanoseconds";
	b->p.freq = 100;
	b->p.period = 10000000;
	b->p.time_nanos = 1700000000000000000ull;
	b->p.duration_nanos = 10000000000ull;
	return b;
}

static const struct profile *builder_profile(struct builder *b)
{
	b->p.locations = b->locations;
	b->p.nlocations = b->nlocations;
	b->p.stacks = b->stacks;
	b->p.nstacks = b->nstacks;
	return &b->p;
}

static void builder_free(struct builder *b)
{
	size_t i;

	for (i = 0; i < b->nstrings; i++)
		free(b->strings[i]);
	free(b);
}

#define GO_MAIN                                                                \
	"r:runtime.main@/usr/local/go/src/runtime/proc.go:283;"                \
	"g:main.main@/src/imgz/cmd/server/main.go:41;"                         \
	"g:main.serve@/src/imgz/cmd/server/main.go:88;"
#define UPLOAD GO_MAIN "g:main.handleUpload@/src/imgz/cmd/server/upload.go:57;"
#define ENCODE                                                                 \
	UPLOAD                                                                 \
	"g:imgz.(*Encoder).Encode@/src/imgz/encoder.go:112;"                   \
	"b:imgz._Cfunc_imgz_encode@_cgo_gotypes.go:61;"                        \
	"b:runtime.cgocall@/usr/local/go/src/runtime/cgocall.go:167;"          \
	"b:runtime.asmcgocall@/usr/local/go/src/runtime/asm_amd64.s:918;"      \
	"b:_cgo_4f2e8a_Cfunc_imgz_encode@cgo-gcc-prolog:52;"                   \
	"c:imgz_encode@/src/imgz/c/encode.c:204;"

/* A Go server that compresses images in C: every frame kind, 1000 samples,
 * 500 of them under runtime.cgocall and 640 under an "imgz_" C function. */
static struct builder *demo_profile(void)
{
	struct builder *b = builder_new();
	const char *comm = "imgz-server";

	builder_stack(b, comm, 4242, 260, STACK_COMPLETE,
		      ENCODE "c:imgz_deflate_block@/src/imgz/c/deflate.c:77;"
			     "c:imgz_hash+@/src/imgz/c/hash.h:19");
	builder_stack(b, comm, 4242, 120, STACK_COMPLETE,
		      ENCODE "c:imgz_deflate_block@/src/imgz/c/deflate.c:91;"
			     "l:__memmove_avx_unaligned_erms");
	builder_stack(b, comm, 4242, 40, STACK_COMPLETE,
		      ENCODE "c:imgz_deflate_block@/src/imgz/c/deflate.c:91;"
			     "l:__memmove_avx_unaligned_erms;"
			     "k:asm_exc_page_fault;k:exc_page_fault;"
			     "k:do_user_addr_fault;k:handle_mm_fault");
	builder_stack(b, comm, 4242, 50, STACK_COMPLETE,
		      ENCODE
		      "c:std::vector<Pixel, std::allocator<Pixel> >"
		      "::push_back(Pixel const&)@/src/imgz/c/pixels.cc:33;"
		      "l:malloc");
	builder_stack(b, comm, 4242, 30, STACK_COMPLETE,
		      ENCODE "u:[libjpeg.so.62+0x2f1c0]");
	builder_stack(
	    b, comm, 4242, 90, STACK_COMPLETE,
	    UPLOAD
	    "g:encoding/json.Marshal@/usr/local/go/src/encoding/json/"
	    "encode.go:161;"
	    "g:encoding/json.(*encodeState).marshal@/usr/local/go/src/"
	    "encoding/json/encode.go:292;"
	    "r:runtime.mallocgc@/usr/local/go/src/runtime/malloc.go:1012");
	builder_stack(b, comm, 4242, 30, STACK_COMPLETE,
		      GO_MAIN "g:time.Now@/usr/local/go/src/time/time.go:1124;"
			      "r:runtime.nanotime1@/usr/local/go/src/runtime/"
			      "sys_linux_amd64.s:245;v:__vdso_clock_gettime");
	builder_stack(b, comm, 4243, 70, STACK_COMPLETE,
		      "r:runtime.mcall;r:runtime.park_m;r:runtime.schedule;"
		      "r:runtime.findRunnable;r:runtime.netpoll;l:epoll_wait;"
		      "k:entry_SYSCALL_64_after_hwframe;k:do_syscall_64;"
		      "k:__x64_sys_epoll_wait");
	builder_stack(b, comm, 4244, 140, STACK_COMPLETE,
		      "r:runtime.gcBgMarkWorker;r:runtime.systemstack;"
		      "r:runtime.gcDrain;r:runtime.scanobject");
	builder_stack(b, comm, 4250, 100, STACK_RECONSTRUCTED,
		      "l:start_thread;c:imgz_worker_loop@/src/imgz/c/pool.c:12;"
		      "c:imgz_deflate_block@/src/imgz/c/deflate.c:77;"
		      "c:imgz_hash+@/src/imgz/c/hash.h:19");
	builder_stack(b, comm, 4250, 40, STACK_TRUNCATED,
		      "t:[truncated: unwind failed];"
		      "c:imgz_worker_loop@/src/imgz/c/pool.c:12;"
		      "c:imgz_deflate_block@/src/imgz/c/deflate.c:77");
	builder_stack(b, comm, 4242, 30, STACK_COMPLETE,
		      "p:[phase: dynamic linking];d:_dl_start_user;d:_dl_init;"
		      "d:_dl_relocate_object;d:_dl_lookup_symbol_x");
	return b;
}

/* ---- checks on the output ---- */

static char *export_to_string(const struct profile *p,
			      const struct export_opts *o, int *err)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	assert_non_null(f);
	*err = export__svg(p, o, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static char *export_ok(const struct profile *p, const struct export_opts *o)
{
	int err;
	char *svg = export_to_string(p, o, &err);

	assert_int_equal(err, 0);
	return svg;
}

static bool valid_utf8(const unsigned char *s)
{
	while (*s) {
		size_t n, i;

		if (*s < 0x80) {
			s++;
			continue;
		}
		if (*s >= 0xc2 && *s <= 0xdf)
			n = 2;
		else if (*s >= 0xe0 && *s <= 0xef)
			n = 3;
		else if (*s >= 0xf0 && *s <= 0xf4)
			n = 4;
		else
			return false;
		for (i = 1; i < n; i++)
			if ((s[i] & 0xc0) != 0x80)
				return false;
		s += n;
	}
	return true;
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == ':' || c == '-' ||
	       c == '.';
}

static const char *check_entity(const char *s)
{
	static const char *const named[] = {"&amp;", "&lt;", "&gt;", "&quot;",
					    "&apos;"};
	size_t i;

	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (!strncmp(s, named[i], strlen(named[i])))
			return s + strlen(named[i]);
	assert_true(s[1] == '#');
	s += 2;
	if (*s == 'x')
		s++;
	assert_true(is_name_char(*s));
	while (is_name_char(*s))
		s++;
	assert_int_equal(*s, ';');
	return s + 1;
}

/* A small well-formedness check: balanced, properly nested tags, quoted
 * attributes without '<', known entities, valid UTF-8, one root. */
static void assert_well_formed(const char *doc)
{
	const char *open[256];
	size_t open_len[256], depth = 0, roots = 0;
	const char *s = doc, *end;

	assert_true(valid_utf8((const unsigned char *)doc));
	while (*s) {
		if (*s == '&') {
			assert_true(depth > 0);
			s = check_entity(s);
			continue;
		}
		if (*s != '<') {
			if (depth == 0)
				assert_true(*s == ' ' || *s == '\n');
			s++;
			continue;
		}
		if (!strncmp(s, "<?", 2)) {
			end = strstr(s, "?>");
			assert_non_null(end);
			s = end + 2;
		} else if (!strncmp(s, "<!--", 4)) {
			end = strstr(s, "-->");
			assert_non_null(end);
			s = end + 3;
		} else if (!strncmp(s, "<![CDATA[", 9)) {
			assert_true(depth > 0);
			end = strstr(s, "]]>");
			assert_non_null(end);
			s = end + 3;
		} else if (s[1] == '/') {
			const char *name = s + 2;
			size_t len = 0;

			while (is_name_char(name[len]))
				len++;
			assert_true(depth > 0);
			depth--;
			assert_int_equal(len, open_len[depth]);
			assert_memory_equal(name, open[depth], len);
			assert_int_equal(name[len], '>');
			s = name + len + 1;
		} else {
			const char *name = s + 1;
			size_t len = 0;

			while (is_name_char(name[len]))
				len++;
			assert_true(len > 0);
			s = name + len;
			for (;;) {
				char quote;

				while (*s == ' ' || *s == '\n')
					s++;
				if (*s == '>' || (s[0] == '/' && s[1] == '>'))
					break;
				assert_true(is_name_char(*s));
				while (is_name_char(*s))
					s++;
				assert_int_equal(*s, '=');
				quote = *++s;
				assert_true(quote == '"' || quote == '\'');
				for (s++; *s != quote; s++) {
					assert_true(*s && *s != '<');
					if (*s == '&')
						s = check_entity(s) - 1;
				}
				s++;
			}
			if (*s == '/') {
				s += 2;
				if (depth == 0)
					roots++;
				continue;
			}
			s++;
			if (depth == 0)
				roots++;
			assert_true(depth < 256);
			open[depth] = name;
			open_len[depth] = len;
			depth++;
		}
	}
	assert_int_equal(depth, 0);
	assert_int_equal(roots, 1);
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (hay = strstr(hay, needle); hay; hay = strstr(hay + 1, needle))
		n++;
	return n;
}

/* The <g> of the frame called @name (exactly), or NULL. */
static const char *frame_of(const char *svg, const char *name)
{
	char needle[512];

	snprintf(needle, sizeof(needle), "<title>%s\n", name);
	return strstr(svg, needle);
}

static unsigned long frame_attr(const char *frame, const char *attr)
{
	const char *p = strstr(frame, attr);

	assert_non_null(p);
	return strtoul(p + strlen(attr), NULL, 10);
}

/* The fg:x (sample offset) of the <g> whose title is at @title. */
static unsigned long frame_x(const char *svg, const char *title)
{
	const char *g = title;

	assert_non_null(title);
	while (g > svg && strncmp(g, "<g fg:x=\"", 9))
		g--;
	return frame_attr(g, "fg:x=\"");
}

/* ---- tests ---- */

static void test_svg__well_formed(void **state)
{
	struct builder *b = demo_profile();
	struct export_opts icicle = {.icicle = true};
	char *svg;

	(void)state;
	svg = export_ok(builder_profile(b), NULL);
	assert_well_formed(svg);
	assert_non_null(strstr(svg, "<svg "));
	assert_non_null(strstr(svg, "<script"));
	/* self-contained: nothing fetched */
	assert_null(strstr(svg, "href"));
	assert_null(strstr(svg, "@import"));
	free(svg);
	svg = export_ok(builder_profile(b), &icicle);
	assert_well_formed(svg);
	free(svg);
	builder_free(b);
}

static void test_svg__escapes_names(void **state)
{
	struct builder *b = builder_new();
	char *svg;

	(void)state;
	builder_stack(b, "a&b", 1, 10, STACK_COMPLETE,
		      "c:x<y>&\"z\"'w';c:std::map<int, T&>::at@dir/<a&b>.cc:3");
	svg = export_ok(builder_profile(b), NULL);
	assert_well_formed(svg);
	assert_non_null(
	    frame_of(svg, "x&lt;y&gt;&amp;&quot;z&quot;&apos;w&apos;"));
	assert_non_null(frame_of(svg, "std::map&lt;int, T&amp;&gt;::at"));
	assert_non_null(strstr(svg, "dir/&lt;a&amp;b&gt;.cc:3"));
	assert_non_null(frame_of(svg, "a&amp;b"));
	assert_null(strstr(svg, "x<y"));
	assert_null(strstr(svg, "T&>"));
	free(svg);
	builder_free(b);
}

static void test_svg__drops_invalid_bytes(void **state)
{
	struct builder *b = builder_new();
	char *svg;

	(void)state;
	/* a stray continuation byte, an overlong '/', a surrogate, a control
	 * character, a truncated sequence; and valid é and 🔥 */
	builder_stack(b, "app", 1, 10, STACK_COMPLETE,
		      "c:bad\x80name\xc0\xaf\xed\xa0\x80\x01;"
		      "c:caf\xc3\xa9_\xf0\x9f\x94\xa5;c:cut\xe2\x82");
	svg = export_ok(builder_profile(b), NULL);
	assert_well_formed(svg);
	assert_non_null(frame_of(svg, "badname"));
	assert_non_null(frame_of(svg, "caf\xc3\xa9_\xf0\x9f\x94\xa5"));
	assert_non_null(frame_of(svg, "cut"));
	free(svg);
	builder_free(b);
}

static const char *legend_of(const char *svg)
{
	const char *legend = strstr(svg, "<g id=\"legend\">");

	assert_non_null(legend);
	return legend;
}

static bool legend_has(const char *svg, const char *kind)
{
	char needle[64];
	const char *legend = legend_of(svg);
	const char *end = strstr(legend, "</g>");
	const char *hit;

	snprintf(needle, sizeof(needle), ">%s</text>", kind);
	hit = strstr(legend, needle);
	return hit && hit < end;
}

static void test_svg__legend_lists_present_kinds(void **state)
{
	static const char *const all[] = {
	    "go",     "go-runtime", "cgo-bridge", "c",	       "libc",	"ld.so",
	    "kernel", "vdso",	    "unknown",	  "truncated", "phase",
	};
	struct builder *b = demo_profile();
	char *svg;
	size_t i;

	(void)state;
	svg = export_ok(builder_profile(b), NULL);
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		assert_true(legend_has(svg, all[i]));
	free(svg);
	builder_free(b);

	b = builder_new();
	builder_stack(b, "app", 1, 5, STACK_COMPLETE,
		      "g:main.main;c:work;k:do_syscall_64");
	svg = export_ok(builder_profile(b), NULL);
	assert_true(legend_has(svg, "go"));
	assert_true(legend_has(svg, "c"));
	assert_true(legend_has(svg, "kernel"));
	assert_false(legend_has(svg, "libc"));
	assert_false(legend_has(svg, "vdso"));
	assert_false(legend_has(svg, "go-runtime"));
	assert_false(legend_has(svg, "phase"));
	/* distinct colors for distinct kinds */
	assert_non_null(strstr(legend_of(svg), "fill=\"#5dc9e2\""));
	assert_non_null(strstr(legend_of(svg), "fill=\"#e86a4f\""));
	free(svg);
	builder_free(b);
}

static void test_svg__title_has_totals(void **state)
{
	struct builder *b = demo_profile();
	struct export_opts custom = {.title = "Custom <title>"};
	char *svg;

	(void)state;
	svg = export_ok(builder_profile(b), NULL);
	assert_non_null(
	    strstr(svg, "<text id=\"title\" x=\"600\" y=\"24\">Flame Graph: "
			"./imgz-server --listen :8080</text>"));
	/* 10 s, 1000 samples, (860 complete + 100 reconstructed) / 1000 */
	assert_non_null(strstr(svg, "10.00 s, 1000 samples, 96.0% complete "
				    "stacks (cpu-clock)</text>"));
	free(svg);
	svg = export_ok(builder_profile(b), &custom);
	assert_non_null(strstr(svg, ">Custom &lt;title&gt;</text>"));
	free(svg);
	builder_free(b);
}

static void test_svg__frame_details(void **state)
{
	struct builder *b = demo_profile();
	const char *f;
	char *svg;

	(void)state;
	svg = export_ok(builder_profile(b), NULL);
	/* the root and the per-process root */
	f = frame_of(svg, "all");
	assert_non_null(f);
	assert_non_null(strstr(f, "\nroot, 1000 samples (100.00%)</title>"));
	f = frame_of(svg, "imgz-server");
	assert_non_null(f);
	assert_non_null(strstr(f, "\nprocess, 1000 samples (100.00%)</title>"));
	/* name, kind, samples, percent, file:line */
	f = frame_of(svg, "runtime.cgocall");
	assert_non_null(f);
	assert_non_null(
	    strstr(f, "\ncgo-bridge, 500 samples (50.00%)\n"
		      "/usr/local/go/src/runtime/cgocall.go:167</title>"));
	/* inlined, merged from two stacks */
	f = frame_of(svg, "imgz_hash");
	assert_non_null(f);
	assert_non_null(strstr(f, "\nc inlined, 260 samples (26.00%)\n"
				  "/src/imgz/c/hash.h:19</title>"));
	/* imgz_deflate_block under imgz_encode ran at two lines: file only */
	f = strstr(svg, "<title>imgz_deflate_block\nc, 420 samples");
	assert_non_null(f);
	assert_non_null(strstr(f, "(42.00%)\n/src/imgz/c/deflate.c</title>"));
	free(svg);
	builder_free(b);
}

static void test_svg__merges_stacks(void **state)
{
	struct builder *b = builder_new();
	char *svg;

	(void)state;
	builder_stack(b, "app", 1, 3, STACK_COMPLETE, "g:main.main;g:main.a");
	builder_stack(b, "app", 2, 4, STACK_COMPLETE, "g:main.main;g:main.b");
	builder_stack(b, "app", 2, 5, STACK_COMPLETE, "g:main.main;g:main.a");
	svg = export_ok(builder_profile(b), NULL);
	assert_int_equal(count_of(svg, "<title>main.main\n"), 1);
	assert_int_equal(count_of(svg, "<title>main.a\n"), 1);
	assert_non_null(strstr(frame_of(svg, "main.main"), "go, 12 samples"));
	assert_non_null(strstr(frame_of(svg, "main.a"), "go, 8 samples"));
	/* sorted by name: main.a left of main.b */
	assert_true(frame_x(svg, frame_of(svg, "main.a")) <
		    frame_x(svg, frame_of(svg, "main.b")));
	free(svg);
	builder_free(b);
}

/* The y of the rect that follows @frame's title. */
static unsigned long rect_y(const char *frame)
{
	const char *rect = strstr(frame, "<rect ");

	assert_non_null(rect);
	return frame_attr(rect, " y=\"");
}

static void test_svg__root_to_leaf_order(void **state)
{
	/* one location holding an inlined callee (frames[0]) in its caller
	 * (frames[1]), called from main.main */
	static const struct profile_frame inl[] = {
	    {"inner", "x.c", 3, FRAME_KIND_C, true},
	    {"outer", "x.c", 9, FRAME_KIND_C, false},
	};
	static const struct profile_frame mainf = {"main.main", NULL, 0,
						   FRAME_KIND_GO, false};
	static const struct profile_location locs[] = {
	    {0x1000, UINT32_MAX, 2, inl, true},
	    {0x2000, UINT32_MAX, 1, &mainf, false},
	};
	static const uint32_t leaf_first[] = {0, 1};
	static const struct profile_stack stacks[] = {
	    {1, 1, "my app", "my app", 2, leaf_first, 7, 7, STACK_COMPLETE},
	};
	struct profile p = {
	    .command = "x",
	    .nlocations = 2,
	    .locations = locs,
	    .nstacks = 1,
	    .stacks = stacks,
	    .total_samples = 7,
	    .status_samples = {7, 0, 0},
	};
	struct export_opts icicle = {.icicle = true};
	char *svg;

	(void)state;
	/* flame graph: the root at the bottom, each callee above */
	svg = export_ok(&p, NULL);
	assert_non_null(frame_of(svg, "my_app")); /* like folded's root */
	assert_true(rect_y(frame_of(svg, "all")) >
		    rect_y(frame_of(svg, "my_app")));
	assert_true(rect_y(frame_of(svg, "my_app")) >
		    rect_y(frame_of(svg, "main.main")));
	assert_true(rect_y(frame_of(svg, "main.main")) >
		    rect_y(frame_of(svg, "outer")));
	assert_true(rect_y(frame_of(svg, "outer")) >
		    rect_y(frame_of(svg, "inner")));
	assert_int_equal(rect_y(frame_of(svg, "outer")) -
			     rect_y(frame_of(svg, "inner")),
			 16);
	free(svg);

	/* icicle: the root on top */
	svg = export_ok(&p, &icicle);
	assert_non_null(strstr(svg, "var ICICLE = true;"));
	assert_true(rect_y(frame_of(svg, "all")) <
		    rect_y(frame_of(svg, "my_app")));
	assert_true(rect_y(frame_of(svg, "main.main")) <
		    rect_y(frame_of(svg, "outer")));
	assert_true(rect_y(frame_of(svg, "outer")) <
		    rect_y(frame_of(svg, "inner")));
	free(svg);
}

static void test_svg__processes_have_roots(void **state)
{
	struct builder *b = builder_new();
	char *svg;

	(void)state;
	builder_stack(b, "one", 1, 3, STACK_COMPLETE, "g:main.main");
	builder_stack(b, "two", 2, 4, STACK_COMPLETE, "g:main.main");
	svg = export_ok(builder_profile(b), NULL);
	assert_non_null(strstr(frame_of(svg, "one"), "process, 3 samples"));
	assert_non_null(strstr(frame_of(svg, "two"), "process, 4 samples"));
	assert_int_equal(count_of(svg, "<title>main.main\n"), 2);
	free(svg);
	builder_free(b);
}

static void test_svg__drops_narrow_frames(void **state)
{
	struct builder *b = builder_new();
	char *svg;

	(void)state;
	/* 1 sample of 100001 is 0.012 px of 1180: under the 0.1 px minimum */
	builder_stack(b, "app", 1, 100000, STACK_COMPLETE,
		      "g:main.main;g:main.hot");
	builder_stack(b, "app", 1, 1, STACK_COMPLETE,
		      "g:main.main;g:main.rare;g:main.rarer");
	builder_stack(b, "app", 1, 1, STACK_COMPLETE, "g:main.only_once");
	svg = export_ok(builder_profile(b), NULL);
	assert_well_formed(svg);
	assert_non_null(frame_of(svg, "main.hot"));
	assert_null(frame_of(svg, "main.rare"));
	assert_null(frame_of(svg, "main.rarer"));
	assert_null(frame_of(svg, "main.only_once"));
	/* the caller still counts them */
	assert_non_null(strstr(frame_of(svg, "main.main"), "100001 samples"));
	assert_non_null(strstr(frame_of(svg, "all"), "100002 samples"));
	free(svg);
	builder_free(b);
}

static void test_svg__labels_fit(void **state)
{
	struct builder *b = builder_new();
	char *svg;

	(void)state;
	/* 10% of 1180 px = 118 px: 16 characters of 7.08 px */
	builder_stack(b, "app", 1, 90, STACK_COMPLETE, "g:main.main");
	builder_stack(b, "app", 1, 10, STACK_COMPLETE,
		      "g:main.aVeryLongFunctionNameThatDoesNotFit");
	svg = export_ok(builder_profile(b), NULL);
	assert_non_null(
	    strstr(frame_of(svg, "main.aVeryLongFunctionNameThatDoesNotFit"),
		   ">main.aVeryLong..</text>"));
	assert_non_null(
	    strstr(frame_of(svg, "main.main"), ">main.main</text>"));
	free(svg);
	builder_free(b);
}

static void test_svg__empty_profile(void **state)
{
	struct profile p = {.command = "idle"};
	char *svg;

	(void)state;
	svg = export_ok(&p, NULL);
	assert_well_formed(svg);
	assert_non_null(strstr(svg, "no samples"));
	assert_non_null(strstr(svg, "0 samples"));
	free(svg);
}

static void test_svg__invalid_profile(void **state)
{
	struct builder *b = demo_profile();
	uint32_t bad[] = {0, 999};
	char *svg;
	int err;

	(void)state;
	b->stacks[0].locs = bad;
	b->stacks[0].nlocs = 2;
	svg = export_to_string(builder_profile(b), NULL, &err);
	assert_int_equal(err, -EINVAL);
	assert_string_equal(svg, "");
	free(svg);
	assert_int_equal(export__svg(NULL, NULL, stdout), -EINVAL);
	builder_free(b);
}

/* ---- 100 000 unique stacks ---- */

#define BIG_STACKS 100000
#define BIG_DEPTH 20
#define BIG_POOL 500

struct big_profile {
	struct profile p;
	char names[BIG_POOL][64];
	char files[BIG_POOL][64];
	struct profile_frame frames[BIG_POOL];
	struct profile_location locations[BIG_POOL];
	struct profile_stack *stacks;
	uint32_t *locs;
};

/* The top 12 levels branch in two, so about 8000 frames are wide enough to
 * draw (past the size budget); the last two levels spell the stack's index
 * so every stack is unique. */
static struct big_profile *big_profile(void)
{
	struct big_profile *big = calloc(1, sizeof(*big));
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	size_t i, d;

	assert_non_null(big);
	for (i = 0; i < BIG_POOL; i++) {
		snprintf(big->names[i], sizeof(big->names[i]),
			 "github.com/acme/pkg%zu.(*Type%zu).Method%zu", i % 37,
			 i % 11, i);
		snprintf(big->files[i], sizeof(big->files[i]),
			 "/home/build/src/github.com/acme/pkg%zu/f%zu.go",
			 i % 37, i);
		big->frames[i].name = big->names[i];
		big->frames[i].file = big->files[i];
		big->frames[i].line = (uint32_t)(10 + i);
		big->frames[i].kind = i % 5 ? FRAME_KIND_GO : FRAME_KIND_C;
		big->locations[i].address = 0x400000 + 16 * i;
		big->locations[i].mapping = UINT32_MAX;
		big->locations[i].nframes = 1;
		big->locations[i].frames = &big->frames[i];
	}
	big->stacks = calloc(BIG_STACKS, sizeof(*big->stacks));
	big->locs = calloc((size_t)BIG_STACKS * BIG_DEPTH, sizeof(*big->locs));
	assert_non_null(big->stacks);
	assert_non_null(big->locs);
	for (i = 0; i < BIG_STACKS; i++) {
		uint32_t *locs = &big->locs[i * BIG_DEPTH];

		for (d = 0; d < BIG_DEPTH; d++) {
			uint32_t pick;

			rng = rng * 6364136223846793005ull +
			      1442695040888963407ull;
			if (d < 12)
				pick = (uint32_t)(2 * d + (rng >> 62 & 1));
			else if (d == BIG_DEPTH - 2)
				pick = (uint32_t)(i % BIG_POOL);
			else if (d == BIG_DEPTH - 1)
				pick = (uint32_t)(i / BIG_POOL);
			else
				pick = (uint32_t)((rng >> 33) % BIG_POOL);
			/* leaf first */
			locs[BIG_DEPTH - 1 - d] = pick;
		}
		big->stacks[i].pid = 1;
		big->stacks[i].tid = 1 + (uint32_t)(i % 8);
		big->stacks[i].comm = "big";
		big->stacks[i].thread_comm = "big";
		big->stacks[i].nlocs = BIG_DEPTH;
		big->stacks[i].locs = locs;
		big->stacks[i].count = 1 + (rng >> 40) % 3;
		big->stacks[i].weight = big->stacks[i].count * 10000000;
		big->p.total_samples += big->stacks[i].count;
	}
	big->p.status_samples[STACK_COMPLETE] = big->p.total_samples;
	big->p.command = "big";
	big->p.event = "cpu-clock";
	big->p.period_unit = "nanoseconds";
	big->p.duration_nanos = 60000000000ull;
	big->p.nlocations = BIG_POOL;
	big->p.locations = big->locations;
	big->p.nstacks = BIG_STACKS;
	big->p.stacks = big->stacks;
	return big;
}

static void big_free(struct big_profile *big)
{
	free(big->stacks);
	free(big->locs);
	free(big);
}

static void test_svg__large_profile_small_file(void **state)
{
	struct big_profile *big = big_profile();
	struct timespec t0, t1;
	size_t len;
	double ms;
	char *svg;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	svg = export_ok(&big->p, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	len = strlen(svg);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	print_message("100000 unique stacks: %zu bytes, %zu frames, %.0f ms\n",
		      len, count_of(svg, "<g fg:x="), ms);
	assert_true(len < 3 * 1024 * 1024);
	/* still a useful graph: the wide frames are all there */
	assert_true(count_of(svg, "<g fg:x=") > 2000);
	assert_non_null(frame_of(svg, big->names[0]));
	assert_well_formed(svg);
	free(svg);
	big_free(big);
}

/* A stack as deep as a runaway recursion: every frame as wide as the root,
 * so only the size budget stops it, keeping the frames nearest the root. */
static void test_svg__deep_recursion_stays_small(void **state)
{
	static const struct profile_frame recurse = {
	    "main.recurse", "/src/app/rec.go", 7, FRAME_KIND_GO, false};
	static const struct profile_location loc = {0x401000, UINT32_MAX, 1,
						    &recurse, false};
	const size_t depth = 50000;
	uint32_t *locs = calloc(depth, sizeof(*locs));
	struct profile_stack stack = {
	    1, 1, "app", "app", (uint32_t)depth, locs, 5, 5, STACK_COMPLETE};
	struct profile p = {.command = "deep",
			    .nlocations = 1,
			    .locations = &loc,
			    .nstacks = 1,
			    .stacks = &stack,
			    .total_samples = 5,
			    .status_samples = {5, 0, 0}};
	size_t frames;
	char *svg;

	(void)state;
	assert_non_null(locs);
	svg = export_ok(&p, NULL);
	frames = count_of(svg, "<g fg:x=");
	print_message("%zu-deep stack: %zu bytes, %zu frames\n", depth,
		      strlen(svg), frames);
	assert_true(strlen(svg) < 3 * 1024 * 1024);
	assert_true(frames > 1000 && frames < depth);
	assert_non_null(frame_of(svg, "all"));
	assert_non_null(frame_of(svg, "app"));
	assert_well_formed(svg);
	free(svg);
	free(locs);
}

/* ---- files for the browser test ---- */

static void write_file(const char *path, const struct profile *p,
		       const struct export_opts *o)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(export__svg(p, o, f), 0);
	assert_int_equal(fclose(f), 0);
}

/* Nothing to check here: writes what the browser test asks for. */
static void test_svg__write_files(void **state)
{
	const char *path = getenv("CGOPROF_SVG_OUT");
	const char *icicle_path = getenv("CGOPROF_SVG_ICICLE_OUT");
	const char *big_path = getenv("CGOPROF_SVG_BIG_OUT");
	struct export_opts icicle = {.icicle = true};
	struct builder *b;
	struct big_profile *big;

	(void)state;
	b = demo_profile();
	if (path && *path)
		write_file(path, builder_profile(b), NULL);
	if (icicle_path && *icicle_path)
		write_file(icicle_path, builder_profile(b), &icicle);
	builder_free(b);
	if (big_path && *big_path) {
		big = big_profile();
		write_file(big_path, &big->p, NULL);
		big_free(big);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_svg__well_formed),
	    cmocka_unit_test(test_svg__escapes_names),
	    cmocka_unit_test(test_svg__drops_invalid_bytes),
	    cmocka_unit_test(test_svg__legend_lists_present_kinds),
	    cmocka_unit_test(test_svg__title_has_totals),
	    cmocka_unit_test(test_svg__frame_details),
	    cmocka_unit_test(test_svg__merges_stacks),
	    cmocka_unit_test(test_svg__root_to_leaf_order),
	    cmocka_unit_test(test_svg__processes_have_roots),
	    cmocka_unit_test(test_svg__drops_narrow_frames),
	    cmocka_unit_test(test_svg__labels_fit),
	    cmocka_unit_test(test_svg__empty_profile),
	    cmocka_unit_test(test_svg__invalid_profile),
	    cmocka_unit_test(test_svg__large_profile_small_file),
	    cmocka_unit_test(test_svg__deep_recursion_stays_small),
	    cmocka_unit_test(test_svg__write_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
