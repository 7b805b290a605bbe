/* A streaming protobuf encoder and pprof's string table (export/protobuf.c):
 * what the pprof writer encodes with, public so that its wire format is
 * unit-tested on its own.
 * Owns its buffer; the sink borrows the bytes for the call. */
#ifndef CGOPROF_PROTOBUF_H
#define CGOPROF_PROTOBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgoprof/htab.h"

/* Receives encoded bytes whenever no message is open. Returns 0 or -errno. */
typedef int (*protobuf_sink_fn)(void *ctx, const uint8_t *data, size_t len);

/* A protobuf writer in the style of Go's runtime/pprof protobuf.go: fields
 * are appended to one buffer; a nested message is written in place and its
 * length inserted in front of it when it ends. Whenever no message is open
 * and enough bytes have piled up they go to the sink. The first error sticks
 * in @err and turns every later call into a no-op. */
struct protobuf {
	uint8_t *data;
	size_t len, cap;
	unsigned int nest;     /* messages started and not yet ended */
	int err;	       /* 0 or the first -errno */
	protobuf_sink_fn sink; /* NULL: keep every byte in @data */
	void *sink_ctx;
};

void protobuf__init(struct protobuf *pb, protobuf_sink_fn sink, void *ctx);
/* Frees the buffer; accepts a zeroed or half-used encoder. */
void protobuf__release(struct protobuf *pb);

/* A bare base-128 varint, no field key. */
void protobuf__varint(struct protobuf *pb, uint64_t v);
/* Varint fields (wire type 0); the _opt forms omit a zero value. */
void protobuf__uint64(struct protobuf *pb, uint32_t field, uint64_t v);
void protobuf__uint64_opt(struct protobuf *pb, uint32_t field, uint64_t v);
void protobuf__int64(struct protobuf *pb, uint32_t field, int64_t v);
void protobuf__int64_opt(struct protobuf *pb, uint32_t field, int64_t v);
void protobuf__bool_opt(struct protobuf *pb, uint32_t field, bool v);
/* Length-delimited fields (wire type 2). A NULL string is written empty. */
void protobuf__bytes(struct protobuf *pb, uint32_t field, const void *data,
		     size_t len);
void protobuf__string(struct protobuf *pb, uint32_t field, const char *s);
/* A packed repeated uint64; nothing at all when @n is 0. */
void protobuf__packed_uint64(struct protobuf *pb, uint32_t field,
			     const uint64_t *v, size_t n);

/* Opens a nested message; pass the result to protobuf__end_message(), which
 * writes the key and length of @field in front of what was written since. */
size_t protobuf__start_message(struct protobuf *pb);
void protobuf__end_message(struct protobuf *pb, uint32_t field, size_t start);

/* Sends everything buffered to the sink (no message may be open). Returns 0
 * or the first error of the encoder. */
int protobuf__flush(struct protobuf *pb);


/* pprof's string_table on the interner (htab.h): each distinct string
 * once, copied, in first-use order, index 0 always "". Released with
 * strintern__release(). */

/* Returns 0 or -ENOMEM; the table then holds "" at index 0. */
int strtab__init(struct strintern *t);
/* The index of @s (NULL counts as ""), added on first use. Returns the
 * index or -ENOMEM. */
int64_t strtab__intern(struct strintern *t, const char *s);
/* Writes every string, in index order, as repeated @field. */
void strtab__encode(const struct strintern *t, struct protobuf *pb,
		    uint32_t field);

#endif
