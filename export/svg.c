/* SVG flame graph export: one self-contained, interactive file in the manner
 * of flamegraph.pl, colored by frame kind. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/arena.h"
#include "cgoprof/export.h"
#include "cgoprof/htab.h"
#include "internal.h"

/* Geometry, as flamegraph.pl's defaults. */
#define CGOPROF_SVG_WIDTH 1200
#define CGOPROF_SVG_XPAD 10
#define CGOPROF_SVG_FRAME_HEIGHT 16
#define CGOPROF_SVG_FONT_SIZE 12
#define CGOPROF_SVG_FONT_WIDTH 0.59 /* average glyph width / font size */
#define CGOPROF_SVG_TOP 60	    /* title, subtitle and buttons */
#define CGOPROF_SVG_BOTTOM 64	    /* details bar and legend */
/* Frames narrower than this are left out, with all they call. */
#define CGOPROF_SVG_MIN_WIDTH 0.1
/* Past this estimated size of the frames, only the widest that fit are
 * drawn, so a profile of any shape stays a file a browser opens quickly. */
#define CGOPROF_SVG_FRAME_BUDGET (2400u * 1024u)
/* Estimated bytes of one frame besides its name (twice) and file. */
#define CGOPROF_SVG_FRAME_OVERHEAD 200u
/* Longest command shown in the title, in characters. */
#define CGOPROF_SVG_TITLE_MAX 120

#define FLAME_NONE UINT32_MAX

/* Node kinds: the frame kinds, then the two levels the graph adds. */
enum {
	FLAME_ROOT = FRAME_KIND__COUNT, /* "all" */
	FLAME_PROCESS,			/* one per comm, like folded's root */
	FLAME__KINDS,
};

enum {
	FLAME_LINE_MIXED = 1, /* merged frames disagree on the line */
	FLAME_INLINED = 2,
	FLAME_KEPT = 4, /* drawn */
};

/* Names and base colors; a frame's color varies a little by its name so
 * neighbours stand apart (frame_kind__name() is the folded exporter's). */
static const struct flame_kind {
	const char *name;
	uint8_t rgb[3];
} flame_kinds[FLAME__KINDS] = {
    [FRAME_KIND_UNKNOWN] = {"unknown", {0xb4, 0xb4, 0xb4}},
    [FRAME_KIND_GO] = {"go", {0x5d, 0xc9, 0xe2}},
    [FRAME_KIND_GO_RUNTIME] = {"go-runtime", {0x7f, 0x9c, 0xe8}},
    [FRAME_KIND_CGO_BRIDGE] = {"cgo-bridge", {0xc0, 0x8c, 0xe8}},
    [FRAME_KIND_C] = {"c", {0xf2, 0xa3, 0x4f}},
    [FRAME_KIND_LIBC] = {"libc", {0xe8, 0xcf, 0x4f}},
    [FRAME_KIND_LDSO] = {"ld.so", {0xc9, 0xa8, 0x80}},
    [FRAME_KIND_KERNEL] = {"kernel", {0xe8, 0x6a, 0x4f}},
    [FRAME_KIND_VDSO] = {"vdso", {0xf0, 0x8c, 0xb8}},
    [FRAME_KIND_TRUNCATED] = {"truncated", {0xd0, 0x40, 0x40}},
    [FRAME_KIND_PHASE] = {"phase", {0x84, 0xcc, 0x7a}},
    [FLAME_ROOT] = {"root", {0xd2, 0xd2, 0xd2}},
    [FLAME_PROCESS] = {"process", {0xc6, 0xc6, 0xc6}},
};

/* One frame of the merged tree: every stack through the same frames from
 * the root shares a node. */
struct flame_node {
	const char *name; /* borrowed from the profile */
	const char *file; /* NULL when unknown */
	uint64_t value;	  /* samples */
	uint32_t parent, first_child, next_sibling;
	uint32_t line;
	uint8_t kind;
	uint8_t flags;
};

struct flame {
	struct flame_node *nodes;
	size_t len, cap;
	struct htab index;	/* (parent, name, file, kind) -> node */
};

/* What is drawn, and how big. */
struct flame_layout {
	uint64_t total;
	double scale; /* px per sample */
	uint32_t levels;
	size_t nframes;
	bool kinds[FLAME__KINDS];
	bool after_ready;	/* coldstart's after-ready root is drawn */
};

static uint64_t hash_string(const char *s, uint64_t seed)
{
	return s ? htab__hash_bytes(s, strlen(s), seed) : seed;
}

/* Hash of a frame's name and file, computed once per location frame. */
static uint32_t frame_hash(const char *name, const char *file, uint8_t kind)
{
	return (uint32_t)hash_string(file, hash_string(name, kind));
}

