// SPDX-License-Identifier: MIT
/* `cgoprof audit`: its options, the error text for each unreadable input,
 * the comparison of two binaries and the CI gate (findings, growth against
 * a baseline) with its exit codes. The analysis is profiler/audit.c, the
 * outputs export/audit_report.c. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgoprof/audit_report.h"
#include "cgoprof/export.h"
#include "internal.h"

#define EXIT_GATE 3
#define BASELINE_MAX (64u << 20)

static const char usage_audit[] =
	"usage: cgoprof audit [options] BINARY...\n"
	"       cgoprof audit [options] BINARY_A --- BINARY_B\n"
	"\n"
	"Reads ELF executables without running them and reports: the Go build\n"
	"(version, settings, main module, dependencies), the linkage (kind,\n"
	"interpreter, needed libraries and their closure as the loader finds\n"
	"them, libc, newest glibc version needed), why there is cgo (the\n"
	"packages with cgo calls, the C functions each calls, the tag that\n"
	"removes it), the size in parts that add up to the file, the libc\n"
	"imports by group, and findings. With '---', A and B side by side.\n"
	"\n"
	"  -o, --output FILE.json  the reports as JSON ('-': stdout; README)\n"
	"      --max-glibc X.Y     an error finding when a newer glibc is needed\n"
	"      --no-cgo            an error finding when cgo is present\n"
	"      --baseline OLD.json compare with an earlier -o output (matched by\n"
	"                          path, then by file name) ...\n"
	"      --max-growth PCT    ... and fail when a file grew by more than PCT\n"
	"                          percent (with '---': B against A)\n"
	"      --ld-so-cache FILE  the loader's cache (default /etc/ld.so.cache)\n"
	"  -q, --quiet             one line per binary instead of the report\n"
	"  -v, --verbose           more messages (twice: debug)\n"
	"  -h, --help\n"
	"\n"
	"Exit status: 0 clean, 2 an input could not be read, 3 a gate tripped\n"
	"(an error finding, or growth beyond --max-growth; the reason on\n"
	"stderr), 64 usage.\n";

struct audit_cli {
	struct audit_opts opts;
	const char *output;
	const char *baseline;
	double max_growth;	/* < 0: none */
};

static void input_error(const char *path, int err)
{
	switch (err) {
	case EISDIR:
		cli__error("'%s' is a directory, not an executable", path);
		break;
	case EINVAL:
		cli__error("'%s' is not a regular file", path);
		break;
	case ENOEXEC:
		cli__error("'%s' is not an ELF file (or too damaged to read)",
			   path);
		break;
	case EFAULT:
		cli__error("'%s' is truncated or corrupt: its headers point "
			   "past its end", path);
		break;
	case ENOENT:
		cli__error("no such file: '%s'", path);
		break;
	default:
		cli__error("cannot read '%s': %s", path, strerror(err));
		break;
	}
}

struct json_job {
	struct audit_report *const *reports;
	size_t n;
};

static int write_json(FILE *f, void *ctx)
{
	const struct json_job *j = ctx;

	return audit_report__json_list(j->reports, j->n, f);
}

struct compare_job {
	const struct audit_report *a, *b;
};

static int write_compare_json(FILE *f, void *ctx)
{
	const struct compare_job *j = ctx;

	return audit_report__compare_json(j->a, j->b, f);
}

/* The whole file at @path, NUL-terminated, bounded. */
static char *read_small_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int fd;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > BASELINE_MAX) {
		errno = EINVAL;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		goto out;
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	*len = n;
out:
	close(fd);
	return buf;
}

static const struct audit_baseline *
baseline_match(const struct audit_baseline *b, size_t n, const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(b[i].path, path))
			return &b[i];
	for (size_t i = 0; i < n; i++) {
		const char *bb = strrchr(b[i].path, '/');

		if (!strcmp(bb ? bb + 1 : b[i].path, base))
			return &b[i];
	}
	return n == 1 ? &b[0] : NULL;
}

/* The growth gate for @r against @size_old and @parts_old: true when it
 * trips (the reason printed). */
