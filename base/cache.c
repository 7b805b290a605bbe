// SPDX-License-Identifier: MIT
/* cgoprof's cache directory (include/cgoprof/cache.h). Files are opened
 * with O_NOFOLLOW relative to a directory opened and checked first, so a
 * path swapped after the check is never followed; written to a temporary
 * name and renamed, so that a reader sees a whole file or none. As root
 * under a user's $HOME (sudo keeps it on some systems) the directory is
 * the user's, and there is no cache rather than files a user could
 * choose. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgoprof/cache.h"

/* Reads the boot id (36 characters) into @out; false if there is none. */
static bool read_boot_id(char out[40])
{
	int fd = open("/proc/sys/kernel/random/boot_id",
		      O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (fd < 0)
		return false;
	memset(out, 0, 40);
	got = read(fd, out, 39);
	close(fd);
	if (got < 32)
		return false;
	out[strcspn(out, "\n")] = 0;
	return strlen(out) >= 32 && !strchr(out, '/');
}

/* Whether @st is the caller's and writable by nobody else. */
static bool own(const struct stat *st)
{
	return st->st_uid == geteuid() && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

void cache_opts__default(struct cache_opts *o)
{
	const char *env = getenv("CGOPROF_CACHE_DIR"), *base;
	int k;

	memset(o, 0, sizeof(*o));
	if (env) {
		if (!*env)
			return;	/* switched off */
		k = snprintf(o->dir_buf, sizeof(o->dir_buf), "%s", env);
	} else if ((base = getenv("XDG_CACHE_HOME")) && *base == '/') {
		k = snprintf(o->dir_buf, sizeof(o->dir_buf), "%s/cgoprof",
			     base);
	} else if ((base = getenv("HOME")) && *base == '/') {
		k = snprintf(o->dir_buf, sizeof(o->dir_buf),
			     "%s/.cache/cgoprof", base);
	} else {
		return;
	}
	if (k <= 0 || (size_t)k >= sizeof(o->dir_buf) ||
	    !read_boot_id(o->boot_id))
		return;
	o->dir = o->dir_buf;
}

int cache__open_dir(const char *dir, bool create)
{
	struct stat st;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && create) {
		char parent[4096];
		char *slash;

		snprintf(parent, sizeof(parent), "%s", dir);
		slash = strrchr(parent, '/');
		if (slash && slash != parent) {
			*slash = 0;
			/* ~/.cache itself, if missing, as XDG says: 0700 */
			if (mkdir(parent, 0700) && errno != EEXIST)
				return -1;
			/* not made in a directory of somebody else's (a
			 * user's $HOME under sudo); /tmp is root's */
			if (stat(parent, &st) ||
			    (st.st_uid != geteuid() && st.st_uid != 0))
				return -1;
		}
		if (mkdir(dir, 0700) && errno != EEXIST)
			return -1;
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISDIR(st.st_mode) || !own(&st)) {
		close(fd);
		return -1;
	}
	return fd;
}

int cache__open_file(int dfd, const char *name, uint64_t *size)
{
	struct stat st;
	int fd = openat(dfd, name,
			O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !own(&st)) {
		close(fd);
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

bool cache__pread(int fd, void *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t got = pread(fd, buf, len, (off_t)off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return false;
		buf = (char *)buf + got;
		len -= (size_t)got;
		off += (uint64_t)got;
	}
	return true;
}

static bool write_all(int fd, const void *buf, size_t len)
{
	while (len) {
		ssize_t got = write(fd, buf, len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return false;
		buf = (const char *)buf + got;
		len -= (size_t)got;
	}
	return true;
}

int cache__write_file(int dfd, const char *name, const void *const *bufs,
		      const size_t *lens, size_t n)
{
	char tmp[256];
	bool ok = true;
	int fd, err = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.%d", name,
			     (int)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
			      O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; ok && i < n; i++)
		ok = write_all(fd, bufs[i], lens[i]);
	if (!ok)
		err = errno ? -errno : -EIO;
	if (close(fd) && !err)
		err = -errno;
	if (!err && renameat(dfd, tmp, dfd, name))
		err = -errno;
	if (err)
		unlinkat(dfd, tmp, 0);
	return err;
}

void cache__remove_stale(int dfd, const char *prefix, const char *boot_id)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	size_t plen = strlen(prefix), blen = strlen(boot_id);

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, plen) &&
		    strncmp(e->d_name + plen, boot_id, blen))
			unlinkat(dfd, e->d_name, 0);
	closedir(d);
}
