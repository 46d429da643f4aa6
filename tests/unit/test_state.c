#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "fs.h"
#include "json.h"
#include "state.h"
#include "xmalloc.h"
#include "test.h"

static struct buf said = BUF_INIT;

static void
keep(enum error_level level, const char *msg, void *arg)
{
	(void)arg;
	buf_printf(&said, "%s: %s\n", level == LEVEL_ERROR ? "error" :
	           level == LEVEL_WARNING ? "warning" : "note", msg);
}


static int removed, refuse;

static int
remove_thing(const char *kind, const char *id, const cJSON *details)
{
	(void)kind;
	(void)details;
	if (refuse && !strcmp(id, "stuck"))
		return error("cannot remove '%s'", id);
	removed++;
	return 0;
}

static const struct state_kind thing_kind = { "thing", remove_thing, 0, NULL };
static const struct state_kind vm_kind = { "vm", remove_thing, 1, NULL };

TEST(records_survive_reopening)
{
	char *dir = test_tmpdir("state");
	struct state *st;
	const char *kind, *id, *status;
	const cJSON *details;
	cJSON *d;

	state_register(&thing_kind);
	st = state_open(dir);
	REQUIRE(st);
	CHECK_INT(state_count(st), 0);
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "name", "a");
	CHECK_INT(state_add(st, "thing", "a", d), 0);
	CHECK_INT(state_add(st, "thing", "b", NULL), 0);
	d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "pid", 42);
	CHECK_INT(state_update(st, "thing", "a", d), 0);
	CHECK_INT(state_add(st, "vm", "c", NULL), 0);
	CHECK_INT(state_remove(st, "vm", "c"), 0);
	CHECK_INT(state_remove(st, "vm", "never"), 0);
	state_close(st);

	st = state_open(dir);
	REQUIRE(st);
	CHECK_INT(state_count(st), 2);
	CHECK_INT(state_get(st, 0, &kind, &id, &status, &details), 0);
	CHECK_STR(kind, "thing");
	CHECK_STR(id, "a");
	CHECK_STR(status, "created");
	CHECK_STR(json_str(details, "name"), "a");
	CHECK(cJSON_GetObjectItem(details, "pid") != NULL);
	CHECK_INT(state_get(st, 1, &kind, &id, &status, &details), 0);
	CHECK_STR(status, "creating");
	CHECK_INT(state_get(st, 2, &kind, &id, &status, &details), -1);
	state_close(st);
	remove_tree(dir);
	free(dir);
}

TEST(an_empty_state_leaves_no_file)
{
	char *dir = test_tmpdir("state"), *path = path_join(dir, ".hydro/state.json");
	char *log = path_join(dir, ".hydro/state.log");
	struct state *st = state_open(dir);

	REQUIRE(st);
	state_add(st, "thing", "a", NULL);
	CHECK(path_exists(log));	/* on disk before the thing is made */
	state_remove(st, "thing", "a");
	CHECK(!path_exists(path));
	CHECK(!path_exists(log));
	state_close(st);
	remove_tree(dir);
	free(path);
	free(log);
	free(dir);
}

/* a holder killed between creating the journal and its first write leaves
 * an empty one: the next holder removes it */
TEST(an_empty_journal_left_by_a_kill_goes)
{
	char *dir = test_tmpdir("state"), *hd = path_join(dir, ".hydro");
	char *log = path_join(dir, ".hydro/state.log");
	struct state *st;

	REQUIRE(mkdir_p(hd, 0755) == 0);
	REQUIRE(write_file_atomic(log, "", 0, 0600) == 0);
	st = state_open(dir);
	REQUIRE(st);
	CHECK_INT((long)state_count(st), 0);
	state_close(st);
	CHECK(!path_exists(log));
	remove_tree(dir);
	free(hd);
	free(log);
	free(dir);
}

