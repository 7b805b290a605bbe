/* Exporters: write a resolved profile (profile.h) as folded stacks, pprof,
 * an SVG flame graph or a JSON summary, chosen through one registry of
 * formats (export/format.c). Borrows the profile; owns nothing past a
 * call. */
#ifndef CGOPROF_EXPORT_H
#define CGOPROF_EXPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "cgoprof/profile.h"

enum export_format {
	EXPORT_FOLDED = 0,
	EXPORT_PPROF,
	EXPORT_SVG,
	EXPORT_JSON,
	EXPORT_FOLDED_GZ,	/* folded, gzip-compressed (*.folded.gz) */
	EXPORT_FORMAT__COUNT,
};

struct export_opts {
	bool folded_pid;	/* root "comm-PID" */
	bool folded_tid;	/* root "comm-PID/TID" */
	bool folded_annotate;	/* "_[k]" kernel frames, "_[i]" inlined */
	bool folded_weight;	/* counts = sum of periods */
	bool icicle;		/* SVG: top-down */
	const char *title;	/* SVG title; NULL for a default */
};

/* Each writes the whole output to @f. Return 0 or -errno. */
typedef int (*export_write_fn)(const struct profile *p,
			       const struct export_opts *o, FILE *f);

/* One output format, as every command names and writes it. */
struct export_format_desc {
	enum export_format format;
	const char *name;		/* "folded", "pprof", "svg", "json",
					 * "folded.gz" */
	const char *const *suffixes;	/* the file names that select it,
					 * NULL-terminated */
	bool text;			/* a text file, not compressed data */
	export_write_fn write;
};

/* The registry's entry for @fmt, or NULL when @fmt is no format. */
const struct export_format_desc *export__format_desc(enum export_format fmt);

/* Format from a file name, by its longest matching suffix: *.pb.gz,
 * *.pprof, *.pb pprof; *.svg svg; *.json json; *.gz (*.folded.gz) gzipped
 * folded; everything else (*.folded, *.txt, and "-") folded. A command
 * asks "is this path JSON" as export__format_from_path(path) ==
 * EXPORT_JSON. */
enum export_format export__format_from_path(const char *path);

int export__folded(const struct profile *p, const struct export_opts *o,
		   FILE *f);
/* export__folded(), gzip-compressed (flamegraph.pl reads it via zcat). */
int export__folded_gz(const struct profile *p, const struct export_opts *o,
		      FILE *f);
int export__pprof(const struct profile *p, const struct export_opts *o,
		  FILE *f);
int export__svg(const struct profile *p, const struct export_opts *o,
		FILE *f);
/* Machine-readable summary: samples, lost, stack status shares, top frames
 * by kind. */
int export__json(const struct profile *p, const struct export_opts *o,
		 FILE *f);

/* The summary printed after a recording (samples, lost, stack status
 * shares and reasons, self time by frame kind). */
int export__summary_text(const struct profile *p, FILE *f);

/* Writes @s as a JSON string: quotes, backslashes and control characters
 * escaped. Shared by every JSON output. */
void export__json_string(FILE *f, const char *s);

/* Writes @path with @fn atomically: a temporary file in the same directory,
 * then rename(2); a device or pipe is written in place; "-" is stdout. @fn
 * returns 0 or -errno. Return 0 or -errno. */
int export__write_atomic(const char *path, int (*fn)(FILE *f, void *ctx),
			 void *ctx);

/* Writes @p to @path in the format its name selects
 * (export__format_from_path), atomically as export__write_atomic() does.
 * "-" writes folded stacks to stdout. Return 0 or -errno. */
int export__write_file(const struct profile *p, const struct export_opts *o,
		       const char *path);

/* Makes a frame name safe for folded output: ';' -> ':', newlines and
 * control characters -> '?', a trailing " <digits>" -> "_<digits>". Writes
 * at most @size bytes including the NUL into @buf; returns @buf. */
char *export__folded_name(const char *name, char *buf, size_t size);

#endif
