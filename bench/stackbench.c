/* stackbench: CPU cost of aggregation (stack_table__add, run for every
 * sample) and of the exporters (folded, pprof, SVG), on synthetic data
 * shaped like a busy recording: thousands of unique stacks 10 to 60 frames
 * deep over a few mappings, samples skewed toward a few hot stacks, many
 * threads. No perf, no target process: the numbers are the code's alone
 * (thread CPU time, best of REPS runs).
 *
 * Usage: stackbench [SAMPLES] [UNIQUE_STACKS] [REPS]
 *        (default 2000000 20000 5)
 * Build: cc -O2 -g -std=c11 -D_GNU_SOURCE -Iinclude -o build/stackbench \
 *          bench/stackbench.c build/libcgoprof.a -ldw -lelf -lz -lbpf -lpfm \
 *          -lunwind-x86_64 -lunwind -lm -lpthread */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cgoprof/export.h"
#include "cgoprof/stacks.h"

#define NMAPS 8
#define NPCS 6000
#define NTIDS 32
#define NFUNCS 3000

static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* CPU time, not wall time: the machine may be shared */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct shape {
	uint32_t n;
	uint32_t pcs[64];	/* indexes into the pc pool */
};

static struct map maps[NMAPS];
static uint64_t pc_pool[NPCS];
static uint32_t pc_map[NPCS];

static void fill_result(struct unwind_result *r, const struct shape *s)
{
	r->n = s->n;
	r->status = STACK_COMPLETE;
	r->reason = NULL;
	r->root = NULL;
	for (uint32_t i = 0; i < s->n; i++) {
		uint32_t k = s->pcs[i];

		r->frames[i] = (struct unwind_frame){
			.pc = pc_pool[k],
			.map = &maps[pc_map[k]],
			.flags = i ? 0 : UNWIND_FRAME_LEAF,
		};
	}
}

/* Samples skewed toward low stack numbers, as real profiles are. */
static uint32_t pick(uint32_t nshapes)
{
	uint64_t a = rnd() % nshapes, b = rnd() % nshapes;

	return (uint32_t)(a < b ? a : b);
}

static double bench_add(const struct shape *shapes, uint32_t nshapes,
			long samples, struct unwind_result *r, size_t *nstacks)
{
	struct stack_table t;
	double t0, t1;

	if (stack_table__init(&t)) {
		fprintf(stderr, "stackbench: out of memory\n");
		exit(1);
	}
	rng_state = 0x853c49e6748fea9bULL;
	t0 = now();
	for (long i = 0; i < samples; i++) {
		uint32_t s = pick(nshapes);

		fill_result(r, &shapes[s]);
		if (stack_table__add(&t, 100, 100 + s % NTIDS, r, 1001001,
				     NULL)) {
			fprintf(stderr, "stackbench: adding failed\n");
			exit(1);
		}
	}
	t1 = now();
	*nstacks = t.nstacks;
	stack_table__release(&t);
	return t1 - t0;
}

/* A profile of @nshapes stacks over NPCS locations, some inlined. */
static struct profile *make_profile(const struct shape *shapes,
				    uint32_t nshapes)
{
	static char names[NFUNCS][48], files[NFUNCS / 10][48];
	static struct profile p;
	struct profile_mapping *m = calloc(NMAPS, sizeof(*m));
	struct profile_location *l = calloc(NPCS, sizeof(*l));
	struct profile_frame *f = calloc(2 * NPCS, sizeof(*f));
	struct profile_stack *st = calloc(nshapes, sizeof(*st));
	uint32_t *ids = calloc((size_t)nshapes * 64, sizeof(*ids));

	if (!m || !l || !f || !st || !ids) {
		fprintf(stderr, "stackbench: out of memory\n");
		exit(1);
	}
	for (int i = 0; i < NFUNCS; i++)
		snprintf(names[i], sizeof(names[i]), "pkg%d.(*Type%d).Method%d",
			 i % 40, i % 97, i);
	for (int i = 0; i < NFUNCS / 10; i++)
		snprintf(files[i], sizeof(files[i]), "/src/pkg%d/file%d.go",
			 i % 40, i);
	for (int i = 0; i < NMAPS; i++)
		m[i] = (struct profile_mapping){
			.start = maps[i].start, .limit = maps[i].end,
			.path = maps[i].path, .build_id = "",
			.symbolized = true, .is_main = i == 0 };
	for (int i = 0; i < NPCS; i++) {
		uint32_t nf = i % 5 == 0 ? 2 : 1;

		for (uint32_t j = 0; j < nf; j++)
			f[2 * i + j] = (struct profile_frame){
				.name = names[(i * 7 + j) % NFUNCS],
				.file = files[(i + j) % (NFUNCS / 10)],
				.line = (uint32_t)(i % 500 + 1),
				.kind = FRAME_KIND_GO,
				.inlined = j + 1 < nf };
		l[i] = (struct profile_location){ .address = pc_pool[i],
						  .mapping = pc_map[i],
						  .nframes = nf,
						  .frames = &f[2 * i],
						  .is_leaf = i % 3 == 0 };
	}
	for (uint32_t s = 0; s < nshapes; s++) {
		memcpy(&ids[(size_t)s * 64], shapes[s].pcs,
		       shapes[s].n * sizeof(*ids));
		st[s] = (struct profile_stack){
			.pid = 100, .tid = 100 + s % NTIDS, .comm = "app",
			.thread_comm = "worker", .nlocs = shapes[s].n,
			.locs = &ids[(size_t)s * 64], .count = 1 + s % 50,
			.weight = (1 + s % 50) * 1001001ULL };
		p.total_samples += st[s].count;
	}
	p.command = "app";
	p.event = "cpu-clock";
	p.period_unit = "nanoseconds";
	p.period = 1001001;
	p.nmappings = NMAPS;
	p.nlocations = NPCS;
	p.nstacks = nshapes;
	p.mappings = m;
	p.locations = l;
	p.stacks = st;
	p.status_samples[STACK_COMPLETE] = p.total_samples;
	return &p;
}

