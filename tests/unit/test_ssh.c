/*
 * ssh: the SSH backend's parts that need no server (argv quoting,
 * ~/.ssh/config, known_hosts), and, run as "test_ssh tool ...", a driver
 * of the backend for tests/integration/ssh_transport.sh, which runs it
 * against real sshds in network namespaces:
 *
 *	test_ssh tool [--project DIR] [--backend NAME] [--trust-new-hosts]
 *		SETTING=VALUE... CMD
 *
 * makes a host "web" of backend "ssh" (or NAME: a backend that makes
 * machines is given a state file in DIR, and the machine is provisioned
 * before CMD and terminated after) with those settings and does CMD:
 * "exec -- ARGV..." (the remote output on stdout and stderr, its status as
 * the exit status), "repeat N -- ARGV..." (N times over the connection),
 * "upload FILE [HEX]" (host_put_file; prints "copied" or "present"),
 * "triple", "address", "provision" or "libc" (what getconf says of its
 * glibc); the backend's slots: "machine_id",
 * "run -- ARGV..." (host_run), "probe ADDR PORT" (prints 1 or 0),
 * "free_port [N]" (N ports asked together, one a line), "run_dir RUN
 * SERVICE", "record" (its JSON), "unpack PKG DIR"
 * (host_put_file of the local package PKG, then host_unpack into DIR on the
 * host); and "pack DIR FILE..." packs FILEs (by their base names) into a
 * package in the local DIR and prints its path, with no host involved;
 * "spawn ...", "cleanup PID PGID IDENT", "tunnel ADDR PORT -- CMD" and
 * "pair HOST -- ARGV", "overlap -- ARGV|--upload FILE" (see tool_spawn, tool_cleanup,
 * tool_tunnel, tool_pair, tool_overlap).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive.h"
#include "backend.h"
#include "buf.h"
#include "deploy.h"
#include "error.h"
#include "fs.h"
#include "hash.h"
#include "ssh.h"
#include "state.h"
#include "str.h"
#include "xmalloc.h"
#include "test.h"

#define KEY1 "AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f"
#define KEY2 "AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"
#define FP1 "SHA256:ZkAslGjFiUHdGf/WUL8rQvkib4PTvQatUV0OUQSncCA"
/* "example.com" hashed with the salt 00 01 .. 13, as ssh-keygen -H does */
#define HASHED "|1|AAECAwQFBgcICQoLDA0ODxAREhM=|nnUK16ANsXd3hL31YfAkGOluSjU="

/* the 51-byte blob of KEY1 or KEY2 */
static void
blob(unsigned char out[51], int second)
{
	static const unsigned char head[] = { 0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd',
	                                      '2', '5', '5', '1', '9', 0, 0, 0, 32 };
	int i;

	memcpy(out, head, sizeof(head));
	for (i = 0; i < 32; i++)
		out[19 + i] = (unsigned char)(i + second);
}

static char *dir;

static char *
write_tmp(const char *name, const char *text)
{
	char *path = path_join(dir, name);

	write_file_atomic(path, text, strlen(text), 0644);
	return path;
}

TEST(command_line_quotes_every_word)
{
	char *argv[] = { "printf", "%s\n", "a b", "it's", "$HOME", "", "x\ny", NULL };
	struct buf b = BUF_INIT;

	ssh_command_line(&b, argv);
	CHECK_STR(b.data, "printf '%s\n' 'a b' 'it'\\''s' '$HOME' '' 'x\ny'");
	buf_release(&b);
}

TEST(config_first_value_wins)
{
	char *path = write_tmp("config",
		"# comment\n"
		"Host web\n"
		"  HostName 10.0.0.2\n"
		"  User deploy\n"
		"  IdentityFile ~/.ssh/web_key\n"
		"Host w* !wx\n"
		"  Port=2222\n"
		"  User other\n"
		"  IdentityFile \"/keys/%h key\"\n"
		"Match host web\n"
		"  Port 1\n"
		"Host *\n"
		"  ProxyJump bastion\n"
		"  HostName ignored\n");
	struct ssh_dest d;
	char *home = getenv("HOME") ? xstrdup(getenv("HOME")) : NULL;

	setenv("HOME", "/home/u", 1);
	REQUIRE(ssh_config_resolve(path, "web", NULL, &d) == 0);
	CHECK_STR(d.hostname, "10.0.0.2");
	CHECK_STR(d.user, "deploy");
	CHECK_INT(d.port, 2222);
	REQUIRE(d.nidentity == 2);
	CHECK_STR(d.identity[0], "/home/u/.ssh/web_key");
	CHECK_STR(d.identity[1], "/keys/10.0.0.2 key");
	CHECK_STR(d.proxyjump, "bastion");
	ssh_dest_release(&d);

	REQUIRE(ssh_config_resolve(path, "wx", NULL, &d) == 0);
	CHECK_STR(d.hostname, "ignored");
	CHECK_INT(d.port, 0);
	CHECK(!d.user);
	ssh_dest_release(&d);

	REQUIRE(ssh_config_resolve("/nonexistent/config", "plain", NULL, &d) == 0);
	CHECK_STR(d.hostname, "plain");
	CHECK(!d.proxyjump);
	ssh_dest_release(&d);
	if (home)
		setenv("HOME", home, 1);
	free(home);
	free(path);
}

