/*
 * helper: hydro's other binaries, found and run in place of this process.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "fs.h"
#include "helper.h"
#include "xmalloc.h"

#ifndef HYDRO_LIBEXECDIR
#define HYDRO_LIBEXECDIR "/usr/local/libexec/hydro"
#endif

/* where a helper may be: beside this binary (the build tree, or libexec
 * itself), in ../libexec/hydro from it (an installed tree, wherever it was
 * moved), then where make install put it; the places looked at go to tried */
static char *
find_helper(const char *name, struct buf *tried)
{
	char exe[PATH_MAX], *dir, *cand[3];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *found = NULL;
	size_t i;

	cand[0] = cand[1] = NULL;
	if (n > 0) {
		exe[n] = '\0';
		dir = path_dirname(exe);
		cand[0] = xasprintf("%s/%s", dir, name);
		cand[1] = xasprintf("%s/../libexec/hydro/%s", dir, name);
		free(dir);
	}
	cand[2] = xasprintf("%s/%s", HYDRO_LIBEXECDIR, name);
	for (i = 0; i < 3; i++) {
		if (!cand[i])
			continue;
		if (!found && access(cand[i], X_OK) == 0)
			found = xstrdup(cand[i]);
		else if (!found)
			buf_printf(tried, "%s'%s'", tried->len ? ", " : "", cand[i]);
		free(cand[i]);
	}
	return found;
}

char *
helper_path(const char *name)
{
	struct buf tried = BUF_INIT;
	char *path = find_helper(name, &tried);

	buf_release(&tried);
	return path;
}

/* the helper called name, or NULL with the error reported */
static char *
need_helper(const char *name, const char *what)
{
	struct buf tried = BUF_INIT;
	char *path = find_helper(name, &tried);

	if (!path)
		error("cannot run %s: %s is not installed (looked for %s); "
		      "run 'make install' again", what, name, buf_str(&tried));
	buf_release(&tried);
	return path;
}

int
helper_exec(const char *name, const char *what, char **argv)
{
	char *path = need_helper(name, what);

	if (!path)
		return -1;
	execv(path, argv);
	error_errno("cannot run '%s'", path);
	free(path);
	return -1;
}

int
helper_main(const char *name, const char *what, int argc, char **argv)
{
	char *path = need_helper(name, what);
	int (*entry)(int, char **);
	void *lib;

	if (!path)
		return -1;
	/* lazily bound, as the libraries of a program are at its start */
	lib = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
	if (!lib) {
		error("cannot run %s: %s", what, dlerror());
		free(path);
		return -1;
	}
	free(path);
	*(void **)&entry = dlsym(lib, "hydro_main");
	if (!entry)
		return error("cannot run %s: %s", what, dlerror());
	return entry(argc, argv);
}