static uint32_t node_hash(uint32_t parent, uint32_t fhash)
{
	return (uint32_t)htab__mix64((uint64_t)parent << 32 | fhash);
}

static bool same_string(const char *a, const char *b)
{
	if (a == b)
		return true;
	if (!a || !b)
		return false;
	return strcmp(a, b) == 0;
}

/* A node's identity under its parent. */
struct node_key {
	uint32_t parent;
	uint8_t kind;
	const char *name, *file;
};

static bool node_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct flame_node *n = &((const struct flame_node *)ctx)[idx];
	const struct node_key *k = key;

	return n->parent == k->parent && n->kind == k->kind &&
	       same_string(n->name, k->name) && same_string(n->file, k->file);
}

/* Returns the index of @parent's child (@name, @file, @kind), created with
 * value 0 when missing, or -ENOMEM. */
static int64_t flame_child(struct flame *fl, uint32_t parent, const char *name,
			   const char *file, uint8_t kind, uint32_t fhash)
{
	struct node_key key = { parent, kind, name, file };
	uint32_t hash = node_hash(parent, fhash);
	uint32_t idx = htab__find(&fl->index, hash, node_eq, fl->nodes, &key);
	struct flame_node *n;

	if (idx != HTAB_NONE)
		return idx;
	if (fl->len >= FLAME_NONE - 1)
		return -ENOMEM;
	if (array__grow((void **)&fl->nodes, &fl->cap, fl->len + 1,
			sizeof(*fl->nodes), 1024))
		return -ENOMEM;
	if (htab__insert(&fl->index, hash, (uint32_t)fl->len))
		return -ENOMEM;
	n = &fl->nodes[fl->len];
	memset(n, 0, sizeof(*n));
	n->name = name;
	n->file = file;
	n->parent = parent;
	n->first_child = FLAME_NONE;
	n->next_sibling = FLAME_NONE;
	n->kind = kind;
	if (parent != FLAME_NONE) {
		n->next_sibling = fl->nodes[parent].first_child;
		fl->nodes[parent].first_child = (uint32_t)fl->len;
	}
	return (int64_t)fl->len++;
}

static void flame_release(struct flame *fl)
{
	free(fl->nodes);
	htab__release(&fl->index);
	memset(fl, 0, sizeof(*fl));
}

static const char *frame_file(const struct profile_frame *fr)
{
	return fr->file && *fr->file ? fr->file : NULL;
}

/* root "all" -> comm -> frames from the thread root to the leaf. */
static int flame_build(struct flame *fl, const struct profile *p)
{
	size_t *first_hash = NULL, nhashes = 0, i, j;
	uint32_t *hashes = NULL;
	int64_t idx;
	int err = 0;

	/* a location's frames recur in many stacks: hash their strings once */
	first_hash = calloc(p->nlocations + 1, sizeof(*first_hash));
	for (i = 0; first_hash && i < p->nlocations; i++) {
		first_hash[i] = nhashes;
		nhashes += p->locations[i].nframes;
	}
	hashes = calloc(nhashes + 1, sizeof(*hashes));
	if (!first_hash || !hashes) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < p->nlocations; i++) {
		const struct profile_location *loc = &p->locations[i];

		for (j = 0; j < loc->nframes; j++)
			hashes[first_hash[i] + j] = frame_hash(
			    loc->frames[j].name, frame_file(&loc->frames[j]),
			    (uint8_t)loc->frames[j].kind);
	}

	idx = flame_child(fl, FLAME_NONE, "all", NULL, FLAME_ROOT, 0);
	if (idx < 0) {
		err = (int)idx;
		goto out;
	}
	for (i = 0; i < p->nstacks; i++) {
		const struct profile_stack *s = &p->stacks[i];
		const char *comm = s->comm && *s->comm ? s->comm : "[unknown]";
		uint32_t cur;
		size_t l;

		if (s->count == 0)
			continue;
		fl->nodes[0].value += s->count;
		idx = flame_child(fl, 0, comm, NULL, FLAME_PROCESS,
				  frame_hash(comm, NULL, FLAME_PROCESS));
		if (idx < 0) {
			err = (int)idx;
			goto out;
		}
		cur = (uint32_t)idx;
		fl->nodes[cur].value += s->count;
		/* locations are leaf first; a location's frames innermost
		 * first: walk both backwards to go from the root down */
		for (l = s->nlocs; l-- > 0;) {
			const struct profile_location *loc =
			    &p->locations[s->locs[l]];
			const uint32_t *h = &hashes[first_hash[s->locs[l]]];
			uint32_t f;

			for (f = loc->nframes; f-- > 0;) {
				const struct profile_frame *fr =
				    &loc->frames[f];
				struct flame_node *n;

				idx = flame_child(fl, cur, fr->name,
						  frame_file(fr),
						  (uint8_t)fr->kind, h[f]);
				if (idx < 0) {
					err = (int)idx;
					goto out;
				}
				cur = (uint32_t)idx;
				n = &fl->nodes[cur];
				if (n->value == 0)
					n->line = fr->line;
				else if (n->line != fr->line)
					n->flags |= FLAME_LINE_MIXED;
				if (fr->inlined)
					n->flags |= FLAME_INLINED;
				n->value += s->count;
			}
		}
	}
