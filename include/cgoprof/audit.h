/* cgoprof audit: what a binary is made of, read from the file alone (never
 * run): build facts, linkage and its library closure, why it has cgo, its
 * size in parts that add up to the file, libc imports, findings. Borrows
 * nothing past a call; the report owns all it holds. */
#ifndef CGOPROF_AUDIT_H
#define CGOPROF_AUDIT_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgoprof/buildinfo.h"
#include "cgoprof/linkage.h"

/* The parts of a file, each byte in exactly one. */
enum audit_part {
	AUDIT_GO_TEXT = 0,	/* text of the pclntab's functions */
	AUDIT_C_TEXT,		/* other executable bytes: cgo objects, libc */
	AUDIT_RODATA,		/* read-only data (but the pclntab) */
	AUDIT_PCLNTAB,
	AUDIT_DATA,		/* writable data with file contents */
	AUDIT_SYMBOLS_DEBUG,	/* .symtab, .strtab, DWARF: what -s -w drops */
	AUDIT_OTHER,		/* headers, dynamic tables, padding */
	AUDIT_PART__COUNT,
};

/* "go_text", "c_text", ... (the JSON keys). */
const char *audit_part__name(enum audit_part part);

struct audit_size {
	char *name;		/* a Go package or a C symbol */
	uint64_t bytes;
};

struct audit_lib {
	char *name;		/* soname as needed */
	char *path;		/* where the loader finds it; NULL: not found */
	uint64_t size;		/* its file size; 0 when not found */
	char *needed_by;	/* the first object that needs it */
};

struct audit_cgo_pkg {
	char *package;
	char **c_functions;	/* the C functions its _Cfunc_s call */
	size_t nc_functions;
	char **callbacks;	/* its Go functions exported to C */
	size_t ncallbacks;
	bool implicit;		/* a standard package that brings cgo in */
	const char *avoid;	/* the tag or setting that removes it; NULL */
	bool needs_cgo;		/* no pure-Go fallback known */
	uint64_t text;		/* its Go text */
};

enum audit_import_group {
	AUDIT_IMPORT_DNS = 0,
	AUDIT_IMPORT_USERS,
	AUDIT_IMPORT_THREADS,
	AUDIT_IMPORT_MEMORY,
	AUDIT_IMPORT_IO,
	AUDIT_IMPORT_OTHER,
	AUDIT_IMPORT__COUNT,
};
const char *audit_import_group__name(enum audit_import_group g);
enum audit_import_group audit_import_group__of(const char *symbol);

enum audit_severity {
	AUDIT_INFO = 0,
	AUDIT_WARNING,
	AUDIT_ERROR,		/* trips the gate */
};
const char *audit_severity__name(enum audit_severity s);

struct audit_finding {
	const char *id;		/* "static-glibc-nss", ... */
	enum audit_severity severity;
	char *message;
};

enum audit_libc {
	AUDIT_LIBC_UNKNOWN = 0,
	AUDIT_LIBC_GLIBC,
	AUDIT_LIBC_MUSL,
};

struct audit_report {
	char *path;
	uint64_t size;			/* bytes of the file */
	const char *arch;		/* "x86_64", "aarch64", ... */
	bool is_go;
	struct go_buildinfo go;		/* go.version NULL: unknown */
	const char *go_unknown;		/* what could not be read, or NULL */
	struct elf_linkage link;
	struct audit_lib *libs;		/* the closure, breadth first */
	size_t nlibs;
	enum audit_libc libc;
	bool cgo_enabled;
	struct audit_cgo_pkg *cgo;	/* sorted by package */
	size_t ncgo;
	uint64_t parts[AUDIT_PART__COUNT];
	struct audit_size *go_packages;	/* Go text per package, largest first */
	size_t ngo_packages;
	struct audit_size *c_symbols;	/* C text per symbol, largest first */
	size_t nc_symbols;
	struct audit_finding *findings;
	size_t nfindings;
};

struct audit_opts {
	const char *max_glibc;	/* "2.31": a finding when newer; NULL */
	bool no_cgo;		/* cgo present is an error */
	const char *ldso_cache;	/* NULL: /etc/ld.so.cache */
	const char *sysroot;	/* prefix of every library path; NULL: "" */
};

/* Audits the ELF file at @path. Returns the report (caller frees with
 * audit_report__free()) or NULL and errno: EISDIR, EINVAL (not a regular
 * file), ENOEXEC (not ELF), EFAULT (truncated, or headers pointing outside
 * the file), open(2)'s errors, ENOMEM. */
struct audit_report *audit__file(const char *path, const struct audit_opts *o);

/* The part of audit__file() that reads only @elf (@size: its file size):
 * no library resolved, no other file opened. The fuzz target's entry.
 * 0 or -errno; @r is filled as far as it got (free it either way). */
int audit__elf(Elf *elf, uint64_t size, const struct audit_opts *o,
	       struct audit_report *r);

void audit_report__free(struct audit_report *r);

/* Sizes of the parts (audit_size.c): fills r->parts, r->go_packages,
 * r->c_symbols. @tab may be NULL (not Go). 0 or -ENOMEM. */
struct pclntab;
int audit__sizes(Elf *elf, uint64_t size, const struct pclntab *tab,
		 struct audit_report *r);

#endif
