/* Unit tests of ports: the wiring plan and the protocol's JSON shapes. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend.h"
#include "buf.h"
#include "deploy.h"
#include "error.h"
#include "fs.h"
#include "json.h"
#include "ports.h"
#include "commands.h"
#include "run.h"
#include "str.h"
#include "test.h"
#include "lib_shapes.h"
#include "xmalloc.h"


static int
json_is(cJSON *j, const char *want)
{
	char *got = json_print(j);
	int ok = !strcmp(got, want);

	if (!ok)
		fprintf(stderr, "# got  %s\n# want %s\n", got, want);
	free(got);
	cJSON_Delete(j);
	return ok;
}

/* plan_bind_process at the ports its host gives, as a provision does */
static int
bind_process(struct plan *p, struct service *s)
{
	int ports[16];
	size_t n = plan_ports_wanted(p, s);

	if (n > 16 || host_free_ports(s->host, ports, n) < 0)
		return -1;
	return plan_bind_process(p, s, ports);
}

TEST(crate_shapes)
{
	struct deployment *d = shapes_deployment("test.json");
	struct plan *p = plan_new(d);
	struct service *P = deploy_find_service(d, "p");

	REQUIRE(p);
	CHECK(json_is(plan_init_config(p, P),
	              "[{\"in1\":\"UnixSocket\",\"fanin\":{\"Merge\":[\"UnixSocket\","
	              "{\"Tagged\":[\"UnixSocket\",7]}]}},null]"));
	CHECK(json_is(plan_init_config(p, deploy_find_service(d, "q")), "[{},null]"));
	/* senders cannot be told before the receivers answered */
	error_set_reporter(test_quiet, NULL);
	CHECK(plan_start_map(p, deploy_find_service(d, "c")) == NULL);
	CHECK(strstr(error_last(), "'p.fanin' has no address yet") != NULL);
	/* a wrong answer is an error naming the service and the port */
	CHECK_INT(plan_ready(p, P, "{\"in1\":{\"UnixSocket\":\"/s/in1\"}}"), -1);
	CHECK(strstr(error_last(), "without its port 'fanin'") != NULL);
	CHECK_INT(plan_ready(p, P, "{\"in1\":{\"UnixSocket\":\"/s/in1\"},"
	                     "\"fanin\":{\"Merge\":[{\"UnixSocket\":\"/s/f0\"}]}}"), -1);
	CHECK(strstr(error_last(), "not a Merge of 2") != NULL);
	CHECK_INT(plan_ready(p, P, "{\"in1\": [1,"), -1);
	CHECK(strstr(error_last(), "malformed JSON") != NULL);
	error_set_reporter(NULL, NULL);
	CHECK_INT(plan_ready(p, P, "{\"in1\":{\"UnixSocket\":\"/s/in1\"},\"fanin\":{\"Merge\":"
	                     "[{\"UnixSocket\":\"/s/f0\"},{\"Tagged\":[{\"TcpPort\":"
	                     "\"127.0.0.1:40125\"},7]}]}}"), 0);
	CHECK_STR(plan_address(p, shapes_port(d, "p", "in1")), "unix:/s/in1");
	CHECK(json_is(plan_start_map(p, deploy_find_service(d, "q")),
	              "{\"o\":{\"UnixSocket\":\"/s/in1\"}}"));
	CHECK(json_is(plan_start_map(p, deploy_find_service(d, "c")),
	              "{\"x\":{\"UnixSocket\":\"/s/f0\"}}"));
	/* the tag is unwrapped for the sender */
	CHECK(json_is(plan_start_map(p, deploy_find_service(d, "d")),
	              "{\"y\":{\"TcpPort\":\"127.0.0.1:40125\"}}"));
	CHECK_INT(plan_ready(p, deploy_find_service(d, "a"), "{\"inp\":{\"TcpPort\":"
	                     "\"10.0.0.2:41000\"}}"), 0);
	/* the 2025 encoding of TcpPort is accepted too */
	CHECK_INT(plan_ready(p, deploy_find_service(d, "b"), "{\"inp\":{\"TcpPort\":"
	                     "[\"10.0.0.3\",42000]}}"), 0);
	CHECK(json_is(plan_start_map(p, P),
	              "{\"out\":{\"Demux\":{\"0\":{\"TcpPort\":\"10.0.0.2:41000\"},"
	              "\"1\":{\"TcpPort\":[\"10.0.0.3\",42000]}}}}"));
	CHECK_STR(plan_address(p, shapes_port(d, "b", "inp")), "10.0.0.3:42000");
	plan_free(p);
	deployment_free(d);
}

