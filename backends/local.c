/*
 * local: this machine.  Services are child processes of hydro, each in a
 * process group of its own and killed if hydro dies (proc.h), unless they
 * are to outlive it (run --keep).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "error.h"
#include "json.h"
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

	(void)h;
	*p = init;
	p->argv = sp->argv;
	p->env = sp->env;
	p->dir = sp->cwd;
	p->in = sp->want_stdin ? PROC_PIPE : PROC_NULL;
	p->out = p->err = PROC_PIPE;
	p->flags = PROC_PGROUP | (sp->keep ? 0 : PROC_PDEATHSIG) |
	           (sp->want_control ? PROC_CONTROL : 0);
	if (proc_start(p) < 0) {
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

static int
local_cleanup(const cJSON *record)
{
	long pid = 0, pgid = 0;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(record, "ident");
	unsigned long long ident = cJSON_IsNumber(v) ? (unsigned long long)v->valuedouble : 0;
	unsigned long long now;

	json_long(record, "pid", &pid);
	json_long(record, "pgid", &pgid);
	if (pid <= 0)
		return 0;
	now = proc_start_time(pid);
	/* the leader is another process now: Linux gives out no pid that is
	 * still a process group's id, so our group is gone too */
	if (ident && now && now != ident)
		return 0;
	/* the leader is gone: what it started may be left in its group */
	if (pgid > 0 && kill((pid_t)-pgid, SIGKILL) < 0 && errno != ESRCH)
		return error_errno("cannot stop process group %ld", pgid);
	if (pgid <= 0 && kill((pid_t)pid, SIGKILL) < 0 && errno != ESRCH)
		return error_errno("cannot stop process %ld", pid);
	return 0;
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
};
