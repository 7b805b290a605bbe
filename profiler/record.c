// SPDX-License-Identifier: MIT
/* The record loop. Events are per (thread, CPU) in attach mode and per CPU
 * on the launched child in launch mode, always with inherit=1 so that
 * threads and children created later are sampled too. The kernel refuses
 * to mmap inherited per-task (cpu == -1) events, hence per-CPU events with
 * one ring per CPU; the other events of a CPU write into that ring
 * (PERF_EVENT_IOC_SET_OUTPUT). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgoprof/gosnap.h"
#include "cgoprof/kallsyms.h"
#include "cgoprof/log.h"
#include "cgoprof/record.h"
#include "cgoprof/stacks.h"
#include "internal.h"

#define CGOPROF_DEFAULT_PAGES 1024

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

/* A record copied out of a ring, waiting for its turn: records of
 * different CPUs are in different rings, and a sample must be unwound after
 * the mmap it depends on (and after an exec it follows) even when another
 * CPU's ring holds that mmap. perf calls this ordered events. */
struct pending {
	uint64_t time;
	uint64_t seq;
	size_t off;
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
	int ncpus;
	struct cpu_ring *rings;
	struct cpu_ring *reading;	/* the ring queue_record reads */
	bool snap_cont;			/* the record on_record uses (cont) */
	bool snap_mine;			/* ... (its sample: mine) */
	int *fds;		/* every event fd */
	size_t nfds, cap_fds;
	pid_t child;
	int child_status;
	bool child_done;
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
	struct perf_event_attr snap_attr;
	struct cgo_thread *cgo;		/* open addressing by tid */
	size_t cap_cgo, ncgo;
	/* every uprobe placed: the caller's and ours (o.unwind points here) */
	struct probe_site *sites;
	size_t nsites, cap_sites;

	struct elf_cache *cache;
	struct procmap *pm;
	struct stack_table stacks;
	struct unwind_result unwound;
	struct unwind_result oracle;	/* --unwinder=compare */
	struct record_stats stats;
	struct pending *pending;	/* records read, not yet used */
	size_t npending, cap_pending;
	uint8_t *pending_bytes;
	uint8_t *pending_spare;		/* as large: the next compaction's target */
	size_t pending_len, pending_cap;
	uint64_t seq;
	uint64_t t_start, t_end;	/* CLOCK_MONOTONIC ns */
	uint64_t wall_start;		/* CLOCK_REALTIME ns */
};

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void probe_close(struct record *r, uint32_t tid);

/* Files a uprobe site for the unwinder (see trap_ip() in unwind.c). */
static int add_site(struct record *r, uint64_t dev, uint64_t ino,
		    uint64_t off)
{
	if (r->nsites == r->cap_sites) {
		size_t cap = r->cap_sites ? r->cap_sites * 2 : 8;
		void *p = realloc(r->sites, cap * sizeof(*r->sites));

		if (!p)
			return -ENOMEM;
		r->sites = p;
		r->cap_sites = cap;
	}
	r->sites[r->nsites++] = (struct probe_site){ dev, ino, off };
	r->o.unwind.probe_sites = r->sites;
	r->o.unwind.nprobe_sites = r->nsites;
	return 0;
}

struct record *record__new(const struct record_opts *o)
{
	struct record *r = calloc(1, sizeof(*r));
	struct rlimit rl;

	if (!r)
		return NULL;
	r->o = *o;
	r->o.unwind.probe_sites = NULL;
	r->o.unwind.nprobe_sites = 0;
	r->child = -1;
	r->child_status = -1;
	r->go_fd = -1;
	r->ms_off = !o->morestack_probe;
	r->ncpus = (int)sysconf(_SC_NPROCESSORS_CONF);
	if (r->ncpus < 1)
		r->ncpus = 1;
	r->rings = calloc((size_t)r->ncpus, sizeof(*r->rings));
	r->cache = elf_cache__new();
	r->pm = r->cache ? procmap__new(r->cache) : NULL;
	if (!r->rings || !r->pm || stack_table__init(&r->stacks)) {
		record__free(r);
		errno = ENOMEM;
		return NULL;
	}
	for (int i = 0; i < r->ncpus; i++)
		r->rings[i].fd = -1;
	for (size_t i = 0; i < o->unwind.nprobe_sites; i++) {
		const struct probe_site *ps = &o->unwind.probe_sites[i];

		if (add_site(r, ps->dev, ps->ino, ps->off)) {
			record__free(r);
			errno = ENOMEM;
			return NULL;
		}
	}
	/* one fd per (thread, CPU): take what the hard limit allows */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return r;
}

void record__free(struct record *r)
{
	if (!r)
		return;
	for (int i = 0; r->rings && i < r->ncpus; i++)
		ring__release(&r->rings[i].ring);
	for (size_t i = 0; i < r->nfds; i++)
		close(r->fds[i]);
	if (r->go_fd >= 0)
		close(r->go_fd);
	if (r->child > 0 && !r->child_done) {
		kill(r->child, SIGKILL);
		waitpid(r->child, NULL, 0);
	}
	free(r->fds);
	free(r->rings);
	free(r->pending);
	free(r->pending_bytes);
	free(r->pending_spare);
	if (r->probe_ids)
		probe_close(r, 0);
	free(r->probe_ids);
	free(r->ms_bins);
	free(r->sites);
	for (size_t i = 0; i < r->cap_cgo; i++)
		for (int k = 0; k < CGOPROF_SNAPSHOT_REGIONS; k++)
			free(r->cgo[i].snap_rec[k]);
	free(r->cgo);
	gosnap__close(r->gosnap);
	free(r->tids_opened);
	stack_table__release(&r->stacks);
	procmap__free(r->pm);
	elf_cache__free(r->cache);
	free(r);
}

static int build_attr(struct record *r, struct record_error *e)
{
	struct perf_event_attr *a = &r->attr;
	const char *ev = r->o.event ? r->o.event : "cpu-clock";
	int err;

	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	err = event__encode(ev, false, a);
	if (err) {
		e->stage = RECORD_STAGE_EVENT;
		e->err = -err;
		return err;
	}
	e->perf_type = (int)a->type;
	if (r->o.freq) {
		a->freq = 1;
		a->sample_freq = r->o.freq;
	} else {
		a->sample_period = r->o.period ? r->o.period : 1;
	}
	a->sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP |
			 PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
			 PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN |
			 PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
	if (r->o.sample_addr)
		a->sample_type |= PERF_SAMPLE_ADDR;
	a->sample_regs_user = CGOPROF_REGS_MASK;
	a->sample_stack_user = r->o.stack_size;
	a->exclude_callchain_user = 0;
	a->exclude_callchain_kernel = r->o.no_kernel;
	a->exclude_hv = 1;
	/* mmap2 alone does not count towards the kernel's nr_mmap_events */
	a->mmap = 1;
	a->mmap2 = 1;
	a->mmap_data = r->o.mmap_data;
	a->comm = 1;
	a->comm_exec = 1;
	a->task = 1;
	a->sample_id_all = 1;
	a->inherit = 1;
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
	/* Wake up every few samples: samples are unwound soon after they
	 * are taken, while the stacks that live reads look at are still
	 * frozen (a ring half full would mean tens of milliseconds). */
	a->watermark = 1;
	a->wakeup_watermark = r->o.stack_size + 512;
	return 0;
}

static int add_fd(struct record *r, int fd)
{
	if (r->nfds == r->cap_fds) {
		size_t cap = r->cap_fds ? r->cap_fds * 2 : 64;
		void *p = realloc(r->fds, cap * sizeof(*r->fds));

		if (!p)
			return -ENOMEM;
		r->fds = p;
		r->cap_fds = cap;
	}
	r->fds[r->nfds++] = fd;
	return 0;
}


