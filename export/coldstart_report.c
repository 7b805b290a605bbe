// SPDX-License-Identifier: MIT
/* cgoprof coldstart's outputs: the phase table (one command, or two side
 * by side), the JSON summary, and the folded stacks of every run merged.
 * Every number shown is rounded to the microsecond first
 * (coldstart__ms3), so that the phase medians add up to the total shown. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/arena.h"
#include "cgoprof/coldstart.h"
#include "cgoprof/export.h"

#define ms3 coldstart__ms3

/* ---- folded stacks of every run, merged ---------------------------------- */

static int merge_add(struct folded_merge *m, const char *stack, size_t len,
		     uint64_t count)
{
	if (array__grow((void **)&m->lines, &m->cap, m->n + 1,
			sizeof(*m->lines), 256))
		return -ENOMEM;
	m->lines[m->n].stack = strndup(stack, len);
	if (!m->lines[m->n].stack)
		return -ENOMEM;
	m->lines[m->n++].count = count;
	return 0;
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(((const struct folded_merge_line *)a)->stack,
		      ((const struct folded_merge_line *)b)->stack);
}

/* The folded writer names and roots the frames: its lines, cut at the
 * count, are the keys. */
int folded_merge__add(struct folded_merge *m, const struct profile *p)
{
	struct export_opts eo = { 0 };
	char *buf = NULL, *line, *save = NULL;
	size_t size = 0, w = 0;
	FILE *f = open_memstream(&buf, &size);
	int err;

	if (!f)
		return -ENOMEM;
	err = export__folded(p, &eo, f);
	if (fclose(f) && !err)
		err = -ENOMEM;
	for (line = err ? NULL : strtok_r(buf, "\n", &save); line && !err;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp = strrchr(line, ' ');

		if (sp)
			err = merge_add(m, line, (size_t)(sp - line),
					strtoull(sp + 1, NULL, 10));
	}
	free(buf);
	if (err || !m->n)
		return err;
	qsort(m->lines, m->n, sizeof(*m->lines), line_cmp);
	for (size_t i = 1; i < m->n; i++) {
		if (!strcmp(m->lines[i].stack, m->lines[w].stack)) {
			m->lines[w].count += m->lines[i].count;
			free(m->lines[i].stack);
		} else {
			m->lines[++w] = m->lines[i];
		}
	}
	m->n = w + 1;
	return 0;
}

int folded_merge__write(const struct folded_merge *m, FILE *f)
{
	for (size_t i = 0; i < m->n; i++)
		fprintf(f, "%s %" PRIu64 "\n", m->lines[i].stack,
			m->lines[i].count);
	return ferror(f) ? -EIO : 0;
}

void folded_merge__release(struct folded_merge *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->lines[i].stack);
	free(m->lines);
	memset(m, 0, sizeof(*m));
}

/* ---- the table ----------------------------------------------------------- */

static const char *kind_of(const struct coldstart_series *s)
{
	return s->t->is_go ? "Go" : "native";
}

/* The top frame kinds of a phase's on-CPU time, "c 0.40, go-runtime
 * 0.20": mean ms per run. */
static void kinds_text(const struct coldstart_series *s, int p, char *buf,
		       size_t size)
{
	size_t w = 0;

	buf[0] = 0;
	for (int k = 0; k < FRAME_KIND__COUNT && w + 1 < size; k++) {
		double ms = s->cpu_ns[p][k] / 1e6 / s->runs;

		if (ms < 0.0005)
			continue;
		w += (size_t)snprintf(buf + w, size - w, "%s%s %.2f",
				      w ? ", " : "",
				      frame_kind__name((enum frame_kind)k), ms);
	}
	if (w >= size)
		buf[size - 1] = 0;
}

/* --exec: how long the starts were held before their first instruction,
 * which the platform's own timing of them includes and the phases do
 * not. */
static void print_caught(FILE *f, const struct coldstart_series *s)
{
	struct coldstart_stat h;

	if (!s->exec)
		return;
	h = coldstart__stat(s->held_ms, s->runs);
	fprintf(f, "caught starts held before their first instruction: median "
		   "%.3f ms, max %.3f ms (in the platform's init time, not in "
		   "the phases)\n",
		ms3(h.median), ms3(h.max));
}

