/* The command-line layer: the subcommands and the error text, exit codes
 * and argument parsing they share. The only code that writes to the
 * terminal. */
#ifndef CGOPROF_CLI_INTERNAL_H
#define CGOPROF_CLI_INTERNAL_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit statuses of every command. */
#define EXIT_PARTIAL 1		/* outputs written, something went wrong */
#define EXIT_FATAL 2		/* nothing could be recorded */
#define EXIT_USAGE 64

/* The options every command takes alike: -o FILE (repeatable, at most
 * CLI_MAX_OUTPUTS), --stack-size BYTES, -q, -v; and -m N where a command
 * lists it. Their long forms end each command's table: CLI_LONGOPTS. */
#define CLI_MAX_OUTPUTS 16
/* long options without a letter, below each command's own (from 256) */
enum { CLI_OPT_STACK_SIZE = 240, CLI_OPT_NO_LIVE, CLI_OPT_CGO_PROBE,
       CLI_OPT_KILL_AFTER, CLI_OPT_EXEC, CLI_OPT_TIMEOUT };
#define CLI_LONGOPTS                                                      \
	{ "output", required_argument, NULL, 'o' },                         \
	{ "stack-size", required_argument, NULL, CLI_OPT_STACK_SIZE },      \
	{ "quiet", no_argument, NULL, 'q' },                                \
	{ "verbose", no_argument, NULL, 'v' },                              \
	{ "help", no_argument, NULL, 'h' },                                 \
	{ 0 }
/* The long options of the commands that attach to a process or launch
 * one (record, mem): -p, -d, -F, -m, --no-live-reads, --cgo-probe,
 * --kill-after. */
#define CLI_LONGOPTS_TARGET                                               \
	{ "pid", required_argument, NULL, 'p' },                            \
	{ "duration", required_argument, NULL, 'd' },                       \
	{ "freq", required_argument, NULL, 'F' },                           \
	{ "mmap-pages", required_argument, NULL, 'm' },                     \
	{ "no-live-reads", no_argument, NULL, CLI_OPT_NO_LIVE },            \
	{ "cgo-probe", no_argument, NULL, CLI_OPT_CGO_PROBE },              \
	{ "kill-after", required_argument, NULL, CLI_OPT_KILL_AFTER },      \
	{ "exec", required_argument, NULL, CLI_OPT_EXEC },                  \
	{ "timeout", required_argument, NULL, CLI_OPT_TIMEOUT }
struct cli_common {
	const char *outputs[CLI_MAX_OUTPUTS];
	int noutputs;
	uint32_t stack_size;	/* the command's default until given */
	size_t mmap_pages;
	double kill_after;	/* --kill-after: 0 default, < 0 at once */
	const char *exec;	/* --exec PATH: the next start of PATH */
	double timeout;		/* --timeout SEC: how long to wait for it */
};

struct execwatch;
/* --exec: waits (co->timeout seconds, 0 forever, or until a signal) for
 * the next start of co->exec anywhere on the machine, which is held
 * stopped before its first instruction: *@pid. Open its events, then
 * cli__release_start(). 0; or an exit status, the error printed
 * (EXIT_PARTIAL: the timeout or a signal came first). */
int cli__catch_start(const struct cli_common *co, pid_t *pid,
		     struct execwatch **w);
/* Resumes the caught start and closes the watch (NULL: nothing). */
void cli__release_start(struct execwatch *w, pid_t pid);
/* --exec with -p or a command, or --timeout without --exec: the error
 * printed, -EINVAL. */
int cli__check_exec(const struct cli_common *co, bool pids, bool command);

/* -v (counted) and -q of the running command; the log callback reads them. */
struct cli_flags {
	int verbose;
	bool quiet;
};
extern struct cli_flags cli_flags;
/* Set to the signal by SIGHUP, SIGINT, SIGTERM and SIGPIPE (the first
 * one): the running command ends its recording, writes its outputs and
 * stops what it launched. */
extern volatile sig_atomic_t cli_stop;
/* A command's exit status @ret once its outputs are written: 128+signal
 * when a signal ended it (but SIGINT, the usual end of a recording: 0) and
 * nothing else went wrong. */
