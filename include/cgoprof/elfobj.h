/* Binaries: an ELF object cache keyed by build id (else dev+inode), with
 * libdw CFI, libdwfl symbols (symtab, MiniDebugInfo, debuglink, build-id
 * debug files, DWARF inline frames) and the Go pclntab. Owns every object. */
#ifndef CGOPROF_ELFOBJ_H
#define CGOPROF_ELFOBJ_H

#include <elfutils/libdw.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdint.h>

#include "cgoprof/pclntab.h"
#include "cgoprof/profile.h"

enum obj_class {
	OBJ_OTHER = 0,
	OBJ_LIBC,	/* libc, libm, libpthread, libdl, librt */
	OBJ_LDSO,	/* the dynamic loader */
	OBJ_VDSO,
};

/* A debug file's inflated DWARF, mapped from cgoprof's cache
 * (elfobj_dbgcache.c); addr NULL: none. */
struct dbg_map {
	void *addr;
	size_t len;
	/* every .debug_* section is the cache's: libdw's walk of its units
	 * found no split unit before (units_safe), or may say so */
	bool whole, units_safe;
	uint64_t dev, ino;	/* the cache file mapped, named so */
	char name[104];
};

struct elf_obj {
	char *path;		/* as mapped in the target */
	const char *base;	/* basename of path */
	char build_id[96];	/* hex; GNU build id, else Go build id */
	uint64_t dev, ino;
	int fd;			/* read with pread only: a file that shrinks
				 * gives errors, never SIGBUS */
	uint64_t file_size;	/* at open (fstat) */
	Elf *elf;		/* ELF_C_READ: libelf preads too */
	void *image;		/* vdso bytes (owned), else NULL */
	const uint8_t *raw;	/* the vdso's copy, else NULL */
	size_t raw_size;
	struct obj_pages *pages;	/* elf_obj__read's cache of file pages */
	enum obj_class cls;
	GElf_Phdr *loads;	/* PT_LOAD headers */
	size_t nloads;
	uint64_t entry;		/* e_entry: where a process starts */

	/* lazily loaded */
	bool dwfl_tried, cfi_tried, dbg_cfi_tried;
	struct Dwfl *dwfl;
	struct Dwfl_Module *mod;
	uint64_t mod_bias;	/* dwfl address = vaddr + mod_bias */
	int dbg_fd;		/* the debug file libdwfl reads as the module
				 * (elfobj_safe.c), else -1 */
	bool dynstr_bad;	/* libdwfl's ELF has a dynamic string table
				 * without its final NUL: no names from it */
	bool dwarf_tried, dwarf_ok;	/* DWARF usable without libdw
					 * opening files itself */
	Dwarf *alt_dw;		/* the dwz file, opened by cgoprof */
	Elf *alt_elf;
	int alt_fd;
	struct dbg_map dbg_map, alt_map;	/* their cached DWARF */
	Dwarf_CFI *eh_cfi, *dbg_cfi;
	bool cus_tried;
	struct obj_cu *cus;	/* CU ranges by address, when .debug_aranges
				 * misses some (clang objects in a Go link) */
	size_t ncus;
	bool syms_tried;
	struct sym_index *syms;	/* elf_obj__addrsym()'s, on first need */
	uint64_t syms_asked;	/* its lookups left to libdwfl's search */
	struct scope_index *scopes;	/* DWARF units' top-level DIEs, by
					 * address (elfobj_scopes.c) */
	uint64_t scopes_asked;	/* inline chains left to libdw's walk */
	uint64_t units_asked;	/* units by address left to libdwfl */
	bool no_scope_index;	/* units and chains from libdw (tests) */
	struct pclntab *go;	/* NULL: not Go, or no pclntab found */
	bool go_sections;	/* has .go.buildinfo, .gopclntab or
				 * .note.go.buildid */
	uint64_t go_lo, go_hi;	/* Go text, link-time vaddrs */
	char go_version[32];
	/* Go runtime facts the unwinder needs, found once (elf_obj__go_rt) */
	bool go_rt_tried;
	uint64_t go_cgocall_ret;	/* after cgocall's CALL asmcgocall; 0 */
	bool go_cb_tried;
	uint64_t go_crosscall2_ret;	/* after crosscall2's CALL cgocallback */
	bool go_tls_tried;
	int32_t go_g_tls;	/* g's slot, fs-relative; 0: not found */
	bool plt_tried;
	unsigned nplt;
	uint64_t plt[4][2];	/* .plt, .plt.sec, .plt.got ranges */
};

struct elf_cache;

/* The next section after *@scn (NULL: from the first) whose type is in
 * @types (a mask of 1u << SHT_*), with all of @flags (SHF_*), fixed-size
 * entries and data: its data, *@scn and *@sh set; NULL after the last.
 * For the walks of symbol and relocation tables. */
Elf_Data *elf__next_table(Elf *elf, Elf_Scn **scn, GElf_Shdr *sh,
			  uint32_t types, uint64_t flags);

