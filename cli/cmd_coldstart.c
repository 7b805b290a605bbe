// SPDX-License-Identifier: MIT
/* `cgoprof coldstart`: its options, messages and exit codes. The
 * measurement is the coldstart library (coldstart.h), the table, JSON and
 * merged folded stacks its exporters (export.h). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "cgoprof/coldstart.h"
#include "cgoprof/export.h"
#include "cgoprof/log.h"
#include "internal.h"

static const char usage_coldstart[] =
	"usage: cgoprof coldstart [options] -- CMD [ARGS...]\n"
	"       cgoprof coldstart [options] -- CMD_A [ARGS...] --- CMD_B "
	"[ARGS...]\n"
	"       cgoprof coldstart [options] --exec PATH [--- --exec PATH_B]\n"
	"\n"
	"Starts CMD RUNS times and times each phase of its start: for Go\n"
	"loader (exec to the ELF entry), runtime-init (entry to runtime.main),\n"
	"package-init (runtime.main to main.main), main-to-ready (main.main to\n"
	"the first call of --ready SYMBOL, or exit); for other programs loader,\n"
	"init (entry to main), main-to-ready. Each start is also profiled, each\n"
	"stack rooted at its phase. With '---', CMD_A and CMD_B are started in\n"
	"turn and shown side by side with the difference per phase.\n"
	"\n"
	"With --exec, nothing is started: cgoprof waits for the next RUNS\n"
	"executions of the file PATH, system-wide, whoever starts them and in\n"
	"any mount or PID namespace (the file is matched by device and inode,\n"
	"so a bind mount of it under another path is caught too). Each start\n"
	"is held stopped before its first instruction while its events are\n"
	"opened (the held time is reported, and is not in the phases), then\n"
	"measured as a launched start is, with its memory at --ready.\n"
	"\n"
	"  -n, --runs N            starts per command (default 10)\n"
	"  -F, --freq HZ           sampling frequency (default 9999)\n"
	"      --ready SYMBOL      the start ends at the first call of SYMBOL\n"
	"                          (a Go or ELF function of the main binary);\n"
	"                          a launched command is then stopped\n"
	"                          (SIGTERM), a caught one left running.\n"
	"                          Presets: aws-lambda-go (the runtime client's\n"
	"                          first request for an invocation)\n"
	"      --exec PATH         catch the starts of PATH instead (above);\n"
	"                          '--- --exec PATH_B' compares two binaries\n"
	"      --timeout SEC       --exec: stop waiting after SEC seconds; the\n"
	"                          starts caught are reported (exit status 1)\n"
	"      --compare           expect '--- CMD_B' (optional: '---' is enough)\n"
	"      --warmup N          N starts of each command first, not measured\n"
	"                          (the page cache, cgoprof's own caches)\n"
	"      --prepare CMD       run CMD (/bin/sh -c) before each start, e.g.\n"
	"                          'sync; echo 3 > /proc/sys/vm/drop_caches'\n"
	"                          for starts from a cold page cache; its\n"
	"                          failure ends the measurement (exit 2)\n"
	"      --show-output       the command's stdout and stderr (default:\n"
	"                          /dev/null, as --prepare's)\n"
	"  -m, --mmap-pages N      ring buffer pages per CPU (power of two;\n"
	"                          default 4096)\n"
	"  -o, --output FILE       repeatable: *.json phase summary; *.folded or\n"
	"                          *.txt folded stacks of every run (merged); "
	"*.svg,\n"
	"                          *.pb.gz or *.pprof the last run's profile; '-'\n"
	"                          merged folded on stdout (the table goes to "
	"stderr)\n"
	"      --stack-size BYTES  user stack copied per sample (default 16384)\n"
	"  -q, --quiet             no table\n"
	"  -v, --verbose           more messages (twice: debug)\n"
	"  -h, --help\n"
	"\n"
	"Needs root (or CAP_PERFMON): the uprobes are opened on every CPU;\n"
	"--exec also needs CAP_BPF (a BPF program on the exec tracepoint).\n"
	"Exit status: 0 measured, 1 partial (an output could not be written, a\n"
	"phase boundary was never hit, or --timeout came first), 2 fatal, 64\n"
	"usage; SIGINT, SIGTERM,\n"
	"SIGHUP and SIGPIPE end the runs with the outputs written: 0 for\n"
	"SIGINT, else 128+N.\n";

/* What the runs leave for the outputs beyond their statistics: A's folded
 * stacks, merged run by run (only the latest profile is kept whole). */