int cli__exit_status(int ret);
/* Ends @pid, sent SIGTERM at @t_term (CLOCK_MONOTONIC ns): waits until
 * @kill_after seconds after it (<= 0: none), then SIGKILL. 0 and *@status
 * its wait status, or -errno. */
int cli__end_child(pid_t pid, uint64_t t_term, double kill_after,
		   int *status);

/* Installs the log callback and the signal handlers (cli_stop). */
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
/* getopt_long(), the common options taken into @co (-q and -v into
 * cli_flags): the next option of the command's own, -1 at the end, or '?'
 * on a usage error (printed as one line: a misspelled long option gets the
 * nearest one). At the end the outputs are checked for what they are
 * (an empty or too long name, an unknown suffix, a directory, a FIFO or a
 * device) and -m for the stack size: '?' when wrong. Set optind to 1
 * before the first call. */
/* getopt_long with cgoprof's own one-line messages (a missing argument,
 * an unknown option with the nearest valid one): the next option, '?'
 * after the message, -1 at the end. */
int cli__next_opt(int argc, char **argv, const char *shortopts,
		 const struct option *longopts);
int cli__getopt(int argc, char **argv, const char *shortopts,
		const struct option *longopts, struct cli_common *co);
/* The name in @names nearest @word, if near enough to be a misspelling of
 * it ("did you mean"), else NULL. */
const char *cli__nearest(const char *word, const char *const *names,
			 size_t n);
/* The command line after the options, or -p: exactly one of them. *@cmd
 * is &argv[optind], or NULL with @pids. 0, or the error printed ("nothing
 * to @what") and -EINVAL. */
int cli__target(int argc, char **argv, bool pids, const char *what,
		char ***cmd);
/* -p: none is a kernel thread (no user space). 0, or the error printed
 * and -EINVAL. */
int cli__check_pids(const pid_t *pids, int npids);
/* Prints how to get @command's options; returns EXIT_USAGE. */
int cli__usage_error(const char *command);
/* Every output of @co can be written (checked before recording): 0, or
 * the error printed and -EACCES. */
int cli__check_outputs(const struct cli_common *co);
/* Reports the write of @path, which returned @err: 0 ("wrote" unless -q or
 * stdout), or the error printed and EXIT_PARTIAL. */
int cli__wrote(const char *path, int err);
/* "command exited with status N" or "killed by signal N" on stderr;
 * nothing for @status < 0. */
void cli__report_status(int status);
/* The profiled command as one string (its words, or "pid P[,P...]"):
 * the caller frees it; NULL when out of memory. */
char *cli__command_line(char *const *argv, const pid_t *pids, int npids);
/* "123", "0x7b": 0 or -EINVAL. */
int cli__parse_u64(const char *s, uint64_t *v);
/* Seconds, > 0 and at most 1e7 (a duration, a timeout). 0 or -EINVAL. */
int cli__parse_seconds(const char *s, double *v);
/* The options every recording command takes, checked the same way: the
 * value, or the error printed and -EINVAL. */
int cli__parse_stack_size(const char *arg, uint32_t *out);
int cli__parse_mmap_pages(const char *arg, size_t *out);
/* -F @freq, or lower with a warning: what a stack copy of @stack_size
 * bytes per sample lets the target sustain (10 kHz at 16 KiB), and at
 * most kernel.perf_event_max_sample_rate. */
uint64_t cli__sustainable_freq(uint64_t freq, uint32_t stack_size);
/* -F: 1..@max, "invalid frequency '...' (1..@max @unit)" otherwise. */
int cli__parse_freq(const char *arg, uint64_t max, const char *unit,
		    uint64_t *out);
/* 0 when @path ("-" is stdout) can be written, else -EACCES (or -ENOMEM). */
int cli__check_output(const char *path);
/* `cgoprof --version` (-V): version, git commit, features, one a line.
 * Returns 0. */
int cli__version(FILE *f);
/* `cgoprof coldstart [opts] -- CMD [ARGS] [--- CMD_B [ARGS]]`: argv[0] is
 * "coldstart". Returns the exit status (0 ok, 1 partial, 2 fatal, 64 usage). */
int cmd_coldstart(int argc, char **argv);
/* `cgoprof audit [opts] BINARY... | A --- B`: argv[0] is "audit". Returns
 * the exit status (0 clean, 2 unreadable input, 3 gate, 64 usage). */
int cmd_audit(int argc, char **argv);

#endif
