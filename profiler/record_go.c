// SPDX-License-Identifier: MIT
/* The Go-aware parts of a recording: the uprobes at runtime.asmcgocall and
 * crosscall2 (cgo calls and callbacks) and at runtime.morestack (stack
 * growth), their records, the goroutine stack snapshots of the BPF
 * program, and the lookups the unwinder calls to use them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgoprof/arena.h"
#include "cgoprof/gosnap.h"
#include "cgoprof/htab.h"
#include "cgoprof/kallsyms.h"
#include "cgoprof/log.h"
#include "cgoprof/record.h"
#include "cgoprof/stacks.h"
#include "cgoprof/uprobe.h"
#include "record_internal.h"

void rec_probe_close(struct record *r, uint32_t tid);

/* Files a uprobe site for the unwinder (see trap_ip() in unwind.c). */
int rec_add_site(struct record *r, uint64_t dev, uint64_t ino,
		    uint64_t off)
{
	if (array__grow((void **)&r->sites, &r->cap_sites, r->nsites + 1,
			sizeof(*r->sites), 8))
		return -ENOMEM;
	r->sites[r->nsites++] = (struct probe_site){ dev, ino, off };
	r->o.unwind.probe_sites = r->sites;
	r->o.unwind.nprobe_sites = r->nsites;
	return 0;
}


/* Prepares the cgo entry probe on the Go binary at @path (opened through
 * @open_path): a uprobe at runtime.asmcgocall, recording the callchain
 * (exact there: Go code keeps frame pointers) and the return address into
 * runtime.cgocall at SP. Not an error when the binary is not Go. */
void rec_probe_prepare(struct record *r, const char *open_path)
{
	static const char *const funcs[2] = { "runtime.asmcgocall",
					      "crosscall2" };
	struct elf_obj *o;
	struct go_func fn;
	struct stat st;
	uint64_t off[2];

	if (!r->o.cgo_probe || r->probe)
		return;
	o = elf_cache__open(r->cache, open_path, open_path, 0, 0);
	if (!o || !o->go)
		return; /* not Go */
	for (int k = 0; k < 2; k++)
		if (elf_obj__go_func(o, funcs[k], &fn) ||
		    elf_obj__vaddr_to_offset(o, fn.entry, &off[k]))
			return; /* Go without cgo */
	if (uprobe__pmu_type() < 0) {
		pr_info("no uprobe PMU: cgo calls use live reads only");
		return;
	}
	snprintf(r->probe_path, sizeof(r->probe_path), "%s", open_path);
	if (!stat(open_path, &st))
		for (int k = 0; k < 2; k++)
			rec_add_site(r, st.st_dev, st.st_ino, off[k]);
	for (int k = 0; k < 2; k++) {
		struct perf_event_attr *a = &r->probe_attr[k];

		uprobe__attr(a, r->probe_path, off[k],
			     PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP |
			     PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
			     PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_REGS_USER |
			     PERF_SAMPLE_STACK_USER);
		a->sample_regs_user = CGOPROF_REGS_MASK;
		/* asmcgocall: the return address into cgocall; crosscall2:
		 * the C caller's frames, for CFI */
		a->sample_stack_user = k ? CGOPROF_CALLBACK_STACK : 8;
		a->exclude_callchain_kernel = 1;
		/* Not inherited (see uprobe__attr): threads created later get
		 * their own probes from their FORK record. */
		a->disabled = r->attr.disabled;
		a->enable_on_exec = r->attr.enable_on_exec;
	}
	r->probe = true;
}

/* Closes the probes of thread @tid (all of them when @tid is 0). */
void rec_probe_close(struct record *r, uint32_t tid)
{
	for (size_t i = 0; i < r->nprobe_ids; i++) {
		struct probe_id *p = &r->probe_ids[i];

		if (p->fd >= 0 && (!tid || p->tid == tid)) {
			close(p->fd);
			p->fd = -1;
		}
	}
}

static int probe_id_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct probe_id *)a)->id;
	uint64_t y = ((const struct probe_id *)b)->id;

	return x < y ? -1 : x > y;
}

