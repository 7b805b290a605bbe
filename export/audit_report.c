// SPDX-License-Identifier: MIT
/* cgoprof audit's outputs (include/cgoprof/audit_report.h): the text
 * report, the JSON, the comparison, the one-line summary, and the reader
 * of the JSON as a baseline (it knows the layout it wrote: one top-level
 * key a line). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/audit_report.h"
#include "cgoprof/export.h"

#define TEXT_TOP_PACKAGES 8
#define TEXT_TOP_LIBS 8
#define JSON_TOP_PACKAGES 50
#define COMPARE_TOP 12

static const char *const kind_names[] = {"static", "static-pie", "dynamic"};
static const char *const libc_names[] = {NULL, "glibc", "musl"};

static const char *kind_name(const struct audit_report *r)
{
	return kind_names[r->link.kind <= LINKAGE_DYNAMIC ? r->link.kind : 0];
}

/* 1234567 -> "1.2 MB" */
static const char *human(uint64_t v, char *buf, size_t size)
{
	if (v >= 1000 * 1000)
		snprintf(buf, size, "%.1f MB", v / 1e6);
	else if (v >= 1000)
		snprintf(buf, size, "%.1f kB", v / 1e3);
	else
		snprintf(buf, size, "%" PRIu64 " B", v);
	return buf;
}

static const char *version_source(const struct audit_report *r)
{
	switch (r->go.source) {
	case GO_VERSION_BUILDINFO:
		return "buildinfo";
	case GO_VERSION_RUNTIME:
		return "runtime";
	default:
		return NULL;
	}
}

static int part_desc(const void *a, const void *b, void *ctx)
{
	const uint64_t *parts = ctx;
	int x = *(const int *)a, y = *(const int *)b;

	if (parts[x] != parts[y])
		return parts[x] > parts[y] ? -1 : 1;
	return x - y;
}

/* Comma-separated names, at most @max, with "..." when cut. */
static void names_line(FILE *f, char *const *v, size_t n, size_t max)
{
	for (size_t i = 0; i < n && i < max; i++)
		fprintf(f, "%s%s", i ? ", " : "", v[i]);
	if (n > max)
		fprintf(f, ", ... (%zu)", n);
}

static void text_go(const struct audit_report *r, FILE *f)
{
	const char *v;

	if (!r->is_go) {
		fprintf(f, "go        not a Go program\n");
		return;
	}
	fprintf(f, "go        %s", r->go.version ? r->go.version : "version unknown");
	if (r->go.source == GO_VERSION_RUNTIME)
		fprintf(f, " (runtime version string)");
	if ((v = go_buildinfo__setting(&r->go, "CGO_ENABLED")))
		fprintf(f, ", CGO_ENABLED=%s", v);
	if ((v = go_buildinfo__setting(&r->go, "-buildmode")))
		fprintf(f, ", -buildmode=%s", v);
	if ((v = go_buildinfo__setting(&r->go, "-tags")))
		fprintf(f, ", -tags=%s", v);
	if ((v = go_buildinfo__setting(&r->go, "-ldflags")))
		fprintf(f, ", -ldflags=%s", v);
	fputc('\n', f);
	if (r->go.main.path)
		fprintf(f, "          main %s %s, %zu dependencies\n",
			r->go.main.path, r->go.main.version, r->go.ndeps);
	if (r->go_unknown)
		fprintf(f, "          unknown: %s\n", r->go_unknown);
}

