// SPDX-License-Identifier: MIT
/* cgoprof audit's closure of shared libraries (profiler/audit_internal.h):
 * each DT_NEEDED found as the loader would find it, breadth first, with
 * the needing object's DT_RPATH (when it has no DT_RUNPATH, else the
 * executable's), DT_RUNPATH ($ORIGIN expanded), /etc/ld.so.cache (glibc)
 * and the default directories (glibc's or musl's); a candidate of another
 * class or machine is skipped, as the loader skips it. Nothing is run. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/audit.h"
#include "audit_internal.h"

#define AUDIT_MAX_LIBS 512

struct search {
	const struct audit_opts *o;
	struct ldso_cache *cache;
	bool musl;
	int class;
	unsigned machine;
};

/* Tries @dir/@name: a readable ELF of the binary's class and machine (the
 * loader skips others). */
static bool try_path(const struct search *s, const char *dir, size_t dirlen,
		     const char *name, const char *origin, char **out,
		     uint64_t *size, struct elf_linkage *l)
{
	char path[4096];
	struct elf_file f;
	GElf_Ehdr ehdr;
	int n;

	if (dirlen >= 7 && !strncmp(dir, "$ORIGIN", 7)) {
		n = snprintf(path, sizeof(path), "%s%s%.*s/%s",
			     s->o && s->o->sysroot ? s->o->sysroot : "",
			     origin, (int)(dirlen - 7), dir + 7, name);
	} else {
		n = snprintf(path, sizeof(path), "%s%.*s%s%s",
			     s->o && s->o->sysroot ? s->o->sysroot : "",
			     (int)dirlen, dir, dirlen ? "/" : "", name);
	}
	if (n < 0 || (size_t)n >= sizeof(path))
		return false;
	if (elf_file__open(path, &f))
		return false;
	if (!gelf_getehdr(f.elf, &ehdr) ||
	    ehdr.e_ident[EI_CLASS] != s->class ||
	    ehdr.e_machine != s->machine) {
		elf_file__close(&f);
		return false;
	}
	*size = f.size;
	elf_linkage__read(f.elf, l);
	elf_file__close(&f);
	*out = strdup(path + (s->o && s->o->sysroot ? strlen(s->o->sysroot)
						    : 0));
	return *out != NULL;
}

static bool try_dirs(const struct search *s, const char *list,
		     const char *name, const char *origin, char **out,
		     uint64_t *size, struct elf_linkage *l)
{
	while (list && *list) {
		size_t len = strcspn(list, ":");

		if (len && try_path(s, list, len, name, origin, out, size, l))
			return true;
		list += len + (list[len] == ':');
	}
	return false;
}

static const char glibc_dirs[] =
	"/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:"
	"/lib:/usr/lib";
static const char musl_dirs[] = "/lib:/usr/local/lib:/usr/lib";

/* Where the loader finds @name needed by an object with @rpath, @runpath
 * in directory @origin: DT_RPATH (when there is no DT_RUNPATH), then
 * DT_RUNPATH, ld.so.cache, the default directories. LD_LIBRARY_PATH is
 * the running environment's, not the binary's: not used. */
static void resolve(const struct search *s, const char *name,
		    const char *rpath, const char *runpath, const char *origin,
		    char **out, uint64_t *size, struct elf_linkage *l)
{
	const char *cached;

	if (strchr(name, '/')) {
		try_path(s, "", 0, name, origin, out, size, l);
		return;
	}
	if (!runpath && try_dirs(s, rpath, name, origin, out, size, l))
		return;
	if (try_dirs(s, runpath, name, origin, out, size, l))
		return;
	if (!s->musl && s->cache) {
		cached = ldso_cache__lookup(s->cache, name);
		if (cached && try_path(s, "", 0, cached, origin, out, size, l))
			return;
	}
	try_dirs(s, s->musl ? musl_dirs : glibc_dirs, name, origin, out,
		 size, l);
}

