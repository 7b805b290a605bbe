// SPDX-License-Identifier: MIT
/* What the subcommands (record, mem, coldstart) share: the -v/-q levels
 * and the log callback that honours them, the stop flag the signals set,
 * and the user-facing error text: one wording for one failure, as perf's
 * evsel__open_strerror. CLI code: it prints. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgoprof/export.h"
#include "cgoprof/log.h"
#include "cgoprof/procfs.h"
#include "cgoprof/record.h"
#include "internal.h"

struct cli_flags cli_flags;
volatile sig_atomic_t cli_stop;

static void on_signal(int sig)
{
	if (!cli_stop)
		cli_stop = sig;
}

/* One line a call, written whole: the mem sampler thread logs while the
 * main thread does. */
static void log_cb(enum log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	if (cli_flags.quiet && level == LOG_WARN)
		return;
	if (level == LOG_INFO && cli_flags.verbose < 1)
		return;
	if (level == LOG_DEBUG && cli_flags.verbose < 2)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	flockfile(stderr);
	fputs("cgoprof: ", stderr);
	fputs(line, stderr);
	if ((size_t)n >= sizeof(line))
		fputs("...", stderr);
	fputc('\n', stderr);
	funlockfile(stderr);
}

/* Text for a terminal from names someone else controls (paths, comms,
 * symbols): every byte cgoprof writes to stdout and stderr goes through
 * this filter, which turns control characters (C0 but newline and tab,
 * DEL, and C1 as UTF-8: U+0080..U+009F) into '?', so that no name can
 * move the cursor, retitle the window or recolour the terminal. Writes go
 * to the descriptor itself: nothing is left in another stream's buffer
 * at exit. */
struct safe_out {
	int fd;
	bool c2;	/* a 0xc2 byte is pending: C1 control or not */
};

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static ssize_t safe_write(void *cookie, const char *buf, size_t size)
{
	struct safe_out *o = cookie;
	char out[4096];
	size_t j = 0;

	for (size_t i = 0; i < size; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (j + 2 > sizeof(out)) {
			if (write_all(o->fd, out, j))
				return -1;
			j = 0;
		}
		if (o->c2) {
			o->c2 = false;
			if (c >= 0x80 && c <= 0x9f) {
				out[j++] = '?';
				continue;
			}
			out[j++] = (char)0xc2;
		}
		if (c == 0xc2) {
			o->c2 = true;
			continue;
		}
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			c = '?';
		out[j++] = (char)c;
	}
	if (j && write_all(o->fd, out, j))
		return -1;
	return (ssize_t)size;
}

static int safe_close(void *cookie)
{
	struct safe_out *o = cookie;

	if (o->c2) {
		o->c2 = false;
		return write_all(o->fd, "\xc2", 1);
	}
	return 0;
}

/* stdout and stderr through the filter (stdout buffered as it was:
 * by lines on a terminal; stderr by lines). */
static void safe_streams(void)
{
	static struct safe_out out = { .fd = STDOUT_FILENO };
	static struct safe_out err = { .fd = STDERR_FILENO };
	static const cookie_io_functions_t io = { .write = safe_write,
						  .close = safe_close };
	FILE *so, *se;

	fflush(stdout);
	fflush(stderr);
	so = fopencookie(&out, "w", io);
	se = fopencookie(&err, "w", io);
	if (!so || !se) {
		if (so)
			fclose(so);
		if (se)
			fclose(se);
		return;
	}
	setvbuf(so, NULL, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, BUFSIZ);
	setvbuf(se, NULL, _IOLBF, BUFSIZ);
	stdout = so;
	stderr = se;
}

void cli__start(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	safe_streams();
	log__set_fn(log_cb);
	sigemptyset(&sa.sa_mask);
	/* each ends the recording the same way; SIGPIPE too (a write to
	 * a closed pipe then fails with EPIPE, an error of that write) */
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
}

int cli__exit_status(int ret)
{
	if (ret || !cli_stop || cli_stop == SIGINT)
		return ret;
	return 128 + cli_stop;
}

