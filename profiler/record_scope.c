// SPDX-License-Identifier: MIT
/*
 * Where the timers run (the scope). A per-task cpu-clock event is a timer
 * that the kernel stops when its thread leaves the CPU and starts again
 * when it comes back: at every context switch, and a VM pays for each in
 * exits (a two-thread pipe ping-pong spent 18 us more a switch in the
 * kernel under such events here; Go's threads park and wake all the
 * time). Per-task events also cost an fd per thread and CPU, and the
 * kernel copies them into every new thread.
 *
 * So where the event is cpu-clock and the snapshot program loads, the
 * events are one a CPU for every process (pid -1, idle excluded), and
 * nothing is opened per task. The program drops each sample unless it is
 * a target's: the processes recorded, their children from their fork on
 * (its tracepoint programs keep its list as inherit would), a launched
 * command from its exec on (gosnap_targets.bpf.h). The same events carry
 * every process's mmap, comm, fork and exit records, of which the targets'
 * are used: this file keeps their tgids, and a target's fork record adds
 * its child (records are used in time order, so before the child's
 * first sample). The cost moves: a CPU's timer ticks whoever runs (the
 * program's check for other processes; an idle CPU takes the interrupt
 * and no sample), so on a large machine where the targets use few of its
 * CPUs, --scope thread can cost less.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgoprof/arena.h"
#include "cgoprof/gosnap.h"
#include "cgoprof/log.h"
#include "cgoprof/perf.h"
#include "cgoprof/procfs.h"
#include "cgoprof/record.h"
#include "record_internal.h"

static bool is_cpu_clock(const struct perf_event_attr *a)
{
	return a->type == PERF_TYPE_SOFTWARE &&
	       a->config == PERF_COUNT_SW_CPU_CLOCK;
}

/* Opens @a on every process on the first CPU that is online: 0, or
 * -errno of the first refusal that is not an offline CPU's. */
static int try_cpu_wide(struct record *r, struct perf_event_attr *a)
{
	for (int cpu = 0; cpu < r->ncpus; cpu++) {
		int fd = sys_perf_event_open(a, -1, cpu, -1,
					     PERF_FLAG_FD_CLOEXEC);

		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (errno != ENODEV)
			return -errno;
	}
	return -ENODEV;
}

/* Whether the launched command is cgoprof's own executable: its samples
 * would never start (gosnap_targets.bpf.h waits for another one). */
static bool runs_cgoprof(const struct record *r)
{
	char path[4096];
	struct stat a, b;

	return r->o.argv &&
	       procfs__which(r->o.argv[0], path, sizeof(path)) &&
	       !stat(path, &a) && !stat("/proc/self/exe", &b) &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* CPU scope (the file's head) where it can be had, else thread scope;
 * --scope cpu that cannot be had is an error. Loads the snapshot program
 * early, for its filter. */
int rec_choose_scope(struct record *r, struct record_error *e)
{
	const char *why = NULL;

	if (r->o.scope == RECORD_SCOPE_THREAD)
		return 0;
	/* the records of every process's mmaps, comms, forks and exits
	 * too (the targets' are used); no inherit: every process */
	r->cpu_attr = r->attr;
	r->cpu_attr.inherit = 0;
	r->cpu_attr.exclude_idle = 1;
	r->cpu_attr.disabled = 1;	/* enabled once the program is on */
	r->cpu_attr.enable_on_exec = 0;
	if (!is_cpu_clock(&r->attr))
		why = "only cpu-clock has one timer a CPU";
	else if (r->o.no_bpf)
		why = "--no-bpf: no program to keep the targets' samples";
	else if (runs_cgoprof(r))
		why = "the command is cgoprof itself";
	else if (rec_gosnap_load(r))
		why = r->stats.gosnap_off;
	else if (try_cpu_wide(r, &r->cpu_attr))
		why = "a CPU-wide event is refused (needs CAP_PERFMON)";
	/* last: from here on the program drops all but the targets' */
	else if (gosnap__filter(r->gosnap))
		why = "the tracepoints that follow the targets cannot be attached";
	if (why) {
		pr_debug("sampling: one timer a thread: %s", why);
		if (r->o.scope == RECORD_SCOPE_CPU) {
			e->stage = RECORD_STAGE_SCOPE;
			e->err = EINVAL;
			e->why = why;
			return -EINVAL;
		}
		r->stats.thread_scope_why = why;
		return 0;
	}
	r->stats.cpu_scope = true;
	return 0;
}

/* CPU scope: the events, one a CPU, disabled, each mapping its CPU's ring
 * (the per-task ones of probes and the program's outputs go into it). A
 * CPU offline now is left out. */
int rec_open_cpu_events(struct record *r, struct record_error *e)
{
	for (int cpu = 0; r->stats.cpu_scope && cpu < r->ncpus; cpu++) {
		int fd, err;

		fd = sys_perf_event_open(&r->cpu_attr, -1, cpu, -1,
					 PERF_FLAG_FD_CLOEXEC);
		if (fd < 0 && errno == ENODEV)
			continue;
		if (fd >= 0 && rec_fd_in_reserve(fd)) {
			close(fd);
			fd = -1;
			errno = EMFILE;
		}
		if (fd < 0) {
			e->stage = RECORD_STAGE_OPEN;
			e->err = errno;
			e->pid = -1;
			return -e->err;
		}
		err = rec_add_fd(r, fd);
		if (err) {
			close(fd);
			return err;
		}
		err = rec_route_to_ring(r, cpu, fd, e);
		if (err)
			return err;
	}
	return 0;
}

/* CPU scope: the program on each event, then the event on: no other
 * process's sample is ever kept. */
int rec_enable_cpu_events(struct record *r, struct record_error *e)
{
	if (!r->stats.cpu_scope)
		return 0;
	if (!r->stats.gosnap_on) {
		/* the program loaded, its output events did not open */
		e->stage = RECORD_STAGE_SCOPE;
		e->err = EINVAL;
		e->why = r->stats.gosnap_off;
		return -EINVAL;
	}
	for (int cpu = 0; cpu < r->ncpus; cpu++) {
		int fd = r->rings[cpu].fd;

		if (fd < 0)
			continue;
		if (ioctl(fd, PERF_EVENT_IOC_SET_BPF,
			  gosnap__prog_fd(r->gosnap)) ||
		    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0)) {
			e->stage = RECORD_STAGE_OPEN;
			e->err = errno;
			e->pid = -1;
			return -e->err;
		}
	}
	return 0;
}

static size_t target_pos(const struct record *r, uint32_t tgid)
{
	size_t lo = 0, hi = r->ntargets;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->targets[mid] < tgid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool rec_is_target(const struct record *r, uint32_t tgid)
{
	size_t k;

	if (!r->stats.cpu_scope)
		return true;
	k = target_pos(r, tgid);
	return k < r->ntargets && r->targets[k] == tgid;
}

int rec_target_add(struct record *r, uint32_t tgid, uint32_t state)
{
	size_t k = target_pos(r, tgid);
	int err;

	if (k < r->ntargets && r->targets[k] == tgid)
		return 0;
	if (array__grow((void **)&r->targets, &r->cap_targets, r->ntargets + 1,
			sizeof(*r->targets), 16))
		return -ENOMEM;
	/* the program's list first: a fork's child is in it already */
	if (state) {
		err = gosnap__target(r->gosnap, tgid, state);
		if (err)
			return err;
	}
	memmove(r->targets + k + 1, r->targets + k,
		(r->ntargets - k) * sizeof(*r->targets));
	r->targets[k] = tgid;
	r->ntargets++;
	return 0;
}
