#define _GNU_SOURCE	/* pipe2 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "buf.h"
#include "error.h"
#include "hash.h"
#include "proc.h"
#include "str.h"
#include "xmalloc.h"

extern char **environ;

/* what the child needs, all prepared before fork */
struct proc_child {
	const char *path;
	char **argv;
	char **envp;
	const char *dir;
	int *fds;		/* what becomes 0, 1, 2, 3... in the child; -1: none */
	int *moved;		/* the child's scratch copy of fds */
	int nfds;
	char *listen_pid;	/* the value of LISTEN_PID=, written by the child */
	int go_fd;		/* PROC_HOLD: the child waits for a byte here */
	int go_w;		/* and the parent's end, which sends it */
	char *own_path;		/* what proc_start made for the child, freed */
	char **own_env, **own_extra;	/* once it has exec'd */
	/* a failed step and its errno, written by the child in our memory */
	volatile int fail_step, fail_errno;
	/* the child's thread id while it runs in our memory: the kernel zeroes
	 * it and wakes a futex on it when the child execs or dies */
	pid_t tid;
	unsigned flags;
	int cgroup_dir;		/* the cgroup to be born in, or -1 */
	int cgroup_fd;		/* its cgroup.procs, to join when that fails */
	pid_t parent;
	void *stack;		/* the child's, when it runs beside us (clone) */
	pid_t pid;		/* set by whoever forked */
	unsigned long long ticks;	/* its start time in clock ticks, or 0 */
	int err;		/* errno of a failed fork */
	struct proc_child *next;	/* in the forking thread's queue */
	pthread_cond_t done_cond;	/* its caller's alone: no herd wakes */
	int done;
};

/* the soft limit of open files hydro was started with, when it raised its
 * own (proc_raise_nofile): its children get it back */
static struct rlimit child_nofile;
static int child_nofile_set;

void
proc_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	child_nofile = rl;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		child_nofile_set = 1;
}

/* The steps of the child, reported with errno in struct proc_child. */
enum { STEP_NONE, STEP_DUP, STEP_CHDIR, STEP_EXEC, STEP_PARENT };

#define CHILD_STACK (64 * 1024)

/*
 * The child ends by exit_group(2) itself, not by _exit(): the compiler must
 * not see the child's functions as noreturn, since ASan warns on hydro's
 * stderr at a call to one on a clone()d child's stack of our own making.
 */
static void
child_exit(int code)
{
	syscall(SYS_exit_group, code);
}

/* The child shares the cloning thread's memory and thread pointer, so also
 * its errno, which that thread may set again at any moment (it goes on to
 * the next request).  The calls whose failure the child reports therefore go
 * to the kernel directly: the result is -errno, and errno is not touched. */
