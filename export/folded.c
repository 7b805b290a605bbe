// SPDX-License-Identifier: MIT
/* Folded stacks exactly as stackcollapse-perf.pl writes them: one line per
 * unique stack, "root;caller;...;leaf COUNT", sorted, counts summed; and
 * the same gzipped. */
#include <errno.h>
#include <stdio.h>
#include <zlib.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgoprof/arena.h"
#include "cgoprof/export.h"
#include "cgoprof/htab.h"

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
struct fline {
	uint64_t count;
	size_t seq;		/* into seqs: length, then the name ids */
};

struct folder {
	struct strintern names;
	uint32_t *seqs;
	size_t nseqs, cap_seqs;
	struct fline *lines;
	size_t nlines, cap_lines;
	struct htab index;	/* a sequence of name ids -> its line */
};

struct seq_key {
	const uint32_t *ids;
	uint32_t n;
};

static bool fline_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct folder *f = ctx;
	const struct seq_key *k = key;
	const uint32_t *seq = f->seqs + f->lines[idx].seq;

	return seq[0] == k->n &&
	       !memcmp(seq + 1, k->ids, k->n * sizeof(*k->ids));
}

/* Adds @count to the line spelled by the name ids @ids[0..@n). */
static int folder_add(struct folder *f, const uint32_t *ids, uint32_t n,
		      uint64_t count)
{
	uint32_t h = (uint32_t)htab__hash_bytes(ids, n * sizeof(*ids), 0);
	struct seq_key key = { ids, n };
	uint32_t idx = htab__find(&f->index, h, fline_eq, f, &key);

	if (idx != HTAB_NONE) {
		f->lines[idx].count += count;
		return 0;
	}
	if (array__grow((void **)&f->seqs, &f->cap_seqs, f->nseqs + n + 1,
			sizeof(*f->seqs), 65536) ||
	    array__grow((void **)&f->lines, &f->cap_lines, f->nlines + 1,
			sizeof(*f->lines), 1024))
		return -ENOMEM;
	f->lines[f->nlines] = (struct fline){ count, f->nseqs };
	if (htab__insert(&f->index, h, (uint32_t)f->nlines))
		return -ENOMEM;
	f->seqs[f->nseqs] = n;
	memcpy(f->seqs + f->nseqs + 1, ids, n * sizeof(*ids));
	f->nseqs += n + 1;
	f->nlines++;
	return 0;
}

/* The characters of a line, separators included, one at a time. */
struct line_iter {
	const char *const *names;
	const uint32_t *ids;
	uint32_t n, i;
	const char *p;
};

/* From the start of its frame @k (< its frame count). */
static void line_iter_init(struct line_iter *it, const struct folder *f,
			   const struct fline *l, uint32_t k)
{
	it->names = f->names.strs;
	it->n = f->seqs[l->seq];
	it->ids = f->seqs + l->seq + 1;
	it->i = k;
	it->p = it->names[it->ids[k]];
}

static int line_iter_next(struct line_iter *it)
{
	if (*it->p)
		return (unsigned char)*it->p++;
	if (it->i + 1 < it->n) {
		it->p = it->names[it->ids[++it->i]];
		return ';';
	}
	return -1;
}

/* The lines' order as strings. The frames both begin with are the same
 * bytes, separators included (deep stacks share hundreds of frames):
 * compared by id, the characters only from the first frame that differs. */
static int fline_cmp(const void *a, const void *b, void *ctx)
{
	const struct folder *f = ctx;
	const uint32_t *p = f->seqs + ((const struct fline *)a)->seq;
	const uint32_t *q = f->seqs + ((const struct fline *)b)->seq;
	uint32_t k = 0, n = p[0] < q[0] ? p[0] : q[0];
	struct line_iter x, y;

	while (k < n && p[1 + k] == q[1 + k])
		k++;
	if (k == n)	/* one is the other, or begins it: the shorter first */
		return p[0] == q[0] ? 0 : p[0] < q[0] ? -1 : 1;
	line_iter_init(&x, f, a, k);
	line_iter_init(&y, f, b, k);
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
	strintern__release(&f->names);
	free(f->seqs);
	free(f->lines);
	htab__release(&f->index);
}

/* Interns @name as the next id of a line. Returns 0 or -ENOMEM. */
static int name_id(struct folder *f, const char *name, uint32_t *id)
{
	int64_t v = strintern__intern(&f->names, name);

	if (v < 0)
		return (int)v;
	*id = (uint32_t)v;
	return 0;
}

