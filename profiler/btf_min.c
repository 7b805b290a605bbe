// SPDX-License-Identifier: MIT
/*
 * The kernel types a BPF object's CO-RE relocations read, cut out of the
 * kernel's BTF (btf_min.h). libbpf, given no BTF of its own, parses the
 * kernel's whole (5 MB, 125 000 types: its buffers are most of a short
 * recording's page faults); this reads the file where the kernel maps it
 * (6.16), else a block at a time, and keeps a handful of records:
 *  1. the strings section, for the offsets of the names asked for;
 *  2. the types section, for each type's offset and the structs of those
 *     names, then the types their members lead to (typedefs and modifiers
 *     to what they name, anonymous members to their structs), by offset;
 *  3. a raw BTF of those structs, with only the members asked for, at the
 *     kernel's offsets, each typed by kind as CO-RE compares them: a
 *     struct of the list, a pointer (to void), an integer of its size.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/btf.h>
#include <zlib.h>

#include "cgoprof/btf_min.h"
#include "cgoprof/cache.h"

/* what linux/btf.h leaves to its users */
#define INFO_ENC(kind, vlen) (((uint32_t)(kind) << 24) | ((vlen) & 0xffff))
#define INT_ENC(bits) ((bits) & 0xff)

#define BLOCK (256u << 10)
/* fields, types kept, rounds of types they lead to: far more than the
 * loaders ask for */
#define MAX_FIELDS 32
#define MAX_RECS 256
#define MAX_ROUNDS 32
#define MAX_NAME 128

struct rec {
	uint32_t id;
	struct btf_type t;
	uint8_t *extra;		/* what follows the header */
	uint32_t extra_len;
};

struct cut {
	int fd;
	uint64_t size;			/* the file's */
	const uint8_t *map;		/* all of it, or NULL */
	uint64_t have_from, have_len;	/* else the block holds these */
	uint64_t types, types_len;	/* in the file */
	uint64_t strs, strs_len;
	uint8_t *block;
	/* the names asked for, their offsets in the strings (0: absent) */
	const char *names[2 * MAX_FIELDS];
	uint32_t name_off[2 * MAX_FIELDS];
	size_t name_len[2 * MAX_FIELDS];
	size_t nnames;
	struct rec recs[MAX_RECS];
	size_t nrecs;
	uint32_t *offs;			/* each type's offset, by id */
	size_t ntypes, cap_offs;
	uint32_t want[MAX_RECS];	/* ids to fetch, sorted */
	size_t nwant;
	size_t nroots;			/* the first names: structs */
};

static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t got = pread(fd, (uint8_t *)buf + done, n - done,
				    (off_t)(off + done));

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (!got)
			return -EINVAL;
		done += (size_t)got;
	}
	return 0;
}

static int name_index(const struct cut *c, const char *name)
{
	for (size_t i = 0; i < c->nnames; i++)
		if (!strcmp(c->names[i], name))
			return (int)i;
	return -1;
}

/* @len bytes of the file at @off (@len <= BLOCK): in the kernel's
 * mapping of it where it allows one (6.16), else read into the block,
 * a block at a time. NULL if they cannot be read. */
static const uint8_t *bytes_at(struct cut *c, uint64_t off, size_t len)
{
	size_t n;

	if (off > c->size || len > c->size - off)
		return NULL;
	if (c->map)
		return c->map + off;
	if (off >= c->have_from && off + len <= c->have_from + c->have_len)
		return c->block + (off - c->have_from);
	n = c->size - off < BLOCK ? (size_t)(c->size - off) : BLOCK;
	c->have_len = 0;
	if (read_at(c->fd, c->block, n, off))
		return NULL;
	c->have_from = off;
	c->have_len = n;
	return c->block;
}

