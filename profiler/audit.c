// SPDX-License-Identifier: MIT
/* cgoprof audit's analysis (include/cgoprof/audit.h): the build facts
 * (symbolizer/buildinfo.c), the linkage and the closure of shared
 * libraries found as the loader finds them (symbolizer/linkage.c: RPATH,
 * RUNPATH, ld.so.cache, the default directories; $ORIGIN expanded:
 * audit_libs.c), the cgo packages from the pclntab's function names (so a stripped binary
 * tells too), the sizes (audit_size.c), the libc and the findings. The
 * file is only read, never run. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/audit.h"
#include "cgoprof/log.h"
#include "cgoprof/pclntab.h"
#include "audit_internal.h"

#define AUDIT_MAX_CFUNCS 4096

/* ---- libc imports ---- */

static const char *const group_names[AUDIT_IMPORT__COUNT] = {
	"dns", "users", "threads", "memory", "io", "other",
};

const char *audit_import_group__name(enum audit_import_group g)
{
	return g < AUDIT_IMPORT__COUNT ? group_names[g] : "other";
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++) {
		size_t n = strlen(*list);

		/* "pthread_*": a prefix */
		if ((*list)[n - 1] == '*' ? !strncmp(s, *list, n - 1)
					  : !strcmp(s, *list))
			return true;
	}
	return false;
}

static const char *const dns_syms[] = {
	"getaddrinfo", "freeaddrinfo", "gai_strerror", "getnameinfo",
	"res_*", "__res_*", "gethostby*", "getservby*", "getprotoby*",
	"dn_expand", "dn_comp", "ns_*", NULL,
};
static const char *const user_syms[] = {
	"getpw*", "getgr*", "getlogin*", "getspnam*", "initgroups",
	"setgroups", "getgrouplist", "endpwent", "setpwent", "endgrent",
	"setgrent", NULL,
};
static const char *const thread_syms[] = {
	"pthread_*", "sched_*", "sem_*", "__pthread_*", "thrd_*", "mtx_*",
	"cnd_*", "__tls_get_addr", "__cxa_thread_atexit_impl", NULL,
};
static const char *const memory_syms[] = {
	"malloc", "free", "calloc", "realloc", "reallocarray",
	"posix_memalign", "aligned_alloc", "memalign", "valloc", "mmap",
	"mmap64", "munmap", "mprotect", "madvise", "mremap", "brk", "sbrk",
	"memcpy", "memmove", "memset", "memcmp", "memchr", "__memcpy_chk",
	"__memset_chk", "__memmove_chk", "malloc_usable_size", NULL,
};
static const char *const io_syms[] = {
	"read", "write", "open", "open64", "openat", "openat64", "close",
	"pread*", "pwrite*", "readv", "writev", "lseek*", "fstat*", "stat*",
	"lstat*", "__fxstat*", "__xstat*", "__lxstat*", "fopen*", "fclose",
	"fread", "fwrite", "fflush", "fputs", "fputc", "fgets", "fprintf",
	"fseek*", "ftell*", "fileno", "fdopen", "fcntl*", "fsync",
	"ftruncate*", "puts",
	"printf", "__printf_chk", "__fprintf_chk", "vfprintf",
	"__vfprintf_chk", "putc", "putchar", "getc", "getchar", "stdout",
	"stderr", "stdin", "_IO_*", "perror", "dup*", "pipe*", "ioctl",
	"poll", "select", "epoll_*", "readlink*", "unlink*", "mkdir*",
	"opendir", "readdir*", "closedir", "sendfile*", NULL,
};

enum audit_import_group audit_import_group__of(const char *symbol)
{
	if (in_list(symbol, dns_syms))
		return AUDIT_IMPORT_DNS;
	if (in_list(symbol, user_syms))
		return AUDIT_IMPORT_USERS;
	if (in_list(symbol, thread_syms))
		return AUDIT_IMPORT_THREADS;
	if (in_list(symbol, memory_syms))
		return AUDIT_IMPORT_MEMORY;
	if (in_list(symbol, io_syms))
		return AUDIT_IMPORT_IO;
	return AUDIT_IMPORT_OTHER;
}

