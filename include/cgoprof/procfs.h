/* Readers of /proc and /sys files: small, bounded, no state. The bottom
 * layer: every other layer may use them. */
#ifndef CGOPROF_PROCFS_H
#define CGOPROF_PROCFS_H

/* The integer at the start of a one-line file (a PMU's type, a sysctl),
 * or -1 when it cannot be read. */
int procfs__read_int(const char *path);

#endif
