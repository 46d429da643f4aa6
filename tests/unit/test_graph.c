#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "graph.h"
#include "xmalloc.h"
#include "test.h"

static char said[1024];

static void
keep(enum error_level level, const char *msg, void *arg)
{
	(void)level;
	(void)arg;
	snprintf(said, sizeof(said), "%s", msg);
}

TEST(kind_names)
{
	CHECK_STR(task_kind_name(TASK_TARGET), "target");
	CHECK_STR(task_kind_name(TASK_BUILD), "build");
	CHECK_STR(task_kind_name(TASK_WIRE), "wire");
	CHECK_STR(task_kind_name(TASK_CLEANUP), "cleanup");
}

TEST(tasks_and_edges)
{
	struct graph *g = graph_new();
	struct task *a = graph_add(g, TASK_BUILD, "build a", NULL, NULL);
	struct task *b = graph_add(g, TASK_LAUNCH, "launch b", NULL, NULL);

	task_after(b, a);
	task_after(b, a);	/* twice is once */
	CHECK_INT(graph_size(g), 2);
	CHECK_INT(task_ndeps(b), 1);
	CHECK(task_dep(b, 0) == a);
	CHECK(task_dep(b, 1) == NULL);
	CHECK(graph_task(g, 1) == b);
	CHECK_STR(task_name(b), "launch b");
	CHECK_INT(task_kind(b), TASK_LAUNCH);
	CHECK_INT(task_state(a), TASK_WAITING);
	CHECK(task_key(a) == NULL);
	CHECK_INT(graph_check(g), 0);
	graph_free(g);
}

TEST(steps)
{
	struct graph *g = graph_new();
	struct task *a = graph_add(g, TASK_BUILD, "build a", NULL, NULL);
	size_t done, total;

	task_steps(a, &done, &total);
	CHECK(done == 0 && total == 0);
	task_set_steps(a, 45, 190);
	task_steps(a, &done, &total);
	CHECK_INT(done, 45);
	CHECK_INT(total, 190);
	graph_free(g);
}

TEST(free_arg_is_called)
{
	struct graph *g = graph_new();
	struct task *t = graph_add(g, TASK_BUILD, "x", NULL, xstrdup("owned"));

	task_set_free(t, free);
	CHECK_STR(task_arg(t), "owned");
	graph_free(g);	/* ASan says if it leaked */
}

TEST(cycle_is_named)
{
	struct graph *g = graph_new();
	struct task *a = graph_add(g, TASK_BUILD, "a", NULL, NULL);
	struct task *b = graph_add(g, TASK_BUILD, "b", NULL, NULL);
	struct task *c = graph_add(g, TASK_BUILD, "c", NULL, NULL);
	struct task *d = graph_add(g, TASK_BUILD, "d", NULL, NULL);

	task_after(a, d);
	task_after(a, b);
	task_after(b, c);
	task_after(c, a);
	error_set_reporter(keep, NULL);
	CHECK_INT(graph_check(g), -1);
	error_set_reporter(NULL, NULL);
	CHECK_STR(said, "dependency cycle: 'a' -> 'b' -> 'c' -> 'a'");
	graph_free(g);
}

TEST(self_cycle)
{
	struct graph *g = graph_new();
	struct task *a = graph_add(g, TASK_BUILD, "a", NULL, NULL);

	task_after(a, a);
	error_set_reporter(keep, NULL);
	CHECK_INT(graph_check(g), -1);
	error_set_reporter(NULL, NULL);
	CHECK_STR(said, "dependency cycle: 'a' -> 'a'");
	graph_free(g);
}

TEST(diamond_is_no_cycle)
{
	struct graph *g = graph_new();
	struct task *a = graph_add(g, TASK_BUILD, "a", NULL, NULL);
	struct task *b = graph_add(g, TASK_BUILD, "b", NULL, NULL);
	struct task *c = graph_add(g, TASK_BUILD, "c", NULL, NULL);
	struct task *d = graph_add(g, TASK_BUILD, "d", NULL, NULL);

	task_after(d, b);
	task_after(d, c);
	task_after(b, a);
	task_after(c, a);
	CHECK_INT(graph_check(g), 0);
	graph_free(g);
}

TEST(long_chain_does_not_recurse)
{
	struct graph *g = graph_new();
	struct task *prev = NULL, *t;
	char name[32];
	int i;

	for (i = 0; i < 200000; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		t = graph_add(g, TASK_BUILD, name, NULL, NULL);
		if (prev)
			task_after(prev, t);
		prev = t;
	}
	CHECK_INT(graph_check(g), 0);
	task_after(prev, graph_task(g, 0));
	error_set_reporter(keep, NULL);
	CHECK_INT(graph_check(g), -1);
	error_set_reporter(NULL, NULL);
	CHECK(strncmp(said, "dependency cycle: 't0' -> 't1' -> ", 34) == 0);
	graph_free(g);
}

int
main(void)
{
	RUN(kind_names);
	RUN(steps);
	RUN(tasks_and_edges);
	RUN(free_arg_is_called);
	RUN(cycle_is_named);
	RUN(self_cycle);
	RUN(diamond_is_no_cycle);
	RUN(long_chain_does_not_recurse);
	return TEST_EXIT();
}
