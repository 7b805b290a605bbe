/* cgoprof's cache directory: files made from what does not change within
 * a boot (the core kernel's symbols, the kernel types the BPF programs
 * read), so that each recording need not make them again. Only the
 * caller's own directory and files, writable by nobody else, are used. */
#ifndef CGOPROF_CACHE_H
#define CGOPROF_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cache_opts {
	const char *dir;	/* the cache's directory; NULL: no cache */
	char boot_id[40];	/* the boot its files are for */
	char dir_buf[4096];
};

/* The directory (CGOPROF_CACHE_DIR; else $XDG_CACHE_HOME/cgoprof, else
 * $HOME/.cache/cgoprof; an empty CGOPROF_CACHE_DIR: none) and the running
 * kernel's boot id; o->dir NULL when there is no cache. */
void cache_opts__default(struct cache_opts *o);

/* The directory @dir, opened if it is the caller's own and writable by
 * nobody else; with @create, made first (0700) where its parent is the
 * caller's or root's. -1 if not. */
int cache__open_dir(const char *dir, bool create);
/* File @name of the directory @dfd, opened for reading if it is a regular
 * file (no symlink followed), the caller's own and writable by nobody
 * else; its size in *@size. -1 if not. */
int cache__open_file(int dfd, const char *name, uint64_t *size);
/* Writes the @n buffers @bufs (@lens bytes each) as file @name of @dfd,
 * atomically (a temporary file renamed over it), mode 0600. 0 or -errno. */
int cache__write_file(int dfd, const char *name, const void *const *bufs,
		      const size_t *lens, size_t n);
/* Removes the files of @dfd of other boots: those whose names start with
 * @prefix not followed by @boot_id. */
void cache__remove_stale(int dfd, const char *prefix, const char *boot_id);
/* pread of all @len bytes at @off: false on error or end of file. */
bool cache__pread(int fd, void *buf, size_t len, uint64_t off);

#endif
