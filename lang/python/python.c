/*
 * python: the embedded interpreter that runs config scripts.
 *
 * The C side only starts CPython, makes the built-in package importable and
 * hands over to hydro._runner, which evaluates the script, runs its main()
 * under asyncio and prints what went wrong the way a user wants to read it
 * (Python code formats Python tracebacks best).
 */
#include "module.h"

#include <marshal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "fs.h"
#include "python.h"
#include "xmalloc.h"

/* boot.py's file name in tracebacks: one of the package's, whose frames
 * tracebacks leave out */
#define BOOT_ORIGIN "<built-in>/hydro/_boot.py"

/* whether the package's marshalled code is for this interpreter */
static int
code_usable(void)
{
	long magic = PyImport_GetMagicNumber();

	return magic != -1 &&
	       (unsigned long)magic == ((unsigned long)python_magic[0] |
	                                (unsigned long)python_magic[1] << 8 |
	                                (unsigned long)python_magic[2] << 16 |
	                                (unsigned long)python_magic[3] << 24);
}

/* {"hydro": (origin, text, is_package, code), "hydro.gcp": ...}; code is
 * the marshalled code object, or b"" to compile the text */
static PyObject *
source_table(void)
{
	const struct python_source *s;
	PyObject *table = PyDict_New();
	int code = code_usable();

	if (!table)
		return NULL;
	for (s = python_sources; s->file; s++) {
		int pkg = !strcmp(s->file, "__init__.py");
		size_t base = strlen(s->file) - 3;	/* without ".py" */
		char *name = pkg ? xstrdup("hydro") :
		             xasprintf("hydro.%.*s", (int)base, s->file);
		char *origin = xasprintf("<built-in>/hydro/%s", s->file);
		PyObject *entry = Py_BuildValue("(ss#Oy#)", origin, (const char *)s->text,
		                                (Py_ssize_t)s->len, pkg ? Py_True : Py_False,
		                                (const char *)s->code,
		                                (Py_ssize_t)(code ? s->code_len : 0));
		int ret = entry ? PyDict_SetItemString(table, name, entry) : -1;

		Py_XDECREF(entry);
		free(name);
		free(origin);
		if (ret < 0) {
			Py_DECREF(table);
			return NULL;
		}
	}
	return table;
}

/* boot.py's DeferringFinder, on sys.meta_path while hydro's own
 * imports run (a reference) */
static PyObject *deferring;

static int
install_package(void)
{
	PyObject *globals, *table, *res, *code;

	globals = PyDict_New();
	table = source_table();
	if (!globals || !table ||
	    PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) < 0 ||
	    PyDict_SetItemString(globals, "sources", table) < 0) {
		Py_XDECREF(globals);
		Py_XDECREF(table);
		return -1;
	}
	Py_DECREF(table);
	/* lang/python/boot.py, as marshalled at build time when it can be */
	if (code_usable() && python_boot.code_len)
		code = PyMarshal_ReadObjectFromString((const char *)python_boot.code,
		                                      (Py_ssize_t)python_boot.code_len);
	else
		code = Py_CompileString((const char *)python_boot.text, BOOT_ORIGIN, Py_file_input);
	res = code ? PyEval_EvalCode(code, globals, globals) : NULL;
	Py_XDECREF(code);
	if (res)
		deferring = Py_XNewRef(PyDict_GetItemString(globals, "deferring"));
	Py_DECREF(globals);
	if (!res)
		return -1;
	Py_DECREF(res);
	return 0;
}

/* take the DeferringFinder off sys.meta_path: the modules it deferred stay
 * so, a script's own imports are as in any python3 */
static int
stop_deferring(void)
{
	PyObject *path = PySys_GetObject("meta_path"), *res;

	if (!deferring)
		return 0;
	res = path ? PyObject_CallMethod(path, "remove", "O", deferring) : NULL;
	Py_CLEAR(deferring);
	if (!res)
		return -1;
	Py_DECREF(res);
	return 0;
}

