// SPDX-License-Identifier: MIT
/* Cold starts: the target (a command's binary and the file offsets of its
 * phase boundaries), one run (start the command under the record API with
 * the monitor's events open, then turn what they saw into phase times and
 * page faults) and the series of runs of a target. The events and the
 * record hooks are in coldstart_monitor.c, the arithmetic in
 * coldstart_stats.c. */
#include <errno.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgoprof/clock.h"
#include "cgoprof/coldstart.h"
#include "cgoprof/elfobj.h"
#include "cgoprof/execwatch.h"
#include "cgoprof/gosnap.h"
#include "cgoprof/log.h"
#include "cgoprof/procfs.h"

static const char *const go_phases[] = { "loader", "runtime-init",
					 "package-init", "main-to-ready" };
static const char *const c_phases[] = { "loader", "init", "main-to-ready" };

/* ---- the target ---------------------------------------------------------- */

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

/* @cmd as execvp would find it, its real path: the uprobes are put on the
 * inode, and any name of the file will do. */
static bool resolve_command(const char *cmd, char *out, size_t size)
{
	char found[PATH_MAX];

	if (!procfs__which(cmd, found, sizeof(found)))
		return false;
	if (!realpath(found, out))
		snprintf(out, size, "%s", found);
	return true;
}

/* An ELF function named @name in .symtab or .dynsym: its link-time
 * address. 0 or -ENOENT. */
