// SPDX-License-Identifier: MIT
/* cgoprof mem on a live process: what the classifier asks of it (live
 * reads with process_vm_readv, resident pages from pagemap, the ELF
 * segments of mapped files through the ELF cache the symbolizer uses, the
 * stack pointers of blocked threads, the fault evidence), the smaps reader,
 * and the sampler: snapshots classified and summed, in the caller's thread
 * or on one of its own. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cgoprof/arena.h"
#include "cgoprof/clock.h"
#include "cgoprof/elfobj.h"
#include "cgoprof/log.h"
#include "cgoprof/procfs.h"
#include "mem_proc.h"

#define MEM_PAGE 4096ULL
/* Mapped files looked at per process: a bound on what a process that maps
 * and unmaps files forever can make us keep. */
#define MEM_MAX_MEMO 4096

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
			       .tv_nsec = (long)(ns % 1000000000ULL) };

	nanosleep(&ts, NULL);
}

/* ---- fault evidence ------------------------------------------------------ */

struct mem_touch {
	pid_t pid;
	uint64_t lo;
	uint64_t go, other;
};

struct mem_evidence {
	pthread_mutex_t lock;
	struct mem_touch *v;	/* sorted by (pid, lo) */
	size_t n, cap;
};

struct mem_evidence *mem_evidence__new(void)
{
	struct mem_evidence *ev = calloc(1, sizeof(*ev));

	if (ev)
		pthread_mutex_init(&ev->lock, NULL);
	return ev;
}

void mem_evidence__free(struct mem_evidence *ev)
{
	if (!ev)
		return;
	pthread_mutex_destroy(&ev->lock);
	free(ev->v);
	free(ev);
}

static int evidence_find(struct mem_evidence *ev, pid_t pid, uint64_t lo)
{
	size_t a = 0, b = ev->n;

	while (a < b) {
		size_t mid = a + (b - a) / 2;
		const struct mem_touch *t = &ev->v[mid];

		if (t->pid < pid || (t->pid == pid && t->lo < lo))
			a = mid + 1;
		else
			b = mid;
	}
	return (int)a;
}

void mem_evidence__add(struct mem_evidence *ev, pid_t pid, uint64_t lo,
			 bool go)
{
	size_t i;

	pthread_mutex_lock(&ev->lock);
	i = (size_t)evidence_find(ev, pid, lo);
	if (i == ev->n || ev->v[i].pid != pid || ev->v[i].lo != lo) {
		if (ev->n == ev->cap) {
			size_t cap = ev->cap ? ev->cap * 2 : 256;
			void *q = cap < (1 << 20)
					  ? realloc(ev->v, cap * sizeof(*ev->v))
					  : NULL;

			if (!q)
				goto out;
			ev->v = q;
			ev->cap = cap;
		}
		memmove(&ev->v[i + 1], &ev->v[i], (ev->n - i) * sizeof(*ev->v));
		ev->v[i] = (struct mem_touch){ .pid = pid, .lo = lo };
		ev->n++;
	}
	if (go)
		ev->v[i].go++;
	else
		ev->v[i].other++;
out:
	pthread_mutex_unlock(&ev->lock);
}

static int access_touched_by(void *ctx, uint64_t lo, uint64_t hi)
{
	struct mem_access *a = ctx;
	struct mem_evidence *ev = a->ev;
	uint64_t go = 0, other = 0;

	if (!ev)
		return -1;
	pthread_mutex_lock(&ev->lock);
	for (size_t i = (size_t)evidence_find(ev, a->pid, lo);
	     i < ev->n && ev->v[i].pid == a->pid && ev->v[i].lo < hi; i++) {
		go += ev->v[i].go;
		other += ev->v[i].other;
	}
	pthread_mutex_unlock(&ev->lock);
	if (!go && !other)
		return -1;
	return go >= other ? MEM_GO_RUNTIME : MEM_OTHER_ANON;
}

/* ---- reading the process ------------------------------------------------- */

