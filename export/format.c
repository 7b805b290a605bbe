// SPDX-License-Identifier: MIT
/* The output formats: one table of names, file suffixes and writers that
 * every command goes through, and the atomic file writer they share. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cgoprof/export.h"
#include "internal.h"

/* stdio's buffer for the files written (export__write_atomic) */
#define WRITE_BUFFER (1 << 20)

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
	enum export_format f;

	/* the longest suffix wins: "x.pb.gz" is pprof, "x.folded.gz" and
	 * any other "x.gz" gzipped folded stacks; the rest folded */
	export__format_lookup(path, &f);
	return f;
}

int export__format_lookup(const char *path, enum export_format *fmt)
{
	const char *base = strrchr(path, '/');
	size_t n = strlen(path), best_len = 0;

	*fmt = EXPORT_FOLDED;
	for (int f = 0; f < EXPORT_FORMAT__COUNT; f++) {
		for (const char *const *s = formats[f].suffixes; *s; s++) {
			size_t len = strlen(*s);

			if (len > best_len && n >= len &&
			    !strcmp(path + n - len, *s)) {
				*fmt = (enum export_format)f;
				best_len = len;
			}
		}
	}
	/* a name without a dot is folded stacks; any other suffix must
	 * be one of the table's */
	base = base ? base + 1 : path;
	return best_len || !strchr(base, '.') ? 0 : -ENOENT;
}

/* The temporary file beside the output: "<path>.tmp.XXXXXX". */
#define TMP_SUFFIX ".tmp.XXXXXX"

static bool is_null_device(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 3);
}

int export__check_path(const char *path, mode_t *type)
{
	const char *base = strrchr(path, '/');
	struct stat st;
	long name_max = -1;

	*type = 0;
	if (!strcmp(path, "-"))
		return 0;
	if (!*path)
		return -EINVAL;
	if (strlen(path) + sizeof(TMP_SUFFIX) > PATH_MAX)
		return -ENAMETOOLONG;
	if (base) {
		char *dir = strndup(path, (size_t)(base - path) + 1);

		if (!dir)
			return -ENOMEM;
		name_max = pathconf(dir, _PC_NAME_MAX);
		free(dir);
		base++;
	} else {
		name_max = pathconf(".", _PC_NAME_MAX);
		base = path;
	}
	if (name_max <= 0)
		name_max = NAME_MAX;
	if (strlen(base) + sizeof(TMP_SUFFIX) - 1 > (size_t)name_max)
		return -ENAMETOOLONG;
	/* what the name is, a symlink followed: a regular file or nothing
	 * (the rename replaces the name, the link itself), or the null
	 * device (written in place) */
	if (stat(path, &st))
		return 0;
	*type = st.st_mode & S_IFMT;
	if (S_ISREG(st.st_mode) || is_null_device(&st))
		return 0;
	return S_ISDIR(st.st_mode) ? -EISDIR : -ENOTSUP;
}

int export__write_atomic(const char *path, int (*fn)(FILE *f, void *ctx),
			 void *ctx)
{
	struct stat st;
	char *tmp, *buf;
	FILE *f;
	mode_t type;
	int fd, err;

	if (!strcmp(path, "-")) {
		err = fn(stdout, ctx);
		if (!err && fflush(stdout))
			err = -errno;
		return err;
	}
	/* Never a FIFO, a device or a directory (a FIFO would block the
	 * open, a device be written or replaced): only /dev/null is
	 * written in place. */
	err = export__check_path(path, &type);
	if (err)
		return err;
	if (!stat(path, &st) && is_null_device(&st)) {
		/* opened without blocking and checked again: the name may
		 * have been swapped for a FIFO since */
		fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (fstat(fd, &st) || !is_null_device(&st) ||
		    !(f = fdopen(fd, "w"))) {
			close(fd);
			return -ENOTSUP;
		}
		err = fn(f, ctx);
		if (fclose(f) && !err)
			err = -errno;
		return err;
	}
	if (asprintf(&tmp, "%s" TMP_SUFFIX, path) < 0)
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
	/* megabytes for deep stacks (esbuild's folded: 6 MB): written in
	 * 1 MiB writes, not in the file's 4 KiB blocks (a system call each,
	 * a tenth of the folded export's time); stdio's own buffer when
	 * there is no memory for this one (glibc sizes its own by the file) */
	buf = malloc(WRITE_BUFFER);
	if (buf)
		setvbuf(f, buf, _IOFBF, WRITE_BUFFER);
	err = fn(f, ctx);
	if (!err && (ferror(f) || fflush(f)))
		err = -EIO;
	if (!err && fsync(fileno(f)))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	free(buf);
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