TEST(crate_errors_name_both_ends)
{
	struct deployment *d = deployment_new("/tmp", "test.json");
	struct host *h = deploy_add_host(d, "box", "local");
	struct service *a = deploy_add_service(d, "a", SERVICE_CRATE, h, "/tmp");
	struct service *b = deploy_add_service(d, "b", SERVICE_CRATE, h, "/tmp");
	struct service *c = deploy_add_service(d, "c", SERVICE_CRATE, h, "/tmp");

	deploy_connect(d, service_port(a, "o"), service_port(c, "i"));
	deploy_connect(d, service_port(b, "o"), service_port(c, "i"));
	deploy_connect(d, service_port(a, "o2"), service_port(b, "i"));
	deploy_connect(d, service_port(a, "o2"), service_port(c, "i2"));
	error_set_reporter(test_quiet, NULL);
	CHECK(plan_new(d) == NULL);
	error_set_reporter(NULL, NULL);
	/* the last error: fan-out without keys */
	CHECK(strstr(error_last(), "'a.o2' sends to 2 inputs") != NULL);
	deployment_free(d);
}

/* hydro's own semantics: broadcast, fan-in, reply addresses */
TEST(hydroflow_shapes)
{
	struct deployment *d = deployment_new("/tmp", "test.json");
	struct host *h = deploy_add_host(d, "box", "local");
	struct service *srv = deploy_add_service(d, "server", SERVICE_HYDROFLOW, h, "/tmp/s.hf");
	struct service *cli1 = deploy_add_service(d, "client", SERVICE_HYDROFLOW, h, "/tmp/c.hf");
	struct service *src = deploy_add_service(d, "src", SERVICE_HYDROFLOW, h, "/tmp/x.hf");
	struct service *k1 = deploy_add_service(d, "k1", SERVICE_HYDROFLOW, h, "/tmp/x.hf");
	struct service *k2 = deploy_add_service(d, "k2", SERVICE_HYDROFLOW, h, "/tmp/x.hf");
	struct plan *p;

	service_declare_port(srv, "inbound", PORT_INPUT, "(EchoMsg, SocketAddr)");
	service_declare_port(srv, "outbound", PORT_OUTPUT, "(EchoMsg, SocketAddr)");
	service_declare_port(cli1, "inbound", PORT_INPUT, "(EchoMsg, SocketAddr)");
	service_declare_port(cli1, "outbound", PORT_OUTPUT, "(EchoMsg, SocketAddr)");
	service_declare_port(src, "out", PORT_OUTPUT, "u64");
	service_declare_port(k1, "in", PORT_INPUT, "u64");
	service_declare_port(k2, "in", PORT_INPUT, "u64");
	service_declare_port(k2, "unused", PORT_INPUT, "u64");
	deploy_connect(d, service_port(cli1, "outbound"), service_port(srv, "inbound"));
	deploy_connect(d, service_port(srv, "outbound"), service_port(cli1, "inbound"));
	deploy_connect(d, service_port(src, "out"), service_port(k1, "in"));
	deploy_connect(d, service_port(src, "out"), service_port(k2, "in"));
	p = plan_new(d);
	REQUIRE(p);
	/* reply ports: TCP, one tagged slot per sender, the tag its index */
	CHECK(json_is(plan_init_config(p, srv),
	              "[{\"inbound\":{\"Merge\":[{\"Tagged\":[{\"TcpPort\":\"127.0.0.1\"},1]}]}},"
	              "\"{\\\"service\\\":\\\"server\\\",\\\"index\\\":0,\\\"peers\\\":"
	              "{\\\"1\\\":\\\"client\\\"},\\\"senders\\\":{\\\"inbound\\\":1}}\"]"));
	CHECK(json_is(plan_init_config(p, k2),
	              "[{\"in\":\"UnixSocket\",\"unused\":\"Null\"},\"{\\\"service\\\":"
	              "\\\"k2\\\",\\\"index\\\":4,\\\"peers\\\":{\\\"2\\\":\\\"src\\\"},\\\"senders\\\":{\\\"in\\\":1,\\\"unused\\\":0}}\"]"));
	CHECK_INT(plan_ready(p, cli1, "{\"inbound\":{\"Merge\":[{\"Tagged\":[{\"TcpPort\":"
	                     "\"127.0.0.1:5001\"},0]}]}}"), 0);
	CHECK_INT(plan_ready(p, k1, "{\"in\":{\"UnixSocket\":\"/t/1/socket\"}}"), 0);
	CHECK_INT(plan_ready(p, k2, "{\"in\":{\"UnixSocket\":\"/t/2/socket\"},\"unused\":\"Null\"}"), 0);
	/* the server's reply output: keyed by the receiving service */
	CHECK(json_is(plan_start_map(p, srv),
	              "{\"outbound\":{\"Demux\":{\"1\":{\"TcpPort\":\"127.0.0.1:5001\"}}}}"));
	/* broadcast: a Demux of every receiver */
	CHECK(json_is(plan_start_map(p, src),
	              "{\"out\":{\"Demux\":{\"0\":{\"UnixSocket\":\"/t/1/socket\"},"
	              "\"1\":{\"UnixSocket\":\"/t/2/socket\"}}}}"));
	plan_free(p);
	deployment_free(d);
}

