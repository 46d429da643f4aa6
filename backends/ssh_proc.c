/*
 * ssh_proc: processes on SSH hosts, handed to the core as local
 * descriptors (backend.h's spawn, signal, wait, release, cleanup).
 *
 * A process runs under a wrapper (a POSIX sh snippet: nothing to install
 * on the host) on a session channel of its own: the wrapper starts it with
 * setsid(1), so that it leads a process group and session of its own, in
 * its cwd, with its environment added by env(1), and waits for it; the
 * process itself prints "hydro-spawn PID STARTTIME" (its start time from
 * /proc/PID/stat, which tells it from a later process with its pid) as its
 * first line before it execs, so that the header comes before any output;
 * the wrapper exits with its status, 128+n for a signal n.  The
 * connection's pump (ssh_pump.c) moves the channel's stdout and stderr into
 * pipes the core reads, the core's stdin pipe into the channel, and writes
 * to the exit pipe once the channel has closed.
 *
 * When the process ends, its wrapper kills what is left of its group (as
 * the core does once a process has exited), so that signal has nothing to
 * do for it then: reaping needs no command.
 *
 * A process must not outlive hydro (unless kept): each connection has a
 * guard, a channel running a snippet that reads heartbeat lines the pump
 * sends every ssh_alive_seconds (30 by default); the command that read the
 * host's facts (ssh_transport.c) goes on as it, else the first process
 * starts one.  Each process writes its start time to the guard's folder
 * under its pid (the first makes the folder), and the wrapper removes it
 * when the process exits.  When the
 * guard's input ends (hydro died, the connection dropped: sshd closes the
 * channel's pipes) or no heartbeat came for ten times that (a connection
 * cut silently), it kills every group in its folder whose leader still
 * has the recorded start time.  A kept process is not in the guard's
 * folder, and its output goes through relays that keep reading (and drop
 * it) once the channel is gone, so that it is not killed by SIGPIPE at its
 * next line; its stdin comes through a fifo the wrapper holds open until it
 * exits, so that the channel's end is not the end of its input (a
 * speaker's "stop").
 *
 * Not BACKEND_CONTROL: the port protocol goes over stdin and stdout.
 */
#define _GNU_SOURCE	/* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "error.h"
#include "json.h"
#include "ssh.h"
#include "ssh_int.h"
#include "xmalloc.h"

/* the start time (field 22) in the /proc/PID/stat line in $ST, into $ID:
 * the fields after "PID (COMM) " are numbers (and the state's letter),
 * split by the shell, no command run */
#define START_TIME(st, id) \
	"st22() { " id "=${20}; }\n" \
	"st22 ${" st "##*) }\n"

/* the process: $1 the guard's folder or "", then -- ENV... ARGV... for
 * env(1); prints the header and execs */
static const char inner_script[] =
	"g=$1; shift\n"
	"read -r st </proc/$$/stat\n"
	START_TIME("st", "id")
	"[ -z \"$g\" ] || printf '%s\\n' \"$id\" >\"$g/$$\" || exit 127\n"
	"printf 'hydro-spawn %s %s\\n' $$ \"$id\"\n"
	"exec env \"$@\"\n";

/* the wrapper: $1 the process's script, $2 the guard's folder or "", $3
 * its cwd or "", $4 1 for stdin, $5 1 to keep it; then -- ENV... ARGV... */
