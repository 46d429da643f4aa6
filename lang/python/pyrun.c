/*
 * pyrun: _hydro.Run and _hydro.LogReader, a running deployment for Python.
 *
 * Every blocking run_* call happens on a thread of its own (kept for the
 * next call once it is done) with the GIL released; when it returns, the thread completes the caller's asyncio
 * future through the done(ok, value) callback the package passes, which
 * hands the result to the loop with call_soon_threadsafe.  So the event loop
 * never blocks, and a task awaiting the future can be cancelled (the package
 * then calls Run.cancel(), which is run_cancel()).
 *
 * Log readers are not threads: their descriptor goes to the loop's
 * add_reader and LogReader.read() takes what is there without waiting.
 */
#include "module.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"
#include "logs.h"
#include "participant.h"
#include "run.h"
#include "xmalloc.h"

struct reader;

struct runobj {
	PyObject_HEAD
	struct model *model;	/* a reference: the deployment outlives the run */
	PyObject *first;	/* a later round's first run (a reference: it is
				 * freed after this one, which uses its state) */
	struct run *r;		/* NULL once finished */
	struct reader *readers;	/* open readers, closed before the run is freed */
	pthread_mutex_t lock;
	pthread_cond_t idle;
	int busy;		/* op threads using r that finish() must wait for */
	int waits;		/* wait ops, which run_end() sends home */
};

struct reader {
	PyObject_HEAD
	struct runobj *run;	/* a reference */
	struct log_reader *lr;
	struct reader *next;
};

static PyTypeObject run_type;
static PyTypeObject reader_type;

/* --- operations on threads --------------------------------------------- */

enum op_kind { OP_DEPLOY, OP_START, OP_STOP, OP_WAIT, OP_TERMINATE, OP_WATCH };

struct op {
	enum op_kind kind;
	struct runobj *run;	/* a reference, released on the thread */
	struct run *r;
	struct service *svc;
	struct host *host;
	PyObject *done;		/* done(ok, value) */
	int ret, status;
	int counted;		/* finish() waits for it before run_end() (all but
				 * waits, which only run_end() ends) */
	char *msg;		/* the error, when ret < 0 */
	char *where;		/* where the service it failed on was declared, or NULL */
};

static void
op_settle(struct op *op)
{
	PyObject *value, *res;

	if (op->ret < 0)
		value = PyUnicode_FromString(op->msg);
	else if (op->kind == OP_WAIT || op->kind == OP_STOP || op->kind == OP_WATCH)
		value = PyLong_FromLong(op->status);
	else
		value = Py_NewRef(Py_None);
	res = value ? PyObject_CallFunction(op->done, "OOz", op->ret < 0 ? Py_False : Py_True,
	                                    value, op->where) : NULL;
	if (!res)
		PyErr_WriteUnraisable(op->done);
	Py_XDECREF(res);
	Py_XDECREF(value);
	Py_DECREF(op->done);
	Py_DECREF(op->run);
}

static void
op_run(struct op *op)
{
	struct capture c;

	capture_begin(&c);
	switch (op->kind) {
	case OP_DEPLOY:
		op->ret = run_deploy(op->r);
		break;
	case OP_START:
		op->ret = run_start(op->r);
		break;
	case OP_STOP:
		/* stopped: its status is there at once */
		op->ret = run_stop_service(op->r, op->svc);
		if (op->ret == 0 && run_wait_service(op->r, op->svc, &op->status) < 0)
			op->status = -1;
		break;
	case OP_WAIT:
		op->ret = run_wait_service(op->r, op->svc, &op->status);
		break;
	case OP_TERMINATE:
		op->ret = run_terminate_host(op->r, op->host);
		break;
	case OP_WATCH:
		/* until every service has exited or the run ends: whether one
		 * died that may not */
		run_wait(op->r);
		op->status = run_failed(op->r);
		op->ret = 0;
		break;
	}
	if (op->ret < 0) {
		struct service *s = op->kind == OP_DEPLOY || op->kind == OP_START ?
		                    run_failed_service(op->r) : NULL;

		op->msg = xstrdup(c.msg.len ? buf_str(&c.msg) :
		                  *error_last() ? error_last() : "failed (see above)");
		op->where = s ? xstrdup(s->where) : NULL;
	}
	error_set_reporter(NULL, NULL);
	buf_release(&c.msg);
	pthread_mutex_lock(&op->run->lock);
	if (op->counted ? --op->run->busy == 0 : --op->run->waits == 0)
		pthread_cond_broadcast(&op->run->idle);
	pthread_mutex_unlock(&op->run->lock);
	if (module_op_enter()) {
		PyGILState_STATE g = PyGILState_Ensure();

		op_settle(op);
		PyGILState_Release(g);
		module_op_leave();
	}
	free(op->msg);
	free(op->where);
	free(op);
}

