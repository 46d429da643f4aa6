#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
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
#include "glibc.h"
#include "hash.h"
#include "json.h"
#include "launch.h"
#include "logs.h"
#include "package.h"
#include "participant.h"
#include "ports.h"
#include "proc.h"
#include "state.h"
#include "str.h"
#include "supervise.h"
#include "toolchain.h"
#include "xmalloc.h"

/* the command a service runs, a new NULL-terminated list: on a host that is
 * not this machine, a program built here is the one unpacked in its run
 * folder (place_service) */
static char **
service_argv(struct run *r, struct svc *v)
{
	struct service *s = v->s;
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
		if (host_is_here(s->host)) {
			exe = xstrdup(built);
		} else {
			char *name = package_program(built);

			exe = path_join(v->run_dir, name);
			free(name);
		}
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
service_env(struct svc *v, char **port_env)
{
	struct service *s = v->s;
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
	env[n++] = xasprintf("HYDRO_RUN_DIR=%s", v->run_dir);
	ALLOC_GROW(env, n, cap);
	env[n] = NULL;
	return env;
}

/* run argv on h to completion; -1 with its output in the error unless it
 * exits 0 */
static int
run_on_host(struct host *h, char **argv, const char *what)
{
	struct buf out = BUF_INIT;
	int st = -1;

	if (host_capture(h, argv, &out, 1, &st) < 0 || st != 0) {
		if (st > 0)
			error("host '%s': cannot %s: '%s' exited %d: %s", h->name, what,
			      argv[0], st, buf_str(&out));
		buf_release(&out);
		return -1;
	}
	buf_release(&out);
	return 0;
}

/* the upload of pkg to h, or NULL */
static struct upload *
upload_of(struct run *r, struct host *h, const struct pkg *pkg)
{
	size_t i;

	for (i = 0; pkg && i < r->nuploads; i++)
		if (r->uploads[i].h == h && r->uploads[i].pkg == pkg)
			return &r->uploads[i];
	return NULL;
}

/* a service's cwd on another host: one given relative to the config (it
 * was joined to the config's directory) is relative to its run folder DIR
 * there; any other is taken as it is */
static char *
remote_cwd(const struct run *r, const struct service *s, const char *dir)
{
	size_t n = strlen(r->d->dir);

	if (!strncmp(s->cwd, r->d->dir, n) && (s->cwd[n] == '/' || !s->cwd[n]))
		return path_join(dir, s->cwd[n] && s->cwd[n + 1] ? s->cwd + n + 1 : ".");
	return xstrdup(s->cwd);
}

/*
 * Where a service runs.  On this machine: in its cwd (else the config's
 * directory), with the run's directory as HYDRO_RUN_DIR, its program from
 * the build's cache.  On another host: in a fresh folder of its own there
 * (host_run_dir), its package unpacked in it when it runs a program built
 * here, and that folder is its HYDRO_RUN_DIR; its cwd is the package's
 * files/ folder when it declared files (so that they are at the names it
 * gave, as here in the config's directory), else that folder; a cwd
 * given relative to the config is relative to that folder, an absolute one
 * is taken as it is.
 */
static int
place_service(struct run *r, struct svc *v)
{
	struct service *s = v->s;
	struct host *h = s->host;
	const struct pkg *pkg;
	struct upload *u;
	char *dir;
	int ret;

	if (v->run_dir)
		return 0;
	if (host_is_here(h)) {
		v->run_dir = xstrdup(r->dir);
		v->cwd = xstrdup(s->cwd ? s->cwd : r->d->dir);
		return 0;
	}
	dir = host_run_dir(h, r->id, s->name);
	if (!dir)
		return error("service '%s': host '%s' has no folder for a service's "
		             "files", s->name, h->name);
	pkg = s->nstandin ? NULL : crate_service_package(r->build, s);
	u = upload_of(r, h, pkg);
	if (pkg && (!u || !u->remote)) {
		free(dir);
		return error("service '%s': its program was not uploaded to host '%s'",
		             s->name, h->name);
	}
	/* unpack makes dir and the folders above it, in the same command; a
	 * half-unpacked one never under its name */
	ret = u ? host_unpack(h, u->remote, dir) :
	      run_on_host(h, (char *[]){ "mkdir", "-p", dir, NULL }, "make the run folder");
	if (ret < 0) {
		free(dir);
		return error("service '%s': cannot place its files on host '%s'",
		             s->name, h->name);
	}
	v->run_dir = dir;
	v->cwd = s->cwd ? remote_cwd(r, s, dir) :
	         u && s->nfiles ? path_join(dir, "files") : xstrdup(dir);
	return 0;
}

/* spawn the service, record it, hand it to the supervisor */
static int
spawn_service(struct run *r, struct svc *v, char **port_env)
{
	struct service *s = v->s;
	char **argv, **env, *path;
	cJSON *rec, *host_rec;
	int ret, k;

	if (place_service(r, v) < 0)
		return -1;
	argv = service_argv(r, v);
	if (!argv)
		return -1;
	env = service_env(v, port_env);

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
	v->sp.cwd = v->cwd;
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
		/* what the host's backend needs to reach it again after a
		 * crash of hydro (its cleanup gets the record), else its name */
		host_rec = host_record(s->host);
		if (host_rec)
			cJSON_AddItemToObject(rec, "host", host_rec);
		else
			cJSON_AddStringToObject(rec, "host", s->host->name);
		cJSON_AddStringToObject(rec, "backend", s->host->backend ? s->host->backend : "local");
		cJSON_AddStringToObject(rec, "run_dir", v->run_dir);
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

/* the listening sockets table of /proc/net on the host: what `files`
 * hold (on this machine, read here; elsewhere through cat there) into out;
 * 1 if it has any, 0 if it cannot be had (no /proc), -1 with the error */
static int
listen_table(struct host *h, char *const files[], struct buf *out)
{
	char *argv[4] = { "cat", NULL, NULL, NULL };
	int st, fd;
	size_t i;

	if (host_is_here(h)) {
		for (i = 0; files[i]; i++) {
			/* tcp6 is missing where IPv6 is off */
			if ((fd = open(files[i], O_RDONLY | O_CLOEXEC)) < 0)
				continue;
			st = read_fd(fd, files[i], out);
			close(fd);
			if (st < 0)
				return -1;
		}
		return out->len > 0;
	}
	for (i = 0; files[i] && i < 2; i++)
		argv[i + 1] = files[i];
	if (host_capture(h, argv, out, 0, &st) < 0)
		return -1;
	return out->len > 0;
}

/*
 * READY_PORT: whether addr ("ip:port", or "unix:PATH" of a host on this
 * machine) accepts connections, seen from the service's host: 1, 0, -1.
 *
 * Asked of the host's socket tables (/proc/net/tcp and tcp6, /proc/net/unix):
 * a socket listening there accepts.  Not by connecting: a program that
 * counts its senders would count the check.  A host without those tables
 * (not Linux) is asked to connect (host_probe), which the program sees.
 */
static int
try_connect(struct host *h, const char *addr)
{
	static char *const tcp[] = { "/proc/net/tcp", "/proc/net/tcp6", NULL };
	static char *const unix_[] = { "/proc/net/unix", NULL };
	struct buf table = BUF_INIT;
	struct sockaddr_un sun;
	char *ip;
	int fd, port, ok = 0, got;

	if (str_starts(addr, "unix:")) {
		if (!host_is_here(h))
			return error("cannot check a Unix socket on host '%s': only "
			             "ports on TCP are checked on a remote host", h->name);
		got = listen_table(h, unix_, &table);
		if (got > 0)
			ok = port_unix_listening(buf_str(&table), addr + 5);
		buf_release(&table);
		if (got != 0)
			return got < 0 ? -1 : ok;
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", addr + 5);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ok = fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
		if (fd >= 0)
			close(fd);
		return ok;
	}
	if (port_split(addr, &ip, &port) < 0)
		return -1;
	ok = listen_table(h, tcp, &table);
	if (ok > 0)
		ok = port_listening(buf_str(&table), ip, port);
	else if (ok == 0)
		ok = host_probe(h, ip, port);
	buf_release(&table);
	free(ip);
	return ok;
}

/* read what is there on *fd, into keep (or nowhere: NULL); close it at
 * its end */
static void
drain(int *fd, struct buf *keep)
{
	char tmp[4096];
	ssize_t n;

	if (*fd < 0)
		return;
	while ((n = read(*fd, tmp, sizeof(tmp))) > 0)
		if (keep)
			buf_add(keep, tmp, (size_t)n);
	if (n == 0) {
		close(*fd);
		*fd = -1;
	}
}

/*
 * A check sp started on the service's host, run to its end: its stdout
 * kept in out (may be NULL: read and dropped, as a full pipe would stop
 * it), its stderr in err (likewise).  Cut when the run stops, the deadline
 * passes or the service exits: its process group killed, so that nothing
 * is left of it on the host and the run never hangs on it.  Released
 * either way; 0 with its exit status in *status, 1 when cut, -1 with the
 * error reported.
 */
static int
check_run(struct run *r, struct svc *v, struct task *t, double deadline,
          struct spawn *sp, struct buf *out, struct buf *err, int *status)
{
	struct host *h = v->s->host;
	int ret, cut = 0;

	set_nonblock(sp->out);
	set_nonblock(sp->err);
	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = sp->exit_fd, .events = POLLIN },
			{ .fd = sp->out, .events = POLLIN },
			{ .fd = sp->err, .events = POLLIN },
		};
		int over = poll(pfd, 3, 50) > 0 &&
		           (pfd[0].revents & (POLLIN | POLLHUP | POLLERR));

		/* what it printed before its end is in the pipes by then */
		drain(&sp->out, out);
		drain(&sp->err, err);
		if (over)
			break;
		if (task_stop(t, r) || run_now() >= deadline || v->exited) {
			host_signal(h, sp, SIGKILL);
			cut = 1;
			break;
		}
	}
	ret = host_wait(h, sp, status);
	host_release(h, sp);
	if (cut)
		return 1;	/* the caller says why */
	return ret < 0 ? -1 : 0;
}

