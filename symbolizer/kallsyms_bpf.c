// SPDX-License-Identifier: MIT
/* Kernel addresses in BPF programs, named from the kernel's account of
 * its loaded programs (bpf_prog_info) rather than from /proc/kallsyms,
 * which lists them last: naming one there means the kernel writing all
 * 120 000 lines (40-50 ms of its CPU on a 2-CPU VM). Samples land in
 * programs whenever the sampled thread runs one: a tracepoint's
 * (cgoprof's own, at each fork), a cgroup's socket filters (systemd's,
 * at each packet).
 *
 * The name is the one the kernel gives the program's function in
 * /proc/kallsyms (bpf_get_prog_name(), kernel/bpf/core.c, since 5.0):
 * "bpf_prog_" and the function's tag in hex, then "_" and its name from
 * the program's BTF where it has one, else "_" and the program's own
 * name (15 characters at most), else nothing. A function's range is its
 * JIT address and length. What cannot be named exactly this way (a
 * program without BTF made of several functions, trampolines,
 * dispatchers, modules) is left to the file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "kallsyms_internal.h"

/* A program's functions read at most; the kernel's limit is 256. */
#define KB_MAX_FUNCS 256
/* Programs looked at at most: a bound on a hostile machine's count. */
#define KB_MAX_PROGS 65536
#define KB_TAG_SIZE 8	/* BPF_TAG_SIZE */

struct kb_funcs {
	uint64_t addr[KB_MAX_FUNCS];
	uint32_t len[KB_MAX_FUNCS];
	uint8_t tag[KB_MAX_FUNCS][KB_TAG_SIZE];
	struct bpf_func_info fi[KB_MAX_FUNCS];
};

/* The name of function @i of the program @info (its arrays in @f), as
 * the kernel names it; NULL if it cannot be told exactly. */
static char *func_name(const struct bpf_prog_info *info,
		       const struct kb_funcs *f, uint32_t i)
{
	char tag[2 * KB_TAG_SIZE + 1], *out = NULL;
	const char *name = NULL;
	struct btf *btf = NULL;

	if (i >= info->nr_prog_tags)
		return NULL;
	for (int b = 0; b < KB_TAG_SIZE; b++)
		snprintf(tag + 2 * b, 3, "%02x", f->tag[i][b]);
	if (info->nr_func_info > i) {
		const struct btf_type *t;

		btf = btf__load_from_kernel_by_id(info->btf_id);
		t = btf ? btf__type_by_id(btf, f->fi[i].type_id) : NULL;
		name = t ? btf__name_by_offset(btf, t->name_off) : NULL;
		if (!name)
			goto out;
	} else if (info->nr_jited_ksyms == 1) {
		name = info->name[0] ? info->name : NULL;
	} else {
		goto out;	/* a function of no known name */
	}
	if (asprintf(&out, "bpf_prog_%s%s%s", tag, name ? "_" : "",
		     name ? name : "") < 0)
		out = NULL;
out:
	btf__free(btf);
	return out;
}

/* Names the wanted addresses of @want (not yet named) that are in one of
 * the program @fd's functions: the count, or -ENOMEM. */
static int name_in_prog(int fd, const uint64_t *want, size_t n, char **names,
			uint64_t *starts, struct kb_funcs *f)
{
	struct bpf_prog_info info;
	uint32_t size = sizeof(info), nf, nfi;
	int named = 0;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &size))
		return 0;
	nf = info.nr_jited_ksyms < KB_MAX_FUNCS ? info.nr_jited_ksyms
						: KB_MAX_FUNCS;
	nfi = info.nr_func_info < KB_MAX_FUNCS ? info.nr_func_info
					       : KB_MAX_FUNCS;
	if (!nf || (nfi && info.func_info_rec_size !=
				   sizeof(struct bpf_func_info)))
		return 0;
	memset(&info, 0, sizeof(info));
	info.nr_jited_ksyms = nf;
	info.jited_ksyms = (uint64_t)(uintptr_t)f->addr;
	info.nr_jited_func_lens = nf;
	info.jited_func_lens = (uint64_t)(uintptr_t)f->len;
	info.nr_prog_tags = nf;
	info.prog_tags = (uint64_t)(uintptr_t)f->tag;
	info.nr_func_info = nfi;
	info.func_info_rec_size = sizeof(struct bpf_func_info);
	info.func_info = (uint64_t)(uintptr_t)f->fi;
	size = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &size))
		return 0;
	/* the counts are the kernel's: what it wrote is the lesser */
	if (info.nr_jited_ksyms < nf || info.nr_jited_func_lens < nf)
		return 0;
	info.nr_jited_ksyms = nf;
	if (info.nr_prog_tags > nf)
		info.nr_prog_tags = nf;
	if (info.nr_func_info > nfi)
		info.nr_func_info = nfi;
	for (uint32_t i = 0; i < nf; i++) {
		uint64_t lo = f->addr[i], hi = lo + f->len[i];
		char *name = NULL;

		if (!lo || hi <= lo)
			continue;	/* addresses hidden (kptr_restrict) */
		for (size_t j = 0; j < n; j++) {
			if (want[j] < lo || want[j] >= hi || names[j])
				continue;
			if (!name && !(name = func_name(&info, f, i)))
				break;
			names[j] = strdup(name);
			if (!names[j]) {
				free(name);
				return -ENOMEM;
			}
			starts[j] = lo;
			named++;
		}
		free(name);
	}
	return named;
}

int kallsyms_bpf__name(const uint64_t *want, size_t n, char **names,
		       uint64_t *starts)
{
	struct kb_funcs *f;
	uint32_t id = 0;
	size_t named = 0;

	if (!n)
		return 0;
	f = malloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	for (int progs = 0; named < n && progs < KB_MAX_PROGS; progs++) {
		int fd, got;

		if (bpf_prog_get_next_id(id, &id))
			break;	/* the last one, or not allowed */
		fd = bpf_prog_get_fd_by_id(id);
		if (fd < 0)
			continue;	/* unloaded meanwhile */
		got = name_in_prog(fd, want, n, names, starts, f);
		close(fd);
		if (got < 0) {
			free(f);
			return got;
		}
		named += (size_t)got;
	}
	free(f);
	return (int)named;
}
