/* The process model: pid -> maps, comm and threads, from /proc at attach and
 * then from MMAP2/COMM/FORK/EXIT records. Owns its procs and maps; borrows
 * ELF objects from the elf_cache it was given. */
#ifndef CGOPROF_PROCMAP_H
#define CGOPROF_PROCMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgoprof/elfobj.h"

struct map {
	uint64_t start, end, pgoff;
	uint64_t dev, ino;
	uint32_t prot;		/* PROT_* */
	char *path;		/* "" for anonymous */
	uint32_t id;		/* unique across the recording (pprof mapping) */
	bool obj_tried;
	struct elf_obj *obj;	/* borrowed from the cache; NULL if none */
	uint64_t bias;		/* pc - bias = link-time vaddr, when obj */
};

struct proc {
	uint32_t pid;
	char comm[16];
	bool alive;
	bool is_go;		/* main executable has a pclntab */
	struct map *maps;	/* sorted by start, not overlapping */
	size_t nmaps, cap;
	char *exe;		/* path of the main executable, or NULL */
	/* where its g is, fs-relative, as given to the snapshot program
	 * (the recorder's); 0: not yet, for this executable */
	int32_t snap_g_tls;
	/* the recorder's count of its samples (Go only, snapshots wanted):
	 * all, those a snapshot served, those not complete without one */
	uint64_t snap_samples, snap_used, snap_incomplete;
	uint64_t snap_cgo;	/* of them with a C leaf: in cgo calls */
	const char *snap_why;	/* static: why snapshots cannot work */
};

struct thread {
	uint32_t tid, pid;
	char comm[16];
	bool alive;
};

struct procmap;

/* Caller frees with procmap__free(). @cache is borrowed. */
struct procmap *procmap__new(struct elf_cache *cache);
void procmap__free(struct procmap *pm);

/* Borrowed, valid until procmap__free(); NULL when unknown and not
 * @create (or out of memory). */
struct proc *procmap__proc(struct procmap *pm, uint32_t pid, bool create);
struct thread *procmap__thread(struct procmap *pm, uint32_t tid, uint32_t pid,
			       bool create);
/* The ELF cache the model opens objects with (borrowed: the caller's). */
struct elf_cache *procmap__cache(struct procmap *pm);
/* Calls @fn for every process known, in pid order of creation. */
void procmap__for_each(struct procmap *pm, void (*fn)(struct proc *, void *),
		       void *ctx);

/* Reads /proc/PID/maps, comm and task/ into the model. 0 or -errno
 * (-ESRCH: no such process). */
int procmap__load_proc(struct procmap *pm, uint32_t pid);

/* Record handlers. */
int procmap__mmap(struct procmap *pm, uint32_t pid, uint64_t start,
		  uint64_t len, uint64_t pgoff, uint64_t dev, uint64_t ino,
		  uint32_t prot, const char *path);
void procmap__comm(struct procmap *pm, uint32_t pid, uint32_t tid,
		   const char *comm, bool exec);
void procmap__fork(struct procmap *pm, uint32_t pid, uint32_t ppid,
		   uint32_t tid);
void procmap__exit(struct procmap *pm, uint32_t pid, uint32_t tid);

/* The executable mapping containing @addr, with its ELF object opened
 * (through /proc/PID/map_files or /proc/PID/root while the process lives)
 * and its bias set. NULL when no mapping covers @addr. */
struct map *procmap__find(struct procmap *pm, struct proc *p, uint64_t addr);

#endif
