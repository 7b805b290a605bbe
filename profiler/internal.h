/* Declarations shared inside profiler/ only: the `coldstart` subcommand and
 * the CLI functions it calls, until it moves to cli/. */
#ifndef CGOPROF_PROFILER_INTERNAL_H
#define CGOPROF_PROFILER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CLI messages (cli.c): "cgoprof: error: ..." on stderr; and the one text
 * for each way opening a recording fails (@event: the event's name,
 * @command: the launched command's name, or ""). */
void cli__error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct record_error;
void cli__open_error(const struct record_error *e, const char *event,
		     const char *command);
/* "123", "0x7b": 0 or -EINVAL. */
int cli__parse_u64(const char *s, uint64_t *v);
/* 0 when @path ("-" is stdout) can be written, else -EACCES (or -ENOMEM). */
int cli__check_output(const char *path);

#endif