/* a ready: answer comes from an arbitrary program: whatever is malformed is
 * an error naming the service, never a crash nor an address passed on */
TEST(ready_answers_are_checked)
{
	static const char *const bad[] = {
		"{\"i\":{\"TcpPort\":[\"127.0.0.1\",99999]}}",
		"{\"i\":{\"TcpPort\":[\"127.0.0.1\",-1]}}",
		"{\"i\":{\"TcpPort\":[\"127.0.0.1\",0]}}",
		"{\"i\":{\"TcpPort\":[\"127.0.0.1\",1e300]}}",
		"{\"i\":{\"TcpPort\":[\"127.0.0.1\",80.5]}}",
		"{\"i\":{\"TcpPort\":[\"\",80]}}",
		"{\"i\":{\"TcpPort\":\"127.0.0.1:\"}}",
		"{\"i\":{\"TcpPort\":\":4000\"}}",
		"{\"i\":{\"TcpPort\":\"127.0.0.1:port\"}}",
		"{\"i\":{\"TcpPort\":\"127.0.0.1:70000\"}}",
		"{\"i\":{\"TcpPort\":\"127.0.0.1:+80\"}}",
		"{\"i\":{\"TcpPort\":\"::1:4000\"}}",
		"{\"i\":{\"TcpPort\":\"[]:4000\"}}",
		"{\"i\":{\"TcpPort\":\"[::1]x:4000\"}}",
		"{\"i\":{\"TcpPort\":\"[::1:4000\"}}",
		"{\"i\":{\"UnixSocket\":\"\"}}",
		"{\"i\":{\"UnixSocket\":\"/s/i\"}} trailing",
		"{\"i\":null}", "{\"i\":5}", "{\"i\":[]}", "{\"i\":{\"Merge\":5}}",
		"{\"i\":{\"Tagged\":[{\"UnixSocket\":\"/s/i\"},3]}}",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
		"", "null", "\"ready\"",
	};
	struct deployment *d = shapes_deployment("test.json");
	struct deployment *e = deployment_new("/tmp", "test.json");
	struct host *h = deploy_add_host(e, "box", "local");
	struct service *a = deploy_add_service(e, "a", SERVICE_CRATE, h, "/tmp");
	struct service *b = deploy_add_service(e, "b", SERVICE_CRATE, h, "/tmp");
	struct plan *p, *q = plan_new(d);
	size_t i;

	deploy_connect(e, service_port(a, "o"), service_port(b, "i"));
	p = plan_new(e);
	REQUIRE(p && q);
	error_set_reporter(test_quiet, NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error_clear();
		if (plan_ready(p, b, bad[i]) != -1)
			fprintf(stderr, "# accepted: %s\n", bad[i]);
		CHECK(strstr(error_last(), "service 'b'") != NULL);
		CHECK(plan_address(p, service_port(b, "i")) == NULL);
	}
	/* a tag that no long can hold is a wrong tag, not undefined behaviour */
	CHECK_INT(plan_ready(q, deploy_find_service(d, "p"),
	                     "{\"in1\":{\"UnixSocket\":\"/s/in1\"},\"fanin\":{\"Merge\":"
	                     "[{\"UnixSocket\":\"/s/f0\"},{\"Tagged\":[{\"TcpPort\":"
	                     "\"127.0.0.1:40125\"},1e300]}]}}"), -1);
	CHECK(strstr(error_last(), "slot 1 of port 'fanin'") != NULL);
	error_set_reporter(NULL, NULL);
	CHECK_INT(plan_ready(p, b, "{\"i\":{\"TcpPort\":\"[::1]:4000\"}}"), 0);
	CHECK_STR(plan_address(p, service_port(b, "i")), "[::1]:4000");
	CHECK_INT(plan_ready(p, b, "{\"i\":{\"TcpPort\":[\"::1\",4001]}}"), 0);
	CHECK_STR(plan_address(p, service_port(b, "i")), "[::1]:4001");
	plan_free(p);
	plan_free(q);
	deployment_free(e);
	deployment_free(d);
}

