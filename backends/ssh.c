/*
 * ssh: machines the user already has, reached over SSH.
 *
 * A host's settings: host (a name ~/.ssh/config may alias, or an address;
 * required), user, port, key (a private key file), trust_new_host (record
 * an unknown host key instead of refusing it), compress (zlib on the
 * connection), connect_timeout (seconds per attempt and for any answer, 10
 * by default), connect_attempts (3), address (what peers reach it at; by
 * default the host's HostName); the target triple is the core's "target"
 * setting, else read from the host.  One connection per host
 * (ssh_transport.c), opened by provision or the first use, kept in
 * h->runtime, opened again when the transport failed, closed by disconnect
 * at the end of the run.  setup takes the project's .hydro directory (its
 * known_hosts) and hydro run --trust-new-hosts; check refuses bad settings
 * before anything runs.
 *
 * The rest lives beside it: processes and the guard in ssh_proc.c, the
 * pump that moves channels and tunnels in ssh_pump.c, unpacking packages on
 * the host in ssh_unpack.c, ~/.ssh/config in ssh_config.c, host keys in
 * ssh_hostkey.c; docs/internals/backends.md has the slots they fill.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "error.h"
#include "fs.h"
#include "ports.h"
#include "ssh.h"
#include "ssh_int.h"
#include "str.h"
#include "xmalloc.h"

struct ssh_host {
	pthread_mutex_t lock;	/* held while the connection is (re)opened */
	struct ssh_conn *conn;
	char *address;
	char *triple;
	struct ssh_conn **dead;	/* broken connections, kept until disconnect:
				 * their processes' handles point at them */
	size_t ndead;
	char *id;		/* machine_id */
	char *home;		/* $HOME there */
	int *given;		/* ports free_ports handed out */
	size_t ngiven;
	char **pkgs;		/* put_file's remote paths and local files, in pairs */
	size_t npkgs;
	struct pkg_lock *locks;	/* one per package unpacked */
};

struct pkg_lock {
	pthread_mutex_t lock;
	char *remote;
	struct pkg_lock *next;
};

static pthread_mutex_t runtime_lock = PTHREAD_MUTEX_INITIALIZER;
static char *known_project;	/* the project's known_hosts */
static int trust_all;

void
ssh_configure(const char *hydro_dir, int trust_new_hosts)
{
	free(known_project);
	known_project = hydro_dir ? path_join(hydro_dir, "known_hosts") : NULL;
	trust_all = trust_new_hosts;
}

static struct ssh_host *
ssh_host_of(struct host *h)
{
	struct ssh_host *sh;

	pthread_mutex_lock(&runtime_lock);
	sh = h->runtime;
	if (!sh) {
		sh = xcalloc(1, sizeof(*sh));
		pthread_mutex_init(&sh->lock, NULL);
		h->runtime = sh;
	}
	pthread_mutex_unlock(&runtime_lock);
	return sh;
}

/* where the host was declared, for messages */
#define WHERE(h) ((h)->where ? (h)->where : "hydro")

static int
setting_bool(struct host *h, const char *key, int *out)
{
	const char *v = host_get(h, key);

	*out = 0;
	if (!v || !strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no") ||
	    !*v)
		return 0;
	if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes")) {
		*out = 1;
		return 0;
	}
	return error("%s: host '%s': %s must be true or false, not '%s'", WHERE(h), h->name,
	             key, v);
}