TEST(config_proxyjump_none_and_bad_port)
{
	char *path = write_tmp("config2", "Host a\n ProxyJump none\nHost *\n ProxyJump b\n"
	                                  "Host p\n Port 99999\n");
	struct ssh_dest d;

	REQUIRE(ssh_config_resolve(path, "a", NULL, &d) == 0);
	CHECK(!d.proxyjump);
	ssh_dest_release(&d);
	error_set_reporter(test_quiet, NULL);
	CHECK(ssh_config_resolve(path, "p", NULL, &d) < 0);
	error_set_reporter(NULL, NULL);
	CHECK(strstr(error_last(), "config2:6: bad port '99999'") != NULL);
	free(path);
}

/* HOME for a test's Include files: dir, whose .ssh holds them */
static char *
home_in_dir(void)
{
	char *home = getenv("HOME") ? xstrdup(getenv("HOME")) : NULL, *ssh;

	setenv("HOME", dir, 1);
	ssh = path_join(dir, ".ssh/conf.d");
	mkdir_p(ssh, 0755);
	free(ssh);
	return home;
}

static void
home_back(char *home)
{
	if (home)
		setenv("HOME", home, 1);
	free(home);
}

TEST(config_include_globs_relative_to_ssh_in_place)
{
	char *home = home_in_dir();
	char *path = write_tmp(".ssh/config",
		"Include conf.d/*.conf missing/*\n"
		"Host web\n"
		"  Include ~/.ssh/web.inc\n"
		"  Port 2200\n"
		"Host other\n"
		"  Include web.inc\n"
		"Host *\n"
		"  User fallback\n");
	struct ssh_dest d;

	free(write_tmp(".ssh/web.inc", "HostName 10.0.0.9\nHost nomatter\nPort 3\n"));
	/* read in name order: b's HostName loses to a's, both before web's */
	free(write_tmp(".ssh/conf.d/b.conf", "Host db\n  HostName b-wins-not\n  User b\n"));
	free(write_tmp(".ssh/conf.d/a.conf", "Host db\n  HostName 10.0.0.7\n"));
	free(write_tmp(".ssh/conf.d/c.txt", "Host db\n  Port 9\n"));
	REQUIRE(ssh_config_resolve(path, "db", NULL, &d) == 0);
	CHECK_STR(d.hostname, "10.0.0.7");
	CHECK_STR(d.user, "b");
	CHECK_INT(d.port, 0);
	ssh_dest_release(&d);
	/* an included file's Host line does not end the including block */
	REQUIRE(ssh_config_resolve(path, "web", NULL, &d) == 0);
	CHECK_STR(d.hostname, "10.0.0.9");
	CHECK_INT(d.port, 2200);
	CHECK_STR(d.user, "fallback");
	ssh_dest_release(&d);
	/* included from a block that does not apply: none of it applies */
	REQUIRE(ssh_config_resolve(path, "nomatter", NULL, &d) == 0);
	CHECK_STR(d.hostname, "nomatter");
	CHECK_INT(d.port, 0);
	ssh_dest_release(&d);
	free(path);
	home_back(home);
}

TEST(config_include_loop_is_an_error)
{
	char *home = home_in_dir();
	char *path = write_tmp(".ssh/loop", "Include loop\n");
	struct ssh_dest d;

	error_set_reporter(test_quiet, NULL);
	CHECK(ssh_config_resolve(path, "x", NULL, &d) < 0);
	error_set_reporter(NULL, NULL);
	CHECK(strstr(error_last(), "nested Include") != NULL);
	free(path);
	home_back(home);
}

