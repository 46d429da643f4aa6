#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "pool.h"
#include "xmalloc.h"

struct job {
	void (*fn)(void *);
	void *arg;
	struct job *next;
};

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct job *head, **tail;
	pthread_t *threads;
	unsigned max, nthreads;
	unsigned idle;		/* threads waiting for a job, woken or not */
	size_t queued;		/* jobs no thread has taken yet */
	int stop;
};

struct pool *
pool_new(unsigned nthreads)
{
	struct pool *p = xcalloc(1, sizeof(*p));

	p->max = nthreads ? nthreads : 1;
	p->threads = xcalloc(p->max, sizeof(*p->threads));
	p->tail = &p->head;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cond, NULL);
	return p;
}

static void *
worker(void *arg)
{
	struct pool *p = arg;
	struct job *j;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->head && !p->stop) {
			p->idle++;
			pthread_cond_wait(&p->cond, &p->mu);
			p->idle--;
		}
		if (!p->head)
			break;
		j = p->head;
		p->head = j->next;
		p->queued--;
		if (!p->head)
			p->tail = &p->head;
		pthread_mutex_unlock(&p->mu);
		j->fn(j->arg);
		free(j);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

void
pool_submit(struct pool *p, void (*fn)(void *), void *arg)
{
	struct job *j = xmalloc(sizeof(*j));
	int err;

	j->fn = fn;
	j->arg = arg;
	j->next = NULL;
	pthread_mutex_lock(&p->mu);
	*p->tail = j;
	p->tail = &j->next;
	p->queued++;
	/* a new thread only when the idle ones are fewer than the jobs
	 * waiting: a pool that never runs more than one job at once keeps one
	 * thread, and a thread signalled but not yet awake (still counted
	 * idle) never takes a second job submitted right after the first */
	if (p->queued > p->idle && p->nthreads < p->max) {
		err = pthread_create(&p->threads[p->nthreads], NULL, worker, p);
		if (err == 0)
			p->nthreads++;
		else if (p->nthreads == 0)
			fatal("cannot start a thread: %s", strerror(err));
	}
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->mu);
}

unsigned
pool_threads(struct pool *p)
{
	unsigned n;

	pthread_mutex_lock(&p->mu);
	n = p->nthreads;
	pthread_mutex_unlock(&p->mu);
	return n;
}

void
pool_free(struct pool *p)
{
	unsigned i;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cond);
	free(p->threads);
	free(p);
}