int rec_add_probe_id(struct record *r, uint64_t id, int kind, int fd,
			uint32_t tid)
{
	if (array__grow((void **)&r->probe_ids, &r->cap_probe_ids,
			r->nprobe_ids + 1, sizeof(*r->probe_ids), 16))
		return -ENOMEM;
	r->probe_ids[r->nprobe_ids++] = (struct probe_id){ id, kind, fd, tid };
	qsort(r->probe_ids, r->nprobe_ids, sizeof(*r->probe_ids),
	      probe_id_cmp);
	return 0;
}

/* Opens the cgo entry probes for @pid on @cpu, into that CPU's ring. */
void rec_probe_open(struct record *r, pid_t pid, int cpu)
{
	if (!r->probe || r->rings[cpu].fd < 0)
		return;
	for (int k = 0; k < 2; k++) {
		int fd = rec_open_into_ring(r, &r->probe_attr[k], pid, cpu, k);

		if (fd < 0) {
			pr_info("cgo entry probe: %s", strerror(-fd));
			return;
		}
	}
}

/*
 * The morestack probe of the binary that process @pid runs, unless it has
 * one: a uprobe at runtime.morestack for every process (pid -1) on each
 * CPU, so threads and processes created later need nothing more; records
 * of processes that are not targets are dropped. Samples taken while
 * newstack or copystack run on g0 then get the goroutine's frames, which
 * no read of the live process could give: the goroutine's stack is being
 * copied, and it runs again microseconds later. Such a probe needs
 * CAP_PERFMON (or perf_event_paranoid <= 0); without it those samples end
 * "[truncated: morestack]". Opt-in (--morestack-probe): a probe costs a
 * trap and a record per stack growth, and programs that start many
 * goroutines grow stacks thousands of times a second (esbuild: 8000/s,
 * which took its run under cgoprof from 3.1 s to 3.9 s here).
 */
void rec_morestack_prepare(struct record *r, uint32_t pid)
{
	char path[64];
	struct stat st;
	struct elf_obj *o;
	struct go_func fn;
	uint64_t off;
	int *fds, n = 0;
	bool failed = false;

	if (r->ms_off)
		return;
	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	if (stat(path, &st))
		return;
	for (size_t i = 0; i < r->nms_bins; i++)
		if (r->ms_bins[i].dev == st.st_dev && r->ms_bins[i].ino == st.st_ino)
			return;
	if (array__grow((void **)&r->ms_bins, &r->cap_ms_bins, r->nms_bins + 1,
			sizeof(*r->ms_bins), 8))
		return;
	r->ms_bins[r->nms_bins++] = (struct ms_binary){ st.st_dev, st.st_ino };
	o = elf_cache__open(r->cache, path, path, 0, 0);
	if (!o || !o->go || elf_obj__go_func(o, "runtime.morestack", &fn) ||
	    elf_obj__vaddr_to_offset(o, fn.entry, &off))
		return; /* not Go */
	fds = calloc((size_t)r->ncpus, sizeof(*fds));
	/* read by the kernel at perf_event_open only (not inherited) */
	if (!fds || uprobe__attr(&r->ms_attr, path, off,
				 PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP |
				 PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
				 PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_REGS_USER |
				 PERF_SAMPLE_STACK_USER)) {
		free(fds);
		r->ms_off = true;
		return;
	}
	r->ms_attr.sample_regs_user = CGOPROF_REGS_MASK;
	/* the return addresses into f and into f's caller */
	r->ms_attr.sample_stack_user = 16;
	r->ms_attr.exclude_callchain_kernel = 1;
	for (int cpu = 0; cpu < r->ncpus; cpu++) {
		int fd;

		if (r->rings[cpu].fd < 0)
			continue;
		fd = rec_open_into_ring(r, &r->ms_attr, -1, cpu, 2);
		if (fd < 0) {
			pr_info("morestack probe: %s%s", strerror(-fd),
				fd == -EACCES || fd == -EPERM
					? " (needs CAP_PERFMON or perf_event_paranoid <= 0)"
					: "");
			failed = true;
			break;
		}
		fds[n++] = fd;
	}
	if (!failed) {
		r->stats.morestack_probes++;
		rec_add_site(r, st.st_dev, st.st_ino, off);
		free(fds);
		return;
	}
	/* all CPUs or none: one failure turns the probes off */
	for (int i = 0; i < n; i++)
		rec_close_in_ring(r, fds[i]);
	free(fds);
	r->ms_off = true;
}

