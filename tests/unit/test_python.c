/*
 * test_python: the embedded interpreter (lang/python/python.c).
 *
 * Each case runs python_run_config() in a child process of its own, since
 * an interpreter is started once per process, and checks its return value
 * and what it printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "error.h"
#include "fs.h"
#include "python.h"
#include "xmalloc.h"
#include "test.h"

static char tmpdir[] = "/tmp/hydro-test-python.XXXXXX";

/* write a script into the temporary directory; a new path */
static char *
script(const char *name, const char *text)
{
	char *path = path_join(tmpdir, name);

	if (write_file_atomic(path, text, strlen(text), 0644) < 0)
		abort();
	return path;
}

/*
 * Run path for mode in a child with stdout and stderr in files; the child's
 * exit status is what python_run_config returned (255 for -1).
 */
static int
run_script(const char *path, enum run_mode mode, struct param *params, size_t nparams,
           struct buf *out, struct buf *err)
{
	char *outp = path_join(tmpdir, "out"), *errp = path_join(tmpdir, "err");
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		struct cli c = { .log_prefix = 1 };

		if (!freopen(outp, "w", stdout) || !freopen(errp, "w", stderr))
			_exit(99);
		c.command = "run";
		c.params = params;
		c.nparams = nparams;
		cli = &c;
		status = python_run_config(path, mode) & 0xff;
		fflush(stdout);
		fflush(stderr);
		_exit(status);
	}
	waitpid(pid, &status, 0);
	buf_reset(out);
	buf_reset(err);
	read_file(outp, out);
	read_file(errp, err);
	free(outp);
	free(errp);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static const char two_services[] =
	"import hydro\n"
	"async def main():\n"
	"    d = hydro.Deployment()\n"
	"    h = d.Localhost()\n"
	"    a = d.Process(cmd=['cat'], on=h, ports={'inp': 'input'})\n"
	"    b = d.Process(cmd=['cat'], on=h, ports={'out': 'output'}, name='b')\n"
	"    b.ports.out.connect(a.ports.inp)\n"
	"    print('declared', a.name, b.name)\n"
	"    await d.deploy()\n"
	"    print('never here')\n";

TEST(missing_file)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	char *path = path_join(tmpdir, "nope.py");

	CHECK_INT(run_script(path, MODE_PLAN, NULL, 0, &out, &err), 255);
	CHECK(strstr(buf_str(&err), "cannot read") != NULL);
	CHECK(strstr(buf_str(&err), "nope.py") != NULL);
	free(path);
	buf_release(&out);
	buf_release(&err);
}

TEST(plan_stops_at_deploy)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	char *path = script("plan.py", two_services);

	CHECK_INT(run_script(path, MODE_PLAN, NULL, 0, &out, &err), 0);
	CHECK(strstr(buf_str(&out), "declared cat b") != NULL);
	CHECK(strstr(buf_str(&out), "never here") == NULL);
	CHECK(strstr(buf_str(&out), "b.out -> cat.inp") != NULL);
	CHECK_STR(buf_str(&err), "");
	free(path);
	buf_release(&out);
	buf_release(&err);
}

TEST(graph_draws_the_deployment)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	char *path = script("graph.py", two_services);

	CHECK_INT(run_script(path, MODE_GRAPH, NULL, 0, &out, &err), 0);
	CHECK(strstr(buf_str(&out), "flowchart") != NULL);
	free(path);
	buf_release(&out);
	buf_release(&err);
}

TEST(syntax_error_names_line_and_column)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	char *path = script("syntax.py", "import hydro\nasync def main(:\n    pass\n");

	CHECK_INT(run_script(path, MODE_RUN, NULL, 0, &out, &err), 255);
	CHECK(strstr(buf_str(&err), "syntax.py:2:16: invalid syntax") != NULL);
	free(path);
	buf_release(&out);
	buf_release(&err);
}

TEST(exception_prints_script_frames_and_summary)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	char *path = script("raise.py",
	                    "import hydro\n"
	                    "def inner():\n"
	                    "    raise ValueError('boom')\n"
	                    "async def main():\n"
	                    "    inner()\n");

	CHECK_INT(run_script(path, MODE_RUN, NULL, 0, &out, &err), 255);
	CHECK(strstr(buf_str(&err), "Traceback (most recent call last):") != NULL);
	CHECK(strstr(buf_str(&err), "line 5, in main") != NULL);
	CHECK(strstr(buf_str(&err), "line 3, in inner") != NULL);
	/* no frame of asyncio's or of the package's */
	CHECK(strstr(buf_str(&err), "asyncio") == NULL);
	CHECK(strstr(buf_str(&err), "<built-in>") == NULL);
	CHECK(strstr(buf_str(&err), "raise.py:3: ValueError: boom\n") != NULL);
	free(path);
	buf_release(&out);
	buf_release(&err);
}

