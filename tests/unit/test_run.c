/* Unit tests of the run's lifecycle: threads blocked on a service when the
 * run ends, and --keep. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploy.h"
#include "fs.h"
#include "run.h"
#include "state.h"
#include "test.h"
#include "xmalloc.h"

static char dir[] = "/tmp/hydro-test-run.XXXXXX";

struct waiter {
	struct run *r;
	struct service *s;
	int ret, status;
	atomic_int done;
	pthread_t t;
};

static void *
wait_thread(void *arg)
{
	struct waiter *w = arg;

	w->ret = run_wait_service(w->r, w->s, &w->status);
	atomic_store(&w->done, 1);
	return NULL;
}

/* one service that runs until stopped, and n threads waiting for it */
static struct deployment *
sleeper(struct service **s)
{
	struct deployment *d = deployment_new(dir, "test");
	struct host *h = deploy_add_host(d, "box", "local");

	*s = deploy_add_service(d, "sleeper", SERVICE_PROCESS, h, NULL);
	service_add_arg(*s, "sleep");
	service_add_arg(*s, "30");
	return d;
}

static void
start_waiters(struct waiter *w, size_t n, struct run *r, struct service *s)
{
	size_t i;

	memset(w, 0, n * sizeof(*w));
	for (i = 0; i < n; i++) {
		w[i].r = r;
		w[i].s = s;
		w[i].ret = 99;
		pthread_create(&w[i].t, NULL, wait_thread, &w[i]);
	}
	usleep(100000);	/* let them block */
}

TEST(finish_wakes_every_waiter_with_the_final_status)
{
	struct waiter w[3];
	struct service *s;
	struct deployment *d = sleeper(&s);
	struct run *r = run_new(d, MODE_RUN, NULL);
	size_t i;

	REQUIRE(r);
	run_options(r)->echo = 0;
	REQUIRE(run_deploy(r) == 0);
	start_waiters(w, 3, r, s);
	for (i = 0; i < 3; i++)
		CHECK(!atomic_load(&w[i].done));
	CHECK_INT(run_finish(r), 0);
	for (i = 0; i < 3; i++) {
		pthread_join(w[i].t, NULL);
		CHECK_INT(w[i].ret, 0);
		CHECK_INT(w[i].status, 128 + SIGTERM);
	}
	deployment_free(d);
}

TEST(kept_services_end_the_waits_and_stay_for_down)
{
	struct waiter w[2];
	struct service *s;
	struct deployment *d = sleeper(&s);
	struct run *r = run_new(d, MODE_RUN, NULL);
	struct state *st;
	const cJSON *details;
	const char *kind;
	long pid = 0;
	size_t i, n = 0;

	REQUIRE(r);
	run_options(r)->echo = 0;
	run_options(r)->keep = 1;
	REQUIRE(run_deploy(r) == 0);
	start_waiters(w, 2, r, s);
	CHECK_INT(run_finish(r), 0);
	for (i = 0; i < 2; i++) {
		pthread_join(w[i].t, NULL);
		CHECK_INT(w[i].ret, -1);	/* "the run finished and left it running" */
	}
	/* still running, still recorded (with the run's cgroup, where the
	 * system gives one); down removes it */
	st = state_open(dir);
	REQUIRE(st);
	for (i = 0; state_get(st, i, &kind, NULL, NULL, &details) == 0; i++) {
		if (!strcmp(kind, "process")) {
			n++;
			pid = (long)cJSON_GetNumberValue(cJSON_GetObjectItem(details, "pid"));
		} else {
			CHECK_STR(kind, "cgroup");
		}
	}
	CHECK_INT(n, 1);
	CHECK(pid > 0 && kill((pid_t)pid, 0) == 0);
	CHECK_INT(state_down(st, 0), 0);
	CHECK_INT(state_count(st), 0);
	state_close(st);
	deployment_free(d);
}

/* the invocation's options come as run_new()'s argument, not from cli */
TEST(options_are_an_argument)
{
	struct options o;
	struct service *s;
	struct deployment *d = sleeper(&s);
	struct run *r;

	memset(&o, 0, sizeof(o));
	o.keep = 1;
	o.log_prefix = 0;
	r = run_new(d, MODE_RUN, &o);
	REQUIRE(r);
	CHECK_INT(run_options(r)->keep, 1);
	CHECK_INT(run_options(r)->prefix, 0);
	CHECK_INT(run_finish(r), 0);
	r = run_new(d, MODE_RUN, NULL);
	REQUIRE(r);
	CHECK_INT(run_options(r)->keep, 0);
	CHECK_INT(run_options(r)->prefix, 1);
	CHECK_INT(run_finish(r), 0);
	deployment_free(d);
}

int
main(void)
{
	if (!mkdtemp(dir))
		return 1;
	RUN(finish_wakes_every_waiter_with_the_final_status);
	RUN(kept_services_end_the_waits_and_stay_for_down);
	RUN(options_are_an_argument);
	remove_tree(dir);
	return TEST_EXIT();
}
