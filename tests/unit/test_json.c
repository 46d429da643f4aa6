#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "fs.h"
#include "json.h"
#include "xmalloc.h"
#include "test.h"



/* json_read_file() of these bytes: NULL, and error_last() is want
 * (FILE stands for the file's path) */
static void
check_file_error(const void *data, size_t len, const char *want)
{
	char *dir = test_tmpdir("json"), *path = path_join(dir, "f.json");
	struct buf b = BUF_INIT;
	const char *at = strstr(want, "FILE");
	cJSON *json;

	REQUIRE(write_file_atomic(path, data, len, 0644) == 0);
	buf_add(&b, want, (size_t)(at - want));
	buf_addstr(&b, path);
	buf_addstr(&b, at + 4);
	error_set_reporter(test_quiet, NULL);
	json = json_read_file(path);
	error_set_reporter(NULL, NULL);
	CHECK(json == NULL);
	CHECK_STR(error_last(), buf_str(&b));
	cJSON_Delete(json);
	buf_release(&b);
	remove_tree(dir);
	free(path);
	free(dir);
}

/* n arrays (or objects), one in another */
static char *
nested(int n, int objects)
{
	struct buf b = BUF_INIT;
	int i;

	for (i = 0; i < n; i++)
		buf_addstr(&b, objects ? "{\"a\":" : "[");
	buf_addstr(&b, "1");
	for (i = 0; i < n; i++)
		buf_addch(&b, objects ? '}' : ']');
	return buf_detach(&b, NULL);
}

TEST(a_nul_byte_is_no_json)
{
	check_file_error("{\"a\": 1}\0junk", 13,
	                 "FILE: NUL byte at offset 8: not a JSON text");
	check_file_error("\0", 1, "FILE: NUL byte at offset 0: not a JSON text");
	check_file_error("{\"a\": \"x\0y\"}", 12,
	                 "FILE: NUL byte at offset 8: not a JSON text");
}

TEST(too_deep_says_so)
{
	char *deep = nested(CJSON_NESTING_LIMIT + 1, 0);
	char *deepobj = nested(CJSON_NESTING_LIMIT + 1, 1);
	char *limit = nested(CJSON_NESTING_LIMIT, 0);
	cJSON *json;

	check_file_error(deep, strlen(deep),
	                 "FILE:1:1001: JSON nested deeper than 1000 levels");
	check_file_error(deepobj, strlen(deepobj),
	                 "FILE:1:5001: JSON nested deeper than 1000 levels");
	error_set_reporter(test_quiet, NULL);
	CHECK(json_parse(deep, "text") == NULL);
	error_set_reporter(NULL, NULL);
	CHECK_STR(error_last(), "text:1:1001: JSON nested deeper than 1000 levels");
	json = json_parse(limit, "text");
	CHECK(json != NULL);
	cJSON_Delete(json);
	free(deep);
	free(deepobj);
	free(limit);
}

TEST(other_damage_is_malformed)
{
	struct buf b = BUF_INIT;
	int i;

	check_file_error("{\n  \"version\": 1,\n  \"hosts\": [,]\n}\n", 34,
	                 "FILE:3:13: malformed JSON");
	check_file_error("", 0, "FILE:1:1: malformed JSON");
	/* brackets in strings, even after an escaped quote, open nothing: the
	 * error is at a '[' where a ',' belongs, one level deep */
	buf_addstr(&b, "[\"\\\"");
	for (i = 0; i < 2 * CJSON_NESTING_LIMIT; i++)
		buf_addch(&b, '[');
	buf_addstr(&b, "\", 1 []");
	check_file_error(b.data, b.len, "FILE:1:2010: malformed JSON");
	buf_release(&b);
}

int
main(void)
{
	RUN(a_nul_byte_is_no_json);
	RUN(too_deep_says_so);
	RUN(other_damage_is_malformed);
	return TEST_EXIT();
}
