/*
 * module: the _hydro extension.
 *
 * Model wraps a struct deployment; services, hosts and ports are named by
 * their names in it, so the Python objects hold no C pointers.  Errors the
 * core reports while a method runs are captured and raised as
 * _hydro.ModelError; the package turns them into hydro.Error subclasses that
 * name the script line.  Each method maps its arguments onto one call of the
 * model (docs/internals/bindings.md): what a declaration means is decided
 * there, not here.
 */
#include "module.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "commands.h"
#include "cli.h"
#include "deploy.h"
#include "error.h"
#include "ports.h"
#include "str.h"
#include "xmalloc.h"

static int embedded;
PyObject *model_error;


/*
 * Core threads that call into Python (to complete a future) are counted, so
 * that the interpreter is never finalized under them.  Once it is gone, a
 * thread that was still blocked in the core (waiting for a service that
 * --keep left running) returns without touching Python.
 */
static pthread_mutex_t ops_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ops_done = PTHREAD_COND_INITIALIZER;
static int ops_inside;
static int python_gone;

int
module_op_enter(void)
{
	int ok;

	pthread_mutex_lock(&ops_lock);
	ok = !python_gone;
	if (ok)
		ops_inside++;
	pthread_mutex_unlock(&ops_lock);
	return ok;
}

void
module_op_leave(void)
{
	pthread_mutex_lock(&ops_lock);
	if (--ops_inside == 0)
		pthread_cond_broadcast(&ops_done);
	pthread_mutex_unlock(&ops_lock);
}

void
module_set_embedded(void)
{
	embedded = 1;
	pthread_mutex_lock(&ops_lock);
	python_gone = 0;	/* a new interpreter (a sweep runs several) */
	pthread_mutex_unlock(&ops_lock);
}

void
module_wait_ops(void)
{
	pthread_mutex_lock(&ops_lock);
	while (ops_inside > 0)
		pthread_cond_wait(&ops_done, &ops_lock);
	python_gone = 1;
	pthread_mutex_unlock(&ops_lock);
}

/* --- capturing the core's messages ------------------------------------- */

static void
capture_report(enum error_level level, const char *msg, void *arg)
{
	struct capture *c = arg;

	if (level == LEVEL_WARNING) {
		fprintf(stderr, "%s: warning: %s\n", error_progname, msg);
		return;
	}
	if (c->msg.len)
		buf_addstr(&c->msg, level == LEVEL_NOTE ? "\n  note: " : "\n");
	buf_addstr(&c->msg, msg);
}

void
capture_begin(struct capture *c)
{
	buf_init(&c->msg, 0);
	error_set_reporter(capture_report, c);
}

PyObject *
capture_end(struct capture *c, int failed)
{
	error_set_reporter(NULL, NULL);
	if (failed && !PyErr_Occurred())
		PyErr_SetString(model_error, c->msg.len ? buf_str(&c->msg) : "unknown error");
	buf_release(&c->msg);
	return NULL;
}

/* --- converting arguments ---------------------------------------------- */

/* a Python sequence of str as a new NULL-terminated C array; NULL on error */
static char **
str_list(PyObject *seq, size_t *n, const char *what)
{
	PyObject *fast;
	char **list;
	Py_ssize_t i, len;

	fast = PySequence_Fast(seq, what);
	if (!fast)
		return NULL;
	len = PySequence_Fast_GET_SIZE(fast);
	list = xcalloc((size_t)len + 1, sizeof(*list));
	for (i = 0; i < len; i++) {
		PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
		const char *s = PyUnicode_Check(item) ? PyUnicode_AsUTF8(item) : NULL;

		if (!s) {
			if (!PyErr_Occurred())
				PyErr_Format(PyExc_TypeError, "%s: item %zd is %s, not str",
				             what, i, Py_TYPE(item)->tp_name);
			list[i] = NULL;
			str_free_list(list);
			Py_DECREF(fast);
			return NULL;
		}
		list[i] = xstrdup(s);
	}
	Py_DECREF(fast);
	if (n)
		*n = (size_t)len;
	return list;
}