/* a holder killed at any instant: what it journaled is read back */
TEST(the_journal_survives_a_kill)
{
	char *dir = test_tmpdir("state"), *path = path_join(dir, ".hydro/state.json");
	char *log = path_join(dir, ".hydro/state.log");
	const char *status;
	const cJSON *details;
	struct state *st;
	struct buf b = BUF_INIT;
	pid_t pid;
	int wst, i;

	state_register(&thing_kind);
	pid = fork();
	if (pid == 0) {
		st = state_open(dir);
		for (i = 0; st && i < 50; i++) {
			char id[16];
			cJSON *d = cJSON_CreateObject();

			snprintf(id, sizeof(id), "t%d", i);
			state_add(st, "thing", id, NULL);
			cJSON_AddNumberToObject(d, "pid", i);
			state_update(st, "thing", id, d);
			if (i % 2)
				state_remove(st, "thing", id);
		}
		state_add(st, "thing", "last", NULL);
		_exit(0);	/* no state_close: as if killed */
	}
	REQUIRE(pid > 0);
	waitpid(pid, &wst, 0);
	CHECK(path_exists(log));
	CHECK(!path_exists(path));
	/* and a torn line at its end, as a crash in the middle of a write leaves */
	REQUIRE(read_file(log, &b) == 0);
	buf_addstr(&b, "{\"op\":\"remove\",\"kind\":\"thing\",\"id\":\"la");
	REQUIRE(write_file_atomic(log, b.data, b.len, 0600) == 0);
	buf_release(&b);

	st = state_open(dir);
	REQUIRE(st);
	CHECK_INT(state_count(st), 26);
	/* folded into state.json at once */
	CHECK(path_exists(path));
	CHECK(!path_exists(log));
	for (i = 0; i < 25; i++) {
		long pidv = -1;

		CHECK_INT(state_get(st, (size_t)i, NULL, NULL, &status, &details), 0);
		CHECK_STR(status, "created");
		json_long(details, "pid", &pidv);
		CHECK_INT(pidv, 2 * i);
	}
	CHECK_INT(state_get(st, 25, NULL, NULL, &status, NULL), 0);
	CHECK_STR(status, "creating");
	state_close(st);

	/* a clean close leaves the snapshot only */
	st = state_open(dir);
	REQUIRE(st);
	CHECK_INT(state_count(st), 26);
	state_update(st, "thing", "last", NULL);
	state_close(st);
	CHECK(path_exists(path));
	CHECK(!path_exists(log));
	st = state_open(dir);
	REQUIRE(st);
	CHECK_INT(state_get(st, 25, NULL, NULL, &status, NULL), 0);
	CHECK_STR(status, "created");
	state_close(st);
	remove_tree(dir);
	free(path);
	free(log);
	free(dir);
}