out:
	free(first_hash);
	free(hashes);
	return err;
}

static bool kept(const struct flame_node *n)
{
	return n->flags & FLAME_KEPT;
}

struct frame_cost {
	uint64_t value;
	uint32_t node, depth;
	size_t bytes;
};

/* Widest first; among equals the shallowest, so that every prefix of the
 * order holds the callers of what it holds. */
static int cmp_cost(const void *a, const void *b)
{
	const struct frame_cost *x = a, *y = b;

	if (x->value != y->value)
		return x->value < y->value ? 1 : -1;
	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	return x->node < y->node ? -1 : x->node > y->node;
}

/* Marks the frames to draw: those at least CGOPROF_SVG_MIN_WIDTH wide and,
 * when they would be more than CGOPROF_SVG_FRAME_BUDGET bytes, only the
 * widest that fit. A frame never has more samples than its caller, so both
 * rules keep whole paths from the root. Counts levels, frames and kinds. */
static int flame_select(struct flame *fl, struct flame_layout *lay)
{
	struct frame_cost *costs = NULL, *more;
	size_t ncosts = 0, cap = 1024, next = 0, bytes = 0, i;
	uint64_t min_value;
	int err = 0;

	min_value = (uint64_t)ceil(CGOPROF_SVG_MIN_WIDTH / lay->scale - 1e-9);
	if (min_value == 0)
		min_value = 1;
	costs = malloc(cap * sizeof(*costs));
	if (!costs)
		return -ENOMEM;
	costs[ncosts++] = (struct frame_cost){fl->nodes[0].value, 0, 0, 0};
	/* breadth first, the queue being the array itself */
	for (next = 0; next < ncosts; next++) {
		struct frame_cost *fc = &costs[next];
		const struct flame_node *n = &fl->nodes[fc->node];
		uint32_t node = fc->node, depth = fc->depth, c;

		/* the name twice: title and label */
		fc->bytes = CGOPROF_SVG_FRAME_OVERHEAD +
			    2 * escape__xml_bytes(n->name) + escape__xml_bytes(n->file);
		bytes += fc->bytes;
		for (c = fl->nodes[node].first_child; c != FLAME_NONE;
		     c = fl->nodes[c].next_sibling) {
			if (fl->nodes[c].value < min_value)
				continue;
			if (ncosts == cap) {
				if (cap > SIZE_MAX / 2 / sizeof(*costs)) {
					err = -ENOMEM;
					goto out;
				}
				cap *= 2;
				more = realloc(costs, cap * sizeof(*costs));
				if (!more) {
					err = -ENOMEM;
					goto out;
				}
				costs = more;
			}
			costs[ncosts++] = (struct frame_cost){
			    fl->nodes[c].value, c, depth + 1, 0};
		}
	}
	if (bytes > CGOPROF_SVG_FRAME_BUDGET) {
		qsort(costs, ncosts, sizeof(*costs), cmp_cost);
		bytes = 0;
		for (i = 0; i < ncosts; i++) {
			bytes += costs[i].bytes;
			if (bytes > CGOPROF_SVG_FRAME_BUDGET)
				break;
		}
		ncosts = i ? i : 1; /* the root, whatever it costs */
	}
	for (i = 0; i < ncosts; i++) {
		struct flame_node *n = &fl->nodes[costs[i].node];

		n->flags |= FLAME_KEPT;
		lay->kinds[n->kind] = true;
		if (n->kind == FRAME_KIND_PHASE &&
		    !strcmp(n->name, "after-ready"))
			lay->after_ready = true;
		if (costs[i].depth + 1 > lay->levels)
			lay->levels = costs[i].depth + 1;
	}
	lay->nframes = ncosts;
out:
	free(costs);
	return err;
}

