/* The few kernel types a BPF object's CO-RE relocations read, cut out of
 * the kernel's BTF into a BTF of their own, for libbpf's btf_custom_path:
 * libbpf would otherwise parse the whole of it (5 MB, 125 000 types) at
 * every load. Only the members asked for are kept, at their offsets. */
#ifndef CGOPROF_BTF_MIN_H
#define CGOPROF_BTF_MIN_H

#include <stddef.h>

/* One member a relocation reads: struct @type's member @member (found
 * in anonymous members too). A member whose type is a struct must name
 * a struct of the list; pointers keep no pointee, integers their size. */
struct btf_min_field {
	const char *type;
	const char *member;
};

/* A raw BTF of the structs of @fields (@n), from the BTF at @path (NULL:
 * /sys/kernel/btf/vmlinux), in a new memfd: its fd in *@fd, for
 * "/proc/self/fd/N". 0 or -errno (-ENOENT: a type or member is not
 * there, -ENOTSUP: one is not of a kind kept here, -EINVAL: the file is
 * not BTF as read here). */
int btf_min__build(const char *path, const struct btf_min_field *fields,
		   size_t n, int *fd);
/* The same, from the running kernel's BTF, as a path for libbpf's
 * bpf_object_open_opts.btf_custom_path: "/proc/self/fd/N" in @path (of
 * @size bytes), N in *@fd, to close once the object is loaded. 0 or
 * -errno (then libbpf is to read the kernel's BTF itself). Kept in the
 * cache directory (cgoprof/cache.h) for the boot: the next call reads it
 * there (checked by its CRC-32) rather than cutting it again. */
int btf_min__custom_path(const struct btf_min_field *fields, size_t n,
			 char *path, size_t size, int *fd);

#endif