/*
 * READY_COMMAND: run the check once on the service's host, in its directory
 * with its environment and ports, in a group of its own that dies with
 * hydro, cut at the deadline or when the run stops.  Its exit status (0:
 * ready), or -1 with the error reported.
 */
static int
ready_command(struct run *r, struct svc *v, struct task *t, double deadline)
{
	struct service *s = v->s;
	struct spawn sp = SPAWN_INIT;
	char **env, **ports;
	int st = -1, ret;

	pthread_mutex_lock(&r->lock);
	ports = plan_env(r->plan, s);
	pthread_mutex_unlock(&r->lock);
	env = service_env(v, ports);
	str_free_list(ports);
	sp.argv = s->ready.argv;
	sp.env = env;
	sp.cwd = v->cwd;
	ret = host_spawn(s->host, &sp);
	str_free_list(env);
	if (ret < 0)
		return error("service '%s': cannot run its readiness check", s->name);
	ret = check_run(r, v, t, deadline, &sp, NULL, NULL, &st);
	return ret < 0 ? -1 : ret == 1 ? 1 : st;
}

/*
 * READY_PORT on a host that is not this machine, TCP: one command there
 * waits until its socket tables show a socket listening on the port
 * (host_listen_watch) and prints those lines, which port_listening() reads
 * here as it reads this machine's; lines of another address start the next
 * wait, from them.  1 ready, 0 cut (the caller says why), 2 when the host
 * cannot watch (no such slot, no tables: it is asked once per check), -1
 * with the error reported.
 */
