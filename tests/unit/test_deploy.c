#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploy.h"
#include "error.h"
#include "fs.h"
#include "json.h"
#include "test.h"


static struct deployment *
echo(void)
{
	struct deployment *d = deployment_new("/tmp", "echo.hydro.py");
	struct host *h1 = deploy_add_host(d, NULL, "local");
	struct host *h2 = deploy_add_host(d, NULL, "local");
	struct service *srv = deploy_add_service(d, NULL, SERVICE_HYDROFLOW, h1,
	                                         "src/echo_server.hf");
	struct service *clt = deploy_add_service(d, NULL, SERVICE_HYDROFLOW, h2,
	                                         "src/echo_client.hf");

	service_declare_port(srv, "inbound", PORT_INPUT, "(EchoMsg, SocketAddr)");
	service_declare_port(srv, "outbound", PORT_OUTPUT, "(EchoMsg, SocketAddr)");
	service_declare_port(clt, "inbound", PORT_INPUT, "(EchoMsg, SocketAddr)");
	service_declare_port(clt, "outbound", PORT_OUTPUT, "(EchoMsg, SocketAddr)");
	deploy_connect(d, service_port(clt, "outbound"), service_port(srv, "inbound"));
	deploy_connect(d, service_port(srv, "outbound"), service_port(clt, "inbound"));
	return d;
}

TEST(names_are_made_and_unique)
{
	struct deployment *d = echo();

	CHECK_STR(d->hosts[0]->name, "local1");
	CHECK_STR(d->hosts[1]->name, "local2");
	CHECK_STR(d->services[0]->name, "echo_server");
	CHECK_STR(d->services[1]->name, "echo_client");
	CHECK_STR(d->services[0]->src, "/tmp/src/echo_server.hf");
	CHECK_INT(d->nconns, 2);
	error_set_reporter(test_quiet, NULL);
	CHECK(deploy_add_host(d, "local1", "local") == NULL);
	CHECK(deploy_add_service(d, "echo_server", SERVICE_PROCESS, d->hosts[0], NULL) == NULL);
	CHECK(deploy_add_service(d, "bad.name", SERVICE_PROCESS, d->hosts[0], NULL) == NULL);
	CHECK(strstr(error_last(), "bad service name 'bad.name'") != NULL);
	error_set_reporter(NULL, NULL);
	CHECK_STR(deploy_add_service(d, NULL, SERVICE_HYDROFLOW, d->hosts[0],
	                             "x/echo_server.hf")->name, "echo_server2");
	deployment_free(d);
}

TEST(bad_connections_name_both_ends)
{
	struct deployment *d = echo();
	struct service *srv = d->services[0], *clt = d->services[1];

	error_set_reporter(test_quiet, NULL);
	CHECK(!deploy_connect(d, service_port(srv, "inbound"), service_port(clt, "inbound")));
	CHECK(strstr(error_last(), "'echo_server.inbound' to 'echo_client.inbound': both are inputs"));
	CHECK(!deploy_connect(d, service_port(srv, "outbound"), service_port(clt, "outbound")));
	CHECK(strstr(error_last(), "both are outputs"));
	CHECK(!deploy_connect(d, service_port(srv, "inbound"), service_port(srv, "inbound")));
	CHECK(strstr(error_last(), "'echo_server.inbound' to itself"));
	CHECK(!deploy_connect(d, service_port(clt, "outbound"), service_port(srv, "inbound")));
	CHECK(strstr(error_last(), "already connected"));
	CHECK(!deploy_connect(d, service_port(srv, "inbound"), NULL));
	CHECK(strstr(error_last(), "is an input"));
	CHECK(service_port(srv, "inbund") == NULL);
	CHECK(strstr(error_last(), "has no port 'inbund'; did you mean 'inbound'?"));
	CHECK(strstr(error_last(), "(its ports: inbound, outbound)"));
	error_set_reporter(NULL, NULL);
	deployment_free(d);
}

TEST(crate_ports_are_named_by_use)
{
	struct deployment *d = deployment_new("/tmp", "t");
	struct host *h = deploy_add_host(d, "h", "local");
	struct service *a = deploy_add_service(d, "a", SERVICE_CRATE, h, "crate");
	struct service *b = deploy_add_service(d, "b", SERVICE_CRATE, h, "crate");
	struct port *x = service_port(a, "anything");

	REQUIRE(x);
	CHECK_INT(x->dir, PORT_UNKNOWN);
	REQUIRE(deploy_connect(d, x, service_port(b, "in")));
	CHECK_INT(x->dir, PORT_OUTPUT);
	CHECK_INT(service_port(b, "in")->dir, PORT_INPUT);
	/* named but never connected */
	service_port(a, "dangling");
	error_set_reporter(test_quiet, NULL);
	CHECK(deploy_validate(d) == -1);
	error_set_reporter(NULL, NULL);
	deployment_free(d);
}