/* 1. The offset of each name in the strings section. */
static int scan_strings(struct cut *c)
{
	char cur[MAX_NAME];
	size_t curlen = 0;
	uint64_t start = 0;	/* the current string's offset */
	bool too_long = false;

	for (uint64_t off = 0; off < c->strs_len; off += BLOCK) {
		size_t n = c->strs_len - off < BLOCK ? (size_t)(c->strs_len - off)
						     : BLOCK;
		const uint8_t *b = bytes_at(c, c->strs + off, n);

		if (!b)
			return -EIO;
		for (size_t i = 0; i < n;) {
			const uint8_t *z = memchr(b + i, 0, n - i);
			size_t len = z ? (size_t)(z - (b + i)) : n - i;

			if (!too_long && curlen + len <= MAX_NAME) {
				memcpy(cur + curlen, b + i, len);
				curlen += len;
			} else {
				too_long = true;
			}
			if (!z)
				break;
			/* a name asked for: of its length, then equal */
			for (size_t k = 0; !too_long && k < c->nnames; k++)
				if (c->name_len[k] == curlen && curlen &&
				    !c->name_off[k] &&
				    !memcmp(c->names[k], cur, curlen))
					c->name_off[k] = (uint32_t)start;
			i += len + 1;
			start = off + i;
			curlen = 0;
			too_long = false;
		}
	}
	for (size_t i = 0; i < c->nnames; i++)
		if (!c->name_off[i])
			return -ENOENT;
	return 0;
}

/* The bytes that follow a type's header, by its kind; -1: a kind not
 * known here. */
static long extra_len(const struct btf_type *t)
{
	uint32_t vlen = BTF_INFO_VLEN(t->info);

	switch (BTF_INFO_KIND(t->info)) {
	case BTF_KIND_INT:
	case BTF_KIND_VAR:
	case 17:	/* BTF_KIND_DECL_TAG */
		return 4;
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case 16:	/* BTF_KIND_FLOAT */
	case 18:	/* BTF_KIND_TYPE_TAG */
		return 0;
	case BTF_KIND_ARRAY:
		return 12;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
	case BTF_KIND_DATASEC:
	case 19:	/* BTF_KIND_ENUM64 */
		return 12L * vlen;
	case BTF_KIND_ENUM:
	case BTF_KIND_FUNC_PROTO:
		return 8L * vlen;
	default:
		return -1;
	}
}

static struct rec *find_rec(struct cut *c, uint32_t id)
{
	for (size_t i = 0; i < c->nrecs; i++)
		if (c->recs[i].id == id)
			return &c->recs[i];
	return NULL;
}

static bool is_struct(const struct btf_type *t)
{
	return BTF_INFO_KIND(t->info) == BTF_KIND_STRUCT ||
	       BTF_INFO_KIND(t->info) == BTF_KIND_UNION;
}

/* Whether @t is a struct named as one asked for (the roots). */
static bool is_root(const struct cut *c, const struct btf_type *t,
		    size_t nroots)
{
	if (!is_struct(t))
		return false;
	for (size_t i = 0; i < nroots; i++)
		if (t->name_off == c->name_off[i])
			return true;
	return false;
}

static int keep(struct cut *c, uint32_t id, const struct btf_type *t,
		const uint8_t *extra, size_t len)
{
	struct rec *r;

	if (find_rec(c, id))
		return 0;
	if (c->nrecs == MAX_RECS)
		return -E2BIG;
	r = &c->recs[c->nrecs];
	r->extra = malloc(len ? len : 1);
	if (!r->extra)
		return -ENOMEM;
	memcpy(r->extra, extra, len);
	r->id = id;
	r->t = *t;
	r->extra_len = (uint32_t)len;
	c->nrecs++;
	return 0;
}

static void need(struct cut *c, uint32_t id);
static void needs_of(struct cut *c, const struct rec *r, size_t nroots);

/* 2. The pass over the types: each one's offset (c->offs), the roots
 * (the first struct of each root name), and what they lead to that
 * comes after them. */