static void put_fill(FILE *f, const struct flame_node *n)
{
	const uint8_t *rgb = flame_kinds[n->kind].rgb;
	/* -24 .. +23, the same for a name wherever it appears */
	int shift = (int)(hash_string(n->name, 0) % 48) - 24;
	int i;

	fputc('#', f);
	for (i = 0; i < 3; i++) {
		int c = rgb[i] + shift;

		fprintf(f, "%02x", c < 0 ? 0 : c > 255 ? 255 : c);
	}
}

static void put_frame(FILE *f, const struct flame_node *n, uint64_t offset,
		      uint32_t depth, const struct flame_layout *lay,
		      bool icicle)
{
	double x = CGOPROF_SVG_XPAD + (double)offset * lay->scale;
	double w = (double)n->value * lay->scale;
	uint32_t level = icicle ? depth : lay->levels - 1 - depth;
	unsigned int y = CGOPROF_SVG_TOP + level * CGOPROF_SVG_FRAME_HEIGHT;
	size_t chars =
	    (size_t)floor(w / (CGOPROF_SVG_FONT_SIZE * CGOPROF_SVG_FONT_WIDTH));
	bool process = n->kind == FLAME_PROCESS;
	size_t len;

	fprintf(f, "<g fg:x=\"%" PRIu64 "\" fg:w=\"%" PRIu64 "\"><title>",
		offset, n->value);
	escape__xml_n(f, n->name, SIZE_MAX, process);
	fprintf(f, "\n%s%s, %" PRIu64 " sample%s (%.2f%%)",
		flame_kinds[n->kind].name,
		n->flags & FLAME_INLINED ? " inlined" : "", n->value,
		n->value == 1 ? "" : "s",
		100.0 * (double)n->value / (double)lay->total);
	if (n->file) {
		fputc('\n', f);
		escape__xml(f, n->file);
		if (n->line && !(n->flags & FLAME_LINE_MIXED))
			fprintf(f, ":%" PRIu32, n->line);
	}
	fprintf(f,
		"</title><rect x=\"%.1f\" y=\"%u\" width=\"%.1f\" "
		"height=\"%d\" fill=\"",
		x, y, w, CGOPROF_SVG_FRAME_HEIGHT - 1);
	put_fill(f, n);
	fprintf(f, "\"/><text x=\"%.1f\" y=\"%u\">", x + 3,
		y + CGOPROF_SVG_FRAME_HEIGHT - 5);
	/* the same fitting as the script's, which redoes it on zoom */
	if (chars >= 3) {
		len = escape__xml_length(n->name);
		if (len <= chars) {
			escape__xml_n(f, n->name, SIZE_MAX, process);
		} else {
			escape__xml_n(f, n->name, chars - 2, process);
			fputs("..", f);
		}
	}
	fputs("</text></g>\n", f);
}

/* Cold-start phases as time runs (profiler/coldstart.c names them), the
 * start's and then what follows it; other phase roots after, by name. */
static const char *const phase_order[] = {
	"loader",	 "runtime-init",  "init",
	"package-init", "main-to-ready", "after-ready",
};
#define PHASE_ORDER_N (sizeof(phase_order) / sizeof(phase_order[0]))

static size_t phase_rank(const struct flame_node *n)
{
	if (n->kind != FRAME_KIND_PHASE)
		return PHASE_ORDER_N;
	for (size_t i = 0; i < PHASE_ORDER_N; i++)
		if (!strcmp(n->name, phase_order[i]))
			return i;
	return PHASE_ORDER_N;
}

static int cmp_node_name(const void *a, const void *b)
{
	const struct flame_node *x = *(const struct flame_node *const *)a;
	const struct flame_node *y = *(const struct flame_node *const *)b;
	size_t rx = phase_rank(x), ry = phase_rank(y);
	int c;

	if (rx != ry)
		return rx < ry ? -1 : 1;
	c = strcmp(x->name, y->name);
	if (c)
		return c;
	if (x->file != y->file) {
		if (!x->file || !y->file)
			return x->file ? 1 : -1;
		c = strcmp(x->file, y->file);
		if (c)
			return c;
	}
	return (int)x->kind - (int)y->kind;
}

struct frame_pos {
	uint32_t node, depth;
	uint64_t offset;
};

/* Pre-order, children sorted by name like flamegraph.pl and packed from
 * the left edge of their parent; dropped frames leave a gap on the right. */