/* the connection options from the host's settings */
static int
ssh_host_opts(struct host *h, struct ssh_opts *o)
{
	const char *v;
	long n;

	memset(o, 0, sizeof(*o));
	o->host = host_get(h, "host");
	if (!o->host || !*o->host)
		return error("%s: host '%s' (ssh) has no host=; give the machine's name or "
		             "address", WHERE(h), h->name);
	o->user = host_get(h, "user");
	o->key = host_get(h, "key");
	if ((v = host_get(h, "port"))) {
		if (str_to_long(v, 1, 65535, &n) < 0)
			return error("%s: host '%s': bad port '%s'; give a number from 1 to "
			             "65535", WHERE(h), h->name, v);
		o->port = (int)n;
	}
	o->timeout_ms = 10000;
	if ((v = host_get(h, "connect_timeout"))) {
		char *end;
		double s = strtod(v, &end);

		if (end == v || *end || s <= 0 || s > 3600)
			return error("%s: host '%s': bad connect_timeout '%s'; give seconds, "
			             "more than 0", WHERE(h), h->name, v);
		o->timeout_ms = (int)(s * 1000);
		if (!o->timeout_ms)
			o->timeout_ms = 1;
	}
	o->attempts = 3;
	if ((v = host_get(h, "connect_attempts"))) {
		if (str_to_long(v, 1, 100, &n) < 0)
			return error("%s: host '%s': bad connect_attempts '%s'; give a "
			             "number from 1 to 100", WHERE(h), h->name, v);
		o->attempts = (int)n;
	}
	if (setting_bool(h, "trust_new_host", &o->trust_new) < 0 ||
	    setting_bool(h, "compress", &o->compress) < 0)
		return -1;
	o->trust_new |= trust_all;
	o->known_hosts = known_project ? known_project : ".hydro/known_hosts";
	return 0;
}

struct ssh_conn *
ssh_host_conn(struct host *h)
{
	struct ssh_host *sh = ssh_host_of(h);
	struct ssh_opts o;
	struct ssh_conn *c;
	char *label;

	pthread_mutex_lock(&sh->lock);
	if (sh->conn && ssh_broken(sh->conn)) {
		sh->dead = xrealloc(sh->dead, (sh->ndead + 1) * sizeof(*sh->dead));
		sh->dead[sh->ndead++] = sh->conn;
		sh->conn = NULL;
	}
	if (!sh->conn && ssh_host_opts(h, &o) == 0) {
		label = xasprintf("host '%s'", h->name);
		o.label = label;
		sh->conn = ssh_open(&o);
		free(label);
	}
	c = sh->conn;
	pthread_mutex_unlock(&sh->lock);
	return c;
}

static int
ssh_setup(const struct backend_env *env)
{
	ssh_configure(env->hydro_dir, env->trust_new_hosts);
	return 0;
}

/* the settings read as a connection would read them, and the key file */
static int
ssh_check(struct host *h)
{
	struct ssh_opts o;

	if (ssh_host_opts(h, &o) < 0)
		return -1;
	if (o.key && access(o.key, R_OK) < 0)
		return error("%s: host '%s': cannot read its key file '%s': %s; give key= a "
		             "private key file hydro can read", WHERE(h), h->name, o.key,
		             strerror(errno));
	return 0;
}

/* $HOME on the host, kept; NULL with the error */
static const char *
ssh_home(struct host *h)
{
	struct ssh_host *sh = ssh_host_of(h);
	struct ssh_conn *c;
	char *home;

	if (sh->home || !(c = ssh_host_conn(h)) || !(home = ssh_fact(c, SSH_HOME)))
		return sh->home;
	if (home[0] != '/') {
		error("host '%s' has no absolute $HOME ('%s')", h->name, home);
		free(home);
		return NULL;
	}
	pthread_mutex_lock(&runtime_lock);
	if (!sh->home)
		sh->home = home;
	else
		free(home);
	pthread_mutex_unlock(&runtime_lock);
	return sh->home;
}

/* what getconf says of the host's glibc, read with $HOME and the triple */
static char *
ssh_libc(struct host *h)
{
	struct ssh_conn *c = ssh_host_conn(h);

	return c ? ssh_fact(c, SSH_GLIBC) : NULL;
}

static int
ssh_provision(struct host *h)
{
	return ssh_host_conn(h) && ssh_home(h) ? 0 : -1;
}

/* one machine is one user at one address and port, after ~/.ssh/config */
static const char *
ssh_machine_id(struct host *h)
{
	struct ssh_host *sh = ssh_host_of(h);
	struct ssh_opts o;
	struct ssh_quiet q;
	char *id = NULL, *raw = NULL;

	if (!sh->id) {
		ssh_quiet_begin(&q);
		if (ssh_host_opts(h, &o) == 0 && (raw = ssh_dest_id(&o)))
			id = xasprintf("ssh:%s", raw);
		free(raw);
		ssh_quiet_end(&q);
		pthread_mutex_lock(&runtime_lock);
		if (!sh->id)
			sh->id = id ? id : xasprintf("ssh-host:%s", h->name);
		else
			free(id);
		pthread_mutex_unlock(&runtime_lock);
	}
	return sh->id;
}

