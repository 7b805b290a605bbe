// SPDX-License-Identifier: MIT
/* `cgoprof coldstart`: starts a command N times and splits each start into
 * phases (loader, runtime-init, package-init, main-to-ready for Go; loader,
 * init, main-to-ready otherwise). Phase boundaries are the first hits of
 * uprobes (the uprobe PMU, no tracefs, no ptrace) opened system-wide on each
 * CPU for the binary before it starts and filtered by pid; exec and exit
 * times come from COMM (exec) and EXIT records of a dummy event on each CPU,
 * page faults from a page-faults event counted by time. Every start is also
 * profiled through the record API, each sample rooted at its phase. The
 * method and its limits are in docs/coldstart.md. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgoprof/elfobj.h"
#include "cgoprof/export.h"
#include "cgoprof/log.h"
#include "cgoprof/perf.h"
#include "cgoprof/record.h"
#include "cgoprof/uprobe.h"
#include "internal.h"

#define EXIT_PARTIAL 1
#define EXIT_FATAL 2
#define EXIT_USAGE 64
#define MAX_OUTPUTS 16
#define CS_MAX_RUNS 10000
#define CS_RING_PAGES 256
#define CS_NPHASES_MAX 4
#define CS_MAX_EXECS 16
#define CS_HIT_THREADS 16

/* What the system-wide events of one CPU report. */
enum cs_probe {
	CS_PROBE_ENTRY = 0,	/* ELF entry point */
	CS_PROBE_RTMAIN,	/* runtime.main (Go only) */
	CS_PROBE_MAIN,		/* main.main, or main */
	CS_PROBE_READY,		/* --ready SYMBOL */
	CS_PROBE__COUNT,
	CS_EV_FAULT = CS_PROBE__COUNT,	/* a page fault */
	CS_EV_DUMMY,		/* exec (COMM) and EXIT records */
};

static const char *const go_phases[] = { "loader", "runtime-init",
					 "package-init", "main-to-ready" };
static const char *const c_phases[] = { "loader", "init", "main-to-ready" };
static const char after_ready[] = "after-ready";

static struct {
	int verbose;
	bool quiet;
} cs_cli;

/* Signals stop every run; a --ready hit stops the current one. */
static volatile sig_atomic_t cs_signal;
static volatile sig_atomic_t cs_run_stop;

static void cs_on_signal(int sig)
{
	(void)sig;
	cs_signal = 1;
	cs_run_stop = 1;
}

static void cs_log(enum log_level level, const char *fmt, va_list ap)
{
	if (cs_cli.quiet && level == LOG_WARN)
		return;
	if (level == LOG_INFO && cs_cli.verbose < 1)
		return;
	if (level == LOG_DEBUG && cs_cli.verbose < 2)
		return;
	fprintf(stderr, "cgoprof: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void __attribute__((format(printf, 1, 2))) cs_error(const char *fmt,
							   ...)
{
	va_list ap;

	fprintf(stderr, "cgoprof: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char usage_coldstart[] =
	"usage: cgoprof coldstart [options] -- CMD [ARGS...]\n"
	"       cgoprof coldstart [options] -- CMD_A [ARGS...] --- CMD_B "
	"[ARGS...]\n"
	"\n"
	"Starts CMD RUNS times and times each phase of its start: for Go\n"
	"loader (exec to the ELF entry), runtime-init (entry to runtime.main),\n"
	"package-init (runtime.main to main.main), main-to-ready (main.main to\n"
	"the first call of --ready SYMBOL, or exit); for other programs loader,\n"
	"init (entry to main), main-to-ready. Each start is also profiled, each\n"
	"stack rooted at its phase. With '---', CMD_A and CMD_B are started in\n"
	"turn and shown side by side with the difference per phase.\n"
	"\n"
	"  -n, --runs N            starts per command (default 10)\n"
	"  -F, --freq HZ           sampling frequency (default 9999)\n"
	"      --ready SYMBOL      the start ends at the first call of SYMBOL\n"
	"                          (a Go or ELF function of the main binary);\n"
	"                          the command is then stopped (SIGTERM)\n"
	"      --compare           expect '--- CMD_B' (optional: '---' is enough)\n"
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
	"Needs root (or CAP_PERFMON): the uprobes are opened on every CPU.\n"
	"Exit status: 0 measured, 1 partial (an output could not be written, or\n"
	"a phase boundary was never hit), 2 fatal, 64 usage.\n";

/* ---- one command: its binary and its per-run results ---------------------- */

struct cs_folded_line {
	char *stack;		/* owned */
	uint64_t count;
};

struct cs_target {
	char **argv;		/* borrowed from main's argv, NULL-terminated */
	char *command;		/* joined, owned */
	char path[PATH_MAX];	/* the binary the uprobes are put on */
	bool is_go;
	const char *const *phases;
	int nphases;
	uint64_t dev, ino;	/* of path, to know its mappings */
	uint64_t off[CS_PROBE__COUNT];
	bool have[CS_PROBE__COUNT];
	struct probe_site sites[CS_PROBE__COUNT];	/* for the unwinder */
	size_t nsites;

	int runs;		/* completed */
	double *phase_ms[CS_NPHASES_MAX];	/* [run] */
	double *total_ms;	/* [run] */
	double *faults[CS_NPHASES_MAX];	/* [run] */
	double cpu_ns[CS_NPHASES_MAX][FRAME_KIND__COUNT];	/* all runs */
	uint64_t missed;	/* boundaries never hit, all runs */
	struct cs_folded_line *folded;
	size_t nfolded, cap_folded;
	struct profile *last;	/* the last run's profile, owned */
};

/* The system-wide events of one run. */
struct cs_monitor {
	int ncpus;
	int *fds;
	size_t nfds, cap_fds;
	struct ring *rings;	/* [cpu]; the dummy event's */
	struct { uint64_t id; int kind; } *ids;
	size_t nids;
	char path[PATH_MAX];	/* config1 points here while open */
};

/* What one run saw of its own process. */
struct cs_run {
	struct cs_monitor *mon;
	const struct cs_target *t;
	pid_t pid;
	uint64_t exec_t;	/* the last exec of pid before the entry hit */
	/* every exec of pid: the rings are per CPU, so an exec may be read
	 * after the entry hit that follows it */
	uint64_t execs[CS_MAX_EXECS];
	size_t nexecs;
	uint64_t hit[CS_PROBE__COUNT];	/* first hits; 0 none */
	/* the latest hit of each thread (ip, sp): a sample in the uprobes'
	 * page is stepping that probe's instruction (unwind.c) */
	struct { uint32_t tid; struct probe_hit h; } thread_hit[CS_HIT_THREADS];
	unsigned nthread_hit;
	uint64_t exit_t;	/* the last EXIT record of pid */
	uint64_t *fault_t;
	size_t nfaults, cap_faults;
	uint64_t lost;
	bool stop_on_ready;
};

static void cs_target_release(struct cs_target *t)
{
	for (int p = 0; p < CS_NPHASES_MAX; p++) {
		free(t->phase_ms[p]);
		free(t->faults[p]);
	}
	free(t->total_ms);
	for (size_t i = 0; i < t->nfolded; i++)
		free(t->folded[i].stack);
	free(t->folded);
	profile__free(t->last);
	free(t->command);
}

static char *join_command(char *const *argv)
{
	size_t n = 1;
	char *s;

	for (int i = 0; argv[i]; i++)
		n += strlen(argv[i]) + 1;
	s = calloc(1, n);
	if (!s)
		return NULL;
	for (int i = 0; argv[i]; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

static bool resolve_command(const char *cmd, char *out, size_t size)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	char found_path[PATH_MAX];
	bool found = false;

	if (strchr(cmd, '/')) {
		snprintf(found_path, sizeof(found_path), "%s", cmd);
		found = !access(found_path, X_OK);
	} else {
		copy = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
		for (dir = copy ? strtok_r(copy, ":", &save) : NULL;
		     dir && !found; dir = strtok_r(NULL, ":", &save)) {
			snprintf(found_path, sizeof(found_path), "%s/%s",
				 *dir ? dir : ".", cmd);
			found = !access(found_path, X_OK);
		}
		free(copy);
	}
	if (!found)
		return false;
	/* the uprobe is put on the inode: any name of the file will do */
	if (!realpath(found_path, out))
		snprintf(out, size, "%s", found_path);
	return true;
}

/* An ELF function named @name in .symtab or .dynsym: its link-time
 * address. 0 or -ENOENT. */
static int elf_func_addr(Elf *elf, const char *name, uint64_t *vaddr)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t n;

		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) ||
		    !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		n = data->d_size / sh.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym sym;
			const char *s;

			if (!gelf_getsym(data, (int)i, &sym))
				break;
			if (GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    sym.st_shndx == SHN_UNDEF || !sym.st_value)
				continue;
			s = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (s && !strcmp(s, name)) {
				*vaddr = sym.st_value;
				return 0;
			}
		}
	}
	return -ENOENT;
}

