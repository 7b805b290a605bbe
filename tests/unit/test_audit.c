// SPDX-License-Identifier: MIT
/* Unit tests of cgoprof audit's readers: the module information of
 * .go.buildinfo (symbolizer/buildinfo.c), /etc/ld.so.cache
 * (symbolizer/linkage.c) on hand-built bytes, truncated and hostile ones
 * included; the glibc version order, the import groups, the baseline
 * reader; and go_buildinfo__read on real binaries of both build info
 * formats (Go 1.17's pointers, Go 1.19's and 1.26's inline strings) from
 * $CGOPROF_PCLNTAB_BINS (tests/unit/pclntab-bins.sh), skipped when absent
 * unless CGOPROF_REQUIRE_PERF=1. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cgoprof/audit.h>
#include <cgoprof/audit_report.h>
#include <cgoprof/buildinfo.h>
#include <cgoprof/linkage.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char modinfo[] =
	"path\texample.com/app/cmd/app\n"
	"mod\texample.com/app\t(devel)\t\n"
	"dep\tgithub.com/mattn/go-sqlite3\tv1.14.22\th1:abc=\n"
	"dep\tgolang.org/x/sys\tv0.1.0\th1:def=\n"
	"=>\t../sys\t\n"
	"build\t-buildmode=exe\n"
	"build\t-ldflags=\"-s -w\"\n"
	"build\tCGO_ENABLED=1\n"
	"build\tCGO_CPPFLAGS=\n"
	"build\t\"weird=key\"=v\n"
	"unknown\tline\n";

static void test_audit__modinfo_parse(void **state)
{
	struct go_buildinfo bi = {0};

	(void)state;
	assert_int_equal(go_buildinfo__parse_modinfo(modinfo, strlen(modinfo),
						     &bi),
			 0);
	assert_true(bi.has_modinfo);
	assert_string_equal(bi.path, "example.com/app/cmd/app");
	assert_string_equal(bi.main.path, "example.com/app");
	assert_string_equal(bi.main.version, "(devel)");
	assert_int_equal(bi.ndeps, 2);
	assert_string_equal(bi.deps[0].path, "github.com/mattn/go-sqlite3");
	assert_string_equal(bi.deps[0].version, "v1.14.22");
	assert_string_equal(bi.deps[0].sum, "h1:abc=");
	assert_null(bi.deps[0].replace);
	assert_string_equal(bi.deps[1].replace, "../sys ");
	assert_int_equal(bi.nsettings, 5);
	assert_string_equal(go_buildinfo__setting(&bi, "-ldflags"), "-s -w");
	assert_string_equal(go_buildinfo__setting(&bi, "CGO_ENABLED"), "1");
	assert_string_equal(go_buildinfo__setting(&bi, "CGO_CPPFLAGS"), "");
	assert_string_equal(go_buildinfo__setting(&bi, "weird=key"), "v");
	assert_null(go_buildinfo__setting(&bi, "GOOS"));
	go_buildinfo__release(&bi);
	assert_null(bi.path);
}

/* The sentinels Go writes around the text are taken off; a NUL inside
 * is refused, a replacement with nothing to replace too. */
static void test_audit__modinfo_hostile(void **state)
{
	static const char start[] =
		"0w\xaf\x0c\x92t\x08\x02\x41\xe1\xc1\x07\xe6\xd6\x18\xe6";
	static const char end[] =
		"\xf9\x32\x43\x31\x86\x18\x20\x72\x00\x82\x42\x10\x41\x16\xd8\xf2";
	char buf[256];
	struct go_buildinfo bi = {0};
	size_t n = 0;

	(void)state;
	memcpy(buf, start, 16);
	n = 16;
	memcpy(buf + n, "mod\tm\tv1\t\n", 10);
	n += 10;
	memcpy(buf + n, end, 16);
	n += 16;
	assert_int_equal(go_buildinfo__parse_modinfo(buf, n, &bi), 0);
	assert_string_equal(bi.main.path, "m");
	go_buildinfo__release(&bi);

	assert_int_equal(go_buildinfo__parse_modinfo("mod\ta\0b\n", 8, &bi),
			 -EINVAL);
	go_buildinfo__release(&bi);
	assert_int_equal(go_buildinfo__parse_modinfo("=>\tx\tv\n", 7, &bi),
			 -EINVAL);
	go_buildinfo__release(&bi);
	assert_int_equal(go_buildinfo__parse_modinfo("build\tnoequals\n", 15,
						     &bi),
			 -EINVAL);
	go_buildinfo__release(&bi);
	/* every prefix of a good text parses or fails cleanly */
	for (size_t i = 0; i <= strlen(modinfo); i++) {
		go_buildinfo__parse_modinfo(modinfo, i, &bi);
		go_buildinfo__release(&bi);
	}
}

/* ---- ld.so.cache ---- */

struct cache_builder {
	uint8_t buf[4096];
	size_t len;
};

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* A new-format cache (after @old old entries when @old >= 0) with the
 * entries {flags, key, value, hwcap}. */
