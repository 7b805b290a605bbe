// SPDX-License-Identifier: MIT
/*
 * Loads the exec watch (execwatch.bpf.c: what it does and why) through
 * its libbpf skeleton and reads its ring buffer. The watched files are
 * keyed by device and inode in the kernel's dev_t encoding (major << 20 |
 * minor), which is not stat()'s.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgoprof/bpf_log.h"
#include "cgoprof/btf_min.h"
#include "cgoprof/execwatch.h"
#include "cgoprof/log.h"
#include "cgoprof/perf.h"
#include "execwatch.skel.h"

struct execwatch {
	struct execwatch_bpf *skel;
	struct ring_buffer *rb;
	int task_hooks;		/* hold_task_hooks(); -1 none */
	struct execwatch_event pending[16];
	unsigned npending;
};

/* A disabled dummy event on this process, open while the watch is: the
 * kernel turns its context-switch hooks on at the first task-bound event,
 * waiting for an RCU grace period then (~12 ms on a 2-CPU VM), and off a
 * second after the last one closed. With this one open, the events of a
 * caught start do not wait while it is held. -1 where it cannot be
 * opened: nothing is lost but that wait. */
static int hold_task_hooks(void)
{
	struct perf_event_attr a = {
		.size = sizeof(a),
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_DUMMY,
		.disabled = 1,
	};

	return sys_perf_event_open(&a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

/* The key of @path: a regular file with an execute bit, opened without
 * following it into a FIFO or device. 0 or -errno and @why. */
static int file_key(const char *path, struct execwatch_key *k,
		    const char **why)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		*why = errno == ENOENT ? "no such file" : "cannot be opened";
		return -errno;
	}
	if (fstat(fd, &st)) {
		*why = "cannot be read";
		close(fd);
		return -errno;
	}
	close(fd);
	if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		return -EISDIR;
	}
	if (!(st.st_mode & 0111)) {
		*why = "not executable";
		return -EACCES;
	}
	k->dev = (uint64_t)major(st.st_dev) << 20 | minor(st.st_dev);
	k->ino = st.st_ino;
	return 0;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct execwatch *w = ctx;

	if (size < sizeof(struct execwatch_event))
		return 0;
	if (w->npending == sizeof(w->pending) / sizeof(w->pending[0])) {
		/* no room: a stopped process is never left stopped */
		struct execwatch_event *ev = data;

		if (ev->stopped)
			execwatch__resume((pid_t)ev->pid);
		return 0;
	}
	memcpy(&w->pending[w->npending++], data, sizeof(w->pending[0]));
	return 0;
}

/* What the program's CO-RE relocations read (execwatch.bpf.c,
 * bpf/vmlinux.h); see gosnap.c. */
static const struct btf_min_field core_fields[] = {
	{ "task_struct", "mm" },	{ "mm_struct", "exe_file" },
	{ "file", "f_inode" },		{ "inode", "i_ino" },
	{ "inode", "i_sb" },		{ "super_block", "s_dev" },
};

/* The program, loaded; NULL with errno. With @min_btf, relocated against
 * the few kernel types it reads (btf_min.h). */
static struct execwatch_bpf *load(bool min_btf)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct execwatch_bpf *skel;
	char btf_path[32];
	int btf_fd = -1, err;

	if (min_btf &&
	    !btf_min__custom_path(core_fields,
				  sizeof(core_fields) / sizeof(*core_fields),
				  btf_path, sizeof(btf_path), &btf_fd))
		opts.btf_custom_path = btf_path;
	skel = execwatch_bpf__open_opts(&opts);
	err = skel ? execwatch_bpf__load(skel) : -errno;
	if (btf_fd >= 0)
		close(btf_fd);
	if (err) {
		execwatch_bpf__destroy(skel);
		errno = -err;
		return NULL;
	}
	return skel;
}