TEST(target_cycles_and_shared_outputs)
{
	struct deployment *d = deployment_new("/tmp", "t.json");
	struct target *a = deploy_add_target(d, "a"), *b = deploy_add_target(d, "b");
	char *ab[] = { "b", NULL }, *ba[] = { "a", NULL };

	a->argv = calloc(2, sizeof(char *));
	a->argv[0] = strdup("true");
	a->argc = 1;
	b->argv = calloc(2, sizeof(char *));
	b->argv[0] = strdup("true");
	b->argc = 1;
	a->needs = calloc(2, sizeof(char *));
	a->needs[0] = strdup(ab[0]);
	a->nneeds = 1;
	CHECK(deploy_validate(d) == 0);
	b->needs = calloc(2, sizeof(char *));
	b->needs[0] = strdup(ba[0]);
	b->nneeds = 1;
	error_set_reporter(test_quiet, NULL);
	CHECK(deploy_validate(d) == -1);
	CHECK(strstr(error_last(), "cycle: a -> b -> a"));
	error_set_reporter(NULL, NULL);
	deployment_free(d);
}

static const char spec[] =
	"{\"version\": 1,\n"
	" \"hosts\": [{\"name\": \"m\", \"backend\": \"local\", \"settings\": {\"x\": \"1\"}}],\n"
	" \"targets\": [{\"name\": \"gen\", \"cmd\": [\"touch\", \"out\"], \"outputs\": [\"out\"]}],\n"
	" \"services\": [\n"
	"  {\"name\": \"p\", \"kind\": \"process\", \"on\": \"m\", \"cmd\": [\"cat\"],\n"
	"   \"ports\": [{\"name\": \"in\", \"dir\": \"input\"}, {\"name\": \"out\", \"dir\": \"output\"}],\n"
	"   \"needs\": [\"gen\"], \"ready\": {\"port\": \"in\"}, \"env\": {\"A\": \"b\"}},\n"
	"  {\"name\": \"q\", \"kind\": \"process\", \"on\": \"m\", \"cmd\": [\"cat\"],\n"
	"   \"ports\": [{\"name\": \"in\", \"dir\": \"input\"}, {\"name\": \"out\", \"dir\": \"output\"}]}],\n"
	" \"connections\": [{\"from\": \"p.out\", \"to\": \"q.in\"}, {\"from\": \"q.out\", \"to\": \"p.in\"},\n"
	"                   {\"from\": null, \"to\": \"q.in\"}]}\n";

TEST(json_round_trip)
{
	cJSON *j = json_parse(spec, "t.json"), *j2;
	struct deployment *d, *d2;
	char *a, *b;

	REQUIRE(j);
	d = deploy_from_json(j, "/tmp", "t.json");
	REQUIRE(d);
	CHECK_INT(d->nservices, 2);
	CHECK_INT(d->nconns, 3);
	CHECK(d->conns[2]->from == NULL);
	CHECK_INT(d->services[0]->ready.kind, READY_PORT);
	j2 = deploy_to_json(d);
	d2 = deploy_from_json(j2, "/tmp", "t2.json");
	REQUIRE(d2);
	a = json_print(j2);
	cJSON_Delete(j2);
	j2 = deploy_to_json(d2);
	b = json_print(j2);
	CHECK_STR(a, b);
	free(a);
	free(b);
	cJSON_Delete(j);
	cJSON_Delete(j2);
	deployment_free(d);
	deployment_free(d2);
}

static const char *
load_error(const char *text)
{
	cJSON *j = json_parse(text, "bad.json");
	struct deployment *d;

	if (!j)
		return error_last();
	error_clear();
	d = deploy_from_json(j, "/tmp", "bad.json");
	cJSON_Delete(j);
	deployment_free(d);
	return d ? "" : error_last();
}

TEST(json_errors_name_the_entry)
{
	error_set_reporter(test_quiet, NULL);
	CHECK(strstr(load_error("{}"), "'version' is missing"));
	CHECK(strstr(load_error("{\"version\": 9}"), "version 9 is not known"));
	CHECK(strstr(load_error("{\"version\": 1, \"hostz\": []}"),
	             "unknown key 'hostz'; did you mean 'hosts'?"));
	CHECK(strstr(load_error("{\"version\": 1, \"services\": [{\"name\": \"a\", "
	                        "\"kind\": \"process\", \"on\": \"nohost\", \"cmd\": [\"x\"]}]}"),
	             "bad.json: services[0]: 'on' names an unknown host 'nohost'"));
	CHECK(strstr(load_error("{\"version\": 1, \"hosts\": [{\"name\": \"m\"}], "
	                        "\"services\": [{\"name\": \"a\", \"kind\": \"process\", "
	                        "\"on\": \"m\", \"cmd\": [\"x\"], \"needs\": [\"nope\"]}]}"),
	             "service 'a' needs an unknown target 'nope'"));
	CHECK(strstr(load_error("{\"version\": 1, \"connections\": [{\"from\": \"x.y\", "
	                        "\"to\": \"z.w\"}]}"),
	             "connections[0]: 'from' names an unknown service 'x'"));
	CHECK(strstr(load_error("{\"version\": 1, \"hosts\": [{\"name\": \"m\"}], "
	                        "\"services\": [{\"name\": \"a\", \"kind\": \"wat\", "
	                        "\"on\": \"m\"}]}"),
	             "unknown kind 'wat'"));
	error_set_reporter(NULL, NULL);
}

int
main(void)
{
	RUN(names_are_made_and_unique);
	RUN(bad_connections_name_both_ends);
	RUN(crate_ports_are_named_by_use);
	RUN(target_cycles_and_shared_outputs);
	RUN(json_round_trip);
	RUN(json_errors_name_the_entry);
	return TEST_EXIT();
}