static long
child_syscall(long n, long a, long b, long c)
{
#if defined(__x86_64__)
	long ret;

	__asm__ volatile ("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c)
	                  : "rcx", "r11", "memory");
	return ret;
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;

	__asm__ volatile ("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
	return x0;
#else
	long ret = syscall(n, a, b, c);

	return ret < 0 ? -errno : ret;
#endif
}

/* end the child for a failed step whose error is err (an errno value) */
static void
child_fail_err(struct proc_child *c, int step, long err)
{
	c->fail_errno = (int)err;
	c->fail_step = step;
	child_exit(127);
}

static void
child_fail(struct proc_child *c, int step)
{
	c->fail_errno = errno;
	c->fail_step = step;
	child_exit(127);
}

/* Runs between fork and exec: async-signal-safe calls only; it ends by
 * execve() or child_fail() */
static void
child_run(struct proc_child *c)
{
	struct sigaction sa;
	sigset_t all;
	int i, fd;
	long r;

	if (c->flags & PROC_PGROUP)
		setpgid(0, 0);
	/* into the run's cgroup before anything can start, unless it was born
	 * there: all it starts stays there (a failure leaves it where hydro is,
	 * with its group) */
	if (c->cgroup_fd >= 0 && write(c->cgroup_fd, "0", 1) < 0) {
		/* process groups alone */
	}
	if (c->flags & PROC_PDEATHSIG) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* hydro may have died before the line above */
		if (getppid() != c->parent) {
			errno = ESRCH;
			child_fail(c, STEP_PARENT);
		}
	}
	/* a program that select()s expects the limit it would have had */
	if (child_nofile_set)
		setrlimit(RLIMIT_NOFILE, &child_nofile);
	/* hydro ignores SIGPIPE and may block signals in this thread */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (i = 1; i < NSIG; i++)
		sigaction(i, &sa, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);

	/* socket activation names the process that may take the sockets:
	 * its pid is known only here */
	if (c->listen_pid) {
		long pid = (long)syscall(SYS_getpid);
		char digits[24];
		int n = 0;

		do
			digits[n++] = (char)('0' + pid % 10);
		while ((pid /= 10) > 0);
		for (i = 0; i < n; i++)
			c->listen_pid[i] = digits[n - 1 - i];
		c->listen_pid[n] = '\0';
	}

	/* move sources out of the way of the targets 0..nfds-1 first */
	int *fds = c->moved, go = c->go_fd;
	for (i = 0; i < c->nfds; i++) {
		fds[i] = c->fds[i];
		if (fds[i] >= 0 && fds[i] < c->nfds) {
			fds[i] = fcntl(fds[i], F_DUPFD, c->nfds + 1);
			if (fds[i] < 0)
				child_fail(c, STEP_DUP);
		}
	}
	if (go >= 0 && go <= c->nfds && (go = fcntl(go, F_DUPFD, c->nfds + 1)) < 0)
		child_fail(c, STEP_DUP);
	for (i = 0; i < c->nfds; i++) {
		if (fds[i] < 0)
			continue;
		if (dup2(fds[i], i) < 0)
			child_fail(c, STEP_DUP);
	}
	/* nothing else of hydro's leaks into the service */
	for (fd = c->nfds; fd > 3 && c->fds[fd - 1] < 0; fd--)
		;
	if (go >= 0) {
		char ch;

		/* Held: close the rest now, not at exec.  A copy of another
		 * held child's go pipe kept here while we wait would keep
		 * that one from seeing hydro die, and it might hold ours. */
		if (dup2(go, fd) < 0)
			child_fail(c, STEP_DUP);
		syscall(SYS_close_range, (unsigned)fd + 1, ~0u, 0u);
		if (read(fd, &ch, 1) != 1)
			child_exit(126);	/* hydro died or dropped us before recording us */
		close(fd);
	} else {
		syscall(SYS_close_range, (unsigned)fd, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */);
	}
	if (c->dir && (r = child_syscall(SYS_chdir, (long)c->dir, 0, 0)) < 0)
		child_fail_err(c, STEP_CHDIR, -r);
	r = child_syscall(SYS_execve, (long)c->path, (long)c->argv, (long)c->envp);
	child_fail_err(c, STEP_EXEC, -r);
}

static int
child_main(void *arg)
{
	child_run(arg);
	return 127;	/* not reached */
}

static unsigned long long
boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

/*
 * clone3(CLONE_INTO_CGROUP): the child is born in the run's cgroup.  Joining
 * it afterwards (cgroup.procs) takes the kernel's cgroup-wide lock for
 * writing, which waits for an RCU grace period: 10 to 15 ms for the first
 * service of a run, on the launch's critical path.  glibc has no clone3()
 * that runs a function on a new stack, so the call is made here (x86-64);
 * elsewhere, or when the kernel refuses it (before 5.7, a seccomp filter),
 * the child joins as before.
 */
