/*
 * module: the _hydro extension.
 *
 * Model wraps a struct deployment; services, hosts and ports are named by
 * their names in it, so the Python objects hold no C pointers.  Errors the
 * core reports while a method runs are captured and raised as
 * _hydro.ModelError; the package turns them into hydro.Error subclasses that
 * name the script line.
 */
#include "module.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "buf.h"
#include "commands.h"
#include "run.h"
#include "cli.h"
#include "deploy.h"
#include "error.h"
#include "fs.h"
#include "hf/hf.h"
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

/* --- the .hf front end ------------------------------------------------- */

/* hf_ports(path) -> [(name, "input"|"output", type, line)]: the ports of a
 * .hf program's module header; the program is checked (diagnostics go to
 * stderr) and a program with errors raises ModelError */
static PyObject *
mod_hf_ports(PyObject *self, PyObject *args)
{
	struct hf_program *prog;
	const char *path;
	PyObject *list;
	size_t i;

	if (!PyArg_ParseTuple(args, "s", &path))
		return NULL;
	fflush(stdout);
	prog = hf_load(path);
	if (!prog)
		return PyErr_Format(model_error, "'%s' does not check: fix the errors above",
		                    path);
	list = PyList_New(0);
	for (i = 0; list && i < prog->nports; i++) {
		const struct hf_port_info *p = &prog->ports[i];
		PyObject *t = Py_BuildValue("(sszI)", p->name, p->is_input ? "input" : "output",
		                            p->type, p->line);

		if (!t || PyList_Append(list, t) < 0)
			Py_CLEAR(list);
		Py_XDECREF(t);
	}
	hf_program_free(prog);
	return list;
}

/* --- parameters -------------------------------------------------------- */

/* param(name) -> str | None: the value of -D name, marking it used */
static PyObject *
mod_param(PyObject *self, PyObject *args)
{
	const char *name, *value;

	if (!PyArg_ParseTuple(args, "s", &name))
		return NULL;
	value = cli_param(name);
	if (!value)
		Py_RETURN_NONE;
	return PyUnicode_FromString(value);
}

/* The options of a plain `python3 script.py -D n=1 --keep` run, set by
 * hydro.run(); inside the hydro binary main.c owns them. */
static struct cli standalone_cli;

/* configure(params, keep): set the options outside the hydro binary; params
 * are the "name=value" of each -D, checked as the hydro binary checks them */
static PyObject *
mod_configure(PyObject *self, PyObject *args)
{
	PyObject *params;
	struct capture c;
	int keep, bad = 0;
	Py_ssize_t i, n;

	if (!PyArg_ParseTuple(args, "O!p", &PyList_Type, &params, &keep))
		return NULL;
	if (embedded)
		Py_RETURN_NONE;
	for (i = 0; i < (Py_ssize_t)standalone_cli.nparams; i++) {
		free(standalone_cli.params[i].name);
		free(standalone_cli.params[i].value);
	}
	free(standalone_cli.params);
	standalone_cli.params = NULL;
	standalone_cli.nparams = 0;
	n = PyList_GET_SIZE(params);
	capture_begin(&c);
	for (i = 0; i < n && !bad; i++) {
		PyObject *item = PyList_GET_ITEM(params, i);
		const char *arg = PyUnicode_Check(item) ? PyUnicode_AsUTF8(item) : NULL;

		if (!arg) {
			capture_end(&c, 0);
			if (!PyErr_Occurred())
				PyErr_Format(PyExc_TypeError, "parameter %zd is %s, not str",
				             i, Py_TYPE(item)->tp_name);
			return NULL;
		}
		bad = cli_add_param(&standalone_cli, arg) < 0;
	}
	if (bad)
		return capture_end(&c, 1);
	capture_end(&c, 0);
	standalone_cli.keep = keep;
	standalone_cli.command = "run";
	standalone_cli.log_prefix = 1;
	cli = &standalone_cli;
	Py_RETURN_NONE;
}