#define MIB(x) ((x) / (1024.0 * 1024.0))

/* Memory at ready: medians of the starts that have it. */
static void print_memory(FILE *f, const struct coldstart_series *s)
{
	if (!s->mem_runs)
		return;
	fprintf(f, "memory at ready (%d of %d starts; MiB, median): rss %.1f, "
		   "peak rss %.1f\n ",
		s->mem_runs, s->runs,
		MIB(coldstart__stat(s->mem_rss, s->mem_runs).median),
		MIB(coldstart__stat(s->mem_peak, s->mem_runs).median));
	for (int c = 0; c < MEM_CAT__COUNT; c++)
		fprintf(f, " %s %.1f", mem_cat__name((enum mem_cat)c),
			MIB(coldstart__stat(s->mem_cat[c], s->mem_runs).median));
	fputc('\n', f);
}

static void print_table(FILE *f, const struct coldstart_series *s)
{
	const struct coldstart_target *t = s->t;
	struct coldstart_stat tot = coldstart__stat(s->total_ms, s->runs);
	char kinds[256];

	fprintf(f, "cold start of %s (%s, %d runs)\n", t->command, kind_of(s),
		s->runs);
	fprintf(f, "%-14s %9s %9s %9s %9s %8s  %s\n", "phase", "median",
		"p90", "min", "max", "faults", "on-CPU ms by leaf kind (mean)");
	for (int p = 0; p < t->nphases; p++) {
		struct coldstart_stat st = coldstart__stat(s->phase_ms[p],
							   s->runs);

		kinds_text(s, p, kinds, sizeof(kinds));
		fprintf(f, "%-14s %9.3f %9.3f %9.3f %9.3f %8.0f  %s\n",
			t->phases[p], ms3(st.median), ms3(st.p90),
			ms3(st.min), ms3(st.max),
			coldstart__stat(s->faults[p], s->runs).median, kinds);
	}
	fprintf(f, "%-14s %9.3f %9.3f %9.3f %9.3f\n", "total",
		coldstart_series__total_median(s), ms3(tot.p90), ms3(tot.min),
		ms3(tot.max));
	fputs("(ms; total median = sum of the phase medians; p90, min, max "
	      "of whole starts)\n",
	      f);
	print_caught(f, s);
	print_memory(f, s);
}

/* " +12%" or " -": the difference relative to A. */
static void print_pct(FILE *f, double a, double b)
{
	if (a > 0)
		fprintf(f, "%+7.0f%%\n", (b - a) / a * 100);
	else
		fprintf(f, "%8s\n", "-");
}

static void print_compare(FILE *f, const struct coldstart_series *a,
			  const struct coldstart_series *b)
{
	const struct coldstart_target *ta = a->t, *tb = b->t;
	struct coldstart_stat sta = coldstart__stat(a->total_ms, a->runs);
	struct coldstart_stat stb = coldstart__stat(b->total_ms, b->runs);
	double ma = coldstart_series__total_median(a);
	double mb = coldstart_series__total_median(b);
	int n = ta->nphases > tb->nphases ? ta->nphases : tb->nphases;

	fprintf(f, "A: %s (%s, %d runs)\nB: %s (%s, %d runs)\n", ta->command,
		kind_of(a), a->runs, tb->command, kind_of(b), b->runs);
	fprintf(f, "%-14s %10s %10s %10s %10s %10s %8s\n", "phase",
		"A median", "A p90", "B median", "B p90", "diff B-A", "diff %");
	for (int p = 0; p < n; p++) {
		const char *name = p < ta->nphases ? ta->phases[p]
						   : tb->phases[p];
		int pa = coldstart__phase_index(ta, name);
		int pb = coldstart__phase_index(tb, name);
		struct coldstart_stat sa = { 0 }, sb = { 0 };

		if (pa >= 0)
			sa = coldstart__stat(a->phase_ms[pa], a->runs);
		if (pb >= 0)
			sb = coldstart__stat(b->phase_ms[pb], b->runs);
		fprintf(f, "%-14s %10.3f %10.3f %10.3f %10.3f %+10.3f ", name,
			ms3(sa.median), ms3(sa.p90), ms3(sb.median),
			ms3(sb.p90), ms3(sb.median) - ms3(sa.median));
		print_pct(f, sa.median, sb.median);
	}
	fprintf(f, "%-14s %10.3f %10.3f %10.3f %10.3f %+10.3f ", "total", ma,
		ms3(sta.p90), mb, ms3(stb.p90), mb - ma);
	print_pct(f, ma, mb);
	fputs("(ms; medians per phase; total median = sum of the phase "
	      "medians)\n",
	      f);
	for (int k = 0; k < 2; k++) {
		const struct coldstart_series *x = k ? b : a;

		if (x->exec || x->mem_runs)
			fprintf(f, "%c:\n", k ? 'B' : 'A');
		print_caught(f, x);
		print_memory(f, x);
	}
}