TEST(config_match_host_user_originalhost_all)
{
	char *path = write_tmp("config3",
		"Host alias\n"
		"  HostName real.example.com\n"
		"Match host !other.example.com,*.example.com user deploy\n"
		"  Port 2201\n"
		"Match originalhost alias\n"
		"  IdentityFile /k/alias\n"
		"Match host alias\n"
		"  IdentityFile /k/never\n"
		"Match !user deploy\n"
		"  Port 2202\n"
		"Match user=root\n"
		"  ProxyJump jump\n"
		"Match all\n"
		"  User deploy\n"
		"  Port 2203\n");
	struct ssh_dest d;

	/* host is compared after HostName; user is the login given */
	REQUIRE(ssh_config_resolve(path, "alias", "deploy", &d) == 0);
	CHECK_STR(d.hostname, "real.example.com");
	CHECK_INT(d.port, 2201);
	REQUIRE(d.nidentity == 1);
	CHECK_STR(d.identity[0], "/k/alias");
	CHECK(!d.proxyjump);
	CHECK_STR(d.user, "deploy");
	ssh_dest_release(&d);

	REQUIRE(ssh_config_resolve(path, "alias", "root", &d) == 0);
	CHECK_INT(d.port, 2202);
	CHECK_STR(d.proxyjump, "jump");
	ssh_dest_release(&d);

	REQUIRE(ssh_config_resolve(path, "plain", "deploy", &d) == 0);
	CHECK_INT(d.port, 2203);
	CHECK_INT((int)d.nidentity, 0);
	ssh_dest_release(&d);
	free(path);
}

/* as OpenSSH 9 (ssh -G): Host patterns match the name as given, case and
 * all (it lowercases the name only after reading its config); Match host
 * and originalhost compare in lowercase, the patterns too */
TEST(config_host_case_as_openssh)
{
	char *path = write_tmp("config5",
		"Host Web\n"
		"  Port 2201\n"
		"Host web\n"
		"  User lower\n"
		"Match originalhost DB*\n"
		"  Port 2202\n"
		"Match host *.EXAMPLE.com,!bad.example.com\n"
		"  User matched\n");
	struct ssh_dest d;

	REQUIRE(ssh_config_resolve(path, "web", NULL, &d) == 0);
	CHECK_INT(d.port, 0);
	CHECK_STR(d.user, "lower");
	ssh_dest_release(&d);

	REQUIRE(ssh_config_resolve(path, "Web", NULL, &d) == 0);
	CHECK_INT(d.port, 2201);
	CHECK(!d.user);
	ssh_dest_release(&d);

	REQUIRE(ssh_config_resolve(path, "db1", NULL, &d) == 0);
	CHECK_INT(d.port, 2202);
	ssh_dest_release(&d);

	REQUIRE(ssh_config_resolve(path, "x.example.COM", NULL, &d) == 0);
	CHECK_STR(d.user, "matched");
	ssh_dest_release(&d);

	REQUIRE(ssh_config_resolve(path, "BAD.example.com", NULL, &d) == 0);
	CHECK(!d.user);
	ssh_dest_release(&d);
	free(path);
}

static struct buf warned;

static void
keep_warnings(enum error_level level, const char *msg, void *arg)
{
	(void)arg;
	if (level == LEVEL_WARNING)
		buf_printf(&warned, "%s\n", msg);
}

TEST(config_match_exec_is_skipped_with_a_warning)
{
	char *path = write_tmp("config4",
		"Match exec \"true\"\n"
		"  Port 1\n"
		"Match canonical host x\n"
		"  Port 2\n"
		"Host x\n"
		"  Port 3\n");
	struct ssh_dest d;
	char *want;

	buf_init(&warned, 0);
	error_set_reporter(keep_warnings, NULL);
	REQUIRE(ssh_config_resolve(path, "x", NULL, &d) == 0);
	CHECK_INT(d.port, 3);
	ssh_dest_release(&d);
	/* once per line, however often the file is read */
	REQUIRE(ssh_config_resolve(path, "x", NULL, &d) == 0);
	ssh_dest_release(&d);
	error_set_reporter(NULL, NULL);
	want = xasprintf("%s:1: 'Match exec' is not understood by hydro; the block it "
	                 "opens is skipped", path);
	CHECK(strstr(warned.data, want) != NULL);
	free(want);
	want = xasprintf("%s:3: 'Match canonical'", path);
	CHECK(strstr(warned.data, want) != NULL);
	CHECK(strstr(strstr(warned.data, want) + 1, want) == NULL);
	free(want);
	buf_release(&warned);
	free(path);
}

TEST(hostkey_type_and_fingerprint)
{
	unsigned char b[51];
	char type[64], fp[60];

	blob(b, 0);
	hostkey_type(b, sizeof(b), type, sizeof(type));
	CHECK_STR(type, "ssh-ed25519");
	hostkey_fingerprint(b, sizeof(b), fp);
	CHECK_STR(fp, FP1);
	hostkey_type(b, 3, type, sizeof(type));
	CHECK_STR(type, "unknown");
}

