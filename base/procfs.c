// SPDX-License-Identifier: MIT
/* Small readers of /proc and /sys, and the parser of /proc/PID/maps lines.
 * The maps text comes from a process that changes while it is read, and
 * fuzz/fuzz_maps.c feeds it anything: every scan is bounded by the line's
 * end, never by a NUL, and no number may wrap. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cgoprof/procfs.h"

#define PROCFS_PAGE 4096ULL
/* Larger than any maps or smaps file of a real process (a few MiB for
 * tens of thousands of mappings): past it, something is wrong. */
#define PROCFS_MAX_FILE (1UL << 30)

int procfs__read_int(const char *path)
{
	char buf[32] = "";
	FILE *f = fopen(path, "re");
	int v = -1;

	if (f) {
		if (fgets(buf, sizeof(buf), f))
			v = atoi(buf);
		fclose(f);
	}
	return v;
}

int procfs__read_file(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	size_t cap = 1 << 16, n = 0;
	char *b;

	if (fd < 0)
		return -errno;
	b = malloc(cap);
	while (b) {
		ssize_t r;

		/* one byte always spare, for the NUL */
		if (n + 1 == cap) {
			char *q = cap < PROCFS_MAX_FILE ? realloc(b, cap * 2)
							: NULL;

			if (!q) {
				err = -ENOMEM;
				break;
			}
			b = q;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			break;
		}
		if (!r)
			break;
		n += (size_t)r;
	}
	if (!b)
		err = -ENOMEM;
	close(fd);
	if (err) {
		free(b);
		return err;
	}
	b[n] = 0;
	*buf = b;
	*len = n;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A hex number at *p (before @end), "0x" allowed; advances *p. False: no
 * digit, or more than 64 bits. */
static bool scan_hex(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	int d;

	if (end - s > 2 && s[0] == '0' && s[1] == 'x')
		s += 2;
	if (s >= end || hex_digit(*s) < 0)
		return false;
	while (s < end && (d = hex_digit(*s)) >= 0) {
		if (x > (UINT64_MAX >> 4))
			return false;
		x = x << 4 | (uint64_t)d;
		s++;
	}
	*p = s;
	*v = x;
	return true;
}

static bool scan_dec(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	if (s >= end || *s < '0' || *s > '9')
		return false;
	while (s < end && *s >= '0' && *s <= '9') {
		uint64_t d = (uint64_t)(*s - '0');

		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
		s++;
	}
	*p = s;
	*v = x;
	return true;
}

static bool scan_char(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return false;
	(*p)++;
	return true;
}

static void skip_blanks(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
}

int procfs__parse_maps_line(const char *line, size_t len, struct procfs_map *m)
{
	const char *s = line, *end = line + len;
	uint64_t maj, min;

	memset(m, 0, sizeof(*m));
	if (!scan_hex(&s, end, &m->start) || !scan_char(&s, end, '-') ||
	    !scan_hex(&s, end, &m->end) || !scan_char(&s, end, ' '))
		return -EINVAL;
	if (end - s < 5 || s[4] != ' ')
		return -EINVAL;
	if ((s[0] != 'r' && s[0] != '-') || (s[1] != 'w' && s[1] != '-') ||
	    (s[2] != 'x' && s[2] != '-') || (s[3] != 'p' && s[3] != 's'))
		return -EINVAL;
	m->prot = (s[0] == 'r' ? PROT_READ : 0) |
		  (s[1] == 'w' ? PROT_WRITE : 0) |
		  (s[2] == 'x' ? PROT_EXEC : 0);
	m->shared = s[3] == 's';
	s += 5;
	if (!scan_hex(&s, end, &m->pgoff) || !scan_char(&s, end, ' ') ||
	    !scan_hex(&s, end, &maj) || !scan_char(&s, end, ':') ||
	    !scan_hex(&s, end, &min) || !scan_char(&s, end, ' ') ||
	    !scan_dec(&s, end, &m->ino))
		return -EINVAL;
	if (maj > UINT32_MAX || min > UINT32_MAX)
		return -EINVAL;
	m->major = (uint32_t)maj;
	m->minor = (uint32_t)min;
	/* the inode ends at a blank or at the end of the line */
	if (s < end && *s != ' ' && *s != '\t')
		return -EINVAL;
	skip_blanks(&s, end);
	if (m->start >= m->end || (m->start | m->end) % PROCFS_PAGE)
		return -EINVAL;
	m->name = s;
	m->name_len = (size_t)(end - s);
	return 0;
}

int procfs__parse_smaps_field(const char *line, size_t len,
			      struct procfs_field *f)
{
	const char *s = line, *end = line + len;

	memset(f, 0, sizeof(*f));
	while (s < end && (isalnum((unsigned char)*s) || *s == '_'))
		s++;
	if (s == line || !scan_char(&s, end, ':'))
		return -EINVAL;
	f->key = line;
	f->key_len = (size_t)(s - line - 1);
	skip_blanks(&s, end);
	if (s < end && *s >= '0' && *s <= '9') {
		if (!scan_dec(&s, end, &f->value))
			return -EINVAL;
		skip_blanks(&s, end);
		if (s != end && (end - s != 2 || memcmp(s, "kB", 2)))
			return -EINVAL;
		f->has_value = true;
	}
	return 0;
}

bool procfs__which(const char *cmd, char *out, size_t size)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	bool found = false;

	if (strchr(cmd, '/')) {
		snprintf(out, size, "%s", cmd);
		return !access(out, X_OK);
	}
	copy = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = copy ? strtok_r(copy, ":", &save) : NULL; dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, size, "%s/%s", *dir ? dir : ".", cmd);
		found = !access(out, X_OK);
	}
	free(copy);
	return found;
}

int procfs__kernel_thread(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long flags;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = 0;
	/* "pid (comm) state ppid pgrp session tty_nr tpgid flags ..." */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
		return -ESRCH;
	return (flags & 0x00200000UL) != 0;	/* PF_KTHREAD */
}