/* replace a model's list of n strings by a Python sequence's */
static int
replace_list(char ***list, size_t *n, PyObject *seq, const char *what)
{
	char **l;
	size_t i, m;

	if (!(l = str_list(seq, &m, what)))
		return -1;
	for (i = 0; i < *n; i++)
		free((*list)[i]);
	free(*list);
	*list = l;
	*n = m;
	return 0;
}

/* --- parameters -------------------------------------------------------- */

/* param(name, type) -> value | None: -D name read as type ("str", "int",
 * "float", "bool"); None when not given; ModelError when it does not read */
static PyObject *
mod_param(PyObject *self, PyObject *args)
{
	const char *name, *type;
	struct param_value v;
	struct capture c;
	size_t t;
	int got;

	if (!PyArg_ParseTuple(args, "ss", &name, &type))
		return NULL;
	for (t = PARAM_STR; t <= PARAM_BOOL; t++)
		if (!strcmp(cli_param_type_name((enum param_type)t), type))
			break;
	if (t > PARAM_BOOL)
		return PyErr_Format(PyExc_ValueError, "unknown parameter type '%s'", type);
	capture_begin(&c);
	got = cli_param_typed(name, (enum param_type)t, &v);
	if (got < 0)
		return capture_end(&c, 1);
	capture_end(&c, 0);
	if (!got)
		Py_RETURN_NONE;
	switch ((enum param_type)t) {
	case PARAM_INT:
		return PyLong_FromLongLong(v.i);
	case PARAM_FLOAT:
		return PyFloat_FromDouble(v.f);
	case PARAM_BOOL:
		return PyBool_FromLong(v.b);
	case PARAM_STR:
		break;
	}
	return PyUnicode_FromString(v.str);
}

/* The options of a plain `python3 script.py -D n=1 --keep` run, set by
 * hydro.run(); inside the hydro binary main.c owns them. */
static struct cli standalone_cli;

/* configure(params, keep, strict_params): set the options outside the hydro
 * binary; params are the "name=value" of each -D, checked as the hydro
 * binary checks them */
static PyObject *
mod_configure(PyObject *self, PyObject *args)
{
	PyObject *params;
	struct capture c;
	char **list;
	int keep, strict, bad = 0;
	size_t i, n;

	if (!PyArg_ParseTuple(args, "Opp", &params, &keep, &strict))
		return NULL;
	if (embedded)
		Py_RETURN_NONE;
	if (!(list = str_list(params, &n, "params")))
		return NULL;
	cli_release_params(&standalone_cli);
	capture_begin(&c);
	for (i = 0; i < n && !bad; i++)
		bad = cli_add_param(&standalone_cli, list[i]) < 0;
	str_free_list(list);
	if (bad)
		return capture_end(&c, 1);
	capture_end(&c, 0);
	standalone_cli.keep = keep;
	standalone_cli.strict_params = strict;
	standalone_cli.command = "run";
	standalone_cli.log_prefix = 1;
	cli = &standalone_cli;
	Py_RETURN_NONE;
}

/* check_params(at_end): report the -D the config did not read (warnings at
 * the end; errors, raising ModelError, with --strict-params) */
static PyObject *
mod_check_params(PyObject *self, PyObject *args)
{
	struct capture c;
	int at_end;

	if (!PyArg_ParseTuple(args, "p", &at_end))
		return NULL;
	capture_begin(&c);
	if (cli_check_params(cli, at_end) < 0)
		return capture_end(&c, 1);
	capture_end(&c, 0);
	Py_RETURN_NONE;
}

/* options() -> {keep, json, format, verbose, quiet}: what the command line said */
static PyObject *
mod_options(PyObject *self, PyObject *noargs)
{
	return Py_BuildValue("{s:O,s:O,s:s,s:i,s:O}",
	                     "keep", cli->keep ? Py_True : Py_False,
	                     "json", cli->json ? Py_True : Py_False,
	                     "format", cli->format == FORMAT_DOT ? "dot" : "mermaid",
	                     "verbose", cli->verbose,
	                     "quiet", cli->quiet ? Py_True : Py_False);
}