TEST(process_env)
{
	struct deployment *d = deployment_new("/tmp", "test.json");
	struct host *h = deploy_add_host(d, "box", "local");
	struct service *a = deploy_add_service(d, "a", SERVICE_PROCESS, h, NULL);
	struct service *b = deploy_add_service(d, "b", SERVICE_HYDROFLOW, h, "/tmp/b.hf");
	struct service *c = deploy_add_service(d, "c", SERVICE_PROCESS, h, NULL);
	struct plan *p;
	char **env;

	service_add_arg(a, "true");
	service_add_arg(c, "true");
	service_declare_port(a, "in", PORT_INPUT, NULL);
	service_declare_port(a, "out-put", PORT_OUTPUT, NULL);
	service_declare_port(b, "in", PORT_INPUT, NULL);
	service_declare_port(c, "in", PORT_INPUT, NULL);
	deploy_connect(d, service_port(a, "out-put"), service_port(b, "in"));
	deploy_connect(d, service_port(a, "out-put"), service_port(c, "in"));
	p = plan_new(d);
	REQUIRE(p);
	/* a process's peer binds TCP */
	CHECK(json_is(plan_init_config(p, b),
	              "[{\"in\":{\"TcpPort\":\"127.0.0.1\"}},\"{\\\"service\\\":\\\"b\\\","
	              "\\\"index\\\":1,\\\"peers\\\":{\\\"0\\\":\\\"a\\\"},\\\"senders\\\":{\\\"in\\\":1}}\"]"));
	CHECK_INT(bind_process(p, a), 0);
	CHECK_INT(bind_process(p, c), 0);
	CHECK(str_starts(plan_address(p, service_port(a, "in")), "127.0.0.1:"));
	error_set_reporter(test_quiet, NULL);
	CHECK(plan_env(p, a) == NULL);
	error_set_reporter(NULL, NULL);
	CHECK_INT(plan_ready(p, b, "{\"in\":{\"TcpPort\":\"127.0.0.1:7000\"}}"), 0);
	env = plan_env(p, a);
	REQUIRE(env);
	CHECK(str_starts(env[0], "HYDRO_PORT_IN=127.0.0.1:"));
	CHECK(str_starts(env[1], "HYDRO_PORT_OUT_PUT=127.0.0.1:7000,127.0.0.1:"));
	CHECK(env[2] == NULL);
	str_free_list(env);
	plan_free(p);
	deployment_free(d);
}

/* errno of binding a new socket to "127.0.0.1:PORT", or 0 if it binds */
static int
bind_errno(const char *addr)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), e = 0;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)atoi(strrchr(addr, ':') + 1));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		e = errno;
	close(fd);
	return e;
}

/* sockets "inherit": the picked ports stay bound and listening, named in
 * LISTEN_FDNAMES, until plan_close_sockets(); without it nothing is kept */
TEST(process_inherits_sockets)
{
	struct deployment *d = deployment_new("/tmp", "test.json");
	struct host *h = deploy_add_host(d, "box", "local");
	struct service *a = deploy_add_service(d, "a", SERVICE_PROCESS, h, NULL);
	struct service *b = deploy_add_service(d, "b", SERVICE_PROCESS, h, NULL);
	const char *addr;
	struct plan *p;
	char **env;
	int *fds;

	service_add_arg(a, "true");
	service_add_arg(b, "true");
	service_declare_port(a, "x", PORT_INPUT, NULL);
	service_declare_port(a, "y", PORT_INPUT, NULL);
	service_declare_port(b, "in", PORT_INPUT, NULL);
	error_set_reporter(test_quiet, NULL);
	CHECK_INT(service_set_sockets(a, "yes"), -1);
	error_set_reporter(NULL, NULL);
	CHECK_INT(service_set_sockets(a, "inherit"), 0);
	p = plan_new(d);
	REQUIRE(p);
	/* a's are bound here, b's one is the host's to give */
	CHECK_INT((int)plan_ports_wanted(p, a), 0);
	CHECK_INT((int)plan_ports_wanted(p, b), 1);
	CHECK_INT(bind_process(p, a), 0);
	CHECK_INT(bind_process(p, b), 0);
	CHECK_INT((int)plan_ports_wanted(p, b), 0);
	CHECK_INT((int)plan_sockets(p, a, &fds), 2);
	free(fds);
	CHECK_INT((int)plan_sockets(p, b, &fds), 0);
	free(fds);
	/* from the pick on, the port is hydro's: nobody else can bind it */
	addr = plan_address(p, service_port(a, "x"));
	CHECK_INT(bind_errno(addr), EADDRINUSE);
	env = plan_env(p, a);
	REQUIRE(env);
	CHECK(str_starts(env[0], "HYDRO_PORT_X=127.0.0.1:"));
	CHECK_STR(env[2], "LISTEN_FDNAMES=x:y");
	CHECK(env[3] == NULL);
	str_free_list(env);
	plan_close_sockets(p, a);
	CHECK_INT((int)plan_sockets(p, a, &fds), 0);
	free(fds);
	CHECK_INT(bind_errno(addr), 0);
	env = plan_env(p, a);
	REQUIRE(env);
	CHECK(env[2] == NULL);
	str_free_list(env);
	plan_free(p);
	deployment_free(d);
}

/* the config script: its output reaches a program on this machine over a
 * Unix socket, its receiver's answer; its input is bound by hydro (a Unix
 * socket for a program on this machine, as Hydro Deploy's services bind,
 * kept listening, removed with the plan) and that address is what the
 * program is told; a process sending to it gets TCP */
