// SPDX-License-Identifier: MIT
/* The command line: parses options, dispatches subcommands, and builds every
 * user-facing error message (library code only logs). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cgoprof/export.h"
#include "cgoprof/gosnap.h"
#include "cgoprof/log.h"
#include "cgoprof/record.h"
#include "internal.h"

/* The line a terminal sees while recording, erased at the end. */
static void progress_line(void *ctx, double seconds,
			  const struct record_stats *st, size_t threads,
			  bool done)
{
	(void)ctx;
	/* to the descriptor: the carriage return is ours, and stderr's
	 * filter would turn it into '?' */
	fflush(stderr);
	if (done)
		dprintf(STDERR_FILENO, "\r%*s\r", 70, "");
	else
		dprintf(STDERR_FILENO,
			"\r[ cgoprof: %.1f s, %" PRIu64 " samples, %" PRIu64
			" lost, %zu threads ]  ",
			seconds, st->samples, st->lost, threads);
}

#define error cli__error

static const char usage_main[] =
	"usage: cgoprof <command> [options]\n"
	"\n"
	"  record [opts] -p PID[,PID...]   profile running processes\n"
	"  record [opts] -- CMD [ARGS...]  launch CMD and profile it from its "
	"first instruction\n"
	"  record [opts] --exec PATH       the next start of PATH, whoever "
	"starts it\n"
	"  coldstart [opts] -- CMD [ARGS]  start CMD -n times: time and profile each\n"
	"                                  start-up phase (--- CMD_B to compare)\n"
	"  coldstart [opts] --exec PATH    the same for the next -n starts of PATH\n"
	"                                  that anyone makes (a platform's)\n"
	"  mem [opts] (-p PID | -- CMD | --exec PATH)\n"
	"                                  RSS by category, outside the Go heap;\n"
	"                                  --faults: who brought it in\n"
	"  audit [opts] BINARY...          what a binary is made of, why it has\n"
	"                                  cgo, a CI gate (--- B to compare)\n"
	"\n"
	"Run 'cgoprof COMMAND --help' for the options; 'cgoprof --version'\n"
	"(-V) for the version, the commit and the features built in.\n";