struct cgo_thread *rec_cgo_thread(struct record *r, uint32_t tid,
				  bool create)
{
	uint32_t i = htab__find(&r->cgo_index, tid, NULL, NULL, NULL);

	if (i != HTAB_NONE)
		return &r->cgo[i];
	if (!create || !tid)
		return NULL;
	if (array__grow((void **)&r->cgo, &r->cap_cgo, r->ncgo + 1,
			sizeof(*r->cgo), 64))
		return NULL;
	if (htab__insert(&r->cgo_index, tid, (uint32_t)r->ncgo))
		return NULL;
	r->cgo[r->ncgo] = (struct cgo_thread){ .tid = tid };
	return &r->cgo[r->ncgo++];
}

/* Which of a thread's CGO_ENTRIES records, @size bytes apart from the
 * first one's @time and @used words, is the latest at or before @at (the
 * first of equals): its index, or -1. A record is used when @used is not
 * 0: a cgo entry's frame count, a callback's stack length. */
static int latest_record(const uint64_t *time, const uint32_t *used,
			 size_t size, uint64_t at)
{
	uint64_t best_time = 0;
	int best = -1;

	for (int i = 0; i < CGO_ENTRIES; i++) {
		uint64_t t = *(const uint64_t *)((const char *)time + i * size);

		if (!*(const uint32_t *)((const char *)used + i * size) ||
		    t > at)
			continue;
		if (best < 0 || t > best_time) {
			best = i;
			best_time = t;
		}
	}
	return best;
}

const struct cgo_entry *rec_cgo_entry_lookup(void *ctx, uint32_t tid,
						uint64_t bp, uint64_t time)
{
	struct cgo_thread *t = rec_cgo_thread(ctx, tid, false);
	const struct cgo_entry *e;
	int i;

	if (!t)
		return NULL;
	/* the call in progress is the latest entry before the sample; its
	 * frame pointer is asmcgocall's frame (Go >= 1.21: sp - 8) or
	 * cgocall's (before: rbp unchanged at entry) */
	i = latest_record(&t->e[0].time, &t->e[0].n, sizeof(t->e[0]), time);
	if (i < 0)
		return NULL;
	e = &t->e[i];
	return bp == e->sp - 8 || bp == e->bp ? e : NULL;
}

const struct cgo_callback *rec_cgo_callback_lookup(void *ctx, uint32_t tid,
						      uint64_t bp_cb,
						      uint64_t time)
{
	struct cgo_thread *t = rec_cgo_thread(ctx, tid, false);
	const struct cgo_callback *e;
	int i;

	if (!t)
		return NULL;
	i = latest_record(&t->cb[0].time, &t->cb[0].len, sizeof(t->cb[0]),
			  time);
	if (i < 0)
		return NULL;
	/* crosscall2 and cgocallback's frames lie between the C caller's
	 * stack pointer and cgocallback's frame record: 0x58 bytes (0x60
	 * where crosscall2 has its own frame, Go >= 1.21) */
	e = &t->cb[i];
	if (e->regs[UNWIND_REG_SP] > bp_cb &&
	    e->regs[UNWIND_REG_SP] - bp_cb <= 0x100)
		return e;
	return NULL;
}

/* Files the hit of a uprobe at @s->ip for the unwinder's uprobe_leaf(). */
static void note_hit(struct cgo_thread *t, const struct perf_sample *s)
{
	if (s->time < t->hit.time)
		return;
	t->hit.time = s->time;
	t->hit.ip = s->ip;
	t->hit.sp = s->regs[PERF_REG_SP];
}

bool rec_probe_hit_lookup(void *ctx, uint32_t tid, uint64_t time,
			     struct probe_hit *hit)
{
	struct cgo_thread *t = rec_cgo_thread(ctx, tid, false);