TEST(the_script_is_wired_as_a_participant)
{
	struct deployment *d = deployment_new("/tmp", "me.hydro.py");
	struct host *h = deploy_add_host(d, "box", "local");
	struct service *me = deploy_add_participant(d, NULL, h);
	struct service *r = deploy_add_service(d, "reply", SERVICE_HYDROFLOW, h, "/tmp/r.hf");
	struct service *pr = deploy_add_process(d, "proc", h, (char *[]){ "true" }, 1);
	const char *addr;
	struct plan *p;
	char *text, *want, *path;
	struct stat st;
	int *fds;
	FILE *f;
	size_t n;

	service_declare_port(pr, "o", PORT_OUTPUT, NULL);
	deploy_connect(d, service_port(pr, "o"), service_port(me, "port3"));
	service_declare_port(r, "inp", PORT_INPUT, "String");
	service_declare_port(r, "out", PORT_OUTPUT, "String");
	deploy_connect(d, service_port(me, "port1"), service_port(r, "inp"));
	deploy_connect(d, service_port(r, "out"), service_port(me, "port2"));
	p = plan_new(d);
	REQUIRE(p);
	CHECK(json_is(plan_init_config(p, r), "[{\"inp\":\"UnixSocket\"},\"{\\\"service\\\":"
	              "\\\"reply\\\",\\\"index\\\":1,\\\"peers\\\":{\\\"0\\\":\\\"script\\\"},"
	              "\\\"senders\\\":{\\\"inp\\\":1}}\"]"));
	CHECK_INT(bind_process(p, me), 0);
	CHECK_INT((int)plan_sockets(p, me, &fds), 2);
	free(fds);
	addr = plan_address(p, service_port(me, "port2"));
	REQUIRE(addr && !strncmp(addr, "unix:", 5));
	path = xstrdup(addr + 5);
	CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode));
	addr = plan_address(p, service_port(me, "port3"));
	REQUIRE(addr && strncmp(addr, "unix:", 5));
	CHECK_INT(bind_errno(addr), EADDRINUSE);
	CHECK_INT(plan_ready(p, r, "{\"inp\":{\"UnixSocket\":\"/t/r/socket\"}}"), 0);
	CHECK(json_is(plan_start_map(p, me), "{\"port1\":{\"UnixSocket\":\"/t/r/socket\"}}"));
	want = xasprintf("{\"out\":{\"UnixSocket\":\"%s\"}}", path);
	CHECK(json_is(plan_start_map(p, r), want));
	free(want);
	text = NULL;
	f = open_memstream(&text, &n);
	plan_print(p, f);
	fclose(f);
	CHECK(strstr(text, "wire   script.port1 -> reply.inp (unix)") != NULL);
	CHECK(strstr(text, "wire   reply.out -> script.port2 (unix)") != NULL);
	CHECK(strstr(text, "wire   proc.o -> script.port3 (tcp)") != NULL);
	free(text);
	plan_free(p);
	CHECK(stat(path, &st) < 0 && errno == ENOENT);
	free(path);
	deployment_free(d);
}

/* two ports of a process that would share one HYDRO_PORT_ variable */
TEST(process_ports_need_distinct_variables)
{
	struct deployment *d = deployment_new("/tmp", "test.json");
	struct host *h = deploy_add_host(d, "box", "local");
	struct service *a = deploy_add_service(d, "a", SERVICE_PROCESS, h, NULL);
	struct service *b = deploy_add_service(d, "b", SERVICE_PROCESS, h, NULL);

	service_add_arg(a, "true");
	service_add_arg(b, "true");
	deploy_connect(d, service_port(a, "out-put"), service_port(b, "in"));
	deploy_connect(d, service_port(a, "out_put"), service_port(b, "IN"));
	error_set_reporter(test_quiet, NULL);
	CHECK(plan_new(d) == NULL);
	error_set_reporter(NULL, NULL);
	CHECK(strstr(error_last(), "ports 'b.in' and 'b.IN' would both be "
	                           "HYDRO_PORT_IN") != NULL);
	deployment_free(d);
}

TEST(command_launches_prints_launches_and_wires)
{
	struct deployment *d = shapes_deployment("test.json");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CHECK_INT(command_launches(d, f), 0);
	fclose(f);
	CHECK(strstr(text, "launch p on box (local, stdin/stdout protocol): /tmp\n") != NULL);
	CHECK(strstr(text, "wire   c.x -> p.fanin (unix, merge slot 0)\n") != NULL);
	CHECK(strstr(text, "wire   d.y -> p.fanin (unix, merge slot 1, tag 7)\n") != NULL);
	CHECK(strstr(text, "wire   p.out -> b.inp (unix, key 1)\n") != NULL);
	free(text);
	deployment_free(d);
}

/* Unix sockets only between services of one machine (host_same_machine:
 * their machine_id); a service on another machine binds TCP on its host's
 * address, and its peers are told that address */
