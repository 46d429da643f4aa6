/*
 * graph: the task graph a deployment is lowered to.
 *
 * A task is one step (build a program, upload a package, launch a service...)
 * with the tasks it needs.  Each task counts its unfinished inputs; the
 * scheduler (sched.h) runs a task when that count reaches zero.  A task that
 * fails fails its dependents, each told the root cause, and nothing else.
 */
#ifndef HYDRO_GRAPH_H
#define HYDRO_GRAPH_H

#include <stddef.h>

#include "error.h"
#include "hash.h"

enum task_kind {
	TASK_TARGET,	/* a make-style target from the config */
	TASK_BUILD,	/* compile a program for a target triple */
	TASK_PACKAGE,	/* put a build's outputs in an archive */
	TASK_PROVISION,	/* make a host ready */
	TASK_UPLOAD,	/* put a package on a host */
	TASK_LAUNCH,	/* start a service; it binds its inputs */
	TASK_WIRE,	/* tell a service where its outputs go */
	TASK_START,	/* let a service run */
	TASK_CLEANUP,	/* undo what a run created */
};

/* the kind's name: "build", "launch"... */
const char *task_kind_name(enum task_kind kind);

enum task_class {
	CLASS_CPU,	/* compiles, hashing: limited to -j */
	CLASS_IO,	/* waiting on a network or a process: a separate, larger limit */
};

enum task_state {
	TASK_WAITING,	/* inputs unfinished */
	TASK_READY,	/* queued */
	TASK_RUNNING,
	TASK_DONE,
	TASK_UPTODATE,	/* skipped: its cache key matched */
	TASK_FAILED,
	TASK_CANCELLED,	/* not started: a dependency failed or the run was cancelled */
};

/* the state's name: "waiting", "done", "up to date"... */
const char *task_state_name(enum task_state state);

struct task;
struct graph;

/* the work of a task: 0 on success, -1 with the error reported */
typedef int task_fn(struct task *t, void *arg);

/* a new empty graph */
struct graph *graph_new(void);
/* free the graph, its tasks and (through free_arg) their arguments */
void graph_free(struct graph *g);
/* add a task; name is copied ("build echo_server (x86_64-unknown-linux-gnu)") */
struct task *graph_add(struct graph *g, enum task_kind kind, const char *name,
                       task_fn *fn, void *arg);
/* free arg with fn when the graph is freed */
void task_set_free(struct task *t, void (*fn)(void *));
/* run t in the given class (CLASS_CPU by default) */
void task_set_class(struct task *t, enum task_class c);
/* t runs only after dep has finished successfully; a TASK_CLEANUP task runs
 * once dep has ended in any way (done, failed, cancelled): a "finally" */
void task_after(struct task *t, struct task *dep);
/* the task's name, kind and state */
const char *task_name(const struct task *t);
enum task_kind task_kind(const struct task *t);
enum task_state task_state(const struct task *t);
/* the task's argument */
void *task_arg(const struct task *t);
/* whether the run is being cancelled: a long task polls this and returns -1;
 * always false in a TASK_CLEANUP task, which must do its work */
int task_cancelled(const struct task *t);
/* the number of tasks */
size_t graph_size(const struct graph *g);
/* find a cycle; -1 with "dependency cycle: a -> b -> a" reported if there is one */
int graph_check(struct graph *g);

/* the i-th task, in the order they were added */
struct task *graph_task(const struct graph *g, size_t i);
/* the number of tasks t runs after, and the i-th of them */
size_t task_ndeps(const struct task *t);
struct task *task_dep(const struct task *t, size_t i);
/* mark t up to date: before a run it is skipped; called by its own function,
 * the run counts it TASK_UPTODATE instead of TASK_DONE */
void task_uptodate(struct task *t);
/* the task's cache key (cache.h), for the keys of its dependents; NULL if unset */
void task_set_key(struct task *t, const struct hash *key);
const struct hash *task_key(const struct task *t);
/* the failed task that kept t from running (t itself if it failed); NULL when
 * t was not run because the run was cancelled */
struct task *task_cause(const struct task *t);
/* the command line the task runs, shown with -v (copied); NULL if none */
void task_set_command(struct task *t, const char *text);
const char *task_command(const struct task *t);
/* seconds the task ran (so far, while it runs) */
double task_elapsed(const struct task *t);
/* how far a running task is, in steps of its own (cargo's crates), for the
 * live display; callable from the task's thread */
void task_set_steps(struct task *t, size_t done, size_t total);
/* what task_set_steps() last said; 0 of 0 when nothing */
void task_steps(const struct task *t, size_t *done, size_t *total);

/* A task's messages (error(), warning(), note() called by its function on the
 * pool thread) are kept with it in an error_log and shown when it ends, so
 * that the lines of tasks running at once do not mix with the progress
 * display. */
/* the messages the task reported, in order */
size_t task_nmsgs(const struct task *t);
const struct error_msg *task_msg(const struct task *t, size_t i);
/* report them (error, warning, note) with the task's name; a failed task
 * that said nothing is reported as "NAME: failed" */
void task_report(const struct task *t);

/* The fields, for the scheduler (sched.c) and the tests; other modules use the
 * functions above. */
struct task {
	char *name;
	char *command;		/* for -v */
	enum task_kind kind;
	enum task_class class;
	enum task_state state;
	task_fn *fn;
	void *arg;
	void (*free_arg)(void *);
	struct graph *graph;
	size_t index;		/* position in the graph */
	struct task **deps;	/* what t runs after */
	size_t ndeps, capdeps;
	struct task **users;	/* what runs after t */
	size_t nusers, capusers;
	size_t pending;		/* unfinished deps, while a run goes on */
	int uptodate;		/* task_uptodate() was called */
	int result;		/* what fn returned */
	int haskey;
	struct hash key;
	struct task *cause;
	struct error_log log;	/* its messages (sched.c keeps them) */
	double start, end;	/* monotonic seconds; 0 until started / ended */
	_Atomic size_t steps_done, steps_total;	/* task_set_steps() */
	struct task *next;	/* in the scheduler's queues */
	unsigned mark;		/* graph_check's colour */
};

struct graph {
	struct task **tasks;
	size_t ntasks, cap;
	struct sched *sched;	/* the run going on, or NULL */
	const int *cancel;	/* set by the scheduler that runs it: nonzero
				 * once that run is cancelled (task_cancelled) */
};

/* monotonic seconds, for task timing */
double graph_now(void);

#endif
