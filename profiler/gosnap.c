// SPDX-License-Identifier: MIT
/*
 * Loads the goroutine snapshot program (gosnap.bpf.c: what it records and
 * why) through its libbpf skeleton, generated at build time from the
 * compiled program. Go's runtime layout (golayout.h) is the program's
 * read-only data, set here before the load; libbpf relocates the
 * program's reads of kernel structs against the running kernel's BTF.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgoprof/bpf_log.h"
#include "cgoprof/btf_min.h"
#include "cgoprof/golayout.h"
#include "cgoprof/gosnap.h"
#include "cgoprof/log.h"
#include "gosnap.skel.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct gosnap {
	struct gosnap_bpf *skel;
	int ncpus;
	uint32_t copy_bytes;	/* asked for (the load may have dropped it) */
	/* gosnap__filter()'s tracepoint programs, attached */
	struct bpf_link *links[2];
};

/* The last program closed, kept loaded for the next gosnap__open() of
 * the same shape: the verifier's work is most of a short recording's CPU,
 * and a start caught by `--exec` waits for the recording to open. One
 * recording at a time uses it (the CLI's are sequential); not locked. */
static struct gosnap *parked;

_Static_assert(GO_G_STACK_HI == GO_G_STACK_LO + 8,
	       "the program reads g.stack's lo and hi together");
_Static_assert(GO_GOBUF_SP < GO_GOBUF_G && GO_GOBUF_PC < GO_GOBUF_G,
	       "the program looks for a copy of a gobuf's words up to g");

/* The layout the program reads, and the stack bytes the samples copy
 * (@copy_bytes, 0 for no GOSNAP_DEEP records). */
static void set_rodata(struct gosnap_bpf *skel, uint32_t copy_bytes)
{
	static const uint64_t curg[GO_M_CURG_N] = {
		GO_M_CURG_0, GO_M_CURG_1, GO_M_CURG_2, GO_M_CURG_3,
	};
	struct gosnap_bpf__rodata *ro = skel->rodata;

	ro->go_g_stack = GO_G_STACK_LO;
	ro->go_g_m = GO_G_M;
	ro->go_g_sched_sp = GO_G_SCHED_SP;
	ro->go_g_sched_bp = GO_G_SCHED_BP;
	ro->go_g_sched_bp_with_ret = GO_G_SCHED_BP_WITH_RET;
	ro->go_m_g0 = GO_M_G0;
	for (int i = 0; i < GO_M_CURG_N; i++)
		ro->go_m_curg[i] = curg[i];
	ro->go_gobuf_sp = GO_GOBUF_SP;
	ro->go_gobuf_g = GO_GOBUF_G;
	ro->go_morebuf_scan_words = GO_MOREBUF_SCAN_WORDS;
	ro->go_g_tls_default = GO_G_TLS_DEFAULT;
	ro->go_asmcgocall[0][0] = GO_ASMCGOCALL_X;
	ro->go_asmcgocall[0][1] = GO_ASMCGOCALL_G;
	ro->go_asmcgocall[0][2] = GO_ASMCGOCALL_D;
	ro->go_asmcgocall[1][0] = GO_ASMCGOCALL_X_PRE121;
	ro->go_asmcgocall[1][1] = GO_ASMCGOCALL_G_PRE121;
	ro->go_asmcgocall[1][2] = GO_ASMCGOCALL_D_PRE121;
	ro->copy_bytes = copy_bytes;
	/* bpf_loop() (5.17) for the frame walk, else the unrolled walk;
	 * CGOPROF_BPF_NO_LOOP=1 takes the latter anyway (tests) */
	ro->have_loop = !getenv("CGOPROF_BPF_NO_LOOP") &&
			libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT,
						BPF_FUNC_loop, NULL) == 1;
}

/* What the program's CO-RE relocations read (gosnap.bpf.c, bpf/vmlinux.h):
 * a field missing here fails the load with the cut-down BTF, and the load
 * is tried again with the kernel's whole. */
static const struct btf_min_field core_fields[] = {
	{ "pt_regs", "bp" },
	{ "pt_regs", "sp" },
	{ "task_struct", "thread" },
	{ "task_struct", "pid" },
	{ "task_struct", "tgid" },
	{ "task_struct", "mm" },
	{ "mm_struct", "exe_file" },
	{ "file", "f_inode" },
	{ "inode", "i_ino" },
	{ "inode", "i_sb" },
	{ "super_block", "s_dev" },
	{ "thread_struct", "fsbase" },
};