static const char *const severity_names[] = {"info", "warning", "error"};

const char *audit_severity__name(enum audit_severity s)
{
	return s <= AUDIT_ERROR ? severity_names[s] : "?";
}

/* ---- findings ---- */

int audit__finding_add(struct audit_report *r, const char *id,
		       enum audit_severity sev, const char *fmt, ...)
{
	struct audit_finding *f;
	va_list ap;
	int n;

	f = realloc(r->findings, (r->nfindings + 1) * sizeof(*f));
	if (!f)
		return -ENOMEM;
	r->findings = f;
	f = &f[r->nfindings];
	f->id = id;
	f->severity = sev;
	va_start(ap, fmt);
	n = vasprintf(&f->message, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	r->nfindings++;
	return 0;
}

/* ---- why cgo ---- */

struct implicit_pkg {
	const char *package;
	const char *avoid;
	bool needs_cgo;
};

/* Standard packages that bring cgo in, and what removes it. */
static const struct implicit_pkg implicit_pkgs[] = {
	{"net", "-tags netgo", false},
	{"os/user", "-tags osusergo", false},
	{"runtime/cgo", "CGO_ENABLED=0", false},
	{"plugin", NULL, true},
	{"runtime/race", "build without -race", false},
};

static bool is_std(const char *pkg, const struct go_buildinfo *bi)
{
	size_t first = strcspn(pkg, "/");

	if (!strcmp(pkg, "main"))
		return false;
	if (bi->main.path && *bi->main.path &&
	    !strncmp(pkg, bi->main.path, strlen(bi->main.path)))
		return false;
	return !memchr(pkg, '.', first);
}

/* Go package of function @name: its length, up to the first '.' after
 * the last '/' (generic arguments in brackets left out). */
size_t audit__package_len(const char *name)
{
	size_t end = strcspn(name, "[");
	const char *slash = NULL, *dot;

	for (size_t i = 0; i < end; i++)
		if (name[i] == '/')
			slash = name + i;
	dot = memchr(slash ? slash : name, '.',
		     end - (size_t)((slash ? slash : name) - name));
	return dot ? (size_t)(dot - name) : end;
}

static int strv_add(char ***v, size_t *n, const char *s, size_t len)
{
	char **nv;

	for (size_t i = 0; i < *n; i++)
		if (strlen((*v)[i]) == len && !memcmp((*v)[i], s, len))
			return 0;
	if (*n >= AUDIT_MAX_CFUNCS)
		return 0;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strndup(s, len);
	if (!nv[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

static struct audit_cgo_pkg *cgo_pkg(struct audit_report *r, const char *name,
				     size_t len)
{
	struct audit_cgo_pkg *p;

	for (size_t i = 0; i < r->ncgo; i++)
		if (strlen(r->cgo[i].package) == len &&
		    !memcmp(r->cgo[i].package, name, len))
			return &r->cgo[i];
	p = realloc(r->cgo, (r->ncgo + 1) * sizeof(*p));
	if (!p)
		return NULL;
	r->cgo = p;
	p = &p[r->ncgo];
	memset(p, 0, sizeof(*p));
	p->package = strndup(name, len);
	if (!p->package)
		return NULL;
	r->ncgo++;
	return p;
}

/* Go helpers cgo generates under _Cfunc_: not C functions. */
static bool cgo_helper(const char *s, size_t len)
{
	static const char *const helpers[] = {
		"GoString", "GoStringN", "GoBytes", "CString", "CBytes",
	};

	for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
		if (strlen(helpers[i]) == len && !memcmp(helpers[i], s, len))
			return true;
	return false;
}

/* Function @name: a cgo call or export of its package? */
static int cgo_func(struct audit_report *r, const char *name)
{
	static const char *const kinds[] = {"._Cfunc_", "._C2func_",
					    "._cgoexp_"};
	size_t end = strcspn(name, "[");
	const char *slash = NULL, *at = NULL, *c;
	struct audit_cgo_pkg *p;
	size_t k, clen;

	for (size_t i = 0; i < end; i++)
		if (name[i] == '/')
			slash = name + i;
	for (k = 0; k < 3; k++) {
		at = strstr(slash ? slash : name, kinds[k]);
		if (at)
			break;
	}
	if (!at)
		return 0;
	c = at + strlen(kinds[k]);
	clen = strcspn(c, ".");
	if (k == 2) {
		/* _cgoexp_<hash>_Name (Go 1.10+), or _cgoexp_Name */
		size_t h = strspn(c, "0123456789abcdef");

		if (h && h < clen && c[h] == '_') {
			c += h + 1;
			clen -= h + 1;
		}
	}
	if (clen == 0)
		return 0;
	p = cgo_pkg(r, name, (size_t)(at - name));
	if (!p)
		return -ENOMEM;
	if (k == 2)
		return strv_add(&p->callbacks, &p->ncallbacks, c, clen);
	if (clen == 8 && !memcmp(c, "_CMalloc", 8))
		return strv_add(&p->c_functions, &p->nc_functions, "malloc", 6);
	if (cgo_helper(c, clen))
		return 0;
	return strv_add(&p->c_functions, &p->nc_functions, c, clen);
}

static int strv_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cgo_pkg_cmp(const void *a, const void *b)
{
	const struct audit_cgo_pkg *x = a, *y = b;

	return strcmp(x->package, y->package);
}

/* An exported Go function, "_cgoexp_<hash>_Name": no package in its
 * name; its compilation unit says which. */
struct cgo_export {
	uint32_t cu;
	const char *name;
	const char *package;	/* a function of the same unit */
	size_t package_len;
};

static int export_cmp(const void *a, const void *b)
{
	const struct cgo_export *x = a, *y = b;

	return x->cu < y->cu ? -1 : x->cu > y->cu;
}

static int cgo_exports(const struct pclntab *tab, struct cgo_export *ex,
		       size_t nex, struct audit_report *r)
{
	uint32_t n = pclntab__nfuncs(tab);
	int err = 0;

	qsort(ex, nex, sizeof(*ex), export_cmp);
	for (uint32_t i = 0; i < n; i++) {
		struct cgo_export key, *e;
		struct go_func fn;
		size_t plen;

		if (pclntab__func_by_index(tab, i, &fn) || fn.name[0] == '_' ||
		    !strncmp(fn.name, "type:", 5) ||
		    !strncmp(fn.name, "type.", 5) ||
		    !strncmp(fn.name, "go:", 3) || !strncmp(fn.name, "go.", 3))
			continue;
		key.cu = fn.cu;
		e = bsearch(&key, ex, nex, sizeof(*ex), export_cmp);
		if (!e || e->package)
			continue;
		plen = audit__package_len(fn.name);
		if (plen == strlen(fn.name))
			continue;
		/* every export of that unit */
		while (e > ex && e[-1].cu == fn.cu)
			e--;
		for (; e < ex + nex && e->cu == fn.cu; e++) {
			e->package = fn.name;
			e->package_len = plen;
		}
	}
	for (size_t i = 0; i < nex && !err; i++) {
		const char *c = ex[i].name + 8;
		size_t h = strspn(c, "0123456789abcdef");
		struct audit_cgo_pkg *p;

		if (h && c[h] == '_')
			c += h + 1;
		p = ex[i].package
			? cgo_pkg(r, ex[i].package, ex[i].package_len)
			: cgo_pkg(r, "(unknown package)", 17);
		if (!p)
			return -ENOMEM;
		err = strv_add(&p->callbacks, &p->ncallbacks, c,
			       strcspn(c, "."));
	}
	return err;
}

static int cgo_analyse(const struct pclntab *tab, struct audit_report *r)
{
	uint32_t n = pclntab__nfuncs(tab);
	struct cgo_export *ex = NULL;
	bool has_runtime_cgo = false;
	size_t nex = 0;
	int err = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct go_func fn;

		if (pclntab__func_by_index(tab, i, &fn))
			continue;
		/* runtime/cgo's Go code: its package functions, or (before
		 * Go 1.21) only its assembly and linknamed functions */
		if (!strncmp(fn.name, "runtime/cgo.", 12) ||
		    !strcmp(fn.name, "crosscall2") ||
		    !strcmp(fn.name, "_cgo_panic"))
			has_runtime_cgo = true;
		if (!strncmp(fn.name, "_cgoexp_", 8)) {
			struct cgo_export *nx;

			if (nex >= AUDIT_MAX_CFUNCS)
				continue;
			nx = realloc(ex, (nex + 1) * sizeof(*ex));
			if (!nx) {
				err = -ENOMEM;
				break;
			}
			ex = nx;
			ex[nex++] = (struct cgo_export){fn.cu, fn.name, NULL, 0};
			continue;
		}
		err = cgo_func(r, fn.name);
		if (err)
			break;
	}
	if (!err && nex)
		err = cgo_exports(tab, ex, nex, r);
	free(ex);
	if (err)
		return err;
	if (has_runtime_cgo && !cgo_pkg(r, "runtime/cgo", 11))
		return -ENOMEM;
	for (size_t i = 0; i < r->ncgo; i++) {
		struct audit_cgo_pkg *p = &r->cgo[i];

		if (p->nc_functions)
			qsort(p->c_functions, p->nc_functions, sizeof(char *),
			      strv_cmp);
		if (p->ncallbacks)
			qsort(p->callbacks, p->ncallbacks, sizeof(char *),
			      strv_cmp);
		p->needs_cgo = !is_std(p->package, &r->go);
		for (size_t k = 0; k < sizeof(implicit_pkgs) /
					   sizeof(implicit_pkgs[0]); k++) {
			if (strcmp(p->package, implicit_pkgs[k].package))
				continue;
			p->implicit = true;
			p->avoid = implicit_pkgs[k].avoid;
			p->needs_cgo = implicit_pkgs[k].needs_cgo;
		}
		for (size_t k = 0; k < r->ngo_packages; k++)
			if (!strcmp(r->go_packages[k].name, p->package))
				p->text = r->go_packages[k].bytes;
	}
	if (r->ncgo)
		qsort(r->cgo, r->ncgo, sizeof(*r->cgo), cgo_pkg_cmp);
	return 0;
}

/* ---- libc ---- */

/* Whether the bytes of any allocated section hold @needle. */
static bool rodata_has(Elf *elf, const char *needle)
{
	size_t nlen = strlen(needle);
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *d;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) ||
		    (sh.sh_flags & (SHF_EXECINSTR | SHF_WRITE)) ||
		    sh.sh_type != SHT_PROGBITS)
			continue;
		d = elf_rawdata(scn, NULL);
		if (d && d->d_buf && memmem(d->d_buf, d->d_size, needle, nlen))
			return true;
	}
	return false;
}

