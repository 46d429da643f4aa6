/*
 * pool: a fixed set of worker threads running submitted jobs in order.
 *
 * Threads are started as work arrives, up to the pool's size, and stay until
 * pool_free(); the scheduler keeps one pool per task class (sched.h) and never
 * submits more jobs than the class may run at once, so a job never waits
 * behind another for a thread.
 */
#ifndef HYDRO_POOL_H
#define HYDRO_POOL_H

struct pool;

/* a pool of at most nthreads threads (at least one) */
struct pool *pool_new(unsigned nthreads);
/* run fn(arg) on a pool thread, as soon as one is free */
void pool_submit(struct pool *p, void (*fn)(void *), void *arg);
/* the number of threads started so far */
unsigned pool_threads(struct pool *p);
/* wait for every submitted job, stop the threads and free the pool */
void pool_free(struct pool *p);

#endif
