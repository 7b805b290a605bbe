// SPDX-License-Identifier: MIT
/* The function-like DIEs that contain an address (the inlined instances,
 * then the subprogram), innermost first, as dwarf_getscopes() and then
 * dwarf_getscopes_die() find them, through an index of each compilation
 * unit's top-level DIEs built once.
 *
 * dwarf_getscopes() walks a unit's top-level DIEs for every address,
 * decoding each one's ranges to skip it: SQLite's amalgamation is one
 * unit of thousands of functions, and naming its addresses was a tenth
 * of a recording of a cgo program that calls it (dwarf_getscopes_die(),
 * which walks the unit again for each inlined instance, another 2%).
 * Here a unit's top-level DIEs with addresses are listed once, by
 * address; an address's DIE is found by a binary search, and the walk
 * goes down from it only: at each level the first child whose ranges hold
 * the address (dwarf_getscopes' first match: a DIE whose ranges do not
 * hold it is pruned), into the kinds of DIE it descends into, until none
 * holds it. The path found is the one libdw's walk records, and the
 * function-like DIEs on it are the ones libdw's two calls give.
 *
 * Units the index does not model are left to libdw: those that import
 * partial units (dwz), and those where a DIE's ranges cannot be read
 * (libdw's walk takes some of those errors for "no address" and fails on
 * the others). tests/unit/test_scopes.c compares the names both give
 * over libc, cgoprof's own code and the C of cgo binaries. */
#include <dwarf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/arena.h"
#include "elfobj_internal.h"

#define PATH_MAX_DEPTH 64

struct top_die {
	Dwarf_Addr lo, hi;	/* one of its ranges */
	Dwarf_Off off;		/* its offset: document order */
};

struct cu_scopes {
	Dwarf_Off cu_off;
	bool slow;		/* left to libdw */
	struct top_die *e;	/* by lo */
	Dwarf_Addr *reach;	/* reach[i]: the highest hi of e[0..i] */
	size_t n;
};

struct scope_index {
	struct cu_scopes *cus;	/* by cu_off */
	size_t n, cap;
};

void scope_index__free(struct scope_index *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n; i++) {
		free(x->cus[i].e);
		free(x->cus[i].reach);
	}
	free(x->cus);
	free(x);
}

/* The tags whose children dwarf_getscopes() looks into (elfutils'
 * libdw_visit_scopes.c, may_have_scopes). */
static bool may_have_scopes(Dwarf_Die *die)
{
	switch (dwarf_tag(die)) {
	case DW_TAG_compile_unit:
	case DW_TAG_module:
	case DW_TAG_lexical_block:
	case DW_TAG_with_stmt:
	case DW_TAG_catch_block:
	case DW_TAG_try_block:
	case DW_TAG_entry_point:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_subprogram:
	case DW_TAG_namespace:
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
		return true;
	default:
		return false;
	}
}

