// SPDX-License-Identifier: MIT
/*
 * insample OBJ FREQ REPS -- CMD [ARG...]
 *
 * The time a sample's user callchain costs the sampled program, as the
 * kernel counts it (bench/insample.bpf.c, compiled to OBJ): REPS times,
 * CMD is run with cpu-clock events at FREQ on each CPU (inherited by its
 * children), first with the program "walk" attached and then with
 * "empty", or the other way round (alternated). Per run: the program's
 * runs and its ns a run (kernel.bpf_stats_enabled must be 1; run as
 * root). Then the medians and their difference: the walk's ns a sample,
 * and the frames a walk gave. CMD's output goes to /dev/null.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define MAX_CPUS 256

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), dbl_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int prog_stats(int fd, unsigned long long *cnt, unsigned long long *ns)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*cnt = info.run_cnt;
	*ns = info.run_time_ns;
	return 0;
}

/* CMD once, @prog on its cpu-clock events; its runs and ns in @cnt, @ns */
static int run_once(int prog, int freq, char **cmd, unsigned long long *cnt,
		    unsigned long long *ns)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int go[2], fds[MAX_CPUS], status, err = 0;
	unsigned long long c0 = 0, n0 = 0, c1 = 0, n1 = 0;
	pid_t pid;
	char c = 0;

	if (ncpu < 1 || ncpu > MAX_CPUS || pipe(go))
		return -EINVAL;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		int null = open("/dev/null", O_WRONLY);

		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(126);
		if (null >= 0)
			dup2(null, 1);
		execvp(cmd[0], cmd);
		_exit(127);
	}
	close(go[0]);
	for (long i = 0; i < ncpu; i++) {
		struct perf_event_attr a = {
			.size = sizeof(a),
			.type = PERF_TYPE_SOFTWARE,
			.config = PERF_COUNT_SW_CPU_CLOCK,
			.freq = 1,
			.sample_freq = (__u64)freq,
			.sample_type = PERF_SAMPLE_IP,
			.inherit = 1,
			.exclude_hv = 1,
		};

		fds[i] = (int)syscall(SYS_perf_event_open, &a, pid, (int)i, -1,
				      PERF_FLAG_FD_CLOEXEC);
		if (fds[i] < 0 || ioctl(fds[i], PERF_EVENT_IOC_SET_BPF, prog)) {
			err = -errno;
			fprintf(stderr, "insample: cpu %ld: %s\n", i,
				strerror(errno));
			ncpu = fds[i] < 0 ? i : i + 1;
			break;
		}
	}
	if (!err)
		err = prog_stats(prog, &c0, &n0);
	/* on an error, the child is closed out before it runs CMD */
	if (!err && write(go[1], "x", 1) != 1)
		err = -EPIPE;
	close(go[1]);
	if (waitpid(pid, &status, 0) < 0 && !err)
		err = -errno;
	if (!err && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		fprintf(stderr, "insample: %s failed\n", cmd[0]);
		err = -ECHILD;
	}
	if (!err)
		err = prog_stats(prog, &c1, &n1);
	for (long i = 0; i < ncpu; i++)
		close(fds[i]);
	if (!err) {
		*cnt = c1 - c0;
		*ns = n1 - n0;
	}
	return err;
}

int main(int argc, char **argv)
{
	const char *names[2] = { "walk", "empty" };
	struct bpf_object *obj;
	int progs[2], map, freq, reps;
	double *per[2];
	unsigned long long frames = 0, walks = 0;
	__u32 k0 = 0, k1 = 1;

	if (argc < 6 || strcmp(argv[4], "--")) {
		fprintf(stderr,
			"usage: insample OBJ FREQ REPS -- CMD [ARG...]\n");
		return 2;
	}
	freq = atoi(argv[2]);
	reps = atoi(argv[3]);
	if (freq <= 0 || reps <= 0) {
		fprintf(stderr, "insample: FREQ and REPS must be positive\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "insample: cannot load %s\n", argv[1]);
		return 1;
	}
	for (int p = 0; p < 2; p++) {
		struct bpf_program *bp =
			bpf_object__find_program_by_name(obj, names[p]);

		progs[p] = bp ? bpf_program__fd(bp) : -1;
		per[p] = calloc((size_t)reps, sizeof(double));
		if (progs[p] < 0 || !per[p])
			return 1;
	}
	map = bpf_object__find_map_fd_by_name(obj, "walked");
	for (int r = 0; r < reps; r++) {
		for (int i = 0; i < 2; i++) {
			int p = (r + i) % 2;
			unsigned long long cnt = 0, ns = 0;
			int err = run_once(progs[p], freq, argv + 5, &cnt, &ns);

			if (err)
				return 1;
			if (!cnt) {
				fprintf(stderr, "insample: %s never ran: is "
						"kernel.bpf_stats_enabled 1?\n",
					names[p]);
				return 1;
			}
			per[p][r] = (double)ns / (double)cnt;
			printf("rep %d %s runs %llu ns/run %.0f\n", r, names[p],
			       cnt, per[p][r]);
		}
	}
	if (map >= 0) {
		bpf_map_lookup_elem(map, &k0, &frames);
		bpf_map_lookup_elem(map, &k1, &walks);
	}
	{
		double w = median(per[0], reps), e = median(per[1], reps);

		printf("walk %.0f ns/run, empty %.0f ns/run (medians of %d): the "
		       "user callchain %.0f ns a sample, %.1f frames a walk\n",
		       w, e, reps, w - e,
		       walks ? (double)frames / (double)walks : 0.0);
	}
	bpf_object__close(obj);
	return 0;
}