static int lib_desc(const void *a, const void *b, void *ctx)
{
	const struct audit_lib *libs = ctx;
	const struct audit_lib *x = &libs[*(const size_t *)a],
			       *y = &libs[*(const size_t *)b];

	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void text_linkage(const struct audit_report *r, FILE *f)
{
	char h[32];
	size_t *order = NULL;

	fprintf(f, "linkage   %s", kind_name(r));
	if (r->link.interp)
		fprintf(f, ", %s", r->link.interp);
	if (r->libc)
		fprintf(f, ", %s", libc_names[r->libc]);
	if (r->link.glibc_min[0])
		fprintf(f, " >= %s", r->link.glibc_min);
	fputc('\n', f);
	if (r->link.nneeded) {
		fprintf(f, "          needs ");
		names_line(f, r->link.needed, r->link.nneeded, 8);
		fputc('\n', f);
	}
	if (r->nlibs && (order = calloc(r->nlibs, sizeof(*order)))) {
		uint64_t total = 0;

		for (size_t i = 0; i < r->nlibs; i++)
			total += r->libs[i].size;
		fprintf(f, "          %zu libraries, %s:", r->nlibs,
			human(total, h, sizeof(h)));
		fputc('\n', f);
		/* largest first */
		for (size_t i = 0; i < r->nlibs; i++)
			order[i] = i;
		qsort_r(order, r->nlibs, sizeof(*order), lib_desc,
			(void *)r->libs);
		for (size_t i = 0; i < r->nlibs && i < TEXT_TOP_LIBS; i++) {
			const struct audit_lib *l = &r->libs[order[i]];

			fprintf(f, "            %-24s %-46s %9s\n", l->name,
				l->path ? l->path : "NOT FOUND",
				human(l->size, h, sizeof(h)));
		}
		free(order);
		if (r->nlibs > TEXT_TOP_LIBS)
			fprintf(f, "            ... %zu more\n",
				r->nlibs - TEXT_TOP_LIBS);
	}
}

static void text_cgo(const struct audit_report *r, FILE *f)
{
	char h[32];

	fprintf(f, "cgo       %s", r->cgo_enabled ? "enabled" : "disabled");
	if (r->ncgo)
		fprintf(f, ": %zu packages, C text %s", r->ncgo,
			human(r->parts[AUDIT_C_TEXT], h, sizeof(h)));
	fputc('\n', f);
	for (size_t i = 0; i < r->ncgo; i++) {
		const struct audit_cgo_pkg *p = &r->cgo[i];

		const char *sep = " ";

		fprintf(f, "          %-14s", p->package);
		if (p->implicit) {
			fprintf(f, " implicit, avoid: %s",
				p->avoid ? p->avoid : "none (needs cgo)");
			sep = "; ";
		} else if (p->needs_cgo) {
			fprintf(f, " needs cgo");
			sep = "; ";
		}
		if (p->nc_functions) {
			fprintf(f, "%scalls ", sep);
			names_line(f, p->c_functions, p->nc_functions, 5);
			sep = "; ";
		}
		if (p->ncallbacks) {
			fprintf(f, "%sexports ", sep);
			names_line(f, p->callbacks, p->ncallbacks, 4);
		}
		fputc('\n', f);
	}
}

static void text_sizes(const struct audit_report *r, FILE *f)
{
	int order[AUDIT_PART__COUNT];
	char h[32];

	for (int i = 0; i < AUDIT_PART__COUNT; i++)
		order[i] = i;
	qsort_r(order, AUDIT_PART__COUNT, sizeof(int), part_desc,
		(void *)r->parts);
	fprintf(f, "size      %" PRIu64 " bytes (%s)\n", r->size,
		human(r->size, h, sizeof(h)));
	for (int i = 0; i < AUDIT_PART__COUNT; i++) {
		uint64_t v = r->parts[order[i]];

		fprintf(f, "          %-14s %12" PRIu64 "  %5.1f%%\n",
			audit_part__name(order[i]), v,
			r->size ? 100.0 * v / r->size : 0.0);
	}
	if (r->ngo_packages) {
		fprintf(f, "Go text   ");
		for (size_t i = 0; i < r->ngo_packages && i < TEXT_TOP_PACKAGES;
		     i++)
			fprintf(f, "%s%s %s", i ? ", " : "",
				r->go_packages[i].name,
				human(r->go_packages[i].bytes, h, sizeof(h)));
		fputc('\n', f);
	}
	if (r->nc_symbols) {
		fprintf(f, "C text    ");
		for (size_t i = 0; i < r->nc_symbols && i < 6; i++)
			fprintf(f, "%s%s %s", i ? ", " : "",
				r->c_symbols[i].name,
				human(r->c_symbols[i].bytes, h, sizeof(h)));
		fputc('\n', f);
	}
}

static void text_imports(const struct audit_report *r, FILE *f)
{
	if (!r->link.nimports)
		return;
	fprintf(f, "imports   %zu:", r->link.nimports);
	for (int g = 0; g < AUDIT_IMPORT__COUNT; g++) {
		size_t n = 0, shown = 0;

		for (size_t i = 0; i < r->link.nimports; i++)
			n += audit_import_group__of(r->link.imports[i].symbol) ==
			     (enum audit_import_group)g;
		if (!n)
			continue;
		fprintf(f, "\n          %-8s %3zu ", audit_import_group__name(g),
			n);
		for (size_t i = 0; i < r->link.nimports && shown < 6; i++) {
			if (audit_import_group__of(r->link.imports[i].symbol) !=
			    (enum audit_import_group)g)
				continue;
			fprintf(f, "%s%s", shown++ ? ", " : "",
				r->link.imports[i].symbol);
		}
		if (n > shown)
			fprintf(f, ", ...");
	}
	fputc('\n', f);
}

int audit_report__text(const struct audit_report *r, FILE *f)
{
	fprintf(f, "%s (%s)\n", r->path, r->arch);
	text_go(r, f);
	text_linkage(r, f);
	text_cgo(r, f);
	text_sizes(r, f);
	text_imports(r, f);
	if (r->nfindings) {
		fprintf(f, "findings\n");
		for (size_t i = 0; i < r->nfindings; i++)
			fprintf(f, "  %-7s %s: %s\n",
				audit_severity__name(r->findings[i].severity),
				r->findings[i].id, r->findings[i].message);
	}
	return ferror(f) ? -EIO : 0;
}

static void json_str_or_null(FILE *f, const char *s)
{
	if (s)
		export__json_string(f, s);
	else
		fputs("null", f);
}

static void json_strv(FILE *f, char *const *v, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs(", ", f);
		export__json_string(f, v[i]);
	}
	fputc(']', f);
}