/* File offset of the function @name of @o: Go first (pclntab), then ELF
 * symbols. 0 or -ENOENT. */
static int func_offset(struct elf_obj *o, const char *name, uint64_t *off)
{
	struct go_func fn;
	uint64_t vaddr;

	if (o->go && !elf_obj__go_func(o, name, &fn))
		vaddr = fn.entry;
	else if (elf_func_addr(o->elf, name, &vaddr))
		return -ENOENT;
	return elf_obj__vaddr_to_offset(o, vaddr, off) ? -ENOENT : 0;
}

/* Finds the binary of @t and the file offsets of its phase boundaries.
 * 0, -ENOENT command not found, -EINVAL not ELF or no entry. */
static int cs_target_prepare(struct cs_target *t, struct elf_cache *cache,
			     const char *ready)
{
	struct elf_obj *o;
	struct stat st;

	if (!resolve_command(t->argv[0], t->path, sizeof(t->path)))
		return -ENOENT;
	o = elf_cache__open(cache, t->path, t->path, 0, 0);
	if (!o)
		return -EINVAL;
	if (!stat(t->path, &st)) {
		t->dev = st.st_dev;
		t->ino = st.st_ino;
	}
	t->is_go = o->go != NULL;
	t->phases = t->is_go ? go_phases : c_phases;
	t->nphases = t->is_go ? 4 : 3;
	if (elf_obj__vaddr_to_offset(o, o->entry, &t->off[CS_PROBE_ENTRY]))
		return -EINVAL;
	t->have[CS_PROBE_ENTRY] = true;
	if (t->is_go) {
		t->have[CS_PROBE_RTMAIN] =
			!func_offset(o, "runtime.main", &t->off[CS_PROBE_RTMAIN]);
		t->have[CS_PROBE_MAIN] =
			!func_offset(o, "main.main", &t->off[CS_PROBE_MAIN]);
	} else {
		t->have[CS_PROBE_MAIN] =
			!func_offset(o, "main", &t->off[CS_PROBE_MAIN]);
	}
	if (ready) {
		t->have[CS_PROBE_READY] =
			!func_offset(o, ready, &t->off[CS_PROBE_READY]);
		if (!t->have[CS_PROBE_READY]) {
			cs_error("no function '%s' in '%s'", ready, t->path);
			return -ESRCH;
		}
	}
	for (int k = CS_PROBE_RTMAIN; k <= CS_PROBE_MAIN; k++)
		if (k == CS_PROBE_MAIN || t->is_go)
			if (!t->have[k])
				pr_warn("'%s': no %s: that phase boundary is "
					"taken as the next one",
					t->path,
					k == CS_PROBE_MAIN
						? (t->is_go ? "main.main" : "main")
						: "runtime.main");
	for (int k = 0; k < CS_PROBE__COUNT; k++)
		if (t->have[k] && t->ino)
			t->sites[t->nsites++] = (struct probe_site){
				t->dev, t->ino, t->off[k] };
	for (int p = 0; p < t->nphases; p++) {
		t->phase_ms[p] = calloc(CS_MAX_RUNS, sizeof(double));
		t->faults[p] = calloc(CS_MAX_RUNS, sizeof(double));
		if (!t->phase_ms[p] || !t->faults[p])
			return -ENOMEM;
	}
	t->total_ms = calloc(CS_MAX_RUNS, sizeof(double));
	return t->total_ms ? 0 : -ENOMEM;
}

