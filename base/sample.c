// SPDX-License-Identifier: MIT
/* The parsers of PERF_RECORD_SAMPLE and of the task records (COMM, FORK,
 * EXIT). The record's bytes come from the kernel but are treated as
 * untrusted: every field is bounds checked against hdr->size. */
#include <errno.h>
#include <string.h>

#include "cgoprof/perf.h"

struct cursor {
	const uint8_t *p, *end;
};

static int take_u64(struct cursor *c, uint64_t *v)
{
	if ((size_t)(c->end - c->p) < sizeof(*v))
		return -EFAULT;
	memcpy(v, c->p, sizeof(*v));
	c->p += sizeof(*v);
	return 0;
}

static int skip(struct cursor *c, uint64_t n)
{
	if ((uint64_t)(c->end - c->p) < n)
		return -EFAULT;
	c->p += n;
	return 0;
}

int perf_sample__parse(const struct perf_event_header *hdr,
		       uint64_t sample_type, uint64_t regs_mask,
		       struct perf_sample *s)
{
	struct cursor c = {
		.p = (const uint8_t *)(hdr + 1),
		.end = (const uint8_t *)hdr + hdr->size,
	};
	uint64_t v;
	int err;

	memset(s, 0, sizeof(*s));
	if (hdr->size < sizeof(*hdr))
		return -EFAULT;
	if (sample_type & PERF_SAMPLE_IDENTIFIER && (err = take_u64(&c, &v)))
		return err;
	if (sample_type & PERF_SAMPLE_IP && (err = take_u64(&c, &s->ip)))
		return err;
	if (sample_type & PERF_SAMPLE_TID) {
		if ((err = take_u64(&c, &v)))
			return err;
		s->pid = (uint32_t)v;
		s->tid = (uint32_t)(v >> 32);
	}
	if (sample_type & PERF_SAMPLE_TIME && (err = take_u64(&c, &s->time)))
		return err;
	if (sample_type & PERF_SAMPLE_ADDR && (err = take_u64(&c, &s->addr)))
		return err;
	if (sample_type & PERF_SAMPLE_ID && (err = take_u64(&c, &v)))
		return err;
	if (sample_type & PERF_SAMPLE_STREAM_ID && (err = take_u64(&c, &v)))
		return err;
	if (sample_type & PERF_SAMPLE_CPU) {
		if ((err = take_u64(&c, &v)))
			return err;
		s->cpu = (uint32_t)v;
	}
	if (sample_type & PERF_SAMPLE_PERIOD &&
	    (err = take_u64(&c, &s->period)))
		return err;
	if (sample_type & PERF_SAMPLE_READ)
		return -EINVAL; /* never requested */
	if (sample_type & PERF_SAMPLE_CALLCHAIN) {
		if ((err = take_u64(&c, &s->callchain_nr)))
			return err;
		if (s->callchain_nr > (uint64_t)(c.end - c.p) / sizeof(uint64_t))
			return -EINVAL;
		s->callchain = (const uint64_t *)c.p;
		c.p += s->callchain_nr * sizeof(uint64_t);
	}
	if (sample_type & PERF_SAMPLE_RAW) {
		uint32_t size;

		if ((size_t)(c.end - c.p) < sizeof(size))
			return -EFAULT;
		memcpy(&size, c.p, sizeof(size));
		s->raw = c.p + sizeof(size);
		s->raw_size = size;
		if ((err = skip(&c, sizeof(size) + (uint64_t)size)))
			return err;
	}
	if (sample_type & PERF_SAMPLE_BRANCH_STACK)
		return -EINVAL; /* never requested */
	if (sample_type & PERF_SAMPLE_REGS_USER) {
		if ((err = take_u64(&c, &s->regs_abi)))
			return err;
		if (s->regs_abi) {
			for (int bit = 0; bit < 64; bit++) {
				if (!(regs_mask & (1ULL << bit)))
					continue;
				if ((err = take_u64(&c, &v)))
					return err;
				if (bit < PERF_REG__COUNT)
					s->regs[bit] = v;
			}
		}
	}
	if (sample_type & PERF_SAMPLE_STACK_USER) {
		if ((err = take_u64(&c, &s->stack_size)))
			return err;
		if (s->stack_size) {
			if (s->stack_size > (uint64_t)(c.end - c.p))
				return -EINVAL;
			s->stack = c.p;
			c.p += s->stack_size;
			if ((err = take_u64(&c, &s->stack_dyn_size)))
				return err;
			if (s->stack_dyn_size > s->stack_size)
				return -EINVAL;
		}
	}
	return 0;
}

/* Bytes of the sample id that sample_id_all appends to a non-sample record,
 * and where in it (from its end) the time is: the fields in the kernel's
 * order, TID, TIME, ID, STREAM_ID, CPU, IDENTIFIER, 8 bytes each. */
static size_t sample_id_size(uint64_t sample_type, size_t *time_from_end)
{
	static const uint64_t fields[] = {
		PERF_SAMPLE_TID, PERF_SAMPLE_TIME, PERF_SAMPLE_ID,
		PERF_SAMPLE_STREAM_ID, PERF_SAMPLE_CPU, PERF_SAMPLE_IDENTIFIER,
	};
	size_t size = 0;

	*time_from_end = 0;
	for (size_t i = sizeof(fields) / sizeof(fields[0]); i-- > 0;) {
		if (!(sample_type & fields[i]))
			continue;
		size += 8;
		if (fields[i] == PERF_SAMPLE_TIME)
			*time_from_end = size;
	}
	return size;
}

int perf_comm__parse(const struct perf_event_header *hdr,
		     uint64_t sample_type, struct perf_comm *c)
{
	const uint8_t *body = (const uint8_t *)(hdr + 1);
	const uint8_t *end = (const uint8_t *)hdr + hdr->size;
	size_t time_at, id_size = sample_id_size(sample_type, &time_at);

	/* pid, tid, then the name (padded to 8 bytes), then the sample id */
	if (hdr->size < sizeof(*hdr) + 8 + id_size)
		return -EFAULT;
	memset(c, 0, sizeof(*c));
	memcpy(&c->pid, body, sizeof(c->pid));
	memcpy(&c->tid, body + 4, sizeof(c->tid));
	c->comm = (const char *)body + 8;
	if (!memchr(c->comm, 0, (size_t)(end - (body + 8))))
		return -EFAULT;
	c->exec = hdr->misc & PERF_RECORD_MISC_COMM_EXEC;
	if (time_at)
		memcpy(&c->time, end - time_at, sizeof(c->time));
	return 0;
}

int perf_fork__parse(const struct perf_event_header *hdr,
		     struct perf_fork *f)
{
	const uint8_t *body = (const uint8_t *)(hdr + 1);

	if (hdr->size < sizeof(*hdr) + 24)
		return -EFAULT;
	memcpy(&f->pid, body, sizeof(f->pid));
	memcpy(&f->ppid, body + 4, sizeof(f->ppid));
	memcpy(&f->tid, body + 8, sizeof(f->tid));
	memcpy(&f->ptid, body + 12, sizeof(f->ptid));
	memcpy(&f->time, body + 16, sizeof(f->time));
	return 0;
}