/* Prepares the cgo entry probe on the Go binary at @path (opened through
 * @open_path): a uprobe at runtime.asmcgocall, recording the callchain
 * (exact there: Go code keeps frame pointers) and the return address into
 * runtime.cgocall at SP. Not an error when the binary is not Go. */
static void probe_prepare(struct record *r, const char *open_path)
{
	static const char *const funcs[2] = { "runtime.asmcgocall",
					      "crosscall2" };
	struct elf_obj *o;
	struct go_func fn;
	struct stat st;
	uint64_t off[2];
	int type;

	if (!r->o.cgo_probe || r->probe)
		return;
	o = elf_cache__open(r->cache, open_path, open_path, 0, 0);
	if (!o || !o->go)
		return; /* not Go */
	for (int k = 0; k < 2; k++)
		if (elf_obj__go_func(o, funcs[k], &fn) ||
		    elf_obj__vaddr_to_offset(o, fn.entry, &off[k]))
			return; /* Go without cgo */
	type = cli__read_sysfs_int("/sys/bus/event_source/devices/uprobe/type");
	if (type < 0) {
		pr_info("no uprobe PMU: cgo calls use live reads only");
		return;
	}
	snprintf(r->probe_path, sizeof(r->probe_path), "%s", open_path);
	if (!stat(open_path, &st))
		for (int k = 0; k < 2; k++)
			add_site(r, st.st_dev, st.st_ino, off[k]);
	for (int k = 0; k < 2; k++) {
		struct perf_event_attr *a = &r->probe_attr[k];

		memset(a, 0, sizeof(*a));
		a->size = sizeof(*a);
		a->type = (uint32_t)type;
		a->config1 = (uint64_t)(uintptr_t)r->probe_path;
		a->config2 = off[k];
		a->sample_period = 1;
		a->sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP |
				 PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
				 PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_REGS_USER |
				 PERF_SAMPLE_STACK_USER;
		a->sample_regs_user = CGOPROF_REGS_MASK;
		/* asmcgocall: the return address into cgocall; crosscall2:
		 * the C caller's frames, for CFI */
		a->sample_stack_user = k ? CGOPROF_CALLBACK_STACK : 8;
		a->exclude_callchain_kernel = 1;
		/* Not inherited: the kernel would read config1 (our pointer
		 * to the path) again in the target's address space when it
		 * creates a thread, and fail its clone with EFAULT. Threads
		 * created later get their own probes from their FORK record. */
		a->inherit = 0;
		a->use_clockid = 1;
		a->clockid = CLOCK_MONOTONIC;
		a->disabled = r->attr.disabled;
		a->enable_on_exec = r->attr.enable_on_exec;
	}
	r->probe = true;
}

/* Closes the probes of thread @tid (all of them when @tid is 0). */
static void probe_close(struct record *r, uint32_t tid)
{
	for (size_t i = 0; i < r->nprobe_ids; i++) {
		struct probe_id *p = &r->probe_ids[i];

		if (p->fd >= 0 && (!tid || p->tid == tid)) {
			close(p->fd);
			p->fd = -1;
		}
	}
}

static int probe_id_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct probe_id *)a)->id;
	uint64_t y = ((const struct probe_id *)b)->id;

	return x < y ? -1 : x > y;
}

/*
 * Event fds leave this many fds free for what the recording still needs:
 * the binaries the unwinder reads during recording (one fd each), the
 * /proc files, kallsyms, and the outputs' temporary files. An event that
 * would take one of them fails with EMFILE ("too many open files") at
 * attach, rather than a recording whose binaries cannot be opened.
 */
#define FD_RESERVE 16

static bool fd_in_reserve(int fd)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return false;
	return (rlim_t)fd + FD_RESERVE >= rl.rlim_cur;
}

static int add_probe_id(struct record *r, uint64_t id, int kind, int fd,
			uint32_t tid)
{
	if (r->nprobe_ids == r->cap_probe_ids) {
		size_t cap = r->cap_probe_ids ? r->cap_probe_ids * 2 : 16;
		void *p = realloc(r->probe_ids, cap * sizeof(*r->probe_ids));

		if (!p)
			return -ENOMEM;
		r->probe_ids = p;
		r->cap_probe_ids = cap;
	}
	r->probe_ids[r->nprobe_ids++] = (struct probe_id){ id, kind, fd, tid };
	qsort(r->probe_ids, r->nprobe_ids, sizeof(*r->probe_ids),
	      probe_id_cmp);
	return 0;
}

/* Opens @a for @pid (-1: every process) on @cpu, writing into that CPU's
 * ring, and files its id under @kind, for thread @pid (0 when -1). Not in
 * fds[]: a per-thread one is closed when its thread ends. The fd, or
 * -errno (-EMFILE when it would take one of the reserved fds). */
static int open_into_ring(struct record *r, struct perf_event_attr *a,
			  pid_t pid, int cpu, int kind)
{
	uint64_t id;
	int fd, err;

	fd = sys_perf_event_open(a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fd_in_reserve(fd)) {
		close(fd);
		return -EMFILE;
	}
	if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, r->rings[cpu].fd) ||
	    ioctl(fd, PERF_EVENT_IOC_ID, &id)) {
		err = -errno;
		close(fd);
		return err;
	}
	err = add_probe_id(r, id, kind, fd, pid > 0 ? (uint32_t)pid : 0);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Closes @fd, opened by open_into_ring(), and forgets its id. */
static void close_in_ring(struct record *r, int fd)
{
	for (size_t k = 0; k < r->nprobe_ids; k++)
		if (r->probe_ids[k].fd == fd)
			r->probe_ids[k].fd = -1;
	close(fd);
}

/* Opens the cgo entry probes for @pid on @cpu, into that CPU's ring. */
static void probe_open(struct record *r, pid_t pid, int cpu)
{
	if (!r->probe || r->rings[cpu].fd < 0)
		return;
	for (int k = 0; k < 2; k++) {
		int fd = open_into_ring(r, &r->probe_attr[k], pid, cpu, k);

		if (fd < 0) {
			pr_info("cgo entry probe: %s", strerror(-fd));
			return;
		}
	}
}

/*
 * The morestack probe of the binary that process @pid runs, unless it has
 * one: a uprobe at runtime.morestack for every process (pid -1) on each
 * CPU, so threads and processes created later need nothing more; records
 * of processes that are not targets are dropped. Samples taken while
 * newstack or copystack run on g0 then get the goroutine's frames, which
 * no read of the live process could give: the goroutine's stack is being
 * copied, and it runs again microseconds later. Such a probe needs
 * CAP_PERFMON (or perf_event_paranoid <= 0); without it those samples end
 * "[truncated: morestack]". Opt-in (--morestack-probe): a probe costs a
 * trap and a record per stack growth, and programs that start many
 * goroutines grow stacks thousands of times a second (esbuild: 8000/s,
 * which took its run under cgoprof from 3.1 s to 3.9 s here).
 */
