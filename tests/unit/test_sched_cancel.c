/*
 * sched_cancel() from another thread (a signal handler runs on any thread)
 * racing with the end of sched_run(), which closes the wake pipe.
 *
 * This binary defines its own write(): the scheduler's calls, linked into it
 * statically, come here first.  It holds the cancelling thread after it has
 * loaded the pipe's descriptor and before it writes, until the test has
 * opened a new pipe (which takes the lowest free numbers: the old pipe's,
 * if it was closed) or 300 ms have passed.  A byte in the new pipe is a
 * write to a descriptor the scheduler had closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "graph.h"
#include "sched.h"
#include "test.h"

static pthread_t canceller;
static int armed, paused, probe_ready, task_running;

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

ssize_t
write(int fd, const void *data, size_t n)
{
	int i;

	if (__atomic_load_n(&armed, __ATOMIC_SEQ_CST) &&
	    pthread_equal(pthread_self(), canceller)) {
		__atomic_store_n(&armed, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&paused, 1, __ATOMIC_SEQ_CST);
		for (i = 0; i < 300 && !__atomic_load_n(&probe_ready, __ATOMIC_SEQ_CST); i++)
			sleep_ms(1);
	}
	return syscall(SYS_write, fd, data, n);
}

static void *
cancel_while_running(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 5000 && !__atomic_load_n(&task_running, __ATOMIC_SEQ_CST); i++)
		sleep_ms(1);
	canceller = pthread_self();
	__atomic_store_n(&armed, 1, __ATOMIC_SEQ_CST);
	sched_cancel();
	return NULL;
}

/* ends once the canceller holds the descriptor, so that the run ends then */
static int
hold(struct task *t, void *arg)
{
	int i;

	(void)t;
	(void)arg;
	__atomic_store_n(&task_running, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < 5000 && !__atomic_load_n(&paused, __ATOMIC_SEQ_CST); i++)
		sleep_ms(1);
	return 0;
}


TEST(a_late_cancel_never_writes_to_a_closed_pipe)
{
	struct graph *g = graph_new();
	pthread_t th;
	int probe[2];
	ssize_t n;
	char c;

	graph_add(g, TASK_BUILD, "hold", hold, NULL);
	REQUIRE(pthread_create(&th, NULL, cancel_while_running, NULL) == 0);
	error_set_reporter(test_quiet, NULL);
	CHECK_INT(sched_run(g, NULL), -1);
	error_set_reporter(NULL, NULL);
	CHECK(__atomic_load_n(&paused, __ATOMIC_SEQ_CST));
	REQUIRE(pipe(probe) == 0);
	fcntl(probe[0], F_SETFL, O_NONBLOCK);
	__atomic_store_n(&probe_ready, 1, __ATOMIC_SEQ_CST);
	pthread_join(th, NULL);
	n = read(probe[0], &c, 1);
	CHECK(n < 0 && errno == EAGAIN);
	close(probe[0]);
	close(probe[1]);
	graph_free(g);
}

int
main(void)
{
	RUN(a_late_cancel_never_writes_to_a_closed_pipe);
	return TEST_EXIT();
}
