/* The kernel side: perf_event_open through one seam, the mmap ring reader,
 * the record parser and event names (libpfm4). Owns its fds and mappings. */
#ifndef CGOPROF_PERF_H
#define CGOPROF_PERF_H

#include <linux/perf_event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* x86-64 perf register numbers (asm/perf_regs.h) that the unwinder uses. */
enum perf_reg {
	PERF_REG_AX = 0, PERF_REG_BX, PERF_REG_CX, PERF_REG_DX, PERF_REG_SI,
	PERF_REG_DI, PERF_REG_BP, PERF_REG_SP, PERF_REG_IP, PERF_REG_FLAGS,
	PERF_REG_CS, PERF_REG_SS, PERF_REG_DS, PERF_REG_ES, PERF_REG_FS,
	PERF_REG_GS, PERF_REG_R8, PERF_REG_R9, PERF_REG_R10, PERF_REG_R11,
	PERF_REG_R12, PERF_REG_R13, PERF_REG_R14, PERF_REG_R15,
	PERF_REG__COUNT,
};

/* General registers, SP and IP: what the unwinders need. */
#define CGOPROF_REGS_MASK                                                      \
	(((1ULL << PERF_REG_FLAGS) - 1) | (((1ULL << 24) - 1) & ~((1ULL << 16) - 1)))

/* The one seam for the perf_event_open syscall (tests may wrap it). */
int sys_perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu,
			int group_fd, unsigned long flags);

/* A PERF_RECORD_SAMPLE, parsed. Pointers borrow the record's bytes. */
struct perf_sample {
	uint64_t ip;
	uint32_t pid, tid;
	uint64_t time;
	uint64_t addr;
	uint32_t cpu;
	uint64_t period;
	uint64_t callchain_nr;
	const uint64_t *callchain;
	uint64_t regs_abi;	/* PERF_SAMPLE_REGS_ABI_*; 0: no regs */
	uint64_t regs[PERF_REG__COUNT];
	uint64_t stack_size;	/* bytes reserved in the record */
	uint64_t stack_dyn_size;	/* bytes actually copied */
	const uint8_t *stack;	/* user stack copied from regs[SP] upwards */
	uint32_t raw_size;	/* PERF_SAMPLE_RAW: bytes (with padding) */
	const uint8_t *raw;
};

/* Parses the sample record @hdr (of hdr->size bytes) laid out by
 * @sample_type and @regs_mask. 0, -EFAULT when a field runs past the
 * record, -EINVAL when a count or size is impossible. */
int perf_sample__parse(const struct perf_event_header *hdr,
		       uint64_t sample_type, uint64_t regs_mask,
		       struct perf_sample *s);

/* A PERF_RECORD_COMM, parsed. @comm borrows the record's bytes. */
struct perf_comm {
	uint32_t pid, tid;
	const char *comm;	/* NUL-terminated within the record */
	bool exec;		/* PERF_RECORD_MISC_COMM_EXEC: an exec */
	uint64_t time;		/* from the sample id; 0 without one */
};

/* Parses the COMM record @hdr; @sample_type is that of its event when
 * sample_id_all trails the record with the sample id (its time read from
 * there), else 0. 0, or -EFAULT when the record is too short or its name
 * has no end. */
int perf_comm__parse(const struct perf_event_header *hdr,
		     uint64_t sample_type, struct perf_comm *c);

/* A PERF_RECORD_FORK or PERF_RECORD_EXIT, parsed (the same layout). */
struct perf_fork {
	uint32_t pid, ppid, tid, ptid;
	uint64_t time;
};

/* Parses the FORK or EXIT record @hdr: 0, or -EFAULT when it is too
 * short. */
int perf_fork__parse(const struct perf_event_header *hdr,
		     struct perf_fork *f);

/* The mmap ring of one perf fd: a metadata page and 2^n data pages. */
struct ring {
	struct perf_event_mmap_page *meta;
	uint8_t *data;
	uint64_t data_size;	/* power of two */
	void *map;
	size_t map_size;
	uint8_t *scratch;	/* for records that wrap; data_size bytes */
	uint64_t pos;		/* ring__peek(): read up to here */
};

/* Maps @pages data pages (power of two) of @fd. 0 or -errno. */
int ring__mmap(struct ring *r, int fd, size_t pages);
/* Uses caller memory (tests): @meta and @data stay owned by the caller;
 * @r is overwritten whole. */
int ring__init_mem(struct ring *r, struct perf_event_mmap_page *meta,
		   uint8_t *data, uint64_t data_size);
void ring__release(struct ring *r);

/* Called for each record; @hdr is contiguous and 8-byte aligned (copied
 * when it wraps or is misaligned) and valid only during the call. A non-zero return stops consuming: the record
 * counts as used and the value is returned by ring__consume(). */
typedef int (*ring_record_fn)(const struct perf_event_header *hdr, void *ctx);

/* Reads every available record, publishing data_tail after each one.
 * Returns 0, the callback's non-zero value, or -EINVAL when a record header
 * is impossible (size < 8 or larger than the ring) or the head is more than
 * a ring ahead of the tail; the ring is then drained (tail = head) so
 * reading can go on. */
int ring__consume(struct ring *r, ring_record_fn fn, void *ctx);
/* Reads the records from where the last read stopped to the head, without
 * publishing data_tail: each stays where it is, valid until the caller
 * publishes a tail past it (ring__release_to()), so that it is used in
 * place, not copied (a record that wraps is copied once, into the scratch
 * buffer: two records that wrap are more than the ring's size apart, so
 * never both unreleased). @fn's @pos is the record's
 * position (a ring__release_to() argument). Returns 0, the callback's
 * non-zero value (that record read), or -EINVAL as ring__consume() (the
 * ring drained: every record read is released). */
typedef int (*ring_peek_fn)(const struct perf_event_header *hdr,
			    uint64_t pos, void *ctx);
int ring__peek(struct ring *r, ring_peek_fn fn, void *ctx);
/* Publishes data_tail at @pos (a record's position, or r->pos): the records
 * before it are used. */
void ring__release_to(struct ring *r, uint64_t pos);
bool ring__empty(const struct ring *r);

/* Fills @attr's type/config for the event @name: the kernel's software
 * events by name, any other through libpfm4 (with PFM_PLM3, and PFM_PLM0
 * unless @user_only), loaded at the first such name. 0; -ENOENT unknown
 * event; -ENOPKG libpfm4 not installed; -EINVAL libpfm4 not usable. */
int event__encode(const char *name, bool user_only,
		  struct perf_event_attr *attr);
/* The same through libpfm4 alone, whatever the name. */
int event__encode_pfm(const char *name, bool user_only,
		      struct perf_event_attr *attr);
/* libpfm4's version (pfm_get_version), loading it; -ENOPKG without it. */
int event__pfm_version(void);
/* Whether @attr is a time-based software event (period in ns). */
bool event__is_time(const struct perf_event_attr *attr);

#endif