static int scan_types(struct cut *c, size_t nroots)
{
	uint64_t off = 0;
	uint32_t id = 1;
	size_t next = 0;

	while (off < c->types_len) {
		const uint8_t *b = bytes_at(c, c->types + off,
					    sizeof(struct btf_type));
		struct btf_type t;
		long extra;
		bool wanted = false;

		if (!b || off + sizeof(t) > c->types_len)
			return -EINVAL;
		memcpy(&t, b, sizeof(t));
		extra = extra_len(&t);
		if (extra < 0 || extra > (long)BLOCK - (long)sizeof(t) ||
		    off + sizeof(t) + (uint64_t)extra > c->types_len)
			return -EINVAL;
		b = bytes_at(c, c->types + off, sizeof(t) + (size_t)extra);
		if (!b)
			return -EIO;
		if (id >= c->cap_offs) {
			size_t cap = c->cap_offs ? 2 * c->cap_offs : 65536;
			uint32_t *p = realloc(c->offs, cap * sizeof(*p));

			if (!p)
				return -ENOMEM;
			c->offs = p;
			c->cap_offs = cap;
		}
		c->offs[id] = (uint32_t)off;
		c->ntypes = id + 1;
		if (nroots && is_root(c, &t, nroots)) {
			bool seen = false;

			for (size_t i = 0; i < c->nrecs; i++)
				seen |= c->recs[i].t.name_off == t.name_off &&
					is_struct(&c->recs[i].t);
			wanted = !seen;
		}
		/* c->want is sorted, and ids go up */
		while (next < c->nwant && c->want[next] < id)
			next++;
		wanted |= next < c->nwant && c->want[next] == id;
		if (wanted) {
			int err = keep(c, id, &t, b + sizeof(t), (size_t)extra);

			if (err)
				return err;
			/* what it leads to, later in this pass if it is
			 * further on */
			needs_of(c, &c->recs[c->nrecs - 1], c->nroots);
		}
		off += sizeof(t) + (uint64_t)extra;
		id++;
	}
	return 0;
}

/* Keeps type @id, from its offset. */
static int fetch(struct cut *c, uint32_t id)
{
	const uint8_t *b;
	struct btf_type t;
	long extra;

	if (!id || id >= c->ntypes)
		return -EINVAL;
	b = bytes_at(c, c->types + c->offs[id], sizeof(t));
	if (!b)
		return -EIO;
	memcpy(&t, b, sizeof(t));
	extra = extra_len(&t);
	/* checked by the pass */
	b = bytes_at(c, c->types + c->offs[id], sizeof(t) + (size_t)extra);
	if (!b)
		return -EIO;
	return keep(c, id, &t, b + sizeof(t), (size_t)extra);
}

static bool is_mod(const struct btf_type *t)
{
	switch (BTF_INFO_KIND(t->info)) {
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case 18:	/* BTF_KIND_TYPE_TAG */
		return true;
	default:
		return false;
	}
}

/* Asks for @id in the next pass, or later in this one (c->want is
 * sorted). */
static void need(struct cut *c, uint32_t id)
{
	size_t at;

	if (!id || find_rec(c, id) || c->nwant == MAX_RECS)
		return;
	for (at = 0; at < c->nwant && c->want[at] < id; at++)
		;
	if (at < c->nwant && c->want[at] == id)
		return;
	memmove(c->want + at + 1, c->want + at,
		(c->nwant - at) * sizeof(*c->want));
	c->want[at] = id;
	c->nwant++;
}

/* The member name offsets asked for (c->name_off from @nroots on). */
static bool member_wanted(const struct cut *c, size_t nroots, uint32_t off)
{
	for (size_t i = nroots; i < c->nnames; i++)
		if (c->name_off[i] == off)
			return true;
	return false;
}

/* The ids @r leads to: what a modifier or typedef names, the types of
 * the members asked for and of anonymous ones. */
