/* Shared by the ELF cache's two files only (elfobj.c: opening, segments,
 * CFI; elfobj_sym.c: names). */
#ifndef CGOPROF_ELFOBJ_INTERNAL_H
#define CGOPROF_ELFOBJ_INTERNAL_H

#include "cgoprof/elfobj.h"

/* Reports @o to libdwfl (its DWARF, CFI and the debug files libdwfl
 * finds) on first need; later calls say how that went. 0; -ENODATA for
 * the vdso's copy (read through libelf instead) or after a failure;
 * another -errno the first time it fails. */
int obj_dwfl(struct elf_obj *o);

#endif
