// SPDX-License-Identifier: MIT
/* A second, independent unwinder for C frames: libunwind's remote API over
 * the sample's registers and stack copy (as perf's unwind-libunwind does),
 * with .eh_frame_hdr tables read from the binaries. It knows nothing of Go:
 * it stops at the first Go frame. Used as an oracle (--unwinder=compare)
 * and selectable with --unwinder=libunwind. Of the rest of the unwinder it
 * uses only the memory view (mem__read) and its backend interface. */
#include <errno.h>
#include <string.h>

#define UNW_REMOTE_ONLY
#include <libunwind.h>

#include "cgoprof/log.h"
#include "internal.h"

/* Not in libunwind's public headers; exported by it (perf declares it so). */
extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as,
					      unw_word_t ip,
					      unw_dyn_info_t *di,
					      unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);

struct lu_ctx {
	struct unwind_ctx *u;
	const struct regs *regs;
	struct elf_obj *obj;	/* of the last find_proc_info: its tables */
	uint64_t bias;
};

/* The .eh_frame_hdr section of @o: link-time address, or 0. */
static uint64_t eh_frame_hdr(struct elf_obj *o, uint32_t *fde_count)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	uint8_t hdr[12];

	if (elf_getshdrstrndx(o->elf, &shstrndx))
		return 0;
	while ((scn = elf_nextscn(o->elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(o->elf, shstrndx, sh.sh_name);
		if (!name || strcmp(name, ".eh_frame_hdr"))
			continue;
		/* version 1; eh_frame_ptr pcrel|sdata4; fde_count udata4;
		 * table datarel|sdata4: the usual encoding, the only one
		 * handled here */
		if (elf_obj__read(o, sh.sh_addr, hdr, sizeof(hdr)) ||
		    hdr[0] != 1 || hdr[2] != 0x03 || hdr[3] != 0x3b)
			return 0;
		memcpy(fde_count, hdr + 8, 4);
		return sh.sh_addr;
	}
	return 0;
}

static int lu_find_proc_info(unw_addr_space_t as, unw_word_t ip,
			     unw_proc_info_t *pi, int need_unwind_info,
			     void *arg)
{
	struct lu_ctx *c = arg;
	struct map *m = procmap__find(c->u->pm, c->u->proc, ip);
	unw_dyn_info_t di;
	uint32_t fde_count = 0;
	uint64_t hdr;

	if (!m || !m->obj)
		return -UNW_ENOINFO;
	hdr = eh_frame_hdr(m->obj, &fde_count);
	if (!hdr || !fde_count)
		return -UNW_ENOINFO;
	/* the tables may sit in a segment the process model does not track
	 * (read-only data): libunwind reads them through this object */
	c->obj = m->obj;
	c->bias = m->bias;
	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = m->start;
	di.end_ip = m->end;
	di.u.rti.segbase = hdr + m->bias;
	di.u.rti.table_data = hdr + m->bias + 12;
	di.u.rti.table_len = fde_count * 8 / sizeof(unw_word_t);
	return UNW_OBJ(dwarf_search_unwind_table)(as, ip, &di, pi,
						 need_unwind_info, arg);
}

static void lu_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi,
			       void *arg)
{
	(void)as;
	(void)pi;
	(void)arg;
}

static int lu_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *dil,
				     void *arg)
{
	(void)as;
	(void)dil;
	(void)arg;
	return -UNW_ENOINFO;
}

static int lu_access_mem(unw_addr_space_t as, unw_word_t addr,
			 unw_word_t *valp, int write, void *arg)
{
	struct lu_ctx *c = arg;
	uint64_t v;
	struct map *m;

	(void)as;
	if (write)
		return -UNW_EINVAL;
	if (mem__read(&c->u->mem, addr, &v)) {
		*valp = v;
		return 0;
	}
	/* unwind tables and code: from the binary */
	if (c->obj && !elf_obj__read(c->obj, addr - c->bias, &v, 8)) {
		*valp = v;
		return 0;
	}
	m = procmap__find(c->u->pm, c->u->proc, addr);
	if (m && m->obj && !elf_obj__read(m->obj, addr - m->bias, &v, 8)) {
		*valp = v;
		return 0;
	}
	return -UNW_EINVAL;
}

