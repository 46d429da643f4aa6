/*
 * pyrun: _hydro.Run, a running deployment for Python.
 *
 * Until the run (src/run.h) is part of the core, the module has no Run and
 * the package says that running is not available yet.
 */
#include "module.h"

int
pyrun_init(PyObject *m)
{
	return 0;
}