struct fold_ctx {
	const struct coldstart_series *a;
	struct folded_merge *folded;
};

static int on_run(void *ctx, const struct coldstart_series *s,
		  const struct profile *p)
{
	struct fold_ctx *c = ctx;

	return s == c->a ? folded_merge__add(c->folded, p) : 0;
}

static void target_error(int err, const struct coldstart_target *t)
{
	switch (err) {
	case -ENOENT:
		cli__error("command not found: '%s'", t->argv[0]);
		break;
	case -EINVAL:
		cli__error("'%s' is not an ELF executable with an entry point "
			   "(scripts cannot be timed)",
			   t->argv[0]);
		break;
	case -ESRCH:
		cli__error("no function '%s' in '%s'", t->ready, t->path);
		break;
	case -EACCES:
		cli__error("'%s' is not an executable file", t->argv[0]);
		break;
	case -ENOMEM:
		cli__error("out of memory");
		break;
	default:
		cli__error("cannot prepare '%s': %s", t->argv[0],
			   strerror(-err));
	}
}

static void measure_error(const struct coldstart_error *e)
{
	const struct coldstart_target *t = e->target;

	switch (e->stage) {
	case COLDSTART_STAGE_PMU:
		cli__error("no uprobe PMU here "
			   "(/sys/bus/event_source/devices/uprobe)");
		break;
	case COLDSTART_STAGE_MONITOR:
		if (e->err == EACCES || e->err == EPERM)
			cli__error("not permitted to open %s on every CPU: %s "
				   "(coldstart needs root or CAP_PERFMON)",
				   e->what, strerror(e->err));
		else
			cli__error("cannot open %s for '%s': %s", e->what,
				   t->path, strerror(e->err));
		break;
	case COLDSTART_STAGE_RECORD:
		cli__open_error(&e->record, "cpu-clock", t->argv[0]);
		break;
	case COLDSTART_STAGE_PROFILE:
		cli__error("cannot build the profile: %s", strerror(e->err));
		break;
	case COLDSTART_STAGE_WATCH:
		if (e->err == EPERM || e->err == EACCES)
			cli__error("cannot watch for starts system-wide: %s "
				   "(--exec needs root, or CAP_BPF and "
				   "CAP_PERFMON)",
				   e->what);
		else
			cli__error("cannot watch for starts: %s: %s", e->what,
				   strerror(e->err));
		break;
	case COLDSTART_STAGE_PREPARE:
		if (e->err)
			cli__error("cannot run --prepare '%s': %s", e->what,
				   strerror(e->err));
		else if (WIFEXITED(e->status))
			cli__error("--prepare '%s' failed: exit status %d",
				   e->what, WEXITSTATUS(e->status));
		else
			cli__error("--prepare '%s' failed: %s", e->what,
				   WIFSIGNALED(e->status)
					   ? strsignal(WTERMSIG(e->status))
					   : "stopped");
		break;
	default:
		if (e->err == ENOMEM)
			cli__error("out of memory");
		else
			cli__error("cannot measure '%s' (%s): %s", t->argv[0],
				   e->what, strerror(e->err));
	}
}

