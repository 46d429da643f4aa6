/*
 * spawnloop: the limit for bench/local-start.  Starts N copies of a command
 * (fork and exec, a pipe on stdout), waits until each has printed a line,
 * prints the time that took in milliseconds, then kills them all.
 *
 *   spawnloop N COMMAND [ARGS...]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct timespec a, b;
	int n, i, *fds;
	pid_t *pids;
	char c;

	if (argc < 3) {
		fprintf(stderr, "usage: spawnloop N COMMAND [ARGS...]\n");
		return 2;
	}
	n = atoi(argv[1]);
	fds = calloc((size_t)n, sizeof(*fds));
	pids = calloc((size_t)n, sizeof(*pids));
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++) {
		int p[2];

		if (pipe(p) < 0)
			return 1;
		pids[i] = fork();
		if (pids[i] == 0) {
			dup2(p[1], 1);
			close(p[0]);
			close(p[1]);
			execvp(argv[2], argv + 2);
			_exit(127);
		}
		close(p[1]);
		fds[i] = p[0];
	}
	for (i = 0; i < n; i++)
		while (read(fds[i], &c, 1) == 1 && c != '\n')
			;
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.2f\n", (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
	for (i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	for (i = 0; i < n; i++)
		waitpid(pids[i], NULL, 0);
	return 0;
}
