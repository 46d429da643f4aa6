/*
 * archive: packages are reproducible and unpack to what was packed; a
 * package that is hostile or damaged is refused with an error naming what
 * is wrong, and leaves nothing behind.  Hostile packages are written here
 * with libarchive directly, as an attacker would.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "buf.h"
#include "error.h"
#include "fs.h"
#include "hash.h"
#include "str.h"
#include "xmalloc.h"
#include "test.h"
#include "lib_files.h"

static char *top;
/* how many names dir holds, besides . and .. */
static int
count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int
pack_echo(const char *dir, char **path, struct hash *h)
{
	char *bin = path_join(top, "src/echo"), *conf = path_join(top, "src/echo.toml");
	struct package_file files[] = {
		{ bin, "bin/echo" },
		{ conf, "etc/echo.toml" },
	};
	struct package p = { "crate", "x86_64-unknown-linux-gnu", files, 2 };
	int r = archive_pack(&p, dir, path, h);

	free(bin);
	free(conf);
	return r;
}

TEST(pack_is_reproducible)
{
	char *a = path_join(top, "a"), *b = path_join(top, "b"), *pa = NULL, *pb = NULL;
	struct buf ba = BUF_INIT, bb = BUF_INIT;
	struct hash ha, hb, hf;
	char hex[HASH_HEX_LEN];

	REQUIRE(pack_echo(a, &pa, &ha) == 0);
	/* a later mtime, the same contents */
	test_put(top, "src/echo.toml", "port = 1\n", 0644);
	REQUIRE(pack_echo(b, &pb, &hb) == 0);
	REQUIRE(read_file(pa, &ba) == 0 && read_file(pb, &bb) == 0);
	CHECK(ba.len == bb.len && !memcmp(ba.data, bb.data, ba.len));
	CHECK(!memcmp(&ha, &hb, sizeof(ha)));
	/* the name is the hash of the bytes */
	hash_hex(&ha, hex);
	CHECK(strstr(pa, hex) != NULL);
	CHECK(str_ends(pa, archive_ext()));
	CHECK(hash_file(pa, &hf) == 0 && !memcmp(&hf, &ha, sizeof(hf)));
	/* packing again into the same folder keeps the one package */
	free(pb);
	pb = NULL;
	REQUIRE(pack_echo(a, &pb, NULL) == 0);
	CHECK_STR(pb, pa);
	CHECK_INT(count(a), 1);
	buf_release(&ba);
	buf_release(&bb);
	free(pa);
	free(pb);
	free(a);
	free(b);
}

TEST(unpack_gives_the_files)
{
	char *dir = path_join(top, "c"), *pkg = NULL, *dest = path_join(top, "c-out");
	char *bin = path_join(dest, "bin/echo"), *conf = path_join(dest, "etc/echo.toml");
	char *man = path_join(dest, PACKAGE_MANIFEST);
	struct buf b = BUF_INIT;
	struct hash h;
	struct stat st;

	REQUIRE(pack_echo(dir, &pkg, &h) == 0);
	REQUIRE(archive_unpack(pkg, dest, &h) == 0);
	REQUIRE(read_file(bin, &b) == 0);
	CHECK_STR(b.data, "#!/bin/sh\necho hi\n");
	CHECK(stat(bin, &st) == 0 && (st.st_mode & 0777) == 0755);
	CHECK(stat(conf, &st) == 0 && (st.st_mode & 0777) == 0644);
	CHECK(!path_exists(man));
	/* a second unpack into the same place is refused, the first is kept */
	error_set_reporter(test_keep_last, NULL);
	CHECK(archive_unpack(pkg, dest, &h) < 0);
	error_set_reporter(NULL, NULL);
	CHECK(strstr(test_last(), "exists already") != NULL);
	CHECK(path_exists(bin));
	buf_release(&b);
	free(pkg);
	free(dir);
	free(dest);
	free(bin);
	free(conf);
	free(man);
}

