/*
 * pyexec: Python configs in a helper of their own.
 *
 * The embedded interpreter lives in hydro-python, the same commands linked
 * with libpython; hydro itself is not, so that a command that reads JSON or
 * .hf (or runs nothing at all) does not load and relocate libpython first.
 * hydro hands a .py config to the helper with its own argv, before it has
 * acted on any option, so the helper sees the command line as typed.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "fs.h"
#include "python.h"
#include "xmalloc.h"

#ifndef HYDRO_LIBEXECDIR
#define HYDRO_LIBEXECDIR "/usr/local/libexec/hydro"
#endif

/* where the helper may be: beside this binary (the build tree), in
 * ../libexec/hydro from it (an installed tree, wherever it was moved),
 * then where make install put it */
static char *
find_helper(struct buf *tried)
{
	char exe[PATH_MAX], *dir, *cand[3];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *found = NULL;
	size_t i;

	cand[0] = cand[1] = NULL;
	if (n > 0) {
		exe[n] = '\0';
		dir = path_dirname(exe);
		cand[0] = xasprintf("%s/hydro-python", dir);
		cand[1] = xasprintf("%s/../libexec/hydro/hydro-python", dir);
		free(dir);
	}
	cand[2] = xstrdup(HYDRO_LIBEXECDIR "/hydro-python");
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
python_helper(void)
{
	struct buf tried = BUF_INIT;
	char *helper = find_helper(&tried);

	buf_release(&tried);
	return helper;
}

int
python_exec(char **argv)
{
	struct buf tried = BUF_INIT;
	char *helper = find_helper(&tried);

	if (!helper) {
		error("cannot run a Python config: hydro-python is not installed "
		      "(looked for %s); run 'make install' again", buf_str(&tried));
		buf_release(&tried);
		return -1;
	}
	buf_release(&tried);
	execv(helper, argv);
	error_errno("cannot run '%s'", helper);
	free(helper);
	return -1;
}