static void needs_of(struct cut *c, const struct rec *r, size_t nroots)
{
	if (is_mod(&r->t)) {
		need(c, r->t.type);
		return;
	}
	if (!is_struct(&r->t))
		return;
	for (uint32_t k = 0; k < BTF_INFO_VLEN(r->t.info); k++) {
		struct btf_member m;

		memcpy(&m, r->extra + 12 * k, sizeof(m));
		if (!m.name_off || member_wanted(c, nroots, m.name_off))
			need(c, m.type);
	}
}

/* The ids the kept records lead to and still lack (a type earlier in the
 * file than the one that names it), for the next pass. */
static void collect(struct cut *c, size_t nroots)
{
	c->nwant = 0;
	for (size_t i = 0; i < c->nrecs; i++)
		needs_of(c, &c->recs[i], nroots);
}

/* @id past modifiers and typedefs, as kept. */
static const struct rec *skip_mods(struct cut *c, uint32_t id)
{
	for (int depth = 0; depth < 32; depth++) {
		const struct rec *r = find_rec(c, id);

		if (!r || !is_mod(&r->t))
			return r;
		id = r->t.type;
	}
	return NULL;
}

/* The member @name_off of struct @s, in it or in its anonymous members:
 * *@m, with its offset in bits from @s's start. */
static int find_member(struct cut *c, const struct rec *s, uint32_t name_off,
		       struct btf_member *m, int depth)
{
	bool kflag = BTF_INFO_KFLAG(s->t.info);

	if (depth > 8)
		return -ENOENT;
	for (uint32_t k = 0; k < BTF_INFO_VLEN(s->t.info); k++) {
		struct btf_member x;
		uint32_t bits;

		memcpy(&x, s->extra + 12 * k, sizeof(x));
		bits = kflag ? BTF_MEMBER_BIT_OFFSET(x.offset) : x.offset;
		if (kflag && BTF_MEMBER_BITFIELD_SIZE(x.offset))
			continue;	/* bitfields: none asked for */
		if (x.name_off == name_off) {
			*m = x;
			m->offset = bits;
			return 0;
		}
		if (!x.name_off) {
			const struct rec *a = skip_mods(c, x.type);

			if (a && is_struct(&a->t) &&
			    !find_member(c, a, name_off, m, depth + 1)) {
				m->offset += bits;
				return 0;
			}
		}
	}
	return -ENOENT;
}

/* The output: types and strings, growing. */
struct out {
	uint8_t types[4096];
	size_t types_len;
	char strs[2048];
	size_t strs_len;
	uint32_t ntypes;
	uint32_t ptr_id, int_id[9];	/* by size in bytes */
};

static int out_str(struct out *o, const char *s)
{
	size_t n = strlen(s) + 1;
	uint32_t off;

	if (!s[0])
		return 0;
	if (o->strs_len + n > sizeof(o->strs))
		return -E2BIG;
	off = (uint32_t)o->strs_len;
	memcpy(o->strs + o->strs_len, s, n);
	o->strs_len += n;
	return (int)off;
}

static int out_bytes(struct out *o, const void *p, size_t n)
{
	if (o->types_len + n > sizeof(o->types))
		return -E2BIG;
	memcpy(o->types + o->types_len, p, n);
	o->types_len += n;
	return 0;
}

/* The id of an integer of @size bytes, or of a pointer (@size 0). */
static int out_scalar(struct out *o, uint32_t size)
{
	static const char *const names[9] = {
		[1] = "u8", [2] = "u16", [4] = "u32", [8] = "u64",
	};
	struct btf_type t = { 0 };
	uint32_t enc;
	int err;

	if (!size) {
		if (o->ptr_id)
			return (int)o->ptr_id;
		t.info = INFO_ENC(BTF_KIND_PTR, 0);
		t.type = 0;
		err = out_bytes(o, &t, sizeof(t));
		if (err)
			return err;
		o->ptr_id = ++o->ntypes;
		return (int)o->ptr_id;
	}
	if (size > 8 || !names[size])
		return -ENOTSUP;
	if (o->int_id[size])
		return (int)o->int_id[size];
	err = out_str(o, names[size]);
	if (err < 0)
		return err;
	t.name_off = (uint32_t)err;
	t.info = INFO_ENC(BTF_KIND_INT, 0);
	t.size = size;
	enc = INT_ENC(size * 8);
	err = out_bytes(o, &t, sizeof(t));
	if (!err)
		err = out_bytes(o, &enc, sizeof(enc));
	if (err)
		return err;
	o->int_id[size] = ++o->ntypes;
	return (int)o->int_id[size];
}

