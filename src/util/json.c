#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "fs.h"
#include "json.h"
#include "xmalloc.h"

static void
locate(const char *text, const char *at, int *line, int *col)
{
	const char *p;

	*line = 1;
	*col = 1;
	for (p = text; p < at && *p; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* the number of arrays and objects open at `at` (strings skipped) */
static int
depth(const char *text, const char *at)
{
	const char *p;
	int n = 0, quoted = 0;

	for (p = text; p < at && *p; p++) {
		if (quoted && *p == '\\' && p + 1 < at)
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (!quoted && (*p == '[' || *p == '{'))
			n++;
		else if (!quoted && (*p == ']' || *p == '}'))
			n--;
	}
	return n;
}

/* the first \u0000 inside a string, or NULL: cJSON would cut the string
 * there, silently */
static const char *
escaped_nul(const char *text)
{
	const char *p;
	int quoted = 0;

	for (p = text; *p; p++) {
		if (quoted && *p == '\\') {
			if (!strncmp(p + 1, "u0000", 5))
				return p;
			if (p[1])
				p++;
		} else if (*p == '"') {
			quoted = !quoted;
		}
	}
	return NULL;
}

cJSON *
json_parse(const char *text, const char *what)
{
	const char *end = NULL;
	cJSON *json;
	int line, col;

	json = cJSON_ParseWithOpts(text, &end, 1);
	if (!json) {
		if (!end)
			end = text;
		locate(text, end, &line, &col);
		/* cJSON refuses to open one more level there */
		if ((*end == '[' || *end == '{') && depth(text, end) >= CJSON_NESTING_LIMIT)
			error("%s:%d:%d: JSON nested deeper than %d levels", what, line, col,
			      CJSON_NESTING_LIMIT);
		else
			error("%s:%d:%d: malformed JSON", what, line, col);
	} else if ((end = escaped_nul(text))) {
		locate(text, end, &line, &col);
		error("%s:%d:%d: a string holds \\u0000, a NUL character, which no "
		      "command, name or path can hold: remove it", what, line, col);
		cJSON_Delete(json);
		json = NULL;
	}
	return json;
}

cJSON *
json_read_file(const char *path)
{
	struct buf b = BUF_INIT;
	const char *nul;
	cJSON *json;

	if (read_file(path, &b) < 0)
		return NULL;
	/* parsed as a C string, the text would end there, unseen */
	nul = b.len ? memchr(b.data, '\0', b.len) : NULL;
	if (nul) {
		error("%s: NUL byte at offset %zu: not a JSON text", path,
		      (size_t)(nul - b.data));
		buf_release(&b);
		return NULL;
	}
	json = json_parse(buf_str(&b), path);
	buf_release(&b);
	return json;
}

int
json_write_file(const char *path, const cJSON *json, int pretty)
{
	char *text = pretty ? cJSON_Print(json) : cJSON_PrintUnformatted(json);
	struct buf b = BUF_INIT;
	int ret;

	if (!text)
		fatal("out of memory printing JSON");
	buf_addstr(&b, text);
	buf_addch(&b, '\n');
	cJSON_free(text);
	ret = write_file_atomic(path, b.data, b.len, 0644);
	buf_release(&b);
	return ret;
}

const char *
json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int
json_long(const cJSON *obj, const char *key, long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
	    fabs(v->valuedouble) > 9007199254740992.0)
		return -1;
	*out = (long)v->valuedouble;
	return 0;
}

int
json_bool(const cJSON *obj, const char *key, int def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v);
	return def;
}

char *
json_print(const cJSON *json)
{
	char *text = cJSON_PrintUnformatted(json);
	char *copy;

	if (!text)
		fatal("out of memory printing JSON");
	copy = xstrdup(text);
	cJSON_free(text);
	return copy;
}
