#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploy.h"
#include "error.h"
#include "fs.h"
#include "json.h"
#include "test.h"
#include "xmalloc.h"


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

/* a setting given with no value (Python's None): "none" where that means
 * something (a gcp host's ttl), else not given */
TEST(host_settings_given_no_value)
{
	struct deployment *d = deployment_new("/tmp", "hosts.hydro.py");
	struct kv forever[] = { { "project", "p" }, { "zone", "z" }, { "ttl", NULL },
	                        { "user", NULL } };
	struct kv nozone[] = { { "project", "p" }, { "zone", NULL } };
	struct host *h;

	h = deploy_declare_host(d, NULL, "gcp", forever, 4);
	REQUIRE(h != NULL);
	CHECK_STR(host_get(h, "ttl"), "none");
	CHECK(host_get(h, "user") == NULL);
	error_set_reporter(test_quiet, NULL);
	CHECK(!deploy_declare_host(d, NULL, "gcp", nozone, 2));
	CHECK(strstr(error_last(), "a 'gcp' host needs its 'zone'") != NULL);
	error_set_reporter(NULL, NULL);
	deployment_free(d);
}

/* the config script itself as a service: on this machine, its ports made
 * by use, one connection each; no JSON config has one */
TEST(the_script_takes_part)
{
	struct deployment *d = deployment_new("/tmp", "me.hydro.py");
	struct host *box = deploy_add_host(d, NULL, "local");
	struct host *vm = deploy_add_host(d, NULL, "gcp");
	struct service *me, *p;
	char *text;
	cJSON *j;

	me = deploy_add_participant(d, NULL, box);
	REQUIRE(me != NULL);
	CHECK_STR(me->name, "script");
	CHECK_INT(me->kind, SERVICE_SCRIPT);
	CHECK(!service_speaks(me));
	p = deploy_add_process(d, NULL, box, (char *[]){ "cat" }, 1);
	REQUIRE(p != NULL);
	service_declare_port(p, "in", PORT_INPUT, NULL);
	service_declare_port(p, "in2", PORT_INPUT, NULL);
	REQUIRE(deploy_connect_with(d, service_port(me, "port1"), service_port(p, "in"),
	                            -1, -1, 0) != NULL);
	CHECK_INT(service_port(me, "port1")->dir, PORT_OUTPUT);
	error_set_reporter(test_quiet, NULL);
	CHECK(!deploy_connect_with(d, service_port(me, "port1"), service_port(p, "in2"),
	                           -1, -1, 0));
	CHECK(strstr(error_last(), "'script.port1' is connected already: a port of the "
	             "script carries one connection") != NULL);
	CHECK(!deploy_add_participant(d, NULL, vm));
	CHECK(strstr(error_last(), "the script runs on this machine, not on host "
	             "'gcp1' (gcp)") != NULL);
	error_set_reporter(NULL, NULL);
	deploy_connect(d, NULL, service_port(p, "in2"));
	CHECK_INT(deploy_validate(d), 0);
	j = deploy_to_json(d);
	text = json_print(j);
	CHECK(strstr(text, "\"kind\":\"script\"") != NULL);
	free(text);
	cJSON_Delete(j);
	deployment_free(d);
	error_set_reporter(test_quiet, NULL);
	CHECK(strstr(load_error("{\"version\": 1, \"hosts\": [{\"name\": \"m\"}], "
	                        "\"services\": [{\"name\": \"a\", \"kind\": \"script\", "
	                        "\"on\": \"m\"}]}"),
	             "kind \"script\" is a Python config script taking part"));
	error_set_reporter(NULL, NULL);
}

TEST(process_names_come_from_the_script)
{
	struct deployment *d = deployment_new("/tmp", "names.hydro.py");
	struct host *h = deploy_add_host(d, NULL, "local");
	char *py[] = { "python3", "worker.py" };
	char *pyu[] = { "/usr/bin/python3.11", "-u", "tools/worker.py", "--fast" };
	char *env[] = { "env", "A=1", "node", "server.js" };
	char *mod[] = { "python3", "-m", "http.server" };
	char *sh[] = { "sh", "-c", "exit 0" };
	char *to[] = { "timeout", "5", "bash", "run.sh" };
	char *plain[] = { "redis-server", "--port", "0" };

	CHECK_STR(deploy_add_process(d, NULL, h, py, 2)->name, "worker");
	CHECK_STR(deploy_add_process(d, NULL, h, pyu, 4)->name, "worker2");
	CHECK_STR(deploy_add_process(d, NULL, h, env, 4)->name, "server");
	CHECK_STR(deploy_add_process(d, NULL, h, mod, 3)->name, "http_server");
	CHECK_STR(deploy_add_process(d, NULL, h, sh, 3)->name, "sh");
	CHECK_STR(deploy_add_process(d, NULL, h, to, 4)->name, "run");
	CHECK_STR(deploy_add_process(d, NULL, h, plain, 3)->name, "redis-server");
	CHECK_INT((int)d->services[0]->argc, 2);
	error_set_reporter(test_quiet, NULL);
	CHECK(!deploy_add_process(d, NULL, h, py, 0));
	CHECK(strstr(error_last(), "a process needs a command") != NULL);
	error_set_reporter(NULL, NULL);
	deployment_free(d);
}

