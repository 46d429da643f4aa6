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
 */
#ifndef HYDRO_PROC_H
#define HYDRO_PROC_H

#include <sys/types.h>

/* what to connect a child's stream to */
enum proc_io {
	PROC_INHERIT,	/* hydro's own */
	PROC_NULL,	/* /dev/null */
	PROC_PIPE,	/* a pipe; the parent's end is put in the *_fd field */
};

/* flags */
#define PROC_PGROUP	(1u << 0)	/* a process group of its own */
#define PROC_PDEATHSIG	(1u << 1)	/* SIGKILL when hydro dies */
#define PROC_CONTROL	(1u << 2)	/* a socketpair on fd 3, HYDRO_CONTROL_FD=3 */
#define PROC_CLEAN_ENV	(1u << 3)	/* env replaces hydro's environment */

/* the descriptor the control channel has in the child */
#define PROC_CONTROL_FD 3

struct proc {
	char **argv;		/* NULL-terminated; argv[0] a path or a name in PATH */
	char **env;		/* NULL-terminated "NAME=value" (or "NAME" to unset), or NULL */
	const char *dir;	/* working directory, or NULL */
	enum proc_io in, out, err;
	unsigned flags;
	/* set by proc_start */
	pid_t pid;
	int in_fd, out_fd, err_fd, ctl_fd;	/* the parent's ends, or -1 */
	int pidfd;		/* readable once the child has exited, or -1 */
	unsigned long long start_ticks;	/* its start time as /proc/PID/stat
					 * gives it (clock ticks since boot),
					 * or 0 when not known exactly */
};

#define PROC_INIT { NULL, NULL, NULL, PROC_NULL, PROC_INHERIT, PROC_INHERIT, 0, \
                    -1, -1, -1, -1, -1, -1, 0 }

/* raise this process's soft limit of open files to the hard one (each service
 * holds a few descriptors: a few hundred would pass the usual 1024); children
 * are started with the limit as it was */
void proc_raise_nofile(void);
/* start the child; -1 with the error reported ("cannot run 'x': ...") */
int proc_start(struct proc *p);
/* the start time of process pid as field 22 of /proc/PID/stat gives it (clock
 * ticks since boot), or 0 if there is no such process: with the pid, it names
 * one process across pid reuse */
unsigned long long proc_start_time(long pid);
/* send sig to the child (or its group with PROC_PGROUP); 0 if sent or gone */
int proc_signal(struct proc *p, int sig);
/* whether the child has exited, collecting its status if so: 1 exited
 * (*status set), 0 running, -1 error */
int proc_poll(struct proc *p, int *status);
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

/* the full path of a program as execvp would find it using PATH (from env
 * when it sets PATH), or NULL */
char *proc_which(const char *name, char **env);

#endif
