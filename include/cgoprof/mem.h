/* cgoprof mem: resident memory by category. The /proc/PID/smaps parser and
 * the classifier on top of it are plain functions of text and of what a
 * struct mem_probe answers (unit-tested on hand-written smaps); the sampler
 * takes snapshots of a live process; the fault hook charges each sampled
 * page fault to the category of its page. The rules are described in
 * docs/mem.md. Each object owns its arrays; segments borrow names from the
 * maps they were built from. */
#ifndef CGOPROF_MEM_H
#define CGOPROF_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct elf_obj;
struct perf_sample;
struct record;
struct unwind_result;

/* Where resident memory belongs. The order is the JSON's and the table's. */
enum mem_cat {
	MEM_GO_HEAP = 0,	/* the Go runtime's heap arenas */
	MEM_GO_RUNTIME,		/* other memory of the Go runtime */
	MEM_C_HEAP,		/* malloc: brk heap, arenas, mmapped chunks */
	MEM_THREAD_STACKS,	/* [stack] and pthread stacks with guards */
	MEM_EXECUTABLE,		/* the main binary's mappings and bss */
	MEM_LIBRARIES,		/* other mapped files, per basename */
	MEM_LOADER,		/* ld-linux */
	MEM_OTHER_ANON,		/* the rest */
	MEM_CAT__COUNT,
};

/* "go_heap", "go_runtime", "c_heap", "thread_stacks", "executable",
 * "libraries", "loader", "other_anon"; "unknown" out of range. */
const char *mem_cat__name(enum mem_cat cat);

/* What a classification rests on, from certain to guessed. */
enum mem_basis {
	MEM_BASIS_NAMED = 0,	/* a file, [heap], [stack], [anon: Go: heap] */
	MEM_BASIS_VERIFIED,	/* the allocator's own structures, read live */
	MEM_BASIS_LAYOUT,	/* where it lies: Go arena blocks, bss */
	MEM_BASIS_GUESS,	/* a likely owner, not checked */
	MEM_BASIS_REST,		/* unrecognised anonymous memory */
	MEM_BASIS__COUNT,
};

/* "named", "verified", "layout", "guess", "rest". */
const char *mem_basis__name(enum mem_basis basis);

/* ---- maps (mem_maps.c) --------------------------------------------------- */

/* One line of /proc/PID/maps, with its smaps counters when there are. */
struct mem_vma {
	uint64_t start, end, pgoff, ino;
	uint32_t major, minor;
	uint32_t prot;		/* PROT_* */
	bool shared;
	bool has_rss;		/* an smaps entry with an Rss: line */
	uint64_t rss, pss, swap;	/* bytes */
	char *name;		/* "" when anonymous; owned */
};

struct mem_maps {
	struct mem_vma *vmas;	/* sorted by start, not overlapping */
	size_t n, cap;
	uint64_t bad_lines;	/* malformed, out of order: skipped */
};

/* Parses /proc/PID/smaps (or maps) text of @len bytes (no NUL needed)
 * into @m, which is zeroed or released. Lines that are malformed, cut off
 * at the end, out of order or overlapping are skipped and counted in
 * bad_lines, never an error: the text comes from a process that changes
 * while it is read. 0 or -ENOMEM. */
int mem_maps__parse(struct mem_maps *m, const char *text, size_t len);
void mem_maps__release(struct mem_maps *m);

/* ---- classifier (mem_class.c) -------------------------------------------- */

/* What the classifier may ask about the process. Every callback is
 * optional; @ctx is passed to each. */
