/*
 * evalcache: a Python config's last evaluation for `hydro build`, reused
 * when nothing it read has changed (evalcache.h).
 *
 * Every check errs towards a miss: a record that cannot be read, an input
 * that cannot be looked at, anything different, and the config is simply
 * evaluated again, which writes a new record or removes the old one.
 */
#include "evalcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cJSON.h"
#include "cli.h"
#include "commands.h"
#include "error.h"
#include "fs.h"
#include "hash.h"
#include "json.h"
#include "str.h"
#include "xmalloc.h"

#define EVALCACHE_VERSION 1	/* VERSION in hydro/_evalcache.py */

extern char **environ;

/* "mode:size:mtime_ns:ctime_ns:ino" as _evalcache._stat writes it, or NULL */
static char *
stat_text(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return NULL;
	return xasprintf("%u:%jd:%jd:%jd:%ju", (unsigned)st.st_mode, (intmax_t)st.st_size,
	                 (intmax_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
	                 (intmax_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec,
	                 (uintmax_t)st.st_ino);
}

/* whether recorded (a string, or null for "did not exist") is now */
static int
same_text(const cJSON *recorded, const char *now)
{
	if (cJSON_IsNull(recorded))
		return now == NULL;
	return cJSON_IsString(recorded) && now && !strcmp(recorded->valuestring, now);
}

static char *
hex_of(const struct hash *h)
{
	char hex[HASH_HEX_LEN];

	hash_hex(h, hex);
	return xstrdup(hex);
}

/* a file's contents' SHA-256 in hex, or NULL when it cannot be opened */
static char *
file_digest(const char *path)
{
	struct hash h;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return NULL;
	ret = hash_fd(fd, &h);
	close(fd);
	return ret < 0 ? xstrdup("") : hex_of(&h);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* whether an import could find something at name in dir: a directory (a
 * package) or a file ending in .py, .pyc or .so (_evalcache._listing) */
static int
importable(DIR *dir, const struct dirent *e)
{
	struct stat st;

	if (str_ends(e->d_name, ".py") || str_ends(e->d_name, ".pyc") ||
	    str_ends(e->d_name, ".so"))
		return 1;
	if (e->d_type == DT_DIR)
		return 1;
	if (e->d_type != DT_LNK && e->d_type != DT_UNKNOWN)
		return 0;
	return fstatat(dirfd(dir), e->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode);
}

/* SHA-256 of a directory's sorted names, each followed by a newline; with
 * modules, only the names importable() */
static char *
listing(const char *path, int modules)
{
	DIR *dir = opendir(path);
	struct dirent *e;
	struct hasher h;
	struct hash out;
	char **names = NULL;
	size_t n = 0, i;

	if (!dir)
		return NULL;
	while ((e = readdir(dir))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    (modules && !importable(dir, e)))
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(e->d_name);
	}
	closedir(dir);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	hasher_init(&h);
	for (i = 0; i < n; i++) {
		hasher_add(&h, names[i], strlen(names[i]));
		hasher_add(&h, "\n", 1);
		free(names[i]);
	}
	free(names);
	hasher_final(&h, &out);
	return hex_of(&out);
}

static char *
listing_digest(const char *path)
{
	return listing(path, 0);
}

static char *
modules_digest(const char *path)
{
	return listing(path, 1);
}

/* SHA-256 of the environment's NAME=VALUE entries, sorted, each followed by
 * a NUL (_evalcache.environ_digest) */
static char *
environ_digest(void)
{
	struct hasher h;
	struct hash out;
	char **env;
	size_t n = 0, i;

	while (environ[n])
		n++;
	env = xcalloc(n + 1, sizeof(*env));
	memcpy(env, environ, n * sizeof(*env));
	qsort(env, n, sizeof(*env), cmp_names);
	hasher_init(&h);
	for (i = 0; i < n; i++)
		hasher_add(&h, env[i], strlen(env[i]) + 1);
	free(env);
	hasher_final(&h, &out);
	return hex_of(&out);
}

/* with HYDRO_EVAL_CACHE_DEBUG set, say why the record is not used */
static int
miss(const char *what, const char *name)
{
	if (getenv("HYDRO_EVAL_CACHE_DEBUG"))
		fprintf(stderr, "hydro: eval cache: %s%s%s%s changed\n", what,
		        name ? " '" : "", name ? name : "", name ? "'" : "");
	return 0;
}

/* every entry of the object obj[key] (path: recorded) is what now(path) gives */
static int
all_same(const cJSON *rec, const char *key, char *(*now)(const char *))
{
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(rec, key), *e;

	if (!cJSON_IsObject(obj))
		return 0;
	cJSON_ArrayForEach(e, obj) {
		char *v = now(e->string);
		int same = same_text(e, v);

		free(v);
		if (!same)
			return miss(key, e->string);
	}
	return 1;
}

static char *
env_value(const char *name)
{
	const char *v = getenv(name);

	return v ? xstrdup(v) : NULL;
}

static int
same_argv(const cJSON *rec, int argc, char **argv)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(rec, "argv"), *e;
	int i = 1;

	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != argc - 1)
		return 0;
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsString(e) || strcmp(e->valuestring, argv[i++]))
			return 0;
	}
	return 1;
}

