// SPDX-License-Identifier: MIT
/* Frame kinds of symbolized frames: by name (the Go runtime's and cgo's
 * bridge functions, matched below) and by the object the code is in. */
#include <string.h>

#include "cgoprof/elfobj.h"

/* Go-side and C-side cgo bridge names: whole names, names holding a
 * cgo stub's infix ("pkg._Cfunc_x") and names with a cgo prefix. Compared
 * as bytes, at each symbolized frame (a glob match with fnmatch() took
 * a tenth of the symbolization of a deep Go profile). */
static const char *const cgo_bridge_names[] = {
	"runtime.cgocall",
	"runtime.asmcgocall",
	"runtime.asmcgocall_landingpad",
	"runtime.asmcgocall_no_g",
	"runtime.cgocallback",
	"runtime.cgocallbackg",
	"runtime.cgocallbackg1",
	"runtime.needm",
	"runtime.needAndBindM",
	"runtime.dropm",
	"runtime.unwindm",
	"crosscall2",
	"crosscall2_trampoline",
	"crosscall1",
	"crosscall_amd64",
	"threadentry",
};

static const char *const cgo_bridge_infixes[] = {
	"._Cfunc_", "._C2func_", "._cgoexp_",
};

static const char *const cgo_bridge_prefixes[] = {
	"_cgoexp_", "_cgo_", "x_cgo_",
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static bool is_cgo_bridge(const char *name)
{
	const char *p = name;

	/* every whole name and prefix begins with one of these */
	if (name[0] && strchr("rctx_", name[0])) {
		for (size_t i = 0; i < ARRAY_LEN(cgo_bridge_names); i++)
			if (!strcmp(name, cgo_bridge_names[i]))
				return true;
		for (size_t i = 0; i < ARRAY_LEN(cgo_bridge_prefixes); i++)
			if (!strncmp(name, cgo_bridge_prefixes[i],
				     strlen(cgo_bridge_prefixes[i])))
				return true;
	}
	/* an infix follows a package path's dot: each "._" looked at once */
	while ((p = strstr(p, "._"))) {
		for (size_t i = 0; i < ARRAY_LEN(cgo_bridge_infixes); i++)
			if (!strncmp(p, cgo_bridge_infixes[i],
				     strlen(cgo_bridge_infixes[i])))
				return true;
		p += 2;
	}
	return false;
}

static bool is_go_runtime(const char *name)
{
	static const char *const prefixes[] = {
		"runtime.", "runtime/", "internal/", "sync/atomic.",
		"sync.runtime_", "syscall.runtime_", "reflect.call",
		"type:", "go:", "gcWriteBarrier", "aeshash",
	};

	for (size_t i = 0; i < ARRAY_LEN(prefixes); i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

enum frame_kind frame_kind__classify(const char *name, enum obj_class cls,
				     bool is_go)
{
	if (cls == OBJ_VDSO)
		return FRAME_KIND_VDSO;
	if (is_cgo_bridge(name))
		return FRAME_KIND_CGO_BRIDGE;
	if (is_go)
		return is_go_runtime(name) ? FRAME_KIND_GO_RUNTIME
					   : FRAME_KIND_GO;
	if (cls == OBJ_LIBC)
		return FRAME_KIND_LIBC;
	if (cls == OBJ_LDSO)
		return FRAME_KIND_LDSO;
	return FRAME_KIND_C;
}
