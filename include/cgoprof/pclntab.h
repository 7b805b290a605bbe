/* Go's .gopclntab: function table, pcsp (frame size at every PC), file:line
 * and inline tree, for the 1.16, 1.18 and 1.20+ formats (Go 1.26 included).
 * Borrows the libelf handle and its data while open; every read is bounds
 * checked (binaries come from other people's containers). */
#ifndef CGOPROF_PCLNTAB_H
#define CGOPROF_PCLNTAB_H

#include <gelf.h>
#include <stdbool.h>
#include <stdint.h>

struct pclntab;

/* Pclntab format, from the header magic. */
enum pclntab_format {
	PCLNTAB_GO116 = 116,	/* 0xfffffffa: Go 1.16, 1.17 */
	PCLNTAB_GO118 = 118,	/* 0xfffffff0: Go 1.18, 1.19 */
	PCLNTAB_GO120 = 120,	/* 0xfffffff1: Go 1.20 and later */
};

/* _func.flag bits */
#define CGOPROF_GO_FUNCFLAG_TOPFRAME 0x1
#define CGOPROF_GO_FUNCFLAG_SPWRITE 0x2
#define CGOPROF_GO_FUNCFLAG_ASM 0x4

struct go_func {
	uint64_t entry;		/* link-time virtual address */
	uint64_t end;		/* entry of the next function */
	const char *name;	/* borrowed, valid until pclntab__free() */
	uint32_t flag;		/* CGOPROF_GO_FUNCFLAG_* */
	uint32_t index;		/* position in the function table (internal) */
	uint32_t cu;		/* compilation unit (one per Go package) */
	/* C code of a host object that Go's linker linked itself (a program
	 * whose only cgo is the standard library's: net, os/user): it is in
	 * the table by name, without pcsp, file or line tables, and is
	 * unwound as the C it is (no .eh_frame either: by its prologue) */
	bool host;
	bool runtime;		/* its name begins "runtime." */
};

struct go_frame {
	const char *name;	/* borrowed, valid until pclntab__free() */
	const char *file;	/* borrowed; NULL when unknown */
	uint32_t line;		/* 0 when unknown */
	bool inlined;		/* inlined into the next entry */
};

/* Finds the pclntab of @elf: section .gopclntab or .data.rel.ro.gopclntab,
 * symbol runtime.pclntab, or a scan of the read-only PT_LOAD segments
 * (stripped PIE). Text start from the header, or from moduledata when the
 * header has none (Go 1.26). Returns NULL and sets errno: ENODATA when the
 * binary has no pclntab, EINVAL when it is malformed, ENOMEM. Caller frees
 * with pclntab__free(). @elf must outlive the result. */
struct pclntab *pclntab__new(Elf *elf);
/* The same, with the data sections read from @fd (the file @elf was
 * opened on, ELF_C_READ) into one buffer of the table's own, in huge
 * pages where the system gives them, rather than by libelf; -1 is
 * pclntab__new(). Nothing is read through elf_rawfile(). */
struct pclntab *pclntab__new_fd(Elf *elf, int fd);
void pclntab__free(struct pclntab *tab);

enum pclntab_format pclntab__format(const struct pclntab *tab);

/* Link-time range [lo, hi) of the Go text the table covers. */
void pclntab__text_range(const struct pclntab *tab, uint64_t *lo,
			 uint64_t *hi);

/* Function containing link-time address @pc. 0, or -ENOENT when no
 * function covers @pc, -EINVAL when the entry is malformed. */
int pclntab__find_func(const struct pclntab *tab, uint64_t pc,
		       struct go_func *fn);

/* Number of functions in the table. */
uint32_t pclntab__nfuncs(const struct pclntab *tab);
/* The function in slot @i (< pclntab__nfuncs()), in address order, as
 * pclntab__find_func() fills it. 0, or -EINVAL when the entry is
 * malformed. */
int pclntab__func_by_index(const struct pclntab *tab, uint32_t i,
			   struct go_func *fn);
/* Where the table lies: link-time @vaddr and @size in bytes, from its
 * pcHeader to the end of its last _func record (a table found by a scan
 * ends there, not at the end of the section that holds it). */
void pclntab__extent(const struct pclntab *tab, uint64_t *vaddr,
		     uint64_t *size);

/* Frame size (the pcsp value: bytes between SP and the return address) at
 * @pc, which lies inside @fn. For a return address pass the call's pc
 * (ret - 1). 0 or -EINVAL. */
int pclntab__sp_delta(const struct pclntab *tab, const struct go_func *fn,
		      uint64_t pc, int32_t *delta);

/* Source frames at @pc inside @fn, innermost (inlined) first, the function
 * itself last. Returns how many were written (at most @max, >= 1 when @max
 * >= 1 and the function is valid) or -EINVAL. Names have no ABI suffix. */
int pclntab__frames(const struct pclntab *tab, const struct go_func *fn,
		    uint64_t pc, struct go_frame *frames, int max);

/* Go version from .go.buildinfo ("go1.26.8") into @buf. 0, -ENODATA when
 * there is none, -EINVAL when malformed, -ERANGE when @size is too small. */
int go_buildinfo__version(Elf *elf, char *buf, size_t size);
/* The same, from the regions @tab was found in (none read again). */
int pclntab__go_version(const struct pclntab *tab, char *buf, size_t size);

#endif
