/* Go's build information (.go.buildinfo): the toolchain version, the main
 * module, the dependencies and the build settings, in the Go 1.18+ inline
 * format and the older pointer format; else the runtime's version string.
 * Borrows the libelf handle during a call; owns what it returns. */
#ifndef CGOPROF_BUILDINFO_H
#define CGOPROF_BUILDINFO_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>

struct go_module {
	char *path;
	char *version;	/* "(devel)", "v1.2.3"; "" when none */
	char *sum;	/* "h1:..."; "" when none */
	char *replace;	/* "=> path version" of a replaced module, or NULL */
};

struct go_setting {
	char *key;	/* "CGO_ENABLED", "-tags", "-ldflags", "GOARCH" ... */
	char *value;
};

enum go_version_source {
	GO_VERSION_UNKNOWN = 0,
	GO_VERSION_BUILDINFO,		/* .go.buildinfo */
	GO_VERSION_RUNTIME,		/* runtime.buildVersion's string */
};

struct go_buildinfo {
	char *version;			/* "go1.26.8", or NULL: unknown */
	enum go_version_source source;
	bool has_modinfo;		/* module information was present */
	char *path;			/* main package path, or NULL */
	struct go_module main;		/* main.path NULL: none */
	struct go_module *deps;
	size_t ndeps;
	struct go_setting *settings;
	size_t nsettings;
};

/* Parses the module information text (Go's debug.BuildInfo String form,
 * with or without its 16-byte sentinels) of @len bytes at @text into @bi:
 * "path", "mod", "dep", "=>" and "build" lines; others are ignored. 0,
 * -EINVAL (malformed: no "path" or "mod" line where one must be, a byte
 * 0), -ENOMEM. On error @bi holds what was parsed so far (release it). */
int go_buildinfo__parse_modinfo(const char *text, size_t len,
				struct go_buildinfo *bi);

/* Reads @elf's build information into @bi (zeroed by the caller): the
 * version and the module information from .go.buildinfo (found by its
 * section, else by its magic in the read-only data); without one, the
 * version from runtime.buildVersion (by .symtab, else the Go string in the
 * data, or a relocation, whose bytes are a Go version). 0, -ENODATA (no build
 * information and no version: not Go, or stripped of both), -EINVAL
 * (malformed), -ENOMEM. Release with go_buildinfo__release(). */
int go_buildinfo__read(Elf *elf, struct go_buildinfo *bi);

/* The setting @key, borrowed from @bi, or NULL. */
const char *go_buildinfo__setting(const struct go_buildinfo *bi,
				  const char *key);

/* Frees what @bi owns and zeroes it. Accepts a half-built one. */
void go_buildinfo__release(struct go_buildinfo *bi);

#endif