TEST(a_second_holder_is_refused)
{
	char *dir = test_tmpdir("state");
	struct state *st = state_open(dir), *st2;

	REQUIRE(st);
	buf_reset(&said);
	error_set_reporter(keep, NULL);
	st2 = state_open(dir);
	error_set_reporter(NULL, NULL);
	CHECK(st2 == NULL);
	CHECK(strstr(buf_str(&said), "is in use by this hydro already") != NULL);
	/* another process is told who holds it */
	{
		char want[64];
		pid_t pid;
		int status;

		snprintf(want, sizeof(want), "another hydro (pid %ld)", (long)getpid());
		pid = fork();
		if (pid == 0) {
			error_set_reporter(keep, NULL);
			st2 = state_open(dir);
			_exit(!st2 && strstr(error_last(), want) ? 0 : 1);
		}
		REQUIRE(pid > 0);
		waitpid(pid, &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	state_close(st);
	st2 = state_open(dir);
	CHECK(st2 != NULL);
	state_close(st2);
	remove_tree(dir);
	free(dir);
}

TEST(a_stale_lock_is_taken_over)
{
	char *dir = test_tmpdir("state");
	struct state *st;
	pid_t pid;
	int status;

	/* a child takes the lock, records something and dies without a word */
	pid = fork();
	if (pid == 0) {
		st = state_open(dir);
		if (st)
			state_add(st, "thing", "orphan", NULL);
		_exit(st ? 0 : 1);
	}
	REQUIRE(pid > 0);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	buf_reset(&said);
	error_set_reporter(keep, NULL);
	st = state_open(dir);
	error_set_reporter(NULL, NULL);
	REQUIRE(st);
	CHECK(strstr(buf_str(&said), "warning: taking over the lock") != NULL);
	CHECK(strstr(buf_str(&said), "no longer running") != NULL);
	CHECK_INT(state_count(st), 1);
	state_close(st);
	remove_tree(dir);
	free(dir);
}

TEST(down_removes_through_the_hooks)
{
	char *dir = test_tmpdir("state");
	struct state *st = state_open(dir);

	REQUIRE(st);
	state_register(&thing_kind);
	state_register(&vm_kind);
	state_add(st, "thing", "one", NULL);
	state_add(st, "vm", "two", NULL);
	state_add(st, "thing", "stuck", NULL);
	state_add(st, "alien", "three", NULL);
	removed = 0;
	refuse = 1;
	buf_reset(&said);
	error_set_reporter(keep, NULL);
	CHECK_INT(state_down(st, 1), -1);	/* the alien cannot go */
	CHECK_INT(removed, 0);
	CHECK_INT(state_count(st), 4);
	CHECK_INT(state_down(st, 0), -1);
	error_set_reporter(NULL, NULL);
	CHECK_INT(removed, 2);
	CHECK_INT(state_count(st), 2);	/* stuck and alien stay */
	CHECK(strstr(buf_str(&said), "knows no kind 'alien'") != NULL);
	CHECK(strstr(buf_str(&said), "could not remove thing 'stuck'") != NULL);
	refuse = 0;
	state_remove(st, "alien", "three");
	CHECK_INT(state_down(st, 0), 0);
	CHECK_INT(state_count(st), 0);
	state_close(st);
	remove_tree(dir);
	free(dir);
}

/* write a file of the test's own (mode 0600) */
static void
put(const char *dir, const char *name, const char *text)
{
	char *path = path_join(dir, name);

	write_file_atomic(path, text, strlen(text), 0600);
	free(path);
}

/* open dir's state, with what it says kept in said */
static struct state *
open_quiet(const char *dir)
{
	struct state *st;

	buf_reset(&said);
	error_set_reporter(keep, NULL);
	st = state_open(dir);
	error_set_reporter(NULL, NULL);
	return st;
}

static int
has(struct state *st, const char *kind, const char *id)
{
	const char *k, *i;
	size_t n;

	for (n = 0; state_get(st, n, &k, &i, NULL, NULL) == 0; n++)
		if (!strcmp(k, kind) && !strcmp(i, id))
			return 1;
	return 0;
}

/* truncated, empty or garbage: what can be read is kept, with what the last
 * good copy had, and the run goes on */
TEST(a_damaged_file_is_recovered)
{
	char *dir = test_tmpdir("state"), *hd = path_join(dir, ".hydro");
	char *kept = path_join(hd, "state.json.damaged");
	static const char *const bad[] = { "", "\x01\xff garbage {{{", "[]",
		"{\"version\":1}", "{\"records\":[]}" };
	struct state *st;
	size_t i;

	state_register(&thing_kind);
	st = state_open(dir);
	REQUIRE(st);
	state_add(st, "thing", "old", NULL);
	state_close(st);	/* state.json: old */
	st = state_open(dir);
	REQUIRE(st);
	state_add(st, "thing", "a", NULL);
	state_add(st, "thing", "b", NULL);
	state_close(st);	/* state.json and its good copy: old, a, b */
	/* cut inside the third record, as a full disk would */
	put(hd, "state.json", "{\"version\":1,\"records\":[{\"kind\":\"thing\",\"id\":\"a\","
	    "\"status\":\"created\",\"details\":{\"pid\":7}},{\"kind\":\"thing\",\"id\":"
	    "\"b\",\"details\":{}},{\"kind\":\"thing\",\"id\":\"c\",\"det");
	st = open_quiet(dir);
	REQUIRE(st);
	CHECK(strstr(buf_str(&said), "is damaged") != NULL);
	CHECK(strstr(buf_str(&said), "2 records read back from it, 3 from the last "
	             "good copy") != NULL);
	CHECK(strstr(buf_str(&said), "what else it listed is lost") != NULL);
	CHECK(path_exists(kept));
	CHECK_INT(state_count(st), 3);
	CHECK(has(st, "thing", "old") && has(st, "thing", "a") && has(st, "thing", "b"));
	state_close(st);
	/* written whole again */
	st = open_quiet(dir);
	REQUIRE(st);
	CHECK_STR(buf_str(&said), "");
	CHECK_INT(state_count(st), 3);
	state_close(st);

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		put(hd, "state.json", bad[i]);
		st = open_quiet(dir);
		CHECK(st != NULL);
		if (!st)
			continue;
		CHECK(strstr(buf_str(&said), "is damaged") != NULL);
		/* the last good copy is the file the last holder wrote */
		CHECK_INT(state_count(st), 3);
		CHECK(has(st, "thing", "old") && has(st, "thing", "a"));
		state_close(st);
	}
	/* another hydro's file is not damaged: it is refused, untouched */
	put(hd, "state.json", "{\"version\":2,\"records\":[]}");
	st = open_quiet(dir);
	CHECK(st == NULL);
	CHECK(strstr(buf_str(&said), "unknown version") != NULL);
	remove_tree(dir);
	free(kept);
	free(hd);
	free(dir);
}

/* a journal's update whose details are not an object changes the status
 * only (and leaks nothing: SANITIZE=1) */
TEST(an_update_that_is_not_an_object)
{
	char *dir = test_tmpdir("state"), *hd = path_join(dir, ".hydro");
	const char *status;
	const cJSON *details;
	struct state *st;

	mkdir_p(hd, 0700);
	put(hd, "state.log", "{\"op\":\"add\",\"kind\":\"thing\",\"id\":\"a\",\"details\":{\"k\":1}}\n"
	    "{\"op\":\"update\",\"kind\":\"thing\",\"id\":\"a\",\"details\":[1,{\"x\":2}]}\n"
	    "{\"op\":\"update\",\"kind\":\"thing\",\"id\":\"a\",\"details\":\"text\"}\n");
	st = open_quiet(dir);
	REQUIRE(st);
	CHECK_INT(state_count(st), 1);
	CHECK_INT(state_get(st, 0, NULL, NULL, &status, &details), 0);
	CHECK_STR(status, "created");
	CHECK(cJSON_IsObject(details) && cJSON_GetObjectItem(details, "k") &&
	      cJSON_GetArraySize(details) == 1);
	state_close(st);
	remove_tree(dir);
	free(hd);
	free(dir);
}

/* hydro down of many records: each goes in O(1) (it took seconds for ten
 * thousand when each removal moved the rest) */
TEST(down_of_many_records)
{
	char *dir = test_tmpdir("state");
	struct state *st = state_open(dir);
	char id[32];
	int i;

	REQUIRE(st);
	state_register(&thing_kind);
	for (i = 0; i < 50000; i++) {
		snprintf(id, sizeof(id), "r%d", i);
		state_add(st, "thing", id, NULL);
	}
	state_close(st);
	st = state_open(dir);
	REQUIRE(st);
	CHECK_INT(state_count(st), 50000);
	removed = 0;
	refuse = 0;
	CHECK_INT(state_down(st, 0), 0);
	CHECK_INT(removed, 50000);
	CHECK_INT(state_count(st), 0);
	/* removed and added again: found, not doubled */
	state_add(st, "thing", "r1", NULL);
	state_add(st, "thing", "r1", NULL);
	CHECK_INT(state_count(st), 1);
	state_close(st);
	remove_tree(dir);
	free(dir);
}

/* .hydro and what it holds are the user's alone */
TEST(the_directory_is_private)
{
	char *dir = test_tmpdir("state"), *hd = path_join(dir, ".hydro");
	char *lockp = path_join(hd, "lock"), *path = path_join(hd, "state.json");
	char *log = path_join(hd, "state.log");
	struct state *st;
	struct stat sb;

	st = state_open(dir);
	REQUIRE(st);
	state_add(st, "thing", "a", NULL);
	CHECK(stat(hd, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	CHECK(stat(lockp, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	CHECK(stat(log, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	state_close(st);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	/* made by an older hydro: made private */
	chmod(hd, 0755);
	st = state_open(dir);
	REQUIRE(st);
	CHECK(stat(hd, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	state_close(st);
	/* writable by others: refused, left as it is */
	chmod(hd, 0777);
	st = open_quiet(dir);
	CHECK(st == NULL);
	CHECK(strstr(buf_str(&said), "is writable by other users") != NULL);
	CHECK(stat(hd, &sb) == 0 && (sb.st_mode & 0777) == 0777);
	chmod(hd, 0700);
	/* another user's (root can make one): refused */
	if (geteuid() == 0 && chown(hd, 65534, 65534) == 0) {
		st = open_quiet(dir);
		CHECK(st == NULL);
		CHECK(strstr(buf_str(&said), "belongs to another user") != NULL);
		CHECK(chown(hd, 0, 0) == 0);
		if (chown(path, 65534, 65534) == 0) {
			st = open_quiet(dir);
			CHECK(st == NULL);
			CHECK(strstr(buf_str(&said), "state.json' belongs to another user") != NULL);
		}
	}
	remove_tree(dir);
	free(lockp);
	free(path);
	free(log);
	free(hd);
	free(dir);
}

/* planted symbolic links are never followed: the lock is truncated, and
 * state.json read */
TEST(planted_links_are_refused)
{
	char *dir = test_tmpdir("state"), *hd = path_join(dir, ".hydro");
	char *victim = path_join(dir, "victim"), *lockp = path_join(hd, "lock");
	char *link_dir = path_join(dir, "elsewhere"), *statep = path_join(hd, "state.json");
	struct state *st;
	struct buf b = BUF_INIT;

	mkdir_p(hd, 0700);
	put(dir, "victim", "precious\n");
	REQUIRE(symlink(victim, lockp) == 0);
	st = open_quiet(dir);
	CHECK(st == NULL);
	CHECK(strstr(buf_str(&said), "lock' is a symbolic link") != NULL);
	CHECK(read_file(victim, &b) == 0 && !strcmp(buf_str(&b), "precious\n"));
	unlink(lockp);
	put(dir, "victim", "{\"version\":1,\"records\":[]}");
	REQUIRE(symlink(victim, statep) == 0);
	st = open_quiet(dir);
	CHECK(st == NULL);
	CHECK(strstr(buf_str(&said), "state.json' is a symbolic link") != NULL);
	remove_tree(hd);
	/* .hydro itself a link to somewhere else */
	mkdir_p(link_dir, 0700);
	REQUIRE(symlink(link_dir, hd) == 0);
	st = open_quiet(dir);
	CHECK(st == NULL);
	CHECK(strstr(buf_str(&said), ".hydro' is a symbolic link") != NULL);
	buf_release(&b);
	remove_tree(dir);
	free(victim);
	free(lockp);
	free(link_dir);
	free(statep);
	free(hd);
	free(dir);
}

int
main(void)
{
	RUN(records_survive_reopening);
	RUN(an_empty_state_leaves_no_file);
	RUN(an_empty_journal_left_by_a_kill_goes);
	RUN(the_journal_survives_a_kill);
	RUN(a_second_holder_is_refused);
	RUN(a_stale_lock_is_taken_over);
	RUN(down_removes_through_the_hooks);
	RUN(a_damaged_file_is_recovered);
	RUN(an_update_that_is_not_an_object);
	RUN(down_of_many_records);
	RUN(the_directory_is_private);
	RUN(planted_links_are_refused);
	buf_release(&said);
	return TEST_EXIT();
}
