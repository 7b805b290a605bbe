// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "cgoprof/arena.h"
#include "cgoprof/htab.h"
#include "cgoprof/log.h"
#include "cgoprof/procfs.h"
#include "cgoprof/procmap.h"

struct procmap {
	struct elf_cache *cache;
	struct proc **procs;
	size_t nprocs, cap_procs;
	struct thread *threads;	/* every thread seen */
	size_t nthreads, cap_threads;
	struct htab thread_index;	/* tid -> index into threads */
	uint32_t next_map_id;
};

struct procmap *procmap__new(struct elf_cache *cache)
{
	struct procmap *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return NULL;
	pm->cache = cache;
	return pm;
}

static void maps_clear(struct proc *p)
{
	for (size_t i = 0; i < p->nmaps; i++)
		free(p->maps[i].path);
	p->nmaps = 0;
}

void procmap__free(struct procmap *pm)
{
	if (!pm)
		return;
	for (size_t i = 0; i < pm->nprocs; i++) {
		maps_clear(pm->procs[i]);
		free(pm->procs[i]->maps);
		free(pm->procs[i]->exe);
		free(pm->procs[i]);
	}
	free(pm->procs);
	free(pm->threads);
	htab__release(&pm->thread_index);
	free(pm);
}

struct proc *procmap__proc(struct procmap *pm, uint32_t pid, bool create)
{
	struct proc *p;

	/* newest first: the processes that sample are usually recent */
	for (size_t i = pm->nprocs; i-- > 0;)
		if (pm->procs[i]->pid == pid)
			return pm->procs[i];
	if (!create)
		return NULL;
	if (array__grow((void **)&pm->procs, &pm->cap_procs, pm->nprocs + 1,
			sizeof(*pm->procs), 8))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->alive = true;
	snprintf(p->comm, sizeof(p->comm), "%u", pid);
	pm->procs[pm->nprocs++] = p;
	return p;
}

struct elf_cache *procmap__cache(struct procmap *pm)
{
	return pm->cache;
}

void procmap__for_each(struct procmap *pm, void (*fn)(struct proc *, void *),
		       void *ctx)
{
	for (size_t i = 0; i < pm->nprocs; i++)
		fn(pm->procs[i], ctx);
}

struct thread *procmap__thread(struct procmap *pm, uint32_t tid, uint32_t pid,
			       bool create)
{
	uint32_t i;

	if (!tid)
		return NULL;
	i = htab__find(&pm->thread_index, tid, NULL, NULL, NULL);
	if (i != HTAB_NONE)
		return &pm->threads[i];
	if (!create)
		return NULL;
	if (array__grow((void **)&pm->threads, &pm->cap_threads,
			pm->nthreads + 1, sizeof(*pm->threads), 256))
		return NULL;
	if (htab__insert(&pm->thread_index, tid, (uint32_t)pm->nthreads))
		return NULL;
	pm->threads[pm->nthreads] =
		(struct thread){ .tid = tid, .pid = pid, .alive = true };
	return &pm->threads[pm->nthreads++];
}

/* Replaces [start, end) in @p's maps by a new mapping (mmap semantics). */
static int proc_add_map(struct procmap *pm, struct proc *p, struct map *m)
{
	size_t i, j;

	/* Cut overlapping mappings. At most one mapping is split in two. */
	for (i = 0; i < p->nmaps;) {
		struct map *o = &p->maps[i];

		if (o->end <= m->start || o->start >= m->end) {
			i++;
			continue;
		}
		if (o->start < m->start && o->end > m->end) {
			/* split: keep the head here, the tail after */
			struct map tail = *o;

			if (array__grow((void **)&p->maps, &p->cap,
					p->nmaps + 1, sizeof(*p->maps), 64))
				return -ENOMEM;
			o = &p->maps[i];
			tail.path = strdup(o->path);
			if (!tail.path)
				return -ENOMEM;
			tail.pgoff += m->end - o->start;
			tail.start = m->end;
			o->end = m->start;
			memmove(&p->maps[i + 2], &p->maps[i + 1],
				(p->nmaps - i - 1) * sizeof(*p->maps));
			p->maps[i + 1] = tail;
			p->nmaps++;
			i += 2;
			continue;
		}
		if (o->start < m->start) {
			o->end = m->start;
			i++;
		} else if (o->end > m->end) {
			o->pgoff += m->end - o->start;
			o->start = m->end;
			i++;
		} else {
			free(o->path);
			memmove(o, o + 1, (p->nmaps - i - 1) * sizeof(*o));
			p->nmaps--;
		}
	}
	if (array__grow((void **)&p->maps, &p->cap, p->nmaps + 1,
			sizeof(*p->maps), 64))
		return -ENOMEM;
	for (j = 0; j < p->nmaps && p->maps[j].start < m->start; j++)
		;
	memmove(&p->maps[j + 1], &p->maps[j], (p->nmaps - j) * sizeof(*m));
	m->id = ++pm->next_map_id;
	p->maps[j] = *m;
	p->nmaps++;
	return 0;
}