static bool growth_trips(const struct audit_report *r, const char *against,
			 uint64_t size_old, const uint64_t *parts_old,
			 double max_growth)
{
	double pct;
	int worst = -1;
	int64_t worst_d = 0;

	if (size_old == 0)
		return false;
	pct = 100.0 * ((double)r->size - (double)size_old) / (double)size_old;
	if (pct <= max_growth)
		return false;
	for (int i = 0; i < AUDIT_PART__COUNT; i++) {
		int64_t d = (int64_t)(r->parts[i] - parts_old[i]);

		if (d > worst_d) {
			worst_d = d;
			worst = i;
		}
	}
	fprintf(stderr,
		"cgoprof: gate: '%s' grew %.2f%% against %s (%" PRIu64
		" -> %" PRIu64 " bytes), more than --max-growth %g%%",
		r->path, pct, against, size_old, r->size, max_growth);
	if (worst >= 0)
		fprintf(stderr, "; most in %s: %+" PRId64 " bytes",
			audit_part__name(worst), worst_d);
	fputc('\n', stderr);
	return true;
}

static bool findings_trip(const struct audit_report *r)
{
	bool trip = false;

	for (size_t i = 0; i < r->nfindings; i++) {
		if (r->findings[i].severity < AUDIT_ERROR)
			continue;
		fprintf(stderr, "cgoprof: gate: '%s': %s: %s\n", r->path,
			r->findings[i].id, r->findings[i].message);
		trip = true;
	}
	return trip;
}

