// SPDX-License-Identifier: MIT
/* Text from the target (function, file and process names) made safe for
 * the formats that carry it: UTF-8 checked sequence by sequence, XML
 * character data escaped. Names are bytes from files and processes that
 * someone else controls. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "internal.h"

/* Decodes one UTF-8 sequence at @s; returns its length, or 0 when the byte
 * at @s starts no valid sequence. */
size_t escape__utf8_decode(const unsigned char *s, uint32_t *cp)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return c ? 1 : 0;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		if (c == 0xf4)
			hi = 0x8f; /* past U+10FFFF */
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		unsigned char cc = s[i];

		if (cc < lo || cc > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
		v = v << 6 | (cc & 0x3f);
	}
	*cp = v;
	return n;
}

/* XML 1.0 Char, less the controls a name has no business holding. */
bool escape__xml_char_ok(uint32_t cp)
{
	return (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
	       (cp >= 0x10000 && cp <= 0x10ffff);
}

/* Writes @s as XML character data: escapes & < > " ', drops bytes that are
 * not valid UTF-8 or not XML characters, turns spaces into '_' when
 * @underscores, and stops after @max characters (SIZE_MAX: no limit). */
void escape__xml_n(FILE *f, const char *s, size_t max, bool underscores)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t written = 0;

	while (u && *u && written < max) {
		uint32_t cp;
		size_t n = escape__utf8_decode(u, &cp);

		if (n == 0 || !escape__xml_char_ok(cp)) {
			u += n ? n : 1;
			continue;
		}
		switch (cp) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		case ' ':
			fputc(underscores ? '_' : ' ', f);
			break;
		default:
			fwrite(u, 1, n, f);
		}
		u += n;
		written++;
	}
}

void escape__xml(FILE *f, const char *s)
{
	escape__xml_n(f, s, SIZE_MAX, false);
}

/* The characters escape__xml() writes for @s. */
size_t escape__xml_length(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = 0;

	while (u && *u) {
		uint32_t cp;
		size_t n = escape__utf8_decode(u, &cp);

		if (n && escape__xml_char_ok(cp))
			len++;
		u += n ? n : 1;
	}
	return len;
}

/* The bytes escape__xml() writes for @s. */
size_t escape__xml_bytes(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t bytes = 0;

	while (u && *u) {
		uint32_t cp;
		size_t n = escape__utf8_decode(u, &cp);

		if (n && escape__xml_char_ok(cp))
			bytes += cp == '&'		   ? 5
				 : cp == '<' || cp == '>'  ? 4
				 : cp == '"' || cp == '\'' ? 6
							   : n;
		u += n ? n : 1;
	}
	return bytes;
}