static const char usage_record[] =
	"usage: cgoprof record [options] -p PID[,PID...]\n"
	"       cgoprof record [options] -- CMD [ARGS...]\n"
	"       cgoprof record [options] --exec PATH\n"
	"\n"
	"Samples whole stacks (Go and C, across cgo calls) of every thread,\n"
	"including threads and children created while recording.\n"
	"\n"
	"  -p, --pid PID[,PID...]  attach to these processes\n"
	"      --exec PATH         wait for the next start of the file PATH,\n"
	"                          system-wide, in any mount or PID namespace\n"
	"                          (matched by device and inode), and profile it\n"
	"                          from its first instruction: it is held\n"
	"                          stopped while the events open (needs root, or\n"
	"                          CAP_BPF and CAP_PERFMON)\n"
	"      --timeout SEC       --exec: give up after SEC seconds (exit 1)\n"
	"  -F, --freq HZ           sampling frequency (default 999; lowered, with\n"
	"                          a warning, to what the stack copies allow:\n"
	"                          10 kHz at 16 KiB)\n"
	"  -c, --count N           sample every N events instead of -F\n"
	"  -e, --event NAME        event, parsed by libpfm4 (default cpu-clock;\n"
	"                          also task-clock, page-faults, "
	"context-switches,\n"
	"                          and PMU events where the hardware has one)\n"
	"  -d, --duration SEC      stop after SEC seconds (default: until the\n"
	"                          targets exit, or Ctrl-C)\n"
	"      --kill-after SEC    a launched command still running when the\n"
	"                          recording ends gets SIGTERM, then SIGKILL\n"
	"                          SEC seconds later (default 5), its outputs\n"
	"                          written first\n"
	"  -o, --output FILE       repeatable; format from the name: *.folded or\n"
	"                          *.txt folded stacks, *.folded.gz gzipped,\n"
	"                          *.pb.gz or *.pprof pprof, *.svg flame graph,\n"
	"                          *.json summary; '-' folded\n"
	"                          on stdout (default: cgoprof.folded); other\n"
	"                          suffixes, directories, FIFOs and devices\n"
	"                          (but /dev/null) are refused\n"
	"      --stack-size BYTES  user stack copied per sample (default 16384,\n"
	"                          8..65528, a multiple of 8)\n"
	"  -m, --mmap-pages N      ring buffer pages per CPU (a power of two\n"
	"                          that holds a sample: 8 for 16 KiB stacks)\n"
	"      --no-kernel         user frames only\n"
	"      --no-live-reads     never read the target's memory\n"
	"      --unwinder NAME     native (default: Go, cgo and C frames),\n"
	"                          libunwind (C frames only, libunwind's remote\n"
	"                          API), compare (native, checked against\n"
	"                          libunwind: disagreements are counted)\n"
	"      --cgo-probe         a uprobe at runtime.asmcgocall records the Go\n"
	"                          stack as each cgo call starts: exact Go callers\n"
	"                          of C code that uses rbp, at a cost per cgo call\n"
	"                          (microseconds: only for programs that make few)\n"
	"      --scope cpu|thread  where cpu-clock's timers run: cpu (the default\n"
	"                          where the eBPF program loads) has one a CPU\n"
	"                          and the program drops other processes'\n"
	"                          samples; thread has one a thread, as perf\n"
	"                          record, re-armed at every context switch\n"
	"                          (which a VM pays in exits); cpu ticks idle\n"
	"                          CPUs too: on a large machine where the\n"
	"                          targets use few CPUs, thread can cost less\n"
	"      --no-bpf            no goroutine stack snapshots: by default an eBPF\n"
	"                          program copies the goroutine's stack of a\n"
	"                          sample taken in a cgo call (needs root, or\n"
	"                          CAP_BPF and CAP_PERFMON, and kernel BTF)\n"
	"      --morestack-probe   a uprobe at runtime.morestack of each Go binary\n"
	"                          records the goroutine's frames as its stack\n"
	"                          grows: samples in newstack and copystack get\n"
	"                          them; a cost per stack growth (root, or\n"
	"                          CAP_PERFMON: the probe is system-wide)\n"
	"      --pid-root          folded: root 'comm-PID'  (also --pid with -p)\n"
	"      --tid               folded: root 'comm-PID/TID'\n"
	"      --annotate          folded: '_[k]' kernel, '_[i]' inlined frames\n"
	"      --weight            folded: sum of periods instead of counts\n"
	"      --icicle            SVG: top-down\n"
	"  -q, --quiet             no progress, no summary\n"
	"  -v, --verbose           more messages (twice: debug)\n"
	"  -h, --help\n"
	"\n"
	"Exit status: 0 recorded (whatever the command's own status, which the\n"
	"summary reports), 1 partial (an output could not be written), 2 "
	"fatal,\n"
	"64 usage. SIGINT (Ctrl-C), SIGTERM, SIGHUP and SIGPIPE end the\n"
	"recording: the outputs are written, a launched command is stopped;\n"
	"the status is then 0 for SIGINT, 128+N for signal N (129 SIGHUP,\n"
	"141 SIGPIPE, 143 SIGTERM).\n";


static int parse_pids(const char *s, pid_t **pids, int *npids)
{
	char *copy = strdup(s), *tok, *save = NULL;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;
		pid_t *p;

		if (cli__parse_u64(tok, &v) || !v || v > INT_MAX) {
			err = -EINVAL;
			break;
		}
		p = realloc(*pids, (size_t)(*npids + 1) * sizeof(**pids));
		if (!p) {
			err = -ENOMEM;
			break;
		}
		*pids = p;
		(*pids)[(*npids)++] = (pid_t)v;
	}
	free(copy);
	if (!err && !*npids)
		err = -EINVAL;
	return err;
}