int cli__end_child(pid_t pid, uint64_t t_term, double kill_after,
		   int *status)
{
	struct timespec now;
	uint64_t deadline, t;

	deadline = t_term + (kill_after > 0 ? (uint64_t)(kill_after * 1e9) : 0);
	for (;;) {
		struct timespec ts = { 0, 10000000 };
		pid_t w = waitpid(pid, status, WNOHANG);

		if (w == pid)
			return 0;
		if (w < 0 && errno != EINTR)
			return -errno;
		clock_gettime(CLOCK_MONOTONIC, &now);
		t = (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
		if (t >= deadline)
			break;
		nanosleep(&ts, NULL);
	}
	pr_warn("the command still ran %.1f s after SIGTERM: SIGKILL",
		kill_after > 0 ? kill_after : 0.0);
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

void cli__error(const char *fmt, ...)
{
	va_list ap;

	flockfile(stderr);
	fprintf(stderr, "cgoprof: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void cli__open_error(const struct record_error *e, const char *event,
		     const char *command)
{
	switch (e->stage) {
	case RECORD_STAGE_EVENT:
		if (e->err == ENOENT)
			cli__error("unknown event '%s' (try cpu-clock, task-clock, "
			      "page-faults or context-switches)",
			      event);
		else if (e->err == ENOPKG)
			cli__error("event '%s' needs libpfm4 (" "libpfm.so.4"
				   "), which is not installed: the kernel's "
				   "software events (cpu-clock, task-clock, "
				   "page-faults, context-switches) work "
				   "without it",
				   event);
		else
			cli__error("cannot initialise libpfm4 to parse event '%s'",
			      event);
		return;
	case RECORD_STAGE_PID:
		cli__error("no such process: %d", e->pid);
		return;
	case RECORD_STAGE_EXEC:
		if (e->err == ENOENT)
			cli__error("command not found: '%s'", command);
		else
			cli__error("cannot run '%s': %s", command,
				   strerror(e->err));
		return;
	case RECORD_STAGE_MMAP:
		cli__error("cannot map the ring buffer: %s (try a smaller "
		      "--mmap-pages, or raise /proc/sys/kernel/"
		      "perf_event_mlock_kb)",
		      strerror(e->err));
		return;
	case RECORD_STAGE_OPEN:
		if (e->err == EACCES || e->err == EPERM) {
			cli__error("not permitted to profile pid %d: %s\n"
			      "  perf_event_open needs CAP_PERFMON (or "
			      "CAP_SYS_ADMIN), or a\n"
			      "  /proc/sys/kernel/perf_event_paranoid low enough "
			      "for your user\n"
			      "  (2: own processes, user space only; 1: with "
			      "kernel; -1: all), and\n"
			      "  ptrace access to the target (same user, or "
			      "CAP_SYS_PTRACE)",
			      e->pid, strerror(e->err));
		} else if ((e->err == ENOENT || e->err == EOPNOTSUPP ||
			    e->err == ENODEV) &&
			   e->perf_type == 0) {
			cli__error("event '%s' needs a hardware PMU, which this machine "
			      "does not have (a VM without PMU passthrough?); use "
			      "-e cpu-clock",
			      event);
		} else if (e->err == ENOENT || e->err == EOPNOTSUPP) {
			cli__error("event '%s' is not supported here: %s", event,
			      strerror(e->err));
		} else if (e->err == EMFILE) {
			cli__error("too many open files (one per thread and CPU): "
			      "raise 'ulimit -n'");
		} else if (e->err == EINVAL) {
			cli__error("the kernel refused event '%s' with these settings "
			      "(-F too high for kernel.perf_event_max_sample_rate? "
			      "--stack-size too large?): %s",
			      event, strerror(e->err));
		} else {
			cli__error("perf_event_open for '%s': %s", event,
			      strerror(e->err));
		}
		return;
	case RECORD_STAGE_START:
		if (e->status >= 0 && WIFSIGNALED(e->status))
			cli__error("'%s' was killed by signal %d (%s) before it "
				   "could start",
				   command, WTERMSIG(e->status),
				   strsignal(WTERMSIG(e->status)));
		else
			cli__error("'%s' ended before it could start: %s",
				   command, strerror(e->err));
		return;
	case RECORD_STAGE_SCOPE:
		cli__error("cannot sample with one timer a CPU (--scope cpu): %s",
			   e->why ? e->why : strerror(e->err));
		return;
	case RECORD_STAGE_FORK:
		cli__error("cannot start '%s': %s", command,
			   strerror(e->err ? e->err : ECHILD));
		return;
	default:
		if (e->err)
			cli__error("cannot start the recording: %s",
				   strerror(e->err));
		else
			cli__error("cannot start the recording (stage %d)",
				   (int)e->stage);
	}
}


int cli__parse_u64(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long x;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*v = x;
	return 0;
}

int cli__parse_seconds(const char *s, double *v)
{
	char *end;
	double d;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	d = strtod(s, &end);
	if (errno || *end || !(d > 0) || d > 1e7)
		return -EINVAL;
	*v = d;
	return 0;
}

/* An output path can be created: check before recording, not after. */
int cli__check_output(const char *path)
{
	char *dir, *slash;
	int ok;

	if (!strcmp(path, "-"))
		return 0;
	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	else
		strcpy(dir, ".");
	ok = !access(dir, W_OK);
	if (ok && !access(path, F_OK) && access(path, W_OK))
		ok = 0;
	free(dir);
	return ok ? 0 : -EACCES;
}

static const char *file_type(mode_t type)
{
	switch (type) {
	case S_IFIFO:
		return "a FIFO";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFSOCK:
		return "a socket";
	default:
		return "not a file";
	}
}

/* What an output is (its name, its suffix, what is there): usage errors,
 * printed; 0 or -EINVAL. */
static int check_output_usage(const char *path)
{
	enum export_format fmt;
	char known[256] = "";
	mode_t type;
	int err;

	if (!*path) {
		cli__error("empty output path (-o)");
		return -EINVAL;
	}
	if (strcmp(path, "-") && export__format_lookup(path, &fmt)) {
		for (int f = 0; f < EXPORT_FORMAT__COUNT; f++)
			for (const char *const *x =
				     export__format_desc((enum export_format)f)
					     ->suffixes;
			     *x; x++)
				snprintf(known + strlen(known),
					 sizeof(known) - strlen(known), "%s%s",
					 *known ? " " : "", *x);
		cli__error("unknown output format '%s' (known: %s, or '-')",
			   path, known);
		return -EINVAL;
	}
	err = export__check_path(path, &type);
	switch (err) {
	case 0:
		return 0;
	case -ENAMETOOLONG:
		cli__error("output '%.64s...' is too long for the file system "
			   "(a name at most %d bytes, a path %d, with the "
			   "temporary file's '.tmp.XXXXXX')",
			   path, NAME_MAX, PATH_MAX);
		break;
	case -EISDIR:
		cli__error("output '%s' is a directory", path);
		break;
	case -ENOTSUP:
		cli__error("output '%s' is not a regular file (%s): give a new "
			   "name, a regular file, or '-' for stdout",
			   path, file_type(type));
		break;
	default:
		cli__error("output '%s': %s", path, strerror(-err));
	}
	return -EINVAL;
}

int cli__parse_stack_size(const char *arg, uint32_t *out)
{
	uint64_t v;

	if (cli__parse_u64(arg, &v) || v < 8 || v > 65528 || (v & 7)) {
		cli__error("invalid --stack-size '%s' (8..65528, a multiple of 8)",
			   arg);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

int cli__parse_freq(const char *arg, uint64_t max, const char *unit,
		    uint64_t *out)
{
	uint64_t v;

	if (cli__parse_u64(arg, &v) || !v || v > max) {
		cli__error("invalid frequency '%s' (1..%" PRIu64 " %s)", arg,
			   max, unit);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* What the stack copies cost: each sample copies --stack-size bytes in the
 * target's own time (in its timer interrupt), so a rate times a size is
 * the target's share of time spent copying. 160 MB/s per CPU: 10 kHz of
 * 16 KiB stacks (measured: past it the target slows down several times,
 * and the samples are lost besides). */
#define STACK_COPY_BUDGET (10000ULL * 16384ULL)

uint64_t cli__sustainable_freq(uint64_t freq, uint32_t stack_size)
{
	uint64_t max = STACK_COPY_BUDGET / (stack_size ? stack_size : 1);
	int kmax = procfs__read_int("/proc/sys/kernel/perf_event_max_sample_rate");

	/* the kernel may have lowered its own limit since boot */
	if (kmax > 0 && (uint64_t)kmax < max)
		max = (uint64_t)kmax;
	if (max < 100)
		max = 100;
	if (freq <= max)
		return freq;
	pr_warn("lowering -F %" PRIu64 " to %" PRIu64 " Hz: at --stack-size %u "
		"a higher rate stalls the target (each sample copies its "
		"stack) or passes kernel.perf_event_max_sample_rate (%d)",
		freq, max, stack_size, kmax);
	return max;
}

int cli__parse_mmap_pages(const char *arg, size_t *out)
{
	uint64_t v;

	if (cli__parse_u64(arg, &v) || !v || (v & (v - 1)) || v > (1 << 20)) {
		cli__error("invalid --mmap-pages '%s' (a power of two)", arg);
		return -EINVAL;
	}
	*out = (size_t)v;
	return 0;
}

/* Takes option @c: 0, 1 when it is not a common one, or -EINVAL. */
static int common_opt(struct cli_common *co, int c, const char *arg)
{
	switch (c) {
	case 'o':
		if (co->noutputs == CLI_MAX_OUTPUTS) {
			cli__error("too many outputs (at most %d)",
				   CLI_MAX_OUTPUTS);
			return -EINVAL;
		}
		co->outputs[co->noutputs++] = arg;
		return 0;
	case 'm':
		return cli__parse_mmap_pages(arg, &co->mmap_pages);
	case CLI_OPT_STACK_SIZE:
		return cli__parse_stack_size(arg, &co->stack_size);
	case CLI_OPT_EXEC:
		co->exec = arg;
		return 0;
	case CLI_OPT_TIMEOUT:
		if (cli__parse_seconds(arg, &co->timeout)) {
			cli__error("invalid --timeout '%s' (seconds > 0)", arg);
			return -EINVAL;
		}
		return 0;
	case CLI_OPT_KILL_AFTER: {
		char *end;
		double d;

		errno = 0;
		d = strtod(arg, &end);
		if (errno || *end || end == arg || !(d >= 0) || d > 3600) {
			cli__error("invalid --kill-after '%s' (seconds, "
				   "0..3600)",
				   arg);
			return -EINVAL;
		}
		/* record's 0 is its default: at once is below 0 */
		co->kill_after = d > 0 ? d : -1;
		return 0;
	}
	case 'q':
		cli_flags.quiet = true;
		return 0;
	case 'v':
		cli_flags.verbose++;
		return 0;
	default:
		return 1;
	}
}

/* Optimal string alignment distance (edits, transpositions), capped. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t d[3][64], *prev2 = d[0], *prev = d[1], *cur = d[2];

	if (la > 62 || lb > 62)
		return 64;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t c = prev[j - 1] + (a[i - 1] != b[j - 1]);

			if (prev[j] + 1 < c)
				c = prev[j] + 1;
			if (cur[j - 1] + 1 < c)
				c = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < c)
				c = prev2[j - 2] + 1;
			cur[j] = c;
		}
		size_t *t = prev2;

		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

const char *cli__nearest(const char *word, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;

	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, names[i]);
		size_t max = 1 + strlen(names[i]) / 4;

		if (d <= (max > 3 ? 3 : max) && d < best_d) {
			best = names[i];
			best_d = d;
		}
	}
	return best;
}

/* The long option @text ("--name" or "--name=value") names. */
static const struct option *long_option(const struct option *longopts,
					const char *text)
{
	size_t len = strcspn(text + 2, "=");

	for (const struct option *o = longopts; o->name; o++)
		if (strlen(o->name) == len && !strncmp(o->name, text + 2, len))
			return o;
	return NULL;
}

/* getopt_long's error @c (':' or '?') for argv[optind - 1], as one line. */
static void getopt_error(int c, char **argv, const struct option *longopts)
{
	const char *text = optind > 0 ? argv[optind - 1] : "";
	bool is_long = !strncmp(text, "--", 2) && text[2];
	int len = (int)strcspn(text, "=");
	const struct option *o = is_long ? long_option(longopts, text) : NULL;
	const char *names[128], *near;
	size_t n = 0, prefixed = 0;

	if (c == ':') {
		if (is_long && o && o->val == optopt)
			cli__error("option '%.*s' needs an argument", len, text);
		else
			cli__error("option '-%c' needs an argument", optopt);
		return;
	}
	if (optopt && !(is_long && o && o->val == optopt)) {
		cli__error("unknown option '-%c'", optopt);
		return;
	}
	if (o) {
		cli__error("option '%.*s' takes no argument", len, text);
		return;
	}
	if (!is_long) {
		cli__error("invalid option '%s'", text);
		return;
	}
	for (const struct option *x = longopts; x->name && n < 128; x++) {
		names[n++] = x->name;
		if (!strncmp(x->name, text + 2, (size_t)len - 2))
			prefixed++;
	}
	if (prefixed > 1) {
		cli__error("option '%.*s' is ambiguous", len, text);
		return;
	}
	near = cli__nearest(strndupa(text + 2, (size_t)len - 2), names, n);
	if (near)
		cli__error("unknown option '%.*s' (did you mean --%s?)", len,
			   text, near);
	else
		cli__error("unknown option '%.*s'", len, text);
}

/* After the options: what the outputs are and a ring for the stack size. */
static int check_common(const struct cli_common *co)
{
	long page = sysconf(_SC_PAGESIZE);

	for (int i = 0; i < co->noutputs; i++)
		if (check_output_usage(co->outputs[i]))
			return -EINVAL;
	/* a sample (the user stack and up to ~2 KiB of the rest) must fit
	 * in the ring, or every one is lost */
	if (co->mmap_pages && page > 0 &&
	    co->mmap_pages * (size_t)page < co->stack_size + 2048u) {
		size_t min = 1;

		while (min * (size_t)page < co->stack_size + 2048u)
			min *= 2;
		cli__error("invalid --mmap-pages '%zu' (at least %zu pages of "
			   "%ld bytes: a sample of --stack-size %u must fit)",
			   co->mmap_pages, min, page, co->stack_size);
		return -EINVAL;
	}
	return 0;
}

int cli__next_opt(int argc, char **argv, const char *shortopts,
		 const struct option *longopts)
{
	char opts[128];
	int c;

	/* our messages, not getopt's: ':' reports a missing argument */
	snprintf(opts, sizeof(opts), "%s:%s", *shortopts == '+' ? "+" : "",
		 shortopts + (*shortopts == '+'));
	opterr = 0;
	c = getopt_long(argc, argv, opts, longopts, NULL);
	if (c == '?' || c == ':') {
		getopt_error(c, argv, longopts);
		return '?';
	}
	return c;
}

int cli__getopt(int argc, char **argv, const char *shortopts,
		const struct option *longopts, struct cli_common *co)
{
	int c, err;

	while ((c = cli__next_opt(argc, argv, shortopts, longopts)) != -1) {
		if (c == '?')
			return '?';
		err = common_opt(co, c, optarg);
		if (err < 0)
			return '?';
		if (err)
			return c;
	}
	return check_common(co) ? '?' : -1;
}

int cli__target(int argc, char **argv, bool pids, const char *what,
		char ***cmd)
{
	*cmd = NULL;
	if (optind < argc) {
		if (pids) {
			cli__error("give either -p PID or a command, not both");
			return -EINVAL;
		}
		*cmd = &argv[optind];
	} else if (!pids) {
		cli__error("nothing to %s: give -p PID or -- CMD [ARGS]", what);
		return -EINVAL;
	}
	return 0;
}

int cli__check_pids(const pid_t *pids, int npids)
{
	for (int i = 0; i < npids; i++) {
		if (procfs__kernel_thread(pids[i]) == 1) {
			cli__error("pid %d is a kernel thread: it has no user "
				   "space to profile",
				   pids[i]);
			return -EINVAL;
		}
	}
	return 0;
}

int cli__usage_error(const char *command)
{
	fprintf(stderr, "Run 'cgoprof %s --help' for the options.\n", command);
	return EXIT_USAGE;
}

int cli__check_outputs(const struct cli_common *co)
{
	for (int i = 0; i < co->noutputs; i++) {
		if (cli__check_output(co->outputs[i])) {
			cli__error("cannot write output '%s': %s",
				   co->outputs[i],
				   strerror(errno ? errno : EACCES));
			return -EACCES;
		}
	}
	return 0;
}

int cli__wrote(const char *path, int err)
{
	if (err) {
		cli__error("cannot write '%s': %s", path, strerror(-err));
		return EXIT_PARTIAL;
	}
	if (!cli_flags.quiet && strcmp(path, "-"))
		fprintf(stderr, "cgoprof: wrote %s\n", path);
	return 0;
}

void cli__report_status(int status)
{
	if (status < 0)
		return;
	if (WIFEXITED(status))
		fprintf(stderr, "command exited with status %d\n",
			WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		fprintf(stderr, "command killed by signal %d (%s)\n",
			WTERMSIG(status), strsignal(WTERMSIG(status)));
}

char *cli__command_line(char *const *argv, const pid_t *pids, int npids)
{
	size_t n = 1;
	char *s;

	if (argv) {
		for (int i = 0; argv[i]; i++)
			n += strlen(argv[i]) + 1;
	} else {
		n += 8 + (size_t)npids * 12;
	}
	s = calloc(1, n);
	if (!s)
		return NULL;
	if (argv) {
		for (int i = 0; argv[i]; i++) {
			if (i)
				strcat(s, " ");
			strcat(s, argv[i]);
		}
	} else {
		strcpy(s, "pid");
		for (int i = 0; i < npids; i++)
			sprintf(s + strlen(s), "%s%d", i ? "," : " ", pids[i]);
	}
	return s;
}