/* report(level, msg): print a message the way hydro prints its own */
static PyObject *
mod_report(PyObject *self, PyObject *args)
{
	const char *level, *msg;

	if (!PyArg_ParseTuple(args, "ss", &level, &msg))
		return NULL;
	if (!strcmp(level, "error"))
		error("%s", msg);
	else if (!strcmp(level, "warning"))
		warning("%s", msg);
	else
		note("%s", msg);
	Py_RETURN_NONE;
}

/* --- Model ------------------------------------------------------------- */


static int
model_init(struct model *self, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "dir", "config", NULL };
	const char *dir, *config;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "ss", kwlist, &dir, &config))
		return -1;
	if (self->d)
		deployment_free(self->d);
	self->d = deployment_new(dir, config);
	return 0;
}

static void
model_dealloc(struct model *self)
{
	if (self->d)
		deployment_free(self->d);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

struct service *
module_service_args(struct deployment *d, PyObject *args, const char *fmt, ...)
{
	const char **name;
	struct service *s;
	va_list ap, first;
	int ok;

	va_start(ap, fmt);
	va_copy(first, ap);
	name = va_arg(first, const char **);
	va_end(first);
	ok = PyArg_VaParse(args, fmt, ap);
	va_end(ap);
	if (!ok)
		return NULL;
	if (!d) {
		PyErr_SetString(model_error, "the run has finished");
		return NULL;
	}
	s = deploy_find_service(d, *name);
	if (!s)
		PyErr_Format(model_error, "no service '%s'", *name);
	return s;
}

static struct host *
find_host(struct model *self, const char *name)
{
	struct host *h = deploy_find_host(self->d, name);

	if (!h)
		PyErr_Format(model_error, "no host '%s'", name);
	return h;
}

/* set_where(where|None): where the declarations that follow are made */
static PyObject *
model_set_where(struct model *self, PyObject *args)
{
	const char *where;

	if (!PyArg_ParseTuple(args, "z", &where))
		return NULL;
	deploy_set_where(self->d, where);
	Py_RETURN_NONE;
}

/* reserve(host, name): a name an earlier round of the deployment gave a
 * host (host true) or a service, never given to a new one here */
static PyObject *
model_reserve(struct model *self, PyObject *args)
{
	const char *name;
	int host;

	if (!PyArg_ParseTuple(args, "ps", &host, &name))
		return NULL;
	deploy_reserve(self->d, host, name);
	Py_RETURN_NONE;
}

/* open_ports(host, [int]): ports its machine opens to the internet
 * (host_open_ports) */
static PyObject *
model_open_ports(struct model *self, PyObject *args)
{
	const char *name;
	PyObject *seq, *fast;
	struct capture c;
	struct host *h;
	long *ports;
	Py_ssize_t i, n;
	int ret;

	if (!PyArg_ParseTuple(args, "sO", &name, &seq))
		return NULL;
	if (!(h = find_host(self, name)) || !(fast = PySequence_Fast(seq, "ports")))
		return NULL;
	n = PySequence_Fast_GET_SIZE(fast);
	ports = xcalloc((size_t)n + 1, sizeof(*ports));
	for (i = 0; i < n; i++) {
		ports[i] = PyLong_AsLong(PySequence_Fast_GET_ITEM(fast, i));
		if (ports[i] == -1 && PyErr_Occurred()) {
			free(ports);
			Py_DECREF(fast);
			return NULL;
		}
	}
	Py_DECREF(fast);
	capture_begin(&c);
	ret = host_open_ports(h, ports, (size_t)n);
	free(ports);
	if (ret < 0)
		return capture_end(&c, 1);
	capture_end(&c, 0);
	Py_RETURN_NONE;
}

/* add_host(name|None, backend, [positional str], {str: str}) -> name */
static PyObject *
model_add_host(struct model *self, PyObject *args)
{
	const char *name, *backend;
	PyObject *pos, *settings, *key, *value;
	Py_ssize_t i = 0;
	struct capture c;
	struct host *h;
	struct kv *kv;
	char **vals;
	size_t n, npos;

	if (!PyArg_ParseTuple(args, "zsOO!", &name, &backend, &pos, &PyDict_Type, &settings))
		return NULL;
	if (!(vals = str_list(pos, &npos, "settings")))
		return NULL;
	n = npos + (size_t)PyDict_Size(settings);
	kv = xcalloc(n + 1, sizeof(*kv));
	for (n = 0; n < npos; n++)
		kv[n].value = vals[n];
	while (PyDict_Next(settings, &i, &key, &value)) {
		/* None: given as no value, which the model reads (deploy.h) */
		kv[n].key = (char *)PyUnicode_AsUTF8(key);
		kv[n].value = value == Py_None ? NULL : (char *)PyUnicode_AsUTF8(value);
		if (!kv[n].key || (value != Py_None && !kv[n].value)) {
			free(kv);
			str_free_list(vals);
			return NULL;
		}
		n++;
	}
	capture_begin(&c);
	h = deploy_declare_host(self->d, name, backend, kv, n);
	free(kv);
	str_free_list(vals);
	if (!h)
		return capture_end(&c, 1);
	capture_end(&c, 0);
	return PyUnicode_FromString(h->name);
}

static const char *const kind_names[] = { "hydroflow", "crate", "process", "script" };
#define NKINDS (sizeof(kind_names) / sizeof(kind_names[0]))

/* add_service(kind, name|None, host, src|None, cmd|None) -> name: a
 * program's src is checked and a .hf program's ports declared; a process
 * without a name is named after its cmd */
static PyObject *
model_add_service(struct model *self, PyObject *args)
{
	const char *kind, *name, *hostname, *src;
	PyObject *cmd;
	struct capture c;
	struct service *s = NULL;
	struct host *h;
	char **argv = NULL;
	size_t k, argc = 0;

	if (!PyArg_ParseTuple(args, "szszO", &kind, &name, &hostname, &src, &cmd))
		return NULL;
	for (k = 0; k < NKINDS && strcmp(kind_names[k], kind); k++)
		;
	if (k == NKINDS)
		return PyErr_Format(PyExc_ValueError, "unknown service kind '%s'", kind);
	if (!(h = find_host(self, hostname)))
		return NULL;
	if (cmd != Py_None && !(argv = str_list(cmd, &argc, "cmd")))
		return NULL;
	capture_begin(&c);
	if (k == SERVICE_PROCESS)
		s = deploy_add_process(self->d, name, h, argv, argc);
	else if (k == SERVICE_SCRIPT)
		s = deploy_add_participant(self->d, name, h);
	else if (deploy_check_src(self->d, (enum service_kind)k, src) == 0)
		s = deploy_add_service(self->d, name, (enum service_kind)k, h, src);
	str_free_list(argv);
	if (s && k == SERVICE_HYDROFLOW && service_read_ports(s) < 0)
		s = NULL;
	if (!s)
		return capture_end(&c, 1);
	capture_end(&c, 0);
	return PyUnicode_FromString(s->name);
}

/* add_args(service, [str]): extra arguments */
static PyObject *
model_add_args(struct model *self, PyObject *args)
{
	const char *name;
	PyObject *seq;
	struct service *s;
	char **list;
	size_t i, n;

	if (!(s = module_service_args(self->d, args, "sO", &name, &seq)))
		return NULL;
	if (!(list = str_list(seq, &n, "args")))
		return NULL;
	for (i = 0; i < n; i++)
		service_add_arg(s, list[i]);
	str_free_list(list);
	Py_RETURN_NONE;
}

/* set_env(service, {str: str}) */
static PyObject *
model_set_env(struct model *self, PyObject *args)
{
	const char *name;
	PyObject *env, *key, *value;
	Py_ssize_t pos = 0;
	struct service *s;

	if (!(s = module_service_args(self->d, args, "sO!", &name, &PyDict_Type, &env)))
		return NULL;
	while (PyDict_Next(env, &pos, &key, &value)) {
		const char *k = PyUnicode_AsUTF8(key), *v = PyUnicode_AsUTF8(value);

		if (!k || !v)
			return NULL;
		service_set_env(s, k, v);
	}
	Py_RETURN_NONE;
}

static void
set_str(char **field, const char *value)
{
	free(*field);
	*field = value ? xstrdup(value) : NULL;
}

/* set_service(service, cwd=, bin=, example=, profile=, features=, standin=,
 * needs=, can_die=, stop_timeout=, sockets=) */
static PyObject *
model_set_service(struct model *self, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "service", "cwd", "bin", "example", "profile",
	                          "features", "standin", "needs", "can_die", "stop_timeout",
	                          "sockets", "files", NULL };
	const char *name, *cwd = NULL, *bin = NULL, *example = NULL, *profile = NULL;
	const char *sockets = NULL;
	PyObject *features = Py_None, *standin = Py_None, *needs = Py_None, *files = Py_None;
	int can_die = -1;
	double stop_timeout = -1;
	struct service *s;
	struct capture c;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "s|zzzzOOOpdzO", kwlist, &name, &cwd,
	                                 &bin, &example, &profile, &features, &standin,
	                                 &needs, &can_die, &stop_timeout, &sockets, &files))
		return NULL;
	if (!(s = deploy_find_service(self->d, name)))
		return PyErr_Format(model_error, "no service '%s'", name);
	if (cwd)
		service_set_cwd(self->d, s, cwd);
	if (bin)
		set_str(&s->bin, bin);
	if (example)
		set_str(&s->example, example);
	if (profile)
		set_str(&s->profile, profile);
	if (features != Py_None && replace_list(&s->features, &s->nfeatures, features, "features") < 0)
		return NULL;
	if (standin != Py_None && replace_list(&s->standin, &s->nstandin, standin, "standin") < 0)
		return NULL;
	if (needs != Py_None && replace_list(&s->needs, &s->nneeds, needs, "needs") < 0)
		return NULL;
	if (can_die >= 0)
		s->can_die = can_die;
	if (stop_timeout >= 0)
		s->stop_timeout = stop_timeout;
	if (sockets) {
		capture_begin(&c);
		if (service_set_sockets(s, sockets) < 0)
			return capture_end(&c, 1);
		capture_end(&c, 0);
	}
	if (files != Py_None) {
		char **list;
		size_t n;
		int ret;

		if (!(list = str_list(files, &n, "files")))
			return NULL;
		capture_begin(&c);
		ret = service_add_files(s, list, n);
		str_free_list(list);
		if (ret < 0)
			return capture_end(&c, 1);
		capture_end(&c, 0);
	}
	Py_RETURN_NONE;
}

