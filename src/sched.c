#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "graph.h"
#include "pool.h"
#include "sched.h"
#include "xmalloc.h"

/* Shared with signal handlers and pool threads, hence atomics.  wake_wr is
 * the write end of the running scheduler's pipe, or -1; wake_users counts
 * the writers between loading it and writing to it, and sched_run() closes
 * it only once there are none: a handler on another thread could otherwise
 * write to a closed descriptor, or to the file that took its number. */
static int cancelling;
static int wake_wr = -1;
static int wake_users;

struct queue {
	struct task *head, *tail;
	size_t running, limit;
	struct pool *pool;
};

struct sched {
	struct graph *g;
	const struct sched_opts *o;
	struct queue q[2];	/* by enum task_class */
	size_t nsettled, nrunning;
	int wake_rd;
	int cancel_seen;
	/* tasks ended on pool threads, handed to the main thread */
	pthread_mutex_t mu;
	struct task *done;
	struct task **stack;	/* settle()'s work list */
	size_t nstack, capstack;
};

/* wake the main loop (async-signal-safe: atomics and one write()) */
static void
wake(const char *why)
{
	int fd, saved = errno;

	__atomic_add_fetch(&wake_users, 1, __ATOMIC_SEQ_CST);
	fd = __atomic_load_n(&wake_wr, __ATOMIC_SEQ_CST);
	if (fd >= 0 && write(fd, why, 1) < 0) {
		/* a full pipe already wakes the loop */
	}
	__atomic_sub_fetch(&wake_users, 1, __ATOMIC_SEQ_CST);
	errno = saved;
}

/* no wake() reaches the pipe after this returns: it may be closed */
static void
wake_stop(void)
{
	__atomic_store_n(&wake_wr, -1, __ATOMIC_SEQ_CST);
	/* a writer in wake() holds it for one non-blocking write() */
	while (__atomic_load_n(&wake_users, __ATOMIC_SEQ_CST))
		sched_yield();
}

void
sched_cancel(void)
{
	__atomic_store_n(&cancelling, 1, __ATOMIC_SEQ_CST);
	wake("c");
}

int
sched_cancelling(void)
{
	return __atomic_load_n(&cancelling, __ATOMIC_SEQ_CST);
}

static int
settled(enum task_state st)
{
	return st == TASK_DONE || st == TASK_UPTODATE || st == TASK_FAILED ||
	       st == TASK_CANCELLED;
}

static int
succeeded(enum task_state st)
{
	return st == TASK_DONE || st == TASK_UPTODATE;
}

static void
enqueue(struct sched *s, struct task *t)
{
	struct queue *q = &s->q[t->class == CLASS_IO];

	t->state = TASK_READY;
	t->next = NULL;
	if (q->tail)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
}

static void
push(struct sched *s, struct task *t, enum task_state st, struct task *cause)
{
	t->state = st;
	t->cause = cause;
	ALLOC_GROW(s->stack, s->nstack, s->capstack);
	s->stack[s->nstack++] = t;
}

/* t has ended in state st: count it, tell the display, and move its users
 * on; a failure cancels the users that are not cleanup tasks, and theirs in
 * turn (a work list, not recursion: chains can be long) */
static void
settle(struct sched *s, struct task *t, enum task_state st, struct task *cause)
{
	const struct sched_events *ev = s->o->events;
	size_t i;

	push(s, t, st, cause);
	while (s->nstack) {
		t = s->stack[--s->nstack];
		s->nsettled++;
		if (ev && ev->finish)
			ev->finish(t, s->o->events_arg);
		else if (!ev)
			task_report(t);
		for (i = 0; i < t->nusers; i++) {
			struct task *u = t->users[i];

			if (u->state != TASK_WAITING)
				continue;
			u->pending--;
			if (u->kind == TASK_CLEANUP || succeeded(t->state)) {
				if (u->pending == 0)
					enqueue(s, u);
			} else {
				push(s, u, TASK_CANCELLED, t->cause);
			}
		}
	}
}

