/* The command-line layer: the subcommands and the error text, exit codes
 * and argument parsing they share. The only code that writes to the
 * terminal. */
#ifndef CGOPROF_CLI_INTERNAL_H
#define CGOPROF_CLI_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses of every command. */
#define EXIT_PARTIAL 1		/* outputs written, something went wrong */
#define EXIT_FATAL 2		/* nothing could be recorded */
#define EXIT_USAGE 64

/* -v (counted) and -q of the running command; the log callback reads them. */
struct cli_flags {
	int verbose;
	bool quiet;
};
extern struct cli_flags cli_flags;
/* Set by SIGINT and SIGTERM: the running command ends its recording,
 * writes its outputs and stops what it launched. */
extern volatile sig_atomic_t cli_stop;

/* Installs the log callback and the signal handlers (SIGPIPE ignored:
 * a closed output is an error of the write). */
void cli__start(void);

/* `cgoprof mem [opts] (-p PID | -- CMD [ARGS])`: argv[0] is "mem". Returns
 * the exit status (0 ok, 1 partial, 2 fatal, 64 usage). */
int cmd_mem(int argc, char **argv);

/* CLI messages (cli.c): "cgoprof: error: ..." on stderr; and the one text
 * for each way opening a recording fails (@event: the event's name,
 * @command: the launched command's name, or ""). */
void cli__error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct record_error;
void cli__open_error(const struct record_error *e, const char *event,
		     const char *command);
/* "123", "0x7b": 0 or -EINVAL. */
int cli__parse_u64(const char *s, uint64_t *v);
/* The options every recording command takes, checked the same way: the
 * value, or the error printed and -EINVAL. */
int cli__parse_stack_size(const char *arg, uint32_t *out);
int cli__parse_mmap_pages(const char *arg, size_t *out);
/* 0 when @path ("-" is stdout) can be written, else -EACCES (or -ENOMEM). */
int cli__check_output(const char *path);
/* `cgoprof coldstart [opts] -- CMD [ARGS] [--- CMD_B [ARGS]]`: argv[0] is
 * "coldstart". Returns the exit status (0 ok, 1 partial, 2 fatal, 64 usage). */
int cmd_coldstart(int argc, char **argv);
/* `cgoprof audit [opts] BINARY... | A --- B`: argv[0] is "audit". Returns
 * the exit status (0 clean, 2 unreadable input, 3 gate, 64 usage). */
int cmd_audit(int argc, char **argv);

#endif
