/*
 * fan: a package deployed and started on N hosts through the SSH backend,
 * one thread per host, for the ssh-fanout benchmark (run.sh builds it
 * against libhydro.a).  What `hydro run` does for one process per host,
 * step by step, each step timed on each host:
 *
 *	fan pack OUTDIR FILE           package FILE as bin/server; prints
 *	                               the package's path
 *	fan deploy PROJECT KEY PKG ADDR...
 *	fan probe KEY ADDR...
 *	fan steps PROJECT KEY PKG CGROUP ADDR
 *
 * deploy connects to each ADDR as root with KEY (host keys checked against
 * PROJECT/known_hosts), uploads PKG to ~/.hydro/pkgs/<hash> unless it is
 * there, unpacks it into a fresh run folder as the backend does for a
 * service (host_unpack: once per host into ~/.hydro/pkgs/<hash>.d, the
 * run folder hard links to that), and runs its bin/server --once.  It prints one line per host, "ADDR connect upload unpack
 * start total" in milliseconds, upload followed by "copied" or "present",
 * and exits 1 if any host failed.
 *
 * steps takes what a run does for one process on the one host ADDR, step
 * by step, one after the other, and prints for each "STEP MS CPU": its
 * time here (ms) and the CPU time the host used meanwhile (µs: the cgroup
 * CGROUP holding the host's sshd, tests/lib/hosts.sh's, read 100 ms after
 * the step so that what it started has ended): connect, facts ($HOME, the
 * triple, the glibc), upload (the package's check, and its copy if it is
 * not there), unpack, a free port (free_ports) and one readiness check of
 * it (cat of /proc/net/tcp, as the core does), spawn (the guard, the
 * wrapper, the process's start), exit (until its end), kill (of its group,
 * as the core does once it has exited), disconnect.
 *
 * probe splits what deploy's "connect" step does into its parts, on every
 * ADDR at once over bare libssh2 sessions (host keys not checked: these
 * are the benchmark's own hosts): "ADDR tcp handshake auth" in
 * milliseconds, the TCP connect, the key exchange (banner included) and
 * the public key authentication as root.
 */
#include <arpa/inet.h>
#include <libssh2.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "backend.h"
#include "error.h"
#include "hash.h"
#include "pool.h"
#include "ssh.h"
#include "str.h"
#include "xmalloc.h"

/* the run's name: its hosts' run folders are ~/.hydro/runs/RUN/server */
static char *run_id;