	if (!t || !t->hit.time || t->hit.time > time)
		return false;
	*hit = t->hit;
	return true;
}

/* The record of thread @s->tid, for a record of a system-wide probe or
 * output event: NULL unless the process is one of the targets. */
static struct cgo_thread *target_thread(struct record *r,
					const struct perf_sample *s)
{
	if (!procmap__proc(r->pm, s->pid, false))
		return NULL;
	return rec_cgo_thread(r, s->tid, true);
}

/* A record of the probe opened with @a parsed into *@s, and its thread's
 * records: NULL when it is malformed (counted: no registers, less than
 * @min_stack bytes of stack), out of memory, or (@targets_only: a
 * system-wide probe) of a process that is not a target. */
static struct cgo_thread *probe_record(struct record *r,
				       const struct perf_event_attr *a,
				       uint64_t min_stack, bool targets_only,
				       const struct perf_event_header *h,
				       struct perf_sample *s)
{
	if (perf_sample__parse(h, a->sample_type, a->sample_regs_user, s) ||
	    !s->regs_abi || s->stack_dyn_size < min_stack) {
		r->stats.bad_records++;
		return NULL;
	}
	if (targets_only)
		return target_thread(r, s);
	return rec_cgo_thread(r, s->tid, true);
}

/* Where the callers in @s's user callchain start: past its context
 * marker and the ip. */
static uint64_t user_callers(const struct perf_sample *s)
{
	uint64_t i = 0;

	while (i < s->callchain_nr && s->callchain[i] != PERF_CONTEXT_USER)
		i++;
	return i + 2;
}

/* Appends @s's callchain from @i to @pcs (*@n of CGOPROF_MAX_FRAMES used)
 * up to a context marker. */
static void append_callers(const struct perf_sample *s, uint64_t i,
			   uint64_t *pcs, uint32_t *n)
{
	for (; i < s->callchain_nr && *n < CGOPROF_MAX_FRAMES; i++) {
		if (s->callchain[i] >= (uint64_t)-4095)
			break;
		pcs[(*n)++] = s->callchain[i];
	}
}

void rec_on_callback_probe(struct record *r,
			      const struct perf_event_header *h)
{
	struct perf_sample s;
	struct cgo_thread *t;
	struct cgo_callback *e;

	t = probe_record(r, &r->probe_attr[1], 8, false, h, &s);
	if (!t)
		return;
	e = &t->cb[t->next_cb++ % CGO_ENTRIES];
	e->time = s.time;
	unwind__sample_regs(&s, e->regs, &e->valid);
	e->len = (uint32_t)(s.stack_dyn_size < CGOPROF_CALLBACK_STACK
				    ? s.stack_dyn_size
				    : CGOPROF_CALLBACK_STACK);
	memcpy(e->stack, s.stack, e->len);
	note_hit(t, &s);
	r->stats.cgo_entries++;
}

void rec_on_probe(struct record *r, const struct perf_event_header *h)
{
	struct perf_sample s;
	struct cgo_thread *t;
	struct cgo_entry *e;
	uint64_t i;

	t = probe_record(r, &r->probe_attr[0], 8, false, h, &s);
	if (!t)
		return;
	e = &t->e[t->next++ % CGO_ENTRIES];
	e->time = s.time;
	e->sp = s.regs[PERF_REG_SP];
	e->bp = s.regs[PERF_REG_BP];
	e->n = 0;
	memcpy(&e->pcs[e->n++], s.stack, 8);
	/* the user callchain: ip, then the frame records from rbp */
	i = user_callers(&s);
	/* kernels from 6.11 add the return address at sp themselves for a
	 * uprobe at a function entry that pushes rbp (Go >= 1.21's
	 * asmcgocall): it is already pcs[0] */
	if (i < s.callchain_nr && s.callchain[i] == e->pcs[0])
		i++;
	append_callers(&s, i, e->pcs, &e->n);
	note_hit(t, &s);
	r->stats.cgo_entries++;
}