static int elf_func_addr(Elf *elf, const char *name, uint64_t *vaddr)
{
	uint32_t types = 1u << SHT_SYMTAB | 1u << SHT_DYNSYM;
	Elf_Scn *scn = NULL;
	Elf_Data *data;
	GElf_Shdr sh;

	while ((data = elf__next_table(elf, &scn, &sh, types, 0))) {
		size_t n = data->d_size / sh.sh_entsize;

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

/* File offset of the function @name of @o: Go first (pclntab: stripped Go
 * binaries keep it), then ELF symbols. 0 or -ENOENT. */
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

static int target_probe(struct coldstart_target *t, struct elf_obj *o)
{
	struct stat st;

	if (!stat(t->path, &st)) {
		t->dev = st.st_dev;
		t->ino = st.st_ino;
	}
	t->is_go = o->go != NULL;
	t->phases = t->is_go ? go_phases : c_phases;
	t->nphases = t->is_go ? 4 : 3;
	if (elf_obj__vaddr_to_offset(o, o->entry,
				     &t->off[COLDSTART_PROBE_ENTRY]))
		return -EINVAL;
	t->have[COLDSTART_PROBE_ENTRY] = true;
	if (t->is_go) {
		t->have[COLDSTART_PROBE_RTMAIN] = !func_offset(
			o, "runtime.main", &t->off[COLDSTART_PROBE_RTMAIN]);
		t->have[COLDSTART_PROBE_MAIN] = !func_offset(
			o, "main.main", &t->off[COLDSTART_PROBE_MAIN]);
	} else {
		t->have[COLDSTART_PROBE_MAIN] = !func_offset(
			o, "main", &t->off[COLDSTART_PROBE_MAIN]);
	}
	if (t->ready) {
		t->have[COLDSTART_PROBE_READY] = !func_offset(
			o, t->ready, &t->off[COLDSTART_PROBE_READY]);
		if (!t->have[COLDSTART_PROBE_READY])
			return -ESRCH;
	}
	for (int k = COLDSTART_PROBE_RTMAIN; k <= COLDSTART_PROBE_MAIN; k++)
		if ((k == COLDSTART_PROBE_MAIN || t->is_go) && !t->have[k])
			pr_warn("'%s': no %s: that phase boundary is taken as "
				"the next one",
				t->path,
				k == COLDSTART_PROBE_MAIN
					? (t->is_go ? "main.main" : "main")
					: "runtime.main");
	/* for the unwinder: a sample in a probe's trap */
	for (int k = 0; k < COLDSTART_PROBE__COUNT; k++)
		if (t->have[k] && t->ino)
			t->sites[t->nsites++] = (struct probe_site){
				t->dev, t->ino, t->off[k] };
	return 0;
}

int coldstart_target__init(struct coldstart_target *t, char *const *argv,
			   const char *ready)
{
	struct elf_cache *cache;
	struct elf_obj *o;
	int err;

	memset(t, 0, sizeof(*t));
	t->argv = argv;
	t->ready = ready;
	t->command = join_command(argv);
	if (!t->command)
		return -ENOMEM;
	if (!resolve_command(argv[0], t->path, sizeof(t->path)))
		return -ENOENT;
	cache = elf_cache__new();
	if (!cache)
		return -ENOMEM;
	o = elf_cache__open(cache, t->path, t->path, 0, 0);
	err = o ? target_probe(t, o) : -EINVAL;
	elf_cache__free(cache);
	return err;
}

/* The first request for work of a function runtime: where its start, as
 * the platform counts it, ends. To find it for another runtime: the
 * function of its runtime client that asks the platform's API for the
 * next invocation (README, "Cold starts on a platform"). */
static const struct {
	const char *name, *func;
} ready_presets[] = {
	/* aws-lambda-go, lambda/runtime_api_client.go: GET
	 * /runtime/invocation/next */
	{ "aws-lambda-go",
	  "github.com/aws/aws-lambda-go/lambda.(*runtimeAPIClient).next" },
};

const char *coldstart__ready_preset(const char *ready)
{
	for (size_t i = 0; ready && i < sizeof(ready_presets) /
						sizeof(ready_presets[0]);
	     i++)
		if (!strcmp(ready, ready_presets[i].name))
			return ready_presets[i].func;
	return ready;
}

void coldstart_target__release(struct coldstart_target *t)
{
	free(t->command);
	t->command = NULL;
}

/* ---- one run ------------------------------------------------------------- */

void coldstart_run__finish(struct coldstart_run *r, uint64_t before,
			   uint64_t end, int run)
{
	const uint64_t *hit = r->hit;
	int n;

	r->exec_t = r->start_t;
	for (size_t k = 0; k < r->nexecs && !r->start_t; k++)
		if (r->execs[k] > r->exec_t &&
		    (!hit[COLDSTART_PROBE_ENTRY] ||
		     r->execs[k] <= hit[COLDSTART_PROBE_ENTRY]))
			r->exec_t = r->execs[k];
	if (!r->exec_t) {
		pr_info("no exec record for pid %d: the start is taken as "
			"before the fork", r->pid);
		r->exec_t = before;
	}
	if (hit[COLDSTART_PROBE_READY])
		end = hit[COLDSTART_PROBE_READY];
	else if (r->exit_t)
		end = r->exit_t;
	else
		pr_warn("run %d: no exit record for pid %d: the start ends "
			"when the recording did", run, r->pid);
	if (r->t->ready && !hit[COLDSTART_PROBE_READY])
		pr_warn("run %d: '%s' was never called: the start ends at "
			"exit", run, r->t->ready);
	r->end = end;
	r->missed = 0;
	n = coldstart__bounds(r->t, r->exec_t, hit, end, r->bounds,
			      &r->missed);
	r->nphases = n;
	r->total_ms = 0;
	for (int p = 0; p < n; p++) {
		const uint64_t *b = r->bounds;
		uint64_t nf = 0;

		r->phase_ms[p] = (double)(b[p + 1] - b[p]) / 1e6;
		r->total_ms += r->phase_ms[p];
		/* the last phase holds the faults at its end too */
		for (size_t k = 0; k < r->nfaults; k++)
			if (r->fault_t[k] >= b[p] &&
			    (r->fault_t[k] < b[p + 1] ||
			     (p == n - 1 && r->fault_t[k] == b[p + 1])))
				nf++;
		r->faults[p] = nf;
	}
	if (r->lost)
		pr_warn("run %d: %" PRIu64 " records of the phase events "
			"lost", run, r->lost);
}

/* ---- memory at ready ------------------------------------------------------ */

/* "VmRSS:\t  1234 kB" lines of /proc/PID/status: bytes, 0 when absent. */
static uint64_t status_kb(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtoull(p + strlen(key), NULL, 10) * 1024 : 0;
}

int coldstart__read_memory(pid_t pid, struct coldstart_memory *m)
{
	struct mem_sampler_opts so = { .pid = pid, .live_reads = true };
	struct mem_sampler *ms;
	struct mem_snapshots res;
	char path[64], *text = NULL;
	size_t len;
	int err;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	err = procfs__read_file(path, &text, &len);
	if (err)
		return err;
	m->rss = status_kb(text, "\nVmRSS:");
	m->peak_rss = status_kb(text, "\nVmHWM:");
	free(text);
	ms = mem_sampler__new(&so);
	if (!ms)
		return -ENOMEM;
	err = mem_sampler__snapshot(ms);
	if (!err) {
		mem_sampler__result(ms, &res);
		for (int c = 0; c < MEM_CAT__COUNT; c++)
			m->cat[c] = res.last->cat[c];
		m->have = true;
	}
	mem_sampler__free(ms);
	return err;
}

/* ---- the series ---------------------------------------------------------- */

int coldstart_series__init(struct coldstart_series *s,
			   const struct coldstart_target *t, int max_runs)
{
	memset(s, 0, sizeof(*s));
	s->t = t;
	if (max_runs < 1)
		max_runs = 1;
	s->max_runs = max_runs;
	for (int p = 0; p < t->nphases; p++) {
		s->phase_ms[p] = calloc((size_t)max_runs, sizeof(double));
		s->faults[p] = calloc((size_t)max_runs, sizeof(double));
		if (!s->phase_ms[p] || !s->faults[p])
			return -ENOMEM;
	}
	s->total_ms = calloc((size_t)max_runs, sizeof(double));
	s->held_ms = calloc((size_t)max_runs, sizeof(double));
	s->mem_rss = calloc((size_t)max_runs, sizeof(double));
	s->mem_peak = calloc((size_t)max_runs, sizeof(double));
	s->mem_run = calloc((size_t)max_runs, sizeof(int));
	if (!s->total_ms || !s->held_ms || !s->mem_rss || !s->mem_peak ||
	    !s->mem_run)
		return -ENOMEM;
	for (int c = 0; c < MEM_CAT__COUNT; c++) {
		s->mem_cat[c] = calloc((size_t)max_runs, sizeof(double));
		if (!s->mem_cat[c])
			return -ENOMEM;
	}
	return 0;
}

void coldstart_series__release(struct coldstart_series *s)
{
	for (int p = 0; p < COLDSTART_NPHASES_MAX; p++) {
		free(s->phase_ms[p]);
		free(s->faults[p]);
	}
	free(s->total_ms);
	free(s->held_ms);
	free(s->mem_rss);
	free(s->mem_peak);
	free(s->mem_run);
	for (int c = 0; c < MEM_CAT__COUNT; c++)
		free(s->mem_cat[c]);
	profile__free(s->last);
	memset(s, 0, sizeof(*s));
}

/* On-CPU time per phase (the stack's root pseudo-frame) and leaf kind. */
static void account_cpu(struct coldstart_series *s, const struct profile *p)
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
		ph = coldstart__phase_index(
			s->t, root->frames[root->nframes - 1].name);
		if (ph < 0)
			continue;
		leaf = &p->locations[st->locs[0]];
		kind = st->nlocs > 1 ? leaf->frames[0].kind
				     : FRAME_KIND_UNKNOWN;
		if ((unsigned)kind >= FRAME_KIND__COUNT)
			kind = FRAME_KIND_UNKNOWN;
		s->cpu_ns[ph][kind] += (double)st->weight;
	}
}

