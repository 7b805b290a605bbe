/* Cold starts: starts a command N times and splits each start into phases
 * (loader, runtime-init, package-init, main-to-ready for Go; loader, init,
 * main-to-ready otherwise). The boundaries are the first hits of uprobes
 * opened system-wide on every CPU before the command starts and filtered by
 * its pid; exec and exit times come from COMM and EXIT records of a dummy
 * event, page faults from a page-faults event counted by time. Every start
 * is also profiled through the record API, each sample rooted at its phase.
 * The method and its limits are in docs/coldstart.md.
 *
 * Four objects: the target (a command, its binary, the file offsets of its
 * phase boundaries), the monitor (the system-wide events of one run), the
 * run (what one start measured, and the record hooks that root its samples
 * under phases) and the series (every run of one target: the statistics).
 * The library never prints: it logs (log.h) and returns errors that say
 * what failed. A target owns its command string, a series its arrays and
 * last profile, a monitor its fds and rings. */
#ifndef CGOPROF_COLDSTART_H
#define CGOPROF_COLDSTART_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgoprof/mem.h"
#include "cgoprof/perf.h"
#include "cgoprof/profile.h"
#include "cgoprof/record.h"
#include "cgoprof/unwind.h"

#define COLDSTART_MAX_RUNS 10000
#define COLDSTART_NPHASES_MAX 4
#define COLDSTART_MAX_EXECS 16
#define COLDSTART_HIT_THREADS 16
/* hits kept per thread: a start's main thread hits the entry, runtime.main
 * and main.main probes within milliseconds, and the rings are read ahead
 * of the samples, which wait for their order */
#define COLDSTART_HIT_DEPTH 8
/* The profile's ring per CPU, in pages: 16 MiB, 1000 samples of 16 KiB
 * stacks, 0.1 s at 9999 Hz while the first samples of a run wait for
 * the unwinder's first reads of each file */
#define COLDSTART_MMAP_PAGES 4096

/* The phase boundaries, each a uprobe. */
enum coldstart_probe {
	COLDSTART_PROBE_ENTRY = 0,	/* ELF entry point */
	COLDSTART_PROBE_RTMAIN,		/* runtime.main (Go only) */
	COLDSTART_PROBE_MAIN,		/* main.main, or main */
	COLDSTART_PROBE_READY,		/* --ready SYMBOL */
	COLDSTART_PROBE__COUNT,
};

/* The root of the samples taken after the --ready function was called:
 * they are in no phase. */
extern const char coldstart_after_ready[];	/* "after-ready" */
#define COLDSTART_AFTER_READY (-1)

/* ---- the target --------------------------------------------------------- */

struct coldstart_target {
	char *const *argv;	/* NULL-terminated; borrowed */
	char *command;		/* argv joined by spaces; owned */
	const char *ready;	/* --ready function, or NULL; borrowed */
	char path[PATH_MAX];	/* the binary the uprobes are put on */
	uint64_t dev, ino;	/* of path, to know its mappings; 0 unknown */
	bool is_go;
	const char *const *phases;	/* names, static */
	int nphases;
	uint64_t off[COLDSTART_PROBE__COUNT];	/* file offsets */
	bool have[COLDSTART_PROBE__COUNT];
	/* the probes' sites, for the unwinder (a sample in a trap) */
	struct probe_site sites[COLDSTART_PROBE__COUNT];
	size_t nsites;
};

/* Finds the binary of @argv (as execvp would) and the file offsets of its
 * phase boundaries (Go functions by their pclntab name, else ELF symbols).
 * @t is overwritten; release it whatever this returns. 0; -ENOENT command
 * not found; -EINVAL not ELF or no entry point; -ESRCH no function @ready;
 * -ENOMEM. A missing main or runtime.main is a warning: that boundary is
 * taken as the next one. */
int coldstart_target__init(struct coldstart_target *t, char *const *argv,
			   const char *ready);
void coldstart_target__release(struct coldstart_target *t);
/* --ready's presets: the function a name like "aws-lambda-go" stands
 * for (a name with '-' is no C or Go function), else @ready itself. */
const char *coldstart__ready_preset(const char *ready);

/* ---- the monitor: the system-wide events of one run --------------------- */