void rec_on_morestack_probe(struct record *r,
			       const struct perf_event_header *h)
{
	struct perf_sample s;
	struct cgo_thread *t;
	struct go_morestack *m;
	uint64_t i;

	t = probe_record(r, &r->ms_attr, 16, true, h, &s);
	if (!t)
		return;
	m = &t->ms;
	m->time = s.time;
	m->ip = s.ip;
	m->sp = s.regs[PERF_REG_SP];
	m->n = 0;
	memcpy(&m->pcs[m->n++], s.stack, 8);
	memcpy(&m->pcs[m->n++], s.stack + 8, 8);
	/* the user callchain: ip, then the frame records from rbp, which is
	 * still f's caller's (f has not pushed it yet) */
	i = user_callers(&s);
	while (i < s.callchain_nr && (s.callchain[i] == m->pcs[0] ||
				      s.callchain[i] == m->pcs[1]))
		i++;
	append_callers(&s, i, m->pcs, &m->n);
	note_hit(t, &s);
	r->stats.morestack_entries++;
}

const struct go_morestack *rec_morestack_lookup(void *ctx, uint32_t tid,
						   uint64_t time)
{
	struct record *r = ctx;
	struct cgo_thread *t = rec_cgo_thread(r, tid, false);

	if (!t || !t->ms.n || t->ms.time > time)
		return NULL;
	return &t->ms;
}

/* A record of the snapshot program (gosnap.bpf.c). The records of one sample
 * are written one after the other into the sample's ring, before the
 * sample: @cont says this one follows another of the same thread there
 * (rec_queue_record), and so belongs to the same sample: its region is added.
 * Each record's bytes are followed by the bitmap of the pages it could
 * not copy. */
void rec_on_snapshot(struct record *r, const struct perf_event_header *h,
			bool cont)
{
	size_t head = offsetof(struct gosnap_record, bytes);
	const struct gosnap_record *rec;
	struct gosnap_record hd;
	struct go_snapshot *g;
	struct perf_sample s;
	struct cgo_thread *t;
	uint64_t absent;
	unsigned k, need;

	if (perf_sample__parse(h, r->snap_attr.sample_type, 0, &s) ||
	    s.raw_size < head) {
		r->stats.bad_records++;
		return;
	}
	t = target_thread(r, &s);
	if (!t)
		return;
	memcpy(&hd, s.raw, head);
	if (hd.magic != CGOPROF_GOSNAP_MAGIC || hd.len > CGOPROF_GOSNAP_BYTES ||
	    hd.len + 8 > s.raw_size - head || hd.kind > GOSNAP_DEEP) {
		r->stats.bad_records++;
		t->snap_fresh = false;
		return;
	}
	g = &t->snap;
	need = hd.kind == GOSNAP_RUNTIME ? 4 : 1;
	k = 0;
	if (cont && t->snap_fresh && t->snap_nrec &&
	    t->snap_nrec < CGOPROF_SNAPSHOT_REGIONS &&
	    g->n + need <= CGOPROF_SNAPSHOT_REGIONS && g->ip == s.ip)
		k = t->snap_nrec;
	else if (cont)
		return;	/* the rest of a snapshot not kept */
	/* as large as the largest record of the thread, not the 60 KiB a
	 * record may take: most threads' are a few hundred bytes */
	if (t->snap_cap[k] < head + hd.len) {
		void *p = realloc(t->snap_rec[k], head + hd.len);

		if (!p)
			return;
		t->snap_rec[k] = p;
		t->snap_cap[k] = head + hd.len;
	}
	rec = t->snap_rec[k];
	memcpy(t->snap_rec[k], s.raw, head + hd.len);
	memcpy(&absent, (const uint8_t *)s.raw + head + hd.len, 8);
	if (!k) {
		*g = (struct go_snapshot){ .time = s.time, .ip = s.ip };
		t->snap_nrec = 0;
	}
	t->snap_nrec++;
	/* the bitmap's top bit: the bytes are frame records */
	g->r[g->n++] = (struct go_snapshot_region){
		rec->sp, rec->len, rec->bytes, absent & ~(1ULL << 63),
		absent >> 63 };
	if (rec->kind == GOSNAP_RUNTIME && !k) {
		g->r[g->n++] = (struct go_snapshot_region){
			rec->g0, sizeof(rec->g0_head), rec->g0_head, 0, false };
		g->r[g->n++] = (struct go_snapshot_region){
			rec->m, sizeof(rec->m_head), rec->m_head, 0, false };
		g->r[g->n++] = (struct go_snapshot_region){
			rec->g, sizeof(rec->g_head), rec->g_head, 0, false };
	}
	if (k)
		return;	/* the snapshot was counted with its first record */
	t->snap_fresh = true;
	r->stats.go_snapshots++;
}

