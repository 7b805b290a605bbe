/* Waiting for a binary's next start, system-wide: a BPF program on the
 * scheduler's exec tracepoint compares the file every exec runs (its
 * device and inode: the file itself, whatever path or mount namespace it
 * was reached through) with the watched ones. While the watch is armed,
 * the first match stops its process with SIGSTOP before its first
 * instruction, disarms the watch and says so; matches while disarmed are
 * only counted (the process runs unwatched). Nothing else on the machine
 * is stopped, sampled or slowed: the program runs once per exec and
 * returns at once for other files.
 *
 * The user of a caught start opens its events on the stopped process
 * (record attach mode), then resumes it with execwatch__resume(), then
 * arms the watch again for the next one. */
#ifndef CGOPROF_EXECWATCH_H
#define CGOPROF_EXECWATCH_H

#include <stdint.h>

#define EXECWATCH_MAX_FILES 8

/* What the program writes for each match (shared with execwatch.bpf.c). */
struct execwatch_event {
	uint64_t time;		/* CLOCK_MONOTONIC ns, at the exec */
	uint32_t pid;		/* in the initial PID namespace */
	uint32_t file;		/* index of the watched file */
	uint32_t stopped;	/* 1: stopped (the watch was armed) */
	uint32_t pad;
};

/* The key of a watched file: the kernel's dev_t encoding and inode. */
struct execwatch_key {
	uint64_t dev;
	uint64_t ino;
};

#ifndef __bpf__
#include <sys/types.h>

struct execwatch;

/* Watches @n files (their paths; each must be a regular executable file).
 * NULL with -errno in @err and a sentence in @why: -ENOENT/-EACCES/-EISDIR
 * a path; -EPERM no permission for BPF (CAP_BPF and CAP_PERFMON, or
 * root); other -errno: the kernel refused the program. Armed. */
struct execwatch *execwatch__open(const char *const *paths, int n, int *err,
				  const char **why);
void execwatch__close(struct execwatch *w);
/* The next event, waiting up to @timeout_ms (-1 forever). 1 and @ev; 0
 * timed out; -EINTR a signal came; other -errno. */
int execwatch__next(struct execwatch *w, struct execwatch_event *ev,
		    int timeout_ms);
/* Arm the watch: the next match is stopped. */
int execwatch__arm(struct execwatch *w);
/* Resumes a process a match stopped (SIGCONT). 0 or -errno. */
int execwatch__resume(pid_t pid);
/* Matches seen while disarmed since the watch was opened. */
uint64_t execwatch__missed(const struct execwatch *w);
#endif

#endif