static int flame_write_frames(const struct flame *fl,
			      const struct flame_layout *lay, bool icicle,
			      FILE *f)
{
	struct frame_pos *st = NULL;
	const struct flame_node **kids = NULL;
	size_t nst = 0, cap = 0, kcap = 0;
	int err = 0;

	if (lay->total == 0)
		return 0;
	cap = 256;
	st = malloc(cap * sizeof(*st));
	if (!st)
		return -ENOMEM;
	st[nst++] = (struct frame_pos){0, 0, 0};
	while (nst) {
		struct frame_pos pos = st[--nst];
		const struct flame_node *n = &fl->nodes[pos.node];
		size_t nkids = 0, i;
		uint64_t offset = pos.offset;
		uint32_t c;

		put_frame(f, n, pos.offset, pos.depth, lay, icicle);
		for (c = n->first_child; c != FLAME_NONE;
		     c = fl->nodes[c].next_sibling) {
			if (!kept(&fl->nodes[c]))
				continue;
			if (nkids == kcap) {
				const struct flame_node **more;

				kcap = kcap ? kcap * 2 : 64;
				more = realloc(kids, kcap * sizeof(*kids));
				if (!more) {
					err = -ENOMEM;
					goto out;
				}
				kids = more;
			}
			kids[nkids++] = &fl->nodes[c];
		}
		qsort(kids, nkids, sizeof(*kids), cmp_node_name);
		if (nkids > cap - nst) {
			struct frame_pos *more;

			while (nkids > cap - nst)
				cap *= 2;
			more = realloc(st, cap * sizeof(*st));
			if (!more) {
				err = -ENOMEM;
				goto out;
			}
			st = more;
		}
		/* pushed right to left so the leftmost is drawn next */
		for (i = 0; i < nkids; i++)
			offset += kids[i]->value;
		for (i = nkids; i-- > 0;) {
			offset -= kids[i]->value;
			st[nst++] =
			    (struct frame_pos){(uint32_t)(kids[i] - fl->nodes),
					       pos.depth + 1, offset};
		}
	}
out:
	free(st);
	free(kids);
	return err;
}

static const char svg_style[] =
    "<style type=\"text/css\"><![CDATA[\n"
    "text{font-family:Verdana,Helvetica,sans-serif;font-size:12px;"
    "fill:#000}\n"
    "#title{text-anchor:middle;font-size:17px}\n"
    "#subtitle{text-anchor:middle;fill:#555}\n"
    "#search,#matched{text-anchor:end}\n"
    ".btn{cursor:pointer;fill:#2a5db0}\n"
    "#frames g{cursor:pointer}\n"
    "#frames text{pointer-events:none}\n"
    "#frames g:hover rect{stroke:#222;stroke-width:0.5}\n"
    "#frames g.parent{opacity:0.5}\n"
    "]]></style>\n";

/* ES5 on purpose: it must run in any browser that opens an SVG, with no
 * network. The frames are read back from the markup (fg:x/fg:w are sample
 * offsets and counts, so zoom geometry is exact integer arithmetic). */
