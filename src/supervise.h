/*
 * supervise: the thread that watches a run's services.
 *
 * One thread per run owns every service's streams, in one epoll set: it
 * splits stdout and stderr into log lines (logs.h) and echoes them on the
 * terminal, hands the port protocol's answers (ready:, ack start) to the
 * task waiting for them, reaps a service that exits, says why, and stops
 * the others when one dies that may not.  Stopping a service is "stop" on
 * its control channel, then SIGTERM, then SIGKILL, each stage given its
 * stop_timeout; the thread escalates when a stage's time is up.
 */
#ifndef HYDRO_SUPERVISE_H
#define HYDRO_SUPERVISE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "run_int.h"

/* the epoll data of the wake pipe; a service's descriptors are its index
 * shifted left by two, or'ed with 0 (its exit), 1 (stdout), 2 (stderr) or 3
 * (the control channel) */
#define WATCH_WAKE UINT64_MAX

/* the supervisor's thread (pthread_create with the run) */
void *supervise_main(void *arg);
/* make the supervisor look again (a new deadline, lines to write) */
void supervise_wake(struct run *r);
/* add fd (if not -1) to the supervisor's epoll set under what */
void supervise_watch(struct run *r, int fd, uint64_t what);

/* begin stopping v, unless it is not running or already stopping; locked */
void supervise_stop(struct run *r, struct svc *v);
/* stop every service, or kill them (force); locked */
void supervise_stop_all(struct run *r, int force);
/* whether every launched service has exited; locked */
int supervise_all_exited(struct run *r);

/* the log line callback of a service's stream (a struct svc_stream) */
void supervise_line(const char *line, size_t len, uint64_t time, int read, void *arg);
/* with opt.json, an event {"event": name, "service": v's name, ...o} among
 * the echoed lines (o is taken over; NULL: no more fields) */
void supervise_event(struct run *r, const char *name, struct svc *v, cJSON *o);
/* write the echoed lines gathered so far to hydro's stdout and stderr */
void supervise_flush(struct run *r);
/* show the lines held back (run_hold_echo); out_lock held */
void supervise_release_held(struct run *r);

/* "exited with status 3" or "was killed by SIGTERM (status 143)" into b */
void supervise_describe_status(struct buf *b, int status);
/* the last lines of v's stderr as notes */
void supervise_note_tail(struct svc *v);

#endif
