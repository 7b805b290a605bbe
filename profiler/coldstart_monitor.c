// SPDX-License-Identifier: MIT
/* Cold starts: the events of one run and what a run reads from them. The
 * record API forks and lets the child exec inside record__open, so there
 * is no moment to open events on a launched child before it runs: the
 * phase uprobes, a page-fault event and a dummy event (exec and exit
 * records) are opened for every process on every CPU before the command
 * starts, and only the records of its pid count. A start caught by
 * --exec is held stopped before its first instruction: its events are
 * opened on it alone (inherited by its threads). The record hooks root
 * each sample at the phase its time falls in. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cgoprof/arena.h"
#include "cgoprof/clock.h"
#include "cgoprof/coldstart.h"
#include "cgoprof/perf.h"
#include "cgoprof/uprobe.h"

#define RING_PAGES 256

/* The samples of the dummy and the page-fault events: the identifier first
 * (it says which event, hence the layout of the rest), pid and time. */
#define EVENT_SAMPLE_TYPE                                                      \
	(PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_TID | PERF_SAMPLE_TIME)
/* A uprobe's: also where the hit was (ip, sp), for the samples taken in
 * its single-step. */
#define PROBE_SAMPLE_TYPE                                                      \
	(EVENT_SAMPLE_TYPE | PERF_SAMPLE_IP | PERF_SAMPLE_REGS_USER)
#define PROBE_REGS (1ULL << PERF_REG_SP)