TEST(pack_refuses_bad_names)
{
	char *bin = path_join(top, "src/echo"), *dir = path_join(top, "d");
	struct package_file bad[][2] = {
		{ { bin, "../x" }, { bin, "y" } },
		{ { bin, "/etc/x" }, { bin, "y" } },
		{ { bin, "x" }, { bin, "x" } },
		{ { bin, "x" }, { bin, "x/y" } },
		{ { bin, PACKAGE_MANIFEST }, { bin, "y" } },
		{ { "/nonexistent/hydro", "x" }, { bin, "y" } },
	};
	size_t i;

	error_set_reporter(test_quiet, NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct package p = { "crate", "x86_64-unknown-linux-gnu", bad[i], 2 };

		CHECK(archive_pack(&p, dir, NULL, NULL) < 0);
	}
	error_set_reporter(NULL, NULL);
	CHECK(count(dir) <= 0);
	free(bin);
	free(dir);
}

/* an entry of a hand-made tar */
struct raw {
	const char *name;
	mode_t type;
	const char *data;	/* a file's contents or a link's target */
};

/* write entries as a gzip tar at path, then a manifest listing files
 * (NULL: each regular entry with its real hash) */
static void
craft(const char *path, const struct raw *r, size_t n, const char *manifest)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	struct buf m = BUF_INIT;
	struct hash h;
	char hex[HASH_HEX_LEN];
	size_t i;
	int first = 1;

	archive_write_add_filter_gzip(a);
	archive_write_set_format_pax_restricted(a);
	archive_write_open_filename(a, path);
	buf_addstr(&m, "{\"format\":1,\"kind\":\"crate\",\"target\":\"x\",\"files\":[");
	for (i = 0; i < n; i++) {
		archive_entry_clear(e);
		archive_entry_set_pathname(e, r[i].name);
		archive_entry_set_filetype(e, r[i].type);
		archive_entry_set_perm(e, 0644);
		if (r[i].type == AE_IFLNK) {
			archive_entry_set_symlink(e, r[i].data);
		} else if (r[i].type == AE_IFCHR) {
			archive_entry_set_rdevmajor(e, 1);
			archive_entry_set_rdevminor(e, 3);
		} else if (r[i].type == AE_IFREG) {
			archive_entry_set_size(e, (la_int64_t)strlen(r[i].data));
			hash_bytes(r[i].data, strlen(r[i].data), &h);
			hash_hex(&h, hex);
			buf_printf(&m, "%s{\"name\":\"%s\",\"sha256\":\"%s\"}",
			           first ? "" : ",", r[i].name, hex);
			first = 0;
		}
		archive_write_header(a, e);
		if (r[i].type == AE_IFREG)
			archive_write_data(a, r[i].data, strlen(r[i].data));
	}
	buf_addstr(&m, "]}");
	if (manifest) {
		buf_reset(&m);
		buf_addstr(&m, manifest);
	}
	archive_entry_clear(e);
	archive_entry_set_pathname(e, PACKAGE_MANIFEST);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)m.len);
	archive_write_header(a, e);
	archive_write_data(a, m.data, m.len);
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	buf_release(&m);
}

/* unpacking the crafted package fails, its message holds what, and the
 * folder it would go into holds nothing */
static void
refused(const char *tag, const struct raw *r, size_t n, const char *manifest,
        const char *what)
{
	char *dir = path_join(top, tag), *pkg, *dest;

	mkdir_p(dir, 0755);
	pkg = path_join(top, "hostile.tar.gz");
	dest = path_join(dir, "out");
	craft(pkg, r, n, manifest);
	error_set_reporter(test_keep_last, NULL);
	CHECK(archive_unpack(pkg, dest, NULL) < 0);
	error_set_reporter(NULL, NULL);
	if (getenv("SHOW"))
		fprintf(stderr, "# %s\n", test_last());
	if (!strstr(test_last(), what)) {
		fprintf(stderr, "# %s: \"%s\" does not say \"%s\"\n", tag, test_last(), what);
		test_failed_ = 1;
	}
	CHECK_INT(count(dir), 0);
	unlink(pkg);
	free(pkg);
	free(dest);
	free(dir);
}