static enum audit_libc libc_of(Elf *elf, const struct elf_linkage *l)
{
	if (l->interp && strstr(l->interp, "ld-musl"))
		return AUDIT_LIBC_MUSL;
	for (size_t i = 0; i < l->nneeded; i++) {
		if (!strncmp(l->needed[i], "libc.musl", 9))
			return AUDIT_LIBC_MUSL;
		if (!strcmp(l->needed[i], "libc.so.6"))
			return AUDIT_LIBC_GLIBC;
	}
	if (l->kind == LINKAGE_DYNAMIC)
		return AUDIT_LIBC_UNKNOWN;
	/* static: glibc's tunables are in every static glibc (2.26+); musl's
	 * strerror says "No error information" where glibc's says "Unknown
	 * error" */
	if (rodata_has(elf, "GLIBC_TUNABLES") ||
	    rodata_has(elf, "GNU C Library"))
		return AUDIT_LIBC_GLIBC;
	if (rodata_has(elf, "No error information"))
		return AUDIT_LIBC_MUSL;
	return AUDIT_LIBC_UNKNOWN;
}

/* NSS entry points a program may call (from its cgo packages). */
static const char *const nss_calls[] = {
	"getaddrinfo", "getnameinfo", "gethostby*", "getpw*", "getgr*",
	"getgrouplist", "getservby*", NULL,
};