static int lu_access_reg(unw_addr_space_t as, unw_regnum_t reg,
			 unw_word_t *valp, int write, void *arg)
{
	struct lu_ctx *c = arg;

	(void)as;
	/* libunwind's x86-64 numbers are the DWARF ones (enum unwind_reg),
	 * UNW_X86_64_RIP = UNWIND_REG_IP */
	if (write || reg < 0 || reg >= NREGS ||
	    !(c->regs->valid & REG_BIT(reg)))
		return -UNW_EBADREG;
	*valp = c->regs->r[reg];
	return 0;
}

static int lu_access_fpreg(unw_addr_space_t as, unw_regnum_t reg,
			   unw_fpreg_t *val, int write, void *arg)
{
	(void)as;
	(void)reg;
	(void)val;
	(void)write;
	(void)arg;
	return -UNW_EINVAL;
}

static int lu_resume(unw_addr_space_t as, unw_cursor_t *cu, void *arg)
{
	(void)as;
	(void)cu;
	(void)arg;
	return -UNW_EINVAL;
}

static int lu_get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf,
			    size_t len, unw_word_t *offp, void *arg)
{
	(void)as;
	(void)addr;
	(void)buf;
	(void)len;
	(void)offp;
	(void)arg;
	return -UNW_EINVAL;
}

static unw_accessors_t lu_accessors = {
	.find_proc_info = lu_find_proc_info,
	.put_unwind_info = lu_put_unwind_info,
	.get_dyn_info_list_addr = lu_get_dyn_info_list_addr,
	.access_mem = lu_access_mem,
	.access_reg = lu_access_reg,
	.access_fpreg = lu_access_fpreg,
	.resume = lu_resume,
	.get_proc_name = lu_get_proc_name,
};

/* C frames from @regs until the first Go frame. */
static void libunwind_walk(struct unwind_ctx *u, const struct regs *regs)
{
	static __thread unw_addr_space_t as;
	struct unwind_result *r = u->r;
	struct lu_ctx c = { .u = u, .regs = regs };
	unw_cursor_t cursor;
	uint32_t flags = UNWIND_FRAME_LEAF;
	int ret;

	if (!as) {
		as = unw_create_addr_space(&lu_accessors, 0);
		if (!as) {
			r->status = STACK_TRUNCATED;
			r->reason = "libunwind: no address space";
			return;
		}
		unw_set_caching_policy(as, UNW_CACHE_NONE);
	}
	ret = unw_init_remote(&cursor, as, &c);
	if (ret) {
		r->status = STACK_TRUNCATED;
		r->reason = "libunwind: cannot start";
		return;
	}
	for (;;) {
		unw_word_t ip;
		struct map *m;

		if (unw_get_reg(&cursor, UNW_REG_IP, &ip) || !ip) {
			r->status = STACK_COMPLETE;
			return;
		}
		if (r->n >= CGOPROF_MAX_FRAMES) {
			r->status = STACK_TRUNCATED;
			r->reason = "depth limit";
			return;
		}
		m = procmap__find(u->pm, u->proc, flags ? ip : ip - 1);
		if (m && m->obj &&
		    elf_obj__is_go_pc(m->obj, (flags ? ip : ip - 1) - m->bias)) {
			r->status = STACK_TRUNCATED;
			r->reason = "libunwind stops at Go code";
			return;
		}
		r->frames[r->n++] = (struct unwind_frame){ ip, m, flags };
		flags = 0;
		ret = unw_step(&cursor);
		if (ret == 0) {
			r->status = STACK_COMPLETE;
			return;
		}
		if (ret < 0) {
			r->status = STACK_TRUNCATED;
			r->reason = "libunwind: no unwind info";
			return;
		}
	}
}

const struct unwind_backend_ops unwind_libunwind_backend = {
	.name = "libunwind",
	.walk = libunwind_walk,
};
