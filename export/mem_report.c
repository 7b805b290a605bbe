// SPDX-License-Identifier: MIT
/* cgoprof mem's reports, written to a FILE *: the table (peak and last
 * snapshots by category, what each rests on), the JSON summary, and the
 * segments of the last snapshot (-vv). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/mman.h>

#include "cgoprof/export.h"
#include "cgoprof/mem_report.h"

static const char *human(uint64_t bytes, char *buf, size_t size)
{
	if (bytes >= (1ULL << 30))
		snprintf(buf, size, "%.2f GiB", (double)bytes / (1 << 30));
	else if (bytes >= (1ULL << 20))
		snprintf(buf, size, "%.1f MiB", (double)bytes / (1 << 20));
	else
		snprintf(buf, size, "%.0f KiB", (double)bytes / 1024);
	return buf;
}

/* How a category's bytes were recognised: "named", or "verified 97%,
 * guess 3%". */
static const char *basis_text(const struct mem_totals *t, enum mem_cat cat,
			      char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = 0;
	if (!t->cat[cat])
		return buf;
	for (int b = 0; b < MEM_BASIS__COUNT; b++) {
		uint64_t v = t->basis[cat][b];
		int w;

		if (!v)
			continue;
		if (v == t->cat[cat])
			w = snprintf(buf + n, size - n, "%s",
				     mem_basis__name((enum mem_basis)b));
		else if (200 * v < t->cat[cat])
			w = snprintf(buf + n, size - n, "%s%s <1%%",
				     n ? ", " : "",
				     mem_basis__name((enum mem_basis)b));
		else
			w = snprintf(buf + n, size - n, "%s%s %.0f%%",
				     n ? ", " : "",
				     mem_basis__name((enum mem_basis)b),
				     100.0 * (double)v / (double)t->cat[cat]);
		if (w < 0 || (size_t)w >= size - n)
			break;
		n += (size_t)w;
	}
	return buf;
}

int mem_report__text(const struct mem_report *r, FILE *f)
{
	const struct mem_totals *pk = r->peak, *ls = r->last;
	const struct mem_fault_counts *h = r->faults;
	char a[32], b[32], basis[96];
	bool any_guess = false;

	fprintf(f, "%s: %u snapshot%s over %.1f s; peak RSS at %.2f s\n",
		r->title, r->snapshots, r->snapshots == 1 ? "" : "s", ls->time,
		pk->time);
	fprintf(f, "  %-16s %12s %12s  %s\n", "", "peak", "last",
		"recognised by");
	fprintf(f, "  %-16s %12s %12s\n", "rss", human(pk->rss, a, sizeof(a)),
		human(ls->rss, b, sizeof(b)));
	for (int c = 0; c < MEM_CAT__COUNT; c++) {
		basis_text(pk, (enum mem_cat)c, basis, sizeof(basis));
		fprintf(f, "  %-16s %12s %12s%s%s\n",
			mem_cat__name((enum mem_cat)c),
			human(pk->cat[c], a, sizeof(a)),
			human(ls->cat[c], b, sizeof(b)), basis[0] ? "  " : "",
			basis);
		any_guess |= pk->basis[c][MEM_BASIS_GUESS] != 0;
	}
	fprintf(f, "  %-16s %12s %12s\n", "outside_go_heap",
		human(mem_totals__outside_go_heap(pk), a, sizeof(a)),
		human(mem_totals__outside_go_heap(ls), b, sizeof(b)));
	if (pk->nlibs) {
		fprintf(f, "  libraries:");
		for (size_t i = 0; i < pk->nlibs && i < 8; i++)
			fprintf(f, "%s %s %s", i ? "," : "", pk->libs[i].name,
				human(pk->libs[i].rss, a, sizeof(a)));
		if (pk->nlibs > 8)
			fprintf(f, ", and %zu more", pk->nlibs - 8);
		fputc('\n', f);
	}
	if (any_guess)
		fprintf(f, "  'guess': anonymous memory no rule recognised is "
			   "counted as go_runtime in a Go\n  program%s; see "
			   "'cgoprof mem --help'\n",
			h ? " (as other_anon where non-Go code faulted it in)"
			  : "");
	if (h) {
		uint64_t n = 0;

		for (int c = 0; c < MEM_CAT__COUNT; c++)
			n += h->by_cat[c];
		fprintf(f, "page faults: %" PRIu64 " sampled, %" PRIu64
			   " lost;", n + h->unmapped, r->lost);
		for (int c = 0; c < MEM_CAT__COUNT; c++)
			if (h->by_cat[c])
				fprintf(f, " %s %" PRIu64,
					mem_cat__name((enum mem_cat)c),
					h->by_cat[c]);
		if (h->unmapped)
			fprintf(f, " unmapped %" PRIu64, h->unmapped);
		fputc('\n', f);
	}
	return ferror(f) ? -EIO : 0;
}