#if defined(__x86_64__) && defined(SYS_clone3)
struct clone3_args {
	unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal;
	unsigned long long stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

static int clone3_refused;

static pid_t
clone_into_cgroup(struct proc_child *c)
{
	struct clone3_args a;
	register int (*fn)(void *) __asm__("r12") = child_main;
	register void *arg __asm__("r13") = c;
	long ret;

	if (__atomic_load_n(&clone3_refused, __ATOMIC_RELAXED))
		return -1;
	memset(&a, 0, sizeof(a));
	a.flags = CLONE_VM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_INTO_CGROUP;
	a.child_tid = a.parent_tid = (unsigned long long)(uintptr_t)&c->tid;
	a.exit_signal = SIGCHLD;
	a.stack = (unsigned long long)(uintptr_t)c->stack;
	a.stack_size = CHILD_STACK;
	a.cgroup = (unsigned long long)c->cgroup_dir;
	/* the child starts on the top of its stack (16-byte aligned) with our
	 * registers: it calls child_main(c), which never returns */
	__asm__ volatile ("syscall\n\t"
	                  "testq %%rax, %%rax\n\t"
	                  "jnz 1f\n\t"
	                  "xorl %%ebp, %%ebp\n\t"
	                  "movq %%r13, %%rdi\n\t"
	                  "callq *%%r12\n\t"
	                  "movl %%eax, %%edi\n\t"
	                  "movl %[exit], %%eax\n\t"
	                  "syscall\n\t"
	                  "hlt\n"
	                  "1:"
	                  : "=a"(ret)
	                  : "0"((long)SYS_clone3), "D"(&a), "S"(sizeof(a)), "r"(fn), "r"(arg),
	                    [exit] "i"(SYS_exit_group)
	                  : "rcx", "r11", "memory");
	if (ret < 0) {
		if (ret == -ENOSYS || ret == -E2BIG || ret == -EINVAL || ret == -EPERM)
			__atomic_store_n(&clone3_refused, 1, __ATOMIC_RELAXED);
		errno = (int)-ret;
		return -1;
	}
	return (pid_t)ret;
}
#else
static pid_t
clone_into_cgroup(struct proc_child *c)
{
	(void)c;
	errno = ENOSYS;
	return -1;
}
#endif

/*
 * Neither way copies hydro's page tables (hydro maps a few large libraries
 * and many thread stacks: fork() was most of the time of starting 100
 * services).
 *
 * With a stack of its own (the forking thread's children), the child runs
 * in our memory beside us until it execs: clone(CLONE_VM), so that the next
 * child can be made at once, not after this one's exec, which may wait for
 * a processor behind the services already started.  The kernel writes the
 * child's id to c->tid and, when the child execs or dies, zeroes it and
 * wakes a futex there (CLONE_CHILD_CLEARTID, as for a thread's join): the
 * caller waits for that (child_wait) before it frees c or the stack.
 * Otherwise vfork(): the calling thread waits until the child has exec'd.
 * Either way the child reads only *c, writes only its own stack and c's
 * failure fields, and every signal is blocked in the calling thread, so no
 * handler of ours runs in the child.
 */
static pid_t
spawn_child(struct proc_child *c)
{
	unsigned long long tick = 1000000000ull / (unsigned long long)sysconf(_SC_CLK_TCK);
	unsigned long long after;
	pid_t pid = -1;

	c->fail_step = STEP_NONE;
	c->ticks = boot_ns() / tick;	/* before: in *c, out of vfork's way */
	c->cgroup_fd = -1;
	if (c->stack && c->cgroup_dir >= 0)
		pid = clone_into_cgroup(c);
	if (pid < 0 && c->cgroup_dir >= 0)
		c->cgroup_fd = openat(c->cgroup_dir, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (pid >= 0) {
		/* born in its cgroup */
	} else if (c->stack) {
		pid = clone(child_main, (char *)c->stack + CHILD_STACK,
		            CLONE_VM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD,
		            (void *)c, &c->tid, NULL, &c->tid);
	} else {
		pid = vfork();
		if (pid == 0) {
			child_run(c);
			_exit(127);	/* not reached */
		}
	}
	if (c->cgroup_fd >= 0) {
		int e = errno;

		/* the child has a copy (no CLONE_FILES) */
		close(c->cgroup_fd);
		errno = e;
	}
	/* the kernel stamps a child with the boot time in between: within one
	 * tick, that is its start time as /proc/PID/stat says, which ties the
	 * pid to this process in the state file with no file read */
	after = boot_ns() / tick;
	c->ticks = c->ticks == after ? after : 0;
	return pid;
}

/* until a clone()d child has exec'd or died: it is out of our memory */
static void
child_wait(struct proc_child *c)
{
	pid_t tid;

	if (!c->stack)
		return;
	while ((tid = __atomic_load_n(&c->tid, __ATOMIC_ACQUIRE)) != 0)
		syscall(SYS_futex, &c->tid, FUTEX_WAIT, tid, NULL, NULL, 0);
}

/*
 * The forking thread.  PR_SET_PDEATHSIG fires when the thread that forked
 * exits, so children that must outlive their caller's thread (a scheduler
 * worker, a Python executor thread) but not hydro are forked here.  Callers
 * queue their requests and wait for theirs: when many services start at
 * once the thread forks them one after another with no hand-off between.
 */
static pthread_mutex_t fork_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fork_wake = PTHREAD_COND_INITIALIZER;
static struct proc_child *fork_head, **fork_tail = &fork_head;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static int fork_thread_ok;

static void *
fork_thread(void *arg)
{
	struct proc_child *c;

	(void)arg;
	pthread_mutex_lock(&fork_lock);
	for (;;) {
		while (!fork_head)
			pthread_cond_wait(&fork_wake, &fork_lock);
		c = fork_head;
		fork_head = c->next;
		if (!fork_head)
			fork_tail = &fork_head;
		pthread_mutex_unlock(&fork_lock);
		c->pid = spawn_child(c);
		c->err = c->pid < 0 ? errno : 0;
		pthread_mutex_lock(&fork_lock);
		c->done = 1;
		pthread_cond_signal(&c->done_cond);
	}
	return NULL;
}

static void
fork_thread_start(void)
{
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;

	/* signals are for the other threads */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	fork_thread_ok = pthread_create(&t, &attr, fork_thread, NULL) == 0;
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static pid_t
fork_child(struct proc_child *c)
{
	sigset_t all, old;
	pid_t pid;

	if (!(c->flags & PROC_PDEATHSIG)) {
		/* no handler of ours may run in the child, which shares our memory;
		 * a held one runs beside us (vfork would stop this thread until
		 * it execs) */
		c->stack = (c->flags & PROC_HOLD) ? xmalloc(CHILD_STACK) : NULL;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		pid = spawn_child(c);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return pid;
	}
	pthread_once(&fork_once, fork_thread_start);
	if (!fork_thread_ok) {
		errno = EAGAIN;
		return -1;
	}
	c->stack = xmalloc(CHILD_STACK);
	c->next = NULL;
	c->done = 0;
	pthread_cond_init(&c->done_cond, NULL);
	pthread_mutex_lock(&fork_lock);
	*fork_tail = c;
	fork_tail = &c->next;
	pthread_cond_signal(&fork_wake);
	while (!c->done)
		pthread_cond_wait(&c->done_cond, &fork_lock);
	pthread_mutex_unlock(&fork_lock);
	pthread_cond_destroy(&c->done_cond);
	errno = c->err;
	return c->pid;
}

char *
proc_which(const char *name, char **env)
{
	const char *path = NULL, *p, *end;
	struct stat st;
	size_t i, n = strlen("PATH=");

	if (strchr(name, '/'))
		return xstrdup(name);
	for (i = 0; env && env[i]; i++)
		if (!strncmp(env[i], "PATH=", n))
			path = env[i] + n;
	if (!path)
		path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; p = end + 1) {
		char *full;

		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		full = end == p ? xasprintf("./%s", name) :
		       xasprintf("%.*s/%s", (int)(end - p), p, name);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
			return full;
		free(full);
		if (!*end)
			return NULL;
	}
}

/* hydro's environment with env applied ("K=V" sets, "K" unsets) */
static char **
make_env(char **env, unsigned flags)
{
	char **out = NULL;
	size_t n = 0, cap = 0, i, j, klen;

	if (!(flags & PROC_CLEAN_ENV)) {
		for (i = 0; environ && environ[i]; i++) {
			/* hydro's own channel, when it runs as a service, is
			 * not its children's: theirs is set below or none */
			if (!strncmp(environ[i], "HYDRO_CONTROL_FD=", 17))
				continue;
			/* so are the sockets systemd may have handed hydro */
			if (!strncmp(environ[i], "LISTEN_FDS=", 11) ||
			    !strncmp(environ[i], "LISTEN_PID=", 11) ||
			    !strncmp(environ[i], "LISTEN_FDNAMES=", 15))
				continue;
			ALLOC_GROW(out, n, cap);
			out[n++] = environ[i];
		}
	}
	for (i = 0; env && env[i]; i++) {
		const char *eq = strchr(env[i], '=');

		klen = eq ? (size_t)(eq - env[i]) : strlen(env[i]);
		for (j = 0; j < n; j++) {
			if (!strncmp(out[j], env[i], klen) && out[j][klen] == '=') {
				out[j] = out[--n];
				break;
			}
		}
		if (eq) {
			ALLOC_GROW(out, n, cap);
			out[n++] = env[i];
		}
	}
	ALLOC_GROW(out, n, cap);
	out[n] = NULL;
	return out;
}

/* one /dev/null for every child's unused streams, opened once */
static int null_fd = -1;
static pthread_once_t null_once = PTHREAD_ONCE_INIT;

static void
null_open(void)
{
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
}

static int
open_null(void)
{
	pthread_once(&null_once, null_open);
	if (null_fd < 0)
		errno = ENOENT;
	return null_fd;
}

static void
close_pair(int fds[2])
{
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	fds[0] = fds[1] = -1;
}

/* the child's end of stream i and, for a pipe, the parent's */
static int
setup_stream(enum proc_io io, int i, int pair[2], int *child_fd)
{
	pair[0] = pair[1] = -1;
	*child_fd = -1;
	switch (io) {
	case PROC_INHERIT:
		*child_fd = i;
		return 0;
	case PROC_NULL:
		*child_fd = open_null();
		if (*child_fd < 0)
			return error_errno("cannot open '/dev/null'");
		return 0;
	case PROC_PIPE:
		if (pipe2(pair, O_CLOEXEC) < 0)
			return error_errno("cannot make a pipe");
		*child_fd = i == 0 ? pair[0] : pair[1];
		return 0;
	case PROC_STDOUT:
		break;	/* stderr alone, taken care of by the caller */
	}
	return error("cannot run a process: a stream given as stdout's");
}

/* a token no other process carries: pid, time and a counter, hashed */
static void
make_token(char out[33])
{
	static unsigned counter;
	struct timespec ts;
	struct hash h;
	char hex[HASH_HEX_LEN], seed[128];

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(seed, sizeof(seed), "%ld %lld %ld %u", (long)getpid(),
	         (long long)ts.tv_sec, ts.tv_nsec,
	         __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
	hash_bytes(seed, strlen(seed), &h);
	hash_hex(&h, hex);
	memcpy(out, hex, 32);
	out[32] = '\0';
}

/* free what proc_start made for the child, once it is out of our memory */
static void
child_free(struct proc_child *c)
{
	if (c->go_w >= 0)
		close(c->go_w);
	free(c->stack);
	free(c->fds);
	free(c->moved);
	free(c->own_path);
	str_free_list(c->own_extra);
	free(c->own_env);
	free(c);
}

/* once the child has exec'd or failed to: 0, or -1 with the failure
 * reported and the child reaped */
static int
child_end(struct proc *p, struct proc_child *c)
{
	child_wait(c);
	if (c->fail_step == STEP_NONE)
		return 0;
	while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
		;
	errno = c->fail_errno;
	if (c->fail_step == STEP_CHDIR)
		error_errno("cannot run '%s': cannot change to '%s'", p->argv[0], p->dir);
	else if (c->fail_step == STEP_PARENT)
		error("cannot run '%s': hydro is exiting", p->argv[0]);
	else
		error_errno("cannot run '%s'", p->argv[0]);
	return -1;
}

int
proc_start(struct proc *p)
{
	int pairs[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
	int ctl[2] = { -1, -1 }, go[2] = { -1, -1 };
	enum proc_io io[3] = { p->in, p->out, p->err };
	struct proc_child *c;
	char **extra = NULL;
	size_t ne = 0;
	int i;
	pid_t pid;

	p->pid = -1;
	p->in_fd = p->out_fd = p->err_fd = p->ctl_fd = p->pidfd = -1;
	p->held = NULL;
	p->term_signal = 0;
	if (!p->argv || !p->argv[0])
		return error("cannot run a process: empty command");

	/* the environment, with HYDRO_CONTROL_FD when there is a channel and
	 * the token when asked */
	while (p->env && p->env[ne])
		ne++;
	if (p->nlisten && (p->flags & PROC_CONTROL))
		return error("cannot run '%s': sockets and a control channel both "
		             "want descriptor 3", p->argv[0]);
	extra = xcalloc(ne + 5, sizeof(*extra));
	for (i = 0; i < (int)ne; i++)
		extra[i] = xstrdup(p->env[i]);
	if (p->flags & PROC_CONTROL)
		extra[ne++] = xstrdup("HYDRO_CONTROL_FD=3");
	if (p->flags & PROC_TOKEN) {
		make_token(p->token);
		extra[ne++] = xasprintf("%s=%s", PROC_TOKEN_VAR, p->token);
	}
	c = xcalloc(1, sizeof(*c));
	if (p->nlisten) {
		/* sd_listen_fds(3): LISTEN_PID is written by the child, in room
		 * made for it here */
		extra[ne++] = xasprintf("LISTEN_FDS=%zu", p->nlisten);
		extra[ne] = xasprintf("LISTEN_PID=%24s", "");
		c->listen_pid = extra[ne++] + strlen("LISTEN_PID=");
	}
	c->go_fd = c->go_w = -1;
	c->own_extra = extra;
	c->own_env = make_env(extra, p->flags);
	c->own_path = p->path ? xstrdup(p->path) : proc_which(p->argv[0], c->own_env);
	if (!c->own_path) {
		child_free(c);
		return error("cannot run '%s': not found in PATH", p->argv[0]);
	}

	c->nfds = 3 + (int)(p->nlisten ? p->nlisten : 1);
	c->fds = xmalloc(sizeof(*c->fds) * (size_t)c->nfds);
	c->moved = xmalloc(sizeof(*c->moved) * (size_t)c->nfds);
	for (i = 0; i < c->nfds; i++)
		c->fds[i] = i >= 3 && (size_t)(i - 3) < p->nlisten ? p->listen_fds[i - 3] : -1;
	for (i = 0; i < 3; i++) {
		if (i == 2 && io[i] == PROC_STDOUT)
			c->fds[2] = c->fds[1];
		else if (setup_stream(io[i], i, pairs[i], &c->fds[i]) < 0)
			goto fail;
	}
	if ((p->flags & PROC_CONTROL) &&
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) < 0) {
		error_errno("cannot make a control channel");
		goto fail;
	}
	if ((p->flags & PROC_HOLD) && pipe2(go, O_CLOEXEC) < 0) {
		error_errno("cannot make a pipe");
		goto fail;
	}
	if (!p->nlisten)
		c->fds[3] = ctl[1];
	c->go_fd = go[0];
	c->path = c->own_path;
	c->argv = p->argv;
	c->envp = c->own_env;
	c->dir = p->dir;
	c->flags = p->flags;
	c->cgroup_dir = p->cgroup_fd;
	c->parent = getpid();

	pid = fork_child(c);
	if (pid < 0) {
		error_errno("cannot start '%s'", p->argv[0]);
		goto fail;
	}
	c->pid = pid;
	if (p->flags & PROC_HOLD) {
		/* it waits in our memory: the group is made here too, so that
		 * it can be signalled before it runs */
		if (p->flags & PROC_PGROUP)
			setpgid(pid, pid);
		c->go_w = go[1];
		go[1] = -1;
		p->held = c;
	} else if (child_end(p, c) < 0) {
		goto fail;
	}

	/* keep the parent's ends, close the child's */
	p->pid = pid;
	p->start_ticks = c->ticks;
	if (io[0] == PROC_PIPE) {
		p->in_fd = pairs[0][1];
		pairs[0][1] = -1;
	}
	if (io[1] == PROC_PIPE) {
		p->out_fd = pairs[1][0];
		pairs[1][0] = -1;
	}
	if (io[2] == PROC_PIPE) {
		p->err_fd = pairs[2][0];
		pairs[2][0] = -1;
	}
	if (ctl[0] >= 0) {
		p->ctl_fd = ctl[0];
		ctl[0] = -1;
	}
	for (i = 0; i < 3; i++)
		close_pair(pairs[i]);
	close_pair(ctl);
	close_pair(go);
	/* close-on-exec, as every pidfd */
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (!p->held)
		child_free(c);
	return 0;

fail:
	for (i = 0; i < 3; i++)
		close_pair(pairs[i]);
	close_pair(ctl);
	close_pair(go);
	child_free(c);
	return -1;
}

int
proc_go(struct proc *p)
{
	struct proc_child *c = p->held;
	int ret = 0;

	if (!c)
		return 0;
	p->held = NULL;
	if (write(c->go_w, "g", 1) != 1) {
		error_errno("cannot start '%s'", p->argv[0]);
		close(c->go_w);
		c->go_w = -1;
		child_wait(c);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
		ret = -1;
	} else {
		close(c->go_w);
		c->go_w = -1;
		ret = child_end(p, c);
	}
	child_free(c);
	if (ret < 0) {
		proc_close(p);
		p->pid = -1;
	}
	return ret;
}

void
proc_drop(struct proc *p)
{
	struct proc_child *c = p->held;

	if (!c)
		return;
	p->held = NULL;
	close(c->go_w);		/* it reads the end and exits */
	c->go_w = -1;
	child_wait(c);
	while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
		;
	child_free(c);
	proc_close(p);
	p->pid = -1;
}

/* the start time of process pid (field 22 of /proc/PID/stat), 0 if there is
 * none; its group and its state letter too when asked */
static unsigned long long
read_stat(long pid, pid_t *pgrp, char *state)
{
	char path[64], buf[1024], *p;
	unsigned long long t = 0;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')'))) {
		/* fields after the name start at 3: state, ppid, pgrp... */
		p += 2;
		if (state)
			*state = *p;
		for (i = 3; i < 22 && p; i++) {
			if (i == 5 && pgrp)
				*pgrp = (pid_t)strtol(p, NULL, 10);
			p = strchr(p, ' ');
			if (p)
				p++;
		}
		if (p)
			t = strtoull(p, NULL, 10);
	}
	fclose(f);
	return t;
}

