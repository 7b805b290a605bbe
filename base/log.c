// SPDX-License-Identifier: MIT
#include "cgoprof/log.h"

static log_fn_t log_fn;

void log__set_fn(log_fn_t fn)
{
	log_fn = fn;
}

void log__printf(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (!log_fn)
		return;
	va_start(ap, fmt);
	log_fn(level, fmt, ap);
	va_end(ap);
}
