/* What cgoprof audit's files share inside profiler/: package names, the
 * findings list and the closure of shared libraries (audit_libs.c). */
#ifndef CGOPROF_AUDIT_INTERNAL_H
#define CGOPROF_AUDIT_INTERNAL_H

#include <gelf.h>

#include "cgoprof/audit.h"

/* Go package of function @name: its length, up to the first '.' after
 * the last '/' (generic arguments in brackets left out). */
size_t audit__package_len(const char *name);

/* Adds a finding to @r (its message formatted). 0 or -ENOMEM. */
int audit__finding_add(struct audit_report *r, const char *id,
		       enum audit_severity sev, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Fills r->libs with the closure of r->link.needed (@elf: the executable,
 * r->path its path), a library-not-found finding for each one the loader
 * would not find. 0 or -ENOMEM. */
int audit__libs_resolve(struct audit_report *r, const struct audit_opts *o,
			Elf *elf);

#endif