TEST(hostkey_names)
{
	char *a = hostkey_name("Example.COM", 22), *b = hostkey_name("10.0.0.1", 2222);

	CHECK_STR(a, "example.com");
	CHECK_STR(b, "[10.0.0.1]:2222");
	free(a);
	free(b);
}

TEST(hostkey_known_unknown_changed)
{
	char *path = write_tmp("known",
		"# comment\n"
		"other.org ssh-ed25519 " KEY2 "\n"
		"*.example.net,!bad.example.net ssh-ed25519 " KEY1 "\n"
		"[10.0.0.1]:2222 ssh-ed25519 " KEY1 "\n"
		"10.0.0.1 ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC=\n"
		"@cert-authority * ssh-ed25519 " KEY1 "\n"
		HASHED " ssh-ed25519 " KEY1 "\n"
		"@revoked revoked.org ssh-ed25519 " KEY1 "\n");
	const char *files[] = { "/nonexistent/known", path };
	unsigned char k1[51], k2[51];
	char *where = NULL, *types;

	blob(k1, 0);
	blob(k2, 1);
	CHECK_INT(hostkey_check(files, 2, "a.example.net", k1, 51, &where), HOSTKEY_KNOWN);
	CHECK_INT(hostkey_check(files, 2, "bad.example.net", k1, 51, &where), HOSTKEY_UNKNOWN);
	CHECK_INT(hostkey_check(files, 2, "[10.0.0.1]:2222", k1, 51, &where), HOSTKEY_KNOWN);
	/* another type known for the host: not a change */
	CHECK_INT(hostkey_check(files, 2, "10.0.0.1", k1, 51, &where), HOSTKEY_UNKNOWN);
	CHECK_INT(hostkey_check(files, 2, "example.com", k1, 51, &where), HOSTKEY_KNOWN);
	CHECK_INT(hostkey_check(files, 2, "example.org", k1, 51, &where), HOSTKEY_UNKNOWN);
	CHECK_INT(hostkey_check(files, 2, "other.org", k1, 51, &where), HOSTKEY_CHANGED);
	REQUIRE(where);
	CHECK(str_ends(where, "/known:2"));
	free(where);
	CHECK_INT(hostkey_check(files, 2, "example.com", k2, 51, &where), HOSTKEY_CHANGED);
	REQUIRE(where);
	CHECK(str_ends(where, "/known:7"));
	free(where);
	CHECK_INT(hostkey_check(files, 2, "revoked.org", k1, 51, &where), HOSTKEY_CHANGED);
	free(where);
	types = hostkey_known_types(files, 2, "10.0.0.1");
	CHECK_STR(types, "ssh-rsa");
	free(types);
	CHECK(!hostkey_known_types(files, 2, "nowhere.org"));
	free(path);
}

TEST(hostkey_record_then_known)
{
	char *path = path_join(dir, "sub/known_hosts");
	const char *files[] = { path };
	unsigned char k1[51];
	char *where = NULL;
	struct buf text = BUF_INIT;

	blob(k1, 0);
	CHECK_INT(hostkey_check(files, 1, "[h]:2200", k1, 51, &where), HOSTKEY_UNKNOWN);
	REQUIRE(hostkey_record(path, "[h]:2200", k1, 51) == 0);
	CHECK_INT(hostkey_check(files, 1, "[h]:2200", k1, 51, &where), HOSTKEY_KNOWN);
	REQUIRE(read_file(path, &text) == 0);
	CHECK_STR(text.data, "[h]:2200 ssh-ed25519 " KEY1 "\n");
	buf_release(&text);
	free(path);
}

/* the driver: a host "web" of backend ssh with the settings given */

static int
write_sink(void *arg, int stream, const char *data, size_t n)
{
	(void)arg;
	return write_in_full(stream, data, n);
}

/* host_check of an ssh host "web" declared at "d.json" with one setting
 * (and host=); the error it gave, or NULL if it passed */
static char *
check_one(const char *key, const char *value)
{
	struct kv kv[2] = { { "host", "127.0.0.1" }, { NULL, NULL } };
	struct host h;
	struct ssh_quiet q;
	int rc;

	memset(&h, 0, sizeof(h));
	h.name = "web";
	h.backend = "ssh";
	h.where = "d.json";
	h.settings = kv;
	h.nsettings = key ? 2 : 1;
	kv[1].key = (char *)key;
	kv[1].value = (char *)value;
	if (key && !strcmp(key, "host"))
		h.nsettings = 1, kv[0].value = (char *)value;
	ssh_quiet_begin(&q);
	rc = host_check(&h);
	ssh_quiet_end(&q);
	return rc < 0 ? xstrdup(error_last()) : NULL;
}