static const char wrapper_script[] =
	"inner=$1 g=$2 d=$3 i=$4 k=$5; shift 5\n"
	"case $g in \"~/\"*) g=$HOME/${g#\"~/\"} ;; esac\n"
	"case $d in \"~/\"*) d=$HOME/${d#\"~/\"} ;; esac\n"
	"if [ -n \"$d\" ] && ! cd -- \"$d\"; then\n"
	"	echo \"hydro-spawn-failed cannot change to '$d' there\"; exit 127\n"
	"fi\n"
	"if [ -n \"$g\" ] && [ ! -d \"$g\" ] && ! mkdir -p -- \"$g\"; then\n"
	"	echo \"hydro-spawn-failed cannot make '$g' there\"; exit 127\n"
	"fi\n"
	"exec 3<&0\n"
	"[ \"$i\" = 1 ] || exec 3</dev/null\n"
	"if [ \"$k\" = 1 ]; then\n"
	"	trap '' HUP PIPE\n"
	"	f=$(mktemp -d) || exit 127\n"
	"	mkfifo \"$f/i\" \"$f/o\" \"$f/e\" || exit 127\n"
	/* its stdin through a fifo this shell holds open until it exits: the
	 * channel's end is not the end of its input */
	"	if [ \"$i\" = 1 ]; then\n"
	"		exec 4<>\"$f/i\"\n"
	"		(trap '' PIPE HUP; cat >&4 4>&- || exec cat) <&3 >/dev/null 2>&1 &\n"
	"		exec 3<\"$f/i\"\n"
	"	fi\n"
	/* relays that outlive the channel, reading on (to nowhere) after it */
	"	(trap '' PIPE HUP; { cat || exec cat >/dev/null; } <\"$f/o\" 4>&-) &\n"
	"	(trap '' PIPE HUP; { cat >&2 || exec cat >/dev/null; } <\"$f/e\" 4>&-) &\n"
	"	setsid -w sh -c \"$inner\" sh \"$g\" \"$@\" <&3 3<&- 4>&- >\"$f/o\" 2>\"$f/e\" &\n"
	"	p=$!\n"
	"else\n"
	"	setsid -w sh -c \"$inner\" sh \"$g\" \"$@\" <&3 3<&- &\n"
	"	p=$!\n"
	"fi\n"
	/* the shell's word on a job killed by a signal is not the process's */
	"exec 3<&- 2>/dev/null\n"
	"wait $p\n"
	"s=$?\n"
	/* what its group left behind goes with it, as hydro's reaping would
	 * do, so that hydro need not ask: the kernel gives no new process the
	 * group's id while a member is left, and with none left the kill
	 * finds nothing (pids are handed out in turn, not reused at once) */
	"[ \"$k\" = 1 ] || kill -9 -$p 2>/dev/null\n"
	"[ -z \"$g\" ] || rm -f -- \"$g/$p\"\n"
	"[ \"$k\" != 1 ] || rm -rf -- \"$f\"\n"
	"exit $s\n";

/* the guard: $1 its folder (made by the first process's wrapper), $2
 * seconds without a heartbeat that end it */
const char ssh_guard_script[] =
	"g=$1\n"
	"case $g in \"~/\"*) g=$HOME/${g#\"~/\"} ;; esac\n"
	"while l=$(timeout \"$2\" head -n 1) && [ -n \"$l\" ]; do :; done\n"
	"for f in \"$g\"/*; do\n"
	"	[ -f \"$f\" ] || continue\n"
	"	p=${f##*/}\n"
	"	read -r id <\"$f\"\n"
	"	read -r st 2>/dev/null </proc/$p/stat || continue\n"
	"	now=\n"
	START_TIME("st", "now")
	"	[ \"$now\" = \"$id\" ] && kill -9 -$p 2>/dev/null\n"
	"done\n"
	"[ ! -d \"$g\" ] || rm -rf -- \"$g\"\n";

/* hydro down: $1 pid, $2 pgid, $3 start time; exits 0 if it is gone or was
 * killed, 3 if the pid is another process's now */
static const char cleanup_script[] =
	"read -r st 2>/dev/null </proc/$1/stat || exit 0\n"
	START_TIME("st", "now")
	"[ \"$now\" = \"$3\" ] || exit 3\n"
	"kill -9 -$2 2>/dev/null\n"
	"exit 0\n";