static void json_go(const struct audit_report *r, FILE *f)
{
	if (!r->is_go) {
		fputs("null", f);
		return;
	}
	fputs("{\"version\": ", f);
	json_str_or_null(f, r->go.version);
	fputs(", \"version_source\": ", f);
	json_str_or_null(f, version_source(r));
	fputs(", \"settings\": {", f);
	for (size_t i = 0; i < r->go.nsettings; i++) {
		fputs(i ? ", " : "", f);
		export__json_string(f, r->go.settings[i].key);
		fputs(": ", f);
		export__json_string(f, r->go.settings[i].value);
	}
	fputs("}, \"package\": ", f);
	json_str_or_null(f, r->go.path);
	fputs(", \"main\": ", f);
	json_str_or_null(f, r->go.main.path);
	fputs(", \"main_version\": ", f);
	json_str_or_null(f, r->go.main.path ? r->go.main.version : NULL);
	fputs(", \"deps\": [", f);
	for (size_t i = 0; i < r->go.ndeps; i++) {
		fputs(i ? ", " : "", f);
		fputs("{\"path\": ", f);
		export__json_string(f, r->go.deps[i].path);
		fputs(", \"version\": ", f);
		export__json_string(f, r->go.deps[i].version);
		if (r->go.deps[i].replace) {
			fputs(", \"replace\": ", f);
			export__json_string(f, r->go.deps[i].replace);
		}
		fputc('}', f);
	}
	fputs("], \"unknown\": ", f);
	json_str_or_null(f, r->go_unknown);
	fputc('}', f);
}

static void json_linkage(const struct audit_report *r, FILE *f)
{
	fprintf(f, "{\"kind\": \"%s\", \"interpreter\": ", kind_name(r));
	json_str_or_null(f, r->link.interp);
	fputs(", \"needed\": ", f);
	json_strv(f, r->link.needed, r->link.nneeded);
	fputs(", \"runpath\": ", f);
	json_str_or_null(f, r->link.runpath ? r->link.runpath : r->link.rpath);
	fputs(", \"libraries\": [", f);
	for (size_t i = 0; i < r->nlibs; i++) {
		fputs(i ? ", " : "", f);
		fputs("{\"name\": ", f);
		export__json_string(f, r->libs[i].name);
		fputs(", \"path\": ", f);
		json_str_or_null(f, r->libs[i].path);
		fprintf(f, ", \"size\": %" PRIu64 ", \"needed_by\": ",
			r->libs[i].size);
		export__json_string(f, r->libs[i].needed_by);
		fputc('}', f);
	}
	fputs("], \"libc\": ", f);
	json_str_or_null(f, libc_names[r->libc <= AUDIT_LIBC_MUSL ? r->libc : 0]);
	fputs(", \"glibc_min\": ", f);
	json_str_or_null(f, r->link.glibc_min[0] ? r->link.glibc_min : NULL);
	fputc('}', f);
}