/* ---- the system-wide events ------------------------------------------- */


static void cs_monitor_close(struct cs_monitor *m)
{
	if (m->rings)
		for (int c = 0; c < m->ncpus; c++)
			ring__release(&m->rings[c]);
	for (size_t i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	free(m->rings);
	free(m->fds);
	free(m->ids);
	memset(m, 0, sizeof(*m));
}

static int monitor_add(struct cs_monitor *m, struct perf_event_attr *a,
		       int cpu, int kind, int output_fd, int *fd_out)
{
	uint64_t id;
	int fd, err;
	void *p;

	fd = sys_perf_event_open(a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (m->nfds == m->cap_fds) {
		size_t cap = m->cap_fds ? m->cap_fds * 2 : 16;

		p = realloc(m->fds, cap * sizeof(*m->fds));
		if (!p) {
			close(fd);
			return -ENOMEM;
		}
		m->fds = p;
		p = realloc(m->ids, cap * sizeof(*m->ids));
		if (!p) {
			close(fd);
			return -ENOMEM;
		}
		m->ids = p;
		m->cap_fds = cap;
	}
	m->fds[m->nfds++] = fd;
	if (ioctl(fd, PERF_EVENT_IOC_ID, &id)) {
		err = -errno;
		return err;
	}
	m->ids[m->nids].id = id;
	m->ids[m->nids++].kind = kind;
	if (output_fd >= 0 &&
	    ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, output_fd)) {
		err = -errno;
		return err;
	}
	if (fd_out)
		*fd_out = fd;
	return 0;
}

/* Opens, on every CPU for every process, the uprobes of @t, a page-fault
 * counter and a dummy event for exec and exit records, all into one ring
 * per CPU. 0 or -errno (@what says which). */
static int cs_monitor_open(struct cs_monitor *m, const struct cs_target *t,
			   const char **what)
{
	long ncpus = sysconf(_SC_NPROCESSORS_CONF);
	int type = uprobe__pmu_type();
	int err;

	memset(m, 0, sizeof(*m));
	*what = "the uprobe PMU";
	if (type < 0)
		return -ENOENT;
	if (ncpus < 1 || ncpus > 4096)
		ncpus = 1;
	m->ncpus = (int)ncpus;
	m->rings = calloc((size_t)m->ncpus, sizeof(*m->rings));
	if (!m->rings)
		return -ENOMEM;
	snprintf(m->path, sizeof(m->path), "%s", t->path);
	for (int cpu = 0; cpu < m->ncpus; cpu++) {
		struct perf_event_attr a = {
			.size = sizeof(a),
			.type = PERF_TYPE_SOFTWARE,
			.config = PERF_COUNT_SW_DUMMY,
			.sample_period = 1,
			.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_TID |
				       PERF_SAMPLE_TIME,
			.comm = 1,
			.comm_exec = 1,
			.task = 1,
			.sample_id_all = 1,
			.use_clockid = 1,
			.clockid = CLOCK_MONOTONIC,
		};
		int dummy;

		*what = "the exec and exit event";
		err = monitor_add(m, &a, cpu, CS_EV_DUMMY, -1, &dummy);
		if (err == -ENODEV || err == -ENOENT)
			continue;	/* an offline CPU */
		if (err)
			return err;
		*what = "the ring buffer";
		err = ring__mmap(&m->rings[cpu], dummy, CS_RING_PAGES);
		if (err)
			return err;
		*what = "the page-fault counter";
		a.config = PERF_COUNT_SW_PAGE_FAULTS;
		a.comm = a.comm_exec = a.task = 0;
		err = monitor_add(m, &a, cpu, CS_EV_FAULT, dummy, NULL);
		if (err)
			return err;
		*what = "a uprobe";
		for (int k = 0; k < CS_PROBE__COUNT; k++) {
			if (!t->have[k])
				continue;
			/* where the hit was, for samples in its single-step */
			uprobe__attr(&a, m->path, t->off[k],
				     PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP |
				     PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
				     PERF_SAMPLE_REGS_USER);
			a.sample_regs_user = 1ULL << PERF_REG_SP;
			a.sample_id_all = 1;
			err = monitor_add(m, &a, cpu, k, dummy, NULL);
			if (err)
				return err;
		}
	}
	return 0;
}

static int monitor_kind(const struct cs_monitor *m, uint64_t id)
{
	for (size_t i = 0; i < m->nids; i++)
		if (m->ids[i].id == id)
			return m->ids[i].kind;
	return -1;
}

static void run_add_fault(struct cs_run *r, uint64_t t)
{
	if (r->nfaults == r->cap_faults) {
		size_t cap = r->cap_faults ? r->cap_faults * 2 : 4096;
		void *p = realloc(r->fault_t, cap * sizeof(*r->fault_t));

		if (!p)
			return;
		r->fault_t = p;
		r->cap_faults = cap;
	}
	r->fault_t[r->nfaults++] = t;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void run_note_hit(struct cs_run *r, uint32_t tid, uint64_t time,
			 uint64_t ip, uint64_t sp)
{
	unsigned i = 0;

	while (i < r->nthread_hit && r->thread_hit[i].tid != tid)
		i++;
	if (i == CS_HIT_THREADS)
		i = tid % CS_HIT_THREADS;	/* a start-up has few */
	else if (i == r->nthread_hit)
		r->nthread_hit++;
	if (r->thread_hit[i].tid == tid && r->thread_hit[i].h.time > time)
		return;
	r->thread_hit[i].tid = tid;
	r->thread_hit[i].h = (struct probe_hit){ time, ip, sp };
}

static int on_monitor_record(const struct perf_event_header *h, void *ctx)
{
	struct cs_run *r = ctx;
	const uint8_t *b = (const uint8_t *)(h + 1);
	size_t len = h->size - sizeof(*h);
	uint32_t pid;
	uint64_t time;
	int kind;

	if (h->size < sizeof(*h))
		return 0;
	switch (h->type) {
	case PERF_RECORD_SAMPLE:
		/* IDENTIFIER, then pid tid, then time; a uprobe's: IDENTIFIER,
		 * ip, pid tid, time, then the regs' abi and sp */
		if (len < 24)
			return 0;
		kind = monitor_kind(r->mon, rd64(b));
		if (kind >= 0 && kind < CS_PROBE__COUNT) {
			if (len < 48)
				return 0;
			pid = rd32(b + 16);
			time = rd64(b + 24);
			if (r->pid && pid == (uint32_t)r->pid && rd64(b + 32))
				run_note_hit(r, rd32(b + 20), time, rd64(b + 8),
					     rd64(b + 40));
		} else {
			pid = rd32(b + 8);
			time = rd64(b + 16);
		}
		if (!r->pid || pid != (uint32_t)r->pid)
			return 0;
		if (kind == CS_EV_FAULT) {
			run_add_fault(r, time);
		} else if (kind >= 0 && kind < CS_PROBE__COUNT &&
			   !r->hit[kind]) {
			r->hit[kind] = time;
			if (kind == CS_PROBE_READY && r->stop_on_ready)
				cs_run_stop = 1;
		}
		return 0;
	case PERF_RECORD_COMM:
		/* pid tid comm[] ... then the sample id: pid tid, time, id */
		if (len < 8 + 24 || !(h->misc & PERF_RECORD_MISC_COMM_EXEC))
			return 0;
		pid = rd32(b);
		time = rd64(b + len - 16);
		if (r->pid && pid == (uint32_t)r->pid && r->nexecs < CS_MAX_EXECS)
			r->execs[r->nexecs++] = time;
		return 0;
	case PERF_RECORD_EXIT:
		/* pid ppid tid ptid time */
		if (len < 24)
			return 0;
		pid = rd32(b);
		time = rd64(b + 16);
		if (r->pid && pid == (uint32_t)r->pid && time > r->exit_t)
			r->exit_t = time;
		return 0;
	case PERF_RECORD_LOST:
		r->lost++;
		return 0;
	default:
		return 0;
	}
}

static void cs_monitor_drain(struct cs_run *r)
{
	for (int c = 0; c < r->mon->ncpus; c++)
		if (r->mon->rings[c].meta)
			ring__consume(&r->mon->rings[c], on_monitor_record, r);
}

/* ---- phases ---------------------------------------------------------- */

/* The boundaries of the run as times: b[0] exec, b[i] the start of phase
 * i, b[nphases] the end. A boundary never hit is taken as the next one
 * that was (a phase of zero length). */
static int run_bounds(const struct cs_run *r, uint64_t end,
		      uint64_t b[CS_NPHASES_MAX + 1], uint64_t *missed)
{
	const struct cs_target *t = r->t;
	int probes[CS_NPHASES_MAX], n = 0;

	probes[n++] = CS_PROBE_ENTRY;
	if (t->is_go)
		probes[n++] = CS_PROBE_RTMAIN;
	probes[n++] = CS_PROBE_MAIN;
	b[0] = r->exec_t;
	for (int i = 0; i < n; i++)
		b[i + 1] = r->hit[probes[i]];
	b[n + 1] = end;
	for (int i = n; i >= 1; i--) {
		if (!b[i] || b[i] > b[i + 1]) {
			if (missed)
				(*missed)++;
			b[i] = b[i + 1];
		}
	}
	if (!b[0] || b[0] > b[1])
		b[0] = b[1];
	return n + 1;	/* phases */
}

/* The boundary probe whose first instruction the sample's user leaf is
 * at, or -1. Such a sample is in the function the boundary starts even
 * when it precedes the hit's stamp: an interrupt can come between the
 * call and the int3 the uprobe put there, and in the trap, until the
 * kernel moves the ip back, the leaf is the byte after it. */
static int cs_at_boundary(const struct cs_target *t,
			  const struct unwind_result *u)
{
	const struct unwind_frame *f = NULL;
	uint64_t off;

	for (uint32_t i = 0; i < u->n && !f; i++)
		if (!(u->frames[i].flags & UNWIND_FRAME_KERNEL))
			f = &u->frames[i];
	if (!f || !(f->flags & UNWIND_FRAME_LEAF) || !f->map || !t->ino ||
	    f->map->dev != t->dev || f->map->ino != t->ino)
		return -1;
	off = f->pc - f->map->start + f->map->pgoff;
	for (int k = 0; k < CS_PROBE__COUNT; k++)
		if (t->have[k] && (off == t->off[k] || off == t->off[k] + 1))
			return k;
	return -1;
}

/* The unwinder's question for a sample in the uprobes' page: the latest
 * hit of thread @tid. */
static bool cs_probe_hit(void *ctx, uint32_t tid, uint64_t time,
			 struct probe_hit *hit)
{
	struct cs_run *r = ctx;

	cs_monitor_drain(r);
	for (unsigned i = 0; i < r->nthread_hit; i++)
		if (r->thread_hit[i].tid == tid &&
		    r->thread_hit[i].h.time <= time) {
			*hit = r->thread_hit[i].h;
			return true;
		}
	return false;
}

/* The sample hook: the phase a sample falls in. Every uprobe hit older
 * than the sample is in the rings by now: read them first. A sample at
 * a boundary's own first instruction is in the phase it starts. */
static const char *cs_sample_root(void *ctx, const struct perf_sample *s,
				  const struct unwind_result *u)
{
	struct cs_run *r = ctx;
	const struct cs_target *t = r->t;
	int probes[CS_NPHASES_MAX], n = 0, phase = 0;
	int at = cs_at_boundary(t, u);

	cs_monitor_drain(r);
	if (at == CS_PROBE_READY ||
	    (r->hit[CS_PROBE_READY] && s->time >= r->hit[CS_PROBE_READY]))
		return after_ready;
	probes[n++] = CS_PROBE_ENTRY;
	if (t->is_go)
		probes[n++] = CS_PROBE_RTMAIN;
	probes[n++] = CS_PROBE_MAIN;
	for (int i = 0; i < n; i++)
		if ((r->hit[probes[i]] && s->time >= r->hit[probes[i]]) ||
		    at == probes[i])
			phase = i + 1;
	return t->phases[phase];
}

/* ---- folded stacks of every run, merged ---------------------------- */

static int folded_add(struct cs_target *t, const char *stack, size_t len,
		      uint64_t count)
{
	if (t->nfolded == t->cap_folded) {
		size_t cap = t->cap_folded ? t->cap_folded * 2 : 256;
		void *p = realloc(t->folded, cap * sizeof(*t->folded));

		if (!p)
			return -ENOMEM;
		t->folded = p;
		t->cap_folded = cap;
	}
	t->folded[t->nfolded].stack = strndup(stack, len);
	if (!t->folded[t->nfolded].stack)
		return -ENOMEM;
	t->folded[t->nfolded++].count = count;
	return 0;
}

static int folded_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cs_folded_line *)a)->stack,
		      ((const struct cs_folded_line *)b)->stack);
}