struct mem_probe {
	bool is_go;		/* the executable is a Go program */
	const char *exe;	/* its path as maps shows it; NULL unknown */
	uint64_t exe_ino;	/* its inode; 0 unknown */
	const uint64_t *sps;	/* user stack pointers of blocked threads */
	size_t nsps;
	/* Reads @len bytes at @addr of the process. 0 or -errno. NULL: no
	 * live reads (the rules that need them become guesses). */
	int (*read)(void *ctx, uint64_t addr, void *buf, size_t len);
	/* Reads 16 bytes at each of @addrs[0..n) into @out: the number read
	 * (a prefix: reading stops at the first failure) or -errno.
	 * Optional: @read is used one address at a time without it. */
	long (*read_pairs)(void *ctx, const uint64_t *addrs, size_t n,
			   uint64_t (*out)[2]);
	/* Sets present[i] for each resident page of [lo, hi). 0 or -errno. */
	int (*present)(void *ctx, uint64_t lo, uint64_t hi, uint8_t *present);
	/* End (absolute, bss included) of the ELF segment the file mapping
	 * @v maps; 0 unknown. */
	uint64_t (*image_end)(void *ctx, const struct mem_vma *v);
	/* Page faults seen in [lo, hi): MEM_GO_RUNTIME when mostly Go code
	 * touched it, MEM_OTHER_ANON when other code did, -1 no faults. */
	int (*touched_by)(void *ctx, uint64_t lo, uint64_t hi);
	void *ctx;
};

/* A range of one mapping with one category. */
struct mem_segment {
	uint64_t start, end;
	uint32_t vma;		/* index into the maps it was built from */
	uint8_t cat;		/* enum mem_cat */
	uint8_t basis;		/* enum mem_basis */
	bool unrecognised;	/* anonymous memory no rule claimed */
	const char *lib;	/* libraries: basename, borrowed from the
				 * maps; NULL otherwise */
};

struct mem_class {
	struct mem_segment *segs;	/* sorted, covering every mapping */
	size_t n, cap;
};

/* Classifies every mapping of @m (the rules are in docs/mem.md). @c is
 * zeroed or released; it borrows names from @m and is valid while @m is.
 * 0 or -ENOMEM. */
int mem_class__build(struct mem_class *c, const struct mem_maps *m,
		     const struct mem_probe *p);
void mem_class__release(struct mem_class *c);
/* The segment containing @addr, or NULL. Borrowed from @c. */
const struct mem_segment *mem_class__find(const struct mem_class *c,
					  uint64_t addr);

/* ---- totals (mem_maps.c) ------------------------------------------------- */

struct mem_lib {
	char *name;		/* owned */
	uint64_t rss;
};

/* Resident bytes of one snapshot by category. */
struct mem_totals {
	uint64_t rss;
	uint64_t cat[MEM_CAT__COUNT];
	uint64_t basis[MEM_CAT__COUNT][MEM_BASIS__COUNT];
	struct mem_lib *libs;	/* by rss, largest first; owned */
	size_t nlibs;
	double time;		/* seconds since the first snapshot */
};

/* Sums the smaps Rss of @m by the segments of @c into @t (zeroed or
 * released). A mapping split between segments is shared out by its
 * resident pages (@p->present), else by length. 0 or -ENOMEM. */
int mem_totals__sum(struct mem_totals *t, const struct mem_maps *m,
		    const struct mem_class *c, const struct mem_probe *p);
/* Everything but go_heap and go_runtime. */
uint64_t mem_totals__outside_go_heap(const struct mem_totals *t);
/* Deep copy of @src into @dst (released first). 0 or -ENOMEM. */
int mem_totals__copy(struct mem_totals *dst, const struct mem_totals *src);
void mem_totals__release(struct mem_totals *t);

/* ---- a live process (mem_proc.c) ----------------------------------------- */

/* The end (absolute, bss included) of the PT_LOAD of @o that the file
 * mapping @v maps: the first whose file range, from the page that holds
 * its first byte, contains @v's offset. 0 when none does, or when a
 * PT_LOAD of @o is impossible (p_filesz > p_memsz, a range that wraps):
 * the image's headers are not to be believed. */
uint64_t mem_elf__image_end(const struct elf_obj *o, const struct mem_vma *v);

