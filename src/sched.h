/*
 * sched: run a task graph, make-style.
 *
 * Each task counts its unfinished dependencies; reaching zero queues it.  The
 * main thread owns every task's state: it starts ready tasks on a pool (pool.h)
 * and waits on one pipe that the pool threads write to when a task ends and
 * that sched_cancel() writes to from a signal handler.  CLASS_CPU tasks run at
 * most `jobs` at once, CLASS_IO tasks (waiting on a machine, a handshake) at
 * most `io_jobs` at once on a pool of their own, so that blocking never holds
 * back a compile and compiles never hold back a wait.
 *
 * A failed task cancels its dependents, each told the root cause; everything
 * else goes on.  sched_cancel() stops starting tasks, running ones see
 * task_cancelled() turn true, and TASK_CLEANUP tasks still run once what they
 * follow has ended.  One run at a time per process.
 */
#ifndef HYDRO_SCHED_H
#define HYDRO_SCHED_H

#include "graph.h"

/* what a progress display is told; called on the thread of sched_run() */
struct sched_events {
	/* the run starts: n tasks, of which skip already up to date */
	void (*begin)(size_t n, size_t skip, void *arg);
	/* t starts on a pool thread */
	void (*start)(struct task *t, void *arg);
	/* t ended (done, up to date, failed, or cancelled with its cause):
	 * the display shows its messages (task_msg()) */
	void (*finish)(struct task *t, void *arg);
	/* nothing happened for a while: redraw the running tasks' times */
	void (*tick)(void *arg);
	/* the run is over; ret as sched_run() returns it */
	void (*end)(int ret, void *arg);
};

struct sched_opts {
	int jobs;		/* CLASS_CPU tasks at once; 0: the number of cores */
	int io_jobs;		/* CLASS_IO tasks at once; 0: SCHED_IO_JOBS */
	int signals;		/* cancel the run on SIGINT and SIGTERM */
	const struct sched_events *events;	/* NULL: failures as plain errors */
	void *events_arg;
	double tick;		/* seconds between tick events; 0: 0.1 */
};

#define SCHED_IO_JOBS 64
#define SCHED_OPTS_INIT { 0, 0, 0, NULL, NULL, 0 }

/* run every task of g not yet up to date, after graph_check(); 0 when every
 * task ended done or up to date, -1 when any failed or the run was cancelled,
 * each failure reported once with the tasks it kept from running */
int sched_run(struct graph *g, const struct sched_opts *o);
/* stop the current run (async-signal-safe): no new task starts, running ones
 * see task_cancelled(), cleanup tasks run */
void sched_cancel(void);
/* whether sched_cancel() was called during the current run */
int sched_cancelling(void);
/* report what a finished run left undone: failures with their messages and
 * the tasks each kept from running (what sched_run does without events) */
void sched_report(struct graph *g);

#endif