int coldstart_series__add(struct coldstart_series *s,
			  const struct coldstart_run *r, struct profile *p)
{
	int i = s->runs;

	if (i >= s->max_runs) {
		profile__free(p);
		return -ENOSPC;
	}
	for (int ph = 0; ph < r->nphases && ph < s->t->nphases; ph++) {
		s->phase_ms[ph][i] = r->phase_ms[ph];
		s->faults[ph][i] = (double)r->faults[ph];
	}
	s->total_ms[i] = r->total_ms;
	s->held_ms[i] = (double)r->held_ns / 1e6;
	if (r->memory.have) {
		int k = s->mem_runs++;

		s->mem_run[k] = i;
		s->mem_rss[k] = (double)r->memory.rss;
		s->mem_peak[k] = (double)r->memory.peak_rss;
		for (int c = 0; c < MEM_CAT__COUNT; c++)
			s->mem_cat[c][k] = (double)r->memory.cat[c];
	}
	s->missed += r->missed;
	if (p) {
		account_cpu(s, p);
		/* the latest run's profile is the one written as svg and
		 * pprof */
		profile__free(s->last);
		s->last = p;
	}
	s->runs++;
	return 0;
}

/* ---- measuring ----------------------------------------------------------- */

static bool stopped(const struct coldstart_opts *o)
{
	return o->stop && *o->stop;
}

static int fail(struct coldstart_error *e, enum coldstart_stage stage,
		int err, const char *what)
{
	e->stage = stage;
	e->err = -err;
	e->what = what;
	return err;
}

