// SPDX-License-Identifier: MIT
/* Files mapped to be read in place, with a SIGBUS handler for the pages a
 * file loses while mapped (include/cgoprof/filemap.h). Reading a Go
 * binary's data sections with pread costs a fresh page for each 4 KiB of
 * them, zeroed by the kernel and then written: esbuild's 5.5 MB took 2-5
 * ms (16 ms when the kernel compacted memory for huge pages), its pages
 * mapped from the page cache 0.5 ms; bench/RESULTS.md.
 *
 * The handler: a fault in one of the table's mappings, at a page past the
 * file's end, is answered by mapping zeroes over the rest of that mapping
 * (mmap is a system call, safe in a handler), and the read goes on;
 * any other SIGBUS goes to the action there was before. The table is
 * claimed and filled with atomics: a mapping's range is visible to the
 * handler before the mapping's bytes are handed out, and cleared before
 * they are unmapped. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cgoprof/filemap.h"

struct slot {
	_Atomic uintptr_t lo;	/* 0: free; 1: being filled */
	_Atomic uintptr_t hi;
	_Atomic int shrank;
};

static struct slot slots[CGOPROF_FILEMAP_SLOTS];
static struct sigaction before;
static uintptr_t page_size;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	int saved = errno;

	for (size_t i = 0; i < CGOPROF_FILEMAP_SLOTS; i++) {
		uintptr_t lo = atomic_load(&slots[i].lo);
		uintptr_t hi = atomic_load(&slots[i].hi);
		uintptr_t page = a & ~(page_size - 1);

		if (lo <= 1 || a < lo || a >= hi)
			continue;
		if (mmap((void *)page, hi - page, PROT_READ,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
		    MAP_FAILED)
			break;
		atomic_store(&slots[i].shrank, 1);
		errno = saved;
		return;
	}
	errno = saved;
	if ((before.sa_flags & SA_SIGINFO) && before.sa_sigaction) {
		before.sa_sigaction(sig, si, uc);
		return;
	}
	if (before.sa_handler != SIG_DFL && before.sa_handler != SIG_IGN) {
		before.sa_handler(sig);
		return;
	}
	/* the default action, when the fault happens again on return */
	signal(SIGBUS, SIG_DFL);
}

/* The handler, in place unless it is already: installed again where the
 * program put another in its place since (that one is then passed on) */
static int install(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct sigaction sa, cur;
	int err = 0;

	pthread_mutex_lock(&lock);
	if (!page_size)
		page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
	if (sigaction(SIGBUS, NULL, &cur)) {
		err = -errno;
	} else if (!(cur.sa_flags & SA_SIGINFO) ||
		   cur.sa_sigaction != on_sigbus) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_sigbus;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		before = cur;
		if (sigaction(SIGBUS, &sa, NULL))
			err = -errno;
	}
	pthread_mutex_unlock(&lock);
	return err;
}

int filemap__map(struct filemap *m, int fd, uint64_t off, size_t len)
{
	uint64_t at, lead, maplen;
	uint8_t *p;
	int k = -1, err;

	memset(m, 0, sizeof(*m));
	m->slot = -1;
	err = install();
	if (err)
		return err;
	at = off & ~(uint64_t)(page_size - 1);
	lead = off - at;
	if (!len || len > SIZE_MAX - lead - 2 * page_size)
		return -EINVAL;
	maplen = (lead + len + page_size - 1) & ~(uint64_t)(page_size - 1);
	for (int i = 0; i < CGOPROF_FILEMAP_SLOTS && k < 0; i++) {
		uintptr_t free_lo = 0;

		if (atomic_compare_exchange_strong(&slots[i].lo, &free_lo, 1))
			k = i;
	}
	if (k < 0)
		return -ENOSPC;
	/* the file's pages, then one of zeroes */
	p = mmap(NULL, maplen + page_size, PROT_READ,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED ||
	    mmap(p, maplen, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd,
		 (off_t)at) == MAP_FAILED) {
		err = -errno;
		if (p != MAP_FAILED)
			munmap(p, maplen + page_size);
		atomic_store(&slots[k].lo, 0);
		return err;
	}
	atomic_store(&slots[k].shrank, 0);
	atomic_store(&slots[k].hi, (uintptr_t)p + maplen);
	atomic_store(&slots[k].lo, (uintptr_t)p);
	m->map = p;
	m->len = maplen + page_size;
	m->bytes = p + lead;
	m->slot = k;
	return 0;
}

void filemap__unmap(struct filemap *m)
{
	if (!m->map)
		return;
	atomic_store(&slots[m->slot].lo, 1);
	atomic_store(&slots[m->slot].hi, 0);
	munmap(m->map, m->len);
	atomic_store(&slots[m->slot].lo, 0);
	memset(m, 0, sizeof(*m));
	m->slot = -1;
}

bool filemap__shrank(const struct filemap *m)
{
	return m->map && atomic_load(&slots[m->slot].shrank);
}
