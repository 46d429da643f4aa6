/*
 * pyrun: _hydro.Run, a running deployment for Python.
 *
 * Until the run (src/run.h) is part of the core, the module has no Run and
 * the package says that running is not available yet.
 */
#include "module.h"

PyObject *
pyrun_build(PyObject *self, PyObject *args)
{
	return PyErr_Format(model_error, "building a deployment is not available yet");
}

int
pyrun_init(PyObject *m)
{
	return 0;
}