static int
ssh_host_run(struct host *h, char *const argv[], host_sink *sink, void *arg, int *status)
{
	struct ssh_conn *c = ssh_host_conn(h);

	return c ? ssh_run(c, argv, NULL, 0, sink, arg, status) : -1;
}

static int
ssh_host_probe(struct host *h, const char *addr, int port)
{
	struct ssh_conn *c = ssh_host_conn(h);

	return c ? ssh_probe(c, addr, port) : -1;
}

/* ports below Linux's ephemeral range (32768 up), where no outgoing
 * connection takes one by chance */
#define FREE_PORT_LOW	20000
#define FREE_PORT_HIGH	32767

/* whether the port is used in the table of /proc/net/tcp lines in text,
 * or was handed out already (runtime_lock held) */
static int
port_taken(struct ssh_host *sh, const char *text, int port)
{
	size_t i;

	for (i = 0; i < sh->ngiven; i++)
		if (sh->given[i] == port)
			return 1;
	return port_in_use(text, port);
}

/* one read of the host's tables for every port asked together; the ports
 * handed out are remembered, so that a later read (another deploy round,
 * another thread) never hands one out again before its service binds it */
static int
ssh_free_ports(struct host *h, int *ports, size_t n)
{
	struct ssh_host *sh = ssh_host_of(h);
	char *argv[] = { "cat", "/proc/net/tcp", "/proc/net/tcp6", NULL };
	struct ssh_capture cap = { 0 };
	struct ssh_conn *c = ssh_host_conn(h);
	int span = FREE_PORT_HIGH - FREE_PORT_LOW + 1, start, k = 0, p;
	size_t got = 0;

	/* tcp6 is missing where IPv6 is off: what cat printed is enough */
	cap.any_status = 1;
	if (!c || ssh_capture(c, argv, NULL, 0, &cap) < 0 || !cap.out.len) {
		if (c && !cap.out.len)
			error("host '%s': cannot read its /proc/net/tcp to find a free port",
			      h->name);
		ssh_capture_release(&cap);
		return -1;
	}
	start = (int)(((unsigned)time(NULL) * 2654435761u + (unsigned)getpid()) % (unsigned)span);
	pthread_mutex_lock(&runtime_lock);
	for (; k < span && got < n; k++) {
		p = FREE_PORT_LOW + (start + k) % span;
		if (port_taken(sh, cap.out.data, p))
			continue;
		sh->given = xrealloc(sh->given, (sh->ngiven + 1) * sizeof(*sh->given));
		sh->given[sh->ngiven++] = p;
		ports[got++] = p;
	}
	pthread_mutex_unlock(&runtime_lock);
	ssh_capture_release(&cap);
	if (got < n)
		return error("host '%s' has no %zu free TCP ports from %d to %d", h->name, n,
		             FREE_PORT_LOW, FREE_PORT_HIGH);
	return 0;
}

static char *
ssh_run_dir(struct host *h, const char *run, const char *service)
{
	const char *home = ssh_home(h);

	/* without $HOME, relative: commands over SSH start there */
	return home ? xasprintf("%s/.hydro/runs/%s/%s", home, run, service) :
	       xasprintf(".hydro/runs/%s/%s", run, service);
}

/* a listening socket on 127.0.0.1 whose connections the connection's pump
 * carries to addr:port through the host, until disconnect */
static int
ssh_tunnel(struct host *h, const char *addr, int port, int *local_port)
{
	struct ssh_conn *c = ssh_host_conn(h);
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, rc;

	if (!c)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		error_errno("host '%s': cannot listen on 127.0.0.1 for a tunnel to %s:%d",
		            h->name, addr, port);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	ssh_lock(c);
	rc = pump_start(c);
	if (rc == 0)
		pump_listen(c, fd, addr, port);
	ssh_unlock(c);
	if (rc < 0) {
		close(fd);
		return -1;
	}
	*local_port = ntohs(sin.sin_port);
	return 0;
}

/* a port on the host's 127.0.0.1, chosen there, that its sshd listens on
 * for us (tcpip-forward): the connection's pump joins each connection it
 * forwards to a new connection to addr:port here, until disconnect */
