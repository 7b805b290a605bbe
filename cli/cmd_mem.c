// SPDX-License-Identifier: MIT
/* `cgoprof mem`: options, running the snapshots (in this thread, or on the
 * sampler's thread while a page-fault recording runs), and the messages.
 * What it measures and how is library code: include/cgoprof/mem.h, and
 * the reports in include/cgoprof/mem_report.h. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgoprof/clock.h"
#include "cgoprof/export.h"
#include "cgoprof/log.h"
#include "cgoprof/mem.h"
#include "cgoprof/mem_report.h"
#include "cgoprof/record.h"
#include "internal.h"

static const char usage_mem[] =
	"usage: cgoprof mem [options] -p PID\n"
	"       cgoprof mem [options] -- CMD [ARGS...]\n"
	"       cgoprof mem [options] --exec PATH\n"
	"\n"
	"Resident memory (RSS) by category, from /proc/PID/smaps: how much is\n"
	"the Go heap and how much is outside it. A command is sampled from its\n"
	"start to its exit and the peak and last snapshots are reported; -p\n"
	"takes one snapshot, or a series with -d.\n"
	"\n"
	"  -p, --pid PID           a running process\n"
	"      --exec PATH         the next start of the file PATH, whoever\n"
	"                          starts it (system-wide; held stopped until\n"
	"                          the sampler is ready), followed to its exit\n"
	"                          or -d as a command is\n"
	"      --timeout SEC       --exec: give up after SEC seconds (exit 1)\n"
	"  -d, --duration SEC      stop after SEC seconds (a command is then\n"
	"                          ended with SIGTERM)\n"
	"  -F, --freq HZ           snapshots per second (default 10)\n"
	"      --interval SEC      seconds between snapshots (instead of -F)\n"
	"      --kill-after SEC    a command still running at the end gets\n"
	"                          SIGTERM, then SIGKILL SEC seconds later\n"
	"                          (default 5)\n"
	"  -o, --output FILE       repeatable: *.json the peak and last\n"
	"                          snapshots; with --faults *.svg, *.folded,\n"
	"                          *.txt, *.pb.gz, *.pprof, '-' (folded on\n"
	"                          stdout) the page-fault profile\n"
	"      --faults            sample every page fault (event page-faults,\n"
	"                          period 1, with the fault address): each\n"
	"                          new resident page is charged to the Go and C\n"
	"                          stack that touched it, under a root frame\n"
	"                          naming its category\n"
	"      --no-live-reads     never read the target's memory (malloc and\n"
	"                          stacks are then guessed from their layout)\n"
	"  -m, --mmap-pages N      --faults: ring pages per CPU (power of two)\n"
	"      --stack-size BYTES  --faults: user stack copied per fault\n"
	"      --cgo-probe         --faults: record the Go stack at each cgo call\n"
	"                          (as 'cgoprof record --cgo-probe')\n"
	"  -q, --quiet             no table, no warnings\n"
	"  -v, --verbose           more messages (twice: debug)\n"
	"  -h, --help\n"
	"\n"
	"Categories (RSS of each mapping, as smaps counts it):\n"
	"  go_heap        Go heap arenas: anonymous runs that start on a 64 MiB\n"
	"                 boundary and cover whole 64 MiB blocks, in a Go program\n"
	"                 (where Go reserves them; below 2^46 without live reads;\n"
	"                 by layout: nothing of the runtime is read);\n"
	"                 '[anon: Go: heap]' where the kernel names mappings\n"
	"  go_runtime     other '[anon: Go: ...]' mappings; otherwise a guess: the\n"
	"                 anonymous memory of a Go program that no rule below\n"
	"                 recognised (with --faults: that Go code faulted in)\n"
	"  c_heap         [heap] (brk); glibc arenas (heap_info read at a 64 MiB\n"
	"                 boundary, the PROT_NONE rest included); mmapped malloc\n"
	"                 chunks (the chunk header, size | IS_MMAPPED, read at\n"
	"                 each chunk: adjacent chunks merged into one mapping\n"
	"                 are walked one by one). Other allocators (jemalloc,\n"
	"                 tcmalloc, musl) are not recognised\n"
	"  thread_stacks  [stack]; a mapping with glibc's thread descriptor at\n"
	"                 its top, or a blocked thread's stack pointer, with the\n"
	"                 PROT_NONE guard below it\n"
	"  executable     the main binary's mappings and the bss after them\n"
	"  libraries      other mapped files and their bss, per file name\n"
	"  loader         ld-linux and its bss\n"
	"  other_anon     the rest: anonymous memory of a non-Go program no rule\n"
	"                 recognised (with --faults, also what non-Go code\n"
	"                 faulted in), shared memory, [vvar], [vsyscall]\n"
	"The table says what each category rests on: named (a file or a name\n"
	"the kernel shows), verified (read from the allocator's structures),\n"
	"layout (where it lies), guess, rest. perf's mmap records carry no\n"
	"stack, so who created a mapping is never known: only who faulted its\n"
	"pages in (--faults). Fault counts are faults, not bytes: a fault on a\n"
	"transparent huge page brings in 2 MiB. See docs/mem.md.\n"
	"\n"
	"Exit status: 0 done, 1 partial (an output could not be written), 2\n"
	"fatal (no such process, not permitted, command not found, unwritable\n"
	"output, nothing could be read), 64 usage; SIGINT, SIGTERM, SIGHUP and\n"
	"SIGPIPE end it with the outputs written: 0 for SIGINT, else 128+N.\n";

struct mem_opts {
	pid_t pid;
	char **argv;
	double duration;
	double interval;
	bool faults, live_reads, cgo_probe;
	struct cli_common co;	/* -o, --stack-size, -m */
};