/* The program and its maps for @ncpus CPUs, loaded; NULL with -errno in
 * @err. The verifier's log of a refused program goes to the debug log:
 * into a buffer of our own, which libbpf fills only after a load without
 * it failed (the log of a program with loops outgrows any buffer, and a
 * log that overflows fails the load however good the program). With
 * @min_btf, libbpf relocates against the few kernel types the program
 * reads, not the kernel's whole BTF. */
static struct gosnap_bpf *load(int ncpus, uint32_t copy_bytes, bool min_btf,
			       int *err)
{
	static char log[65536];
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct gosnap_bpf *skel;
	uint32_t n = (uint32_t)ncpus;
	char btf_path[32];
	int btf_fd = -1;

	/* the kernel's types the program reads, alone (btf_min.h) */
	if (min_btf &&
	    !btf_min__custom_path(core_fields, ARRAY_SIZE(core_fields),
				  btf_path, sizeof(btf_path), &btf_fd))
		opts.btf_custom_path = btf_path;
	skel = gosnap_bpf__open_opts(&opts);
	if (!skel) {
		*err = -errno;
		if (btf_fd >= 0)
			close(btf_fd);
		return NULL;
	}
	set_rodata(skel, copy_bytes);
	log[0] = '\0';
	*err = bpf_map__set_max_entries(skel->maps.cgoprof_out, n);
	if (!*err)
		*err = bpf_map__set_max_entries(skel->maps.cgoprof_buf, n);
	if (!*err)
		*err = bpf_program__set_log_buf(skel->progs.cgoprof_gosnap, log,
						sizeof(log));
	if (!*err)
		*err = gosnap_bpf__load(skel);
	if (btf_fd >= 0)
		close(btf_fd);
	if (!*err)
		return skel;
	if (log[0])
		pr_debug("BPF verifier: %s", log);
	gosnap_bpf__destroy(skel);
	return NULL;
}

/* Why the kernel refused the program (load's @err), for the user. */
static const char *refusal(int err)
{
	int fd;

	if (err == -ESRCH || access("/sys/kernel/btf/vmlinux", R_OK))
		return "no kernel BTF (/sys/kernel/btf/vmlinux) to find fsbase";
	if (err != -EPERM)
		return "BPF program refused by the verifier";
	/* maps are created before the program is loaded: which was it? */
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "cgoprof_probe",
			    sizeof(uint32_t), sizeof(uint32_t), 1, NULL);
	if (fd < 0)
		return "BPF maps cannot be created (needs CAP_BPF and CAP_PERFMON)";
	close(fd);
	return "BPF program load refused (needs CAP_BPF)";
}

int gosnap__open(struct gosnap **out, int ncpus, uint32_t copy_bytes,
		 const char **why)
{
	struct gosnap *g;
	int err;

	*out = NULL;
	*why = NULL;
	if (parked && parked->ncpus == ncpus &&
	    parked->copy_bytes == copy_bytes) {
		*out = parked;
		parked = NULL;
		return 0;
	}
	bpf_log__init();
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	/* with GOSNAP_DEEP records, then (kernels before 5.15 have no
	 * bpf_task_pt_regs) without */
	g->skel = load(ncpus, copy_bytes, true, &err);
	if (!g->skel && err != -EPERM) {
		pr_debug("BPF program refused with the kernel's types cut "
			 "out of its BTF: with the whole");
		g->skel = load(ncpus, copy_bytes, false, &err);
	}
	if (!g->skel && copy_bytes && err != -EPERM) {
		pr_debug("BPF program refused with deep goroutine copies");
		g->skel = load(ncpus, 0, false, &err);
	}
	if (!g->skel) {
		*why = refusal(err);
		free(g);
		return err ? err : -EINVAL;
	}
	g->ncpus = ncpus;
	g->copy_bytes = copy_bytes;
	*out = g;
	return 0;
}

int gosnap__prog_fd(const struct gosnap *g)
{
	return bpf_program__fd(g->skel->progs.cgoprof_gosnap);
}

int gosnap__run_stats(const struct gosnap *g, uint64_t *runs, uint64_t *ns)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(gosnap__prog_fd(g), &info, &len))
		return -errno;
	*runs = info.run_cnt;
	*ns = info.run_time_ns;
	return 0;
}