static int access_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct mem_access *a = ctx;
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr,
				.iov_len = len };
	ssize_t n = process_vm_readv(a->pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

static long access_read_pairs(void *ctx, const uint64_t *addrs, size_t n,
			      uint64_t (*out)[2])
{
	struct mem_access *a = ctx;
	struct iovec local[256], remote[256];
	size_t done = 0;

	while (done < n) {
		size_t k = n - done < 256 ? n - done : 256;
		ssize_t got;

		for (size_t i = 0; i < k; i++) {
			local[i].iov_base = out[done + i];
			local[i].iov_len = sizeof(out[0]);
			remote[i].iov_base =
				(void *)(uintptr_t)addrs[done + i];
			remote[i].iov_len = sizeof(out[0]);
		}
		got = process_vm_readv(a->pid, local, k, remote, k, 0);
		if (got < 0)
			return done ? (long)done : -errno;
		done += (size_t)got / sizeof(out[0]);
		if ((size_t)got < k * sizeof(out[0]))
			break;
	}
	return (long)done;
}

static int access_present(void *ctx, uint64_t lo, uint64_t hi,
			  uint8_t *present)
{
	struct mem_access *a = ctx;
	uint64_t entries[512];

	if (a->pagemap_fd < 0) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/pagemap", a->pid);
		a->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (a->pagemap_fd < 0)
			return -errno;
	}
	for (uint64_t page = lo / MEM_PAGE; page < hi / MEM_PAGE;) {
		uint64_t want = hi / MEM_PAGE - page;
		ssize_t n;

		if (want > 512)
			want = 512;
		n = pread(a->pagemap_fd, entries, want * 8, (off_t)(page * 8));
		if (n <= 0 || n % 8)
			return n < 0 ? -errno : -EFAULT;
		for (ssize_t i = 0; i < n / 8; i++)
			present[page - lo / MEM_PAGE + (uint64_t)i] =
				(uint8_t)(entries[i] >> 63);
		page += (uint64_t)n / 8;
	}
	return 0;
}

uint64_t mem_elf__image_end(const struct elf_obj *o, const struct mem_vma *v)
{
	/* headers that cannot be right: believe none of them */
	for (size_t i = 0; i < o->nloads; i++) {
		const GElf_Phdr *ph = &o->loads[i];

		if (ph->p_filesz > ph->p_memsz ||
		    ph->p_vaddr > UINT64_MAX - ph->p_memsz ||
		    ph->p_offset > UINT64_MAX - ph->p_filesz)
			return 0;
	}
	for (size_t i = 0; i < o->nloads; i++) {
		uint64_t off = o->loads[i].p_offset,
			 vaddr = o->loads[i].p_vaddr,
			 filesz = o->loads[i].p_filesz,
			 memsz = o->loads[i].p_memsz, at;

		/* the segment this mapping's first page belongs to */
		if ((off & ~(MEM_PAGE - 1)) > v->pgoff ||
		    v->pgoff >= off + filesz)
			continue;
		if (v->pgoff <= off)
			at = vaddr - (off - v->pgoff);
		else
			at = vaddr + (v->pgoff - off);
		if (vaddr + memsz < at ||
		    vaddr + memsz - at > UINT64_MAX - v->start)
			return 0;
		return v->start + (vaddr + memsz - at);
	}
	return 0;
}

/* The ELF object of the file mapping @v, through map_files while the
 * mapping exists (a deleted file too), else by its path in the process's
 * root. NULL: none; not tried again. */
static struct elf_obj *access_elf(struct mem_access *a,
				  const struct mem_vma *v)
{
	uint64_t dev = makedev(v->major, v->minor);
	struct mem_elf_memo *m;
	char path[PATH_MAX + 64];
	void *q;

	for (size_t i = 0; i < a->nmemo; i++)
		if (a->memo[i].dev == dev && a->memo[i].ino == v->ino)
			return a->memo[i].obj;
	if (a->nmemo >= MEM_MAX_MEMO)
		return NULL;
	q = realloc(a->memo, (a->nmemo + 1) * sizeof(*a->memo));
	if (!q)
		return NULL;
	a->memo = q;
	m = &a->memo[a->nmemo++];
	m->dev = dev;
	m->ino = v->ino;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
		 a->pid, v->start, v->end);
	m->obj = elf_cache__open(a->cache, path, v->name, dev, v->ino);
	if (!m->obj) {
		snprintf(path, sizeof(path), "/proc/%d/root%s", a->pid,
			 v->name);
		m->obj = elf_cache__open(a->cache, path, v->name, dev, v->ino);
	}
	return m->obj;
}

static uint64_t access_image_end(void *ctx, const struct mem_vma *v)
{
	const struct elf_obj *o = access_elf(ctx, v);

	return o ? mem_elf__image_end(o, v) : 0;
}

void mem_access__init(struct mem_access *a, pid_t pid, bool live_reads,
		      struct elf_cache *cache, struct mem_evidence *ev)
{
	memset(a, 0, sizeof(*a));
	a->pid = pid;
	a->live_reads = live_reads;
	a->pagemap_fd = -1;
	a->cache = cache;
	a->ev = ev;
}

void mem_access__release(struct mem_access *a)
{
	if (a->pagemap_fd >= 0)
		close(a->pagemap_fd);
	free(a->memo);
	free(a->sps);
	memset(a, 0, sizeof(*a));
	a->pagemap_fd = -1;
}

