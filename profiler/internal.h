/* Declarations shared inside profiler/ only: the `mem` subcommand, and the
 * /proc/PID/smaps parser and memory classifier it is built on (unit-tested
 * in tests/unit/test_mem.c). Borrows nothing; each object owns its arrays. */
#ifndef CGOPROF_PROFILER_INTERNAL_H
#define CGOPROF_PROFILER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* `cgoprof mem [opts] (-p PID | -- CMD [ARGS])`: argv[0] is "mem". Returns
 * the exit status (0 ok, 1 partial, 2 fatal, 64 usage). */
int cmd_mem(int argc, char **argv);

/* CLI messages (cli.c): "cgoprof: error: ..." on stderr; and the one text
 * for each way opening a recording fails (@event: the event's name,
 * @command: the launched command's name, or ""). */
void cli__error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct record_error;
void cli__open_error(const struct record_error *e, const char *event,
		     const char *command);
/* "123", "0x7b": 0 or -EINVAL. */
int cli__parse_u64(const char *s, uint64_t *v);
/* 0 when @path ("-" is stdout) can be written, else -EACCES (or -ENOMEM). */
int cli__check_output(const char *path);

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

/* What cgoprof mem needs of an ELF file: its PT_LOAD segments and whether
 * it is a Go program. */
struct mem_elf {
	bool is_go;
	size_t nloads;
	struct {
		uint64_t offset, vaddr, filesz, memsz;
	} loads[16];
};

/* Reads the headers of an ELF file through @pread (@len bytes at @off:
 * the number read, or -errno). 0; -EINVAL not a 64-bit little-endian ELF
 * or impossible headers; -EFAULT truncated; -errno from @pread. */
int mem_elf__read(struct mem_elf *e,
		  long (*pread)(void *ctx, void *buf, size_t len, uint64_t off),
		  void *ctx);

#endif