/* 3. The raw BTF, into a memfd. */
static int emit(struct cut *c, const struct btf_min_field *fields, size_t n,
		const struct rec **roots, size_t nroots, int *fdp)
{
	struct out *o = calloc(1, sizeof(*o));
	struct btf_header h = { 0 };
	int err = 0, fd = -1;
	uint32_t first_scalar;

	if (!o)
		return -ENOMEM;
	o->strs_len = 1;	/* "" at 0 */
	/* the roots are types 1..nroots; scalars follow */
	o->ntypes = (uint32_t)nroots;
	first_scalar = (uint32_t)nroots + 1;
	/* scalars first into a scratch, then the structs before them: the
	 * ids are fixed either way; simplest is two buffers */
	{
		uint8_t structs[4096];
		size_t slen = 0;

		for (size_t r = 0; r < nroots && !err; r++) {
			struct btf_type t = roots[r]->t;
			uint32_t vlen = 0;
			int name;

			for (size_t i = 0; i < n; i++)
				vlen += !strcmp(fields[i].type, c->names[r]);
			name = out_str(o, c->names[r]);
			if (name < 0 || slen + sizeof(t) + 12 * vlen >
						 sizeof(structs)) {
				err = name < 0 ? name : -E2BIG;
				break;
			}
			t.name_off = (uint32_t)name;
			t.info = INFO_ENC(BTF_INFO_KIND(t.info), vlen);
			memcpy(structs + slen, &t, sizeof(t));
			slen += sizeof(t);
			for (size_t i = 0; i < n && !err; i++) {
				struct btf_member m, out_m;
				const struct rec *mt;
				int mi = name_index(c, fields[i].member), tid;

				if (strcmp(fields[i].type, c->names[r]))
					continue;
				err = find_member(c, roots[r],
						  c->name_off[mi], &m, 0);
				if (err)
					break;
				mt = skip_mods(c, m.type);
				if (!mt) {
					err = -ENOENT;
					break;
				}
				switch (BTF_INFO_KIND(mt->t.info)) {
				case BTF_KIND_PTR:
					tid = out_scalar(o, 0);
					break;
				case BTF_KIND_INT:
					tid = out_scalar(o, mt->t.size);
					break;
				case BTF_KIND_STRUCT:
				case BTF_KIND_UNION:
					tid = -ENOTSUP;
					for (size_t q = 0; q < nroots; q++)
						if (roots[q] == mt)
							tid = (int)q + 1;
					break;
				default:
					tid = -ENOTSUP;
				}
				if (tid < 0) {
					err = tid;
					break;
				}
				name = out_str(o, fields[i].member);
				if (name < 0) {
					err = name;
					break;
				}
				out_m.name_off = (uint32_t)name;
				out_m.type = (uint32_t)tid;
				out_m.offset = m.offset;
				memcpy(structs + slen, &out_m, sizeof(out_m));
				slen += sizeof(out_m);
			}
		}
		if (!err) {
			/* structs, then the scalars written meanwhile */
			uint8_t *all = malloc(slen + o->types_len);

			(void)first_scalar;
			if (!all) {
				err = -ENOMEM;
			} else {
				memcpy(all, structs, slen);
				memcpy(all + slen, o->types, o->types_len);
				h.magic = BTF_MAGIC;
				h.version = BTF_VERSION;
				h.hdr_len = sizeof(h);
				h.type_off = 0;
				h.type_len = (uint32_t)(slen + o->types_len);
				h.str_off = h.type_len;
				h.str_len = (uint32_t)o->strs_len;
				fd = memfd_create("cgoprof-btf", MFD_CLOEXEC);
				if (fd < 0 ||
				    write(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) ||
				    write(fd, all, h.type_len) != (ssize_t)h.type_len ||
				    write(fd, o->strs, o->strs_len) !=
					    (ssize_t)o->strs_len)
					err = -errno ? -errno : -EIO;
				free(all);
			}
		}
	}
	free(o);
	if (err) {
		if (fd >= 0)
			close(fd);
		return err;
	}
	*fdp = fd;
	return 0;
}

