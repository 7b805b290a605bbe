// SPDX-License-Identifier: MIT
/*
 * What a sample's user callchain costs the sampled program: the kernel's
 * walk of the user frame pointers, which cgoprof asks for
 * (exclude_callchain_user = 0) and `perf record --call-graph dwarf` does
 * not. bench/insample.c attaches one of these programs to cpu-clock
 * events on a workload and reads the kernel's own count of their time
 * (kernel.bpf_stats_enabled): "walk" makes the same walk through
 * bpf_get_stack(BPF_F_USER_STACK), which calls get_perf_callchain() as
 * the sample's callchain does; "empty" is the cost of running a program
 * at all. Their difference, a run, is the walk's time in the target's
 * context, a sample.
 *
 * Both return 0: the kernel then writes no sample (there is no ring), so
 * the rest of a sample's work is not done here.
 */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>

#define INSAMPLE_PERCPU_ARRAY 6		/* BPF_MAP_TYPE_PERCPU_ARRAY */
#define INSAMPLE_USER_STACK (1ULL << 8)	/* BPF_F_USER_STACK */
#define INSAMPLE_MAX_FRAMES 127		/* kernel.perf_event_max_stack */

char LICENSE[] SEC("license") = "GPL";

struct frames {
	__u64 ip[INSAMPLE_MAX_FRAMES];
};

struct {
	__uint(type, INSAMPLE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct frames);
} buf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} walked SEC(".maps");	/* [0] frames, [1] walks */

SEC("perf_event")
int empty(struct bpf_perf_event_data *ctx)
{
	(void)ctx;
	return 0;
}

SEC("perf_event")
int walk(struct bpf_perf_event_data *ctx)
{
	__u32 k = 0, k1 = 1;
	struct frames *f = bpf_map_lookup_elem(&buf, &k);
	__u64 *nframes = bpf_map_lookup_elem(&walked, &k);
	__u64 *nwalks = bpf_map_lookup_elem(&walked, &k1);
	long n;

	if (!f || !nframes || !nwalks)
		return 0;
	n = bpf_get_stack(ctx, f->ip, sizeof(f->ip), INSAMPLE_USER_STACK);
	if (n > 0)
		__sync_fetch_and_add(nframes, (__u64)n / sizeof(__u64));
	__sync_fetch_and_add(nwalks, 1);
	return 0;
}