static void morestack_prepare(struct record *r, uint32_t pid)
{
	char path[64];
	struct stat st;
	struct elf_obj *o;
	struct go_func fn;
	uint64_t off;
	int type, *fds, n = 0;
	bool failed = false;

	if (r->ms_off)
		return;
	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	if (stat(path, &st))
		return;
	for (size_t i = 0; i < r->nms_bins; i++)
		if (r->ms_bins[i].dev == st.st_dev && r->ms_bins[i].ino == st.st_ino)
			return;
	if (r->nms_bins == r->cap_ms_bins) {
		size_t cap = r->cap_ms_bins ? r->cap_ms_bins * 2 : 8;
		void *p = realloc(r->ms_bins, cap * sizeof(*r->ms_bins));

		if (!p)
			return;
		r->ms_bins = p;
		r->cap_ms_bins = cap;
	}
	r->ms_bins[r->nms_bins++] = (struct ms_binary){ st.st_dev, st.st_ino };
	o = elf_cache__open(r->cache, path, path, 0, 0);
	if (!o || !o->go || elf_obj__go_func(o, "runtime.morestack", &fn) ||
	    elf_obj__vaddr_to_offset(o, fn.entry, &off))
		return; /* not Go */
	type = cli__read_sysfs_int("/sys/bus/event_source/devices/uprobe/type");
	fds = calloc((size_t)r->ncpus, sizeof(*fds));
	if (type < 0 || !fds) {
		free(fds);
		r->ms_off = true;
		return;
	}
	memset(&r->ms_attr, 0, sizeof(r->ms_attr));
	r->ms_attr.size = sizeof(r->ms_attr);
	r->ms_attr.type = (uint32_t)type;
	/* read by the kernel at perf_event_open only (not inherited) */
	r->ms_attr.config1 = (uint64_t)(uintptr_t)path;
	r->ms_attr.config2 = off;
	r->ms_attr.sample_period = 1;
	r->ms_attr.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP |
				 PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
				 PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_REGS_USER |
				 PERF_SAMPLE_STACK_USER;
	r->ms_attr.sample_regs_user = CGOPROF_REGS_MASK;
	/* the return addresses into f and into f's caller */
	r->ms_attr.sample_stack_user = 16;
	r->ms_attr.exclude_callchain_kernel = 1;
	r->ms_attr.use_clockid = 1;
	r->ms_attr.clockid = CLOCK_MONOTONIC;
	for (int cpu = 0; cpu < r->ncpus; cpu++) {
		int fd;

		if (r->rings[cpu].fd < 0)
			continue;
		fd = open_into_ring(r, &r->ms_attr, -1, cpu, 2);
		if (fd < 0) {
			pr_info("morestack probe: %s%s", strerror(-fd),
				fd == -EACCES || fd == -EPERM
					? " (needs CAP_PERFMON or perf_event_paranoid <= 0)"
					: "");
			failed = true;
			break;
		}
		fds[n++] = fd;
	}
	if (!failed) {
		r->stats.morestack_probes++;
		add_site(r, st.st_dev, st.st_ino, off);
		free(fds);
		return;
	}
	/* all CPUs or none: one failure turns the probes off */
	for (int i = 0; i < n; i++)
		close_in_ring(r, fds[i]);
	free(fds);
	r->ms_off = true;
}

static struct cgo_thread *cgo_thread(struct record *r, uint32_t tid,
				     bool create)
{
	size_t mask, i;

	if (!r->cap_cgo) {
		if (!create)
			return NULL;
		r->cap_cgo = 64;
		r->cgo = calloc(r->cap_cgo, sizeof(*r->cgo));
		if (!r->cgo) {
			r->cap_cgo = 0;
			return NULL;
		}
	}
	mask = r->cap_cgo - 1;
	for (i = tid & mask; r->cgo[i].tid; i = (i + 1) & mask)
		if (r->cgo[i].tid == tid)
			return &r->cgo[i];
	if (!create)
		return NULL;
	if ((r->ncgo + 1) * 2 > r->cap_cgo) {
		size_t cap = r->cap_cgo * 2;
		struct cgo_thread *t = calloc(cap, sizeof(*t));

		if (!t)
			return NULL;
		for (size_t j = 0; j < r->cap_cgo; j++) {
			size_t k;

			if (!r->cgo[j].tid)
				continue;
			for (k = r->cgo[j].tid & (cap - 1); t[k].tid;
			     k = (k + 1) & (cap - 1))
				;
			t[k] = r->cgo[j];
		}
		free(r->cgo);
		r->cgo = t;
		r->cap_cgo = cap;
		return cgo_thread(r, tid, create);
	}
	r->cgo[i].tid = tid;
	r->ncgo++;
	return &r->cgo[i];
}

static const struct cgo_entry *cgo_entry_lookup(void *ctx, uint32_t tid,
						uint64_t bp, uint64_t time)
{
	struct record *r = ctx;
	struct cgo_thread *t = cgo_thread(r, tid, false);
	const struct cgo_entry *best = NULL;

	if (!t)
		return NULL;
	/* the call in progress is the latest entry before the sample; its
	 * frame pointer is asmcgocall's frame (Go >= 1.21: sp - 8) or
	 * cgocall's (before: rbp unchanged at entry) */
	for (int i = 0; i < CGO_ENTRIES; i++) {
		const struct cgo_entry *e = &t->e[i];

		if (!e->n || e->time > time)
			continue;
		if (!best || e->time > best->time)
			best = e;
	}
	if (best && (bp == best->sp - 8 || bp == best->bp))
		return best;
	return NULL;
}

static const struct cgo_callback *cgo_callback_lookup(void *ctx, uint32_t tid,
						      uint64_t bp_cb,
						      uint64_t time)
{
	struct record *r = ctx;
	struct cgo_thread *t = cgo_thread(r, tid, false);
	const struct cgo_callback *best = NULL;

	if (!t)
		return NULL;
	for (int i = 0; i < CGO_ENTRIES; i++) {
		const struct cgo_callback *e = &t->cb[i];

		if (!e->len || e->time > time)
			continue;
		if (!best || e->time > best->time)
			best = e;
	}
	/* crosscall2 and cgocallback's frames lie between the C caller's
	 * stack pointer and cgocallback's frame record: 0x58 bytes (0x60
	 * where crosscall2 has its own frame, Go >= 1.21) */
	if (best && best->regs[7] > bp_cb && best->regs[7] - bp_cb <= 0x100)
		return best;
	return NULL;
}

static const int dwarf_from_perf[PERF_REG__COUNT] = {
	[PERF_REG_AX] = 0, [PERF_REG_DX] = 1, [PERF_REG_CX] = 2,
	[PERF_REG_BX] = 3, [PERF_REG_SI] = 4, [PERF_REG_DI] = 5,
	[PERF_REG_BP] = 6, [PERF_REG_SP] = 7, [PERF_REG_R8] = 8,
	[PERF_REG_R9] = 9, [PERF_REG_R10] = 10, [PERF_REG_R11] = 11,
	[PERF_REG_R12] = 12, [PERF_REG_R13] = 13, [PERF_REG_R14] = 14,
	[PERF_REG_R15] = 15, [PERF_REG_IP] = 16, [PERF_REG_FLAGS] = -1,
	[PERF_REG_CS] = -1, [PERF_REG_SS] = -1, [PERF_REG_DS] = -1,
	[PERF_REG_ES] = -1, [PERF_REG_FS] = -1, [PERF_REG_GS] = -1,
};

/* Files the hit of a uprobe at @s->ip for the unwinder's uprobe_leaf(). */
static void note_hit(struct cgo_thread *t, const struct perf_sample *s)
{
	if (s->time < t->hit.time)
		return;
	t->hit.time = s->time;
	t->hit.ip = s->ip;
	t->hit.sp = s->regs[PERF_REG_SP];
}

static bool probe_hit_lookup(void *ctx, uint32_t tid, uint64_t time,
			     struct probe_hit *hit)
{
	struct cgo_thread *t = cgo_thread(ctx, tid, false);

	if (!t || !t->hit.time || t->hit.time > time)
		return false;
	*hit = t->hit;
	return true;
}

static void on_callback_probe(struct record *r,
			      const struct perf_event_header *h)
{
	struct perf_sample s;
	struct cgo_thread *t;
	struct cgo_callback *e;

	if (perf_sample__parse(h, r->probe_attr[1].sample_type,
			       r->probe_attr[1].sample_regs_user, &s) ||
	    !s.regs_abi || s.stack_dyn_size < 8) {
		r->stats.bad_records++;
		return;
	}
	t = cgo_thread(r, s.tid, true);
	if (!t)
		return;
	e = &t->cb[t->next_cb++ % CGO_ENTRIES];
	e->time = s.time;
	e->valid = 0;
	for (int i = 0; i < PERF_REG__COUNT; i++) {
		int d = dwarf_from_perf[i];

		if (d < 0)
			continue;
		e->regs[d] = s.regs[i];
		e->valid |= 1u << d;
	}
	e->len = (uint32_t)(s.stack_dyn_size < CGOPROF_CALLBACK_STACK
				    ? s.stack_dyn_size
				    : CGOPROF_CALLBACK_STACK);
	memcpy(e->stack, s.stack, e->len);
	note_hit(t, &s);
	r->stats.cgo_entries++;
}