/* on a pool thread */
static void
run_task(void *arg)
{
	struct task *t = arg;
	struct sched *s = t->graph->sched;
	int r;

	error_set_reporter(error_log_keep, &t->log);
	r = t->fn ? t->fn(t, t->arg) : 0;
	error_set_reporter(NULL, NULL);
	t->result = r;
	pthread_mutex_lock(&s->mu);
	t->next = s->done;
	s->done = t;
	pthread_mutex_unlock(&s->mu);
	wake("d");
}

static void
start(struct sched *s, struct task *t)
{
	struct queue *q = &s->q[t->class == CLASS_IO];

	t->state = TASK_RUNNING;
	t->start = graph_now();
	q->running++;
	s->nrunning++;
	if (s->o->events && s->o->events->start)
		s->o->events->start(t, s->o->events_arg);
	pool_submit(q->pool, run_task, t);
}

static void
dispatch(struct sched *s)
{
	int c;

	for (c = 0; c < 2; c++) {
		struct queue *q = &s->q[c];

		while (q->head && q->running < q->limit) {
			struct task *t = q->head;

			q->head = t->next;
			if (!q->head)
				q->tail = NULL;
			if (t->state != TASK_READY)
				continue;
			if (!q->pool)
				q->pool = pool_new((unsigned)q->limit);
			start(s, t);
		}
	}
}

/* the run was cancelled: nothing that has not started will, except cleanups */
static void
cancel_waiting(struct sched *s)
{
	size_t i;

	for (i = 0; i < s->g->ntasks; i++) {
		struct task *t = s->g->tasks[i];

		if (t->kind != TASK_CLEANUP &&
		    (t->state == TASK_WAITING || t->state == TASK_READY))
			settle(s, t, TASK_CANCELLED, NULL);
	}
}

static void
collect(struct sched *s)
{
	struct task *list, *t, *rev = NULL;

	pthread_mutex_lock(&s->mu);
	list = s->done;
	s->done = NULL;
	pthread_mutex_unlock(&s->mu);
	/* the list is newest first; settle in the order they ended */
	while (list) {
		t = list->next;
		list->next = rev;
		rev = list;
		list = t;
	}
	while (rev) {
		t = rev;
		rev = t->next;
		t->end = graph_now();
		s->q[t->class == CLASS_IO].running--;
		s->nrunning--;
		if (t->result < 0 && s->cancel_seen && t->kind != TASK_CLEANUP)
			settle(s, t, TASK_CANCELLED, NULL);	/* it gave up: we asked */
		else if (t->result < 0)
			settle(s, t, TASK_FAILED, t);
		else
			settle(s, t, t->uptodate ? TASK_UPTODATE : TASK_DONE, NULL);
	}
}

static void
wait_events(struct sched *s)
{
	struct pollfd pfd = { .fd = s->wake_rd, .events = POLLIN };
	const struct sched_events *ev = s->o->events;
	int timeout = -1, n;
	char drain[256];

	if (ev && ev->tick)
		timeout = (int)((s->o->tick > 0 ? s->o->tick : 0.1) * 1000);
	n = poll(&pfd, 1, timeout);
	if (n == 0 && ev && ev->tick)
		ev->tick(s->o->events_arg);
	while (read(s->wake_rd, drain, sizeof(drain)) > 0)
		;
}

/* jobs 0: as many as the system has cores */
static long
ncores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? n : 1;
}

static void
on_signal(int sig)
{
	(void)sig;
	sched_cancel();
}

