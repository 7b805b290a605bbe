// SPDX-License-Identifier: MIT
/* Folded stacks exactly as stackcollapse-perf.pl writes them: one line per
 * unique stack, "root;caller;...;leaf COUNT", sorted, counts summed. And
 * the atomic output writer shared by every format. */
#include <errno.h>
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

struct line {
	char *text;
	uint64_t count;
};

static int line_cmp(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->text,
		      ((const struct line *)b)->text);
}

struct sbuf {
	char *s;
	size_t len, cap;
};

static int sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p)
			return -ENOMEM;
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
	return 0;
}

static int sbuf_frame(struct sbuf *b, const char *name, const char *suffix)
{
	char buf[4096];

	export__folded_name(name, buf, sizeof(buf));
	if (sbuf_add(b, ";", 1) || sbuf_add(b, buf, strlen(buf)))
		return -ENOMEM;
	return suffix ? sbuf_add(b, suffix, strlen(suffix)) : 0;
}

int export__folded(const struct profile *p, const struct export_opts *o,
		   FILE *f)
{
	struct line *lines = calloc(p->nstacks + 1, sizeof(*lines));
	struct sbuf b = { 0 };
	size_t n = 0;
	int err = 0;

	if (!lines)
		return -ENOMEM;
	for (size_t i = 0; i < p->nstacks; i++) {
		const struct profile_stack *s = &p->stacks[i];
		char root[64];

		b.len = 0;
		export__folded_name(s->comm, root, sizeof(root));
		for (char *c = root; *c; c++)
			if (*c == ' ')
				*c = '_';
		if (sbuf_add(&b, root, strlen(root))) {
			err = -ENOMEM;
			goto out;
		}
		if (o && (o->folded_pid || o->folded_tid)) {
			char id[40];

			if (o->folded_tid)
				snprintf(id, sizeof(id), "-%u/%u", s->pid, s->tid);
			else
				snprintf(id, sizeof(id), "-%u", s->pid);
			if (sbuf_add(&b, id, strlen(id))) {
				err = -ENOMEM;
				goto out;
			}
		}
		for (uint32_t k = s->nlocs; k-- > 0;) {
			const struct profile_location *l =
				&p->locations[s->locs[k]];

			for (uint32_t j = l->nframes; j-- > 0;) {
				const struct profile_frame *fr = &l->frames[j];
				const char *suffix = NULL;

				if (o && o->folded_annotate) {
					if (fr->kind == FRAME_KIND_KERNEL ||
					    fr->kind == FRAME_KIND_VDSO)
						suffix = "_[k]";
					else if (fr->inlined)
						suffix = "_[i]";
				}
				if (sbuf_frame(&b, fr->name, suffix)) {
					err = -ENOMEM;
					goto out;
				}
			}
		}
		lines[n].text = strdup(b.s);
		lines[n].count = o && o->folded_weight ? s->weight : s->count;
		if (!lines[n].text) {
			err = -ENOMEM;
			goto out;
		}
		n++;
	}
	qsort(lines, n, sizeof(*lines), line_cmp);
	for (size_t i = 0; i < n;) {
		uint64_t count = lines[i].count;
		size_t j = i + 1;

		while (j < n && !strcmp(lines[j].text, lines[i].text))
			count += lines[j++].count;
		if (count && fprintf(f, "%s %llu\n", lines[i].text,
				     (unsigned long long)count) < 0) {
			err = -EIO;
			goto out;
		}
		i = j;
	}
out:
	for (size_t i = 0; i < n; i++)
		free(lines[i].text);
	free(lines);
	free(b.s);
	return err;
}

static int export_to(const struct profile *p, const struct export_opts *o,
		     enum export_format fmt, FILE *f)
{
	switch (fmt) {
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