static void on_probe(struct record *r, const struct perf_event_header *h)
{
	struct perf_sample s;
	struct cgo_thread *t;
	struct cgo_entry *e;
	uint64_t i = 0;

	if (perf_sample__parse(h, r->probe_attr[0].sample_type,
			       r->probe_attr[0].sample_regs_user, &s) ||
	    !s.regs_abi || s.stack_dyn_size < 8) {
		r->stats.bad_records++;
		return;
	}
	t = cgo_thread(r, s.tid, true);
	if (!t)
		return;
	e = &t->e[t->next++ % CGO_ENTRIES];
	e->time = s.time;
	e->sp = s.regs[PERF_REG_SP];
	e->bp = s.regs[PERF_REG_BP];
	e->n = 0;
	memcpy(&e->pcs[e->n++], s.stack, 8);
	/* the user callchain: ip, then the frame records from rbp */
	while (i < s.callchain_nr && s.callchain[i] != PERF_CONTEXT_USER)
		i++;
	i += 2;
	/* kernels from 6.11 add the return address at sp themselves for a
	 * uprobe at a function entry that pushes rbp (Go >= 1.21's
	 * asmcgocall): it is already pcs[0] */
	if (i < s.callchain_nr && s.callchain[i] == e->pcs[0])
		i++;
	for (; i < s.callchain_nr && e->n < CGOPROF_MAX_FRAMES; i++) {
		if (s.callchain[i] >= (uint64_t)-4095)
			break;
		e->pcs[e->n++] = s.callchain[i];
	}
	note_hit(t, &s);
	r->stats.cgo_entries++;
}

/* The record of thread @s->tid, for a record of a system-wide probe or
 * output event: NULL unless the process is one of the targets. */
static struct cgo_thread *target_thread(struct record *r,
					const struct perf_sample *s)
{
	if (!procmap__proc(r->pm, s->pid, false))
		return NULL;
	return cgo_thread(r, s->tid, true);
}

static void on_morestack_probe(struct record *r,
			       const struct perf_event_header *h)
{
	struct perf_sample s;
	struct cgo_thread *t;
	struct go_morestack *m;
	uint64_t i = 0;

	if (perf_sample__parse(h, r->ms_attr.sample_type,
			       r->ms_attr.sample_regs_user, &s) ||
	    !s.regs_abi || s.stack_dyn_size < 16) {
		r->stats.bad_records++;
		return;
	}
	t = target_thread(r, &s);
	if (!t)
		return;
	m = &t->ms;
	m->time = s.time;
	m->ip = s.ip;
	m->sp = s.regs[PERF_REG_SP];
	m->n = 0;
	memcpy(&m->pcs[m->n++], s.stack, 8);
	memcpy(&m->pcs[m->n++], s.stack + 8, 8);
	/* the user callchain: ip, then the frame records from rbp, which is
	 * still f's caller's (f has not pushed it yet) */
	while (i < s.callchain_nr && s.callchain[i] != PERF_CONTEXT_USER)
		i++;
	i += 2;
	while (i < s.callchain_nr && (s.callchain[i] == m->pcs[0] ||
				      s.callchain[i] == m->pcs[1]))
		i++;
	for (; i < s.callchain_nr && m->n < CGOPROF_MAX_FRAMES; i++) {
		if (s.callchain[i] >= (uint64_t)-4095)
			break;
		m->pcs[m->n++] = s.callchain[i];
	}
	note_hit(t, &s);
	r->stats.morestack_entries++;
}

static const struct go_morestack *morestack_lookup(void *ctx, uint32_t tid,
						   uint64_t time)
{
	struct record *r = ctx;
	struct cgo_thread *t = cgo_thread(r, tid, false);

	if (!t || !t->ms.n || t->ms.time > time)
		return NULL;
	return &t->ms;
}

/* A record of the snapshot program (gosnap.bpf.c). The records of one sample
 * are written one after the other into the sample's ring, before the
 * sample: @cont says this one follows another of the same thread there
 * (queue_record), and so belongs to the same sample: its region is added.
 * Each record's bytes are followed by the bitmap of the pages it could
 * not copy. */
static void on_snapshot(struct record *r, const struct perf_event_header *h,
			bool cont)
{
	size_t head = offsetof(struct gosnap_record, bytes);
	const struct gosnap_record *rec;
	struct gosnap_record hd;
	struct go_snapshot *g;
	struct perf_sample s;
	struct cgo_thread *t;
	uint64_t absent;
	unsigned k, need;

	if (perf_sample__parse(h, r->snap_attr.sample_type, 0, &s) ||
	    s.raw_size < head) {
		r->stats.bad_records++;
		return;
	}
	t = target_thread(r, &s);
	if (!t)
		return;
	memcpy(&hd, s.raw, head);
	if (hd.magic != CGOPROF_GOSNAP_MAGIC || hd.len > CGOPROF_GOSNAP_BYTES ||
	    hd.len + 8 > s.raw_size - head || hd.kind > GOSNAP_DEEP) {
		r->stats.bad_records++;
		t->snap_fresh = false;
		return;
	}
	g = &t->snap;
	need = hd.kind == GOSNAP_RUNTIME ? 4 : 1;
	k = 0;
	if (cont && t->snap_fresh && t->snap_nrec &&
	    t->snap_nrec < CGOPROF_SNAPSHOT_REGIONS &&
	    g->n + need <= CGOPROF_SNAPSHOT_REGIONS && g->ip == s.ip)
		k = t->snap_nrec;
	else if (cont)
		return;	/* the rest of a snapshot not kept */
	/* as large as the largest record of the thread, not the 60 KiB a
	 * record may take: most threads' are a few hundred bytes */
	if (t->snap_cap[k] < head + hd.len) {
		void *p = realloc(t->snap_rec[k], head + hd.len);

		if (!p)
			return;
		t->snap_rec[k] = p;
		t->snap_cap[k] = head + hd.len;
	}
	rec = t->snap_rec[k];
	memcpy(t->snap_rec[k], s.raw, head + hd.len);
	memcpy(&absent, (const uint8_t *)s.raw + head + hd.len, 8);
	if (!k) {
		*g = (struct go_snapshot){ .time = s.time, .ip = s.ip };
		t->snap_nrec = 0;
	}
	t->snap_nrec++;
	/* the bitmap's top bit: the bytes are frame records */
	g->r[g->n++] = (struct go_snapshot_region){
		rec->sp, rec->len, rec->bytes, absent & ~(1ULL << 63),
		absent >> 63 };
	if (rec->kind == GOSNAP_RUNTIME && !k) {
		g->r[g->n++] = (struct go_snapshot_region){
			rec->g0, sizeof(rec->g0_head), rec->g0_head, 0, false };
		g->r[g->n++] = (struct go_snapshot_region){
			rec->m, sizeof(rec->m_head), rec->m_head, 0, false };
		g->r[g->n++] = (struct go_snapshot_region){
			rec->g, sizeof(rec->g_head), rec->g_head, 0, false };
	}
	if (k)
		return;	/* the snapshot was counted with its first record */
	t->snap_fresh = true;
	r->stats.go_snapshots++;
}

/*
 * Loads the snapshot program (gosnap.c), opens a BPF output event on each
 * CPU into that CPU's ring, and attaches the program to every sampling
 * event. Needs CAP_BPF and CAP_PERFMON (root); without them, or without
 * kernel BTF, samples in cgo calls fall back to the kernel's callchain and
 * reads of the live process, and -v says why.
 */