/* Adds the folded lines of @p to @t's and merges equal stacks. */
static int folded_merge(struct cs_target *t, const struct profile *p)
{
	struct export_opts eo = { 0 };
	char *buf = NULL, *line, *save = NULL;
	size_t size = 0, w = 0;
	FILE *f = open_memstream(&buf, &size);
	int err;

	if (!f)
		return -ENOMEM;
	err = export__folded(p, &eo, f);
	if (fclose(f) && !err)
		err = -ENOMEM;
	for (line = err ? NULL : strtok_r(buf, "\n", &save); line && !err;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp = strrchr(line, ' ');

		if (sp)
			err = folded_add(t, line, (size_t)(sp - line),
					 strtoull(sp + 1, NULL, 10));
	}
	free(buf);
	if (err || !t->nfolded)
		return err;
	qsort(t->folded, t->nfolded, sizeof(*t->folded), folded_cmp);
	for (size_t i = 1; i < t->nfolded; i++) {
		if (!strcmp(t->folded[i].stack, t->folded[w].stack)) {
			t->folded[w].count += t->folded[i].count;
			free(t->folded[i].stack);
		} else {
			t->folded[++w] = t->folded[i];
		}
	}
	t->nfolded = w + 1;
	return 0;
}

/* ---- one start ------------------------------------------------------ */

