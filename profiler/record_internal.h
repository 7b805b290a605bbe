/* Inside a recording (profiler/record.c: the session, its events and
 * its loop; record_go.c: the Go-aware parts, uprobes and goroutine
 * snapshots; record_events.c: records in time order, then each sample
 * unwound and counted). The session's state and what the three share. */
#ifndef CGOPROF_RECORD_INTERNAL_H
#define CGOPROF_RECORD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "cgoprof/clock.h"
#include "cgoprof/gosnap.h"
#include "cgoprof/htab.h"
#include "cgoprof/record.h"
#include "cgoprof/stacks.h"

#define CGOPROF_DEFAULT_PAGES 1024
/* With goroutine snapshots, the reader is woken when this much (at most a
 * quarter of the ring) is waiting (record.c, set_wakeup()), or at a
 * quarter of the ring at up to CGOPROF_WAKEUP_FREQ Hz (the default rate);
 * woken so but without them (the program failed to load), every this many
 * ms. */
#define CGOPROF_WAKEUP_BYTES (256u << 10)
#define CGOPROF_WAKEUP_FREQ 999
#define CGOPROF_LIVE_POLL_MS 2

struct cpu_ring {
	int fd;		/* the event whose ring this is */
	struct ring ring;
	/* the last records read from the ring were snapshot records of
	 * thread snap_tid (queued as snap_seq[]): the next one of that
	 * thread belongs to the same sample, and the sample that follows
	 * them is theirs */
	bool snap_chain;
	uint32_t snap_tid;
	unsigned snap_n;
	uint64_t snap_seq[CGOPROF_SNAPSHOT_REGIONS];
};

/* A record read from a ring, waiting there for its turn: records of
 * different CPUs are in different rings, and a sample must be unwound after
 * the mmap it depends on (and after an exec it follows) even when another
 * CPU's ring holds that mmap. perf calls this ordered events. */
struct pending {
	uint64_t time;
	uint64_t seq;
	const struct perf_event_header *h;	/* in its ring (ring__peek) */
	uint64_t pos;	/* its position there */
	uint32_t ring;	/* the index of its ring */
	bool cont;	/* a snapshot record after another of its sample */
	bool mine;	/* a sample right after its snapshot records */
};

/* Records are used once they are older than this at the time the rings
 * were read: the kernel writes a record (interrupts off) microseconds after
 * taking its timestamp, so every older one is visible to that read. Kept
 * short because live reads of frozen stacks need samples unwound soon. */
#define CGOPROF_ORDER_HORIZON_NS 20000ULL

#define CGO_ENTRIES 4

struct probe_id {
	uint64_t id;
	int kind;	/* 0 asmcgocall, 1 crosscall2, 2 morestack, 3 gosnap */
	int fd;		/* -1 once closed (its thread ended) */
	uint32_t tid;
};

struct cgo_thread {
	uint32_t tid;
	unsigned next, next_cb;
	struct cgo_entry e[CGO_ENTRIES];
	struct cgo_callback cb[CGO_ENTRIES];
	struct go_morestack ms;	/* the latest morestack entry */
	struct probe_hit hit;	/* the latest hit of any of our uprobes */
	/* the latest goroutine stack snapshot, for the thread's next sample */
	struct go_snapshot snap;	/* regions point into snap_rec[] */
	bool snap_fresh;
	unsigned snap_nrec;		/* records in snap (deep: several) */
	struct gosnap_record *snap_rec[CGOPROF_SNAPSHOT_REGIONS];
	size_t snap_cap[CGOPROF_SNAPSHOT_REGIONS];	/* bytes of each */
};

struct ms_binary {
	uint64_t dev, ino;
};

struct record {
	struct record_opts o;
	struct perf_event_attr attr;
	bool batched;		/* woken at a watermark, not a sample */
	int ncpus;
	struct cpu_ring *rings;
	struct cpu_ring *reading;	/* the ring queue_record reads */
	bool snap_cont;			/* the record on_record uses (cont) */
	bool snap_mine;			/* ... (its sample: mine) */
	/* CPU scope (stats.cpu_scope): the events are one a CPU for every
	 * process (cpu_attr), the snapshot program keeps the targets'
	 * samples, and of their mmap, comm, fork and exit records, the
	 * targets' are used: their tgids, sorted (a target's fork adds its
	 * child) */
	struct perf_event_attr cpu_attr;
	uint32_t *targets;
	size_t ntargets, cap_targets;
	int *fds;		/* every event fd */
	size_t nfds, cap_fds;
	pid_t child;
	int child_status;
	bool child_done;
	uint64_t t_term;	/* when the child got SIGTERM; 0: not yet */
	int go_fd;		/* launch: write to let the child exec */
	uint32_t *tids_opened;	/* attach: threads with events */
	size_t ntids, cap_tids;