int cmd_coldstart(int argc, char **argv)
{
	enum { OPT_READY = 256, OPT_COMPARE, OPT_WARMUP, OPT_PREPARE,
	       OPT_SHOW_OUTPUT, OPT_EXEC, OPT_TIMEOUT };
	static const struct option longopts[] = {
		{ "runs", required_argument, NULL, 'n' },
		{ "freq", required_argument, NULL, 'F' },
		{ "ready", required_argument, NULL, OPT_READY },
		{ "compare", no_argument, NULL, OPT_COMPARE },
		{ "mmap-pages", required_argument, NULL, 'm' },
		{ "warmup", required_argument, NULL, OPT_WARMUP },
		{ "prepare", required_argument, NULL, OPT_PREPARE },
		{ "show-output", no_argument, NULL, OPT_SHOW_OUTPUT },
		{ "exec", required_argument, NULL, OPT_EXEC },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		CLI_LONGOPTS,
	};
	struct coldstart_opts o = {
		.runs = 10,
		.freq = 9999,
		.stop = &cli_stop,
	};
	struct cli_common co = { .stack_size = 16384 };
	struct coldstart_target tg[2];
	struct coldstart_series ser[2];
	struct folded_merge folded = { 0 };
	struct fold_ctx fc = { &ser[0], &folded };
	struct coldstart_report rep = { &ser[0], NULL, &folded };
	struct coldstart_error ce;
	const char *ready = NULL;
	char **cmds[2] = { NULL, NULL };
	char *exec_argv[2][2] = { { NULL, NULL }, { NULL, NULL } };
	int nexec = 0, split = 0, full_argc = argc, caught;
	double timeout = 0;
	bool compare = false;
	int c, ret = EXIT_FATAL, ntargets = 1, err;
	FILE *table = stdout;
	uint64_t v;

	memset(tg, 0, sizeof(tg));
	memset(ser, 0, sizeof(ser));
	/* --exec A --- --exec B: '---' before any '--' splits the options
	 * (getopt would take it for an option) */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "---")) {
			split = i;
			full_argc = argc;
			argc = i;
			break;
		}
	optind = 1;
