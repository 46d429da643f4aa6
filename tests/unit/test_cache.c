#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cache.h"
#include "error.h"
#include "fs.h"
#include "hash.h"
#include "xmalloc.h"
#include "test.h"



static void
put_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			perror("write");
		close(fd);
	}
}

/* set a file's mtime into the past, so that its hash is not racy */
static void
age(const char *path)
{
	struct timespec t[2];

	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= 10;
	t[1] = t[0];
	utimensat(AT_FDCWD, path, t, 0);
}

static struct cache_entry
entry(const char *name, const char *in, const char *out, int keybyte)
{
	struct cache_entry e;

	memset(&e, 0, sizeof(e));
	e.name = xstrdup(name);
	memset(e.key.b, keybyte, HASH_LEN);
	e.inputs = xcalloc(1, sizeof(*e.inputs));
	e.inputs[0].path = xstrdup(in);
	e.ninputs = 1;
	e.outputs = xcalloc(1, sizeof(*e.outputs));
	e.outputs[0].path = xstrdup(out);
	e.noutputs = 1;
	return e;
}

TEST(file_hashes_follow_contents)
{
	char *dir = test_tmpdir("cache"), *cd = path_join(dir, "cache"), *f = path_join(dir, "a");
	struct hash h1, h2, h3, want;
	struct cache *c;

	put_text(f, "hello\n");
	hash_bytes("hello\n", 6, &want);
	c = cache_open(cd);
	CHECK_INT(cache_hash_file(c, f, &h1), 0);
	CHECK(!memcmp(h1.b, want.b, HASH_LEN));
	/* the same byte count, changed at once: the racy rule sees it */
	put_text(f, "hallo\n");
	CHECK_INT(cache_hash_file(c, f, &h2), 0);
	CHECK(memcmp(h1.b, h2.b, HASH_LEN) != 0);
	/* touched, unchanged */
	age(f);
	CHECK_INT(cache_hash_file(c, f, &h3), 0);
	CHECK(!memcmp(h2.b, h3.b, HASH_LEN));
	CHECK_INT(cache_hash_file(c, "/nonexistent/x", &h3), 1);
	cache_free(c);
	remove_tree(dir);
	free(f);
	free(cd);
	free(dir);
}

TEST(entries_survive_a_restart_with_or_without_save)
{
	char *dir = test_tmpdir("cache"), *cd = path_join(dir, "cache");
	struct cache_entry e1 = entry("target a", "in a", "out a", 1);
	struct cache_entry e2 = entry("target b", "in b", "out b", 2);
	const struct cache_entry *got;
	struct cache *c;

	c = cache_open(cd);
	CHECK(cache_get(c, "target a") == NULL);
	CHECK_INT(cache_put(c, &e1, dir), 0);
	CHECK_INT(cache_save(c), 0);
	CHECK_INT(cache_put(c, &e2, dir), 0);
	cache_free(c);	/* killed before saving: e2 is a loose entry */

	c = cache_open(cd);
	got = cache_get(c, "target a");
	REQUIRE(got);
	CHECK(got->key.b[0] == 1);
	CHECK_STR(got->inputs[0].path, "in a");
	CHECK_STR(got->outputs[0].path, "out a");
	got = cache_get(c, "target b");
	REQUIRE(got);
	CHECK(got->key.b[5] == 2);
	CHECK_INT(cache_save(c), 0);
	cache_drop(c, "target a");
	CHECK_INT(cache_save(c), 0);
	cache_free(c);

	c = cache_open(cd);
	CHECK(cache_get(c, "target a") == NULL);
	CHECK(cache_get(c, "target b") != NULL);
	cache_free(c);
	cache_entry_release(&e1);
	cache_entry_release(&e2);
	remove_tree(dir);
	free(cd);
	free(dir);
}

TEST(a_truncated_index_keeps_its_whole_entries)
{
	char *dir = test_tmpdir("cache"), *cd = path_join(dir, "cache"), *idx = path_join(cd, "index");
	struct cache_entry e1 = entry("target a", "in", "out", 1);
	struct cache_entry e2 = entry("target b", "in", "out", 2);
	struct buf b = BUF_INIT;
	struct cache *c;
	int fd;

	c = cache_open(cd);
	cache_put(c, &e1, dir);
	cache_put(c, &e2, dir);
	cache_save(c);
	cache_free(c);
	REQUIRE(read_file(idx, &b) == 0);
	/* cut the file in the middle of the second entry */
	fd = open(idx, O_WRONLY | O_TRUNC);
	REQUIRE(fd >= 0);
	CHECK(write(fd, b.data, b.len - 40) == (ssize_t)(b.len - 40));
	close(fd);
	error_set_reporter(test_quiet, NULL);
	c = cache_open(cd);
	error_set_reporter(NULL, NULL);
	CHECK(cache_get(c, "target a") != NULL);
	CHECK(cache_get(c, "target b") == NULL);
	cache_free(c);

	/* a flipped byte in a recorded hash makes it differ: a rebuild, never a
	 * wrong skip; one in an entry's length drops the entry */
	b.data[strlen("hydro-cache 1\nt ")] ^= 1;
	write_file_atomic(idx, b.data, b.len, 0644);
	c = cache_open(cd);
	REQUIRE(cache_get(c, "target a") != NULL);
	CHECK(cache_get(c, "target a")->key.b[0] != 1);
	CHECK(cache_get(c, "target b") != NULL);
	cache_free(c);
	b.data[strlen("hydro-cache 1\nt ")] ^= 1;
	{
		char *len = strstr(b.data, "\ns ") + 3;

		*len = *len == '9' ? '1' : (char)(*len + 1);
	}
	write_file_atomic(idx, b.data, b.len, 0644);
	error_set_reporter(test_quiet, NULL);
	c = cache_open(cd);
	error_set_reporter(NULL, NULL);
	CHECK(cache_get(c, "target a") == NULL);
	CHECK(cache_get(c, "target b") != NULL);
	cache_free(c);

	/* garbage is no cache at all */
	write_file_atomic(idx, "junk", 4, 0644);
	error_set_reporter(test_quiet, NULL);
	c = cache_open(cd);
	error_set_reporter(NULL, NULL);
	CHECK(cache_get(c, "target a") == NULL);
	cache_free(c);
	buf_release(&b);
	cache_entry_release(&e1);
	cache_entry_release(&e2);
	remove_tree(dir);
	free(idx);
	free(cd);
	free(dir);
}