static size_t cache_build(uint8_t *buf, int old, const uint32_t *flags,
			  const char *const *keys, const char *const *values,
			  const uint64_t *hwcaps, uint32_t n)
{
	size_t hdr = 0, strings;

	memset(buf, 0, 4096);
	if (old >= 0) {
		memcpy(buf, "ld.so-1.7.0", 11);
		put32(buf + 12, (uint32_t)old);
		hdr = (16 + (size_t)old * 12 + 7) & ~(size_t)7;
	}
	memcpy(buf + hdr, "glibc-ld.so.cache1.1", 20);
	put32(buf + hdr + 20, n);
	strings = 48 + n * 24;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *e = buf + hdr + 48 + i * 24;

		put32(e, flags[i]);
		put32(e + 4, (uint32_t)strings);
		strcpy((char *)buf + hdr + strings, keys[i]);
		strings += strlen(keys[i]) + 1;
		put32(e + 8, (uint32_t)strings);
		strcpy((char *)buf + hdr + strings, values[i]);
		strings += strlen(values[i]) + 1;
		memcpy(e + 16, &hwcaps[i], 8);
	}
	put32(buf + hdr + 24, (uint32_t)(strings - 48 - n * 24));
	return hdr + strings;
}

static void test_audit__ldso_cache(void **state)
{
	static const uint32_t flags[] = {0x0003, 0x0303, 0x0303, 0x0303,
					 0x0303};
	static const char *const keys[] = {"libz.so.1", "libz.so.1",
					   "libssl.so.3", "libssl.so.3",
					   "libm.so.6"};
	static const char *const values[] = {
		"/lib32/libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1",
		"/usr/lib/glibc-hwcaps/x86-64-v3/libssl.so.3",
		"/usr/lib/libssl.so.3", "/lib/libm.so.6"};
	static const uint64_t hwcaps[] = {0, 0, 1ull << 62, 0, 0};
	uint8_t buf[4096];
	struct ldso_cache *c;
	size_t len;

	(void)state;
	for (int old = -1; old <= 3; old += 4) {
		len = cache_build(buf, old, flags, keys, values, hwcaps, 5);
		c = ldso_cache__parse(buf, len);
		assert_non_null(c);
		assert_int_equal(ldso_cache__count(c), 5);
		/* the x86-64 entry, not the 32-bit one */
		assert_string_equal(ldso_cache__lookup(c, "libz.so.1"),
				    "/lib/x86_64-linux-gnu/libz.so.1");
		/* the baseline entry before a hwcaps one */
		assert_string_equal(ldso_cache__lookup(c, "libssl.so.3"),
				    "/usr/lib/libssl.so.3");
		assert_null(ldso_cache__lookup(c, "libnope.so"));
		ldso_cache__free(c);
		/* every truncation is refused or looks up safely */
		for (size_t cut = 0; cut < len; cut++) {
			c = ldso_cache__parse(buf, cut);
			if (c) {
				ldso_cache__lookup(c, "libz.so.1");
				ldso_cache__lookup(c, "libm.so.6");
			}
			ldso_cache__free(c);
		}
	}
	/* hostile: a count past the end, string offsets past the end */
	len = cache_build(buf, -1, flags, keys, values, hwcaps, 5);
	put32(buf + 20, 0x7fffffff);
	assert_null(ldso_cache__parse(buf, len));
	len = cache_build(buf, -1, flags, keys, values, hwcaps, 5);
	put32(buf + 48 + 4, 0xfffffff0);
	put32(buf + 48 + 24 + 8, (uint32_t)len - 1);
	c = ldso_cache__parse(buf, len);
	assert_non_null(c);
	/* the value at the last byte: an empty string, inside the cache */
	assert_string_equal(ldso_cache__lookup(c, "libz.so.1"), "");
	ldso_cache__free(c);
	assert_null(ldso_cache__parse("ld.so-1.7.0\0\xff\xff\xff\xff", 16));
	assert_null(ldso_cache__parse("nonsense", 8));
}

static void test_audit__ldso_cache_system(void **state)
{
	struct ldso_cache *c = ldso_cache__open(NULL);

	(void)state;
	if (!c)
		skip();
	assert_non_null(ldso_cache__lookup(c, "libc.so.6"));
	ldso_cache__free(c);
}

static void test_audit__glibc_cmp(void **state)
{
	(void)state;
	assert_true(glibc_version__cmp("2.34", "2.5") > 0);
	assert_true(glibc_version__cmp("2.2.5", "2.3") < 0);
	assert_int_equal(glibc_version__cmp("2.31", "2.31"), 0);
	assert_true(glibc_version__cmp("2.31.1", "2.31") > 0);
	assert_true(glibc_version__cmp("3", "2.99") > 0);
}

