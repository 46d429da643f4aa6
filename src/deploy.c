#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend.h"
#include "buf.h"
#include "deploy.h"
#include "hf/ptype.h"
#include "error.h"
#include "fs.h"
#include "hf/hf.h"
#include "json.h"
#include "str.h"
#include "xmalloc.h"

static const char *const kind_names[] = {
	[SERVICE_HYDROFLOW] = "hydroflow",
	[SERVICE_CRATE] = "crate",
	[SERVICE_PROCESS] = "process",
	[SERVICE_SCRIPT] = "script",
};

static const char *const dir_names[] = {
	[PORT_UNKNOWN] = "unknown",
	[PORT_INPUT] = "input",
	[PORT_OUTPUT] = "output",
};

struct deployment *
deployment_new(const char *dir, const char *config)
{
	struct deployment *d = xcalloc(1, sizeof(*d));

	d->dir = path_absolute(dir && *dir ? dir : ".");
	d->config = xstrdup(config ? config : "<deployment>");
	return d;
}

static void
free_list(char **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static void
free_kv(struct kv *kv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static void
kv_set(struct kv **kv, size_t *n, const char *key, const char *value)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		if (!strcmp((*kv)[i].key, key)) {
			free((*kv)[i].value);
			(*kv)[i].value = xstrdup(value);
			return;
		}
	}
	*kv = xreallocarray(*kv, *n + 1, sizeof(**kv));
	(*kv)[*n].key = xstrdup(key);
	(*kv)[*n].value = xstrdup(value);
	(*n)++;
}

static void
list_add(char ***list, size_t *n, const char *s)
{
	*list = xreallocarray(*list, *n + 2, sizeof(**list));
	(*list)[(*n)++] = xstrdup(s);
	(*list)[*n] = NULL;
}

static void
service_free(struct service *s)
{
	size_t i;

	for (i = 0; i < s->nports; i++) {
		free(s->ports[i]->name);
		free(s->ports[i]->type);
		free(s->ports[i]);
	}
	free(s->ports);
	free(s->name);
	free(s->src);
	free_list(s->standin, s->nstandin);
	free_list(s->argv, s->argc);
	free_kv(s->env, s->nenv);
	free(s->cwd);
	free(s->bin);
	free(s->example);
	free(s->profile);
	free_list(s->features, s->nfeatures);
	free_list(s->needs, s->nneeds);
	free_list(s->files, s->nfiles);
	free(s->ready.arg);
	free_list(s->ready.argv, s->ready.argc);
	free(s->where);
	free(s);
}

static void
target_free(struct target *t)
{
	free(t->name);
	free_list(t->argv, t->argc);
	free_list(t->inputs, t->ninputs);
	free_list(t->outputs, t->noutputs);
	free_kv(t->env, t->nenv);
	free_list(t->needs, t->nneeds);
	free(t->cwd);
	free(t->where);
	free(t);
}

void
deployment_free(struct deployment *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->nhosts; i++) {
		free(d->hosts[i]->name);
		free(d->hosts[i]->backend);
		free_kv(d->hosts[i]->settings, d->hosts[i]->nsettings);
		free(d->hosts[i]->where);
		free(d->hosts[i]);
	}
	for (i = 0; i < d->nservices; i++)
		service_free(d->services[i]);
	for (i = 0; i < d->nconns; i++)
		free(d->conns[i]);
	for (i = 0; i < d->ntargets; i++)
		target_free(d->targets[i]);
	free(d->hosts);
	free(d->services);
	free(d->conns);
	free(d->targets);
	map_release(&d->host_names);
	map_release(&d->service_names);
	map_release(&d->target_names);
	str_free_list(d->reserved_hosts);
	str_free_list(d->reserved_services);
	free(d->dir);
	free(d->config);
	free(d->where);
	free(d);
}

/* a name is what a script can write as a Python identifier, plus '-';
 * never '.', which separates a service from its port in "server.inbound" */