TEST(check_refuses_bad_settings_naming_where)
{
	char *key = write_tmp("id_test", "not really a key\n"), *e;
	/* a setting, and the error it gives (NULL: accepted) */
	const char *cases[][3] = {
		{ NULL, NULL, NULL },
		{ "port", "2222", NULL },
		{ "key", key, NULL },
		{ "connect_timeout", "0.5", NULL },
		{ "port", "twenty-two",
		  "d.json: host 'web': bad port 'twenty-two'; give a number from 1 to 65535" },
		{ "host", "", "d.json: host 'web' (ssh) has no host=" },
		{ "key", "/nonexistent/id",
		  "d.json: host 'web': cannot read its key file '/nonexistent/id'" },
		{ "connect_attempts", "0", "d.json: host 'web': bad connect_attempts '0'" },
		{ "compress", "maybe", "d.json: host 'web': compress must be true or false" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = check_one(cases[i][0], cases[i][1]);
		if (!cases[i][2])
			CHECK_STR(e ? e : "(accepted)", "(accepted)");
		else
			CHECK(e && str_starts(e, cases[i][2]));
		free(e);
	}
	free(key);
}

TEST(setup_and_disconnect_are_safe_without_a_connection)
{
	struct backend_env env = { NULL, 0, NULL, NULL };
	struct host h;

	CHECK_INT(backends_setup(&env), 0);
	memset(&h, 0, sizeof(h));
	h.name = "web";
	h.backend = "ssh";
	host_disconnect(&h);
	CHECK(h.runtime == NULL);
	h.backend = "local";
	CHECK_INT(host_check(&h), 0);
	host_disconnect(&h);
}

/* copy from to to until from ends; 0 at its end, 1 if it is still open */
static int
copy_some(int from, int to)
{
	char data[65536];
	ssize_t n = read(from, data, sizeof(data));

	if (n > 0 && write_in_full(to, data, (size_t)n) < 0)
		return 0;
	return n > 0 || (n < 0 && errno == EINTR);
}

/* spawn [--stdin] [--keep] [--detach] [--cwd DIR] [--signal N] [--env K=V]...
 * -- ARGV: start it; "spawned PID PGID IDENT" on stderr; its stdout and
 * stderr copied to ours, our stdin to its; --signal sends N to its group
 * once its first output came; --detach returns at once (keeping it if --keep); the exit
 * status is its status (255: unknown) */
static int
tool_spawn(struct host *h, int argc, char **argv)
{
	struct spawn sp = SPAWN_INIT;
	char *env[16];
	size_t nenv = 0;
	int i, sig = 0, detach = 0, status = 255;
	struct pollfd p[4];

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--stdin"))
			sp.want_stdin = 1;
		else if (!strcmp(argv[i], "--keep"))
			sp.keep = 1;
		else if (!strcmp(argv[i], "--detach"))
			detach = 1;
		else if (!strcmp(argv[i], "--cwd") && i + 1 < argc)
			sp.cwd = argv[++i];
		else if (!strcmp(argv[i], "--signal") && i + 1 < argc)
			sig = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--env") && i + 1 < argc && nenv < 15)
			env[nenv++] = argv[++i];
		else
			return 2;
	}
	if (++i >= argc)
		return 2;
	env[nenv] = NULL;
	sp.env = nenv ? env : NULL;
	sp.argv = argv + i;
	if (host_spawn(h, &sp) < 0)
		return 254;
	fprintf(stderr, "spawned %ld %ld %llu\n", sp.pid, sp.pgid, sp.ident);
	fflush(stderr);
	if (detach) {
		host_release(h, &sp);
		return 0;
	}
	p[0].fd = sp.out;
	p[1].fd = sp.err;
	p[2].fd = sp.want_stdin ? 0 : -1;
	p[3].fd = sp.exit_fd;
	for (i = 0; i < 4; i++)
		p[i].events = POLLIN;
	while (p[0].fd >= 0 || p[1].fd >= 0) {
		if (poll(p, 4, -1) < 0 && errno != EINTR)
			break;
		for (i = 0; i < 3; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (!copy_some(p[i].fd, i == 2 ? sp.in : i + 1)) {
				if (i == 0 && sig)
					host_signal(h, &sp, sig);
				if (i == 2) {
					close(sp.in);
					sp.in = -1;
				}
				p[i].fd = -1;
			} else if (i == 0 && sig) {
				if (host_signal(h, &sp, sig) < 0)
					status = 253;
				sig = 0;
			}
		}
		if (p[3].revents)
			p[3].fd = -1;
	}
	if (host_wait(h, &sp, &status) < 0)
		status = 255;
	host_release(h, &sp);
	return status;
}