static void json_cgo(const struct audit_report *r, FILE *f)
{
	fprintf(f, "{\"enabled\": %s, \"c_text_bytes\": %" PRIu64
		   ", \"packages\": [",
		r->cgo_enabled ? "true" : "false", r->parts[AUDIT_C_TEXT]);
	for (size_t i = 0; i < r->ncgo; i++) {
		const struct audit_cgo_pkg *p = &r->cgo[i];

		fputs(i ? ",\n   " : "\n   ", f);
		fputs("{\"package\": ", f);
		export__json_string(f, p->package);
		fputs(", \"c_functions\": ", f);
		json_strv(f, p->c_functions, p->nc_functions);
		fputs(", \"callbacks\": ", f);
		json_strv(f, p->callbacks, p->ncallbacks);
		fprintf(f, ", \"implicit\": %s, \"avoid\": ",
			p->implicit ? "true" : "false");
		json_str_or_null(f, p->avoid);
		fprintf(f, ", \"needs_cgo\": %s, \"text_bytes\": %" PRIu64 "}",
			p->needs_cgo ? "true" : "false", p->text);
	}
	fputs("]}", f);
}

int audit_report__json(const struct audit_report *r, FILE *f)
{
	fputs("{\"path\": ", f);
	export__json_string(f, r->path);
	fprintf(f, ",\n \"size\": %" PRIu64 ",\n \"arch\": \"%s\",\n \"go\": ",
		r->size, r->arch);
	json_go(r, f);
	fputs(",\n \"linkage\": ", f);
	json_linkage(r, f);
	fputs(",\n \"cgo\": ", f);
	json_cgo(r, f);
	fputs(",\n \"sizes\": {", f);
	for (int i = 0; i < AUDIT_PART__COUNT; i++)
		fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "",
			audit_part__name(i), r->parts[i]);
	fputs("},\n \"go_packages\": [", f);
	for (size_t i = 0; i < r->ngo_packages && i < JSON_TOP_PACKAGES; i++) {
		fputs(i ? ", " : "", f);
		fputs("{\"package\": ", f);
		export__json_string(f, r->go_packages[i].name);
		fprintf(f, ", \"text_bytes\": %" PRIu64 "}",
			r->go_packages[i].bytes);
	}
	fputs("],\n \"c_symbols\": [", f);
	for (size_t i = 0; i < r->nc_symbols; i++) {
		fputs(i ? ", " : "", f);
		fputs("{\"symbol\": ", f);
		export__json_string(f, r->c_symbols[i].name);
		fprintf(f, ", \"bytes\": %" PRIu64 "}", r->c_symbols[i].bytes);
	}
	fputs("],\n \"libc_imports\": [", f);
	for (size_t i = 0; i < r->link.nimports; i++) {
		const struct elf_import *im = &r->link.imports[i];

		fputs(i ? ",\n   " : "\n   ", f);
		fputs("{\"symbol\": ", f);
		export__json_string(f, im->symbol);
		fputs(", \"version\": ", f);
		json_str_or_null(f, im->version);
		fputs(", \"library\": ", f);
		json_str_or_null(f, im->file);
		fprintf(f, ", \"group\": \"%s\"}",
			audit_import_group__name(
			    audit_import_group__of(im->symbol)));
	}
	fputs("],\n \"findings\": [", f);
	for (size_t i = 0; i < r->nfindings; i++) {
		fputs(i ? ",\n   " : "\n   ", f);
		fprintf(f, "{\"id\": \"%s\", \"severity\": \"%s\", \"message\": ",
			r->findings[i].id,
			audit_severity__name(r->findings[i].severity));
		export__json_string(f, r->findings[i].message);
		fputc('}', f);
	}
	fputs("]}", f);
	return ferror(f) ? -EIO : 0;
}

int audit_report__json_list(struct audit_report *const *r, size_t n, FILE *f)
{
	int err = 0;

	if (n != 1)
		fputs("[", f);
	for (size_t i = 0; i < n && !err; i++) {
		if (i)
			fputs(",\n", f);
		err = audit_report__json(r[i], f);
	}
	fputs(n != 1 ? "]\n" : "\n", f);
	return err || ferror(f) ? -EIO : 0;
}

static uint64_t pkg_text(const struct audit_report *r, const char *name)
{
	for (size_t i = 0; i < r->ngo_packages; i++)
		if (!strcmp(r->go_packages[i].name, name))
			return r->go_packages[i].bytes;
	return 0;
}

struct pkg_delta {
	const char *name;
	uint64_t a, b;
};

