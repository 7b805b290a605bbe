// SPDX-License-Identifier: MIT
/* Event names through libpfm4, so every PMU event it knows works where the
 * hardware has it; software events work everywhere. */
#include <errno.h>
#include <string.h>

#include "cgoprof/perf.h"
#include <perfmon/pfmlib_perf_event.h>

int event__encode(const char *name, bool user_only,
		  struct perf_event_attr *attr)
{
	static int pfm_ready; /* libpfm4's own state is global anyway */
	pfm_perf_encode_arg_t arg;
	struct perf_event_attr enc;
	int ret;

	if (!pfm_ready) {
		if (pfm_initialize() != PFM_SUCCESS)
			return -EINVAL;
		pfm_ready = 1;
	}
	memset(&arg, 0, sizeof(arg));
	memset(&enc, 0, sizeof(enc));
	enc.size = sizeof(enc);
	arg.attr = &enc;
	arg.size = sizeof(arg);
	ret = pfm_get_os_event_encoding(name,
					PFM_PLM3 | (user_only ? 0 : PFM_PLM0),
					PFM_OS_PERF_EVENT_EXT, &arg);
	if (ret != PFM_SUCCESS)
		return -ENOENT;
	attr->type = enc.type;
	attr->config = enc.config;
	attr->config1 = enc.config1;
	attr->config2 = enc.config2;
	attr->exclude_kernel = enc.exclude_kernel || user_only;
	attr->exclude_hv = 1;
	return 0;
}

bool event__is_time(const struct perf_event_attr *attr)
{
	return attr->type == PERF_TYPE_SOFTWARE &&
	       (attr->config == PERF_COUNT_SW_CPU_CLOCK ||
		attr->config == PERF_COUNT_SW_TASK_CLOCK);
}