unsigned long long
proc_start_time(long pid)
{
	return read_stat(pid, NULL, NULL);
}

unsigned long long
proc_identity(long pid, pid_t *pgrp)
{
	char state = 0;
	unsigned long long t = read_stat(pid, pgrp, &state);

	return state == 'Z' || state == 'X' ? 0 : t;
}

int
proc_env_has(long pid, const char *var, const char *value, int suffix)
{
	char path[64], tmp[4096], *p, *end;
	struct buf b = BUF_INIT;
	size_t n = strlen(var), vl = strlen(value), l;
	ssize_t r;
	int fd, found = 0;

	snprintf(path, sizeof(path), "/proc/%ld/environ", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while ((r = read(fd, tmp, sizeof(tmp))) > 0)
		buf_add(&b, tmp, (size_t)r);
	close(fd);
	for (p = b.data, end = b.data + b.len; p && p < end; p += strlen(p) + 1) {
		if (strncmp(p, var, n) || p[n] != '=')
			continue;
		p += n + 1;
		l = strlen(p);
		if (suffix ? l > vl && p[l - vl - 1] == '/' && !strcmp(p + l - vl, value)
		           : !strcmp(p, value)) {
			found = 1;
			break;
		}
	}
	buf_release(&b);
	return found;
}

size_t
proc_group_members(pid_t pgid, unsigned long long since, const char *var,
                   const char *value, int suffix, pid_t *out, size_t max)
{
	struct dirent *de;
	unsigned long long t;
	size_t n = 0;
	DIR *d;

	d = opendir("/proc");
	while (d && (de = readdir(d))) {
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10), pg = 0;

		if (pid <= 0 || !(t = proc_identity(pid, &pg)) || pg != pgid || t < since)
			continue;
		if (var && !proc_env_has(pid, var, value, suffix))
			continue;
		if (n < max)
			out[n++] = pid;
	}
	if (d)
		closedir(d);
	return n;
}

