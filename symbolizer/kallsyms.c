// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/arena.h"
#include "cgoprof/kallsyms.h"

struct ksym {
	uint64_t addr;
	char *name;
};

struct kallsyms {
	struct ksym *syms;
	size_t n, cap;
};

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

struct kallsyms *kallsyms__new(const char *path)
{
	struct kallsyms *k = calloc(1, sizeof(*k));
	char line[512];
	FILE *f;

	if (!k)
		return NULL;
	f = fopen(path ? path : "/proc/kallsyms", "re");
	if (!f) {
		int err = errno;

		free(k);
		errno = err;
		return NULL;
	}
	while (fgets(line, sizeof(line), f)) {
		/* "ffffffff81000000 T _text\t[module]": parsed by hand, it is
		 * 200 000 lines */
		char *p = line, *end, *name;
		uint64_t addr = strtoull(p, &end, 16);
		char type;

		if (end == p || end[0] != ' ' || !end[1] || end[2] != ' ')
			continue;
		type = end[1];
		if (!addr || (type != 't' && type != 'T' && type != 'w' &&
			      type != 'W'))
			continue;
		name = end + 3;
		name[strcspn(name, "\t\n ")] = 0;
		if (array__grow((void **)&k->syms, &k->cap, k->n + 1,
				sizeof(*k->syms), 65536))
			break;
		k->syms[k->n].addr = addr;
		k->syms[k->n].name = strdup(name);
		if (!k->syms[k->n].name)
			break;
		k->n++;
	}
	fclose(f);
	qsort(k->syms, k->n, sizeof(*k->syms), ksym_cmp);
	return k;
}

void kallsyms__free(struct kallsyms *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++)
		free(k->syms[i].name);
	free(k->syms);
	free(k);
}

const char *kallsyms__lookup(const struct kallsyms *k, uint64_t addr)
{
	size_t lo = 0, hi;

	if (!k || !k->n || addr < k->syms[0].addr)
		return NULL;
	hi = k->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return k->syms[lo].name;
}