/* The executable (it changes at exec) and whether it is Go. */
static void access_refresh_exe(struct mem_access *a)
{
	char path[64], exe[PATH_MAX];
	const struct elf_obj *o;
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", a->pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = 0;
	if (!strcmp(exe, a->exe))
		return;
	memcpy(a->exe, exe, (size_t)n + 1);
	if (stat(path, &st))
		memset(&st, 0, sizeof(st));
	a->exe_ino = st.st_ino;
	o = elf_cache__open(a->cache, path, a->exe, st.st_dev, st.st_ino);
	a->is_go = o && elf_obj__is_go(o);
}

/* A hex number that is the whole of @s ("0x" allowed). */
static bool parse_hex(const char *s, uint64_t *v)
{
	char *end;

	if (!isxdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	*v = strtoull(s, &end, 16);
	return !errno && !*end;
}

/* Stack pointers of the threads blocked in the kernel. */
static void access_read_sps(struct mem_access *a)
{
	char path[64], line[256];
	struct dirent *de;
	DIR *d;

	a->nsps = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", a->pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		char *tok[16], *save = NULL, *t;
		int ntok = 0;
		FILE *f;
		uint64_t sp;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/syscall",
			 a->pid, de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
		/* "nr a1 .. a6 sp pc", "-1 sp pc" or "running" */
		for (t = strtok_r(line, " \n", &save); t && ntok < 16;
		     t = strtok_r(NULL, " \n", &save))
			tok[ntok++] = t;
		if (ntok < 3)
			continue;
		if (!parse_hex(tok[ntok - 2], &sp))
			continue;
		if (array__grow((void **)&a->sps, &a->cap_sps, a->nsps + 1,
				sizeof(*a->sps), 64))
			break;
		a->sps[a->nsps++] = sp;
	}
	if (d)
		closedir(d);
}

/* Live reads work on this process: one read of its first readable
 * mapping. The first refusal is reported; the classifier then guesses
 * where it would have verified. */
static void access_check_reads(struct mem_access *a, const struct mem_maps *m)
{
	uint64_t word;
	int err = 0;

	if (!a->live_reads || a->reads_refused)
		return;
	for (size_t i = 0; i < m->n; i++) {
		if (!(m->vmas[i].prot & PROT_READ))
			continue;
		err = access_read(a, m->vmas[i].start, &word, sizeof(word));
		break;
	}
	if (err == -EPERM || err == -EACCES || err == -ENOSYS) {
		a->reads_refused = true;
		if (a->warn)
			pr_warn("cannot read the memory of pid %d (%s): malloc "
				"and thread stacks are recognised by their "
				"layout only, a guess",
				a->pid, strerror(-err));
	}
}

const struct mem_probe *mem_access__probe(struct mem_access *a,
					  const struct mem_maps *m,
					  bool with_sps)
{
	access_refresh_exe(a);
	access_check_reads(a, m);
	if (with_sps)
		access_read_sps(a);
	a->probe = (struct mem_probe){
		.is_go = a->is_go,
		.exe = a->exe[0] ? a->exe : NULL,
		.exe_ino = a->exe_ino,
		.sps = a->sps,
		.nsps = a->nsps,
		.read = a->live_reads && !a->reads_refused ? access_read : NULL,
		.read_pairs = a->live_reads && !a->reads_refused
				      ? access_read_pairs
				      : NULL,
		.present = access_present,
		.image_end = access_image_end,
		.touched_by = a->ev ? access_touched_by : NULL,
		.ctx = a,
	};
	return &a->probe;
}

/* ---- the maps ------------------------------------------------------------ */

int mem_maps__load(pid_t pid, bool smaps, struct mem_maps *m)
{
	struct mem_maps fresh = { 0 };
	char path[64], *text = NULL, *st = NULL;
	size_t len = 0, stlen;
	unsigned long size = 0;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid,
		 smaps ? "smaps" : "maps");
	err = procfs__read_file(path, &text, &len);
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	/* A process that exits while its smaps is read gives a short read:
	 * the kernel ends the file once the mm is being torn down. Its
	 * statm then reads all zeros (no mm): such a read is not a
	 * snapshot (seen: a "last" with 48 of 64 MiB of C heap). */
	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	if (!procfs__read_file(path, &st, &stlen)) {
		if (sscanf(st, "%lu", &size) != 1)
			size = 0;
		free(st);
	}
	if (!size) {
		free(text);
		return -ESRCH;
	}
	err = mem_maps__parse(&fresh, text, len);
	free(text);
	if (!err && !fresh.n)
		err = -ESRCH;
	if (err) {
		mem_maps__release(&fresh);
		return err;
	}
	mem_maps__release(m);
	*m = fresh;
	return 0;
}

