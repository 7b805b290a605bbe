// SPDX-License-Identifier: MIT
/* The perf mmap ring, read as libbpf's perf_event_read_simple does: acquire
 * data_head, copy a record that wraps into a scratch buffer, release
 * data_tail only after the record was used. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cgoprof/perf.h"

int ring__mmap(struct ring *r, int fd, size_t pages)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t map_size;
	void *map;
	int err;

	memset(r, 0, sizeof(*r));
	if (!pages || (pages & (pages - 1)))
		return -EINVAL;
	map_size = (pages + 1) * (size_t)page;
	map = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	err = ring__init_mem(r, map, (uint8_t *)map + page,
			     pages * (uint64_t)page);
	if (err) {
		munmap(map, map_size);
		return err;
	}
	r->map = map;
	r->map_size = map_size;
	return 0;
}

int ring__init_mem(struct ring *r, struct perf_event_mmap_page *meta,
		   uint8_t *data, uint64_t data_size)
{
	/* the whole struct: ring__release() must not unmap what @r held
	 * before (a caller's uninitialised stack) */
	memset(r, 0, sizeof(*r));
	if (!data_size || (data_size & (data_size - 1)))
		return -EINVAL;
	r->meta = meta;
	r->data = data;
	r->data_size = data_size;
	r->pos = meta->data_tail;
	r->scratch = malloc(data_size);
	if (!r->scratch)
		return -ENOMEM;
	return 0;
}

void ring__release(struct ring *r)
{
	if (!r)
		return;
	if (r->map)
		munmap(r->map, r->map_size);
	free(r->scratch);
	memset(r, 0, sizeof(*r));
}

bool ring__empty(const struct ring *r)
{
	return __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE) ==
	       r->meta->data_tail;
}

int ring__consume(struct ring *r, ring_record_fn fn, void *ctx)
{
	uint64_t head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = r->meta->data_tail;
	uint64_t mask = r->data_size - 1;
	int ret = 0;

	/* The kernel never publishes more than the ring holds: a head that
	 * far ahead would have the loop go round the same bytes for ever. */
	if (head - tail > r->data_size) {
		__atomic_store_n(&r->meta->data_tail, head, __ATOMIC_RELEASE);
		return -EINVAL;
	}
	while (tail != head) {
		struct perf_event_header hdr;
		const struct perf_event_header *rec;
		uint64_t off = tail & mask;
		uint64_t avail = head - tail;

		/* The header itself may wrap (8 bytes, 8-aligned: not in
		 * practice, but the bytes are the kernel's, not ours). */
		if (avail < sizeof(hdr)) {
			ret = -EINVAL;
			break;
		}
		if (off + sizeof(hdr) <= r->data_size) {
			memcpy(&hdr, r->data + off, sizeof(hdr));
		} else {
			uint64_t first = r->data_size - off;

			memcpy(&hdr, r->data + off, first);
			memcpy((uint8_t *)&hdr + first, r->data,
			       sizeof(hdr) - first);
		}
		if (hdr.size < sizeof(hdr) || hdr.size > avail ||
		    hdr.size > r->data_size) {
			ret = -EINVAL;
			break;
		}
		/* a record at an odd offset is copied too: callers read its
		 * fields in place */
		if (off + hdr.size <= r->data_size && !(off & 7)) {
			rec = (const void *)(r->data + off);
		} else {
			uint64_t first = r->data_size - off;

			if (first > hdr.size)
				first = hdr.size;
			memcpy(r->scratch, r->data + off, first);
			memcpy(r->scratch + first, r->data, hdr.size - first);
			rec = (const void *)r->scratch;
		}
		ret = fn(rec, ctx);
		tail += hdr.size;
		__atomic_store_n(&r->meta->data_tail, tail, __ATOMIC_RELEASE);
		if (ret)
			return ret;
	}
	if (ret == -EINVAL)
		__atomic_store_n(&r->meta->data_tail, head, __ATOMIC_RELEASE);
	return ret;
}

int ring__peek(struct ring *r, ring_peek_fn fn, void *ctx)
{
	uint64_t head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = r->meta->data_tail;
	uint64_t mask = r->data_size - 1;
	int ret = 0;

	if (head - tail > r->data_size || r->pos - tail > head - tail) {
		r->pos = head;
		__atomic_store_n(&r->meta->data_tail, head, __ATOMIC_RELEASE);
		return -EINVAL;
	}
	while (r->pos != head) {
		struct perf_event_header hdr;
		const struct perf_event_header *rec;
		uint64_t off = r->pos & mask;
		uint64_t avail = head - r->pos;

		/* 8-byte aligned, whole headers: the kernel's; anything else
		 * is a ring that cannot be read on */
		if (avail < sizeof(hdr) || (off & 7)) {
			ret = -EINVAL;
			break;
		}
		memcpy(&hdr, r->data + off, sizeof(hdr));
		if (hdr.size < sizeof(hdr) || hdr.size > avail ||
		    hdr.size > r->data_size || (hdr.size & 7)) {
			ret = -EINVAL;
			break;
		}
		if (off + hdr.size <= r->data_size) {
			rec = (const void *)(r->data + off);
		} else {
			uint64_t first = r->data_size - off;
			uint8_t *to = r->scratch;

			memcpy(to, r->data + off, first);
			memcpy(to + first, r->data, hdr.size - first);
			rec = (const void *)to;
		}
		ret = fn(rec, r->pos, ctx);
		r->pos += hdr.size;
		if (ret)
			return ret;
	}
	if (ret == -EINVAL) {
		r->pos = head;
		__atomic_store_n(&r->meta->data_tail, head, __ATOMIC_RELEASE);
	}
	return ret;
}

void ring__release_to(struct ring *r, uint64_t pos)
{
	uint64_t tail = r->meta->data_tail;

	/* forwards only, never past what was read */
	if (pos - tail <= r->pos - tail)
		__atomic_store_n(&r->meta->data_tail, pos, __ATOMIC_RELEASE);
}