/* numbers too large for a long long in a damaged index are damage, not
 * overflow (undefined behaviour, caught by the sanitizers) */
TEST(huge_numbers_in_the_index_are_damage)
{
	char *dir = test_tmpdir("cache"), *cd = path_join(dir, "cache"), *idx = path_join(cd, "index");
	char hex[65], block[512], text[1024];
	struct cache *c;

	memset(hex, 'a', 64);
	hex[64] = '\0';
	REQUIRE(mkdir_p(cd, 0755) == 0);
	snprintf(block, sizeof(block),
	         "t %s target a\nd %s\nf %s 99999999999999999999999999 1 2 3 4 /x\n",
	         hex, dir, hex);
	snprintf(text, sizeof(text), "hydro-cache 1\n%ss %zu\ns 99999999999999999999999999\n",
	         block, strlen(block));
	put_text(idx, text);
	error_set_reporter(test_quiet, NULL);
	c = cache_open(cd);
	error_set_reporter(NULL, NULL);
	CHECK(cache_get(c, "target a") != NULL);
	cache_free(c);
	remove_tree(dir);
	free(idx);
	free(cd);
	free(dir);
}

/* an input that is a FIFO is refused, not opened (which would wait for a
 * writer forever) */
TEST(a_fifo_is_not_hashed)
{
	char *dir = test_tmpdir("cache"), *cd = path_join(dir, "cache"), *fifo = path_join(dir, "fifo");
	struct cache *c = cache_open(cd);
	struct hash h;

	REQUIRE(mkfifo(fifo, 0644) == 0);
	alarm(10);
	error_set_reporter(test_quiet, NULL);
	CHECK_INT(cache_hash_file(c, fifo, &h), -1);
	error_set_reporter(NULL, NULL);
	alarm(0);
	CHECK(strstr(error_last(), "not a regular file") != NULL);
	cache_free(c);
	remove_tree(dir);
	free(fifo);
	free(cd);
	free(dir);
}

TEST(stat_data_are_kept_across_runs)
{
	char *dir = test_tmpdir("cache"), *cd = path_join(dir, "cache"), *in = path_join(dir, "in");
	char *idx = path_join(cd, "index");
	struct cache_entry e = entry("t", "in", "in", 7);
	struct hash h;
	struct cache *c;
	struct stat st1, st2;

	put_text(in, "data");
	age(in);
	c = cache_open(cd);
	CHECK_INT(cache_hash_file(c, in, &h), 0);
	cache_put(c, &e, dir);
	CHECK_INT(cache_save(c), 0);
	cache_free(c);
	REQUIRE(stat(idx, &st1) == 0);
	/* nothing changed: the second run finds every hash trusted and has
	 * nothing to write */
	c = cache_open(cd);
	CHECK_INT(cache_hash_file(c, in, &h), 0);
	CHECK_INT(cache_save(c), 0);
	cache_free(c);
	REQUIRE(stat(idx, &st2) == 0);
	CHECK(st1.st_ino == st2.st_ino);
	cache_entry_release(&e);
	remove_tree(dir);
	free(idx);
	free(in);
	free(cd);
	free(dir);
}

/* a temporary entry left by a killed run goes when the cache is opened;
 * one whose writer still runs (here: this test) stays */
TEST(a_killed_runs_temporaries_are_removed)
{
	char *dir = test_tmpdir("cache"), *cd = path_join(dir, "cache"), *nd = path_join(cd, "new");
	char *stale, *live, *other;
	struct cache *c;
	pid_t dead;

	dead = test_dead_pid();
	REQUIRE(dead > 0);
	REQUIRE(mkdir_p(nd, 0755) == 0);
	stale = xasprintf("%s/0123abcd.tmp.%ld", nd, (long)dead);
	live = xasprintf("%s/4567abcd.tmp.%ld", nd, (long)getpid());
	other = xasprintf("%s/notes.txt", nd);
	put_text(stale, "half an entry");
	put_text(live, "being written");
	put_text(other, "not ours");
	c = cache_open(cd);
	CHECK(!path_exists(stale));
	CHECK(path_exists(live));
	CHECK(path_exists(other));
	cache_free(c);
	remove_tree(dir);
	free(stale);
	free(live);
	free(other);
	free(nd);
	free(cd);
	free(dir);
}

int
main(void)
{
	RUN(file_hashes_follow_contents);
	RUN(entries_survive_a_restart_with_or_without_save);
	RUN(a_truncated_index_keeps_its_whole_entries);
	RUN(stat_data_are_kept_across_runs);
	RUN(huge_numbers_in_the_index_are_damage);
	RUN(a_fifo_is_not_hashed);
	RUN(a_killed_runs_temporaries_are_removed);
	return TEST_EXIT();
}