static void gosnap_setup(struct record *r)
{
	const char *why = NULL;
	int err;

	if (r->o.no_bpf)
		return;
	err = gosnap__open(&r->gosnap, r->ncpus, r->attr.sample_stack_user, &why);
	if (err) {
		r->stats.gosnap_off = why ? why : strerror(-err);
		return;
	}
	memset(&r->snap_attr, 0, sizeof(r->snap_attr));
	r->snap_attr.size = sizeof(r->snap_attr);
	r->snap_attr.type = PERF_TYPE_SOFTWARE;
	r->snap_attr.config = PERF_COUNT_SW_BPF_OUTPUT;
	r->snap_attr.sample_period = 1;
	/* IP and TID before TIME, as record_time() expects of samples */
	r->snap_attr.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP |
				   PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
				   PERF_SAMPLE_RAW;
	r->snap_attr.use_clockid = 1;
	r->snap_attr.clockid = CLOCK_MONOTONIC;
	for (int cpu = 0; cpu < r->ncpus; cpu++) {
		int fd;

		if (r->rings[cpu].fd < 0)
			continue;
		fd = open_into_ring(r, &r->snap_attr, -1, cpu, 3);
		err = fd < 0 ? fd : gosnap__set_output(r->gosnap, cpu, fd);
		if (err) {
			r->stats.gosnap_off = "the BPF output events cannot be opened";
			pr_info("goroutine snapshots: %s", strerror(-err));
			if (fd >= 0)
				close_in_ring(r, fd);
			goto fail;
		}
	}
	for (size_t i = 0; i < r->nfds; i++) {
		if (ioctl(r->fds[i], PERF_EVENT_IOC_SET_BPF,
			  gosnap__prog_fd(r->gosnap))) {
			r->stats.gosnap_off = "the BPF program cannot be attached";
			pr_info("goroutine snapshots: %s", strerror(errno));
			goto fail;
		}
	}
	r->stats.gosnap_on = true;
	return;
fail:
	/* the program stays attached to the events it was attached to: its
	 * output goes nowhere once the map's fds are closed */
	gosnap__close(r->gosnap);
	r->gosnap = NULL;
}

/* Which probe wrote sample @h: 0 or 1, or -1 when it is a sample of the
 * sampling event. */
static int probe_kind(struct record *r, const struct perf_event_header *h)
{
	struct probe_id key, *p;

	if (!r->nprobe_ids || h->size < sizeof(*h) + 8)
		return -1;
	memcpy(&key.id, h + 1, 8);
	p = bsearch(&key, r->probe_ids, r->nprobe_ids, sizeof(key),
		    probe_id_cmp);
	return p ? p->kind : -1;
}

/* Opens the event for @pid on @cpu and routes it to that CPU's ring. */
static int open_one(struct record *r, pid_t pid, int cpu,
		    struct record_error *e)
{
	size_t pages = r->o.mmap_pages ? r->o.mmap_pages : CGOPROF_DEFAULT_PAGES;
	struct cpu_ring *cr = &r->rings[cpu];
	int fd, err;

	fd = sys_perf_event_open(&r->attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EPERM) &&
	    !r->attr.exclude_kernel) {
		/* perf_event_paranoid >= 2 refuses kernel samples to
		 * unprivileged users: fall back to user space only */
		r->attr.exclude_kernel = 1;
		r->attr.exclude_callchain_kernel = 1;
		r->stats.user_only_fallback = true;
		fd = sys_perf_event_open(&r->attr, pid, cpu, -1,
					 PERF_FLAG_FD_CLOEXEC);
	}
	if (fd >= 0 && fd_in_reserve(fd)) {
		close(fd);
		fd = -1;
		errno = EMFILE;
	}
	if (fd < 0) {
		e->stage = errno == ESRCH ? RECORD_STAGE_PID : RECORD_STAGE_OPEN;
		e->err = errno;
		e->pid = pid;
		return -e->err;
	}
	err = add_fd(r, fd);
	if (err) {
		close(fd);
		return err;
	}
	if (r->gosnap)
		ioctl(fd, PERF_EVENT_IOC_SET_BPF, gosnap__prog_fd(r->gosnap));
	if (cr->fd < 0) {
		/* the size of the ring: shrink when the mlock limit says so */
		for (;;) {
			err = ring__mmap(&cr->ring, fd, pages);
			if (!err || pages <= 8 || (err != -EPERM && err != -ENOMEM))
				break;
			pages /= 2;
		}
		if (err) {
			e->stage = RECORD_STAGE_MMAP;
			e->err = -err;
			return err;
		}
		cr->fd = fd;
		return 0;
	}
	if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, cr->fd)) {
		e->stage = RECORD_STAGE_MMAP;
		e->err = errno;
		return -errno;
	}
	return 0;
}

static bool tid_opened(struct record *r, uint32_t tid)
{
	for (size_t i = 0; i < r->ntids; i++)
		if (r->tids_opened[i] == tid)
			return true;
	return false;
}

/* Attach to every thread of @pid, again until no new thread shows up:
 * threads created while we open are caught by the next pass (or by
 * inherit, once their creator has its event). */
static int attach_pid(struct record *r, pid_t pid, struct record_error *e)
{
	char path[64];
	int err, pass;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	probe_prepare(r, path);

	for (pass = 0; pass < 8; pass++) {
		bool added = false;
		struct dirent *de;
		DIR *d;

		snprintf(path, sizeof(path), "/proc/%d/task", pid);
		d = opendir(path);
		if (!d) {
			if (pass)
				break;
			e->stage = RECORD_STAGE_PID;
			e->err = errno == ENOENT ? ESRCH : errno;
			e->pid = pid;
			return -e->err;
		}
		while ((de = readdir(d))) {
			uint32_t tid = (uint32_t)strtoul(de->d_name, NULL, 10);

			if (!tid || tid_opened(r, tid))
				continue;
			for (int cpu = 0; cpu < r->ncpus; cpu++) {
				err = open_one(r, (pid_t)tid, cpu, e);
				if (err == -ESRCH && tid != (uint32_t)pid)
					break; /* the thread just ended */
				if (err) {
					closedir(d);
					return err;
				}
				probe_open(r, (pid_t)tid, cpu);
			}
			if (r->ntids == r->cap_tids) {
				size_t cap = r->cap_tids ? r->cap_tids * 2 : 64;
				void *p = realloc(r->tids_opened,
						  cap * sizeof(uint32_t));

				if (!p) {
					closedir(d);
					return -ENOMEM;
				}
				r->tids_opened = p;
				r->cap_tids = cap;
			}
			r->tids_opened[r->ntids++] = tid;
			added = true;
		}
		closedir(d);
		if (!added)
			break;
	}
	/* The synthetic snapshot of the maps, after the events exist, so
	 * that no mmap falls between the two. */
	err = procmap__load_proc(r->pm, (uint32_t)pid);
	if (err == -ESRCH) {
		e->stage = RECORD_STAGE_PID;
		e->err = ESRCH;
		e->pid = pid;
	}
	if (!err)
		morestack_prepare(r, (uint32_t)pid);
	return err;
}

/* @cmd as execvp would find it. */
static bool resolve_command(const char *cmd, char *out, size_t size)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	bool found = false;

	if (strchr(cmd, '/')) {
		snprintf(out, size, "%s", cmd);
		return !access(out, X_OK);
	}
	copy = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = copy ? strtok_r(copy, ":", &save) : NULL; dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, size, "%s/%s", *dir ? dir : ".", cmd);
		found = !access(out, X_OK);
	}
	free(copy);
	return found;
}