/* set_ready(service, kind|None, arg|None, argv|None): kind "port" or "log"
 * with arg, "command" with argv; anything else is the model's error */
static PyObject *
model_set_ready(struct model *self, PyObject *args)
{
	const char *name, *kind, *arg;
	PyObject *seq;
	struct service *s;
	struct capture c;
	char **argv = NULL;
	size_t argc = 0;
	int ret;

	if (!(s = module_service_args(self->d, args, "szzO", &name, &kind, &arg, &seq)))
		return NULL;
	if (seq != Py_None && !(argv = str_list(seq, &argc, "ready command")))
		return NULL;
	capture_begin(&c);
	ret = service_set_ready(s, kind, arg, argv, argc);
	str_free_list(argv);
	if (ret < 0)
		return capture_end(&c, 1);
	capture_end(&c, 0);
	Py_RETURN_NONE;
}

static const char *const dir_names[] = { "unknown", "input", "output" };

static PyObject *
port_tuple(const struct port *p)
{
	return Py_BuildValue("(ssOz)", p->name, dir_names[p->dir],
	                     p->declared ? Py_True : Py_False, p->type);
}

/* declare_port(service, name, dir): dir "input" or "in", "output" or
 * "out", "unknown" */
static PyObject *
model_declare_port(struct model *self, PyObject *args)
{
	const char *name, *port, *dir;
	struct capture c;
	struct service *s;
	struct port *p = NULL;
	enum port_dir k;

	if (!(s = module_service_args(self->d, args, "sss", &name, &port, &dir)))
		return NULL;
	capture_begin(&c);
	if (port_dir_parse(port, dir, &k) == 0)
		p = service_declare_port(s, port, k, NULL);
	if (!p)
		return capture_end(&c, 1);
	capture_end(&c, 0);
	return port_tuple(p);
}