static int
same_helper(const cJSON *rec, const char *helper)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(rec, "helper");
	const cJSON *path = cJSON_GetArrayItem(h, 0);
	char *real = realpath(helper, NULL), *st;
	int same;

	if (!real || !cJSON_IsString(path) || strcmp(path->valuestring, real)) {
		free(real);
		return 0;
	}
	st = stat_text(real);
	same = same_text(cJSON_GetArrayItem(h, 1), st);
	free(st);
	free(real);
	return same;
}

/* whether every input the record lists is as it was */
static int
inputs_same(const cJSON *rec, const char *helper, int argc, char **argv)
{
	const cJSON *all;
	char cwd[4096];
	long version;
	int same;

	if (json_long(rec, "version", &version) < 0 || version != EVALCACHE_VERSION)
		return miss("the record's version", NULL);
	if (!getcwd(cwd, sizeof(cwd)) || !json_str(rec, "cwd") ||
	    strcmp(json_str(rec, "cwd"), cwd))
		return miss("the working directory", NULL);
	if (!same_argv(rec, argc, argv))
		return miss("the command line", NULL);
	if (!same_helper(rec, helper))
		return miss("hydro-python", NULL);
	if (!all_same(rec, "env", env_value))
		return 0;
	if ((all = cJSON_GetObjectItemCaseSensitive(rec, "env_all"))) {
		char *now = environ_digest();

		same = same_text(all, now);
		free(now);
		if (!same)
			return miss("the environment", NULL);
	}
	return all_same(rec, "stats", stat_text) && all_same(rec, "lists", listing_digest) &&
	       all_same(rec, "modlists", modules_digest) &&
	       all_same(rec, "files", file_digest);
}

static void
discard(enum error_level level, const char *msg, void *arg)
{
}

/* where each host, service and target was declared, as the script said */
static void
set_wheres(struct deployment *d, const cJSON *where)
{
	const char *w;
	char *key;
	size_t i;

#define SET_WHERE(kind, list, n) \
	for (i = 0; i < d->n; i++) { \
		key = xasprintf(kind ":%s", d->list[i]->name); \
		if ((w = json_str(where, key))) { \
			free(d->list[i]->where); \
			d->list[i]->where = xstrdup(w); \
		} \
		free(key); \
	}
	SET_WHERE("host", hosts, nhosts)
	SET_WHERE("service", services, nservices)
	SET_WHERE("target", targets, ntargets)
#undef SET_WHERE
}

static cJSON *
read_record(const char *config)
{
	char *abs = path_absolute(config), *dir = path_dirname(abs);
	char *name = xasprintf(".hydro/eval/%s.json", path_basename(abs));
	char *path = path_join(dir, name);
	struct buf b = BUF_INIT;
	cJSON *rec = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && read_fd(fd, path, &b) == 0)
		rec = cJSON_ParseWithLength(b.data ? b.data : "", b.len);
	if (fd >= 0)
		close(fd);
	buf_release(&b);
	free(path);
	free(name);
	free(dir);
	free(abs);
	return rec;
}

struct deployment *
evalcache_load(const char *config, const char *helper, int argc, char **argv)
{
	error_reporter *fn;
	void *fn_arg;
	struct deployment *d = NULL;
	const cJSON *asked, *e;
	cJSON *rec;
	char *abs, *dir;

	if (getenv("HYDRO_NO_EVAL_CACHE"))
		return NULL;
	fn = error_get_reporter(&fn_arg);
	error_set_reporter(discard, NULL);
	rec = read_record(config);
	if (rec && inputs_same(rec, helper, argc, argv)) {
		abs = path_absolute(config);
		dir = path_dirname(abs);
		d = deploy_from_json(cJSON_GetObjectItemCaseSensitive(rec, "deployment"),
		                     dir, json_str(rec, "config") ? json_str(rec, "config") : config);
		if (d) {
			set_wheres(d, cJSON_GetObjectItemCaseSensitive(rec, "where"));
			if (deploy_check_buildable(d) < 0) {
				deployment_free(d);
				d = NULL;
			}
		}
		free(dir);
		free(abs);
	}
	error_set_reporter(fn, fn_arg);
	error_clear();
	if (d) {
		asked = cJSON_GetObjectItemCaseSensitive(rec, "asked");
		cJSON_ArrayForEach(e, asked) {
			if (cJSON_IsString(e))
				cli_param(e->valuestring);
		}
	}
	cJSON_Delete(rec);
	return d;
}

int
evalcache_build(struct deployment *d)
{
	struct options o = cli_options();

	if (cli_check_params(cli, 0) < 0)
		return -1;
	fflush(stdout);
	if (command_build(d, &o) < 0)
		return error("the build failed");
	return 0;
}
