#include <string.h>
#include <unistd.h>

#include "cli.h"

/* the defaults hold for a library user (the Python module under python3) */
static struct cli defaults = { .log_prefix = 1 };
struct cli *cli = &defaults;

const char *
cli_param(const char *name)
{
	size_t i;

	for (i = cli->nparams; i-- > 0; ) {
		if (!strcmp(cli->params[i].name, name)) {
			cli->params[i].used = 1;
			return cli->params[i].value;
		}
	}
	return NULL;
}

int
cli_jobs(void)
{
	long n;

	if (cli->jobs > 0)
		return cli->jobs;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}