/*
 * Op threads are kept once their op is done, for the next: a script's
 * stop() after stop() is one op each, and a new thread for each was a
 * thread's creation and first scheduling more on every step.  A thread
 * idle for IDLE_SECONDS ends.
 */
#define IDLE_SECONDS 10

struct worker {
	pthread_cond_t go;
	struct op *op;		/* set by op_start() to wake it */
	struct worker *next;
};

static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static struct worker *idle;	/* waiting for an op */

static void *
op_thread(void *arg)
{
	struct worker w, **p;
	struct timespec until;
	pthread_condattr_t ca;
	sigset_t all;

	/* signals are the main thread's (Python's Ctrl-C handling) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w.go, &ca);
	pthread_condattr_destroy(&ca);
	w.op = arg;
	for (;;) {
		op_run(w.op);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += IDLE_SECONDS;
		pthread_mutex_lock(&idle_lock);
		w.op = NULL;
		w.next = idle;
		idle = &w;
		while (!w.op && pthread_cond_timedwait(&w.go, &idle_lock, &until) != ETIMEDOUT)
			;
		if (!w.op) {
			for (p = &idle; *p; p = &(*p)->next)
				if (*p == &w) {
					*p = w.next;
					break;
				}
			pthread_mutex_unlock(&idle_lock);
			break;
		}
		pthread_mutex_unlock(&idle_lock);
	}
	pthread_cond_destroy(&w.go);
	return NULL;
}

/* op to an idle op thread (1), or 0 when there is none */
static int
op_hand_over(struct op *op)
{
	struct worker *w;

	pthread_mutex_lock(&idle_lock);
	w = idle;
	if (w) {
		idle = w->next;
		w->op = op;
		pthread_cond_signal(&w->go);
	}
	pthread_mutex_unlock(&idle_lock);
	return w != NULL;
}

/* start op on a thread of its own; NULL with an exception on failure */
static PyObject *
op_start(struct runobj *self, enum op_kind kind, PyObject *done,
         struct service *svc, struct host *host)
{
	struct op *op;
	pthread_attr_t attr;
	pthread_t t;
	int err;

	if (!self->r)
		return PyErr_Format(model_error, "the run has finished");
	if (!PyCallable_Check(done))
		return PyErr_Format(PyExc_TypeError, "done must be callable");
	op = xcalloc(1, sizeof(*op));
	op->kind = kind;
	op->run = (struct runobj *)Py_NewRef((PyObject *)self);
	op->r = self->r;
	op->svc = svc;
	op->host = host;
	op->done = Py_NewRef(done);
	op->counted = kind != OP_WAIT && kind != OP_WATCH;
	pthread_mutex_lock(&self->lock);
	if (op->counted)
		self->busy++;
	else
		self->waits++;
	pthread_mutex_unlock(&self->lock);
	if (op_hand_over(op))
		Py_RETURN_NONE;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&t, &attr, op_thread, op);
	pthread_attr_destroy(&attr);
	if (err) {
		pthread_mutex_lock(&self->lock);
		if (op->counted)
			self->busy--;
		else
			self->waits--;
		pthread_mutex_unlock(&self->lock);
		Py_DECREF(op->done);
		Py_DECREF(op->run);
		free(op);
		errno = err;
		return PyErr_SetFromErrno(PyExc_OSError);
	}
	Py_RETURN_NONE;
}

/* --- Run --------------------------------------------------------------- */