struct job {
	struct host h;
	struct kv kv[2];
	const char *pkg;
	const struct hash *hash;
	double ms[5];		/* connect, upload, unpack, start, total */
	int copied;
	int failed;
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
discard(void *arg, int stream, const char *data, size_t n)
{
	(void)arg;
	(void)stream;
	(void)data;
	(void)n;
	return 0;
}

static void
deploy_one(void *arg)
{
	struct job *j = arg;
	struct ssh_conn *c;
	char *remote = NULL, *cmd, *dir;
	char *argv[] = { NULL, "--once", NULL };
	double t0 = now_ms(), t;
	int rc, status;

	j->failed = 1;
	/* connected, and its facts read, as a run provisions a host */
	if (host_provision(&j->h) < 0 || !(c = ssh_host_conn(&j->h)))
		return;
	t = now_ms();
	j->ms[0] = t - t0;
	if ((rc = host_put_file(&j->h, j->pkg, j->hash, &remote)) < 0)
		return;
	j->copied = rc;
	j->ms[1] = now_ms() - t;
	t = now_ms();
	/* a fresh folder per run, as a service gets, made by the backend's
	 * unpack (of hard links to the package's HASH.d once it has one) */
	dir = host_run_dir(&j->h, run_id, "server");
	rc = dir ? host_unpack(&j->h, remote, dir) : -1;
	free(remote);
	if (rc < 0) {
		free(dir);
		return;
	}
	j->ms[2] = now_ms() - t;
	t = now_ms();
	argv[0] = cmd = xasprintf("%s/bin/server", dir);
	free(dir);
	rc = ssh_run(c, argv, NULL, 0, discard, NULL, &status);
	free(cmd);
	if (rc < 0 || status)
		return;
	j->ms[3] = now_ms() - t;
	j->ms[4] = now_ms() - t0;
	j->failed = 0;
}

static void
disconnect_one(void *arg)
{
	host_disconnect(arg);
}

/* microseconds of CPU the cgroup at path used, from cpu.stat (v2) or
 * cpuacct.usage (v1, ns) */
static long long
cg_usec(const char *path)
{
	char *f = xasprintf("%s/cpu.stat", path), line[256];
	long long v = -1;
	FILE *fp = fopen(f, "r");

	while (fp && fgets(line, sizeof(line), fp))
		if (sscanf(line, "usage_usec %lld", &v) == 1)
			break;
	if (fp)
		fclose(fp);
	free(f);
	if (v >= 0)
		return v;
	f = xasprintf("%s/cpuacct.usage", path);
	if ((fp = fopen(f, "r")) && fscanf(fp, "%lld", &v) == 1)
		v /= 1000;
	if (fp)
		fclose(fp);
	free(f);
	return v;
}

static const char *step_cg;
static double step_t;
static long long step_cpu;

static void
step_begin(void)
{
	step_t = now_ms();
	step_cpu = cg_usec(step_cg);
}

static void
step_end(const char *name)
{
	double ms = now_ms() - step_t;

	usleep(100000);
	printf("%s %.1f %lld\n", name, ms, cg_usec(step_cg) - step_cpu);
	fflush(stdout);
}

static int
steps(const char *project, const char *key, const char *pkg, const char *cg,
      const char *addr)
{
	struct backend_env env = { project, 0, NULL, NULL };
	const struct backend *b;
	struct job j;
	struct hash hash;
	struct spawn sp = SPAWN_INIT;
	struct buf table = BUF_INIT;
	char *argv[] = { "bin/server", "--once", NULL };
	char *cat[] = { "cat", "/proc/net/tcp", "/proc/net/tcp6", NULL };
	const char *slash = strrchr(pkg, '/');
	char *hex = xstrdup(slash ? slash + 1 : pkg), *remote = NULL, *dir, buf[4096];
	int port, status, st;

	step_cg = cg;
	run_id = xasprintf("fan-%ld-%ld", (long)time(NULL), (long)getpid());
	hex[strcspn(hex, ".")] = '\0';
	if (hash_parse(hex, &hash) < 0 || backends_setup(&env) < 0)
		return 2;
	free(hex);
	memset(&j, 0, sizeof(j));
	j.h.name = (char *)addr;
	j.h.where = "fan";
	j.h.backend = "ssh";
	j.kv[0].key = "host";
	j.kv[0].value = (char *)addr;
	j.kv[1].key = "key";
	j.kv[1].value = (char *)key;
	j.h.settings = j.kv;
	j.h.nsettings = 2;
	if (host_backend(&j.h, &b) < 0)
		return 2;
	step_begin();
	if (host_provision(&j.h) < 0)
		return 1;
	step_end("connect+facts");
	step_begin();
	if (host_put_file(&j.h, pkg, &hash, &remote) < 0)
		return 1;
	step_end("upload");
	step_begin();
	dir = host_run_dir(&j.h, run_id, "server");
	if (host_unpack(&j.h, remote, dir) < 0)
		return 1;
	step_end("unpack");
	step_begin();
	if (host_free_ports(&j.h, &port, 1) < 0)
		return 1;
	step_end("free_ports");
	step_begin();
	if (host_capture(&j.h, cat, &table, 0, &st) < 0)
		return 1;
	step_end("ready_poll");
	step_begin();
	sp.argv = argv;
	sp.cwd = dir;
	if (host_spawn(&j.h, &sp) < 0)
		return 1;
	step_end("spawn");
	step_begin();
	while (read(sp.out, buf, sizeof(buf)) > 0)
		;
	while (read(sp.exit_fd, buf, sizeof(buf)) > 0)
		;
	step_end("exit");
	step_begin();
	host_signal(&j.h, &sp, 9);
	if (host_wait(&j.h, &sp, &status) < 0)
		return 1;
	step_end("kill");
	host_release(&j.h, &sp);
	step_begin();
	host_disconnect(&j.h);
	step_end("disconnect");
	buf_release(&table);
	free(remote);
	free(dir);
	return 0;
}

struct probe {
	const char *addr, *key;
	double ms[3];		/* tcp, handshake, auth */
	int failed;
};

static void
probe_one(void *arg)
{
	struct probe *p = arg;
	struct sockaddr_in sa;
	LIBSSH2_SESSION *s = NULL;
	double t = now_ms();
	int fd;

	p->failed = 1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(22);
	if (inet_pton(AF_INET, p->addr, &sa.sin_addr) != 1 ||
	    (fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		p->ms[0] = now_ms() - t;
		t = now_ms();
		s = libssh2_session_init();
		if (s && libssh2_session_handshake(s, fd) == 0) {
			p->ms[1] = now_ms() - t;
			t = now_ms();
			if (libssh2_userauth_publickey_fromfile(s, "root", NULL, p->key, NULL) == 0) {
				p->ms[2] = now_ms() - t;
				p->failed = 0;
			}
		}
	}
	if (s) {
		libssh2_session_disconnect(s, "bye");
		libssh2_session_free(s);
	}
	close(fd);
}

static int
probe(int n, char **addrs, const char *key)
{
	struct probe *ps = xcalloc((size_t)n, sizeof(*ps));
	struct pool *p = pool_new((unsigned)n);
	int i, failed = 0;

	libssh2_init(0);
	for (i = 0; i < n; i++) {
		ps[i].addr = addrs[i];
		ps[i].key = key;
		pool_submit(p, probe_one, &ps[i]);
	}
	pool_free(p);
	for (i = 0; i < n; i++) {
		printf("%s %.1f %.1f %.1f\n", addrs[i], ps[i].ms[0], ps[i].ms[1], ps[i].ms[2]);
		failed |= ps[i].failed;
	}
	free(ps);
	return failed;
}

static int
deploy(int n, char **addrs, const char *project, const char *key, const char *pkg)
{
	struct backend_env env = { project, 0, NULL, NULL };
	const struct backend *b;
	struct job *jobs = xcalloc((size_t)n, sizeof(*jobs));
	struct pool *p = pool_new((unsigned)n);
	struct hash hash;
	const char *slash = strrchr(pkg, '/');
	char *hex = xstrdup(slash ? slash + 1 : pkg);
	int i, failed = 0;

	run_id = xasprintf("fan-%ld-%ld", (long)time(NULL), (long)getpid());
	/* packages are named by their hash: HEX.tar.zst */
	hex[strcspn(hex, ".")] = '\0';
	if (hash_parse(hex, &hash) < 0 || backends_setup(&env) < 0)
		return 2;
	free(hex);
	for (i = 0; i < n; i++) {
		struct job *j = &jobs[i];

		j->h.name = addrs[i];
		j->h.where = "fan";
		j->h.backend = "ssh";
		j->kv[0].key = "host";
		j->kv[0].value = addrs[i];
		j->kv[1].key = "key";
		j->kv[1].value = (char *)key;
		j->h.settings = j->kv;
		j->h.nsettings = 2;
		j->pkg = pkg;
		j->hash = &hash;
		if (host_backend(&j->h, &b) < 0)
			return 2;
		pool_submit(p, deploy_one, j);
	}
	pool_free(p);
	for (i = 0; i < n; i++) {
		struct job *j = &jobs[i];

		printf("%s %.0f %.0f %s %.0f %.0f %.0f\n", addrs[i], j->ms[0], j->ms[1],
		       j->copied ? "copied" : "present", j->ms[2], j->ms[3], j->ms[4]);
		failed |= j->failed;
	}
	/* the connections close all at once, as at the end of a run */
	p = pool_new((unsigned)n);
	for (i = 0; i < n; i++)
		pool_submit(p, disconnect_one, &jobs[i].h);
	pool_free(p);
	free(jobs);
	free(run_id);
	return failed;
}

int
main(int argc, char **argv)
{
	struct package_file f = { NULL, "bin/server" };
	struct package p = { "process", "x86_64-unknown-linux-gnu", &f, 1 };
	char *out;

	if (argc == 4 && !strcmp(argv[1], "pack")) {
		f.path = argv[3];
		if (archive_pack(&p, argv[2], &out, NULL) < 0)
			return 1;
		puts(out);
		free(out);
		return 0;
	}
	if (argc >= 6 && !strcmp(argv[1], "deploy"))
		return deploy(argc - 5, argv + 5, argv[2], argv[3], argv[4]);
	if (argc == 7 && !strcmp(argv[1], "steps"))
		return steps(argv[2], argv[3], argv[4], argv[5], argv[6]);
	if (argc >= 4 && !strcmp(argv[1], "probe"))
		return probe(argc - 3, argv + 3, argv[2]);
	fprintf(stderr, "usage: fan pack OUTDIR FILE | fan deploy PROJECT KEY PKG ADDR... | "
	        "fan probe KEY ADDR... | fan steps PROJECT KEY PKG CGROUP ADDR\n");
	return 2;
}