void coldstart_monitor__close(struct coldstart_monitor *m)
{
	if (m->rings)
		for (int c = 0; c < m->ncpus; c++)
			ring__release(&m->rings[c]);
	for (size_t i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	free(m->rings);
	free(m->ring_fds);
	free(m->offline);
	free(m->fds);
	free(m->ids);
	memset(m, 0, sizeof(*m));
}

/* Opens @a on @cpu for m->pid, notes its id as @kind, and sends its
 * records to @output_fd's ring (-1: its own). */
static int monitor_add(struct coldstart_monitor *m, struct perf_event_attr *a,
		       int cpu, int kind, int output_fd, int *fd_out)
{
	uint64_t id;
	size_t cap;
	int fd;
	/* A uprobe is never inherited (uprobe__attr: the kernel would read
	 * its path in the new thread's memory): it stays on every process,
	 * which only the processes running that file can hit, and the
	 * records of others are dropped (on_sample) */
	bool probe = kind >= 0 && kind < COLDSTART_PROBE__COUNT;
	pid_t pid = probe ? -1 : m->pid;

	a->inherit = !probe && m->pid > 0;
	fd = sys_perf_event_open(a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* fds and ids: one capacity, the one of ids grown last */
	cap = m->cap_fds;
	if (array__grow((void **)&m->fds, &cap, m->nfds + 1, sizeof(*m->fds),
			16) ||
	    array__grow((void **)&m->ids, &m->cap_fds, m->nfds + 1,
			sizeof(*m->ids), 16)) {
		close(fd);
		return -ENOMEM;
	}
	m->fds[m->nfds++] = fd;
	if (ioctl(fd, PERF_EVENT_IOC_ID, &id))
		return -errno;
	m->ids[m->nids].id = id;
	m->ids[m->nids++].kind = kind;
	if (output_fd >= 0 &&
	    ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, output_fd))
		return -errno;
	if (fd_out)
		*fd_out = fd;
	return 0;
}

/* Opens @a (kind @kind) on @cpu into the CPU's ring: the first event
 * opened there owns it (mapped here), the others write to it. */
static int monitor_add_cpu(struct coldstart_monitor *m,
			   struct perf_event_attr *a, int cpu, int kind)
{
	int fd = -1, err;

	err = monitor_add(m, a, cpu, kind, m->ring_fds[cpu], &fd);
	if (err || m->ring_fds[cpu] >= 0)
		return err;
	err = ring__mmap(&m->rings[cpu], fd, RING_PAGES);
	if (!err)
		m->ring_fds[cpu] = fd;
	return err;
}

int coldstart_monitor__open_probes(struct coldstart_monitor *m,
				   const struct coldstart_target *t,
				   const char **what)
{
	long ncpus = sysconf(_SC_NPROCESSORS_CONF);
	int type = uprobe__pmu_type();
	int err;

	memset(m, 0, sizeof(*m));
	m->pid = -1;
	*what = "the uprobe PMU";
	if (type < 0)
		return -ENOENT;
	if (ncpus < 1 || ncpus > 4096)
		ncpus = 1;
	m->ncpus = (int)ncpus;
	m->rings = calloc((size_t)m->ncpus, sizeof(*m->rings));
	m->ring_fds = malloc((size_t)m->ncpus * sizeof(*m->ring_fds));
	m->offline = calloc((size_t)m->ncpus, sizeof(*m->offline));
	if (!m->rings || !m->ring_fds || !m->offline)
		return -ENOMEM;
	for (int cpu = 0; cpu < m->ncpus; cpu++)
		m->ring_fds[cpu] = -1;
	snprintf(m->path, sizeof(m->path), "%s", t->path);
	*what = "a uprobe";
	for (int cpu = 0; cpu < m->ncpus; cpu++) {
		for (int k = 0; k < COLDSTART_PROBE__COUNT; k++) {
			struct perf_event_attr a;

			if (!t->have[k])
				continue;
			uprobe__attr(&a, m->path, t->off[k], PROBE_SAMPLE_TYPE);
			a.sample_regs_user = PROBE_REGS;
			a.sample_id_all = 1;
			err = monitor_add_cpu(m, &a, cpu, k);
			if (err == -ENODEV && m->ring_fds[cpu] < 0) {
				m->offline[cpu] = true;
				break;
			}
			if (err)
				return err;
		}
	}
	return 0;
}

int coldstart_monitor__attach(struct coldstart_monitor *m, pid_t pid,
			      const char **what)
{
	int err;

	m->pid = pid;
	for (int cpu = 0; cpu < m->ncpus; cpu++) {
		struct perf_event_attr a = {
			.size = sizeof(a),
			.type = PERF_TYPE_SOFTWARE,
			.config = PERF_COUNT_SW_DUMMY,
			.sample_period = 1,
			.sample_type = EVENT_SAMPLE_TYPE,
			.comm = 1,
			.comm_exec = 1,
			.task = 1,
			.sample_id_all = 1,
			.use_clockid = 1,
			.clockid = CLOCK_MONOTONIC,
		};

		if (m->offline[cpu])
			continue;
		*what = "the exec and exit event";
		err = monitor_add_cpu(m, &a, cpu, COLDSTART_EV_DUMMY);
		if ((err == -ENODEV || err == -ENOENT) &&
		    m->ring_fds[cpu] < 0)
			continue;	/* an offline CPU */
		if (err)
			return err;
		*what = "the page-fault counter";
		a.config = PERF_COUNT_SW_PAGE_FAULTS;
		a.comm = a.comm_exec = a.task = 0;
		err = monitor_add_cpu(m, &a, cpu, COLDSTART_EV_FAULT);
		if (err)
			return err;
	}
	return 0;
}

int coldstart_monitor__open(struct coldstart_monitor *m,
			    const struct coldstart_target *t, pid_t pid,
			    const char **what)
{
	int err = coldstart_monitor__open_probes(m, t, what);

	return err ? err : coldstart_monitor__attach(m, pid, what);
}

static int monitor_kind(const struct coldstart_monitor *m, uint64_t id)
{
	for (size_t i = 0; i < m->nids; i++)
		if (m->ids[i].id == id)
			return m->ids[i].kind;
	return -1;
}

/* ---- what a run reads of its own process ------------------------------- */

void coldstart_run__init(struct coldstart_run *r,
			 const struct coldstart_target *t,
			 struct coldstart_monitor *mon)
{
	memset(r, 0, sizeof(*r));
	r->t = t;
	r->mon = mon;
}

void coldstart_run__release(struct coldstart_run *r)
{
	free(r->fault_t);
	r->fault_t = NULL;
	r->nfaults = r->cap_faults = 0;
}

static void run_add_fault(struct coldstart_run *r, uint64_t t)
{
	if (array__grow((void **)&r->fault_t, &r->cap_faults, r->nfaults + 1,
			sizeof(*r->fault_t), 4096))
		return;	/* a fault less in the counts */
	r->fault_t[r->nfaults++] = t;
}

void coldstart_run__note_hit(struct coldstart_run *r, uint32_t tid,
			     uint64_t time, uint64_t ip, uint64_t sp)
{
	unsigned i = 0, k;
	struct probe_hit *h;

	while (i < r->nthread_hit && r->thread_hit[i].tid != tid)
		i++;
	if (i == COLDSTART_HIT_THREADS)
		i = tid % COLDSTART_HIT_THREADS;	/* a start-up has few */
	else if (i == r->nthread_hit)
		r->nthread_hit++;
	if (r->thread_hit[i].tid != tid) {
		r->thread_hit[i].tid = tid;
		r->thread_hit[i].n = 0;
	}
	/* in time order (a thread that moved CPUs may be read out of it);
	 * when full, the oldest goes */
	h = r->thread_hit[i].h;
	k = r->thread_hit[i].n;
	if (k == COLDSTART_HIT_DEPTH) {
		if (time < h[0].time)
			return;
		memmove(h, h + 1, --k * sizeof(*h));
	}
	while (k && h[k - 1].time > time) {
		h[k] = h[k - 1];
		k--;
	}
	h[k] = (struct probe_hit){ time, ip, sp };
	r->thread_hit[i].n++;
	if (r->thread_hit[i].n > COLDSTART_HIT_DEPTH)
		r->thread_hit[i].n = COLDSTART_HIT_DEPTH;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void on_sample(struct coldstart_run *r,
		      const struct perf_event_header *h)
{
	struct perf_sample s;
	bool probe;
	int kind;

	if (h->size < sizeof(*h) + sizeof(uint64_t))
		return;
	kind = monitor_kind(r->mon, rd64((const uint8_t *)(h + 1)));
	probe = kind >= 0 && kind < COLDSTART_PROBE__COUNT;
	if (perf_sample__parse(h, probe ? PROBE_SAMPLE_TYPE : EVENT_SAMPLE_TYPE,
			       probe ? PROBE_REGS : 0, &s))
		return;
	if (!r->pid || s.pid != (uint32_t)r->pid)
		return;
	if (kind == COLDSTART_EV_FAULT) {
		run_add_fault(r, s.time);
		return;
	}
	/* a hit without its registers is no hit of a user thread */
	if (!probe || !s.regs_abi)
		return;
	coldstart_run__note_hit(r, s.tid, s.time, s.ip, s.regs[PERF_REG_SP]);
	/* the earliest hit: the rings are per CPU, and a later call (the
	 * ready function called again, on another CPU) may be read first */
	if (r->hit[kind] && s.time < r->hit[kind])
		r->hit[kind] = s.time;
	if (!r->hit[kind]) {
		r->hit[kind] = s.time;
		if (kind == COLDSTART_PROBE_READY) {
			r->stop = 1;
			if (!coldstart__read_memory(r->pid, &r->memory))
				r->memory.read_ms =
					(double)(clock__ns(CLOCK_MONOTONIC) -
						 s.time) / 1e6;
		}
	}
}

static int on_record(const struct perf_event_header *h, void *ctx)
{
	struct coldstart_run *r = ctx;
	struct perf_comm c;
	struct perf_fork f;

	if (h->size < sizeof(*h))
		return 0;
	switch (h->type) {
	case PERF_RECORD_SAMPLE:
		on_sample(r, h);
		return 0;
	case PERF_RECORD_COMM:
		/* the dummy event's: its sample id has the time */
		if (perf_comm__parse(h, EVENT_SAMPLE_TYPE, &c) || !c.exec)
			return 0;
		if (r->pid && c.pid == (uint32_t)r->pid &&
		    r->nexecs < COLDSTART_MAX_EXECS)
			r->execs[r->nexecs++] = c.time;
		return 0;
	case PERF_RECORD_EXIT:
		if (perf_fork__parse(h, &f))
			return 0;
		if (r->pid && f.pid == (uint32_t)r->pid && f.time > r->exit_t)
			r->exit_t = f.time;
		return 0;
	case PERF_RECORD_LOST:
		r->lost++;
		return 0;
	default:
		return 0;
	}
}

void coldstart_run__drain(struct coldstart_run *r)
{
	if (!r->mon || !r->mon->rings)
		return;
	for (int c = 0; c < r->mon->ncpus; c++)
		if (r->mon->rings[c].meta)
			ring__consume(&r->mon->rings[c], on_record, r);
}

/* ---- the record hooks --------------------------------------------------- */

/* The boundary probe whose first instruction the sample's user leaf is
 * at, or -1. Such a sample is in the function the boundary starts even
 * when it precedes the hit's stamp: an interrupt can come between the
 * call and the int3 the uprobe put there, and in the trap, until the
 * kernel moves the ip back, the leaf is the byte after it. */
static int at_boundary(const struct coldstart_target *t,
		       const struct unwind_result *u)
{
	const struct unwind_frame *f = NULL;
	uint64_t off;

	for (uint32_t i = 0; i < u->n && !f; i++)
		if (!(u->frames[i].flags & UNWIND_FRAME_KERNEL))
			f = &u->frames[i];
	if (!f || !(f->flags & UNWIND_FRAME_LEAF) || !f->map || !t->ino ||
	    f->map->dev != t->dev || f->map->ino != t->ino)
		return -1;
	off = f->pc - f->map->start + f->map->pgoff;
	for (int k = 0; k < COLDSTART_PROBE__COUNT; k++)
		if (t->have[k] && (off == t->off[k] || off == t->off[k] + 1))
			return k;
	return -1;
}

/* The unwinder's question for a sample in the uprobes' page: the latest
 * hit of thread @tid at or before @time. */
static bool probe_hit(void *ctx, uint32_t tid, uint64_t time,
		      struct probe_hit *hit)
{
	struct coldstart_run *r = ctx;

	coldstart_run__drain(r);
	for (unsigned i = 0; i < r->nthread_hit; i++) {
		if (r->thread_hit[i].tid != tid)
			continue;
		for (unsigned k = r->thread_hit[i].n; k--;)
			if (r->thread_hit[i].h[k].time <= time) {
				*hit = r->thread_hit[i].h[k];
				return true;
			}
		return false;
	}
	return false;
}

/* The sample hook, called in time order: every uprobe hit older than the
 * sample is in the rings by now, so they are read first. */
static const char *sample_root(void *ctx, const struct perf_sample *s,
			       const struct unwind_result *u)
{
	struct coldstart_run *r = ctx;
	int phase;

	coldstart_run__drain(r);
	phase = coldstart__phase_at(r->t, r->hit, s->time,
				    at_boundary(r->t, u));
	return phase == COLDSTART_AFTER_READY ? coldstart_after_ready
					      : r->t->phases[phase];
}

/* Every turn of the record loop: a --ready hit is seen (and the memory
 * read) even when no sample follows it. */
static void tick(void *ctx)
{
	coldstart_run__drain(ctx);
}

void coldstart_run__hook(struct coldstart_run *r, struct record_opts *ro)
{
	ro->sample_root = sample_root;
	ro->hook_ctx = r;
	ro->unwind.probe_sites = r->t->sites;
	ro->unwind.nprobe_sites = r->t->nsites;
	ro->unwind.probe_hit = probe_hit;
	ro->unwind.probe_hit_ctx = r;
	ro->stop_hook = &r->stop;
	ro->tick = tick;
}
