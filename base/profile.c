// SPDX-License-Identifier: MIT
/* The resolved profile as a model: frame kind names and the memory of a
 * profile. A profile and everything it points to come from one arena,
 * freed at once by profile__free(). */
#include <errno.h>
#include <stdlib.h>

#include "cgoprof/arena.h"
#include "cgoprof/profile.h"

static const char *const kind_names[FRAME_KIND__COUNT] = {
	[FRAME_KIND_UNKNOWN] = "unknown",
	[FRAME_KIND_GO] = "go",
	[FRAME_KIND_GO_RUNTIME] = "go-runtime",
	[FRAME_KIND_CGO_BRIDGE] = "cgo-bridge",
	[FRAME_KIND_C] = "c",
	[FRAME_KIND_LIBC] = "libc",
	[FRAME_KIND_LDSO] = "ld.so",
	[FRAME_KIND_KERNEL] = "kernel",
	[FRAME_KIND_VDSO] = "vdso",
	[FRAME_KIND_TRUNCATED] = "truncated",
	[FRAME_KIND_PHASE] = "phase",
};

const char *frame_kind__name(enum frame_kind kind)
{
	if ((unsigned)kind >= FRAME_KIND__COUNT)
		return "unknown";
	return kind_names[kind];
}

struct profile_owned {
	struct profile p;	/* first: the public pointer is to it */
	struct arena arena;
};

static struct profile_owned *owned(struct profile *p)
{
	return (struct profile_owned *)p;
}

struct profile *profile__new(void)
{
	struct profile_owned *o = calloc(1, sizeof(*o));

	if (!o) {
		errno = ENOMEM;
		return NULL;
	}
	return &o->p;
}

void *profile__alloc(struct profile *p, size_t n)
{
	return arena__alloc(&owned(p)->arena, n);
}

char *profile__strdup(struct profile *p, const char *s)
{
	return arena__strdup(&owned(p)->arena, s);
}

void profile__free(struct profile *p)
{
	if (!p)
		return;
	arena__release(&owned(p)->arena);
	free(owned(p));
}
