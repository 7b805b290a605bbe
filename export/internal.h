/* Shared inside export/: the profile checks every exporter runs first. Borrows the
 * profile it checks. */
#ifndef CGOPROF_EXPORT_INTERNAL_H
#define CGOPROF_EXPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgoprof/profile.h"

/* Checks that every index in @p points into its table (stacks -> locations,
 * locations -> mappings or UINT32_MAX), that every location has frames with
 * names and valid kinds (export/profile_check.c). Returns 0 or -EINVAL. */
int export__check_profile(const struct profile *p);

#endif
