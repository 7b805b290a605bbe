// SPDX-License-Identifier: MIT
/* Go build information (include/cgoprof/buildinfo.h). .go.buildinfo is a
 * 32-byte header ("\xff Go buildinf:", pointer size, flags) followed, in
 * Go 1.18+ (flags & 2), by two varint-prefixed strings, the version and
 * the module information; before 1.18 by two pointers to Go string
 * headers {data, len} (relocated in a PIE: the value may be in a
 * relocation's addend). The module information is debug.BuildInfo's text
 * between two 16-byte sentinels. Every read goes through the region
 * checks of the pclntab reader. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/buildinfo.h"
#include "pclntab_internal.h"

#define MODINFO_SENTINEL_LEN 16
#define MODINFO_MAX (16u << 20)

static const char modinfo_start[MODINFO_SENTINEL_LEN] =
	"0w\xaf\x0c\x92t\x08\x02\x41\xe1\xc1\x07\xe6\xd6\x18\xe6";
static const char modinfo_end[MODINFO_SENTINEL_LEN] =
	"\xf9\x32\x43\x31\x86\x18\x20\x72\x00\x82\x42\x10\x41\x16\xd8\xf2";

static char *strndup_checked(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

/* Go's strconv.Quote undone for the escapes a build setting can hold;
 * @s of @n bytes not quoted is copied as it is. */
static char *unquote(const char *s, size_t n)
{
	char *d, *o;

	if (n < 2 || s[0] != '"' || s[n - 1] != '"')
		return strndup_checked(s, n);
	d = malloc(n);
	if (!d)
		return NULL;
	o = d;
	for (size_t i = 1; i + 1 < n; i++) {
		if (s[i] == '\\' && i + 2 < n) {
			char c = s[++i];

			*o++ = c == 'n' ? '\n' : c == 't' ? '\t' : c;
		} else {
			*o++ = s[i];
		}
	}
	*o = 0;
	return d;
}

/* Splits @line (@n bytes) at tabs into at most @max fields. */
static int split_tabs(const char *line, size_t n, const char **f, size_t *len,
		      int max)
{
	int k = 0;
	size_t start = 0;

	for (size_t i = 0; i <= n && k < max; i++) {
		if (i == n || line[i] == '\t') {
			f[k] = line + start;
			len[k] = i - start;
			k++;
			start = i + 1;
		}
	}
	return k;
}

static int module_set(struct go_module *m, const char **f, size_t *len,
		      int nf)
{
	m->path = strndup_checked(f[1], len[1]);
	m->version = strndup_checked(nf > 2 ? f[2] : "", nf > 2 ? len[2] : 0);
	m->sum = strndup_checked(nf > 3 ? f[3] : "", nf > 3 ? len[3] : 0);
	if (!m->path || !m->version || !m->sum)
		return -ENOMEM;
	return 0;
}

static int line_parse(struct go_buildinfo *bi, const char *line, size_t n,
		      struct go_module **last)
{
	const char *f[4];
	size_t len[4];
	int nf = split_tabs(line, n, f, len, 4);

	if (nf < 2)
		return 0;
	if (len[0] == 4 && !memcmp(f[0], "path", 4)) {
		free(bi->path);
		bi->path = strndup_checked(f[1], len[1]);
		return bi->path ? 0 : -ENOMEM;
	}
	if (len[0] == 3 && !memcmp(f[0], "mod", 3)) {
		free(bi->main.path);
		free(bi->main.version);
		free(bi->main.sum);
		memset(&bi->main, 0, sizeof(bi->main));
		*last = &bi->main;
		return module_set(&bi->main, f, len, nf);
	}
	if (len[0] == 3 && !memcmp(f[0], "dep", 3)) {
		struct go_module *deps;

		deps = realloc(bi->deps, (bi->ndeps + 1) * sizeof(*deps));
		if (!deps)
			return -ENOMEM;
		bi->deps = deps;
		memset(&deps[bi->ndeps], 0, sizeof(*deps));
		*last = &deps[bi->ndeps++];
		return module_set(*last, f, len, nf);
	}
	if (len[0] == 2 && !memcmp(f[0], "=>", 2)) {
		char *r;
		size_t rl = len[1] + (nf > 2 ? len[2] + 1 : 0);

		if (!*last || (*last)->replace)
			return -EINVAL;
		r = malloc(rl + 1);
		if (!r)
			return -ENOMEM;
		memcpy(r, f[1], len[1]);
		if (nf > 2) {
			r[len[1]] = ' ';
			memcpy(r + len[1] + 1, f[2], len[2]);
		}
		r[rl] = 0;
		(*last)->replace = r;
		return 0;
	}
	if (len[0] == 5 && !memcmp(f[0], "build", 5)) {
		struct go_setting *s;
		const char *kv = f[1];
		size_t kvlen = n - (size_t)(f[1] - line), eq;

		/* key=value; a key with '=' in it is quoted */
		if (kvlen && kv[0] == '"') {
			eq = 1;
			while (eq < kvlen && !(kv[eq] == '"' && kv[eq - 1] != '\\'))
				eq++;
			eq++;
		} else {
			eq = 0;
			while (eq < kvlen && kv[eq] != '=')
				eq++;
		}
		if (eq >= kvlen || kv[eq] != '=')
			return -EINVAL;
		s = realloc(bi->settings, (bi->nsettings + 1) * sizeof(*s));
		if (!s)
			return -ENOMEM;
		bi->settings = s;
		s = &s[bi->nsettings++];
		s->key = unquote(kv, eq);
		s->value = unquote(kv + eq + 1, kvlen - eq - 1);
		return s->key && s->value ? 0 : -ENOMEM;
	}
	return 0;
}