int btf_min__build(const char *path, const struct btf_min_field *fields,
		   size_t n, int *fdp)
{
	struct cut *c = calloc(1, sizeof(*c));
	const struct rec *roots[MAX_FIELDS];
	struct btf_header h;
	struct stat st;
	size_t nroots = 0;
	void *map;
	int err;

	*fdp = -1;
	if (!c)
		return -ENOMEM;
	if (!n || n > MAX_FIELDS) {
		free(c);
		return -EINVAL;
	}
	/* the roots' names first, then the members' */
	for (size_t i = 0; i < n; i++)
		if (name_index(c, fields[i].type) < 0)
			c->names[c->nnames++] = fields[i].type;
	nroots = c->nnames;
	c->nroots = nroots;
	for (size_t i = 0; i < n; i++)
		if (name_index(c, fields[i].member) < 0)
			c->names[c->nnames++] = fields[i].member;
	for (size_t i = 0; i < c->nnames; i++)
		c->name_len[i] = strlen(c->names[i]);
	c->fd = open(path ? path : "/sys/kernel/btf/vmlinux",
		     O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (c->fd < 0) {
		err = -errno;
		goto out;
	}
	err = -EINVAL;
	if (fstat(c->fd, &st) || !S_ISREG(st.st_mode) ||
	    read_at(c->fd, &h, sizeof(h), 0) || h.magic != BTF_MAGIC ||
	    h.version != BTF_VERSION || h.hdr_len < sizeof(h) ||
	    h.hdr_len > 4096 ||
	    (uint64_t)h.hdr_len + h.type_off + h.type_len > (uint64_t)st.st_size ||
	    (uint64_t)h.hdr_len + h.str_off + h.str_len > (uint64_t)st.st_size)
		goto out;
	c->types = (uint64_t)h.hdr_len + h.type_off;
	c->types_len = h.type_len;
	c->strs = (uint64_t)h.hdr_len + h.str_off;
	c->strs_len = h.str_len;
	c->size = (uint64_t)st.st_size;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, c->fd, 0);
	if (map != MAP_FAILED) {
		c->map = map;
	} else {
		c->block = malloc(BLOCK);
		if (!c->block) {
			err = -ENOMEM;
			goto out;
		}
	}
	err = scan_strings(c);
	if (!err)
		err = scan_types(c, nroots);
	/* then what they lead to, by offset */
	for (int round = 0; !err; round++) {
		collect(c, nroots);
		if (!c->nwant)
			break;
		if (round == MAX_ROUNDS) {
			err = -ELOOP;
			break;
		}
		for (size_t i = 0; i < c->nwant && !err; i++)
			err = fetch(c, c->want[i]);
	}
	if (err)
		goto out;
	for (size_t r = 0; r < nroots; r++) {
		roots[r] = NULL;
		for (size_t i = 0; i < c->nrecs; i++)
			if (is_struct(&c->recs[i].t) &&
			    c->recs[i].t.name_off == c->name_off[r]) {
				roots[r] = &c->recs[i];
				break;
			}
		if (!roots[r]) {
			err = -ENOENT;
			goto out;
		}
	}
	err = emit(c, fields, n, roots, nroots, fdp);
out:
	if (c->map)
		munmap((void *)c->map, (size_t)c->size);
	if (c->fd >= 0)
		close(c->fd);
	for (size_t i = 0; i < c->nrecs; i++)
		free(c->recs[i].extra);
	free(c->offs);
	free(c->block);
	free(c);
	return err;
}

