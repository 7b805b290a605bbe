// SPDX-License-Identifier: MIT
#include <stdatomic.h>

#include "cgoprof/log.h"

/* Set by the CLI while other threads (mem's sampler) may log: atomic. */
static _Atomic(log_fn_t) log_fn;

void log__set_fn(log_fn_t fn)
{
	atomic_store(&log_fn, fn);
}

void log__printf(enum log_level level, const char *fmt, ...)
{
	log_fn_t fn = atomic_load(&log_fn);
	va_list ap;

	if (!fn)
		return;
	va_start(ap, fmt);
	fn(level, fmt, ap);
	va_end(ap);
}