/* --- _hydro_boot: what hydro/_evalcache.py asks of the binary --------- */

extern char **environ;

/* the environment as hydro was given it, before CPython's start-up could
 * change it (PEP 538 sets LC_CTYPE in a C locale): what hydro compares
 * with when it checks a record */
static char **boot_environ;

static void
save_environ(void)
{
	size_t n = 0, i;

	if (boot_environ)
		return;
	while (environ[n])
		n++;
	boot_environ = xcalloc(n + 1, sizeof(*boot_environ));
	for (i = 0; i < n; i++)
		boot_environ[i] = xstrdup(environ[i]);
}

/* environ() -> [bytes]: the NAME=VALUE entries hydro-python was started with */
static PyObject *
boot_environ_py(PyObject *self, PyObject *noargs)
{
	PyObject *list = PyList_New(0), *b;
	size_t i;

	for (i = 0; list && boot_environ && boot_environ[i]; i++) {
		b = PyBytes_FromString(boot_environ[i]);
		if (!b || PyList_Append(list, b) < 0)
			Py_CLEAR(list);
		Py_XDECREF(b);
	}
	return list;
}

/* diagnostics() -> (errors, warnings) reported so far */
static PyObject *
boot_diagnostics(PyObject *self, PyObject *noargs)
{
	return Py_BuildValue("(II)", error_count(), warning_count());
}

/* asked() -> [str]: the parameters the config asked for, given or not */
static PyObject *
boot_asked(PyObject *self, PyObject *noargs)
{
	PyObject *list = PyList_New(0), *s;
	size_t i;

	for (i = 0; list && cli && i < cli->nasked; i++) {
		s = PyUnicode_FromString(cli->asked[i]);
		if (!s || PyList_Append(list, s) < 0)
			Py_CLEAR(list);
		Py_XDECREF(s);
	}
	return list;
}

static int
add_where(PyObject *dict, const char *kind, const char *name, const char *where)
{
	char *key = xasprintf("%s:%s", kind, name);
	PyObject *v = PyUnicode_FromString(where ? where : "");
	int ret = v ? PyDict_SetItemString(dict, key, v) : -1;

	Py_XDECREF(v);
	free(key);
	return ret;
}

/* wheres(model) -> {"host:NAME" | "service:NAME" | "target:NAME": where} */
static PyObject *
boot_wheres(PyObject *self, PyObject *arg)
{
	struct deployment *d;
	PyObject *dict;
	size_t i;
	int ret = 0;

	if (!PyObject_TypeCheck(arg, &model_type))
		return PyErr_Format(PyExc_TypeError, "a Model is needed");
	d = ((struct model *)arg)->d;
	if (!(dict = PyDict_New()))
		return NULL;
	for (i = 0; ret == 0 && i < d->nhosts; i++)
		ret = add_where(dict, "host", d->hosts[i]->name, d->hosts[i]->where);
	for (i = 0; ret == 0 && i < d->nservices; i++)
		ret = add_where(dict, "service", d->services[i]->name, d->services[i]->where);
	for (i = 0; ret == 0 && i < d->ntargets; i++)
		ret = add_where(dict, "target", d->targets[i]->name, d->targets[i]->where);
	if (ret < 0)
		Py_CLEAR(dict);
	return dict;
}

