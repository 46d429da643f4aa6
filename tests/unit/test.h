/*
 * test.h: the unit test harness.
 *
 * A test file defines test functions with TEST(name) and lists them in
 * main() with RUN(name).  Each prints one TAP line, "ok - file: name" or
 * "not ok - file: name", which tests/run.sh counts.  CHECK() records a
 * failure with its line and goes on; REQUIRE() ends the test.
 */
#ifndef HYDRO_TEST_H
#define HYDRO_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"

static int test_failed_;
static int test_total_failed_;

#define TEST(name) static void test_##name(void)

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		test_failed_ = 1; \
	} \
} while (0)

#define REQUIRE(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "# %s:%d: requirement failed: %s\n", __FILE__, __LINE__, #cond); \
		test_failed_ = 1; \
		return; \
	} \
} while (0)

#define CHECK_STR(a, b) do { \
	const char *a_ = (a), *b_ = (b); \
	if (!a_ || !b_ || strcmp(a_, b_)) { \
		fprintf(stderr, "# %s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, \
		        __LINE__, #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
		test_failed_ = 1; \
	} \
} while (0)

#define CHECK_INT(a, b) do { \
	long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) { \
		fprintf(stderr, "# %s:%d: %s is %lld, expected %lld\n", __FILE__, \
		        __LINE__, #a, a_, b_); \
		test_failed_ = 1; \
	} \
} while (0)

#define RUN(name) do { \
	test_failed_ = 0; \
	test_##name(); \
	printf("%s - %s: %s\n", test_failed_ ? "not ok" : "ok", \
	       strrchr(__FILE__, '/') ? strrchr(__FILE__, '/') + 1 : __FILE__, #name); \
	fflush(stdout); \
	test_total_failed_ |= test_failed_; \
} while (0)

#define TEST_EXIT() (test_total_failed_ ? 1 : 0)

/* an error reporter that drops the messages: error_set_reporter(test_quiet, NULL) */
static inline void
test_quiet(enum error_level level, const char *msg, void *arg)
{
	(void)level;
	(void)msg;
	(void)arg;
}

/* the last message test_keep_last() was given ("" before any) */
static inline char *
test_last(void)
{
	static char last[4096];

	return last;
}

/* an error reporter that keeps the last message of any level:
 * error_set_reporter(test_keep_last, NULL), then test_last() */
static inline void
test_keep_last(enum error_level level, const char *msg, void *arg)
{
	(void)level;
	(void)arg;
	snprintf(test_last(), 4096, "%s", msg);
}

/* a new directory $TMPDIR/hydro-test-NAME.XXXXXX (malloc'd); the test removes it */
static inline char *
test_tmpdir(const char *name)
{
	const char *tmp = getenv("TMPDIR");
	char tmpl[4096];

	snprintf(tmpl, sizeof(tmpl), "%s/hydro-test-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	return mkdtemp(tmpl) ? strdup(tmpl) : NULL;
}

/* the pid of a process that has exited and been reaped: no process, for
 * as long as the system does not reuse it; -1 if fork failed */
static inline pid_t
test_dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	if (pid < 0 || waitpid(pid, NULL, 0) != pid)
		return -1;
	return pid;
}

#endif
