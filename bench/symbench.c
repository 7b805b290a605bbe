/* symbench: cold symbolization cost of a (large, possibly stripped) Go binary.
 * Opens BINARY through a fresh elf_cache, picks N PCs spread evenly over the
 * Go text (pclntab__text_range), symbolizes each (inline frames included) and
 * reports wall time (open, resolve) and max RSS (getrusage). With -p FILE it
 * also writes the PCs, one hex address a line, for addr2line comparisons.
 *
 * Usage: symbench BINARY [N] [-p PCFILE]
 * Build: cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -o build/symbench \
 *          bench/symbench.c build/libcgoprof.a -ldw -lelf -lz -lbpf -lpfm \
 *          -lunwind-x86_64 -lunwind -lm -lpthread */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "cgoprof/elfobj.h"
#include "cgoprof/pclntab.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
	const char *bin = NULL, *pcfile = NULL;
	long n = 10000;
	struct sym_frame fr[64];
	struct elf_cache *c;
	struct elf_obj *o;
	struct stat st;
	uint64_t lo, hi;
	long named = 0, frames = 0, rss0, rss1;
	double t0, t1, t2;
	FILE *pf = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-p") && i + 1 < argc)
			pcfile = argv[++i];
		else if (!bin)
			bin = argv[i];
		else
			n = atol(argv[i]);
	}
	if (!bin || n <= 0) {
		fprintf(stderr, "usage: symbench BINARY [N] [-p PCFILE]\n");
		return 2;
	}
	if (stat(bin, &st)) {
		perror(bin);
		return 1;
	}
	rss0 = maxrss_kb();
	t0 = now();
	c = elf_cache__new();
	o = c ? elf_cache__open(c, bin, bin, (uint64_t)st.st_dev,
				(uint64_t)st.st_ino) : NULL;
	if (!o || !o->go) {
		fprintf(stderr, "symbench: %s: not a Go binary (%s)\n", bin,
			strerror(errno));
		return 1;
	}
	pclntab__text_range(o->go, &lo, &hi);
	t1 = now();
	if (pcfile && !(pf = fopen(pcfile, "w"))) {
		perror(pcfile);
		return 1;
	}
	for (long i = 0; i < n; i++) {
		uint64_t pc = lo + (uint64_t)((double)(hi - lo) * ((double)i + 0.5) / (double)n);
		int k = elf_obj__symbolize(o, pc, true, fr, 64);

		if (pf)
			fprintf(pf, "%" PRIx64 "\n", pc);
		if (k > 0) {
			named++;
			frames += k;
		}
		for (int j = 0; j < k; j++) {
			free(fr[j].name);
			free(fr[j].file);
		}
	}
	t2 = now();
	rss1 = maxrss_kb();
	if (pf)
		fclose(pf);
	printf("binary=%s size=%lld text=0x%" PRIx64 "-0x%" PRIx64
	       " go=%s pcs=%ld named=%ld frames=%ld open_s=%.4f resolve_s=%.4f"
	       " total_s=%.4f us_per_pc=%.2f maxrss_kb=%ld rss_before_kb=%ld\n",
	       bin, (long long)st.st_size, lo, hi, o->go_version, n, named,
	       frames, t1 - t0, t2 - t1, t2 - t0, (t2 - t1) * 1e6 / (double)n,
	       rss1, rss0);
	elf_cache__free(c);
	return 0;
}
