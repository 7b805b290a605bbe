/* Goroutine stack snapshots at sample time (profiler/gosnap.bpf.c, loaded
 * by profiler/gosnap.c): an eBPF program on the sampling events copies the
 * goroutine's stack of a thread that is in a cgo call, into a BPF output
 * event of the sample's CPU. The program includes this file too: plain C,
 * nothing but <stdint.h>. */
#ifndef CGOPROF_GOSNAP_H
#define CGOPROF_GOSNAP_H

#include <stdint.h>

/* Bytes of stack copied from the goroutine's sp upwards: a perf record
 * holds at most 64 KiB, and a goroutine that grows its stack has used all
 * of it (esbuild's parser: tens of KiB). */
#define CGOPROF_GOSNAP_BYTES 61440
#define CGOPROF_GOSNAP_MAGIC 0x676f736e	/* "gosn" */
/* A deep goroutine's stack beyond the sample's copy comes in up to this
 * many GOSNAP_DEEP records of one sample, each where the last one ends. */
#define CGOPROF_GOSNAP_DEEP_RECORDS 4

enum gosnap_kind {
	GOSNAP_GOROUTINE = 0,	/* on g0 in a cgo call: the goroutine's stack */
	GOSNAP_SYSTEM_STACK,	/* on a goroutine: g0's stack from sched.sp */
	GOSNAP_RUNTIME,		/* on g0 in the runtime: the goroutine's
				 * stack from sched.sp, and the heads of g0,
				 * m and the goroutine's g */
	GOSNAP_DEEP,		/* on a goroutine deeper than the sample's
				 * stack copy: its stack from where the copy
				 * ends (one of up to CGOPROF_GOSNAP_DEEP_RECORDS) */
};

#define CGOPROF_GOSNAP_G0_HEAD 64
#define CGOPROF_GOSNAP_M_HEAD 256
#define CGOPROF_GOSNAP_G_HEAD 128

/* The record the program writes (PERF_SAMPLE_RAW data). */
struct gosnap_record {
	uint64_t magic;
	uint64_t kind;		/* enum gosnap_kind */
	uint64_t g;		/* the goroutine (in the cgo call) */
	uint64_t sp;		/* where the copy starts */
	uint64_t len;		/* bytes copied from sp */
	/* GOSNAP_RUNTIME: the structs' first bytes (g is the goroutine) */
	uint64_t g0, m;
	uint8_t g0_head[CGOPROF_GOSNAP_G0_HEAD];
	uint8_t m_head[CGOPROF_GOSNAP_M_HEAD];
	uint8_t g_head[CGOPROF_GOSNAP_G_HEAD];
	uint8_t bytes[CGOPROF_GOSNAP_BYTES];
};

struct gosnap;

/* Loads the program and its maps for @ncpus CPUs; the samples copy
 * @copy_bytes of user stack. 0, or -errno with @why set to a sentence for
 * the user. */
int gosnap__open(struct gosnap **out, int ncpus, uint32_t copy_bytes,
		 const char **why);
/* The program: attach it to each sampling event with PERF_EVENT_IOC_SET_BPF. */
int gosnap__prog_fd(const struct gosnap *g);
/* The kernel's count of the program's runs and their time in ns, since it
 * was loaded: counted only while sysctl kernel.bpf_stats_enabled is 1
 * (the kernel's work in the targets' context, which their CPU time
 * includes). 0, or -errno. */
int gosnap__run_stats(const struct gosnap *g, uint64_t *runs, uint64_t *ns);
/* Routes @cpu's records to the BPF output event @fd (opened on that CPU). */
int gosnap__set_output(struct gosnap *g, int cpu, int fd);
/* Process @pid keeps its g at fsbase + @off (elf_obj__go_g_tls), not at
 * fsbase - 8. Processes with an entry: at most CGOPROF_GOSNAP_PROCS. */
#define CGOPROF_GOSNAP_PROCS 4096
int gosnap__set_g_tls(struct gosnap *g, uint32_t pid, int32_t off);
/* CPU scope (record_scope.c): the program drops the samples of processes
 * that are not targets. Attaches the tracepoint programs that follow the
 * targets' forks and ends; 0 or -errno. */
int gosnap__filter(struct gosnap *g);
/* Process @tgid is a target: from now on (GOSNAP_TARGET_ON), or once it
 * runs another executable than cgoprof's (GOSNAP_TARGET_AT_EXEC: a
 * launched command, cgoprof's child until its exec). Its new processes are
 * too. At most CGOPROF_GOSNAP_TARGETS at once. */
#define GOSNAP_TARGET_AT_EXEC 1
#define GOSNAP_TARGET_ON 2
#define CGOPROF_GOSNAP_TARGETS 8192
int gosnap__target(struct gosnap *g, uint32_t tgid, uint32_t state);
/* Targets' new processes the filter could not take (its map was full). */
uint64_t gosnap__targets_full(const struct gosnap *g);
/* Detaches nothing (closing the events does): the program is kept loaded
 * for the next gosnap__open() of the same shape, once its maps are
 * emptied. */
void gosnap__close(struct gosnap *g);
/* Unloads @g, still attached to events that stay open (a setup that
 * failed half way): it is not for reuse. */
void gosnap__free(struct gosnap *g);
/* Loads the program now and keeps it for the next gosnap__open() on
 * every configured CPU with @copy_bytes (a recording's stack size): a
 * start held stopped by --exec does not wait for the verifier. */
void gosnap__preload(uint32_t copy_bytes);
/* Unloads the kept program (at exit; leak checkers want it). */
void gosnap__unpark(void);

#endif
