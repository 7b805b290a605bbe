/* Comparing Go function names of pclntab with those of .symtab, for the
 * tests that use one as the other's oracle. Included by test files only. */
#ifndef CGOPROF_TESTS_GONAMES_H
#define CGOPROF_TESTS_GONAMES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* @name without an ABI suffix, in @buf. */
static inline const char *strip_abi(const char *name, char *buf, size_t size)
{
	static const char *const suffixes[] = {".abi0", ".abiinternal"};
	size_t len = strlen(name);

	snprintf(buf, size, "%s", name);
	for (size_t i = 0; i < 2; i++) {
		size_t slen = strlen(suffixes[i]);

		if (len > slen && !strcmp(name + len - slen, suffixes[i]))
			buf[len - slen] = 0;
	}
	return buf;
}

/* Go writes '.' in .symtab where pclntab has U+00B7 (middle dot) in a few
 * generated names ("type:.eq.runtime.untracedG·7"), and before 1.21 the
 * pclntab abbreviates brackets to "[...]" ("type..eq.[...]internal/cpu.option"
 * for "[5]", "Pointer[...]" for "Pointer[interface {}]"). */
static inline bool same_name(const char *pcln, const char *sym)
{
	while (*pcln && *sym) {
		if ((uint8_t)pcln[0] == 0xc2 && (uint8_t)pcln[1] == 0xb7 &&
		    *sym == '.') {
			pcln += 2;
			sym++;
			continue;
		}
		if (!strncmp(pcln, "[...]", 5) && *sym == '[') {
			int depth = 0;

			do {
				depth += *sym == '[';
				depth -= *sym == ']';
				sym++;
			} while (*sym && depth > 0);
			pcln += 5;
			continue;
		}
		if (*pcln++ != *sym++)
			return false;
	}
	return *pcln == *sym;
}

#endif
