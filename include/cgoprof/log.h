/* Logging for library code: pr_warn / pr_info / pr_debug call a callback that
 * the CLI installs. Library code never prints by itself. */
#ifndef CGOPROF_LOG_H
#define CGOPROF_LOG_H

#include <stdarg.h>

enum log_level { LOG_WARN = 0, LOG_INFO, LOG_DEBUG };

typedef void (*log_fn_t)(enum log_level level, const char *fmt, va_list ap);

/* Installs @fn (NULL: discard everything). */
void log__set_fn(log_fn_t fn);
void log__printf(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_warn(fmt, ...) log__printf(LOG_WARN, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...) log__printf(LOG_INFO, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) log__printf(LOG_DEBUG, fmt, ##__VA_ARGS__)

#endif