static int
run_init(struct runobj *self, PyObject *args, PyObject *kwds)
{
	struct model *m;
	struct runobj *first = NULL;
	struct options o = cli_options();
	struct capture c;

	if (!PyArg_ParseTuple(args, "O!|O!", &model_type, &m, &run_type, &first))
		return -1;
	if (self->r || self->model) {
		PyErr_SetString(PyExc_RuntimeError, "Run() is made once");
		return -1;
	}
	if (first && !first->r) {
		PyErr_SetString(model_error, "the run has finished");
		return -1;
	}
	pthread_mutex_init(&self->lock, NULL);
	pthread_cond_init(&self->idle, NULL);
	capture_begin(&c);
	/* a later round of first: Run(model, first) */
	self->r = first ? run_new_round(first->r, m->d) : run_new(m->d, MODE_RUN, &o);
	if (!self->r) {
		capture_end(&c, 1);
		return -1;
	}
	capture_end(&c, 0);
	self->model = (struct model *)Py_NewRef((PyObject *)m);
	self->first = first ? Py_NewRef((PyObject *)first) : NULL;
	return 0;
}

/* the deployment of a run not finished yet, else NULL */
static struct deployment *
run_model(struct runobj *self)
{
	return self->r && self->model ? self->model->d : NULL;
}

static void
close_readers(struct runobj *self)
{
	while (self->readers) {
		struct reader *rd = self->readers;

		self->readers = rd->next;
		log_reader_close(rd->lr);
		rd->lr = NULL;
		rd->next = NULL;
	}
}

/* finish(): stop everything (unless --keep), remove what the run created */
static PyObject *
run_finish_py(struct runobj *self, PyObject *noargs)
{
	struct run *r = self->r;
	int failed;

	if (!r)
		Py_RETURN_NONE;
	close_readers(self);
	self->r = NULL;
	Py_BEGIN_ALLOW_THREADS
	/* a cancelled deploy may still be unwinding on its thread */
	pthread_mutex_lock(&self->lock);
	while (self->busy > 0)
		pthread_cond_wait(&self->idle, &self->lock);
	pthread_mutex_unlock(&self->lock);
	/* svc.wait() threads return (the status, or "the run finished") and
	 * none may touch r once it is freed: even one not yet in its call
	 * returns at once after run_end() */
	run_end(r);
	pthread_mutex_lock(&self->lock);
	while (self->waits > 0)
		pthread_cond_wait(&self->idle, &self->lock);
	pthread_mutex_unlock(&self->lock);
	/* a cancelled run the script went on from is not a failure: only a
	 * service that died, or a step that failed, is */
	failed = run_failed(r);
	run_finish(r);
	Py_END_ALLOW_THREADS
	return PyBool_FromLong(!failed);
}

