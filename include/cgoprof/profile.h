/* The resolved profile: aggregated stacks with symbolized locations. Built by
 * profiler/ at the end of a recording, read by the exporters in export/.
 * Owns every string and array it points to (one arena, base/profile.c);
 * exporters only borrow. */
#ifndef CGOPROF_PROFILE_H
#define CGOPROF_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a frame is, for colors, summaries and the folded `--annotate`. */
enum frame_kind {
	FRAME_KIND_UNKNOWN = 0, /* "[module+0xoffset]" */
	FRAME_KIND_GO,		/* user Go code */
	FRAME_KIND_GO_RUNTIME,	/* runtime and internal runtime packages */
	FRAME_KIND_CGO_BRIDGE,	/* runtime.cgocall, asmcgocall, crosscall2, _cgo_* */
	FRAME_KIND_C,		/* C in the main binary or a non-libc library */
	FRAME_KIND_LIBC,	/* libc, libm, libpthread, libdl, librt */
	FRAME_KIND_LDSO,	/* the dynamic loader */
	FRAME_KIND_KERNEL,
	FRAME_KIND_VDSO,
	FRAME_KIND_TRUNCATED,	/* pseudo-frame "[truncated: reason]" */
	FRAME_KIND_PHASE,	/* pseudo-frame: a cold-start phase name */
	FRAME_KIND__COUNT,
};

/* Short lowercase name of a kind ("go", "go-runtime", "cgo-bridge", "c",
 * "libc", "ld.so", "kernel", "vdso", "unknown", "truncated", "phase"). */
const char *frame_kind__name(enum frame_kind kind);

/* How an unwound stack ended. */
enum stack_status {
	STACK_COMPLETE = 0,	/* reached a thread root */
	STACK_TRUNCATED,	/* ends with a "[truncated: reason]" frame */
	STACK_RECONSTRUCTED,	/* complete, but used reads of live memory */
	STACK_STATUS__COUNT,
};

/* One function at one source position. A location has one or more. */
struct profile_frame {
	const char *name;	/* never NULL, never empty */
	const char *file;	/* NULL when unknown */
	uint32_t line;		/* 0 when unknown */
	enum frame_kind kind;
	bool inlined;		/* inlined into the next (outer) frame */
};

/* One executable mapping, as pprof wants it. */
struct profile_mapping {
	uint64_t start, limit, offset;
	const char *path;	/* "[vdso]", "[kernel.kallsyms]", or a path */
	const char *build_id;	/* hex string, "" when none */
	bool symbolized;	/* cgoprof read the binary and named every
				 * location in it (some as [module+0xoff]) */
	bool is_main;		/* the main executable of the (first) process */
};

/* One unique code address. */
struct profile_location {
	uint64_t address;	/* the address as sampled (leaf: ip; callers: ret) */
	uint32_t mapping;	/* index into profile.mappings, or UINT32_MAX */
	uint32_t nframes;	/* >= 1 */
	/* innermost first: frames[0] is the inlined callee (or the function
	 * itself), frames[nframes-1] the function the code belongs to */
	const struct profile_frame *frames;
	bool is_leaf;		/* sampled ip (not a return address) */
};

/* One unique stack of one thread, with its totals. */
struct profile_stack {
	uint32_t pid, tid;
	const char *comm;	/* process name (main thread's comm) */
	const char *thread_comm;
	uint32_t nlocs;
	const uint32_t *locs;	/* indexes into profile.locations, leaf first */
	uint64_t count;		/* samples */
	uint64_t weight;	/* sum of sample periods (ns for cpu-clock) */
	enum stack_status status;
};

struct profile {
	const char *command;	/* the command line, or "pid 123,456" */
	const char *event;	/* "cpu-clock" */
	const char *period_unit;	/* "nanoseconds" for time events, else "count" */
	uint64_t freq;		/* Hz when sampled by frequency, else 0 */
	uint64_t period;	/* nominal period (1e9/freq for cpu-clock) */
	uint64_t time_nanos;	/* start, Unix epoch ns */
	uint64_t duration_nanos;

	size_t nmappings, nlocations, nstacks;
	const struct profile_mapping *mappings;
	const struct profile_location *locations;
	const struct profile_stack *stacks;

	uint64_t total_samples;
	uint64_t lost_samples;
	uint64_t status_samples[STACK_STATUS__COUNT];
	/* what the recording lost, in sentences, one a line (the summary
	 * prints them, the JSON lists them); NULL: nothing */
	const char *notes;
};

/* A new, zeroed profile with an arena of its own for everything it will
 * point to. NULL (errno ENOMEM) on failure. */
struct profile *profile__new(void);
/* @n bytes (aligned for any type) or a copy of @s, from the arena of @p (a
 * profile__new() one), freed with it. NULL when out of memory. */
void *profile__alloc(struct profile *p, size_t n);
char *profile__strdup(struct profile *p, const char *s);
/* Frees a profile made by profile__new(), as stack_table__resolve()
 * returns, and its arena (accepts NULL). */
void profile__free(struct profile *p);

#endif