TEST(transport_follows_the_machine)
{
	struct deployment *d = deployment_new("/tmp", "test.json");
	struct host *box = deploy_add_host(d, "box", "local");
	struct host *box2 = deploy_add_host(d, "box2", "local");
	struct host *far = deploy_add_host(d, "far", "ssh");
	struct service *a, *b, *c, *e;
	struct plan *p;
	struct plan_peer *peers;
	cJSON *ic;
	size_t n;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	host_set(far, "host", "far.example");
	host_set(far, "address", "10.9.9.9");
	a = deploy_add_service(d, "a", SERVICE_HYDROFLOW, box, "/tmp/a.hf");
	b = deploy_add_service(d, "b", SERVICE_HYDROFLOW, box2, "/tmp/b.hf");
	c = deploy_add_service(d, "c", SERVICE_HYDROFLOW, far, "/tmp/c.hf");
	e = deploy_add_service(d, "e", SERVICE_HYDROFLOW, far, "/tmp/e.hf");
	service_declare_port(a, "out", PORT_OUTPUT, NULL);
	service_declare_port(a, "far", PORT_OUTPUT, NULL);
	service_declare_port(b, "in", PORT_INPUT, NULL);
	service_declare_port(c, "in", PORT_INPUT, NULL);
	service_declare_port(c, "out", PORT_OUTPUT, NULL);
	service_declare_port(e, "in", PORT_INPUT, NULL);
	deploy_connect(d, service_port(a, "out"), service_port(b, "in"));
	deploy_connect(d, service_port(a, "far"), service_port(c, "in"));
	deploy_connect(d, service_port(c, "out"), service_port(e, "in"));
	p = plan_new(d);
	REQUIRE(p);
	f = open_memstream(&text, &len);
	plan_print(p, f);
	fclose(f);
	CHECK(strstr(text, "wire   a.out -> b.in (unix)\n") != NULL);
	CHECK(strstr(text, "wire   a.far -> c.in (tcp)\n") != NULL);
	CHECK(strstr(text, "wire   c.out -> e.in (unix)\n") != NULL);
	free(text);
	ic = plan_init_config(p, c);
	CHECK(json_is(cJSON_DetachItemFromArray(ic, 0),
	              "{\"in\":{\"TcpPort\":\"10.9.9.9\"}}"));
	cJSON_Delete(ic);
	/* once c has bound, a is told where; a tunnel's port instead when
	 * routed (what the run does for a peer this machine cannot reach) */
	CHECK_INT(plan_ready(p, c, "{\"in\":{\"TcpPort\":\"10.9.9.9:7000\"}}"), 0);
	n = plan_remote_peers(p, a, &peers);
	REQUIRE(n == 1);
	CHECK(peers[0].host == far);
	CHECK_STR(peers[0].addr, "10.9.9.9");
	CHECK_INT(peers[0].port, 7000);
	plan_set_route(p, peers[0].wire, "127.0.0.1", 5555);
	free(peers[0].addr);
	free(peers);
	CHECK_INT(plan_remote_peers(p, a, &peers), 0);
	free(peers);
	CHECK_INT(plan_ready(p, b, "{\"in\":{\"UnixSocket\":\"/tmp/b.sock\"}}"), 0);
	CHECK(json_is(plan_start_map(p, a), "{\"out\":{\"UnixSocket\":\"/tmp/b.sock\"},"
	              "\"far\":{\"TcpPort\":\"127.0.0.1:5555\"}}"));
	plan_free(p);
	host_disconnect(far);	/* what the backend kept of it, as a run ends */
	deployment_free(d);
}

/* addr split as host and port, or the error it gives */
static const char *
split_says(const char *addr)
{
	static char said[512];
	char *host = NULL;
	int port = -1;

	error_set_reporter(test_keep_last, NULL);
	test_last()[0] = '\0';
	if (port_split(addr, &host, &port) == 0)
		snprintf(said, sizeof(said), "%s %d", host, port);
	else
		snprintf(said, sizeof(said), "%s%s", host ? "(host set) " : "", test_last());
	error_set_reporter(NULL, NULL);
	free(host);
	return said;
}

