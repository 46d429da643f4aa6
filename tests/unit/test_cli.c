#include <string.h>

#include "cli.h"
#include "error.h"
#include "test.h"

static struct cli c;

static void
given(const char *arg)
{
	CHECK_INT(cli_add_param(&c, arg), 0);
}

TEST(params_read_as_their_type)
{
	struct param_value v;

	cli = &c;
	given("n=0x2a");
	given("neg=-1_000");
	given("f=1e3");
	given("b=Yes");
	given("off= off ");
	given("s= as given ");
	CHECK_INT(cli_param_typed("n", PARAM_INT, &v), 1);
	CHECK(v.i == 42);
	CHECK_INT(cli_param_typed("neg", PARAM_INT, &v), 1);
	CHECK(v.i == -1000);
	CHECK_INT(cli_param_typed("f", PARAM_FLOAT, &v), 1);
	CHECK(v.f == 1000.0);
	CHECK_INT(cli_param_typed("b", PARAM_BOOL, &v), 1);
	CHECK_INT(v.b, 1);
	CHECK_INT(cli_param_typed("off", PARAM_BOOL, &v), 1);
	CHECK_INT(v.b, 0);
	CHECK_INT(cli_param_typed("s", PARAM_STR, &v), 1);
	CHECK_STR(v.str, " as given ");
	CHECK_INT(cli_param_typed("absent", PARAM_INT, &v), 0);
	error_set_reporter(test_quiet, NULL);
	CHECK_INT(cli_param_typed("s", PARAM_INT, &v), -1);
	CHECK_STR(error_last(), "parameter 's' is ' as given ', which does not read as int; "
	          "give -D s=<int>");
	CHECK_INT(cli_param_typed("f", PARAM_BOOL, &v), -1);
	given("big=99999999999999999999");
	CHECK_INT(cli_param_typed("big", PARAM_INT, &v), -1);
	error_set_reporter(NULL, NULL);
	cli_release_params(&c);
}

TEST(unread_params_suggest_the_names_asked_for)
{
	cli = &c;
	given("clinets=4");
	given("rate=2");
	CHECK(cli_param("clients") == NULL);
	CHECK_STR(cli_param("rate"), "2");
	error_set_reporter(test_keep_last, NULL);
	CHECK_INT(cli_check_params(&c, 0), 0);	/* not strict: only at the end */
	CHECK_STR(test_last(), "");
	CHECK_INT(cli_check_params(&c, 1), 0);
	CHECK_STR(test_last(), "parameter 'clinets' was given with -D but the config never "
	          "reads it; did you mean 'clients'?");
	c.strict_params = 1;
	CHECK_INT(cli_check_params(&c, 0), -1);
	CHECK_STR(test_last(), "parameter 'clinets' was given with -D but the config does "
	          "not read it; did you mean 'clients'?");
	error_set_reporter(NULL, NULL);
	c.strict_params = 0;
	cli_release_params(&c);
	CHECK_INT((int)c.nasked, 0);
}

int
main(void)
{
	RUN(params_read_as_their_type);
	RUN(unread_params_suggest_the_names_asked_for);
	return TEST_EXIT();
}
