/*
 * ssh_transport: connections to SSH servers over libssh2, the commands
 * and uploads they carry.
 *
 * Opening a connection: the name through ~/.ssh/config
 * (ssh_config.c), a TCP connection with a timeout, or a direct-tcpip channel
 * through the ProxyJump bastion (connected first, the same way) pumped by a
 * thread of its own; the handshake; the host key checked against
 * ~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts and the project's
 * .hydro/known_hosts (ssh_hostkey.c), an unknown one refused unless new
 * hosts are trusted, then recorded in the project's file; authentication
 * with key= alone if given, else the config's IdentityFile, then
 * ~/.ssh/id_ed25519, id_ecdsa, id_rsa, then ssh-agent.  Failures to
 * connect or to handshake are retried with backoff; a refused host key or
 * login is not.
 *
 * Sessions are non-blocking: every wait is a poll() on the socket with the
 * host's timeout, so a host that stops answering fails with its name, never
 * hangs.  A session is used by one thread at a time (the connection's lock),
 * which a command waiting for its channel gives up while it waits, so that
 * the connection's other channels move meanwhile (ssh_wait_turn).
 * Commands are argv quoted for a POSIX shell on the host, never pasted.
 * What the host says of itself (facts_locked) is read once per connection
 * by a command that then goes on as the connection's guard (ssh_proc.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "backend.h"
#include "error.h"
#include "fs.h"
#include "ssh.h"
#include "ssh_int.h"
#include "str.h"
#include "xmalloc.h"


static pthread_once_t ssh_once = PTHREAD_ONCE_INIT;

static void bastion_put(struct ssh_conn *b);

static void
ssh_init_once(void)
{
	if (libssh2_init(0))
		fatal("cannot initialise libssh2");
}

/* errors go to error_last() only; notes and warnings on as before */
static void
quiet_reporter(enum error_level level, const char *msg, void *arg)
{
	struct ssh_quiet *q = arg;

	if (level == LEVEL_ERROR)
		return;
	error_set_reporter(q->prev, q->prev_arg);
	if (level == LEVEL_WARNING)
		warning("%s", msg);
	else
		note("%s", msg);
	error_set_reporter(quiet_reporter, q);
}

void
ssh_quiet_begin(struct ssh_quiet *q)
{
	q->prev = error_get_reporter(&q->prev_arg);
	error_set_reporter(quiet_reporter, q);
}

void
ssh_quiet_end(struct ssh_quiet *q)
{
	error_set_reporter(q->prev, q->prev_arg);
}

/* report libssh2's last error on c, prefixed by what failed */
int
ssh_fail(struct ssh_conn *c, const char *what)
{
	char *msg = NULL;
	int code = libssh2_session_last_error(c->s, &msg, NULL, 0);

	/* but for refusals within a working session, the transport is gone */
	if (code != LIBSSH2_ERROR_SFTP_PROTOCOL && code != LIBSSH2_ERROR_CHANNEL_FAILURE &&
	    code != LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED &&
	    code != LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED &&
	    code != LIBSSH2_ERROR_AUTHENTICATION_FAILED && code != LIBSSH2_ERROR_FILE &&
	    code != LIBSSH2_ERROR_METHOD_NOT_SUPPORTED &&
	    code != LIBSSH2_ERROR_CHANNEL_EOF_SENT)
		c->broken = 1;
	return error("%s (%s): %s: %s", c->label, c->where, what,
	             msg && *msg ? msg : "connection lost");
}

static int alive_interval(void);

/* a keepalive asking for a reply (c locked), to make a silent host say
 * something.  Only a probe asks: the host answers a keepalive with a
 * REQUEST_FAILURE, which libssh2 queues until a global request of ours
 * takes it or the session ends, so those of the pump ask for none (a
 * keepalive is data TCP must have acknowledged: tcp_alive) */
static void
probe(struct ssh_conn *c)
{
	libssh2_keepalive_config(c->s, 1, (unsigned)alive_interval());
	libssh2_keepalive_send(c->s, NULL);
	libssh2_keepalive_config(c->s, 0, (unsigned)alive_interval());
}

/*
 * Wait until the session's socket is ready the way libssh2 is blocked.
 * A silent connection is probed with a keepalive that asks for a reply;
 * one that stays silent after that has stopped answering.
 */
int
ssh_wait(struct ssh_conn *c)
{
	struct pollfd p;
	int dir, n, probes = 0;

	if (c->broken)
		return -1;
	for (;;) {
		dir = libssh2_session_block_directions(c->s);
		p.fd = c->fd;
		p.events = 0;
		if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
			p.events |= POLLIN;
		if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
			p.events |= POLLOUT;
		if (!p.events)
			p.events = POLLIN;
		n = poll(&p, 1, c->timeout_ms);
		if (n > 0)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_errno("%s (%s): poll", c->label, c->where);
		if (!c->up || probes++ >= 2)
			break;
		probe(c);
	}
	c->broken = 1;
	return error("%s (%s) did not answer within %.3g s", c->label, c->where,
	             c->timeout_ms / 1000.0);
}

static int alive_seconds = 30;

static void
alive_init(void)
{
	const char *v = getenv("HYDRO_SSH_KEEPALIVE");
	long n;

	if (!v)
		return;
	if (str_to_long(v, 1, 86400, &n) == 0)
		alive_seconds = (int)n;
	else
		warning("HYDRO_SSH_KEEPALIVE='%s' is not a number of seconds from 1 to "
		        "86400; using %d", v, alive_seconds);
}

int
ssh_alive_seconds(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, alive_init);
	return alive_seconds;
}

/* seconds between keepalives: a sixth of the allowed silence */
static int
alive_interval(void)
{
	int t = ssh_alive_seconds();

	return t >= 6 ? t / 6 : 1;
}

/*
 * A connection that goes silent (packets dropped, no reset) fails within
 * ssh_alive_seconds: TCP gives up on data unacknowledged for the rest of it
 * after a keepalive (TCP_USER_TIMEOUT), and an idle connection is probed by
 * TCP's own keepalives.  Best effort: a system without these options keeps
 * the guard's heartbeat.
 */
static void
tcp_alive(int fd)
{
	int on = 1, iv = alive_interval(), cnt;
	unsigned ms = (unsigned)(ssh_alive_seconds() - iv) * 1000;

	if (ms < 500)
		ms = 500;
	cnt = (ssh_alive_seconds() - iv) / iv;
	if (cnt < 1)
		cnt = 1;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
#ifdef TCP_KEEPIDLE
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &iv, sizeof(iv));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &iv, sizeof(iv));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
#endif
#ifdef TCP_USER_TIMEOUT
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms));
#endif
}

