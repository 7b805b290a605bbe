/* Exporters: write a resolved profile (profile.h) as folded stacks, pprof,
 * an SVG flame graph or a JSON summary, chosen through one registry of
 * formats (export/format.c), and cgoprof coldstart's series (coldstart.h)
 * as its table and JSON. Borrows what it writes; owns nothing past a call
 * but a folded_merge's lines. */
#ifndef CGOPROF_EXPORT_H
#define CGOPROF_EXPORT_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

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

/* Format from a file name, strictly: as export__format_from_path(), but
 * -ENOENT for a suffix no format has ("x.png"); a name without a dot is
 * folded. 0 or -ENOENT, *@fmt set either way. */
int export__format_lookup(const char *path, enum export_format *fmt);

/* Whether @path can take an output ("-" is stdout): 0, or -EINVAL (empty),
 * -ENAMETOOLONG (it or its temporary file's name is too long for the file
 * system), -EISDIR, -ENOTSUP (it exists and is no regular file, nor a
 * symlink to one, nor /dev/null: a FIFO, a device, a socket; *@type its
 * S_IFMT), -ENOMEM. What it is is checked, not whether it may be written. */
int export__check_path(const char *path, mode_t *type);

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
 * then rename(2) over the name (a symlink is replaced, not followed);
 * /dev/null is written in place, any other path export__check_path()
 * refuses is refused with its error; "-" is stdout. @fn
 * returns 0 or -errno. Return 0 or -errno. */
int export__write_atomic(const char *path, int (*fn)(FILE *f, void *ctx),
			 void *ctx);

/* Writes @p to @path in the format its name selects
 * (export__format_from_path), atomically as export__write_atomic() does.
 * "-" writes folded stacks to stdout. Return 0 or -errno. */
int export__write_file(const struct profile *p, const struct export_opts *o,
		       const char *path);

/* ---- cgoprof coldstart's outputs (export/coldstart_report.c) ---- */

/* The folded stacks of many profiles, equal stacks summed: coldstart's runs
 * merged into one output. Zeroed to start; owns its strings. */
struct folded_merge {
	struct folded_merge_line {
		char *stack;	/* "comm;root;...;leaf", no count */
		uint64_t count;
	} *lines;		/* sorted by stack, each stack once */
	size_t n, cap;
};

/* Adds the folded lines of @p (export__folded, default options). 0 or
 * -errno. */
int folded_merge__add(struct folded_merge *m, const struct profile *p);
/* "stack count" lines. 0 or -EIO. */
int folded_merge__write(const struct folded_merge *m, FILE *f);
void folded_merge__release(struct folded_merge *m);

struct coldstart_series;

/* What cgoprof coldstart writes: the runs of one command (A), or of two
 * side by side (B the second), and the folded stacks of A's runs merged.
 * Borrows everything. */
struct coldstart_report {
	const struct coldstart_series *a;
	const struct coldstart_series *b;	/* NULL: no comparison */
	const struct folded_merge *folded;	/* NULL: none */
};

/* The table of A: each phase's median, p90, min and max, page faults and
 * on-CPU time by leaf kind; with B, the medians and p90s of both and B - A
 * per phase. 0 or -EIO. */
int export__coldstart_text(const struct coldstart_report *r, FILE *f);
/* The phase summary as JSON (the schema is in docs/coldstart.md), B under
 * "compare". 0 or -EIO. */
int export__coldstart_json(const struct coldstart_report *r, FILE *f);
/* Writes @path atomically in the format its name says
 * (export__format_from_path): json the summary, folded (and "-") the
 * merged folded stacks, any other the latest run of A in that format.
 * 0, -ENODATA when A has no run, or -errno. */
int export__coldstart_write(const struct coldstart_report *r,
			    const char *path);

/* Makes a frame name safe for folded output: ';' -> ':', newlines and
 * control characters -> '?', a trailing " <digits>" -> "_<digits>". Writes
 * at most @size bytes including the NUL into @buf; returns @buf. */
char *export__folded_name(const char *name, char *buf, size_t size);

#endif