static const char svg_script[] =
    "var doc = document, svg = doc.documentElement;\n"
    "var details = doc.getElementById(\"details\");\n"
    "var matched = doc.getElementById(\"matched\");\n"
    "var unzoomBtn = doc.getElementById(\"unzoom\");\n"
    "var searchBtn = doc.getElementById(\"search\");\n"
    "var frames = [], total = 0;\n"
    "var state = {zoomed: null, zoomedSamples: 0, zoomedPercent: 100,\n"
    "  search: null, searchError: null, matchedSamples: 0,\n"
    "  matchedPercent: null, frames: 0, icicle: ICICLE};\n"
    "window.cgoprofState = state;\n"
    "function first(g, tag) { return g.getElementsByTagName(tag)[0]; }\n"
    "function load() {\n"
    "  var list = doc.getElementById(\"frames\").getElementsByTagName(\"g\");\n"
    "  for (var i = 0; i < list.length; i++) {\n"
    "    var g = list[i], r = first(g, \"rect\"), ti = first(g, \"title\");\n"
    "    var info = ti ? ti.textContent.split(\"\\n\") : [\"\"];\n"
    "    var y = parseFloat(r.getAttribute(\"y\"));\n"
    "    frames.push({g: g, rect: r, text: first(g, \"text\"),\n"
    "      name: info[0], info: info,\n"
    "      x: parseFloat(g.getAttribute(\"fg:x\")),\n"
    "      w: parseFloat(g.getAttribute(\"fg:w\")),\n"
    "      level: ICICLE ? y : -y, fill: r.getAttribute(\"fill\")});\n"
    "    g.cgoprofFrame = i;\n"
    "  }\n"
    "  if (frames.length) total = frames[0].w;\n"
    "  state.frames = frames.length;\n"
    "}\n"
    "function frameOf(node) {\n"
    "  while (node && node !== svg) {\n"
    "    if (typeof node.cgoprofFrame === \"number\")\n"
    "      return frames[node.cgoprofFrame];\n"
    "    node = node.parentNode;\n"
    "  }\n"
    "  return null;\n"
    "}\n"
    "function percent(n) { return total ? 100 * n / total : 0; }\n"
    "function label(f, x, w) {\n"
    "  var n = Math.floor(w / (FONT * FONTW)), s = \"\";\n"
    "  if (n >= 3)\n"
    "    s = f.name.length <= n ? f.name : f.name.substring(0, n - 2) + "
    "\"..\";\n"
    "  f.text.setAttribute(\"x\", (x + 3).toFixed(1));\n"
    "  f.text.textContent = s;\n"
    "}\n"
    "function place(f, x, w, cls) {\n"
    "  f.g.style.display = \"\";\n"
    "  if (cls) f.g.setAttribute(\"class\", cls);\n"
    "  else f.g.removeAttribute(\"class\");\n"
    "  f.rect.setAttribute(\"x\", x.toFixed(1));\n"
    "  f.rect.setAttribute(\"width\", w.toFixed(1));\n"
    "  label(f, x, w);\n"
    "}\n"
    "function zoom(z) {\n"
    "  if (!z) return false;\n"
    "  if (z === frames[0]) { unzoom(); return true; }\n"
    "  var scale = (W - 2 * XPAD) / z.w;\n"
    "  for (var i = 0; i < frames.length; i++) {\n"
    "    var f = frames[i];\n"
    "    if (f.level >= z.level && f.x >= z.x && f.x + f.w <= z.x + z.w)\n"
    "      place(f, XPAD + (f.x - z.x) * scale, f.w * scale, null);\n"
    "    else if (f.level < z.level && f.x <= z.x && f.x + f.w >= z.x + z.w)\n"
    "      place(f, XPAD, W - 2 * XPAD, \"parent\");\n"
    "    else\n"
    "      f.g.style.display = \"none\";\n"
    "  }\n"
    "  state.zoomed = z.name;\n"
    "  state.zoomedSamples = z.w;\n"
    "  state.zoomedPercent = percent(z.w);\n"
    "  unzoomBtn.style.display = \"\";\n"
    "  return true;\n"
    "}\n"
    "function unzoom() {\n"
    "  var scale = total ? (W - 2 * XPAD) / total : 0;\n"
    "  for (var i = 0; i < frames.length; i++)\n"
    "    place(frames[i], XPAD + frames[i].x * scale, frames[i].w * scale,\n"
    "      null);\n"
    "  state.zoomed = null;\n"
    "  state.zoomedSamples = 0;\n"
    "  state.zoomedPercent = 100;\n"
    "  unzoomBtn.style.display = \"none\";\n"
    "}\n"
    "function resetSearch() {\n"
    "  for (var i = 0; i < frames.length; i++)\n"
    "    frames[i].rect.setAttribute(\"fill\", frames[i].fill);\n"
    "  state.search = null;\n"
    "  state.searchError = null;\n"
    "  state.matchedSamples = 0;\n"
    "  state.matchedPercent = null;\n"
    "  matched.textContent = \"\";\n"
    "  searchBtn.textContent = \"Search\";\n"
    "}\n"
    "/* Highlights the frames whose name matches @pattern; returns the\n"
    "   percent of all samples under a match, or null for a bad regex. */\n"
    "function search(pattern) {\n"
    "  var re, hits = [], sum = 0, end = -1, i;\n"
    "  try { re = new RegExp(pattern); }\n"
    "  catch (e) { state.searchError = String(e); return null; }\n"
    "  resetSearch();\n"
    "  for (i = 0; i < frames.length; i++) {\n"
    "    if (re.test(frames[i].name)) {\n"
    "      frames[i].rect.setAttribute(\"fill\", \"#e600e6\");\n"
    "      hits.push(frames[i]);\n"
    "    }\n"
    "  }\n"
    "  /* frames nest or are disjoint: count the outermost matches */\n"
    "  hits.sort(function (a, b) { return a.x - b.x || b.w - a.w; });\n"
    "  for (i = 0; i < hits.length; i++) {\n"
    "    if (hits[i].x >= end) {\n"
    "      sum += hits[i].w;\n"
    "      end = hits[i].x + hits[i].w;\n"
    "    }\n"
    "  }\n"
    "  state.search = String(pattern);\n"
    "  state.matchedSamples = sum;\n"
    "  state.matchedPercent = percent(sum);\n"
    "  matched.textContent = \"Matched: \" +\n"
    "    state.matchedPercent.toFixed(1) + \"%\";\n"
    "  searchBtn.textContent = \"Reset Search\";\n"
    "  return state.matchedPercent;\n"
    "}\n"
    "function searchPrompt() {\n"
    "  var p = window.prompt(\"Search frames (regular expression):\",\n"
    "    state.search || \"\");\n"
    "  if (p === null || p === \"\") return;\n"
    "  if (search(p) === null)\n"
    "    matched.textContent = \"Invalid regular expression\";\n"
    "}\n"
    "function find(name) {\n"
    "  for (var i = 0; i < frames.length; i++)\n"
    "    if (frames[i].name === name) return frames[i];\n"
    "  return null;\n"
    "}\n"
    "load();\n"
    "svg.addEventListener(\"click\", function (e) {\n"
    "  if (e.target === unzoomBtn) { unzoom(); return; }\n"
    "  if (e.target === searchBtn) {\n"
    "    if (state.search !== null) resetSearch(); else searchPrompt();\n"
    "    return;\n"
    "  }\n"
    "  var f = frameOf(e.target);\n"
    "  if (f) zoom(f);\n"
    "}, false);\n"
    "svg.addEventListener(\"mouseover\", function (e) {\n"
    "  var f = frameOf(e.target);\n"
    "  if (f) details.textContent = f.info.join(\"  |  \");\n"
    "}, false);\n"
    "svg.addEventListener(\"mouseout\", function (e) {\n"
    "  if (frameOf(e.target)) details.textContent = \"\\u00a0\";\n"
    "}, false);\n"
    "window.addEventListener(\"keydown\", function (e) {\n"
    "  var k = e.keyCode;\n"
    "  if ((k === 70 && (e.ctrlKey || e.metaKey)) || k === 114) {\n"
    "    e.preventDefault();\n"
    "    searchPrompt();\n"
    "  } else if (k === 27) {\n"
    "    resetSearch();\n"
    "    unzoom();\n"
    "  }\n"
    "}, false);\n"
    "/* the browser's width: the height follows the aspect ratio */\n"
    "function fit() {\n"
    "  var r = document.documentElement, vb = r.viewBox.baseVal;\n"
    "  var w = r.getBoundingClientRect().width;\n"
    "  if (w > 0 && vb && vb.width > 0)\n"
    "    r.setAttribute(\"height\", Math.ceil(vb.height * w / vb.width));\n"
    "}\n"
    "fit();\n"
    "window.addEventListener(\"resize\", fit, false);\n"
    "window.cgoprofZoom = function (name) { return zoom(find(name)); };\n"
    "window.cgoprofUnzoom = unzoom;\n"
    "window.cgoprofSearch = search;\n"
    "window.cgoprofResetSearch = resetSearch;\n";

