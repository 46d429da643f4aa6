#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "buf.h"
#include "build.h"
#include "error.h"
#include "fs.h"
#include "graph.h"
#include "json.h"
#include "logs.h"
#include "ports.h"
#include "proc.h"
#include "run.h"
#include "sched.h"
#include "state.h"
#include "str.h"
#include "term.h"
#include "xmalloc.h"

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
	atomic_int ready_seen;	/* READY_LOG matched */
	regex_t re;
	int have_re;
	struct log_stream *logs[3];
	struct svc_stream ss[3];
	char *prefix[3];	/* "name | " for the terminal, per stream */
	char *record;		/* its state file id */
	int wired, started;
};

struct run {
	struct deployment *d;
	enum run_mode mode;
	struct run_options opt;
	char *dir, *id;
	struct state *state;
	struct plan *plan;
	struct build *build;	/* while deploying: the crates built (build.h) */
	struct svc *svcs;
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
	int width;		/* of the widest service name */
	int color_out, color_err;
	struct buf echo[3];	/* lines for hydro's stdout (1) and stderr (2) */
	int hold;		/* run_hold_echo() calls not yet released */
	struct buf held;	/* the lines held meanwhile (struct held, text) */
};

/* a line held back from the terminal while a script may subscribe */
struct held {
	size_t svc, len;
	int stream;
};

/* held lines beyond this are decided at once: memory stays bounded */
#define HELD_MAX (4 * 1024 * 1024)

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
wake(struct run *r)
{
	ssize_t unused = write(r->wake[1], "w", 1);
	(void)unused;
}

/*
 * The supervisor's descriptors are in one epoll set, added when a service
 * is spawned and removed before they are closed: a wake costs what is
 * ready, not what is open.  The data is the service's index and which of
 * its descriptors (0 the exit, then stdout, stderr, the control channel).
 */
#define WATCH_WAKE UINT64_MAX

static void
watch(struct run *r, int fd, uint64_t what)
{
	struct epoll_event ev;

	if (fd < 0)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = what;
	if (epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		fatal("cannot watch a service's output: %s", strerror(errno));
}

static void
unwatch(struct run *r, int fd)
{
	if (fd >= 0)
		epoll_ctl(r->ep, EPOLL_CTL_DEL, fd, NULL);
}

static void echo_flush(struct run *r);

static double
stop_timeout(struct run *r, struct svc *v)
{
	return v->s->stop_timeout >= 0 ? v->s->stop_timeout : r->opt.stop_timeout;
}

/*
 * Stopping: "stop" (speakers), then SIGTERM, then SIGKILL, each stage given
 * the service's stop_timeout.  Called with the run locked.
 */
static void
stop_begin(struct run *r, struct svc *v)
{
	if (!v->launched || v->exited || v->stage != STOP_NONE)
		return;
	v->stopping = 1;
	/* "stop" is part of the protocol only once the service has started */
	if (service_speaks(v->s) && v->started && v->send_fd >= 0 &&
	    write_in_full(v->send_fd, "stop\n", 5) == 0) {
		v->stage = STOP_SENT;
	} else {
		host_signal(v->s->host, &v->sp, SIGTERM);
		v->stage = STOP_TERM;
	}
	v->deadline = now() + stop_timeout(r, v);
	r->stopping_any = 1;
	wake(r);
}

static void
stop_escalate(struct run *r, struct svc *v, double t)
{
	if (!v->launched || v->exited || v->stage == STOP_NONE || t < v->deadline)
		return;
	if (v->stage == STOP_SENT) {
		host_signal(v->s->host, &v->sp, SIGTERM);
		v->stage = STOP_TERM;
		v->deadline = t + stop_timeout(r, v);
	} else if (v->stage == STOP_TERM) {
		host_signal(v->s->host, &v->sp, SIGKILL);
		v->stage = STOP_KILL;
		v->deadline = INFINITY;
	}
}

static void
stop_all(struct run *r, int force)
{
	size_t i;

	r->stopping_all = 1;
	for (i = 0; i < r->d->nservices; i++) {
		struct svc *v = &r->svcs[i];
		if (!v->launched || v->exited)
			continue;
		if (force) {
			v->stopping = 1;
			host_signal(v->s->host, &v->sp, SIGKILL);
			v->stage = STOP_KILL;
			v->deadline = INFINITY;
			r->stopping_any = 1;
		} else {
			stop_begin(r, v);
		}
		pthread_cond_broadcast(&v->answer);
	}
	pthread_cond_broadcast(&r->cond);
}

static void
echo_flush(struct run *r)
{
	int k;

	pthread_mutex_lock(&r->out_lock);
	fflush(stdout);
	fflush(stderr);
	for (k = LOG_STDOUT; k <= LOG_STDERR; k++) {
		if (r->echo[k].len && write_in_full(k, r->echo[k].data, r->echo[k].len) < 0)
			r->opt.echo = 0;	/* a closed terminal: keep the files going */
		buf_reset(&r->echo[k]);
	}
	pthread_mutex_unlock(&r->out_lock);
}

/* "name | line" into b; called with out_lock held */
static void
echo_add(struct run *r, struct svc *v, int stream, const char *line, size_t len)
{
	struct buf *b = &r->echo[stream];

	if (r->opt.prefix) {
		if (!v->prefix[stream]) {
			int color = stream == LOG_STDERR ? r->color_err : r->color_out;
			v->prefix[stream] = color ?
				xasprintf("%s%-*s |\033[0m ", logs_color(v->s->name), r->width,
				          v->s->name) :
				xasprintf("%-*s | ", r->width, v->s->name);
		}
		buf_addstr(b, v->prefix[stream]);
	}
	buf_add(b, line, len);
	buf_addch(b, '\n');
}

/* the held lines go to the terminal, but for the streams a subscriber
 * reads now (they have them from their first line); out_lock held */
static void
release_held(struct run *r)
{
	size_t off = 0;

	while (off < r->held.len) {
		struct held h;
		struct svc *v;

		memcpy(&h, r->held.data + off, sizeof(h));
		off += sizeof(h);
		v = &r->svcs[h.svc];
		if (!v->logs[h.stream] || !log_stream_subscribed(v->logs[h.stream]))
			echo_add(r, v, h.stream, r->held.data + off, h.len);
		off += h.len;
	}
	buf_reset(&r->held);
}

void
run_hold_echo(struct run *r)
{
	pthread_mutex_lock(&r->out_lock);
	r->hold++;
	pthread_mutex_unlock(&r->out_lock);
}

void
run_release_echo(struct run *r)
{
	pthread_mutex_lock(&r->out_lock);
	if (r->hold > 0 && --r->hold == 0)
		release_held(r);
	pthread_mutex_unlock(&r->out_lock);
	wake(r);	/* the supervisor writes them */
}

/* terminal output of one line, "name | line", gathered per stream and
 * written once per round of the supervisor (echo_flush); held while a
 * script may be about to subscribe to the stream (run_hold_echo) */
static void
echo_line(struct svc *v, int stream, const char *line, size_t len)
{
	struct run *r = v->run;
	int full;

	pthread_mutex_lock(&r->out_lock);
	if (r->hold) {
		struct held h;

		memset(&h, 0, sizeof(h));
		h.svc = v->s->index;
		h.stream = stream;
		h.len = len;
		buf_add(&r->held, (const char *)&h, sizeof(h));
		buf_add(&r->held, line, len);
		if (r->held.len > HELD_MAX)
			release_held(r);
	} else {
		echo_add(r, v, stream, line, len);
	}
	full = r->echo[stream].len >= 65536;
	pthread_mutex_unlock(&r->out_lock);
	if (full)
		echo_flush(r);
}

static void
on_line(const char *line, size_t len, int read, void *arg)
{
	struct svc_stream *ss = arg;
	struct svc *v = ss->v;

	if (v->have_re && !atomic_load(&v->ready_seen)) {
		char *copy = xstrndup(line, len);
		if (regexec(&v->re, copy, 0, NULL, 0) == 0) {
			pthread_mutex_lock(&v->run->lock);
			atomic_store(&v->ready_seen, 1);
			pthread_cond_broadcast(&v->run->cond);
			pthread_mutex_unlock(&v->run->lock);
		}
		free(copy);
	}
	/* a line the script reads is the script's to print (Hydro Deploy's
	 * stdout()): the terminal shows only the streams nobody reads */
	if (v->run->opt.echo && !read)
		echo_line(v, ss->stream, line, len);
}

/* an answer line (on the control channel, or stdout of a crate): the
 * waiting task's if it has the expected prefix; 1 if taken */
static int
take_answer(struct run *r, struct svc *v, const char *line, size_t len)
{
	size_t n;
	int taken = 0;

	pthread_mutex_lock(&r->lock);
	if (v->expect && !v->reply) {
		n = strlen(v->expect);
		if (len >= n && !memcmp(line, v->expect, n)) {
			v->reply = xstrndup(line + n, len - n);
			pthread_cond_broadcast(&v->answer);
			taken = 1;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return taken;
}

/* stdout of a service that answers on stdout: answers out, logs on */
static void
feed_stdout_proto(struct run *r, struct svc *v, const char *data, size_t n)
{
	const char *p = data, *end = data + n, *nl;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			buf_add(&v->outline, p, (size_t)(end - p));
			if (v->outline.len > LOG_LINE_MAX) {
				log_stream_feed(v->logs[LOG_STDOUT], v->outline.data, v->outline.len);
				buf_reset(&v->outline);
			}
			return;
		}
		buf_add(&v->outline, p, (size_t)(nl - p));
		if (!take_answer(r, v, v->outline.data ? v->outline.data : "", v->outline.len)) {
			buf_addch(&v->outline, '\n');
			log_stream_feed(v->logs[LOG_STDOUT], v->outline.data, v->outline.len);
		}
		buf_reset(&v->outline);
		p = nl + 1;
	}
}

static void
feed_control(struct run *r, struct svc *v, const char *data, size_t n)
{
	const char *p = data, *end = data + n, *nl;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			buf_add(&v->ctlline, p, (size_t)(end - p));
			return;
		}
		buf_add(&v->ctlline, p, (size_t)(nl - p));
		if (!take_answer(r, v, buf_str(&v->ctlline), v->ctlline.len) && cli && cli->verbose)
			note("service '%s' said on its control channel: %s", v->s->name,
			     buf_str(&v->ctlline));
		buf_reset(&v->ctlline);
		p = nl + 1;
	}
}