static int phase_index(const struct cs_target *t, const char *name)
{
	for (int p = 0; p < t->nphases; p++)
		if (!strcmp(t->phases[p], name))
			return p;
	return -1;
}

/* On-CPU time per phase and leaf kind, from the run's profile. */
static void account_cpu(struct cs_target *t, const struct profile *p)
{
	for (size_t i = 0; i < p->nstacks; i++) {
		const struct profile_stack *st = &p->stacks[i];
		const struct profile_location *root, *leaf;
		enum frame_kind kind;
		int ph;

		if (!st->nlocs)
			continue;
		root = &p->locations[st->locs[st->nlocs - 1]];
		if (root->frames[root->nframes - 1].kind != FRAME_KIND_PHASE)
			continue;
		ph = phase_index(t, root->frames[root->nframes - 1].name);
		if (ph < 0)
			continue;
		leaf = &p->locations[st->locs[0]];
		kind = st->nlocs > 1 ? leaf->frames[0].kind
				     : FRAME_KIND_UNKNOWN;
		if ((unsigned)kind >= FRAME_KIND__COUNT)
			kind = FRAME_KIND_UNKNOWN;
		t->cpu_ns[ph][kind] += (double)st->weight;
	}
}

struct cs_opts {
	int runs;
	uint64_t freq;
	uint32_t stack_size;
	const char *ready;
	const char *outputs[MAX_OUTPUTS];
	int noutputs;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Starts @t once. 0; -EINTR interrupted (not counted); or -errno after
 * printing why. */
static int cs_run_once(struct cs_target *t, const struct cs_opts *o)
{
	struct record_opts ro = {
		.argv = t->argv,
		.freq = o->freq,
		.stack_size = o->stack_size,
		.unwind = { .live_reads = true, .probe_sites = t->sites,
			    .nprobe_sites = t->nsites },
		.sample_root = cs_sample_root,
		.stop = &cs_run_stop,
	};
	struct cs_monitor mon;
	struct cs_run run = { .mon = &mon, .t = t,
			      .stop_on_ready = o->ready != NULL };
	struct record *rec = NULL;
	struct record_error re;
	struct profile *prof = NULL;
	uint64_t b[CS_NPHASES_MAX + 1], end, before;
	const char *what;
	int err, n, i = t->runs;

	ro.hook_ctx = &run;
	ro.unwind.probe_hit = cs_probe_hit;
	ro.unwind.probe_hit_ctx = &run;
	cs_run_stop = cs_signal;
	err = cs_monitor_open(&mon, t, &what);
	if (err) {
		if (err == -EACCES || err == -EPERM)
			cs_error("not permitted to open %s on every CPU: %s "
				 "(coldstart needs root or CAP_PERFMON)",
				 what, strerror(-err));
		else if (err == -ENOENT && !strcmp(what, "the uprobe PMU"))
			cs_error("no uprobe PMU here "
				 "(/sys/bus/event_source/devices/uprobe)");
		else
			cs_error("cannot open %s for '%s': %s", what, t->path,
				 strerror(-err));
		goto out;
	}
	rec = record__new(&ro);
	if (!rec) {
		err = -ENOMEM;
		cs_error("out of memory");
		goto out;
	}
	before = mono_ns();
	err = record__open(rec, &re);
	if (err) {
		cli__open_error(&re, "cpu-clock", t->argv[0]);
		goto out;
	}
	run.pid = record__child_pid(rec);
	record__loop(rec);
	end = mono_ns();
	if (cs_signal) {
		err = -EINTR;	/* a start cut short is not a start */
		goto out;
	}
	cs_monitor_drain(&run);
	for (size_t k = 0; k < run.nexecs; k++)
		if (run.execs[k] > run.exec_t &&
		    (!run.hit[CS_PROBE_ENTRY] ||
		     run.execs[k] <= run.hit[CS_PROBE_ENTRY]))
			run.exec_t = run.execs[k];
	if (!run.exec_t) {
		pr_info("no exec record for pid %d: the start is taken as "
			"before the fork", run.pid);
		run.exec_t = before;
	}
	if (run.hit[CS_PROBE_READY])
		end = run.hit[CS_PROBE_READY];
	else if (run.exit_t)
		end = run.exit_t;
	else
		pr_warn("run %d: no exit record for pid %d: the start ends "
			"when the recording did", i + 1, run.pid);
	if (o->ready && !run.hit[CS_PROBE_READY])
		pr_warn("run %d: '%s' was never called: the start ends at "
			"exit", i + 1, o->ready);
	n = run_bounds(&run, end, b, &t->missed);
	t->total_ms[i] = 0;
	for (int p = 0; p < n; p++) {
		size_t nf = 0;

		t->phase_ms[p][i] = (double)(b[p + 1] - b[p]) / 1e6;
		t->total_ms[i] += t->phase_ms[p][i];
		for (size_t k = 0; k < run.nfaults; k++)
			if (run.fault_t[k] >= b[p] &&
			    (run.fault_t[k] < b[p + 1] ||
			     (p == n - 1 && run.fault_t[k] == b[p + 1])))
				nf++;
		t->faults[p][i] = (double)nf;
	}
	if (run.lost)
		pr_warn("run %d: %" PRIu64 " records of the phase events "
			"lost", i + 1, run.lost);
	prof = record__profile(rec, t->command);
	if (!prof) {
		err = -errno;
		cs_error("cannot build the profile: %s", strerror(errno));
		goto out;
	}
	account_cpu(t, prof);
	err = folded_merge(t, prof);
	if (err) {
		cs_error("out of memory");
		goto out;
	}
	/* the latest run's profile is the one written as svg and pprof */
	profile__free(t->last);
	t->last = prof;
	prof = NULL;
	t->runs++;
	if (cs_cli.verbose)
		fprintf(stderr, "cgoprof: %s run %d: %.3f ms\n", t->argv[0],
			i + 1, t->total_ms[i]);
out:
	profile__free(prof);
	record__free(rec);
	cs_monitor_close(&mon);
	free(run.fault_t);
	return err;
}

/* ---- statistics and output ------------------------------------------ */

struct cs_stat {
	double median, p90, min, max;
};

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median (mean of the middle two), p90 (nearest rank), min, max. */
static struct cs_stat stat_of(const double *v, int n)
{
	struct cs_stat s = { 0 };
	double *c;