/*
 * Taking turns.  A thread waiting for its command's answer gives the
 * session up while it polls, so that the pump moves the other channels'
 * data meanwhile; each wakes the other when it read the socket, which is
 * counted by conn_recv: the packets it read may be for the other's
 * channels.  A waiter polls the socket and a pipe of its thread's own,
 * which the pump writes after a round that read the socket.
 */
struct ssh_waiter {
	struct ssh_waiter *next;
	int fd;			/* the write end of its thread's pipe */
};

static pthread_key_t turn_key;
static pthread_once_t turn_once = PTHREAD_ONCE_INIT;
static _Thread_local int turn_fd[2] = { -1, -1 };

static void
turn_close(void *arg)
{
	(void)arg;
	close(turn_fd[0]);
	close(turn_fd[1]);
	turn_fd[0] = turn_fd[1] = -1;
}

static void
turn_init(void)
{
	pthread_key_create(&turn_key, turn_close);
}

/* this thread's pipe, made on first use, closed when the thread ends */
static int
turn_pipe(void)
{
	int i;

	if (turn_fd[0] >= 0)
		return 0;
	pthread_once(&turn_once, turn_init);
	if (pipe(turn_fd) < 0)
		return turn_fd[0] = turn_fd[1] = -1;
	for (i = 0; i < 2; i++) {
		fcntl(turn_fd[i], F_SETFL, O_NONBLOCK);
		fcntl(turn_fd[i], F_SETFD, FD_CLOEXEC);
	}
	pthread_setspecific(turn_key, turn_fd);
	return 0;
}

static ssize_t
conn_recv(libssh2_socket_t fd, void *buf, size_t len, int flags, void **abstract)
{
	struct ssh_conn *c = *abstract;
	ssize_t n = recv(fd, buf, len, flags);

	if (n < 0)
		return -errno;
	c->reads++;
	return n;
}

void
ssh_turn_tell(struct ssh_conn *c)
{
	struct ssh_waiter *w;
	char x = 1;

	c->rounds++;
	pthread_cond_broadcast(&c->round);
	if (c->reads == c->reads_told)
		return;
	c->reads_told = c->reads;
	for (w = c->waiters; w; w = w->next)
		if (write(w->fd, &x, 1) < 0) {
			/* full: it has been told already */
		}
}

void
ssh_yield(struct ssh_conn *c)
{
	struct timespec now, until;
	unsigned long r = c->rounds;
	long long ms;

	if (!c->pump || c->broken)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	if (ms - c->yielded < 20)
		return;
	c->yielded = ms;
	pump_wake(c);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	while (c->rounds == r && !c->broken)
		if (pthread_cond_timedwait(&c->round, &c->lock, &until))
			break;
}

int
ssh_wait_turn(struct ssh_conn *c)
{
	struct ssh_waiter w, **wp;
	struct pollfd p[2];
	char junk[64];
	int n, probes = 0, err = 0, silent = 0;

	if (c->broken)
		return -1;
	if (!c->pump || (libssh2_session_block_directions(c->s) &
	                 LIBSSH2_SESSION_BLOCK_OUTBOUND) || turn_pipe() < 0)
		return ssh_wait(c);
	/* what this thread read may be for the pump's channels */
	if (c->reads != c->reads_told)
		pump_wake(c);
	while (read(turn_fd[0], junk, sizeof(junk)) > 0)
		;
	w.fd = turn_fd[1];
	w.next = c->waiters;
	c->waiters = &w;
	pthread_mutex_unlock(&c->lock);
	for (;;) {
		p[0].fd = c->fd;
		p[0].events = POLLIN;
		p[1].fd = turn_fd[0];
		p[1].events = POLLIN;
		n = poll(p, 2, c->timeout_ms);
		if (n > 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			break;
		}
		if (!c->up || probes++ >= 2) {
			silent = 1;
			break;
		}
		pthread_mutex_lock(&c->lock);
		probe(c);
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_lock(&c->lock);
	for (wp = &c->waiters; *wp != &w; wp = &(*wp)->next)
		;
	*wp = w.next;
	if (err) {
		errno = err;
		return error_errno("%s (%s): poll", c->label, c->where);
	}
	if (silent) {
		c->broken = 1;
		return error("%s (%s) did not answer within %.3g s", c->label, c->where,
		             c->timeout_ms / 1000.0);
	}
	return 0;
}

/* a TCP connection to host:port within timeout_ms; -1 with the error reported */
static int
tcp_connect(struct ssh_conn *c, const char *host, int port)
{
	struct addrinfo hints, *res, *ai;
	char sport[16];
	int fd = -1, rc, err = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(sport, sizeof(sport), "%d", port);
	rc = getaddrinfo(host, sport, &hints, &res);
	if (rc)
		return error("%s: cannot resolve '%s': %s", c->label, host, gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd p;
		socklen_t len = sizeof(err);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		            ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			err = errno;
		} else {
			p.fd = fd;
			p.events = POLLOUT;
			do
				rc = poll(&p, 1, c->timeout_ms);
			while (rc < 0 && errno == EINTR);
			if (rc == 0)
				err = ETIMEDOUT;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				err = errno;
		}
		if (!err)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		tcp_alive(fd);
	if (fd < 0) {
		if (err == ETIMEDOUT)
			return error("%s (%s) did not answer within %.3g s", c->label,
			             c->where, c->timeout_ms / 1000.0);
		errno = err;
		return error_errno("%s: cannot connect to %s", c->label, c->where);
	}
	return fd;
}

/* blocking from now on, within the timeout: a non-blocking session may
 * leave a channel or itself unfreed (EAGAIN) */
void
ssh_block(struct ssh_conn *c)
{
	libssh2_session_set_timeout(c->s, c->timeout_ms);
	libssh2_session_set_blocking(c->s, 1);
}

/* after our disconnect, let the server read it before the socket goes: a
 * close() with its data unread would reset the connection under a server
 * still writing, which then never sees the disconnect.  Half-close, then
 * read until it closes its side (a second at most between reads, and a
 * few reads: whatever it still had to say) */
static void
ssh_linger(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char junk[4096];
	ssize_t n = 1;
	int reads;

	if (shutdown(fd, SHUT_WR) < 0)
		return;
	for (reads = 0; reads < 64 && n != 0 && poll(&p, 1, 1000) > 0; reads++)
		if ((n = read(fd, junk, sizeof(junk))) < 0 && errno != EINTR && errno != EAGAIN)
			break;
}

void
ssh_close(struct ssh_conn *c)
{
	int bye = 0;

	if (!c)
		return;
	pump_stop(c);
	if (c->s) {
		ssh_block(c);
		if (c->sftp)
			libssh2_sftp_shutdown(c->sftp);
		if (!c->broken)
			bye = libssh2_session_disconnect(c->s, "bye") == 0;
		libssh2_session_free(c->s);
	}
	if (bye && c->fd >= 0)
		ssh_linger(c->fd);
	if (c->fd >= 0)
		close(c->fd);
	bastion_put(c->bastion);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->xfer);
	pthread_cond_destroy(&c->round);
	free(c->label);
	free(c->where);
	free(c->guard);
	free(c->id);
	free(c->home);
	free(c->glibc);
	buf_release(&c->pkgs);
	free(c);
}