/* the end of a stream: flush its last line, tell its readers */
static void
close_stream(struct run *r, struct svc *v, int which)
{
	int *fd = which == LOG_STDOUT ? &v->sp.out : which == LOG_STDERR ? &v->sp.err : &v->sp.ctl;

	if (*fd < 0)
		return;
	if (which == 3) {
		/* a task may be writing to it */
		pthread_mutex_lock(&r->lock);
		if (v->send_fd == *fd)
			v->send_fd = -1;
		unwatch(r, *fd);
		close(*fd);
		*fd = -1;
		pthread_mutex_unlock(&r->lock);
		return;
	}
	unwatch(r, *fd);
	close(*fd);
	*fd = -1;
	if (which == LOG_STDOUT && v->outline.len) {
		log_stream_feed(v->logs[LOG_STDOUT], v->outline.data, v->outline.len);
		buf_reset(&v->outline);
	}
	log_stream_close(v->logs[which]);
}

/* read what is there; 0 at the end of the stream */
static int
drain(struct run *r, struct svc *v, int which)
{
	char chunk[65536];
	int *fd = which == LOG_STDOUT ? &v->sp.out : which == LOG_STDERR ? &v->sp.err : &v->sp.ctl;
	ssize_t n;
	int rounds = 0;

	if (*fd < 0)
		return 0;
	while (rounds++ < 16) {
		n = read(*fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 1;
		if (n <= 0) {
			close_stream(r, v, which);
			return 0;
		}
		if (which == 3)
			feed_control(r, v, chunk, (size_t)n);
		else if (which == LOG_STDOUT && v->stdio_proto)
			feed_stdout_proto(r, v, chunk, (size_t)n);
		else
			log_stream_feed(v->logs[which], chunk, (size_t)n);
		if ((size_t)n < sizeof(chunk))
			return 1;
	}
	return 1;
}

static const char *
signal_name(int sig)
{
	static const struct { int sig; const char *name; } names[] = {
		{ SIGHUP, "SIGHUP" }, { SIGINT, "SIGINT" }, { SIGQUIT, "SIGQUIT" },
		{ SIGILL, "SIGILL" }, { SIGTRAP, "SIGTRAP" }, { SIGABRT, "SIGABRT" },
		{ SIGBUS, "SIGBUS" }, { SIGFPE, "SIGFPE" }, { SIGKILL, "SIGKILL" },
		{ SIGUSR1, "SIGUSR1" }, { SIGSEGV, "SIGSEGV" }, { SIGUSR2, "SIGUSR2" },
		{ SIGPIPE, "SIGPIPE" }, { SIGALRM, "SIGALRM" }, { SIGTERM, "SIGTERM" },
		{ SIGCHLD, "SIGCHLD" }, { SIGCONT, "SIGCONT" }, { SIGSTOP, "SIGSTOP" },
		{ SIGTSTP, "SIGTSTP" }, { SIGTTIN, "SIGTTIN" }, { SIGTTOU, "SIGTTOU" },
		{ SIGURG, "SIGURG" }, { SIGXCPU, "SIGXCPU" }, { SIGXFSZ, "SIGXFSZ" },
		{ SIGVTALRM, "SIGVTALRM" }, { SIGPROF, "SIGPROF" }, { SIGWINCH, "SIGWINCH" },
		{ SIGIO, "SIGIO" }, { SIGPWR, "SIGPWR" }, { SIGSYS, "SIGSYS" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].sig == sig)
			return names[i].name;
	return NULL;
}

static void
describe_status(struct buf *b, int status)
{
	if (status > 128 && status < 128 + 65 && signal_name(status - 128))
		buf_printf(b, "was killed by %s (status %d)", signal_name(status - 128), status);
	else
		buf_printf(b, "exited with status %d", status);
}

/* the last stderr lines as notes */
static void
note_tail(struct svc *v)
{
	char *tail, *line, *save = NULL;

	if (!v->logs[LOG_STDERR])
		return;
	tail = log_stream_tail(v->logs[LOG_STDERR], TAIL_LINES);
	if (*tail)
		note("last lines of its stderr:");
	for (line = strtok_r(tail, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		note("  %s", line);
	free(tail);
}

/* the process has exited: collect it and everything it printed */
static void
reap(struct run *r, struct svc *v)
{
	struct buf msg = BUF_INIT;
	int status = 255;

	/* the leader is a zombie until waited for: its group id is still ours */
	host_signal(v->s->host, &v->sp, SIGKILL);
	if (host_wait(v->s->host, &v->sp, &status) < 0)
		status = 255;
	unwatch(r, v->sp.exit_fd);
	close(v->sp.exit_fd);
	v->sp.exit_fd = -1;
	/* take what is in the pipes (the group is dead: nobody writes more) */
	for (int k = 1; k <= 3; k++) {
		drain(r, v, k);
		close_stream(r, v, k);
	}
	if (r->state && v->record)
		state_remove(r->state, "process", v->record);

	echo_flush(r);	/* its last lines before what is said about it */
	pthread_mutex_lock(&r->lock);
	v->exited = 1;
	v->status = status;
	if (!v->stopping && (!v->expect || v->reply) && !v->s->can_die && status != 0) {
		/* a handshake still waiting reports it itself; one that has its
		 * answer succeeds, so the exit is this one's to report */
		v->reported = 1;
		r->failed = 1;
		describe_status(&msg, status);
		error("service '%s' %s", v->s->name, buf_str(&msg));
		note_tail(v);
		if (!r->stopping_all && r->d->nservices > 1)
			note("stopping the other services");
		stop_all(r, 0);
		if (r->deploying)
			sched_cancel();
	} else if (!v->stopping && v->s->can_die && status != 0) {
		describe_status(&msg, status);
		note("service '%s' %s; it may (can_die), the others go on", v->s->name,
		     buf_str(&msg));
	} else if (cli && cli->verbose) {
		describe_status(&msg, status);
		note("service '%s' %s", v->s->name, buf_str(&msg));
	}
	pthread_cond_broadcast(&v->answer);
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	buf_release(&msg);
}

static int
all_exited(struct run *r)
{
	size_t i;

	for (i = 0; i < r->d->nservices; i++)
		if (r->svcs[i].launched && !r->svcs[i].exited)
			return 0;
	return 1;
}

/* The supervisor: one epoll over every service's streams and exit. */
static void *
supervise(void *arg)
{
	struct run *r = arg;
	struct epoll_event ev[64];
	sigset_t all;
	int n, i;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	for (;;) {
		double t, next = INFINITY;
		int timeout, c;
		size_t k;

		pthread_mutex_lock(&r->lock);
		c = atomic_load(&r->cancel);
		if (c > r->cancel_seen) {
			r->cancel_seen = c;
			/* --keep: an interrupt once everything is up ends the run,
			 * not the services; before that it stops them as ever */
			if (r->opt.keep && r->deployed && !r->failed)
				r->leaving = 1;
			else
				stop_all(r, c > 1);
			pthread_cond_broadcast(&r->cond);
		}
		if (r->quit && (all_exited(r) || r->leaving)) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		t = now();
		if (r->stopping_any) {
			for (k = 0; k < r->d->nservices; k++) {
				struct svc *v = &r->svcs[k];

				if (!v->launched || v->exited)
					continue;
				stop_escalate(r, v, t);
				if (v->stage != STOP_NONE && v->deadline < next)
					next = v->deadline;
			}
		}
		pthread_mutex_unlock(&r->lock);

		timeout = next == INFINITY ? -1 : (int)ceil((next - t) * 1000) + 1;
		n = epoll_wait(r->ep, ev, (int)(sizeof(ev) / sizeof(ev[0])), timeout);
		if (n < 0 && errno != EINTR)
			break;
		/* streams first, then exits, so that the last lines come before */
		for (i = 0; i < n; i++) {
			uint64_t what = ev[i].data.u64;

			if (what == WATCH_WAKE) {
				char b[64];
				while (read(r->wake[0], b, sizeof(b)) > 0)
					;
			} else if (what & 3) {
				drain(r, &r->svcs[what >> 2], (int)(what & 3));
			}
		}
		for (i = 0; i < n; i++) {
			uint64_t what = ev[i].data.u64;

			if (what != WATCH_WAKE && !(what & 3) && r->svcs[what >> 2].sp.exit_fd >= 0)
				reap(r, &r->svcs[what >> 2]);
		}
		echo_flush(r);
	}
	echo_flush(r);
	return NULL;
}

static double
env_seconds(const char *name, double def)
{
	const char *v = getenv(name);
	char *end;
	double d;

	if (!v || !*v)
		return def;
	d = strtod(v, &end);
	if (*end || d <= 0) {
		warning("%s='%s' is not a number of seconds; using %g", name, v, def);
		return def;
	}
	return d;
}

struct run *
run_new(struct deployment *d, enum run_mode mode)
{
	static atomic_int seq;
	struct run *r = xcalloc(1, sizeof(*r));
	char stamp[32], *logs;
	struct tm tm;
	time_t t = time(NULL);
	size_t i;

	r->d = d;
	r->mode = mode;
	r->opt.ready_timeout = env_seconds("HYDRO_READY_TIMEOUT", 60);
	r->opt.start_timeout = env_seconds("HYDRO_START_TIMEOUT", 60);
	r->opt.stop_timeout = 10;
	r->opt.echo = 1;
	r->opt.prefix = cli ? cli->log_prefix : 1;
	r->opt.keep = cli ? cli->keep : 0;
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	r->id = xasprintf("%s-%ld-%d", stamp, (long)getpid(), atomic_fetch_add(&seq, 1));
	r->dir = xasprintf("%s/.hydro/runs/%s", d->dir, r->id);
	logs = xasprintf("%s/logs", r->dir);
	if (mkdir_p(logs, 0755) < 0) {
		free(logs);
		free(r->dir);
		free(r->id);
		free(r);
		return NULL;
	}
	free(logs);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	pthread_mutex_init(&r->out_lock, NULL);
	if (pipe(r->wake) < 0)
		fatal("cannot make a pipe: %s", strerror(errno));
	for (i = 0; i < 2; i++) {
		fcntl(r->wake[i], F_SETFD, FD_CLOEXEC);
		fcntl(r->wake[i], F_SETFL, O_NONBLOCK);
	}
	r->ep = epoll_create1(EPOLL_CLOEXEC);
	if (r->ep < 0)
		fatal("cannot make an epoll instance: %s", strerror(errno));
	watch(r, r->wake[0], WATCH_WAKE);
	r->svcs = xcalloc(d->nservices ? d->nservices : 1, sizeof(*r->svcs));
	for (i = 0; i < d->nservices; i++) {
		struct svc *v = &r->svcs[i];
		struct spawn init = SPAWN_INIT;
		int w = (int)strlen(d->services[i]->name);

		d->services[i]->index = i;
		v->run = r;
		v->s = d->services[i];
		v->sp = init;
		v->send_fd = -1;
		buf_init(&v->outline, 0);
		buf_init(&v->ctlline, 0);
		pthread_cond_init(&v->answer, NULL);
		d->services[i]->runtime = v;
		if (w > r->width)
			r->width = w;
	}
	r->color_out = term_color(STDOUT_FILENO);
	r->color_err = term_color(STDERR_FILENO);
	if (pthread_create(&r->sup, NULL, supervise, r) != 0)
		fatal("cannot start the supervisor thread");
	r->sup_running = 1;
	return r;
}

struct run_options *
run_options(struct run *r)
{
	return &r->opt;
}

const char *
run_dir(const struct run *r)
{
	return r->dir;
}

const char *
run_id(const struct run *r)
{
	return r->id;
}

void
run_defer_start(struct run *r)
{
	r->defer_start = 1;
}

void
run_cancel(struct run *r)
{
	atomic_fetch_add(&r->cancel, 1);
	sched_cancel();
	wake(r);
}

int
run_failed(const struct run *r)
{
	struct run *m = (struct run *)r;
	int failed;

	pthread_mutex_lock(&m->lock);
	failed = m->failed;
	pthread_mutex_unlock(&m->lock);
	return failed;
}

int
run_cancelled(const struct run *r)
{
	return atomic_load(&((struct run *)r)->cancel) > 0;
}

/* the command a service runs, a new NULL-terminated list */
static char **
service_argv(struct run *r, struct service *s)
{
	char **argv = NULL, *exe = NULL;
	size_t n = 0, cap = 0, i;

	if (s->nstandin) {
		for (i = 0; i < s->nstandin; i++) {
			ALLOC_GROW(argv, n, cap);
			argv[n++] = xstrdup(s->standin[i]);
		}
	} else if (s->kind == SERVICE_PROCESS) {
		for (i = 0; i < s->argc; i++) {
			ALLOC_GROW(argv, n, cap);
			argv[n++] = xstrdup(s->argv[i]);
		}
	} else if (s->kind == SERVICE_CRATE) {
		/* the program its build task made (build.h) */
		const char *built = build_crate_exe(r->build, s);

		if (!built) {
			error("service '%s': its crate '%s' was not built", s->name, s->src);
			return NULL;
		}
		exe = xstrdup(built);
		ALLOC_GROW(argv, n, cap);
		argv[n++] = exe;
	} else {
		error("service '%s': running compiled .hf programs is not supported by this "
		      "run path yet; give 'standin', a command that speaks the port protocol",
		      s->name);
		return NULL;
	}
	if (s->kind != SERVICE_PROCESS) {
		for (i = 0; i < s->argc; i++) {
			ALLOC_GROW(argv, n, cap);
			argv[n++] = xstrdup(s->argv[i]);
		}
	}
	ALLOC_GROW(argv, n, cap);
	argv[n] = NULL;
	(void)r;
	return argv;
}

static void
set_nonblock(int fd)
{
	if (fd >= 0)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* what a service's processes get on top of hydro's environment: its env,
 * its ports (port_env, or NULL), its name and the run's directory */
static char **
service_env(struct run *r, struct service *s, char **port_env)
{
	char **env = NULL;
	size_t n = 0, cap = 0, i;

	for (i = 0; i < s->nenv; i++) {
		ALLOC_GROW(env, n, cap);
		env[n++] = xasprintf("%s=%s", s->env[i].key, s->env[i].value);
	}
	for (i = 0; port_env && port_env[i]; i++) {
		ALLOC_GROW(env, n, cap);
		env[n++] = xstrdup(port_env[i]);
	}
	ALLOC_GROW(env, n, cap);
	env[n++] = xasprintf("HYDRO_SERVICE=%s", s->name);
	ALLOC_GROW(env, n, cap);
	env[n++] = xasprintf("HYDRO_RUN_DIR=%s", r->dir);
	ALLOC_GROW(env, n, cap);
	env[n] = NULL;
	return env;
}

/* spawn the service, record it, hand it to the supervisor */
static int
spawn_service(struct run *r, struct svc *v, char **port_env)
{
	struct service *s = v->s;
	char **argv, **env, *path;
	cJSON *rec;
	int ret, k;

	argv = service_argv(r, s);
	if (!argv)
		return -1;
	env = service_env(r, s, port_env);

	for (k = LOG_STDOUT; k <= LOG_STDERR; k++) {
		path = xasprintf("%s/logs/%s.%s", r->dir, s->name, k == LOG_STDOUT ? "out" : "err");
		v->logs[k] = log_stream_new(path, RING_LINES, RING_BYTES);
		free(path);
		v->ss[k].v = v;
		v->ss[k].stream = k;
		log_stream_on_line(v->logs[k], on_line, &v->ss[k]);
		logs_attach(s, k, v->logs[k]);
	}
	if (s->ready.kind == READY_LOG) {
		if (regcomp(&v->re, s->ready.arg, REG_EXTENDED | REG_NOSUB) != 0) {
			str_free_list(argv);
			str_free_list(env);
			return error("service '%s': bad ready log pattern '%s'", s->name,
			             s->ready.arg);
		}
		v->have_re = 1;
	}

	v->sp.argv = argv;
	v->sp.env = env;
	v->sp.cwd = s->cwd ? s->cwd : r->d->dir;
	v->sp.want_stdin = s->kind == SERVICE_CRATE ||
	                   (service_speaks(s) && !(host_caps(s->host) & BACKEND_CONTROL));
	v->sp.want_control = service_has_control(s);
	v->sp.keep = r->opt.keep;
	v->record = xasprintf("%s/%s", r->id, s->name);
	if (r->state) {
		rec = cJSON_CreateObject();
		cJSON_AddStringToObject(rec, "run", r->id);
		cJSON_AddStringToObject(rec, "service", s->name);
		cJSON_AddStringToObject(rec, "host", s->host->name);
		cJSON_AddStringToObject(rec, "backend", s->host->backend ? s->host->backend : "local");
		cJSON_AddStringToObject(rec, "command", argv[0]);
		if (state_add(r->state, "process", v->record, rec) < 0) {
			str_free_list(argv);
			str_free_list(env);
			return -1;
		}
	}
	ret = host_spawn(s->host, &v->sp);
	v->sp.argv = NULL;
	v->sp.env = NULL;
	str_free_list(argv);
	str_free_list(env);
	if (ret < 0) {
		if (r->state)
			state_remove(r->state, "process", v->record);
		return -1;
	}
	if (r->state) {
		rec = cJSON_CreateObject();
		cJSON_AddNumberToObject(rec, "pid", (double)v->sp.pid);
		cJSON_AddNumberToObject(rec, "pgid", (double)v->sp.pgid);
		cJSON_AddNumberToObject(rec, "ident", (double)v->sp.ident);
		state_update(r->state, "process", v->record, rec);
	}
	set_nonblock(v->sp.out);
	set_nonblock(v->sp.err);
	set_nonblock(v->sp.ctl);
	if (cli && cli->verbose)
		note("launched '%s' (pid %ld)", s->name, v->sp.pid);

	pthread_mutex_lock(&r->lock);
	v->stdio_proto = service_speaks(s) && v->sp.ctl < 0;
	v->send_fd = v->sp.ctl >= 0 ? v->sp.ctl : v->sp.in;
	v->launched = 1;
	watch(r, v->sp.exit_fd, (uint64_t)s->index << 2);
	watch(r, v->sp.out, (uint64_t)s->index << 2 | LOG_STDOUT);
	watch(r, v->sp.err, (uint64_t)s->index << 2 | LOG_STDERR);
	watch(r, v->sp.ctl, (uint64_t)s->index << 2 | 3);
	if (r->stopping_all)
		stop_begin(r, v);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static int
task_stop(struct task *t, struct run *r)
{
	return (t && task_cancelled(t)) || atomic_load(&r->cancel) > 0;
}

/* why a task waiting on a service gives up: nobody may have pressed
 * Ctrl-C, another service may have failed */
static const char *
stop_cause(const struct run *r)
{
	return r->failed ? "stopped, as another service failed," : "interrupted";
}

/* send msg (if any), then wait for a line starting with expect; *reply is
 * what follows it */
static int
handshake(struct run *r, struct svc *v, struct task *t, const char *msg,
          const char *expect, double timeout, char **reply)
{
	struct buf why = BUF_INIT;
	double deadline = now() + timeout;
	int ret = 0, cancelled = 0, unsent;

	*reply = NULL;
	pthread_mutex_lock(&r->lock);
	free(v->reply);
	v->reply = NULL;
	v->expect = expect;
	/* a service that cannot be written to is ending: what it ended with
	 * (its status, its stderr) says more than the write's error */
	unsent = msg && (v->send_fd < 0 || write_in_full(v->send_fd, msg, strlen(msg)) < 0);
	if (unsent && deadline > now() + 5)
		deadline = now() + 5;
	while ((unsent || !v->reply) && !v->exited) {
		struct timespec ts;
		double wait_until = now() + 0.1;

		if (task_stop(t, r)) {
			ret = error("service '%s': %s while waiting for '%s'", v->s->name,
			            stop_cause(r),
			            !strcmp(expect, "ready: ") ? "ready:" : expect);
			cancelled = 1;
			break;
		}
		if (now() >= deadline && unsent) {
			ret = error("cannot send the handshake to service '%s'", v->s->name);
			break;
		}
		if (now() >= deadline) {
			int ready = !strcmp(expect, "ready: ");
			ret = error("service '%s' did not answer '%s' within %g s "
			            "(HYDRO_%s_TIMEOUT sets the limit)", v->s->name,
			            ready ? "ready:" : expect, timeout,
			            ready ? "READY" : "START");
			break;
		}
		if (wait_until > deadline)
			wait_until = deadline;
		clock_gettime(CLOCK_REALTIME, &ts);
		{
			double d = wait_until - now();
			long ns = ts.tv_nsec + (long)(d * 1e9);
			ts.tv_sec += ns / 1000000000L;
			ts.tv_nsec = ns % 1000000000L;
		}
		pthread_cond_timedwait(&v->answer, &r->lock, &ts);
	}
	if ((unsent || !v->reply) && v->exited && ret == 0) {
		describe_status(&why, v->status);
		ret = error("service '%s' %s during the handshake, before answering '%s'",
		            v->s->name, buf_str(&why), expect);
	}
	if (ret == 0) {
		*reply = v->reply;
		v->reply = NULL;
	}
	v->expect = NULL;
	if (ret < 0 && !v->exited && !cancelled)
		r->failed = 1;
	pthread_mutex_unlock(&r->lock);
	if (ret < 0 && !cancelled) {
		/* the supervisor may still be draining the last stderr lines */
		if (v->exited || v->launched)
			note_tail(v);
	}
	buf_release(&why);
	return ret;
}

/* READY_PORT: whether addr accepts a connection */
static int
try_connect(const char *addr)
{
	struct sockaddr_un sun;
	struct addrinfo hints, *ai = NULL;
	char *host, *colon;
	int fd, ok = 0;

	if (str_starts(addr, "unix:")) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", addr + 5);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ok = fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
		if (fd >= 0)
			close(fd);
		return ok;
	}
	host = xstrdup(addr);
	colon = strrchr(host, ':');
	if (!colon) {
		free(host);
		return 0;
	}
	*colon = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host[0] == '[' ? host + 1 : host, colon + 1, &hints, &ai) == 0 && ai) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ok = fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
	}
	free(host);
	return ok;
}

/*
 * READY_COMMAND: run the check once, in the service's directory with its
 * environment and ports, in a group of its own that dies with hydro, cut at
 * the deadline or when the run stops.  Its exit status (0: ready), or -1
 * with the error reported.
 */
static int
ready_command(struct run *r, struct svc *v, struct task *t, double deadline)
{
	struct service *s = v->s;
	struct proc p = PROC_INIT;
	char **env, **ports;
	int st = -1, ret;

	pthread_mutex_lock(&r->lock);
	ports = plan_env(r->plan, s);
	pthread_mutex_unlock(&r->lock);
	env = service_env(r, s, ports);
	str_free_list(ports);
	p.argv = s->ready.argv;
	p.env = env;
	p.dir = s->cwd ? s->cwd : r->d->dir;
	p.in = p.out = p.err = PROC_NULL;
	p.flags = PROC_PGROUP | PROC_PDEATHSIG;
	ret = proc_start(&p);
	str_free_list(env);
	if (ret < 0)
		return error("service '%s': cannot run its readiness check", s->name);
	for (;;) {
		struct pollfd pfd = { .fd = p.pidfd, .events = POLLIN };

		if ((ret = proc_poll(&p, &st)) != 0)
			break;
		if (task_stop(t, r) || now() >= deadline || v->exited) {
			proc_signal(&p, SIGKILL);
			proc_finish(&p);
			return 1;	/* not ready: the caller says why */
		}
		if (p.pidfd < 0 || poll(&pfd, 1, 50) < 0)
			usleep(10000);
	}
	proc_close(&p);
	return ret < 0 ? -1 : st;
}

/* wait until the service is ready as it declared */
static int
await_ready(struct run *r, struct svc *v, struct task *t)
{
	struct service *s = v->s;
	double deadline = now() + r->opt.ready_timeout;
	const char *addr = NULL;
	int st;

	if (s->ready.kind == READY_NONE)
		return 0;
	if (s->ready.kind == READY_PORT) {
		pthread_mutex_lock(&r->lock);
		for (size_t i = 0; i < s->nports; i++)
			if (!strcmp(s->ports[i]->name, s->ready.arg))
				addr = plan_address(r->plan, s->ports[i]);
		pthread_mutex_unlock(&r->lock);
		if (!addr)
			return error("service '%s': port '%s' has no address to check",
			             s->name, s->ready.arg);
	}
	for (;;) {
		int ready = 0;

		switch (s->ready.kind) {
		case READY_PORT:
			ready = try_connect(addr);
			break;
		case READY_LOG:
			ready = atomic_load(&v->ready_seen);
			break;
		case READY_COMMAND:
			st = ready_command(r, v, t, deadline);
			if (st < 0)
				return -1;
			ready = st == 0;
			break;
		case READY_NONE:
			ready = 1;
			break;
		}
		if (ready)
			return 0;
		if (v->exited) {
			struct buf why = BUF_INIT;
			describe_status(&why, v->status);
			error("service '%s' %s before it was ready", s->name, buf_str(&why));
			buf_release(&why);
			note_tail(v);
			return -1;
		}
		if (task_stop(t, r))
			return error("service '%s': %s while waiting for it to be ready", s->name,
			             stop_cause(r));
		if (now() >= deadline)
			return error("service '%s' was not ready within %g s "
			             "(HYDRO_READY_TIMEOUT sets the limit)", s->name,
			             r->opt.ready_timeout);
		if (s->ready.kind == READY_LOG) {
			struct timespec ts;
			pthread_mutex_lock(&r->lock);
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			if (!atomic_load(&v->ready_seen) && !v->exited)
				pthread_cond_timedwait(&r->cond, &r->lock, &ts);
			pthread_mutex_unlock(&r->lock);
		} else {
			usleep(50000);
		}
	}
}

/* the tasks */

struct task_arg {
	struct run *r;
	struct svc *v;
	struct host *h;
	task_fn *fn;
};

/* a step of the run; the service of the first to fail is kept, so that a
 * binding can name the line that declared it */
static int
run_step(struct task *t, void *arg)
{
	struct task_arg *a = arg;
	int ret = a->fn(t, a);

	if (ret < 0 && a->v && !task_cancelled(t)) {
		pthread_mutex_lock(&a->r->lock);
		if (!a->r->failed_service)
			a->r->failed_service = a->v->s;
		pthread_mutex_unlock(&a->r->lock);
	}
	return ret;
}

struct service *
run_failed_service(struct run *r)
{
	struct service *s;

	pthread_mutex_lock(&r->lock);
	s = r->failed_service;
	pthread_mutex_unlock(&r->lock);
	return s;
}

static int
do_provision(struct task *t, void *arg)
{
	struct task_arg *a = arg;

	(void)t;
	return host_provision(a->h);
}

static int
do_launch(struct task *t, void *arg)
{
	struct task_arg *a = arg;
	struct run *r = a->r;
	struct svc *v = a->v;
	struct service *s = v->s;
	char **env = NULL, *line, *reply = NULL;
	cJSON *ic;
	int ret;

	if (task_stop(t, r))
		return -1;
	if (!service_speaks(s)) {
		pthread_mutex_lock(&r->lock);
		env = plan_env(r->plan, s);
		pthread_mutex_unlock(&r->lock);
		if (!env)
			return -1;
		ret = spawn_service(r, v, env);
		str_free_list(env);
		if (ret < 0)
			return -1;
		if (await_ready(r, v, t) < 0)
			return -1;
		pthread_mutex_lock(&r->lock);
		v->wired = v->started = 1;
		pthread_mutex_unlock(&r->lock);
		return 0;
	}
	if (spawn_service(r, v, NULL) < 0)
		return -1;
	pthread_mutex_lock(&r->lock);
	ic = plan_init_config(r->plan, s);
	pthread_mutex_unlock(&r->lock);
	{
		char *text = json_print(ic);
		line = xasprintf("%s\n", text);
		free(text);
	}
	cJSON_Delete(ic);
	ret = handshake(r, v, t, line, "ready: ", r->opt.ready_timeout, &reply);
	free(line);
	if (ret < 0)
		return -1;
	pthread_mutex_lock(&r->lock);
	ret = plan_ready(r->plan, s, reply);
	pthread_mutex_unlock(&r->lock);
	free(reply);
	return ret;
}

static int
do_wire(struct task *t, void *arg)
{
	struct task_arg *a = arg;
	struct run *r = a->r;
	struct svc *v = a->v;
	cJSON *map;

	if (task_stop(t, r))
		return -1;
	pthread_mutex_lock(&r->lock);
	map = plan_start_map(r->plan, v->s);
	if (map) {
		cJSON_Delete(v->start_map);
		v->start_map = map;
		v->wired = 1;
	}
	pthread_mutex_unlock(&r->lock);
	return map ? 0 : -1;
}

static int
do_start(struct task *t, void *arg)
{
	struct task_arg *a = arg;
	struct run *r = a->r;
	struct svc *v = a->v;
	char *text, *line, *reply = NULL;
	int ret;

	if (task_stop(t, r))
		return -1;
	pthread_mutex_lock(&r->lock);
	text = json_print(v->start_map);
	pthread_mutex_unlock(&r->lock);
	line = xasprintf("start: %s\n", text);
	free(text);
	ret = handshake(r, v, t, line, "ack start", r->opt.start_timeout, &reply);
	free(line);
	free(reply);
	if (ret < 0)
		return -1;
	if (await_ready(r, v, t) < 0)
		return -1;
	pthread_mutex_lock(&r->lock);
	v->started = 1;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static struct task *
add_task(struct graph *g, enum task_kind kind, task_fn *fn, struct run *r,
         struct svc *v, struct host *h)
{
	struct task_arg *a = xcalloc(1, sizeof(*a));
	char *name;
	struct task *t;

	a->r = r;
	a->v = v;
	a->h = h;
	a->fn = fn;
	name = xasprintf("%s %s", task_kind_name(kind), v ? v->s->name : h->name);
	t = graph_add(g, kind, name, run_step, a);
	free(name);
	task_set_free(t, free);
	task_set_class(t, CLASS_IO);
	return t;
}

static int
run_graph(struct run *r, struct graph *g)
{
	struct sched_opts o = SCHED_OPTS_INIT;
	int ret;

	o.jobs = cli_jobs();
	o.io_jobs = SCHED_IO_JOBS;
	if (graph_check(g) < 0)
		return -1;
	r->deploying = 1;
	ret = sched_run(g, &o);
	r->deploying = 0;
	return ret;
}

/*
 * Start tasks: a speaker starts once it is wired (its wire task, when wire
 * is given, or already, when the start was deferred), and after any of its
 * receivers that declares readiness.  Deploying without a deferred start
 * puts them in the deploy graph itself, so that a service starts as soon as
 * its own receivers are bound rather than after every launch.
 */
static void
add_start_tasks(struct run *r, struct graph *g, struct task **wire)
{
	struct deployment *d = r->d;
	struct task **start = xcalloc(d->nservices + 1, sizeof(*start));
	struct service **rcv;
	size_t i, j, n;

	for (i = 0; i < d->nservices; i++) {
		if (!service_speaks(d->services[i]))
			continue;
		if (wire ? !wire[i] : !r->svcs[i].wired || r->svcs[i].started)
			continue;
		start[i] = add_task(g, TASK_START, do_start, r, &r->svcs[i], NULL);
		if (wire)
			task_after(start[i], wire[i]);
	}
	for (i = 0; i < d->nservices; i++) {
		if (!start[i])
			continue;
		n = plan_receivers(r->plan, d->services[i], &rcv);
		for (j = 0; j < n; j++)
			if (start[rcv[j]->index] && rcv[j]->ready.kind != READY_NONE)
				task_after(start[i], start[rcv[j]->index]);
		free(rcv);
	}
	free(start);
}

/* lower the targets and services to target, provision -> launch -> wire
 * (-> start) tasks */
static void
deploy_graph_of(struct run *r, struct build *b, struct graph *g)
{
	struct deployment *d = r->d;
	struct task **prov = xcalloc(d->nhosts + 1, sizeof(*prov));
	struct task **launch = xcalloc(d->nservices + 1, sizeof(*launch));
	struct task **wire = xcalloc(d->nservices + 1, sizeof(*wire));
	struct service **rcv;
	size_t i, j, n;

	for (i = 0; i < d->nhosts; i++) {
		d->hosts[i]->index = i;
		prov[i] = add_task(g, TASK_PROVISION, do_provision, r, NULL, d->hosts[i]);
	}
	for (i = 0; i < d->nservices; i++) {
		struct svc *v = &r->svcs[i];
		launch[i] = add_task(g, TASK_LAUNCH, do_launch, r, v, NULL);
		task_after(launch[i], prov[v->s->host->index]);
		for (j = 0; j < v->s->nneeds; j++) {
			struct target *tg = deploy_find_target(d, v->s->needs[j]);
			struct task *tt = tg ? build_task(b, tg) : NULL;
			if (tt)
				task_after(launch[i], tt);
		}
		if (build_crate_task(b, v->s))
			task_after(launch[i], build_crate_task(b, v->s));
		if (service_speaks(v->s))
			wire[i] = add_task(g, TASK_WIRE, do_wire, r, v, NULL);
	}
	for (i = 0; i < d->nservices; i++) {
		struct service *s = d->services[i];
		n = plan_receivers(r->plan, s, &rcv);
		for (j = 0; j < n; j++) {
			size_t k = rcv[j]->index;
			if (wire[i]) {
				task_after(wire[i], launch[k]);
			} else if (service_speaks(rcv[j]) || rcv[j]->ready.kind != READY_NONE) {
				/* a process needs the address (or readiness) at spawn */
				task_after(launch[i], launch[k]);
			}
		}
		if (wire[i])
			task_after(wire[i], launch[i]);
		free(rcv);
	}
	if (!r->defer_start)
		add_start_tasks(r, g, wire);
	free(prov);
	free(launch);
	free(wire);
}

static int
state_process_cleanup(const char *kind, const char *id, const cJSON *details)
{
	const char *b = json_str(details, "backend");
	const struct backend *be = backend_find(b ? b : "local");

	(void)kind;
	if (!be)
		return error("process '%s': unknown backend '%s'", id, b);
	return be->cleanup ? be->cleanup(details) : 0;
}

static char *
state_process_describe(const char *kind, const char *id, const cJSON *details)
{
	long pid = 0;

	(void)kind;
	json_long(details, "pid", &pid);
	return xasprintf("process %ld (service %s, %s)", pid, id,
	                 json_str(details, "command") ? json_str(details, "command") : "?");
}

static const struct state_kind process_kind = {
	"process", state_process_cleanup, 0, state_process_describe,
};

void
run_register_state_kinds(void)
{
	state_register(&process_kind);
	build_register_state();
}

int
run_deploy(struct run *r)
{
	struct build *b;
	struct graph *g;
	size_t i;
	int ret;

	if (deploy_validate(r->d) < 0)
		return -1;
	for (i = 0; i < r->d->nhosts; i++) {
		const struct backend *be;
		if (host_backend(r->d->hosts[i], &be) < 0)
			return -1;
	}
	pthread_mutex_lock(&r->lock);
	if (!r->plan)
		r->plan = plan_new(r->d);
	ret = r->plan ? 0 : -1;
	pthread_mutex_unlock(&r->lock);
	if (ret < 0)
		return -1;
	/* processes get their input addresses before anything starts */
	for (i = 0; i < r->d->nservices; i++)
		if (!service_speaks(r->d->services[i]) &&
		    plan_bind_process(r->plan, r->d->services[i]) < 0)
			return -1;
	if (!r->state) {
		run_register_state_kinds();
		r->state = state_open(r->d->dir);
		if (!r->state)
			return -1;
	}
	/* the targets services need are made first, make-style */
	b = build_open(r->d, r->state);
	g = graph_new();
	ret = build_add_targets(b, g) < 0 || build_add_crates(b, g) < 0 ? -1 : 0;
	if (ret == 0) {
		deploy_graph_of(r, b, g);
		r->build = b;
		ret = run_graph(r, g);
		r->build = NULL;
	}
	if (build_close(b) < 0)
		ret = -1;
	graph_free(g);
	if (ret < 0 || run_cancelled(r))
		return -1;
	pthread_mutex_lock(&r->lock);
	r->deployed = !r->failed;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

int
run_start(struct run *r)
{
	struct graph *g;
	int ret;

	if (!r->plan)
		return error("the run was not deployed: call deploy() first");
	g = graph_new();
	add_start_tasks(r, g, NULL);
	ret = run_graph(r, g);
	graph_free(g);
	ret = ret < 0 || run_cancelled(r) ? -1 : 0;
	pthread_mutex_lock(&r->lock);
	r->deployed = ret == 0 && !r->failed;
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/* a blocked call leaves; called locked */
static void
wait_done(struct run *r)
{
	if (--r->waiters == 0 && r->ended)
		pthread_cond_broadcast(&r->cond);
}

/* what a call on a service that outlived the run's end says; locked */
static int
error_ended(struct run *r, struct svc *v)
{
	if (r->leaving)
		return error("service '%s': the run finished and left it running (--keep)",
		             v->s->name);
	return error("service '%s': the run finished", v->s->name);
}

int
run_wait(struct run *r)
{
	int ret;

	pthread_mutex_lock(&r->lock);
	r->waiters++;
	while (!all_exited(r) && !r->leaving && !r->ended)
		pthread_cond_wait(&r->cond, &r->lock);
	ret = r->failed || (atomic_load(&r->cancel) > 0 && !r->leaving) ? -1 : 0;
	wait_done(r);
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int
run_stop_service(struct run *r, struct service *s)
{
	struct svc *v = s->runtime;
	int ret;

	if (!v || v->run != r)
		return error("service '%s' is not part of this run", s->name);
	pthread_mutex_lock(&r->lock);
	if (!r->ended)
		stop_begin(r, v);
	r->waiters++;
	while (v->launched && !v->exited && !r->ended)
		pthread_cond_wait(&r->cond, &r->lock);
	wait_done(r);
	ret = v->launched && !v->exited ? error_ended(r, v) : 0;
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int
run_wait_service(struct run *r, struct service *s, int *status)
{
	struct svc *v = s->runtime;
	int ret;

	if (!v || v->run != r)
		return error("service '%s' is not part of this run", s->name);
	pthread_mutex_lock(&r->lock);
	if (!v->launched) {
		pthread_mutex_unlock(&r->lock);
		return error("service '%s' was never launched", s->name);
	}
	r->waiters++;
	while (!v->exited && !r->ended)
		pthread_cond_wait(&r->cond, &r->lock);
	wait_done(r);
	if (v->exited) {
		*status = v->status;
		ret = 0;
	} else {
		ret = error_ended(r, v);
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int
run_terminate_host(struct run *r, struct host *h)
{
	size_t i;

	pthread_mutex_lock(&r->lock);
	if (r->ended) {
		pthread_mutex_unlock(&r->lock);
		return error("host '%s': the run finished", h->name);
	}
	for (i = 0; i < r->d->nservices; i++)
		if (r->svcs[i].s->host == h)
			stop_begin(r, &r->svcs[i]);
	r->waiters++;
	for (i = 0; i < r->d->nservices && !r->ended; i++)
		while (r->svcs[i].s->host == h && r->svcs[i].launched && !r->svcs[i].exited &&
		       !r->ended)
			pthread_cond_wait(&r->cond, &r->lock);
	wait_done(r);
	pthread_mutex_unlock(&r->lock);
	return host_terminate(h);
}

/*
 * --keep: the services outlive hydro.  Their records stay in the state file
 * for `hydro down`; their output, which nobody reads once hydro is gone
 * (and a closed pipe would kill them with SIGPIPE at their next line), goes
 * on into their log files through a process of its own (proc_drain), which
 * also holds their stdin and control channel open: a speaker may take the
 * end of those for "stop".
 */
static int
leave_running(struct run *r)
{
	int *from = NULL, *to = NULL, *hold = NULL;
	size_t n = 0, cap = 0, capto = 0, nh = 0, caph = 0, i, j;
	int k, ret;

	for (i = 0; i < r->d->nservices; i++) {
		struct svc *v = &r->svcs[i];
		int fds[3] = { -1, v->sp.out, v->sp.err };

		if (!v->launched || v->exited)
			continue;
		note("left '%s' running (pid %ld); 'hydro down' in '%s' stops it",
		     v->s->name, v->sp.pid, r->d->dir);
		for (k = LOG_STDOUT; k <= LOG_STDERR; k++) {
			char *path;
			int fd;

			if (fds[k] < 0)
				continue;
			path = xasprintf("%s/logs/%s.%s", r->dir, v->s->name,
			                 k == LOG_STDOUT ? "out" : "err");
			fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
			free(path);
			if (fd < 0)
				continue;	/* left unread: its pipe fills, it blocks */
			ALLOC_GROW(from, n, cap);
			ALLOC_GROW(to, n, capto);
			from[n] = fds[k];
			to[n++] = fd;
		}
		for (k = 0; k < 2; k++) {
			int fd = k == 0 ? v->sp.in : v->sp.ctl;
			if (fd < 0)
				continue;
			ALLOC_GROW(hold, nh, caph);
			hold[nh++] = fd;
		}
	}
	ret = n ? proc_drain(from, to, n, hold, nh) : 0;
	for (j = 0; j < n; j++)
		close(to[j]);
	free(from);
	free(to);
	free(hold);
	return ret;
}

void
run_end(struct run *r)
{
	pthread_mutex_lock(&r->lock);
	if (r->ended) {
		pthread_mutex_unlock(&r->lock);
		return;
	}
	/* --keep leaves a run that came up whole; one that failed before is
	 * stopped as ever */
	if (r->opt.keep && r->deployed && !r->failed)
		r->leaving = 1;
	else
		stop_all(r, 0);
	r->quit = 1;
	pthread_mutex_unlock(&r->lock);
	wake(r);
	if (r->sup_running)
		pthread_join(r->sup, NULL);
	r->sup_running = 0;
	/* whoever still waits gets the final status, or hears the run ended */
	pthread_mutex_lock(&r->lock);
	r->ended = 1;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

int
run_finish(struct run *r)
{
	size_t i;
	int ret, k, leaving;

	if (!r)
		return -1;
	run_end(r);
	pthread_mutex_lock(&r->lock);
	while (r->waiters > 0)
		pthread_cond_wait(&r->cond, &r->lock);
	leaving = r->leaving;
	pthread_mutex_unlock(&r->lock);
	ret = r->failed || (atomic_load(&r->cancel) > 0 && !leaving) ? -1 : 0;
	pthread_mutex_lock(&r->out_lock);
	r->hold = 0;
	release_held(r);
	pthread_mutex_unlock(&r->out_lock);
	for (i = 0; i < r->d->nservices; i++) {
		struct svc *v = &r->svcs[i];

		for (k = LOG_STDOUT; k <= LOG_STDERR; k++)
			if (v->logs[k])
				log_stream_close(v->logs[k]);
	}
	echo_flush(r);
	if (leaving && leave_running(r) < 0)
		ret = -1;
	for (i = 0; i < r->d->nservices; i++) {
		struct svc *v = &r->svcs[i];

		if (v->launched)
			host_release(v->s->host, &v->sp);
		for (k = LOG_STDOUT; k <= LOG_STDERR; k++) {
			if (!v->logs[k])
				continue;
			logs_attach(v->s, k, NULL);
			log_stream_free(v->logs[k]);
		}
		if (v->have_re)
			regfree(&v->re);
		buf_release(&v->outline);
		buf_release(&v->ctlline);
		pthread_cond_destroy(&v->answer);
		free(v->prefix[LOG_STDOUT]);
		free(v->prefix[LOG_STDERR]);
		free(v->reply);
		free(v->record);
		cJSON_Delete(v->start_map);
		v->s->runtime = NULL;
	}
	for (i = 0; i < r->d->nhosts && !leaving; i++)
		if (host_caps(r->d->hosts[i]) & BACKEND_MACHINES)
			host_terminate(r->d->hosts[i]);
	if (r->state) {
		/* a run that failed or was stopped says what it leaves behind */
		if (ret < 0 && !leaving) {
			size_t left = state_count(r->state);

			if (left)
				note("%zu record%s of what runs created %s left in %s; "
				     "'hydro down' removes %s", left, left == 1 ? "" : "s",
				     left == 1 ? "is" : "are", state_dir(r->state),
				     left == 1 ? "it" : "them");
			else
				note("nothing is left running: every service was stopped");
		}
		state_close(r->state);
	}
	plan_free(r->plan);
	close(r->wake[0]);
	close(r->wake[1]);
	close(r->ep);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->out_lock);
	buf_release(&r->echo[LOG_STDOUT]);
	buf_release(&r->echo[LOG_STDERR]);
	buf_release(&r->held);
	free(r->svcs);
	free(r->dir);
	free(r->id);
	free(r);
	fflush(stdout);
	return ret;
}

static void
print_argv(FILE *out, char **argv, size_t n)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		if (i)
			buf_addch(&b, ' ');
		str_shell_quote(&b, argv[i]);
	}
	fputs(buf_str(&b), out);
	buf_release(&b);
}

int
run_plan(struct deployment *d, FILE *out)
{
	struct plan *p;
	size_t i;

	if (deploy_validate(d) < 0)
		return -1;
	p = plan_new(d);
	if (!p)
		return -1;
	for (i = 0; i < d->nservices; i++) {
		struct service *s = d->services[i];
		const struct backend *b;

		if (host_backend(s->host, &b) < 0) {
			plan_free(p);
			return -1;
		}
		fprintf(out, "launch %s on %s (%s, %s): ", s->name, s->host->name, b->name,
		        s->kind == SERVICE_PROCESS ? "process" :
		        service_has_control(s) ? "control channel" : "stdin/stdout protocol");
		if (s->nstandin)
			print_argv(out, s->standin, s->nstandin);
		else if (s->kind == SERVICE_PROCESS)
			print_argv(out, s->argv, s->argc);
		else
			fputs(s->src ? s->src : "?", out);
		if (s->kind != SERVICE_PROCESS && s->argc) {
			fputc(' ', out);
			print_argv(out, s->argv, s->argc);
		}
		fputc('\n', out);
		for (size_t j = 0; j < s->nports; j++) {
			const struct port *pt = s->ports[j];

			fprintf(out, "         %s %s%s%s\n",
			        pt->dir == PORT_INPUT ? "input " : "output", pt->name,
			        pt->type ? ": " : "", pt->type ? pt->type : "");
		}
	}
	plan_print(p, out);
	plan_free(p);
	return 0;
}

int
run_show_plan(struct deployment *d, int json)
{
	if (json)
		return build_plan(d, 1);
	printf("deployment %s: %zu host%s, %zu service%s, %zu connection%s, %zu target%s\n",
	       d->config, d->nhosts, d->nhosts == 1 ? "" : "s",
	       d->nservices, d->nservices == 1 ? "" : "s",
	       d->nconns, d->nconns == 1 ? "" : "s",
	       d->ntargets, d->ntargets == 1 ? "" : "s");
	fflush(stdout);
	if (run_plan(d, stdout) < 0 || build_plan(d, 0) < 0)
		return -1;
	return 0;
}

/* hydro run FILE.json */

static struct run *signal_run;

static void
on_signal(int sig)
{
	(void)sig;
	if (signal_run)
		run_cancel(signal_run);
}

int
run_file(const char *path)
{
	struct sigaction sa, old_int, old_term, old_hup;
	struct deployment *d;
	struct run *r;
	int ret, interrupted;

	d = deploy_load(path);
	if (!d)
		return -1;
	r = run_new(d, MODE_RUN);
	if (!r) {
		deployment_free(d);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* the handler only flags and wakes: no thread's read or write is cut */
	sa.sa_flags = SA_RESTART;
	signal_run = r;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	/* a closed terminal or a dropped ssh session stops the run as cleanly */
	sigaction(SIGHUP, &sa, &old_hup);
	ret = run_deploy(r);
	if (ret == 0)
		ret = run_wait(r);
	interrupted = run_cancelled(r) && !r->failed && !r->leaving;
	if (interrupted)
		note("interrupted: stopping every service");
	if (run_finish(r) < 0)
		ret = -1;
	/* as a shell reports a command ended by Ctrl-C */
	if (interrupted)
		ret = 130;
	signal_run = NULL;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	deployment_free(d);
	return ret;
}
