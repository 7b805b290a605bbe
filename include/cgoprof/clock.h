/* The time, in nanoseconds, as every part of cgoprof reads it (perf
 * records carry CLOCK_MONOTONIC times: use_clockid). */
#ifndef CGOPROF_CLOCK_H
#define CGOPROF_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock__ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#endif
