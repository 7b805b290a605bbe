// SPDX-License-Identifier: MIT
/* User-facing error text shared by the subcommands (record, mem,
 * coldstart): one wording for one failure, as perf's evsel__open_strerror.
 * CLI code: it prints. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgoprof/record.h"
#include "internal.h"

void cli__error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cgoprof: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli__open_error(const struct record_error *e, const char *event,
		     const char *command)
{
	switch (e->stage) {
	case RECORD_STAGE_EVENT:
		if (e->err == ENOENT)
			cli__error("unknown event '%s' (try cpu-clock, task-clock, "
			      "page-faults or context-switches)",
			      event);
		else
			cli__error("cannot initialise libpfm4 to parse event '%s'",
			      event);
		return;
	case RECORD_STAGE_PID:
		cli__error("no such process: %d", e->pid);
		return;
	case RECORD_STAGE_EXEC:
		if (e->err == ENOENT)
			cli__error("command not found: '%s'", command);
		else
			cli__error("cannot run '%s': %s", command,
				   strerror(e->err));
		return;
	case RECORD_STAGE_MMAP:
		cli__error("cannot map the ring buffer: %s (try a smaller "
		      "--mmap-pages, or raise /proc/sys/kernel/"
		      "perf_event_mlock_kb)",
		      strerror(e->err));
		return;
	case RECORD_STAGE_OPEN:
		if (e->err == EACCES || e->err == EPERM) {
			cli__error("not permitted to profile pid %d: %s\n"
			      "  perf_event_open needs CAP_PERFMON (or "
			      "CAP_SYS_ADMIN), or a\n"
			      "  /proc/sys/kernel/perf_event_paranoid low enough "
			      "for your user\n"
			      "  (2: own processes, user space only; 1: with "
			      "kernel; -1: all), and\n"
			      "  ptrace access to the target (same user, or "
			      "CAP_SYS_PTRACE)",
			      e->pid, strerror(e->err));
		} else if ((e->err == ENOENT || e->err == EOPNOTSUPP ||
			    e->err == ENODEV) &&
			   e->perf_type == 0) {
			cli__error("event '%s' needs a hardware PMU, which this machine "
			      "does not have (a VM without PMU passthrough?); use "
			      "-e cpu-clock",
			      event);
		} else if (e->err == ENOENT || e->err == EOPNOTSUPP) {
			cli__error("event '%s' is not supported here: %s", event,
			      strerror(e->err));
		} else if (e->err == EMFILE) {
			cli__error("too many open files (one per thread and CPU): "
			      "raise 'ulimit -n'");
		} else if (e->err == EINVAL) {
			cli__error("the kernel refused event '%s' with these settings "
			      "(-F too high for kernel.perf_event_max_sample_rate? "
			      "--stack-size too large?): %s",
			      event, strerror(e->err));
		} else {
			cli__error("perf_event_open for '%s': %s", event,
			      strerror(e->err));
		}
		return;
	default:
		cli__error("cannot start: %s", strerror(e->err));
	}
}


int cli__parse_u64(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long x;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*v = x;
	return 0;
}

/* An output path can be created: check before recording, not after. */
int cli__check_output(const char *path)
{
	char *dir, *slash;
	int ok;

	if (!strcmp(path, "-"))
		return 0;
	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	else
		strcpy(dir, ".");
	ok = !access(dir, W_OK);
	if (ok && !access(path, F_OK) && access(path, W_OK))
		ok = 0;
	free(dir);
	return ok ? 0 : -EACCES;
}