int go_buildinfo__parse_modinfo(const char *text, size_t len,
				struct go_buildinfo *bi)
{
	struct go_module *last = NULL;
	size_t pos = 0;
	int err;

	if (len > MODINFO_MAX)
		return -EINVAL;
	if (len >= 2 * MODINFO_SENTINEL_LEN &&
	    !memcmp(text, modinfo_start, MODINFO_SENTINEL_LEN) &&
	    !memcmp(text + len - MODINFO_SENTINEL_LEN, modinfo_end,
		    MODINFO_SENTINEL_LEN)) {
		text += MODINFO_SENTINEL_LEN;
		len -= 2 * MODINFO_SENTINEL_LEN;
	}
	if (memchr(text, 0, len))
		return -EINVAL;
	bi->has_modinfo = len > 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		err = line_parse(bi, text + pos, n, &last);
		if (err)
			return err;
		pos += n + 1;
	}
	return 0;
}

/* Go string header {data, len} at @vaddr: the bytes, or NULL. */
static const uint8_t *go_string(Elf *elf, const struct region *regions,
				size_t n, uint64_t vaddr, uint64_t *len)
{
	const uint8_t *hdr = pcln_regions_ptr(regions, n, vaddr, 16);
	uint64_t data;

	if (!hdr)
		return NULL;
	data = le64(hdr);
	*len = le64(hdr + 8);
	if (data == 0 && *len)
		pcln_reloc_addend(elf, vaddr, &data);
	if (*len == 0 || *len > MODINFO_MAX)
		return NULL;
	return pcln_regions_ptr(regions, n, data, *len);
}

/* Pointer at @p (file bytes of link-time @vaddr): the value, or the
 * addend of its relocation in a PIE. */
static uint64_t pointer_at(Elf *elf, const uint8_t *p, uint64_t vaddr)
{
	uint64_t v = le64(p);

	if (v == 0)
		pcln_reloc_addend(elf, vaddr, &v);
	return v;
}

static int header_parse(Elf *elf, const struct region *regions, size_t n,
			const uint8_t *p, uint64_t avail, uint64_t vaddr,
			struct go_buildinfo *bi)
{
	const uint8_t *s, *m = NULL;
	uint64_t slen, mlen = 0;

	if (avail < BUILDINFO_HEADER_LEN)
		return -EINVAL;
	if (p[15] & 2) {
		uint64_t pos = BUILDINFO_HEADER_LEN;
		uint32_t v;

		if (pcln_read_uvarint(p, &pos, avail, &v) ||
		    !span_fits(pos, v, avail))
			return -EINVAL;
		s = p + pos;
		slen = v;
		pos += v;
		if (pcln_read_uvarint(p, &pos, avail, &v) ||
		    !span_fits(pos, v, avail))
			return -EINVAL;
		m = p + pos;
		mlen = v;
	} else {
		if (p[14] != 8 || (p[15] & 1))
			return -EINVAL; /* only 64-bit little endian */
		s = go_string(elf, regions, n,
			      pointer_at(elf, p + 16, vaddr + 16), &slen);
		if (!s)
			return -EINVAL;
		m = go_string(elf, regions, n,
			      pointer_at(elf, p + 24, vaddr + 24), &mlen);
		if (!m)
			mlen = 0;
	}
	if (slen == 0 || slen > BUILDINFO_MAX_VERSION || memchr(s, 0, slen))
		return -EINVAL;
	bi->version = strndup_checked((const char *)s, slen);
	if (!bi->version)
		return -ENOMEM;
	bi->source = GO_VERSION_BUILDINFO;
	if (mlen == 0)
		return 0;
	return go_buildinfo__parse_modinfo((const char *)m, mlen, bi);
}

/* runtime.buildVersion from .symtab: a Go string in the data. */
static int runtime_version(Elf *elf, const struct region *regions, size_t n,
			   struct go_buildinfo *bi)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;
		size_t count;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_SYMTAB ||
		    shdr.sh_entsize == 0)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		count = data->d_size / shdr.sh_entsize;
		for (size_t i = 0; i < count; i++) {
			const uint8_t *s;
			const char *name;
			uint64_t len;
			GElf_Sym sym;

			if (!gelf_getsym(data, (int)i, &sym))
				break;
			name = elf_strptr(elf, shdr.sh_link, sym.st_name);
			if (!name || strcmp(name, "runtime.buildVersion"))
				continue;
			s = go_string(elf, regions, n, sym.st_value, &len);
			if (!s || len > BUILDINFO_MAX_VERSION ||
			    memchr(s, 0, len))
				return -EINVAL;
			bi->version = strndup_checked((const char *)s, len);
			if (!bi->version)
				return -ENOMEM;
			bi->source = GO_VERSION_RUNTIME;
			return 0;
		}
	}
	return -ENODATA;
}

