#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "prune.h"
#include "xmalloc.h"
#include "test.h"

TEST(run_names_are_those_hydro_gives)
{
	CHECK(prune_run_name("20260105-143000-4242-0"));
	CHECK(prune_run_name("20260105-143000-1-17"));
	CHECK(!prune_run_name("20260105-143000-4242"));
	CHECK(!prune_run_name("20260105-143000-4242-"));
	CHECK(!prune_run_name("20260105-143000--0"));
	CHECK(!prune_run_name("2026010-143000-4242-0"));
	CHECK(!prune_run_name("20260105-1430000-4242-0"));
	CHECK(!prune_run_name("20260105-143000-4242-0-1"));
	CHECK(!prune_run_name("20260105-143000-4242-0.tmp"));
	CHECK(!prune_run_name("x20260105-143000-4242-0"));
	CHECK(!prune_run_name("notes"));
	CHECK(!prune_run_name(""));
}

TEST(a_package_goes_by_its_last_use)
{
	long long now = 1000000000;

	/* used within the hour: stays, however many are kept */
	CHECK(!prune_due(now, now - 10, PRUNE_KEEP + 5));
	/* beyond the kept: goes */
	CHECK(prune_due(now, now - PRUNE_RECENT - 1, PRUNE_KEEP));
	/* among the kept: stays, unless unused for PRUNE_AGE */
	CHECK(!prune_due(now, now - PRUNE_RECENT - 1, PRUNE_KEEP - 1));
	CHECK(prune_due(now, now - PRUNE_AGE - 1, 0));
}

static int
made(const char *dir, const char *name)
{
	char *p = path_join(dir, name);
	int ok = path_exists(p);

	free(p);
	return ok;
}

static int
is_live(const char *run, void *arg)
{
	return !strcmp(run, (const char *)arg);
}

TEST(old_run_folders_go_but_the_live_the_current_and_the_others)
{
	char *top = test_tmpdir("prune"), *runs, *p, *outside;
	static const char *const names[] = {
		"20250101-000000-1-0",	/* live */
		"20250101-000000-2-0",	/* the current one */
		"20250102-000000-1-0",
		"20250103-000000-1-0",
		"20250104-000000-1-0",
		"20250105-000000-1-0",
		"notes",		/* not a run's name */
	};
	size_t i;
	FILE *f;

	REQUIRE(top);
	runs = path_join(top, ".hydro/runs");
	for (i = 0; i < sizeof(names) / sizeof(*names); i++) {
		p = xasprintf("%s/%s/logs", runs, names[i]);
		REQUIRE(mkdir_p(p, 0700) == 0);
		free(p);
	}
	/* a link named as an old run, to a folder of something else */
	outside = path_join(top, "outside");
	REQUIRE(mkdir_p(outside, 0700) == 0);
	p = path_join(outside, "keep");
	f = fopen(p, "w");
	REQUIRE(f);
	fclose(f);
	free(p);
	p = path_join(runs, "20240101-000000-1-0");
	REQUIRE(symlink(outside, p) == 0);
	free(p);
	/* a file named as a run */
	p = path_join(runs, "20240102-000000-1-0");
	f = fopen(p, "w");
	REQUIRE(f);
	fclose(f);
	free(p);

	prune_runs(top, "20250101-000000-2-0", is_live, "20250101-000000-1-0");
	/* HYDRO_KEEP_RUNS=2: the two most recent */
	CHECK(made(runs, "20250105-000000-1-0"));
	CHECK(made(runs, "20250104-000000-1-0"));
	CHECK(!made(runs, "20250103-000000-1-0"));
	CHECK(!made(runs, "20250102-000000-1-0"));
	CHECK(made(runs, "20250101-000000-1-0"));
	CHECK(made(runs, "20250101-000000-2-0"));
	CHECK(made(runs, "notes"));
	CHECK(made(runs, "20240101-000000-1-0"));
	CHECK(made(runs, "20240102-000000-1-0"));
	CHECK(made(outside, "keep"));
	/* no .hydro/runs: nothing to do */
	prune_runs(outside, NULL, NULL, NULL);
	remove_tree(top);
	free(outside);
	free(runs);
	free(top);
}

int
main(void)
{
	setenv("HYDRO_KEEP_RUNS", "2", 1);
	RUN(run_names_are_those_hydro_gives);
	RUN(a_package_goes_by_its_last_use);
	RUN(old_run_folders_go_but_the_live_the_current_and_the_others);
	return TEST_EXIT();
}