TEST(host_settings_are_the_backends)
{
	struct deployment *d = deployment_new("/tmp", "hosts.hydro.py");
	struct kv seed[] = { { "project", "p" }, { "zone", "z" }, { "type", "e2-micro" } };
	struct kv pos[] = { { NULL, "p" }, { NULL, "z" }, { "image", "debian" } };
	struct kv typo[] = { { "project", "p" }, { "zon", "z" } };
	struct kv missing[] = { { "project", "p" } };
	struct kv twice[] = { { NULL, "p" }, { "project", "q" }, { "zone", "z" } };
	struct host *h;

	deploy_set_where(d, "hosts.hydro.py:7");
	h = deploy_declare_host(d, NULL, "gcp", seed, 3);
	REQUIRE(h != NULL);
	CHECK_STR(h->name, "gcp1");
	CHECK_STR(h->where, "hosts.hydro.py:7");
	CHECK_STR(host_get(h, "type"), "e2-micro");
	h = deploy_declare_host(d, "m2", "gcp", pos, 3);
	REQUIRE(h != NULL);
	CHECK_STR(host_get(h, "zone"), "z");
	CHECK_STR(host_get(h, "image"), "debian");
	error_set_reporter(test_quiet, NULL);
	CHECK(!deploy_declare_host(d, NULL, "gcp", typo, 2));
	CHECK(strstr(error_last(), "no setting 'zon'; did you mean 'zone'?") != NULL);
	CHECK(!deploy_declare_host(d, NULL, "gcp", missing, 1));
	CHECK(strstr(error_last(), "a 'gcp' host needs its 'zone'") != NULL);
	CHECK(!deploy_declare_host(d, NULL, "gcp", twice, 3));
	CHECK(strstr(error_last(), "'project' is given twice") != NULL);
	CHECK(!deploy_declare_host(d, NULL, "local", missing, 1));
	CHECK(strstr(error_last(), "a 'local' host has no setting 'project' (it takes "
	             "address, target)") != NULL);
	CHECK(!deploy_declare_host(d, NULL, "cloud9", NULL, 0));
	/* every backend the model knows is built in */
	CHECK_INT(deploy_check_backends(d), 0);
	error_set_reporter(NULL, NULL);
	CHECK(deploy_backend_settings("ssh") != NULL);
	CHECK_STR(deploy_backend_settings("ssh")[0], "host");
	CHECK(deploy_backend_settings("cloud9") == NULL);
	deployment_free(d);
}

TEST(ready_ports_and_tags_by_name)
{
	struct deployment *d = echo();
	struct service *srv = d->services[0], *clt = d->services[1];
	char *cmd[] = { "pg_isready" };
	enum port_dir dir;

	error_set_reporter(test_quiet, NULL);
	CHECK_INT(service_set_ready(srv, "log", "listening on [0-9]+", NULL, 0), 0);
	CHECK_INT(srv->ready.kind, READY_LOG);
	CHECK_INT(service_set_ready(srv, "log", "a(b", NULL, 0), -1);
	CHECK(strstr(error_last(), "ready log pattern 'a(b'") != NULL);
	CHECK_INT(service_set_ready(srv, "command", NULL, cmd, 1), 0);
	CHECK_INT(srv->ready.kind, READY_COMMAND);
	CHECK_INT(service_set_ready(srv, "command", NULL, NULL, 0), -1);
	CHECK_INT(service_set_ready(srv, "socket", "x", NULL, 0), -1);
	CHECK(strstr(error_last(), "a readiness check is one of") != NULL);
	CHECK_INT(service_set_ready(srv, NULL, NULL, NULL, 0), -1);
	CHECK_INT(port_dir_parse("p", "in", &dir), 0);
	CHECK_INT(dir, PORT_INPUT);
	CHECK_INT(port_dir_parse("p", "out", &dir), 0);
	CHECK_INT(dir, PORT_OUTPUT);
	CHECK_INT(port_dir_parse("p", "sideways", &dir), -1);
	CHECK(strstr(error_last(), "port 'p' must be \"input\" or \"output\"") != NULL);
	CHECK(!deploy_connect_with(d, service_port(clt, "outbound"),
	                           service_port(srv, "inbound"), 4294967296LL, -1, 0));
	CHECK(strstr(error_last(), "4294967295") != NULL);
	error_set_reporter(NULL, NULL);
	CHECK(deploy_connect_with(d, service_port(clt, "outbound"), NULL, 7, 4294967295LL, 0));
	CHECK_INT((int)d->conns[d->nconns - 1]->key, 7);
	deployment_free(d);
}

TEST(validation_names_the_declaring_line)
{
	struct deployment *d = deployment_new("/tmp", "v.hydro.py");
	struct host *h = deploy_add_host(d, NULL, "local");
	char *cmd[] = { "true" };
	struct service *s;

	deploy_set_where(d, "v.hydro.py:9");
	s = deploy_add_process(d, "a", h, cmd, 1);
	service_add_arg(s, "x");
	s->needs = xcalloc(2, sizeof(*s->needs));
	s->needs[0] = xstrdup("nothing");
	s->nneeds = 1;
	deploy_set_where(d, NULL);
	error_set_reporter(test_quiet, NULL);
	CHECK_INT(deploy_validate(d), -1);
	CHECK(strstr(error_last(), "v.hydro.py:9: service 'a' needs an unknown target") != NULL);
	CHECK_INT(deploy_check_src(d, SERVICE_HYDROFLOW, "no/such.hf"), -1);
	CHECK(strstr(error_last(), "cannot read src 'no/such.hf': no such file") != NULL);
	error_set_reporter(NULL, NULL);
	deployment_free(d);
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
	RUN(process_names_come_from_the_script);
	RUN(host_settings_are_the_backends);
	RUN(host_settings_given_no_value);
	RUN(the_script_takes_part);
	RUN(ready_ports_and_tags_by_name);
	RUN(validation_names_the_declaring_line);
	return TEST_EXIT();
}
