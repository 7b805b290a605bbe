// SPDX-License-Identifier: MIT
/* Records in time order: read from the per-CPU rings, queued until every
 * CPU's older records are in (perf's ordered events), then each used in
 * turn: mmaps and execs into the process model, a sample unwound and
 * counted in the stack table. */
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

#include "cgoprof/gosnap.h"
#include "cgoprof/kallsyms.h"
#include "cgoprof/log.h"
#include "cgoprof/record.h"
#include "cgoprof/stacks.h"
#include "cgoprof/uprobe.h"
#include "record_internal.h"

/* ---- records ---- */

struct rec_mmap2 {
	struct perf_event_header h;
	uint32_t pid, tid;
	uint64_t addr, len, pgoff;
	uint32_t maj, min;
	uint64_t ino, ino_generation;
	uint32_t prot, flags;
	char filename[];
};

struct rec_lost {
	struct perf_event_header h;
	uint64_t id, lost;
};

/* A string field of a record: NUL-terminated inside the record or NULL. */
static const char *rec_string(const struct perf_event_header *h,
			      const char *s)
{
	size_t max = (size_t)((const char *)h + h->size - s);

	if ((const char *)h + h->size <= s)
		return NULL;
	return memchr(s, 0, max) ? s : NULL;
}

static void on_sample(struct record *r, const struct perf_event_header *h)
{
	struct perf_sample s;
	const char *root;
	struct proc *p;
	int err;

	err = perf_sample__parse(h, r->attr.sample_type, r->attr.sample_regs_user,
				 &s);
	if (err) {
		r->stats.bad_records++;
		return;
	}
	/* one timer a CPU: a thread taken after its pid was released (its
	 * last instructions, after exit_notify) has pid -1; per-task events
	 * are gone by then */
	if (s.pid == UINT32_MAX || s.tid == UINT32_MAX) {
		r->stats.reaped++;
		return;
	}
	r->stats.samples++;
	{
		uint64_t now = clock__ns(CLOCK_MONOTONIC);

		if (now > s.time)
			r->stats.latency_ns += now - s.time;
	}
	p = procmap__proc(r->pm, s.pid, true);
	if (p && !procmap__thread(r->pm, s.tid, s.pid, false)) {
		struct thread *t = procmap__thread(r->pm, s.tid, s.pid, true);

		if (t)
			memcpy(t->comm, p->comm, sizeof(t->comm));
	}
	if (r->gosnap && p && p->is_go && !p->snap_g_tls)
		rec_publish_g_tls(r, p);
	r->o.unwind.cgo_entry = r->probe ? rec_cgo_entry_lookup : NULL;
	r->o.unwind.cgo_callback = r->probe ? rec_cgo_callback_lookup : NULL;
	r->o.unwind.go_morestack = r->stats.morestack_probes ? rec_morestack_lookup
							     : NULL;
	/* the caller's hits (its own uprobes), unless we place ours */
	if (r->probe || r->stats.morestack_probes) {
		r->o.unwind.probe_hit = rec_probe_hit_lookup;
		r->o.unwind.probe_hit_ctx = r;
	}
	r->o.unwind.cgo_ctx = r;
	r->o.unwind.go_snapshot = NULL;
	if (r->stats.gosnap_on) {
		/* The program runs in the sample's overflow handler and
		 * writes its records into the sample's ring right before the
		 * sample (rec_queue_record saw them there: snap_mine), and they
		 * are used before it. Used once. */
		struct cgo_thread *t = rec_cgo_thread(r, s.tid, false);

		if (t && t->snap_fresh && r->snap_mine && t->snap.ip == s.ip)
			r->o.unwind.go_snapshot = &t->snap;
		if (t)
			t->snap_fresh = false;
	}
	err = unwind__sample(r->pm, p, &s, &r->o.unwind, &r->unwound);
	if (err) {
		r->stats.unwind_failed++;
		return;
	}
	if (p && p->is_go)
		r->go_samples++;
	if (p && p->is_go && !r->o.no_bpf) {
		p->snap_samples++;
		if (r->o.unwind.go_snapshot)
			p->snap_used++;
		if (r->unwound.status != STACK_COMPLETE)
			p->snap_incomplete++;
		for (uint32_t i = 0; i < r->unwound.n; i++) {
			const struct unwind_frame *f = &r->unwound.frames[i];

			if (f->flags & UNWIND_FRAME_KERNEL)
				continue;
			/* a user leaf in C code: in a cgo call */
			if (f->map && f->map->obj &&
			    !elf_obj__is_go_pc(f->map->obj,
					       f->pc - f->map->bias))
				p->snap_cgo++;
			break;
		}
	}
	/* --unwinder=compare: the unwinder compared the C frames */
	if (r->unwound.compare != UNWIND_COMPARE_NONE) {
		r->stats.compared++;
		if (r->unwound.compare == UNWIND_COMPARE_DISAGREE)
			r->stats.disagreed++;
	}
	/* the caller's root (a cold-start phase) stands for the stack's
	 * root; else the unwinder's pseudo frame for the user part */
	root = r->o.sample_root ? r->o.sample_root(r->o.hook_ctx, &s,
						   &r->unwound)
				: NULL;
	if (stack_table__add(&r->stacks, s.pid, s.tid, &r->unwound,
			     s.period ? s.period : 1,
			     root ? root : r->unwound.root))
		r->stats.aggregate_failed++;
}