static int
ssh_tunnel_back(struct host *h, const char *addr, int port, int *remote_port)
{
	struct ssh_conn *c = ssh_host_conn(h);
	struct addrinfo hints, *ai = NULL;
	char service[16], *msg = NULL;
	int bound = 0, rc;

	if (!c)
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(service, sizeof(service), "%d", port);
	if (getaddrinfo(addr, service, &hints, &ai) != 0 || !ai)
		return error("host '%s': cannot tunnel back to '%s': not an address here",
		             h->name, addr);
	ssh_lock(c);
	rc = pump_start(c);
	if (rc == 0 && pump_forward(c, ai->ai_addr, ai->ai_addrlen, &bound) < 0) {
		rc = -1;
		if (libssh2_session_last_errno(c->s) == LIBSSH2_ERROR_REQUEST_DENIED) {
			libssh2_session_last_error(c->s, &msg, NULL, 0);
			error("%s (%s) refuses to listen on 127.0.0.1 for hydro (%s): its sshd "
			      "forbids remote forwarding; set 'AllowTcpForwarding yes' in its "
			      "sshd_config, or give this machine's host an address the host "
			      "reaches", c->label, c->where, msg);
		} else if (!c->broken) {
			/* a broken one was reported as it broke */
			ssh_fail(c, "cannot listen on 127.0.0.1 for hydro");
		}
	}
	ssh_unlock(c);
	freeaddrinfo(ai);
	if (rc < 0)
		return -1;
	*remote_port = bound;
	return 0;
}

/* the settings a connection reads, the key's path absolute: what hydro
 * down needs to reach the host again (never a secret: a key is a path) */
static cJSON *
ssh_record(struct host *h)
{
	static const char *const keys[] = { "host", "user", "port", "key", "connect_timeout",
	                                    "connect_attempts", "compress" };
	cJSON *r = cJSON_CreateObject();
	const char *v;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!(v = host_get(h, keys[i])))
			continue;
		if (!strcmp(keys[i], "key")) {
			char *abs = path_absolute(v);

			cJSON_AddStringToObject(r, keys[i], abs);
			free(abs);
		} else {
			cJSON_AddStringToObject(r, keys[i], v);
		}
	}
	return r;
}

static int ssh_put_file_conn(struct host *h, const char *local, const struct hash *hash,
                             char **remote);

static const char *
ssh_host_triple(struct host *h)
{
	struct ssh_host *sh = ssh_host_of(h);
	struct ssh_conn *c;
	const char *t;

	/* a "target" setting was taken by host_triple() before asking here */
	if (!sh->triple && (c = ssh_host_conn(h)) && (t = ssh_triple(c))) {
		pthread_mutex_lock(&runtime_lock);
		if (!sh->triple)
			sh->triple = xstrdup(t);
		pthread_mutex_unlock(&runtime_lock);
	}
	return sh->triple ? sh->triple : "unknown";
}

static const char *
ssh_address(struct host *h)
{
	struct ssh_host *sh = ssh_host_of(h);
	struct ssh_dest d;
	const char *a = host_get(h, "address"), *name = host_get(h, "host");
	char *config;

	if (a)
		return a;
	pthread_mutex_lock(&sh->lock);
	if (!sh->address && name) {
		config = xasprintf("%s/.ssh/config", getenv("HOME") ? getenv("HOME") : "");
		if (ssh_config_resolve(config, name, host_get(h, "user"), &d) == 0) {
			sh->address = d.hostname;
			d.hostname = NULL;
			ssh_dest_release(&d);
		}
		free(config);
	}
	pthread_mutex_unlock(&sh->lock);
	return sh->address ? sh->address : name ? name : "127.0.0.1";
}

const char *
ssh_package_source(struct host *h, const char *remote)
{
	struct ssh_host *sh = ssh_host_of(h);
	const char *local = NULL;
	size_t i;

	pthread_mutex_lock(&runtime_lock);
	for (i = 0; i + 1 < sh->npkgs && !local; i += 2)
		if (!strcmp(sh->pkgs[i], remote))
			local = sh->pkgs[i + 1];
	pthread_mutex_unlock(&runtime_lock);
	return local;
}