static void test_audit__import_groups(void **state)
{
	(void)state;
	assert_int_equal(audit_import_group__of("getaddrinfo"),
			 AUDIT_IMPORT_DNS);
	assert_int_equal(audit_import_group__of("getpwuid_r"),
			 AUDIT_IMPORT_USERS);
	assert_int_equal(audit_import_group__of("pthread_create"),
			 AUDIT_IMPORT_THREADS);
	assert_int_equal(audit_import_group__of("free"), AUDIT_IMPORT_MEMORY);
	assert_int_equal(audit_import_group__of("fwrite"), AUDIT_IMPORT_IO);
	assert_int_equal(audit_import_group__of("fork"), AUDIT_IMPORT_OTHER);
}

static void test_audit__baseline(void **state)
{
	static const char one[] =
		"{\"path\": \"/x/a\\\"b\",\n \"size\": 100,\n \"arch\": "
		"\"x86_64\",\n \"go\": null,\n \"sizes\": {\"go_text\": 1, "
		"\"c_text\": 2, \"rodata\": 3, \"pclntab\": 4, \"data\": 5, "
		"\"symbols_debug\": 6, \"other\": 79},\n \"findings\": []}\n";
	struct audit_baseline *b;
	char two[1024];
	size_t n;

	(void)state;
	assert_int_equal(audit_baseline__parse(one, strlen(one), &b, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(b[0].path, "/x/a\"b");
	assert_int_equal(b[0].size, 100);
	assert_int_equal(b[0].parts[AUDIT_OTHER], 79);
	audit_baseline__free(b, n);
	snprintf(two, sizeof(two), "[%s,\n%s]", one, one);
	assert_int_equal(audit_baseline__parse(two, strlen(two), &b, &n), 0);
	assert_int_equal(n, 2);
	audit_baseline__free(b, n);
	assert_int_equal(audit_baseline__parse("{}", 2, &b, &n), -EINVAL);
	for (size_t cut = 0; cut < strlen(one); cut++)
		if (!audit_baseline__parse(one, cut, &b, &n))
			audit_baseline__free(b, n);
}

/* ---- real binaries ---- */

static bool required(void)
{
	const char *req = getenv("CGOPROF_REQUIRE_PERF");

	return req && !strcmp(req, "1");
}

static void read_version(const char *dir, const char *tag, char *buf,
			 size_t size)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.version", dir, tag);
	buf[0] = 0;
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(buf, (int)size, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

static void test_audit__buildinfo_real(void **state)
{
	static const char *const tags[] = {"go117", "go119", "go126"};
	static const char *const variants[] = {"default", "s", "pie-s",
					       "nocgo-pie-s"};
	const char *dir = getenv("CGOPROF_PCLNTAB_BINS");
	unsigned seen = 0;

	(void)state;
	if (!dir)
		dir = "build/pclntab-bins";
	for (size_t t = 0; t < 3; t++) {
		char want[64];

		read_version(dir, tags[t], want, sizeof(want));
		if (!want[0])
			continue;
		for (size_t v = 0; v < 4; v++) {
			struct go_buildinfo bi = {0};
			struct elf_file f;
			char path[4096];

			snprintf(path, sizeof(path), "%s/%s-%s", dir, tags[t],
				 variants[v]);
			if (elf_file__open(path, &f))
				continue;
			assert_int_equal(go_buildinfo__read(f.elf, &bi), 0);
			assert_string_equal(bi.version, want);
			assert_int_equal(bi.source, GO_VERSION_BUILDINFO);
			assert_true(bi.has_modinfo);
			assert_non_null(bi.main.path);
			assert_string_equal(bi.main.path,
					    "cgoprof/fixtures/pclntab");
			/* settings came with Go 1.18 */
			if (t > 0)
				assert_non_null(
				    go_buildinfo__setting(&bi, "CGO_ENABLED"));
			go_buildinfo__release(&bi);
			elf_file__close(&f);
			seen++;
		}
	}
	if (!seen) {
		if (required())
			fail_msg("no binaries in %s (tests/unit/pclntab-bins.sh)",
				 dir);
		skip();
	}
}

static void test_audit__file_errors(void **state)
{
	struct elf_file f;

	(void)state;
	assert_int_equal(elf_file__open("/", &f), -EISDIR);
	assert_int_equal(elf_file__open("/dev/null", &f), -EINVAL);
	assert_int_equal(elf_file__open("/nonexistent/x", &f), -ENOENT);
	assert_int_equal(elf_file__open("/etc/hostname", &f), -ENOEXEC);
	assert_null(audit__file("/", NULL));
	assert_int_equal(errno, EISDIR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_audit__modinfo_parse),
		cmocka_unit_test(test_audit__modinfo_hostile),
		cmocka_unit_test(test_audit__ldso_cache),
		cmocka_unit_test(test_audit__ldso_cache_system),
		cmocka_unit_test(test_audit__glibc_cmp),
		cmocka_unit_test(test_audit__import_groups),
		cmocka_unit_test(test_audit__baseline),
		cmocka_unit_test(test_audit__buildinfo_real),
		cmocka_unit_test(test_audit__file_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