static int top_cmp(const void *a, const void *b)
{
	const struct top_die *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

static bool add_top(struct cu_scopes *s, size_t *cap, Dwarf_Addr lo,
		    Dwarf_Addr hi, Dwarf_Off off)
{
	if (array__grow((void **)&s->e, cap, s->n + 1, sizeof(*s->e), 64))
		return false;
	s->e[s->n++] = (struct top_die){ lo, hi, off };
	return true;
}

/* Lists @cu's top-level DIEs with addresses; s->slow where libdw's walk
 * would meet what the index does not model. */
static void build(struct cu_scopes *s, Dwarf_Die *cu)
{
	Dwarf_Die child;
	size_t cap = 0;
	int rc = dwarf_child(cu, &child);

	if (rc < 0)
		s->slow = true;
	while (rc == 0 && !s->slow) {
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;

		if (dwarf_tag(&child) == DW_TAG_imported_unit) {
			s->slow = true;
			break;
		}
		while ((off = dwarf_ranges(&child, off, &base, &lo, &hi)) > 0)
			if (lo < hi &&
			    !add_top(s, &cap, lo, hi, dwarf_dieoffset(&child)))
				s->slow = true;
		/* libdw's walk takes some errors for "no address" and fails
		 * on others: libdw tells */
		if (off < 0)
			s->slow = true;
		rc = dwarf_siblingof(&child, &child);
	}
	if (rc < 0)
		s->slow = true;
	if (s->slow || !s->n)
		return;
	qsort(s->e, s->n, sizeof(*s->e), top_cmp);
	s->reach = malloc(s->n * sizeof(*s->reach));
	if (!s->reach) {
		s->slow = true;
		return;
	}
	for (size_t i = 0; i < s->n; i++)
		s->reach[i] = i && s->reach[i - 1] > s->e[i].hi ? s->reach[i - 1]
								 : s->e[i].hi;
}

/* @cu's index, built on first need; NULL: out of memory. */
static struct cu_scopes *cu_scopes_of(struct elf_obj *o, Dwarf_Die *cu)
{
	struct scope_index *x = o->scopes;
	Dwarf_Off off = dwarf_dieoffset(cu);
	size_t lo = 0, hi;
	struct cu_scopes *s;

	if (!x && !(x = o->scopes = calloc(1, sizeof(*x))))
		return NULL;
	hi = x->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (x->cus[mid].cu_off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < x->n && x->cus[lo].cu_off == off)
		return &x->cus[lo];
	if (array__grow((void **)&x->cus, &x->cap, x->n + 1, sizeof(*x->cus),
			16))
		return NULL;
	memmove(&x->cus[lo + 1], &x->cus[lo], (x->n - lo) * sizeof(*x->cus));
	x->n++;
	s = &x->cus[lo];
	*s = (struct cu_scopes){ .cu_off = off };
	build(s, cu);
	return s;
}

/* The first top-level DIE (in document order) whose ranges hold @addr:
 * its offset, or 0. */
static Dwarf_Off top_at(const struct cu_scopes *s, Dwarf_Addr addr)
{
	size_t lo = 0, hi = s->n;
	Dwarf_Off best = 0;

	while (lo < hi) {	/* the first entry starting above addr */
		size_t mid = lo + (hi - lo) / 2;

		if (s->e[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i > 0 && s->reach[i - 1] > addr; i--) {
		const struct top_die *e = &s->e[i - 1];

		if (addr < e->hi && (!best || e->off < best))
			best = e->off;
	}
	return best;
}

/* The path of DIEs holding @addr down from top-level DIE @off, into
 * @path: its length, or -ENOTSUP where libdw's walk is needed. */
static int descend(Dwarf_Die *cu, Dwarf_Off off, Dwarf_Addr addr,
		   Dwarf_Die *path)
{
	int n = 0;

	if (!dwarf_offdie(dwarf_cu_getdwarf(cu->cu), off, &path[0]))
		return -ENOTSUP;
	n = 1;
	while (may_have_scopes(&path[n - 1])) {
		Dwarf_Die child;
		int rc = dwarf_child(&path[n - 1], &child), in = 0;

		while (rc == 0) {
			if (dwarf_tag(&child) == DW_TAG_imported_unit)
				return -ENOTSUP;
			in = dwarf_haspc(&child, addr);
			if (in < 0)
				return -ENOTSUP;
			if (in > 0)
				break;
			rc = dwarf_siblingof(&child, &child);
		}
		if (rc < 0)
			return -ENOTSUP;
		if (in <= 0)
			break;
		if (n == PATH_MAX_DEPTH)
			return -ENOTSUP;
		path[n++] = child;
	}
	return n;
}

static bool function_like(Dwarf_Die *die)
{
	int tag = dwarf_tag(die);

	return tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram;
}

/* libdw's answer: dwarf_getscopes(), then dwarf_getscopes_die() for each
 * inlined instance's caller. */
static int chain_libdw(Dwarf_Die *cu, Dwarf_Addr addr, Dwarf_Die *chain,
		       int max)
{
	Dwarf_Die *scopes = NULL;
	int nscopes = dwarf_getscopes(cu, addr, &scopes), n = 0;
	bool have = false;

	for (int i = 0; i < nscopes && !have; i++)
		if ((have = function_like(&scopes[i])))
			chain[n++] = scopes[i];
	free(scopes);
	while (have && n < max &&
	       dwarf_tag(&chain[n - 1]) != DW_TAG_subprogram) {
		Dwarf_Die *outer = NULL;
		int nouter = dwarf_getscopes_die(&chain[n - 1], &outer);

		have = false;
		/* [0] is the DIE itself */
		for (int i = 1; i < nouter && !have; i++)
			if ((have = function_like(&outer[i])))
				chain[n++] = outer[i];
		free(outer);
	}
	return n;
}

int obj_func_chain(struct elf_obj *o, Dwarf_Die *cu, Dwarf_Addr addr,
		   Dwarf_Die *chain, int max)
{
	Dwarf_Die path[PATH_MAX_DEPTH];
	struct cu_scopes *s;
	Dwarf_Off top;
	int depth, n = 0;

	if (max <= 0)
		return 0;
	s = o->no_scope_index ? NULL : cu_scopes_of(o, cu);
	if (!s || s->slow) {
		o->scopes_asked++;
		return chain_libdw(cu, addr, chain, max);
	}
	top = s->n ? top_at(s, addr) : 0;
	if (!top)
		return 0;
	depth = descend(cu, top, addr, path);
	if (depth < 0) {
		o->scopes_asked++;
		return chain_libdw(cu, addr, chain, max);
	}
	/* innermost first, up to the subprogram */
	for (int i = depth - 1; i >= 0 && n < max; i--) {
		if (!function_like(&path[i]))
			continue;
		chain[n++] = path[i];
		if (dwarf_tag(&path[i]) == DW_TAG_subprogram)
			break;
	}
	return n;
}