static int
check_name(const char *what, const char *name)
{
	const char *p;

	if (!*name)
		return error("%s name is empty", what);
	/* it names files (logs/NAME.out.times): within a file name's 255 */
	if (strlen(name) > NAME_MAX_LEN)
		return error("%s name '%.40s...' is %zu characters long; give one of at "
		             "most %d", what, name, strlen(name), NAME_MAX_LEN);
	for (p = name; *p; p++) {
		if (!(*p == '_' || *p == '-' || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			return error("bad %s name '%s': use letters, digits, '_' and '-'",
			             what, name);
	}
	return 0;
}

/* base, or base2, base3... whichever is free by taken() */
static char *
unique_name(const struct deployment *d, const char *base,
            int (*taken)(const struct deployment *, const char *))
{
	char *name = xstrdup(base);
	int i;

	for (i = 2; taken(d, name); i++) {
		free(name);
		name = xasprintf("%s%d", base, i);
	}
	return name;
}

void
deploy_reserve(struct deployment *d, int host, const char *name)
{
	char ***list = host ? &d->reserved_hosts : &d->reserved_services;
	size_t *n = host ? &d->nreserved_hosts : &d->nreserved_services;

	*list = xreallocarray(*list, *n + 2, sizeof(**list));
	(*list)[(*n)++] = xstrdup(name);
	(*list)[*n] = NULL;
}

static int
reserved(char *const *list, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(list[i], name))
			return 1;
	return 0;
}

struct host *
deploy_find_host(const struct deployment *d, const char *name)
{
	long i = map_gets(&d->host_names, name);

	return i < 0 ? NULL : d->hosts[i];
}

struct host *
deploy_add_host(struct deployment *d, const char *name, const char *backend)
{
	struct host *h;
	size_t i;

	if (name && (check_name("host", name) < 0))
		return NULL;
	if (name && deploy_find_host(d, name)) {
		error("there is already a host named '%s'", name);
		return NULL;
	}
	h = xcalloc(1, sizeof(*h));
	if (name) {
		h->name = xstrdup(name);
	} else {
		/* "local1", "local2", ...: the first gets a number too */
		for (i = 1; ; i++) {
			h->name = xasprintf("%s%zu", backend, i);
			if (!deploy_find_host(d, h->name) &&
			    !reserved(d->reserved_hosts, d->nreserved_hosts, h->name))
				break;
			free(h->name);
		}
	}
	h->backend = xstrdup(backend);
	h->where = xstrdup(d->where ? d->where : d->config);
	h->index = d->nhosts;
	map_puts(&d->host_names, h->name, (long)h->index);
	ALLOC_GROW(d->hosts, d->nhosts, d->caphosts);
	d->hosts[d->nhosts++] = h;
	return h;
}

void
host_set(struct host *h, const char *key, const char *value)
{
	kv_set(&h->settings, &h->nsettings, key, value);
}

const char *
host_get(const struct host *h, const char *key)
{
	size_t i;

	for (i = 0; i < h->nsettings; i++)
		if (!strcmp(h->settings[i].key, key))
			return h->settings[i].value;
	return NULL;
}

struct service *
deploy_find_service(const struct deployment *d, const char *name)
{
	long i = map_gets(&d->service_names, name);

	return i < 0 ? NULL : d->services[i];
}

static int
service_taken(const struct deployment *d, const char *name)
{
	return deploy_find_service(d, name) != NULL ||
	       reserved(d->reserved_services, d->nreserved_services, name);
}

/* "src/echo_server.hf" -> "echo_server"; "crates/kv/" -> "kv" */
static char *
name_from_src(const char *src)
{
	char *s = xstrdup(src), *base, *dot, *p;
	size_t n = strlen(s);

	while (n > 1 && s[n - 1] == '/')
		s[--n] = '\0';
	base = xstrdup(path_basename(s));
	free(s);
	dot = strrchr(base, '.');
	if (dot && dot != base)
		*dot = '\0';
	for (p = base; *p; p++)
		if (!(*p == '_' || *p == '-' || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			*p = '_';
	if (!*base) {
		free(base);
		base = xstrdup("service");
	}
	return base;
}

struct service *
deploy_add_service(struct deployment *d, const char *name, enum service_kind kind,
                   struct host *host, const char *src)
{
	struct service *s;
	char *base;

	if (name && check_name("service", name) < 0)
		return NULL;
	if (name && service_taken(d, name)) {
		error("there is already a service named '%s'", name);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->kind = kind;
	s->host = host;
	if (src)
		s->src = path_join(d->dir, src);
	if (name) {
		s->name = xstrdup(name);
	} else {
		base = name_from_src(src ? src : kind_names[kind]);
		s->name = unique_name(d, base, service_taken);
		free(base);
	}
	s->stop_timeout = 10;
	s->where = xstrdup(d->where ? d->where : d->config);
	s->index = d->nservices;
	map_puts(&d->service_names, s->name, (long)s->index);
	ALLOC_GROW(d->services, d->nservices, d->capservices);
	d->services[d->nservices++] = s;
	return s;
}

void
service_add_arg(struct service *s, const char *arg)
{
	list_add(&s->argv, &s->argc, arg);
}

void
service_set_env(struct service *s, const char *key, const char *value)
{
	kv_set(&s->env, &s->nenv, key, value);
}

static struct port *
find_port(const struct service *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nports; i++)
		if (!strcmp(s->ports[i]->name, name))
			return s->ports[i];
	return NULL;
}

static struct port *
new_port(struct service *s, const char *name, enum port_dir dir, const char *type,
         int declared)
{
	struct port *p = xcalloc(1, sizeof(*p));

	p->name = xstrdup(name);
	p->dir = dir;
	p->type = type ? xstrdup(type) : NULL;
	p->declared = declared;
	p->service = s;
	s->ports = xreallocarray(s->ports, s->nports + 1, sizeof(*s->ports));
	s->ports[s->nports++] = p;
	return p;
}

struct port *
service_declare_port(struct service *s, const char *name, enum port_dir dir,
                     const char *type)
{
	if (check_name("port", name) < 0)
		return NULL;
	if (find_port(s, name)) {
		error("service '%s' declares port '%s' twice", s->name, name);
		return NULL;
	}
	return new_port(s, name, dir, type, 1);
}

/* whether the program says which ports it has (then no other name is valid) */
static int
ports_declared(const struct service *s)
{
	size_t i;

	if (s->kind == SERVICE_HYDROFLOW)
		return 1;
	for (i = 0; i < s->nports; i++)
		if (s->ports[i]->declared)
			return 1;
	return 0;
}

struct port *
service_port(struct service *s, const char *name)
{
	struct port *p = find_port(s, name);
	const char **names;
	const char *close;
	struct buf list = BUF_INIT;
	size_t i;

	if (p)
		return p;
	if (!ports_declared(s)) {
		if (check_name("port", name) < 0)
			return NULL;
		return new_port(s, name, PORT_UNKNOWN, NULL, 0);
	}
	names = xcalloc(s->nports + 1, sizeof(*names));
	for (i = 0; i < s->nports; i++) {
		names[i] = s->ports[i]->name;
		buf_printf(&list, "%s%s", i ? ", " : "", names[i]);
	}
	close = str_closest(name, names, s->nports);
	if (!s->nports)
		error("service '%s' has no port '%s': its program declares no ports",
		      s->name, name);
	else if (close)
		error("service '%s' has no port '%s'; did you mean '%s'? (its ports: %s)",
		      s->name, name, close, buf_str(&list));
	else
		error("service '%s' has no port '%s' (its ports: %s)",
		      s->name, name, buf_str(&list));
	free(names);
	buf_release(&list);
	return NULL;
}

char *
port_label(const struct port *p)
{
	if (!p)
		return xstrdup("hydro.null()");
	return xasprintf("%s.%s", p->service->name, p->name);
}

struct connection *
deploy_connect(struct deployment *d, struct port *from, struct port *to)
{
	struct connection *c;
	char *a = port_label(from), *b = port_label(to);
	size_t i;
	int bad = 0;

	if (!from && !to)
		bad = error("cannot connect hydro.null() to hydro.null()");
	else if (from == to)
		bad = error("cannot connect '%s' to itself", a);
	else if (from && to && from->dir == PORT_INPUT && to->dir == PORT_INPUT)
		bad = error("cannot connect '%s' to '%s': both are inputs; "
		            "connect an output to an input", a, b);
	else if (from && to && from->dir == PORT_OUTPUT && to->dir == PORT_OUTPUT)
		bad = error("cannot connect '%s' to '%s': both are outputs; "
		            "connect an output to an input", a, b);
	else if (from && from->dir == PORT_INPUT)
		bad = error("cannot connect '%s' to '%s': '%s' is an input; "
		            "the connection goes from an output (write %s.connect(%s))",
		            a, b, a, b, a);
	else if (to && to->dir == PORT_OUTPUT)
		bad = error("cannot connect '%s' to '%s': '%s' is an output; "
		            "the connection goes to an input (write %s.connect(%s))",
		            a, b, b, b, a);
	for (i = 0; !bad && i < d->nconns; i++)
		if (d->conns[i]->from == from && d->conns[i]->to == to && from && to)
			bad = error("'%s' is already connected to '%s'", a, b);
	free(a);
	free(b);
	if (bad)
		return NULL;
	if (from)
		from->dir = PORT_OUTPUT;
	if (to)
		to->dir = PORT_INPUT;
	c = xcalloc(1, sizeof(*c));
	c->from = from;
	c->to = to;
	c->key = -1;
	c->tag = -1;
	c->index = d->nconns;
	ALLOC_GROW(d->conns, d->nconns, d->capconns);
	d->conns[d->nconns++] = c;
	return c;
}

struct target *
deploy_find_target(const struct deployment *d, const char *name)
{
	long i = map_gets(&d->target_names, name);

	return i < 0 ? NULL : d->targets[i];
}

struct target *
deploy_add_target(struct deployment *d, const char *name)
{
	struct target *t;

	if (check_name("target", name) < 0)
		return NULL;
	if (deploy_find_target(d, name)) {
		error("there is already a target named '%s'", name);
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->name = xstrdup(name);
	t->where = xstrdup(d->where ? d->where : d->config);
	t->index = d->ntargets;
	map_puts(&d->target_names, t->name, (long)t->index);
	ALLOC_GROW(d->targets, d->ntargets, d->captargets);
	d->targets[d->ntargets++] = t;
	return t;
}

/*
 * What a binding calls.  The decisions about what a declaration means are
 * made here once, for every config language.
 */

void
deploy_set_where(struct deployment *d, const char *where)
{
	free(d->where);
	d->where = where ? xstrdup(where) : NULL;
}

/* the backends the model knows and the settings their hosts take
 * (docs/ssh.md, docs/python.md), the required ones first, in the order a
 * binding may give them positionally */
static const struct backend_spec {
	const char *name;
	size_t nrequired;
	const char *settings[16];
	const char *none[4];	/* the settings that "no value" sets to "none" */
} backend_specs[] = {
	{ "local", 0, { "address", "target", NULL }, { NULL } },
	{ "ssh", 1, { "host", "user", "port", "key", "trust_new_host", "connect_timeout",
	              "connect_attempts", "address", "target", "compress", NULL }, { NULL } },
	{ "gcp", 2, { "project", "zone", "type", "image", "region", "network", "user",
	              "ttl", "zones", "ssh_from", "spot", "disk_gb", "boot_timeout",
	              "external_ports", NULL },
	  { "ttl", NULL } },
};

/* what a setting given with no value is: "none" where it has that meaning,
 * else NULL (not given) */
static const char *
setting_none(const struct backend_spec *b, const char *name)
{
	size_t i;

	for (i = 0; b->none[i]; i++)
		if (!strcmp(b->none[i], name))
			return "none";
	return NULL;
}

static const struct backend_spec *
backend_spec(const char *backend)
{
	size_t i;

	for (i = 0; i < sizeof(backend_specs) / sizeof(backend_specs[0]); i++)
		if (!strcmp(backend_specs[i].name, backend))
			return &backend_specs[i];
	return NULL;
}

const char *const *
deploy_backend_settings(const char *backend)
{
	const struct backend_spec *b = backend_spec(backend);

	return b ? b->settings : NULL;
}

static size_t
count_names(const char *const *names)
{
	size_t n = 0;

	while (names[n])
		n++;
	return n;
}

/* whether the number num is in the comma-separated list */
static int
port_listed(const char *list, const char *num)
{
	size_t n = strlen(num);
	const char *p;

	for (p = list; (p = strstr(p, num)); p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return 1;
	return 0;
}

/* the name of a setting given by key, or positionally as the pos-th one */
static const char *
setting_name(const struct backend_spec *b, const char *key, size_t *pos)
{
	const char *close;
	struct buf all = BUF_INIT;
	size_t i, n = count_names(b->settings);

	if (!key) {
		if (*pos < n)
			return b->settings[(*pos)++];
		error("a '%s' host takes at most %zu settings by position", b->name, n);
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (!strcmp(b->settings[i], key))
			return b->settings[i];
	for (i = 0; i < n; i++)
		buf_printf(&all, "%s%s", i ? ", " : "", b->settings[i]);
	close = str_closest(key, b->settings, n);
	if (!n)
		error("a '%s' host takes no settings, not '%s'", b->name, key);
	else if (close)
		error("a '%s' host has no setting '%s'; did you mean '%s'? (it takes %s)",
		      b->name, key, close, buf_str(&all));
	else
		error("a '%s' host has no setting '%s' (it takes %s)", b->name, key,
		      buf_str(&all));
	buf_release(&all);
	return NULL;
}

int
host_open_ports(struct host *h, const long *ports, size_t n)
{
	const struct backend_spec *b = backend_spec(h->backend);
	const char *had = host_get(h, "external_ports");
	struct buf all = BUF_INIT;
	char num[16];
	size_t i, k;

	for (i = 0; i < n; i++)
		if (ports[i] < 1 || ports[i] > 65535)
			return error("external port %ld is not a TCP port number (1 to 65535)",
			             ports[i]);
	/* a machine of this one's, or one hydro does not make: nothing to open */
	for (k = 0; b && b->settings[k] && strcmp(b->settings[k], "external_ports"); k++)
		;
	if (!b || !b->settings[k])
		return 0;
	buf_addstr(&all, had ? had : "");
	for (i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%ld", ports[i]);
		if (port_listed(buf_str(&all), num))
			continue;
		buf_printf(&all, "%s%s", all.len ? "," : "", num);
	}
	host_set(h, "external_ports", buf_str(&all));
	buf_release(&all);
	return 0;
}

struct host *
deploy_declare_host(struct deployment *d, const char *name, const char *backend,
                    const struct kv *settings, size_t n)
{
	const struct backend_spec *b = backend_spec(backend);
	const char **names;
	struct host *h;
	size_t i, pos = 0;
	int bad = 0;

	if (!b) {
		error("unknown backend '%s'", backend);
		return NULL;
	}
	names = xcalloc(n + 1, sizeof(*names));
	for (i = 0; i < n && !bad; i++) {
		names[i] = setting_name(b, settings[i].key, &pos);
		bad = !names[i];
		for (size_t j = 0; !bad && j < i; j++)
			if (!strcmp(names[i], names[j]))
				bad = error("setting '%s' is given twice", names[i]);
	}
	for (i = 0; i < b->nrequired && !bad; i++) {
		size_t j;

		for (j = 0; j < n && (strcmp(names[j], b->settings[i]) ||
		                      !(settings[j].value || setting_none(b, names[j]))); j++)
			;
		if (j == n)
			bad = error("a '%s' host needs its '%s'", b->name, b->settings[i]);
	}
	h = bad ? NULL : deploy_add_host(d, name, backend);
	for (i = 0; h && i < n; i++) {
		const char *v = settings[i].value ? settings[i].value : setting_none(b, names[i]);
		if (v)
			host_set(h, names[i], v);
	}
	free(names);
	return h;
}

static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int
deploy_check_src(const struct deployment *d, enum service_kind kind, const char *src)
{
	char *full, *toml;
	int ret = 0;

	if (kind == SERVICE_PROCESS)
		return 0;
	if (!src || !*src)
		return error("a %s service needs its src", kind_names[kind]);
	full = path_join(d->dir, src);
	if (kind == SERVICE_HYDROFLOW && !is_file(full)) {
		ret = error("cannot read src '%s': %s", src,
		            path_exists(full) ? "not a file" : "no such file");
	} else if (kind == SERVICE_CRATE && !is_dir(full)) {
		ret = error("cannot read src '%s': %s", src,
		            path_exists(full) ? "not a directory" : "no such directory");
	} else if (kind == SERVICE_CRATE) {
		toml = path_join(full, "Cargo.toml");
		if (!is_file(toml))
			ret = error("'%s' is not a crate: it has no Cargo.toml", src);
		free(toml);
	}
	free(full);
	return ret;
}

/* programs that run another one named later on their command line */
static int
is_launcher(const char *word)
{
	static const char *const names[] = {
		"python", "pypy", "sh", "bash", "dash", "zsh", "ksh", "fish", "node",
		"nodejs", "deno", "bun", "ruby", "perl", "php", "lua", "luajit",
		"tclsh", "java", "env", "nice", "nohup", "exec", "stdbuf", "taskset",
		"timeout", NULL,
	};
	size_t i, n = strlen(word);

	/* python3.11, lua5.4 */
	while (n && ((word[n - 1] >= '0' && word[n - 1] <= '9') || word[n - 1] == '.'))
		n--;
	for (i = 0; names[i]; i++)
		if (strlen(names[i]) == n && !strncmp(word, names[i], n))
			return 1;
	return 0;
}

/* a service name from a command: the script an interpreter runs, else the
 * program; "-c CODE" names the interpreter, "-m MODULE" the module */
static char *
command_name(char *const *argv, size_t argc)
{
	const char *launcher;
	char *mod, *p, *name;
	size_t i = 0;

	while (i + 1 < argc && is_launcher(path_basename(argv[i]))) {
		launcher = argv[i];
		for (i++; i < argc; i++) {
			if (!strcmp(argv[i], "-c"))
				return name_from_src(launcher);
			if (!strcmp(argv[i], "-m") && i + 1 < argc) {
				mod = xstrdup(argv[i + 1]);
				for (p = mod; *p; p++)
					if (*p == '.')
						*p = '_';
				name = name_from_src(mod);
				free(mod);
				return name;
			}
			/* options, env's VAR=value, timeout's duration */
			if (argv[i][0] != '-' && !strchr(argv[i], '=') &&
			    !(argv[i][0] >= '0' && argv[i][0] <= '9'))
				break;
		}
		if (i == argc)
			return name_from_src(launcher);
	}
	return name_from_src(argv[i]);
}

struct service *
deploy_add_process(struct deployment *d, const char *name, struct host *host,
                   char *const *argv, size_t argc)
{
	struct service *s;
	char *base, *made = NULL;
	size_t i;

	if (!argc || !*argv[0]) {
		error("a process needs a command: give cmd=[PROGRAM, ARGS...]");
		return NULL;
	}
	if (!name) {
		base = command_name(argv, argc);
		made = unique_name(d, base, service_taken);
		free(base);
	}
	s = deploy_add_service(d, made ? made : name, SERVICE_PROCESS, host, NULL);
	free(made);
	for (i = 0; s && i < argc; i++)
		service_add_arg(s, argv[i]);
	return s;
}

struct service *
deploy_add_participant(struct deployment *d, const char *name, struct host *host)
{
	struct service *s;

	if (host->backend && strcmp(host->backend, "local")) {
		error("the script runs on this machine, not on host '%s' (%s); give it "
		      "on=deployment.Localhost()", host->name, host->backend);
		return NULL;
	}
	s = deploy_add_service(d, name, SERVICE_SCRIPT, host, NULL);
	/* its inputs are bound by hydro and handed over, never by address */
	if (s)
		s->inherit_sockets = 1;
	return s;
}

int
service_read_ports(struct service *s)
{
	struct hf_program *prog;
	size_t i;
	int ret = 0;

	fflush(stdout);
	prog = s->src ? hf_load(s->src) : NULL;
	if (!prog)
		return error("'%s' does not check: fix the errors above",
		             s->src ? path_display(s->src) : "");
	for (i = 0; i < prog->nports && ret == 0; i++) {
		const struct hf_port_info *p = &prog->ports[i];

		if (!service_declare_port(s, p->name, p->is_input ? PORT_INPUT : PORT_OUTPUT,
		                          p->type))
			ret = -1;
	}
	hf_program_free(prog);
	return ret;
}

/* name as a package holds it: no empty or "." parts ("./a//b" is "a/b");
 * NULL when it is absolute, has a ".." part or is nothing */
static char *
file_name(const char *name)
{
	struct buf b = BUF_INIT;
	char **parts;
	size_t n, i;
	int bad = *name == '/';

	parts = str_split(name, '/', &n);
	for (i = 0; i < n && !bad; i++) {
		if (!*parts[i] || !strcmp(parts[i], "."))
			continue;
		bad = !strcmp(parts[i], "..");
		buf_printf(&b, "%s%s", b.len ? "/" : "", parts[i]);
	}
	str_free_list(parts);
	if (bad || !b.len) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

int
service_add_files(struct service *s, char *const *files, size_t n)
{
	char **names = xcalloc(n + 1, sizeof(*names));
	size_t i, j;
	int ret = 0;

	for (i = 0; i < n && ret == 0; i++)
		if (!(names[i] = file_name(files[i])))
			ret = error("service '%s': file '%s' (files=) must be a path inside "
			            "the config's folder, relative to it", s->name, files[i]);
	for (i = 0; i < n && ret == 0; i++) {
		for (j = 0; j < s->nfiles && strcmp(s->files[j], names[i]); j++)
			;
		if (j < s->nfiles)
			continue;
		s->files = xreallocarray(s->files, s->nfiles + 1, sizeof(*s->files));
		s->files[s->nfiles++] = xstrdup(names[i]);
	}
	str_free_list(names);
	return ret;
}

void
service_set_cwd(const struct deployment *d, struct service *s, const char *cwd)
{
	free(s->cwd);
	s->cwd = cwd ? path_join(d->dir, cwd) : NULL;
}

int
service_set_ready(struct service *s, const char *kind, const char *arg,
                  char *const *argv, size_t argc)
{
	char msg[256];
	regex_t re;
	size_t i;
	int err;

	if (kind && !strcmp(kind, "command") && !arg) {
		if (!argc)
			return error("the readiness command is empty: give {\"command\": "
			             "[PROGRAM, ARGS...]}");
		s->ready.kind = READY_COMMAND;
		free_list(s->ready.argv, s->ready.argc);
		s->ready.argv = NULL;
		s->ready.argc = 0;
		for (i = 0; i < argc; i++)
			list_add(&s->ready.argv, &s->ready.argc, argv[i]);
		return 0;
	}
	if (!kind || !arg || argv || (strcmp(kind, "port") && strcmp(kind, "log")))
		return error("a readiness check is one of {\"port\": NAME}, {\"log\": "
		             "REGEX} or {\"command\": [...]}");
	if (!strcmp(kind, "log")) {
		if (!*arg)
			return error("the readiness log pattern is empty");
		/* as the run matches it: POSIX extended */
		err = regcomp(&re, arg, REG_EXTENDED | REG_NOSUB);
		if (err) {
			regerror(err, &re, msg, sizeof(msg));
			return error("ready log pattern '%s': %s", arg, msg);
		}
		regfree(&re);
	}
	s->ready.kind = strcmp(kind, "log") ? READY_PORT : READY_LOG;
	free(s->ready.arg);
	s->ready.arg = xstrdup(arg);
	return 0;
}

int
service_set_sockets(struct service *s, const char *how)
{
	if (!how || (strcmp(how, "address") && strcmp(how, "inherit")))
		return error("sockets is \"address\" (the process binds its inputs) "
		             "or \"inherit\" (hydro binds them and hands them over)");
	s->inherit_sockets = !strcmp(how, "inherit");
	return 0;
}

int
port_dir_parse(const char *port, const char *name, enum port_dir *dir)
{
	if (!strcmp(name, "input") || !strcmp(name, "in"))
		*dir = PORT_INPUT;
	else if (!strcmp(name, "output") || !strcmp(name, "out"))
		*dir = PORT_OUTPUT;
	else if (!strcmp(name, "unknown"))
		*dir = PORT_UNKNOWN;
	else
		return error("port '%s' must be \"input\" or \"output\", not '%s'", port, name);
	return 0;
}

static int
check_u32(const char *what, long long v)
{
	if (v < -1 || v > 4294967295LL)
		return error("%s is a whole number from 0 to 4294967295, not %lld", what, v);
	return 0;
}

/* a port of the script carries one connection: the script holds one
 * socket per port (participant.h) */
static int
script_port_taken(const struct deployment *d, const struct port *p)
{
	size_t i;

	if (!p || p->service->kind != SERVICE_SCRIPT)
		return 0;
	for (i = 0; i < d->nconns; i++) {
		if (d->conns[i]->from == p || d->conns[i]->to == p) {
			char *l = port_label(p);
			error("'%s' is connected already: a port of the script carries one "
			      "connection; make another with client_port()", l);
			free(l);
			return 1;
		}
	}
	return 0;
}

struct connection *
deploy_connect_with(struct deployment *d, struct port *from, struct port *to,
                    long long key, long long tag, int merge)
{
	struct connection *c;

	if (check_u32("a hydro.demux() key", key) < 0 || check_u32("a tag", tag) < 0)
		return NULL;
	c = script_port_taken(d, from) || script_port_taken(d, to) ? NULL :
	    deploy_connect(d, from, to);
	if (c) {
		c->key = (long)key;
		c->tag = (long)tag;
		c->merge = merge;
	}
	return c;
}

int
deploy_check_backends(const struct deployment *d)
{
	const struct host *h;
	size_t i;
	int ret = 0;

	for (i = 0; i < d->nhosts; i++) {
		h = d->hosts[i];
		if (backend_find(h->backend))
			continue;
		if (backend_spec(h->backend))
			ret = error("%s: host '%s': the '%s' backend is not available yet; "
			            "use a local host (deployment.Localhost()) for now",
			            h->where, h->name, h->backend);
		else
			ret = error("%s: host '%s' has an unknown backend '%s'",
			            h->where, h->name, h->backend);
	}
	return ret;
}

int
deploy_check_buildable(const struct deployment *d)
{
	const struct service *s;
	size_t i;
	int ret = 0;

	for (i = 0; i < d->nservices; i++) {
		s = d->services[i];
		if (s->kind == SERVICE_CRATE && !s->nstandin && s->bin && s->example)
			ret = error("%s: cannot build '%s': it names both a bin ('%s') and an "
			            "example ('%s'); give one", s->where, s->name, s->bin,
			            s->example);
	}
	return ret;
}

/* depth-first search for a cycle among the targets reached from target i,
 * without recursion: a generated config may chain many thousands of them.
 * state: 0 new, 1 on the path, 2 done; stack[] holds the path, pos[] the
 * next need to visit of each target on it */
static int
target_cycle(const struct deployment *d, size_t i, unsigned char *state,
             size_t *stack, size_t *pos)
{
	const struct target *t, *n;
	struct buf path = BUF_INIT;
	size_t depth, k;

	if (state[i])
		return 0;
	state[i] = 1;
	stack[0] = i;
	pos[0] = 0;
	depth = 1;
	while (depth) {
		t = d->targets[stack[depth - 1]];
		if (pos[depth - 1] == t->nneeds) {
			state[stack[--depth]] = 2;
			continue;
		}
		n = deploy_find_target(d, t->needs[pos[depth - 1]++]);
		if (!n || state[n->index] == 2)
			continue;
		if (state[n->index] == 0) {
			state[n->index] = 1;
			stack[depth] = n->index;
			pos[depth++] = 0;
			continue;
		}
		for (k = 0; stack[k] != n->index; k++)
			;
		for (; k < depth; k++)
			buf_printf(&path, "%s -> ", d->targets[stack[k]]->name);
		buf_addstr(&path, n->name);
		error("%s: targets depend on each other in a cycle: %s; "
		      "remove one of these needs", d->config, buf_str(&path));
		buf_release(&path);
		return -1;
	}
	return 0;
}

/* whether a target lists name among its outputs */
static int
target_makes(const struct deployment *d, const char *name)
{
	size_t i, j;

	for (i = 0; i < d->ntargets; i++)
		for (j = 0; j < d->targets[i]->noutputs; j++)
			if (!strcmp(d->targets[i]->outputs[j], name))
				return 1;
	return 0;
}

static int
validate_service(const struct deployment *d, const struct service *s)
{
	const char *cfg = s->where;
	struct port *p;
	int ret = 0;
	size_t i;

	if (!s->host)
		ret = error("%s: service '%s' is on no host; give it on=HOST", cfg, s->name);
	switch (s->kind) {
	case SERVICE_HYDROFLOW:
		if (!s->src)
			ret = error("%s: service '%s' has no program; give it src=FILE.hf",
			            cfg, s->name);
		else if (!is_file(s->src))
			ret = error("%s: service '%s': cannot find its program '%s'",
			            cfg, s->name, s->src);
		break;
	case SERVICE_CRATE:
		if (!s->src)
			ret = error("%s: service '%s' has no crate; give it src=DIR", cfg, s->name);
		else if (!is_dir(s->src))
			ret = error("%s: service '%s': cannot find its crate directory '%s'",
			            cfg, s->name, s->src);
		break;
	case SERVICE_PROCESS:
		if (!s->argc)
			ret = error("%s: service '%s' has no command; give it cmd=[...]",
			            cfg, s->name);
		break;
	case SERVICE_SCRIPT:
		break;
	}
	if (s->inherit_sockets && s->kind != SERVICE_PROCESS && s->kind != SERVICE_SCRIPT)
		ret = error("%s: service '%s': sockets \"inherit\" is for processes; "
		            "a %s is handed its ports by the port protocol", cfg, s->name,
		            s->kind == SERVICE_CRATE ? "crate" : "hydroflow program");
	/* a deadline past any run: a typo, and now() + it is no time */
	if (s->stop_timeout > STOP_TIMEOUT_MAX)
		ret = error("%s: service '%s': a stop_timeout of %g s is more than a day; "
		            "give one from 0 to %d", cfg, s->name, s->stop_timeout,
		            STOP_TIMEOUT_MAX);
	for (i = 0; i < s->nfiles; i++) {
		char *full = path_join(d->dir, s->files[i]);

		if (!is_file(full) && !target_makes(d, s->files[i]))
			ret = error("%s: service '%s': file '%s' (files=) %s", cfg, s->name,
			            s->files[i], path_exists(full) ? "is not a regular file" :
			            "does not exist, and no target makes it");
		free(full);
	}
	for (i = 0; i < s->nneeds; i++)
		if (!deploy_find_target(d, s->needs[i]))
			ret = error("%s: service '%s' needs an unknown target '%s'",
			            cfg, s->name, s->needs[i]);
	for (i = 0; i < s->nports; i++) {
		p = s->ports[i];
		if (p->dir == PORT_UNKNOWN)
			ret = error("%s: port '%s.%s' is named but never connected; "
			            "connect it, or to hydro.null()", cfg, s->name, p->name);
	}
	switch (s->ready.kind) {
	case READY_NONE:
		break;
	case READY_PORT:
		p = s->ready.arg ? find_port(s, s->ready.arg) : NULL;
		if (!p || p->dir != PORT_INPUT)
			ret = error("%s: service '%s' is ready on port '%s', which is not one "
			            "of its inputs", cfg, s->name,
			            s->ready.arg ? s->ready.arg : "");
		break;
	case READY_LOG:
		if (!s->ready.arg || !*s->ready.arg)
			ret = error("%s: service '%s': its ready log pattern is empty",
			            cfg, s->name);
		break;
	case READY_COMMAND:
		if (!s->ready.argc)
			ret = error("%s: service '%s': its ready command is empty", cfg, s->name);
		break;
	}
	return ret;
}

int
deploy_validate(const struct deployment *d)
{
	const struct target *t;
	struct map outputs = MAP_INIT;
	unsigned char *state;
	size_t i, j, *stack, *pos;
	long other;
	int ret = 0;

	/* names are unique by construction: deploy_add_* refuse a taken one */
	for (i = 0; i < d->nhosts; i++)
		if (backend_find(d->hosts[i]->backend) && host_check(d->hosts[i]) < 0)
			ret = -1;
	for (i = 0; i < d->nservices; i++)
		if (validate_service(d, d->services[i]) < 0)
			ret = -1;
	for (i = 0; i < d->ntargets; i++) {
		t = d->targets[i];
		if (!t->argc)
			ret = error("%s: target '%s' has no command; give it cmd=[...]",
			            t->where, t->name);
		for (j = 0; j < t->nneeds; j++)
			if (!deploy_find_target(d, t->needs[j]))
				ret = error("%s: target '%s' needs an unknown target '%s'",
				            t->where, t->name, t->needs[j]);
		for (j = 0; j < t->noutputs; j++) {
			other = map_gets(&outputs, t->outputs[j]);
			if (other >= 0 && (size_t)other != i)
				ret = error("%s: output '%s' is made by two targets, '%s' and '%s'",
				            t->where, t->outputs[j], d->targets[other]->name,
				            t->name);
			else
				map_puts(&outputs, t->outputs[j], (long)i);
		}
	}
	map_release(&outputs);
	for (i = 0; i < d->nconns; i++) {
		const struct port *f = d->conns[i]->from, *to = d->conns[i]->to;

		if (f && to && f->type && to->type && !hf_port_compatible(f->type, to->type))
			ret = error("%s: cannot connect '%s.%s' to '%s.%s': the output is `%s` and "
			            "the input `%s`; an output of T or (T, SocketAddr) feeds an "
			            "input of T or (T, SocketAddr), with the same T", d->config,
			            f->service->name, f->name, to->service->name, to->name,
			            f->type, to->type);
	}
	if (ret == 0 && d->ntargets) {
		state = xcalloc(d->ntargets, 1);
		stack = xcalloc(d->ntargets + 1, sizeof(*stack));
		pos = xcalloc(d->ntargets + 1, sizeof(*pos));
		for (i = 0; i < d->ntargets && ret == 0; i++)
			ret = target_cycle(d, i, state, stack, pos);
		free(pos);
		free(state);
		free(stack);
	}
	return ret;
}

/*
 * The JSON form (docs/spec.md).  Reading reports every problem with the path
 * of the offending entry: "echo.json: services[1].on: unknown host 'x'".
 */

struct jctx {
	const char *what;	/* the file, for messages */
	int bad;
};

static void jerror(struct jctx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
jerror(struct jctx *c, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	error("%s: %s: %s", c->what, path, msg);
	c->bad = 1;
}

static const char *
jstring(struct jctx *c, const cJSON *o, const char *key, const char *path, int required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v || cJSON_IsNull(v)) {
		if (required)
			jerror(c, path, "'%s' is missing", key);
		return NULL;
	}
	if (!cJSON_IsString(v)) {
		jerror(c, path, "'%s' must be a string", key);
		return NULL;
	}
	return v->valuestring;
}

/* a true/false flag; def when absent or null */
static int
jflag(struct jctx *c, const cJSON *o, const char *key, const char *path, int def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v || cJSON_IsNull(v))
		return def;
	if (!cJSON_IsBool(v)) {
		jerror(c, path, "'%s' must be true or false", key);
		return def;
	}
	return cJSON_IsTrue(v);
}

static void
jstrings(struct jctx *c, const cJSON *o, const char *key, const char *path,
         char ***list, size_t *n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key), *e;
	size_t i = 0;

	if (!v || cJSON_IsNull(v))
		return;
	if (!cJSON_IsArray(v)) {
		jerror(c, path, "'%s' must be a list of strings", key);
		return;
	}
	cJSON_ArrayForEach(e, v) {
		if (!cJSON_IsString(e)) {
			char *p = xasprintf("%s.%s[%zu]", path, key, i);
			jerror(c, p, "must be a string");
			free(p);
		} else {
			list_add(list, n, e->valuestring);
		}
		i++;
	}
}

static void
jenv(struct jctx *c, const cJSON *o, const char *key, const char *path,
     struct kv **kv, size_t *n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key), *e;

	if (!v || cJSON_IsNull(v))
		return;
	if (!cJSON_IsObject(v)) {
		jerror(c, path, "'%s' must be an object of strings", key);
		return;
	}
	cJSON_ArrayForEach(e, v) {
		if (!cJSON_IsString(e)) {
			char *p = xasprintf("%s.%s.%s", path, key, e->string);
			jerror(c, p, "must be a string");
			free(p);
		} else {
			kv_set(kv, n, e->string, e->valuestring);
		}
	}
}

/* refuse keys this version does not know: a typo must not pass silently */
static void
jkeys(struct jctx *c, const cJSON *o, const char *path, const char *const *known)
{
	const cJSON *e;
	const char *const *k;
	const char *close;
	size_t n;

	for (n = 0; known[n]; n++)
		;
	cJSON_ArrayForEach(e, o) {
		for (k = known; *k; k++)
			if (!strcmp(*k, e->string))
				break;
		if (*k)
			continue;
		close = str_closest(e->string, (const char *const *)known, n);
		if (close)
			jerror(c, path, "unknown key '%s'; did you mean '%s'?", e->string, close);
		else
			jerror(c, path, "unknown key '%s'", e->string);
	}
}

static const char *const top_keys[] = {
	"version", "hosts", "services", "connections", "targets", NULL,
};
static const char *const host_keys[] = { "name", "backend", "settings", NULL };
static const char *const service_keys[] = {
	"name", "kind", "on", "src", "standin", "args", "cmd", "env", "cwd", "bin",
	"example", "profile", "features", "ports", "needs", "ready", "can_die",
	"stop_timeout", "sockets", "files", NULL,
};
static const char *const port_keys[] = { "name", "dir", "type", NULL };
static const char *const conn_keys[] = { "from", "to", "key", "tag", "merge", NULL };
static const char *const target_keys[] = {
	"name", "cmd", "inputs", "outputs", "env", "needs", "cwd", NULL,
};

static const cJSON *
jarray(struct jctx *c, const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsArray(v)) {
		jerror(c, key, "must be a list");
		return NULL;
	}
	return v;
}

/* a number as the user wrote it: "1000000", "0.1" ("%g" made 1000000
 * "1e+06" and lost digits past the sixth) */
static char *
number_text(double x)
{
	char *v;
	int prec;

	if (x == floor(x) && fabs(x) < 9007199254740992.0)
		return xasprintf("%.0f", x);
	for (prec = 15; ; prec++) {
		v = xasprintf("%.*g", prec, x);
		if (prec == 17 || strtod(v, NULL) == x)
			return v;
		free(v);
	}
}

static void
read_hosts(struct jctx *c, struct deployment *d, const cJSON *json)
{
	const cJSON *hosts = jarray(c, json, "hosts"), *h, *settings, *e;
	const char *name, *backend;
	struct host *host;
	char path[64];
	size_t i = 0;

	cJSON_ArrayForEach(h, hosts) {
		snprintf(path, sizeof(path), "hosts[%zu]", i++);
		if (!cJSON_IsObject(h)) {
			jerror(c, path, "must be an object");
			continue;
		}
		jkeys(c, h, path, host_keys);
		name = jstring(c, h, "name", path, 1);
		backend = jstring(c, h, "backend", path, 0);
		if (!name)
			continue;
		host = deploy_add_host(d, name, backend ? backend : "local");
		if (!host) {
			c->bad = 1;
			continue;
		}
		settings = cJSON_GetObjectItemCaseSensitive(h, "settings");
		if (settings && !cJSON_IsObject(settings)) {
			jerror(c, path, "'settings' must be an object");
			continue;
		}
		cJSON_ArrayForEach(e, settings) {
			if (cJSON_IsString(e))
				host_set(host, e->string, e->valuestring);
			else if (cJSON_IsNumber(e)) {
				char *v = number_text(e->valuedouble);
				host_set(host, e->string, v);
				free(v);
			} else
				jerror(c, path, "setting '%s' must be a string or a number",
				       e->string);
		}
	}
}

static int
parse_kind(const char *s, enum service_kind *kind)
{
	size_t i;

	for (i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		if (!strcmp(s, kind_names[i])) {
			*kind = (enum service_kind)i;
			return 0;
		}
	}
	return -1;
}

/* the model's own reports (deploy_connect, service_port, service_set_ready)
 * as this file's: "FILE: connections[N]: MESSAGE", with what follows */
struct held {
	struct buf msg;
	error_reporter *fn;
	void *arg;
};

static void
hold_report(enum error_level level, const char *msg, void *arg)
{
	struct held *h = arg;

	if (level == LEVEL_ERROR && !h->msg.len)
		buf_addstr(&h->msg, msg);
	else if (level != LEVEL_ERROR && h->fn)
		h->fn(level, msg, h->arg);
}

static void
hold_begin(struct held *h)
{
	buf_init(&h->msg, 0);
	h->fn = error_get_reporter(&h->arg);
	error_set_reporter(hold_report, h);
}

static void
hold_end(struct held *h, struct jctx *c, const char *path, const char *more)
{
	error_set_reporter(h->fn, h->arg);
	if (h->msg.len)
		jerror(c, path, "%s%s", buf_str(&h->msg), more ? more : "");
	buf_release(&h->msg);
}

static void
read_ports(struct jctx *c, struct service *s, const cJSON *ports, const char *spath)
{
	const cJSON *p;
	const char *name, *dir, *type;
	char path[128];
	size_t i = 0;

	if (ports && !cJSON_IsArray(ports)) {
		jerror(c, spath, "'ports' must be a list");
		return;
	}
	cJSON_ArrayForEach(p, ports) {
		snprintf(path, sizeof(path), "%s.ports[%zu]", spath, i++);
		if (!cJSON_IsObject(p)) {
			jerror(c, path, "must be an object");
			continue;
		}
		jkeys(c, p, path, port_keys);
		name = jstring(c, p, "name", path, 1);
		dir = jstring(c, p, "dir", path, 1);
		type = jstring(c, p, "type", path, 0);
		if (!name || !dir)
			continue;
		if (strcmp(dir, "input") && strcmp(dir, "output")) {
			jerror(c, path, "'dir' must be \"input\" or \"output\", not '%s'", dir);
			continue;
		}
		if (!service_declare_port(s, name, !strcmp(dir, "input") ? PORT_INPUT :
		                          PORT_OUTPUT, type))
			c->bad = 1;
	}
}

/* the files a service needs, by the model's rules (service_add_files) */
static void
read_files(struct jctx *c, struct service *s, const cJSON *j, const char *spath)
{
	char **files = NULL, path[128];
	size_t n = 0;
	struct held h;

	jstrings(c, j, "files", spath, &files, &n);
	snprintf(path, sizeof(path), "%s.files", spath);
	hold_begin(&h);
	if (n && service_add_files(s, files, n) < 0)
		c->bad = 1;
	hold_end(&h, c, path, NULL);
	free_list(files, n);
}

/* how a process gets its inputs, by the model's rules (service_set_sockets) */
static void
read_sockets(struct jctx *c, struct service *s, const cJSON *v, const char *spath)
{
	char path[128];
	struct held h;

	if (!v || cJSON_IsNull(v))
		return;
	snprintf(path, sizeof(path), "%s.sockets", spath);
	hold_begin(&h);
	if (service_set_sockets(s, cJSON_IsString(v) ? v->valuestring : NULL) < 0)
		c->bad = 1;
	hold_end(&h, c, path, NULL);
}

/* the readiness check, by the model's rules (service_set_ready) */
static void
read_ready(struct jctx *c, struct service *s, const cJSON *ready, const char *spath)
{
	const cJSON *v = NULL;
	char path[128], **argv = NULL;
	size_t argc = 0;
	struct held h;

	if (!ready || cJSON_IsNull(ready))
		return;
	snprintf(path, sizeof(path), "%s.ready", spath);
	if (cJSON_IsObject(ready) && cJSON_GetArraySize(ready) == 1)
		v = ready->child;
	if (v && cJSON_IsArray(v))
		jstrings(c, ready, v->string, path, &argv, &argc);
	hold_begin(&h);
	if (service_set_ready(s, v ? v->string : NULL,
	                      v && cJSON_IsString(v) ? v->valuestring : NULL,
	                      argv, argc) < 0)
		c->bad = 1;
	hold_end(&h, c, path, NULL);
	free_list(argv, argc);
}

static void
read_services(struct jctx *c, struct deployment *d, const cJSON *json)
{
	const cJSON *services = jarray(c, json, "services"), *j, *v;
	const char *name, *kind, *on, *src, *str;
	enum service_kind k;
	struct service *s;
	struct host *h;
	char path[64];
	size_t i = 0;

	cJSON_ArrayForEach(j, services) {
		snprintf(path, sizeof(path), "services[%zu]", i++);
		if (!cJSON_IsObject(j)) {
			jerror(c, path, "must be an object");
			continue;
		}
		jkeys(c, j, path, service_keys);
		name = jstring(c, j, "name", path, 1);
		kind = jstring(c, j, "kind", path, 1);
		on = jstring(c, j, "on", path, 1);
		src = jstring(c, j, "src", path, 0);
		if (!name || !kind || !on)
			continue;
		if (parse_kind(kind, &k) == 0 && k == SERVICE_SCRIPT) {
			jerror(c, path, "kind \"script\" is a Python config script taking part "
			       "in its deployment; a JSON config has no script to do it");
			continue;
		}
		if (parse_kind(kind, &k) < 0) {
			jerror(c, path, "unknown kind '%s': use \"hydroflow\", \"crate\" or "
			       "\"process\"", kind);
			continue;
		}
		h = deploy_find_host(d, on);
		if (!h) {
			jerror(c, path, "'on' names an unknown host '%s'", on);
			continue;
		}
		s = deploy_add_service(d, name, k, h, src);
		if (!s) {
			c->bad = 1;
			continue;
		}
		jstrings(c, j, k == SERVICE_PROCESS ? "cmd" : "args", path, &s->argv, &s->argc);
		if (k != SERVICE_PROCESS && cJSON_GetObjectItemCaseSensitive(j, "cmd"))
			jerror(c, path, "'cmd' is for processes; a %s takes 'args'", kind);
		if (k == SERVICE_PROCESS && cJSON_GetObjectItemCaseSensitive(j, "args"))
			jerror(c, path, "a process takes its arguments in 'cmd'");
		jstrings(c, j, "standin", path, &s->standin, &s->nstandin);
		jenv(c, j, "env", path, &s->env, &s->nenv);
		if ((str = jstring(c, j, "cwd", path, 0)))
			s->cwd = path_join(d->dir, str);
		if ((str = jstring(c, j, "bin", path, 0)))
			s->bin = xstrdup(str);
		if ((str = jstring(c, j, "example", path, 0)))
			s->example = xstrdup(str);
		if ((str = jstring(c, j, "profile", path, 0)))
			s->profile = xstrdup(str);
		jstrings(c, j, "features", path, &s->features, &s->nfeatures);
		jstrings(c, j, "needs", path, &s->needs, &s->nneeds);
		read_files(c, s, j, path);
		read_ports(c, s, cJSON_GetObjectItemCaseSensitive(j, "ports"), path);
		read_ready(c, s, cJSON_GetObjectItemCaseSensitive(j, "ready"), path);
		s->can_die = jflag(c, j, "can_die", path, 0);
		read_sockets(c, s, cJSON_GetObjectItemCaseSensitive(j, "sockets"), path);
		v = cJSON_GetObjectItemCaseSensitive(j, "stop_timeout");
		if (v && (!cJSON_IsNumber(v) || v->valuedouble < 0))
			jerror(c, path, "'stop_timeout' must be a number of seconds");
		else if (v)
			s->stop_timeout = v->valuedouble;
	}
}

/* "server.inbound" (or null) to a port; 0, or -1 with the error reported */
static int
read_end(struct jctx *c, struct deployment *d, const cJSON *o, const char *key,
         const char *path, struct port **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	struct service *s;
	char *svc;
	const char *dot;

	*out = NULL;
	if (v && cJSON_IsNull(v))
		return 0;	/* hydro.null() */
	if (!cJSON_IsString(v)) {
		jerror(c, path, "'%s' must be \"service.port\" or null", key);
		return -1;
	}
	dot = strchr(v->valuestring, '.');
	if (!dot) {
		jerror(c, path, "'%s' must be \"service.port\", not '%s'", key, v->valuestring);
		return -1;
	}
	svc = xstrndup(v->valuestring, (size_t)(dot - v->valuestring));
	s = deploy_find_service(d, svc);
	if (!s) {
		jerror(c, path, "'%s' names an unknown service '%s'", key, svc);
		free(svc);
		return -1;
	}
	free(svc);
	{
		const cJSON *other = cJSON_GetObjectItemCaseSensitive(o, strcmp(key, "from") ? "from" : "to");
		char *more = cJSON_IsString(other) ?
			xasprintf(" (the %s end of the connection to '%s')", key,
			          other->valuestring) : NULL;
		struct held h;

		hold_begin(&h);
		*out = service_port(s, dot + 1);
		hold_end(&h, c, path, more);
		free(more);
	}
	if (!*out) {
		c->bad = 1;
		return -1;
	}
	return 0;
}

static void
read_connections(struct jctx *c, struct deployment *d, const cJSON *json)
{
	const cJSON *conns = jarray(c, json, "connections"), *j;
	struct port *from, *to;
	struct connection *conn;
	struct held h;
	char path[64];
	size_t i = 0;
	long n;

	cJSON_ArrayForEach(j, conns) {
		snprintf(path, sizeof(path), "connections[%zu]", i++);
		if (!cJSON_IsObject(j)) {
			jerror(c, path, "must be an object");
			continue;
		}
		jkeys(c, j, path, conn_keys);
		if (read_end(c, d, j, "from", path, &from) < 0 ||
		    read_end(c, d, j, "to", path, &to) < 0)
			continue;
		hold_begin(&h);
		conn = deploy_connect(d, from, to);
		hold_end(&h, c, path, NULL);
		if (!conn) {
			c->bad = 1;
			continue;
		}
		if (cJSON_GetObjectItemCaseSensitive(j, "key")) {
			if (json_long(j, "key", &n) < 0 || n < 0 || n > 4294967295L)
				jerror(c, path, "'key' must be a whole number from 0 to 4294967295");
			else
				conn->key = n;
		}
		if (cJSON_GetObjectItemCaseSensitive(j, "tag")) {
			if (json_long(j, "tag", &n) < 0 || n < 0 || n > 4294967295L)
				jerror(c, path, "'tag' must be a whole number from 0 to 4294967295");
			else
				conn->tag = n;
		}
		conn->merge = jflag(c, j, "merge", path, 0);
	}
}

static void
read_targets(struct jctx *c, struct deployment *d, const cJSON *json)
{
	const cJSON *targets = jarray(c, json, "targets"), *j;
	const char *name, *cwd;
	struct target *t;
	char path[64];
	size_t i = 0;

	cJSON_ArrayForEach(j, targets) {
		snprintf(path, sizeof(path), "targets[%zu]", i++);
		if (!cJSON_IsObject(j)) {
			jerror(c, path, "must be an object");
			continue;
		}
		jkeys(c, j, path, target_keys);
		name = jstring(c, j, "name", path, 1);
		if (!name)
			continue;
		t = deploy_add_target(d, name);
		if (!t) {
			c->bad = 1;
			continue;
		}
		jstrings(c, j, "cmd", path, &t->argv, &t->argc);
		jstrings(c, j, "inputs", path, &t->inputs, &t->ninputs);
		jstrings(c, j, "outputs", path, &t->outputs, &t->noutputs);
		jenv(c, j, "env", path, &t->env, &t->nenv);
		jstrings(c, j, "needs", path, &t->needs, &t->nneeds);
		if ((cwd = jstring(c, j, "cwd", path, 0)))
			t->cwd = xstrdup(cwd);
	}
}

struct deployment *
deploy_from_json(const cJSON *json, const char *dir, const char *what)
{
	struct jctx c = { what, 0 };
	struct deployment *d;
	long version;

	if (!cJSON_IsObject(json)) {
		error("%s: a deployment is a JSON object (see docs/spec.md)", what);
		return NULL;
	}
	if (json_long(json, "version", &version) < 0) {
		error("%s: 'version' %s; write \"version\": %d", what,
		      cJSON_GetObjectItemCaseSensitive(json, "version") ?
		      "must be a whole number" : "is missing", DEPLOY_SPEC_VERSION);
		return NULL;
	}
	if (version != DEPLOY_SPEC_VERSION) {
		error("%s: version %ld is not known to this hydro, which reads version %d",
		      what, version, DEPLOY_SPEC_VERSION);
		return NULL;
	}
	d = deployment_new(dir, what);
	jkeys(&c, json, "(top)", top_keys);
	read_hosts(&c, d, json);
	read_targets(&c, d, json);
	read_services(&c, d, json);
	read_connections(&c, d, json);
	if (c.bad || deploy_validate(d) < 0) {
		deployment_free(d);
		return NULL;
	}
	return d;
}

struct deployment *
deploy_load(const char *path)
{
	struct deployment *d;
	cJSON *json;
	char *dir;

	json = json_read_file(path);
	if (!json)
		return NULL;
	dir = path_dirname(path);
	d = deploy_from_json(json, dir, path);
	free(dir);
	cJSON_Delete(json);
	return d;
}

static void
add_strings(cJSON *o, const char *key, char *const *list, size_t n)
{
	cJSON *a;
	size_t i;

	if (!n)
		return;
	a = cJSON_AddArrayToObject(o, key);
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(list[i]));
}

static void
add_env(cJSON *o, const char *key, const struct kv *kv, size_t n)
{
	cJSON *e;
	size_t i;

	if (!n)
		return;
	e = cJSON_AddObjectToObject(o, key);
	for (i = 0; i < n; i++)
		cJSON_AddStringToObject(e, kv[i].key, kv[i].value);
}

/* a path in the model as the JSON form keeps it: relative to the deployment */
static void
add_path(cJSON *o, const char *key, const struct deployment *d, const char *path)
{
	size_t n = strlen(d->dir);

	if (!path)
		return;
	if (!strncmp(path, d->dir, n) && path[n] == '/')
		cJSON_AddStringToObject(o, key, path + n + 1);
	else
		cJSON_AddStringToObject(o, key, path);
}

cJSON *
deploy_to_json(const struct deployment *d)
{
	cJSON *json = cJSON_CreateObject(), *a, *o, *p, *ports, *r;
	const struct service *s;
	const struct connection *c;
	const struct target *t;
	char *label;
	size_t i, j;

	cJSON_AddNumberToObject(json, "version", DEPLOY_SPEC_VERSION);
	a = cJSON_AddArrayToObject(json, "hosts");
	for (i = 0; i < d->nhosts; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", d->hosts[i]->name);
		cJSON_AddStringToObject(o, "backend", d->hosts[i]->backend);
		add_env(o, "settings", d->hosts[i]->settings, d->hosts[i]->nsettings);
		cJSON_AddItemToArray(a, o);
	}
	a = cJSON_AddArrayToObject(json, "services");
	for (i = 0; i < d->nservices; i++) {
		s = d->services[i];
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", s->name);
		cJSON_AddStringToObject(o, "kind", kind_names[s->kind]);
		cJSON_AddStringToObject(o, "on", s->host ? s->host->name : "");
		add_path(o, "src", d, s->src);
		add_strings(o, "standin", s->standin, s->nstandin);
		add_strings(o, s->kind == SERVICE_PROCESS ? "cmd" : "args", s->argv, s->argc);
		add_env(o, "env", s->env, s->nenv);
		add_path(o, "cwd", d, s->cwd);
		if (s->bin)
			cJSON_AddStringToObject(o, "bin", s->bin);
		if (s->example)
			cJSON_AddStringToObject(o, "example", s->example);
		if (s->profile)
			cJSON_AddStringToObject(o, "profile", s->profile);
		add_strings(o, "features", s->features, s->nfeatures);
		add_strings(o, "files", s->files, s->nfiles);
		ports = NULL;
		for (j = 0; j < s->nports; j++) {
			if (!s->ports[j]->declared)
				continue;
			if (!ports)
				ports = cJSON_AddArrayToObject(o, "ports");
			p = cJSON_CreateObject();
			cJSON_AddStringToObject(p, "name", s->ports[j]->name);
			cJSON_AddStringToObject(p, "dir", dir_names[s->ports[j]->dir]);
			if (s->ports[j]->type)
				cJSON_AddStringToObject(p, "type", s->ports[j]->type);
			cJSON_AddItemToArray(ports, p);
		}
		add_strings(o, "needs", s->needs, s->nneeds);
		if (s->ready.kind != READY_NONE) {
			r = cJSON_AddObjectToObject(o, "ready");
			if (s->ready.kind == READY_PORT)
				cJSON_AddStringToObject(r, "port", s->ready.arg);
			else if (s->ready.kind == READY_LOG)
				cJSON_AddStringToObject(r, "log", s->ready.arg);
			else
				add_strings(r, "command", s->ready.argv, s->ready.argc);
		}
		if (s->can_die)
			cJSON_AddBoolToObject(o, "can_die", 1);
		if (s->inherit_sockets)
			cJSON_AddStringToObject(o, "sockets", "inherit");
		cJSON_AddNumberToObject(o, "stop_timeout", s->stop_timeout);
		cJSON_AddItemToArray(a, o);
	}
	a = cJSON_AddArrayToObject(json, "connections");
	for (i = 0; i < d->nconns; i++) {
		c = d->conns[i];
		o = cJSON_CreateObject();
		if (c->from) {
			label = port_label(c->from);
			cJSON_AddStringToObject(o, "from", label);
			free(label);
		} else {
			cJSON_AddNullToObject(o, "from");
		}
		if (c->to) {
			label = port_label(c->to);
			cJSON_AddStringToObject(o, "to", label);
			free(label);
		} else {
			cJSON_AddNullToObject(o, "to");
		}
		if (c->key >= 0)
			cJSON_AddNumberToObject(o, "key", (double)c->key);
		if (c->tag >= 0)
			cJSON_AddNumberToObject(o, "tag", (double)c->tag);
		if (c->merge)
			cJSON_AddBoolToObject(o, "merge", 1);
		cJSON_AddItemToArray(a, o);
	}
	a = cJSON_AddArrayToObject(json, "targets");
	for (i = 0; i < d->ntargets; i++) {
		t = d->targets[i];
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", t->name);
		add_strings(o, "cmd", t->argv, t->argc);
		add_strings(o, "inputs", t->inputs, t->ninputs);
		add_strings(o, "outputs", t->outputs, t->noutputs);
		add_env(o, "env", t->env, t->nenv);
		add_strings(o, "needs", t->needs, t->nneeds);
		if (t->cwd)
			cJSON_AddStringToObject(o, "cwd", t->cwd);
		cJSON_AddItemToArray(a, o);
	}
	return json;
}

/* text for a label in either format: quotes escaped */
static void
put_label(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '"')
			fputs("#quot;", out);
		else
			fputc(*s, out);
	}
}