static int cmd_record(int argc, char **argv)
{
	enum { OPT_NO_KERNEL = 256, OPT_TID, OPT_ANNOTATE, OPT_WEIGHT,
	       OPT_ICICLE, OPT_PID_ROOT, OPT_UNWINDER, OPT_MS_PROBE,
	       OPT_NO_BPF, OPT_SCOPE };
	static const struct option longopts[] = {
		CLI_LONGOPTS_TARGET,
		{ "count", required_argument, NULL, 'c' },
		{ "event", required_argument, NULL, 'e' },
		{ "no-kernel", no_argument, NULL, OPT_NO_KERNEL },
		{ "morestack-probe", no_argument, NULL, OPT_MS_PROBE },
		{ "no-bpf", no_argument, NULL, OPT_NO_BPF },
		{ "scope", required_argument, NULL, OPT_SCOPE },
		{ "unwinder", required_argument, NULL, OPT_UNWINDER },
		{ "pid-root", no_argument, NULL, OPT_PID_ROOT },
		{ "tid", no_argument, NULL, OPT_TID },
		{ "annotate", no_argument, NULL, OPT_ANNOTATE },
		{ "weight", no_argument, NULL, OPT_WEIGHT },
		{ "icicle", no_argument, NULL, OPT_ICICLE },
		CLI_LONGOPTS,
	};
	struct record_opts ro = {
		.freq = 999,
		.unwind = { .live_reads = true },
		.stop = &cli_stop,
	};
	struct cli_common co = { .stack_size = 16384 };
	struct export_opts eo = { 0 };
	int c, ret = EXIT_FATAL, err;
	pid_t *pids = NULL, caught = 0;
	int npids = 0;
	struct execwatch *watch = NULL;
	struct record *rec = NULL;
	struct record_error re;
	struct profile *prof = NULL;
	char *command = NULL, **cmd;
	uint64_t v;
	double d;
	bool freq_given = false, count_given = false;

	optind = 1;
	while ((c = cli__getopt(argc, argv, "+p:F:c:e:d:o:m:qvh", longopts,
				&co)) != -1) {
		switch (c) {
		case 'p':
			if (parse_pids(optarg, &pids, &npids)) {
				error("invalid pid list '%s' (expected "
				      "PID[,PID...])",
				      optarg);
				goto usage;
			}
			break;
		case 'F':
			if (cli__parse_freq(optarg, 100000, "Hz", &ro.freq))
				goto usage;
			ro.period = 0;
			freq_given = true;
			break;
		case 'c':
			if (cli__parse_u64(optarg, &v) || !v) {
				error("invalid count '%s'", optarg);
				goto usage;
			}
			ro.period = v;
			ro.freq = 0;
			count_given = true;
			break;
		case 'e':
			ro.event = optarg;
			break;
		case 'd':
			if (cli__parse_seconds(optarg, &d)) {
				error("invalid duration '%s' (seconds, > 0)",
				      optarg);
				goto usage;
			}
			ro.duration = d;
			break;
		case OPT_NO_KERNEL:
			ro.no_kernel = true;
			ro.unwind.user_only = true;
			break;
		case CLI_OPT_NO_LIVE:
			ro.unwind.live_reads = false;
			break;
		case CLI_OPT_CGO_PROBE:
			ro.cgo_probe = true;
			break;
		case OPT_MS_PROBE:
			ro.morestack_probe = true;
			break;
		case OPT_NO_BPF:
			ro.no_bpf = true;
			break;
		case OPT_SCOPE:
			if (!strcmp(optarg, "cpu")) {
				ro.scope = RECORD_SCOPE_CPU;
			} else if (!strcmp(optarg, "thread")) {
				ro.scope = RECORD_SCOPE_THREAD;
			} else {
				error("invalid --scope '%s' (cpu or thread)",
				      optarg);
				goto usage;
			}
			break;
		case OPT_UNWINDER:
			if (!strcmp(optarg, "native")) {
				ro.unwind.backend = UNWINDER_NATIVE;
			} else if (!strcmp(optarg, "libunwind")) {
				ro.unwind.backend = UNWINDER_LIBUNWIND;
			} else if (!strcmp(optarg, "compare")) {
				ro.unwind.backend = UNWINDER_COMPARE;
			} else {
				error("invalid --unwinder '%s' (native, "
				      "libunwind or compare)",
				      optarg);
				goto usage;
			}
			break;
		case OPT_PID_ROOT:
			eo.folded_pid = true;
			break;
		case OPT_TID:
			eo.folded_tid = true;
			break;
		case OPT_ANNOTATE:
			eo.folded_annotate = true;
			break;
		case OPT_WEIGHT:
			eo.folded_weight = true;
			break;
		case OPT_ICICLE:
			eo.icicle = true;
			break;
		case 'h':
			fputs(usage_record, stdout);
			free(pids);
			return 0;
		default:
			goto usage;
		}
	}
	if (freq_given && count_given) {
		error("give either -F or -c, not both");
		goto usage;
	}
	if (cli__check_exec(&co, npids, optind < argc))
		goto usage;
	if (!co.exec && cli__target(argc, argv, npids, "profile", &cmd))
		goto usage;
	if (co.exec)
		cmd = NULL;
	if (cli__check_pids(pids, npids))
		goto usage;
	ro.argv = cmd;
	ro.pids = pids;
	ro.npids = npids;
	ro.stack_size = co.stack_size;
	ro.mmap_pages = co.mmap_pages;
	ro.kill_after = co.kill_after;
	if (!co.noutputs)
		co.outputs[co.noutputs++] = "cgoprof.folded";
	if (cli__check_outputs(&co))
		goto out;
	if (ro.freq)
		ro.freq = cli__sustainable_freq(ro.freq, co.stack_size);
	if (!cli_flags.quiet && isatty(STDERR_FILENO))
		ro.progress = progress_line;

	if (co.exec) {
		ret = cli__catch_start(&co, &caught, &watch);
		if (ret)
			goto out;
		ret = EXIT_FATAL;
		ro.pids = &caught;
		ro.npids = 1;
	}
	rec = record__new(&ro);
	if (!rec) {
		error("out of memory");
		goto out;
	}
	err = record__open(rec, &re);
	if (err) {
		cli__open_error(&re, ro.event ? ro.event : "cpu-clock",
				ro.argv ? ro.argv[0] : "");
		goto out;
	}
	/* its events are open: the caught start runs from its first
	 * instruction */
	cli__release_start(watch, caught);
	watch = NULL;
	if (record__stats(rec)->user_only_fallback)
		pr_warn("kernel samples not permitted "
			"(perf_event_paranoid): recording user space only");
	record__loop(rec);

	command = co.exec ? strdup(co.exec)
			  : cli__command_line(ro.argv, pids, npids);
	prof = record__profile(rec, command);
	if (!prof) {
		error("cannot build the profile: %s", strerror(errno));
		goto out;
	}
	ret = 0;
	for (int i = 0; i < co.noutputs; i++)
		if (cli__wrote(co.outputs[i],
			       export__write_file(prof, &eo, co.outputs[i])))
			ret = EXIT_PARTIAL;
	/* the outputs are safe: now wait for a command that outlived the
	 * recording (SIGTERM, --kill-after, SIGKILL) */
	record__end_child(rec);
	if (!cli_flags.quiet) {
		const struct record_stats *st = record__stats(rec);

		export__summary_text(prof, stderr);
		if (st->ns_elapsed && ro.freq)
			fprintf(stderr,
				"sampling rate: %.0f samples/s (-F %" PRIu64
				" per busy CPU; lower under load, or when lost)\n",
				(double)st->samples * 1e9 /
					(double)st->ns_elapsed,
				ro.freq);
		if (ro.unwind.backend == UNWINDER_COMPARE)
			fprintf(stderr,
				"unwinders compared on %" PRIu64
				" samples with C frames: %" PRIu64 " disagreements\n",
				st->compared, st->disagreed);
		if (cli_flags.verbose) {
			struct rusage ru;

			if (!getrusage(RUSAGE_SELF, &ru))
				fprintf(stderr,
					"cgoprof: peak RSS %.1f MB, CPU %.3f s user "
					"%.3f s system\n",
					(double)ru.ru_maxrss / 1024.0,
					(double)ru.ru_utime.tv_sec +
						(double)ru.ru_utime.tv_usec / 1e6,
					(double)ru.ru_stime.tv_sec +
						(double)ru.ru_stime.tv_usec / 1e6);
		}
		if (cli_flags.verbose && st->samples)
			fprintf(stderr, "mean time from sample to unwinding: %.1f us\n",
				(double)st->latency_ns / (double)st->samples / 1e3);
		if (st->cgo_entries && cli_flags.verbose)
			fprintf(stderr, "cgo calls recorded by the entry probe: %" PRIu64 "\n",
				st->cgo_entries);
		if (cli_flags.verbose)
			fprintf(stderr, "sampling: one timer %s%s%s\n",
				st->cpu_scope ? "a CPU" : "a thread",
				st->thread_scope_why ? ": " : "",
				st->thread_scope_why ? st->thread_scope_why : "");
		if (cli_flags.verbose && st->reaped)
			fprintf(stderr,
				"samples of threads already reaped (pid -1), "
				"dropped: %" PRIu64 "\n",
				st->reaped);
		if (st->targets_full)
			fprintf(stderr,
				"processes not sampled: %" PRIu64 " (more than %d "
				"targets at once)\n",
				st->targets_full, CGOPROF_GOSNAP_TARGETS);
		if (st->targets_lost)
			fprintf(stderr,
				"processes not followed: %" PRIu64
				" (out of memory)\n",
				st->targets_lost);
		if (cli_flags.verbose && st->gosnap_on)
			fprintf(stderr, "goroutine stack snapshots (BPF): %" PRIu64 "\n",
				st->go_snapshots);
		else if (cli_flags.verbose && st->gosnap_off)
			fprintf(stderr, "goroutine stack snapshots (BPF): off: %s\n",
				st->gosnap_off);
		if (cli_flags.verbose && st->gosnap_on && st->bpf_runs)
			fprintf(stderr,
				"snapshot program: %" PRIu64 " runs, %.2f us a run, "
				"%.3f s in the sampled tasks (kernel.bpf_stats_enabled)\n",
				st->bpf_runs,
				(double)st->bpf_ns / (double)st->bpf_runs / 1e3,
				(double)st->bpf_ns / 1e9);
		if (st->morestack_probes && cli_flags.verbose)
			fprintf(stderr,
				"morestack probes: %" PRIu64 " Go binaries, %" PRIu64
				" stack growths recorded\n",
				st->morestack_probes, st->morestack_entries);
		if (st->throttled || st->bad_records)
			fprintf(stderr,
				"throttled: %" PRIu64 ", malformed records: %" PRIu64
				"\n",
				st->throttled, st->bad_records);
		if (st->unwind_failed || st->aggregate_failed)
			fprintf(stderr,
				"samples not in the profile: %" PRIu64
				" not unwound, %" PRIu64 " out of memory\n",
				st->unwind_failed, st->aggregate_failed);
		if (ro.argv)
			cli__report_status(record__child_status(rec));
	}
	if (!prof->total_samples && !cli_flags.quiet)
		pr_warn("no samples were recorded");
out:
	cli__release_start(watch, caught);
	profile__free(prof);
	record__free(rec);
	free(command);
	free(pids);
	gosnap__unpark();
	return ret;
usage:
	free(pids);
	return cli__usage_error("record");
}

int main(int argc, char **argv)
{
	cli__start();
	if (argc < 2) {
		fputs(usage_main, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))
		return cli__version(stdout);
	/* a signal that ended the command says so, outputs written */
	if (!strcmp(argv[1], "record"))
		return cli__exit_status(cmd_record(argc - 1, argv + 1));
	if (!strcmp(argv[1], "mem"))
		return cli__exit_status(cmd_mem(argc - 1, argv + 1));
	if (!strcmp(argv[1], "coldstart"))
		return cli__exit_status(cmd_coldstart(argc - 1, argv + 1));
	if (!strcmp(argv[1], "audit"))
		return cli__exit_status(cmd_audit(argc - 1, argv + 1));
	{
		static const char *const commands[] = { "record", "mem",
							"coldstart", "audit" };
		const char *near = cli__nearest(argv[1], commands, 4);

		if (near)
			error("unknown command '%s' (did you mean %s?)", argv[1],
			      near);
		else
			error("unknown command '%s'", argv[1]);
	}
	fputs(usage_main, stderr);
	return EXIT_USAGE;
}