static int
watch_port(struct run *r, struct svc *v, struct task *t, double deadline,
           const char *ip, int port)
{
	struct host *h = v->s->host;
	struct buf seen = BUF_INIT, out = BUF_INIT, err = BUF_INIT;
	int ret, st = -1;

	for (;;) {
		struct spawn sp = SPAWN_INIT;

		buf_reset(&out);
		buf_reset(&err);
		ret = host_listen_watch(h, port, buf_str(&seen), &sp);
		if (ret != 0) {
			ret = ret < 0 ? -1 : 2;
			break;
		}
		ret = check_run(r, v, t, deadline, &sp, &out, &err, &st);
		if (ret != 0) {
			ret = ret < 0 ? -1 : 0;	/* cut: not ready */
			break;
		}
		if (st == 3) {
			ret = 2;
			break;
		}
		if (st != 0) {
			ret = error("service '%s': the wait for port %d on host '%s' "
			            "exited %d: %s", v->s->name, port, h->name, st,
			            buf_str(&err));
			break;
		}
		if (port_listening(buf_str(&out), ip, port)) {
			ret = 1;
			break;
		}
		buf_reset(&seen);
		buf_add(&seen, out.data, out.len);
	}
	buf_release(&seen);
	buf_release(&out);
	buf_release(&err);
	return ret;
}

