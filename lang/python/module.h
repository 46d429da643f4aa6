/*
 * module: the _hydro extension, the C half of the hydro Python package.
 *
 * It wraps the deployment model (src/deploy.h), the run (src/run.h) and the
 * logs (src/logs.h) in a few small types; hydro/__init__.py builds the
 * user-facing API on them.  The same code is built into the hydro binary
 * (registered as hydro._hydro) and into _hydro.so for the system python3.
 * module.c holds the module and the model, pyrun.c the run and its logs.
 */
#ifndef HYDRO_MODULE_H
#define HYDRO_MODULE_H

/* <pthread.h> before Python.h: Python.h turns _GNU_SOURCE on, and pthread.h
 * then wants cpu_set_t from <sched.h>, which -Isrc resolves to the
 * scheduler's src/sched.h */
#include <pthread.h>

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "buf.h"
#include "deploy.h"

/* the module's init function (hydro._hydro) */
PyMODINIT_FUNC PyInit__hydro(void);
/* say that the module runs inside the hydro binary, in a new interpreter
 * (before it is imported) */
void module_set_embedded(void);
/* wait until no core thread is about to call into Python (GIL not held);
 * threads still blocked afterwards never touch Python again */
void module_wait_ops(void);

/* _hydro.Model: a deployment being declared */
struct model {
	PyObject_HEAD
	struct deployment *d;
};

extern PyTypeObject model_type;
/* raised with the core's message; the package re-raises it as hydro.Error */
extern PyObject *model_error;

/* the core's error messages of this thread, collected while a call runs */
struct capture {
	struct buf msg;
};

/* send this thread's error messages to c (warnings still print) */
void capture_begin(struct capture *c);
/* stop capturing; when failed, set model_error from what was said (unless
 * an exception is set already); always returns NULL */
PyObject *capture_end(struct capture *c, int failed);

/* parse args as PyArg_ParseTuple(args, fmt, ...) does, the first item being
 * the name of a service of d (d NULL: the run has finished); the service,
 * or NULL with an exception set */
struct service *module_service_args(struct deployment *d, PyObject *args,
                                    const char *fmt, ...);

/* a core thread may call into Python only between these two (counted, so
 * that the interpreter is not finalized under it); 0 when Python is gone */
int module_op_enter(void);
void module_op_leave(void);

/* add Run and LogReader to the module; -1 with an exception set */
int pyrun_init(PyObject *m);

#endif