static int findings(Elf *elf, const struct audit_opts *o,
		    struct audit_report *r)
{
	int err = 0;

	if (r->is_go && !r->go.version)
		err = audit__finding_add(r, "go-version-unknown", AUDIT_INFO,
				  "no build information and no runtime "
				  "version string: Go version unknown");
	else if (r->is_go && !r->go.has_modinfo)
		err = audit__finding_add(r, "buildinfo-missing", AUDIT_INFO,
				  "no module information: settings, main "
				  "module and dependencies unknown");
	if (err)
		return err;
	if (r->link.kind != LINKAGE_DYNAMIC && r->libc == AUDIT_LIBC_GLIBC) {
		const char *call = NULL, *pkg = NULL;

		for (size_t i = 0; i < r->ncgo && !call; i++)
			for (size_t k = 0; k < r->cgo[i].nc_functions; k++)
				if (in_list(r->cgo[i].c_functions[k],
					    nss_calls)) {
					call = r->cgo[i].c_functions[k];
					pkg = r->cgo[i].package;
					break;
				}
		if (!call && rodata_has(elf, "libnss_"))
			call = "NSS";
		if (call) {
			err = audit__finding_add(
			    r, "static-glibc-nss", AUDIT_WARNING,
			    "statically linked glibc calls %s%s%s%s: it loads "
			    "the shared NSS libraries (libnss_*.so) of the "
			    "machine it runs on anyway, which must match its "
			    "glibc; use -tags netgo,osusergo or link "
			    "dynamically",
			    call, pkg ? " (from " : "", pkg ? pkg : "",
			    pkg ? ")" : "");
			if (err)
				return err;
		}
	}
	if (o && o->max_glibc && r->link.glibc_min[0] &&
	    glibc_version__cmp(r->link.glibc_min, o->max_glibc) > 0) {
		err = audit__finding_add(r, "glibc-too-new", AUDIT_ERROR,
				  "needs glibc %s, newer than --max-glibc %s",
				  r->link.glibc_min, o->max_glibc);
		if (err)
			return err;
	}
	if (o && o->no_cgo && r->cgo_enabled) {
		char list[256] = "";
		size_t at = 0;

		for (size_t i = 0; i < r->ncgo && at < sizeof(list) - 1; i++)
			at += (size_t)snprintf(list + at, sizeof(list) - at,
					       "%s%s", i ? ", " : "",
					       r->cgo[i].package);
		err = audit__finding_add(r, "cgo-present", AUDIT_ERROR,
				  "cgo is present (--no-cgo)%s%s",
				  r->ncgo ? ": " : "", list);
	}
	return err;
}