int
proc_subreaper(void)
{
	return prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L) < 0 ? -1 : 0;
}

size_t
proc_end_adopted(const char *var, const char *value)
{
	char path[64], text[4096], *p, *end;
	struct dirent *de;
	size_t ended = 0, round;
	ssize_t n;
	long pid;
	DIR *d;
	int fd, found;

	/* a child ended may leave an orphan of its own: a few rounds */
	for (round = 0; round < 8; round++) {
		found = 0;
		d = opendir("/proc/self/task");
		while (d && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/self/task/%.20s/children", de->d_name);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			n = read(fd, text, sizeof(text) - 1);
			close(fd);
			text[n > 0 ? n : 0] = '\0';
			for (p = text; *p; p = end) {
				pid = strtol(p, &end, 10);
				if (end == p)
					break;
				if (pid <= 1 || !proc_env_has(pid, var, value, 0))
					continue;
				kill((pid_t)pid, SIGKILL);
				while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR)
					;
				ended++;
				found = 1;
			}
		}
		if (d)
			closedir(d);
		if (!found)
			break;
	}
	return ended;
}

int
proc_stop_group(pid_t pgid, const char *token, double grace)
{
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	pid_t pids[256];
	double waited = 0;
	size_t n, i;
	int sig = SIGTERM;

	for (;;) {
		if (!token) {
			if (kill(-pgid, 0) < 0)
				return 0;
			if (kill(-pgid, sig) < 0)
				return 0;
		} else {
			n = proc_group_members(pgid, 0, PROC_TOKEN_VAR, token, 0, pids, 256);
			if (!n)
				return 0;
			for (i = 0; i < n; i++)
				kill(pids[i], sig);
		}
		if (waited >= grace * 2)
			return -1;
		if (waited >= grace)
			sig = SIGKILL;
		nanosleep(&tick, NULL);
		waited += 0.02;
		if (!token && sig == SIGTERM)
			sig = 0;	/* probe until the grace is over */
	}
}

