/* Unit tests of proc: start, streams, exit statuses, exec errors. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "error.h"
#include "proc.h"
#include "test.h"

static char *sh_argv[] = { "sh", "-c", NULL, NULL };


static ssize_t
read_all(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	return (ssize_t)n;
}

/* processes of group pgid that are not zombies */
static int
live_in_group(pid_t pgid)
{
	struct dirent *de;
	DIR *dir = opendir("/proc");
	int n = 0;

	while (dir && (de = readdir(dir))) {
		char path[300], buf[512], *rp, state;
		long pg;
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		if (fgets(buf, sizeof(buf), f) && (rp = strrchr(buf, ')')) &&
		    sscanf(rp + 1, " %c %*d %ld", &state, &pg) == 2 &&
		    pg == pgid && state != 'Z')
			n++;
		fclose(f);
	}
	if (dir)
		closedir(dir);
	return n;
}

TEST(exit_codes)
{
	struct proc p = PROC_INIT;

	sh_argv[2] = "exit 7";
	p.argv = sh_argv;
	REQUIRE(proc_start(&p) == 0);
	CHECK_INT(proc_finish(&p), 7);
	CHECK_INT(p.term_signal, 0);
}

TEST(signal_is_128_plus_n)
{
	struct proc p = PROC_INIT;

	sh_argv[2] = "kill -TERM $$; sleep 5";
	p.argv = sh_argv;
	REQUIRE(proc_start(&p) == 0);
	CHECK_INT(proc_finish(&p), 128 + SIGTERM);
	CHECK_INT(p.term_signal, SIGTERM);
}

TEST(pipes_and_env)
{
	struct proc p = PROC_INIT;
	char *env[] = { "HYDRO_TEST_X=hello", "HOME", NULL };
	char buf[256];

	sh_argv[2] = "read line; echo \"$line $HYDRO_TEST_X ${HOME:-unset}\"; echo err >&2; pwd";
	p.argv = sh_argv;
	p.env = env;
	p.dir = "/";
	p.in = p.out = p.err = PROC_PIPE;
	REQUIRE(proc_start(&p) == 0);
	CHECK(write(p.in_fd, "abc\n", 4) == 4);
	close(p.in_fd);
	p.in_fd = -1;
	read_all(p.out_fd, buf, sizeof(buf));
	CHECK_STR(buf, "abc hello unset\n/\n");
	read_all(p.err_fd, buf, sizeof(buf));
	CHECK_STR(buf, "err\n");
	CHECK_INT(proc_finish(&p), 0);
}

TEST(exec_error_reported)
{
	struct proc p = PROC_INIT;
	char *argv[] = { "/nonexistent/program", NULL };
	char *argv2[] = { "no-such-program-hydro", NULL };

	error_set_reporter(test_quiet, NULL);
	p.argv = argv;
	CHECK_INT(proc_start(&p), -1);
	CHECK(strstr(error_last(), "cannot run '/nonexistent/program'") != NULL);
	CHECK(strstr(error_last(), "No such file") != NULL);
	p.argv = argv2;
	CHECK_INT(proc_start(&p), -1);
	CHECK(strstr(error_last(), "not found in PATH") != NULL);
	sh_argv[2] = "true";
	p.argv = sh_argv;
	p.dir = "/nonexistent-dir";
	CHECK_INT(proc_start(&p), -1);
	CHECK(strstr(error_last(), "cannot change to '/nonexistent-dir'") != NULL);
	error_set_reporter(NULL, NULL);
}

TEST(control_channel)
{
	struct proc p = PROC_INIT;
	char buf[64];

	sh_argv[2] = "echo \"fd=$HYDRO_CONTROL_FD\" >&3; read x <&3; echo \"got $x\" >&3";
	p.argv = sh_argv;
	p.flags = PROC_CONTROL | PROC_PGROUP | PROC_PDEATHSIG;
	REQUIRE(proc_start(&p) == 0);
	REQUIRE(p.ctl_fd >= 0);
	CHECK(read(p.ctl_fd, buf, 5) == 5);
	buf[5] = '\0';
	CHECK_STR(buf, "fd=3\n");
	CHECK(write(p.ctl_fd, "stop\n", 5) == 5);
	shutdown(p.ctl_fd, SHUT_WR);
	read_all(p.ctl_fd, buf, sizeof(buf));
	CHECK_STR(buf, "got stop\n");
	CHECK(getpgid(p.pid) == p.pid);
	CHECK_INT(proc_finish(&p), 0);
}