TEST(main_with_args_and_exit_status)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	char *path = script("exit.py",
	                    "import sys\n"
	                    "def main(args):\n"
	                    "    print('args', args)\n"
	                    "    sys.exit(3)\n");

	CHECK_INT(run_script(path, MODE_RUN, NULL, 0, &out, &err), 3);
	CHECK(strstr(buf_str(&out), "args []") != NULL);
	free(path);
	buf_release(&out);
	buf_release(&err);
}

TEST(params_convert_to_the_default_type)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	struct param params[] = {
		{ "n", "8", 0 }, { "rate", "2.5", 0 }, { "fast", "yes", 0 },
		{ "name", "x,y", 0 }, { "bad", "seven", 0 },
	};
	char *path = script("params.py",
	                    "import hydro\n"
	                    "async def main():\n"
	                    "    print(hydro.param('n', 1), hydro.param('rate', 1.0),\n"
	                    "          hydro.param('fast', False), hydro.param('name', ''),\n"
	                    "          hydro.param('absent', 42))\n"
	                    "    hydro.param('bad', 3)\n");

	CHECK_INT(run_script(path, MODE_RUN, params, 5, &out, &err), 255);
	CHECK(strstr(buf_str(&out), "8 2.5 True x,y 42") != NULL);
	CHECK(strstr(buf_str(&err), "params.py:6: parameter 'bad' is 'seven', which does "
	                            "not read as int; give -D bad=<int>") != NULL);
	free(path);
	buf_release(&out);
	buf_release(&err);
}

TEST(builtin_package_wins_over_a_local_one)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	char *dir = path_join(tmpdir, "hydro");
	char *path;

	/* a hydro/ beside the script must not shadow the built-in package */
	mkdir_p(dir, 0755);
	free(script("hydro/__init__.py", "raise ImportError('the wrong hydro')\n"));
	path = script("shadow.py",
	              "import hydro, sys, os\n"
	              "async def main():\n"
	              "    print('file', hydro.__file__)\n"
	              "    print('exe', os.path.basename(sys.executable))\n");
	CHECK_INT(run_script(path, MODE_RUN, NULL, 0, &out, &err), 0);
	CHECK(strstr(buf_str(&out), "file <built-in>/hydro/__init__.py") != NULL);
	CHECK(strstr(buf_str(&out), "exe python3") != NULL);
	remove_tree(dir);
	free(dir);
	free(path);
	buf_release(&out);
	buf_release(&err);
}

TEST(two_interpreters_one_after_the_other)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	char *path = script("twice.py",
	                    "import hydro\n"
	                    "async def main():\n"
	                    "    d = hydro.Deployment()\n"
	                    "    d.Process(cmd=['true'])\n"
	                    "    print('run', hydro.param('n', 0))\n"
	                    "    try:\n"
	                    "        d.Localhost(name='bad name')\n"
	                    "    except hydro.ConfigError:\n"
	                    "        print('caught')\n");
	pid_t pid;
	int status;

	/* as a sweep does: one interpreter per run, in one process */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		static struct param p = { "n", "1", 0 };
		struct cli c = { .log_prefix = 1, .command = "run", .params = &p, .nparams = 1 };
		char *outp = path_join(tmpdir, "out");
		int a, b;

		if (!freopen(outp, "w", stdout))
			_exit(99);
		cli = &c;
		a = python_run_config(path, MODE_RUN);
		p.value = "2";
		b = python_run_config(path, MODE_RUN);
		fflush(stdout);
		_exit(a == 0 && b == 0 ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	{
		char *outp = path_join(tmpdir, "out");

		read_file(outp, &out);
		free(outp);
	}
	CHECK(strstr(buf_str(&out), "run 1\ncaught\nrun 2\ncaught\n") != NULL);
	free(path);
	buf_release(&out);
	buf_release(&err);
}

int
main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(missing_file);
	RUN(plan_stops_at_deploy);
	RUN(graph_draws_the_deployment);
	RUN(syntax_error_names_line_and_column);
	RUN(exception_prints_script_frames_and_summary);
	RUN(main_with_args_and_exit_status);
	RUN(params_convert_to_the_default_type);
	RUN(builtin_package_wins_over_a_local_one);
	RUN(two_interpreters_one_after_the_other);
	remove_tree(tmpdir);
	return TEST_EXIT();
}
