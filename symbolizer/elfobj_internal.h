/* Shared by the ELF cache's two files only (elfobj.c: opening, segments,
 * CFI; elfobj_sym.c: names). */
#ifndef CGOPROF_ELFOBJ_INTERNAL_H
#define CGOPROF_ELFOBJ_INTERNAL_H

#include <sys/types.h>

#include "cgoprof/elfobj.h"

/* Reports @o to libdwfl (its DWARF, CFI and the debug files libdwfl
 * finds) on first need; later calls say how that went. 0; -ENODATA for
 * the vdso's copy (read through libelf instead) or after a failure;
 * another -errno the first time it fails. */
int obj_dwfl(struct elf_obj *o);

/* elfobj_symidx.c: the index elf_obj__addrsym() searches. */
void sym_index__free(struct sym_index *x);
/* Sorts the @n elements of @size bytes at @base by the uint64_t each
 * starts with, stably (of one key, in the order they were in): a radix
 * sort, for the tables of a library's symbols and address ranges, where
 * qsort's calls of a comparison took milliseconds. 0 or -ENOMEM. */
int sort_by_u64_key(void *base, size_t n, size_t size);

/* elfobj_scopes.c: the function-like DIEs of @cu that hold @addr (a
 * CU-relative address, as dwarf_getscopes() takes it), innermost first:
 * the inlined instances, then the subprogram; at most @max. */
int obj_func_chain(struct elf_obj *o, Dwarf_Die *cu, Dwarf_Addr addr,
		   Dwarf_Die *chain, int max);
/* The unit that holds dwfl address @addr, and its bias: by
 * .debug_aranges, as dwfl_module_addrdie() finds it (libdwfl's search,
 * or the same search over the section read once without libdw's
 * allocation per entry); else by the units' own ranges, *@by_ranges set
 * (Go's linker writes .debug_aranges only for the objects that had one,
 * clang none). NULL: none. */
Dwarf_Die *obj_addrdie(struct elf_obj *o, Dwarf_Addr addr, Dwarf_Addr *bias,
		       bool *by_ranges);
void scope_index__free(struct scope_index *x);

/* elfobj_safe.c: files somebody else controls. */
/* Opens @path read-only without blocking (O_NONBLOCK), if it is a regular
 * file; its size in *@size. An fd or -errno. */
int safe_open(const char *path, uint64_t *size);
/* The most any compressed section of a file of @file_size bytes may
 * inflate to: max(64 MiB, 8x the file), or CGOPROF_DECOMPRESS_LIMIT. */
uint64_t decompress_budget(uint64_t file_size);
/* Hides from libelf and libdw every compressed section of @elf (ELF_C_READ)
 * that is corrupt or would inflate past the budget; one warning. */
void elf_guard(Elf *elf, const char *path, uint64_t file_size);
/* Whether the dynamic string table of @elf (PT_DYNAMIC's DT_STRTAB and
 * DT_STRSZ) ends in a NUL where it can be read. libdwfl reads the dynamic
 * symbols from there when @elf has no symbol table section, and hands out
 * their names as pointers into it, unbounded. */
bool elf_dynstr_terminated(Elf *elf);
/* @o's debug file, found where libdwfl looks (build id, debuginfod's
 * cache, .gnu_debuglink), opened safely and guarded; its fd in *@fdp.
 * NULL: none. */
Elf *debug_file__open(struct elf_obj *o, int *fdp);
/* elfobj_dbgcache.c: elf_guard() for @e (ELF_C_READ of @fd), whose
 * compressed .debug_* sections are first given their inflated bytes from
 * cgoprof's cache file for @key (a hex build id) where it has them
 * (mapped: *@map), else inflated (within the budget) and written there
 * for the next time. */
void dbg_cache__guard(Elf *e, int fd, const char *path, uint64_t file_size,
		      const char *key, struct dbg_map *map);
void dbg_map__free(struct dbg_map *map);
/* Notes in @map's cache file that libdw's walk of its units found no
 * split unit: later recordings need not walk them again. */
void dbg_map__set_units_safe(struct dbg_map *map);
/* Whether libdw may read @dw (of @o) without opening files itself; opens
 * its dwz file into @o. */
bool dwarf_safe(struct elf_obj *o, Dwarf *dw);

#endif
