/*
 * run_int: the state of a run that its modules share: run.c (a run's life,
 * run.h), supervise.c (the thread that watches the services), launch.c
 * (starting a service and its handshakes), lower.c (the deployment as
 * the run's tasks) and participant.c (the config script's own ports).
 * Nothing outside them includes it.
 *
 * r->lock guards the run's and its services' state; r->out_lock hydro's
 * stdout and stderr.
 */
#ifndef HYDRO_RUN_INT_H
#define HYDRO_RUN_INT_H

#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>

#include "backend.h"
#include "buf.h"
#include "glibc.h"
#include "json.h"
#include "logs.h"
#include "ports.h"
#include "run.h"

#define RING_LINES 4096
#define RING_BYTES (1024 * 1024)
#define TAIL_LINES 5

enum stop_stage { STOP_NONE, STOP_SENT, STOP_TERM, STOP_KILL };

/* one end of a service's output, for the line callback */
struct svc_stream {
	struct svc *v;
	int stream;
};

/* the run's state of one service (s->runtime) */
struct svc {
	struct run *run;
	struct service *s;
	struct spawn sp;
	int launched;		/* spawned; the supervisor watches it */
	int exited;
	int status;		/* as the shell gives it */
	int stopping;		/* its exit is expected */
	enum stop_stage stage;
	double deadline;	/* of the stop stage */
	int reported;		/* its unexpected exit was reported */
	int send_fd;		/* where protocol messages go: ctl or stdin */
	int stdio_proto;	/* answers come on stdout (crates) */
	struct buf outline;	/* stdout split here when it carries answers */
	struct buf ctlline;	/* the control channel's partial line */
	const char *expect;	/* the answer a task waits for, or NULL */
	pthread_cond_t answer;	/* its answer (or its exit) came: one waiter, so
				 * that an answer wakes only the task it is for */
	char *reply;		/* that answer, past its prefix */
	cJSON *start_map;	/* made by wire, sent by start */
	int dialect;		/* a crate's (dialect.h): how it is spoken to */
	atomic_int ready_seen;	/* READY_LOG matched */
	regex_t re;
	int have_re;
	struct log_stream *logs[3];
	struct svc_stream ss[3];
	char *prefix[3];	/* "name | " for the terminal, per stream */
	char *record;		/* its state file id */
	char *cwd;		/* where it runs on its host, once spawned */
	char *run_dir;		/* its HYDRO_RUN_DIR on its host: the run's
				 * directory here, host_run_dir() elsewhere */
	int wired, started;
};

/* a package put on a host that is not this machine, by an upload task */
struct upload {
	struct host *h;
	const struct pkg *pkg;
	struct service *s;	/* a service of the host that runs it */
	char *remote;		/* its path on the host, once uploaded */
	char glibc[GLIBC_VERSION_MAX];	/* the host's, asked once by its
					 * provision task; "" for none */
};

struct run {
	struct deployment *d;
	enum run_mode mode;
	struct run_options opt;
	struct options o;	/* the invocation's (cli.h) */
	char *dir, *id;
	char *cgroup;		/* the services' cgroup v2 (cgroup.h), or NULL */
	struct state *state;
	struct plan *plan;
	struct build *build;	/* while deploying: the crates built (build.h) */
	struct svc *svcs;
	struct upload *uploads;	/* at most one per service */
	size_t nuploads;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_mutex_t out_lock;	/* hydro's stdout and stderr */
	int wake[2];
	int ep;			/* the supervisor's epoll: every stream and exit */
	pthread_t sup;
	int sup_running;
	int quit;
	atomic_int cancel;	/* run_cancel() calls */
	int cancel_seen;
	int defer_start;
	int stopping_all;
	int stopping_any;	/* some service is in a stop stage: deadlines */
	int failed;		/* a service died that may not */
	struct service *failed_service;	/* the one the first failed step was about */
	int deployed;		/* every service launched (and started unless
				 * deferred): --keep may leave them */
	int leaving;		/* --keep: the run ends with the services up */
	int ended;		/* run_end(): blocking calls return at once */
	int waiters;		/* threads blocked in run_wait_service() and the
				 * like, which run_finish() lets leave first */
	int deploying;
	int setup;		/* the backends have the run-wide options */
	int width;		/* of the widest service name */
	int color_out, color_err;
	struct buf echo[3];	/* lines for hydro's stdout (1) and stderr (2) */
	int hold;		/* run_hold_echo() calls not yet released */
	struct buf held;	/* the lines held meanwhile (struct held, text) */
};

/* a line held back from the terminal while a script may subscribe */
struct held {
	size_t svc, len;
	int stream;		/* 0: not a line but a JSON event (opt.json) */
	uint64_t time;		/* the line's arrival time */
};

/* held lines beyond this are decided at once: memory stays bounded */
#define HELD_MAX (4 * 1024 * 1024)

/* the monotonic clock, in seconds */
double run_now(void);

#endif
