#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "backend.h"
#include "buf.h"
#include "cli.h"
#include "error.h"
#include "fs.h"
#include "json.h"
#include "logs.h"
#include "ports.h"
#include "sched.h"
#include "state.h"
#include "supervise.h"
#include "xmalloc.h"

void
supervise_wake(struct run *r)
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
void
supervise_watch(struct run *r, int fd, uint64_t what)
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

static double
stop_timeout(struct run *r, struct svc *v)
{
	return v->s->stop_timeout >= 0 ? v->s->stop_timeout : r->opt.stop_timeout;
}

/*
 * Stopping: "stop" (speakers), then SIGTERM, then SIGKILL, each stage given
 * the service's stop_timeout.  Called with the run locked.
 */
void
supervise_stop(struct run *r, struct svc *v)
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
	v->deadline = run_now() + stop_timeout(r, v);
	r->stopping_any = 1;
	supervise_wake(r);
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

void
supervise_stop_all(struct run *r, int force)
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
			supervise_stop(r, v);
		}
		pthread_cond_broadcast(&v->answer);
	}
	pthread_cond_broadcast(&r->cond);
}

void
supervise_flush(struct run *r)
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

/* an event as one line of JSON (a new string): {"event", "service", ...o};
 * o is taken over */
static char *
event_text(const char *name, struct svc *v, cJSON *o)
{
	cJSON *e = cJSON_CreateObject(), *f;
	char *text;

	cJSON_AddStringToObject(e, "event", name);
	cJSON_AddStringToObject(e, "service", v->s->name);
	while (o && (f = o->child)) {
		cJSON_DetachItemViaPointer(o, f);
		cJSON_AddItemToObject(e, f->string, f);
	}
	cJSON_Delete(o);
	text = json_print(e);
	cJSON_Delete(e);
	return text;
}

/* an event among the echoed lines, on stdout; out_lock held */
static void
event_add(struct run *r, const char *text)
{
	buf_addstr(&r->echo[LOG_STDOUT], text);
	buf_addch(&r->echo[LOG_STDOUT], '\n');
}

void
supervise_event(struct run *r, const char *name, struct svc *v, cJSON *o)
{
	char *text;

	if (!r->opt.json || !r->opt.echo) {
		cJSON_Delete(o);
		return;
	}
	text = event_text(name, v, o);
	pthread_mutex_lock(&r->out_lock);
	if (r->hold) {
		/* after the lines held before it */
		struct held h;

		memset(&h, 0, sizeof(h));
		h.svc = v->s->index;
		h.len = strlen(text);
		buf_add(&r->held, (const char *)&h, sizeof(h));
		buf_add(&r->held, text, h.len);
	} else {
		event_add(r, text);
	}
	pthread_mutex_unlock(&r->out_lock);
	free(text);
	supervise_wake(r);	/* the supervisor writes it */
}

/* "name | line" into b; called with out_lock held */
static void
echo_add(struct run *r, struct svc *v, int stream, const char *line, size_t len,
         uint64_t time)
{
	struct buf *b = &r->echo[stream];

	if (r->opt.json) {
		cJSON *o = cJSON_CreateObject();
		char t[LOG_TIME_SIZE], *copy = xstrndup(line, len), *text;

		logs_format_time(time, t);
		cJSON_AddStringToObject(o, "stream", stream == LOG_STDERR ? "stderr" : "stdout");
		cJSON_AddStringToObject(o, "time", t);
		cJSON_AddStringToObject(o, "line", copy);
		free(copy);
		text = event_text("log", v, o);
		event_add(r, text);
		free(text);
		return;
	}
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
	if (r->opt.timestamps) {
		char t[LOG_TIME_SIZE];

		logs_format_time(time, t);
		buf_addstr(b, t);
		buf_addch(b, ' ');
	}
	buf_add(b, line, len);
	buf_addch(b, '\n');
}

/* the held lines go to the terminal, but for the streams a subscriber
 * reads now (they have them from their first line); out_lock held */
void
supervise_release_held(struct run *r)
{
	size_t off = 0;

	while (off < r->held.len) {
		struct held h;
		struct svc *v;

		memcpy(&h, r->held.data + off, sizeof(h));
		off += sizeof(h);
		v = &r->svcs[h.svc];
		if (!h.stream) {
			char *text = xstrndup(r->held.data + off, h.len);

			event_add(r, text);
			free(text);
		} else if (!v->logs[h.stream] || !log_stream_subscribed(v->logs[h.stream]))
			echo_add(r, v, h.stream, r->held.data + off, h.len, h.time);
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
		supervise_release_held(r);
	pthread_mutex_unlock(&r->out_lock);
	supervise_wake(r);	/* the supervisor writes them */
}

/* terminal output of one line, "name | line", gathered per stream and
 * written once per round of the supervisor (supervise_flush); held while a
 * script may be about to subscribe to the stream (run_hold_echo) */
static void
echo_line(struct svc *v, int stream, const char *line, size_t len, uint64_t time)
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
		h.time = time;
		buf_add(&r->held, (const char *)&h, sizeof(h));
		buf_add(&r->held, line, len);
		if (r->held.len > HELD_MAX)
			supervise_release_held(r);
	} else {
		echo_add(r, v, stream, line, len, time);
	}
	full = r->echo[stream].len >= 65536;
	pthread_mutex_unlock(&r->out_lock);
	if (full)
		supervise_flush(r);
}

