#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "fs.h"
#include "hash.h"
#include "json.h"
#include "str.h"
#include "xmalloc.h"
#include "test.h"


TEST(buf_grows_and_terminates)
{
	struct buf b = BUF_INIT;
	int i;

	CHECK_STR(buf_str(&b), "");
	for (i = 0; i < 1000; i++)
		CHECK(buf_addstr(&b, "ab") == 0);
	CHECK_INT(b.len, 2000);
	CHECK_INT(b.data[b.len], 0);
	buf_consume(&b, 1998);
	CHECK_STR(buf_str(&b), "ab");
	CHECK(buf_printf(&b, "-%d-", 42) == 0);
	CHECK_STR(buf_str(&b), "ab-42-");
	buf_release(&b);
}

TEST(buf_respects_its_maximum)
{
	struct buf b;

	buf_init(&b, 5);
	CHECK(buf_addstr(&b, "abcd") == 0);
	CHECK(buf_addstr(&b, "ef") == -1);
	CHECK_STR(buf_str(&b), "abcd");
	CHECK(buf_addch(&b, 'e') == 0);
	CHECK(buf_addch(&b, 'f') == -1);
	CHECK(buf_printf(&b, "%s", "x") == -1);
	CHECK_STR(buf_str(&b), "abcde");
	buf_release(&b);
}

TEST(error_records_and_returns_minus_one)
{
	error_set_reporter(test_quiet, NULL);
	CHECK(error("cannot read '%s'", "x.hf") == -1);
	CHECK_STR(error_last(), "cannot read 'x.hf'");
	error_clear();
	CHECK_STR(error_last(), "");
	error_set_reporter(NULL, NULL);
}

/* what a reporter was given, one "LEVEL MSG" line each */
static void
keep_lines(enum error_level level, const char *msg, void *arg)
{
	buf_printf(arg, "%c %s\n", "EWN"[level], msg);
}

TEST(error_log_keeps_and_replays_in_order)
{
	struct error_log log = ERROR_LOG_INIT;
	struct buf said = BUF_INIT;

	error_set_reporter(error_log_keep, &log);
	error("cannot read '%s'", "x.hf");
	note("it is a directory");
	warning("'%s' is old", "y.hf");
	error("second");
	error_set_reporter(NULL, NULL);
	CHECK_INT(log.n, 4);
	CHECK_INT(log.nerrors, 2);
	error_set_reporter(keep_lines, &said);
	error_log_replay(&log, "build x");
	error_log_replay(&log, NULL);
	error_set_reporter(NULL, NULL);
	CHECK_STR(buf_str(&said),
	          "E build x: cannot read 'x.hf'\nN it is a directory\n"
	          "W build x: 'y.hf' is old\nE build x: second\n"
	          "E cannot read 'x.hf'\nN it is a directory\nW 'y.hf' is old\nE second\n");
	error_log_release(&log);
	CHECK_INT(log.n, 0);
	CHECK_INT(log.nerrors, 0);
	buf_reset(&said);
	error_set_reporter(keep_lines, &said);
	error_log_replay(&log, "empty");
	error_set_reporter(NULL, NULL);
	CHECK_STR(buf_str(&said), "");
	buf_release(&said);
}

/* a message too long for the buffer keeps what the system said */
TEST(a_long_message_keeps_the_errno_text)
{
	char name[3000];

	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	error_set_reporter(test_quiet, NULL);
	errno = ENOENT;
	CHECK(error_errno("cannot open '%s'", name) == -1);
	CHECK(strstr(error_last(), "cannot open 'xxx") == error_last());
	CHECK(strstr(error_last(), "...: No such file or directory") != NULL);
	errno = ENOENT;
	error_errno("cannot open '%s'", "short");
	CHECK_STR(error_last(), "cannot open 'short': No such file or directory");
	error_set_reporter(NULL, NULL);
}

/* a temporary is a new file: a link planted at its name is not followed */
TEST(a_planted_temporary_is_not_followed)
{
	char dir[] = "/tmp/hydro-test-util.XXXXXX";
	char *victim, *path, *tmp;
	struct buf b = BUF_INIT;

	REQUIRE(mkdtemp(dir));
	victim = path_join(dir, "victim");
	path = path_join(dir, "state.json");
	tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	CHECK(write_file_atomic(victim, "precious", 8, 0600) == 0);
	REQUIRE(symlink(victim, tmp) == 0);
	CHECK(write_file_atomic(path, "new", 3, 0600) == 0);
	CHECK(read_file(victim, &b) == 0);
	CHECK_STR(buf_str(&b), "precious");
	buf_reset(&b);
	CHECK(read_file(path, &b) == 0);
	CHECK_STR(buf_str(&b), "new");
	CHECK(!path_exists(tmp));
	remove_tree(dir);
	buf_release(&b);
	free(victim);
	free(path);
	free(tmp);
}