/* Faults seen in memory no rule recognised, by the segment they fell in:
 * which code touched it. Written by the fault hook, read by the sampler
 * thread: locked inside. */
struct mem_evidence;

/* Caller frees with mem_evidence__free(). NULL on ENOMEM. */
struct mem_evidence *mem_evidence__new(void);
void mem_evidence__free(struct mem_evidence *ev);

struct mem_sampler_opts {
	pid_t pid;
	double interval;	/* seconds between snapshots of the thread */
	bool live_reads;	/* may read the process (process_vm_readv) */
	/* @pid is our child, launched by a recording, that may not have
	 * exec'd yet: a snapshot of our own executable is no snapshot */
	bool before_exec;
	struct mem_evidence *ev;	/* borrowed; NULL without faults */
};

/* Snapshots of one process: its smaps classified and summed, the peak
 * (largest RSS) and last kept. Warns (pr_warn) once when the process
 * refuses live reads. */
struct mem_sampler;

/* Caller frees with mem_sampler__free(). NULL on ENOMEM. */
struct mem_sampler *mem_sampler__new(const struct mem_sampler_opts *o);
/* Stops the thread when it runs. */
void mem_sampler__free(struct mem_sampler *s);
/* One snapshot, now. 0; -ESRCH the process is gone (or a zombie);
 * -EAGAIN not exec'd yet (before_exec); -EACCES/-EPERM its maps may not
 * be read; -ENOMEM. */
int mem_sampler__snapshot(struct mem_sampler *s);
/* Snapshots every interval on a thread of its own, until
 * mem_sampler__stop() or the process is gone. 0 or -errno. */
int mem_sampler__start(struct mem_sampler *s);
/* Stops and joins the thread (nothing when it does not run). */
void mem_sampler__stop(struct mem_sampler *s);

/* What the snapshots found, borrowed from the sampler: valid until its
 * next snapshot (read it while its thread does not run). */
struct mem_snapshots {
	pid_t pid;
	unsigned n;		/* snapshots taken */
	int err;		/* of the latest one */
	uint64_t bad_lines;	/* malformed smaps lines, all snapshots */
	const char *exe;	/* the executable's path; "" unknown */
	const struct mem_totals *peak, *last;	/* valid when n > 0 */
	/* the latest maps and what each part of them became */
	const struct mem_maps *maps;
	const struct mem_class *cls;
};

void mem_sampler__result(const struct mem_sampler *s,
			 struct mem_snapshots *r);

/* ---- page faults (mem_faults.c) ------------------------------------------ */

struct mem_fault_counts {
	uint64_t by_cat[MEM_CAT__COUNT];	/* sampled faults by category */
	uint64_t unmapped;	/* in no mapping, even after a reload */
	uint64_t reloads;	/* times the maps were read again */
};

/* The sample_root hook of a page-fault recording: each fault is rooted at
 * the category of the page it brought in; in memory no rule recognised,
 * at go_runtime or other_anon by the code that touched it (first user
 * frame Go or not), which is also told to @ev for the sampler. */
struct mem_faults;

/* @ev is borrowed. Caller frees with mem_faults__free(). NULL on ENOMEM. */
struct mem_faults *mem_faults__new(bool live_reads, struct mem_evidence *ev);
void mem_faults__free(struct mem_faults *h);
/* The recording whose process model says which mapping a fault is in,
 * and whose ELF cache (the unwinder's: the hook runs in its thread) opens
 * the mapped files: record_opts.sample_root = mem_faults__root, .hook_ctx
 * = @h, and this before record__open(). @rec outlives the hook's use. */
void mem_faults__attach(struct mem_faults *h, struct record *rec);
/* record_opts.sample_root: "c_heap", ..., or "unmapped". */
const char *mem_faults__root(void *h, const struct perf_sample *s,
			     const struct unwind_result *r);
const struct mem_fault_counts *mem_faults__counts(const struct mem_faults *h);

#endif