void
supervise_line(const char *line, size_t len, uint64_t time, int read, void *arg)
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
		echo_line(v, ss->stream, line, len, time);
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

static void close_stream(struct run *r, struct svc *v, int which);

/* a service that wrote a line longer than any answer on its control
 * channel: a failure of the run, reported once; its channel is closed (a
 * write past it gets EPIPE) and it is stopped with the others */
static void
control_overflow(struct run *r, struct svc *v)
{
	pthread_mutex_lock(&r->lock);
	if (!v->reported) {
		v->reported = 1;
		r->failed = 1;
		error("service '%s' wrote more than %d KiB without a newline on its "
		      "control channel (fd 3), which carries only short protocol lines; "
		      "stopping it", v->s->name, LOG_LINE_MAX / 1024);
		if (!r->stopping_all && r->d->nservices > 1)
			note("stopping the other services");
		supervise_stop_all(r, 0);
		if (r->deploying)
			sched_cancel();
	}
	pthread_mutex_unlock(&r->lock);
	buf_release(&v->ctlline);
	close_stream(r, v, 3);
}

static void
feed_control(struct run *r, struct svc *v, const char *data, size_t n)
{
	const char *p = data, *end = data + n, *nl;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if ((size_t)((nl ? nl : end) - p) + v->ctlline.len > LOG_LINE_MAX) {
			control_overflow(r, v);
			return;
		}
		if (!nl) {
			buf_add(&v->ctlline, p, (size_t)(end - p));
			return;
		}
		buf_add(&v->ctlline, p, (size_t)(nl - p));
		if (!take_answer(r, v, buf_str(&v->ctlline), v->ctlline.len) && r->o.verbose)
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

void
supervise_describe_status(struct buf *b, int status)
{
	if (status > 128 && status < 128 + 65 && signal_name(status - 128))
		buf_printf(b, "was killed by %s (status %d)", signal_name(status - 128), status);
	else
		buf_printf(b, "exited with status %d", status);
}

/* the last stderr lines as notes */
void
supervise_note_tail(struct svc *v)
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

	supervise_flush(r);	/* its last lines before what is said about it */
	{
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "status", status);
		if (status > 128 && status < 128 + 65 && signal_name(status - 128))
			cJSON_AddStringToObject(o, "signal", signal_name(status - 128));
		supervise_event(r, "exit", v, o);
	}
	pthread_mutex_lock(&r->lock);
	v->exited = 1;
	v->status = status;
	if (!v->stopping && (!v->expect || v->reply) && !v->s->can_die && status != 0) {
		/* a handshake still waiting reports it itself; one that has its
		 * answer succeeds, so the exit is this one's to report */
		v->reported = 1;
		r->failed = 1;
		supervise_describe_status(&msg, status);
		/* at the line that declared it (the config file, for JSON) */
		error("%s: service '%s' %s", v->s->where, v->s->name, buf_str(&msg));
		supervise_note_tail(v);
		if (!r->stopping_all && r->d->nservices > 1)
			note("stopping the other services");
		supervise_stop_all(r, 0);
		if (r->deploying)
			sched_cancel();
	} else if (!v->stopping && v->s->can_die && status != 0) {
		supervise_describe_status(&msg, status);
		note("service '%s' %s; it may (can_die), the others go on", v->s->name,
		     buf_str(&msg));
	} else if (r->o.verbose) {
		supervise_describe_status(&msg, status);
		note("service '%s' %s", v->s->name, buf_str(&msg));
	}
	pthread_cond_broadcast(&v->answer);
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	buf_release(&msg);
}

int
supervise_all_exited(struct run *r)
{
	size_t i;

	for (i = 0; i < r->d->nservices; i++)
		if (r->svcs[i].launched && !r->svcs[i].exited)
			return 0;
	return 1;
}

/* The supervisor: one epoll over every service's streams and exit. */
void *
supervise_main(void *arg)
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
				supervise_stop_all(r, c > 1);
			pthread_cond_broadcast(&r->cond);
		}
		if (r->quit && (supervise_all_exited(r) || r->leaving)) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		t = run_now();
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
		supervise_flush(r);
	}
	supervise_flush(r);
	return NULL;
}

