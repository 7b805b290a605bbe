// SPDX-License-Identifier: MIT
/* Cold starts: the arithmetic. Where a run's phases begin and end, which
 * phase a sample falls in, and the statistics over runs. No I/O, no
 * kernel: what the unit tests check on known inputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/coldstart.h"

const char coldstart_after_ready[] = "after-ready";

/* The boundaries that start phases 1.. of @t, in order; returns how many
 * (the phases are one more: the loader's starts at the exec). */
static int boundary_probes(const struct coldstart_target *t,
			   int probes[COLDSTART_NPHASES_MAX])
{
	int n = 0;

	probes[n++] = COLDSTART_PROBE_ENTRY;
	if (t->is_go)
		probes[n++] = COLDSTART_PROBE_RTMAIN;
	probes[n++] = COLDSTART_PROBE_MAIN;
	return n;
}

int coldstart__bounds(const struct coldstart_target *t, uint64_t exec_t,
		      const uint64_t hit[COLDSTART_PROBE__COUNT], uint64_t end,
		      uint64_t b[COLDSTART_NPHASES_MAX + 1], uint64_t *missed)
{
	int probes[COLDSTART_NPHASES_MAX];
	int n = boundary_probes(t, probes);

	b[0] = exec_t;
	for (int i = 0; i < n; i++)
		b[i + 1] = hit[probes[i]];
	b[n + 1] = end;
	/* from the end backwards, so that a run of missed boundaries all
	 * take the first one hit after them */
	for (int i = n; i >= 1; i--) {
		if (!b[i] || b[i] > b[i + 1]) {
			if (missed)
				(*missed)++;
			b[i] = b[i + 1];
		}
	}
	if (!b[0] || b[0] > b[1])
		b[0] = b[1];
	return n + 1;
}

int coldstart__phase_at(const struct coldstart_target *t,
			const uint64_t hit[COLDSTART_PROBE__COUNT],
			uint64_t time, int at)
{
	int probes[COLDSTART_NPHASES_MAX];
	int n = boundary_probes(t, probes), phase = 0;

	if (at == COLDSTART_PROBE_READY ||
	    (hit[COLDSTART_PROBE_READY] && time >= hit[COLDSTART_PROBE_READY]))
		return COLDSTART_AFTER_READY;
	for (int i = 0; i < n; i++)
		if ((hit[probes[i]] && time >= hit[probes[i]]) ||
		    at == probes[i])
			phase = i + 1;
	return phase;
}

int coldstart__phase_index(const struct coldstart_target *t,
			   const char *name)
{
	for (int p = 0; p < t->nphases; p++)
		if (!strcmp(t->phases[p], name))
			return p;
	return -1;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct coldstart_stat coldstart__stat(const double *v, int n)
{
	struct coldstart_stat s = { 0 };
	double *c;

	if (n <= 0)
		return s;
	c = malloc((size_t)n * sizeof(*c));
	if (!c)
		return s;
	memcpy(c, v, (size_t)n * sizeof(*c));
	qsort(c, (size_t)n, sizeof(*c), dbl_cmp);
	s.median = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
	s.p90 = c[(int)ceil(0.9 * n) - 1];
	s.min = c[0];
	s.max = c[n - 1];
	free(c);
	return s;
}

double coldstart__ms3(double ms)
{
	return round(ms * 1000) / 1000;
}

double coldstart_series__total_median(const struct coldstart_series *s)
{
	double sum = 0;

	for (int p = 0; p < s->t->nphases; p++)
		sum += coldstart__ms3(
			coldstart__stat(s->phase_ms[p], s->runs).median);
	return sum;
}