int
sched_run(struct graph *g, const struct sched_opts *o)
{
	static const struct sched_opts defaults = SCHED_OPTS_INIT;
	struct sigaction sa, old_int, old_term;
	struct sched s;
	size_t i, j, skip = 0;
	int fds[2], ret = 0, failed = 0;

	if (!o)
		o = &defaults;
	if (graph_check(g) < 0)
		return -1;
	if (pipe(fds) < 0)
		return error_errno("cannot create a pipe");
	for (i = 0; i < 2; i++) {
		fcntl(fds[i], F_SETFD, FD_CLOEXEC);
		fcntl(fds[i], F_SETFL, O_NONBLOCK);
	}
	memset(&s, 0, sizeof(s));
	s.g = g;
	s.o = o;
	s.wake_rd = fds[0];
	s.q[CLASS_CPU].limit = (size_t)(o->jobs > 0 ? o->jobs : ncores());
	s.q[CLASS_IO].limit = (size_t)(o->io_jobs > 0 ? o->io_jobs : SCHED_IO_JOBS);
	pthread_mutex_init(&s.mu, NULL);
	g->sched = &s;
	g->cancel = &cancelling;	/* what task_cancelled() reads */
	__atomic_store_n(&cancelling, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&wake_wr, fds[1], __ATOMIC_SEQ_CST);
	if (o->signals) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		/* the loop wakes by the pipe (poll() is never restarted); a
		 * task's blocking call on the thread the signal lands on goes
		 * on rather than fail with EINTR: cancelling is task_cancelled() */
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
	}

	/* count what each task waits for; tasks ended in an earlier run or
	 * marked up to date count as ended */
	for (i = 0; i < g->ntasks; i++) {
		struct task *t = g->tasks[i];

		if (t->state == TASK_READY || t->state == TASK_RUNNING)
			t->state = TASK_WAITING;
		if (settled(t->state)) {
			s.nsettled++;
			skip += t->state == TASK_UPTODATE;
			continue;
		}
		t->pending = 0;
		for (j = 0; j < t->ndeps; j++)
			if (!settled(t->deps[j]->state))
				t->pending++;
	}
	if (o->events && o->events->begin)
		o->events->begin(g->ntasks, skip, o->events_arg);
	for (i = 0; i < g->ntasks; i++) {
		struct task *t = g->tasks[i];
		struct task *bad = NULL;

		if (t->state != TASK_WAITING)
			continue;
		for (j = 0; j < t->ndeps && t->kind != TASK_CLEANUP; j++)
			if (settled(t->deps[j]->state) && !succeeded(t->deps[j]->state))
				bad = t->deps[j];
		if (bad)
			settle(&s, t, TASK_CANCELLED, bad->cause);
		else if (t->pending == 0)
			enqueue(&s, t);
	}

	while (s.nsettled < g->ntasks) {
		if (sched_cancelling() && !s.cancel_seen) {
			s.cancel_seen = 1;
			cancel_waiting(&s);
		}
		dispatch(&s);
		if (s.nsettled == g->ntasks)
			break;
		if (s.nrunning == 0) {
			/* graph_check() rules this out; never hang */
			ret = error("internal error: %zu tasks can never run",
			            g->ntasks - s.nsettled);
			break;
		}
		wait_events(&s);
		if (sched_cancelling() && !s.cancel_seen) {
			s.cancel_seen = 1;
			cancel_waiting(&s);
		}
		collect(&s);
	}

	if (o->signals) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
	}
	wake_stop();
	for (i = 0; i < 2; i++)
		pool_free(s.q[i].pool);
	close(fds[0]);
	close(fds[1]);
	pthread_mutex_destroy(&s.mu);
	free(s.stack);
	g->sched = NULL;

	for (i = 0; i < g->ntasks; i++)
		if (g->tasks[i]->state == TASK_FAILED ||
		    g->tasks[i]->state == TASK_CANCELLED)
			failed = 1;
	if (failed || s.cancel_seen)
		ret = -1;
	sched_report(g);
	if (o->events && o->events->end)
		o->events->end(ret, o->events_arg);
	return ret;
}

void
sched_report(struct graph *g)
{
	size_t i, j, n, nstopped = 0;
	struct buf b = BUF_INIT;

	for (i = 0; i < g->ntasks; i++) {
		struct task *t = g->tasks[i];

		if (t->state == TASK_CANCELLED && !t->cause)
			nstopped++;
		if (t->state != TASK_FAILED)
			continue;
		buf_reset(&b);
		for (j = 0, n = 0; j < g->ntasks; j++) {
			struct task *u = g->tasks[j];

			if (u->state != TASK_CANCELLED || u->cause != t)
				continue;
			if (n < 5)
				buf_printf(&b, "%s'%s'", n ? ", " : "", u->name);
			n++;
		}
		if (n > 5)
			buf_printf(&b, " and %zu more", n - 5);
		if (n)
			note("not run because '%s' failed: %s", t->name, buf_str(&b));
	}
	if (nstopped)
		error("cancelled: %zu task%s not run", nstopped, nstopped == 1 ? "" : "s");
	buf_release(&b);
}