/* port(service, name) -> (name, dir, declared, type): made on first use
 * for a crate, an error naming the ports there are for a declared program */
static PyObject *
model_port(struct model *self, PyObject *args)
{
	const char *name, *port;
	struct capture c;
	struct service *s;
	struct port *p;

	if (!(s = module_service_args(self->d, args, "ss", &name, &port)))
		return NULL;
	capture_begin(&c);
	p = service_port(s, port);
	if (!p)
		return capture_end(&c, 1);
	capture_end(&c, 0);
	return port_tuple(p);
}

/* ports(service) -> [(name, dir, declared, type)] */
static PyObject *
model_ports(struct model *self, PyObject *args)
{
	const char *name;
	struct service *s;
	PyObject *list;
	size_t i;

	if (!(s = module_service_args(self->d, args, "s", &name)))
		return NULL;
	list = PyList_New(0);
	for (i = 0; list && i < s->nports; i++) {
		PyObject *t = port_tuple(s->ports[i]);

		if (!t || PyList_Append(list, t) < 0)
			Py_CLEAR(list);
		Py_XDECREF(t);
	}
	return list;
}

/* a port named by (service, name), or NULL for hydro.null(); -1 on error */
static int
lookup_port(struct model *self, const char *svc, const char *name, struct port **out)
{
	struct service *s;
	struct capture c;

	*out = NULL;
	if (!svc)
		return 0;
	if (!(s = deploy_find_service(self->d, svc))) {
		PyErr_Format(model_error, "no service '%s'", svc);
		return -1;
	}
	capture_begin(&c);
	*out = service_port(s, name);
	capture_end(&c, !*out);
	return *out ? 0 : -1;
}

