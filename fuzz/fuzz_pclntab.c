// SPDX-License-Identifier: MIT
/* libFuzzer target: the input is an ELF image, read two ways: in memory,
 * as elf_memory() sees it (pclntab__new), and as a file, as the profiler
 * opens binaries (pclntab__new_fd on a memfd: its sections read into one
 * buffer of its own). Each must reject it or give a table on which every
 * lookup stays inside what was read. Build and run: make fuzz
 * (fuzz/fuzz.mk). */
#include <gelf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cgoprof/pclntab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Reads every byte of a string the table handed out: ASan sees it. */
static size_t touch(const char *s)
{
	return s ? strlen(s) : 0;
}

/* Every entry point at @pc. */
static void exercise_pc(const struct pclntab *tab, uint64_t pc)
{
	struct go_frame frames[8];
	struct go_func fn;
	int32_t delta;
	int n;

	if (pclntab__find_func(tab, pc, &fn))
		return;
	touch(fn.name);
	pclntab__sp_delta(tab, &fn, pc, &delta);
	n = pclntab__frames(tab, &fn, pc, frames, 8);
	for (int i = 0; i < n; i++) {
		touch(frames[i].name);
		touch(frames[i].file);
	}
	/* the entry itself and the last byte of the function */
	pclntab__sp_delta(tab, &fn, fn.entry, &delta);
	pclntab__frames(tab, &fn, fn.end - 1, frames, 1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	elf_version(EV_CURRENT);
	return 0;
}

/* Every lookup on @tab: its ends, points inside, pcs the input @data
 * chooses, and a walk over its first functions. */
static void exercise_tab(struct pclntab *tab, const uint8_t *data, size_t size)
{
	uint64_t lo, hi, pc;

	pclntab__format(tab);
	pclntab__text_range(tab, &lo, &hi);
	exercise_pc(tab, lo);
	exercise_pc(tab, hi - 1);
	exercise_pc(tab, lo + (hi - lo) / 2);
	exercise_pc(tab, lo + (hi - lo) / 3);
	exercise_pc(tab, hi);
	exercise_pc(tab, lo - 1);
	/* pcs the input chooses: its last 8-byte words */
	for (size_t i = 0; i < 4 && size >= 8 * (i + 1); i++) {
		memcpy(&pc, data + size - 8 * (i + 1), 8);
		exercise_pc(tab, lo + pc % (hi - lo + 1));
	}
	/* a walk over the first functions, as elf_obj__go_func does */
	pc = lo;
	for (int i = 0; i < 64 && pc < hi; i++) {
		struct go_func fn;

		if (pclntab__find_func(tab, pc, &fn) || fn.end <= pc)
			break;
		exercise_pc(tab, pc);
		pc = fn.end;
	}
}

/* The input as a file (memfd), opened with ELF_C_READ: the table read
 * from the descriptor, and its Go version. */
static void from_file(const uint8_t *data, size_t size)
{
	struct pclntab *tab;
	char version[64];
	size_t done = 0;
	Elf *elf;
	int fd = memfd_create("fuzz-pclntab", MFD_CLOEXEC);

	if (fd < 0)
		return;
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);

		if (n <= 0)
			goto out;
		done += (size_t)n;
	}
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf)
		goto out;
	tab = pclntab__new_fd(elf, fd);
	if (tab) {
		pclntab__go_version(tab, version, sizeof(version));
		pclntab__go_version(tab, version, 4); /* -ERANGE path */
		exercise_tab(tab, data, size);
		pclntab__free(tab);
	}
	elf_end(elf);
out:
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pclntab *tab;
	char version[64];
	char *image;
	Elf *elf;

	from_file(data, size);
	/* libelf may convert in place: give it its own writable copy */
	image = malloc(size ? size : 1);
	if (!image)
		return 0;
	memcpy(image, data, size);
	elf = elf_memory(image, size);
	if (!elf)
		goto out;
	go_buildinfo__version(elf, version, sizeof(version));
	go_buildinfo__version(elf, version, 4); /* -ERANGE path */
	tab = pclntab__new(elf);
	if (tab) {
		exercise_tab(tab, data, size);
		pclntab__free(tab);
	}
	elf_end(elf);
out:
	free(image);
	return 0;
}
