/* Unit tests of the local backend's slots the core reaches every host
 * through: run, probe, free_port, unpack, machine_id, run_dir, record. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "archive.h"
#include "backend.h"
#include "buf.h"
#include "deploy.h"
#include "error.h"
#include "fs.h"
#include "test.h"
#include "xmalloc.h"

struct out {
	struct buf b[3];
	int stop;
};

static int
sink(void *arg, int stream, const char *data, size_t n)
{
	struct out *o = arg;

	buf_add(&o->b[stream], data, n);
	return o->stop ? -1 : 0;
}

TEST(run_gives_output_and_status)
{
	struct deployment *d = deployment_new("/tmp", "test.json");
	struct host *h = deploy_add_host(d, "box", "local");
	char *argv[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	char *kill9[] = { "sh", "-c", "kill -9 $$", NULL };
	char *missing[] = { "/nonexistent/hydro-test", NULL };
	struct out o;
	int st = -1;

	memset(&o, 0, sizeof(o));
	CHECK_INT(host_run(h, argv, sink, &o, &st), 0);
	CHECK_INT(st, 3);
	CHECK_STR(buf_str(&o.b[1]), "out\n");
	CHECK_STR(buf_str(&o.b[2]), "err\n");
	CHECK_INT(host_run(h, kill9, NULL, NULL, &st), 0);
	CHECK_INT(st, 128 + 9);
	error_set_reporter(test_quiet, NULL);
	CHECK_INT(host_run(h, missing, NULL, NULL, &st), -1);
	error_set_reporter(NULL, NULL);
	buf_release(&o.b[1]);
	buf_release(&o.b[2]);
	deployment_free(d);
}

TEST(run_stops_when_the_sink_says_so)
{
	struct deployment *d = deployment_new("/tmp", "test.json");
	struct host *h = deploy_add_host(d, "box", "local");
	char *argv[] = { "sh", "-c", "echo first; exec sleep 30", NULL };
	struct out o;
	int st = -1;

	memset(&o, 0, sizeof(o));
	o.stop = 1;
	CHECK_INT(host_run(h, argv, sink, &o, &st), 0);
	CHECK_INT(st, 128 + 9);
	CHECK_STR(buf_str(&o.b[1]), "first\n");
	buf_release(&o.b[1]);
	deployment_free(d);
}

TEST(probe_and_free_port)
{
	struct deployment *d = deployment_new("/tmp", "test.json");
	struct host *h = deploy_add_host(d, "box", "local");
	struct sockaddr_in sin;
	int fd, port = 0, many[8], i, j;

	CHECK_INT(host_free_ports(h, &port, 1), 0);
	CHECK(port > 0 && port < 65536);
	/* several asked together are distinct */
	CHECK_INT(host_free_ports(h, many, 8), 0);
	for (i = 0; i < 8; i++)
		for (j = 0; j < i; j++)
			CHECK(many[i] != many[j]);
	/* nothing listens there yet: refused */
	CHECK_INT(host_probe(h, "127.0.0.1", port), 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* the port it gave is free: it binds */
	REQUIRE(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	REQUIRE(listen(fd, 1) == 0);
	CHECK_INT(host_probe(h, "127.0.0.1", port), 1);
	close(fd);
	error_set_reporter(test_quiet, NULL);
	CHECK_INT(host_probe(h, "not an address", port), -1);
	error_set_reporter(NULL, NULL);
	deployment_free(d);
}

TEST(unpack_a_package)
{
	struct deployment *d = deployment_new("/tmp", "test.json");
	struct host *h = deploy_add_host(d, "box", "local");
	char *top = test_tmpdir("local"), *prog, *dest, *unpacked, *pkg = NULL;
	struct package_file f;
	struct package p;
	struct buf b = BUF_INIT;

	REQUIRE(top);
	prog = path_join(top, "prog");
	REQUIRE(write_file_atomic(prog, "#!/bin/sh\necho hi\n", 18, 0755) == 0);
	f.path = prog;
	f.name = "bin/prog";
	p.kind = "crate";
	p.triple = "x86_64-unknown-linux-gnu";
	p.files = &f;
	p.nfiles = 1;
	REQUIRE(archive_pack(&p, top, &pkg, NULL) == 0);
	/* the folders above dest are made too */
	dest = path_join(top, "runs/1/run");
	CHECK_INT(host_unpack(h, pkg, dest), 0);
	unpacked = path_join(dest, "bin/prog");
	CHECK_INT(read_file(unpacked, &b), 0);
	CHECK_STR(buf_str(&b), "#!/bin/sh\necho hi\n");
	buf_release(&b);
	remove_tree(top);
	free(unpacked);
	free(dest);
	free(prog);
	free(pkg);
	free(top);
	deployment_free(d);
}

TEST(this_machine)
{
	struct deployment *d = deployment_new("/tmp", "test.json");
	struct host *a = deploy_add_host(d, "a", "local");
	struct host *b = deploy_add_host(d, "b", "local");
	char *remote = NULL;

	CHECK_STR(host_machine_id(a), "local");
	CHECK(host_same_machine(a, b));
	CHECK(host_is_here(a));
	/* no folder of its own: the run's directory; nothing to record */
	CHECK(host_run_dir(a, "run1", "svc") == NULL);
	CHECK(host_record(a) == NULL);
	/* its files are ours: put_file gives the path back */
	CHECK_INT(host_put_file(a, "/tmp/x.tar.zst", NULL, &remote), 0);
	CHECK_STR(remote, "/tmp/x.tar.zst");
	free(remote);
	error_set_reporter(test_quiet, NULL);
	CHECK(host_tunnel(a, "127.0.0.1", 1, &(int){ 0 }) < 0);
	error_set_reporter(NULL, NULL);
	deployment_free(d);
}

int
main(void)
{
	RUN(run_gives_output_and_status);
	RUN(run_stops_when_the_sink_says_so);
	RUN(probe_and_free_port);
	RUN(unpack_a_package);
	RUN(this_machine);
	return TEST_EXIT();
}
