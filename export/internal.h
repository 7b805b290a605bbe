/* Shared inside export/: the profile checks every exporter runs first, the
 * end of a write, text escaping. Borrows the profile it checks. */
#ifndef CGOPROF_EXPORT_INTERNAL_H
#define CGOPROF_EXPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cgoprof/profile.h"

/* Checks that every index in @p points into its table (stacks -> locations,
 * locations -> mappings or UINT32_MAX), that every location has frames with
 * names and valid kinds (export/profile_check.c). Returns 0 or -EINVAL. */
int export__check_profile(const struct profile *p);

/* The end of a writer (export/format.c): @f flushed; 0, -errno when the
 * flush fails, or -EIO when an earlier write did. */
int export__flush(FILE *f);

/* Text escaping (export/escape.c). */
/* Decodes one UTF-8 sequence at @s; its length, or 0 when the byte at @s
 * starts no valid sequence. */
size_t escape__utf8_decode(const unsigned char *s, uint32_t *cp);
/* XML 1.0 Char, less the controls a name has no business holding. */
bool escape__xml_char_ok(uint32_t cp);
/* @s as XML character data: & < > " ' escaped, bytes that are not valid
 * UTF-8 or not XML characters dropped, spaces as '_' when @underscores, at
 * most @max characters (SIZE_MAX: no limit). */
void escape__xml_n(FILE *f, const char *s, size_t max, bool underscores);
void escape__xml(FILE *f, const char *s);
/* The characters, and the bytes, escape__xml() writes for @s. */
size_t escape__xml_length(const char *s);
size_t escape__xml_bytes(const char *s);

#endif
