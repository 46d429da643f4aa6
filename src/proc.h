/*
 * proc: child processes, git's run-command pattern.
 *
 * Fill a struct proc (PROC_INIT, then argv, env, dir, the streams wanted),
 * call proc_start(), use the descriptors, then proc_finish() for the exit
 * status.  Everything the child needs (the resolved program path, the whole
 * environment) is prepared before fork; the child makes only
 * async-signal-safe calls; an exec failure comes back to the parent through
 * a close-on-exec pipe and proc_start() reports it.
 *
 * Exit statuses are given as the shell gives them: the code of a normal
 * exit, 128+n for a death by signal n.
 *
 * With PROC_PDEATHSIG the child is killed when hydro dies, even by SIGKILL
 * (PR_SET_PDEATHSIG).  Linux ties that to the thread that forked, so such
 * children are forked by one thread of this module that never exits, not by
 * the calling (perhaps short-lived) thread.
 *
 * Sockets given in listen_fds are handed over as systemd's socket activation
 * does: at descriptors 3, 4, ... in order, with LISTEN_FDS set and LISTEN_PID
 * set to the child's own pid (written by the child before it execs).  The
 * caller keeps and closes its own copies.
 *
 * With PROC_HOLD the child is made but waits before it execs until
 * proc_go(), so that the caller can record its pid first (the state file:
 * no process runs that the file does not name); a hydro that dies in
 * between leaves a child that exits at once.  With PROC_TOKEN the child and
 * everything it starts carry a fresh token in their environment
 * (PROC_TOKEN_VAR): proc_stop_group() finds them by it after the group's
 * number may have been reused.
 */
#ifndef HYDRO_PROC_H
#define HYDRO_PROC_H

#include <sys/types.h>

/* what to connect a child's stream to */
enum proc_io {
	PROC_INHERIT,	/* hydro's own */
	PROC_NULL,	/* /dev/null */
	PROC_PIPE,	/* a pipe; the parent's end is put in the *_fd field */
	PROC_STDOUT,	/* stderr only: the same as stdout (2>&1) */
};

/* flags */
#define PROC_PGROUP	(1u << 0)	/* a process group of its own */
#define PROC_PDEATHSIG	(1u << 1)	/* SIGKILL when hydro dies */
#define PROC_CONTROL	(1u << 2)	/* a socketpair on fd 3, HYDRO_CONTROL_FD=3 */
#define PROC_CLEAN_ENV	(1u << 3)	/* env replaces hydro's environment */
#define PROC_HOLD	(1u << 4)	/* wait before exec until proc_go() */
#define PROC_TOKEN	(1u << 5)	/* a fresh token in PROC_TOKEN_VAR */

/* the variable that carries the token of a PROC_TOKEN child */
#define PROC_TOKEN_VAR "HYDRO_COMMAND"

/* the descriptor the control channel has in the child */
#define PROC_CONTROL_FD 3

struct proc_child;

struct proc {
	char **argv;		/* NULL-terminated; argv[0] a path or a name in PATH */
	const char *path;	/* the program to run instead of argv[0]'s, or NULL */
	char **env;		/* NULL-terminated "NAME=value" (or "NAME" to unset), or NULL */
	const char *dir;	/* working directory, or NULL */
	enum proc_io in, out, err;
	unsigned flags;
	int cgroup_fd;		/* a cgroup's directory (O_DIRECTORY), which the
				 * child is born in or joins, or -1 */
	const int *listen_fds;	/* sockets the child gets at 3, 4, ... with
				 * LISTEN_FDS and its own LISTEN_PID in its
				 * environment, as sd_listen_fds(3) reads them;
				 * not with PROC_CONTROL (both are fd 3) */
	size_t nlisten;
	/* set by proc_start */
	pid_t pid;
	int in_fd, out_fd, err_fd, ctl_fd;	/* the parent's ends, or -1 */
	int pidfd;		/* readable once the child has exited, or -1 */
	unsigned long long start_ticks;	/* its start time as /proc/PID/stat
					 * gives it (clock ticks since boot),
					 * or 0 when not known exactly */
	char token[33];		/* PROC_TOKEN: the token in its environment */
	struct proc_child *held;	/* PROC_HOLD: the child waiting for proc_go() */
	/* set by proc_poll and proc_finish */
	int term_signal;	/* the signal that ended it, or 0 */
};