int
proc_signal(struct proc *p, int sig)
{
	pid_t target;

	if (p->pid <= 0)
		return 0;
	target = (p->flags & PROC_PGROUP) ? -p->pid : p->pid;
	if (kill(target, sig) < 0 && errno != ESRCH)
		return error_errno("cannot signal process %ld", (long)p->pid);
	return 0;
}

/* the status as the shell gives it; the signal that ended it in p */
static int
decode_status(struct proc *p, int st)
{
	p->term_signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 255;
}

int
proc_poll(struct proc *p, int *status)
{
	int st;
	pid_t r;

	if (p->pid <= 0)
		return -1;
	do
		r = waitpid(p->pid, &st, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return error_errno("cannot wait for process %ld", (long)p->pid);
	if (r == 0)
		return 0;
	*status = decode_status(p, st);
	p->pid = -(p->pid);	/* reaped: never signal the number again */
	return 1;
}

void
proc_close(struct proc *p)
{
	int *fds[] = { &p->in_fd, &p->out_fd, &p->err_fd, &p->ctl_fd, &p->pidfd };
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

void
proc_read(struct proc *p, int (*fn)(void *arg, int stream, const char *data, size_t n),
          void *arg)
{
	struct pollfd pfd[2];
	char tmp[4096];
	int i, open_fds = 0, stopped = 0;
	ssize_t n;

	pfd[0].fd = p->out_fd;
	pfd[1].fd = p->err_fd;
	for (i = 0; i < 2; i++)
		open_fds += pfd[i].fd >= 0;
	while (open_fds) {
		pfd[0].events = pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(pfd[i].fd, tmp, sizeof(tmp));
			if (n > 0) {
				if (!stopped && fn(arg, i + 1, tmp, (size_t)n) < 0) {
					proc_signal(p, SIGKILL);
					stopped = 1;
				}
			} else if (n == 0 || errno != EINTR) {
				pfd[i].fd = -1;
				open_fds--;
			}
		}
	}
}

int
proc_finish(struct proc *p)
{
	int st;
	pid_t r;

	proc_close(p);
	if (p->pid <= 0)
		return error("process was not started or was already waited for");
	do
		r = waitpid(p->pid, &st, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return error_errno("cannot wait for process %ld", (long)p->pid);
	p->pid = -(p->pid);
	return decode_status(p, st);
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The drain, after the second fork: async-signal-safe calls only, on memory
 * prepared before the fork. */
static noreturn void
drain_run(struct pollfd *pfd, const int *to, size_t n, const int *keep, size_t nkeep,
          int devnull, char *buf, size_t size)
{
	sigset_t all;
	size_t i, open;
	int lo = 0;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);	/* only SIGKILL ends it */
	prctl(PR_SET_NAME, "hydro-drain");	/* what ps shows, beside argv */
	for (i = 0; i < 3; i++)
		dup2(devnull, (int)i);
	/* nothing of hydro's stays open here: not its stdout (a pipe whose
	 * reader waits for the end), not the state's lock file */
	for (i = 0; i < nkeep; i++) {
		if (keep[i] > lo)
			syscall(SYS_close_range, (unsigned)lo, (unsigned)keep[i] - 1, 0u);
		if (keep[i] >= lo)
			lo = keep[i] + 1;
	}
	syscall(SYS_close_range, (unsigned)lo, ~0u, 0u);
	for (;;) {
		for (i = open = 0; i < n; i++)
			open += pfd[i].fd >= 0;
		if (!open)
			_exit(0);
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		for (i = 0; i < n; i++) {
			ssize_t r, w, off;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			r = read(pfd[i].fd, buf, size);
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				continue;
			}
			for (off = 0; off < r; off += w) {
				w = write(to[i], buf + off, (size_t)(r - off));
				if (w < 0 && errno == EINTR)
					w = 0;
				else if (w < 0)
					break;	/* a full disk: keep reading, the service runs on */
			}
		}
	}
}

int
proc_drain(const int *from, const int *to, size_t n, const int *hold, size_t nhold)
{
	struct pollfd *pfd;
	int *keep, devnull, st;
	size_t nkeep = 0, i, size = 65536;
	char *buf;
	pid_t pid;

	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return error_errno("cannot open '/dev/null'");
	pfd = xcalloc(n + 1, sizeof(*pfd));
	keep = xcalloc(2 * n + nhold + 3, sizeof(*keep));
	buf = xmalloc(size);
	for (i = 0; i < 3; i++)
		keep[nkeep++] = (int)i;
	for (i = 0; i < n; i++) {
		pfd[i].fd = from[i];
		pfd[i].events = POLLIN;
		keep[nkeep++] = from[i];
		keep[nkeep++] = to[i];
	}
	for (i = 0; i < nhold; i++)
		if (hold[i] >= 0)
			keep[nkeep++] = hold[i];
	qsort(keep, nkeep, sizeof(*keep), cmp_int);

	/* twice: the drain is no child of hydro, which may live on (a Python
	 * program) and would have to reap it */
	pid = fork();
	if (pid == 0) {
		setsid();
		if (fork() == 0)
			drain_run(pfd, to, n, keep, nkeep, devnull, buf, size);
		_exit(0);
	}
	close(devnull);
	free(pfd);
	free(keep);
	free(buf);
	if (pid < 0)
		return error_errno("cannot start a process");
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return 0;
}