/* connect(from_service|None, from_port|None, to_service|None, to_port|None,
 *         key=-1, tag=-1, merge=False) */
static PyObject *
model_connect(struct model *self, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "from_service", "from_port", "to_service", "to_port",
	                          "key", "tag", "merge", NULL };
	const char *fs, *fp, *ts, *tp;
	long long key = -1, tag = -1;
	int merge = 0;
	struct port *from, *to;
	struct connection *conn;
	struct capture c;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "zzzz|LLp", kwlist, &fs, &fp, &ts, &tp,
	                                 &key, &tag, &merge))
		return NULL;
	if (lookup_port(self, fs, fp, &from) < 0 || lookup_port(self, ts, tp, &to) < 0)
		return NULL;
	capture_begin(&c);
	conn = deploy_connect_with(self->d, from, to, key, tag, merge);
	if (!conn)
		return capture_end(&c, 1);
	capture_end(&c, 0);
	Py_RETURN_NONE;
}

/* add_target(name, cmd, inputs, outputs, env, needs, cwd|None) */
static PyObject *
model_add_target(struct model *self, PyObject *args)
{
	const char *name, *cwd;
	PyObject *cmd, *inputs, *outputs, *env, *needs, *key, *value;
	Py_ssize_t pos = 0;
	struct capture c;
	struct target *t;
	char **argv, **in, **out, **nd;
	size_t argc, nin, nout, nnd;

	if (!PyArg_ParseTuple(args, "sOOOO!Oz", &name, &cmd, &inputs, &outputs,
	                      &PyDict_Type, &env, &needs, &cwd))
		return NULL;
	argv = str_list(cmd, &argc, "cmd");
	in = argv ? str_list(inputs, &nin, "inputs") : NULL;
	out = in ? str_list(outputs, &nout, "outputs") : NULL;
	nd = out ? str_list(needs, &nnd, "needs") : NULL;
	capture_begin(&c);
	if (nd && !argc)
		error("a target needs a command: give cmd=[PROGRAM, ARGS...]");
	t = nd && argc ? deploy_add_target(self->d, name) : NULL;
	if (!t) {
		str_free_list(argv);
		str_free_list(in);
		str_free_list(out);
		str_free_list(nd);
		return capture_end(&c, nd != NULL);
	}
	capture_end(&c, 0);
	t->argv = argv;
	t->argc = argc;
	t->inputs = in;
	t->ninputs = nin;
	t->outputs = out;
	t->noutputs = nout;
	t->needs = nd;
	t->nneeds = nnd;
	set_str(&t->cwd, cwd);
	while (PyDict_Next(env, &pos, &key, &value)) {
		const char *k = PyUnicode_AsUTF8(key), *v = PyUnicode_AsUTF8(value);

		if (!k || !v)
			return NULL;
		t->env = xreallocarray(t->env, t->nenv + 1, sizeof(*t->env));
		t->env[t->nenv].key = xstrdup(k);
		t->env[t->nenv].value = xstrdup(v);
		t->nenv++;
	}
	Py_RETURN_NONE;
}