static void
run_dealloc(struct runobj *self)
{
	if (self->r) {
		close_readers(self);
		run_cancel(self->r);
		Py_BEGIN_ALLOW_THREADS
		run_finish(self->r);
		Py_END_ALLOW_THREADS
	}
	if (self->model) {
		pthread_mutex_destroy(&self->lock);
		pthread_cond_destroy(&self->idle);
	}
	Py_XDECREF(self->model);
	Py_XDECREF(self->first);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

/* deploy(done): provision, launch, wire and (unless defer_start()) start */
static PyObject *
run_deploy_py(struct runobj *self, PyObject *done)
{
	return op_start(self, OP_DEPLOY, done, NULL, NULL);
}

/* start(done): start what deploy() launched after defer_start() */
static PyObject *
run_start_py(struct runobj *self, PyObject *done)
{
	return op_start(self, OP_START, done, NULL, NULL);
}

/* watch(done): done(True, failed) once every service has exited or the run
 * ends; failed: a service died that may not (the script is then stopped) */
static PyObject *
run_watch_py(struct runobj *self, PyObject *done)
{
	return op_start(self, OP_WATCH, done, NULL, NULL);
}

/* defer_start(): make deploy() stop before start */
static PyObject *
run_defer_start_py(struct runobj *self, PyObject *noargs)
{
	if (self->r)
		run_defer_start(self->r);
	Py_RETURN_NONE;
}

/* hold_echo(), release_echo(): keep the services' lines off the terminal
 * while the script may be about to read them (run_hold_echo) */
static PyObject *
run_hold_echo_py(struct runobj *self, PyObject *noargs)
{
	if (self->r)
		run_hold_echo(self->r);
	Py_RETURN_NONE;
}

static PyObject *
run_release_echo_py(struct runobj *self, PyObject *noargs)
{
	if (self->r)
		run_release_echo(self->r);
	Py_RETURN_NONE;
}

/* cancel(): cancel what runs (a second call forces) */
static PyObject *
run_cancel_py(struct runobj *self, PyObject *noargs)
{
	if (self->r)
		run_cancel(self->r);
	Py_RETURN_NONE;
}

/* stop_service(name, done) */
static PyObject *
run_stop_py(struct runobj *self, PyObject *args)
{
	const char *name;
	PyObject *done;
	struct service *s;

	if (!(s = module_service_args(run_model(self), args, "sO", &name, &done)))
		return NULL;
	return op_start(self, OP_STOP, done, s, NULL);
}

/* wait_service(name, done): done(True, status) when it has exited */
static PyObject *
run_wait_py(struct runobj *self, PyObject *args)
{
	const char *name;
	PyObject *done;
	struct service *s;

	if (!(s = module_service_args(run_model(self), args, "sO", &name, &done)))
		return NULL;
	return op_start(self, OP_WAIT, done, s, NULL);
}

/* terminate_host(name, done) */
static PyObject *
run_terminate_py(struct runobj *self, PyObject *args)
{
	const char *name;
	PyObject *done;
	struct host *h;

	if (!PyArg_ParseTuple(args, "sO", &name, &done))
		return NULL;
	if (!self->r)
		return PyErr_Format(model_error, "the run has finished");
	if (!(h = deploy_find_host(self->model->d, name)))
		return PyErr_Format(model_error, "no host '%s'", name);
	return op_start(self, OP_TERMINATE, done, NULL, h);
}

/* logs(name, "stdout"|"stderr") -> LogReader from the first line */
static PyObject *
run_logs_py(struct runobj *self, PyObject *args)
{
	const char *name, *stream;
	struct service *s;
	struct log_reader *lr;
	struct reader *rd;
	struct capture c;

	if (!(s = module_service_args(run_model(self), args, "ss", &name, &stream)))
		return NULL;
	capture_begin(&c);
	lr = logs_open(s, strcmp(stream, "stderr") ? LOG_STDOUT : LOG_STDERR);
	if (!lr)
		return capture_end(&c, 1);
	capture_end(&c, 0);
	rd = PyObject_New(struct reader, &reader_type);
	if (!rd) {
		log_reader_close(lr);
		return NULL;
	}
	rd->run = (struct runobj *)Py_NewRef((PyObject *)self);
	rd->lr = lr;
	rd->next = self->readers;
	self->readers = rd;
	return (PyObject *)rd;
}

/* participant_port(service, port) -> (server_port_json, addr|None, fd):
 * the script's end of its port's connection (participant.h); fd is a
 * listening socket the caller owns (an input), or -1 (an output: the caller
 * connects to addr, "host:port" or "unix:PATH"; None for hydro.null()) */
static PyObject *
run_participant_port_py(struct runobj *self, PyObject *args)
{
	const char *name, *port;
	struct service *s;
	struct capture c;
	char *json, *addr;
	int fd;
	PyObject *res;

	if (!(s = module_service_args(run_model(self), args, "ss", &name, &port)))
		return NULL;
	capture_begin(&c);
	if (run_participant_port(self->r, s, port, &json, &addr, &fd) < 0)
		return capture_end(&c, 1);
	capture_end(&c, 0);
	res = Py_BuildValue("(szi)", json, addr, fd);
	free(json);
	free(addr);
	if (!res && fd >= 0)
		close(fd);
	return res;
}

static PyMethodDef run_methods[] = {
	{ "participant_port", (PyCFunction)run_participant_port_py, METH_VARARGS, NULL },
	{ "deploy", (PyCFunction)run_deploy_py, METH_O, NULL },
	{ "start", (PyCFunction)run_start_py, METH_O, NULL },
	{ "defer_start", (PyCFunction)run_defer_start_py, METH_NOARGS, NULL },
	{ "watch", (PyCFunction)run_watch_py, METH_O, NULL },
	{ "cancel", (PyCFunction)run_cancel_py, METH_NOARGS, NULL },
	{ "hold_echo", (PyCFunction)run_hold_echo_py, METH_NOARGS, NULL },
	{ "release_echo", (PyCFunction)run_release_echo_py, METH_NOARGS, NULL },
	{ "stop_service", (PyCFunction)run_stop_py, METH_VARARGS, NULL },
	{ "wait_service", (PyCFunction)run_wait_py, METH_VARARGS, NULL },
	{ "terminate_host", (PyCFunction)run_terminate_py, METH_VARARGS, NULL },
	{ "logs", (PyCFunction)run_logs_py, METH_VARARGS, NULL },
	{ "finish", (PyCFunction)run_finish_py, METH_NOARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

static PyTypeObject run_type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "hydro._hydro.Run",
	.tp_basicsize = sizeof(struct runobj),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "a running deployment (src/run.h)",
	.tp_new = PyType_GenericNew,
	.tp_init = (initproc)run_init,
	.tp_dealloc = (destructor)run_dealloc,
	.tp_methods = run_methods,
};

/* --- LogReader --------------------------------------------------------- */

/* lines per read(), so that a fast service cannot hold the loop */
#define READ_BATCH 4096

static void
reader_unlink(struct reader *self)
{
	struct reader **p;

	for (p = &self->run->readers; *p; p = &(*p)->next) {
		if (*p == self) {
			*p = self->next;
			break;
		}
	}
	if (self->lr)
		log_reader_close(self->lr);
	self->lr = NULL;
}

/* read() -> [str]: the lines there are now ([] when none); None at the end */
static PyObject *
reader_read(struct reader *self, PyObject *noargs)
{
	PyObject *list;
	char *line;
	size_t len;
	int i, got = 0;

	if (!self->lr)
		Py_RETURN_NONE;
	list = PyList_New(0);
	for (i = 0; list && i < READ_BATCH; i++) {
		PyObject *s;

		got = log_reader_next(self->lr, &line, &len, 0);
		if (got <= 0)
			break;
		s = PyUnicode_DecodeUTF8(line, (Py_ssize_t)len, "replace");
		if (!s || PyList_Append(list, s) < 0)
			Py_CLEAR(list);
		Py_XDECREF(s);
	}
	if (list && got < 0 && PyList_GET_SIZE(list) == 0) {
		Py_DECREF(list);
		Py_RETURN_NONE;
	}
	return list;
}

/* fileno() -> int: readable when lines (or the end) may be there */
static PyObject *
reader_fileno(struct reader *self, PyObject *noargs)
{
	if (!self->lr)
		return PyErr_Format(PyExc_ValueError, "the log reader is closed");
	return PyLong_FromLong(log_reader_fd(self->lr));
}

/* close() */
static PyObject *
reader_close(struct reader *self, PyObject *noargs)
{
	reader_unlink(self);
	Py_RETURN_NONE;
}

static void
reader_dealloc(struct reader *self)
{
	reader_unlink(self);
	Py_DECREF(self->run);
	PyObject_Free(self);
}

static PyMethodDef reader_methods[] = {
	{ "read", (PyCFunction)reader_read, METH_NOARGS, NULL },
	{ "fileno", (PyCFunction)reader_fileno, METH_NOARGS, NULL },
	{ "close", (PyCFunction)reader_close, METH_NOARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

static PyTypeObject reader_type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "hydro._hydro.LogReader",
	.tp_basicsize = sizeof(struct reader),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "a reader of one service's log stream (src/logs.h)",
	.tp_dealloc = (destructor)reader_dealloc,
	.tp_methods = reader_methods,
};

int
pyrun_init(PyObject *m)
{
	if (PyType_Ready(&run_type) < 0 || PyType_Ready(&reader_type) < 0)
		return -1;
	if (PyModule_AddObjectRef(m, "Run", (PyObject *)&run_type) < 0 ||
	    PyModule_AddObjectRef(m, "LogReader", (PyObject *)&reader_type) < 0)
		return -1;
	return 0;
}