static int delta_desc(const void *x, const void *y)
{
	const struct pkg_delta *p = x, *q = y;
	int64_t dp = (int64_t)(p->b - p->a), dq = (int64_t)(q->b - q->a);
	uint64_t ap = dp < 0 ? (uint64_t)-dp : (uint64_t)dp;
	uint64_t aq = dq < 0 ? (uint64_t)-dq : (uint64_t)dq;

	if (ap != aq)
		return ap > aq ? -1 : 1;
	return strcmp(p->name, q->name);
}

static void cgo_list(const struct audit_report *r, FILE *f)
{
	if (!r->ncgo)
		fputs("none", f);
	for (size_t i = 0; i < r->ncgo; i++)
		fprintf(f, "%s%s", i ? ", " : "", r->cgo[i].package);
}

int audit_report__compare_text(const struct audit_report *a,
			       const struct audit_report *b, FILE *f)
{
	struct pkg_delta *d;
	size_t n = 0;

	fprintf(f, "A: %s\nB: %s\n", a->path, b->path);
	fprintf(f, "%-16s %14s %14s %14s %8s\n", "", "A", "B", "B - A", "");
	fprintf(f, "%-16s %14" PRIu64 " %14" PRIu64 " %+14" PRId64 " %+7.1f%%\n",
		"file", a->size, b->size, (int64_t)(b->size - a->size),
		a->size ? 100.0 * ((double)b->size - (double)a->size) / a->size
			: 0.0);
	for (int i = 0; i < AUDIT_PART__COUNT; i++)
		fprintf(f, "%-16s %14" PRIu64 " %14" PRIu64 " %+14" PRId64 "\n",
			audit_part__name(i), a->parts[i], b->parts[i],
			(int64_t)(b->parts[i] - a->parts[i]));
	fprintf(f, "%-16s %14s %14s\n", "go",
		a->go.version ? a->go.version : "-",
		b->go.version ? b->go.version : "-");
	fprintf(f, "%-16s %14s %14s\n", "linkage", kind_name(a), kind_name(b));
	fprintf(f, "%-16s %14s %14s\n", "glibc_min",
		a->link.glibc_min[0] ? a->link.glibc_min : "-",
		b->link.glibc_min[0] ? b->link.glibc_min : "-");
	fprintf(f, "%-16s %14zu %14zu\n", "libraries", a->nlibs, b->nlibs);
	fputs("cgo A: ", f);
	cgo_list(a, f);
	fputs("\ncgo B: ", f);
	cgo_list(b, f);
	fputc('\n', f);
	d = calloc(a->ngo_packages + b->ngo_packages + 1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < a->ngo_packages; i++) {
		d[n].name = a->go_packages[i].name;
		d[n].a = a->go_packages[i].bytes;
		d[n].b = pkg_text(b, d[n].name);
		n++;
	}
	for (size_t i = 0; i < b->ngo_packages; i++) {
		if (pkg_text(a, b->go_packages[i].name))
			continue;
		d[n].name = b->go_packages[i].name;
		d[n].a = 0;
		d[n].b = b->go_packages[i].bytes;
		n++;
	}
	if (n)
		qsort(d, n, sizeof(*d), delta_desc);
	fprintf(f, "Go text by package, largest changes:\n");
	for (size_t i = 0; i < n && i < COMPARE_TOP; i++) {
		if (d[i].a == d[i].b)
			break;
		fprintf(f, "  %-30s %12" PRIu64 " %14" PRIu64 " %+14" PRId64 "\n",
			d[i].name, d[i].a, d[i].b, (int64_t)(d[i].b - d[i].a));
	}
	free(d);
	return ferror(f) ? -EIO : 0;
}

int audit_report__compare_json(const struct audit_report *a,
			       const struct audit_report *b, FILE *f)
{
	int err;

	fputs("{\"a\": ", f);
	err = audit_report__json(a, f);
	fputs(",\n\"b\": ", f);
	err = err ? err : audit_report__json(b, f);
	fprintf(f, ",\n\"delta\": {\"size\": %" PRId64,
		(int64_t)(b->size - a->size));
	for (int i = 0; i < AUDIT_PART__COUNT; i++)
		fprintf(f, ", \"%s\": %" PRId64, audit_part__name(i),
			(int64_t)(b->parts[i] - a->parts[i]));
	fputs("}}\n", f);
	return err || ferror(f) ? -EIO : 0;
}