	if (n <= 0)
		return s;
	c = malloc((size_t)n * sizeof(*c));
	if (!c)
		return s;
	memcpy(c, v, (size_t)n * sizeof(*c));
	qsort(c, (size_t)n, sizeof(*c), dbl_cmp);
	s.median = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
	s.p90 = c[(int)ceil(0.9 * n) - 1];
	s.min = c[0];
	s.max = c[n - 1];
	free(c);
	return s;
}

/* The rounding the JSON and the table use, so the sums shown add up. */
static double ms3(double ms)
{
	return round(ms * 1000) / 1000;
}

static double total_median(const struct cs_target *t)
{
	double sum = 0;

	for (int p = 0; p < t->nphases; p++)
		sum += ms3(stat_of(t->phase_ms[p], t->runs).median);
	return sum;
}


static void json_target(FILE *f, const struct cs_target *t,
			const struct cs_opts *o, const char *indent)
{
	struct cs_stat tot = stat_of(t->total_ms, t->runs);

	fprintf(f, "%s\"command\": [", indent);
	for (int i = 0; t->argv[i]; i++) {
		if (i)
			fputs(", ", f);
		export__json_string(f, t->argv[i]);
	}
	fprintf(f, "],\n%s\"binary\": ", indent);
	export__json_string(f, t->path);
	fprintf(f, ",\n%s\"go\": %s,\n%s\"runs\": %d,\n%s\"freq_hz\": %" PRIu64
		   ",\n%s\"ready\": ",
		indent, t->is_go ? "true" : "false", indent, t->runs, indent,
		o->freq, indent);
	if (o->ready)
		export__json_string(f, o->ready);
	else
		fputs("null", f);
	fprintf(f, ",\n%s\"phases\": [\n", indent);
	for (int p = 0; p < t->nphases; p++) {
		struct cs_stat s = stat_of(t->phase_ms[p], t->runs);
		struct cs_stat pf = stat_of(t->faults[p], t->runs);
		bool first = true;

		fprintf(f, "%s  {\"name\": \"%s\", \"median_ms\": %.3f, "
			   "\"p90_ms\": %.3f, \"min_ms\": %.3f, \"max_ms\": %.3f, "
			   "\"cpu_ms_by_kind\": {",
			indent, t->phases[p], ms3(s.median), ms3(s.p90),
			ms3(s.min), ms3(s.max));
		for (int k = 0; k < FRAME_KIND__COUNT; k++) {
			if (!t->cpu_ns[p][k])
				continue;
			fprintf(f, "%s\"%s\": %.3f", first ? "" : ", ",
				frame_kind__name((enum frame_kind)k),
				t->cpu_ns[p][k] / 1e6 / t->runs);
			first = false;
		}
		fprintf(f, "}, \"page_faults_median\": %.1f}%s\n", pf.median,
			p + 1 < t->nphases ? "," : "");
	}
	fprintf(f, "%s],\n%s\"total\": {\"median_ms\": %.3f, \"p90_ms\": %.3f, "
		   "\"min_ms\": %.3f, \"max_ms\": %.3f, \"run_median_ms\": %.3f},\n"
		   "%s\"runs_ms\": [",
		indent, indent, total_median(t), ms3(tot.p90), ms3(tot.min),
		ms3(tot.max), ms3(tot.median), indent);
	for (int i = 0; i < t->runs; i++)
		fprintf(f, "%s%.3f", i ? ", " : "", t->total_ms[i]);
	fputs("]", f);
}

struct cs_write {
	void (*fn)(FILE *f, const void *ctx);
	const void *ctx;
};

static int cs_write_fn(FILE *f, void *ctx)
{
	struct cs_write *w = ctx;

	w->fn(f, w->ctx);
	return ferror(f) ? -EIO : 0;
}

/* Writes @path atomically (export__write_atomic). */
static int write_atomic(const char *path,
			void (*fn)(FILE *f, const void *ctx), const void *ctx)
{
	struct cs_write w = { fn, ctx };

	return export__write_atomic(path, cs_write_fn, &w);
}

struct cs_json_ctx {
	const struct cs_target *a, *b;
	const struct cs_opts *o;
};

static void write_json(FILE *f, const void *ctx)
{
	const struct cs_json_ctx *c = ctx;

	fputs("{\n", f);
	json_target(f, c->a, c->o, "  ");
	if (c->b) {
		fputs(",\n  \"compare\": {\n", f);
		json_target(f, c->b, c->o, "    ");
		fputs(",\n    \"diff_median_ms\": {", f);
		for (int p = 0; p < c->a->nphases && p < c->b->nphases; p++) {
			double da = ms3(stat_of(c->a->phase_ms[p], c->a->runs)
						.median);
			double db = ms3(stat_of(c->b->phase_ms[p], c->b->runs)
						.median);

			fprintf(f, "%s\"%s\": %.3f", p ? ", " : "",
				c->a->phases[p], db - da);
		}
		fputs("}\n  }", f);
	}
	fputs("\n}\n", f);
}

static void write_folded(FILE *f, const void *ctx)
{
	const struct cs_target *t = ctx;

	for (size_t i = 0; i < t->nfolded; i++)
		fprintf(f, "%s %" PRIu64 "\n", t->folded[i].stack,
			t->folded[i].count);
}

/* The top frame kinds of a phase's on-CPU time, "c 0.4 go-runtime 0.2". */
static void kinds_text(const struct cs_target *t, int p, char *buf,
		       size_t size)
{
	size_t w = 0;

	buf[0] = 0;
	for (int k = 0; k < FRAME_KIND__COUNT && w + 1 < size; k++) {
		double ms = t->cpu_ns[p][k] / 1e6 / t->runs;

		if (ms < 0.0005)
			continue;
		w += (size_t)snprintf(buf + w, size - w, "%s%s %.2f",
				      w ? ", " : "",
				      frame_kind__name((enum frame_kind)k), ms);
	}
	if (w >= size)
		buf[size - 1] = 0;
}

static void print_table(FILE *f, const struct cs_target *t)
{
	struct cs_stat tot = stat_of(t->total_ms, t->runs);
	char kinds[256];

	fprintf(f, "cold start of %s (%s, %d runs)\n", t->command,
		t->is_go ? "Go" : "native", t->runs);
	fprintf(f, "%-14s %9s %9s %9s %9s %8s  %s\n", "phase", "median",
		"p90", "min", "max", "faults", "on-CPU ms by leaf kind (mean)");
	for (int p = 0; p < t->nphases; p++) {
		struct cs_stat s = stat_of(t->phase_ms[p], t->runs);

		kinds_text(t, p, kinds, sizeof(kinds));
		fprintf(f, "%-14s %9.3f %9.3f %9.3f %9.3f %8.0f  %s\n",
			t->phases[p], ms3(s.median), ms3(s.p90), ms3(s.min),
			ms3(s.max), stat_of(t->faults[p], t->runs).median,
			kinds);
	}
	fprintf(f, "%-14s %9.3f %9.3f %9.3f %9.3f\n", "total", total_median(t),
		ms3(tot.p90), ms3(tot.min), ms3(tot.max));
	fputs("(ms; total median = sum of the phase medians; p90, min, max "
	      "of whole starts)\n",
	      f);
}

static void print_compare(FILE *f, const struct cs_target *a,
			  const struct cs_target *b)
{
	struct cs_stat ta = stat_of(a->total_ms, a->runs);
	struct cs_stat tb = stat_of(b->total_ms, b->runs);
	int n = a->nphases > b->nphases ? a->nphases : b->nphases;

	fprintf(f, "A: %s (%s, %d runs)\nB: %s (%s, %d runs)\n", a->command,
		a->is_go ? "Go" : "native", a->runs, b->command,
		b->is_go ? "Go" : "native", b->runs);
	fprintf(f, "%-14s %10s %10s %10s %10s %10s %8s\n", "phase",
		"A median", "A p90", "B median", "B p90", "diff B-A", "diff %");
	for (int p = 0; p < n; p++) {
		const char *name = p < a->nphases ? a->phases[p] : b->phases[p];
		int pa = phase_index(a, name), pb = phase_index(b, name);
		struct cs_stat sa = { 0 }, sb = { 0 };

		if (pa >= 0)
			sa = stat_of(a->phase_ms[pa], a->runs);
		if (pb >= 0)
			sb = stat_of(b->phase_ms[pb], b->runs);
		fprintf(f, "%-14s %10.3f %10.3f %10.3f %10.3f %+10.3f ", name,
			ms3(sa.median), ms3(sa.p90), ms3(sb.median),
			ms3(sb.p90), ms3(sb.median) - ms3(sa.median));
		if (sa.median > 0)
			fprintf(f, "%+7.0f%%\n",
				(sb.median - sa.median) / sa.median * 100);
		else
			fprintf(f, "%8s\n", "-");
	}
	fprintf(f, "%-14s %10.3f %10.3f %10.3f %10.3f %+10.3f ", "total",
		total_median(a), ms3(ta.p90), total_median(b), ms3(tb.p90),
		total_median(b) - total_median(a));
	if (total_median(a) > 0)
		fprintf(f, "%+7.0f%%\n",
			(total_median(b) - total_median(a)) / total_median(a) *
				100);
	else
		fprintf(f, "%8s\n", "-");
	fputs("(ms; medians per phase; total median = sum of the phase "
	      "medians)\n",
	      f);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}



int cmd_coldstart(int argc, char **argv)
{
	enum { OPT_READY = 256, OPT_COMPARE, OPT_STACK };
	static const struct option longopts[] = {
		{ "runs", required_argument, NULL, 'n' },
		{ "freq", required_argument, NULL, 'F' },
		{ "ready", required_argument, NULL, OPT_READY },
		{ "compare", no_argument, NULL, OPT_COMPARE },
		{ "output", required_argument, NULL, 'o' },
		{ "stack-size", required_argument, NULL, OPT_STACK },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct cs_opts o = { .runs = 10, .freq = 9999, .stack_size = 16384 };
	struct cs_target tg[2];
	struct sigaction sa = { .sa_handler = cs_on_signal };
	struct elf_cache *cache = NULL;
	bool compare = false;
	int c, ret = EXIT_FATAL, ntargets = 1, err;
	FILE *table = stdout;
	uint64_t v;

	memset(tg, 0, sizeof(tg));
	log__set_fn(cs_log);
	optind = 1;
	while ((c = getopt_long(argc, argv, "+n:F:o:qvh", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'n':
			if (cli__parse_u64(optarg, &v) || !v || v > CS_MAX_RUNS) {
				cs_error("invalid --runs '%s' (1..%d)", optarg,
					 CS_MAX_RUNS);
				goto usage;
			}
			o.runs = (int)v;
			break;
		case 'F':
			if (cli__parse_u64(optarg, &v) || !v || v > 100000) {
				cs_error("invalid frequency '%s' (1..100000 Hz)",
					 optarg);
				goto usage;
			}
			o.freq = v;
			break;
		case OPT_READY:
			if (!*optarg) {
				cs_error("--ready needs a function name");
				goto usage;
			}
			o.ready = optarg;
			break;
		case OPT_COMPARE:
			compare = true;
			break;
		case 'o':
			if (o.noutputs == MAX_OUTPUTS) {
				cs_error("too many outputs (at most %d)",
					 MAX_OUTPUTS);
				goto usage;
			}
			o.outputs[o.noutputs++] = optarg;
			break;
		case OPT_STACK:
			if (cli__parse_u64(optarg, &v) || v < 8 || v > 65528 ||
			    (v & 7)) {
				cs_error("invalid --stack-size '%s' (8..65528, a "
					 "multiple of 8)",
					 optarg);
				goto usage;
			}
			o.stack_size = (uint32_t)v;
			break;
		case 'q':
			cs_cli.quiet = true;
			break;
		case 'v':
			cs_cli.verbose++;
			break;
		case 'h':
			fputs(usage_coldstart, stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if (optind >= argc) {
		cs_error("nothing to start: give -- CMD [ARGS]");
		goto usage;
	}
	tg[0].argv = &argv[optind];
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "---"))
			continue;
		argv[i] = NULL;
		tg[1].argv = &argv[i + 1];
		ntargets = 2;
		break;
	}
	if (ntargets == 2 && (!tg[0].argv[0] || !tg[1].argv[0])) {
		cs_error("'---' needs a command on each side");
		goto usage;
	}
	if (compare && ntargets == 1) {
		cs_error("--compare needs two commands: -- CMD_A ... --- "
			 "CMD_B ...");
		goto usage;
	}
	for (int i = 0; i < o.noutputs; i++) {
		if (!strcmp(o.outputs[i], "-"))
			table = stderr;
		if (cli__check_output(o.outputs[i])) {
			cs_error("cannot write output '%s': %s", o.outputs[i],
				 strerror(errno ? errno : EACCES));
			goto out;
		}
	}
	cache = elf_cache__new();
	if (!cache) {
		cs_error("out of memory");
		goto out;
	}
	for (int k = 0; k < ntargets; k++) {
		tg[k].command = join_command(tg[k].argv);
		if (!tg[k].command) {
			cs_error("out of memory");
			goto out;
		}
		err = cs_target_prepare(&tg[k], cache, o.ready);
		if (err == -ENOENT) {
			cs_error("command not found: '%s'", tg[k].argv[0]);
			goto out;
		} else if (err == -EINVAL) {
			cs_error("'%s' is not an ELF executable with an entry "
				 "point (scripts cannot be timed)",
				 tg[k].argv[0]);
			goto out;
		} else if (err == -ENOMEM) {
			cs_error("out of memory");
			goto out;
		} else if (err) {
			goto out;
		}
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* interleaved, so that a drift of the machine hits both alike */
	for (int i = 0; i < o.runs && !cs_signal; i++) {
		for (int k = 0; k < ntargets && !cs_signal; k++) {
			err = cs_run_once(&tg[k], &o);
			if (err == -EINTR)
				break;
			if (err)
				goto out;
		}
	}
	if (!tg[0].runs || (ntargets == 2 && !tg[1].runs)) {
		cs_error("interrupted before a start was measured");
		goto out;
	}
	ret = 0;
	for (int k = 0; k < ntargets; k++)
		if (tg[k].missed) {
			pr_warn("'%s': %" PRIu64 " phase boundaries were never "
				"hit (taken as the next one)",
				tg[k].argv[0], tg[k].missed);
			ret = EXIT_PARTIAL;
		}
	for (int i = 0; i < o.noutputs; i++) {
		const char *path = o.outputs[i];
		struct cs_json_ctx jc = { &tg[0], ntargets == 2 ? &tg[1] : NULL,
					  &o };
		struct export_opts eo = { 0 };

		if (has_suffix(path, ".json"))
			err = write_atomic(path, write_json, &jc);
		else if (export__format_from_path(path) == EXPORT_FOLDED)
			err = write_atomic(path, write_folded, &tg[0]);
		else
			err = tg[0].last ? export__write_file(tg[0].last, &eo,
							      path)
					 : -ENODATA;
		if (err) {
			cs_error("cannot write '%s': %s", path, strerror(-err));
			ret = EXIT_PARTIAL;
		} else if (!cs_cli.quiet && strcmp(path, "-")) {
			fprintf(stderr, "cgoprof: wrote %s\n", path);
		}
	}
	if (!cs_cli.quiet) {
		if (ntargets == 2) {
			print_compare(table, &tg[0], &tg[1]);
		} else {
			print_table(table, &tg[0]);
		}
	}
out:
	for (int k = 0; k < 2; k++)
		cs_target_release(&tg[k]);
	elf_cache__free(cache);
	return ret;
usage:
	fputs("Run 'cgoprof coldstart --help' for the options.\n", stderr);
	return EXIT_USAGE;
}
