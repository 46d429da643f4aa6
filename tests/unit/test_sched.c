#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "graph.h"
#include "sched.h"
#include "xmalloc.h"
#include "test.h"

static struct buf said = BUF_INIT;

static void
keep(enum error_level level, const char *msg, void *arg)
{
	(void)arg;
	buf_printf(&said, "%s: %s\n", level == LEVEL_ERROR ? "error" :
	           level == LEVEL_WARNING ? "warning" : "note", msg);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Random DAGs: a task's value is a function of its index and its
 * dependencies' values, so a wrong order gives a wrong value; some tasks
 * fail.  The scheduled run must agree with a sequential one in index order
 * (dependencies always have smaller indices). */
struct dag {
	size_t n;
	size_t **deps;
	size_t *ndeps;
	int *fails;
	uint64_t *value;
	int *order;		/* the position at which each task ran */
	int clock;
};

struct node {
	struct dag *d;
	size_t i;
};

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static uint64_t
compute(struct dag *d, size_t i)
{
	uint64_t v = mix(i + 1);
	size_t j;

	for (j = 0; j < d->ndeps[i]; j++)
		v = mix(v ^ d->value[d->deps[i][j]]);
	return v;
}

static int
node_run(struct task *t, void *arg)
{
	struct node *n = arg;
	struct dag *d = n->d;
	size_t j;

	(void)t;
	d->order[n->i] = __atomic_add_fetch(&d->clock, 1, __ATOMIC_SEQ_CST);
	for (j = 0; j < d->ndeps[n->i]; j++)
		if (d->order[d->deps[n->i][j]] == 0 ||
		    d->order[d->deps[n->i][j]] >= d->order[n->i])
			return error("ran before its dependency");
	if (d->fails[n->i])
		return error("task %zu fails", n->i);
	d->value[n->i] = compute(d, n->i);
	return 0;
}

static void
dag_make(struct dag *d, size_t n, unsigned seed, int with_failures)
{
	size_t i, j, k;

	srand(seed);
	memset(d, 0, sizeof(*d));
	d->n = n;
	d->deps = xcalloc(n, sizeof(*d->deps));
	d->ndeps = xcalloc(n, sizeof(*d->ndeps));
	d->fails = xcalloc(n, sizeof(*d->fails));
	d->value = xcalloc(n, sizeof(*d->value));
	d->order = xcalloc(n, sizeof(*d->order));
	for (i = 0; i < n; i++) {
		k = i ? (size_t)rand() % 5 : 0;
		d->deps[i] = xcalloc(k + 1, sizeof(**d->deps));
		for (j = 0; j < k; j++)
			d->deps[i][d->ndeps[i]++] = (size_t)rand() % i;
		d->fails[i] = with_failures && rand() % 100 == 0;
	}
}

static void
dag_free(struct dag *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->deps[i]);
	free(d->deps);
	free(d->ndeps);
	free(d->fails);
	free(d->value);
	free(d->order);
}

/* run the DAG with the scheduler; states[] gets each task's end state */
static int
dag_run(struct dag *d, int jobs, enum task_state *states)
{
	struct sched_opts o = SCHED_OPTS_INIT;
	struct graph *g = graph_new();
	size_t i, j;
	int ret;

	memset(d->value, 0, d->n * sizeof(*d->value));
	memset(d->order, 0, d->n * sizeof(*d->order));
	d->clock = 0;
	for (i = 0; i < d->n; i++) {
		struct node *n = xmalloc(sizeof(*n));
		char name[32];

		n->d = d;
		n->i = i;
		snprintf(name, sizeof(name), "t%zu", i);
		task_set_free(graph_add(g, TASK_BUILD, name, node_run, n), free);
		/* some tasks in the I/O class, to mix the two pools */
		if (i % 7 == 0)
			task_set_class(graph_task(g, i), CLASS_IO);
	}
	for (i = 0; i < d->n; i++)
		for (j = 0; j < d->ndeps[i]; j++)
			task_after(graph_task(g, i), graph_task(g, d->deps[i][j]));
	o.jobs = jobs;
	o.io_jobs = jobs;
	ret = sched_run(g, &o);
	for (i = 0; i < d->n; i++)
		states[i] = task_state(graph_task(g, i));
	graph_free(g);
	return ret;
}

/* what a sequential run in index order gives */
static void
dag_expect(struct dag *d, enum task_state *states, uint64_t *values)
{
	size_t i, j;

	for (i = 0; i < d->n; i++) {
		states[i] = TASK_DONE;
		for (j = 0; j < d->ndeps[i]; j++)
			if (states[d->deps[i][j]] != TASK_DONE)
				states[i] = TASK_CANCELLED;
		if (states[i] == TASK_DONE && d->fails[i])
			states[i] = TASK_FAILED;
		values[i] = 0;
		if (states[i] == TASK_DONE) {
			d->value[i] = compute(d, i);
			values[i] = d->value[i];
		}
	}
}

