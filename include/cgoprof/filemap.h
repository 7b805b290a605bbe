/* A file somebody else controls, mapped to be read in place (base/filemap.c):
 * no copy of its bytes, no fresh page to zero for them, and safe to read
 * whatever happens to the file meanwhile. A page the file no longer has
 * (it was truncated) reads as zeroes instead of raising SIGBUS, and a
 * page of zeroes follows the mapping, so that a string read from it ends
 * there at the latest. Bytes can still change under the reader (the file
 * written in place): the reader must check what it reads where it uses
 * it, as it does a hostile file's bytes. */
#ifndef CGOPROF_FILEMAP_H
#define CGOPROF_FILEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct filemap {
	const uint8_t *bytes;	/* the file's byte at the offset asked for */
	void *map;		/* the mapping (NULL: none) */
	size_t len;		/* its length, the page of zeroes included */
	int slot;
};

/* Maps @len bytes of @fd (a regular file) from @off, read-only, into @m.
 * 0, or -errno: -ENOSPC when CGOPROF_FILEMAP_SLOTS mappings are in use
 * already (the caller reads the file instead). Puts a SIGBUS handler in
 * place (again, where the program has put another since); it passes any
 * other SIGBUS on to the one it replaced. */
int filemap__map(struct filemap *m, int fd, uint64_t off, size_t len);
/* Unmaps @m (nothing when it has no mapping). */
void filemap__unmap(struct filemap *m);
/* Whether a read of @m found a page the file no longer has. */
bool filemap__shrank(const struct filemap *m);

#define CGOPROF_FILEMAP_SLOTS 256

#endif
