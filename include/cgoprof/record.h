/* A recording session: opens the events on the targets (attach or launch),
 * runs the record loop (ring -> process model -> unwinder -> stack table)
 * and hands out the resolved profile. Owns fds, rings, the process model,
 * the ELF cache and the stack table. */
#ifndef CGOPROF_RECORD_H
#define CGOPROF_RECORD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgoprof/profile.h"
#include "cgoprof/unwind.h"

struct record_stats;
struct elf_cache;

#define RECORD_KILL_AFTER 5.0	/* seconds */

/* Where a cpu-clock recording's timers run (profiler/record_scope.c):
 * one a CPU where it can be had (the snapshot program drops the samples
 * of other processes), else one a thread, as perf record's. */
enum record_scope {
	RECORD_SCOPE_AUTO = 0,
	RECORD_SCOPE_CPU,
	RECORD_SCOPE_THREAD,
};

struct record_opts {
	const pid_t *pids;	/* attach: these processes */
	int npids;
	char *const *argv;	/* launch: this command (NULL-terminated) */
	const char *event;	/* libpfm4 name; NULL: cpu-clock */
	uint64_t freq;		/* Hz; 0: use period */
	uint64_t period;
	double duration;	/* seconds; 0: until the targets exit */
	/* Launch: seconds from the SIGTERM a command gets when the recording
	 * ends before it to its SIGKILL; 0: RECORD_KILL_AFTER, < 0: at once */
	double kill_after;
	uint32_t stack_size;	/* bytes of user stack per sample */
	size_t mmap_pages;	/* per CPU ring; power of two; 0: default */
	bool no_kernel;
	/* Optional, called every 250 ms while recording, and once with
	 * @done at its end (the library prints nothing itself): seconds
	 * recorded, the stats so far, threads sampled. */
	void (*progress)(void *ctx, double seconds,
			 const struct record_stats *st, size_t threads,
			 bool done);
	void *progress_ctx;
	bool sample_addr;	/* PERF_SAMPLE_ADDR (page faults) */
	bool mmap_data;		/* also non-exec mmaps */
	bool cgo_probe;		/* uprobe at runtime.asmcgocall (see --help) */
	bool morestack_probe;	/* uprobe at runtime.morestack (see --help) */
	bool no_bpf;		/* no goroutine stack snapshots (see --help) */
	enum record_scope scope;	/* where the sampling timers run */
	/* Optional: the ELF cache to use (borrowed; it must outlive the
	 * record), so that a series of recordings of one program parses its
	 * files once (coldstart); NULL: the record makes its own. */
	struct elf_cache *cache;
	/* launch: the command's stdout and stderr go to /dev/null */
	bool quiet_command;
	struct unwind_opts unwind;
	/* Optional, called in time order for each sample: a pseudo-frame to
	 * put at the root of its stack (a cold-start phase, a memory
	 * category); NULL for none. The string must live until the record
	 * is freed (static, or owned by @hook_ctx). */
	const char *(*sample_root)(void *hook_ctx, const struct perf_sample *s,
				   const struct unwind_result *r);
	void *hook_ctx;
	/* stop when *stop becomes non-zero (a signal handler sets it) */
	const volatile sig_atomic_t *stop;
	/* and when *stop_hook does: set by a hook above, as coldstart's at
	 * its --ready function (the caller's own *stop stays a signal's);
	 * NULL for none */
	const volatile sig_atomic_t *stop_hook;
	/* Optional: called with @hook_ctx at every turn of the loop (at
	 * least every 50 ms), before the samples are read and *stop_hook
	 * is looked at */
	void (*tick)(void *hook_ctx);
};

/* Where opening failed, for the CLI's error text. */
enum record_stage {
	RECORD_STAGE_NONE = 0,
	RECORD_STAGE_EVENT,	/* the event name */
	RECORD_STAGE_PID,	/* the target process */
	RECORD_STAGE_OPEN,	/* perf_event_open */
	RECORD_STAGE_MMAP,	/* the ring buffer */
	RECORD_STAGE_EXEC,	/* the command could not be run */
	RECORD_STAGE_FORK,	/* fork, pipes */
	RECORD_STAGE_START,	/* the command ended before its exec */
	RECORD_STAGE_SCOPE,	/* --scope cpu cannot be had: why */
};

struct record_error {
	enum record_stage stage;
	int err;		/* positive errno */
	pid_t pid;
	int perf_type;		/* the event's perf type, for the message */
	int status;		/* RECORD_STAGE_START: the command's wait
				 * status (-1: unknown) */
	const char *why;	/* RECORD_STAGE_SCOPE: a sentence */
};

struct record_stats {
	uint64_t samples, lost, throttled, bad_records;
	uint64_t unwind_failed;		/* samples the unwinder refused */
	uint64_t aggregate_failed;	/* samples the stack table could not
					 * take (out of memory): not in the
					 * profile */
	uint64_t threads_seen;
	uint64_t cgo_entries;	/* cgo calls seen by the entry probe */
	uint64_t morestack_probes;	/* Go binaries with a morestack probe */
	uint64_t morestack_entries;	/* morestack calls of the targets */
	bool gosnap_on;			/* goroutine stack snapshots taken */
	const char *gosnap_off;		/* why not, when they were wanted */
	uint64_t go_snapshots;		/* snapshots of the targets */
	/* the snapshot program's runs during the recording and their time
	 * (counted only with sysctl kernel.bpf_stats_enabled = 1) */
	uint64_t bpf_runs, bpf_ns;
	uint64_t latency_ns;	/* sum over samples: taken -> unwound */
	uint64_t compared, disagreed;	/* --unwinder=compare: C frames */
	uint64_t ns_elapsed;
	bool user_only_fallback;	/* kernel frames refused: user only */
	bool cpu_scope;		/* one timer a CPU (else one a thread) */
	const char *thread_scope_why;	/* why not, where it was wanted */
	/* targets' new processes not followed: the program's list was full,
	 * or (targets_lost) the reader's could not grow */
	uint64_t targets_full, targets_lost;
	uint64_t reaped;	/* samples of threads already released (pid -1),
				 * dropped */
};

struct record;

/* Caller frees with record__free(). NULL and errno on failure. */
struct record *record__new(const struct record_opts *o);
void record__free(struct record *r);

/* Opens the events and, for a launch, starts the command. 0 or -errno;
 * @e says what failed. */
int record__open(struct record *r, struct record_error *e);
/* Records until *stop, the duration, or the targets' exit. 0 or -errno. */
int record__loop(struct record *r);
const struct record_stats *record__stats(const struct record *r);
/* Launch: ends the command the recording outlived, which got SIGTERM when
 * the loop ended: waits for it until kill_after seconds after that, then
 * SIGKILL. Call it after the outputs are written; record__free() does when
 * the caller did not. The wait status (-1 unknown, or no launch). */
int record__end_child(struct record *r);
/* Launch: the command's wait status, or -1 when it is unknown (it still
 * runs: record__end_child()). */
int record__child_status(const struct record *r);
/* Launch: the command's pid (valid after record__open), else -1. */
pid_t record__child_pid(const struct record *r);
/* The process model (borrowed, valid until record__free()). */
struct procmap *record__procmap(struct record *r);

/* The resolved profile. Caller frees with profile__free(). */
struct profile *record__profile(struct record *r, const char *command);

#endif
