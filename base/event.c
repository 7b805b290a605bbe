// SPDX-License-Identifier: MIT
/* Event names: the kernel's software events by the names perf and libpfm4
 * give them; every other name (PMU events where the hardware has them)
 * through libpfm4, loaded the first time one is asked for. Linked, libpfm4
 * costs every start of cgoprof its tables' 41 000 relocations: 7 ms of a
 * 10 ms `cgoprof --help`, a tenth of a short attach (bench/RESULTS.md). */
#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "cgoprof/perf.h"
#include <perfmon/pfmlib_perf_event.h>

#define PFM_SONAME "libpfm.so.4"

/* Names libpfm4 gives the same encoding (tests/unit/test_sample.c checks
 * each against it). */
static const struct {
	const char *name;
	uint64_t config;
} sw_events[] = {
	{ "cpu-clock", PERF_COUNT_SW_CPU_CLOCK },
	{ "task-clock", PERF_COUNT_SW_TASK_CLOCK },
	{ "page-faults", PERF_COUNT_SW_PAGE_FAULTS },
	{ "context-switches", PERF_COUNT_SW_CONTEXT_SWITCHES },
	{ "cpu-migrations", PERF_COUNT_SW_CPU_MIGRATIONS },
	{ "minor-faults", PERF_COUNT_SW_PAGE_FAULTS_MIN },
	{ "major-faults", PERF_COUNT_SW_PAGE_FAULTS_MAJ },
};

/* libpfm4's entry points, once loaded (its own state is global anyway). */
static struct {
	bool tried, ready;
	int (*version)(void);
	int (*encode)(const char *, int, pfm_os_t, void *);
} pfm;

static bool pfm_load(void)
{
	void *h;
	int (*init)(void);

	if (pfm.tried)
		return pfm.version != NULL;
	pfm.tried = true;
	h = dlopen(PFM_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return false;
	*(void **)&init = dlsym(h, "pfm_initialize");
	*(void **)&pfm.version = dlsym(h, "pfm_get_version");
	*(void **)&pfm.encode = dlsym(h, "pfm_get_os_event_encoding");
	if (!init || !pfm.version || !pfm.encode) {
		pfm.version = NULL;
		dlclose(h);
		return false;
	}
	/* kept loaded for the process's life */
	pfm.ready = init() == PFM_SUCCESS;
	return true;
}

int event__pfm_version(void)
{
	return pfm_load() ? pfm.version() : -ENOPKG;
}

int event__encode_pfm(const char *name, bool user_only,
		      struct perf_event_attr *attr)
{
	pfm_perf_encode_arg_t arg;
	struct perf_event_attr enc;

	if (!pfm_load())
		return -ENOPKG;
	if (!pfm.ready)
		return -EINVAL;
	memset(&arg, 0, sizeof(arg));
	memset(&enc, 0, sizeof(enc));
	enc.size = sizeof(enc);
	arg.attr = &enc;
	arg.size = sizeof(arg);
	if (pfm.encode(name, PFM_PLM3 | (user_only ? 0 : PFM_PLM0),
		       PFM_OS_PERF_EVENT_EXT, &arg) != PFM_SUCCESS)
		return -ENOENT;
	attr->type = enc.type;
	attr->config = enc.config;
	attr->config1 = enc.config1;
	attr->config2 = enc.config2;
	attr->exclude_kernel = enc.exclude_kernel || user_only;
	attr->exclude_hv = 1;
	return 0;
}

int event__encode(const char *name, bool user_only,
		  struct perf_event_attr *attr)
{
	for (size_t i = 0; i < sizeof(sw_events) / sizeof(sw_events[0]); i++) {
		if (strcmp(name, sw_events[i].name))
			continue;
		attr->type = PERF_TYPE_SOFTWARE;
		attr->config = sw_events[i].config;
		attr->config1 = 0;
		attr->config2 = 0;
		attr->exclude_kernel = user_only;
		attr->exclude_hv = 1;
		return 0;
	}
	return event__encode_pfm(name, user_only, attr);
}

bool event__is_time(const struct perf_event_attr *attr)
{
	return attr->type == PERF_TYPE_SOFTWARE &&
	       (attr->config == PERF_COUNT_SW_CPU_CLOCK ||
		attr->config == PERF_COUNT_SW_TASK_CLOCK);
}