TEST(port_split_reads_addresses)
{
	char *s;

	CHECK_STR(split_says("127.0.0.1:4000"), "127.0.0.1 4000");
	CHECK_STR(split_says("[::1]:4000"), "::1 4000");
	CHECK_STR(split_says("[fe80::1%eth0]:1"), "fe80::1%eth0 1");
	CHECK_STR(split_says("far.example:65535"), "far.example 65535");
	CHECK_STR(split_says("far.example"),
	          "address 'far.example' has no port: write it HOST:PORT ([IPV6]:PORT for IPv6)");
	CHECK_STR(split_says("far.example:"),
	          "address 'far.example:' has no port: write it HOST:PORT ([IPV6]:PORT for IPv6)");
	CHECK_STR(split_says("[::1]"),
	          "address '[::1]' has no port: write it HOST:PORT ([IPV6]:PORT for IPv6)");
	CHECK_STR(split_says("10.0.0.1:0"),
	          "address '10.0.0.1:0' has port '0': give a number from 1 to 65535");
	CHECK_STR(split_says("10.0.0.1:65536"),
	          "address '10.0.0.1:65536' has port '65536': give a number from 1 to 65535");
	CHECK_STR(split_says("10.0.0.1:http"),
	          "address '10.0.0.1:http' has port 'http': give a number from 1 to 65535");
	CHECK_STR(split_says("10.0.0.1:+80"),
	          "address '10.0.0.1:+80' has port '+80': give a number from 1 to 65535");
	CHECK_STR(split_says("10.0.0.1:80 "),
	          "address '10.0.0.1:80 ' has port '80 ': give a number from 1 to 65535");
	CHECK_STR(split_says("[]:80"), "address '[]:80' has no host between its brackets");
	CHECK_STR(split_says(":80"), "address ':80' has no host before its port");
	CHECK_STR(split_says(""), "the address is empty: write it HOST:PORT");
	CHECK_STR(split_says("[::1]x:80"),
	          "address '[::1]x:80' has 'x:80' after its ']': write it [IPV6]:PORT");
	CHECK_STR(split_says("[::1:80"), "address '[::1:80' has no ']' to close its '['");
	CHECK_STR(split_says("::1:80"),
	          "address '::1:80' has an IPv6 address outside brackets: write it [IPV6]:PORT");
	CHECK_STR(split_says("a]b:80"), "address 'a]b:80' has ']' in its host");
	CHECK_STR(split_says("[a[b]:80"), "address '[a[b]:80' has '[' in its host");
	CHECK_STR(split_says("a b:80"), "address 'a b:80' has ' ' in its host");
	/* and back */
	CHECK_STR(s = port_join("::1", 4000), "[::1]:4000");
	free(s);
	CHECK_STR(s = port_join("10.0.0.1", 80), "10.0.0.1:80");
	free(s);
	CHECK_STR(s = port_join("far.example", 1), "far.example:1");
	free(s);
}

TEST(a_remote_ipv6_peer_is_its_bare_address)
{
	struct deployment *d = deployment_new("/tmp", "test.json");
	struct host *box = deploy_add_host(d, "box", "local");
	struct host *far = deploy_add_host(d, "far", "ssh");
	struct service *a, *c;
	struct plan *p;
	struct plan_peer *peers;

	host_set(far, "host", "far.example");
	host_set(far, "address", "fd00::9");
	a = deploy_add_service(d, "a", SERVICE_HYDROFLOW, box, "/tmp/a.hf");
	c = deploy_add_service(d, "c", SERVICE_HYDROFLOW, far, "/tmp/c.hf");
	service_declare_port(a, "far", PORT_OUTPUT, NULL);
	service_declare_port(c, "in", PORT_INPUT, NULL);
	deploy_connect(d, service_port(a, "far"), service_port(c, "in"));
	p = plan_new(d);
	REQUIRE(p);
	CHECK_INT(plan_ready(p, c, "{\"in\":{\"TcpPort\":\"[fd00::9]:7000\"}}"), 0);
	REQUIRE(plan_remote_peers(p, a, &peers) == 1);
	CHECK_STR(peers[0].addr, "fd00::9");
	CHECK_INT(peers[0].port, 7000);
	free(peers[0].addr);
	free(peers);
	plan_free(p);
	host_disconnect(far);
	deployment_free(d);
}

TEST(port_try_tells_refused_from_accepted)
{
	int fd, port = 0;

	REQUIRE(port_pick("127.0.0.1", &port, NULL) == 0);
	CHECK_INT(port_try("127.0.0.1", port, 1000), 0);
	REQUIRE(port_pick("127.0.0.1", &port, &fd) == 0);
	CHECK_INT(port_try("127.0.0.1", port, 1000), 1);
	close(fd);
	/* nothing listens on port 0: a host that answers refuses it */
	CHECK_INT(port_try("127.0.0.1", 0, 1000), 0);
	error_set_reporter(test_quiet, NULL);
	CHECK_INT(port_try("no such address", port, 1000), -2);
	error_set_reporter(NULL, NULL);
}

/* what the kernel prints for an IPv4 address: its 32 bits as a number of
 * this machine's byte order */
static void
proc_hex(const char *ip, char out[9])
{
	struct in_addr a;
	uint32_t w;

	inet_pton(AF_INET, ip, &a);
	memcpy(&w, &a, 4);
	snprintf(out, 9, "%08X", (unsigned)w);
}

