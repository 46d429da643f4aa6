/*
 * cli: the options of one invocation, and the parameters (-D) a config
 * reads: typed, and checked against the names it asked for.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"
#include "str.h"
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

	for (i = 0; i < cli->nasked && strcmp(cli->asked[i], name); i++)
		;
	if (i == cli->nasked) {
		cli->asked = xreallocarray(cli->asked, cli->nasked + 1, sizeof(*cli->asked));
		cli->asked[cli->nasked++] = xstrdup(name);
	}
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
	o.trust_new_hosts = cli->trust_new_hosts;
	o.target = cli->target;
	o.format = cli->format;
	return o;
}

const char *
cli_param_type_name(enum param_type type)
{
	static const char *const names[] = {
		[PARAM_STR] = "str", [PARAM_INT] = "int", [PARAM_FLOAT] = "float",
		[PARAM_BOOL] = "bool",
	};

	return names[type];
}

/* a whole number as Python writes one: sign, then 0x, 0o, 0b or decimal,
 * '_' between digits */
static int
read_int(const char *s, long long *out)
{
	char digits[128], *end;
	const char *p = s;
	size_t n = 0;
	int base = 10, neg = 0;
	unsigned long long v;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (p[0] == '0' && p[1] && strchr("xXoObB", p[1])) {
		base = strchr("xX", p[1]) ? 16 : strchr("oO", p[1]) ? 8 : 2;
		p += 2;
	}
	for (; *p; p++) {
		if (*p == '_' && n && p[1] && p[1] != '_')
			continue;
		if (*p == '-' || *p == '+' || n + 1 >= sizeof(digits))
			return -1;
		digits[n++] = *p;
	}
	digits[n] = '\0';
	if (!n)
		return -1;
	errno = 0;
	v = strtoull(digits, &end, base);
	if (*end || errno || v > (unsigned long long)LLONG_MAX + neg)
		return -1;
	*out = neg ? (long long)(0 - v) : (long long)v;
	return 0;
}

int
cli_param_typed(const char *name, enum param_type type, struct param_value *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on", NULL };
	static const char *const no[] = { "0", "false", "no", "off", NULL };
	const char *raw = cli_param(name);
	char *text, *t, *end;
	size_t i;
	int ok = 1;

	memset(out, 0, sizeof(*out));
	if (!raw)
		return 0;
	out->str = raw;
	text = xstrdup(raw);
	t = str_trim(text);
	switch (type) {
	case PARAM_STR:
		break;
	case PARAM_INT:
		ok = read_int(t, &out->i) == 0;
		break;
	case PARAM_FLOAT:
		errno = 0;
		out->f = strtod(t, &end);
		ok = *t && !*end && errno != ERANGE;
		break;
	case PARAM_BOOL:
		ok = 0;
		for (i = 0; yes[i]; i++)
			if (!strcasecmp(t, yes[i]))
				ok = out->b = 1;
		for (i = 0; no[i]; i++)
			if (!strcasecmp(t, no[i]))
				ok = 1;
		break;
	}
	free(text);
	if (!ok)
		return error("parameter '%s' is '%s', which does not read as %s; give -D %s=<%s>",
		             name, raw, cli_param_type_name(type), name,
		             cli_param_type_name(type));
	return 1;
}

int
cli_check_params(const struct cli *c, int at_end)
{
	const char *close;
	size_t i;
	int ret = 0;

	if (!at_end && !c->strict_params)
		return 0;
	for (i = 0; i < c->nparams; i++) {
		if (c->params[i].used)
			continue;
		close = str_closest(c->params[i].name, (const char *const *)c->asked, c->nasked);
		if (c->strict_params)
			ret = error("parameter '%s' was given with -D but the config does not "
			            "read it%s%s%s", c->params[i].name,
			            close ? "; did you mean '" : "", close ? close : "",
			            close ? "'?" : "");
		else
			warning("parameter '%s' was given with -D but the config never reads "
			        "it%s%s%s", c->params[i].name, close ? "; did you mean '" : "",
			        close ? close : "", close ? "'?" : "");
	}
	return ret;
}

void
cli_release_params(struct cli *c)
{
	size_t i;

	for (i = 0; i < c->nparams; i++) {
		free(c->params[i].name);
		free(c->params[i].value);
	}
	free(c->params);
	c->params = NULL;
	c->nparams = 0;
	for (i = 0; i < c->nasked; i++)
		free(c->asked[i]);
	free(c->asked);
	c->asked = NULL;
	c->nasked = 0;
}