/* put the key types known_hosts has for this host first, so that the
 * server shows a key we can check rather than another of its keys */
static void
ssh_prefer_known(struct ssh_conn *c, const char *const *files, size_t n, const char *name)
{
	char *known = hostkey_known_types(files, n, name), *save = NULL, *t;
	const char **algs;
	struct buf pref;
	int nalgs, i;

	if (!known)
		return;
	buf_init(&pref, 0);
	for (t = strtok_r(known, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (pref.len)
			buf_addch(&pref, ',');
		buf_addstr(&pref, !strcmp(t, "ssh-rsa") ? "rsa-sha2-512,rsa-sha2-256,ssh-rsa" : t);
	}
	nalgs = libssh2_session_supported_algs(c->s, LIBSSH2_METHOD_HOSTKEY, &algs);
	for (i = 0; i < nalgs; i++) {
		const char *p = strstr(pref.data, algs[i]);
		size_t len = strlen(algs[i]);

		if (p && (p == pref.data || p[-1] == ',') && (!p[len] || p[len] == ','))
			continue;
		buf_printf(&pref, ",%s", algs[i]);
	}
	if (nalgs > 0)
		libssh2_free(c->s, (void *)algs);
	libssh2_session_method_pref(c->s, LIBSSH2_METHOD_HOSTKEY, pref.data);
	buf_release(&pref);
	free(known);
}

/* 0 if the server's key is known or newly trusted, else -1 */
static int
ssh_check_hostkey(struct ssh_conn *c, const struct ssh_opts *o, const char *name,
                  const char *const *files, size_t nfiles)
{
	const char *key;
	size_t len;
	int type, v;
	char fp[60], ktype[64], *where = NULL;

	key = libssh2_session_hostkey(c->s, &len, &type);
	if (!key)
		return ssh_fail(c, "no host key");
	hostkey_type((const unsigned char *)key, len, ktype, sizeof(ktype));
	hostkey_fingerprint((const unsigned char *)key, len, fp);
	v = hostkey_check(files, nfiles, name, (const unsigned char *)key, len, &where);
	if (v < 0)
		return -1;
	if (v == HOSTKEY_KNOWN)
		return 0;
	if (v == HOSTKEY_CHANGED) {
		error("%s (%s) shows a %s key %s that differs from the one '%s' "
		      "records for it: if the host's key really changed, delete that line; "
		      "otherwise someone may be intercepting the connection",
		      c->label, name, ktype, fp, where);
		free(where);
		return -1;
	}
	if (!o->trust_new || !o->known_hosts)
		return error("%s (%s) is not a known host: its %s key is %s; if that is "
		             "its key, trust it with SshHost(..., trust_new_host=True) or "
		             "'hydro run --trust-new-hosts', which record it in '%s'",
		             c->label, name, ktype, fp,
		             o->known_hosts ? o->known_hosts : ".hydro/known_hosts");
	if (hostkey_record(o->known_hosts, name, (const unsigned char *)key, len) < 0)
		return -1;
	note("%s (%s): trusted its new %s key %s, recorded in '%s'", c->label, name,
	     ktype, fp, o->known_hosts);
	return 0;
}

/* try one private key file; 1 accepted, 0 refused */
static int
ssh_try_key(struct ssh_conn *c, const char *user, const char *path)
{
	int rc;

	AGAIN(c, rc, libssh2_userauth_publickey_fromfile_ex(c->s, user,
	              (unsigned)strlen(user), NULL, path, NULL));
	return rc == 0;
}

/* try the agent's keys; 1 accepted, 0 none, -1 no agent */
static int
ssh_try_agent(struct ssh_conn *c, const char *user, int *nkeys)
{
	LIBSSH2_AGENT *agent;
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	int rc, ok = 0;

	*nkeys = 0;
	if (!getenv("SSH_AUTH_SOCK"))
		return -1;
	agent = libssh2_agent_init(c->s);
	if (!agent)
		return -1;
	if (libssh2_agent_connect(agent) || libssh2_agent_list_identities(agent)) {
		libssh2_agent_free(agent);
		return -1;
	}
	while (!ok && libssh2_agent_get_identity(agent, &id, prev) == 0) {
		(*nkeys)++;
		AGAIN(c, rc, libssh2_agent_userauth(agent, user, id));
		ok = rc == 0;
		prev = id;
		if (c->broken)
			break;
	}
	libssh2_agent_disconnect(agent);
	libssh2_agent_free(agent);
	return ok;
}

/* log in as user: key= alone, else the config's keys, the default keys,
 * then the agent */
static int
ssh_auth(struct ssh_conn *c, const struct ssh_opts *o, const struct ssh_dest *d,
         const char *user)
{
	static const char *const defaults[] = { "id_ed25519", "id_ecdsa", "id_rsa" };
	const char *home = getenv("HOME");
	struct buf tried;
	char *list;
	size_t i;
	int rc, nkeys;

	AGAIN_P(c, list, libssh2_userauth_list(c->s, user, (unsigned)strlen(user)));
	if (libssh2_userauth_authenticated(c->s))
		return 0;
	if (!list)
		return ssh_fail(c, "cannot start logging in");
	buf_init(&tried, 0);
	if (o->key) {
		if (!path_exists(o->key)) {
			buf_release(&tried);
			return error("%s: key file '%s' does not exist", c->label, o->key);
		}
		if (ssh_try_key(c, user, o->key))
			goto ok;
		buf_printf(&tried, "'%s'", o->key);
		goto fail;
	}
	for (i = 0; i < d->nidentity + 3; i++) {
		char *path = i < d->nidentity ? xstrdup(d->identity[i]) :
		             xasprintf("%s/.ssh/%s", home ? home : "", defaults[i - d->nidentity]);

		if (path_exists(path)) {
			if (ssh_try_key(c, user, path)) {
				free(path);
				goto ok;
			}
			buf_printf(&tried, "%s'%s'", tried.len ? ", " : "", path);
		}
		free(path);
		if (c->broken)
			goto fail;
	}
	rc = ssh_try_agent(c, user, &nkeys);
	if (rc == 1)
		goto ok;
	if (rc == 0)
		buf_printf(&tried, "%sthe agent's %d key%s", tried.len ? ", " : "", nkeys,
		           nkeys == 1 ? "" : "s");
fail:
	if (!c->broken)
		error("%s (%s): cannot log in as '%s': no key was accepted (tried %s); "
		      "name one with key=, or add it to ssh-agent", c->label, c->where, user,
		      tried.len ? tried.data : "none: no key= given, none in ~/.ssh, no agent");
	else
		ssh_fail(c, "cannot log in");
	buf_release(&tried);
	return -1;
ok:
	buf_release(&tried);
	return 0;
}

static struct ssh_conn *ssh_open_depth(const struct ssh_opts *o, const char *jump_override,
                                       int depth);

/* "[user@]host[:port]" of the last hop of a ProxyJump list, and the rest */
static void
jump_split(const char *spec, char **user, char **host, int *port, char **rest)
{
	const char *last = strrchr(spec, ',');
	char *hop = xstrdup(last ? last + 1 : spec), *at, *colon;

	*rest = last ? xstrndup(spec, (size_t)(last - spec)) : NULL;
	*user = NULL;
	*port = 0;
	at = strrchr(hop, '@');
	if (at) {
		*at = '\0';
		*user = xstrdup(hop);
		memmove(hop, at + 1, strlen(at + 1) + 1);
	}
	colon = strrchr(hop, ':');
	if (colon && !strchr(hop, ']')) {
		*colon = '\0';
		*port = atoi(colon + 1);
	}
	*host = hop;
}

/*
 * Bastions are shared: the hosts behind one (the same user, address, port,
 * hops before it and known_hosts) use one connection to it, counted by
 * refs, opened by the first and closed with the last.  The lock is held
 * while a bastion is opened, so that a second host waits for the first's
 * connection rather than making its own; it is recursive, since a
 * bastion's own bastion is opened under it.
 */
static pthread_mutex_t bastions_lock;
static pthread_once_t bastions_once = PTHREAD_ONCE_INIT;
static struct ssh_conn **bastions;
static size_t nbastions;

static void
bastions_init(void)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&bastions_lock, &a);
	pthread_mutexattr_destroy(&a);
}