/* The names of location @l's frames, leaf first, as ids into @f's
 * names, in @ids. */
static int location_ids(struct folder *f, const struct profile_location *l,
			const struct export_opts *o, uint32_t *ids)
{
	char buf[4096 + 8];
	int err = 0;

	for (uint32_t j = 0; j < l->nframes && !err; j++) {
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
		err = name_id(f, buf, &ids[j]);
	}
	return err;
}

/* Each location's frame names once, as ids: *@first[loc] is where
 * location loc's are in *@ids (stacks share locations: esbuild's deep
 * stacks, hundreds of frames each, share most of theirs). */
static int locations_ids(struct folder *f, const struct profile *p,
			 const struct export_opts *o, uint32_t **first,
			 uint32_t **ids)
{
	size_t total = 0;
	int err = 0;

	for (size_t i = 0; i < p->nlocations; i++)
		total += p->locations[i].nframes;
	if (total > UINT32_MAX)
		return -E2BIG;
	*first = malloc((p->nlocations + 1) * sizeof(**first));
	*ids = malloc((total + 1) * sizeof(**ids));
	if (!*first || !*ids)
		return -ENOMEM;
	total = 0;
	for (size_t i = 0; i < p->nlocations && !err; i++) {
		(*first)[i] = (uint32_t)total;
		err = location_ids(f, &p->locations[i], o, *ids + total);
		total += p->locations[i].nframes;
	}
	return err;
}

/* Each line built in a buffer from the names' lengths (measured once) and
 * written in one call: esbuild's 4 600 lines of ~50 frames are 9 MB, and
 * a stdio call per frame (its lock, its strlen) was a third of the time
 * of writing them. */
static int write_lines(const struct folder *f, FILE *out)
{
	size_t *len = malloc((f->names.len + 1) * sizeof(*len));
	char *line = NULL;
	size_t cap = 0;
	int err = 0;

	if (!len)
		return -ENOMEM;
	for (size_t i = 0; i < f->names.len; i++)
		len[i] = strlen(f->names.strs[i]);
	for (size_t i = 0; i < f->nlines && !err; i++) {
		const struct fline *l = &f->lines[i];
		const uint32_t *q = f->seqs + l->seq + 1;
		uint32_t n = f->seqs[l->seq];
		size_t need = 24, at = 0;

		if (!l->count)
			continue;
		for (uint32_t k = 0; k < n; k++)
			need += len[q[k]] + 1;
		if (need > cap) {
			char *grown = realloc(line, need);

			if (!grown) {
				err = -ENOMEM;
				break;
			}
			line = grown;
			cap = need;
		}
		for (uint32_t k = 0; k < n; k++) {
			if (k)
				line[at++] = ';';
			memcpy(line + at, f->names.strs[q[k]], len[q[k]]);
			at += len[q[k]];
		}
		at += (size_t)snprintf(line + at, cap - at, " %llu\n",
				       (unsigned long long)l->count);
		if (fwrite(line, 1, at, out) != at)
			err = -EIO;
	}
	free(line);
	free(len);
	return err;
}

int export__folded(const struct profile *p, const struct export_opts *o,
		   FILE *out)
{
	struct folder f = { 0 };
	uint32_t *ids = NULL, *loc_first = NULL, *loc_ids = NULL;
	size_t cap_ids = 0;
	char buf[4096 + 8];
	int err;

	err = locations_ids(&f, p, o, &loc_first, &loc_ids);

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
		err = name_id(&f, buf, &ids[0]);
		/* root first: the locations from the last, each one's frames
		 * from its last */
		for (uint32_t k = s->nlocs; k-- > 0 && !err;) {
			uint32_t loc = s->locs[k];
			const uint32_t *li = loc_ids + loc_first[loc];

			for (uint32_t j = p->locations[loc].nframes; j-- > 0;)
				ids[n++] = li[j];
		}
		if (!err)
			err = folder_add(&f, ids, n,
					 o && o->folded_weight ? s->weight
							       : s->count);
	}
	free(ids);
	free(loc_first);
	free(loc_ids);
	/* no lines (a recording with no sample): no array to sort */
	if (!err && f.nlines)
		qsort_r(f.lines, f.nlines, sizeof(*f.lines), fline_cmp, &f);
	if (!err)
		err = write_lines(&f, out);
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
int export__folded_gz(const struct profile *p, const struct export_opts *o,
		      FILE *f)
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