int rec_gosnap_load(struct record *r)
{
	const char *why = NULL;
	int err;

	if (r->gosnap)
		return 0;
	err = gosnap__open(&r->gosnap, r->ncpus, r->attr.sample_stack_user, &why);
	if (err)
		r->stats.gosnap_off = why ? why : strerror(-err);
	return err;
}

/*
 * Loads the snapshot program (gosnap.c), opens a BPF output event on each
 * CPU into that CPU's ring, and attaches the program to every sampling
 * event. Needs CAP_BPF and CAP_PERFMON (root); without them, or without
 * kernel BTF, samples in cgo calls fall back to the kernel's callchain and
 * reads of the live process, and -v says why.
 */
void rec_gosnap_setup(struct record *r)
{
	int err;

	if (r->o.no_bpf || rec_gosnap_load(r))
		return;
	memset(&r->snap_attr, 0, sizeof(r->snap_attr));
	r->snap_attr.size = sizeof(r->snap_attr);
	r->snap_attr.type = PERF_TYPE_SOFTWARE;
	r->snap_attr.config = PERF_COUNT_SW_BPF_OUTPUT;
	r->snap_attr.sample_period = 1;
	/* IP and TID before TIME, as rec_record_time() expects of samples */
	r->snap_attr.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP |
				   PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
				   PERF_SAMPLE_RAW;
	r->snap_attr.use_clockid = 1;
	r->snap_attr.clockid = CLOCK_MONOTONIC;
	for (int cpu = 0; cpu < r->ncpus; cpu++) {
		int fd;

		if (r->rings[cpu].fd < 0)
			continue;
		fd = rec_open_into_ring(r, &r->snap_attr, -1, cpu, 3);
		err = fd < 0 ? fd : gosnap__set_output(r->gosnap, cpu, fd);
		if (err) {
			r->stats.gosnap_off = "the BPF output events cannot be opened";
			pr_info("goroutine snapshots: %s", strerror(-err));
			if (fd >= 0)
				rec_close_in_ring(r, fd);
			goto fail;
		}
	}
	/* (CPU scope: rec_enable_cpu_events() puts it on the CPU-wide
	 * events, before they are enabled) */
	for (size_t i = 0; !r->stats.cpu_scope && i < r->nfds; i++) {
		if (ioctl(r->fds[i], PERF_EVENT_IOC_SET_BPF,
			  gosnap__prog_fd(r->gosnap))) {
			r->stats.gosnap_off = "the BPF program cannot be attached";
			pr_info("goroutine snapshots: %s", strerror(errno));
			goto fail;
		}
	}
	r->stats.gosnap_on = true;
	if (gosnap__run_stats(r->gosnap, &r->bpf_runs0, &r->bpf_ns0))
		r->bpf_runs0 = r->bpf_ns0 = 0;
	return;
fail:
	/* the program stays attached to the events it was attached to: its
	 * output goes nowhere once the map's fds are closed */
	gosnap__free(r->gosnap);
	r->gosnap = NULL;
}

/* Which probe wrote sample @h: 0 or 1, or -1 when it is a sample of the
 * sampling event. */
int rec_probe_kind(struct record *r, const struct perf_event_header *h)
{
	struct probe_id key, *p;

	if (!r->nprobe_ids || h->size < sizeof(*h) + 8)
		return -1;
	memcpy(&key.id, h + 1, 8);
	p = bsearch(&key, r->probe_ids, r->nprobe_ids, sizeof(key),
		    probe_id_cmp);
	return p ? p->kind : -1;
}