/* the shared connection to the bastion bo names, opened if needed */
static struct ssh_conn *
bastion_get(const struct ssh_opts *bo, const char *rest, int depth)
{
	char *id = xasprintf("%s@%s:%d/%s/%s", bo->user ? bo->user : "", bo->host, bo->port,
	                     rest ? rest : "", bo->known_hosts ? bo->known_hosts : "");
	struct ssh_conn *b = NULL;
	size_t i;

	pthread_once(&bastions_once, bastions_init);
	pthread_mutex_lock(&bastions_lock);
	for (i = 0; i < nbastions && !b; i++)
		if (!strcmp(bastions[i]->id, id) && !bastions[i]->broken)
			b = bastions[i];
	if (b) {
		b->refs++;
		free(id);
	} else if ((b = ssh_open_depth(bo, rest ? rest : "none", depth + 1))) {
		b->id = id;
		b->refs = 1;
		bastions = xrealloc(bastions, (nbastions + 1) * sizeof(*bastions));
		bastions[nbastions++] = b;
	} else {
		free(id);
	}
	pthread_mutex_unlock(&bastions_lock);
	return b;
}

/* let go of a bastion; the last host behind it closes it */
static void
bastion_put(struct ssh_conn *b)
{
	size_t i;
	int last = 0;

	if (!b)
		return;
	pthread_mutex_lock(&bastions_lock);
	if (--b->refs == 0) {
		last = 1;
		for (i = 0; i < nbastions; i++)
			if (bastions[i] == b)
				bastions[i] = bastions[--nbastions];
	}
	pthread_mutex_unlock(&bastions_lock);
	if (last)
		ssh_close(b);
}

/* a socket carried through the bastion to host:port: a direct-tcpip
 * channel the bastion's pump joins to one end of a socketpair */
static int
ssh_via_bastion(struct ssh_conn *c, const struct ssh_opts *o, const char *spec,
                const char *host, int port, int depth)
{
	struct ssh_opts bo = *o;
	LIBSSH2_CHANNEL *ch;
	struct ssh_conn *b;
	char *user, *bhost, *rest;
	int bport, sv[2];

	jump_split(spec, &user, &bhost, &bport, &rest);
	bo.host = bhost;
	bo.user = user;
	bo.port = bport;
	bo.key = NULL;
	bo.label = xasprintf("bastion '%s' of %s", bhost, c->label);
	b = c->bastion = bastion_get(&bo, rest, depth);
	free((char *)bo.label);
	free(user);
	free(bhost);
	free(rest);
	if (!b)
		return -1;
	ssh_lock(b);
	if (pump_start(b) < 0) {
		ssh_unlock(b);
		return -1;
	}
	AGAIN_P(b, ch, libssh2_channel_direct_tcpip_ex(b->s, host, port, "127.0.0.1", 22));
	if (!ch) {
		if (!b->broken)
			ssh_fail(b, "cannot open a channel through it");
		ssh_unlock(b);
		return -1;
	}
	c->tunnelled = 1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		error_errno("socketpair");
		ssh_channel_drop(b, ch);
		ssh_unlock(b);
		return -1;
	}
	pump_stream(b, ch, sv[1], NULL, NULL);
	ssh_unlock(b);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	return sv[0];
}

/* one attempt: connect, handshake, check the key, log in; *hopeless set when
 * another attempt would fail the same way */
