// SPDX-License-Identifier: MIT
/* Folded stacks exactly as stackcollapse-perf.pl writes them: one line per
 * unique stack, "root;caller;...;leaf COUNT", sorted, counts summed. And
 * the atomic output writer shared by every format. */
#include <errno.h>
#include <stdio.h>
#include <zlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgoprof/export.h"

enum export_format export__format_from_path(const char *path)
{
	size_t n = strlen(path);

#define ENDS(s) (n >= sizeof(s) - 1 && !strcmp(path + n - (sizeof(s) - 1), s))
	if (ENDS(".pb.gz") || ENDS(".pprof") || ENDS(".pb"))
		return EXPORT_PPROF;
	if (ENDS(".svg"))
		return EXPORT_SVG;
	if (ENDS(".json"))
		return EXPORT_JSON;
	if (ENDS(".gz"))
		return EXPORT_FOLDED_GZ;
#undef ENDS
	return EXPORT_FOLDED;
}

char *export__folded_name(const char *name, char *buf, size_t size)
{
	size_t j = 0, digits_from;

	if (!size)
		return buf;
	for (size_t i = 0; name[i] && j + 1 < size; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == ';')
			c = ':';
		else if (c < 0x20 || c == 0x7f)
			c = '?';
		buf[j++] = (char)c;
	}
	buf[j] = 0;
	if (!j && size > 2) {
		strcpy(buf, "??");
		return buf;
	}
	/* flamegraph.pl takes the last number on a line as the count (and
	 * two as a differential): no frame may end in " <digits>" */
	digits_from = j;
	while (digits_from > 0 && buf[digits_from - 1] >= '0' &&
	       buf[digits_from - 1] <= '9')
		digits_from--;
	if (digits_from < j && digits_from > 0 &&
	    (buf[digits_from - 1] == ' ' || buf[digits_from - 1] == '\t'))
		buf[digits_from - 1] = '_';
	/* and no whitespace right before the separator */
	while (j > 0 && (buf[j - 1] == ' ' || buf[j - 1] == '\t'))
		buf[--j] = 0;
	return buf;
}

/*
 * Memory: a recording may hold hundreds of thousands of (thread, stack)
 * pairs, and their folded lines, built as text, took ten times the size
 * of the output (every thread's copy of a line). Instead, each distinct
 * frame name is stored once, a line is a sequence of name ids, identical
 * sequences are merged by hash before sorting, and the text of a line
 * exists only while it is written. Lines are sorted as the strings they
 * spell (byte order, like stackcollapse-perf.pl's sort), compared name by
 * name without building them.
 */
struct names {
	char *buf;		/* NUL-terminated names; an id is an offset */
	size_t len, cap;
	uint32_t *slots;	/* open addressing: id + 1, 0 empty */
	size_t nslots, n;
};

struct fline {
	uint64_t count;
	size_t seq;		/* into seqs: length, then the name ids */
	uint64_t hash;
};

struct folder {
	struct names names;
	uint32_t *seqs;
	size_t nseqs, cap_seqs;
	struct fline *lines;
	size_t nlines, cap_lines;
	uint32_t *slots;	/* line index + 1 by hash */
	size_t nslots;
};

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	return h;
}

#define FNV_INIT 0xcbf29ce484222325ULL

/* The id of @name (interned). Returns 0 or -ENOMEM. */
static int names_intern(struct names *t, const char *name, uint32_t *id)
{
	size_t n = strlen(name) + 1, i;
	uint64_t h = fnv(name, n, FNV_INIT);

	if ((t->n + 1) * 2 > t->nslots) {
		size_t cap = t->nslots ? t->nslots * 2 : 4096;
		uint32_t *s = calloc(cap, sizeof(*s));

		if (!s)
			return -ENOMEM;
		for (size_t k = 0; k < t->nslots; k++) {
			uint32_t v = t->slots[k];
			const char *q;

			if (!v)
				continue;
			q = t->buf + v - 1;
			for (i = fnv(q, strlen(q) + 1, FNV_INIT) & (cap - 1); s[i];
			     i = (i + 1) & (cap - 1))
				;
			s[i] = v;
		}
		free(t->slots);
		t->slots = s;
		t->nslots = cap;
	}
	for (i = h & (t->nslots - 1); t->slots[i]; i = (i + 1) & (t->nslots - 1)) {
		if (!strcmp(t->buf + t->slots[i] - 1, name)) {
			*id = t->slots[i] - 1;
			return 0;
		}
	}
	if (t->len + n > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 65536;
		char *b;

		while (cap < t->len + n)
			cap *= 2;
		if (cap >= UINT32_MAX)
			return -ENOMEM;
		b = realloc(t->buf, cap);
		if (!b)
			return -ENOMEM;
		t->buf = b;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, name, n);
	*id = (uint32_t)t->len;
	t->slots[i] = (uint32_t)t->len + 1;
	t->len += n;
	t->n++;
	return 0;
}