int export__coldstart_text(const struct coldstart_report *r, FILE *f)
{
	if (r->b)
		print_compare(f, r->a, r->b);
	else
		print_table(f, r->a);
	return ferror(f) ? -EIO : 0;
}

/* ---- the JSON ------------------------------------------------------------ */

/* "starts": each start's total, held time and memory at ready. */
static void json_starts(FILE *f, const struct coldstart_series *s,
			const char *indent)
{
	int m = 0;

	fprintf(f, ",\n%s\"starts\": [", indent);
	for (int i = 0; i < s->runs; i++) {
		fprintf(f, "%s\n%s  {\"total_ms\": %.3f, \"held_ms\": ",
			i ? "," : "", indent, ms3(s->total_ms[i]));
		if (s->exec)
			fprintf(f, "%.3f", ms3(s->held_ms[i]));
		else
			fputs("null", f);
		fputs(", \"memory\": ", f);
		while (m < s->mem_runs && s->mem_run[m] < i)
			m++;
		if (m < s->mem_runs && s->mem_run[m] == i) {
			fprintf(f, "{\"rss_bytes\": %.0f, \"peak_rss_bytes\": "
				   "%.0f, \"by_category\": {",
				s->mem_rss[m], s->mem_peak[m]);
			for (int c = 0; c < MEM_CAT__COUNT; c++)
				fprintf(f, "%s\"%s\": %.0f", c ? ", " : "",
					mem_cat__name((enum mem_cat)c),
					s->mem_cat[c][m]);
			fputs("}}", f);
		} else {
			fputs("null", f);
		}
		fputc('}', f);
	}
	fprintf(f, "%s]", s->runs ? "\n" : "");
	if (s->runs)
		fputs(indent, f);
}

