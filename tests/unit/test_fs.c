/*
 * fs: replacing files, durably or not, and what a signal does to it.
 *
 * This binary defines its own fsync() and fdatasync(): calls from libhydro,
 * linked into it statically, come here first, and the next `eintr` of them
 * fail with EINTR, as they may when a signal handler installed without
 * SA_RESTART interrupts them.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "fs.h"
#include "state.h"
#include "xmalloc.h"
#include "test.h"

static int eintr, interrupted;

static int
interrupt(void)
{
	if (eintr > 0) {
		eintr--;
		interrupted++;
		errno = EINTR;
		return 1;
	}
	return 0;
}

int
fsync(int fd)
{
	return interrupt() ? -1 : (int)syscall(SYS_fsync, fd);
}

int
fdatasync(int fd)
{
	return interrupt() ? -1 : (int)syscall(SYS_fdatasync, fd);
}



static size_t
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	while (d && (de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	if (d)
		closedir(d);
	return n;
}

static void
check_contents(const char *path, const char *want)
{
	struct buf b = BUF_INIT;

	CHECK_INT(read_file(path, &b), 0);
	CHECK_STR(buf_str(&b), want);
	buf_release(&b);
}

TEST(replace_durably_or_not)
{
	char *dir = test_tmpdir("fs"), *path = path_join(dir, "f");
	struct stat st;

	CHECK_INT(write_file_replace(path, "one\n", 4, 0600, 0), 0);
	check_contents(path, "one\n");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK_INT(write_file_replace(path, "two\n", 4, 0600, 1), 0);
	check_contents(path, "two\n");
	CHECK_INT(write_file_atomic(path, "three\n", 6, 0644), 0);
	check_contents(path, "three\n");
	CHECK_INT(count_entries(dir), 1);	/* no temporary left */
	remove_tree(dir);
	free(path);
	free(dir);
}

TEST(a_failed_replace_leaves_the_file)
{
	char *dir = test_tmpdir("fs"), *path = path_join(dir, "f");
	char *sub = path_join(dir, "missing/f");

	CHECK_INT(write_file_atomic(path, "kept\n", 5, 0644), 0);
	error_set_reporter(test_quiet, NULL);
	CHECK_INT(write_file_replace(sub, "x", 1, 0644, 0), -1);
	error_set_reporter(NULL, NULL);
	CHECK(strstr(error_last(), "cannot create") != NULL);
	check_contents(path, "kept\n");
	CHECK_INT(count_entries(dir), 1);
	remove_tree(dir);
	free(sub);
	free(path);
	free(dir);
}

TEST(an_interrupted_fsync_is_retried)
{
	char *dir = test_tmpdir("fs"), *path = path_join(dir, "f");

	eintr = 2;	/* the file's and the directory's */
	interrupted = 0;
	CHECK_INT(write_file_atomic(path, "data\n", 5, 0644), 0);
	CHECK_INT(interrupted, 2);
	check_contents(path, "data\n");
	CHECK_INT(count_entries(dir), 1);
	eintr = 0;
	remove_tree(dir);
	free(path);
	free(dir);
}

/* a durable record's journal line is fdatasync'ed: EINTR is no failure */
TEST(an_interrupted_journal_sync_is_retried)
{
	static const struct state_kind vm = { "vm-fs-test", NULL, 1, NULL };
	char *dir = test_tmpdir("fs");
	struct state *st;

	state_register(&vm);
	st = state_open(dir);
	REQUIRE(st != NULL);
	eintr = 1;
	interrupted = 0;
	CHECK_INT(state_add(st, "vm-fs-test", "a", NULL), 0);
	CHECK_INT(interrupted, 1);
	CHECK_INT(state_count(st), 1);
	eintr = 0;
	state_close(st);
	st = state_open(dir);
	REQUIRE(st != NULL);
	CHECK_INT(state_count(st), 1);
	state_close(st);
	remove_tree(dir);
	free(dir);
}

TEST(stale_temporaries)
{
	char *name;
	pid_t dead;

	dead = test_dead_pid();
	REQUIRE(dead > 0);
	name = xasprintf("index.tmp.%ld", (long)dead);
	CHECK(path_stale_temp(name));
	free(name);
	name = xasprintf("a.tmp.b.tmp.%ld", (long)dead);
	CHECK(path_stale_temp(name));
	free(name);
	name = xasprintf("index.tmp.%ld", (long)getpid());
	CHECK(!path_stale_temp(name));
	free(name);
	CHECK(!path_stale_temp("index.tmp.1"));	/* init: alive, not ours */
	CHECK(!path_stale_temp("index"));
	CHECK(!path_stale_temp("index.tmp."));
	CHECK(!path_stale_temp("index.tmp.12x"));
	CHECK(!path_stale_temp("index.tmp.-5"));
}

static int
note_dir(const char *d, void *arg)
{
	struct buf *seen = arg;

	buf_printf(seen, "%s;", d);
	return !strcmp(d, "/a") ? 7 : 0;
}

TEST(walking_up_stops_at_the_top_the_root_or_a_hit)
{
	struct buf seen = BUF_INIT;

	CHECK_INT(path_walk_up("/x/y/z", "/x/y", note_dir, &seen), 0);
	CHECK_STR(buf_str(&seen), "/x/y/z;/x/y;");
	seen.len = 0;
	CHECK_INT(path_walk_up("/x/y", NULL, note_dir, &seen), 0);
	CHECK_STR(buf_str(&seen), "/x/y;/x;/;");
	seen.len = 0;
	CHECK_INT(path_walk_up("/a/b/c", NULL, note_dir, &seen), 7);
	CHECK_STR(buf_str(&seen), "/a/b/c;/a/b;/a;");
	seen.len = 0;
	CHECK_INT(path_walk_up("p/q", NULL, note_dir, &seen), 0);
	CHECK_STR(buf_str(&seen), "p/q;p;");
	buf_release(&seen);
}

int
main(void)
{
	RUN(replace_durably_or_not);
	RUN(a_failed_replace_leaves_the_file);
	RUN(an_interrupted_fsync_is_retried);
	RUN(an_interrupted_journal_sync_is_retried);
	RUN(stale_temporaries);
	RUN(walking_up_stops_at_the_top_the_root_or_a_hit);
	return TEST_EXIT();
}
