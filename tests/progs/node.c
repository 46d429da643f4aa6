/*
 * node: a small program that speaks hydro's port protocol, for tests and
 * benchmarks.
 *
 * The handshake comes on the descriptor named by HYDRO_CONTROL_FD, or on
 * stdin/stdout without one (as Hydro Deploy speaks it).  With --env, there is
 * no handshake: the ports come from HYDRO_PORT_<NAME> (a plain process).
 * Inputs are "in" and "back", outputs "out"; frames are a 4-byte big-endian
 * length and the payload, here a decimal number.
 *
 *   node relay              forward every frame from the inputs to "out"
 *   node source N           send 0..N-1 on "out" (to every receiver)
 *   node sink N [COPIES]    expect each of 0..N-1 COPIES times on "in"
 *   node ring N             send 0..N-1 on "out", expect each back on "in"
 *   node ping N             ping-pong over "out" and "back": print p50/p99 in us
 *   node idle               do nothing until stopped
 *   node lines N            print N lines on stdout, then exit
 *   node hello              print one line, then wait to be killed (no ports)
 *   node echo               answer each frame on "in" to its sender, through
 *                           the "out" connection whose Demux key is the tag of
 *                           the slot it came in on (reply addresses)
 * Options before the mode: --env, --chatter (lines on stdout before ready),
 * --silent-handshake (never answer), --exit-in-handshake CODE, --bad-ready,
 * --no-ack, --ignore-stop, --until-complete (a sink ends at its last frame).
 * A node ends when every input has closed (and it has all it expects), or
 * on "stop".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define MAXFD 256

static int ctl_in = 0, ctl_out = 1;	/* the handshake's channel */
static FILE *ctl;
static char sockdirs[16][100];
static int nsockdirs;
static const char *mode = "relay";
static long count;
static long copies = 1;

struct listener {
	int fd;
	long tag;	/* from a Tagged wrapper, or -1 */
	char port[32];
};
struct conn {
	int fd;
	long tag;
	long frames;
	char port[32];
	unsigned char buf[65536 + 4];
	size_t len;
};
static struct listener listeners[64];
static int nlisteners;
static struct conn *conns[MAXFD];
static int nconns;
static int outs[64];
static long out_keys[64];	/* the Demux key of each output connection, or -1 */
static long bind_tag = -1;	/* the Tagged wrapper being bound */
static long connect_key = -1;	/* the Demux key being connected */
static int nouts;
static int backs[64];	/* ping: none; unused */
static long expect_senders;	/* connections that must close before the end */
static long closed_senders;

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "node: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(2);
}

static void
cleanup(void)
{
	int i;
	char path[sizeof(sockdirs[0]) + 8];

	for (i = 0; i < nsockdirs; i++) {
		snprintf(path, sizeof(path), "%.99s/socket", sockdirs[i]);
		unlink(path);
		rmdir(sockdirs[i]);
	}
}

static void
on_term(int sig)
{
	(void)sig;
	cleanup();
	_exit(143);
}

static char *
read_line(void)
{
	static char *line;
	static size_t cap;
	ssize_t n = getline(&line, &cap, ctl);

	if (n < 0)
		return NULL;
	if (n > 0 && line[n - 1] == '\n')
		line[n - 1] = '\0';
	return line;
}

static void
say(const char *s)
{
	size_t n = strlen(s);

	if (write(ctl_out, s, n) != (ssize_t)n || write(ctl_out, "\n", 1) != 1)
		die("cannot write the handshake%s", "");
}

