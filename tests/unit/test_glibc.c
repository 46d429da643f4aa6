/* Unit tests of glibc: the newest GLIBC_x.y a program built here needs,
 * read from its ELF version needs, against a host's glibc. */
#include <gnu/libc-version.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "buf.h"
#include "deploy.h"
#include "error.h"
#include "fs.h"
#include "glibc.h"
#include "test.h"
#include "xmalloc.h"

static struct buf said = BUF_INIT;

static void
keep(enum error_level level, const char *msg, void *arg)
{
	(void)level;
	(void)arg;
	buf_addstr(&said, msg);
	buf_addch(&said, '\n');
}

TEST(versions_compare_as_numbers)
{
	CHECK(glibc_compare("2.34", "2.4") > 0);
	CHECK(glibc_compare("2.2.5", "2.3") < 0);
	CHECK(glibc_compare("2.36", "2.36") == 0);
	CHECK(glibc_compare("2.17", "2.17.1") < 0);
	CHECK(glibc_compare("10.0", "9.99") > 0);
}

/* this test, built here, needs at most this machine's glibc */
TEST(a_program_built_here)
{
	char need[GLIBC_VERSION_MAX];

	CHECK_INT(glibc_needed("/proc/self/exe", need), 1);
	CHECK(glibc_compare(need, "2.2.5") >= 0);
	CHECK(glibc_compare(need, gnu_get_libc_version()) <= 0);
}

TEST(this_machine_runs_what_it_built)
{
	struct deployment *d = deployment_new("/tmp", "test.json");
	struct host *h = deploy_add_host(d, "box", "local");
	char have[GLIBC_VERSION_MAX];

	CHECK_INT(glibc_of_host(h, have), 1);
	CHECK_STR(have, gnu_get_libc_version());
	CHECK_INT(glibc_check(h, have, "/proc/self/exe", "svc"), 0);
	deployment_free(d);
}

/* a copy of this test whose version needs say GLIBC_9.x: the host's glibc
 * is older, and the error names both */
TEST(an_older_host_is_refused_naming_both_versions)
{
	struct deployment *d = deployment_new("/tmp", "test.json");
	struct host *h = deploy_add_host(d, "box", "local");
	char *top = test_tmpdir("glibc"), *copy, *p, need[GLIBC_VERSION_MAX], *want;
	struct buf b = BUF_INIT;

	REQUIRE(top);
	REQUIRE(read_file("/proc/self/exe", &b) == 0);
	for (p = b.data; p + 8 <= b.data + b.len; p++)
		if (!memcmp(p, "GLIBC_2.", 8))
			p[6] = '9';
	copy = path_join(top, "prog");
	REQUIRE(write_file_atomic(copy, b.data, b.len, 0755) == 0);
	CHECK_INT(glibc_needed(copy, need), 1);
	CHECK(need[0] == '9' && need[1] == '.');
	error_set_reporter(keep, NULL);
	CHECK_INT(glibc_check(h, gnu_get_libc_version(), copy, "svc"), -1);
	error_set_reporter(NULL, NULL);
	want = xasprintf("host 'box' has glibc %s, and '%s' of service 'svc' needs "
	                 "glibc %s: upgrade the host to glibc %s or newer, or build "
	                 "on a system with glibc %s or older\n", gnu_get_libc_version(),
	                 copy, need, need, gnu_get_libc_version());
	CHECK_STR(buf_str(&said), want);
	free(want);
	buf_release(&said);
	buf_release(&b);
	remove_tree(top);
	free(copy);
	free(top);
	deployment_free(d);
}

TEST(what_is_not_a_glibc_program)
{
	char need[GLIBC_VERSION_MAX];
	char *top = test_tmpdir("glibc"), *f;

	REQUIRE(top);
	f = path_join(top, "script");
	REQUIRE(write_file_atomic(f, "#!/bin/sh\n", 10, 0755) == 0);
	error_set_reporter(keep, NULL);
	CHECK_INT(glibc_needed(f, need), -1);
	CHECK(strstr(buf_str(&said), "not an ELF file") != NULL);
	buf_release(&said);
	/* damaged section headers are refused, never read past */
	REQUIRE(write_file_atomic(f, "\177ELF\2\1\1\0\0\0\0\0\0\0\0\0"
	                          "\3\0\76\0\1\0\0\0\0\0\0\0\0\0\0\0"
	                          "\0\0\0\0\0\0\0\0\377\377\377\0\0\0\0\0"
	                          "\0\0\0\0\100\0\70\0\0\0\100\0\377\0\0\0", 64, 0755) == 0);
	CHECK_INT(glibc_needed(f, need), -1);
	error_set_reporter(NULL, NULL);
	buf_release(&said);
	remove_tree(top);
	free(f);
	free(top);
}

int
main(void)
{
	RUN(versions_compare_as_numbers);
	RUN(a_program_built_here);
	RUN(this_machine_runs_what_it_built);
	RUN(an_older_host_is_refused_naming_both_versions);
	RUN(what_is_not_a_glibc_program);
	return TEST_EXIT();
}