int audit_report__summary(const struct audit_report *r, FILE *f)
{
	size_t sev[3] = {0};

	for (size_t i = 0; i < r->nfindings; i++)
		sev[r->findings[i].severity <= AUDIT_ERROR
			? r->findings[i].severity
			: AUDIT_ERROR]++;
	fprintf(f, "audit: %s: %" PRIu64 " bytes, %s, %s", r->path, r->size,
		r->is_go ? (r->go.version ? r->go.version : "go?") : "not Go",
		kind_name(r));
	if (r->link.glibc_min[0])
		fprintf(f, ", glibc>=%s", r->link.glibc_min);
	fputs(", cgo=", f);
	if (!r->ncgo)
		fputs(r->cgo_enabled ? "enabled" : "none", f);
	for (size_t i = 0; i < r->ncgo; i++)
		fprintf(f, "%s%s", i ? "," : "", r->cgo[i].package);
	fprintf(f, ", findings: %zu error, %zu warning", sev[AUDIT_ERROR],
		sev[AUDIT_WARNING]);
	for (size_t i = 0; i < r->nfindings; i++)
		if (r->findings[i].severity >= AUDIT_WARNING)
			fprintf(f, "%s%s", i ? " " : " (", r->findings[i].id);
	fputs(sev[AUDIT_ERROR] + sev[AUDIT_WARNING] ? ")\n" : "\n", f);
	return ferror(f) ? -EIO : 0;
}

/* ---- the baseline ---- */

/* The JSON string at @p (after its opening quote), unescaped as far as
 * \" and \\; NULL when it does not end before @end. */
static char *string_at(const char *p, const char *end, const char **after)
{
	const char *q = p;
	char *s, *o;

	while (q < end && *q != '"')
		q += (*q == '\\' && q + 1 < end) ? 2 : 1;
	if (q >= end)
		return NULL;
	s = malloc((size_t)(q - p) + 1);
	if (!s)
		return NULL;
	for (o = s; p < q; p++) {
		if (*p == '\\' && p + 1 < q)
			p++;
		*o++ = *p;
	}
	*o = 0;
	*after = q + 1;
	return s;
}

static int number_after(const char *from, const char *end, const char *key,
			uint64_t *v)
{
	size_t klen = strlen(key);
	const char *p = memmem(from, (size_t)(end - from), key, klen);
	char *stop;

	if (!p)
		return -EINVAL;
	p += klen;
	if (p >= end || *p < '0' || *p > '9')
		return -EINVAL;
	*v = strtoull(p, &stop, 10);
	return 0;
}

int audit_baseline__parse(const char *text, size_t len,
			  struct audit_baseline **out, size_t *n)
{
	static const char start[] = "{\"path\": \"";
	const char *p = text, *end = text + len;
	struct audit_baseline *b = NULL;
	size_t count = 0;
	int err = 0;

	*out = NULL;
	*n = 0;
	if (memchr(text, 0, len))
		return -EINVAL;
	while ((p = memmem(p, (size_t)(end - p), start, sizeof(start) - 1))) {
		struct audit_baseline *nb, *e;
		const char *next, *sizes;

		nb = realloc(b, (count + 1) * sizeof(*b));
		if (!nb) {
			err = -ENOMEM;
			goto out;
		}
		b = nb;
		e = &b[count];
		memset(e, 0, sizeof(*e));
		e->path = string_at(p + sizeof(start) - 1, end, &p);
		if (!e->path) {
			err = -EINVAL;
			goto out;
		}
		count++;
		next = memmem(p, (size_t)(end - p), start, sizeof(start) - 1);
		if (!next)
			next = end;
		if (number_after(p, next, "\n \"size\": ", &e->size)) {
			err = -EINVAL;
			goto out;
		}
		sizes = memmem(p, (size_t)(next - p), "\n \"sizes\": {", 12);
		if (!sizes) {
			err = -EINVAL;
			goto out;
		}
		for (int i = 0; i < AUDIT_PART__COUNT; i++) {
			char key[40];

			snprintf(key, sizeof(key), "\"%s\": ",
				 audit_part__name(i));
			if (number_after(sizes, next, key, &e->parts[i])) {
				err = -EINVAL;
				goto out;
			}
		}
	}
	if (!count)
		err = -EINVAL;
out:
	if (err) {
		audit_baseline__free(b, count);
		return err;
	}
	*out = b;
	*n = count;
	return 0;
}

void audit_baseline__free(struct audit_baseline *b, size_t n)
{
	for (size_t i = 0; b && i < n; i++)
		free(b[i].path);
	free(b);
}
