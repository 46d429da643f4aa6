/*
 * prune: the one policy for what hydro keeps (prune.h).
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "fs.h"
#include "prune.h"
#include "str.h"
#include "xmalloc.h"

int
prune_due(long long now, long long when, size_t kept)
{
	return now - when > PRUNE_RECENT && (kept >= PRUNE_KEEP || now - when > PRUNE_AGE);
}

static unsigned runs_kept = PRUNE_RUNS;

static void
runs_init(void)
{
	const char *v = getenv("HYDRO_KEEP_RUNS");
	long n;

	if (!v)
		return;
	if (str_to_long(v, 0, 1000000, &n) == 0)
		runs_kept = (unsigned)n;
	else
		warning("HYDRO_KEEP_RUNS='%s' is not a number of runs from 0 to 1000000; "
		        "keeping the last %u", v, runs_kept);
}

unsigned
prune_runs_kept(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, runs_init);
	return runs_kept;
}

/* past n digits at s (one or more when n is 0) and the character end
 * after them, or NULL */
static const char *
digits(const char *s, size_t n, int end)
{
	size_t i;

	for (i = 0; (!n || i < n) && s[i] >= '0' && s[i] <= '9'; i++)
		;
	if (i == 0 || (n && i != n) || s[i] != end)
		return NULL;
	return s + i + (end != 0);
}

int
prune_run_name(const char *name)
{
	const char *p = digits(name, 8, '-');

	p = p ? digits(p, 6, '-') : NULL;
	p = p ? digits(p, 0, '-') : NULL;
	return p && digits(p, 0, '\0') != NULL;
}

/* newest first, as their names sort (as the pruner on SSH hosts sorts them) */
static int
by_newest(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

void
prune_runs(const char *dir, const char *current,
           int (*live)(const char *run, void *arg), void *arg)
{
	char *runs = path_join(dir, ".hydro/runs"), **names = NULL;
	size_t n = 0, i, keep = prune_runs_kept();
	struct dirent *e;
	struct stat st;
	DIR *d;

	if (!(d = opendir(runs))) {
		free(runs);
		return;
	}
	while ((e = readdir(d))) {
		char *full;

		if (!prune_run_name(e->d_name))
			continue;
		full = path_join(runs, e->d_name);
		if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
			names = xreallocarray(names, n + 1, sizeof(*names));
			names[n++] = xstrdup(e->d_name);
		}
		free(full);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_newest);
	for (i = 0; i < n; i++) {
		char *full;

		if (i >= keep && !(current && !strcmp(names[i], current)) &&
		    !(live && live(names[i], arg))) {
			full = path_join(runs, names[i]);
			if (remove_tree_quiet(full) < 0)
				warning("cannot remove the old run folder '%s': %s", full,
				        strerror(errno));
			free(full);
		}
		free(names[i]);
	}
	free(names);
	free(runs);
}