TEST(port_listening_reads_the_socket_tables)
{
	char lo[9], other[9], text[1024];
	struct buf table = BUF_INIT;
	int fd, port = 0;

	proc_hex("127.0.0.1", lo);
	proc_hex("10.0.0.2", other);
	snprintf(text, sizeof(text),
	         "  sl  local_address rem_address   st tx_queue rx_queue ...\n"
	         "   0: %s:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000\n"
	         "   1: %s:1F91 %s:D431 01 00000000:00000000 00:00000000 00000000\n"
	         "   2: 00000000:1F92 00000000:0000 0A 00000000:00000000 00:00000000\n"
	         "   3: 00000000000000000000000000000000:1F93 "
	         "00000000000000000000000000000000:0000 0A 00000000:00000000\n",
	         lo, other, lo);
	/* 8080 listens on 127.0.0.1 only; 8081 is a connection, not a listener;
	 * 8082 on every IPv4 address, 8083 on every address */
	CHECK_INT(port_listening(text, "127.0.0.1", 8080), 1);
	CHECK_INT(port_listening(text, "10.0.0.2", 8080), 0);
	CHECK_INT(port_listening(text, "localhost", 8080), 1);
	CHECK_INT(port_listening(text, "10.0.0.2", 8081), 0);
	CHECK_INT(port_listening(text, "10.0.0.2", 8082), 1);
	CHECK_INT(port_listening(text, "10.0.0.2", 8083), 1);
	CHECK_INT(port_listening(text, "::1", 8083), 1);
	CHECK_INT(port_listening(text, "::1", 8080), 0);
	CHECK_INT(port_listening(text, "127.0.0.1", 8084), 0);
	CHECK_INT(port_listening("", "127.0.0.1", 8080), 0);
	/* in use: by any socket, a connection too */
	CHECK_INT(port_in_use(text, 8080), 1);
	CHECK_INT(port_in_use(text, 8081), 1);
	CHECK_INT(port_in_use(text, 8083), 1);
	CHECK_INT(port_in_use(text, 8084), 0);
	CHECK_INT(port_in_use(text, 0xD431), 0);	/* a remote port */
	CHECK_INT(port_in_use("", 8080), 0);
	/* the lines an SSH host's wait prints: cut to the fields read */
	snprintf(text, sizeof(text), "0: %s:1F90 00000000:0000 0A\n0: %s:1F91 00000000:0000 0A",
	         lo, other);
	CHECK_INT(port_listening(text, "127.0.0.1", 8080), 1);
	CHECK_INT(port_listening(text, "10.0.0.2", 8080), 0);
	CHECK_INT(port_listening(text, "10.0.0.2", 8081), 1);
	/* this machine's own table, with a socket that listens and then not */
	REQUIRE(port_pick("127.0.0.1", &port, &fd) == 0);
	REQUIRE(read_file("/proc/net/tcp", &table) == 0);
	CHECK_INT(port_listening(buf_str(&table), "127.0.0.1", port), 1);
	close(fd);
	buf_reset(&table);
	REQUIRE(read_file("/proc/net/tcp", &table) == 0);
	CHECK_INT(port_listening(buf_str(&table), "127.0.0.1", port), 0);
	buf_release(&table);
}

TEST(port_unix_listening_reads_the_socket_table)
{
	const char *text =
		"Num       RefCount Protocol Flags    Type St Inode Path\n"
		"0000000000000000: 00000002 00000000 00010000 0001 01 1001 /run/a b.sock\n"
		"0000000000000000: 00000003 00000000 00000000 0001 03 1002 /run/c.sock\n"
		"0000000000000000: 00000002 00000000 00010000 0001 01 1003 rel/d.sock\n"
		"0000000000000000: 00000002 00000000 00010000 0001 01 1004\n";

	CHECK_INT(port_unix_listening(text, "/run/a b.sock"), 1);
	CHECK_INT(port_unix_listening(text, "/run/a"), 0);
	CHECK_INT(port_unix_listening(text, "/run/c.sock"), 0);	/* connected */
	CHECK_INT(port_unix_listening(text, "/srv/rel/d.sock"), 1);
	CHECK_INT(port_unix_listening(text, "/srv/xrel/d.sock"), 0);
	CHECK_INT(port_unix_listening(text, "/run/e.sock"), 0);
}

int
main(void)
{
	RUN(crate_shapes);
	RUN(crate_errors_name_both_ends);
	RUN(hydroflow_shapes);
	RUN(ready_answers_are_checked);
	RUN(process_env);
	RUN(process_inherits_sockets);
	RUN(the_script_is_wired_as_a_participant);
	RUN(process_ports_need_distinct_variables);
	RUN(command_launches_prints_launches_and_wires);
	RUN(transport_follows_the_machine);
	RUN(port_split_reads_addresses);
	RUN(a_remote_ipv6_peer_is_its_bare_address);
	RUN(port_try_tells_refused_from_accepted);
	RUN(port_listening_reads_the_socket_tables);
	RUN(port_unix_listening_reads_the_socket_table);
	return TEST_EXIT();
}