/* unused_params() -> [name]: the -D names nothing read */
static PyObject *
mod_unused_params(PyObject *self, PyObject *noargs)
{
	PyObject *list = PyList_New(0);
	size_t i;

	for (i = 0; list && i < cli->nparams; i++) {
		PyObject *s;

		if (cli->params[i].used)
			continue;
		s = PyUnicode_FromString(cli->params[i].name);
		if (!s || PyList_Append(list, s) < 0)
			Py_CLEAR(list);
		Py_XDECREF(s);
	}
	return list;
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

/* backend_available(name) -> bool: a backend of that name is built in */
static PyObject *
mod_backend_available(PyObject *self, PyObject *args)
{
	const char *name;

	if (!PyArg_ParseTuple(args, "s", &name))
		return NULL;
	return PyBool_FromLong(backend_find(name) != NULL);
}

/* have_compiler() -> bool: .hf programs can be compiled to Rust */
static PyObject *
mod_have_compiler(PyObject *self, PyObject *noargs)
{
	Py_RETURN_TRUE;
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

static struct service *
find_service(struct model *self, const char *name)
{
	struct service *s = deploy_find_service(self->d, name);

	if (!s)
		PyErr_Format(model_error, "no service '%s'", name);
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

/* add_host(name|None, backend, settings: dict[str, str]) -> name */
static PyObject *
model_add_host(struct model *self, PyObject *args)
{
	const char *name, *backend;
	PyObject *settings, *key, *value;
	Py_ssize_t pos = 0;
	struct capture c;
	struct host *h;

	if (!PyArg_ParseTuple(args, "zsO!", &name, &backend, &PyDict_Type, &settings))
		return NULL;
	capture_begin(&c);
	h = deploy_add_host(self->d, name, backend);
	if (!h)
		return capture_end(&c, 1);
	capture_end(&c, 0);
	while (PyDict_Next(settings, &pos, &key, &value)) {
		const char *k = PyUnicode_AsUTF8(key), *v = PyUnicode_AsUTF8(value);

		if (!k || !v)
			return NULL;
		host_set(h, k, v);
	}
	return PyUnicode_FromString(h->name);
}

static const char *const kind_names[] = { "hydroflow", "crate", "process" };

/* add_service(kind, name|None, host, src|None) -> name */
static PyObject *
model_add_service(struct model *self, PyObject *args)
{
	const char *kind, *name, *hostname, *src;
	struct capture c;
	struct service *s;
	struct host *h;
	size_t k;

	if (!PyArg_ParseTuple(args, "szsz", &kind, &name, &hostname, &src))
		return NULL;
	for (k = 0; k < 3 && strcmp(kind_names[k], kind); k++)
		;
	if (k == 3)
		return PyErr_Format(PyExc_ValueError, "unknown service kind '%s'", kind);
	if (!(h = find_host(self, hostname)))
		return NULL;
	capture_begin(&c);
	s = deploy_add_service(self->d, name, (enum service_kind)k, h, src);
	if (!s)
		return capture_end(&c, 1);
	capture_end(&c, 0);
	return PyUnicode_FromString(s->name);
}

/* add_args(service, [str]): extra arguments (a process: its command) */
static PyObject *
model_add_args(struct model *self, PyObject *args)
{
	const char *name;
	PyObject *seq;
	struct service *s;
	char **list;
	size_t i, n;

	if (!PyArg_ParseTuple(args, "sO", &name, &seq))
		return NULL;
	if (!(s = find_service(self, name)))
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

	if (!PyArg_ParseTuple(args, "sO!", &name, &PyDict_Type, &env))
		return NULL;
	if (!(s = find_service(self, name)))
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
 * needs=, can_die=, stop_timeout=) */
static PyObject *
model_set_service(struct model *self, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "service", "cwd", "bin", "example", "profile",
	                          "features", "standin", "needs", "can_die", "stop_timeout",
	                          NULL };
	const char *name, *cwd = NULL, *bin = NULL, *example = NULL, *profile = NULL;
	PyObject *features = Py_None, *standin = Py_None, *needs = Py_None;
	int can_die = -1;
	double stop_timeout = -1;
	struct service *s;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "s|zzzzOOOpd", kwlist, &name, &cwd,
	                                 &bin, &example, &profile, &features, &standin,
	                                 &needs, &can_die, &stop_timeout))
		return NULL;
	if (!(s = find_service(self, name)))
		return NULL;
	if (cwd)
		set_str(&s->cwd, cwd);
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
	Py_RETURN_NONE;
}

/* set_ready(service, kind, arg|None, argv|None); kind: port, log, command */
static PyObject *
model_set_ready(struct model *self, PyObject *args)
{
	const char *name, *kind, *arg;
	PyObject *argv;
	struct service *s;

	if (!PyArg_ParseTuple(args, "sszO", &name, &kind, &arg, &argv))
		return NULL;
	if (!(s = find_service(self, name)))
		return NULL;
	if (!strcmp(kind, "port"))
		s->ready.kind = READY_PORT;
	else if (!strcmp(kind, "log"))
		s->ready.kind = READY_LOG;
	else if (!strcmp(kind, "command"))
		s->ready.kind = READY_COMMAND;
	else
		return PyErr_Format(PyExc_ValueError, "unknown readiness check '%s'", kind);
	set_str(&s->ready.arg, arg);
	if (argv != Py_None &&
	    replace_list(&s->ready.argv, &s->ready.argc, argv, "ready command") < 0)
		return NULL;
	Py_RETURN_NONE;
}