int gosnap__set_g_tls(struct gosnap *g, uint32_t pid, int32_t off)
{
	int fd = bpf_map__fd(g->skel->maps.cgoprof_gtls);
	int64_t v = off;

	if (off == GO_G_TLS_DEFAULT)
		return bpf_map_delete_elem(fd, &pid) && errno != ENOENT ? -errno
									: 0;
	return bpf_map_update_elem(fd, &pid, &v, BPF_ANY) ? -errno : 0;
}

int gosnap__set_output(struct gosnap *g, int cpu, int fd)
{
	uint32_t key = (uint32_t)cpu;

	return bpf_map_update_elem(bpf_map__fd(g->skel->maps.cgoprof_out), &key,
				   &fd, BPF_ANY)
		       ? -errno
		       : 0;
}

int gosnap__filter(struct gosnap *g)
{
	struct bpf_program *progs[2] = {
		g->skel->progs.cgoprof_fork,
		g->skel->progs.cgoprof_free,
	};
	struct stat st;

	/* a launched command's samples start once it runs something else */
	if (stat("/proc/self/exe", &st))
		return -errno;
	g->skel->bss->cgoprof_self_dev =
		(uint32_t)(major(st.st_dev) << 20 | minor(st.st_dev));
	g->skel->bss->cgoprof_self_ino = st.st_ino;

	for (size_t i = 0; i < ARRAY_SIZE(progs); i++) {
		if (g->links[i])
			continue;
		g->links[i] = bpf_program__attach(progs[i]);
		if (!g->links[i])
			return -errno;
	}
	g->skel->bss->cgoprof_filter = 1;
	return 0;
}

int gosnap__target(struct gosnap *g, uint32_t tgid, uint32_t state)
{
	return bpf_map_update_elem(bpf_map__fd(g->skel->maps.cgoprof_targets),
				   &tgid, &state, BPF_ANY)
		       ? -errno
		       : 0;
}

uint64_t gosnap__targets_full(const struct gosnap *g)
{
	return g->skel->bss->cgoprof_targets_full;
}

/* Detaches the tracepoint programs: the program keeps every sample. */
static void unfilter(struct gosnap *g)
{
	g->skel->bss->cgoprof_filter = 0;
	for (size_t i = 0; i < ARRAY_SIZE(g->links); i++) {
		bpf_link__destroy(g->links[i]);
		g->links[i] = NULL;
	}
}

static void destroy(struct gosnap *g)
{
	unfilter(g);
	gosnap_bpf__destroy(g->skel);
	free(g);
}

/* Empties what a recording left in the maps: its output events (the
 * map holds their files), its processes' TLS offsets and its targets. */
static int reset(struct gosnap *g)
{
	int fd = bpf_map__fd(g->skel->maps.cgoprof_gtls);
	int tfd = bpf_map__fd(g->skel->maps.cgoprof_targets);
	uint32_t key, next;

	unfilter(g);
	g->skel->bss->cgoprof_targets_full = 0;
	while (!bpf_map_get_next_key(tfd, NULL, &next))
		if (bpf_map_delete_elem(tfd, &next))
			return -errno;

	for (int cpu = 0; cpu < g->ncpus; cpu++) {
		key = (uint32_t)cpu;
		if (bpf_map_delete_elem(bpf_map__fd(g->skel->maps.cgoprof_out),
					&key) &&
		    errno != ENOENT)
			return -errno;
	}
	while (!bpf_map_get_next_key(fd, NULL, &next))
		if (bpf_map_delete_elem(fd, &next))
			return -errno;
	return 0;
}

void gosnap__close(struct gosnap *g)
{
	if (!g)
		return;
	if (parked || reset(g)) {
		destroy(g);
		return;
	}
	parked = g;
}

void gosnap__free(struct gosnap *g)
{
	if (g)
		destroy(g);
}

void gosnap__preload(uint32_t copy_bytes)
{
	long ncpus = sysconf(_SC_NPROCESSORS_CONF);
	struct gosnap *g;
	const char *why;

	if (ncpus < 1 || ncpus > 4096)
		ncpus = 1;
	if (!gosnap__open(&g, (int)ncpus, copy_bytes, &why))
		gosnap__close(g);
}

void gosnap__unpark(void)
{
	if (parked)
		destroy(parked);
	parked = NULL;
}
