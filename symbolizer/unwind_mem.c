// SPDX-License-Identifier: MIT
/* The unwinder's one view of the target's memory (struct mem_view): the
 * sample's stack copy, the regions the snapshot program copied at the
 * sample's time, and, for stacks that were frozen then, the live process.
 * Every backend reads through it, and nothing else of the unwinder. */
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "internal.h"

/* The entry of frame records that the last read found: a walk reads
 * them in order, each frame's two words, then the next frame's. */
static __thread struct {
	const struct go_snapshot_region *r;
	size_t i;
} frames_hint;

/* Whether entry @e of frame records holds the word at @addr: its value. */
static bool frame_entry_read(const uint8_t *e, uint64_t addr, uint64_t *val)
{
	uint64_t w[3];

	memcpy(w, e, sizeof(w));
	if (w[0] == addr)
		*val = w[1];
	else if (w[0] + 8 == addr)
		*val = w[2];
	else
		return false;
	return true;
}

/* The word at @addr in frame records @r (see struct go_snapshot_region):
 * a record's address holds the caller's frame pointer, the next word the
 * return address. (Two entries 8 bytes apart would both hold the word
 * between them: the same word of the same copy.) */
static bool frames_read(const struct go_snapshot_region *r, uint64_t addr,
			uint64_t *val)
{
	size_t lo = 0, hi = r->len / 24;

	if (frames_hint.r == r) {
		for (size_t i = frames_hint.i; i < hi && i < frames_hint.i + 2;
		     i++)
			if (frame_entry_read(r->bytes + i * 24, addr, val)) {
				frames_hint.i = i;
				return true;
			}
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t e[3];

		memcpy(e, r->bytes + mid * 24, sizeof(e));
		if (e[0] + 8 < addr) {
			lo = mid + 1;
		} else if (e[0] > addr) {
			hi = mid;
		} else if (frame_entry_read(r->bytes + mid * 24, addr, val)) {
			frames_hint.r = r;
			frames_hint.i = mid;
			return true;
		} else {
			return false;
		}
	}
	return false;
}

bool mem__read_snap(const struct mem_view *m, uint64_t addr, uint64_t *val)
{
	for (unsigned i = 0; m->snap && i < m->snap->n; i++) {
		const struct go_snapshot_region *r = &m->snap->r[i];
		uint64_t page0 = r->addr & ~4095ULL;

		if (r->frames) {
			if (frames_read(r, addr, val))
				return true;
			continue;
		}
		if (addr >= r->addr && addr + 8 <= r->addr + r->len &&
		    addr + 8 > addr) {
			/* a word in a page that was not copied, or across
			 * into one, is not memory */
			if ((addr - page0) >> 12 < 64 &&
			    (r->absent >> ((addr - page0) >> 12) & 1))
				return false;
			if (((addr + 7 - page0) >> 12) < 64 &&
			    (r->absent >> ((addr + 7 - page0) >> 12) & 1))
				return false;
			memcpy(val, r->bytes + (addr - r->addr), 8);
			return true;
		}
	}
	return false;
}

bool mem__read_copy(const struct mem_view *m, uint64_t addr, uint64_t *val)
{
	if (addr >= m->stack_lo && addr + 8 <= m->stack_lo + m->stack_len &&
	    addr + 8 > addr) {
		memcpy(val, m->stack + (addr - m->stack_lo), 8);
		return true;
	}
	return !m->snap_checked && mem__read_snap(m, addr, val);
}

static bool read_page(uint32_t pid, uint64_t base, uint8_t *buf)
{
	struct iovec local = { buf, 4096 };
	struct iovec remote = { (void *)(uintptr_t)base, 4096 };

	return process_vm_readv((pid_t)pid, &local, 1, &remote, 1, 0) == 4096;
}

/* A page of a frozen stack from the live process, read twice. The page may
 * also hold frames that are running (below the frozen ones): only the
 * words that are equal in both reads are used. */
static struct live_page *live_page(struct mem_view *m, uint64_t base)
{
	struct live_page *p;

	if (!m->pages) {
		/* once per thread: not a 64 KiB calloc per sample */
		static __thread struct live_page *cache;

		if (!cache)
			cache = calloc(LIVE_PAGES, sizeof(*cache));
		if (!cache)
			return NULL;
		for (unsigned i = 0; i < LIVE_PAGES; i++)
			cache[i].base = 0;
		m->pages = cache;
	}
	for (unsigned i = 0; i < LIVE_PAGES; i++)
		if (m->pages[i].base == base)
			return &m->pages[i];
	p = &m->pages[m->next_page++ % LIVE_PAGES];
	p->base = 0;
	if (!read_page(m->pid, base, p->data) ||
	    !read_page(m->pid, base, p->again)) {
		m->live_failed = true;
		return NULL;
	}
	p->base = base;
	return p;
}

void mem__forget_live(struct mem_view *m)
{
	for (unsigned i = 0; m->pages && i < LIVE_PAGES; i++)
		m->pages[i].base = 0;
}

bool mem__read(struct mem_view *m, uint64_t addr, uint64_t *val)
{
	struct live_page *page;
	uint64_t base = addr & ~4095ULL;

	if (mem__read_copy(m, addr, val))
		return true;
	if (m->snap_checked && mem__read_snap(m, addr, val))
		return true;
	if (!m->live || !m->frozen || (addr & 7) || !addr)
		return false;
	page = live_page(m, base);
	if (!page)
		return false;
	if (memcmp(page->data + (addr - base), page->again + (addr - base), 8)) {
		m->live_failed = true;
		return false;
	}
	memcpy(val, page->data + (addr - base), 8);
	m->used_live = true;
	return true;
}