TEST(pidfd_and_group_signal)
{
	struct proc p = PROC_INIT;
	struct pollfd pfd;
	int st = -1;

	sh_argv[2] = "sleep 30 & wait";
	p.argv = sh_argv;
	p.flags = PROC_PGROUP | PROC_PDEATHSIG;
	REQUIRE(proc_start(&p) == 0);
	REQUIRE(p.pidfd >= 0);
	pfd.fd = p.pidfd;
	pfd.events = POLLIN;
	CHECK_INT(poll(&pfd, 1, 50), 0);
	CHECK_INT(proc_poll(&p, &st), 0);
	CHECK_INT(proc_signal(&p, SIGKILL), 0);
	CHECK_INT(poll(&pfd, 1, 5000), 1);
	CHECK_INT(proc_poll(&p, &st), 1);
	CHECK_INT(st, 128 + SIGKILL);
	/* the group went too: nothing alive left in it (zombies wait for init) */
	usleep(50000);
	CHECK_INT(live_in_group(p.pid < 0 ? -p.pid : p.pid), 0);
	proc_close(&p);
}

/* a child forked for a thread that then exits must live on */
static void *
start_in_thread(void *arg)
{
	struct proc *p = arg;

	sh_argv[2] = "sleep 0.3; exit 3";
	p->argv = sh_argv;
	p->flags = PROC_PGROUP | PROC_PDEATHSIG;
	if (proc_start(p) < 0)
		p->pid = 0;
	return NULL;
}

TEST(pdeathsig_survives_thread_exit)
{
	struct proc p = PROC_INIT;
	pthread_t t;

	REQUIRE(pthread_create(&t, NULL, start_in_thread, &p) == 0);
	pthread_join(t, NULL);
	REQUIRE(p.pid > 0);
	CHECK_INT(proc_finish(&p), 3);
}

/* the start time known without reading /proc is the one /proc gives, for a
 * child of the forking thread (clone) and of the caller (vfork) alike */
TEST(start_time_matches_proc)
{
	unsigned flags[2] = { PROC_PDEATHSIG, 0 };
	int i, k, known = 0;

	for (i = 0; i < 2; i++) {
		for (k = 0; k < 20; k++) {
			char *argv[] = { "sleep", "5", NULL };
			struct proc p = PROC_INIT;

			p.argv = argv;
			p.flags = flags[i];
			REQUIRE(proc_start(&p) == 0);
			if (p.start_ticks) {
				known++;
				CHECK(p.start_ticks == proc_start_time((long)p.pid));
			}
			proc_signal(&p, SIGKILL);
			proc_finish(&p);
		}
	}
	/* a tick is 10 ms and starting takes well under 1 ms: nearly always */
	CHECK(known > 0);
}

/* a held child runs nothing before proc_go(), and is in its group already */
TEST(held_start_waits_for_go)
{
	struct proc p = PROC_INIT;
	struct pollfd pfd;
	char buf[64];

	sh_argv[2] = "echo ran";
	p.argv = sh_argv;
	p.out = PROC_PIPE;
	p.flags = PROC_HOLD | PROC_PGROUP;
	REQUIRE(proc_start(&p) == 0);
	REQUIRE(p.held != NULL);
	CHECK(getpgid(p.pid) == p.pid);
	pfd.fd = p.out_fd;
	pfd.events = POLLIN;
	CHECK_INT(poll(&pfd, 1, 0), 0);	/* it cannot have written: no exec yet */
	CHECK_INT(proc_go(&p), 0);
	CHECK(p.held == NULL);
	read_all(p.out_fd, buf, sizeof(buf));
	CHECK_STR(buf, "ran\n");
	CHECK_INT(proc_finish(&p), 0);
}