static struct ssh_conn *
ssh_attempt(const struct ssh_opts *o, const struct ssh_dest *d, const char *jump,
            int depth, int *hopeless)
{
	struct ssh_conn *c = xcalloc(1, sizeof(*c));
	const char *files[3];
	const char *user = o->user ? o->user : d->user ? d->user : getenv("USER");
	int port = o->port ? o->port : d->port ? d->port : 22, rc;
	char *name = hostkey_name(d->hostname, port), *home_known, login[256];

	*hopeless = 0;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->xfer, NULL);
	pthread_cond_init(&c->round, NULL);
	c->fd = -1;
	c->label = xstrdup(o->label ? o->label : o->host);
	c->where = xasprintf(strchr(d->hostname, ':') ? "[%s]:%d" : "%s:%d", d->hostname, port);
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
	if (!user) {
		struct passwd pw, *found = NULL;
		char pwbuf[1024];

		getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &found);
		snprintf(login, sizeof(login), "%s", found ? found->pw_name : "root");
		user = login;
	}
	if (jump)
		c->fd = ssh_via_bastion(c, o, jump, d->hostname, port, depth);
	else
		c->fd = tcp_connect(c, d->hostname, port);
	if (c->fd < 0) {
		*hopeless = c->bastion && !c->tunnelled;
		goto fail;
	}
	c->s = libssh2_session_init();
	if (!c->s)
		fatal("out of memory");
	libssh2_session_set_blocking(c->s, 0);
	*libssh2_session_abstract(c->s) = c;
	{
		LIBSSH2_RECV_FUNC((*recv_fn)) = conn_recv;
		void *cb;

		memcpy(&cb, &recv_fn, sizeof(cb));
		libssh2_session_callback_set(c->s, LIBSSH2_CALLBACK_RECV, cb);
	}
	/* sent by the pump while it runs, asking for no reply (probe): TCP
	 * gives up on one unacknowledged (tcp_alive) */
	libssh2_keepalive_config(c->s, 0, (unsigned)alive_interval());
	if (o->compress)
		libssh2_session_flag(c->s, LIBSSH2_FLAG_COMPRESS, 1);
	home_known = xasprintf("%s/.ssh/known_hosts", getenv("HOME") ? getenv("HOME") : "");
	files[0] = home_known;
	files[1] = "/etc/ssh/ssh_known_hosts";
	files[2] = o->known_hosts;
	ssh_prefer_known(c, files, 3, name);
	AGAIN(c, rc, libssh2_session_handshake(c->s, c->fd));
	if (rc) {
		if (!c->broken)
			ssh_fail(c, "handshake failed");
		free(home_known);
		goto fail;
	}
	rc = ssh_check_hostkey(c, o, name, files, 3);
	free(home_known);
	if (rc < 0) {
		*hopeless = 1;
		goto fail;
	}
	if (ssh_auth(c, o, d, user) < 0) {
		*hopeless = !c->broken;
		goto fail;
	}
	c->up = 1;
	free(name);
	return c;
fail:
	free(name);
	c->broken = 1;
	ssh_close(c);
	return NULL;
}

static struct ssh_conn *
ssh_open_depth(const struct ssh_opts *o, const char *jump_override, int depth)
{
	struct ssh_dest d;
	struct ssh_conn *c = NULL;
	const char *jump;
	char *home = getenv("HOME"), *config;
	int attempt, attempts = o->attempts > 0 ? o->attempts : 1, hopeless = 0;
	double backoff = 0.25;
	struct ssh_quiet q;

	pthread_once(&ssh_once, ssh_init_once);
	if (depth > 8)
		return error("%s: more than 8 ProxyJump hops; is there a loop in ~/.ssh/config?",
		             o->label ? o->label : o->host), NULL;
	config = xasprintf("%s/.ssh/config", home ? home : "");
	if (ssh_config_resolve(config, o->host, o->user, &d) < 0) {
		free(config);
		return NULL;
	}
	free(config);
	jump = jump_override ? (strcmp(jump_override, "none") ? jump_override : NULL) :
	       d.proxyjump;
	/* the last attempt's error is the one reported */
	ssh_quiet_begin(&q);
	for (attempt = 1; !c && !hopeless && attempt <= attempts; attempt++) {
		if (attempt > 1) {
			struct timespec ts = { (time_t)backoff,
			                       (long)((backoff - (time_t)backoff) * 1e9) };

			nanosleep(&ts, NULL);
			backoff *= 2;
		}
		c = ssh_attempt(o, &d, jump, depth, &hopeless);
	}
	ssh_quiet_end(&q);
	if (!c && (hopeless || attempts == 1))
		error("%s", error_last());
	else if (!c)
		error("%s (gave up after %d attempts)", error_last(), attempts);
	ssh_dest_release(&d);
	return c;
}

struct ssh_conn *
ssh_open(const struct ssh_opts *o)
{
	return ssh_open_depth(o, NULL, 0);
}

int
ssh_broken(const struct ssh_conn *c)
{
	return c->broken;
}

void
ssh_command_line(struct buf *out, char *const argv[])
{
	size_t i;

	for (i = 0; argv[i]; i++) {
		if (i)
			buf_addch(out, ' ');
		str_shell_quote(out, argv[i]);
	}
}

/* the exit status as a shell gives it: the code, or 128+n for signal n */
int
ssh_exit_status(struct ssh_conn *c, LIBSSH2_CHANNEL *ch)
{
	static const struct { const char *name; int sig; } sigs[] = {
		{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
		{ "ILL", SIGILL }, { "ABRT", SIGABRT }, { "FPE", SIGFPE },
		{ "KILL", SIGKILL }, { "SEGV", SIGSEGV }, { "PIPE", SIGPIPE },
		{ "ALRM", SIGALRM }, { "TERM", SIGTERM }, { "USR1", SIGUSR1 },
		{ "USR2", SIGUSR2 },
	};
	char *name = NULL;
	size_t len = 0, i;
	int status = libssh2_channel_get_exit_status(ch);

	if (libssh2_channel_get_exit_signal(ch, &name, &len, NULL, NULL, NULL, NULL) == 0 &&
	    name) {
		status = 128 + SIGTERM;
		for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			if (strlen(sigs[i].name) == len && !memcmp(sigs[i].name, name, len))
				status = 128 + sigs[i].sig;
		libssh2_free(c->s, name);
	}
	return status;
}

static int
ssh_run_locked(struct ssh_conn *c, char *const argv[], const char *input, size_t len,
               ssh_sink *sink, void *arg, int *status)
{
	LIBSSH2_CHANNEL *ch;
	struct buf cmd;
	char data[32768];
	size_t off = 0;
	ssize_t n;
	int rc, open[2] = { 1, 1 }, ret = -1, i;

	AGAIN_P(c, ch, libssh2_channel_open_session(c->s));
	if (!ch)
		return c->broken ? -1 : ssh_fail(c, "cannot open a channel");
	buf_init(&cmd, 0);
	ssh_command_line(&cmd, argv);
	AGAIN_T(c, rc, libssh2_channel_exec(ch, cmd.data));
	if (rc) {
		if (!c->broken)
			ssh_fail(c, "cannot run a command");
		goto out;
	}
	while (off < len) {
		AGAIN_T(c, n, libssh2_channel_write(ch, input + off, len - off));
		if (n < 0)
			goto write_failed;
		off += (size_t)n;
		ssh_yield(c);
	}
	AGAIN_T(c, rc, libssh2_channel_send_eof(ch));
	if (rc)
		goto write_failed;
	while (open[0] || open[1]) {
		int moved = 0;

		for (i = 0; i < 2; i++) {
			if (!open[i])
				continue;
			n = libssh2_channel_read_ex(ch, i, data, sizeof(data));
			if (n > 0) {
				moved = 1;
				if (sink && sink(arg, i + 1, data, (size_t)n) < 0)
					goto out;
			} else if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
				ssh_fail(c, "cannot read a command's output");
				goto out;
			} else if (libssh2_channel_eof(ch)) {
				open[i] = 0;
			}
		}
		if (!moved && (open[0] || open[1]) && ssh_wait_turn(c) < 0)
			goto out;
		if (moved)
			ssh_yield(c);
	}
	AGAIN_T(c, rc, libssh2_channel_close(ch));
	if (!rc)
		AGAIN_T(c, rc, libssh2_channel_wait_closed(ch));
	if (rc) {
		if (!c->broken)
			ssh_fail(c, "cannot close a channel");
		goto out;
	}
	*status = ssh_exit_status(c, ch);
	ret = 0;
	goto out;
write_failed:
	if (!c->broken)
		ssh_fail(c, "cannot write a command's input");
out:
	buf_release(&cmd);
	libssh2_channel_free(ch);
	return ret;
}