/* Adds @count to the line spelled by the name ids @ids[0..@n). */
static int folder_add(struct folder *f, const uint32_t *ids, uint32_t n,
		      uint64_t count)
{
	uint64_t h = fnv(ids, n * sizeof(*ids), FNV_INIT);
	size_t i;

	if ((f->nlines + 1) * 2 > f->nslots) {
		size_t cap = f->nslots ? f->nslots * 2 : 4096;
		uint32_t *s = calloc(cap, sizeof(*s));

		if (!s)
			return -ENOMEM;
		for (size_t k = 0; k < f->nlines; k++) {
			for (i = f->lines[k].hash & (cap - 1); s[i];
			     i = (i + 1) & (cap - 1))
				;
			s[i] = (uint32_t)k + 1;
		}
		free(f->slots);
		f->slots = s;
		f->nslots = cap;
	}
	for (i = h & (f->nslots - 1); f->slots[i]; i = (i + 1) & (f->nslots - 1)) {
		struct fline *l = &f->lines[f->slots[i] - 1];

		if (l->hash == h && f->seqs[l->seq] == n &&
		    !memcmp(f->seqs + l->seq + 1, ids, n * sizeof(*ids))) {
			l->count += count;
			return 0;
		}
	}
	if (f->nseqs + n + 1 > f->cap_seqs) {
		size_t cap = f->cap_seqs ? f->cap_seqs * 2 : 65536;
		uint32_t *p;

		while (cap < f->nseqs + n + 1)
			cap *= 2;
		p = realloc(f->seqs, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		f->seqs = p;
		f->cap_seqs = cap;
	}
	if (f->nlines == f->cap_lines) {
		size_t cap = f->cap_lines ? f->cap_lines * 2 : 1024;
		struct fline *p = realloc(f->lines, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		f->lines = p;
		f->cap_lines = cap;
	}
	if (f->nlines >= UINT32_MAX - 1)
		return -ENOMEM;
	f->lines[f->nlines] = (struct fline){ count, f->nseqs, h };
	f->seqs[f->nseqs] = n;
	memcpy(f->seqs + f->nseqs + 1, ids, n * sizeof(*ids));
	f->nseqs += n + 1;
	f->slots[i] = (uint32_t)f->nlines + 1;
	f->nlines++;
	return 0;
}

/* The characters of a line, separators included, one at a time. */
struct line_iter {
	const char *names;
	const uint32_t *ids;
	uint32_t n, i;
	const char *p;
};

static void line_iter_init(struct line_iter *it, const struct folder *f,
			   const struct fline *l)
{
	it->names = f->names.buf;
	it->n = f->seqs[l->seq];
	it->ids = f->seqs + l->seq + 1;
	it->i = 0;
	it->p = it->names + it->ids[0];
}

static int line_iter_next(struct line_iter *it)
{
	if (*it->p)
		return (unsigned char)*it->p++;
	if (it->i + 1 < it->n) {
		it->p = it->names + it->ids[++it->i];
		return ';';
	}
	return -1;
}

static int fline_cmp(const void *a, const void *b, void *ctx)
{
	struct line_iter x, y;

	line_iter_init(&x, ctx, a);
	line_iter_init(&y, ctx, b);
	for (;;) {
		int cx = line_iter_next(&x), cy = line_iter_next(&y);

		if (cx != cy)
			return cx < cy ? -1 : 1;
		if (cx < 0)
			return 0;
	}
}

static void folder_free(struct folder *f)
{
	free(f->names.buf);
	free(f->names.slots);
	free(f->seqs);
	free(f->lines);
	free(f->slots);
}

int export__folded(const struct profile *p, const struct export_opts *o,
		   FILE *out)
{
	struct folder f = { 0 };
	uint32_t *ids = NULL;
	size_t cap_ids = 0;
	char buf[4096 + 8];
	int err = 0;

	for (size_t i = 0; i < p->nstacks && !err; i++) {
		const struct profile_stack *s = &p->stacks[i];
		uint32_t n = 1;
		size_t need = 1;

		for (uint32_t k = 0; k < s->nlocs; k++)
			need += p->locations[s->locs[k]].nframes;
		if (need > cap_ids) {
			uint32_t *q = realloc(ids, need * sizeof(*ids));

			if (!q) {
				err = -ENOMEM;
				break;
			}
			ids = q;
			cap_ids = need;
		}
		export__folded_name(s->comm, buf, 64);
		for (char *c = buf; *c; c++)
			if (*c == ' ')
				*c = '_';
		if (o && (o->folded_pid || o->folded_tid)) {
			size_t len = strlen(buf);

			if (o->folded_tid)
				snprintf(buf + len, sizeof(buf) - len, "-%u/%u",
					 s->pid, s->tid);
			else
				snprintf(buf + len, sizeof(buf) - len, "-%u",
					 s->pid);
		}
		err = names_intern(&f.names, buf, &ids[0]);
		for (uint32_t k = s->nlocs; k-- > 0 && !err;) {
			const struct profile_location *l =
				&p->locations[s->locs[k]];

			for (uint32_t j = l->nframes; j-- > 0 && !err;) {
				const struct profile_frame *fr = &l->frames[j];
				const char *suffix = NULL;

				if (o && o->folded_annotate) {
					if (fr->kind == FRAME_KIND_KERNEL ||
					    fr->kind == FRAME_KIND_VDSO)
						suffix = "_[k]";
					else if (fr->inlined)
						suffix = "_[i]";
				}
				export__folded_name(fr->name, buf, 4096);
				if (suffix)
					strcat(buf, suffix);
				err = names_intern(&f.names, buf, &ids[n++]);
			}
		}
		if (!err)
			err = folder_add(&f, ids, n,
					 o && o->folded_weight ? s->weight
							       : s->count);
	}
	free(ids);
	if (!err)
		qsort_r(f.lines, f.nlines, sizeof(*f.lines), fline_cmp, &f);
	for (size_t i = 0; i < f.nlines && !err; i++) {
		const struct fline *l = &f.lines[i];
		const uint32_t *q = f.seqs + l->seq + 1;

		if (!l->count)
			continue;
		for (uint32_t k = 0; k < f.seqs[l->seq]; k++)
			if ((k && putc(';', out) == EOF) ||
			    fputs(f.names.buf + q[k], out) == EOF)
				err = -EIO;
		if (fprintf(out, " %llu\n", (unsigned long long)l->count) < 0)
			err = -EIO;
	}
	folder_free(&f);
	return err;
}

/* A FILE that gzips what is written to it into a gzFile. */
static ssize_t gz_cookie_write(void *c, const char *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		unsigned chunk = n - done > (1u << 30) ? 1u << 30
						       : (unsigned)(n - done);
		int w = gzwrite(c, buf + done, chunk);

		if (w <= 0) {
			errno = EIO;
			return done ? (ssize_t)done : -1;
		}
		done += (size_t)w;
	}
	return (ssize_t)done;
}

static int gz_cookie_close(void *c)
{
	return gzclose(c) == Z_OK ? 0 : (errno = EIO, -1);
}

/* Folded stacks, gzipped: a tenth of the size or less (flamegraph.pl
 * reads them through zcat). */
static int export_folded_gz(const struct profile *p,
			    const struct export_opts *o, FILE *f)
{
	static const cookie_io_functions_t io = {
		.write = gz_cookie_write,
		.close = gz_cookie_close,
	};
	gzFile gz;
	FILE *g;
	int fd, err;

	if (fflush(f))
		return -errno;
	fd = dup(fileno(f));
	if (fd < 0)
		return -errno;
	gz = gzdopen(fd, "wb6");
	if (!gz) {
		close(fd);
		return -ENOMEM;
	}
	g = fopencookie(gz, "w", io);
	if (!g) {
		gzclose(gz);
		return -ENOMEM;
	}
	err = export__folded(p, o, g);
	if (fclose(g) && !err)
		err = -EIO;
	return err;
}

static int export_to(const struct profile *p, const struct export_opts *o,
		     enum export_format fmt, FILE *f)
{
	switch (fmt) {
	case EXPORT_FOLDED_GZ:
		return export_folded_gz(p, o, f);
	case EXPORT_PPROF:
		return export__pprof(p, o, f);
	case EXPORT_SVG:
		return export__svg(p, o, f);
	case EXPORT_JSON:
		return export__json(p, o, f);
	default:
		return export__folded(p, o, f);
	}
}

int export__write_atomic(const char *path, int (*fn)(FILE *f, void *ctx),
			 void *ctx)
{
	struct stat st;
	char *tmp;
	FILE *f;
	int fd, err;

	if (!strcmp(path, "-")) {
		err = fn(stdout, ctx);
		if (!err && fflush(stdout))
			err = -errno;
		return err;
	}
	/* A device or a pipe (/dev/null, /dev/stdout, a FIFO) is written in
	 * place: renaming a temporary file over it would replace it. */
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		f = fopen(path, "we");
		if (!f)
			return -errno;
		err = fn(f, ctx);
		if (fclose(f) && !err)
			err = -errno;
		return err;
	}
	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = -errno;
		free(tmp);
		return err;
	}
	fchmod(fd, 0644);
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		goto fail;
	}
	err = fn(f, ctx);
	if (!err && (ferror(f) || fflush(f)))
		err = -EIO;
	if (!err && fsync(fileno(f)))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (err)
		goto fail;
	if (rename(tmp, path)) {
		err = -errno;
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	unlink(tmp);
	free(tmp);
	return err;
}

struct export_job {
	const struct profile *p;
	const struct export_opts *o;
	enum export_format fmt;
};

static int export_job_write(FILE *f, void *ctx)
{
	struct export_job *j = ctx;

	return export_to(j->p, j->o, j->fmt, f);
}

int export__write_file(const struct profile *p, const struct export_opts *o,
		       const char *path)
{
	struct export_job j = {
		.p = p,
		.o = o,
		/* stdout always gets folded */
		.fmt = strcmp(path, "-") ? export__format_from_path(path)
					 : EXPORT_FOLDED,
	};

	return export__write_atomic(path, export_job_write, &j);
}