again:
	while ((c = cli__getopt(argc, argv, "+n:F:m:o:qvh", longopts,
				&co)) != -1) {
		switch (c) {
		case OPT_EXEC:
			if (nexec == 2) {
				cli__error("at most two --exec (A --- B)");
				goto usage;
			}
			exec_argv[nexec++][0] = optarg;
			break;
		case OPT_TIMEOUT:
			if (cli__parse_seconds(optarg, &timeout) ||
			    timeout <= 0) {
				cli__error("invalid --timeout '%s' (seconds "
					   "> 0)",
					   optarg);
				goto usage;
			}
			break;
		case 'n':
			if (cli__parse_u64(optarg, &v) || !v ||
			    v > COLDSTART_MAX_RUNS) {
				cli__error("invalid --runs '%s' (1..%d)", optarg,
					   COLDSTART_MAX_RUNS);
				goto usage;
			}
			o.runs = (int)v;
			break;
		case 'F':
			if (cli__parse_freq(optarg, 100000, "Hz", &o.freq))
				goto usage;
			break;
		case OPT_READY:
			if (!*optarg) {
				cli__error("--ready needs a function name");
				goto usage;
			}
			ready = optarg;
			break;
		case OPT_COMPARE:
			compare = true;
			break;
		case OPT_WARMUP:
			if (cli__parse_u64(optarg, &v) ||
			    v > COLDSTART_MAX_RUNS) {
				cli__error("invalid --warmup '%s' (0..%d)",
					   optarg, COLDSTART_MAX_RUNS);
				goto usage;
			}
			o.warmup = (int)v;
			break;
		case OPT_PREPARE:
			if (!*optarg) {
				cli__error("--prepare needs a command");
				goto usage;
			}
			o.prepare = optarg;
			break;
		case OPT_SHOW_OUTPUT:
			o.show_output = true;
			break;
		case 'h':
			fputs(usage_coldstart, stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if (split) {
		if (optind != split || nexec != 1) {
			cli__error("'---' without a command before it is for "
				   "--exec A --- --exec B");
			goto usage;
		}
		argc = full_argc;
		optind = split + 1;
		split = 0;
		goto again;
	}
	if (nexec) {
		if (optind < argc) {
			cli__error("--exec catches starts: no command to give "
				   "('%s')",
				   argv[optind]);
			goto usage;
		}
		if (o.warmup || o.prepare) {
			cli__error("--warmup and --prepare start nothing with "
				   "--exec");
			goto usage;
		}
		ntargets = nexec;
		cmds[0] = exec_argv[0];
		cmds[1] = exec_argv[1];
	} else if (timeout > 0) {
		cli__error("--timeout is for --exec");
		goto usage;
	}
	if (!nexec && optind >= argc) {
		cli__error("nothing to start: give -- CMD [ARGS] or --exec "
			   "PATH");
		goto usage;
	}
	if (!nexec)
		cmds[0] = &argv[optind];
	for (int i = optind; i < argc && !nexec; i++) {
		if (strcmp(argv[i], "---"))
			continue;
		argv[i] = NULL;
		cmds[1] = &argv[i + 1];
		ntargets = 2;
		break;
	}
	if (ntargets == 2 && (!cmds[0][0] || !cmds[1][0])) {
		cli__error("'---' needs a command on each side");
		goto usage;
	}
	if (compare && ntargets == 1) {
		cli__error("--compare needs two commands: -- CMD_A ... --- "
			   "CMD_B ...");
		goto usage;
	}
	for (int i = 0; i < co.noutputs; i++)
		if (!strcmp(co.outputs[i], "-"))
			table = stderr;
	if (cli__check_outputs(&co))
		goto out;
	o.stack_size = co.stack_size;
	/* the same ceiling as record's: its starts are sampled the same way */
	o.freq = cli__sustainable_freq(o.freq, co.stack_size);
	o.mmap_pages = co.mmap_pages ? co.mmap_pages : COLDSTART_MMAP_PAGES;
	o.timeout = timeout;
	for (int k = 0; k < ntargets; k++) {
		if (nexec && access(cmds[k][0], X_OK)) {
			err = errno == ENOENT ? -ENOENT : -EACCES;
			tg[k].argv = cmds[k];
			target_error(err, &tg[k]);
			goto out;
		}
		err = coldstart_target__init(&tg[k], cmds[k],
					     coldstart__ready_preset(ready));
		if (err) {
			target_error(err, &tg[k]);
			goto out;
		}
		if (coldstart_series__init(&ser[k], &tg[k], o.runs)) {
			cli__error("out of memory");
			goto out;
		}
	}

	o.on_run = on_run;
	o.ctx = &fc;
	if (nexec ? coldstart__watch(ser, ntargets, &o, &ce)
		  : coldstart__measure(ser, ntargets, &o, &ce)) {
		measure_error(&ce);
		goto out;
	}
	caught = ser[0].runs + (ntargets == 2 ? ser[1].runs : 0);
	if (!ser[0].runs || (ntargets == 2 && !ser[1].runs)) {
		if (ce.stage == COLDSTART_STAGE_TIMEOUT) {
			cli__error("--timeout: %d of %d starts caught, too few "
				   "to report",
				   caught, o.runs * ntargets);
			ret = EXIT_PARTIAL;
		} else {
			cli__error("interrupted before a start was measured");
		}
		goto out;
	}
	ret = 0;
	if (ce.stage == COLDSTART_STAGE_TIMEOUT) {
		pr_warn("--timeout: %d of %d starts caught; the report is of "
			"those",
			caught, o.runs * ntargets);
		ret = EXIT_PARTIAL;
	}
	for (int k = 0; k < ntargets; k++)
		if (ser[k].missed) {
			pr_warn("'%s': %" PRIu64 " phase boundaries were never "
				"hit (taken as the next one)",
				tg[k].argv[0], ser[k].missed);
			ret = EXIT_PARTIAL;
		}
	if (ntargets == 2)
		rep.b = &ser[1];
	for (int i = 0; i < co.noutputs; i++)
		if (cli__wrote(co.outputs[i],
			       export__coldstart_write(&rep, co.outputs[i])))
			ret = EXIT_PARTIAL;
	if (!cli_flags.quiet)
		export__coldstart_text(&rep, table);
out:
	folded_merge__release(&folded);
	for (int k = 0; k < 2; k++) {
		coldstart_series__release(&ser[k]);
		coldstart_target__release(&tg[k]);
	}
	return ret;
usage:
	return cli__usage_error("coldstart");
}