int
ssh_run(struct ssh_conn *c, char *const argv[], const char *input, size_t len,
        ssh_sink *sink, void *arg, int *status)
{
	int rc;

	ssh_lock(c);
	rc = ssh_run_locked(c, argv, input, len, sink, arg, status);
	ssh_unlock(c);
	return rc;
}

static int
capture_sink(void *arg, int stream, const char *data, size_t n)
{
	struct ssh_capture *cap = arg;

	buf_add(stream == 1 ? &cap->out : &cap->err, data, n);
	return 0;
}

/* run a command whose stdout is wanted; -1 unless it exits 0 */
static int
ssh_capture_locked(struct ssh_conn *c, char *const argv[], const char *input, size_t len,
                   struct ssh_capture *cap)
{
	int status;

	buf_init(&cap->out, 1 << 24);
	buf_init(&cap->err, 1 << 16);
	if (ssh_run_locked(c, argv, input, len, capture_sink, cap, &status) < 0)
		return -1;
	cap->status = status;
	if (status != 0 && !cap->any_status)
		return error("%s (%s): '%s' failed with status %d: %s", c->label, c->where,
		             argv[0], status, str_trim(cap->err.data ? cap->err.data : ""));
	return 0;
}

int
ssh_capture(struct ssh_conn *c, char *const argv[], const char *input, size_t len,
            struct ssh_capture *cap)
{
	int rc;

	ssh_lock(c);
	rc = ssh_capture_locked(c, argv, input, len, cap);
	ssh_unlock(c);
	return rc;
}

void
ssh_capture_release(struct ssh_capture *cap)
{
	buf_release(&cap->out);
	buf_release(&cap->err);
}

int
ssh_probe(struct ssh_conn *c, const char *addr, int port)
{
	LIBSSH2_CHANNEL *ch;
	char *msg = NULL;
	int ret = 1;

	ssh_lock(c);
	AGAIN_P(c, ch, libssh2_channel_direct_tcpip_ex(c->s, addr, port, "127.0.0.1", 22));
	if (!ch && !c->broken) {
		libssh2_session_last_error(c->s, &msg, NULL, 0);
		if (msg && strstr(msg, "prohibited"))
			ret = error("%s (%s) refuses to connect to %s:%d for hydro: its sshd "
			            "forbids TCP forwarding; set 'AllowTcpForwarding yes' in its "
			            "sshd_config", c->label, c->where, addr, port);
		else
			ret = 0;
	} else if (!ch) {
		ret = -1;
	} else {
		int rc;

		AGAIN(c, rc, libssh2_channel_close(ch));
		ssh_channel_drop(c, ch);
	}
	ssh_unlock(c);
	return ret;
}

char *
ssh_dest_id(const struct ssh_opts *o)
{
	struct ssh_dest d;
	const char *home = getenv("HOME");
	char *config = xasprintf("%s/.ssh/config", home ? home : ""), *id, login[256];
	const char *user;
	struct passwd pw, *found = NULL;
	char pwbuf[1024];

	if (ssh_config_resolve(config, o->host, o->user, &d) < 0) {
		free(config);
		return NULL;
	}
	free(config);
	user = o->user ? o->user : d.user ? d.user : getenv("USER");
	if (!user) {
		getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &found);
		snprintf(login, sizeof(login), "%s", found ? found->pw_name : "root");
		user = login;
	}
	id = xasprintf("%s@%s:%d", user, d.hostname, o->port ? o->port : d.port ? d.port : 22);
	ssh_dest_release(&d);
	return id;
}

static int package_listed(struct ssh_conn *c, const char *hex);

static int
ssh_sftp(struct ssh_conn *c)
{
	if (c->sftp)
		return 0;
	AGAIN_P(c, c->sftp, libssh2_sftp_init(c->s));
	if (!c->sftp)
		return c->broken ? -1 : ssh_fail(c, "cannot start SFTP (is the sftp subsystem "
		                                    "enabled in its sshd_config?)");
	return 0;
}

/* 1 if path exists on the host, 0 if not, -1 on error */
static int
sftp_exists(struct ssh_conn *c, const char *path)
{
	LIBSSH2_SFTP_ATTRIBUTES st;
	int rc;

	AGAIN(c, rc, libssh2_sftp_stat_ex(c->sftp, path, (unsigned)strlen(path),
	                                  LIBSSH2_SFTP_STAT, &st));
	if (rc == 0)
		return 1;
	if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL &&
	    (libssh2_sftp_last_error(c->sftp) == LIBSSH2_FX_NO_SUCH_FILE ||
	     libssh2_sftp_last_error(c->sftp) == LIBSSH2_FX_NO_SUCH_PATH))
		return 0;
	return c->broken ? -1 : ssh_fail(c, "cannot look for a file");
}

static void
sftp_remove(struct ssh_conn *c, const char *path)
{
	int rc;

	if (!c->broken)
		AGAIN(c, rc, libssh2_sftp_unlink_ex(c->sftp, path, (unsigned)strlen(path)));
}