static int on_record(const struct perf_event_header *h, void *ctx)
{
	struct record *r = ctx;

	switch (h->type) {
	case PERF_RECORD_SAMPLE:
		switch (rec_probe_kind(r, h)) {
		case 0:
			rec_on_probe(r, h);
			break;
		case 1:
			rec_on_callback_probe(r, h);
			break;
		case 2:
			rec_on_morestack_probe(r, h);
			break;
		case 3:
			rec_on_snapshot(r, h, r->snap_cont);
			break;
		default:
			on_sample(r, h);
		}
		break;
	case PERF_RECORD_MMAP2: {
		const struct rec_mmap2 *m = (const void *)h;
		const char *name;
		uint64_t dev = 0, ino = 0;

		if (h->size < sizeof(*m) ||
		    !(name = rec_string(h, m->filename))) {
			r->stats.bad_records++;
			break;
		}
		if (!rec_is_target(r, m->pid))
			break;	/* CPU scope: another process's */
		if (!(h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID)) {
			dev = makedev(m->maj, m->min);
			ino = m->ino;
		}
		procmap__mmap(r->pm, m->pid, m->addr, m->len, m->pgoff, dev,
			      ino, m->prot, name);
		break;
	}
	case PERF_RECORD_COMM: {
		struct perf_comm c;

		if (perf_comm__parse(h, 0, &c)) {
			r->stats.bad_records++;
			break;
		}
		if (!rec_is_target(r, c.pid))
			break;
		procmap__comm(r->pm, c.pid, c.tid, c.comm, c.exec);
		if (c.exec)
			rec_morestack_prepare(r, c.pid);
		break;
	}
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT: {
		struct perf_fork f;

		if (perf_fork__parse(h, &f)) {
			r->stats.bad_records++;
			break;
		}
		if (h->type == PERF_RECORD_FORK) {
			/* CPU scope: a target's child is one (the program's
			 * list has it already) */
			if (!rec_is_target(r, f.ppid))
				break;
			if (rec_target_add(r, f.pid, 0)) {
				r->stats.targets_lost++;
				break;
			}
			procmap__fork(r->pm, f.pid, f.ppid, f.tid);
			r->stats.threads_seen++;
			if (r->probe && f.pid == f.ppid) {
				/* a new thread of a probed process */
				for (int k = 0; k < 2; k++) {
					r->probe_attr[k].disabled = 0;
					r->probe_attr[k].enable_on_exec = 0;
				}
				for (int cpu = 0; cpu < r->ncpus; cpu++)
					rec_probe_open(r, (pid_t)f.tid, cpu);
			}
		} else {
			if (!rec_is_target(r, f.pid))
				break;
			if (f.pid == f.tid && r->gosnap) {
				struct proc *ep = procmap__proc(r->pm, f.pid,
								false);

				if (ep)
					rec_snapshot_note(r, ep);
			}
			procmap__exit(r->pm, f.pid, f.tid);
			if (r->gosnap && f.pid == f.tid)
				gosnap__set_g_tls(r->gosnap, f.pid, -8);
			if (r->probe)
				rec_probe_close(r, f.tid);
		}
		break;
	}
	case PERF_RECORD_LOST: {
		const struct rec_lost *l = (const void *)h;

		if (h->size >= sizeof(*l))
			r->stats.lost += l->lost;
		break;
	}
	case PERF_RECORD_LOST_SAMPLES: {
		uint64_t lost;

		if (h->size >= sizeof(*h) + sizeof(lost)) {
			memcpy(&lost, h + 1, sizeof(lost));
			r->stats.lost += lost;
		}
		break;
	}
	case PERF_RECORD_THROTTLE:
		r->stats.throttled++;
		break;
	default:
		break;
	}
	return 0;
}

uint64_t rec_record_time(const struct perf_event_header *h)
{
	uint64_t t = 0;

	/* samples: header, id, ip, pid/tid, time; other records end with
	 * the sample_id trailer: pid/tid, time, id */
	if (h->type == PERF_RECORD_SAMPLE) {
		if (h->size >= sizeof(*h) + 32)
			memcpy(&t, (const uint8_t *)h + sizeof(*h) + 24, 8);
	} else if (h->size >= sizeof(*h) + 24) {
		memcpy(&t, (const uint8_t *)h + h->size - 16, 8);
	}
	return t;
}

/* Queues the snapshot records of @cr's chain, which wait, at @time
 * (their sample's): they are used before it. */
static void snap_before(struct record *r, const struct cpu_ring *cr,
			uint64_t time)
{
	unsigned left = cr->snap_n;

	for (size_t i = r->npending; i-- > 0 && left;) {
		for (unsigned k = 0; k < cr->snap_n; k++) {
			if (r->pending[i].seq != cr->snap_seq[k])
				continue;
			if (r->pending[i].time > time)
				r->pending[i].time = time;
			left--;
			break;
		}
	}
}

