/* Readers of /proc and /sys files: small, bounded, no state. The bottom
 * layer: every other layer may use them. The maps line parser is the one
 * every reader of /proc/PID/maps and smaps goes through (the process model,
 * cgoprof mem). */
#ifndef CGOPROF_PROCFS_H
#define CGOPROF_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The integer at the start of a one-line file (a PMU's type, a sysctl),
 * or -1 when it cannot be read. */
int procfs__read_int(const char *path);

/* The whole of @path, read until EOF into *@buf (malloc'd, NUL-terminated
 * after *@len bytes; the caller frees it). /proc files have no size to
 * ask for: read until a read returns 0. 0 or -errno (-ENOMEM past 1 GiB);
 * *@buf is untouched on error. */
int procfs__read_file(const char *path, char **buf, size_t *len);

/* One line of /proc/PID/maps, or the line that starts a mapping in
 * /proc/PID/smaps: "start-end perms offset major:minor inode [name]". */
struct procfs_map {
	uint64_t start, end, pgoff, ino;
	uint32_t major, minor;
	uint32_t prot;		/* PROT_* */
	bool shared;		/* 's' rather than 'p' */
	const char *name;	/* into the line, not NUL-terminated: the rest
				 * of the line after the blanks that follow the
				 * inode ("" for anonymous memory) */
	size_t name_len;
};

/* Parses @line, @len bytes without its newline (no NUL needed, and a NUL
 * is no terminator: it is a malformed byte). 0, or -EINVAL when it is not
 * such a line: a field missing or malformed, a number too large for its
 * field, permissions other than [r-][w-][x-][ps], start >= end, or start
 * or end not a multiple of 4 KiB. */
int procfs__parse_maps_line(const char *line, size_t len, struct procfs_map *m);

/* A counter line of /proc/PID/smaps: "Key:   123 kB" (or "Key: 123", or a
 * key with no number, as "VmFlags: rd mr"). */
struct procfs_field {
	const char *key;	/* into the line, not NUL-terminated */
	size_t key_len;
	bool has_value;		/* a number, alone or followed by "kB" */
	uint64_t value;		/* as written: kB where the unit is kB */
};

/* Parses @line (@len bytes, no newline) as a counter line. 0, or -EINVAL:
 * no "key:" ([A-Za-z0-9_]+ then ':'), a number that overflows, or a
 * number followed by anything but "kB". */
int procfs__parse_smaps_field(const char *line, size_t len,
			      struct procfs_field *f);

/* @cmd as execvp would find it (a name with a '/' as it is, else the
 * first executable file of that name in $PATH), into @out. Whether there
 * is one. */
bool procfs__which(const char *cmd, char *out, size_t size);

/* Whether @pid is a kernel thread (PF_KTHREAD in /proc/PID/stat's flags):
 * 1 or 0, or -ESRCH when there is no such process. */
int procfs__kernel_thread(int pid);

#endif
