// SPDX-License-Identifier: MIT
/* The output formats: one table of names, file suffixes and writers that
 * every command goes through, and the atomic file writer they share. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgoprof/export.h"
#include "internal.h"

static const char *const folded_suffixes[] = { ".folded", ".txt", NULL };
static const char *const folded_gz_suffixes[] = { ".folded.gz", ".gz", NULL };
static const char *const pprof_suffixes[] = { ".pb.gz", ".pprof", ".pb", NULL };
static const char *const svg_suffixes[] = { ".svg", NULL };
static const char *const json_suffixes[] = { ".json", NULL };

static const struct export_format_desc formats[EXPORT_FORMAT__COUNT] = {
	[EXPORT_FOLDED] = {
		.format = EXPORT_FOLDED,
		.name = "folded",
		.suffixes = folded_suffixes,
		.text = true,
		.write = export__folded,
	},
	[EXPORT_PPROF] = {
		.format = EXPORT_PPROF,
		.name = "pprof",
		.suffixes = pprof_suffixes,
		.write = export__pprof,
	},
	[EXPORT_SVG] = {
		.format = EXPORT_SVG,
		.name = "svg",
		.suffixes = svg_suffixes,
		.text = true,
		.write = export__svg,
	},
	[EXPORT_JSON] = {
		.format = EXPORT_JSON,
		.name = "json",
		.suffixes = json_suffixes,
		.text = true,
		.write = export__json,
	},
	[EXPORT_FOLDED_GZ] = {
		.format = EXPORT_FOLDED_GZ,
		.name = "folded.gz",
		.suffixes = folded_gz_suffixes,
		.write = export__folded_gz,
	},
};

const struct export_format_desc *export__format_desc(enum export_format fmt)
{
	if ((unsigned int)fmt >= EXPORT_FORMAT__COUNT)
		return NULL;
	return &formats[fmt];
}

enum export_format export__format_from_path(const char *path)
{
	enum export_format best = EXPORT_FOLDED;
	size_t n = strlen(path), best_len = 0;

	/* the longest suffix wins: "x.pb.gz" is pprof, "x.folded.gz" and
	 * any other "x.gz" gzipped folded stacks */
	for (int f = 0; f < EXPORT_FORMAT__COUNT; f++) {
		for (const char *const *s = formats[f].suffixes; *s; s++) {
			size_t len = strlen(*s);

			if (len > best_len && n >= len &&
			    !strcmp(path + n - len, *s)) {
				best = (enum export_format)f;
				best_len = len;
			}
		}
	}
	return best;
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
	const struct export_format_desc *fmt;
};

static int export_job_write(FILE *f, void *ctx)
{
	struct export_job *j = ctx;

	return j->fmt->write(j->p, j->o, f);
}

int export__write_file(const struct profile *p, const struct export_opts *o,
		       const char *path)
{
	struct export_job j = {
		.p = p,
		.o = o,
		/* stdout always gets folded */
		.fmt = export__format_desc(strcmp(path, "-")
					 ? export__format_from_path(path)
					 : EXPORT_FOLDED),
	};

	return export__write_atomic(path, export_job_write, &j);
}

int export__flush(FILE *f)
{
	if (fflush(f))
		return -errno;
	return ferror(f) ? -EIO : 0;
}