static int launch(struct record *r, struct record_error *e)
{
	int go[2], status[2], err, n, child_errno = 0;

	if (pipe2(go, O_CLOEXEC) || pipe2(status, O_CLOEXEC)) {
		e->stage = RECORD_STAGE_FORK;
		e->err = errno;
		return -errno;
	}
	r->child = fork();
	if (r->child < 0) {
		e->stage = RECORD_STAGE_FORK;
		e->err = errno;
		return -errno;
	}
	if (!r->child) {
		char c;

		close(go[1]);
		close(status[0]);
		/* wait until the events are open; EOF means give up */
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		execvp(r->o.argv[0], r->o.argv);
		err = errno;
		if (write(status[1], &err, sizeof(err)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(status[1]);
	r->go_fd = go[1];
	r->attr.disabled = 1;
	r->attr.enable_on_exec = 1;
	{
		char resolved[4096];

		if (resolve_command(r->o.argv[0], resolved, sizeof(resolved)))
			probe_prepare(r, resolved);
	}
	for (int cpu = 0; cpu < r->ncpus; cpu++) {
		err = open_one(r, r->child, cpu, e);
		if (err) {
			close(status[0]);
			return err;
		}
		probe_open(r, r->child, cpu);
	}
	procmap__proc(r->pm, (uint32_t)r->child, true);
	gosnap_setup(r);
	r->t_start = now_ns(CLOCK_MONOTONIC);
	r->wall_start = now_ns(CLOCK_REALTIME);
	if (write(r->go_fd, "g", 1) != 1) {
		err = -errno;
		close(status[0]);
		return err;
	}
	close(r->go_fd);
	r->go_fd = -1;
	n = (int)read(status[0], &child_errno, sizeof(child_errno));
	close(status[0]);
	if (n == sizeof(child_errno)) {
		waitpid(r->child, &r->child_status, 0);
		r->child_done = true;
		e->stage = RECORD_STAGE_EXEC;
		e->err = child_errno;
		return -child_errno;
	}
	return 0;
}

int record__open(struct record *r, struct record_error *e)
{
	int err;

	memset(e, 0, sizeof(*e));
	err = build_attr(r, e);
	if (err)
		return err;
	if (r->o.argv)
		return launch(r, e);
	for (int i = 0; i < r->o.npids; i++) {
		err = attach_pid(r, r->o.pids[i], e);
		if (err)
			return err;
	}
	gosnap_setup(r);
	r->t_start = now_ns(CLOCK_MONOTONIC);
	r->wall_start = now_ns(CLOCK_REALTIME);
	return 0;
}

/* ---- records ---- */

struct rec_mmap2 {
	struct perf_event_header h;
	uint32_t pid, tid;
	uint64_t addr, len, pgoff;
	uint32_t maj, min;
	uint64_t ino, ino_generation;
	uint32_t prot, flags;
	char filename[];
};

struct rec_comm {
	struct perf_event_header h;
	uint32_t pid, tid;
	char comm[];
};

struct rec_fork {
	struct perf_event_header h;
	uint32_t pid, ppid, tid, ptid;
	uint64_t time;
};

struct rec_lost {
	struct perf_event_header h;
	uint64_t id, lost;
};

/* A string field of a record: NUL-terminated inside the record or NULL. */
static const char *rec_string(const struct perf_event_header *h,
			      const char *s)
{
	size_t max = (size_t)((const char *)h + h->size - s);

	if ((const char *)h + h->size <= s)
		return NULL;
	return memchr(s, 0, max) ? s : NULL;
}

/* Number of leading user C frames (before the first Go frame) of @u. */
static uint32_t c_prefix(const struct unwind_result *u, uint32_t *first)
{
	uint32_t i = 0, n = 0;

	while (i < u->n && (u->frames[i].flags & UNWIND_FRAME_KERNEL))
		i++;
	*first = i;
	for (; i < u->n; i++, n++) {
		const struct unwind_frame *f = &u->frames[i];
		uint64_t pc = f->pc - (f->flags & UNWIND_FRAME_LEAF ? 0 : 1);

		if (f->map && f->map->obj &&
		    elf_obj__is_go_pc(f->map->obj, pc - f->map->bias))
			break;
	}
	return n;
}

/* --unwinder=compare: the C frames libunwind finds must be the native
 * unwinder's, frame for frame, where both reached them. */
static void compare_unwinders(struct record *r, struct proc *p,
			      const struct perf_sample *s)
{
	struct unwind_opts o = r->o.unwind;
	uint32_t na, nb, fa, fb, n;
	bool differ;

	o.backend = UNWINDER_LIBUNWIND;
	if (unwind__sample(r->pm, p, s, &o, &r->oracle))
		return;
	na = c_prefix(&r->unwound, &fa);
	nb = c_prefix(&r->oracle, &fb);
	/* a pc nobody maps ends libunwind's chain: it went off the stack */
	for (uint32_t i = 0; i < nb; i++)
		if (!r->oracle.frames[fb + i].map) {
			nb = i;
			break;
		}
	if (!na || !nb)
		return;
	/* where libunwind gave up early (no .eh_frame_hdr entry), compare
	 * what it has; a longer or different chain is a disagreement */
	n = na < nb ? na : nb;
	differ = nb > na;
	for (uint32_t i = 0; i < n && !differ; i++)
		differ = r->unwound.frames[fa + i].pc != r->oracle.frames[fb + i].pc;
	/* libunwind ending the stack sooner says it found its root, unless
	 * no CFI describes its last frame (clone3's syscall, which the
	 * native unwinder steps by the call at sp): then it only stopped */
	if (!differ && nb < na && r->oracle.status == STACK_COMPLETE) {
		const struct unwind_frame *l = &r->oracle.frames[fb + nb - 1];
		uint64_t pc = l->pc - (l->flags & UNWIND_FRAME_LEAF ? 0 : 1);

		differ = !l->map->obj ||
			 elf_obj__cfi_covers(l->map->obj, pc - l->map->bias);
	}
	r->stats.compared++;
	if (differ) {
		r->stats.disagreed++;
		pr_info("unwinders disagree (pid %u tid %u): native %u C frames, "
			"libunwind %u (%s)", s->pid, s->tid, na, nb,
			r->oracle.reason ? r->oracle.reason : "complete");
		for (uint32_t i = 0; i < na || i < nb; i++)
			pr_debug("  #%u native %#llx libunwind %#llx", i,
				 i < na ? (unsigned long long)r->unwound.frames[fa + i].pc : 0ULL,
				 i < nb ? (unsigned long long)r->oracle.frames[fb + i].pc : 0ULL);
	}
}

/* Tells the snapshot program where Go process @p keeps its g, when not
 * at fsbase - 8 (static glibc's TLS comes first there): once per
 * executable. */
static void publish_g_tls(struct record *r, struct proc *p)
{
	int32_t off = -8;

	for (size_t i = 0; i < p->nmaps; i++) {
		struct map *m = &p->maps[i];

		if (m->obj && m->obj->go && p->exe && !strcmp(m->path, p->exe)) {
			if (elf_obj__go_g_tls(m->obj, &off))
				off = -8;
			break;
		}
	}
	if (off != -8 && gosnap__set_g_tls(r->gosnap, p->pid, off))
		pr_debug("pid %u: g's TLS slot not set", p->pid);
	p->snap_g_tls = off;
}

static void on_sample(struct record *r, const struct perf_event_header *h)
{
	struct perf_sample s;
	const char *root;
	struct proc *p;
	int err;

	err = perf_sample__parse(h, r->attr.sample_type, r->attr.sample_regs_user,
				 &s);
	if (err) {
		r->stats.bad_records++;
		return;
	}
	r->stats.samples++;
	{
		uint64_t now = now_ns(CLOCK_MONOTONIC);

		if (now > s.time)
			r->stats.latency_ns += now - s.time;
	}
	p = procmap__proc(r->pm, s.pid, true);
	if (p && !procmap__thread(r->pm, s.tid, s.pid, false)) {
		struct thread *t = procmap__thread(r->pm, s.tid, s.pid, true);

		if (t)
			memcpy(t->comm, p->comm, sizeof(t->comm));
	}
	if (r->gosnap && p && p->is_go && !p->snap_g_tls)
		publish_g_tls(r, p);
	r->o.unwind.cgo_entry = r->probe ? cgo_entry_lookup : NULL;
	r->o.unwind.cgo_callback = r->probe ? cgo_callback_lookup : NULL;
	r->o.unwind.go_morestack = r->stats.morestack_probes ? morestack_lookup
							     : NULL;
	/* the caller's hits (its own uprobes), unless we place ours */
	if (r->probe || r->stats.morestack_probes) {
		r->o.unwind.probe_hit = probe_hit_lookup;
		r->o.unwind.probe_hit_ctx = r;
	}
	r->o.unwind.cgo_ctx = r;
	r->o.unwind.go_snapshot = NULL;
	if (r->stats.gosnap_on) {
		/* The program runs in the sample's overflow handler and
		 * writes its records into the sample's ring right before the
		 * sample (queue_record saw them there: snap_mine), and they
		 * are used before it. Used once. */
		struct cgo_thread *t = cgo_thread(r, s.tid, false);

		if (t && t->snap_fresh && r->snap_mine && t->snap.ip == s.ip)
			r->o.unwind.go_snapshot = &t->snap;
		if (t)
			t->snap_fresh = false;
	}
	err = unwind__sample(r->pm, p, &s, &r->o.unwind, &r->unwound);
	if (err) {
		r->stats.unwind_failed++;
		return;
	}
	if (r->o.unwind.backend == UNWINDER_COMPARE)
		compare_unwinders(r, p, &s);
	/* the caller's root (a cold-start phase) stands for the stack's
	 * root; else the unwinder's pseudo frame for the user part */
	root = r->o.sample_root ? r->o.sample_root(r->o.hook_ctx, &s,
						   &r->unwound)
				: NULL;
	if (stack_table__add(&r->stacks, s.pid, s.tid, &r->unwound,
			     s.period ? s.period : 1,
			     root ? root : r->unwound.root))
		r->stats.unwind_failed++;
}

static int on_record(const struct perf_event_header *h, void *ctx)
{
	struct record *r = ctx;

	switch (h->type) {
	case PERF_RECORD_SAMPLE:
		switch (probe_kind(r, h)) {
		case 0:
			on_probe(r, h);
			break;
		case 1:
			on_callback_probe(r, h);
			break;
		case 2:
			on_morestack_probe(r, h);
			break;
		case 3:
			on_snapshot(r, h, r->snap_cont);
			break;
		default:
			on_sample(r, h);
		}
		break;
	case PERF_RECORD_MMAP2: {
		const struct rec_mmap2 *m = (const void *)h;
		const char *name;
		uint64_t dev = 0, ino = 0;

		if (h->size < sizeof(*m) ||
		    !(name = rec_string(h, m->filename))) {
			r->stats.bad_records++;
			break;
		}
		if (!(h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID)) {
			dev = makedev(m->maj, m->min);
			ino = m->ino;
		}
		procmap__mmap(r->pm, m->pid, m->addr, m->len, m->pgoff, dev,
			      ino, m->prot, name);
		break;
	}
	case PERF_RECORD_COMM: {
		const struct rec_comm *c = (const void *)h;
		const char *name;

		if (h->size < sizeof(*c) || !(name = rec_string(h, c->comm))) {
			r->stats.bad_records++;
			break;
		}
		procmap__comm(r->pm, c->pid, c->tid, name,
			      h->misc & PERF_RECORD_MISC_COMM_EXEC);
		if (h->misc & PERF_RECORD_MISC_COMM_EXEC)
			morestack_prepare(r, c->pid);
		break;
	}
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT: {
		const struct rec_fork *f = (const void *)h;

		if (h->size < sizeof(*f)) {
			r->stats.bad_records++;
			break;
		}
		if (h->type == PERF_RECORD_FORK) {
			procmap__fork(r->pm, f->pid, f->ppid, f->tid);
			r->stats.threads_seen++;
			if (r->probe && f->pid == f->ppid) {
				/* a new thread of a probed process */
				for (int k = 0; k < 2; k++) {
					r->probe_attr[k].disabled = 0;
					r->probe_attr[k].enable_on_exec = 0;
				}
				for (int cpu = 0; cpu < r->ncpus; cpu++)
					probe_open(r, (pid_t)f->tid, cpu);
			}
		} else {
			procmap__exit(r->pm, f->pid, f->tid);
			if (r->gosnap && f->pid == f->tid)
				gosnap__set_g_tls(r->gosnap, f->pid, -8);
			if (r->probe)
				probe_close(r, f->tid);
		}
		break;
	}
	case PERF_RECORD_LOST: {
		const struct rec_lost *l = (const void *)h;

		if (h->size >= sizeof(*l))
			r->stats.lost += l->lost;
		break;
	}
	case PERF_RECORD_LOST_SAMPLES: {
		uint64_t lost;

		if (h->size >= sizeof(*h) + sizeof(lost)) {
			memcpy(&lost, h + 1, sizeof(lost));
			r->stats.lost += lost;
		}
		break;
	}
	case PERF_RECORD_THROTTLE:
		r->stats.throttled++;
		break;
	default:
		break;
	}
	return 0;
}

static uint64_t record_time(const struct perf_event_header *h)
{
	uint64_t t = 0;

	/* samples: header, id, ip, pid/tid, time; other records end with
	 * the sample_id trailer: pid/tid, time, id */
	if (h->type == PERF_RECORD_SAMPLE) {
		if (h->size >= sizeof(*h) + 32)
			memcpy(&t, (const uint8_t *)h + sizeof(*h) + 24, 8);
	} else if (h->size >= sizeof(*h) + 24) {
		memcpy(&t, (const uint8_t *)h + h->size - 16, 8);
	}
	return t;
}

/* Queues the snapshot records of @cr's chain, which wait, at @time
 * (their sample's): they are used before it. */
static void snap_before(struct record *r, const struct cpu_ring *cr,
			uint64_t time)
{
	unsigned left = cr->snap_n;

	for (size_t i = r->npending; i-- > 0 && left;) {
		for (unsigned k = 0; k < cr->snap_n; k++) {
			if (r->pending[i].seq != cr->snap_seq[k])
				continue;
			if (r->pending[i].time > time)
				r->pending[i].time = time;
			left--;
			break;
		}
	}
}

static int queue_record(const struct perf_event_header *h, void *ctx)
{
	struct record *r = ctx;
	size_t need = r->pending_len + ((h->size + 7u) & ~7u);
	bool cont = false, mine = false;
	uint64_t t;

	if (need > r->pending_cap) {
		size_t cap = r->pending_cap ? r->pending_cap * 2 : 1 << 20;
		void *p;

		while (cap < need)
			cap *= 2;
		p = realloc(r->pending_bytes, cap);
		if (!p)
			return -ENOMEM;
		r->pending_bytes = p;
		p = realloc(r->pending_spare, cap);
		if (!p)
			return -ENOMEM;
		r->pending_spare = p;
		r->pending_cap = cap;
	}
	if (r->npending == r->cap_pending) {
		size_t cap = r->cap_pending ? r->cap_pending * 2 : 4096;
		void *p = realloc(r->pending, cap * sizeof(*r->pending));

		if (!p)
			return -ENOMEM;
		r->pending = p;
		r->cap_pending = cap;
	}
	memcpy(r->pending_bytes + r->pending_len, h, h->size);
	t = record_time(h);
	if (r->gosnap && h->type == PERF_RECORD_SAMPLE && probe_kind(r, h) == 3) {
		struct cpu_ring *cr = r->reading;
		uint32_t tid = 0;

		/* The program runs in the sample's overflow handler and
		 * writes its records into the sample's ring, one after the
		 * other, right before the sample: they wait for the record
		 * that follows them there, and go just before it. Their own
		 * times are later than the sample's, by as much as the copy
		 * took, and may pass the next sample's at high rates. */
		if (h->size >= sizeof(*h) + 24)
			memcpy(&tid, (const uint8_t *)h + sizeof(*h) + 20, 4);
		cont = cr && cr->snap_chain && cr->snap_tid == tid;
		if (cr && !cont) {
			if (cr->snap_chain)
				snap_before(r, cr, t);	/* not followed */
			cr->snap_chain = true;
			cr->snap_tid = tid;
			cr->snap_n = 0;
		}
		if (cr && cr->snap_n < CGOPROF_SNAPSHOT_REGIONS) {
			cr->snap_seq[cr->snap_n++] = r->seq;
			t = UINT64_MAX;
		}
	} else if (r->reading && r->reading->snap_chain) {
		struct cpu_ring *cr = r->reading;
		uint32_t tid = 0;

		/* their sample (else they are used, unread, here) */
		if (h->type == PERF_RECORD_SAMPLE && probe_kind(r, h) < 0 &&
		    h->size >= sizeof(*h) + 24) {
			memcpy(&tid, (const uint8_t *)h + sizeof(*h) + 20, 4);
			mine = tid == cr->snap_tid;
		}
		snap_before(r, cr, t);
		cr->snap_chain = false;
	}
	r->pending[r->npending++] = (struct pending){
		.time = t,
		.seq = r->seq++,
		.off = r->pending_len,
		.cont = cont,
		.mine = mine,
	};
	r->pending_len = need;
	return 0;
}

static int pending_cmp(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Reads every ring, then uses the records older than @horizon in time
 * order (all of them when @horizon is 0). */
static void drain(struct record *r, uint64_t horizon)
{
	size_t used = 0, keep_len = 0;

	for (int i = 0; i < r->ncpus; i++) {
		int err;

		if (r->rings[i].fd < 0)
			continue;
		r->reading = &r->rings[i];
		err = ring__consume(&r->rings[i].ring, queue_record, r);
		r->reading = NULL;
		if (err == -EINVAL)
			r->stats.bad_records++;
		else if (err == -ENOMEM)
			r->stats.lost++;
	}
	if (!r->npending)
		return;
	qsort(r->pending, r->npending, sizeof(*r->pending), pending_cmp);
	while (used < r->npending &&
	       (!horizon || r->pending[used].time < horizon)) {
		r->snap_cont = r->pending[used].cont;
		r->snap_mine = r->pending[used].mine;
		on_record((const void *)(r->pending_bytes + r->pending[used].off),
			  r);
		r->snap_cont = false;
		r->snap_mine = false;
		used++;
	}
	if (used == r->npending) {
		r->npending = 0;
		r->pending_len = 0;
		return;
	}
	/* keep the rest, compacted into the spare buffer, in sorted order */
	{
		uint8_t *bytes = r->pending_spare;

		for (size_t i = used; i < r->npending; i++) {
			const struct perf_event_header *h =
				(const void *)(r->pending_bytes + r->pending[i].off);

			memcpy(bytes + keep_len, h, h->size);
			r->pending[i - used] = r->pending[i];
			r->pending[i - used].off = keep_len;
			keep_len += (h->size + 7u) & ~7u;
		}
		r->pending_spare = r->pending_bytes;
		r->pending_bytes = bytes;
		r->pending_len = keep_len;
		r->npending -= used;
	}
}

/* Whether the process @pid has ended (gone, or a zombie). */
static bool proc_ended(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return !p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X';
}

static bool targets_ended(struct record *r)
{
	if (r->o.argv) {
		if (!r->child_done &&
		    waitpid(r->child, &r->child_status, WNOHANG) == r->child)
			r->child_done = true;
		return r->child_done;
	}
	for (int i = 0; i < r->o.npids; i++)
		if (!proc_ended(r->o.pids[i]))
			return false;
	return true;
}

static void progress(struct record *r, uint64_t now)
{
	fprintf(stderr,
		"\r[ cgoprof: %.1f s, %" PRIu64 " samples, %" PRIu64
		" lost, %zu threads ]  ",
		(double)(now - r->t_start) / 1e9, r->stats.samples,
		r->stats.lost, r->ntids + (size_t)r->stats.threads_seen);
}

int record__loop(struct record *r)
{
	struct pollfd *pfd = calloc((size_t)r->ncpus, sizeof(*pfd));
	uint64_t deadline = 0, last_progress = 0, last_check = 0;
	int n = 0;

	if (!pfd)
		return -ENOMEM;
	for (int i = 0; i < r->ncpus; i++) {
		if (r->rings[i].fd < 0)
			continue;
		pfd[n].fd = r->rings[i].fd;
		pfd[n++].events = POLLIN;
	}
	if (r->o.duration > 0)
		deadline = r->t_start + (uint64_t)(r->o.duration * 1e9);
	for (;;) {
		uint64_t now;
		bool ended;

		poll(pfd, (nfds_t)n, 50);
		now = now_ns(CLOCK_MONOTONIC);
		drain(r, now - CGOPROF_ORDER_HORIZON_NS);
		if (r->o.progress && now - last_progress > 250000000ULL) {
			progress(r, now);
			last_progress = now;
		}
		if (r->o.stop && *r->o.stop)
			break;
		if (deadline && now >= deadline)
			break;
		/* reading /proc at every wake-up (one per sample) costs more
		 * than the samples: every 50 ms is soon enough */
		if (now - last_check >= 50000000ULL) {
			last_check = now;
			ended = targets_ended(r);
			if (ended)
				break;
		}
	}
	/* stop sampling, then read what is left */
	for (size_t i = 0; i < r->nfds; i++)
		ioctl(r->fds[i], PERF_EVENT_IOC_DISABLE, 0);
	drain(r, 0);
	r->t_end = now_ns(CLOCK_MONOTONIC);
	r->stats.ns_elapsed = r->t_end - r->t_start;
	if (r->o.progress)
		fprintf(stderr, "\r%*s\r", 70, "");
	if (r->o.argv && !r->child_done) {
		/* the recording ended first: end the command as perf does */
		kill(r->child, SIGTERM);
		if (waitpid(r->child, &r->child_status, 0) == r->child)
			r->child_done = true;
	}
	/* The events and rings are done with: give their fds back before
	 * the outputs are written (one per thread and CPU can be most of
	 * 'ulimit -n'). */
	for (int i = 0; i < r->ncpus; i++) {
		ring__release(&r->rings[i].ring);
		r->rings[i].fd = -1;
	}
	for (size_t i = 0; i < r->nfds; i++)
		close(r->fds[i]);
	r->nfds = 0;
	probe_close(r, 0);
	free(pfd);
	return 0;
}

const struct record_stats *record__stats(const struct record *r)
{
	return &r->stats;
}

int record__child_status(const struct record *r)
{
	return r->child_done ? r->child_status : -1;
}

pid_t record__child_pid(const struct record *r)
{
	return r->child;
}

struct procmap *record__procmap(struct record *r)
{
	return r->pm;
}

struct profile *record__profile(struct record *r, const char *command)
{
	struct profile_meta meta = {
		.command = command,
		.event = r->o.event ? r->o.event : "cpu-clock",
		.time_event = event__is_time(&r->attr),
		.freq = r->o.freq,
		.period = r->o.freq ? 1000000000ULL / r->o.freq : r->o.period,
		.time_nanos = r->wall_start,
		.duration_nanos = r->stats.ns_elapsed,
		.lost_samples = r->stats.lost,
	};
	struct kallsyms *k = NULL;
	struct profile *p;

	if (!r->o.no_kernel && !r->stats.user_only_fallback)
		k = kallsyms__new(NULL);
	p = stack_table__resolve(&r->stacks, r->pm, k, &meta);
	kallsyms__free(k);
	return p;
}