/* Caller frees with elf_cache__free(). NULL and errno on failure. */
struct elf_cache *elf_cache__new(void);
void elf_cache__free(struct elf_cache *c);

/* Object for the file at @open_path (e.g. /proc/PID/map_files/A-B), known
 * to the target as @path, with the mapping's @dev and @ino (0 if unknown).
 * Borrowed, valid until elf_cache__free(). NULL and errno: the file cannot
 * be opened or is not ELF. */
struct elf_obj *elf_cache__open(struct elf_cache *c, const char *open_path,
				const char *path, uint64_t dev, uint64_t ino);
/* The vdso of this kernel (the same image in every process). */
struct elf_obj *elf_cache__vdso(struct elf_cache *c);

/* For a mapping of @len bytes of the file from @pgoff with PROT_* @prot:
 * the PT_LOAD it maps, as @delta such that link-time vaddr = address -
 * mapping start - @delta (bias = start + @delta). 0 or -ENOENT. *
 * @seg_end (may be NULL): the link-time end of that segment (p_vaddr +
 * p_memsz): the loader reserves a whole image with its first segment's
 * permissions before it maps the others over it, so a mapping's start
 * and pgoff say which segment it is, not how far it goes. */
int elf_obj__map_bias(const struct elf_obj *o, uint64_t len, uint64_t pgoff,
		      uint32_t prot, uint64_t *delta, uint64_t *seg_end);
/* Whether @o is a Go program: its pclntab was found, or it has a section
 * only Go's linker writes (.go.buildinfo, .gopclntab, .note.go.buildid:
 * kept by -s -w). */
bool elf_obj__is_go(const struct elf_obj *o);
/* Whether link-time @vaddr is Go code described by the pclntab. */
bool elf_obj__is_go_pc(struct elf_obj *o, uint64_t vaddr);
/* CFI for @vaddr: .eh_frame first, then .debug_frame. NULL when none. */
Dwarf_CFI *elf_obj__cfi(struct elf_obj *o, uint64_t vaddr, bool eh);
/* Whether any CFI of @o (.eh_frame or .debug_frame) has an FDE for
 * link-time @vaddr. */
bool elf_obj__cfi_covers(struct elf_obj *o, uint64_t vaddr);

/* Frames at link-time @vaddr, innermost first (inlined callees first).
 * @is_leaf: @vaddr is the sampled ip, else a return address (looked up at
 * vaddr - 1). Names and files are interned in @strs... (see symbolize.h).
 * Returns the number of frames written (>= 1 when a name was found, 0 when
 * the address has no symbol) or -errno. */
struct sym_frame {
	char *name;	/* caller frees */
	char *file;	/* caller frees; may be NULL */
	uint32_t line;
	enum frame_kind kind;
	bool inlined;
};
int elf_obj__symbolize(struct elf_obj *o, uint64_t vaddr, bool is_leaf,
		       struct sym_frame *frames, int max);

/* The ELF symbol dwfl_module_addrinfo() gives for dwfl address @addr
 * (vaddr + mod_bias) of @o's module, through an index of its symbols
 * built on first use: its name (NULL: none, no module, or a dynamic
 * string table that does not end in a NUL), *@off from its start and the
 * symbol itself. */
const char *elf_obj__addrsym(struct elf_obj *o, uint64_t addr, uint64_t *off,
			     GElf_Sym *sym);

/* The ELF function symbol (.symtab, else .dynsym) holding link-time
 * @vaddr: its start and size. 0 or -ENOENT (none, or one without a
 * size). */
int elf_obj__func_range(struct elf_obj *o, uint64_t vaddr, uint64_t *start,
			uint64_t *size);

/* The Go function named @name (a linear scan: once per binary). 0,
 * -ENODATA not Go, -ENOENT no such function. */
int elf_obj__go_func(struct elf_obj *o, const char *name, struct go_func *fn);
/* File offset of link-time @vaddr. 0 or -ENOENT. */
int elf_obj__vaddr_to_offset(const struct elf_obj *o, uint64_t vaddr,
			     uint64_t *off);
/* Whether link-time @vaddr is in a PLT section. */
bool elf_obj__in_plt(struct elf_obj *o, uint64_t vaddr);
/* Reads @len bytes of the file at link-time @vaddr. 0 or -errno. */
int elf_obj__read(struct elf_obj *o, uint64_t vaddr, void *buf, size_t len);

/* Where Go code of @o finds its g: the thread pointer (fs) plus *@off, as
 * its instructions say (MOVQ FS:off, R14; -8 when runtime.tlsg is the
 * executable's only TLS variable, another offset where C code linked in
 * has TLS of its own, as static glibc does). Found once. -ENOENT: not Go,
 * or its code does not tell. */
int elf_obj__go_g_tls(struct elf_obj *o, int32_t *off);

/* Kind of a frame named @name in an object of class @cls, Go or not. */
enum frame_kind frame_kind__classify(const char *name, enum obj_class cls,
				     bool is_go);

#endif
