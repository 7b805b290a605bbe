/* cgoprof mem's reports: the table for people and the JSON summary (peak
 * and last snapshots, fault counts), and the list of segments of -vv.
 * Writers to a FILE *, beside the profile exporters; they borrow
 * everything. */
#ifndef CGOPROF_MEM_REPORT_H
#define CGOPROF_MEM_REPORT_H

#include <stdio.h>
#include <sys/types.h>

#include "cgoprof/mem.h"

struct mem_report {
	pid_t pid;
	const char *command;	/* JSON: the command line, or "pid N" */
	const char *title;	/* table: "memhog (pid 12)" */
	unsigned snapshots;	/* at least 1 */
	double interval;	/* seconds between snapshots */
	const struct mem_totals *peak, *last;
	/* NULL without --faults; else also the samples lost */
	const struct mem_fault_counts *faults;
	uint64_t lost;
};

/* The table: peak and last by category, what each rests on, the largest
 * libraries, and with faults their counts. 0 or -EIO. */
int mem_report__text(const struct mem_report *r, FILE *f);
/* The JSON summary (docs/mem.md). 0 or -EIO. */
int mem_report__json(const struct mem_report *r, FILE *f);
/* Writes the JSON summary to @path atomically (export__write_atomic). 0 or
 * -errno. */
int mem_report__write_json(const struct mem_report *r, const char *path);
/* Every segment of @c with its mapping of @m: range, permissions, size,
 * the mapping's Rss, category, basis and name. 0 or -EIO. */
int mem_report__segments(const struct mem_maps *m, const struct mem_class *c,
			 FILE *f);

#endif