/* copy local into the open handle */
static int
sftp_send(struct ssh_conn *c, LIBSSH2_SFTP_HANDLE *fh, const char *local)
{
	static const size_t chunk = 256 * 1024;
	char *data = xmalloc(chunk);
	int fd = open(local, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0) {
		free(data);
		return error_errno("cannot open '%s'", local);
	}
	for (;;) {
		ssize_t n = read(fd, data, chunk), w;
		size_t off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = error_errno("cannot read '%s'", local);
			break;
		}
		if (n == 0)
			break;
		while (off < (size_t)n) {
			AGAIN_T(c, w, libssh2_sftp_write(fh, data + off, (size_t)n - off));
			if (w < 0)
				break;
			off += (size_t)w;
			ssh_yield(c);
		}
		if (off < (size_t)n) {
			ret = c->broken ? -1 : ssh_fail(c, "cannot write");
			break;
		}
	}
	close(fd);
	free(data);
	return ret;
}

static int
ssh_upload_locked(struct ssh_conn *c, const char *local, const struct hash *hash,
                  char **remote)
{
	static unsigned seq;
	LIBSSH2_SFTP_HANDLE *fh;
	struct ssh_capture cap = { 0 };
	char hex[HASH_HEX_LEN], *final, *tmp, *sum[6];
	int rc, ret = -1;

	hash_hex(hash, hex);
	/* SFTP paths are relative to the login's home */
	final = xasprintf(".hydro/pkgs/%s", hex);
	tmp = xasprintf(".hydro/pkgs/%s.tmp-%ld-%u", hex, (long)getpid(),
	                __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
	if (remote)
		*remote = xasprintf("~/%s", final);
	/* the host listed it when the connection read its facts */
	if (package_listed(c, hex)) {
		ret = 0;
		goto out;
	}
	if (ssh_sftp(c) < 0 || (rc = sftp_exists(c, final)) < 0)
		goto out;
	if (rc == 1) {
		ret = 0;
		goto out;
	}
	AGAIN(c, rc, libssh2_sftp_mkdir_ex(c->sftp, ".hydro", 6, 0755));
	AGAIN(c, rc, libssh2_sftp_mkdir_ex(c->sftp, ".hydro/pkgs", 11, 0755));
	if (c->broken)
		goto out;
	AGAIN_P(c, fh, libssh2_sftp_open_ex(c->sftp, tmp, (unsigned)strlen(tmp),
	                                     LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT |
	                                     LIBSSH2_FXF_TRUNC, 0644, LIBSSH2_SFTP_OPENFILE));
	if (!fh) {
		if (!c->broken)
			ssh_fail(c, "cannot create '~/.hydro/pkgs/' files");
		goto out;
	}
	rc = sftp_send(c, fh, local);
	{
		int crc;

		if (c->broken)
			crc = libssh2_sftp_close_handle(fh);
		else
			AGAIN(c, crc, libssh2_sftp_close_handle(fh));
		if (crc && !rc && !c->broken)
			rc = ssh_fail(c, "cannot finish writing");
		else if (crc)
			rc = -1;
	}
	if (rc < 0)
		goto remove;
	/* what arrived is what was meant, or it never gets its name */
	sum[0] = "sh";
	sum[1] = "-c";
	sum[2] = "openssl dgst -sha256 -r \"$1\" 2>/dev/null || "
	         "sha256sum -b -- \"$1\" 2>/dev/null || shasum -a 256 -b -- \"$1\"";
	sum[3] = "sh";
	sum[4] = tmp;
	sum[5] = NULL;
	if (ssh_capture_locked(c, sum, NULL, 0, &cap) < 0) {
		ssh_capture_release(&cap);
		goto remove;
	}
	rc = cap.out.len >= 64 && !strncmp(cap.out.data, hex, 64);
	if (!rc)
		error("%s (%s): the upload of '%s' arrived damaged: its sha256 there is %.64s, "
		      "expected %s", c->label, c->where, local, cap.out.len >= 64 ?
		      cap.out.data : "unknown", hex);
	buf_release(&cap.out);
	buf_release(&cap.err);
	if (!rc)
		goto remove;
	AGAIN(c, rc, libssh2_sftp_rename_ex(c->sftp, tmp, (unsigned)strlen(tmp), final,
	                                    (unsigned)strlen(final),
	                                    LIBSSH2_SFTP_RENAME_OVERWRITE |
	                                    LIBSSH2_SFTP_RENAME_ATOMIC |
	                                    LIBSSH2_SFTP_RENAME_NATIVE));
	if (rc && !c->broken && sftp_exists(c, final) == 1) {
		/* another upload of the same package got there first */
		sftp_remove(c, tmp);
		ret = 0;
		goto out;
	}
	if (rc) {
		if (!c->broken)
			ssh_fail(c, "cannot rename an upload");
		goto remove;
	}
	if (c->home)
		buf_printf(&c->pkgs, "%s%s\n", c->pkgs.len ? "" : "\n", hex);
	ret = 1;
	goto out;
remove:
	sftp_remove(c, tmp);
out:
	free(final);
	free(tmp);
	if (ret < 0 && remote) {
		free(*remote);
		*remote = NULL;
	}
	return ret;
}

int
ssh_upload(struct ssh_conn *c, const char *local, const struct hash *hash, char **remote)
{
	int rc;

	pthread_mutex_lock(&c->xfer);
	ssh_lock(c);
	rc = ssh_upload_locked(c, local, hash, remote);
	ssh_unlock(c);
	pthread_mutex_unlock(&c->xfer);
	return rc;
}

/* "x86_64-unknown-linux-gnu" from "Linux x86_64" and whether musl is there */
static int
triple_of(struct ssh_conn *c, const char *uname, int musl)
{
	char os[32], arch[32];

	if (sscanf(uname, "%31s %31s", os, arch) != 2)
		return error("%s (%s): cannot read 'uname -sm': '%s'", c->label, c->where, uname);
	if (!strcmp(arch, "arm64"))
		snprintf(arch, sizeof(arch), "aarch64");
	if (!strcmp(arch, "amd64"))
		snprintf(arch, sizeof(arch), "x86_64");
	if (!strcmp(os, "Linux"))
		snprintf(c->triple, sizeof(c->triple), "%s-unknown-linux-%s", arch,
		         musl ? "musl" : "gnu");
	else if (!strcmp(os, "Darwin"))
		snprintf(c->triple, sizeof(c->triple), "%s-apple-darwin", arch);
	else if (!strcmp(os, "FreeBSD"))
		snprintf(c->triple, sizeof(c->triple), "%s-unknown-freebsd", arch);
	else
		return error("%s (%s): unsupported system '%s'; give the host's triple= "
		             "explicitly", c->label, c->where, os);
	return 0;
}

void
ssh_channel_drop(struct ssh_conn *c, LIBSSH2_CHANNEL *ch)
{
	ssh_block(c);
	libssh2_channel_free(ch);
	libssh2_session_set_blocking(c->s, 0);
}

LIBSSH2_CHANNEL *
ssh_exec_channel(struct ssh_conn *c, char *const argv[])
{
	LIBSSH2_CHANNEL *ch;
	struct buf cmd = BUF_INIT;
	int rc;

	AGAIN_P(c, ch, libssh2_channel_open_session(c->s));
	if (!ch) {
		if (!c->broken)
			ssh_fail(c, "cannot open a channel");
		return NULL;
	}
	ssh_command_line(&cmd, argv);
	AGAIN(c, rc, libssh2_channel_exec(ch, cmd.data));
	buf_release(&cmd);
	if (rc) {
		if (!c->broken)
			ssh_fail(c, "cannot run a command");
		ssh_channel_drop(c, ch);
		return NULL;
	}
	return ch;
}

/* start argv on a new channel (c locked), its stdin left open, and read
 * its stdout into out until it ends with mark (taken off); the channel,
 * still running, or NULL with the error */
static LIBSSH2_CHANNEL *
run_until(struct ssh_conn *c, char *const argv[], const char *mark, struct buf *out)
{
	LIBSSH2_CHANNEL *ch = ssh_exec_channel(c, argv);
	char data[4096];
	size_t mlen = strlen(mark);
	ssize_t n;

	if (!ch)
		return NULL;
	for (;;) {
		if (out->len >= mlen && !memcmp(out->data + out->len - mlen, mark, mlen)) {
			out->len -= mlen;
			out->data[out->len] = '\0';
			return ch;
		}
		n = libssh2_channel_read(ch, data, sizeof(data));
		if (n > 0) {
			buf_add(out, data, (size_t)n);
		} else if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
			ssh_fail(c, "cannot read a command's output");
			break;
		} else if (libssh2_channel_eof(ch)) {
			error("%s (%s): its shell ended before it said what it is: '%s'",
			      c->label, c->where, out->data ? out->data : "");
			break;
		} else if (ssh_wait_turn(c) < 0) {
			break;
		}
	}
	ssh_channel_drop(c, ch);
	return NULL;
}

