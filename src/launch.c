#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "buf.h"
#include "cli.h"
#include "crate.h"
#include "dialect.h"
#include "error.h"
#include "fs.h"
#include "json.h"
#include "launch.h"
#include "logs.h"
#include "participant.h"
#include "ports.h"
#include "proc.h"
#include "state.h"
#include "str.h"
#include "supervise.h"
#include "toolchain.h"
#include "xmalloc.h"

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
	} else {
		/* the program its build task made (crate.h), from a crate or a .hf */
		const char *built = crate_exe(r->build, s);
		const char *triple = crate_service_target(r->build, s);
		const char *const *words;
		int nwords = 0, k;

		if (!built) {
			error("service '%s': its %s '%s' was not built", s->name,
			      s->kind == SERVICE_CRATE ? "crate" : "program", s->src);
			return NULL;
		}
		/* built for another target than this machine's: qemu-user runs it */
		if (triple && (host_caps(s->host) & BACKEND_THIS_MACHINE) &&
		    toolchain_runner(triple, &words, &nwords) < 0)
			return NULL;
		for (k = 0; k < nwords; k++) {
			ALLOC_GROW(argv, n, cap);
			argv[n++] = xstrdup(words[k]);
		}
		exe = xstrdup(built);
		ALLOC_GROW(argv, n, cap);
		argv[n++] = exe;
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
		log_stream_on_line(v->logs[k], supervise_line, &v->ss[k]);
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
	v->sp.cgroup = r->cgroup;
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
		if (r->cgroup)
			cJSON_AddStringToObject(rec, "cgroup", r->cgroup);
		state_update(r->state, "process", v->record, rec);
	}
	set_nonblock(v->sp.out);
	set_nonblock(v->sp.err);
	set_nonblock(v->sp.ctl);
	if (r->o.verbose)
		note("launched '%s' (pid %ld)", s->name, v->sp.pid);
	rec = cJSON_CreateObject();
	cJSON_AddNumberToObject(rec, "pid", (double)v->sp.pid);
	supervise_event(r, "launch", v, rec);

	pthread_mutex_lock(&r->lock);
	v->stdio_proto = service_speaks(s) && v->sp.ctl < 0;
	v->send_fd = v->sp.ctl >= 0 ? v->sp.ctl : v->sp.in;
	v->launched = 1;
	supervise_watch(r, v->sp.exit_fd, (uint64_t)s->index << 2);
	supervise_watch(r, v->sp.out, (uint64_t)s->index << 2 | LOG_STDOUT);
	supervise_watch(r, v->sp.err, (uint64_t)s->index << 2 | LOG_STDERR);
	supervise_watch(r, v->sp.ctl, (uint64_t)s->index << 2 | 3);
	if (r->stopping_all)
		supervise_stop(r, v);
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
	double deadline = run_now() + timeout;
	int ret = 0, cancelled = 0, unsent;

	*reply = NULL;
	pthread_mutex_lock(&r->lock);
	free(v->reply);
	v->reply = NULL;
	v->expect = expect;
	/* a service that cannot be written to is ending: what it ended with
	 * (its status, its stderr) says more than the write's error */
	unsent = msg && (v->send_fd < 0 || write_in_full(v->send_fd, msg, strlen(msg)) < 0);
	if (unsent && deadline > run_now() + 5)
		deadline = run_now() + 5;
	while ((unsent || !v->reply) && !v->exited) {
		struct timespec ts;
		double wait_until = run_now() + 0.1;

		if (task_stop(t, r)) {
			ret = error("service '%s': %s while waiting for '%s'", v->s->name,
			            stop_cause(r),
			            !strcmp(expect, "ready: ") ? "ready:" : expect);
			cancelled = 1;
			break;
		}
		if (run_now() >= deadline && unsent) {
			ret = error("cannot send the handshake to service '%s'", v->s->name);
			break;
		}
		if (run_now() >= deadline) {
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
			double d = wait_until - run_now();
			long ns = ts.tv_nsec + (long)(d * 1e9);
			ts.tv_sec += ns / 1000000000L;
			ts.tv_nsec = ns % 1000000000L;
		}
		pthread_cond_timedwait(&v->answer, &r->lock, &ts);
	}
	if ((unsent || !v->reply) && v->exited && ret == 0) {
		supervise_describe_status(&why, v->status);
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
			supervise_note_tail(v);
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
		if (task_stop(t, r) || run_now() >= deadline || v->exited) {
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
	double deadline = run_now() + r->opt.ready_timeout;
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
			supervise_describe_status(&why, v->status);
			error("service '%s' %s before it was ready", s->name, buf_str(&why));
			buf_release(&why);
			supervise_note_tail(v);
			return -1;
		}
		if (task_stop(t, r))
			return error("service '%s': %s while waiting for it to be ready", s->name,
			             stop_cause(r));
		if (run_now() >= deadline)
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

int
launch_provision(struct task *t, void *arg)
{
	struct launch_arg *a = arg;

	(void)t;
	return host_provision(a->h);
}

int
launch_service(struct task *t, void *arg)
{
	struct launch_arg *a = arg;
	struct run *r = a->r;
	struct svc *v = a->v;
	struct service *s = v->s;
	char **env = NULL, *line, *reply = NULL;
	enum dialect d;
	cJSON *ic;
	int ret;

	if (task_stop(t, r))
		return -1;
	if (s->kind == SERVICE_SCRIPT)
		return participant_launch(r, v);
	if (!service_speaks(s)) {
		int *socks;

		pthread_mutex_lock(&r->lock);
		env = plan_env(r->plan, s);
		v->sp.nlisten = plan_sockets(r->plan, s, &socks);
		pthread_mutex_unlock(&r->lock);
		if (!env) {
			free(socks);
			return -1;
		}
		/* sockets "inherit": its listening sockets, at 3, 4, ...; hydro's
		 * copies are closed once it has them (or has failed to start) */
		v->sp.listen_fds = socks;
		ret = spawn_service(r, v, env);
		v->sp.listen_fds = NULL;
		v->sp.nlisten = 0;
		free(socks);
		pthread_mutex_lock(&r->lock);
		plan_close_sockets(r->plan, s);
		pthread_mutex_unlock(&r->lock);
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
	if (dialect_of_service(s, &d) < 0 || spawn_service(r, v, NULL) < 0)
		return -1;
	v->dialect = d;
	pthread_mutex_lock(&r->lock);
	ic = plan_init_config(r->plan, s);
	pthread_mutex_unlock(&r->lock);
	line = dialect_init_line(v->dialect, ic);
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

int
launch_wire(struct task *t, void *arg)
{
	struct launch_arg *a = arg;
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

int
launch_start(struct task *t, void *arg)
{
	struct launch_arg *a = arg;
	struct run *r = a->r;
	struct svc *v = a->v;
	char *text, *line, *reply = NULL;
	int ret = 0;

	if (task_stop(t, r))
		return -1;
	pthread_mutex_lock(&r->lock);
	text = json_print(v->start_map);
	pthread_mutex_unlock(&r->lock);
	line = xasprintf("start: %s\n", text);
	free(text);
	if (dialect_acks_start(v->dialect)) {
		ret = handshake(r, v, t, line, "ack start", r->opt.start_timeout, &reply);
	} else {
		/* hydroflow 0.5.0 reads start: and answers nothing */
		pthread_mutex_lock(&r->lock);
		if (v->send_fd < 0 || write_in_full(v->send_fd, line, strlen(line)) < 0)
			ret = error("cannot send 'start:' to service '%s'", v->s->name);
		pthread_mutex_unlock(&r->lock);
	}
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