/* cleanup PID PGID IDENT: the backend's cleanup of a record naming them and
 * this host as record gives it */
static int
tool_cleanup(struct host *h, int argc, char **argv)
{
	const struct backend *b;
	cJSON *r;
	int rc;

	if (argc != 4 || host_backend(h, &b) < 0)
		return 2;
	r = cJSON_CreateObject();
	cJSON_AddItemToObject(r, "host", host_record(h));
	cJSON_AddNumberToObject(r, "pid", atof(argv[1]));
	cJSON_AddNumberToObject(r, "pgid", atof(argv[2]));
	cJSON_AddNumberToObject(r, "ident", atof(argv[3]));
	rc = b->cleanup(r);
	cJSON_Delete(r);
	return rc < 0;
}

/* tunnel ADDR PORT -- CMD: a tunnel to ADDR:PORT through the host, then
 * the local shell command CMD with HYDRO_TUNNEL_PORT naming its port */
static int
tool_tunnel(struct host *h, int argc, char **argv)
{
	char port[16];
	int local, rc;

	if (argc != 5 || strcmp(argv[3], "--"))
		return 2;
	if (host_tunnel(h, argv[1], atoi(argv[2]), &local) < 0)
		return 1;
	snprintf(port, sizeof(port), "%d", local);
	setenv("HYDRO_TUNNEL_PORT", port, 1);
	rc = system(argv[4]);
	return rc == 0 ? 0 : 1;
}

/* pair HOST -- ARGV: ARGV run on this host and on a second one, "web2" at
 * HOST with the same settings otherwise, both connected at once */
static int
tool_pair(struct host *h, int argc, char **argv)
{
	struct host h2 = *h;
	struct kv kv[32];
	struct ssh_conn *c1, *c2;
	size_t i;
	int s1 = 255, s2 = 255;

	if (argc < 4 || strcmp(argv[2], "--") || h->nsettings > 32)
		return 2;
	for (i = 0; i < h->nsettings; i++) {
		kv[i] = h->settings[i];
		if (!strcmp(kv[i].key, "host"))
			kv[i].value = argv[1];
	}
	h2.settings = kv;
	h2.name = "web2";
	h2.runtime = NULL;
	c1 = ssh_host_conn(h);
	c2 = ssh_host_conn(&h2);
	if (c1 && c2) {
		ssh_run(c1, argv + 3, NULL, 0, write_sink, NULL, &s1);
		ssh_run(c2, argv + 3, NULL, 0, write_sink, NULL, &s2);
	}
	host_disconnect(&h2);
	return s1 || s2;
}

/* overlap -- ARGV: ARGV (a command that runs until told to end) run with
 * host_run in a thread of its own while a process on the same host prints a
 * line every 20 ms: "during N" on stdout for each of that process's lines
 * that came after ARGV's first output and before its end; then "ran S" with
 * ARGV's status.  overlap --upload FILE: the same with host_put_file of
 * FILE in place of ARGV (from its start), S 0 if it was copied */
struct overlap {
	pthread_mutex_t lock;
	struct host *h;
	char **argv;
	const char *upload;
	int started, ended, status;
};

static int
overlap_sink(void *arg, int stream, const char *data, size_t n)
{
	struct overlap *o = arg;

	(void)data;
	(void)n;
	pthread_mutex_lock(&o->lock);
	if (stream == 1)
		o->started = 1;
	pthread_mutex_unlock(&o->lock);
	return 0;
}

static void *
overlap_run(void *arg)
{
	struct overlap *o = arg;
	struct hash hash;
	int st = 255;

	if (o->upload) {
		overlap_sink(o, 1, "", 0);
		st = hash_file(o->upload, &hash) < 0 ? 253 :
		     host_put_file(o->h, o->upload, &hash, NULL) == 1 ? 0 : 254;
	} else if (host_run(o->h, o->argv, overlap_sink, o, &st) < 0) {
		st = 254;
	}
	pthread_mutex_lock(&o->lock);
	o->ended = 1;
	o->status = st;
	pthread_mutex_unlock(&o->lock);
	return NULL;
}

