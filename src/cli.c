#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "xmalloc.h"

/* the defaults hold for a library user (the Python module under python3) */
static struct cli defaults = { .log_prefix = 1 };
struct cli *cli = &defaults;

int
cli_add_param(struct cli *c, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t i, n;
	struct param *p;

	if (!eq || eq == arg)
		return error("bad parameter '%s': write it as -D name=value", arg);
	n = (size_t)(eq - arg);
	for (i = 0; i < n; i++) {
		char ch = arg[i];

		if (!(ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (i > 0 && ch >= '0' && ch <= '9')))
			return error("bad parameter name in '%s': a name is letters, digits "
			             "and '_', not starting with a digit", arg);
	}
	/* given again: the last value counts, as with make's variables */
	for (i = 0; i < c->nparams; i++) {
		p = &c->params[i];
		if (strlen(p->name) == n && !strncmp(p->name, arg, n)) {
			free(p->value);
			p->value = xstrdup(eq + 1);
			return 0;
		}
	}
	c->params = xreallocarray(c->params, c->nparams + 1, sizeof(*p));
	p = &c->params[c->nparams++];
	p->name = xstrndup(arg, n);
	p->value = xstrdup(eq + 1);
	p->used = 0;
	return 0;
}

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

struct options
cli_options(void)
{
	struct options o;

	memset(&o, 0, sizeof(o));
	o.log_prefix = 1;
	if (!cli)
		return o;
	o.jobs = cli->jobs;
	o.verbose = cli->verbose;
	o.quiet = cli->quiet;
	o.json = cli->json;
	o.keep = cli->keep;
	o.log_prefix = cli->log_prefix;
	o.timestamps = cli->timestamps;
	o.format = cli->format;
	return o;
}
