#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "pool.h"
#include "test.h"

/* jobs that can only finish when `want` of them run at the same time */
struct meet {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int here, want, met, late;
};

static void
meet_job(void *arg)
{
	struct meet *m = arg;
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	pthread_mutex_lock(&m->mu);
	if (++m->here == m->want && !m->late) {
		m->met = 1;
		pthread_cond_broadcast(&m->cond);
	}
	while (!m->met)
		if (pthread_cond_timedwait(&m->cond, &m->mu, &until)) {
			m->late = 1;
			break;
		}
	pthread_mutex_unlock(&m->mu);
}

static void
nothing(void *arg)
{
	int *done = arg;

	__atomic_store_n(done, 1, __ATOMIC_SEQ_CST);
}

TEST(idle_thread_does_not_take_two_jobs)
{
	struct meet m = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 2, 0, 0 };
	struct pool *p = pool_new(2);
	int done = 0;

	/* one thread, idle again once its job is over */
	pool_submit(p, nothing, &done);
	while (!__atomic_load_n(&done, __ATOMIC_SEQ_CST))
		usleep(1000);
	usleep(20000);
	CHECK_INT(pool_threads(p), 1);
	/* two jobs submitted back to back must run at once: the idle thread
	 * takes one, a new thread the other */
	pool_submit(p, meet_job, &m);
	pool_submit(p, meet_job, &m);
	pool_free(p);
	CHECK(m.met);
	CHECK(!m.late);
	CHECK_INT(m.here, 2);
}

TEST(threads_start_only_as_needed)
{
	struct pool *p = pool_new(8);
	int done = 0;

	pool_submit(p, nothing, &done);
	pool_free(p);
	CHECK(done);
	p = pool_new(0);
	CHECK_INT(pool_threads(p), 0);
	pool_free(p);
}

int
main(void)
{
	RUN(idle_thread_does_not_take_two_jobs);
	RUN(threads_start_only_as_needed);
	return TEST_EXIT();
}
