/*
 * launch: starting a run's services, as the tasks of its graph.
 *
 * A service is spawned on its host with its command (its own, its
 * standin's, or the program its crate's build made), its environment and
 * its ports' addresses, recorded in the state file before it exists, and
 * handed to the supervisor (supervise.h).  A service that speaks the port
 * protocol is then given its init config and answers "ready:" with its
 * bound ports (launch), is told where its outputs go (wire), and is sent
 * "start" and answers "ack start" (start); a plain process gets its
 * addresses at spawn.  Readiness (a port that accepts, a log line, a
 * command that succeeds) is awaited after launch or start.
 */
#ifndef HYDRO_LAUNCH_H
#define HYDRO_LAUNCH_H

#include "graph.h"
#include "run_int.h"

/* what a launch task works on: the run and a service (v), a host (h), or
 * a package to upload (u) */
struct launch_arg {
	struct run *r;
	struct svc *v;
	struct host *h;
	struct upload *u;
	task_fn *fn;		/* the step, run by lower.c's wrapper */
};

/* task: provision the host a->h, then choose the ports of the processes
 * on it, all asked of the host at once (plan_bind_process) */
int launch_provision(struct task *t, void *arg);
/* task: check that a->u's host can run its program (glibc), then put the
 * package on the host (host_put_file) */
int launch_upload(struct task *t, void *arg);
/* task: spawn the service a->v, hand it its config and wait for "ready:"
 * (a speaker) or for its readiness (a process) */
int launch_service(struct task *t, void *arg);
/* task: work out where a->v's outputs go (the start message) */
int launch_wire(struct task *t, void *arg);
/* task: send a->v "start", wait for "ack start" and its readiness */
int launch_start(struct task *t, void *arg);

#endif