/* Tells the snapshot program where Go process @p keeps its g, when not
 * at fsbase - 8 (static glibc's TLS comes first there): once per
 * executable. */
void rec_gosnap_preset(struct record *r, pid_t pid, const char *path)
{
	struct elf_obj *o;
	int32_t off;

	if (!r->gosnap || !r->stats.gosnap_on)
		return;
	o = elf_cache__open(r->cache, path, path, 0, 0);
	if (o && o->go && !elf_obj__go_g_tls(o, &off) && off != -8 &&
	    gosnap__set_g_tls(r->gosnap, (uint32_t)pid, off))
		pr_debug("pid %d: g's TLS slot not set", pid);
}

void rec_publish_g_tls(struct record *r, struct proc *p)
{
	int32_t off = -8;

	for (size_t i = 0; i < p->nmaps; i++) {
		struct map *m = &p->maps[i];

		if (m->obj && m->obj->go && p->exe && !strcmp(m->path, p->exe)) {
			if (elf_obj__go_g_tls(m->obj, &off)) {
				off = -8;
				p->snap_why = "the g's TLS slot was not found in "
					      "the executable's code (tried "
					      "fs-8)";
			}
			break;
		}
	}
	if (off != -8 && gosnap__set_g_tls(r->gosnap, p->pid, off))
		pr_debug("pid %u: g's TLS slot not set", p->pid);
	p->snap_g_tls = off;
}

/* A note for Go process @p when its samples in cgo calls got no
 * snapshot: why, and what it costs; its counts are then cleared. */
void rec_snapshot_note(struct record *r, struct proc *p)
{
	size_t room = sizeof(r->snap_notes) - r->snap_notes_len;
	int k;

	pr_debug("snapshots: pid %u: %" PRIu64 " samples, %" PRIu64
		 " in C, %" PRIu64 " served",
		 p->pid, p->snap_samples, p->snap_cgo, p->snap_used);
	if (p->is_go && !p->snap_used && p->snap_cgo >= 10) {
		if (r->snap_notes_len > sizeof(r->snap_notes) / 2) {
			r->snap_notes_more++;
		} else {
			k = snprintf(
				r->snap_notes + r->snap_notes_len, room,
				"goroutine stack snapshots: off for %u "
				"(%.16s): %s; %.0f%% of its samples are in "
				"cgo calls, whose Go callers may be truncated "
				"(%.0f%% of its samples are not complete)\n",
				p->pid, p->comm,
				p->snap_why ? p->snap_why
					    : "none arrived (the BPF program "
					      "found no goroutine where it "
					      "looked)",
				100.0 * (double)p->snap_cgo /
					(double)p->snap_samples,
				100.0 * (double)p->snap_incomplete /
					(double)p->snap_samples);
			if (k > 0 && (size_t)k < room)
				r->snap_notes_len += (size_t)k;
		}
	}
	p->snap_samples = p->snap_used = p->snap_cgo = 0;
	p->snap_incomplete = 0;
}

static void snap_note_each(struct proc *p, void *ctx)
{
	rec_snapshot_note(ctx, p);
}

const char *rec_snapshot_notes(struct record *r)
{
	if (r->o.no_bpf)
		return NULL;
	if (!r->stats.gosnap_on) {
		if (r->stats.gosnap_off && r->go_samples)
			snprintf(r->snap_notes, sizeof(r->snap_notes),
				 "goroutine stack snapshots: off: %s; the Go "
				 "callers of samples in cgo calls may be "
				 "truncated\n",
				 r->stats.gosnap_off);
		return r->snap_notes[0] ? r->snap_notes : NULL;
	}
	procmap__for_each(r->pm, snap_note_each, r);
	if (r->snap_notes_more) {
		size_t room = sizeof(r->snap_notes) - r->snap_notes_len;

		snprintf(r->snap_notes + r->snap_notes_len, room,
			 "goroutine stack snapshots: off for %u more Go "
			 "processes\n",
			 r->snap_notes_more);
	}
	return r->snap_notes[0] ? r->snap_notes : NULL;
}
