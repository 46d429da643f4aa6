/*
 * run: one deployment, running.
 *
 * A run lowers a deployment's services to tasks (provision -> launch -> wire
 * -> start: lower.h, launch.h), runs them with the scheduler, then
 * supervises the services until they have all exited or the run is
 * cancelled.  One supervisor thread per run owns every service's streams
 * (supervise.h): it splits stdout and stderr into log lines (logs.h), hands
 * the port protocol's answers (ready:, ack start) to the task waiting for
 * them, notices exits, and stops the others when a service dies that may
 * not.
 *
 * Every run_* call is thread-safe against the others and against the
 * supervisor, so that a config script may drive a run from worker threads;
 * the blocking calls are meant for such threads.  run_cancel() alone is also
 * async-signal-safe (Ctrl-C).
 *
 * Everything a run creates lives in .hydro/runs/<id>/ beside the config
 * (logs/, sockets/) and is recorded in the state file before it is created.
 */
#ifndef HYDRO_RUN_H
#define HYDRO_RUN_H

#include <stdio.h>

#include "cli.h"
#include "deploy.h"

struct run;

/* settings of a run; run_new() fills them from the defaults, its options
 * and the environment (HYDRO_READY_TIMEOUT, HYDRO_START_TIMEOUT, in
 * seconds) */
struct run_options {
	double ready_timeout;	/* launch: seconds to wait for "ready:" (60) */
	double start_timeout;	/* start: seconds to wait for "ack start" (60) */
	double stop_timeout;	/* default when a service sets none: "stop" to
				 * SIGTERM, and SIGTERM to SIGKILL (5) */
	int echo;		/* print service logs on hydro's stdout/stderr (1) */
	int prefix;		/* prefix them with "service | " (log_prefix) */
	int timestamps;		/* and with each line's arrival time
				 * (timestamps, logs_format_time()) */
	int json;		/* instead, events as JSON lines on stdout: a
				 * service launched, a log line, an exit
				 * (json; docs/guide.md) */
	int keep;		/* keep: once every service is up, the end of
				 * the run (run_finish, or an interrupt of
				 * run_wait) leaves them running, recorded in the
				 * state file for hydro down; a run that failed
				 * before is stopped as ever */
};

/* a new run of d (which must outlive it) in .hydro/runs/<id>/ beside the
 * config, with the invocation's options o (NULL: the defaults); NULL with
 * the error reported if the run directory cannot be made */
struct run *run_new(struct deployment *d, enum run_mode mode, const struct options *o);
/* a later round of first, deploying d (hosts, services and connections
 * declared after first was deployed) beside it: its own directory, plan
 * and supervisor, first's state file, cgroup and options; finish it before
 * first.  NULL with the error reported */
struct run *run_new_round(struct run *first, struct deployment *d);
/* the run's settings, to change before run_deploy() */
struct run_options *run_options(struct run *r);
/* the run's directory (absolute) and id */
const char *run_dir(const struct run *r);
const char *run_id(const struct run *r);

/* provision, launch, wire, and start (unless run_defer_start()) every
 * service; -1 with the first failure reported, the rest left running until
 * run_finish() (a cancelled run also returns -1) */
int run_deploy(struct run *r);
/* make run_deploy() stop after wire; run_start() starts */
void run_defer_start(struct run *r);
/* send start to every wired service and wait for each to acknowledge */
int run_start(struct run *r);
/* supervise until every service has exited or the run was cancelled; 0 if
 * every service that may not die ended with status 0 or by our own stop */
int run_wait(struct run *r);

/* stop a service: "stop" on its control channel, SIGTERM after its
 * stop_timeout, SIGKILL after another; returns when it has exited */
int run_stop_service(struct run *r, struct service *s);
/* wait for a service to exit; *status as the shell gives it (128+n for a
 * signal n); -1 if it was never launched, or if the run ended (run_end)
 * with it still running (--keep) */
int run_wait_service(struct run *r, struct service *s, int *status);
/* stop every service on h, then release the machine (backend terminate) */
int run_terminate_host(struct run *r, struct host *h);

/* hold the services' lines back from the terminal until the matching
 * run_release_echo(), which shows them, but for the streams a subscriber
 * (logs_open) reads by then: a script that opens a service's stdout just
 * after deploy() gets its first lines once, not also on the terminal */
void run_hold_echo(struct run *r);
void run_release_echo(struct run *r);

/* cancel the run: stop everything cleanly; a second call forces (SIGKILL).
 * Thread-safe and async-signal-safe */
void run_cancel(struct run *r);
/* whether the run was cancelled */
int run_cancelled(const struct run *r);

/* end the run without freeing it: stop every service (unless kept:
 * run_options()->keep) and stop supervising; every thread blocked in
 * run_wait_service(), run_stop_service(), run_wait() or
 * run_terminate_host() returns (the final status, or -1: "the run
 * finished"), and later calls return at once.  run_finish() does it first */
void run_end(struct run *r);
/* stop every service (unless kept: run_options()->keep), remove what the
 * run created, wait for the blocked callers to leave (run_end), free the
 * run; call it
 * once run_deploy() and run_start() have returned (run_cancel() first makes
 * them return soon); the status of the run (0 or -1) */
int run_finish(struct run *r);
/* whether a service died that was not allowed to (not can_die) or a step of
 * the run failed on its own, as opposed to being cancelled */
int run_failed(const struct run *r);
/* the service the first failed step of run_deploy() or run_start() was
 * about, or NULL */
struct service *run_failed_service(struct run *r);
/* whether the run ends leaving its services up (--keep), valid after
 * run_wait() */
int run_leaving(const struct run *r);

/* every backend lets go of the hosts of d (their connections close), all
 * at once: what run_finish() does, and what a command that reached hosts
 * without a run (plan or build, reading their target triples) does last */
void run_disconnect(struct deployment *d);

/* make the "process" records of the state file known, so that hydro down
 * can remove what a crashed run left (run_deploy() does it too) */
void run_register_state_kinds(void);

#endif
