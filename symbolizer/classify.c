// SPDX-License-Identifier: MIT
/* Frame kinds of symbolized frames: by name (the Go runtime's and cgo's
 * bridge functions, matched below) and by the object the code is in. */
#include <fnmatch.h>
#include <string.h>

#include "cgoprof/elfobj.h"

/* Go-side and C-side cgo bridge names; globs match "pkg._Cfunc_x" etc. */
static const char *const cgo_bridge_globs[] = {
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
	"*._Cfunc_*",
	"*._C2func_*",
	"*._cgoexp_*",
	"_cgoexp_*",
	"crosscall2",
	"crosscall2_trampoline",
	"crosscall1",
	"crosscall_amd64",
	"_cgo_*",
	"x_cgo_*",
	"threadentry",
};

static bool is_cgo_bridge(const char *name)
{
	for (size_t i = 0;
	     i < sizeof(cgo_bridge_globs) / sizeof(cgo_bridge_globs[0]); i++)
		if (!fnmatch(cgo_bridge_globs[i], name, 0))
			return true;
	return false;
}

static bool is_go_runtime(const char *name)
{
	static const char *const prefixes[] = {
		"runtime.", "runtime/", "internal/", "sync/atomic.",
		"sync.runtime_", "syscall.runtime_", "reflect.call",
		"type:", "go:", "gcWriteBarrier", "aeshash",
	};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
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
