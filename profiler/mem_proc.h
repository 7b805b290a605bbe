/* Shared by cgoprof mem's sampler (mem_proc.c) and its fault hook
 * (mem_faults.c), inside profiler/ only: what one thread needs to look at
 * one live process, and the maps reader. */
#ifndef CGOPROF_PROFILER_MEM_PROC_H
#define CGOPROF_PROFILER_MEM_PROC_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgoprof/mem.h"

struct elf_cache;

/* A mapped file's ELF object, by device and inode (NULL: not ELF, or it
 * could not be opened: not tried again). */
struct mem_elf_memo {
	uint64_t dev, ino;
	struct elf_obj *obj;	/* borrowed from the cache */
};

/* What one thread needs to look at one process. Not thread-safe: each
 * thread has its own (the evidence is locked). */
struct mem_access {
	pid_t pid;
	bool live_reads;	/* asked for, and not refused */
	bool reads_refused;	/* the process refused them */
	bool warn;		/* say so (one thread per process does) */
	int pagemap_fd;
	char exe[PATH_MAX];
	uint64_t exe_ino;
	bool is_go;
	struct elf_cache *cache;	/* borrowed */
	struct mem_elf_memo *memo;
	size_t nmemo;
	uint64_t *sps;
	size_t nsps, cap_sps;
	struct mem_evidence *ev;	/* NULL without --faults */
	struct mem_probe probe;
};

/* @cache (borrowed) opens the mapped files; @ev may be NULL. */
void mem_access__init(struct mem_access *a, pid_t pid, bool live_reads,
		      struct elf_cache *cache, struct mem_evidence *ev);
void mem_access__release(struct mem_access *a);
/* The probe for maps @m just read: the executable looked at again (it
 * changes at exec), live reads checked, and with @with_sps the stack
 * pointers of the blocked threads read. Borrowed from @a. */
const struct mem_probe *mem_access__probe(struct mem_access *a,
					  const struct mem_maps *m,
					  bool with_sps);

/* The maps of @pid (smaps when @smaps) into @m, which is left as it was
 * on error. -ESRCH when the process is gone (or a zombie: no mappings). */
int mem_maps__load(pid_t pid, bool smaps, struct mem_maps *m);

/* Counts a fault in the unrecognised segment at @lo of @pid, touched by
 * Go code or not. Drops it when out of memory: evidence, not a count. */
void mem_evidence__add(struct mem_evidence *ev, pid_t pid, uint64_t lo,
		       bool go);

#endif