/* One start of @s->t, into @s: launched (@caught NULL), or the process
 * @caught says the exec watch stopped, resumed once its events are open;
 * @ready: the uprobes of @s->t opened before it was caught (taken over:
 * closed here), or NULL. */
static int run(struct coldstart_series *s, const struct coldstart_opts *o,
	       struct coldstart_error *e, const struct execwatch_event *caught,
	       struct coldstart_monitor *ready)
{
	const struct coldstart_target *t = s->t;
	pid_t pid = caught ? (pid_t)caught->pid : -1;
	struct record_opts ro = {
		.argv = caught ? NULL : t->argv,
		.pids = caught ? &pid : NULL,
		.npids = caught ? 1 : 0,
		.freq = o->freq,
		.stack_size = o->stack_size,
		.mmap_pages = o->mmap_pages,
		.cache = o->cache,
		.quiet_command = !o->show_output,
		.unwind = { .live_reads = true },
		.stop = o->stop,
	};
	struct coldstart_monitor mon;
	struct coldstart_run run;
	struct record *rec = NULL;
	struct profile *prof = NULL;
	const struct record_stats *st;
	uint64_t before, end;
	const char *what;
	int err;

	memset(e, 0, sizeof(*e));
	e->target = t;
	s->freq = o->freq;
	coldstart_run__init(&run, t, &mon);
	coldstart_run__hook(&run, &ro);
	if (ready) {
		mon = *ready;
		memset(ready, 0, sizeof(*ready));
		err = coldstart_monitor__attach(&mon, pid, &what);
	} else {
		err = coldstart_monitor__open(&mon, t, pid, &what);
	}
	if (err) {
		fail(e, err == -ENOENT && !strcmp(what, "the uprobe PMU")
				? COLDSTART_STAGE_PMU
				: COLDSTART_STAGE_MONITOR,
		     err, what);
		goto out;
	}
	rec = record__new(&ro);
	if (!rec) {
		err = fail(e, COLDSTART_STAGE_NONE, -ENOMEM, "the recording");
		goto out;
	}
	before = clock__ns(CLOCK_MONOTONIC);
	err = record__open(rec, &e->record);
	if (err) {
		fail(e, COLDSTART_STAGE_RECORD, err, "the recording");
		goto out;
	}
	if (caught) {
		run.pid = pid;
		/* the probes' records of other processes from before */
		coldstart_run__drain(&run);
		run.lost = 0;
		run.start_t = clock__ns(CLOCK_MONOTONIC);
		run.held_ns = run.start_t > caught->time
				      ? run.start_t - caught->time
				      : 0;
		err = execwatch__resume(pid);
		if (err) {
			fail(e, COLDSTART_STAGE_RECORD, err,
			     "the caught start (it ended while held?)");
			goto out;
		}
	} else {
		run.pid = record__child_pid(rec);
	}
	record__loop(rec);
	end = clock__ns(CLOCK_MONOTONIC);
	if (stopped(o)) {
		err = -EINTR;	/* a start cut short is not a start */
		goto out;
	}
	coldstart_run__drain(&run);
	coldstart_run__finish(&run, before, end, s->runs + 1);
	prof = record__profile(rec, t->command);
	if (!prof) {
		err = fail(e, COLDSTART_STAGE_PROFILE, errno ? -errno : -ENOMEM,
			   "the profile");
		goto out;
	}
	if (o->on_run) {
		err = o->on_run(o->ctx, s, prof);
		if (err) {
			fail(e, COLDSTART_STAGE_NONE, err, "the profile");
			goto out;
		}
	}
	err = coldstart_series__add(s, &run, prof);
	prof = NULL;
	if (err) {
		fail(e, COLDSTART_STAGE_NONE, err, "the runs");
		goto out;
	}
	if (caught)
		pr_info("%s start %d (pid %d): %.3f ms, held %.3f ms before "
			"its first instruction",
			t->path, s->runs, pid, run.total_ms,
			(double)run.held_ns / 1e6);
	else
		pr_info("%s run %d: %.3f ms", t->argv[0], s->runs,
			run.total_ms);
	st = record__stats(rec);
	if (st->lost)
		pr_warn("run %d: %" PRIu64 " records of the profile lost (its "
			"rings overflowed): stacks of the processes whose "
			"records were lost may be truncated; a lower -F or a "
			"larger -m helps",
			s->runs, st->lost);
out:
	if (caught && run.start_t == 0)
		execwatch__resume(pid);	/* never left stopped */
	profile__free(prof);
	record__free(rec);
	coldstart_monitor__close(&mon);
	coldstart_run__release(&run);
	return err;
}