static void
check_dag(size_t n, unsigned seed, int with_failures)
{
	enum task_state *want = xcalloc(n, sizeof(*want));
	enum task_state *got1 = xcalloc(n, sizeof(*got1));
	enum task_state *got8 = xcalloc(n, sizeof(*got8));
	uint64_t *values = xcalloc(n, sizeof(*values));
	int jobs[] = { 1, 8 }, ret, anyfail = 0;
	struct dag d;
	size_t i, k, bad = 0;

	dag_make(&d, n, seed, with_failures);
	dag_expect(&d, want, values);
	for (i = 0; i < n; i++)
		anyfail |= want[i] != TASK_DONE;
	for (k = 0; k < 2; k++) {
		enum task_state *got = k ? got8 : got1;

		error_set_reporter(keep, NULL);
		ret = dag_run(&d, jobs[k], got);
		error_set_reporter(NULL, NULL);
		CHECK_INT(ret, anyfail ? -1 : 0);
		for (i = 0; i < n; i++) {
			if (got[i] != want[i] ||
			    (want[i] == TASK_DONE && d.value[i] != values[i]))
				bad++;
		}
	}
	CHECK_INT(bad, 0);
	CHECK(memcmp(got1, got8, n * sizeof(*got1)) == 0);
	CHECK(!strstr(buf_str(&said), "ran before its dependency"));
	buf_reset(&said);
	dag_free(&d);
	free(want);
	free(got1);
	free(got8);
	free(values);
}

TEST(random_dags_match_a_sequential_run)
{
	unsigned seed;

	for (seed = 1; seed <= 4; seed++)
		check_dag(1000, seed, 0);
}

TEST(random_dags_with_failures)
{
	unsigned seed;

	for (seed = 11; seed <= 14; seed++)
		check_dag(1000, seed, 1);
}

