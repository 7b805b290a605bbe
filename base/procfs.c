// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>

#include "cgoprof/procfs.h"

int procfs__read_int(const char *path)
{
	char buf[32] = "";
	FILE *f = fopen(path, "re");
	int v = -1;

	if (f) {
		if (fgets(buf, sizeof(buf), f))
			v = atoi(buf);
		fclose(f);
	}
	return v;
}
