// SPDX-License-Identifier: MIT
/* A recording session: its events, rings, the launched command and the
 * loop that reads them (records are used in record_events.c, the Go-aware
 * probes and snapshots are in record_go.c). With one timer a CPU (where
 * the snapshot program loads: record_scope.c), the sampling events are one
 * a CPU for every process. With one timer a thread, they are per (thread,
 * CPU) in attach mode and per CPU on the launched child in launch mode,
 * always with inherit=1 so that threads and children created later are
 * sampled too; the kernel refuses to mmap inherited per-task (cpu == -1)
 * events, hence per-CPU events. Either way one ring per CPU; the other
 * events of a CPU write into that ring (PERF_EVENT_IOC_SET_OUTPUT). */
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
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgoprof/arena.h"
#include "cgoprof/cache.h"
#include "cgoprof/gosnap.h"
#include "cgoprof/kallsyms.h"
#include "cgoprof/log.h"
#include "cgoprof/procfs.h"
#include "cgoprof/record.h"
#include "cgoprof/stacks.h"
#include "cgoprof/uprobe.h"
#include "record_internal.h"

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
	r->cache = o->cache ? o->cache : elf_cache__new();
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

		if (rec_add_site(r, ps->dev, ps->ino, ps->off)) {
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

static void end_child_now(struct record *r)
{
	kill(r->child, SIGKILL);
	while (waitpid(r->child, &r->child_status, 0) < 0 && errno == EINTR)
		;
	r->child_done = true;
}

int record__end_child(struct record *r)
{
	double grace = r->o.kill_after ? r->o.kill_after : RECORD_KILL_AFTER;
	uint64_t deadline;

	if (r->child <= 0 || r->child_done)
		return record__child_status(r);
	if (!r->t_term) {
		kill(r->child, SIGTERM);
		r->t_term = clock__ns(CLOCK_MONOTONIC);
	}
	deadline = r->t_term + (grace > 0 ? (uint64_t)(grace * 1e9) : 0);
	for (;;) {
		struct timespec ts = { 0, 10000000 };
		pid_t w = waitpid(r->child, &r->child_status, WNOHANG);

		if (w == r->child) {
			r->child_done = true;
			break;
		}
		if (w < 0 && errno != EINTR) {
			r->child_done = true;	/* not ours to wait for */
			r->child_status = -1;
			break;
		}
		if (clock__ns(CLOCK_MONOTONIC) >= deadline) {
			pr_warn("'%s' still ran %.1f s after SIGTERM: SIGKILL",
				r->o.argv[0], grace > 0 ? grace : 0.0);
			end_child_now(r);
			break;
		}
		nanosleep(&ts, NULL);
	}
	return record__child_status(r);
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
		/* a command the loop sent SIGTERM has its grace; one that
		 * never ran (an error before the loop) none */
		if (r->t_term)
			record__end_child(r);
		else
			end_child_now(r);
	}
	free(r->fds);
	free(r->rings);
	free(r->pending);
	if (r->probe_ids)
		rec_probe_close(r, 0);
	free(r->probe_ids);
	free(r->ms_bins);
	free(r->sites);
	for (size_t i = 0; i < r->ncgo; i++)
		for (int k = 0; k < CGOPROF_SNAPSHOT_REGIONS; k++)
			free(r->cgo[i].snap_rec[k]);
	free(r->cgo);
	htab__release(&r->cgo_index);
	gosnap__close(r->gosnap);
	free(r->tids_opened);
	free(r->targets);
	stack_table__release(&r->stacks);
	procmap__free(r->pm);
	if (r->cache != r->o.cache)
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
	return 0;
}

/* Whether this process may load the snapshot program: CAP_BPF and
 * CAP_PERFMON (root has them). */
static bool bpf_capable(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2] = { 0 };

	if (syscall(SYS_capget, &h, d))
		return geteuid() == 0;
	/* CAP_BPF (39) and CAP_PERFMON (38): the second word's bits */
	return (d[1].effective & (1u << (39 - 32))) &&
	       (d[1].effective & (1u << (38 - 32)));
}

/* How often the reader is woken. Where goroutine snapshots will carry the
 * stacks of samples in cgo calls (the program loads for a capable user,
 * and --no-bpf was not given), once a quarter of the ring waits, at most
 * CGOPROF_WAKEUP_BYTES above the default rate (a burst of samples at
 * start-up, before the reader has its binaries open, must not fill the
 * ring): on a VM a wake-up's context switch cost more than the rest of
 * the reader's work on a sample. Otherwise at every sample:
 * samples are unwound soon after they are taken, while the stacks live
 * reads look at are still frozen; so too if the program then fails to
 * load (record__loop() then wakes every CGOPROF_LIVE_POLL_MS), and where a
 * tick hook runs at each sample (coldstart's --ready). */