static void put_header(FILE *f, const struct profile *p,
		       const struct export_opts *o,
		       const struct flame_layout *lay, unsigned int height)
{
	uint64_t all = p->total_samples ? p->total_samples : lay->total;
	uint64_t complete = p->status_samples[STACK_COMPLETE] +
			    p->status_samples[STACK_RECONSTRUCTED];
	const char *command = p->command ? p->command : "";

	fprintf(f,
		"<?xml version=\"1.0\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"100%%\" height=\"%u\" "
		"viewBox=\"0 0 %d %u\" xmlns=\"http://www.w3.org/2000/svg\" "
		"xmlns:fg=\"urn:cgoprof:flamegraph\">\n",
		height, CGOPROF_SVG_WIDTH, height);
	fputs(svg_style, f);
	fprintf(f,
		"<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%u\" "
		"fill=\"#f6f6f0\"/>\n",
		CGOPROF_SVG_WIDTH, height);
	fprintf(f, "<text id=\"title\" x=\"%d\" y=\"24\">",
		CGOPROF_SVG_WIDTH / 2);
	if (o && o->title) {
		escape__xml_n(f, o->title, CGOPROF_SVG_TITLE_MAX, false);
		if (escape__xml_length(o->title) > CGOPROF_SVG_TITLE_MAX)
			fputs("...", f);
	} else {
		fputs(o && o->icicle ? "Icicle Graph: " : "Flame Graph: ", f);
		escape__xml_n(f, command, CGOPROF_SVG_TITLE_MAX, false);
		if (escape__xml_length(command) > CGOPROF_SVG_TITLE_MAX)
			fputs("...", f);
	}
	fprintf(f,
		"</text>\n<text id=\"subtitle\" x=\"%d\" y=\"44\">"
		"%.2f s, %" PRIu64 " samples, %.1f%% complete stacks",
		CGOPROF_SVG_WIDTH / 2, (double)p->duration_nanos / 1e9,
		lay->total, all ? 100.0 * (double)complete / (double)all : 0.0);
	if (p->event && *p->event) {
		fputs(" (", f);
		escape__xml(f, p->event);
		fputc(')', f);
	}
	fprintf(f,
		"</text>\n"
		"<text id=\"unzoom\" class=\"btn\" x=\"%d\" y=\"24\" "
		"style=\"display:none\">Reset Zoom</text>\n"
		"<text id=\"search\" class=\"btn\" x=\"%d\" y=\"24\">"
		"Search</text>\n",
		CGOPROF_SVG_XPAD, CGOPROF_SVG_WIDTH - CGOPROF_SVG_XPAD);
}