/* the model's checks: validate(), check_backends(), check_buildable();
 * each raises ModelError with every problem found */
static PyObject *
model_check(struct model *self, int (*check)(const struct deployment *))
{
	struct capture c;

	capture_begin(&c);
	if (check(self->d) < 0)
		return capture_end(&c, 1);
	capture_end(&c, 0);
	Py_RETURN_NONE;
}

static PyObject *
model_validate(struct model *self, PyObject *noargs)
{
	return model_check(self, deploy_validate);
}

static PyObject *
model_check_backends(struct model *self, PyObject *noargs)
{
	return model_check(self, deploy_check_backends);
}

static PyObject *
model_check_buildable(struct model *self, PyObject *noargs)
{
	return model_check(self, deploy_check_buildable);
}

/* to_json(pretty=False) -> str: the model's JSON form (docs/spec.md) */
static PyObject *
model_to_json(struct model *self, PyObject *args)
{
	int pretty = 0;
	cJSON *json;
	char *text;
	PyObject *res;

	if (!PyArg_ParseTuple(args, "|p", &pretty))
		return NULL;
	json = deploy_to_json(self->d);
	text = pretty ? cJSON_Print(json) : cJSON_PrintUnformatted(json);
	cJSON_Delete(json);
	if (!text)
		return PyErr_NoMemory();
	res = PyUnicode_FromString(text);
	cJSON_free(text);
	return res;
}

/* graph(format) -> str; format: "mermaid" or "dot" */
static PyObject *
model_graph(struct model *self, PyObject *args)
{
	const char *format;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	PyObject *res;

	if (!PyArg_ParseTuple(args, "s", &format))
		return NULL;
	if (!(f = open_memstream(&text, &len)))
		return PyErr_SetFromErrno(PyExc_OSError);
	deploy_graph(self->d, strcmp(format, "dot") ? FORMAT_MERMAID : FORMAT_DOT, f);
	fclose(f);
	res = PyUnicode_FromStringAndSize(text, (Py_ssize_t)len);
	free(text);
	return res;
}

