// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <time.h>

#include "cgoprof/procfs.h"
#include "cgoprof/uprobe.h"

int uprobe__pmu_type(void)
{
	int type = procfs__read_int("/sys/bus/event_source/devices/uprobe/type");

	return type < 0 ? -ENOENT : type;
}

int uprobe__attr(struct perf_event_attr *a, const char *path,
		 uint64_t offset, uint64_t sample_type)
{
	int type = uprobe__pmu_type();

	memset(a, 0, sizeof(*a));
	if (type < 0)
		return type;
	a->size = sizeof(*a);
	a->type = (uint32_t)type;
	a->config1 = (uint64_t)(uintptr_t)path;
	a->config2 = offset;
	a->sample_period = 1;
	a->sample_type = sample_type;
	a->inherit = 0;
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
	return 0;
}