/* wait until the service is ready as it declared */
static int
await_ready(struct run *r, struct svc *v, struct task *t)
{
	struct service *s = v->s;
	double deadline = run_now() + r->opt.ready_timeout;
	const char *addr = NULL;
	char *ip = NULL;
	int st, port = 0, watch = 0, ret = -1;

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
		/* elsewhere, the host waits: one command, not one per check */
		watch = !host_is_here(s->host) && !str_starts(addr, "unix:");
		if (watch && port_split(addr, &ip, &port) < 0)
			return -1;
	}
	for (;;) {
		int ready = 0;

		switch (s->ready.kind) {
		case READY_PORT:
			if (watch) {
				st = watch_port(r, v, t, deadline, ip, port);
				if (st < 0)
					goto out;
				ready = st == 1;
				watch = st != 2;
				if (st != 2)
					break;
			}
			ready = try_connect(s->host, addr);
			if (ready < 0)
				goto out;
			break;
		case READY_LOG:
			ready = atomic_load(&v->ready_seen);
			break;
		case READY_COMMAND:
			st = ready_command(r, v, t, deadline);
			if (st < 0)
				goto out;
			ready = st == 0;
			break;
		case READY_NONE:
			ready = 1;
			break;
		}
		if (ready) {
			ret = 0;
			goto out;
		}
		/* a stop asked for (Ctrl-C) stops the services too: its word
		 * comes first, whichever was seen first */
		if (v->exited && atomic_load(&r->cancel) == 0) {
			struct buf why = BUF_INIT;
			supervise_describe_status(&why, v->status);
			error("service '%s' %s before it was ready", s->name, buf_str(&why));
			buf_release(&why);
			supervise_note_tail(v);
			goto out;
		}
		if (task_stop(t, r)) {
			error("service '%s': %s while waiting for it to be ready", s->name,
			      stop_cause(r));
			goto out;
		}
		if (run_now() >= deadline) {
			error("service '%s' was not ready within %g s "
			      "(HYDRO_READY_TIMEOUT sets the limit)", s->name,
			      r->opt.ready_timeout);
			goto out;
		}
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
		} else if (!watch) {
			usleep(50000);
		}
	}
out:
	free(ip);
	return ret;
}

/* how long this machine waits for an answer from a peer's address before
 * it goes through a tunnel instead */
#define REACH_MS 1000

/* whether host (an IP as port_split gives it, or a name) is a loopback
 * address of this machine, which no other machine reaches */
static int
loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	return !strcmp(host, "localhost") ||
	       (inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127) ||
	       (inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6));
}

/* s, a sender on another machine, into pe, an input here bound on
 * loopback at where (pe's host and port as one address): told
 * 127.0.0.1:PORT of a tunnel back its host listens on */
