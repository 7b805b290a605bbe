/* How an ELF file is linked, read as the loader would without running it:
 * its interpreter, DT_NEEDED, RUNPATH/RPATH, its undefined dynamic symbols
 * with their versions; /etc/ld.so.cache parsed directly; files opened
 * safely (regular files only). Owns what it returns. */
#ifndef CGOPROF_LINKAGE_H
#define CGOPROF_LINKAGE_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum linkage_kind {
	LINKAGE_STATIC = 0,	/* no PT_INTERP, no PT_DYNAMIC */
	LINKAGE_STATIC_PIE,	/* ET_DYN with PT_DYNAMIC, no interpreter */
	LINKAGE_DYNAMIC,	/* PT_INTERP */
};

/* An undefined dynamic symbol: what the file imports. */
struct elf_import {
	char *symbol;
	char *version;	/* "GLIBC_2.2.5", or NULL: unversioned */
	char *file;	/* the vernaux's library ("libc.so.6"), or NULL */
};

struct elf_linkage {
	enum linkage_kind kind;
	bool is_dyn;		/* ET_DYN (PIE or shared object) */
	char *interp;		/* PT_INTERP, or NULL */
	char **needed;		/* DT_NEEDED, in order */
	size_t nneeded;
	char *runpath;		/* DT_RUNPATH, or NULL */
	char *rpath;		/* DT_RPATH, or NULL */
	struct elf_import *imports;	/* sorted by symbol */
	size_t nimports;
	char glibc_min[16];	/* newest GLIBC_x.y needed, "" when none */
};

/* Reads @elf's linkage into @l (zeroed by the caller). 0, -EINVAL
 * (malformed), -ENOMEM; a file with no dynamic section is static with
 * nothing else. Release with elf_linkage__release(). */
int elf_linkage__read(Elf *elf, struct elf_linkage *l);
void elf_linkage__release(struct elf_linkage *l);

/* Compares "2.34" and "2.5" as versions: <0, 0, >0. */
int glibc_version__cmp(const char *a, const char *b);

/* /etc/ld.so.cache: the "glibc-ld.so.cache1.1" format, alone or after the
 * old "ld.so-1.7.0" one. */
struct ldso_cache;

/* Parses @size bytes at @buf (copied). NULL and errno: EINVAL malformed,
 * ENOMEM. Caller frees with ldso_cache__free(). */
struct ldso_cache *ldso_cache__parse(const void *buf, size_t size);
/* Reads and parses @path (NULL: /etc/ld.so.cache). NULL and errno. */
struct ldso_cache *ldso_cache__open(const char *path);
void ldso_cache__free(struct ldso_cache *c);
/* The path of the x86-64 library @soname, borrowed, valid until
 * ldso_cache__free(); NULL when the cache has none. */
const char *ldso_cache__lookup(const struct ldso_cache *c, const char *soname);
/* Number of entries (all architectures). */
size_t ldso_cache__count(const struct ldso_cache *c);

/* An ELF file opened for reading only what it says: a regular file
 * (O_NONBLOCK: a FIFO or a device is refused, never waited on). */
struct elf_file {
	int fd;
	Elf *elf;
	uint64_t size;		/* st_size */
};
/* 0, or -errno: -EISDIR a directory, -EINVAL not a regular file,
 * -ENOEXEC not ELF (libelf cannot read it), open(2)'s errors. Close with
 * elf_file__close(). */
int elf_file__open(const char *path, struct elf_file *f);
void elf_file__close(struct elf_file *f);

#endif