/* the line that ends the facts: what follows is the guard's */
#define FACTS_END "hydro-facts-end"

/* what the host says of itself: $HOME, uname -sm, what getconf says of
 * its glibc, a musl loader if any, then the packages in ~/.hydro/pkgs
 * (their names, one a line: a file gets its name only once verified), so
 * that an upload of one there needs no SFTP session to find it; globs and
 * builtins but for uname and getconf */
#define FACTS_SCRIPT \
	"printf '%s\\n' \"$HOME\" \"$(uname -sm)\" \"$(getconf GNU_LIBC_VERSION 2>/dev/null)\"\n" \
	"m=; for f in /lib/ld-musl-*; do [ -e \"$f\" ] && m=$f; done\n" \
	"printf '%s\\n' \"$m\"\n" \
	"for f in \"$HOME\"/.hydro/pkgs/*; do\n" \
	"	case ${f##*/} in *.*) ;; *) [ -f \"$f\" ] && printf '%s\\n' \"${f##*/}\" ;; esac\n" \
	"done\n"

/* the host's facts, read once (with c locked) by a command that then
 * stays as the connection's guard (ssh_proc.c), and prunes once the guard
 * is done (ssh_prune.c): one shell for all three */
static int
facts_locked(struct ssh_conn *c)
{
	static const char mark[] = FACTS_END "\n";
	char silence[16], *folder = ssh_guard_folder();
	char prune[4][16];
	char *argv[] = { "sh", "-c", NULL, "sh", folder, silence, prune[0], prune[1],
	                 prune[2], prune[3], NULL };
	struct buf out = BUF_INIT, script = BUF_INIT;
	LIBSSH2_CHANNEL *ch;
	char *line[4], *p;
	int i, ret = -1;

	if (c->home) {
		free(folder);
		return 0;
	}
	ssh_guard_silence(silence);
	ssh_prune_args(prune);
	/* a connection has one guard: with one running already, the facts
	 * alone (that shell is dropped once read, and prunes nothing) */
	if (!c->guard)
		buf_addstr(&script, ssh_prune_mark);
	buf_addstr(&script, FACTS_SCRIPT "printf '" FACTS_END "\\n'\n");
	if (!c->guard) {
		buf_addstr(&script, ssh_guard_script);
		buf_addstr(&script, ssh_prune_script);
	}
	argv[2] = script.data;
	ch = run_until(c, argv, mark, &out);
	buf_release(&script);
	if (!ch) {
		free(folder);
		goto out;
	}
	if (c->guard) {
		free(folder);
		folder = NULL;
	}
	for (i = 0, p = out.data; i < 4 && p; i++) {
		line[i] = p;
		if ((p = strchr(p, '\n')))
			*p++ = '\0';
	}
	if (i < 4) {
		error("%s (%s): cannot read what it says of itself: '%s'", c->label,
		      c->where, out.data ? out.data : "");
		ssh_channel_drop(c, ch);
		free(folder);
		goto out;
	}
	if (!folder)
		ssh_channel_drop(c, ch);
	else if (ssh_guard_adopt(c, ch, folder) < 0)
		goto out;
	snprintf(c->uname, sizeof(c->uname), "%s", line[1]);
	c->glibc = xstrdup(line[2]);
	c->musl = strstr(line[3], "ld-musl") != NULL;
	/* "\nNAME\nNAME\n": each name found as "\nNAME\n" */
	buf_addch(&c->pkgs, '\n');
	buf_addstr(&c->pkgs, p ? p : "");
	c->home = xstrdup(line[0]);
	ret = 0;
out:
	buf_release(&out);
	return ret;
}

/* whether the facts (c locked) list the package named hex as there */
static int
package_listed(struct ssh_conn *c, const char *hex)
{
	char *name;
	int found;

	if (!c->home || !c->pkgs.data)
		return 0;
	name = xasprintf("\n%s\n", hex);
	found = strstr(c->pkgs.data, name) != NULL;
	free(name);
	return found;
}

const char *
ssh_triple(struct ssh_conn *c)
{
	ssh_lock(c);
	if (!c->triple[0] && facts_locked(c) == 0)
		triple_of(c, c->uname, c->musl);
	ssh_unlock(c);
	return c->triple[0] ? c->triple : NULL;
}

char *
ssh_fact(struct ssh_conn *c, enum ssh_fact which)
{
	char *fact = NULL;

	ssh_lock(c);
	if (facts_locked(c) == 0)
		fact = xstrdup(which == SSH_HOME ? c->home : c->glibc);
	ssh_unlock(c);
	return fact;
}