static PyMethodDef boot_methods[] = {
	{ "diagnostics", boot_diagnostics, METH_NOARGS, NULL },
	{ "asked", boot_asked, METH_NOARGS, NULL },
	{ "wheres", boot_wheres, METH_O, NULL },
	{ "environ", boot_environ_py, METH_NOARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

static struct PyModuleDef boot_def = {
	PyModuleDef_HEAD_INIT,
	.m_name = "_hydro_boot",
	.m_doc = "what hydro-python tells the package about this process",
	.m_size = -1,
	.m_methods = boot_methods,
};

static PyObject *
boot_init(void)
{
	return PyModule_Create(&boot_def);
}

static const char *
mode_name(enum run_mode mode)
{
	switch (mode) {
	case MODE_BUILD:
		return "build";
	case MODE_PLAN:
		return "plan";
	case MODE_GRAPH:
		return "graph";
	case MODE_RUN:
		break;
	}
	return "run";
}

static int inittab_done;
static int exit_after;

void
python_exit_after(void)
{
	exit_after = 1;
}

static int
start_interpreter(const char *path)
{
	PyConfig config;
	PyStatus st;
	char **argv;
	size_t i, argc = 1 + (cli ? cli->nargs : 0);

	/* once: a sweep runs one interpreter after another in this process */
	if (!inittab_done) {
		PyImport_AppendInittab("hydro._hydro", PyInit__hydro);
		PyImport_AppendInittab("_hydro_boot", boot_init);
		inittab_done = 1;
	}
	PyConfig_InitPythonConfig(&config);
	config.parse_argv = 0;
	config.safe_path = 1;		/* the runner puts the script's directory first */
	config.install_signal_handlers = 1;	/* Ctrl-C: KeyboardInterrupt, asyncio cancels */
	argv = xcalloc(argc + 1, sizeof(*argv));
	argv[0] = (char *)path;
	for (i = 1; i < argc; i++)
		argv[i] = cli->args[i - 1];
	st = PyConfig_SetBytesArgv(&config, (Py_ssize_t)argc, argv);
	free(argv);
	if (!PyStatus_Exception(st))
		st = Py_InitializeFromConfig(&config);
	PyConfig_Clear(&config);
	if (PyStatus_Exception(st))
		return error("cannot start the Python interpreter: %s",
		             st.err_msg ? st.err_msg : "unknown error");
	return 0;
}

/* report an exception raised outside the script (in hydro's own start-up) */
static int
python_failure(const char *what)
{
	PyErr_Print();
	return error("%s", what);
}

int
python_run_config(const char *path, enum run_mode mode)
{
	PyObject *runner = NULL, *res = NULL;
	long code = 1;
	int ret, gc;

	if (!path_exists(path))
		return error_errno("cannot read '%s'", path);
	save_environ();
	if (start_interpreter(path) < 0)
		return -1;
	module_set_embedded();
	/* no garbage collection while the package and asyncio are imported:
	 * they make some 100 000 objects, none of them garbage, that would be
	 * gone through again and again (5 ms) */
	gc = PyGC_Disable();
	if (install_package() < 0 ||
	    !(runner = PyImport_ImportModule("hydro._runner")) || stop_deferring() < 0) {
		if (gc)
			PyGC_Enable();
		ret = python_failure("cannot load the built-in hydro package");
		goto out;
	}
	if (gc)
		PyGC_Enable();
	res = PyObject_CallMethod(runner, "run_config", "ss", path, mode_name(mode));
	if (!res) {
		ret = python_failure("internal error in the hydro package");
		goto out;
	}
	/* 0, 1 for a failed script, 130 after Ctrl-C (the shell's 128 + SIGINT) */
	code = PyLong_AsLong(res);
	ret = code == 0 ? 0 : code == 1 || code < 0 ? -1 : (int)code;
out:
	Py_XDECREF(res);
	res = NULL;
	/* core threads may still deliver to Python: let them finish first,
	 * with the GIL released, since that is what they wait for */
	Py_BEGIN_ALLOW_THREADS
	module_wait_ops();
	Py_END_ALLOW_THREADS
	if (exit_after && runner) {
		/* the process ends next: what a script can see of the
		 * interpreter's end (hydro._runner.leave), not the teardown of
		 * every module, which is 10 to 20 ms of a short run */
		res = PyObject_CallMethod(runner, "leave", NULL);
		if (res) {
			Py_DECREF(res);
			Py_DECREF(runner);
			return ret;
		}
		PyErr_Print();
	}
	Py_XDECREF(runner);
	if (Py_FinalizeEx() < 0 && ret == 0)
		ret = error("cannot shut the Python interpreter down cleanly");
	return ret;
}
