/* cgoprof audit's outputs: the text report (a terminal screen, largest
 * first), the JSON (README: its keys), the comparison of two binaries, the
 * one-line summary; and the reader of a baseline JSON. Writers to a
 * FILE *; they borrow the reports. */
#ifndef CGOPROF_AUDIT_REPORT_H
#define CGOPROF_AUDIT_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "cgoprof/audit.h"

/* Each returns 0 or -EIO. */
int audit_report__text(const struct audit_report *r, FILE *f);
/* One object, one top-level key a line (audit_baseline__parse reads it). */
int audit_report__json(const struct audit_report *r, FILE *f);
/* @n reports: one object when @n is 1, else an array of them. */
int audit_report__json_list(struct audit_report *const *r, size_t n, FILE *f);
/* A and B side by side: B - A per size part, per Go package, the cgo
 * packages and the linkage that differ. */
int audit_report__compare_text(const struct audit_report *a,
			       const struct audit_report *b, FILE *f);
/* {"a": A, "b": B, "delta": {part: B - A}} */
int audit_report__compare_json(const struct audit_report *a,
			       const struct audit_report *b, FILE *f);
/* One line: "audit: PATH: SIZE bytes go1.26.8 dynamic glibc>=2.34
 * cgo=net,os/user findings=0 error, 1 warning". */
int audit_report__summary(const struct audit_report *r, FILE *f);

/* What a gate compares with: one binary of an earlier JSON. */
struct audit_baseline {
	char *path;
	uint64_t size;
	uint64_t parts[AUDIT_PART__COUNT];
};
/* Reads the reports of a JSON that audit_report__json(_list) wrote
 * (@len bytes at @text; other JSON is refused). 0, -EINVAL, -ENOMEM.
 * Caller frees with audit_baseline__free(*@out, *@n). */
int audit_baseline__parse(const char *text, size_t len,
			  struct audit_baseline **out, size_t *n);
void audit_baseline__free(struct audit_baseline *b, size_t n);

#endif