static void json_totals(FILE *f, const struct mem_totals *t, const char *ind)
{
	fprintf(f, "%s\"time\": %.3f,\n", ind, t->time);
	fprintf(f, "%s\"rss\": %" PRIu64 ",\n", ind, t->rss);
	fprintf(f, "%s\"categories\": {", ind);
	for (int c = 0; c < MEM_CAT__COUNT; c++)
		fprintf(f, "%s\"%s\": %" PRIu64, c ? ", " : "",
			mem_cat__name((enum mem_cat)c), t->cat[c]);
	fprintf(f, "},\n%s\"outside_go_heap\": %" PRIu64 ",\n", ind,
		mem_totals__outside_go_heap(t));
	fprintf(f, "%s\"libraries\": {", ind);
	for (size_t i = 0; i < t->nlibs; i++) {
		fputs(i ? ", " : "", f);
		export__json_string(f, t->libs[i].name);
		fprintf(f, ": %" PRIu64, t->libs[i].rss);
	}
	fprintf(f, "},\n%s\"basis\": {", ind);
	for (int c = 0, first = 1; c < MEM_CAT__COUNT; c++) {
		if (!t->cat[c])
			continue;
		fprintf(f, "%s\"%s\": {", first ? "" : ", ",
			mem_cat__name((enum mem_cat)c));
		first = 0;
		for (int b = 0, fb = 1; b < MEM_BASIS__COUNT; b++) {
			if (!t->basis[c][b])
				continue;
			fprintf(f, "%s\"%s\": %" PRIu64, fb ? "" : ", ",
				mem_basis__name((enum mem_basis)b),
				t->basis[c][b]);
			fb = 0;
		}
		fputc('}', f);
	}
	fputc('}', f);
}

int mem_report__json(const struct mem_report *r, FILE *f)
{
	const struct mem_fault_counts *h = r->faults;

	fprintf(f, "{\n  \"pid\": %d,\n  \"command\": ", r->pid);
	export__json_string(f, r->command);
	fprintf(f, ",\n  \"snapshots\": %u,\n  \"interval\": %.3f,\n",
		r->snapshots, r->interval);
	json_totals(f, r->peak, "  ");
	fprintf(f, ",\n  \"last\": {\n");
	json_totals(f, r->last, "    ");
	fprintf(f, "\n  }");
	if (h) {
		fprintf(f, ",\n  \"faults\": {");
		for (int c = 0; c < MEM_CAT__COUNT; c++)
			fprintf(f, "%s\"%s\": %" PRIu64, c ? ", " : "",
				mem_cat__name((enum mem_cat)c), h->by_cat[c]);
		fprintf(f, ", \"unmapped\": %" PRIu64 "}", h->unmapped);
	}
	fprintf(f, "\n}\n");
	return ferror(f) ? -EIO : 0;
}

struct json_job {
	const struct mem_report *r;
};

static int json_job_write(FILE *f, void *ctx)
{
	const struct json_job *j = ctx;

	return mem_report__json(j->r, f);
}

int mem_report__write_json(const struct mem_report *r, const char *path)
{
	struct json_job j = { r };

	return export__write_atomic(path, json_job_write, &j);
}

int mem_report__segments(const struct mem_maps *m, const struct mem_class *c,
			 FILE *f)
{
	fprintf(f, "  %-25s %4s %10s %10s  %-13s %-8s %s\n", "segment",
		"", "size KiB", "map rss", "category", "basis", "mapping");
	for (size_t i = 0; i < c->n; i++) {
		const struct mem_segment *g = &c->segs[i];
		const struct mem_vma *v = &m->vmas[g->vma];

		fprintf(f,
			"  %012" PRIx64 "-%012" PRIx64 " %c%c%c%c %10" PRIu64
			" %10" PRIu64 "  %-13s %-8s %s\n",
			g->start, g->end, v->prot & PROT_READ ? 'r' : '-',
			v->prot & PROT_WRITE ? 'w' : '-',
			v->prot & PROT_EXEC ? 'x' : '-', v->shared ? 's' : 'p',
			(g->end - g->start) / 1024, v->rss / 1024,
			mem_cat__name((enum mem_cat)g->cat),
			mem_basis__name((enum mem_basis)g->basis), v->name);
	}
	return ferror(f) ? -EIO : 0;
}
