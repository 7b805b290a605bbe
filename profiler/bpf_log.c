// SPDX-License-Identifier: MIT
/* libbpf's messages to the debug log (bpf_log.h). Its debug level is
 * dropped: the verifier's logs are long, and the loaders keep what they
 * need of them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <bpf/libbpf.h>

#include "cgoprof/bpf_log.h"
#include "cgoprof/log.h"

static int __attribute__((format(printf, 2, 0)))
print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *msg;
	int n;

	if (level == LIBBPF_DEBUG || (n = vasprintf(&msg, fmt, ap)) < 0)
		return 0;
	if (n && msg[n - 1] == '\n')
		msg[n - 1] = '\0';
	pr_debug("%s", msg);
	free(msg);
	return 0;
}

void bpf_log__init(void)
{
	libbpf_set_print(print_libbpf);
}