/* --exec: the caught start, held stopped until its events (--faults) or
 * its sampler are ready; resumed once (release_caught), whatever
 * happens. */
static struct execwatch *caught_watch;

static void release_caught(pid_t pid)
{
	cli__release_start(caught_watch, pid);
	caught_watch = NULL;
}

static int parse_seconds(const char *s, double min, double max, double *v)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || *end || end == s || !(d >= min) || d > max)
		return -EINVAL;
	*v = d;
	return 0;
}

static void read_error(pid_t pid, int err)
{
	if (err == -ESRCH)
		cli__error("no such process: %d", pid);
	else if (err == -EACCES || err == -EPERM)
		cli__error("not permitted to read the memory map of pid %d: "
			   "%s\n"
			   "  /proc/PID/smaps needs ptrace access to the target "
			   "(the same user and\n"
			   "  kernel.yama.ptrace_scope permitting, or "
			   "CAP_SYS_PTRACE)",
			   pid, strerror(-err));
	else
		cli__error("cannot read the memory map of pid %d: %s", pid,
			   strerror(-err));
}

/* Starts @argv; returns its pid once it has exec'd, or -errno (*@exec_err
 * set when exec failed). */
static pid_t spawn(char **argv, int *exec_err)
{
	int status[2], child_errno = 0, err;
	ssize_t n;
	pid_t pid;

	*exec_err = 0;
	if (pipe2(status, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(status[0]);
		close(status[1]);
		return err;
	}
	if (!pid) {
		close(status[0]);
		/* the command runs as it would without us: cli__start()
		 * ignored SIGPIPE for our writes, and exec keeps that */
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		err = errno;
		if (write(status[1], &err, sizeof(err)) < 0)
			_exit(127);
		_exit(127);
	}
	close(status[1]);
	do
		n = read(status[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(status[0]);
	if (n == sizeof(child_errno)) {
		waitpid(pid, NULL, 0);
		*exec_err = child_errno;
		return -child_errno;
	}
	return pid;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
			       .tv_nsec = (long)(ns % 1000000000ULL) };

	nanosleep(&ts, NULL);
}

static unsigned snapshots(const struct mem_sampler *s)
{
	struct mem_snapshots r;

	mem_sampler__result(s, &r);
	return r.n;
}

/* The command run_snapshots() sent SIGTERM, and when. */
static pid_t ending;
static uint64_t ending_since;

/* After the outputs: the command that outlived the snapshots, or the
 * page-fault recording, ended (SIGTERM, --kill-after, SIGKILL). */
static void end_command(const struct mem_opts *o, struct record *rec,
			int *status)
{
	double grace = o->co.kill_after ? o->co.kill_after : RECORD_KILL_AFTER;

	if (rec)
		*status = record__end_child(rec);
	else if (ending > 0 && cli__end_child(ending, ending_since, grace,
					      status))
		*status = -1;
	ending = 0;
}

/* Without --faults: snapshots in this thread, until the command exits,
 * the duration, Ctrl-C, or (-p without -d) after one. */
static int run_snapshots(struct mem_sampler *s, const struct mem_opts *o,
			 pid_t child, int *child_status)
{
	uint64_t start = clock__ns(CLOCK_MONOTONIC), next = start;
	uint64_t deadline =
		o->duration > 0 ? start + (uint64_t)(o->duration * 1e9) : 0;
	/* a caught start is followed to its end, as a command is */
	bool one = !child && !(o->duration > 0) && !o->co.exec;
	int err = 0;

	*child_status = -1;
	for (;;) {
		uint64_t now = clock__ns(CLOCK_MONOTONIC);

		if (child > 0 &&
		    waitpid(child, child_status, WNOHANG) == child) {
			child = 0;
			break;
		}
		if (cli_stop || (deadline && now >= deadline))
			break;
		if (now < next) {
			uint64_t d = next - now;

			sleep_ns(d > 10000000 ? 10000000 : d);
			continue;
		}
		err = mem_sampler__snapshot(s);
		if (err == -ESRCH && child > 0)
			continue;	/* a zombie: reaped above */
		if (err && err != -EAGAIN && (!snapshots(s) || err != -ESRCH))
			break;
		if (err == -ESRCH || one)
			break;
		err = 0;
		next += (uint64_t)(o->interval * 1e9);
		if (next < now)
			next = now;
	}
	if (child > 0) {
		/* the duration ended first: end the command as record does,
		 * waited for after the outputs (end_command()) */
		kill(child, SIGTERM);
		ending = child;
		ending_since = clock__ns(CLOCK_MONOTONIC);
	}
	return snapshots(s) ? 0 : err;
}

/* Launches the command, or not, and takes snapshots until it is done:
 * *@s is the sampler, NULL when nothing ran (the error said). */
static int measure(const struct mem_opts *o, struct mem_sampler **s,
		   int *status)
{
	struct mem_sampler_opts so = {
		.pid = o->pid,
		.interval = o->interval,
		.live_reads = o->live_reads,
	};
	int exec_err, err;

	*s = NULL;
	if (o->argv) {
		so.pid = spawn(o->argv, &exec_err);
		if (so.pid < 0) {
			if (exec_err == ENOENT)
				cli__error("command not found: '%s'",
					   o->argv[0]);
			else
				cli__error("cannot run '%s': %s", o->argv[0],
					   strerror(-so.pid));
			return -1;
		}
	}
	*s = mem_sampler__new(&so);
	if (!*s) {
		cli__error("out of memory");
		if (o->argv) {
			kill(so.pid, SIGTERM);
			waitpid(so.pid, NULL, 0);
		}
		return -1;
	}
	release_caught(o->pid);
	err = run_snapshots(*s, o, o->argv ? so.pid : 0, status);
	if (!snapshots(*s)) {
		if (o->argv && (!err || err == -ESRCH))
			cli__error("'%s' exited before its memory could "
				   "be read",
				   o->argv[0]);
		else
			read_error(so.pid, err);
		return -1;
	}
	return 0;
}

/* The page-fault recording, with the sampler on its own thread meanwhile.
 * *@rec, *@h and *@s are the caller's to free, whatever happened. */
static int measure_faults(const struct mem_opts *o, struct mem_evidence *ev,
			  struct record **rec, struct mem_faults **h,
			  struct mem_sampler **s, int *status)
{
	struct mem_sampler_opts so = {
		.pid = o->pid,
		.interval = o->interval,
		.live_reads = o->live_reads,
		/* a launched command may not have exec'd yet */
		.before_exec = o->argv != NULL,
		.ev = ev,
	};
	struct record_opts ro = {
		.pids = o->pid ? &o->pid : NULL,
		.npids = o->pid ? 1 : 0,
		.argv = o->argv,
		.event = "page-faults",
		.period = 1,
		.duration = o->duration,
		.stack_size = o->co.stack_size,
		.mmap_pages = o->co.mmap_pages,
		.sample_addr = true,
		.mmap_data = true,
		.cgo_probe = o->cgo_probe,
		.unwind = { .live_reads = o->live_reads },
		.sample_root = mem_faults__root,
		.stop = &cli_stop,
		.kill_after = o->co.kill_after,
	};
	struct mem_snapshots res;
	struct record_error re;
	int err;

	*h = mem_faults__new(o->live_reads, ev);
	if (!*h) {
		cli__error("out of memory");
		return -1;
	}
	ro.hook_ctx = *h;
	*rec = record__new(&ro);
	if (!*rec) {
		cli__error("out of memory");
		return -1;
	}
	mem_faults__attach(*h, *rec);
	err = record__open(*rec, &re);
	if (err) {
		cli__open_error(&re, "page-faults", o->argv ? o->argv[0] : "");
		return -1;
	}
	if (record__stats(*rec)->user_only_fallback)
		pr_warn("kernel samples not permitted "
			"(perf_event_paranoid): recording user space "
			"only");
	if (o->argv)
		so.pid = record__child_pid(*rec);
	release_caught(o->pid);
	*s = mem_sampler__new(&so);
	if (!*s) {
		cli__error("out of memory");
		return -1;
	}
	err = mem_sampler__start(*s);
	if (err) {
		cli__error("cannot start the sampler thread: %s",
			   strerror(-err));
		return -1;
	}
	record__loop(*rec);
	mem_sampler__stop(*s);
	*status = record__child_status(*rec);
	mem_sampler__result(*s, &res);
	if (!res.n) {
		if (o->argv)
			cli__error("'%s' exited before its memory could "
				   "be read",
				   o->argv[0]);
		else
			read_error(so.pid, res.err);
		return -1;
	}
	return 0;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static bool is_json(const char *path)
{
	return export__format_from_path(path) == EXPORT_JSON;
}

int cmd_mem(int argc, char **argv)
{
	enum { OPT_INTERVAL = 256, OPT_FAULTS };
	static const struct option longopts[] = {
		CLI_LONGOPTS_TARGET,
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "faults", no_argument, NULL, OPT_FAULTS },
		CLI_LONGOPTS,
	};
	struct mem_opts o = {
		.interval = 0.1,
		.live_reads = true,
		.co = { .stack_size = 16384 },
	};
	struct mem_sampler *s = NULL;
	struct mem_faults *h = NULL;
	struct mem_evidence *ev = NULL;
	struct record *rec = NULL;
	struct profile *prof = NULL;
	struct export_opts eo = { 0 };
	struct mem_snapshots res;
	struct mem_report rep;
	char *command = NULL, title[128];
	int c, ret = EXIT_FATAL, err, status = -1;
	FILE *table;
	uint64_t v;
	double d;

	optind = 1;
	while ((c = cli__getopt(argc, argv, "+p:d:F:o:m:qvh", longopts,
				&o.co)) != -1) {
		switch (c) {
		case 'p':
			if (cli__parse_u64(optarg, &v) || !v || v > INT_MAX) {
				cli__error("invalid pid '%s'", optarg);
				goto usage;
			}
			o.pid = (pid_t)v;
			break;
		case 'd':
			if (parse_seconds(optarg, 1e-9, 1e7, &d)) {
				cli__error("invalid duration '%s' (seconds, "
					   "> 0)",
					   optarg);
				goto usage;
			}
			o.duration = d;
			break;
		case 'F':
			if (cli__parse_freq(optarg, 1000, "snapshots a second",
					    &v))
				goto usage;
			o.interval = 1.0 / (double)v;
			break;
		case OPT_INTERVAL:
			if (parse_seconds(optarg, 0.001, 3600, &d)) {
				cli__error("invalid --interval '%s' "
					   "(0.001..3600 seconds)",
					   optarg);
				goto usage;
			}
			o.interval = d;
			break;
		case OPT_FAULTS:
			o.faults = true;
			break;
		case CLI_OPT_NO_LIVE:
			o.live_reads = false;
			break;
		case CLI_OPT_CGO_PROBE:
			o.cgo_probe = true;
			break;
		case 'h':
			fputs(usage_mem, stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if (cli__check_exec(&o.co, o.pid, optind < argc))
		goto usage;
	if (!o.co.exec && cli__target(argc, argv, o.pid, "measure", &o.argv))
		goto usage;
	if (o.pid && cli__check_pids(&o.pid, 1))
		goto usage;
	table = stdout;
	for (int i = 0; i < o.co.noutputs; i++) {
		const char *path = o.co.outputs[i];

		if (!strcmp(path, "-"))
			table = stderr;
		if (!is_json(path) && !o.faults) {
			cli__error("'%s' is a page-fault profile: add --faults "
				   "(or write *.json)",
				   path);
			goto usage;
		}
	}
	if (cli__check_outputs(&o.co))
		goto out;
	if (o.pid && kill(o.pid, 0) && errno == ESRCH) {
		read_error(o.pid, -ESRCH);
		goto out;
	}

	if (o.co.exec) {
		ret = cli__catch_start(&o.co, &o.pid, &caught_watch);
		if (ret)
			goto out;
		ret = EXIT_FATAL;
	}
	if (o.faults) {
		ev = mem_evidence__new();
		if (!ev) {
			cli__error("out of memory");
			goto out;
		}
		if (measure_faults(&o, ev, &rec, &h, &s, &status))
			goto out;
	} else if (measure(&o, &s, &status)) {
		goto out;
	}

	mem_sampler__result(s, &res);
	command = o.co.exec ? strdup(o.co.exec)
			    : cli__command_line(o.argv, &o.pid, 1);
	if (!command) {
		cli__error("out of memory");
		goto out;
	}
	if (rec) {
		prof = record__profile(rec, command);
		if (!prof) {
			cli__error("cannot build the profile: %s",
				   strerror(errno));
			goto out;
		}
	}
	if (res.exe[0])
		snprintf(title, sizeof(title), "%.64s (pid %d)",
			 base_name(res.exe), res.pid);
	else
		snprintf(title, sizeof(title), "pid %d", res.pid);
	rep = (struct mem_report){
		.pid = res.pid,
		.command = command,
		.title = title,
		.snapshots = res.n,
		.interval = o.interval,
		.peak = res.peak,
		.last = res.last,
		.faults = h ? mem_faults__counts(h) : NULL,
		.lost = rec ? record__stats(rec)->lost : 0,
	};
	ret = 0;
	for (int i = 0; i < o.co.noutputs; i++) {
		const char *path = o.co.outputs[i];

		if (is_json(path))
			err = mem_report__write_json(&rep, path);
		else
			err = export__write_file(prof, &eo, path);
		if (cli__wrote(path, err))
			ret = EXIT_PARTIAL;
	}
	end_command(&o, rec, &status);
	if (!cli_flags.quiet) {
		mem_report__text(&rep, table);
		if (o.argv)
			cli__report_status(status);
		if (res.bad_lines)
			pr_info("%" PRIu64 " malformed smaps lines skipped",
				res.bad_lines);
		if (h)
			pr_info("maps reloaded %" PRIu64 " times for faults",
				mem_faults__counts(h)->reloads);
		if (cli_flags.verbose >= 2)
			mem_report__segments(res.maps, res.cls, stderr);
	}
out:
	release_caught(o.pid);
	if (ending > 0)
		end_command(&o, NULL, &status);
	/* the sampler's thread first: it reads the evidence */
	mem_sampler__free(s);
	profile__free(prof);
	record__free(rec);
	mem_faults__free(h);
	mem_evidence__free(ev);
	free(command);
	return ret;
usage:
	return cli__usage_error("mem");
}