static void json_series(FILE *f, const struct coldstart_series *s,
			const char *indent)
{
	const struct coldstart_target *t = s->t;
	struct coldstart_stat tot = coldstart__stat(s->total_ms, s->runs);

	fprintf(f, "%s\"command\": [", indent);
	for (int i = 0; t->argv[i]; i++) {
		if (i)
			fputs(", ", f);
		export__json_string(f, t->argv[i]);
	}
	fprintf(f, "],\n%s\"binary\": ", indent);
	export__json_string(f, t->path);
	fprintf(f, ",\n%s\"go\": %s,\n%s\"runs\": %d,\n%s\"freq_hz\": %" PRIu64
		   ",\n%s\"ready\": ",
		indent, t->is_go ? "true" : "false", indent, s->runs, indent,
		s->freq, indent);
	if (t->ready)
		export__json_string(f, t->ready);
	else
		fputs("null", f);
	fprintf(f, ",\n%s\"phases\": [\n", indent);
	for (int p = 0; p < t->nphases; p++) {
		struct coldstart_stat st = coldstart__stat(s->phase_ms[p],
							   s->runs);
		struct coldstart_stat pf = coldstart__stat(s->faults[p],
							   s->runs);
		bool first = true;

		fprintf(f, "%s  {\"name\": \"%s\", \"median_ms\": %.3f, "
			   "\"p90_ms\": %.3f, \"min_ms\": %.3f, \"max_ms\": %.3f, "
			   "\"cpu_ms_by_kind\": {",
			indent, t->phases[p], ms3(st.median), ms3(st.p90),
			ms3(st.min), ms3(st.max));
		for (int k = 0; k < FRAME_KIND__COUNT; k++) {
			if (!s->cpu_ns[p][k])
				continue;
			fprintf(f, "%s\"%s\": %.3f", first ? "" : ", ",
				frame_kind__name((enum frame_kind)k),
				s->cpu_ns[p][k] / 1e6 / s->runs);
			first = false;
		}
		fprintf(f, "}, \"page_faults_median\": %.1f}%s\n", pf.median,
			p + 1 < t->nphases ? "," : "");
	}
	fprintf(f, "%s],\n%s\"total\": {\"median_ms\": %.3f, \"p90_ms\": %.3f, "
		   "\"min_ms\": %.3f, \"max_ms\": %.3f, \"run_median_ms\": %.3f},\n"
		   "%s\"runs_ms\": [",
		indent, indent, coldstart_series__total_median(s), ms3(tot.p90),
		ms3(tot.min), ms3(tot.max), ms3(tot.median), indent);
	for (int i = 0; i < s->runs; i++)
		fprintf(f, "%s%.3f", i ? ", " : "", s->total_ms[i]);
	fprintf(f, "],\n%s\"caught\": %s", indent, s->exec ? "true" : "false");
	json_starts(f, s, indent);
	fprintf(f, ",\n%s\"memory\": ", indent);
	if (!s->mem_runs) {
		fputs("null", f);
		return;
	}
	fprintf(f, "{\"starts\": %d, \"rss_bytes\": %.0f, "
		   "\"peak_rss_bytes\": %.0f, \"by_category\": {",
		s->mem_runs, coldstart__stat(s->mem_rss, s->mem_runs).median,
		coldstart__stat(s->mem_peak, s->mem_runs).median);
	for (int c = 0; c < MEM_CAT__COUNT; c++)
		fprintf(f, "%s\"%s\": %.0f", c ? ", " : "",
			mem_cat__name((enum mem_cat)c),
			coldstart__stat(s->mem_cat[c], s->mem_runs).median);
	fputs("}}", f);
}

int export__coldstart_json(const struct coldstart_report *r, FILE *f)
{
	const struct coldstart_series *a = r->a, *b = r->b;

	fputs("{\n", f);
	json_series(f, a, "  ");
	if (b) {
		fputs(",\n  \"compare\": {\n", f);
		json_series(f, b, "    ");
		fputs(",\n    \"diff_median_ms\": {", f);
		for (int p = 0; p < a->t->nphases && p < b->t->nphases; p++) {
			double da = ms3(coldstart__stat(a->phase_ms[p],
							a->runs).median);
			double db = ms3(coldstart__stat(b->phase_ms[p],
							b->runs).median);

			fprintf(f, "%s\"%s\": %.3f", p ? ", " : "",
				a->t->phases[p], db - da);
		}
		fputs("}\n  }", f);
	}
	fputs("\n}\n", f);
	return ferror(f) ? -EIO : 0;
}

/* ---- to a file ----------------------------------------------------------- */

static int write_json(FILE *f, void *ctx)
{
	return export__coldstart_json(ctx, f);
}

static int write_folded(FILE *f, void *ctx)
{
	const struct coldstart_report *r = ctx;

	if (!r->folded)
		return ferror(f) ? -EIO : 0;
	return folded_merge__write(r->folded, f);
}

int export__coldstart_write(const struct coldstart_report *r,
			    const char *path)
{
	struct coldstart_report ctx = *r;
	struct export_opts eo = { 0 };

	switch (export__format_from_path(path)) {
	case EXPORT_JSON:
		return export__write_atomic(path, write_json, &ctx);
	case EXPORT_FOLDED:
		return export__write_atomic(path, write_folded, &ctx);
	default:
		/* svg, pprof, folded.gz: the latest run's profile, which is
		 * kept whole (the others only as merged folded lines) */
		return r->a->last ? export__write_file(r->a->last, &eo, path)
				  : -ENODATA;
	}
}