static const char *arch_name(unsigned machine)
{
	switch (machine) {
	case EM_X86_64:
		return "x86_64";
	case EM_AARCH64:
		return "aarch64";
	case EM_386:
		return "i386";
	case EM_ARM:
		return "arm";
	case EM_RISCV:
		return "riscv";
	case EM_PPC64:
		return "ppc64";
	case EM_S390:
		return "s390x";
	default:
		return "unknown";
	}
}

static bool fits(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* A file cut short or with headers pointing outside it: -EFAULT. */
static int elf_check(Elf *elf, const GElf_Ehdr *eh, uint64_t size)
{
	size_t nphdr = 0, nscn = 0;
	Elf_Scn *scn = NULL;

	if (elf_getphdrnum(elf, &nphdr) || elf_getshdrnum(elf, &nscn))
		return -EFAULT;
	if (!fits(eh->e_phoff, (uint64_t)nphdr * eh->e_phentsize, size) ||
	    (eh->e_shoff &&
	     !fits(eh->e_shoff, (uint64_t)(nscn ? nscn : 1) * eh->e_shentsize,
		   size)))
		return -EFAULT;
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph))
			return -EFAULT;
		if (ph.p_type == PT_LOAD && !fits(ph.p_offset, ph.p_filesz, size))
			return -EFAULT;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			return -EFAULT;
		if (sh.sh_type != SHT_NOBITS && !fits(sh.sh_offset, sh.sh_size, size))
			return -EFAULT;
	}
	return 0;
}