static void put_footer(FILE *f, const struct flame_layout *lay, bool icicle,
		       unsigned int height)
{
	unsigned int y = height - CGOPROF_SVG_BOTTOM + 22;
	double x = CGOPROF_SVG_XPAD;
	int k;

	fprintf(f,
		"<text id=\"details\" x=\"%d\" y=\"%u\">&#160;</text>\n"
		"<text id=\"matched\" x=\"%d\" y=\"%u\"></text>\n",
		CGOPROF_SVG_XPAD, y, CGOPROF_SVG_WIDTH - CGOPROF_SVG_XPAD, y);
	if (lay->total == 0)
		fprintf(f, "<text x=\"%d\" y=\"%d\">no samples</text>\n",
			CGOPROF_SVG_XPAD, CGOPROF_SVG_TOP + 12);
	fputs("<g id=\"legend\">\n", f);
	y += 22;
	for (k = 0; k < FRAME_KIND__COUNT; k++) {
		const char *name = flame_kinds[k].name;
		const uint8_t *rgb = flame_kinds[k].rgb;

		if (!lay->kinds[k])
			continue;
		fprintf(f,
			"<rect x=\"%.1f\" y=\"%u\" width=\"12\" height=\"12\" "
			"fill=\"#%02x%02x%02x\"/><text x=\"%.1f\" y=\"%u\">"
			"%s</text>\n",
			x, y - 10, rgb[0], rgb[1], rgb[2], x + 16, y, name);
		x += 16 +
		     strlen(name) * CGOPROF_SVG_FONT_SIZE *
			 CGOPROF_SVG_FONT_WIDTH +
		     18;
	}
	if (lay->after_ready)
		fprintf(f,
			"<text id=\"after-ready\" x=\"%.1f\" y=\"%u\">"
			"after-ready: samples after the --ready function was "
			"first called (not in the start's time)</text>\n",
			x + 6, y);
	fputs("</g>\n", f);
	fprintf(f,
		"<script type=\"text/ecmascript\"><![CDATA[\n"
		"(function () {\n\"use strict\";\nvar ICICLE = %s;\n"
		"var W = %d, XPAD = %d, FONT = %d, FONTW = %g;\n",
		icicle ? "true" : "false", CGOPROF_SVG_WIDTH, CGOPROF_SVG_XPAD,
		CGOPROF_SVG_FONT_SIZE, CGOPROF_SVG_FONT_WIDTH);
	fputs(svg_script, f);
	fputs("})();\n]]></script>\n</svg>\n", f);
}

int export__svg(const struct profile *p, const struct export_opts *o, FILE *f)
{
	struct flame fl = {0};
	struct flame_layout lay = {0};
	bool icicle = o && o->icicle;
	unsigned int height;
	int err;

	if (!f)
		return -EINVAL;
	err = export__check_profile(p);
	if (err)
		return err;
	err = flame_build(&fl, p);
	if (err)
		goto out;
	lay.total = fl.nodes[0].value;
	if (lay.total) {
		lay.scale = (CGOPROF_SVG_WIDTH - 2.0 * CGOPROF_SVG_XPAD) /
			    (double)lay.total;
		err = flame_select(&fl, &lay);
		if (err)
			goto out;
	}
	if (lay.levels > (UINT32_MAX - CGOPROF_SVG_TOP - CGOPROF_SVG_BOTTOM) /
			     CGOPROF_SVG_FRAME_HEIGHT) {
		err = -EINVAL;
		goto out;
	}
	height = CGOPROF_SVG_TOP + CGOPROF_SVG_BOTTOM +
		 (lay.levels ? lay.levels : 1) * CGOPROF_SVG_FRAME_HEIGHT;

	put_header(f, p, o, &lay, height);
	fputs("<g id=\"frames\">\n", f);
	err = flame_write_frames(&fl, &lay, icicle, f);
	if (err)
		goto out;
	fputs("</g>\n", f);
	put_footer(f, &lay, icicle, height);
	err = export__flush(f);
out:
	flame_release(&fl);
	return err;
}
