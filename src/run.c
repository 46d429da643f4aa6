#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "buf.h"
#include "build.h"
#include "cgroup.h"
#include "cli.h"
#include "crate.h"
#include "error.h"
#include "fs.h"
#include "graph.h"
#include "json.h"
#include "logs.h"
#include "lower.h"
#include "pool.h"
#include "ports.h"
#include "proc.h"
#include "prune.h"
#include "run_int.h"
#include "sched.h"
#include "state.h"
#include "supervise.h"
#include "term.h"
#include "xmalloc.h"

double
run_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
run_new(struct deployment *d, enum run_mode mode, const struct options *o)
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
	if (o) {
		r->o = *o;
	} else {
		memset(&r->o, 0, sizeof(r->o));
		r->o.log_prefix = 1;
	}
	r->opt.prefix = r->o.log_prefix;
	r->opt.keep = r->o.keep;
	r->opt.timestamps = r->o.timestamps;
	r->opt.json = r->o.json;
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	r->id = xasprintf("%s-%ld-%d", stamp, (long)getpid(), atomic_fetch_add(&seq, 1));
	r->dir = xasprintf("%s/.hydro/runs/%s", d->dir, r->id);
	logs = xasprintf("%s/logs", r->dir);
	/* what is in a run's logs is the user's alone */
	if (mkdir_p(logs, 0700) < 0) {
		free(logs);
		free(r->dir);
		free(r->id);
		free(r);
		return NULL;
	}
	free(logs);
	/* the orphans of services come back to hydro, to be ended with the
	 * run (run_finish); without it they go to init, as before */
	if (proc_subreaper() < 0)
		warning("cannot make hydro the reaper of its services' orphans: %s; a "
		        "process that leaves its group may outlive the run",
		        strerror(errno));

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
	supervise_watch(r, r->wake[0], WATCH_WAKE);
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
	if (pthread_create(&r->sup, NULL, supervise_main, r) != 0)
		fatal("cannot start the supervisor thread");
	r->sup_running = 1;
	return r;
}

struct run *
run_new_round(struct run *first, struct deployment *d)
{
	struct run *r;

	if (!first->state) {
		error("the first deploy() of the deployment did not get far enough "
		      "to deploy more beside it");
		return NULL;
	}
	r = run_new(d, first->mode, &first->o);
	if (!r)
		return NULL;
	r->first = first;
	r->state = first->state;
	r->cgroup = first->cgroup ? xstrdup(first->cgroup) : NULL;
	r->setup = 1;
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
	supervise_wake(r);
}