static int
tool_overlap(struct host *h, int argc, char **argv)
{
	char *ticker[] = { "sh", "-c", "while :; do echo tick; sleep 0.02; done", NULL };
	struct overlap o = { PTHREAD_MUTEX_INITIALIZER, h, argv + 2, NULL, 0, 0, 255 };
	struct spawn sp = SPAWN_INIT;
	pthread_t t;
	char line[64];
	FILE *f;
	int during = 0, ended = 0, status;

	if (argc == 3 && !strcmp(argv[1], "--upload"))
		o.upload = argv[2];
	else if (argc < 3 || strcmp(argv[1], "--"))
		return 2;
	sp.argv = ticker;
	if (host_spawn(h, &sp) < 0)
		return 254;
	if (pthread_create(&t, NULL, overlap_run, &o))
		return 253;
	f = fdopen(sp.out, "r");
	while (!ended && fgets(line, sizeof(line), f)) {
		pthread_mutex_lock(&o.lock);
		ended = o.ended;
		if (o.started && !o.ended)
			printf("during %d\n", ++during);
		pthread_mutex_unlock(&o.lock);
		fflush(stdout);
	}
	pthread_join(t, NULL);
	printf("ran %d\n", o.status);
	host_signal(h, &sp, SIGTERM);
	while (fgets(line, sizeof(line), f))
		;
	fclose(f);
	sp.out = -1;
	host_wait(h, &sp, &status);
	host_release(h, &sp);
	return 0;
}

/* free_port [N [THREADS]]: N ports asked together (by each of THREADS
 * threads at once, one connection), printed one a line */
struct asker {
	struct host *h;
	int ports[256];
	size_t n;
	int ret;
};

static void *
asker_run(void *arg)
{
	struct asker *a = arg;

	a->ret = host_free_ports(a->h, a->ports, a->n);
	return NULL;
}

static int
tool_free_ports(struct host *h, int argc, char **argv)
{
	struct asker a[8];
	pthread_t t[8];
	int n = argc > 1 ? atoi(argv[1]) : 1, threads = argc > 2 ? atoi(argv[2]) : 1, i;
	size_t k;

	if (n < 1 || n > 256 || threads < 1 || threads > 8)
		return 2;
	/* connected first: the threads share the connection */
	if (host_provision(h) < 0)
		return 1;
	for (i = 0; i < threads; i++) {
		a[i].h = h;
		a[i].n = (size_t)n;
		if (pthread_create(&t[i], NULL, asker_run, &a[i]))
			return 3;
	}
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < threads; i++) {
		if (a[i].ret < 0)
			return 1;
		for (k = 0; k < a[i].n; k++)
			printf("%d\n", a[i].ports[k]);
	}
	return 0;
}

/* do the command argv[0] on h; the tool's exit status */
static int
tool_do(struct host *h, int argc, char **argv)
{
	int status = 0;

	if (!strcmp(argv[0], "exec") || !strcmp(argv[0], "repeat")) {
		struct ssh_conn *c;
		int n = 1, i = 0, k;

		if (!strcmp(argv[0], "repeat") && ++i < argc)
			n = atoi(argv[i]);
		if (++i >= argc || strcmp(argv[i], "--") || ++i >= argc)
			return 2;
		if (!(c = ssh_host_conn(h)))
			return 255;
		for (k = 0; k < n; k++)
			if (ssh_run(c, argv + i, NULL, 0, write_sink, NULL, &status) < 0)
				return 255;
	} else if (!strcmp(argv[0], "upload") && argc > 1) {
		struct hash hash;
		int rc;

		if (argc > 2 ? hash_parse(argv[2], &hash) < 0 : hash_file(argv[1], &hash) < 0)
			return 2;
		rc = host_put_file(h, argv[1], &hash, NULL);
		if (rc < 0)
			return 1;
		printf("%s\n", rc ? "copied" : "present");
	} else if (!strcmp(argv[0], "triple")) {
		printf("%s\n", host_triple(h));
		status = !strcmp(host_triple(h), "unknown");
	} else if (!strcmp(argv[0], "libc")) {
		char *said = host_libc(h);

		if (!said)
			return 1;
		printf("%s\n", said);
		free(said);
	} else if (!strcmp(argv[0], "address")) {
		printf("%s\n", host_address(h));
	} else if (!strcmp(argv[0], "provision")) {
		status = host_provision(h) < 0;
	} else if (!strcmp(argv[0], "spawn")) {
		status = tool_spawn(h, argc, argv);
	} else if (!strcmp(argv[0], "tunnel")) {
		status = tool_tunnel(h, argc, argv);
	} else if (!strcmp(argv[0], "overlap")) {
		status = tool_overlap(h, argc, argv);
	} else if (!strcmp(argv[0], "pair")) {
		status = tool_pair(h, argc, argv);
	} else if (!strcmp(argv[0], "cleanup")) {
		status = tool_cleanup(h, argc, argv);
	} else if (!strcmp(argv[0], "machine_id")) {
		printf("%s\n", host_machine_id(h));
	} else if (!strcmp(argv[0], "run") && argc > 2 && !strcmp(argv[1], "--")) {
		if (host_run(h, argv + 2, write_sink, NULL, &status) < 0)
			return 255;
	} else if (!strcmp(argv[0], "probe") && argc == 3) {
		int r = host_probe(h, argv[1], atoi(argv[2]));

		if (r < 0)
			return 1;
		printf("%d\n", r);
	} else if (!strcmp(argv[0], "free_port")) {
		status = tool_free_ports(h, argc, argv);
	} else if (!strcmp(argv[0], "run_dir") && argc == 3) {
		char *d = host_run_dir(h, argv[1], argv[2]);

		printf("%s\n", d ? d : "(none)");
		free(d);
	} else if (!strcmp(argv[0], "record")) {
		cJSON *r = host_record(h);
		char *text = r ? cJSON_PrintUnformatted(r) : NULL;

		printf("%s\n", text ? text : "null");
		free(text);
		cJSON_Delete(r);
	} else if (!strcmp(argv[0], "unpack") && argc == 3) {
		struct hash hash;
		char *remote = NULL;

		if (hash_file(argv[1], &hash) < 0 ||
		    host_put_file(h, argv[1], &hash, &remote) < 0 ||
		    host_unpack(h, remote, argv[2]) < 0)
			status = 1;
		free(remote);
	} else {
		status = 2;
	}
	return status;
}