pthread_mutex_t *
ssh_package_lock(struct host *h, const char *remote)
{
	struct ssh_host *sh = ssh_host_of(h);
	struct pkg_lock *l;

	pthread_mutex_lock(&runtime_lock);
	for (l = sh->locks; l && strcmp(l->remote, remote); l = l->next)
		;
	if (!l) {
		l = xcalloc(1, sizeof(*l));
		pthread_mutex_init(&l->lock, NULL);
		l->remote = xstrdup(remote);
		l->next = sh->locks;
		sh->locks = l;
	}
	pthread_mutex_unlock(&runtime_lock);
	return &l->lock;
}

/* what put_file copied where, for unpack */
static void
remember_package(struct host *h, const char *remote, const char *local)
{
	struct ssh_host *sh = ssh_host_of(h);

	if (ssh_package_source(h, remote))
		return;
	pthread_mutex_lock(&runtime_lock);
	sh->pkgs = xrealloc(sh->pkgs, (sh->npkgs + 2) * sizeof(*sh->pkgs));
	sh->pkgs[sh->npkgs++] = xstrdup(remote);
	sh->pkgs[sh->npkgs++] = path_absolute(local);
	pthread_mutex_unlock(&runtime_lock);
}

/* packages go to ~/.hydro/pkgs/<hash> */
static int
ssh_put_file(struct host *h, const char *local, const struct hash *hash,
             char **remote)
{
	char *where = NULL;
	int rc = ssh_put_file_conn(h, local, hash, &where);

	if (rc >= 0 && where)
		remember_package(h, where, local);
	if (remote)
		*remote = where;
	else
		free(where);
	return rc;
}

static int
ssh_put_file_conn(struct host *h, const char *local, const struct hash *hash,
                  char **remote)
{
	struct ssh_conn *c;
	struct ssh_quiet q;
	int rc;

	c = ssh_host_conn(h);
	if (!c)
		return -1;
	/* a connection that broke is opened again (with its retries) once, and
	 * then only the second failure is reported */
	ssh_quiet_begin(&q);
	rc = ssh_upload(c, local, hash, remote);
	ssh_quiet_end(&q);
	if (rc < 0 && !ssh_broken(c))
		return error("%s", error_last());
	if (rc >= 0)
		return rc;
	c = ssh_host_conn(h);
	return c ? ssh_upload(c, local, hash, remote) : -1;
}

static void
ssh_disconnect(struct host *h)
{
	struct ssh_host *sh = h->runtime;

	if (!sh)
		return;
	ssh_close(sh->conn);
	while (sh->ndead)
		ssh_close(sh->dead[--sh->ndead]);
	free(sh->dead);
	pthread_mutex_destroy(&sh->lock);
	free(sh->address);
	free(sh->triple);
	free(sh->id);
	free(sh->home);
	free(sh->given);
	while (sh->npkgs)
		free(sh->pkgs[--sh->npkgs]);
	free(sh->pkgs);
	while (sh->locks) {
		struct pkg_lock *l = sh->locks;

		sh->locks = l->next;
		pthread_mutex_destroy(&l->lock);
		free(l->remote);
		free(l);
	}
	free(sh);
	h->runtime = NULL;
}

const struct backend backend_ssh = {
	"ssh",					/* name */
	0,					/* caps */
	ssh_host_triple,			/* triple */
	ssh_address,				/* address */
	ssh_provision,				/* provision: connect */
	ssh_put_file,				/* put_file */
	ssh_proc_spawn,				/* spawn */
	ssh_proc_signal,			/* signal */
	ssh_proc_wait,				/* wait */
	ssh_proc_release,			/* release */
	NULL,					/* terminate: no machines made */
	ssh_proc_cleanup,			/* cleanup */
	ssh_setup,				/* setup: known_hosts, trust */
	ssh_check,				/* check */
	ssh_disconnect,				/* disconnect */
	NULL,					/* register_state */
	NULL,					/* sweep: no machines made */
	ssh_machine_id,				/* machine_id */
	ssh_host_run,				/* run */
	ssh_host_probe,				/* probe */
	ssh_free_ports,				/* free_ports: one table read */
	ssh_unpack,				/* unpack */
	ssh_run_dir,				/* run_dir */
	ssh_tunnel,				/* tunnel */
	ssh_record,				/* record */
	ssh_tunnel_back,			/* tunnel_back */
	NULL,					/* allow: nothing in the way */
	ssh_libc,				/* libc: read with $HOME */
	ssh_listen_watch,			/* listen_watch: a loop on the host */
};