/* a flag of the run, read under its lock */
static int
flag_locked(const struct run *r, const int *flag)
{
	struct run *m = (struct run *)r;
	int v;

	pthread_mutex_lock(&m->lock);
	v = *flag;
	pthread_mutex_unlock(&m->lock);
	return v;
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

int
run_failed(const struct run *r)
{
	return flag_locked(r, &r->failed);
}

int
run_leaving(const struct run *r)
{
	return flag_locked(r, &r->leaving);
}

int
run_cancelled(const struct run *r)
{
	return atomic_load(&((struct run *)r)->cancel) > 0;
}

static int
run_graph(struct run *r, struct graph *g)
{
	struct sched_opts o = SCHED_OPTS_INIT;
	int ret;

	o.jobs = r->o.jobs;
	o.io_jobs = SCHED_IO_JOBS;
	if (graph_check(g) < 0)
		return -1;
	r->deploying = 1;
	ret = sched_run(g, &o);
	r->deploying = 0;
	return ret;
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
	cgroup_register_state();
	build_register_state();
	backends_register_state();
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
	if (!r->state) {
		run_register_state_kinds();
		r->state = state_open(r->d->dir);
		if (!r->state)
			return -1;
	}
	/* the backends learn the run's options before any host is provisioned */
	if (!r->setup) {
		struct backend_env env;

		env.hydro_dir = state_dir(r->state);
		env.trust_new_hosts = r->o.trust_new_hosts;
		env.state = r->state;
		env.project_dir = r->d->dir;
		if (backends_setup(&env) < 0)
			return -1;
		r->setup = 1;
	}
	/* where the system lets it, a cgroup holds all the services start */
	if (!r->cgroup && !r->first)
		r->cgroup = cgroup_new(r->state, r->id);
	/* the targets services need are made first, make-style */
	b = build_open(r->d, r->state, &r->o);
	g = graph_new();
	ret = build_add_targets(b, g) < 0 || crate_add(b, g) < 0 ? -1 : 0;
	if (ret == 0) {
		lower_deploy(r, b, g);
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
	lower_start(r, g, NULL);
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
	while (!supervise_all_exited(r) && !r->leaving && !r->ended)
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
		supervise_stop(r, v);
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

static void
terminate_one(void *arg)
{
	host_terminate(arg);
}

static void
disconnect_one(void *arg)
{
	host_disconnect(arg);
}

/* fn on every host (with the caps of want, if any): this machine's here,
 * the others all at once on a pool, for each may wait on its machine
 * (deleting a VM takes a while, an SSH goodbye a round trip), and 32 of
 * them one after the other take 32 times that */
static void
hosts_at_once(struct deployment *d, unsigned want, void (*fn)(void *))
{
	struct pool *p = NULL;
	size_t i;

	for (i = 0; i < d->nhosts; i++) {
		unsigned caps = host_caps(d->hosts[i]);

		if (want && !(caps & want))
			continue;
		if (caps & BACKEND_THIS_MACHINE) {
			fn(d->hosts[i]);
			continue;
		}
		if (!p)
			p = pool_new(d->nhosts < SCHED_IO_JOBS ? (unsigned)d->nhosts : SCHED_IO_JOBS);
		pool_submit(p, fn, d->hosts[i]);
	}
	if (p)
		pool_free(p);
}

/* whether the state still records something of run (a process left by
 * --keep, its cgroup): its folder stays */
static int
run_recorded(const char *run, void *arg)
{
	struct state *st = arg;
	size_t i, n = strlen(run);

	for (i = 0; i < state_count(st); i++) {
		const char *kind, *id, *status, *of;
		const cJSON *details;

		if (state_get(st, i, &kind, &id, &status, &details) < 0)
			continue;
		of = details ? json_str(details, "run") : NULL;
		if ((of && !strcmp(of, run)) ||
		    (!strncmp(id, run, n) && (id[n] == '\0' || id[n] == '/')))
			return 1;
	}
	return 0;
}

void
run_disconnect(struct deployment *d)
{
	hosts_at_once(d, 0, disconnect_one);
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
			supervise_stop(r, &r->svcs[i]);
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
			fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
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
		supervise_stop_all(r, 0);
	r->quit = 1;
	pthread_mutex_unlock(&r->lock);
	supervise_wake(r);
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
	size_t i, n;
	int ret, k, leaving;

	if (!r)
		return -1;
	run_end(r);
	pthread_mutex_lock(&r->lock);
	while (r->waiters > 0)
		pthread_cond_wait(&r->cond, &r->lock);
	leaving = r->leaving;
	pthread_mutex_unlock(&r->lock);
	/* what services started and left outside their groups (a double
	 * fork, setsid()) came back to hydro, the subreaper: it ends with
	 * them, unless they are to outlive hydro */
	if (!leaving && (n = proc_end_adopted("HYDRO_RUN_DIR", r->dir)) > 0)
		note("stopped %zu process%s the services left outside their process "
		     "groups", n, n == 1 ? "" : "es");
	/* and whatever is left in the cgroup (a child that escaped and whose
	 * parent still ran until the end); kept runs keep theirs */
	ret = r->failed || (atomic_load(&r->cancel) > 0 && !leaving) ? -1 : 0;
	/* a later round leaves them to the first, which ends them all */
	if (!leaving && r->cgroup && !r->first) {
		if (cgroup_end(r->cgroup) < 0)
			ret = -1;
		else if (r->state)
			state_remove(r->state, "cgroup", r->id);
	}
	pthread_mutex_lock(&r->out_lock);
	r->hold = 0;
	supervise_release_held(r);
	pthread_mutex_unlock(&r->out_lock);
	for (i = 0; i < r->d->nservices; i++) {
		struct svc *v = &r->svcs[i];

		for (k = LOG_STDOUT; k <= LOG_STDERR; k++)
			if (v->logs[k])
				log_stream_close(v->logs[k]);
	}
	supervise_flush(r);
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
		free(v->cwd);
		free(v->run_dir);
		cJSON_Delete(v->start_map);
		v->s->runtime = NULL;
	}
	/* release every machine a backend made */
	if (!leaving)
		hosts_at_once(r->d, BACKEND_MACHINES, terminate_one);
	run_disconnect(r->d);
	if (r->state && !r->first) {
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
		/* the state is still locked: no other run of this folder starts */
		prune_runs(r->d->dir, r->id, run_recorded, r->state);
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
	for (i = 0; i < r->nuploads; i++)
		free(r->uploads[i].remote);
	free(r->uploads);
	free(r->svcs);
	free(r->dir);
	free(r->id);
	free(r->cgroup);
	free(r);
	fflush(stdout);
	return ret;
}
