// SPDX-License-Identifier: MIT
/* libFuzzer target: the input is an ELF image (in memory, as elf_memory()
 * sees it) that cgoprof audit reads: audit__elf() must report on it or
 * refuse it, every read inside the image, the parts adding up to its size;
 * go_buildinfo__read() and elf_linkage__read() alone; and the same bytes
 * as an ld.so.cache and as module information text. Build and run: make
 * fuzz (fuzz/fuzz.mk). */
#include <gelf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/audit.h"
#include "cgoprof/buildinfo.h"
#include "cgoprof/linkage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	elf_version(EV_CURRENT);
	return 0;
}

static void audit_image(const uint8_t *data, size_t size)
{
	struct audit_opts opts = {.max_glibc = "2.17", .no_cgo = true};
	struct audit_report *r;
	struct go_buildinfo bi = {0};
	struct elf_linkage l = {0};
	char *image;
	Elf *elf;

	/* libelf may convert in place: give it its own writable copy */
	image = malloc(size ? size : 1);
	if (!image)
		return;
	memcpy(image, data, size);
	elf = elf_memory(image, size);
	if (!elf)
		goto out;
	if (!go_buildinfo__read(elf, &bi))
		go_buildinfo__setting(&bi, "CGO_ENABLED");
	go_buildinfo__release(&bi);
	elf_linkage__read(elf, &l);
	elf_linkage__release(&l);
	r = calloc(1, sizeof(*r));
	if (r && !audit__elf(elf, size, &opts, r)) {
		uint64_t sum = 0;

		for (int i = 0; i < AUDIT_PART__COUNT; i++)
			sum += r->parts[i];
		if (sum != size)
			abort(); /* the parts must add up to the file */
	}
	audit_report__free(r);
	elf_end(elf);
out:
	free(image);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct go_buildinfo bi = {0};
	struct ldso_cache *c;

	audit_image(data, size);
	c = ldso_cache__parse(data, size);
	if (c) {
		ldso_cache__lookup(c, "libc.so.6");
		ldso_cache__lookup(c, "libsqlite3.so.0");
	}
	ldso_cache__free(c);
	go_buildinfo__parse_modinfo((const char *)data, size, &bi);
	go_buildinfo__release(&bi);
	return 0;
}