int procmap__mmap(struct procmap *pm, uint32_t pid, uint64_t start,
		  uint64_t len, uint64_t pgoff, uint64_t dev, uint64_t ino,
		  uint32_t prot, const char *path)
{
	struct proc *p = procmap__proc(pm, pid, true);
	struct map m = {
		.start = start,
		.end = start + len,
		.pgoff = pgoff,
		.dev = dev,
		.ino = ino,
		.prot = prot,
	};
	int err;

	if (!p)
		return -ENOMEM;
	if (!len || start + len < start)
		return -EINVAL;
	m.path = strdup(path ? path : "");
	if (!m.path)
		return -ENOMEM;
	/* exec maps the program before the loader: the first file mapping
	 * of a fresh address space is the executable */
	if (!p->exe && m.path[0] == '/' && !p->nmaps)
		p->exe = strdup(m.path);
	err = proc_add_map(pm, p, &m);
	if (err)
		free(m.path);
	return err;
}

void procmap__comm(struct procmap *pm, uint32_t pid, uint32_t tid,
		   const char *comm, bool exec)
{
	struct proc *p = procmap__proc(pm, pid, true);
	struct thread *t = procmap__thread(pm, tid, pid, true);

	if (t)
		snprintf(t->comm, sizeof(t->comm), "%s", comm);
	if (!p)
		return;
	if (pid == tid)
		snprintf(p->comm, sizeof(p->comm), "%s", comm);
	if (exec) {
		/* a new program: its maps arrive as MMAP2 records */
		maps_clear(p);
		free(p->exe);
		p->exe = NULL;
		p->is_go = false;
		p->snap_g_tls = 0;
	}
}

void procmap__fork(struct procmap *pm, uint32_t pid, uint32_t ppid,
		   uint32_t tid)
{
	struct proc *parent, *child;
	struct thread *pt, *t;

	if (pid == ppid) {
		/* a new thread; inherits the comm of the process */
		parent = procmap__proc(pm, pid, true);
		t = procmap__thread(pm, tid, pid, true);
		if (t && parent && !t->comm[0])
			snprintf(t->comm, sizeof(t->comm), "%s", parent->comm);
		return;
	}
	parent = procmap__proc(pm, ppid, false);
	child = procmap__proc(pm, pid, true);
	t = procmap__thread(pm, tid, pid, true);
	if (!child)
		return;
	child->alive = true;
	if (parent && child != parent) {
		/* fork copies the address space */
		maps_clear(child);
		for (size_t i = 0; i < parent->nmaps; i++) {
			struct map m = parent->maps[i];

			m.path = strdup(m.path);
			if (!m.path || proc_add_map(pm, child, &m)) {
				free(m.path);
				break;
			}
		}
		memcpy(child->comm, parent->comm, sizeof(child->comm));
		child->is_go = parent->is_go;
		if (parent->exe)
			child->exe = strdup(parent->exe);
		pt = procmap__thread(pm, ppid, ppid, false);
		if (t)
			snprintf(t->comm, sizeof(t->comm), "%s",
				 pt ? pt->comm : parent->comm);
	}
}

void procmap__exit(struct procmap *pm, uint32_t pid, uint32_t tid)
{
	struct thread *t = procmap__thread(pm, tid, pid, false);
	struct proc *p;

	if (t)
		t->alive = false;
	if (pid == tid && (p = procmap__proc(pm, pid, false)))
		p->alive = false;
}