static int parse_args(int argc, char **argv, struct audit_cli *c)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"max-glibc", required_argument, NULL, 'G'},
		{"no-cgo", no_argument, NULL, 'C'},
		{"baseline", required_argument, NULL, 'B'},
		{"max-growth", required_argument, NULL, 'M'},
		{"ld-so-cache", required_argument, NULL, 'L'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char *end;
	int ch;

	while ((ch = cli__next_opt(argc, argv, "o:qvh", longopts)) != -1) {
		switch (ch) {
		case 'o':
			if (cli__check_output(optarg)) {
				cli__error("cannot write '%s'", optarg);
				return -EINVAL;
			}
			c->output = optarg;
			break;
		case 'G':
			if (optarg[0] < '0' || optarg[0] > '9' ||
			    strspn(optarg, "0123456789.") != strlen(optarg)) {
				cli__error("invalid --max-glibc '%s' (e.g. 2.31)",
					   optarg);
				return -EINVAL;
			}
			c->opts.max_glibc = optarg;
			break;
		case 'C':
			c->opts.no_cgo = true;
			break;
		case 'B':
			c->baseline = optarg;
			break;
		case 'M':
			errno = 0;
			c->max_growth = strtod(optarg, &end);
			if (errno || end == optarg || *end || c->max_growth < 0) {
				cli__error("invalid --max-growth '%s' (a percentage)",
					   optarg);
				return -EINVAL;
			}
			break;
		case 'L':
			c->opts.ldso_cache = optarg;
			break;
		case 'q':
			cli_flags.quiet = true;
			break;
		case 'v':
			cli_flags.verbose++;
			break;
		case 'h':
			fputs(usage_audit, stdout);
			return 1;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

int cmd_audit(int argc, char **argv)
{
	struct audit_cli c = {.max_growth = -1};
	struct audit_report **reports = NULL;
	struct audit_baseline *base = NULL;
	size_t nbase = 0, nin, nreports = 0;
	int split = -1, ret = 0, err;
	bool compare, trip = false;
	char **inputs;

	/* "---" separates A from B: getopt would take it for an option */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "---")) {
			split = i;
			break;
		}
	err = parse_args(split >= 0 ? split : argc, argv, &c);
	if (err)
		return err > 0 ? 0 : EXIT_USAGE;
	compare = split >= 0;
	nin = (size_t)((split >= 0 ? split : argc) - optind);
	inputs = argv + optind;
	if (compare) {
		if (nin != 1 || argc - split - 1 != 1) {
			cli__error("'A --- B': one binary on each side");
			goto usage;
		}
		inputs = calloc(2, sizeof(*inputs));
		if (!inputs)
			return EXIT_FATAL;
		inputs[0] = argv[optind];
		inputs[1] = argv[split + 1];
		nin = 2;
	} else if (nin == 0) {
		cli__error("no binary given");
		goto usage;
	}
	if ((c.baseline && c.max_growth < 0) ||
	    (!c.baseline && c.max_growth >= 0 && !compare)) {
		cli__error("--baseline and --max-growth go together (with "
			   "'A --- B', --max-growth alone compares B with A)");
		goto usage_free;
	}
	if (c.baseline) {
		size_t len = 0;
		char *text = read_small_file(c.baseline, &len);

		if (!text) {
			cli__error("cannot read baseline '%s': %s", c.baseline,
				   strerror(errno));
			ret = EXIT_FATAL;
			goto out;
		}
		err = audit_baseline__parse(text, len, &base, &nbase);
		free(text);
		if (err) {
			cli__error("'%s' is not a cgoprof audit JSON output",
				   c.baseline);
			ret = EXIT_FATAL;
			goto out;
		}
	}
	reports = calloc(nin, sizeof(*reports));
	if (!reports) {
		ret = EXIT_FATAL;
		goto out;
	}
	for (size_t i = 0; i < nin; i++) {
		struct audit_report *r = audit__file(inputs[i], &c.opts);

		if (!r) {
			input_error(inputs[i], errno);
			ret = EXIT_FATAL;
			continue;
		}
		reports[nreports++] = r;
	}
	if (ret == EXIT_FATAL && (compare || !nreports))
		goto out;
	/* the reports */
	if (compare) {
		struct compare_job j = {reports[0], reports[1]};

		if (cli_flags.quiet) {
			audit_report__summary(j.a, stdout);
			audit_report__summary(j.b, stdout);
		} else if (!c.output || strcmp(c.output, "-")) {
			audit_report__compare_text(j.a, j.b, stdout);
		}
		if (c.output) {
			err = export__write_atomic(c.output, write_compare_json,
						   &j);
			if (err) {
				cli__error("cannot write '%s': %s", c.output,
					   strerror(-err));
				ret = EXIT_FATAL;
			}
		}
	} else {
		for (size_t i = 0; i < nreports; i++) {
			if (cli_flags.quiet)
				audit_report__summary(reports[i], stdout);
			else if (!c.output || strcmp(c.output, "-")) {
				if (i)
					fputc('\n', stdout);
				audit_report__text(reports[i], stdout);
			}
		}
		if (c.output) {
			struct json_job j = {reports, nreports};

			err = export__write_atomic(c.output, write_json, &j);
			if (err) {
				cli__error("cannot write '%s': %s", c.output,
					   strerror(-err));
				ret = EXIT_FATAL;
			}
		}
	}
	fflush(stdout);
	/* the gate */
	for (size_t i = 0; i < nreports; i++)
		trip |= findings_trip(reports[i]);
	if (compare && c.max_growth >= 0 && !c.baseline)
		trip |= growth_trips(reports[1], reports[0]->path,
				     reports[0]->size, reports[0]->parts,
				     c.max_growth);
	for (size_t i = 0; c.baseline && i < nreports; i++) {
		const struct audit_report *r = reports[i];
		const struct audit_baseline *b =
			baseline_match(base, nbase, r->path);

		if (!b) {
			fprintf(stderr, "cgoprof: gate: '%s' is not in the "
					"baseline '%s'\n",
				r->path, c.baseline);
			trip = true;
			continue;
		}
		trip |= growth_trips(r, c.baseline, b->size, b->parts,
				     c.max_growth);
	}
	if (ret == 0 && trip)
		ret = EXIT_GATE;
out:
	for (size_t i = 0; reports && i < nreports; i++)
		audit_report__free(reports[i]);
	free(reports);
	audit_baseline__free(base, nbase);
	if (compare)
		free(inputs);
	return ret;
usage_free:
	if (compare)
		free(inputs);
usage:
	fputs("Run 'cgoprof audit --help' for the options.\n", stderr);
	return EXIT_USAGE;
}