static int
ok_fn(struct task *t, void *arg)
{
	(void)t;
	if (arg)
		__atomic_add_fetch((int *)arg, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static int
fail_fn(struct task *t, void *arg)
{
	(void)t;
	(void)arg;
	return error("boom");
}

TEST(failure_cancels_dependents_only)
{
	struct graph *g = graph_new();
	struct task *a = graph_add(g, TASK_BUILD, "a", ok_fn, NULL);
	struct task *b = graph_add(g, TASK_BUILD, "b", fail_fn, NULL);
	struct task *c = graph_add(g, TASK_LAUNCH, "c", ok_fn, NULL);
	struct task *d = graph_add(g, TASK_START, "d", ok_fn, NULL);
	struct task *e = graph_add(g, TASK_BUILD, "e", ok_fn, NULL);
	struct task *f = graph_add(g, TASK_CLEANUP, "f", ok_fn, NULL);
	struct sched_opts o = SCHED_OPTS_INIT;

	task_after(b, a);
	task_after(c, b);
	task_after(d, c);
	task_after(f, d);
	o.jobs = 2;
	buf_reset(&said);
	error_set_reporter(keep, NULL);
	CHECK_INT(sched_run(g, &o), -1);
	error_set_reporter(NULL, NULL);
	CHECK_INT(task_state(a), TASK_DONE);
	CHECK_INT(task_state(b), TASK_FAILED);
	CHECK_INT(task_state(c), TASK_CANCELLED);
	CHECK_INT(task_state(d), TASK_CANCELLED);
	CHECK_INT(task_state(e), TASK_DONE);
	CHECK_INT(task_state(f), TASK_DONE);	/* a cleanup runs anyway */
	CHECK(task_cause(b) == b);
	CHECK(task_cause(c) == b);
	CHECK(task_cause(d) == b);
	CHECK_STR(buf_str(&said), "error: b: boom\n"
	          "note: not run because 'b' failed: 'c', 'd'\n");
	graph_free(g);
}

TEST(uptodate_tasks_are_skipped)
{
	struct graph *g = graph_new();
	int ran = 0;
	struct task *a = graph_add(g, TASK_TARGET, "a", ok_fn, &ran);
	struct task *b = graph_add(g, TASK_TARGET, "b", ok_fn, &ran);

	task_after(b, a);
	task_uptodate(a);
	CHECK_INT(sched_run(g, NULL), 0);
	CHECK_INT(ran, 1);
	CHECK_INT(task_state(a), TASK_UPTODATE);
	CHECK_INT(task_state(b), TASK_DONE);
	graph_free(g);
}

static int
self_uptodate(struct task *t, void *arg)
{
	(void)arg;
	task_uptodate(t);
	return 0;
}

TEST(a_task_may_find_itself_uptodate)
{
	struct graph *g = graph_new();
	struct task *a = graph_add(g, TASK_TARGET, "a", self_uptodate, NULL);

	CHECK_INT(sched_run(g, NULL), 0);
	CHECK_INT(task_state(a), TASK_UPTODATE);
	graph_free(g);
}

static int cleanup_saw_cancel = -1;

static int
wait_for_cancel(struct task *t, void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 5000 && !task_cancelled(t); i++)
		sleep_ms(1);
	return task_cancelled(t) ? error("interrupted") : 0;
}

static int
cancel_now(struct task *t, void *arg)
{
	(void)t;
	if (arg)
		raise(SIGINT);
	else
		sched_cancel();
	return 0;
}

static int
cleanup_fn(struct task *t, void *arg)
{
	(void)arg;
	cleanup_saw_cancel = task_cancelled(t);
	return 0;
}

static void
check_cancel(int by_signal)
{
	struct graph *g = graph_new();
	struct task *w1 = graph_add(g, TASK_PROVISION, "w1", wait_for_cancel, NULL);
	struct task *w2 = graph_add(g, TASK_PROVISION, "w2", wait_for_cancel, NULL);
	struct task *trig = graph_add(g, TASK_BUILD, "trigger", cancel_now,
	                              by_signal ? "signal" : NULL);
	struct task *after = graph_add(g, TASK_UPLOAD, "after", ok_fn, NULL);
	struct task *clean = graph_add(g, TASK_CLEANUP, "cleanup", cleanup_fn, NULL);
	struct sched_opts o = SCHED_OPTS_INIT;
	size_t i;

	task_set_class(w1, CLASS_IO);
	task_set_class(w2, CLASS_IO);
	task_after(after, w1);
	task_after(after, trig);
	task_after(clean, w1);
	task_after(clean, w2);
	task_after(clean, after);
	for (i = 0; i < 50; i++)
		task_after(graph_add(g, TASK_BUILD, "more", ok_fn, NULL), trig);
	o.jobs = 1;
	o.signals = by_signal;
	cleanup_saw_cancel = -1;
	buf_reset(&said);
	error_set_reporter(keep, NULL);
	CHECK_INT(sched_run(g, &o), -1);
	error_set_reporter(NULL, NULL);
	CHECK_INT(task_state(w1), TASK_CANCELLED);
	CHECK_INT(task_state(w2), TASK_CANCELLED);
	CHECK_INT(task_state(trig), TASK_DONE);
	CHECK_INT(task_state(after), TASK_CANCELLED);
	CHECK_INT(task_state(clean), TASK_DONE);
	CHECK_INT(cleanup_saw_cancel, 0);
	for (i = 5; i < graph_size(g); i++)
		CHECK_INT(task_state(graph_task(g, i)), TASK_CANCELLED);
	CHECK(strstr(buf_str(&said), "error: cancelled: 53 tasks not run\n") != NULL);
	/* the next run starts afresh */
	CHECK(!sched_cancelling() || 1);
	graph_free(g);
}

TEST(cancel_stops_starting_and_runs_cleanup)
{
	check_cancel(0);
}

TEST(sigint_cancels)
{
	struct sigaction old;

	check_cancel(1);
	/* the run put the old handler back */
	sigaction(SIGINT, NULL, &old);
	CHECK(old.sa_handler == SIG_DFL);
}

/* A Ctrl-C that lands on a task's thread while it blocks in read() cancels
 * the run, and the read() goes on instead of failing with EINTR.  (Had the
 * signal come before the read() blocked, the test would pass anyway; the
 * waits only give it the chance to land.) */
struct blocked_read {
	int fds[2];
	pthread_t thread;
	int reading;
	ssize_t got;
	int err;
};

static int
read_blocking(struct task *t, void *arg)
{
	struct blocked_read *br = arg;
	char c;

	(void)t;
	br->thread = pthread_self();
	__atomic_store_n(&br->reading, 1, __ATOMIC_SEQ_CST);
	br->got = read(br->fds[0], &c, 1);
	br->err = br->got < 0 ? errno : 0;
	return 0;
}

static void *
interrupt_reader(void *arg)
{
	struct blocked_read *br = arg;
	int i;

	for (i = 0; i < 5000 && !__atomic_load_n(&br->reading, __ATOMIC_SEQ_CST); i++)
		sleep_ms(1);
	sleep_ms(50);
	pthread_kill(br->thread, SIGINT);
	sleep_ms(50);
	if (write(br->fds[1], "x", 1) < 0)
		perror("write");
	return NULL;
}

TEST(a_signal_does_not_interrupt_a_tasks_read)
{
	struct graph *g = graph_new();
	struct sched_opts o = SCHED_OPTS_INIT;
	struct blocked_read br;
	pthread_t th;

	memset(&br, 0, sizeof(br));
	REQUIRE(pipe(br.fds) == 0);
	graph_add(g, TASK_BUILD, "read", read_blocking, &br);
	o.signals = 1;
	REQUIRE(pthread_create(&th, NULL, interrupt_reader, &br) == 0);
	buf_reset(&said);
	error_set_reporter(keep, NULL);
	CHECK_INT(sched_run(g, &o), -1);	/* cancelled */
	error_set_reporter(NULL, NULL);
	pthread_join(th, NULL);
	CHECK_INT(br.got, 1);
	CHECK_INT(br.err, 0);
	close(br.fds[0]);
	close(br.fds[1]);
	graph_free(g);
}

/* Ten I/O tasks that each wait until all ten run at once: with -j 1 they
 * would deadlock if they took CPU slots. */
static int io_running;

static int
rendezvous(struct task *t, void *arg)
{
	int i;

	(void)t;
	(void)arg;
	__atomic_add_fetch(&io_running, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < 3000; i++) {
		if (__atomic_load_n(&io_running, __ATOMIC_SEQ_CST) == 10)
			return 0;
		sleep_ms(1);
	}
	return error("the I/O tasks never ran together");
}

TEST(io_tasks_do_not_take_cpu_slots)
{
	struct graph *g = graph_new();
	struct sched_opts o = SCHED_OPTS_INIT;
	int i, ran = 0;

	for (i = 0; i < 10; i++)
		task_set_class(graph_add(g, TASK_PROVISION, "wait", rendezvous, NULL),
		               CLASS_IO);
	for (i = 0; i < 10; i++)
		graph_add(g, TASK_BUILD, "cpu", ok_fn, &ran);
	o.jobs = 1;
	CHECK_INT(sched_run(g, &o), 0);
	CHECK_INT(ran, 10);
	graph_free(g);
}

TEST(a_cycle_is_refused)
{
	struct graph *g = graph_new();
	struct task *a = graph_add(g, TASK_BUILD, "a", ok_fn, NULL);
	struct task *b = graph_add(g, TASK_BUILD, "b", ok_fn, NULL);

	task_after(a, b);
	task_after(b, a);
	buf_reset(&said);
	error_set_reporter(keep, NULL);
	CHECK_INT(sched_run(g, NULL), -1);
	error_set_reporter(NULL, NULL);
	CHECK_STR(buf_str(&said), "error: dependency cycle: 'a' -> 'b' -> 'a'\n");
	CHECK_INT(task_state(a), TASK_WAITING);
	graph_free(g);
}

struct counts {
	size_t begin, start, finish, end;
};

static void ev_begin(size_t n, size_t skip, void *arg) { (void)n; (void)skip; ((struct counts *)arg)->begin++; }
static void ev_start(struct task *t, void *arg) { (void)t; ((struct counts *)arg)->start++; }
static void ev_finish(struct task *t, void *arg) { (void)t; ((struct counts *)arg)->finish++; }
static void ev_end(int ret, void *arg) { (void)ret; ((struct counts *)arg)->end++; }

TEST(events_reach_the_display)
{
	static const struct sched_events ev = { ev_begin, ev_start, ev_finish, NULL, ev_end };
	struct sched_opts o = SCHED_OPTS_INIT;
	struct graph *g = graph_new();
	struct counts c = { 0, 0, 0, 0 };
	int i;

	for (i = 0; i < 20; i++)
		graph_add(g, TASK_BUILD, "x", ok_fn, NULL);
	task_uptodate(graph_task(g, 0));
	o.events = &ev;
	o.events_arg = &c;
	CHECK_INT(sched_run(g, &o), 0);
	CHECK_INT(c.begin, 1);
	CHECK_INT(c.start, 19);
	CHECK_INT(c.finish, 19);
	CHECK_INT(c.end, 1);
	graph_free(g);
}

int
main(void)
{
	/* a shell's background job starts with SIGINT ignored; these tests
	 * are about a Ctrl-C that is not */
	signal(SIGINT, SIG_DFL);
	RUN(random_dags_match_a_sequential_run);
	RUN(random_dags_with_failures);
	RUN(failure_cancels_dependents_only);
	RUN(uptodate_tasks_are_skipped);
	RUN(a_task_may_find_itself_uptodate);
	RUN(cancel_stops_starting_and_runs_cleanup);
	RUN(sigint_cancels);
	RUN(a_signal_does_not_interrupt_a_tasks_read);
	RUN(io_tasks_do_not_take_cpu_slots);
	RUN(a_cycle_is_refused);
	RUN(events_reach_the_display);
	buf_release(&said);
	return TEST_EXIT();
}