int audit__elf(Elf *elf, uint64_t size, const struct audit_opts *o,
	       struct audit_report *r)
{
	struct pclntab *tab = NULL;
	GElf_Ehdr ehdr;
	int err;

	if (!gelf_getehdr(elf, &ehdr))
		return -ENOEXEC;
	err = elf_check(elf, &ehdr, size);
	if (err)
		return err;
	r->size = size;
	r->arch = arch_name(ehdr.e_machine);
	err = go_buildinfo__read(elf, &r->go);
	if (err == -ENOMEM)
		return err;
	if (err && err != -ENODATA)
		pr_debug("audit: build info: %s", strerror(-err));
	tab = pclntab__new(elf);
	if (!tab && errno == ENOMEM)
		return -ENOMEM;
	r->is_go = tab || r->go.version;
	if (r->is_go && !r->go.version)
		r->go_unknown = "version, settings, main module, dependencies";
	else if (r->is_go && !r->go.has_modinfo)
		r->go_unknown = "settings, main module, dependencies";
	err = elf_linkage__read(elf, &r->link);
	if (err == -ENOMEM)
		goto out;
	if (err)
		pr_debug("audit: linkage: %s", strerror(-err));
	r->libc = libc_of(elf, &r->link);
	err = audit__sizes(elf, size, tab, r);
	if (err)
		goto out;
	if (tab) {
		err = cgo_analyse(tab, r);
		if (err)
			goto out;
	}
	/* cgo is in the binary when runtime/cgo or a cgo call is: a
	 * CGO_ENABLED=1 build that imports nothing of cgo has none (the
	 * setting itself is in the build settings) */
	r->cgo_enabled = r->ncgo > 0;
	err = findings(elf, o, r);
out:
	pclntab__free(tab);
	return err;
}

struct audit_report *audit__file(const char *path, const struct audit_opts *o)
{
	struct audit_report *r;
	struct elf_file f;
	int err;

	r = calloc(1, sizeof(*r));
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	r->path = strdup(path);
	if (!r->path) {
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	err = elf_file__open(path, &f);
	if (err)
		goto out;
	err = audit__elf(f.elf, f.size, o, r);
	if (!err && r->link.kind == LINKAGE_DYNAMIC)
		err = audit__libs_resolve(r, o, f.elf);
	elf_file__close(&f);
out:
	if (err) {
		audit_report__free(r);
		errno = -err;
		return NULL;
	}
	return r;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void audit_report__free(struct audit_report *r)
{
	if (!r)
		return;
	free(r->path);
	go_buildinfo__release(&r->go);
	elf_linkage__release(&r->link);
	for (size_t i = 0; i < r->nlibs; i++) {
		free(r->libs[i].name);
		free(r->libs[i].path);
		free(r->libs[i].needed_by);
	}
	free(r->libs);
	for (size_t i = 0; i < r->ncgo; i++) {
		free(r->cgo[i].package);
		strv_free(r->cgo[i].c_functions, r->cgo[i].nc_functions);
		strv_free(r->cgo[i].callbacks, r->cgo[i].ncallbacks);
	}
	free(r->cgo);
	for (size_t i = 0; i < r->ngo_packages; i++)
		free(r->go_packages[i].name);
	free(r->go_packages);
	for (size_t i = 0; i < r->nc_symbols; i++)
		free(r->c_symbols[i].name);
	free(r->c_symbols);
	for (size_t i = 0; i < r->nfindings; i++)
		free(r->findings[i].message);
	free(r->findings);
	free(r);
}