struct coldstart_monitor {
	pid_t pid;		/* -1: every process */
	int ncpus;
	int *fds;
	size_t nfds, cap_fds;
	struct ring *rings;	/* [cpu]; shared by all its events */
	int *ring_fds;		/* [cpu]: the event owning the ring; -1 */
	bool *offline;		/* [cpu]: no event opens there */
	struct coldstart_event {
		uint64_t id;
		int kind;	/* enum coldstart_probe, or the two below */
	} *ids;
	size_t nids;
	char path[PATH_MAX];	/* config1 points here while opening */
};

/* The monitor's events that are no boundary. */
#define COLDSTART_EV_FAULT COLDSTART_PROBE__COUNT	/* a page fault */
#define COLDSTART_EV_DUMMY (COLDSTART_PROBE__COUNT + 1)	/* COMM, EXIT */

/* Opens, on every CPU, the uprobes of @t, a page-fault event and a dummy
 * event for exec and exit records, all into one ring per CPU: for every
 * process when @pid is -1 (a launch: the child does not exist yet), else
 * for @pid and what it starts (inherit: a start caught stopped). 0 or
 * -errno, and @what says what could not be opened ("the uprobe PMU":
 * -ENOENT, the kernel has none); close @m in either case. The same as
 * coldstart_monitor__open_probes() then coldstart_monitor__attach(). */
int coldstart_monitor__open(struct coldstart_monitor *m,
			    const struct coldstart_target *t, pid_t pid,
			    const char **what);
/* Its first half: the uprobes alone, for every process. Opened before a
 * start is caught, so the start is not held while the kernel registers
 * them (its first registration waits for an RCU grace period: ~18 ms
 * on a 2-CPU VM). Their records before the attach are of others. */
int coldstart_monitor__open_probes(struct coldstart_monitor *m,
				   const struct coldstart_target *t,
				   const char **what);
/* Its second half: the dummy and page-fault events for @pid (-1: every
 * process). */
int coldstart_monitor__attach(struct coldstart_monitor *m, pid_t pid,
			      const char **what);
void coldstart_monitor__close(struct coldstart_monitor *m);

/* ---- one run ------------------------------------------------------------ */

/* What a platform bills of a start: its memory when it got ready. */
struct coldstart_memory {
	bool have;		/* read (a --ready hit while it lived) */
	double read_ms;		/* how long after the hit it was read */
	uint64_t rss, peak_rss;	/* VmRSS, VmHWM: bytes */
	uint64_t cat[MEM_CAT__COUNT];	/* resident bytes by category */
};

/* Reads @pid's memory into @m (VmRSS and VmHWM of its status, its smaps
 * classified as `cgoprof mem` does). 0 or -errno (@m->have false). */
int coldstart__read_memory(pid_t pid, struct coldstart_memory *m);

struct coldstart_run {
	const struct coldstart_target *t;
	struct coldstart_monitor *mon;	/* NULL: nothing to read */
	pid_t pid;		/* the started command; 0 before it is */
	/* every exec of pid: the rings are per CPU, so an exec may be read
	 * after the entry hit that follows it */
	uint64_t execs[COLDSTART_MAX_EXECS];
	size_t nexecs;
	uint64_t hit[COLDSTART_PROBE__COUNT];	/* first hits; 0 none */
	/* the latest hits of each thread (ip, sp), oldest first: a sample
	 * in the uprobes' page is stepping the instruction of its thread's
	 * latest hit before it out of line */
	struct {
		uint32_t tid;
		unsigned n;
		struct probe_hit h[COLDSTART_HIT_DEPTH];
	} thread_hit[COLDSTART_HIT_THREADS];
	unsigned nthread_hit;
	uint64_t exit_t;	/* the last EXIT record of pid; 0 none */
	uint64_t *fault_t;	/* page fault times, owned */
	size_t nfaults, cap_faults;
	uint64_t lost;		/* LOST records of the monitor */
	/* set at the first --ready hit: the record stops (stop_hook) */
	volatile sig_atomic_t stop;
	/* a start caught by --exec: it was stopped at its exec and resumed
	 * at start_t; 0 for a launch (its start is its exec record) */
	uint64_t start_t;
	uint64_t held_ns;	/* from its exec to start_t */
	struct coldstart_memory memory;	/* at the --ready hit */

	/* coldstart_run__finish() */
	uint64_t exec_t;	/* the start: the last exec before the entry */
	uint64_t end;		/* the --ready hit, the exit, or given */
	int nphases;
	uint64_t bounds[COLDSTART_NPHASES_MAX + 1];
	double phase_ms[COLDSTART_NPHASES_MAX];
	double total_ms;
	uint64_t faults[COLDSTART_NPHASES_MAX];
	uint64_t missed;	/* boundaries never hit */
};

