// SPDX-License-Identifier: MIT
/* --exec for record and mem: the next start of a file, caught where it
 * happens (profiler/execwatch.c) and held until its events are open. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "cgoprof/clock.h"
#include "cgoprof/execwatch.h"
#include "cgoprof/gosnap.h"
#include "cgoprof/log.h"
#include "internal.h"

int cli__check_exec(const struct cli_common *co, bool pids, bool command)
{
	if (!co->exec) {
		if (co->timeout > 0) {
			cli__error("--timeout is for --exec");
			return -EINVAL;
		}
		return 0;
	}
	if (pids || command) {
		cli__error("--exec waits for a start: give no %s",
			   pids ? "-p PID" : "command");
		return -EINVAL;
	}
	if (access(co->exec, X_OK)) {
		cli__error("'%s' is not an executable file: %s", co->exec,
			   strerror(errno));
		return -EINVAL;
	}
	return 0;
}

int cli__catch_start(const struct cli_common *co, pid_t *pid,
		     struct execwatch **w)
{
	const char *paths[1] = { co->exec }, *why;
	uint64_t deadline = 0;
	int err;

	*pid = 0;
	/* loaded before: the start is held while its events open */
	gosnap__preload(co->stack_size);
	*w = execwatch__open(paths, 1, &err, &why);
	if (!*w) {
		if (err == -EPERM || err == -EACCES)
			cli__error("cannot watch for starts system-wide: %s",
				   why);
		else
			cli__error("cannot watch for starts of '%s': %s: %s",
				   co->exec, why, strerror(-err));
		return EXIT_FATAL;
	}
	if (co->timeout > 0)
		deadline = clock__ns(CLOCK_MONOTONIC) +
			   (uint64_t)(co->timeout * 1e9);
	pr_info("waiting for the next start of %s", co->exec);
	while (!cli_stop) {
		struct execwatch_event ev;
		uint64_t now = clock__ns(CLOCK_MONOTONIC);

		if (deadline && now >= deadline) {
			cli__error("--timeout: '%s' was not started within "
				   "%g s",
				   co->exec, co->timeout);
			break;
		}
		err = execwatch__next(*w, &ev, 100);
		if (err < 0 && err != -EINTR) {
			cli__error("the exec watch failed: %s", strerror(-err));
			break;
		}
		if (err == 1 && ev.stopped) {
			*pid = (pid_t)ev.pid;
			pr_info("caught pid %d", *pid);
			return 0;
		}
	}
	execwatch__close(*w);
	*w = NULL;
	return EXIT_PARTIAL;
}

void cli__release_start(struct execwatch *w, pid_t pid)
{
	if (!w)
		return;
	execwatch__resume(pid);
	execwatch__close(w);
}