static char *dir_of(const char *path)
{
	char *copy = strdup(path), *d;

	if (!copy)
		return NULL;
	d = strdup(dirname(copy));
	free(copy);
	return d;
}

/* What a library's own needs are resolved with: its paths and folder. */
struct needer {
	char *rpath, *runpath, *origin;
};

static int lib_add(struct audit_report *r, size_t *needer_of,
		   const char *name, const char *by, size_t needer)
{
	for (size_t k = 0; k < r->nlibs; k++)
		if (!strcmp(r->libs[k].name, name))
			return 0;
	if (r->nlibs >= AUDIT_MAX_LIBS)
		return 0;
	r->libs[r->nlibs].name = strdup(name);
	r->libs[r->nlibs].needed_by = strdup(by);
	needer_of[r->nlibs] = needer;
	r->nlibs++;
	return r->libs[r->nlibs - 1].name && r->libs[r->nlibs - 1].needed_by
		       ? 0
		       : -ENOMEM;
}

int audit__libs_resolve(struct audit_report *r, const struct audit_opts *o,
			Elf *elf)
{
	struct search s = {.o = o, .musl = r->libc == AUDIT_LIBC_MUSL};
	struct needer *needers = NULL; /* [0]: the executable, [i + 1]: lib i */
	size_t *needer_of = NULL;
	GElf_Ehdr ehdr;
	int err = 0;

	if (!gelf_getehdr(elf, &ehdr))
		return 0;
	s.class = ehdr.e_ident[EI_CLASS];
	s.machine = ehdr.e_machine;
	if (!s.musl)
		s.cache = ldso_cache__open(o ? o->ldso_cache : NULL);
	r->libs = calloc(AUDIT_MAX_LIBS, sizeof(*r->libs));
	needers = calloc(AUDIT_MAX_LIBS + 1, sizeof(*needers));
	needer_of = calloc(AUDIT_MAX_LIBS, sizeof(*needer_of));
	if (!r->libs || !needers || !needer_of) {
		err = -ENOMEM;
		goto out;
	}
	needers[0].origin = dir_of(r->path);
	needers[0].rpath = r->link.rpath;
	needers[0].runpath = r->link.runpath;
	/* breadth first: the executable's needs, then theirs */
	for (size_t i = 0; i < r->link.nneeded && !err; i++)
		err = lib_add(r, needer_of, r->link.needed[i], r->path, 0);
	for (size_t next = 0; next < r->nlibs && !err; next++) {
		struct audit_lib *lib = &r->libs[next];
		const struct needer *by = &needers[needer_of[next]];
		const char *rpath = by->rpath;
		struct elf_linkage l = {0};

		/* DT_RPATH of the needer, else of the executable */
		if (!rpath && !by->runpath)
			rpath = r->link.rpath;
		resolve(&s, lib->name, rpath, by->runpath,
			by->origin ? by->origin : ".", &lib->path, &lib->size,
			&l);
		if (lib->path) {
			needers[next + 1].origin = dir_of(lib->path);
			needers[next + 1].rpath = l.rpath;
			needers[next + 1].runpath = l.runpath;
			l.rpath = l.runpath = NULL;
		}
		for (size_t i = 0; i < l.nneeded && !err; i++)
			err = lib_add(r, needer_of, l.needed[i], lib->path,
				      next + 1);
		elf_linkage__release(&l);
		if (!err && !lib->path)
			err = audit__finding_add(r, "library-not-found", AUDIT_WARNING,
					  "'%s' (needed by '%s') is not where "
					  "the loader would look",
					  lib->name, lib->needed_by);
	}
out:
	if (needers) {
		free(needers[0].origin);
		for (size_t i = 1; i <= AUDIT_MAX_LIBS; i++) {
			free(needers[i].origin);
			free(needers[i].rpath);
			free(needers[i].runpath);
		}
	}
	free(needers);
	free(needer_of);
	ldso_cache__free(s.cache);
	return err;
}