static int
tool(int argc, char **argv)
{
	struct host h;
	struct kv kv[32];
	const struct backend *b;
	struct backend_env env;
	const char *project = NULL;
	int i = 0, trust = 0, status;

	signal(SIGPIPE, SIG_IGN);
	memset(&env, 0, sizeof(env));
	memset(&h, 0, sizeof(h));
	h.name = "web";
	h.where = "test_ssh";
	h.backend = "ssh";
	h.settings = kv;
	for (; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (!strcmp(argv[i], "--project") && i + 1 < argc) {
			project = argv[++i];
		} else if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
			h.backend = argv[++i];
		} else if (!strcmp(argv[i], "--trust-new-hosts")) {
			trust = 1;
		} else if (eq && h.nsettings < 32) {
			*eq = '\0';
			kv[h.nsettings].key = argv[i];
			kv[h.nsettings++].value = eq + 1;
		} else {
			break;
		}
	}
	env.hydro_dir = project;
	env.trust_new_hosts = trust;
	/* a backend that makes machines: its state beside, the machine made
	 * first and removed after */
	if (strcmp(h.backend, "ssh") && project) {
		env.project_dir = path_dirname(project);
		if (mkdir_p(project, 0755) < 0 || !(env.state = state_open(project)))
			return 2;
	}
	if (i == argc || host_backend(&h, &b) < 0 || backends_setup(&env) < 0)
		return 2;
	if ((b->caps & BACKEND_MACHINES) && host_provision(&h) < 0)
		status = 1;
	else
		status = tool_do(&h, argc - i, argv + i);
	if (b->caps & BACKEND_MACHINES && host_terminate(&h) < 0 && !status)
		status = 1;
	host_disconnect(&h);
	if (env.state)
		state_close(env.state);
	free((char *)env.project_dir);
	ssh_configure(NULL, 0);
	return status;
}

/* test_ssh pack DIR FILE...: a package of FILEs in DIR; its path printed */
static int
pack(int argc, char **argv)
{
	struct package_file files[16];
	struct package p = { "process", "x86_64-unknown-linux-gnu", files, 0 };
	char *path;
	int i;

	for (i = 1; i < argc && i <= 16; i++) {
		files[i - 1].path = argv[i];
		files[i - 1].name = path_basename(argv[i]);
		p.nfiles++;
	}
	if (argc < 2 || archive_pack(&p, argv[0], &path, NULL) < 0)
		return 1;
	printf("%s\n", path);
	free(path);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "pack"))
		return pack(argc - 2, argv + 2);
	if (argc > 1 && !strcmp(argv[1], "tool"))
		return tool(argc - 2, argv + 2);
	dir = test_tmpdir("ssh");
	if (!dir)
		return 1;
	RUN(command_line_quotes_every_word);
	RUN(config_first_value_wins);
	RUN(config_proxyjump_none_and_bad_port);
	RUN(config_include_globs_relative_to_ssh_in_place);
	RUN(config_include_loop_is_an_error);
	RUN(config_match_host_user_originalhost_all);
	RUN(config_host_case_as_openssh);
	RUN(config_match_exec_is_skipped_with_a_warning);
	RUN(hostkey_type_and_fingerprint);
	RUN(hostkey_names);
	RUN(hostkey_known_unknown_changed);
	RUN(hostkey_record_then_known);
	RUN(check_refuses_bad_settings_naming_where);
	RUN(setup_and_disconnect_are_safe_without_a_connection);
	remove_tree(dir);
	free(dir);
	return TEST_EXIT();
}