TEST(str_helpers)
{
	char s[] = "  hello \n";
	char **parts;
	size_t n;
	long v;
	struct buf b = BUF_INIT;
	static const char *const names[] = { "run", "build", "check" };

	CHECK_STR(str_trim(s), "hello");
	CHECK(str_starts("ready: {}", "ready: "));
	CHECK(!str_starts("read", "ready"));
	CHECK(str_ends("echo.hydro.py", ".py"));
	CHECK(str_to_long("42", 0, 100, &v) == 0 && v == 42);
	CHECK(str_to_long("4x", 0, 100, &v) == -1);
	CHECK(str_to_long("101", 0, 100, &v) == -1);
	CHECK(str_to_long("", 0, 100, &v) == -1);
	CHECK_INT(str_distance("kitten", "sitting"), 3);
	CHECK_INT(str_distance("rnu", "run"), 1);
	CHECK_INT(str_distance("ab", "ba"), 1);
	CHECK_INT(str_distance("", "abc"), 3);
	CHECK_INT(str_distance("ca", "abc"), 3);
	CHECK_STR(str_closest("chek", names, 3), "check");
	CHECK(str_closest("zzzzzz", names, 3) == NULL);
	parts = str_split("a,b,,c", ',', &n);
	CHECK_INT(n, 4);
	CHECK_STR(parts[2], "");
	CHECK(parts[4] == NULL);
	str_free_list(parts);
	str_shell_quote(&b, "it's");
	buf_addch(&b, ' ');
	str_shell_quote(&b, "plain/path");
	CHECK_STR(buf_str(&b), "'it'\\''s' plain/path");
	buf_release(&b);
	{
		char *argv[] = { "echo", "it's", "", "a b", NULL };
		char *line = str_shell_line(argv, 4);

		CHECK_STR(line, "echo 'it'\\''s' '' 'a b'");
		free(line);
		line = str_shell_line(argv, 0);
		CHECK_STR(line, "");
		free(line);
	}
}

TEST(sha256_known_answer)
{
	struct hash h, back;
	char hex[HASH_HEX_LEN];

	hash_bytes("abc", 3, &h);
	hash_hex(&h, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK(hash_parse(hex, &back) == 0);
	CHECK(memcmp(back.b, h.b, HASH_LEN) == 0);
	CHECK(hash_parse("xyz", &back) == -1);
}

TEST(files_atomic_write_and_read)
{
	char dir[] = "/tmp/hydro-test-util.XXXXXX";
	char *sub, *path;
	struct buf b = BUF_INIT;
	struct hash h1, h2;

	REQUIRE(mkdtemp(dir));
	sub = path_join(dir, "a/b/c");
	CHECK(mkdir_p(sub, 0755) == 0);
	path = path_join(sub, "f.txt");
	CHECK(write_file_atomic(path, "one\n", 4, 0644) == 0);
	CHECK(write_file_atomic(path, "two\n", 4, 0644) == 0);
	CHECK(read_file(path, &b) == 0);
	CHECK_STR(buf_str(&b), "two\n");
	CHECK(hash_file(path, &h1) == 0);
	hash_bytes("two\n", 4, &h2);
	CHECK(memcmp(h1.b, h2.b, HASH_LEN) == 0);
	error_set_reporter(test_quiet, NULL);
	CHECK(read_file("/nonexistent/x", &b) == -1);
	CHECK(strstr(error_last(), "cannot open '/nonexistent/x'") != NULL);
	/* an empty path is an error, not a read past its end */
	CHECK(mkdir_p("", 0755) == -1);
	CHECK(strstr(error_last(), "cannot create directory ''") != NULL);
	/* a path through a file */
	CHECK(mkdir_p(path, 0755) == -1);
	CHECK(strstr(error_last(), "a file is in the way") != NULL);
	error_set_reporter(NULL, NULL);
	CHECK(remove_tree(dir) == 0);
	CHECK(!path_exists(dir));
	free(path);
	free(sub);
	buf_release(&b);
}

TEST(paths)
{
	char *s;

	s = path_dirname("a/b/c.hf");
	CHECK_STR(s, "a/b");
	free(s);
	s = path_dirname("c.hf");
	CHECK_STR(s, ".");
	free(s);
	CHECK_STR(path_basename("a/b/c.hf"), "c.hf");
	s = path_join("a/", "b");
	CHECK_STR(s, "a/b");
	free(s);
	s = path_join("a", "/abs");
	CHECK_STR(s, "/abs");
	free(s);
	s = path_absolute("d/c.hf");
	CHECK_STR(path_display(s), "d/c.hf");
	free(s);
	CHECK_STR(path_display("/"), "/");
	CHECK_STR(path_display("../c.hf"), "../c.hf");
	CHECK_STR(path_display("/nowhere-below/c.hf"), "/nowhere-below/c.hf");
}

TEST(json_helpers)
{
	cJSON *j;
	long v;
	char *s;

	j = json_parse("{\"a\": \"x\", \"n\": 3, \"f\": 1.5, \"b\": true}", "test");
	REQUIRE(j);
	CHECK_STR(json_str(j, "a"), "x");
	CHECK(json_str(j, "n") == NULL);
	CHECK(json_long(j, "n", &v) == 0 && v == 3);
	CHECK(json_long(j, "f", &v) == -1);
	CHECK(json_bool(j, "b", 0) == 1);
	CHECK(json_bool(j, "zz", 7) == 7);
	s = json_print(j);
	CHECK_STR(s, "{\"a\":\"x\",\"n\":3,\"f\":1.5,\"b\":true}");
	free(s);
	cJSON_Delete(j);
	error_set_reporter(test_quiet, NULL);
	CHECK(json_parse("{\n  \"a\": ]", "conf.json") == NULL);
	CHECK(strstr(error_last(), "conf.json:2:") != NULL);
	error_set_reporter(NULL, NULL);
}

int
main(void)
{
	RUN(buf_grows_and_terminates);
	RUN(buf_respects_its_maximum);
	RUN(error_records_and_returns_minus_one);
	RUN(error_log_keeps_and_replays_in_order);
	RUN(a_long_message_keeps_the_errno_text);
	RUN(a_planted_temporary_is_not_followed);
	RUN(str_helpers);
	RUN(sha256_known_answer);
	RUN(files_atomic_write_and_read);
	RUN(paths);
	RUN(json_helpers);
	return TEST_EXIT();
}
