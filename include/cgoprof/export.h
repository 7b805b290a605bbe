/* Exporters: write a resolved profile (profile.h) as folded stacks, pprof or
 * an SVG flame graph. Borrows the profile; owns nothing past a call. */
#ifndef CGOPROF_EXPORT_H
#define CGOPROF_EXPORT_H

#include <stdio.h>
#include "cgoprof/profile.h"

enum export_format {
	EXPORT_FOLDED = 0,
	EXPORT_PPROF,
	EXPORT_SVG,
	EXPORT_JSON,
	EXPORT_FOLDED_GZ,	/* folded, gzip-compressed (*.folded.gz) */
};

struct export_opts {
	bool folded_pid;	/* root "comm-PID" */
	bool folded_tid;	/* root "comm-PID/TID" */
	bool folded_annotate;	/* "_[k]" kernel frames, "_[i]" inlined */
	bool folded_weight;	/* counts = sum of periods */
	bool icicle;		/* SVG: top-down */
	const char *title;	/* SVG title; NULL for a default */
};

/* Format from a file name: *.pb.gz|*.pprof pprof, *.svg svg, *.json json,
 * everything else (and "-") folded. */
enum export_format export__format_from_path(const char *path);

/* Each writes the whole output to @f. Return 0 or -errno. */
int export__folded(const struct profile *p, const struct export_opts *o,
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

/* Writes @path atomically: a temporary file in the same directory, then
 * rename(2). "-" writes to stdout. Return 0 or -errno. */
int export__write_file(const struct profile *p, const struct export_opts *o,
		       const char *path);

/* Makes a frame name safe for folded output: ';' -> ':', newlines and
 * control characters -> '?', a trailing " <digits>" -> "_<digits>". Writes
 * at most @size bytes including the NUL into @buf; returns @buf. */
char *export__folded_name(const char *name, char *buf, size_t size);

#endif