static void set_wakeup(struct record *r)
{
	struct perf_event_attr *a = &r->attr;
	size_t pages = r->o.mmap_pages ? r->o.mmap_pages : CGOPROF_DEFAULT_PAGES;
	uint64_t ring = (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);

	a->watermark = 1;
	a->wakeup_watermark = r->o.stack_size + 512;
	r->batched = false;
	if (!r->o.no_bpf && !r->o.tick && bpf_capable() &&
	    ring / 4 > a->wakeup_watermark) {
		uint64_t most = r->o.freq && r->o.freq <= CGOPROF_WAKEUP_FREQ
				? UINT32_MAX : CGOPROF_WAKEUP_BYTES;

		a->wakeup_watermark = (uint32_t)(ring / 4 < most ? ring / 4
								 : most);
		r->batched = true;
	}
}

int rec_add_fd(struct record *r, int fd)
{
	if (array__grow((void **)&r->fds, &r->cap_fds, r->nfds + 1,
			sizeof(*r->fds), 64))
		return -ENOMEM;
	r->fds[r->nfds++] = fd;
	return 0;
}


/*
 * Event fds leave this many fds free for what the recording still needs:
 * the binaries the unwinder reads during recording (one fd each), the
 * /proc files, kallsyms, and the outputs' temporary files. An event that
 * would take one of them fails with EMFILE ("too many open files") at
 * attach, rather than a recording whose binaries cannot be opened.
 */
#define FD_RESERVE 16

bool rec_fd_in_reserve(int fd)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return false;
	return (rlim_t)fd + FD_RESERVE >= rl.rlim_cur;
}



/* Opens @a for @pid (-1: every process) on @cpu, writing into that CPU's
 * ring, and files its id under @kind, for thread @pid (0 when -1). Not in
 * fds[]: a per-thread one is closed when its thread ends. The fd, or
 * -errno (-EMFILE when it would take one of the reserved fds). */
int rec_open_into_ring(struct record *r, struct perf_event_attr *a,
			  pid_t pid, int cpu, int kind)
{
	uint64_t id;
	int fd, err;

	fd = sys_perf_event_open(a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (rec_fd_in_reserve(fd)) {
		close(fd);
		return -EMFILE;
	}
	if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, r->rings[cpu].fd) ||
	    ioctl(fd, PERF_EVENT_IOC_ID, &id)) {
		err = -errno;
		close(fd);
		return err;
	}
	err = rec_add_probe_id(r, id, kind, fd, pid > 0 ? (uint32_t)pid : 0);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Closes @fd, opened by rec_open_into_ring(), and forgets its id. */
void rec_close_in_ring(struct record *r, int fd)
{
	for (size_t k = 0; k < r->nprobe_ids; k++)
		if (r->probe_ids[k].fd == fd)
			r->probe_ids[k].fd = -1;
	close(fd);
}


/* Routes event @fd, opened on @cpu, to that CPU's ring: the ring is
 * mapped on the first event of a CPU, the others write into it. */