/* bind one listener; returns the ServerPort */
static cJSON *
bind_leaf(const cJSON *cfg, const char *port)
{
	struct listener *l = &listeners[nlisteners++];
	cJSON *sp = cJSON_CreateObject();
	const cJSON *tcp;
	char addr[128];

	snprintf(l->port, sizeof(l->port), "%s", port);
	l->tag = bind_tag;
	if (cJSON_IsString(cfg) && !strcmp(cfg->valuestring, "UnixSocket")) {
		struct sockaddr_un sun;
		const char *tmp = getenv("TMPDIR");
		char *dir = sockdirs[nsockdirs];

		snprintf(dir, sizeof(sockdirs[0]), "%s/node.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir))
			die("cannot make a socket directory in %s", tmp ? tmp : "/tmp");
		nsockdirs++;
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/socket", dir);
		l->fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (bind(l->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(l->fd, 128) < 0)
			die("cannot bind %s", sun.sun_path);
		cJSON_AddStringToObject(sp, "UnixSocket", sun.sun_path);
		return sp;
	}
	tcp = cJSON_IsObject(cfg) ? cJSON_GetObjectItem(cfg, "TcpPort") : NULL;
	if (tcp) {
		struct sockaddr_in sin;
		socklen_t len = sizeof(sin);
		const char *host = cJSON_IsString(tcp) ? tcp->valuestring :
		                   cJSON_IsArray(tcp) ? cJSON_GetArrayItem(tcp, 0)->valuestring : NULL;
		int one = 1;

		if (!host)
			die("bad TcpPort for %s", port);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		inet_pton(AF_INET, host, &sin.sin_addr);
		l->fd = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(l->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(l->fd, 128) < 0 ||
		    getsockname(l->fd, (struct sockaddr *)&sin, &len) < 0)
			die("cannot bind TCP on %s", host);
		snprintf(addr, sizeof(addr), "%s:%d", host, ntohs(sin.sin_port));
		cJSON_AddStringToObject(sp, "TcpPort", addr);
		return sp;
	}
	die("cannot bind port %s: unknown bind config", port);
	return NULL;
}

/* bind a ServerBindConfig (Null, Merge, Tagged, a leaf); the ServerPort */
static cJSON *
bind_config(const cJSON *cfg, const char *port)
{
	const cJSON *m;
	cJSON *out;

	if (cJSON_IsString(cfg) && !strcmp(cfg->valuestring, "Null"))
		return cJSON_CreateString("Null");
	if (cJSON_IsObject(cfg) && (m = cJSON_GetObjectItem(cfg, "Merge"))) {
		const cJSON *slot;
		cJSON *a;
		out = cJSON_CreateObject();
		a = cJSON_AddArrayToObject(out, "Merge");
		cJSON_ArrayForEach(slot, m)
			cJSON_AddItemToArray(a, bind_config(slot, port));
		return out;
	}
	if (cJSON_IsObject(cfg) && (m = cJSON_GetObjectItem(cfg, "Tagged"))) {
		cJSON *a;
		out = cJSON_CreateObject();
		a = cJSON_AddArrayToObject(out, "Tagged");
		bind_tag = (long)cJSON_GetArrayItem(m, 1)->valuedouble;
		cJSON_AddItemToArray(a, bind_config(cJSON_GetArrayItem(m, 0), port));
		bind_tag = -1;
		cJSON_AddItemToArray(a, cJSON_Duplicate(cJSON_GetArrayItem(m, 1), 1));
		return out;
	}
	return bind_leaf(cfg, port);
}

static int
connect_addr(const char *addr)
{
	int fd = -1, tries, one = 1;

	for (tries = 0; tries < 50; tries++) {
		if (!strncmp(addr, "unix:", 5) || addr[0] == '/') {
			struct sockaddr_un sun;
			memset(&sun, 0, sizeof(sun));
			sun.sun_family = AF_UNIX;
			snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
			         addr[0] == '/' ? addr : addr + 5);
			fd = socket(AF_UNIX, SOCK_STREAM, 0);
			if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
				return fd;
		} else {
			char host[128];
			const char *colon = strrchr(addr, ':');
			struct sockaddr_in sin;

			if (!colon)
				die("bad address '%s'", addr);
			snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
			memset(&sin, 0, sizeof(sin));
			sin.sin_family = AF_INET;
			sin.sin_port = htons((uint16_t)atoi(colon + 1));
			inet_pton(AF_INET, host, &sin.sin_addr);
			fd = socket(AF_INET, SOCK_STREAM, 0);
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
				return fd;
		}
		close(fd);
		usleep(100000);
	}
	die("cannot connect to '%s'", addr);
	return -1;
}

/* connect a ServerPort, or every entry of a Demux (broadcast) */
static void
connect_port(const cJSON *sp, const char *port)
{
	const cJSON *v;

	if (cJSON_IsString(sp) && !strcmp(sp->valuestring, "Null"))
		return;
	if ((v = cJSON_GetObjectItem(sp, "Demux"))) {
		const cJSON *e;
		cJSON_ArrayForEach(e, v) {
			connect_key = atol(e->string);
			connect_port(e, port);
		}
		connect_key = -1;
		return;
	}
	out_keys[nouts] = connect_key;
	if ((v = cJSON_GetObjectItem(sp, "UnixSocket")))
		outs[nouts++] = connect_addr(v->valuestring);
	else if ((v = cJSON_GetObjectItem(sp, "TcpPort")))
		outs[nouts++] = connect_addr(v->valuestring);
	else
		die("cannot connect port %s", port);
}

static void
send_frame(int fd, const void *data, uint32_t len)
{
	unsigned char hdr[4] = { len >> 24, len >> 16, len >> 8, len };
	struct iovec iov[2] = { { hdr, 4 }, { (void *)data, len } };
	struct msghdr mh;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	if (n < 0)
		die("cannot send a frame: %s", strerror(errno));
	if ((size_t)n < 4 + len) {
		/* the rest, plainly */
		size_t done = (size_t)n;
		unsigned char *all = malloc(4 + len);
		memcpy(all, hdr, 4);
		memcpy(all + 4, data, len);
		while (done < 4 + len) {
			n = send(fd, all + done, 4 + len - done, MSG_NOSIGNAL);
			if (n <= 0)
				die("cannot send a frame: %s", strerror(errno));
			done += (size_t)n;
		}
		free(all);
	}
}

static void
broadcast(const void *data, uint32_t len)
{
	int i;

	for (i = 0; i < nouts; i++)
		send_frame(outs[i], data, len);
}

static void
close_outputs(void)
{
	int i;

	for (i = 0; i < nouts; i++)
		shutdown(outs[i], SHUT_WR);
}

static long *seen;
static long nreceived, replied;
static int failed, sink_done, until_complete;

static void
on_frame(const char *port, long tag, const char *data, size_t len)
{
	char num[32];
	long v;
	int i;

	snprintf(num, sizeof(num), "%.*s", (int)(len < 31 ? len : 31), data);
	v = atol(num);
	if (!strcmp(mode, "relay")) {
		broadcast(data, (uint32_t)len);
		return;
	}
	if (!strcmp(mode, "echo")) {
		/* reply addressing: the sender's tag is its key on the reply output */
		for (i = 0; i < nouts; i++)
			if (out_keys[i] == tag)
				break;
		if (i == nouts) {
			fprintf(stderr, "node: no reply output for tag %ld\n", tag);
			failed = 1;
			return;
		}
		send_frame(outs[i], data, (uint32_t)len);
		replied++;
		return;
	}
	if (!strcmp(mode, "sink") || !strcmp(mode, "ring")) {
		if (v < 0 || v >= count) {
			fprintf(stderr, "node: unexpected frame '%s' on %s\n", num, port);
			failed = 1;
			return;
		}
		seen[v]++;
		nreceived++;
		if (seen[v] > copies) {
			fprintf(stderr, "node: frame %ld arrived %ld times\n", v, seen[v]);
			failed = 1;
		}
		if (!strcmp(mode, "ring") && nreceived == count)
			close_outputs();
		/* --until-complete: a sink ends with the last frame it expects,
		 * for senders that keep their connection open (Hydro Deploy's
		 * programs); otherwise it waits for every sender to close, so
		 * that a frame too many is seen */
		if (!strcmp(mode, "sink") && until_complete && nreceived == count * copies)
			sink_done = 1;
	}
}

/* the whole value set arrived as expected */
static int
complete(void)
{
	long i;

	for (i = 0; i < count; i++)
		if (seen[i] != copies)
			return 0;
	return 1;
}

static void
accept_on(struct listener *l)
{
	struct conn *c;
	int fd = accept(l->fd, NULL, NULL);

	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	c->fd = fd;
	snprintf(c->port, sizeof(c->port), "%s", l->port);
	c->tag = l->tag;
	conns[nconns++] = c;
}

/* read frames; 0 at the end of the connection */
static int
read_conn(struct conn *c)
{
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	size_t off = 0;

	if (n <= 0)
		return 0;
	c->len += (size_t)n;
	for (;;) {
		uint32_t flen;
		if (c->len - off < 4)
			break;
		flen = (uint32_t)c->buf[off] << 24 | (uint32_t)c->buf[off + 1] << 16 |
		       (uint32_t)c->buf[off + 2] << 8 | c->buf[off + 3];
		if (flen > sizeof(c->buf) - 4)
			die("frame too big on %s", c->port);
		if (c->len - off - 4 < flen)
			break;
		on_frame(c->port, c->tag, (char *)c->buf + off + 4, flen);
		c->frames++;
		off += 4 + flen;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
	return 1;
}

static double
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* ping: one frame out, wait for it back on the first connection of "back" */
static void
run_ping(void)
{
	double *lat = calloc((size_t)count, sizeof(*lat));
	struct conn *c;
	long i;

	while (nconns == 0)
		accept_on(&listeners[0]);
	c = conns[0];
	for (i = 0; i < count; i++) {
		double t0 = now_us();
		long before = nreceived;
		char num[32];
		int n = snprintf(num, sizeof(num), "%ld", i);

		broadcast(num, (uint32_t)n);
		while (nreceived == before) {
			ssize_t r = read(c->fd, c->buf, sizeof(c->buf));
			if (r <= 0)
				die("pong went away%s", "");
			/* frames are tiny: one read holds the whole echo */
			nreceived++;
		}
		lat[i] = now_us() - t0;
	}
	qsort(lat, (size_t)count, sizeof(*lat), cmp_double);
	printf("p50 %.1f p99 %.1f\n", lat[count / 2], lat[count * 99 / 100]);
	fflush(stdout);
	close_outputs();
}

static void
handshake(int chatter, int silent, int exit_code, int bad_ready, int no_ack)
{
	cJSON *ic, *ready, *ports, *sp, *start, *meta;
	const cJSON *e;
	char *line, *text;

	line = read_line();
	if (!line)
		die("no InitConfig%s", "");
	if (chatter && ctl_out == 1) {
		printf("starting up\nstill starting\n");
		fflush(stdout);
	} else if (chatter) {
		printf("chatter on stdout\n");
		fflush(stdout);
	}
	if (exit_code >= 0) {
		fprintf(stderr, "node: giving up in the handshake\n");
		exit(exit_code);
	}
	if (silent) {
		for (;;)
			pause();
	}
	ic = cJSON_Parse(line);
	if (!cJSON_IsArray(ic) || cJSON_GetArraySize(ic) != 2)
		die("bad InitConfig '%s'", line);
	ports = cJSON_GetArrayItem(ic, 0);
	meta = cJSON_GetArrayItem(ic, 1);
	if (cJSON_IsString(meta)) {
		cJSON *m = cJSON_Parse(meta->valuestring), *snd = cJSON_GetObjectItem(m, "senders");
		cJSON_ArrayForEach(e, snd)
			expect_senders += (long)e->valuedouble;
		cJSON_Delete(m);
	} else {
		/* Hydro Deploy gives no counts: one connection per listener */
		expect_senders = -1;
	}
	ready = cJSON_CreateObject();
	cJSON_ArrayForEach(e, ports)
		cJSON_AddItemToObject(ready, e->string, bind_config(e, e->string));
	if (expect_senders < 0)
		expect_senders = nlisteners;
	text = cJSON_PrintUnformatted(ready);
	if (bad_ready) {
		say("ready: {\"in\": {\"UnixSocket\": ");
	} else {
		char *msg = malloc(strlen(text) + 8);
		sprintf(msg, "ready: %s", text);
		say(msg);
		free(msg);
	}
	free(text);
	cJSON_Delete(ready);
	cJSON_Delete(ic);

	line = read_line();
	if (!line || strncmp(line, "start: ", 7))
		die("expected start, got '%s'", line ? line : "end of file");
	start = cJSON_Parse(line + 7);
	cJSON_ArrayForEach(sp, start)
		connect_port(sp, sp->string);
	cJSON_Delete(start);
	if (no_ack) {
		for (;;)
			pause();
	}
	say("ack start");
}

/* the ports from HYDRO_PORT_IN, HYDRO_PORT_BACK, HYDRO_PORT_OUT */
static void
env_ports(void)
{
	const char *in[] = { "in", "back" };
	const char *v;
	int i;

	for (i = 0; i < 2; i++) {
		char name[32];
		snprintf(name, sizeof(name), "HYDRO_PORT_%s", i ? "BACK" : "IN");
		v = getenv(name);
		if (v && *v) {
			cJSON *cfg = cJSON_CreateObject();
			char host[64];
			const char *colon = strrchr(v, ':');
			struct sockaddr_in sin;
			struct listener *l = &listeners[nlisteners++];
			int one = 1;

			snprintf(host, sizeof(host), "%.*s", (int)(colon - v), v);
			memset(&sin, 0, sizeof(sin));
			sin.sin_family = AF_INET;
			sin.sin_port = htons((uint16_t)atoi(colon + 1));
			inet_pton(AF_INET, host, &sin.sin_addr);
			l->fd = socket(AF_INET, SOCK_STREAM, 0);
			setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (bind(l->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
			    listen(l->fd, 128) < 0)
				die("cannot bind %s", v);
			snprintf(l->port, sizeof(l->port), "%s", in[i]);
			cJSON_Delete(cfg);
		}
	}
	v = getenv("HYDRO_PORT_SENDERS");
	expect_senders = v ? atol(v) : nlisteners;
	v = getenv("HYDRO_PORT_OUT");
	if (v && *v) {
		char *list = strdup(v), *save = NULL, *a;
		for (a = strtok_r(list, ",", &save); a; a = strtok_r(NULL, ",", &save))
			outs[nouts++] = connect_addr(a);
		free(list);
	}
}

int
main(int argc, char **argv)
{
	int chatter = 0, silent = 0, exit_code = -1, bad_ready = 0, no_ack = 0;
	int from_env = 0, ignore_stop = 0, i;
	const char *fd = getenv("HYDRO_CONTROL_FD");

	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--env"))
			from_env = 1;
		else if (!strcmp(argv[i], "--chatter"))
			chatter = 1;
		else if (!strcmp(argv[i], "--silent-handshake"))
			silent = 1;
		else if (!strcmp(argv[i], "--exit-in-handshake") && i + 1 < argc)
			exit_code = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--bad-ready"))
			bad_ready = 1;
		else if (!strcmp(argv[i], "--no-ack"))
			no_ack = 1;
		else if (!strcmp(argv[i], "--ignore-stop"))
			ignore_stop = 1;
		else if (!strcmp(argv[i], "--until-complete"))
			until_complete = 1;
		else
			die("unknown option '%s'", argv[i]);
	}
	if (i < argc)
		mode = argv[i++];
	if (i < argc)
		count = atol(argv[i++]);
	if (i < argc)
		copies = atol(argv[i++]);
	if (ignore_stop)
		signal(SIGTERM, SIG_IGN);
	seen = calloc((size_t)count + 1, sizeof(*seen));
	atexit(cleanup);

	if (!strcmp(mode, "hello")) {
		printf("hello\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	if (!strcmp(mode, "lines")) {
		for (i = 0; i < count; i++)
			printf("line %d of the log\n", i);
		return 0;
	}
	if (fd) {
		ctl_in = ctl_out = atoi(fd);
	}
	ctl = fdopen(ctl_in, "r");
	if (from_env)
		env_ports();
	else
		handshake(chatter, silent, exit_code, bad_ready, no_ack);
	if (chatter) {
		printf("started\n");
		fflush(stdout);
	}
	fprintf(stderr, "node %s: %d inputs, %d outputs\n", mode, nlisteners, nouts);

	if (!strcmp(mode, "ping")) {
		run_ping();
		return 0;
	}
	if (!strcmp(mode, "source") || !strcmp(mode, "ring")) {
		long k;
		for (k = 0; k < count; k++) {
			char num[32];
			int n = snprintf(num, sizeof(num), "%ld", k);
			broadcast(num, (uint32_t)n);
		}
		if (!strcmp(mode, "source"))
			close_outputs();
	}

	for (;;) {
		struct pollfd pfd[MAXFD];
		int n = 0, k;

		if (sink_done)
			break;
		/* the end: every sender has closed, or there are none to wait for */
		if (expect_senders > 0 && closed_senders >= expect_senders)
			break;
		if (expect_senders <= 0 && strcmp(mode, "idle"))
			break;
		pfd[n].fd = from_env ? -1 : ctl_in;
		pfd[n].events = POLLIN;
		n++;
		for (k = 0; k < nlisteners; k++) {
			pfd[n].fd = listeners[k].fd;
			pfd[n].events = POLLIN;
			n++;
		}
		for (k = 0; k < nconns; k++) {
			pfd[n].fd = conns[k] ? conns[k]->fd : -1;
			pfd[n].events = POLLIN;
			n++;
		}
		if (poll(pfd, (nfds_t)n, -1) < 0)
			continue;
		if (pfd[0].revents) {
			char *line = read_line();
			if (!line || !strncmp(line, "stop", 4)) {
				if (!ignore_stop)
					break;
				pfd[0].fd = -1;
				from_env = 1;
			}
		}
		for (k = 0; k < nlisteners; k++)
			if (pfd[1 + k].revents)
				accept_on(&listeners[k]);
		for (k = 0; k < nconns; k++) {
			struct pollfd *p = &pfd[1 + nlisteners + k];
			if (p->fd >= 0 && p->revents && !read_conn(conns[k])) {
				close(conns[k]->fd);
				conns[k]->fd = -1;
				/* a connection that said nothing was a readiness probe */
				if (conns[k]->frames)
					closed_senders++;
			}
		}
	}
	close_outputs();
	if (!strcmp(mode, "echo")) {
		printf("replied %ld\n", replied);
		return failed;
	}
	if (!strcmp(mode, "sink") || !strcmp(mode, "ring")) {
		if (failed || !complete()) {
			fprintf(stderr, "node: %ld of %ld frames arrived\n", nreceived, count * copies);
			return 1;
		}
		printf("ok %ld\n", nreceived);
	}
	(void)backs;
	return 0;
}
