// SPDX-License-Identifier: MIT
/* libFuzzer target: an object and its debug file, both hostile. The input
 * is a 4-byte little-endian length N, the object's N bytes, then the debug
 * file's bytes (none: no debug file). They are written to DIR/obj and
 * DIR/obj.debug (the name the seeds' .gnu_debuglink gives), and go through
 * what a sample's symbolization takes: elf_cache__open(), the debug file
 * found beside it (build id or CRC checked), every compressed section sized
 * against the budget (SHF_COMPRESSED, .zdebug_*, .gnu_debugdata's xz; the
 * budget is 1 MiB here, CGOPROF_DECOMPRESS_LIMIT, so bombs stay cheap),
 * libdwfl's symbols and DWARF, .debug_frame, and the cache of inflated
 * DWARF (elfobj_dbgcache.c) in a directory of its own. Build and run: make fuzz
 * (fuzz/fuzz.mk); seeds from fuzz/seeds.sh. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgoprof/elfobj.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[] = "/tmp/cgoprof-fuzz-debugfile-XXXXXX";
static char obj_path[256], dbg_path[256], cache_path[256];

static void cleanup(void)
{
	DIR *d = opendir(cache_path);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(cache_path);
	unlink(obj_path);
	unlink(dbg_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(obj_path, sizeof(obj_path), "%s/obj", dir);
	snprintf(dbg_path, sizeof(dbg_path), "%s/obj.debug", dir);
	/* the cache of inflated DWARF: written, then read back, as the
	 * same build ids come again */
	snprintf(cache_path, sizeof(cache_path), "%s/cache", dir);
	setenv("CGOPROF_CACHE_DIR", cache_path, 1);
	atexit(cleanup);
	setenv("CGOPROF_DECOMPRESS_LIMIT", "1M", 1);
	unsetenv("DEBUGINFOD_URLS");
	return 0;
}

static int write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, p, n) == (ssize_t)n;
	close(fd);
	return ok ? 0 : -1;
}

static void exercise_addr(struct elf_obj *o, uint64_t vaddr)
{
	struct sym_frame frames[16];
	int n;

	for (int leaf = 0; leaf < 2; leaf++) {
		n = elf_obj__symbolize(o, vaddr, leaf, frames, 16);
		for (int i = 0; i < n; i++) {
			free(frames[i].name);
			free(frames[i].file);
		}
	}
	elf_obj__cfi_covers(o, vaddr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_cache *cache;
	struct elf_obj *o;
	uint32_t n;

	if (size < 4)
		return 0;
	memcpy(&n, data, 4);
	data += 4;
	size -= 4;
	if (n > size)
		n = (uint32_t)size;
	if (write_file(obj_path, data, n))
		return 0;
	if (size > n) {
		if (write_file(dbg_path, data + n, size - n))
			return 0;
	} else {
		unlink(dbg_path);
	}
	cache = elf_cache__new();
	if (!cache)
		return 0;
	o = elf_cache__open(cache, obj_path, obj_path, 1, 1);
	if (o) {
		if (o->entry)
			exercise_addr(o, o->entry);
		for (size_t i = 0; i < o->nloads && i < 4; i++) {
			const GElf_Phdr *ph = &o->loads[i];

			exercise_addr(o, ph->p_vaddr + ph->p_memsz / 2);
			if (ph->p_memsz)
				exercise_addr(o, ph->p_vaddr + ph->p_memsz - 1);
		}
		for (size_t i = 0; i < 2 && n >= 8 * (i + 1); i++) {
			uint64_t pc;

			memcpy(&pc, data + n - 8 * (i + 1), 8);
			if (o->nloads)
				pc = o->loads[0].p_vaddr + pc % 0x100000;
			exercise_addr(o, pc);
		}
	}
	elf_cache__free(cache);
	return 0;
}
