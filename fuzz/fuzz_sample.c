// SPDX-License-Identifier: MIT
/* libFuzzer target: perf records from a hostile kernel. The input is
 *   byte 0      which sample layout (the record event's, with or without
 *               PERF_SAMPLE_ADDR, or the cgo probe's: profiler/record.c
 *               build_attr and probe_attr)
 *   byte 1      the ring's size: 2^(6 + b % 8) bytes
 *   bytes 2..17 data_head and data_tail
 *   the rest    one sample record, parsed as is, and then the ring's bytes
 * perf_sample__parse() must keep every pointer inside the record and
 * ring__consume() every record inside the ring, and both must end. Build
 * and run: make fuzz (fuzz/fuzz.mk). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/perf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RECORD_TYPE                                                            \
	(PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID |           \
	 PERF_SAMPLE_TIME | PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN |       \
	 PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER)
#define PROBE_TYPE                                                             \
	(PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID |           \
	 PERF_SAMPLE_TIME | PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_REGS_USER |    \
	 PERF_SAMPLE_STACK_USER)

static const uint64_t sample_types[] = {
    RECORD_TYPE,
    RECORD_TYPE | PERF_SAMPLE_ADDR,
    PROBE_TYPE,
    /* fields cgoprof never asks for but the parser knows */
    RECORD_TYPE | PERF_SAMPLE_ID | PERF_SAMPLE_STREAM_ID | PERF_SAMPLE_CPU |
	PERF_SAMPLE_RAW,
};

struct consume_ctx {
	uint64_t sample_type;
	uint64_t records;
	uint64_t sum;
};

/* Uses every byte the parser pointed at, as the unwinder would. */
static uint64_t use_sample(const struct perf_sample *s)
{
	uint64_t sum = s->ip ^ s->pid ^ s->tid ^ s->time ^ s->period;
	uint64_t v;

	for (uint64_t i = 0; i < s->callchain_nr; i++) {
		memcpy(&v, &s->callchain[i], sizeof(v));
		sum += v;
	}
	for (uint64_t i = 0; s->stack && i < s->stack_size; i++)
		sum += s->stack[i];
	return sum;
}

static int on_record(const struct perf_event_header *hdr, void *arg)
{
	struct consume_ctx *ctx = arg;
	struct perf_sample s;
	const uint8_t *bytes = (const uint8_t *)hdr;

	ctx->records++;
	/* the record is contiguous and hdr->size bytes long */
	for (size_t i = 0; i < hdr->size; i++)
		ctx->sum += bytes[i];
	if (hdr->type == PERF_RECORD_SAMPLE &&
	    !perf_sample__parse(hdr, ctx->sample_type, CGOPROF_REGS_MASK, &s))
		ctx->sum += use_sample(&s);
	/* stop early sometimes: consuming must resume where it stopped */
	return hdr->misc == 0xffff ? 1 : 0;
}

static int on_peek(const struct perf_event_header *hdr, uint64_t pos,
		   void *arg)
{
	(void)pos;
	return on_record(hdr, arg);
}

static void fuzz_parse(const uint8_t *data, size_t size, uint64_t type)
{
	struct perf_event_header *hdr;
	struct perf_sample s;
	uint64_t *words;

	if (size < sizeof(*hdr) || size > UINT16_MAX)
		return;
	/* records in the ring are 8-byte aligned, and exactly hdr->size long:
	 * ring__consume() guarantees both */
	words = malloc((size + 7) & ~(size_t)7);
	if (!words)
		return;
	memcpy(words, data, size);
	hdr = (struct perf_event_header *)words;
	if (hdr->size > size)
		hdr->size = (uint16_t)size;
	if (!perf_sample__parse(hdr, type, CGOPROF_REGS_MASK, &s))
		use_sample(&s);
	free(words);
}

static void fuzz_ring(const uint8_t *data, size_t size, uint64_t type,
		      unsigned shift, uint64_t head, uint64_t tail)
{
	struct perf_event_mmap_page *meta;
	struct consume_ctx ctx = {.sample_type = type};
	uint64_t data_size = 1ull << shift;
	struct ring r;
	uint8_t *ring_data;

	meta = calloc(1, sizeof(*meta));
	ring_data = calloc(1, data_size);
	if (!meta || !ring_data)
		goto out;
	memcpy(ring_data, data, size < data_size ? size : data_size);
	meta->data_head = head;
	meta->data_tail = tail;
	if (ring__init_mem(&r, meta, ring_data, data_size))
		goto out;
	/* at most a few rounds: a stopped consume goes on where it left */
	for (int round = 0; round < 4 && !ring__empty(&r); round++)
		if (ring__consume(&r, on_record, &ctx) == 0)
			break;
	ring__release(&r);
	/* the same bytes read in place (ring__peek), released in steps */
	meta->data_head = head;
	meta->data_tail = tail;
	if (ring__init_mem(&r, meta, ring_data, data_size))
		goto out;
	for (int round = 0; round < 4; round++) {
		int err = ring__peek(&r, on_peek, &ctx);

		ring__release_to(&r, round & 1 ? r.pos : tail + 8 * round);
		if (!err)
			break;
	}
	ring__release(&r);
out:
	free(ring_data);
	free(meta);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t type, head, tail;
	unsigned shift;

	if (size < 18)
		return 0;
	type = sample_types[data[0] %
			    (sizeof(sample_types) / sizeof(sample_types[0]))];
	shift = 6 + data[1] % 8;
	memcpy(&head, data + 2, 8);
	memcpy(&tail, data + 10, 8);
	data += 18;
	size -= 18;
	fuzz_parse(data, size, type);
	/* a ring always holds what the kernel wrote since the tail: keep
	 * head within reach of tail most of the time, as the kernel does,
	 * but let the top bit of the head byte through unchanged */
	if (!(head >> 63))
		head = tail + head % ((1ull << shift) + 1);
	fuzz_ring(data, size, type, shift, head, tail);
	return 0;
}
