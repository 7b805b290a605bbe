/* Uprobes through the uprobe PMU (perf_event_open, no tracefs, no ptrace):
 * the one place that knows how their attribute is laid out. Used by the
 * recording's cgo and morestack probes and by coldstart's phase probes. */
#ifndef CGOPROF_UPROBE_H
#define CGOPROF_UPROBE_H

#include <stdint.h>

#include "cgoprof/perf.h"

/* The uprobe PMU's perf type, or -ENOENT when the kernel has none. */
int uprobe__pmu_type(void);

/* Fills @a (zeroed first) for a uprobe at file offset @offset of @path,
 * sampled at every hit with @sample_type, times in CLOCK_MONOTONIC. The
 * kernel reads @path at perf_event_open only, in the opener's address
 * space: it must live until then, and the event must not be inherited (a
 * new thread of the target would make the kernel read the pointer in the
 * target). 0, or -ENOENT when there is no uprobe PMU. */
int uprobe__attr(struct perf_event_attr *a, const char *path,
		 uint64_t offset, uint64_t sample_type);

#endif