/* Zeroes @r for a start of @t whose events @mon (NULL: none) reads. */
void coldstart_run__init(struct coldstart_run *r,
			 const struct coldstart_target *t,
			 struct coldstart_monitor *mon);
void coldstart_run__release(struct coldstart_run *r);

/* Points @ro's hooks at @r: sample_root (each sample rooted at its phase),
 * the unwinder's probe sites and hits, and stop_hook (the --ready hit). */
void coldstart_run__hook(struct coldstart_run *r, struct record_opts *ro);

/* Reads every record of the monitor's rings into @r. */
void coldstart_run__drain(struct coldstart_run *r);
/* Files a uprobe hit of thread @tid (its ip and sp), as draining does:
 * the hooks' unwinder takes, for a sample in the uprobes' page, its
 * thread's latest hit at or before the sample. */
void coldstart_run__note_hit(struct coldstart_run *r, uint32_t tid,
			     uint64_t time, uint64_t ip, uint64_t sp);

/* Once the command ended: its start (the last exec before the entry hit,
 * else @before), its end (the --ready hit, else the exit, else @end), the
 * phase times and the page faults of each phase. @run is the run's number
 * from 1, for the warnings. */
void coldstart_run__finish(struct coldstart_run *r, uint64_t before,
			   uint64_t end, int run);

/* ---- phases and statistics (pure) --------------------------------------- */

/* The boundaries of a run as times: b[0] the exec, b[i] the start of phase
 * i, b[nphases] the end. A boundary never hit (or after the next) is taken
 * as the next one, a phase of zero length, and counted in *@missed (may be
 * NULL). Returns the number of phases. */
int coldstart__bounds(const struct coldstart_target *t, uint64_t exec_t,
		      const uint64_t hit[COLDSTART_PROBE__COUNT], uint64_t end,
		      uint64_t b[COLDSTART_NPHASES_MAX + 1], uint64_t *missed);

/* The phase (index into t->phases) of a sample at @time, given the first
 * hits so far, or COLDSTART_AFTER_READY. @at: the boundary whose first
 * instruction the sample's leaf is at, or -1: such a sample is in the
 * phase that boundary starts even when it precedes the hit's stamp. */
int coldstart__phase_at(const struct coldstart_target *t,
			const uint64_t hit[COLDSTART_PROBE__COUNT],
			uint64_t time, int at);

/* The index of the phase @name of @t, or -1. */
int coldstart__phase_index(const struct coldstart_target *t,
			   const char *name);

struct coldstart_stat {
	double median, p90, min, max;
};

/* Median (the mean of the middle two for an even @n), p90 (nearest rank),
 * min and max of @v[0..n). Zeroes when @n is 0 (or out of memory). */
struct coldstart_stat coldstart__stat(const double *v, int n);

/* Milliseconds rounded to the microsecond: the rounding the table and the
 * JSON show, so that the sums shown add up. */
double coldstart__ms3(double ms);

/* ---- the series: every run of one target -------------------------------- */

struct coldstart_series {
	const struct coldstart_target *t;	/* borrowed */
	uint64_t freq;		/* the profile's sampling frequency, Hz */
	int runs;		/* completed */
	int max_runs;
	double *phase_ms[COLDSTART_NPHASES_MAX];	/* [run] */
	double *total_ms;	/* [run] */
	double *faults[COLDSTART_NPHASES_MAX];	/* [run] */
	/* on-CPU ns of every run by phase and leaf kind */
	double cpu_ns[COLDSTART_NPHASES_MAX][FRAME_KIND__COUNT];
	uint64_t missed;	/* boundaries never hit, all runs */
	struct profile *last;	/* the latest run's profile, owned */
	/* --exec: how long each caught start was held stopped */
	double *held_ms;	/* [run] */
	bool exec;		/* the runs were caught, not launched */
	/* memory at ready of the runs that have it, in their order */
	int mem_runs;
	double *mem_rss, *mem_peak;	/* [mem run], bytes */
	double *mem_cat[MEM_CAT__COUNT];
	int *mem_run;		/* [mem run]: the run it belongs to */
};

/* Room for @max_runs runs of @t. 0 or -ENOMEM; release @s either way. */
int coldstart_series__init(struct coldstart_series *s,
			   const struct coldstart_target *t, int max_runs);
