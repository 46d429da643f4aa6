/* Unit tests of lower: a deployment as the run's tasks, here the uploads
 * of packages to hosts that are not this machine. */
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "crate.h"
#include "deploy.h"
#include "fs.h"
#include "graph.h"
#include "lower.h"
#include "ports.h"
#include "run_int.h"
#include "test.h"
#include "xmalloc.h"

static struct task *
find(struct graph *g, const char *name)
{
	size_t i;

	for (i = 0; i < graph_size(g); i++)
		if (!strcmp(task_name(graph_task(g, i)), name))
			return graph_task(g, i);
	return NULL;
}

/* whether t runs right after dep */
static int
after(struct task *t, struct task *dep)
{
	size_t i;

	for (i = 0; t && dep && i < task_ndeps(t); i++)
		if (task_dep(t, i) == dep)
			return 1;
	return 0;
}

static size_t
count(struct graph *g, enum task_kind kind)
{
	size_t i, n = 0;

	for (i = 0; i < graph_size(g); i++)
		n += task_kind(graph_task(g, i)) == kind;
	return n;
}

/*
 * One crate run by a and b on the remote host far, by c on this machine:
 * one upload (far, its package), after the package and far's provision,
 * before the launches of a and b; none for c, which runs it from the cache.
 */
TEST(one_upload_per_host_and_package)
{
	char *top = test_tmpdir("lower"), *src, *file;
	struct deployment *d;
	struct host *far, *box;
	struct run *r;
	struct build *bd;
	struct graph *g;
	struct task *up, *pkg = NULL;
	size_t i;

	REQUIRE(top);
	src = path_join(top, "app");
	file = path_join(src, "src");
	REQUIRE(mkdir_p(file, 0755) == 0);
	free(file);
	file = path_join(src, "Cargo.toml");
	REQUIRE(write_file_atomic(file, "[package]\nname = \"app\"\nversion = \"0.1.0\"\n",
	                          41, 0644) == 0);
	free(file);
	file = path_join(src, "src/main.rs");
	REQUIRE(write_file_atomic(file, "fn main() {}\n", 13, 0644) == 0);
	free(file);

	d = deployment_new(top, "test.json");
	box = deploy_add_host(d, "box", "local");
	far = deploy_add_host(d, "far", "ssh");
	host_set(far, "host", "far.example");
	host_set(far, "target", "x86_64-unknown-linux-gnu");
	host_set(box, "target", "x86_64-unknown-linux-gnu");
	deploy_add_service(d, "a", SERVICE_CRATE, far, src);
	deploy_add_service(d, "b", SERVICE_CRATE, far, src);
	deploy_add_service(d, "c", SERVICE_CRATE, box, src);
	r = run_new(d, MODE_RUN, NULL);
	REQUIRE(r);
	r->plan = plan_new(d);
	REQUIRE(r->plan);
	bd = build_open(d, NULL, NULL);
	g = graph_new();
	REQUIRE(crate_add(bd, g) == 0);
	lower_deploy(r, bd, g);

	CHECK_INT(count(g, TASK_UPLOAD), 1);
	up = find(g, "upload a to far");
	REQUIRE(up);
	for (i = 0; i < graph_size(g); i++)
		if (task_kind(graph_task(g, i)) == TASK_PACKAGE)
			pkg = graph_task(g, i);
	CHECK(after(up, pkg));
	CHECK(after(up, find(g, "provision far")));
	CHECK(after(find(g, "launch a"), up));
	CHECK(after(find(g, "launch b"), up));
	CHECK(!after(find(g, "launch c"), up));
	CHECK_INT(graph_check(g), 0);

	graph_free(g);
	build_close(bd);
	run_finish(r);
	deployment_free(d);
	remove_tree(top);
	free(src);
	free(top);
}

int
main(void)
{
	RUN(one_upload_per_host_and_package);
	return TEST_EXIT();
}
