#include <stdlib.h>
#include <string.h>
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

TEST(a_damaged_file_is_refused)
{
	char *dir = test_tmpdir("state"), *hd = path_join(dir, ".hydro");
	char *path = path_join(hd, "state.json");
	struct state *st;

	mkdir_p(hd, 0755);
	write_file_atomic(path, "{\"version\":1,\"rec", 17, 0644);
	buf_reset(&said);
	error_set_reporter(keep, NULL);
	st = state_open(dir);
	error_set_reporter(NULL, NULL);
	CHECK(st == NULL);
	CHECK(strstr(buf_str(&said), "is damaged") != NULL);
	remove_tree(dir);
	free(path);
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
	RUN(a_damaged_file_is_refused);
	buf_release(&said);
	return TEST_EXIT();
}