TEST(unpack_refuses_hostile_packages)
{
	struct raw dotdot[] = { { "bin/ok", AE_IFREG, "fine" }, { "../x", AE_IFREG, "evil" } };
	struct raw absolute[] = { { "/etc/x", AE_IFREG, "evil" } };
	struct raw deep[] = { { "bin/../../x", AE_IFREG, "evil" } };
	struct raw escape[] = { { "bin/ok", AE_IFREG, "fine" },
	                        { "bin/link", AE_IFLNK, "../../etc" } };
	struct raw abslink[] = { { "link", AE_IFLNK, "/etc/passwd" } };
	struct raw device[] = { { "null", AE_IFCHR, "" } };
	struct raw fifo[] = { { "pipe", AE_IFIFO, "" } };
	struct raw ok[] = { { "bin/ok", AE_IFREG, "fine" } };
	struct raw twice[] = { { "bin/ok", AE_IFREG, "fine" }, { "bin/ok", AE_IFREG, "evil" } };
	struct hash h;
	char hex[HASH_HEX_LEN], missing[512];

	refused("dotdot", dotdot, 2, NULL, "'../x' leaves the package folder");
	refused("absolute", absolute, 1, NULL, "'/etc/x' is an absolute path");
	refused("deep", deep, 1, NULL, "leaves the package folder");
	refused("escape", escape, 2, NULL, "'bin/link' points outside the package");
	refused("abslink", abslink, 1, NULL, "points outside the package ('/etc/passwd')");
	refused("device", device, 1, NULL, "'null' is a device file");
	refused("fifo", fifo, 1, NULL, "'pipe' is a special file");
	refused("wronghash", ok, 1,
	        "{\"format\":1,\"files\":[{\"name\":\"bin/ok\",\"sha256\":"
	        "\"0000000000000000000000000000000000000000000000000000000000000000\"}]}",
	        "'bin/ok' has sha256 ");
	refused("unlisted", ok, 1, "{\"format\":1,\"files\":[]}",
	        "'bin/ok' is not in its manifest");
	hash_bytes("fine", 4, &h);
	hash_hex(&h, hex);
	snprintf(missing, sizeof(missing), "{\"format\":1,\"files\":["
	         "{\"name\":\"bin/ok\",\"sha256\":\"%s\"},"
	         "{\"name\":\"bin/gone\",\"sha256\":\"%s\"}]}", hex, hex);
	refused("missing", ok, 1, missing, "'bin/gone' is in its manifest but not in the package");
	refused("nomanifest", ok, 1, "", "its manifest is not JSON");
	refused("twice", twice, 2, NULL, "'bin/ok' is in it twice");
	refused("format", ok, 1, "{\"format\":9,\"files\":[]}", "format is not 1");
}

TEST(unpack_checks_the_package_hash)
{
	char *dir = path_join(top, "e"), *pkg = NULL, *dest = path_join(dir, "out");
	struct hash h;

	REQUIRE(pack_echo(dir, &pkg, &h) == 0);
	h.b[0] ^= 1;
	error_set_reporter(test_keep_last, NULL);
	CHECK(archive_unpack(pkg, dest, &h) < 0);
	error_set_reporter(NULL, NULL);
	CHECK(strstr(test_last(), "the package is damaged") != NULL);
	CHECK_INT(count(dir), 1);	/* the package alone */
	free(pkg);
	free(dest);
	free(dir);
}

TEST(unpack_refuses_a_truncated_package)
{
	char *dir = path_join(top, "f"), *pkg = NULL, *dest = path_join(dir, "out");
	struct stat st;

	REQUIRE(pack_echo(dir, &pkg, NULL) == 0);
	REQUIRE(stat(pkg, &st) == 0);
	REQUIRE(truncate(pkg, st.st_size / 2) == 0);
	error_set_reporter(test_quiet, NULL);
	CHECK(archive_unpack(pkg, dest, NULL) < 0);
	error_set_reporter(NULL, NULL);
	CHECK_INT(count(dir), 1);
	free(pkg);
	free(dest);
	free(dir);
}

int
main(void)
{
	if (!(top = test_tmpdir("archive")))
		return 1;
	test_put(top, "src/echo", "#!/bin/sh\necho hi\n", 0755);
	test_put(top, "src/echo.toml", "port = 1\n", 0644);
	RUN(pack_is_reproducible);
	RUN(unpack_gives_the_files);
	RUN(pack_refuses_bad_names);
	RUN(unpack_refuses_hostile_packages);
	RUN(unpack_checks_the_package_hash);
	RUN(unpack_refuses_a_truncated_package);
	remove_tree(top);
	free(top);
	return TEST_EXIT();
}
