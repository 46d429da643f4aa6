/*
 * module: the _hydro extension, the C half of the hydro Python package.
 *
 * It wraps the deployment model (src/deploy.h), the run (src/run.h) and the
 * logs (src/logs.h) in a few small types; hydro/__init__.py builds the
 * user-facing API on them.  The same file is built into the hydro binary
 * (registered as hydro._hydro) and into _hydro.so for the system python3.
 */
#ifndef HYDRO_MODULE_H
#define HYDRO_MODULE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* the module's init function (hydro._hydro) */
PyMODINIT_FUNC PyInit__hydro(void);
/* say that the module runs inside the hydro binary (before it is imported) */
void module_set_embedded(void);
/* wait until no core thread is about to call into Python (GIL not held) */
void module_wait_ops(void);

#endif