int coldstart__run_once(struct coldstart_series *s,
			const struct coldstart_opts *o,
			struct coldstart_error *e)
{
	return run(s, o, e, NULL, NULL);
}

/* The targets' binaries read into @c as the first sample would: the ELF
 * file, its Go tables (a function looked up) and its CFI. */
static void warm_cache(struct elf_cache *c, const struct coldstart_target *t)
{
	struct elf_obj *o = elf_cache__open(c, t->path, t->path, t->dev,
					    t->ino);
	struct go_func fn;

	if (o && o->go)
		(void)elf_obj__go_func(o, "runtime.main", &fn);
}

/* A cache of its own for the runs of the @n targets of @s, their
 * binaries read into it before the first start; NULL on ENOMEM. */
static struct elf_cache *warm_cache_new(const struct coldstart_series *s,
					int n)
{
	struct elf_cache *c = elf_cache__new();

	for (int k = 0; c && k < n; k++)
		warm_cache(c, s[k].t);
	return c;
}

/* o->prepare through /bin/sh -c, waited for. 0, or -errno / -ECHILD
 * (e->status its wait status) and @e says so. */
static int prepare(const struct coldstart_opts *o, struct coldstart_error *e)
{
	int status, err;
	pid_t pid;

	if (!o->prepare)
		return 0;
	pid = fork();
	if (pid < 0)
		return fail(e, COLDSTART_STAGE_PREPARE, -errno, o->prepare);
	if (!pid) {
		if (!o->show_output) {
			int fd = open("/dev/null", O_WRONLY);

			if (fd >= 0) {
				dup2(fd, STDOUT_FILENO);
				dup2(fd, STDERR_FILENO);
				close(fd);
			}
		}
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", o->prepare, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			err = -errno;
			return fail(e, COLDSTART_STAGE_PREPARE, err,
				    o->prepare);
		}
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	fail(e, COLDSTART_STAGE_PREPARE, -ECHILD, o->prepare);
	e->err = 0;
	e->status = status;
	return -ECHILD;
}

/* One start of @s->t: o->prepare, then the start (measured into @s). */
static int start_once(struct coldstart_series *s,
		      const struct coldstart_opts *o,
		      struct coldstart_error *e)
{
	int err = prepare(o, e);

	if (err) {
		e->target = s->t;
		return err;
	}
	return coldstart__run_once(s, o, e);
}

/* o->warmup starts of each target, measured into series thrown away. */
static int warm_up(struct coldstart_series *s, int n,
		   const struct coldstart_opts *o, struct coldstart_error *e)
{
	struct coldstart_opts ow = *o;
	int err = 0;

	ow.on_run = NULL;
	for (int i = 0; i < o->warmup && !stopped(o) && !err; i++)
		for (int k = 0; k < n && !stopped(o) && !err; k++) {
			struct coldstart_series w;

			err = coldstart_series__init(&w, s[k].t, 1);
			if (!err)
				err = start_once(&w, &ow, e);
			coldstart_series__release(&w);
			if (!err)
				pr_info("%s warm-up %d done", s[k].t->argv[0],
					i + 1);
		}
	return err == -EINTR ? 0 : err;
}

int coldstart__measure(struct coldstart_series *s, int n,
		       const struct coldstart_opts *o,
		       struct coldstart_error *e)
{
	struct coldstart_opts oc = *o;
	struct elf_cache *own = NULL;
	int err = 0;

	memset(e, 0, sizeof(*e));
	if (!oc.cache && !(oc.cache = own = warm_cache_new(s, n)))
		return fail(e, COLDSTART_STAGE_NONE, -ENOMEM, "the ELF cache");
	err = warm_up(s, n, &oc, e);
	for (int i = 0; i < oc.runs && !stopped(&oc) && !err; i++) {
		for (int k = 0; k < n && !stopped(&oc); k++) {
			err = start_once(&s[k], &oc, e);
			if (err == -EINTR) {
				err = 0;
				break;
			}
			if (err)
				break;
		}
	}
	elf_cache__free(own);
	return err;
}

/* ---- starts caught where they happen ------------------------------------- */