int procmap__load_proc(struct procmap *pm, uint32_t pid)
{
	char path[64], comm[64] = "", *text, *line, *end;
	struct proc *p;
	FILE *f;
	DIR *d;
	struct dirent *de;
	size_t len;
	int err;

	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	err = procfs__read_file(path, &text, &len);
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	p = procmap__proc(pm, pid, true);
	if (!p) {
		free(text);
		return -ENOMEM;
	}
	maps_clear(p);
	/* a line that does not parse is skipped (the kernel writes none) */
	for (line = text, end = text + len; line < end && !err;) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		char *le = nl ? nl : end;
		struct procfs_map m;

		if (!procfs__parse_maps_line(line, (size_t)(le - line), &m)) {
			/* the name ends the line: terminate it in place */
			*le = 0;
			err = procmap__mmap(pm, pid, m.start, m.end - m.start,
					    m.pgoff, makedev(m.major, m.minor),
					    m.ino, m.prot, m.name);
		}
		line = le + 1;
	}
	free(text);
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "re");
	if (f) {
		if (fgets(comm, sizeof(comm), f)) {
			comm[strcspn(comm, "\n")] = 0;
			snprintf(p->comm, sizeof(p->comm), "%s", comm);
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%u/task", pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		uint32_t tid = (uint32_t)strtoul(de->d_name, NULL, 10);
		struct thread *t;

		if (!tid)
			continue;
		t = procmap__thread(pm, tid, pid, true);
		snprintf(path, sizeof(path), "/proc/%u/task/%u/comm", pid, tid);
		f = t ? fopen(path, "re") : NULL;
		if (f) {
			if (fgets(comm, sizeof(comm), f)) {
				comm[strcspn(comm, "\n")] = 0;
				snprintf(t->comm, sizeof(t->comm), "%s", comm);
			}
			fclose(f);
		}
	}
	if (d)
		closedir(d);
	return err;
}

static void map_open_obj(struct procmap *pm, struct proc *p, struct map *m)
{
	char open_path[4096 + 64];
	struct elf_obj *o = NULL;
	uint64_t delta, seg_end;

	m->obj_tried = true;
	if (!strcmp(m->path, "[vdso]")) {
		o = elf_cache__vdso(pm->cache);
	} else if (m->path[0] == '/') {
		const char *path = m->path;
		size_t n = strlen(path);

		/* A deleted file or a memfd is still reachable through
		 * map_files while the mapping exists. */
		snprintf(open_path, sizeof(open_path),
			 "/proc/%u/map_files/%" PRIx64 "-%" PRIx64, p->pid,
			 m->start, m->end);
		o = elf_cache__open(pm->cache, open_path, path, m->dev, m->ino);
		if (!o && n > 10 && !strcmp(path + n - 10, " (deleted)"))
			return;
		if (!o) {
			snprintf(open_path, sizeof(open_path),
				 "/proc/%u/root%s", p->pid, path);
			o = elf_cache__open(pm->cache, open_path, path, m->dev,
					    m->ino);
		}
		if (!o)
			o = elf_cache__open(pm->cache, path, path, m->dev,
					    m->ino);
	}
	if (!o)
		return;
	if (!elf_obj__map_bias(o, m->end - m->start, m->pgoff, m->prot,
			       &delta, &seg_end)) {
		uint64_t end = (m->start + delta + seg_end + 4095) & ~4095ULL;

		m->bias = m->start + delta;
		m->obj = o;
		/* the image the loader reserved with the first segment's
		 * permissions is the others' where they are mapped (no
		 * record tells of data mappings): this one ends with its
		 * segment */
		if (end > m->start && end < m->end)
			m->end = end;
	}
	if (m->obj && m->obj->go && p->exe && !strcmp(p->exe, m->path))
		p->is_go = true;
}

struct map *procmap__find(struct procmap *pm, struct proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nmaps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct map *m = &p->maps[mid];

		if (addr < m->start) {
			hi = mid;
		} else if (addr >= m->end) {
			lo = mid + 1;
		} else {
			if (!m->obj_tried)
				map_open_obj(pm, p, m);
			/* which may have cut it to its segment */
			return addr < m->end ? m : NULL;
		}
	}
	return NULL;
}