int rec_route_to_ring(struct record *r, int cpu, int fd,
		      struct record_error *e)
{
	size_t pages = r->o.mmap_pages ? r->o.mmap_pages : CGOPROF_DEFAULT_PAGES;
	struct cpu_ring *cr = &r->rings[cpu];
	int err;

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

/* Thread scope: opens the sampling event for @pid on @cpu and routes it
 * to that CPU's ring. */
static int open_one(struct record *r, pid_t pid, int cpu,
		    struct record_error *e)
{
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
	if (fd >= 0 && rec_fd_in_reserve(fd)) {
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
	err = rec_add_fd(r, fd);
	if (err) {
		close(fd);
		return err;
	}
	/* an event opened once the recording runs (a new thread): the
	 * program (rec_gosnap_setup() attaches it to those opened before) */
	if (r->gosnap && r->stats.gosnap_on)
		ioctl(fd, PERF_EVENT_IOC_SET_BPF, gosnap__prog_fd(r->gosnap));
	return rec_route_to_ring(r, cpu, fd, e);
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
	rec_probe_prepare(r, path);
	if (r->stats.cpu_scope) {
		err = rec_target_add(r, (uint32_t)pid, GOSNAP_TARGET_ON);
		if (err) {
			e->stage = RECORD_STAGE_OPEN;
			e->err = -err;
			e->pid = pid;
			return err;
		}
	}

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
				/* CPU scope: the CPU-wide events sample it */
				err = r->stats.cpu_scope ? 0
						   : open_one(r, (pid_t)tid, cpu, e);
				if (err == -ESRCH && tid != (uint32_t)pid)
					break; /* the thread just ended */
				if (err) {
					closedir(d);
					return err;
				}
				rec_probe_open(r, (pid_t)tid, cpu);
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
		rec_morestack_prepare(r, (uint32_t)pid);
	return err;
}

/* In the child: stdout and stderr to /dev/null. */
static void rec_quiet_fds(void)
{
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static int launch(struct record *r, struct record_error *e)
{
	int go[2], status[2], err, n, child_errno = 0;
	char resolved[4096];

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
		/* wait until the events are open; EOF means give up (a
		 * signal cgoprof catches is not a reason: cgoprof ends the
		 * recording, and this command with it) */
		while ((n = (int)read(go[0], &c, 1)) < 0 && errno == EINTR)
			;
		if (n != 1)
			_exit(127);
		/* the command's own SIGPIPE, not the one cgoprof ignores */
		signal(SIGPIPE, SIG_DFL);
		if (r->o.quiet_command)
			rec_quiet_fds();
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
	if (procfs__which(r->o.argv[0], resolved, sizeof(resolved)))
		rec_probe_prepare(r, resolved);
	else
		resolved[0] = '\0';
	/* CPU scope: the child's samples from its exec on */
	err = r->stats.cpu_scope ? rec_target_add(r, (uint32_t)r->child,
					    GOSNAP_TARGET_AT_EXEC)
			   : 0;
	if (!err)
		err = rec_open_cpu_events(r, e);
	for (int cpu = 0; !err && cpu < r->ncpus; cpu++) {
		err = r->stats.cpu_scope ? 0 : open_one(r, r->child, cpu, e);
		if (!err)
			rec_probe_open(r, r->child, cpu);
	}
	if (err) {
		if (!e->stage) {
			e->stage = RECORD_STAGE_OPEN;
			e->err = -err;
		}
		close(status[0]);
		return err;
	}
	procmap__proc(r->pm, (uint32_t)r->child, true);
	rec_gosnap_setup(r);
	if (resolved[0])
		rec_gosnap_preset(r, r->child, resolved);
	err = rec_enable_cpu_events(r, e);
	if (err) {
		close(status[0]);
		return err;
	}
	r->t_start = clock__ns(CLOCK_MONOTONIC);
	r->wall_start = clock__ns(CLOCK_REALTIME);
	if (write(r->go_fd, "g", 1) != 1) {
		/* the command died before it could exec: say of what */
		err = -errno;
		close(status[0]);
		close(r->go_fd);
		r->go_fd = -1;
		if (waitpid(r->child, &r->child_status, 0) == r->child) {
			r->child_done = true;
			e->status = r->child_status;
		}
		e->stage = RECORD_STAGE_START;
		e->err = -err;
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
	e->status = -1;
	err = build_attr(r, e);
	if (err)
		return err;
	set_wakeup(r);
	err = rec_choose_scope(r, e);
	if (err)
		return err;
	if (r->o.argv) {
		err = launch(r, e);
		goto out;
	}
	err = rec_open_cpu_events(r, e);
	for (int i = 0; !err && i < r->o.npids; i++)
		err = attach_pid(r, r->o.pids[i], e);
	if (err)
		goto out;
	rec_gosnap_setup(r);
	err = rec_enable_cpu_events(r, e);
	if (err)
		goto out;
	r->t_start = clock__ns(CLOCK_MONOTONIC);
	r->wall_start = clock__ns(CLOCK_REALTIME);
out:
	/* every failure names its cause (ENOMEM of an array, a /proc read) */
	if (err && !e->err)
		e->err = -err;
	return err;
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

static void rec_progress(struct record *r, uint64_t now, bool done)
{
	r->o.progress(r->o.progress_ctx, (double)(now - r->t_start) / 1e9,
		      &r->stats, r->ntids + (size_t)r->stats.threads_seen,
		      done);
}

int record__loop(struct record *r)
{
	struct pollfd *pfd = calloc((size_t)r->ncpus + (size_t)r->o.npids + 1,
				    sizeof(*pfd));
	uint64_t deadline = 0, last_progress = 0, last_check = 0, runs, ns;
	int n = 0, nrings, npidfds = 0;

	if (!pfd)
		return -ENOMEM;
	for (int i = 0; i < r->ncpus; i++) {
		if (r->rings[i].fd < 0)
			continue;
		pfd[n].fd = r->rings[i].fd;
		pfd[n++].events = POLLIN;
	}
	nrings = n;
	/* A pidfd for each attached process, or the launched command (5.3),
	 * readable when it ends, so that /proc is read (the command waited
	 * for) only then, not every 50 ms; with one timer a CPU the rings
	 * never hang up, and this is how the command's end is seen. Any
	 * refused: the periodic checks. */
	for (int i = 0; i < (r->o.argv ? 1 : r->o.npids); i++) {
		int fd = (int)syscall(SYS_pidfd_open,
				      r->o.argv ? r->child : r->o.pids[i], 0);

		if (fd < 0) {
			for (int k = nrings; k < n; k++)
				close(pfd[k].fd);
			n = nrings;
			npidfds = 0;
			break;
		}
		pfd[n].fd = fd;
		pfd[n++].events = POLLIN;
		npidfds++;
	}
	if (r->o.duration > 0)
		deadline = r->t_start + (uint64_t)(r->o.duration * 1e9);
	for (;;) {
		uint64_t now;
		bool ended, hup = false;

		/* woken in batches without the snapshots they were for:
		 * live reads must not wait long */
		poll(pfd, (nfds_t)n,
		     r->batched && !r->stats.gosnap_on ? CGOPROF_LIVE_POLL_MS
						       : 50);
		for (int k = 0; k < nrings; k++)
			hup |= (pfd[k].revents & POLLHUP) != 0;
		now = clock__ns(CLOCK_MONOTONIC);
		/* before the samples: what the hook waits for (a --ready
		 * hit, the memory then) is not delayed by their unwinding */
		if (r->o.tick)
			r->o.tick(r->o.hook_ctx);
		rec_drain(r, now - CGOPROF_ORDER_HORIZON_NS);
		if (r->o.progress && now - last_progress > 250000000ULL) {
			rec_progress(r, now, false);
			last_progress = now;
		}
		if ((r->o.stop && *r->o.stop) ||
		    (r->o.stop_hook && *r->o.stop_hook))
			break;
		if (deadline && now >= deadline)
			break;
		/* A ring polls as hung up from the time its first event's
		 * threads have all ended, ready at once from then on: the
		 * targets are checked now (a launched command's end is not
		 * waited for until the next check below, polling in a busy
		 * loop), and while they go on, the loop sleeps instead. */
		if (hup) {
			struct timespec ts = { 0, CGOPROF_LIVE_POLL_MS * 1000000L };

			if (targets_ended(r))
				break;
			nanosleep(&ts, NULL);
		}
		/* reading /proc at every wake-up (one per sample) costs more
		 * than the samples: every 50 ms is soon enough, or when a
		 * pidfd says a process ended */
		if (npidfds) {
			bool any = false;

			/* an ended process's pidfd stays readable: out of
			 * the poll set once seen (poll skips fd -1) */
			for (int k = nrings; k < n; k++) {
				if (pfd[k].fd < 0 || !(pfd[k].revents &
						       (POLLIN | POLLHUP | POLLERR)))
					continue;
				close(pfd[k].fd);
				pfd[k].fd = -1;
				any = true;
			}
			if (any && targets_ended(r))
				break;
		} else if (now - last_check >= 50000000ULL) {
			last_check = now;
			ended = targets_ended(r);
			if (ended)
				break;
		}
	}
	for (int k = nrings; k < n; k++)
		if (pfd[k].fd >= 0)
			close(pfd[k].fd);
	/* stop sampling, then read what is left */
	for (size_t i = 0; i < r->nfds; i++)
		ioctl(r->fds[i], PERF_EVENT_IOC_DISABLE, 0);
	rec_drain(r, 0);
	r->t_end = clock__ns(CLOCK_MONOTONIC);
	r->stats.ns_elapsed = r->t_end - r->t_start;
	if (r->o.progress)
		rec_progress(r, r->t_end, true);
	if (r->o.argv && !r->child_done) {
		/* the recording ended first: end the command as perf does,
		 * without waiting for it (record__end_child(), after the
		 * outputs) */
		kill(r->child, SIGTERM);
		r->t_term = clock__ns(CLOCK_MONOTONIC);
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
	rec_probe_close(r, 0);
	free(pfd);
	/* the events are closed: the program has run for the last time */
	if (r->stats.cpu_scope)
		r->stats.targets_full += gosnap__targets_full(r->gosnap);
	if (r->gosnap && !gosnap__run_stats(r->gosnap, &runs, &ns) &&
	    runs >= r->bpf_runs0 && ns >= r->bpf_ns0) {
		r->stats.bpf_runs = runs - r->bpf_runs0;
		r->stats.bpf_ns = ns - r->bpf_ns0;
	}
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
		.notes = rec_snapshot_notes(r),
	};
	struct kallsyms *k = NULL;
	struct profile *p;

	if (!r->o.no_kernel && !r->stats.user_only_fallback) {
		uint64_t *pcs = NULL;
		size_t n = stack_table__kernel_pcs(&r->stacks, &pcs);

		/* what the table lacks is named [kernel.kallsyms] */
		if (pcs) {
			struct cache_opts o;
			bool hit = false;

			cache_opts__default(&o);
			k = kallsyms__new_cached(NULL, &o, pcs, n, &hit);
			pr_info("kernel names: %zu addresses, %s", n,
				hit ? "all from the cache of this boot's"
				    : "from /proc/kallsyms");
		}
		free(pcs);
	}
	p = stack_table__resolve(&r->stacks, r->pm, k, &meta);
	kallsyms__free(k);
	return p;
}
