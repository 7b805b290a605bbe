// SPDX-License-Identifier: MIT
/* libFuzzer target: the input is a binary on disk, as a target process
 * maps it. It goes through the path a sample takes: elf_cache__open()
 * (through a /proc/self/fd path, as cgoprof opens /proc/PID/map_files),
 * elf_obj__cfi() and dwarf_cfi_addrframe() at a few addresses, the rules
 * for every register the unwinder restores, and elf_obj__symbolize(); and
 * the path cgoprof mem takes for a mapped file: elf_obj__is_go() and
 * mem_elf__image_end() for a mapping of each segment. The last 8-byte
 * words of the input choose addresses too. Build and run: make fuzz
 * (fuzz/fuzz.mk). */
#include <elfutils/libdw.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cgoprof/elfobj.h"
#include "cgoprof/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* DWARF register numbers of x86-64 the unwinder reads: rbx, rbp, rsp,
 * r12..r15 and the return address column. */
static const int dwarf_regs[] = {3, 6, 7, 12, 13, 14, 15, 16};

static int memfd = -1;
static char memfd_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* no cache of inflated DWARF in the user's directory: its files
	 * are fuzz_debugfile's to exercise */
	setenv("CGOPROF_CACHE_DIR", "", 1);
	memfd = memfd_create("cgoprof-fuzz-cfi", MFD_CLOEXEC);
	if (memfd < 0) {
		perror("memfd_create");
		exit(1);
	}
	snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d", memfd);
	return 0;
}

static void exercise_cfi(Dwarf_CFI *cfi, uint64_t vaddr)
{
	Dwarf_Frame *frame = NULL;
	Dwarf_Op *ops, dummy[3];
	size_t nops;

	if (!cfi || dwarf_cfi_addrframe(cfi, vaddr, &frame) || !frame)
		return;
	dwarf_frame_cfa(frame, &ops, &nops);
	for (size_t i = 0; i < sizeof(dwarf_regs) / sizeof(dwarf_regs[0]); i++)
		dwarf_frame_register(frame, dwarf_regs[i], dummy, &ops, &nops);
	dwarf_frame_info(frame, NULL, NULL, NULL);
	free(frame);
}

static void exercise_addr(struct elf_obj *o, uint64_t vaddr)
{
	struct sym_frame frames[16];
	uint64_t off, delta;
	int n;

	exercise_cfi(elf_obj__cfi(o, vaddr, true), vaddr);
	exercise_cfi(elf_obj__cfi(o, vaddr, false), vaddr);
	for (int leaf = 0; leaf < 2; leaf++) {
		n = elf_obj__symbolize(o, vaddr, leaf, frames, 16);
		for (int i = 0; i < n; i++) {
			free(frames[i].name);
			free(frames[i].file);
		}
	}
	elf_obj__is_go_pc(o, vaddr);
	elf_obj__in_plt(o, vaddr);
	/* a mapping of the page holding vaddr, executable or not */
	if (!elf_obj__vaddr_to_offset(o, vaddr, &off)) {
		elf_obj__map_bias(o, 0x2000, off & ~0xfffull, PROT_READ | PROT_EXEC,
				  &delta, NULL);
		elf_obj__map_bias(o, 0x1000, off & ~0xfffull, PROT_READ, &delta,
				  NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_cache *cache;
	struct elf_obj *o;
	struct go_func fn;
	uint8_t word[16];
	uint64_t pc;

	if (ftruncate(memfd, 0) ||
	    pwrite(memfd, data, size, 0) != (ssize_t)size)
		return 0;
	cache = elf_cache__new();
	if (!cache)
		return 0;
	/* a path that exists nowhere: no debug file is found for it */
	o = elf_cache__open(cache, memfd_path, "/nonexistent/cgoprof-fuzz/obj",
			    1, 1);
	if (!o)
		goto out;
	if (o->entry)
		exercise_addr(o, o->entry);
	for (size_t i = 0; i < o->nloads && i < 4; i++) {
		const GElf_Phdr *ph = &o->loads[i];

		exercise_addr(o, ph->p_vaddr);
		exercise_addr(o, ph->p_vaddr + ph->p_memsz / 2);
		if (ph->p_memsz)
			exercise_addr(o, ph->p_vaddr + ph->p_memsz - 1);
	}
	for (size_t i = 0; i < 4 && size >= 8 * (i + 1); i++) {
		uint64_t span = 0;

		memcpy(&pc, data + size - 8 * (i + 1), 8);
		/* mostly inside the loaded image */
		if (o->nloads)
			span = o->loads[o->nloads - 1].p_vaddr +
			       o->loads[o->nloads - 1].p_memsz -
			       o->loads[0].p_vaddr + 1;
		if (span && !(pc >> 63))
			pc = o->loads[0].p_vaddr + pc % span;
		exercise_addr(o, pc);
	}
	if (o->go) {
		exercise_addr(o, o->go_lo);
		exercise_addr(o, o->go_lo + (o->go_hi - o->go_lo) / 2);
		elf_obj__go_func(o, "runtime.asmcgocall", &fn);
	}
	if (o->nloads)
		elf_obj__read(o, o->loads[0].p_vaddr, word, sizeof(word));
	/* cgoprof mem: is it Go, and where does the image of a mapping of
	 * each segment's first page end (the bss rule) */
	elf_obj__is_go(o);
	for (size_t i = 0; i < o->nloads && i < 4; i++) {
		struct mem_vma v = {
			.start = 0x7f0000000000,
			.end = 0x7f0000002000,
			.pgoff = o->loads[i].p_offset & ~0xfffull,
			.prot = PROT_READ | PROT_WRITE,
			.name = (char *)"/nonexistent/cgoprof-fuzz/obj",
		};

		mem_elf__image_end(o, &v);
	}
	/* the same file again: the cache must hand out the same object */
	if (elf_cache__open(cache, memfd_path, "/nonexistent/cgoprof-fuzz/obj",
			    1, 1) != o)
		abort();
out:
	elf_cache__free(cache);
	return 0;
}