void coldstart_series__release(struct coldstart_series *s);
/* Adds the finished run @r and its profile @p, which @s takes (it becomes
 * s->last). 0, or -ENOSPC (@p freed) when @s is full. */
int coldstart_series__add(struct coldstart_series *s,
			  const struct coldstart_run *r, struct profile *p);
/* The total's median as the table and the JSON define it: the sum of the
 * phase medians, each rounded by coldstart__ms3(). */
double coldstart_series__total_median(const struct coldstart_series *s);

/* ---- measuring ---------------------------------------------------------- */

struct coldstart_opts {
	int runs;		/* starts per target */
	uint64_t freq;		/* sampling frequency, Hz */
	uint32_t stack_size;	/* user stack bytes per sample */
	size_t mmap_pages;	/* per CPU ring of the profile; 0: default */
	/* Optional: the ELF cache every run's recording uses (borrowed).
	 * coldstart__measure() makes one for its runs when NULL, with the
	 * targets' binaries read into it before the first start: a cold
	 * cache makes the first samples of a run wait for a big binary's
	 * tables while the rings overflow, and the records lost with them
	 * (mmaps, execs, forks) truncate that process's stacks. */
	struct elf_cache *cache;
	int warmup;		/* starts of each target before, not measured */
	/* Optional: a shell command (/bin/sh -c) run before each start,
	 * warm-ups included; a failure ends the measurement */
	const char *prepare;
	bool show_output;	/* else the command's (and prepare's) stdout
				 * and stderr go to /dev/null */
	/* Optional: called after each run of @s with its profile (borrowed),
	 * for what the caller keeps of every run (the merged folded stacks).
	 * 0, or -errno which ends the measurement. */
	int (*on_run)(void *ctx, const struct coldstart_series *s,
		      const struct profile *p);
	void *ctx;
	/* the caller's stop (a signal): ends the measurement; a run cut
	 * short is not counted */
	const volatile sig_atomic_t *stop;
	/* coldstart__watch(): seconds to wait for all the starts (0:
	 * forever) */
	double timeout;
};

enum coldstart_stage {
	COLDSTART_STAGE_NONE = 0,	/* no memory; or on_run's error */
	COLDSTART_STAGE_PMU,		/* the kernel has no uprobe PMU */
	COLDSTART_STAGE_MONITOR,	/* opening @what on every CPU */
	COLDSTART_STAGE_RECORD,		/* the recording: @record says */
	COLDSTART_STAGE_PROFILE,	/* the run's profile */
	COLDSTART_STAGE_PREPARE,	/* --prepare: @err an errno, else
					 * @status its wait status */
	COLDSTART_STAGE_WATCH,		/* --exec: the exec watch; @what */
	COLDSTART_STAGE_TIMEOUT,	/* --exec: fewer starts than asked
					 * before the timeout (not fatal) */
};

struct coldstart_error {
	enum coldstart_stage stage;
	int err;		/* positive errno */
	const char *what;	/* static */
	const struct coldstart_target *target;
	struct record_error record;	/* COLDSTART_STAGE_RECORD */
	int status;		/* COLDSTART_STAGE_PREPARE */
};

/* Starts @s->t once and adds the run to @s. 0; -EINTR when *o->stop cut it
 * short (not counted); or -errno and @e says what failed. */
int coldstart__run_once(struct coldstart_series *s,
			const struct coldstart_opts *o,
			struct coldstart_error *e);

/* Runs each of the @n targets of @s o->warmup times (not measured), then
 * o->runs times, interleaved (A, B, A, B, ...) so that a drift of the
 * machine hits them alike, until *o->stop; o->prepare before each start.
 * 0 (check each series' runs: a stop may come before any), or -errno and
 * @e says what failed. */
int coldstart__measure(struct coldstart_series *s, int n,
		       const struct coldstart_opts *o,
		       struct coldstart_error *e);

/* Catches the next o->runs starts of each of the @n targets of @s,
 * whoever starts them, in any mount or PID namespace (the file itself is
 * matched: execwatch.h): each is held stopped before its first instruction
 * while its events are opened, then measured as a launch is, from the
 * moment it resumes. Starts of a target whose runs are done, and starts
 * while another is measured, run unwatched. Until the runs are done,
 * *o->stop, or o->timeout seconds: then 0 with fewer runs, and
 * COLDSTART_STAGE_TIMEOUT in @e. -errno and @e says what failed. */
int coldstart__watch(struct coldstart_series *s, int n,
		     const struct coldstart_opts *o, struct coldstart_error *e);

#endif