struct ssh_proc {
	struct ssh_conn *c;
	struct pump_link *link;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int headed;		/* the header line came */
	int finished;		/* done has run: the link is the pump's */
	int status;		/* the exit status, -1 unknown */
	char *failed;		/* why it did not start (a hydro-spawn-failed line) */
	long pid;
	unsigned long long ident;
	int exit_w;		/* the write end of the exit pipe */
	int keep;		/* may outlive hydro: its wrapper leaves its group */
};

static void
proc_header(void *arg, const char *line)
{
	struct ssh_proc *p = arg;
	long pid;
	unsigned long long ident;

	pthread_mutex_lock(&p->lock);
	if (sscanf(line, "hydro-spawn %ld %llu", &pid, &ident) == 2) {
		p->pid = pid;
		p->ident = ident;
	} else {
		p->failed = xstrdup(strncmp(line, "hydro-spawn-failed ", 19) ? line : line + 19);
	}
	p->headed = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void
proc_done(struct pump_link *l, void *arg, int status)
{
	struct ssh_proc *p = arg;
	char x = 0;

	(void)l;
	pthread_mutex_lock(&p->lock);
	p->status = status;
	if (write(p->exit_w, &x, 1) < 0) {
		/* the core closed its end: nobody waits */
	}
	close(p->exit_w);
	p->exit_w = -1;
	p->finished = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

char *
ssh_guard_folder(void)
{
	static unsigned seq;

	return xasprintf("~/.hydro/guard/%ld-%lx-%u", (long)getpid(), (long)time(NULL),
	                 __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
}

void
ssh_guard_silence(char out[16])
{
	/* a heartbeat every ssh_alive_seconds, ten missed: the connection is
	 * long given up here */
	snprintf(out, 16, "%d", 10 * ssh_alive_seconds());
}

int
ssh_guard_adopt(struct ssh_conn *c, LIBSSH2_CHANNEL *ch, char *folder)
{
	struct pump_link *l;
	int out, err;

	out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	err = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (out < 0 || err < 0 || pump_start(c) < 0) {
		if (out >= 0)
			close(out);
		if (err >= 0)
			close(err);
		if (out < 0 || err < 0)
			error_errno("cannot open /dev/null");
		ssh_channel_drop(c, ch);
		free(folder);
		return -1;
	}
	l = pump_process(c, ch, -1, out, err, NULL, NULL, NULL);
	pump_beat(l, ssh_alive_seconds());
	c->guard = folder;
	return 0;
}

/* start c's guard (c locked) unless it runs: the command that read the
 * host's facts became it, unless this connection did not read them */
static int
guard_start(struct ssh_conn *c)
{
	char silence[16], *folder;
	char *argv[] = { "sh", "-c", (char *)ssh_guard_script, "sh", NULL, silence, NULL };
	LIBSSH2_CHANNEL *ch;

	if (c->guard)
		return 0;
	argv[4] = folder = ssh_guard_folder();
	ssh_guard_silence(silence);
	if (!(ch = ssh_exec_channel(c, argv))) {
		free(folder);
		return -1;
	}
	return ssh_guard_adopt(c, ch, folder);
}

static void
proc_free(struct ssh_proc *p)
{
	if (p->exit_w >= 0)
		close(p->exit_w);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p->failed);
	free(p);
}

static void
close_pair(int fd[2])
{
	if (fd[0] >= 0)
		close(fd[0]);
	if (fd[1] >= 0)
		close(fd[1]);
	fd[0] = fd[1] = -1;
}

int
ssh_proc_spawn(struct host *h, struct spawn *sp)
{
	struct ssh_conn *c = ssh_host_conn(h);
	struct ssh_proc *p;
	char **argv, *guard = NULL;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, ex[2] = { -1, -1 };
	size_t n = 0, i, k;
	LIBSSH2_CHANNEL *ch = NULL;
	struct timespec until;
	int rc = 0;

	if (!c)
		return -1;
	if ((sp->want_stdin && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(err, O_CLOEXEC) < 0 || pipe2(ex, O_CLOEXEC) < 0) {
		error_errno("host '%s': cannot make pipes", h->name);
		goto fail;
	}
	for (i = 0; sp->env && sp->env[i]; i++)
		n++;
	for (i = 0; sp->argv[i]; i++)
		n++;
	argv = xcalloc(n + 12, sizeof(*argv));
	p = xcalloc(1, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->c = c;
	p->keep = sp->keep;
	p->exit_w = ex[1];
	p->status = -1;
	ssh_lock(c);
	if (pump_start(c) < 0 || (!sp->keep && guard_start(c) < 0))
		goto unlock;
	guard = sp->keep ? "" : c->guard;
	k = 0;
	argv[k++] = "sh";
	argv[k++] = "-c";
	argv[k++] = (char *)wrapper_script;
	argv[k++] = "sh";
	argv[k++] = (char *)inner_script;
	argv[k++] = guard;
	argv[k++] = (char *)(sp->cwd ? sp->cwd : "");
	argv[k++] = sp->want_stdin ? "1" : "0";
	argv[k++] = sp->keep ? "1" : "0";
	argv[k++] = "--";
	for (i = 0; sp->env && sp->env[i]; i++)
		argv[k++] = sp->env[i];
	for (i = 0; sp->argv[i]; i++)
		argv[k++] = sp->argv[i];
	argv[k] = NULL;
	ch = ssh_exec_channel(c, argv);
	if (ch) {
		p->link = pump_process(c, ch, in[0], out[1], err[1], proc_header, proc_done, p);
		in[0] = out[1] = err[1] = ex[1] = -1;	/* the pump's now */
	}
unlock:
	ssh_unlock(c);
	free(argv);
	if (!ch) {
		p->exit_w = -1;
		proc_free(p);
		goto fail;
	}
	/* the header comes first; a process that never says it started is
	 * one the host does not run */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += c->timeout_ms / 1000 + 1;
	pthread_mutex_lock(&p->lock);
	while (!p->headed && !p->finished && rc == 0)
		rc = pthread_cond_timedwait(&p->cond, &p->lock, &until);
	pthread_mutex_unlock(&p->lock);
	if (!p->headed || p->failed) {
		if (p->failed)
			error("host '%s': cannot start '%s': %s", h->name, sp->argv[0], p->failed);
		else
			error("host '%s': '%s' did not start (no word from the host within "
			      "%d s)", h->name, sp->argv[0], c->timeout_ms / 1000 + 1);
		sp->handle = p;
		sp->in = in[1];
		sp->out = out[0];
		sp->err = err[0];
		sp->exit_fd = ex[0];
		ssh_proc_release(h, sp);
		return -1;
	}
	sp->in = in[1];
	sp->out = out[0];
	sp->err = err[0];
	sp->ctl = -1;
	sp->exit_fd = ex[0];
	sp->pid = p->pid;
	sp->pgid = p->pid;
	sp->ident = p->ident;
	sp->handle = p;
	return 0;
fail:
	close_pair(in);
	close_pair(out);
	close_pair(err);
	close_pair(ex);
	return -1;
}

int
ssh_proc_signal(struct host *h, struct spawn *sp, int sig)
{
	struct ssh_proc *p = sp->handle;
	char pg[32], signo[16];
	char *argv[] = { "sh", "-c", "kill -$1 -$2 2>/dev/null; exit 0", "sh", signo, pg,
	                 NULL };
	struct ssh_capture cap = { 0 };
	struct ssh_conn *c;
	int ret;

	if (!p || p->pid <= 0)
		return 0;
	pthread_mutex_lock(&p->lock);
	ret = p->finished && (p->status < 0 || !p->keep);
	pthread_mutex_unlock(&p->lock);
	/* the connection it ran on is gone, and the guard took it along; or
	 * it ended, and its wrapper killed its group then */
	if (ret)
		return 0;
	if (!(c = ssh_host_conn(h)))
		return -1;
	snprintf(pg, sizeof(pg), "%ld", p->pid);
	snprintf(signo, sizeof(signo), "%d", sig);
	ret = ssh_capture(c, argv, NULL, 0, &cap);
	ssh_capture_release(&cap);
	return ret;
}

int
ssh_proc_wait(struct host *h, struct spawn *sp, int *status)
{
	struct ssh_proc *p = sp->handle;

	pthread_mutex_lock(&p->lock);
	while (!p->finished)
		pthread_cond_wait(&p->cond, &p->lock);
	*status = p->status;
	pthread_mutex_unlock(&p->lock);
	if (*status < 0)
		return error("host '%s': the connection was lost; the exit status of "
		             "process %ld is not known", h->name, p->pid);
	return 0;
}

void
ssh_proc_release(struct host *h, struct spawn *sp)
{
	struct ssh_proc *p = sp->handle;
	int *fds[] = { &sp->in, &sp->out, &sp->err, &sp->ctl, &sp->exit_fd };
	size_t i;

	(void)h;
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	if (!p)
		return;
	/* a link that finished is the pump's: wait until done has run */
	if (!p->link || !pump_drop(p->c, p->link)) {
		pthread_mutex_lock(&p->lock);
		while (p->link && !p->finished)
			pthread_cond_wait(&p->cond, &p->lock);
		pthread_mutex_unlock(&p->lock);
	}
	proc_free(p);
	sp->handle = NULL;
}

int
ssh_proc_cleanup(const cJSON *record)
{
	const cJSON *settings = cJSON_GetObjectItemCaseSensitive(record, "host"), *v;
	char pid[32], pgid[32], ident[32];
	char *argv[] = { "sh", "-c", (char *)cleanup_script, "sh", pid, pgid, ident, NULL };
	struct kv kv[16];
	struct host h;
	struct ssh_capture cap = { 0 };
	struct ssh_conn *c;
	double n;
	int ret = -1;

	v = cJSON_GetObjectItemCaseSensitive(record, "pid");
	/* no pid: it never started, or hydro died before it said so (and the
	 * guard ended it) */
	if (!cJSON_IsNumber(v) || v->valuedouble < 2)
		return 0;
	snprintf(pid, sizeof(pid), "%ld", (long)v->valuedouble);
	v = cJSON_GetObjectItemCaseSensitive(record, "pgid");
	n = cJSON_IsNumber(v) && v->valuedouble >= 2 ? v->valuedouble : atof(pid);
	snprintf(pgid, sizeof(pgid), "%ld", (long)n);
	v = cJSON_GetObjectItemCaseSensitive(record, "ident");
	if (!cJSON_IsNumber(v) || v->valuedouble < 1)
		return error("the record of process %s has no start time to prove it is "
		             "the process hydro started; nothing is signalled", pid);
	snprintf(ident, sizeof(ident), "%.0f", v->valuedouble);
	if (strcmp(pgid, pid))
		return error("the record of process %s names process group %s, not one "
		             "of its own as hydro makes; nothing is signalled", pid, pgid);
	if (!cJSON_IsObject(settings) || !json_str(settings, "host"))
		return error("the record of process %s names no SSH host to reach it "
		             "at; nothing is signalled", pid);
	memset(&h, 0, sizeof(h));
	h.backend = "ssh";
	h.settings = kv;
	cJSON_ArrayForEach(v, settings) {
		if (cJSON_IsString(v) && h.nsettings < sizeof(kv) / sizeof(kv[0])) {
			kv[h.nsettings].key = v->string;
			kv[h.nsettings++].value = v->valuestring;
		}
	}
	h.name = (char *)json_str(settings, "host");
	h.where = "the state file";
	if ((c = ssh_host_conn(&h))) {
		cap.any_status = 1;
		if (ssh_capture(c, argv, NULL, 0, &cap) == 0)
			ret = 0;
		ssh_capture_release(&cap);
	}
	backend_ssh.disconnect(&h);
	return ret;
}
