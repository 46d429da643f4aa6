/*
 * local: this machine.  Services are child processes of hydro, each in a
 * process group of its own (and in the run's cgroup where the system gives
 * one: cgroup.h) and killed if hydro dies (proc.h), unless they are to
 * outlive it (run --keep).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "archive.h"
#include "backend.h"
#include "cgroup.h"
#include "error.h"
#include "fs.h"
#include "json.h"
#include "ports.h"
#include "proc.h"
#include "xmalloc.h"

static const char *
local_triple(struct host *h)
{
	static char triple[64];
	struct utsname u;

	(void)h;
	if (!triple[0]) {
		if (uname(&u) < 0)
			return "x86_64-unknown-linux-gnu";
		snprintf(triple, sizeof(triple), "%.40s-unknown-linux-gnu", u.machine);
	}
	return triple;
}

static const char *
local_address(struct host *h)
{
	const char *a = host_get(h, "address");

	return a ? a : "127.0.0.1";
}

static int
local_spawn(struct host *h, struct spawn *sp)
{
	struct proc *p = xcalloc(1, sizeof(*p));
	struct proc init = PROC_INIT;
	int ret;

	(void)h;
	*p = init;
	p->argv = sp->argv;
	p->env = sp->env;
	p->dir = sp->cwd;
	p->in = sp->want_stdin ? PROC_PIPE : PROC_NULL;
	p->out = p->err = PROC_PIPE;
	p->flags = PROC_PGROUP | (sp->keep ? 0 : PROC_PDEATHSIG) |
	           (sp->want_control ? PROC_CONTROL : 0);
	p->listen_fds = sp->listen_fds;
	p->nlisten = sp->nlisten;
	if (sp->cgroup)
		p->cgroup_fd = open(sp->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ret = proc_start(p);
	if (p->cgroup_fd >= 0)
		close(p->cgroup_fd);
	if (ret < 0) {
		free(p);
		return -1;
	}
	sp->in = p->in_fd;
	sp->out = p->out_fd;
	sp->err = p->err_fd;
	sp->ctl = p->ctl_fd;
	sp->exit_fd = p->pidfd;
	sp->pid = p->pid;
	sp->pgid = p->pid;
	sp->ident = p->start_ticks ? p->start_ticks : proc_start_time(p->pid);
	sp->handle = p;
	return 0;
}

static int
local_signal(struct host *h, struct spawn *sp, int sig)
{
	(void)h;
	return sp->handle ? proc_signal(sp->handle, sig) : 0;
}

static int
local_wait(struct host *h, struct spawn *sp, int *status)
{
	struct proc *p = sp->handle;
	int st;
	pid_t r;

	(void)h;
	if (!p || p->pid <= 0)
		return error("process %ld was already waited for", sp->pid);
	do
		r = waitpid(p->pid, &st, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return error_errno("cannot wait for process %ld", sp->pid);
	p->pid = -p->pid;
	*status = WIFEXITED(st) ? WEXITSTATUS(st) :
	          WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
	return 0;
}

static void
local_release(struct host *h, struct spawn *sp)
{
	struct proc *p = sp->handle;

	(void)h;
	if (!p)
		return;
	/* the core may have closed some already: it sets them to -1 */
	p->in_fd = sp->in;
	p->out_fd = sp->out;
	p->err_fd = sp->err;
	p->ctl_fd = sp->ctl;
	p->pidfd = sp->exit_fd;
	proc_close(p);
	sp->in = sp->out = sp->err = sp->ctl = sp->exit_fd = -1;
	free(p);
	sp->handle = NULL;
}

/* a sink that takes nothing */
static int
drop(void *arg, int stream, const char *data, size_t n)
{
	(void)arg;
	(void)stream;
	(void)data;
	(void)n;
	return 0;
}

/* run argv here to completion, its output to sink as it comes; a sink that
 * says stop has the command killed */
static int
local_run(struct host *h, char *const argv[], host_sink *sink, void *arg,
          int *status)
{
	struct proc p = PROC_INIT;
	int st;

	(void)h;
	p.argv = (char **)argv;
	p.out = p.err = PROC_PIPE;
	p.flags = PROC_PGROUP | PROC_PDEATHSIG;
	if (proc_start(&p) < 0)
		return -1;
	proc_read(&p, sink ? sink : drop, sink ? arg : NULL);
	if ((st = proc_finish(&p)) < 0)
		return -1;
	*status = st;
	return 0;
}

/* whether addr:port accepts a TCP connection from here, waiting at most a
 * second for an address that does not answer */
static int
local_probe(struct host *h, const char *addr, int port)
{
	int r = port_try(addr, port, 1000);

	(void)h;
	return r == -2 ? -1 : r == 1;
}

/* each port kept bound until all are picked: no two alike */
static int
local_free_ports(struct host *h, int *ports, size_t n)
{
	int *fds = xcalloc(n, sizeof(*fds));
	size_t i, got = 0;
	int ret = 0;

	while (got < n && ret == 0)
		if ((ret = port_pick(local_address(h), &ports[got], &fds[got])) == 0)
			got++;
	for (i = 0; i < got; i++)
		close(fds[i]);
	free(fds);
	return ret;
}

static int
local_unpack(struct host *h, const char *pkg, const char *dir)
{
	char *parent = path_dirname(dir);
	int ret;

	(void)h;
	ret = mkdir_p(parent, 0755);
	free(parent);
	return ret < 0 ? -1 : archive_unpack(pkg, dir, NULL);
}