static PyMethodDef model_methods[] = {
	{ "set_where", (PyCFunction)model_set_where, METH_VARARGS, NULL },
	{ "reserve", (PyCFunction)model_reserve, METH_VARARGS, NULL },
	{ "add_host", (PyCFunction)model_add_host, METH_VARARGS, NULL },
	{ "open_ports", (PyCFunction)model_open_ports, METH_VARARGS, NULL },
	{ "add_service", (PyCFunction)model_add_service, METH_VARARGS, NULL },
	{ "add_args", (PyCFunction)model_add_args, METH_VARARGS, NULL },
	{ "set_env", (PyCFunction)model_set_env, METH_VARARGS, NULL },
	{ "set_service", (PyCFunction)(void (*)(void))model_set_service,
	  METH_VARARGS | METH_KEYWORDS, NULL },
	{ "set_ready", (PyCFunction)model_set_ready, METH_VARARGS, NULL },
	{ "declare_port", (PyCFunction)model_declare_port, METH_VARARGS, NULL },
	{ "port", (PyCFunction)model_port, METH_VARARGS, NULL },
	{ "ports", (PyCFunction)model_ports, METH_VARARGS, NULL },
	{ "connect", (PyCFunction)(void (*)(void))model_connect,
	  METH_VARARGS | METH_KEYWORDS, NULL },
	{ "add_target", (PyCFunction)model_add_target, METH_VARARGS, NULL },
	{ "validate", (PyCFunction)model_validate, METH_NOARGS, NULL },
	{ "check_backends", (PyCFunction)model_check_backends, METH_NOARGS, NULL },
	{ "check_buildable", (PyCFunction)model_check_buildable, METH_NOARGS, NULL },
	{ "to_json", (PyCFunction)model_to_json, METH_VARARGS, NULL },
	{ "graph", (PyCFunction)model_graph, METH_VARARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

PyTypeObject model_type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "hydro._hydro.Model",
	.tp_basicsize = sizeof(struct model),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "a deployment model (src/deploy.h)",
	.tp_new = PyType_GenericNew,
	.tp_init = (initproc)model_init,
	.tp_dealloc = (destructor)model_dealloc,
	.tp_methods = model_methods,
};

/* build(model): make what the deployment declares (hydro build) */
static PyObject *
mod_build(PyObject *self, PyObject *args)
{
	struct options o = cli_options();
	struct model *m;
	int ret;

	if (!PyArg_ParseTuple(args, "O!", &model_type, &m))
		return NULL;
	fflush(stdout);
	Py_BEGIN_ALLOW_THREADS
	ret = command_build(m->d, &o);
	Py_END_ALLOW_THREADS
	if (ret < 0)
		return PyErr_Format(model_error, "the build failed");
	Py_RETURN_NONE;
}

/* plan(model, json): say what a run would make (hydro plan) */
static PyObject *
mod_plan(PyObject *self, PyObject *args)
{
	struct options o = cli_options();
	struct model *m;
	int json, ret;

	if (!PyArg_ParseTuple(args, "O!p", &model_type, &m, &json))
		return NULL;
	fflush(stdout);
	o.json = json;
	ret = command_plan(m->d, &o);
	fflush(stdout);
	if (ret < 0)
		return PyErr_Format(model_error, "cannot plan the deployment");
	Py_RETURN_NONE;
}

/* --- the module -------------------------------------------------------- */

/* wait_ops(): wait, with the GIL released, until no core thread is about
 * to complete a future; for the end of a plain python3 run */
static PyObject *
mod_wait_ops(PyObject *self, PyObject *noargs)
{
	Py_BEGIN_ALLOW_THREADS
	module_wait_ops();
	Py_END_ALLOW_THREADS
	Py_RETURN_NONE;
}

/* embedded() -> bool: inside the hydro binary */
static PyObject *
mod_embedded(PyObject *self, PyObject *noargs)
{
	return PyBool_FromLong(embedded);
}

static PyMethodDef module_methods[] = {
	{ "param", mod_param, METH_VARARGS, NULL },
	{ "configure", mod_configure, METH_VARARGS, NULL },
	{ "check_params", mod_check_params, METH_VARARGS, NULL },
	{ "options", mod_options, METH_NOARGS, NULL },
	{ "report", mod_report, METH_VARARGS, NULL },
	{ "embedded", mod_embedded, METH_NOARGS, NULL },
	{ "wait_ops", mod_wait_ops, METH_NOARGS, NULL },
	{ "build", mod_build, METH_VARARGS, NULL },
	{ "plan", mod_plan, METH_VARARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

static struct PyModuleDef module_def = {
	PyModuleDef_HEAD_INIT,
	.m_name = "hydro._hydro",
	.m_doc = "the C half of the hydro package",
	.m_size = -1,
	.m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__hydro(void)
{
	PyObject *m;

	if (PyType_Ready(&model_type) < 0)
		return NULL;
	m = PyModule_Create(&module_def);
	if (!m)
		return NULL;
	model_error = PyErr_NewException("hydro._hydro.ModelError", NULL, NULL);
	if (!model_error || PyModule_AddObjectRef(m, "ModelError", model_error) < 0 ||
	    PyModule_AddObjectRef(m, "Model", (PyObject *)&model_type) < 0 ||
	    PyModule_AddIntConstant(m, "FRAME_MAX", FRAME_MAX) < 0 ||
	    pyrun_init(m) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