int rec_queue_record(const struct perf_event_header *h, uint64_t pos,
		     void *ctx)
{
	struct record *r = ctx;
	bool cont = false, mine = false;
	uint64_t t;

	if (r->npending == r->cap_pending) {
		size_t cap = r->cap_pending ? r->cap_pending * 2 : 4096;
		void *p = realloc(r->pending, cap * sizeof(*r->pending));

		if (!p)
			return -ENOMEM;
		r->pending = p;
		r->cap_pending = cap;
	}
	t = rec_record_time(h);
	if (r->gosnap && h->type == PERF_RECORD_SAMPLE && rec_probe_kind(r, h) == 3) {
		struct cpu_ring *cr = r->reading;
		uint32_t tid = 0;

		/* The program runs in the sample's overflow handler and
		 * writes its records into the sample's ring, one after the
		 * other, right before the sample: they wait for the record
		 * that follows them there, and go just before it. Their own
		 * times are later than the sample's, by as much as the copy
		 * took, and may pass the next sample's at high rates. */
		if (h->size >= sizeof(*h) + 24)
			memcpy(&tid, (const uint8_t *)h + sizeof(*h) + 20, 4);
		cont = cr && cr->snap_chain && cr->snap_tid == tid;
		if (cr && !cont) {
			if (cr->snap_chain)
				snap_before(r, cr, t);	/* not followed */
			cr->snap_chain = true;
			cr->snap_tid = tid;
			cr->snap_n = 0;
		}
		if (cr && cr->snap_n < CGOPROF_SNAPSHOT_REGIONS) {
			cr->snap_seq[cr->snap_n++] = r->seq;
			t = UINT64_MAX;
		}
	} else if (r->reading && r->reading->snap_chain) {
		struct cpu_ring *cr = r->reading;
		uint32_t tid = 0;

		/* their sample (else they are used, unread, here) */
		if (h->type == PERF_RECORD_SAMPLE && rec_probe_kind(r, h) < 0 &&
		    h->size >= sizeof(*h) + 24) {
			memcpy(&tid, (const uint8_t *)h + sizeof(*h) + 20, 4);
			mine = tid == cr->snap_tid;
		}
		snap_before(r, cr, t);
		cr->snap_chain = false;
	}
	r->pending[r->npending++] = (struct pending){
		.time = t,
		.seq = r->seq++,
		.h = h,
		.pos = pos,
		.ring = (uint32_t)(r->reading - r->rings),
		.cont = cont,
		.mine = mine,
	};
	return 0;
}

/* Forgets the waiting records of ring @i, whose bytes the kernel may now
 * overwrite. */
static void drop_ring(struct record *r, int i)
{
	size_t k = 0;

	for (size_t j = 0; j < r->npending; j++)
		if (r->pending[j].ring != (uint32_t)i)
			r->pending[k++] = r->pending[j];
	r->npending = k;
	r->rings[i].snap_chain = false;
}

static int pending_cmp(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Reads every ring, then uses the records older than @horizon in time
 * order (all of them when @horizon is 0), where they are in the rings:
 * each ring's tail is then published at its oldest record still waiting
 * (snapshot records keep their bytes until their sample is used). */
void rec_drain(struct record *r, uint64_t horizon)
{
	size_t used = 0;

	for (int i = 0; i < r->ncpus; i++) {
		int err;

		if (r->rings[i].fd < 0)
			continue;
		r->reading = &r->rings[i];
		err = ring__peek(&r->rings[i].ring, rec_queue_record, r);
		r->reading = NULL;
		if (err == -EINVAL) {
			r->stats.bad_records++;
			/* the ring was drained: what it held is gone */
			drop_ring(r, i);
		} else if (err == -ENOMEM) {
			r->stats.lost++;
		}
	}
	if (r->npending) {
		qsort(r->pending, r->npending, sizeof(*r->pending),
		      pending_cmp);
		while (used < r->npending &&
		       (!horizon || r->pending[used].time < horizon)) {
			r->snap_cont = r->pending[used].cont;
			r->snap_mine = r->pending[used].mine;
			on_record(r->pending[used].h, r);
			r->snap_cont = false;
			r->snap_mine = false;
			used++;
		}
		/* the rest wait, in order */
		memmove(r->pending, r->pending + used,
			(r->npending - used) * sizeof(*r->pending));
		r->npending -= used;
	}
	/* each ring's tail: its oldest waiting record, else all it read */
	for (int i = 0; i < r->ncpus; i++) {
		struct ring *ring = &r->rings[i].ring;
		uint64_t tail;

		if (r->rings[i].fd < 0)
			continue;
		tail = ring->pos;
		for (size_t k = 0; k < r->npending; k++)
			if (r->pending[k].ring == (uint32_t)i &&
			    ring->pos - r->pending[k].pos > ring->pos - tail)
				tail = r->pending[k].pos;
		ring__release_to(ring, tail);
	}
}