static double bench_export(int (*fn)(const struct profile *,
				     const struct export_opts *, FILE *),
			   const struct profile *p)
{
	struct export_opts o = { 0 };
	FILE *f = fopen("/dev/null", "w");
	double t0, t1;
	int err;

	if (!f) {
		perror("/dev/null");
		exit(1);
	}
	t0 = now();
	err = fn(p, &o, f);
	t1 = now();
	fclose(f);
	if (err) {
		fprintf(stderr, "stackbench: export failed: %s\n",
			strerror(-err));
		exit(1);
	}
	return t1 - t0;
}

static void keep_min(double *best, double v)
{
	if (*best == 0 || v < *best)
		*best = v;
}

int main(int argc, char **argv)
{
	long samples = argc > 1 ? atol(argv[1]) : 2000000;
	long nshapes = argc > 2 ? atol(argv[2]) : 20000;
	int reps = argc > 3 ? atoi(argv[3]) : 5;
	double add = 0, folded = 0, pprof = 0, svg = 0;
	struct unwind_result *r = calloc(1, sizeof(*r));
	struct shape *shapes;
	struct profile *p;
	size_t nstacks = 0;
	long frames = 0;

	if (samples <= 0 || nshapes <= 0 || nshapes > 1000000 || reps <= 0 ||
	    !r) {
		fprintf(stderr, "usage: stackbench [SAMPLES] [UNIQUE_STACKS] "
				"[REPS]\n");
		return 2;
	}
	shapes = calloc((size_t)nshapes, sizeof(*shapes));
	if (!shapes)
		return 1;
	for (int i = 0; i < NMAPS; i++) {
		static char paths[NMAPS][32];

		snprintf(paths[i], sizeof(paths[i]), "/usr/lib/lib%d.so", i);
		maps[i] = (struct map){
			.start = 0x400000ULL + ((uint64_t)i << 32),
			.end = 0x400000ULL + ((uint64_t)i << 32) + (64 << 20),
			.path = paths[i], .id = (uint32_t)i + 1,
			/* never dereferenced by aggregation: an identity */
			.obj = (struct elf_obj *)(uintptr_t)(0x1000 * (i + 1)),
			.bias = (uint64_t)i << 32 };
	}
	for (int i = 0; i < NPCS; i++) {
		pc_map[i] = (uint32_t)(rnd() % NMAPS);
		pc_pool[i] = maps[pc_map[i]].start + rnd() % (64 << 20);
	}
	/* stacks share their roots, as real ones do: a few thread roots,
	 * then a random walk */
	for (long s = 0; s < nshapes; s++) {
		struct shape *sh = &shapes[s];

		sh->n = 10 + (uint32_t)(rnd() % 51);
		for (uint32_t i = 0; i < sh->n; i++) {
			uint32_t depth = sh->n - 1 - i;

			sh->pcs[i] = depth < 3 ? depth * 7 + (uint32_t)(s % 3)
					       : (uint32_t)(rnd() % NPCS);
		}
		frames += sh->n;
	}
	p = make_profile(shapes, (uint32_t)nshapes);
	for (int i = 0; i < reps; i++) {
		keep_min(&add, bench_add(shapes, (uint32_t)nshapes, samples, r,
					 &nstacks));
		keep_min(&folded, bench_export(export__folded, p));
		keep_min(&pprof, bench_export(export__pprof, p));
		keep_min(&svg, bench_export(export__svg, p));
	}
	printf("samples=%ld unique_stacks=%zu mean_depth=%.1f reps=%d (best)\n"
	       "add_s=%.4f ns_per_sample=%.1f\n"
	       "folded_s=%.4f pprof_s=%.4f svg_s=%.4f (%ld stacks)\n",
	       samples, nstacks, (double)frames / (double)nshapes, reps, add,
	       add * 1e9 / (double)samples, folded, pprof, svg, nshapes);
	free(shapes);
	free(r);
	return 0;
}