static int
route_back(struct run *r, struct service *s, struct plan_peer *pe, const char *where)
{
	int rp;

	if (host_tunnel_back(s->host, pe->addr, pe->port, &rp) < 0)
		return error("service '%s' on host '%s' cannot reach %s on this machine, "
		             "nor tunnel back to it; give this machine's host an address "
		             "host '%s' reaches (Localhost(address=...))", s->name,
		             s->host->name, where, s->host->name);
	if (r->o.verbose)
		note("'%s' on host '%s' reaches %s here through a tunnel back at "
		     "127.0.0.1:%d there", s->name, s->host->name, where, rp);
	pthread_mutex_lock(&r->lock);
	plan_set_route(r->plan, pe->wire, "127.0.0.1", rp);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

/*
 * A service on this machine sending to an input on another machine is told
 * the address that input bound, when this machine reaches that address;
 * when not (no route, a private address behind a bastion), a tunnel through
 * the receiver's host (host_tunnel) ends at a local port, and the sender is
 * told that port instead.
 *
 * Reaching is a connection from here to the address's port 0, where nothing
 * can listen: refused means the host answered.  Not the input's own port:
 * a program counts the connections it accepts as its senders.  No answer
 * within REACH_MS, or no route, is unreachable.
 *
 * A service elsewhere is told the bound address, but for an input on this
 * machine bound on loopback (this machine's host has no address= its
 * peers reach): no other machine reaches that, so the sender's host opens
 * a tunnel back (host_tunnel_back) and the sender is told its port there.
 */
static int
route_peers(struct run *r, struct svc *v)
{
	struct service *s = v->s;
	struct plan_peer *peers;
	size_t i, n;
	int ret = 0, reach, lp, here = host_is_here(s->host);

	pthread_mutex_lock(&r->lock);
	n = plan_remote_peers(r->plan, s, &peers);
	pthread_mutex_unlock(&r->lock);
	for (i = 0; i < n; i++) {
		struct plan_peer *pe = &peers[i];
		char *where = port_join(pe->addr, pe->port);

		if (!here) {
			if (ret == 0 && host_is_here(pe->host) && loopback(pe->addr))
				ret = route_back(r, s, pe, where);
			free(pe->addr);
			free(where);
			continue;
		}
		reach = ret < 0 ? 1 : port_try(pe->addr, 0, REACH_MS);
		if (reach == -2) {
			ret = -1;
		} else if (reach == -1) {
			if (host_tunnel(pe->host, pe->addr, pe->port, &lp) < 0) {
				ret = error("service '%s': this machine cannot reach %s on "
				            "host '%s', nor tunnel to it", s->name, where,
				            pe->host->name);
			} else {
				if (r->o.verbose)
					note("'%s' reaches %s on host '%s' through a tunnel "
					     "at 127.0.0.1:%d", s->name, where, pe->host->name, lp);
				pthread_mutex_lock(&r->lock);
				plan_set_route(r->plan, pe->wire, "127.0.0.1", lp);
				pthread_mutex_unlock(&r->lock);
			}
		}
		free(pe->addr);
		free(where);
	}
	free(peers);
	return ret;
}

/* the receivers' hosts let the service's connections in (a cloud's
 * firewall) before it makes them: the ports it sends to are chosen */
static int
allow_peers(struct run *r, struct svc *v)
{
	struct plan_peer *peers;
	struct host_port *to;
	size_t i, n;
	int ret;

	pthread_mutex_lock(&r->lock);
	n = plan_remote_peers(r->plan, v->s, &peers);
	pthread_mutex_unlock(&r->lock);
	to = xcalloc(n + 1, sizeof(*to));
	for (i = 0; i < n; i++) {
		to[i].host = peers[i].host;
		to[i].port = peers[i].port;
		free(peers[i].addr);
	}
	ret = n ? hosts_allow(v->s->host, to, n) : 0;
	free(to);
	free(peers);
	return ret;
}

/* the glibc of host h, asked once for all its uploads (their tasks wait for
 * this one) */
static int
ask_glibc(struct run *r, struct host *h)
{
	char have[GLIBC_VERSION_MAX];
	int asked = 0;
	size_t i;

	for (i = 0; i < r->nuploads; i++) {
		if (r->uploads[i].h != h)
			continue;
		if (!asked++ && glibc_of_host(h, have) < 0)
			return -1;
		memcpy(r->uploads[i].glibc, have, sizeof(have));
	}
	return 0;
}

int
launch_provision(struct task *t, void *arg)
{
	struct launch_arg *a = arg;
	struct run *r = a->r;
	size_t i, n = 0, k = 0;
	int ret = 0, *ports;

	(void)t;
	if (host_provision(a->h) < 0)
		return -1;
	if (ask_glibc(r, a->h) < 0)
		return -1;
	/* a process is handed its ports: the host says which are free, all
	 * of this host's at once (one read of its tables) */
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->d->nservices; i++)
		if (r->d->services[i]->host == a->h && !service_speaks(r->d->services[i]))
			n += plan_ports_wanted(r->plan, r->d->services[i]);
	pthread_mutex_unlock(&r->lock);
	ports = xcalloc(n + 1, sizeof(*ports));
	if (host_free_ports(a->h, ports, n) < 0) {
		free(ports);
		return -1;
	}
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->d->nservices && ret == 0; i++) {
		struct service *s = r->d->services[i];
		size_t want;

		if (s->host != a->h || service_speaks(s))
			continue;
		want = plan_ports_wanted(r->plan, s);
		ret = k + want > n ? error("service '%s': its ports changed while they "
		                           "were chosen", s->name) :
		      plan_bind_process(r->plan, s, ports + k);
		k += want;
	}
	pthread_mutex_unlock(&r->lock);
	free(ports);
	return ret;
}

int
launch_upload(struct task *t, void *arg)
{
	struct launch_arg *a = arg;
	struct upload *u = a->u;
	const char *pkg = package_path(u->pkg), *exe = crate_exe(a->r->build, u->s);
	const char *base;
	char hex[HASH_HEX_LEN];
	struct hash hash;

	if (task_stop(t, a->r))
		return -1;
	if (!pkg || !exe)
		return error("service '%s': its program was not packaged", u->s->name);
	/* a host whose glibc is too old is told before anything is sent */
	if (glibc_check(u->h, u->glibc, exe, u->s->name) < 0)
		return -1;
	/* a package is named by its hash: HASH.tar.zst */
	base = path_basename(pkg);
	snprintf(hex, sizeof(hex), "%.64s", base);
	if (hash_parse(hex, &hash) < 0)
		return error("package '%s' is not named by its hash", pkg);
	if (host_put_file(u->h, pkg, &hash, &u->remote) < 0)
		return error("cannot upload '%s' to host '%s'", path_display(pkg), u->h->name);
	return 0;
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

		if (allow_peers(r, v) < 0 || route_peers(r, v) < 0)
			return -1;
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

	if (task_stop(t, r) || allow_peers(r, v) < 0 || route_peers(r, v) < 0)
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

