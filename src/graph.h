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
/* t runs only after dep has finished successfully */
void task_after(struct task *t, struct task *dep);
/* the task's name, kind and state */
const char *task_name(const struct task *t);
enum task_kind task_kind(const struct task *t);
enum task_state task_state(const struct task *t);
/* the task's argument */
void *task_arg(const struct task *t);
/* whether the run is being cancelled: a long task polls this and returns -1 */
int task_cancelled(const struct task *t);
/* the number of tasks */
size_t graph_size(const struct graph *g);
/* find a cycle; -1 with "dependency cycle: a -> b -> a" reported if there is one */
int graph_check(struct graph *g);

#endif