/* The cache file of @fields for this boot: "btf-BOOTID-HASH", the hash
 * of the fields and of this cut's version (a cgoprof that cuts another way
 * makes another file). */
static void cache_name(const struct btf_min_field *fields, size_t n,
		       const char *boot_id, char *out, size_t size)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *version = "btf_min 1";

	for (size_t i = 0; i <= 2 * n; i++) {
		const char *p = !i ? version
			       : i % 2 ? fields[(i - 1) / 2].type
				       : fields[(i - 1) / 2].member;

		do {
			h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
		} while (*p++);
	}
	snprintf(out, size, "btf-%s-%016llx", boot_id, (unsigned long long)h);
}

/* The cached BTF (the BTF, then the CRC-32 of it) into a new memfd: its fd,
 * or -1 if there is none or it is not whole. */
static int from_cache(int dfd, const char *name)
{
	uint64_t size = 0;
	int fd = cache__open_file(dfd, name, &size), out = -1;
	const struct btf_header *h;
	uint8_t *buf = NULL;
	uint32_t crc;

	if (fd < 0)
		return -1;
	if (size < sizeof(*h) + 4 || size > (1u << 20) ||
	    !(buf = malloc(size)) || !cache__pread(fd, buf, size, 0))
		goto out;
	size -= 4;
	memcpy(&crc, buf + size, 4);
	h = (const struct btf_header *)buf;
	if (crc != (uint32_t)crc32(0, buf, (uInt)size) ||
	    h->magic != BTF_MAGIC || h->hdr_len != sizeof(*h) ||
	    (uint64_t)h->hdr_len + h->str_off + h->str_len != size)
		goto out;
	out = memfd_create("cgoprof-btf", MFD_CLOEXEC);
	if (out >= 0 && write(out, buf, size) != (ssize_t)size) {
		close(out);
		out = -1;
	}
out:
	free(buf);
	close(fd);
	return out;
}

/* Keeps the BTF of memfd @fd as the cache file @name. */
static void to_cache(const struct cache_opts *o, const char *name, int fd)
{
	struct stat st;
	uint8_t *buf;
	uint32_t crc;
	int dfd;

	if (fstat(fd, &st) || st.st_size <= 0 || st.st_size > (1 << 20))
		return;
	buf = malloc((size_t)st.st_size);
	if (!buf)
		return;
	dfd = cache__open_dir(o->dir, true);
	if (dfd >= 0 && cache__pread(fd, buf, (size_t)st.st_size, 0)) {
		const void *bufs[] = { buf, &crc };
		size_t lens[] = { (size_t)st.st_size, 4 };

		crc = (uint32_t)crc32(0, buf, (uInt)st.st_size);
		if (!cache__write_file(dfd, name, bufs, lens, 2))
			cache__remove_stale(dfd, "btf-", o->boot_id);
	}
	if (dfd >= 0)
		close(dfd);
	free(buf);
}

int btf_min__custom_path(const struct btf_min_field *fields, size_t n,
			 char *path, size_t size, int *fd)
{
	struct cache_opts o;
	char name[128];
	int err = 0;

	cache_opts__default(&o);
	*fd = -1;
	if (o.dir) {
		int dfd = cache__open_dir(o.dir, false);

		cache_name(fields, n, o.boot_id, name, sizeof(name));
		if (dfd >= 0) {
			*fd = from_cache(dfd, name);
			close(dfd);
		}
	}
	if (*fd < 0) {
		err = btf_min__build(NULL, fields, n, fd);
		if (err)
			return err;
		if (o.dir)
			to_cache(&o, name, *fd);
	}
	if ((size_t)snprintf(path, size, "/proc/self/fd/%d", *fd) >= size) {
		close(*fd);
		*fd = -1;
		return -ENAMETOOLONG;
	}
	return 0;
}