	/* cgo entry records: uprobes at runtime.asmcgocall (0) and at
	 * crosscall2 (1, callbacks) */
	struct perf_event_attr probe_attr[2];
	bool probe;
	char probe_path[4200];
	struct probe_id *probe_ids;	/* sorted by id */
	size_t nprobe_ids, cap_probe_ids;
	/* morestack entry records: system-wide uprobes at runtime.morestack
	 * of each Go binary the targets run (one fd per CPU and binary) */
	struct perf_event_attr ms_attr;
	bool ms_off;			/* not wanted, or not permitted */
	struct ms_binary *ms_bins;	/* binaries looked at, Go or not */
	size_t nms_bins, cap_ms_bins;
	/* goroutine stack snapshots: an eBPF program on the sampling events
	 * (gosnap.bpf.c) writes to a BPF output event per CPU */
	struct gosnap *gosnap;
	uint64_t bpf_runs0, bpf_ns0;	/* its run statistics at the start */
	struct perf_event_attr snap_attr;
	struct cgo_thread *cgo;		/* threads seen in cgo calls */
	size_t cap_cgo, ncgo;
	struct htab cgo_index;		/* tid -> index into cgo */
	/* every uprobe placed: the caller's and ours (o.unwind points here) */
	struct probe_site *sites;
	size_t nsites, cap_sites;

	struct elf_cache *cache;
	struct procmap *pm;
	struct stack_table stacks;
	struct unwind_result unwound;
	struct record_stats stats;
	struct pending *pending;	/* records read, not yet used */
	size_t npending, cap_pending;
	uint64_t seq;
	uint64_t t_start, t_end;	/* CLOCK_MONOTONIC ns */
	uint64_t wall_start;		/* CLOCK_REALTIME ns */
	/* rec_snapshot_note(): Go processes whose samples got no snapshot */
	char snap_notes[1024];
	size_t snap_notes_len;
	unsigned snap_notes_more;
	uint64_t go_samples;	/* samples of Go processes */
};


/* record.c */
void rec_close_in_ring(struct record *r, int fd);
int rec_open_into_ring(struct record *r, struct perf_event_attr *a,
			  pid_t pid, int cpu, int kind);

/* record_events.c */
void rec_drain(struct record *r, uint64_t horizon);
int rec_queue_record(const struct perf_event_header *h, uint64_t pos,
		     void *ctx);
uint64_t rec_record_time(const struct perf_event_header *h);

/* record_go.c */
int rec_add_site(struct record *r, uint64_t dev, uint64_t ino,
		    uint64_t off);
int rec_add_probe_id(struct record *r, uint64_t id, int kind, int fd,
			uint32_t tid);
const struct cgo_callback *rec_cgo_callback_lookup(void *ctx, uint32_t tid,
						      uint64_t bp_cb,
						      uint64_t time);
const struct cgo_entry *rec_cgo_entry_lookup(void *ctx, uint32_t tid,
						uint64_t bp, uint64_t time);
struct cgo_thread *rec_cgo_thread(struct record *r, uint32_t tid,
				     bool create);
/* record.c: an event fd kept until the loop ends; whether fd @fd would
 * take one of the fds the recording keeps free */
int rec_add_fd(struct record *r, int fd);
bool rec_fd_in_reserve(int fd);
/* record_scope.c: CPU or thread scope, decided before any event opens
 * (loads the snapshot program for CPU scope); the CPU-wide sampling
 * events, once the per-task ones and the program's outputs are open */
int rec_choose_scope(struct record *r, struct record_error *e);
int rec_open_cpu_events(struct record *r, struct record_error *e);
int rec_enable_cpu_events(struct record *r, struct record_error *e);
/* CPU scope: process @tgid is a target (GOSNAP_TARGET_*), for the program
 * and for the records; whether @tgid is one (thread scope: all are) */
int rec_target_add(struct record *r, uint32_t tgid, uint32_t state);
bool rec_is_target(const struct record *r, uint32_t tgid);
/* record.c: routes event @fd of @cpu to that CPU's ring */
int rec_route_to_ring(struct record *r, int cpu, int fd,
		      struct record_error *e);
void rec_gosnap_setup(struct record *r);
/* Loads the snapshot program, once; 0 or -errno (stats.gosnap_off says
 * why). */
int rec_gosnap_load(struct record *r);
/* The g's TLS slot of the command about to exec @path as @pid, set in
 * the snapshot program before its first sample (a statically linked glibc
 * binary keeps g elsewhere than fs-8; found at its first sample read, the
 * samples taken meanwhile had no snapshot and needed live reads). */
void rec_gosnap_preset(struct record *r, pid_t pid, const char *path);
const struct go_morestack *rec_morestack_lookup(void *ctx, uint32_t tid,
						   uint64_t time);
void rec_morestack_prepare(struct record *r, uint32_t pid);
void rec_on_callback_probe(struct record *r,
			      const struct perf_event_header *h);
void rec_on_morestack_probe(struct record *r,
			       const struct perf_event_header *h);
void rec_on_probe(struct record *r, const struct perf_event_header *h);
void rec_on_snapshot(struct record *r, const struct perf_event_header *h,
			bool cont);
void rec_probe_close(struct record *r, uint32_t tid);
bool rec_probe_hit_lookup(void *ctx, uint32_t tid, uint64_t time,
			     struct probe_hit *hit);
int rec_probe_kind(struct record *r, const struct perf_event_header *h);
void rec_probe_open(struct record *r, pid_t pid, int cpu);
void rec_probe_prepare(struct record *r, const char *open_path);
void rec_publish_g_tls(struct record *r, struct proc *p);
/* The profile's notes on goroutine snapshots: off, or off for some Go
 * processes, and what that costs; NULL: none. Valid until the next call. */
const char *rec_snapshot_notes(struct record *r);
/* Notes Go process @p if its samples in cgo calls got no snapshot (at
 * its exit, and at the end for those alive), once. */
void rec_snapshot_note(struct record *r, struct proc *p);

#endif