#define PROC_INIT { .in = PROC_NULL, .out = PROC_INHERIT, .err = PROC_INHERIT, \
                    .pid = -1, .in_fd = -1, .out_fd = -1, .err_fd = -1, \
                    .ctl_fd = -1, .pidfd = -1, .cgroup_fd = -1 }

/* raise this process's soft limit of open files to the hard one (each service
 * holds a few descriptors: a few hundred would pass the usual 1024); children
 * are started with the limit as it was */
void proc_raise_nofile(void);
/* start the child; -1 with the error reported ("cannot run 'x': ...") */
int proc_start(struct proc *p);
/* let a PROC_HOLD child exec; -1 with the error reported if it cannot (the
 * child is then reaped) */
int proc_go(struct proc *p);
/* make a PROC_HOLD child exit without running, and reap it */
void proc_drop(struct proc *p);
/* the start time of process pid as field 22 of /proc/PID/stat gives it (clock
 * ticks since boot), or 0 if there is no such process: with the pid, it names
 * one process across pid reuse */
unsigned long long proc_start_time(long pid);
/* the start time of process pid as proc_start_time() gives it, and its
 * process group in *pgrp; 0 when there is none or it is a zombie (which
 * holds nothing, and no signal moves) */
unsigned long long proc_identity(long pid, pid_t *pgrp);
/* whether process pid has var=value in its environment or, with suffix, a
 * var whose value ends with "/value" */
int proc_env_has(long pid, const char *var, const char *value, int suffix);
/* up to max live members of process group pgid that started no earlier
 * than since (in proc_start_time()'s ticks) and, when var is not NULL,
 * carry it as proc_env_has() says; their number */
size_t proc_group_members(pid_t pgid, unsigned long long since, const char *var,
                          const char *value, int suffix, pid_t *out, size_t max);
/* make hydro a child subreaper (PR_SET_CHILD_SUBREAPER): a process its
 * services start, and that outlives its parent (a double fork, setsid()),
 * becomes hydro's child instead of init's; -1 with errno set */
int proc_subreaper(void);
/* SIGKILL and reap every child of hydro carrying var=value in its
 * environment (the orphans a subreaper adopted); their number */
size_t proc_end_adopted(const char *var, const char *value);
/* send sig to the child (or its group with PROC_PGROUP); 0 if sent or gone */
int proc_signal(struct proc *p, int sig);
/* whether the child has exited, collecting its status if so: 1 exited
 * (*status set), 0 running, -1 error */
int proc_poll(struct proc *p, int *status);
/* read the child's piped stdout and stderr until both end, handing each
 * chunk to fn (stream 1 or 2); fn returning -1 has the child killed
 * (SIGKILL) and the rest read and dropped */
void proc_read(struct proc *p, int (*fn)(void *arg, int stream, const char *data,
                                         size_t n), void *arg);
/* wait for the child and close the parent's descriptors; the exit status,
 * or -1 with the error reported */
int proc_finish(struct proc *p);
/* close the parent's descriptors (proc_finish does it too) */
void proc_close(struct proc *p);

/* hand streams over to a process that outlives hydro (run --keep): a
 * detached process (a session of its own, stdio on /dev/null, no other
 * descriptor of hydro's) copies each from[i] to to[i] until every from[i]
 * is at its end, holding the hold descriptors open until then; the caller
 * keeps and closes its own copies; -1 with the error reported */
int proc_drain(const int *from, const int *to, size_t n, const int *hold, size_t nhold);

/* stop what is left of process group pgid: SIGTERM, then SIGKILL after
 * grace seconds; with a token, only the processes carrying it (PROC_TOKEN)
 * are signalled, as the number may have been reused; 0 once none is left,
 * -1 if some outlived another grace */
int proc_stop_group(pid_t pgid, const char *token, double grace);

/* the full path of a program as execvp would find it using PATH (from env
 * when it sets PATH), or NULL */
char *proc_which(const char *name, char **env);

#endif