struct execwatch *execwatch__open(const char *const *paths, int n, int *err,
				  const char **why)
{
	struct execwatch *w;
	uint64_t armed = 1;
	uint32_t zero = 0;

	*why = NULL;
	if (n < 1 || n > EXECWATCH_MAX_FILES) {
		*err = -EINVAL;
		*why = "too many files to watch";
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		*err = -ENOMEM;
		return NULL;
	}
	w->task_hooks = hold_task_hooks();
	bpf_log__init();
	w->skel = load(true);
	if (!w->skel && errno != EPERM) {
		pr_debug("exec watch refused with the kernel's types cut out "
			 "of its BTF: with the whole");
		w->skel = load(false);
	}
	if (!w->skel) {
		*err = -errno;
		*why = *err == -EPERM ? "BPF programs may not be loaded (needs "
					"root, or CAP_BPF and CAP_PERFMON)"
				      : "the kernel refused the exec watch "
					"(BPF, raw tracepoint sched_process_exec)";
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		struct execwatch_key k;
		uint32_t idx = (uint32_t)i;

		*err = file_key(paths[i], &k, why);
		if (*err)
			goto fail;
		if (bpf_map_update_elem(bpf_map__fd(w->skel->maps.cgoprof_exec_files),
					&k, &idx, BPF_ANY)) {
			*err = -errno;
			*why = "the watched files' map";
			goto fail;
		}
	}
	w->rb = ring_buffer__new(bpf_map__fd(w->skel->maps.cgoprof_exec_events),
				 on_event, w, NULL);
	if (!w->rb) {
		*err = -errno;
		*why = "the exec watch's ring buffer";
		goto fail;
	}
	if (execwatch_bpf__attach(w->skel)) {
		*err = -errno;
		*why = *err == -EPERM ? "the exec tracepoint may not be attached "
					"(needs root, or CAP_BPF and CAP_PERFMON)"
				      : "the exec tracepoint cannot be attached";
		goto fail;
	}
	if (bpf_map_update_elem(bpf_map__fd(w->skel->maps.cgoprof_exec_state),
				&zero, &armed, BPF_ANY)) {
		*err = -errno;
		*why = "the exec watch's state";
		goto fail;
	}
	return w;
fail:
	if (!*err)
		*err = -EINVAL;
	execwatch__close(w);
	return NULL;
}

void execwatch__close(struct execwatch *w)
{
	if (!w)
		return;
	if (w->skel)
		execwatch_bpf__detach(w->skel);
	/* the starts the program stopped after the last read */
	if (w->rb)
		ring_buffer__consume(w->rb);
	for (unsigned i = 0; i < w->npending; i++)
		if (w->pending[i].stopped)
			execwatch__resume((pid_t)w->pending[i].pid);
	ring_buffer__free(w->rb);
	execwatch_bpf__destroy(w->skel);
	if (w->task_hooks >= 0)
		close(w->task_hooks);
	free(w);
}

int execwatch__next(struct execwatch *w, struct execwatch_event *ev,
		    int timeout_ms)
{
	int err;

	if (!w->npending) {
		err = ring_buffer__poll(w->rb, timeout_ms);
		if (err < 0)
			return err == -EINTR ? -EINTR : err;
		if (!w->npending)
			return 0;
	}
	*ev = w->pending[0];
	memmove(&w->pending[0], &w->pending[1],
		--w->npending * sizeof(w->pending[0]));
	return 1;
}

int execwatch__arm(struct execwatch *w)
{
	uint64_t armed = 1;
	uint32_t zero = 0;

	return bpf_map_update_elem(bpf_map__fd(w->skel->maps.cgoprof_exec_state),
				   &zero, &armed, BPF_ANY)
		       ? -errno
		       : 0;
}

int execwatch__resume(pid_t pid)
{
	return kill(pid, SIGCONT) ? -errno : 0;
}

uint64_t execwatch__missed(const struct execwatch *w)
{
	uint64_t v = 0;
	uint32_t one = 1;

	bpf_map_lookup_elem(bpf_map__fd(w->skel->maps.cgoprof_exec_state), &one,
			    &v);
	return v;
}
