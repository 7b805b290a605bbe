// SPDX-License-Identifier: MIT
/* `cgoprof --version`: the version, the git commit of the build (the
 * Makefile's -DCGOPROF_GIT) and the libraries compiled in. */
#include <bpf/libbpf.h>
#include <libunwind.h>
#include <stdio.h>

#include "cgoprof/perf.h"
#include "internal.h"

#ifndef CGOPROF_VERSION
#define CGOPROF_VERSION "0.1"
#endif
#ifndef CGOPROF_GIT
#define CGOPROF_GIT "unknown"
#endif

int cli__version(FILE *f)
{
	int pfm = event__pfm_version();

	fprintf(f, "cgoprof %s\n", CGOPROF_VERSION);
	fprintf(f, "commit: %s\n", CGOPROF_GIT);
	if (pfm >= 0)
		fprintf(f, "libpfm4: %d.%d (event names, loaded when needed)\n",
			pfm >> 16, pfm & 0xffff);
	else
		fprintf(f, "libpfm4: not installed (software events only)\n");
	fprintf(f, "libunwind: %d.%d.%d (--unwinder libunwind, compare)\n",
		UNW_VERSION_MAJOR, UNW_VERSION_MINOR, UNW_VERSION_EXTRA);
	fprintf(f, "bpf: libbpf %u.%u (goroutine stack snapshots; at run "
		   "time: root and kernel BTF)\n",
		libbpf_major_version(), libbpf_minor_version());
	return 0;
}
