/* A small streaming protobuf encoder and pprof's string table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/protobuf.h"

enum {
	WIRE_VARINT = 0,
	WIRE_BYTES = 2,
};

/* Bytes kept before they go to the sink when no message is open. */
#define CGOPROF_PROTOBUF_FLUSH_SIZE (64 * 1024)
/* The longest key or length varint. */
#define CGOPROF_VARINT_MAX 10

void protobuf__init(struct protobuf *pb, protobuf_sink_fn sink, void *ctx)
{
	memset(pb, 0, sizeof(*pb));
	pb->sink = sink;
	pb->sink_ctx = ctx;
}

void protobuf__release(struct protobuf *pb)
{
	if (!pb)
		return;
	free(pb->data);
	pb->data = NULL;
	pb->len = pb->cap = 0;
}

static bool reserve(struct protobuf *pb, size_t extra)
{
	size_t cap;
	uint8_t *data;

	if (pb->err)
		return false;
	if (extra <= pb->cap - pb->len)
		return true;
	if (extra > SIZE_MAX / 2 - pb->len) {
		pb->err = -ENOMEM;
		return false;
	}
	cap = pb->cap ? pb->cap : 4096;
	while (cap - pb->len < extra)
		cap *= 2;
	data = realloc(pb->data, cap);
	if (!data) {
		pb->err = -ENOMEM;
		return false;
	}
	pb->data = data;
	pb->cap = cap;
	return true;
}

static size_t encode_varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

static void put_varint(struct protobuf *pb, uint64_t v)
{
	if (!reserve(pb, CGOPROF_VARINT_MAX))
		return;
	pb->len += encode_varint(pb->data + pb->len, v);
}

static void put_key(struct protobuf *pb, uint32_t field, unsigned int wire)
{
	put_varint(pb, (uint64_t)field << 3 | wire);
}

/* Like Go's encoder: hand finished top-level fields to the sink in big
 * chunks so memory stays bounded however large the profile is. */
static void maybe_flush(struct protobuf *pb)
{
	if (pb->nest == 0 && pb->sink && pb->len >= CGOPROF_PROTOBUF_FLUSH_SIZE)
		protobuf__flush(pb);
}

int protobuf__flush(struct protobuf *pb)
{
	int err;

	if (pb->err)
		return pb->err;
	if (pb->nest) {
		pb->err = -EINVAL;
		return pb->err;
	}
	if (!pb->sink || pb->len == 0)
		return 0;
	err = pb->sink(pb->sink_ctx, pb->data, pb->len);
	if (err) {
		pb->err = err;
		return err;
	}
	pb->len = 0;
	return 0;
}

void protobuf__varint(struct protobuf *pb, uint64_t v)
{
	put_varint(pb, v);
	maybe_flush(pb);
}

void protobuf__uint64(struct protobuf *pb, uint32_t field, uint64_t v)
{
	put_key(pb, field, WIRE_VARINT);
	put_varint(pb, v);
	maybe_flush(pb);
}

void protobuf__uint64_opt(struct protobuf *pb, uint32_t field, uint64_t v)
{
	if (v)
		protobuf__uint64(pb, field, v);
}

void protobuf__int64(struct protobuf *pb, uint32_t field, int64_t v)
{
	/* int64 is sign-extended to ten bytes on the wire, not zigzagged */
	protobuf__uint64(pb, field, (uint64_t)v);
}

void protobuf__int64_opt(struct protobuf *pb, uint32_t field, int64_t v)
{
	if (v)
		protobuf__int64(pb, field, v);
}

void protobuf__bool_opt(struct protobuf *pb, uint32_t field, bool v)
{
	if (v)
		protobuf__uint64(pb, field, 1);
}

void protobuf__bytes(struct protobuf *pb, uint32_t field, const void *data,
		     size_t len)
{
	put_key(pb, field, WIRE_BYTES);
	put_varint(pb, len);
	if (len && reserve(pb, len)) {
		memcpy(pb->data + pb->len, data, len);
		pb->len += len;
	}
	maybe_flush(pb);
}

void protobuf__string(struct protobuf *pb, uint32_t field, const char *s)
{
	protobuf__bytes(pb, field, s ? s : "", s ? strlen(s) : 0);
}

void protobuf__packed_uint64(struct protobuf *pb, uint32_t field,
			     const uint64_t *v, size_t n)
{
	size_t start, i;

	if (n == 0)
		return;
	start = protobuf__start_message(pb);
	for (i = 0; i < n; i++)
		put_varint(pb, v[i]);
	protobuf__end_message(pb, field, start);
}

size_t protobuf__start_message(struct protobuf *pb)
{
	pb->nest++;
	return pb->len;
}

void protobuf__end_message(struct protobuf *pb, uint32_t field, size_t start)
{
	uint8_t head[2 * CGOPROF_VARINT_MAX];
	size_t nhead, body;

	if (pb->nest == 0) {
		if (!pb->err)
			pb->err = -EINVAL;
		return;
	}
	pb->nest--;
	if (pb->err)
		return;
	if (start > pb->len) {
		pb->err = -EINVAL;
		return;
	}
	body = pb->len - start;
	nhead = encode_varint(head, (uint64_t)field << 3 | WIRE_BYTES);
	nhead += encode_varint(head + nhead, body);
	if (!reserve(pb, nhead))
		return;
	/* the body was written where the key belongs: slide it over */
	memmove(pb->data + start + nhead, pb->data + start, body);
	memcpy(pb->data + start, head, nhead);
	pb->len += nhead;
	maybe_flush(pb);
}

int strtab__init(struct strintern *t)
{
	strintern__init(t);
	return strtab__intern(t, "") < 0 ? -ENOMEM : 0;
}

int64_t strtab__intern(struct strintern *t, const char *s)
{
	return strintern__intern(t, s ? s : "");
}

void strtab__encode(const struct strintern *t, struct protobuf *pb,
		    uint32_t field)
{
	size_t i;

	for (i = 0; i < t->len; i++)
		protobuf__string(pb, field, t->strs[i]);
}