/*
 * `hydro down` of a process record ({"pid", "pgid", "ident", "run"}, from a
 * file anyone with the user's rights could have written): every field is
 * checked, and only what is proven to be the process hydro started is
 * signalled.  The proof is the start time (ident) of the group's leader,
 * whose pid is the group's id: Linux gives out no pid that is still a
 * group's id, so a leader that still runs with that start time is ours, and
 * so is its group.  Once the leader is gone (a kill -9 of hydro takes it
 * along), what it started may be left in its group: of those, only the
 * processes that started after it and carry the run's HYDRO_RUN_DIR are
 * signalled.
 */

/* the highest pid Linux gives out (PID_MAX_LIMIT) */
#define PID_LIMIT (1L << 22)

/* a whole number in [lo, hi] at key: 1, 0 when absent, -1 when anything
 * else (reported) */
static int
record_number(const cJSON *record, const char *key, double lo, double hi,
              double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(record, key);

	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble ||
	    v->valuedouble < lo || v->valuedouble > hi)
		return error("the record's %s is not a number hydro could have "
		             "recorded; nothing is signalled", key);
	*out = v->valuedouble;
	return 1;
}

/* SIGKILL what is left of group pgid whose leader (started at ident) is
 * gone: its members that started no earlier and carry the run's mark */
static int
kill_orphans(long pgid, unsigned long long ident, const char *run)
{
	pid_t pids[1024];
	size_t n, i;
	int ret = 0;

	n = proc_group_members((pid_t)pgid, ident, "HYDRO_RUN_DIR", run, 1, pids, 1024);
	for (i = 0; i < n; i++)
		if (kill(pids[i], SIGKILL) < 0 && errno != ESRCH)
			ret = error_errno("cannot stop process %ld (of group %ld)",
			                  (long)pids[i], pgid);
	return ret;
}

static int
local_cleanup(const cJSON *record)
{
	double pid = 0, pgid = 0, ident = 0;
	const char *run = json_str(record, "run"), *cg;
	unsigned long long now;
	pid_t pgrp;
	int r;

	r = record_number(record, "pid", 2, PID_LIMIT, &pid);
	if (r < 0 || record_number(record, "pgid", 2, PID_LIMIT, &pgid) < 0 ||
	    record_number(record, "ident", 1, 9007199254740992.0, &ident) < 0)
		return -1;
	/* a cgroup of the run's own holds all it started, escaped or not */
	cg = json_str(record, "cgroup");
	if (cg && run && cgroup_is_ours(cg, run) && cgroup_end(cg) < 0)
		return -1;
	if (cg && (!run || !cgroup_is_ours(cg, run)))
		return error("the record names cgroup '%s', not one hydro makes for its "
		             "run; nothing is signalled", cg);
	/* no pid: it never started, or hydro was killed before it said so (a
	 * process started without --keep dies with hydro) */
	if (r == 0)
		return 0;
	if (!ident)
		return error("the record of process %ld has no start time to prove "
		             "it is the process hydro started; nothing is signalled",
		             (long)pid);
	/* hydro makes each service the leader of a group of its own */
	if (pgid && pgid != pid)
		return error("the record of process %ld names process group %ld, not "
		             "one of its own as hydro makes; nothing is signalled",
		             (long)pid, (long)pgid);
	if ((now = proc_identity((long)pid, &pgrp))) {
		/* another process has the pid now: our group is gone with it */
		if (now != (unsigned long long)ident)
			return 0;
		if (kill((pid_t)(pgid ? -(long)pgid : (long)pid), SIGKILL) < 0 &&
		    errno != ESRCH)
			return error_errno("cannot stop process %ld", (long)pid);
		return 0;
	}
	if (!pgid)
		return 0;
	if (!run)
		return error("the record of process group %ld has no run to tell what "
		             "is left of it; nothing is signalled", (long)pgid);
	return kill_orphans((long)pgid, (unsigned long long)ident, run);
}

const struct backend backend_local = {
	"local",			/* name */
	BACKEND_THIS_MACHINE | BACKEND_CONTROL,	/* caps */
	local_triple,			/* triple */
	local_address,			/* address */
	NULL,				/* provision: nothing to make */
	NULL,				/* put_file: the files are here */
	local_spawn,			/* spawn */
	local_signal,			/* signal */
	local_wait,			/* wait */
	local_release,			/* release */
	NULL,				/* terminate: nothing to release */
	local_cleanup,			/* cleanup */
	NULL,				/* setup: no run-wide options */
	NULL,				/* check: no settings to check */
	NULL,				/* disconnect: nothing held */
	NULL,				/* register_state: "process" is the run's */
	NULL,				/* sweep: nothing labelled */
	NULL,				/* machine_id: "local" */
	local_run,			/* run */
	local_probe,			/* probe */
	local_free_ports,		/* free_ports */
	local_unpack,			/* unpack */
	NULL,				/* run_dir: the run's own */
	NULL,				/* tunnel: every address is reached */
	NULL,				/* record: nothing to reach again */
	NULL,				/* tunnel_back: it is this machine */
	NULL,					/* allow: nothing in the way */
	NULL,					/* libc: asked with run */
	NULL,					/* listen_watch: /proc/net read here */
};