/* "go1.26.8", "go1.22rc1", "go1.21.0 X:boringcrypto": a Go version. */
static bool is_go_version(const uint8_t *s, uint64_t len)
{
	uint64_t i = 4;

	if (len < 5 || len > 64 || memcmp(s, "go1.", 4))
		return false;
	while (i < len && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
		i++;
	if (i == 4 || s[i - 1] == '.')
		return false;
	for (; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

static int version_found(const uint8_t *s, uint64_t len,
			 struct go_buildinfo *bi)
{
	bi->version = strndup_checked((const char *)s, len);
	if (!bi->version)
		return -ENOMEM;
	bi->source = GO_VERSION_RUNTIME;
	return 0;
}

/* A stripped binary: runtime.buildVersion is a Go string header {data,
 * len} in the data whose bytes are a Go version; in a PIE its data
 * pointer is a relocation's addend. */
static int runtime_version_scan(Elf *elf, const struct region *regions,
				size_t n, struct go_buildinfo *bi)
{
	Elf_Scn *scn = NULL;

	for (size_t i = 0; i < n; i++) {
		const struct region *r = &regions[i];

		if (*r->name && strcmp(r->name, ".data") &&
		    strcmp(r->name, ".noptrdata") &&
		    strcmp(r->name, ".data.rel.ro"))
			continue;
		for (uint64_t off = (8 - (r->vaddr & 7)) & 7;
		     r->size >= 16 && off <= r->size - 16; off += 8) {
			uint64_t len = le64(r->bytes + off + 8), ptr;
			const uint8_t *s;

			if (len < 5 || len > 64)
				continue;
			ptr = le64(r->bytes + off);
			s = pcln_regions_ptr(regions, n, ptr, len);
			if (s && is_go_version(s, len))
				return version_found(s, len, bi);
		}
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA ||
		    sh.sh_entsize == 0 || !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t k = 0; k < d->d_size / sh.sh_entsize; k++) {
			const uint8_t *lp, *s;
			GElf_Rela rela;
			uint64_t len;

			if (!gelf_getrela(d, (int)k, &rela))
				break;
			if (GELF_R_TYPE(rela.r_info) != R_X86_64_RELATIVE)
				continue;
			lp = pcln_regions_ptr(regions, n, rela.r_offset + 8, 8);
			if (!lp)
				continue;
			len = le64(lp);
			if (len < 5 || len > 64)
				continue;
			s = pcln_regions_ptr(regions, n, (uint64_t)rela.r_addend,
					     len);
			if (s && is_go_version(s, len))
				return version_found(s, len, bi);
		}
	}
	return -ENODATA;
}

int go_buildinfo__read(Elf *elf, struct go_buildinfo *bi)
{
	struct region_buf rbuf;
	struct region *regions = NULL;
	const struct region *r;
	size_t nregions = 0;
	uint64_t off;
	int err;

	if (!elf || !bi)
		return -EINVAL;
	err = pcln_regions_collect(elf, -1, &regions, &nregions, &rbuf);
	if (err)
		return err;
	err = pcln_buildinfo_find(regions, nregions, &r, &off);
	if (err != -ENODATA) {
		if (!err)
			err = header_parse(elf, regions, nregions,
					   r->bytes + off, r->size - off,
					   r->vaddr + off, bi);
		goto out;
	}
	err = runtime_version(elf, regions, nregions, bi);
	if (err == -ENODATA)
		err = runtime_version_scan(elf, regions, nregions, bi);
out:
	free(regions);
	pcln_region_buf_free(&rbuf);
	return err;
}

const char *go_buildinfo__setting(const struct go_buildinfo *bi,
				  const char *key)
{
	for (size_t i = 0; i < bi->nsettings; i++)
		if (!strcmp(bi->settings[i].key, key))
			return bi->settings[i].value;
	return NULL;
}

static void module_release(struct go_module *m)
{
	free(m->path);
	free(m->version);
	free(m->sum);
	free(m->replace);
}

void go_buildinfo__release(struct go_buildinfo *bi)
{
	if (!bi)
		return;
	free(bi->version);
	free(bi->path);
	module_release(&bi->main);
	for (size_t i = 0; i < bi->ndeps; i++)
		module_release(&bi->deps[i]);
	free(bi->deps);
	for (size_t i = 0; i < bi->nsettings; i++) {
		free(bi->settings[i].key);
		free(bi->settings[i].value);
	}
	free(bi->settings);
	memset(bi, 0, sizeof(*bi));
}