static const char *const dir_names[] = { "unknown", "input", "output" };

static PyObject *
port_tuple(const struct port *p)
{
	return Py_BuildValue("(ssOz)", p->name, dir_names[p->dir],
	                     p->declared ? Py_True : Py_False, p->type);
}

/* declare_port(service, name, "input"|"output"|"unknown", type|None) */
static PyObject *
model_declare_port(struct model *self, PyObject *args)
{
	const char *name, *port, *dir, *type;
	struct capture c;
	struct service *s;
	struct port *p;
	size_t k;

	if (!PyArg_ParseTuple(args, "sssz", &name, &port, &dir, &type))
		return NULL;
	for (k = 0; k < 3 && strcmp(dir_names[k], dir); k++)
		;
	if (k == 3)
		return PyErr_Format(PyExc_ValueError, "a port is 'input' or 'output', not '%s'",
		                    dir);
	if (!(s = find_service(self, name)))
		return NULL;
	capture_begin(&c);
	p = service_declare_port(s, port, (enum port_dir)k, type);
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

	if (!PyArg_ParseTuple(args, "ss", &name, &port))
		return NULL;
	if (!(s = find_service(self, name)))
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

	if (!PyArg_ParseTuple(args, "s", &name))
		return NULL;
	if (!(s = find_service(self, name)))
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
	if (!(s = find_service(self, svc)))
		return -1;
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
	long key = -1, tag = -1;
	int merge = 0;
	struct port *from, *to;
	struct connection *conn;
	struct capture c;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "zzzz|llp", kwlist, &fs, &fp, &ts, &tp,
	                                 &key, &tag, &merge))
		return NULL;
	if (lookup_port(self, fs, fp, &from) < 0 || lookup_port(self, ts, tp, &to) < 0)
		return NULL;
	capture_begin(&c);
	conn = deploy_connect(self->d, from, to);
	if (!conn)
		return capture_end(&c, 1);
	capture_end(&c, 0);
	conn->key = key;
	conn->tag = tag;
	conn->merge = merge;
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
	if (!nd) {
		str_free_list(argv);
		str_free_list(in);
		str_free_list(out);
		return NULL;
	}
	capture_begin(&c);
	t = deploy_add_target(self->d, name);
	if (!t) {
		str_free_list(argv);
		str_free_list(in);
		str_free_list(out);
		str_free_list(nd);
		return capture_end(&c, 1);
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

/* validate(): raise ModelError with every problem found */
static PyObject *
model_validate(struct model *self, PyObject *noargs)
{
	struct capture c;

	capture_begin(&c);
	if (deploy_validate(self->d) < 0)
		return capture_end(&c, 1);
	capture_end(&c, 0);
	Py_RETURN_NONE;
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
	{ "add_host", (PyCFunction)model_add_host, METH_VARARGS, NULL },
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
	struct model *m;
	int ret;

	if (!PyArg_ParseTuple(args, "O!", &model_type, &m))
		return NULL;
	fflush(stdout);
	Py_BEGIN_ALLOW_THREADS
	ret = command_build(m->d);
	Py_END_ALLOW_THREADS
	if (ret < 0)
		return PyErr_Format(model_error, "the build failed");
	Py_RETURN_NONE;
}

/* plan(model, json): say what a run would make (hydro plan) */
static PyObject *
mod_plan(PyObject *self, PyObject *args)
{
	struct model *m;
	int json, ret;

	if (!PyArg_ParseTuple(args, "O!p", &model_type, &m, &json))
		return NULL;
	fflush(stdout);
	ret = command_plan(m->d, json);
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
	{ "hf_ports", mod_hf_ports, METH_VARARGS, NULL },
	{ "param", mod_param, METH_VARARGS, NULL },
	{ "configure", mod_configure, METH_VARARGS, NULL },
	{ "unused_params", mod_unused_params, METH_NOARGS, NULL },
	{ "options", mod_options, METH_NOARGS, NULL },
	{ "backend_available", mod_backend_available, METH_VARARGS, NULL },
	{ "have_compiler", mod_have_compiler, METH_NOARGS, NULL },
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
	    pyrun_init(m) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
