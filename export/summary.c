// SPDX-License-Identifier: MIT
/* Summaries: the text one printed after a recording, and the JSON one. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/export.h"
#include "internal.h"

static double share(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Leaf-frame samples by kind (self time). */
static void self_by_kind(const struct profile *p,
			 uint64_t by_kind[FRAME_KIND__COUNT])
{
	memset(by_kind, 0, sizeof(uint64_t) * FRAME_KIND__COUNT);
	for (size_t i = 0; i < p->nstacks; i++) {
		const struct profile_stack *s = &p->stacks[i];

		if (!s->nlocs)
			continue;
		by_kind[p->locations[s->locs[0]].frames[0].kind] += s->count;
	}
}


int export__json(const struct profile *p, const struct export_opts *o,
		 FILE *f)
{
	uint64_t by_kind[FRAME_KIND__COUNT];
	static const char *const status[] = { "complete", "truncated",
					      "reconstructed" };
	bool first = true;

	(void)o;
	self_by_kind(p, by_kind);
	fprintf(f, "{\"command\": ");
	export__json_string(f, p->command);
	fprintf(f, ", \"event\": ");
	export__json_string(f, p->event);
	fprintf(f,
		", \"samples\": %" PRIu64 ", \"lost\": %" PRIu64
		", \"duration_ns\": %" PRIu64 ", \"unique_stacks\": %zu",
		p->total_samples, p->lost_samples, p->duration_nanos,
		p->nstacks);
	fprintf(f, ", \"stacks\": {");
	for (int i = 0; i < STACK_STATUS__COUNT; i++)
		fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "", status[i],
			p->status_samples[i]);
	fprintf(f, "}, \"self_samples_by_kind\": {");
	for (int k = 0; k < FRAME_KIND__COUNT; k++) {
		if (!by_kind[k])
			continue;
		fprintf(f, "%s\"%s\": %" PRIu64, first ? "" : ", ",
			frame_kind__name(k), by_kind[k]);
		first = false;
	}
	fprintf(f, "}, \"notes\": [");
	for (const char *n = p->notes, *e; n && *n; n = *e ? e + 1 : e) {
		char line[1024];
		size_t len;

		e = strchr(n, '\n');
		if (!e)
			e = n + strlen(n);
		len = (size_t)(e - n) < sizeof(line) ? (size_t)(e - n)
						      : sizeof(line) - 1;
		memcpy(line, n, len);
		line[len] = 0;
		fprintf(f, "%s", n == p->notes ? "" : ", ");
		export__json_string(f, line);
	}
	fprintf(f, "]}\n");
	return ferror(f) ? -EIO : 0;
}

int export__summary_text(const struct profile *p, FILE *f)
{
	uint64_t by_kind[FRAME_KIND__COUNT];
	uint64_t total = p->total_samples;

	self_by_kind(p, by_kind);
	fprintf(f, "samples: %" PRIu64 ", lost: %" PRIu64
		   ", unique stacks: %zu\n",
		total, p->lost_samples, p->nstacks);
	fprintf(f,
		"stacks: %.1f%% complete, %.1f%% reconstructed from live "
		"memory, %.1f%% truncated\n",
		share(p->status_samples[STACK_COMPLETE], total),
		share(p->status_samples[STACK_RECONSTRUCTED], total),
		share(p->status_samples[STACK_TRUNCATED], total));
	if (p->status_samples[STACK_TRUNCATED]) {
		/* reasons: the pseudo-frame at the root of truncated stacks */
		struct {
			const char *name;
			uint64_t n;
		} reasons[16];
		int nr = 0;

		for (size_t i = 0; i < p->nstacks; i++) {
			const struct profile_stack *s = &p->stacks[i];
			const struct profile_frame *fr;
			int j;

			if (s->status != STACK_TRUNCATED || !s->nlocs)
				continue;
			for (j = (int)s->nlocs - 1; j >= 0; j--) {
				fr = &p->locations[s->locs[j]].frames[0];
				if (fr->kind == FRAME_KIND_TRUNCATED)
					break;
			}
			if (j < 0)
				continue;
			for (j = 0; j < nr; j++)
				if (!strcmp(reasons[j].name, fr->name))
					break;
			if (j == nr && nr < 16) {
				reasons[nr].name = fr->name;
				reasons[nr++].n = 0;
			}
			if (j < nr)
				reasons[j].n += s->count;
		}
		for (int j = 0; j < nr; j++)
			fprintf(f, "  %s: %.1f%%\n", reasons[j].name,
				share(reasons[j].n, total));
	}
	fprintf(f, "self time by frame kind:");
	for (int k = 0; k < FRAME_KIND__COUNT; k++)
		if (by_kind[k])
			fprintf(f, " %s %.1f%%", frame_kind__name(k),
				share(by_kind[k], total));
	fprintf(f, "\n");
	/* what the recording lost, and why (one sentence a line) */
	if (p->notes)
		fputs(p->notes, f);
	return 0;
}

void export__json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (*p) {
		uint32_t cp;
		size_t n = escape__utf8_decode(p, &cp);

		if (!n) {
			/* a byte that starts no UTF-8 sequence (names are
			 * bytes from files and processes): its value as a
			 * code point, so the text stays valid JSON */
			fprintf(f, "\\u%04x", *p++);
			continue;
		}
		if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (int)cp);
		else if (cp < 0x20 || cp == 0x7f)
			fprintf(f, "\\u%04x", (unsigned)cp);
		else
			fwrite(p, 1, n, f);
		p += n;
	}
	fputc('"', f);
}