/* a dropped held child never runs its command */
TEST(held_drop_runs_nothing)
{
	struct proc p = PROC_INIT;
	char path[] = "/tmp/hydro-test-proc-XXXXXX", cmd[128];
	int fd = mkstemp(path);

	REQUIRE(fd >= 0);
	close(fd);
	unlink(path);
	snprintf(cmd, sizeof(cmd), "touch %s", path);
	sh_argv[2] = cmd;
	p.argv = sh_argv;
	p.flags = PROC_HOLD;
	REQUIRE(proc_start(&p) == 0);
	proc_drop(&p);
	CHECK(p.held == NULL);
	CHECK_INT((int)p.pid, -1);
	CHECK(access(path, F_OK) < 0);
	unlink(path);
}

/* what a held child fails at (exec, chdir) is proc_go()'s error */
TEST(held_go_reports_exec_error)
{
	struct proc p = PROC_INIT;
	char *argv[] = { "prog", NULL };

	error_set_reporter(test_quiet, NULL);
	p.argv = argv;
	p.path = "/nonexistent/program";
	p.flags = PROC_HOLD | PROC_PGROUP;
	REQUIRE(proc_start(&p) == 0);
	CHECK_INT(proc_go(&p), -1);
	CHECK(strstr(error_last(), "cannot run 'prog'") != NULL);
	CHECK(strstr(error_last(), "No such file") != NULL);
	CHECK_INT((int)p.pid, -1);
	CHECK_INT(p.out_fd, -1);
	sh_argv[2] = "true";
	p = (struct proc)PROC_INIT;
	p.argv = sh_argv;
	p.dir = "/nonexistent-dir";
	p.flags = PROC_HOLD;
	REQUIRE(proc_start(&p) == 0);
	CHECK_INT(proc_go(&p), -1);
	CHECK(strstr(error_last(), "cannot change to '/nonexistent-dir'") != NULL);
	error_set_reporter(NULL, NULL);
}

/* path runs a program of the caller's choosing under argv[0] as given */
TEST(path_overrides_argv0)
{
	struct proc p = PROC_INIT;
	char *argv[] = { "no-such-program-hydro", "-c", "echo ok", NULL };
	char buf[64];

	p.argv = argv;
	p.path = "/bin/sh";
	p.out = PROC_PIPE;
	REQUIRE(proc_start(&p) == 0);
	read_all(p.out_fd, buf, sizeof(buf));
	CHECK_STR(buf, "ok\n");
	CHECK_INT(proc_finish(&p), 0);
}

/* PROC_STDOUT: stderr goes where stdout goes, in order */
TEST(stderr_to_stdout)
{
	struct proc p = PROC_INIT;
	char buf[64];

	sh_argv[2] = "echo a; echo b >&2; echo c";
	p.argv = sh_argv;
	p.out = PROC_PIPE;
	p.err = PROC_STDOUT;
	REQUIRE(proc_start(&p) == 0);
	CHECK_INT(p.err_fd, -1);
	read_all(p.out_fd, buf, sizeof(buf));
	CHECK_STR(buf, "a\nb\nc\n");
	CHECK_INT(proc_finish(&p), 0);
}

/* PROC_TOKEN: a fresh token in PROC_TOKEN_VAR, over an inherited one */
TEST(token_in_environment)
{
	struct proc p = PROC_INIT, q = PROC_INIT;
	char buf[64], want[64];

	setenv(PROC_TOKEN_VAR, "inherited", 1);
	sh_argv[2] = "echo \"$" PROC_TOKEN_VAR "\"";
	p.argv = sh_argv;
	p.out = PROC_PIPE;
	p.flags = PROC_TOKEN;
	REQUIRE(proc_start(&p) == 0);
	CHECK_INT((int)strlen(p.token), 32);
	CHECK(strspn(p.token, "0123456789abcdef") == 32);
	read_all(p.out_fd, buf, sizeof(buf));
	snprintf(want, sizeof(want), "%s\n", p.token);
	CHECK_STR(buf, want);
	CHECK_INT(proc_finish(&p), 0);
	q.argv = sh_argv;
	q.flags = PROC_TOKEN;
	REQUIRE(proc_start(&q) == 0);
	CHECK(strcmp(p.token, q.token) != 0);
	CHECK_INT(proc_finish(&q), 0);
	unsetenv(PROC_TOKEN_VAR);
}