/* ---- the sampler --------------------------------------------------------- */

struct mem_sampler {
	struct mem_access acc;
	struct elf_cache *cache;
	double interval;	/* seconds */
	bool before_exec;
	char self_exe[PATH_MAX];	/* ours: the target before its exec */
	uint64_t t0;
	struct mem_maps maps;
	struct mem_class cls;
	struct mem_totals cur, peak, last;
	unsigned nsnaps;
	uint64_t bad_lines;
	int err;		/* of the latest snapshot */
	atomic_bool done;
	bool running;
	pthread_t thread;
};

struct mem_sampler *mem_sampler__new(const struct mem_sampler_opts *o)
{
	struct mem_sampler *s = calloc(1, sizeof(*s));
	ssize_t n;

	if (!s)
		return NULL;
	s->cache = elf_cache__new();
	if (!s->cache) {
		free(s);
		return NULL;
	}
	mem_access__init(&s->acc, o->pid, o->live_reads, s->cache, o->ev);
	s->acc.warn = true;
	s->interval = o->interval;
	s->before_exec = o->before_exec;
	if (o->before_exec) {
		n = readlink("/proc/self/exe", s->self_exe,
			     sizeof(s->self_exe) - 1);
		s->self_exe[n > 0 ? n : 0] = 0;
	}
	atomic_init(&s->done, false);
	return s;
}

void mem_sampler__free(struct mem_sampler *s)
{
	if (!s)
		return;
	mem_sampler__stop(s);
	mem_access__release(&s->acc);
	mem_maps__release(&s->maps);
	mem_class__release(&s->cls);
	mem_totals__release(&s->cur);
	mem_totals__release(&s->peak);
	mem_totals__release(&s->last);
	elf_cache__free(s->cache);
	free(s);
}

int mem_sampler__snapshot(struct mem_sampler *s)
{
	const struct mem_probe *p;
	int err;

	err = mem_maps__load(s->acc.pid, true, &s->maps);
	if (err)
		return s->err = err;
	/* the segments were of the maps before: none until classified */
	s->cls.n = 0;
	p = mem_access__probe(&s->acc, &s->maps, true);
	if (s->before_exec && s->self_exe[0] &&
	    !strcmp(s->acc.exe, s->self_exe))
		return s->err = -EAGAIN;	/* not exec'd yet */
	s->bad_lines += s->maps.bad_lines;
	err = mem_class__build(&s->cls, &s->maps, p);
	if (!err)
		err = mem_totals__sum(&s->cur, &s->maps, &s->cls, p);
	if (err)
		return s->err = err;
	if (!s->nsnaps)
		s->t0 = clock__ns(CLOCK_MONOTONIC);
	s->cur.time = (double)(clock__ns(CLOCK_MONOTONIC) - s->t0) / 1e9;
	if (!s->nsnaps || s->cur.rss > s->peak.rss)
		err = mem_totals__copy(&s->peak, &s->cur);
	if (!err)
		err = mem_totals__copy(&s->last, &s->cur);
	if (!err)
		s->nsnaps++;
	return s->err = err;
}

/* Snapshots until told to stop, or the process is gone. */
static void *sampler_thread(void *arg)
{
	struct mem_sampler *s = arg;
	uint64_t next = clock__ns(CLOCK_MONOTONIC);

	while (!atomic_load(&s->done)) {
		uint64_t now = clock__ns(CLOCK_MONOTONIC);
		int err;

		if (now < next) {
			uint64_t d = next - now;

			sleep_ns(d > 10000000 ? 10000000 : d);
			continue;
		}
		err = mem_sampler__snapshot(s);
		if (err == -ESRCH && s->nsnaps)
			break;
		next += (uint64_t)(s->interval * 1e9);
		if (next < now)
			next = now;
	}
	return NULL;
}

int mem_sampler__start(struct mem_sampler *s)
{
	int err;

	if (s->running)
		return -EBUSY;
	atomic_store(&s->done, false);
	err = pthread_create(&s->thread, NULL, sampler_thread, s);
	if (err)
		return -err;
	s->running = true;
	return 0;
}

void mem_sampler__stop(struct mem_sampler *s)
{
	if (!s->running)
		return;
	atomic_store(&s->done, true);
	pthread_join(s->thread, NULL);
	s->running = false;
}

void mem_sampler__result(const struct mem_sampler *s,
			 struct mem_snapshots *r)
{
	*r = (struct mem_snapshots){
		.pid = s->acc.pid,
		.n = s->nsnaps,
		.err = s->err,
		.bad_lines = s->bad_lines,
		.exe = s->acc.exe,
		.peak = &s->peak,
		.last = &s->last,
		.maps = &s->maps,
		.cls = &s->cls,
	};
}