static void
put_dot_label(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
}

static void
edge_label(struct buf *b, const struct connection *c)
{
	buf_printf(b, "%s → %s", c->from ? c->from->name : "null",
	           c->to ? c->to->name : "null");
	if (c->key >= 0)
		buf_printf(b, " [key %ld]", c->key);
	if (c->tag >= 0)
		buf_printf(b, " [tag %ld]", c->tag);
	if (c->merge)
		buf_addstr(b, " [merge]");
}

void
deploy_graph(const struct deployment *d, enum graph_format format, FILE *out)
{
	const struct service *s;
	const struct connection *c;
	struct buf b = BUF_INIT;
	size_t i, j;
	int nulls = 0;

	if (format == FORMAT_DOT)
		fprintf(out, "digraph deployment {\n  rankdir=LR;\n  node [shape=box];\n");
	else
		fprintf(out, "flowchart LR\n");
	for (i = 0; i < d->nhosts; i++) {
		if (format == FORMAT_DOT) {
			fprintf(out, "  subgraph cluster_h%zu {\n    label=\"", i);
			put_dot_label(out, d->hosts[i]->name);
			fprintf(out, " (%s)\";\n", d->hosts[i]->backend);
		} else {
			fprintf(out, "  subgraph h%zu[\"", i);
			put_label(out, d->hosts[i]->name);
			fprintf(out, " (%s)\"]\n", d->hosts[i]->backend);
		}
		for (j = 0; j < d->nservices; j++) {
			s = d->services[j];
			if (s->host != d->hosts[i])
				continue;
			if (format == FORMAT_DOT) {
				fprintf(out, "    s%zu [label=\"", j);
				put_dot_label(out, s->name);
				fprintf(out, "\\n%s\"];\n", kind_names[s->kind]);
			} else {
				fprintf(out, "    s%zu[\"", j);
				put_label(out, s->name);
				fprintf(out, "<br/><small>%s</small>\"]\n", kind_names[s->kind]);
			}
		}
		fprintf(out, format == FORMAT_DOT ? "  }\n" : "  end\n");
	}
	for (i = 0; i < d->nconns; i++) {
		c = d->conns[i];
		buf_reset(&b);
		edge_label(&b, c);
		if (!c->from || !c->to) {
			if (format == FORMAT_DOT)
				fprintf(out, "  null%d [label=\"null\", shape=point];\n", nulls);
			else
				fprintf(out, "  null%d((null))\n", nulls);
		}
		if (format == FORMAT_DOT) {
			if (c->from)
				fprintf(out, "  s%zu -> ", c->from->service->index);
			else
				fprintf(out, "  null%d -> ", nulls);
			if (c->to)
				fprintf(out, "s%zu [label=\"", c->to->service->index);
			else
				fprintf(out, "null%d [label=\"", nulls);
			put_dot_label(out, buf_str(&b));
			fprintf(out, "\"];\n");
		} else {
			if (c->from)
				fprintf(out, "  s%zu -->|\"", c->from->service->index);
			else
				fprintf(out, "  null%d -->|\"", nulls);
			put_label(out, buf_str(&b));
			if (c->to)
				fprintf(out, "\"| s%zu\n", c->to->service->index);
			else
				fprintf(out, "\"| null%d\n", nulls);
		}
		if (!c->from || !c->to)
			nulls++;
	}
	if (format == FORMAT_DOT)
		fprintf(out, "}\n");
	buf_release(&b);
}

/* ---- how a service talks to hydro ---- */

int
service_speaks(const struct service *s)
{
	return s->kind == SERVICE_HYDROFLOW || s->kind == SERVICE_CRATE;
}

int
service_has_control(const struct service *s)
{
	return s->kind == SERVICE_HYDROFLOW;
}
