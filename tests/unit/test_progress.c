/* Unit tests of progress: the live display on a terminal. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "graph.h"
#include "progress.h"
#include "test.h"

/* stderr on a pseudo-terminal of the given width; the master's fd */
static int
stderr_on_pty(int cols, int *saved)
{
	struct winsize ws = { .ws_row = 50, .ws_col = (unsigned short)cols };
	int m, s;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
		return -1;
	s = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		return -1;
	ioctl(s, TIOCSWINSZ, &ws);
	fflush(stderr);
	*saved = dup(2);
	dup2(s, 2);
	close(s);
	fcntl(m, F_SETFL, O_NONBLOCK);
	return m;
}

static void
stderr_back(int saved)
{
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
}

static int
job(struct task *t, void *arg)
{
	(void)t, (void)arg;
	return 0;
}

/* a task name longer than the line buffer, on a terminal wider than it */
TEST(live_line_on_a_very_wide_terminal)
{
	const struct sched_events *ev = progress_events();
	struct graph *g = graph_new();
	struct progress *p;
	struct task *t;
	char name[2000], out[8192];
	ssize_t n;
	int m, saved = -1;

	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	t = graph_add(g, TASK_TARGET, name, job, NULL);
	unsetenv("CI");
	setenv("TERM", "xterm", 1);
	m = stderr_on_pty(1000, &saved);
	REQUIRE(m >= 0);
	p = progress_new(NULL);
	ev->begin(1, 0, p);
	ev->start(t, p);
	ev->tick(p);
	progress_free(p);
	stderr_back(saved);
	/* the line was cut, and ends with "..." */
	n = read(m, out, sizeof(out) - 1);
	REQUIRE(n > 0);
	out[n] = '\0';
	CHECK(strstr(out, "xxx...") != NULL);
	close(m);
	graph_free(g);
}

/* the options come as progress_new()'s argument: json makes JSON events */
TEST(json_option_gives_json_events)
{
	const struct sched_events *ev = progress_events();
	char path[] = "/tmp/hydro-test-progress-XXXXXX", out[256];
	struct options o;
	struct progress *p;
	int fd = mkstemp(path), saved;
	ssize_t n;

	REQUIRE(fd >= 0);
	memset(&o, 0, sizeof(o));
	o.json = 1;
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	p = progress_new(&o);
	ev->begin(3, 1, p);
	progress_free(p);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	close(fd);
	unlink(path);
	REQUIRE(n > 0);
	out[n] = '\0';
	CHECK(strstr(out, "\"event\":") != NULL);
	CHECK(strstr(out, "\"begin\"") != NULL);
}

int
main(void)
{
	RUN(live_line_on_a_very_wide_terminal);
	RUN(json_option_gives_json_events);
	return TEST_EXIT();
}