/* The uprobes of every target with starts left, opened before the next
 * start is caught (run() takes them over). Where they fail to open they
 * are not tried again here: run() opens them, whole, and says why. */
static void prepare_probes(struct coldstart_series *s, int n,
			   const struct coldstart_opts *o,
			   struct coldstart_monitor *ready, bool *failed)
{
	const char *what;

	for (int k = 0; k < n; k++) {
		if (ready[k].rings || failed[k] || s[k].runs >= o->runs)
			continue;
		if (coldstart_monitor__open_probes(&ready[k], s[k].t, &what)) {
			coldstart_monitor__close(&ready[k]);
			failed[k] = true;
		}
	}
}

int coldstart__watch(struct coldstart_series *s, int n,
		     const struct coldstart_opts *o, struct coldstart_error *e)
{
	const char *paths[EXECWATCH_MAX_FILES];
	struct coldstart_opts oc = *o;
	struct elf_cache *own = NULL;
	struct execwatch *w;
	struct coldstart_monitor *ready;
	bool failed[EXECWATCH_MAX_FILES] = { false };
	uint64_t deadline = 0;
	const char *why;
	int err = 0, left = 0;

	memset(e, 0, sizeof(*e));
	if (n > EXECWATCH_MAX_FILES)
		return fail(e, COLDSTART_STAGE_WATCH, -EINVAL,
			    "too many binaries to watch");
	ready = calloc((size_t)n, sizeof(*ready));
	if (!ready)
		return fail(e, COLDSTART_STAGE_NONE, -ENOMEM, "the monitors");
	for (int k = 0; k < n; k++) {
		paths[k] = s[k].t->path;
		s[k].exec = true;
		left += o->runs;
	}
	if (!oc.cache && !(oc.cache = own = warm_cache_new(s, n))) {
		free(ready);
		return fail(e, COLDSTART_STAGE_NONE, -ENOMEM, "the ELF cache");
	}
	/* the verifier's fraction of a second is not spent while a start
	 * is held */
	gosnap__preload(oc.stack_size);
	w = execwatch__open(paths, n, &err, &why);
	if (!w) {
		fail(e, COLDSTART_STAGE_WATCH, err, why);
		goto out;
	}
	if (o->timeout > 0)
		deadline = clock__ns(CLOCK_MONOTONIC) +
			   (uint64_t)(o->timeout * 1e9);
	pr_info("waiting for %d start%s", left, left == 1 ? "" : "s");
	while (left > 0 && !stopped(&oc)) {
		struct execwatch_event ev;
		int wait_ms = 250;
		uint64_t now = clock__ns(CLOCK_MONOTONIC);

		if (deadline && now >= deadline) {
			e->stage = COLDSTART_STAGE_TIMEOUT;
			break;
		}
		if (deadline && (deadline - now) / 1000000 < (uint64_t)wait_ms)
			wait_ms = (int)((deadline - now) / 1000000) + 1;
		prepare_probes(s, n, &oc, ready, failed);
		err = execwatch__next(w, &ev, wait_ms);
		if (err == 0 || err == -EINTR) {
			err = 0;
			continue;
		}
		if (err < 0) {
			fail(e, COLDSTART_STAGE_WATCH, err,
			     "the exec watch's ring buffer");
			break;
		}
		err = 0;
		if (!ev.stopped)
			continue;	/* came while another was measured */
		if ((int)ev.file >= n || s[ev.file].runs >= o->runs) {
			execwatch__resume((pid_t)ev.pid);
		} else {
			err = run(&s[ev.file], &oc, e, &ev, &ready[ev.file]);
			if (err == -EINTR) {
				err = 0;
				break;
			}
			if (err)
				break;
			left--;
		}
		if (left > 0 && (err = execwatch__arm(w))) {
			fail(e, COLDSTART_STAGE_WATCH, err, "the exec watch");
			break;
		}
		if (ev.stopped && left > 0)
			pr_info("waiting for %d more start%s", left,
				left == 1 ? "" : "s");
	}
	if (execwatch__missed(w))
		pr_warn("%" PRIu64 " start%s of the watched binaries came while "
			"another was measured: not measured",
			execwatch__missed(w),
			execwatch__missed(w) == 1 ? "" : "s");
out:
	execwatch__close(w);
	for (int k = 0; k < n; k++)
		coldstart_monitor__close(&ready[k]);
	free(ready);
	gosnap__unpark();
	elf_cache__free(own);
	return err;
}