/* proc_stop_group with a token signals only the processes carrying it */
TEST(stop_group_by_token)
{
	struct proc p = PROC_INIT;
	pid_t pgid;

	sh_argv[2] = "sleep 30 & sleep 30 & wait";
	p.argv = sh_argv;
	p.flags = PROC_PGROUP | PROC_TOKEN;
	REQUIRE(proc_start(&p) == 0);
	pgid = p.pid;
	CHECK_INT(proc_stop_group(pgid, "0123456789abcdef0123456789abcdef", 1), 0);
	CHECK(live_in_group(pgid) > 0);	/* not ours by that token: untouched */
	CHECK_INT(proc_stop_group(pgid, p.token, 1), 0);
	CHECK_INT(live_in_group(pgid), 0);
	CHECK_INT(proc_finish(&p), 128 + SIGTERM);
	CHECK_INT(proc_stop_group(pgid, NULL, 1), 0);	/* nothing left: at once */
}

/* a TCP socket listening on a free loopback port; its port in *port */
static int
listener(int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(fd, 4) < 0 || getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		return -1;
	*port = ntohs(sin.sin_port);
	return fd;
}

/* errno of binding a new socket to the loopback port, or 0 if it binds */
static int
bind_errno(int port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), e = 0;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		e = errno;
	close(fd);
	return e;
}

/* sockets at 3, 4 in the order given, LISTEN_FDS, the child's own
 * LISTEN_PID, nothing after them; held before exec, the child alone keeps
 * the ports bound */
TEST(listen_fds_at_3)
{
	struct proc p = PROC_INIT;
	int pa, pb, a = listener(&pa), b = listener(&pb), fds[2];
	struct stat sa, sb;
	char buf[512], want[512];

	REQUIRE(a >= 0 && b >= 0);
	REQUIRE(fstat(a, &sa) == 0 && fstat(b, &sb) == 0);
	fds[0] = b;	/* swapped: the child moves each to its place */
	fds[1] = a;
	sh_argv[2] = "echo \"$LISTEN_FDS $LISTEN_PID $$\"; "
	             "readlink /proc/$$/fd/3 /proc/$$/fd/4; "
	             "[ -e /proc/$$/fd/5 ] && echo leak; exit 0";
	p.argv = sh_argv;
	p.out = PROC_PIPE;
	p.flags = PROC_HOLD;
	p.listen_fds = fds;
	p.nlisten = 2;
	REQUIRE(proc_start(&p) == 0);
	close(a);
	close(b);
	/* held before exec, the child holds the ports: nobody can take them */
	CHECK_INT(bind_errno(pa), EADDRINUSE);
	CHECK_INT(bind_errno(pb), EADDRINUSE);
	CHECK_INT(proc_go(&p), 0);
	read_all(p.out_fd, buf, sizeof(buf));
	snprintf(want, sizeof(want), "2 %ld %ld\nsocket:[%lu]\nsocket:[%lu]\n",
	         (long)p.pid, (long)p.pid, (unsigned long)sb.st_ino,
	         (unsigned long)sa.st_ino);
	CHECK_STR(buf, want);
	CHECK_INT(proc_finish(&p), 0);
	/* gone with the child */
	CHECK_INT(bind_errno(pa), 0);
}

/* sockets and a control channel would both be descriptor 3 */
TEST(listen_fds_not_with_control)
{
	struct proc p = PROC_INIT;
	int fds[1] = { 0 };

	error_set_reporter(test_quiet, NULL);
	sh_argv[2] = "true";
	p.argv = sh_argv;
	p.flags = PROC_CONTROL;
	p.listen_fds = fds;
	p.nlisten = 1;
	CHECK_INT(proc_start(&p), -1);
	CHECK(strstr(error_last(), "descriptor 3") != NULL);
	error_set_reporter(NULL, NULL);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(exit_codes);
	RUN(signal_is_128_plus_n);
	RUN(pipes_and_env);
	RUN(exec_error_reported);
	RUN(control_channel);
	RUN(pidfd_and_group_signal);
	RUN(pdeathsig_survives_thread_exit);
	RUN(start_time_matches_proc);
	RUN(held_start_waits_for_go);
	RUN(held_drop_runs_nothing);
	RUN(held_go_reports_exec_error);
	RUN(path_overrides_argv0);
	RUN(stderr_to_stdout);
	RUN(token_in_environment);
	RUN(stop_group_by_token);
	RUN(listen_fds_at_3);
	RUN(listen_fds_not_with_control);
	return TEST_EXIT();
}
