// SPDX-License-Identifier: MIT
#include <sys/syscall.h>
#include <unistd.h>

#include "cgoprof/perf.h"

int sys_perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu,
			int group_fd, unsigned long flags)
{
	return (int)syscall(SYS_perf_event_open, attr, pid, cpu, group_fd,
			    flags);
}
